"""Audit of a suppression pattern: what an attacker can still infer about each hidden cell.

For every suppressed cell the attacker's feasible interval is the min and max of
the cell over all tables that agree with the published cells and the known
bounds (counts and non-negative magnitudes are >= 0). Each bound is one LP,
solved with HiGHS. The LPs are small: published inner cells are constants, and
the unknowns split into independent components (cells linked by a published
relation); a cell's bound is the sum of its per-component bounds.

Protection levels (how far the interval must reach beyond the true value) come
from the rules a primary fails: p%: p*x1 - (X - x1 - x2); pq: (p/q)*x1 - (X - x1
- x2); nk: (x1 + ... + xn)/k - X; anything else 0, which means "not exactly
computable" (interval of positive width).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog
from scipy.sparse.csgraph import connected_components

from sdc.check import TableCheck

#: Width below which an interval counts as a point (the cell is disclosed exactly).
EXACT_WIDTH = 1e-6


@dataclass(frozen=True)
class Audit:
    """Per published cell: feasible interval and the levels it must reach (NaN where published)."""

    lower: np.ndarray
    upper: np.ndarray
    need_lower: np.ndarray
    need_upper: np.ndarray
    ok: np.ndarray  # True where published, or suppressed and protected enough

    @property
    def passed(self) -> bool:
        return bool(self.ok.all())


def protection_levels(check: TableCheck) -> np.ndarray:
    """Upper (= lower) protection level of every cell from the dominance rules it fails."""
    ev = check.evidence
    top = ev.top_or_zero()
    total = ev.sum
    level = np.zeros(ev.n_cells)
    for r in check.results:
        params: Any = check.ruleset.params.get(r.rule)
        if r.rule == "p-percent":
            need = params.p * top[:, 0] - (total - top[:, 0] - top[:, 1])
        elif r.rule == "pq":
            need = params.p / params.q * top[:, 0] - (total - top[:, 0] - top[:, 1])
        elif r.rule == "nk-dominance":
            need = top[:, : params.n].sum(axis=1) / params.k - total
        else:
            continue
        level = np.where(r.fail, np.maximum(level, need), level)
    return np.maximum(level, 0.0)


def audit(
    x: sp.spmatrix,
    values: np.ndarray,
    suppressed: np.ndarray,
    levels: np.ndarray,
    lower_bound: float = 0.0,
) -> Audit:
    """Intervals of the suppressed cells of the table z = x^T y with ``values`` = z.

    ``x`` is (inner x published); ``levels`` the protection level per published
    cell (checked for primaries, reported for all); ``lower_bound`` the bound on
    every inner cell (``-inf`` when values may be negative).

    Examples
    --------
    Geurts' example from the Handbook on SDC: four suppressed cells of a 3x2 table.

    >>> from sdc.table_model import TableModel
    >>> tm = TableModel(("r", "c"), (("1", "2", "3"), ("a", "b")), n_rows=1)
    >>> x = tm.model_matrix()
    >>> z = x.T @ np.array([4, 3, 2, 1, 3, 3])
    >>> hidden = np.isin(np.arange(12), [0, 1, 3, 4])
    >>> a = audit(x, z, hidden, np.zeros(12))
    >>> float(a.lower[0]), float(a.upper[0])
    (3.0, 6.0)
    """
    xc = sp.csc_matrix(x, dtype=np.float64)
    n_inner, n_pub = xc.shape
    values = np.asarray(values, dtype=np.float64)
    suppressed = np.asarray(suppressed, dtype=bool)
    nnz = np.diff(xc.indptr)
    unit_cols = np.flatnonzero(nnz == 1)
    known = np.zeros(n_inner, dtype=bool)
    known_val = np.zeros(n_inner)
    pub_units = unit_cols[~suppressed[unit_cols]]
    rows_of_units = xc.indices[xc.indptr[pub_units]]
    known[rows_of_units] = True
    known_val[rows_of_units] = values[pub_units]
    unknown = np.flatnonzero(~known)
    pos = np.full(n_inner, -1)
    pos[unknown] = np.arange(unknown.size)
    # Published aggregate relations restricted to the unknown cells.
    relations = np.flatnonzero(~suppressed & (nnz > 1))
    xr = xc[:, relations]
    rhs = values[relations] - known_val @ xr
    a_eq = sp.csr_matrix(xr[unknown, :].T)
    keep = np.diff(a_eq.indptr) > 0
    a_eq, rhs = a_eq[keep], rhs[keep]
    lower = np.full(n_pub, np.nan)
    upper = np.full(n_pub, np.nan)
    if unknown.size:
        adjacency = (a_eq.T @ a_eq) if a_eq.shape[0] else sp.identity(unknown.size)
        _, comp = connected_components(adjacency, directed=False)
        row_comp = comp[a_eq.indices[a_eq.indptr[:-1]]] if a_eq.shape[0] else np.empty(0, int)
        for j in np.flatnonzero(suppressed):
            inner = xc.indices[xc.indptr[j] : xc.indptr[j + 1]]
            base = known_val[inner[known[inner]]].sum()
            lo = hi = base
            cells = pos[inner[~known[inner]]]
            for c in np.unique(comp[cells]):
                members = np.flatnonzero(comp == c)
                objective = np.isin(members, cells).astype(np.float64)
                rows = np.flatnonzero(row_comp == c)
                sub = a_eq[rows][:, members]
                lo += _solve(objective, sub, rhs[rows], lower_bound)
                hi -= _solve(-objective, sub, rhs[rows], lower_bound)
            lower[j], upper[j] = lo, hi
    need_lower = np.where(suppressed, values - levels, np.nan)
    need_upper = np.where(suppressed, values + levels, np.nan)
    exact = (upper - lower) <= EXACT_WIDTH * np.maximum(1.0, np.abs(values))
    reach = (lower <= need_lower + 1e-9) & (upper >= need_upper - 1e-9) & ~exact
    ok = ~suppressed | reach
    return Audit(lower, upper, need_lower, need_upper, ok)


def _solve(c: np.ndarray, a: sp.csr_matrix, b: np.ndarray, lower_bound: float) -> float:
    """min c.y subject to a y = b, y >= lower_bound (-inf when unbounded)."""
    if a.shape[0] == 0:
        return -np.inf if (c < 0).any() or not np.isfinite(lower_bound) else lower_bound * c.sum()
    res = linprog(c, A_eq=a, b_eq=b, bounds=(lower_bound, None), method="highs")
    if res.status == 3:
        return -np.inf
    if res.status != 0:
        raise RuntimeError(f"audit LP failed: {res.message}")
    return float(res.fun)
