"""``sdc release``: re-check, decide, and write the egress folder, on both registry backends.

What leaves is compared with the request folder byte for byte (the files the gate
checked) and with the registry's record of the release (digest of every file);
refusals and rejections leave no egress folder and no release.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from postgres_server import new_registry_url
from release_cases import release, request_folder, run, tree

from sdc.release.registry import open_registry


@pytest.fixture(params=["sqlite", "postgresql"])
def registry_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with new_registry_url(request.param, tmp_path) as url:
        yield url


def _registry(url: str) -> tuple[list[str], list[tuple[str, str]]]:
    """Released request ids, and (checker, action) of every decision, from the registry."""
    with open_registry(url, create=False) as reg:
        assert reg.verify().valid
        released = [r.request_id for r in reg.releases()]
        decisions = []
        for e in reg.audit_entries():
            if e.action == "decision":
                d = json.loads(e.payload)
                decisions.append((d["checker"], d["action"]))
        return released, decisions


def test_an_approval_writes_the_released_files_and_records_them(
    registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = request_folder(tmp_path, failing=True)
    egress = tmp_path / "egress"
    code, doc = release(folder, registry_url, "bob", "approve", "checked", egress, capsys,
                        "--trust-unsigned")  # fmt: skip
    assert code == 0 and doc["state"]["state"] == "released" and doc["released"]
    written = tree(egress)
    # the passing outputs' files, copied byte for byte, and the summary; never the failing one
    assert sorted(written) == ["counts.csv", "means.csv", "release.json"]
    for name in ("counts.csv", "means.csv"):
        assert written[name] == (folder / name).read_bytes()
    summary = json.loads(written["release.json"])
    verdicts = {o["name"]: (o["verdict"], o["leaves"]) for o in summary["outputs"]}
    assert verdicts == {"counts": ("pass", True), "means": ("pass", True), "raw": ("fail", False)}
    # the registry holds the digest of every file that left
    with open_registry(registry_url, create=False) as reg:
        rel = reg.request(doc["request_id"]).release
        assert rel is not None
        recorded = {p: s for f in rel.files.values() for p, s in f.items()} | rel.other_files
    assert recorded == {p: hashlib.sha256(b).hexdigest() for p, b in written.items()}
    assert _registry(registry_url) == ([doc["request_id"]], [("bob", "approve")])


def test_the_author_never_approves_and_a_refusal_records_nothing(
    registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = request_folder(tmp_path)
    egress = tmp_path / "egress"
    code, doc = release(folder, registry_url, " Alice", "approve", "mine", egress, capsys,
                        "--trust-unsigned")  # fmt: skip
    assert code == 2 and doc["error"]["kind"] == "refused" and "may not approve" in str(doc)
    assert not egress.exists() and _registry(registry_url) == ([], [])


def test_two_approvers_the_first_approval_waits(
    registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rules = tmp_path / "two.toml"
    rules.write_text('extends = "default"\nname = "two"\n[release]\napprovers = 2\n')
    folder = request_folder(tmp_path)
    egress = tmp_path / "egress"
    opts = ("--trust-unsigned", "--rules", str(rules))
    code, doc = release(folder, registry_url, "bob", "approve", "ok", egress, capsys, *opts)
    assert code == 3 and doc["state"]["awaiting"] == 1 and not egress.exists()
    code, doc = release(folder, registry_url, "BOB", "approve", "again", egress, capsys, *opts)
    assert code == 2 and "second approval" in doc["error"]["message"]
    code, doc = release(folder, registry_url, "carol", "approve", "ok", egress, capsys, *opts)
    assert code == 0 and doc["state"]["approvers"] == ["bob", "carol"]
    assert sorted(tree(egress)) == ["counts.csv", "means.csv", "release.json"]
    assert json.loads((egress / "release.json").read_text())["approved_by"] == ["bob", "carol"]
    code, doc = release(folder, registry_url, "dave", "reject", "late", None, capsys, *opts)
    assert code == 2 and "released already" in doc["error"]["message"]


def test_a_rejection_is_recorded_and_writes_nothing(
    registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = request_folder(tmp_path)
    code, doc = release(folder, registry_url, "bob", "reject", "too small", None, capsys,
                        "--trust-unsigned")  # fmt: skip
    assert code == 0 and doc["state"]["state"] == "rejected" and not doc["released"]
    egress = tmp_path / "egress"
    code, doc = release(folder, registry_url, "carol", "approve", "fine", egress, capsys,
                        "--trust-unsigned")  # fmt: skip
    assert code == 2 and "rejected" in doc["error"]["message"] and not egress.exists()
    assert _registry(registry_url) == ([], [("bob", "reject")])


def test_review_outputs_leave_only_when_the_reason_names_them(
    registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Unsigned and not trusted: every output is review; the approval names one."""
    folder = request_folder(tmp_path)
    egress = tmp_path / "egress"
    code, doc = release(folder, registry_url, "bob", "approve", "means: checked by hand",
                        egress, capsys)  # fmt: skip
    assert code == 0 and doc["decision"]["covers"] == ["means"]
    assert sorted(tree(egress)) == ["means.csv", "release.json"]
    summary = json.loads((egress / "release.json").read_text())
    left = {o["name"]: (o["verdict"], o["leaves"], o["why_not"]) for o in summary["outputs"]}
    assert left == {"counts": ("review", False, "it needs review and no approval names it"),
                    "means": ("review", True, None)}  # fmt: skip


