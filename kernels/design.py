"""Record counts behind a regression's design, read from its codes without refitting.

Before a regression is released every dummy level, every interaction cell and every
category of a binary outcome must be backed by enough records. Those counts follow
from the integer codes of the categorical columns (``pandas.factorize`` or
``Categorical.codes``: 0..L-1, -1 for missing) and the mask of rows the fit used,
so they are counted here in one pass over the rows instead of from the fitted model.

``level_counts`` counts each column on its own (one dummy per level);
``cell_counts`` counts the full crossing of its columns (interactions, and outcome
x factor tables when the outcome is one of the columns). Numba does not check
bounds, so the kernels check every code as they read it: an out-of-range code stops
the pass and is reported by the wrapper, instead of being written outside the counts.
"""

from __future__ import annotations

import math
from typing import NoReturn

import numpy as np
import numpy.typing as npt
from numba import njit

#: Largest crossing ``cell_counts`` allocates (int64 counts: 400 MB).
MAX_CELLS = 50_000_000


@njit(cache=True)
def _level_counts(codes, n_levels, keep):
    """Kept rows per level, columns concatenated; and the first row with a bad code, or -1."""
    n, k = codes.shape
    offsets = np.zeros(k + 1, dtype=np.int64)
    for j in range(k):
        offsets[j + 1] = offsets[j] + n_levels[j]
    counts = np.zeros(offsets[k], dtype=np.int64)
    for i in range(n):
        kept = keep[i]
        for j in range(k):
            c = codes[i, j]
            if c < 0 or c >= n_levels[j]:
                if c != -1:
                    return counts, np.int64(i)
                continue
            if kept:
                counts[offsets[j] + c] += 1
    return counts, np.int64(-1)


@njit(cache=True)
def _cell_counts(codes, n_levels, keep, n_cells):
    """Kept rows per cell of the crossing (C order); and the first row with a bad code, or -1.

    A row's cell is its codes read as digits in the mixed radix ``n_levels``; a row
    missing on any column has no cell. Every code is still checked.
    """
    n, k = codes.shape
    counts = np.zeros(n_cells, dtype=np.int64)
    for i in range(n):
        cell = np.int64(0)
        missing = False
        for j in range(k):
            c = codes[i, j]
            if c < 0 or c >= n_levels[j]:
                if c != -1:
                    return counts, np.int64(i)
                missing = True
            cell = cell * n_levels[j] + c
        if keep[i] and not missing:
            counts[cell] += 1
    return counts, np.int64(-1)


def _describe(a: object) -> str:
    if not isinstance(a, np.ndarray):
        return type(a).__name__
    order = "C-contiguous" if a.flags.c_contiguous else "not C-contiguous"
    return f"{a.dtype} array of shape {a.shape}, {order}"


def _checked(
    codes: object, n_levels: object, keep: object
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.bool_]]:
    """The three arguments as the kernels take them, or ValueError naming the bad one."""
    if (
        not isinstance(codes, np.ndarray)
        or codes.dtype != np.int64
        or codes.ndim != 2
        or not codes.flags.c_contiguous
    ):
        raise ValueError(
            f"codes must be a C-contiguous int64 array of shape (n_rows, k); got {_describe(codes)}"
        )
    n_rows, k = codes.shape
    if not isinstance(n_levels, np.ndarray) or n_levels.dtype != np.int64 or n_levels.shape != (k,):
        raise ValueError(
            f"n_levels must be an int64 array of shape ({k},), one entry per column of codes; "
            f"got {_describe(n_levels)}"
        )
    if k and int(n_levels.min()) < 0:
        j = int(np.argmin(n_levels))
        raise ValueError(f"n_levels must not be negative; n_levels[{j}] = {int(n_levels[j])}")
    if not isinstance(keep, np.ndarray) or keep.dtype != np.bool_ or keep.shape != (n_rows,):
        raise ValueError(
            f"keep must be a bool array of shape ({n_rows},), one entry per row of codes; "
            f"got {_describe(keep)}"
        )
    return codes, np.ascontiguousarray(n_levels), np.ascontiguousarray(keep)


def _raise_bad_code(
    codes: npt.NDArray[np.int64], n_levels: npt.NDArray[np.int64], i: int
) -> NoReturn:
    row = codes[i]
    j = int(np.flatnonzero((row < -1) | (row >= n_levels))[0])
    size = int(n_levels[j])
    expected = "-1 (missing)" + (f" or 0..{size - 1}" if size else "")
    raise ValueError(
        f"codes[{i}, {j}] = {int(row[j])} is not a level of column {j}: expected {expected} "
        f"(n_levels[{j}] = {size})"
    )


