"""Weight files read as data: safetensors, ONNX and HDF5, honest and hostile."""

from __future__ import annotations

import io
import json
import struct
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import h5py
import model_corpus as corpus
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from onnx import (
    NodeProto,
    SparseTensorProto,
    TensorProto,
    external_data_helper,
    helper,
    numpy_helper,
)
from safetensors.numpy import load as load_safetensors
from safetensors.numpy import save as save_safetensors

from sdc.exceptions import SdcInputError, SdcRefusedFile
from sdc.models.format import Limits
from sdc.models.tensors import (
    Tensor,
    read_hdf5,
    read_onnx,
    read_safetensors,
    safetensors_metadata,
)

ARRAYS: dict[str, np.ndarray] = {
    "f64": np.linspace(-1, 1, 5),
    "f32": np.arange(12, dtype=np.float32).reshape(3, 4) / 7,
    "f16": np.array([1.5, -2.0, np.inf], dtype=np.float16),
    "i64": np.array([-5, 2**40], dtype=np.int64),
    "i32": np.array([-3, 7], dtype=np.int32),
    "i16": np.array([-32768, 32767], dtype=np.int16),
    "i8": np.array([-128, 127], dtype=np.int8),
    "u64": np.array([2**64 - 1], dtype=np.uint64),
    "u32": np.array([2**32 - 1], dtype=np.uint32),
    "u16": np.array([65535], dtype=np.uint16),
    "u8": np.array([[0, 255]], dtype=np.uint8),
    "bool": np.array([True, False, True]),
    "c64": np.array([1 + 2j], dtype=np.complex64),
    "scalar": np.array(3.25, dtype=np.float32),
    "empty": np.zeros((0, 3), dtype=np.float32),
}


def _by_name(tensors: list[Tensor]) -> dict[str, Tensor]:
    out = {t.name: t for t in tensors}
    assert len(out) == len(tensors)
    return out


def _values(tensor: Tensor) -> np.ndarray:
    assert tensor.values is not None
    return tensor.values


def _assert_same(tensor: Tensor, array: np.ndarray) -> None:
    assert tensor.values is not None
    assert tensor.shape == array.shape
    assert tensor.values.dtype == array.dtype
    assert tensor.dtype == array.dtype.name
    assert np.array_equal(_values(tensor), array)


# --------------------------------------------------------------------------- safetensors


def _st_file(header: Mapping[str, object] | bytes, data: bytes = b"") -> bytes:
    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    return struct.pack("<Q", len(raw)) + raw + data


def test_safetensors_values_match_reference_writer() -> None:
    data = save_safetensors(ARRAYS, metadata={"format": "np", "note": "x"})
    tensors = _by_name(read_safetensors(data))
    assert set(tensors) == set(ARRAYS)
    for name, array in ARRAYS.items():
        _assert_same(tensors[name], array)
    reference = load_safetensors(data)
    for name, array in reference.items():
        assert np.array_equal(_values(tensors[name]), array)
    assert safetensors_metadata(data) == {"format": "np", "note": "x"}


def test_safetensors_without_loading() -> None:
    data = save_safetensors(ARRAYS)
    for tensor in read_safetensors(data, load=False):
        assert tensor.values is None
        assert tensor.shape == ARRAYS[tensor.name].shape
        assert tensor.dtype == ARRAYS[tensor.name].dtype.name


def test_safetensors_empty_file() -> None:
    assert read_safetensors(save_safetensors({})) == []


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=8).filter(lambda s: s != "__metadata__"),
        hnp.arrays(
            st.sampled_from(["<f4", "<f8", "<i8", "<i4", "u1", "?", "<f2", "<u2"]),
            hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4),
        ),
        max_size=4,
    )
)
def test_safetensors_round_trip(arrays: dict[str, np.ndarray]) -> None:
    tensors = _by_name(read_safetensors(save_safetensors(arrays)))
    assert set(tensors) == set(arrays)
    for name, array in arrays.items():
        assert tensors[name].shape == array.shape
        assert np.array_equal(_values(tensors[name]), array, equal_nan=array.dtype.kind == "f")


