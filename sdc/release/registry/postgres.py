"""The PostgreSQL backend (psycopg 3), for a gate shared by several machines.

Every write transaction first takes a transaction-level advisory lock
(``pg_advisory_xact_lock``) keyed by the registry's schema, so concurrent gate
processes append to the audit chain one at a time; the lock is released at
commit or rollback, and by the server when a client dies. Reads run in one
``REPEATABLE READ`` snapshot, so a verification sees one state of the log.

Needs the ``postgres`` extra: ``pip install "sdc-engine[postgres]"``.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

from sdc.exceptions import SdcInputError, SdcRegistryError

#: First key of the advisory lock (the second is a hash of the registry's schema).
LOCK_KEY = 0x5DC
#: First key of the release lock (:meth:`PostgresDialect.serial`).
RELEASE_KEY = 0x5DD


def redact(url: str) -> str:
    """The URL with its password hidden, for messages and reports.

    Examples
    --------
    >>> redact("postgresql://gate:s3cret@db.tre.local:5432/registry")
    'postgresql://gate:***@db.tre.local:5432/registry'
    >>> redact("postgresql:///registry")
    'postgresql:///registry'
    """
    scheme, sep, rest = url.partition("://")
    userinfo, at, host = rest.rpartition("@")
    if not sep or not at or ":" not in userinfo:
        return url.split("password=")[0] + ("password=***" if "password=" in url else "")
    return f"{scheme}://{userinfo.split(':', 1)[0]}:***@{host}"


class PostgresDialect:
    """How the registry talks to a PostgreSQL server (see :mod:`sdc.release.registry.store`)."""

    name = "postgresql"

    def __init__(self, url: str):
        try:
            import psycopg
        except ImportError:
            raise SdcInputError(
                "a postgresql:// registry needs psycopg 3; install it with "
                "pip install 'sdc-engine[postgres]'."
            ) from None
        self.url = url
        self.errors: tuple[type[Exception], ...] = (psycopg.Error,)

    def connect(self, create: bool) -> Any:
        import psycopg

        try:
            return psycopg.connect(self.url, autocommit=True, connect_timeout=30)
        except psycopg.Error as exc:
            raise SdcRegistryError(
                f"cannot connect to the registry {redact(self.url)}: {exc}".strip()
            ) from None

    def begin_write(self, conn: Any) -> None:
        conn.execute("BEGIN")
        conn.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(coalesce(current_schema(), '')))",
            (LOCK_KEY,),
        )

    def begin_read(self, conn: Any) -> None:
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def sql(self, text: str) -> str:
        return text.replace("?", "%s")

    def has_table(self, conn: Any, name: str) -> bool:
        return conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None

    @contextlib.contextmanager
    def serial(self, conn: Any, timeout: float) -> Iterator[None]:
        """Hold the registry's release lock: a session-level advisory lock (its own key,
        beside the write lock's), released when the block ends or the client dies."""
        args = (RELEASE_KEY,)
        take = "SELECT pg_try_advisory_lock(%s, hashtext(coalesce(current_schema(), '')))"
        deadline = time.monotonic() + timeout
        while not conn.execute(take, args).fetchone()[0]:
            if time.monotonic() > deadline:
                raise SdcRegistryError(f"another release of {redact(self.url)} held its lock "
                                       f"for more than {timeout:.0f} s; try again.")  # fmt: skip
            time.sleep(0.05)
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(coalesce(current_schema(), "
                         "'')))", args)  # fmt: skip
