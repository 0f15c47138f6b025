"""Exact span tests: which 0/1 rows over atoms are linear combinations of released rows.

Every released cell is a 0/1 row over atoms (the records it counts). A group of
records is *derivable* when its indicator row lies in the rational span of the
released rows: some combination of released numbers (add this cell, subtract
that one) gives its count exactly.

The released rows are brought to row echelon form one at a time, in integers
(fraction-free: a row is scaled instead of divided, and every stored row is
divided by the gcd of its entries), with the smallest column of each row as its
pivot. A candidate row is then reduced against the basis in increasing column
order: it is in the span exactly when it reduces to zero; it is not as soon as
its smallest remaining column is no pivot (no basis row can cancel it without
bringing back a smaller column).

Every row carries, in extra columns, its combination of released rows (and a
candidate its own scale), so a derivable candidate comes with the combination that
derives it: ``candidate = sum(num[k] / den * released[row[k]])``.

Numbers are checked before every product: past 2**61 the kernel stops (the basis)
or marks the candidate undecided (-1), and the caller treats it as unsafe.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from sdc.kernels.gauss import _grow

_SAFE = float(1 << 61)
_NORMALISE = 1 << 31


@njit(cache=True)
def _gcd(a, b):
    a, b = abs(a), abs(b)
    while b:
        a, b = b, a % b
    return a


@njit(cache=True)
def _push(heap, size, x):
    """Add x to a binary min-heap of ``size`` entries; the new size."""
    i = size
    heap[i] = x
    while i > 0:
        parent = (i - 1) // 2
        if heap[parent] <= heap[i]:
            break
        heap[parent], heap[i] = heap[i], heap[parent]
        i = parent
    return size + 1


@njit(cache=True)
def _pop(heap, size):
    """Remove the smallest entry; (it, new size)."""
    top = heap[0]
    size -= 1
    heap[0] = heap[size]
    i = 0
    while True:
        left = 2 * i + 1
        if left >= size:
            break
        child = left
        if left + 1 < size and heap[left + 1] < heap[left]:
            child = left + 1
        if heap[i] <= heap[child]:
            break
        heap[i], heap[child] = heap[child], heap[i]
        i = child
    return top, size


@njit(cache=True)
def _reduce(acc, on, touched, n_touched, heap, n_heap, n_atoms, pivot_row, b_start, b_len,
            b_idx, b_val):  # fmt: skip
    """Reduce ``acc`` against the basis. Returns (state, column, n_touched, n_heap, touched):
    state 0 when its atom part vanished, 1 when ``column`` is its smallest non-pivot
    column, 2 on overflow."""
    while n_heap > 0:
        c, n_heap = _pop(heap, n_heap)
        v = acc[c]
        if v == 0:
            continue
        r = pivot_row[c]
        if r < 0:
            return 1, c, n_touched, n_heap, touched
        s = b_start[r]
        p = b_val[s]
        if v % p == 0:
            q = v // p
        else:
            g = _gcd(v, p)
            scale = p // g
            q = v // g
            for t in range(n_touched):
                j = touched[t]
                if abs(float(acc[j]) * float(scale)) >= _SAFE:
                    return 2, c, n_touched, n_heap, touched
                acc[j] *= scale
        big = 0
        for t in range(s + 1, s + b_len[r]):
            j = b_idx[t]
            if abs(float(q) * float(b_val[t])) >= _SAFE:
                return 2, c, n_touched, n_heap, touched
            acc[j] -= q * b_val[t]
            if abs(acc[j]) >= _SAFE:
                return 2, c, n_touched, n_heap, touched
            big = max(big, abs(acc[j]))
            if not on[j]:
                on[j] = True
                touched = _grow(touched, n_touched + 1)
                touched[n_touched] = j
                n_touched += 1
                if j < n_atoms:
                    n_heap = _push(heap, n_heap, j)
        acc[c] = 0
        if big >= _NORMALISE:
            g = 0
            for t in range(n_touched):
                g = _gcd(g, acc[touched[t]])
            if g > 1:
                for t in range(n_touched):
                    acc[touched[t]] //= g
    return 0, -1, n_touched, n_heap, touched


@njit(cache=True)
def _load(acc, on, touched, n_touched, heap, n_heap, n_atoms, ptr, idx, val, k, extra):
    """Put row k into the empty accumulator, and a 1 at column ``extra``. Entries are
    ``val`` (0/1 rows: an empty ``val``, every entry 1)."""
    for t in range(ptr[k], ptr[k + 1]):
        j = idx[t]
        v = 1 if val.shape[0] == 0 else val[t]
        if on[j]:
            acc[j] += v
            continue
        acc[j] = v
        on[j] = True
        touched = _grow(touched, n_touched + 1)
        touched[n_touched] = j
        n_touched += 1
        n_heap = _push(heap, n_heap, j)
    acc[extra] = 1
    on[extra] = True
    touched = _grow(touched, n_touched + 1)
    touched[n_touched] = extra
    n_touched += 1
    return n_touched, n_heap, touched


@njit(cache=True)
def span_decide(r_ptr, r_idx, n_atoms, c_ptr, c_idx, c_val):
    """Which candidate rows lie in the span of the released rows (both CSR over atoms;
    released rows are 0/1, candidates' entries ``c_val``: empty for 0/1 rows).

    Returns ``(state, comb_ptr, comb_row, comb_num, comb_den, rank, overflowed,
    independent)``:
    ``state[i]`` is 1 (candidate i is derivable), 0 (it is not) or -1 (undecided:
    numbers grew too large); derivable candidate i is
    ``sum(comb_num[t] / comb_den[i] * released[comb_row[t]])`` for t in
    ``comb_ptr[i]:comb_ptr[i+1]``. ``overflowed``: the basis itself could not be
    built (every candidate is then undecided). ``independent[k]``: released row k is
    not a combination of the rows before it (those rows are a basis of the span).
    """
    n_rows = r_ptr.shape[0] - 1
    n_cand = c_ptr.shape[0] - 1
    width = n_atoms + n_rows + 1
    alpha = width - 1
    acc = np.zeros(width, dtype=np.int64)
    on = np.zeros(width, dtype=np.bool_)
    heap = np.empty(width, dtype=np.int64)
    touched = np.empty(64, dtype=np.int64)
    pivot_row = np.full(n_atoms, -1, dtype=np.int64)
    b_start = np.empty(max(n_rows, 1), dtype=np.int64)
    b_len = np.empty(max(n_rows, 1), dtype=np.int64)
    b_idx = np.empty(max(2 * r_idx.shape[0], 16), dtype=np.int64)
    b_val = np.empty(max(2 * r_idx.shape[0], 16), dtype=np.int64)
    top = 0
    rank = 0
    state = np.full(n_cand, -1, dtype=np.int8)
    comb_ptr = np.zeros(n_cand + 1, dtype=np.int64)
    comb_row = np.empty(16, dtype=np.int64)
    comb_num = np.empty(16, dtype=np.int64)
    comb_den = np.ones(n_cand, dtype=np.int64)
    independent = np.zeros(n_rows, dtype=np.bool_)
    ones = np.zeros(0, dtype=np.int64)
    for k in range(n_rows):
        n_touched, n_heap, touched = _load(acc, on, touched, 0, heap, 0, n_atoms, r_ptr, r_idx,
                                           ones, k, n_atoms + k)  # fmt: skip
        st, c, n_touched, n_heap, touched = _reduce(
            acc, on, touched, n_touched, heap, n_heap, n_atoms, pivot_row, b_start, b_len,
            b_idx, b_val,
        )  # fmt: skip
        if st == 2:
            return state, comb_ptr, comb_row[:0], comb_num[:0], comb_den, rank, True, independent
        if st == 1:
            cols = np.sort(touched[:n_touched])
            m = 0
            g = 0
            for t in range(cols.shape[0]):
                if acc[cols[t]] != 0:
                    g = _gcd(g, acc[cols[t]])
                    m += 1
            b_idx = _grow(b_idx, top + m)
            b_val = _grow(b_val, top + m)
            b_start[rank] = top
            b_len[rank] = m
            sign = 1
            for t in range(cols.shape[0]):
                j = cols[t]
                if acc[j] != 0:
                    if top == b_start[rank] and acc[j] < 0:
                        sign = -1
                    b_idx[top] = j
                    b_val[top] = sign * (acc[j] // g)
                    top += 1
            pivot_row[c] = rank
            independent[k] = True
            rank += 1
        for t in range(n_touched):
            acc[touched[t]] = 0
            on[touched[t]] = False
    n_comb = 0
    for i in range(n_cand):
        n_touched, n_heap, touched = _load(acc, on, touched, 0, heap, 0, n_atoms, c_ptr, c_idx,
                                           c_val, i, alpha)  # fmt: skip
        st, c, n_touched, n_heap, touched = _reduce(
            acc, on, touched, n_touched, heap, n_heap, n_atoms, pivot_row, b_start, b_len,
            b_idx, b_val,
        )  # fmt: skip
        if st == 0:
            state[i] = 1
            den = acc[alpha]
            g = abs(den)
            for t in range(n_touched):
                j = touched[t]
                if n_atoms <= j < alpha and acc[j] != 0:
                    g = _gcd(g, acc[j])
            sign = -1 if den > 0 else 1  # candidate = -sum(acc[j] r_j) / den
            comb_den[i] = abs(den) // g
            for t in range(n_touched):
                j = touched[t]
                if n_atoms <= j < alpha and acc[j] != 0:
                    comb_row = _grow(comb_row, n_comb + 1)
                    comb_num = _grow(comb_num, n_comb + 1)
                    comb_row[n_comb] = j - n_atoms
                    comb_num[n_comb] = sign * (acc[j] // g)
                    n_comb += 1
        elif st == 1:
            state[i] = 0
        comb_ptr[i + 1] = n_comb
        for t in range(n_touched):
            acc[touched[t]] = 0
            on[touched[t]] = False
    return (
        state,
        comb_ptr,
        comb_row[:n_comb].copy(),
        comb_num[:n_comb].copy(),
        comb_den,
        rank,
        False,
        independent,
    )


@njit(cache=True)
def weighted_sums(ptr, idx, coef, n_atoms):
    """Per column of ``coef`` (rows x checks), the sum of the rows (CSR over atoms, 0/1)
    weighted by it: an (atoms x checks) array."""
    n_checks = coef.shape[1]
    out = np.zeros((n_atoms, n_checks), dtype=np.int64)
    for k in range(ptr.shape[0] - 1):
        for t in range(ptr[k], ptr[k + 1]):
            j = idx[t]
            for c in range(n_checks):
                out[j, c] += coef[k, c]
    return out
