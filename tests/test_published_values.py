"""Every published number against an independent computation, through every door.

For each statistic a table can publish, every cell (margins included) is recomputed here
from its rows with plain numpy, from the statistic's definition, and compared with what
the Session API shows, what ``sdc crosstab --json`` reports and what ``finalise`` writes
for the gate. The data carry the awkward cases on purpose: missing values, negatives,
ties (for the mode and the quantiles), cells with one record, with one non-missing
value, with none, and empty cells (a declared category with no rows).

A permissive rule set is used (no rule applies), so that no value is withheld for
failing: what is compared is the number, not the verdict.
"""

from __future__ import annotations

import contextlib
import io
import json
from collections import Counter
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sdc
from sdc.cli import main

STATISTICS = ("count", "sum", "mean", "median", "p25", "p90", "std", "var", "mode", "min", "max")

PERMISSIVE = 'extends = "default"\n[statistic]\nrefused = []\n[statistics]\n' + "".join(
    f"{s} = []\n"
    for s in ("count", "sum", "mean", "median", "quantile", "std", "var", "min", "max", "mode")
)


def reference(values: np.ndarray, statistic: str) -> float | frozenset[float]:
    """The statistic of one cell's rows, from its definition (NaN: nothing to publish)."""
    if statistic == "count":
        return float(values.size)  # records in the cell, missing values included
    x = values[~np.isnan(values)]
    if x.size == 0:
        return np.nan
    if statistic == "sum":
        return float(x.sum())
    if statistic == "mean":
        return float(x.sum() / x.size)
    if statistic == "median" or statistic.startswith("p"):
        q = 0.5 if statistic == "median" else int(statistic[1:]) / 100
        return quantile_on_grid(x, q)
    if statistic in ("std", "var"):
        if x.size < 2:
            return np.nan
        var = float(((x - x.mean()) ** 2).sum() / (x.size - 1))
        return var**0.5 if statistic == "std" else var
    if statistic == "mode":
        counts = Counter(x.tolist())
        top = max(counts.values())
        return float(min(v for v, c in counts.items() if c == top))
    if statistic == "min":
        return float(x.min())
    if statistic == "max":
        return float(x.max())
    raise KeyError(statistic)


def significant(x: float, digits: int = 3) -> float:
    """``x`` to ``digits`` significant figures, half to even on its exact binary value: the
    grid the default rule set publishes quantiles on (``[quantile] significant_figures``)."""
    if x == 0 or not np.isfinite(x):
        return x
    exact = Decimal(x)
    step = Decimal(1).scaleb(exact.adjusted() - digits + 1)
    return float(exact.quantize(step, rounding=ROUND_HALF_EVEN))


def quantile_on_grid(x: np.ndarray, q: float) -> float | frozenset[float]:
    """The linear-interpolation quantile (numpy's and pandas' default), rounded to the grid.

    Computed exactly (rationals), then rounded. Where the exact value lies within 1e-12
    of a rounding boundary, floating point may land on either side of it, so both
    neighbours are accepted.
    """
    xs = sorted(Fraction(v) for v in x.tolist())
    h = (len(xs) - 1) * Fraction(round(q * 100), 100)
    lo = int(h)
    exact = xs[lo] + (h - lo) * (xs[min(lo + 1, len(xs) - 1)] - xs[lo])
    near = {significant(float(exact) * (1 + s * 1e-12)) for s in (-1, 0, 1)}
    return near.pop() if len(near) == 1 else frozenset(near)


def reference_cells(df: pd.DataFrame, statistic: str) -> dict[tuple[str, str], Any]:
    """Every cell of the table a x b with margins ("All"), recomputed from its rows."""
    a_levels = [str(x) for x in df["a"].cat.categories] + ["All"]
    b_levels = [str(x) for x in df["b"].cat.categories] + ["All"]
    out = {}
    for a in a_levels:
        for b in b_levels:
            rows = np.ones(len(df), dtype=bool)
            if a != "All":
                rows &= (df["a"].astype(str) == a).to_numpy()
            if b != "All":
                rows &= (df["b"].astype(str) == b).to_numpy()
            out[(a, b)] = reference(df["v"].to_numpy(dtype=float)[rows], statistic)
    return out


