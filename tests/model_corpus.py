"""Hostile and edge-case model files for the tests of the model-file readers and the gate.

Each function writes one file into the directory it is given and returns its
path; its docstring names the attack it models. Nothing here ever loads what it
writes: the pickles are made with ``pickle.dumps``, which records a call without
making it. Names are stable because several test files use them.

Files that would run a command name a marker file inside the given directory
(``touch <marker>``), so a test can assert that the marker was never created.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

_GiB = 1 << 30
_MiB = 1 << 20


class _RunsShell:
    """An object whose pickle calls ``os.system(command)`` when it is loaded."""

    def __init__(self, command: str) -> None:
        self.command = command

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (os.system, (self.command,))


def malicious_pickle_bytes(marker: Path, protocol: int = 4) -> bytes:
    """A pickle that runs ``touch <marker>`` through ``os.system`` if anything unpickles it."""
    payload = {"weights": [0.5, -1.25], "hook": _RunsShell(f"touch {marker}")}
    return pickle.dumps(payload, protocol=protocol)


# --------------------------------------------------------------------------- zip writing


@dataclass
class ZipEntry:
    """One entry of a hand-written zip, so that every header field can be set or falsified."""

    name: bytes
    payload: bytes  # the bytes stored (already compressed when method is deflate)
    size: int  # declared uncompressed size
    crc: int
    method: int = zipfile.ZIP_STORED
    flags: int = 0
    external_attr: int = 0
    made_by: int = 20  # high byte 3 means Unix, where external_attr carries the file mode
    local_offset: int | None = None  # reuse another entry's local header (overlap)


def stored(name: str | bytes, data: bytes, **kw: int) -> ZipEntry:
    """A stored (uncompressed) entry with honest sizes."""
    raw = name.encode() if isinstance(name, str) else name
    return ZipEntry(raw, data, len(data), zlib.crc32(data), **kw)


def write_zip(path: Path, entries: list[ZipEntry]) -> Path:
    """Write a zip by hand (zipfile refuses or rewrites the fields the attacks need)."""
    out = io.BytesIO()
    offsets = []
    for entry in entries:
        if entry.local_offset is not None:
            offsets.append(entry.local_offset)
            continue
        offsets.append(out.tell())
        out.write(
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                entry.flags,
                entry.method,
                0,
                0x21,
                entry.crc,
                len(entry.payload),
                entry.size,
                len(entry.name),
                0,
            )
        )
        out.write(entry.name)
        out.write(entry.payload)
    cd_start = out.tell()
    for entry, offset in zip(entries, offsets, strict=True):
        out.write(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                entry.made_by,
                20,
                entry.flags,
                entry.method,
                0,
                0x21,
                entry.crc,
                len(entry.payload),
                entry.size,
                len(entry.name),
                0,
                0,
                0,
                0,
                entry.external_attr,
                offset,
            )
        )
        out.write(entry.name)
    cd_size = out.tell() - cd_start
    count = len(entries)
    out.write(struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_start, 0))
    path.write_bytes(out.getvalue())
    return path


def _zeros_deflated(total: int) -> tuple[bytes, int]:
    """A raw deflate stream of ``total`` zero bytes, and their CRC-32.

    After a full flush the compressor starts afresh, so every 1 MiB block of zeros
    compresses to the same bytes: the stream is one block repeated, built in
    milliseconds instead of deflating a gigabyte.
    """
    zeros = bytes(_MiB)
    comp = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH)
    assert comp.compress(zeros) + comp.flush(zlib.Z_FULL_FLUSH) == block
    tail = comp.flush()
    blocks, rest = divmod(total, _MiB)
    assert rest == 0
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    return block * blocks + tail, crc


def zip_bomb(dir: Path) -> Path:
    """Decompression bomb: one entry of 1 GiB of zeros deflated to about 1 MB (ratio ~1000:1).

    Its headers are honest, so a reader that checks declared sizes and ratios
    refuses it before inflating a byte; a naive ``ZipFile.read`` would allocate 1 GiB.
    """
    stream, crc = _zeros_deflated(_GiB)
    entry = ZipEntry(b"weights.bin", stream, _GiB, crc, method=zipfile.ZIP_DEFLATED)
    return write_zip(Path(dir) / "bomb.zip", [entry])


def zip_bomb_lying_sizes(dir: Path) -> Path:
    """Bomb whose headers lie: 1 GiB of deflated zeros declared as 1,000 bytes.

    Checks of declared sizes pass; only a reader that stops inflating at the
    declared size (and so never holds more than 1,000 bytes) is safe.
    """
    stream, _ = _zeros_deflated(_GiB)
    entry = ZipEntry(
        b"weights.bin", stream, 1000, zlib.crc32(bytes(1000)), method=zipfile.ZIP_DEFLATED
    )
    return write_zip(Path(dir) / "bomb_lying.zip", [entry])


def zip_overlap_bomb(dir: Path) -> Path:
    """Overlapping-entry bomb: 4,000 central-directory entries all pointing at one stored
    1 MiB entry.

    The file holds the data once (about 1.2 MB) but a reader trusting the central
    directory would produce 4,000 MiB. Each entry is stored, so its own ratio is 1:1
    and names differ; only the overall ratio of declared to actual bytes gives it away.
    """
    first = stored("w0.bin", bytes(_MiB))
    others = [
        ZipEntry(f"w{i}.bin".encode(), first.payload, first.size, first.crc, local_offset=0)
        for i in range(1, 4000)
    ]
    return write_zip(Path(dir) / "bomb_overlap.zip", [first, *others])


def zip_with_name(dir: Path, name: str | bytes, filename: str = "named.zip") -> Path:
    """A zip with one small entry of the given (possibly hostile) name, e.g. ``/etc/x``,
    ``C:/x``, ``a\\b``, ``a/../../x`` or a name with a NUL byte."""
    return write_zip(Path(dir) / filename, [stored(name, b"payload")])


def zip_traversal(dir: Path) -> Path:
    """Path traversal ("zip slip"): an entry named ``../../evil.txt``, which a careless
    extractor writes two directories above its target."""
    return zip_with_name(dir, "../../evil.txt", "traversal.zip")


def zip_symlink(dir: Path) -> Path:
    """Symlink entry: ``link`` is a Unix symlink to ``/etc/passwd`` (mode 0o120777), so an
    extractor that honours modes would then read or write through it."""
    entry = stored("link", b"/etc/passwd", external_attr=0o120777 << 16, made_by=(3 << 8) | 20)
    return write_zip(Path(dir) / "symlink.zip", [entry, stored("model.bin", b"\x00" * 8)])


def zip_duplicate_names(dir: Path) -> Path:
    """Two entries named ``model.pkl``: a checker may inspect the first while a loader
    uses the second."""
    entries = [stored("model.pkl", pickle.dumps({"ok": 1})), stored("model.pkl", b"second")]
    return write_zip(Path(dir) / "duplicates.zip", entries)


def zip_encrypted(dir: Path) -> Path:
    """An entry flagged as encrypted (general-purpose bit 0): its content cannot be checked,
    so it must be refused rather than passed unseen."""
    return write_zip(Path(dir) / "encrypted.zip", [stored("secret.bin", b"\x01" * 24, flags=1)])


def torch_like_zip_with_malicious_pickle(dir: Path, marker: Path | None = None) -> Path:
    """A zip laid out like ``torch.save`` output (``archive/data.pkl``, ``archive/data/0``,
    ``archive/version``, ``archive/byteorder``) whose ``data.pkl`` runs
    ``touch <marker>`` through ``os.system`` when unpickled (what ``torch.load`` with
    ``weights_only=False`` would do). The marker defaults to ``dir/torch-pwned``."""
    dir = Path(dir)
    marker = marker or dir / "torch-pwned"
    entries = [
        stored("archive/data.pkl", malicious_pickle_bytes(marker, protocol=2)),
        stored("archive/byteorder", b"little"),
        stored("archive/data/0", np.arange(4, dtype="<f4").tobytes()),
        stored("archive/version", b"3\n"),
    ]
    return write_zip(dir / "model.pt", entries)


def skops_like_zip(dir: Path) -> Path:
    """A benign zip laid out like a skops file: ``schema.json`` at the top plus a ``.npy``."""
    buf = io.BytesIO()
    np.save(buf, np.arange(3.0))
    with zipfile.ZipFile(Path(dir) / "model.skops", "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("schema.json", '{"__class__": "LinearRegression", "protocol": 1}')
        zf.writestr("coef.npy", buf.getvalue())
    return Path(dir) / "model.skops"


def keras_like_zip(dir: Path) -> Path:
    """A benign zip laid out like a Keras 3 ``.keras`` file: ``config.json``,
    ``metadata.json`` and ``model.weights.h5``."""
    with zipfile.ZipFile(Path(dir) / "model.keras", "w", zipfile.ZIP_STORED) as zf:
        zf.writestr("metadata.json", '{"keras_version": "3.0.0"}')
        zf.writestr("config.json", '{"class_name": "Sequential"}')
        zf.writestr("model.weights.h5", b"\x89HDF\r\n\x1a\n")
    return Path(dir) / "model.keras"


# --------------------------------------------------------------------------- pickles


def pickle_os_system(dir: Path, marker: Path) -> Path:
    """A plain pickle (``model.pkl``) that calls ``os.system("touch <marker>")`` when loaded:
    the classic arbitrary-code-execution model file."""
    path = Path(dir) / "model.pkl"
    path.write_bytes(malicious_pickle_bytes(Path(marker)))
    return path


def joblib_object_array(dir: Path) -> Path:
    """``joblib.dump({"x": np.array([1, "a"], dtype=object)})``: a numpy object array,
    whose elements are arbitrary pickled objects rather than numbers."""
    import joblib

    path = Path(dir) / "model.joblib"
    joblib.dump({"x": np.array([1, "a"], dtype=object)}, path)
    return path


def renamed_pickle(dir: Path) -> Path:
    """A pickle saved as ``model.onnx``: a gate that trusts extensions would parse it as
    protobuf and miss the ``os.system`` call (marker ``dir/renamed-pwned``)."""
    path = Path(dir) / "model.onnx"
    path.write_bytes(malicious_pickle_bytes(Path(dir) / "renamed-pwned"))
    return path


# --------------------------------------------------------------------------- tensor files


def _safetensors_bytes(header: Mapping[str, object] | bytes, data: bytes) -> bytes:
    import json

    raw = header if isinstance(header, bytes) else json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + data


def safetensors_bad_offsets(dir: Path) -> Path:
    """Two tensors whose data offsets overlap (``a`` is bytes 0-16, ``b`` bytes 8-24): one
    byte range read as two tensors, so a checker and a loader can see different values."""
    header = {
        "a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]},
        "b": {"dtype": "F32", "shape": [4], "data_offsets": [8, 24]},
    }
    path = Path(dir) / "bad_offsets.safetensors"
    path.write_bytes(_safetensors_bytes(header, bytes(24)))
    return path


def safetensors_huge_header(dir: Path) -> Path:
    """A header length field of 200,000,000 bytes (over the 100 MB the format allows) in a
    tiny file: a reader that allocates or reads what the length says can be exhausted."""
    path = Path(dir) / "huge_header.safetensors"
    path.write_bytes(struct.pack("<Q", 200_000_000) + b'{"a": 1}')
    return path


def safetensors_duplicate_names(dir: Path) -> Path:
    """A header naming tensor ``w`` twice: JSON parsers keep one or the other, so two
    readers can disagree about which bytes ``w`` is."""
    header = (
        b'{"w": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]}, '
        b'"w": {"dtype": "U8", "shape": [4], "data_offsets": [4, 8]}}'
    )
    path = Path(dir) / "duplicates.safetensors"
    path.write_bytes(_safetensors_bytes(header, bytes(range(8))))
    return path


def onnx_external_traversal(dir: Path) -> Path:
    """A valid ONNX model whose initializer ``W`` has data_location EXTERNAL and location
    ``../../../../etc/passwd``: loading it would read a file outside the model's directory."""
    from onnx import TensorProto, helper

    weight = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[2])
    weight.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "../../../../etc/passwd"), ("offset", "0"), ("length", "8")):
        entry = weight.external_data.add()
        entry.key, entry.value = key, value
    graph = helper.make_graph(
        [helper.make_node("Add", ["X", "W"], ["Y"])],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [2])],
        initializer=[weight],
    )
    path = Path(dir) / "external.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    return path


