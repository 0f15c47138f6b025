"""Slow, exact twin of the secondary-suppression kernel, written from the definitions alone.

A table is z = X^T y: column j of the (inner x published) 0/1 matrix X marks the inner
cells that published cell j sums. Cell j is *determined* by a set S of cells when x_j lies
in the rational span of {x_s : s in S}: an attacker who knows the cells in S can then
compute cell j exactly. Every span question here is an exact rank test over the
rationals (``fractions.Fraction``), so the tests can trust it where a floating-point
kernel could be fooled by round-off. Nothing here is shared with the ``sdc`` package.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

Vector = list[Fraction]


def _dense(X: object) -> np.ndarray:
    """X as a dense 2-D array, whether it came sparse or not."""
    arr = X.toarray() if sp.issparse(X) else np.asarray(X)
    if arr.ndim != 2:
        raise ValueError(f"X must be 2-D, got shape {arr.shape}")
    return arr


def _columns(X: object) -> list[Vector]:
    """The columns of X as exact rational vectors."""
    arr = _dense(X)
    return [[Fraction(v.item()) for v in arr[:, j]] for j in range(arr.shape[1])]


def _rank(vectors: Sequence[Vector]) -> int:
    """Rank of a set of vectors by plain Gaussian elimination in exact arithmetic."""
    rows = [list(v) for v in vectors]
    if not rows:
        return 0
    rank = 0
    for col in range(len(rows[0])):
        pivot = next((i for i in range(rank, len(rows)) if rows[i][col] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        top = rows[rank]
        for i in range(rank + 1, len(rows)):
            if rows[i][col] != 0:
                factor = rows[i][col] / top[col]
                rows[i] = [a - factor * b for a, b in zip(rows[i], top, strict=True)]
        rank += 1
        if rank == len(rows):
            break
    return rank


def _spans(columns: Sequence[Vector], basis: Sequence[int], j: int) -> bool:
    """Whether column j lies in the span of the basis columns: adding it keeps the rank."""
    base = [columns[s] for s in basis]
    return _rank(base) == _rank([*base, columns[j]])


def in_span(X: object, basis_cols: Sequence[int], j: int) -> bool:
    """Whether published cell j is computable from the cells in ``basis_cols`` (exact test)."""
    return _spans(_columns(X), [int(s) for s in basis_cols], int(j))


def determined(X: object, published: np.ndarray) -> np.ndarray:
    """For every published cell, whether the cells marked ``published`` pin its value down."""
    columns = _columns(X)
    mask = _mask(published, len(columns), "published")
    basis = [int(s) for s in np.flatnonzero(mask)]
    return np.array([bool(mask[j]) or _spans(columns, basis, j) for j in range(len(columns))])


def _mask(values: np.ndarray | None, n: int, name: str) -> np.ndarray:
    """A boolean mask of length n (all False when absent), checked rather than broadcast."""
    if values is None:
        return np.zeros(n, dtype=bool)
    mask = np.asarray(values, dtype=bool)
    if mask.shape != (n,):
        raise ValueError(f"{name} must have shape ({n},), got {mask.shape}")
    return mask


def _any_primary_in_span(
    columns: Sequence[Vector], basis: Sequence[int], primaries: Sequence[int], skip: int = -1
) -> bool:
    """Whether the cells in ``basis`` determine some primary other than ``skip``.

    Same rank test as ``_spans``, with the basis rank computed once for all primaries.
    """
    base = [columns[s] for s in basis]
    rank = _rank(base)
    return any(_rank([*base, columns[p]]) == rank for p in primaries if p != skip)


def reference_gauss_suppress(
    X: object,
    candidates: Sequence[int],
    primary: np.ndarray,
    forced: np.ndarray | None = None,
    singleton: np.ndarray | None = None,
) -> np.ndarray:
    """Greedy secondary suppression: publish candidates in order unless that exposes a primary.

    ``candidates`` lists every non-primary cell once, most wanted published first. A forced
    cell is published unchecked (the caller answers for the result). Any other candidate is
    suppressed when the published cells plus it would determine a primary, or, with
    ``singleton`` given, when they would let the sole contributor of a singleton cell s
    (who knows s) determine a primary other than s. Returns the suppressed mask, primaries
    included.
    """
    columns = _columns(X)
    n_pub = len(columns)
    is_primary = _mask(primary, n_pub, "primary")
    is_forced = _mask(forced, n_pub, "forced")
    is_singleton = _mask(singleton, n_pub, "singleton")
    order = [int(c) for c in candidates]

    if np.any(is_primary & is_forced):
        clash = np.flatnonzero(is_primary & is_forced).tolist()
        raise ValueError(f"cells {clash} are both primary and forced")
    out_of_range = [c for c in order if not 0 <= c < n_pub]
    if out_of_range:
        raise ValueError(f"candidates {out_of_range} are not cells of a {n_pub}-cell table")
    if len(set(order)) != len(order):
        raise ValueError("candidates repeat a cell")
    if sorted(order) != np.flatnonzero(~is_primary).tolist():
        raise ValueError("candidates must list every non-primary cell and no primary cell")

    primaries = [int(p) for p in np.flatnonzero(is_primary)]
    singletons = [int(s) for s in np.flatnonzero(is_singleton)]
    published: list[int] = []
    for c in order:
        trial = [*published, c]
        if is_forced[c]:
            published.append(c)
        elif _any_primary_in_span(columns, trial, primaries):
            continue
        elif any(_any_primary_in_span(columns, [*trial, s], primaries, s) for s in singletons):
            continue
        else:
            published.append(c)

    suppressed = np.ones(n_pub, dtype=bool)
    suppressed[published] = False
    return suppressed


def lp_interval(
    X: object,
    values: np.ndarray,
    published: np.ndarray,
    j: int,
    lower: np.ndarray | None = None,
    upper: np.ndarray | None = None,
) -> tuple[float, float]:
    """The range an attacker can infer for cell j from the published cells and the bounds.

    Minimises and maximises x_j^T y subject to X[:, P]^T y = values[P] and
    lower <= y <= upper (default 0 and +inf); an unbounded side is returned as -inf/+inf.
    """
    arr = _dense(X).astype(float)
    n_inner, n_pub = arr.shape
    mask = _mask(published, n_pub, "published")
    vals = np.asarray(values, dtype=float)
    if vals.shape != (n_pub,):
        raise ValueError(f"values must have shape ({n_pub},), got {vals.shape}")
    lo = np.broadcast_to(np.asarray(0.0 if lower is None else lower, dtype=float), n_inner)
    hi = np.broadcast_to(np.asarray(np.inf if upper is None else upper, dtype=float), n_inner)
    bounds = [
        (None if math.isinf(a) else float(a), None if math.isinf(b) else float(b))
        for a, b in zip(lo, hi, strict=True)
    ]
    a_eq = arr[:, mask].T if mask.any() else None
    b_eq = vals[mask] if mask.any() else None
    target = arr[:, int(j)]

    def solve(sign: float) -> float:
        res = linprog(sign * target, A_eq=a_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if res.status == 3:
            return sign * -math.inf
        if res.status != 0:
            raise ValueError(f"the attacker's LP failed for cell {j}: {res.message}")
        return sign * float(res.fun)

    return solve(1.0), solve(-1.0)


def reference_candidate_order(X: object, freq: Sequence[float], secondary_zeros: bool) -> list[int]:
    """GaussSuppression's ``CandidatesDefault`` order, from its documentation and definition.

    Cells are ranked by ``(freq + 1) + 0.99 * tie / max(tie)``, decreasing, where ``tie``
    is ``|X^T X (freq + 1)|`` (a cell computed from many inner cells wins a tie); unless
    ``secondary_zeros``, every zero cell comes first (it is published first). R's ``order``
    is stable, so equal keys keep the column order.
    """
    arr = _dense(X).astype(float)
    f1 = np.asarray(freq, dtype=float) + 1.0
    tie = np.abs(arr.T @ (arr @ f1))
    scale = max(float(tie.max()), 1e-300)
    key = [float(a) + 0.99 * float(b) / scale for a, b in zip(f1, tie, strict=True)]
    if not secondary_zeros:
        top = max(key)
        key = [k + 0.01 + top if f == 0 else k for k, f in zip(key, freq, strict=True)]
    return sorted(range(len(key)), key=lambda j: -key[j])
