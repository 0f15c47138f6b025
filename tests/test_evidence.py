"""The evidence kernel against its pandas twin, and the algebra evidence must obey.

Evidence is what every rule reads, so it is held to an independent reference on
generated microdata, and merging partial evidence (streaming, distributed runs)
must give exactly the evidence of the whole.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import example, given
from hypothesis import strategies as st
from reference import Cell, Key, reference_evidence
from strategies import Microdata, make_case, microdata

from sdc import SdcEvidenceError
from sdc.tables.evidence import (
    TableEvidence,
    compute_evidence,
    merge,
    merge_all,
    partition_by_contributor,
)
from sdc.tables.factorize import factorize
from sdc.tables.model import TOTAL_LABEL, TableModel

COUNTS = ("records", "nonmissing", "missing", "negatives", "contributors")
FLOATS = ("sum", "abs_sum", "min", "max")
ADDITIVE = ("records", "nonmissing", "missing", "negatives")

# Pinned cases: the corners the generator may take long to reach.
EMPTY_CELLS = make_case(
    {"region": ["N", "N", "S"], "year": [2020, 2020, 2021], "value": [1.0, 2.0, 3.0]},
    dims=["region", "year"],
    value="value",
)
SINGLE_ROW = make_case(
    {"region": ["N"], "value": [5.0], "person": ["p"]},
    dims=["region"],
    value="value",
    contributor="person",
)
ALL_MISSING = make_case(
    {"region": ["N", "S", "N"], "year": [1, 1, 2], "value": [math.nan] * 3, "person": [1, 2, 1]},
    dims=["region", "year"],
    value="value",
    contributor="person",
)
ONE_OWNER = make_case(
    {"region": ["N", "N", "N", "S"], "value": [10.0, 20.0, 5.0, 1.0], "person": [7, 7, 7, 8]},
    dims=["region"],
    value="value",
    contributor="person",
)


def evidence_of(
    case: Microdata, frame: pd.DataFrame | None = None, margins: bool = True
) -> TableEvidence:
    """Evidence of ``frame`` (default: the whole case) along the engine's own path."""
    frame = case.frame if frame is None else frame
    coded = [factorize(frame[d]) for d in case.dims]
    codes = np.column_stack([c for c, _ in coded]).astype(np.int64)
    levels = tuple(tuple(lv) for _, lv in coded)
    model = TableModel(tuple(case.dims), levels, n_rows=1, margins=margins)
    values = None
    if case.value is not None:
        values = frame[case.value].to_numpy(dtype=np.float64, na_value=np.nan)
    who = None if case.contributor is None else factorize(frame[case.contributor])[0]
    return compute_evidence(codes, model, values, who, case.top_k)


def cells(ev: TableEvidence) -> dict[Key, Cell]:
    """Evidence per cell keyed by the cell's labels, as the reference keys it."""
    model = ev.model
    arrays = {name: getattr(ev, name).tolist() for name in (*COUNTS, *FLOATS, "top")}
    out: dict[Key, Cell] = {}
    for i, coords in enumerate(model.coords.tolist()):
        key = tuple(model.label(d, c) for d, c in enumerate(coords))
        out[key] = {name: arr[i] for name, arr in arrays.items()}
    assert len(out) == ev.n_cells, "cell labels must identify cells"
    return out


def assert_same(actual: dict[Key, Cell], expected: dict[Key, Cell], exact: bool) -> None:
    """Counts, min and max equal; sums and top-k equal up to 1e-9 * abs_sum unless ``exact``."""
    assert actual.keys() == expected.keys()
    for key, want in expected.items():
        got = actual[key]
        for name in (*COUNTS, "min", "max"):
            assert got[name] == want[name], (key, name, got, want)
        tol = 0.0 if exact else 1e-9 * want["abs_sum"]
        for name in ("sum", "abs_sum"):
            assert abs(got[name] - want[name]) <= tol, (key, name, got, want)
        assert len(got["top"]) == len(want["top"]), (key, got, want)
        for g, w in zip(got["top"], want["top"], strict=True):
            ok = g == w if not (math.isfinite(g) and math.isfinite(w)) else abs(g - w) <= tol
            assert ok, (key, "top", got, want)


