"""Run tau-Argus (``pytauargus``, its own venv) on one generated table; print JSON.

    benchmarks/.venv-tauargus/bin/python benchmarks/peers/tauargus_runner.py SPEC.json OUT.json

``SPEC.json``: ``dims`` (names), ``levels`` (leaf codes per dimension), ``groups``
(per dimension, ``[label, [leaves]]``: one level of subtotals under the total),
``cells`` (per inner cell in C order of the leaves, the contributions it holds: one
record each, every record its own contributor; a frequency table gives ones),
``rules`` (tau-Argus safety rules, e.g. ``"FREQ(3,1)"`` or ``"NK(1,80)|FREQ(1,1)"``),
``suppress`` (e.g. ``"MOD(1)"``), ``audit`` (bool). Writes per published cell its
codes and tau-Argus status (``U`` primary, ``M`` secondary, ``S``/``P`` safe, ``E``
empty), the seconds of the whole protect call (microdata files, tabulation,
suppression) and, with ``audit``, the cells its own audit finds unsafe. ``OUT.json`` is
written as soon as the pattern is known and again after the audit, so a caller that stops a
long audit still has the pattern.

tau-Argus writes working files (``CSPlogfile.txt``, ``HiTaS.log``, ``JJUit.dat``,
``cspSCIP.*``, ``hierinfo.dat``, ``*.lp``) into its current directory as well as its
``workdir``: the runner changes into a temporary directory first and removes it at the end,
so nothing is written where it was started.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path


def _hrc(path: Path, groups: list) -> None:
    lines = []
    for label, leaves in groups:
        lines.append(str(label))
        lines += [f"@{leaf}" for leaf in leaves]
    path.write_text("\n".join(lines) + "\n", encoding="ascii")


def _write(path: Path, out: dict) -> None:
    """Whole or not at all: a caller may stop this process at any moment."""
    part = path.with_suffix(".part")
    part.write_text(json.dumps(out))
    os.replace(part, path)


def main() -> int:
    spec_path, out_path = Path(sys.argv[1]).resolve(), Path(sys.argv[2]).resolve()
    with tempfile.TemporaryDirectory(prefix="tau_") as tmp:
        os.chdir(tmp)  # tau-Argus's working files land here, never in the checkout
        try:
            return run(spec_path, out_path, Path(tmp))
        finally:
            os.chdir(spec_path.parent)


def run(spec_path: Path, out_path: Path, work: Path) -> int:
    from pytauargus import protect

    spec = json.loads(spec_path.read_text())
    dims, levels, groups = spec["dims"], spec["levels"], spec["groups"]
    columns: dict[str, list] = {d: [] for d in dims}
    columns["value"] = []
    import itertools

    for codes, contributions in zip(itertools.product(*levels), spec["cells"], strict=True):
        for v in contributions:
            for d, c in zip(dims, codes, strict=True):
                columns[d].append(c)
            columns["value"].append(v)
    hrc = {}
    for d, gs in zip(dims, groups, strict=True):
        if gs:
            path = work / f"{d}.hrc"
            _hrc(path, gs)
            hrc[d] = str(path)
    t = time.perf_counter()
    res = protect(columns, tables=[dims], response="value", safety_rules=spec["rules"],
                  suppress=spec["suppress"], hrc=hrc or None, decimals=spec.get("decimals", 0),
                  workdir=str(work))  # fmt: skip
    seconds = time.perf_counter() - t
    table = res.tables[0]
    rows = table.rows
    out = {
        "seconds": seconds,
        "cells": [[[str(r[d]) for d in dims], r["status"], r["value"]] for r in rows],
    }
    _write(out_path, out)
    if spec.get("audit"):
        t = time.perf_counter()
        audited = res.engine.audit(0)
        out["audit_seconds"] = time.perf_counter() - t
        out["audit_unsafe"] = sum(1 for r in audited if r["unsafe"])
        out["audit_rows"] = len(audited)
        _write(out_path, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
