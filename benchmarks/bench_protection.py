"""Secondary suppression and audit on synthetic hierarchical tables, against an LP reference.

    python benchmarks/bench_protection.py --dims 2 3 4 --cells 1e3 1e4 1e5 1e6 \\
        --primary-rate 0.1 --reference-max-cells 1e4 --repeat 3 --max-seconds 600 \\
        --out benchmarks/results-protection.json

Tables: for each number of dimensions ``k`` and target number of inner cells ``N``, every
dimension gets ``L = round(N ** (1 / k))`` leaves (so ``L ** k`` inner cells) under a 2-level
hierarchy: the total, and subtotal groups of 5-10 consecutive leaves (two groups of about
``L / 2`` when ``L < 10``, none when ``L < 4``). Every cell is published: leaves, subtotals and
totals, crossed over all dimensions. Inner counts are negative binomial (dispersion
``--dispersion``, skewed; the smaller, the more zeros and small cells) with the mean at which a
fraction ``--primary-rate`` of inner cells lies in ``1..threshold-1``; the primaries are the
published cells (margins included) with ``0 < count < --threshold``, and the actual rates are
reported.

For each table, in a fresh process: sdc's model matrix (``TableModel.model_matrix``),
``secondary_suppress`` (zeros are never secondaries, no singleton protection) and ``audit``
(protection level 0: every suppressed cell needs an interval of positive width; as
``protect`` runs it: with the kernel's proof that nothing hidden is determined, unless the
exact arithmetic overflowed, and publishing hidden non-primary cells found determined) are timed
separately, ``--repeat`` times (the median is shown), after a warm-up on a tiny table that
compiles (or loads) the Numba kernels. Tables whose target ``N`` is at most
``--reference-max-cells`` also get the LP reference (``lp_suppression.lp_suppress``, run once,
sliding protection of one unit, cost = count + 1, but empty cells cost as much as the grand
total unless ``--reference-zero-secondaries``: the engine publishes zeros first) in a second
process, and its pattern is audited by the same ``audit``.
Information loss is compared as numbers of secondary cells and their cost (count + 1), engine
over reference. Each process has ``--max-seconds``: a stage still running then is reported as
"over budget" (the reference stops itself at the budget and reports how many primaries it
processed). The JSON file is rewritten after every table.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import time
import traceback
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

#: Group sizes on a dimension with at least 10 leaves.
GROUP_SIZE = (5, 10)

#: Seconds a job may take to start and compile its kernels before its budget starts.
START_ALLOWANCE = 300.0

#: Seconds past the budget before a job is killed (the reference stops itself at the budget).
GRACE = 5.0


# -- tables ------------------------------------------------------------------------------------
def dimension(d: int, n_leaves: int, rng: np.random.Generator) -> tuple[tuple, tuple]:
    """Leaf labels and subtotal groups ``((label, leaves), ...)`` of one dimension."""
    leaves = tuple(f"d{d}_{i:04d}" for i in range(n_leaves))
    if n_leaves < 4:
        return leaves, ()
    if n_leaves < 2 * GROUP_SIZE[0]:
        cuts = [0, n_leaves // 2, n_leaves]
    else:
        cuts = [0]
        while n_leaves - cuts[-1] >= 2 * GROUP_SIZE[0]:
            high = min(GROUP_SIZE[1], (n_leaves - cuts[-1]) // 2)
            cuts.append(cuts[-1] + int(rng.integers(GROUP_SIZE[0], high + 1)))
        cuts.append(n_leaves)  # the rest (5 to 9 leaves) is the last group
    groups = tuple((f"d{d}_g{g:03d}", leaves[a:b]) for g, (a, b) in enumerate(pairwise(cuts)))
    return leaves, groups


def count_mean(rate: float, threshold: int, dispersion: float) -> float:
    """Mean of a negative binomial with ``P(0 < X < threshold) = rate``, the larger solution."""
    from scipy.optimize import brentq, minimize_scalar
    from scipy.stats import nbinom

    def small(p: float) -> float:
        return float(nbinom.cdf(threshold - 1, dispersion, p) - nbinom.pmf(0, dispersion, p))

    peak = minimize_scalar(lambda p: -small(p), bounds=(1e-9, 1 - 1e-9), method="bounded").x
    if small(peak) < rate:
        raise SystemExit(
            f"--primary-rate {rate} is above what dispersion {dispersion} and threshold "
            f"{threshold} can give ({small(peak):.3f}); raise --dispersion or --threshold."
        )
    p = brentq(lambda p: small(p) - rate, 1e-12, peak)
    return dispersion * (1 - p) / p


def make_table(k: int, target: float, args: argparse.Namespace) -> dict[str, Any]:
    """The table of one case: dimensions, hierarchy groups and inner counts (cube order)."""
    seed = [args.seed, k, int(target)]
    rng = np.random.default_rng(seed)
    n_leaves = max(2, round(target ** (1.0 / k)))
    dims = [dimension(d, n_leaves, rng) for d in range(k)]
    mean = count_mean(args.primary_rate, args.threshold, args.dispersion)
    p = args.dispersion / (args.dispersion + mean)
    counts = rng.negative_binomial(args.dispersion, p, n_leaves**k).astype(np.float64)
    return {
        "dims": tuple(f"v{d}" for d in range(k)),
        "levels": tuple(lv for lv, _ in dims),
        "groups": tuple(gs for _, gs in dims),
        "counts": counts,
        "mean": mean,
    }


def table_model(table: dict[str, Any]) -> Any:
    from sdc.tables.model import TableModel

    return TableModel(table["dims"], table["levels"], 1, True, table["groups"])


# -- the measured jobs (each in its own process) -----------------------------------------------
def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _warm_up() -> float:
    """Compile or load every kernel on a tiny table; return the seconds it took."""
    from sdc.protection.audit import audit
    from sdc.protection.secondary import secondary_suppress
    from sdc.tables.model import TableModel

    t = time.perf_counter()
    rng = np.random.default_rng(0)
    dims = [dimension(d, 6, rng) for d in range(3)]
    tm = TableModel(("a", "b", "c"), tuple(lv for lv, _ in dims), 1, True,
                    tuple(gs for _, gs in dims))  # fmt: skip
    x = tm.model_matrix()
    values = np.asarray(x.T @ rng.negative_binomial(0.5, 0.02, x.shape[0])).ravel()
    s = secondary_suppress(x, (values > 0) & (values < 10), values, zero=values == 0)
    audit(x, values, s.suppressed, np.zeros(values.size))
    return time.perf_counter() - t


def _problem(table: dict[str, Any], threshold: int) -> tuple[Any, np.ndarray, np.ndarray]:
    """Model matrix, published counts and primaries of a table."""
    x = table_model(table).model_matrix()
    values = np.asarray(x.T @ table["counts"]).ravel()
    return x, values, (values > 0) & (values < threshold)


def _send(conn: Any, kind: str, **payload: Any) -> None:
    conn.send((kind, payload))


def engine_job(conn: Any, table: dict[str, Any], threshold: int, repeat: int) -> None:
    """sdc: model matrix, secondary suppression and audit, each timed, ``repeat`` times."""
    try:
        from sdc.protection.audit import audit
        from sdc.protection.cells import publish_determined
        from sdc.protection.secondary import secondary_suppress

        _send(conn, "warm_up", seconds=_warm_up())
        for r in range(repeat):
            t = time.perf_counter()
            x = table_model(table).model_matrix()
            build = time.perf_counter() - t
            values = np.asarray(x.T @ table["counts"]).ravel()
            primary = (values > 0) & (values < threshold)
            _send(conn, "build", repeat=r, seconds=build, nnz=int(x.nnz),
                  n_published=int(x.shape[1]), n_primary=int(primary.sum()))  # fmt: skip
            t = time.perf_counter()
            s = secondary_suppress(x, primary, values, zero=values == 0)
            seconds = time.perf_counter() - t
            _send(conn, "secondary", repeat=r, seconds=seconds, n_primary=int(primary.sum()),
                  n_suppressed=int(s.suppressed.sum()), **_pattern(s.secondary, values),
                  overflowed=s.overflowed)  # fmt: skip
            t = time.perf_counter()
            a = audit(x, values, s.suppressed, np.zeros(values.size),
                      undetermined=s.proven or None)  # fmt: skip
            kept, a = publish_determined(s.suppressed, a, primary, values)
            seconds = time.perf_counter() - t
            _send(conn, "audit", repeat=r, seconds=seconds, passed=a.passed,
                  n_failing=int((~a.ok).sum()), peak_rss_mb=_peak_mb(),
                  n_published_determined=int((s.suppressed & ~kept).sum()))  # fmt: skip
            del x, s, a
    except Exception:
        _send(conn, "error", text=traceback.format_exc())
    _send(conn, "done")


def _pattern(secondary: np.ndarray, values: np.ndarray) -> dict[str, Any]:
    """Information loss of a pattern: its secondary cells, their cost, how many are zeros."""
    return {
        "n_secondary": int(secondary.sum()),
        "cost_secondary": float((values + 1.0)[secondary].sum()),
        "zero_secondaries": int((secondary & (values == 0)).sum()),
    }


def reference_job(
    conn: Any,
    table: dict[str, Any],
    threshold: int,
    budget: float,
    self_audit: bool,
    zero_secondaries: bool,
) -> None:
    """The LP reference on the same table, then sdc's audit of its pattern.

    Unless ``zero_secondaries``, an empty cell costs as much as the grand total, so that, like
    the engine (which publishes zeros first), the reference hides a zero only when it must.
    """
    try:
        from lp_suppression import feasible_intervals, lp_suppress

        from sdc.protection.audit import audit

        _send(conn, "warm_up", seconds=_warm_up())
        t0 = time.perf_counter()
        x, values, primary = _problem(table, threshold)
        cost = values + 1.0
        if not zero_secondaries:
            cost[values == 0] = values.max() + 1.0
        r = lp_suppress(x, values, primary, cost=cost, audit=False,
                        time_limit=budget - (time.perf_counter() - t0))  # fmt: skip
        _send(conn, "reference", seconds=r.seconds, completed=r.completed, n_done=r.n_done,
              n_primary=int(primary.sum()), n_suppressed=int(r.suppressed.sum()),
              **_pattern(r.secondary, values),
              n_lp_solves=r.n_lp_solves, n_skipped=r.n_skipped)  # fmt: skip
        t = time.perf_counter()
        a = audit(x, values, r.suppressed, np.zeros(values.size))
        _send(conn, "reference_audit", seconds=time.perf_counter() - t, passed=a.passed,
              n_failing=int((~a.ok).sum()), peak_rss_mb=_peak_mb())  # fmt: skip
        if self_audit:
            t = time.perf_counter()
            cells = np.flatnonzero(primary)
            left = budget - (time.perf_counter() - t0)
            iv = feasible_intervals(x, values, r.suppressed, cells, time_limit=left)
            ok = iv[:, 1] - iv[:, 0] >= 1.0 - 1e-6 * np.maximum(1.0, values[cells])
            _send(conn, "reference_self_audit", seconds=time.perf_counter() - t,
                  passed=bool(ok.all()), n_failing=int((~ok).sum()))  # fmt: skip
    except Exception:
        _send(conn, "error", text=traceback.format_exc())
    _send(conn, "done")


def run_job(target: Any, args: tuple, budget: float, label: str) -> dict[str, Any]:
    """Run a job in a fresh process; collect its messages until it is done or out of budget.

    The budget starts once the job has warmed up (process start and kernel compilation get
    :data:`START_ALLOWANCE` seconds); a job still running ``budget`` seconds (plus
    :data:`GRACE` for the reference to stop itself) after that is killed and "over budget".
    """
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=target, args=(child, *args), daemon=True)
    t0 = time.perf_counter()
    proc.start()
    child.close()
    out: dict[str, Any] = {"status": "ok", "messages": []}
    try:
        _collect(proc, parent, out, budget, label, t0)
    except BaseException:  # interrupted: never leave the job running
        proc.kill()
        raise
    finally:
        proc.join(5)
        if proc.is_alive():
            proc.kill()
            proc.join()
    out["wall_seconds"] = time.perf_counter() - t0
    return out


def _collect(
    proc: Any, parent: Any, out: dict[str, Any], budget: float, label: str, t0: float
) -> None:
    """Read a job's messages into ``out`` until it is done, fails or runs out of budget."""
    deadline = t0 + START_ALLOWANCE
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            proc.kill()
            out["status"] = "over budget"
            print(f"  {label}: over budget", file=sys.stderr, flush=True)
            return
        if not parent.poll(min(left, 1.0)):
            if not proc.is_alive() and not parent.poll():
                out["status"] = f"crashed (exit code {proc.exitcode})"
                return
            continue
        try:
            kind, payload = parent.recv()
        except EOFError:
            out["status"] = f"crashed (exit code {proc.exitcode})"
            return
        if kind == "done":
            return
        if kind == "warm_up":
            deadline = time.perf_counter() + budget + GRACE
        if kind == "error":
            out["status"] = "error"
            out["error"] = payload["text"]
            print(f"  {label}: error\n{payload['text']}", file=sys.stderr, flush=True)
            continue
        out["messages"].append([kind, payload])
        shown = {k: v for k, v in payload.items() if k in ("repeat", "seconds", "passed")}
        print(f"  {label}: {kind} {shown}", file=sys.stderr, flush=True)


