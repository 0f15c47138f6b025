"""The audit against an independent dense LP (``gauss_reference.lp_interval``), per cell.

The audit settles most cells without their own LP (bound propagation, feasible
tables from batched LPs); these tests check that its exact intervals are the
reference's, that its default (inner) intervals lie inside them, and that both
modes agree on which cells are protected.
"""

from __future__ import annotations

from unittest import mock

import numpy as np
from gauss_reference import lp_interval
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.protection import audit as audit_module
from sdc.protection.audit import EXACT_WIDTH, audit
from sdc.protection.secondary import secondary_suppress
from sdc.tables.model import TableModel


@st.composite
def patterns(draw):
    """A small table with margins (maybe overlapping groups), true values, a pattern, levels."""
    k = draw(st.integers(1, 3))
    sizes = [draw(st.integers(2, 4 if k < 3 else 3)) for _ in range(k)]
    levels = tuple(tuple(f"l{i}" for i in range(n)) for n in sizes)
    groups = []
    for n in sizes:
        gs = []
        if n >= 3 and draw(st.booleans()):
            gs.append(("g0", tuple(f"l{i}" for i in range(n - 1))))
            if draw(st.booleans()):
                gs.append(("g1", tuple(f"l{i}" for i in range(1, n))))
        groups.append(tuple(gs))
    tm = TableModel(tuple(f"d{i}" for i in range(k)), levels, 1, True,
                    tuple(groups) if any(groups) else ())  # fmt: skip
    x = tm.model_matrix()
    n_inner, n_pub = x.shape
    y = np.array(draw(st.lists(st.integers(0, 20), min_size=n_inner, max_size=n_inner)), float)
    values = np.asarray(x.T @ y).ravel()
    hidden = np.array(draw(st.lists(st.booleans(), min_size=n_pub, max_size=n_pub)))
    levels_ = np.array(draw(st.lists(st.sampled_from([0.0, 0.0, 1.0, 3.0]),
                                     min_size=n_pub, max_size=n_pub)))  # fmt: skip
    return x, values, hidden, levels_


@settings(max_examples=80, deadline=None)
@given(patterns())
def test_exact_intervals_match_an_independent_lp(case):
    x, values, hidden, levels = case
    a = audit(x, values, hidden, levels, exact=True)
    assert a.exact.all()
    for j in np.flatnonzero(hidden):
        lo, hi = lp_interval(x, values, ~hidden, int(j))
        assert np.isclose(a.lower[j], lo, atol=1e-6), (j, a.lower[j], lo)
        assert np.isclose(a.upper[j], hi, atol=1e-6) or (np.isinf(hi) and np.isinf(a.upper[j]))
        need_lo = max(values[j] - levels[j], 0.0)
        reach = a.lower[j] <= need_lo + 1e-6 and a.upper[j] >= values[j] + levels[j] - 1e-6
        assert a.ok[j] == (reach and hi - lo > EXACT_WIDTH * max(1.0, abs(values[j])))
    assert a.ok[~hidden].all()


@settings(max_examples=60, deadline=None)
@given(patterns(), st.booleans())
def test_interior_point_first_solves_give_the_same_intervals(case, exact):
    """Large components are first solved by interior point, then by primal simplex from its
    basis; forced on every component here, the intervals are the independent LP's and the
    verdicts those of the simplex-only audit."""
    x, values, hidden, levels = case
    with mock.patch.object(audit_module, "IPM_ROWS", 0):
        a = audit(x, values, hidden, levels, exact=exact)
    b = audit(x, values, hidden, levels, exact=exact)
    np.testing.assert_array_equal(a.ok, b.ok)
    if exact:
        for j in np.flatnonzero(hidden):
            lo, hi = lp_interval(x, values, ~hidden, int(j))
            assert np.isclose(a.lower[j], lo, atol=1e-6), (j, a.lower[j], lo)
            assert np.isclose(a.upper[j], hi, atol=1e-6) or (np.isinf(hi) and np.isinf(a.upper[j]))


@settings(max_examples=80, deadline=None)
@given(patterns())
def test_default_intervals_lie_inside_and_agree_on_protection(case):
    x, values, hidden, levels = case
    fast = audit(x, values, hidden, levels)
    full = audit(x, values, hidden, levels, exact=True)
    np.testing.assert_array_equal(fast.ok, full.ok)
    # NaN: protected, that bound not computed.
    lo, hi = hidden & ~np.isnan(fast.lower), hidden & ~np.isnan(fast.upper)
    assert (fast.lower[lo] >= full.lower[lo] - 1e-6).all()
    assert (fast.upper[hi] <= full.upper[hi] + 1e-6).all()
    m = lo & hi
    # Where the fast audit calls an interval exact, it is.
    e = m & fast.exact
    np.testing.assert_allclose(fast.lower[e], full.lower[e], atol=1e-6)
    np.testing.assert_allclose(fast.upper[e], full.upper[e], atol=1e-6)


