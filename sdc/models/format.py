"""What a model file is, told from its bytes, and a zip reader that is safe on hostile archives.

An egress gate receives trained-model files and must check them without running
any code they carry, so nothing here trusts a file name or extension: ``sniff``
looks only at the bytes. Containers are read by ``SafeZip``, which checks every
entry's name, type, declared size and compression ratio before inflating
anything, then inflates lazily and never past the limits, because a declared
size can lie. ``protobuf_fields`` is a minimal protobuf wire reader shared with
``sdc.models.tensors`` (ONNX files are protobuf messages).

Errors: ``SdcRefusedFile`` for a file refused as unsafe (a bomb, a path that
escapes, an encrypted or oversized entry), ``SdcInputError`` for a malformed
file. No other exception escapes.
"""

from __future__ import annotations

import io
import re
import stat
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from sdc.exceptions import SdcInputError, SdcRefusedFile

__all__ = [
    "FORMATS",
    "Limits",
    "SafeZip",
    "open_zip",
    "protobuf_fields",
    "sniff",
    "sniff_all",
    "zip_kind",
]

FORMATS = ("pickle", "joblib-compressed", "zip", "safetensors", "onnx", "hdf5", "unknown")

_MiB = 1 << 20
_GiB = 1 << 30


@dataclass(frozen=True)
class Limits:
    """Size limits that keep a hostile file from exhausting memory or time.

    ``max_ratio`` bounds uncompressed/compressed size, per zip entry and over the
    whole archive; it applies only once the uncompressed size passes
    ``ratio_min_bytes``, because small runs of zeros (a bias vector, a padding
    block) legitimately compress far better than 200:1 and cannot hurt anyone.
    """

    max_file_bytes: int = 4 * _GiB
    max_entries: int = 10_000
    max_total_uncompressed: int = 8 * _GiB
    max_ratio: float = 200.0
    max_header_bytes: int = 100_000_000
    ratio_min_bytes: int = _MiB


# --------------------------------------------------------------------------- sniffing

_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
# HDF5 puts its superblock at 0 or after a user block of 512, 1024, 2048, ... bytes.
_HDF5_OFFSETS = (0, *(512 << k for k in range(8)))  # up to 64 KiB

# The whole-stream compressors joblib uses (joblib/compressor.py); "ZF" is the
# pre-0.10 joblib container of a zlib stream.
_COMPRESSED_MAGICS = (
    b"\x1f\x8b",  # gzip
    b"\xfd7zXZ\x00",  # xz
    b"\x04\x22\x4d\x18",  # lz4 frame
    b"ZF",  # old joblib
)

# Protocol 0/1 pickles have no magic. The first opcode must be one that can start
# a pickle (it needs no stack item and no memo entry); its argument is checked below.
_NO_ARG = frozenset(b"(]})N")
_FIXED_ARG = {ord("K"): 1, ord("M"): 2, ord("J"): 4, ord("G"): 8}
_LINE_ARG = frozenset(b"ILFSVP")
_COUNTED_ARG = {ord("U"): 1, ord("T"): 4, ord("X"): 4}
_INT_LINE = re.compile(rb"[+-]?[0-9]+L?")
_FLOAT_LINE = re.compile(rb"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?(inf|nan)")
_DOTTED_NAME = re.compile(rb"[A-Za-z_][A-Za-z0-9_.]*")
_PEEK = 4096  # how far into a file the text-pickle and safetensors checks look

# ModelProto top-level fields and their wire types (onnx.proto).
_ONNX_MODEL_FIELDS = {1: 0, 2: 2, 3: 2, 4: 2, 5: 0, 6: 2, 7: 2, 8: 2, 14: 2, 20: 2, 25: 2, 26: 2}
_ONNX_GRAPH_FIELD = 7


def sniff(data: bytes) -> str:
    """The format of a model file, from its bytes alone (never from its name).

    One of ``FORMATS``. A gate must not trust an extension: a pickle renamed
    ``model.onnx`` is still a pickle, and it is the pickle that would run code.
    Never raises.
    """
    found = sniff_all(data)
    return found[0] if found else "unknown"


