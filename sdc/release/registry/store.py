"""The registry over SQL: one implementation, a dialect per backend.

Each public method is one transaction. A write takes the backend's write lock
first (SQLite ``BEGIN IMMEDIATE``, PostgreSQL an advisory lock), reads the audit
head, appends its entries and its records, moves the head and commits: a write
that fails or is interrupted anywhere leaves nothing behind, and writers queue,
so the chain never forks. Reads run in one snapshot.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, Protocol

from sdc.exceptions import SdcInputError, SdcRefusedDecision, SdcRegistryError
from sdc.release.registry import reads
from sdc.release.registry.audit import AuditEntry, Verification, canonical_json
from sdc.release.registry.records import (
    Action,
    Decision,
    RequestRecord,
    bad,
    digest,
    identity,
)
from sdc.release.registry.schema import MIGRATIONS, Migration, latest
from sdc.release.registry.views import (
    APPROVED,
    ReleasedDefinition,
    ReleaseSummary,
    RequestDetail,
    RequestState,
)


class Dialect(Protocol):
    """What differs between backends: connecting, locking, placeholders."""

    name: str
    errors: tuple[type[Exception], ...]

    def connect(self, create: bool) -> Any: ...
    def begin_write(self, conn: Any) -> None: ...
    def begin_read(self, conn: Any) -> None: ...
    def sql(self, text: str) -> str: ...
    def has_table(self, conn: Any, name: str) -> bool: ...
    def serial(self, conn: Any, timeout: float) -> contextlib.AbstractContextManager[None]: ...


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _files(value: Any, arg: str, func: str, seen: set[str]) -> dict[str, str]:
    """``{relative path: sha256}``, paths plain and relative, none named twice."""
    if not isinstance(value, Mapping):
        raise bad(arg, func, "a mapping of relative paths to SHA-256 digests", value)
    out = {}
    for path, sha in value.items():
        p = PurePosixPath(path) if isinstance(path, str) else None
        if p is None or p.is_absolute() or ".." in p.parts or p.as_posix() != path or not path:
            raise bad(arg, func, "relative paths such as 'visits.csv' or 'plots/a.svg'", path)
        if path in seen:
            raise bad(arg, func, "paths each named once", path)
        seen.add(path)
        out[path] = digest(sha, arg, func)
    return out


#: Seconds ``sdc release`` waits for another release of the same registry to finish.
RELEASE_WAIT = 1800.0


class SqlRegistry:
    """A release registry in a SQL database (made by :func:`open_registry`).

    Implements :class:`sdc.release.registry.Registry`; see there for each method.
    """

    def __init__(self, dialect: Dialect, display_url: str, *, create: bool = True,
                 migrations: tuple[Migration, ...] = MIGRATIONS):  # fmt: skip
        self._d = dialect
        self.url = display_url
        self._conn = dialect.connect(create)
        try:
            self.schema_version = self._migrate(migrations, create)
        except BaseException:
            self.close()
            raise

    # -- plumbing -------------------------------------------------------------------------

    def close(self) -> None:
        with contextlib.suppress(*self._d.errors):
            self._conn.close()

    def __enter__(self) -> SqlRegistry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _q(self, text: str, params: tuple[Any, ...] | None = None) -> Any:
        if params is None:
            return self._conn.execute(self._d.sql(text))
        return self._conn.execute(self._d.sql(text), params)

    @contextlib.contextmanager
    def _tx(self, write: bool) -> Iterator[None]:
        """One transaction: committed if the block ends normally, rolled back otherwise."""
        errors = self._d.errors
        try:
            (self._d.begin_write if write else self._d.begin_read)(self._conn)
            yield
            self._conn.execute("COMMIT")
        except BaseException as exc:
            with contextlib.suppress(*errors):
                self._conn.execute("ROLLBACK")
            if isinstance(exc, errors):
                raise SdcRegistryError(f"registry {self.url}: {exc}".strip()) from exc
            raise

    def _migrate(self, migrations: tuple[Migration, ...], create: bool) -> int:
        target = latest(migrations)
        with self._tx(write=False):
            version = self._version()
        if version == target:
            return version
        with self._tx(write=True):
            version = self._version()
            if version > target:
                raise SdcRegistryError(
                    f"registry {self.url} has schema version {version}, newer than this "
                    f"sdc-engine knows ({target}); upgrade sdc-engine to use it."
                )
            if version == 0 and not create:
                raise SdcInputError(f"{self.url} holds no release registry.")
            for m in migrations[version:]:
                for statement in m.for_dialect(self._d.name):
                    self._q(statement)
                self._q("UPDATE schema_version SET version = ?", (m.version,))
        return target

    def _version(self) -> int:
        if not self._d.has_table(self._conn, "schema_version"):
            return 0
        row = self._q("SELECT version FROM schema_version").fetchone()
        return int(row[0]) if row else 0

    def _append(self, actor: str, action: str, payload: Any) -> AuditEntry:
        """Append one audit entry after the head (the write lock is held)."""
        seq, prev = self._q("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
        e = AuditEntry.make(int(seq) + 1, _now(), actor, action, payload, prev)
        self._q(
            "INSERT INTO audit_log (seq, at, actor, action, payload, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (e.seq, e.at, e.actor, e.action, e.payload, e.prev_hash, e.hash),
        )
        self._q("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (e.seq, e.hash))
        return e

    # -- writes ---------------------------------------------------------------------------

    def decide(self, request: RequestRecord, decision: Decision) -> RequestState:
        func = "Registry.decide"
        if not isinstance(request, RequestRecord):
            raise bad("request", func, "a RequestRecord", request)
        if not isinstance(decision, Decision):
            raise bad("decision", func, "a Decision", decision)
        if decision.request_id != request.request_id:
            raise bad("decision", func, f"a decision on request {request.request_id!r}",
                      decision.request_id)  # fmt: skip
        _check_covers(request, decision, func)
        with self._tx(write=True):
            stored = reads.request_record(self._q, request.request_id)
            if stored is None:
                self._insert_request(request, decision.checker)
            elif stored != request:
                changed = sorted(k for k, v in request.to_dict().items()
                                 if stored.to_dict()[k] != v)  # fmt: skip
                raise SdcRefusedDecision(
                    f"request {request.request_id!r} is recorded with other content "
                    f"({', '.join(changed)} differ); a changed request needs a new request id."
                )
            why = reads.state(self._q, request.request_id).refusal(decision)
            if why is not None:
                raise SdcRefusedDecision(why)
            e = self._append(decision.checker, "decision", decision.to_dict())
            self._q(
                "INSERT INTO decisions (audit_seq, request_id, checker, action, reason, covers) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (e.seq, decision.request_id, decision.checker, str(decision.action),
                 decision.reason, canonical_json(list(decision.covers))),
            )  # fmt: skip
            return reads.state(self._q, request.request_id)

    def _insert_request(self, r: RequestRecord, actor: str) -> None:
        e = self._append(actor, "request", {"request": r.to_dict()})
        self._q(
            "INSERT INTO requests (request_id, audit_seq, author, manifest_digest, "
            "manifest_signed, manifest_verified, ruleset_name, ruleset_hash, approvals_required)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (r.request_id, e.seq, r.author, r.manifest_digest, int(r.manifest_signed),
             int(r.manifest_verified), r.ruleset_name, r.ruleset_hash, r.approvals_required),
        )  # fmt: skip
        for i, o in enumerate(r.outputs):
            definition = None if o.definition is None else canonical_json(o.definition)
            self._q(
                "INSERT INTO outputs (request_id, name, position, kind, verdict, dataset, "
                "definition) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (r.request_id, o.name, i, o.kind, o.verdict, o.dataset, definition),
            )

    def release(
        self,
        request_id: str,
        files: Mapping[str, Mapping[str, str]],
        *,
        actor: str,
        other_files: Mapping[str, str] | None = None,
    ) -> RequestState:
        func = "Registry.release"
        request_id = identity(request_id, "request_id", func)
        actor = identity(actor, "actor", func)
        if not isinstance(files, Mapping) or not files:
            raise bad("files", func, "a non-empty mapping of output names to their files", files)
        seen: set[str] = set()
        per_output = {
            identity(name, "files", func): _files(f, "files", func, seen)
            for name, f in files.items()
        }
        if not all(per_output.values()):
            empty = next(n for n, f in per_output.items() if not f)
            raise bad("files", func, "at least one file per released output", {empty: {}})
        others = _files(other_files or {}, "other_files", func, seen)
        with self._tx(write=True):
            request = reads.request_record(self._q, request_id)
            if request is None:
                raise SdcInputError(f"request {request_id!r} is not in the registry; record "
                                    "its decisions first.")  # fmt: skip
            state = reads.state(self._q, request_id)
            if state.released:
                raise SdcRefusedDecision(f"request {request_id!r} was released already.")
            if state.state != APPROVED:
                raise SdcRefusedDecision(
                    f"request {request_id!r} is {state.state}"
                    + (f" ({state.awaiting} more approval(s) needed)" if state.awaiting else "")
                    + "; only an approved request is released."
                )
            covered = reads.covered_by_approvals(self._q, request_id)
            for name in per_output:
                _may_leave(request, name, covered)
            e = self._append(actor, "release", _release_payload(request_id, per_output, others))
            self._q("INSERT INTO releases (request_id, audit_seq) VALUES (?, ?)",
                    (request_id, e.seq))  # fmt: skip
            rows: list[tuple[str, str | None, str]] = [
                (p, n, s) for n, f in per_output.items() for p, s in f.items()
            ]
            rows += [(p, None, s) for p, s in others.items()]
            for path, owner, sha in rows:
                self._q(
                    "INSERT INTO released_files (request_id, path, output_name, sha256) "
                    "VALUES (?, ?, ?, ?)",
                    (request_id, path, owner, sha),
                )
            return reads.state(self._q, request_id)

    # -- reads ----------------------------------------------------------------------------

    def state(self, request_id: str) -> RequestState:
        with self._tx(write=False):
            return reads.state(self._q, self._known(request_id, "Registry.state"))

    def is_complete(self, request_id: str) -> bool:
        return self.state(request_id).complete

    def decisions(self, request_id: str) -> list[Any]:
        with self._tx(write=False):
            return reads.decisions(self._q, self._known(request_id, "Registry.decisions"))

    def request(self, request_id: str) -> RequestDetail:
        with self._tx(write=False):
            return reads.detail(self._q, self._known(request_id, "Registry.request"))

    def releases(self) -> list[ReleaseSummary]:
        with self._tx(write=False):
            return reads.releases(self._q)

    def released_definitions(self, dataset: str) -> list[ReleasedDefinition]:
        dataset = identity(dataset, "dataset", "Registry.released_definitions")
        with self._tx(write=False):
            return reads.released_definitions(self._q, dataset)

    def span_bases(self, keys: Sequence[str]) -> dict[str, str]:
        keys = [str(k) for k in keys]
        out: dict[str, str] = {}
        with self._tx(write=False):
            for at in range(0, len(keys), 500):
                chunk = keys[at : at + 500]
                marks = ", ".join("?" * len(chunk))
                rows = self._q(f"SELECT key, rows FROM span_bases WHERE key IN ({marks})",
                               tuple(chunk)).fetchall()  # fmt: skip
                out.update((str(k), str(r)) for k, r in rows)
        return out

    def keep_span_basis(self, key: str, rows: str) -> None:
        with self._tx(write=True):
            self._q("INSERT INTO span_bases (key, rows, at) VALUES (?, ?, ?) ON CONFLICT (key) "
                    "DO UPDATE SET rows = excluded.rows, at = excluded.at",
                    (str(key), str(rows), _now()))  # fmt: skip

    @contextlib.contextmanager
    def releasing(self, timeout: float = RELEASE_WAIT) -> Iterator[None]:
        try:
            lock = self._d.serial(self._conn, timeout)
            lock.__enter__()
        except self._d.errors as exc:
            raise SdcRegistryError(f"registry {self.url}: {exc}".strip()) from exc
        try:
            yield
        finally:
            with contextlib.suppress(*self._d.errors):
                lock.__exit__(None, None, None)

    def audit_entries(self) -> list[AuditEntry]:
        with self._tx(write=False):
            return list(reads.entries(self._q))

    def head(self) -> tuple[int, str]:
        with self._tx(write=False):
            return reads.head(self._q)

    def verify(self) -> Verification:
        with self._tx(write=False):
            return reads.verify(self._q)

    def _known(self, request_id: str, func: str) -> str:
        request_id = identity(request_id, "request_id", func)
        if reads.request_record(self._q, request_id) is None:
            raise SdcInputError(f"request {request_id!r} is not in the registry {self.url}.")
        return request_id


def _check_covers(request: RequestRecord, decision: Decision, func: str) -> None:
    """An approval covers review outputs of the request; other decisions any of its outputs."""
    for name in decision.covers:
        out = request.output(name)
        if out is None:
            raise bad("covers", func, f"outputs of request {request.request_id!r} "
                      f"({', '.join(o.name for o in request.outputs)})", name)  # fmt: skip
        if decision.action is Action.APPROVE and out.verdict != "review":
            raise bad("covers", func, "outputs whose verdict is review (an approval's reason "
                      "lets them leave)", f"{name} ({out.verdict})")  # fmt: skip


def _may_leave(request: RequestRecord, name: str, covered: set[str]) -> None:
    out = request.output(name)
    rid = request.request_id
    if out is None:
        raise SdcRefusedDecision(f"request {rid!r} has no output {name!r}.")
    if out.verdict == "fail":
        raise SdcRefusedDecision(f"output {name!r} of request {rid!r} failed its checks; a "
                                 "failing output never leaves.")  # fmt: skip
    if out.verdict == "review" and name not in covered:
        raise SdcRefusedDecision(
            f"output {name!r} of request {rid!r} needs review, and no approval's reason names "
            "it; it leaves only with an approval that covers it."
        )


def _release_payload(
    request_id: str, files: Mapping[str, Mapping[str, str]], others: Mapping[str, str]
) -> dict[str, Any]:
    return {"request_id": request_id, "files": json.loads(canonical_json(files)),
            "other_files": dict(others)}  # fmt: skip