# -- summaries ---------------------------------------------------------------------------------
def _stage(messages: list, kind: str) -> list[dict[str, Any]]:
    return [p for k, p in messages if k == kind]


def summarise(case: dict[str, Any]) -> dict[str, Any]:
    """Medians of the repeated stages, the last result of each, and the ratios."""
    eng = case["engine"]
    msgs = eng["messages"]
    row: dict[str, Any] = {}
    for kind in ("build", "secondary", "audit"):
        got = _stage(msgs, kind)
        row[f"{kind}_seconds"] = statistics.median(p["seconds"] for p in got) if got else None
        row[f"{kind}_repeats"] = len(got)
        if got:
            row[kind] = got[-1]
    ref = case.get("reference")
    if ref is not None:
        got = _stage(ref["messages"], "reference")
        row["reference"] = got[-1] if got else None
        aud = _stage(ref["messages"], "reference_audit")
        row["reference_audit"] = aud[-1] if aud else None
        selfa = _stage(ref["messages"], "reference_self_audit")
        row["reference_self_audit"] = selfa[-1] if selfa else None
        lp = row["reference"]
        if lp and lp["completed"] and "secondary" in row and lp["n_secondary"] > 0:
            row["ratio_secondaries"] = row["secondary"]["n_secondary"] / lp["n_secondary"]
            row["ratio_cost"] = row["secondary"]["cost_secondary"] / lp["cost_secondary"]
    return row


