"""Reading a request folder: regular files only, never through a link, within the caps.

The gate's caps are the rule set's ``[gate]`` section: checked like every other
section (unknown keys raise), and each enforced on a request built to break it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import gate_corpus as corpus
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sdc.caps import GateParams
from sdc.exceptions import SdcRefusedFile, SdcRuleSetError
from sdc.release.gate import check_folder
from sdc.release.safe_read import RequestFolder, parse_json, relative_path
from sdc.ruleset import RuleSet


@pytest.mark.parametrize(
    "path",
    ["/etc/passwd", "../x", "a/../b", "./a", "a//b", "a/", "", "a\\b", "a\nb", "a\x00b",
     "x" * 300, "a/" * 600 + "b"],
)  # fmt: skip
def test_unsafe_paths_are_refused(path: str) -> None:
    with pytest.raises(SdcRefusedFile):
        relative_path(path)


@given(st.lists(st.sampled_from(["a", "b.csv", "..", ".", "", "evidence", "c d"]), min_size=1,
                max_size=5))  # fmt: skip
def test_a_path_is_accepted_only_without_dot_parts(parts: list[str]) -> None:
    path = "/".join(parts)
    ok = all(p not in ("", ".", "..") for p in parts)
    if ok:
        assert relative_path(path) == path
    else:
        with pytest.raises(SdcRefusedFile):
            relative_path(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "req"
    (root / "sub").mkdir(parents=True)
    (root / "a.csv").write_text("a\n")
    (root / "sub" / "b.csv").write_text("b\n")
    return root


def test_regular_files_are_read(folder: Path) -> None:
    with RequestFolder(folder, GateParams()) as request:
        assert request.read("a.csv") == b"a\n" and request.read("sub/b.csv") == b"b\n"
        assert [(e.path, e.kind) for e in request.entries()] == [
            ("a.csv", "file"), ("sub", "folder"), ("sub/b.csv", "file")]  # fmt: skip


def test_links_and_special_files_are_refused(folder: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "b.csv").write_text("secret\n")
    (folder / "link.csv").symlink_to(outside / "b.csv")
    (folder / "dir").symlink_to(outside)
    os.link(outside / "b.csv", folder / "hard.csv")
    os.mkfifo(folder / "fifo")
    with RequestFolder(folder, GateParams()) as request:
        for rel, why in [("link.csv", "symbolic link"), ("dir/b.csv", "not a folder"),
                         ("hard.csv", "hard links"), ("fifo", "not a regular file"),
                         ("missing.csv", "missing"), ("sub", "a folder")]:  # fmt: skip
            with pytest.raises(SdcRefusedFile, match=why):
                request.read(rel)
        kinds = {e.path: e.kind for e in request.entries()}
    assert kinds["link.csv"] == kinds["dir"] == "link" and kinds["fifo"] == "special"
    assert "dir/b.csv" not in kinds  # a linked folder is never entered


def test_caps_on_bytes_and_on_the_total(folder: Path) -> None:
    (folder / "big.csv").write_bytes(b"x" * 5000)
    with RequestFolder(folder, GateParams(max_file_bytes=4096)) as request:
        with pytest.raises(SdcRefusedFile, match="over the gate's cap of 4,096"):
            request.read("big.csv")
        assert request.read("big.csv", head=True) == b"x" * 4096
    with RequestFolder(folder, GateParams(max_total_bytes=1024)) as request:
        request.read("a.csv")
        (folder / "c.csv").write_bytes(b"x" * 1023)
        with pytest.raises(SdcRefusedFile, match="in total"):
            request.read("c.csv")


def test_json_is_read_strictly() -> None:
    for data, why in [
        (b'{"a": NaN}', "NaN"),
        (b'{"a": Infinity}', "Infinity"),
        (b'{"a": 1, "a": 2}', "twice"),
        (b'["\\ud800"]', "surrogate"),
        (b"[" * 5000 + b"]" * 5000, "deeper"),
        (b"\xff", "UTF-8"),
        (b"{", "not valid JSON"),
    ]:
        with pytest.raises(SdcRefusedFile, match=why):
            parse_json(data, 32)
    assert parse_json(json.dumps([[[1]]]).encode(), 3) == [[[1]]]
    with pytest.raises(SdcRefusedFile, match="deeper than 2"):
        parse_json(json.dumps([[[1]]]).encode(), 2)


# ------------------------------------------------------------------ the [gate] section


def test_the_gate_section_is_checked_like_every_other() -> None:
    rs = RuleSet.from_toml('extends = "default"\n[gate]\nmax_cells = 1000\n')
    assert rs.gate.max_cells == 1000 and rs.to_dict()["gate"]["max_cells"] == 1000
    assert RuleSet.from_toml(rs.to_toml()).gate == rs.gate
    for bad, named in [("max_cell = 5", "max_cell"), ("max_cells = 0", "max_cells"),
                       ("max_json_depth = 1000", "max_json_depth"),
                       ('max_file_bytes = "1M"', "max_file_bytes")]:  # fmt: skip
        with pytest.raises(SdcRuleSetError, match=named):
            RuleSet.from_toml(f'extends = "default"\n[gate]\n{bad}\n')


def _rules(tmp_path: Path, **caps: int) -> Path:
    path = tmp_path / "gate.toml"
    lines = [f"{k} = {v}" for k, v in caps.items()]
    path.write_text('extends = "default"\n[gate]\n' + "\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    ("cap", "why"),
    [
        ("max_file_bytes", "over the gate's cap"),
        ("max_cells", "more than 12 fields"),
        ("max_json_depth", "deeper than 12"),
    ],
)
def test_a_request_over_a_cap_fails_the_output_that_breaks_it(
    tmp_path: Path, cap: str, why: str
) -> None:
    folder = corpus.finalise(tmp_path / "req")
    ev = corpus.evidence(folder, corpus.MEANS)
    if cap == "max_json_depth":  # evidence nested deeper than finalise writes
        ev["top"] = [[[[[[[[[[[[row]]]]]]]]]]] for row in ev["top"]]
        value = 12
    text = json.dumps(ev) + " " * 50_000 if cap == "max_file_bytes" else json.dumps(ev)
    corpus.write(folder, f"evidence/{corpus.MEANS}.json", text)
    if cap == "max_file_bytes":
        value = (folder / "manifest.json").stat().st_size + 1000
    if cap == "max_cells":  # the count table has 4 x 2 cells: 27 fields with its header
        value = 12
    report = check_folder(folder, rules=_rules(tmp_path, **{cap: value}), trust_unsigned=True)
    status = {o["name"]: o for o in report["outputs"]}
    broken = corpus.COUNTS if cap == "max_cells" else corpus.MEANS
    assert status[broken]["status"] == "fail" and why in " ".join(status[broken]["reasons"])


def test_too_many_files_is_a_refusal(tmp_path: Path) -> None:
    folder = corpus.finalise(tmp_path / "req")
    for i in range(20):
        (folder / f"junk{i}.txt").write_text("x")
    with pytest.raises(SdcRefusedFile, match="max_files"):
        check_folder(folder, rules=_rules(tmp_path, max_files=10), trust_unsigned=True)


def test_folders_deeper_than_the_cap_are_not_entered(tmp_path: Path) -> None:
    folder = corpus.finalise(tmp_path / "req")
    deep = folder / "a" / "b" / "c"
    deep.mkdir(parents=True)
    (deep / "patients.csv").write_text(corpus.PATIENTS)
    report = check_folder(folder, rules=_rules(tmp_path, max_folder_depth=2),
                          trust_unsigned=True)  # fmt: skip
    (entry,) = [o for o in report["outputs"] if o["name"] == "a/b"]
    assert entry["status"] == "fail" and "nested deeper" in entry["reasons"][0]
    report = check_folder(folder, trust_unsigned=True)
    (entry,) = [o for o in report["outputs"] if o["name"] == "a/b/c/patients.csv"]
    assert entry["status"] == "fail" and "row-level" in entry["reasons"][0]
