"""The ``sdc`` command: exit codes, one-line errors, JSON reports and the gate round trip.

Exit codes are the contract with the scripts and pipelines that call ``sdc``:
0 pass, 1 fail, 3 review, 2 invalid input or usage. An invalid input must give
exactly one line on stderr and never a Python traceback.
"""

from __future__ import annotations

import gzip
import json
import random
import subprocess
import sys
import tomllib
from pathlib import Path

import jsonschema
import pandas as pd
import pytest
from needs import missing, module

from sdc.cli import main
from sdc.release.report import report_schema
from sdc.ruleset import RuleSet, preset_names
from sdc.verdict import Status

VALIDATOR = jsonschema.Draft202012Validator(report_schema())


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """Run the CLI in-process; argparse usage errors leave through SystemExit."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict]:
    code, out, err = run(capsys, *argv, "--json")
    # stderr: nothing, or finalise's one-line warning about outputs that do not pass
    assert err == "" or (err.startswith("sdc: warning: finalise wrote") and err.count("\n") == 1)
    report = json.loads(out)
    VALIDATOR.validate(report)
    return code, report


def assert_invalid(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Exit 2, one line on stderr starting with 'sdc: error:', no traceback anywhere."""
    code, out, err = run(capsys, *argv)
    assert code == 2, (code, out, err)
    assert "Traceback" not in out + err
    assert err.startswith("sdc: error: ")
    assert err.endswith("\n") and err.count("\n") == 1, repr(err)
    assert "\r" not in err
    return err


def write_csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def visits(groups: dict[str, int], cost0: float = 100.0) -> list[str]:
    """Rows region,sex,cost,patient: ``n`` rows per region, sexes alternating."""
    rows = []
    i = 0
    for region, n in groups.items():
        for j in range(n):
            rows.append(f"{region},{'FM'[j % 2]},{cost0 + 7.25 * i},P{i:04d}")
            i += 1
    return rows


HEADER = "region,sex,cost,patient"


@pytest.fixture
def pass_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "pass.csv", HEADER, visits({"01": 12, "02": 14, "10": 11}))


@pytest.fixture
def fail_csv(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "fail.csv", HEADER, visits({"01": 12, "02": 3}))


# ---------------------------------------------------------------------------- example, rules


def test_example_prints_tables_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "example")
    assert code == 0
    assert err == ""
    assert "visits_by_region_sex" in out and "mean_cost_by_region_sex" in out
    assert "London" in out  # a row label of the printed tables
    assert "sdc report:" in out


def test_example_strict_exits_with_its_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    _, report = run_json(capsys, "example")
    code, _, _ = run(capsys, "example", "--strict")
    assert code == Status(report["status"]).exit_code
    # The bundled example has a small region, so under the default rules it fails.
    assert report["status"] == "fail" and code == 1
    assert {o["name"] for o in report["outputs"]} == {
        "visits_by_region_sex",
        "mean_cost_by_region_sex",
    }


def test_rules_list_names_every_preset(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "rules", "list")
    assert code == 0 and err == ""
    lines = out.strip().splitlines()
    assert [line.split(":")[0] for line in lines] == preset_names()
    for name, line in zip(preset_names(), lines, strict=True):
        assert line == f"{name}: {RuleSet.load(name).description}"


@pytest.mark.parametrize("preset", ["acro", "default", "opensafely", "datashield"])
def test_rules_show_is_toml_that_loads_back(
    capsys: pytest.CaptureFixture[str], preset: str
) -> None:
    code, out, err = run(capsys, "rules", "show", preset)
    assert code == 0 and err == ""
    parsed = tomllib.loads(out)
    assert "extends" not in parsed  # the effective rule set, resolved
    assert RuleSet.from_toml(out).to_dict() == RuleSet.load(preset).to_dict()


