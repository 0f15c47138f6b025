"""The attacker's interval for a group's count: two HiGHS LPs over the atoms.

Unknowns are the atoms' counts (>= 0). Every published number constrains the sum
of its atoms: exactly, or within its rounding interval. The least and the
largest count of a group over all such atom counts bound what anyone can infer;
when both lie within 1 .. t-1 the group is known to be small, though its exact
count may not be.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp


def _matrix(rows: list[np.ndarray], n_atoms: int) -> sp.csr_matrix:
    ptr = np.zeros(len(rows) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([r.size for r in rows])
    idx = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    return sp.csr_matrix((np.ones(idx.size), idx, ptr), shape=(len(rows), n_atoms))


def group_intervals(
    rows: list[np.ndarray],
    lower: np.ndarray,
    upper: np.ndarray,
    groups: list[np.ndarray],
    n_atoms: int,
) -> list[tuple[float, float]]:
    """Least and largest count of each group (a set of atoms) given ``lower <= row <= upper``.

    Examples
    --------
    A total of 12 over atoms 0-2 and a published atom 0 of 5: atoms 1 and 2 hold 7.

    >>> group_intervals([np.array([0, 1, 2]), np.array([0])], np.array([12.0, 5.0]),
    ...                 np.array([12.0, 5.0]), [np.array([1]), np.array([1, 2])], 3)
    [(0.0, 7.0), (7.0, 7.0)]
    """
    from scipy.optimize import linprog

    a = _matrix(rows, n_atoms)
    exact = lower == upper
    a_eq, b_eq = (a[exact], lower[exact]) if exact.any() else (None, None)
    ranged = ~exact
    a_ub = b_ub = None
    if ranged.any():
        a_ub = sp.vstack([a[ranged], -a[ranged]]).tocsr()
        b_ub = np.concatenate([upper[ranged], -lower[ranged]])
    out = []
    for g in groups:
        c = np.zeros(n_atoms)
        c[g] = 1.0
        bounds = []
        for sign in (1.0, -1.0):
            res = linprog(sign * c, A_ub=a_ub, b_ub=b_ub, A_eq=a_eq, b_eq=b_eq,
                          bounds=(0, None), method="highs")  # fmt: skip
            if res.status == 3:  # unbounded
                bounds.append(sign * -np.inf)
            elif res.status != 0:
                bounds.append(-np.inf if sign > 0 else np.inf)  # no answer: the widest
            else:
                bounds.append(sign * float(res.fun))
        out.append((bounds[0], bounds[1]))
    return out
