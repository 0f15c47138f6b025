"""l-diversity of sensitive variables within each key combination (sdcMicro's ``ldiversity``).

Groups are the records with identical key values; here a missing key value equals
only a missing value (no wildcard, unlike fk). For one sensitive variable in a
group of g records, with non-missing category counts r1 >= r2 >= ... >= rm:

* distinct l: m, plus 1 when the group also holds missing values (and m > 0);
* entropy l: exp(-sum p ln p), p = count / g over the same categories (missing
  values as one category when counted above);
* recursive (c, l): 1 + #{j in 2..m : r1 < c (rj + ... + rm)}, and 1 when m <= 1.

A group whose sensitive values are all missing has l = 0 on every measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

MEASURES = ("distinct", "entropy", "recursive")


@dataclass(frozen=True)
class LDiversity:
    """Per group (distinct key rows, missing kept) l of one sensitive variable."""

    group: np.ndarray  # int64 per record: its group
    first: np.ndarray  # int64 per group: its first record
    distinct: np.ndarray
    entropy: np.ndarray
    recursive: np.ndarray

    def of(self, measure: str) -> np.ndarray:
        return {"distinct": self.distinct, "entropy": self.entropy,
                "recursive": self.recursive}[measure]  # fmt: skip


def sensitive_codes(values: pd.Series) -> np.ndarray:
    """Codes of a sensitive variable, ``-1`` for a missing value."""
    codes, _ = pd.factorize(values, use_na_sentinel=True)
    return np.asarray(codes, dtype=np.int64)


def l_diversity(key_codes: np.ndarray, sensitive: np.ndarray, c: float = 2.0) -> LDiversity:
    """l of one sensitive variable (codes, ``-1`` missing) in each group of identical keys.

    Examples
    --------
    >>> import numpy as np
    >>> keys = np.array([[0], [0], [0], [1], [1]])
    >>> ld = l_diversity(keys, np.array([0, 1, -1, 2, 2]))
    >>> ld.distinct.tolist(), ld.entropy.round(3).tolist(), ld.recursive.tolist()
    ([3, 1], [3.0, 1.0], [2, 1])
    """
    from sdc.kernels.microdata import row_groups

    group, first = row_groups(np.ascontiguousarray(key_codes, dtype=np.int64))
    n_groups = first.size
    size = np.bincount(group, minlength=n_groups).astype(np.float64)
    present = sensitive >= 0
    n_missing = np.bincount(group[~present], minlength=n_groups)
    pairs = np.ascontiguousarray(np.column_stack([group[present], sensitive[present]]))
    pair_id, pair_first = row_groups(pairs) if pairs.shape[0] else (pairs[:, 0], pairs[:, 0])
    pair_count = np.bincount(pair_id, minlength=pair_first.size).astype(np.float64)
    pair_group = pairs[pair_first, 0] if pairs.shape[0] else np.zeros(0, dtype=np.int64)
    m = np.bincount(pair_group, minlength=n_groups)
    with_missing = (n_missing > 0) & (m > 0)
    distinct = m + with_missing
    p = pair_count / size[pair_group]
    h = -np.bincount(pair_group, weights=p * np.log(p), minlength=n_groups)
    pm = np.where(with_missing, n_missing / size, 1.0)
    h -= np.where(with_missing, pm * np.log(pm), 0.0)
    entropy = np.where(m > 0, np.exp(h), 0.0)
    # recursive: counts sorted within each group, largest first
    order = np.lexsort((-pair_count, pair_group))
    g_sorted, c_sorted = pair_group[order], pair_count[order]
    starts = np.flatnonzero(np.r_[True, g_sorted[1:] != g_sorted[:-1]]) if order.size else order
    lengths = np.diff(np.r_[starts, order.size])
    pos = np.arange(order.size) - np.repeat(starts, lengths)
    total = np.bincount(g_sorted, weights=c_sorted, minlength=n_groups)
    before = np.cumsum(c_sorted) - c_sorted - np.repeat(np.cumsum(c_sorted)[starts] -
                                                       c_sorted[starts], lengths)  # fmt: skip
    suffix = total[g_sorted] - before
    r1 = np.repeat(c_sorted[starts], lengths)
    hit = (pos >= 1) & (r1 < c * suffix)
    recursive = np.where(m > 0, 1 + np.bincount(g_sorted[hit], minlength=n_groups), 0)
    return LDiversity(group, first, distinct.astype(np.int64), entropy,
                      recursive.astype(np.int64))  # fmt: skip
