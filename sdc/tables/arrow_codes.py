"""Codes of grouping columns held as Arrow arrays, without a Python object per row.

Strings are hashed from their buffers by a kernel (:mod:`sdc.kernels.strings`);
dictionary-encoded columns (Parquet's usual string encoding) give their indices
and code only their (small) dictionary; other types go through Arrow's own
dictionary encoding. Only the distinct values become Python labels. Floating NaN
counts as missing, as in pandas. pyarrow is imported by the callers' data, never
by ``import sdc``.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def _buffers(chunk: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Character bytes, offsets and validity bits (empty: no nulls) of a string array."""
    import pyarrow as pa

    validity, offsets_buf, data_buf = chunk.buffers()[:3]
    wide = pa.types.is_large_string(chunk.type) or pa.types.is_large_binary(chunk.type)
    offsets = np.frombuffer(offsets_buf, dtype=np.int64 if wide else np.int32)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, "u1")
    bits = (
        np.frombuffer(validity, dtype=np.uint8)
        if validity is not None and chunk.null_count
        else np.zeros(0, np.uint8)
    )
    for arr in (data, offsets, bits):  # the kernels take Arrow's buffers as read-only
        arr.setflags(write=False)
    return data, offsets, bits


def _string_codes(chunk: Any) -> tuple[np.ndarray, list[Any]]:
    import pyarrow as pa

    from sdc.kernels.strings import hash_codes

    data, offsets, bits = _buffers(chunk)
    codes, first = hash_codes(data, offsets, bits, chunk.offset, len(chunk))
    labels = chunk.take(pa.array(first, type=pa.int64())).to_pylist()
    return codes, labels


def _chunk_codes(chunk: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes (-1 for missing) and labels of one Arrow array; labels may repeat (dictionaries)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    t = chunk.type
    if pa.types.is_null(t):  # a column with no value at all: every row missing, no level
        return np.full(len(chunk), -1, dtype=np.int64), []
    if pa.types.is_dictionary(t):
        inner, labels = _chunk_codes(chunk.dictionary)
        indices = chunk.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        mapped = np.append(inner, -1)  # index -1 (null) maps to -1
        return np.ascontiguousarray(mapped[indices]), labels
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return _string_codes(chunk)
    if pa.types.is_floating(t):
        chunk = pc.if_else(pc.is_nan(chunk), pa.scalar(None, t), chunk)
    encoded = chunk.dictionary_encode()  # distinct values, in first-seen order
    indices = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.ascontiguousarray(indices), encoded.dictionary.to_pylist()


def arrow_codes(array: Any) -> tuple[np.ndarray, list[Any]]:
    """Codes in first-seen order (-1 for missing) and the distinct labels of a column.

    ``array`` is a pyarrow ``Array`` or ``ChunkedArray``; labels are Python values
    (``to_pylist``), each once.

    Examples
    --------
    >>> import pyarrow as pa
    >>> codes, labels = arrow_codes(pa.chunked_array([["b", "a", None], ["b", "c"]]))
    >>> codes.tolist(), labels
    ([0, 1, -1, 0, 2], ['b', 'a', 'c'])
    """
    import pyarrow as pa

    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    if len(chunks) == 1:
        codes, chunk_labels = _chunk_codes(chunks[0])
        if len(set(chunk_labels)) == len(chunk_labels):  # no repeats: the codes stand as they are
            return codes, list(chunk_labels)
    out = np.empty(len(array), dtype=np.int64)
    index: dict[Any, int] = {}
    labels: list[Any] = []
    pos = 0
    for chunk in chunks:
        codes, chunk_labels = _chunk_codes(chunk)
        mapping = np.empty(len(chunk_labels) + 1, dtype=np.int64)
        for i, label in enumerate(chunk_labels):
            code = index.get(label)
            if code is None:
                code = index[label] = len(labels)
                labels.append(label)
            mapping[i] = code
        mapping[-1] = -1
        out[pos : pos + len(chunk)] = mapping[codes]  # code -1 picks the last entry: -1
        pos += len(chunk)
    return out, labels


def arrow_hashes(array: Any) -> np.ndarray:
    """A 64-bit hash of each value's text (0 for missing): equal values hash equal.

    Routes rows by value (a contributor's rows to one bucket) in any batch or file.

    Examples
    --------
    >>> import pyarrow as pa
    >>> h = arrow_hashes(pa.array([7, 8, 7, None]))
    >>> bool(h[0] == h[2]), bool(h[0] != h[1]), int(h[3])
    (True, True, 0)
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    from sdc.kernels.strings import string_hashes

    if pa.types.is_dictionary(array.type):
        array = array.cast(array.type.value_type)
    if not (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)):
        array = pc.cast(array, pa.string())
    chunks = array.chunks if isinstance(array, pa.ChunkedArray) else [array]
    parts = [string_hashes(*_buffers(c), c.offset, len(c)) for c in chunks]
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.uint64)
