"""Re-identification risk of microdata: fk, Fk, individual, global and household risk.

Definitions follow sdcMicro 5.8.1 (``freqCalc``, ``indivRisk``, ``measure_risk``):

* fk: records sharing the record's key combination; Fk: the sum of their sampling
  weights (the estimated population frequency). A missing key value matches any
  value: with ``alpha`` = 1 every pair of compatible combinations counts fully;
  with ``alpha`` < 1 a complete record counts a partly-missing one only ``alpha``
  times, as does a partly-missing record counting another partly-missing one. A
  record with every key missing gets fk = n (see
  :func:`sdc.kernels.microdata.wildcard_frequencies`).
* individual risk (Benedetti-Franconi, negative binomial model), pk = fk / Fk:
  fk = 1: pk/(1-pk) ln(1/pk); fk = 2: pk/(1-pk) - (pk/(1-pk))^2 ln(1/pk);
  fk > 2 ("approx"): pk / (fk - (1 - pk)); pk = 1 (no weights): 1/fk.
* global risk: ER = sum of the individual risks (expected re-identifications),
  ER / n the rate; household risk 1 - prod(1 - r_j) over a household's members.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdc.microdata.keys import KeyCodes


@dataclass(frozen=True)
class Frequencies:
    """Per record fk and Fk, and the key pattern (distinct row, missing kept) of each record."""

    fk: np.ndarray
    Fk: np.ndarray
    pattern: np.ndarray  # int64 per record: index into ``first``
    first: np.ndarray  # int64 per pattern: its first record
    pattern_fk: np.ndarray  # per pattern (every record of a pattern has the same)
    pattern_Fk: np.ndarray

    def individual_risk(self, survey: bool = True) -> np.ndarray:
        """Each record's individual risk, computed once per pattern."""
        return individual_risk(self.pattern_fk, self.pattern_Fk, survey=survey)[self.pattern]


def frequencies(kc: KeyCodes, weights: np.ndarray | None = None, alpha: float = 1.0) -> Frequencies:
    """fk and Fk of every record (weights 1 when none are given).

    Examples
    --------
    >>> import pandas as pd
    >>> from sdc.microdata.keys import encode
    >>> df = pd.DataFrame({"A": [1, 1, 2, None, 1], "B": [1, 1, 2, None, None]})
    >>> frequencies(encode(df, ["A", "B"], "f")).fk.tolist()
    [3.0, 3.0, 1.0, 5.0, 4.0]
    >>> frequencies(encode(df, ["A", "B"], "f"), alpha=0.5).fk.tolist()
    [2.5, 2.5, 1.0, 5.0, 3.5]
    """
    from sdc.kernels.microdata import row_groups, wildcard_frequencies

    pattern, first = row_groups(kc.codes)
    counts = np.bincount(pattern, minlength=first.size).astype(np.float64)
    w = (
        counts
        if weights is None
        else np.bincount(pattern, weights=weights, minlength=first.size).astype(np.float64)
    )
    patterns = np.ascontiguousarray(kc.codes[first])
    if (patterns < 0).any():
        fk_p, Fk_p = wildcard_frequencies(patterns, counts, w, float(alpha))
    else:
        fk_p, Fk_p = counts, w
    return Frequencies(fk_p[pattern], Fk_p[pattern], pattern, first, fk_p, Fk_p)


def individual_risk(
    fk: np.ndarray, Fk: np.ndarray, method: str = "approx", survey: bool = True
) -> np.ndarray:
    """Benedetti-Franconi individual risk per record (sdcMicro's ``indivRisk``, qual = 1).

    ``method``: "approx" (sdcMicro's default) or "exact". ``survey=False``: 1/fk.

    Examples
    --------
    >>> import numpy as np
    >>> individual_risk(np.array([1.0, 2.0, 4.0]), np.array([1.0, 2.0, 4.0])).tolist()
    [1.0, 0.5, 0.25]
    >>> individual_risk(np.array([1.0]), np.array([73.0])).round(8).tolist()  # ln(73) / 72
    [0.05958971]
    """
    fk = np.asarray(fk, dtype=np.float64)
    Fk = np.asarray(Fk, dtype=np.float64)
    if not survey:
        return 1.0 / fk
    with np.errstate(divide="ignore", invalid="ignore"):
        pk = fk / Fk
        odds = pk / (1.0 - pk)
        log_inv = np.log(1.0 / pk)
        r = np.zeros(fk.size, dtype=np.float64)
        one, two, more = fk == 1, fk == 2, fk > 2
        r[one] = (odds * log_inv)[one]
        r[two] = (odds - odds**2 * log_inv)[two]
        if method == "approx":
            r[more] = (pk / (fk - (1.0 - pk)))[more]
        else:
            r[more] = _exact(fk[more], pk[more])
    equal = fk == Fk
    r[equal] = 1.0 / fk[equal]
    return r


