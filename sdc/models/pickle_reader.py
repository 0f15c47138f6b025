"""Read trained-model files (pickle, joblib) without running anything in them.

Unpickling runs code: every global a pickle names is imported and called, so a
model file handed to a gate can run any command the moment it is loaded. This
module never does that. It is a pure-Python interpreter of the pickle opcode
stream (protocols 0 to 5) that executes it *symbolically*:

* a global (GLOBAL, STACK_GLOBAL, INST) is only a name: a ``_Global`` marker is
  pushed and nothing is imported or looked up;
* calling a global (REDUCE, NEWOBJ, NEWOBJ_EX, OBJ, INST) builds an inert stub,
  ``Inert(cls, args)``, and BUILD, APPEND(S), SETITEM(S) record their values on
  it; no class code runs;
* a handful of data constructors (bytes, sets, slices, numpy dtypes, arrays and
  scalars) are evaluated by the interpreter itself, from validated plain values,
  so that model parameters arrive as real numbers and arrays;
* a numpy object array (``GradientBoostingClassifier.estimators_``, the
  ``feature_names_in_`` of a model fitted on a DataFrame, the ``categories_`` of
  an encoder fitted on text) is pickled as a list of its elements, and joblib
  writes one as a nested pickle after its ``NumpyArrayWrapper``. Either way the
  elements are read by this same interpreter, under the same allow-list and
  limits, and the array is rebuilt to hold those inert values (text, numbers,
  tuples, stubs, arrays). That is safe because nothing is called to rebuild it:
  the elements are values already read, and a global among them was checked
  like any other (one outside the allow-list refuses the file). Only such an
  array may hold data of the object dtype: raw bytes, a scalar or a record
  field of that dtype would be pointers, and are refused. joblib reads a nested
  pickle with a plain unpickler, so one that holds a joblib array wrapper of its
  own (a payload within a payload) is refused rather than read differently;
* every global is checked against an allow-list (:func:`allowed`). A file that
  names anything else is refused with :class:`~sdc.exceptions.SdcRefusedFile`,
  naming every such global: reading goes on after the first one so the message
  is complete. Extension codes, persistent ids, out-of-band buffers, joblib
  array data placed where joblib would not read it (inside a pickle frame) and
  data hidden after the pickle are refused too;
* sizes are bounded (stack, nesting, total array bytes, decompressed size) and
  the interpreter is a loop, not a recursion, so a hostile stream can neither
  exhaust the stack nor make a small file expand without limit.

A malformed or truncated stream is an :class:`~sdc.exceptions.SdcInputError`
saying where it went wrong; no other exception escapes.
"""

from __future__ import annotations

import bz2
import codecs
import lzma
import re
import struct
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import chain
from typing import Any

import numpy as np

from sdc.exceptions import SdcInputError, SdcRefusedFile
from sdc.models.format import Limits

__all__ = [
    "ALLOWED",
    "Inert",
    "PickleContents",
    "allowed",
    "read_joblib",
    "read_pickle",
]

MAX_STACK = 1_000_000
"""Most values the stack (with the values set aside by MARK) may hold at once."""

MAX_NESTING = 500
"""Deepest nesting of containers and stubs accepted, so that readers of the result can recurse."""

MAX_DTYPE_NESTING = 32
"""Deepest nesting of numpy record dtypes accepted (numpy hashes and prints them recursively)."""

MAX_NAMES_LISTED = 100
"""Disallowed globals named in a refusal; a file naming more is summarised with a count."""

MAX_PAYLOAD_DEPTH = 1
"""Deepest nesting of joblib object-array payloads (a nested pickle inside the file) accepted.

joblib reads a payload with a plain unpickler, which never treats the bytes after
an array wrapper as array data, so a payload inside a payload cannot occur in a
file joblib wrote; one is refused.
"""

_HIGHEST_PROTOCOL = 5
_CHUNK = 1 << 20


@dataclass(eq=False)
class Inert:
    """An object rebuilt from a pickle without running its class's code.

    ``cls`` is the global the file names; ``args`` what the constructor would
    have been called with; ``state`` what BUILD would pass to ``__setstate__``;
    ``items`` and ``setitems`` what APPEND(S) and SETITEM(S) would have added
    (ADDITEMS adds to ``items``; NEWOBJ_EX keyword arguments end ``args`` as a dict).
    A class or function that is referenced but not called appears as a
    ``_Global`` marker (its ``name`` is ``"module.name"``). Equality is
    identity, so stubs can be dictionary keys and set members as the real
    objects were.
    """

    cls: str
    args: tuple = ()
    state: Any = None
    items: list = field(default_factory=list)
    setitems: list = field(default_factory=list)


@dataclass(eq=False)
class _Pending(Inert):
    """A numpy dtype, array or joblib array wrapper waiting for its BUILD state."""

    kind: str = ""
    memo_keys: list = field(default_factory=list)


@dataclass(frozen=True)
class _Global:
    """A global named by the pickle; only its name is kept, it is never imported."""

    name: str


@dataclass(frozen=True)
class PickleContents:
    """What a pickle holds, rebuilt inertly: the top value and every global it names."""

    root: Any
    globals: tuple[str, ...]
    protocol: int | None
    n_opcodes: int


# --------------------------------------------------------------------------------------
# Allow-list

_NUMPY_SCALAR_TYPES = (
    "bool",
    "bool_",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "intc",
    "uintc",
    "intp",
    "uintp",
    "longlong",
    "ulonglong",
    "float16",
    "float32",
    "float64",
    "longdouble",
    "complex64",
    "complex128",
    "clongdouble",
    "str_",
    "bytes_",
    "datetime64",
    "timedelta64",
)
_BUILTIN_TYPES = (
    "int",
    "float",
    "bool",
    "str",
    "bytes",
    "bytearray",
    "complex",
    "object",
    "list",
    "dict",
    "tuple",
    "set",
    "frozenset",
    "slice",
)
_SPARSE_FORMATS = ("csr", "csc", "coo", "bsr", "dia", "dok", "lil")
_NUMPY_CORE = ("numpy.core", "numpy._core")

ALLOWED: frozenset[str] = frozenset(
    {
        # data constructors the interpreter evaluates itself
        "_codecs.encode",
        "collections.OrderedDict",
        "copyreg._reconstructor",
        "copyreg.__newobj__",
        "copyreg.__newobj_ex__",
        "numpy.dtype",
        *(f"{core}.multiarray._reconstruct" for core in _NUMPY_CORE),
        *(f"{core}.multiarray.scalar" for core in _NUMPY_CORE),
        *(f"{core}.numeric._frombuffer" for core in _NUMPY_CORE),
        # types, referenced as values (never called)
        *(f"builtins.{name}" for name in _BUILTIN_TYPES),
        *(f"numpy.{name}" for name in _NUMPY_SCALAR_TYPES),
        "numpy.ndarray",
        "numpy.memmap",
        # random generators: inert stubs
        "numpy.random.__RandomState_ctor",
        "numpy.random._pickle.__randomstate_ctor",
        "numpy.random._pickle.__bit_generator_ctor",
        "numpy.random._pickle.__generator_ctor",
        "numpy.random.mtrand.RandomState",
        "numpy.random._generator.Generator",
        "numpy.random._mt19937.MT19937",
        "numpy.random._pcg64.PCG64",
        "numpy.random._pcg64.PCG64DXSM",
        "numpy.random._philox.Philox",
        "numpy.random._sfc64.SFC64",
        "numpy.random.bit_generator.SeedSequence",
        "numpy.random.bit_generator.__pyx_unpickle_SeedSequence",
        # joblib's array placeholder, read by read_joblib
        "joblib.numpy_pickle.NumpyArrayWrapper",
        # scikit-learn's Cython trees rebuild through a module-level newObj(cls)
        "sklearn.neighbors._kd_tree.newObj",
        "sklearn.neighbors._ball_tree.newObj",
        "sklearn.metrics._dist_metrics.newObj",
        # scipy.sparse classes have lower-case names
        *(
            f"scipy.sparse.{prefix}{fmt}.{fmt}_{kind}"
            for fmt in _SPARSE_FORMATS
            for prefix in ("_", "")
            for kind in ("matrix", "array")
        ),
    }
)
"""Exact ``"module.name"`` globals a file may reference (see :func:`allowed` for classes)."""

