"""Combined codes: the finest partition of records that several classifications induce.

Differencing works on *atoms*: groups of records that every output treats alike
(same cell in each output, or outside its population alike). Each output gives a
code per record (``-1`` for a record outside its population); combining the codes
of all outputs pairwise gives every record its atom. ``combine_codes`` numbers the
distinct pairs ``(a[i], b[i])`` in order of first appearance; applied output after
output it yields the atoms, with their sizes from ``np.bincount``. With many
outputs, ``mix_codes`` hashes every output's code into one 64-bit word per record
instead (one pass each, no table), and the caller checks the grouping exactly.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.typed import Dict

#: Largest dense pair table ``combine_codes`` allocates (int64 entries: 128 MB).
MAX_DENSE = 16_000_000


@njit(cache=True)
def _combine_dense(a, b, n_a, n_b):
    """Pairs numbered through a dense (n_a x (n_b + 1)) table; codes b may be -1."""
    table = np.full(n_a * (n_b + 1), -1, dtype=np.int64)
    n = a.shape[0]
    out = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        key = a[i] * (n_b + 1) + (b[i] + 1)
        c = table[key]
        if c < 0:
            c = k
            table[key] = k
            first[k] = i
            k += 1
        out[i] = c
    return out, first[:k].copy()


@njit(cache=True)
def _combine_hashed(a, b, n_b):
    """Pairs numbered through a hash map (for many distinct codes)."""
    seen = Dict.empty(key_type=types.int64, value_type=types.int64)
    n = a.shape[0]
    out = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    k = 0
    for i in range(n):
        key = a[i] * (n_b + 1) + (b[i] + 1)
        c = seen.get(key, -1)
        if c < 0:
            c = k
            seen[key] = k
            first[k] = i
            k += 1
        out[i] = c
    return out, first[:k].copy()


@njit(cache=True)
def _mix(h, codes, salt):
    k = np.uint64(salt) * np.uint64(0x9E3779B97F4A7C15)
    for i in range(h.shape[0]):
        x = (h[i] ^ (np.uint64(codes[i] + 1) + k)) * np.uint64(0xBF58476D1CE4E5B9)
        h[i] = x ^ (x >> np.uint64(31))


def mix_codes(h: np.ndarray, codes: np.ndarray, salt: int) -> None:
    """Mix ``codes`` (>= -1) into the running 64-bit hashes ``h`` in place; ``salt`` tells
    outputs apart (records alike in every output keep equal hashes).

    Examples
    --------
    >>> h = np.zeros(3, dtype=np.uint64)
    >>> mix_codes(h, np.array([4, 4, -1]), 1)
    >>> bool(h[0] == h[1]), bool(h[0] == h[2])
    (True, False)
    """
    if h.dtype != np.uint64 or h.shape != codes.shape:
        raise ValueError("mix_codes needs a uint64 hash per code")
    _mix(h, np.ascontiguousarray(codes, dtype=np.int64), int(salt))


def combine_codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Number the distinct pairs ``(a[i], b[i])`` 0, 1, ... in order of first appearance.

    ``a`` holds codes ``0..`` (an earlier combination), ``b`` codes ``-1..`` (-1: the
    record is outside this output). Returns each record's new code and, per new code,
    the first record that has it.

    Examples
    --------
    >>> codes, first = combine_codes(np.array([0, 0, 1, 1, 0]), np.array([2, -1, 2, 2, 2]))
    >>> codes.tolist(), first.tolist()
    ([0, 1, 2, 2, 0], [0, 1, 2])
    """
    a = np.ascontiguousarray(a, dtype=np.int64)
    b = np.ascontiguousarray(b, dtype=np.int64)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("combine_codes needs two 1-D code arrays of one length")
    if a.size == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    if a.min() < 0 or b.min() < -1:
        raise ValueError("codes must be >= 0 (a) and >= -1 (b)")
    n_a, n_b = int(a.max()) + 1, int(b.max()) + 1
    if n_a * (n_b + 1) <= max(MAX_DENSE, 0) and n_a * (n_b + 1) <= 4 * a.size + 1024:
        return _combine_dense(a, b, n_a, n_b)
    if n_a * (n_b + 1) >= 2**62:
        raise ValueError("too many distinct codes to combine")
    return _combine_hashed(a, b, n_b)
