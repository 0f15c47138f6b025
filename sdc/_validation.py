"""Validation at the edge: every user input is checked here once.

Messages follow one form: "`<arg>` of `<function>` must be <constraint>; got
<value>. <fix>". Rules and kernels trust what comes out of these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sdc.exceptions import SdcInputError


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def input_error(arg: str, func: str, constraint: str, got: Any, fix: str = "") -> SdcInputError:
    """Build the one standard input error message."""
    msg = f"`{arg}` of `{func}` must be {constraint}; got {_short(got)}."
    if fix:
        msg += f" {fix}"
    return SdcInputError(msg)


def int_like(value: Any, name: str, func: str, *, minimum: int | None = None) -> int:
    """Coerce to int, refusing bools, floats with a fraction and values below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            value = int(value)
        else:
            raise input_error(name, func, "an integer", value)
    value = int(value)
    if minimum is not None and value < minimum:
        raise input_error(name, func, f"an integer >= {minimum}", value)
    return value


def float_like(
    value: Any,
    name: str,
    func: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
) -> float:
    """Coerce to a finite float within [low, high] (or (low, high] when ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise input_error(name, func, "a number", value)
    x = float(value)
    if not np.isfinite(x):
        raise input_error(name, func, "a finite number", value)
    lo_bad = low is not None and (x <= low if low_open else x < low)
    hi_bad = high is not None and x > high
    if lo_bad or hi_bad:
        lo = "(" if low_open else "["
        raise input_error(name, func, f"in {lo}{low}, {high}]", value)
    return x


def column_list(value: Any, name: str, func: str) -> list[str]:
    """Normalise a column name or list of column names."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise input_error(name, func, "a column name or a list of column names", value)


def require_columns(df: pd.DataFrame, columns: Sequence[str], name: str, func: str) -> None:
    """Every named column must exist in ``df``."""
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise input_error(
            name,
            func,
            "columns of the data",
            missing[0] if len(missing) == 1 else missing,
            f"Available columns: {', '.join(map(str, df.columns[:20]))}.",
        )


def numeric_values(series: pd.Series, name: str, func: str) -> np.ndarray:
    """The value column as float64, NaN for missing; refuses text, booleans and infinities."""
    if pd.api.types.is_bool_dtype(series.dtype) or not pd.api.types.is_numeric_dtype(series.dtype):
        raise input_error(
            name,
            func,
            "a numeric column",
            f"column {series.name!r} of dtype {series.dtype}",
            "Convert it with pandas.to_numeric first.",
        )
    values = series.to_numpy(dtype=np.float64, na_value=np.nan)
    if np.isinf(values).any():
        raise input_error(
            name, func, "finite or missing", f"infinite values in column {series.name!r}"
        )
    return np.ascontiguousarray(values)