def test_safetensors_dtypes_numpy_lacks() -> None:
    header = {
        "bf": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]},
        "f8": {"dtype": "F8_E4M3", "shape": [3], "data_offsets": [8, 11]},
        "f4": {"dtype": "F4", "shape": [2], "data_offsets": [11, 12]},
    }
    tensors = _by_name(read_safetensors(_st_file(header, bytes(12))))
    assert tensors["bf"].shape == (2, 2) and tensors["bf"].values is None
    assert tensors["bf"].dtype == "bfloat16"
    assert tensors["f8"].shape == (3,) and tensors["f8"].values is None
    assert tensors["f4"].values is None


def test_safetensors_corpus_files(tmp_path: Path) -> None:
    with pytest.raises(SdcInputError, match="'b' starts at byte 8"):
        read_safetensors(corpus.safetensors_bad_offsets(tmp_path).read_bytes())
    with pytest.raises(SdcRefusedFile, match="200000000 bytes, over the limit"):
        read_safetensors(corpus.safetensors_huge_header(tmp_path).read_bytes())
    with pytest.raises(SdcInputError, match="repeats the key 'w'"):
        read_safetensors(corpus.safetensors_duplicate_names(tmp_path).read_bytes())


def test_safetensors_header_limit_is_configurable() -> None:
    data = save_safetensors({"w": np.ones(3)})
    with pytest.raises(SdcRefusedFile):
        read_safetensors(data, limits=Limits(max_header_bytes=10))


def _entry(**kw: object) -> dict[str, object]:
    return {"dtype": "F32", "shape": [2], "data_offsets": [0, 8], **kw}


@pytest.mark.parametrize(
    ("header", "data", "match"),
    [
        ({"a": _entry(dtype="F128")}, bytes(8), "unknown dtype"),
        ({"a": _entry(shape=[3])}, bytes(8), "needs 12 bytes"),
        ({"a": _entry(shape=[-2])}, bytes(8), "whole numbers"),
        ({"a": _entry(shape=[True, 2])}, bytes(8), "whole numbers"),
        ({"a": _entry(shape=[2.0])}, bytes(8), "whole numbers"),
        ({"a": _entry(data_offsets=[8, 0])}, bytes(8), "begin <= end"),
        ({"a": _entry(data_offsets=[0])}, bytes(8), "begin <= end"),
        ({"a": _entry(extra=1)}, bytes(8), "exactly the fields"),
        ({"a": [1, 2]}, bytes(8), "exactly the fields"),
        ({"a": _entry()}, bytes(12), "data area has 12"),
        ({"a": _entry(data_offsets=[4, 12])}, bytes(12), "starts at byte 4"),
        ({"a": _entry(), "__metadata__": {"k": 1}}, bytes(8), "map of text"),
        ({"a": _entry(), "__metadata__": []}, bytes(8), "map of text"),
    ],
)
def test_safetensors_malformed_headers(header: dict[str, object], data: bytes, match: str) -> None:
    with pytest.raises(SdcInputError, match=match) as info:
        read_safetensors(_st_file(header, data))
    assert not isinstance(info.value, SdcRefusedFile)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02\x00\x00",
        struct.pack("<Q", 50) + b"{}",
        _st_file(b"{\xff}"),
        _st_file(b"[1, 2]"),
        _st_file(b'{"a": NaN}'),
        _st_file(b"{" + b'"a": [' * 5000 + b"]" * 5000 + b"}"),
        _st_file(b'{"a": '),
        _st_file(b"  not json"),
    ],
)
def test_safetensors_malformed_files(data: bytes) -> None:
    with pytest.raises(SdcInputError):
        read_safetensors(data)


@given(st.binary(max_size=300))
def test_safetensors_any_bytes(data: bytes) -> None:
    try:
        read_safetensors(data)
    except SdcInputError:
        pass


