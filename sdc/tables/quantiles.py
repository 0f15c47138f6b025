"""Published quantiles: rounded to the rule set's grid, with the evidence of what surrounds them.

A median or percentile is computed by linear interpolation (as pandas does), then
rounded to the rule set's ``[quantile] significant_figures`` (0: not rounded). The
``quantile`` rule then needs, per cell, the contributors (records, without a
contributor column) with a value strictly below the published value, strictly above
it, and within ``neighbourhood * |value|`` of it, and whether any record's value equals
it: :func:`quantile_evidence` counts them in one grouped pass per member slot of the
table (margins included), counting a contributor once per cell.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sdc.tables.evidence import TableEvidence
from sdc.tables.quantile_evidence import QuantileEvidence
from sdc.tables.statistics import member_cells

__all__ = ["QuantileEvidence", "quantile_evidence", "round_significant"]


def round_significant(values: np.ndarray, digits: int) -> np.ndarray:
    """``values`` rounded to ``digits`` significant figures (0: unchanged; NaN stays NaN).

    >>> round_significant(np.array([51234.0, 0.012345, -987.6, np.nan, 0.0]), 2).tolist()
    [51000.0, 0.012, -990.0, nan, 0.0]
    """
    if digits <= 0:
        return values
    out = np.array(values, dtype=np.float64, copy=True)
    finite = np.isfinite(out)
    out[finite] = [float(f"{v:.{digits}g}") for v in out[finite].tolist()]
    return out


def _distinct_per_cell(cells: np.ndarray, ids: np.ndarray | None, n_cells: int) -> np.ndarray:
    if ids is None:
        return np.bincount(cells, minlength=n_cells)
    base = int(ids.max()) + 1 if ids.size else 1
    return np.bincount(np.unique(cells * base + ids) // base, minlength=n_cells)


def quantile_evidence(
    codes: np.ndarray,
    values: np.ndarray,
    contributor: np.ndarray | None,
    ev: TableEvidence,
    published: np.ndarray,
    neighbourhood: float,
    significant_figures: int,
) -> QuantileEvidence:
    """Who surrounds each cell's ``published`` value (see the module docstring).

    Examples
    --------
    >>> from sdc.tables.model import TableModel
    >>> from sdc.tables.evidence import compute_evidence
    >>> tm = TableModel(("g",), (("a",),), n_rows=1, margins=False)
    >>> codes = np.zeros((5, 1), dtype=np.int64)
    >>> values = np.array([1.0, 2.0, 3.0, 3.1, 9.0])
    >>> ev = compute_evidence(codes, tm, values)  # cells: level a, and the total (not shown)
    >>> q = quantile_evidence(codes, values, None, ev, np.array([3.0, 3.0]), 0.05, 3)
    >>> q.below.tolist(), q.above.tolist(), q.near.tolist(), q.exact.tolist()
    ([2, 2], [2, 2], [2, 2], [True, True])
    """
    n_cells = ev.n_cells
    found: dict[str, list[np.ndarray]] = {"below": [], "above": [], "near": [], "exact": []}
    owners: dict[str, list[np.ndarray]] = {k: [] for k in found}
    for cells in member_cells(codes, ev):
        keep = (cells >= 0) & ~np.isnan(values)
        c, x = cells[keep], values[keep]
        v = published[c]
        masks = {
            "below": x < v, "above": x > v, "exact": x == v,
            "near": np.abs(x - v) <= neighbourhood * np.abs(v),
        }  # fmt: skip
        for key, mask in masks.items():
            found[key].append(c[mask])
            if contributor is not None:
                owners[key].append(contributor[keep][mask])
    counts = {}
    for key in found:
        cells = np.concatenate(found[key]) if found[key] else np.zeros(0, dtype=np.int64)
        ids = None if contributor is None else np.concatenate(owners[key] or [cells[:0]])
        counts[key] = _distinct_per_cell(cells, ids, n_cells)
    return QuantileEvidence(
        value=published.astype(np.float64), below=counts["below"], above=counts["above"],
        near=counts["near"], exact=counts["exact"] > 0, neighbourhood=float(neighbourhood),
        significant_figures=int(significant_figures),
    )  # fmt: skip


def publish_quantiles(
    codes: np.ndarray,
    values: np.ndarray,
    contributor: np.ndarray | None,
    ev: TableEvidence,
    cells: np.ndarray,
    neighbourhood: float,
    significant_figures: int,
) -> tuple[np.ndarray, TableEvidence]:
    """A quantile table as published: ``cells`` rounded to the grid, and the evidence with
    who surrounds each published value. The session and the gate's recomputation both
    publish through here, so they agree to the last digit."""
    rounded = round_significant(cells, significant_figures)
    surround = quantile_evidence(
        codes, values, contributor, ev, rounded, neighbourhood, significant_figures
    )
    return rounded, dataclasses.replace(ev, quantile=surround)
