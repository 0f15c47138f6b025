"""The JSON report: valid against its shipped schema, and free of microdata.

The report (and the released table) may leave the TRE, so neither may carry a
record-level value or a contributor id. The evidence file is different: it
holds the largest contributions on purpose and stays inside the TRE.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest

import sdc
from sdc import Session
from sdc.release.gate import check_folder
from sdc.release.report import REPORT_SCHEMA_VERSION, build_report, report_schema, text_report
from sdc.ruleset import RuleSet

VALIDATOR = jsonschema.Draft202012Validator(report_schema())


def valid(report: dict[str, Any]) -> dict[str, Any]:
    """Schema-valid and strict JSON (no NaN or Infinity)."""
    VALIDATOR.validate(report)
    text = json.dumps(report, allow_nan=False)
    assert json.loads(text) == report
    return report


def test_the_schema_is_a_valid_draft_2020_12_schema() -> None:
    schema = report_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"]["const"] == REPORT_SCHEMA_VERSION
    rule_enum = schema["$defs"]["finding"]["properties"]["rule"]["enum"]
    assert sorted(rule_enum) == sorted(sdc.rules.RULES)


# ---------------------------------------------------------------------------- schema


def visits(n_small: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    region = ["N"] * 40 + ["M"] * 26 + ["S"] * n_small
    n = len(region)
    return pd.DataFrame({
        "region": region,
        "sex": ["F", "M"] * (n // 2) + ["F"] * (n % 2),
        "patient": [f"P{i // 3:03d}" for i in range(n)],
        "cost": np.round(rng.gamma(2.0, 60.0, n), 2),
    })  # fmt: skip


def frequency_session() -> Session:
    df = visits()
    s = Session()
    s.crosstab(df.region, df.sex, name="freq")
    return s


def mean_session() -> Session:
    df = visits()
    df.loc[5, "cost"] = np.nan  # a missing value: review
    s = Session()
    s.pivot_table(df, index="region", columns="sex", values="cost", aggfunc="mean",
                  contributor="patient", name="mean")  # fmt: skip
    return s


def margins_session() -> Session:
    df = visits()
    s = Session(suppress=True)
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", margins=True,
                  name="margins")  # fmt: skip
    s.pivot_table(df, index="region", values="cost", aggfunc="sum", margins=True,
                  contributor="patient", name="sum_margins")  # fmt: skip
    return s


def opensafely_session() -> Session:
    df = visits()
    s = Session(rules="opensafely")
    s.crosstab(df.region, df.sex, margins=True, name="os_freq")
    s.pivot_table(df, index="sex", values="cost", aggfunc="mean", name="os_mean")
    return s


def every_statistic_session() -> Session:
    df = visits(12)
    df.loc[3, "cost"] = -5.0  # a negative contribution: review
    s = Session(rules="acro")
    for stat in ("count", "sum", "mean", "median", "std", "var", "min", "max", "mode"):
        values = None if stat == "count" else "cost"
        s.pivot_table(df, index="region", values=values, aggfunc=stat, name=stat)
    return s


SESSIONS = {
    "frequency": frequency_session,
    "mean with contributor": mean_session,
    "margins": margins_session,
    "opensafely": opensafely_session,
    "every statistic": every_statistic_session,
}


@pytest.mark.parametrize("kind", list(SESSIONS))
def test_session_reports_are_valid(kind: str, tmp_path: Path) -> None:
    s = SESSIONS[kind]()
    outputs = list(s.outputs.values())
    report = valid(build_report(outputs, s.ruleset_))
    assert report["status"] == sdc.Status.worst(o.status for o in outputs).value
    assert sum(report["summary"].values()) == len(outputs)
    assert [o["name"] for o in report["outputs"]] == list(s.outputs)
    for entry, out in zip(report["outputs"], outputs, strict=True):
        assert valid({**report, "outputs": [out.to_report()]})["outputs"][0] == entry
        assert entry["status"] == out.status.value
        assert len(entry["cells"]) == int(out.model.published_mask.sum())
        assert len(entry["findings"]) == len(out.findings)
    text = text_report(report)
    assert text.startswith(f"sdc report: {report['status'].upper()}")
    for name in s.outputs:
        assert name in text
    # The files finalise writes, and what the gate reports, follow the same schema.
    folder = s.finalise(tmp_path / "out")
    written = valid(json.loads((folder / "report.json").read_text(encoding="utf-8")))
    assert written.pop("differencing") == s.check_differencing().to_report()  # finalise adds it
    assert written == report
    assert (folder / "report.txt").read_text(encoding="utf-8") == text
    valid(check_folder(folder))


def test_kinds_statuses_and_protection_are_reported() -> None:
    freq = frequency_session().outputs["freq"].to_report()
    assert (freq["kind"], freq["statistic"], freq["status"]) == ("frequency table", "count", "fail")
    mean = mean_session().outputs["mean"].to_report()
    assert (mean["kind"], mean["statistic"]) == ("magnitude table", "mean")
    assert {f["rule"] for f in mean["findings"]} >= {"threshold", "missing"}
    margins = margins_session().outputs["margins"].to_report()
    assert margins["status"] == "pass" and margins["protected"] and margins["margins"]
    assert any(c["suppressed"] and c["value"] is None for c in margins["cells"])
    os_freq = opensafely_session().outputs["os_freq"].to_report()
    assert os_freq["protected"] and os_freq["rounded_to"] == 5
    assert all(c["value"] is None or c["value"] % 5 == 0 for c in os_freq["cells"])


def test_gate_report_with_unchecked_entries_is_valid(tmp_path: Path) -> None:
    folder = frequency_session().finalise(tmp_path / "out")
    (folder / "stray.txt").write_text("?", encoding="utf-8")
    report = valid(check_folder(folder))
    stray = [o for o in report["outputs"] if o["name"] == "stray.txt"]
    assert stray and stray[0]["statistic"] is None and stray[0]["status"] == "review"
    (folder / "evidence" / "freq.json").unlink()
    report = valid(check_folder(folder))
    assert report["status"] == "fail"


def test_empty_report_is_valid_and_not_a_pass() -> None:
    report = valid(build_report([], RuleSet.load("default")))
    assert report["status"] == "fail"
    assert report["summary"] == {"pass": 0, "review": 0, "fail": 0}


def test_cli_example_report_is_valid(capsys: pytest.CaptureFixture[str]) -> None:
    from sdc.cli import main

    for rules in sdc.preset_names():
        main(["example", "--json", "--rules", rules])
        valid(json.loads(capsys.readouterr().out))


# ---------------------------------------------------------------------------- no microdata

BIG = 123456.789  # the one dominant contribution in the north
BIG_SOUTH = 98765.4321
ONE_OFF = 55555.1234  # the only record in the east
N_ROWS = 37


def microdata() -> pd.DataFrame:
    """37 visits with distinctive values and ids, so any leak is easy to spot.

    North: 20 visits, one patient holding BIG; south: 16 visits with BIG_SOUTH;
    east: one visit. Values are random with four decimals, so no mean or sum
    of several equals one of them.
    """
    region = ["north"] * 20 + ["south"] * 16 + ["east"]
    rng = np.random.default_rng(2024)
    cost = [round(float(x), 4) for x in rng.uniform(1000, 9000, N_ROWS)]
    cost[3] = BIG
    cost[27] = BIG_SOUTH
    cost[36] = ONE_OFF
    patient = [f"PATIENT-XYZ-{i // 2 + 1:04d}" for i in range(N_ROWS)]
    patient[36] = "PATIENT-XYZ-0999"
    return pd.DataFrame({
        "region": region,
        "sex": ["female", "male"] * 18 + ["female"],
        "patient": patient,
        "cost": cost,
    })  # fmt: skip


def needles(df: pd.DataFrame) -> list[str]:
    """How a record's value or id could show in text."""
    out = set(df["patient"])
    for v in df["cost"]:
        out |= {repr(float(v)), f"{v:.4f}", f"{v:.2f}", f"{v:.6g}"}
    out |= {"123456", "98765", "55555"}
    return sorted(out)


