"""What a table made from a non-pandas source is, and how its merged evidence is checked.

Partial evidence comes from partitions, batches or files, each with its own levels;
:func:`finish` puts the merged evidence in the pandas path's level order and runs the
same check, so the table, findings and report are those of ``Session.pivot_table`` on
the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sdc._validation import input_error
from sdc.ruleset import RuleSet
from sdc.tables.check import check_evidence
from sdc.tables.evidence import TableEvidence, relabel
from sdc.tables.factorize import MISSING_LABEL, sort_levels
from sdc.tables.model import TOTAL_LABEL, TableModel
from sdc.tables.output import TableOutput
from sdc.tables.statistics import COUNTS, from_evidence

#: Statistics whose cells follow from the evidence alone (partial evidence merges).
MERGEABLE = ("count", "sum", "mean", "min", "max")


@dataclass(frozen=True)
class TableSpec:
    """The table asked for: grouping columns (row dimensions first), value, contributor.

    ``declared``: per dimension, whether its levels have a declared order (categorical
    columns, Arrow dictionaries) kept as it is instead of sorted.
    """

    dims: tuple[str, ...]
    n_rows: int
    values: str | None
    contributor: str | None
    statistic: str
    margins: bool
    top_k: int
    declared: tuple[bool, ...] = ()

    @property
    def columns(self) -> list[str]:
        """Every column the table reads, once each."""
        extra = [c for c in (self.values, self.contributor) if c is not None]
        return list(dict.fromkeys([*self.dims, *extra]))

    def empty_model(self) -> TableModel:
        return TableModel(self.dims, tuple(() for _ in self.dims), self.n_rows, self.margins)


def check_statistic(statistic: str, func: str) -> None:
    """Only statistics read from the evidence can be made from partitions."""
    if statistic not in MERGEABLE:
        raise input_error(
            "aggfunc", func, f"one of {list(MERGEABLE)} for data that is not a pandas DataFrame",
            statistic, "Other statistics need all rows in one process: compute them in pandas.",
        )  # fmt: skip


def canonical_levels(ev: TableEvidence, spec: TableSpec) -> list[list[Any]]:
    """Levels as the pandas path orders them: sorted, the missing level last, unless declared."""
    out = []
    for d, levels in enumerate(ev.model.levels):
        declared = spec.declared[d] if spec.declared else False
        out.append(list(levels) if declared else sort_levels(list(levels)))
    return out


def finish(
    ev: TableEvidence | None, spec: TableSpec, ruleset: RuleSet, name: str, protect: bool,
    func: str,
) -> TableOutput:  # fmt: skip
    """Check merged evidence as ``tabulate`` checks evidence computed in one process."""
    if ev is None or int(ev.records.max(initial=0)) == 0:
        raise input_error("data", func, "non-empty", "0 rows", "There is nothing to tabulate.")
    for d, levels in zip(spec.dims, ev.model.levels, strict=True):
        clash = TOTAL_LABEL if spec.margins and TOTAL_LABEL in levels else None
        if clash is None and list(levels).count(MISSING_LABEL) > 1:
            clash = MISSING_LABEL
        if clash is not None:
            raise input_error(
                "index/columns", func, f"free of the reserved label {clash!r}",
                f"column {d!r} has a level {clash!r}", "Rename that level first.",
            )  # fmt: skip
    ev = relabel(ev, canonical_levels(ev, spec))
    check = check_evidence(ev, spec.statistic, ruleset)
    values = from_evidence(ev, spec.statistic)
    value_name = (
        spec.values if spec.values is not None and spec.statistic not in COUNTS else spec.statistic
    )
    return TableOutput(name, check, np.asarray(values), value_name, protect)
