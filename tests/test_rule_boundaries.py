"""Every rule at, just below and just above its limit, from the rule's definition.

Each case gives one rule the evidence of three (or more) cells or models and says, from
the definition in the rule reference ("unsafe when ..."), which must fail and which must
go to review. The shared contract then holds for every registered rule: the masks are
disjoint and of the evidence's length, and every flagged entry has a sentence with its
numbers filled in. A rule added to the registry without boundary cases fails this module.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from sdc.rules import RULES
from sdc.rules.attribute import AllSameParams
from sdc.rules.dominance import NKParams, PPercentParams, PQParams
from sdc.rules.frequency import QuantileParams, ThresholdParams, ZerosParams
from sdc.rules.microdata import (
    GlobalRiskParams,
    IndividualRiskParams,
    LDiversityParams,
    RowLevelParams,
    SudaParams,
)
from sdc.rules.model import DofParams, ParametersParams, SaturatedParams
from sdc.rules.quality import MissingParams, NegativeParams
from sdc.rules.statistic import StatisticParams
from sdc.rules.trained import (
    ClassDisclosureParams,
    EmbeddingParams,
    HyperparametersParams,
    InstanceBasedParams,
    KAnonymityParams,
    MembershipParams,
    RawValuesParams,
    SmallGroupParams,
)


def cells(statistic: str = "sum", **arrays: list) -> SimpleNamespace:
    """Table evidence for a few cells: unspecified arrays are filled for a plain cell."""
    n = len(next(iter(arrays.values())))
    base = {
        "records": [20] * n, "nonmissing": [20] * n, "contributors": [20] * n,
        "negatives": [0] * n, "missing": [0] * n, "sum": [100.0] * n, "abs_sum": [100.0] * n,
        "top": [[10.0, 10.0, 10.0]] * n,
    }  # fmt: skip
    base.update(arrays)
    ev = {k: np.asarray(v, dtype=np.float64 if k in ("sum", "abs_sum", "top") else np.int64)
          for k, v in base.items()}  # fmt: skip
    return SimpleNamespace(**ev, statistic=statistic, has_contributor=True)


def quantiled(statistic: str, below: list, near: list, exact: list,
              above: list | None = None) -> SimpleNamespace:  # fmt: skip
    """Cells of a quantile table: contributors below and above the value and near it."""
    n = len(below)
    q = SimpleNamespace(
        below=np.asarray(below, dtype=np.int64),
        above=np.asarray(above if above is not None else [50] * n, dtype=np.int64),
        near=np.asarray(near, dtype=np.int64), exact=np.asarray(exact, dtype=bool),
        neighbourhood=0.05, significant_figures=3,
    )  # fmt: skip
    ev = cells(statistic, nonmissing=[80] * n)
    ev.quantile = q
    return ev


def per_model(**arrays: list) -> SimpleNamespace:
    return SimpleNamespace(**{k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})


def dominated(share_top2: list[float], **more: list) -> SimpleNamespace:
    """Cells of total 100 whose two largest contributors hold ``share`` of it (x1 = all)."""
    top = [[100.0 * s, 0.0, 0.0] for s in share_top2]
    return cells(sum=[100.0] * len(top), abs_sum=[100.0] * len(top), top=top, **more)


def remainder(rest: list[float], x1: float = 100.0) -> SimpleNamespace:
    """Cells with largest contribution ``x1``, no second one, and ``rest`` from the others."""
    n = len(rest)
    total = [x1 + r for r in rest]
    return cells(sum=total, abs_sum=total, top=[[x1, 0.0, 0.0]] * n)


#: rule id -> list of (evidence, params, expected fail, expected review).
CASES: dict[str, list[tuple[object, object, list[bool], list[bool]]]] = {
    # unsafe when 0 < N < t
    "threshold": [
        (
            cells(contributors=[0, 9, 10, 11]),
            ThresholdParams(t=10),
            [False, True, False, False],
            [False] * 4,
        ),
    ],
    # fewer than t contributors strictly below or above the value; or fewer than t within
    # its neighbourhood when the value is a record's own
    "quantile": [
        (
            quantiled(
                "median",
                below=[9, 10, 11, 10, 10],
                near=[20, 20, 20, 9, 10],
                exact=[False, False, False, True, True],
            ),
            QuantileParams(t=10),
            [True, False, False, True, False],
            [False] * 5,
        ),
        (
            quantiled("p90", below=[50, 50], above=[9, 10], near=[20, 20], exact=[False, False]),
            QuantileParams(t=10),
            [True, False],
            [False] * 2,
        ),
        (cells("mean", nonmissing=[1, 2]), QuantileParams(t=10), [False] * 2, [False] * 2),
    ],
    # a cell with no records
    "zeros": [
        (cells(records=[0, 1]), ZerosParams(outcome="fail"), [True, False], [False, False]),
        (cells(records=[0, 1]), ZerosParams(outcome="review"), [False, False], [True, False]),
    ],
    # x1 + ... + xn > k X (inclusive: >=); a 0/0 cell passes; negatives: review
    "nk-dominance": [
        (dominated([0.84, 0.85, 0.86]), NKParams(n=2, k=0.85), [False, False, True], [False] * 3),
        (
            dominated([0.84, 0.85, 0.86]),
            NKParams(n=2, k=0.85, inclusive=True),
            [False, True, True],
            [False] * 3,
        ),
        (cells(sum=[0.0], abs_sum=[0.0], top=[[0.0, 0.0, 0.0]]), NKParams(), [False], [False]),
        (dominated([0.99, 0.10], negatives=[1, 1]), NKParams(), [False, False], [True, True]),
    ],
    # X - x1 - x2 < p x1; an all-zero cell passes; negatives: review
    "p-percent": [
        (remainder([9.0, 10.0, 11.0]), PPercentParams(p=0.1), [True, False, False], [False] * 3),
        (
            cells(sum=[0.0], abs_sum=[0.0], top=[[0.0, 0.0, 0.0]]),
            PPercentParams(),
            [False],
            [False],
        ),
        (cells(negatives=[2], top=[[99.0, 0.0, 0.0]]), PPercentParams(), [False], [True]),
    ],
    # X - x1 - x2 < (p / q) x1
    "pq": [
        (remainder([19.0, 20.0, 21.0]), PQParams(p=0.1, q=0.5), [True, False, False], [False] * 3),
    ],
    "negative": [
        (cells(negatives=[0, 1]), NegativeParams(), [False, False], [False, True]),
        (cells(negatives=[0, 1]), NegativeParams(outcome="fail"), [False, True], [False, False]),
    ],
    "missing": [
        (cells(missing=[0, 1]), MissingParams(), [False, False], [False, True]),
        (cells(missing=[0, 1]), MissingParams(outcome="fail"), [False, True], [False, False]),
    ],
    # a refused statistic fails every non-empty cell
    "statistic": [
        (cells("max", records=[0, 1]), StatisticParams(), [False, True], [False, False]),
        (cells("mean", records=[0, 1]), StatisticParams(), [False, False], [False, False]),
    ],
    # residual degrees of freedom < t
    "dof": [
        (per_model(residual_dof=[9, 10, 11]), DofParams(t=10), [True, False, False], [False] * 3),
    ],
    # parameters > ratio * records
    "parameters": [
        (
            per_model(n_params=[32, 33, 34], n_obs=[100, 100, 100]),
            ParametersParams(ratio=0.33),
            [False, False, True],
            [False] * 3,
        ),
    ],
    "saturated": [
        (per_model(saturated=[0, 1]), SaturatedParams(), [False, True], [False, False]),
        (
            per_model(saturated=[0, 1]),
            SaturatedParams(outcome="review"),
            [False, False],
            [False, True],
        ),
    ],
    "instance-based": [
        (per_model(stored_rows=[0, 1]), InstanceBasedParams(), [False, True], [False, False]),
    ],
    # every contributor of a cell (at least two) shares one value: spread 0
    "all-same": [
        (
            per_model(spread=[0, 0, 0.5, np.nan], contributors=[1, 2, 2, 5]),
            AllSameParams(),
            [False] * 4,
            [False, True, False, False],
        ),
        (
            per_model(spread=[0, 1e-9], contributors=[3, 3]),
            AllSameParams(outcome="fail"),
            [True, False],
            [False, False],
        ),
    ],
    # records in the smallest leaf < t
    "k-anonymity": [
        (
            per_model(min_group=[9, 10, 11], small_groups=[1, 0, 0]),
            KAnonymityParams(t=10),
            [True, False, False],
            [False] * 3,
        ),
    ],
    "class-disclosure": [
        (
            per_model(disclosing_groups=[0, 1]),
            ClassDisclosureParams(),
            [False, True],
            [False, False],
        ),
    ],
    "small-group": [
        (per_model(small_class_groups=[0, 1]), SmallGroupParams(), [False, True], [False, False]),
    ],
    # min_samples_leaf < the minimum, or a forest without bootstrap
    "hyperparameters": [
        (
            per_model(min_samples_leaf=[4, 5, 6], bootstrap=[np.nan] * 3),
            HyperparametersParams(min_samples_leaf=5),
            [False] * 3,
            [True, False, False],
        ),
        (
            per_model(min_samples_leaf=[5, 5], bootstrap=[1.0, 0.0]),
            HyperparametersParams(),
            [False] * 2,
            [False, True],
        ),
    ],
    "raw-values": [
        (per_model(raw_values=[0, 1]), RawValuesParams(), [False, False], [False, True]),
    ],
    # AUC > max_auc with p < alpha fails; only significant: review; p == alpha: neither
    "membership-inference": [
        (
            per_model(auc=[0.59, 0.6, 0.61, 0.9], p_value=[0.0, 0.0, 0.0, 0.05]),
            MembershipParams(max_auc=0.6, alpha=0.05),
            [False, False, True, False],
            [True, True, False, False],
        ),
    ],
    # rows >= ratio * individuals fails; individuals unknown: rows >= 1000 review
    "embedding": [
        (
            per_model(rows=[499, 500, 501], individuals=[1000] * 3),
            EmbeddingParams(ratio=0.5),
            [False, True, True],
            [False] * 3,
        ),
        (
            per_model(rows=[999, 1000], individuals=[np.nan] * 2),
            EmbeddingParams(),
            [False, False],
            [False, True],
        ),
    ],
    # microdata: l < l_min (distinct, entropy or recursive l of a key combination)
    "l-diversity": [
        (per_model(l=[1, 2, 3]), LDiversityParams(l=2), [True, False, False], [False] * 3),
        (
            per_model(l=[2.9, 3.0, 3.1]),
            LDiversityParams(l=3, measure="entropy", outcome="review"),
            [False] * 3,
            [True, False, False],
        ),
    ],
    # individual re-identification risk > max_risk
    "individual-risk": [
        (
            per_model(risk=[0.09, 0.1, 0.11]),
            IndividualRiskParams(max_risk=0.1),
            [False, False, True],
            [False] * 3,
        ),
    ],
    # expected re-identifications per record (ER / n) > max_risk
    "global-risk": [
        (
            per_model(rate=[0.009, 0.01, 0.011], expected=[9.0, 10.0, 11.0]),
            GlobalRiskParams(max_risk=0.01),
            [False, False, True],
            [False] * 3,
        ),
    ],
    # a record whose smallest minimal sample unique has at most max_size keys (0: none)
    "suda": [
        (
            per_model(smallest_msu=[0, 1, 2, 3], score=[0, 24, 6, 2]),
            SudaParams(max_size=2),
            [False] * 4,
            [False, True, True, False],
        ),
        (
            per_model(smallest_msu=[2, 3], score=[6, 2]),
            SudaParams(outcome="fail"),
            [True, False],
            [False, False],
        ),
    ],
    # a sign of row-level data above its limit: strong signs fail, weak ones go to review
    "row-level": [
        (
            SimpleNamespace(
                measured=np.array([4999.0, 5000.0, 5001.0, 1.0, 1.0]),
                limit=np.array([5000.0, 5000.0, 5000.0, 1.0, 0.0]),
                strong=np.array([1, 1, 1, 0, 0]),
                sign=np.array(["rows"] * 3 + ["rows per label"] * 2, dtype=object),
            ),
            RowLevelParams(),
            [False, False, True, False, False],
            [False, False, False, False, True],
        ),
    ],
}


#: Rules that flag a fact (a refused statistic, a saturated fit) rather than compare a number.
FLAG_RULES = ("statistic", "saturated")


def test_every_registered_rule_has_boundary_cases() -> None:
    assert set(CASES) == set(RULES)


@pytest.mark.parametrize(
    ("rule_id", "case"),
    [(r, i) for r, cases in CASES.items() for i in range(len(cases))],
)
def test_rule_at_its_limit(rule_id: str, case: int) -> None:
    ev, params, fail, review = CASES[rule_id][case]
    r = RULES[rule_id](ev, params)
    assert r.rule == rule_id
    assert r.fail.tolist() == fail, (rule_id, r.measured.tolist(), r.limit.tolist())
    assert r.review.tolist() == review, (rule_id, r.measured.tolist(), r.limit.tolist())


@pytest.mark.parametrize(
    ("rule_id", "case"),
    [(r, i) for r, cases in CASES.items() for i in range(len(cases))],
)
def test_rule_contract(rule_id: str, case: int) -> None:
    """Disjoint masks of the evidence's length; every flagged entry explains itself."""
    ev, params, fail, _ = CASES[rule_id][case]
    r = RULES[rule_id](ev, params)
    n = len(fail)
    for name in ("fail", "review", "measured", "limit"):
        assert getattr(r, name).shape == (n,), name
    assert r.fail.dtype == bool and r.review.dtype == bool
    assert not (r.fail & r.review).any()
    hit = np.flatnonzero(r.fail | r.review)
    for cell, text in zip(hit, r.messages(hit), strict=True):
        assert text and "{" not in text and "}" not in text
        if np.isfinite(r.limit[cell]) and r.rule not in FLAG_RULES:
            assert any(ch.isdigit() for ch in text), text
