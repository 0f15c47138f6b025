"""Rules on how many contribute to a cell: threshold (minimum cell count), zeros, and the
contributors around a published quantile."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sdc.rules.base import CellEvidence, RuleResult, full
from sdc.rules.statistic import quantile_of


@dataclass(frozen=True)
class ThresholdParams:
    """Unsafe when 0 < N < ``t``; N is the number of distinct contributors."""

    t: int = field(default=10, metadata={"min": 1})


@dataclass(frozen=True)
class ZerosParams:
    """Empty cells: ``outcome`` "fail" (zeros are disclosive) or "review" (a person decides
    whether the zero is structural, i.e. an impossible combination)."""

    outcome: str = field(default="fail", metadata={"choices": ("fail", "review")})


def threshold(ev: CellEvidence, params: ThresholdParams) -> RuleResult:
    """Minimum number of contributors per cell.

    Counts distinct contributors with a non-missing value (records when no
    contributor column is given); a cell nobody contributes to is left to the
    ``zeros`` rule.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(contributors=np.array([0, 3, 10, 12]), has_contributor=True)
    >>> threshold(ev, ThresholdParams(t=10)).fail.tolist()
    [False, True, False, False]
    """
    n = ev.contributors
    t = params.t
    unit = "contributor(s)" if ev.has_contributor else "record(s)"
    # Outputs that are not tables say what they count, per entry, and where.
    units = getattr(ev, "units", None)
    place = getattr(ev, "place", "the cell")
    extra = {} if units is None else {"unit": np.asarray(units, dtype=object)}
    return RuleResult(
        rule="threshold",
        fail=(n > 0) & (n < t),
        review=np.zeros(n.shape[0], dtype=bool),
        measured=n.astype(np.float64),
        limit=full(n.shape[0], t),
        measure="contributors",
        fail_text=(
            "{measured} " + ("{unit}" if units is not None else unit) + f" in {place}; at least "
            "{limit} are required (threshold rule: unsafe when 0 < N < {limit})"
        ),
        extra=extra,
    )


def zeros(ev: CellEvidence, params: ZerosParams) -> RuleResult:
    """Empty cells, which reveal that nobody has this combination.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(records=np.array([0, 5]))
    >>> zeros(ev, ZerosParams()).fail.tolist()
    [True, False]
    >>> zeros(ev, ZerosParams(outcome="review")).review.tolist()
    [True, False]
    """
    empty = ev.records == 0
    none = np.zeros(empty.shape[0], dtype=bool)
    text = (
        "the cell is empty (0 records); a zero reveals that no one in the population has "
        "this combination unless it is structurally impossible"
    )
    return RuleResult(
        rule="zeros",
        fail=empty if params.outcome == "fail" else none,
        review=empty if params.outcome == "review" else none,
        measured=ev.records.astype(np.float64),
        limit=full(empty.shape[0], 0),
        measure="records",
        fail_text=text,
        review_text=text + "; declare it structural if so",
    )


@dataclass(frozen=True)
class QuantileParams:
    """A published quantile (median, ``p1`` .. ``p99``) must not be one contributor's value.

    At least ``t`` contributors strictly below it and ``t`` strictly above it; and either at
    least ``t`` contributors within the *neighbourhood* of the value (``|x - v| <=
    neighbourhood * |v|``) or, when quantiles are rounded (``significant_figures`` > 0: the
    grid of values they are published on), a value that equals no record's value.
    """

    t: int = field(default=10, metadata={"min": 1})
    neighbourhood: float = field(default=0.05, metadata={"min": 0.0, "max": 1.0})
    significant_figures: int = field(default=3, metadata={"min": 0, "max": 15})


def quantile(ev: CellEvidence, params: QuantileParams) -> RuleResult:
    """Contributors around a published quantile: on each side of it, and next to it.

    A quantile is a record's value (an odd-sized median) or lies between two; with few
    contributors on one side the extremes are nearly pinned down, and a value that is
    one person's, with nobody else near it, is that person's. Reads ``ev.quantile``
    (:class:`~sdc.tables.quantiles.QuantileEvidence`: per cell the contributors below,
    above and within the neighbourhood of the value, and whether a record equals it);
    evidence computed under other neighbourhood or rounding settings cannot be re-judged
    and raises (the table fails). Statistics that are not quantiles pass.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> q = SimpleNamespace(below=np.array([0, 50, 50, 12]), above=np.array([0, 50, 50, 3]),
    ...     near=np.array([0, 1, 1, 8]), exact=np.array([False, True, False, False]),
    ...     neighbourhood=0.05, significant_figures=3)
    >>> ev = SimpleNamespace(nonmissing=np.array([0, 101, 100, 16]), statistic="median",
    ...                      quantile=q)
    >>> r = quantile(ev, QuantileParams(t=10))
    >>> r.fail.tolist(), r.measured.tolist()
    ([False, True, False, True], [0.0, 1.0, 1.0, 3.0])
    >>> print(r.message(1))
    50 contributor(s) below the value and 50 above it; 1 within 5% of it, and a record has
    exactly this value: a quantile needs at least 10 on each side and either 10 within that
    neighbourhood or a value no record has (quantile rule)
    """
    n = np.asarray(ev.nonmissing)
    m = n.shape[0]
    if quantile_of(ev.statistic) is None:
        zero = np.zeros(m)
        return RuleResult("quantile", np.zeros(m, dtype=bool), np.zeros(m, dtype=bool), zero,
                          full(m, params.t), "contributors", "")  # fmt: skip
    q = getattr(ev, "quantile", None)
    if q is None:
        raise ValueError("the table holds a quantile but no evidence of what surrounds it")
    settings = (float(q.neighbourhood), int(q.significant_figures))
    if settings != (params.neighbourhood, params.significant_figures):
        raise ValueError(
            f"its evidence was computed with neighbourhood {settings[0]} and "
            f"{settings[1]} significant figures; the rule set asks for "
            f"{params.neighbourhood} and {params.significant_figures}: make the table again "
            "under this rule set"
        )
    below, above, near = (np.asarray(a, dtype=np.float64) for a in (q.below, q.above, q.near))
    exact = np.asarray(q.exact, dtype=bool)
    side = np.minimum(below, above)
    t = params.t
    sides_fail = (n > 0) & (side < t)
    # Without a grid the value may sit a rounding error from a record: it must have company.
    pinned = (n > 0) & (near < t) & (exact | (params.significant_figures == 0))
    width = f"{100 * params.neighbourhood:.4g}%"
    return RuleResult(
        rule="quantile",
        fail=sides_fail | pinned,
        review=np.zeros(m, dtype=bool),
        measured=np.where(sides_fail, side, near),
        limit=full(m, t),
        measure="contributors on the smaller side, or next to the value",
        fail_text=(
            "{below} contributor(s) below the value and {above} above it; {near} within "
            f"{width} of it, and " + "{equal}: a quantile needs at least {limit} on each side "
            "and either {limit} within that neighbourhood or a value no record has (quantile "
            "rule)"
        ),
        extra={
            "below": below,
            "above": above,
            "near": near,
            "equal": np.where(
                exact, "a record has exactly this value", "no record has exactly this value"
            ).astype(object),
        },  # fmt: skip
    )
