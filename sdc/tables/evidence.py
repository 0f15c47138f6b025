"""Per-cell evidence of a table: what the rules need that the published numbers do not show.

``TableEvidence`` is a struct of arrays, one entry per cell of its ``TableModel``
(margins included). It is a commutative monoid: :func:`merge` combines evidence
of disjoint row chunks exactly, provided no contributor has records in both
chunks (distinct-contributor counts and per-contributor top-k only add up then).
:func:`partition_by_contributor` splits microdata so that this holds.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sdc.exceptions import SdcEvidenceError
from sdc.kernels.layout import EVIDENCE_COUNT_FIELDS, EVIDENCE_FLOAT_FIELDS
from sdc.tables.factorize import sort_levels
from sdc.tables.model import TableModel
from sdc.tables.quantile_evidence import QuantileEvidence

_COUNTS = EVIDENCE_COUNT_FIELDS
_FLOATS = EVIDENCE_FLOAT_FIELDS


@dataclass(frozen=True, eq=False)
class TableEvidence:
    """Evidence arrays for every cell of ``model``.

    ``top`` holds the ``top_k`` largest per-contributor totals per cell, descending,
    ``-inf`` where a cell has fewer contributors. ``min``/``max`` are ``+inf``/``-inf``
    where a cell has no non-missing value. ``has_values`` is False for frequency
    tables, whose records each contribute 1. ``quantile`` is set for tables of a
    median or percentile only (see :mod:`sdc.tables.quantiles`).
    """

    model: TableModel
    records: np.ndarray
    nonmissing: np.ndarray
    contributors: np.ndarray
    negatives: np.ndarray
    missing: np.ndarray
    sum: np.ndarray
    abs_sum: np.ndarray
    min: np.ndarray
    max: np.ndarray
    top: np.ndarray
    has_values: bool
    has_contributor: bool
    quantile: QuantileEvidence | None = None

    @property
    def top_k(self) -> int:
        return int(self.top.shape[1])

    @property
    def n_cells(self) -> int:
        return self.model.n_cells

    def top_or_zero(self) -> np.ndarray:
        """``top`` with absent contributors as 0, the form dominance rules read."""
        return np.where(np.isfinite(self.top), self.top, 0.0)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the manifest (``-inf``/``inf`` become ``None``)."""
        out: dict[str, Any] = {
            "dims": list(self.model.dims),
            "levels": [list(lv) for lv in self.model.levels],
            "n_rows": self.model.n_rows,
            "margins": self.model.margins,
            "groups": [
                [[g, list(leaves)] for g, leaves in self.model.dim_groups(d)]
                for d in range(len(self.model.dims))
            ],
            "has_values": self.has_values,
            "has_contributor": self.has_contributor,
        }
        for name in _COUNTS:
            out[name] = getattr(self, name).tolist()
        for name in (*_FLOATS, "top"):
            arr = getattr(self, name)
            out[name] = np.where(np.isfinite(arr), arr, np.nan).tolist()
            out[name] = _nan_to_none(out[name])
        if self.quantile is not None:
            out["quantile"] = self.quantile.to_dict()
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TableEvidence:
        """Rebuild and validate evidence read from a manifest; any inconsistency is an error."""
        expected = {
            "dims", "levels", "n_rows", "margins", "groups", "has_values", "has_contributor",
            *_COUNTS, *_FLOATS, "top",
        }  # fmt: skip
        if isinstance(d, dict) and "quantile" in d:  # tables of a median or percentile
            expected.add("quantile")
        if not isinstance(d, dict) or set(d) != expected:
            keys = sorted(set(d) ^ expected) if isinstance(d, dict) else d
            raise SdcEvidenceError(
                f"evidence must have exactly the keys {sorted(expected)}; differs in {keys}."
            )
        try:
            groups = tuple(
                tuple((str(g), tuple(leaves)) for g, leaves in dim_groups)
                for dim_groups in d["groups"]
            )
            model = TableModel(
                tuple(d["dims"]),
                tuple(tuple(lv) for lv in d["levels"]),
                int(d["n_rows"]),
                bool(d["margins"]),
                groups if any(groups) else (),
            )
            n = model.n_cells
            arrays: dict[str, np.ndarray] = {}
            for name in _COUNTS:
                arrays[name] = np.asarray(d[name], dtype=np.int64)
            for name in _FLOATS:
                arrays[name] = np.asarray(
                    [np.nan if v is None else v for v in d[name]], dtype=np.float64
                )
            top = np.asarray(
                [[np.nan if v is None else v for v in row] for row in d["top"]], dtype=np.float64
            )
        except (TypeError, ValueError):  # the message would quote what it could not read
            raise SdcEvidenceError(
                "evidence arrays are malformed (not numbers, or not of one length)."
            ) from None
        for name, arr in arrays.items():
            if arr.shape != (n,):
                raise SdcEvidenceError(f"evidence `{name}` must have {n} entries; got {arr.shape}.")
        if top.ndim != 2 or top.shape[0] != n or top.shape[1] < 2:
            raise SdcEvidenceError(f"evidence `top` must be {n} rows of >= 2 values.")
        arrays["min"] = np.where(np.isnan(arrays["min"]), np.inf, arrays["min"])
        arrays["max"] = np.where(np.isnan(arrays["max"]), -np.inf, arrays["max"])
        top = np.where(np.isnan(top), -np.inf, top)
        quantile = None
        if "quantile" in d:
            quantile = QuantileEvidence.from_dict(d["quantile"], n)
        ev = cls(
            model=model,
            top=top,
            has_values=bool(d["has_values"]),
            has_contributor=bool(d["has_contributor"]),
            quantile=quantile,
            **arrays,
        )
        ev.validate()
        return ev

    def validate(self) -> None:
        """Internal consistency: counts add up, margins equal the sum of their inner cells."""
        if (self.records < 0).any() or (self.contributors < 0).any():
            raise SdcEvidenceError("evidence has negative counts.")
        if not np.array_equal(self.records, self.nonmissing + self.missing):
            raise SdcEvidenceError("evidence records != non-missing + missing in some cell.")
        if (self.contributors > self.nonmissing).any():
            raise SdcEvidenceError("evidence has more contributors than non-missing records.")
        if not np.isfinite(self.sum).all():
            raise SdcEvidenceError("evidence has a non-finite cell sum.")
        # Every margin is checked, published or not: build the matrix over all cells.
        m = self.model
        full = TableModel(m.dims, m.levels, m.n_rows, margins=True, groups=m.groups)
        x = full.model_matrix()
        inner = np.flatnonzero(full.inner_mask)
        for name in ("records", "nonmissing", "missing", "negatives"):
            arr = getattr(self, name)
            if not np.array_equal(x.T @ arr[inner], arr):
                raise SdcEvidenceError(
                    f"evidence `{name}` of a margin is not the sum of its cells."
                )
        # Sums are floats added in different orders: equal to within 1e-9 of the |x| total.
        tolerance = 1e-9 * (x.T @ self.abs_sum[inner]) + 1e-12
        for name in ("sum", "abs_sum"):
            arr = getattr(self, name)
            if (np.abs(x.T @ arr[inner] - arr) > tolerance).any():
                raise SdcEvidenceError(
                    f"evidence `{name}` of a margin is not the sum of its cells."
                )


