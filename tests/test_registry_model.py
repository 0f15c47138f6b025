"""The registry as a state machine, against a plain model of the release rules.

Hypothesis runs random sequences of decisions and releases on four requests
(some needing two approvers, some with ``review`` or ``fail`` outputs) against a
SQLite registry and a dict model written from the rules alone: the author never
approves, a checker counts once, a rejected or sent-back request is closed, only
an approved request is released, once, and only with outputs that passed or whose
review an approval covers. After every step the registry's answers equal the
model's and the audit log verifies.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from registry_cases import request, sha

from sdc.exceptions import SdcInputError, SdcRefusedDecision
from sdc.release.registry import Decision, open_registry

REQUESTS = {
    "r0": request("r0", verdicts={"a": "pass"}),
    "r1": request("r1", verdicts={"a": "pass", "b": "review"}, required=2),
    "r2": request("r2", verdicts={"a": "pass", "b": "review", "c": "fail"}),
}
CHECKERS = ["alice", "bob", "Bob ", "carol", "dave"]
ACTIONS = ["approve"] * 5 + ["reject", "request-changes"]


class RegistryMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        # tmpfs where there is one: each commit's fsync costs nothing there
        self.folder = tempfile.TemporaryDirectory(
            dir="/dev/shm" if Path("/dev/shm").is_dir() else None
        )
        self.reg = open_registry(f"sqlite:///{Path(self.folder.name) / 'registry.db'}")
        self.model: dict[str, dict] = {}  # rid -> approvers, covers, closed, released
        self.released: list[str] = []
        self.entries = 0

    def teardown(self) -> None:
        self.reg.close()
        self.folder.cleanup()

    @rule(
        rid=st.sampled_from(sorted(REQUESTS)),
        checker=st.sampled_from(CHECKERS),
        action=st.sampled_from(ACTIONS),
        data=st.data(),
    )
    def decide(self, rid: str, checker: str, action: str, data: st.DataObject) -> None:
        req = REQUESTS[rid]
        names = [o.name for o in req.outputs if action != "approve" or o.verdict == "review"]
        covers = data.draw(st.lists(st.sampled_from(names), unique=True) if names else st.just([]))
        m = self.model.get(
            rid, {"approvers": [], "covers": set(), "closed": False, "released": False}
        )
        who = checker.strip().lower()
        allowed = (
            not m["released"]
            and not m["closed"]
            and (
                action != "approve"
                or (
                    who != req.author
                    and who not in m["approvers"]
                    and len(m["approvers"]) < req.approvals_required
                )
            )
        )
        decision = Decision(rid, checker, action, f"{action} by {checker}", covers)
        if not allowed:
            try:
                self.reg.decide(req, decision)
            except SdcRefusedDecision:
                return
            raise AssertionError(f"recorded {decision} against the rules")
        state = self.reg.decide(req, decision)
        self.entries += 1 if rid in self.model else 2
        self.model[rid] = m
        if action == "approve":
            m["approvers"].append(who)
            m["covers"] |= set(covers)
        else:
            m["closed"] = True
        assert [a.strip().lower() for a in state.approvers] == m["approvers"]

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def release(self, data: st.DataObject) -> None:
        """Release a recorded request (releasing an unknown one is tested elsewhere)."""
        rid = data.draw(st.sampled_from(sorted(self.model)), label="rid")
        req = REQUESTS[rid]
        chosen = data.draw(
            st.lists(st.sampled_from([o.name for o in req.outputs]), min_size=1, unique=True)
        )
        files = {n: {f"{n}.csv": sha(f"{rid}/{n}")} for n in chosen}
        m = self.model.get(rid)
        verdict = {o.name: o.verdict for o in req.outputs}
        allowed = (
            m is not None
            and not m["closed"]
            and not m["released"]
            and len(m["approvers"]) >= req.approvals_required
            and all(
                verdict[n] == "pass" or (verdict[n] == "review" and n in m["covers"])
                for n in chosen
            )
        )
        if not allowed:
            try:
                self.reg.release(rid, files, actor="gate")
            except (SdcRefusedDecision, SdcInputError):
                return
            raise AssertionError(f"released {rid} {chosen} against the rules")
        self.reg.release(rid, files, actor="gate")
        assert m is not None
        m["released"] = True
        self.released.append(rid)
        self.entries += 1

    @invariant()
    def registry_matches_model(self) -> None:
        assert [r.request_id for r in self.reg.releases()] == self.released
        for rid, m in self.model.items():
            state = self.reg.state(rid)
            expected = (
                "released"
                if m["released"]
                else "closed"
                if m["closed"]
                else "approved"
                if len(m["approvers"]) >= REQUESTS[rid].approvals_required
                else "pending"
            )
            got = "closed" if state.state in ("rejected", "changes-requested") else state.state
            assert got == expected, (rid, state)
        result = self.reg.verify()
        assert result.valid and result.entries == self.entries


TestRegistryMachine = RegistryMachine.TestCase
TestRegistryMachine.settings = settings(stateful_step_count=40, deadline=None)
