"""Mutation testing of the modules that decide verdicts, with a floor on the score.

Each target's modules are mutated one change at a time by cosmic-ray (in place; every
file is restored afterwards, whatever happens) and the target's tests run against each
mutant. A mutant the tests do not catch *survives*. The score is the share of mutants
caught; below ``floor`` (``targets.toml``) the run fails. Surviving mutants are listed
with their line. A line whose mutants cannot change any result carries
``# pragma: no mutate`` with the reason next to it; those are not generated.

    python tests/mutation/run.py [--target NAME] [--floor PCT]
"""

from __future__ import annotations

import argparse
import json
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _config(target: dict, exclude: list[str], path: Path) -> None:
    tests = " ".join(target["tests"])
    command = (
        f"{sys.executable} -m pytest -x -q -p no:cacheprovider --no-header "
        f"-o addopts='--import-mode=importlib' {tests}"
    )
    text = (
        "[cosmic-ray]\n"
        f"module-path = {json.dumps(target['modules'])}\n"
        "timeout = 120.0\n"
        "excluded-modules = []\n"
        f"test-command = {json.dumps(command)}\n\n"
        "[cosmic-ray.distributor]\n"
        'name = "local"\n\n'
        "[cosmic-ray.filters.operators-filter]\n"
        f"exclude-operators = {json.dumps(exclude)}\n"
    )
    path.write_text(text, encoding="utf-8")


def _results(session: Path) -> list[dict]:
    con = sqlite3.connect(session)
    rows = con.execute(
        "select s.module_path, s.operator_name, s.start_pos_row, r.test_outcome "
        "from mutation_specs s join work_results r on s.job_id = r.job_id"
    ).fetchall()
    con.close()
    keys = ("module", "operator", "line", "outcome")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def run_target(target: dict, exclude: list[str], work: Path) -> tuple[int, int, list[dict]]:
    """(killed, survived, survivors) for one target."""
    config, session = work / "config.toml", work / "session.sqlite"
    _config(target, exclude, config)
    subprocess.run([_bin("cosmic-ray"), "init", str(config), str(session)], check=True, cwd=ROOT)
    subprocess.run([_bin("cr-filter-operators"), str(session), str(config)], check=True, cwd=ROOT)
    subprocess.run([_bin("cr-filter-pragma"), str(session)], check=True, cwd=ROOT)
    subprocess.run([_bin("cosmic-ray"), "exec", str(config), str(session)], check=True, cwd=ROOT)
    results = [r for r in _results(session) if r["outcome"] in ("KILLED", "SURVIVED")]
    survivors = [r for r in results if r["outcome"] == "SURVIVED"]
    return len(results) - len(survivors), len(survivors), survivors


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", action="append", help="run only these targets (by name)")
    ap.add_argument("--floor", type=float, default=None, help="minimum score in percent")
    args = ap.parse_args()
    spec = tomllib.loads((HERE / "targets.toml").read_text(encoding="utf-8"))
    floor = spec["floor"] if args.floor is None else args.floor
    targets = [t for t in spec["target"] if not args.target or t["name"] in args.target]
    files = sorted({m for t in targets for m in t["modules"]})
    saved = {f: (ROOT / f).read_bytes() for f in files}
    # A terminated run still restores the mutated files (the finally below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    killed = survived = 0
    try:
        for target in targets:
            start = time.monotonic()
            with tempfile.TemporaryDirectory() as tmp:
                k, s, survivors = run_target(target, spec["exclude-operators"], Path(tmp))
            killed, survived = killed + k, survived + s
            score = 100.0 * k / max(k + s, 1)
            print(f"== mutation {target['name']}: {k} caught, {s} survived, score {score:.1f}% "
                  f"({time.monotonic() - start:.0f} s)")  # fmt: skip
            for r in survivors:
                line = (ROOT / r["module"]).read_text(encoding="utf-8").splitlines()[r["line"] - 1]
                print(f"   survived {r['module']}:{r['line']} {r['operator']}: {line.strip()}")
    finally:
        for f, data in saved.items():
            if (ROOT / f).read_bytes() != data:
                (ROOT / f).write_bytes(data)
                print(f"restored {f}")
    total = 100.0 * killed / max(killed + survived, 1)
    print(f"== mutation score: {total:.1f}% ({killed} of {killed + survived}); floor {floor}%")
    return 0 if total >= floor else 1


if __name__ == "__main__":
    sys.exit(main())
