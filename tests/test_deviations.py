"""The deviation LPs that choose secondaries for protection levels, against an independent LP.

A deviation's cost decides which alternative table a cell gets (the cheaper of "down to 0"
and "up to the threshold", the block's or the whole table's): a cost that is not the
optimum of the LP it comes from picks the wrong one. Each cost is checked against
``scipy.optimize.linprog`` on the same problem written out in full, and against the
published cells the deviation changes, weighed by hand.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from sdc.protection.deviation import Deviation, Deviations, Move
from sdc.tables.model import TableModel


def _table(seed: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray, np.ndarray]:
    """A 2-D count table with margins: model matrix, inner counts, weights, hidden cells."""
    rng = np.random.default_rng(seed)
    n_r, n_c = int(rng.integers(3, 6)), int(rng.integers(3, 6))
    tm = TableModel(("r", "c"), (tuple(f"r{i}" for i in range(n_r)),
                                 tuple(f"c{j}" for j in range(n_c))), n_rows=1)  # fmt: skip
    x = sp.csr_matrix(tm.model_matrix(), dtype=np.float64)
    y = rng.integers(0, 9, x.shape[0]).astype(np.float64)
    value = x.T @ y
    hidden = rng.random(x.shape[1]) < 0.3
    return x, y, value, hidden


def _reference_cost(x: sp.csr_matrix, y: np.ndarray, weight: np.ndarray, hidden: np.ndarray,
                    move: Move) -> float | None:  # fmt: skip
    """min sum_j w_j |x_j . d| over published j (hidden cost nothing), y + d >= 0,
    x_p . d = sign * amount: the LP in full, with scipy."""
    n_in, n_col = x.shape
    xt = x.T.toarray()
    w = np.where(hidden, 0.0, weight + 1.0)
    c = np.concatenate([np.zeros(n_in), w, w])
    a_eq = np.hstack([xt, -np.eye(n_col), np.eye(n_col)])
    bounds: list[tuple[float, float | None]] = [(-yi, None) for yi in y]
    bounds += [(0.0, None)] * (2 * n_col)
    p = move.cell
    bounds[n_in + p] = (move.amount, move.amount) if move.sign > 0 else (0.0, 0.0)
    bounds[n_in + n_col + p] = (0.0, 0.0) if move.sign > 0 else (move.amount, move.amount)
    got = linprog(c, A_eq=a_eq, b_eq=np.zeros(n_col), bounds=bounds, method="highs")
    return float(got.fun) if got.status == 0 else None


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), sign=st.sampled_from([1.0, -1.0]),
       amount=st.sampled_from([1.0, 2.5]))  # fmt: skip
def test_a_whole_table_deviation_costs_what_the_independent_lp_says(
    seed: int, sign: float, amount: float
) -> None:
    x, y, value, hidden = _table(seed)
    weight = value.copy()
    cell = int(np.flatnonzero(hidden)[0]) if hidden.any() else 0
    hidden[cell] = True
    dv = Deviations(x, y, 0.0, weight, hidden)
    move = Move(cell, sign, amount)
    got = dv.solve(move)  # a table this small is solved whole
    want = _reference_cost(x, y, weight, hidden, move)
    if want is None:
        assert got is None
        return
    assert got is not None
    assert got.cost == pytest.approx(want, abs=1e-6)
    # The cost is what the published cells it changes are worth, each by its change.
    d = np.zeros(x.shape[0])
    d[got.cells] = got.change
    change = np.abs(x.T @ d)
    assert float(((weight + 1.0) * change)[~hidden].sum()) == pytest.approx(got.cost, abs=1e-6)
    assert (y + d >= -1e-9).all()
    assert (x.T @ d)[cell] == pytest.approx(sign * amount)


def test_a_cell_that_moves_one_way_for_free_is_not_charged_for_the_other() -> None:
    """Two solves in a row on one model: the second's cost is its own, not left over."""
    x, y, value, hidden = _table(7)
    hidden[:] = False
    hidden[0] = True
    dv = Deviations(x, y, 0.0, value.copy(), hidden)
    costs = [dv.solve(Move(0, s, 1.0)) for s in (1.0, -1.0, 1.0)]
    want = [_reference_cost(x, y, value, hidden, Move(0, s, 1.0)) for s in (1.0, -1.0, 1.0)]
    assert [None if c is None else round(c.cost, 6) for c in costs] == [
        None if w is None else round(w, 6) for w in want
    ]
    assert all(w is None or w > 0 for w in want)


