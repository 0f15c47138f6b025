"""Set operations on sorted arrays of distinct atoms, in one merge pass.

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
