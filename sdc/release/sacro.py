"""``sdc export-sacro``: a request as SACRO-Viewer opens it (ACRO's ``results.json`` layout).

ACRO's ``finalise`` writes, into one folder, each output's files and a
``results.json``::

    {"version": "1.0.2", "tool": {...},
     "results": {"<output>": {"uid", "status", "type", "properties": {"method", ...},
                              "files": [{"name": "<file>", "sdc": {"summary": {check: n},
                                                                    "cells": {check: [[r, c]]}}}],
                              "outcome": {column: {row: "ok" | "check; "}},
                              "command", "summary", "timestamp", "comments", "exception"}}}

SACRO-Viewer (the checkers' viewer used with ACRO) lists the outputs with their
status, shows each file, highlights the cells ``sdc.cells`` names, and zips the
outputs a checker approves. The export is made from any request folder through
the gate (with the operator's rules and trust options), so the statuses are the
gate's, and it holds only files that may leave (outputs that pass or need review;
a ``fail`` output is listed with its reasons and no file). A table is written as
ACRO writes it: wide, row dimensions down the side, column dimensions across
(joined by `` / ``), suppressed cells empty, labels escaped as in every released
CSV. ``sdc.cells`` and ``outcome`` give each cell's rules by position in that
table (row, column of the values). The export is for checkers inside the TRE:
the comments repeat the gate's reasons.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from sdc._version import __version__
from sdc.canonical import csv_text, number_text, text_field
from sdc.exceptions import SdcInputError
from sdc.release.gate import GateResult
from sdc.release.manifest import data_path
from sdc.release.summary import leaving

#: The ACRO release whose ``results.json`` layout the export follows.
ACRO_LAYOUT = "1.0.2"
_TYPE = {"frequency table": "table", "magnitude table": "table", "regression": "regression",
         "survival": "survival table", "microdata": "custom"}  # fmt: skip


def _key(labels: dict[str, str], dims: list[str]) -> str:
    return " / ".join(labels[d] for d in dims)


def wide_table(entry: dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, dict[str, str]]]:
    """A table's report entry as ACRO's wide CSV, its ``sdc`` block and its ``outcome``."""
    dims = list(entry["dims"])
    row_dims = list(entry.get("row_dims") or dims[:1])
    col_dims = [d for d in dims if d not in row_dims]
    rows: dict[str, dict[str, str]] = {}
    cols: dict[str, None] = {}
    values: dict[tuple[str, str], Any] = {}
    rules: dict[tuple[str, str], list[str]] = {}
    integer = entry.get("statistic") in ("count", "histogram")
    for cell in entry["cells"]:
        r, c = _key(cell["labels"], row_dims), _key(cell["labels"], col_dims) or entry["name"]
        rows.setdefault(r, {d: cell["labels"][d] for d in row_dims})
        cols.setdefault(c)
        values[(r, c)] = None if cell["suppressed"] else cell["value"]
        rules[(r, c)] = [*cell["failed_rules"], *cell["review_rules"]]
    col_keys = list(cols)
    body = [
        [*(text_field(label) for label in labels.values()),
         *(number_text(values.get((r, c)), integer) for c in col_keys)]
        for r, labels in rows.items()
    ]  # fmt: skip
    text = csv_text([*row_dims, *col_keys], body)
    checks = sorted({rule for found in rules.values() for rule in found})
    cells: dict[str, list[list[int]]] = {rule: [] for rule in checks}
    outcome: dict[str, dict[str, str]] = {c: {} for c in col_keys}
    for i, r in enumerate(rows):
        for j, c in enumerate(col_keys):
            found = rules.get((r, c), [])
            for rule in found:
                cells[rule].append([i, j])
            outcome[c][r] = "".join(f"{rule}; " for rule in found) or "ok"
    sdc = {"summary": {rule: len(at) for rule, at in cells.items()}, "cells": cells}
    return text, sdc, outcome


def _method(definition: Any, kind: str) -> str:
    call = (definition or {}).get("call")
    return str(call) if call else kind


def export_sacro(result: GateResult, out: str | Path) -> dict[str, Any]:
    """Write ``results.json``, ``config.json``, the files and their checksums into ``out``
    (a new folder); the document of what was written."""
    target = Path(out)
    if os.path.lexists(target):
        raise SdcInputError(f"`OUT` of `sdc export-sacro` must be a new folder; {str(target)!r} "
                            "exists.")  # fmt: skip
    if not target.parent.is_dir():
        raise SdcInputError(f"`OUT` of `sdc export-sacro` must be in an existing folder; got "
                            f"{str(target)!r}.")  # fmt: skip
    report = result.report
    may_leave = leaving(report, [o["name"] for o in report["outputs"]])
    entries = {o["name"]: o for o in report["outputs"]}
    written: dict[str, bytes] = {}
    results: dict[str, Any] = {}
    for m in result.manifest.outputs:
        e = entries.get(m.name)
        if e is None:
            continue
        files = []
        outcome: dict[str, Any] = {}
        for path in may_leave.get(m.name, []):
            sdc: dict[str, Any] = {"summary": {}, "cells": {}}
            data = result.checked[path]
            if path == data_path(m.name) and e["cells"]:
                text, sdc, outcome = wide_table(e)
                data = text.encode("utf-8")
            written[path] = data
            files.append({"name": path, "sdc": sdc})
        results[m.name] = {
            "uid": m.name,
            "status": e["status"],
            "type": _TYPE.get(m.kind, "custom"),
            "properties": {
                "method": _method(m.definition, m.kind),
                "statistic": m.statistic,
                "kind": m.kind,
            },  # fmt: skip
            "files": files,
            "outcome": outcome,
            "command": _method(m.definition, m.kind),
            "summary": f"{e['status']}; " + "; ".join(e["reasons"][:3])
            if e["reasons"]
            else e["status"],  # fmt: skip
            "timestamp": result.manifest.created,
            "comments": [*e["reasons"], *(t for n, t in result.manifest.comments if n == m.name)],
            "exception": result.manifest.exception(m.name) or "",
        }
    doc = {
        "version": ACRO_LAYOUT,
        "tool": {"@type": "SoftwareApplication", "name": "sdc-engine", "version": __version__},
        "results": results,
    }
    written["results.json"] = (json.dumps(doc, indent=4) + "\n").encode("utf-8")
    config = {"rule set": result.ruleset.name, **{
        f"{rid}.{k}": v for rid, p in result.ruleset.params.items()
        for k, v in vars(p).items() if isinstance(v, int | float | str | bool)}}  # fmt: skip
    written["config.json"] = (json.dumps(config, indent=4) + "\n").encode("utf-8")
    target.mkdir()
    (target / "checksums").mkdir()
    for name, data in written.items():
        _write_new(target / name, data)
        _write_new(target / "checksums" / f"{name}.txt",
                   hashlib.sha256(data).hexdigest().encode("ascii"))  # fmt: skip
    return {"folder": str(target), "outputs": list(results), "files": sorted(written)}


def _write_new(path: Path, data: bytes) -> None:
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    fd = os.open(path, flags, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
