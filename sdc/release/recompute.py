"""Recomputing outputs from the data at the gate (``sdc check --data PATH``).

Where the gate can read the data an output was computed from, it need not
believe the evidence: it recomputes the output from its recorded definition
(:mod:`sdc.definition`) and judges what it computed.

An output is recomputed when its definition names only columns of the data file
and each column has the fingerprint the session recorded (same values, same
rows, in the same order). Then the recomputed evidence must equal the evidence
file, and the released file must equal what the recomputation releases (for a
table: the recomputed values, in the released suppression pattern); anything
that differs fails the output. An output whose columns differ (another data set,
or a subset of its rows: its definition records no filter that selects them)
is not recomputed, and the report says why.

Tables (``crosstab``, ``pivot_table``, ``hist``, ``describe``, linked tables) and
survival tables are recomputed. Fitted models are not refitted at the gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdc.canonical import label_text
from sdc.definition import number_fingerprint, series_fingerprint, text_codes, text_fingerprint
from sdc.exceptions import SdcInputError
from sdc.tables.evidence import TableEvidence, compute_evidence
from sdc.tables.factorize import factorize
from sdc.tables.quantiles import publish_quantiles
from sdc.tables.statistics import cell_values

#: Calls whose tables the gate recomputes.
TABLE_CALLS = ("crosstab", "pivot_table", "hist", "describe", "protect_linked", "protect")


class NotRecomputed(Exception):
    """The output cannot be recomputed from this data (the message says why)."""


class Differs(Exception):
    """The data give another output than the one in the request (the message says how)."""


class DataSource:
    """A data file read once at the gate: columns as text codes or numbers, on demand.

    CSV and TSV files are read as text (an empty field is missing), Parquet files
    with their types; either way a column's text fingerprint is the session's.
    """

    def __init__(self, path: str | Path) -> None:
        from sdc.io import read_table

        self.path = Path(path)
        self.frame = read_table(self.path)
        self._text: dict[str, tuple[np.ndarray, list[str]]] = {}
        self._numbers: dict[str, np.ndarray] = {}

    @property
    def rows(self) -> int:
        return int(self.frame.shape[0])

    def column(self, name: Any, role: str) -> pd.Series:
        if not isinstance(name, str):
            raise NotRecomputed(f"its {role} is not a named column of the data")
        if name not in self.frame.columns:
            raise NotRecomputed(f"the data file has no column {name!r} (its {role})")
        return self.frame[name]

    def text(self, name: Any, role: str) -> tuple[np.ndarray, list[str]]:
        """Codes in the sorted order of the values' text, and those texts (missing last)."""
        if name not in self._text:
            codes, labels = factorize(self.column(name, role))
            self._text[name] = text_codes(codes, labels)
        return self._text[name]

    def numbers(self, name: Any, role: str) -> np.ndarray:
        if name not in self._numbers:
            from sdc.differencing.population import to_numbers

            col = self.column(name, role)
            values = to_numbers(col)
            if (np.isnan(values) & col.notna().to_numpy()).any() or pd.api.types.is_bool_dtype(
                col.dtype
            ):
                raise NotRecomputed(f"its {role} {name!r} is not a numeric column of the data")
            self._numbers[name] = values
        return self._numbers[name]


