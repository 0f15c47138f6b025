"""``sdc release``: re-check a request, record the checker's decision, write what leaves.

In order, and nothing of a later step happens when an earlier one refuses:

1. the gate re-checks the request folder with the operator's rules and trust
   options (:func:`sdc.release.gate.check_request`), and for differencing against
   every output the registry holds as released from the same data (re-evaluated on
   the data given with ``data``; without it, a registry that holds such outputs makes
   the check ``review``); it keeps the bytes of every file it checked, and only those
   bytes are ever released. The registry's release lock is held from here to the end
   (:meth:`Registry.releasing`), so no other release is recorded between this check and
   this release;
2. for an approval, the target egress folder is locked, an interrupted earlier
   release into it is finished or undone (:meth:`EgressFolder.recover`), and a
   target that exists is refused;
3. the decision is recorded in the registry (with the request, the first time).
   The request's id is ``req-`` and the first 16 hex digits of its manifest's
   SHA-256: a changed request is a new request. The registry refuses an approval
   by the request's author, a second approval by the same checker, and any
   decision on a closed or released request; the rule set's ``[release]
   approvers`` says how many distinct approvals complete it. An approval's
   reason *names* the ``review`` outputs it lets leave (their names, as words of
   the reason); the approval that would complete a request of which nothing can
   leave is refused before it is recorded;
4. once the request is complete, the files that leave (outputs that pass, and
   ``review`` outputs some approval names; never a ``fail`` output) are written
   with the release summary into a staging folder beside the target, the release
   is recorded with the digest of every file, and the folder is moved into place.
   SIGINT and SIGTERM are held off across these last two steps; any error or
   interruption before them removes the staging folder and records no release.

A request that records no author cannot be approved: nobody could be shown not
to be its author (it can still be rejected or sent back).
"""

from __future__ import annotations

import contextlib
import re
import signal
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdc.exceptions import SdcRefusedDecision
from sdc.release.gate import GateResult, check_request
from sdc.release.registry.records import (
    Action,
    Decision,
    OutputRecord,
    RequestRecord,
    identity,
    ruleset_digest,
    same_person,
)
from sdc.release.summary import SUMMARY, leaving, release_summary, summary_bytes
from sdc.ruleset import RuleSet
from sdc.verdict import Status

#: The author recorded for a request whose manifest names none (it cannot be approved).
NO_AUTHOR = "(not recorded)"


class NothingLeaves(SdcRefusedDecision):
    """An approval that would complete a request of which nothing may leave."""


def _dataset(definition: Any) -> str | None:
    """The key the registry files an output under: the data its records were selected from
    (so that ``sdc check --registry`` finds every output of those data), else the
    fingerprint of the columns it read."""
    from sdc.differencing.population import dataset_key

    key = dataset_key(definition)
    if key is not None:
        return key
    fp = ((definition or {}).get("dataset") or {}).get("fingerprint")
    return fp if isinstance(fp, str) and fp else None


def request_record(result: GateResult, rid: str) -> RequestRecord:
    """The request as the registry records it: each output with the gate's verdict."""
    verdicts = {o["name"]: o["status"] for o in result.report["outputs"]}
    outputs = [
        OutputRecord(o.name, o.kind, verdicts.get(o.name, "fail"),
                     result.definitions.get(o.name, o.definition),
                     _dataset(result.definitions.get(o.name, o.definition)))
        for o in result.manifest.outputs
    ]  # fmt: skip
    signature = result.report["trust"]["signature"]
    return RequestRecord(
        rid, result.manifest.author or NO_AUTHOR, result.manifest_sha256,
        signature != "missing", signature == "valid", result.ruleset.name,
        ruleset_digest(result.ruleset), outputs, result.ruleset.release.approvers,
    )  # fmt: skip


def named_in(reason: str, names: Iterable[str]) -> list[str]:
    """The ``names`` that the reason names as words (not inside a longer name).

    Examples
    --------
    >>> named_in("visits and rates_2 checked by hand.", ["visits", "rates", "rates_2"])
    ['visits', 'rates_2']
    """
    out = []
    for name in names:
        if re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])(?!\.\w)", reason):
            out.append(name)
    return out


def _approved_covers(reg: Any, rid: str) -> set[str]:
    return {n for d in reg.decisions(rid) if d.action is Action.APPROVE for n in d.covers}


