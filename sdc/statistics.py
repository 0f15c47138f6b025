"""The published value of every cell for each statistic a table can show.

Additive statistics (count, sum, mean) and extremes come straight from the
evidence. Median, std, var and mode are not mergeable, so they take one grouped
pass per subset of dimensions over the rows.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdc.evidence import TableEvidence

#: pandas-style aggfunc names accepted for each statistic.
AGGFUNC_ALIASES = {
    "count": "count", "size": "count", "len": "count",
    "sum": "sum", "mean": "mean", "average": "mean", "median": "median",
    "std": "std", "var": "var", "min": "min", "max": "max", "mode": "mode",
}  # fmt: skip

_FROM_EVIDENCE = {"count", "sum", "mean", "min", "max"}


def from_evidence(ev: TableEvidence, statistic: str) -> np.ndarray:
    """Cell values of an additive statistic or extreme; NaN where nothing is measured."""
    with np.errstate(divide="ignore", invalid="ignore"):
        if statistic == "count":
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


def _cell_ids(codes: np.ndarray, ev: TableEvidence, subset: int) -> np.ndarray:
    """Cell index of every row in the margin that totals over the dimensions in ``subset``."""
    model = ev.model
    k = codes.shape[1]
    strides = model.strides
    cell = np.zeros(codes.shape[0], dtype=np.int64)
    for d in range(k):
        col = np.full(codes.shape[0], model.sizes[d]) if subset >> d & 1 else codes[:, d]
        cell += col * strides[d]
    return cell


def grouped(codes: np.ndarray, values: np.ndarray, ev: TableEvidence, statistic: str) -> np.ndarray:
    """Cell values of a non-additive statistic by one grouped pass per margin subset."""
    out = np.full(ev.n_cells, np.nan)
    series = pd.Series(values)
    for subset in range(1 << codes.shape[1]):
        cells = _cell_ids(codes, ev, subset)
        g = series.groupby(cells)
        if statistic == "median":
            agg = g.median()
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
