"""Attribute disclosure: a group whose contributors all share one value.

A mean of 123.45 with a standard deviation of 0, a proportion of 1.000, a regression
group whose outcome never varies: whoever is known to be in the group has that value,
however many the group holds. The threshold rule does not see it (the group may be
large); this rule does (ACRO calls its check ``AllSameValuesCheck``: every value in the
cell the same). Measured is the spread, largest minus smallest value, of the cell or group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sdc.rules.base import RuleResult, full


@dataclass(frozen=True)
class AllSameParams:
    """Cells or groups whose contributors all share one value: ``outcome`` "review" (a
    person judges whether that is structural, e.g. a fixed fee) or "fail"."""

    outcome: str = field(default="review", metadata={"choices": ("fail", "review")})


def all_same(ev: object, params: AllSameParams) -> RuleResult:
    """Every contributor shares one value (``ev.spread`` is 0) in a cell of at least two.

    Reads ``ev.spread`` (largest minus smallest value; NaN where nothing is measured) and
    ``ev.contributors``; a single contributor is the threshold rule's concern.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(spread=np.array([0.0, 0.0, 3.5, np.nan]),
    ...                      contributors=np.array([15, 1, 15, 0]), has_contributor=False)
    >>> r = all_same(ev, AllSameParams())
    >>> r.review.tolist(), r.fail.tolist()
    ([True, False, False, False], [False, False, False, False])
    >>> print(r.message(0))
    all 15 record(s) in the cell share one value (largest minus smallest: 0; a standard
    deviation of 0, a proportion of 0 or 1), so the statistic shows each one's value (all-same
    rule); a person must judge whether that may be shown
    """
    spread = np.asarray(ev.spread, dtype=np.float64)  # type: ignore[attr-defined]
    n = np.asarray(ev.contributors, dtype=np.float64)  # type: ignore[attr-defined]
    hit = (n >= 2) & (spread == 0)
    none = np.zeros(hit.shape[0], dtype=bool)
    units = getattr(ev, "units", None)
    unit = "contributor(s)" if getattr(ev, "has_contributor", False) else "record(s)"
    place = getattr(ev, "place", "the cell")
    text = (
        "all {n} " + ("{unit}" if units is not None else unit) + f" in {place} share one "
        "value (largest minus smallest: {measured}; a standard deviation of 0, a proportion "
        "of 0 or 1), so the statistic shows each one's value (all-same rule)"
    )
    extra = {"n": n} | ({} if units is None else {"unit": np.asarray(units, dtype=object)})
    return RuleResult(
        rule="all-same",
        fail=hit if params.outcome == "fail" else none,
        review=hit if params.outcome == "review" else none,
        measured=np.where(np.isnan(spread), np.nan, spread),
        limit=full(hit.shape[0], 0),
        measure="largest minus smallest value",
        fail_text=text,
        review_text=text + "; a person must judge whether that may be shown",
        extra=extra,
    )
