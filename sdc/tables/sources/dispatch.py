"""Which source a table's data comes from, and the one place that sends it there.

Data that is not a pandas object is recognised by its type's module, without
importing Dask or PySpark: a Dask DataFrame or Series, a Spark DataFrame, or file
paths (a path, a glob pattern, or a list of them) streamed in bounded memory.
"""

from __future__ import annotations

import glob
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdc._validation import input_error
from sdc.exceptions import SdcInputError
from sdc.ruleset import RuleSet
from sdc.tables.output import TableOutput
from sdc.tables.sources.spec import TableSpec, check_statistic, finish


def source_kind(data: Any) -> str | None:
    """``"dask"``, ``"spark"`` or ``"files"`` for data the pandas path does not take; else None.

    Examples
    --------
    >>> source_kind("cohort/*.parquet"), source_kind([1, 2])
    ('files', None)
    """
    module = type(data).__module__ or ""
    if module.split(".")[0] in ("dask", "dask_expr"):
        return "dask"
    if module.split(".")[0] == "pyspark":
        return "spark"
    if isinstance(data, (str, Path)):
        return "files"
    if isinstance(data, (list, tuple)) and data and all(isinstance(p, (str, Path)) for p in data):
        return "files"
    return None


def file_paths(data: Any, func: str) -> list[Path]:
    """The files named by a path, a glob pattern or a list of them, in sorted order per pattern."""
    items = [data] if isinstance(data, (str, Path)) else list(data)
    out: list[Path] = []
    for item in items:
        text = str(item)
        matches = sorted(glob.glob(text)) if glob.has_magic(text) else [text]
        if not matches:
            raise input_error("data", func, "paths or glob patterns matching files", text)
        out += [Path(m) for m in matches]
    return out


def columns_of(kind: str, data: Any, func: str) -> list[str]:
    if kind == "files":
        return []  # checked against each file as it is read
    return [str(c) for c in data.columns]


def source_table(
    kind: str, data: Any, rows: list[str], cols: list[str], value_col: str | None,
    statistic: str, contributor: str | None, margins: bool, *, ruleset: RuleSet, name: str,
    protect: bool, func: str, hierarchies: Any = None,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> TableOutput:  # fmt: skip
    """Compute and check a table from a Dask or Spark DataFrame or from files."""
    check_statistic(statistic, func)
    if hierarchies is not None:
        raise input_error("hierarchies", func, "None for data that is not a pandas DataFrame",
                          hierarchies, "Make hierarchical tables from pandas data.")  # fmt: skip
    dims = tuple(rows + cols)
    if len(set(dims)) != len(dims):
        raise input_error("index/columns", func, "distinct columns", list(dims))
    known = columns_of(kind, data, func)
    needed = [*dims, *(c for c in (value_col, contributor) if c is not None)]
    for c in needed:
        if known and c not in known:
            raise input_error("index/columns/values", func, "columns of the data", c,
                              f"Available columns: {', '.join(known[:20])}.")  # fmt: skip
    spec = TableSpec(dims, len(rows), value_col, contributor, statistic, margins,
                     ruleset.top_k)  # fmt: skip
    if kind == "dask":
        from sdc.tables.sources.dask_frames import dask_evidence, declared_levels

        declared = declared_levels(data, dims, func)
        spec = TableSpec(dims, len(rows), value_col, contributor, statistic, margins,
                         ruleset.top_k, declared)  # fmt: skip
        ev = dask_evidence(data, spec, func)
    elif kind == "spark":
        from sdc.tables.sources.spark_frames import spark_evidence

        ev = spark_evidence(data, spec, func)
    else:
        from sdc.tables.sources.files import stream_evidence

        ev, declared = stream_evidence(file_paths(data, func), spec, func, progress=progress)
        if ev is None:
            raise SdcInputError(f"the data files of `{func}` have no records.")
        spec = TableSpec(dims, len(rows), value_col, contributor, statistic, margins,
                         ruleset.top_k, declared)  # fmt: skip
    return finish(ev, spec, ruleset, name, protect, func)


def crosstab_frame(
    kind: str, rows: list[Any], cols: list[Any], values: Any, contributor: Any, func: str
) -> tuple[Any, list[str], list[str], str | None, str | None]:
    """One frame of the Series given to ``crosstab`` and the names of its columns."""
    if kind != "dask":
        raise input_error("index", func, "pandas or Dask Series", kind,
                          "For a Spark DataFrame use pivot_table with column names.")  # fmt: skip
    from sdc.tables.sources.dask_frames import dask_frame

    parts, names = [], []
    for i, s in enumerate([*rows, *cols]):
        name = str(s.name) if s.name is not None else f"dim_{i}"
        parts.append(s.rename(name))
        names.append(name)
    value_col = contrib_col = None
    if values is not None:
        value_col = "__value" if values.name in names or values.name is None else str(values.name)
        parts.append(values.rename(value_col))
    if contributor is not None:
        contrib_col = "__contributor"
        parts.append(contributor.rename(contrib_col))
    frame = dask_frame(parts, func)
    return frame, names[: len(rows)], names[len(rows) :], value_col, contrib_col
