"""Evidence of one chunk of rows (a batch, a partition, a file), pandas or Arrow columns.

Each chunk is coded on its own (its levels sorted, or declared for categoricals and
Arrow dictionaries) and its evidence merges with the others'. Values and contributor
ids are validated as the pandas path validates them; a chunk without rows has no
evidence (``None``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from sdc._validation import input_error, numeric_values
from sdc.tables.arrow_codes import arrow_codes
from sdc.tables.evidence import TableEvidence, compute_evidence, merge
from sdc.tables.factorize import MISSING_LABEL, factorize, sorted_codes
from sdc.tables.model import TableModel
from sdc.tables.sources.spec import TableSpec


def _is_dictionary(col: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_dictionary(col.type))


def column_codes(col: Any, name: str, func: str) -> tuple[np.ndarray, list[Any]]:
    """Codes and levels of one grouping column of a chunk (pandas Series or Arrow array)."""
    if isinstance(col, pd.Series):
        codes, labels = factorize(col)
        real = labels[:-1] if col.isna().any() else labels
    elif _is_dictionary(col):  # declared order: the dictionary's
        first, labels = arrow_codes(col)
        codes = np.where(first < 0, len(labels), first)
        real = list(labels)
        if (first < 0).any():
            labels = [*labels, MISSING_LABEL]
    else:
        first, found = arrow_codes(col)
        real = list(found)
        codes, labels = sorted_codes(first, found)
    if MISSING_LABEL in real:
        raise input_error(
            "index/columns", func, f"free of the reserved label {MISSING_LABEL!r}",
            f"column {name!r} has a level {MISSING_LABEL!r}", "Rename that level first.",
        )  # fmt: skip
    return np.ascontiguousarray(codes, dtype=np.int64), labels


def value_array(col: Any, name: str, func: str) -> np.ndarray:
    """The value column of a chunk as float64 (NaN missing), refused unless numeric."""
    if isinstance(col, pd.Series):
        return numeric_values(col, "values", func)
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    if not (pa.types.is_integer(t) or pa.types.is_floating(t)):
        raise input_error(
            "values", func, "a numeric column", f"column {name!r} of type {t}",
            "Convert it to numbers first.",
        )  # fmt: skip
    values = np.ascontiguousarray(
        pc.cast(col, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64
    )
    if np.isinf(values).any():
        raise input_error(
            "values", func, "finite or missing", f"infinite values in column {name!r}"
        )
    return values


def contributor_codes(col: Any, name: str, func: str) -> np.ndarray:
    """Codes 0..C-1 of the contributor ids of a chunk; a missing id is an error."""
    if isinstance(col, pd.Series):
        n_missing = int(col.isna().sum())
        codes = factorize(col)[0] if not n_missing else None
    else:
        first, _ = arrow_codes(col)
        n_missing = int((first < 0).sum())
        codes = first
    if n_missing or codes is None:
        raise input_error(
            "contributor", func, "a column without missing ids",
            f"{n_missing} missing id(s) in {name!r}",
            "Every record must be attributed to a contributor.",
        )  # fmt: skip
    return codes


def chunk_evidence(
    columns: Mapping[str, Any], spec: TableSpec, func: str, *, threads: bool | None = False
) -> TableEvidence | None:
    """Evidence of one chunk, each column a pandas Series or an Arrow (chunked) array."""
    if len(columns[spec.dims[0]]) == 0:
        return None
    codes, model = coded_rows(columns, spec, func)
    values = None if spec.values is None else value_array(columns[spec.values], spec.values, func)
    contrib = None
    if spec.contributor is not None:
        contrib = contributor_codes(columns[spec.contributor], spec.contributor, func)
    return compute_evidence(codes, model, values, contrib, spec.top_k, threads=threads)


def coded_rows(columns: Mapping[str, Any], spec: TableSpec,
               func: str) -> tuple[np.ndarray, TableModel]:  # fmt: skip
    """The grouping columns of a chunk as (rows x dims) codes, and the table over their
    levels (see :func:`column_codes`)."""
    coded = [column_codes(columns[d], d, func) for d in spec.dims]
    codes = np.empty((len(columns[spec.dims[0]]), len(spec.dims)), dtype=np.int64)
    for j, (c, _) in enumerate(coded):
        codes[:, j] = c
    model = TableModel(spec.dims, tuple(tuple(lv) for _, lv in coded), spec.n_rows, spec.margins)
    return codes, model


def merge_parts(parts: Iterable[TableEvidence | None]) -> TableEvidence | None:
    """Merge partial evidence, skipping chunks without rows."""
    out: TableEvidence | None = None
    for part in parts:
        if part is not None:
            out = part if out is None else merge(out, part)
    return out


def tree_merge(parts: list[TableEvidence | None]) -> TableEvidence | None:
    """Merge pairwise, level by level (the shape a distributed reduction takes)."""
    if not parts:
        return None
    while len(parts) > 1:
        parts = [merge_parts(parts[i : i + 2]) for i in range(0, len(parts), 2)]
    return parts[0]
