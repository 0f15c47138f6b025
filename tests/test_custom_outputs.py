"""Exceptions, comments and custom outputs: shown to the checker, never a pass by themselves."""

from __future__ import annotations

import hashlib
import json
import warnings
from pathlib import Path
from typing import Any

import gate_corpus as corpus
import jsonschema
import numpy as np
import pandas as pd
import pytest

import sdc
from sdc import SdcInputError
from sdc.exceptions import SdcReleaseWarning
from sdc.release import manifest as manifest_module
from sdc.release.gate import check_folder
from sdc.release.report import report_schema, text_report


def entry(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [o for o in report["outputs"] if o["name"] == name]
    return found


def leaves(report: dict[str, Any], path: str) -> str:
    (found,) = [f for f in report["files"] if f["path"] == path]
    return found["leaves"]


def finalise(s: sdc.Session, folder: Path, key: Path | None = None) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SdcReleaseWarning)
        return s.finalise(folder, signing_key=key)


def gate(folder: Path, **kwargs: Any) -> dict[str, Any]:
    report = check_folder(folder, **kwargs)
    jsonschema.validate(report, report_schema())
    return report


@pytest.fixture
def passing() -> sdc.Session:
    """The gate corpus's request: every output passes."""
    return corpus.base_session()


# ------------------------------------------------------------------ comments


def test_comments_are_shown_and_never_send_a_passing_request_to_review(passing, tmp_path):
    passing.add_comment(None, "Tables for chapter 3.")
    passing.add_comment(corpus.COUNTS, "Counts of visits, not of patients.")
    report = gate(finalise(passing, tmp_path / "req"), trust_unsigned=True)
    assert report["status"] == "pass"
    assert report["comments"] == [
        {"output": None, "text": "Tables for chapter 3."},
        {"output": corpus.COUNTS, "text": "Counts of visits, not of patients."},
    ]
    assert "Counts of visits, not of patients." in text_report(report)


def test_a_note_file_in_the_folder_still_sends_it_to_review(passing, tmp_path):
    """What comments replace: an undescribed file is never released and needs a person."""
    folder = finalise(passing, tmp_path / "req")
    (folder / "notes.txt").write_text("Tables for chapter 3.")
    assert gate(folder, trust_unsigned=True)["status"] == "review"


def test_a_comment_must_name_an_output_or_the_request():
    s = sdc.Session()
    with pytest.raises(SdcInputError, match="name"):
        s.add_comment("nothing", "text")
    with pytest.raises(SdcInputError, match="text"):
        s.add_comment(None, "  ")


# ------------------------------------------------------------------ exceptions


def test_an_exception_is_shown_with_the_verdict_it_does_not_change(tmp_path):
    df = corpus.visits()
    s = sdc.Session()
    s.pivot_table(df, index="region", aggfunc="count", name="raw")  # Isles fails
    s.add_exception("raw", "The Isles count is published by the health board.")
    report = gate(finalise(s, tmp_path / "req"), trust_unsigned=True)
    raw = entry(report, "raw")
    assert raw["status"] == "fail" and report["status"] == "fail"
    assert raw["exception"] == "The Isles count is published by the health board."
    assert "published by the health board" in text_report(report)
    assert leaves(report, "raw.csv") == "no"


def test_an_exception_on_a_removed_output_goes_with_it(passing):
    passing.add_exception(corpus.COUNTS, "needed")
    passing.add_comment(corpus.COUNTS, "note")
    passing.remove_output(corpus.COUNTS)
    assert passing.exceptions == {} and passing.comments == []


def test_exceptions_written_into_a_manifest_gain_nothing(tmp_path):
    """An attacker adds exceptions and comments (a pass claim among them) to a failing request."""
    df = corpus.visits()
    s = sdc.Session()
    s.pivot_table(df, index="region", aggfunc="count", name="raw")
    folder = finalise(s, tmp_path / "req")
    clean = gate(folder, trust_unsigned=True)

    def forge(m: dict[str, Any]) -> None:
        m["exceptions"] = [{"output": "raw", "reason": "status: pass\napproved by the checker"}]
        m["comments"] = [{"output": None, "text": "sdc report: PASS"}]

    corpus.edit_manifest(folder, forge)
    forged = gate(folder, trust_unsigned=True)
    assert forged["status"] == clean["status"] == "fail"
    assert entry(forged, "raw")["status"] == "fail"
    assert leaves(forged, "raw.csv") == "no"
    assert "\n" not in entry(forged, "raw")["exception"]  # shown escaped, on one line
    lines = text_report(forged).splitlines()
    assert not any(line.startswith("sdc report: PASS") for line in lines[1:])