@given(st.data())
def test_safetensors_mutations(data: st.DataObject) -> None:
    raw = bytearray(save_safetensors({"a": np.arange(6.0).reshape(2, 3), "b": np.ones(2, "?")}))
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        read_safetensors(bytes(raw[: data.draw(st.integers(0, len(raw)))]))
    except SdcInputError:
        pass


# --------------------------------------------------------------------------- ONNX

ONNX_ARRAYS: dict[str, np.ndarray] = {k: v for k, v in ARRAYS.items() if k != "c64"} | {
    "c128": np.array([1 + 2j, -0.5j]),
}


def _model(
    initializers: list[TensorProto],
    nodes: list[NodeProto] | None = None,
    sparse: list[SparseTensorProto] | None = None,
) -> bytes:
    graph = helper.make_graph(
        nodes or [],
        "g",
        [],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1])],
        initializer=initializers,
        sparse_initializer=sparse or [],
    )
    return helper.make_model(graph).SerializeToString()


def test_onnx_raw_data_values() -> None:
    inits = [numpy_helper.from_array(a, name=k) for k, a in ONNX_ARRAYS.items()]
    tensors = _by_name(read_onnx(_model(inits)))
    for name, array in ONNX_ARRAYS.items():
        _assert_same(tensors[name], array)
        assert np.array_equal(numpy_helper.to_array(inits[list(ONNX_ARRAYS).index(name)]), array)


def test_onnx_typed_field_values() -> None:
    inits = []
    for name, array in ONNX_ARRAYS.items():
        if array.dtype.kind == "c":
            continue
        code = helper.np_dtype_to_tensor_dtype(array.dtype)
        inits.append(helper.make_tensor(name, code, array.shape, array.ravel().tolist()))
    assert all(not t.raw_data for t in inits)
    tensors = _by_name(read_onnx(_model(inits)))
    for init in inits:
        _assert_same(tensors[init.name], numpy_helper.to_array(init))


def test_onnx_unpacked_typed_fields() -> None:
    """proto2 encodes repeated numbers unpacked; both encodings must read the same."""
    tensor = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[3])
    tensor.float_data.extend([1.0, 2.5, -4.0])
    raw = bytearray(tensor.SerializeToString())
    packed_at = raw.index(bytes([0x22]))  # field 4, wire type 2
    assert raw[packed_at + 1] == 12
    unpacked = b"".join(b"\x25" + struct.pack("<f", v) for v in (1.0, 2.5, -4.0))
    raw[packed_at : packed_at + 14] = unpacked
    model = TensorProto()
    model.ParseFromString(bytes(raw))
    (read,) = read_onnx(_model([model]))
    assert np.array_equal(_values(read), np.array([1.0, 2.5, -4.0], dtype=np.float32))


def test_onnx_dtypes_numpy_lacks() -> None:
    bf = helper.make_tensor("bf", TensorProto.BFLOAT16, [2], [1.0, 2.0])
    f8 = TensorProto(name="f8", data_type=TensorProto.FLOAT8E4M3FN, dims=[2], raw_data=b"\x01\x02")
    i4 = TensorProto(name="i4", data_type=TensorProto.INT4, dims=[3], raw_data=b"\x12\x03")
    text = TensorProto(name="s", data_type=TensorProto.STRING, dims=[2], string_data=[b"a", b"b"])
    typed_i4 = helper.make_tensor("typed_i4", TensorProto.INT4, [3], [1, -2, 3])
    typed_u2 = helper.make_tensor("typed_u2", TensorProto.UINT2, [5], [1, 0, 1, 1, 0])
    f6 = numpy_helper.from_array(np.ones(5).astype(helper.tensor_dtype_to_np_dtype(27)), "f6")
    tensors = _by_name(read_onnx(_model([bf, f8, i4, text, typed_i4, typed_u2, f6])))
    assert [(t.dtype, t.shape, t.values) for t in tensors.values()] == [
        ("bfloat16", (2,), None),
        ("float8e4m3fn", (2,), None),
        ("int4", (3,), None),
        ("string", (2,), None),
        ("int4", (3,), None),
        ("uint2", (5,), None),
        ("float6e2m3", (5,), None),
    ]