_PY2_MODULES = {"__builtin__": "builtins", "copy_reg": "copyreg"}
_CLASS_PACKAGES = ("sklearn.", "scipy.sparse.")


def _canonical(name: str) -> str:
    """Map the Python 2 module names that protocols 0-2 write (``__builtin__``) to Python 3's."""
    module, dot, rest = name.partition(".")
    new = _PY2_MODULES.get(module)
    return f"{new}.{rest}" if new is not None and dot else name


def allowed(global_name: str) -> bool:
    """Whether a file may reference ``global_name``.

    The exact names of :data:`ALLOWED` (the Python 2 spellings ``__builtin__``
    and ``copy_reg`` that protocols 0-2 write are read as ``builtins`` and
    ``copyreg``), plus any class of scikit-learn or scipy.sparse: a dotted
    name under ``sklearn.`` or ``scipy.sparse.`` whose last part starts with
    an upper-case letter after any underscores. Classes become inert stubs and are never imported,
    so the list refuses what cannot be interpreted or is plainly hostile.
    """
    if not isinstance(global_name, str):
        return False
    name = _canonical(global_name)
    if name in ALLOWED:
        return True
    module, _, final = name.rpartition(".")
    if not module.startswith(_CLASS_PACKAGES):
        return False
    parts = name.split(".")
    if not all(part.isidentifier() and part.isascii() for part in parts):
        return False
    return final.lstrip("_")[:1].isupper()  # private classes too (_BinMapper)


# --------------------------------------------------------------------------------------
# Errors raised inside the interpreter, turned into sdc exceptions at its edge


class _Malformed(Exception):
    """The stream is not a valid pickle."""


class _Refused(Exception):
    """The stream holds something the gate will not read."""


_I4 = struct.Struct("<i")
_U2 = struct.Struct("<H")
_U4 = struct.Struct("<I")
_U8 = struct.Struct("<Q")
_F8 = struct.Struct(">d")

_DTYPE_CODE = re.compile(r"[biufcSUVMm][0-9]{1,10}\Z")
_DATETIME_UNITS = frozenset(
    {"Y", "M", "W", "D", "h", "m", "s", "ms", "us", "ns", "ps", "fs", "as", "generic"}
)
_ALIGNED_STRUCT = 0x80
_CONTAINERS = (list, tuple, dict, set, frozenset, Inert)
_OBJECT = np.dtype(object)
_WRAPPER = "joblib.numpy_pickle.NumpyArrayWrapper"


def _byte_view(data: bytes | bytearray | memoryview) -> memoryview:
    """A flat view of unsigned bytes, copying only a buffer that is not contiguous."""
    view = memoryview(data)
    if not view.c_contiguous:
        view = memoryview(view.tobytes())
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


def _short(text: str, limit: int = 120) -> str:
    """A name from the file, fit for a one-line message: printable and not too long."""
    if not text.isprintable():
        text = repr(text)[1:-1]
    return text if len(text) <= limit else f"{text[:limit]}..."


def _shape_text(shape: tuple[int, ...]) -> str:
    """A shape for a message; a dimension too long to print is elided."""
    dims = [str(dim) if dim < 10**18 else "..." for dim in shape[:8]]
    return f"({', '.join(dims)}{', ...' if len(shape) > 8 else ''})"


def _holds_values(value: Any) -> bool:
    """Whether ``value`` contains other values: a container, a stub or an object array."""
    return isinstance(value, _CONTAINERS) or (
        isinstance(value, np.ndarray) and value.dtype.hasobject
    )


def _children(value: Any) -> Iterable[Any]:
    if isinstance(value, dict):
        return chain(value.keys(), value.values())
    if isinstance(value, Inert):
        return (value.args, value.state, value.items, value.setitems)
    if isinstance(value, np.ndarray):
        return value.flat
    return value


def _nesting(root: Any, limit: int) -> int:
    """The nesting depth of ``root`` (longest chain of containers), or ``limit + 1`` if above.

    Iterative, with shared values measured once and cycles cut, so a hostile
    structure cannot make this (or a later recursive reader) overflow.
    """
    if not _holds_values(root):
        return 0
    height: dict[int, int] = {}
    on_path = {id(root)}
    frames: list[list[Any]] = [[root, iter(_children(root)), 0]]
    while frames:
        frame = frames[-1]
        for child in frame[1]:
            if not _holds_values(child):
                continue
            known = height.get(id(child))
            if known is None:
                if id(child) in on_path:
                    continue
                if len(frames) >= limit:
                    return limit + 1
                on_path.add(id(child))
                frames.append([child, iter(_children(child)), 0])
                break
            frame[2] = max(frame[2], known)
        else:
            frames.pop()
            node_height = frame[2] + 1
            height[id(frame[0])] = node_height
            on_path.discard(id(frame[0]))
            if node_height > limit:
                return limit + 1
            if frames:
                frames[-1][2] = max(frames[-1][2], node_height)
    return height[id(root)]


# --------------------------------------------------------------------------------------
# The interpreter


