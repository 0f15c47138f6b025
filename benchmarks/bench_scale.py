"""Tables beyond one DataFrame: streaming Parquet, Dask and Spark, beside their own group-by.

    python benchmarks/bench_scale.py --rows 1e6 1e7 --backends stream dask spark \\
        --out benchmarks/results-scale.json [--plot]

Writes the synthetic microdata (``synthetic.make_microdata``, in row groups of 1e6 rows)
as Parquet under a temporary folder, then for each size, backend and table (frequency
and mean of [a, b] x c, 15,000 cells, ``acro`` rules) times the checked table and the
engine's own plain group-by of the same columns (count, sum, min, max of the inner
cells), each in a fresh process so that peak memory (VmHWM) is its own: ``stream`` is
``Session.pivot_table`` on the files against a pyarrow ``group_by`` of the table read
whole; ``dask`` a ``LocalCluster`` of 2 single-threaded workers (peak memory: the
client process only); ``spark`` ``local[2]``. ``--plot`` draws seconds against rows
(``benchmarks/scale.png`` and ``docs/_static/benchmarks/scale.svg``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

TABLES = {
    "frequency": {"index": ["a", "b"], "columns": ["c"], "values": None, "aggfunc": "count"},
    "mean": {"index": ["a", "b"], "columns": ["c"], "values": "value", "aggfunc": "mean"},
}
BACKENDS = ("stream", "dask", "spark")


def write_parquet(n_rows: int, folder: Path, group: int = 1_000_000) -> list[Path]:
    """The benchmark microdata as Parquet files of ``group`` rows each (seeded per file)."""
    from synthetic import make_microdata

    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, start in enumerate(range(0, n_rows, group)):
        frame = make_microdata(min(group, n_rows - start), seed=i)
        path = folder / f"part-{i:04d}.parquet"
        frame.to_parquet(path, index=False)
        paths.append(path)
    return paths


def _peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    return float("nan")


def _spark() -> Any:
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    spark = (
        SparkSession.builder.master("local[2]").config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4").getOrCreate()
    )  # fmt: skip
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def _warm_up(first: str, spec: dict[str, Any], needed: list[str]) -> None:
    """Load the compiled kernels (Numba's cache) on a few rows, as a long-lived process has them."""
    import pyarrow.parquet as pq

    import sdc

    with tempfile.TemporaryDirectory() as tmp:
        small = Path(tmp) / "warm.parquet"
        pq.write_table(pq.read_table(first, columns=needed).slice(0, 1000), small)
        sdc.Session(rules="acro").pivot_table(
            str(small), index=spec["index"], columns=spec["columns"], values=spec["values"],
            aggfunc=spec["aggfunc"],
        )  # fmt: skip


def run_one(backend: str, table: str, folder: Path, baseline: bool) -> dict[str, Any]:
    """One timed run in this process: the checked table, or the engine's plain group-by."""
    import sdc

    spec = TABLES[table]
    cols = [*spec["index"], *spec["columns"]]
    needed = cols + ([spec["values"]] if spec["values"] else [])
    files = sorted(str(p) for p in folder.glob("*.parquet"))
    setup = 0.0
    data: Any = files
    client = None
    if backend == "dask":
        import dask.dataframe as dd
        from distributed import Client, LocalCluster

        start = time.perf_counter()
        client = Client(LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None))
        data = dd.read_parquet(files, columns=needed)
        setup = time.perf_counter() - start
    elif backend == "spark":
        start = time.perf_counter()
        spark = _spark()
        data = spark.read.parquet(*files).select(*needed)
        setup = time.perf_counter() - start
    _warm_up(files[0], spec, needed)
    start = time.perf_counter()
    status = None
    if not baseline:
        s = sdc.Session(rules="acro")
        out = s.pivot_table(data, index=spec["index"], columns=spec["columns"],
                            values=spec["values"], aggfunc=spec["aggfunc"], name="t")  # fmt: skip
        _ = out.findings
        status = out.status.value
    elif backend == "stream":
        import pyarrow.parquet as pq

        t = pq.read_table(files, columns=needed)
        agg = [("c", "count")] if spec["values"] is None else [
            (spec["values"], f) for f in ("count", "sum", "min", "max")]  # fmt: skip
        t.group_by(cols).aggregate(agg)
    elif backend == "dask":
        g = data.groupby(cols)
        (g.size() if spec["values"] is None else g[spec["values"]].agg(
            ["count", "sum", "min", "max"])).compute()  # fmt: skip
    else:
        from pyspark.sql import functions as F

        v = spec["values"]
        aggs = [F.count("*")] if v is None else [F.count(v), F.sum(v), F.min(v), F.max(v)]
        data.groupBy(*cols).agg(*aggs).collect()
    seconds = time.perf_counter() - start
    if client is not None:
        client.close()
    return {"seconds": seconds, "setup_seconds": setup, "peak_rss_mb": _peak_mb(),
            "status": status}  # fmt: skip


