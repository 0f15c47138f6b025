"""The published value of every cell for each statistic a table can show.

Additive statistics (count, sum, mean) and extremes come straight from the
evidence. Median, std, var and mode are not mergeable, so they take one grouped
pass per subset of dimensions over the rows.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import numpy as np
import pandas as pd

from sdc.rules.statistic import quantile_of
from sdc.tables.evidence import TableEvidence

#: pandas-style aggfunc names accepted for each statistic.
AGGFUNC_ALIASES = {
    "count": "count", "size": "count", "len": "count",
    "sum": "sum", "mean": "mean", "average": "mean", "median": "median",
    "std": "std", "var": "var", "min": "min", "max": "max", "mode": "mode",
}  # fmt: skip

#: Statistics whose cells are record counts.
COUNTS = ("count", "histogram")

_FROM_EVIDENCE = {*COUNTS, "sum", "mean", "min", "max"}


def from_evidence(ev: TableEvidence, statistic: str) -> np.ndarray:
    """Cell values of an additive statistic or extreme; NaN where nothing is measured."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if statistic in COUNTS:
            return ev.records.astype(np.float64)
        measured = ev.nonmissing > 0
        if statistic == "sum":
            return np.where(measured, ev.sum, np.nan)
        if statistic == "mean":
            return np.where(measured, ev.sum / ev.nonmissing, np.nan)
        if statistic == "min":
            return np.where(measured, ev.min, np.nan)
        if statistic == "max":
            return np.where(measured, ev.max, np.nan)
    raise KeyError(statistic)


def member_cells(codes: np.ndarray, ev: TableEvidence) -> Iterator[np.ndarray]:
    """Cell index of every row for each combination of member slots (-1: no such cell).

    Slot j of dimension d is the j-th code a leaf aggregates into (itself, the
    total, its groups); every cell a row belongs to comes out exactly once.
    """
    model = ev.model
    table, offsets, strides = model.member_table, model.leaf_offsets, model.strides
    k = codes.shape[1]
    for slots in itertools.product(range(table.shape[1]), repeat=k):
        cell = np.zeros(codes.shape[0], dtype=np.int64)
        for d in range(k):
            code = table[offsets[d] + codes[:, d], slots[d]]
            cell = np.where((code < 0) | (cell < 0), -1, cell + code * strides[d])
        yield cell


def grouped(codes: np.ndarray, values: np.ndarray, ev: TableEvidence, statistic: str) -> np.ndarray:
    """Cell values of a non-additive statistic by one grouped pass over every (cell, row).

    A cell may take rows through different member slots (a group over a subgroup and a
    level: the subgroup's rows come through one slot, the level's through another), so
    the memberships of all slot combinations are grouped together.
    """
    out = np.full(ev.n_cells, np.nan)
    found = [(cells[cells >= 0], values[cells >= 0]) for cells in member_cells(codes, ev)]
    cells = np.concatenate([c for c, _ in found])
    if not cells.size:
        return out
    g = pd.Series(np.concatenate([v for _, v in found])).groupby(cells)
    if statistic == "median":
        agg = g.median()
    elif (q := quantile_of(statistic)) is not None:
        agg = g.quantile(q)
    elif statistic in ("std", "var"):
        agg = g.std(ddof=1) if statistic == "std" else g.var(ddof=1)
    elif statistic == "mode":
        agg = g.agg(lambda s: s.mode().min() if s.notna().any() else np.nan)
    else:
        raise KeyError(statistic)
    out[agg.index.to_numpy()] = agg.to_numpy(dtype=np.float64)
    return out


def cell_values(
    ev: TableEvidence, statistic: str, codes: np.ndarray | None, values: np.ndarray | None
) -> np.ndarray:
    """The value every cell publishes for ``statistic``."""
    if statistic in _FROM_EVIDENCE:
        return from_evidence(ev, statistic)
    if codes is None or values is None:
        raise KeyError(f"{statistic} needs the rows")
    return grouped(codes, values, ev, statistic)
