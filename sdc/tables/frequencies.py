"""Aggregated frequency tables as input: one row per cell and its count, checked at the edge.

Protection tools such as GaussSuppression and tau-Argus are often given a table
rather than microdata: a row per inner cell, its codes in the grouping columns
and its count in a frequency column. :func:`records_from_frequencies` checks such
a table (counts are finite, whole and not negative; no cell is listed twice;
margin rows the user included add up) and turns it into one record per counted
unit, so the microdata path computes the evidence exactly as it would from the
records themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sdc.exceptions import SdcInputError
from sdc.tables.factorize import sort_levels


def _cell(frame: pd.DataFrame, dims: Sequence[str], row: int) -> str:
    return ", ".join(f"{d}={frame[d].iloc[row]}" for d in dims)


def _counts(frame: pd.DataFrame, dims: Sequence[str], freq: str, where: str) -> np.ndarray:
    col = frame[freq]
    if pd.api.types.is_bool_dtype(col.dtype) or not pd.api.types.is_numeric_dtype(col.dtype):
        raise SdcInputError(
            f"{where}: the count column {freq!r} must hold numbers; it has dtype {col.dtype}."
        )
    x = col.to_numpy(dtype=np.float64, na_value=np.nan)
    checks = (
        (np.isnan(x), "must hold a count in every row", "is empty",
         "Give 0 for an empty cell."),
        (np.isinf(x), "must hold finite counts", "holds {v}", ""),
        (x < 0, "must not hold negative counts", "holds {v}", ""),
        (np.isfinite(x) & (x != np.round(x)), "must hold whole numbers", "holds {v}",
         "A frequency table counts units."),
    )  # fmt: skip
    for bad, constraint, got, fix in checks:
        if bad.any():
            i = int(np.argmax(bad))
            n = int(bad.sum())
            more = f" ({n - 1} more row(s) like it)" if n > 1 else ""
            raise SdcInputError(
                f"{where}: the count column {freq!r} {constraint}; row {i + 1} "
                f"({_cell(frame, dims, i)}) {got.format(v=f'{x[i]:g}')}{more}. {fix}".rstrip()
            )
    return x.astype(np.int64)


def _check_margins(
    frame: pd.DataFrame, dims: list[str], counts: np.ndarray, is_margin: np.ndarray,
    label: str, where: str,
) -> None:  # fmt: skip
    """Every margin row equals the sum of the inner rows it covers (plain margins)."""
    at_total = np.column_stack([_is_label(frame[d], label) for d in dims])
    inner = frame.loc[~is_margin, dims].assign(__count=counts[~is_margin])
    for pattern in np.unique(at_total[is_margin], axis=0):
        rows = np.flatnonzero(is_margin & (at_total == pattern).all(axis=1))
        keys = [d for d, t in zip(dims, pattern, strict=True) if not t]
        if keys:
            sums = inner.groupby(keys, dropna=False, sort=False)["__count"].sum()
            stated = frame.iloc[rows][keys].assign(__row=rows)
            merged = stated.merge(sums.rename("__sum").reset_index(), on=keys, how="left")
            merged = merged.sort_values("__row")
            expected = merged["__sum"].fillna(0).to_numpy(dtype=np.int64)
        else:
            expected = np.full(rows.size, int(inner["__count"].sum()), dtype=np.int64)
        wrong = np.flatnonzero(counts[rows] != expected)
        if wrong.size:
            k = int(wrong[0])
            r = int(rows[k])
            more = f" ({wrong.size - 1} more margin row(s) like it)" if wrong.size > 1 else ""
            raise SdcInputError(
                f"{where}: margins do not add up: the margin cell ({_cell(frame, dims, r)}) "
                f"at row {r + 1} states {int(counts[r])}, but the inner cells it covers sum "
                f"to {int(expected[k])}{more}. Correct the file, or drop its margin rows "
                "(the margins are computed from the inner cells)."
            )


def _is_label(col: pd.Series, label: str) -> np.ndarray:
    return np.array([not pd.isna(v) and str(v) == label for v in col], dtype=bool)


def records_from_frequencies(
    frame: pd.DataFrame,
    dims: Sequence[str],
    freq: str,
    *,
    total_label: str | None = None,
    where: str = "frequency table",
) -> pd.DataFrame:
    """One record per counted unit of a frequency table (``dims`` plus a count column ``freq``).

    ``total_label``: rows holding it in some dimension are margins included in the
    table; each must equal the sum of the inner rows it covers, and is then dropped
    (the engine computes the margins itself). Levels are kept even where every count
    is 0, so empty cells stay in the table. ``where`` names the input in messages.

    Raises :class:`SdcInputError` for a missing, infinite, negative or fractional
    count, a cell listed twice, and margins that do not add up.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"region": ["N", "N", "S", "S"], "sex": ["F", "M", "F", "M"],
    ...                   "n": [2, 1, 0, 1]})
    >>> r = records_from_frequencies(t, ["region", "sex"], "n")
    >>> r.groupby(["region", "sex"], observed=False).size().tolist()
    [2, 1, 0, 1]
    >>> t.loc[4] = ["All", "F", 2]
    >>> len(records_from_frequencies(t, ["region", "sex"], "n", total_label="All"))
    4
    >>> t.loc[4, "n"] = 5
    >>> records_from_frequencies(t, ["region", "sex"], "n", total_label="All")
    Traceback (most recent call last):
    ...
    sdc.exceptions.SdcInputError: frequency table: margins do not add up: the margin cell
    (region=All, sex=F) at row 5 states 5, but the inner cells it covers sum to 2. ...
    """
    dims = list(dims)
    frame = frame.reset_index(drop=True)
    counts = _counts(frame, dims, freq, where)
    dup = frame.duplicated(subset=dims, keep=False).to_numpy()
    if dup.any():
        first = int(np.argmax(dup))
        same = frame[dims].iloc[first]
        rows = [
            i + 1
            for i in np.flatnonzero(dup)
            if all(_same(frame[d].iloc[i], same[d]) for d in dims)
        ]
        raise SdcInputError(
            f"{where}: the cell ({_cell(frame, dims, first)}) is listed more than once "
            f"(rows {', '.join(map(str, rows[:5]))}); a frequency table has one row per cell."
        )
    is_margin = np.zeros(len(frame), dtype=bool)
    if total_label is not None:
        for d in dims:
            is_margin |= _is_label(frame[d], total_label)
        if is_margin.any():
            _check_margins(frame, dims, counts, is_margin, total_label, where)
    inner = frame.loc[~is_margin, dims].reset_index(drop=True)
    inner_counts = counts[~is_margin]
    if not inner_counts.sum():
        raise SdcInputError(f"{where}: every count is 0; there is nothing to tabulate.")
    records = inner.iloc[np.repeat(np.arange(len(inner)), inner_counts)].reset_index(drop=True)
    for d in dims:
        # Declared levels keep codes whose every cell is empty (count 0).
        levels = sort_levels([v for v in inner[d].unique() if not pd.isna(v)])
        records[d] = pd.Categorical(records[d], categories=levels)
    return records


def _same(a: Any, b: Any) -> bool:
    return (pd.isna(a) and pd.isna(b)) or (not pd.isna(a) and not pd.isna(b) and a == b)
