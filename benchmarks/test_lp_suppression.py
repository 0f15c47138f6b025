"""Checks of the reference LP suppression, each against something computed independently here.

The independent yardsticks are a plain attacker LP over every inner cell (no fixing of known
cells, no warm starts: :func:`_interval`), the definition of a two-way table, an exhaustive search
over all suppression patterns of a small table, and sdc's own audit.
"""

from __future__ import annotations

import itertools

import highspy
import numpy as np
import pytest
import scipy.sparse as sp
from lp_suppression import _run, feasible_intervals, lp_suppress, two_way_with_margins
from scipy.optimize import linprog

from sdc.protection.audit import audit
from sdc.protection.secondary import secondary_suppress
from sdc.tables.model import TableModel

TOL = 1e-6


def _interval(x: sp.spmatrix, values: np.ndarray, suppressed: np.ndarray, p: int) -> np.ndarray:
    """Min and max of published cell p over all nonnegative inner tables matching the rest."""
    x = sp.csc_matrix(x, dtype=float)
    a_eq = x[:, ~suppressed].T
    obj = x[:, [p]].toarray().ravel()
    ends = []
    for s in (1.0, -1.0):
        res = linprog(s * obj, A_eq=a_eq, b_eq=values[~suppressed], bounds=(0, None))
        assert res.status in (0, 3)  # 3: unbounded above
        ends.append(s * res.fun if res.status == 0 else -s * np.inf)
    return np.array(ends)


def _meets(lo_hi: np.ndarray, v: float, up: float, low: float, width: float) -> bool:
    """The requirement of the module docstring, restated: levels, or a sliding width if both 0."""
    lo, hi = lo_hi
    slack = TOL * max(1.0, abs(v))
    if up <= 0 and low <= 0:
        return hi - lo >= width - slack
    return hi >= v + max(up, 0.0) - slack and lo <= v - min(max(low, 0.0), v) + slack


