"""Summary statistics per group: values against pandas, the rules of each statistic, the gate."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sdc.rules.frequency import QuantileParams, quantile

import sdc
from sdc.exceptions import SdcInputError
from sdc.release.gate import check_folder


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"region": rng.choice(list("NSE"), 300),
                       "cost": rng.gamma(2, 100, 300).round(2)})  # fmt: skip
    df.loc[:14, "region"] = "W"  # 15 records
    return df


def _rounded(x: float, digits: int = 3) -> float:
    """``x`` to ``digits`` significant figures, by decimal arithmetic (half to even)."""
    d = Decimal(x)
    if d == 0:
        return 0.0
    exponent = d.adjusted() - digits + 1
    return float(d.quantize(Decimal(1).scaleb(exponent), rounding=ROUND_HALF_EVEN))


def test_values_are_pandas_values() -> None:
    """Counts and means as pandas has them; medians and percentiles as pandas interpolates
    them, rounded to the default rule set's 3 significant figures."""
    df = _frame()
    d = sdc.Session().describe(df, "cost", by="region", stats=["count", "mean", "median", "p25"])
    g = df.groupby("region").cost
    want = pd.DataFrame({"count": g.size(), "mean": g.mean(),
                         "median": g.median().map(_rounded),
                         "p25": g.quantile(0.25).map(_rounded)})  # fmt: skip
    got = d.table.loc[want.index]
    np.testing.assert_allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float))
    exact = sdc.RuleSet.from_toml('extends = "default"\n[quantile]\nsignificant_figures = 0\n')
    d0 = sdc.Session(rules=exact).describe(df, "cost", by="region", stats=["median"])
    np.testing.assert_allclose(d0.table.loc[want.index, "median"], g.median())


def test_each_statistic_gets_its_rules() -> None:
    df = _frame()
    stats = ["count", "mean", "median", "p25", "p75", "min", "max"]
    d = sdc.Session().describe(df, "cost", by="region", stats=stats)
    f = d.findings
    quant = f[f.rule == "quantile"]
    # 15 records in W: the records strictly below and above each published value, by pandas.
    w = df.cost[df.region == "W"]
    want = {}
    for stat in ("median", "p25", "p75"):
        v = d.table.loc["W", stat]
        want[stat] = float(min((w < v).sum(), (w > v).sum()))
    assert dict(zip(quant.statistic, quant.measured, strict=True)) == want
    assert all(0 < m < 10 for m in want.values())  # all three fail: fewer than 10 on a side
    assert set(quant.region) == {"W"}
    assert set(f[f.rule == "statistic"].statistic) == {"min", "max"}  # raw extremes refused
    assert d.status is sdc.Status.FAIL
    released = d.protected_table
    assert released.loc["W", ["median", "p25", "p75"]].isna().all()
    assert released.loc["W", ["count", "mean"]].notna().all()
    assert released[["min", "max"]].isna().all().all()
    ok = sdc.Session().describe(df, "cost", by="region", stats=["count", "mean", "median"])
    assert ok.status is sdc.Status.FAIL  # the median of W
    big = _frame().assign(region=lambda d: d.region.replace("W", "N"))
    d = sdc.Session().describe(big, "cost", by="region", stats=["count", "mean", "p25", "median"])
    f = d.findings
    # N holds 99 records: its median is the 50th value, a record's own (to the cent), with
    # fewer than 10 others within 5% of it; every other cell passes.
    assert f[["statistic", "region", "rule"]].values.tolist() == [["median", "N", "quantile"]]
    n = big.cost[big.region == "N"]
    v = d.table.loc["N", "median"]
    assert (n == v).any() and (abs(n - v) <= 0.05 * v).sum() == f.measured.iloc[0] < 10
    assert "a record has exactly this value" in f.message.iloc[0]
    assert d.outputs["p25"].status is sdc.Status.PASS


@pytest.mark.parametrize("by", [None, "sex", "ageband"])
def test_the_default_statistics_pass_the_default_rules_on_ordinary_data(by: str | None) -> None:
    from sdc.example import example_microdata

    df = example_microdata()
    d = sdc.Session().describe(df, "cost", by=by)
    assert list(d.outputs) == ["count", "mean", "median", "p25", "p75"]
    assert d.status is sdc.Status.PASS, d.findings
    g = df.groupby(by).cost if by else df.cost
    np.testing.assert_allclose(d.table["mean"].to_numpy()[: (g.ngroups if by else 1)],
                               np.atleast_1d(g.mean()))  # fmt: skip


