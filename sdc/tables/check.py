"""Apply a rule set to table evidence: which cells fail, which need review, and why."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np

from sdc._text import lookalikes
from sdc.rules import RULES, RuleResult
from sdc.ruleset import RuleSet
from sdc.tables.evidence import TableEvidence
from sdc.verdict import Status


@dataclass
class RuleView:
    """What rules read: the evidence arrays, absent contributors as 0, plus the statistic.

    Not frozen, so that it satisfies the ``CellEvidence`` protocol's plain attributes.
    """

    records: np.ndarray
    nonmissing: np.ndarray
    contributors: np.ndarray
    negatives: np.ndarray
    missing: np.ndarray
    sum: np.ndarray
    abs_sum: np.ndarray
    top: np.ndarray
    spread: np.ndarray
    quantile: Any
    statistic: str
    has_contributor: bool

    @classmethod
    def of(cls, ev: TableEvidence, statistic: str) -> RuleView:
        with np.errstate(invalid="ignore"):
            spread = np.where(ev.nonmissing > 0, ev.max - ev.min, np.nan)
        return cls(
            records=ev.records, nonmissing=ev.nonmissing, contributors=ev.contributors,
            negatives=ev.negatives, missing=ev.missing, sum=ev.sum, abs_sum=ev.abs_sum,
            top=ev.top_or_zero(), spread=spread, quantile=ev.quantile, statistic=statistic,
            has_contributor=ev.has_contributor,
        )  # fmt: skip


@dataclass(frozen=True)
class TableCheck:
    """Rule results for every cell of a table, and the table-level reasons (errors).

    ``fail``/``review`` cover every cell of the cube; only published cells count
    towards the verdict.
    """

    evidence: TableEvidence
    statistic: str
    ruleset: RuleSet
    results: tuple[RuleResult, ...]
    errors: tuple[str, ...] = ()
    #: What a person must look at besides the rules' findings (labels that look alike).
    notes: tuple[str, ...] = ()

    @cached_property
    def fail(self) -> np.ndarray:
        out = np.zeros(self.evidence.n_cells, dtype=bool)
        for r in self.results:
            out |= r.fail
        return out & self.evidence.model.published_mask

    @cached_property
    def review(self) -> np.ndarray:
        out = np.zeros(self.evidence.n_cells, dtype=bool)
        for r in self.results:
            out |= r.review
        return out & self.evidence.model.published_mask & ~self.fail

    @property
    def status(self) -> Status:
        if self.errors or self.fail.any():
            return Status.FAIL
        return Status.REVIEW if self.review.any() or self.notes else Status.PASS


def check_evidence(
    ev: TableEvidence, statistic: str, ruleset: RuleSet, structural: np.ndarray | None = None
) -> TableCheck:
    """Run every rule the rule set names for ``statistic``; a rule that errs fails the table.

    ``structural``: cells declared structurally impossible (see
    :mod:`sdc.tables.structural`), which the ``zeros`` rule leaves alone.

    Examples
    --------
    >>> import numpy as np
    >>> from sdc.tables.model import TableModel
    >>> from sdc.tables.evidence import compute_evidence
    >>> tm = TableModel(("g",), (("a", "b"),), n_rows=1, margins=False)
    >>> ev = compute_evidence(np.array([[0]] * 12 + [[1]] * 3), tm)
    >>> chk = check_evidence(ev, "count", RuleSet.load("default"))
    >>> chk.status, [tm.labels(int(c)) for c in np.flatnonzero(chk.fail)]
    (<Status.FAIL: 'fail'>, [{'g': 'b'}])
    """
    view = RuleView.of(ev, statistic)
    results: list[RuleResult] = []
    errors: list[str] = []
    for rule_id in ruleset.rules_for(statistic):
        try:
            results.append(RULES[rule_id](view, ruleset.params[rule_id]))
        except Exception as exc:  # fail closed: a rule that cannot decide fails the table
            errors.append(f"rule {rule_id!r} could not be evaluated: {exc}")
    if structural is not None and structural.any():
        from sdc.tables.structural import apply

        kept, wrong = apply(results, structural, ev.records)
        results, errors = list(kept), [*errors, *wrong]
    return TableCheck(ev, statistic, ruleset, tuple(results), tuple(errors), label_notes(ev))


def label_notes(ev: TableEvidence) -> tuple[str, ...]:
    """Labels of the table that could be mistaken for others (see :func:`sdc._text.lookalikes`).

    Examples
    --------
    >>> import numpy as np
    >>> from sdc.tables.model import TableModel
    >>> from sdc.tables.evidence import compute_evidence
    >>> tm = TableModel(("g",), (("N", "\uff2e"),), n_rows=1, margins=False)
    >>> print(label_notes(compute_evidence(np.array([[0], [1]]), tm))[0][:34])
    labels 'N' and '\\uff2e' look alike
    """
    texts = [str(x) for d in range(len(ev.model.dims)) for x in ev.model.dim_labels(d)]
    return tuple(
        f"{a}: a person must check that they are what they seem" for a in lookalikes(texts)
    )