@settings(max_examples=40, deadline=None)
@given(patterns())
def test_patterns_from_the_kernel_need_no_lp_for_level_zero(case):
    """Positive counts, a kernel-made pattern: level-0 cells are settled without an interval,
    and the verdict is the one the exact audit gives."""
    x, values, _, _ = case
    y_pos = np.asarray(x.T @ np.ones(x.shape[0])).ravel()
    values = values + y_pos  # every inner cell >= 1
    primary = values < np.quantile(values, 0.3)
    s = secondary_suppress(x, primary, values)
    levels = np.zeros(values.size)
    fast = audit(x, values, s.suppressed, levels, undetermined=not s.overflowed)
    full = audit(x, values, s.suppressed, levels, exact=True)
    np.testing.assert_array_equal(fast.ok, full.ok)
    assert fast.passed


@settings(max_examples=60, deadline=None)
@given(patterns(), st.integers(1, 5))
def test_zeros_lifted_in_small_windows_keep_the_verdicts(case, window):
    """Hidden zeros sit on their bound: window LPs (tiny windows here) lift them before any
    LP over the whole component. The verdicts stay those of the exact audit."""
    x, values, _, _ = case
    primary = values < np.quantile(values, 0.3)
    s = secondary_suppress(x, primary, values, secondary_zeros=True)
    levels = np.zeros(values.size)
    with mock.patch.object(audit_module, "LIFT_WINDOW", window):
        fast = audit(x, values, s.suppressed, levels, undetermined=not s.overflowed)
    full = audit(x, values, s.suppressed, levels, exact=True)
    np.testing.assert_array_equal(fast.ok, full.ok)


def test_window_lifting_settles_a_table_with_hidden_zeros() -> None:
    """A 6x6 table whose hidden cells include zeros: the windows lift them all."""
    tm = TableModel(("r", "c"), (tuple("abcdef"), tuple("uvwxyz")), n_rows=1)
    x = tm.model_matrix()
    y = np.arange(36.0).reshape(6, 6) % 7  # zeros on a diagonal band
    values = np.asarray(x.T @ y.ravel()).ravel()
    inner = np.flatnonzero(np.diff(x.tocsc().indptr) == 1)
    hidden = np.zeros(values.size, dtype=bool)
    hidden[inner] = True  # every inner cell hidden, margins published
    calls = []
    real = audit_module._Component._lift_in_windows

    def spy(self, low, margin, seen):
        out = real(self, low, margin, seen)
        calls.append((int(low.sum()), int(out.sum())))
        return out

    with (
        mock.patch.object(audit_module, "LIFT_WINDOW", 8),
        mock.patch.object(audit_module._Component, "_lift_in_windows", spy),
    ):
        fast = audit(x, values, hidden, np.zeros(values.size), undetermined=True)
    assert calls and calls[0][0] == (y == 0).sum() and calls[0][1] == calls[0][0]
    assert fast.passed
    assert audit(x, values, hidden, np.zeros(values.size), exact=True).passed


def test_negative_values_leave_hidden_cells_unbounded() -> None:
    """With no lower bound, a hidden 2x2 rectangle can move without limit either way."""
    tm = TableModel(("r", "c"), (("a", "b"), ("x", "y")), n_rows=1)
    x = tm.model_matrix()
    values = np.asarray(x.T @ np.array([5.0, -2.0, 3.0, 4.0])).ravel()
    hidden = np.isin(np.arange(9), [0, 1, 3, 4])
    a = audit(x, values, hidden, np.zeros(9), lower_bound=-np.inf, exact=True)
    assert np.isneginf(a.lower[hidden]).all() and np.isposinf(a.upper[hidden]).all()
    assert a.passed


def test_a_cell_pinned_by_its_margins_fails() -> None:
    """Hiding one inner cell of a table with margins protects nothing: [v, v]."""
    tm = TableModel(("r", "c"), (("a", "b"), ("x", "y")), n_rows=1)
    x = tm.model_matrix()
    values = np.asarray(x.T @ np.array([5.0, 2.0, 3.0, 4.0])).ravel()
    hidden = np.zeros(9, dtype=bool)
    hidden[0] = True
    a = audit(x, values, hidden, np.zeros(9))
    assert (a.lower[0], a.upper[0]) == (5.0, 5.0) and not a.ok[0] and a.exact[0]


