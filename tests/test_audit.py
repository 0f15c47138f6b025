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
