"""The small groups a few outputs describe: atoms grouped by their leaves in each.

Differencing tests, for every small subset of outputs, the groups of atoms that
share a leaf in each output of the subset (outside an output counts as a leaf of
its own). With a thousand earlier releases that is a thousand subsets over some
hundred thousand atoms; one pass numbers the groups and sums their records, a
second lists the atoms of the small ones, grouped.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def small_subset_groups(leaves, sizes, weight, t):
    """Groups of atoms alike in every output (rows of ``leaves``: each atom's leaf, -1
    outside; ``sizes``: leaves per output) holding 1 .. t-1 records (``weight`` per
    atom), but the group outside every output.

    Returns ``(members, ptr, records)``: group g is ``members[ptr[g]:ptr[g + 1]]``
    (atoms ascending), groups in the order of their key (outputs' leaves, the first
    output's most significant), with ``records[g]`` records.
    """
    k, n = leaves.shape
    space = 1
    for o in range(k):
        space *= sizes[o] + 1
    key = np.empty(n, dtype=np.int64)
    total = np.zeros(space, dtype=np.float64)
    for a in range(n):
        x = 0
        for o in range(k):
            x = x * (sizes[o] + 1) + leaves[o, a] + 1
        key[a] = x
        total[x] += weight[a]
    group = np.full(space, -1, dtype=np.int64)
    n_groups = 0
    for x in range(1, space):
        if total[x] > 0.5 and total[x] < t:
            group[x] = n_groups
            n_groups += 1
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    records = np.empty(n_groups, dtype=np.float64)
    for x in range(1, space):
        if group[x] >= 0:
            records[group[x]] = total[x]
    for a in range(n):
        g = group[key[a]]
        if g >= 0:
            ptr[g + 1] += 1
    for g in range(n_groups):
        ptr[g + 1] += ptr[g]
    fill = ptr[:-1].copy()
    members = np.empty(ptr[n_groups], dtype=np.int64)
    for a in range(n):
        g = group[key[a]]
        if g >= 0:
            members[fill[g]] = a
            fill[g] += 1
    return members, ptr, records
