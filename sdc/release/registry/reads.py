"""Queries over the registry's tables, run inside a transaction the store opened.

Each function takes ``q(sql, params)``, the store's query function (``?``
placeholders on every backend). :func:`verify` checks the audit chain, then that
every request, decision and release recorded is exactly what its audit entry
says, and that no entry lacks its record: an edit to any table is found.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any

from sdc.release.registry.audit import AuditEntry, Verification, canonical_json, verify_chain
from sdc.release.registry.records import Action, RequestRecord, same_person
from sdc.release.registry.views import (
    RecordedDecision,
    ReleasedDefinition,
    ReleaseInfo,
    ReleaseSummary,
    RequestDetail,
    RequestState,
)

Query = Callable[..., Any]

_REQUEST_COLUMNS = (
    "request_id, audit_seq, author, manifest_digest, manifest_signed, manifest_verified, "
    "ruleset_name, ruleset_hash, approvals_required"
)
_OUTPUT_COLUMNS = "request_id, name, kind, verdict, definition, dataset"


def _loads(text: str | None) -> Any:
    """Stored JSON text parsed; text that is not JSON kept as it is (verify then reports it)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _output(row: tuple[Any, ...]) -> dict[str, Any]:
    _, name, kind, verdict, definition, dataset = row
    return {"name": name, "kind": kind, "verdict": verdict, "definition": _loads(definition),
            "dataset": dataset}  # fmt: skip


def _request(row: tuple[Any, ...], outputs: list[dict[str, Any]]) -> dict[str, Any]:
    """A stored request as plain data (the form of :meth:`RequestRecord.to_dict`)."""
    rid, _, author, manifest, signed, verified, rules, rules_hash, required = row
    return {"request_id": rid, "author": author, "manifest_digest": manifest,
            "manifest_signed": bool(signed), "manifest_verified": bool(verified),
            "ruleset_name": rules, "ruleset_hash": rules_hash,
            "approvals_required": int(required), "outputs": outputs}  # fmt: skip


def request_record(q: Query, request_id: str) -> RequestRecord | None:
    row = q(f"SELECT {_REQUEST_COLUMNS} FROM requests WHERE request_id = ?",
            (request_id,)).fetchone()  # fmt: skip
    if row is None:
        return None
    outs = q(f"SELECT {_OUTPUT_COLUMNS} FROM outputs WHERE request_id = ? ORDER BY position",
             (request_id,)).fetchall()  # fmt: skip
    return RequestRecord.from_dict(_request(row, [_output(o) for o in outs]))


def _all_requests(q: Query) -> dict[int, dict[str, Any]]:
    """Every request as plain data, by the sequence number of the entry that recorded it."""
    outputs: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for o in q(f"SELECT {_OUTPUT_COLUMNS} FROM outputs ORDER BY request_id, position"):
        outputs[o[0]].append(_output(o))
    rows = q(f"SELECT {_REQUEST_COLUMNS} FROM requests").fetchall()
    return {int(r[1]): _request(r, outputs.pop(r[0], [])) for r in rows}


_DECISION_SQL = (
    "SELECT d.audit_seq, a.at, d.request_id, d.checker, d.action, d.reason, d.covers "
    "FROM decisions d JOIN audit_log a ON a.seq = d.audit_seq"
)


def _decision(row: tuple[Any, ...]) -> RecordedDecision:
    seq, at, rid, checker, action, reason, covers = row
    return RecordedDecision(int(seq), at, rid, checker, Action(action), reason,
                            tuple(json.loads(covers)))  # fmt: skip


def decisions(q: Query, request_id: str) -> list[RecordedDecision]:
    rows = q(_DECISION_SQL + " WHERE d.request_id = ? ORDER BY d.audit_seq", (request_id,))
    return [_decision(r) for r in rows.fetchall()]


def state(q: Query, request_id: str) -> RequestState:
    """Approvals so far, the decision that closed the request (if any), released or not."""
    author, required = q("SELECT author, approvals_required FROM requests WHERE request_id = ?",
                         (request_id,)).fetchone()  # fmt: skip
    approvers: list[str] = []
    closed = None
    for d in decisions(q, request_id):
        if d.action is Action.APPROVE:
            if not any(same_person(d.checker, a) for a in approvers):
                approvers.append(d.checker)
        elif closed is None:
            closed = d
    released = q("SELECT 1 FROM releases WHERE request_id = ?", (request_id,)).fetchone()
    return RequestState(request_id, author, int(required), tuple(approvers), closed,
                        released is not None)  # fmt: skip


def covered_by_approvals(q: Query, request_id: str) -> set[str]:
    """Outputs named by the reason of at least one approval of the request."""
    return {
        name for d in decisions(q, request_id) if d.action is Action.APPROVE for name in d.covers
    }


def _release_info(q: Query, request_id: str) -> ReleaseInfo | None:
    row = q("SELECT r.audit_seq, a.at, a.actor FROM releases r JOIN audit_log a "
            "ON a.seq = r.audit_seq WHERE r.request_id = ?", (request_id,)).fetchone()  # fmt: skip
    if row is None:
        return None
    files: dict[str, dict[str, str]] = defaultdict(dict)
    others: dict[str, str] = {}
    for path, name, sha in q("SELECT path, output_name, sha256 FROM released_files "
                             "WHERE request_id = ? ORDER BY path", (request_id,)):  # fmt: skip
        (others if name is None else files[name])[path] = sha
    return ReleaseInfo(int(row[0]), row[1], row[2], dict(files), others)