class _Interpreter:
    """One run over one stream; holds the stack, the memo and what was found."""

    def __init__(
        self,
        data: bytes | bytearray | memoryview,
        max_array_bytes: int,
        joblib_arrays: bool,
        persistent_load: Callable[[Any], Any] | None,
        own_buffer: bool = False,
        parent: _Interpreter | None = None,
    ) -> None:
        self.mv = _byte_view(data)
        # joblib arrays may be views of a buffer only this reader holds (a decompressed file)
        self.own_buffer = own_buffer
        # an object with .find for text opcodes, when the bytes are whole
        whole = data if isinstance(data, bytes | bytearray) else self.mv.obj
        self.finder = (
            whole if isinstance(whole, bytes | bytearray) and len(whole) == self.mv.nbytes else None
        )
        self.n = self.mv.nbytes
        self.max_array_bytes = max_array_bytes
        self.joblib_arrays = joblib_arrays
        self.persistent_load = persistent_load
        self.pos = 0
        self.op_pos = 0
        # a nested payload (joblib object array) counts the values its reader still holds
        self.payload_depth = 0
        self.held_values = 0
        self.nested_opcodes = 0
        self.stack: list[Any] = []
        self.metastack: list[list[Any]] = []
        self.meta_items = 0
        self.memo: dict[int, Any] = {}
        self.frame_end = 0
        self.protocol: int | None = None
        self.n_opcodes = 0
        self.array_bytes = 0
        self.dtype_depths: dict[int, tuple[np.dtype, int]] = {}
        self.globals: dict[str, None] = {}
        self.disallowed: dict[str, None] = {}
        self.dispatch: list[Callable[[], bool | None]] = [self._op_unknown] * 256
        self.names: list[str] = ["unknown opcode"] * 256
        for code, name, method in _OPCODES:
            self.dispatch[code] = getattr(self, method)
            self.names[code] = name
        if parent is not None:
            # one reading shares what it found and its array budget with the payloads in it
            self.pos = self.op_pos = parent.pos
            self.finder = parent.finder
            self.payload_depth = parent.payload_depth + 1
            self.held_values = parent.held_values + parent._n_values()
            self.array_bytes = parent.array_bytes
            self.globals = parent.globals
            self.disallowed = parent.disallowed

    # ---- running -------------------------------------------------------------------

    def run(self) -> PickleContents:
        try:
            root = self._loop()
            if self.disallowed:
                raise _Refused("")
            if self.pos != self.n:
                self.op_pos = self.pos
                raise _Refused(
                    f"{self.n - self.pos:,} bytes that could hide data follow the end of the pickle"
                )
            if _nesting(root, MAX_NESTING) > MAX_NESTING:
                raise _Refused(f"values nest deeper than {MAX_NESTING} levels")
        except _Refused as exc:
            raise SdcRefusedFile(self._message(str(exc))) from None
        except _Malformed as exc:
            raise self._error(str(exc)) from None
        except SdcInputError:
            raise
        except MemoryError:
            raise SdcRefusedFile(
                self._message("reading it needs more memory than is available")
            ) from None
        except Exception as exc:  # any failure of a malformed stream, never let out raw
            raise self._error(self._describe(exc)) from None
        return PickleContents(root, tuple(self.globals), self.protocol, self.n_opcodes)

    def _loop(self) -> Any:
        mv = self.mv
        n = self.n
        dispatch = self.dispatch
        count = 0
        try:
            while True:
                pos = self.pos
                if pos >= n:
                    self.op_pos = pos
                    raise _Malformed("the data ends before the STOP opcode")
                self.op_pos = pos
                self.pos = pos + 1
                count += 1
                if dispatch[mv[pos]]():
                    return self.stack.pop()
                if not count & 1023:
                    self._check_size()
        finally:
            self.n_opcodes = count + self.nested_opcodes

    def _n_values(self) -> int:
        return len(self.stack) + self.meta_items + len(self.metastack)

    def _check_size(self) -> None:
        if self.held_values + self._n_values() > MAX_STACK:
            raise _Refused(f"the stack grows beyond {MAX_STACK:,} values")

    def _error(self, reason: str) -> SdcInputError:
        if self.disallowed:
            return SdcRefusedFile(self._message(reason))
        return SdcInputError(f"not a valid pickle: {reason} at byte {self.op_pos}")

    def _message(self, reason: str) -> str:
        """One sentence: the disallowed globals first (they decide), then what stopped reading."""
        if self.disallowed:
            names = [_short(name) for name in list(self.disallowed)[:MAX_NAMES_LISTED]]
            more = len(self.disallowed) - len(names)
            listed = ", ".join(names) + (f" and {more:,} more" if more > 0 else "")
            text = (
                f"the pickle references globals outside the allow-list: {listed}; "
                "it is refused and nothing in it was run"
            )
            if reason:
                text += f" (reading also stopped at byte {self.op_pos}: {reason})"
            return text
        return f"{reason} at byte {self.op_pos}; the file is refused and nothing in it was run"

    def _describe(self, exc: Exception) -> str:
        name = self.names[self.mv[self.op_pos]] if self.op_pos < self.n else "reading"
        if isinstance(exc, IndexError):
            return f"{name} finds too few values on the stack"
        if isinstance(exc, struct.error):
            return f"{name} has a truncated argument"
        if isinstance(exc, UnicodeDecodeError):
            return f"{name} holds text that does not decode"
        if isinstance(exc, RecursionError):
            return f"{name} meets values nested too deeply"
        detail = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        return f"{name} fails ({detail})"

    # ---- reading arguments ---------------------------------------------------------

    def _take(self, size: int) -> int:
        start = self.pos
        end = start + size
        if end > self.n:
            raise _Malformed(f"{self._name()} needs {size} bytes but the data ends first")
        self.pos = end
        return start

    def _read(self, size: int) -> bytes:
        start = self._take(size)
        return bytes(self.mv[start : start + size])

    def _byte(self) -> int:
        return self.mv[self._take(1)]

    def _unpack(self, fmt: struct.Struct) -> int:
        (value,) = fmt.unpack_from(self.mv, self._take(fmt.size))
        return int(value)

    def _readline(self) -> bytes:
        """A text argument: the bytes up to (not including) the next newline."""
        start = self.pos
        if self.finder is not None:
            end = self.finder.find(b"\n", start)
        else:
            end, step = -1, 4096
            while True:
                stop = min(start + step, self.n)
                found = bytes(self.mv[start:stop]).find(b"\n")
                if found >= 0:
                    end = start + found
                    break
                if stop >= self.n:
                    break
                step *= 2
        if end < 0:
            raise _Malformed(f"{self._name()} has no end of line before the data ends")
        self.pos = end + 1
        return bytes(self.mv[start:end])

    def _int_line(self, line: bytes | None = None) -> int:
        """The integer of a text argument, as Python writes it (limited to 4300 digits)."""
        if line is None:
            line = self._readline()
        try:
            return int(line, 0)
        except ValueError:
            raise _Malformed(f"{self._name()} has an argument that is not an integer") from None

    def _sized(self, size: int) -> int:
        if size < 0:
            raise _Malformed(f"{self._name()} has a negative length")
        if size > self.n - self.pos:
            raise _Malformed(f"{self._name()} announces {size:,} bytes but the data ends first")
        return size

    def _name(self) -> str:
        return self.names[self.mv[self.op_pos]]

    # ---- stack helpers -------------------------------------------------------------

    def _push(self, value: Any) -> None:
        self.stack.append(value)

    def _pop_mark(self) -> list[Any]:
        if not self.metastack:
            raise _Malformed(f"{self._name()} finds no MARK")
        items = self.stack
        self.stack = self.metastack.pop()
        self.meta_items -= len(self.stack)
        return items

    def _key(self, key: Any) -> Any:
        """A value about to be hashed: deep tuples would overflow the C stack when hashed."""
        kind = type(key)
        if (kind is tuple or kind is frozenset) and _nesting(key, MAX_NESTING) > MAX_NESTING:
            raise _Refused(f"a dictionary key or set member nests deeper than {MAX_NESTING}")
        return key

    def _charge(self, nbytes: int) -> None:
        self.array_bytes += nbytes
        if self.array_bytes > self.max_array_bytes:
            raise _Refused(
                f"its arrays hold more than max_array_bytes={self.max_array_bytes:,} bytes"
            )

    # ---- opcodes: control ----------------------------------------------------------

    def _op_unknown(self) -> None:
        raise _Malformed(f"unknown opcode 0x{self.mv[self.op_pos]:02x}")

    def _op_proto(self) -> None:
        proto = self._byte()
        if proto > _HIGHEST_PROTOCOL:
            raise _Malformed(f"unsupported pickle protocol {proto}")
        if self.protocol is None:
            self.protocol = proto

    def _op_frame(self) -> None:
        if self.pos < self.frame_end:
            raise _Malformed("a frame starts before the previous one ends")
        size = self._sized(self._unpack(_U8))
        self.frame_end = self.pos + size

    def _op_stop(self) -> bool:
        if not self.stack:
            raise _Malformed("STOP finds an empty stack")
        return True

    def _op_mark(self) -> None:
        self.metastack.append(self.stack)
        self.meta_items += len(self.stack)
        self.stack = []

    def _op_pop(self) -> None:
        if self.stack:
            del self.stack[-1]
        else:
            self._pop_mark()

    def _op_pop_mark(self) -> None:
        self._pop_mark()

    def _op_dup(self) -> None:
        self.stack.append(self.stack[-1])

    # ---- opcodes: memo -------------------------------------------------------------

    def _put(self, key: int) -> None:
        value = self.stack[-1]
        self.memo[key] = value
        if type(value) is _Pending:
            value.memo_keys.append(key)

    def _get(self, key: int) -> None:
        try:
            self.stack.append(self.memo[key])
        except KeyError:
            raise _Malformed(f"memo key {key} was never stored") from None

    def _op_put(self) -> None:
        key = self._int_line()
        if key < 0:
            raise _Malformed("PUT has a negative memo key")
        self._put(key)

    def _op_binput(self) -> None:
        self._put(self._byte())

    def _op_long_binput(self) -> None:
        self._put(self._unpack(_U4))

    def _op_memoize(self) -> None:
        self._put(len(self.memo))

    def _op_get(self) -> None:
        self._get(self._int_line())

    def _op_binget(self) -> None:
        self._get(self._byte())

    def _op_long_binget(self) -> None:
        self._get(self._unpack(_U4))

    # ---- opcodes: plain values -----------------------------------------------------

    def _op_none(self) -> None:
        self.stack.append(None)

    def _op_newtrue(self) -> None:
        self.stack.append(True)

    def _op_newfalse(self) -> None:
        self.stack.append(False)

    def _op_int(self) -> None:
        line = self._readline()
        if line == b"00":
            self._push(False)
        elif line == b"01":
            self._push(True)
        else:
            self._push(self._int_line(line))

    def _op_binint(self) -> None:
        self._push(self._unpack(_I4))

    def _op_binint1(self) -> None:
        self._push(self._byte())

    def _op_binint2(self) -> None:
        self._push(self._unpack(_U2))

    def _op_long(self) -> None:
        line = self._readline()
        if line.endswith(b"L"):
            line = line[:-1]
        self._push(self._int_line(line))

    def _op_long1(self) -> None:
        size = self._sized(self._byte())
        self._push(int.from_bytes(self._read(size), "little", signed=True))

    def _op_long4(self) -> None:
        size = self._sized(self._unpack(_I4))
        self._push(int.from_bytes(self._read(size), "little", signed=True))

    def _op_float(self) -> None:
        line = self._readline()
        try:
            self._push(float(line))
        except ValueError:
            raise _Malformed("FLOAT has an argument that is not a number") from None

    def _op_binfloat(self) -> None:
        (value,) = _F8.unpack_from(self.mv, self._take(8))
        self._push(value)

    def _string(self, raw: bytes) -> str:
        try:
            return raw.decode("ascii")
        except UnicodeDecodeError:
            raise _Malformed(f"{self._name()} holds a Python 2 string that is not ASCII") from None

    def _op_string(self) -> None:
        line = self._readline()
        if len(line) < 2 or line[0] != line[-1] or line[0] not in b"\"'":
            raise _Malformed("the STRING argument is not quoted")
        self._push(self._string(codecs.escape_decode(line[1:-1])[0]))

    def _op_binstring(self) -> None:
        self._push(self._string(self._read(self._sized(self._unpack(_I4)))))

    def _op_short_binstring(self) -> None:
        self._push(self._string(self._read(self._sized(self._byte()))))

    def _op_binbytes(self) -> None:
        self._push(self._read(self._sized(self._unpack(_U4))))

    def _op_short_binbytes(self) -> None:
        self._push(self._read(self._sized(self._byte())))

    def _op_binbytes8(self) -> None:
        self._push(self._read(self._sized(self._unpack(_U8))))

    def _op_bytearray8(self) -> None:
        size = self._sized(self._unpack(_U8))
        start = self._take(size)
        self._push(bytearray(self.mv[start : start + size]))

    def _op_unicode(self) -> None:
        self._push(self._readline().decode("raw-unicode-escape"))

    def _op_binunicode(self) -> None:
        self._push(self._read(self._sized(self._unpack(_U4))).decode("utf-8", "surrogatepass"))

    def _op_short_binunicode(self) -> None:
        self._push(self._read(self._sized(self._byte())).decode("utf-8", "surrogatepass"))

    def _op_binunicode8(self) -> None:
        self._push(self._read(self._sized(self._unpack(_U8))).decode("utf-8", "surrogatepass"))

    def _op_next_buffer(self) -> None:
        raise _Refused("the pickle expects an out-of-band buffer, which is not part of the file")

    def _op_readonly_buffer(self) -> None:
        raise _Refused("the pickle marks an out-of-band buffer read-only")

    # ---- opcodes: containers -------------------------------------------------------

    def _op_empty_tuple(self) -> None:
        self._push(())

    def _op_tuple(self) -> None:
        self._push(tuple(self._pop_mark()))

    def _op_tuple1(self) -> None:
        self.stack[-1] = (self.stack[-1],)

    def _op_tuple2(self) -> None:
        stack = self.stack
        second = stack.pop()
        stack[-1] = (stack[-1], second)

    def _op_tuple3(self) -> None:
        stack = self.stack
        third = stack.pop()
        second = stack.pop()
        stack[-1] = (stack[-1], second, third)

    def _op_empty_list(self) -> None:
        self._push([])

    def _op_list(self) -> None:
        self._push(self._pop_mark())

    def _op_empty_dict(self) -> None:
        self._push({})

    def _op_dict(self) -> None:
        items = self._pop_mark()
        if len(items) % 2:
            raise _Malformed("DICT has a key without a value")
        self._push({self._key(items[i]): items[i + 1] for i in range(0, len(items), 2)})

    def _op_empty_set(self) -> None:
        self._push(set())

    def _op_frozenset(self) -> None:
        self._push(frozenset(self._key(item) for item in self._pop_mark()))

    def _append(self, values: list[Any]) -> None:
        target = self.stack[-1]
        if type(target) is list:
            target.extend(values)
        elif isinstance(target, Inert):
            target.items.extend(values)
        else:
            raise _Malformed(f"{self._name()} adds to a {type(target).__name__}, not a list")

    def _op_append(self) -> None:
        value = self.stack.pop()
        self._append([value])

    def _op_appends(self) -> None:
        self._append(self._pop_mark())

    def _setitems(self, items: list[Any]) -> None:
        if len(items) % 2:
            raise _Malformed(f"{self._name()} has a key without a value")
        target = self.stack[-1]
        if type(target) is dict:
            for i in range(0, len(items), 2):
                target[self._key(items[i])] = items[i + 1]
        elif isinstance(target, Inert):
            target.setitems.extend(zip(items[::2], items[1::2], strict=True))
        else:
            raise _Malformed(f"{self._name()} sets items of a {type(target).__name__}, not a dict")

    def _op_setitem(self) -> None:
        value = self.stack.pop()
        key = self.stack.pop()
        self._setitems([key, value])

    def _op_setitems(self) -> None:
        self._setitems(self._pop_mark())

    def _op_additems(self) -> None:
        items = self._pop_mark()
        target = self.stack[-1]
        if type(target) is set:
            target.update(self._key(item) for item in items)
        elif isinstance(target, Inert):
            target.items.extend(items)
        else:
            raise _Malformed(f"ADDITEMS adds to a {type(target).__name__}, not a set")

    # ---- opcodes: globals and calls ------------------------------------------------

    def _global(self, module: str, name: str) -> _Global:
        full = f"{module}.{name}"
        if full not in self.globals:
            self.globals[full] = None
            if not allowed(full):
                self.disallowed[full] = None
        return _Global(full)

    def _op_global(self) -> None:
        module = self._readline().decode("utf-8")
        name = self._readline().decode("utf-8")
        self._push(self._global(module, name))

    def _op_stack_global(self) -> None:
        name = self.stack.pop()
        module = self.stack.pop()
        if type(module) is not str or type(name) is not str:
            raise _Malformed("STACK_GLOBAL needs a module name and a name that are both str")
        self._push(self._global(module, name))

    def _op_inst(self) -> None:
        module = self._readline().decode("ascii")
        name = self._readline().decode("ascii")
        marker = self._global(module, name)
        self._push(self._call(marker, tuple(self._pop_mark())))

    def _op_obj(self) -> None:
        items = self._pop_mark()
        if not items:
            raise _Malformed("OBJ finds no class after its MARK")
        self._push(self._call(items[0], tuple(items[1:])))

    def _op_reduce(self) -> None:
        stack = self.stack
        args = stack.pop()
        stack[-1] = self._call(stack[-1], args)

    def _op_newobj(self) -> None:
        stack = self.stack
        args = stack.pop()
        cls = stack[-1]
        if not isinstance(args, tuple):
            raise _Malformed("NEWOBJ arguments are not a tuple")
        stack[-1] = self._make_inert(self._callee(cls), args)

    def _op_newobj_ex(self) -> None:
        stack = self.stack
        kwargs = stack.pop()
        args = stack.pop()
        cls = stack[-1]
        if not isinstance(args, tuple) or not isinstance(kwargs, dict):
            raise _Malformed("NEWOBJ_EX needs an argument tuple and a keyword dict")
        stack[-1] = self._make_inert(self._callee(cls), (*args, kwargs) if kwargs else args)

    def _ext(self, code: int) -> None:
        raise _Refused(
            f"the pickle names a global through extension code {code} of the copyreg "
            "extension registry, which cannot be checked"
        )

    def _op_ext1(self) -> None:
        self._ext(self._byte())

    def _op_ext2(self) -> None:
        self._ext(self._unpack(_U2))

    def _op_ext4(self) -> None:
        self._ext(self._unpack(_I4))

    def _persistent(self, pid: Any) -> None:
        if self.persistent_load is None:
            raise _Refused(
                "the pickle refers to an object stored outside it (a persistent id) and no "
                "loader for those was given"
            )
        try:
            value = self.persistent_load(pid)
        except SdcInputError:
            raise
        except Exception as exc:
            raise _Malformed(f"the persistent id loader fails ({_short(str(exc))})") from None
        self._push(value)

    def _op_persid(self) -> None:
        self._persistent(self._readline().decode("ascii"))

    def _op_binpersid(self) -> None:
        self._persistent(self.stack.pop())

    def _op_build(self) -> None:
        stack = self.stack
        state = stack.pop()
        target = stack[-1]
        if type(target) is _Pending:
            target.state = state
            value = self._finish(target, state)
            stack[-1] = value
            for key in target.memo_keys:
                if self.memo.get(key) is target:
                    self.memo[key] = value
        elif isinstance(target, Inert):
            if isinstance(target.state, dict) and isinstance(state, dict):
                target.state = {**target.state, **state}
            else:
                target.state = state
        elif not (state is None or (type(state) is dict and not state)):
            raise _Malformed(f"BUILD gives state to a {type(target).__name__}")

    # ---- symbolic calls ------------------------------------------------------------

    def _callee(self, func: Any) -> str:
        if not isinstance(func, _Global):
            if not isinstance(func, Inert):
                raise _Malformed(f"{self._name()} calls a {type(func).__name__}, not a class")
            raise _Refused(
                f"the pickle calls the result of a call to {_short(func.cls)}, which is not "
                "a named global"
            )
        return func.name

    def _call(self, func: Any, args: Any) -> Any:
        name = self._callee(func)
        if not isinstance(args, tuple):
            raise _Malformed(f"the arguments of {name} are not a tuple")
        evaluate = _EVALUATORS.get(_canonical(name))
        if evaluate is None:
            return self._make_inert(name, args)
        return evaluate(self, name, args)

    def _make_inert(self, name: str, args: tuple) -> Inert:
        if (self.joblib_arrays or self.payload_depth) and _canonical(name) == _WRAPPER:
            if self.payload_depth >= MAX_PAYLOAD_DEPTH:
                raise _Refused(
                    "an object array payload holds a joblib array wrapper of its own, "
                    f"nesting payloads deeper than {MAX_PAYLOAD_DEPTH} level "
                    "(joblib would not read its data as an array)"
                )
            return _Pending(name, args, kind="wrapper")
        return Inert(name, args)

    def _class_arg(self, name: str, value: Any) -> str:
        if not isinstance(value, _Global):
            raise _Malformed(f"{name} needs a class, not a {type(value).__name__}")
        return value.name

    # ---- numpy ---------------------------------------------------------------------

    def _real_dtype(self, value: Any, objects: bool = False) -> np.dtype:
        """A dtype from the stream; the object dtype only where ``objects`` allows it.

        An array of objects is rebuilt from its list of elements (or a joblib
        payload); raw bytes, a scalar or a record field of object dtype would be
        pointers, so the dtype is refused there.
        """
        if not isinstance(value, np.dtype):
            raise _Malformed(f"an array's dtype is a {type(value).__name__}, not a numpy dtype")
        if value.hasobject and not (objects and value == _OBJECT):
            raise _Refused(
                "the pickle gives the numpy object dtype to raw bytes, a scalar or a record "
                "field; only an array rebuilt from its list of elements may hold objects"
            )
        return value

    def _shape(self, shape: Any) -> tuple[int, ...]:
        if not isinstance(shape, tuple) or not all(type(dim) is int and dim >= 0 for dim in shape):
            raise _Malformed("an array's shape is not a tuple of non-negative integers")
        return shape

    def _count(self, shape: tuple[int, ...]) -> int:
        count = 1
        for dim in shape:
            count *= dim
            if count > self.max_array_bytes or dim > self.max_array_bytes:
                raise _Refused(
                    f"an array of shape {_shape_text(shape)} is larger than "
                    f"max_array_bytes={self.max_array_bytes:,}"
                )
        return count

    def _array(self, buffer: Any, dtype: np.dtype, shape: tuple[int, ...], order: str) -> Any:
        """An array from validated parts: the shape must account for every byte.

        Bytes are copied (an array needs writable memory of its own); a bytearray,
        which this reader made for the array (protocol 5), is used in place.
        """
        count = self._count(shape)
        nbytes = count * dtype.itemsize
        if len(buffer) != nbytes:
            raise _Malformed(
                f"an array of shape {_shape_text(shape)} and dtype {_short(str(dtype))} "
                f"needs {nbytes:,} bytes "
                f"but its data holds {len(buffer):,}"
            )
        self._charge(nbytes)
        if dtype.itemsize == 0:
            return np.zeros(shape, dtype=dtype)
        flat = np.frombuffer(buffer, dtype=dtype)
        if type(buffer) is not bytearray:
            flat = flat.copy()
        return flat.reshape(shape, order="F" if order == "F" else "C")

    def _finish(self, pending: _Pending, state: Any) -> Any:
        if pending.kind == "dtype":
            return self._build_dtype(pending.args, state)
        if pending.kind == "array":
            return self._build_array(state)
        return self._build_wrapper(state)

    def _build_dtype(self, args: tuple, state: Any) -> np.dtype:
        code = args[0]
        if not isinstance(state, tuple) or len(state) not in (8, 9) or state[0] not in (3, 4):
            raise _Refused("a numpy dtype has a state this reader does not know")
        endian, subarray, names, fields, elsize = state[1:6]
        flags = state[7]
        if endian not in ("<", ">", "|", "=") or type(elsize) is not int or type(flags) is not int:
            raise _Malformed("a numpy dtype state is not made of a byte order and sizes")
        if code in _OBJECT_CODES:
            if names is not None or fields is not None or subarray is not None:
                raise _Malformed("a numpy object dtype has fields or a sub-array")
            return _OBJECT  # used only where an array's elements are given as values
        if names is not None or fields is not None:
            dtype = self._structured(code, names, fields, elsize, flags)
        elif subarray is not None:
            if not code.startswith("V") or not isinstance(subarray, tuple) or len(subarray) != 2:
                raise _Malformed("a numpy sub-array dtype is not (dtype, shape)")
            base = self._real_dtype(subarray[0])
            shape = self._shape(subarray[1])
            self._count(shape)
            dtype = self._nested(np.dtype((base, shape)), [base])
        else:
            dtype = np.dtype(code)
            if code[0] in "Mm":
                dtype = self._datetime(code, state)
            elif elsize >= 0 and dtype.itemsize != elsize:
                raise _Malformed(f"a numpy dtype {code!r} says it holds {elsize} bytes")
            if endian in "<>":
                dtype = dtype.newbyteorder(endian)
        return self._real_dtype(dtype)

    def _structured(self, code: str, names: Any, fields: Any, elsize: int, flags: int) -> np.dtype:
        if (
            not code.startswith("V")
            or not isinstance(names, tuple)
            or not isinstance(fields, dict)
            or not all(type(name) is str for name in names)
        ):
            raise _Malformed("a numpy record dtype does not list its field names and fields")
        formats, offsets, titles = [], [], []
        for name in names:
            entry = fields.get(name)
            if not isinstance(entry, tuple) or len(entry) not in (2, 3):
                raise _Malformed(f"the field {_short(name)} of a numpy record dtype is malformed")
            offset = entry[1]
            title = entry[2] if len(entry) == 3 else None
            if type(offset) is not int or offset < 0 or not (title is None or type(title) is str):
                raise _Malformed(f"the field {_short(name)} of a numpy record dtype is malformed")
            formats.append(self._real_dtype(entry[0]))
            offsets.append(offset)
            titles.append(title)
        spec: Any = {
            "names": list(names),
            "formats": formats,
            "offsets": offsets,
            "itemsize": elsize,
            "aligned": bool(flags & _ALIGNED_STRUCT),
        }
        if any(title is not None for title in titles):
            spec["titles"] = titles
        return self._nested(np.dtype(spec), formats)

    def _nested(self, dtype: np.dtype, parts: list[np.dtype]) -> np.dtype:
        """Record how deep a composed dtype nests, and refuse one nested too deeply."""
        depth = 1
        for part in parts:
            known = self.dtype_depths.get(id(part))
            if known is not None and known[0] is part:
                depth = max(depth, known[1] + 1)
        if depth > MAX_DTYPE_NESTING:
            raise _Refused(f"numpy record dtypes nest deeper than {MAX_DTYPE_NESTING} levels")
        self.dtype_depths[id(dtype)] = (dtype, depth)
        return dtype

    def _datetime(self, code: str, state: tuple) -> np.dtype:
        if len(state) == 8:
            return np.dtype(code)
        extra = state[8]
        meta = extra[1] if isinstance(extra, tuple) and len(extra) == 2 else None
        if (
            not isinstance(meta, tuple)
            or len(meta) != 4
            or type(meta[0]) is not bytes
            or type(meta[1]) is not int
            or not 1 <= meta[1] < 2**31
        ):
            raise _Malformed("a numpy datetime dtype has no valid unit")
        unit = meta[0].decode("ascii")
        if unit not in _DATETIME_UNITS:
            raise _Malformed(f"a numpy datetime dtype has the unknown unit {_short(unit)}")
        if unit == "generic":
            return np.dtype(code)
        return np.dtype(f"{code}[{meta[1]}{unit}]")

    def _build_array(self, state: Any) -> Any:
        if not isinstance(state, tuple) or len(state) not in (4, 5):
            raise _Malformed("a numpy array state is not (version, shape, dtype, order, data)")
        shape, dtype, fortran, raw = state[-4:]
        if type(fortran) not in (bool, int) or fortran not in (0, 1):
            raise _Malformed("a numpy array state has an order flag that is not a boolean")
        if type(raw) is list:
            if self._real_dtype(dtype, objects=True) != _OBJECT:
                raise _Malformed(f"a numpy array of dtype {_short(str(dtype))} holds a list")
            return self._object_array(raw, self._shape(shape), bool(fortran))
        dtype = self._real_dtype(dtype)
        if not isinstance(raw, bytes | bytearray):
            raise _Malformed("a numpy array state does not hold its data as bytes")
        return self._array(raw, dtype, self._shape(shape), "F" if fortran else "C")

    def _object_array(self, items: list[Any], shape: tuple[int, ...], fortran: bool) -> Any:
        """An object array holding values this reader already rebuilt.

        numpy lists the elements in C order whatever the array's layout. Nothing
        is called: numpy only stores references to the inert values.
        """
        count = self._count(shape)
        if len(items) != count:
            raise _Malformed(
                f"an object array of shape {_shape_text(shape)} lists {len(items):,} elements"
            )
        self._charge(count * _OBJECT.itemsize)
        array = np.fromiter(items, dtype=_OBJECT, count=count).reshape(shape)
        return np.asfortranarray(array) if fortran and array.ndim > 1 else array

    def _build_wrapper(self, state: Any) -> Any:
        """A joblib array: the wrapper's state describes it, its raw bytes follow the BUILD."""
        if not isinstance(state, dict):
            raise _Malformed("a joblib array wrapper has no state dict")
        subclass = state.get("subclass")
        if not isinstance(subclass, _Global) or _canonical(subclass.name) not in (
            "numpy.ndarray",
            "numpy.memmap",
        ):
            raise _Refused("a joblib array wrapper is for an array type other than numpy.ndarray")
        if self.pos < self.frame_end:
            # joblib reads the data from the file after the frame, not from inside it
            raise _Refused("a joblib array's data starts inside a pickle frame")
        dtype = self._real_dtype(state.get("dtype"), objects=True)
        shape = self._shape(state.get("shape"))
        order = state.get("order")
        if order not in ("C", "F"):
            raise _Malformed("a joblib array wrapper has an order other than 'C' or 'F'")
        if dtype == _OBJECT:
            return self._payload(shape)
        if state.get("numpy_array_alignment_bytes") is not None:
            self._take(self._sized(self._byte()))
        nbytes = self._count(shape) * dtype.itemsize
        start = self._take(self._sized(nbytes))
        self._charge(nbytes)
        if dtype.itemsize == 0:
            return np.zeros(shape, dtype=dtype)
        flat = np.frombuffer(self.mv[start : start + nbytes], dtype=dtype)
        if not self.own_buffer:
            flat = flat.copy()
        if order == "F":
            return flat.reshape(shape[::-1]).T
        return flat.reshape(shape)

    def _payload(self, shape: tuple[int, ...]) -> Any:
        """A joblib object array: a whole pickle of it follows the wrapper, read here in turn.

        It gets its own stack and memo, as joblib's reader gives it, and shares
        the allow-list, the globals found and the array budget with this one;
        the outer stream goes on right after its STOP.
        """
        if self.payload_depth >= MAX_PAYLOAD_DEPTH:  # a wrapper in a payload is refused earlier
            raise _Refused(f"object array payloads nest deeper than {MAX_PAYLOAD_DEPTH} level")
        nested = _Interpreter(
            self.mv, self.max_array_bytes, False, None, own_buffer=self.own_buffer, parent=self
        )
        try:
            array = nested._loop()
            if nested.pos < nested.frame_end:
                # joblib's reader would have consumed the rest of the frame: it resumes elsewhere
                nested.op_pos = nested.pos
                raise _Refused("an object array payload ends inside its last pickle frame")
        except BaseException:
            self.op_pos = nested.op_pos
            raise
        finally:
            self.array_bytes = nested.array_bytes
            self.nested_opcodes += nested.n_opcodes
        self.pos = nested.pos
        if not isinstance(array, np.ndarray) or array.dtype != _OBJECT or array.shape != shape:
            raise _Malformed(
                f"a joblib object array payload does not hold an object array of shape "
                f"{_shape_text(shape)}"
            )
        return array


