"""The model benchmark end to end on a small forest, without SACRO-ML.

``bench_models.py`` exits with an error when the weights-only checks of the same model saved
with pickle and with joblib differ; this runs its ``main`` at 3,000 training rows and 5 trees
so that comparison, and the JSON it writes, stay checked with the rest:
``.venv/bin/pytest benchmarks``.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench_models import EQ_AGREEMENT, main

TIMINGS = (
    "check_file_pickle", "check_file_joblib", "read_joblib_pickle", "read_joblib_joblib",
    "pickle_loads", "joblib_load", "predict_proba", "engine_attack", "check_live_with_data",
)  # fmt: skip


def test_bench_models_small(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    args = ["--train-rows", "3000", "--trees", "5", "--repeat", "1", "--no-peer"]
    assert main([*args, "--out", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert set(report) == {
        "machine", "versions", "parameters", "model", "timings", "engine", "sacroml", "agreement",
    }  # fmt: skip
    assert {"platform", "cpu_count", "python"} <= set(report["machine"])
    assert {"sdc", "numpy", "numba", "scikit-learn", "joblib"} <= set(report["versions"])
    assert report["versions"]["sacroml_env"] is None
    params = report["parameters"]
    assert (params["train_rows"], params["test_rows"], params["trees"]) == (3000, 3000, 5)
    assert params["peer"] is False and report["sacroml"] is None
    assert set(report["timings"]) == set(TIMINGS)
    for timing in report["timings"].values():
        assert timing["median_s"] > 0
        assert len(timing["runs"]) == 1

    # the same model read from its pickle and its joblib file: the same weights-only verdict
    agreement = report["agreement"]
    assert agreement["weights_only_pickle_vs_joblib"] is True
    assert agreement["weights_only_file_vs_live"] is True
    assert agreement["equivalence_classes"] is None

    weights = report["engine"]["weights_only"]
    assert weights["status"] == "fail"  # fully grown trees: leaves of one record
    assert weights["n_params"] == report["model"]["n_params"] > 0
    assert weights["tree_groups"][0]["n_trees"] == 5
    assert weights["tree_groups"][0]["min_leaf"] == 1
    assert {"k-anonymity", "class-disclosure", "small-group"} <= {
        f["rule"] for f in weights["findings"]
    }
    mia = report["engine"]["membership"]
    assert 0.5 < mia["auc"] <= 1 and 0 <= mia["p_value"] <= 1
    assert mia["n_members"] == mia["n_non_members"] == 3000
    assert set(report["engine"]["equivalence_classes"]) == {ours for ours, _ in EQ_AGREEMENT}
