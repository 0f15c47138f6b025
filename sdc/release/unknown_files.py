"""Files in a request that the manifest does not describe: never released, judged by their look.

No automatic check applies to such a file, so it never leaves whatever its
verdict. The verdict says how urgently a person must look: ``fail`` when the
file looks like row-level data (a column named like an identifier, values that
look like dates or NHS numbers, or the shape of a record list: many rows of
delimited fields), ``review`` otherwise. Messages name what was seen, never a
value.
"""

from __future__ import annotations

import re

from sdc._text import printable
from sdc.verdict import Status

#: Column names that identify people (whole words, any case, ``_`` or ``-`` joined).
IDENTIFIER = re.compile(
    r"(?:^|[^a-z])(id|ids|patient|person|subject|nhs|chi|mrn|dob|birth|born|name|surname|"
    r"forename|address|postcode|zip|email|phone|ssn|nino)(?:[^a-z]|$)",
    re.IGNORECASE,
)
_DATE = re.compile(
    rb"(?<!\d)(?:(?:19|20)\d\d[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])|"
    rb"(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|1[0-2])[-/.](?:19|20)\d\d)(?!\d)"
)
_NHS_NUMBER = re.compile(rb"(?<![\d.])\d{3}[ -]?\d{3}[ -]?\d{4}(?![\d.])")
_SEPARATORS = (",", "\t", ";", "|")
#: Rows of delimited fields from which a file has the shape of a list of records.
RECORD_ROWS = 100
_SCAN = 1 << 20


def _header_identifier(text: str) -> str | None:
    first = text.split("\n", 1)[0]
    for sep in _SEPARATORS:
        for name in first.split(sep):
            name = name.strip().strip("\"'")
            if name and IDENTIFIER.search(name):
                return name
    return None


def _delimited_rows(lines: list[str]) -> int:
    """Rows with the same number (>= 2) of fields as the first line, for the best separator."""
    best = 0
    for sep in _SEPARATORS:
        width = lines[0].count(sep) if lines else 0
        if width:
            best = max(best, sum(1 for ln in lines[1:] if ln.count(sep) == width))
    return best


def classify(path: str, data: bytes | None, error: str = "") -> tuple[Status, str]:
    """The verdict on an undescribed file and why (``data`` None: it could not be read).

    Examples
    --------
    >>> classify("notes.txt", b"region,count\\nS,3\\n")[0].value
    'review'
    >>> status, why = classify("extra.csv", b"patient_id,dob\\nP1,1970-01-02\\n")
    >>> status.value, why.split(":")[0]
    ('fail', "'extra.csv' is not described by the manifest and looks like row-level data")
    """
    shown = printable(path)
    never = "it never leaves"
    if data is None:
        return Status.FAIL, f"{shown!r} is not described by the manifest and {error}; {never}"
    why = row_level_signs(data)
    if why:
        return Status.FAIL, (
            f"{shown!r} is not described by the manifest and looks like row-level data: "
            f"{'; '.join(why)}; {never}, and a person must find out how it got here"
        )
    kind = "text" if _text(data) is not None else "binary data"
    return Status.REVIEW, (
        f"{shown!r} is not described by the manifest ({kind}), so no automatic check applies; "
        f"{never}: a person must look at it or remove it"
    )


def _text(data: bytes) -> str | None:
    try:
        return data[:_SCAN].decode("utf-8", errors="strict" if len(data) <= _SCAN else "ignore")
    except UnicodeDecodeError:
        return None


def row_level_signs(data: bytes) -> list[str]:
    """What makes ``data`` look like row-level data (names what was seen, never a value).

    >>> row_level_signs(b"patient_id,dob\\nP1,1970-01-02\\n")
    ["a column named like an identifier ('patient_id')", 'values that look like dates']
    """
    head = data[:_SCAN]
    why = []
    text = _text(data)
    if text is not None:
        name = _header_identifier(text)
        if name is not None:
            why.append(f"a column named like an identifier ({printable(name[:40])!r})")
        rows = _delimited_rows(text.split("\n")[:10_000])
        if rows >= RECORD_ROWS:
            why.append(f"{rows} rows of delimited fields, the shape of a list of records")
    if _DATE.search(head):
        why.append("values that look like dates")
    if _NHS_NUMBER.search(head):
        why.append("values that look like NHS numbers")
    return why
