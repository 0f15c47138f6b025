"""``sdc history`` and ``sdc audit verify``, added to a fresh parser as ``sdc`` will add them.

Exit codes: history 0 / 2; audit verify 0 valid, 1 broken, 2 unreadable or misused.
With ``--json`` stdout is exactly one JSON document in every case.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import new_registry_url
from registry_cases import approve, record_release, request, sha

from sdc.cli import main
from sdc.release.registry import Decision, open_registry
from sdc.release.registry.commands import add_commands


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_registry_url(request.param, tmp_path) as url:
        yield url


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run as ``sdc`` does: exit code, stdout, stderr."""
    code = main(argv)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def history(registry_url: str) -> str:
    with open_registry(registry_url) as reg:
        record_release(reg, "r1", author="alice", checker="bob")
        two = request("r2", verdicts={"visits": "pass", "rates": "review"}, required=2)
        reg.decide(two, approve("r2", "bob"))
    return registry_url


def test_history_lists_releases(history: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["history", "--registry", history], capsys)
    assert code == 0
    header, row = out.strip().splitlines()
    assert header.split()[:3] == ["entry", "request", "released"]
    assert row.split()[:2] == ["3", "r1"] and row.rstrip().endswith("visits")
    code, out, _ = run(["history", "--registry", history, "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and doc["status"] == "ok"
    assert [(r["request_id"], r["approvers"], r["outputs"]) for r in doc["releases"]] == [
        ("r1", ["bob"], ["visits"])
    ]


def test_history_shows_one_request_in_full(
    history: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(["history", "--registry", history, "--request", "r1", "--json"], capsys)
    doc = json.loads(out)["request"]
    assert code == 0
    assert (doc["author"], doc["state"], doc["manifest_digest"]) == (
        "alice",
        "released",
        sha("manifest r1"),
    )
    assert doc["release"]["files"] == {"visits": {"visits.csv": sha("r1/visits.csv")}}
    assert [d["checker"] for d in doc["decisions"]] == ["bob"]
    code, out, _ = run(["history", "--registry", history, "--request", "r2"], capsys)
    assert code == 0
    assert "request r2: pending (awaiting 1 more approval(s))" in out
    assert "rates (table): review" in out and "bob approve" in out


def test_history_of_an_unknown_request_or_registry(
    history: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["history", "--registry", history, "--request", "nope", "--json"], capsys)
    assert code == 2 and json.loads(out)["status"] == "error" and "'nope'" in err
    missing = f"sqlite:///{tmp_path}/none.db"
    code, out, err = run(["history", "--registry", missing], capsys)
    assert code == 2 and out == "" and "does not exist" in err
    assert not (tmp_path / "none.db").exists()  # a reader creates nothing


def test_audit_verify(history: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["audit", "verify", "--registry", history], capsys)
    assert code == 0 and out.startswith("audit log valid: 5 entries")
    code, out, _ = run(["audit", "verify", "--registry", history, "--json"], capsys)
    doc = json.loads(out)
    assert code == 0 and (doc["status"], doc["entries"], doc["first_broken"]) == ("valid", 5, None)
    with open_registry(history) as reg:
        assert doc["head"] == {"seq": 5, "hash": reg.head()[1]}
        if reg._d.name == "sqlite":
            reg._q("DROP TRIGGER decisions_no_update")
        else:
            reg._q("DROP FUNCTION sdc_append_only() CASCADE")
        reg._q("UPDATE decisions SET reason = 'approved by the board' WHERE audit_seq = 2")
    code, out, _ = run(["audit", "verify", "--registry", history], capsys)
    assert code == 1 and out.startswith("audit log broken at entry 2:")
    code, out, _ = run(["audit", "verify", "--json", "--registry", history], capsys)
    doc = json.loads(out)
    assert code == 1 and (doc["status"], doc["first_broken"]) == ("broken", 2)
    assert "decision record" in doc["problem"]


@pytest.mark.parametrize(
    "argv",
    [
        ["audit", "verify", "--json"],  # no registry
        ["audit", "verify", "--json", "--registry", "mysql://x"],  # not a registry URL
        ["audit", "verify", "--json", "--registry", "sqlite:///{tmp}/none.db"],  # missing
        ["audit", "verify", "--json", "--registry", "sqlite:///{tmp}/junk.db"],  # unreadable
        ["audit", "verify", "--json", "--registry", "x", "--bogus"],  # unknown option
        ["audit", "--json"],  # no action
        ["history", "--json", "--registry"],  # option without its value
        ["history", "--json", "--registry", "sqlite:///{tmp}/junk.db"],
    ],
)
def test_json_is_one_document_whatever_happens(
    argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
    code, out, err = run([a.replace("{tmp}", str(tmp_path)) for a in argv], capsys)
    assert code == 2
    doc = json.loads(out)  # exactly one document: json.loads refuses trailing text
    assert doc["status"] == "error" and doc["error"] and err.startswith("sdc: error")


def test_without_json_usage_errors_stay_on_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["audit", "verify", "--bogus"], capsys)
    assert code == 2 and out == "" and "unrecognized arguments: --bogus" in err


def test_commands_plug_into_any_parser(tmp_path: Path) -> None:
    """A plain argparse parser works too: the commands need nothing from ``sdc``'s."""
    url = f"sqlite:///{tmp_path}/registry.db"
    with open_registry(url) as reg:
        reg.decide(request("r1"), Decision("r1", "bob", "reject", "cell S is 2"))
    parser = argparse.ArgumentParser()
    add_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["history", "--registry", url])
    code, doc, text = args.func(args)
    assert (code, doc["releases"], text) == (0, [], f"no releases in {url}")
