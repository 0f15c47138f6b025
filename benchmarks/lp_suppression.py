"""Reference secondary cell suppression: the classic sequential LP heuristic, solved with HiGHS.

The protection benchmark measures the information loss (number and cost of secondary cells) of
sdc's greedy Gaussian-elimination pattern against this heuristic. It imports nothing from ``sdc``,
so it is an independent yardstick, and it is written to be checked rather than to be fast: every
LP it solves spans the whole table.

Sources
-------
* J. P. Kelly, B. L. Golden and A. A. Assad (1992), "Cell suppression: disclosure protection for
  sensitive tabular data", Networks 22, 397-417: protect the sensitive cells one at a time, each
  by a minimum-cost LP (a network flow in two dimensions), and keep the cells that LP uses.
* M. Fischetti and J. J. Salazar-Gonzalez (2001), "Solving the cell suppression problem on
  tabular data with linear constraints", Management Science 47, 1008-1027: tables as any system
  of linear equations (hierarchical and linked tables, any number of dimensions), the attacker
  problem (min and max of a sensitive cell over all tables that agree with the published cells)
  and the upper, lower and sliding protection levels. The heuristic here is the sequential LP
  scheme of Kelly et al. written over that general model; their exact branch-and-cut method
  (the one behind tau-Argus's "optimal") is not attempted.

Table model
-----------
``X`` (inner cells x published cells, 0/1): published cell ``j`` is the sum of the inner cells
``i`` with ``X[i, j] = 1``. A column with a single nonzero publishes that inner cell itself (its
*own* column); inner cells without one get nonnegative values consistent with the published cells
from a feasibility LP. The attacker knows every published cell and that inner cells are ``>= 0``.

Protection required of a primary ``p`` with value ``v`` (Fischetti and Salazar's levels)
---------------------------------------------------------------------------------------
* upper level ``u > 0``: the attacker's maximum of ``p`` is at least ``v + u``;
* lower level ``l > 0``: the attacker's minimum of ``p`` is at most ``v - min(l, v)``;
* both levels 0 ("not exactly computable"): a sliding level, the attacker's interval is at least
  ``min_width`` wide (1 unit by default, for counts), met by moving ``p`` either way.

Method (one pass over the primaries, in decreasing order of value)
------------------------------------------------------------------
A *deviation* ``d`` (a vector over inner cells) is another table ``y + d`` the attacker cannot
rule out when ``y + d >= 0`` and every published cell is unchanged (``x_j . d = 0``). For each
primary and each direction it must be pushed (up by ``u``, down by ``min(l, v)``, or for a
sliding level the cheaper of up and down by ``min_width``) one LP is solved:

    minimise    sum over published cells j of  cost_j * |x_j . d|
    subject to  x_p . d >= req (up) or x_p . d <= -req (down),  d >= -y,

where already suppressed cells cost 0; ``|.|`` is written with a pair of nonnegative variables
(``d = d+ - d-`` for an inner cell with its own column, a slack pair for any other published
cell). Every published cell the optimal ``d`` changes is suppressed. ``d`` is then a valid
deviation of the new pattern, so ``p`` is protected in that direction by construction, and it
stays protected as later primaries only add suppressions. An optimum of 0 is the attacker LP's
answer "already protected": the current pattern lets ``p`` move far enough, nothing is added (so
the attacker LP for each bound and the cost LP are one LP here).

All LPs share one HiGHS model: only costs (cells that become suppressed cost 0) and the bounds
that pin the primary's movement change between solves, and each solve warm-starts from the last
basis. One exact shortcut skips a direction without an LP: every deviation found so far, scaled
down until no inner cell would go negative, stays valid as suppressions grow, so if one already
moves a later primary far enough in a direction, that direction's LP would cost 0.

Afterwards an audit (:func:`feasible_intervals`, a separate LP model over inner values, not
deviations) computes each primary's attacker interval and checks it against the requirements.

Limits: a heuristic (the pattern depends on the order and is not minimal: no clean-up pass drops
secondaries that later ones made redundant); singletons and structural zeros are not modelled;
tolerances are in :data:`RESIDUAL_TOL` and :data:`AUDIT_RTOL`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
import scipy.sparse as sp
from scipy.optimize import linprog

#: A published cell counts as changed by a deviation above this, relative to the requirement.
#: HiGHS's primal feasibility tolerance is 1e-7, so a smaller cut-off would suppress solver noise.
RESIDUAL_TOL = 1e-6

#: Relative slack (to max(1, |value|)) allowed when the audit compares an interval with a need.
AUDIT_RTOL = 1e-6

_INF = highspy.kHighsInf
_OPTIMAL = highspy.HighsModelStatus.kOptimal
_UNBOUNDED = (
    highspy.HighsModelStatus.kUnbounded,
    highspy.HighsModelStatus.kUnboundedOrInfeasible,
)
_INFEASIBLE = highspy.HighsModelStatus.kInfeasible
_OUT_OF_TIME = (
    highspy.HighsModelStatus.kTimeLimit,
    highspy.HighsModelStatus.kIterationLimit,
    highspy.HighsModelStatus.kInterrupt,
)


class _OutOfTime(Exception):
    """A solve hit the time limit."""


@dataclass(frozen=True)
class LpResult:
    """Outcome of :func:`lp_suppress`.

    ``cost`` sums the cost of the secondary cells only (primaries are suppressed by any method).
    ``n_lp_solves`` counts the deviation LPs, ``n_skipped`` the directions the shortcut settled,
    ``n_done`` the primaries processed (all of them when ``completed``). ``seconds`` excludes the
    audit (``audit_seconds``). ``intervals`` holds, per primary in increasing published index, the
    audited attacker interval ``[min, max]`` (NaN when ``audit`` was False); ``unprotected`` lists
    the primaries whose interval falls short of their requirement.
    """

    suppressed: np.ndarray
    secondary: np.ndarray
    n_secondary: int
    cost: float
    n_lp_solves: int
    n_skipped: int
    n_done: int
    seconds: float
    completed: bool
    intervals: np.ndarray
    audit_ok: bool
    audit_seconds: float
    unprotected: np.ndarray


def two_way_with_margins(inner: np.ndarray) -> tuple[sp.csc_matrix, np.ndarray]:
    """``X`` and published values of an r x c table with row, column and grand totals.

    Published columns: the r*c inner cells (row-major), then r row totals, c column totals, and
    the grand total.
    """
    r, c = inner.shape
    n = r * c
    ii = np.arange(n)
    row_of, col_of = np.divmod(ii, c)
    rows = np.concatenate([ii, ii, ii, ii])
    cols = np.concatenate([ii, n + row_of, n + r + col_of, np.full(n, n + r + c)])
    x = sp.csc_matrix((np.ones(rows.size), (rows, cols)), shape=(n, n + r + c + 1))
    flat = np.asarray(inner, dtype=np.float64).ravel()
    return x, np.asarray(x.T @ flat).ravel()


def _own_columns(xc: sp.csc_matrix) -> np.ndarray:
    """Per inner cell, the first published column that is that cell alone (-1 if none)."""
    nnz = np.diff(xc.indptr)
    single = np.flatnonzero(nnz == 1)
    rows = xc.indices[xc.indptr[single]]
    rows_u, first = np.unique(rows, return_index=True)
    own = np.full(xc.shape[0], -1, dtype=np.int64)
    own[rows_u] = single[first]
    return own


def _inner_values(xc: sp.csc_matrix, values: np.ndarray, own: np.ndarray) -> np.ndarray:
    """Inner values from their own columns; the others from a feasibility LP."""
    y = np.zeros(xc.shape[0])
    kr = np.flatnonzero(own >= 0)
    y[kr] = values[own[kr]] / np.asarray(xc[kr, own[kr]]).ravel()
    missing = np.flatnonzero(own < 0)
    if missing.size:
        xm = xc[missing, :]
        rhs = values - np.asarray(xc.T @ y).ravel()
        touched = np.flatnonzero(xm.getnnz(axis=0))
        res = linprog(
            np.zeros(missing.size),
            A_eq=xm[:, touched].T.tocsr(),
            b_eq=rhs[touched],
            bounds=(0, None),
            method="highs",
        )
        if res.status != 0:
            raise ValueError("the published values admit no nonnegative inner table")
        y[missing] = res.x
    scale = max(1.0, float(np.abs(values).max(initial=0.0)))
    if np.abs(np.asarray(xc.T @ y).ravel() - values).max(initial=0.0) > 1e-6 * scale:
        raise ValueError("the published values are not the sums of the inner cells given by X")
    return y


def _highs(
    cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, a: sp.spmatrix, rhs: np.ndarray
) -> highspy.Highs:
    """A silent dual-simplex HiGHS model: min cost.v, a v = rhs, lower <= v <= upper."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("solver", "simplex")
    lp = highspy.HighsLp()
    lp.num_col_ = cost.size
    lp.num_row_ = a.shape[0]
    lp.col_cost_ = cost.astype(np.float64)
    lp.col_lower_ = lower.astype(np.float64)
    lp.col_upper_ = np.where(np.isfinite(upper), upper, _INF).astype(np.float64)
    lp.row_lower_ = rhs.astype(np.float64)
    lp.row_upper_ = rhs.astype(np.float64)
    ac = sp.csc_matrix(a, dtype=np.float64)
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = ac.indptr.astype(np.int32)
    lp.a_matrix_.index_ = ac.indices.astype(np.int32)
    lp.a_matrix_.value_ = ac.data
    h.passModel(lp)
    return h


