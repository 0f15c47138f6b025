"""Global recoding: which categories to merge, and sdcMicro's ``globalRecode`` of numbers.

:func:`recoding_suggestions` tries, for each key, merging one category with a
neighbour (numbers and ordered categories: the adjacent level; other keys: the
rarest levels with every other level) and reports how many records would still
break k-anonymity after each merge, best first. Each try recounts the distinct
key patterns, not the records, so it costs O(patterns) per candidate.

:func:`global_recode` bands a numeric variable as R's ``cut`` does in sdcMicro:
right-closed intervals (a, b], the lowest one closed when the breaks are computed
("equidistant": ``seq(min - 1, max + 1, length = b + 1)``; "logEqui": the same on
the log scale, ``exp(seq(log(min) - 1, log(max) + 1, ...))``), rounded to whole
numbers unless that makes two breaks equal.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sdc._validation import input_error, int_like
from sdc.microdata.keys import KeyCodes

METHODS = ("equidistant", "logEqui")


def _breaks(values: np.ndarray, b: int, method: str) -> np.ndarray:
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    if method == "equidistant":
        br = np.linspace(lo - 1, hi + 1, b + 1)
    else:
        if lo <= 0:
            raise input_error("values", "global_recode", "positive for method 'logEqui'", lo)
        br = np.exp(np.linspace(np.log(lo) - 1, np.log(hi) + 1, b + 1))
    rounded = np.round(br)
    return rounded if np.unique(rounded).size == rounded.size else br


def _num(x: float) -> str:
    return f"{x:.8g}"


def global_recode(
    values: Any,
    breaks: int | Sequence[float],
    *,
    method: str = "equidistant",
    labels: Sequence[Any] | None = None,
) -> pd.Series:
    """Band a numeric variable into intervals (a, b] (R's ``cut``, as sdcMicro calls it).

    ``breaks``: the interval edges, or a number of intervals whose edges ``method``
    computes (then the lowest interval is closed: ``[a, b]``). Values outside the
    edges (or at the lowest given edge) become missing.

    Examples
    --------
    >>> import pandas as pd
    >>> global_recode(pd.Series([1, 3, 4, 9]), 3).value_counts(sort=False).to_dict()
    {'[0, 3]': 2, '(3,7]': 1, '(7,10]': 1}
    >>> global_recode(pd.Series([1, 9, 10]), [1, 9, 19], labels=["low", "high"]).tolist()
    [nan, 'low', 'high']
    """
    func = "global_recode"
    x = pd.to_numeric(pd.Series(values), errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(x).all():
        raise input_error("values", func, "numbers, not all missing", "no numeric value")
    if method not in METHODS:
        raise input_error("method", func, f"one of {list(METHODS)}", method)
    if isinstance(breaks, (int, np.integer)) and not isinstance(breaks, bool):
        b = int_like(breaks, "breaks", func, minimum=1)
        edges = _breaks(x, b, method)
        lowest = True
    else:
        edges = np.asarray(list(breaks), dtype=np.float64)  # type: ignore[arg-type]
        if edges.size < 2 or not np.all(np.diff(edges) > 0):
            raise input_error("breaks", func, "increasing edges (at least two)", breaks)
        lowest = False
    n_bins = edges.size - 1
    if labels is None:
        names = [f"({_num(a)},{_num(b)}]" for a, b in itertools.pairwise(edges)]
        if lowest:
            names[0] = f"[{_num(edges[0])}, {_num(edges[1])}]"
    else:
        names = list(labels)
        if len(names) != n_bins:
            raise input_error("labels", func, f"{n_bins} labels, one per interval", len(names))
    idx = np.searchsorted(edges, x, side="left") - 1
    if lowest:
        idx[x == edges[0]] = 0
    ok = ~np.isnan(x) & (idx >= 0) & (idx < n_bins)
    codes = np.where(ok, idx, -1)
    cat = pd.Categorical.from_codes(codes, categories=pd.Index(names), ordered=True)
    return pd.Series(cat, name=getattr(values, "name", None))


def _violations(patterns: np.ndarray, counts: np.ndarray, k: int) -> int:
    from sdc.kernels.microdata import row_groups, wildcard_frequencies

    ids, first = row_groups(np.ascontiguousarray(patterns))
    merged = np.bincount(ids, weights=counts, minlength=first.size)
    distinct = np.ascontiguousarray(patterns[first])
    if (distinct < 0).any():
        fk, _ = wildcard_frequencies(distinct, merged, merged, 1.0)
    else:
        fk = merged
    return int(merged[fk < k].sum())


def recoding_suggestions(
    kc: KeyCodes, k: int, *, ordered: Sequence[str] = (), max_levels: int = 8
) -> pd.DataFrame:
    """Merges of two categories of one key, with the records below ``k`` after each.

    ``ordered``: keys whose levels have an order (numbers always do): only
    neighbours are merged. Other keys: each of the ``max_levels`` rarest levels
    with every other level. Keys of two levels are left alone (merging them drops
    the key). Sorted by records still below k, then by key.

    Examples
    --------
    >>> import pandas as pd
    >>> from sdc.microdata.keys import encode
    >>> df = pd.DataFrame({"age": [20, 20, 30, 30, 40], "sex": list("FFFFF")})
    >>> s = recoding_suggestions(encode(df, ["age", "sex"], "f"), 2)
    >>> s.iloc[0].to_dict()
    {'key': 'age', 'merge': '30 + 40', 'below_k_before': 1, 'below_k_after': 0}
    """
    from sdc.kernels.microdata import row_groups

    ids, first = row_groups(kc.codes)
    counts = np.bincount(ids, minlength=first.size).astype(np.float64)
    patterns = np.ascontiguousarray(kc.codes[first])
    before = _violations(patterns, counts, k)
    rows = []
    for j, key in enumerate(kc.keys):
        levels = kc.levels[j]
        if len(levels) < 3:  # merging the only two levels would drop the key
            continue
        numeric = all(isinstance(v, (int, float, np.integer, np.floating)) for v in levels)
        if numeric or key in ordered:
            pairs = [(a, a + 1) for a in range(len(levels) - 1)]
        else:
            seen = patterns[:, j] >= 0
            freq = np.bincount(patterns[seen, j], weights=counts[seen], minlength=len(levels))
            rare = np.argsort(freq, kind="stable")[:max_levels]
            pairs = sorted({(min(int(a), b), max(int(a), b)) for a in rare
                            for b in range(len(levels)) if b != a})  # fmt: skip
        for a, b in pairs:
            trial = patterns.copy()
            trial[trial[:, j] == b, j] = a
            after = _violations(trial, counts, k)
            rows.append({"key": key, "merge": f"{levels[a]} + {levels[b]}",
                         "below_k_before": before, "below_k_after": after})  # fmt: skip
    out = pd.DataFrame(rows, columns=["key", "merge", "below_k_before", "below_k_after"])
    return out.sort_values(["below_k_after", "key"], kind="stable").reset_index(drop=True)
