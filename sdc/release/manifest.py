"""The manifest of a request folder (``manifest.json``, format 2.2): every file, every output.

``finalise`` writes it; the gate reads it, and trusts it only as far as its
signature (``manifest.sig``, :mod:`sdc.release.signing`) goes::

    {
      "schema_version": "2.2",
      "producer": "sdc-engine 0.1.0",
      "created": "2025-01-31T12:00:00+00:00",
      "author": "alice",         who made the request (finalise(author=...)), or null
      "rules": {...},            the rule set the session used (the gate applies its own)
      "linked": [["by_sex", "by_age"]],   tables protected jointly (protect_linked)
      "exceptions": [{"output": "visits", "reason": "..."}],  the researcher's case for
                                 releasing an output that needs review (add_exception)
      "comments": [{"output": null, "text": "..."}],  notes for the checker (add_comment;
                                 "output" null: on the whole request)
      "outputs": [{
        "name": "visits", "kind": "frequency table", "statistic": "count",
        "value_name": "count", "protected": true, "rounded_to": null, "status": "pass",
        "definition": {...}       what made it (sdc.definition), or null
      }, ...],
      "files": [{
        "path": "visits.csv", "kind": "table", "output": "visits",
        "sha256": "<64 hex>", "bytes": 123
      }, ...]
    }

Every file of the folder but ``manifest.json`` and ``manifest.sig`` is listed in
``files`` with a kind the gate knows (:data:`FILE_KINDS`); any other file is
refused. An output's files have fixed names: ``<name>.csv`` (its released data),
``evidence/<name>.json`` and, for a plot, ``<name>.svg``; the session's reports
are ``report.json`` and ``report.txt``.

A custom output (``custom_output``: a file the engine did not make) has kind
``custom`` and one file, ``<name><suffix>`` of kind ``custom``, and no evidence.

Reading checks the structure only (keys, types, paths, and that each linked set,
exception and comment names outputs of the manifest); whether the files and outputs
agree with each other is for the gate to judge, output by output. Exceptions and
comments are the researcher's words: shown to the checker, they change no verdict.
Formats 2.0 (without ``author`` and ``linked``) and 2.1 (without ``exceptions`` and
``comments``) are still read. Manifests of format 1.x (before signatures and
canonical files) are not read: finalise the outputs again. A gate older than 2.2
refuses a 2.2 manifest (an unknown version), so it never passes what it cannot read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from sdc._text import refused_characters
from sdc.exceptions import SdcInputError
from sdc.release.safe_read import parse_json, relative_path

MANIFEST = "manifest.json"
MANIFEST_VERSION = "2.2"
#: Formats this version reads (2.0: before ``author`` and ``linked``; 2.1: before
#: ``exceptions`` and ``comments``).
READ_VERSIONS = ("2.0", "2.1", MANIFEST_VERSION)
#: Longest exception reason or comment (characters).
MAX_NOTE = 4000

#: Kinds of file in a request: whether a file of the kind may ever leave the TRE.
FILE_KINDS = {
    "table": True,
    "coefficients": True,
    "survival table": True,
    "plot": True,
    "microdata": True,
    "custom": True,
    "evidence": False,
    "report": False,
}

#: The released data file of each kind of output.
DATA_KIND = {
    "frequency table": "table",
    "magnitude table": "table",
    "regression": "coefficients",
    "survival": "survival table",
    "microdata": "microdata",
}

#: The session's own reports: the gate writes its own and never releases these.
REPORT_FILES = ("report.json", "report.txt")

_TOP_KEYS_20 = ("schema_version", "producer", "created", "rules", "outputs", "files")
_TOP_KEYS_21 = (*_TOP_KEYS_20, "author", "linked")
_TOP_KEYS = (*_TOP_KEYS_21, "exceptions", "comments")
_KEYS_OF = {"2.0": _TOP_KEYS_20, "2.1": _TOP_KEYS_21, MANIFEST_VERSION: _TOP_KEYS}
_OUTPUT_KEYS = (
    "name", "kind", "statistic", "value_name", "protected", "rounded_to", "status",
    "definition",
)  # fmt: skip
_FILE_KEYS = ("path", "kind", "output", "sha256", "bytes")
_HEX64 = re.compile(r"[0-9a-f]{64}")
#: Characters an output name may not hold (it names files).
_NAME_FORBIDDEN = set('/\\:*?"<>|')
MAX_NAME = 200


def name_problem(name: str) -> str:
    """Why ``name`` cannot name an output ('' if it can): it names the output's files.

    Examples
    --------
    >>> name_problem("visits"), name_problem("a/b")
    ('', 'it holds one of / \\\\ : * ? " < > |')
    """
    if not name:
        return "it is empty"
    if len(name) > MAX_NAME:
        return f"it is longer than {MAX_NAME} characters"
    bad = refused_characters(name)
    if bad:
        return f"it holds control or format character(s) {', '.join(bad)}"
    if _NAME_FORBIDDEN & set(name):
        return 'it holds one of / \\ : * ? " < > |'
    if name[0] in ". " or name[-1] in ". ":
        return "it starts or ends with a dot or a space"
    return ""


def data_path(name: str) -> str:
    return f"{name}.csv"


def evidence_path(name: str) -> str:
    return f"evidence/{name}.json"


def plot_path(name: str) -> str:
    return f"{name}.svg"


@dataclass(frozen=True)
class FileEntry:
    """A file as the manifest lists it."""

    path: str
    kind: str
    output: str | None
    sha256: str
    size: int

    @property
    def may_leave(self) -> bool:
        return FILE_KINDS.get(self.kind, False)


@dataclass(frozen=True)
class OutputEntry:
    """An output as the manifest describes it (claims, until the gate has checked them)."""

    name: str
    kind: str
    statistic: str
    value_name: str
    protected: bool
    rounded_to: int | None
    status: str
    definition: dict[str, Any] | None


@dataclass(frozen=True)
class Manifest:
    """A structurally valid manifest; ``raw`` is its bytes (what the signature covers)."""

    producer: str
    created: str
    rules: dict[str, Any]
    outputs: tuple[OutputEntry, ...]
    files: tuple[FileEntry, ...]
    raw: bytes
    #: Who made the request (``finalise(author=...)``); None when not recorded.
    author: str | None = None
    #: Sets of tables protected jointly (``Session.protect_linked``), by output name.
    linked: tuple[tuple[str, ...], ...] = ()
    #: The researcher's case for releasing an output, by output name (``add_exception``).
    exceptions: tuple[tuple[str, str], ...] = ()
    #: Notes for the checker: (output name or None, text) (``add_comment``).
    comments: tuple[tuple[str | None, str], ...] = ()

    def exception(self, output: str) -> str | None:
        return next((r for n, r in self.exceptions if n == output), None)

    def file(self, path: str) -> FileEntry | None:
        return next((f for f in self.files if f.path == path), None)

    def files_of(self, output: str) -> list[FileEntry]:
        return [f for f in self.files if f.output == output]


def _bad(what: str) -> SdcInputError:
    return SdcInputError(f"{MANIFEST}: {what}")


def _keys(obj: Any, keys: tuple[str, ...], where: str) -> dict[str, Any]:
    if not isinstance(obj, dict) or set(obj) != set(keys):
        got = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
        raise _bad(f"{where} must have exactly the keys {list(keys)}; got {got}.")
    return obj


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _bad(f"{where} must be a text; got {type(value).__name__}.")
    return value


def parse_manifest(data: bytes, max_json_depth: int) -> Manifest:
    """The manifest in ``data``, its structure checked; ``SdcInputError`` says what is wrong."""
    try:
        raw = parse_json(data, max_json_depth, MANIFEST)
    except SdcInputError as exc:
        raise SdcInputError(f"{MANIFEST} cannot be read: {exc}") from None
    if isinstance(raw, dict) and raw.get("schema_version") in ("1.0", "1.1"):
        raise _bad(
            f"format {raw['schema_version']} (written before signatures and canonical files) "
            "is not read; finalise the outputs again with this version."
        )
    if not isinstance(raw, dict):
        _keys(raw, _TOP_KEYS, "the manifest")
    version = raw.get("schema_version")
    if version not in READ_VERSIONS:
        raise _bad(f"schema_version must be one of {list(READ_VERSIONS)}; got {version!r}.")
    top = _keys(raw, _KEYS_OF[version], "the manifest")
    for key in ("producer", "created"):
        if refused_characters(_text(top[key], key)):
            raise _bad(f"{key} holds control or format characters.")
    if not isinstance(top["rules"], dict):
        raise _bad("rules must be a table of rule settings.")
    if not isinstance(top["outputs"], list) or not top["outputs"]:
        raise _bad("lists no outputs.")
    if not isinstance(top["files"], list):
        raise _bad("files must be a list.")
    outputs = tuple(_output(o, i) for i, o in enumerate(top["outputs"]))
    names: dict[str, str] = {}
    for o in outputs:
        key = o.name.casefold()
        if key in names:
            raise _bad(f"names output {o.name!r} twice (names differing in case only count "
                       "as the same: they name the same files on some systems).")  # fmt: skip
        names[key] = o.name
    files = tuple(_file(f, i) for i, f in enumerate(top["files"]))
    paths: set[str] = set()
    for f in files:
        if f.path.casefold() in paths:
            raise _bad(f"lists the file {f.path!r} twice.")
        paths.add(f.path.casefold())
    author = top.get("author")
    if author is not None and (not _text(author, "author").strip() or len(author) > MAX_NAME
                               or refused_characters(author)):  # fmt: skip
        raise _bad("author must be null or one line of text (at most 200 characters).")
    linked = _linked(top.get("linked", []), names)
    exceptions = tuple((str(n), r) for n, r in _notes(top.get("exceptions", []), names,
                                                      "exceptions", "reason", False))  # fmt: skip
    if len({n for n, _ in exceptions}) != len(exceptions):
        raise _bad("exceptions names an output twice (one exception per output).")
    comments = _notes(top.get("comments", []), names, "comments", "text", True)
    return Manifest(top["producer"], top["created"], top["rules"], outputs, files, data,
                    author, linked, exceptions, comments)  # fmt: skip


def _notes(value: Any, names: dict[str, str], key: str, field: str,
           whole: bool) -> tuple[tuple[str | None, str], ...]:  # fmt: skip
    """Exceptions or comments: ``{"output": name, field: text}``, ``output`` null only for a
    comment on the whole request."""
    if not isinstance(value, list):
        raise _bad(f"{key} must be a list.")
    out = []
    for i, note in enumerate(value):
        n = _keys(note, ("output", field), f"{key} {i}")
        name, text = n["output"], n[field]
        if not (name is None and whole) and (
            not isinstance(name, str) or names.get(name.casefold()) != name
        ):
            raise _bad(f"{key} {i} names {name!r}, which is no output of the manifest.")
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_NOTE:
            raise _bad(f"{key} {i}: {field} must be a text of 1 to {MAX_NOTE} characters.")
        out.append((name, text))
    return tuple(out)


def _linked(value: Any, names: dict[str, str]) -> tuple[tuple[str, ...], ...]:
    """Sets of linked tables: lists of at least two output names, each output in one set."""
    if not isinstance(value, list):
        raise _bad("linked must be a list of lists of output names.")
    seen: set[str] = set()
    groups = []
    for i, group in enumerate(value):
        if not isinstance(group, list) or len(group) < 2:
            raise _bad(f"linked set {i} must list at least two output names.")
        for name in group:
            if not isinstance(name, str) or names.get(name.casefold()) != name:
                raise _bad(f"linked set {i} names {name!r}, which is no output of the manifest.")
            if name in seen:
                raise _bad(f"names output {name!r} in two linked sets (or twice in one).")
            seen.add(name)
        groups.append(tuple(group))
    return tuple(groups)


def _output(obj: Any, i: int) -> OutputEntry:
    where = f"output {i}"
    o = _keys(obj, _OUTPUT_KEYS, where)
    for key in ("name", "kind", "statistic", "value_name", "status"):
        _text(o[key], f"{where}: {key}")
    if not isinstance(o["protected"], bool):
        raise _bad(f"{where}: protected must be true or false.")
    r = o["rounded_to"]
    if r is not None and (isinstance(r, bool) or not isinstance(r, int) or r < 1):
        raise _bad(f"{where}: rounded_to must be null or a positive integer; got {r!r}.")
    if o["status"] not in ("pass", "review", "fail"):
        raise _bad(f"{where}: status must be pass, review or fail; got {o['status']!r}.")
    if o["definition"] is not None and not isinstance(o["definition"], dict):
        raise _bad(f"{where}: definition must be an object or null.")
    return OutputEntry(
        o["name"], o["kind"], o["statistic"], o["value_name"], o["protected"], r,
        o["status"], o["definition"],
    )  # fmt: skip


def _file(obj: Any, i: int) -> FileEntry:
    where = f"file {i}"
    f = _keys(obj, _FILE_KEYS, where)
    try:
        path = relative_path(f["path"], f"{where}: path")
    except SdcInputError as exc:
        raise _bad(str(exc)) from None
    if path in (MANIFEST, "manifest.sig"):
        raise _bad(f"{where}: {path} is not listed among the files.")
    kind = _text(f["kind"], f"{where}: kind")
    if f["output"] is not None:
        _text(f["output"], f"{where}: output")
    if not isinstance(f["sha256"], str) or not _HEX64.fullmatch(f["sha256"]):
        raise _bad(f"{where}: sha256 must be 64 lower-case hex digits.")
    size = f["bytes"]
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise _bad(f"{where}: bytes must be a count; got {size!r}.")
    return FileEntry(path, kind, f["output"], f["sha256"], size)


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    """The manifest as finalise writes it (indented JSON, ASCII, one final line feed)."""
    return (json.dumps(manifest, indent=2, ensure_ascii=True, allow_nan=False) + "\n").encode()
