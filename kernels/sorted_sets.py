"""Set operations on sorted arrays of distinct atoms, in one merge pass; atoms per pair
of leaves of two outputs.

Differencing builds candidate groups as intersections and differences of two cells'
atom lists (CSR rows, sorted). ``numpy.intersect1d`` and ``setdiff1d`` sort or hash
both arrays again; these walk them once, which matters when a check against a
thousand earlier releases builds tens of thousands of such groups.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _intersection(a, b):
    out = np.empty(min(a.shape[0], b.shape[0]), dtype=np.int64)
    i = j = k = 0
    while i < a.shape[0] and j < b.shape[0]:
        if a[i] < b[j]:
            i += 1
        elif b[j] < a[i]:
            j += 1
        else:
            out[k] = a[i]
            k += 1
            i += 1
            j += 1
    return out[:k].copy()


@njit(cache=True)
def _difference(a, b):
    out = np.empty(a.shape[0], dtype=np.int64)
    i = j = k = 0
    while i < a.shape[0]:
        while j < b.shape[0] and b[j] < a[i]:
            j += 1
        if j < b.shape[0] and b[j] == a[i]:
            i += 1
            continue
        out[k] = a[i]
        k += 1
        i += 1
    return out[:k].copy()


def intersection(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The atoms in both sorted arrays.

    Examples
    --------
    >>> intersection(np.array([1, 3, 5, 7]), np.array([3, 4, 7])).tolist()
    [3, 7]
    """
    return _intersection(np.ascontiguousarray(a, dtype=np.int64),
                         np.ascontiguousarray(b, dtype=np.int64))  # fmt: skip


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The atoms of sorted ``a`` not in sorted ``b``.

    Examples
    --------
    >>> difference(np.array([1, 3, 5, 7]), np.array([3, 4, 7])).tolist()
    [1, 5]
    """
    return _difference(np.ascontiguousarray(a, dtype=np.int64),
                       np.ascontiguousarray(b, dtype=np.int64))  # fmt: skip


@njit(cache=True)
def leaf_pairs(leaf_a, leaf_b, weight, n_a, n_b):
    """Per pair of leaves (one of each output), the atoms both hold and their weight:
    two dense (n_a x n_b) tables. Leaves -1 (outside an output) are skipped."""
    atoms = np.zeros((n_a, n_b), dtype=np.int64)
    total = np.zeros((n_a, n_b), dtype=np.float64)
    for k in range(leaf_a.shape[0]):
        a = leaf_a[k]
        b = leaf_b[k]
        if a >= 0 and b >= 0:
            atoms[a, b] += 1
            total[a, b] += weight[k]
    return atoms, total


@njit(cache=True)
def leaf_rows(leaf, n_leaves):
    """The atoms of each leaf, ascending, as CSR (``indptr``, ``indices``): a counting sort
    of the atoms by leaf (-1, outside the output, left out)."""
    indptr = np.zeros(n_leaves + 1, dtype=np.int64)
    for a in range(leaf.shape[0]):
        if leaf[a] >= 0:
            indptr[leaf[a] + 1] += 1
    for k in range(n_leaves):
        indptr[k + 1] += indptr[k]
    fill = indptr[:-1].copy()
    indices = np.empty(indptr[n_leaves], dtype=np.int32)
    for a in range(leaf.shape[0]):
        x = leaf[a]
        if x >= 0:
            indices[fill[x]] = a
            fill[x] += 1
    return indptr, indices