def assert_cells_equal(got: dict, want: dict, where: str) -> None:
    assert set(got) == set(want), where
    for cell, w in want.items():
        g = got[cell]
        if isinstance(w, frozenset):  # a quantile at a rounding boundary: either neighbour
            assert g in w, f"{where} {cell}: {g} instead of one of {sorted(w)}"
            continue
        if np.isnan(w):
            assert g is None or np.isnan(g), f"{where} {cell}: {g} instead of nothing"
        else:
            assert g is not None and np.isclose(g, w, rtol=1e-9, atol=1e-9), (
                f"{where} {cell}: {g} instead of {w}"
            )


@pytest.fixture(scope="module")
def rules_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("rules") / "permissive.toml"
    path.write_text(PERMISSIVE, encoding="utf-8")
    return path


def frames() -> st.SearchStrategy[pd.DataFrame]:
    value = st.one_of(
        st.sampled_from([-3.0, -1.0, 0.0, 1.0, 2.0, 2.0, 5.0, 7.5]),  # ties come often
        st.just(np.nan),
        st.floats(-1e3, 1e3, allow_nan=False).map(lambda x: round(x, 2)),
    )
    row = st.tuples(st.sampled_from(["x", "y", "z"]), st.sampled_from(["p", "q"]), value)
    return st.lists(row, min_size=1, max_size=40).map(_frame)


def _frame(rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["a", "b", "v"])
    # "w" is a declared level with no rows: its cells are empty.
    df["a"] = pd.Categorical(df["a"], categories=["w", "x", "y", "z"])
    df["b"] = pd.Categorical(df["b"], categories=["p", "q"])
    return df


def api_cells(df: pd.DataFrame, statistic: str) -> dict[tuple[str, str], float]:
    s = sdc.Session(rules=sdc.RuleSet.from_toml(PERMISSIVE))
    t = s.pivot_table(df, index="a", columns="b", values="v", aggfunc=statistic, margins=True)
    long = t.released_long()
    col = long.columns[-1]
    return {
        (str(r["a"]), str(r["b"])): (np.nan if pd.isna(r[col]) else float(r[col]))
        for r in long.to_dict("records")
    }


@settings(max_examples=60, deadline=None)
@given(frames(), st.sampled_from(STATISTICS))
def test_session_publishes_each_statistic_as_defined(df: pd.DataFrame, statistic: str) -> None:
    assert_cells_equal(api_cells(df, statistic), reference_cells(df, statistic), statistic)


#: One fixed table with every awkward cell: x,p has one record, x,q one record with a
#: missing value, y,p ties (mode and quantiles), y,q negatives, z,p values with a missing
#: one, z,q all missing; "w" has no rows.
AWKWARD = _frame(
    [("x", "p", 4.0), ("x", "q", np.nan)]
    + [("y", "p", v) for v in (2.0, 2.0, 3.0, 3.0, 9.0)]
    + [("y", "q", v) for v in (-5.0, -1.0, 0.0, 8.25)]
    + [("z", "p", v) for v in (1.5, np.nan, 6.0, 10.0)]
    + [("z", "q", np.nan), ("z", "q", np.nan)]
)


@pytest.mark.parametrize("statistic", STATISTICS)
def test_awkward_cells_through_the_session(statistic: str) -> None:
    assert_cells_equal(api_cells(AWKWARD, statistic), reference_cells(AWKWARD, statistic), "api")


def _cli_json(argv: list[str]) -> dict:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main(argv)
    return json.loads(out.getvalue())


@pytest.mark.parametrize("statistic", STATISTICS)
def test_awkward_cells_through_the_command_line(
    statistic: str, rules_file: Path, tmp_path: Path
) -> None:
    """``sdc crosstab --json``: a CSV cannot declare the empty level "w", so it is absent."""
    data = AWKWARD[AWKWARD.a != "w"].astype({"a": str, "b": str})
    path = tmp_path / "d.csv"
    data.to_csv(path, index=False)
    report = _cli_json([
        "crosstab", str(path), "--index", "a", "--columns", "b", "--values", "v",
        "--aggfunc", statistic, "--margins", "--rules", str(rules_file), "--json",
    ])  # fmt: skip
    (table,) = report["outputs"]
    got = {
        (c["labels"]["a"], c["labels"]["b"]): (np.nan if c["value"] is None else c["value"])
        for c in table["cells"]
    }
    want = reference_cells(_frame(list(data.itertuples(index=False))), statistic)
    want = {k: v for k, v in want.items() if k[0] != "w"}
    assert_cells_equal(got, want, "cli")


