"""No file of the egress folder pairs a hidden cell with what it hides (property test).

Generated sessions with suppression on: a linked set of count tables with margins
(``protect_linked``), a sum table with margins, a histogram (sometimes with its
plot) and ``describe`` tables. Each is finalised, approved (the reason names every
output, so everything the gate lets through leaves) and released into an egress
folder. For every cell the session suppressed (primary or secondary), whose true
value, record count, contributor count and sum are known from the session:

- its row in its own released file is empty;
- every released table that publishes the same quantity (the same statistic of the
  same column over the same records: a shared margin of linked tables) hides it too;
- the release summary holds no label of any cell at all, and no number but the rules'
  parameters and the files' sizes;
- a plot is exactly the drawing of its released (checked) file, with the hidden bars
  marked "suppressed";
- nothing else is in the folder: no evidence, no report, no manifest.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import sdc
from sdc.canonical import read_csv, read_text
from sdc.plots import draw
from sdc.release.workflow import NothingLeaves, release_request
from sdc.tables.model import TOTAL_LABEL
from sdc.tables.output import TableOutput

DIMS = ("g1", "g2", "h", "k")


@st.composite
def frames(draw_: Any) -> pd.DataFrame:
    n = draw_(st.integers(40, 110))
    rng = np.random.default_rng(draw_(st.integers(0, 2**32 - 1)))

    def skewed(prefix: str, levels: int) -> list[str]:
        p = rng.dirichlet(np.full(levels, 0.6))
        return [f"{prefix}_{i}" for i in rng.choice(levels, size=n, p=p)]

    values = rng.lognormal(3, 1.5, n).round(2)
    values[rng.integers(0, n)] *= 40  # a dominant contributor somewhere
    return pd.DataFrame({
        "g1": skewed("g1", draw_(st.integers(2, 4))), "g2": skewed("g2", draw_(st.integers(2, 3))),
        "h": skewed("h", draw_(st.integers(2, 4))), "k": skewed("k", draw_(st.integers(2, 3))),
        "x": rng.normal(50, 15, n).round(1), "v": values,
        "patient": [f"p{i // 2}" for i in range(n)],
    })  # fmt: skip


def _session(df: pd.DataFrame, aggs: tuple[str, ...], plot: bool) -> sdc.Session:
    s = sdc.Session(suppress=True)
    s.protect_linked(df, [{"index": "g1", "columns": "g2", "name": "linked_a"},
                          {"index": "g1", "name": "linked_b"}])  # fmt: skip
    s.pivot_table(df, index="h", values="v", aggfunc="sum", margins=True, contributor="patient",
                  name="sums")  # fmt: skip
    s.hist(df, "x", bins=6, plot=plot, name="hist")
    s.describe(df, "v", by="k", stats=aggs, name="desc")
    return s


def _identity(o: TableOutput, cell: int) -> tuple[Any, ...]:
    """The quantity a cell publishes: statistic and column, and its records (every dimension
    of the session, at its total where the table lacks it)."""
    labels = {k: str(v) for k, v in o.model.labels(cell).items()}
    return (o.statistic, o.value_name,
            tuple(labels.get(d, TOTAL_LABEL) if d in DIMS else f"{d}={labels[d]}"
                  for d in (*DIMS, *(d for d in o.model.dims if d not in DIMS))))  # fmt: skip


def _hidden(o: TableOutput) -> list[tuple[int, set[float]]]:
    """Each suppressed published cell and its true value, records, contributors and sum."""
    ev = o.check.evidence
    cells = np.flatnonzero(o.protected.suppressed & o.model.published_mask)
    out = []
    for c in cells.tolist():
        secret = {float(ev.records[c]), float(ev.contributors[c])}
        if np.isfinite(o.values[c]):
            secret.add(float(o.values[c]))
        if ev.has_values and np.isfinite(ev.sum[c]):
            secret.add(float(ev.sum[c]))
        out.append((c, secret))
    return out


def _rows(data: bytes, dims: tuple[str, ...]) -> dict[tuple[str, ...], str]:
    rows = read_csv(data, 10**7)
    assert [read_text(h) for h in rows[0][: len(dims)]] == list(dims)
    return {tuple(read_text(x) for x in r[: len(dims)]): r[-1] for r in rows[1:]}


def _strings(obj: Any) -> list[str]:
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for k, v in obj.items() for s in [k, *_strings(v)]]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _numbers(obj: Any) -> list[float]:
    if isinstance(obj, bool):
        return []
    if isinstance(obj, int | float):
        return [float(obj)]
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _numbers(v)]
    return []


SLOW_OK = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@settings(max_examples=12, deadline=None, suppress_health_check=SLOW_OK)
@given(df=frames(), aggs=st.sampled_from([("count", "mean"), ("sum", "median"), ("mean",)]),
       plot=st.booleans())  # fmt: skip
def test_no_egress_file_pairs_a_hidden_cell_with_what_it_hides(
    tmp_path_factory: Any, df: pd.DataFrame, aggs: tuple[str, ...], plot: bool
) -> None:
    tmp = tmp_path_factory.mktemp("leak")
    s = _session(df, aggs, plot)
    folder = s.finalise(tmp / "req", author="alice")
    names = " ".join(s.outputs)
    try:
        doc = release_request(folder, registry=f"sqlite:///{tmp}/registry.db", by="bob",
                              action="approve", reason=f"checked: {names}", out=tmp / "egress",
                              rules="default", trust_unsigned=True)  # fmt: skip
    except NothingLeaves:
        assume(False)
    egress = Path(doc["egress"])
    files = {p.name: p.read_bytes() for p in egress.iterdir()}
    tables = {n: o for n, o in s.outputs.items() if isinstance(o, TableOutput)}
    allowed = {"release.json"} | {f"{n}.csv" for n in tables} | {"hist.svg"}
    assert set(files) <= allowed and "release.json" in files

    hidden = {n: _hidden(o) for n, o in tables.items()}
    published: dict[tuple[Any, ...], list[str]] = {}
    for n, o in tables.items():
        if f"{n}.csv" not in files:
            continue
        rows = _rows(files[f"{n}.csv"], o.model.dims)
        for c in np.flatnonzero(o.model.published_mask).tolist():
            key = tuple(str(v) for v in o.model.labels(c).values())
            if rows[key] != "":
                published.setdefault(_identity(o, c), []).append(n)
        for c, _ in hidden[n]:  # its own row is empty
            key = tuple(str(v) for v in o.model.labels(c).values())
            assert rows[key] == "", (n, key)
    for n, o in tables.items():  # no released table publishes the quantity another hides
        for c, _ in hidden[n]:
            if f"{n}.csv" in files:
                assert _identity(o, c) not in published, (n, o.model.labels(c))

    summary = json.loads(files["release.json"])
    labels = {str(v) for o in tables.values() for c in range(o.model.n_cells)
              for k, v in o.model.labels(c).items() if str(v) != TOTAL_LABEL}  # fmt: skip
    assert not labels & set(_strings(summary))
    # its only numbers are the rules' parameters and the files' sizes: no cell's anything
    del summary["rules"]["parameters"]
    for o in summary["outputs"]:
        for f in o["files"]:
            del f["bytes"]
    assert _numbers(summary) == []

    if "hist.svg" in files:
        csv = files["hist.csv"].decode()
        assert files["hist.svg"].decode() == draw("frequency table", "histogram", csv, "hist")
        assert files["hist.svg"].decode().count(">suppressed<") == csv.count(",\n")
