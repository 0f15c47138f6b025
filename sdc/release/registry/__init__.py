"""The release registry: what was released, who decided, and an audit log nobody can rewrite.

One interface (:class:`Registry`) with two backends behind :func:`open_registry`:
a SQLite file (the embedded default) and PostgreSQL (a gate shared by several
machines). It stores each request as checked (author, manifest digest and
signature, rule set and its hash, every output's verdict and definition), every
decision, every release with the digest of each file that left, and a
hash-chained audit log of all of them. The read-only commands ``sdc history`` and
``sdc audit verify`` are in :mod:`sdc.release.registry.commands`.

Only the standard library is loaded (psycopg on the first PostgreSQL URL).
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "Action": "sdc.release.registry.records",
        "AuditEntry": "sdc.release.registry.audit",
        "Decision": "sdc.release.registry.records",
        "OutputRecord": "sdc.release.registry.records",
        "RecordedDecision": "sdc.release.registry.views",
        "Registry": "sdc.release.registry.interface",
        "ReleasedDefinition": "sdc.release.registry.views",
        "ReleaseSummary": "sdc.release.registry.views",
        "RequestDetail": "sdc.release.registry.views",
        "RequestRecord": "sdc.release.registry.records",
        "RequestState": "sdc.release.registry.views",
        "Verification": "sdc.release.registry.audit",
        "open_registry": "sdc.release.registry.connect",
        "ruleset_digest": "sdc.release.registry.records",
    },
)

if TYPE_CHECKING:
    from sdc.release.registry.audit import AuditEntry, Verification
    from sdc.release.registry.connect import open_registry
    from sdc.release.registry.interface import Registry
    from sdc.release.registry.records import (
        Action,
        Decision,
        OutputRecord,
        RequestRecord,
        ruleset_digest,
    )
    from sdc.release.registry.views import (
        RecordedDecision,
        ReleasedDefinition,
        ReleaseSummary,
        RequestDetail,
        RequestState,
    )