def test_a_cell_of_a_4d_table_moves_within_its_block_without_touching_a_margin(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In k dimensions a change that keeps every margin needs cells that differ from the
    moved one in all k (a hypercube's corners). Steps through the relations stop at 3: the
    block adds a few cells along each of the cell's lines and all their combinations, so
    the cheapest change inside it moves inner cells only (each margin published, none
    hidden for it), and is a true alternative table."""
    import sdc.protection.deviation as deviation

    monkeypatch.setattr(deviation, "BLOCK_ENTRIES", 16 * 3**4)  # a box of 3 cells a line
    rng = np.random.default_rng(4)
    k, n = 4, 7
    levels = tuple(tuple(f"{d}{i}" for i in range(n)) for d in range(k))
    tm = TableModel(tuple(f"v{d}" for d in range(k)), levels, n_rows=1)
    x = sp.csr_matrix(tm.model_matrix(), dtype=np.float64)
    assert x.shape[0] > 2000  # past the size solved whole
    y = rng.integers(3, 20, x.shape[0]).astype(np.float64)
    value = x.T @ y
    hidden = np.zeros(x.shape[1], dtype=bool)
    unit = np.flatnonzero(np.diff(x.tocsc().indptr) == 1)
    cell = int(unit[1234])
    hidden[cell] = True
    dv = Deviations(x, y, 0.0, value.copy(), hidden)
    assert dv._block(cell).size == 3**4
    for sign in (1.0, -1.0):
        got = dv._solve_block(Move(cell, sign, 2.0))
        assert got is not None
        d = np.zeros(x.shape[0])
        d[got.cells] = got.change
        change = x.T @ d
        assert change[cell] == pytest.approx(sign * 2.0)
        moved = np.flatnonzero(np.abs(change) > 1e-9)
        assert (np.diff(x.tocsc().indptr)[moved] == 1).all()  # inner cells only
        assert set(moved) == set(np.flatnonzero(got.changed))
        assert (y + d >= -1e-9).all()
        assert got.cost < 2.0 * 16 * value.max()  # a hypercube's corners at most


def test_a_move_an_earlier_table_already_makes_costs_no_lp_and_hides_nothing() -> None:
    """The table found for one cell stays feasible as more cells are hidden: a later move it
    already makes (another corner of the same square) needs nothing more."""
    x, y, value, hidden = _table(11)
    hidden[:] = False
    unit = np.flatnonzero(np.diff(x.tocsc().indptr) == 1)
    first = Move(int(unit[0]), 1.0, 1.0)
    probe = Deviations(x, y, 0.0, value.copy(), hidden)
    probe.protect([[first]])
    cells, change = probe.tables[0]
    d = np.zeros(x.shape[0])
    d[cells] = change
    moved = x.T @ d
    others = [j for j in unit if j != first.cell and moved[j] >= 1.0 - 1e-9]
    assert others  # the square's opposite corner goes up with it
    second = Move(int(others[0]), 1.0, float(moved[others[0]]))
    dv = Deviations(x, y, 0.0, value.copy(), hidden)
    solved: list[Move] = []
    solve = dv.solve

    def counted(move: Move) -> Deviation | None:
        solved.append(move)
        return solve(move)

    dv.solve = counted  # type: ignore[method-assign]
    used = dv.protect([[first], [second]])
    assert solved == [first]
    assert len(dv.tables) == 1
    assert used.sum() == probe.hidden.sum()


def test_an_lp_highs_refuses_is_never_solved() -> None:
    """A model HiGHS does not take raises at once, rather than leaving an empty model whose
    "optimum" (0, no change) would read as a deviation that costs nothing."""
    from unittest import mock

    import highspy

    from sdc.protection.highs import new_model

    a = sp.csc_matrix(np.array([[1.0, 1.0]]))
    args = (a, np.ones(2), np.zeros(2), np.full(2, np.inf), np.ones(1), np.ones(1))
    h = new_model(*args)
    h.run()
    assert h.getInfo().objective_function_value == 1.0
    with mock.patch.object(highspy.Highs, "passModel", return_value=highspy.HighsStatus.kError):
        with pytest.raises(RuntimeError, match="refused an LP of 1 rows and 2 columns"):
            new_model(*args)
