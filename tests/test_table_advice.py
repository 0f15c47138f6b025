"""Advice where a table fails (categories to merge) and declared structural zeros, in the
session, the report and at the gate."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sdc
from sdc.exceptions import SdcInputError
from sdc.release.gate import check_folder
from sdc.release.report import report_schema, text_report
from sdc.tables.merge_advice import merge_plan


def _diagnoses() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 900
    df = pd.DataFrame({
        "diag": rng.choice(["flu", "asthma", "injury", "cancer"], n, p=[0.4, 0.3, 0.2, 0.1]),
        "age": rng.choice(["0-17", "18-64", "65+"], n),
    })  # fmt: skip
    rare = pd.DataFrame({"diag": ["plague"] * 4, "age": ["18-64", "18-64", "65+", "0-17"]})
    return pd.concat([df, rare], ignore_index=True)


def test_a_failing_table_offers_the_merge_that_makes_it_pass() -> None:
    df = _diagnoses()
    s = sdc.Session(suppress=True)
    t = s.crosstab(df.diag, df.age, margins=True)
    (advice,) = t.advice
    assert "merge 'cancer' with 'plague'" in advice
    recode = {"cancer": "cancer+plague", "plague": "cancer+plague"}
    assert repr(recode) in advice
    merged = s.crosstab(df.diag.replace(recode), df.age, margins=True)
    assert merged.status is sdc.Status.PASS and merged.advice == ()
    assert not merged.protected.suppressed.any()  # nothing hidden after the merge
    assert t.protected.suppressed.sum() > 3  # where suppression hides a row and more
    assert "advice: merging categories offered" in t.summary()


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.lists(st.integers(0, 30), min_size=1, max_size=4), min_size=2, max_size=7).filter(
        lambda rows: len({len(r) for r in rows}) == 1
    ),
    st.integers(2, 15),
)
def test_a_merge_plan_leaves_no_small_cell_and_keeps_every_record(rows, t: int) -> None:
    counts = np.array(rows)
    plan = merge_plan(counts, t)
    if plan is None:
        return
    group_of = {i: k for k, g in enumerate(plan) for i in g}
    merged: dict[object, np.ndarray] = {}
    for i, row in enumerate(counts):
        key = group_of.get(i, ("alone", i))
        merged[key] = merged.get(key, 0) + row
    result = np.array(list(merged.values()))
    assert result.sum() == counts.sum() and len(result) >= 2
    assert not ((result > 0) & (result < t)).any()  # every cell: 0 or at least t


def test_structural_zeros_are_not_flagged_and_are_shown_in_the_report(tmp_path) -> None:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"sex": rng.choice(["F", "M"], 400),
                       "diag": rng.choice(["flu", "injury"], 400)})  # fmt: skip
    preg = pd.DataFrame({"sex": ["F"] * 30, "diag": ["pregnancy"] * 30})
    df = pd.concat([df, preg], ignore_index=True)
    s = sdc.Session(rules="acro")  # zeros are disclosive: fail
    plain = s.crosstab(df.sex, df.diag, name="plain")
    assert plain.status is sdc.Status.FAIL
    assert list(plain.findings.rule) == ["zeros"]
    declared = [{"sex": "M", "diag": "pregnancy"}]
    t = s.crosstab(df.sex, df.diag, structural_zeros=declared, name="declared")
    assert t.status is sdc.Status.PASS and t.findings.empty
    assert t.definition["structural_zeros"] == declared
    assert "structural zeros declared (not flagged as zeros): (sex=M, diag=pregnancy)" in (
        t.summary()
    )
    folder = s.finalise(tmp_path / "req")
    report = check_folder(folder, "acro", trust_unsigned=True)
    validator = jsonschema.Draft202012Validator(report_schema())
    validator.validate(report)
    validator.validate(json.loads((folder / "report.json").read_text()))
    got = {o["name"]: o for o in report["outputs"]}
    # at the gate the declaration is the researcher's word: a person confirms it
    assert got["declared"]["status"] == "review" and got["plain"]["status"] == "fail"
    assert "1 cell(s) the request declares structural zeros" in " ".join(got["declared"]["reasons"])
    assert got["declared"]["structural_zeros"] == declared
    assert "(sex=M, diag=pregnancy)" in text_report(report)


def test_a_wrong_declaration_fails_and_a_bad_one_is_refused() -> None:
    df = pd.DataFrame({"sex": ["F", "M"] * 20, "diag": ["flu"] * 20 + ["injury"] * 20})
    s = sdc.Session()
    t = s.crosstab(df.sex, df.diag, structural_zeros=[{"sex": "M", "diag": "flu"}])
    assert t.status is sdc.Status.FAIL
    assert any("declaration is wrong" in r for r in t.reasons)
    with pytest.raises(SdcInputError, match="dimensions of the table"):
        s.crosstab(df.sex, df.diag, structural_zeros=[{"age": "0-17"}])
    with pytest.raises(SdcInputError, match="not a level"):
        s.crosstab(df.sex, df.diag, structural_zeros=[{"sex": "X"}])
    with pytest.raises(SdcInputError, match="list of"):
        s.crosstab(df.sex, df.diag, structural_zeros="sex=M")