def _exact(fk: np.ndarray, pk: np.ndarray) -> np.ndarray:
    """The exact negative-binomial risk for fk > 2 (sdcMicro's "exact"), per distinct pair."""
    out = np.empty(fk.size, dtype=np.float64)
    pairs, inverse = np.unique(np.column_stack([fk, pk]), axis=0, return_inverse=True)
    values = np.empty(pairs.shape[0], dtype=np.float64)
    for t, (f, p) in enumerate(pairs):
        n = round(float(f))
        a = (p ** (1 - f) - 1.0) / (f - 1.0)
        total, prod = 1.0, 1.0
        for m in range(n - 2):
            i = m
            b = (
                (f - 1 - i) ** 2
                / ((i + 1) * (f - 2 - i))
                * ((p ** (i + 2 - f) - 1.0) / (p ** (i + 1 - f) - 1.0))
            )
            prod *= b
            total += (-1) ** (m + 1) * prod
        values[t] = (p / (1 - p)) ** f * (a * total + (-1) ** n * np.log(p))
    out[:] = values[np.asarray(inverse).ravel()]
    return out


def risk_threshold(r: np.ndarray, max_global_risk: float) -> float | None:
    """The individual-risk threshold that brings the global risk under ``max_global_risk``.

    The mu-Argus rule of sdcMicro's ``measure_risk``: ``None`` when the global risk
    is already below the target; 0 when no threshold reaches it.

    Examples
    --------
    >>> import numpy as np
    >>> risk_threshold(np.array([0.5, 0.5, 0.1, 0.1]), 0.2)
    0.1
    >>> risk_threshold(np.array([0.01, 0.01]), 0.5) is None
    True
    """
    asc = np.sort(np.asarray(r, dtype=np.float64))
    target = max_global_risk * asc.size
    if asc.sum() < target:
        return None
    cums = np.cumsum(asc)
    values = np.unique(asc)[::-1]  # distinct risks, highest first
    at_or_below = np.searchsorted(asc, values[1:], side="right")
    above = asc.size - at_or_below
    sums = cums[at_or_below - 1] + values[1:] * above
    hit = np.flatnonzero(sums < target)
    return float(values[1:][hit[0]]) if hit.size else 0.0


def household_risk(r: np.ndarray, household: np.ndarray) -> np.ndarray:
    """Each record's household risk: 1 - prod(1 - r_j) over the members of its household.

    Examples
    --------
    >>> import numpy as np
    >>> household_risk(np.array([0.5, 0.5, 0.2]), np.array([0, 0, 1])).round(12).tolist()
    [0.75, 0.75, 0.2]
    """
    with np.errstate(divide="ignore"):
        log_safe = np.log1p(-np.minimum(r, 1.0))
    sums = np.bincount(household, weights=log_safe)
    return 1.0 - np.exp(sums[household])


def risky_records(r: np.ndarray, c: float = 2.0, floor: float = 0.1) -> int:
    """Records whose risk is above median + c MAD (R's ``mad``, 1.4826 x) and above ``floor``.

    Examples
    --------
    >>> import numpy as np
    >>> risky_records(np.array([0.01] * 9 + [0.5]))
    1
    """
    med = float(np.median(r))
    mad = 1.4826 * float(np.median(np.abs(r - med)))
    return int(((r > med + c * mad) & (r > floor)).sum())
