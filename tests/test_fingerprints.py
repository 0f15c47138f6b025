"""Column fingerprints keep their format: a registry holds fingerprints made by earlier
versions, and the gate recomputes them on the data, so the bytes hashed must not change.

The reference below hashes the documented bytes the plain way (positions of the labels
used, in text order, as little-endian int64; float64 values with every NaN alike and -0
as 0), written apart from the module's (which avoids copies of large columns).
"""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.definition import number_fingerprint, text_fingerprint
from sdc.differencing.population import index_fingerprint


def reference_text(codes: np.ndarray, labels: list) -> str:
    texts = [str(x) for x in labels]
    unique = sorted(set(texts))
    canonical = np.array([unique.index(texts[c]) for c in codes], dtype=np.int64)
    used = sorted(set(canonical.tolist()))
    position = {u: i for i, u in enumerate(used)}
    h = hashlib.sha256(b"sdc column text v1\n")
    h.update(json.dumps([unique[u] for u in used], ensure_ascii=True).encode("ascii"))
    h.update(b"\n")
    h.update(np.array([position[c] for c in canonical.tolist()], dtype="<i8").tobytes())
    return "sha256:" + h.hexdigest()


def reference_number(values: list[float]) -> str:
    plain = [float("nan") if v != v else (0.0 if v == 0 else float(v)) for v in values]
    h = hashlib.sha256(b"sdc column number v1\n")
    h.update(np.array(plain, dtype="<f8").tobytes())
    return "sha256:" + h.hexdigest()


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "10", "2", "x"]), min_size=1, max_size=5, unique=True),
       st.data())  # fmt: skip
def test_text_fingerprint_hashes_the_documented_bytes(labels: list[str], data) -> None:
    codes = np.array(data.draw(st.lists(st.integers(0, len(labels) - 1), max_size=30)),
                     dtype=data.draw(st.sampled_from([np.int8, np.int32, np.int64])))  # fmt: skip
    assert text_fingerprint(codes, labels) == reference_text(codes, labels)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.floats(allow_infinity=False), st.just(-0.0)), max_size=30))
def test_number_fingerprint_hashes_the_documented_bytes(values: list[float]) -> None:
    assert number_fingerprint(np.array(values, dtype=np.float64)) == reference_number(values)


def test_index_fingerprint_is_the_sorted_labels_whatever_their_order() -> None:
    labels = np.array([5, 1, 9, 3], dtype=np.int64)
    h = hashlib.sha256(b"sdc row labels v1\n")
    h.update(b"int\n")
    h.update(np.sort(labels).astype("<i8").tobytes())
    expected = "sha256:" + h.hexdigest()
    assert index_fingerprint(pd.Index(labels)) == expected
    assert index_fingerprint(pd.Index(np.sort(labels))) == expected
