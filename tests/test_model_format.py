"""Format sniffing from bytes, and the safe zip reader on honest and hostile archives."""

from __future__ import annotations

import io
import pickle
import time
import zipfile
import zlib
from pathlib import Path

import h5py
import joblib
import model_corpus as corpus
import numpy as np
import onnx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper
from safetensors.numpy import save as save_safetensors

from sdc.exceptions import SdcInputError, SdcRefusedFile
from sdc.models.format import (
    FORMATS,
    Limits,
    SafeZip,
    open_zip,
    protobuf_fields,
    sniff,
    sniff_all,
    zip_kind,
)

# --------------------------------------------------------------------------- helpers


def _onnx_bytes() -> bytes:
    weight = numpy_helper.from_array(np.arange(6, dtype=np.float32).reshape(2, 3), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"])],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [1, 3])],
        initializer=[weight],
    )
    model = helper.make_model(graph, producer_name="tests")
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _hdf5_bytes(userblock: int = 0) -> bytes:
    buf = io.BytesIO()
    kw = {"userblock_size": userblock} if userblock else {}
    with h5py.File(buf, "w", **kw) as fh:
        fh.create_dataset("dense/kernel", data=np.ones((2, 2)))
    return buf.getvalue()


def _zip_bytes(entries: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
    return buf.getvalue()


def _refused(data: bytes, limits: Limits | None = None) -> str:
    with pytest.raises(SdcRefusedFile) as info:
        zf = open_zip(data, limits)
        for name in zf.names:
            zf.read(name)
    return str(info.value)


def _malformed(data: bytes) -> str:
    with pytest.raises(SdcInputError) as info:
        zf = open_zip(data)
        for name in zf.names:
            zf.read(name)
    assert not isinstance(info.value, SdcRefusedFile)
    return str(info.value)


# --------------------------------------------------------------------------- sniffing

PICKLED = [
    {"a": 1, "b": [1.5, "x"]},
    [1, 2, 3],
    (),
    (1,),
    1.5,
    -3,
    300,
    70_000,
    2**70,
    "text",
    b"bytes",
    None,
    True,
    np.arange(4.0),
]


@pytest.mark.parametrize("protocol", range(6))
@pytest.mark.parametrize("obj", PICKLED, ids=lambda o: type(o).__name__)
def test_sniff_pickle_every_protocol(protocol: int, obj: object) -> None:
    assert sniff(pickle.dumps(obj, protocol=protocol)) == "pickle"


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text() | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=10,
)


@given(json_like, st.integers(0, 5))
def test_sniff_any_pickle(obj: object, protocol: int) -> None:
    assert sniff(pickle.dumps(obj, protocol=protocol)) == "pickle"


@pytest.mark.parametrize("method", ["zlib", "gzip", "bz2", "lzma", "xz"])
def test_sniff_joblib_compressed(tmp_path: Path, method: str) -> None:
    path = tmp_path / f"model.{method}"
    joblib.dump({"coef": np.arange(10.0)}, path, compress=(method, 3))
    assert sniff(path.read_bytes()) == "joblib-compressed"