def _fmt_s(x: float | None) -> str:
    return "-" if x is None else (f"{x:.3f}" if x < 10 else f"{x:.1f}")


def _verdict(audited: dict[str, Any] | None) -> str:
    if audited is None:
        return "-"
    return "pass" if audited["passed"] else f"FAIL ({audited['n_failing']} cells)"


COLUMNS = (
    "dims", "inner cells", "published", "primaries (% of inner / published)", "build s",
    "secondary s", "audit s", "secondaries", "suppressed", "audit", "LP secondaries", "LP s",
    "LP audit", "secondaries engine/LP", "cost engine/LP",
)  # fmt: skip


def markdown_row(c: dict[str, Any]) -> list[str]:
    """One table row; a stage that never finished shows its job's status (e.g. over budget)."""
    s = c["summary"]

    def timed(kind: str) -> str:
        return _fmt_s(s[f"{kind}_seconds"]) if s[f"{kind}_repeats"] else c["engine"]["status"]

    sec = s.get("secondary")
    row = [
        str(c["dims"]),
        f"{c['n_inner']:,}",
        "-" if c["n_published"] is None else f"{c['n_published']:,}",
        "-" if c["n_primary"] is None
        else f"{c['n_primary']:,} ({100 * c['n_primary'] / c['n_inner']:.1f}% / "
        f"{100 * c['primary_rate_published']:.1f}%)",
        timed("build"),
        timed("secondary"),
        timed("audit"),
        "-" if sec is None
        else f"{sec['n_secondary']:,}" + (" (overflow)" if sec.get("overflowed") else ""),
        "-" if sec is None else f"{sec['n_suppressed']:,}",
        _verdict(s.get("audit")),
    ]  # fmt: skip
    lp = s.get("reference")
    if "reference" not in c:
        row += ["-", "-", "-"]
    elif lp is None:
        row += [c["reference"]["status"], c["reference"]["status"], "-"]
    elif not lp["completed"]:
        row += [f"over budget ({lp['n_done']:,}/{lp['n_primary']:,} primaries done)",
                f">{_fmt_s(lp['seconds'])}", _verdict(s.get("reference_audit"))]  # fmt: skip
    else:
        row += [f"{lp['n_secondary']:,}", _fmt_s(lp["seconds"]), _verdict(s.get("reference_audit"))]
    for key in ("ratio_secondaries", "ratio_cost"):
        row.append("-" if s.get(key) is None else f"{s[key]:.2f}")
    return row


