"""Tables: frequency and magnitude tables, histograms and summary statistics.

Owns tabulation (level codes, hierarchies, the ``TableModel``), the evidence of
every cell and its merge, the published statistics, the rule checks, and the
table as the user sees it: its verdict, its protection (stated for
:mod:`sdc.protection`) and linked tables. May import the core (exceptions,
verdict, ruleset, outputs, plots), ``sdc.rules``, ``sdc.kernels`` and
``sdc.protection``; never another output kind, the release layer or the session.
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "Description": "sdc.tables.describe",
        "LinkedTable": "sdc.tables.linked",
        "ProtectedTable": "sdc.tables.protected",
        "TableEvidence": "sdc.tables.evidence",
        "TableModel": "sdc.tables.model",
        "TableOutput": "sdc.tables.output",
        "compute_evidence": "sdc.tables.evidence",
        "merge": "sdc.tables.evidence",
        "merge_all": "sdc.tables.evidence",
        "partition_by_contributor": "sdc.tables.evidence",
    },
)

if TYPE_CHECKING:
    from sdc.tables.describe import Description
    from sdc.tables.evidence import (
        TableEvidence,
        compute_evidence,
        merge,
        merge_all,
        partition_by_contributor,
    )
    from sdc.tables.linked import LinkedTable
    from sdc.tables.model import TableModel
    from sdc.tables.output import TableOutput
    from sdc.tables.protected import ProtectedTable