def sniff_all(data: bytes) -> tuple[str, ...]:
    """Every format whose signature the bytes match, most specific first.

    More than one match means a polyglot (say an HDF5 file whose user block holds
    a pickle); a gate may refuse such a file rather than pick one reading.
    """
    if not isinstance(data, bytes):
        data = bytes(data)
    found: list[str] = []
    head = data[:16]
    if head.startswith(_ZIP_MAGICS):
        found.append("zip")
    if head.startswith(_HDF5_MAGIC):
        found.append("hdf5")
    if len(data) >= 2 and data[0] == 0x80 and 2 <= data[1] <= 5:
        found.append("pickle")
    if _is_compressed(head):
        found.append("joblib-compressed")
    if _is_safetensors(data):
        found.append("safetensors")
    if "pickle" not in found and _is_text_pickle(data):
        found.append("pickle")
    if any(data[offset : offset + 8] == _HDF5_MAGIC for offset in _HDF5_OFFSETS[1:]):
        found.append("hdf5")
    if not found and _is_onnx(data):
        found.append("onnx")
    return tuple(dict.fromkeys(found))


def _is_compressed(head: bytes) -> bool:
    if head.startswith(_COMPRESSED_MAGICS):
        return True
    if len(head) >= 4 and head[:3] == b"BZh" and 0x31 <= head[3] <= 0x39:  # bzip2, level 1-9
        return True
    if head.startswith(b"\x5d\x00\x00"):  # lzma-alone: lc/lp/pb byte, then dictionary size
        return True
    # zlib: CMF 0x78 (deflate, 32 KiB window) and a header checksum divisible by 31.
    return len(head) >= 2 and head[0] == 0x78 and ((head[0] << 8) | head[1]) % 31 == 0


def _is_safetensors(data: bytes) -> bool:
    if len(data) < 10:
        return False
    n = int.from_bytes(data[:8], "little")
    if not 2 <= n <= min(len(data) - 8, 100_000_000):
        return False
    return data[8 : 8 + min(n, _PEEK)].lstrip(b" ").startswith(b"{")


def _is_text_pickle(data: bytes) -> bool:
    """Whether the bytes look like a protocol 0 or 1 pickle (which has no magic number).

    Heuristic: the stream ends with STOP (``.``), its first opcode is one that can
    start a pickle, and that opcode's argument is well formed (a decimal line after
    ``I``, a quoted line after ``S``, ``module\\nname\\n`` after ``c``, a length that
    fits in the file after ``T``/``X``/``U``...). This keeps text such as
    "This is a note." from passing as a pickle.
    """
    if len(data) < 2 or not data.endswith(b"."):
        return False
    op, size = data[0], len(data) - 2  # bytes between the first opcode and STOP
    head = data[1 : 1 + min(size, _PEEK)]  # a bounded look: the file may be gigabytes
    if op in _NO_ARG:
        return True
    if op in _FIXED_ARG:
        return size >= _FIXED_ARG[op]
    if op in _COUNTED_ARG:
        width = _COUNTED_ARG[op]
        return size >= width and width + int.from_bytes(head[:width], "little") <= size
    if op == ord("c"):
        lines = head.split(b"\n", 2)
        return len(lines) == 3 and all(_DOTTED_NAME.fullmatch(line) for line in lines[:2])
    if op in _LINE_ARG:
        line, newline, _ = head.partition(b"\n")
        if not newline:
            return False
        if op in b"IL":
            return _INT_LINE.fullmatch(line) is not None
        if op == ord("F"):
            return _FLOAT_LINE.fullmatch(line) is not None
        if op == ord("S"):
            return line[:1] in (b"'", b'"')
        return True  # V (raw-unicode-escape text) and P (persistent id): any line
    return False


def _is_onnx(data: bytes) -> bool:
    """Whether the bytes parse as an ONNX ModelProto with a graph.

    Every top-level field must be a ModelProto field with its proper wire type and
    every length must stay inside the file; payloads are skipped, not parsed.
    """
    seen_graph = False
    try:
        for field, wire, _ in protobuf_fields(data):
            if _ONNX_MODEL_FIELDS.get(field) != wire:
                return False
            seen_graph = seen_graph or field == _ONNX_GRAPH_FIELD
    except SdcInputError:
        return False
    return seen_graph


def zip_kind(names: list[str]) -> str:
    """Which model layout a zip archive has, from its entry names.

    "torch" (``<root>/data.pkl`` with every entry under that one root, storages in
    ``<root>/data/``), "skops" (``schema.json`` at the top), "keras" (``config.json``
    and ``model.weights.h5`` at the top), else "zip".
    """
    top = set(names)
    roots = {name.split("/", 1)[0] for name in names}
    if len(roots) == 1:
        (root,) = roots
        if f"{root}/data.pkl" in top:
            return "torch"
    if "schema.json" in top:
        return "skops"
    if "config.json" in top and "model.weights.h5" in top:
        return "keras"
    return "zip"


