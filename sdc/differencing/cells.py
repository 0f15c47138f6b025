"""An output as differencing sees it: published numbers, each a sum over *leaves*.

Every output that counts people splits the records it covers into leaves (the
inner cells of a table, a histogram's bins, a survival curve's steps with their
events and censorings, the patterns of a regression's 0/1 columns) and publishes
numbers that are sums over sets of leaves (cells, margins, subtotals, records at
risk). :class:`OutputCells` holds that map as a sparse 0/1 matrix (leaves x
cells), which cells are published (hidden ones are what an attacker wants), the
true record count of every cell (evidence: never shown), the released values
(for rounded outputs, an interval each) and the labels that name cells and leaves.

``measure`` says what is summed: ``records`` (counts) or ``sum of <column>``
(magnitude tables: the sum of a small group is as disclosive as its count).
Numbers of different measures never combine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

#: The measure of every count (frequency tables, histograms, survival counts, regressions).
RECORDS = "records"


@dataclass(frozen=True, eq=False)
class OutputCells:
    """One output's cells as sets of leaves (see the module docstring).

    Examples
    --------
    >>> c = OutputCells("t", RECORDS, sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 1]])),
    ...                 np.array([True, False, True]), np.array([4, 3, 7]),
    ...                 np.array([4.0, np.nan, 7.0]), [{"g": "a"}, {"g": "b"}, {"g": "All"}],
    ...                 [{"g": "a"}, {"g": "b"}])
    >>> c.n_leaves, c.n_cells, c.hidden.tolist()
    (2, 3, [1])
    """

    name: str
    measure: str
    member: sp.csr_matrix  # (n_leaves, n_cells) 0/1: which leaves each cell sums
    published: np.ndarray  # (n_cells,) bool: released with a number
    counts: np.ndarray | None  # (n_cells,) true records per cell (None: unknown)
    values: np.ndarray  # (n_cells,) released values (NaN where hidden)
    cell_labels: list[dict[str, str]]
    leaf_labels: list[dict[str, str]]
    rounded_to: int | None = None
    #: What the output is, in words, for findings ("count table of region x sex").
    what: str = ""
    #: A description of the records it covers ("age < 90"), if it has one.
    population: str | None = None
    #: Cells published as means: their sums are published when their count is.
    means: bool = False
    kind: str = "table"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def n_leaves(self) -> int:
        return int(self.member.shape[0])

    @property
    def n_cells(self) -> int:
        return int(self.member.shape[1])

    @property
    def hidden(self) -> np.ndarray:
        """Cells that are not published (suppressed, redacted, left out)."""
        return np.flatnonzero(~self.published)

    def halfwidth(self) -> np.ndarray:
        """Per cell, how far the true value may be from the released one (rounding)."""
        if self.rounded_to is None:
            return np.zeros(self.n_cells)
        b = int(self.rounded_to)
        return np.full(self.n_cells, b // 2, dtype=np.float64)

    def interval(self) -> tuple[np.ndarray, np.ndarray]:
        """Per published cell, the range the true value lies in given what is released."""
        b = self.rounded_to
        if b is None:
            return self.values, self.values
        # Half-up rounding to a multiple of b: v - floor(b/2) <= n <= v + ceil(b/2) - 1.
        return self.values - b // 2, self.values + (b + 1) // 2 - 1


def _labels(model: Any, cells: np.ndarray) -> list[dict[str, str]]:
    coords = model.coords[cells]
    names = [model.dim_labels(d) for d in range(len(model.dims))]
    return [{d: str(names[i][int(c[i])]) for i, d in enumerate(model.dims)} for c in coords]


def _leaf_labels(model: Any) -> list[dict[str, str]]:
    sizes = [len(lv) for lv in model.levels]
    grid = np.indices(sizes).reshape(len(sizes), -1).T
    return [{d: str(model.levels[i][int(g[i])]) for i, d in enumerate(model.dims)} for g in grid]


def _visible_dims(model: Any, constant: set[str]) -> Any:
    return [d for d in model.dims if d not in constant]


def table_cells(
    name: str,
    model: Any,
    statistic: str,
    value_name: str,
    released: np.ndarray,
    counts: np.ndarray | None,
    rounded_to: int | None = None,
    population: str | None = None,
    constant: tuple[str, ...] = (),
) -> OutputCells | None:
    """A table's published cells over its inner cells (None for a statistic that is no sum).

    ``released``: every cube cell's released value (NaN where hidden); ``counts``:
    records per cube cell. ``constant``: dimensions that are the same for every
    record (a ``describe`` without groups), left out of descriptions.
    """
    from sdc.tables.statistics import COUNTS

    if statistic in COUNTS:
        measure, means = RECORDS, False
    elif statistic in ("sum", "mean"):
        measure, means = f"sum of {value_name}", statistic == "mean"
    else:
        return None
    pub = np.flatnonzero(model.published_mask)
    values = np.asarray(released, dtype=np.float64)[pub]
    shown = _visible_dims(model, set(constant))
    cell_labels = [{k: v for k, v in lab.items() if k in shown} for lab in _labels(model, pub)]
    leaf_labels = [{k: v for k, v in lab.items() if k in shown} for lab in _leaf_labels(model)]
    what = f"{statistic} table" + (f" of {' x '.join(shown)}" if shown else "")
    return OutputCells(
        name=name, measure=measure, member=model.model_matrix().tocsr(),
        published=~np.isnan(values), counts=None if counts is None else
        np.asarray(counts, dtype=np.int64)[pub], values=values, cell_labels=cell_labels,
        leaf_labels=leaf_labels, rounded_to=rounded_to, what=what, population=population,
        means=means,
    )  # fmt: skip


def survival_cells(
    name: str, table: Any, groups: list[str], by: str | None, population: str | None = None
) -> tuple[OutputCells, list[np.ndarray]]:
    """A survival table's counts over (group, step, event) leaves, and each group's step starts.

    ``table``: the released table (columns group, step, start, at_risk, events,
    censored); ``groups``: every group's text, released or not (a group that is not
    released has one leaf and no cell). Per released step: the records at risk at its
    start (every leaf of this and later steps), its events and its censored records.
    """
    leaf_labels: list[dict[str, str]] = []
    rows: list[list[int]] = []
    cell_labels: list[dict[str, str]] = []
    values: list[float] = []
    starts_of: list[np.ndarray] = []
    gname = by or "group"
    released_groups = table["group"].astype(str)
    for g in groups:
        steps = table[released_groups == g]
        starts = steps["start"].to_numpy(dtype=np.float64)
        starts_of.append(starts)
        first = len(leaf_labels)
        if starts.size == 0:
            leaf_labels.append({gname: g, "follow-up": "any", "event": "any"})
            continue
        ends = np.concatenate((starts[1:], [np.inf]))
        for a, b in zip(starts, ends, strict=True):
            span = f"[{a:g}, {b:g})" if np.isfinite(b) else f">= {a:g}"
            leaf_labels.append({gname: g, "follow-up": span, "event": "no"})
            leaf_labels.append({gname: g, "follow-up": span, "event": "yes"})
        k_steps = starts.size
        for k, row in enumerate(steps.itertuples(index=False)):
            at = {gname: g, "step": str(k + 1)}
            rows.append([first + j for j in range(2 * k, 2 * k_steps)])
            cell_labels.append({**at, "count": "at risk"})
            values.append(float(row.at_risk))
            rows.append([first + 2 * k + 1])
            cell_labels.append({**at, "count": "events"})
            values.append(float(row.events))
            rows.append([first + 2 * k])
            cell_labels.append({**at, "count": "censored"})
            values.append(float(row.censored))
    member = _member(rows, len(leaf_labels))
    cells = OutputCells(
        name=name, measure=RECORDS, member=member, published=np.ones(len(rows), dtype=bool),
        counts=np.asarray(values, dtype=np.int64), values=np.asarray(values),
        cell_labels=cell_labels, leaf_labels=leaf_labels, what="survival table",
        population=population, kind="survival",
    )  # fmt: skip
    return cells, starts_of


def _member(rows: list[list[int]], n_leaves: int) -> sp.csr_matrix:
    """0/1 matrix (leaves x cells) from each cell's list of leaves."""
    r = np.concatenate([np.asarray(x, dtype=np.int64) for x in rows]) if rows else np.zeros(0, int)
    c = np.repeat(np.arange(len(rows)), [len(x) for x in rows])
    data = np.ones(r.size, dtype=np.int8)
    return sp.csr_matrix((data, (r, c)), shape=(n_leaves, len(rows)))


def population_of(out: Any) -> str | None:
    """The filter expression recorded in an output's definition (None: the rows given)."""
    d = getattr(out, "definition", None)
    pop = d.get("population") if isinstance(d, dict) else None
    expression = pop.get("expression") if isinstance(pop, dict) else None
    return expression if isinstance(expression, str) else None


@dataclass(frozen=True, eq=False)
class Participant:
    """An output in a check: its cells, each atom's leaf in it (-1 outside), and whether it
    was released before (from the registry; ``identity`` then names it and its
    definition, for :mod:`sdc.differencing.basis`)."""

    cells: OutputCells
    leaf: np.ndarray
    earlier: bool = False
    identity: str = ""

    @property
    def name(self) -> str:
        return self.cells.name