def test_an_approval_of_which_nothing_may_leave_is_refused(
    registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = request_folder(tmp_path)
    egress = tmp_path / "egress"
    code, doc = release(folder, registry_url, "bob", "approve", "fine", egress, capsys)
    assert code == 1 and doc["error"]["kind"] == "refused" and "nothing of request" in str(doc)
    assert not egress.exists() and _registry(registry_url) == ([], [])


def test_an_existing_egress_folder_is_refused_before_anything_is_recorded(
    registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = request_folder(tmp_path)
    egress = tmp_path / "egress"
    egress.mkdir()
    code, doc = release(folder, registry_url, "bob", "approve", "ok", egress, capsys,
                        "--trust-unsigned")  # fmt: skip
    assert code == 2 and "exists already" in doc["error"]["message"]
    assert list(egress.iterdir()) == [] and _registry(registry_url) == ([], [])
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "nowhere")
    code, doc = release(folder, registry_url, "bob", "approve", "ok", link, capsys,
                        "--trust-unsigned")  # fmt: skip
    assert code == 2 and not (tmp_path / "nowhere").exists()


def test_a_request_without_an_author_cannot_be_approved(
    registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    monkeypatch.delenv("SDC_AUTHOR", raising=False)
    folder = request_folder(tmp_path, author=None)
    egress = tmp_path / "egress"
    code, doc = release(folder, registry_url, "bob", "approve", "ok", egress, capsys,
                        "--trust-unsigned")  # fmt: skip
    assert code == 2 and "records no author" in doc["error"]["message"]
    code, doc = release(folder, registry_url, "bob", "request-changes", "who made it?", None,
                        capsys, "--trust-unsigned")  # fmt: skip
    assert code == 0 and doc["state"]["state"] == "changes-requested"


def test_a_changed_request_is_a_new_request(
    registry_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An edited file under the same manifest fails at the gate and never leaves; a request
    finalised again with other content has another manifest digest: another request."""
    folder = request_folder(tmp_path)
    csv = folder / "means.csv"
    csv.write_text(csv.read_text().replace("M,", "M,1"))
    egress = tmp_path / "egress"
    code, doc = release(folder, registry_url, "bob", "approve", "ok", egress, capsys,
                        "--trust-unsigned")  # fmt: skip
    assert code == 0 and sorted(tree(egress)) == ["counts.csv", "release.json"]
    again = request_folder(tmp_path, name="req2", failing=True)
    code, doc2 = release(again, registry_url, "bob", "approve", "ok", tmp_path / "egress2",
                         capsys, "--trust-unsigned")  # fmt: skip
    assert code == 0 and doc2["request_id"] != doc["request_id"]


def test_usage_errors_print_one_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = request_folder(tmp_path)
    url = f"sqlite:///{tmp_path}/r.db"
    code, doc = run(["release", str(folder), "--registry", url, "--by", "bob", "--approve",
                     "--reject", "--reason", "x"], capsys)  # fmt: skip
    assert code == 2 and doc["error"]["kind"] == "usage"
    code, doc = run(["release", str(folder), "--registry", url, "--by", "bob", "--approve",
                     "--reason", "x"], capsys)  # fmt: skip
    assert code == 2 and "--out" in doc["error"]["message"]
    code, doc = run(["release", str(folder), "--registry", url, "--by", "bob", "--reject",
                     "--reason", " ", "--out", str(tmp_path / "e")], capsys)  # fmt: skip
    assert code == 2 and not (tmp_path / "e").exists()


def test_check_writes_the_html_report_with_what_would_leave(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = request_folder(tmp_path, failing=True)
    page = tmp_path / "report.html"
    code, doc = run(["check", str(folder), "--rules", "default", "--trust-unsigned", "--report",
                     str(page)], capsys)  # fmt: skip
    assert code == 1 and doc["status"] == "fail"
    html = page.read_text()
    section = html[html.index('<section id="release">') :]
    section = section[: section.index("</section>")]
    assert "counts.csv" in section and "means.csv" in section and "raw.csv" not in section
    assert "Release summary" in section and "Inside the TRE only" in html


def test_a_release_waits_for_the_one_in_progress(registry_url: str, tmp_path: Path) -> None:
    """``sdc release`` holds the registry's release lock from its check to its release: while
    another holds it, it waits, and it goes on once that one is done."""
    import threading
    import time

    from sdc.release.workflow import release_request

    folder = request_folder(tmp_path)
    done: list[dict] = []

    def go() -> None:
        done.append(release_request(folder, registry=registry_url, by="bob", action="approve",
                                    reason="checked", out=tmp_path / "egress",
                                    trust_unsigned=True))  # fmt: skip

    with open_registry(registry_url) as other, other.releasing():
        worker = threading.Thread(target=go)
        worker.start()
        time.sleep(1.0)
        assert not done and not (tmp_path / "egress").exists()  # waiting for the lock
    worker.join(timeout=60)
    assert done and done[0]["released"] and (tmp_path / "egress" / "release.json").exists()
