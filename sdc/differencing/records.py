"""Which leaf each record of an output falls in: row-level, kept inside the session only.

A session keeps, per output, the row labels of the records it covers and a way to
compute each record's leaf (:mod:`sdc.differencing.cells`) when a differencing
check needs them. Nothing here is written to a file, a report or a log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from sdc.differencing.cells import OutputCells


@dataclass(eq=False)
class Rows:
    """An output's records (``index``: row labels, None when they have none) and leaves."""

    index: pd.Index | None
    compute: Callable[[], np.ndarray]
    #: The output's cells, from the output as it is now (it may have been protected since).
    cells: Callable[[Any], OutputCells | None]
    _leaves: np.ndarray | None = field(default=None, repr=False)

    def leaves(self) -> np.ndarray:
        if self._leaves is None:
            leaves = np.asarray(self.compute(), dtype=np.int64)
            if self.index is not None and leaves.shape != (len(self.index),):
                raise ValueError("an output's leaves do not match its records")
            self._leaves = leaves
        return self._leaves


def table_leaves(frame: pd.DataFrame, dims: list[str], levels: Any) -> np.ndarray:
    """Each record's inner cell (C order over the levels), coded as ``tabulate`` codes it."""
    from sdc.tables.factorize import factorize

    cell = np.zeros(len(frame), dtype=np.int64)
    for d, name in enumerate(dims):
        codes, labels = factorize(frame[name])
        expected = list(levels[d])
        if list(labels) != expected:
            position = {str(x): i for i, x in enumerate(expected)}
            lookup = np.array([position.get(str(x), -1) for x in labels], dtype=np.int64)
            codes = lookup[codes]
            if (codes < 0).any():
                raise ValueError(f"a record of {name!r} has a level its table does not list")
        cell = cell * len(expected) + codes
    return cell


def survival_leaves(group_codes: np.ndarray, durations: np.ndarray, events: np.ndarray,
                    starts_of: list[np.ndarray]) -> np.ndarray:  # fmt: skip
    """Each record's (group, step, event) leaf, numbered as :func:`survival_cells` numbers them.

    A record is in the step whose interval ``[start, next start)`` holds its follow-up
    time; a group that is not released has one leaf.
    """
    offsets = np.cumsum([0] + [max(2 * s.size, 1) for s in starts_of[:-1]])
    leaves = np.empty(group_codes.size, dtype=np.int64)
    for g, starts in enumerate(starts_of):
        mine = group_codes == g
        if starts.size == 0:
            leaves[mine] = offsets[g]
            continue
        step = np.searchsorted(starts, durations[mine], side="right") - 1
        step = np.clip(step, 0, starts.size - 1)
        leaves[mine] = offsets[g] + 2 * step + events[mine].astype(np.int64)
    return leaves
