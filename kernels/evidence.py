"""One-pass table evidence for every cell and every margin.

A table over k grouping columns is laid out as a dense cube (see
``sdc.tables.model``): on each dimension a record's leaf code belongs to a few
cube codes (itself, the total, the hierarchy groups holding it), listed in a
padded member table. A record touches the cartesian product of its member
codes: 2**k cells for plain margins, grand total included. When no leaf is in a
hierarchy group the cells come from the subset walk (``_subset_cells``),
otherwise from the product over dimensions (``_product_cells``); both feed the
same accumulation, so the two differ only in how a record's cells are listed.

Contributor evidence (distinct contributors, the k largest per-contributor
totals) needs all of a contributor's records together: rows are visited in
contributor order (a counting sort, O(n)), and a per-cell stamp marks which
cells the current contributor has touched so its totals are summed before they
enter a cell's top-k. Everything else is a plain accumulation.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from sdc.kernels.layout import EVIDENCE_COUNT_FIELDS, EVIDENCE_FLOAT_FIELDS
from sdc.kernels.topk import push_top as _push_top

__all__ = ["EVIDENCE_COUNT_FIELDS", "EVIDENCE_FLOAT_FIELDS", "contributor_order", "table_evidence"]


@njit("int64[::1](int64[::1], int64)", cache=True)
def contributor_order(contrib: np.ndarray, n_contrib: int) -> np.ndarray:
    """Stable counting sort of row indices by contributor code (codes in [0, n_contrib))."""
    counts = np.zeros(n_contrib + 1, dtype=np.int64)
    for i in range(contrib.shape[0]):
        counts[contrib[i] + 1] += 1
    for c in range(n_contrib):
        counts[c + 1] += counts[c]
    order = np.empty(contrib.shape[0], dtype=np.int64)
    for i in range(contrib.shape[0]):
        c = contrib[i]
        order[counts[c]] = i
        counts[c] += 1
    return order


@njit(cache=True, inline="always")
def _subset_cells(codes, row, first, step, leaf_offsets, cells):
    """Plain margins: write the 2**k cells of ``row`` into ``cells``; return 2**k.

    Every leaf m belongs to two cube codes: cell offset ``first[m]`` (itself) and
    ``first[m] + step[m]`` (the total). Subset s of the dimensions set to their
    total is s-without-its-lowest-bit plus one more dimension moved to its total.
    """
    k = leaf_offsets.shape[0]
    base = 0
    for d in range(k):
        base += first[leaf_offsets[d] + codes[row, d]]
    cells[0] = base
    n = 1 << k
    for s in range(1, n):
        low = s & (-s)
        d = 0
        while (low >> d) != 1:
            d += 1
        cells[s] = cells[s ^ low] + step[leaf_offsets[k - 1 - d] + codes[row, k - 1 - d]]
    return n


# Not inlined: inlined into the row loops, its array arguments bring reference
# counting that slows the plain walk too (by about a fifth, measured).
@njit(cache=True)
def _product_cells(codes, row, offsets, n_members, leaf_offsets, cells):
    """Hierarchies: write the product of ``row``'s member codes into ``cells``; return how many.

    ``offsets[m, j]`` is the j-th member code of leaf m times its dimension's
    stride. The product is expanded in place, one dimension at a time, back to
    front so that each partial index is read before it is overwritten.
    """
    k = leaf_offsets.shape[0]
    n = 1
    cells[0] = 0
    for d in range(k):
        m = leaf_offsets[d] + codes[row, d]
        cnt = n_members[m]
        for i in range(n - 1, -1, -1):
            base = cells[i]
            for j in range(cnt):
                cells[i * cnt + j] = base + offsets[m, j]
        n *= cnt
    return n


def _evidence_signature(values_readonly: bool):
    i8_1 = types.Array(types.int64, 1, "C")
    i8_2 = types.Array(types.int64, 2, "C")
    f8_1 = types.Array(types.float64, 1, "C", readonly=values_readonly)
    f8_2 = types.Array(types.float64, 2, "C")
    out = types.Tuple((i8_2, f8_2, f8_2))
    return out(i8_2, i8_2, i8_1, i8_1, f8_1, i8_1, i8_1, types.int64, types.int64)


# Compiled for writable and read-only value arrays (pandas may hand out read-only views).
@njit([_evidence_signature(False), _evidence_signature(True)], cache=True)
def table_evidence(codes, members, leaf_offsets, strides, values, order, group_end, n_cells, top_k):
    """Evidence for every cell of the cube in one pass over the rows.

    Parameters
    ----------
    codes : (n, k) int64, leaf code of each row on each dimension.
    members : (sum L_d, m) int64, cube codes per leaf, -1 padded (``TableModel.member_table``).
    leaf_offsets : (k,) int64, first row of ``members`` for each dimension.
    strides : (k,) int64, cube strides (C order).
    values : (n,) float64, the measured value (NaN = missing). Frequency tables pass 1.0.
    order : (n,) int64, row visiting order; rows of one contributor are contiguous.
        Empty: every record is its own contributor, rows are visited in order.
    group_end : (g,) int64, exclusive end (in ``order``) of each contributor group.
    n_cells : int, number of cells of the cube.
    top_k : int, how many largest per-contributor totals to keep per cell.

    Returns
    -------
    counts : (n_cells, 5) int64 in the order of ``EVIDENCE_COUNT_FIELDS``.
    floats : (n_cells, 4) float64 in the order of ``EVIDENCE_FLOAT_FIELDS``
        (min/max are +inf/-inf where a cell has no non-missing value).
    top : (n_cells, top_k) float64, descending, -inf where fewer contributors.
    """
    k = strides.shape[0]
    n_members = np.zeros(members.shape[0], dtype=np.int64)
    for m in range(members.shape[0]):
        while n_members[m] < members.shape[1] and members[m, n_members[m]] >= 0:
            n_members[m] += 1
    offsets = np.zeros(members.shape, dtype=np.int64)
    for d in range(k):
        end = members.shape[0] if d == k - 1 else leaf_offsets[d + 1]
        for m in range(leaf_offsets[d], end):
            for j in range(n_members[m]):
                offsets[m, j] = members[m, j] * strides[d]
    # When no leaf is in a hierarchy group every leaf is in itself and the total
    # only: the subset walk, with no per-dimension inner loop, replaces the product.
    plain = True
    for m in range(n_members.shape[0]):
        if n_members[m] != 2:
            plain = False
    first = np.ascontiguousarray(offsets[:, 0])
    step = offsets[:, 1] - offsets[:, 0]
    # Upper bound on cells per record: product of the widest member lists.
    n_sub = 1
    for d in range(k):
        end = members.shape[0] if d == k - 1 else leaf_offsets[d + 1]
        widest = 0
        for m in range(leaf_offsets[d], end):
            widest = max(widest, n_members[m])
        n_sub *= widest

    counts = np.zeros((n_cells, 5), dtype=np.int64)
    floats = np.zeros((n_cells, 4), dtype=np.float64)
    floats[:, 2] = np.inf
    floats[:, 3] = -np.inf
    top = np.full((n_cells, top_k), -np.inf)

    # Per-contributor scratch: stamp[c] = group that last touched cell c.
    stamp = np.full(n_cells, -1, dtype=np.int64)
    acc = np.zeros(n_cells, dtype=np.float64)
    acc_n = np.zeros(n_cells, dtype=np.int64)
    max_group = 0
    start = 0
    for g in range(group_end.shape[0]):
        if group_end[g] - start > max_group:
            max_group = group_end[g] - start
        start = group_end[g]
    touched = np.empty(max_group * n_sub, dtype=np.int64)
    cells = np.empty(n_sub, dtype=np.int64)

    if order.shape[0] == 0:
        # Every record is its own contributor: no per-contributor totals to gather.
        for row in range(codes.shape[0]):
            if plain:
                n_hit = _subset_cells(codes, row, first, step, leaf_offsets, cells)
            else:
                n_hit = _product_cells(codes, row, offsets, n_members, leaf_offsets, cells)
            x = values[row]
            if np.isnan(x):
                for m in range(n_hit):
                    counts[cells[m], 0] += 1
                    counts[cells[m], 4] += 1
                continue
            negative = 1 if x < 0.0 else 0
            ax = abs(x)
            for m in range(n_hit):
                c = cells[m]
                counts[c, 0] += 1
                counts[c, 1] += 1
                counts[c, 2] += 1
                counts[c, 3] += negative
                floats[c, 0] += x
                floats[c, 1] += ax
                if x < floats[c, 2]:
                    floats[c, 2] = x
                if x > floats[c, 3]:
                    floats[c, 3] = x
                _push_top(top, c, x)
        return counts, floats, top

    start = 0
    for g in range(group_end.shape[0]):
        n_touched = 0
        for pos in range(start, group_end[g]):
            row = order[pos]
            if plain:
                n_hit = _subset_cells(codes, row, first, step, leaf_offsets, cells)
            else:
                n_hit = _product_cells(codes, row, offsets, n_members, leaf_offsets, cells)
            x = values[row]
            missing = np.isnan(x)
            for m in range(n_hit):
                c = cells[m]
                counts[c, 0] += 1
                if stamp[c] != g:  # first record of this contributor in the cell
                    stamp[c] = g
                    acc[c] = 0.0
                    acc_n[c] = 0
                    touched[n_touched] = c
                    n_touched += 1
                if missing:
                    counts[c, 4] += 1
                    continue
                counts[c, 1] += 1
                if x < 0.0:
                    counts[c, 3] += 1
                floats[c, 0] += x
                floats[c, 1] += abs(x)
                if x < floats[c, 2]:
                    floats[c, 2] = x
                if x > floats[c, 3]:
                    floats[c, 3] = x
                acc[c] += x
                acc_n[c] += 1
        # Flush this contributor's per-cell totals.
        for t in range(n_touched):
            c = touched[t]
            if acc_n[c] > 0:
                counts[c, 2] += 1
                _push_top(top, c, acc[c])
        start = group_end[g]
    return counts, floats, top
