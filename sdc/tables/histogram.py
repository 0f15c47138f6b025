"""Histograms: bins are counts, checked as a one-dimensional count table.

Bin edges computed from the data would publish its minimum and maximum (one
person's values), and so would a closed end bin of whole numbers (``[16, 17)``
holds only 16s). So the end bins are always open, published as ``< a`` and
``>= b``, and every published edge lies strictly inside the data's range: the
extremes are never edges, and an end bin never says how far it reaches. The
default cut points are multiples of a round width (1, 2, 2.5 or 5 times a power
of ten); edges the analyst gives are used as cut points, except those at or
beyond the data's minimum or maximum, which are left out (no value is dropped).
Missing values get a bin of their own. Each bin is checked with the rule set's
``histogram`` rules (threshold; empty bins are allowed by default).
``rebin=True`` merges each bin with fewer than ``t`` records into its
neighbour until every non-empty bin has at least ``t``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import numpy as np
import pandas as pd

from sdc._validation import input_error, numeric_values
from sdc.outputs import round_step


def nice_edges(values: np.ndarray, bins: int) -> np.ndarray:
    """About ``bins`` equal bins of a round width covering every finite value.

    >>> nice_edges(np.array([3.2, 17.9, 41.0]), 4).tolist()
    [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.array([0.0, 1.0])
    lo, hi = float(finite.min()), float(finite.max())
    width = round_step((hi - lo) / bins)  # one value, or a span too small: 1
    start = math.floor(lo / width) * width
    while start > lo:  # lo / width can round towards zero
        start -= width
    n = max(1, math.floor((hi - start) / width) + 1)  # bins are [a, b): hi needs its own
    while start + n * width <= hi:
        n += 1
    return start + width * np.arange(n + 1)


def inner_cuts(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """The edges strictly between the smallest and the largest finite value.

    >>> inner_cuts(np.array([0.0, 3.0, 16.0]), np.arange(0.0, 18.0, 4.0)).tolist()
    [4.0, 8.0, 12.0]
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.asarray(edges, dtype=np.float64)[:0]
    edges = np.asarray(edges, dtype=np.float64)
    return edges[(edges > finite.min()) & (edges < finite.max())]


def _num(x: float) -> str:
    return f"{x:.10g}"


def labels_of(cuts: np.ndarray) -> list[str]:
    """The bins' labels: ``< a``, ``[a, b)`` .., ``>= z`` (one bin, ``all values``, without cuts).

    >>> labels_of(np.array([2.0, 5.0, 14.0]))
    ['< 2', '[2, 5)', '[5, 14)', '>= 14']
    """
    if cuts.size == 0:
        return ["all values"]
    inner = [f"[{_num(a)}, {_num(b)})" for a, b in pairwise(cuts)]
    return [f"< {_num(cuts[0])}", *inner, f">= {_num(cuts[-1])}"]


def bin_labels(values: np.ndarray, cuts: np.ndarray) -> pd.Categorical[str]:
    """Each value's bin as an ordered categorical (open end bins), missing as NaN."""
    labels = labels_of(cuts)
    idx = np.searchsorted(cuts, values, side="right")  # [a, b)
    out = np.asarray(labels, dtype=object)[np.minimum(idx, len(labels) - 1)]
    out[np.isnan(values)] = None  # missing: its own level when tabulated
    return pd.Categorical(out, categories=labels, ordered=True)


def bin_counts(values: np.ndarray, cuts: np.ndarray) -> np.ndarray:
    """Records in each bin, the two open end bins included (missing values left out)."""
    idx = np.searchsorted(cuts, values[~np.isnan(values)], side="right")
    return np.bincount(idx, minlength=cuts.size + 1)


def open_edges(cuts: np.ndarray) -> np.ndarray:
    """The cut points with the open ends, ``-inf`` and ``inf``, for :func:`rebin`."""
    return np.r_[-np.inf, cuts, np.inf]


def rebin(edges: np.ndarray, counts: np.ndarray, t: int) -> np.ndarray:
    """Edges with every bin of 1..t-1 records merged into the bins after it (a tail: before).

    >>> rebin(np.array([0, 1, 2, 3, 4, 5]), np.array([12, 3, 4, 11, 2]), 10).tolist()
    [0, 1, 5]
    >>> rebin(np.array([0, 1, 2, 3]), np.array([12, 0, 15]), 10).tolist()  # empty bins stay
    [0, 1, 2, 3]
    """
    keep = [0]
    acc = 0
    for i, c in enumerate(counts):
        acc += int(c)
        if acc == 0 or acc >= t:  # an empty bin stays a bin of its own
            keep.append(i + 1)
            acc = 0
    if acc:  # a small tail joins the bins before it until it holds t
        while len(keep) > 1 and acc < t:
            end = keep.pop()
            acc += int(np.sum(counts[keep[-1] : end]))
        keep.append(len(counts))
    return np.asarray(edges)[keep]


def histogram_frame(
    data: pd.DataFrame,
    column: str,
    bins: int | Sequence[float],
    func: str,
) -> tuple[np.ndarray, np.ndarray]:
    """The column's values (float, NaN for missing) and the cut points between bins."""
    if not isinstance(data, pd.DataFrame):
        raise input_error("data", func, "a pandas DataFrame", type(data).__name__)
    if not isinstance(column, str) or column not in data.columns:
        raise input_error("column", func, "a column of data", column)
    values = numeric_values(data[column], "column", func)
    if isinstance(bins, (int, np.integer)) and not isinstance(bins, bool):
        if not 1 <= bins <= 10_000:
            raise input_error("bins", func, "a number of bins in [1, 10000] or a list of edges",
                              bins)  # fmt: skip
        return values, inner_cuts(values, nice_edges(values, int(bins)))
    try:
        edges = np.asarray(bins, dtype=np.float64)
    except (TypeError, ValueError):
        raise input_error("bins", func, "a number of bins or a list of edges", bins) from None
    if (
        edges.ndim != 1
        or edges.size < 2
        or not np.all(np.isfinite(edges))
        or np.any(np.diff(edges) <= 0)
    ):
        raise input_error("bins", func, "at least two finite, increasing edges", list(edges))
    return values, inner_cuts(values, edges)
