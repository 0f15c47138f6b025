"""The Gaussian-elimination kernel against its exact, slow twin (``gauss_reference``)."""

from __future__ import annotations

from itertools import pairwise

import numpy as np
import pytest
from gauss_reference import determined, reference_candidate_order, reference_gauss_suppress
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.protection.secondary import candidate_order, secondary_suppress
from sdc.tables.model import TableModel


@st.composite
def tables(draw, singletons: bool = False):
    """A small table with margins, maybe hierarchy groups, counts, primaries and singletons."""
    k = draw(st.integers(1, 3))
    sizes = [draw(st.integers(2, 4 if k < 3 else 3)) for _ in range(k)]
    levels = tuple(tuple(f"l{i}" for i in range(n)) for n in sizes)
    groups = []
    for n in sizes:
        gs = []
        if n >= 3 and draw(st.booleans()):
            # A group of at least two leaves that is not everything (no duplicate columns).
            m = draw(st.integers(2, n - 1))
            gs.append(("g0", tuple(f"l{i}" for i in range(m))))
            if draw(st.booleans()):  # an overlapping grouping: margins alone can pin a cell
                gs.append(("g1", tuple(f"l{i}" for i in range(1, n))))
        groups.append(tuple(gs))
    tm = TableModel(tuple(f"d{i}" for i in range(k)), levels, 1, True,
                    tuple(groups) if any(groups) else ())  # fmt: skip
    x = tm.model_matrix()
    inner = draw(st.lists(st.integers(0, 30), min_size=x.shape[0], max_size=x.shape[0]))
    y = np.array(inner, dtype=np.int64)
    counts = np.asarray(x.T @ y).ravel()
    t = draw(st.integers(1, 6))
    primary = counts < t
    single = (y == 1) if singletons else None
    return tm, x, counts, primary, single


def _order(x, counts):
    """The candidate order, computed independently of the code under test."""
    return reference_candidate_order(x, counts, secondary_zeros=False)


@settings(max_examples=60, deadline=None)
@given(tables(), st.booleans())
def test_candidate_order_is_gauss_suppressions(case, secondary_zeros):
    _, x, counts, _, _ = case
    got = candidate_order(x.tocsc(), counts.astype(float), counts == 0, secondary_zeros)
    assert got.tolist() == reference_candidate_order(x, counts, secondary_zeros)


@settings(max_examples=60, deadline=None)
@given(tables())
def test_kernel_matches_exact_reference(case):
    _, x, counts, primary, _ = case
    order = _order(x, counts)
    got = secondary_suppress(x, primary, counts.astype(float))
    cands = [int(j) for j in order if not primary[j]]
    want = reference_gauss_suppress(x, cands, primary)
    np.testing.assert_array_equal(got.suppressed, want)
    assert not got.overflowed


def test_margins_that_pin_a_primary_follow_the_true_order() -> None:
    """Overlapping groups {a,b}, {b,c} and the total give b = G1 + G2 - All: one of the
    three aggregates must fall, and it is the last of them in the candidate order."""
    tm = TableModel(("d",), (("a", "b", "c"),), 1, True,
                    ((("G1", ("a", "b")), ("G2", ("b", "c"))),))  # fmt: skip
    x = tm.model_matrix()
    counts = np.asarray(x.T @ np.array([10, 2, 30])).ravel()
    primary = counts < 3
    got = secondary_suppress(x, primary, counts.astype(float))
    cands = [int(j) for j in _order(x, counts) if not primary[j]]
    want = reference_gauss_suppress(x, cands, primary)
    np.testing.assert_array_equal(got.suppressed, want)
    assert not (determined(x, ~got.suppressed) & primary).any()


@settings(max_examples=40, deadline=None)
@given(tables(singletons=True))
def test_kernel_matches_reference_with_singletons(case):
    tm, x, counts, primary, single = case
    order = _order(x, counts)
    # The reference marks singletons on published columns; inner column j is the unit of row i.
    inner_cols = np.flatnonzero(tm.inner_mask[tm.published_mask])
    single_pub = np.zeros(x.shape[1], dtype=bool)
    single_pub[inner_cols[single]] = True
    got = secondary_suppress(x, primary, counts.astype(float), singleton=single)
    cands = [int(j) for j in order if not primary[j]]
    want = reference_gauss_suppress(x, cands, primary, singleton=single_pub)
    np.testing.assert_array_equal(got.suppressed, want)


