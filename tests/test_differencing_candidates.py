"""Candidate groups: the numbering of atoms by a few outputs' leaves, the small groups, and
the cells two outputs share.

The subset key must group atoms exactly as their tuples of leaves do, whether the
leaves are multiplied out or (too many leaves) numbered by the combined-codes kernel,
and ``_small_groups`` must return the groups of 1 to t-1 records a pandas groupby finds.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st
from test_differencing_properties import _cells

import sdc.differencing.candidates as candidates
from sdc.differencing.candidates import _small_groups, _subset_key
from sdc.differencing.cells import Participant
from sdc.differencing.detect import cell_rows


def _part(leaf: np.ndarray, n_leaves: int) -> SimpleNamespace:
    return SimpleNamespace(leaf=leaf, cells=SimpleNamespace(n_leaves=n_leaves))


def _same_grouping(key: np.ndarray, leaves: list[np.ndarray]) -> bool:
    tuples = list(zip(*[x.tolist() for x in leaves], strict=True))
    by_key: dict[int, set] = {}
    for k, tup in zip(key.tolist(), tuples, strict=True):
        by_key.setdefault(k, set()).add(tup)
    outside = tuple([-1] * len(leaves))
    return (
        all(len(v) == 1 for v in by_key.values())
        and len(by_key) == len(set(tuples))
        and all((k == 0) == (next(iter(v)) == outside) for k, v in by_key.items())
    )


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(-1, 3), min_size=12, max_size=12), min_size=1,
                max_size=3))  # fmt: skip
def test_subset_key_groups_atoms_by_their_leaves_on_both_paths(rows: list[list[int]]) -> None:
    leaves = [np.array(r, dtype=np.int32) for r in rows]
    small = _subset_key([_part(x, 4) for x in leaves])[0]
    huge = _subset_key([_part(x, 2**40) for x in leaves])[0]  # past 2**62: numbered instead
    assert _same_grouping(small, leaves) and _same_grouping(huge, leaves)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(1, 4)), min_size=1, max_size=30),
       st.booleans())  # fmt: skip
def test_small_groups_are_the_groupby_groups_under_t(atoms: list, dense: bool) -> None:
    key = np.array([k for k, _ in atoms], dtype=np.int64)
    weight = np.array([w for _, w in atoms], dtype=np.float64)
    t = 5
    got = _small_groups(key, 6 if dense else 2**63, weight, t)
    frame = pd.DataFrame({"key": key, "w": weight, "atom": np.arange(key.size)})
    frame = frame[frame.key > 0]
    want = {
        tuple(g.atom.tolist()): int(g.w.sum()) for _, g in frame.groupby("key") if 0 < g.w.sum() < t
    }
    assert {tuple(m.tolist()): n for m, n in got} == want


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_cells_shared_by_two_outputs_on_both_paths(data: st.DataObject) -> None:
    """Atoms and records two outputs' cells share, from atoms per pair of leaves and from
    the sparse product, equal plain set intersections."""
    n_atoms = data.draw(st.integers(1, 25))
    weight = np.array(data.draw(st.lists(st.integers(1, 9), min_size=n_atoms,
                                         max_size=n_atoms)), dtype=np.float64)  # fmt: skip
    parts = []
    for o in range(2):
        n_leaves = data.draw(st.integers(1, 4))
        leaf = np.array(data.draw(st.lists(st.integers(-1, n_leaves - 1), min_size=n_atoms,
                                           max_size=n_atoms)), dtype=np.int32)  # fmt: skip
        shown = data.draw(st.lists(st.lists(st.integers(0, n_leaves - 1), min_size=1,
                                            unique=True), min_size=1, max_size=4))  # fmt: skip
        parts.append(Participant(_cells(o, n_leaves, shown), leaf))
    rows = [cell_rows(p, n_atoms) for p in parts]
    want = {}
    for x in range(rows[0].shape[0]):
        for y in range(rows[1].shape[0]):
            both = set(rows[0][x].indices) & set(rows[1][y].indices)
            if both:
                want[(x, y)] = (len(both), float(weight[sorted(both)].sum()))
    for dense in (True, False):
        pairs = candidates._Pairs(rows, weight)
        old = candidates.DENSE_PAIRS
        candidates.DENSE_PAIRS = old if dense else -1
        try:
            a, b, k, common = pairs._shared(parts[0], parts[1], 0, 1)
        finally:
            candidates.DENSE_PAIRS = old
        got = {(int(x), int(y)): (int(n), float(w))
               for x, y, n, w in zip(a, b, k, common, strict=True)}  # fmt: skip
        assert got == want, dense


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.integers(-1, 3), min_size=15, max_size=15), min_size=1,
                max_size=3), st.lists(st.integers(1, 4), min_size=15, max_size=15))  # fmt: skip
def test_subset_groups_kernel_is_the_groupby(rows: list[list[int]], w: list[int]) -> None:
    """The kernel's small groups of a subset are pandas' groups of the leaf tuples under t
    (the group outside every output left out), and the numpy path's."""
    from sdc.differencing.candidates import _subset_groups

    leaves = [np.array(r, dtype=np.int32) for r in rows]
    weight = np.array(w, dtype=np.float64)
    t = 5
    got = _subset_groups([_part(x, 4) for x in leaves], weight, t)
    frame = pd.DataFrame({f"o{i}": x for i, x in enumerate(leaves)})
    frame["w"], frame["atom"] = weight, np.arange(weight.size)
    frame = frame[(frame[[f"o{i}" for i in range(len(leaves))]] >= 0).any(axis=1)]
    want = {tuple(g.atom.tolist()): int(g.w.sum())
            for _, g in frame.groupby([f"o{i}" for i in range(len(leaves))])
            if 0 < g.w.sum() < t}  # fmt: skip
    assert {tuple(m.tolist()): n for m, n in got} == want
    numpy_path = _small_groups(*_subset_key([_part(x, 4) for x in leaves]), weight, t)
    assert [(m.tolist(), n) for m, n in got] == [(m.tolist(), n) for m, n in numpy_path]