# --------------------------------------------------------------------------------------
# Data constructors evaluated by the interpreter (validated plain values only)


def _arity(name: str, args: tuple, low: int, high: int) -> None:
    if not low <= len(args) <= high:
        raise _Malformed(f"{name} is called with {len(args)} arguments")


def _ev_encode(run: _Interpreter, name: str, args: tuple) -> bytes:
    _arity(name, args, 1, 2)
    text = args[0]
    encoding = args[1] if len(args) == 2 else "utf-8"
    if type(text) is not str or encoding not in ("latin1", "latin-1", "utf-8", "utf8"):
        raise _Refused(f"{name} is called with arguments this reader does not evaluate")
    try:
        return text.encode(encoding)
    except UnicodeEncodeError:
        raise _Malformed(f"{name} is given text that is not {encoding}") from None


def _byte_args(name: str, args: tuple) -> bytes:
    if not args:
        return b""
    first = args[0]
    if len(args) == 1 and isinstance(first, bytes | bytearray):
        return bytes(first)
    if len(args) == 1 and type(first) is list and all(type(b) is int for b in first):
        return bytes(first)
    if len(args) == 2 and type(first) is str and args[1] in ("latin1", "latin-1"):
        try:
            return first.encode("latin-1")
        except UnicodeEncodeError:
            raise _Malformed(f"{name} is given text that is not latin-1") from None
    raise _Refused(f"{name} is called with arguments this reader does not evaluate")