@settings(max_examples=60, deadline=None)
@given(tables(singletons=True))
def test_no_primary_is_determined_after_protection(case):
    _, x, counts, primary, single = case
    s = secondary_suppress(x, primary, counts.astype(float), singleton=single)
    if primary.any():
        det = determined(x, ~s.suppressed)
        assert not (det & primary).any()


@settings(max_examples=30, deadline=None)
@given(tables())
def test_same_input_same_pattern(case):
    _, x, counts, primary, _ = case
    a = secondary_suppress(x, primary, counts.astype(float))
    b = secondary_suppress(x, primary.copy(), counts.astype(float).copy())
    np.testing.assert_array_equal(a.suppressed, b.suppressed)


def test_copy_of_a_primary_is_suppressed_too():
    # One row: the column totals are copies of the inner cells.
    tm = TableModel(("r", "c"), (("a",), ("x", "y", "z")), n_rows=1)
    x = tm.model_matrix()
    counts = np.array([2, 20, 30, 52, 2, 20, 30, 52])
    s = secondary_suppress(x, counts < 3, counts.astype(float))
    labels = [tm.labels(int(c)) for c in np.flatnonzero(tm.published_mask)[s.suppressed]]
    assert {"r": "All", "c": "x"} in labels and {"r": "a", "c": "x"} in labels
    assert not determined(x, ~s.suppressed)[counts < 3].any()


