"""Tables from files, Dask and Spark equal the pandas table on the same rows.

The same rows, cut into any partitions in any order (contributors split across
partitions on purpose), give the same evidence, findings, verdict and JSON report
from the pandas path, from Parquet files streamed batch by batch, and from a Dask
DataFrame. Bad input (mismatched files, a missing column, nulls, empty partitions,
a failing partition) is an error or the same verdict, never a partial table passed.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from needs import module
from sources_helpers import assert_same_report, report, table_options, write_parts
from strategies import Microdata, make_case, microdata

import sdc
from sdc import SdcInputError
from sdc.tables.sources.files import stream_evidence
from sdc.tables.sources.spec import TableSpec

SPLIT_CONTRIBUTOR = make_case(
    {
        "region": ["N", "N", "S", "N", "S", "N", "S", "N"] * 3,
        "value": [10.0, 1.0, 3.0, 2.0, 5.0, 1.0, 1.0, 40.0] * 3,
        "person": [1, 2, 1, 3, 2, 1, 4, 1] * 3,
    },
    dims=["region"],
    value="value",
    contributor="person",
)


def _shuffled_parts(case: Microdata, order: list[int], cuts: list[int]) -> list[pd.DataFrame]:
    frame = case.frame.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    bounds = sorted({min(c, len(frame)) for c in cuts} | {0, len(frame)})
    return [frame.iloc[a:b] for a, b in itertools.pairwise(bounds)]


def _orders(case: Microdata) -> st.SearchStrategy[list[int]]:
    n = len(case.frame)
    return st.lists(st.integers(0, 10**6), min_size=n, max_size=n)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=microdata(), data=st.data())
def test_streamed_files_give_the_pandas_report(
    case: Microdata, data: st.DataObject, tmp_path_factory: pytest.TempPathFactory
) -> None:
    module("pyarrow")
    order = data.draw(_orders(case))
    cuts = data.draw(st.lists(st.integers(0, len(case.frame)), max_size=4))
    batch_rows = data.draw(st.integers(1, 50))
    parts = _shuffled_parts(case, order, cuts)
    folder = tmp_path_factory.mktemp("parts")
    paths = write_parts(case.frame, parts, folder)
    # The pandas path on the same data: the files read back (Parquet keeps text categoricals,
    # not integer ones) and put together.
    whole = pd.concat([pd.read_parquet(p) for p in paths], ignore_index=True)
    want = report(whole, case)
    import sdc.tables.sources.files as files

    old = files.BATCH_ROWS
    files.BATCH_ROWS = batch_rows
    try:
        got = report(paths, case)
    finally:
        files.BATCH_ROWS = old
    assert_same_report(got, want, case.exact)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=microdata(), data=st.data())
def test_dask_partitions_give_the_pandas_report(case: Microdata, data: st.DataObject) -> None:
    dd = module("dask.dataframe")
    import dask

    order = data.draw(_orders(case))
    n_parts = data.draw(st.integers(1, 5))
    frame = case.frame.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    want = report(case.frame, case)
    with dask.config.set(scheduler="sync"):
        got = report(dd.from_pandas(frame, npartitions=n_parts, sort=False), case)
    assert_same_report(got, want, case.exact)


def test_a_column_with_no_value_at_all_is_one_missing_level(tmp_path: Path) -> None:
    """Parquet stores an all-missing column as Arrow's null type: it has no level but the
    missing one, as on the pandas path (found by Hypothesis)."""
    module("pyarrow")
    pd.DataFrame({"d0": [None]}).to_parquet(tmp_path / "a.parquet")
    s = sdc.Session()
    streamed = s.pivot_table([tmp_path / "a.parquet"], index="d0", aggfunc="count", name="s")
    read = s.pivot_table(pd.read_parquet(tmp_path / "a.parquet"), index="d0", aggfunc="count",
                         name="p")  # fmt: skip
    assert streamed.table.index.tolist() == read.table.index.tolist() == ["<missing>"]


def test_a_contributor_split_across_files_counts_once(tmp_path: Path) -> None:
    """Person 1 has rows in every file: N counts it once, its total is one contribution."""
    module("pyarrow")
    case = SPLIT_CONTRIBUTOR
    parts = [case.frame.iloc[i::3] for i in range(3)]
    paths = write_parts(case.frame, parts, tmp_path)
    want = report(case.frame, case)
    got = report(paths, case)
    assert got == want
    cells = {c["labels"]["region"]: c for c in got["outputs"][0]["cells"]}
    frame = case.frame
    assert cells["N"]["n"] == frame[frame.region == "N"].person.nunique()
    spec = TableSpec(("region",), 1, "value", "person", "mean", True, 3)
    ev, _ = stream_evidence(paths, spec, "test", batch_rows=2)
    totals = frame.groupby(["region", "person"]).value.sum()
    assert ev is not None
    north = ev.model.cell_index((list(ev.model.levels[0]).index("N"),))
    assert ev.top[north].tolist() == sorted(totals["N"], reverse=True)[:3]
    assert ev.contributors[north] == frame[frame.region == "N"].person.nunique()


def test_dask_series_in_crosstab() -> None:
    dd = module("dask.dataframe")
    import dask

    case = SPLIT_CONTRIBUTOR
    ddf = dd.from_pandas(case.frame, npartitions=3, sort=False)
    with dask.config.set(scheduler="sync"):
        got = sdc.Session().crosstab(ddf.region, values=ddf.value, aggfunc="sum",
                                     contributor=ddf.person, name="t")  # fmt: skip
    want = sdc.Session().crosstab(case.frame.region, values=case.frame.value, aggfunc="sum",
                                  contributor=case.frame.person, name="t")  # fmt: skip
    assert got.to_report() == want.to_report()


# --- bad input ----------------------------------------------------------------------------


def _pq(path: Path, frame: pd.DataFrame) -> Path:
    frame.to_parquet(path, index=False)
    return path


def test_files_with_mismatched_types_are_refused(tmp_path: Path) -> None:
    module("pyarrow")
    a = _pq(tmp_path / "a.parquet", pd.DataFrame({"g": ["x"] * 12, "v": [1.0] * 12}))
    b = _pq(tmp_path / "b.parquet", pd.DataFrame({"g": [1] * 12, "v": [1.0] * 12}))
    with pytest.raises(SdcInputError, match="disagree on column 'g'"):
        sdc.Session().pivot_table([a, b], index="g", aggfunc="count")


def test_a_column_missing_from_one_file_is_refused(tmp_path: Path) -> None:
    module("pyarrow")
    a = _pq(tmp_path / "a.parquet", pd.DataFrame({"g": ["x"] * 12, "h": ["y"] * 12}))
    b = _pq(tmp_path / "b.parquet", pd.DataFrame({"g": ["x"] * 12}))
    with pytest.raises(SdcInputError, match=r"'b\.parquet' has no column 'h'"):
        sdc.Session().pivot_table([a, b], index="g", columns="h", aggfunc="count")


def test_a_category_absent_from_a_file_and_an_empty_file(tmp_path: Path) -> None:
    """Levels are united across files; an empty file adds nothing."""
    module("pyarrow")
    frame = pd.DataFrame({"g": ["x"] * 12 + ["y"] * 3, "h": ["p", "q", None] * 5})
    paths = write_parts(frame, [frame.iloc[:12], frame.iloc[:0], frame.iloc[12:]], tmp_path)
    case = make_case(frame.astype(object).where(frame.notna(), None).to_dict("list"), ["g", "h"])
    got, want = report(paths, case), report(frame, case)
    assert got == want and got["status"] == "fail"
    labels = {c["labels"]["h"] for c in got["outputs"][0]["cells"]}
    assert "<missing>" in labels


def test_missing_contributor_in_a_later_file_is_an_error(tmp_path: Path) -> None:
    module("pyarrow")
    a = _pq(tmp_path / "a.parquet", pd.DataFrame({"g": ["x"] * 12, "p": ["1"] * 12}))
    b = _pq(tmp_path / "b.parquet", pd.DataFrame({"g": ["x"] * 2, "p": ["1", None]}))
    with pytest.raises(SdcInputError, match="missing id"):
        sdc.Session().pivot_table([a, b], index="g", aggfunc="count", contributor="p")


def test_median_from_files_is_refused(tmp_path: Path) -> None:
    module("pyarrow")
    a = _pq(tmp_path / "a.parquet", pd.DataFrame({"g": ["x"] * 12, "v": [1.0] * 12}))
    with pytest.raises(SdcInputError, match="aggfunc"):
        sdc.Session().pivot_table(a, index="g", values="v", aggfunc="median")


def test_a_failing_dask_partition_fails_the_call_and_adds_no_table() -> None:
    """A partition that cannot be read mid-way raises: no partial table is kept or passed."""
    dd = module("dask.dataframe")
    import dask

    frame = pd.DataFrame({"g": ["x"] * 30, "v": np.arange(30.0)})
    ddf = dd.from_pandas(frame, npartitions=3, sort=False)

    def broken(part: pd.DataFrame) -> pd.DataFrame:
        if part["v"].iloc[0] >= 10:
            raise OSError("worker lost its disk")
        return part

    ddf = ddf.map_partitions(broken, meta=ddf._meta)
    s = sdc.Session()
    with dask.config.set(scheduler="sync"), pytest.raises(OSError, match="lost its disk"):
        s.pivot_table(ddf, index="g", values="v", aggfunc="sum")
    assert s.outputs == {}


def test_dask_text_values_are_refused() -> None:
    dd = module("dask.dataframe")
    import dask

    frame = pd.DataFrame({"g": ["x"] * 12, "v": ["high"] * 12})
    with dask.config.set(scheduler="sync"), pytest.raises(SdcInputError, match="numeric"):
        sdc.Session().pivot_table(dd.from_pandas(frame, npartitions=2), index="g", values="v",
                                  aggfunc="sum")  # fmt: skip


def test_options_of_the_helpers_name_every_column() -> None:
    opts = table_options(SPLIT_CONTRIBUTOR)
    assert opts["index"] == ["region"] and opts["contributor"] == "person"
