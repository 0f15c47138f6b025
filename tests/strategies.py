"""Hypothesis strategies for microdata: the shapes real research extracts take.

Grouping columns are skewed (one level is hot), text or integer, with one to many
levels, some categorical with a declared order; values mix missing, negative,
zero and integer-valued numbers; a contributor (person, firm) usually owns
several rows spread over several cells.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from hypothesis import strategies as st

#: Text levels: empty, spaces, non-ASCII and prefixes of one another; none can be
#: mistaken for the total ("All") or the missing label.
_TEXT_LEVELS = ("", "a", "b", "ab", "a b", "b_", "z", "zz", "é", "Äz", "é a", "_")

VALUE = "value"
CONTRIBUTOR = "person"
MANY_LEVELS = 60


@dataclass(frozen=True)
class Microdata:
    """One generated extract and the table to make of it."""

    frame: pd.DataFrame
    dims: list[str]
    value: str | None
    contributor: str | None
    top_k: int
    #: Values are integers (or missing), so sums and per-contributor totals are exact.
    exact: bool
    #: Declared categories (in their order, used or not) of the categorical columns.
    categories: dict[str, list[Any]] = field(default_factory=dict)

    def __repr__(self) -> str:
        # The whole frame, so that a failing example can be pasted back in.
        columns = self.frame.astype(object).where(self.frame.notna(), None)
        return (
            f"make_case({columns.to_dict(orient='list')!r}, dims={self.dims!r}, "
            f"value={self.value!r}, contributor={self.contributor!r}, top_k={self.top_k}, "
            f"categories={self.categories!r})"
        )


def _frame(columns: dict[str, list[Any]], categories: dict[str, list[Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(columns)
    for name, cats in categories.items():
        frame[name] = frame[name].astype(pd.CategoricalDtype(cats))
    return frame


def make_case(
    columns: dict[str, list[Any]],
    dims: list[str],
    value: str | None = None,
    contributor: str | None = None,
    top_k: int = 3,
    categories: dict[str, list[Any]] | None = None,
) -> Microdata:
    """A case from plain columns, for pinned examples."""
    categories = categories or {}
    exact = value is None or all(
        x is None or (isinstance(x, float) and math.isnan(x)) or float(x).is_integer()
        for x in columns[value]
    )
    frame = _frame(columns, categories)
    return Microdata(frame, dims, value, contributor, top_k, exact, categories)


@st.composite
def _level_pool(draw: st.DrawFn, n_levels: int) -> list[Any]:
    """Distinct labels of one grouping column, text or integer."""
    if draw(st.booleans()):
        if n_levels > len(_TEXT_LEVELS):
            return [f"g{i:02d}" for i in range(n_levels)]
        return draw(st.permutations(_TEXT_LEVELS))[:n_levels]
    # Distinct integers without rejection: a start and positive gaps, then shuffled.
    start = draw(st.integers(-(10**6), 10**6))
    gaps = draw(st.lists(st.integers(1, 10**4), min_size=n_levels - 1, max_size=n_levels - 1))
    pool = [start]
    for gap in gaps:
        pool.append(pool[-1] + gap)
    return draw(st.permutations(pool))


def _skewed(n: int) -> st.SearchStrategy[int]:
    """An index below ``n`` that is 0 (the hot level) about half the time."""
    return st.one_of(st.just(0), st.integers(0, n - 1))


@st.composite
def _grouping_column(draw: st.DrawFn, n_levels: int, n_rows: int) -> tuple[list[Any], list[Any]]:
    """The column's level pool and its values."""
    pool = draw(_level_pool(n_levels))
    picks = draw(st.lists(_skewed(n_levels), min_size=n_rows, max_size=n_rows))
    column = [pool[i] for i in picks]
    if isinstance(pool[0], str) and draw(st.booleans()):
        # Missing grouping values: the engine keeps them as a level of their own.
        rare = st.sampled_from([False, False, False, True])
        holes = draw(st.lists(rare, min_size=n_rows, max_size=n_rows))
        column = [None if h else x for x, h in zip(column, holes, strict=True)]
    return pool, column


_INTEGER_VALUES = st.one_of(
    st.integers(-100, 1000).map(float), st.just(math.nan), st.just(0.0), st.just(-1.0)
)
_FLOAT_VALUES = st.one_of(
    st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False),
    st.just(math.nan),
    st.integers(-5, 5).map(float),
)


@st.composite
def microdata(draw: st.DrawFn, contributor: bool | None = None) -> Microdata:
    """A microdata frame with 1-3 grouping columns, optional values and contributor.

    ``contributor`` forces a contributor column (True) or its absence (False).
    """
    k = draw(st.integers(1, 3))
    many = k <= 2 and draw(st.integers(0, 3)) == 0
    max_rows = 150 if many else 40
    n_rows = draw(st.integers(1, max_rows))
    sizes = [draw(st.sampled_from([1, 1, 2, 3, 4, 6])) for _ in range(k)]
    if many:
        sizes[0] = MANY_LEVELS
    dims = [f"d{i}" for i in range(k)]
    columns: dict[str, list[Any]] = {}
    categories: dict[str, list[Any]] = {}
    for d, size in zip(dims, sizes, strict=True):
        pool, columns[d] = draw(_grouping_column(size, n_rows))
        if draw(st.integers(0, 3)) == 0:
            # Categorical: the pool's (unsorted) order is declared, unused levels included.
            categories[d] = pool

    mode = draw(st.sampled_from(["count", "integer", "float", "all_missing"]))
    value = None if mode == "count" else VALUE
    if mode == "integer":
        columns[VALUE] = draw(st.lists(_INTEGER_VALUES, min_size=n_rows, max_size=n_rows))
    elif mode == "float":
        columns[VALUE] = draw(st.lists(_FLOAT_VALUES, min_size=n_rows, max_size=n_rows))
    elif mode == "all_missing":
        columns[VALUE] = [math.nan] * n_rows

    has_contributor = draw(st.booleans()) if contributor is None else contributor
    who = None
    if has_contributor:
        who = CONTRIBUTOR
        n_people = draw(st.integers(1, 8))
        ids: list[Any] = (
            [f"p{i}" for i in range(n_people)] if draw(st.booleans()) else list(range(n_people))
        )
        picks = draw(st.lists(_skewed(n_people), min_size=n_rows, max_size=n_rows))
        columns[CONTRIBUTOR] = [ids[i] for i in picks]

    top_k = draw(st.integers(2, 4))
    frame = _frame(columns, categories)
    return Microdata(frame, dims, value, who, top_k, mode != "float", categories)