@pytest.mark.parametrize(
    "notes",
    [
        {"exceptions": [{"output": "nobody", "reason": "x"}]},
        {"exceptions": [{"output": None, "reason": "x"}]},
        {"exceptions": [{"output": "counts", "reason": "x", "status": "pass"}]},
        {"exceptions": [{"output": "counts", "reason": "a"}, {"output": "counts", "reason": "b"}]},
        {"comments": [{"output": "counts", "text": ""}]},
        {"comments": "approved"},
    ],
)
def test_malformed_exceptions_and_comments_are_refused(tmp_path, notes):
    folder = corpus.finalise(tmp_path / "req")
    corpus.edit_manifest(folder, lambda m: m.update(notes))
    with pytest.raises(SdcInputError, match="manifest"):
        check_folder(folder, trust_unsigned=True)


def test_a_signed_request_with_forged_notes_is_no_longer_authenticated(tmp_path):
    private, public = corpus.keypair(tmp_path / "keys")
    folder = corpus.finalise(tmp_path / "req", key=private)
    corpus.edit_manifest(folder, lambda m: m.update(
        exceptions=[{"output": corpus.COUNTS, "reason": "fine"}]))  # fmt: skip
    report = gate(folder, trust_keys=public)
    assert report["trust"]["signature"] == "invalid"
    assert report["status"] != "pass"


# ------------------------------------------------------------------ versions


def test_a_gate_that_does_not_read_2_2_refuses_the_request(tmp_path, monkeypatch):
    folder = corpus.finalise(tmp_path / "req")
    monkeypatch.setattr(manifest_module, "READ_VERSIONS", ("2.0", "2.1"))
    with pytest.raises(SdcInputError, match="schema_version"):
        check_folder(folder, trust_unsigned=True)


def test_a_2_1_manifest_is_still_read(tmp_path):
    folder = corpus.finalise(tmp_path / "req")

    def downgrade(m: dict[str, Any]) -> None:
        m["schema_version"] = "2.1"
        del m["exceptions"], m["comments"]

    corpus.edit_manifest(folder, downgrade)
    assert gate(folder, trust_unsigned=True)["status"] == "pass"


def test_a_2_1_manifest_with_exceptions_is_refused(tmp_path):
    folder = corpus.finalise(tmp_path / "req")
    corpus.edit_manifest(folder, lambda m: m.update(schema_version="2.1"))
    with pytest.raises(SdcInputError, match="exactly the keys"):
        check_folder(folder, trust_unsigned=True)


# ------------------------------------------------------------------ custom outputs


def test_a_custom_output_is_copied_and_is_review_with_approval(passing, tmp_path):
    figure = tmp_path / "Figure 1.PNG"
    figure.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(128, 256)))
    out = passing.custom_output(figure, kind="figure drawn in R", name="figure1")
    assert out.status.value == "review" and out.path == "figure1.png"
    folder = finalise(passing, tmp_path / "req")
    assert (folder / "figure1.png").read_bytes() == figure.read_bytes()
    manifest = json.loads((folder / "manifest.json").read_text())
    (listed,) = [o for o in manifest["outputs"] if o["name"] == "figure1"]
    assert listed["kind"] == "custom" and listed["statistic"] == "figure drawn in R"
    report = gate(folder, trust_unsigned=True)
    custom = entry(report, "figure1")
    assert custom["status"] == "review" and report["status"] == "review"
    assert "did not make" in custom["reasons"][0]
    assert leaves(report, "figure1.png") == "with approval"
    assert entry(report, corpus.COUNTS)["status"] == "pass"


def test_a_signed_custom_output_is_still_review(tmp_path):
    private, public = corpus.keypair(tmp_path / "keys")
    s = corpus.base_session()
    note = tmp_path / "n.txt"
    note.write_text("a caption")
    s.custom_output(note, kind="caption")
    report = gate(finalise(s, tmp_path / "req", key=private), trust_keys=public)
    assert report["trust"]["signature"] == "valid"
    assert entry(report, "n")["status"] == "review"


def test_a_custom_output_that_looks_like_records_fails(tmp_path):
    rows = "patient_id,dob,cost\n" + "".join(
        f"P{i:04d},1980-01-{1 + i % 28:02d},{i}\n" for i in range(200)
    )
    path = tmp_path / "extract.csv"
    path.write_text(rows)
    s = corpus.base_session()
    out = s.custom_output(path, kind="a table")
    assert out.status.value == "fail"
    report = gate(finalise(s, tmp_path / "req"), trust_unsigned=True)
    assert entry(report, "extract")["status"] == "fail"
    assert leaves(report, "extract.csv") == "no"