def assert_no_microdata(text: str, df: pd.DataFrame, where: str) -> None:
    found = [s for s in needles(df) if s in text]
    assert not found, f"{where} holds record-level data: {found[:5]}"


def lists_in(obj: Any) -> Iterator[list]:
    if isinstance(obj, list):
        yield obj
        for x in obj:
            yield from lists_in(x)
    elif isinstance(obj, dict):
        for x in obj.values():
            yield from lists_in(x)


def assert_no_row_arrays(obj: Any, where: str) -> None:
    lengths = {len(x) for x in lists_in(obj)}
    assert N_ROWS not in lengths, f"{where} has an array with one entry per input row"


def leaky_session(suppress: bool) -> Session:
    """Tables over the microdata; the east cell is a single record."""
    df = microdata()
    s = Session(suppress=suppress)
    s.pivot_table(df, index="region", columns="sex", values="cost", aggfunc="mean",
                  contributor="patient", margins=True, name="mean_cost")  # fmt: skip
    s.pivot_table(df, index="region", values="cost", aggfunc="sum", name="sum_cost")
    s.pivot_table(df, index="region", values="cost", aggfunc="std", contributor="patient",
                  name="sd_cost")  # fmt: skip
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", contributor="patient",
                  margins=True, name="visits")  # fmt: skip
    s.pivot_table(df, index="sex", values="cost", aggfunc="max", name="max_cost")
    return s


