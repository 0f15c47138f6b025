"""The gate: ``Session.finalise`` writes a folder, ``check_folder`` re-checks it and trusts nothing.

Untouched and checked under the session's rules, a folder gets the verdicts the
session gave (trusted unsigned, or signed). Any tampering with a released table
or its evidence is ``fail``; a manifest that is itself invalid is an input error
(exit 2 at the CLI); a file nobody described is ``review`` (or ``fail``). The
attacks of the issue are in ``test_gate_attacks.py``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from gate_corpus import edit_manifest, keypair, redigest

import sdc
from sdc import SdcInputError, Session
from sdc.cli import main
from sdc.release.gate import check_folder
from sdc.ruleset import RuleSet


def frame() -> pd.DataFrame:
    """Visits: region x sex with a small region (S), a patient id and a cost."""
    rng = np.random.default_rng(7)
    region = ["N"] * 30 + ["M"] * 24 + ["S"] * 3
    sex = ["F", "M"] * 28 + ["F"]
    patient = [f"P{i // 2:03d}" for i in range(len(region))]
    cost = np.round(rng.uniform(20, 400, len(region)), 2)
    return pd.DataFrame({"region": region, "sex": sex, "patient": patient, "cost": cost})


def default_session() -> Session:
    df = frame()
    s = Session()
    big = df[df.region != "S"]
    s.crosstab(big.region, big.sex, name="counts_pass")
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", name="counts_fail")
    s.pivot_table(big, index="region", values="cost", aggfunc="mean", contributor="patient",
                  name="mean_pass")  # fmt: skip
    s.pivot_table(df, index="region", values="cost", aggfunc="sum", margins=True, name="sum_fail")
    zero = pd.concat([big, pd.DataFrame({"region": ["Z"] * 12, "sex": ["F"] * 12})])
    s.pivot_table(zero, index="region", columns="sex", aggfunc="count", name="counts_zero")
    s.pivot_table(big, index="sex", values="cost", aggfunc="median", name="median_pass")
    return s


def suppressing_session() -> Session:
    df = frame()
    s = Session(suppress=True)
    s.pivot_table(df, index="region", aggfunc="count", name="no_margins")
    s.pivot_table(df, index="region", aggfunc="count", margins=True, name="with_margins")
    s.pivot_table(df, index="region", columns="sex", values="cost", aggfunc="mean",
                  contributor="patient", margins=True, name="mean_margins")  # fmt: skip
    return s


def opensafely_session() -> Session:
    df = frame()
    s = Session(rules="opensafely")
    s.pivot_table(df, index="region", aggfunc="count", name="os_counts")
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", margins=True,
                  name="os_margins")  # fmt: skip
    s.pivot_table(df, index="sex", values="cost", aggfunc="mean", name="os_mean")
    return s


SESSIONS: dict[str, Callable[[], Session]] = {
    "default": default_session,
    "suppress": suppressing_session,
    "opensafely": opensafely_session,
}


def _cells(entry: dict[str, Any]) -> list[tuple]:
    return [
        (tuple(c["labels"].items()), c["value"], c["n"], c["records"], c["failed_rules"],
         c["review_rules"])
        for c in entry["cells"]
    ]  # fmt: skip


@pytest.mark.parametrize("signed", [False, True], ids=["trusted unsigned", "signed"])
@pytest.mark.parametrize("kind", sorted(SESSIONS))
def test_untouched_folder_keeps_the_session_verdicts(
    kind: str, signed: bool, tmp_path: Path
) -> None:
    s = SESSIONS[kind]()
    private, public = keypair(tmp_path / "keys")
    folder = s.finalise(tmp_path / "out", signing_key=private if signed else None)
    trust = {"trust_keys": [public]} if signed else {"trust_unsigned": True}
    report = check_folder(folder, rules=s.ruleset_, **trust)
    session_report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    # The session's verdicts: each output's own, and fail where outputs together give a
    # small group away (differencing: ``suppress`` has one, see below).
    assert {o["name"]: o["status"] for o in report["outputs"]} == {
        o["name"]: o["status"] for o in session_report["outputs"]
    }
    assert report["differencing"]["status"] == session_report["differencing"]["status"]
    assert report["status"] == session_report["status"]
    assert report["summary"] == session_report["summary"]
    for gate_entry, made in zip(report["outputs"], session_report["outputs"], strict=True):
        assert _cells(gate_entry) == _cells(made)
        assert gate_entry["findings"] == made["findings"]
    assert report["trust"]["signature"] == ("valid" if signed else "missing")
    assert {o["authenticated"] for o in report["outputs"]} == {
        "signature" if signed else "operator"
    }
    assert all(o["rules_status"] == o["status"] for o in report["outputs"])
    assert report["rules"]["requested"]["same"] is True


@pytest.mark.parametrize("kind", sorted(SESSIONS))
def test_unauthenticated_outputs_are_at_best_review(kind: str, tmp_path: Path) -> None:
    s = SESSIONS[kind]()
    folder = s.finalise(tmp_path / "out")
    report = check_folder(folder, rules=s.ruleset_)
    session_report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    made = {o["name"]: o["status"] for o in session_report["outputs"]}
    for entry in report["outputs"]:
        name = entry["name"].removesuffix(".svg")
        assert entry["rules_status"] == made[name]
        assert entry["authenticated"] is None
        expected = "fail" if entry["rules_status"] == "fail" else "review"
        assert entry["status"] == expected
        if expected == "review":
            assert "not authenticated" in entry["trust_reason"]
            assert "not authenticated" in entry["reasons"][-1]
    assert report["status"] in ("review", "fail")
    assert report["notices"][0].startswith("Not authenticated: the request has no manifest.sig")


def test_the_verdicts_cover_every_status(tmp_path: Path) -> None:
    statuses = {o.status for o in default_session().outputs.values()}
    statuses |= {o.status for o in suppressing_session().outputs.values()}
    assert statuses == {sdc.Status.PASS, sdc.Status.REVIEW, sdc.Status.FAIL}


# ---------------------------------------------------------------------------- tampering


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    df = frame()
    s = Session(suppress=True)
    # S suppressed in both tables, protected together: apart, the grand total of one minus
    # the other's published regions would give S away (differencing).
    s.protect_linked(
        df,
        [
            {"index": "region", "name": "counts"},
            {"index": "region", "columns": "sex", "name": "margins"},
        ],
    )
    s.pivot_table(df[df.region != "S"], index="region", values="cost", aggfunc="mean",
                  contributor="patient", name="means")  # fmt: skip
    out = s.finalise(tmp_path / "out")
    report = check_folder(out)
    assert {o["name"]: (o["rules_status"], o["status"]) for o in report["outputs"]} == {
        "counts": ("pass", "review"), "margins": ("pass", "review"), "means": ("pass", "review"),
    }  # fmt: skip
    return out


def status_of(report: dict[str, Any], name: str) -> tuple[str, str]:
    (entry,) = [o for o in report["outputs"] if o["name"] == name]
    return entry["status"], " ".join(entry["reasons"])


def rules_status_of(report: dict[str, Any], name: str) -> str:
    """The rules' verdict on an output's files (its status is at best review, unsigned)."""
    (entry,) = [o for o in report["outputs"] if o["name"] == name]
    return entry["rules_status"]


def cli_check(capsys: pytest.CaptureFixture[str], folder: Path) -> tuple[int, str]:
    code = main(["check", str(folder)])
    _, err = capsys.readouterr()
    return code, err


def edit_csv(path: Path, change: Callable[[pd.DataFrame], pd.DataFrame | None]) -> None:
    """Rewrite a released table; ``change`` edits in place or returns the new frame."""
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    changed = change(table)
    (table if changed is None else changed).to_csv(path, index=False)


def test_changed_count_fails(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def bump(t: pd.DataFrame) -> None:
        t.loc[t.region == "N", "count"] = "31"

    edit_csv(folder / "counts.csv", bump)
    status, why = status_of(check_folder(folder), "counts")
    assert status == "fail" and "digest differs" in why
    assert cli_check(capsys, folder)[0] == 1
    # Even with the digest rewritten, the table must agree with its evidence; the message
    # names the line and cell, never the released or the evidence value.
    redigest(folder, "counts.csv")
    status, why = status_of(check_folder(folder), "counts")
    assert status == "fail"
    assert "line 3 (region=N): the released value differs from the value its evidence" in why
    assert "31" not in why and "30" not in why


def test_changed_mean_fails(folder: Path) -> None:
    def nudge(t: pd.DataFrame) -> None:
        t.loc[0, "cost"] = str(float(t.loc[0, "cost"]) + 0.01)

    edit_csv(folder / "means.csv", nudge)
    assert status_of(check_folder(folder), "means")[0] == "fail"


def test_suppressed_cell_filled_back_in_fails(folder: Path) -> None:
    text = (folder / "counts.csv").read_text(encoding="utf-8")
    assert "S,\n" in text  # the small region was suppressed
    (folder / "counts.csv").write_text(text.replace("S,\n", "S,3\n"), encoding="utf-8")
    redigest(folder, "counts.csv")
    status, why = status_of(check_folder(folder), "counts")
    assert status == "fail"
    assert "not suppressed" in why


def test_margin_cell_filled_back_in_fails(folder: Path) -> None:
    def unsuppress(t: pd.DataFrame) -> None:
        blank = t["count"] == ""
        assert blank.any()
        t.loc[blank, "count"] = ["1" if s == "M" else "2" for s in t.loc[blank, "sex"]]

    edit_csv(folder / "margins.csv", unsuppress)
    assert status_of(check_folder(folder), "margins")[0] == "fail"


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda t: t.drop(index=0), id="row deleted"),
        pytest.param(lambda t: t.rename(columns={"count": "n"}), id="renamed"),
        pytest.param(lambda t: t.insert(0, "extra", "x"), id="extra column"),
        pytest.param(lambda t: t.loc.__setitem__((0, "region"), "Q"), id="relabelled"),
        pytest.param(lambda t: t.loc.__setitem__((0, "count"), "many"), id="not a number"),
    ],
)
def test_reshaped_table_fails(folder: Path, change: Callable[[pd.DataFrame], Any]) -> None:
    edit_csv(folder / "counts.csv", change)
    assert status_of(check_folder(folder), "counts")[0] == "fail"


def test_duplicated_row_fails(folder: Path) -> None:
    def dup(t: pd.DataFrame) -> None:
        t.loc[0, "region"] = t.loc[1, "region"]

    edit_csv(folder / "counts.csv", dup)
    assert status_of(check_folder(folder), "counts")[0] == "fail"


def test_deleted_table_or_evidence_fails(folder: Path, capsys: pytest.CaptureFixture[str]):
    (folder / "evidence" / "means.json").unlink()
    (folder / "counts.csv").unlink()
    report = check_folder(folder)
    assert status_of(report, "means") == ("fail", "'evidence/means.json' is missing")
    assert status_of(report, "counts")[0] == "fail"
    assert rules_status_of(report, "margins") == "pass"  # the others are still checked
    assert report["status"] == "fail"
    assert cli_check(capsys, folder)[0] == 1


def _edit_evidence(folder: Path, name: str, change: Callable[[dict], None]) -> None:
    path = folder / "evidence" / f"{name}.json"
    ev = json.loads(path.read_text(encoding="utf-8"))
    change(ev)
    path.write_text(json.dumps(ev), encoding="utf-8")


def test_evidence_whose_margin_does_not_add_up_fails(folder: Path) -> None:
    def grow_total(ev: dict) -> None:
        last = len(ev["records"]) - 1  # the grand total of a table with margins
        ev["records"][last] += 1
        ev["nonmissing"][last] += 1

    _edit_evidence(folder, "margins", grow_total)
    status, why = status_of(check_folder(folder), "margins")
    assert status == "fail"
    assert "margin" in why


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda ev: ev.pop("top"), id="key removed"),
        pytest.param(lambda ev: ev.update(secret=1), id="key added"),
        pytest.param(lambda ev: ev["records"].pop(), id="array too short"),
        pytest.param(lambda ev: ev.update(records=["x"] * len(ev["records"])), id="not numbers"),
        pytest.param(lambda ev: ev["contributors"].__setitem__(0, 10**6), id="contributors"),
        pytest.param(lambda ev: ev.update(levels=[["N", "S"]]), id="levels"),
        pytest.param(lambda ev: ev.update(levels=[["N", "N", "M"]]), id="repeated level"),
        pytest.param(
            lambda ev: ev.update(records=[str(x) for x in ev["records"]]), id="counts as text"
        ),
        pytest.param(
            lambda ev: ev.update(records=[x + 0.5 for x in ev["records"]]), id="fractional counts"
        ),
        pytest.param(lambda ev: ev.update(records=[True for _ in ev["records"]]), id="booleans"),
        pytest.param(lambda ev: ev["top"].__setitem__(0, ["1", None, None]), id="top as text"),
    ],
)
def test_inconsistent_evidence_fails(folder: Path, change: Callable[[dict], Any]) -> None:
    _edit_evidence(folder, "counts", change)
    status, why = status_of(check_folder(folder), "counts")
    assert status == "fail" and "evidence" in why


def test_evidence_that_is_not_json_fails(folder: Path) -> None:
    (folder / "evidence" / "counts.json").write_bytes(b"\x89PNG\r\n")
    assert status_of(check_folder(folder), "counts")[0] == "fail"
    (folder / "evidence" / "counts.json").write_text("[1, 2]", encoding="utf-8")
    assert status_of(check_folder(folder), "counts")[0] == "fail"


def _edit_manifest(folder: Path, change: Callable[[dict], Any]) -> None:
    edit_manifest(folder, change)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param(lambda m: m.update(signature="ok"), "signature", id="unknown key"),
        pytest.param(lambda m: m.pop("rules"), "rules", id="missing key"),
        pytest.param(lambda m: m["outputs"][0].update(note="x"), "note", id="unknown entry key"),
        pytest.param(lambda m: m["files"][0].update(path="../counts.csv"), "../counts.csv",
                     id="dotdot file"),
        pytest.param(lambda m: m["files"][1].update(path="evidence/../../x.json"), "..",
                     id="dotdot evidence"),
        pytest.param(lambda m: m["files"][0].update(path="/etc/passwd"), "/etc/passwd",
                     id="absolute path"),
        pytest.param(lambda m: m["files"][0].update(path="a//b.csv"), "a//b.csv",
                     id="empty part"),
        pytest.param(lambda m: m["files"][0].update(path="a\\b.csv"), "backslash",
                     id="backslash"),
        pytest.param(lambda m: m["files"].append(dict(m["files"][0])), "twice",
                     id="file twice"),
        pytest.param(lambda m: m["files"][0].update(sha256="X" * 64), "sha256",
                     id="bad digest"),
        pytest.param(lambda m: m["files"][0].update(path="manifest.json"), "manifest.json",
                     id="manifest listed"),
        pytest.param(lambda m: m.update(schema_version="9.9"), "9.9", id="version"),
        pytest.param(lambda m: m.update(outputs=[]), "no outputs", id="no outputs"),
        pytest.param(lambda m: m["outputs"].append(dict(m["outputs"][0])), "twice",
                     id="duplicate"),
        pytest.param(lambda m: m["rules"]["threshold"].update(t=0), "[threshold] t",
                     id="bad rules"),
        pytest.param(lambda m: m["rules"].update(house_rule=True), "house_rule",
                     id="unknown rule section"),
    ],
)  # fmt: skip
def test_invalid_manifest_is_an_input_error(
    folder: Path, capsys: pytest.CaptureFixture[str], change: Callable[[dict], Any], named: str
) -> None:
    _edit_manifest(folder, change)
    with pytest.raises(SdcInputError) as info:
        check_folder(folder)
    assert named in str(info.value)
    code, err = cli_check(capsys, folder)
    assert code == 2
    assert err.startswith("sdc: error: ") and err.count("\n") == 1


def test_manifest_that_is_not_json(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (folder / "manifest.json").write_text('{"outputs": [', encoding="utf-8")
    with pytest.raises(SdcInputError):
        check_folder(folder)
    assert cli_check(capsys, folder)[0] == 2


def test_manifest_with_a_list_as_name(folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _edit_manifest(folder, lambda m: m["outputs"][0].update(name=["counts"]))
    with pytest.raises(SdcInputError):
        check_folder(folder)


def test_unknown_statistic_in_manifest_fails(folder: Path) -> None:
    _edit_manifest(folder, lambda m: m["outputs"][0].update(statistic="geomean"))
    assert status_of(check_folder(folder), "counts")[0] == "fail"


def test_weakened_manifest_rules_are_never_applied(folder: Path) -> None:
    """The gate applies its own rule set; the manifest's only says what was asked for."""

    def weaken(m: dict) -> None:
        m["rules"]["threshold"]["t"] = 1

    text = (folder / "counts.csv").read_text(encoding="utf-8")
    (folder / "counts.csv").write_text(text.replace("S,\n", "S,3\n"), encoding="utf-8")
    redigest(folder, "counts.csv")
    _edit_manifest(folder, weaken)
    report = check_folder(folder, trust_unsigned=True)
    assert status_of(report, "counts")[0] == "fail"
    assert report["rules"]["name"] == "default" and report["rules"]["requested"]["same"] is False
    assert any("made under rule set 'default', whose settings differ" in n
               for n in report["notices"])  # fmt: skip


