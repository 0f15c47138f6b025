"""A microdata output as ``finalise`` writes it: its records, in their one serialisation.

Only the assessed columns leave: the key variables and the sensitive variables
(as text) and the sampling weight (as a number), in that order. Any other column
of the data, and the household or contributor id, is never written. A missing
value is an empty field; an empty text is missing too (there is one spelling).
The gate reads the file back with :func:`read_records`, writes it again with
:func:`records_csv` and requires the same bytes (:mod:`sdc.canonical`), then
assesses what it read.

The evidence file holds what the assessment needs to be repeated (the keys, the
sensitive variables, the weight, alpha) and the session's headline measures; it
never leaves.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from sdc.canonical import csv_text, label_text, number_text, parse_number, read_text, text_field
from sdc.definition import column_entry, dataset_fingerprint, series_fingerprint
from sdc.exceptions import SdcInputError

#: Version of the microdata evidence format.
EVIDENCE_VERSION = 1
_EVIDENCE_KEYS = ("kind", "version", "keys", "sensitive", "weight", "alpha", "records", "measures")


def _text(value: Any) -> str:
    """A key or sensitive value's text ('' for a missing one)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return ""
    if not isinstance(value, str | int | float | bool):
        value = value.isoformat() if hasattr(value, "isoformat") else str(value)
    return label_text(value)


def records_csv(frame: pd.DataFrame, text: Sequence[str], weight: str | None) -> str:
    """The released records: ``text`` columns as text fields, ``weight`` as numbers.

    Examples
    --------
    >>> df = pd.DataFrame({"sex": ["F", None], "band": [1, 2], "w": [1.5, 2.0]})
    >>> print(records_csv(df, ["sex", "band"], "w"), end="")
    sex,band,w
    F,1,1.5
    ,2,2.0
    """
    columns = []
    for col in text:
        values = [_text(v) for v in frame[col].tolist()]
        columns.append([text_field(v) if v else "" for v in values])
    header = list(text)
    if weight is not None:
        header.append(weight)
        columns.append([number_text(float(v)) for v in frame[weight].tolist()])
    return csv_text(header, zip(*columns, strict=True))


def read_records(rows: list[list[str]], text: Sequence[str], weight: str | None) -> pd.DataFrame:
    """The records of a released file (fields as :func:`sdc.canonical.read_csv` gives them).

    The header must name exactly ``text`` then ``weight``. Raises ``SdcInputError``
    (naming a line, never a value) when the file is not in that shape.
    """
    header = [*text, *([weight] if weight is not None else [])]
    if not rows or [read_text(h) for h in rows[0]] != header:
        raise SdcInputError(
            f"its columns must be exactly the assessed ones ({', '.join(header)}), in that order"
        )
    body = rows[1:]
    for line, row in enumerate(body, 2):
        if len(row) != len(header):
            raise SdcInputError(f"line {line} has {len(row)} fields; a record has {len(header)}")
    data: dict[str, Any] = {}
    for j, col in enumerate(text):
        data[col] = pd.Series([read_text(r[j]) or None for r in body], dtype=object)
    if weight is not None:
        w = []
        for line, row in enumerate(body, 2):
            try:
                value = parse_number(row[-1])
            except SdcInputError:
                raise SdcInputError(f"line {line}: the weight is not a number in its one "
                                    "spelling") from None  # fmt: skip
            if value is None:
                raise SdcInputError(f"line {line}: the weight is missing")
            w.append(value)
        data[weight] = np.asarray(w, dtype=np.float64)
    return pd.DataFrame(data, columns=header)


def evidence(out: Any) -> dict[str, Any]:
    """The evidence of a microdata output (what the gate needs to assess it again)."""
    k = int(out.ruleset.params["k-anonymity"].t)
    return {
        "kind": "microdata",
        "version": EVIDENCE_VERSION,
        "keys": list(out.keys.keys),
        "sensitive": list(out.sensitive),
        "weight": out.weight,
        "alpha": float(out.alpha),
        "records": int(out.n),
        "measures": {
            "k": k,
            "records_below_k": out.violations(k),
            "expected_reidentifications": float(out.expected_reidentifications),
        },
    }


def parse_evidence(d: Any) -> tuple[list[str], list[str], str | None, float]:
    """Keys, sensitive variables, weight and alpha from a microdata evidence file."""
    if not isinstance(d, dict) or set(d) != set(_EVIDENCE_KEYS) or d["kind"] != "microdata":
        raise SdcInputError(f"microdata evidence must have exactly the keys {list(_EVIDENCE_KEYS)}")
    keys, sensitive, weight, alpha = d["keys"], d["sensitive"], d["weight"], d["alpha"]
    names = [*keys, *sensitive] if isinstance(keys, list) and isinstance(sensitive, list) else []
    if (not keys or not names or not all(isinstance(x, str) and x for x in names)
            or len(set(names)) != len(names)):  # fmt: skip
        raise SdcInputError("microdata evidence must name distinct key and sensitive columns")
    if weight is not None and (not isinstance(weight, str) or weight in names or not weight):
        raise SdcInputError("the weight of microdata evidence must be another column, or null")
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0 <= alpha <= 1:
        raise SdcInputError("the alpha of microdata evidence must be a number in [0, 1]")
    return keys, sensitive, weight, float(alpha)


def microdata_definition(
    data: pd.DataFrame, keys: Sequence[str], sensitive: Sequence[str], weight: str | None
) -> dict[str, Any]:
    """What a microdata output is: its columns and their fingerprints (no value of a record)."""
    cols: dict[str, str | None] = {
        c: series_fingerprint(data[c]) for c in [*keys, *sensitive, *([weight] if weight else [])]
    }
    return {
        "version": 1,
        "call": "assess_microdata",
        "statistic": "records",
        "keys": [column_entry(c, cols[c]) for c in keys],
        "sensitive": [column_entry(c, cols[c]) for c in sensitive],
        "weight": None if weight is None else column_entry(weight, cols[weight]),
        "dataset": {"rows": len(data), "fingerprint": dataset_fingerprint(cols, len(data))},
        "population": None,
    }
