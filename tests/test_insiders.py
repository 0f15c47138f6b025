"""Patterns ``protect`` passes, attacked by an independent LP: outsiders and insiders.

The attacker knows every published cell and that cells are >= 0 (an LP over the
inner cells, ``scipy.optimize.linprog`` with HiGHS, built here from the labels).
An *insider* is the sole contributor of a cell (a singleton): it also knows its
own cell's value exactly. No primary may be computed exactly by either, whatever
the clean-up pass published back; a count under the threshold keeps an interval
reaching 0 or t for the outsider. GaussSuppression's ``anySum`` and tau-Argus's
singleton checks protect against the same insider.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

import sdc
from sdc.ruleset import RuleSet


def _session(t: int) -> sdc.Session:
    d = RuleSet.load("default").to_dict()
    d["threshold"] = {"t": t}
    return sdc.Session(rules=RuleSet.from_dict(d))


def _table(counts: np.ndarray, t: int, grouped: bool) -> sdc.TableOutput:
    rows = [(f"r{i}", f"c{j}") for (i, j), n in np.ndenumerate(counts) for _ in range(int(n))]
    frame = pd.DataFrame(rows, columns=["r", "c"])
    for col, n in (("r", counts.shape[0]), ("c", counts.shape[1])):
        frame[col] = pd.Categorical(frame[col], categories=[f"{col}{i}" for i in range(n)])
    hier = None
    if grouped and counts.shape[0] >= 4:
        half = counts.shape[0] // 2
        hier = {"r": {"G1": [f"r{i}" for i in range(half)],
                      "G2": [f"r{i}" for i in range(half, counts.shape[0])]}}  # fmt: skip
    return _session(t).pivot_table(frame, index="r", columns="c", aggfunc="count",
                                   margins=True, hierarchies=hier)  # fmt: skip


def _interval(t: sdc.TableOutput, hidden: np.ndarray, cell: int, known: int | None = None):
    """Min and max of ``cell`` over the inner tables that agree with the published cells (and,
    for an insider, with the value of its own inner cell ``known``)."""
    tm = t.model
    x = tm.model_matrix().toarray().astype(float)
    pub = np.flatnonzero(tm.published_mask)
    shown = ~hidden[pub]
    a_eq, b_eq = x[:, shown].T, t.values[pub][shown].astype(float)
    if known is not None:
        row = np.zeros(x.shape[0])
        row[known] = 1.0
        inner_value = t.values[np.flatnonzero(tm.inner_mask)[known]]
        a_eq, b_eq = np.vstack([a_eq, row]), np.append(b_eq, inner_value)
    target = x[:, int(np.flatnonzero(pub == cell)[0])]
    lo = linprog(target, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    hi = linprog(-target, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    assert lo.status in (0, 3) and hi.status in (0, 3), (lo.message, hi.message)
    return lo.fun, (np.inf if hi.status == 3 else -hi.fun)


_COUNT_TABLES = st.integers(2, 5).flatmap(
    lambda r: st.integers(2, 4).flatmap(
        lambda c: st.lists(st.sampled_from([0, 1, 1, 2, 3, 6, 12, 25]), min_size=r * c,
                           max_size=r * c).map(lambda v: np.array(v).reshape(r, c))
    )
)  # fmt: skip


@settings(max_examples=30, deadline=None)
@given(_COUNT_TABLES, st.sampled_from([3, 5]), st.booleans())
def test_no_outsider_nor_insider_recovers_a_primary(counts, threshold, grouped):
    _no_one_recovers_a_primary(counts, threshold, grouped)


@settings(max_examples=20, deadline=None)
@given(_COUNT_TABLES, st.sampled_from([3, 5]), st.booleans())
def test_rounds_without_lps_per_bound_protect_alike(counts, threshold, grouped):
    """Audit rounds that solve no LP per bound (every cell their tables do not decide gets
    its alternative table straight away) end with the verdict of rounds that may solve them,
    and with a pattern no one can attack. Without
    singleton protection the elimination leaves small counts short more often (the rounds
    then have work to do on about 2 tables in 5); the attacker is the outsider there."""
    from unittest import mock

    import sdc.protection.cells as cells

    for singletons_on in (True, False):
        usual = _no_one_recovers_a_primary(counts, threshold, grouped, singletons_on)
        with mock.patch.object(cells, "ROUND_BOUND_LPS", 0):
            quick = _no_one_recovers_a_primary(counts, threshold, grouped, singletons_on)
        assert quick is usual


def _no_one_recovers_a_primary(
    counts: np.ndarray, threshold: int, grouped: bool, singletons_on: bool = True
) -> sdc.Status:
    """Protect the table and attack every primary; the verdict."""
    counts = counts.copy()
    counts[0, 0] += 30
    t = _table(counts, threshold, grouped)
    p = t.protect(singletons=singletons_on)  # clean-up on, as by default
    if p.status is sdc.Status.FAIL:
        return p.status
    hidden = p.release.suppressed
    tm = t.model
    inner = np.flatnonzero(tm.inner_mask)
    singletons = [k for k, c in enumerate(inner) if t.values[c] == 1]
    for cell in np.flatnonzero(t.check.fail):
        lo, hi = _interval(t, hidden, int(cell))
        assert hi - lo > 1e-6, ("outsider", tm.labels(int(cell)), lo, hi)
        assert lo <= 1e-6 or hi >= threshold - 1e-6, (tm.labels(int(cell)), lo, hi)
        members = tm.model_matrix()[:, int(np.flatnonzero(np.flatnonzero(
            tm.published_mask) == cell)[0])].nonzero()[0]  # fmt: skip
        for k in singletons if singletons_on else ():
            if k in members and t.values[cell] == 1:
                continue  # the insider is the cell's only contributor: it knows it anyway
            lo, hi = _interval(t, hidden, int(cell), known=k)
            assert hi - lo > 1e-6, ("insider", tm.labels(int(inner[k])), tm.labels(int(cell)))
    return p.status


@settings(max_examples=20, deadline=None)
@given(
    st.lists(st.sampled_from([0, 1, 2, 4, 9, 15, 30]), min_size=12, max_size=12),
    st.booleans(),
)
def test_clean_up_only_publishes_back(values, singletons):
    counts = np.array(values).reshape(4, 3)
    counts[0, 0] += 30
    t = _table(counts, 5, True)
    kept = t.protect(clean_up=False, singletons=singletons)
    cleaned = t.protect(singletons=singletons)
    if kept.status is sdc.Status.PASS:
        assert cleaned.status is sdc.Status.PASS
        assert not (cleaned.release.suppressed & ~kept.release.suppressed).any()


def test_clean_up_publishes_back_what_the_levels_do_not_need() -> None:
    """A magnitude table where hiding cells for each primary in turn leaves some hidden cells
    no primary needs once the others are hidden: the clean-up publishes them back, and an
    independent LP confirms every primary still reaches its protection level."""
    from test_protection_levels import WIDEN, WIDEN_RULES, _independent_shortfalls

    t = sdc.Session(rules=sdc.RuleSet.from_toml(WIDEN_RULES)).pivot_table(
        WIDEN, index="r", columns="c", values="v", aggfunc="sum", margins=True
    )
    kept = t.protect(clean_up=False)
    cleaned = t.protect()
    assert cleaned.status is sdc.Status.PASS
    assert cleaned.release.suppressed.sum() <= kept.release.suppressed.sum()
    assert _independent_shortfalls(t, cleaned.release.suppressed) == 0


def _insider_width(t: sdc.TableOutput, singletons: bool, insider: dict, target: dict) -> float:
    """Width of ``target``'s interval for the contributor of the singleton ``insider``, on the
    pattern ``protect`` releases (``small_counts="width"``: only exact disclosure is asked)."""
    hidden = t.protect(singletons=singletons, small_counts="width").release.suppressed
    tm = t.model
    inner = [tm.labels(int(c)) for c in np.flatnonzero(tm.inner_mask)]
    cell = next(int(c) for c in np.flatnonzero(tm.published_mask) if tm.labels(int(c)) == target)
    lo, hi = _interval(t, hidden, cell, known=inner.index(insider))
    return hi - lo


# Each insider attack singleton protection covers, on a table where the pattern chosen without
# it falls to that attack (so each test can fail), and with it (the default) does not.
INSIDER_ATTACKS = [
    pytest.param(  # tau-Argus's singleton check: a singleton hidden with one other cell
        [[1, 2, 20], [9, 14, 30], [12, 25, 40]], {"r": "r0", "c": "c0"}, {"r": "r0", "c": "c1"},
        id="singleton-and-one-other-cell",
    ),
    pytest.param(  # tau-Argus's singleton check: two singletons alone in a relation
        [[1, 1, 20], [9, 14, 30], [12, 25, 40]], {"r": "r0", "c": "c0"}, {"r": "r0", "c": "c1"},
        id="two-singletons",
    ),
    pytest.param(  # GaussSuppression's anySum: through a chain of relations (no shared row/col)
        [[35, 9, 20, 30], [1, 1, 20, 30], [1, 2, 20, 5], [2, 20, 2, 5]],
        {"r": "r1", "c": "c0"}, {"r": "r2", "c": "c1"}, id="chain-of-relations",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("counts", "insider", "target"), INSIDER_ATTACKS)
def test_each_insider_attack_is_blocked_by_singleton_protection(counts, insider, target):
    t = _table(np.array(counts), 3, False)
    assert bool(t.check.fail[[t.model.labels(int(c)) == target for c in range(t.model.n_cells)]]
                .any())  # fmt: skip
    assert _insider_width(t, False, insider, target) < 1e-6  # the attack works without it
    assert _insider_width(t, True, insider, target) > 1e-6
