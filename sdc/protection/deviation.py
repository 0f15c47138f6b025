"""Suppress the cells a feasible alternative table needs, so a hidden cell can move far enough.

A *deviation* ``d`` over the inner cells is another table ``y + d`` the attacker
cannot rule out when it keeps every published cell (``x_j . d = 0``) and every
inner cell within its bound (``y + d >= lb``). For a hidden cell ``p`` that must
be able to move up (or down) by ``amount``, one LP finds the cheapest deviation
with ``x_p . d = +amount`` (or ``-amount``): every published cell it changes is
suppressed, cells already hidden are free (Kelly, Golden and Assad, 1992, over
the general model of Fischetti and Salazar, 2001). ``d`` is then a deviation of
the new pattern, so ``p`` reaches ``y_p + amount`` by construction, and it still
does as more cells are hidden.

Most cells move within a small block of the table: the cells two or three
steps away through the smallest relations around them (in a table with
hierarchies, the leaves of their own subtotals on each dimension). A deviation
that is zero outside a block is a deviation of the whole table, so the LP over
the block alone (every published cell that touches it still a constraint) is
tried first; only when the block has no deviation does the LP over the whole
table decide (one HiGHS model, whose costs and target bounds change between
solves, each starting from the last basis).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from sdc.protection.highs import new_model
from sdc.protection.progress import report

#: A published cell counts as changed by a deviation above this, relative to the amount.
CHANGED = 1e-6

#: Steps through the smallest relations that make a cell's block, and its largest size in
#: inner cells and in entries of the model matrix (a 4-D table's cell is in 81 columns,
#: a 2-D table's in 9: a step there takes a block of 500 cells to 3,400, and its LP from
#: 0.15 s to 2-6 s).
BLOCK_STEPS = 3
BLOCK_CELLS = 4000
BLOCK_ENTRIES = 60_000

#: Tables with at most this many inner cells are solved whole (blocks do not pay there);
#: up to ``MID_TABLE`` inner cells and ``MID_ENTRIES`` entries of the model matrix, a block
#: deviation that hides a margin is checked against the whole (an LP of 0.1-10 s at 1e4
#: cells in 2 or 3 dimensions, of 10-50 s in 4).
SMALL_TABLE = 2000
MID_TABLE = 50_000
MID_ENTRIES = 450_000

#: Witness LPs kept for the next witness of the same cell.
WITNESS_LPS = 64


@dataclass(frozen=True)
class Move:
    """Cell ``cell`` must be able to move by ``amount`` (> 0) in direction ``sign`` (+1 / -1)."""

    cell: int
    sign: float
    amount: float


@dataclass(frozen=True)
class Deviation:
    """A feasible alternative table: its cost, the columns it changes, and the inner cells it
    changes (``cells``) by how much (``change``), from the true table."""

    cost: float
    changed: np.ndarray
    cells: np.ndarray
    change: np.ndarray


class Deviations:
    """The deviation LP of one table: ``x`` (inner x columns), true inner ``y``, bound ``lb``.

    ``weight``: the cost of hiding each column (hidden columns cost nothing);
    ``fixed``: columns that must stay published whatever it costs.
    """

    def __init__(
        self,
        x: sp.spmatrix,
        y: np.ndarray,
        lower_bound: float,
        weight: np.ndarray,
        hidden: np.ndarray,
        fixed: np.ndarray | None = None,
    ) -> None:
        import highspy

        xt = sp.csr_matrix(x, dtype=np.float64).T.tocsr()  # columns x inner
        n_col, n_inner = xt.shape
        self.n_inner, self.n_col = n_inner, n_col
        self.xt = xt
        self.xc = xt.T.tocsr()  # inner x columns
        self.y = np.asarray(y, dtype=np.float64)
        self.lower_bound = float(lower_bound)
        self.small = _small_relations(self.xc)
        self.aggregate = aggregate = np.diff(self.xt.indptr) > 1
        # Per inner cell, the column that is that cell alone (-1 if none).
        self.unit = np.full(n_inner, -1, dtype=np.int64)
        units = np.flatnonzero(~aggregate & (np.diff(self.xt.indptr) == 1))
        self.unit[self.xt.indices[self.xt.indptr[units]]] = units
        self._blocks: dict[int, np.ndarray] = {}
        self._mark: np.ndarray | None = None  # scratch for _lines
        self._last: tuple[int, BlockLP | None] | None = None
        self._wide: BlockLP | None = None  # the witness LP over every movable inner cell
        self._wide_cells = np.zeros(n_inner, dtype=bool)
        #: The alternative tables :meth:`protect` found (inner cells, their changes): an audit
        #: after it can decide the cells they move without LPs of its own.
        self.tables: list[tuple[np.ndarray, np.ndarray]] = []
        #: The last witness LPs per (cell, with cells kept): publishing only fixes more of
        #: their cells. A few: each HiGHS model holds a few hundred kB.
        self._witness_lps: OrderedDict[tuple[int, bool], BlockLP] = OrderedDict()
        self.weight = np.asarray(weight, dtype=np.float64) + 1.0
        self.hidden = np.asarray(hidden, dtype=bool).copy()
        self.fixed = np.zeros(n_col, bool) if fixed is None else np.asarray(fixed, bool)
        eye = sp.identity(n_col, format="csr")
        a = sp.hstack([xt, -eye, eye], format="csc")
        inf = highspy.kHighsInf
        low = np.where(np.isfinite(lower_bound), lower_bound - np.asarray(y, float), -inf)
        self._slack_ub = np.where(self.fixed, 0.0, inf)
        self.h: Any = new_model(
            a, np.concatenate([np.zeros(n_inner), self._costs(), self._costs()]),
            np.concatenate([low, np.zeros(2 * n_col)]),
            np.concatenate([np.full(n_inner, inf), self._slack_ub, self._slack_ub]),
            np.zeros(n_col), np.zeros(n_col),
        )  # fmt: skip

    def _costs(self) -> np.ndarray:
        return np.where(self.hidden, 0.0, self.weight)

    def _slack(self, j: int, which: int) -> int:
        return self.n_inner + which * self.n_col + j

    def solve(self, move: Move) -> Deviation | None:
        """A cheap deviation for ``move``, None if there is none.

        The cheapest over the whole table (small tables), else within the cell's block, or
        over the whole table if the block has none, or (up to ``MID_TABLE`` inner cells)
        if the block's hides a margin and the whole table has a cheaper one.
        """
        if self.n_inner <= SMALL_TABLE:
            return self._solve_all(move)
        got = self._solve_block(move)
        if got is None:
            return self._solve_all(move)
        mid = self.n_inner <= MID_TABLE and self.xt.nnz <= MID_ENTRIES
        if mid and (got.changed & ~self.hidden & self.aggregate).any():
            full = self._solve_all(move)  # a block that hides a margin may miss a cheaper way
            if full is not None and full.cost < got.cost:
                return full
        return got

    def _block(self, cell: int) -> np.ndarray:
        """The inner cells near ``cell``: a few steps through the smallest relations."""
        if cell in self._blocks:
            return self._blocks[cell]
        inside = np.zeros(self.n_inner, dtype=bool)
        inside[self.xt[cell].indices] = True
        entries = np.diff(self.xc.indptr)
        steps = 0
        for _ in range(BLOCK_STEPS):
            relations = np.asarray(self.small.T @ inside.astype(np.float64)).ravel() > 0
            grown = inside | (np.asarray(self.xc @ relations.astype(np.float64)).ravel() > 0)
            if (grown == inside).all():
                steps = BLOCK_STEPS + 1  # all there is: nothing left out
                break
            if grown.sum() > BLOCK_CELLS or entries[grown].sum() > BLOCK_ENTRIES:
                break
            inside, steps = grown, steps + 1
        block = np.flatnonzero(inside)
        box = self._box(cell, steps)
        self._blocks[cell] = block if box is None else box
        return self._blocks[cell]

    def _box(self, cell: int, steps: int) -> np.ndarray | None:
        """A block for a cell of one inner cell, when the steps around it stop short of its
        table's dimensions: a few cells along each of its lines and every combination of
        them (cells in cube order). A change that keeps every margin of a k-dimensional
        table needs a cell that differs in all k (a hypercube's corner); ``steps`` steps hold
        cells that differ in ``steps``. None: no box (it is not needed, or the relations
        around the cell are not a cube's).
        """
        own = self.xt.indices[self.xt.indptr[cell] : self.xt.indptr[cell + 1]]
        if own.size != 1:
            return None
        c = int(own[0])
        if self._mark is None:
            self._mark = np.zeros(self.n_inner, dtype=np.int64)
        lines = _lines(self.xt, self.xc.indices[self.xc.indptr[c] : self.xc.indptr[c + 1]], c,
                       self._mark)  # fmt: skip
        if len(lines) <= steps:
            return None
        per_cell = max(1, int(self.xc.indptr[c + 1] - self.xc.indptr[c]))
        size = min(BLOCK_CELLS, BLOCK_ENTRIES // per_cell)
        m = max(2, int(size ** (1.0 / len(lines))))
        # Along each line: cells of the cell's own subtotal first, then those whose own column
        # is hidden (free to change), then the cheap ones.
        offsets = []
        for line, rank in lines:
            others = line[line != c]
            unit = self.unit[others]
            free = np.where(unit >= 0, self.hidden[np.maximum(unit, 0)], True)
            cost = np.where(unit >= 0, self.weight[np.maximum(unit, 0)], 0.0)
            order = np.lexsort((cost, ~free, rank[line != c]))
            offsets.append(np.concatenate([[0], others[order[: m - 1]] - c]))
        box = np.full(1, c, dtype=np.int64)
        for off in offsets:
            box = np.add.outer(box, off)
        if box.min() < 0 or box.max() >= self.n_inner:
            return None
        # Each step along a line must stay in a relation with where it started. (Any block
        # gives true alternative tables: this only keeps a layout that is no cube from
        # trying a block of unrelated cells.)
        starts: list[np.ndarray] = []
        ends: list[np.ndarray] = []
        for axis in range(box.ndim):
            base = np.take(box, 0, axis=axis).ravel()
            for j in range(1, box.shape[axis]):
                starts.append(base)
                ends.append(np.take(box, j, axis=axis).ravel())
        shared = self.xc[np.concatenate(starts)].multiply(self.xc[np.concatenate(ends)])
        if (np.asarray(shared.sum(axis=1)) == 0).any():
            return None
        return np.unique(box)

    def _solve_block(self, move: Move) -> Deviation | None:
        """The cheapest deviation that is zero outside the cell's block (None: none there)."""
        block = self._block(move.cell)
        if block.size >= self.n_inner or self.n_inner <= SMALL_TABLE:
            return None
        lp = self._block_model(move.cell, block)
        if lp is None:  # a cell of no inner cell (all known to be empty) cannot move
            return None
        return lp.solve(move, np.where(self.hidden[lp.cols], 0.0, self.weight[lp.cols]),
                        self._slack_ub[lp.cols])  # fmt: skip

    def _block_model(self, cell: int, block: np.ndarray) -> BlockLP | None:
        """The LP over ``cell``'s block, kept for the next move of the same cell (a cell
        moves up, then down, one after the other): only costs and bounds change."""
        if self._last is not None and self._last[0] == cell:
            return self._last[1]
        lp = BlockLP.over(self.xc, block, self.y, self.lower_bound)
        self._last = (cell, lp if lp.touches(cell) else None)
        return self._last[1]

    def witness(
        self, move: Move, keep: np.ndarray | None = None, closed: int = -1, wide: bool = False
    ) -> np.ndarray | None:
        """Columns changed by a deviation for ``move`` that changes hidden cells only (and not
        column ``closed``, nor the inner cells ``keep``); None if there is none within the
        cell's block (``wide``: among all inner cells).

        Only inner cells no published column fixes can change, so the LP has those as
        unknowns and the columns touching them as equations: a small LP. The deviation
        changes as little as it can (each hidden column costs its change), so that few
        witnesses depend on any one hidden cell.
        """
        published = ~self.hidden.copy()
        if closed >= 0:
            published[closed] = True
        if published[move.cell]:
            return None
        movable = np.ones(self.n_inner, dtype=bool)
        own = self.unit >= 0
        movable[own] = ~published[self.unit[own]]
        if keep is not None:
            movable &= ~keep
        if wide:
            return self._wide_witness(move, movable, published)
        block = self._block(move.cell)
        key = (move.cell, keep is not None)
        lp = self._witness_lps.get(key)
        if lp is None or not np.isin(block[movable[block]], lp.block).all():
            cells = block[movable[block]]
            if cells.size == 0:
                return None
            lp = self._witness_lps[key] = BlockLP.over(self.xc, cells, self.y, self.lower_bound)
            if len(self._witness_lps) > WITNESS_LPS:
                self._witness_lps.popitem(last=False)
        self._witness_lps.move_to_end(key)
        return _witness_in(lp, move, movable, published)

    def _wide_witness(
        self, move: Move, movable: np.ndarray, published: np.ndarray
    ) -> np.ndarray | None:
        """The witness LP over every movable inner cell: one model, built over the cells
        movable when first asked (publishing fixes more of them, which only changes bounds;
        hiding more builds it again), each solve starting from the last basis."""
        if self._wide is None or (movable & ~self._wide_cells).any():
            self._wide_cells = movable.copy()
            self._wide = BlockLP.over(self.xc, np.flatnonzero(movable), self.y, self.lower_bound)
        return _witness_in(self._wide, move, movable, published)

    def _changed(self, d: np.ndarray, move: Move) -> np.ndarray:
        return _moved(self.xt @ d, move)

    def _solve_all(self, move: Move) -> Deviation | None:
        """The cheapest deviation over the whole table."""
        import highspy

        j = move.cell
        up, down = self._slack(j, 0), self._slack(j, 1)
        pinned, other = (up, down) if move.sign > 0 else (down, up)
        h = self.h
        h.changeColBounds(pinned, move.amount, move.amount)
        h.changeColBounds(other, 0.0, 0.0)
        h.run()
        status = h.getModelStatus()
        found = status == highspy.HighsModelStatus.kOptimal
        if found:  # read before the bounds change: changing them clears the solver's info
            cost = float(h.getInfo().objective_function_value)
            d = np.asarray(h.getSolution().col_value, dtype=np.float64)[: self.n_inner]
        h.changeColBounds(up, 0.0, float(self._slack_ub[j]))
        h.changeColBounds(down, 0.0, float(self._slack_ub[j]))
        if not found:
            return None
        cells = np.flatnonzero(d)
        return Deviation(cost, self._changed(d, move), cells, d[cells])

    def publish(self, cell: int) -> None:
        """Publish a hidden column again: it costs its weight from now on."""
        self.hidden[cell] = False
        w = float(self.weight[cell])
        for which in (0, 1):
            self.h.changeColCost(self._slack(cell, which), w)

    def hide(self, cells: np.ndarray) -> None:
        """Hide ``cells`` (a mask): from now on they cost nothing."""
        new = np.flatnonzero(cells & ~self.hidden)
        if new.size == 0:
            return
        self.hidden[new] = True
        zeros = np.zeros(new.size)
        for which in (0, 1):
            idx = (self.n_inner + which * self.n_col + new).astype(np.int32)
            self.h.changeColsCost(idx.size, idx, zeros)

    def protect(self, alternatives: list[list[Move]]) -> np.ndarray:
        """For each list of alternatives, the cheapest of them is made possible, in turn.

        Each entry is a list of moves of which one suffices (a small count moved down to
        0 or up to the threshold) or, given as separate entries, moves that are all
        needed (a magnitude cell moved up and down). Returns every column hidden for
        them (already hidden ones included when a deviation used them).
        """
        used = np.zeros(self.n_col, dtype=bool)
        # How far up and down each column goes in some table found so far. Each such table
        # stays feasible as more cells are hidden: a move it already makes needs no LP, and
        # hides nothing (on a 4-D count table, most of them).
        reach = (np.zeros(self.n_col), np.zeros(self.n_col))
        for done, moves in enumerate(alternatives):
            report(done, len(alternatives), "protection levels: alternative tables")
            if any(_reached(reach, m) for m in moves):
                continue
            best: Deviation | None = None
            for move in moves:
                got = self.solve(move)
                if got is not None and (best is None or got.cost < best.cost):
                    best = got
                if best is not None and best.cost <= 0.0:
                    break  # the hidden cells already let it move: nothing is cheaper
            if best is not None:
                used |= best.changed
                self.hide(best.changed)
                self.tables.append((best.cells, best.change))
                moved = self.xt[:, best.cells] @ best.change
                np.maximum(reach[0], moved, out=reach[0])
                np.maximum(reach[1], -moved, out=reach[1])
        return used


class BlockLP:
    """The deviation LP over one block of inner cells: unknowns the block's changes (within
    their bounds) and each touched column's change up and down; one equation per touched
    column. Built once, solved for several moves with their own costs and bounds."""

    def __init__(self, cols: np.ndarray, block: np.ndarray, low: np.ndarray, h: Any,
                 n_col: int) -> None:  # fmt: skip
        self.cols, self.block, self.low, self.h = cols, block, low, h
        self.n_col = n_col
        self._last: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None

    @classmethod
    def over(cls, xc: sp.csr_matrix, block: np.ndarray, y: np.ndarray,
             lower_bound: float) -> BlockLP:  # fmt: skip
        """The LP of ``block`` (the inner cells' indices, increasing).

        Built column by column from ``xc``'s rows (one per block cell) without sparse
        matrix operations: a witness pass builds thousands of these.
        """
        import highspy

        starts, ends = xc.indptr[block], xc.indptr[block + 1]
        lengths = ends - starts
        at = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths)
        entries = at + np.arange(int(lengths.sum()))  # positions of the block's entries in xc
        touched = xc.indices[entries]
        cols = np.unique(touched)
        n_b, n_c = block.size, cols.size
        a = sp.csc_matrix(
            (
                np.concatenate([xc.data[entries], -np.ones(n_c), np.ones(n_c)]),
                np.concatenate([np.searchsorted(cols, touched), np.arange(n_c), np.arange(n_c)]),
                np.concatenate(
                    [[0], np.cumsum(lengths), lengths.sum() + np.arange(1, 2 * n_c + 1)]
                ),
            ),
            shape=(n_c, n_b + 2 * n_c),
        )
        inf = highspy.kHighsInf
        low = np.full(n_b, -inf)
        if np.isfinite(lower_bound):
            low = lower_bound - y[block]
        h = _model(
            a, np.zeros(n_b + 2 * n_c), np.concatenate([low, np.zeros(2 * n_c)]),
            np.concatenate([np.full(n_b, inf), np.zeros(2 * n_c)]), n_c,
        )  # fmt: skip
        return cls(cols, block, low, h, xc.shape[1])

    def _set(self, lo: np.ndarray, hi: np.ndarray, cost: np.ndarray) -> None:
        """Pass the bounds and costs that differ from the last solve's (the basis survives
        a few changes; passing every bound again costs more than the solve)."""
        last = self._last
        if last is None:
            moved = np.arange(lo.size)
            priced = moved
        else:
            moved = np.flatnonzero((lo != last[0]) | (hi != last[1]))
            priced = np.flatnonzero(cost != last[2])
        h = self.h
        if moved.size:
            idx = moved.astype(np.int32)
            h.changeColsBounds(idx.size, idx, lo[moved], hi[moved])
        if priced.size:
            idx = priced.astype(np.int32)
            h.changeColsCost(idx.size, idx, cost[priced])
        self._last = (lo, hi, cost)

    def _position(self, cell: int) -> int:
        """Column ``cell``'s place among the block's columns (-1: it sums none of its cells)."""
        at = int(np.searchsorted(self.cols, cell))
        return at if at < self.cols.size and int(self.cols[at]) == cell else -1

    def touches(self, cell: int) -> bool:
        """Does column ``cell`` sum some inner cell of the block?"""
        return self._position(cell) >= 0

    def solve(
        self, move: Move, cost: np.ndarray, ub: np.ndarray, still: np.ndarray | None = None
    ) -> Deviation | None:
        """The optimal deviation for ``move`` with these costs and bounds of the touched
        columns' changes, None if the block has no such deviation (or does not touch the
        cell). ``still``: the block's inner cells that may change (None: all); the bounds
        of the others are set to zero."""
        import highspy

        target = self._position(move.cell)
        if target < 0:
            return None
        n_b, n_c = self.block.size, self.cols.size
        inf = highspy.kHighsInf
        lo, hi = np.concatenate([self.low, np.zeros(2 * n_c)]), np.full(n_b + 2 * n_c, inf)
        if still is not None:
            lo[:n_b] = np.where(still, self.low, 0.0)
            hi[:n_b] = np.where(still, inf, 0.0)
        ub = np.minimum(np.asarray(ub, dtype=np.float64), inf)
        hi[n_b:] = np.concatenate([ub, ub])
        pinned = n_b + (target if move.sign > 0 else n_c + target)
        other = n_b + (n_c + target if move.sign > 0 else target)
        lo[pinned] = hi[pinned] = move.amount
        lo[other] = hi[other] = 0.0
        costs = np.concatenate([np.zeros(n_b), cost, cost]).astype(np.float64)
        costs[[pinned, other]] = 0.0
        self._set(lo, hi, costs)
        h = self.h
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            return None
        z = np.asarray(h.getSolution().col_value, dtype=np.float64)
        changed = np.zeros(self.n_col, dtype=bool)  # each column's change: s+ - s-
        changed[self.cols] = _moved(z[n_b : n_b + n_c] - z[n_b + n_c :], move)
        d = z[:n_b]
        nonzero = np.flatnonzero(d)
        optimum = float(h.getInfo().objective_function_value)
        return Deviation(optimum, changed, self.block[nonzero], d[nonzero])


def _witness_in(
    lp: BlockLP, move: Move, movable: np.ndarray, published: np.ndarray
) -> np.ndarray | None:
    """The columns a witness in ``lp`` changes: every change costs the same, published
    columns and the inner cells that are not ``movable`` stay as they are."""
    ub = np.where(published[lp.cols], 0.0, np.inf)
    got = lp.solve(move, np.ones(lp.cols.size), ub, still=movable[lp.block])
    return None if got is None else got.changed


def _reached(reach: tuple[np.ndarray, np.ndarray], move: Move) -> bool:
    """Does some table found so far move the column as far as ``move`` asks?"""
    got = reach[0 if move.sign > 0 else 1][move.cell]
    return bool(got >= move.amount * (1.0 - 1e-9))


def _moved(change: np.ndarray, move: Move) -> np.ndarray:
    """The columns a deviation changes (its change of each), relative to the move's amount."""
    return np.abs(change) > CHANGED * max(1.0, move.amount)


def _lines(
    xt: sp.csr_matrix, relations: np.ndarray, c: int, mark: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    """The lines through inner cell ``c`` of a cube: its relations (rows of ``xt``) that meet
    one line at most besides ``c`` (one that meets two is a margin over two dimensions),
    smallest first, merged where they share another cell (a dimension's subtotal and the
    total above it); each as its cells and each cell's rank (0: in the smallest relation of
    the line). ``mark``: zeros, one per inner cell (scratch, left as found)."""
    sizes = np.diff(xt.indptr)[relations]
    lines: list[tuple[np.ndarray, np.ndarray]] = []
    for r in relations[np.argsort(sizes, kind="stable")]:
        cells = xt.indices[xt.indptr[r] : xt.indptr[r + 1]]
        met = np.unique(mark[cells])
        met = met[met > 0]
        if met.size > 1 or cells.size < 2:
            continue
        if met.size == 0:
            lines.append((cells.copy(), np.zeros(cells.size, dtype=np.int64)))
            mark[cells] = len(lines)
        else:
            i = int(met[0]) - 1
            line, rank = lines[i]
            new = cells[(mark[cells] == 0) & (cells != c)]
            lines[i] = (np.concatenate([line, new]),
                        np.concatenate([rank, np.full(new.size, rank.max() + 1)]))  # fmt: skip
            mark[new] = i + 1
        mark[c] = 0
    for line, _ in lines:
        mark[line] = 0
    return lines


def _small_relations(xc: sp.csr_matrix) -> sp.csr_matrix:
    """Per inner cell, the relations (columns of more than one cell) at most twice the size
    of the smallest relation it is in: its own subtotals' leaves, on each dimension."""
    size = np.diff(xc.tocsc().indptr).astype(np.float64)
    coo = xc.tocoo()
    s = size[coo.col]
    s[s <= 1] = np.inf
    smallest = np.full(xc.shape[0], np.inf)
    np.minimum.at(smallest, coo.row, s)
    keep = np.isfinite(s) & (s <= 2 * smallest[coo.row])
    return sp.csr_matrix((np.ones(int(keep.sum())), (coo.row[keep], coo.col[keep])), shape=xc.shape)


def _model(
    a: sp.csc_matrix, cost: np.ndarray, lower: np.ndarray, upper: np.ndarray, n_rows: int
) -> Any:
    """A silent HiGHS model of ``a z = 0``, ``lower <= z <= upper``, minimising ``cost . z``.

    Small LPs: presolve costs more than it saves. Devex pricing: a box of a 4-D table
    (625 cells, 2,401 equations) solves in 0.10 s where the default dual steepest edge
    takes 0.14 s, with the same optimum.
    """
    return new_model(
        a, cost, lower, upper, np.zeros(n_rows), np.zeros(n_rows), presolve="off",
        solver="simplex", simplex_dual_edge_weight_strategy=1,
    )  # fmt: skip
