"""Table evidence without contributors: one pass over the rows into inner cells, then margins.

When every record is its own contributor, every field of a margin's evidence follows
from the evidence of its inner cells: counts and sums add, min and max reduce, and
the k largest records of a margin are the k largest of its inner cells' top-k. So
the rows are read once, each touching one inner cell (not the 2**k cells of every
margin it belongs to), and the margins are filled from the non-empty inner cells,
a cost that grows with cells instead of rows.

The row pass splits the rows into blocks, each accumulating its own partial
evidence (the evidence is a monoid), merged at the end; the ``parallel`` variants
run the blocks on all cores. They are for the main thread only: the ``serial``
variants are for callers running on worker threads (Dask, Spark).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange, types
from sdc.kernels.evidence import _product_cells, _push_top, _subset_cells

__all__ = [
    "fill_margins",
    "inner_counts_parallel",
    "inner_counts_serial",
    "inner_values_parallel",
    "inner_values_serial",
]


def _inner_counts(codes, strides, n_inner, n_blocks):
    """Records per inner cell: ``codes`` (n, k) int64 leaf codes, ``strides`` the inner strides."""
    n = codes.shape[0]
    k = codes.shape[1]
    partial = np.zeros((n_blocks, n_inner), dtype=np.int64)
    for b in prange(n_blocks):
        lo = n * b // n_blocks
        hi = n * (b + 1) // n_blocks
        for r in range(lo, hi):
            c = 0
            for d in range(k):
                c += codes[r, d] * strides[d]
            partial[b, c] += 1
    out = np.zeros(n_inner, dtype=np.int64)
    for b in range(n_blocks):
        for c in range(n_inner):
            out[c] += partial[b, c]
    return out


def _inner_values(codes, strides, values, n_inner, top_k, n_blocks):
    """Evidence of every inner cell (each record its own contributor), by row blocks.

    Returns counts (n_inner, 5) int64, floats (n_inner, 4) float64 and top
    (n_inner, top_k) float64 in the layout of ``table_evidence``.
    """
    n = codes.shape[0]
    k = codes.shape[1]
    counts = np.zeros((n_blocks, n_inner, 5), dtype=np.int64)
    floats = np.zeros((n_blocks, n_inner, 4), dtype=np.float64)
    top = np.full((n_blocks, n_inner, top_k), -np.inf)
    for b in prange(n_blocks):
        cb = counts[b]
        fb = floats[b]
        tb = top[b]
        for c in range(n_inner):
            fb[c, 2] = np.inf
            fb[c, 3] = -np.inf
        lo = n * b // n_blocks
        hi = n * (b + 1) // n_blocks
        for r in range(lo, hi):
            c = 0
            for d in range(k):
                c += codes[r, d] * strides[d]
            x = values[r]
            cb[c, 0] += 1
            if np.isnan(x):
                cb[c, 4] += 1
                continue
            cb[c, 1] += 1
            cb[c, 2] += 1
            if x < 0.0:
                cb[c, 3] += 1
            fb[c, 0] += x
            fb[c, 1] += abs(x)
            if x < fb[c, 2]:
                fb[c, 2] = x
            if x > fb[c, 3]:
                fb[c, 3] = x
            _push_top(tb, c, x)
    out_c = counts[0].copy()
    out_f = floats[0].copy()
    out_t = top[0].copy()
    for b in range(1, n_blocks):
        for c in range(n_inner):
            for j in range(5):
                out_c[c, j] += counts[b, c, j]
            out_f[c, 0] += floats[b, c, 0]
            out_f[c, 1] += floats[b, c, 1]
            out_f[c, 2] = min(out_f[c, 2], floats[b, c, 2])
            out_f[c, 3] = max(out_f[c, 3], floats[b, c, 3])
            for j in range(top_k):
                if np.isfinite(top[b, c, j]):
                    _push_top(out_t, c, top[b, c, j])
    return out_c, out_f, out_t


def _signatures(with_values: bool) -> list:
    """Signatures for writable and read-only inputs (pandas may hand out read-only views)."""
    out = []
    for readonly, values_readonly in ((False, False), (True, True), (False, True), (True, False)):
        i8_1 = types.Array(types.int64, 1, "C")
        codes = types.Array(types.int64, 2, "C", readonly=readonly)
        if not with_values:
            if readonly == values_readonly:
                out.append(i8_1(codes, i8_1, types.int64, types.int64))
            continue
        i8_2 = types.Array(types.int64, 2, "C")
        f8_2 = types.Array(types.float64, 2, "C")
        f8_1 = types.Array(types.float64, 1, "C", readonly=values_readonly)
        result = types.Tuple((i8_2, f8_2, f8_2))
        out.append(result(codes, i8_1, f8_1, types.int64, types.int64, types.int64))
    return out


_SIG_COUNTS = _signatures(False)
_SIG_VALUES = _signatures(True)

inner_counts_parallel = njit(_SIG_COUNTS, parallel=True, cache=True)(_inner_counts)
inner_counts_serial = njit(_SIG_COUNTS, cache=True)(_inner_counts)
inner_values_parallel = njit(_SIG_VALUES, parallel=True, cache=True)(_inner_values)
inner_values_serial = njit(_SIG_VALUES, cache=True)(_inner_values)


@njit(cache=True)
def fill_margins(counts, floats, top, sizes, members, leaf_offsets, strides, n_cells):
    """Evidence of every cell of the cube from the evidence of its inner cells.

    Parameters
    ----------
    counts, floats, top : inner-cell evidence (``inner_values``), inner cells in C
        order over ``sizes``.
    sizes : (k,) int64, leaves per dimension.
    members, leaf_offsets, strides : the cube as ``table_evidence`` takes it.
    n_cells : int, cells of the cube.

    Returns
    -------
    counts, floats, top for every cell of the cube, as ``table_evidence`` returns them.
    """
    k = sizes.shape[0]
    top_k = top.shape[1]
    n_members = np.zeros(members.shape[0], dtype=np.int64)
    for m in range(members.shape[0]):
        while n_members[m] < members.shape[1] and members[m, n_members[m]] >= 0:
            n_members[m] += 1
    offsets = np.zeros(members.shape, dtype=np.int64)
    plain = True
    for d in range(k):
        end = members.shape[0] if d == k - 1 else leaf_offsets[d + 1]
        for m in range(leaf_offsets[d], end):
            if n_members[m] != 2:
                plain = False
            for j in range(n_members[m]):
                offsets[m, j] = members[m, j] * strides[d]
    first = np.ascontiguousarray(offsets[:, 0])
    step = offsets[:, 1] - offsets[:, 0]
    n_sub = 1
    for d in range(k):
        end = members.shape[0] if d == k - 1 else leaf_offsets[d + 1]
        widest = 0
        for m in range(leaf_offsets[d], end):
            widest = max(widest, n_members[m])
        n_sub *= widest

    out_c = np.zeros((n_cells, 5), dtype=np.int64)
    out_f = np.zeros((n_cells, 4), dtype=np.float64)
    out_f[:, 2] = np.inf
    out_f[:, 3] = -np.inf
    out_t = np.full((n_cells, top_k), -np.inf)
    coords = np.zeros((1, k), dtype=np.int64)
    cells = np.empty(n_sub, dtype=np.int64)
    for i in range(counts.shape[0]):
        if counts[i, 0] == 0:
            continue
        rest = i
        for d in range(k - 1, -1, -1):
            coords[0, d] = rest % sizes[d]
            rest //= sizes[d]
        if plain:
            n_hit = _subset_cells(coords, 0, first, step, leaf_offsets, cells)
        else:
            n_hit = _product_cells(coords, 0, offsets, n_members, leaf_offsets, cells)
        for h in range(n_hit):
            c = cells[h]
            for j in range(5):
                out_c[c, j] += counts[i, j]
            out_f[c, 0] += floats[i, 0]
            out_f[c, 1] += floats[i, 1]
            out_f[c, 2] = min(out_f[c, 2], floats[i, 2])
            out_f[c, 3] = max(out_f[c, 3], floats[i, 3])
            for j in range(top_k):
                if not np.isfinite(top[i, j]):
                    break
                _push_top(out_t, c, top[i, j])
    return out_c, out_f, out_t
