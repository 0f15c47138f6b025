"""The one serialisation of released CSV files: what ``finalise`` writes and the gate expects.

A released file is judged by its bytes: the gate writes the canonical text of the
values it checked and the file must be equal to it, byte for byte. So there is
exactly one way to write each file:

- UTF-8 without a byte order mark; every line ends with a line feed (``\\n``),
  including the last; no blank lines; fields separated by ``,``.
- **Numbers and text are told apart by their column, never by their content.**
  Value columns (a table's statistic, a coefficient table's estimates, a survival
  table's counts and times) hold numbers; label columns (dimensions, terms,
  groups) and the header hold text.
- A number has one spelling: an integer column is written as the integer
  (``12``, never ``12.0``, ``+12`` or ``1_2``); any other number as Python's
  shortest round-trip form (``5.5``, ``1e-07``, ``1234.0``), ``0.0`` for minus zero,
  ``inf``/``-inf`` where a coefficient table has one. An empty field is a
  suppressed (or undefined) value. A negative number is a number: ``-0.5`` is
  written as it is.
- Text that a spreadsheet would run as a formula (its first non-blank character
  is ``=``, ``+``, ``-``, ``@``, a tab or a carriage return), and text starting
  with an apostrophe, is written with one leading apostrophe (``'=A1``), which
  :func:`read_text` removes again, so that every label has one spelling. Text
  is quoted (``"..."``, inner quotes doubled) when it is empty, holds a comma or
  a quote, or starts or ends with a space.
- Labels never hold control or format characters (see :mod:`sdc._text`); writing
  one is refused.

Examples
--------
>>> print(csv_text(["region", "count"], [[text_field("N"), number_field(12, True)],
...                                      [text_field("=1+1"), number_field(float("nan"), True)]]),
...       end="")
region,count
N,12
'=1+1,
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from sdc._text import refused_characters
from sdc.exceptions import SdcInputError

#: First characters that make a spreadsheet evaluate a cell (OWASP "CSV injection").
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPE = "'"


def label_text(label: Any) -> str:
    """The text of a table label (str, int, float or bool), as it appears in a released file.

    Examples
    --------
    >>> [label_text(x) for x in ("N", 3, 2.5, True)]
    ['N', '3', '2.5', 'True']
    """
    if isinstance(label, float) and not math.isfinite(label):
        raise SdcInputError(f"a label must be finite; got {label!r}.")
    if not isinstance(label, str | int | float | bool):
        raise SdcInputError(
            f"a label must be text, a number or a bool; got a {type(label).__name__}."
        )
    return str(label)


def number_text(value: float | int | None, integer: bool = False) -> str:
    """The one spelling of a number ('' for a missing one).

    Examples
    --------
    >>> number_text(12.0, integer=True), number_text(5.5), number_text(-0.0), number_text(None)
    ('12', '5.5', '0.0', '')
    >>> number_text(1e-7), number_text(1234.0)
    ('1e-07', '1234.0')
    """
    if value is None:
        return ""
    x = float(value)
    if math.isnan(x):
        return ""
    if integer:
        if not math.isfinite(x) or x != math.floor(x) or abs(x) >= 2**53:
            raise SdcInputError(f"an integer column cannot hold {x!r}.")
        return str(int(x))
    if x == 0.0:
        return "0.0"
    return repr(x)


def parse_number(text: str, integer: bool = False) -> float | None:
    """A number read back from a field, only in its one spelling (None for '').

    Raises ``SdcInputError`` for anything else (``+1``, ``1_0``, ``1.0`` in an
    integer column, full-width digits, blanks); the message does not quote the field.

    Examples
    --------
    >>> parse_number("12", integer=True), parse_number("5.5"), parse_number("")
    (12.0, 5.5, None)
    >>> parse_number("2_9_9")
    Traceback (most recent call last):
    ...
    sdc.exceptions.SdcInputError: the field is not a number in its one spelling.
    """
    if text == "":
        return None
    refused = SdcInputError("the field is not a number in its one spelling.")
    try:
        x = float(text)
        spelt = number_text(x, integer)
    except (ValueError, SdcInputError):
        raise refused from None
    if math.isnan(x) or spelt != text:
        raise refused
    return x


def text_field(text: str) -> str:
    """A text field as written: formula-like text escaped, quoted where needed.

    Examples
    --------
    >>> [text_field(t) for t in ("N", "=cmd|' /C calc'!A0", "-1", "a,b", "", " x")]
    ['N', "'=cmd|' /C calc'!A0", "'-1", '"a,b"', '""', '" x"']
    """
    bad = refused_characters(text)
    if bad:
        raise SdcInputError(
            f"text {text.encode('unicode_escape').decode('ascii')!r} holds control or "
            f"format character(s) {', '.join(bad)}, which released files never hold."
        )
    if text.startswith(_ESCAPE) or text.lstrip()[:1] in FORMULA_TRIGGERS:
        text = _ESCAPE + text
    if text == "" or "," in text or '"' in text or text[0] == " " or text[-1] == " ":
        return '"' + text.replace('"', '""') + '"'
    return text


def read_text(field: str) -> str:
    """A text field's value: the leading apostrophe of an escaped field removed.

    Examples
    --------
    >>> read_text("'=1+1"), read_text("N")
    ('=1+1', 'N')
    """
    return field[1:] if field.startswith(_ESCAPE) else field


def number_field(value: float | int | None, integer: bool = False) -> str:
    """A number field as written (see :func:`number_text`)."""
    return number_text(value, integer)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """The file: the header's text fields, then each row of fields already written."""
    lines = [",".join(text_field(h) for h in header)]
    lines.extend(",".join(row) for row in rows)
    return "\n".join(lines) + "\n"


