"""The kernels of the fast single-machine path against plain twins.

``hash_codes`` (string codes from Arrow buffers) against a dict of first-seen
strings; ``string_hashes`` routes equal strings together; the inner-cell pass with
margins filled from cells (tables without contributors) against the row-by-row
kernel, on one thread and on row blocks; the Arrow-backed ``factorize`` against
``pandas.factorize``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from needs import module
from strategies import Microdata, microdata

from sdc.tables.evidence import compute_evidence
from sdc.tables.factorize import factorize
from sdc.tables.model import TableModel

TEXT = st.lists(
    st.one_of(st.none(), st.sampled_from(["", "a", "ab", "é", "12345678", "123456789", "x" * 30]),
              st.text(max_size=12)),
    min_size=0, max_size=200,
)  # fmt: skip


def first_seen(values: list[str | None]) -> tuple[list[int], list[str]]:
    """The plain twin of ``hash_codes``: codes in first-seen order, -1 for None."""
    seen: dict[str, int] = {}
    codes = [-1 if v is None else seen.setdefault(v, len(seen)) for v in values]
    return codes, list(seen)


@settings(max_examples=150, deadline=None)
@given(values=TEXT, start=st.integers(0, 5), large=st.booleans())
def test_hash_codes_match_first_seen_order(values: list[str | None], start: int,
                                           large: bool) -> None:  # fmt: skip
    pa = module("pyarrow")
    from sdc.tables.arrow_codes import arrow_codes

    arr = pa.array(["pad"] * start + values, type=pa.large_string() if large else pa.string())
    codes, labels = arrow_codes(arr.slice(start))  # a slice: buffers with an offset
    want_codes, want_labels = first_seen(values)
    assert codes.tolist() == want_codes and labels == want_labels


@settings(max_examples=80, deadline=None)
@given(values=TEXT)
def test_string_hashes_route_equal_strings_together(values: list[str | None]) -> None:
    pa = module("pyarrow")
    from sdc.tables.arrow_codes import arrow_hashes

    h = arrow_hashes(pa.chunked_array([pa.array(values[:7], pa.string()),
                                       pa.array(values[7:], pa.string())]))  # fmt: skip
    by_value: dict[str, set[int]] = {}
    for v, x in zip(values, h.tolist(), strict=True):
        if v is None:
            assert x == 0
        else:
            by_value.setdefault(v, set()).add(x)
    assert all(len(hs) == 1 for hs in by_value.values())


def test_python_held_strings_need_no_pyarrow(monkeypatch: pytest.MonkeyPatch) -> None:
    """Strings held by Python objects (pandas' default without pyarrow, as a plain install
    has it) are factorised without importing pyarrow."""
    import sys

    monkeypatch.setitem(sys.modules, "pyarrow", None)  # any import of it fails
    for dtype in (pd.StringDtype("python"), object):
        codes, labels = factorize(pd.Series(["b", "a", None, "b"], dtype=dtype))
        assert codes.tolist() == [1, 0, 2, 1] and labels == ["a", "b", "<missing>"]


@settings(max_examples=100, deadline=None)
@given(values=TEXT)
def test_arrow_factorize_equals_pandas_factorize(values: list[str | None]) -> None:
    module("pyarrow")
    series = pd.Series(values, dtype="string[pyarrow]")
    codes, labels = factorize(series)
    want_codes, uniques = pd.factorize(series, sort=True, use_na_sentinel=True)
    want = [str(u) for u in uniques]
    if (want_codes < 0).any():
        want_codes = np.where(want_codes < 0, len(want), want_codes)
        want.append("<missing>")
    assert codes.tolist() == want_codes.tolist() and labels == want


def _coded(case: Microdata) -> tuple[np.ndarray, TableModel, np.ndarray | None]:
    coded = [factorize(case.frame[d]) for d in case.dims]
    codes = np.ascontiguousarray(np.column_stack([c for c, _ in coded]), dtype=np.int64)
    model = TableModel(tuple(case.dims), tuple(tuple(lv) for _, lv in coded), n_rows=1)
    values = None
    if case.value is not None:
        values = case.frame[case.value].to_numpy(dtype=np.float64, na_value=np.nan)
    return codes, model, values


@given(case=microdata(contributor=False), threads=st.booleans())
@settings(deadline=None)
def test_inner_pass_equals_the_row_by_row_kernel(case: Microdata, threads: bool) -> None:
    """Rows into inner cells then margins from cells == every row into all its cells."""
    from sdc.kernels.evidence import table_evidence

    codes, model, values = _coded(case)
    ev = compute_evidence(codes, model, values, None, case.top_k, threads=threads)
    vals = np.ones(codes.shape[0]) if values is None else values
    counts, floats, top = table_evidence(
        codes, model.member_table, model.leaf_offsets, model.strides, vals,
        np.empty(0, np.int64), np.empty(0, np.int64), model.n_cells, max(case.top_k, 2),
    )  # fmt: skip
    for i, name in enumerate(("records", "nonmissing", "contributors", "negatives", "missing")):
        np.testing.assert_array_equal(getattr(ev, name), counts[:, i], err_msg=name)
    np.testing.assert_array_equal(ev.min, floats[:, 2])
    np.testing.assert_array_equal(ev.max, floats[:, 3])
    scale = np.maximum(floats[:, 1], 1.0)
    assert np.all(np.abs(ev.sum - floats[:, 0]) <= 1e-9 * scale)
    finite = np.isfinite(top)
    np.testing.assert_array_equal(np.isfinite(ev.top), finite)
    assert np.all(np.abs(ev.top[finite] - top[finite]) <= 1e-9 * np.repeat(scale, top.shape[1])
                  .reshape(top.shape)[finite])  # fmt: skip


def test_row_blocks_on_all_cores_equal_one_block() -> None:
    """Many rows, split into per-thread blocks and merged: the same evidence as one pass."""
    rng = np.random.default_rng(3)
    n = 300_000
    codes = np.ascontiguousarray(rng.integers(0, [4, 5, 3], size=(n, 3)), dtype=np.int64)
    model = TableModel(("a", "b", "c"), (tuple(range(4)), tuple(range(5)), tuple(range(3))), 2)
    values = rng.integers(-5, 100, n).astype(np.float64)
    values[rng.random(n) < 0.01] = np.nan
    one = compute_evidence(codes, model, values, threads=False)
    many = compute_evidence(codes, model, values, threads=True)
    for name in ("records", "nonmissing", "negatives", "missing", "sum", "min", "max", "top"):
        np.testing.assert_array_equal(getattr(one, name), getattr(many, name), err_msg=name)


def test_frequency_shortcut_equals_values_of_one() -> None:
    """A frequency table (counts only) has the evidence of the same rows with value 1."""
    rng = np.random.default_rng(0)
    codes = np.ascontiguousarray(rng.integers(0, 3, size=(500, 2)), dtype=np.int64)
    model = TableModel(("a", "b"), ((0, 1, 2), (0, 1, 2)), 1)
    freq = compute_evidence(codes, model, None)
    ones = compute_evidence(codes, model, np.ones(500))
    for name in ("records", "nonmissing", "contributors", "sum", "min", "max", "top"):
        np.testing.assert_array_equal(getattr(freq, name), getattr(ones, name), err_msg=name)