@pytest.mark.parametrize("where", ["notes.txt", "evidence/extra.json", "sub/dir/data.csv"])
def test_unlisted_file_is_review(folder: Path, where: str) -> None:
    target = folder / where
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text("region,count\nS,3\n", encoding="utf-8")
    report = check_folder(folder)
    status, why = status_of(report, where)
    assert status == "review" and "not described by the manifest" in why
    assert report["status"] == "review"
    assert rules_status_of(report, "counts") == "pass"


def test_unlisted_file_next_to_a_failure_keeps_fail(folder: Path) -> None:
    (folder / "notes.txt").write_text("x", encoding="utf-8")
    (folder / "counts.csv").unlink()
    assert check_folder(folder)["status"] == "fail"


def test_report_files_are_checked_too(tmp_path: Path) -> None:
    df = frame()
    s = Session()
    s.pivot_table(df[df.region != "S"], index="region", aggfunc="count", name="t")
    out = s.finalise(tmp_path / "out")
    assert check_folder(out, trust_unsigned=True)["status"] == "pass"
    with (out / "report.txt").open("a", encoding="utf-8") as fh:
        fh.write("\nP001,N,F,123.45\nP002,N,M,67.89\n")
    report = check_folder(out, trust_unsigned=True)
    assert report["status"] == "fail" and status_of(report, "report.txt")[0] == "fail"