def test_onnx_sparse_initializer_densified() -> None:
    values = numpy_helper.from_array(np.array([5.0, 6.0], dtype=np.float32), "sp")
    indices = numpy_helper.from_array(np.array([1, 3], dtype=np.int64), "sp_idx")
    sparse = helper.make_sparse_tensor(values, indices, [2, 2])
    (tensor,) = read_onnx(_model([], sparse=[sparse]))
    assert tensor.name == "sp" and tensor.shape == (2, 2)
    assert np.array_equal(_values(tensor), np.array([[0, 5], [0, 6]], dtype=np.float32))
    coords = numpy_helper.from_array(np.array([[0, 1], [1, 0]], dtype=np.int64), "c")
    (tensor,) = read_onnx(_model([], sparse=[helper.make_sparse_tensor(values, coords, [2, 2])]))
    assert np.array_equal(_values(tensor), np.array([[0, 5], [6, 0]], dtype=np.float32))
    bad = numpy_helper.from_array(np.array([1, 9], dtype=np.int64), "bad")
    with pytest.raises(SdcInputError, match="bad indices"):
        read_onnx(_model([], sparse=[helper.make_sparse_tensor(values, bad, [2, 2])]))


def test_onnx_constant_node_tensors() -> None:
    value = numpy_helper.from_array(np.array([9, 8], dtype=np.int64), "")
    node = helper.make_node("Constant", [], ["C"], value=value)
    (tensor,) = read_onnx(_model([], nodes=[node]))
    assert tensor.name == "C.value"
    assert np.array_equal(_values(tensor), np.array([9, 8]))


def test_onnx_subgraph_tensors() -> None:
    inner_weight = numpy_helper.from_array(np.array([1.5], dtype=np.float32), "inner")
    branch = helper.make_graph(
        [], "b", [], [helper.make_tensor_value_info("inner", TensorProto.FLOAT, [1])],
        initializer=[inner_weight],
    )  # fmt: skip
    node = helper.make_node("If", ["cond"], ["Y"], then_branch=branch, else_branch=branch)
    tensors = read_onnx(_model([], nodes=[node]))
    assert [t.name for t in tensors] == ["inner", "inner"]


