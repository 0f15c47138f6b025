"""Differencing at the gate: within one request, and against earlier releases.

``sdc check request/`` finds what the session's check finds, from the manifest's
definitions and the evidence alone, or exactly with ``--data``; with
``--registry`` (and ``--data``) it checks the request against every output
released before from the same data. What it cannot check it says, and the
request is then ``review``, never ``pass``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from differencing_cases import cohort, groups_of, small_region_sex
from gate_corpus import edit_manifest

import sdc
from sdc.cli import main
from sdc.differencing.population import dataset_key
from sdc.release.combined import registry_definition
from sdc.release.gate import check_folder
from sdc.release.registry import Decision, OutputRecord, RequestRecord, open_registry


def _status(report: dict[str, Any]) -> dict[str, str]:
    return {o["name"]: o["status"] for o in report["outputs"]}


def _written(df: pd.DataFrame, folder: Path) -> tuple[pd.DataFrame, Path]:
    """The data as a file and as the session reads it back (rows numbered from 0)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "data.csv"
    df.to_csv(path, index=False)
    return pd.read_csv(path), path


def _the_issues_request(tmp_path: Path) -> tuple[sdc.Session, Path, Path]:
    """A region x sex table with two cells of 3 hidden, a describe count table by region, a
    histogram of age and a count by region with the small regions hidden."""
    df, path = _written(small_region_sex(), tmp_path / "data")
    s = sdc.Session(suppress=True)
    s.crosstab(df.region, df.sex, name="region_sex")
    s.describe(df, "age", by="region", stats=["count"], name="age")
    return s, path, s.finalise(tmp_path / "request")


def test_the_gate_flags_the_issues_request_from_evidence_alone(tmp_path: Path) -> None:
    s, _, folder = _the_issues_request(tmp_path)
    report = check_folder(folder, trust_unsigned=True)
    d = report["differencing"]
    assert (d["status"], d["method"]) == ("fail", "evidence")
    assert groups_of(d) == [("region=E, sex=F (hidden in 'region_sex')", 3),
                            ("region=W, sex=M (hidden in 'region_sex')", 3)]  # fmt: skip
    assert _status(report) == {"region_sex": "fail", "age_count": "fail"}
    assert report["status"] == "fail"
    assert groups_of(d) == groups_of(s.check_differencing())
    assert main(["check", str(folder), "--trust-unsigned"]) == 1


def test_the_gate_finds_the_same_with_the_data(tmp_path: Path) -> None:
    _, path, folder = _the_issues_request(tmp_path)
    report = check_folder(folder, trust_unsigned=True, data=path)
    d = report["differencing"]
    assert (d["status"], d["method"]) == ("fail", "data")
    assert [f["records"] for f in d["findings"]] == [3, 3]


def test_a_histograms_total_minus_region_counts_at_the_gate(tmp_path: Path) -> None:
    base = small_region_sex()
    base.loc[base.region == "E", "region"] = "S"
    base.loc[base.index[:3], "region"] = "E"
    df, path = _written(base, tmp_path / "data")
    s = sdc.Session(suppress=True)
    s.crosstab(df.region, name="regions")
    s.hist(df, "age", bins=[0, 40, 60, 100], name="ages")
    folder = s.finalise(tmp_path / "request")
    for data in (None, path):
        report = check_folder(folder, trust_unsigned=True, data=data)
        assert groups_of(report["differencing"]) == [("region=E (hidden in 'regions')", 3)]


def test_populations_are_applied_again_to_the_data(tmp_path: Path) -> None:
    df, path = _written(cohort(), tmp_path / "data")
    s = sdc.Session()
    s.pivot_table(df, index="region", aggfunc="count", name="all")
    s.pivot_table(df, index="region", aggfunc="count", name="under_90", population="age <= 90")
    folder = s.finalise(tmp_path / "request")
    old = df[df.age > 90].groupby("region").size()
    expected = {f"region {r} & not (age <= 90)": n for r, n in old.items() if n < 10}
    assert groups_of(s.check_differencing()) == list(expected.items())
    for data in (None, path):  # from the definitions alone, and with the filter applied again
        report = check_folder(folder, trust_unsigned=True, data=data)
        assert groups_of(report["differencing"]) == list(expected.items())


