"""Grouping columns to integer codes, at the edge.

Levels are sorted (numbers numerically, text alphabetically); a missing value in a
grouping column becomes its own level, ``MISSING_LABEL``, placed last, so that no
record is silently dropped (``pandas.crosstab`` drops such rows). Categorical
columns keep every declared category, used or not, in their declared order.
Arrow-backed string columns (pandas' default ``str`` dtype with pyarrow) are
coded from their buffers (:mod:`sdc.tables.arrow_codes`), without a Python
string per row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sdc.tables.arrow_codes import arrow_codes

MISSING_LABEL = "<missing>"


def sort_levels(labels: Sequence[Any]) -> list[Any]:
    """Sorted levels, the missing label last; mixed types sort by their text."""
    present = [x for x in labels if not _is_missing_label(x)]
    try:
        ordered = sorted(set(present))
    except TypeError:
        ordered = sorted(set(present), key=lambda x: (type(x).__name__, str(x)))
    if len(present) != len(labels):
        ordered.append(MISSING_LABEL)
    return ordered


def _is_missing_label(x: Any) -> bool:
    return isinstance(x, str) and x == MISSING_LABEL


def factorize(series: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes (int64, 0..L-1) and level labels of one grouping column.

    Examples
    --------
    >>> import pandas as pd
    >>> codes, labels = factorize(pd.Series(["b", "a", None, "b"]))
    >>> codes.tolist(), labels
    ([1, 0, 2, 1], ['a', 'b', '<missing>'])
    """
    if isinstance(series.dtype, pd.CategoricalDtype):
        cats = list(series.cat.categories)
        codes = series.cat.codes.to_numpy(dtype=np.int64).copy()
        if (codes < 0).any():
            codes[codes < 0] = len(cats)
            cats.append(MISSING_LABEL)
        return np.ascontiguousarray(codes), [_python(c) for c in cats]
    arrow = _arrow_strings(series)
    if arrow is not None:
        return sorted_codes(*arrow_codes(arrow))
    codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    codes = np.asarray(codes, dtype=np.int64)
    labels = [_python(u) for u in uniques]
    if (codes < 0).any():
        codes = codes.copy()
        codes[codes < 0] = len(labels)
        labels.append(MISSING_LABEL)
    return np.ascontiguousarray(codes), labels


def _arrow_strings(series: pd.Series) -> Any:
    """The column's Arrow data (zero copy) when it is an Arrow-backed string column (None
    for strings held by Python objects: their ``__arrow_array__`` would convert them, and
    needs pyarrow, which a plain install does not have)."""
    dtype = series.dtype
    arrow_backed = getattr(dtype, "storage", None) == "pyarrow" or isinstance(dtype, pd.ArrowDtype)
    if not arrow_backed or not pd.api.types.is_string_dtype(dtype):
        return None
    data = series.array.__arrow_array__()
    import pyarrow as pa

    if pa.types.is_string(data.type) or pa.types.is_large_string(data.type):
        return data
    return None


def sorted_codes(codes: np.ndarray, labels: list[Any]) -> tuple[np.ndarray, list[Any]]:
    """First-seen codes (-1 missing) and their labels, re-coded in sorted level order.

    Examples
    --------
    >>> import numpy as np
    >>> codes, labels = sorted_codes(np.array([0, 1, -1, 0]), ["b", "a"])
    >>> codes.tolist(), labels
    ([1, 0, 2, 1], ['a', 'b', '<missing>'])
    """
    labels = [_python(x) for x in labels]
    try:
        order = sorted(range(len(labels)), key=labels.__getitem__)
    except TypeError:
        order = sorted(range(len(labels)), key=lambda i: (type(labels[i]).__name__, str(labels[i])))
    rank = np.empty(len(labels) + 1, dtype=np.int64)
    rank[np.asarray(order, dtype=np.int64)] = np.arange(len(labels), dtype=np.int64)
    ordered = [labels[i] for i in order]
    missing = bool((codes < 0).any())
    rank[-1] = len(labels)  # code -1 (missing) picks the last entry
    if missing:
        ordered.append(MISSING_LABEL)
    return np.ascontiguousarray(rank[codes]), ordered


def _python(x: Any) -> Any:
    """Labels as plain str/int/float/bool, so they serialise and compare plainly.

    Anything else (timestamps, decimals, ...) becomes its text.
    """
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, (str, bool, int, float)):
        return x
    return x.isoformat() if hasattr(x, "isoformat") else str(x)
