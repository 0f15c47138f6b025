"""``sdc protect``: suppression with margins and hierarchies from files, frequency-table input,
and a corpus of bad inputs that must each exit 2 with a message naming the problem.

Tables are small (tens of cells) so that the whole file runs in seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pytest

from sdc.cli import main
from sdc.release.report import report_schema

VALIDATOR = jsonschema.Draft202012Validator(report_schema())

#: Region x sex counts; (02, M) is below the threshold of 10.
COUNTS = {
    ("01", "F"): 14, ("01", "M"): 12, ("02", "F"): 11, ("02", "M"): 4,
    ("03", "F"): 15, ("03", "M"): 13, ("04", "F"): 12, ("04", "M"): 16,
}  # fmt: skip
HIERARCHY_CSV = "parent,child\nN,01\nN,02\nS,03\nS,04\n"
HIERARCHY_HRC = "N\n@01\n@02\nS\n@03\n@04\n"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse usage errors
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code, out, err = run(capsys, *argv, "--json")
    assert err == "", err
    report = json.loads(out)
    VALIDATOR.validate(report)
    return code, report


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def microdata(path: Path, counts: dict[tuple[str, str], int] = COUNTS) -> Path:
    rows = [f"{r},{s}" for (r, s), n in counts.items() for _ in range(n)]
    return write(path, "\n".join(["region,sex", *rows]) + "\n")


def frequencies(path: Path, rows: list[str]) -> Path:
    return write(path, "\n".join(["region,sex,n", *rows]) + "\n")


def frequency_rows(counts: dict[tuple[str, str], int] = COUNTS) -> list[str]:
    return [f"{r},{s},{n}" for (r, s), n in counts.items()]


def with_margins(counts: dict[tuple[str, str], int] = COUNTS, label: str = "Total") -> list[str]:
    """The frequency rows plus every margin row, as a table with totals is often stored."""
    frame = pd.DataFrame([(r, s, n) for (r, s), n in counts.items()], columns=["r", "s", "n"])
    rows = frequency_rows(counts)
    rows += [f"{r},{label},{n}" for r, n in frame.groupby("r")["n"].sum().items()]
    rows += [f"{label},{s},{n}" for s, n in frame.groupby("s")["n"].sum().items()]
    return [*rows, f"{label},{label},{int(frame.n.sum())}"]


def cells_of(report: dict) -> dict[tuple[str, str], dict]:
    (entry,) = report["outputs"]
    return {(c["labels"]["region"], c["labels"]["sex"]): c for c in entry["cells"]}


def pattern(report: dict) -> dict[tuple[str, str], str]:
    return {k: c["suppression"] for k, c in cells_of(report).items() if c["suppression"]}


TABLE = ("--index", "region", "--columns", "sex")

# ---------------------------------------------------------------------------- passing tables


def test_hierarchy_csv_passes_and_writes_the_protected_table(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = microdata(tmp_path / "visits.csv")
    tree = write(tmp_path / "regions.csv", HIERARCHY_CSV)
    out = tmp_path / "out"
    code, text, err = run(capsys, "protect", str(data), *TABLE,
                          "--hierarchy", f"region={tree}", "--out", str(out))  # fmt: skip
    assert (code, err) == (0, "")
    lines = [line.split() for line in text.splitlines()]
    assert ["02", "<NA>", "<NA>", "15"] in lines  # the protected table is printed
    assert ["N", "25", "16", "41"] in lines  # with the hierarchy's subtotals
    assert "sdc report: PASS" in text
    assert "suppressed: 1 primary, 3 secondary; audit passed" in text
    released = pd.read_csv(out / "protect_region_sex.csv", dtype={"region": str, "sex": str})
    assert int(released["count"].isna().sum()) == 4
    assert set(released["region"]) == {"01", "02", "03", "04", "All", "N", "S"}
    code, checked = run_json(capsys, "check", str(out), "--trust-unsigned")
    assert code == 0 and pattern(checked)[("02", "M")] == "primary"


def test_hrc_hierarchy_gives_the_same_report_as_the_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = microdata(tmp_path / "visits.csv")
    csv = write(tmp_path / "regions.csv", HIERARCHY_CSV)
    hrc = write(tmp_path / "regions.hrc", HIERARCHY_HRC)
    code_hrc, from_hrc = run_json(capsys, "protect", str(data), *TABLE,
                                  "--hierarchy", f"region={hrc}")  # fmt: skip
    code_csv, from_csv = run_json(capsys, "protect", str(data), *TABLE,
                                  "--hierarchy", f"region={csv}")  # fmt: skip
    assert code_hrc == code_csv == 0
    assert from_hrc == from_csv
    assert {"N", "S"} <= {k[0] for k in cells_of(from_hrc)}


def test_ssbtools_hierarchy_gives_the_same_report_as_the_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """SSBtools' hierarchy table (``mapsFrom,mapsTo,sign,level``, the root mapping nowhere
    else) describes the same subtotals as the ``parent,child`` file."""
    data = microdata(tmp_path / "visits.csv")
    csv = write(tmp_path / "regions.csv", HIERARCHY_CSV)
    ssb = write(tmp_path / "regions_ssb.csv", '"mapsFrom","mapsTo","sign","level"\n'
                '"01","N",1,1\n"02","N",1,1\n"03","S",1,1\n"04","S",1,1\n'
                '"N","Total",1,2\n"S","Total",1,2\n')  # fmt: skip
    code_ssb, from_ssb = run_json(capsys, "protect", str(data), *TABLE,
                                  "--hierarchy", f"region={ssb}")  # fmt: skip
    code_csv, from_csv = run_json(capsys, "protect", str(data), *TABLE,
                                  "--hierarchy", f"region={csv}")  # fmt: skip
    assert code_ssb == code_csv == 0
    assert from_ssb == from_csv
    assert {"N", "S"} <= {k[0] for k in cells_of(from_ssb)}


def test_json_report_names_the_secondary_cells(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = microdata(tmp_path / "visits.csv")
    code, report = run_json(capsys, "protect", str(data), *TABLE)
    assert code == 0 and report["status"] == "pass"
    # 02 x M is hidden; its row and column need a partner, and the rectangle closes.
    assert pattern(report) == {
        ("02", "M"): "primary",
        ("02", "F"): "secondary",
        ("01", "M"): "secondary",
        ("01", "F"): "secondary",
    }
    for key, cell in cells_of(report).items():
        if key in pattern(report):
            assert cell["value"] is None and cell["audit"]["ok"] is True
        else:
            assert cell["audit"] is None and cell["value"] is not None


def test_exact_intervals_are_reported(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """With --exact-intervals every hidden cell has its interval (worked by hand: the
    rectangle 02M + t, 02F - t, 01M - t, 01F + t stays >= 0 for t in [-4, 11])."""
    data = microdata(tmp_path / "visits.csv")
    code, report = run_json(capsys, "protect", str(data), *TABLE, "--exact-intervals")
    assert code == 0
    got = {k: (c["audit"]["lower"], c["audit"]["upper"])
           for k, c in cells_of(report).items() if c["audit"] is not None}  # fmt: skip
    assert got == {("02", "M"): (0, 15), ("02", "F"): (0, 15),
                   ("01", "M"): (1, 16), ("01", "F"): (10, 25)}  # fmt: skip


def test_protection_options_and_verdict_exit_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    data = microdata(tmp_path / "visits.csv")
    code, report = run_json(capsys, "protect", str(data), *TABLE, "--secondary-zeros",
                            "--no-singletons", "--audit-rounds", "0", "--name", "opts")  # fmt: skip
    assert code == 0 and report["outputs"][0]["name"] == "opts"
    assert pattern(report)[("02", "M")] == "primary"
    # A rounded table with margins and a redaction cannot be audited: review, exit 3.
    code, text, _ = run(capsys, "protect", str(data), *TABLE, "--rules", "opensafely")
    assert code == 3 and "sdc report: REVIEW" in text
    assert "suppressed: 1 primary, 0 secondary; not audited" in text


# ---------------------------------------------------------------------------- frequency tables


@pytest.mark.parametrize("hierarchy", [False, True], ids=["plain", "hierarchy"])
def test_frequency_table_gives_the_same_pattern_as_microdata(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, hierarchy: bool
) -> None:
    tree = write(tmp_path / "regions.hrc", HIERARCHY_HRC)
    extra = ("--hierarchy", f"region={tree}") if hierarchy else ()
    micro = microdata(tmp_path / "visits.csv")
    freq = frequencies(tmp_path / "freq.csv", frequency_rows())
    totals = frequencies(tmp_path / "totals.csv", with_margins())
    _, from_micro = run_json(capsys, "protect", str(micro), *TABLE, *extra)
    _, from_freq = run_json(capsys, "protect", str(freq), *TABLE, "--freq", "n", *extra)
    _, from_totals = run_json(capsys, "protect", str(totals), *TABLE, "--freq", "n",
                              "--total-label", "Total", *extra)  # fmt: skip
    assert len(pattern(from_micro)) == 4
    assert from_freq == from_micro  # every cell: values, counts, suppression, audit
    assert from_totals == from_micro


def test_frequency_table_keeps_levels_whose_counts_are_all_zero(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rows = [*frequency_rows(), "05,F,0", "05,M,0"]
    code, report = run_json(capsys, "protect", str(frequencies(tmp_path / "f.csv", rows)),
                            *TABLE, "--freq", "n")  # fmt: skip
    cells = cells_of(report)
    assert cells[("05", "F")]["records"] == cells[("05", "All")]["records"] == 0
    # Empty cells need review under the default rules: exit 3, as for `sdc crosstab`.
    assert code == 3 and report["status"] == "review"
    assert cells[("05", "F")]["review_rules"] == ["zeros"]


# ---------------------------------------------------------------------------- bad inputs

MICRO = "micro"  # the data file is the microdata of COUNTS


def _tree(text: str | bytes, name: str = "h.csv", dim: str = "region") -> dict:
    return {"data": MICRO, "files": {name: text}, "argv": ["--hierarchy", f"{dim}={{tmp}}/{name}"]}


def _freq(rows: list[str], *argv: str) -> dict:
    return {"data": rows, "argv": ["--freq", "n", *argv]}


#: case -> (input, fragments the one-line error must contain). ``{tmp}`` in an
#: argument is the test's folder, where ``files`` are written.
BAD: dict[str, tuple[dict, list[str]]] = {
    "hierarchy with a cycle": (
        _tree("parent,child\nN,S\nS,N\nN,01\nN,02\nS,03\nS,04\n"),
        ["cycle", "N -> S -> N"],
    ),
    "hierarchy code missing from the data": (
        _tree("parent,child\nN,01\nN,02\nN,07\nS,03\nS,04\n"),
        ["codes missing from the data", "'07'"],
    ),
    "data level missing from the hierarchy": (
        _tree("N\n@01\n@02\nS\n@03\n", name="h.hrc"),
        ["data levels not in the hierarchy", "'04'"],
    ),
    "hierarchy that is not a tree": (
        _tree("parent,child\nN,01\nN,02\nS,02\nS,03\nS,04\n"),
        ["not a tree", "'02' under ['N', 'S']"],
    ),
    "SSBtools hierarchy with a subtraction": (
        _tree("mapsFrom,mapsTo,sign,level\n01,N,1,1\n02,N,-1,1\n03,S,1,1\n04,S,1,1\n"),
        ["'02' enters 'N' with sign '-1'", "only sums"],
    ),
    "SSBtools hierarchy missing a data level": (
        _tree("mapsFrom,mapsTo,sign,level\n01,N,1,1\n02,N,1,1\n03,S,1,1\n"),
        ["data levels not in the hierarchy", "'04'"],
    ),
    "missing hierarchy file": (
        {"data": MICRO, "argv": ["--hierarchy", "region={tmp}/nowhere.csv"]},
        ["nowhere.csv", "does not exist", "'region'"],
    ),
    "unreadable hierarchy file": (
        _tree(b"\xff\xfe\x00\xd8 not text"),
        ["cannot read", "h.csv", "'region'"],
    ),
    "hierarchy for an unknown dimension": (
        _tree(HIERARCHY_CSV, dim="age"),
        ["--hierarchy", "'age'", "region, sex"],
    ),
    "negative count": (
        _freq(["01,F,14", "01,M,-3", "02,F,11", "02,M,4"]),
        ["negative counts", "row 2", "region=01, sex=M", "-3"],
    ),
    "non-integer count": (
        _freq(["01,F,14", "01,M,12", "02,F,2.5", "02,M,4"]),
        ["whole numbers", "row 3", "2.5"],
    ),
    "missing count": (
        _freq(["01,F,14", "01,M,12", "02,F,", "02,M,4"]),
        ["count in every row", "row 3", "region=02, sex=F", "empty"],
    ),
    "text count": (
        _freq(["01,F,14", "01,M,many", "02,F,11", "02,M,4"]),
        ["'n'", "numeric", "row 2", "'many'"],
    ),
    "duplicate cell": (
        _freq(["01,F,14", "01,M,12", "02,F,11", "01,M,4"]),
        ["region=01, sex=M", "more than once", "rows 2, 4"],
    ),
    "margins that do not add up": (
        _freq([*frequency_rows(), "Total,F,52", "Total,M,46"], "--total-label", "Total"),
        ["margins do not add up", "region=Total, sex=M", "states 46", "sum to 45"],
    ),
    "totals without --total-label": (
        _freq([*frequency_rows(), "All,F,52"]),
        ["'All'", "--total-label All"],
    ),
    "--freq with --values": (
        _freq(frequency_rows(), "--values", "n", "--aggfunc", "sum"),
        ["--freq", "--values"],
    ),
    "--total-label without --freq": (
        {"data": MICRO, "argv": ["--total-label", "Total"]},
        ["--total-label", "--freq"],
    ),
    "unknown column": (
        {"data": MICRO, "argv": ["--columns", "age"]},
        ["'age'", "region, sex"],
    ),
    "unknown count column": (
        {"data": frequency_rows(), "argv": ["--freq", "count"]},
        ["'count'", "region, sex, n"],
    ),
    "audit rounds out of range": (
        {"data": MICRO, "argv": ["--audit-rounds", "5000"]},
        ["--audit-rounds", "5000"],
    ),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_exits_2_names_the_problem_and_writes_nothing(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str
) -> None:
    spec, fragments = BAD[case]
    if spec["data"] == MICRO:
        data = microdata(tmp_path / "data.csv")
    else:
        data = frequencies(tmp_path / "data.csv", spec["data"])
    for name, content in spec.get("files", {}).items():
        if isinstance(content, bytes):
            (tmp_path / name).write_bytes(content)
        else:
            write(tmp_path / name, content)
    argv = [a.replace("{tmp}", str(tmp_path)) for a in spec["argv"]]
    table = ["--index", "region"] if "--columns" in argv else list(TABLE)
    out = tmp_path / "out"
    code, stdout, err = run(capsys, "protect", str(data), *table, *argv, "--out", str(out))
    assert code == 2, (code, stdout, err)
    assert stdout == "" and "Traceback" not in err
    assert err.startswith("sdc: error: ") and err.count("\n") == 1, err
    for fragment in fragments:
        assert fragment in err, (fragment, err)
    assert not out.exists()