def detail(q: Query, request_id: str) -> RequestDetail:
    request = request_record(q, request_id)
    assert request is not None
    seq, at = q("SELECT r.audit_seq, a.at FROM requests r JOIN audit_log a ON a.seq = "
                "r.audit_seq WHERE r.request_id = ?", (request_id,)).fetchone()  # fmt: skip
    return RequestDetail(request, int(seq), at, state(q, request_id),
                         tuple(decisions(q, request_id)), _release_info(q, request_id))  # fmt: skip


def releases(q: Query) -> list[ReleaseSummary]:
    """Every release, oldest first."""
    rows = q(
        "SELECT r.request_id, q.author, r.audit_seq, a.at, a.actor, q.ruleset_name "
        "FROM releases r JOIN requests q ON q.request_id = r.request_id "
        "JOIN audit_log a ON a.seq = r.audit_seq ORDER BY r.audit_seq"
    ).fetchall()
    names: dict[str, set[str]] = defaultdict(set)
    for rid, name in q("SELECT request_id, output_name FROM released_files "
                       "WHERE output_name IS NOT NULL"):  # fmt: skip
        names[rid].add(name)
    approvers: dict[str, list[str]] = defaultdict(list)
    for rid, checker in q("SELECT request_id, checker FROM decisions WHERE action = ? "
                          "ORDER BY audit_seq", (Action.APPROVE.value,)):  # fmt: skip
        if not any(same_person(checker, a) for a in approvers[rid]):
            approvers[rid].append(checker)
    return [
        ReleaseSummary(
            rid,
            author,
            int(seq),
            at,
            actor,
            tuple(approvers[rid]),
            rules,
            tuple(sorted(names[rid])),
        )  # fmt: skip
        for rid, author, seq, at, actor, rules in rows
    ]


def released_definitions(q: Query, dataset: str) -> list[ReleasedDefinition]:
    """Every released output computed from ``dataset``, oldest release first."""
    rows = q(
        "SELECT o.request_id, r.audit_seq, a.at, o.name, o.kind, o.dataset, o.definition "
        "FROM outputs o JOIN releases r ON r.request_id = o.request_id "
        "JOIN audit_log a ON a.seq = r.audit_seq "
        "WHERE o.dataset = ? AND EXISTS (SELECT 1 FROM released_files f "
        "WHERE f.request_id = o.request_id AND f.output_name = o.name) "
        "ORDER BY r.audit_seq, o.position",
        (dataset,),
    ).fetchall()
    return [
        ReleasedDefinition(
            rid, int(seq), at, name, kind, ds, None if d is None else json.loads(d)
        )  # fmt: skip
        for rid, seq, at, name, kind, ds, d in rows
    ]


def entries(q: Query) -> Iterator[AuditEntry]:
    rows = q("SELECT seq, at, actor, action, payload, prev_hash, hash FROM audit_log "
             "ORDER BY seq")  # fmt: skip
    for seq, at, actor, action, payload, prev, h in rows:
        yield AuditEntry(int(seq), at, actor, action, payload, prev, h)


def head(q: Query) -> tuple[int, str]:
    row = q("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    return (int(row[0]), row[1]) if row else (-1, "")


def _records(q: Query) -> dict[int, tuple[str, str]]:
    """``{entry seq: (action, canonical payload)}`` rebuilt from the stored records."""
    out: dict[int, tuple[str, str]] = {}
    for seq, r in _all_requests(q).items():
        out[seq] = ("request", canonical_json({"request": r}))
    for row in q("SELECT audit_seq, request_id, checker, action, reason, covers "
                 "FROM decisions").fetchall():  # fmt: skip
        seq, rid, checker, action, reason, covers = row
        payload = {"request_id": rid, "checker": checker, "action": action, "reason": reason,
                   "covers": _loads(covers)}  # fmt: skip
        out[int(seq)] = ("decision", canonical_json(payload))
    files: dict[str, dict[str, dict[str, str]]] = defaultdict(lambda: defaultdict(dict))
    others: dict[str, dict[str, str]] = defaultdict(dict)
    for rid, path, name, sha in q("SELECT request_id, path, output_name, sha256 "
                                  "FROM released_files"):  # fmt: skip
        (others[rid] if name is None else files[rid][name])[path] = sha
    for rid, seq in q("SELECT request_id, audit_seq FROM releases").fetchall():
        payload = {"request_id": rid, "files": files.pop(rid, {}), "other_files":
                   others.pop(rid, {})}  # fmt: skip
        out[int(seq)] = ("release", canonical_json(payload))
    for rid in {*files, *others}:  # files of a request with no release: point at its entry
        seq = q("SELECT audit_seq FROM requests WHERE request_id = ?", (rid,)).fetchone()
        out[int(seq[0]) if seq else 0] = ("release", "files without a release")
    return out


def verify(q: Query) -> Verification:
    """The audit chain checked, then every record against its entry (see the module doc)."""
    stored = list(entries(q))
    result = verify_chain(stored, head(q))
    records = _records(q)
    for e in stored:
        record = records.pop(e.seq, None)
        if e.action not in ("request", "decision", "release"):
            result = result.first_of(e.seq, f"unknown action {e.action!r}")
        elif record is None:
            result = result.first_of(e.seq, f"the {e.action} record it describes is missing")
        elif record != (e.action, e.payload):
            result = result.first_of(
                e.seq, f"the stored {record[0]} record does not match this entry (edited)"
            )
    for seq, (action, _) in records.items():
        result = result.first_of(seq, f"a {action} record points to entry {seq}, which is not "
                                      "in the log")  # fmt: skip
    return result