def _ev_bytes(run: _Interpreter, name: str, args: tuple) -> bytes:
    return _byte_args(name, args)


def _ev_bytearray(run: _Interpreter, name: str, args: tuple) -> bytearray:
    return bytearray(_byte_args(name, args))


def _members(run: _Interpreter, name: str, args: tuple) -> list[Any]:
    _arity(name, args, 0, 1)
    if not args:
        return []
    if not isinstance(args[0], list | tuple | set | frozenset):
        raise _Refused(f"{name} is called with a {type(args[0]).__name__}")
    return [run._key(item) for item in args[0]]


def _ev_set(run: _Interpreter, name: str, args: tuple) -> set:
    return set(_members(run, name, args))


def _ev_frozenset(run: _Interpreter, name: str, args: tuple) -> frozenset:
    return frozenset(_members(run, name, args))


def _ev_slice(run: _Interpreter, name: str, args: tuple) -> slice:
    _arity(name, args, 1, 3)
    return slice(*args)


def _ev_complex(run: _Interpreter, name: str, args: tuple) -> complex:
    _arity(name, args, 0, 2)
    if not all(type(part) in (int, float) for part in args):
        raise _Refused(f"{name} is called with arguments that are not numbers")
    return complex(*args)


def _ev_ordered_dict(run: _Interpreter, name: str, args: tuple) -> dict:
    _arity(name, args, 0, 1)
    result: dict = {}
    for pair in args[0] if args else ():
        if not isinstance(pair, tuple | list) or len(pair) != 2:
            raise _Malformed(f"{name} is given an item that is not a (key, value) pair")
        result[run._key(pair[0])] = pair[1]
    return result