def _nan_to_none(values: list) -> list:
    if values and isinstance(values[0], list):
        return [_nan_to_none(v) for v in values]
    return [None if v != v else v for v in values]


def compute_evidence(
    codes: np.ndarray,
    model: TableModel,
    values: np.ndarray | None = None,
    contributor: np.ndarray | None = None,
    top_k: int = 3,
    *,
    threads: bool | None = None,
) -> TableEvidence:
    """Evidence from integer-coded rows (one Numba pass).

    ``codes`` is (n, k) int64 in the level order of ``model``; ``values`` float64
    with NaN for missing (None: a frequency table, each record counts 1);
    ``contributor`` int64 codes 0..C-1 (None: each record is its own contributor).
    ``threads``: run the row pass on all cores (None: when called from the main
    thread and the rows outnumber the cells; worker threads of Dask or Spark pass False).
    """
    top_k = max(int(top_k), 2)
    codes = np.ascontiguousarray(codes, dtype=np.int64)
    if contributor is None:
        counts, floats, top = _without_contributor(codes, model, values, top_k, threads)
    else:
        counts, floats, top = _with_contributor(codes, model, values, contributor, top_k)
    return _evidence(model, counts, floats, top, values is not None, contributor is not None)


def _evidence(model: TableModel, counts: np.ndarray, floats: np.ndarray, top: np.ndarray,
              has_values: bool, has_contributor: bool) -> TableEvidence:  # fmt: skip
    """Evidence from the kernels' (cells x fields) count and float arrays."""
    arrays: dict[str, Any] = {
        **{name: np.ascontiguousarray(counts[:, i]) for i, name in enumerate(_COUNTS)},
        **{name: np.ascontiguousarray(floats[:, i]) for i, name in enumerate(_FLOATS)},
    }
    return TableEvidence(model=model, top=top, has_values=has_values,
                         has_contributor=has_contributor, **arrays)  # fmt: skip