def _run(h: highspy.Highs, time_limit: float | None) -> highspy.HighsModelStatus:
    """Solve; ``time_limit`` seconds for this solve (HiGHS's own limit counts all of them)."""
    t0 = time.perf_counter()
    limit = _INF if time_limit is None else h.getRunTime() + max(time_limit, 1e-3)
    h.setOptionValue("time_limit", limit)
    h.run()
    status = h.getModelStatus()
    if status not in (_OPTIMAL, _INFEASIBLE, *_UNBOUNDED, *_OUT_OF_TIME):
        # A warm start can run into numerical trouble: solve once more from scratch.
        h.clearSolver()
        if time_limit is not None:
            left = time_limit - (time.perf_counter() - t0)
            h.setOptionValue("time_limit", h.getRunTime() + max(left, 1e-3))
        h.run()
        status = h.getModelStatus()
    if status in _OUT_OF_TIME:
        raise _OutOfTime
    return status


class _DeviationLp:
    """The deviation LP of every primary and direction, as one warm-started HiGHS model.

    Columns: ``d+`` and ``d-`` of every inner cell, then ``s+`` and ``s-`` of every published cell
    that is not the own column of an inner cell; rows: ``x_j . (d+ - d-) + s+_j - s-_j = 0`` for
    those cells, so their change is ``x_j . d = s-_j - s+_j``. Bounds: ``d- <= y`` (tables stay
    nonnegative). A primary's movement is that of its own pair of columns, so pushing it is a
    bound change: up by ``req`` sets ``d+_i >= req, d-_i = 0`` (or ``s-_j >= req, s+_j = 0``);
    this loses nothing since the primary itself costs 0.
    """

    def __init__(self, xc: sp.csc_matrix, own: np.ndarray, y: np.ndarray, cost: np.ndarray):
        n, n_pub = xc.shape
        is_own = np.zeros(n_pub, dtype=bool)
        is_own[own[own >= 0]] = True
        general = np.flatnonzero(~is_own)
        m = general.size
        # Column pair (plus, minus) of each published cell: its change is col[plus] - col[minus].
        self.plus = np.empty(n_pub, dtype=np.int64)
        self.minus = np.empty(n_pub, dtype=np.int64)
        has_own = own >= 0
        self.plus[own[has_own]] = np.flatnonzero(has_own)
        self.minus[own[has_own]] = n + np.flatnonzero(has_own)
        self.plus[general] = 2 * n + m + np.arange(m)  # s-: x_j . d = s- - s+
        self.minus[general] = 2 * n + np.arange(m)
        self.n = n
        gt = xc[:, general].T.tocsr()
        eye = sp.identity(m, format="csr")
        a = sp.hstack([gt, -gt, eye, -eye], format="csc")
        # A published cell costs cost_j per unit of change (0 once suppressed); an inner cell
        # without a published own column is in no pair and costs nothing.
        col_cost = np.zeros(2 * n + 2 * m)
        col_cost[self.plus] = cost
        col_cost[self.minus] = cost
        self.lower = np.zeros(2 * n + 2 * m)
        self.upper = np.full(2 * n + 2 * m, np.inf)
        self.upper[n : 2 * n] = y
        self.h = _highs(col_cost, self.lower, self.upper, a, np.zeros(m))

    def suppress(self, cells: np.ndarray) -> None:
        """Make changing ``cells`` free."""
        idx = np.concatenate([self.plus[cells], self.minus[cells]]).astype(np.int32)
        self.h.changeColsCost(idx.size, idx, np.zeros(idx.size))

    def solve(self, cell: int, sign: float, req: float, time_limit: float | None):
        """Cheapest deviation moving ``cell`` by ``sign * req`` (None if there is none)."""
        push, hold = (
            (self.plus[cell], self.minus[cell]) if sign > 0 else (self.minus[cell], self.plus[cell])
        )
        if req > self.upper[push]:
            return None  # it cannot go that far down
        idx = np.array([push, hold], dtype=np.int32)
        top = min(self.upper[push], _INF)
        self.h.changeColsBounds(2, idx, np.array([req, 0.0]), np.array([top, 0.0]))
        try:
            status = _run(self.h, time_limit)
        finally:
            up = np.where(np.isfinite(self.upper[idx]), self.upper[idx], _INF)
            self.h.changeColsBounds(2, idx, self.lower[idx], up)
        if status == _INFEASIBLE:
            return None
        if status != _OPTIMAL:
            raise RuntimeError(f"deviation LP: {self.h.modelStatusToString(status)}")
        v = np.asarray(self.h.getSolution().col_value)
        d = v[: self.n] - v[self.n : 2 * self.n]
        d[np.abs(d) < 1e-9 * req] = 0.0  # solver noise
        return np.maximum(d, -self.upper[self.n : 2 * self.n])


