"""What the gate says about a released table file that is not what was checked.

Each case rewrites one file of a finalised folder and its digest (as whoever can write
the folder can) and checks the one reason the gate gives: which line, which cell, what
is wrong, and the counts it compares (never a released or evidence value). The
expectations are worked out here from the table as written (rows, fields, labels).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from gate_corpus import redigest

from sdc import Session
from sdc.release.gate import check_folder

#: Counts by region, published in this order (rows of the released CSV file).
REGIONS = {"A": 40, "B": 35, "C": 50}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    df = pd.DataFrame({"region": [r for r, n in REGIONS.items() for _ in range(n)]})
    s = Session()
    s.crosstab(df.region, name="counts")
    return s.finalise(tmp_path / "out")


def _reason(folder: Path, text: bytes) -> str:
    (folder / "counts.csv").write_bytes(text)
    redigest(folder, "counts.csv")
    report = check_folder(folder, rules="default", trust_unsigned=True)
    (entry,) = [o for o in report["outputs"] if o["name"] == "counts"]
    assert entry["status"] == "fail"
    return " ".join(entry["reasons"])


def _lines(folder: Path) -> list[bytes]:
    lines = (folder / "counts.csv").read_bytes().split(b"\n")
    assert lines[-1] == b"" and len(lines) == len(REGIONS) + 2  # header, rows, final newline
    return lines[:-1]


def test_the_untouched_file_is_as_expected(folder: Path) -> None:
    _, *rows = _lines(folder)
    assert [r.split(b",")[0].decode() for r in rows] == list(REGIONS)
    report = check_folder(folder, rules="default", trust_unsigned=True)
    assert report["outputs"][0]["rules_status"] == "pass"


def test_a_missing_row_is_counted(folder: Path) -> None:
    header, *rows = _lines(folder)
    why = _reason(folder, b"\n".join([header, *rows[:-1]]) + b"\n")
    assert f"the file has {len(REGIONS) - 1} rows; its evidence describes {len(REGIONS)}" in why


def test_an_extra_field_names_its_line(folder: Path) -> None:
    header, *rows = _lines(folder)
    rows[1] += b",x"
    why = _reason(folder, b"\n".join([header, *rows]) + b"\n")
    assert "line 3 has 3 fields; a row of this table has 2" in why


@pytest.mark.parametrize("value", [b"many", b"50.0"], ids=["not a number", "count as decimal"])
def test_a_value_that_is_not_a_count_names_its_line_and_cell(folder: Path, value: bytes) -> None:
    header, *rows = _lines(folder)
    rows[2] = b"C," + value
    why = _reason(folder, b"\n".join([header, *rows]) + b"\n")
    assert "line 4 (region=C): the value is neither empty (suppressed) nor a number" in why


def test_a_changed_count_names_its_line_and_cell_and_no_value(folder: Path) -> None:
    header, *rows = _lines(folder)
    rows[0] = b"A,41"
    why = _reason(folder, b"\n".join([header, *rows]) + b"\n")
    assert "line 2 (region=A): the released value differs from the value its evidence" in why
    assert "41" not in why and "40" not in why


@pytest.mark.parametrize(
    ("edit", "where"),
    [
        pytest.param(lambda h, r: (h.replace(b"count", b"Count"), r), "the header", id="header"),
        pytest.param(lambda h, r: (h, [r[0], b'"B",35', r[2]]), "line 3 (region=B)", id="quoted"),
        pytest.param(
            lambda h, r: (h, [r[0], r[1], b"c,50"]), "line 4 (region=C)", id="relabelled"
        ),  # fmt: skip
    ],
)
def test_a_file_not_in_its_one_serialisation_names_the_first_line(
    folder: Path, edit, where: str
) -> None:
    header, rows = edit(*(lambda h, *r: (h, list(r)))(*_lines(folder)))
    why = _reason(folder, b"\n".join([header, *rows]) + b"\n")
    assert f"{where} is not in the one serialisation of the checked values" in why


def test_a_missing_final_line_end_is_refused(folder: Path) -> None:
    header, *rows = _lines(folder)
    why = _reason(folder, b"\n".join([header, *rows]))
    assert "not a released CSV file: the last line does not end with a line feed" in why


def _rounded(tmp_path: Path) -> Path:
    """An OpenSAFELY request: counts published rounded to the nearest 5 (43 -> 45, 62 -> 60,
    88 -> 90, 12 -> 10: each rounding direction, none a multiple of 5)."""
    df = pd.DataFrame({"region": ["A"] * 43 + ["B"] * 62 + ["C"] * 88 + ["D"] * 12})
    s = Session(rules="opensafely")
    s.crosstab(df.region, name="counts")
    return s.finalise(tmp_path / "os")


def test_the_gate_rederives_rounded_counts(tmp_path: Path) -> None:
    out = _rounded(tmp_path)
    want = {r: int(5 * round(n / 5)) for r, n in {"A": 43, "B": 62, "C": 88, "D": 12}.items()}
    text = "region,count\n" + "".join(f"{r},{n}\n" for r, n in want.items())
    assert (out / "counts.csv").read_text(encoding="utf-8") == text
    report = check_folder(out, rules="opensafely", trust_unsigned=True)
    (entry,) = report["outputs"]
    assert entry["rules_status"] == "pass" and entry["recomputed"] is not False


@pytest.mark.parametrize(("region", "shown"), [("A", 40), ("B", 65), ("C", 85), ("D", 15)])
def test_a_rounded_count_moved_to_another_multiple_fails(
    tmp_path: Path, region: str, shown: int
) -> None:
    out = _rounded(tmp_path)
    lines = (out / "counts.csv").read_text(encoding="utf-8").splitlines()
    row = next(i for i, line in enumerate(lines) if line.startswith(f"{region},"))
    lines[row] = f"{region},{shown}"
    (out / "counts.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    redigest(out, "counts.csv")
    report = check_folder(out, rules="opensafely", trust_unsigned=True)
    (entry,) = report["outputs"]
    assert entry["status"] == "fail"
    assert f"line {row + 1} (region={region}): the released value differs" in " ".join(
        entry["reasons"]
    )


#: Cell x holds 1.0 and 1.5 (range 0.5), cell y only 2.0: what a released std, var or
#: median of x can be, whatever the records were: std in [0, 0.5], var in [0, 0.25]
#: (the range and its square bound them), a median in [1.0, 1.5].
SPREAD = pd.DataFrame({"a": ["x"] * 12 + ["y"] * 12, "v": [1.0, 1.5] * 6 + [2.0] * 12})


@pytest.mark.parametrize(
    ("statistic", "shown", "outside"),
    [
        ("std", "0.5", False), ("std", "0.5000001", True), ("std", "-0.5", True),
        ("var", "0.25", False), ("var", "0.2500001", True), ("var", "-0.01", True),
        ("median", "1.0", False), ("median", "1.5", False), ("median", "1.5000001", True),
        ("median", "0.9999999", True),
    ],
)  # fmt: skip
def test_a_statistic_the_gate_cannot_rederive_stays_in_its_cells_range(
    tmp_path: Path, statistic: str, shown: str, outside: bool
) -> None:
    s = Session()
    s.pivot_table(SPREAD, index="a", values="v", aggfunc=statistic, name="t")
    out = s.finalise(tmp_path / "req")
    untouched = check_folder(out, rules="default", trust_unsigned=True)
    assert "outside" not in " ".join(untouched["outputs"][0]["reasons"])  # y's std, var: 0
    lines = (out / "t.csv").read_text(encoding="utf-8").splitlines()
    assert lines[1].startswith("x,")
    lines[1] = f"x,{shown}"
    (out / "t.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    redigest(out, "t.csv")
    report = check_folder(out, rules="default", trust_unsigned=True)
    why = " ".join(report["outputs"][0]["reasons"])
    assert ("outside what the values of its cell allow" in why) is outside, why
    assert "serialisation" not in why and "spelling" not in why


def test_publishing_the_secondaries_again_fails_by_the_audit(tmp_path: Path) -> None:
    """Whoever writes the folder fills in the hidden secondary cells with their true values
    (so every published value agrees with the evidence): the lone hidden primary is then
    the row margin minus the published cells, and the gate's audit must say so."""
    df = pd.DataFrame({"region": ["A"] * 43 + ["B"] * 80,
                       "sex": ["F"] * 3 + ["M"] * 40 + ["F"] * 30 + ["M"] * 50})  # fmt: skip
    s = Session(suppress=True)
    s.crosstab(df.region, df.sex, margins=True, name="t")
    folder = s.finalise(tmp_path / "out")
    text = (folder / "t.csv").read_text()
    assert "A,F,\n" in text and "B,F,\n" in text and "B,M,\n" in text  # A,F 3 and secondaries
    untouched = check_folder(folder, rules="default", trust_unsigned=True)["outputs"][0]
    assert untouched["status"] == "pass"
    (folder / "t.csv").write_text(text.replace("B,F,\n", "B,F,30\n").replace("B,M,\n", "B,M,50\n"))
    redigest(folder, "t.csv")
    entry = check_folder(folder, rules="default", trust_unsigned=True)["outputs"][0]
    why = " ".join(entry["reasons"])
    assert entry["status"] == "fail" and "(audit)" in why
    assert "cell {'region': 'A', 'sex': 'F'}" in why
    assert "30" not in why and "50" not in why and " 3 " not in why