def _inner_strides(sizes: Any) -> np.ndarray:
    """Strides of the inner cells (the last dimension varies fastest)."""
    strides = np.ones(len(sizes), dtype=np.int64)
    for d in range(len(sizes) - 2, -1, -1):
        strides[d] = strides[d + 1] * sizes[d + 1]
    return strides


def _blocks(n_rows: int, n_inner: int, threads: bool | None) -> int:
    """Row blocks for the inner pass: one per core when it pays and is safe."""
    if threads is None:
        threads = threading.current_thread() is threading.main_thread()
        threads = threads and n_rows >= max(200_000, 8 * n_inner)
    if not threads:
        return 1
    import numba

    return max(1, min(int(numba.get_num_threads()), 64))


def _without_contributor(
    codes: np.ndarray, model: TableModel, values: np.ndarray | None, top_k: int,
    threads: bool | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """Every record its own contributor: rows into inner cells, margins from those."""
    from sdc.kernels import inner

    sizes = model.sizes
    n_inner = int(np.prod(sizes))
    strides = _inner_strides(sizes)
    n_blocks = _blocks(codes.shape[0], n_inner, threads)
    if values is None:
        count = inner.inner_counts_parallel if n_blocks > 1 else inner.inner_counts_serial
        records = count(codes, strides, n_inner, n_blocks)
        counts, floats, top = _frequency_cells(records, top_k)
    else:
        vals = np.ascontiguousarray(values, dtype=np.float64)
        total = inner.inner_values_parallel if n_blocks > 1 else inner.inner_values_serial
        counts, floats, top = total(codes, strides, vals, n_inner, top_k, n_blocks)
    return inner.fill_margins(
        counts, floats, top, sizes, model.member_table, model.leaf_offsets, model.strides,
        model.n_cells,
    )  # fmt: skip


def frequency_evidence(codes: np.ndarray, records: np.ndarray, model: TableModel,
                       top_k: int = 3) -> TableEvidence:  # fmt: skip
    """Evidence of a frequency table without contributors from its inner cells' record
    counts (``codes`` (m, k) int64, one row per non-empty inner cell, ``records`` (m,)):
    what :func:`compute_evidence` gives for the rows those counts summarise, since every
    record counts 1 and is its own contributor. An engine that counts inside itself (a
    Spark ``groupBy``) hands over cells, not rows."""
    from sdc.kernels import inner

    top_k = max(int(top_k), 2)
    sizes = model.sizes
    at = np.asarray(codes, dtype=np.int64).reshape(-1, len(sizes)) @ _inner_strides(sizes)
    per_cell = np.bincount(at, weights=np.asarray(records, dtype=np.float64),
                           minlength=int(np.prod(sizes)))  # fmt: skip
    counts, floats, top = _frequency_cells(np.rint(per_cell).astype(np.int64), top_k)
    counts, floats, top = inner.fill_margins(
        counts, floats, top, sizes, model.member_table, model.leaf_offsets, model.strides,
        model.n_cells,
    )  # fmt: skip
    return _evidence(model, counts, floats, top, False, False)


def _frequency_cells(records: np.ndarray, top_k: int) -> tuple[np.ndarray, ...]:
    """Inner-cell evidence of a frequency table from its record counts (each record is 1)."""
    n = records.shape[0]
    counts = np.zeros((n, 5), dtype=np.int64)
    counts[:, 0] = counts[:, 1] = counts[:, 2] = records
    floats = np.empty((n, 4))
    floats[:, 0] = floats[:, 1] = records
    seen = records > 0
    floats[:, 2] = np.where(seen, 1.0, np.inf)
    floats[:, 3] = np.where(seen, 1.0, -np.inf)
    top = np.where(np.arange(top_k)[None, :] < records[:, None], 1.0, -np.inf)
    return counts, floats, np.ascontiguousarray(top)


def _with_contributor(
    codes: np.ndarray, model: TableModel, values: np.ndarray | None,
    contributor: np.ndarray, top_k: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    from sdc.kernels.evidence import contributor_order, table_evidence

    n = codes.shape[0]
    vals = np.ones(n) if values is None else np.ascontiguousarray(values, dtype=np.float64)
    contrib = np.ascontiguousarray(contributor, dtype=np.int64)
    n_contrib = int(contrib.max()) + 1 if n else 0
    order = contributor_order(contrib, n_contrib)
    group_end = np.cumsum(np.bincount(contrib, minlength=n_contrib)).astype(np.int64)
    group_end = group_end[np.diff(np.concatenate(([0], group_end))) > 0]
    return table_evidence(
        codes, model.member_table, model.leaf_offsets, model.strides, vals, order,
        np.ascontiguousarray(group_end), model.n_cells, top_k,
    )  # fmt: skip


def _remap(ev: TableEvidence, model: TableModel) -> dict[str, Any]:
    """Evidence arrays of ``ev`` laid out in the (larger) cube of ``model``."""
    k = len(model.dims)
    new_cell = np.zeros(ev.n_cells, dtype=np.int64)
    strides = model.strides
    for d in range(k):
        position = {label: i for i, label in enumerate(model.levels[d])}
        n_groups = len(model.dim_groups(d))
        old_to_new = np.array(
            [position[label] for label in ev.model.levels[d]]
            + [len(model.levels[d]) + g for g in range(1 + n_groups)],
            dtype=np.int64,
        )
        new_cell += old_to_new[ev.model.coords[:, d]] * strides[d]
    n = model.n_cells
    out: dict[str, Any] = {}
    for name in _COUNTS + ("sum", "abs_sum"):
        arr = np.zeros(n, dtype=getattr(ev, name).dtype)
        arr[new_cell] = getattr(ev, name)
        out[name] = arr
    out["min"] = np.full(n, np.inf)
    out["min"][new_cell] = ev.min
    out["max"] = np.full(n, -np.inf)
    out["max"][new_cell] = ev.max
    out["top"] = np.full((n, ev.top_k), -np.inf)
    out["top"][new_cell] = ev.top
    return out


def _union_levels(la: tuple, lb: tuple) -> list:
    """Levels of both: the longer order where it contains the other's in the same order
    (keeps declared categorical orders), otherwise the canonical sorted order."""
    for small, big in ((la, lb), (lb, la)):
        members = set(small)
        if [x for x in big if x in members] == list(small):
            return list(big)
    return sort_levels([*la, *lb])


def merge(a: TableEvidence, b: TableEvidence) -> TableEvidence:
    """Evidence of the union of two disjoint row sets (no contributor in both).

    Levels are united, so chunks need not share every level.
    """
    if a.model.dims != b.model.dims or a.model.margins != b.model.margins:
        raise SdcEvidenceError("only evidence of the same dimensions can be merged.")
    if a.model.groups != b.model.groups:
        raise SdcEvidenceError("only evidence with the same hierarchy groups can be merged.")
    if a.quantile is not None or b.quantile is not None:
        raise SdcEvidenceError("quantile evidence does not merge: compute it over all the rows.")
    if (a.has_values, a.has_contributor, a.top_k) != (b.has_values, b.has_contributor, b.top_k):
        raise SdcEvidenceError(
            "only evidence of the same kind (values, contributor, top_k) merges."
        )
    if a.model.levels == b.model.levels:
        model = a.model
    else:
        pairs = zip(a.model.levels, b.model.levels, strict=True)
        levels = [_union_levels(la, lb) for la, lb in pairs]
        model = a.model.with_levels(levels)
    ra, rb = _remap(a, model), _remap(b, model)
    merged = {name: ra[name] + rb[name] for name in _COUNTS + ("sum", "abs_sum")}
    merged["min"] = np.minimum(ra["min"], rb["min"])
    merged["max"] = np.maximum(ra["max"], rb["max"])
    both = np.concatenate([ra["top"], rb["top"]], axis=1)
    merged["top"] = -np.sort(-both, axis=1)[:, : a.top_k]
    return TableEvidence(model=model, has_values=a.has_values,
                         has_contributor=a.has_contributor, **merged)  # fmt: skip


def merge_all(parts: Iterable[TableEvidence]) -> TableEvidence:
    """Merge any number of partial evidences (see :func:`merge`)."""
    result: TableEvidence | None = None
    for part in parts:
        result = part if result is None else merge(result, part)
    if result is None:
        raise SdcEvidenceError("no evidence to merge.")
    return result


def partition_by_contributor(
    frame: pd.DataFrame, contributor: str, n_parts: int
) -> list[pd.DataFrame]:
    """Split rows into ``n_parts`` so that each contributor's rows stay together.

    Evidence computed per part then merges exactly: this is the routing the
    streaming and distributed paths do before computing evidence.
    """
    ids = pd.util.hash_pandas_object(frame[contributor], index=False).to_numpy()
    part = (ids % np.uint64(n_parts)).astype(np.int64)
    return [frame[part == i] for i in range(n_parts)]


def relabel(ev: TableEvidence, levels: Sequence[Sequence[Any]]) -> TableEvidence:
    """The same evidence with each dimension's levels in a new order (a superset allowed:
    new levels are empty cells)."""
    levels = tuple(tuple(lv) for lv in levels)
    if levels == ev.model.levels:
        return ev
    model = ev.model.with_levels(levels)
    return TableEvidence(model=model, has_values=ev.has_values,
                         has_contributor=ev.has_contributor, **_remap(ev, model))  # fmt: skip