class _AttackerLp:
    """Min and max of published cells over nonnegative tables that reproduce the published ones.

    Inner cells with a published own column are constants; the variables are the others, the
    rows the published cells that touch them. One HiGHS model, warm-started between cells.
    """

    def __init__(self, xc: sp.csc_matrix, values: np.ndarray, suppressed: np.ndarray) -> None:
        own = _own_columns(xc)
        own_pub = np.where(own >= 0, ~suppressed[np.maximum(own, 0)], False)
        fixed = np.flatnonzero(own_pub)
        self.y_fixed = np.zeros(xc.shape[0])
        self.y_fixed[fixed] = values[own[fixed]] / np.asarray(xc[fixed, own[fixed]]).ravel()
        self.free = np.flatnonzero(~own_pub)
        xf = xc[self.free, :]
        rows = np.flatnonzero(~suppressed & (xf.getnnz(axis=0) > 0))
        rhs = values[rows] - np.asarray(xc[:, rows].T @ self.y_fixed).ravel()
        k = self.free.size
        self.xc = xc
        self.h = _highs(np.zeros(k), np.zeros(k), np.full(k, np.inf), xf[:, rows].T, rhs)
        self.last = np.empty(0, dtype=np.int32)

    def extreme(self, cell: int, sign: float, time_limit: float | None = None) -> float:
        """Max (``sign`` +1) or min (-1) of published cell ``cell``; +inf if unbounded."""
        col = self.xc[:, [cell]].toarray().ravel()
        const = float(col @ self.y_fixed)
        obj = col[self.free]
        nz = np.flatnonzero(obj).astype(np.int32)
        if nz.size == 0:
            return const
        reset = np.setdiff1d(self.last, nz).astype(np.int32)
        self.h.changeColsCost(reset.size, reset, np.zeros(reset.size))
        self.h.changeColsCost(nz.size, nz, -sign * obj[nz])
        self.last = nz
        status = _run(self.h, time_limit)
        if status in _UNBOUNDED:
            return sign * np.inf
        if status != _OPTIMAL:
            raise RuntimeError(f"attacker LP: {self.h.modelStatusToString(status)}")
        return const - sign * self.h.getInfo().objective_function_value