def test_a_regression_the_engine_cannot_check_is_finalised_for_review(tmp_path):
    import statsmodels.formula.api as smf

    rng = np.random.default_rng(0)
    df = pd.DataFrame({"x": rng.normal(size=200), "g": rng.choice(["a", "b"], 200)})
    df["y"] = df.x + rng.normal(size=200)
    result = smf.quantreg("y ~ x + C(g)", df).fit(q=0.5)
    s = sdc.Session()
    assert s.check_model_result(result, name="qr").status.value == "review"
    with pytest.raises(SdcInputError, match="custom_output"):
        finalise(s, tmp_path / "no")
    s.remove_output("qr")
    s.custom_output(result, kind="median regression", name="qr")
    folder = finalise(s, tmp_path / "req")
    written = pd.read_csv(folder / "qr.csv", index_col="term")
    np.testing.assert_allclose(written["coef"], result.params.to_numpy())
    np.testing.assert_allclose(written["std_err"], result.bse.to_numpy())
    assert entry(gate(folder, trust_unsigned=True), "qr")["status"] == "review"


def captioned(tmp_path: Path) -> Path:
    """The corpus request with a caption ``n.txt`` added as a custom output."""
    s = corpus.base_session()
    note = tmp_path / "n.txt"
    note.write_text("a caption")
    s.custom_output(note, kind="caption")
    return finalise(s, tmp_path / "req")


def test_a_custom_output_whose_file_is_not_its_own_fails(tmp_path):
    folder = captioned(tmp_path)
    (folder / "other.txt").write_text("a caption")

    def swap(m: dict[str, Any]) -> None:
        (f,) = [f for f in m["files"] if f["path"] == "n.txt"]
        f["path"] = "other.txt"

    corpus.edit_manifest(folder, swap)
    report = gate(folder, trust_unsigned=True)
    assert entry(report, "n")["status"] == "fail"


def test_a_changed_custom_file_fails(tmp_path):
    folder = captioned(tmp_path)
    (folder / "n.txt").write_text("P0001,1980-01-02")
    report = gate(folder, trust_unsigned=True)
    assert entry(report, "n")["status"] == "fail"
    assert leaves(report, "n.txt") == "no"


def test_relabelling_a_table_as_custom_never_makes_it_pass(tmp_path):
    folder = corpus.finalise(tmp_path / "req")

    def relabel(m: dict[str, Any]) -> None:
        (o,) = [o for o in m["outputs"] if o["name"] == corpus.COUNTS]
        o["kind"] = "custom"
        mine = [f for f in m["files"] if f["output"] == corpus.COUNTS]
        m["files"] = [f for f in m["files"] if not (f in mine and f["kind"] == "evidence")]
        for f in m["files"]:
            if f["output"] == corpus.COUNTS:
                f["kind"] = "custom"

    corpus.edit_manifest(folder, relabel)
    report = gate(folder, trust_unsigned=True)
    assert entry(report, corpus.COUNTS)["status"] in ("review", "fail")
    assert report["status"] != "pass"


def test_custom_output_refuses_folders_links_and_reserved_names(tmp_path):
    s = sdc.Session()
    with pytest.raises(SdcInputError, match="regular file"):
        s.custom_output(tmp_path, kind="folder")
    target = tmp_path / "t.txt"
    target.write_text("x")
    (tmp_path / "link.txt").symlink_to(target)
    with pytest.raises(SdcInputError, match="regular file"):
        s.custom_output(tmp_path / "link.txt", kind="link")
    with pytest.raises(SdcInputError, match="kind"):
        s.custom_output(target, kind="")
    report = tmp_path / "report.txt"
    report.write_text("x")
    s.custom_output(report, kind="text")
    with pytest.raises(SdcInputError, match="another file"):
        s.finalise(tmp_path / "req")


def test_custom_files_are_digested_like_every_file(passing, tmp_path):
    note = tmp_path / "n.txt"
    note.write_text("a caption")
    passing.custom_output(note, kind="caption")
    folder = finalise(passing, tmp_path / "req")
    manifest = json.loads((folder / "manifest.json").read_text())
    (f,) = [f for f in manifest["files"] if f["path"] == "n.txt"]
    assert f["sha256"] == hashlib.sha256(b"a caption").hexdigest() and f["kind"] == "custom"


def test_the_sacro_export_carries_the_exception_and_comments(tmp_path):
    from sdc.release.gate import check_request
    from sdc.release.sacro import export_sacro

    s = corpus.base_session()
    s.add_exception(corpus.MEANS, "Means over 15 or more patients each.")
    s.add_comment(corpus.MEANS, "Costs in pounds.")
    result = check_request(finalise(s, tmp_path / "req"), trust_unsigned=True)
    export_sacro(result, tmp_path / "acro")
    doc = json.loads((tmp_path / "acro" / "results.json").read_text())
    means = doc["results"][corpus.MEANS]
    assert means["exception"] == "Means over 15 or more patients each."
    assert "Costs in pounds." in means["comments"]
    assert doc["results"][corpus.COUNTS]["exception"] == ""
