"""Weight files read as data: safetensors, ONNX initializers and HDF5 datasets.

These formats hold numbers, not code, but only if they are read as data: the
readers here parse the bytes themselves (safetensors, ONNX) or through h5py
(HDF5), validate every size and offset against the file, and refuse any tensor
that keeps its values in another file, because the engine never opens a path
named inside a file (a gate would otherwise read, or let through, whatever the
path points at).

Errors: ``SdcRefusedFile`` for a file refused as unsafe, ``SdcInputError`` for a
malformed one; no other exception escapes.
"""

from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdc.exceptions import SdcInputError, SdcRefusedFile
from sdc.models.format import Limits, protobuf_fields

__all__ = ["Tensor", "read_hdf5", "read_onnx", "read_safetensors", "safetensors_metadata"]


@dataclass(frozen=True, eq=False)
class Tensor:
    """One named array of a weight file.

    ``values`` is a numeric or boolean array, or None when it was not loaded (too
    big, or a dtype numpy lacks such as bfloat16 and float8, or not numbers at
    all such as strings); ``shape`` and ``dtype`` are always known. Equality is
    identity (``eq=False``) because arrays have no single truth value.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    values: np.ndarray | None


# --------------------------------------------------------------------------- safetensors

# dtype -> (name reported, numpy dtype or None when numpy has none, bits per element)
_SAFETENSORS_DTYPES: dict[str, tuple[str, str | None, int]] = {
    "F64": ("float64", "<f8", 64),
    "F32": ("float32", "<f4", 32),
    "F16": ("float16", "<f2", 16),
    "BF16": ("bfloat16", None, 16),
    "C64": ("complex64", "<c8", 64),
    "I64": ("int64", "<i8", 64),
    "I32": ("int32", "<i4", 32),
    "I16": ("int16", "<i2", 16),
    "I8": ("int8", "i1", 8),
    "U64": ("uint64", "<u8", 64),
    "U32": ("uint32", "<u4", 32),
    "U16": ("uint16", "<u2", 16),
    "U8": ("uint8", "u1", 8),
    "BOOL": ("bool", "u1", 8),
    "F8_E4M3": ("float8_e4m3", None, 8),
    "F8_E5M2": ("float8_e5m2", None, 8),
    "F8_E8M0": ("float8_e8m0", None, 8),
    "F6_E2M3": ("float6_e2m3", None, 6),
    "F6_E3M2": ("float6_e3m2", None, 6),
    "F4": ("float4_e2m1", None, 4),
}
_TENSOR_KEYS = {"dtype", "shape", "data_offsets"}


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SdcInputError(f"safetensors header repeats the key {key!r}.")
        out[key] = value
    return out


def _reject_constant(name: str) -> None:
    raise SdcInputError(f"safetensors header has the non-JSON number {name}.")


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _safetensors_header(data: bytes, limits: Limits) -> tuple[dict[str, Any], int]:
    """The parsed header and where the data area starts; sizes checked, entries not yet."""
    if len(data) < 8:
        raise SdcInputError(
            f"safetensors file has {len(data)} bytes, fewer than its 8-byte header length."
        )
    n = int.from_bytes(data[:8], "little")
    if n > limits.max_header_bytes:
        raise SdcRefusedFile(
            f"safetensors header declares {n} bytes, over the limit of {limits.max_header_bytes}."
        )
    if n > len(data) - 8:
        raise SdcInputError(
            f"safetensors header declares {n} bytes but the file has only {len(data) - 8} after "
            "its length."
        )
    try:
        text = bytes(data[8 : 8 + n]).decode("utf-8")
    except UnicodeDecodeError:
        raise SdcInputError("safetensors header is not valid UTF-8.") from None
    if not text.lstrip(" ").startswith("{"):
        raise SdcInputError("safetensors header is not a JSON object.")
    try:
        header = json.loads(
            text, object_pairs_hook=_no_duplicate_keys, parse_constant=_reject_constant
        )
    except SdcInputError:
        raise
    except (ValueError, RecursionError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SdcInputError(f"safetensors header is not valid JSON: {reason}.") from None
    if not isinstance(header, dict):
        raise SdcInputError("safetensors header is not a JSON object.")
    metadata = header.get("__metadata__", {})
    if not isinstance(metadata, dict) or not all(isinstance(v, str) for v in metadata.values()):
        raise SdcInputError("safetensors '__metadata__' is not a map of text to text.")
    return header, 8 + n


def safetensors_metadata(data: bytes, *, limits: Limits | None = None) -> dict[str, str]:
    """The free-text ``__metadata__`` map of a safetensors file (it can carry disclosive text)."""
    header, _ = _safetensors_header(data, limits or Limits())
    return dict(header.get("__metadata__", {}))


def read_safetensors(
    data: bytes, *, load: bool = True, limits: Limits | None = None
) -> list[Tensor]:
    """Every tensor of a safetensors file, in data order, with every header field validated.

    Checked: header size and JSON (no duplicate keys), known dtypes, whole-number
    shapes, offsets that tile the data area exactly (no overlap, gap or tail) and
    match shape times element size. With ``load=False`` only names, shapes and
    dtypes are returned.
    """
    header, start = _safetensors_header(data, limits or Limits())
    area = len(data) - start
    entries = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or set(info) != _TENSOR_KEYS:
            raise SdcInputError(
                f"safetensors tensor {name!r} must have exactly the fields dtype, shape and "
                "data_offsets."
            )
        code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if not isinstance(code, str) or code not in _SAFETENSORS_DTYPES:
            raise SdcInputError(f"safetensors tensor {name!r} has unknown dtype {code!r}.")
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            raise SdcInputError(
                f"safetensors tensor {name!r} has a shape that is not a list of whole numbers."
            )
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(_is_count(o) for o in offsets)
            or offsets[0] > offsets[1]
        ):
            raise SdcInputError(
                f"safetensors tensor {name!r} has data_offsets that are not [begin, end] with "
                "0 <= begin <= end."
            )
        bits = math.prod(shape) * _SAFETENSORS_DTYPES[code][2]
        if bits % 8 or bits // 8 != offsets[1] - offsets[0]:
            raise SdcInputError(
                f"safetensors tensor {name!r} of shape {shape} and dtype {code} needs "
                f"{bits / 8:g} bytes but its offsets span {offsets[1] - offsets[0]}."
            )
        entries.append((offsets[0], offsets[1], name, code, tuple(shape)))
    entries.sort(key=lambda e: (e[0], e[1]))
    expected = 0
    for begin, end, name, _, _ in entries:
        if begin != expected:
            raise SdcInputError(
                f"safetensors tensor {name!r} starts at byte {begin} of the data area where "
                f"byte {expected} was expected: offsets overlap or leave a gap."
            )
        expected = end
    if expected != area:
        raise SdcInputError(
            f"safetensors tensors cover {expected} bytes but the data area has {area}."
        )
    out = []
    for begin, _end, name, code, shape in entries:
        label, np_dtype, _ = _SAFETENSORS_DTYPES[code]
        values = None
        if load and np_dtype is not None:
            count = math.prod(shape)
            values = np.frombuffer(data, dtype=np_dtype, count=count, offset=start + begin)
            if code == "BOOL":
                values = values != 0
            values = values.reshape(shape)
        out.append(Tensor(name, shape, label, values))
    return out


# --------------------------------------------------------------------------- ONNX

# TensorProto.DataType -> (name, numpy dtype or None, bits per element in raw_data, the
# typed field that holds the values when raw_data is absent)
_ONNX_TYPES: dict[int, tuple[str, str | None, int, int]] = {
    1: ("float32", "<f4", 32, 4),
    2: ("uint8", "u1", 8, 5),
    3: ("int8", "i1", 8, 5),
    4: ("uint16", "<u2", 16, 5),
    5: ("int16", "<i2", 16, 5),
    6: ("int32", "<i4", 32, 5),
    7: ("int64", "<i8", 64, 7),
    8: ("string", None, 0, 6),
    9: ("bool", "?", 8, 5),
    10: ("float16", "<f2", 16, 5),
    11: ("float64", "<f8", 64, 10),
    12: ("uint32", "<u4", 32, 11),
    13: ("uint64", "<u8", 64, 11),
    14: ("complex64", "<c8", 64, 4),
    15: ("complex128", "<c16", 128, 10),
    16: ("bfloat16", None, 16, 5),
    17: ("float8e4m3fn", None, 8, 5),
    18: ("float8e4m3fnuz", None, 8, 5),
    19: ("float8e5m2", None, 8, 5),
    20: ("float8e5m2fnuz", None, 8, 5),
    21: ("uint4", None, 4, 5),
    22: ("int4", None, 4, 5),
    23: ("float4e2m1", None, 4, 5),
    24: ("float8e8m0", None, 8, 5),
    25: ("uint2", None, 2, 5),
    26: ("int2", None, 2, 5),
    27: ("float6e2m3", None, 6, 5),
    28: ("float6e3m2", None, 6, 5),
}
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
_MAX_GRAPH_DEPTH = 32
_MAX_DENSE_ELEMENTS = 1 << 24
_VARINT_BLOCK = 1 << 20


def _bad(what: str) -> SdcInputError:
    return SdcInputError(f"ONNX {what}.")


def _text(value: int | memoryview) -> str:
    if not isinstance(value, memoryview):
        raise _bad("string field has the wrong wire type")
    return bytes(value).decode("utf-8", errors="backslashreplace")


def _message(value: int | memoryview, what: str) -> memoryview:
    if not isinstance(value, memoryview):
        raise _bad(f"{what} has the wrong wire type")
    return value


def _packed_varints(buf: memoryview) -> np.ndarray:
    """Decode a packed run of varints at numpy speed, as uint64 (two's complement for int64)."""
    raw = np.frombuffer(buf, dtype=np.uint8)
    if raw.size == 0:
        return np.zeros(0, dtype=np.uint64)
    if raw[-1] & 0x80:
        raise _bad("packed varint field ends inside a varint")
    ends = np.flatnonzero(raw < 0x80)
    pieces = []
    first = 0
    for block in range(0, ends.size, _VARINT_BLOCK):
        block_ends = ends[block : block + _VARINT_BLOCK]
        starts = np.concatenate(([first], block_ends[:-1] + 1))
        lengths = block_ends - starts + 1
        if lengths.max() > 10:
            raise _bad("packed varint is longer than 10 bytes")
        span = raw[first : block_ends[-1] + 1]
        position = np.arange(span.size) - np.repeat(starts - first, lengths)
        parts = (span & 0x7F).astype(np.uint64) << (7 * position).astype(np.uint64)
        pieces.append(np.bitwise_or.reduceat(parts, starts - first))
        first = int(block_ends[-1]) + 1
    return np.concatenate(pieces)


class _OnnxTensor:
    """The fields of one TensorProto, gathered before they are checked against each other."""

    def __init__(self, buf: memoryview) -> None:
        self.dims: list[int] = []
        self.code = 0
        self.name = ""
        self.raw: memoryview | None = None
        self.typed: dict[int, list[np.ndarray]] = {}
        self.strings = 0
        self.location = 0
        self.external: dict[str, str] = {}
        for field, wire, value in protobuf_fields(buf):
            if field == 1:
                self.dims.extend(_ints(wire, value).view(np.int64).tolist())
            elif field == 2 and wire == 0:
                self.code = int(value)
            elif field == 8:
                self.name = _text(value)
            elif field == 9:
                self.raw = _message(value, "raw_data")
            elif field in (4, 10):
                self.typed.setdefault(field, []).append(_floats(field, wire, value))
            elif field in (5, 7, 11):
                self.typed.setdefault(field, []).append(_ints(wire, value))
            elif field == 6:
                _message(value, "string_data")
                self.strings += 1
            elif field == 13:
                key = val = ""
                for f, _, v in protobuf_fields(_message(value, "external_data")):
                    if f == 1:
                        key = _text(v)
                    elif f == 2:
                        val = _text(v)
                self.external[key] = val
            elif field == 14 and wire == 0:
                self.location = int(value)
            elif field == 3:
                raise _bad(f"tensor {self.name!r} is split into segments, which is not supported")
            elif field in (2, 14):
                raise _bad(f"tensor field {field} has the wrong wire type")

    def to_tensor(self, label: str) -> Tensor:
        name = self.name or label
        if self.location == _EXTERNAL or self.external:
            where = self.external.get("location", "")
            raise SdcRefusedFile(
                f"ONNX tensor {name!r} keeps its values in the external file {where!r}; the "
                "engine never opens paths named inside a file, so save the model with its "
                "weights inside it."
            )
        if self.code not in _ONNX_TYPES:
            raise _bad(f"tensor {name!r} has unknown data type {self.code}")
        if any(d < 0 for d in self.dims):
            raise _bad(f"tensor {name!r} has a negative dimension in {self.dims}")
        dtype, np_dtype, bits, field = _ONNX_TYPES[self.code]
        shape = tuple(self.dims)
        count = math.prod(shape)
        used = set(self.typed) | ({6} if self.strings else set())
        if used - {field} or (self.raw is not None and used):
            raise _bad(f"tensor {name!r} stores values in a field its data type does not use")
        values: np.ndarray | None = None
        if field == 6:
            if self.raw is not None or self.strings != count:
                raise _bad(f"tensor {name!r} has {self.strings} strings where {count} are needed")
            return Tensor(name, shape, dtype, None)
        if self.raw is not None:
            need = (count * bits + 7) // 8
            if len(self.raw) != need:
                raise _bad(
                    f"tensor {name!r} of dims {list(shape)} and type {dtype} needs {need} bytes "
                    f"of raw_data but has {len(self.raw)}"
                )
            if np_dtype is not None:
                values = np.frombuffer(self.raw, dtype="u1" if dtype == "bool" else np_dtype)
        else:
            stored = np.concatenate(self.typed[field]) if field in self.typed else None
            if dtype.startswith("complex"):
                need = 2 * count  # real and imaginary parts
            else:
                per_stored = {4: 2, 2: 4}.get(bits, 1)  # 4- and 2-bit values are packed
                need = -(-count // per_stored)
            have = 0 if stored is None else stored.size
            if have != need:
                raise _bad(f"tensor {name!r} has {have} stored values where {need} are needed")
            if np_dtype is not None and stored is not None:
                values = _from_typed(stored, field, dtype, np_dtype, name)
            elif np_dtype is not None:
                values = np.zeros(0, dtype=np_dtype)
        if values is not None:
            if dtype == "bool":
                values = values != 0
            values = values.reshape(shape)
        return Tensor(name, shape, dtype, values)


def _ints(wire: int, value: int | memoryview) -> np.ndarray:
    if wire == 0:
        return np.array([value], dtype=np.uint64)
    if wire == 2:
        return _packed_varints(_message(value, "packed integers"))
    raise _bad("integer field has the wrong wire type")


def _floats(field: int, wire: int, value: int | memoryview) -> np.ndarray:
    width = 4 if field == 4 else 8
    dtype = "<f4" if width == 4 else "<f8"
    if wire == 2:
        buf = _message(value, "packed floats")
        if len(buf) % width:
            raise _bad(f"packed field {field} has {len(buf)} bytes, not a multiple of {width}")
        return np.frombuffer(buf, dtype=dtype)
    if wire == (5 if width == 4 else 1):
        return np.frombuffer(int(value).to_bytes(width, "little"), dtype=dtype)
    raise _bad(f"field {field} has the wrong wire type")


def _from_typed(stored: np.ndarray, field: int, dtype: str, np_dtype: str, name: str) -> np.ndarray:
    """The values of a tensor kept in the typed fields, range-checked for its real type.

    ``int32_data`` holds every narrow type (negative values sign-extended to 64 bits,
    float16 as its 16-bit pattern); ``uint64_data`` holds uint32 and uint64.
    """
    if field in (4, 10):
        return stored.view(np_dtype) if dtype.startswith("complex") else stored
    if dtype == "float16":
        if np.any(stored > 0xFFFF):
            raise _bad(f"tensor {name!r} has a float16 bit pattern wider than 16 bits")
        return stored.astype("<u2").view("<f2")
    source = stored if field == 11 else stored.view(np.int64)
    cast = source.astype("u1" if dtype == "bool" else np_dtype)
    if not np.array_equal(cast.astype(source.dtype), source):
        raise _bad(f"tensor {name!r} has values out of range for {dtype}")
    return cast


def _sparse(buf: memoryview, label: str) -> Tensor:
    values = indices = None
    dims: list[int] = []
    for field, wire, value in protobuf_fields(buf):
        if field == 1:
            values = _OnnxTensor(_message(value, "sparse values")).to_tensor(label)
        elif field == 2:
            indices = _OnnxTensor(_message(value, "sparse indices")).to_tensor(label + ".indices")
        elif field == 3:
            dims.extend(_ints(wire, value).view(np.int64).tolist())
    if values is None or indices is None:
        raise _bad(f"sparse tensor {label!r} lacks its values or indices")
    if any(d < 0 for d in dims):
        raise _bad(f"sparse tensor {values.name!r} has a negative dimension in {dims}")
    shape = tuple(dims)
    dense = None
    if (
        values.values is not None
        and indices.values is not None
        and math.prod(shape) <= _MAX_DENSE_ELEMENTS
    ):
        nnz = values.values.size
        index = indices.values.astype(np.int64)
        try:
            if index.ndim == 1 and index.size == nnz:
                flat = index
                if nnz and (flat.min() < 0 or flat.max() >= math.prod(shape)):
                    raise ValueError("index out of range")
            elif index.ndim == 2 and index.shape == (nnz, len(shape)):
                flat = np.ravel_multi_index(tuple(index.T), shape) if nnz else index.reshape(-1)
            else:
                raise ValueError("indices do not match the values")
        except (ValueError, IndexError) as exc:
            raise _bad(f"sparse tensor {values.name!r} has bad indices: {exc}") from None
        dense = np.zeros(math.prod(shape), dtype=values.values.dtype)
        dense[flat] = values.values.reshape(-1)
        dense = dense.reshape(shape)
    return Tensor(values.name, shape, values.dtype, dense)


class _OnnxWalk:
    """Collects every tensor a model stores: initializers, sparse initializers and the
    tensors in node attributes (Constant nodes), through subgraphs and functions."""

    def __init__(self) -> None:
        self.tensors: list[Tensor] = []

    def graph(self, buf: memoryview, depth: int) -> None:
        if depth > _MAX_GRAPH_DEPTH:
            raise _bad(f"graphs are nested deeper than {_MAX_GRAPH_DEPTH} levels")
        for field, _, value in protobuf_fields(buf):
            if field == 1:
                self.node(_message(value, "node"), depth)
            elif field == 5:
                label = f"initializer {len(self.tensors)}"
                self.tensors.append(_OnnxTensor(_message(value, "initializer")).to_tensor(label))
            elif field == 15:
                label = f"sparse initializer {len(self.tensors)}"
                self.tensors.append(_sparse(_message(value, "sparse_initializer"), label))

    def node(self, buf: memoryview, depth: int) -> None:
        label = ""
        attributes = []
        for field, _, value in protobuf_fields(buf):
            if field == 3 or (field == 2 and not label):
                label = _text(value) or label
            elif field == 5:
                attributes.append(_message(value, "attribute"))
        for attribute in attributes:
            self.attribute(attribute, label or "node", depth)

    def attribute(self, buf: memoryview, owner: str, depth: int) -> None:
        fields = list(protobuf_fields(buf))
        name = next((_text(v) for f, _, v in fields if f == 1), "")
        label = f"{owner}.{name}" if name else owner
        for field, _, value in fields:
            if field in (5, 10):  # t, tensors
                self.tensors.append(_OnnxTensor(_message(value, "tensor")).to_tensor(label))
            elif field in (22, 23):  # sparse_tensor, sparse_tensors
                self.tensors.append(_sparse(_message(value, "sparse tensor"), label))
            elif field in (6, 11):  # g, graphs
                self.graph(_message(value, "subgraph"), depth + 1)


def read_onnx(data: bytes) -> list[Tensor]:
    """Every tensor an ONNX model stores: graph initializers (sparse ones densified when
    small), and tensors held in node attributes, subgraphs, functions and training info.

    A tensor whose values live in an external file is refused with the path it names.
    """
    walk = _OnnxWalk()
    seen_graph = False
    for field, _, value in protobuf_fields(data):
        if field == 7:
            walk.graph(_message(value, "graph"), 0)
            seen_graph = True
        elif field == 20:  # training_info: initialization (1) and algorithm (2) graphs
            for f, _, v in protobuf_fields(_message(value, "training_info")):
                if f in (1, 2):
                    walk.graph(_message(v, "training graph"), 1)
        elif field == 25:  # functions: nodes (7) and attribute defaults (11)
            for f, _, v in protobuf_fields(_message(value, "function")):
                if f == 7:
                    walk.node(_message(v, "function node"), 1)
                elif f == 11:
                    walk.attribute(_message(v, "function attribute"), "function", 1)
        elif field not in (1, 2, 3, 4, 5, 6, 8, 14, 26):
            raise _bad(f"model has field {field}, which ModelProto does not define")
    if not seen_graph:
        raise _bad("model has no graph")
    return walk.tensors


# --------------------------------------------------------------------------- HDF5

# Filters built into libhdf5 (deflate, shuffle, fletcher32, szip, nbit, scaleoffset) and
# h5py's own LZF. Any other filter id makes libhdf5 search for and load a plugin library.
_HDF5_FILTERS = {1, 2, 3, 4, 5, 6, 32000}
_MAX_HDF5_OBJECTS = 100_000
_MAX_LOAD_BYTES = 256 * (1 << 20)


def _hdf5_dtype_name(h5py: Any, dt: np.dtype) -> str:
    if h5py.check_string_dtype(dt) is not None:
        return "string"
    if h5py.check_vlen_dtype(dt) is not None:
        return "vlen"
    if dt.fields is not None:
        return "compound"
    if dt.kind == "O":
        return "object"
    return dt.name if dt.kind in "biufc" else f"opaque{dt.itemsize * 8}"


def _hdf5_tensor(h5py: Any, ds: Any, path: str, max_load_bytes: int) -> Tensor:
    if ds.external:
        raise SdcRefusedFile(
            f"HDF5 dataset {path!r} keeps its values in the external file "
            f"{ds.external[0][0]!r}; the engine never opens paths named inside a file."
        )
    if ds.is_virtual:
        sources = [s.file_name for s in ds.virtual_sources()] or ["?"]
        raise SdcRefusedFile(
            f"HDF5 dataset {path!r} is virtual, drawing on the file {sources[0]!r}; the "
            "engine never opens paths named inside a file."
        )
    plist = ds.id.get_create_plist()
    for i in range(plist.get_nfilters()):
        code = plist.get_filter(i)[0]
        if code not in _HDF5_FILTERS:
            raise SdcRefusedFile(
                f"HDF5 dataset {path!r} uses filter {code}, which would load a plugin library."
            )
    dt = ds.dtype
    name = _hdf5_dtype_name(h5py, dt)
    shape = tuple(int(d) for d in ds.shape) if ds.shape is not None else ()
    values = None
    numeric = dt.kind in "biufc" and dt.fields is None and name == dt.name
    if numeric and ds.shape is not None and math.prod(shape) * dt.itemsize <= max_load_bytes:
        values = np.asarray(ds[()])
    return Tensor(path, shape, name, values)


def read_hdf5(data: bytes, *, max_load_bytes: int = _MAX_LOAD_BYTES) -> list[Tensor]:
    """Every dataset of an HDF5 file (Keras ``.h5`` weights), walked without following links out.

    External links, external storage, virtual datasets and plugin filters are
    refused (they name other files or libraries). Numeric datasets up to
    ``max_load_bytes`` are loaded; larger ones, and strings, variable-length and
    compound data, come back with ``values=None``. Attributes are not read.
    """
    try:
        import h5py
    except ImportError:
        raise SdcInputError("reading HDF5 needs the optional h5py package.") from None
    try:
        with h5py.File(io.BytesIO(data), "r") as fh:
            return _walk_hdf5(h5py, fh, max_load_bytes)
    except SdcInputError:
        raise
    except Exception as exc:  # hostile input: any failure of the library is a malformed file
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SdcInputError(f"HDF5 file cannot be read: {reason}.") from None


def _walk_hdf5(h5py: Any, fh: Any, max_load_bytes: int) -> list[Tensor]:
    """Iterative walk over hard links (soft links stay in the file and lead to objects the
    walk reaches anyway). Each object is visited once, so hard-link cycles end; a dataset
    linked from several places is reported once, under its smallest path."""
    root = fh["/"]
    seen = {root.id}
    datasets: dict[Any, tuple[str, Any]] = {}
    stack: list[tuple[str, Any]] = [("", root)]
    while stack:
        prefix, group = stack.pop()
        for key in list(group.keys()):
            link = group.get(key, getlink=True)
            path = f"{prefix}/{key}"
            if isinstance(link, h5py.ExternalLink):
                raise SdcRefusedFile(
                    f"HDF5 link {path!r} points to the external file {link.filename!r}; the "
                    "engine never opens paths named inside a file."
                )
            if not isinstance(link, h5py.HardLink):
                continue
            obj = group[key]
            if obj.id in seen:
                if obj.id in datasets and path < datasets[obj.id][0]:
                    datasets[obj.id] = (path, obj)
                continue
            seen.add(obj.id)
            if len(seen) > _MAX_HDF5_OBJECTS:
                raise SdcRefusedFile(
                    f"HDF5 file has more than {_MAX_HDF5_OBJECTS} objects, over the limit."
                )
            if isinstance(obj, h5py.Group):
                stack.append((path, obj))
            elif isinstance(obj, h5py.Dataset):
                datasets[obj.id] = (path, obj)
    found = sorted(datasets.values(), key=lambda item: item[0])
    return [_hdf5_tensor(h5py, ds, path, max_load_bytes) for path, ds in found]
