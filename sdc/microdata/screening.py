"""Does a released file look record-level (one row per person)? Signs and their findings.

:func:`screen_file` reads a loaded file (a DataFrame, e.g. a CSV read as text)
and measures the signs of row-level data the ``row-level`` rule judges
(:class:`sdc.rules.microdata.RowLevelParams`):

* more rows than ``max_rows`` (strong);
* a column named like a person identifier (strong);
* a column named like a date of birth or a postcode;
* an identifier-like column: text or integer values distinct in at least
  ``id_share`` of at least ``min_rows`` rows;
* label combinations repeated: more rows than distinct combinations of the text
  columns (an aggregate table has one row per cell).

Strong signs get the rule's ``outcome`` (fail by default), the others its
``weak_outcome`` (review): never a pass. Findings name columns and counts, never
values.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np
import pandas as pd

from sdc._validation import input_error
from sdc.outputs import FINDING_COLUMNS, finding_rows
from sdc.rules import RULES
from sdc.rules.microdata import RowLevelParams
from sdc.verdict import Status


@dataclass(frozen=True)
class Screening:
    """The signs measured on one file, the findings and the verdict they give."""

    name: str
    findings: pd.DataFrame

    @property
    def status(self) -> Status:
        return Status.worst(Status(o) for o in self.findings["outcome"])


def _norm(name: object) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower()).strip("_")


def _is_text(col: pd.Series) -> bool:
    return not pd.api.types.is_numeric_dtype(col.dtype) or pd.api.types.is_bool_dtype(col.dtype)


def _numeric_text(col: pd.Series) -> bool:
    """A text column whose every value reads as a number (a CSV read as text)."""
    parsed = pd.to_numeric(col.dropna(), errors="coerce")
    return bool(parsed.notna().all())


def screen_file(frame: pd.DataFrame, params: RowLevelParams | None = None,
                name: str = "file") -> Screening:  # fmt: skip
    """Measure the signs of row-level data in ``frame`` and judge them.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"region": ["N", "S"], "count": [120, 340]})
    >>> screen_file(table).status.value
    'pass'
    >>> records = pd.DataFrame({"patient_id": range(200), "sex": ["F", "M"] * 100})
    >>> s = screen_file(records, name="extract.csv")
    >>> s.status.value, s.findings["term"].tolist()
    ('fail', ["column 'patient_id'", "column 'patient_id'", 'rows per combination of text columns'])
    """
    if not isinstance(frame, pd.DataFrame):
        raise input_error("frame", "screen_file", "a pandas DataFrame", type(frame).__name__)
    p = params if params is not None else RowLevelParams()
    rows = int(frame.shape[0])
    terms: list[str] = []
    signs: list[tuple[str, float, float, bool]] = []

    def sign(term: str, what: str, measured: float, limit: float, strong: bool) -> None:
        terms.append(term)
        signs.append((what, measured, limit, strong))

    sign("rows", "the number of rows", rows, p.max_rows, True)
    ids = {_norm(n) for n in p.identifier_names}
    personal = {_norm(n) for n in p.personal_names}
    labels = []
    for col_name in frame.columns:
        col = frame[col_name]
        key = _norm(col_name)
        term = f"column {str(col_name)!r}"
        if key in ids:
            sign(term, "a column named like a person identifier (1 = yes)", 1, 0, True)
        if key in personal:
            sign(term, "a column named like a date of birth or postcode (1 = yes)", 1, 0, False)
        text = _is_text(col)
        numeric_looking = not text or _numeric_text(col)
        integer = pd.api.types.is_integer_dtype(col.dtype) or (
            text and numeric_looking and bool(
                pd.to_numeric(col.dropna(), errors="coerce").mod(1).eq(0).all())
        )  # fmt: skip
        if rows >= p.min_rows and (integer or (text and not numeric_looking)):
            share = col.nunique(dropna=True) / rows
            sign(term, "the share of rows with a distinct value (identifier-like)", share,
                 p.id_share, False)  # fmt: skip
        if text and not numeric_looking:
            labels.append(col_name)
    if labels and rows:
        distinct = frame[labels].drop_duplicates().shape[0]
        sign("rows per combination of text columns",
             "rows per distinct combination of the text columns", rows / max(distinct, 1),
             p.max_rows_per_combination, False)  # fmt: skip
    ev = SimpleNamespace(
        measured=np.array([s[1] for s in signs], dtype=np.float64),
        limit=np.array([s[2] for s in signs], dtype=np.float64),
        strong=np.array([s[3] for s in signs]),
        sign=np.array([s[0] for s in signs], dtype=object),
    )
    result = RULES["row-level"](ev, p)
    findings = pd.DataFrame(finding_rows(terms, result), columns=FINDING_COLUMNS)
    return Screening(name, findings)
