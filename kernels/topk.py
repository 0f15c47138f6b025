"""The k largest values of each row of a table, kept in place as values arrive.

Shared by the table evidence kernel and the regression group totals: both keep, per cell
or group, the largest per-contributor totals in descending order.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def push_top(top, row, x):
    """Insert x into the descending top-k of ``row`` of ``top`` if it is large enough.

    >>> import numpy as np
    >>> top = np.zeros((1, 3))
    >>> for x in (2.0, 7.0, 1.0, 5.0):
    ...     push_top(top, 0, x)
    >>> top.tolist()
    [[7.0, 5.0, 2.0]]
    """
    kk = top.shape[1]
    if x <= top[row, kk - 1]:
        return
    j = kk - 1
    while j > 0 and top[row, j - 1] < x:
        top[row, j] = top[row, j - 1]
        j -= 1
    top[row, j] = x
