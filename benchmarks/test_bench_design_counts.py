"""pytest-benchmark: the design-count kernels at 1e5 rows.

Level counts of a 50-level and a 5-level factor and the binary outcome x 50-level
crossing, on the data of ``bench_design_counts.py`` (which also times pandas at
1e6 rows). Run with the rest: ``.venv/bin/pytest benchmarks``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from bench_design_counts import kernel_counts, kernel_inputs, make_design, pandas_counts

ROWS = 100_000


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return make_design(ROWS, 50, seed=0)


def test_kernel_design_counts(benchmark, frame: pd.DataFrame) -> None:
    inputs = kernel_inputs(frame)
    levels, cells = benchmark(kernel_counts, inputs)
    expected_levels, expected_cells = pandas_counts(frame)
    np.testing.assert_array_equal(levels, expected_levels)
    np.testing.assert_array_equal(cells, expected_cells)
