"""Key variables to integer codes, checked once at the edge.

A microdata assessment reads quasi-identifiers ("key variables": age band, sex,
region, ...), optional sensitive variables, sampling weights and a household or
contributor id. :func:`encode` validates them and turns each key into ``int64``
codes with ``-1`` for a missing value (missing key values are wildcards in the
frequency counts, see :mod:`sdc.microdata.risk`). Levels are sorted, so codes do
not depend on the order of the records.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sdc._validation import _short, input_error, require_columns

#: More keys than this cannot be held in the kernels' bit masks.
MAX_KEYS = 60


@dataclass(frozen=True)
class KeyCodes:
    """Codes of the key variables: ``codes[i, j]`` is record i's level of key j, ``-1`` missing."""

    keys: tuple[str, ...]
    codes: np.ndarray  # int64 (records, keys), C order
    levels: tuple[tuple[Any, ...], ...]  # levels of each key, in code order

    @property
    def n(self) -> int:
        return int(self.codes.shape[0])

    @property
    def cards(self) -> np.ndarray:
        return np.array([max(1, len(lv)) for lv in self.levels], dtype=np.int64)

    def label(self, row: np.ndarray) -> str:
        """A key combination as a person reads it: ``ageband=90+, sex=F`` (missing: ``NA``)."""
        parts = []
        for j, key in enumerate(self.keys):
            c = int(row[j])
            parts.append(f"{key}={'NA' if c < 0 else self.levels[j][c]}")
        return ", ".join(parts)


def _integer_levels(values: pd.Series) -> tuple[np.ndarray, tuple[Any, ...]] | None:
    """Integer columns of a modest range: codes by counting, without hashing (or None)."""
    if not pd.api.types.is_integer_dtype(values.dtype) or values.size == 0:
        return None
    if isinstance(values.dtype, pd.CategoricalDtype):
        return None
    na = values.isna().to_numpy()
    if na.all():
        return None
    raw = values.to_numpy(dtype=np.int64, na_value=0)
    lo, hi = int(raw[~na].min()), int(raw[~na].max())
    if hi - lo > 4 * values.size + 1024:
        return None
    shifted = raw - lo
    present = np.bincount(shifted[~na], minlength=hi - lo + 1) > 0
    rank = np.cumsum(present) - 1
    codes = np.where(na, -1, rank[np.where(na, 0, shifted)])
    levels = tuple(int(v) for v in np.flatnonzero(present) + lo)
    return np.ascontiguousarray(codes, dtype=np.int64), levels


def _sorted_levels(values: pd.Series) -> tuple[np.ndarray, tuple[Any, ...]]:
    fast = _integer_levels(values)
    if fast is not None:
        return fast
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy(dtype=np.int64)
        return np.ascontiguousarray(codes), tuple(values.cat.categories)
    codes, uniques = pd.factorize(values, sort=False, use_na_sentinel=True)
    uniq = list(uniques)
    try:
        order = sorted(range(len(uniq)), key=lambda i: uniq[i])
    except TypeError:
        order = sorted(range(len(uniq)), key=lambda i: (type(uniq[i]).__name__, str(uniq[i])))
    rank = np.empty(len(uniq), dtype=np.int64)
    rank[order] = np.arange(len(uniq))
    codes = np.asarray(codes, dtype=np.int64)
    out = np.where(codes >= 0, rank[np.maximum(codes, 0)] if len(uniq) else 0, -1)
    return np.ascontiguousarray(out, dtype=np.int64), tuple(uniq[i] for i in order)


def key_list(value: Any, name: str, func: str, *, allow_empty: bool = False) -> list[str]:
    """A column name or a list of distinct column names."""
    if value is None:
        items: list[Any] = []
    elif isinstance(value, str):
        items = [value]
    elif isinstance(value, Sequence):
        items = list(value)
    else:
        raise input_error(name, func, "a column name or a list of column names", value)
    if not all(isinstance(v, str) and v for v in items):
        raise input_error(name, func, "a list of column names (strings)", value)
    if not items and not allow_empty:
        raise input_error(name, func, "at least one column name", value)
    if len(set(items)) != len(items):
        raise input_error(name, func, "a list without repeats", value)
    return items


