"""Time pycanon 1.3.6's k-anonymity and l-diversity on a parquet file and export JSON.

pycanon lives in its own virtual environment (``setup_pycanon_venv.sh``); this script is
run with that venv's interpreter as a subprocess and imports nothing from sdc-engine.

Usage::

    benchmarks/.venv-pycanon/bin/python benchmarks/peers/pycanon_runner.py \\
        DATA.parquet OUT.json --keys k0,k1,k2 --sensitive s [--repeat N] [--no-l]

``seconds`` are ``time.perf_counter()`` around each call alone (reading the file is not
timed): ``anonymity.k_anonymity(data, keys)`` and ``anonymity.l_diversity(data, keys, [s])``
(pycanon's distinct l-diversity). Both report one number for the whole dataset: the
smallest equivalence class and the fewest distinct sensitive values in one. On an
exception the output JSON holds ``"error"`` and the exit code is 2.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import traceback
from importlib.metadata import version

import pandas as pd


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("data")
    p.add_argument("out")
    p.add_argument("--keys", required=True)
    p.add_argument("--sensitive", required=True)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--no-l", action="store_true", help="skip l-diversity")
    args = p.parse_args(argv)
    out: dict = {"versions": {"pycanon": version("pycanon"), "pandas": pd.__version__}}
    try:
        from pycanon import anonymity

        data = pd.read_parquet(args.data)
        keys = args.keys.split(",")
        runs: dict[str, list[float]] = {"k_anonymity": [], "l_diversity": []}
        for _ in range(args.repeat):
            start = time.perf_counter()
            out["k"] = int(anonymity.k_anonymity(data, keys))
            runs["k_anonymity"].append(time.perf_counter() - start)
            if not args.no_l:
                start = time.perf_counter()
                out["l"] = int(anonymity.l_diversity(data, keys, [args.sensitive]))
                runs["l_diversity"].append(time.perf_counter() - start)
        out["timings"] = {
            name: {"median_s": statistics.median(r), "runs": r} for name, r in runs.items() if r
        }
    except Exception as exc:  # report, never hide
        out["error"] = f"{type(exc).__name__}: {exc}"
        out["traceback"] = traceback.format_exc()
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump(out, fh, indent=2)
        return 2
    with open(args.out, "w", encoding="utf-8") as fh:
        json.dump(out, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