def _ev_reconstructor(run: _Interpreter, name: str, args: tuple) -> Inert:
    _arity(name, args, 3, 3)
    cls, base, state = args
    plain = isinstance(base, _Global) and _canonical(base.name) == "builtins.object"
    return run._make_inert(run._class_arg(name, cls), () if plain and state is None else args[1:])


def _ev_newobj(run: _Interpreter, name: str, args: tuple) -> Inert:
    _arity(name, args, 1, 1 << 30)
    return run._make_inert(run._class_arg(name, args[0]), args[1:])


def _ev_newobj_ex(run: _Interpreter, name: str, args: tuple) -> Inert:
    _arity(name, args, 3, 3)
    cls, cargs, kwargs = args
    if not isinstance(cargs, tuple) or not isinstance(kwargs, dict):
        raise _Malformed(f"{name} needs an argument tuple and a keyword dict")
    return run._make_inert(run._class_arg(name, cls), (*cargs, kwargs) if kwargs else cargs)


def _ev_class_only(run: _Interpreter, name: str, args: tuple) -> Inert:
    _arity(name, args, 1, 1)
    return run._make_inert(run._class_arg(name, args[0]), ())


def _ev_dtype(run: _Interpreter, name: str, args: tuple) -> _Pending:
    _arity(name, args, 1, 3)
    code = args[0]
    if not all(type(flag) in (bool, int) for flag in args[1:]):
        raise _Malformed(f"{name} is called with flags that are not booleans")
    if type(code) is str and code in _OBJECT_CODES:
        return _Pending(name, args, kind="dtype")
    if type(code) is not str or not _DTYPE_CODE.match(code):
        raise _Refused(
            "the pickle builds a numpy dtype other than plain numbers, text, bytes, "
            "dates or records"
        )
    return _Pending(name, args, kind="dtype")


