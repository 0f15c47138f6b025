"""Checking a whole regression: fit, check, end to end, the pandas counts, and ACRO, in one run.

    python benchmarks/bench_regression.py --rows 1000000 --levels 50 --repeat 3 \\
        --out benchmarks/results-regression.json

Needs the ACRO virtual environment (``bash benchmarks/peers/setup_acro_venv.sh``) unless
``--no-peer`` is given.

Data (seeded, made once): a categorical ``region`` of ``--levels`` levels with Zipf-like
frequencies whose three smallest levels hold 3, 5 and 8 records at every size (so the check
has findings), a 5-level ``group``, a continuous ``age``, a continuous outcome ``cost`` and a
binary outcome ``died``. Missing values (1% of ``age``, 1% of ``cost``, 0.5% of ``region``)
make the rows each model uses differ from the frame; they and ``died`` are set so the small
levels keep every record and both outcomes (no quasi-separation, so the logit converges as
it would on real data). The same frame is written to parquet for ACRO; loading it is not
timed.

Both models use ``age + C(region) + C(group)``: ``cost ~ ...`` by OLS, ``died ~ ...`` by
Logit, under the ``default`` rule set (dof, parameters, saturation, and every group of records
the design reveals: its records, (group, outcome) pairs, dominance and all-same). Timed, as
the median of ``--repeat`` runs after one warm-up (which compiles or loads the Numba kernels):

* fit: ``statsmodels.formula.api.ols(...).fit()`` / ``logit(...).fit(disp=0)``;
* check alone: ``Session.check_model_result`` on that fresh fit, then ``.status`` and
  ``.findings`` (both lazy);
* end to end: ``Session.ols`` / ``Session.logit``, the fit included, then the same two;
* pandas counts: the records per level the check needs, from the frame (rows the model uses,
  ``value_counts`` of each categorical and, for the logit, ``groupby([died, region])`` and
  ``groupby([died, group])``); sdc-engine's evidence counts must equal these for every level
  (dummies, the rows outside them, reference levels, by outcome for the logit), or the script
  exits with an error;
* ACRO, in its own process: ``ACRO(suppress=False).olsr(formula, data)`` / ``.logitr``, fit and
  ACRO's check (a dof check only), and the same plain fits in ACRO's venv.

BLAS runs one thread per process (both tools; ACRO's process inherits the setting) unless
``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` are set: on a 2-core
machine with other work running, OpenBLAS's two threads made the same OLS fit of 200,000 rows
take 6-12 s instead of 1.5 s, and repeats of the 1e6-row logit fit spread from 12 s to 180 s.
The load average at the start and the end is recorded with the timings.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, cast

#: BLAS thread settings, before numpy loads its BLAS (see the module docstring).
BLAS_THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
for _var in BLAS_THREAD_VARS:
    os.environ.setdefault(_var, "1")

import numba  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import statsmodels  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

import sdc  # noqa: E402
from sdc.regression.output import RegressionOutput  # noqa: E402

HERE = Path(__file__).resolve().parent
ACRO_PYTHON = HERE / ".venv-acro" / "bin" / "python"
ACRO_RUNNER = HERE / "peers" / "acro_regression_runner.py"

#: Right-hand side shared by both models.
RHS = "age + C(region) + C(group)"
FORMULAS = {"ols": f"cost ~ {RHS}", "logit": f"died ~ {RHS}"}
OUTCOME = {"ols": "cost", "logit": "died"}
FACTORS = ("region", "group")
#: Records of the smallest ``region`` levels, at every size: below the threshold of 10.
SMALL = (3, 5, 8)
G_LEVELS = 5
ZIPF = 1.5
MISSING = {"age": 0.01, "cost": 0.01, "region": 0.005}
RULES = "default"

Timed = tuple[float, list[float]]


def make_frame(rows: int, levels: int, seed: int = 0) -> pd.DataFrame:
    """The frame described in the module docstring."""
    if levels < len(SMALL) + 2:
        raise SystemExit(f"--levels must be at least {len(SMALL) + 2}")
    rng = np.random.default_rng(seed)
    n_big = levels - len(SMALL)
    p = 1.0 / np.arange(1, n_big + 1) ** ZIPF
    counts = np.concatenate([rng.multinomial(rows - sum(SMALL), p / p.sum()), SMALL])
    if counts.min() < 1:
        raise SystemExit(f"{rows:,} rows leave a level of region empty: use more rows")
    region = rng.permutation(np.repeat(np.arange(levels), counts))
    small = region >= n_big
    group = rng.integers(0, G_LEVELS, size=rows)
    age = rng.normal(50.0, 15.0, size=rows).clip(18.0, 100.0)
    effect = rng.normal(0.0, 0.3, size=levels)
    cost = 2_000.0 + 40.0 * age + 500.0 * effect[region] + 150.0 * group
    cost += rng.normal(0.0, 800.0, size=rows)
    eta = -2.0 + 0.04 * (age - 50.0) + effect[region] + 0.1 * group
    died = (rng.random(rows) < 1.0 / (1.0 + np.exp(-eta))).astype(np.int64)
    for code in range(n_big, levels):  # both outcomes in every small level
        where = np.flatnonzero(region == code)
        died[where] = np.arange(where.size) % 2
    for name, share in MISSING.items():
        gone = (rng.random(rows) < share) & ~small
        if name == "region":
            region = np.where(gone, -1, region)
        elif name == "age":
            age[gone] = np.nan
        else:
            cost[gone] = np.nan
    return pd.DataFrame(
        {
            "region": pd.Categorical.from_codes(
                region, categories=pd.Index([f"r{i:02d}" for i in range(levels)])
            ),
            "group": pd.Categorical.from_codes(
                group, categories=pd.Index([f"g{i}" for i in range(G_LEVELS)])
            ),
            "age": age,
            "cost": cost,
            "died": died,
        }
    )


def pandas_counts(frame: pd.DataFrame, model: str) -> dict[str, pd.Series]:
    """The per-level counts the check needs, with pandas, over the rows the model uses."""
    used = frame[[OUTCOME[model], "age", *FACTORS]].notna().all(axis=1)
    kept = frame.loc[used, [*FACTORS, "died"]]
    out = {f: kept[f].value_counts(sort=False) for f in FACTORS}
    out["rows"] = pd.Series([int(used.sum())])
    if model == "logit":
        out["died"] = kept["died"].value_counts(sort=False)
        for f in FACTORS:
            out[f"died x {f}"] = kept.groupby(["died", f], observed=False).size()
    return out


def reference_name(factor: str, level: str) -> str:
    """The evidence's name of a factor's reference level (no dummy: all its dummies are 0)."""
    return f"{factor} = {level} (C({factor})[reference level])"


def expected_groups(counts: dict[str, pd.Series], model: str) -> dict[str, int]:
    """The pandas counts under the names sdc-engine gives its evidence groups."""
    n = int(counts["rows"].iloc[0])
    groups: dict[str, int] = {"all records": n}
    for f in FACTORS:
        ref = counts[f].index[0]  # the first level is the reference (no dummy)
        groups[reference_name(f, ref)] = int(counts[f][ref])
        for level in counts[f].index[1:]:
            term = f"C({f})[T.{level}]"
            groups[term] = int(counts[f][level])
            groups[f"{term} = 0"] = n - int(counts[f][level])
    if model == "logit":
        for y, k in counts["died"].items():
            groups[f"outcome = {y}"] = int(k)
        for f in FACTORS:
            ref = counts[f].index[0]
            for key, k in counts[f"died x {f}"].items():
                y, level = cast(tuple[int, str], key)
                name = reference_name(f, ref) if level == ref else f"C({f})[T.{level}]"
                groups[f"{name}, outcome = {y}"] = int(k)
    return groups


def compare_counts(output: RegressionOutput, counts: dict[str, pd.Series], model: str) -> int:
    """Number of groups compared; ``SystemExit`` listing them if any count differs.

    Every dummy level, the rows outside it, each factor's reference level, all records and,
    for the logit, each of those by outcome, must be in the evidence with pandas' count. The
    evidence may hold more groups (combinations the design reveals): they are not compared.
    """
    ev = output.evidence
    if ev is None:
        raise SystemExit(f"{model}: sdc-engine found no evidence ({output.reasons})")
    got = dict(zip(ev.groups, ev.group_records.tolist(), strict=True))
    want = expected_groups(counts, model)
    bad = [f"{g}: sdc {got.get(g)} pandas {want[g]}" for g in sorted(want)
           if got.get(g) != want[g]]  # fmt: skip
    n = int(counts["rows"].iloc[0])
    if ev.n_obs != n:
        bad.append(f"rows used: sdc {ev.n_obs} pandas {n}")
    if bad:
        raise SystemExit(f"{model}: sdc-engine and pandas counts differ:\n  " + "\n  ".join(bad))
    return len(want)


def _clock(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()  # the previous fit's arrays are freed outside the timed window
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _checked(output: RegressionOutput) -> RegressionOutput:
    """Force the lazy verdict and findings, as a release would."""
    _ = output.status, output.findings
    return output


def _timed(runs: list[float]) -> dict[str, Any]:
    return {"median_s": statistics.median(runs), "runs": runs}


def bench_model(session: sdc.Session, frame: pd.DataFrame, model: str, repeat: int) -> dict:
    """Fit, check alone, end to end and pandas counts for one model (warm-up first)."""
    formula = FORMULAS[model]
    fit: Callable[[], Any] = {
        "ols": lambda: smf.ols(formula, data=frame).fit(),
        "logit": lambda: smf.logit(formula, data=frame).fit(disp=0),
    }[model]
    end_to_end: Callable[[str, pd.DataFrame], RegressionOutput] = getattr(session, model)

    def check(result: Any) -> RegressionOutput:
        return _checked(session.check_model_result(result))

    session.remove_output(check(fit()).name)  # warm-up: kernels compiled or loaded
    fit_runs: list[float] = []
    check_runs: list[float] = []
    output: RegressionOutput | None = None
    for _ in range(repeat):
        seconds, result = _clock(fit)
        fit_runs.append(seconds)
        seconds, output = _clock(partial(check, result))
        check_runs.append(seconds)
        session.remove_output(output.name)
        del result
    e2e_runs: list[float] = []
    for _ in range(repeat):
        seconds, out = _clock(lambda: _checked(end_to_end(formula, frame)))
        e2e_runs.append(seconds)
        session.remove_output(out.name)
        del out
    pandas_counts(frame, model)  # warm-up
    pandas_runs: list[float] = []
    counts: dict[str, pd.Series] = {}
    for _ in range(repeat):
        seconds, counts = _clock(lambda: pandas_counts(frame, model))
        pandas_runs.append(seconds)
    assert output is not None
    compared = compare_counts(output, counts, model)
    ev = output.evidence
    assert ev is not None
    findings = output.findings
    result_out = {
        "formula": formula,
        "rows_used": ev.n_obs,
        "n_params": ev.n_params,
        "evidence_groups": len(ev.groups),
        "groups_compared_with_pandas": compared,
        "counts_agree": True,
        "sdc": {
            "status": output.status.value,
            "findings": len(findings),
            "findings_by_rule": findings["rule"].value_counts().to_dict(),
            "failing_terms": sorted(set(findings.loc[findings["outcome"] == "fail", "term"])),
        },
        "timings": {
            "fit": _timed(fit_runs),
            "check": _timed(check_runs),
            "end_to_end": _timed(e2e_runs),
            "pandas_counts": _timed(pandas_runs),
        },
    }
    del output
    return result_out


def run_peer(data: Path, repeat: int, work: Path) -> dict[str, Any]:
    """ACRO's timings from its own venv (``SystemExit`` if the venv is missing or ACRO fails)."""
    if not ACRO_PYTHON.exists():
        raise SystemExit("ACRO venv missing: run bash benchmarks/peers/setup_acro_venv.sh")
    out = work / "acro.json"
    cmd = [str(ACRO_PYTHON), str(ACRO_RUNNER), "--data", str(data), "--ols", FORMULAS["ols"],
           "--logit", FORMULAS["logit"], "--repeat", str(repeat), "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, check=False)
    if not out.exists():
        raise SystemExit(f"ACRO runner wrote nothing (exit code {proc.returncode})")
    peer: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    if proc.returncode != 0 or "error" in peer:
        raise SystemExit(f"ACRO runner failed: {peer.get('error', proc.returncode)}")
    return peer


def machine() -> dict[str, Any]:
    """Where the timings were taken."""
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "statsmodels": statsmodels.__version__,
        "numba": numba.__version__,
        "sdc": getattr(sdc, "__version__", None),
        "blas_threads_env": {k: os.environ.get(k) for k in BLAS_THREAD_VARS},
    }


