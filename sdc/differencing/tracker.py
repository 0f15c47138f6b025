"""Differencing inside a session: every output's records, kept until the check needs them.

A :class:`Tracker` remembers, per output, the row labels of the records it covers
and how to find each record's leaf (from the columns it read, kept by reference:
nothing is copied until a check runs). ``check`` aligns the outputs' records by
their labels (rows of one DataFrame and of its filtered copies share labels),
computes the atoms with the Numba kernel and runs the exact detection.

Row labels decide which records are the same: outputs made from different data
sets whose labels coincide (two frames both numbered 0, 1, ...) are aligned as if
they were one. Keep one data set per session, or give each its own labels.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sdc.differencing.atoms import partition
from sdc.differencing.cells import (
    OutputCells,
    Participant,
    population_of,
    survival_cells,
    table_cells,
)
from sdc.differencing.detect import detect
from sdc.differencing.records import Rows, survival_leaves, table_leaves
from sdc.differencing.result import DifferencingResult


def _index(index: Any, length: int) -> pd.Index | None:
    """Row labels usable as record identities (None: none, or not one per record)."""
    if not isinstance(index, pd.Index) or len(index) != length:
        return None
    return index


class Tracker:
    """The records of a session's outputs (see the module docstring)."""

    def __init__(self) -> None:
        self.rows: dict[str, Rows] = {}

    def forget(self, name: str) -> None:
        self.rows.pop(name, None)

    def table(self, out: Any, frame: pd.DataFrame, dims: list[str], index: Any) -> None:
        """A table made from ``frame`` (its columns ``dims``); ``index``: the records' labels."""
        levels = out.model.levels
        leaves = lambda: table_leaves(frame, dims, levels)  # noqa: E731
        self.rows[out.name] = Rows(_index(index, len(frame)), leaves, table_cells_of)

    def survival(self, out: Any, data: pd.DataFrame, duration: str, event: str,
                 by: str | None, time_unit: float | None) -> None:  # fmt: skip
        """A survival table made from ``data``."""
        from sdc.canonical import label_text

        groups = [label_text(_plain(c.value)) for c in out.curves]
        memo: dict[str, Any] = {}

        def cells(_: Any = None) -> OutputCells:
            if "cells" not in memo:
                memo["cells"], memo["starts"] = survival_cells(out.name, out.table, groups, by,
                                                               population_of(out))  # fmt: skip
            return memo["cells"]

        def leaves() -> np.ndarray:
            from sdc.regression.survival import _durations, _events

            cells()
            durations = _durations(data[duration])
            if time_unit is not None:
                durations = np.floor(durations / time_unit) * time_unit
            if by is None:
                codes = np.zeros(len(data), dtype=np.int64)
            else:
                texts = [label_text(_plain(v)) for v in data[by].tolist()]
                position = {g: i for i, g in enumerate(groups)}
                codes = np.array([position[x] for x in texts], dtype=np.int64)
            return survival_leaves(codes, durations, _events(data[event]), memo["starts"])

        self.rows[out.name] = Rows(_index(data.index, len(data)), leaves, cells)

    def regression(self, out: Any) -> None:
        """A fitted model: the records it used and its 0/1 design columns (see
        :func:`sdc.differencing.design.regression_rows`)."""
        from sdc.differencing.design import regression_rows

        made = regression_rows(out)
        if made is not None:
            self.rows[out.name] = made

    def check(self, outputs: Mapping[str, Any], t: int, *, intervals: bool = False,
              suggest: bool = True) -> DifferencingResult:  # fmt: skip
        """The differencing check over ``outputs`` (the session's, in order).

        An output whose records cannot be identified is named in a note (the result is
        then ``review``) when another output publishes numbers of the same measure.
        """
        taking: list[tuple[str, Rows, OutputCells]] = []
        unplaced: list[tuple[str, str]] = []
        measures: Counter[str] = Counter()
        for name, out in outputs.items():
            rows = self.rows.get(name)
            cells = rows.cells(out) if rows is not None else _cells(out)
            if cells is None:
                continue  # a statistic that is no sum of records (median, max ...)
            measures[cells.measure] += 1
            if rows is None:
                unplaced.append((cells.measure, (
                    f"output {name!r}: the records it covers are not known (made from files, "
                    "Dask or Spark): it is not checked against the others")))  # fmt: skip
            elif rows.index is None or not rows.index.is_unique:
                unplaced.append((cells.measure, (
                    f"output {name!r}: its records have no labels of their own (arrays, or an "
                    "index with repeated labels): it is not checked against the others; give "
                    "the data a unique index")))  # fmt: skip
            else:
                taking.append((name, rows, cells))
        notes = [why for measure, why in unplaced if measures[measure] > 1]
        return run(taking, t, notes, intervals=intervals, suggest=suggest)


def _cells(out: Any) -> OutputCells | None:
    """The cells of an output whose records are not known (a table from files, Dask, Spark)."""
    return table_cells_of(out) if hasattr(out, "model") and hasattr(out, "check") else None


def place(taking: list[tuple[str, Rows, OutputCells]]) -> tuple[list[Participant], Any]:
    """The outputs' records aligned by label, the atoms, and each output as a participant."""
    indexes = [rows.index for _, rows, _ in taking if rows.index is not None]
    position, universe = pd.factorize(pd.Index([]).append(indexes))
    codes = []
    start = 0
    for (_, rows, _), index in zip(taking, indexes, strict=True):
        code = np.full(len(universe), -1, dtype=np.int64)
        code[position[start : start + len(index)]] = rows.leaves()
        codes.append(code)
        start += len(index)
    atoms = partition(codes)
    return [Participant(cells, atoms.leaf[o]) for o, (_, _, cells) in enumerate(taking)], atoms


def run(taking: list[tuple[str, Rows, OutputCells]], t: int, notes: list[str], *,
        intervals: bool = False, suggest: bool = True) -> DifferencingResult:  # fmt: skip
    """Align the outputs' records by label, make the atoms and detect (see :func:`detect`)."""
    names = tuple(name for name, _, _ in taking)
    if max(Counter(cells.measure for _, _, cells in taking).values(), default=0) < 2:
        return DifferencingResult(notes=tuple(notes), checked=names)
    parts, atoms = place(taking)
    found = detect(parts, atoms.counts, t, intervals=intervals, suggest=suggest)
    return DifferencingResult(
        findings=tuple(found.findings), notes=tuple(notes + found.notes),
        suggestions=tuple(found.suggestions), checked=names, method="records",
        info={"atoms": atoms.n_atoms, **found.info},
    )  # fmt: skip


def table_cells_of(out: Any) -> OutputCells | None:
    """A session's table as differencing sees it (its released version)."""
    d = out.definition if isinstance(out.definition, dict) else {}
    constant = tuple(x.get("name") for x in d.get("dims", []) if x.get("constant") is not None)
    rounded = out.protected.rounded_to if out.protected_applied else None
    return table_cells(
        out.name, out.model, out.statistic, out.value_name, out.released_values,
        out.check.evidence.records, rounded, population_of(out), constant,
    )  # fmt: skip


def _plain(x: Any) -> Any:
    if isinstance(x, np.generic):
        x = x.item()
    return x if isinstance(x, str | int | float | bool) else str(x)
