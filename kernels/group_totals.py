"""Per-atom and per-group totals of a regression's outcome: what its group rules read.

A group is a set of atoms (see :mod:`sdc.kernels.atoms`). Every row brings a weight
``w`` (1 when the fit is unweighted) and a contribution ``v`` (the weighted outcome
``w * y`` whose sums the coefficients reproduce).

- :func:`atom_moments`: one pass over the rows: per atom its rows, the sums of ``w``
  and ``w**2``, the sum of ``|v|`` and the ``top_k`` largest ``|v|`` (each row its own
  contributor), the smallest and largest outcome, and the rows fitted exactly;
- :func:`group_contributor_totals`: one pass over the rows grouped by contributor: a
  contributor's rows are summed within every group they fall in, then each group counts
  its distinct contributors, the sums of their weights and squared weights (Kish's
  effective size), the sum of ``|V_c|`` and the ``top_k`` largest ``|V_c|``.

Groups arrive as a CSR map from atom to the groups it belongs to (``g_ptr``, ``g_idx``).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit
from sdc.kernels.topk import push_top


@njit(cache=True)
def _atom_moments(atom, n_atoms, w, y, exact, top_k):
    rows = np.zeros(n_atoms, dtype=np.int64)
    n_exact = np.zeros(n_atoms, dtype=np.int64)
    sums = np.zeros((n_atoms, 3), dtype=np.float64)  # w, w**2, |w y|
    lo = np.full(n_atoms, np.inf)
    hi = np.full(n_atoms, -np.inf)
    top = np.zeros((n_atoms, top_k), dtype=np.float64)
    for i in range(atom.size):
        a = atom[i]
        if a < 0:
            continue
        rows[a] += 1
        if exact[i]:
            n_exact[a] += 1
        wi = w[i]
        v = abs(wi * y[i])
        sums[a, 0] += wi
        sums[a, 1] += wi * wi
        sums[a, 2] += v
        if y[i] < lo[a]:
            lo[a] = y[i]
        if y[i] > hi[a]:
            hi[a] = y[i]
        push_top(top, a, v)
    return rows, n_exact, sums, lo, hi, top


@njit(cache=True)
def _group_contributor_totals(order, bounds, atom, w, v, row_ok, g_ptr, g_idx, n_groups, top_k):
    n_contrib = np.zeros(n_groups, dtype=np.int64)
    sums = np.zeros((n_groups, 3), dtype=np.float64)  # W_c, W_c**2, |V_c|
    top = np.zeros((n_groups, top_k), dtype=np.float64)
    stamp = np.full(n_groups, -1, dtype=np.int64)
    acc_w = np.zeros(n_groups, dtype=np.float64)
    acc_v = np.zeros(n_groups, dtype=np.float64)
    touched = np.empty(n_groups, dtype=np.int64)
    for c in range(bounds.size - 1):
        m = 0
        for p in range(bounds[c], bounds[c + 1]):
            i = order[p]
            a = atom[i]
            if a < 0 or not row_ok[i]:
                continue
            for q in range(g_ptr[a], g_ptr[a + 1]):
                g = g_idx[q]
                if stamp[g] != c:
                    stamp[g] = c
                    acc_w[g] = 0.0
                    acc_v[g] = 0.0
                    touched[m] = g
                    m += 1
                acc_w[g] += w[i]
                acc_v[g] += v[i]
        for r in range(m):
            g = touched[r]
            n_contrib[g] += 1
            sums[g, 0] += acc_w[g]
            sums[g, 1] += acc_w[g] * acc_w[g]
            total = abs(acc_v[g])
            sums[g, 2] += total
            push_top(top, g, total)
    return n_contrib, sums, top


def atom_moments(
    atom: npt.NDArray[np.int64],
    n_atoms: int,
    w: npt.NDArray[np.float64],
    y: npt.NDArray[np.float64],
    exact: npt.NDArray[np.bool_],
    top_k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per atom: rows, rows fitted exactly, sums of (w, w**2, |w y|), min y, max y, top |w y|.

    >>> atom = np.array([0, 1, 0, -1, 0])
    >>> w, y = np.ones(5), np.array([2.0, 5.0, -3.0, 7.0, 2.0])
    >>> rows, exact, sums, lo, hi, top = atom_moments(atom, 2, w, y, np.zeros(5, bool), 2)
    >>> rows.tolist(), sums[0].tolist(), lo.tolist(), hi.tolist(), top[0].tolist()
    ([3, 1], [3.0, 3.0, 7.0], [-3.0, 5.0], [2.0, 5.0], [3.0, 2.0])
    """
    n = atom.shape[0]
    for name, arr in (("w", w), ("y", y), ("exact", exact)):
        if arr.shape != (n,):
            raise ValueError(f"{name} must have one entry per row of atom ({n}); got {arr.shape}")
    if top_k < 1:
        raise ValueError(f"top_k must be at least 1; got {top_k}")
    return _atom_moments(
        np.ascontiguousarray(atom, dtype=np.int64), np.int64(n_atoms),
        np.ascontiguousarray(w, dtype=np.float64), np.ascontiguousarray(y, dtype=np.float64),
        np.ascontiguousarray(exact, dtype=np.bool_), np.int64(top_k),
    )  # fmt: skip


def group_contributor_totals(
    contributor: npt.NDArray[np.int64],
    atom: npt.NDArray[np.int64],
    w: npt.NDArray[np.float64],
    v: npt.NDArray[np.float64],
    row_ok: npt.NDArray[np.bool_],
    g_ptr: npt.NDArray[np.int64],
    g_idx: npt.NDArray[np.int64],
    n_groups: int,
    top_k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per group: distinct contributors, sums of (W_c, W_c**2, |V_c|), top ``|V_c|``.

    ``contributor`` holds codes 0..C-1, one per row; only rows with ``row_ok`` and an
    atom count. ``W_c`` and ``V_c`` are contributor c's sums of ``w`` and ``v`` in the group.

    >>> contributor = np.array([0, 0, 1, 2])
    >>> atom = np.array([0, 1, 1, 0])
    >>> g_ptr, g_idx = np.array([0, 2, 3]), np.array([0, 1, 1])  # atom 0: groups 0, 1
    >>> n, sums, top = group_contributor_totals(contributor, atom, np.ones(4),
    ...     np.array([5.0, 1.0, 2.0, 4.0]), np.ones(4, bool), g_ptr, g_idx, 2, 2)
    >>> n.tolist(), sums[1].tolist(), top[1].tolist()
    ([2, 3], [4.0, 6.0, 12.0], [6.0, 4.0])
    """
    n = atom.shape[0]
    codes = np.ascontiguousarray(contributor, dtype=np.int64)
    if codes.shape != (n,) or (n and int(codes.min()) < 0):
        raise ValueError("contributor must hold one code >= 0 per row")
    n_contrib = int(codes.max()) + 1 if n else 0
    order = np.argsort(codes, kind="stable")
    bounds = np.concatenate(([0], np.cumsum(np.bincount(codes, minlength=n_contrib))))
    return _group_contributor_totals(
        order.astype(np.int64), bounds.astype(np.int64),
        np.ascontiguousarray(atom, dtype=np.int64), np.ascontiguousarray(w, dtype=np.float64),
        np.ascontiguousarray(v, dtype=np.float64), np.ascontiguousarray(row_ok, dtype=np.bool_),
        np.ascontiguousarray(g_ptr, dtype=np.int64), np.ascontiguousarray(g_idx, dtype=np.int64),
        np.int64(n_groups), np.int64(top_k),
    )  # fmt: skip
