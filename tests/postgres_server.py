"""A real PostgreSQL server for the registry tests, on loopback.

``SDC_TEST_POSTGRES_URL`` names a server to use (its user must be allowed to
create schemas). Otherwise a throwaway server is started once per test process
with ``initdb`` and ``pg_ctl`` from PATH or ``/usr/lib/postgresql/*/bin``: a
temporary data folder, a free port on 127.0.0.1, its socket in the same folder,
stopped and removed when the process ends. PostgreSQL refuses to run as root, so
as root it runs as the ``postgres`` user (Debian's package creates it).

Where no server can be had, tests that need one are skipped with the reason
printed, except under CI (the ``CI`` variable set), where they fail: nothing may
skip silently there. Each test gets its own schema (``registry_url``).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

ENV_URL = "SDC_TEST_POSTGRES_URL"


class PostgresUnavailable(UserWarning):
    """No PostgreSQL server could be had for the registry tests."""


def _binaries() -> Path | None:
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl", path=str(Path(found).resolve().parent)):
        return Path(found).resolve().parent

    def version(path: str) -> int:
        name = Path(path).parts[-3]
        return int(name) if name.isdigit() else 0

    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=version)
    return Path(candidates[-1]).parent if candidates else None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Server:
    """A throwaway server: ``start()`` returns its URL, ``stop()`` removes everything."""

    def __init__(self, bindir: Path):
        self.bindir = bindir
        self.folder = Path(tempfile.mkdtemp(prefix="sdc-pg-"))
        self.user: str | None = None
        if os.geteuid() == 0:
            for name in ("postgres", "nobody"):
                with contextlib.suppress(KeyError):
                    pwd.getpwnam(name)
                    self.user = name
                    break
            if self.user is None:
                raise RuntimeError("running as root and no unprivileged user to run PostgreSQL")
            entry = pwd.getpwnam(self.user)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        self.data = self.folder / "data"
        self.port = _free_port()

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.user is not None:
            cmd = (
                ["runuser", "-u", self.user, "--", *cmd]
                if shutil.which("runuser")
                else ["su", self.user, "-s", "/bin/sh", "-c", " ".join(map(_sh, cmd))]
            )
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=self.folder)
        if done.returncode != 0:
            raise RuntimeError(
                f"{args[0]} failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-800:]}"
            )

    def start(self) -> str:
        self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-sync",
            "--no-instructions",
        )
        options = (
            f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c max_connections=60"
        )
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.folder / "server.log"),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def _sh(word: str) -> str:
    return "'" + word.replace("'", "'\\''") + "'"


_STATE: dict[str, str] = {}


def admin_url() -> str:
    """The URL of a server to test against, started on first use; skips or fails if none."""
    if "url" not in _STATE and "error" not in _STATE:
        _STATE.update(_start())
    if "url" in _STATE:
        return _STATE["url"]
    reason = f"no PostgreSQL server for the registry tests: {_STATE['error']}"
    if os.environ.get("CI"):
        pytest.fail(reason + f" (CI must run them: install Debian's postgresql or set {ENV_URL})")
    warnings.warn(reason, PostgresUnavailable, stacklevel=2)
    pytest.skip(reason)


def _start() -> dict[str, str]:
    if os.environ.get(ENV_URL):
        return {"url": os.environ[ENV_URL]}
    bindir = _binaries()
    if bindir is None:
        return {
            "error": f"initdb/pg_ctl not found on PATH or under /usr/lib/postgresql "
            f"(install Debian's postgresql, or set {ENV_URL})"
        }
    try:
        server = _Server(bindir)
    except (RuntimeError, OSError) as exc:
        return {"error": str(exc)}
    try:
        url = server.start()
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as exc:
        server.stop()
        return {"error": str(exc)}
    atexit.register(server.stop)
    return {"url": url}


def with_schema(url: str, schema: str) -> str:
    """``url`` with the libpq option that makes ``schema`` the search path."""
    option = quote(f"-c search_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={option}"


@contextlib.contextmanager
def fresh_schema() -> Iterator[str]:
    """A new, empty schema on the test server; yields a registry URL that uses it."""
    import psycopg

    admin = admin_url()
    schema = f"t_{uuid.uuid4().hex[:16]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    try:
        yield with_schema(admin, schema)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA {schema} CASCADE")


@contextlib.contextmanager
def new_registry_url(kind: str, folder: Path) -> Iterator[str]:
    """The URL of a new, empty registry: a SQLite file in ``folder``, or a PostgreSQL schema.

    Test files wrap it in their own fixture::

        @pytest.fixture(params=["sqlite", "postgresql"])
        def registry_url(request, tmp_path):
            with new_registry_url(request.param, tmp_path) as url:
                yield url
    """
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'registry.db'}"
    else:
        with fresh_schema() as url:
            yield url