def test_sniff_malicious_pickle_without_running_it(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    data = corpus.pickle_os_system(tmp_path, marker).read_bytes()
    assert sniff(data) == "pickle"
    assert b"system" in data
    assert not marker.exists()


def test_sniff_joblib_uncompressed_is_pickle(tmp_path: Path) -> None:
    assert sniff(corpus.joblib_object_array(tmp_path).read_bytes()) == "pickle"


def test_sniff_tensor_formats() -> None:
    assert sniff(save_safetensors({"w": np.ones(3, dtype=np.float32)})) == "safetensors"
    assert sniff(save_safetensors({})) == "safetensors"
    assert sniff(_onnx_bytes()) == "onnx"
    assert sniff(_hdf5_bytes()) == "hdf5"
    assert sniff(_hdf5_bytes(userblock=512)) == "hdf5"
    assert sniff(_hdf5_bytes(userblock=4096)) == "hdf5"


def test_sniff_zip_layouts(tmp_path: Path) -> None:
    torch = corpus.torch_like_zip_with_malicious_pickle(tmp_path).read_bytes()
    cases = {
        "torch": torch,
        "skops": corpus.skops_like_zip(tmp_path).read_bytes(),
        "keras": corpus.keras_like_zip(tmp_path).read_bytes(),
        "zip": _zip_bytes({"readme.txt": b"hello", "data/x.bin": b"\x00"}),
    }
    for kind, data in cases.items():
        assert sniff(data) == "zip"
        assert zip_kind(list(open_zip(data).names)) == kind
    assert not (tmp_path / "torch-pwned").exists()


def test_sniff_empty_zip() -> None:
    data = _zip_bytes({})
    assert data.startswith(b"PK\x05\x06")
    assert sniff(data) == "zip"
    assert open_zip(data).names == ()


def test_zip_kind_rules() -> None:
    assert zip_kind(["archive/data.pkl", "archive/data/0", "archive/version"]) == "torch"
    assert zip_kind(["mymodel/data.pkl"]) == "torch"
    assert zip_kind(["archive/data.pkl", "other/file"]) == "zip"
    assert zip_kind(["data.pkl"]) == "zip"
    assert zip_kind(["schema.json", "a.npy"]) == "skops"
    assert zip_kind(["sub/schema.json"]) == "zip"
    assert zip_kind(["config.json", "model.weights.h5", "metadata.json"]) == "keras"
    assert zip_kind(["config.json"]) == "zip"
    assert zip_kind([]) == "zip"


def test_sniff_ignores_extension(tmp_path: Path) -> None:
    path = corpus.renamed_pickle(tmp_path)
    assert path.suffix == ".onnx"
    assert sniff(path.read_bytes()) == "pickle"
    assert not (tmp_path / "renamed-pwned").exists()
    disguised = tmp_path / "model.pkl"
    disguised.write_bytes(_onnx_bytes())
    assert sniff(disguised.read_bytes()) == "onnx"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00",
        b"\x80",
        b"\x80\x06.",
        b".",
        b"PK",
        b"{}",
        b"x",
        b"This is a note.",
        b"Sorry.",
        b"Version 1.",
        b"Il faut.",
        b"\x89HDF",
        b"\x00" * 64,
        b"hello world\n",
    ],
)
def test_sniff_unknown(data: bytes) -> None:
    assert sniff(data) == "unknown"


def test_sniff_text_pickle_heuristic() -> None:
    assert sniff(b"I42\n.") == "pickle"
    assert sniff(b"cos\nsystem\n(S'echo hi'\ntR.") == "pickle"
    assert sniff(b"cos\nsystem\n(S'echo hi'\ntR") == "unknown"  # no STOP
    assert sniff(b"c not a module\n.") == "unknown"
    assert sniff(b"T\xff\xff\xff\x7f.") == "unknown"  # length past the end


def test_sniff_all_reports_polyglot() -> None:
    data = bytearray(_hdf5_bytes(userblock=512))
    payload = pickle.dumps({"a": 1}, protocol=4)
    data[: len(payload)] = payload
    assert set(sniff_all(bytes(data))) >= {"pickle", "hdf5"}
    assert sniff_all(b"") == ()


@given(st.binary(max_size=512))
def test_sniff_never_raises(data: bytes) -> None:
    assert sniff(data) in FORMATS


@given(st.binary(max_size=64))
def test_sniff_never_raises_with_magic(tail: bytes) -> None:
    for head in (b"PK\x03\x04", b"\x80\x04", b"\x89HDF\r\n\x1a\n", b"\x08\x07\x3a", b"c"):
        assert sniff(head + tail) in FORMATS


# --------------------------------------------------------------------------- protobuf wire reader


def test_protobuf_fields_reads_wire_types() -> None:
    data = bytes([0x08, 0x96, 0x01, 0x12, 0x02, 0x68, 0x69, 0x19]) + b"\x01" * 8 + b"\x25abcd"
    fields = [(f, w, bytes(v) if isinstance(v, memoryview) else v) for f, w, v in
              protobuf_fields(data)]  # fmt: skip
    assert fields == [
        (1, 0, 150),
        (2, 2, b"hi"),
        (3, 1, int.from_bytes(b"\x01" * 8, "little")),
        (4, 5, int.from_bytes(b"abcd", "little")),
    ]