def test_a_subset_chosen_by_hand_cannot_be_placed_on_the_data(tmp_path: Path) -> None:
    df, path = _written(cohort(), tmp_path / "data")
    s = sdc.Session()
    s.crosstab(df.region, name="all")
    young = df[df.age < 80]
    s.crosstab(young.region, name="young")
    folder = s.finalise(tmp_path / "request")
    report = check_folder(folder, trust_unsigned=True, data=path)
    d = report["differencing"]
    assert d["status"] == "review" and report["status"] == "review"
    assert (
        "'young' cannot be placed on the data: it covers a subset of the records" in (d["notes"][0])
    )
    # Without the data it is placed on its definition's variables (and passes).
    assert check_folder(folder, trust_unsigned=True)["differencing"]["status"] == "pass"


def test_an_output_without_a_definition_is_review(tmp_path: Path) -> None:
    _, _, folder = _the_issues_request(tmp_path)
    edit_manifest(folder, lambda m: m["outputs"][1].update(definition=None))
    report = check_folder(folder, trust_unsigned=True)
    d = report["differencing"]
    assert d["status"] == "review"
    assert "'age_count': its definition does not say which records it covers" in d["notes"][0]
    assert report["status"] in ("review", "fail")


def test_a_differencing_check_that_breaks_fails_closed(tmp_path: Path, monkeypatch) -> None:
    _, _, folder = _the_issues_request(tmp_path)

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr("sdc.release.combined.gate_differencing", broken)
    report = check_folder(folder, trust_unsigned=True)
    assert report["differencing"]["status"] == "fail" and report["status"] == "fail"
    assert "could not be run (RuntimeError: boom)" in report["differencing"]["notes"][0]
    # and nothing leaves on an approval: every output that would pass fails, saying why
    assert _status(report) == {"region_sex": "fail", "age_count": "fail"}
    assert all(f["leaves"] == "no" for f in report["files"] if f.get("output"))
    for o in report["outputs"]:
        assert "check over the outputs together could not be run" in o["reasons"][-1]


def _release(registry: Any, folder: Path, request_id: str) -> None:
    """Record the request as released, as the release workflow does: each output with its
    definition and the pattern the gate read, under its dataset's key."""
    report = check_folder(folder, trust_unsigned=True)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    outputs = []
    for o in manifest["outputs"]:
        (entry,) = [e for e in report["outputs"] if e["name"] == o["name"]]
        hidden = [i for i, c in enumerate(entry["cells"]) if c["suppressed"]]
        definition = {**o["definition"], "released": {"hidden": hidden, "rounded_to": None}}
        outputs.append(OutputRecord(o["name"], "table", entry["status"], definition,
                                    dataset_key(o["definition"])))  # fmt: skip
    req = RequestRecord(request_id, "alice", "a" * 64, False, False, "default", "b" * 64, outputs)
    registry.decide(req, Decision(request_id, "bob", "approve", "checked"))
    registry.release(request_id, {o.name: {f"{o.name}.csv": "c" * 64} for o in outputs},
                     actor="bob")  # fmt: skip


