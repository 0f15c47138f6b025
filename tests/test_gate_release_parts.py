"""The gate's parts for the release: microdata, linked tables, records screened, the report.

- a microdata output joins the session, is written by ``finalise`` (its records only when
  it passes), assessed again at the gate from its released records (at best review), and
  fails when its file is edited;
- linked tables are audited jointly: a set protected one table at a time that together
  exposes a cell fails, the same set protected jointly passes;
- a CSV or Parquet file without a manifest entry is screened for records (never pass); a
  table with a dimension named like a person identifier fails;
- the checker's reports say at their top that they stay inside.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gate_corpus import redigest

import sdc
from sdc.canonical import read_csv
from sdc.microdata.released import read_records, records_csv
from sdc.release.gate import check_request


def _records(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    return pd.DataFrame({
        "sex": rng.choice(["F", "M"], n), "band": rng.choice(["a", "b", "c"], n),
        "diag": rng.choice(["x", "y", "z"], n), "patient_id": np.arange(n),
    })  # fmt: skip


def _outputs(report: dict) -> dict[str, dict]:
    return {o["name"]: o for o in report["outputs"]}


def test_microdata_is_written_only_when_it_passes_and_assessed_again(tmp_path: Path) -> None:
    s = sdc.Session()
    ok = s.assess_microdata(_records(), keys=["sex", "band"], sensitive=["diag"], name="ok")
    small = _records(30)
    bad = s.assess_microdata(small, keys=["sex", "band", "diag"], name="bad")
    assert (ok.status.value, bad.status.value) == ("pass", "fail")
    folder = s.finalise(tmp_path / "req", author="alice")
    assert (folder / "ok.csv").is_file() and not (folder / "bad.csv").exists()
    header = (folder / "ok.csv").read_text().splitlines()[0]
    assert header == "sex,band,diag"  # the assessed columns only: never the patient id
    frame = read_records(read_csv((folder / "ok.csv").read_bytes(), 10**6), ["sex", "band",
                         "diag"], None)  # fmt: skip
    pd.testing.assert_frame_equal(frame, _records()[["sex", "band", "diag"]].astype(object))
    report = check_request(folder, "default", trust_unsigned=True).report
    out = _outputs(report)
    assert out["ok"]["status"] == "review" and "quasi-identifier" in out["ok"]["reasons"][-1]
    assert out["bad"]["status"] == "fail" and "no released records" in out["bad"]["reasons"][0]
    leaves = {f["path"]: f["leaves"] for f in report["files"]}
    assert leaves["ok.csv"] == "with approval" and leaves["evidence/ok.json"] == "no"
    # an edited record (a unique combination added) is assessed as released: it fails
    csv = folder / "ok.csv"
    csv.write_text(csv.read_text() + "M,q,x\n")
    redigest(folder, "ok.csv")
    edited = _outputs(check_request(folder, "default", trust_unsigned=True).report)["ok"]
    assert edited["status"] == "fail" and any(f["rule"] == "k-anonymity"
                                              for f in edited["findings"])  # fmt: skip


def test_records_round_trip_in_their_one_spelling() -> None:
    df = pd.DataFrame({"k": ["=1", None, "a,b"], "w": [1.0, 2.5, 3.0]})
    text = records_csv(df, ["k"], "w")
    back = read_records(read_csv(text.encode(), 100), ["k"], "w")
    assert back["k"].tolist() == ["=1", None, "a,b"] and back["w"].tolist() == [1.0, 2.5, 3.0]
    assert records_csv(back, ["k"], "w") == text


def _linked_frame() -> pd.DataFrame:
    """Region x sex and region x age: region R3 is small in one table's cells only."""
    rows = []
    for region, n in (("R1", 40), ("R2", 36), ("R3", 14)):
        for i in range(n):
            rows.append({"region": region, "sex": "FM"[i % 2], "age": "young" if i % 3 else "old"})
    return pd.DataFrame(rows)


def test_linked_tables_are_audited_jointly(tmp_path: Path) -> None:
    df = _linked_frame()
    joint = sdc.Session(suppress=True)
    joint.protect_linked(df, [{"index": "region", "columns": "sex", "name": "by_sex"},
                              {"index": "region", "columns": "age", "name": "by_age"}])  # fmt: skip
    folder = joint.finalise(tmp_path / "joint", author="alice")
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["linked"] == [["by_sex", "by_age"]]
    report = check_request(folder, "default", trust_unsigned=True).report
    assert report["request"]["linked"] == [["by_sex", "by_age"]]
    assert {o["name"]: o["status"] for o in report["outputs"]} == {"by_sex": "pass",
                                                                  "by_age": "pass"}  # fmt: skip


