"""Reading a request folder that a researcher could have written: regular files only, capped.

Every file is opened relative to the request folder, one path component at a
time, with ``O_NOFOLLOW``: a symbolic link is never followed, whether it is the
file or one of the folders above it. Before a file is opened its metadata is
read without following links, so a FIFO, a device or a socket is refused
without being opened (no hang, no endless read); the file is then opened with
``O_NONBLOCK`` and checked again with ``fstat`` (a regular file, the same inode
as before, one hard link only: a hard link can make a file outside the folder
appear inside it). Each read stops at the rule set's ``[gate]`` caps
(:class:`sdc.caps.GateParams`), in bytes per file and in total; JSON documents
are also capped in nesting depth.

Paths come from the manifest and are checked by :func:`relative_path` first:
relative, ``/``-separated, no ``.`` or ``..`` component, no empty component, no
backslash, no control or format character.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sdc._text import refused_characters
from sdc.caps import GateParams
from sdc.exceptions import SdcRefusedFile

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = (
    os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0)
    | getattr(os, "O_CLOEXEC", 0)
)  # fmt: skip
_CHUNK = 1 << 20

#: Longest path (characters) and path component the manifest may name.
MAX_PATH = 1024
MAX_COMPONENT = 255


def relative_path(path: Any, what: str = "a path") -> str:
    """``path`` if it is a safe path inside the request folder; ``SdcRefusedFile`` if not.

    Examples
    --------
    >>> relative_path("evidence/t.json")
    'evidence/t.json'
    >>> relative_path("../etc/passwd")
    Traceback (most recent call last):
    ...
    sdc.exceptions.SdcRefusedFile: a path must be relative to the request folder, without '.', '..' or empty parts; got '../etc/passwd'.
    """  # noqa: E501
    if not isinstance(path, str) or not path:
        raise SdcRefusedFile(f"{what} must be a non-empty text; got {type(path).__name__}.")
    shown = path.encode("unicode_escape").decode("ascii")[:200]
    if len(path) > MAX_PATH or refused_characters(path) or "\\" in path:
        raise SdcRefusedFile(
            f"{what} must be at most {MAX_PATH} characters without backslashes or control "
            f"characters; got {shown!r}."
        )
    parts = path.split("/")
    if path.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise SdcRefusedFile(
            f"{what} must be relative to the request folder, without '.', '..' or empty "
            f"parts; got {shown!r}."
        )
    if any(len(p) > MAX_COMPONENT for p in parts):
        raise SdcRefusedFile(f"{what} has a part longer than {MAX_COMPONENT}; got {shown!r}.")
    return path


@dataclass(frozen=True)
class Entry:
    """One thing found in the request folder: ``kind`` is file, folder, link or special."""

    path: str
    kind: str
    size: int
    links: int


def _kind(mode: int) -> str:
    if stat.S_ISREG(mode):
        return "file"
    if stat.S_ISDIR(mode):
        return "folder"
    if stat.S_ISLNK(mode):
        return "link"
    return "special"


def _describe(kind: str) -> str:
    return {
        "link": "a symbolic link (links are never followed)",
        "folder": "a folder",
        "special": "not a regular file (a FIFO, device or socket)",
    }[kind]


class RequestFolder:
    """A request folder, opened once; :meth:`read` and :meth:`entries` never follow links.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "a.csv").write_bytes(b"x\\n")
    >>> with RequestFolder(root, GateParams()) as folder:
    ...     folder.read("a.csv"), [e.path for e in folder.entries()]
    (b'x\\n', ['a.csv'])
    """

    def __init__(self, path: str | Path, caps: GateParams) -> None:
        self.path = Path(path)
        self.caps = caps
        self.bytes_read = 0
        try:
            info = os.stat(self.path, follow_symlinks=False)
        except OSError as exc:
            raise SdcRefusedFile(f"{str(self.path)!r} cannot be opened ({exc.strerror}).") from None
        if stat.S_ISLNK(info.st_mode):
            raise SdcRefusedFile(
                f"{str(self.path)!r} is a symbolic link; pass the request folder itself."
            )
        if not stat.S_ISDIR(info.st_mode):
            raise SdcRefusedFile(f"{str(self.path)!r} is not a folder of outputs.")
        try:
            self.fd = os.open(self.path, _DIR_FLAGS)
        except OSError as exc:
            raise SdcRefusedFile(f"{str(self.path)!r} cannot be opened ({exc.strerror}).") from None

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> RequestFolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _folder(self, parts: list[str], rel: str) -> int:
        """A descriptor of the folder ``parts`` below the root, every step without links."""
        fd = os.dup(self.fd)
        try:
            for part in parts:
                try:
                    info = os.stat(part, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    raise SdcRefusedFile(f"{rel!r} is missing (no folder {part!r}).") from None
                if not stat.S_ISDIR(info.st_mode):
                    raise SdcRefusedFile(
                        f"{rel!r} is refused: {part!r} on its path is "
                        f"{_describe(_kind(info.st_mode))}, not a folder."
                    )
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                os.close(fd)
                fd = child
                opened = os.fstat(fd)
                if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
                    raise SdcRefusedFile(f"{rel!r} is refused: its folder changed while read.")
        except OSError as exc:
            os.close(fd)
            raise SdcRefusedFile(f"{rel!r} cannot be opened ({exc.strerror}).") from None
        except BaseException:
            os.close(fd)
            raise
        return fd

    def read(self, rel: str, max_bytes: int | None = None, head: bool = False) -> bytes:
        """The bytes of the regular file ``rel``; ``SdcRefusedFile`` says why not.

        ``max_bytes`` lowers the cap; with ``head`` a larger file is not refused but
        read up to the cap only (to look at the start of a file nobody described).
        """
        relative_path(rel, "a file path")
        cap = self.caps.max_file_bytes
        if max_bytes is not None:
            cap = min(cap, max_bytes)
        *folders, name = rel.split("/")
        parent = self._folder(folders, rel)
        try:
            try:
                info = os.stat(name, dir_fd=parent, follow_symlinks=False)
            except FileNotFoundError:
                raise SdcRefusedFile(f"{rel!r} is missing.") from None
            self._check(rel, info, None if head else cap)
            fd = os.open(name, _FILE_FLAGS, dir_fd=parent)
        except OSError as exc:
            raise SdcRefusedFile(f"{rel!r} cannot be opened ({exc.strerror}).") from None
        finally:
            os.close(parent)
        try:
            opened = os.fstat(fd)
            self._check(rel, opened, None if head else cap)
            if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
                raise SdcRefusedFile(f"{rel!r} was replaced while it was opened; it is refused.")
            chunks, size = [], 0
            while size <= cap:
                chunk = os.read(fd, min(_CHUNK, cap + 1 - size))
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        except OSError as exc:
            raise SdcRefusedFile(f"{rel!r} cannot be read ({exc.strerror}).") from None
        finally:
            os.close(fd)
        if size > cap:
            if not head:
                raise SdcRefusedFile(f"{rel!r} grew past the cap of {cap:,} bytes while read.")
            chunks, size = [b"".join(chunks)[:cap]], cap
        self.bytes_read += size
        if self.bytes_read > self.caps.max_total_bytes:
            raise SdcRefusedFile(
                f"reading {rel!r} takes the request past the gate's cap of "
                f"{self.caps.max_total_bytes:,} bytes in total ([gate] max_total_bytes)."
            )
        return b"".join(chunks)

    @staticmethod
    def _check(rel: str, info: os.stat_result, cap: int | None) -> None:
        kind = _kind(info.st_mode)
        if kind != "file":
            raise SdcRefusedFile(f"{rel!r} is refused: it is {_describe(kind)}.")
        if info.st_nlink > 1:
            raise SdcRefusedFile(
                f"{rel!r} is refused: it has {info.st_nlink} hard links (a hard link can make "
                "a file from outside the request appear inside it)."
            )
        if cap is not None and info.st_size > cap:
            raise SdcRefusedFile(
                f"{rel!r} has {info.st_size:,} bytes, over the gate's cap of {cap:,} "
                "([gate] max_file_bytes)."
            )

    def entries(self) -> list[Entry]:
        """Everything in the folder (files, folders, links, special files), links not followed.

        Folders deeper than ``max_folder_depth`` are listed but not entered; more than
        ``max_files`` entries is a refusal.
        """
        found: list[Entry] = []
        stack: list[tuple[int, str, int]] = [(os.dup(self.fd), "", 0)]
        try:
            while stack:
                fd, prefix, depth = stack.pop()
                try:
                    with os.scandir(fd) as it:
                        items = sorted(it, key=lambda e: e.name)
                    for item in items:
                        info = item.stat(follow_symlinks=False)
                        entry = Entry(prefix + item.name, _kind(info.st_mode), info.st_size,
                                      info.st_nlink)  # fmt: skip
                        found.append(entry)
                        if len(found) > self.caps.max_files:
                            raise SdcRefusedFile(
                                f"the request folder holds more than {self.caps.max_files:,} "
                                "entries ([gate] max_files); it is refused."
                            )
                        if entry.kind == "folder" and depth + 1 < self.caps.max_folder_depth:
                            child = os.open(item.name, _DIR_FLAGS, dir_fd=fd)
                            stack.append((child, entry.path + "/", depth + 1))
                finally:
                    os.close(fd)
        except OSError as exc:
            raise SdcRefusedFile(f"the request folder cannot be listed ({exc.strerror}).") from None
        finally:
            for fd, _, _ in stack:
                os.close(fd)
        return sorted(found, key=lambda e: e.path)


def _refuse_constant(name: str) -> Any:
    raise SdcRefusedFile(f"the JSON holds {name}, which is not a JSON number.")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):
        raise SdcRefusedFile("a JSON object names a key twice.")
    return out


def parse_json(data: bytes, max_depth: int, what: str = "the file") -> Any:
    """A JSON document read strictly: UTF-8, no NaN or Infinity, no repeated key, no lone
    surrogate, at most ``max_depth`` nested arrays and objects.

    Examples
    --------
    >>> parse_json(b'{"a": [1, 2]}', 4)
    {'a': [1, 2]}
    >>> parse_json(b"[" * 10 + b"]" * 10, 4)
    Traceback (most recent call last):
    ...
    sdc.exceptions.SdcRefusedFile: the file nests arrays and objects deeper than 4 levels.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise SdcRefusedFile(f"{what} is not UTF-8 text.") from None
    try:
        value = json.loads(text, parse_constant=_refuse_constant, object_pairs_hook=_unique_keys)
    except RecursionError:
        raise SdcRefusedFile(
            f"{what} nests arrays and objects deeper than {max_depth} levels."
        ) from None
    except json.JSONDecodeError as exc:
        raise SdcRefusedFile(
            f"{what} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})."
        ) from None
    _check_tree(value, max_depth, what)
    return value


_SCALARS = frozenset({int, float, bool, type(None)})


def _check_tree(root: Any, max_depth: int, what: str) -> None:
    """Depth of nesting, and no lone surrogate in any text (iteratively: no recursion)."""
    stack = [(root, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            items: Any = node.values()
            for key in node:
                _check_text(key, what)
        elif isinstance(node, list):
            items = node
        else:
            continue
        if depth > max_depth:
            raise SdcRefusedFile(f"{what} nests arrays and objects deeper than {max_depth} levels.")
        if set(map(type, items)) <= _SCALARS:  # a list of numbers: nothing to look into
            continue
        for child in items:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif isinstance(child, str):
                _check_text(child, what)


def _check_text(text: str, what: str) -> None:
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise SdcRefusedFile(f"{what} holds a text with a lone surrogate.") from None