def encode(data: Any, keys: Any, func: str, *, require_values: bool = True) -> KeyCodes:
    """Validate ``keys`` of ``data`` and code them.

    A key whose every value is missing is refused (it says nothing, and would make
    every record match every other), unless ``require_values`` is False.

    Examples
    --------
    >>> import pandas as pd
    >>> kc = encode(pd.DataFrame({"sex": ["F", "M", None], "age": [3, 1, 3]}), ["sex", "age"], "f")
    >>> kc.codes.tolist(), kc.levels
    ([[0, 1], [1, 0], [-1, 1]], (('F', 'M'), (1, 3)))
    >>> encode(pd.DataFrame({"sex": [None, None]}), ["sex"], "f")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    sdc.exceptions.SdcInputError: `keys` of `f` must be key variables with at least one value; ...
    """
    if not isinstance(data, pd.DataFrame):
        raise input_error("data", func, "a pandas DataFrame", type(data).__name__)
    names = key_list(keys, "keys", func)
    if len(names) > MAX_KEYS:
        raise input_error("keys", func, f"at most {MAX_KEYS} columns", len(names))
    require_columns(data, names, "keys", func)
    if data.shape[0] == 0:
        raise input_error("data", func, "a DataFrame with at least one record", "0 records")
    codes = np.empty((data.shape[0], len(names)), dtype=np.int64)
    levels = []
    for j, key in enumerate(names):
        column = data[key]
        if isinstance(column, pd.DataFrame):
            raise input_error("keys", func, "names of distinct columns", key,
                              "The data has several columns of that name.")  # fmt: skip
        if require_values and column.isna().all():
            raise input_error(
                "keys", func, "key variables with at least one value",
                f"{_short(key)} (every value is missing)", "Drop it from the keys.",
            )  # fmt: skip
        codes[:, j], lv = _sorted_levels(column)
        levels.append(lv)
    return KeyCodes(tuple(names), np.ascontiguousarray(codes), tuple(levels))


def weights_of(data: pd.DataFrame, weight: Any, func: str) -> np.ndarray | None:
    """Sampling weights as float64: present, finite and positive, or ``None`` when not given."""
    if weight is None:
        return None
    if not isinstance(weight, str):
        raise input_error("weight", func, "one column name", weight)
    require_columns(data, [weight], "weight", func)
    col = data[weight]
    if pd.api.types.is_bool_dtype(col.dtype) or not pd.api.types.is_numeric_dtype(col.dtype):
        raise input_error("weight", func, "a numeric column", f"{weight!r} of dtype {col.dtype}",
                          "Convert it with pandas.to_numeric first.")  # fmt: skip
    w = col.to_numpy(dtype=np.float64, na_value=np.nan)
    bad = ~np.isfinite(w) | (w <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        what = "missing" if np.isnan(w[i]) else f"{w[i]!r}"
        raise input_error(
            "weight", func, "a column of finite, positive sampling weights",
            f"{int(bad.sum())} bad value(s) in {weight!r}, the first {what} at row {i}",
            "Sampling weights are inverse inclusion probabilities (>= 1 in a sample).",
        )  # fmt: skip
    return np.ascontiguousarray(w)


def other_columns(data: pd.DataFrame, value: Any, keys: Sequence[str], name: str,
                  func: str) -> list[str]:  # fmt: skip
    """Sensitive (or other) column names: existing, not keys."""
    cols = key_list(value, name, func, allow_empty=True)
    require_columns(data, cols, name, func)
    clash = [c for c in cols if c in keys]
    if clash:
        raise input_error(name, func, "columns other than the keys", clash[0],
                          "A variable is either a key or sensitive.")  # fmt: skip
    return cols