@settings(max_examples=60, deadline=None)
@given(patterns(), st.integers(1, 5), st.booleans())
def test_window_tables_keep_verdicts_and_shown_intervals_inside(case, window, proof):
    """With tiny windows (tables built around the true one decide many cells), the verdicts
    are the exact audit's and every interval shown lies inside the exact one."""
    x, values, hidden, levels = case
    with mock.patch.object(audit_module, "LIFT_WINDOW", window):
        fast = audit(x, values, hidden, levels, undetermined=None if proof else False)
    full = audit(x, values, hidden, levels, exact=True)
    np.testing.assert_array_equal(fast.ok, full.ok)
    lo, hi = hidden & ~np.isnan(fast.lower), hidden & ~np.isnan(fast.upper)
    assert (fast.lower[lo] >= full.lower[lo] - 1e-6).all()
    assert (fast.upper[hi] <= full.upper[hi] + 1e-6).all()


def _truth(x, values):
    """The true inner cells: each is published alone by some column of a table with margins."""
    import scipy.sparse as sp

    from sdc.protection.audit import unit_cells

    own = unit_cells(sp.csc_matrix(x), np.ones(values.size, dtype=bool))
    assert (own >= 0).all()
    return values[own]


def _tables(x, values, hidden, y, seed):
    """Alternative tables as (cells, changes) from the true ``y``: optima of the attacker's LP
    for random costs (scipy, feasible by construction), and tables that break a published
    cell or the bound (which the audit must drop)."""
    import scipy.sparse as sp
    from scipy.optimize import linprog

    rng = np.random.default_rng(seed)
    xd = sp.csc_matrix(x).toarray()
    out = []
    for _ in range(3):
        cost = rng.normal(size=y.size)
        a_eq = xd[:, ~hidden].T
        res = linprog(cost, A_eq=a_eq if a_eq.size else None,
                      b_eq=values[~hidden] if a_eq.size else None,
                      bounds=[(0, 3 * (y.max() + 1))] * y.size, method="highs")  # fmt: skip
        assert res.status == 0
        d = res.x - y
        cells = np.flatnonzero(np.abs(d) > 1e-9)
        out.append((cells, d[cells]))
    k = int(rng.integers(y.size))
    out.append((np.array([k]), np.array([rng.choice([-1.0, 1.0]) * (y[k] + 5)])))  # breaks
    return out


@settings(max_examples=60, deadline=None)
@given(patterns(), st.integers(0, 2**31 - 1))
def test_tables_given_to_the_audit_decide_as_the_exact_audit(case, seed):
    """Feasible tables found elsewhere decide cells; a table that breaks a published cell or
    the bound is dropped: the verdicts stay the exact audit's, shown intervals inside."""
    x, values, hidden, levels = case
    tables = _tables(x, values, hidden, _truth(x, values), seed)
    with mock.patch.object(audit_module, "LIFT_WINDOW", 1):
        given_ = audit(x, values, hidden, levels, tables=tables)
    full = audit(x, values, hidden, levels, exact=True)
    np.testing.assert_array_equal(given_.ok, full.ok)
    lo, hi = hidden & ~np.isnan(given_.lower), hidden & ~np.isnan(given_.upper)
    assert (given_.lower[lo] >= full.lower[lo] - 1e-6).all()
    assert (given_.upper[hi] <= full.upper[hi] + 1e-6).all()


@settings(max_examples=60, deadline=None)
@given(patterns(), st.integers(0, 2**31 - 1), st.booleans())
def test_an_audit_that_only_decides_never_passes_more(case, seed, with_tables):
    """Without its LP per bound, a cell no table moves far enough fails: the audit of a round
    passes a subset of what the exact audit passes (and all of it when it passes)."""
    x, values, hidden, levels = case
    tables = _tables(x, values, hidden, _truth(x, values), seed) if with_tables else ()
    quick = audit(x, values, hidden, levels, tables=tables, bound_lps=0)
    full = audit(x, values, hidden, levels, exact=True)
    assert not (quick.ok & ~full.ok).any()
    if quick.passed:
        assert full.passed


def test_a_table_that_moves_a_published_inner_cell_is_dropped() -> None:
    """A 2x2 table with margins, three inner cells hidden and (b,y) published, so (b,x),
    then (a,x) and (a,y) follow from the margins: a 'table' that moves (b,y) too (the
    rectangle) is not a table of this pattern and must not pass (a,x)."""
    tm = TableModel(("r", "c"), (("a", "b"), ("x", "y")), n_rows=1)
    x = tm.model_matrix()
    y = np.array([9.0, 2.0, 11.0, 20.0])
    values = np.asarray(x.T @ y).ravel()
    hidden = np.zeros(9, dtype=bool)
    hidden[[0, 1, 3]] = True  # (a,x) (a,y) (b,x): (b,y) and the margins published
    levels = np.zeros(9)
    bogus = [(np.array([0, 1, 2, 3]), np.array([1.0, -1.0, -1.0, 1.0]))]
    a = audit(x, values, hidden, levels, tables=bogus, bound_lps=0)
    assert not a.ok[0]
    full = audit(x, values, hidden, levels, exact=True)
    assert not full.ok[0]
