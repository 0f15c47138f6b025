"""The evidence kernel's two cell walks agree.

Without hierarchy groups a record reaches its 2**k cells by the subset walk; with
groups, by the product of its member codes on each dimension. The same data
tabulated with and without groups must give identical evidence on every cell the
two cubes share (leaves and totals: group codes come after them), so a change to
either walk that the other does not share shows up here.
"""

from __future__ import annotations

import math

import numpy as np
from hypothesis import example, given
from hypothesis import strategies as st
from strategies import Microdata, make_case, microdata

from sdc.tables.evidence import TableEvidence, compute_evidence
from sdc.tables.factorize import factorize
from sdc.tables.model import TableModel

FIELDS = (
    "records", "nonmissing", "contributors", "negatives", "missing",
    "sum", "abs_sum", "min", "max", "top",
)  # fmt: skip

Groups = tuple[tuple[tuple[str, tuple[object, ...]], ...], ...]

# One group holding leaves: the grouped table takes the product walk.
NESTED = make_case(
    {
        "region": ["N", "N", "S", "E", "S"],
        "year": [1, 2, 1, 1, 2],
        "value": [4.0, -1.0, math.nan, 7.0, 2.0],
        "person": ["p", "q", "p", "r", "p"],
    },
    dims=["region", "year"],
    value="value",
    contributor="person",
)


def _evidence(case: Microdata, groups: Groups) -> TableEvidence:
    coded = [factorize(case.frame[d]) for d in case.dims]
    codes = np.column_stack([c for c, _ in coded]).astype(np.int64)
    levels = tuple(tuple(lv) for _, lv in coded)
    model = TableModel(tuple(case.dims), levels, 1, True, groups)
    values = None
    if case.value is not None:
        values = case.frame[case.value].to_numpy(dtype=np.float64, na_value=np.nan)
    who = None if case.contributor is None else factorize(case.frame[case.contributor])[0]
    return compute_evidence(codes, model, values, who, case.top_k)


@st.composite
def grouped(draw: st.DrawFn) -> tuple[Microdata, Groups]:
    """A case and up to three groups per dimension, any leaves each (none included)."""
    case = draw(microdata())
    groups = []
    for d in case.dims:
        levels = factorize(case.frame[d])[1]
        leaf_sets = st.lists(st.sampled_from(levels), unique_by=str, max_size=len(levels))
        sets = draw(st.lists(leaf_sets, max_size=3))
        groups.append(tuple((f"group {d}.{g}", tuple(s)) for g, s in enumerate(sets)))
    return case, tuple(groups)


def _check_shared_cells(case: Microdata, groups: Groups) -> TableEvidence:
    plain = _evidence(case, ())
    nested = _evidence(case, groups)
    # Leaf and total codes are the same in both cubes; group codes follow them.
    shared = np.ravel_multi_index(tuple(plain.model.coords.T), nested.model.shape)
    for name in FIELDS:
        np.testing.assert_array_equal(getattr(nested, name)[shared], getattr(plain, name), name)
    nested.validate()  # group cells add up to their leaves
    return nested


@given(grouped())
@example((NESTED, ((("north", ("N",)), ("N+S", ("N", "S"))), ())))
def test_walks_agree_on_shared_cells(case_groups: tuple[Microdata, Groups]) -> None:
    _check_shared_cells(*case_groups)


def test_groups_without_leaves_take_the_subset_walk_and_stay_empty() -> None:
    # No leaf is in a group, so every leaf has two member codes: the plain walk runs
    # on the grouped table, and its group cells must stay empty.
    groups: Groups = ((("none", ()), ("elsewhere", ("W",))), (("later", (3,)),))
    nested = _check_shared_cells(NESTED, groups)
    assert ((nested.model.member_table >= 0).sum(axis=1) == 2).all()
    in_group = (nested.model.coords >= nested.model.sizes + 1).any(axis=1)
    assert in_group.sum() > 0
    assert (nested.records[in_group] == 0).all()
    assert np.isneginf(nested.top[in_group]).all()
