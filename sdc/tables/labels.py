"""The one adapter from cell indices back to the user's labels (wide and long frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdc.tables.model import TableModel


def _axis(model: TableModel, dims: range) -> pd.Index:
    names = [model.dims[d] for d in dims]
    if model.margins:
        levels = [model.dim_labels(d) for d in dims]
    else:
        levels = [list(model.levels[d]) for d in dims]
    if len(levels) == 1:
        return pd.Index(levels[0], name=names[0], dtype=object)
    return pd.MultiIndex.from_product(levels, names=names)


def wide_frame(
    model: TableModel, cell_values: np.ndarray, name: str, integer: bool = False
) -> pd.DataFrame:
    """Published cells laid out as ``pandas.crosstab`` would: row dims down, column dims across.

    ``integer`` gives counts pandas' nullable integer dtype (suppressed cells are ``<NA>``).
    """
    cube = cell_values.reshape(model.shape)
    if not model.margins:
        cube = cube[tuple(slice(0, s - 1) for s in model.shape)]
    k, r = len(model.dims), model.n_rows
    rows = _axis(model, range(r)) if r else pd.Index([name])
    cols = _axis(model, range(r, k)) if r < k else pd.Index([name])
    frame = pd.DataFrame(cube.reshape(len(rows), len(cols)), index=rows, columns=cols)
    return frame.astype("Int64") if integer else frame


def long_frame(
    model: TableModel, cell_values: np.ndarray, name: str, integer: bool = False
) -> pd.DataFrame:
    """One row per published cell: a column per dimension (labels) and the value."""
    cells = np.flatnonzero(model.published_mask)
    frame = cell_labels(model, cells)
    values = pd.Series(cell_values[cells])
    frame[name] = values.astype("Int64") if integer else values
    return frame


def cell_labels(model: TableModel, cells: np.ndarray) -> pd.DataFrame:
    """Labels of the given cells, a column per dimension."""
    data = {}
    for d, dim in enumerate(model.dims):
        labels = np.array(model.dim_labels(d), dtype=object)
        data[dim] = labels[model.coords[cells, d]]
    return pd.DataFrame(data)
