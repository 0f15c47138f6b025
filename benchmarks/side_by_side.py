"""sdc-engine and ACRO on the same tables, in one run, each in its own process.

    python benchmarks/side_by_side.py --rows 1e6 1e7 [--repeat 3] [--out results.json]

Needs the ACRO virtual environment (``bash benchmarks/peers/setup_acro_venv.sh``).
Prints, per table and size, the median seconds of each tool, the ratio, and the
peak resident memory of each process; also the evidence kernel alone against a
plain pandas groupby of the same columns (rows per second).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from synthetic import make_microdata  # noqa: E402

ACRO_PYTHON = HERE / ".venv-acro" / "bin" / "python"

TABLES = {
    "mean a x b (300 cells)": {"index": ["a"], "columns": ["b"], "values": "value",
                               "aggfunc": "mean"},
    "frequency [a,b] x c (15,000 cells)": {"index": ["a", "b"], "columns": ["c"],
                                           "values": None, "aggfunc": None},
    "mean [a,b] x c (15,000 cells)": {"index": ["a", "b"], "columns": ["c"],
                                      "values": "value", "aggfunc": "mean"},
}  # fmt: skip


def _run(python: Path | str, script: Path, data: Path, spec: dict, work: Path) -> dict:
    spec_file = work / "spec.json"
    out_file = work / "out.json"
    spec_file.write_text(json.dumps(spec))
    subprocess.run(
        [str(python), str(script), "--data", str(data), "--spec", str(spec_file),
         "--out", str(out_file)],
        check=True,
    )  # fmt: skip
    return json.loads(out_file.read_text())


def kernel_vs_groupby(frame: pd.DataFrame) -> dict:
    """Rows per second: the evidence kernel alone vs one pandas groupby of the same columns."""
    from sdc.tables.evidence import compute_evidence
    from sdc.tables.factorize import factorize
    from sdc.tables.model import TableModel

    coded = [factorize(frame[c]) for c in ("a", "b", "c")]
    codes = np.ascontiguousarray(np.column_stack([c for c, _ in coded]))
    model = TableModel(("a", "b", "c"), tuple(tuple(lv) for _, lv in coded), n_rows=2)
    values = frame["value"].to_numpy()
    compute_evidence(codes[:100], model, values[:100])  # compile / load cache
    times_k, times_g = [], []
    for _ in range(3):
        t = time.perf_counter()
        compute_evidence(codes, model, values)
        times_k.append(time.perf_counter() - t)
        t = time.perf_counter()
        frame.groupby(["a", "b", "c"], observed=True)["value"].agg(["count", "sum", "min", "max"])
        times_g.append(time.perf_counter() - t)
    n = len(frame)
    return {
        "kernel_seconds": statistics.median(times_k),
        "groupby_seconds": statistics.median(times_g),
        "kernel_rows_per_s": n / statistics.median(times_k),
        "groupby_rows_per_s": n / statistics.median(times_g),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", type=float, default=[1e6])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    if not ACRO_PYTHON.exists():
        print("run: bash benchmarks/peers/setup_acro_venv.sh", file=sys.stderr)
        return 2
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        for rows in args.rows:
            n = int(rows)
            frame = make_microdata(n, seed=0)
            data = work / f"data_{n}.parquet"
            frame.to_parquet(data, index=False)
            kern = kernel_vs_groupby(frame)
            kernel_rate = kern["kernel_rows_per_s"] / 1e6
            groupby_rate = kern["groupby_rows_per_s"] / 1e6
            print(f"\n{n:,} rows: evidence kernel {kernel_rate:.1f} M rows/s (all cells and "
                  f"margins, 3 dims) vs pandas groupby {groupby_rate:.1f} M rows/s (inner cells "
                  "only)")  # fmt: skip
            del frame
            for title, table in TABLES.items():
                spec = {**table, "margins": False, "repeat": args.repeat}
                ours = _run(sys.executable, HERE / "sdc_runner.py", data, spec, work)
                acro = _run(ACRO_PYTHON, HERE / "peers" / "acro_runner.py", data, spec, work)
                m_ours = statistics.median(ours["timings"])
                m_acro = statistics.median(acro["timings"])
                row = {
                    "rows": n, "table": title, "sdc_median_s": m_ours, "acro_median_s": m_acro,
                    "ratio": m_acro / m_ours, "sdc_peak_rss_mb": ours["peak_rss_mb"],
                    "acro_peak_rss_mb": acro["peak_rss_mb"], "sdc_timings": ours["timings"],
                    "acro_timings": acro["timings"], "sdc_status": ours["status"],
                    "acro_status": acro["status"], **kern,
                }  # fmt: skip
                results.append(row)
                print(f"  {title:38s} sdc {m_ours:7.3f} s  acro {m_acro:7.2f} s  "
                      f"x{row['ratio']:6.1f}  peak RSS sdc {ours['peak_rss_mb']:6.0f} MB "
                      f"acro {acro['peak_rss_mb']:6.0f} MB", flush=True)  # fmt: skip
    if args.out:
        args.out.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
