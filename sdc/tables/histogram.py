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


def open_edges(cuts: np.ndarray) -> np.ndarray:
    """The cut points with the open ends, ``-inf`` and ``inf``, for :func:`rebin`."""
    return np.r_[-np.inf, cuts, np.inf]


class BinPeople:
    """How many distinct contributors the bins ``a .. b-1`` hold together (``self(a, b)``).

    Records are not people when a contributor has several: merged bins then hold
    fewer people than the sum of their own.

    >>> people = BinPeople(np.array([0.5, 0.7, 1.5, 2.5]), np.array([0, 1, 2, 3]),
    ...                    np.array([7, 7, 7, 8]))
    >>> people(0, 1), people(0, 2), people(0, 3)
    (1, 1, 2)
    """

    def __init__(self, values: np.ndarray, edges: np.ndarray, ids: np.ndarray) -> None:
        idx = _bin_index(values, edges)
        inside = idx >= 0
        order = np.argsort(idx[inside], kind="stable")
        self._ids = np.asarray(ids)[inside][order]
        self._starts = np.searchsorted(idx[inside][order], np.arange(edges.size))

    def __call__(self, a: int, b: int) -> int:
        return int(np.unique(self._ids[self._starts[a] : self._starts[b]]).size)


def _bin_index(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Each value's ``[a, b)`` bin between the first and the last edge; -1 outside or missing."""
    idx = np.searchsorted(edges, values, side="right") - 1
    idx[np.isnan(values) | (idx >= edges.size - 1)] = -1
    return idx


def bin_counts(values: np.ndarray, cuts: np.ndarray, ids: np.ndarray | None = None) -> np.ndarray:
    """Records (or, with ``ids``, distinct contributors) in each bin, the two open end
    bins included (missing values left out)."""
    edges = open_edges(cuts)
    if ids is not None:
        people = BinPeople(values, edges, ids)
        return np.array([people(i, i + 1) for i in range(edges.size - 1)], dtype=np.int64)
    idx = _bin_index(values, edges)
    return np.bincount(idx[idx >= 0], minlength=edges.size - 1)


def rebin(
    edges: np.ndarray, counts: np.ndarray, t: int, people: BinPeople | None = None
) -> np.ndarray:
    """Edges with every bin of 1..t-1 records merged into the bins after it (a tail: before).

    ``people``: the contributors of merged bins, when records are not people (``counts``
    then count each bin's contributors).

    >>> rebin(np.array([0, 1, 2, 3, 4, 5]), np.array([12, 3, 4, 11, 2]), 10).tolist()
    [0, 1, 5]
    >>> rebin(np.array([0, 1, 2, 3]), np.array([12, 0, 15]), 10).tolist()  # empty bins stay
    [0, 1, 2, 3]
    """
    total = np.concatenate([[0], np.cumsum(np.asarray(counts, dtype=np.int64))])

    def size(a: int, b: int) -> int:
        return int(total[b] - total[a]) if people is None else people(a, b)

    n = len(counts)
    keep = [0]
    for i in range(n):
        held = size(keep[-1], i + 1)
        if held == 0 or held >= t:  # an empty bin stays a bin of its own
            keep.append(i + 1)
    if keep[-1] < n:  # a small tail joins the bins before it until it holds t
        while len(keep) > 1 and size(keep[-1], n) < t:
            keep.pop()
        keep.append(n)
    return np.asarray(edges)[keep]


def contributor_codes(
    data: pd.DataFrame, column: str, contributor: str | None, func: str
) -> np.ndarray | None:
    """The contributor of each record as integer codes (None when rows are people)."""
    if contributor is None:
        return None
    if not isinstance(contributor, str) or contributor not in data.columns:
        raise input_error("contributor", func, "a column of data or None", contributor)
    if contributor == column:
        raise input_error("contributor", func, "a column other than `column`", contributor)
    codes, _ = pd.factorize(data[contributor])
    if (codes < 0).any():
        raise input_error(
            "contributor", func, "a column without missing ids",
            f"{int((codes < 0).sum())} missing id(s) in {contributor!r}",
            "Every record must be attributed to a contributor.",
        )  # fmt: skip
    return np.asarray(codes, dtype=np.int64)


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