def test_a_new_request_is_checked_against_earlier_releases(tmp_path: Path) -> None:
    df, path = _written(cohort(), tmp_path / "data")
    registry = open_registry(f"sqlite:///{tmp_path}/registry.db")
    last_month = sdc.Session(suppress=True)
    last_month.pivot_table(df, index="region", columns="sex", aggfunc="count", name="visits")
    _release(registry, last_month.finalise(tmp_path / "r1"), "req-1")
    today = sdc.Session(suppress=True)
    today.pivot_table(df, index="region", columns="sex", aggfunc="count", name="visits",
                      population="age <= 90")  # fmt: skip
    folder = today.finalise(tmp_path / "r2")
    assert today.check_differencing().status is sdc.Status.PASS  # alone it is safe
    report = check_folder(folder, trust_unsigned=True, data=path, registry=registry)
    d = report["differencing"]
    assert d["released_before"] == ["req-1/visits"]
    old = df[df.age > 90].groupby(["region", "sex"]).size()
    assert dict(groups_of(d)) == {f"region {r} & sex {x} & not (age <= 90)": n
                                  for (r, x), n in old.items() if n < 10}  # fmt: skip
    assert all(f["released_before"] == ["req-1/visits"] for f in d["findings"])
    assert _status(report) == {"visits": "fail"}
    assert any("conflict with what was released before ('req-1/visits')" in x
               for x in d["suggestions"])  # fmt: skip
    # Without the data, earlier releases cannot be re-evaluated: review, not pass.
    report = check_folder(folder, trust_unsigned=True, registry=registry)
    assert report["differencing"]["status"] == "review"
    assert "1 output(s) of the same data were released before; they are checked against " \
           "this request with --data only" in report["differencing"]["notes"][0]  # fmt: skip
    registry.close()


def test_a_released_output_the_data_cannot_give_is_named(tmp_path: Path) -> None:
    df, path = _written(cohort(), tmp_path / "data")
    registry = open_registry(f"sqlite:///{tmp_path}/registry.db")
    first = sdc.Session()
    first.pivot_table(df.assign(extra=df.region), index="extra", aggfunc="count", name="t")
    _release(registry, first.finalise(tmp_path / "r1"), "req-1")
    second = sdc.Session()
    second.pivot_table(df, index="region", aggfunc="count", name="t")
    report = check_folder(second.finalise(tmp_path / "r2"), trust_unsigned=True, data=path,
                          registry=registry)  # fmt: skip
    d = report["differencing"]
    assert d["status"] == "review"
    assert "'t' released in 'req-1' cannot be re-evaluated on the data: the data have no " \
           "column 'extra'" in d["notes"][0]  # fmt: skip
    registry.close()