def test_the_microdata_is_distinctive() -> None:
    df = microdata()
    assert len(df) == N_ROWS
    s = leaky_session(suppress=True)
    cell_counts = {int(o.model.published_mask.sum()) for o in s.outputs.values()}
    assert N_ROWS not in cell_counts  # so an array of that length can only be rows
    # The dominant contributions are really there, and fail dominance.
    mean = s.outputs["mean_cost"]
    assert {"nk-dominance", "p-percent"} <= set(mean.findings["rule"])


def test_suppressed_report_and_files_hold_no_microdata(tmp_path: Path) -> None:
    df = microdata()
    s = leaky_session(suppress=True)
    for name, out in s.outputs.items():
        entry = out.to_report()
        assert_no_microdata(json.dumps(entry), df, f"to_report of {name}")
        assert_no_row_arrays(entry, f"to_report of {name}")
        assert_no_microdata(out.summary(), df, f"summary of {name}")
        assert_no_microdata(out.findings.to_csv(), df, f"findings of {name}")
    report = build_report(list(s.outputs.values()), s.ruleset_)
    assert_no_microdata(json.dumps(report), df, "report")
    assert_no_microdata(text_report(report, max_findings=1000), df, "text report")
    assert_no_row_arrays(report, "report")

    folder = s.finalise(tmp_path / "out")
    for rel in ["report.json", "report.txt", "manifest.json", *(f"{n}.csv" for n in s.outputs)]:
        assert_no_microdata((folder / rel).read_text(encoding="utf-8"), df, rel)
    assert_no_row_arrays(json.loads((folder / "report.json").read_text("utf-8")), "report.json")
    gate = check_folder(folder)
    assert_no_microdata(json.dumps(gate), df, "gate report")
    assert_no_row_arrays(gate, "gate report")


def test_evidence_holds_the_largest_contributions_and_stays_behind(tmp_path: Path) -> None:
    """The evidence file has what dominance needs (so the gate can re-check), nothing more."""
    s = leaky_session(suppress=True)
    folder = s.finalise(tmp_path / "out")
    evidence = json.loads((folder / "evidence" / "mean_cost.json").read_text("utf-8"))
    tops = [x for row in evidence["top"] for x in row if x is not None]
    assert BIG in tops and BIG_SOUTH in tops  # intentional: the gate re-checks dominance
    assert_no_row_arrays(evidence, "evidence")
    text = (folder / "evidence" / "mean_cost.json").read_text("utf-8")
    assert "PATIENT-XYZ" not in text  # contributor ids never leave the session
    for rel in ("report.json", "report.txt", "mean_cost.csv", "manifest.json"):
        content = (folder / rel).read_text(encoding="utf-8")
        assert repr(BIG) not in content and repr(BIG_SOUTH) not in content
        assert "PATIENT-XYZ" not in content


def test_dominated_but_unsuppressed_cells_do_not_expose_the_contribution() -> None:
    """Even released as computed, a cell value is an aggregate, not the contribution."""
    df = microdata()
    s = leaky_session(suppress=False)
    mean, total = s.outputs["mean_cost"], s.outputs["sum_cost"]
    text = json.dumps(build_report([mean, total], s.ruleset_))
    for v in (BIG, BIG_SOUTH):
        assert repr(v) not in text and f"{v:.2f}" not in text
    assert "PATIENT-XYZ" not in text
    assert_no_row_arrays(json.loads(text), "report")
    assert len(df) == N_ROWS