def measure(backend: str, table: str, folder: Path, baseline: bool) -> dict[str, Any]:
    """``run_one`` in a fresh process (its own peak memory)."""
    cmd = [sys.executable, __file__, "--one", backend, table, str(folder)]
    if baseline:
        cmd.append("--baseline")
    done = subprocess.run(cmd, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def plot(results: list[dict[str, Any]], paths: list[Path]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "sdc-engine", "font.size": 9})
    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.4), layout="constrained", sharey=True)
    colours = {"stream": "#3b6ea5", "dask": "#c0504d", "spark": "#9bbb59"}
    for ax, table in zip(axes, TABLES, strict=True):
        for backend in BACKENDS:
            for baseline, style in ((False, "-"), (True, ":")):
                pts = sorted((r["rows"], r["seconds"]) for r in results
                             if r["backend"] == backend and r["table"] == table
                             and r["baseline"] == baseline)  # fmt: skip
                if pts:
                    label = f"{backend}, {'plain group-by' if baseline else 'checked table'}"
                    ax.plot(*zip(*pts, strict=True), style, marker="o", color=colours[backend],
                            label=label)  # fmt: skip
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("rows")
        ax.set_title(f"{table} [a,b] x c (15,000 cells)")
    axes[0].set_ylabel("seconds")
    axes[1].legend(fontsize=7)
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, metadata={"Date": None, "Creator": None} if path.suffix == ".svg"
                    else None)  # fmt: skip
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", type=float, default=[1e6])
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--tables", nargs="+", choices=list(TABLES), default=list(TABLES))
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--plot", action="store_true")
    parser.add_argument("--one", nargs=3, metavar=("BACKEND", "TABLE", "FOLDER"))
    parser.add_argument("--baseline", action="store_true")
    args = parser.parse_args(argv)
    if args.one:
        backend, table, folder = args.one
        print(json.dumps(run_one(backend, table, Path(folder), args.baseline)))
        return 0
    results: list[dict[str, Any]] = []
    if args.out is not None and args.out.exists():
        results = [r for r in json.loads(args.out.read_text()) if r["rows"] not in args.rows
                   or r["backend"] not in args.backends]  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="sdc-scale-") as tmp:
        for rows in args.rows:
            n = int(rows)
            folder = Path(tmp) / f"rows-{n}"
            write_parquet(n, folder)
            for backend in args.backends:
                for table in args.tables:
                    for baseline in (False, True):
                        r = measure(backend, table, folder, baseline)
                        r.update(rows=n, backend=backend, table=table, baseline=baseline,
                                 rows_per_s=n / r["seconds"])  # fmt: skip
                        results.append(r)
                        what = "group-by" if baseline else "checked "
                        print(f"{n:>11,} {backend:6s} {table:9s} {what} {r['seconds']:8.2f} s "
                              f"{r['rows_per_s'] / 1e6:7.1f} M rows/s peak {r['peak_rss_mb']:7.0f}"
                              f" MB {r['status'] or ''}", flush=True)  # fmt: skip
                        if args.out is not None:
                            args.out.write_text(json.dumps(results, indent=1) + "\n")
            for p in folder.glob("*"):
                p.unlink()
    if args.plot:
        plot(results, [HERE / "scale.png", HERE.parent / "docs/_static/benchmarks/scale.svg"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
