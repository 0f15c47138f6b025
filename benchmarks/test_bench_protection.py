"""The protection benchmark's tables and its time budget."""

from __future__ import annotations

import json
from argparse import Namespace
from pathlib import Path

import numpy as np
import pytest
from bench_protection import (
    GROUP_SIZE,
    count_mean,
    dimension,
    engine_job,
    main,
    make_table,
    run_job,
    table_model,
)

ARGS = Namespace(seed=0, primary_rate=0.1, threshold=10, dispersion=0.5)


@pytest.mark.parametrize("n_leaves", range(2, 60))
def test_groups_partition_the_leaves(n_leaves: int) -> None:
    leaves, groups = dimension(0, n_leaves, np.random.default_rng(n_leaves))
    assert len(leaves) == n_leaves
    if n_leaves < 4:
        assert groups == ()
        return
    members = [leaf for _, g in groups for leaf in g]
    assert members == list(leaves)  # consecutive, disjoint, covering
    sizes = [len(g) for _, g in groups]
    assert len(sizes) >= 2  # no group equals the total
    if n_leaves >= 2 * GROUP_SIZE[0]:
        assert all(GROUP_SIZE[0] <= s <= GROUP_SIZE[1] for s in sizes)


@pytest.mark.parametrize(("rate", "threshold", "dispersion"), [(0.1, 10, 0.5), (0.05, 5, 1.0)])
def test_count_mean_gives_the_primary_rate(rate: float, threshold: int, dispersion: float) -> None:
    mean = count_mean(rate, threshold, dispersion)
    draws = np.random.default_rng(1).negative_binomial(
        dispersion, dispersion / (dispersion + mean), 400_000
    )
    assert ((draws > 0) & (draws < threshold)).mean() == pytest.approx(rate, abs=0.003)
    assert mean > threshold  # the solution with mostly large cells


def test_tables_are_reproducible_and_have_no_duplicate_cells() -> None:
    a, b = make_table(3, 1e3, ARGS), make_table(3, 1e3, ARGS)
    np.testing.assert_array_equal(a["counts"], b["counts"])
    x = table_model(a).model_matrix().tocsc()
    assert x.shape[0] == a["counts"].size == 10**3
    supports = {x.indices[x.indptr[j] : x.indptr[j + 1]].tobytes() for j in range(x.shape[1])}
    assert len(supports) == x.shape[1]


def test_a_job_past_its_budget_is_stopped_and_reported() -> None:
    table = make_table(2, 1e3, ARGS)
    out = run_job(engine_job, (table, 10, 10**6), 0.0, "engine")
    assert out["status"] == "over budget"
    kinds = {kind for kind, _ in out["messages"]}
    assert "warm_up" in kinds and "secondary" in kinds  # what finished is kept


def test_end_to_end_on_a_small_table(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "r.json"
    main(["--dims", "2", "--cells", "100", "--repeat", "2", "--max-seconds", "120",
          "--out", str(out)])  # fmt: skip
    result = json.loads(out.read_text())
    (case,) = result["cases"]
    s = case["summary"]
    assert s["secondary_repeats"] == s["audit_repeats"] == 2
    assert s["audit"]["passed"] and s["reference_audit"]["passed"]
    assert s["reference"]["completed"]
    assert s["ratio_secondaries"] == pytest.approx(
        s["secondary"]["n_secondary"] / s["reference"]["n_secondary"]
    )
    assert {"cpu_count", "python", "numpy", "scipy", "numba"} <= set(result["machine"])
    assert "| 2 | 100 |" in capsys.readouterr().out
