"""The registry's interface: what the release layer, ``sdc history`` and differencing use.

Every method is one transaction: it happens whole or not at all. Writes are
serialised across processes, so concurrent gates neither lose nor duplicate a
release, and the audit chain never forks.

How ``sdc release`` uses it: ``decide(request, decision)`` records the checker's
decision (and the request, the first time); when the returned state is
``approved``, write the egress folder aside, ``release(request_id, files,
actor=...)`` with the digest of every file, then move the folder into place. A
refused decision or release (:class:`~sdc.exceptions.SdcRefusedDecision`)
records nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Protocol

from sdc.release.registry.audit import AuditEntry, Verification
from sdc.release.registry.records import Decision, RequestRecord
from sdc.release.registry.views import (
    RecordedDecision,
    ReleasedDefinition,
    ReleaseSummary,
    RequestDetail,
    RequestState,
)


class Registry(Protocol):
    """A release registry (SQLite or PostgreSQL; see :func:`open_registry`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from sdc.release.registry import (Decision, OutputRecord, RequestRecord,
    ...                                   open_registry)
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> reg = open_registry(f"sqlite:///{folder}/registry.db")
    >>> req = RequestRecord("req-1", "alice", "a" * 64, True, True, "default", "b" * 64,
    ...                     [OutputRecord("visits", "table", "pass", {"rows": "region"}, "ds1")])
    >>> reg.decide(req, Decision("req-1", "bob", "approve", "all cells >= 10")).state
    'approved'
    >>> reg.release("req-1", {"visits": {"visits.csv": "c" * 64}}, actor="bob").state
    'released'
    >>> [d.name for d in reg.released_definitions("ds1")], reg.verify().valid
    (['visits'], True)
    >>> reg.close()
    """

    #: The registry's URL, its password hidden.
    url: str
    #: The schema version the registry is at (after migrations).
    schema_version: int

    def decide(self, request: RequestRecord, decision: Decision) -> RequestState:
        """Record a checker's decision, and the request itself the first time.

        Refused (:class:`~sdc.exceptions.SdcRefusedDecision`, nothing recorded): an
        approval by the request's author, a second approval by the same checker,
        any decision on a rejected, sent-back or released request, and a request
        whose content differs from the one recorded under its id.
        """
        ...

    def release(
        self,
        request_id: str,
        files: Mapping[str, Mapping[str, str]],
        *,
        actor: str,
        other_files: Mapping[str, str] | None = None,
    ) -> RequestState:
        """Record that an approved request left: ``{output: {path: sha256}}`` per output.

        ``other_files`` are files of the release as a whole (its summary). Refused:
        a request not approved (or released already), an output that failed, and a
        ``review`` output that no approval's reason covers.
        """
        ...

    def state(self, request_id: str) -> RequestState:
        """Where the request stands: approvals, whether complete, released."""
        ...

    def is_complete(self, request_id: str) -> bool:
        """Whether the request has all the distinct approvals it needs."""
        ...

    def decisions(self, request_id: str) -> list[RecordedDecision]:
        """The request's decisions, oldest first."""
        ...

    def request(self, request_id: str) -> RequestDetail:
        """Everything recorded about one request."""
        ...

    def releases(self) -> list[ReleaseSummary]:
        """Every release so far, oldest first."""
        ...

    def released_definitions(self, dataset: str) -> list[ReleasedDefinition]:
        """The definition of every released output computed from ``dataset``."""
        ...

    def span_bases(self, keys: Sequence[str]) -> dict[str, str]:
        """The bases of earlier released numbers kept by differencing checks under any of
        ``keys`` (a cache outside the audit chain; see :mod:`sdc.differencing.basis`)."""
        ...

    def keep_span_basis(self, key: str, rows: str) -> None:
        """Keep a basis (its encoded positions) under ``key``, in place of one kept before."""
        ...

    def releasing(self, timeout: float = ...) -> AbstractContextManager[None]:
        """Hold the registry's release lock for the block: one release at a time (across
        processes and machines), so that a request is checked against every release
        before it, and none is recorded between its check and its release. Waits up to
        ``timeout`` seconds for another release, then raises ``SdcRegistryError``."""
        ...

    def audit_entries(self) -> list[AuditEntry]:
        """The audit log, in order."""
        ...

    def head(self) -> tuple[int, str]:
        """Sequence number and hash of the last audit entry (keep it elsewhere too)."""
        ...

    def verify(self) -> Verification:
        """Check the audit chain and every record against it; names the first broken entry."""
        ...

    def close(self) -> None:
        """Close the connection."""
        ...

    def __enter__(self) -> Registry: ...

    def __exit__(self, *exc: object) -> None: ...