@pytest.mark.parametrize("statistic", STATISTICS)
def test_awkward_cells_as_finalised_and_as_the_gate_reads_them(
    statistic: str, rules_file: Path, tmp_path: Path
) -> None:
    """What leaves (the released CSV) holds the defined values, and the gate passes it."""
    s = sdc.Session(rules=str(rules_file))
    s.pivot_table(
        AWKWARD, index="a", columns="b", values="v", aggfunc=statistic, margins=True, name="t"
    )
    folder = s.finalise(tmp_path / "req")
    released = pd.read_csv(folder / "t.csv", dtype={"a": str, "b": str})
    col = released.columns[-1]
    got = {
        (r["a"], r["b"]): (np.nan if pd.isna(r[col]) else float(r[col]))
        for r in released.to_dict("records")
    }
    assert_cells_equal(got, reference_cells(AWKWARD, statistic), "released")
    verdict = sdc.gate.check_folder(folder, str(rules_file), trust_unsigned=True)
    assert verdict["outputs"][0]["status"] == "pass", verdict["outputs"][0]["reasons"]


def _tampered(text: str, col_index: int, statistic: str) -> str:
    """The released CSV with its first non-empty value changed: for a statistic the gate
    re-derives from the evidence, by the least visible amount (its last digit); for one it
    cannot, to a value beyond every value of the table (no cell's rows could give it)."""
    lines = text.split("\n")
    for i, line in enumerate(lines[1:], 1):
        fields = line.split(",")
        if len(fields) > col_index and fields[col_index] not in ("", None):
            value = fields[col_index]
            if statistic in ("count", "sum", "mean", "min", "max"):
                fields[col_index] = str(int(value) + 1) if "." not in value else value + "1"
            else:
                fields[col_index] = "1000.0"
            lines[i] = ",".join(fields)
            return "\n".join(lines)
    raise AssertionError("no published value to change")


@pytest.mark.parametrize("statistic", STATISTICS)
def test_the_gate_fails_a_changed_value_of_each_statistic(
    statistic: str, rules_file: Path, tmp_path: Path
) -> None:
    """The gate re-derives count, sum, mean, min and max from the evidence and any other
    statistic is bounded by its cell's range: one changed value (digest recorded again, as
    someone rewriting the manifest would) fails, naming the cell."""
    from gate_corpus import redigest

    s = sdc.Session(rules=str(rules_file))
    s.pivot_table(
        AWKWARD, index="a", columns="b", values="v", aggfunc=statistic, margins=True, name="t"
    )
    folder = s.finalise(tmp_path / "req")
    path = folder / "t.csv"
    text = path.read_text(encoding="utf-8")
    changed = _tampered(text, 2, statistic)
    assert changed != text
    path.write_text(changed, encoding="utf-8")
    redigest(folder, "t.csv")
    verdict = sdc.gate.check_folder(folder, str(rules_file), trust_unsigned=True)
    (out,) = verdict["outputs"]
    assert out["status"] == "fail"
    why = " ".join(out["reasons"])
    assert "the table was changed after it was checked" in why, why


#: A table whose first cell has rows (x, p), contributors with several records in a cell
#: (the quantile rule counts contributors, not records), a missing value, and negatives.
SURROUNDED = pd.DataFrame(
    [("x", "p", v, i) for i, v in enumerate((4.0, 4.1, 4.0, 3.9, 100.0, 4.2), start=7)]
    + [("x", "q", v, i % 3) for i, v in enumerate((1.0, 2.0, 2.0, 2.0, np.nan, 5.0, 6.0))]
    + [("y", "p", v, 20) for v in (10.0, 10.0, 10.5)]
    + [("y", "q", v, 21 + i) for i, v in enumerate((-5.0, -1.0, 0.0, 8.25, -0.99))],
    columns=["a", "b", "v", "who"],
)


