"""The differencing kernels against plain references.

``combine_codes`` numbers pairs as pandas' ``groupby(sort=False).ngroup()`` does;
``span_decide`` agrees with plain rational elimination (``gauss_reference.in_span``,
``fractions.Fraction``) on which candidate rows are in the span, and every
combination it returns adds up, in exact arithmetic, to the candidate.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from gauss_reference import in_span
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sdc.kernels.record_atoms import MAX_DENSE, combine_codes
from sdc.kernels.sorted_sets import difference, intersection
from sdc.kernels.span import span_decide

from sdc.differencing.atoms import partition


@st.composite
def code_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    n = draw(st.integers(0, 60))
    a = draw(st.lists(st.integers(0, 6), min_size=n, max_size=n))
    b = draw(st.lists(st.integers(-1, 4), min_size=n, max_size=n))
    return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)


def pandas_combine(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    frame = pd.DataFrame({"a": a, "b": b})
    codes = frame.groupby(["a", "b"], sort=False).ngroup().to_numpy()
    first = pd.Series(np.arange(a.size)).groupby(codes).min().to_numpy()
    return codes, first


@settings(max_examples=200, deadline=None)
@given(code_pairs())
@example((np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)))
def test_combine_codes_matches_pandas(pair: tuple[np.ndarray, np.ndarray]) -> None:
    a, b = pair
    codes, first = combine_codes(a, b)
    ref_codes, ref_first = pandas_combine(a, b)
    assert codes.tolist() == ref_codes.tolist()
    assert first.tolist() == ref_first.tolist()


def test_combine_codes_hashed_path_matches_the_dense_path() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 5000, 20_000)
    b = rng.integers(-1, 5000, 20_000)  # 5000 x 5001 pairs: past the dense table's reach
    assert 5000 * 5001 > 4 * a.size + 1024 or 5000 * 5001 > MAX_DENSE
    codes, first = combine_codes(a, b)
    ref_codes, ref_first = pandas_combine(a, b)
    assert np.array_equal(codes, ref_codes) and np.array_equal(first, ref_first)


def test_combine_codes_refuses_bad_codes() -> None:
    with pytest.raises(ValueError, match=">= 0"):
        combine_codes(np.array([-1]), np.array([0]))
    with pytest.raises(ValueError, match="one length"):
        combine_codes(np.array([0, 1]), np.array([0]))


@settings(max_examples=100, deadline=None)
@given(st.lists(code_pairs(), min_size=1, max_size=3))
def test_partition_counts_are_the_groupby_sizes(pairs: list) -> None:
    n = min(a.size for a, _ in pairs)
    codes = [b[:n] for _, b in pairs]
    atoms = partition(codes)
    frame = pd.DataFrame({f"o{i}": c for i, c in enumerate(codes)})
    covered = frame[(frame >= 0).any(axis=1)]
    sizes = covered.groupby(list(frame.columns)).size()
    got = {tuple(atoms.leaf[:, k].tolist()): int(atoms.counts[k]) for k in range(atoms.n_atoms)}
    assert got == {(k if isinstance(k, tuple) else (k,)): int(v) for k, v in sizes.items()}


@settings(max_examples=200, deadline=None)
@given(st.sets(st.integers(0, 40)), st.sets(st.integers(0, 40)))
def test_sorted_set_operations_match_numpy(a: set[int], b: set[int]) -> None:
    x, y = np.array(sorted(a), dtype=np.int64), np.array(sorted(b), dtype=np.int64)
    assert intersection(x, y).tolist() == np.intersect1d(x, y).tolist()
    assert difference(x, y).tolist() == np.setdiff1d(x, y).tolist()


def test_partition_falls_back_to_exact_combination_when_hashes_collide(monkeypatch) -> None:
    import sdc.kernels.record_atoms as kernel

    rng = np.random.default_rng(3)
    codes = [rng.integers(-1, 4, 500) for _ in range(3)]
    hashed = partition(codes)
    monkeypatch.setattr(kernel, "mix_codes", lambda h, c, salt: None)  # every unit hashes alike
    exact = partition(codes)
    assert np.array_equal(exact.leaf, hashed.leaf) and np.array_equal(exact.counts, hashed.counts)
    assert exact.n_atoms == len({tuple(c[i] for c in codes) for i in range(500)} - {(-1,) * 3})


@st.composite
def systems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    """Released 0/1 rows and candidates, half of them combinations of the released rows."""
    n_atoms = draw(st.integers(1, 8))
    n_rows = draw(st.integers(0, 7))
    bits = st.lists(st.booleans(), min_size=n_atoms, max_size=n_atoms)
    rows = np.array(draw(st.lists(bits, min_size=n_rows, max_size=n_rows)), dtype=np.int8)
    rows = rows.reshape(n_rows, n_atoms)
    cands = []
    for _ in range(draw(st.integers(1, 5))):
        if n_rows and draw(st.booleans()):
            lam = np.array(draw(st.lists(st.integers(-2, 2), min_size=n_rows, max_size=n_rows)))
            v = lam @ rows
            if set(np.unique(v).tolist()) <= {0, 1} and v.any():
                cands.append(v.astype(np.int8))
                continue
        cands.append(np.array(draw(bits), dtype=np.int8))
    return rows, np.array(cands, dtype=np.int8).reshape(len(cands), n_atoms)


_ONES = np.zeros(0, dtype=np.int64)  # candidates' entries: all 1


def _csr(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    c = sp.csr_matrix(m)
    c.sort_indices()
    return c.indptr.astype(np.int64), c.indices.astype(np.int64)


@settings(max_examples=300, deadline=None)
@given(systems())
def test_span_decide_matches_rational_elimination(system: tuple) -> None:
    rows, cands = system
    n_atoms = cands.shape[1]
    released, candidates = _csr(rows), _csr(cands)
    state, cp, cr, cn, cd, rank, overflowed, independent = span_decide(
        *released, n_atoms, *candidates, _ONES
    )
    assert not overflowed
    x = np.concatenate([rows.T, cands.T], axis=1)  # columns: released rows, then candidates
    for i in range(cands.shape[0]):
        expected = in_span(x, list(range(rows.shape[0])), rows.shape[0] + i)
        assert bool(state[i] == 1) == expected
        if state[i] == 1:
            total = [Fraction(0)] * n_atoms
            for t in range(cp[i], cp[i + 1]):
                coef = Fraction(int(cn[t]), int(cd[i]))
                total = [s + coef * int(v) for s, v in zip(total, rows[cr[t]], strict=True)]
            assert total == [Fraction(int(v)) for v in cands[i]]
    assert rank == np.linalg.matrix_rank(rows.astype(float)) if rows.size else rank == 0
    # a released row is independent exactly when the rows before it do not give it
    own = rows.T
    for k in range(rows.shape[0]):
        assert bool(independent[k]) == (not in_span(own, list(range(k)), k))
    assert int(independent.sum()) == rank


@settings(max_examples=200, deadline=None)
@given(systems(), st.data())
def test_span_decide_takes_weighted_candidates(system: tuple, data: st.DataObject) -> None:
    """Integer candidates (as the random combinations that check a kept basis are):
    derivable exactly when rational elimination says so."""
    rows, _ = system
    n_rows, n_atoms = rows.shape
    cands = []
    for _ in range(data.draw(st.integers(1, 4))):
        entries = st.integers(-5, 5)
        if n_rows and data.draw(st.booleans()):
            lam = np.array(data.draw(st.lists(entries, min_size=n_rows, max_size=n_rows)))
            v = lam @ rows.astype(np.int64)
        else:
            v = np.array(data.draw(st.lists(entries, min_size=n_atoms, max_size=n_atoms)))
        if not v.any():
            v[0] = 1
        cands.append(v)
    c = sp.csr_matrix(np.array(cands, dtype=np.int64))
    c.sort_indices()
    state, *_ = span_decide(*_csr(rows), n_atoms, c.indptr.astype(np.int64),
                            c.indices.astype(np.int64), c.data.astype(np.int64))  # fmt: skip
    x = np.concatenate([rows.T.astype(np.int64), np.array(cands).T], axis=1)
    for i in range(len(cands)):
        assert bool(state[i] == 1) == in_span(x, list(range(n_rows)), n_rows + i)


def test_span_decide_finds_a_difference_of_nested_populations() -> None:
    # atoms: (N, under 90), (N, over 90), (S, under 90), (S, over 90)
    released = np.array([[1, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 0], [0, 0, 1, 0]])
    candidates = np.array([[0, 1, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1]])
    state, cp, cr, cn, cd, _, _, independent = span_decide(*_csr(released), 4,
                                                           *_csr(candidates), _ONES)  # fmt: skip
    assert independent.tolist() == [True, True, True, True]
    assert state.tolist() == [1, 1, 1]
    terms = {int(cr[t]): Fraction(int(cn[t]), int(cd[0])) for t in range(cp[0], cp[1])}
    assert terms == {0: 1, 2: -1}  # all of N minus N under 90


@settings(max_examples=100, deadline=None)
@given(st.integers(1, 30), st.integers(0, 12), st.integers(1, 3), st.integers(0, 2**32 - 1))
def test_weighted_sums_are_the_weighted_rows_summed(n_atoms: int, n_rows: int, checks: int,
                                                    seed: int) -> None:  # fmt: skip
    from sdc.kernels.span import weighted_sums

    rng = np.random.default_rng(seed)
    dense = (rng.random((n_rows, n_atoms)) < 0.4).astype(np.int64)
    coef = rng.integers(1, 1001, size=(n_rows, checks), dtype=np.int64)
    ptr, idx = _csr(dense)
    got = weighted_sums(ptr, idx.astype(np.int32), coef, n_atoms)
    assert np.array_equal(got, dense.T @ coef)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(-1, 4), max_size=40))
def test_leaf_rows_list_each_leafs_atoms_in_order(leaf: list[int]) -> None:
    from sdc.kernels.sorted_sets import leaf_rows

    indptr, indices = leaf_rows(np.array(leaf, dtype=np.int32), 5)
    for x in range(5):
        assert indices[indptr[x] : indptr[x + 1]].tolist() == [a for a, v in enumerate(leaf)
                                                               if v == x]  # fmt: skip
