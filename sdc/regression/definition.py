"""Definitions (:mod:`sdc.definition`) of regressions and survival tables: what made them."""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from sdc.canonical import label_text
from sdc.definition import (
    DEFINITION_VERSION,
    column_entry,
    dataset_fingerprint,
    number_fingerprint,
    series_fingerprint,
    text_fingerprint,
)
from sdc.regression.survival import _durations, _events

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_QUOTED = re.compile(r"""Q\(\s*(['"])(.+?)\1\s*\)""")


def formula_columns(formula: str, columns: Any) -> list[str]:
    """The columns of the data a formula names, in the order of the data.

    Examples
    --------
    >>> formula_columns("cost ~ age + C(region) + Q('blood pressure')",
    ...                 ["region", "age", "cost", "blood pressure", "other"])
    ['region', 'age', 'cost', 'blood pressure']
    """
    named = set(_NAME.findall(formula)) | {m.group(2) for m in _QUOTED.finditer(formula)}
    return [c for c in columns if isinstance(c, str) and c in named]


def _option(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return f"<{type(value).__name__}>"


def regression_definition(
    call: str, formula: str | None, data: pd.DataFrame | None, options: dict[str, Any]
) -> dict[str, Any]:
    """The definition of a fitted model: the call, its formula, the columns it read.

    A result fitted by the researcher (``check_model_result``) has no formula or columns.
    """
    columns: dict[str, str | None] = {}
    rows = None
    if formula is not None and data is not None:
        rows = len(data)
        for c in formula_columns(formula, data.columns):
            columns[c] = series_fingerprint(data[c])
    return {
        "version": DEFINITION_VERSION,
        "call": call,
        "formula": formula,
        "columns": [column_entry(c, fp) for c, fp in columns.items()],
        "options": {k: _option(v) for k, v in options.items()},
        "dataset": {
            "rows": rows,
            "fingerprint": None if rows is None else dataset_fingerprint(columns, rows),
        },
        "population": None,
    }


def survival_definition(
    data: pd.DataFrame,
    duration: str,
    event: str,
    by: str | None,
    time_unit: float | None,
    contributor: str | None = None,
) -> dict[str, Any]:
    """The definition of a survival table (valid inputs, as ``survival_table`` checked them);
    ``contributor``: the column whose rows counted once each (None: rows are people)."""
    read = {
        "duration": column_entry(duration, number_fingerprint(_durations(data[duration]))),
        "event": column_entry(event, number_fingerprint(_events(data[event]).astype(float))),
    }
    by_entry: dict[str, Any] | None = None
    if by is not None:
        try:
            codes, values = pd.factorize(data[by], sort=True)
        except TypeError:
            codes, values = pd.factorize(data[by], sort=False)
        labels = values.tolist()
        by_entry = {
            "column": by,
            "fingerprint": text_fingerprint(np.asarray(codes), labels),
            "levels": [label_text(v) for v in labels],
        }
    fps: dict[str, str | None] = {role: e["fingerprint"] for role, e in read.items()}
    if by_entry is not None:
        fps["by"] = by_entry["fingerprint"]
    rows = len(data)
    return {
        "version": DEFINITION_VERSION,
        "call": "survival_table",
        "duration": read["duration"],
        "event": read["event"],
        "by": by_entry,
        "time_unit": None if time_unit is None else float(time_unit),
        "contributor": None
        if contributor is None
        else column_entry(
            contributor,
            series_fingerprint(data[contributor].astype(str)),  # ids as text
        ),  # fmt: skip
        "dataset": {"rows": rows, "fingerprint": dataset_fingerprint(fps, rows)},
        "population": None,
    }
