"""Differencing against a release registry: many released tables, one new request.

    python benchmarks/bench_differencing.py --rows 1e6 --released 1000 --repeat 3 \\
        --out benchmarks/results-differencing.json

Data: a synthetic cohort of ``--rows`` patients (``cohort``): region (10), practice
(100, nested in regions), sex, ethnicity (5), year of entry (2015-2024), age 0-99
with its 5- and 10-year bands, smoker. Written to CSV; the session and the gate read
it from there (text columns, rows numbered from 0).

Registry: ``--released`` count tables, each a distinct pair (grouping, population):
one or two of region, sex, ethnicity, year, the two age bands and practice, for a
population from entry years, age limits and smoking (``specs``), made with
``Session(suppress=True).pivot_table`` (small cells suppressed, no margins) and
recorded in a SQLite registry as the release workflow records them (definition with
the pattern the gate read, under the dataset's key), ten outputs per request.
Making them is not timed.

Timed (in one process after a warm-up that compiles the kernels): ``check_folder`` of
a new request of one table (region x sex, age < 90 and entry from 2020) with
``--data`` alone (reading the data and the request's own check), then with
``--registry`` too: the first check keeps the basis of the earlier releases in the
registry (:mod:`sdc.differencing.basis`), later ones (median of ``--repeat``) reuse
it. The difference to ``--data`` alone is the registry check. Then one more request
of ten tables is released and the request checked once more (it starts from the
basis of the releases before). Reported: seconds, findings, notes and status (the
same in every check).
"""

from __future__ import annotations

import argparse
import itertools
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

GROUPINGS = ["region", "sex", "ethnicity", "year", "age5", "age10", "practice"]
POPULATIONS = (
    [None]
    + [f"year >= {y}" for y in range(2016, 2025)]
    + ["age >= 18", "age >= 65", "age < 90", "smoker == 0"]
    + [f"year >= {y} and age >= 18" for y in range(2016, 2025, 2)]
    + [f"year >= {y} and age < 90" for y in range(2016, 2025, 2)]
    + [f"age >= {a}" for a in range(20, 90, 10)]
    + [f"age < {a}" for a in range(30, 90, 10)]
    + [f"year <= {y}" for y in range(2016, 2024)]
    + [f"smoker == 1 and year >= {y}" for y in range(2016, 2025, 2)]
)


def cohort(rows: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    region = rng.integers(0, 10, rows)
    practice = region * 10 + rng.integers(0, 10, rows)
    age = np.minimum(rng.gamma(4.0, 11.0, rows).astype(int), 99)
    return pd.DataFrame({
        "region": np.char.add("R", region.astype(str)),
        "practice": np.char.add("P", practice.astype(str)),
        "sex": rng.choice(["F", "M"], rows),
        "ethnicity": rng.choice(list("ABCDE"), rows, p=[0.8, 0.08, 0.06, 0.04, 0.02]),
        "year": rng.integers(2015, 2025, rows),
        "age": age,
        "age5": [f"{a - a % 5:02d}-{a - a % 5 + 4:02d}" for a in age],
        "age10": [f"{a - a % 10:02d}-{a - a % 10 + 9:02d}" for a in age],
        "smoker": (rng.random(rows) < 0.2).astype(int),
    })  # fmt: skip


def specs(n: int, seed: int = 1) -> list[tuple[tuple[str, ...], str | None]]:
    """``n`` distinct (grouping columns, population) pairs, in a random order."""
    groupings = [(g,) for g in GROUPINGS] + [
        pair for pair in itertools.combinations(GROUPINGS, 2) if "practice" not in pair
    ]
    every = [(g, p) for g in groupings for p in POPULATIONS]
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(every))
    if n > len(every):
        raise SystemExit(f"at most {len(every)} distinct tables; asked for {n}")
    return [every[i] for i in order[:n]]


