"""What made an output: its *definition*, recorded in the manifest.

A definition says which call made the output and from what: the statistic, the
grouping columns (each with its levels, any binning, and its hierarchy groups),
the values and contributor columns, margins, the protection asked for, and a
fingerprint of every column read. It never holds a record's value. It serves:

- the gate's ``--data`` check, which recomputes an output from a data file when
  the file's columns have the recorded fingerprints (same values, same rows, in
  the same order), and fails the output if anything differs;
- later checks across outputs and releases (differencing), which need to know
  which records and categories each output covers. ``population`` is kept for a
  filter expression that selects the records (``None``: the rows given).

A column's fingerprint depends only on the text of its values (``1`` and ``"1"``
are the same) and their order, so a column read back from a CSV file has the
fingerprint the session computed from a DataFrame.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from sdc.canonical import label_text

#: Version of the definition format (a key of every definition).
DEFINITION_VERSION = 1
#: The text a missing value has in a fingerprint (as in a table's levels).
MISSING_TEXT = "<missing>"


def text_codes(codes: np.ndarray, labels: Sequence[Any]) -> tuple[np.ndarray, list[str]]:
    """Codes re-numbered in the sorted order of the labels' text, and those texts.

    Labels with the same text (``1`` and ``"1"``) share one code. A session and a
    gate that read the same column, typed differently, get the same codes.

    Examples
    --------
    >>> codes, texts = text_codes(np.array([0, 1, 2, 1]), [2, 10, "x"])
    >>> codes.tolist(), texts
    ([1, 0, 2, 0], ['10', '2', 'x'])
    """
    texts = [label_text(x) for x in labels]
    if all(a < b for a, b in pairwise(texts)):  # already in text order (sorted text labels)
        return np.asarray(codes, dtype=np.int64), texts
    unique = sorted(set(texts))
    position = {t: i for i, t in enumerate(unique)}
    remap = np.array([position[t] for t in texts], dtype=np.int64)
    return (remap[codes] if remap.size else codes.astype(np.int64)), unique


def text_fingerprint(codes: np.ndarray, labels: Sequence[Any]) -> str:
    """Fingerprint of a column given as codes into ``labels``: its values' text, in order
    (labels no record has, such as unused categories, play no part)."""
    canonical, texts = text_codes(np.asarray(codes, dtype=np.int64), labels)
    used = np.flatnonzero(np.bincount(canonical, minlength=len(texts)))
    h = hashlib.sha256(b"sdc column text v1\n")
    h.update(json.dumps([texts[i] for i in used.tolist()], ensure_ascii=True).encode("ascii"))
    h.update(b"\n")
    if used.size == len(texts):  # every label used: the codes are their own positions
        h.update(le_bytes(canonical, "<i8"))
    else:
        position = np.full(len(texts), -1, dtype=np.int64)
        position[used] = np.arange(used.size)
        h.update(le_bytes(position[canonical], "<i8"))
    return "sha256:" + h.hexdigest()


def le_bytes(values: np.ndarray, dtype: str) -> memoryview:
    """The array's bytes in the given little-endian type, without a copy when it already is
    one (hashing a column of 1e7 rows should not copy it twice)."""
    return np.ascontiguousarray(values, dtype=dtype).data.cast("B")


def number_fingerprint(values: np.ndarray) -> str:
    """Fingerprint of a numeric column (float64 values in order; every NaN alike, -0 as 0).

    Examples
    --------
    >>> number_fingerprint(np.array([1.0, -0.0])) == number_fingerprint(np.array([1, 0]))
    True
    """
    v = np.asarray(values, dtype=np.float64)
    missing = np.isnan(v)
    if missing.any() or np.signbit(v[v == 0]).any():  # copy only to rewrite: -0 as 0,
        v = v + 0.0
        v[missing] = np.nan  # and one NaN pattern for every NaN
    h = hashlib.sha256(b"sdc column number v1\n")
    h.update(le_bytes(v, "<f8"))
    return "sha256:" + h.hexdigest()


def series_fingerprint(series: Any) -> str:
    """Fingerprint of a pandas column: numbers as numbers, anything else by its text.

    Examples
    --------
    >>> import pandas as pd
    >>> series_fingerprint(pd.Series(["a", None])) == series_fingerprint(pd.Series(["a", None]))
    True
    """
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series.dtype) and not pd.api.types.is_bool_dtype(series.dtype):
        return number_fingerprint(series.to_numpy(dtype=np.float64, na_value=np.nan))
    codes, uniques = pd.factorize(series, use_na_sentinel=True)
    labels = [_plain(u) for u in uniques]
    codes = np.asarray(codes, dtype=np.int64)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(labels), codes)
        labels.append(MISSING_TEXT)
    return text_fingerprint(codes, labels)


def _plain(x: Any) -> Any:
    """A label as str, int, float or bool (anything else as its text)."""
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, str | bool | int | float):
        return x
    return x.isoformat() if hasattr(x, "isoformat") else str(x)


def dataset_fingerprint(columns: dict[str, str | None], rows: int) -> str | None:
    """One fingerprint of every column an output read (None if one is unknown)."""
    if any(fp is None for fp in columns.values()):
        return None
    text = json.dumps({"rows": rows, "columns": dict(sorted(columns.items()))}, sort_keys=True)
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def column_entry(column: str | None, fingerprint: str | None) -> dict[str, Any]:
    """A column read by an output: its name in the data (None if unnamed) and fingerprint."""
    return {"column": column, "fingerprint": fingerprint}


def table_definition(
    *,
    call: str,
    statistic: str,
    dims: list[dict[str, Any]],
    n_rows: int,
    rows: int,
    values: dict[str, Any] | None,
    contributor: dict[str, Any] | None,
    margins: bool,
    protection: dict[str, Any],
) -> dict[str, Any]:
    """The definition of a table (see the module docstring).

    ``dims``: per dimension ``name``, ``column`` (the source column, None when it has
    none), ``fingerprint``, ``levels`` (their text, in table order), ``bins`` (edges,
    for a histogram) or ``constant`` (the one label of a column that is the same for
    every record), and ``groups`` (hierarchy groups as ``[label, [leaves]]``).
    """
    read = {f"dim:{d['name']}": d["fingerprint"] for d in dims}
    for role, entry in (("values", values), ("contributor", contributor)):
        if entry is not None:
            read[role] = entry["fingerprint"]
    return {
        "version": DEFINITION_VERSION,
        "call": call,
        "statistic": statistic,
        "dims": dims,
        "n_rows": n_rows,
        "values": values,
        "contributor": contributor,
        "margins": margins,
        "protection": protection,
        "dataset": {"rows": rows, "fingerprint": dataset_fingerprint(read, rows)},
        "population": None,
    }


def dim_entry(
    name: str,
    column: str | None,
    fingerprint: str | None,
    levels: Sequence[Any],
    groups: Sequence[tuple[Any, Sequence[Any]]] = (),
    *,
    bins: Sequence[float] | None = None,
    constant: str | None = None,
) -> dict[str, Any]:
    """One dimension of a table definition."""
    return {
        "name": name,
        "column": column,
        "fingerprint": fingerprint,
        "levels": [label_text(x) for x in levels],
        "bins": None if bins is None else [float(b) for b in bins],
        "constant": constant,
        "groups": [[label_text(g), [label_text(x) for x in leaves]] for g, leaves in groups],
    }
