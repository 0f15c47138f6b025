"""What the table rules measure and report, from their definitions, on hand-worked cells.

``test_rule_boundaries.py`` checks which cells fail; this module checks the numbers a
verdict explains itself with (the measured value, the limit, the sentence) and the cells
at the edges of each formula: totals and largest contributions between 0 and 1, empty
and all-zero cells, a negative second contribution, rounding noise in the remainder, a
third contribution that must not be taken for the second. Expected values are worked out
here by hand from the SDC Handbook's formulas (nk: (x1 + ... + xn) / X; p%: (X - x1 - x2)
/ x1), never read from the code under test.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace

import numpy as np
import pytest
from sdc.rules import RuleResult
from sdc.rules.dominance import (
    NKParams,
    PPercentParams,
    PQParams,
    nk_dominance,
    p_percent,
    p_percent_protection,
    pq,
    pq_protection,
)
from sdc.rules.frequency import (
    QuantileParams,
    ThresholdParams,
    ZerosParams,
    quantile,
    threshold,
    zeros,
)
from sdc.rules.quality import MissingParams, NegativeParams, missing, negative
from sdc.rules.statistic import StatisticParams, quantile_of, statistic, statistic_class


def magnitude(sum_: list[float], top: list[list[float]], negatives: list[int] | None = None,
              abs_sum: list[float] | None = None) -> SimpleNamespace:  # fmt: skip
    n = len(sum_)
    return SimpleNamespace(
        sum=np.asarray(sum_, dtype=np.float64),
        abs_sum=np.asarray(abs_sum if abs_sum is not None else np.abs(sum_), dtype=np.float64),
        top=np.asarray(top, dtype=np.float64),
        negatives=np.asarray(negatives if negatives is not None else [0] * n, dtype=np.int64),
    )


def test_nk_share_and_limit_at_small_and_empty_totals() -> None:
    ev = magnitude(
        sum_=[0.5, 0.0, -0.5, 100.0, 100.0, 0.0],
        top=[
            [0.45, 0.0, 0.0],
            [0.0, 0.0, 0.0],
            [0.2, 0.0, 0.0],
            [90.0, 5.0, 4.0],
            [50.0, 30.0, 10.0],
            [5.0, 0.0, 0.0],  # 5 and -5
        ],  # fmt: skip
        negatives=[0, 0, 1, 0, 0, 1],
    )
    r = nk_dominance(ev, NKParams(n=2, k=0.85))
    # share = (x1 + x2) / X where X > 0, else 0 (nothing to dominate)
    np.testing.assert_allclose(r.measured, [0.9, 0.0, 0.0, 0.95, 0.8, 0.0])
    assert r.fail.tolist() == [True, False, False, True, False, False]
    assert r.review.tolist() == [False, False, True, False, False, True]  # a negative value
    np.testing.assert_array_equal(r.limit, [0.85] * 6)
    assert r.message(0) == (
        "the share of the 2 largest contributor(s) in the total of the cell is 0.9; unsafe "
        "when it is > 0.85 ((2, 0.85) dominance)"
    )
    inclusive = nk_dominance(ev, NKParams(n=2, k=0.8, inclusive=True))
    assert inclusive.fail.tolist() == [True, False, False, True, True, False]
    assert "unsafe when it is >= 0.8" in inclusive.message(4)


@pytest.mark.parametrize(
    ("rule", "params"),
    [(p_percent, PPercentParams(p=0.1)), (pq, PQParams(p=0.2, q=2.0))],
)
def test_p_rule_measure_at_the_edges(rule: Callable[..., RuleResult], params: object) -> None:
    ev = magnitude(
        sum_=[100.0, 0.72, 0.0, 2.0, 100.0, 1000.0 + 1e-10, 100.0],
        top=[
            [100.0, 0.0, 0.0],  # one contributor: remainder 0
            [0.5, 0.2, 0.0],  # x1 below 1: remainder 0.02, measure 0.04
            [0.0, 0.0, 0.0],  # all zero: nothing to protect
            [5.0, -3.0, 0.0],  # a negative second value counts as 0
            [50.0, 30.0, 10.0],  # the second largest is 30, not the third
            [900.0, 100.0, 0.0],  # remainder of 1e-10 is rounding noise
            [60.0, 0.0, 0.0],
        ],  # fmt: skip
        negatives=[0, 0, 0, 1, 0, 0, 0],
        abs_sum=[100.0, 0.72, 0.0, 8.0, 100.0, 1000.0 + 1e-10, 100.0],
    )
    r = rule(ev, params)
    ratio = 0.1  # p/q in both
    want = [0.0, 0.02 / 0.5, np.nan, (2.0 - 5.0 - 0.0) / 5.0, 20 / 50, 0.0, 40 / 60]
    np.testing.assert_allclose(r.measured, want, rtol=1e-9, atol=1e-12)
    assert r.measured[5] == 0.0  # noise is set to exactly 0
    assert r.fail.tolist() == [True, True, False, False, False, True, False]
    assert r.review.tolist() == [False, False, False, True, False, False, False]
    np.testing.assert_allclose(r.limit, [ratio] * 7)
    assert "to within 0 of its value; it must be at least 0.1" in r.message(0)


def test_p_rule_with_a_single_column_of_largest_contributions() -> None:
    """Evidence keeping one largest contribution per cell: x2 is 0."""
    ev = magnitude(sum_=[100.0, 104.0], top=[[100.0], [100.0]])
    r = p_percent(ev, PPercentParams(p=0.1))
    np.testing.assert_allclose(r.measured, [0.0, 0.04])
    assert r.fail.tolist() == [True, True]
    assert nk_dominance(ev, NKParams(n=2, k=0.9)).fail.tolist() == [True, True]


def test_protection_levels_with_a_single_column_of_largest_contributions() -> None:
    """The Handbook's levels with x2 = 0 when the evidence keeps only x1."""
    top, total = np.array([[90.0], [60.0]]), np.array([100.0, 100.0])
    got = p_percent_protection(top, total, PPercentParams(p=0.1))
    np.testing.assert_allclose(got, [0.1 * 90 - 10, 0.1 * 60 - 40])
    got = pq_protection(top, total, PQParams(p=0.2, q=0.5))
    np.testing.assert_allclose(got, [0.4 * 90 - 10, 0.4 * 60 - 40])


