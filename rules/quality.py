"""Rules on the measured values themselves: negative and missing values."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sdc.rules.base import CellEvidence, RuleResult, full


@dataclass(frozen=True)
class NegativeParams:
    """Cells with negative contributions: ``outcome`` "review" (default) or "fail"."""

    outcome: str = field(default="review", metadata={"choices": ("fail", "review")})


@dataclass(frozen=True)
class MissingParams:
    """Cells with missing values in the measured variable: ``outcome`` "review" or "fail"."""

    outcome: str = field(default="review", metadata={"choices": ("fail", "review")})


def _count_rule(rule: str, count: np.ndarray, outcome: str, measure: str, text: str) -> RuleResult:
    hit = count > 0
    none = np.zeros(hit.shape[0], dtype=bool)
    return RuleResult(
        rule=rule,
        fail=hit if outcome == "fail" else none,
        review=hit if outcome == "review" else none,
        measured=count.astype(np.float64),
        limit=full(hit.shape[0], 0),
        measure=measure,
        fail_text=text,
        review_text=text,
    )


def negative(ev: CellEvidence, params: NegativeParams) -> RuleResult:
    """Negative values make dominance rules meaningless: a person must look.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> negative(SimpleNamespace(negatives=np.array([0, 2])), NegativeParams()).review.tolist()
    [False, True]
    """
    return _count_rule(
        "negative",
        ev.negatives,
        params.outcome,
        "negative values",
        "{measured} negative value(s) in the cell; dominance rules cannot protect cells with "
        "mixed signs, so check the contributions",
    )


def missing(ev: CellEvidence, params: MissingParams) -> RuleResult:
    """Missing values: the statistic covers fewer records than the cell count suggests.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> missing(SimpleNamespace(missing=np.array([1, 0])), MissingParams()).review.tolist()
    [True, False]
    """
    return _count_rule(
        "missing",
        ev.missing,
        params.outcome,
        "missing values",
        "{measured} missing value(s) in the measured variable of this cell; the statistic "
        "covers fewer records than the cell holds",
    )
