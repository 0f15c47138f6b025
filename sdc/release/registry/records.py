"""What the release layer hands the registry: a request, its outputs, a decision.

Every record is validated when it is made, so the registry stores only what it
can read back: identities and reasons as non-empty text, digests as SHA-256 hex,
verdicts as ``pass`` / ``fail`` / ``review``, definitions as JSON objects.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Any

from sdc.exceptions import SdcInputError
from sdc.release.registry.audit import canonical_json
from sdc.verdict import Status

if TYPE_CHECKING:
    from sdc.ruleset import RuleSet

_DIGEST = re.compile(r"[0-9a-f]{64}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
MAX_ID, MAX_REASON = 200, 20_000


def bad(arg: str, func: str, constraint: str, got: Any, fix: str = "") -> SdcInputError:
    """The standard input error ("`arg` of `func` must be ...; got ... . fix")."""
    shown = repr(got)
    shown = shown if len(shown) <= 80 else shown[:77] + "..."
    return SdcInputError(f"`{arg}` of `{func}` must be {constraint}; got {shown}." +
                         (f" {fix}" if fix else ""))  # fmt: skip


def identity(value: Any, arg: str, func: str) -> str:
    """A person's or request's identifier: non-empty text of one line, at most 200 characters."""
    if not isinstance(value, str) or not value.strip():
        raise bad(arg, func, "a non-empty string", value)
    text = value.strip()
    if len(text) > MAX_ID or _CONTROL.search(text):
        raise bad(arg, func, f"one line of at most {MAX_ID} characters", value)
    return text


def same_person(a: str, b: str) -> bool:
    """Identities compare without regard to case or surrounding spaces.

    Examples
    --------
    >>> same_person("Alice ", "alice"), same_person("alice", "alicia")
    (True, False)
    """
    return a.strip().casefold() == b.strip().casefold()


def digest(value: Any, arg: str, func: str) -> str:
    if not isinstance(value, str) or not _DIGEST.fullmatch(value):
        raise bad(arg, func, "a SHA-256 digest (64 lowercase hexadecimal digits)", value)
    return value


def ruleset_digest(ruleset: RuleSet) -> str:
    """SHA-256 of a rule set's canonical TOML (:meth:`sdc.RuleSet.to_toml`).

    Examples
    --------
    >>> from sdc.ruleset import RuleSet
    >>> len(ruleset_digest(RuleSet.load("acro")))
    64
    """
    return hashlib.sha256(ruleset.to_toml().encode("utf-8")).hexdigest()


def _json_object(value: Any, arg: str, func: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise bad(arg, func, "a JSON object (a dict) or None", value)
    try:
        return json.loads(canonical_json(value))
    except (TypeError, ValueError) as exc:
        raise bad(arg, func, "JSON data (strings, numbers, lists, dicts)", value,
                  f"({exc})") from None  # fmt: skip


@dataclass(frozen=True)
class OutputRecord:
    """One output of a request, as checked.

    Parameters
    ----------
    name, kind
        The output's name in the request and its kind (``table``, ``regression``...).
    verdict
        ``pass``, ``fail`` or ``review``, as the gate found it.
    definition
        What the output is, as a JSON object (dataset fingerprint, population or
        filter, grouping variables and their category mapping, statistic,
        published cells); stored as it is. None where it cannot be known (a
        hand-made file).
    dataset
        The fingerprint of the dataset it was computed from (indexed: differencing
        looks up every released output of a dataset), or None.

    Examples
    --------
    >>> OutputRecord("visits", "table", "pass", {"statistic": "count"}, "ds1").verdict
    'pass'
    >>> OutputRecord("visits", "table", "ok")
    Traceback (most recent call last):
    ...
    sdc.exceptions.SdcInputError: `verdict` of `OutputRecord` must be one of pass, review,
    fail; got 'ok'.
    """

    name: str
    kind: str
    verdict: str
    definition: Mapping[str, Any] | None = None
    dataset: str | None = None

    def __post_init__(self) -> None:
        f = "OutputRecord"
        object.__setattr__(self, "name", identity(self.name, "name", f))
        object.__setattr__(self, "kind", identity(self.kind, "kind", f))
        if self.verdict not in {s.value for s in Status}:
            raise bad("verdict", f, "one of pass, review, fail", self.verdict)
        object.__setattr__(self, "verdict", Status(self.verdict).value)
        if self.definition is not None:
            object.__setattr__(self, "definition", _json_object(self.definition, "definition", f))
        if self.dataset is not None:
            object.__setattr__(self, "dataset", identity(self.dataset, "dataset", f))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "verdict": self.verdict,
                "definition": self.definition, "dataset": self.dataset}  # fmt: skip


@dataclass(frozen=True)
class RequestRecord:
    """A release request as the gate checked it.

    Parameters
    ----------
    request_id
        The request's identifier (one request, one manifest: a changed request
        needs a new identifier).
    author
        Who wrote the request (``finalise(author=...)``); never allowed to approve it.
    manifest_digest
        SHA-256 of the request's manifest.
    manifest_signed, manifest_verified
        Whether the manifest was signed, and whether the signature was verified
        with a trusted key (verified implies signed).
    ruleset_name, ruleset_hash
        The rule set the gate applied, and the SHA-256 of its canonical TOML
        (:func:`ruleset_digest`).
    outputs
        The request's outputs, at least one, names unique.
    approvals_required
        1, or 2 where the rule set asks for two distinct approvers.

    Examples
    --------
    >>> r = RequestRecord("req-1", "alice", "a" * 64, True, True, "default", "b" * 64,
    ...                   [OutputRecord("visits", "table", "pass")])
    >>> r.outputs[0].name, r.approvals_required
    ('visits', 1)
    """

    request_id: str
    author: str
    manifest_digest: str
    manifest_signed: bool
    manifest_verified: bool
    ruleset_name: str
    ruleset_hash: str
    outputs: Sequence[OutputRecord] = field(default_factory=tuple)
    approvals_required: int = 1

    def __post_init__(self) -> None:
        f = "RequestRecord"
        set_ = object.__setattr__
        set_(self, "request_id", identity(self.request_id, "request_id", f))
        set_(self, "author", identity(self.author, "author", f))
        set_(self, "manifest_digest", digest(self.manifest_digest, "manifest_digest", f))
        set_(self, "ruleset_name", identity(self.ruleset_name, "ruleset_name", f))
        set_(self, "ruleset_hash", digest(self.ruleset_hash, "ruleset_hash", f))
        for name in ("manifest_signed", "manifest_verified"):
            if not isinstance(getattr(self, name), bool):
                raise bad(name, f, "True or False", getattr(self, name))
        if self.manifest_verified and not self.manifest_signed:
            raise bad("manifest_verified", f, "False for an unsigned manifest", True)
        if self.approvals_required not in (1, 2) or isinstance(self.approvals_required, bool):
            raise bad("approvals_required", f, "1 or 2", self.approvals_required)
        outputs = tuple(self.outputs)
        if not outputs or not all(isinstance(o, OutputRecord) for o in outputs):
            raise bad("outputs", f, "a non-empty list of OutputRecord", self.outputs)
        names = [o.name for o in outputs]
        if len(set(names)) != len(names):
            twice = next(n for n in names if names.count(n) > 1)
            raise bad("outputs", f, "outputs with distinct names", twice)
        set_(self, "outputs", outputs)

    def output(self, name: str) -> OutputRecord | None:
        return next((o for o in self.outputs if o.name == name), None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "request_id": self.request_id, "author": self.author,
            "manifest_digest": self.manifest_digest, "manifest_signed": self.manifest_signed,
            "manifest_verified": self.manifest_verified, "ruleset_name": self.ruleset_name,
            "ruleset_hash": self.ruleset_hash, "approvals_required": self.approvals_required,
            "outputs": [o.to_dict() for o in self.outputs],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RequestRecord:
        outputs = [OutputRecord(**o) for o in d["outputs"]]
        return cls(**{**d, "outputs": outputs})


class Action(str, Enum):
    """What a checker decides about a request."""

    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_CHANGES = "request-changes"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Decision:
    """A checker's decision on a request.

    Parameters
    ----------
    request_id, checker
        The request decided on, and who decided (never its author, for an approval).
    action
        ``approve``, ``reject`` or ``request-changes`` (an :class:`Action` or its value).
    reason
        Why, in the checker's words (required).
    covers
        The outputs the reason speaks for: for an approval, the ``review`` outputs
        it lets leave (a ``review`` output leaves only with an approval naming it).

    Examples
    --------
    >>> Decision("req-1", "bob", "approve", "checked by hand", ["rates"]).action
    <Action.APPROVE: 'approve'>
    """

    request_id: str
    checker: str
    action: Action | str
    reason: str
    covers: Sequence[str] = ()

    def __post_init__(self) -> None:
        f = "Decision"
        set_ = object.__setattr__
        set_(self, "request_id", identity(self.request_id, "request_id", f))
        set_(self, "checker", identity(self.checker, "checker", f))
        try:
            set_(self, "action", Action(self.action))
        except ValueError:
            raise bad("action", f, "one of approve, reject, request-changes",
                      self.action) from None  # fmt: skip
        if not isinstance(self.reason, str) or not self.reason.strip():
            raise bad("reason", f, "a non-empty string", self.reason,
                      "Say why: it is kept in the audit log.")  # fmt: skip
        if len(self.reason) > MAX_REASON:
            raise bad("reason", f, f"at most {MAX_REASON} characters", self.reason)
        set_(self, "reason", self.reason.strip())
        if isinstance(self.covers, str):
            raise bad("covers", f, "a list of output names", self.covers)
        covers = tuple(identity(c, "covers", f) for c in self.covers)
        if len(set(covers)) != len(covers):
            raise bad("covers", f, "distinct output names", list(covers))
        set_(self, "covers", covers)

    def to_dict(self) -> dict[str, Any]:
        return {"request_id": self.request_id, "checker": self.checker,
                "action": str(self.action), "reason": self.reason,
                "covers": list(self.covers)}  # fmt: skip
