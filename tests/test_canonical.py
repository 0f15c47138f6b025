"""The one serialisation of released files: round trips, one spelling, formula escaping.

Properties: every label and every number written reads back as itself; nothing
written starts with a character a spreadsheet would run; every other spelling of a
number is refused; the strict CSV reader gives back what was written, compared
with Python's own ``csv`` module as the reference reader.
"""

from __future__ import annotations

import csv
import io
import math

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from sdc.canonical import (
    FORMULA_TRIGGERS,
    csv_text,
    first_difference,
    number_text,
    parse_number,
    read_csv,
    read_text,
    text_field,
)
from sdc.exceptions import SdcInputError

labels = st.text(
    st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")), max_size=20
)


@given(st.lists(st.lists(labels, min_size=3, max_size=3), min_size=1, max_size=8))
@example([["=cmd|' /C calc'!A0", "-1", "'"]])
@example([["", " a", 'say "hi", twice']])
def test_text_round_trips_and_matches_the_csv_module(rows: list[list[str]]) -> None:
    header = ["a", "b", "c"]
    text = csv_text(header, [[text_field(x) for x in row] for row in rows])
    parsed = read_csv(text.encode("utf-8"), 10_000)
    assert [[read_text(f) for f in r] for r in parsed[1:]] == rows
    # The reference reader sees the same fields (before the apostrophes are removed).
    reference = list(csv.reader(io.StringIO(text, newline="")))
    assert reference == parsed


@given(labels)
@example("=1+1")
@example(" @SUM(A1)")
@example("\u3000=1")  # an ideographic space, then a formula
def test_nothing_written_starts_with_a_formula_character(text: str) -> None:
    field = text_field(text)
    value = field[1:-1] if field.startswith('"') else field
    assert value.lstrip()[:1] not in FORMULA_TRIGGERS


@pytest.mark.parametrize("bad", ["a\nb", "a\rb", "\tx", "x\u200b", "\u202eevil"])
def test_control_and_format_characters_are_refused(bad: str) -> None:
    with pytest.raises(SdcInputError, match="control or format"):
        text_field(bad)


@given(st.floats(allow_nan=False, allow_infinity=True))
def test_every_float_has_one_spelling_that_reads_back(x: float) -> None:
    text = number_text(x)
    value = parse_number(text)
    assert value == x or (x == 0 and value == 0)
    assert number_text(value) == text


@given(st.integers(-(2**53) + 1, 2**53 - 1))
def test_every_count_has_one_spelling(n: int) -> None:
    text = number_text(float(n), integer=True)
    assert text == str(n) and parse_number(text, integer=True) == n


@given(st.integers(0, 10**6), st.sampled_from([
    "+{}", "{}.0", "0{}", " {}", "{} ", "{}_", "{:,}", "{:e}", "{:08d}",
]))  # fmt: skip
def test_other_spellings_of_a_count_are_refused(n: int, spelling: str) -> None:
    text = spelling.format(n)
    if text == str(n):
        return
    with pytest.raises(SdcInputError):
        parse_number(text, integer=True)


@pytest.mark.parametrize(
    "text", ["+2.72e2", "445.0000002", "2_9_9", "\uff12\uff19\uff19", "nan", "-0.0", "1e+2", "  "]
)
def test_the_issues_spellings_are_not_the_one_spelling_of_a_count(text: str) -> None:
    with pytest.raises(SdcInputError, match="one spelling") as info:
        parse_number(text, integer=True)
    assert text.strip() == "" or text not in str(info.value)  # never quoted


def test_the_reader_refuses_what_is_not_the_dialect() -> None:
    for data, why in [
        (b"\xef\xbb\xbfa\n", "byte order mark"),
        (b"a\r\nb\r\n", "carriage return"),
        (b"a\n\nb\n", "blank"),
        (b"a\nb", "line feed"),
        (b'a\n"b\n', "unclosed quote"),
        (b'a\n"b"c\n', "after a closing quote"),
        (b'a\nb"c\n', "quote inside"),
        (b"a\n\xff\n", "UTF-8"),
    ]:
        with pytest.raises(SdcInputError, match=why):
            read_csv(data, 100)
    with pytest.raises(SdcInputError, match="more than 3 fields"):
        read_csv(b"a,b\nc,d\n", 3)


def test_the_first_differing_line() -> None:
    assert first_difference("a\nb\nc\n", b"a\nb\nc\n") is None
    assert first_difference("a\nb\nc\n", b"a\nB\nc\n") == 2
    assert first_difference("a\nb\n", b"a\nb\nextra\n") == 3
    assert first_difference("a\nb\n", b"a\n") == 2
    assert not math.isnan(float(number_text(1e308)))