def test_unsuppressed_report_hides_single_record_cells() -> None:
    df = microdata()
    s = leaky_session(suppress=False)
    report = build_report(list(s.outputs.values()), s.ruleset_)
    assert_no_microdata(json.dumps(report), df, "report")


def test_report_counts_are_per_cell_not_per_row() -> None:
    s = leaky_session(suppress=True)
    visits_ = s.outputs["visits"].to_report()
    total = next(c for c in visits_["cells"] if set(c["labels"].values()) == {"All"})
    assert total["records"] == N_ROWS
    assert total["n"] == len(set(microdata()["patient"]))
    assert all(isinstance(c["n"], int) and isinstance(c["records"], int) for c in visits_["cells"])


# ---------------------------------------------------------------------------- protection fields


def two_by_two() -> pd.DataFrame:
    """A 2x2 table with margins: (B, F) holds 3 records, every other cell at least 20.

    Hiding (B, F) alone is undone by its row or column total, and so is hiding any
    two or three inner cells: all four must go (one primary, three secondaries).
    """
    counts = {("A", "F"): 20, ("A", "M"): 30, ("B", "F"): 3, ("B", "M"): 40}
    rows = [key for key, n in counts.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=["region", "sex"])


def test_protected_table_report_names_primary_and_secondary_cells() -> None:
    df = two_by_two()
    s = Session()
    out = s.crosstab(df.region, df.sex, margins=True, name="small")
    protected = out.protect()
    released = sdc.TableOutput(out.name, out.check, out.values, out.value_name, True,
                               protected.release)  # fmt: skip
    report = valid(build_report([released], s.ruleset_))
    (entry,) = report["outputs"]
    assert entry["status"] == "pass" and entry["protected"]
    cells = {(c["labels"]["region"], c["labels"]["sex"]): c for c in entry["cells"]}
    kinds = {k: c["suppression"] for k, c in cells.items() if c["suppression"]}
    assert kinds == {("B", "F"): "primary", ("A", "F"): "secondary",
                     ("A", "M"): "secondary", ("B", "M"): "secondary"}  # fmt: skip
    # The attacker's exact intervals; a bound the audit did not solve exactly is withheld.
    exact = {("B", "F"): (0, 23), ("A", "F"): (0, 23), ("A", "M"): (27, 50),
             ("B", "M"): (20, 43)}  # fmt: skip
    for key, cell in cells.items():
        assert cell["suppressed"] is (key in kinds)
        if key not in kinds:
            assert cell["audit"] is None and cell["value"] is not None
            continue
        assert cell["value"] is None
        assert cell["audit"]["ok"] is True
        assert (cell["audit"]["lower"], cell["audit"]["upper"]) in {(None, None), exact[key]}
        assert set(cell["audit"]) == {"lower", "upper", "ok"}  # no protection level
    assert cells[("All", "All")]["value"] == 93
    text = text_report(report)
    assert "suppressed: 1 primary, 3 secondary; audit passed" in text


def test_protection_fields_are_null_where_nothing_is_suppressed_or_audited() -> None:
    df = two_by_two()
    unprotected = Session().crosstab(df.region, df.sex, margins=True).to_report()
    assert all(c["suppression"] is None and c["audit"] is None for c in unprotected["cells"])
    # Without margins a failing cell is suppressed alone and there is nothing to audit.
    plain = Session(suppress=True).crosstab(df.region, df.sex).to_report()
    assert [c["suppression"] for c in plain["cells"]] == [None, None, "primary", None]
    assert all(c["audit"] is None for c in plain["cells"])
    assert "1 primary, 0 secondary; no audit needed" in text_report(
        build_report([Session(suppress=True).crosstab(df.region, df.sex)], RuleSet.load("default"))
    )


def test_the_gate_reports_the_pattern_it_reads(tmp_path: Path) -> None:
    df = two_by_two()
    s = Session(suppress=True)
    s.crosstab(df.region, df.sex, margins=True, name="small")
    made = valid(build_report(list(s.outputs.values()), s.ruleset_))
    report = valid(check_folder(s.finalise(tmp_path / "out")))
    (entry,) = report["outputs"]
    assert [c["suppression"] for c in entry["cells"]] == [
        c["suppression"] for c in made["outputs"][0]["cells"]
    ]
    audited = [c["audit"] for c in entry["cells"] if c["suppressed"]]
    assert len(audited) == 4 and all(a is not None and a["ok"] for a in audited)