def _cell(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def print_table(models: dict[str, dict], peer: dict[str, Any] | None) -> None:
    """The markdown table of median seconds, and what each tool decided."""
    rows = [
        ("fit (statsmodels formula API)", "fit"),
        ("check alone (check_model_result, status + findings)", "check"),
        ("end to end (Session.ols / Session.logit)", "end_to_end"),
        ("pandas counts (value_counts + groupby.size)", "pandas_counts"),
        ("ACRO end to end (olsr / logitr)", "acro_end_to_end"),
    ]
    print("| step | OLS s | Logit s |")
    print("|---|---|---|")
    for title, key in rows:
        cells = [_cell(models[m]["timings"].get(key, {}).get("median_s")) for m in FORMULAS]
        print(f"| {title} | {' | '.join(cells)} |")
    print()
    for m, res in models.items():
        t = res["timings"]
        share = t["check"]["median_s"] / t["fit"]["median_s"]
        line = (
            f"{m}: {res['rows_used']:,} rows used, {res['n_params']} parameters; sdc "
            f"{res['sdc']['status']} ({res['sdc']['findings']} findings "
            f"{res['sdc']['findings_by_rule']}); check = {share:.1%} of the fit; counts "
            f"equal to pandas for {res['groups_compared_with_pandas']} groups"
        )
        if peer is not None:
            acro = peer["models"][m]
            line += (
                f"; ACRO {acro['status']} ({acro['summary'].strip()}), plain fit in ACRO's "
                f"venv {t['acro_fit']['median_s']:.3f} s"
            )
        print(line)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--levels", type=int, default=50, help="levels of region")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-peer", action="store_true", help="skip ACRO")
    parser.add_argument("--out", type=Path, default=HERE / "results-regression.json")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        raise SystemExit("--repeat must be at least 1")
    if not args.no_peer and not ACRO_PYTHON.exists():
        raise SystemExit("ACRO venv missing: run bash benchmarks/peers/setup_acro_venv.sh")

    load_start = os.getloadavg()
    frame = make_frame(args.rows, args.levels, args.seed)
    session = sdc.Session(rules=RULES)
    peer: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        data = work / "regression.parquet"
        frame.to_parquet(data, index=False)
        models = {m: bench_model(session, frame, m, args.repeat) for m in FORMULAS}
        if not args.no_peer:
            del frame
            gc.collect()
            peer = run_peer(data, args.repeat, work)
    if peer is not None:
        for m, res in models.items():
            acro = peer["models"][m]
            res["timings"]["acro_end_to_end"] = _timed(acro["timings"])
            res["timings"]["acro_fit"] = _timed(acro["fit_timings"])
            res["timings"]["acro_init"] = _timed(acro["init_timings"])
            res["acro"] = {k: acro[k] for k in ("command", "status", "summary", "dof")}

    print(
        f"{args.rows:,} rows; region: {args.levels} levels (smallest {', '.join(map(str, SMALL))} "
        f"records), group: {G_LEVELS} levels; rules {RULES!r}; median of {args.repeat}\n"
    )
    print_table(models, peer)
    info = machine()
    info["load_average_start"] = load_start  # 1, 5, 15 min: other work on the machine
    info["load_average_end"] = os.getloadavg()
    info["acro"] = None if peer is None else peer["acro_version"]
    if peer is not None:
        info["acro_env"] = {k: peer[k] for k in ("pandas_version", "statsmodels_version",
                                                 "python_version")}  # fmt: skip
    report = {
        "machine": info,
        "parameters": {
            "rows": args.rows,
            "levels": args.levels,
            "repeat": args.repeat,
            "seed": args.seed,
            "group_levels": G_LEVELS,
            "small_levels": list(SMALL),
            "zipf": ZIPF,
            "missing": MISSING,
            "rules": RULES,
            "formulas": FORMULAS,
            "peer": peer is not None,
        },
        "counts_agree": all(res["counts_agree"] for res in models.values()),
        "models": models,
        "acro_load_seconds": None if peer is None else peer["load_seconds"],
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    load = f"{load_start[0]:.1f}, {info['load_average_end'][0]:.1f}"
    print(
        f"\nMachine: {info['cpu_count']} CPUs ({info['machine']}), Python {info['python']}, "
        f"BLAS threads {os.environ['OPENBLAS_NUM_THREADS']}, load average (1 min) at start, "
        f"end: {load}; written {args.out}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