def level_counts(
    codes: npt.NDArray[np.int64], n_levels: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """Kept rows at each level of each column: int64 of length ``sum(n_levels)``.

    Column j's counts start at ``sum(n_levels[:j])``; code -1 (missing) is not
    counted, and a level no kept row has counts 0.

    >>> codes = np.array([[0, 1], [2, -1], [0, 0]])
    >>> level_counts(codes, np.array([3, 2]), np.array([True, True, False]))
    array([1, 0, 1, 0, 1])
    """
    codes, n_levels, keep = _checked(codes, n_levels, keep)
    counts, bad = _level_counts(codes, n_levels, keep)
    if bad >= 0:
        _raise_bad_code(codes, n_levels, int(bad))
    return counts


def cell_counts(
    codes: npt.NDArray[np.int64], n_levels: npt.NDArray[np.int64], keep: npt.NDArray[np.bool_]
) -> npt.NDArray[np.int64]:
    """Kept rows in each cell of the crossing of the columns: int64 of length ``prod(n_levels)``.

    Cells are in C order (first column outermost), so ``counts.reshape(n_levels)``
    is the k-way table. Rows missing (-1) on any column are not counted. Crossings of
    more than ``MAX_CELLS`` cells are refused.

    >>> codes = np.array([[0, 1], [1, 2], [1, -1], [1, 2]])
    >>> cell_counts(codes, np.array([2, 3]), np.ones(4, dtype=bool)).reshape(2, 3)
    array([[0, 1, 0],
           [0, 0, 2]])
    """
    codes, n_levels, keep = _checked(codes, n_levels, keep)
    n_cells = math.prod(int(x) for x in n_levels)  # Python ints: no overflow
    if n_cells > MAX_CELLS:
        raise ValueError(
            f"n_levels {n_levels.tolist()} cross into {n_cells:,} cells, more than the "
            f"{MAX_CELLS:,} cell_counts allocates; count fewer columns at a time"
        )
    counts, bad = _cell_counts(codes, n_levels, keep, np.int64(n_cells))
    if bad >= 0:
        _raise_bad_code(codes, n_levels, int(bad))
    return counts


@njit(cache=True)
def _binary_design(exog, outcome, n_cat):
    """One pass over a float design matrix: which columns are 0/1, their ones, and the
    ones per outcome category (``outcome`` -1: no category)."""
    n, k = exog.shape
    is01 = np.ones(k, dtype=np.bool_)
    ones = np.zeros(k, dtype=np.int64)
    pairs = np.zeros((k, max(n_cat, 1)), dtype=np.int64)
    per_outcome = np.zeros(max(n_cat, 1), dtype=np.int64)
    for i in range(n):
        c = outcome[i]
        if c >= 0:
            per_outcome[c] += 1
        for j in range(k):
            v = exog[i, j]
            if v == 1.0:
                ones[j] += 1
                if c >= 0:
                    pairs[j, c] += 1
            elif v != 0.0:
                is01[j] = False
    return is01, ones, pairs, per_outcome


def binary_design_counts(
    exog: npt.NDArray[np.float64], outcome: npt.NDArray[np.int64] | None = None, n_cat: int = 0
) -> tuple[
    npt.NDArray[np.bool_], npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.int64]
]:
    """Read a regression's design matrix once, as it is: no 0/1 copies, no temporaries.

    Returns, per column, whether every value is 0 or 1 and how many are 1; per
    (column, outcome category) the rows where the column is 1 and the outcome is
    that category; and the rows per category. ``outcome`` holds codes 0..n_cat-1
    (or -1, not counted); without it the pair counts are empty.

    >>> exog = np.array([[1.0, 1.0, 0.5], [1.0, 0.0, 2.0], [1.0, 1.0, 0.0]])
    >>> is01, ones, pairs, per = binary_design_counts(exog, np.array([0, 1, 1]), 2)
    >>> is01.tolist(), ones.tolist(), pairs[1].tolist(), per.tolist()
    ([True, True, False], [3, 2, 0], [1, 1], [1, 2])
    """
    if not isinstance(exog, np.ndarray) or exog.ndim != 2:
        raise ValueError(f"exog must be a 2-D array; got {_describe(exog)}")
    x = np.asarray(exog, dtype=np.float64)
    if not x.flags.c_contiguous:
        x = np.ascontiguousarray(x)
    if outcome is None:
        codes = np.full(x.shape[0], -1, dtype=np.int64)
        n_cat = 0
    else:
        codes = np.ascontiguousarray(outcome, dtype=np.int64)
        if codes.shape != (x.shape[0],):
            raise ValueError(f"outcome must have one code per row; got {_describe(outcome)}")
        if codes.size and (int(codes.min()) < -1 or int(codes.max()) >= n_cat):
            raise ValueError(f"outcome codes must be -1 or 0..{n_cat - 1}")
    is01, ones, pairs, per = _binary_design(x, codes, int(n_cat))
    return is01, ones, pairs[:, :n_cat], per[:n_cat]
