"""SUDA2: special uniques, their scores and the DIS score (sdcMicro's ``suda2``).

A *minimal sample unique* (MSU) of a record is a set S of key variables on which
the record's values occur once in the data while no proper subset of S has that
property. A record unique on few keys is a *special unique*: easy to find. With
m keys (at least 3: fewer are padded with constant keys, as sdcMicro does):

* score = sum over the record's MSUs of w(|S|), w(k) = (m - k)! (Elliot et al.,
  sdcMicro's default), or (2^(m-k) - 1) k! (m-k)! / m! with ``original_scores=False``;
* attribute contribution of key v = 100 x (sum over records of the weights of the
  MSUs holding v) / (sum of all scores);
* DIS score (data intrusion simulation) of a record with score > 0:
  1 / (1 + (U/Dis - U) / (score^Q A)), where U is the number of sample uniques on
  all keys, P of records whose key occurs twice, Dis = U DF / (U DF + P (1 - DF))
  (single precision, DF = ``dis_fraction``), Q = 1 + (8 - m)/20 and A the sum of
  score^-Q over the records with score > 0.

How it scales: only records unique on all keys can have an MSU. The search
visits every subset of at most ``max_size`` keys once, each by refining the
groups of its parent subset over the distinct key patterns (P of them, at most
n): O(P x sum_{s <= max_size} C(m, s)) time, and O(U x 2^m / 8) bytes of bit
masks for the U sample uniques. It is refused beyond ``MAX_KEYS`` keys or when
the estimated work exceeds ``max_work``, with the numbers and the fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sdc._validation import input_error
from sdc.microdata.keys import KeyCodes

#: The subset masks of more keys would not fit in memory for large data.
MAX_KEYS = 16
#: Default budget (pattern-subset refinements plus mask checks), about a minute on one core.
MAX_WORK = 4e10


@dataclass(frozen=True)
class SudaResult:
    """Per record scores and DIS scores; per key attribute contributions (percent)."""

    score: np.ndarray
    dis_score: np.ndarray
    msu_count: np.ndarray
    smallest_msu: np.ndarray  # keys in the record's smallest MSU, 0 when it has none
    contributions: dict[str, float]
    subsets_visited: int


def size_weights(m: int, original_scores: bool = True) -> np.ndarray:
    """The weight of an MSU of k keys, k = 0..m.

    Examples
    --------
    >>> size_weights(4).tolist()
    [24.0, 6.0, 2.0, 1.0, 1.0]
    >>> size_weights(4, original_scores=False).tolist()[1:]
    [1.75, 0.5, 0.25, 0.0]
    """
    k = np.arange(m + 1)
    if original_scores:
        return np.array([float(math.factorial(m - i)) for i in k])
    return np.array(
        [(2.0 ** (m - i) - 1) * math.factorial(i) * math.factorial(m - i) / math.factorial(m)
         for i in k]
    )  # fmt: skip


def work_estimate(n_patterns: int, n_uniques: int, m: int, max_size: int) -> float:
    """Refinements over the patterns plus subset-mask checks of the sample uniques."""
    subsets = sum(math.comb(m, s) for s in range(1, min(max_size, m) + 1))
    return float(n_patterns) * subsets + float(n_uniques) * (2**m) * m


def suda2(
    kc: KeyCodes,
    *,
    original_scores: bool = True,
    dis_fraction: float = 0.01,
    max_size: int | None = None,
    max_work: float = MAX_WORK,
    func: str = "suda2",
) -> SudaResult:
    """SUDA2 scores of every record (missing key values never form part of an MSU).

    Examples
    --------
    >>> import pandas as pd
    >>> from sdc.microdata.keys import encode
    >>> df = pd.DataFrame({"a": [1, 1, 2, 2], "b": [1, 2, 1, 1], "c": [1, 1, 1, 2]})
    >>> r = suda2(encode(df, ["a", "b", "c"], "f"))
    >>> r.score.tolist(), r.smallest_msu.tolist()
    ([1.0, 2.0, 1.0, 2.0], [2, 1, 2, 1])
    """
    from sdc.kernels.microdata import row_groups, suda_scores

    m = len(kc.keys)
    if m > MAX_KEYS:
        raise input_error("keys", func, f"at most {MAX_KEYS} key variables for SUDA2", m,
                          "SUDA2 visits every subset of the keys; use fewer keys.")  # fmt: skip
    size = m if max_size is None else int(max_size)
    if size < 1:
        raise input_error("max_size", func, "an integer >= 1", max_size)
    pattern, first = row_groups(kc.codes)
    counts = np.bincount(pattern, minlength=first.size).astype(np.int64)
    n_uniques = int((counts == 1).sum())
    work = work_estimate(first.size, n_uniques, m, size)
    if work > max_work:
        raise input_error(
            "keys", func, f"a SUDA2 search within {max_work:.3g} steps",
            f"{work:.3g} steps ({first.size} key patterns, {n_uniques} sample uniques, {m} keys)",
            "Use fewer key variables, a smaller max_size, or raise max_work.",
        )  # fmt: skip
    m_eff = max(m, 3)
    weights = size_weights(m_eff, original_scores)
    patterns = np.ascontiguousarray(kc.codes[first])
    score_p, contrib_p, n_msu_p, smallest_p, visited = suda_scores(
        patterns, counts, kc.cards, weights, size, 4 * first.size + 1024
    )
    # Scores are per pattern; only patterns of one record score, so sums over records
    # with a positive score are sums over those patterns.
    u = float(n_uniques)
    twice = float(counts[counts == 2].sum())
    q = 1.0 + (8 - m_eff) / 20.0
    positive = score_p > 0
    dis_p = np.zeros(score_p.size)
    if positive.any():  # then u > 0
        dis = np.float32(u * dis_fraction) / np.float32(
            u * dis_fraction + twice * (1 - dis_fraction)
        )
        a = float(np.sum(score_p[positive] ** (-q)))
        dis_p[positive] = 1.0 / (1.0 + (u / float(dis) - u) / (score_p[positive] ** q * a))
    total = float(score_p[positive].sum())
    per_key = contrib_p[positive].sum(axis=0) if total > 0 else np.zeros(m)
    contributions = {
        key: (100.0 * float(per_key[j]) / total if total > 0 else 0.0)
        for j, key in enumerate(kc.keys)
    }
    return SudaResult(
        score_p[pattern], dis_p[pattern], n_msu_p[pattern], smallest_p[pattern], contributions,
        int(visited),
    )  # fmt: skip
