"""The regression benchmark end to end on a small frame, without ACRO.

``bench_regression.py`` exits with an error when sdc-engine's evidence counts differ from
pandas'; this runs its ``main`` at 20,000 rows so that comparison, and the JSON it writes,
stay checked with the rest: ``.venv/bin/pytest benchmarks``.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench_regression import FORMULAS, SMALL, main

STEPS = ("fit", "check", "end_to_end", "pandas_counts")


def test_bench_regression_small(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    assert main(["--rows", "20000", "--repeat", "1", "--no-peer", "--out", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report) >= {"machine", "parameters", "counts_agree", "models"}
    assert {"platform", "cpu_count", "python", "numpy", "pandas", "statsmodels", "numba",
            "acro"} <= set(report["machine"])  # fmt: skip
    assert report["machine"]["acro"] is None
    assert report["parameters"]["rows"] == 20_000
    assert report["parameters"]["peer"] is False
    assert report["counts_agree"] is True
    assert set(report["models"]) == set(FORMULAS)
    for model in report["models"].values():
        assert model["counts_agree"] is True
        assert model["groups_compared_with_pandas"] > 0
        for step in STEPS:
            timing = model["timings"][step]
            assert timing["median_s"] > 0
            assert len(timing["runs"]) == 1
        assert "acro_end_to_end" not in model["timings"]
        # the small levels of region are below the threshold: the check must say so
        assert model["sdc"]["status"] == "fail"
        failing = model["sdc"]["failing_terms"]
        for level in range(50 - len(SMALL), 50):
            assert f"C(region)[T.r{level:02d}]" in failing
