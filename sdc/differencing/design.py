"""A regression's per-level counts as differencing sees them.

A coefficient estimated from the records at one level of a factor is about those
records, and the threshold rule counts them (:mod:`sdc.regression.output`): the
records behind every 0/1 design column (a dummy level, an interaction cell), the
records outside it, each outcome category of a categorical outcome and each
(column, category) pair. Differencing treats these counts as released: a table of
the same factor over a slightly larger population gives the difference away.

The leaves are the records' patterns over the 0/1 columns (and the outcome),
numbered by the combined-codes kernel; the records are the rows the fit used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sdc.differencing.cells import RECORDS, OutputCells, _member, population_of
from sdc.differencing.records import Rows


def _patterns(columns: np.ndarray, outcome: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """Each record's leaf (its pattern) and, per leaf, the first record that has it."""
    from sdc.kernels.record_atoms import combine_codes

    leaf = np.zeros(columns.shape[0], dtype=np.int64)
    first = np.zeros(min(1, columns.shape[0]), dtype=np.int64)
    for j in range(columns.shape[1]):
        leaf, first = combine_codes(leaf, columns[:, j].astype(np.int64))
    if outcome is not None:
        leaf, first = combine_codes(leaf, outcome.astype(np.int64))
    return leaf, first


def regression_rows(out: Any) -> Rows | None:
    """The records a fitted model used, each one's leaf, and its counted groups as cells."""
    from sdc.regression.fit import categorical_outcome as _outcome_codes

    result = getattr(out, "result", None)
    model = getattr(result, "model", None)
    if model is None or out.evidence is None:
        return None
    name = out.evidence.model
    exog = np.asarray(model.exog, dtype=np.float64)
    n = exog.shape[0]
    names = [str(x) for x in getattr(model, "exog_names", None) or range(exog.shape[1])]
    is01 = np.all((exog == 0) | (exog == 1), axis=0)
    ones = exog.sum(axis=0)
    cols = np.flatnonzero(is01 & (ones > 0) & (ones < n))
    outcome = None
    labels: list[str] = []
    if name == "PHReg":
        outcome, labels = np.asarray(model.status).astype(bool).astype(np.int64), ["no", "yes"]
    else:
        coded = _outcome_codes(model, name)
        if coded is not None:
            outcome, labels = coded
    index = getattr(getattr(model, "data", None), "row_labels", None)
    index = index if isinstance(index, pd.Index) and len(index) == n else None
    memo: dict[str, Any] = {}

    def leaves() -> np.ndarray:
        if "leaf" not in memo:
            memo["leaf"], memo["first"] = _patterns(exog[:, cols], outcome)
        return memo["leaf"]

    def cells(_: Any = None) -> OutputCells:
        leaf = leaves()
        first = memo["first"]
        patterns = exog[first][:, cols].astype(np.int64)
        out_of = None if outcome is None else outcome[first]
        sizes = np.bincount(leaf, minlength=first.size)
        groups: list[tuple[str, np.ndarray]] = []
        for j, c in enumerate(cols):
            groups += [(names[c], patterns[:, j] == 1), (f"{names[c]} = 0", patterns[:, j] == 0)]
        if out_of is not None:
            events_only = name == "PHReg"
            for k, lab in enumerate(labels):
                if events_only and k == 0:
                    continue
                what = "events" if events_only else f"outcome = {lab}"
                if not events_only:
                    groups.append((what, out_of == k))
                for j, c in enumerate(cols):
                    groups.append((f"{names[c]}, {what}", (patterns[:, j] == 1) & (out_of == k)))
                    if events_only:
                        groups.append((f"{names[c]} = 0, {what}",
                                       (patterns[:, j] == 0) & (out_of == k)))  # fmt: skip
        rows = [np.flatnonzero(mask).tolist() for _, mask in groups]
        counts = np.array([int(sizes[r].sum()) for r in rows], dtype=np.int64)
        leaf_labels: list[dict[str, str]] = []
        for p, leaf_pattern in enumerate(patterns):
            named = {names[c]: "1" for j, c in enumerate(cols) if leaf_pattern[j]}
            if out_of is not None:
                named["outcome"] = str(labels[int(out_of[p])])
            leaf_labels.append(named or {"every 0/1 column": "0"})
        return OutputCells(
            name=out.name, measure=RECORDS, member=_member(rows, first.size),
            published=np.ones(len(rows), dtype=bool), counts=counts,
            values=counts.astype(np.float64), cell_labels=[{"term": g} for g, _ in groups],
            leaf_labels=leaf_labels, what=f"regression ({name})", population=population_of(out),
            kind="regression",
        )  # fmt: skip

    return Rows(index, leaves, cells)