def frame_csv(frame: Any, text: Sequence[str] = (), integer: Sequence[str] = ()) -> str:
    """A released table given as a DataFrame: ``text`` columns as text fields (labels,
    terms, groups), ``integer`` columns as integers, every other column as numbers.

    Examples
    --------
    >>> import pandas as pd
    >>> print(frame_csv(pd.DataFrame({"term": ["x"], "coef": [0.5]}), text=["term"]), end="")
    term,coef
    x,0.5
    """
    columns = []
    for col in frame.columns:
        values = frame[col].tolist()
        if col in text:
            columns.append([text_field(label_text(v)) for v in values])
        else:
            columns.append([number_text(v, col in integer) for v in values])
    return csv_text([str(c) for c in frame.columns], zip(*columns, strict=True))


def read_csv(data: bytes, max_cells: int) -> list[list[str]]:
    """The fields of a released CSV file (quotes removed, apostrophes kept), line by line.

    Strict: UTF-8 without a byte order mark, ``\\n`` line ends including the last,
    no carriage returns, no blank lines, at most ``max_cells`` fields. Errors name
    the line, never its content.

    Examples
    --------
    >>> read_csv(b'a,b\\n"x,y",\\n', 100)
    [['a', 'b'], ['x,y', '']]
    """
    if data.startswith(b"\xef\xbb\xbf"):
        raise SdcInputError("the file starts with a byte order mark.")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = data[: exc.start].count(b"\n") + 1
        raise SdcInputError(f"line {bad} is not valid UTF-8.") from None
    if not text.endswith("\n"):
        raise SdcInputError("the last line does not end with a line feed.")
    rows: list[list[str]] = []
    cells = 0
    for number, line in enumerate(text[:-1].split("\n"), 1):
        if line == "":
            raise SdcInputError(f"line {number} is blank.")
        if "\r" in line:
            raise SdcInputError(f"line {number} holds a carriage return.")
        fields = _split(line, number)
        cells += len(fields)
        if cells > max_cells:
            raise SdcInputError(f"the file holds more than {max_cells:,} fields (the gate's cap).")
        rows.append(fields)
    return rows


def _split(line: str, number: int) -> list[str]:
    if '"' not in line:
        return line.split(",")
    fields: list[str] = []
    i, n = 0, len(line)
    while True:
        if i < n and line[i] == '"':
            j, parts = i + 1, []
            while True:
                k = line.find('"', j)
                if k < 0:
                    raise SdcInputError(f"line {number} has an unclosed quote.")
                parts.append(line[j:k])
                if k + 1 < n and line[k + 1] == '"':
                    parts.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            fields.append("".join(parts))
            if i < n and line[i] != ",":
                raise SdcInputError(f"line {number} has text after a closing quote.")
        else:
            k = line.find(",", i)
            end = n if k < 0 else k
            if '"' in line[i:end]:
                raise SdcInputError(f"line {number} has a quote inside an unquoted field.")
            fields.append(line[i:end])
            i = end
        if i >= n:
            return fields
        i += 1  # the comma
        if i == n:
            fields.append("")
            return fields


def first_difference(expected: str, actual: bytes) -> int | None:
    """The first line (1-based) where ``actual`` differs from ``expected``; None if equal.

    Examples
    --------
    >>> first_difference("a\\nb\\n", b"a\\nc\\n"), first_difference("a\\n", b"a\\n")
    (2, None)
    """
    want = expected.encode("utf-8")
    if want == actual:
        return None
    for number, (a, b) in enumerate(zip(want.split(b"\n"), actual.split(b"\n"), strict=False), 1):
        if a != b:
            return number
    return min(want.count(b"\n"), actual.count(b"\n")) + 1