def _field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field (lengths here stay below 2**14)."""
    length = len(payload)
    size = bytes([length]) if length < 0x80 else bytes([length & 0x7F | 0x80, length >> 7])
    return bytes([number << 3 | 2]) + size + payload


def test_onnx_nesting_is_bounded() -> None:
    """Graph -> node -> attribute -> graph, 40 levels deep (written by hand: the protobuf
    library itself refuses to build messages this deep)."""
    graph = b""
    for _ in range(40):
        attribute = _field(1, b"body") + _field(6, graph)
        graph = _field(1, _field(5, attribute))
    with pytest.raises(SdcInputError, match="nested deeper than 32"):
        read_onnx(_field(7, graph))
    shallow = b""
    for _ in range(5):
        shallow = _field(1, _field(5, _field(1, b"body") + _field(6, shallow)))
    assert read_onnx(_field(7, shallow)) == []


def test_onnx_external_data_refused(tmp_path: Path) -> None:
    with pytest.raises(SdcRefusedFile, match=r"'\.\./\.\./\.\./\.\./etc/passwd'"):
        read_onnx(corpus.onnx_external_traversal(tmp_path).read_bytes())
    with pytest.raises(SdcRefusedFile, match=r"'\.\./secret\.bin'"):
        read_onnx(corpus.onnx_constant_external(tmp_path).read_bytes())


def test_onnx_external_data_written_by_onnx_helper() -> None:
    from onnx import ModelProto

    model = ModelProto()
    weight = numpy_helper.from_array(np.ones(64, dtype=np.float32), "W")
    model.ParseFromString(_model([weight]))
    external_data_helper.convert_model_to_external_data(
        model, all_tensors_to_one_file=True, location="../weights.bin", size_threshold=0
    )
    with pytest.raises(SdcRefusedFile, match=r"'W'.*'\.\./weights\.bin'"):
        read_onnx(model.SerializeToString())


def test_onnx_external_entry_without_location_flag_refused() -> None:
    tensor = numpy_helper.from_array(np.ones(2, dtype=np.float32), "W")
    entry = tensor.external_data.add()
    entry.key, entry.value = "location", "/etc/shadow"
    with pytest.raises(SdcRefusedFile, match="/etc/shadow"):
        read_onnx(_model([tensor]))


@pytest.mark.parametrize(
    ("tensor", "match"),
    [
        (TensorProto(name="a", data_type=1, dims=[3], raw_data=b"\x00" * 8), "needs 12 bytes"),
        (TensorProto(name="a", data_type=99, dims=[1], raw_data=b"\x00"), "unknown data type"),
        (TensorProto(name="a", data_type=0, dims=[1], raw_data=b"\x00"), "unknown data type"),
        (TensorProto(name="a", data_type=1, dims=[-1], raw_data=b""), "negative dimension"),
        (TensorProto(name="a", data_type=1, dims=[2], float_data=[1.0]), "1 stored values"),
        (TensorProto(name="a", data_type=1, dims=[2]), "0 stored values"),
        (TensorProto(name="a", data_type=3, dims=[1], int32_data=[300]), "out of range"),
        (TensorProto(name="a", data_type=1, dims=[1], int64_data=[1]), "does not use"),
        (
            TensorProto(name="a", data_type=1, dims=[1], float_data=[1.0], raw_data=b"\x00" * 4),
            "does not use",
        ),
        (TensorProto(name="a", data_type=8, dims=[2], string_data=[b"x"]), "1 strings"),
    ],
)
def test_onnx_malformed_tensors(tensor: TensorProto, match: str) -> None:
    with pytest.raises(SdcInputError, match=match) as info:
        read_onnx(_model([tensor]))
    assert not isinstance(info.value, SdcRefusedFile)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x08\x07", b"\x3a\x05abc", b"\x0b", b"\x3a\x02\x0b\x00", b"\xf8\x01\x00\x3a\x00"],
)
def test_onnx_malformed_models(data: bytes) -> None:
    with pytest.raises(SdcInputError):
        read_onnx(data)


def test_onnx_renamed_pickle_is_not_onnx(tmp_path: Path) -> None:
    with pytest.raises(SdcInputError):
        read_onnx(corpus.renamed_pickle(tmp_path).read_bytes())
    assert not (tmp_path / "renamed-pwned").exists()


@given(st.binary(max_size=300))
def test_onnx_any_bytes(data: bytes) -> None:
    try:
        read_onnx(data)
    except SdcInputError:
        pass


@given(st.data())
def test_onnx_mutations(data: st.DataObject) -> None:
    inits = [numpy_helper.from_array(a, name=k) for k, a in list(ONNX_ARRAYS.items())[:6]]
    inits.append(helper.make_tensor("t", TensorProto.INT64, [3], [1, -2, 3]))
    raw = bytearray(_model(inits))
    for _ in range(data.draw(st.integers(1, 4))):
        raw[data.draw(st.integers(0, len(raw) - 1))] = data.draw(st.integers(0, 255))
    try:
        read_onnx(bytes(raw[: data.draw(st.integers(0, len(raw)))]))
    except SdcInputError:
        pass


# --------------------------------------------------------------------------- HDF5


def _h5(build: Callable[[Any], None]) -> bytes:
    buf = io.BytesIO()
    with h5py.File(buf, "w") as fh:
        build(fh)
    return buf.getvalue()


def test_hdf5_datasets() -> None:
    kernel = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)

    def build(fh: h5py.File) -> None:
        fh.create_dataset("model_weights/dense/kernel", data=kernel, compression="gzip")
        fh.create_dataset("model_weights/dense/bias", data=np.zeros(3), compression="lzf")
        fh.create_dataset("step", data=np.int64(7))
        fh.create_dataset("flags", data=np.array([True, False]))
        fh.create_dataset("names", data=["a", "bc"])
        fh.create_dataset("pairs", data=np.zeros(2, dtype=[("x", "<f4"), ("y", "<i4")]))
        fh.create_dataset("big", data=np.ones(1000))
        fh.create_dataset("bigendian", data=np.arange(3, dtype=">i4"))
        fh["alias"] = fh["step"]  # a second hard link: reported once
        fh["soft"] = h5py.SoftLink("/model_weights/dense/kernel")
        fh.attrs["note"] = "attributes are not read"

    tensors = _by_name(read_hdf5(_h5(build), max_load_bytes=4000))
    assert set(tensors) == {
        "/model_weights/dense/kernel", "/model_weights/dense/bias", "/alias", "/flags",
        "/names", "/pairs", "/big", "/bigendian",
    }  # fmt: skip
    _assert_same(tensors["/model_weights/dense/kernel"], kernel)
    _assert_same(tensors["/model_weights/dense/bias"], np.zeros(3))
    _assert_same(tensors["/alias"], np.array(7))  # "/step" is the same dataset
    _assert_same(tensors["/flags"], np.array([True, False]))
    assert np.array_equal(_values(tensors["/bigendian"]), np.arange(3))
    assert (tensors["/names"].dtype, tensors["/names"].shape, tensors["/names"].values) == (
        "string", (2,), None,
    )  # fmt: skip
    assert tensors["/pairs"].dtype == "compound" and tensors["/pairs"].values is None
    assert tensors["/big"].shape == (1000,) and tensors["/big"].values is None


def test_hdf5_with_userblock() -> None:
    buf = io.BytesIO()
    with h5py.File(buf, "w", userblock_size=1024) as fh:
        fh.create_dataset("w", data=np.arange(3.0))
    (tensor,) = read_hdf5(buf.getvalue())
    _assert_same(tensor, np.arange(3.0))


def test_hdf5_hard_link_cycle_terminates() -> None:
    def build(fh: h5py.File) -> None:
        group = fh.create_group("g")
        group.create_dataset("w", data=np.arange(2))
        group["loop"] = fh["/"]

    assert [t.name for t in read_hdf5(_h5(build))] == ["/g/w"]


def test_hdf5_refused_files(tmp_path: Path) -> None:
    with pytest.raises(SdcRefusedFile, match=r"'/etc/passwd\.h5'"):
        read_hdf5(corpus.hdf5_external_link(tmp_path).read_bytes())
    with pytest.raises(SdcRefusedFile, match=r"'\.\./\.\./etc/passwd'"):
        read_hdf5(corpus.hdf5_external_storage(tmp_path).read_bytes())
    with pytest.raises(SdcRefusedFile, match=r"virtual.*'/tmp/other\.h5'"):
        read_hdf5(corpus.hdf5_virtual(tmp_path).read_bytes())


def test_hdf5_malformed(tmp_path: Path) -> None:
    with pytest.raises(SdcInputError, match="HDF5 file cannot be read") as info:
        read_hdf5(corpus.truncated_hdf5(tmp_path).read_bytes())
    assert not isinstance(info.value, SdcRefusedFile)
    with pytest.raises(SdcInputError):
        read_hdf5(b"not an hdf5 file")
    with pytest.raises(SdcInputError):
        read_hdf5(b"")


def test_hdf5_needs_h5py(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(SdcInputError, match="needs the optional h5py package"):
        read_hdf5(b"\x89HDF\r\n\x1a\n")
