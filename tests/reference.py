"""Plain pandas twins of the Numba kernels, written from the definitions alone.

Each twin is slow and obvious on purpose: the property tests hold the kernels to
it, so it must not share code (or shortcuts) with them.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from sdc.tables.factorize import MISSING_LABEL
from sdc.tables.model import TOTAL_LABEL

Key = tuple[Any, ...]
Cell = dict[str, Any]


def _plain(x: Any) -> Any:
    return x.item() if isinstance(x, np.generic) else x


def _labels(series: pd.Series) -> pd.Series:
    """Labels as a table shows them: Python scalars, a missing value as its own level."""
    out = pd.Series([_plain(x) for x in series.astype(object)], index=series.index, dtype=object)
    return out.where(series.notna().to_numpy(), MISSING_LABEL)


def _levels(series: pd.Series, labels: pd.Series) -> list[Any]:
    """Observed labels; a categorical column has all its declared categories, used or not."""
    if not isinstance(series.dtype, pd.CategoricalDtype):
        return list(pd.unique(labels))
    declared = [_plain(c) for c in series.cat.categories]
    return declared + ([MISSING_LABEL] if series.isna().any() else [])


def empty_cell(top_k: int) -> Cell:
    """The evidence of a cell without records."""
    return {
        "records": 0, "nonmissing": 0, "missing": 0, "negatives": 0, "contributors": 0,
        "sum": 0.0, "abs_sum": 0.0, "min": np.inf, "max": -np.inf, "top": [-np.inf] * top_k,
    }  # fmt: skip


def _as_key(label: Any) -> Key:
    parts = label if isinstance(label, tuple) else (label,)
    return tuple(_plain(x) for x in parts)


def reference_evidence(
    frame: pd.DataFrame,
    dims: list[str],
    value: str | None,
    contributor: str | None,
    top_k: int,
) -> dict[Key, Cell]:
    """Evidence of every cell (margins included) keyed by its labels, ``TOTAL_LABEL`` for a total.

    The cells are every combination of levels (observed ones, or the declared
    categories of a categorical column) on every subset of ``dims``, so cells
    without records appear with zero counts. Without ``value`` each record
    counts 1; without ``contributor`` each record is its own contributor.
    """
    keys = [f"_dim{i}" for i in range(len(dims))]
    data = pd.DataFrame({key: _labels(frame[d]) for key, d in zip(keys, dims, strict=True)})
    if value is None:
        data["_value"] = 1.0
    else:
        data["_value"] = frame[value].to_numpy(dtype=np.float64, na_value=np.nan)
    if contributor is None:
        data["_who"] = np.arange(len(frame))
    else:
        data["_who"] = frame[contributor].to_numpy()
    data["_missing"] = data["_value"].isna()
    data["_negative"] = data["_value"] < 0
    data["_abs"] = data["_value"].abs()
    levels = [_levels(frame[d], data[key]) for d, key in zip(dims, keys, strict=True)]

    result: dict[Key, Cell] = {}
    for totals in itertools.product((False, True), repeat=len(dims)):
        choices = [[TOTAL_LABEL] if t else lv for t, lv in zip(totals, levels, strict=True)]
        for combo in itertools.product(*choices):
            result[_as_key(combo)] = empty_cell(top_k)
        if data.empty:
            continue
        view = data.copy()
        for key, t in zip(keys, totals, strict=True):
            if t:
                view[key] = TOTAL_LABEL
        _fill(result, view, keys, top_k)
    for cell in result.values():
        cell["nonmissing"] = cell["records"] - cell["missing"]
    return result


def _fill(result: dict[Key, Cell], view: pd.DataFrame, keys: list[str], top_k: int) -> None:
    """Write the aggregates of ``view`` grouped by ``keys`` into ``result``."""
    by_cell = view.groupby(keys, sort=False)
    columns: dict[str, pd.Series] = {
        "records": by_cell.size(),
        "missing": by_cell["_missing"].sum(),
        "negatives": by_cell["_negative"].sum(),
        "sum": by_cell["_value"].sum(),
        "abs_sum": by_cell["_abs"].sum(),
        "min": by_cell["_value"].min(),
        "max": by_cell["_value"].max(),
    }
    for name, series in columns.items():
        for label, x in series.items():
            cell = result[_as_key(label)]
            if name in ("min", "max"):
                cell[name] = float(x) if x == x else cell[name]
            elif name in ("sum", "abs_sum"):
                cell[name] = float(x)
            else:
                cell[name] = int(x)

    present = view[~view["_missing"]]
    per_contributor = present.groupby([*keys, "_who"], sort=False)["_value"].sum()
    for label, totals in per_contributor.groupby(level=list(range(len(keys))), sort=False):
        ranked = sorted((float(t) for t in totals), reverse=True)
        cell = result[_as_key(label)]
        cell["contributors"] = len(ranked)
        cell["top"] = (ranked + [-np.inf] * top_k)[:top_k]
