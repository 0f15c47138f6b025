"""Microdata risk and mitigation: fk/Fk, individual and global risk, l-diversity, SUDA2,
local suppression; pycanon side by side.

    python benchmarks/bench_microdata.py --rows 1e5 1e6 --keys 6 --repeat 3 \\
        --suppress-rows 1e4 1e5 --out benchmarks/results-microdata.json

Needs pycanon's virtual environment (``bash benchmarks/peers/setup_pycanon_venv.sh``)
unless ``--no-peer`` is given.

Data (seed 0): ``--keys`` integer key columns ``k0..`` with 2, 5, 8, 12, 20, 40, 60 and 90
levels (the first ``--keys`` of them), each drawn with Zipf-like probabilities
(p_i proportional to 1/(i+1)^1.2: one hot level, a long tail); sampling weights uniform in
[50, 150]; a sensitive column ``s`` of 6 Zipf-like levels. Records are generated, then
written to a parquet file that pycanon reads; sdc gets the same DataFrame. Loading is not
timed.

Timed, as the median of ``--repeat`` runs after one warm-up run (which compiles or loads the
Numba kernels):

* ``risk``: coding the keys from the DataFrame, fk and Fk (weighted), individual risk
  (sdcMicro's "approx"), the expected re-identifications and the k-anonymity violations for
  k = 2, 3, 5, 10 (:mod:`sdc.microdata.risk`);
* ``l_diversity``: distinct, entropy and recursive l of ``s`` in every key combination;
* ``suda2``: SUDA2 scores and DIS scores of every record, all MSU sizes (with the subsets
  visited, patterns and sample uniques, which set its cost);
* ``local_suppression``: the plan to 3-anonymity (sdcMicro's heuristic) on
  ``--suppress-rows`` records of the same generator (sparse: many are unique), one run
  after the kernels were compiled on 500 records;
* pycanon (its own process): ``k_anonymity`` and ``l_diversity`` on the parquet file.

Agreement, checked on every run: sdc's smallest fk and smallest distinct l equal pycanon's k
and l (and, without the peer, a pandas groupby's). The script exits with status 1 and names
what differs otherwise.
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
from typing import Any

import numba
import numpy as np
import pandas as pd

import sdc
from sdc.microdata.keys import encode
from sdc.microdata.ldiversity import l_diversity, sensitive_codes
from sdc.microdata.risk import frequencies
from sdc.microdata.suda import suda2
from sdc.microdata.suppression import local_suppression

HERE = Path(__file__).resolve().parent
PYCANON_PYTHON = HERE / ".venv-pycanon" / "bin" / "python"
PYCANON_RUNNER = HERE / "peers" / "pycanon_runner.py"
CARDS = (2, 5, 8, 12, 20, 40, 60, 90)
SEED = 0


def make_data(rows: int, keys: int, seed: int = SEED) -> pd.DataFrame:
    """The records of the module docstring."""
    rng = np.random.default_rng(seed)
    cols: dict[str, Any] = {}
    for j in range(keys):
        p = 1.0 / np.arange(1, CARDS[j] + 1) ** 1.2
        cols[f"k{j}"] = rng.choice(CARDS[j], size=rows, p=p / p.sum()).astype(np.int64)
    p = 1.0 / np.arange(1, 7) ** 1.2
    cols["s"] = rng.choice(6, size=rows, p=p / p.sum()).astype(np.int64)
    cols["w"] = rng.uniform(50, 150, size=rows)
    return pd.DataFrame(cols)


def _clock(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def timed(fn: Callable[[], Any], repeat: int) -> tuple[dict[str, Any], Any]:
    fn()  # warm-up: compile or load the kernels, fill caches
    runs, value = [], None
    for _ in range(repeat):
        seconds, value = _clock(fn)
        runs.append(seconds)
    return {"median_s": statistics.median(runs), "runs": runs}, value


def risk_measures(df: pd.DataFrame, keys: list[str]) -> dict[str, Any]:
    kc = encode(df, keys, "bench")
    f = frequencies(kc, df["w"].to_numpy(np.float64))
    r = f.individual_risk()
    return {
        "patterns": int(f.first.size),
        "min_fk": int(f.fk.min()),
        "expected_reidentifications": float(r.sum()),
        "violations": {str(k): int((f.fk < k).sum()) for k in (2, 3, 5, 10)},
    }


def l_measures(df: pd.DataFrame, keys: list[str]) -> dict[str, Any]:
    ld = l_diversity(encode(df, keys, "bench").codes, sensitive_codes(df["s"]))
    return {"min_distinct_l": int(ld.distinct.min()), "groups": int(ld.first.size)}


def suda_measures(df: pd.DataFrame, keys: list[str]) -> dict[str, Any]:
    kc = encode(df, keys, "bench")
    r = suda2(kc)
    return {
        "records_with_score": int((r.score > 0).sum()),
        "max_score": float(r.score.max()),
        "subsets_visited": r.subsets_visited,
        "max_dis": float(r.dis_score.max()),
    }


def suppression(df: pd.DataFrame, keys: list[str]) -> dict[str, Any]:
    plan = local_suppression(encode(df, keys, "bench"), 3)
    return {
        "suppressed": plan.total, "per_key": plan.per_key,
        "below_k_before": plan.violations_before, "below_k_after": plan.violations_after,
    }  # fmt: skip


def run_pycanon(path: Path, keys: list[str], repeat: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pycanon.json"
        cmd = [str(PYCANON_PYTHON), str(PYCANON_RUNNER), str(path), str(out),
               "--keys", ",".join(keys), "--sensitive", "s", "--repeat", str(repeat)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if not out.exists():
            raise RuntimeError(f"pycanon runner failed: {done.stderr[-2000:]}")
        result = json.loads(out.read_text(encoding="utf-8"))
        if "error" in result:
            raise RuntimeError(f"pycanon: {result['error']}")
        return result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=float, nargs="+", default=[1e5, 1e6])
    p.add_argument("--keys", type=int, default=6, choices=range(2, len(CARDS) + 1))
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--suppress-rows", type=float, nargs="*", default=[1e4, 1e5])
    p.add_argument("--no-suda", action="store_true", help="skip SUDA2")
    p.add_argument("--no-peer", action="store_true", help="skip pycanon")
    p.add_argument("--peer-repeat", type=int, default=1)
    p.add_argument("--out", default=None)
    args = p.parse_args(argv)
    if not args.no_peer and not PYCANON_PYTHON.exists():
        print("pycanon's environment is missing: bash benchmarks/peers/setup_pycanon_venv.sh "
              "(or pass --no-peer)", file=sys.stderr)  # fmt: skip
        return 2
    keys = [f"k{j}" for j in range(args.keys)]
    report: dict[str, Any] = {
        "machine": {
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "python": platform.python_version(),
        },  # fmt: skip
        "versions": {
            "sdc": sdc.__version__,
            "numpy": np.__version__,
            "pandas": pd.__version__,
            "numba": numba.__version__,
        },  # fmt: skip
        "parameters": {
            "rows": [int(r) for r in args.rows],
            "keys": args.keys,
            "cards": list(CARDS[: args.keys]),
            "repeat": args.repeat,
            "suppress_rows": [int(r) for r in args.suppress_rows],
            "peer": not args.no_peer,
        },  # fmt: skip
        "sizes": {},
        "suppression": {},
        "disagreements": [],
    }
    for rows in (int(r) for r in args.rows):
        df = make_data(rows, args.keys)
        entry: dict[str, Any] = {"timings": {}}
        for name, measure in (("risk", risk_measures), ("l_diversity", l_measures),
                              ("suda2", suda_measures)):  # fmt: skip
            if name == "suda2" and args.no_suda:
                continue
            entry["timings"][name], entry[name if name != "l_diversity" else "l"] = timed(
                partial(measure, df, keys), args.repeat
            )
        # Agreement on all keys (k and l are often 1 there) and on the first three keys
        # (fewer, larger combinations), with pycanon or else a pandas groupby.
        entry["pycanon"] = None
        entry["agreement"] = {}
        for label, ks in (("all keys", keys), ("first 3 keys", keys[:3])):
            ours = {"k": risk_measures(df, ks)["min_fk"], "l": l_measures(df, ks)["min_distinct_l"]}
            if args.no_peer:
                ref = {"k": int(df.groupby(ks).size().min()),
                       "l": int(df.groupby(ks)["s"].nunique().min()), "by": "pandas"}  # fmt: skip
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    path = Path(tmp) / "data.parquet"
                    df.to_parquet(path)
                    peer = run_pycanon(path, ks, args.peer_repeat)
                if ks == keys:
                    entry["pycanon"] = peer
                ref = {"k": peer["k"], "l": peer["l"], "by": "pycanon"}
            entry["agreement"][label] = {"sdc": ours, "reference": ref}
            for what in ("k", "l"):
                if ours[what] != ref[what]:
                    report["disagreements"].append(
                        f"{rows} rows, {label}: {what} {ours[what]} vs {ref[what]}"
                    )
        report["sizes"][str(rows)] = entry
        print(f"{rows} rows: " + ", ".join(f"{k} {v['median_s']:.3f} s" for k, v in
                                           entry["timings"].items()), file=sys.stderr)  # fmt: skip
    suppression(make_data(500, args.keys), keys)  # compiles the kernels: not timed
    for rows in (int(r) for r in args.suppress_rows):
        df = make_data(rows, args.keys)
        seconds, value = _clock(partial(suppression, df, keys))
        t = {"median_s": seconds, "runs": [seconds]}
        report["suppression"][str(rows)] = {"timing": t, **value}
        print(f"local suppression {rows} rows: {t['median_s']:.3f} s, {value['suppressed']} "
              "values", file=sys.stderr)  # fmt: skip
        if value["below_k_after"]:
            report["disagreements"].append(f"suppression of {rows} rows left records below k")
    text = json.dumps(report, indent=2)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")
    else:
        print(text)
    for d in report["disagreements"]:
        print(f"disagreement: {d}", file=sys.stderr)
    return 1 if report["disagreements"] else 0


if __name__ == "__main__":
    sys.exit(main())
