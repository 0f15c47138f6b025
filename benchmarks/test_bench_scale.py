"""The scale benchmark at a small size: the streamed table and its baseline run and agree."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_scale import measure, run_one, write_parquet
from needs import module


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    module("pyarrow")
    out = tmp_path_factory.mktemp("scale")
    write_parquet(20_000, out, group=7_000)
    return out


def test_streamed_table_and_baseline_run(folder: Path) -> None:
    checked = run_one("stream", "mean", folder, baseline=False)
    plain = run_one("stream", "mean", folder, baseline=True)
    assert checked["status"] in ("pass", "fail", "review") and plain["status"] is None
    assert checked["seconds"] > 0 and plain["peak_rss_mb"] > 0


def test_a_measurement_runs_in_its_own_process(folder: Path) -> None:
    r = measure("stream", "frequency", folder, baseline=False)
    assert r["status"] == run_one("stream", "frequency", folder, baseline=False)["status"]