def _released_files(reg: Any, rid: str) -> dict[str, str] | None:
    """``{path: sha256}`` the registry recorded as released for ``rid`` (None: not released)."""
    try:
        release = reg.request(rid).release
    except ValueError:
        return None
    if release is None:
        return None
    files = {p: s for f in release.files.values() for p, s in f.items()}
    return {**files, **release.other_files}


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends (where the platform allows it)."""
    held = {signal.SIGINT, signal.SIGTERM}
    if threading.current_thread() is not threading.main_thread() or not hasattr(
        signal, "pthread_sigmask"
    ):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM raises KeyboardInterrupt while the release runs, so that it cleans up."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, raise_interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def release_request(
    folder: str | Path,
    *,
    registry: str,
    by: str,
    action: Action | str,
    reason: str,
    out: str | Path | None = None,
    rules: str | Path | RuleSet | None = None,
    trust_keys: Any = (),
    trust_unsigned: bool = False,
    data: str | Path | None = None,
) -> dict[str, Any]:
    """Re-check, decide, and (once approved) write the egress folder ``out``; a document.

    Returns ``{"request_id", "decision", "state", "released", "egress", "files", ...}``.
    Raises :class:`~sdc.exceptions.SdcRefusedDecision` (nothing recorded, nothing
    written) for a decision the registry refuses, :class:`NothingLeaves` for an
    approval that would complete a request of which nothing may leave, and
    ``SdcInputError`` for bad input.

    Examples
    --------
    >>> import pathlib, tempfile, sdc
    >>> from sdc.example import example_microdata
    >>> tmp = pathlib.Path(tempfile.mkdtemp())
    >>> s = sdc.Session(suppress=True)
    >>> _ = s.crosstab(example_microdata().region, name="visits")
    >>> folder = s.finalise(tmp / "req", author="alice")
    >>> doc = release_request(folder, registry=f"sqlite:///{tmp}/registry.db", by="bob",
    ...                       action="approve", reason="every cell >= 10", out=tmp / "egress",
    ...                       rules="default", trust_unsigned=True)
    >>> doc["state"]["state"], sorted(p.name for p in (tmp / "egress").iterdir())
    ('released', ['release.json', 'visits.csv'])
    """
    from sdc.release.egress import EgressFolder
    from sdc.release.registry.connect import open_registry

    func = "sdc release"
    by = identity(by, "--by", func)
    act = Action(action)
    approve = act is Action.APPROVE
    if approve and out is None:
        raise SdcRefusedDecision("an approval needs --out EGRESS: the folder to write what leaves.")
    if not approve and out is not None:
        raise SdcRefusedDecision(f"--out goes with --approve only; a {act.value} writes nothing.")
    with contextlib.ExitStack() as stack:
        stack.enter_context(_terminate_as_interrupt())
        reg = stack.enter_context(open_registry(registry))
        stack.enter_context(reg.releasing())  # no other release between check and release
        result = check_request(folder, rules, trust_keys=trust_keys,
                               trust_unsigned=trust_unsigned, data=data, registry=reg)  # fmt: skip
        rid = result.request_id
        record = request_record(result, rid)
        review = [o.name for o in record.outputs if o.verdict == Status.REVIEW.value]
        decision = Decision(rid, by, act, reason, named_in(reason, review) if approve else ())
        if approve and result.manifest.author is None:
            raise SdcRefusedDecision(
                f"request {rid!r} records no author (finalise(author=...) or SDC_AUTHOR), so "
                "nobody can be shown not to be its author: it cannot be approved. Finalise it "
                "again with an author, or reject it."
            )
        doc: dict[str, Any] = {"request_id": rid, "recovered": None, "decision": None,
                               "released": False, "egress": None, "files": []}  # fmt: skip
        egress = stack.enter_context(EgressFolder(out)) if out is not None else None
        if egress is not None:
            doc["recovered"] = egress.recover(lambda r: _released_files(reg, r))
            if egress.exists():
                raise SdcRefusedDecision(
                    f"the egress folder {str(out)!r} exists already; it is never replaced "
                    "(choose a new folder)."
                )
        state = _decide(reg, record, decision, result, doc)
        if state.state == "approved" and egress is not None:
            state = _release(reg, egress, result, rid, by, doc)
        doc["state"] = state.to_dict()
    doc["gate"] = {"status": result.report["status"], "summary": result.report["summary"]}
    return doc


def _decide(reg: Any, record: RequestRecord, decision: Decision, result: GateResult,
            doc: dict[str, Any]) -> Any:  # fmt: skip
    """Record the decision (or, for a request already complete, none); the state after it."""
    rid = record.request_id
    try:
        before = reg.state(rid)
    except ValueError:
        before = None
    if decision.action is Action.APPROVE and before is not None and before.state == "approved":
        if same_person(decision.checker, record.author):
            raise SdcRefusedDecision(f"{record.author} wrote request {rid!r} and may not "
                                     "release it.")  # fmt: skip
        return before  # complete already (an earlier release was interrupted): release it
    if decision.action is Action.APPROVE:
        approvals = len(before.approvers) if before is not None else 0
        if approvals + 1 >= record.approvals_required:
            prior = _approved_covers(reg, rid) if before is not None else set()
            if not leaving(result.report, prior | set(decision.covers)):
                raise NothingLeaves(
                    f"nothing of request {rid!r} may leave: every output fails, or needs "
                    "review and no approval's reason names it. Name the review outputs "
                    "in the reason, or reject the request."
                )
    state = reg.decide(record, decision)
    doc["decision"] = decision.to_dict()
    return state


def _release(reg: Any, egress: Any, result: GateResult, rid: str, by: str,
             doc: dict[str, Any]) -> Any:  # fmt: skip
    """Write the egress folder aside, record the release, move the folder into place."""
    approvers = reg.state(rid).approvers
    paths = leaving(result.report, _approved_covers(reg, rid))
    files: dict[str, dict[str, bytes]] = {}
    for owner, owned in paths.items():
        files[owner] = {p: result.checked[p] for p in owned}  # only what the gate read
    released_at = datetime.now(UTC).isoformat(timespec="seconds")
    summary = release_summary(result, files, request_id=rid, approvers=approvers,
                              released_at=released_at)  # fmt: skip
    written = {p: b for owned in files.values() for p, b in owned.items()}
    written[SUMMARY] = summary_bytes(summary)
    digests = egress.stage(written)
    per_output = {o: {p: digests[p] for p in owned} for o, owned in files.items()}
    with _signals_held():
        state = reg.release(rid, per_output, actor=by, other_files={SUMMARY: digests[SUMMARY]})
        egress.commit()
    doc.update(released=True, egress=str(egress.target),
               files=[{"path": p, "sha256": s} for p, s in sorted(digests.items())])  # fmt: skip
    return state


def release_text(doc: Mapping[str, Any]) -> str:
    """The document of :func:`release_request` for people."""
    state = doc["state"]
    lines = [f"request {doc['request_id']}: {state['state']}"]
    if doc.get("recovered"):
        lines.append(f"  finished the interrupted release of {doc['recovered']} (moved into place)")
    d = doc.get("decision")
    if d is not None:
        covers = f" (it names {', '.join(d['covers'])})" if d["covers"] else ""
        lines.append(f"  recorded: {d['checker']} {d['action']}{covers}")
    if state["awaiting"]:
        lines.append(f"  awaiting {state['awaiting']} more approval(s) from other checkers")
    if doc["released"]:
        lines.append(f"  released into {doc['egress']}:")
        lines += [f"    {f['path']}  sha256 {f['sha256']}" for f in doc["files"]]
    lines.append(f"  gate: {doc['gate']['status'].upper()} "
                 + ", ".join(f"{v} {k}" for k, v in doc["gate"]["summary"].items()))  # fmt: skip
    return "\n".join(lines)


def preview(result: GateResult) -> dict[str, Any]:
    """What would leave if every ``review`` output were approved: files and summary (for the
    checker's HTML report; nothing is written)."""
    review = [o["name"] for o in result.report["outputs"] if o["status"] == "review"]
    paths = leaving(result.report, review)
    files = {o: {p: result.checked[p] for p in owned} for o, owned in paths.items()}
    summary = release_summary(result, files, request_id=result.request_id, approvers=[],
                              released_at="(not released)")  # fmt: skip
    listed = [
        {"path": p, "output": o, "leaves": "with approval" if o in review else "yes",
         "sha256": s["sha256"], "bytes": s["bytes"]}
        for item in summary["outputs"] for o in [item["name"]] for s in item["files"]
        for p in [s["path"]]
    ]  # fmt: skip
    return {"files": listed, "summary": summary}
