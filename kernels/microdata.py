"""Kernels for microdata risk: key frequencies, special uniques and local suppression.

Records arrive as an ``int64`` code matrix (records x key variables), C order,
with ``-1`` for a missing value. Nothing here knows column names, weights'
meaning or rules.

* :func:`row_groups` groups identical rows (a missing value equals only a missing
  value) with an open-addressing hash table: one pass, O(records x keys).
* :func:`wildcard_frequencies` turns the counts of distinct key patterns into
  sdcMicro's sample frequencies fk, where a missing key value matches any value
  (weighted by ``alpha`` in one direction, see the function).
* :func:`suda_scores` finds the minimal sample uniques (MSUs) of every record
  that is unique on all keys, by a depth-first walk over key subsets that
  refines the groups of the parent subset: O(patterns) per subset.
* :func:`suppress_to_k` runs sdcMicro's local-suppression heuristic.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = [
    "hashed_groups", "packed_groups", "radix_strides", "row_groups", "suda_scores",
    "suppress_to_k", "wildcard_frequencies",
]  # fmt: skip

_MIX = np.uint64(0x9E3779B97F4A7C15)
_MUL = np.uint64(0xBF58476D1CE4E5B9)


@njit(cache=True, inline="always")
def _mix(h, v):
    x = (h ^ np.uint64(v)) * _MUL
    return x ^ (x >> np.uint64(29))


@njit(cache=True)
def _popcount(x):
    c = 0
    while x:
        x &= x - 1
        c += 1
    return c


@njit(cache=True)
def _table_size(n):
    size = 4
    while size < 2 * n:
        size <<= 1
    return size


@njit(cache=True)
def _row_hash(codes, r, cols):
    h = _MIX
    for c in cols:
        h = _mix(h, codes[r, c] + 2)
    return h


@njit(cache=True)
def _same(codes, a, b, cols):
    for c in cols:
        if codes[a, c] != codes[b, c]:
            return False
    return True


@njit("Tuple((int64[::1], int64, boolean))(int64[:, ::1])", cache=True)
def radix_strides(codes: np.ndarray) -> tuple[np.ndarray, int, bool]:
    """Strides that pack a row into one int64 (a missing value is its own digit), the
    number of distinct packed values, and whether they fit (below 2**62)."""
    n, m = codes.shape
    top = np.full(m, -1, dtype=np.int64)
    for i in range(n):
        for j in range(m):
            if codes[i, j] > top[j]:
                top[j] = codes[i, j]
    strides = np.empty(m, dtype=np.int64)
    total = np.int64(1)
    limit = np.int64(1) << 62
    for j in range(m):
        strides[j] = total
        base = top[j] + 2
        if total > limit // base:
            return strides, int(total), False
        total *= base
    return strides, int(total), True


@njit("Tuple((int64[::1], int64[::1]))(int64[:, ::1], int64[::1], int64)", cache=True)
def packed_groups(
    codes: np.ndarray, strides: np.ndarray, total: int
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`row_groups` for rows packed into int64 keys: a direct table when the keys
    are few (``total`` at most 4 n), else a hash table of the keys."""
    n, m = codes.shape
    ids = np.empty(n, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    g = 0
    if total <= max(4 * n, 1 << 16):
        table = np.full(total, -1, dtype=np.int64)
        for i in range(n):
            key = 0
            for j in range(m):
                key += (codes[i, j] + 1) * strides[j]
            gid = table[key]
            if gid == -1:
                gid = g
                table[key] = g
                first[g] = i
                g += 1
            ids[i] = gid
        return ids, first[:g].copy()
    size = _table_size(n)
    mask = np.uint64(size - 1)
    slots = np.full(size, -1, dtype=np.int64)
    keys = np.empty(n, dtype=np.int64)
    for i in range(n):
        key = 0
        for j in range(m):
            key += (codes[i, j] + 1) * strides[j]
        slot = _mix(_MIX, key) & mask
        while True:
            gid = slots[slot]
            if gid == -1:
                gid = g
                slots[slot] = g
                keys[g] = key
                first[g] = i
                g += 1
                break
            if keys[gid] == key:
                break
            slot = (slot + np.uint64(1)) & mask
        ids[i] = gid
    return ids, first[:g].copy()


@njit("Tuple((int64[::1], int64[::1]))(int64[:, ::1])", cache=True)
def hashed_groups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`row_groups` by hashing whole rows (any number of keys and levels)."""
    n, m = codes.shape
    cols = np.arange(m)
    size = _table_size(n)
    mask = np.uint64(size - 1)
    table = np.full(size, -1, dtype=np.int64)
    first = np.empty(n, dtype=np.int64)
    ids = np.empty(n, dtype=np.int64)
    g = 0
    for i in range(n):
        slot = _row_hash(codes, i, cols) & mask
        while True:
            gid = table[slot]
            if gid == -1:
                table[slot] = g
                first[g] = i
                ids[i] = g
                g += 1
                break
            if _same(codes, first[gid], i, cols):
                ids[i] = gid
                break
            slot = (slot + np.uint64(1)) & mask
    return ids, first[:g].copy()


@njit("Tuple((int64[::1], int64[::1]))(int64[:, ::1])", cache=True)
def row_groups(codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Ids of identical rows (in order of first appearance) and each group's first row.

    Rows that pack into one int64 go through :func:`packed_groups`; others are hashed
    and compared column by column (:func:`hashed_groups`).
    """
    strides, total, fits = radix_strides(codes)
    if fits:
        return packed_groups(codes, strides, total)
    return hashed_groups(codes)


@njit(cache=True)
def _project_sums(patterns, rows, cols, counts, weights):
    """Group ``rows`` of ``patterns`` by their values on ``cols``; summed counts and weights.

    Returns the hash table (slot -> group), each group's representative row, and sums.
    """
    size = _table_size(rows.size)
    mask = np.uint64(size - 1)
    table = np.full(size, -1, dtype=np.int64)
    rep = np.empty(rows.size, dtype=np.int64)
    c_sum = np.zeros(rows.size, dtype=np.float64)
    w_sum = np.zeros(rows.size, dtype=np.float64)
    gid_of = np.empty(rows.size, dtype=np.int64)
    g = 0
    for t in range(rows.size):
        r = rows[t]
        slot = _row_hash(patterns, r, cols) & mask
        while True:
            gid = table[slot]
            if gid == -1:
                table[slot] = g
                rep[g] = r
                gid = g
                g += 1
                break
            if _same(patterns, rep[gid], r, cols):
                break
            slot = (slot + np.uint64(1)) & mask
        gid_of[t] = gid
        c_sum[gid] += counts[r]
        w_sum[gid] += weights[r]
    return table, rep, c_sum[:g], w_sum[:g], gid_of


@njit(cache=True)
def _lookup(table, rep, patterns, r, cols):
    mask = np.uint64(table.size - 1)
    slot = _row_hash(patterns, r, cols) & mask
    while True:
        gid = table[slot]
        if gid == -1:
            return -1
        if _same(patterns, rep[gid], r, cols):
            return gid
        slot = (slot + np.uint64(1)) & mask


@njit(
    "Tuple((float64[::1], float64[::1]))(int64[:, ::1], float64[::1], float64[::1], float64)",
    cache=True,
)
def wildcard_frequencies(
    patterns: np.ndarray, counts: np.ndarray, weights: np.ndarray, alpha: float
) -> tuple[np.ndarray, np.ndarray]:
    """fk and Fk of each distinct key pattern, a missing value matching any value.

    ``patterns``: distinct rows (``-1`` = missing), ``counts`` and ``weights`` their
    records and summed weights. Two patterns are compatible when every key is equal
    or missing in one of them. A complete pattern adds ``alpha`` times each
    compatible partly-missing pattern; a partly-missing one adds every compatible
    complete pattern and ``alpha`` times every other compatible pattern with a
    missing value (all-missing ones included); an all-missing pattern gets all
    records, and counts for complete ones only when there is a single key (sdcMicro's
    ``freqCalc`` rules).

    Patterns are matched per pair of missing-value masks, through a hash of their
    values on the keys observed in both: O(masks x patterns).
    """
    p, m = patterns.shape
    fk = counts.copy()
    wk = weights.copy()
    total_c = counts.sum()
    total_w = weights.sum()
    n_present = np.zeros(p, dtype=np.int64)
    bits = np.zeros(p, dtype=np.int64)
    for i in range(p):
        for j in range(m):
            if patterns[i, j] >= 0:
                n_present[i] += 1
            else:
                bits[i] |= np.int64(1) << j
    complete = np.flatnonzero(n_present == m)
    partly = np.flatnonzero((n_present > 0) & (n_present < m))
    withna = np.flatnonzero(n_present < m)
    if partly.size:
        order = np.argsort(bits[partly], kind="mergesort")
        partly_sorted = partly[order]
        start = 0
        while start < partly_sorted.size:
            b = bits[partly_sorted[start]]
            stop = start
            while stop < partly_sorted.size and bits[partly_sorted[stop]] == b:
                stop += 1
            cols = np.empty(m - int(_popcount(b)), dtype=np.int64)
            t = 0
            for j in range(m):
                if not (b >> j) & 1:
                    cols[t] = j
                    t += 1
            table, rep, c_sum, w_sum, gid_of = _project_sums(
                patterns, complete, cols, counts, weights
            )
            na_c = np.zeros(c_sum.size, dtype=np.float64)
            na_w = np.zeros(c_sum.size, dtype=np.float64)
            for s in range(start, stop):
                q = partly_sorted[s]
                gid = _lookup(table, rep, patterns, q, cols) if complete.size else -1
                if gid >= 0:
                    fk[q] += c_sum[gid]
                    wk[q] += w_sum[gid]
                    na_c[gid] += counts[q]
                    na_w[gid] += weights[q]
            for t in range(complete.size):
                q = complete[t]
                fk[q] += alpha * na_c[gid_of[t]]
                wk[q] += alpha * na_w[gid_of[t]]
            start = stop
    # Pairs of patterns with missing values: two distinct patterns with the same mask
    # differ on an observed key, so only classes of different masks can match; a class
    # pair is joined through a hash of the contributors' values on the keys observed in
    # both: O(partly masks x missing patterns).
    if partly.size and withna.size:
        order = np.argsort(bits[withna], kind="mergesort")
        na_sorted = withna[order]
        order = np.argsort(bits[partly], kind="mergesort")
        rc_sorted = partly[order]
        r0 = 0
        while r0 < rc_sorted.size:
            b1 = bits[rc_sorted[r0]]
            r1 = r0
            while r1 < rc_sorted.size and bits[rc_sorted[r1]] == b1:
                r1 += 1
            c0 = 0
            while c0 < na_sorted.size:
                b2 = bits[na_sorted[c0]]
                c1 = c0
                while c1 < na_sorted.size and bits[na_sorted[c1]] == b2:
                    c1 += 1
                if b2 != b1:
                    both = b1 | b2
                    cols = np.empty(m - int(_popcount(both)), dtype=np.int64)
                    t = 0
                    for j in range(m):
                        if not (both >> j) & 1:
                            cols[t] = j
                            t += 1
                    table, rep, c_sum, w_sum, _ = _project_sums(
                        patterns, na_sorted[c0:c1], cols, counts, weights
                    )
                    for s in range(r0, r1):
                        q = rc_sorted[s]
                        gid = _lookup(table, rep, patterns, q, cols)
                        if gid >= 0:
                            fk[q] += alpha * c_sum[gid]
                            wk[q] += alpha * w_sum[gid]
                c0 = c1
            r0 = r1
    if m == 1:  # one key: complete records count the missing ones too (sdcMicro's rule)
        all_c = 0.0
        all_w = 0.0
        for i in range(p):
            if n_present[i] == 0:
                all_c += counts[i]
                all_w += weights[i]
        for q in complete:
            fk[q] += alpha * all_c
            wk[q] += alpha * all_w
    for i in range(p):
        if n_present[i] == 0:
            fk[i] = total_c
            wk[i] = total_w
    return fk, wk


@njit(cache=True)
def _compact(keys, counts, table, rep_key, out_gid, out_count):
    """Group int64 ``keys``: ids into ``out_gid``, summed ``counts`` into ``out_count``."""
    table[:] = -1
    mask = np.uint64(table.size - 1)
    g = 0
    for i in range(keys.size):
        k = keys[i]
        slot = _mix(_MIX, k) & mask
        while True:
            gid = table[slot]
            if gid == -1:
                table[slot] = g
                rep_key[g] = k
                out_count[g] = 0
                gid = g
                g += 1
                break
            if rep_key[gid] == k:
                break
            slot = (slot + np.uint64(1)) & mask
        out_gid[i] = gid
        out_count[gid] += counts[i]
    return g


@njit(cache=True)
def _compact_dense(keys, counts, table, out_gid, out_count):
    """:func:`_compact` for keys below ``table.size``, through a direct table."""
    table[:] = -1
    g = 0
    for i in range(keys.size):
        k = keys[i]
        gid = table[k]
        if gid == -1:
            gid = g
            table[k] = g
            out_count[g] = 0
            g += 1
        out_gid[i] = gid
        out_count[gid] += counts[i]
    return g


@njit(
    "Tuple((float64[::1], float64[:, ::1], int64[::1], int64[::1], int64))"
    "(int64[:, ::1], int64[::1], int64[::1], float64[::1], int64, int64)",
    cache=True,
)
def suda_scores(
    patterns: np.ndarray,
    counts: np.ndarray,
    cards: np.ndarray,
    size_weight: np.ndarray,
    max_size: int,
    direct: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """Minimal sample uniques (MSUs) of every pattern held by one record.

    ``patterns``: distinct key rows (``-1`` = missing) with their record ``counts``;
    ``cards[j]``: codes of key j are below it; ``size_weight[s]``: what an MSU of
    ``s`` keys adds to the score. A record's MSU is a set S of keys on which its
    values occur once in the data and no proper subset of S has that property; a
    set holding a missing value of the record is never an MSU; sets of more than
    ``max_size`` keys are not searched. A subset's groups are numbered through a
    direct table when its possible keys are at most ``direct`` (else a hash table).

    Returns, per pattern: the score (sum of ``size_weight`` over its MSUs), the
    per-key sums of the weights of the MSUs holding the key, the number of MSUs
    and the size of the smallest (0 if none); and the number of key subsets visited.
    """
    p, m = patterns.shape
    cand = np.flatnonzero(counts == 1)
    u = cand.size
    n_sets = np.int64(1) << m
    words = max(np.int64(1), n_sets >> 6)
    uniq = np.zeros((u, words), dtype=np.uint64)
    score = np.zeros(p, dtype=np.float64)
    contrib = np.zeros((p, m), dtype=np.float64)
    n_msu = np.zeros(p, dtype=np.int64)
    smallest = np.zeros(p, dtype=np.int64)
    visited = 0
    if u == 0 or max_size < 1:
        return score, contrib, n_msu, smallest, visited
    if counts.sum() == 1:  # one record: unique on the empty set, so it has no MSU
        return score, contrib, n_msu, smallest, visited
    depth_max = min(max_size, m)
    gids = np.zeros((depth_max + 1, p), dtype=np.int64)
    valid = np.ones((depth_max + 1, u), dtype=np.bool_)
    set_mask = np.zeros(depth_max + 1, dtype=np.int64)
    next_j = np.zeros(depth_max + 1, dtype=np.int64)
    keys = np.empty(p, dtype=np.int64)
    group_count = np.empty(p, dtype=np.int64)
    rep_key = np.empty(p, dtype=np.int64)
    table = np.empty(_table_size(p), dtype=np.int64)
    n_groups = np.ones(depth_max + 1, dtype=np.int64)  # groups of the subset at each depth
    dense = np.empty(max(direct, 0), dtype=np.int64)
    depth = 0
    while depth >= 0:
        j = next_j[depth]
        if j >= m or depth >= depth_max:
            depth -= 1
            continue
        next_j[depth] = j + 1
        parent = gids[depth]
        stride = cards[j] + 1
        for i in range(p):
            keys[i] = parent[i] * stride + patterns[i, j] + 1
        child = gids[depth + 1]
        span = n_groups[depth] * stride
        if span <= dense.size:  # few possible keys: a direct table instead of a hash
            n_groups[depth + 1] = _compact_dense(keys, counts, dense[:span], child, group_count)
        else:
            n_groups[depth + 1] = _compact(keys, counts, table, rep_key, child, group_count)
        visited += 1
        sm = set_mask[depth] | (np.int64(1) << j)
        word = sm >> 6
        bit = np.uint64(1) << np.uint64(sm & 63)
        still_shared = 0
        for t in range(u):
            ok = valid[depth, t] and patterns[cand[t], j] >= 0
            valid[depth + 1, t] = ok
            if group_count[child[cand[t]]] == 1:
                if ok:
                    uniq[t, word] |= bit
            elif ok:
                still_shared += 1
        set_mask[depth + 1] = sm
        next_j[depth + 1] = j + 1
        if still_shared > 0:  # else every superset is non-minimal for every record
            depth += 1
    # A set is an MSU when the record is unique on it and on none of its proper subsets.
    # Subtrees skipped above hold only supersets of sets already unique, so the bits are
    # closed upwards first (a set's bit is also set when a subset's is): subsets have
    # smaller masks, so one pass in increasing mask order suffices.
    for t in range(u):
        r = cand[t]
        for sm in range(1, n_sets):
            below = False
            for j in range(m):
                if (sm >> j) & 1:
                    sub = sm ^ (np.int64(1) << j)
                    if sub and (uniq[t, sub >> 6] >> np.uint64(sub & 63)) & np.uint64(1):
                        below = True
                        break
            own = (uniq[t, sm >> 6] >> np.uint64(sm & 63)) & np.uint64(1)
            if below:
                uniq[t, sm >> 6] |= np.uint64(1) << np.uint64(sm & 63)
                continue
            if not own:
                continue
            size = _popcount(sm)
            w = size_weight[size]
            score[r] += w
            n_msu[r] += 1
            if smallest[r] == 0 or size < smallest[r]:
                smallest[r] = size
            for j in range(m):
                if (sm >> j) & 1:
                    contrib[r, j] += w
    return score, contrib, n_msu, smallest, visited


@njit(cache=True, inline="always")
def _distance(codes, r, s, m, best):
    """Keys where both values are present and differ (stops past ``best``), and their bits."""
    d = 0
    msk = np.int64(0)
    for j in range(m):
        a = codes[r, j]
        b = codes[s, j]
        if a >= 0 and b >= 0 and a != b:
            d += 1
            msk |= np.int64(1) << j
            if d > best:
                break
    return d, msk


@njit(cache=True)
def _choose(codes, r, order, hint):
    """The key to suppress in record ``r`` (sdcMicro's rule), or -1 if it has none left.

    The candidates are the records at the smallest positive distance; the key is the
    first in ``order`` on which one of them differs. Once a record at distance 1
    differs on the first key ``r`` still has in ``order``, nothing can change the
    choice: the records in ``hint`` (likely such records) are looked at first.
    """
    n, m = codes.shape
    first_present = -1
    for t in range(m):
        if codes[r, order[t]] >= 0:
            first_present = order[t]
            break
    if first_present < 0:
        return -1
    first_bit = np.int64(1) << first_present
    for s in hint:
        d, msk = _distance(codes, r, s, m, 1)
        if d == 1 and msk & first_bit:
            return first_present
    best = m + 1
    diff = np.int64(0)
    for s in range(n):
        d, msk = _distance(codes, r, s, m, best)
        if d == 0 or d > best:
            continue
        if d < best:
            best = d
            diff = msk
        else:
            diff |= msk
        if best == 1 and diff & first_bit:
            break  # no record can change the choice any more
    if best == m + 1:  # every record is compatible: suppress the first present key
        return first_present
    for t in range(m):
        if (diff >> order[t]) & 1:
            return order[t]
    return -1


@njit("int64(int64[:, ::1], int64[::1], int64[::1])", cache=True)
def suppress_to_k(codes: np.ndarray, order: np.ndarray, violators: np.ndarray) -> int:
    """One pass of sdcMicro's local suppression, in place on ``codes``.

    ``violators`` are the records with ``fk < k`` at the start of the pass, in order
    of decreasing risk 1/fk (ties in row order); ``order`` is the suppression order
    of the keys (least important first). For each violator in turn, the candidates
    are the records at the smallest positive distance (keys where both values are
    present and differ); the first key in ``order`` on which some candidate differs
    is set to missing at once, so later violators see the change. A violator at
    distance 0 from every record (possible when a record has every key missing, which
    complete records do not count) loses its first present key in ``order``, as
    sdcMicro does for alpha < 1 (with alpha = 1 sdcMicro stops with an error there);
    alpha enters only through fk, which chose the violators.
    Returns the number of suppressions, or ``-1 - r`` when record ``r`` has no key left.
    """
    # Hints: records with the same values (missing as a value) on every key but the
    # first in ``order``, grouped once at the start of the pass.
    n = codes.shape[0]
    other = codes.copy()
    other[:, order[0]] = 0
    group, first = row_groups(other)
    starts = np.zeros(first.size + 1, dtype=np.int64)
    for i in range(n):
        starts[group[i] + 1] += 1
    for g in range(first.size):
        starts[g + 1] += starts[g]
    members = np.empty(n, dtype=np.int64)
    fill = starts[:-1].copy()
    for i in range(n):
        members[fill[group[i]]] = i
        fill[group[i]] += 1
    done = 0
    for t in range(violators.size):
        r = violators[t]
        g = group[r]
        v = _choose(codes, r, order, members[starts[g] : starts[g + 1]])
        if v < 0:
            return -1 - r
        codes[r, v] = -1
        done += 1
    return done