def feasible_intervals(
    X: sp.spmatrix,
    values: np.ndarray,
    suppressed: np.ndarray,
    cells: np.ndarray,
    time_limit: float | None = None,
) -> np.ndarray:
    """The attacker's ``[min, max]`` of each of ``cells`` given the published cells (k x 2).

    The audit of :func:`lp_suppress`; usable on any pattern (e.g. another method's). Raises
    ``TimeoutError`` past ``time_limit`` seconds.
    """
    t0 = time.perf_counter()
    xc = sp.csc_matrix(X, dtype=np.float64)
    lp = _AttackerLp(xc, np.asarray(values, dtype=np.float64), np.asarray(suppressed, bool))
    out = np.empty((len(cells), 2))
    try:
        for k, p in enumerate(cells):
            for col, sign in ((0, -1.0), (1, 1.0)):
                left = None if time_limit is None else time_limit - (time.perf_counter() - t0)
                out[k, col] = lp.extreme(int(p), sign, left)
    except _OutOfTime:
        raise TimeoutError(f"audit over its time limit of {time_limit} s") from None
    return out


def _needs(
    v: np.ndarray, upper: np.ndarray, lower: np.ndarray, min_width: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per primary: required rise, required fall (capped at the value) and sliding width."""
    sliding = (upper <= 0) & (lower <= 0)
    return (
        np.where(sliding, 0.0, np.maximum(upper, 0.0)),
        np.where(sliding, 0.0, np.clip(lower, 0.0, np.maximum(v, 0.0))),
        np.where(sliding, min_width, 0.0),
    )


def _update_capacity(
    d: np.ndarray, y: np.ndarray, xp: sp.csr_matrix, cap_up: np.ndarray, cap_down: np.ndarray
) -> None:
    """Record how far a valid deviation ``d`` (or ``-d``), scaled, moves each primary.

    A deviation that leaves every published cell unchanged stays valid as suppressions grow, and
    ``a * d`` stays nonnegative for ``0 <= a <= alpha``, the first inner cell to reach 0.
    """
    proj = xp @ d
    for s in (1.0, -1.0):
        dec = np.maximum(-s * d, 0.0)
        pos = dec > 0
        alpha = float(np.min(y[pos] / dec[pos])) if pos.any() else np.inf
        move = s * proj
        with np.errstate(invalid="ignore"):  # 0 * inf where the primary does not move
            reach = np.where(move != 0, np.abs(move) * alpha, 0.0)
        np.maximum(cap_up, np.where(move > 0, reach, 0.0), out=cap_up)
        np.maximum(cap_down, np.where(move < 0, reach, 0.0), out=cap_down)


def lp_suppress(
    X: sp.spmatrix,
    values: np.ndarray,
    primary: np.ndarray,
    upper_pl: np.ndarray | float = 0.0,
    lower_pl: np.ndarray | float | None = None,
    *,
    cost: np.ndarray | None = None,
    min_width: float = 1.0,
    time_limit: float | None = None,
    audit: bool = True,
) -> LpResult:
    """Secondary suppression by one deviation LP per primary and direction (module docstring).

    ``X`` is (n_inner x n_pub) 0/1; ``values`` the published values (>= 0); ``upper_pl`` and
    ``lower_pl`` (default: ``upper_pl``) the protection levels per published cell, where both 0
    means a sliding level of ``min_width``; ``cost`` (> 0, default ``values + 1``) the price of
    suppressing each cell. If ``time_limit`` (seconds) stops the run, ``completed`` is False and
    the primaries not yet processed have no secondary cells of their own; the audit (not counted
    in ``time_limit``) then lists the primaries left unprotected in ``unprotected``.
    """
    t0 = time.perf_counter()
    xc = sp.csc_matrix(X, dtype=np.float64)
    xc.sum_duplicates()
    n_pub = xc.shape[1]
    values = np.asarray(values, dtype=np.float64)
    primary = np.asarray(primary, dtype=bool)
    upper_pl = np.broadcast_to(np.asarray(upper_pl, dtype=np.float64), (n_pub,))
    lower_pl = upper_pl if lower_pl is None else np.asarray(lower_pl, dtype=np.float64)
    lower_pl = np.broadcast_to(lower_pl, (n_pub,))
    cost = values + 1.0 if cost is None else np.asarray(cost, dtype=np.float64)
    for name, arr in (("values", values), ("primary", primary), ("cost", cost)):
        if arr.shape != (n_pub,):
            raise ValueError(f"{name} must have shape ({n_pub},); got {arr.shape}")
    if (values < 0).any():
        raise ValueError("values must be >= 0")
    if not (cost > 0).all():
        raise ValueError("cost must be > 0")
    if not min_width > 0:
        raise ValueError("min_width must be > 0")

    own = _own_columns(xc)
    y = _inner_values(xc, values, own)
    lp = _DeviationLp(xc, own, y, cost)
    xr = xc.T.tocsr()  # row j is x_j
    suppressed = primary.copy()
    lp.suppress(np.flatnonzero(primary))
    prim_idx = np.flatnonzero(primary)
    pos_of = np.full(n_pub, -1, dtype=np.int64)
    pos_of[prim_idx] = np.arange(prim_idx.size)
    xp = xr[prim_idx]
    cap_up, cap_down = np.zeros(prim_idx.size), np.zeros(prim_idx.size)
    rise, fall, width = _needs(values[prim_idx], upper_pl[prim_idx], lower_pl[prim_idx], min_width)
    order = prim_idx[np.argsort(-values[prim_idx], kind="stable")]
    n_solves = n_skipped = n_done = 0

    def left() -> float | None:
        return None if time_limit is None else time_limit - (time.perf_counter() - t0)

    def deviation(p: int, sign: float, req: float) -> tuple[np.ndarray | None, np.ndarray]:
        """Solve one LP; the deviation and the published cells it would newly suppress."""
        nonlocal n_solves
        if (remaining := left()) is not None and remaining <= 0:
            raise _OutOfTime
        d = lp.solve(p, sign, req, remaining)
        n_solves += 1
        if d is None:  # cannot move that way; the audit reports it
            return None, np.zeros(n_pub, dtype=bool)
        return d, ~suppressed & (np.abs(xr @ d) > RESIDUAL_TOL * req)

    def accept(d: np.ndarray | None, moved: np.ndarray) -> None:
        if d is None:
            return
        if moved.any():
            suppressed[moved] = True
            lp.suppress(np.flatnonzero(moved))
        _update_capacity(d, y, xp, cap_up, cap_down)

    completed = True
    try:
        for p in order:
            k = pos_of[p]
            tol = 1 - RESIDUAL_TOL
            if width[k] > 0:
                if max(cap_up[k], cap_down[k]) >= width[k] * tol:
                    n_skipped += 1
                else:
                    d_up, m_up = deviation(p, 1.0, width[k])
                    if d_up is not None and not m_up.any():
                        accept(d_up, m_up)
                    else:
                        d_dn, m_dn = deviation(p, -1.0, width[k])
                        up_ok = d_up is not None
                        dn_ok = d_dn is not None
                        if dn_ok and (not up_ok or cost[m_dn].sum() < cost[m_up].sum()):
                            accept(d_dn, m_dn)
                        else:
                            accept(d_up, m_up)
            for sign, need, cap in ((1.0, rise[k], cap_up), (-1.0, fall[k], cap_down)):
                if need <= 0:
                    continue
                if cap[k] >= need * tol:
                    n_skipped += 1
                    continue
                accept(*deviation(p, sign, need))
            n_done += 1
    except _OutOfTime:
        completed = False

    seconds = time.perf_counter() - t0
    secondary = suppressed & ~primary
    t1 = time.perf_counter()
    intervals = np.full((prim_idx.size, 2), np.nan)
    unprotected = np.empty(0, dtype=np.int64)
    if audit:
        intervals = feasible_intervals(xc, values, suppressed, prim_idx)
        v = values[prim_idx]
        slack = AUDIT_RTOL * np.maximum(1.0, np.abs(v))
        lo, hi = intervals[:, 0], intervals[:, 1]
        ok = (hi >= v + rise - slack) & (lo <= v - fall + slack) & (hi - lo >= width - slack)
        unprotected = prim_idx[~ok]
    return LpResult(
        suppressed=suppressed,
        secondary=secondary,
        n_secondary=int(secondary.sum()),
        cost=float(cost[secondary].sum()),
        n_lp_solves=n_solves,
        n_skipped=n_skipped,
        n_done=n_done,
        seconds=seconds,
        completed=completed,
        intervals=intervals,
        audit_ok=bool(audit and unprotected.size == 0),
        audit_seconds=time.perf_counter() - t1,
        unprotected=unprotected,
    )
