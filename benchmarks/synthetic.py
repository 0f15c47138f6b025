"""Synthetic microdata for benchmarks and peer-agreement tests.

The same generator feeds both sdc-engine (pandas 3.x) and the ACRO peer
runner (pandas 2.x in its own venv), so it only depends on numpy, pandas and
(for writing parquet) pyarrow, and avoids APIs whose behaviour differs
between the two pandas lines.

Two shapes of data are produced:

* :func:`make_microdata` -- large, realistic tables: three grouping columns
  with Zipf-like (skewed) level frequencies so that crossing them yields a mix
  of large, small and empty cells, a lognormal ``value`` and a ``contributor``
  id with several rows per contributor.
* :func:`make_small_cells` -- data where most table cells hold 0..15 records,
  which is where threshold, dominance and zero rules actually disagree; with
  optional negative and missing values to exercise the edge-case paths.

Run as a script to write parquet::

    python benchmarks/synthetic.py --rows 1e6 --out /tmp/x.parquet
    python benchmarks/synthetic.py --small-cells --rows 2000 --negatives --missing \\
        --out /tmp/small.parquet
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

#: Number of levels of each grouping column of :func:`make_microdata`.
LEVELS: dict[str, int] = {"a": 10, "b": 30, "c": 50}

#: Zipf exponent of the level frequencies. 1.5 gives, at 1e5 rows, a handful of
#: a x b cells under 10 records and many empty a x b x c cells.
ZIPF_EXPONENT: float = 1.5


def level_labels(prefix: str, n_levels: int) -> np.ndarray:
    """Return labels ``prefix00``.. as an object array (cheap to take from)."""
    width = max(2, len(str(n_levels - 1)))
    return np.array([f"{prefix}{i:0{width}d}" for i in range(n_levels)], dtype=object)


def zipf_probabilities(n_levels: int, exponent: float = ZIPF_EXPONENT) -> np.ndarray:
    """Return Zipf-like level probabilities p_k proportional to 1 / (k + 1) ** exponent."""
    weights = 1.0 / np.arange(1, n_levels + 1, dtype=np.float64) ** exponent
    return weights / weights.sum()


def draw_codes(rng: np.random.Generator, probabilities: np.ndarray, size: int) -> np.ndarray:
    """Draw integer level codes with the given probabilities (vectorised inverse CDF)."""
    cdf = np.cumsum(probabilities)
    cdf[-1] = 1.0  # guard against round-off leaving a gap at the top
    codes = np.searchsorted(cdf, rng.random(size), side="right")
    return codes.astype(np.int64, copy=False)


def _labels_series(prefix: str, codes: np.ndarray, n_levels: int) -> pd.Series:
    """Build a string column from codes.

    Taking from an object array of a few interned labels is a pointer copy, so
    this is fast even at 1e7 rows; pandas then infers its default string dtype
    (object in 2.x, ``str`` in 3.x).
    """
    return pd.Series(level_labels(prefix, n_levels)[codes], name=prefix)


def make_microdata(n_rows: int, seed: int = 0, n_contributors: int | None = None) -> pd.DataFrame:
    """Generate the benchmark microdata.

    Columns:

    * ``a``, ``b``, ``c``: string labels (``"a00"``..) with 10, 30 and 50 levels,
      drawn independently with Zipf-like frequencies (see :data:`ZIPF_EXPONENT`),
      so rare level combinations produce small or empty cells.
    * ``value``: lognormal float64; its location shifts slightly with ``a`` so
      cell means differ between rows of a table.
    * ``contributor``: int64 id, uniform over ``n_contributors`` ids (default
      ``n_rows // 10``), so each contributor has several rows spread over cells.

    The output is deterministic for a given ``(n_rows, seed, n_contributors)``.
    """
    n_rows = int(n_rows)
    if n_rows < 0:
        raise ValueError("n_rows must be non-negative")
    if n_contributors is None:
        n_contributors = max(1, n_rows // 10)
    if n_contributors < 1:
        raise ValueError("n_contributors must be at least 1")
    rng = np.random.default_rng(seed)

    columns: dict[str, pd.Series] = {}
    codes_a = np.empty(0, dtype=np.int64)
    for name, n_levels in LEVELS.items():
        codes = draw_codes(rng, zipf_probabilities(n_levels), n_rows)
        if name == "a":
            codes_a = codes
        columns[name] = _labels_series(name, codes, n_levels)

    value = rng.lognormal(mean=3.0, sigma=1.0, size=n_rows) * (1.0 + 0.05 * codes_a)
    contributor = rng.integers(0, n_contributors, size=n_rows, dtype=np.int64)

    frame = pd.DataFrame(columns)
    frame["value"] = value.astype(np.float64, copy=False)
    frame["contributor"] = contributor
    return frame


def make_small_cells(
    n_rows: int,
    seed: int = 0,
    negatives: bool = False,
    missing: bool = False,
    missing_keys: bool = False,
    max_cell: int = 15,
) -> pd.DataFrame:
    """Generate data whose ``a`` x ``b`` cells mostly hold 0..``max_cell`` records.

    Layout: ``a`` has 5 levels and ``b`` as many as needed for a mean of about 8
    records per ``a`` x ``b`` cell; each cell's size is drawn uniformly from
    0..``max_cell`` (so some cells are empty), then rows are shuffled and cut to
    exactly ``n_rows``. ``c`` has 3 uniform levels, making ``a`` x ``b`` x ``c``
    cells smaller still. Values are lognormal, with deliberate edge cases:

    * about 15% of cells have one dominant record (value x 50): dominance rules;
    * about 5% of cells are all zeros: 0/0 handling in ratio rules;
    * about 5% of cells have all values equal (to 7.0): all-values-the-same;
    * ``negatives=True``: about 5% of rows have their value negated;
    * ``missing=True``: about 5% of ``value`` entries are NaN;
    * ``missing_keys=True``: about 2% of ``c`` labels are missing (None).

    ``contributor`` ids are drawn from ``n_rows // 3`` ids, so some contributors
    appear more than once within a cell.
    """
    n_rows = int(n_rows)
    if n_rows < 1:
        raise ValueError("n_rows must be at least 1")
    if max_cell < 1:
        raise ValueError("max_cell must be at least 1")
    rng = np.random.default_rng(seed)

    n_a = 5
    mean_cell = max_cell / 2.0
    n_b = max(1, int(np.ceil(n_rows * 1.15 / (n_a * mean_cell))))
    n_cells = n_a * n_b
    sizes = rng.integers(0, max_cell + 1, size=n_cells)
    while sizes.sum() < n_rows:  # rare: top up until there are enough rows to cut
        sizes += rng.integers(0, 2, size=n_cells)
    cell_of_row = np.repeat(np.arange(n_cells), sizes)
    cell_of_row = rng.permutation(cell_of_row)[:n_rows]

    code_a = cell_of_row // n_b
    code_b = cell_of_row % n_b
    code_c = rng.integers(0, 3, size=n_rows)

    value = rng.lognormal(mean=3.0, sigma=0.75, size=n_rows)
    cell_kind = rng.random(n_cells)
    kind_of_row = cell_kind[cell_of_row]
    dominant_cell = kind_of_row < 0.15
    zero_cell = (kind_of_row >= 0.15) & (kind_of_row < 0.20)
    same_cell = (kind_of_row >= 0.20) & (kind_of_row < 0.25)
    # One dominant record per dominant cell: the first row of that cell in row order.
    first_in_cell = np.zeros(n_rows, dtype=bool)
    _, first_index = np.unique(cell_of_row, return_index=True)
    first_in_cell[first_index] = True
    value[dominant_cell & first_in_cell] *= 50.0
    value[zero_cell] = 0.0
    value[same_cell] = 7.0
    if negatives:
        value[rng.random(n_rows) < 0.05] *= -1.0
    if missing:
        value[rng.random(n_rows) < 0.05] = np.nan

    frame = pd.DataFrame(
        {
            "a": _labels_series("a", code_a, n_a),
            "b": _labels_series("b", code_b, n_b),
            "c": _labels_series("c", code_c, 3),
        }
    )
    if missing_keys:
        frame.loc[rng.random(n_rows) < 0.02, "c"] = None
    frame["value"] = value
    frame["contributor"] = rng.integers(0, max(1, n_rows // 3), size=n_rows, dtype=np.int64)
    return frame


def _parse_rows(text: str) -> int:
    """Accept ``1e6`` as well as ``1000000`` for the row count."""
    rows = float(text)
    if rows < 0 or rows != int(rows):
        raise argparse.ArgumentTypeError(f"not a non-negative whole number: {text}")
    return int(rows)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: generate a data set and write it as parquet."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=_parse_rows, required=True, help="row count, e.g. 1e6")
    parser.add_argument("--out", type=Path, required=True, help="output .parquet path")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--contributors", type=int, default=None, help="distinct contributor ids")
    parser.add_argument("--small-cells", action="store_true", help="use make_small_cells instead")
    parser.add_argument("--negatives", action="store_true", help="small-cells: negate ~5%%")
    parser.add_argument("--missing", action="store_true", help="small-cells: ~5%% NaN values")
    parser.add_argument(
        "--missing-keys", action="store_true", help="small-cells: ~2%% missing c labels"
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    if args.small_cells:
        frame = make_small_cells(
            args.rows,
            seed=args.seed,
            negatives=args.negatives,
            missing=args.missing,
            missing_keys=args.missing_keys,
        )
    else:
        frame = make_microdata(args.rows, seed=args.seed, n_contributors=args.contributors)
    generated = time.perf_counter() - start
    args.out.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(args.out, index=False)
    written = time.perf_counter() - start - generated
    print(
        f"{len(frame)} rows generated in {generated:.2f}s, written in {written:.2f}s: {args.out}",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
