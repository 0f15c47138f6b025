"""The microdata kernels equal their plain twins (``microdata_reference.py``) on any data."""

from __future__ import annotations

import microdata_reference as ref
import numpy as np
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sdc.kernels.microdata import (
    hashed_groups,
    packed_groups,
    radix_strides,
    row_groups,
    suda_scores,
    suppress_to_k,
    wildcard_frequencies,
)


@st.composite
def key_rows(draw, max_keys: int = 4, max_rows: int = 30, missing: bool = True):
    """Small skewed key matrices: few levels, a hot level, some missing values."""
    m = draw(st.integers(1, max_keys))
    n = draw(st.integers(1, max_rows))
    levels = [draw(st.integers(1, 4)) for _ in range(m)]
    value = st.integers(-1 if missing else 0, 3)
    rows = [tuple(min(draw(value), levels[j] - 1) for j in range(m)) for _ in range(n)]
    return np.array(rows, dtype=np.int64).reshape(n, m)


@settings(max_examples=150, deadline=None)
@given(key_rows(), st.integers(0, 2))
def test_row_groups_equal_the_twin_on_every_path(codes: np.ndarray, spread: int) -> None:
    """The direct table, the hash of packed keys and the hash of rows all agree with it;
    ``spread`` scales the codes so that packed keys outgrow the direct table."""
    codes = np.ascontiguousarray(np.where(codes >= 0, codes * 100**spread, -1))
    want = ref.row_groups([tuple(r) for r in codes.tolist()])
    strides, total, fits = radix_strides(codes)
    assert fits  # codes up to 3e4 on up to 4 keys: below 2**62
    for ids, first in (row_groups(codes), packed_groups(codes, strides, total),
                       hashed_groups(codes)):  # fmt: skip
        assert ids.tolist() == want
        assert first.tolist() == [want.index(g) for g in range(first.size)]


def test_rows_too_wide_to_pack_are_hashed() -> None:
    codes = np.array([[2**40, 2**40, 1], [2**40, 2**40, 1], [0, 2**40, 1]], dtype=np.int64)
    assert not radix_strides(codes)[2]
    assert row_groups(codes)[0].tolist() == [0, 0, 1]


def _patterns(codes: np.ndarray, weights: np.ndarray):
    ids, first = row_groups(np.ascontiguousarray(codes))
    counts = np.bincount(ids).astype(np.float64)
    w = np.bincount(ids, weights=weights).astype(np.float64)
    return ids, np.ascontiguousarray(codes[first]), counts, w


@settings(max_examples=200, deadline=None)
@given(key_rows(), st.sampled_from([1.0, 0.5, 0.1, 0.0]), st.randoms(use_true_random=False))
@example(np.array([[1, 1], [1, 1], [2, 2], [-1, -1], [1, -1]]), 1.0, None)
@example(np.array([[2], [3], [-1], [2], [1], [-1]]), 0.5, None)
def test_wildcard_frequencies_equal_the_definition(codes, alpha, rnd) -> None:
    n = codes.shape[0]
    weights = np.array([1.0 + (rnd.random() * 50 if rnd else i) for i in range(n)])
    ids, patterns, counts, w = _patterns(codes, weights)
    fk, Fk = wildcard_frequencies(patterns, counts, w, alpha)
    want_fk, want_Fk = ref.fk_Fk([tuple(r) for r in codes.tolist()], weights.tolist(), alpha)
    np.testing.assert_allclose(fk[ids], want_fk, rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(Fk[ids], want_Fk, rtol=1e-12, atol=1e-9)


@settings(max_examples=150, deadline=None)
@given(key_rows(max_keys=5, max_rows=25), st.integers(1, 5), st.sampled_from([0, 10**4]))
def test_suda_scores_equal_the_brute_force_search(codes, max_size, direct) -> None:
    """With subsets' groups numbered by a hash table (direct = 0) or a direct table."""
    m = codes.shape[1]
    ids, patterns, counts, _ = _patterns(codes, np.ones(codes.shape[0]))
    weights = np.array(ref.size_weights(max(m, 3)))
    cards = np.maximum(patterns.max(axis=0) + 1, 1).astype(np.int64)
    score, contrib, n_msu, smallest, _ = suda_scores(
        patterns, counts.astype(np.int64), cards, weights, max_size, direct
    )
    want = ref.suda([tuple(r) for r in codes.tolist()], weights.tolist(), max_size)
    np.testing.assert_allclose(score[ids], want[0])
    np.testing.assert_allclose(contrib[ids], want[1])
    assert n_msu[ids].tolist() == want[2].tolist()
    assert smallest[ids].tolist() == want[3].tolist()


@settings(max_examples=150, deadline=None)
@given(key_rows(max_keys=4, max_rows=25), st.integers(2, 4), st.sampled_from([1.0, 0.5]),
       st.permutations(range(4)))  # fmt: skip
def test_suppression_pass_equals_the_twin(codes, k, alpha, perm) -> None:
    m = codes.shape[1]
    order = np.array([j for j in perm if j < m], dtype=np.int64)
    ids, patterns, counts, _ = _patterns(codes, np.ones(codes.shape[0]))
    fk, _ = wildcard_frequencies(patterns, counts, counts, alpha)
    fk = fk[ids]
    low = np.flatnonzero(fk < k)
    violators = low[np.argsort(fk[low], kind="stable")].astype(np.int64)
    mine = np.ascontiguousarray(codes.copy())
    theirs = codes.tolist()
    got = suppress_to_k(mine, order, violators)
    want = ref.local_suppression_pass(theirs, order.tolist(), violators.tolist())
    assert got == want
    if got >= 0:
        assert mine.tolist() == theirs
