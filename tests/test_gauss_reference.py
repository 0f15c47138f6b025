"""The exact suppression reference, checked on tables small enough to work out by hand.

The kernel tests trust ``gauss_reference``, so it has to earn that here: every expected
answer below was derived on paper (the derivation is in the comments), and the random
properties are ones that follow from the greedy's definition.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest
import scipy.sparse as sp
from gauss_reference import determined, in_span, lp_interval, reference_gauss_suppress
from hypothesis import given, settings
from hypothesis import strategies as st


def table_2d(rows: int, cols: int) -> np.ndarray:
    """X of an r x c table with margins.

    Column order: the inner cells row by row, then the row totals, then the column totals,
    then the grand total.
    """
    n = rows * cols
    columns = [np.eye(n, dtype=int)[:, i] for i in range(n)]
    cell = np.arange(n).reshape(rows, cols)
    for i in range(rows):
        columns.append(np.isin(np.arange(n), cell[i, :]).astype(int))
    for k in range(cols):
        columns.append(np.isin(np.arange(n), cell[:, k]).astype(int))
    columns.append(np.ones(n, dtype=int))
    return np.column_stack(columns)


def mask(n: int, cells: Sequence[int]) -> np.ndarray:
    """A boolean mask over n cells, True at ``cells``."""
    out = np.zeros(n, dtype=bool)
    out[list(cells)] = True
    return out


# The 2x2 table with margins, columns in ``table_2d`` order:
#   a = (1,1), b = (1,2), c = (2,1), d = (2,2), R1 = a+b, R2 = c+d, C1 = a+c, C2 = b+d,
#   T = a+b+c+d.
A, B, C, D, R1, R2, C1, C2, T = range(9)
X22 = table_2d(2, 2)


def test_table_2d_layout() -> None:
    assert X22[:, R1].tolist() == [1, 1, 0, 0]
    assert X22[:, C1].tolist() == [1, 0, 1, 0]
    assert X22[:, T].tolist() == [1, 1, 1, 1]


def test_margins_first_suppresses_the_rectangle() -> None:
    # Primary a; margins wanted most. The margins span the 3-d space orthogonal to the
    # rectangle vector (1, -1, -1, 1); a is not orthogonal to it, so all five margins are
    # published. Any inner cell is also not orthogonal to it, so each of b, c, d would
    # complete the span to R^4 and expose a: all three are suppressed.
    suppressed = reference_gauss_suppress(X22, [T, R1, R2, C1, C2, B, C, D], mask(9, [A]))
    assert np.flatnonzero(suppressed).tolist() == [A, B, C, D]


def test_inner_cells_first_suppresses_the_margins_through_a() -> None:
    # Same primary, inner cells wanted most: b, c, d say nothing about a and are
    # published. Then T (= a + b + c + d), R1 (= a + b) and C1 (= a + c) would each give
    # a away; R2 = c + d and C2 = b + d are already known and are published.
    suppressed = reference_gauss_suppress(X22, [B, C, D, T, R1, R2, C1, C2], mask(9, [A]))
    assert np.flatnonzero(suppressed).tolist() == [A, R1, C1, T]


def test_sparse_input_gives_the_same_answer() -> None:
    order = [T, R1, R2, C1, C2, B, C, D]
    dense = reference_gauss_suppress(X22, order, mask(9, [A]))
    sparse = reference_gauss_suppress(sp.csc_matrix(X22), order, mask(9, [A]))
    assert dense.tolist() == sparse.tolist()


def test_forced_cell_is_published_even_if_it_exposes_the_primary() -> None:
    # With all margins published, forcing b out makes a = R1 - b: the result is unsafe and
    # that is the caller's business. c and d still get suppressed (a is already exposed).
    order = [T, R1, R2, C1, C2, B, C, D]
    suppressed = reference_gauss_suppress(X22, order, mask(9, [A]), forced=mask(9, [B]))
    assert np.flatnonzero(suppressed).tolist() == [A, C, D]
    assert determined(X22, ~suppressed)[A]


@pytest.mark.parametrize(
    ("order", "primary", "forced"),
    [
        ([T, R1, R2, C1, C2, B, C], [A], None),  # D missing
        ([T, R1, R2, C1, C2, B, C, D, D], [A], None),  # D twice
        ([T, R1, R2, C1, C2, B, C, D, A], [A], None),  # a primary listed
        ([T, R1, R2, C1, C2, B, C, 9], [A], None),  # not a cell
        ([T, R1, R2, C1, C2, B, C, D], [A], [A]),  # primary and forced
    ],
)
def test_bad_candidates_are_rejected(
    order: list[int], primary: list[int], forced: list[int] | None
) -> None:
    with pytest.raises(ValueError):
        reference_gauss_suppress(
            X22, order, mask(9, primary), forced=None if forced is None else mask(9, forced)
        )


# The Geurts example (Handbook on Statistical Disclosure Control): a 3x2 table with row
# totals 7, 3, 6, column totals 9, 7; row 3 = (3, 3) is published, the four cells of rows
# 1 and 2 are suppressed.
GEURTS_INNER = np.array([[4, 3], [2, 1], [3, 3]])
X32 = table_2d(3, 2)
X11, X12, X21, X22_, X31, X32_ = range(6)
GEURTS_PUBLISHED = mask(12, [X31, X32_, *range(6, 12)])


def test_geurts_inner_values_match_the_totals() -> None:
    assert GEURTS_INNER.sum(axis=1).tolist() == [7, 3, 6]
    assert GEURTS_INNER.sum(axis=0).tolist() == [9, 7]
    values = X32.T @ GEURTS_INNER.ravel()
    assert values[6:].tolist() == [7, 3, 6, 9, 7, 16]


def test_geurts_intervals() -> None:
    # X11 = t gives X12 = 7 - t, X21 = (9 - 3) - t = 6 - t and X22 = 3 - X21 = t - 3;
    # all >= 0 means 3 <= t <= 6, and the other three cells follow.
    values = X32.T @ GEURTS_INNER.ravel()
    expected = {X11: (3, 6), X12: (1, 4), X21: (0, 3), X22_: (0, 3)}
    for cell, (lo, hi) in expected.items():
        got = lp_interval(X32, values, GEURTS_PUBLISHED, cell)
        assert got == pytest.approx((lo, hi), abs=1e-9)
    assert lp_interval(X32, values, GEURTS_PUBLISHED, X31) == pytest.approx((3, 3))
    assert not determined(X32, GEURTS_PUBLISHED)[[X11, X12, X21, X22_]].any()


def test_interval_bounds() -> None:
    values = X32.T @ GEURTS_INNER.ravel()
    # An upper bound of 5 on every cell caps X11 below 6.
    assert lp_interval(X32, values, GEURTS_PUBLISHED, X11, upper=np.full(6, 5.0)) == (
        pytest.approx(3),
        pytest.approx(5),
    )
    # Without the sign constraint the attacker learns nothing about X11 from the totals.
    assert lp_interval(X32, values, GEURTS_PUBLISHED, X11, lower=np.full(6, -np.inf)) == (
        -math.inf,
        math.inf,
    )
    # Nothing published: any non-negative value is possible.
    assert lp_interval(X32, values, mask(12, []), X11) == (0, math.inf)


# A 2x3 table with margins: inner cells 0..5 row by row, R1 = 6, R2 = 7, C1..C3 = 8..10,
# T = 11.
X23 = table_2d(2, 3)


def test_lone_suppression_in_a_row_is_recomputable() -> None:
    assert in_span(X23, [6, 1, 2], 0)  # X11 = R1 - X12 - X13
    assert not in_span(X23, [6, 1], 0)  # X11 + X13 known, not X11
    assert not in_span(X23, [], 0)
    published = ~mask(12, [0])
    assert determined(X23, published).all()


def test_suppressed_rectangle_is_not_recomputable() -> None:
    # X11, X12, X21, X22 suppressed: adding t to X11 and X22 and taking it from X12 and
    # X21 keeps every published cell, so none of the four is determined.
    published = ~mask(12, [0, 1, 3, 4])
    got = determined(X23, published)
    assert not got[[0, 1, 3, 4]].any()
    assert got[published].all()
    # ... while their sums along a row are.
    assert in_span(X23, np.flatnonzero(published).tolist(), 6)


def test_singleton_changes_the_result() -> None:
    # One row of three cells u, v, w and its total T; u is the primary, w has a single
    # contributor. Wanted order: T, v, w.
    # Without singleton knowledge: T and v are published (u + w stays unknown), then w
    # would give u = T - v - w, so w is suppressed.
    # The contributor of w knows w, so publishing T and v would hand them u: with the
    # singleton option v is suppressed instead, and w can be published since u + v = T - w
    # leaves u hidden even from w's contributor.
    u, v, w, total = range(4)
    X = np.array([[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1]])
    order = [total, v, w]
    plain = reference_gauss_suppress(X, order, mask(4, [u]))
    aware = reference_gauss_suppress(X, order, mask(4, [u]), singleton=mask(4, [w]))
    assert np.flatnonzero(plain).tolist() == [u, w]
    assert np.flatnonzero(aware).tolist() == [u, v]
    assert in_span(X, [total, v, w], u)  # the leak the plain result leaves
    assert not in_span(X, [total, w], u)


def test_singleton_knowledge_can_end_up_publishing_more() -> None:
    # Singletons do not always cost cells: the two greedies diverge and then walk
    # different paths. 2x2 table, primary C1 = a + c, singleton b, order
    # R1, c, C2, b, d, a, T, R2.
    # Plain: R1, c, C2 are safe; then b gives a = R1 - b (so C1), d gives b = C2 - d,
    # a gives C1 directly, T - C2 = C1, and R2 gives d = R2 - c: published R1, c, C2 (3).
    # Aware: c is refused (b's contributor gets a = R1 - b, plus c), after which b, d and a
    # are all safe (c stays unknown) and T, R2 are refused: published R1, C2, b, d, a (5).
    order = [R1, C, C2, B, D, A, T, R2]
    plain = reference_gauss_suppress(X22, order, mask(9, [C1]))
    aware = reference_gauss_suppress(X22, order, mask(9, [C1]), singleton=mask(9, [B]))
    assert np.flatnonzero(~plain).tolist() == [C, R1, C2]
    assert np.flatnonzero(~aware).tolist() == [A, B, D, R1, C2]


def test_primary_summing_no_inner_cell_is_always_determined() -> None:
    # The zero vector lies in every span, the empty one included: such a cell is known to be
    # 0 whatever is published, so no candidate can pass and all but forced cells are
    # suppressed. Real tables have no such cell; the reference does not special-case it.
    X = np.array([[0, 1, 1], [0, 0, 1]])
    assert in_span(X, [], 0)
    suppressed = reference_gauss_suppress(X, [1, 2], mask(3, [0]), forced=mask(3, [2]))
    assert np.flatnonzero(suppressed).tolist() == [0, 1]


def test_singleton_that_copies_another_primary_blocks_everything() -> None:
    # A one-row table: the column totals C1, C2 repeat the inner cells a, b. With a
    # singleton and C1 primary, a's contributor knows C1 = a before anything is published;
    # the test "x_p in span(P + c + s) for a primary p != s" (cells compared by index, not
    # by vector) then fails for every candidate, so all but forced cells are suppressed.
    X = table_2d(1, 2)  # a, b, R1, C1, C2, T
    a, b, r1, c1, c2, total = range(6)
    order = [total, r1, c2, b, a]
    plain = reference_gauss_suppress(X, order, mask(6, [c1]))
    aware = reference_gauss_suppress(X, order, mask(6, [c1]), singleton=mask(6, [a]))
    # Plain: T and R1 (both a + b) are published; C2 = b, then b, then a would each give a.
    assert np.flatnonzero(plain).tolist() == [a, b, c1, c2]
    assert aware.all()


@st.composite
def small_problems(draw: st.DrawFn) -> tuple[np.ndarray, list[int], np.ndarray, np.ndarray]:
    """A small table (with margins, or an arbitrary 0/1 matrix), primaries, order, singletons."""
    if draw(st.booleans()):
        X = table_2d(draw(st.integers(1, 3)), draw(st.integers(2, 3)))
    else:
        n_inner, n_pub = draw(st.integers(2, 4)), draw(st.integers(2, 7))
        # Every published cell sums at least one inner cell (see the empty-primary test).
        X = np.zeros((n_inner, n_pub), dtype=int)
        for j in range(n_pub):
            X[list(draw(st.sets(st.integers(0, n_inner - 1), min_size=1))), j] = 1
    n = X.shape[1]
    primary = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    primary[draw(st.integers(0, n - 1))] = True
    order = draw(st.permutations(np.flatnonzero(~primary).tolist()))
    unit = X.sum(axis=0) == 1
    singleton = unit & np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    return X, order, primary, singleton


def exposes(X: np.ndarray, published: Sequence[int], primary: np.ndarray, single: int) -> bool:
    """Whether ``published`` plus what a singleton's contributor knows determine a primary."""
    known = [*published] if single < 0 else [*published, single]
    return any(in_span(X, known, p) for p in np.flatnonzero(primary) if p != single)


