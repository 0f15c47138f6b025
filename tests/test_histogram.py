"""Histograms: round edges, bin counts against pandas, threshold per bin, re-binning, the gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import sdc
from sdc.exceptions import SdcInputError
from sdc.release.gate import check_folder
from sdc.tables.histogram import bin_counts, inner_cuts, labels_of, nice_edges, rebin

AGES = pd.DataFrame(
    {"age": np.r_[np.random.default_rng(0).normal(50, 12, 500), [99.0, 101.5, 3.0]]}
)


def _counts(h: sdc.TableOutput) -> pd.Series:
    return h.table.iloc[:, 0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=200),
    st.integers(1, 60),
)
@example([2.0, -5e-324], 1)  # lo / width rounds to zero
@example([0.0, 5e-324], 2)  # a span too small for a round width
def test_round_edges_cover_the_data(values: list[float], bins: int) -> None:
    v = np.array(values)
    edges = nice_edges(v, bins)
    assert edges[0] <= v.min() and v.max() < edges[-1]  # every value in a [a, b) bin
    width = np.diff(edges)
    np.testing.assert_allclose(width, width[0], rtol=1e-9)
    mantissa = width[0] / 10 ** np.floor(np.log10(width[0]))
    assert any(np.isclose(mantissa, m) for m in (1, 2, 2.5, 5, 10))
    assert np.isclose(edges[0] / width[0], np.round(edges[0] / width[0]))  # a multiple
    assert len(edges) - 1 <= 2 * bins + 1


def _open_cut(x: pd.Series, cuts: np.ndarray) -> pd.Series:
    """pandas' own count of the bins: ``pd.cut`` with the open ends as infinite edges."""
    edges = np.r_[-np.inf, cuts, np.inf]
    return pd.cut(x, edges, right=False).value_counts(sort=False)


def test_bins_count_what_pandas_cut_counts_and_small_bins_fail() -> None:
    s = sdc.Session()
    h = s.hist(AGES, "age", bins=12)
    cuts = nice_edges(AGES.age.to_numpy(), 12)[1:-1]
    np.testing.assert_array_equal(_counts(h).to_numpy(), _open_cut(AGES.age, cuts).to_numpy())
    assert h.statistic == "histogram" and h.status is sdc.Status.FAIL
    f = h.findings
    assert set(f.rule) == {"threshold"}
    assert list(f.age) == ["< 10", "[10, 20)", "[80, 90)", "[90, 100)", ">= 100"]
    assert h.definition["dims"][0]["bins"] == cuts.tolist()


def test_whole_numbers_never_publish_their_maximum() -> None:
    """A closed last bin ``[16, 17)`` of whole days would name the longest stay."""
    stay = pd.DataFrame({"los": np.r_[np.repeat(np.arange(15), 30), [15, 16]]})
    h = sdc.Session().hist(stay, "los", bins=20)
    assert list(h.table.index)[-2:] == ["[14, 15)", ">= 15"]
    assert h.table.index[0] == "< 1"
    assert list(_counts(h))[-1] == 2  # 15 and 16 together: the top bin says "15 or more"
    assert "16" not in " ".join(h.table.index)


@settings(max_examples=80, deadline=None)
@given(
    st.one_of(
        st.lists(st.integers(-50, 50).map(float), min_size=1, max_size=120),
        st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=1, max_size=120),
    ),
    st.one_of(
        st.integers(1, 40),
        st.lists(st.integers(-60, 60), min_size=2, max_size=12, unique=True).map(sorted),
    ),
    st.booleans(),
)
@example([0.0, 16.0] + [5.0] * 20, 20, False)
@example([3.0, 3.0, 3.0], [1, 3, 5], True)
def test_no_published_edge_pins_the_minimum_or_the_maximum(
    values: list[float], bins: int | list[int], rebin_: bool
) -> None:
    df = pd.DataFrame({"x": values})
    h = sdc.Session().hist(df, "x", bins=bins, rebin=rebin_)
    cuts = np.asarray(h.definition["dims"][0]["bins"])
    lo, hi = min(values), max(values)
    assert ((cuts > lo) & (cuts < hi)).all()  # every finite edge strictly inside
    labels = list(h.table.index)
    assert labels == labels_of(cuts)
    if cuts.size:  # the end bins are open and hold the extremes
        assert labels[0].startswith("< ") and labels[-1].startswith(">= ")
        assert _counts(h).iloc[0] > 0 and _counts(h).iloc[-1] > 0
    np.testing.assert_array_equal(_counts(h).to_numpy(), _open_cut(df.x, cuts).to_numpy())


