"""Rules on how many contribute to a cell: threshold (minimum cell count) and zeros."""

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
    """A quantile needs at least ``t`` records on each side of it."""

    t: int = field(default=10, metadata={"min": 1})


def quantile(ev: CellEvidence, params: QuantileParams) -> RuleResult:
    """Records below and above a published quantile (median, p25, ...).

    A quantile is one record's value (or the mean of two): with few records on
    one side, the extreme records are nearly pinned down. Measured is the
    smaller side, ``floor(q N)`` or ``floor((1 - q) N)`` of the N records with a
    value. Statistics that are not quantiles pass.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(nonmissing=np.array([0, 30, 50]), statistic="p25")
    >>> r = quantile(ev, QuantileParams(t=10))
    >>> r.fail.tolist(), r.measured.tolist()
    ([False, True, False], [0.0, 7.0, 12.0])
    """
    n = np.asarray(ev.nonmissing)
    q = quantile_of(ev.statistic)
    # In whole percents, so that 1 - 0.9 = 0.0999... does not lose a record (p90 of 100: 10).
    pct = 0 if q is None else round(q * 100)
    below, above = (pct * n) // 100, ((100 - pct) * n) // 100
    side = np.zeros(n.shape[0]) if q is None else np.minimum(below, above).astype(np.float64)
    fail = (n > 0) & (side < params.t) if q is not None else np.zeros(n.shape[0], dtype=bool)
    return RuleResult(
        rule="quantile",
        fail=fail,
        review=np.zeros(n.shape[0], dtype=bool),
        measured=side.astype(np.float64),
        limit=full(n.shape[0], params.t),
        measure="records on the smaller side",
        fail_text=(
            "{measured} record(s) on the smaller side of the quantile; at least {limit} are "
            "required on each side"
        ),
    )
