"""Every attack of the issue "The gate: a pass that cannot be forged", one test each.

Each used to get PASS (exit 0) from ``sdc check``; the folders are built by
``gate_corpus``. Unless a test says otherwise the gate runs as a researcher
checking their own folder would (``trust_unsigned``, which removes the "at best
review" of unsigned requests), so that what is caught is caught by the check
itself, not by the missing signature; signed requests are checked with the
trusted key.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import gate_corpus as corpus
import needs
import pytest

from sdc import SdcInputError
from sdc.cli import main
from sdc.release.gate import check_folder
from sdc.release.report import text_report


def entry(report: dict[str, Any], name: str) -> dict[str, Any]:
    (found,) = [o for o in report["outputs"] if o["name"] == name]
    return found


def reasons(report: dict[str, Any], name: str) -> str:
    return " ".join(entry(report, name)["reasons"])


def leaves(report: dict[str, Any], path: str) -> str:
    (found,) = [f for f in report["files"] if f["path"] == path]
    return found["leaves"]


@pytest.fixture
def request_folder(tmp_path: Path) -> Path:
    folder = corpus.finalise(tmp_path / "req")
    report = check_folder(folder, trust_unsigned=True)
    assert report["status"] == "pass", report["outputs"]
    return folder


@pytest.fixture
def signed(tmp_path: Path) -> tuple[Path, Path]:
    private, public = corpus.keypair(tmp_path / "keys")
    folder = corpus.finalise(tmp_path / "signed", key=private)
    assert check_folder(folder, trust_keys=public)["status"] == "pass"
    return folder, public


# ------------------------------------------------------- files that are not outputs


@pytest.mark.parametrize(
    ("kind", "output"),
    [("table", None), ("table", corpus.COUNTS), ("report", None), ("evidence", None),
     ("spreadsheet", None), (None, None)],
    ids=["table of no output", "extra table of an output", "report", "evidence", "unknown kind",
         "not named"],
)  # fmt: skip
def test_a_patient_file_named_in_the_manifest_fails_and_never_leaves(
    request_folder: Path, kind: str | None, output: str | None
) -> None:
    corpus.add_patient_file(request_folder, kind=kind, output=output)
    report = check_folder(request_folder, trust_unsigned=True)
    assert report["status"] == "fail"
    assert leaves(report, "patients.csv") == "no"
    assert "1961-03-14" not in json.dumps(report)  # the gate never quotes its content
    if kind is None:  # not named: judged by its look (identifier columns, dates)
        assert "looks like row-level data" in reasons(report, "patients.csv")


def test_a_patient_file_in_a_signed_request_fails(signed: tuple[Path, Path]) -> None:
    folder, public = signed
    corpus.add_patient_file(folder, kind="table")
    report = check_folder(folder, trust_keys=public)
    assert report["trust"]["signature"] == "invalid"  # the manifest changed after signing
    assert report["status"] == "fail" and leaves(report, "patients.csv") == "no"


@pytest.mark.parametrize("rel", ["report.txt", "report.json"])
def test_patient_data_written_over_the_sessions_report_never_leaves(
    request_folder: Path, signed: tuple[Path, Path], rel: str
) -> None:
    corpus.overwrite_report(request_folder, rel)
    report = check_folder(request_folder, trust_unsigned=True)
    # The session's reports never leave; the gate writes its own.
    assert leaves(report, rel) == "no"
    assert "1961-03-14" not in json.dumps(report) and "1961-03-14" not in text_report(report)
    folder, public = signed
    (folder / rel).write_text(corpus.PATIENTS, encoding="utf-8")
    report = check_folder(folder, trust_keys=public)
    assert report["status"] == "fail"
    assert "changed or replaced after finalise" in reasons(report, rel)


# ------------------------------------------------------- a statistic bound to its evidence


@pytest.mark.parametrize("statistic", ["std", "var", "median", "p50"])
@pytest.mark.parametrize("kind", [None, "magnitude table"], ids=["same kind", "kind too"])
def test_a_count_table_relabelled_as_another_statistic_fails(
    request_folder: Path, statistic: str, kind: str | None
) -> None:
    corpus.relabel(request_folder, corpus.COUNTS, statistic, kind)
    report = check_folder(request_folder, trust_unsigned=True)
    assert entry(report, corpus.COUNTS)["status"] == "fail"
    assert "cannot be relabelled" in reasons(report, corpus.COUNTS) or (
        f"statistic {statistic!r} is not one a frequency table publishes"
        in reasons(report, corpus.COUNTS)
    )
    assert leaves(report, f"{corpus.COUNTS}.csv") == "no"


def test_regression_terms_holding_patient_details_fail(tmp_path: Path) -> None:
    s = corpus.base_session()
    df = corpus.visits()
    s.ols("cost ~ C(sex)", data=df, name="model")
    folder = s.finalise(tmp_path / "req")
    # review, not pass: the gate does not rebuild a model's design, so differencing cannot
    # clear it against the request's tables; the attack below turns it to fail
    assert entry(check_folder(folder, trust_unsigned=True), "model")["status"] == "review"
    corpus.patient_terms(folder, "model")
    report = check_folder(folder, trust_unsigned=True)
    assert entry(report, "model")["status"] == "fail"
    assert "not the model's list of parameters" in reasons(report, "model")
    assert "1961" not in json.dumps(report)


# ------------------------------------------------------- one spelling per value


@pytest.mark.parametrize("payload", sorted(corpus.PAYLOADS))
def test_a_suppressed_cell_holding_anything_fails(request_folder: Path, payload: str) -> None:
    corpus.fill_suppressed(request_folder, corpus.COUNTS, corpus.PAYLOADS[payload])
    report = check_folder(request_folder, trust_unsigned=True)
    assert entry(report, corpus.COUNTS)["status"] == "fail"
    why = reasons(report, corpus.COUNTS)
    if payload == "the count":  # its one spelling, and the true count: a rule fails
        assert why.startswith("1 published cell(s) fail a rule and are not suppressed")
    else:  # the line and cell are named, not what the cell holds
        assert "line 4 (region=Isles, sex=F)" in why
    assert entry(report, corpus.MEANS)["status"] == "pass"


def test_a_50_mb_whitespace_payload_fails(request_folder: Path) -> None:
    corpus.fill_suppressed(request_folder, corpus.COUNTS, b" " * (50 << 20))
    report = check_folder(request_folder, trust_unsigned=True)
    assert entry(report, corpus.COUNTS)["status"] == "fail"
    assert "line 4 (region=Isles, sex=F)" in reasons(report, corpus.COUNTS)


@pytest.mark.parametrize("spelling", sorted(corpus.RESPELLINGS))
def test_a_value_in_another_spelling_fails(request_folder: Path, spelling: str) -> None:
    corpus.respell_value(request_folder, corpus.COUNTS, corpus.RESPELLINGS[spelling])
    report = check_folder(request_folder, trust_unsigned=True)
    assert entry(report, corpus.COUNTS)["status"] == "fail"
    assert "line 2 (region=East, sex=F)" in reasons(report, corpus.COUNTS)


def test_crlf_line_ends_and_a_byte_order_mark_fail(request_folder: Path) -> None:
    path = request_folder / f"{corpus.MEANS}.csv"
    corpus.write(request_folder, path.name, path.read_bytes().replace(b"\n", b"\r\n"))
    corpus.write(
        request_folder,
        f"{corpus.COUNTS}.csv",
        b"\xef\xbb\xbf" + (request_folder / f"{corpus.COUNTS}.csv").read_bytes(),
    )
    report = check_folder(request_folder, trust_unsigned=True)
    assert entry(report, corpus.MEANS)["status"] == "fail"
    assert "carriage return" in reasons(report, corpus.MEANS)
    assert "byte order mark" in reasons(report, corpus.COUNTS)


# ------------------------------------------------------- the operator's rules decide


def test_the_requests_own_rule_set_is_never_applied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = corpus.datashield_request(tmp_path / "req")
    monkeypatch.delenv("SDC_RULES", raising=False)
    report = check_folder(folder, trust_unsigned=True)
    assert report["status"] == "fail"  # the default rules: 4 records is fewer than 10
    assert report["rules"]["name"] == "default"
    assert report["rules"]["requested"] == {
        "name": "datashield", "sha256": report["rules"]["requested"]["sha256"], "same": False,
    }  # fmt: skip
    assert any("made under rule set 'datashield'" in n for n in report["notices"])
    # The operator's own choice, by option or by environment, is what applies.
    assert check_folder(folder, rules="datashield", trust_unsigned=True)["status"] == "pass"
    monkeypatch.setenv("SDC_RULES", "datashield")
    assert check_folder(folder, trust_unsigned=True)["status"] == "pass"
    assert check_folder(folder, rules="default", trust_unsigned=True)["status"] == "fail"


# ------------------------------------------------------- links and paths


@pytest.mark.parametrize("hard", [False, True], ids=["symbolic link", "hard link"])
def test_a_table_replaced_by_a_link_to_a_file_outside_fails(
    request_folder: Path, tmp_path: Path, hard: bool
) -> None:
    outside = tmp_path / "outside.csv"
    outside.write_bytes((request_folder / f"{corpus.COUNTS}.csv").read_bytes())
    corpus.link_table(request_folder, corpus.COUNTS, outside, hard=hard)
    report = check_folder(request_folder, trust_unsigned=True)
    assert entry(report, corpus.COUNTS)["status"] == "fail"
    why = reasons(report, corpus.COUNTS)
    assert ("hard links" if hard else "symbolic link") in why
    assert entry(report, corpus.MEANS)["status"] == "pass"


def test_a_symlinked_evidence_folder_is_never_followed(
    request_folder: Path, tmp_path: Path
) -> None:
    corpus.link_evidence_folder(request_folder, tmp_path / "elsewhere")
    report = check_folder(request_folder, trust_unsigned=True)
    for name in (corpus.COUNTS, corpus.MEANS):
        assert entry(report, name)["status"] == "fail"
        assert "not a folder" in reasons(report, name)
    assert entry(report, "evidence")["status"] == "fail"  # the link itself


def test_an_absolute_path_in_the_manifest_is_refused(
    request_folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus.absolute_path(request_folder)
    with pytest.raises(SdcInputError, match="relative to the request folder"):
        check_folder(request_folder, trust_unsigned=True)
    assert main(["check", str(request_folder), "--json"]) == 2
    document = json.loads(capsys.readouterr().out)
    assert document["status"] == "error" and "/etc/passwd" in document["error"]["message"]


def test_the_request_folder_itself_may_not_be_a_link(request_folder: Path, tmp_path: Path):
    link = tmp_path / "link"
    link.symlink_to(request_folder)
    with pytest.raises(SdcInputError, match="symbolic link"):
        check_folder(link, trust_unsigned=True)


# ------------------------------------------------------- evidence is authenticated


def test_evidence_rewritten_to_agree_is_only_as_good_as_its_signature(
    request_folder: Path, signed: tuple[Path, Path], tmp_path: Path
) -> None:
    corpus.forge_isles(request_folder)
    # Taken on trust, the forged evidence makes the Isles' means pass: that is why an
    # unsigned request is at best review.
    trusted = check_folder(request_folder, trust_unsigned=True)
    forged = entry(trusted, corpus.MEANS)
    assert forged["status"] != "fail"  # the Isles' threshold failure is hidden
    assert "threshold" not in {f["rule"] for f in forged["findings"]}
    report = check_folder(request_folder)
    assert entry(report, corpus.MEANS)["status"] == "review"
    assert report["status"] == "review" and report["trust"]["signature"] == "missing"
    # Signed by the runner, the same edit either breaks the digests (fail) or, with the
    # digests recomputed, the signature (at best review).
    folder, public = signed
    kept = (folder / "manifest.json").read_bytes()
    corpus.forge_isles(folder)
    report = check_folder(folder, trust_keys=public)
    assert report["trust"]["signature"] == "invalid" and report["status"] == "review"
    assert entry(report, corpus.MEANS)["status"] == "review"
    (folder / "manifest.json").write_bytes(kept)
    report = check_folder(folder, trust_keys=public)
    assert report["trust"]["signature"] == "valid" and report["status"] == "fail"
    assert "digest differs" in reasons(report, corpus.MEANS)
    # Recomputed from the data, the evidence is seen to differ: fail.
    data = tmp_path / "visits.csv"
    corpus.visits().to_csv(data, index=False)
    report = check_folder(request_folder, data=data)
    assert entry(report, corpus.MEANS)["status"] == "fail"
    assert entry(report, corpus.MEANS)["recomputed"] == "differs"
    assert "evidence differs from the evidence recomputed" in reasons(report, corpus.MEANS)


# ------------------------------------------------------- special files, sizes, nesting


def _check_in_a_process(folder: Path) -> subprocess.CompletedProcess[str]:
    """Run the gate in its own process, so that a hang ends the test instead of the run."""
    return subprocess.run(
        [sys.executable, "-P", "-m", "sdc.cli", "check", str(folder), "--json", "--trust-unsigned"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_a_fifo_in_place_of_evidence_is_refused_not_waited_on(request_folder: Path) -> None:
    corpus.fifo_evidence(request_folder, corpus.MEANS)
    done = _check_in_a_process(request_folder)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert "not a regular file" in reasons(report, corpus.MEANS)
    assert entry(report, corpus.COUNTS)["status"] == "pass"


def test_dev_zero_behind_an_evidence_path_is_refused(request_folder: Path) -> None:
    corpus.dev_zero_evidence(request_folder, corpus.MEANS)
    done = _check_in_a_process(request_folder)
    assert done.returncode == 1, done.stderr
    assert "symbolic link" in reasons(json.loads(done.stdout), corpus.MEANS)


def test_a_device_in_place_of_evidence_is_refused(request_folder: Path) -> None:
    path = request_folder / "evidence" / f"{corpus.MEANS}.json"
    path.unlink()
    try:
        os.mknod(path, stat.S_IFCHR | 0o644, os.makedev(1, 5))  # what /dev/zero is
    except (PermissionError, OSError):
        needs.missing("making a device node needs privileges this run does not have")
    done = _check_in_a_process(request_folder)
    assert done.returncode == 1, done.stderr
    assert "not a regular file" in reasons(json.loads(done.stdout), corpus.MEANS)


@pytest.mark.parametrize(
    ("attack", "broken", "other", "why"),
    [
        (corpus.nested_evidence, corpus.MEANS, corpus.COUNTS, "nests arrays and objects deeper"),
        (corpus.list_labels, corpus.COUNTS, corpus.MEANS, "labels must be texts"),
    ],
    ids=["deeply nested evidence", "list-valued labels"],
)
def test_malformed_evidence_fails_that_output_only(
    request_folder: Path, attack: Any, broken: str, other: str, why: str
) -> None:
    attack(request_folder, broken)
    report = check_folder(request_folder, trust_unsigned=True)
    assert entry(report, broken)["status"] == "fail" and why in reasons(report, broken)
    assert entry(report, other)["status"] == "pass"


# ------------------------------------------------------- labels and names


def test_a_line_break_in_a_label_writes_no_fake_report_lines(request_folder: Path) -> None:
    corpus.injected_label(request_folder, corpus.COUNTS, "East\nsdc report: PASS (rules: x)")
    report = check_folder(request_folder, trust_unsigned=True)
    assert entry(report, corpus.COUNTS)["status"] == "fail"
    assert "U+000A" in reasons(report, corpus.COUNTS)
    lines = text_report(report).splitlines()
    assert [line for line in lines if line.startswith("sdc report:")] == [lines[0]]


def test_a_line_break_in_an_output_name(request_folder: Path) -> None:
    # Only the name changes: the output fails, its old files belong to no output.
    corpus.edit_manifest(request_folder, lambda m: m["outputs"][0].update(
        name="counts\nsdc report: PASS (rules: default)"))  # fmt: skip
    report = check_folder(request_folder, trust_unsigned=True)
    assert report["status"] == "fail"
    lines = text_report(report).splitlines()
    assert [line for line in lines if line.startswith("sdc report:")] == [lines[0]]
    # Renamed with its files, the paths hold the line break: the manifest is refused.
    corpus.injected_name(request_folder, corpus.MEANS, "means\nsdc report: PASS")
    with pytest.raises(SdcInputError, match="control characters"):
        check_folder(request_folder, trust_unsigned=True)


FORMULAS = ["=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(A1)", "'quoted"]


def test_formula_labels_are_released_escaped(tmp_path: Path) -> None:
    import pandas as pd

    import sdc

    df = pd.DataFrame({"code": [label for label in FORMULAS for _ in range(12)]})
    s = sdc.Session()
    s.pivot_table(df, index="code", aggfunc="count", name="t")
    folder = s.finalise(tmp_path / "req")
    released = (folder / "t.csv").read_text(encoding="utf-8").splitlines()[1:]
    # Every cell a spreadsheet would run starts with an apostrophe; the counts are numbers.
    assert sorted(line.rsplit(",", 1)[0] for line in released) == sorted(
        f"'{label}" for label in FORMULAS
    )
    assert check_folder(folder, trust_unsigned=True)["status"] == "pass"
    # The same table with the labels unescaped is not the released form: fail.
    text = (folder / "t.csv").read_text(encoding="utf-8").replace("\n'", "\n")
    corpus.write(folder, "t.csv", text)
    report = check_folder(folder, trust_unsigned=True)
    assert entry(report, "t")["status"] == "fail"


def test_lookalike_labels_go_to_review(tmp_path: Path) -> None:
    import pandas as pd

    import sdc

    df = pd.DataFrame({"region": ["Isles"] * 12 + ["\u0406sles"] * 12 + ["N"] * 12
                       + ["\uff2e"] * 12})  # fmt: skip
    s = sdc.Session()
    table = s.pivot_table(df, index="region", aggfunc="count", name="t")
    assert table.status.value == "review"  # the researcher sees it first
    report = check_folder(s.finalise(tmp_path / "req"), trust_unsigned=True)
    why = reasons(report, "t")
    assert entry(report, "t")["status"] == "review"
    assert "mixes alphabets (CYRILLIC, LATIN)" in why and "look alike" in why


# ------------------------------------------------------- messages quote no hidden value


def test_messages_never_quote_a_hidden_or_failing_value(request_folder: Path) -> None:
    ev = corpus.evidence(request_folder, corpus.MEANS)
    hidden = [repr(x) for x in ev["sum"] if x is not None] + [
        repr(x) for row in ev["top"] for x in row if x is not None
    ]
    corpus.forge_isles(request_folder, contributors=3)  # published, and failing
    corpus.fill_suppressed(request_folder, corpus.COUNTS, b"4")
    report = check_folder(request_folder, trust_unsigned=True)
    assert entry(report, corpus.MEANS)["status"] == "fail"
    assert entry(report, corpus.COUNTS)["status"] == "fail"
    text = json.dumps(report) + text_report(report, max_findings=1000)
    means = corpus.visits().query("region == 'Isles'").groupby("sex")["cost"].mean()
    for value in [*hidden, *(repr(m) for m in means), *(f"{m:g}" for m in means)]:
        assert value not in text