def build_registry(df: pd.DataFrame, n: int, url: str, first: int = 0) -> float:
    """Make ``n`` released tables (``specs`` from ``first`` on) and record them; seconds
    taken (not part of the timing)."""
    import sdc
    from sdc.differencing.population import dataset_key
    from sdc.release.combined import registry_definition
    from sdc.release.registry import Decision, OutputRecord, RequestRecord, open_registry

    start = time.perf_counter()
    made = []
    for k, (group, population) in enumerate(specs(first + n)[first:], start=first):
        s = sdc.Session(suppress=True)
        out = s.pivot_table(df, index=list(group), aggfunc="count", name=f"t{k}",
                            population=population)  # fmt: skip
        d = registry_definition(out.definition, out)
        made.append(OutputRecord(out.name, "table", out.status.value, d, dataset_key(d)))
    with open_registry(url) as reg:
        for r in range(0, n, 10):
            rid = f"req-{(first + r) // 10:04d}"
            outs = [o for o in made[r : r + 10] if o.verdict != "fail"]
            review = [o.name for o in outs if o.verdict == "review"]
            reg.decide(RequestRecord(rid, "alice", "a" * 64, False, False, "default", "b" * 64,
                                     outs), Decision(rid, "bob", "approve", "synthetic",
                                                     review))  # fmt: skip
            reg.release(rid, {o.name: {f"{o.name}.csv": "c" * 64} for o in outs}, actor="bob")
    return time.perf_counter() - start


def new_request(df: pd.DataFrame, folder: Path) -> Path:
    import sdc

    s = sdc.Session(suppress=True)
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", name="new",
                  population="age < 90 and year >= 2020")  # fmt: skip
    return s.finalise(folder)


def measure(rows: int, released: int, repeat: int, work: Path) -> dict[str, Any]:
    from sdc.release.gate import check_folder
    from sdc.release.registry import open_registry

    data = work / "cohort.csv"
    cohort(rows).to_csv(data, index=False)
    df = pd.read_csv(data, dtype={"region": "category", "practice": "category",
                                  "sex": "category", "ethnicity": "category",
                                  "age5": "category", "age10": "category"})  # fmt: skip
    url = f"sqlite:///{work}/registry.db"
    setup = build_registry(df, released, url)
    folder = new_request(df, work / "request")
    warm = new_request(df.head(200).reset_index(drop=True), work / "warm")
    check_folder(warm, trust_unsigned=True)  # compile (or load) the kernels
    alone, together = [], []
    reports: list[dict[str, Any]] = []
    with open_registry(url, create=False) as reg:
        for _ in range(repeat):
            t0 = time.perf_counter()
            check_folder(folder, trust_unsigned=True, data=data)
            alone.append(time.perf_counter() - t0)
        for _ in range(repeat + 1):  # the first keeps the basis, the others reuse it
            t0 = time.perf_counter()
            reports.append(check_folder(folder, trust_unsigned=True, data=data, registry=reg))
            together.append(time.perf_counter() - t0)
    d = reports[0]["differencing"]
    if any(r["differencing"] != d for r in reports):
        raise SystemExit("the checks with and without the kept basis differ")
    build_registry(df, 10, url, first=released)  # one more request of ten tables leaves
    with open_registry(url, create=False) as reg:
        t0 = time.perf_counter()
        check_folder(folder, trust_unsigned=True, data=data, registry=reg)
        after = time.perf_counter() - t0
    base = statistics.median(alone)
    return {
        "rows": rows, "released": released, "setup_seconds": round(setup, 1),
        "check_with_data_seconds": round(base, 3),
        "first_check_with_registry_seconds": round(together[0], 3),
        "check_with_registry_seconds": round(statistics.median(together[1:]), 3),
        "registry_part_first_seconds": round(together[0] - base, 3),
        "registry_part_seconds": round(statistics.median(together[1:]) - base, 3),
        "after_one_more_release_seconds": round(after, 3),
        "released_checked": len(d["released_before"]), "findings": len(d["findings"]),
        "notes": d["notes"][:5], "status": d["status"],
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rows", type=float, nargs="+", default=[1e6])
    p.add_argument("--released", type=int, nargs="+", default=[1000])
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", type=Path, default=None)
    args = p.parse_args()
    results = []
    for rows in args.rows:
        for n in args.released:
            with tempfile.TemporaryDirectory() as tmp:
                r = measure(int(rows), n, args.repeat, Path(tmp))
            print(json.dumps(r))
            results.append(r)
    if args.out:
        args.out.write_text(json.dumps({"machine": platform.processor() or platform.machine(),
                                        "python": platform.python_version(),
                                        "results": results}, indent=2) + "\n")  # fmt: skip


if __name__ == "__main__":
    main()
