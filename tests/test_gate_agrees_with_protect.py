"""The gate re-audits what ``protect`` released, and both audits agree on every pattern.

A hidden cell travels as a blank in the released file, empty or not: the gate
reads a blank count as hidden (never as a published 0), so its attacker knows
what the session's attacker knew, and the verdicts and audits are the same.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

import sdc
from sdc.release.gate import check_folder
from sdc.tables.output import TableOutput


def _records(counts: np.ndarray) -> pd.DataFrame:
    rows = [(f"r{i}", f"c{j}") for (i, j), n in np.ndenumerate(counts) for _ in range(int(n))]
    levels = {"r": [f"r{i}" for i in range(counts.shape[0])],
              "c": [f"c{j}" for j in range(counts.shape[1])]}  # fmt: skip
    frame = pd.DataFrame(rows, columns=["r", "c"])
    for col, cats in levels.items():  # empty rows and columns stay in the table
        frame[col] = pd.Categorical(frame[col], categories=cats)
    return frame


def _released_and_gated(counts: np.ndarray, secondary_zeros: bool, singletons: bool):
    s = sdc.Session(suppress=True)
    t = s.pivot_table(_records(counts), index="r", columns="c", aggfunc="count", margins=True,
                      name="t")  # fmt: skip
    p = t.protect(secondary_zeros=secondary_zeros, singletons=singletons)
    s.outputs["t"] = TableOutput(t.name, t.check, t.values, t.value_name, True, p.release)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "request"
        s.finalise(folder)
        report = check_folder(folder, "default", trust_unsigned=True)
    return t, p, report["outputs"][0]


def _independent_interval(t, hidden_cube: np.ndarray, cell: int) -> tuple[float, float]:
    from gauss_reference import lp_interval

    tm = t.model
    pub = np.flatnonzero(tm.published_mask)
    j = int(np.flatnonzero(pub == cell)[0])
    return lp_interval(tm.model_matrix(), t.values[pub], ~hidden_cube[pub], j)


@settings(max_examples=25, deadline=None)
@given(
    st.integers(2, 4).flatmap(
        lambda r: st.integers(2, 4).flatmap(
            lambda c: st.lists(st.sampled_from([0, 0, 1, 2, 5, 11, 14, 20]), min_size=r * c,
                               max_size=r * c).map(lambda v: np.array(v).reshape(r, c))
        )
    ),
    st.booleans(),
    st.booleans(),
)  # fmt: skip
def test_the_gate_and_protect_agree_on_every_pattern(counts, secondary_zeros, singletons):
    counts[0, 0] += 1  # a table holds at least one record
    _, p, gated = _released_and_gated(counts, secondary_zeros, singletons)
    assert gated["rules_status"] == p.status.value, (gated["reasons"], p.reasons)
    n_audit = [r for r in gated["reasons"] if "narrowed down too far" in r]
    mine = [r for r in p.reasons if "narrowed down too far" in r]
    assert n_audit == mine


def test_a_hidden_empty_cell_is_read_as_hidden() -> None:
    """An empty cell hidden as a secondary is a blank in the file; the gate's attacker must not
    be told it is 0 (that reported a false exact disclosure)."""
    counts = np.array([[2, 0, 15], [12, 0, 14], [20, 13, 11]])
    t, p, gated = _released_and_gated(counts, True, False)
    hidden_zero = p.release.suppressed & (t.values == 0) & t.model.published_mask
    assert hidden_zero.any()  # the pattern uses an empty cell
    assert gated["rules_status"] == p.status.value != "fail"
    # The hidden primaries keep an interval of positive width on the released table.
    for cell in np.flatnonzero(p.release.suppressed & t.check.fail):
        lo, hi = _independent_interval(t, p.release.suppressed, int(cell))
        assert hi - lo > 0.5
