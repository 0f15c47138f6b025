"""Candidate groups: the numbering of atoms by a few outputs' leaves and the small groups.

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

from sdc.differencing.candidates import _small_groups, _subset_key


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