def assert_identical(a: TableEvidence, b: TableEvidence) -> None:
    assert a.model.dims == b.model.dims and a.model.levels == b.model.levels
    for name in (*COUNTS, *FLOATS, "top"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def contributor_of(case: Microdata) -> str:
    assert case.contributor is not None, "the case needs a contributor column"
    return case.contributor


def split(case: Microdata, assignment: list[int], n_parts: int) -> list[pd.DataFrame]:
    """Rows split by ``assignment``, routed by contributor when the case has one."""
    if case.contributor is not None:
        return partition_by_contributor(case.frame, case.contributor, n_parts)
    part = np.asarray(assignment, dtype=np.int64)
    return [case.frame[part == i] for i in range(n_parts)]


def assignments(case: Microdata, n_parts: int) -> st.SearchStrategy[list[int]]:
    n = len(case.frame)
    return st.lists(st.integers(0, n_parts - 1), min_size=n, max_size=n)


# --- kernel == reference ---------------------------------------------------------------


@given(case=microdata())
@example(case=EMPTY_CELLS)
@example(case=SINGLE_ROW)
@example(case=ALL_MISSING)
@example(case=ONE_OWNER)
def test_kernel_matches_reference(case: Microdata) -> None:
    ev = evidence_of(case)
    ev.validate()
    assert ev.has_values == (case.value is not None)
    assert ev.has_contributor == (case.contributor is not None)
    want = reference_evidence(case.frame, case.dims, case.value, case.contributor, case.top_k)
    assert_same(cells(ev), want, case.exact)


def test_empty_cells_are_present_with_zero_evidence() -> None:
    got = cells(evidence_of(EMPTY_CELLS))
    for key in (("N", 2021), ("S", 2020)):
        cell = got[key]
        assert [cell[name] for name in COUNTS] == [0] * len(COUNTS)
        assert (cell["sum"], cell["min"], cell["max"]) == (0.0, math.inf, -math.inf)
        assert cell["top"] == [-math.inf] * 3


def test_single_contributor_owning_a_cell_is_its_whole_total() -> None:
    got = cells(evidence_of(ONE_OWNER))[("N",)]
    assert got["contributors"] == 1 and got["records"] == 3
    assert got["top"] == [35.0, -math.inf, -math.inf]
    assert got["sum"] == 35.0


# --- merge -------------------------------------------------------------------------------


@given(case=microdata(contributor=True), n_parts=st.integers(2, 4))
@example(case=ONE_OWNER, n_parts=2)
@example(case=ALL_MISSING, n_parts=3)
def test_merge_of_contributor_routed_parts_is_exact(case: Microdata, n_parts: int) -> None:
    whole = evidence_of(case)
    parts = partition_by_contributor(case.frame, contributor_of(case), n_parts)
    merged = merge_all(evidence_of(case, part) for part in parts)
    assert merged.model.levels == whole.model.levels
    assert_same(cells(merged), cells(whole), case.exact)


@given(case=microdata(contributor=False), data=st.data())
@example(case=EMPTY_CELLS, data=None)
def test_merge_of_any_split_is_exact_without_contributor(
    case: Microdata, data: st.DataObject | None
) -> None:
    n_parts = 2 if data is None else data.draw(st.integers(2, 4), label="n_parts")
    assignment = [0, 1, 1] if data is None else data.draw(assignments(case, n_parts))
    merged = merge_all(evidence_of(case, part) for part in split(case, assignment, n_parts))
    whole = evidence_of(case)
    assert merged.model.levels == whole.model.levels
    assert_same(cells(merged), cells(whole), case.exact)


@given(case=microdata(), data=st.data())
def test_merge_is_commutative_and_associative(case: Microdata, data: st.DataObject) -> None:
    a, b, c = (evidence_of(case, part) for part in split(case, data.draw(assignments(case, 3)), 3))
    assert_identical(merge(a, b), merge(b, a))
    left, right = merge(merge(a, b), c), merge(a, merge(b, c))
    assert left.model.levels == right.model.levels
    assert_same(cells(left), cells(right), case.exact)


@given(case=microdata(contributor=True), n_parts=st.integers(2, 4), data=st.data())
def test_merge_needs_contributor_routing(
    case: Microdata, n_parts: int, data: st.DataObject
) -> None:
    """A contributor with records in two parts is counted twice by a plain merge.

    Distinct contributors and per-contributor totals do not add up across parts that
    share a contributor, which is why rows are routed by contributor before evidence
    is computed per part.
    """
    frame, contributor = case.frame, contributor_of(case)
    rows = st.integers(0, len(frame) - 1)
    extra = frame.iloc[[data.draw(rows), data.draw(rows)]].copy()
    extra[contributor] = frame[contributor].iloc[0]
    if case.value is not None:
        extra[case.value] = [1.0, 2.0]
    extra.index = pd.RangeIndex(len(frame), len(frame) + 2)
    whole_case = replace(case, frame=pd.concat([frame, extra]))
    whole = evidence_of(whole_case)

    # Route the original rows, then put the contributor's two new records in two parts.
    parts = partition_by_contributor(frame, contributor, n_parts)
    home = next(i for i, part in enumerate(parts) if frame.index[0] in part.index)
    parts[home] = pd.concat([parts[home], extra.iloc[[0]]])
    away = (home + 1) % n_parts
    parts[away] = pd.concat([parts[away], extra.iloc[[1]]])
    naive = merge_all(evidence_of(whole_case, part) for part in parts)

    grand_total = (TOTAL_LABEL,) * len(case.dims)
    counted = cells(naive)[grand_total]["contributors"]
    assert counted == cells(whole)[grand_total]["contributors"] + 1

    routed_parts = partition_by_contributor(whole_case.frame, contributor, n_parts)
    routed = merge_all(evidence_of(whole_case, part) for part in routed_parts)
    assert_same(cells(routed), cells(whole), case.exact)


def test_merge_keeps_declared_category_order() -> None:
    bands = ["low", "mid", "high"]
    case = make_case(
        {"band": ["high", "low", None, "mid"]}, dims=["band"], categories={"band": bands}
    )
    # Only the second chunk has a missing band, so the chunks' level sets differ.
    merged = merge(evidence_of(case, case.frame.iloc[:2]), evidence_of(case, case.frame.iloc[2:]))
    assert merged.model.levels == evidence_of(case).model.levels


# --- manifest round trip -----------------------------------------------------------------


@given(case=microdata())
@example(case=ALL_MISSING)
def test_dict_round_trip_is_identity(case: Microdata) -> None:
    ev = evidence_of(case)
    d = ev.to_dict()
    back = TableEvidence.from_dict(json.loads(json.dumps(d, allow_nan=False)))
    assert back.to_dict() == d
    assert_identical(back, ev)
    assert (back.has_values, back.has_contributor) == (ev.has_values, ev.has_contributor)


def _margin_off_by_one(d: dict[str, Any], data: st.DataObject) -> str | None:
    # The grand total is the last cell (every dimension at its total code).
    d["records"][-1] += 1
    d["nonmissing"][-1] += 1
    return "margin"


def _key_missing(d: dict[str, Any], data: st.DataObject) -> str | None:
    del d[data.draw(st.sampled_from(sorted(d)), label="key")]
    return "keys"


def _wrong_length(d: dict[str, Any], data: st.DataObject) -> str | None:
    name = data.draw(st.sampled_from([*COUNTS, *FLOATS, "top"]), label="field")
    if data.draw(st.booleans(), label="shorter"):
        d[name] = d[name][:-1]
    else:
        d[name] = [*d[name], d[name][0]]
    return None


def _ragged_top(d: dict[str, Any], data: st.DataObject) -> str | None:
    d["top"][0] = d["top"][0][:-1]
    return None


Tampering = Callable[[dict[str, Any], st.DataObject], str | None]
TAMPERINGS: list[Tampering] = [
    _margin_off_by_one, _key_missing, _wrong_length, _ragged_top,
]  # fmt: skip


@given(case=microdata(), tamper=st.sampled_from(TAMPERINGS), data=st.data())
def test_from_dict_rejects_tampered_evidence(
    case: Microdata, tamper: Tampering, data: st.DataObject
) -> None:
    d = evidence_of(case).to_dict()
    match = tamper(d, data)
    with pytest.raises(SdcEvidenceError, match=match):
        TableEvidence.from_dict(d)


def test_from_dict_rejects_tampered_sum_margin() -> None:
    d = evidence_of(EMPTY_CELLS).to_dict()
    d["sum"][-1] += 1000.0
    with pytest.raises(SdcEvidenceError):
        TableEvidence.from_dict(d)


# --- model matrix ------------------------------------------------------------------------


@given(case=microdata(), margins=st.booleans())
@example(case=EMPTY_CELLS, margins=True)
def test_model_matrix_adds_inner_cells_up_to_published(case: Microdata, margins: bool) -> None:
    ev = evidence_of(case, margins=margins)
    model = ev.model
    x = model.model_matrix()
    inner = np.flatnonzero(model.inner_mask)
    published = np.flatnonzero(model.published_mask)
    assert sp.issparse(x) and x.shape == (inner.size, published.size)
    assert (x.data == 1).all()
    # Each published cell covers every inner cell below it, once.
    below = np.prod(np.where(model.total_mask[published], model.sizes, 1), axis=1)
    np.testing.assert_array_equal(np.asarray(x.sum(axis=0)).ravel(), below)
    for name in ADDITIVE:
        arr = getattr(ev, name)
        np.testing.assert_array_equal(x.T @ arr[inner], arr[published], err_msg=name)
    tol = 1e-9 * ev.abs_sum[published]
    assert (np.abs(x.T @ ev.sum[inner] - ev.sum[published]) <= tol).all()