def test_a_linked_set_protected_one_table_at_a_time_is_found_out() -> None:
    """Region x sex hides region R3 and one other region's row; a region table that hides R3
    and a *different* region publishes what the first hides: together they give R3 away."""
    from dataclasses import replace

    from sdc.tables.linked import audit_linked
    from sdc.tables.output import TableOutput

    rows = [("R1", 30), ("R2", 24), ("R3", 8), ("R4", 50)]
    df = pd.DataFrame([{"region": r, "sex": "FM"[i % 2]} for r, n in rows for i in range(n)])
    s = sdc.Session(suppress=True)
    a = s.crosstab(df.region, df.sex, margins=True, name="by_sex")
    b = s.crosstab(df.region, margins=True, name="regions")
    hidden_a = {a.model.labels(c)["region"] for c in np.flatnonzero(a.protected.suppressed)}
    assert a.status.value == "pass" and "R3" in hidden_a and len(hidden_a) == 2
    (other,) = hidden_a - {"R3"}
    assert audit_linked([a, b]) == [(0, 0), (0, 0)]  # each hides the same regions
    elsewhere = next(r for r, _ in rows if r not in hidden_a)
    cells = {b.model.labels(c)["region"]: c for c in range(b.model.n_cells)}
    mask = np.zeros(b.model.n_cells, dtype=bool)
    mask[[cells["R3"], cells[elsewhere]]] = True
    values = np.where(mask, np.nan, b.values.astype(float))
    b2 = TableOutput(b.name, b.check, b.values, b.value_name, True,
                     replace(b.protected, values=values, suppressed=mask))  # fmt: skip
    narrow_a, narrow_b = audit_linked([a, b2])
    assert narrow_a[0] > 0 and narrow_b[0] > 0  # R3 = All - the regions published somewhere
    assert narrow_a[1] == 1  # A's hidden total of `other` is published by the region table
    assert other in cells


def test_undescribed_csv_and_parquet_files_are_screened(tmp_path: Path) -> None:
    s = sdc.Session(suppress=True)
    s.crosstab(_records().band, name="bands")
    folder = s.finalise(tmp_path / "req", author="alice")
    _records().to_csv(folder / "extract.csv", index=False)
    _records()[["sex", "band"]].head(20).to_parquet(folder / "small.parquet")
    pd.DataFrame({"region": ["N", "S"], "n": [12, 15]}).to_csv(folder / "totals.csv", index=False)
    report = check_request(folder, "default", trust_unsigned=True).report
    out = _outputs(report)
    assert out["extract.csv"]["status"] == "fail"
    assert any("patient_id" in r for r in out["extract.csv"]["reasons"])
    assert {f["rule"] for f in out["extract.csv"]["findings"]} == {"row-level"}
    assert out["small.parquet"]["status"] == "review"  # repeated label combinations
    assert any("combination" in r for r in out["small.parquet"]["reasons"])
    assert out["totals.csv"]["status"] == "review"  # never a pass, and it never leaves
    leaves = {f["path"]: f["leaves"] for f in report["files"]}
    assert {leaves[p] for p in ("extract.csv", "small.parquet", "totals.csv")} == {"no"}


def test_a_table_named_like_records_fails(tmp_path: Path) -> None:
    df = _records(120)
    s = sdc.Session()
    s.pivot_table(df.assign(patient_id=df.patient_id % 4), index="patient_id", aggfunc="count",
                  name="per_patient")  # fmt: skip
    folder = s.finalise(tmp_path / "req", author="alice")
    out = _outputs(check_request(folder, "default", trust_unsigned=True).report)["per_patient"]
    assert out["status"] == "fail" and any("patient_id" in r for r in out["reasons"])


def test_a_table_file_shaped_like_records_says_so(tmp_path: Path) -> None:
    s = sdc.Session()
    s.crosstab(_records().band, name="bands")
    folder = s.finalise(tmp_path / "req", author="alice")
    _records().to_csv(folder / "bands.csv", index=False)
    redigest(folder, "bands.csv")
    out = _outputs(check_request(folder, "default", trust_unsigned=True).report)["bands"]
    assert out["status"] == "fail"
    assert any(r.startswith("the file looks record-level") for r in out["reasons"])


def test_reports_say_at_their_top_that_they_stay_inside(tmp_path: Path) -> None:
    s = sdc.Session(suppress=True)
    s.crosstab(_records().band, name="bands")
    folder = s.finalise(tmp_path / "req", author="alice")
    session_report = json.loads((folder / "report.json").read_text())
    assert list(session_report)[:3] == ["schema_version", "status", "stays_inside"]
    assert "stays inside the TRE" in session_report["stays_inside"]
    assert (folder / "report.txt").read_text().splitlines()[1].startswith("  ! INSIDE THE TRE ONLY")
    gate = check_request(folder, "default", trust_unsigned=True).report
    assert list(gate)[:3] == ["schema_version", "status", "stays_inside"]


@pytest.mark.parametrize("approvers", [0, 3, "2"])
def test_the_release_section_is_checked(approvers: object) -> None:
    with pytest.raises(sdc.SdcInputError, match=r"\[release\] approvers"):
        sdc.RuleSet.from_toml(f'extends = "default"\n[release]\napprovers = {approvers!r}\n'
                              .replace("'", '"'))  # fmt: skip
    with pytest.raises(sdc.SdcInputError, match="not a setting"):
        sdc.RuleSet.from_toml('extends = "default"\n[release]\nreviewers = 2\n')