@pytest.mark.parametrize("n", [30, 120])
def test_larger_hierarchical_table_is_safe(n):
    rng = np.random.default_rng(n)
    leaves = tuple(f"r{i}" for i in range(n))
    groups = ((("G" + str(i // 10), tuple(leaves[i : i + 10])) for i in range(0, n, 10)),)
    tm = TableModel(("r", "c"), (leaves, ("a", "b", "c", "d")), 1, True,
                    (tuple(groups[0]), ()))  # fmt: skip
    x = tm.model_matrix()
    y = rng.poisson(6, x.shape[0])
    counts = np.asarray(x.T @ y).ravel()
    s = secondary_suppress(x, (counts > 0) & (counts < 3), counts.astype(float))
    assert s.secondary.any()
    # An independent float rank test on this size (exact rank test is too slow here).
    pub = ~s.suppressed
    a = x[:, pub].toarray().astype(float)
    base = np.linalg.matrix_rank(a)
    for j in np.flatnonzero(s.primary):
        col = x[:, [j]].toarray().astype(float)
        assert np.linalg.matrix_rank(np.hstack([a, col])) == base + 1


def test_products_past_int64_are_caught_before_they_wrap() -> None:
    """The kernel's exact arithmetic stops (overflow, the safe side) before int64 wraps."""
    from sdc.kernels.gauss import _big

    assert _big(2**40, 2**22) and _big(-(2**31), 2**31)
    assert not _big(2**30, 2**30) and not _big(2**40, 1)


#: Primes below 2**31 (checked by trial division in ``test_random_primes_are_primes_in_range``).
_PRIMES = (2147483647, 2147483629, 1073741827, 1073741789)


def _is_prime_by_trial_division(n: int) -> bool:
    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))


@pytest.mark.parametrize("modulus", [0, 1, 4, 2147483649, 2**31 - 1 + 2**31])
def test_a_modulus_that_is_not_a_prime_below_2_31_is_refused(modulus) -> None:
    """Residues modulo a composite (or too large) number would decide silently wrong."""
    x = TableModel(("r", "c"), (("a", "b"), ("x", "y")), n_rows=1).model_matrix()
    counts = np.array([9, 2, 11, 20, 8, 28, 29, 10, 39], dtype=float)
    with pytest.raises(ValueError, match="modulus must be a prime below 2"):
        secondary_suppress(x, counts < 3, counts, modulus=modulus)


def test_random_primes_are_primes_in_range() -> None:
    from sdc.protection.secondary import random_prime

    assert all(_is_prime_by_trial_division(p) for p in _PRIMES)
    drawn = {random_prime() for _ in range(20)}
    assert len(drawn) > 1  # fresh entropy, not a fixed prime
    assert all(2**30 <= p < 2**31 and _is_prime_by_trial_division(p) for p in drawn)


@settings(max_examples=60, deadline=None)
@given(tables(singletons=True), st.sampled_from(_PRIMES))
def test_modular_elimination_decides_as_exact_rationals(case, modulus):
    """Past 2**40 the kernel works modulo a prime: on any table it decides as exact arithmetic."""
    _, x, counts, primary, single = case
    exact = secondary_suppress(x, primary, counts.astype(float), singleton=single)
    modular = secondary_suppress(
        x, primary, counts.astype(float), singleton=single, modulus=modulus
    )
    assert exact.proven and exact.modulus == 0
    assert modular.modulus == modulus and not modular.proven
    np.testing.assert_array_equal(modular.secondary, exact.secondary)


@settings(max_examples=25, deadline=None)  # the exact reference is slow on 3-D tables
@given(tables(), st.data(), st.sampled_from((None, *_PRIMES)))
def test_any_order_says_whether_the_published_cells_determine_a_hidden_one(case, data, modulus):
    _, x, counts, _, _ = case
    n = x.shape[1]
    hidden = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    if not hidden.any():
        return
    s = secondary_suppress(
        x, hidden, counts.astype(float), order=np.flatnonzero(~hidden), any_order=True,
        modulus=modulus,
    )  # fmt: skip
    assert bool(s.secondary.any()) == bool(determined(x, ~hidden)[hidden].any())


def _four_way_table(n_leaves: int, seed: int):
    """A 4-D table with subtotals of 4-6 leaves on every dimension (overflows exact arithmetic)."""
    rng = np.random.default_rng(seed)
    levels, groups = [], []
    for d in range(4):
        leaves = tuple(f"d{d}_{i}" for i in range(n_leaves))
        cuts = [0]
        while n_leaves - cuts[-1] > 6:
            cuts.append(cuts[-1] + int(rng.integers(4, 7)))
        cuts.append(n_leaves)
        levels.append(leaves)
        spans = enumerate(pairwise(cuts))
        groups.append(tuple((f"d{d}_g{g}", leaves[a:b]) for g, (a, b) in spans))
    tm = TableModel(tuple(f"v{d}" for d in range(4)), tuple(levels), 1, True, tuple(groups))
    x = tm.model_matrix()
    y = rng.negative_binomial(0.5, 0.5 / (0.5 + 40.0), x.shape[0])
    return x, np.asarray(x.T @ y, dtype=np.float64).ravel()


@pytest.mark.slow
def test_four_way_table_past_exact_arithmetic_is_protected() -> None:
    """Where the exact numbers overflow, the modular elimination's pattern is still safe.

    Before, every undecided cell was hidden. The attacker here is independent of
    the engine: an LP (scipy's HiGHS) over the published cells and y >= 0, for a
    sample of primaries; each must keep a positive width. (It can be far below 1:
    the elimination asks only that no primary is a combination of the published
    cells; the audit's requirements for small counts ask more.)
    """
    import scipy.sparse as sp
    from scipy.optimize import linprog

    from sdc.protection.audit import nothing_determined

    x, values = _four_way_table(13, 0)
    primary = (values > 0) & (values < 10)
    s = secondary_suppress(x, primary, values, zero=values == 0)
    assert s.modulus, "the exact elimination did not overflow: the table is too small"
    assert not s.overflowed and 0 < s.secondary.sum() < (~primary).sum() // 4
    # Carried on from the overflow, it decides as a run modulo another prime from the start.
    other = secondary_suppress(x, primary, values, zero=values == 0, modulus=_PRIMES[0])
    np.testing.assert_array_equal(other.secondary, s.secondary)
    xc = sp.csc_matrix(x, dtype=np.float64)
    assert nothing_determined(xc, values, s.suppressed)
    pub = np.flatnonzero(~s.suppressed)
    a_eq, b_eq = xc[:, pub].T.tocsr(), values[pub]
    rng = np.random.default_rng(1)
    for j in rng.choice(np.flatnonzero(primary), 1):  # about 20-60 s per LP
        c = xc[:, j].toarray().ravel()
        low = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        high = linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None), method="highs")
        assert low.status == 0 and high.status == 0
        assert -high.fun - low.fun > 1e-6, (j, low.fun, -high.fun)