@pytest.mark.parametrize(
    "data",
    [
        b"\x0b",  # group start (wire type 3)
        b"\x0c",  # group end (wire type 4)
        b"\x0e",  # wire type 6
        b"\x12\x05ab",  # length past the end
        b"\x08",  # missing varint
        b"\x08" + b"\xff" * 11,  # varint longer than 10 bytes
        b"\x00\x01",  # field number 0
        b"\x19\x01\x02",  # truncated 64-bit
    ],
)
def test_protobuf_fields_rejects_malformed(data: bytes) -> None:
    with pytest.raises(SdcInputError):
        list(protobuf_fields(data))


# --------------------------------------------------------------------------- safe zip: honest files


def test_safe_zip_reads_every_method() -> None:
    entries = {"a.txt": b"alpha" * 100, "dir/b.bin": bytes(range(256)) * 4, "zeros": bytes(100_000)}
    for method in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA):
        data = _zip_bytes(entries, method)
        with open_zip(data) as zf:
            assert isinstance(zf, SafeZip)
            assert zf.names == tuple(entries)
            assert dict(zf) == entries
            assert zf.declared_size("zeros") == 100_000
            assert "a.txt" in zf and "missing" not in zf
            assert len(zf) == 3


def test_safe_zip_missing_entry() -> None:
    zf = open_zip(_zip_bytes({"a": b"1"}))
    with pytest.raises(KeyError):
        zf["missing"]
    with pytest.raises(SdcInputError, match="no entry 'missing'"):
        zf.read("missing")


def test_safe_zip_directory_entries() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.mkdir("sub")
        zf.writestr("sub/x", b"1")
    assert dict(open_zip(buf.getvalue())) == {"sub/": b"", "sub/x": b"1"}


# --------------------------------------------------------------------------- safe zip: attacks


def test_zip_bomb_refused_fast_without_writing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = corpus.zip_bomb(tmp_path)
    assert path.stat().st_size < 2_000_000
    before = sorted(p.name for p in tmp_path.iterdir())

    def no_extract(*args: object, **kw: object) -> None:
        raise AssertionError("extracted to disk")

    monkeypatch.setattr(zipfile.ZipFile, "extract", no_extract)
    monkeypatch.setattr(zipfile.ZipFile, "extractall", no_extract)
    start = time.perf_counter()
    message = _refused(path.read_bytes())
    assert time.perf_counter() - start < 1.0
    assert "weights.bin" in message and "200" in message
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_zip_bomb_with_lying_sizes_stops_at_declared_size(tmp_path: Path) -> None:
    data = corpus.zip_bomb_lying_sizes(tmp_path).read_bytes()
    zf = open_zip(data)  # the headers pass the checks: they lie
    start = time.perf_counter()
    with pytest.raises(SdcRefusedFile, match="past its declared size of 1000"):
        zf.read("weights.bin")
    assert time.perf_counter() - start < 1.0


def test_zip_overlap_bomb_refused(tmp_path: Path) -> None:
    message = _refused(corpus.zip_overlap_bomb(tmp_path).read_bytes())
    assert "ratio" in message


def test_zip_traversal_refused(tmp_path: Path) -> None:
    assert "../../evil.txt" in _refused(corpus.zip_traversal(tmp_path).read_bytes())
    assert not (tmp_path.parent.parent / "evil.txt").exists()


@pytest.mark.parametrize(
    "name",
    ["/etc/passwd", "C:/x.txt", "c:x", "a\\b.txt", "a/../../x", "..", "./x", "a//b", b"a\x00.txt",
     ""],
)  # fmt: skip
def test_zip_hostile_names_refused(tmp_path: Path, name: str | bytes) -> None:
    _refused(corpus.zip_with_name(tmp_path, name).read_bytes())


def test_zip_symlink_refused(tmp_path: Path) -> None:
    assert "symbolic link" in _refused(corpus.zip_symlink(tmp_path).read_bytes())


def test_zip_special_file_refused(tmp_path: Path) -> None:
    fifo = corpus.stored("pipe", b"", external_attr=0o010644 << 16, made_by=(3 << 8) | 20)
    assert "special file" in _refused(corpus.write_zip(tmp_path / "f.zip", [fifo]).read_bytes())