def markdown(cases: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(markdown_row(c)) + " |" for c in cases]
    return "\n".join(lines)


def machine() -> dict[str, Any]:
    import highspy
    import numba
    import scipy

    import sdc

    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=HERE, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = bool(
            subprocess.run(
                ["git", "status", "--porcelain"], cwd=HERE, capture_output=True, text=True
            ).stdout.strip()
        )
    except (OSError, subprocess.CalledProcessError):
        commit, dirty = None, None
    return {
        "cpu_count": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "highspy": getattr(highspy, "__version__", None) or _dist_version("highspy"),
        "sdc": sdc.__version__,
        "commit": commit,
        "uncommitted_changes": dirty,
        "date": time.strftime("%Y-%m-%d %H:%M:%S %z"),
    }


def _dist_version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dims", type=int, nargs="+", default=[2, 3, 4])
    ap.add_argument(
        "--cells", type=float, nargs="+", default=[1e3, 1e4], help="target numbers of inner cells"
    )
    ap.add_argument(
        "--primary-rate",
        type=float,
        default=0.1,
        help="target fraction of inner cells with 0 < count < threshold",
    )
    ap.add_argument("--threshold", type=int, default=10)
    ap.add_argument(
        "--dispersion",
        type=float,
        default=0.5,
        help="negative binomial dispersion of the counts (smaller: more skewed)",
    )
    ap.add_argument(
        "--reference-max-cells",
        type=float,
        default=1e4,
        help="run the LP reference on tables with at most this many inner cells",
    )
    ap.add_argument(
        "--reference-self-audit",
        action="store_true",
        help="also audit the reference's pattern with its own (slow) interval LPs",
    )
    ap.add_argument(
        "--reference-zero-secondaries",
        action="store_true",
        help="let the reference hide empty cells at cost 1 (default: as costly as the total)",
    )
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument(
        "--max-seconds",
        type=float,
        default=600.0,
        help="time budget of each process (engine, reference) per table",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=None)
    args = ap.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop jobs on the way out

    info = machine()
    print(f"machine: {json.dumps(info)}", file=sys.stderr)
    cases: list[dict[str, Any]] = []
    for target in args.cells:
        for k in args.dims:
            table = make_table(k, target, args)
            n_inner = table["counts"].size
            inner_small = (table["counts"] > 0) & (table["counts"] < args.threshold)
            case: dict[str, Any] = {
                "dims": k,
                "target_cells": target,
                "leaves_per_dim": len(table["levels"][0]),
                "groups_per_dim": [len(g) for g in table["groups"]],
                "n_inner": n_inner,
                "count_mean": table["mean"],
                "zero_rate_inner": float((table["counts"] == 0).mean()),
                "primary_rate_inner": float(inner_small.mean()),
            }
            print(f"{k} dims, {n_inner:,} inner cells", file=sys.stderr, flush=True)
            case["engine"] = run_job(
                engine_job, (table, args.threshold, args.repeat), args.max_seconds, "engine"
            )
            if target <= args.reference_max_cells:
                case["reference"] = run_job(
                    reference_job,
                    (
                        table,
                        args.threshold,
                        args.max_seconds,
                        args.reference_self_audit,
                        args.reference_zero_secondaries,
                    ),
                    args.max_seconds,
                    "reference",
                )
            case["summary"] = summarise(case)
            built = case["summary"].get("build")
            # Primaries among all published cells (margins included), as the engine saw them.
            case["n_primary"] = built["n_primary"] if built else None
            case["n_published"] = built["n_published"] if built else None
            case["primary_rate_published"] = (
                built["n_primary"] / built["n_published"] if built else None
            )
            cases.append(case)
            if args.out is not None:
                args.out.write_text(
                    json.dumps(
                        {
                            "machine": info,
                            "args": {
                                k: str(v) if isinstance(v, Path) else v
                                for k, v in vars(args).items()
                            },
                            "cases": cases,
                        },
                        indent=1,
                        default=float,
                    )
                )
    print(markdown(cases))
    return 0


if __name__ == "__main__":
    sys.exit(main())
