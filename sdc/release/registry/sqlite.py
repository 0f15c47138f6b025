"""The SQLite backend: one file, WAL journal, every write in ``BEGIN IMMEDIATE``.

``BEGIN IMMEDIATE`` takes the database's write lock before the first read, so
concurrent writers (threads or processes) queue for it, up to the busy timeout,
and the audit chain cannot fork. WAL lets readers go on while one writes;
``synchronous=FULL`` makes a committed release survive a power cut.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sdc.exceptions import SdcInputError, SdcRegistryError

#: Seconds a writer waits for another's transaction before giving up.
BUSY_TIMEOUT = 120.0


class SqliteDialect:
    """How the registry talks to a SQLite file (see :mod:`sdc.release.registry.store`)."""

    name = "sqlite"
    errors: tuple[type[Exception], ...] = (sqlite3.Error,)

    def __init__(self, path: str | Path):
        self.path = Path(path)

    def connect(self, create: bool) -> sqlite3.Connection:
        path = self.path
        if not create and not path.is_file():
            raise SdcInputError(f"no registry at {str(path)!r}: the file does not exist.")
        if create and not path.parent.is_dir():
            raise SdcInputError(
                f"registry folder {str(path.parent)!r} does not exist; create it first."
            )
        uri = f"{path.resolve().as_uri()}?mode={'rwc' if create else 'rw'}"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None)
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise SdcRegistryError(f"cannot open the registry {str(path)!r}: {exc}.") from None
        if str(mode).lower() != "wal":
            conn.close()
            raise SdcRegistryError(
                f"the registry {str(path)!r} cannot use a write-ahead log (journal mode "
                f"{mode!r}); put it on a local file system."
            )
        return conn

    def begin_write(self, conn: Any) -> None:
        conn.execute("BEGIN IMMEDIATE")

    def begin_read(self, conn: Any) -> None:
        conn.execute("BEGIN")

    def sql(self, text: str) -> str:
        return text

    def has_table(self, conn: Any, name: str) -> bool:
        row = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        return row is not None

    @contextlib.contextmanager
    def serial(self, conn: Any, timeout: float) -> Iterator[None]:
        """Hold the registry's release lock: an exclusive ``flock`` on a file beside it
        (``registry.db.release-lock``), released when the block ends or the process dies."""
        lock = self.path.with_name(self.path.name + ".release-lock")
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise SdcRegistryError(f"cannot open the release lock {str(lock)!r}: {exc}.") from None
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise SdcRegistryError(
                            f"another release of {str(self.path)!r} held its lock for more "
                            f"than {timeout:.0f} s; try again."
                        ) from None
                    time.sleep(0.05)
            yield
        finally:
            os.close(fd)  # closing releases the lock
