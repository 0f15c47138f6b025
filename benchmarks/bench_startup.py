"""How long the command line takes to start, and what a gate call on a small folder costs.

Each command runs in a fresh process, ``--repeat`` times; the minimum and the median wall
time are reported. ``--python`` picks the interpreter of the installation to measure (so an
older checkout installed in its own virtual environment can be measured the same way), and the
request folders are made by that installation's own ``finalise``.

    .venv/bin/python benchmarks/bench_startup.py --repeat 20 --out benchmarks/results-startup.json
    .venv/bin/python benchmarks/bench_startup.py --python /path/to/old/.venv/bin/python
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

#: Makes two request folders with the measured installation: a count table, and a count
#: table with margins and suppression (whose gate check re-runs the audit with HiGHS).
_MAKE_FOLDERS = """
import sys, sdc
from sdc.example import example_microdata
df = example_microdata()
s = sdc.Session(suppress=True)
s.crosstab(df.region, df.sex, name="visits")
s.finalise(sys.argv[1] + "/tables")
s = sdc.Session(suppress=True)
s.crosstab(df.region, df.sex, margins=True, name="visits")
s.finalise(sys.argv[1] + "/audited")
"""


def _time(cmd: list[str], repeat: int, cwd: str) -> dict[str, float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False, cwd=cwd
        )
        times.append(time.perf_counter() - start)
    return {"min": min(times), "median": statistics.median(times)}


def measure(python: str, repeat: int) -> dict[str, dict[str, float]]:
    """Wall seconds of each command, started as a new process."""
    # Run from an empty folder, so that a source checkout in the current folder is not imported.
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([python, "-c", _MAKE_FOLDERS, tmp], check=True, capture_output=True, cwd=tmp)
        cli = [python, "-m", "sdc.cli"]
        commands = {
            "python -c pass": [python, "-c", "pass"],
            "import sdc": [python, "-c", "import sdc"],
            "sdc --help": [*cli, "--help"],
            "sdc rules list": [*cli, "rules", "list"],
            "sdc check (count table)": [*cli, "check", f"{tmp}/tables", "--json"],
            "sdc check (table with margins, audited)": [
                *cli, "check", f"{tmp}/audited", "--json",
            ],
        }  # fmt: skip
        _time(commands["sdc check (count table)"], 1, tmp)  # numba's cache, the first time
        return {name: _time(cmd, repeat, tmp) for name, cmd in commands.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--python", default=sys.executable, help="interpreter of the installation")
    ap.add_argument("--repeat", type=int, default=10)
    ap.add_argument("--out", type=Path, help="write the results as JSON")
    args = ap.parse_args()
    results = measure(args.python, args.repeat)
    width = max(map(len, results))
    print(f"{'command':<{width}}  min s   median s")
    for name, t in results.items():
        print(f"{name:<{width}}  {t['min']:.3f}   {t['median']:.3f}")
    if args.out:
        record = {
            "python": args.python,
            "repeat": args.repeat,
            "machine": platform.platform(),
            "results": results,
        }
        args.out.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
