"""The one representation of a table: its dimensions, levels and cells.

Cells form a dense cube of shape ``(L_1 + 1 + G_1, ..., L_k + 1 + G_k)``: on
dimension d, codes ``0..L_d-1`` are the levels seen in the data (leaves), code
``L_d`` is the total, and codes ``L_d + 1 + g`` are the user's hierarchy groups
(subtotals), each a set of leaves. Groups need not nest: two groupings of the
same leaves (e.g. county and a cross-cutting cluster) are both allowed.

Inner cells have only leaf codes; a table with margins publishes every cell,
one without publishes the inner cells only. The sparse model matrix (inner
cells x published cells) that secondary suppression, audit and differencing
work on is the Kronecker product of the per-dimension membership matrices.
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
    #: Per dimension, the hierarchy groups as ``(label, leaf labels)``; ``()`` for none.
    groups: tuple[tuple[tuple[Any, tuple[Any, ...]], ...], ...] = ()

    def __post_init__(self) -> None:
        if len(self.dims) != len(self.levels) or not self.dims:
            raise SdcInputError("a table needs at least one dimension, each with its levels.")
        if len(set(self.dims)) != len(self.dims):
            raise SdcInputError(f"dimension names must be distinct; got {list(self.dims)}.")
        if not 0 <= self.n_rows <= len(self.dims):
            raise SdcInputError("n_rows must be between 0 and the number of dimensions.")
        if self.groups:
            if len(self.groups) != len(self.dims):
                raise SdcInputError("groups must be given for every dimension (or none).")
            if any(self.groups) and not self.margins:
                raise SdcInputError("a table with hierarchy groups must publish its margins.")
            for d, gs in enumerate(self.groups):
                names = [TOTAL_LABEL, *self.levels[d], *(g for g, _ in gs)]
                if len(set(map(str, names))) != len(names):
                    raise SdcInputError(
                        f"dimension {self.dims[d]!r}: group labels must differ from each other, "
                        f"from the levels and from {TOTAL_LABEL!r}."
                    )
        if self.n_cells > MAX_CELLS:
            raise SdcInputError(
                f"the table would have {self.n_cells:,} cells (margins included), more than "
                f"the {MAX_CELLS:,} this engine lays out; group levels or use fewer dimensions."
            )

    @property
    def sizes(self) -> np.ndarray:
        return np.array([len(lv) for lv in self.levels], dtype=np.int64)

    def dim_groups(self, d: int) -> tuple[tuple[Any, tuple[Any, ...]], ...]:
        return self.groups[d] if self.groups else ()

    @property
    def has_groups(self) -> bool:
        return any(self.groups)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(s) + 1 + len(self.dim_groups(d)) for d, s in enumerate(self.sizes))

    @cached_property
    def member_table(self) -> np.ndarray:
        """(sum L_d, m) cube codes each leaf aggregates into on its dimension, -1 padded.

        Row ``leaf_offsets[d] + l`` lists leaf l itself, the total, then its groups:
        a record with leaf l on dimension d touches exactly these codes there.
        """
        lists: list[list[int]] = []
        for d, lv in enumerate(self.levels):
            member_of: list[list[int]] = [[code, len(lv)] for code in range(len(lv))]
            position = {label: i for i, label in enumerate(lv)}
            for g, (_, leaves) in enumerate(self.dim_groups(d)):
                for label in leaves:
                    if label in position:
                        member_of[position[label]].append(len(lv) + 1 + g)
            lists.extend(member_of)
        width = max((len(m) for m in lists), default=2)
        table = np.full((len(lists), width), -1, dtype=np.int64)
        for i, m in enumerate(lists):
            table[i, : len(m)] = m
        return table

    @cached_property
    def leaf_offsets(self) -> np.ndarray:
        """Row of ``member_table`` where each dimension's leaves start."""
        return np.concatenate(([0], np.cumsum(self.sizes)[:-1])).astype(np.int64)

    def membership(self, d: int) -> sp.csr_matrix:
        """0/1 matrix (leaves x cube codes) of dimension d: which codes sum each leaf."""
        rows = self.member_table[self.leaf_offsets[d] : self.leaf_offsets[d] + self.sizes[d]]
        r, j = np.nonzero(rows >= 0)
        return sp.csr_matrix(
            (np.ones(r.size, dtype=np.int8), (r, rows[r, j])),
            shape=(int(self.sizes[d]), self.shape[d]),
        )

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
        """(n_cells, k) True where the cell aggregates that dimension (total or group)."""
        return self.coords >= self.sizes[None, :]

    @cached_property
    def inner_mask(self) -> np.ndarray:
        return np.asarray(~self.total_mask.any(axis=1))

    @cached_property
    def published_mask(self) -> np.ndarray:
        return np.ones(self.n_cells, dtype=bool) if self.margins else self.inner_mask

    def cell_index(self, coords: Sequence[int]) -> int:
        return int(np.ravel_multi_index(tuple(coords), self.shape))

    def dim_labels(self, dim: int) -> list[Any]:
        """Labels of every code of a dimension: levels, the total, then groups."""
        return [*self.levels[dim], TOTAL_LABEL, *(g for g, _ in self.dim_groups(dim))]

    def label(self, dim: int, code: int) -> Any:
        return self.dim_labels(dim)[code]

    def labels(self, cell: int) -> dict[str, Any]:
        """The labels of one cell, per dimension."""
        c = self.coords[cell]
        return {d: self.label(i, int(c[i])) for i, d in enumerate(self.dims)}

    def model_matrix(self) -> sp.csr_matrix:
        """Sparse 0/1 matrix X (inner cells x published cells): published = X^T inner.

        The Kronecker product of the per-dimension memberships gives every cell
        (rows in inner-cell order, columns in cube order); unpublished columns are dropped.
        Made once per model; each call returns a copy of its own.
        """
        return self._model_matrix.copy()

    @cached_property
    def _model_matrix(self) -> sp.csr_matrix:
        x = self.membership(0)
        for d in range(1, len(self.dims)):
            x = sp.kron(x, self.membership(d), format="csr")
        x = sp.csr_matrix(x, dtype=np.int8)
        return x[:, np.flatnonzero(self.published_mask)].tocsr()

    def with_levels(self, levels: Sequence[Sequence[Any]]) -> TableModel:
        return TableModel(
            self.dims, tuple(tuple(lv) for lv in levels), self.n_rows, self.margins, self.groups
        )
