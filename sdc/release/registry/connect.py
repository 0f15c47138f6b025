"""``open_registry(url)``: the one way in, for both backends."""

from __future__ import annotations

from sdc.exceptions import SdcInputError
from sdc.release.registry.interface import Registry

ACCEPTED = "sqlite:///path/to/registry.db (a file) or postgresql://user@host:port/database"


def open_registry(url: str, *, create: bool = True) -> Registry:
    """Open (and create, or migrate to the current schema) a release registry.

    Parameters
    ----------
    url
        ``sqlite:///registry.db`` (a path relative to the working folder),
        ``sqlite:////srv/tre/registry.db`` (an absolute path), or a PostgreSQL
        URL, ``postgresql://user@host:port/database`` (``postgres://`` too;
        libpq parameters such as ``?sslmode=require`` pass through).
    create
        Create the registry when there is none (the default). False for readers
        (``sdc history``, ``sdc audit verify``): a missing registry is an error.

    Returns
    -------
    Registry
        Use it as a context manager, or ``close()`` it.

    Raises
    ------
    SdcInputError
        Any other URL, or (``create=False``) no registry there.
    SdcRegistryError
        The database cannot be reached, or its schema is newer than this code.

    Examples
    --------
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> with open_registry(f"sqlite:///{folder}/registry.db") as reg:
    ...     reg.schema_version, reg.releases(), reg.verify().valid
    (2, [], True)
    >>> open_registry("mysql://db/registry")
    Traceback (most recent call last):
    ...
    sdc.exceptions.SdcInputError: `url` of `open_registry` must be sqlite:///path/to/registry.db
    (a file) or postgresql://user@host:port/database; got 'mysql://db/registry'.
    """
    from sdc.release.registry.store import SqlRegistry

    if not isinstance(url, str):
        raise _bad_url(url)
    if url.startswith("sqlite:///") and len(url) > len("sqlite:///"):
        from sdc.release.registry.sqlite import SqliteDialect

        path = url[len("sqlite:///") :]
        if "?" in path or path in (":memory:", "/:memory:"):
            raise _bad_url(url, "A registry is a file: give its path, without parameters.")
        return SqlRegistry(SqliteDialect(path), url, create=create)
    if url.startswith(("postgresql://", "postgres://")):
        from sdc.release.registry.postgres import PostgresDialect, redact

        return SqlRegistry(PostgresDialect(url), redact(url), create=create)
    raise _bad_url(url)


def _bad_url(url: object, fix: str = "") -> SdcInputError:
    from sdc.release.registry.records import bad

    return bad("url", "open_registry", ACCEPTED, url, fix)