def _ev_reconstruct(run: _Interpreter, name: str, args: tuple) -> _Pending:
    _arity(name, args, 3, 3)
    cls = args[0]
    if not isinstance(cls, _Global) or _canonical(cls.name) != "numpy.ndarray":
        raise _Refused(f"{name} rebuilds an array type other than numpy.ndarray")
    return _Pending(name, args, kind="array")


def _ev_frombuffer(run: _Interpreter, name: str, args: tuple) -> Any:
    _arity(name, args, 4, 4)
    buffer, dtype, shape, order = args
    if not isinstance(buffer, bytes | bytearray) or order not in ("C", "F"):
        raise _Malformed(f"{name} is not given bytes and an order 'C' or 'F'")
    return run._array(buffer, run._real_dtype(dtype), run._shape(shape), order)


def _ev_scalar(run: _Interpreter, name: str, args: tuple) -> Any:
    _arity(name, args, 1, 2)
    dtype = run._real_dtype(args[0])
    raw = args[1] if len(args) == 2 else None
    if not isinstance(raw, bytes | bytearray) or len(raw) != dtype.itemsize:
        raise _Malformed(f"{name} is not given {dtype.itemsize} bytes for a {dtype} scalar")
    run._charge(len(raw))
    if dtype.itemsize == 0:
        return np.zeros(1, dtype=dtype)[0]
    return np.frombuffer(raw, dtype=dtype).copy()[0]


_OBJECT_CODES = ("O8", "O4")
"""How the numpy object dtype is pickled (pointer size of the machine that wrote it)."""

_Evaluator = Callable[[_Interpreter, str, tuple], Any]
_EVALUATORS: dict[str, _Evaluator] = {
    "_codecs.encode": _ev_encode,
    "builtins.bytes": _ev_bytes,
    "builtins.bytearray": _ev_bytearray,
    "builtins.set": _ev_set,
    "builtins.frozenset": _ev_frozenset,
    "builtins.slice": _ev_slice,
    "builtins.complex": _ev_complex,
    "collections.OrderedDict": _ev_ordered_dict,
    "copyreg._reconstructor": _ev_reconstructor,
    "copyreg.__newobj__": _ev_newobj,
    "copyreg.__newobj_ex__": _ev_newobj_ex,
    "sklearn.neighbors._kd_tree.newObj": _ev_class_only,
    "sklearn.neighbors._ball_tree.newObj": _ev_class_only,
    "sklearn.metrics._dist_metrics.newObj": _ev_class_only,
    "numpy.dtype": _ev_dtype,
    **{f"{core}.multiarray._reconstruct": _ev_reconstruct for core in _NUMPY_CORE},
    **{f"{core}.numeric._frombuffer": _ev_frombuffer for core in _NUMPY_CORE},
    **{f"{core}.multiarray.scalar": _ev_scalar for core in _NUMPY_CORE},
}

