"""Leaf statistics of whole forests in one pass: what the weights-only tree checks read.

A fitted tree stores, for every node, its children, the training records that
reached it (``n_node_samples``) and the class distribution there. A leaf with
few records is a small group of patients (k-anonymity); a leaf where a class is
absent says that every record that lands there has one of the other classes
(class disclosure); a class held by 1 to t-1 of a leaf's records is a small
group inside the leaf. All of it follows from the stored arrays, without the
training data, so the gate can check a model file on its own.

Trees are concatenated: node arrays of every tree one after another, tree ``k``
occupying ``offsets[k]:offsets[k + 1]``. Class counts are the stored class
fractions times the node's records (in a bootstrapped forest the records are the
distinct ones that reached the node; see ``weights`` below).
"""

from __future__ import annotations

import numpy as np
from numba import njit

#: Columns of :func:`leaf_statistics`' result, one row per tree.
LEAF_COLUMNS = (
    "nodes", "leaves", "min_leaf", "small_leaves", "class_disclosure_leaves",
    "small_group_leaves", "max_depth", "uncertain_small_group_leaves",
)  # fmt: skip

#: A weighted leaf's class whose estimate ``p * records`` is below ``MARGIN * t`` may hold
#: fewer than t records (the fractions count draws or weights): it goes to review.
MARGIN = 1.5


@njit(cache=True)
def _leaf_statistics(left, right, samples, weights, fractions, offsets, t, eps):
    n_trees = offsets.size - 1
    n_classes = fractions.shape[1]
    out = np.zeros((n_trees, 8), dtype=np.int64)
    depth = np.zeros(left.size, dtype=np.int64)
    for k in range(n_trees):
        first, stop = offsets[k], offsets[k + 1]
        leaves = small = disclosed = small_group = uncertain = deepest = 0
        smallest = np.int64(-1)
        for i in range(first, stop):
            lo, hi = left[i], right[i]
            if lo != -1:  # children come after their parent in sklearn's layout
                if first + lo <= i or first + hi <= i or first + lo >= stop or first + hi >= stop:
                    out[k, 0] = -1  # malformed: a child outside the tree
                    break
                depth[first + lo] = depth[i] + 1
                depth[first + hi] = depth[i] + 1
                continue
            leaves += 1
            n = samples[i]
            deepest = max(deepest, depth[i])
            if smallest < 0 or n < smallest:
                smallest = n
            if 0 < n < t:
                small += 1
            if n > 0:
                absent = False
                few = False
                maybe = False
                for c in range(n_classes):
                    p = fractions[i, c]
                    if p != p:  # NaN: no such class (a regressor, or fewer classes)
                        continue
                    if abs(p) <= eps:
                        absent = True
                    w = weights[i]
                    m = p * n
                    if abs(w - n) > 1e-9 * n and p > eps:
                        # weighted: p counts draws (bootstrap) or weights, not records
                        if w > n and w == np.floor(w) and p * w < t:
                            few = True  # at most p * w draws, so fewer than t records
                        elif m < MARGIN * t:
                            maybe = True  # the estimate p * n is near or below t
                        continue
                    if 0 < m < t:
                        few = True
                if absent:
                    disclosed += 1
                if few:
                    small_group += 1
                elif maybe:
                    uncertain += 1
        if out[k, 0] == -1:
            continue
        out[k, 0] = stop - first
        out[k, 1] = leaves
        out[k, 2] = smallest
        out[k, 3] = small
        out[k, 4] = disclosed
        out[k, 5] = small_group
        out[k, 6] = deepest
        out[k, 7] = uncertain
    return out


def leaf_statistics(
    left: np.ndarray, right: np.ndarray, samples: np.ndarray, fractions: np.ndarray,
    offsets: np.ndarray, t: int, eps: float = 1e-8, weights: np.ndarray | None = None,
) -> np.ndarray:  # fmt: skip
    """Per tree (rows): the :data:`LEAF_COLUMNS` statistics; ``nodes`` is -1 for a tree whose
    child indices leave it (a malformed file), and its other statistics are then 0.

    ``fractions`` holds each node's class fractions, NaN where a tree has no such
    class (all NaN for a regressor: class rules then do not apply). ``t`` is the
    threshold of records; a class fraction within ``eps`` of 0 counts as absent
    (``np.isclose(p, 0)``), and a class held by ``p * records`` in (0, t) is a small
    group, as in SACRO-ML's structural attack.

    ``weights`` (``weighted_n_node_samples``; default: the records) tell what the
    fractions count. Unweighted, ``p * records`` is exact. In a bootstrapped forest
    the fractions count draws while ``samples`` counts distinct records: a class with
    ``p * draws < t`` surely holds fewer than t records (``small_group_leaves``); one
    whose estimate ``p * records`` is below ``MARGIN * t`` may (counted in
    ``uncertain_small_group_leaves``, for review: only the training data can tell).
    """
    n = left.shape[0]
    arrays = [np.ascontiguousarray(a, dtype=np.int64) for a in (left, right, samples, offsets)]
    w = arrays[2].astype(np.float64) if weights is None else np.ascontiguousarray(weights, float)
    if w.shape != (n,):
        raise ValueError("tree weights disagree in length")
    frac = np.ascontiguousarray(fractions, dtype=np.float64).reshape(n, -1)
    if not (arrays[1].shape[0] == arrays[2].shape[0] == n) or arrays[3][-1] != n:
        raise ValueError("tree arrays disagree in length")
    if (np.diff(arrays[3]) < 1).any() or arrays[3][0] != 0:
        raise ValueError("tree offsets must start at 0 and increase")
    return _leaf_statistics(arrays[0], arrays[1], arrays[2], w, frac, arrays[3], int(t), float(eps))
