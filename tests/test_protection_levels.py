"""Protection levels from the SDC Handbook's formulas, and the protection steps that use them.

Hand-worked cells (Hundepool et al., "Statistical Disclosure Control", 2012, section 4.2):
- (n, k) dominance, upper protection level (100/k)(x1 + ... + xn) - X; the Handbook's
  example: X = 330 from 300, 20 and 10 under (1, 85%): 300/0.85 - 330 = 22.94;
- p%, p x1 - (X - x1 - x2): X = 330, p = 10%: 30 - 10 = 20;
- pq, (p/q) x1 - (X - x1 - x2): p = 10%, q = 50%: 60 - 10 = 50.
The same numbers must come out of the formulas, of a protected table's audit (the
interval the attacker must not narrow beyond), and of an independent LP on the
published cells. Audit rounds and the hidden-zero device are tested by what they change.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gauss_reference import lp_interval
from sdc.rules.dominance import (
    NKParams,
    PPercentParams,
    PQParams,
    nk_protection,
    p_percent_protection,
    pq_protection,
)

import sdc
from sdc.tables.protect import assess, audit_pattern

TOP = np.array([[300.0, 20.0, 10.0]])
TOTAL = np.array([330.0])


def test_handbook_cell_nk() -> None:
    assert nk_protection(TOP, TOTAL, NKParams(n=1, k=0.85))[0] == pytest.approx(
        100 / 85 * 300 - 330
    )
    assert nk_protection(TOP, TOTAL, NKParams(n=1, k=0.85))[0] == pytest.approx(22.94, abs=5e-3)
    # two contributors: (300 + 20) / 0.9 - 330
    assert nk_protection(TOP, TOTAL, NKParams(n=2, k=0.9))[0] == pytest.approx(320 / 0.9 - 330)


def test_handbook_cell_p_percent_and_pq() -> None:
    assert p_percent_protection(TOP, TOTAL, PPercentParams(p=0.1))[0] == pytest.approx(20.0)
    assert pq_protection(TOP, TOTAL, PQParams(p=0.1, q=0.5))[0] == pytest.approx(50.0)
    # a safe cell (Handbook example 2): X = 110 000, x1 = 52 000, x2 = 50 000, p = 10%
    safe = p_percent_protection(np.array([[52_000.0, 50_000.0]]), np.array([110_000.0]),
                                PPercentParams(p=0.1))  # fmt: skip
    assert safe[0] == pytest.approx(5_200 - 8_000)


def _magnitude_table(rules: str) -> tuple[sdc.TableOutput, pd.DataFrame]:
    """A 2 x 2 table with margins; cell (a, x) is the Handbook cell 300 + 20 + 10."""
    rows = [("a", "x", 300.0), ("a", "x", 20.0), ("a", "x", 10.0)]
    rows += [("a", "y", v) for v in (40.0, 41.0, 42.0, 43.0)]
    rows += [("b", "x", v) for v in (50.0, 51.0, 52.0, 53.0)]
    rows += [("b", "y", v) for v in (60.0, 61.0, 62.0, 63.0)]
    df = pd.DataFrame(rows, columns=["r", "c", "v"])
    rs = sdc.RuleSet.from_toml('extends = "default"\n[threshold]\nt = 1\n' + rules)
    t = sdc.Session(rules=rs).pivot_table(df, index="r", columns="c", values="v",
                                          aggfunc="sum", margins=True)  # fmt: skip
    return t, df


@pytest.mark.parametrize(
    ("rules", "level"),
    [
        ("[nk-dominance]\nn = 1\nk = 0.85\n[p-percent]\np = 0.0001\n", 100 / 85 * 300 - 330),
        ("[nk-dominance]\nn = 2\nk = 0.99\n[p-percent]\np = 0.1\n", 20.0),
        (
            "[nk-dominance]\nn = 1\nk = 0.99\n[p-percent]\np = 0.0001\n"
            '[statistics]\nsum = ["pq"]\n[pq]\np = 0.1\nq = 0.5\n',
            50.0,
        ),
    ],
)
def test_the_audit_demands_the_handbook_level(rules: str, level: float) -> None:
    """The protected table's audit asks for exactly the formula's level on the cell, and an
    independent LP confirms that the published cells leave the attacker that much room."""
    t, _ = _magnitude_table(rules)
    p = t.protect(exact_intervals=True)
    assert p.status is sdc.Status.PASS, p.reasons
    a = p.audit.set_index(["r", "c"])
    assert a.loc[("a", "x"), "protection"] == pytest.approx(level)
    tm = t.model
    pub = np.flatnonzero(tm.published_mask)
    hidden = p.release.suppressed[pub]
    labels = [tuple(str(v) for v in tm.labels(int(c)).values()) for c in pub]
    j = labels.index(("a", "x"))
    lo, hi = lp_interval(tm.model_matrix(), t.check.evidence.sum[pub], ~hidden, j)
    assert hi >= 330 + level - 1e-6
    assert lo <= 330 - level + 1e-6 or lo == 0.0


#: A 3 x 3 magnitude table whose first secondary pattern leaves primaries narrower than
#: their protection (found by search; each record its own contributor).
WIDEN = pd.DataFrame({
    "r": ["r0"] * 6 + ["r1"] * 8 + ["r2"] * 11,
    "c": ["c0", "c0", "c1", "c1", "c1", "c2", "c0", "c0", "c1", "c1", "c2", "c2", "c2", "c2",
          "c0", "c0", "c0", "c0", "c1", "c1", "c1", "c2", "c2", "c2", "c2"],
    "v": [2.0, 5.0, 5.0, 1.0, 1.0, 2.0, 2.0, 2.0, 50.0, 2.0, 10.0, 1.0, 200.0, 200.0, 1.0,
          50.0, 50.0, 50.0, 10.0, 5.0, 200.0, 50.0, 5.0, 10.0, 10.0],
})  # fmt: skip
WIDEN_RULES = (
    'extends = "default"\n[threshold]\nt = 1\n[nk-dominance]\nn = 1\nk = 0.6\n'
    "[p-percent]\np = 0.3\n"
)


def _independent_shortfalls(t: sdc.TableOutput, hidden_cube: np.ndarray) -> int:
    """Primaries whose LP interval (published cells, values >= 0) does not reach the
    Handbook level on either side."""
    tm, ev = t.model, t.check.evidence
    pub = np.flatnonzero(tm.published_mask)
    x = tm.model_matrix()
    hidden = hidden_cube[pub]
    top, total = ev.top_or_zero(), ev.sum
    rs = t.check.ruleset
    level = np.maximum.reduce([
        np.zeros(ev.n_cells),
        np.where(t.check.results[[r.rule for r in t.check.results].index("nk-dominance")].fail,
                 nk_protection(top, total, rs.params["nk-dominance"]), 0.0),
        np.where(t.check.results[[r.rule for r in t.check.results].index("p-percent")].fail,
                 p_percent_protection(top, total, rs.params["p-percent"]), 0.0),
    ])  # fmt: skip
    short = 0
    for j, c in enumerate(pub):
        if not t.check.fail[c]:
            continue
        lo, hi = lp_interval(x, total[pub], ~hidden, j)
        value = total[c]
        need = max(level[c], 1e-9)
        if hi < value + need - 1e-6 or lo > max(value - need, 0.0) + 1e-6:
            short += 1
    return short


def test_secondaries_are_chosen_with_the_protection_levels_in_view() -> None:
    """On a table where Gaussian elimination alone leaves primaries narrower than their
    protection (found by search), the cells the levels need are hidden first: the first
    pattern already passes, as an independent LP confirms, and publishing back the
    secondaries the levels do not need keeps it so."""
    t = sdc.Session(rules=sdc.RuleSet.from_toml(WIDEN_RULES)).pivot_table(
        WIDEN, index="r", columns="c", values="v", aggfunc="sum", margins=True
    )
    gauss_only = t.check.fail | _gauss_pattern(t)
    assert _independent_shortfalls(t, gauss_only) > 0
    status, reasons = assess(t.check, gauss_only, audit_pattern(t.check, gauss_only))
    cells = [r for r in reasons if r.startswith("cell ")]
    assert status is sdc.Status.FAIL and cells
    assert all(r.endswith("does not reach its protection level on both sides")
               for r in cells), cells  # fmt: skip
    first = t.protect(audit_rounds=0, clean_up=False)
    assert first.status is sdc.Status.PASS
    assert _independent_shortfalls(t, first.release.suppressed) == 0
    final = t.protect()
    assert final.status is sdc.Status.PASS
    assert _independent_shortfalls(t, final.release.suppressed) == 0
    assert final.release.suppressed.sum() <= first.release.suppressed.sum()


def _gauss_pattern(t: sdc.TableOutput) -> np.ndarray:
    """The pattern of Gaussian elimination alone (no protection levels), as a cube mask."""
    from sdc.protection.secondary import secondary_suppress

    tm = t.model
    pub = np.flatnonzero(tm.published_mask)
    value = t.check.evidence.sum[pub]
    s = secondary_suppress(tm.model_matrix(), t.check.fail[pub], np.abs(value))
    out = np.zeros(tm.n_cells, dtype=bool)
    out[pub] = s.suppressed
    return out


def test_hidden_zeros_are_protected_without_the_audit() -> None:
    """young: Iceland 0, Portugal 0, Spain 5, with margins. Hiding the two zeros alone
    publishes their sum (5 - 5 = 0), and counts are >= 0, so both would be known. The
    hidden-zero device makes secondary suppression itself hide another cell of the row,
    with no help from audit rounds."""
    rows = [("young", "Spain")] * 5 + [("old", g) for g in ("Iceland",) * 3 + ("Portugal",) * 4]
    rows += [("old", "Spain")] * 6
    df = pd.DataFrame(rows, columns=["age", "geo"])
    rs = sdc.RuleSet.from_toml(
        'extends = "default"\n[threshold]\nt = 1\n[zeros]\noutcome = "fail"\n'
    )
    t = sdc.Session(rules=rs).crosstab(df.age, df.geo, margins=True)
    p = t.protect(audit_rounds=0, singletons=False)
    assert p.status is sdc.Status.PASS, p.reasons
    sec = p.suppressed[p.suppressed.suppression == "secondary"]
    assert ("young", "Spain") in set(zip(sec.age, sec.geo, strict=True))
    assert set(sec.reason) == {"protects a primary"}
    tm = t.model
    pub = np.flatnonzero(tm.published_mask)
    labels = [tuple(str(v) for v in tm.labels(int(c)).values()) for c in pub]
    hidden = p.release.suppressed[pub]
    for cell in [("young", "Iceland"), ("young", "Portugal")]:
        lo, hi = lp_interval(tm.model_matrix(), t.values[pub], ~hidden, labels.index(cell))
        assert (lo, hi > 0) == (0.0, True)


def test_a_cell_that_can_be_recomputed_is_named_with_its_exact_value() -> None:
    """A sum table whose published sums are not whole numbers, with a cell failing the
    threshold only (no protection level): hidden alone, margins recompute it, and the reason
    says so without quoting the value."""
    rows = [("a", "x", 1.25), ("a", "y", 2.5), ("a", "y", 3.75)]
    rows += [("b", g, 10.5 + i) for g in ("x", "y") for i in range(12)]
    frame = pd.DataFrame(rows, columns=["r", "c", "v"])
    rules = sdc.RuleSet.from_toml(
        'extends = "default"\n[threshold]\nt = 2\n[statistics]\nsum = ["threshold"]\n'
    )
    t = sdc.Session(rules=rules).pivot_table(
        frame, index="r", columns="c", values="v", aggfunc="sum", margins=True
    )
    hidden = t.check.fail.copy()
    assert hidden.sum() == 1
    status, reasons = assess(t.check, hidden, audit_pattern(t.check, hidden))
    cells = [r for r in reasons if r.startswith("cell ")]
    assert status is sdc.Status.FAIL
    assert cells == ["cell {'r': 'a', 'c': 'x'}: an attacker can narrow it down to its exact value"]


def _grouped_magnitude_table(seed: int = 3) -> sdc.TableOutput:
    """A 2-D magnitude table with subtotals on both dimensions, one contributor a record."""
    rng = np.random.default_rng(seed)
    rows, cols = [f"r{i:02d}" for i in range(12)], [f"c{j}" for j in range(8)]
    records = [
        (r, c, float(v))
        for r in rows
        for c in cols
        for v in np.round(rng.lognormal(3, 1.5, rng.negative_binomial(1, 1 / 6)), 2)
    ]
    frame = pd.DataFrame(records, columns=["r", "c", "v"])
    frame["id"] = np.arange(len(frame))
    hier = {"r": {"R0": rows[:4], "R1": rows[4:8], "R2": rows[8:]},
            "c": {"C0": cols[:4], "C1": cols[4:]}}  # fmt: skip
    return sdc.Session(rules=sdc.RuleSet.from_toml(WIDEN_RULES)).pivot_table(
        frame, index="r", columns="c", values="v", aggfunc="sum", margins=True,
        contributor="id", hierarchies=hier,
    )  # fmt: skip


def test_the_clean_up_keeps_what_requirements_far_from_their_cell_need(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A requirement with no witness near its cell may rest on cells anywhere in the table:
    the clean-up then proves it over the whole table and keeps those cells hidden. With
    blocks cut down to a cell's own inner cells (so every witness lies outside), the pass
    still publishes cells back, and every requirement holds on the pattern it leaves,
    by an independent LP."""
    import sdc.protection.cells as cells
    import sdc.protection.deviation as deviation
    from sdc.protection.cleanup import Requirement, clean_up
    from sdc.tables.protect import cell_problem

    monkeypatch.setattr(deviation, "BLOCK_STEPS", 0)
    t = _grouped_magnitude_table()
    unclean = t.protect(clean_up=False)
    final = t.protect()
    assert unclean.status is final.status is sdc.Status.PASS
    assert final.release.suppressed.sum() < unclean.release.suppressed.sum()
    assert _independent_shortfalls(t, final.release.suppressed) == 0
    # The pass itself, before the kernel and the audit look at its result.
    tm = t.model
    pub = np.flatnonzero(tm.published_mask)
    x = tm.model_matrix()
    problem = cell_problem(t.check, x, pub, t.check.ruleset.protection)
    primary, hidden = t.check.fail[pub], unclean.release.suppressed[pub]
    needs = [Requirement(tuple(m)) for m in cells._requirements(problem, primary)]
    kept = clean_up(
        cells._deviations(problem, hidden, t.check.ruleset.protection), needs,
        hidden & ~primary, problem.weight, cells.CLEAN_UP_LPS,
    )  # fmt: skip
    assert kept.sum() < (hidden & ~primary).sum()
    published = ~(primary | kept)
    for r in needs:
        (move,) = r.moves
        lo, hi = lp_interval(x, problem.value, published, move.cell)
        reach = hi - problem.value[move.cell] if move.sign > 0 else problem.value[move.cell] - lo
        assert reach >= move.amount - 1e-6, (move, lo, hi)