def test_zip_duplicates_refused(tmp_path: Path) -> None:
    assert "more than once" in _refused(corpus.zip_duplicate_names(tmp_path).read_bytes())


def test_zip_encrypted_refused(tmp_path: Path) -> None:
    assert "encrypted" in _refused(corpus.zip_encrypted(tmp_path).read_bytes())


def test_zip_limits(tmp_path: Path) -> None:
    data = _zip_bytes({f"f{i}": b"x" * 2000 for i in range(6)}, zipfile.ZIP_STORED)
    assert "limit of 5" in _refused(data, Limits(max_entries=5))
    assert "limit of 100" in _refused(data, Limits(max_file_bytes=100))
    assert "limit of 1000" in _refused(data, Limits(max_total_uncompressed=1000))
    assert "limit of 10000" in _refused(data, Limits(max_total_uncompressed=10_000))
    zf = open_zip(data, Limits(max_total_uncompressed=12_000))
    for name in zf.names:
        zf.read(name)
    with pytest.raises(SdcRefusedFile, match="inflated past the limit"):
        zf.read("f0")  # every read counts towards the running total


def test_zip_ratio_applies_only_above_floor() -> None:
    small = _zip_bytes({"bias": bytes(500_000)})  # ~1000:1, but only 0.5 MB
    assert open_zip(small).read("bias") == bytes(500_000)
    big = _zip_bytes({"bias": bytes(3_000_000)})
    assert "ratio" in _refused(big)
    assert open_zip(big, Limits(max_ratio=5000.0)).read("bias") == bytes(3_000_000)


def test_zip_malformed(tmp_path: Path) -> None:
    good = _zip_bytes({"a.txt": b"alpha" * 50})
    _malformed(b"PK\x03\x04" + b"\x00" * 40)
    _malformed(good[: len(good) // 2])
    bad_crc = corpus.ZipEntry(b"a", b"data", 4, zlib.crc32(b"data") ^ 1)
    assert "CRC" in _malformed(corpus.write_zip(tmp_path / "crc.zip", [bad_crc]).read_bytes())
    short = corpus.ZipEntry(b"a", b"data", 10, zlib.crc32(b"data"))
    _malformed(corpus.write_zip(tmp_path / "short.zip", [short]).read_bytes())
    method = corpus.ZipEntry(b"a", b"data", 4, zlib.crc32(b"data"), method=99)
    assert "method 99" in _malformed(corpus.write_zip(tmp_path / "m.zip", [method]).read_bytes())


def test_zip_local_header_mismatch(tmp_path: Path) -> None:
    first = corpus.stored("model.pkl", b"benign")
    alias = corpus.ZipEntry(b"other.pkl", b"benign", 6, first.crc, local_offset=0)
    data = corpus.write_zip(tmp_path / "alias.zip", [first, alias]).read_bytes()
    assert "disagrees with the central directory" in _malformed(data)


def test_zip_trailing_bytes_after_deflate_stream(tmp_path: Path) -> None:
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = comp.compress(b"hello") + comp.flush() + b"hidden"
    entry = corpus.ZipEntry(b"a", stream, 5, zlib.crc32(b"hello"), method=zipfile.ZIP_DEFLATED)
    assert "after the end" in _malformed(corpus.write_zip(tmp_path / "t.zip", [entry]).read_bytes())


def test_torch_like_zip_pickle_is_read_not_run(tmp_path: Path) -> None:
    data = corpus.torch_like_zip_with_malicious_pickle(tmp_path).read_bytes()
    zf = open_zip(data)
    assert zip_kind(list(zf.names)) == "torch"
    assert sniff(zf.read("archive/data.pkl")) == "pickle"
    assert not (tmp_path / "torch-pwned").exists()


@given(st.data())
def test_zip_mutations_raise_only_input_errors(data: st.DataObject) -> None:
    base = bytearray(_zip_bytes({"a.txt": b"alpha" * 40, "b/c.bin": bytes(range(200))}))
    for _ in range(data.draw(st.integers(1, 4))):
        at = data.draw(st.integers(0, len(base) - 1))
        base[at] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(base)))
    try:
        zf = open_zip(bytes(base[:cut]) if data.draw(st.booleans()) else bytes(base))
        for name in zf.names:
            zf.read(name)
    except SdcInputError:
        pass