def _need(definition: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(definition, dict) or definition.get("version") != 1:
        raise NotRecomputed("its definition is missing or of an unknown version")
    missing = [k for k in keys if k not in definition]
    if missing:
        raise NotRecomputed(f"its definition lacks {missing}")
    return definition


def _same(found: str, recorded: Any, role: str) -> None:
    if found != recorded:
        raise NotRecomputed(
            f"its {role} in the data file differs from the column it was computed from "
            "(other values or rows: another data set, or a subset its definition does not "
            "select)"
        )


def _same_rows(d: dict[str, Any], source: DataSource) -> None:
    if not isinstance(d["dataset"], dict) or d["dataset"].get("rows") != source.rows:
        raise NotRecomputed(
            "the data file has another number of rows than the data it was computed from"
        )


@dataclass(frozen=True)
class RecomputedTable:
    """Evidence recomputed from the data, and every cell's value of the statistic."""

    evidence: TableEvidence
    values: np.ndarray


def _dim_codes(d: dict[str, Any], levels: tuple[Any, ...], source: DataSource) -> np.ndarray:
    """Each record's leaf code on a dimension, checked against its recorded fingerprint."""
    name = d.get("name")
    if d.get("column") not in (None, name):  # a session names each dimension by its column
        raise Differs(f"its definition reads dimension {name!r} from another column")
    if d.get("constant") is not None:
        codes = np.zeros(source.rows, dtype=np.int64)
        texts = [str(d["constant"])]
    elif d.get("bins") is not None:
        from sdc.tables.histogram import bin_labels, inner_cuts

        if not isinstance(d["bins"], list) or len(d["bins"]) > len(levels):
            raise Differs(f"the bins of {name!r} do not fit its levels")
        try:
            edges = np.asarray(d["bins"], dtype=np.float64)
        except (TypeError, ValueError):
            raise Differs(f"the bins of {name!r} are not numbers") from None
        if not (np.isfinite(edges).all() and (np.diff(edges) > 0).all()):
            raise Differs(f"the bins of {name!r} are not increasing finite edges")
        values = source.numbers(d.get("column"), f"column {name!r}")
        if inner_cuts(values, edges).size != edges.size:  # an edge would pin an extreme
            raise Differs(f"an edge of {name!r} is at or beyond the data's minimum or maximum")
        codes, labels = factorize(pd.Series(bin_labels(values, edges)))
        codes, texts = text_codes(codes, labels)
    else:
        codes, texts = source.text(d.get("column"), f"column {name!r}")
    _same(text_fingerprint(codes, texts), d.get("fingerprint"), f"column {name!r}")
    position = {label_text(x): i for i, x in enumerate(levels)}
    lookup = np.array([position.get(t, -1) for t in texts], dtype=np.int64)
    mapped = lookup[codes] if lookup.size else codes
    if (mapped < 0).any():
        raise Differs(f"the data hold a level of {name!r} that its evidence does not list")
    return mapped


def recompute_table(
    definition: Any, statistic: str, ev: TableEvidence, source: DataSource, top_k: int
) -> RecomputedTable:
    """The table recomputed from the data over the cells of ``ev`` (its model)."""
    d = _need(definition, ("call", "statistic", "dims", "values", "contributor", "dataset"))
    if d["call"] not in TABLE_CALLS:
        raise NotRecomputed(f"tables made by {d['call']!r} are not recomputed")
    if d["statistic"] != statistic:
        raise Differs("its definition names another statistic than the manifest")
    dims = d["dims"]
    model = ev.model
    if not isinstance(dims, list) or [x.get("name") for x in dims if isinstance(x, dict)] != list(
        model.dims
    ):
        raise Differs("its definition names other dimensions than its evidence")
    for dim in dims:
        if dim.get("constant") is None:
            source.column(dim.get("column"), f"column {dim.get('name')!r}")
    _same_rows(d, source)
    codes = np.empty((source.rows, len(dims)), dtype=np.int64)
    for j, dim in enumerate(dims):
        codes[:, j] = _dim_codes(dim, model.levels[j], source)
    values = contrib = None
    if d["values"] is not None:
        col = d["values"].get("column") if isinstance(d["values"], dict) else None
        values = source.numbers(col, "values column")
        _same(number_fingerprint(values), d["values"].get("fingerprint"), "values column")
    if d["contributor"] is not None:
        col = d["contributor"].get("column") if isinstance(d["contributor"], dict) else None
        contrib, texts = source.text(col, "contributor column")
        _same(text_fingerprint(contrib, texts), d["contributor"].get("fingerprint"),
              "contributor column")  # fmt: skip
        if texts and texts[-1] == "<missing>":
            raise Differs("the contributor column has missing ids")
    if (values is not None) != ev.has_values or (contrib is not None) != ev.has_contributor:
        raise Differs("its definition and its evidence disagree on its values or contributors")
    k = max(top_k, ev.top_k)
    fresh = compute_evidence(codes, model, values, contrib, top_k=k)
    cells = cell_values(fresh, statistic, codes, values)
    if ev.quantile is not None and values is not None:  # published on the grid it records
        q = ev.quantile
        cells, fresh = publish_quantiles(
            codes, values, contrib, fresh, cells, q.neighbourhood, q.significant_figures
        )
    return RecomputedTable(fresh, cells)


def same_evidence(a: TableEvidence, b: TableEvidence) -> bool:
    """Equal evidence (every array, exactly; ``b`` may keep more largest contributions)."""
    if (a.has_values, a.has_contributor) != (b.has_values, b.has_contributor):
        return False
    for name in ("records", "nonmissing", "contributors", "negatives", "missing"):
        if not np.array_equal(getattr(a, name), getattr(b, name)):
            return False
    for name in ("sum", "abs_sum", "min", "max"):
        if not np.array_equal(getattr(a, name), getattr(b, name), equal_nan=True):
            return False
    if not np.array_equal(a.top, b.top[:, : a.top_k], equal_nan=True):
        return False
    if (a.quantile is None) != (b.quantile is None):
        return False
    return a.quantile is None or b.quantile is None or a.quantile.to_dict() == b.quantile.to_dict()


def recompute_survival(definition: Any, source: DataSource, ruleset: Any, name: str) -> Any:
    """The survival output recomputed from the data (pooled with ``ruleset``'s threshold)."""
    from sdc.regression.survival import _events, survival_table

    d = _need(definition, ("call", "duration", "event", "by", "time_unit", "dataset"))
    if d["call"] != "survival_table":
        raise NotRecomputed(f"outputs made by {d['call']!r} are not recomputed")
    for role in ("duration", "event", "by"):
        if isinstance(d[role], dict):
            source.column(d[role].get("column"), f"{role} column")
    _same_rows(d, source)
    frame: dict[str, Any] = {}
    columns: dict[str, str] = {}
    for role in ("duration", "event"):
        entry = d[role] if isinstance(d[role], dict) else {}
        col = entry.get("column")
        raw = source.column(col, f"{role} column")
        columns[role] = str(col)
        if role == "event" and not pd.api.types.is_numeric_dtype(raw.dtype):
            lowered = raw.astype(str).str.lower()
            if not lowered.isin(["true", "false"]).all():
                raise NotRecomputed("its event column is not 0/1 or True/False in the data")
            values = (lowered == "true").to_numpy(dtype=np.float64)
        else:
            values = source.numbers(col, f"{role} column")
        if role == "event":
            fp = number_fingerprint(_events(pd.Series(values)).astype(float))
        else:
            fp = number_fingerprint(values)
        _same(fp, entry.get("fingerprint"), f"{role} column")
        frame[str(col)] = values
    by = None
    if d["by"] is not None:
        entry = d["by"] if isinstance(d["by"], dict) else {}
        codes, texts = source.text(entry.get("column"), "group column")
        by = str(entry.get("column"))
        _same(text_fingerprint(codes, texts), entry.get("fingerprint"), "group column")
        levels = entry.get("levels")
        if not isinstance(levels, list) or sorted(levels) != texts or by in frame:
            raise Differs("its groups in the data differ from its definition's")
        order = np.array([levels.index(t) for t in texts], dtype=np.int64)
        frame[by] = pd.Categorical(np.asarray(levels, dtype=object)[order[codes]],
                                   categories=levels)  # fmt: skip
    who = d.get("contributor")
    if who is not None:  # rows of one person counted once, as the session did
        col = who.get("column") if isinstance(who, dict) else None
        ids = source.column(col, "contributor column")
        _same(series_fingerprint(ids.astype(str)), who.get("fingerprint"), "contributor column")
        if str(col) in frame:
            raise Differs("its contributor column is one of its other columns")
        frame[str(col)] = ids.to_numpy()
        who = str(col)
    try:
        return survival_table(pd.DataFrame(frame), columns["duration"], columns["event"], by,
                              ruleset, name, d["time_unit"], who)  # fmt: skip
    except SdcInputError as exc:
        raise NotRecomputed(f"the data do not give a survival table ({exc})") from None
