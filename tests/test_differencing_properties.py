"""Properties of differencing, on generated data and outputs.

- Against an independent reference: atoms built with pandas, spans decided by
  plain rational elimination (``gauss_reference.in_span``): every small atom the
  reference finds derivable is a finding, with its count, and nothing else is.
- Responses to change: a group found stays found when more outputs are added;
  once the outputs it names are protected apart (one left out), it is gone.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from gauss_reference import in_span
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import sdc
from sdc.differencing.atoms import partition
from sdc.differencing.cells import RECORDS, OutputCells, Participant, _member
from sdc.differencing.detect import detect


@st.composite
def outputs(draw: st.DrawFn) -> tuple[list[int], list[np.ndarray], list[list[list[int]]]]:
    """Each output's number of leaves, its leaf per record (-1 outside it) and its published
    cells (each a list of leaves: every leaf alone or not, and the total or not)."""
    n = draw(st.integers(1, 40))
    k = draw(st.integers(2, 3))
    sizes, codes, cells = [], [], []
    for _ in range(k):
        n_leaves = draw(st.integers(1, 4))
        leaf = draw(st.lists(st.integers(-1, n_leaves - 1), min_size=n, max_size=n))
        codes.append(np.array(leaf, dtype=np.int64))
        shown = [[x] for x in range(n_leaves) if draw(st.booleans())]
        if draw(st.booleans()):
            shown.append(list(range(n_leaves)))
        cells.append(shown or [list(range(n_leaves))])
        sizes.append(n_leaves)
    return sizes, codes, cells


def _cells(o: int, n_leaves: int, shown: list[list[int]]) -> OutputCells:
    member = _member(shown, n_leaves)
    labels = [{f"o{o}": "+".join(map(str, c))} for c in shown]
    return OutputCells(
        name=f"o{o}", measure=RECORDS, member=member, published=np.ones(len(shown), bool),
        counts=None, values=np.zeros(len(shown)), cell_labels=labels,
        leaf_labels=[{f"o{o}": f"leaf{x}"} for x in range(n_leaves)],
    )  # fmt: skip


def _reference(codes: list[np.ndarray], cells: list[list[list[int]]], t: int) -> dict:
    """Derivable small atoms, by pandas and Fractions: each atom's leaves -> records."""
    frame = pd.DataFrame({f"o{i}": c for i, c in enumerate(codes)})
    frame = frame[(frame >= 0).any(axis=1)]
    if frame.empty:
        return {}
    sizes = frame.groupby(list(frame.columns)).size()
    atoms = [k if isinstance(k, tuple) else (k,) for k in sizes.index]
    rows = []
    for o, shown in enumerate(cells):
        for cell in shown:
            row = [1 if a[o] in cell else 0 for a in atoms]
            if any(row):
                rows.append(row)
    x = np.array(rows, dtype=np.int64).T.reshape(len(atoms), len(rows))
    found = {}
    for j, (atom, size) in enumerate(zip(atoms, sizes.to_numpy(), strict=True)):
        unit = np.zeros((len(atoms), 1), dtype=np.int64)
        unit[j] = 1
        if any(r == list(unit.ravel()) for r in x.T.tolist()) or not 0 < size < t:
            continue  # published on its own (its output's own rule), or not small
        if in_span(np.concatenate([x, unit], axis=1), list(range(x.shape[1])), x.shape[1]):
            found[tuple(int(v) for v in atom)] = int(size)
    return found


def _engine(sizes: list[int], codes: list[np.ndarray], cells: list[list[list[int]]],
            t: int) -> dict:  # fmt: skip
    atoms = partition(codes)
    parts = [Participant(_cells(o, sizes[o], cells[o]), atoms.leaf[o]) for o in range(len(codes))]
    found = detect(parts, atoms.counts, t, suggest=False)
    return {tuple(int(v) for v in atoms.leaf[:, f.atoms[0]]): int(f.records)
            for f in found.findings if len(f.atoms) == 1}  # fmt: skip


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs(), st.integers(2, 12))
def test_small_atoms_derivable_exactly_as_rational_elimination_says(made, t: int) -> None:
    sizes, codes, cells = made
    assert _engine(sizes, codes, cells, t) == _reference(codes, cells, t)


