"""``sdc assess``: exit codes 0 pass, 1 fail, 3 review, 2 usage; ``--json`` prints one document."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from test_cli import run

from sdc.release.report import report_schema

TESTDATA = Path(__file__).parent / "data" / "sdcmicro" / "testdata.csv"
KV7 = "urbrur,roof,walls,water,electcon,relat,sex"


def test_assess_json_fails_with_one_document(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "assess", str(TESTDATA), "--keys", KV7, "--sensitive",
                         "hhcivil", "--weight", "sampling_weight", "--json")  # fmt: skip
    assert code == 1 and err == ""
    report = json.loads(out)  # exactly one JSON document
    jsonschema.validate(report, report_schema())
    assert report["status"] == "fail"
    rules = {f["rule"] for f in report["outputs"][0]["findings"]}
    assert {"k-anonymity", "l-diversity"} <= rules
    sizes = pd.read_csv(TESTDATA).groupby(KV7.split(",")).size()
    kanon = [f for f in report["outputs"][0]["findings"] if f["rule"] == "k-anonymity"]
    assert len(kanon) == int((sizes < 10).sum())


def test_assess_text_pass_and_review(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    safe = tmp_path / "safe.csv"
    frame = pd.DataFrame({"band": ["a", "b"] * 500, "sex": ["F"] * 500 + ["M"] * 500})
    frame.to_csv(safe, index=False)
    rules = tmp_path / "rules.toml"
    rules.write_text('extends = "default"\n[statistics]\nmicrodata = ["k-anonymity", "suda"]\n')
    code, out, _ = run(capsys, "assess", str(safe), "--keys", "band,sex", "--rules", str(rules))
    assert code == 0 and "1000 records; 0 with fewer than 10" in out
    rare = tmp_path / "rare.csv"
    pd.DataFrame({"band": list("aab"), "sex": list("FFF")}).to_csv(rare, index=False)
    review = tmp_path / "review.toml"
    review.write_text('extends = "default"\n[k-anonymity]\nt = 1\n[statistics]\n'
                      'microdata = ["k-anonymity", "suda"]\n')  # fmt: skip
    code, out, _ = run(capsys, "assess", str(rare), "--keys", "band,sex", "--rules", str(review))
    assert code == 3 and "suda" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["assess", str(TESTDATA), "--keys", "urbrur,nope"],
        ["assess", str(TESTDATA), "--keys", ","],
        ["assess", str(TESTDATA), "--keys", "urbrur", "--weight", "nope"],
        ["assess", "missing.csv", "--keys", "urbrur"],
        ["assess", str(TESTDATA)],
    ],
)
def test_assess_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("sdc: error:")


def test_negative_weights_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "w.csv"
    pd.DataFrame({"a": ["x", "y"], "w": [1.0, -2.0]}).to_csv(path, index=False)
    code, _, err = run(capsys, "assess", str(path), "--keys", "a", "--weight", "w", "--json")
    assert code == 2 and "positive sampling weights" in err
