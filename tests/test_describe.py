"""Summary statistics per group: values against pandas, the rules of each statistic, the gate."""

from __future__ import annotations

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


def test_values_are_pandas_values() -> None:
    df = _frame()
    d = sdc.Session().describe(df, "cost", by="region", stats=["count", "mean", "median", "p25"])
    g = df.groupby("region").cost
    want = pd.DataFrame({"count": g.size(), "mean": g.mean(), "median": g.median(),
                         "p25": g.quantile(0.25)})  # fmt: skip
    got = d.table.loc[want.index]
    np.testing.assert_allclose(got.to_numpy(dtype=float), want.to_numpy(dtype=float))


def test_each_statistic_gets_its_rules() -> None:
    d = sdc.Session().describe(_frame(), "cost", by="region")
    f = d.findings
    quant = f[f.rule == "quantile"]
    # 15 records in W: the median has floor(7.5) = 7 on its smaller side, p25 and p75 have 3.
    assert dict(zip(quant.statistic, quant.measured, strict=True)) == {
        "median": 7.0, "p25": 3.0, "p75": 3.0,
    }  # fmt: skip
    assert set(quant.region) == {"W"}
    assert set(f[f.rule == "statistic"].statistic) == {"min", "max"}  # raw extremes refused
    assert d.status is sdc.Status.FAIL
    released = d.protected_table
    assert released.loc["W", ["median", "p25", "p75"]].isna().all()
    assert released.loc["W", ["count", "mean"]].notna().all()
    assert released[["min", "max"]].isna().all().all()
    ok = sdc.Session().describe(_frame(), "cost", by="region", stats=["count", "mean", "median"])
    assert ok.status is sdc.Status.FAIL  # the median of W
    big = _frame().assign(region=lambda d: d.region.replace("W", "N"))
    assert sdc.Session().describe(big, "cost", by="region", stats=["count", "mean", "p25",
                                  "median"]).status is sdc.Status.PASS  # fmt: skip


@given(st.floats(0.01, 0.99), st.integers(1, 30), st.integers(0, 500), st.integers(0, 50))
def test_more_records_never_fail_a_quantile_that_passed(q: float, t: int, n: int, more: int):
    stat = f"p{max(1, min(99, round(q * 100)))}"
    before = quantile(SimpleNamespace(nonmissing=np.array([n]), statistic=stat),
                      QuantileParams(t=t))  # fmt: skip
    after = quantile(SimpleNamespace(nonmissing=np.array([n + more]), statistic=stat),
                     QuantileParams(t=t))  # fmt: skip
    assert after.measured[0] >= before.measured[0]
    assert not (n > 0 and not before.fail[0] and after.fail[0])


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
