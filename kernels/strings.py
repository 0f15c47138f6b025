"""Codes of a string column read straight from its Arrow buffers.

An Arrow string array is a byte buffer, an offsets buffer (row i is bytes
``offsets[i]:offsets[i+1]``) and a validity bitmap. One pass keys each row's
bytes (packed when short, FNV-1a otherwise) into an open-addressing table of the distinct strings
seen so far; a row's code is the position of its string in first-seen order.
No Python string is made per row: the caller decodes the few distinct strings.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit, types

__all__ = ["hash_codes", "string_hashes"]


def _hash_rows(
    data, offsets, validity, start, row, n, codes, slots, keys, long_key, first, n_unique
):
    """Code rows ``row..n-1`` until done or the table is half full; return (next row, uniques).

    The arrays keep their size within a call (so the loop compiles tight); the caller
    grows them and calls again.
    """
    size = slots.shape[0]
    shift = np.uint64(64 - int(np.log2(size)))
    capacity = size // 2
    check_nulls = validity.shape[0] > 0
    while row < n and n_unique < capacity:
        i = row
        row += 1
        j = start + i
        if check_nulls and (validity[j >> 3] >> (j & 7)) & 1 == 0:
            codes[i] = -1
            continue
        lo = np.intp(offsets[j])
        hi = np.intp(offsets[j + 1])
        is_long = hi - lo > 7
        if is_long:
            key = np.uint64(0xCBF29CE484222325)
            for p in range(lo, hi):
                key = (key ^ np.uint64(data[p])) * np.uint64(0x100000001B3)
        else:
            key = np.uint64(hi - lo)
            for p in range(lo, hi):
                key = (key << np.uint64(8)) | np.uint64(data[p])
        slot = np.intp((key * np.uint64(0x9E3779B97F4A7C15)) >> shift)
        u = slots[slot]
        while u >= 0:
            if keys[u] == key and long_key[u] == is_long:
                if not is_long:
                    break
                r = start + first[u]
                olo = np.intp(offsets[r])
                if np.intp(offsets[r + 1]) - olo == hi - lo:
                    same = True
                    for p in range(hi - lo):
                        if data[lo + p] != data[olo + p]:
                            same = False
                            break
                    if same:
                        break
            slot = (slot + 1) & (size - 1)
            u = slots[slot]
        if u < 0:  # a new distinct string
            u = n_unique
            keys[u] = key
            long_key[u] = is_long
            first[u] = i
            slots[slot] = u
            n_unique += 1
        codes[i] = u
    return row, n_unique


@njit(cache=True, nogil=True)
def _rehash(keys, n_unique, size):
    slots = np.full(size, -1, dtype=np.int64)
    shift = np.uint64(64 - int(np.log2(size)))
    for v in range(n_unique):
        s = np.intp((keys[v] * np.uint64(0x9E3779B97F4A7C15)) >> shift)
        while slots[s] >= 0:
            s = (s + 1) & (size - 1)
        slots[s] = v
    return slots


def _grow(arr: np.ndarray, size: int) -> np.ndarray:
    out = np.empty(size, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


def _buffers_signature(result: types.Type, offsets: types.Type, *rest: types.Type) -> Any:
    """(data, offsets, validity, start, n, ...): Arrow's buffers arrive read-only."""
    u1 = types.Array(types.uint8, 1, "C", readonly=True)
    off = types.Array(offsets, 1, "C", readonly=True)
    return result(u1, off, u1, types.int64, types.int64, *rest)


_ROWS_REST = (
    types.int64, types.Array(types.int64, 1, "C"), types.Array(types.int64, 1, "C"),
    types.Array(types.uint64, 1, "C"), types.Array(types.boolean, 1, "C"),
    types.Array(types.int64, 1, "C"), types.int64,
)  # fmt: skip
_hash_rows_jit = njit(
    [_buffers_signature(types.UniTuple(types.int64, 2), t, *_ROWS_REST)
     for t in (types.int32, types.int64)],
    cache=True, nogil=True,  # columns are coded in parallel threads
)(_hash_rows)  # fmt: skip


def hash_codes(
    data: np.ndarray, offsets: np.ndarray, validity: np.ndarray, start: int, n: int
) -> tuple[np.ndarray, np.ndarray]:
    """Codes (first-seen order, -1 for null) and the first row of each distinct string.

    Parameters
    ----------
    data : (bytes,) uint8, the character buffer.
    offsets : (m,) int32 or int64, the offsets buffer; row i spans
        ``offsets[start + i]:offsets[start + i + 1]``.
    validity : (b,) uint8, the validity bitmap (bit ``start + i``); empty: no nulls.
    start : int, the array's offset into its buffers.
    n : int, rows.

    Returns
    -------
    codes : (n,) int64, -1 where the row is null.
    first : (u,) int64, the row where each distinct string is first seen.

    Strings of up to 7 bytes are their own key (bytes and length packed in 64
    bits), so they are compared without reading the buffer again; longer ones are
    keyed by their FNV-1a hash and compared byte by byte on a match.
    """
    codes = np.empty(n, dtype=np.int64)
    size = 1024
    slots = np.full(size, -1, dtype=np.int64)
    keys = np.empty(size // 2, dtype=np.uint64)
    long_key = np.empty(size // 2, dtype=np.bool_)
    first = np.empty(size // 2, dtype=np.int64)
    row, n_unique = 0, 0
    while True:
        row, n_unique = _hash_rows_jit(
            data, offsets, validity, start, row, n, codes, slots, keys, long_key, first,
            n_unique,
        )  # fmt: skip
        if row >= n:
            return codes, first[:n_unique].copy()
        size *= 2  # half full: twice the table
        keys, long_key, first = (_grow(a, size // 2) for a in (keys, long_key, first))
        slots = _rehash(keys, n_unique, size)


@njit(
    [_buffers_signature(types.Array(types.uint64, 1, "C"), t) for t in (types.int32, types.int64)],
    cache=True,
)
def string_hashes(data, offsets, validity, start, n):
    """FNV-1a hash (64 bit) of each row's bytes; 0 for a null row (arguments as ``hash_codes``).

    Equal strings hash equal in any array, so rows can be routed by it (a contributor's
    rows to one bucket) without a table of the distinct strings.
    """
    out = np.zeros(n, dtype=np.uint64)
    check_nulls = validity.shape[0] > 0
    for i in range(n):
        j = start + i
        if check_nulls and (validity[j >> 3] >> (j & 7)) & 1 == 0:
            continue
        h = np.uint64(0xCBF29CE484222325)
        for p in range(np.intp(offsets[j]), np.intp(offsets[j + 1])):
            h = (h ^ np.uint64(data[p])) * np.uint64(0x100000001B3)
        out[i] = h
    return out