def test_the_cli_takes_a_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    df, path = _written(cohort(), tmp_path / "data")
    url = f"sqlite:///{tmp_path}/registry.db"
    with open_registry(url) as registry:
        first = sdc.Session(suppress=True)
        first.pivot_table(df, index="region", aggfunc="count", name="all")
        _release(registry, first.finalise(tmp_path / "r1"), "req-1")
    second = sdc.Session(suppress=True)
    second.pivot_table(df, index="region", aggfunc="count", name="u", population="age <= 90")
    folder = second.finalise(tmp_path / "r2")
    capsys.readouterr()
    code = main(["check", str(folder), "--trust-unsigned", "--data", str(path), "--registry", url,
                 "--json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 1 and report["differencing"]["released_before"] == ["req-1/all"]
    code = main(["check", str(folder), "--registry", f"sqlite:///{tmp_path}/none.db", "--json"])
    assert code == 2 and json.loads(capsys.readouterr().out)["error"]["kind"] in (
        "registry",
        "input",
    )


def test_registry_definition_records_the_pattern_the_gate_read() -> None:
    df = small_region_sex()
    s = sdc.Session(suppress=True)
    t = s.crosstab(df.region, df.sex, name="region_sex")
    d = registry_definition(t.definition, t)
    cells = [c["labels"] for c in t.to_report()["cells"]]
    hidden = [cells.index({"region": "E", "sex": "F"}), cells.index({"region": "W", "sex": "M"})]
    assert d["released"] == {"hidden": hidden, "rounded_to": None}
    assert {k: v for k, v in d.items() if k != "released"} == t.definition


def test_the_release_workflow_records_what_a_later_check_reads(tmp_path: Path) -> None:
    """``sdc release`` files each output under its data's key with the pattern the gate
    read, so a later request made from the same data is checked against it."""
    from sdc.release.workflow import release_request

    df, path = _written(cohort(), tmp_path / "data")
    url = f"sqlite:///{tmp_path}/registry.db"
    last_month = sdc.Session(suppress=True)
    last_month.pivot_table(df, index="region", columns="sex", aggfunc="count", name="visits")
    doc = release_request(last_month.finalise(tmp_path / "r1", author="alice"), registry=url,
                          by="bob", action="approve", reason="checked", out=tmp_path / "egress",
                          trust_unsigned=True)  # fmt: skip
    assert doc["released"]
    today = sdc.Session(suppress=True)
    today.pivot_table(df, index="region", columns="sex", aggfunc="count", name="visits",
                      population="age <= 90")  # fmt: skip
    with open_registry(url, create=False) as registry:
        report = check_folder(today.finalise(tmp_path / "r2"), trust_unsigned=True, data=path,
                              registry=registry)  # fmt: skip
    d = report["differencing"]
    assert d["released_before"] == [f"{doc['request_id']}/visits"]
    old = df[df.age > 90].groupby(["region", "sex"]).size()
    assert dict(groups_of(d)) == {f"region {r} & sex {x} & not (age <= 90)": n
                                  for (r, x), n in old.items() if n < 10}  # fmt: skip


def test_sdc_release_checks_against_what_left_since(tmp_path: Path) -> None:
    """Two requests checked while neither was released: each passes alone. Once the first
    has left, releasing the second re-checks it against the registry: with the data it
    fails (nothing leaves); without the data it needs review."""
    from sdc.exceptions import SdcRefusedDecision
    from sdc.release.workflow import NothingLeaves, release_request

    df, path = _written(cohort(), tmp_path / "data")
    url = f"sqlite:///{tmp_path}/registry.db"
    first = sdc.Session(suppress=True)
    first.pivot_table(df, index="region", columns="sex", aggfunc="count", name="visits")
    second = sdc.Session(suppress=True)
    second.pivot_table(df, index="region", columns="sex", aggfunc="count", name="visits",
                       population="age <= 90")  # fmt: skip
    r1 = first.finalise(tmp_path / "r1", author="alice")
    r2 = second.finalise(tmp_path / "r2", author="alice")
    assert check_folder(r2, trust_unsigned=True, data=path)["status"] == "pass"
    release_request(r1, registry=url, by="bob", action="approve", reason="checked",
                    out=tmp_path / "e1", trust_unsigned=True, data=path)  # fmt: skip
    with pytest.raises(NothingLeaves):
        release_request(r2, registry=url, by="bob", action="approve", reason="checked",
                        out=tmp_path / "e2", trust_unsigned=True, data=path)  # fmt: skip
    assert not (tmp_path / "e2").exists()
    # Without the data the earlier release cannot be re-evaluated: review, so an approval
    # must name the output (and the checker is told why).
    with pytest.raises(SdcRefusedDecision, match="nothing of request"):
        release_request(r2, registry=url, by="bob", action="approve", reason="checked",
                        out=tmp_path / "e2", trust_unsigned=True)  # fmt: skip
    doc = release_request(r2, registry=url, by="bob", action="reject", reason="differencing",
                          trust_unsigned=True)  # fmt: skip
    assert doc["gate"]["status"] == "review"


def test_outputs_beside_a_fitted_model_need_review_and_their_plots_too(tmp_path: Path) -> None:
    """The gate does not rebuild a model's design: the histogram of the model's data cannot
    be cleared against it, so it (and its plot) need review; a table of other data is not
    concerned and passes."""
    df = cohort()
    other = pd.DataFrame({"g": ["a", "b"] * 50})
    s = sdc.Session()
    s.ols("cost ~ C(region)", data=df, name="model")
    s.hist(df, "age", bins=10, plot=True, name="ages")
    s.crosstab(other.g, name="elsewhere")
    report = check_folder(s.finalise(tmp_path / "req"), trust_unsigned=True)
    st = _status(report)
    assert st["ages"] == st["ages.svg"] == "review" and st["elsewhere"] == "pass"
    entries = {o["name"]: o for o in report["outputs"]}
    assert entries["ages"]["reasons"][-1].startswith("differencing: the check over the outputs")
    assert "draws the numbers of 'ages'" in entries["ages.svg"]["reasons"][-1]
    (note,) = report["differencing"]["notes"]
    assert "fitted model(s) 'model'" in note and "not checked against 'ages'" in note
