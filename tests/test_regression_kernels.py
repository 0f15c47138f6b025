"""The kernels behind a regression's groups, each against a plain pandas twin.

``sdc.kernels.atoms`` (distinct rows of a design's columns) and
``sdc.kernels.group_totals`` (per-atom and per-group totals, by contributor) on generated
designs with repeated rows, negative zeros, rows left out, and contributors split across
atoms; a forced hash collision takes the exact fallback.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import sdc.kernels.atoms as atoms_kernel
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from sdc.kernels.atoms import column_levels, design_atoms
from sdc.kernels.group_totals import atom_moments, group_contributor_totals

_VALUES = st.sampled_from([0.0, -0.0, 1.0, 2.0, -1.0, 0.5])


@st.composite
def designs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(1, 60))
    k = draw(st.integers(1, 5))
    x = draw(arrays(np.float64, (n, k), elements=_VALUES))
    keep = draw(arrays(np.bool_, n))
    order = draw(st.sampled_from(["C", "F"]))
    return np.array(x, order=order), keep


def _reference_atoms(x: np.ndarray, cols: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Atom of each kept row by pandas: rows with equal values share one, numbered by first
    appearance; -1 for rows not kept."""
    frame = pd.DataFrame(x[:, cols] + 0.0).astype(str)
    key = frame.agg("|".join, axis=1) if cols.size else pd.Series([""] * len(x))
    kept = key[keep]
    numbers = {k: i for i, k in enumerate(dict.fromkeys(kept))}
    out = np.full(len(x), -1)
    out[keep] = [numbers[k] for k in kept]
    return out


@settings(max_examples=60, deadline=None)
@given(designs(), st.data())
def test_atoms_equal_pandas(case: tuple[np.ndarray, np.ndarray], data: st.DataObject) -> None:
    x, keep = case
    cols = np.array(data.draw(st.lists(st.integers(0, x.shape[1] - 1), unique=True)), dtype=int)
    found = design_atoms(x, cols, keep, 10_000)
    assert found is not None
    atom, first = found
    np.testing.assert_array_equal(atom, _reference_atoms(x, cols, keep))
    for a, row in enumerate(first.tolist()):
        assert atom[row] == a and (atom[:row] != a).all()


@settings(max_examples=40, deadline=None)
@given(designs())
def test_a_hash_collision_falls_back_to_an_exact_sort(
    case: tuple[np.ndarray, np.ndarray],
) -> None:
    x, keep = case
    cols = np.arange(x.shape[1])
    with pytest.MonkeyPatch.context() as mp:  # every row hashes alike: atoms must still differ
        mp.setattr(atoms_kernel, "_row_hashes", lambda x, cols: np.zeros(x.shape[0], np.uint64))
        found = design_atoms(x, cols, keep, 10_000)
    assert found is not None
    np.testing.assert_array_equal(found[0], _reference_atoms(x, cols, keep))


def test_too_many_atoms_is_none() -> None:
    x = np.arange(10, dtype=np.float64).reshape(-1, 1)
    assert design_atoms(x, np.array([0]), np.ones(10, dtype=bool), 9) is None
    assert design_atoms(x, np.array([0]), np.ones(10, dtype=bool), 10) is not None


@settings(max_examples=60, deadline=None)
@given(designs(), st.integers(1, 4))
def test_column_levels_equal_numpy(case: tuple[np.ndarray, np.ndarray], cap: int) -> None:
    x, keep = case
    n_distinct, zeros = column_levels(x, keep, cap)
    for j in range(x.shape[1]):
        kept = x[keep, j] + 0.0
        assert n_distinct[j] == min(np.unique(kept).size, cap + 1)
        assert zeros[j] == (kept == 0).sum()


@st.composite
def rows(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 50))
    return pd.DataFrame({
        "atom": draw(arrays(np.int64, n, elements=st.integers(-1, 4))),
        "who": draw(arrays(np.int64, n, elements=st.integers(0, 6))),
        "w": draw(arrays(np.float64, n, elements=st.sampled_from([0.5, 1.0, 2.0]))),
        "y": draw(arrays(np.float64, n, elements=st.integers(-5, 20).map(float))),
        "exact": draw(arrays(np.bool_, n)),
        "ok": draw(arrays(np.bool_, n)),
    })  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(rows())
def test_atom_moments_equal_pandas(df: pd.DataFrame) -> None:
    n_atoms = 5
    got = atom_moments(df.atom.to_numpy(), n_atoms, df.w.to_numpy(), df.y.to_numpy(),
                       df.exact.to_numpy(), 2)  # fmt: skip
    n_rows, n_exact, sums, lo, hi, top = got
    kept = df[df.atom >= 0].assign(v=lambda d: (d.w * d.y).abs())
    for a in range(n_atoms):
        part = kept[kept.atom == a]
        assert n_rows[a] == len(part) and n_exact[a] == part.exact.sum()
        np.testing.assert_allclose(sums[a], [part.w.sum(), (part.w**2).sum(), part.v.sum()])
        assert lo[a] == (part.y.min() if len(part) else np.inf)
        assert hi[a] == (part.y.max() if len(part) else -np.inf)
        want = np.sort(part.v.to_numpy())[::-1][:2]
        np.testing.assert_allclose(top[a], np.pad(want, (0, 2 - want.size)))


