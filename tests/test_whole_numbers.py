"""Hidden counts are whole numbers: an interval that holds only one of them discloses it.

On tables of 3 or more dimensions the attacker's LP has fractional vertices, so a hidden
primary can keep a positive width and still be pinned: [5.998, 6.002] reads 6. Such a
primary's interval must reach a whole number other than its value, whatever the
small-count requirement.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from gauss_reference import lp_interval

import sdc
from sdc.protection.cells import CellProblem, _with_groups
from sdc.ruleset import RuleSet


def _four_way(seed: int, rules: Any = "default") -> sdc.TableOutput:
    """A skewed 6 x 5 x 5 x 4 count table with margins (about a third of its cells small)."""
    rng = np.random.default_rng(seed)
    shape = (6, 5, 5, 4)
    w = rng.lognormal(0.0, 1.5, int(np.prod(shape)))
    flat = rng.choice(w.size, int(np.prod(shape)) * 40, p=w / w.sum())
    idx = np.unravel_index(flat, shape)
    cols = [
        pd.Series(pd.Categorical(idx[i].astype(str), categories=[str(c) for c in range(k)]),
                  name=f"d{i}")
        for i, k in enumerate(shape)
    ]  # fmt: skip
    return sdc.Session(rules=rules).crosstab(cols[0], cols[1:], margins=True)


def test_no_hidden_count_is_pinned_between_two_whole_numbers() -> None:
    """With only exact disclosure asked (``width``), every hidden primary of a 4-D count table
    still reaches another whole number in the LP of an independent attacker (scipy's HiGHS
    over the published cells, inner cells >= 0). This table's greedy pattern alone left 18
    primaries inside (v - 1, v + 1), e.g. 9 in [8.67, 9.31]."""
    t = _four_way(1)
    p = t.protect(small_counts="width")
    assert p.status is not sdc.Status.FAIL, p.reasons
    tm = t.model
    pub = np.flatnonzero(tm.published_mask)
    hidden = p.release.suppressed[pub]
    primary = t.check.fail[pub]
    assert primary.sum() > 150 and (hidden & ~primary).any()
    x, value = tm.model_matrix(), t.values[pub]
    for j in np.flatnonzero(primary & hidden):
        lo, hi = lp_interval(x, value, ~hidden, int(j))
        assert lo <= value[j] - 1 + 1e-6 or hi >= value[j] + 1 - 1e-6, (j, value[j], lo, hi)


def _requirement(value: float, levels: float, upper: float, either: bool, whole: bool) -> tuple:
    x = sp.csr_matrix(np.array([[1.0, 1.0]]))  # one inner cell and its total
    problem = CellProblem(
        x, np.array([value, value]), np.array([levels, 0.0]), np.ones(2), np.zeros(2, bool),
        upper_levels=np.array([upper, 0.0]), either=np.array([either, False]),
        whole=np.array([whole, False]),
    )  # fmt: skip
    _, _, lv, up, ei, _ = _with_groups(problem)
    return float(lv[0]), float(up[0]), bool(ei[0])


def test_a_whole_cell_must_reach_another_whole_number() -> None:
    # Only a width asked: one below or one above.
    assert _requirement(6.0, 0.0, 0.0, False, True) == (1.0, 1.0, True)
    # At the bound (0) it cannot move down: one above.
    assert _requirement(0.0, 0.0, 0.0, False, True) == (0.0, 1.0, False)
    # A small count (down to 0 or up to t = 5): reaching 0 from 2 already crosses 1 ...
    assert _requirement(2.0, 2.0, 3.0, True, True) == (2.0, 3.0, True)
    # ... but from 0 it says nothing: it must reach 1.
    assert _requirement(0.0, 0.0, 5.0, True, True) == (0.0, 1.0, False)
    # Cells that are not whole numbers, and protection levels, are left as they were.
    assert _requirement(6.0, 0.0, 0.0, False, False) == (0.0, 0.0, False)
    assert _requirement(60.0, 12.0, 12.0, False, True) == (12.0, 12.0, False)


def test_sums_of_whole_numbers_are_whole_and_others_are_not() -> None:
    from sdc.protection.params import ProtectionParams
    from sdc.tables.protect import cell_problem

    df = pd.DataFrame({"g": list("aabbb"), "h": list("xyxyx"), "v": [1.0, 2.0, 3.0, 4.0, 5.0]})
    s = sdc.Session()
    for values, whole in ((df.v, True), (df.v + 0.5, False)):
        t = s.crosstab(df.g, df.h, values=values, aggfunc="sum", margins=True)
        tm = t.model
        pub = np.flatnonzero(tm.published_mask)
        problem = cell_problem(t.check, tm.model_matrix(), pub, ProtectionParams())
        assert (problem.whole is not None) is whole
        if whole:
            assert problem.whole is not None
            np.testing.assert_array_equal(problem.whole, t.check.fail[pub])


def test_the_joint_audit_of_linked_tables_asks_the_same() -> None:
    """The gate's joint audit (``audit_linked``) finds the primaries that the elimination's
    pattern alone leaves pinned between two whole numbers, and none in ``protect``'s."""
    from dataclasses import replace

    from sdc.protection.secondary import secondary_suppress
    from sdc.tables.linked import audit_linked
    from sdc.tables.output import TableOutput
    from sdc.tables.protect import assess, audit_pattern

    d = RuleSet.load("default").to_dict()
    d["protection"]["small_counts"] = "width"  # exact disclosure and whole numbers only
    t = _four_way(1, RuleSet.from_dict(d))
    tm = t.model
    pub = np.flatnonzero(tm.published_mask)
    value = t.values[pub].astype(float)
    primary = t.check.fail[pub]
    greedy = secondary_suppress(tm.model_matrix(), primary, value, zero=value == 0).suppressed
    mask = np.zeros(tm.n_cells, dtype=bool)
    mask[pub] = greedy
    shown = np.where(mask, np.nan, t.values.astype(float))
    release = t.protect().release
    bare = replace(release, values=shown, suppressed=mask)
    for pattern, narrowed in ((bare, True), (release, False)):
        out = TableOutput(t.name, t.check, t.values, t.value_name, True, pattern)
        ((narrow, _),) = audit_linked([out])
        assert (narrow > 0) is narrowed, narrow
    status, reasons = assess(t.check, mask, audit_pattern(t.check, mask))
    cells = [r for r in reasons if r.startswith("cell ")]
    assert status is sdc.Status.FAIL and cells
    assert all(r.endswith("an interval that holds no whole number but its own value")
               for r in cells), cells  # fmt: skip
