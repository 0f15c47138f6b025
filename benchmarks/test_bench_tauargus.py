"""The tau-Argus side-by-side benchmark: its tables, its pattern rows, and (peer) a run."""

from __future__ import annotations

import numpy as np
import pytest
from bench_tauargus import TAU_PYTHON, make_case, pattern_row, run_case, sdc_table


def test_tables_are_reproducible_and_match_their_records() -> None:
    a, b = make_case("frequency", 2, 100), make_case("frequency", 2, 100)
    assert a == b
    t = sdc_table(a, "frequency", False)
    inner = t.values[t.model.inner_mask]
    np.testing.assert_array_equal(inner, [len(c) for c in a["cells"]])
    m = make_case("magnitude", 2, 100)
    tm = sdc_table(m, "magnitude", True)
    rules = {r.rule for r in tm.check.results}
    assert {"nk-dominance", "nk-dominance-2"} <= rules


def test_a_pattern_row_counts_secondaries_and_audits_them() -> None:
    t = sdc_table(make_case("frequency", 2, 100), "frequency", False)
    p = t.protect()
    row = pattern_row(t, p.release.suppressed, t.check.ruleset.protection)
    assert row["n_secondary"] == int((p.release.suppressed & ~t.check.fail).sum())
    assert row["audit_passed"] == (p.status.value != "fail")
    bare = pattern_row(t, t.check.fail & t.model.published_mask, t.check.ruleset.protection)
    assert bare["n_secondary"] == 0 and not bare["audit_passed"]  # primaries alone: margins


@pytest.mark.peer
@pytest.mark.skipif(not TAU_PYTHON.exists(), reason="tau-Argus venv not set up")
def test_side_by_side_on_a_small_table() -> None:
    out = run_case("2x1e2", "frequency", 2, 100, False)
    tools = {r["tool"] for r in out["rows"] if "error" not in r}
    assert tools == {"sdc", "tau-Argus"}
    assert all(r["same_primaries"] for r in out["rows"] if r["tool"] == "tau-Argus")


@pytest.mark.peer
@pytest.mark.skipif(not TAU_PYTHON.exists(), reason="tau-Argus venv not set up")
def test_a_tau_run_past_its_time_is_stopped_and_written_down() -> None:
    from bench_tauargus import markdown, run_tau

    case = make_case("frequency", 3, 1e4)
    tau = run_tau(case, "FREQ(3,1)", "MOD(1)", timeout=1.0)
    assert tau.get("timed_out") and tau["wall_seconds"] < 30
    row = {"tool": "tau-Argus", "suppress": "MOD(1)", "singletons": False, **tau}
    text = markdown([{"case": "3x1e4", "n_published": 1, "n_primary": 1, "rows": [row]}])
    assert "stopped at 1 s" in text or "stopped at 2 s" in text
