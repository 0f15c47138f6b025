"""Bound propagation over a system of unit-coefficient equations (the "shuttle" idea).

Each equation says that a set of unknown cells sums to a known value. With every
unknown at least ``lb``, a cell is at most the value minus the lower bounds of
the others in any of its equations; and at least the value minus the upper
bounds of the others. Repeating this over all equations tightens the bounds
until nothing moves. The result always contains the attacker's exact interval
(it is an outer bound); the audit uses it to recognise when a feasible table it
already holds reaches the exact bound, so that no LP is needed for that cell.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def propagate_bounds(
    indptr: np.ndarray,
    indices: np.ndarray,
    rhs: np.ndarray,
    lb: np.ndarray,
    ub: np.ndarray,
    max_sweeps: int,
    tol: float,
) -> int:
    """Tighten ``lb``/``ub`` in place over the rows ``sum(y[row]) == rhs``; returns sweeps run.

    ``lb`` must be finite. A sweep that moves no bound by more than ``tol``
    (relative to the row's value) ends the loop.
    """
    inf = np.inf
    for sweep in range(max_sweeps):
        moved = False
        for r in range(rhs.size):
            start, stop = indptr[r], indptr[r + 1]
            s_lb = 0.0
            s_ub = 0.0
            n_inf = 0
            inf_at = -1
            for k in range(start, stop):
                i = indices[k]
                s_lb += lb[i]
                if ub[i] == inf:
                    n_inf += 1
                    inf_at = i
                else:
                    s_ub += ub[i]
            eps = tol * max(1.0, abs(rhs[r]))
            for k in range(start, stop):
                i = indices[k]
                if n_inf == 0:
                    low = rhs[r] - (s_ub - ub[i])
                elif n_inf == 1 and inf_at == i:
                    low = rhs[r] - s_ub
                else:
                    low = -inf
                high = rhs[r] - (s_lb - lb[i])
                if low > lb[i] + eps:
                    lb[i] = low
                    moved = True
                if high < ub[i] - eps:
                    ub[i] = high
                    moved = True
        if not moved:
            return sweep + 1
    return max_sweeps
