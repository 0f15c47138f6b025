"""The hash chain of the audit log: canonical JSON, entry hashes and verification.

Each entry holds a sequence number (1, 2, ...), a time, an actor, an action, a
payload (canonical JSON text), the previous entry's hash (64 zeros for the first)
and its own hash: SHA-256 over the canonical JSON of all of those. Changing any
field of any entry, deleting, inserting or reordering entries breaks the chain
at the first entry concerned, and :func:`verify_chain` names it.

Only the chain is checked here; the registry also checks that the records it
keeps (requests, decisions, releases) are the ones their entries describe.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

#: The previous-entry hash of the first entry.
GENESIS = "0" * 64


def canonical_json(value: Any) -> str:
    """One text per JSON value: sorted keys, no spaces, UTF-8 text, no NaN.

    Examples
    --------
    >>> canonical_json({"b": [1, 2.5], "a": "é"})
    '{"a":"é","b":[1,2.5]}'
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def entry_hash(seq: int, at: str, actor: str, action: str, payload: str, prev_hash: str) -> str:
    """The SHA-256 (hex) of an entry: over the canonical JSON of its six fields.

    Examples
    --------
    >>> h = entry_hash(1, "2025-01-01T00:00:00+00:00", "alice", "decision", "{}", GENESIS)
    >>> len(h), h == entry_hash(1, "2025-01-01T00:00:00+00:00", "alice", "decision", "{}", GENESIS)
    (64, True)
    """
    text = canonical_json([seq, at, actor, action, payload, prev_hash])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class AuditEntry:
    """One entry of the audit log, as stored."""

    seq: int
    at: str
    actor: str
    action: str
    payload: str
    prev_hash: str
    hash: str

    @classmethod
    def make(
        cls, seq: int, at: str, actor: str, action: str, payload: Any, prev_hash: str
    ) -> AuditEntry:
        """A new entry after the one whose hash is ``prev_hash``, its own hash computed.

        Examples
        --------
        >>> first = AuditEntry.make(1, "2025-01-01T00:00:00+00:00", "bob", "release",
        ...                         {"request_id": "r1"}, GENESIS)
        >>> first.payload, verify_chain([first], (1, first.hash)).valid
        ('{"request_id":"r1"}', True)
        """
        text = canonical_json(payload)
        return cls(seq, at, actor, action, text, prev_hash,
                   entry_hash(seq, at, actor, action, text, prev_hash))  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data, its payload parsed."""
        return {
            "seq": self.seq, "at": self.at, "actor": self.actor, "action": self.action,
            "payload": json.loads(self.payload), "prev_hash": self.prev_hash, "hash": self.hash,
        }  # fmt: skip


@dataclass(frozen=True)
class Verification:
    """The result of checking an audit log.

    ``valid`` is True when every entry and record is intact; otherwise
    ``first_broken`` is the sequence number of the first broken entry and
    ``problem`` says what is wrong with it. ``head_seq`` and ``head_hash`` are the
    last entry's (0 and :data:`GENESIS` for an empty log): keep them outside the
    registry to detect a log that was rewritten whole.
    """

    valid: bool
    entries: int
    head_seq: int
    head_hash: str
    first_broken: int | None = None
    problem: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid, "entries": self.entries,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "first_broken": self.first_broken, "problem": self.problem,
        }  # fmt: skip

    def message(self) -> str:
        """One line for people."""
        if self.valid:
            return (f"audit log valid: {self.entries} entries, head {self.head_seq} "
                    f"{self.head_hash}")  # fmt: skip
        return f"audit log broken at entry {self.first_broken}: {self.problem}"

    def first_of(self, seq: int, problem: str) -> Verification:
        """This result, or a broken one at ``seq`` when that comes before its own break."""
        if self.first_broken is not None and self.first_broken <= seq:
            return self
        return Verification(False, self.entries, self.head_seq, self.head_hash, seq, problem)


def verify_chain(entries: Iterable[AuditEntry], head: tuple[int, str]) -> Verification:
    """Check a log read in sequence order against the head the registry recorded.

    Parameters
    ----------
    entries
        Every entry, ordered by ``seq``.
    head
        ``(seq, hash)`` of the last entry as recorded beside the log when it was
        appended: a log cut short at its end is detected by it.

    Returns
    -------
    Verification
        Valid, or the first broken entry and what is wrong with it.

    Examples
    --------
    >>> a = AuditEntry.make(1, "t1", "alice", "decision", {"x": 1}, GENESIS)
    >>> b = AuditEntry.make(2, "t2", "bob", "decision", {"x": 2}, a.hash)
    >>> verify_chain([a, b], (2, b.hash)).valid
    True
    >>> edited = AuditEntry(2, "t2", "bob", "decision", '{"x":3}', a.hash, b.hash)
    >>> verify_chain([a, edited], (2, b.hash)).message()
    'audit log broken at entry 2: its fields do not match its hash (edited)'
    >>> verify_chain([b], (2, b.hash)).message()
    'audit log broken at entry 1: entry 1 is missing (the next stored entry is 2)'
    """
    expected, prev, count = 1, GENESIS, 0
    broken: tuple[int, str] | None = None
    for e in entries:
        count += 1
        if broken is None:
            if e.seq != expected:
                what = "missing" if e.seq > expected else "out of order"
                broken = (
                    expected,
                    f"entry {expected} is {what} (the next stored entry is {e.seq})",
                )
            elif e.prev_hash != prev:
                broken = (
                    e.seq,
                    f"its previous-entry hash does not match entry {e.seq - 1}'s "
                    "hash (an entry before it was changed, removed or inserted)",
                )
            elif entry_hash(e.seq, e.at, e.actor, e.action, e.payload, e.prev_hash) != e.hash:
                broken = (e.seq, "its fields do not match its hash (edited)")
        expected, prev = e.seq + 1, e.hash
    last_seq = expected - 1
    head_seq, head_hash = head
    result = Verification(True, count, last_seq, prev)
    if broken is not None:
        return result.first_of(*broken)
    if head_seq > last_seq:
        return result.first_of(
            last_seq + 1,
            f"entries {last_seq + 1}..{head_seq} are missing (the log ends at {last_seq}; "
            f"its recorded head is {head_seq})",
        )
    if head_seq < last_seq:
        return result.first_of(
            head_seq + 1,
            f"entry {head_seq + 1} was added behind the registry's back (the recorded head "
            f"is {head_seq})",
        )
    if head_hash != prev:
        return result.first_of(last_seq, "its hash differs from the recorded head's hash")
    return result
