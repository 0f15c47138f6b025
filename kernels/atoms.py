"""The distinct rows of a design matrix's few-valued columns ("atoms"), read column by column.

A regression's coefficients are functions of sums over the rows of its design matrix.
Rows that agree on every column with few distinct values (dummies, any contrast
coding, interactions of factors, ``I(...)`` terms of factors) are indistinguishable
to those sums: they form one *atom*, and every group a coefficient can describe is a
union of atoms. Design matrices from patsy are column-major (Fortran order), so
every pass here walks one column at a time:

- :func:`column_levels`: per column, its distinct values among the kept rows (counted
  up to ``max_levels + 1``, then the column is continuous) and its zeros;
- :func:`design_atoms`: a 64-bit hash of each kept row's non-zero values in the chosen
  columns, one open-addressing table from hash to atom, then a pass that checks every
  row against its atom's first row, so that a hash collision can never merge two
  atoms (it is reported instead, and the caller falls back to an exact sort).

``-0.0`` and ``0.0`` are one value. Rows not kept (zero weight) belong to no atom (-1).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

_SEED = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


@njit(cache=True)
def _column_levels(x, keep, max_levels):
    n, k = x.shape
    n_distinct = np.zeros(k, dtype=np.int64)
    zeros = np.zeros(k, dtype=np.int64)
    seen = np.empty(max_levels + 1, dtype=np.float64)
    for j in range(k):
        m = 0
        z = 0
        last = np.nan
        for i in range(n):
            if not keep[i]:
                continue
            v = x[i, j]
            if v == 0.0:
                z += 1
            if m <= max_levels and v != last:
                found = False
                for s in range(m):
                    if seen[s] == v:
                        found = True
                        break
                if not found:
                    seen[m] = v
                    m += 1
                last = v
        n_distinct[j] = m
        zeros[j] = z
    return n_distinct, zeros


@njit(cache=True)
def _mix(h):
    h ^= h >> np.uint64(30)
    h *= _M1
    h ^= h >> np.uint64(27)
    h *= _M2
    h ^= h >> np.uint64(31)
    return h


@njit(cache=True)
def _row_hashes(x, cols):
    """XOR over the non-zero values of a row of a mix of (column, value): zeros, most of a
    dummy column, cost nothing; collisions are caught by the check against first rows."""
    n = x.shape[0]
    h = np.full(n, _SEED, dtype=np.uint64)
    block = 4096
    buf = np.empty(block, dtype=np.float64)
    bits = buf.view(np.uint64)
    for c in range(cols.size):
        j = cols[c]
        salt = _mix(np.uint64(c + 1) * _M2)
        for start in range(0, n, block):
            stop = min(start + block, n)
            for i in range(start, stop):
                buf[i - start] = x[i, j] + 0.0  # -0.0 and 0.0 hash alike
            for i in range(start, stop):
                b = bits[i - start]
                if b != 0:
                    h[i] ^= _mix(b ^ salt)
    for i in range(n):
        h[i] = _mix(h[i])
    return h


@njit(cache=True)
def _atoms_of(h, keep, cap):
    n = h.size
    kept = 0
    for i in range(n):
        if keep[i]:
            kept += 1
    size = 1
    while size < 2 * max(kept, 1):
        size *= 2
    mask = np.uint64(size - 1)
    slot_key = np.zeros(size, dtype=np.uint64)
    slot_atom = np.full(size, -1, dtype=np.int64)
    atom = np.full(n, -1, dtype=np.int64)
    first = np.empty(min(kept, cap) + 1, dtype=np.int64)
    n_atoms = 0
    for i in range(n):
        if not keep[i]:
            continue
        s = h[i] & mask
        while True:
            a = slot_atom[s]
            if a < 0:
                if n_atoms == cap:
                    return atom, first[:0], np.int64(-1)
                slot_atom[s] = n_atoms
                slot_key[s] = h[i]
                first[n_atoms] = i
                atom[i] = n_atoms
                n_atoms += 1
                break
            if slot_key[s] == h[i]:
                atom[i] = a
                break
            s = (s + np.uint64(1)) & mask
    return atom, first[:n_atoms], np.int64(n_atoms)


@njit(cache=True)
def _agrees_with_first(x, cols, atom, first):
    n = x.shape[0]
    rep = np.empty(first.size, dtype=np.float64)
    for c in range(cols.size):
        j = cols[c]
        for a in range(first.size):
            rep[a] = x[first[a], j]
        for i in range(n):
            a = atom[i]
            if a >= 0 and x[i, j] != rep[a]:
                return False
    return True


def _checked_design(
    x: object, keep: object
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]]:
    if not isinstance(x, np.ndarray) or x.ndim != 2 or x.dtype != np.float64:
        got = type(x).__name__ if not isinstance(x, np.ndarray) else f"{x.dtype} {x.shape}"
        raise ValueError(f"x must be a 2-D float64 array; got {got}")
    if not isinstance(keep, np.ndarray) or keep.dtype != np.bool_ or keep.shape != (x.shape[0],):
        raise ValueError(f"keep must be a bool array of shape ({x.shape[0]},), one per row of x")
    return x, keep


def column_levels(
    x: npt.NDArray[np.float64], keep: npt.NDArray[np.bool_], max_levels: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Distinct values (counted up to ``max_levels + 1``) and zeros of each column, kept rows only.

    >>> x = np.array([[1.0, 0.0, 0.5], [1.0, 1.0, 1.5], [1.0, -0.0, 2.5]])
    >>> n_distinct, zeros = column_levels(x, np.ones(3, dtype=bool), 2)
    >>> n_distinct.tolist(), zeros.tolist()
    ([1, 2, 3], [0, 2, 0])
    """
    x, keep = _checked_design(x, keep)
    if max_levels < 1:
        raise ValueError(f"max_levels must be at least 1; got {max_levels}")
    return _column_levels(x, keep, np.int64(max_levels))


