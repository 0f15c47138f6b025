"""Linked tables: protected one by one they can give a primary away; jointly they do not.

The check is independent of ``sdc.tables.linked``: the joint cube is built here by hand
(``TableModel`` over region x sex with every grouping), each released cell is
placed in it by its labels, and the exact rational rank test of
``gauss_reference`` and its dense LP decide what the two releases reveal together.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from gauss_reference import determined, lp_interval

import sdc
from sdc.exceptions import SdcInputError
from sdc.tables.model import TOTAL_LABEL, TableModel

COUNTS = {
    ("01", "F"): 30, ("01", "M"): 25, ("02", "F"): 2, ("02", "M"): 1,
    ("03", "F"): 40, ("03", "M"): 35, ("04", "F"): 20, ("04", "M"): 22,
}  # fmt: skip
NORTH_SOUTH = {"N": ["01", "02"], "S": ["03", "04"]}
WEST_EAST = {"W": ["01", "03"], "E": ["02", "04"]}
TABLES = [
    {"index": "region", "columns": "sex", "hierarchies": {"region": NORTH_SOUTH}, "name": "t1"},
    {"index": "region", "hierarchies": {"region": WEST_EAST}, "name": "t2"},
]


def data() -> pd.DataFrame:
    rows = [(r, s) for (r, s), n in COUNTS.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=["region", "sex"])


def joint_model() -> TableModel:
    groups = tuple((g, tuple(v)) for g, v in {**NORTH_SOUTH, **WEST_EAST}.items())
    return TableModel(("region", "sex"), (("01", "02", "03", "04"), ("F", "M")), 1, True,
                      (groups, ()))  # fmt: skip


def released(tables: list[pd.DataFrame]) -> dict[tuple[str, str], float]:
    """Every released cell of the two tables by (region, sex) label, NaN where suppressed."""
    t1, t2 = tables
    out = {(str(r), str(s)): float(t1.loc[r, s]) if pd.notna(t1.loc[r, s]) else np.nan
           for r in t1.index for s in t1.columns}  # fmt: skip
    for r in t2.index:
        v = t2.loc[r].iloc[0]
        out[(str(r), TOTAL_LABEL)] = float(v) if pd.notna(v) else np.nan
    return out


def disclosed(cells: dict[tuple[str, str], float]) -> dict[tuple[str, str], tuple[float, float]]:
    """For every hidden cell, its interval given everything released (by LP), plus rank test."""
    tm = joint_model()
    x = tm.model_matrix()
    index = {tuple(map(str, tm.labels(c).values())): c for c in range(tm.n_cells)}
    published = np.zeros(tm.n_cells, dtype=bool)
    for key, v in cells.items():
        published[index[key]] = not np.isnan(v)
    inner = np.array([COUNTS[(r, s)] for r in ("01", "02", "03", "04") for s in ("F", "M")])
    values = np.asarray(x.T @ inner).ravel()
    pinned = determined(x, published)
    return {
        key: (*lp_interval(x, values, published, index[key]), bool(pinned[index[key]]))
        for key, v in cells.items()
        if np.isnan(v)
    }


def test_tables_protected_one_by_one_give_the_small_region_away() -> None:
    s = sdc.Session()
    frame = data()
    one = s.crosstab(frame.region, frame.sex, margins=True, name="t1",
                     hierarchies={"region": NORTH_SOUTH}).protect()  # fmt: skip
    two = s.crosstab(frame.region, margins=True, name="t2",
                     hierarchies={"region": WEST_EAST}).protect()  # fmt: skip
    assert one.status.value == "pass" and two.status.value == "pass"  # each alone is safe
    hidden = disclosed(released([one.table, two.table]))
    lo, hi, pinned = hidden[("02", TOTAL_LABEL)]
    assert pinned and lo == hi == 3.0  # ...but N (t1) minus 01 (t2) is region 02's total


def test_linked_protection_keeps_every_primary_hidden() -> None:
    s = sdc.Session()
    p1, p2 = s.protect_linked(data(), TABLES)
    assert [p.status.value for p in (p1, p2)] == ["pass", "pass"]
    hidden = disclosed(released([p1.table, p2.table]))
    for key in [("02", "F"), ("02", "M"), ("02", TOTAL_LABEL)]:
        lo, hi, pinned = hidden[key]
        assert not pinned and hi - lo > 0, (key, lo, hi)
    # Published cells are the true counts; each table joins the session as released.
    assert p1.table.loc["03", "F"] == 40 and p2.table.loc["All"].iloc[0] == 175
    assert set(s.outputs) == {"t1", "t2"} and s.outputs["t1"].protected_applied
    assert set(p1.suppressed.suppression) == {"primary", "secondary"}


def test_linked_tables_sharing_a_dimension() -> None:
    """region x sex and region x age: the region totals are shared cells."""
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({
        "region": rng.choice(["a", "b", "c", "d"], 400, p=[0.4, 0.3, 0.28, 0.02]),
        "sex": rng.choice(["F", "M"], 400),
        "age": rng.choice(["0-39", "40-69", "70+"], 400),
    })  # fmt: skip
    s = sdc.Session()
    ps = s.protect_linked(frame, [{"index": "region", "columns": "sex"},
                                  {"index": "region", "columns": "age"}])  # fmt: skip
    # region x age has an empty cell (d, 0-39): zeros are "review" in the default rules.
    assert [p.status.value for p in ps] == ["pass", "review"]
    for p in ps:  # every failing cell of each table is hidden
        fails = p.output.check.fail & p.output.model.published_mask
        assert p.release.suppressed[fails].all()
        assert bool(p.audit.ok.all())


def test_bad_linked_specs_are_clear_errors() -> None:
    s = sdc.Session()
    with pytest.raises(SdcInputError, match="unknown key"):
        s.protect_linked(data(), [{"index": "region", "colums": "sex"}])
    with pytest.raises(SdcInputError, match="differently under the same label"):
        s.protect_linked(data(), [
            {"index": "region", "hierarchies": {"region": NORTH_SOUTH}},
            {"index": "region", "columns": "sex",
             "hierarchies": {"region": {"N": ["01", "03"], "S": ["02", "04"]}}},
        ])  # fmt: skip


#: Two tables of one variable cut two ways: age bands <40, 40-64, 65+ and <65, 65+.
BANDS = {("W", "<40"): 3, ("W", "40-64"): 50, ("W", "65+"): 30, ("E", "<40"): 40,
         ("E", "40-64"): 45, ("E", "65+"): 35, ("N", "<40"): 25, ("N", "40-64"): 30,
         ("N", "65+"): 28}  # fmt: skip
COARSE = {"<40": "<65", "40-64": "<65", "65+": "65+"}


def _bands_attack(tables: list[pd.DataFrame]) -> dict[tuple[str, str], tuple[float, float]]:
    """The attacker who knows that <65 is <40 plus 40-64: an LP over the finest cells
    (region x three bands), with every released cell of both tables as an equation."""
    from scipy.optimize import linprog

    cells = list(BANDS)
    fine, coarse = tables
    rows, rhs = [], []

    def equation(region: str, bands: set[str], value: float) -> None:
        rows.append([1.0 if (r == region or region == TOTAL_LABEL) and b in bands else 0.0
                     for r, b in cells])  # fmt: skip
        rhs.append(value)

    for table, to_fine in ((fine, lambda b: {b}), (coarse, lambda b: {
            f for f, c in COARSE.items() if c == b})):  # fmt: skip
        for region in table.index:
            for band in table.columns:
                value = table.loc[region, band]
                if pd.isna(value):
                    continue
                members = set(COARSE) if band == TOTAL_LABEL else to_fine(str(band))
                equation(str(region), members, float(value))
    out = {}
    for cell in cells:
        target = np.array([1.0 if c == cell else 0.0 for c in cells])
        lo = linprog(target, A_eq=rows, b_eq=rhs, bounds=(0, None), method="highs").fun
        hi = -linprog(-target, A_eq=rows, b_eq=rhs, bounds=(0, None), method="highs").fun
        out[cell] = (lo, hi)
    return out


def test_bands_cut_from_one_variable_are_protected_as_nested() -> None:
    """region x (<40, 40-64, 65+) and region x (<65, 65+): W,<40 = 3 must not follow from
    W,<65 - W,40-64. The joint model knows the bands nest (found from the data: no record
    is both <40 and 65+), so an attacker who knows it too gets no small count."""
    rows = [(r, a, COARSE[a]) for (r, a), n in BANDS.items() for _ in range(n)]
    df = pd.DataFrame(rows, columns=["region", "age3", "age2"])
    p3, p2 = sdc.Session().protect_linked(df, [
        {"index": "region", "columns": "age3", "name": "t3"},
        {"index": "region", "columns": "age2", "name": "t2"},
    ])  # fmt: skip
    assert p3.status is sdc.Status.PASS and p2.status is sdc.Status.PASS
    intervals = _bands_attack([p3.table, p2.table])
    lo, hi = intervals[("W", "<40")]
    assert lo <= 1e-6 or hi >= 10 - 1e-6, (lo, hi)
    for cell, (lo, hi) in intervals.items():
        if BANDS[cell] < 10:
            assert hi - lo > 0.5, (cell, lo, hi)