def surrounding(x: np.ndarray, who: np.ndarray | None, v: float) -> tuple[int, int, int, bool]:
    """Contributors (records without ``who``) below, above and within 5% of ``v``; whether a
    record equals it: the quantile rule's evidence, from its definition."""
    keep = ~np.isnan(x)
    x = x[keep]
    ids = np.arange(x.size) if who is None else who[keep]

    def distinct(mask: np.ndarray) -> int:
        return len(set(ids[mask].tolist()))

    return (distinct(x < v), distinct(x > v), distinct(np.abs(x - v) <= 0.05 * abs(v)),
            bool((x == v).any()))  # fmt: skip


@pytest.mark.parametrize("contributor", [None, "who"])
@pytest.mark.parametrize("statistic", ["median", "p25", "p90"])
def test_quantile_evidence_counts_what_surrounds_each_published_value(
    statistic: str, contributor: str | None
) -> None:
    s = sdc.Session(rules=sdc.RuleSet.from_toml(PERMISSIVE))
    t = s.pivot_table(SURROUNDED, index="a", columns="b", values="v", aggfunc=statistic,
                      margins=True, contributor=contributor)  # fmt: skip
    q = t.check.evidence.quantile
    model = t.model
    checked = 0
    for cell in np.flatnonzero(model.published_mask).tolist():
        labels = model.labels(cell)
        rows = np.ones(len(SURROUNDED), dtype=bool)
        for dim, label in labels.items():
            if label != "All":
                rows &= (SURROUNDED[dim] == label).to_numpy()
        x = SURROUNDED["v"].to_numpy(dtype=float)[rows]
        who = None if contributor is None else SURROUNDED["who"].to_numpy()[rows]
        want_value = reference(x, statistic)
        v = float(q.value[cell])
        assert v in (want_value if isinstance(want_value, frozenset) else {want_value}), cell
        got = (int(q.below[cell]), int(q.above[cell]), int(q.near[cell]), bool(q.exact[cell]))
        assert got == surrounding(x, who, v), (labels, v)
        checked += 1
    assert checked == 9  # 2 x 2 cells, 2 + 2 margins and the grand total


@pytest.mark.parametrize("digits", [0, 1, 2, 3, 5])
def test_round_significant_against_decimal(digits: int) -> None:
    """The grid quantiles are published on, against :func:`significant` (exact decimal
    rounding, half to even); 0 digits leaves values as they are; the input is untouched."""
    from sdc.tables.quantiles import round_significant

    values = np.array([51234.0, 0.012345, -987.6, 1.5, 2.5, 7.0, np.nan, 0.0, -0.00456789])
    before = values.copy()
    got = round_significant(values, digits)
    np.testing.assert_array_equal(values, before)
    want = values if digits == 0 else [significant(v, digits) for v in values.tolist()]
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("statistic", ["median", "p90", "std", "mode"])
def test_cells_of_groups_of_different_depths(statistic: str) -> None:
    """Groups of different depths (G = G1 and y, G1 = x; H = z): a row of y or z belongs to
    fewer cells than a row of x, and every cell still holds the statistic of its rows."""
    df = SURROUNDED.assign(a=SURROUNDED["a"].replace({"y": "z"}))
    df = pd.concat([df, SURROUNDED[SURROUNDED.a == "y"]], ignore_index=True)
    leaves = {"G": ["x", "y"], "G1": ["x"], "H": ["z"]}
    s = sdc.Session(rules=sdc.RuleSet.from_toml(PERMISSIVE))
    hierarchy = {"G": ["G1", "y"], "G1": ["x"], "H": ["z"]}
    t = s.pivot_table(df, index="a", columns="b", values="v", aggfunc=statistic,
                      margins=True, hierarchies={"a": hierarchy})  # fmt: skip
    model, checked = t.model, 0
    for cell in np.flatnonzero(model.published_mask).tolist():
        labels = model.labels(cell)
        rows = np.ones(len(df), dtype=bool)
        for dim, label in labels.items():
            if label == "All":
                continue
            members = leaves.get(label, [label]) if dim == "a" else [label]
            rows &= df[dim].isin(members).to_numpy()
        want = reference(df["v"].to_numpy(dtype=float)[rows], statistic)
        got = float(t.values[cell])
        if isinstance(want, frozenset):
            assert got in want, (labels, got, want)
        elif np.isnan(want):
            assert np.isnan(got), (labels, got)
        else:
            assert np.isclose(got, want, rtol=1e-9, atol=1e-9), (labels, got, want)
        checked += 1
    assert checked == 7 * 3  # x, y, z, the total, G, G1, H; by p, q and the total
