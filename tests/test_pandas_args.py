"""pandas' arguments of crosstab and pivot_table: the same published numbers as pandas, or a refusal
that says what to write instead."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sdc
from sdc.exceptions import SdcInputError
from sdc.tables.table_set import TableSet


def _frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "region": rng.choice(["N", "S", "E"], n), "sex": rng.choice(["F", "M"], n),
        "cost": rng.gamma(2.0, 50.0, n).round(2), "stay": rng.integers(1, 30, n).astype(float),
    })  # fmt: skip


def _same(got: pd.DataFrame, want: pd.DataFrame) -> None:
    """Same labels and numbers (pandas' column index names aside)."""
    got = got.loc[want.index, want.columns]
    np.testing.assert_allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float))


@pytest.mark.parametrize("normalize", [True, "all", "index", "columns", 0, 1])
@pytest.mark.parametrize("margins", [False, True])
def test_normalize_gives_pandas_shares(normalize, margins: bool) -> None:
    df = _frame()
    t = sdc.Session().crosstab(df.region, df.sex, margins=margins, normalize=normalize)
    want = pd.crosstab(df.region, df.sex, margins=margins, normalize=normalize)
    assert t.status is sdc.Status.PASS
    assert list(t.shares.index) == list(want.index)
    assert list(t.shares.columns) == list(want.columns)
    _same(t.shares, want)
    _same(t.table, pd.crosstab(df.region, df.sex, margins=margins))  # the counts, as released


def test_shares_of_a_suppressed_cell_stay_hidden() -> None:
    df = _frame().iloc[:200].copy()
    df.loc[:3, "region"] = "W"  # 4 records
    t = sdc.Session(suppress=True).crosstab(df.region, df.sex, margins=True, normalize="index")
    assert t.status is sdc.Status.PASS and t.protected_applied
    hidden = t.protected_table.drop(index="All", columns="All").isna()
    assert hidden.any().any()
    assert t.shares.drop(index="All")[hidden].isna().all().all()
    shown = ~hidden
    want = pd.crosstab(df.region, df.sex, normalize="index")
    expected = want.loc[shown.index, shown.columns][shown].stack().to_numpy()
    np.testing.assert_allclose(t.shares.drop(index="All")[shown].stack().to_numpy(), expected)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.sampled_from(["mean", "sum", "median", "count", "std"]),
        min_size=1,
        max_size=3,
        unique=True,
    ),  # fmt: skip
    st.sampled_from([["cost"], ["cost", "stay"], "stay"]),
    st.booleans(),
)
def test_lists_of_aggfunc_and_values_are_pandas_pivot_tables(stats, values, by_sex: bool) -> None:
    df = _frame(600, seed=1)
    columns = "sex" if by_sex else None
    t = sdc.Session().pivot_table(df, values=values, index="region", columns=columns,
                                  aggfunc=stats)  # fmt: skip
    want = pd.pivot_table(df, values=values, index="region", columns=columns, aggfunc=stats)
    assert isinstance(t, TableSet) and len(t.outputs) == len(stats) * len(np.atleast_1d(values))
    assert list(t.table.columns) == list(want.columns)
    got = t.table
    for stat in stats:
        if stat == "median":  # published rounded to the [quantile] grid: 3 significant figures
            want[stat] = want[stat].map(lambda x: float(f"{x:.3g}"))
    _same(got, want)


@pytest.mark.parametrize(
    ("aggfunc", "pandas_name"),
    [(np.mean, "mean"), (np.sum, "sum"), (len, "count"), ("mean", "mean"), (np.std, "std")],
)
def test_aggfunc_functions_are_the_statistic_pandas_names(aggfunc, pandas_name: str) -> None:
    df = _frame()
    t = sdc.Session().pivot_table(df, values="cost", index="region", aggfunc=aggfunc)
    assert t.statistic == pandas_name
    want = pd.pivot_table(df, values="cost", index="region", aggfunc=pandas_name)
    if pandas_name == "count":
        want = df.groupby("region").size().to_frame("cost")
    _same(t.table.set_axis(["cost"], axis=1), want)


def test_crosstab_takes_a_list_of_aggfunc() -> None:
    df = _frame()
    t = sdc.Session().crosstab(df.region, df.sex, df.cost, aggfunc=["mean", np.sum])
    want = pd.crosstab(df.region, df.sex, df.cost, aggfunc=["mean", "sum"])
    assert list(t.table.columns) == list(want.columns)
    _same(t.table, want)
    assert sorted(t.outputs) == ["mean", "sum"] and "TableSet" in repr(t)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda s, df: s.crosstab("region", "sex"), r"data\['region'\]"),
        (lambda s, df: s.crosstab(df.region, df.sex, margins_name="Total"), "Rename"),
        (lambda s, df: s.crosstab(df.region, df.sex, dropna=True), "dropna\\(subset"),
        (
            lambda s, df: s.pivot_table(df, "cost", "region", aggfunc=lambda x: x.max()),
            "cannot be checked",
        ),
        (lambda s, df: s.pivot_table(df, ["cost", "cost"], "region"), "without repeats"),
        (lambda s, df: s.pivot_table(df, ["cost", "weight"], "region"), "weight"),
        (lambda s, df: s.pivot_table(df, "cost", "region", aggfunc=["mean", "total"]), "total"),
        (lambda s, df: s.crosstab(df.region, df.sex, normalize="rows"), "'index'"),
        (lambda s, df: s.crosstab(df.region, normalize=True), "two-way count table"),
        (
            lambda s, df: s.crosstab(df.region, df.sex, df.cost, "mean", normalize=True),
            "two-way count table",
        ),
    ],
)
def test_what_is_not_supported_says_what_to_write(call, match: str) -> None:
    s = sdc.Session()
    with pytest.raises(SdcInputError, match=match):
        call(s, _frame())
    assert s.outputs == {}  # nothing made before the refusal


def test_each_table_of_a_set_is_in_the_session_and_finalised(tmp_path) -> None:
    from sdc.release.gate import check_folder

    s = sdc.Session()
    t = s.pivot_table(_frame(), values=["cost", "stay"], index="region", aggfunc=["mean", "sum"],
                      name="costs")  # fmt: skip
    assert sorted(s.outputs) == ["costs_mean_cost", "costs_mean_stay", "costs_sum_cost",
                                 "costs_sum_stay"]  # fmt: skip
    report = check_folder(s.finalise(tmp_path / "out"), trust_unsigned=True)
    assert {o["name"]: o["status"] for o in report["outputs"]} == {
        o.name: o.status.value for o in t.outputs.values()
    }
