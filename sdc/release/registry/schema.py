"""The registry's tables and their versioned migrations.

``schema_version`` holds the version a registry is at. Opening a registry at an
older version applies the missing migrations in one transaction (all or none);
a registry at a newer version than this code knows is refused, never written.

Tables (the same on SQLite and PostgreSQL; flags are 0/1 integers, times ISO 8601
text, JSON canonical text):

- ``audit_log``: the hash-chained entries; ``audit_head``: the last entry's
  sequence number and hash, updated with each append (one row, also what a
  truncated log is checked against).
- ``requests`` and ``outputs``: each request as checked, its outputs with their
  verdicts and definitions (indexed by dataset fingerprint, name and kind).
- ``decisions``: one row per decision, keyed by its audit entry.
- ``releases`` and ``released_files``: a released request, and the SHA-256 of
  every file that left (per output; ``output_name`` NULL for files of the
  release as a whole, such as its summary).

- ``span_bases`` (version 2): a cache for differencing, outside the audit chain:
  which numbers released before are independent (:mod:`sdc.differencing.basis`),
  per key. Rows are only ever added.

Every table but ``audit_head`` and ``span_bases`` is append-only: triggers refuse UPDATE and DELETE
(and TRUNCATE on PostgreSQL). They stop mistakes, not an administrator; the hash
chain is what detects a change made behind the registry's back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sdc.release.registry.audit import GENESIS

#: Tables no statement of the registry ever updates or deletes from.
APPEND_ONLY = ("audit_log", "requests", "outputs", "decisions", "releases", "released_files")

_V1 = (
    "CREATE TABLE schema_version (version INTEGER NOT NULL)",
    "INSERT INTO schema_version (version) VALUES (0)",
    """CREATE TABLE audit_log (
        seq BIGINT PRIMARY KEY, at TEXT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
        payload TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL)""",
    """CREATE TABLE audit_head (
        id INTEGER PRIMARY KEY CHECK (id = 1), seq BIGINT NOT NULL, hash TEXT NOT NULL)""",
    f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')",
    """CREATE TABLE requests (
        request_id TEXT PRIMARY KEY, audit_seq BIGINT NOT NULL UNIQUE, author TEXT NOT NULL,
        manifest_digest TEXT NOT NULL,
        manifest_signed INTEGER NOT NULL CHECK (manifest_signed IN (0, 1)),
        manifest_verified INTEGER NOT NULL CHECK (manifest_verified IN (0, 1)),
        ruleset_name TEXT NOT NULL, ruleset_hash TEXT NOT NULL,
        approvals_required INTEGER NOT NULL CHECK (approvals_required IN (1, 2)))""",
    """CREATE TABLE outputs (
        request_id TEXT NOT NULL REFERENCES requests (request_id), name TEXT NOT NULL,
        position INTEGER NOT NULL, kind TEXT NOT NULL, verdict TEXT NOT NULL,
        dataset TEXT, definition TEXT, PRIMARY KEY (request_id, name))""",
    "CREATE INDEX outputs_dataset ON outputs (dataset)",
    "CREATE INDEX outputs_name ON outputs (name)",
    "CREATE INDEX outputs_kind ON outputs (kind)",
    """CREATE TABLE decisions (
        audit_seq BIGINT PRIMARY KEY, request_id TEXT NOT NULL REFERENCES requests (request_id),
        checker TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL,
        covers TEXT NOT NULL)""",
    "CREATE INDEX decisions_request ON decisions (request_id)",
    """CREATE TABLE releases (
        request_id TEXT PRIMARY KEY REFERENCES requests (request_id),
        audit_seq BIGINT NOT NULL UNIQUE)""",
    """CREATE TABLE released_files (
        request_id TEXT NOT NULL REFERENCES releases (request_id), path TEXT NOT NULL,
        output_name TEXT, sha256 TEXT NOT NULL, PRIMARY KEY (request_id, path))""",
)


def _guards(dialect: str) -> tuple[str, ...]:
    """Triggers that refuse UPDATE and DELETE on the append-only tables."""
    message = "the release registry is append-only"
    if dialect == "sqlite":
        return tuple(
            f"CREATE TRIGGER {t}_no_{op} BEFORE {op.upper()} ON {t} "
            f"BEGIN SELECT RAISE(ABORT, '{message}: {t}'); END"
            for t in APPEND_ONLY
            for op in ("update", "delete")
        )
    function = (
        "CREATE FUNCTION sdc_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN RAISE EXCEPTION '{message}: %', TG_TABLE_NAME; END $$"
    )
    return (function,) + tuple(
        stmt
        for t in APPEND_ONLY
        for stmt in (
            f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
            "FOR EACH ROW EXECUTE FUNCTION sdc_append_only()",
            f"CREATE TRIGGER {t}_no_truncate BEFORE TRUNCATE ON {t} "
            "FOR EACH STATEMENT EXECUTE FUNCTION sdc_append_only()",
        )
    )


@dataclass(frozen=True)
class Migration:
    """One step of the schema: from ``version - 1`` to ``version``.

    ``statements`` run on every backend, then the backend's own (``sqlite`` or
    ``postgresql``).
    """

    version: int
    description: str
    statements: tuple[str, ...]
    sqlite: tuple[str, ...] = ()
    postgresql: tuple[str, ...] = ()

    def for_dialect(self, dialect: str) -> tuple[str, ...]:
        extra: tuple[str, ...] = getattr(self, dialect)
        return self.statements + extra


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "requests, outputs, decisions, releases and the hash-chained audit log",
        _V1,
        sqlite=_guards("sqlite"),
        postgresql=_guards("postgresql"),
    ),
    Migration(
        2,
        "span_bases: the independent numbers released before, cached for differencing",
        ("CREATE TABLE span_bases (key TEXT PRIMARY KEY, rows TEXT NOT NULL, at TEXT NOT NULL)",),
    ),
)


def latest(migrations: Sequence[Migration] = MIGRATIONS) -> int:
    """The version a registry has after every migration.

    Examples
    --------
    >>> latest()
    2
    """
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"migrations must be numbered 1, 2, ...; got {versions}")
    return versions[-1]
