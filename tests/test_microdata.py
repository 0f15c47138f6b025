"""Session.assess_microdata, its report, mitigation, screening of files and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest
from sdc.rules.microdata import RowLevelParams

import sdc
from sdc.exceptions import SdcInputError
from sdc.microdata.screening import screen_file
from sdc.microdata.suda import suda2
from sdc.release.report import build_report, report_schema
from sdc.ruleset import RuleSet

DATA = Path(__file__).parent / "data" / "sdcmicro"
KV7 = ["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"]


@pytest.fixture(scope="module")
def testdata() -> pd.DataFrame:
    return pd.read_csv(DATA / "testdata.csv")


def toy() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "age": ["20-29"] * 12 + ["90+"],
            "sex": ["F"] * 6 + ["M"] * 6 + ["F"],
            "diagnosis": ["a"] * 6 + ["a", "b"] * 3 + ["c"],
            "w": [50.0] * 13,
        }
    )


def test_assessment_of_testdata(testdata: pd.DataFrame) -> None:
    s = sdc.Session()
    r = s.assess_microdata(testdata, keys=KV7, sensitive=["hhcivil"], weight="sampling_weight")
    assert r.kind == "microdata" and r.status is sdc.Status.FAIL
    t = s.ruleset_.params["k-anonymity"].t
    fk = testdata.groupby(KV7)["sex"].transform("size")
    assert r.violations(t) == int((fk < t).sum())
    kanon = r.findings[r.findings["rule"] == "k-anonymity"]
    # one finding per key combination below t, measured = its size (pandas groupby)
    sizes = testdata.groupby(KV7).size()
    assert len(kanon) == int((sizes < t).sum())
    assert sorted(kanon["measured"].tolist()) == sorted(sizes[sizes < t].astype(float).tolist())
    assert (kanon["limit"] == t).all()
    first = kanon.iloc[0]
    assert first["term"].startswith("urbrur=") and "sex=" in first["term"]
    assert f"at least {t} are required" in first["message"]
    assert set(r.risk.columns) == {"fk", "Fk", "risk", "suda_score", "dis_score", "l_hhcivil"}
    assert r.expected_reidentifications == pytest.approx(10.7782989187348, rel=1e-12)


def test_report_is_valid_and_holds_no_record_level_data(testdata: pd.DataFrame) -> None:
    r = sdc.Session().assess_microdata(testdata, keys=KV7, weight="sampling_weight")
    report = build_report([r], RuleSet.load("default"))
    jsonschema.validate(report, report_schema())
    entry = report["outputs"][0]
    assert entry["kind"] == "microdata" and entry["cells"] == []
    text = json.dumps(report)

    # nothing per record: no list as long as the data, no income or id values
    def lists(x):
        if isinstance(x, list):
            yield x
            for v in x:
                yield from lists(v)
        elif isinstance(x, dict):
            for v in x.values():
                yield from lists(v)

    assert all(len(x) < len(testdata) for x in lists(report))
    for value in testdata["income"].head(20).astype(int).astype(str):
        if len(value) > 4:
            assert value not in text


def test_mitigate_apply_and_reassess() -> None:
    df = toy()
    s = sdc.Session()
    r = s.assess_microdata(df, keys=["age", "sex"], sensitive="diagnosis", weight="w")
    assert r.status is sdc.Status.FAIL
    plan = r.mitigate(k=2, importance=["age", "sex"])
    # The nearest records, (20-29, F), differ from (90+, F) on age alone: age is the key
    # that makes it match them, whatever the importance says (sdcMicro's rule).
    assert plan.total == 1 and plan.per_key == {"age": 1, "sex": 0}
    assert plan.cells().to_dict("list") == {"row": [12], "key": ["age"]}
    assert plan.order == ("sex", "age")
    again = r.apply(plan)
    assert again.violations(2) == 0 and again.name.endswith("_suppressed")
    assert again.data["age"].isna().sum() == 1 and df["age"].isna().sum() == 0
    assert again.frequencies_.fk[12] == 7  # the six (20-29, F) records and itself
    # a second record only one key away on sex: the order decides between equal distances
    two = pd.DataFrame({"a": ["x", "x", "y", "y", "z"], "b": ["p", "p", "q", "q", "q"]})
    two.loc[4, "a"] = "x"  # (x, q): one away from (x, p) on b and from (y, q) on a
    r2 = sdc.Session().assess_microdata(two, keys=["a", "b"])
    assert r2.mitigate(k=2, importance=["a", "b"]).per_key == {"a": 0, "b": 1}
    assert r2.mitigate(k=2, importance=["b", "a"]).per_key == {"a": 1, "b": 0}


def test_recoding_suggestions_say_what_each_merge_leaves(testdata: pd.DataFrame) -> None:
    r = sdc.Session().assess_microdata(testdata, keys=KV7)
    s = r.recoding_suggestions(k=3)
    assert list(s.columns) == ["key", "merge", "below_k_before", "below_k_after"]
    assert (s["below_k_before"] == r.violations(3)).all()
    assert s["below_k_after"].is_monotonic_increasing
    best = s.iloc[0]
    a, b = (int(x) for x in best["merge"].split(" + "))
    merged = testdata.copy()
    merged[best["key"]] = merged[best["key"]].replace({b: a})
    sizes = merged.groupby(KV7)["sex"].transform("size")
    assert int((sizes < 3).sum()) == best["below_k_after"]


def test_l_diversity_findings_name_the_sensitive_variable() -> None:
    r = sdc.Session().assess_microdata(toy(), keys=["age", "sex"], sensitive=["diagnosis"])
    ld = r.findings[r.findings["rule"] == "l-diversity"]
    assert ld["term"].tolist() == ["age=20-29, sex=F (sensitive: diagnosis)",
                                   "age=90+, sex=F (sensitive: diagnosis)"]  # fmt: skip
    assert ld["measured"].tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"keys": ["age", "nope"]}, "nope"),
        ({"keys": []}, "at least one column"),
        ({"keys": ["age", "age"]}, "without repeats"),
        ({"keys": ["age", "empty"]}, "every value is missing"),
        ({"keys": ["age"], "weight": "negative"}, "positive sampling weights"),
        ({"keys": ["age"], "weight": "holes"}, "missing at row 3"),
        ({"keys": ["age"], "weight": "zero"}, "positive sampling weights"),
        ({"keys": ["age"], "weight": "diagnosis"}, "numeric column"),
        ({"keys": ["age"], "weight": "age"}, "must not be keys"),
        ({"keys": ["age"], "sensitive": ["age"]}, "other than the keys"),
        ({"keys": ["age"], "weight": "nope"}, "nope"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict, match: str) -> None:
    df = toy()
    df["empty"] = None
    df["negative"] = [-1.0] + [1.0] * 12
    df["holes"] = [1.0, 1.0, 1.0, np.nan] + [1.0] * 9
    df["zero"] = 0.0
    with pytest.raises(SdcInputError, match=match):
        sdc.Session().assess_microdata(df, **kwargs)


def test_bad_mitigation_input() -> None:
    r = sdc.Session().assess_microdata(toy(), keys=["age", "sex"])
    with pytest.raises(SdcInputError, match="every key exactly once"):
        r.mitigate(k=2, importance=["age"])
    with pytest.raises(SdcInputError, match="at most the number of records"):
        r.mitigate(k=100)
    with pytest.raises(SdcInputError, match="integer"):
        r.mitigate(k=2.5)


def test_suda_beyond_its_budget_is_refused_and_reviewed() -> None:
    df = pd.DataFrame({f"k{j}": np.arange(40) % (j + 2) for j in range(17)})
    with pytest.raises(SdcInputError, match="at most 16 key variables"):
        suda2(sdc.microdata.keys.encode(df, list(df.columns), "f"))
    kc = sdc.microdata.keys.encode(df, list(df.columns)[:6], "f")
    with pytest.raises(SdcInputError, match="steps"):
        suda2(kc, max_work=10)
    rules = RuleSet.from_toml('extends = "default"\n[k-anonymity]\nt = 1\n[statistics]\n'
                              'microdata = ["k-anonymity", "suda"]\n')  # fmt: skip
    r = sdc.Session(rules=rules).assess_microdata(df, keys=list(df.columns))
    assert r.status is sdc.Status.REVIEW
    assert r.reasons[0].startswith("SUDA2 special uniques were not searched")


def test_a_safe_extract_passes() -> None:
    df = pd.DataFrame({"band": ["a", "b"] * 100, "sex": ["F"] * 100 + ["M"] * 100})
    toml = (
        'extends = "default"\n[statistics]\nmicrodata = ["k-anonymity", "individual-risk", "suda"]'
    )
    rules = RuleSet.from_toml(toml)
    r = sdc.Session(rules=rules).assess_microdata(df, keys=["band", "sex"])
    assert r.status is sdc.Status.PASS and r.findings.empty
    # 4 combinations of 50: ER = 4, a global risk of 0.02, above the default's 0.01
    assert r.expected_reidentifications == pytest.approx(4.0)
    r = sdc.Session().assess_microdata(df, keys=["band", "sex"])
    assert r.findings[["term", "rule", "limit"]].values.tolist() == [
        ["all records", "global-risk", 0.01]
    ]
    assert r.findings["measured"].iloc[0] == pytest.approx(0.02)


# ----------------------------------------------------------------------- screening


def test_screening_tells_tables_from_records() -> None:
    table = pd.DataFrame({"region": list("NSEW"), "sex": ["F", "M"] * 2, "n": [10, 20, 30, 40]})
    assert screen_file(table).status is sdc.Status.PASS
    records = pd.DataFrame({"nhs_number": np.arange(300), "sex": ["F", "M", "M"] * 100})
    s = screen_file(records)
    assert s.status is sdc.Status.FAIL
    found = s.findings.groupby("term")["outcome"].apply(sorted).to_dict()
    # named like an identifier (fail) and a distinct value on every row (review)
    assert found["column 'nhs_number'"] == ["fail", "review"]
    assert found["rows per combination of text columns"] == ["review"]
    big = pd.DataFrame({"region": ["N"] * 5001, "n": np.ones(5001, dtype=int)})
    assert screen_file(big).findings.iloc[0]["term"] == "rows"
    assert screen_file(big.head(5000)).findings["term"].tolist() == [
        "rows per combination of text columns"
    ]


def test_screening_weak_signs_are_review_never_pass() -> None:
    ids = pd.DataFrame({"code": [f"x{i}" for i in range(150)], "n": np.arange(150)})
    s = screen_file(ids)
    assert s.status is sdc.Status.REVIEW
    assert "column 'code'" in s.findings["term"].tolist()
    dob = pd.DataFrame({"Date of Birth": ["1990"], "n": [12]})
    assert screen_file(dob).status is sdc.Status.REVIEW
    strict = RowLevelParams(max_rows=10, weak_outcome="fail")
    assert screen_file(dob, strict).status is sdc.Status.FAIL
    with pytest.raises(SdcInputError):
        screen_file("not a frame")  # type: ignore[arg-type]


def test_row_level_limits_come_from_the_rule_set() -> None:
    rs = RuleSet.from_toml('extends = "opensafely"\n[row-level]\nmax_rows = 100\n')
    assert rs.params["row-level"].max_rows == 100
    frame = pd.DataFrame({"n": np.arange(101)})
    assert screen_file(frame, rs.params["row-level"]).status is sdc.Status.FAIL
    from sdc.exceptions import SdcRuleSetError

    with pytest.raises(SdcRuleSetError, match="row-level"):
        RuleSet.from_toml('extends = "default"\n[row-level]\nmax_row = 1\n')


def test_model_risk_through_the_output() -> None:
    df = pd.read_csv(DATA / "testdata2.csv")
    r = sdc.Session().assess_microdata(df, keys=["sex", "water", "roof"], weight="sampling_weight")
    assert r.model_risk("IPF").gr1 == pytest.approx(0.273543381975614, abs=1e-6)
    unweighted = sdc.Session().assess_microdata(df, keys=["sex", "water", "roof"])
    with pytest.raises(SdcInputError, match="sampling weights"):
        unweighted.model_risk()