def onnx_constant_external(dir: Path) -> Path:
    """An ONNX model with no initializers whose Constant node's tensor lives in the external
    file ``../secret.bin``: a reader that checks only initializers would miss it."""
    from onnx import TensorProto, helper

    value = TensorProto(name="c", data_type=TensorProto.FLOAT, dims=[1])
    value.data_location = TensorProto.EXTERNAL
    entry = value.external_data.add()
    entry.key, entry.value = "location", "../secret.bin"
    node = helper.make_node("Constant", [], ["C"], value=value)
    graph = helper.make_graph(
        [node], "g", [], [helper.make_tensor_value_info("C", TensorProto.FLOAT, [1])]
    )
    path = Path(dir) / "constant_external.onnx"
    path.write_bytes(helper.make_model(graph).SerializeToString())
    return path


def _hdf5_bytes(build: Callable[[Any], None]) -> bytes:
    import h5py

    buf = io.BytesIO()
    with h5py.File(buf, "w") as fh:
        build(fh)
    return buf.getvalue()


def truncated_hdf5(dir: Path) -> Path:
    """An HDF5 weights file cut in half (an interrupted upload, or a file made to crash a
    parser that trusts the superblock's end-of-file address)."""
    data = _hdf5_bytes(lambda fh: fh.create_dataset("dense/kernel", data=np.ones((64, 64))))
    path = Path(dir) / "truncated.h5"
    path.write_bytes(data[: len(data) // 2])
    return path


def hdf5_external_link(dir: Path) -> Path:
    """An HDF5 file with an external link ``/leak`` to ``/etc/passwd.h5``: following it would
    open a file the researcher names."""
    import h5py

    def build(fh: Any) -> None:
        fh.create_dataset("w", data=np.arange(3.0))
        fh["leak"] = h5py.ExternalLink("/etc/passwd.h5", "/")

    path = Path(dir) / "external_link.h5"
    path.write_bytes(_hdf5_bytes(build))
    return path


def hdf5_external_storage(dir: Path) -> Path:
    """An HDF5 dataset whose raw storage is the external file ``../../etc/passwd``: reading
    the dataset would read that file's bytes as numbers."""

    def build(fh: Any) -> None:
        fh.create_dataset("w", shape=(4,), dtype="<f4", external=[("../../etc/passwd", 0, 16)])

    path = Path(dir) / "external_storage.h5"
    path.write_bytes(_hdf5_bytes(build))
    return path


def hdf5_virtual(dir: Path) -> Path:
    """An HDF5 virtual dataset mapped onto ``/tmp/other.h5``: its values come from another file."""
    import h5py

    def build(fh: Any) -> None:
        layout = h5py.VirtualLayout(shape=(4,), dtype="<f8")
        layout[:] = h5py.VirtualSource("/tmp/other.h5", "data", shape=(4,))
        fh.create_virtual_dataset("v", layout, fillvalue=0)

    path = Path(dir) / "virtual.h5"
    path.write_bytes(_hdf5_bytes(build))
    return path
