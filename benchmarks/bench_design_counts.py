"""Design counts for a regression check: the kernels against pandas, on one synthetic frame.

    python benchmarks/bench_design_counts.py --rows 1000000 --levels 50 --repeat 5

The frame has a categorical ``x`` of ``--levels`` levels with Zipf-like (skewed) frequencies,
a categorical ``g`` of 5 levels, a binary outcome ``y`` (all three 1% missing) and a boolean
``sample``, the rows the fit uses (90%). The counts a regression check needs are the kept
records at each level of ``x`` and ``g`` (the dummies) and in each cell of ``y`` x ``x`` (the
outcome categories within each level).

Timed, as the median of ``--repeat`` runs after one warm-up call (which compiles or loads the
Numba kernels):

* kernels, codes ready: ``level_counts`` on the (x, g) codes and ``cell_counts`` on the (y, x)
  codes, from int64 code arrays built beforehand;
* kernels, codes included: the same, building the code arrays from the categoricals each time;
* pandas: ``value_counts`` of ``x`` and ``g`` and ``groupby([y, x], observed=False).size()`` on
  the kept rows.

Both give the same counts (checked) and the table reports rows per second and the speed of
each over pandas.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import numba
import numpy as np
import pandas as pd
from sdc.kernels.design import cell_counts, level_counts

#: Levels of the second factor.
G_LEVELS = 5
#: Share of missing values in each categorical, and of rows outside the sample.
MISSING = 0.01
DROPPED = 0.10

Counts = tuple[np.ndarray, np.ndarray]
KernelInputs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def _categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical[str]:
    return pd.Categorical.from_codes(codes, categories=pd.Index(categories))


def make_design(rows: int, levels: int, seed: int = 0) -> pd.DataFrame:
    """The frame described in the module docstring."""
    rng = np.random.default_rng(seed)
    p = 1.0 / np.arange(1, levels + 1) ** 1.5
    x = rng.choice(levels, size=rows, p=p / p.sum())
    g = rng.integers(0, G_LEVELS, size=rows)
    y = (rng.random(rows) < 0.3).astype(np.int64)
    for codes in (x, g, y):
        codes[rng.random(rows) < MISSING] = -1
    return pd.DataFrame(
        {
            "x": _categorical(x, [f"x{i}" for i in range(levels)]),
            "g": _categorical(g, [f"g{i}" for i in range(G_LEVELS)]),
            "y": _categorical(y, ["no", "yes"]),
            "sample": rng.random(rows) >= DROPPED,
        }
    )


def _codes(frame: pd.DataFrame, columns: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    codes = np.empty((len(frame), len(columns)), dtype=np.int64)
    for j, col in enumerate(columns):
        codes[:, j] = frame[col].cat.codes.to_numpy()
    n_levels = np.array([len(frame[c].cat.categories) for c in columns], dtype=np.int64)
    return codes, n_levels


def kernel_inputs(frame: pd.DataFrame) -> KernelInputs:
    """Codes and levels of (x, g) and of (y, x), and the sample mask, as the kernels take them."""
    factors, factor_levels = _codes(frame, ("x", "g"))
    cross, cross_levels = _codes(frame, ("y", "x"))
    return factors, factor_levels, cross, cross_levels, frame["sample"].to_numpy()


def kernel_counts(inputs: KernelInputs) -> Counts:
    """Level counts of x then g, and cell counts of y x x (C order)."""
    factors, factor_levels, cross, cross_levels, keep = inputs
    return level_counts(factors, factor_levels, keep), cell_counts(cross, cross_levels, keep)


def kernel_counts_from_frame(frame: pd.DataFrame) -> Counts:
    return kernel_counts(kernel_inputs(frame))


def pandas_counts(frame: pd.DataFrame) -> Counts:
    """The same counts with pandas, in the same layout."""
    kept = frame[frame["sample"]]
    levels = np.concatenate(
        [kept[c].value_counts(sort=False, dropna=True).to_numpy() for c in ("x", "g")]
    )
    cells = kept.groupby(["y", "x"], observed=False, dropna=True).size().to_numpy()
    return levels.astype(np.int64), cells.astype(np.int64)


def _median_seconds(fn: Callable[[], Counts], repeat: int) -> tuple[float, Counts]:
    out = fn()  # warm-up: compiles or loads the kernels, fills caches
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--levels", type=int, default=50, help="levels of the skewed factor x")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    frame = make_design(args.rows, args.levels, args.seed)
    inputs = kernel_inputs(frame)
    runs = {
        "kernels, codes ready": lambda: kernel_counts(inputs),
        "kernels, codes included": lambda: kernel_counts_from_frame(frame),
        "pandas value_counts + groupby.size": lambda: pandas_counts(frame),
    }
    results = {name: _median_seconds(fn, args.repeat) for name, fn in runs.items()}

    expected = results["pandas value_counts + groupby.size"][1]
    for name, (_, (levels, cells)) in results.items():
        if not (np.array_equal(levels, expected[0]) and np.array_equal(cells, expected[1])):
            raise SystemExit(f"{name}: counts differ from pandas")
    pandas_seconds = results["pandas value_counts + groupby.size"][0]

    print(
        f"{args.rows:,} rows ({int(inputs[4].sum()):,} kept); x: {args.levels} levels, "
        f"g: {G_LEVELS} levels, y: 2 categories; {args.levels + G_LEVELS} level counts and "
        f"{2 * args.levels} cells; median of {args.repeat}; counts equal: yes\n"
    )
    print("| method | median s | rows/s | speed vs pandas |")
    print("|---|---|---|---|")
    for name, (seconds, _) in results.items():
        print(
            f"| {name} | {seconds:.4f} | {args.rows / seconds / 1e6:,.1f} M "
            f"| {pandas_seconds / seconds:,.1f}x |"
        )
    print(
        f"\nMachine: {os.cpu_count()} CPUs ({platform.machine()}), Python "
        f"{platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}, "
        f"pandas {pd.__version__}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