# --------------------------------------------------------------------------- protobuf


def _varint(buf: memoryview, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end:
            raise SdcInputError("protobuf data ends inside a varint.")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result & 0xFFFF_FFFF_FFFF_FFFF, pos
        shift += 7
        if shift >= 70:
            raise SdcInputError("protobuf varint is longer than 10 bytes.")


def protobuf_fields(buf: bytes | memoryview) -> Iterator[tuple[int, int, int | memoryview]]:
    """The (field number, wire type, value) of each field of one protobuf message.

    The value is an int for varint (0), 64-bit (1) and 32-bit (5) fields, and a
    zero-copy memoryview of the payload for length-delimited fields (2). Groups
    (wire types 3 and 4), invalid wire types and field numbers, and lengths that
    run past the message raise ``SdcInputError``. Nested messages are not entered:
    the caller decides which to parse, so recursion depth is the caller's choice.
    """
    mv = memoryview(buf).cast("B") if not isinstance(buf, memoryview) else buf
    end = len(mv)
    pos = 0
    while pos < end:
        key, pos = _varint(mv, pos, end)
        field, wire = key >> 3, key & 7
        if field == 0 or field >= 1 << 29:
            raise SdcInputError(f"protobuf field number {field} is invalid.")
        value: int | memoryview
        if wire == 0:
            value, pos = _varint(mv, pos, end)
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > end:
                raise SdcInputError(f"protobuf field {field} runs past the end of its message.")
            value = int.from_bytes(mv[pos : pos + width], "little")
            pos += width
        elif wire == 2:
            length, pos = _varint(mv, pos, end)
            if length > end - pos:
                raise SdcInputError(
                    f"protobuf field {field} declares {length} bytes but only {end - pos} remain."
                )
            value = mv[pos : pos + length]
            pos += length
        else:
            raise SdcInputError(f"protobuf field {field} has unsupported wire type {wire}.")
        yield field, wire, value


# --------------------------------------------------------------------------- safe zip

_ALLOWED_METHODS = frozenset(
    {zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA}
)
_DRIVE = re.compile(r"[A-Za-z]:")
_CHUNK = _MiB


def _declared_entry_count(data: bytes) -> int | None:
    """The entry count the end-of-central-directory record declares (zip64 aware).

    Read before ``zipfile`` parses the central directory, so an archive declaring
    millions of entries is refused before they are all turned into objects.
    """
    at = data.rfind(b"PK\x05\x06", max(0, len(data) - 22 - 0xFFFF))
    if at < 0 or at + 22 > len(data):
        return None
    count = int.from_bytes(data[at + 10 : at + 12], "little")
    if count == 0xFFFF and at >= 20 and data[at - 20 : at - 16] == b"PK\x06\x07":
        offset = int.from_bytes(data[at - 12 : at - 4], "little")
        if data[offset : offset + 4] == b"PK\x06\x06":
            count = int.from_bytes(data[offset + 32 : offset + 40], "little")
    return count


def _check_name(info: zipfile.ZipInfo) -> None:
    raw = info.orig_filename  # zipfile cuts ``filename`` at a NUL; the original keeps it
    shown = repr(raw)
    if "\x00" in raw:
        raise SdcRefusedFile(f"zip entry {shown} has a NUL byte in its name.")
    if not raw:
        raise SdcRefusedFile("zip has an entry with an empty name.")
    if "\\" in raw:
        raise SdcRefusedFile(f"zip entry {shown} has a backslash in its name.")
    if raw.startswith("/"):
        raise SdcRefusedFile(f"zip entry {shown} has an absolute path.")
    if _DRIVE.match(raw):
        raise SdcRefusedFile(f"zip entry {shown} names a drive.")
    parts = raw.split("/")
    if raw.endswith("/"):
        parts = parts[:-1]
    if any(part in ("", ".", "..") for part in parts):
        raise SdcRefusedFile(
            f"zip entry {shown} has an empty, '.' or '..' path component (a path that can escape)."
        )
    mode = info.external_attr >> 16
    kind = stat.S_IFMT(mode)
    if kind == stat.S_IFLNK:
        raise SdcRefusedFile(f"zip entry {shown} is a symbolic link.")
    if kind not in (0, stat.S_IFREG, stat.S_IFDIR):
        raise SdcRefusedFile(f"zip entry {shown} is a special file (mode {oct(mode)}).")


class SafeZip(Mapping[str, bytes]):
    """A zip archive read in memory, checked before anything is inflated.

    On construction every entry is checked: count, name (no absolute path, drive,
    backslash, ``..``, NUL, duplicate), type (no symlink or device), encryption,
    compression method, declared sizes and ratios. Entries are then inflated only
    when asked for (``read`` or ``zf[name]``), in chunks, stopping as soon as an
    entry exceeds its declared size or the bytes inflated so far exceed
    ``max_total_uncompressed`` (each read counts, so read an entry once). Nothing
    is ever written to disk.
    """

    def __init__(self, data: bytes, limits: Limits | None = None) -> None:
        self.limits = limits = limits or Limits()
        if len(data) > limits.max_file_bytes:
            raise SdcRefusedFile(
                f"zip file has {len(data)} bytes, over the limit of {limits.max_file_bytes}."
            )
        declared = _declared_entry_count(data)
        if declared is not None and declared > limits.max_entries:
            raise SdcRefusedFile(
                f"zip declares {declared} entries, over the limit of {limits.max_entries}."
            )
        try:
            self._data = bytes(data)
            self._zip = zipfile.ZipFile(io.BytesIO(self._data))
            infos = self._zip.infolist()
        except Exception as exc:  # hostile input: any failure of the parser is a malformed file
            raise SdcInputError(f"zip file cannot be read: {_reason(exc)}.") from None
        if len(infos) > limits.max_entries:
            raise SdcRefusedFile(
                f"zip has {len(infos)} entries, over the limit of {limits.max_entries}."
            )
        self._infos: dict[str, zipfile.ZipInfo] = {}
        total = 0
        for info in infos:
            _check_name(info)
            name = info.orig_filename
            if name in self._infos:
                raise SdcRefusedFile(f"zip entry {name!r} appears more than once.")
            self._infos[name] = info
            self._check_entry(info, len(data))
            total += info.file_size
        if total > limits.max_total_uncompressed:
            raise SdcRefusedFile(
                f"zip entries declare {total} bytes uncompressed, over the limit of "
                f"{limits.max_total_uncompressed}."
            )
        if total > limits.ratio_min_bytes and total > limits.max_ratio * max(len(data), 1):
            raise SdcRefusedFile(
                f"zip entries declare {total} bytes uncompressed from a {len(data)}-byte file, "
                f"a ratio over the limit of {limits.max_ratio:g} (a zip bomb)."
            )
        self._inflated = 0

    def _check_entry(self, info: zipfile.ZipInfo, file_bytes: int) -> None:
        name, limits = info.orig_filename, self.limits
        if info.flag_bits & 0x41:  # bit 0: encrypted; bit 6: strong encryption
            raise SdcRefusedFile(f"zip entry {name!r} is encrypted, so it cannot be checked.")
        if info.compress_type not in _ALLOWED_METHODS:
            raise SdcInputError(
                f"zip entry {name!r} uses unsupported compression method {info.compress_type}."
            )
        if info.header_offset + info.compress_size > file_bytes:
            raise SdcInputError(f"zip entry {name!r} runs past the end of the file.")
        size = info.file_size
        if size > limits.max_total_uncompressed:
            raise SdcRefusedFile(
                f"zip entry {name!r} declares {size} bytes uncompressed, over the limit of "
                f"{limits.max_total_uncompressed}."
            )
        if size > limits.ratio_min_bytes and size > limits.max_ratio * max(info.compress_size, 1):
            raise SdcRefusedFile(
                f"zip entry {name!r} inflates {info.compress_size} bytes to {size}, a ratio over "
                f"the limit of {limits.max_ratio:g} (a zip bomb)."
            )

    @property
    def names(self) -> tuple[str, ...]:
        """Entry names in archive order (directories end with '/')."""
        return tuple(self._infos)

    def declared_size(self, name: str) -> int:
        """The uncompressed size the archive declares for an entry (not trusted when reading)."""
        return self._entry(name).file_size

    def _entry(self, name: str) -> zipfile.ZipInfo:
        info = self._infos.get(name)
        if info is None:
            raise SdcInputError(f"zip has no entry {name!r}.")
        return info

    def read(self, name: str) -> bytes:
        """The bytes of one entry, inflated in chunks and never past the limits.

        Stored and deflated entries (every model format in use) are inflated here,
        from the local header the central directory points at, so that a stream
        longer than its declared size is refused rather than silently cut (two
        readers would otherwise see different contents). Other methods go through
        ``zipfile``, which stops at the declared size.
        """
        info = self._entry(name)
        out = bytearray()
        try:
            if info.compress_type in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                self._inflate(info, out)
            else:
                with self._zip.open(info) as fh:
                    while chunk := fh.read(min(_CHUNK, info.file_size - len(out) + 1)):
                        out += chunk
                        self._check_growth(info, len(out))
        except SdcInputError:
            raise
        except Exception as exc:  # hostile input: any failure of the parser is a malformed file
            raise SdcInputError(f"zip entry {name!r} cannot be read: {_reason(exc)}.") from None
        self._inflated += len(out)
        if len(out) != info.file_size:
            raise SdcInputError(
                f"zip entry {name!r} holds {len(out)} bytes, not the {info.file_size} it declares."
            )
        if zlib.crc32(out) != info.CRC:
            raise SdcInputError(f"zip entry {name!r} fails its CRC-32 check.")
        return bytes(out)

    def _check_growth(self, info: zipfile.ZipInfo, produced: int) -> None:
        name, budget = info.orig_filename, self.limits.max_total_uncompressed
        if produced > info.file_size:
            raise SdcRefusedFile(
                f"zip entry {name!r} inflates past its declared size of {info.file_size} bytes."
            )
        if self._inflated + produced > budget:
            raise SdcRefusedFile(
                f"reading zip entry {name!r} takes the bytes inflated past the limit of {budget}."
            )

    def _payload(self, info: zipfile.ZipInfo) -> memoryview:
        """The compressed bytes of an entry, after checking its local header agrees with the
        central directory (a mismatch lets two readers see two different archives)."""
        name, at = info.orig_filename, info.header_offset
        head = self._data[at : at + 30]
        if len(head) < 30 or head[:4] != b"PK\x03\x04":
            raise SdcInputError(f"zip entry {name!r} has no local header where it should.")
        flags, method = int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
        name_len, extra_len = (
            int.from_bytes(head[26:28], "little"),
            int.from_bytes(head[28:30], "little"),
        )
        raw_name = self._data[at + 30 : at + 30 + name_len]
        local_name = raw_name.decode("utf-8" if flags & 0x800 else "cp437", errors="replace")
        if local_name != name or method != info.compress_type or flags & 0x41:
            raise SdcInputError(
                f"zip entry {name!r} has a local header that disagrees with the central directory."
            )
        start = at + 30 + name_len + extra_len
        if start + info.compress_size > len(self._data):
            raise SdcInputError(f"zip entry {name!r} runs past the end of the file.")
        return memoryview(self._data)[start : start + info.compress_size]

    def _inflate(self, info: zipfile.ZipInfo, out: bytearray) -> None:
        payload = self._payload(info)
        if info.compress_type == zipfile.ZIP_STORED:
            self._check_growth(info, len(payload))
            out += payload
            return
        inflater = zlib.decompressobj(-15)
        pos = 0
        while not inflater.eof:
            if inflater.unconsumed_tail:
                feed = inflater.unconsumed_tail
            elif pos < len(payload):
                feed, pos = bytes(payload[pos : pos + _CHUNK]), pos + _CHUNK
            else:
                raise SdcInputError(f"zip entry {info.orig_filename!r} ends inside its data.")
            out += inflater.decompress(feed, info.file_size - len(out) + 1)
            self._check_growth(info, len(out))
        if inflater.unused_data or inflater.unconsumed_tail or pos < len(payload):
            raise SdcInputError(
                f"zip entry {info.orig_filename!r} has bytes after the end of its data."
            )

    def close(self) -> None:
        """Release the archive (the bytes stay with the caller)."""
        self._zip.close()

    def __enter__(self) -> SafeZip:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getitem__(self, name: str) -> bytes:
        if name not in self._infos:
            raise KeyError(name)
        return self.read(name)

    def __contains__(self, name: object) -> bool:
        return name in self._infos

    def __iter__(self) -> Iterator[str]:
        return iter(self._infos)

    def __len__(self) -> int:
        return len(self._infos)


def open_zip(data: bytes, limits: Limits | None = None) -> SafeZip:
    """A checked, lazily inflating reader of a zip archive held in memory (see ``SafeZip``)."""
    return SafeZip(data, limits)


def _reason(exc: BaseException) -> str:
    text = str(exc).splitlines()[0].rstrip(".") if str(exc) else ""
    return text or type(exc).__name__
