"""Files screened for the shape of records at the gate (:func:`sdc.microdata.screen_file`).

Three kinds of file are screened with the rule set's ``[row-level]`` limits:

- a CSV, TSV or Parquet file in the request that the manifest does not describe:
  it never leaves, and the screening says how urgently a person must look
  (``fail`` when it looks record-level, else ``review``; never ``pass``);
- a file declared as a table that cannot be read as its table (wrong rows,
  columns or spelling): its failure names the signs of records found in it;
- every table's column names (dimensions and value): a dimension named like a
  person identifier makes the table ``fail``, one named like a date of birth or
  a postcode sends it to ``review``. A table whose file agrees with its evidence
  has one row per cell, so its number of rows is the table rules' concern
  (each cell's contributors), not the screening's.

Findings name columns and counts, never a value.
"""

from __future__ import annotations

import io
from typing import Any

from sdc.canonical import read_csv, read_text
from sdc.exceptions import SdcInputError
from sdc.verdict import Status

#: File name endings read as delimited text or Parquet for screening.
DELIMITED = {".csv": ",", ".tsv": "\t", ".txt": None}
PARQUET = (".parquet", ".pq")


def _frame(path: str, data: bytes, max_cells: int) -> Any:
    """The file as a frame of texts, or None when it is neither CSV/TSV nor Parquet."""
    import pandas as pd

    lower = path.lower()
    if lower.endswith(PARQUET):
        try:
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise SdcInputError("Parquet cannot be read here (pyarrow is missing)") from exc
        try:
            table = pq.read_table(io.BytesIO(data))
        except Exception as exc:  # any malformed Parquet: refused, never trusted
            raise SdcInputError(
                f"it is not a readable Parquet file ({type(exc).__name__})"
            ) from None
        if table.num_rows * max(1, table.num_columns) > max_cells:
            raise SdcInputError(f"it holds more than {max_cells:,} fields (the gate's cap)")
        return table.to_pandas().astype(object)
    sep = next((s for end, s in DELIMITED.items() if lower.endswith(end)), "")
    if sep == "":
        return None
    try:
        rows = read_csv(data, max_cells) if sep == "," else None
    except SdcInputError:
        rows = None
    if rows is not None and rows and len({len(r) for r in rows}) == 1:
        return pd.DataFrame([[read_text(x) for x in r] for r in rows[1:]],
                            columns=[read_text(h) for h in rows[0]], dtype=object)  # fmt: skip
    try:
        frame = pd.read_csv(io.BytesIO(data), sep=sep, dtype=str, keep_default_na=False,
                            engine="python", on_bad_lines="skip")  # fmt: skip
    except Exception as exc:  # not delimited text after all
        raise SdcInputError(f"it cannot be read as delimited text ({type(exc).__name__})") from None
    if frame.size > max_cells:
        raise SdcInputError(f"it holds more than {max_cells:,} fields (the gate's cap)")
    return frame.replace("", None)


def _numeric(frame: Any) -> Any:
    """Columns whose every value reads as a number, as numbers (so ids and counts show)."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        parsed = pd.to_numeric(out[col], errors="coerce")
        if parsed.notna().sum() == out[col].notna().sum():
            out[col] = parsed
    return out


def screen_bytes(path: str, data: bytes, params: Any, max_cells: int) -> Any:
    """The screening of a file's bytes (a :class:`~sdc.microdata.screening.Screening`), or
    None when it is not a CSV, TSV or Parquet file; ``SdcInputError`` when it cannot be read."""
    from sdc.microdata.screening import screen_file

    frame = _frame(path, data, max_cells)
    if frame is None:
        return None
    return screen_file(_numeric(frame), params, name=path)


def screen_names(columns: list[str], params: Any) -> Any:
    """The screening of column names alone (identifier, date of birth, postcode)."""
    import pandas as pd

    from sdc.microdata.screening import screen_file

    return screen_file(pd.DataFrame(columns=columns, dtype=object), params)


def reasons(screening: Any, what: str) -> list[str]:
    """One sentence per sign found (columns and counts, never a value)."""
    f = screening.findings
    return [f"{what}: {row['term']}: {row['message']}" for row in f.to_dict("records")]


def findings(screening: Any) -> list[dict[str, Any]]:
    """The screening's findings as report findings (per term)."""
    import numpy as np

    def number(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    return [
        {"rule": row["rule"], "outcome": row["outcome"], "cell": {"term": str(row["term"])},
         "measured": number(row["measured"]), "limit": number(row["limit"]),
         "message": row["message"]}
        for row in screening.findings.to_dict("records")
    ]  # fmt: skip


def status(screening: Any) -> Status:
    return Status.PASS if screening.findings.empty else screening.status
