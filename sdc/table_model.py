"""The one representation of a table: its dimensions, levels and cells.

Cells form a dense cube of shape ``(L_1 + 1, ..., L_k + 1)``: code ``L_d`` on
dimension d is that dimension's total. Inner cells have no total code; a table
with margins publishes every cell, one without publishes the inner cells only.
The sparse model matrix (inner cells x published cells) that secondary
suppression, audit and differencing work on is derived from this layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp

from sdc.exceptions import SdcInputError

#: Label of the total level of every dimension (pandas uses "All" for margins too).
TOTAL_LABEL = "All"

#: Largest cube (cells including margins) the dense layout accepts.
MAX_CELLS = 50_000_000


@dataclass(frozen=True, eq=False)
class TableModel:
    """Dimensions (row dimensions first), their level labels, and whether margins are published.

    Examples
    --------
    >>> tm = TableModel(("sex", "age"), (("F", "M"), ("0-9", "10-19", "20+")), n_rows=1)
    >>> tm.n_cells, int(tm.inner_mask.sum())
    (12, 6)
    >>> tm.labels(tm.cell_index((1, 3)))
    {'sex': 'M', 'age': 'All'}
    >>> tm.model_matrix().shape
    (6, 12)
    """

    dims: tuple[str, ...]
    levels: tuple[tuple[Any, ...], ...]
    n_rows: int
    margins: bool = True

    def __post_init__(self) -> None:
        if len(self.dims) != len(self.levels) or not self.dims:
            raise SdcInputError("a table needs at least one dimension, each with its levels.")
        if len(set(self.dims)) != len(self.dims):
            raise SdcInputError(f"dimension names must be distinct; got {list(self.dims)}.")
        if not 0 <= self.n_rows <= len(self.dims):
            raise SdcInputError("n_rows must be between 0 and the number of dimensions.")
        if self.n_cells > MAX_CELLS:
            raise SdcInputError(
                f"the table would have {self.n_cells:,} cells (margins included), more than "
                f"the {MAX_CELLS:,} this engine lays out; group levels or use fewer dimensions."
            )

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(lv) for lv in self.levels], dtype=np.int64)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(s) + 1 for s in self.sizes)

    @property
    def n_cells(self) -> int:
        return int(np.prod(self.shape))

    @cached_property
    def strides(self) -> np.ndarray:
        """Mixed-radix strides of the cube (C order): cell = coords @ strides."""
        shape = self.shape
        return np.array([int(np.prod(shape[d + 1 :])) for d in range(len(shape))], dtype=np.int64)

    @cached_property
    def coords(self) -> np.ndarray:
        """(n_cells, k) level code of every cell; ``L_d`` marks the total."""
        grids = np.indices(self.shape).reshape(len(self.shape), -1).T
        return np.ascontiguousarray(grids, dtype=np.int64)

    @cached_property
    def total_mask(self) -> np.ndarray:
        """(n_cells, k) True where the cell is the total of that dimension."""
        return self.coords == self.sizes[None, :]

    @cached_property
    def inner_mask(self) -> np.ndarray:
        return np.asarray(~self.total_mask.any(axis=1))

    @cached_property
    def published_mask(self) -> np.ndarray:
        return np.ones(self.n_cells, dtype=bool) if self.margins else self.inner_mask

    def cell_index(self, coords: Sequence[int]) -> int:
        return int(np.ravel_multi_index(tuple(coords), self.shape))

    def label(self, dim: int, code: int) -> Any:
        return TOTAL_LABEL if code == len(self.levels[dim]) else self.levels[dim][code]

    def labels(self, cell: int) -> dict[str, Any]:
        """The labels of one cell, per dimension."""
        c = self.coords[cell]
        return {d: self.label(i, int(c[i])) for i, d in enumerate(self.dims)}

    def model_matrix(self) -> sp.csr_matrix:
        """Sparse 0/1 matrix X (inner cells x published cells): published = X^T inner."""
        inner = np.flatnonzero(self.inner_mask)
        published = np.flatnonzero(self.published_mask)
        col_of = np.full(self.n_cells, -1, dtype=np.int64)
        col_of[published] = np.arange(published.size)
        k = len(self.dims)
        rows, cols = [], []
        inner_coords = self.coords[inner]
        for subset in range(1 << k):
            target = inner_coords.copy()
            for d in range(k):
                if subset >> d & 1:
                    target[:, d] = self.sizes[d]
            cell = target @ self.strides
            keep = col_of[cell] >= 0
            rows.append(np.flatnonzero(keep))
            cols.append(col_of[cell[keep]])
        r = np.concatenate(rows)
        c = np.concatenate(cols)
        return sp.csr_matrix(
            (np.ones(r.size, dtype=np.int8), (r, c)), shape=(inner.size, published.size)
        )

    def with_levels(self, levels: Sequence[Sequence[Any]]) -> TableModel:
        return TableModel(self.dims, tuple(tuple(lv) for lv in levels), self.n_rows, self.margins)