def test_threshold_measures_contributors_from_one() -> None:
    ev = SimpleNamespace(contributors=np.array([0, 1, 9, 10]), has_contributor=True)
    r = threshold(ev, ThresholdParams(t=10))
    assert r.fail.tolist() == [False, True, True, False]
    np.testing.assert_array_equal(r.measured, [0, 1, 9, 10])
    np.testing.assert_array_equal(r.limit, [10] * 4)
    assert r.message(1) == (
        "1 contributor(s) in the cell; at least 10 are required (threshold rule: unsafe "
        "when 0 < N < 10)"
    )
    ev.has_contributor = False
    assert r.message(1) != threshold(ev, ThresholdParams(t=10)).message(1)
    assert threshold(ev, ThresholdParams(t=10)).message(1).startswith("1 record(s) in")


def test_zeros_and_quality_rules_have_limit_zero() -> None:
    ev = SimpleNamespace(records=np.array([0, 3]), negatives=np.array([0, 2]),
                         missing=np.array([1, 0]))  # fmt: skip
    for r in (zeros(ev, ZerosParams()), negative(ev, NegativeParams()),
              missing(ev, MissingParams())):  # fmt: skip
        np.testing.assert_array_equal(r.limit, [0, 0])
    assert negative(ev, NegativeParams()).review.tolist() == [False, True]
    assert missing(ev, MissingParams(outcome="fail")).fail.tolist() == [True, False]


def quantile_cells(nonmissing: list[int], below: list[int], above: list[int],
                   near: list[int], exact: list[bool], figures: int = 3,
                   neighbourhood: float = 0.05) -> SimpleNamespace:  # fmt: skip
    q = SimpleNamespace(
        below=np.array(below), above=np.array(above), near=np.array(near),
        exact=np.array(exact), neighbourhood=neighbourhood, significant_figures=figures,
    )  # fmt: skip
    return SimpleNamespace(nonmissing=np.array(nonmissing), statistic="median", quantile=q,
                           has_contributor=True)  # fmt: skip


def test_quantile_from_one_value() -> None:
    """One value is already too few on each side; no value, nothing published."""
    ev = quantile_cells([0, 1, 40], [0, 0, 20], [0, 0, 20], [0, 1, 3], [False, True, False])
    r = quantile(ev, QuantileParams(t=10))
    assert r.fail.tolist() == [False, True, False]
    np.testing.assert_array_equal(r.measured, [0, 0, 3])  # the smaller side, or the near
    np.testing.assert_array_equal(r.limit, [10] * 3)
    # Off the grid (0 significant figures) a value must have company, but a cell without
    # values publishes none: still nothing to fail.
    ev = quantile_cells([0, 40], [0, 20], [0, 20], [0, 3], [False, False], figures=0)
    r = quantile(ev, QuantileParams(t=10, significant_figures=0))
    assert r.fail.tolist() == [False, True]


@pytest.mark.parametrize(
    ("figures", "pinned"),
    [(0, True), (1, False), (3, False)],
)
def test_quantile_off_any_record_needs_company_only_without_a_grid(
    figures: int, pinned: bool
) -> None:
    """A value no record has fails for want of neighbours only when it is not rounded."""
    ev = quantile_cells([40], [20], [20], [5], [False], figures=figures)
    r = quantile(ev, QuantileParams(t=10, significant_figures=figures))
    assert r.fail.tolist() == [pinned]


def test_quantile_sentence_and_settings() -> None:
    ev = quantile_cells([40], [20], [20], [5], [True], neighbourhood=0.05)
    r = quantile(ev, QuantileParams(t=10))
    assert "5 within 5% of it" in r.message(0)
    with pytest.raises(ValueError, match=r"neighbourhood 0\.05 and 3 significant figures"):
        quantile(ev, QuantileParams(t=10, significant_figures=2))


@pytest.mark.parametrize(
    ("name", "q"),
    [
        ("median", 0.5),
        ("p1", 0.01),
        ("p25", 0.25),
        ("p50", 0.5),
        ("p90", 0.9),
        ("p99", 0.99),
        ("mean", None),
        ("p0", None),
        ("p100", None),
        ("p05", None),
    ],  # fmt: skip
)
def test_quantile_of(name: str, q: float | None) -> None:
    assert quantile_of(name) == q
    assert statistic_class(name) == ("quantile" if name.startswith("p") and q else name)


def test_statistic_limit() -> None:
    ev = SimpleNamespace(records=np.array([0, 4]), statistic="max")
    refused = statistic(ev, StatisticParams())
    assert np.isnan(refused.limit).all() and refused.fail.tolist() == [False, True]
    ev.statistic = "mean"
    allowed = statistic(ev, StatisticParams())
    np.testing.assert_array_equal(allowed.limit, [0, 0])
    assert not allowed.fail.any()