@settings(max_examples=60, deadline=None)
@given(rows(), st.lists(st.lists(st.integers(0, 4), min_size=1, max_size=5, unique=True),
                        min_size=1, max_size=4))  # fmt: skip
def test_group_contributor_totals_equal_pandas(df: pd.DataFrame, groups: list[list[int]]) -> None:
    pairs = sorted((a, g) for g, members in enumerate(groups) for a in members)
    g_idx = np.array([g for _, g in pairs], dtype=np.int64)
    g_ptr = np.concatenate(([0], np.cumsum(np.bincount([a for a, _ in pairs], minlength=5))))
    v = (df.w * df.y).to_numpy()
    n_c, sums, top = group_contributor_totals(
        df.who.to_numpy(), df.atom.to_numpy(), df.w.to_numpy(), v, df.ok.to_numpy(),
        g_ptr, g_idx, len(groups), 3,
    )  # fmt: skip
    for g, members in enumerate(groups):
        part = df[df.atom.isin(members) & df.ok].assign(v=lambda d: d.w * d.y)
        per = part.groupby("who").agg(W=("w", "sum"), V=("v", "sum"))
        assert n_c[g] == len(per)
        np.testing.assert_allclose(sums[g], [per.W.sum(), (per.W**2).sum(), per.V.abs().sum()])
        want = np.sort(per.V.abs().to_numpy())[::-1][:3]
        np.testing.assert_allclose(top[g], np.pad(want, (0, 3 - want.size)))


# --- the groups a design reveals, against brute force ------------------------------------


def _in_span(x: np.ndarray, v: np.ndarray) -> bool:
    coef, *_ = np.linalg.lstsq(x, v, rcond=None)
    return bool(np.abs(x @ coef - v).max() <= 1e-8 * max(1.0, np.abs(v).max()))


def _combination_within(x: np.ndarray, inside: np.ndarray) -> bool:
    """Whether some combination of the columns is 0 outside ``inside`` and not 0 inside."""
    out = x[~inside]
    if out.shape[0]:
        _, s, vt = np.linalg.svd(out)
        null = vt[int((s > 1e-9 * max(1.0, s.max())).sum()) :].T
    else:
        null = np.eye(x.shape[1])
    return bool(null.size and np.abs(x[inside] @ null).max() > 1e-9)


@st.composite
def factor_designs(draw: st.DrawFn) -> np.ndarray:
    """Designs of 0/1 and few-valued columns over a handful of distinct rows, repeated."""
    n_distinct = draw(st.integers(2, 7))
    k = draw(st.integers(1, 4))
    base = draw(arrays(np.float64, (n_distinct, k), elements=st.sampled_from([0.0, 1.0, 2.0])))
    repeats = draw(arrays(np.int64, n_distinct, elements=st.integers(1, 14)))
    x = np.repeat(np.column_stack([np.ones(n_distinct), base]), repeats, axis=0)
    return np.asfortranarray(x)


#: Found by this test: 2 people's difference y(0, 1) - y(1, 0) is determined although no
#: row of the echelon form shows it; every zero pattern of the part is now tried.
_DIFFERENCE = np.asfortranarray(
    [[1.0, 0, 0], [1, 0, 0], [1, 0, 1], [1, 1, 0], [1, 1, 1], [1, 1, 1]]
)


@settings(max_examples=80, deadline=None)
@given(factor_designs(), st.integers(2, 12))
@example(_DIFFERENCE, 3)
def test_groups_are_revealed_and_no_small_revealed_group_is_missed(x: np.ndarray, t: int) -> None:
    """Every group found from the second list on is revealed: its indicator is in the span
    of the design's columns (by least squares on the records), or, for a combination, some
    combination of the columns is 0 on every other record. And whenever the design
    determines a combination of the outcomes of fewer than t records (brute force over every
    union of distinct rows), at least one group found has fewer than t records."""
    import itertools

    from sdc.regression.design import design_atoms as regression_atoms
    from sdc.regression.groups import revealed_groups

    names = [f"c{j}" for j in range(x.shape[1])]
    found = regression_atoms(x, names, np.ones(x.shape[0], dtype=bool))
    assert found is not None
    atoms, atom = found
    rows = np.bincount(atom, minlength=atoms.n_atoms)
    groups, incomplete = revealed_groups(atoms, rows, t)
    assert incomplete == []  # a handful of atoms: the search is always complete
    for g in groups:
        inside = np.isin(atom, g.atoms)
        if g.origin in ("reference", "pair", "atom"):
            assert _in_span(x, inside.astype(float)), g.name
        elif g.origin == "combination":
            assert _combination_within(x, inside), g.name
    small_revealed = any(
        rows[list(subset)].sum() < t and _combination_within(x, np.isin(atom, subset))
        for r in range(1, atoms.n_atoms + 1)
        for subset in itertools.combinations(range(atoms.n_atoms), r)
    )
    assert small_revealed == any(rows[g.atoms].sum() < t for g in groups)