@settings(max_examples=50, deadline=None)
@given(problem=small_problems())
def test_singleton_greedy_is_safe_maximal_and_first_diverges_by_suppressing(
    problem: tuple[np.ndarray, list[int], np.ndarray, np.ndarray],
) -> None:
    X, order, primary, singleton = problem
    plain = reference_gauss_suppress(X, order, primary)
    aware = reference_gauss_suppress(X, order, primary, singleton=singleton)
    nobody = reference_gauss_suppress(X, order, primary, singleton=np.zeros_like(singleton))
    assert nobody.tolist() == plain.tolist()
    assert plain[primary].all() and aware[primary].all()

    views = [-1, *np.flatnonzero(singleton).tolist()]  # -1: an outsider
    if any(exposes(X, [], primary, s) for s in views):
        # A singleton that is itself (a copy of) another primary: nothing can be published.
        assert aware.all()
    for result, who in ((plain, [-1]), (aware, views)):
        published = np.flatnonzero(~result).tolist()
        # Safe: nobody in ``who`` can recompute a primary (other than their own cell) who
        # could not do so from nothing.
        assert not any(
            exposes(X, published, primary, s) and not exposes(X, [], primary, s) for s in who
        )
        # Maximal: publishing any suppressed non-primary cell as well would expose one.
        for c in np.flatnonzero(result & ~primary):
            assert any(exposes(X, [*published, c], primary, s) for s in who)

    # The runs agree until the first cell they treat differently; there the singleton-aware
    # run has the extra test to fail, so it is the one that suppresses.
    first = next((c for c in order if plain[c] != aware[c]), None)
    if first is not None:
        assert aware[first] and not plain[first]


@settings(max_examples=50, deadline=None)
@given(problem=small_problems(), data=st.data())
def test_determined_cells_have_a_point_interval(
    problem: tuple[np.ndarray, list[int], np.ndarray, np.ndarray], data: st.DataObject
) -> None:
    X, order, primary, _ = problem
    inner = np.array(
        data.draw(st.lists(st.integers(0, 9), min_size=X.shape[0], max_size=X.shape[0]))
    )
    values = X.T @ inner
    published = ~reference_gauss_suppress(X, order, primary)
    known = determined(X, published)
    assert not known[primary].any()
    for j in range(X.shape[1]):
        lo, hi = lp_interval(X, values, published, j)
        assert lo - 1e-7 <= values[j] <= hi + 1e-7
        if known[j]:
            assert (lo, hi) == (pytest.approx(values[j]), pytest.approx(values[j]))
