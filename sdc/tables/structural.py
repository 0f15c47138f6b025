"""Structural zeros: combinations the researcher declares impossible (``structural_zeros=``).

A declaration is a list of ``{dimension: label}`` mappings, e.g.
``[{"sex": "M", "diagnosis": "pregnancy"}]``; it covers every published cell whose
labels on the named dimensions are those (any label, totals included, on the others).
The ``zeros`` rule does not flag an empty cell it covers, a covered cell that is *not*
empty fails the table (the declaration is wrong), and the declaration is recorded in
the table's definition and shown in the report, so the checker sees what was declared
and the gate applies the same declaration to the evidence it re-checks.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from sdc.exceptions import SdcInputError
from sdc.rules import RuleResult
from sdc.tables.model import TableModel

Declaration = tuple[dict[str, str], ...]


def declaration(declared: Any, dims: Sequence[str], func: str) -> Declaration:
    """The declaration as ``({dim: label text}, ...)``, every dimension one of ``dims``.

    >>> declaration([{"sex": "M", "diag": "pregnancy"}], ["sex", "diag"], "f")
    ({'sex': 'M', 'diag': 'pregnancy'},)
    """
    if declared is None:
        return ()
    items = [declared] if isinstance(declared, dict) else declared
    if not isinstance(items, (list, tuple)) or not all(isinstance(d, dict) and d for d in items):
        raise SdcInputError(
            f"`structural_zeros` of `{func}` must be a list of {{dimension: label}} dicts; "
            f"got {declared!r}. Example: structural_zeros=[{{'sex': 'M', 'diag': 'pregnancy'}}]"
        )
    out = []
    for d in items:
        unknown = [k for k in d if k not in dims]
        if unknown:
            raise SdcInputError(
                f"`structural_zeros` of `{func}` must name dimensions of the table "
                f"({', '.join(map(str, dims))}); got {unknown[0]!r}."
            )
        out.append({str(k): str(v) for k, v in d.items()})
    return tuple(out)


def structural_mask(model: TableModel, declared: Declaration) -> np.ndarray:
    """Cells a declaration covers; a label the table does not have is an error.

    >>> tm = TableModel(("sex", "diag"), (("F", "M"), ("flu", "pregnancy")), n_rows=1)
    >>> mask = structural_mask(tm, ({"sex": "M", "diag": "pregnancy"},))
    >>> [tm.labels(int(c)) for c in np.flatnonzero(mask)]
    [{'sex': 'M', 'diag': 'pregnancy'}]
    """
    mask = np.zeros(model.n_cells, dtype=bool)
    for d in declared:
        cover = np.ones(model.n_cells, dtype=bool)
        for dim, label in d.items():
            j = model.dims.index(dim)
            texts = [str(x) for x in model.levels[j]]
            if label not in texts:
                raise SdcInputError(
                    f"structural zero {d} names {label!r}, which is not a level of {dim!r}."
                )
            cover &= model.coords[:, j] == texts.index(label)
        mask |= cover
    return mask & model.published_mask


def apply(results: Sequence[RuleResult], mask: np.ndarray, records: np.ndarray) -> tuple[
    tuple[RuleResult, ...], tuple[str, ...]
]:  # fmt: skip
    """The ``zeros`` results without the declared cells, and an error for each declared
    cell that is not empty."""
    keep = ~mask
    out = tuple(
        dataclasses.replace(r, fail=r.fail & keep, review=r.review & keep)
        if r.rule == "zeros" else r
        for r in results
    )  # fmt: skip
    wrong = int((mask & (records > 0)).sum())
    errors = (
        (f"{wrong} cell(s) declared structurally impossible (structural_zeros) hold records: "
         "the declaration is wrong",)
        if wrong else ()
    )  # fmt: skip
    return out, errors


def shown(declared: Declaration) -> str:
    """The declaration as a line of the report.

    >>> shown(({"sex": "M", "diag": "pregnancy"},))
    'structural zeros declared (not flagged as zeros): (sex=M, diag=pregnancy)'
    """
    cells = "; ".join("(" + ", ".join(f"{k}={v}" for k, v in d.items()) + ")" for d in declared)
    return f"structural zeros declared (not flagged as zeros): {cells}"
