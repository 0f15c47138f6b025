"""The design-count kernels against pandas, and their refusals.

Each column's level counts are a ``value_counts`` of the kept rows, and the
crossing's cell counts a ``groupby(...).size()`` of them, both with missing (-1)
dropped; levels and cells no kept row has are 0.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sdc.kernels.design import MAX_CELLS, binary_design_counts, cell_counts, level_counts


@st.composite
def designs(draw: st.DrawFn, max_columns: int = 4) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes of 1..max_columns columns of 0..7 levels (skewed, some missing), and a keep mask."""
    n_levels = draw(st.lists(st.integers(0, 7), min_size=1, max_size=max_columns))
    n_rows = draw(st.integers(0, 80))
    columns = []
    for size in n_levels:
        # Low codes are drawn more often, so high levels are often never seen.
        code = st.integers(-1, size - 1) if size else st.just(-1)
        low = st.integers(-1, min(size, 2) - 1) if size else st.just(-1)
        columns.append(draw(st.lists(st.one_of(low, code), min_size=n_rows, max_size=n_rows)))
    keep = draw(
        st.one_of(
            st.just([True] * n_rows),
            st.just([False] * n_rows),
            st.lists(st.booleans(), min_size=n_rows, max_size=n_rows),
        )
    )
    codes = np.array(columns, dtype=np.int64).reshape(len(n_levels), n_rows).T.copy()
    return codes, np.array(n_levels, dtype=np.int64), np.array(keep, dtype=bool)


def _as_frame(codes: np.ndarray, keep: np.ndarray) -> pd.DataFrame:
    """The kept rows, with -1 as missing."""
    frame = pd.DataFrame(codes[keep], columns=[f"c{j}" for j in range(codes.shape[1])])
    return frame.astype("Int64").mask(frame == -1)