# ---------------------------------------------------------------------------- known gaps


def test_changed_median_fails(tmp_path: Path) -> None:
    df = frame()
    s = Session()
    s.pivot_table(df[df.region != "S"], index="region", values="cost", aggfunc="median",
                  name="medians")  # fmt: skip
    out = s.finalise(tmp_path / "out")
    assert check_folder(out, trust_unsigned=True)["status"] == "pass"
    edit_csv(out / "medians.csv", lambda t: t.loc.__setitem__((0, "cost"), "99999.0"))
    redigest(out, "medians.csv")
    report = check_folder(out, trust_unsigned=True)
    assert report["status"] == "fail"  # a median above its cell's largest value
    assert "outside what the values of its cell allow" in status_of(report, "medians")[1]


def test_opensafely_counts_must_stay_rounded(tmp_path: Path) -> None:
    df = pd.DataFrame({"region": ["N"] * 12 + ["M"] * 23})
    s = Session(rules="opensafely")
    s.pivot_table(df, index="region", aggfunc="count", name="t")
    out = s.finalise(tmp_path / "out")
    assert (out / "t.csv").read_text(encoding="utf-8") == "region,count\nM,25\nN,10\n"

    def unround(m: dict) -> None:
        m["outputs"][0].update(rounded_to=None, protected=False)

    _edit_manifest(out, unround)
    (out / "t.csv").write_text("region,count\nM,23\nN,12\n", encoding="utf-8")
    redigest(out, "t.csv")
    report = check_folder(out, rules="opensafely")
    status, why = status_of(report, "t")
    assert status == "fail" and "rounded to the nearest 5" in why


