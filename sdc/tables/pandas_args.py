"""pandas' own arguments of ``crosstab`` and ``pivot_table``, read the way pandas reads them.

``aggfunc`` may be a name (``"mean"``), a function pandas knows by name (``np.mean``,
``np.sum``, ``len``, ``min``) or a list of them: a list gives one checked table per
statistic. A function of the researcher's own cannot be checked and is refused with
the names to use instead. ``normalize`` turns a two-way count table into shares
computed from the released counts and margins (the verdict stays the counts'; shares
of a suppressed cell stay hidden). ``margins_name`` other than ``"All"`` and
``dropna=True`` are refused with what to write instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sdc._validation import input_error
from sdc.exceptions import SdcInputError
from sdc.tables.model import TOTAL_LABEL

#: Functions pandas maps to a named statistic, by the name the engine checks.
_FUNCTIONS: dict[Any, str] = {
    len: "count", np.size: "count", sum: "sum", min: "min", max: "max",
    np.sum: "sum", np.nansum: "sum", np.mean: "mean", np.nanmean: "mean",
    np.median: "median", np.nanmedian: "median", np.std: "std", np.nanstd: "std",
    np.var: "var", np.nanvar: "var", np.min: "min", np.nanmin: "min", np.amin: "min",
    np.max: "max", np.nanmax: "max", np.amax: "max",
}  # fmt: skip


def aggfunc_names(aggfunc: Any, func: str) -> tuple[list[tuple[Any, Any]], bool]:
    """``[(label, name), ...]`` for an ``aggfunc``, and whether it was a list.

    The label is the one pandas gives the statistic's columns (a function's name); the
    name is the statistic's text (still to be checked against the known ones).

    Examples
    --------
    >>> aggfunc_names(["mean", np.sum, len], "Session.pivot_table")
    ([('mean', 'mean'), ('sum', 'sum'), ('len', 'count')], True)
    >>> aggfunc_names(np.median, "Session.pivot_table")
    ([('median', 'median')], False)
    """
    many = isinstance(aggfunc, (list, tuple))
    items = list(aggfunc) if many else [aggfunc]
    if many and (not items or len({id(a) if callable(a) else a for a in items}) < len(items)):
        raise input_error("aggfunc", func, "a non-empty list without repeats", aggfunc)
    out: list[tuple[Any, Any]] = []
    for a in items:
        if isinstance(a, str) or a is None:
            out.append((a, a))
        elif callable(a) and _known(a) is not None:
            out.append((getattr(a, "__name__", str(a)), _known(a)))
        else:
            raise input_error(
                "aggfunc", func, "a statistic the engine can check: a name such as 'mean', "
                "'median', 'p90', or np.mean, np.sum, np.median, len", a,
                "A function of your own cannot be checked: compute its inputs as one of "
                "these statistics.",
            )  # fmt: skip
    return out, many


def _known(f: Any) -> str | None:
    try:
        return _FUNCTIONS.get(f)
    except TypeError:  # an unhashable callable
        return None


def refuse_unsupported(margins_name: Any, dropna: Any, func: str) -> None:
    """Refuse ``margins_name`` other than "All" and ``dropna=True``, saying what to write."""
    if margins_name != TOTAL_LABEL:
        raise input_error(
            "margins_name", func, f"{TOTAL_LABEL!r} (the label the gate reads for totals)",
            margins_name, "Rename the totals in the released file after release if needed.",
        )  # fmt: skip
    if dropna is not False:
        raise input_error(
            "dropna", func, "False: missing keys are a level of their own, shown and checked",
            dropna, "To leave them out, filter the rows first: data.dropna(subset=[...]).",
        )  # fmt: skip


_NORMALIZE = {"all": "all", "index": "index", 0: "index", "columns": "columns", 1: "columns"}


def normalize_kind(normalize: Any, func: str, dims: tuple[int, int], statistic: str) -> str | None:
    """``"all"``, ``"index"``, ``"columns"`` or None (no shares), as pandas reads ``normalize``."""
    if normalize is False:
        return None
    if normalize is True:
        kind: str | None = "all"
    else:
        kind = _NORMALIZE.get(normalize) if isinstance(normalize, (str, int)) else None
    if kind is None:
        raise input_error("normalize", func, "False, True, 'all', 'index' or 'columns'",
                          normalize)  # fmt: skip
    if dims != (1, 1) or statistic != "count":
        raise SdcInputError(
            f"`normalize` of `{func}` works on a two-way count table (one Series as "
            f"`index`, one as `columns`, no `values`); got {dims[0]} row and {dims[1]} "
            f"column dimension(s) of {statistic!r}. Compute shares from `.table` instead."
        )
    return kind


def shares(released: pd.DataFrame, kind: str, margins: bool) -> pd.DataFrame:
    """Shares of the released two-way counts, as ``pd.crosstab(normalize=kind)`` gives them.

    Denominators are the published margins (``margins=True``) or the sums of the
    published cells; a suppressed cell, or a sum over one, gives a hidden (NaN) share.

    Examples
    --------
    >>> t = pd.DataFrame({"x": [1.0, 3.0], "y": [1.0, np.nan]}, index=["a", "b"])
    >>> shares(t, "index", False)
         x    y
    a  0.5  0.5
    b  NaN  NaN
    """
    if margins:
        inner = released.drop(index=TOTAL_LABEL, columns=TOTAL_LABEL)
        rows, cols = released[TOTAL_LABEL].drop(TOTAL_LABEL), released.loc[TOTAL_LABEL]
        grand = float(released.loc[TOTAL_LABEL, TOTAL_LABEL])  # type: ignore[arg-type]
        cols = cols.drop(TOTAL_LABEL)
    else:
        inner = released
        rows, cols = inner.sum(axis=1, skipna=False), inner.sum(axis=0, skipna=False)
        grand = float(rows.sum(skipna=False))
    if kind == "index":
        out = inner.div(rows, axis=0)
        if margins:
            out.loc[TOTAL_LABEL] = cols / grand
    elif kind == "columns":
        out = inner.div(cols, axis=1)
        if margins:
            out[TOTAL_LABEL] = rows / grand
    else:
        out = inner / grand
        if margins:
            out[TOTAL_LABEL] = rows / grand
            out.loc[TOTAL_LABEL] = [*(cols / grand), 1.0 if grand > 0 else np.nan]
    return out.astype(np.float64)