@st.composite
def sessions(draw: st.DrawFn) -> tuple[pd.DataFrame, list[tuple[str, str]]]:
    """Microdata and three count tables: (grouping column, population filter) each."""
    n = draw(st.integers(12, 80))
    rows = {
        "a": draw(st.lists(st.sampled_from("xyz"), min_size=n, max_size=n)),
        "b": draw(st.lists(st.sampled_from("uv"), min_size=n, max_size=n)),
        "age": draw(st.lists(st.integers(0, 9), min_size=n, max_size=n)),
    }
    specs = draw(st.lists(
        st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["", "age < 8", "age > 1"])),
        min_size=3, max_size=3,
    ))  # fmt: skip
    df = pd.DataFrame(rows)
    assume(all(not p or df.eval(p).any() for _, p in specs))  # a filter must select records
    return df, specs


def _session(df: pd.DataFrame, specs: list[tuple[str, str]]) -> sdc.Session:
    s = sdc.Session()
    for i, (column, population) in enumerate(specs):
        s.pivot_table(df, index=column, aggfunc="count", margins=bool(i % 2), name=f"t{i}",
                      population=population or None)  # fmt: skip
    return s


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions())
@example(
    (
        pd.DataFrame({"a": ["x"] * 12, "b": ["u"] * 12, "age": [0] * 11 + [8]}),
        [("a", ""), ("a", "age < 8"), ("a", "age > 1")],
    )
)  # the third publishes the group
def test_a_group_found_stays_found_when_outputs_are_added(made) -> None:
    df, specs = made
    few = _session(df, specs[:2])
    more = _session(df, specs)
    before = {_records(df, specs, f) for f in few.check_differencing().findings}
    after = {_records(df, specs, f) for f in more.check_differencing().findings}
    # A group the added output publishes as a cell of its own is judged by that output's
    # rules (it fails them: the group is small), not reported again as a difference.
    assert before - after <= _cells_of(df, specs[2], margins=False)


def _population(df: pd.DataFrame, population: str) -> np.ndarray:
    """Which records a filter selects (every record for none), as a writable mask."""
    return df.eval(population).to_numpy().copy() if population else np.ones(len(df), bool)


def _cells_of(df: pd.DataFrame, spec: tuple[str, str], *, margins: bool) -> set:
    """The records of each cell of a count table by ``spec`` (grouping, population)."""
    column, population = spec
    inside = _population(df, population)
    cells = {frozenset(np.flatnonzero(inside & (df[column] == v).to_numpy()).tolist())
             for v in df[column].unique()}  # fmt: skip
    if margins:
        cells.add(frozenset(np.flatnonzero(inside).tolist()))
    return cells


def _records(df: pd.DataFrame, specs: list[tuple[str, str]], finding) -> frozenset[int]:
    """The records a finding's combination gives (its words depend on which outputs found
    it first; the records do not), checked to be a group of the size it states."""
    from sdc.tables.model import TOTAL_LABEL

    total = np.zeros(len(df))
    for name, labels, coef in finding.combination:
        inside = _population(df, specs[int(name[1:])][1])
        for col, value in labels.items():
            if value != TOTAL_LABEL:
                inside &= df[col].astype(str).to_numpy() == value
        total += float(coef) * inside
    assert set(np.round(total, 9).tolist()) <= {0.0, 1.0}
    assert int(total.sum().round()) == finding.records
    return frozenset(np.flatnonzero(total.round() == 1).tolist())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sessions())
def test_leaving_out_an_output_a_finding_names_removes_that_finding(made) -> None:
    df, specs = made
    s = _session(df, specs)
    findings = s.check_differencing().findings
    for f in findings:
        if len(f.outputs) < 2:
            continue
        alone = _session(df, specs)
        alone.remove_output(f.outputs[-1])
        left = {(g.group, g.outputs) for g in alone.check_differencing().findings}
        assert not any(set(f.outputs) <= set(names) for _, names in left)
        assert (f.group, f.outputs) not in left
