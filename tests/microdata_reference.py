"""Plain twins of the microdata kernels, written from sdcMicro's definitions alone.

Slow and obvious on purpose (Python loops, itertools, pandas): the property tests
hold the Numba kernels to them, so they share no code or shortcut with them.
Codes are lists of tuples; ``-1`` (or ``None``) is a missing value.
"""

from __future__ import annotations

import itertools
import math
from collections import Counter

import numpy as np


def _missing(x: int) -> bool:
    return x is None or x < 0


def row_groups(rows: list[tuple[int, ...]]) -> list[int]:
    """Group id of each row, ids in order of first appearance."""
    seen: dict[tuple[int, ...], int] = {}
    return [seen.setdefault(tuple(r), len(seen)) for r in rows]


def fk_Fk(rows: list[tuple[int, ...]], weights: list[float], alpha: float = 1.0):
    """fk and Fk of every record by the definition, comparing every pair of records."""
    n = len(rows)
    m = len(rows[0])
    fk, Fk = [], []
    for i in range(n):
        x = rows[i]
        n_missing = sum(_missing(v) for v in x)
        if n_missing == m:
            fk.append(float(n))
            Fk.append(float(sum(weights)))
            continue
        f = F = 0.0
        for j in range(n):
            y = rows[j]
            pairs = zip(x, y, strict=True)
            if any(not _missing(a) and not _missing(b) and a != b for a, b in pairs):
                continue
            y_missing = sum(_missing(v) for v in y)
            if tuple(x) == tuple(y):
                share = 1.0
            elif n_missing == 0:  # complete record: partly-missing others count alpha
                share = alpha if 0 < y_missing < m or (m == 1 and y_missing == m) else 0.0
            else:  # partly missing: complete others fully, others with NA alpha
                share = 1.0 if y_missing == 0 else alpha
            f += share
            F += share * weights[j]
        fk.append(f)
        Fk.append(F)
    return np.array(fk), np.array(Fk)


def suda(rows: list[tuple[int, ...]], size_weight: list[float], max_size: int):
    """Score, per-key contribution sums, MSU count and smallest MSU of every record."""
    n, m = len(rows), len(rows[0])
    counts = Counter(tuple(r) for r in rows)
    score = [0.0] * n
    contrib = [[0.0] * m for _ in range(n)]
    n_msu = [0] * n
    smallest = [0] * n
    proj: dict[tuple[int, ...], Counter] = {}
    for size in range(1, m + 1):
        for s in itertools.combinations(range(m), size):
            proj[s] = Counter(tuple(r[j] for j in s) for r in rows)

    def unique(i: int, s: tuple[int, ...]) -> bool:
        if not s:
            return n == 1
        return proj[s][tuple(rows[i][j] for j in s)] == 1

    for i in range(n):
        if counts[tuple(rows[i])] != 1:
            continue
        for size in range(1, min(max_size, m) + 1):
            for s in itertools.combinations(range(m), size):
                if any(_missing(rows[i][j]) for j in s) or not unique(i, s):
                    continue
                subsets = itertools.chain.from_iterable(
                    itertools.combinations(s, t) for t in range(size)
                )
                if any(unique(i, t) and not any(_missing(rows[i][j]) for j in t)
                       for t in subsets):  # fmt: skip
                    continue
                score[i] += size_weight[size]
                n_msu[i] += 1
                smallest[i] = size if smallest[i] == 0 else min(smallest[i], size)
                for j in s:
                    contrib[i][j] += size_weight[size]
    return np.array(score), np.array(contrib), np.array(n_msu), np.array(smallest)


def local_suppression_pass(rows: list[list[int]], order: list[int], violators: list[int]) -> int:
    """sdcMicro's rule for one pass, record by record, on ``rows`` in place."""
    m = len(rows[0])
    done = 0
    for r in violators:
        dist = []
        for s in range(len(rows)):
            d = sum(
                1
                for a, b in zip(rows[r], rows[s], strict=True)
                if not _missing(a) and not _missing(b) and a != b
            )
            dist.append(d)
        positive = [d for d in dist if d > 0]
        present = [v for v in order if not _missing(rows[r][v])]
        if not present:
            return -1 - r
        if not positive:  # compatible with everyone: the first present key in order
            rows[r][present[0]] = -1
            done += 1
            continue
        best = min(positive)
        candidates = [s for s in range(len(rows)) if dist[s] == best]
        chosen = None
        for v in order:
            if _missing(rows[r][v]):
                continue
            if any(not _missing(rows[s][v]) and rows[s][v] != rows[r][v] for s in candidates):
                chosen = v
                break
        assert chosen is not None and m > 0
        rows[r][chosen] = -1
        done += 1
    return done


def size_weights(m: int) -> list[float]:
    return [float(math.factorial(m - k)) for k in range(m + 1)]