def test_level_named_like_the_total(tmp_path: Path) -> None:
    df = pd.DataFrame({"answer": ["All"] * 12 + ["Some"] * 12})
    s = Session()
    with pytest.raises(SdcInputError, match="reserved label 'All'"):
        s.pivot_table(df, index="answer", aggfunc="count", margins=True, name="t")
    # Without margins there is no total, so the level is an ordinary label.
    s.pivot_table(df, index="answer", aggfunc="count", name="t")
    s.finalise(tmp_path / "out")
    assert check_folder(tmp_path / "out", trust_unsigned=True)["status"] == "pass"


def test_datetime_levels_finalise(tmp_path: Path) -> None:
    """Dates as levels are released in ISO 8601, with their counts, and pass the gate."""
    df = pd.DataFrame({"month": pd.to_datetime(["2024-01-01"] * 12 + ["2024-02-01"] * 13)})
    s = Session()
    s.pivot_table(df, index="month", aggfunc="count", name="t")
    s.finalise(tmp_path / "out")
    assert check_folder(tmp_path / "out", trust_unsigned=True)["status"] == "pass"
    released = pd.read_csv(tmp_path / "out" / "t.csv", dtype=str)
    got = dict(zip(released.iloc[:, 0], released.iloc[:, -1].astype(int), strict=True))
    want = {k.isoformat(): int(v) for k, v in df["month"].value_counts().items()}
    assert got == want


