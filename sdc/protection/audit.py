"""Audit of a suppression pattern: what an attacker can still infer about each hidden cell.

For every suppressed cell the attacker's feasible interval is the min and max of
the cell over all tables that agree with the published cells and the known
bounds (counts and non-negative magnitudes are >= 0). Each bound is an LP,
solved with HiGHS. The LPs are small: published inner cells are constants, and
the unknowns split into independent components (cells linked by a published
relation, or summed by one suppressed cell, so that each suppressed cell lies in
one component and is settled with the others there).

Solving two LPs per suppressed cell is what makes audits slow, so a component
is settled with as few as it can:

1. bound propagation (:func:`sdc.kernels.bounds.propagate_bounds`) gives an
   outer interval for every cell: the exact one lies inside it;
2. a cell that only needs "not exactly computable" (protection level 0) is
   protected, with no LP, when no suppressed cell is a linear combination of
   the published ones (the Gaussian-elimination kernel guarantees it for the
   patterns it makes, and checks it for any other) and every unknown cell of
   its component is strictly above its bound in the true table: the true table
   is then inside the feasible polytope, so every cell that the equations do
   not fix can move both ways;
3. feasible tables give inner intervals: the optima of a few LPs that push many
   cells up (or down) at once; the exact interval contains every value a
   feasible table takes. A cell whose inner interval already reaches its
   protection is protected, whatever the exact interval; a bound where inner
   and outer meet is exact;
4. only the remaining bounds get their own LP (warm-started from the last
   basis), and every optimum found also widens the other cells' inner intervals.

Intervals shown are only ever computed from published values (the true table
is used to decide, never shown). With ``exact=True`` every bound is solved to
optimality; by default a protected cell may show an inner interval, or none
(NaN) when step 2 settled it (``Audit.exact`` False): the attacker's exact
interval contains what is shown.

Protection levels (how far the interval must reach beyond the true value) are
given per cell: the magnitude rules a primary fails define them
(``sdc.rules.dominance``); 0 means "not exactly computable" (positive width).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components

if TYPE_CHECKING:
    import highspy

from sdc.protection.highs import new_model
from sdc.protection.progress import report
from sdc.protection.secondary import random_prime, secondary_suppress

#: Width below which an interval counts as a point (the cell is disclosed exactly),
#: relative to max(1, |value|).
EXACT_WIDTH = 1e-6

#: Slack when comparing a bound with a target, relative to max(1, |value|): LP optima
#: carry round-off of this order.
_TOL = 1e-7

#: Unknowns per window LP when lifting cells off their bound (see ``_Component._interior``).
LIFT_WINDOW = 2000

#: Components with at least this many equations are first solved by interior point.
IPM_ROWS = 10_000


@dataclass(frozen=True)
class Audit:
    """Per published cell: feasible interval and the levels it must reach (NaN where published).

    ``exact`` is False where the interval shown is an inner one (or NaN, not
    computed): the attacker's exact interval contains it (the cell is protected
    either way when ``ok``). ``either`` marks cells whose interval need reach only
    one of ``need_lower`` and ``need_upper`` (a small count: down to 0 or up to
    the threshold); None: none.
    """

    lower: np.ndarray
    upper: np.ndarray
    need_lower: np.ndarray
    need_upper: np.ndarray
    ok: np.ndarray  # True where published, or suppressed and protected enough
    exact: np.ndarray
    either: np.ndarray | None = None

    @property
    def passed(self) -> bool:
        return bool(self.ok.all())


def unit_cells(x: sp.csc_matrix, published: np.ndarray) -> np.ndarray:
    """For each inner cell, a published column that is that cell alone (-1 if none).

    Such a column publishes the inner cell's value: the cell is known exactly.
    """
    nnz = np.diff(x.indptr)
    cols = np.flatnonzero((nnz == 1) & published)
    own = np.full(x.shape[0], -1, dtype=np.int64)
    own[x.indices[x.indptr[cols]]] = cols
    return own


def audit(
    x: sp.spmatrix,
    values: np.ndarray,
    suppressed: np.ndarray,
    levels: np.ndarray,
    lower_bound: float = 0.0,
    *,
    exact: bool = False,
    undetermined: bool | None = None,
    inner: np.ndarray | None = None,
    upper_levels: np.ndarray | None = None,
    either: np.ndarray | None = None,
    tables: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    bound_lps: int | None = None,
) -> Audit:
    """Intervals of the suppressed cells of the table z = x^T y with ``values`` = z.

    ``x`` is (inner x published); ``levels`` the protection level per published
    cell (checked for every suppressed cell); ``lower_bound`` the bound on every
    inner cell (``-inf`` when values may be negative); ``exact`` solves every
    bound exactly instead of stopping once a cell is shown to be protected;
    ``undetermined`` says that no suppressed cell is a linear combination of
    the published ones (True for patterns from :func:`sdc.protection.secondary.secondary_suppress`
    that did not overflow; None: checked here); ``inner`` the true inner cells
    (only needed when some inner cell has no published column of its own, as in
    linked tables; it decides, it is never shown); ``upper_levels`` how far above
    its value each cell's interval must reach (default: ``levels``, symmetric);
    ``either``: cells protected when their interval reaches one of the two sides
    (with a width), e.g. a count below a threshold t whose interval reaches 0 or t:
    the attacker cannot tell an empty cell from one at the threshold.

    ``tables``: alternative tables someone found (the alternative tables of
    :mod:`sdc.protection.deviation`), each as the inner cells it changes and by how
    much from ``inner``'s true table; each one that agrees with the published cells
    and the bound (checked here, per component; the others are dropped) decides the
    cells it moves far enough, as the audit's own tables do (never shown).
    ``bound_lps``: at most this many LPs for single bounds (None: as many as it takes);
    past it, a cell no table decides fails, with the interval found so far. For rounds
    that only ask which cells still need more, never for a verdict.

    Examples
    --------
    Geurts' example from the Handbook on SDC: four suppressed cells of a 3x2 table.

    >>> from sdc.tables.model import TableModel
    >>> tm = TableModel(("r", "c"), (("1", "2", "3"), ("a", "b")), n_rows=1)
    >>> x = tm.model_matrix()
    >>> z = x.T @ np.array([4, 3, 2, 1, 3, 3])
    >>> hidden = np.isin(np.arange(12), [0, 1, 3, 4])
    >>> a = audit(x, z, hidden, np.zeros(12), exact=True)
    >>> float(a.lower[0]), float(a.upper[0])
    (3.0, 6.0)
    """
    xc = sp.csc_matrix(x, dtype=np.float64)
    values = np.asarray(values, dtype=np.float64)
    suppressed = np.asarray(suppressed, dtype=bool)
    # Nothing is below the bound every cell has: a level cannot ask the interval to go there.
    up = levels if upper_levels is None else upper_levels
    need_lower = np.where(suppressed, np.maximum(values - levels, lower_bound), np.nan)
    need_upper = np.where(suppressed, values + up, np.nan)
    one_side = (
        np.zeros(xc.shape[1], dtype=bool) if either is None else np.asarray(either, dtype=bool)
    )
    if undetermined is None:
        undetermined = not exact and nothing_determined(xc, values, suppressed)
    system = _System(xc, values, suppressed, lower_bound, undetermined and not exact, inner)
    lower = np.full(xc.shape[1], np.nan)
    upper = np.full(xc.shape[1], np.nan)
    exact_out = np.ones(xc.shape[1], dtype=bool)
    proven = np.zeros(xc.shape[1], dtype=bool)
    sup = np.flatnonzero(suppressed)
    lo, hi, ex, pr = system.intervals(
        need_lower[sup], need_upper[sup], exact, one_side[sup], tables, bound_lps
    )
    lower[sup], upper[sup], exact_out[sup], proven[sup] = lo, hi, ex, pr
    point = (upper - lower) <= EXACT_WIDTH * np.maximum(1.0, np.abs(values))
    slack = _TOL * np.maximum(1.0, np.abs(values))
    low_ok, high_ok = lower <= need_lower + slack, upper >= need_upper - slack
    reach = np.where(one_side, low_ok | high_ok, low_ok & high_ok) & ~point
    ok = ~suppressed | reach | proven
    # A proven cell may have seen one feasible table only: [v, v] would read as a disclosure.
    blank = proven & point
    lower[blank] = np.nan
    upper[blank] = np.nan
    return Audit(lower, upper, need_lower, need_upper, ok, exact_out,
                 one_side if one_side.any() else None)  # fmt: skip


def nothing_determined(x: sp.csc_matrix, values: np.ndarray, suppressed: np.ndarray) -> bool:
    """True if no suppressed cell is a linear combination of the published cells.

    Runs the elimination kernel with the suppressed cells as primaries and every
    published cell as a candidate: it refuses a candidate exactly when the
    published cells would pin some suppressed cell down. Where exact arithmetic
    overflows, two random primes must both find nothing determined: one errs
    towards "nothing" only if it divides a number the elimination meets.
    """
    if not suppressed.any():
        return True
    weight = np.abs(values)
    order = np.flatnonzero(~suppressed)  # any order answers; the kernel picks its own
    s = secondary_suppress(x, suppressed, weight, order=order, any_order=True)
    if s.overflowed or s.secondary.any():
        return False
    if s.modulus:  # decided modulo a random prime: a second, independent one must agree
        again = secondary_suppress(
            x, suppressed, weight, order=order, modulus=random_prime(), any_order=True
        )
        return not again.secondary.any()
    return True


def _status(name: str) -> Any:
    """A HiGHS model status by name."""
    import highspy

    return getattr(highspy.HighsModelStatus, name)


def _highs_model(
    a: sp.csr_matrix, rhs: np.ndarray, lower: np.ndarray, upper: np.ndarray
) -> highspy.Highs:
    """A silent simplex HiGHS model of ``a y = rhs``, ``lower <= y <= upper``, no cost yet
    (dual simplex; :meth:`_Component.solve` turns to primal once it has a basis)."""
    return new_model(a, np.zeros(a.shape[1]), lower, upper, rhs, rhs, solver="simplex")


class _System:
    """The attacker's equations: unknown inner cells, published relations, suppressed cells."""

    def __init__(
        self,
        xc: sp.csc_matrix,
        values: np.ndarray,
        suppressed: np.ndarray,
        lower_bound: float,
        undetermined: bool,
        inner: np.ndarray | None = None,
    ) -> None:
        n_inner = xc.shape[0]
        self.lower_bound = float(lower_bound)
        self.undetermined = undetermined
        own_pub = unit_cells(xc, ~suppressed)
        known = own_pub >= 0
        known_val = np.where(known, values[np.maximum(own_pub, 0)], 0.0)
        unknown = np.flatnonzero(~known)
        # The true table restricted to the unknowns, where it is published (suppressed units).
        own_sup = unit_cells(xc, suppressed)[unknown]
        self.truth = np.where(own_sup >= 0, values[np.maximum(own_sup, 0)], np.nan)
        if inner is not None:
            self.truth = np.asarray(inner, dtype=np.float64)[unknown]
        pos = np.full(n_inner, -1, dtype=np.int64)
        pos[unknown] = np.arange(unknown.size)
        self.pos = pos
        nnz = np.diff(xc.indptr)
        relations = np.flatnonzero(~suppressed & (nnz > 1))
        xr = xc[:, relations]
        rhs = values[relations] - known_val @ xr
        a = sp.csr_matrix(xr[unknown, :].T)
        keep = np.diff(a.indptr) > 0
        self.a, self.rhs = a[keep], rhs[keep]
        sup = np.flatnonzero(suppressed)
        xs = xc[:, sup]
        self.const = known_val @ xs
        self.cells = sp.csr_matrix(xs[unknown, :].T)  # suppressed cell x unknown
        n_var, n_rows = unknown.size, self.a.shape[0]
        # Unknowns linked by a published relation, or summed by one suppressed cell, share a
        # component: each suppressed cell's interval is then settled within one (with the
        # batches and tables of every other), not by two LPs per component it spans (on a 4-D
        # table of 1e4 cells, 70,000 LPs).
        links = sp.vstack([self.a, self.cells], format="csr")
        if links.nnz:
            graph = sp.bmat([[None, links.T], [links, None]])
            _, comp = connected_components(graph, directed=False)
            self.var_comp = comp[:n_var]
            self.row_comp = comp[n_var : n_var + n_rows]
        else:
            self.var_comp = np.arange(n_var)
            self.row_comp = np.empty(0, dtype=np.int64)

    def intervals(
        self,
        need_lower: np.ndarray,
        need_upper: np.ndarray,
        exact: bool,
        either: np.ndarray,
        tables: Sequence[tuple[np.ndarray, np.ndarray]] = (),
        bound_lps: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Lower, upper, exactness and "protected without an interval" of every suppressed cell
        (``tables``, ``bound_lps``: as :func:`audit`'s)."""
        budget = None if bound_lps is None else [int(bound_lps)]
        cells = self.cells
        n_cells = cells.shape[0]
        lo = self.const.copy()
        hi = self.const.copy()
        ex = np.ones(n_cells, dtype=bool)
        proven = np.zeros(n_cells, dtype=bool)
        if cells.nnz == 0:
            return lo, hi, ex, proven
        # Every cell lies in one component (see __init__): the one of its first unknown.
        has = np.diff(cells.indptr) > 0
        first = np.full(n_cells, -1, dtype=np.int64)
        first[has] = self.var_comp[cells.indices[cells.indptr[:-1][has]]]
        var_order = np.argsort(self.var_comp, kind="stable")
        var_bounds = np.searchsorted(self.var_comp[var_order], np.arange(self.n_comp + 1))
        row_order = np.argsort(self.row_comp, kind="stable")
        row_bounds = np.searchsorted(self.row_comp[row_order], np.arange(self.n_comp + 1))
        local = np.flatnonzero(has)
        local_by_comp = local[np.argsort(first[local], kind="stable")]
        local_bounds = np.searchsorted(first[local_by_comp], np.arange(self.n_comp + 1))
        todo = np.unique(first[local])
        changes = self._changes_by_component(tables)
        for done, c in enumerate(todo):
            report(done, todo.size, "audit: components")
            c = int(c)
            variables = var_order[var_bounds[c] : var_bounds[c + 1]]
            rows = row_order[row_bounds[c] : row_bounds[c + 1]]
            comp = _Component(self, variables, rows)
            mine = local_by_comp[local_bounds[c] : local_bounds[c + 1]]
            base = self.const[mine]
            given = []
            for at, change in changes.get(c, ()):
                y = comp.truth.copy()
                y[np.searchsorted(variables, at)] += change
                given.append(y)
            l_, h_, e_, p_ = comp.settle(
                cells[mine][:, variables], need_lower[mine] - base, need_upper[mine] - base,
                exact, either[mine], given, budget,
            )  # fmt: skip
            lo[mine] += l_
            hi[mine] += h_
            ex[mine] = e_
            proven[mine] = p_
        return lo, hi, ex, proven

    def _changes_by_component(
        self, tables: Sequence[tuple[np.ndarray, np.ndarray]]
    ) -> dict[int, list[tuple[np.ndarray, np.ndarray]]]:
        """Each table's changes of unknowns, per component (a table that changes an inner cell
        the published cells fix is not a table of this pattern: dropped)."""
        out: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        for cells, change in tables:
            at = self.pos[np.asarray(cells, dtype=np.int64)]
            if (at < 0).any():
                continue
            comp = self.var_comp[at]
            for c in np.unique(comp):
                mine = comp == c
                out.setdefault(int(c), []).append((at[mine], np.asarray(change)[mine]))
        return out

    @property
    def n_comp(self) -> int:
        return int(self.var_comp.max(initial=-1)) + 1


class _Component:
    """One connected block of the attacker's LP, with its bounds and feasible tables."""

    def __init__(self, system: _System, variables: np.ndarray, rows: np.ndarray) -> None:
        self.lower_bound = system.lower_bound
        self.a = system.a[rows][:, variables].tocsr()
        self.rhs = system.rhs[rows]
        self.n = variables.size
        self.truth = system.truth[variables]
        self.undetermined = system.undetermined
        self._highs: highspy.Highs | None = None
        self._first = True  # no solve yet: no basis to start from
        self._cost_idx = np.empty(0, dtype=np.int32)

    # -- bounds that need no LP -------------------------------------------------------
    def outer(self) -> tuple[np.ndarray, np.ndarray]:
        """Outer bounds of every variable by propagation (``lb``, ``ub``)."""
        from sdc.kernels.bounds import propagate_bounds

        lb = np.full(self.n, self.lower_bound)
        ub = np.full(self.n, np.inf)
        if np.isfinite(self.lower_bound) and self.a.shape[0]:
            propagate_bounds(
                self.a.indptr.astype(np.int64), self.a.indices.astype(np.int64),
                self.rhs, lb, ub, 100, 1e-9,
            )  # fmt: skip
        if not np.isfinite(self.lower_bound):
            lb[:] = -np.inf
        return lb, ub

    # -- LPs --------------------------------------------------------------------------------
    def _model(self) -> highspy.Highs:
        if self._highs is None:
            upper = np.full(self.n, np.inf)
            self._highs = _highs_model(self.a, self.rhs, np.full(self.n, self.lower_bound), upper)
        return self._highs

    def solve(self, cost: np.ndarray) -> tuple[float, np.ndarray | None]:
        """min cost.y over the component: (optimum, an optimal table), (-inf, None) if unbounded."""
        h = self._model()
        idx = np.union1d(self._cost_idx, np.flatnonzero(cost)).astype(np.int32)
        h.changeColsCost(idx.size, idx, cost[idx].astype(np.float64))
        self._cost_idx = np.flatnonzero(cost).astype(np.int32)
        # A large component's first solve goes faster by interior point (then crossover to a
        # basis): 5 s where dual simplex took 31-37 s on a 3-D table of 1e5 cells (51,297
        # equations). Anything but an optimum from it is decided again by simplex.
        interior = self._first and self.a.shape[0] >= IPM_ROWS
        if interior:
            h.setOptionValue("solver", "ipm")
        h.run()
        if interior:
            h.setOptionValue("solver", "simplex")
            if h.getModelStatus() != _status("kOptimal"):
                h.run()
        self._first = False
        # Each later solve changes only the costs: the last optimal basis stays feasible, and
        # primal simplex goes on from it (on a 4-D table of 1e4 cells, 15 solves took 0.5 s
        # where dual simplex, which must first regain dual feasibility, took 4.4 s).
        h.setOptionValue("simplex_strategy", 4)
        status = h.getModelStatus()
        if status == _status("kOptimal"):
            y = np.asarray(h.getSolution().col_value, dtype=np.float64)
            return float(h.getInfo().objective_function_value), y
        # The system holds the true table, so it is feasible: these mean "no finite bound".
        if status in (_status("kUnbounded"), _status("kUnboundedOrInfeasible")):
            return -np.inf, None
        raise RuntimeError(f"audit LP failed: {h.modelStatusToString(status)}")

    def _interior(self, seen: Any) -> bool:
        """Is there a feasible table with every unknown strictly above its bound?

        The true table is one if no unknown is at its bound. Otherwise LPs push the
        cells at their bound up (each optimum is a feasible table, also ``seen``);
        the mean of the true table and those optima is strictly inside as soon as
        each such cell is above its bound in one of them. Small LPs over windows of
        the unknowns come first (:meth:`_lift_in_windows`); LPs over the whole
        component only take the cells they could not lift.
        """
        if not np.isfinite(self.lower_bound) or not self._truth_fits:
            return False  # not a table that fits the published cells: nothing to start from
        margin = _TOL * np.maximum(1.0, np.abs(self.truth))
        low = self.truth <= self.lower_bound + margin
        if low.any() and self.n > LIFT_WINDOW:
            low &= ~self._lift_in_windows(low, margin, seen)
        for _ in range(4):
            if not low.any():
                return True
            _, y = self.solve(-low.astype(np.float64))
            if y is None:
                return False
            seen(y)
            lifted = low & (y > self.lower_bound + margin)
            if not lifted.any():
                return False  # those cells are at their bound in every feasible table
            low &= ~lifted
        return not low.any()

    def _agrees(self, y: np.ndarray, slack: float) -> bool:
        """Does the table ``y`` reproduce the published cells, within ``slack`` of each?"""
        if not np.all(np.isfinite(y)):
            return False
        scale = np.maximum(1.0, np.abs(self.rhs))
        return bool(np.all(np.abs(self.a @ y - self.rhs) <= slack * scale))

    def _feasible(self, y: np.ndarray) -> bool:
        """Does the table ``y`` agree with the published cells and the bound (to round-off)?"""
        if not self._agrees(y, 10 * _TOL):
            return False
        return bool(np.all(y >= self.lower_bound - 10 * _TOL * np.maximum(1.0, np.abs(y))))

    @cached_property
    def _truth_fits(self) -> bool:
        """Is the true table known and does it reproduce the published cells?"""
        return self._agrees(self.truth, _TOL)

    @cached_property
    def _columns(self) -> sp.csc_matrix:
        """The equations by column, sliced once per window."""
        return self.a.tocsc()

    def _windows(self) -> Any:
        """Windows ``(start, stop)`` of consecutive unknowns, then the same shifted by half."""
        for offset in (0, LIFT_WINDOW // 2):
            for start in range(offset, self.n, LIFT_WINDOW):
                yield start, min(start + LIFT_WINDOW, self.n)

    def _window_lp(
        self, start: int, stop: int, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray
    ) -> np.ndarray | None:
        """A feasible table that moves only the unknowns ``start:stop``, optimal for ``cost``.

        The other unknowns keep their true values, so the table is feasible for
        the whole component (the true table fits, :attr:`_truth_fits`). The table
        is built around true values: it decides, it is never shown.
        """
        sub = self._columns[:, start:stop].tocsr()
        sub = sub[np.diff(sub.indptr) > 0]
        h = _highs_model(sub, sub @ self.truth[start:stop], lower, upper)
        idx = np.flatnonzero(cost).astype(np.int32)
        h.changeColsCost(idx.size, idx, cost[idx].astype(np.float64))
        h.run()
        if h.getModelStatus() != _status("kOptimal"):
            return None
        y = self.truth.copy()
        y[start:stop] = np.asarray(h.getSolution().col_value, dtype=np.float64)
        return y

    def _lift_in_windows(self, low: np.ndarray, margin: np.ndarray, seen: Any) -> np.ndarray:
        """The cells of ``low`` that LPs over windows of consecutive unknowns lift off their bound.

        Unknowns come in cube order, so a window holds neighbouring slices of the
        table, where the small cycles that lift a cell usually lie.
        """
        lifted = np.zeros(self.n, dtype=bool)
        for start, stop in self._windows():
            want = low[start:stop] & ~lifted[start:stop]
            if not want.any():
                continue
            # Cells to lift are capped just above the bound: the LP stays bounded.
            upper = np.where(want, self.lower_bound + 1.0, np.inf)
            lower = np.full(stop - start, self.lower_bound)
            y = self._window_lp(start, stop, -want.astype(np.float64), lower, upper)
            if y is not None:
                seen(y, False)
                lifted |= low & (y > self.lower_bound + margin)
        return lifted

    def _window_tables(self, cost: np.ndarray, seen: Any) -> None:
        """Feasible tables optimal for ``cost`` within each window (see :meth:`_window_lp`).

        Each unknown may move by at most its true value plus one either way (the
        LPs stay bounded; any move shows a cell is not fixed).
        """
        reach = np.abs(self.truth) + 1.0
        lower = np.maximum(self.truth - reach, self.lower_bound)
        upper = self.truth + reach
        for a, b in self._windows():
            if cost[a:b].any():
                seen(self._window_lp(a, b, cost[a:b], lower[a:b], upper[a:b]), False)

    # -- the settling loop ----------------------------------------------------------------
    def settle(
        self,
        c: sp.csr_matrix,
        need_lower: np.ndarray,
        need_upper: np.ndarray,
        exact: bool,
        either: np.ndarray,
        given: Sequence[np.ndarray] = (),
        budget: list[int] | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Intervals of the cells ``c`` (cells x variables) of this component.

        ``given``: feasible tables found elsewhere (each checked here), which decide;
        ``budget``: LPs for single bounds left (shared by the components; None: no limit).

        Returns (lower, upper, exact, proven): lower/upper are exact where
        ``exact``, otherwise inner bounds (NaN if none was computed); ``proven``
        marks cells shown to be protected without an interval that shows it.
        """
        n_cells = c.shape[0]
        lb, ub = self.outer()
        out_lo = c @ lb if np.all(np.isfinite(lb)) else np.full(n_cells, -np.inf)
        out_hi = c @ ub
        scale = np.maximum(1.0, np.maximum(np.abs(need_lower), np.abs(need_upper)))
        tol = _TOL * scale
        # Values feasible tables give each cell: all of them decide; only tables
        # computed from the published cells alone are shown (not those built
        # around the true table, whose values could be true values).
        inner_lo = np.full(n_cells, np.inf)
        inner_hi = np.full(n_cells, -np.inf)
        shown_lo = np.full(n_cells, np.inf)
        shown_hi = np.full(n_cells, -np.inf)
        lp_lo = np.full(n_cells, np.nan)  # bounds solved exactly by their own LP
        lp_hi = np.full(n_cells, np.nan)

        def seen(y: np.ndarray | None, clean: bool = True) -> None:
            if y is not None:
                v = c @ y
                np.minimum(inner_lo, v, out=inner_lo)
                np.maximum(inner_hi, v, out=inner_hi)
                if clean:
                    np.minimum(shown_lo, v, out=shown_lo)
                    np.maximum(shown_hi, v, out=shown_hi)

        if not exact:
            for table in given:
                if self._feasible(table):
                    seen(table, False)
        ex_lo = np.zeros(n_cells, dtype=bool)
        ex_hi = np.zeros(n_cells, dtype=bool)
        if self.a.shape[0] == 0:
            return out_lo, out_hi, np.ones(n_cells, dtype=bool), np.zeros(n_cells, dtype=bool)
        # Level 0 in an interior component: protected (module docstring, step 2).
        proven = np.zeros(n_cells, dtype=bool)
        if self.undetermined and not exact and self._interior(seen):
            proven = need_upper - need_lower <= tol

        def open_bounds() -> tuple[np.ndarray, np.ndarray]:
            ex_lo[:] |= inner_lo <= out_lo + tol
            ex_hi[:] |= inner_hi >= out_hi - tol
            width_ok = inner_hi - inner_lo > EXACT_WIDTH * scale
            done = _reaches(inner_lo <= need_lower + tol, inner_hi >= need_upper - tol, either)
            done &= width_ok
            done |= proven
            if exact:
                done[:] = False
            return ~done & ~ex_lo, ~done & ~ex_hi

        # Window tables around the true table settle most cells cheaply (decide only).
        open_lo, open_hi = open_bounds()
        if (open_lo.any() or open_hi.any()) and self.n > LIFT_WINDOW and self._truth_fits:
            for mask, sign in ((open_lo, 1.0), (open_hi, -1.0)):
                if mask.any():
                    self._window_tables(sign * np.asarray(c[mask].sum(axis=0)).ravel(), seen)
        # Batches: push every open cell down (then up) at once; stop when a batch helps little.
        for _ in range(8):
            open_lo, open_hi = open_bounds()
            before = int(open_lo.sum() + open_hi.sum())
            if before == 0:
                break
            for mask, sign in ((open_lo, 1.0), (open_hi, -1.0)):
                if mask.any():
                    _, y = self.solve(sign * np.asarray(c[mask].sum(axis=0)).ravel())
                    seen(y)
            open_lo, open_hi = open_bounds()
            if int(open_lo.sum() + open_hi.sum()) > 0.8 * before:
                break
        # One LP per bound still open; each optimum is exact and widens the others too.
        open_lo, open_hi = open_bounds()
        for j in np.flatnonzero(open_lo | open_hi):
            for maximise in (False, True):
                if exact:
                    done = False
                elif proven[j]:
                    done = True
                else:
                    width = inner_hi[j] - inner_lo[j]
                    low_ok = inner_lo[j] <= need_lower[j] + tol[j]
                    high_ok = inner_hi[j] >= need_upper[j] - tol[j]
                    reached = (low_ok or high_ok) if either[j] else (low_ok and high_ok)
                    done = bool(reached and width > EXACT_WIDTH * scale[j])
                if maximise:
                    if done or ex_hi[j] or inner_hi[j] >= out_hi[j] - tol[j]:
                        continue
                elif done or ex_lo[j] or inner_lo[j] <= out_lo[j] + tol[j]:
                    continue
                if budget is not None:
                    if budget[0] <= 0:
                        continue
                    budget[0] -= 1
                row = np.zeros(self.n)
                entries = slice(c.indptr[j], c.indptr[j + 1])
                row[c.indices[entries]] = c.data[entries]
                value, y = self.solve(-row if maximise else row)
                seen(y)
                if maximise:
                    inner_hi[j] = lp_hi[j] = np.inf if y is None else -value
                    ex_hi[j] = True
                else:
                    inner_lo[j] = lp_lo[j] = -np.inf if y is None else value
                    ex_lo[j] = True
        ex_lo |= inner_lo <= out_lo + tol
        ex_hi |= inner_hi >= out_hi - tol
        # Shown: an exact bound (its LP, or the outer bound where a table reached it), else
        # the inner bound from clean tables; never seen: no interval to show.
        lo = np.where(~np.isnan(lp_lo), lp_lo, np.where(ex_lo, out_lo, shown_lo))
        hi = np.where(~np.isnan(lp_hi), lp_hi, np.where(ex_hi, out_hi, shown_hi))
        lo[np.isposinf(lo)] = np.nan
        hi[np.isneginf(hi)] = np.nan
        exact_both = ex_lo & ex_hi
        decided = _reaches(inner_lo <= need_lower + tol, inner_hi >= need_upper - tol, either)
        decided &= inner_hi - inner_lo > EXACT_WIDTH * scale
        return lo, hi, exact_both, (proven | decided) & ~exact_both


def _reaches(low_ok: np.ndarray, high_ok: np.ndarray, either: np.ndarray) -> np.ndarray:
    """Whether each interval reaches what it needs: both sides, or one where ``either``."""
    return np.where(either, low_ok | high_ok, low_ok & high_ok)


def audit_in_cube(a: Audit, cells: np.ndarray, n_cells: int) -> Audit:
    """An audit over the columns ``cells``, spread over a cube (NaN / True elsewhere)."""
    full = {}
    for name in ("lower", "upper", "need_lower", "need_upper"):
        arr = np.full(n_cells, np.nan)
        arr[cells] = getattr(a, name)
        full[name] = arr
    for name in ("ok", "exact"):
        flags = np.ones(n_cells, dtype=bool)
        flags[cells] = getattr(a, name)
        full[name] = flags
    either = None
    if a.either is not None:
        either = np.zeros(n_cells, dtype=bool)
        either[cells] = a.either
    return Audit(**full, either=either)