_OPCODES: list[tuple[int, str, str]] = [
    (ord(code), name, f"_op_{name.lower()}")
    for code, name in [
        ("(", "MARK"),
        (".", "STOP"),
        ("0", "POP"),
        ("1", "POP_MARK"),
        ("2", "DUP"),
        ("F", "FLOAT"),
        ("I", "INT"),
        ("J", "BININT"),
        ("K", "BININT1"),
        ("L", "LONG"),
        ("M", "BININT2"),
        ("N", "NONE"),
        ("P", "PERSID"),
        ("Q", "BINPERSID"),
        ("R", "REDUCE"),
        ("S", "STRING"),
        ("T", "BINSTRING"),
        ("U", "SHORT_BINSTRING"),
        ("V", "UNICODE"),
        ("X", "BINUNICODE"),
        ("a", "APPEND"),
        ("b", "BUILD"),
        ("c", "GLOBAL"),
        ("d", "DICT"),
        ("}", "EMPTY_DICT"),
        ("e", "APPENDS"),
        ("g", "GET"),
        ("h", "BINGET"),
        ("i", "INST"),
        ("j", "LONG_BINGET"),
        ("l", "LIST"),
        ("]", "EMPTY_LIST"),
        ("o", "OBJ"),
        ("p", "PUT"),
        ("q", "BINPUT"),
        ("r", "LONG_BINPUT"),
        ("s", "SETITEM"),
        ("t", "TUPLE"),
        (")", "EMPTY_TUPLE"),
        ("u", "SETITEMS"),
        ("G", "BINFLOAT"),
        ("\x80", "PROTO"),
        ("\x81", "NEWOBJ"),
        ("\x82", "EXT1"),
        ("\x83", "EXT2"),
        ("\x84", "EXT4"),
        ("\x85", "TUPLE1"),
        ("\x86", "TUPLE2"),
        ("\x87", "TUPLE3"),
        ("\x88", "NEWTRUE"),
        ("\x89", "NEWFALSE"),
        ("\x8a", "LONG1"),
        ("\x8b", "LONG4"),
        ("B", "BINBYTES"),
        ("C", "SHORT_BINBYTES"),
        ("\x8c", "SHORT_BINUNICODE"),
        ("\x8d", "BINUNICODE8"),
        ("\x8e", "BINBYTES8"),
        ("\x8f", "EMPTY_SET"),
        ("\x90", "ADDITEMS"),
        ("\x91", "FROZENSET"),
        ("\x92", "NEWOBJ_EX"),
        ("\x93", "STACK_GLOBAL"),
        ("\x94", "MEMOIZE"),
        ("\x95", "FRAME"),
        ("\x96", "BYTEARRAY8"),
        ("\x97", "NEXT_BUFFER"),
        ("\x98", "READONLY_BUFFER"),
    ]
]


# --------------------------------------------------------------------------------------
# Public entry points


def read_pickle(
    data: bytes | memoryview,
    *,
    max_array_bytes: int = 2**31,
    joblib_arrays: bool = False,
    persistent_load: Callable[[Any], Any] | None = None,
) -> PickleContents:
    """Rebuild what a pickle holds without importing or calling anything it names.

    Classes become :class:`Inert` stubs, numpy arrays and dtypes are rebuilt
    from their bytes, and a file that names a global outside the allow-list is
    refused (:class:`SdcRefusedFile`) with every such name listed.
    ``joblib_arrays`` reads the raw array bytes joblib writes after each
    ``NumpyArrayWrapper`` (use :func:`read_joblib` for joblib files).
    ``persistent_load`` resolves persistent ids; without it they are refused.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SdcInputError(f"a pickle must be given as bytes, not {type(data).__name__}")
    if memoryview(data).nbytes == 0:
        raise SdcInputError("not a valid pickle: the data is empty at byte 0")
    return _Interpreter(data, max_array_bytes, joblib_arrays, persistent_load).run()


_XZ_MAGIC = b"\xfd7zXZ\x00"
_LZMA_MAGIC = b"\x5d\x00\x00"
_LZ4_MAGIC = b"\x04\x22\x4d\x18"


def _compression(head: bytes) -> str | None:
    """The compressor joblib used, from the file's magic bytes (None: not compressed)."""
    if len(head) >= 2 and head[0] == 0x78 and (head[0] * 256 + head[1]) % 31 == 0:
        return "zlib"
    if head.startswith(b"\x1f\x8b"):
        return "gzip"
    if head.startswith(b"BZh"):
        return "bz2"
    if head.startswith(_XZ_MAGIC):
        return "xz"
    if head.startswith(_LZMA_MAGIC):
        return "lzma"
    if head.startswith(_LZ4_MAGIC):
        return "lz4"
    return None


def _decompressor(method: str) -> Any:
    if method == "zlib":
        return zlib.decompressobj(zlib.MAX_WBITS)
    if method == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if method == "bz2":
        return bz2.BZ2Decompressor()
    if method == "xz":
        return lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
    if method == "lzma":
        return lzma.LZMADecompressor(format=lzma.FORMAT_ALONE)
    try:
        import lz4.frame
    except ImportError:
        raise SdcRefusedFile(
            "the joblib file is lz4-compressed and lz4 is not installed; it is refused"
        ) from None
    return lz4.frame.LZ4FrameDecompressor()


def inflate_budget(compressed: int, max_bytes: int, limits: Limits | None = None) -> int:
    """How far a compressed stream of ``compressed`` bytes may inflate: ``max_ratio`` times
    its size (at least ``ratio_min_bytes``: small runs of zeros compress far better), never
    more than ``max_bytes``. A 1.8 MB file stops at 360 MB, not at gigabytes.

    Examples
    --------
    >>> inflate_budget(1_800_000, 2**31)
    360000000
    >>> inflate_budget(100, 2**31) == Limits().ratio_min_bytes
    True
    """
    limits = limits or Limits()
    return min(max_bytes, max(limits.ratio_min_bytes, int(limits.max_ratio * compressed)))


def _inflate(data: memoryview, method: str, max_bytes: int) -> bytearray:
    """Decompress in bounded steps, stopping as soon as the output passes ``max_bytes``."""
    engine = _decompressor(method)
    is_zlib = method in ("zlib", "gzip")
    out = bytearray()
    pos = 0
    n = len(data)
    while not engine.eof:
        chunk: Any = engine.unconsumed_tail if is_zlib else b""
        if not chunk and (is_zlib or engine.needs_input):
            if pos >= n:
                raise SdcInputError(
                    f"not a valid joblib file: the {method} stream is truncated at byte {n}"
                )
            chunk = data[pos : pos + _CHUNK]
            pos += len(chunk)
        try:
            out += engine.decompress(chunk, max_bytes - len(out) + 1)
        except (zlib.error, OSError, lzma.LZMAError, EOFError, ValueError, RuntimeError) as exc:
            raise SdcInputError(
                f"not a valid joblib file: the {method} stream is corrupt ({exc}) before byte {pos}"
            ) from None
        if len(out) > max_bytes:
            raise SdcRefusedFile(
                f"the joblib file decompresses to more than {max_bytes:,} bytes, the most its "
                f"{n:,} compressed bytes may give ({Limits().max_ratio:g} times its size, or "
                f"max_bytes; {method}, stopped after {pos:,} compressed bytes): a decompression "
                "bomb is refused"
            )
    trailing = len(engine.unused_data) + (n - pos)
    if trailing:
        raise SdcRefusedFile(
            f"{trailing:,} bytes that could hide data follow the end of the {method} stream "
            f"at byte {n - trailing}; the file is refused"
        )
    return out


def read_joblib(data: bytes | memoryview, *, max_bytes: int = 2**31) -> PickleContents:
    """Read a file written by ``joblib.dump`` (compressed or not) without running anything.

    The compressor is recognised from the magic bytes and the stream is
    decompressed in steps, refused as soon as it passes ``max_bytes`` or the
    ratio cap of :func:`inflate_budget` (relative to the file's size), so a
    small compressed bomb costs little. The pickle is then read as
    :func:`read_pickle` does, with each ``NumpyArrayWrapper`` replaced by the
    array whose raw bytes follow it. An object array follows its wrapper as a
    nested pickle, which is read by the same interpreter (same allow-list and
    limits, the same array budget) into an object array of inert values.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise SdcInputError(f"a joblib file must be given as bytes, not {type(data).__name__}")
    view = _byte_view(data)
    head = bytes(view[:8])
    if head.startswith(b"ZF"):
        raise SdcRefusedFile(
            "the file is in the format of joblib before 0.9.3, which this reader does not "
            "interpret; it is refused"
        )
    method = _compression(head)
    if method is None:
        if len(view) > max_bytes:
            raise SdcRefusedFile(
                f"the joblib file holds {len(view):,} bytes, more than "
                f"max_bytes={max_bytes:,}; it is refused"
            )
        return read_pickle(view, max_array_bytes=max_bytes, joblib_arrays=True)
    try:
        inflated = _inflate(view, method, inflate_budget(len(view), max_bytes))
    except MemoryError:
        raise SdcRefusedFile(
            "decompressing the joblib file needs more memory than is available; it is refused"
        ) from None
    return _Interpreter(inflated, max_bytes, True, None, own_buffer=True).run()
