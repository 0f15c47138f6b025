"""``--json``: stdout holds exactly one JSON document, for every command and every outcome.

Reports follow ``report-v1.json``; usage, input and internal errors, help, and the
commands that check nothing (``rules``, ``keygen``) follow ``error-v1.json``. Whatever
a library prints (Python or native code) goes to stderr; a closed stdout ends the
command quietly with exit code 141, never with a verdict.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import gate_corpus as corpus
import jsonschema
import pytest

import sdc.release.gate
from sdc.cli import EXIT_PIPE, main
from sdc.release.report import error_schema, report_schema

REPORT = jsonschema.Draft202012Validator(report_schema())
DOCUMENT = jsonschema.Draft202012Validator(error_schema())


def one_document(out: str) -> dict:
    """The one JSON document on stdout, valid against its schema."""
    document = json.loads(out)  # raises if there is anything else on stdout
    assert isinstance(document, dict)
    (REPORT if "outputs" in document else DOCUMENT).validate(document)
    return document


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli")
    data = root / "visits.csv"
    corpus.visits().to_csv(data, index=False)
    request = corpus.finalise(root / "req")
    return {"root": root, "data": data, "request": request}


def _argvs(files: dict[str, Path]) -> dict[str, list[str]]:
    data, req, root = str(files["data"]), str(files["request"]), files["root"]
    return {
        "check": ["check", req],
        "check trusted": ["check", req, "--trust-unsigned"],
        "check with data": ["check", req, "--data", data],
        "crosstab": ["crosstab", data, "--index", "region"],
        "protect": ["protect", data, "--index", "region", "--columns", "sex"],
        "rules list": ["rules", "list"],
        "rules show": ["rules", "show", "acro"],
        "example": ["example"],
        "keygen": ["keygen", str(root / "k.key"), str(root / "k.pub")],
        "usage: no command": [],
        "usage: unknown command": ["frobnicate"],
        "usage: unknown option": ["check", req, "--bogus"],
        "usage: check without folder": ["check"],
        "input: unknown preset": ["rules", "show", "acr0"],
        "input: missing data": ["crosstab", str(root / "nope.csv"), "--index", "region"],
        "input: not a request": ["check", str(root)],
        "input: key exists": ["keygen", str(data), str(root / "x.pub")],
        "input: missing model": ["check-model", str(root / "nope.joblib")],
        "help": ["--help"],
        "command help": ["check", "--help"],
    }


ARGVS = list(_argvs({"root": Path("r"), "data": Path("d"), "request": Path("q")}))


@pytest.mark.parametrize("case", ARGVS)
def test_every_command_prints_one_json_document(
    case: str, files: dict[str, Path], capfd: pytest.CaptureFixture[str]
) -> None:
    argv = _argvs(files)[case]
    code = main([*argv, "--json"])
    out, err = capfd.readouterr()
    document = one_document(out)
    if case.startswith(("usage", "input")):
        assert code == 2 and document["status"] == "error"
        assert document["error"]["kind"] == case.split(":")[0]
        assert err.startswith("sdc: error: ") and err.count("\n") == 1
    elif "help" in case:
        assert code == 0 and document["status"] == "help" and "usage:" in document["help"]
    else:
        assert code in (0, 1, 3) and err == ""
        if "outputs" in document and case != "example":  # example exits 0 unless --strict
            assert code == {"pass": 0, "fail": 1, "review": 3}[document["status"]]


def test_an_internal_error_is_a_fail_document(
    files: dict[str, Path], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> dict:
        raise RuntimeError("the gate broke")

    monkeypatch.setattr(sdc.release.gate, "check_folder", broken)
    code = main(["check", str(files["request"]), "--json"])
    out, err = capfd.readouterr()
    document = one_document(out)
    assert code == 1 and document["status"] == "fail" and document["exit_code"] == 1
    assert document["error"] == {
        "kind": "internal",
        "message": "internal error (RuntimeError): the gate broke; verdict: fail",
    }
    assert "Traceback" not in err


def test_what_libraries_print_never_reaches_stdout(
    files: dict[str, Path], capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    real = sdc.release.gate.check_folder

    def noisy(*args: object, **kwargs: object) -> dict:
        print("a library's print")
        sys.stdout.write("a write to sys.stdout\n")
        os.write(1, b"native code writing to file descriptor 1\n")
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(sdc.release.gate, "check_folder", noisy)
    code = main(["check", str(files["request"]), "--json"])
    out, err = capfd.readouterr()
    assert code == 3 and one_document(out)["status"] == "review"
    assert "a library's print" in err and "sys.stdout" in err and "native code" in err
    code = main(["check", str(files["request"])])  # the text report: the same holds
    out, err = capfd.readouterr()
    assert code == 3 and out.startswith("sdc report: REVIEW")
    assert "library" not in out and "native" not in out and "native code" in err


def _sdc(*argv: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-P", "-m", "sdc.cli", *argv], capture_output=True, text=True, timeout=300,
        check=False, **kwargs,  # type: ignore[arg-type]
    )  # fmt: skip


def test_the_solvers_banner_never_precedes_the_json(files: dict[str, Path]) -> None:
    """``protect`` runs HiGHS (secondary suppression and audit) in a fresh process."""
    done = _sdc("protect", str(files["data"]), "--index", "region", "--columns", "sex", "--json")
    assert done.returncode in (0, 1, 3), done.stderr
    report = one_document(done.stdout)
    assert report["outputs"][0]["protected"] is True
    assert "HiGHS" not in done.stdout


@pytest.mark.parametrize("json_flag", [True, False], ids=["json", "text"])
def test_a_closed_pipe_is_not_a_verdict(files: dict[str, Path], json_flag: bool) -> None:
    argv = [sys.executable, "-P", "-m", "sdc.cli", "check", str(files["request"])]
    proc = subprocess.Popen(
        [*argv, *(["--json"] if json_flag else [])],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader has gone before anything was written (| head -0)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=300) == EXIT_PIPE
    assert "Traceback" not in err and "fail" not in err and "error" not in err


def test_a_usage_error_in_a_fresh_process(files: dict[str, Path]) -> None:
    done = _sdc("check", str(files["request"]), "--bogus", "--json")
    assert done.returncode == 2
    document = one_document(done.stdout)
    assert document["error"]["kind"] == "usage" and "--bogus" in document["error"]["message"]
    assert done.stderr.count("\n") == 1


def test_an_argument_that_is_not_text_is_an_input_error(files: dict[str, Path]) -> None:
    """Bytes that are not UTF-8 on the command line (an author, a reason, a path) are
    refused before anything runs: a registry could not record them."""
    done = subprocess.run(
        [sys.executable, "-P", "-m", "sdc.cli", "check", str(files["request"]).encode(),
         b"--rules", b"def\xffault", b"--json"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    document = one_document(done.stdout)
    assert document["error"]["kind"] == "input"
    assert "argument 4" in document["error"]["message"] and "UTF-8" in done.stderr


def test_json_after_a_double_dash_is_an_argument() -> None:
    """``--json`` only counts as the option before ``--``."""
    from sdc.cli import _run

    outcome = _run(["rules", "show", "--", "--json"])
    assert outcome.code == 2 and "--json" in outcome.error


def test_rules_documents(capfd: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "list", "--json"]) == 0
    listed = one_document(capfd.readouterr().out)
    assert [p["name"] for p in listed["presets"]] == ["acro", "datashield", "default",
                                                       "opensafely"]  # fmt: skip
    assert main(["rules", "show", "default", "--json"]) == 0
    shown = one_document(capfd.readouterr().out)
    assert shown["rules"]["gate"]["max_json_depth"] == 32
