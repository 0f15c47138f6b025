"""The relations of a table (a total and the leaves it sums), and the small counts hidden in them.

Along each dimension, every aggregate code (the total, a hierarchy group) is the
sum of its leaves, whatever the codes on the other dimensions. Two small counts
hidden in one such relation are a small group too: if the attacker can pin their
sum to 7 with a threshold of 10, a group of fewer than 10 is confirmed to exist,
however wide each cell's own interval. :func:`small_count_groups` lists, per
relation, the small counts it holds when there are several and their sum is
still under the threshold, so the audit protects that sum as one cell.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from sdc.tables.model import TableModel


def small_count_groups(
    model: TableModel, small: np.ndarray, value: np.ndarray, t: float
) -> sp.csr_matrix:
    """Groups (rows, over the cube's cells) of the ``small`` cells sharing a relation.

    A group is kept when it has at least two cells and their ``value`` sums to less
    than ``t``; repeated groups are listed once.

    Examples
    --------
    >>> tm = TableModel(("r", "c"), (("a", "b"), ("x", "y", "z")), n_rows=1)
    >>> small = np.zeros(tm.n_cells, dtype=bool)
    >>> small[[0, 1]] = True                      # (a, x) and (a, y)
    >>> value = np.zeros(tm.n_cells); value[[0, 1]] = [3, 4]
    >>> g = small_count_groups(tm, small, value, 10)
    >>> [tm.labels(int(c))["c"] for c in g.indices]
    ['x', 'y']
    """
    shape = model.shape
    sizes = model.sizes
    cube_small = small.reshape(shape)
    cube_value = np.where(small, value, 0.0).reshape(shape)
    strides = model.strides
    rows: list[np.ndarray] = []
    for d, n_leaves in enumerate(sizes.tolist()):
        member = model.membership(d).toarray().astype(np.float64)[:, n_leaves:]  # leaves x aggs
        leaves_small = np.take(cube_small, np.arange(n_leaves), axis=d).astype(np.float64)
        leaves_value = np.take(cube_value, np.arange(n_leaves), axis=d)
        count = np.moveaxis(np.tensordot(leaves_small, member, axes=([d], [0])), -1, d)
        total = np.moveaxis(np.tensordot(leaves_value, member, axes=([d], [0])), -1, d)
        for where in np.argwhere((count >= 2) & (total < t)):
            agg = int(where[d])
            leaves = np.flatnonzero(member[:, agg])
            coords = np.repeat(where[None, :], leaves.size, axis=0)
            coords[:, d] = leaves
            cells = coords @ strides
            rows.append(np.sort(cells[small[cells]]))
    return _rows(rows, model.n_cells)


def table_relations(model: TableModel, containing: np.ndarray) -> sp.csr_matrix:
    """Every relation holding a ``containing`` cell: rows over the cube, the aggregate cell
    and the leaves it sums along one dimension.

    Examples
    --------
    >>> tm = TableModel(("r", "c"), (("a", "b"), ("x", "y")), n_rows=1)
    >>> hit = np.zeros(tm.n_cells, dtype=bool); hit[0] = True    # (a, x)
    >>> r = table_relations(tm, hit)
    >>> sorted(sorted(tm.labels(int(c))["c"] + tm.labels(int(c))["r"] for c in row.indices)
    ...        for row in r)
    [['Alla', 'xa', 'ya'], ['xAll', 'xa', 'xb']]
    """
    shape, strides = model.shape, model.strides
    hits = containing.reshape(shape)
    rows: list[np.ndarray] = []
    for d, n_leaves in enumerate(model.sizes.tolist()):
        member = model.membership(d).toarray().astype(np.float64)[:, n_leaves:]
        leaves_hit = np.take(hits, np.arange(n_leaves), axis=d).astype(np.float64)
        count = np.moveaxis(np.tensordot(leaves_hit, member, axes=([d], [0])), -1, d)
        for where in np.argwhere(count > 0):
            agg = int(where[d])
            leaves = np.flatnonzero(member[:, agg])
            coords = np.repeat(where[None, :], leaves.size + 1, axis=0)
            coords[:-1, d] = leaves
            coords[-1, d] = n_leaves + agg
            rows.append(np.sort(coords @ strides))
    return _rows(rows, model.n_cells)


def _rows(rows: list[np.ndarray], n: int) -> sp.csr_matrix:
    """Distinct sets of cells as the rows of a 0/1 matrix."""
    if not rows:
        return sp.csr_matrix((0, n), dtype=np.int8)
    kept = list({r.tobytes(): r for r in rows}.values())
    indptr = np.concatenate([[0], np.cumsum([r.size for r in kept])])
    indices = np.concatenate(kept)
    return sp.csr_matrix((np.ones(indices.size, dtype=np.int8), indices, indptr),
                         shape=(len(kept), n))  # fmt: skip
