"""What the registry answers: a request's state, its decisions, releases, definitions.

:class:`RequestState` also holds the approval rules, so that the release layer can
ask before it records (``state.refusal(decision)``) and the registry refuses the
same decisions when they are recorded: the author never approves their own
request, a checker's second approval does not count twice, a closed or released
request takes no more decisions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sdc.release.registry.records import Action, Decision, RequestRecord, same_person

PENDING, APPROVED, RELEASED = "pending", "approved", "released"
REJECTED, CHANGES_REQUESTED = "rejected", "changes-requested"


@dataclass(frozen=True)
class RecordedDecision:
    """A decision as recorded: its audit entry's sequence number and time added."""

    seq: int
    at: str
    request_id: str
    checker: str
    action: Action
    reason: str
    covers: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "checker": self.checker,
                "action": self.action.value, "reason": self.reason,
                "covers": list(self.covers)}  # fmt: skip


@dataclass(frozen=True)
class RequestState:
    """Where a request stands: its approvals so far and whether it is complete.

    ``state`` is one of ``pending`` (awaiting approvals), ``approved`` (complete,
    not yet released), ``released``, ``rejected`` and ``changes-requested``.

    Examples
    --------
    >>> s = RequestState("req-1", "alice", 2, approvers=("bob",))
    >>> s.state, s.awaiting, s.complete
    ('pending', 1, False)
    >>> s.refusal(Decision("req-1", "Alice", "approve", "fine"))
    "alice wrote request 'req-1' and may not approve it; another checker must."
    >>> s.refusal(Decision("req-1", "carol", "approve", "fine")) is None
    True
    """

    request_id: str
    author: str
    approvals_required: int
    approvers: tuple[str, ...] = ()
    closed_by: RecordedDecision | None = None
    released: bool = False

    @property
    def state(self) -> str:
        if self.released:
            return RELEASED
        if self.closed_by is not None:
            return REJECTED if self.closed_by.action is Action.REJECT else CHANGES_REQUESTED
        return APPROVED if len(self.approvers) >= self.approvals_required else PENDING

    @property
    def complete(self) -> bool:
        """Approved by as many distinct checkers as required (released or not)."""
        return self.state in (APPROVED, RELEASED)

    @property
    def awaiting(self) -> int:
        """How many more distinct approvals the request needs (0 once complete)."""
        return 0 if self.closed_by else max(0, self.approvals_required - len(self.approvers))

    def may_approve(self, checker: str) -> bool:
        """Whether an approval by ``checker`` would be recorded now."""
        return self.refusal(Decision(self.request_id, checker, Action.APPROVE, "?")) is None

    def refusal(self, decision: Decision) -> str | None:
        """Why the registry would refuse ``decision`` now, or None if it would record it."""
        rid = self.request_id
        if self.released:
            return f"request {rid!r} was released already; it takes no more decisions."
        if self.closed_by is not None:
            c = self.closed_by
            done = "rejected" if c.action is Action.REJECT else "sent back for changes"
            return (
                f"request {rid!r} was {done} by {c.checker} (audit entry {c.seq}); it takes no "
                "more decisions. A changed request needs a new request id."
            )
        if decision.action is not Action.APPROVE:
            return None
        if same_person(decision.checker, self.author):
            return (
                f"{self.author} wrote request {rid!r} and may not approve it; another checker must."
            )
        if any(same_person(decision.checker, a) for a in self.approvers):
            return (f"{decision.checker} approved request {rid!r} already; a second approval "
                    "must come from another checker.")  # fmt: skip
        if self.complete:
            return f"request {rid!r} has all its approvals already."
        return None

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "author": self.author, "state": self.state,
                "approvals_required": self.approvals_required,
                "approvers": list(self.approvers), "awaiting": self.awaiting}  # fmt: skip


@dataclass(frozen=True)
class ReleaseInfo:
    """The release of a request: when, by whom, and the digest of every file that left."""

    seq: int
    at: str
    actor: str
    files: dict[str, dict[str, str]]
    other_files: dict[str, str]

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "at": self.at, "actor": self.actor, "files": self.files,
                "other_files": self.other_files}  # fmt: skip


@dataclass(frozen=True)
class RequestDetail:
    """Everything recorded about one request."""

    request: RequestRecord
    seq: int
    at: str
    state: RequestState
    decisions: tuple[RecordedDecision, ...]
    release: ReleaseInfo | None

    def to_dict(self) -> dict[str, Any]:
        return {
            **self.request.to_dict(), "recorded": {"seq": self.seq, "at": self.at},
            "state": self.state.state, "approvers": list(self.state.approvers),
            "awaiting": self.state.awaiting,
            "decisions": [d.to_dict() for d in self.decisions],
            "release": self.release.to_dict() if self.release else None,
        }  # fmt: skip


@dataclass(frozen=True)
class ReleaseSummary:
    """One line of the release history."""

    request_id: str
    author: str
    seq: int
    at: str
    actor: str
    approvers: tuple[str, ...]
    ruleset_name: str
    outputs: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "author": self.author, "seq": self.seq,
                "released_at": self.at, "released_by": self.actor,
                "approvers": list(self.approvers), "rules": self.ruleset_name,
                "outputs": list(self.outputs)}  # fmt: skip


@dataclass(frozen=True)
class ReleasedDefinition:
    """A released output's definition, for checking new outputs against it (differencing)."""

    request_id: str
    release_seq: int
    released_at: str
    name: str
    kind: str
    dataset: str
    definition: dict[str, Any] | None