def test_empty_bins_are_allowed_and_rebinning_makes_every_bin_safe() -> None:
    df = pd.DataFrame({"x": [0.5] * 12 + [2.5] * 15 + [3.5] * 10})  # bin [1, 2) is empty
    h = sdc.Session().hist(df, "x", bins=[0, 1, 2, 3])
    assert h.status is sdc.Status.PASS and list(_counts(h)) == [12, 0, 15, 10]
    assert list(h.table.index) == ["< 1", "[1, 2)", "[2, 3)", ">= 3"]  # 0 is below the data
    r = sdc.Session().hist(AGES, "age", bins=12, rebin=True)
    assert r.status is sdc.Status.PASS
    assert list(r.table.index) == ["< 30", "[30, 40)", "[40, 50)", "[50, 60)", "[60, 70)",
                                   ">= 70"]  # fmt: skip
    assert _counts(r).sum() == len(AGES)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=1, max_size=40), st.integers(1, 15))
def test_rebinned_bins_hold_t_or_nothing_and_keep_every_record(counts: list[int], t: int) -> None:
    c = np.array(counts)
    edges = np.arange(c.size + 1)
    new = rebin(edges, c, t)
    merged = np.add.reduceat(c, new[:-1]) if new.size > 1 else np.array([])
    assert merged.sum() == c.sum() and new[0] == 0 and new[-1] == c.size
    if c.sum() >= t:
        assert ((merged == 0) | (merged >= t)).all()


def test_edges_beyond_the_data_are_left_out_and_missing_values_keep_their_own_bin() -> None:
    df = pd.DataFrame({"x": [-5.0] * 11 + [0.5] * 12 + [7.0] * 10 + [np.nan] * 2})
    h = sdc.Session().hist(df, "x", bins=[-9, 0, 1, 2, 7, 8])
    assert list(h.table.index) == ["< 0", "[0, 1)", "[1, 2)", ">= 2", "<missing>"]
    assert list(_counts(h)) == [11, 12, 0, 10, 2]
    assert h.status is sdc.Status.FAIL  # the two missing values
    cuts = np.array([0.0, 1.0, 2.0])
    assert bin_counts(df.x.to_numpy(), cuts).tolist() == [11, 12, 0, 10]
    assert inner_cuts(df.x.to_numpy(), np.array([-9.0, 0, 1, 2, 7, 8])).tolist() == [0, 1, 2]


def test_one_value_gives_one_bin() -> None:
    h = sdc.Session().hist(pd.DataFrame({"x": [4.0] * 12}), "x", bins=5)
    assert list(h.table.index) == ["all values"] and list(_counts(h)) == [12]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bins": 0}, "bins"),
        ({"bins": [1, 1, 2]}, "increasing"),
        ({"bins": [0]}, "at least two"),
        ({"bins": "ten"}, "bins"),
        ({"rebin": "yes"}, "rebin"),
    ],
)
def test_bad_bins_are_clear_errors(kwargs: dict, match: str) -> None:
    with pytest.raises(SdcInputError, match=match):
        sdc.Session().hist(AGES, "age", **kwargs)


def test_bad_columns_are_clear_errors() -> None:
    with pytest.raises(SdcInputError, match="column"):
        sdc.Session().hist(AGES, "weight")
    with pytest.raises(SdcInputError, match="numeric"):
        sdc.Session().hist(pd.DataFrame({"g": list("abc")}), "g")


def test_the_gate_gives_a_histogram_the_same_verdict(tmp_path) -> None:
    s = sdc.Session()
    s.hist(AGES, "age", bins=12, rebin=True, name="ages")
    s.hist(AGES, "age", bins=12, name="ages_raw")
    report = check_folder(s.finalise(tmp_path / "out"), trust_unsigned=True)
    got = {o["name"]: o["status"] for o in report["outputs"]}
    assert got == {"ages": "pass", "ages_raw": "fail"}


def test_a_failing_histogram_offers_re_binning() -> None:
    rng = np.random.default_rng(1)
    ages = pd.DataFrame({"age": np.r_[rng.normal(50, 12, 500), [99.0, 101.5, 3.0]]})
    s = sdc.Session()
    h = s.hist(ages, "age", bins=12)
    (advice,) = h.advice
    rebinned = s.hist(ages, "age", bins=12, rebin=True)
    assert rebinned.status is sdc.Status.PASS and rebinned.advice == ()
    assert advice.endswith(", ".join(rebinned.table.index))  # the bins rebin=True gives
    assert "advice: re-binning offered" in h.summary()
    assert s.hist(ages, "age", bins=[0, 50, 120]).advice == ()  # nothing to merge