def pandas_level_counts(codes: np.ndarray, n_levels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    frame = _as_frame(codes, keep)
    parts = [
        frame[col].value_counts(dropna=True).reindex(range(size), fill_value=0).to_numpy()
        for col, size in zip(frame.columns, n_levels.tolist(), strict=True)
    ]
    return np.concatenate([np.zeros(0, dtype=np.int64), *parts]).astype(np.int64)


def pandas_cell_counts(codes: np.ndarray, n_levels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    frame = _as_frame(codes, keep)
    out = np.zeros(int(np.prod(n_levels)), dtype=np.int64)
    sizes = frame.groupby(list(frame.columns), dropna=True).size()
    if len(sizes):
        keys = np.array(sizes.index.to_list(), dtype=np.int64).reshape(len(sizes), -1)
        out[np.ravel_multi_index(tuple(keys.T), tuple(n_levels.tolist()))] = sizes.to_numpy()
    return out


def _case(rows: list[list[int]], n_levels: list[int], keep: list[bool] | None = None):
    codes = np.array(rows, dtype=np.int64).reshape(len(rows), len(n_levels))
    mask = np.ones(len(rows), dtype=bool) if keep is None else np.array(keep, dtype=bool)
    return codes, np.array(n_levels, dtype=np.int64), mask


EMPTY = _case([], [3, 2])
ALL_DROPPED = _case([[0, 1], [2, 0]], [3, 2], [False, False])
SINGLE_LEVEL = _case([[0], [0], [-1]], [1])
UNSEEN = _case([[0, 4], [0, -1], [-1, 4]], [2, 5])  # level 1 and 0..3 never seen
NO_LEVELS = _case([[-1, 0], [-1, 1]], [0, 2])  # a column missing everywhere


@given(designs())
@example(EMPTY)
@example(ALL_DROPPED)
@example(SINGLE_LEVEL)
@example(UNSEEN)
@example(NO_LEVELS)
def test_level_counts_match_value_counts(design: tuple[np.ndarray, ...]) -> None:
    codes, n_levels, keep = design
    got = level_counts(codes, n_levels, keep)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, pandas_level_counts(codes, n_levels, keep))


@given(designs(max_columns=3))
@example(EMPTY)
@example(ALL_DROPPED)
@example(SINGLE_LEVEL)
@example(UNSEEN)
@example(NO_LEVELS)
def test_cell_counts_match_groupby_size(design: tuple[np.ndarray, ...]) -> None:
    codes, n_levels, keep = design
    got = cell_counts(codes, n_levels, keep)
    assert got.dtype == np.int64
    np.testing.assert_array_equal(got, pandas_cell_counts(codes, n_levels, keep))


def test_edge_cases_by_hand() -> None:
    np.testing.assert_array_equal(level_counts(*EMPTY), [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(cell_counts(*EMPTY), np.zeros(6))
    np.testing.assert_array_equal(level_counts(*ALL_DROPPED), [0, 0, 0, 0, 0])
    np.testing.assert_array_equal(cell_counts(*ALL_DROPPED), np.zeros(6))
    np.testing.assert_array_equal(level_counts(*SINGLE_LEVEL), [2])
    np.testing.assert_array_equal(cell_counts(*SINGLE_LEVEL), [2])
    np.testing.assert_array_equal(level_counts(*UNSEEN), [2, 0, 0, 0, 0, 0, 2])
    np.testing.assert_array_equal(cell_counts(*UNSEEN), [0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(level_counts(*NO_LEVELS), [1, 1])
    assert cell_counts(*NO_LEVELS).shape == (0,)


def test_no_columns() -> None:
    """No columns: no levels, and one cell (the empty crossing) holding every kept row."""
    codes = np.zeros((3, 0), dtype=np.int64)
    n_levels = np.zeros(0, dtype=np.int64)
    keep = np.array([True, False, True])
    assert level_counts(codes, n_levels, keep).shape == (0,)
    np.testing.assert_array_equal(cell_counts(codes, n_levels, keep), [2])


def test_read_only_inputs() -> None:
    """pandas hands out read-only views; they are counted like any array."""
    codes, n_levels, keep = _case([[0, 1], [1, 1], [1, -1]], [2, 2])
    for a in (codes, n_levels, keep):
        a.setflags(write=False)
    np.testing.assert_array_equal(level_counts(codes, n_levels, keep), [1, 2, 0, 2])
    np.testing.assert_array_equal(cell_counts(codes, n_levels, keep), [0, 1, 0, 1])


CODES, LEVELS, KEEP = _case([[0, 1], [2, 0], [1, 1]], [3, 2])

BAD_ARGUMENTS = [
    ((CODES.astype(np.int32), LEVELS, KEEP), "codes must be a C-contiguous int64 array"),
    ((CODES[:, 0].copy(), LEVELS[:1], KEEP), r"codes .* shape \(n_rows, k\); got int64 array of"),
    ((np.asfortranarray(CODES), LEVELS, KEEP), "not C-contiguous"),
    ((CODES.tolist(), LEVELS, KEEP), "codes must be .*; got list"),
    ((CODES, LEVELS.astype(np.int32), KEEP), r"n_levels must be an int64 array of shape \(2,\)"),
    ((CODES, LEVELS[:1], KEEP), r"n_levels .* one entry per column of codes; got int64 .* \(1,\)"),
    ((CODES, np.array([3, -1]), KEEP), r"n_levels must not be negative; n_levels\[1\] = -1"),
    ((CODES, LEVELS, KEEP.astype(np.int64)), r"keep must be a bool array of shape \(3,\)"),
    ((CODES, LEVELS, KEEP[:2]), r"keep .* one entry per row of codes; got bool array of shape"),
    ((CODES, np.array([2, 2]), KEEP), r"codes\[1, 0\] = 2 is not a level of column 0: expected "),
    ((CODES, np.array([3, 0]), KEEP), r"codes\[0, 1\] = 1 .* expected -1 \(missing\) \(n_le"),
]


@pytest.mark.parametrize(("args", "message"), BAD_ARGUMENTS)
@pytest.mark.parametrize("kernel", [level_counts, cell_counts])
def test_bad_arguments_are_named(kernel, args: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        kernel(*args)


@pytest.mark.parametrize("kernel", [level_counts, cell_counts])
def test_bad_code_is_found_in_dropped_rows_too(kernel) -> None:
    codes = np.array([[0, 0], [1, -2]], dtype=np.int64)
    expected = "codes[1, 1] = -2 is not a level of column 1: expected -1 (missing) or 0..1"
    with pytest.raises(ValueError, match=re.escape(expected)):
        kernel(codes, np.array([2, 2]), np.array([True, False]))


@pytest.mark.parametrize(
    ("n_levels", "cells"),
    [([MAX_CELLS + 1], f"{MAX_CELLS + 1:,}"), ([2**40, 2**40, 2**40], f"{2**120:,}")],
)
def test_too_many_cells_are_refused(n_levels: list[int], cells: str) -> None:
    codes = np.zeros((1, len(n_levels)), dtype=np.int64)
    message = f"n_levels {n_levels} cross into {cells} cells, more than the {MAX_CELLS:,}"
    with pytest.raises(ValueError, match=re.escape(message)):
        cell_counts(codes, np.array(n_levels, dtype=np.int64), np.ones(1, dtype=bool))


@settings(max_examples=60, deadline=None)
@given(
    rows=st.integers(1, 40),
    cols=st.integers(1, 6),
    n_cat=st.integers(0, 4),
    seed=st.integers(0, 2**32 - 1),
)
def test_binary_design_counts_match_numpy(rows: int, cols: int, n_cat: int, seed: int) -> None:
    """The one-pass design reader against plain numpy, on matrices mixing 0/1 and other columns."""
    rng = np.random.default_rng(seed)
    exog = rng.integers(0, 2, size=(rows, cols)).astype(np.float64)
    other = rng.random(cols) < 0.3
    exog[:, other] = rng.normal(size=(rows, int(other.sum())))
    exog = np.asfortranarray(exog) if seed % 2 else exog
    outcome = rng.integers(-1, n_cat, size=rows) if n_cat else None
    is01, ones, pairs, per = binary_design_counts(exog, outcome, n_cat)
    np.testing.assert_array_equal(is01, np.all((exog == 0) | (exog == 1), axis=0))
    np.testing.assert_array_equal(ones, (exog == 1).sum(axis=0))
    if outcome is None:
        assert pairs.shape == (cols, 0) and per.shape == (0,)
        return
    for c in range(n_cat):
        np.testing.assert_array_equal(pairs[:, c], ((exog == 1) & (outcome == c)[:, None]).sum(0))
        assert per[c] == (outcome == c).sum()


def test_binary_design_counts_refuse_bad_outcomes() -> None:
    exog = np.ones((3, 2))
    with pytest.raises(ValueError, match="one code per row"):
        binary_design_counts(exog, np.array([0, 1]), 2)
    with pytest.raises(ValueError, match=r"-1 or 0\.\.1"):
        binary_design_counts(exog, np.array([0, 1, 2]), 2)
    with pytest.raises(ValueError, match="2-D"):
        binary_design_counts(np.ones(3))
