"""Cells a checker sets by hand before protection: hidden whatever the rules say, or published.

As tau-Argus's manual status and sdcTable's ``change_cellstatus``: a cell named in
``hide`` is suppressed and protected like a primary; one named in ``publish`` is
never suppressed (if it fails a rule, the table fails: the checker answers for
it). Cells are named by their labels, one per dimension; a dimension left out is
its total.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from sdc._validation import input_error
from sdc.tables.model import TOTAL_LABEL, TableModel


def cells_named(
    model: TableModel,
    hide: Sequence[Mapping[str, Any]] | None,
    publish: Sequence[Mapping[str, Any]] | None,
    func: str,
) -> tuple[np.ndarray, np.ndarray] | None:
    """``(hide, publish)`` as cube masks, or None when neither names a cell.

    Examples
    --------
    >>> tm = TableModel(("r", "c"), (("a", "b"), ("x", "y")), n_rows=1)
    >>> hide, publish = cells_named(tm, [{"r": "a", "c": "x"}], [{"r": "b"}], "f")
    >>> [tm.labels(int(c)) for c in np.flatnonzero(hide)]
    [{'r': 'a', 'c': 'x'}]
    >>> [tm.labels(int(c)) for c in np.flatnonzero(publish)]
    [{'r': 'b', 'c': 'All'}]
    """
    if not hide and not publish:
        return None
    masks = []
    for name, cells in (("hide", hide), ("publish", publish)):
        mask = np.zeros(model.n_cells, dtype=bool)
        if isinstance(cells, Mapping) or isinstance(cells, (str, bytes)):
            raise input_error(name, func, "a list of cells, each a dict of labels", cells)
        for cell in cells or ():
            mask[_cell(model, cell, name, func)] = True
        masks.append(mask)
    both = masks[0] & masks[1]
    if both.any():
        raise input_error(
            "hide/publish", func, "disjoint", model.labels(int(np.flatnonzero(both)[0])),
            "A cell cannot be both hidden and published.",
        )  # fmt: skip
    if (masks[0] | masks[1])[~model.published_mask].any():
        raise input_error("hide/publish", func, "cells the table publishes", "a margin")
    return masks[0], masks[1]


def _cell(model: TableModel, cell: Any, name: str, func: str) -> int:
    if not isinstance(cell, Mapping):
        raise input_error(name, func, "cells given as dicts of labels", cell,
                          'Example: {"region": "W", "age": "<40"}.')  # fmt: skip
    unknown = sorted(set(map(str, cell)) - set(model.dims))
    if unknown:
        raise input_error(name, func, f"labels of the dimensions {list(model.dims)}", unknown[0])
    coords = []
    for d, dim in enumerate(model.dims):
        labels = [str(x) for x in model.dim_labels(d)]
        want = str(cell.get(dim, TOTAL_LABEL))
        if want not in labels:
            raise input_error(
                name, func, f"a label of {dim!r} ({', '.join(labels[:10])})", want,
            )  # fmt: skip
        coords.append(labels.index(want))
    return model.cell_index(coords)
