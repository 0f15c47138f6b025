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
from sdc.tables.histogram import bin_counts, nice_edges, rebin

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


def test_bins_count_what_pandas_cut_counts_and_small_bins_fail() -> None:
    s = sdc.Session()
    h = s.hist(AGES, "age", bins=12)
    edges = nice_edges(AGES.age.to_numpy(), 12)
    want = pd.cut(AGES.age, edges, right=False).value_counts(sort=False).to_numpy()
    np.testing.assert_array_equal(_counts(h).to_numpy(), want)
    assert h.statistic == "histogram" and h.status is sdc.Status.FAIL
    f = h.findings
    assert set(f.rule) == {"threshold"}
    assert list(f.age) == ["[0, 10)", "[10, 20)", "[80, 90)", "[90, 100)", "[100, 110)"]
    assert 101.5 not in set(np.ravel([edges]))  # the maximum is not an edge


def test_empty_bins_are_allowed_and_rebinning_makes_every_bin_safe() -> None:
    df = pd.DataFrame({"x": [0.5] * 12 + [2.5] * 15})  # bin [1, 2) is empty
    h = sdc.Session().hist(df, "x", bins=[0, 1, 2, 3])
    assert h.status is sdc.Status.PASS and list(_counts(h)) == [12, 0, 15]
    r = sdc.Session().hist(AGES, "age", bins=12, rebin=True)
    assert r.status is sdc.Status.PASS
    assert list(r.table.index) == ["[0, 30)", "[30, 40)", "[40, 50)", "[50, 60)", "[60, 70)",
                                   "[70, 110)"]  # fmt: skip
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


def test_values_outside_given_edges_and_missing_values_keep_their_own_bins() -> None:
    df = pd.DataFrame({"x": [-5.0] * 11 + [0.5] * 12 + [7.0] * 10 + [np.nan] * 2})
    h = sdc.Session().hist(df, "x", bins=[0, 1, 2])
    assert list(h.table.index) == ["< 0", "[0, 1)", "[1, 2)", ">= 2", "<missing>"]
    assert list(_counts(h)) == [11, 12, 0, 10, 2]
    assert h.status is sdc.Status.FAIL  # the two missing values
    assert bin_counts(df.x.to_numpy(), np.array([0.0, 1.0, 2.0])).tolist() == [12, 0]


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