def design_atoms(
    x: npt.NDArray[np.float64],
    cols: npt.NDArray[np.int64],
    keep: npt.NDArray[np.bool_],
    max_atoms: int,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]] | None:
    """Each kept row's atom (its distinct row of ``x[:, cols]``) and each atom's first row.

    Atoms are numbered in order of first appearance; rows not kept get -1. Returns
    ``None`` when there are more than ``max_atoms`` atoms.

    >>> x = np.array([[1.0, 0.0, 3.1], [1.0, 1.0, 2.0], [1.0, -0.0, 9.9], [1.0, 1.0, 0.1]])
    >>> atom, first = design_atoms(x, np.array([0, 1]), np.array([True, True, True, False]), 10)
    >>> atom.tolist(), first.tolist()
    ([0, 1, 0, -1], [0, 1])
    """
    x, keep = _checked_design(x, keep)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    if cols.size and (int(cols.min()) < 0 or int(cols.max()) >= x.shape[1]):
        raise ValueError(f"cols must index the {x.shape[1]} columns of x; got {cols.tolist()}")
    atom, first, n_atoms = _atoms_of(_row_hashes(x, cols), keep, np.int64(max_atoms))
    if n_atoms < 0:
        return None
    if not _agrees_with_first(x, cols, atom, first):  # a hash collision: sort exactly instead
        rows = np.flatnonzero(keep)
        values = x[np.ix_(rows, cols)] + 0.0
        _, index, inverse = np.unique(values, axis=0, return_index=True, return_inverse=True)
        if index.size > max_atoms:
            return None
        order = np.argsort(index, kind="stable")  # number atoms by first appearance
        rank = np.empty_like(order)
        rank[order] = np.arange(order.size)
        atom = np.full(x.shape[0], -1, dtype=np.int64)
        atom[rows] = rank[inverse.ravel()]
        first = rows[np.sort(index)]
    return atom, first
