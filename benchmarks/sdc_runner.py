"""Time sdc-engine on the same table specification as ``peers/acro_runner.py``.

Run in its own process (as the ACRO runner is) so that peak memory is comparable::

    python benchmarks/sdc_runner.py --data FILE.parquet --spec SPEC.json --out OUT.json

The timed call builds the table with all checks the ``acro`` preset applies (the same
checks ACRO runs), from the loaded DataFrame, including factorisation of the columns.
"""

from __future__ import annotations

import argparse
import gc
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd

import sdc


def _status_mb(field: str) -> float:
    """A memory field of /proc/self/status in MiB (VmRSS now, VmHWM peak of this process).

    VmHWM, unlike ru_maxrss, starts afresh at exec, so a parent's memory is not counted.
    """
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def run(data: Path, spec: dict[str, Any]) -> dict[str, Any]:
    wanted = [*spec["index"], *spec["columns"]]
    if spec.get("values"):
        wanted.append(spec["values"])
    frame = pd.read_parquet(data, columns=list(dict.fromkeys(wanted)))
    gc.collect()
    baseline = _status_mb("VmRSS")
    session = sdc.Session(rules=spec.get("rules", "acro"))
    # Compile (or load from cache) the kernels outside the timed region, as a long-lived
    # process would have them; the first-call time is reported separately. The same table
    # of the first 300,000 rows: enough rows for the kernels that run on all cores and for
    # the threads that code columns (nothing computed from the data is kept between calls).
    start = time.perf_counter()
    head = frame.iloc[:300_000]
    session.crosstab(
        [head[c] for c in spec["index"]], [head[c] for c in spec["columns"]],
        values=head[spec["values"]] if spec.get("values") else None,
        aggfunc=spec.get("aggfunc"), name="warm-up",
    )  # fmt: skip
    warmup = time.perf_counter() - start
    timings = []
    out = None
    for i in range(int(spec.get("repeat", 3))):
        session = sdc.Session(rules=spec.get("rules", "acro"))
        start = time.perf_counter()
        out = session.crosstab(
            [frame[c] for c in spec["index"]],
            [frame[c] for c in spec["columns"]],
            values=frame[spec["values"]] if spec.get("values") else None,
            aggfunc=spec.get("aggfunc"),
            margins=bool(spec.get("margins", False)),
            name=f"t{i}",
        )
        _ = out.status, out.findings
        timings.append(time.perf_counter() - start)
    assert out is not None
    peak = _status_mb("VmHWM")
    return {
        "spec": spec,
        "n_rows": len(frame),
        "timings": timings,
        "warmup_seconds": warmup,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": peak,
        "status": out.status.value,
        "cells": int(out.model.published_mask.sum()),
        "sdc_version": sdc.__version__,
        "pandas_version": pd.__version__,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--spec", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    result = run(args.data, json.loads(args.spec.read_text(encoding="utf-8")))
    args.out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
