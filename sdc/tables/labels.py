"""The one adapter from cell indices back to the user's labels (wide and long frames)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sdc.canonical import csv_text, label_text, number_text, text_field
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


def table_csv(model: TableModel, cell_values: np.ndarray, name: str, integer: bool = False) -> str:
    """The released file of a table in its one serialisation (:mod:`sdc.canonical`).

    One row per published cell, in cube order: a text field per dimension, then the
    value (empty where it is suppressed or undefined).

    Examples
    --------
    >>> tm = TableModel(("region",), (("N", "=S"),), n_rows=1, margins=False)
    >>> print(table_csv(tm, np.array([12.0, np.nan, 12.0]), "count", integer=True), end="")
    region,count
    N,12
    '=S,
    """
    cells = np.flatnonzero(model.published_mask)
    columns = []
    for d in range(len(model.dims)):
        fields = np.array([text_field(label_text(x)) for x in model.dim_labels(d)], dtype=object)
        columns.append(fields[model.coords[cells, d]])
    columns.append([number_text(x, integer) for x in cell_values[cells].tolist()])
    return csv_text([*model.dims, name], zip(*columns, strict=True))