def _hierarchical(rng: np.random.Generator, sizes: list[int]) -> tuple[sp.csr_matrix, np.ndarray]:
    """A table with margins and, on dimensions of 4+ leaves, two subtotal groups."""
    levels = tuple(tuple(f"l{i}" for i in range(n)) for n in sizes)
    groups = tuple(
        (("g0", lv[: len(lv) // 2]), ("g1", lv[len(lv) // 2 :])) if len(lv) >= 4 else ()
        for lv in levels
    )
    tm = TableModel(tuple(f"d{k}" for k in range(len(sizes))), levels, 1, True, groups)
    x = tm.model_matrix()
    y = rng.negative_binomial(1, 0.1, x.shape[0]).astype(float)
    return x, np.asarray(x.T @ y).ravel()


def test_two_way_builder_is_a_table_with_margins() -> None:
    inner = np.arange(12.0).reshape(3, 4) ** 2
    x, values = two_way_with_margins(inner)
    want = np.concatenate([inner.ravel(), inner.sum(axis=1), inner.sum(axis=0), [inner.sum()]])
    np.testing.assert_array_equal(values, want)
    assert set(np.unique(x.toarray())) == {0.0, 1.0}


CASES = [
    ("two-way 5x4", [5, 4], False),
    ("hierarchical 6x4", [6, 4], False),
    ("hierarchical 4x3x3", [4, 3, 3], False),
    ("hierarchical 6x4, some inner cells unpublished", [6, 4], True),
]


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(("name", "sizes", "hide_inner"), CASES, ids=[c[0] for c in CASES])
def test_every_primary_reaches_its_requirement(
    name: str, sizes: list[int], hide_inner: bool, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    x, values = _hierarchical(rng, sizes)
    if hide_inner:  # inner cells whose value is not published: the feasibility-LP path
        nnz = np.diff(sp.csc_matrix(x).indptr)
        keep = (nnz > 1) | (rng.random(values.size) < 0.7)
        x, values = sp.csr_matrix(x[:, np.flatnonzero(keep)]), values[keep]
    n_pub = values.size
    primary = (values > 0) & (rng.random(n_pub) < 0.2)
    primary[np.argmax(values)] = False
    mode = rng.integers(0, 4, n_pub)  # sliding, upper only, lower only, both
    upper = np.where(primary & (mode % 2 == 1), np.ceil(0.3 * values) + 1, 0.0)
    lower = np.where(primary & (mode >= 2), np.ceil(0.2 * values) + 1, 0.0)
    width = float(rng.choice([0.5, 1.0, 3.0]))
    res = lp_suppress(x, values, primary, upper, lower, min_width=width)

    assert res.completed and res.n_done == primary.sum()
    assert (res.suppressed >= primary).all()
    np.testing.assert_array_equal(res.secondary, res.suppressed & ~primary)
    assert res.n_secondary == res.secondary.sum()
    assert res.cost == pytest.approx((values + 1.0)[res.secondary].sum())
    for k, p in enumerate(np.flatnonzero(primary)):
        want = _interval(x, values, res.suppressed, p)
        np.testing.assert_allclose(res.intervals[k], want, rtol=TOL, atol=TOL)
        assert _meets(want, values[p], upper[p], lower[p], width), (p, want, values[p])
    assert res.audit_ok and res.unprotected.size == 0


def _cheapest_protecting_pattern(
    x: sp.spmatrix, values: np.ndarray, p: int, cost: np.ndarray, width: float
) -> float:
    """Exhaustive search: cheapest set of other published cells that gives p the width."""
    others = [j for j in range(values.size) if j != p]
    subsets = [s for r in range(len(others) + 1) for s in itertools.combinations(others, r)]
    subsets.sort(key=lambda s: cost[list(s)].sum())
    for s in subsets:
        suppressed = np.zeros(values.size, dtype=bool)
        suppressed[[p, *s]] = True
        if _meets(_interval(x, values, suppressed, p), values[p], 0.0, 0.0, width):
            return float(cost[list(s)].sum())
    raise AssertionError("no pattern protects the cell")


@pytest.mark.parametrize("seed", range(3))
def test_one_primary_of_a_two_way_table_gets_an_optimal_pattern(seed: int) -> None:
    # With one primary in a two-way table whose inner cells are all >= 1, a pattern protects it
    # exactly when it holds a cycle of cells through it, and the first LP is a min-cost flow whose
    # optimum is the cheapest cycle (unique for random real costs): the heuristic is optimal here.
    rng = np.random.default_rng(seed)
    inner = rng.integers(1, 20, size=(2, 3)).astype(float)
    x, values = two_way_with_margins(inner)
    p = int(rng.integers(6))
    primary = np.zeros(values.size, dtype=bool)
    primary[p] = True
    cost = rng.uniform(1.0, 2.0, values.size)
    res = lp_suppress(x, values, primary, cost=cost)
    assert res.audit_ok
    assert res.cost == pytest.approx(_cheapest_protecting_pattern(x, values, p, cost, 1.0))


@pytest.mark.parametrize("seed", range(4))
def test_intervals_agree_with_sdc_audit(seed: int) -> None:
    # The benchmark audits both methods' patterns with sdc's audit: it must see what this sees.
    rng = np.random.default_rng(seed)
    x, values = _hierarchical(rng, [6, 4, 3])
    primary = (values > 0) & (values < 4)
    s = secondary_suppress(x, primary, values, zero=values == 0)
    cells = np.flatnonzero(s.suppressed)
    ours = feasible_intervals(x, values, s.suppressed, cells)
    theirs = audit(x, values, s.suppressed, np.zeros(values.size), exact=True)
    np.testing.assert_allclose(ours[:, 0], theirs.lower[cells], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(ours[:, 1], theirs.upper[cells], rtol=TOL, atol=TOL)


def test_time_limit_returns_a_partial_pattern() -> None:
    x, values = two_way_with_margins(np.arange(1.0, 26.0).reshape(5, 5))
    primary = np.zeros(values.size, dtype=bool)
    primary[[0, 12]] = True
    res = lp_suppress(x, values, primary, time_limit=0.0)
    assert not res.completed and res.n_done == 0 and res.n_lp_solves == 0
    np.testing.assert_array_equal(res.suppressed, primary)
    short = [p for p in (0, 12) if not _meets(_interval(x, values, primary, p), values[p], 0, 0, 1)]
    np.testing.assert_array_equal(np.sort(res.unprotected), short)
    assert not res.audit_ok


def test_a_failed_warm_start_is_solved_again_from_scratch() -> None:
    class Flaky:
        """Fails its first solve, as a warm start in numerical trouble does."""

        def __init__(self) -> None:
            self.runs, self.cleared = 0, False

        def setOptionValue(self, name: str, value: float) -> None:
            pass

        def getRunTime(self) -> float:
            return 0.0

        def run(self) -> None:
            self.runs += 1

        def clearSolver(self) -> None:
            self.cleared = True

        def getModelStatus(self) -> highspy.HighsModelStatus:
            ok = self.cleared and self.runs == 2
            return highspy.HighsModelStatus.kOptimal if ok else highspy.HighsModelStatus.kSolveError

    h = Flaky()
    assert _run(h, 10.0) == highspy.HighsModelStatus.kOptimal
    assert h.cleared and h.runs == 2


def test_bad_input_is_refused() -> None:
    x, values = two_way_with_margins(np.ones((2, 2)))
    primary = np.zeros(values.size, dtype=bool)
    primary[0] = True
    with pytest.raises(ValueError, match="primary must have shape"):
        lp_suppress(x, values, primary[:-1])
    with pytest.raises(ValueError, match="values must be >= 0"):
        lp_suppress(x, -values, primary)
    with pytest.raises(ValueError, match="cost must be > 0"):
        lp_suppress(x, values, primary, cost=np.zeros(values.size))
    with pytest.raises(ValueError, match="not the sums"):
        lp_suppress(x, values + 1.0, primary)


@pytest.mark.slow
@pytest.mark.parametrize("k", [2, 3, 4])
def test_benchmark_tables_pass_both_audits(k: int) -> None:
    # The benchmark's own tables (about 1e3 inner cells): the pattern passes this module's audit
    # and sdc's, and the two audits give the same intervals for every primary.
    from argparse import Namespace

    from bench_protection import make_table, table_model

    table = make_table(k, 1e3, Namespace(seed=0, primary_rate=0.1, threshold=10, dispersion=0.5))
    x = table_model(table).model_matrix()
    values = np.asarray(x.T @ table["counts"]).ravel()
    primary = (values > 0) & (values < 10)
    res = lp_suppress(x, values, primary)
    assert res.completed and res.audit_ok
    theirs = audit(x, values, res.suppressed, np.zeros(values.size), exact=True)
    assert theirs.passed
    cells = np.flatnonzero(primary)
    np.testing.assert_allclose(res.intervals[:, 0], theirs.lower[cells], rtol=TOL, atol=TOL)
    np.testing.assert_allclose(res.intervals[:, 1], theirs.upper[cells], rtol=TOL, atol=TOL)