def test_a_refused_extreme_names_the_rounded_percentile_that_passes() -> None:
    from sdc.example import example_microdata

    df = example_microdata()
    s = sdc.Session()
    d = s.describe(df, "cost", by="sex", stats=["min", "max", "mean"], name="x")
    assert d.outputs["min"].status is sdc.Status.FAIL
    (advice,) = d.outputs["max"].advice
    assert "'p95'" in advice and d.outputs["mean"].advice == ()
    alt = s.describe(df, "cost", by="sex", stats=["p5", "p95"])
    assert alt.status is sdc.Status.PASS
    q = df.groupby("sex").cost.quantile([0.05, 0.95]).unstack()
    np.testing.assert_allclose(alt.table.loc[q.index].to_numpy(dtype=float),
                               q.map(_rounded).to_numpy(), rtol=0)  # fmt: skip


_COUNTS = st.integers(0, 60)


@given(_COUNTS, _COUNTS, _COUNTS, st.booleans(), st.integers(1, 30), st.integers(0, 3),
       st.sampled_from(["median", "p10", "p90"]),
       st.tuples(st.integers(0, 20), st.integers(0, 20), st.integers(0, 20)))  # fmt: skip
def test_more_contributors_around_a_quantile_never_fail_one_that_passed(
    below: int,
    above: int,
    near: int,
    exact: bool,
    t: int,
    sig: int,
    stat: str,
    more: tuple[int, int, int],
) -> None:
    params = QuantileParams(t=t, significant_figures=sig)

    def judge(b: int, a: int, nr: int) -> bool:
        q = SimpleNamespace(
            below=np.array([b]),
            above=np.array([a]),
            near=np.array([nr]),
            exact=np.array([exact]),
            neighbourhood=0.05,
            significant_figures=sig,
        )
        ev = SimpleNamespace(nonmissing=np.array([b + a + 1]), statistic=stat, quantile=q)
        return bool(quantile(ev, params).fail[0])

    before = judge(below, above, near)
    after = judge(below + more[0], above + more[1], near + more[2])
    assert not (not before and after)
    # the rule as stated: sides, then company or (on a grid) a value no record has
    stated = min(below, above) < t or (near < t and (exact or sig == 0))
    assert before == stated


def test_a_quantile_from_evidence_of_other_settings_fails_closed() -> None:
    q = SimpleNamespace(
        below=np.array([50]),
        above=np.array([50]),
        near=np.array([40]),
        exact=np.array([False]),
        neighbourhood=0.10,
        significant_figures=3,
    )
    ev = SimpleNamespace(nonmissing=np.array([101]), statistic="median", quantile=q)
    with pytest.raises(ValueError, match=r"neighbourhood 0\.1 .* asks for 0\.05"):
        quantile(ev, QuantileParams())


def test_without_groups_and_with_mode() -> None:
    s = sdc.Session()
    d = s.describe(_frame(), "cost", stats=["count", "mean", "mode"])
    assert list(d.table.index) == ["all"] and d.table.loc["all", "count"] == 300
    assert d.findings.rule.tolist() == ["statistic"]  # the mode is refused
    assert set(s.outputs) == {"output_0_count", "output_0_mean", "output_0_mode"}


@pytest.mark.parametrize(
    ("stats", "match"),
    [(["mean", "p100"], "percentile"), (["mean", "mean"], "repeats"), ("mean", "list"),
     ([], "list"), (["avg"], "aggfunc")],
)  # fmt: skip
def test_bad_statistics_are_refused_before_any_table(stats, match: str) -> None:
    s = sdc.Session()
    with pytest.raises(SdcInputError, match=match):
        s.describe(_frame(), "cost", by="region", stats=stats)
    assert not s.outputs


def test_bad_columns_are_refused() -> None:
    with pytest.raises(SdcInputError, match="weight"):
        sdc.Session().describe(_frame(), "weight")
    with pytest.raises(SdcInputError, match="by"):
        sdc.Session().describe(_frame(), "cost", by=["region"])


def test_the_gate_gives_each_statistic_the_same_verdict(tmp_path) -> None:
    s = sdc.Session()
    d = s.describe(_frame(), "cost", by="region", name="cost")
    report = check_folder(s.finalise(tmp_path / "out"), trust_unsigned=True)
    got = {o["name"]: o["status"] for o in report["outputs"]}
    assert got == {f"cost_{k}": o.status.value for k, o in d.outputs.items()}