# ---------------------------------------------------------------------------- finalise


def test_finalise_layout(folder: Path) -> None:
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
    assert files == [
        "counts.csv", "evidence/counts.json", "evidence/margins.json", "evidence/means.json",
        "manifest.json", "margins.csv", "means.csv", "report.json", "report.txt",
    ]  # fmt: skip
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert RuleSet.from_dict(manifest["rules"]).to_dict() == RuleSet.load("default").to_dict()
    assert [e["name"] for e in manifest["outputs"]] == ["counts", "margins", "means"]


def test_finalise_refuses_a_folder_with_files(tmp_path: Path) -> None:
    s = suppressing_session()
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("keep me", encoding="utf-8")
    with pytest.raises(SdcInputError, match="overwrite=True"):
        s.finalise(out)
    # overwrite replaces only a folder that finalise wrote: this one is left alone.
    with pytest.raises(SdcInputError, match="left alone"):
        s.finalise(out, overwrite=True)
    assert [p.name for p in out.iterdir()] == ["old.txt"]


def test_finalise_into_an_empty_or_new_folder(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    s = suppressing_session()
    assert s.finalise(tmp_path / "empty") == tmp_path / "empty"
    assert s.finalise(str(tmp_path / "a" / "b")) == tmp_path / "a" / "b"
    assert (tmp_path / "a" / "b" / "manifest.json").is_file()


def test_finalise_twice_into_the_same_folder(tmp_path: Path) -> None:
    s = suppressing_session()
    s.finalise(tmp_path / "out")
    with pytest.raises(SdcInputError):
        s.finalise(tmp_path / "out")
    s.remove_output("with_margins")
    s.finalise(tmp_path / "out", overwrite=True)
    # the folder is replaced whole: nothing stale from the first run is left behind
    assert not (tmp_path / "out" / "with_margins.csv").exists()
    report = check_folder(tmp_path / "out")
    assert "with_margins" not in {o["name"] for o in report["outputs"]}


def test_finalise_without_outputs(tmp_path: Path) -> None:
    with pytest.raises(SdcInputError, match="at least one output"):
        Session().finalise(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_error_while_rendering_leaves_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = suppressing_session()
    import sdc.release.bundle

    def broken(report: dict[str, Any], max_findings: int = 10) -> str:
        raise RuntimeError("renderer broke")

    monkeypatch.setattr(sdc.release.bundle, "text_report", broken)
    with pytest.raises(RuntimeError, match="renderer broke"):
        s.finalise(tmp_path / "out")
    assert not (tmp_path / "out").exists()

    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(RuntimeError):
        s.finalise(existing)
    assert list(existing.iterdir()) == []


def test_error_in_a_later_output_leaves_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = suppressing_session()
    last = list(s.outputs.values())[-1]

    def broken() -> str:
        raise RuntimeError("cannot lay out")

    monkeypatch.setattr(last, "released_csv", broken)
    with pytest.raises(RuntimeError, match="cannot lay out"):
        s.finalise(tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_io_error_while_writing_leaves_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    s = suppressing_session()
    real = Path.write_bytes
    calls = {"n": 0}

    def flaky(self: Path, *args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 3:
            raise OSError(28, "No space left on device")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "write_bytes", flaky)
    with pytest.raises(SdcInputError, match="No space left"):
        s.finalise(tmp_path / "out")
    monkeypatch.setattr(Path, "write_bytes", real)
    left = (
        [p for p in (tmp_path / "out").rglob("*") if p.is_file()]
        if (tmp_path / "out").exists()
        else []
    )
    assert left == []


def test_a_copied_folder_checks_the_same(folder: Path, tmp_path: Path) -> None:
    """Nothing in the folder depends on where it was written."""
    copy = tmp_path / "elsewhere"
    shutil.copytree(folder, copy)
    assert check_folder(copy)["outputs"] == check_folder(folder)["outputs"]


def test_gate_fails_a_secondary_published_again(tmp_path: Path) -> None:
    """A released table whose secondary cell is filled back in exposes the primary: fail."""
    df = frame()
    s = Session(suppress=True)
    t = s.pivot_table(df, index="region", columns="sex", aggfunc="count", margins=True,
                      name="margins")  # fmt: skip
    secondary = t.protected.secondary
    assert secondary is not None and secondary.any()
    out = s.finalise(tmp_path / "out")
    # Rewrite the table with one secondary cell published, and the digest to match.
    cell = int(np.flatnonzero(secondary)[0])
    labels = t.model.labels(cell)
    path = out / "margins.csv"
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    hit = (table["region"] == str(labels["region"])) & (table["sex"] == str(labels["sex"]))
    table.loc[hit, "count"] = str(int(t.values[cell]))
    table.to_csv(path, index=False)
    redigest(out, "margins.csv")
    status, why = status_of(check_folder(out), "margins")
    assert status == "fail", why
