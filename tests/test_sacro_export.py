"""``sdc export-sacro``: a request in the ``results.json`` layout ACRO writes.

The default tests check the layout against the one ACRO 1.0.2's ``finalise`` writes
(its keys, as read from ``acro/record.py``'s ``finalise_json`` and a results file it
wrote), the files against the request's checked values, and that nothing failing is
exported. The peer test runs ACRO 1.0.2 itself (its own virtual environment,
``bash benchmarks/peers/setup_acro_venv.sh``) and compares the two files' layouts.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from release_cases import request_folder, run, visits

from sdc.canonical import read_csv

ROOT = Path(__file__).resolve().parents[1]
ACRO_PYTHON = ROOT / "benchmarks" / ".venv-acro" / "bin" / "python"
#: The keys of one output in ACRO 1.0.2's results.json (``Records.finalise_json``).
ACRO_KEYS = {"uid", "status", "type", "properties", "files", "outcome", "command", "summary",
             "timestamp", "comments", "exception"}  # fmt: skip


def _export(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, dict]:
    folder = request_folder(tmp_path, failing=True)
    code, doc = run(["export-sacro", str(folder), str(tmp_path / "sacro"), "--rules", "default",
                     "--trust-unsigned"], capsys)  # fmt: skip
    assert code == 0 and doc["status"] == "ok"
    return folder, json.loads((tmp_path / "sacro" / "results.json").read_text())


def test_the_export_has_acros_layout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, results = _export(tmp_path, capsys)
    assert set(results) == {"version", "tool", "results"} and results["version"] == "1.0.2"
    outs = results["results"]
    assert set(outs) == {"counts", "means", "raw"}
    for o in outs.values():
        assert ACRO_KEYS <= set(o) and o["status"] in ("pass", "review", "fail")
        for f in o["files"]:
            assert set(f) == {"name", "sdc"} and set(f["sdc"]) == {"summary", "cells"}
            assert (tmp_path / "sacro" / f["name"]).is_file()
    assert outs["raw"]["status"] == "fail" and outs["raw"]["files"] == []  # nothing failing
    assert (
        outs["counts"]["type"] == "table" and outs["counts"]["properties"]["method"] == "crosstab"
    )


def test_the_exported_table_is_the_checked_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Wide, as ACRO writes it: the small region's cells empty and flagged at their place."""
    _, results = _export(tmp_path, capsys)
    rows = read_csv((tmp_path / "sacro" / "counts.csv").read_bytes(), 10**6)
    assert rows[0] == ["region", "F", "M", "All"]
    df = visits()
    body = {r[0]: r[1:] for r in rows[1:]}
    assert body["S"] == ["", "", ""]
    n = df[df.region == "N"].sex.value_counts()
    assert body["N"][:2] == [str(n["F"]), str(n["M"])]
    sdc_block = results["results"]["counts"]["files"][0]["sdc"]
    s_row = list(body).index("S")
    assert [s_row, 0] in sdc_block["cells"]["threshold"]
    assert results["results"]["counts"]["outcome"]["F"]["S"] == "threshold; "
    assert results["results"]["counts"]["outcome"]["F"]["N"] == "ok"


@pytest.mark.peer
def test_the_layout_agrees_with_acro(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    if not ACRO_PYTHON.exists():
        pytest.fail("the ACRO environment is missing: bash benchmarks/peers/setup_acro_venv.sh")
    script = (
        "import pandas as pd\nfrom acro import ACRO\n"
        f"df = pd.read_csv({str(tmp_path / 'v.csv')!r})\n"
        "a = ACRO(suppress=True)\na.crosstab(df.region, df.sex)\n"
        f"a.finalise({str(tmp_path / 'acro')!r}, 'json')\n"
    )
    visits().to_csv(tmp_path / "v.csv", index=False)
    subprocess.run([str(ACRO_PYTHON), "-c", script], check=True, cwd=tmp_path,
                   capture_output=True)  # fmt: skip
    theirs = json.loads((tmp_path / "acro" / "results.json").read_text())
    _, ours = _export(tmp_path, capsys)
    assert ours["version"] == theirs["version"] and set(theirs) >= set(ours)
    table = next(o for o in theirs["results"].values() if o["type"] == "table")
    assert ACRO_KEYS <= set(table) and set(table["files"][0]) == {"name", "sdc"}
    assert set(table["files"][0]["sdc"]) == {"summary", "cells"}
    assert set(ours["results"]["counts"]) >= ACRO_KEYS
