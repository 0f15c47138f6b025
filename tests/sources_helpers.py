"""Shared helpers of the source tests: one table made from pandas, files, Dask or Spark."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
from strategies import Microdata

import sdc
from sdc.release.report import build_report


def table_options(case: Microdata, margins: bool = True) -> dict[str, Any]:
    return {
        "index": case.dims[:1],
        "columns": case.dims[1:] or None,
        "values": case.value,
        "aggfunc": "count" if case.value is None else "mean",
        "contributor": case.contributor,
        "margins": margins,
        "name": "t",
    }


def report(data: Any, case: Microdata, rules: str = "default", **extra: Any) -> dict[str, Any]:
    """The JSON report of one table of ``data`` (any source), as ``sdc crosstab --json`` gives."""
    s = sdc.Session(rules=rules)
    out = s.pivot_table(data, **{**table_options(case), **extra})
    return json.loads(json.dumps(build_report([out], s.ruleset_)))


def assert_same_report(got: Any, want: Any, exact: bool, where: str = "") -> None:
    """Equal reports; with float values, numbers equal to 1e-9 relative (sums in another order)."""
    if isinstance(want, dict):
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        for k in want:
            assert_same_report(got[k], want[k], exact, f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (where, got, want)
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            assert_same_report(g, w, exact, f"{where}[{i}]")
    elif not exact and _number(want) and _number(got) and float in (type(want), type(got)):
        # a ratio of sums is 1 (written as an int) on one path and 1 - 1 ulp on the other
        assert math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-9), (where, got, want)
    elif isinstance(want, str) and not exact and isinstance(got, str):
        assert _numbers_out(got) == _numbers_out(want), (where, got, want)
    else:
        assert got == want, (where, got, want)


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _numbers_out(text: str) -> str:
    """A finding's message without its numbers (they may differ in the last digits)."""
    import re

    return re.sub(r"-?\d[\d,.e+-]*", "#", text)


def write_parts(frame: pd.DataFrame, parts: list[pd.DataFrame], folder: Path) -> list[Path]:
    """Each part as its own Parquet file (the schema of the whole frame)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = pa.Schema.from_pandas(frame, preserve_index=False)
    paths = []
    for i, part in enumerate(parts):
        path = folder / f"part-{i:03d}.parquet"
        pq.write_table(pa.Table.from_pandas(part, schema=schema, preserve_index=False), path)
        paths.append(path)
    return paths
