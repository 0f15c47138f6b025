"""Statistics that may not be released at all for a kind of output."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
from sdc.rules.base import CellEvidence, RuleResult, full

#: Percentiles are named ``p1`` .. ``p99`` (``p50`` is the median).
_PERCENTILE = re.compile(r"p([1-9][0-9]?)")


def quantile_of(statistic: str) -> float | None:
    """The quantile a statistic publishes (``median``: 0.5, ``p25``: 0.25), else None."""
    if statistic == "median":
        return 0.5
    m = _PERCENTILE.fullmatch(statistic)
    return int(m.group(1)) / 100 if m else None


def statistic_class(statistic: str) -> str:
    """The rule set's ``[statistics]`` entry for a statistic: percentiles share ``quantile``."""
    return "quantile" if _PERCENTILE.fullmatch(statistic) else statistic


_WHY = {
    "min": "a raw minimum is one individual's value",
    "max": "a raw maximum is one individual's value",
    "mode": "a mode is a value held by identifiable individuals",
}


@dataclass(frozen=True)
class StatisticParams:
    """Statistics refused outright (raw extremes and modes by default)."""

    refused: tuple[str, ...] = ("min", "max", "mode")


def statistic(ev: CellEvidence, params: StatisticParams) -> RuleResult:
    """Fail every non-empty cell of a table whose statistic is refused.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(records=np.array([0, 4]), statistic="max")
    >>> statistic(ev, StatisticParams()).fail.tolist()
    [False, True]
    >>> ev.statistic = "mean"
    >>> statistic(ev, StatisticParams()).fail.tolist()
    [False, False]
    """
    n = ev.records.shape[0]
    stat = ev.statistic
    refused = stat in params.refused
    fail = (ev.records > 0) & refused
    why = _WHY.get(stat, "the rule set refuses it")
    return RuleResult(
        rule="statistic",
        fail=fail,
        review=np.zeros(n, dtype=bool),
        measured=np.full(n, np.nan),
        limit=np.full(n, np.nan) if refused else full(n, 0),
        measure="statistic",
        fail_text=f"the statistic '{stat}' may not be released: {why}",
    )