def test_rules_show_a_toml_path(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "mine.toml"
    path.write_text('extends = "acro"\n[threshold]\nt = 4\n', encoding="utf-8")
    code, out, _ = run(capsys, "rules", "show", str(path))
    assert code == 0
    assert RuleSet.from_toml(out).params["threshold"].t == 4
    assert (
        RuleSet.from_toml(out).params["nk-dominance"] == RuleSet.load("acro").params["nk-dominance"]
    )


# ---------------------------------------------------------------------------- crosstab verdicts


def test_crosstab_passing_table_exits_0(capsys: pytest.CaptureFixture[str], pass_csv: Path) -> None:
    code, out, err = run(capsys, "crosstab", str(pass_csv), "--index", "region")
    assert code == 0 and err == ""
    assert "sdc report: PASS" in out


def test_crosstab_failing_table_exits_1(capsys: pytest.CaptureFixture[str], fail_csv: Path) -> None:
    code, out, err = run(capsys, "crosstab", str(fail_csv), "--index", "region")
    assert code == 1 and err == ""
    assert "sdc report: FAIL" in out
    assert "threshold" in out


def test_crosstab_margins_with_suppression_adds_a_secondary_and_passes(
    capsys: pytest.CaptureFixture[str], fail_csv: Path
) -> None:
    argv = ("crosstab", str(fail_csv), "--index", "region", "--margins", "--suppress")
    code, out, _ = run(capsys, *argv)
    assert code == 0
    assert "<NA>" in out  # the printed table is the protected one
    code, report = run_json(capsys, *argv)
    assert code == 0 and report["status"] == "pass"
    (entry,) = report["outputs"]
    assert entry["protected"] is True and entry["margins"] is True
    cells = {c["labels"]["region"]: c for c in entry["cells"]}
    # 02 fails; 01 is suppressed too, or 02 = All - 01.
    assert cells["02"]["suppressed"] is True and cells["02"]["value"] is None
    assert cells["01"]["suppressed"] is True and cells["01"]["value"] is None
    assert cells["All"]["value"] == 15


def test_crosstab_no_suppress_overrides_a_protecting_preset(
    capsys: pytest.CaptureFixture[str], fail_csv: Path
) -> None:
    argv = ("crosstab", str(fail_csv), "--index", "region", "--rules", "opensafely")
    _, protected = run_json(capsys, *argv)
    _, raw = run_json(capsys, *argv, "--no-suppress")
    assert protected["outputs"][0]["protected"] is True
    assert protected["outputs"][0]["rounded_to"] == 5
    assert raw["outputs"][0]["protected"] is False
    assert raw["status"] == "fail"


def test_crosstab_json_is_valid_and_matches_the_exit_code(
    capsys: pytest.CaptureFixture[str], pass_csv: Path, fail_csv: Path
) -> None:
    for path, expected in ((pass_csv, "pass"), (fail_csv, "fail")):
        code, report = run_json(capsys, "crosstab", str(path), "--index", "region")
        assert report["status"] == expected
        assert code == Status(expected).exit_code
    code, report = run_json(
        capsys, "crosstab", str(pass_csv), "--index", "region", "--columns", "sex",
        "--values", "cost", "--aggfunc", "mean", "--contributor", "patient", "--margins",
    )  # fmt: skip
    (entry,) = report["outputs"]
    assert entry["kind"] == "magnitude table" and entry["statistic"] == "mean"
    assert entry["dims"] == ["region", "sex"]
    assert len(entry["cells"]) == 4 * 3  # three regions and two sexes, with totals
    assert code == Status(report["status"]).exit_code


@pytest.mark.parametrize(
    ("groups", "extra", "expected"),
    [
        ({"01": 12, "02": 14}, (), 0),
        ({"01": 12, "02": 3}, (), 1),
        ({"01": 12, "02": 3}, ("--margins", "--suppress"), 0),
        ({"01": 12, "02": 3}, ("--suppress",), 0),
    ],
)
def test_out_folder_then_check_gives_the_same_verdict(
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    groups: dict[str, int],
    extra: tuple[str, ...],
    expected: int,
) -> None:
    data = write_csv(tmp_path / "d.csv", HEADER, visits(groups))
    out = tmp_path / "out"
    code, made = run_json(
        capsys, "crosstab", str(data), "--index", "region", "--out", str(out), *extra
    )
    assert code == expected
    assert (out / "manifest.json").is_file() and (out / "crosstab_region.csv").is_file()
    code2, checked = run_json(capsys, "check", str(out), "--trust-unsigned")
    assert code2 == expected
    assert checked["status"] == made["status"]
    assert [o["status"] for o in checked["outputs"]] == [o["status"] for o in made["outputs"]]
    # The text form of `check` agrees too, and says the request was trusted unsigned.
    code3, text, _ = run(capsys, "check", str(out), "--trust-unsigned")
    assert code3 == expected and f"sdc report: {made['status'].upper()}" in text
    assert "INSIDE THE TRE ONLY" in text.splitlines()[1]
    assert "NOT AUTHENTICATED, TRUSTED BY THE OPERATOR" in text.splitlines()[2]
    # Unsigned and not trusted, it is at best review.
    code4, unsigned = run_json(capsys, "check", str(out))
    assert code4 == (3 if expected == 0 else expected)
    assert unsigned["trust"]["signature"] == "missing"


def test_check_with_stricter_gate_rules(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The gate applies its own rule set, never the one in the manifest, and says so."""
    data = write_csv(tmp_path / "d.csv", HEADER, visits({"01": 12, "02": 5}))
    lax = tmp_path / "lax.toml"
    lax.write_text('extends = "default"\n[threshold]\nt = 5\n', encoding="utf-8")
    out = tmp_path / "out"
    code, _, _ = run(capsys, "crosstab", str(data), "--index", "region", "--rules", str(lax),
                     "--out", str(out))  # fmt: skip
    assert code == 0
    # The gate's default rule set applies (region 02: 5 records), and the report says that
    # the request was made under another.
    code, text, _ = run(capsys, "check", str(out), "--trust-unsigned")
    assert code == 1 and "made under rule set 'lax'" in text
    assert run(capsys, "check", str(out), "--rules", "default", "--trust-unsigned")[0] == 1
    assert run(capsys, "check", str(out), "--rules", str(lax), "--trust-unsigned")[0] == 0


def test_rules_acro_makes_zeros_fail(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    # Region 02 has no men: an empty cell, review by default, disclosive under ACRO.
    rows = visits({"01": 24}) + [f"02,F,{50 + i},Q{i}" for i in range(12)]
    data = write_csv(tmp_path / "z.csv", HEADER, rows)
    argv = ("crosstab", str(data), "--index", "region", "--columns", "sex")
    code, report = run_json(capsys, *argv)
    assert code == 3 and report["rules"]["name"] == "default"
    code, report = run_json(capsys, *argv, "--rules", "acro")
    assert code == 1 and report["rules"]["name"] == "acro"
    (finding,) = report["outputs"][0]["findings"]
    assert finding["rule"] == "zeros" and finding["cell"] == {"region": "02", "sex": "M"}


def test_rules_from_a_toml_path(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, fail_csv: Path
) -> None:
    rules = tmp_path / "three.toml"
    rules.write_text('extends = "default"\n[threshold]\nt = 3\n', encoding="utf-8")
    code, report = run_json(capsys, "crosstab", str(fail_csv), "--index", "region",
                            "--rules", str(rules))  # fmt: skip
    assert code == 0
    assert report["rules"] == {"name": "three", "source": str(rules)}


def test_leading_zeros_are_kept(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = write_csv(tmp_path / "d.csv", HEADER, visits({"01": 12, "002": 12, "10": 12}))
    out = tmp_path / "out"
    argv = ("crosstab", str(data), "--index", "region")
    code, text, _ = run(capsys, *argv, "--out", str(out))
    assert code == 0
    table_lines = [line.split() for line in text.splitlines()]
    assert ["01", "12"] in table_lines and ["002", "12"] in table_lines
    _, report = run_json(capsys, *argv)
    labels = [c["labels"]["region"] for c in report["outputs"][0]["cells"]]
    assert labels == ["002", "01", "10"]  # sorted as text, zeros intact
    released = pd.read_csv(out / "crosstab_region.csv", dtype=str)
    assert sorted(released["region"]) == ["002", "01", "10"]
    assert run(capsys, "check", str(out), "--trust-unsigned")[0] == 0


@pytest.mark.parametrize(
    "extra",
    [
        ("--index", "region"),
        ("--index", "region", "--columns", "sex", "--margins"),
        ("--index", "region", "--values", "cost", "--aggfunc", "mean", "--contributor", "patient"),
    ],  # fmt: skip
)
def test_parquet_gives_the_same_report_as_csv(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, extra: tuple[str, ...]
) -> None:
    module("pyarrow")
    csv = write_csv(tmp_path / "d.csv", HEADER, visits({"01": 12, "02": 3, "03": 20}))
    frame = pd.read_csv(csv, dtype={"region": str, "sex": str, "patient": str})
    parquet = tmp_path / "d.parquet"
    frame.to_parquet(parquet, index=False)
    code_csv, from_csv = run_json(capsys, "crosstab", str(csv), *extra)
    code_pq, from_pq = run_json(capsys, "crosstab", str(parquet), *extra)
    assert code_csv == code_pq == 1
    assert from_pq["outputs"] == from_csv["outputs"]
    labels = {c["labels"]["region"] for c in from_pq["outputs"][0]["cells"]}
    assert {"01", "02", "03"} <= labels


def test_parquet_is_recognised_by_its_bytes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    module("pyarrow")
    frame = pd.DataFrame({"region": ["01"] * 12 + ["02"] * 12})
    path = tmp_path / "extract.dat"
    frame.to_parquet(path, index=False)
    code, report = run_json(capsys, "crosstab", str(path), "--index", "region")
    assert code == 0
    assert [c["labels"]["region"] for c in report["outputs"][0]["cells"]] == ["01", "02"]


def test_tab_separated_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = [r.replace(",", "\t") for r in visits({"01": 12, "02": 3})]
    data = write_csv(tmp_path / "d.tsv", HEADER.replace(",", "\t"), rows)
    code, report = run_json(capsys, "crosstab", str(data), "--index", "region",
                            "--values", "cost", "--aggfunc", "sum")  # fmt: skip
    assert code == 1
    assert report["outputs"][0]["statistic"] == "sum"


# ---------------------------------------------------------------------------- invalid input


def test_missing_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    err = assert_invalid(capsys, "crosstab", str(tmp_path / "nope.csv"), "--index", "region")
    assert "nope.csv" in err


def test_unknown_column_in_index(capsys: pytest.CaptureFixture[str], pass_csv: Path) -> None:
    err = assert_invalid(capsys, "crosstab", str(pass_csv), "--index", "region,age")
    assert "'age'" in err


def test_unknown_value_and_contributor_columns(
    capsys: pytest.CaptureFixture[str], pass_csv: Path
) -> None:
    assert "'price'" in assert_invalid(
        capsys, "crosstab", str(pass_csv), "--index", "region", "--values", "price",
        "--aggfunc", "sum",
    )  # fmt: skip
    assert "'person'" in assert_invalid(
        capsys, "crosstab", str(pass_csv), "--index", "region", "--contributor", "person"
    )


def test_text_in_the_value_column(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = visits({"01": 12, "02": 12})
    rows[5] = "01,F,twelve,P9999"
    data = write_csv(tmp_path / "d.csv", HEADER, rows)
    err = assert_invalid(capsys, "crosstab", str(data), "--index", "region",
                         "--values", "cost", "--aggfunc", "mean")  # fmt: skip
    assert "'cost'" in err and "twelve" in err and "row 6" in err


def test_text_value_column_in_parquet(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    module("pyarrow")
    path = tmp_path / "d.parquet"
    pd.DataFrame({"region": ["01"] * 12, "cost": ["high"] * 12}).to_parquet(path)
    err = assert_invalid(capsys, "crosstab", str(path), "--index", "region",
                         "--values", "cost", "--aggfunc", "mean")  # fmt: skip
    assert "numeric" in err


def test_header_only_csv(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    data = write_csv(tmp_path / "empty.csv", HEADER, [])
    assert "no records" in assert_invalid(capsys, "crosstab", str(data), "--index", "region")


def _garbage(path: Path, kind: str) -> None:
    if kind == "random bytes":
        rnd = random.Random(1234)
        path.write_bytes(bytes(rnd.randrange(256) for _ in range(4096)))
    elif kind == "every byte":
        path.write_bytes(bytes(range(256)) * 16)
    elif kind == "gzip":
        path.write_bytes(gzip.compress(b"region\n" + b"01\n" * 20))
    elif kind == "utf-16":
        path.write_bytes(("region\n" + "01\n" * 20).encode("utf-16"))
    elif kind == "fake parquet":
        path.write_bytes(b"PAR1" + b"\x00" * 64)
    elif kind == "zero bytes":
        path.write_bytes(b"")
    else:  # pragma: no cover
        raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind", ["random bytes", "every byte", "gzip", "utf-16", "fake parquet", "zero bytes"]
)
def test_garbage_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, kind: str) -> None:
    path = tmp_path / "data.csv"
    _garbage(path, kind)
    assert_invalid(capsys, "crosstab", str(path), "--index", "region")


def test_a_folder_as_data(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert_invalid(capsys, "crosstab", str(tmp_path), "--index", "region")


def test_ragged_csv_is_invalid(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = visits({"01": 12, "02": 12})
    rows[3] = rows[3] + ",surplus,fields"
    data = write_csv(tmp_path / "ragged.csv", HEADER, rows)
    assert_invalid(capsys, "crosstab", str(data), "--index", "region")


def test_values_without_aggfunc(capsys: pytest.CaptureFixture[str], pass_csv: Path) -> None:
    err = assert_invalid(capsys, "crosstab", str(pass_csv), "--index", "region",
                         "--values", "cost")  # fmt: skip
    assert "--aggfunc" in err
    assert_invalid(capsys, "crosstab", str(pass_csv), "--index", "region", "--aggfunc", "mean")


def test_unknown_aggfunc(capsys: pytest.CaptureFixture[str], pass_csv: Path) -> None:
    err = assert_invalid(capsys, "crosstab", str(pass_csv), "--index", "region",
                         "--values", "cost", "--aggfunc", "geomean")  # fmt: skip
    assert "geomean" in err


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ('extends = "default"\n[threshold]\nt = -1\n', "t"),
        ('extends = "default"\n[threshold]\nlimit = 5\n', "limit"),
        ('extends = "default"\n[statistics]\ncount = ["treshold"]\n', "treshold"),
        ("this is [not toml\n", "not valid TOML"),
    ],
)
def test_invalid_rule_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pass_csv: Path, text: str, named: str
) -> None:
    rules = tmp_path / "bad.toml"
    rules.write_text(text, encoding="utf-8")
    err = assert_invalid(capsys, "crosstab", str(pass_csv), "--index", "region",
                         "--rules", str(rules))  # fmt: skip
    assert named in err
    assert named in assert_invalid(capsys, "rules", "show", str(rules))


def test_unknown_preset(capsys: pytest.CaptureFixture[str], pass_csv: Path) -> None:
    err = assert_invalid(capsys, "crosstab", str(pass_csv), "--index", "region",
                         "--rules", "acr0")  # fmt: skip
    assert "acr0" in err and "acro" in err  # names the presets there are
    assert_invalid(capsys, "rules", "show", "acr0")
    assert_invalid(capsys, "example", "--rules", "acr0")


@pytest.mark.parametrize(
    "argv",
    [
        (),
        ("frobnicate",),
        ("crosstab",),
        ("crosstab", "d.csv"),
        ("crosstab", "d.csv", "--index", "region", "--bogus"),
        ("rules",),
        ("rules", "delete"),
        ("rules", "show"),
        ("check",),
        ("example", "--verbose"),
        ("--version-please",),
    ],
)
def test_usage_errors(capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]) -> None:
    assert_invalid(capsys, *argv)


def test_index_must_name_a_column(capsys: pytest.CaptureFixture[str], pass_csv: Path) -> None:
    assert_invalid(capsys, "crosstab", str(pass_csv), "--index", ",")
    assert_invalid(capsys, "crosstab", str(pass_csv), "--index", "region,region")
    assert_invalid(capsys, "crosstab", str(pass_csv), "--index", "region", "--name", "a/b")


def test_contributor_with_missing_ids(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    rows = visits({"01": 12, "02": 12})
    rows[7] = rows[7].rsplit(",", 1)[0] + ","
    data = write_csv(tmp_path / "d.csv", HEADER, rows)
    err = assert_invalid(capsys, "crosstab", str(data), "--index", "region",
                         "--contributor", "patient")  # fmt: skip
    assert "patient" in err and "missing" in err


def test_out_into_a_folder_with_files(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, pass_csv: Path
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine", encoding="utf-8")
    assert "overwrite" in assert_invalid(
        capsys, "crosstab", str(pass_csv), "--index", "region", "--out", str(out)
    )
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]


def test_out_naming_a_file(capsys: pytest.CaptureFixture[str], tmp_path: Path, pass_csv: Path):
    target = tmp_path / "report.pdf"
    target.write_text("not a folder", encoding="utf-8")
    assert_invalid(capsys, "crosstab", str(pass_csv), "--index", "region", "--out", str(target))


def test_check_needs_a_finalised_folder(capsys: pytest.CaptureFixture[str], tmp_path: Path):
    assert_invalid(capsys, "check", str(tmp_path / "missing"))
    assert "manifest.json" in assert_invalid(capsys, "check", str(tmp_path))
    (tmp_path / "manifest.json").write_text("{not json", encoding="utf-8")
    assert_invalid(capsys, "check", str(tmp_path))
    (tmp_path / "manifest.json").write_text("[]", encoding="utf-8")
    assert_invalid(capsys, "check", str(tmp_path))


# ---------------------------------------------------------------------------- console script


def test_installed_console_script(tmp_path: Path) -> None:
    """The real entry point: exit codes survive the wrapper, stderr has no traceback."""
    script = Path(sys.executable).with_name("sdc")
    if not script.exists():  # pragma: no cover - a layout without a bin/ next to python
        missing("the sdc console script is not installed next to this interpreter")
    data = write_csv(tmp_path / "d.csv", HEADER, visits({"01": 12, "02": 3}))
    done = subprocess.run(
        [str(script), "crosstab", str(data), "--index", "region", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    VALIDATOR.validate(json.loads(done.stdout))
    bad = subprocess.run(
        [str(script), "crosstab", str(data), "--index", "region", "--no-such-option"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert bad.returncode == 2
    assert bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr
