"""Secondary suppression side by side with tau-Argus (modular method), same tables, same run.

    python benchmarks/bench_tauargus.py --cases 2x1e3 2x1e4 3x1e4 4x1e4 \\
        --out benchmarks/results-tauargus.json

tau-Argus is ``pytauargus`` 0.6.0 in its own venv
(``bash benchmarks/peers/setup_tauargus_venv.sh``), driven by
``benchmarks/peers/tauargus_runner.py`` in a fresh process per table (its time is the whole
``protect`` call: microdata files, tabulation, suppression; its audit is timed apart).

Tables (``bench_protection.dimension``): ``k`` dimensions of ``L = N^(1/k)`` leaves, each grouped
into subtotals of 5-10 leaves under its total; every cell published.

* frequency: negative binomial counts with 12% of inner cells at 1 or 2 (primaries
  ``0 < n < 3``: tau-Argus ``FREQ(3,1)``, sdc ``threshold t = 3``), zeros neither primary nor
  secondary;
* magnitude: each inner cell holds a negative binomial number of records (mean 18), each
  its own contributor with a lognormal value; rule (1, 80%) (tau-Argus ``NK(1,80)``), or with
  ``--two-rules`` also (2, 99%) (``NK(1,80)|NK(2,99)``, sdc ``nk-dominance-2``).

sdc runs in this process (kernels compiled first), as ``TableOutput.protect`` does: with and
without singleton protection, and with the small-count requirement of each mode
(``zero-or-threshold``, ``width``). tau-Argus runs ``MOD(1)`` and ``MOD(1,5,1,1,1)`` (its
singleton checks). Every pattern of both tools is audited by sdc's audit under the
requirement of the row (its default mode: the verdicts of the exact audit, fewer LPs): the
audit column says whether tau-Argus's pattern meets it. Secondary cells and their cost (sum
of values) are counted on the same cells.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
TAU_PYTHON = HERE / ".venv-tauargus" / "bin" / "python"


def make_case(kind: str, k: int, cells: float, seed: int = 0) -> dict[str, Any]:
    """Dimensions, groups and per-inner-cell contributions of one generated table."""
    from bench_protection import dimension

    rng = np.random.default_rng([seed, k, int(cells), kind == "magnitude"])
    n_leaves = max(2, round(cells ** (1.0 / k)))
    dims = [dimension(d, n_leaves, rng) for d in range(k)]
    n_inner = n_leaves**k
    if kind == "frequency":
        counts = rng.negative_binomial(0.8, 0.8 / (0.8 + 12.0), n_inner)
        contributions = [[1.0] * int(n) for n in counts]
    else:
        counts = rng.negative_binomial(1.0, 1.0 / 19.0, n_inner)
        contributions = [np.round(rng.lognormal(3, 1.5, int(n)), 2).tolist() for n in counts]
    return {
        "dims": [f"v{d}" for d in range(k)],
        "levels": [list(lv) for lv, _ in dims],
        "groups": [[[g, list(m)] for g, m in gs] for _, gs in dims],
        "cells": contributions,
    }


def sdc_table(case: dict[str, Any], kind: str, two_rules: bool) -> Any:
    """The case as an sdc table (records, one contributor each)."""
    import pandas as pd

    import sdc

    dims = case["dims"]
    rows, values = [], []
    for codes, contributions in zip(itertools.product(*case["levels"]), case["cells"],
                                    strict=True):  # fmt: skip
        rows += [codes] * len(contributions)
        values += contributions
    frame = pd.DataFrame(rows, columns=dims)
    hier = {d: {g: m for g, m in gs} for d, gs in zip(dims, case["groups"], strict=True) if gs}
    if kind == "frequency":
        toml = 'extends = "default"\n[threshold]\nt = 3\n[zeros]\noutcome = "review"\n'
        rs = sdc.RuleSet.from_toml(toml)
        return sdc.Session(rules=rs).pivot_table(
            frame, index=dims[0], columns=dims[1:], aggfunc="count", margins=True,
            hierarchies=hier or None,
        )  # fmt: skip
    frame["value"] = values
    frame["id"] = np.arange(len(frame))
    rules = '["nk-dominance", "nk-dominance-2"]' if two_rules else '["nk-dominance"]'
    toml = ('extends = "default"\n[threshold]\nt = 1\n[nk-dominance]\nn = 1\nk = 0.8\n'
            '[nk-dominance-2]\nn = 2\nk = 0.99\n[statistics]\nsum = ' + rules + "\n")  # fmt: skip
    return sdc.Session(rules=sdc.RuleSet.from_toml(toml)).pivot_table(
        frame, index=dims[0], columns=dims[1:], values="value", aggfunc="sum", margins=True,
        contributor="id", hierarchies=hier or None,
    )  # fmt: skip


def run_tau(
    case: dict[str, Any], rules: str, suppress: str, timeout: float = 3600.0
) -> dict[str, Any]:
    """tau-Argus on ``case`` in its own process; stopped after ``timeout`` seconds.

    A run stopped during its own audit keeps its pattern (``own_audit_timed_out``);
    one stopped before that is a row with ``timed_out``.
    """
    spec = {**case, "rules": rules, "suppress": suppress, "audit": True,
            "decimals": 2 if "NK" in rules else 0}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        spec_path, out_path = Path(tmp) / "spec.json", Path(tmp) / "out.json"
        spec_path.write_text(json.dumps(spec))
        t = time.perf_counter()
        proc = subprocess.Popen([str(TAU_PYTHON), str(HERE / "peers" / "tauargus_runner.py"),
                                 str(spec_path), str(out_path)], stdout=subprocess.DEVNULL,
                                stderr=subprocess.PIPE, text=True, cwd=tmp,
                                start_new_session=True)  # fmt: skip
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # the engine and anything it started
            proc.communicate()
            wall = time.perf_counter() - t
            if not out_path.exists():
                return {"timed_out": True, "wall_seconds": wall}
            out = json.loads(out_path.read_text())
            out.update(wall_seconds=wall, own_audit_timed_out=True)
            return out
        wall = time.perf_counter() - t
        if proc.returncode != 0:
            return {"error": err[-2000:], "wall_seconds": wall}
        out = json.loads(out_path.read_text())
    out["wall_seconds"] = wall
    return out


def tau_pattern(table: Any, tau: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """tau-Argus's primaries and suppressed cells as cube masks of the sdc table."""
    tm = table.model
    index = {}
    for c in range(tm.n_cells):
        labels = tuple("Total" if str(v) == "All" else str(v) for v in tm.labels(c).values())
        index[labels] = c
    primary = np.zeros(tm.n_cells, dtype=bool)
    hidden = np.zeros(tm.n_cells, dtype=bool)
    for codes, status, _ in tau["cells"]:
        c = index[tuple(codes)]
        primary[c] = status == "U"
        hidden[c] = status in ("U", "M")
    return primary, hidden


def pattern_row(table: Any, hidden: np.ndarray, params: Any) -> dict[str, Any]:
    """Secondaries, their cost and the audit of a pattern under ``params``' requirements."""
    from sdc.protection.cells import audit_problem
    from sdc.tables.protect import additive_values, cell_problem

    tm = table.model
    pub = np.flatnonzero(tm.published_mask)
    secondary = hidden & ~table.check.fail
    values = additive_values(table.check)
    problem = cell_problem(table.check, tm.model_matrix(), pub, params)
    t = time.perf_counter()
    a, _ = audit_problem(problem, hidden[pub])  # the verdict of the exact audit (tested)
    return {
        "n_secondary": int(secondary.sum()),
        "cost_secondary": float(np.abs(values[secondary]).sum()),
        "audit_passed": bool(a.passed),
        "audit_failing": int((~a.ok).sum()),
        "audit_seconds": time.perf_counter() - t,
    }


TAU_VARIANTS = (("MOD(1)", False), ("MOD(1,5,1,1,1)", True))


def run_case(
    name: str,
    kind: str,
    k: int,
    cells: float,
    two_rules: bool,
    skip_slow: bool = False,
    tau_timeout: float = 3600.0,
    tau_variants: tuple[tuple[str, bool], ...] = TAU_VARIANTS,
) -> dict[str, Any]:
    from dataclasses import replace

    case = make_case(kind, k, cells)
    table = sdc_table(case, kind, two_rules)
    base = table.check.ruleset.protection
    out: dict[str, Any] = {
        "case": name, "kind": kind, "dims": k, "two_rules": two_rules,
        "n_published": int(table.model.published_mask.sum()),
        "n_records": int(sum(len(c) for c in case["cells"])),
        "n_primary": int(table.check.fail.sum()), "rows": [],
    }  # fmt: skip
    modes = (
        [
            ("zero-or-threshold", True),
            ("zero-or-threshold", False),
            ("width", True),
            ("width", False),
        ]
        if kind == "frequency"
        else [("width", True), ("width", False)]
    )
    if skip_slow:  # zero-or-threshold without singleton protection: many audit rounds
        modes = [m for m in modes if m != ("zero-or-threshold", False)]
    for small, single in modes:
        t = time.perf_counter()
        p = table.protect(singletons=single, small_counts=small)
        seconds = time.perf_counter() - t
        params = replace(base, small_counts=small, singletons=single)
        row = {"tool": "sdc", "small_counts": small, "singletons": single,
               "seconds": seconds, "status": p.status.value,
               **pattern_row(table, p.release.suppressed, params)}  # fmt: skip
        out["rows"].append(row)
        print(
            f"  {name} sdc {small} singletons={single}: {row['n_secondary']} in "
            f"{seconds:.2f}s, audit {row['audit_passed']}",
            file=sys.stderr,
            flush=True,
        )
    rules = ("NK(1,80)|NK(2,99)" if two_rules else "NK(1,80)") if kind == "magnitude" \
        else "FREQ(3,1)"  # fmt: skip
    for suppress, single in tau_variants:
        tau = run_tau(case, rules, suppress, tau_timeout)
        if "error" in tau or "timed_out" in tau:
            why = "error" if "error" in tau else f"stopped after {tau['wall_seconds']:.0f} s"
            out["rows"].append({"tool": "tau-Argus", "suppress": suppress, "singletons": single,
                                **tau})  # fmt: skip
            print(f"  {name} tau {suppress}: {why}", file=sys.stderr, flush=True)
            continue
        primary, hidden = tau_pattern(table, tau)
        for small in ("zero-or-threshold", "width") if kind == "frequency" else ("width",):
            params = replace(base, small_counts=small, singletons=single)
            row = {"tool": "tau-Argus", "suppress": suppress, "small_counts": small,
                   "singletons": single, "seconds": tau["seconds"],
                   "wall_seconds": tau["wall_seconds"],
                   "own_audit_unsafe": tau.get("audit_unsafe"),
                   "own_audit_seconds": tau.get("audit_seconds"),
                   "own_audit_timed_out": bool(tau.get("own_audit_timed_out")),
                   "same_primaries": bool((primary == table.check.fail).all()),
                   **pattern_row(table, hidden, params)}  # fmt: skip
            out["rows"].append(row)
        print(
            f"  {name} tau {suppress}: {row['n_secondary']} in {tau['seconds']:.2f}s",
            file=sys.stderr,
            flush=True,
        )
    return out


def markdown(results: list[dict[str, Any]]) -> str:
    lines = ["| table | published | primaries | tool | requirement | singletons | secondaries "
             "| cost | seconds | our audit |", "|" + "---|" * 10]  # fmt: skip
    for r in results:
        for row in r["rows"]:
            if "error" in row or "timed_out" in row:
                what = "error" if "error" in row else f"stopped at {row['wall_seconds']:.0f} s"
                single = "yes" if row["singletons"] else "no"
                head = f"| {r['case']} | {r['n_published']:,} | {r['n_primary']:,} |"
                tool = f"{row['tool']} {row['suppress']}"
                lines.append(f"{head} {tool} | | {single} | {what} | | | |")
                continue
            tool = row["tool"] + (f" {row['suppress']}" if "suppress" in row else "")
            audit = "pass" if row["audit_passed"] else f"FAIL ({row['audit_failing']})"
            lines.append(
                f"| {r['case']} | {r['n_published']:,} | {r['n_primary']:,} | {tool} | "
                f"{row['small_counts']} | {'yes' if row['singletons'] else 'no'} | "
                f"{row['n_secondary']:,} | {row['cost_secondary']:,.0f} | "
                f"{row['seconds']:.2f} | {audit} |"
            )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", nargs="+", default=["2x1e3"],
                    help="KxN: K dimensions, about N inner cells; prefix m for magnitude "
                         "(m2x1e4), mm for magnitude with two rules")  # fmt: skip
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument(
        "--skip-slow",
        action="store_true",
        help="leave out sdc's zero-or-threshold run without singleton protection",
    )
    ap.add_argument("--tau-timeout", type=float, default=3600.0,
                    help="stop a tau-Argus run after this many seconds (its pattern is kept "
                         "if only its own audit was left)")  # fmt: skip
    ap.add_argument(
        "--tau",
        nargs="*",
        choices=[v for v, _ in TAU_VARIANTS],
        default=[v for v, _ in TAU_VARIANTS],
        help="tau-Argus methods to run (none: sdc's rows only)",
    )
    args = ap.parse_args(argv)
    variants = tuple(v for v in TAU_VARIANTS if v[0] in args.tau)
    if not TAU_PYTHON.exists():
        raise SystemExit("tau-Argus venv missing: bash benchmarks/peers/setup_tauargus_venv.sh")
    from bench_protection import _warm_up, machine

    _warm_up()
    info = machine()
    info["load_average"] = os.getloadavg()
    results = []
    for spec in args.cases:
        two = spec.startswith("mm")
        kind = "magnitude" if spec.startswith("m") else "frequency"
        k, n = spec.lstrip("m").split("x")
        print(spec, file=sys.stderr, flush=True)
        results.append(
            run_case(spec, kind, int(k), float(n), two, args.skip_slow, args.tau_timeout, variants)
        )
        if args.out is not None:
            info["load_average_end"] = os.getloadavg()
            args.out.write_text(json.dumps({"machine": info, "cases": results}, indent=1))
    print(markdown(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
