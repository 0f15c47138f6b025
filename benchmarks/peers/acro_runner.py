"""Time ACRO's ``crosstab`` and export its per-cell decisions as JSON.

ACRO 1.0.2 pins ``pandas<=2.3.3`` and so lives in its own virtual environment
(see ``setup_acro_venv.sh``). sdc-engine's benchmarks and agreement tests run
this script with that venv's interpreter as a subprocess and read the JSON it
writes; it must therefore import nothing from sdc-engine.

Usage::

    benchmarks/.venv-acro/bin/python benchmarks/peers/acro_runner.py \\
        --data FILE.parquet --spec SPEC.json --out OUT.json

SPEC.json::

    {"index": ["a", "b"], "columns": ["c"], "values": null, "aggfunc": null,
     "margins": false, "repeat": 3, "config": {}}

``values``/``aggfunc`` must be given together (``aggfunc`` one of ACRO's single
string names: count, mean, median, std, sum, min, max, mode). ``config``
(optional) overrides entries of ACRO's risk appetite (its ``default.yaml``),
e.g. ``{"check_missing_values": true}``.

Loading the parquet is not timed. Each repetition constructs a fresh
``acro.ACRO(suppress=False)`` (timed separately as ``init_timings``) and times
only the ``crosstab`` call. The per-cell masks are taken from the last
repetition: the check results ACRO computes internally are captured by
wrapping ``acro.acro_tables.collate_risk_assessments`` (a pass-through that
only keeps a reference), so they are exactly ACRO's own masks.

On an ACRO exception the output JSON holds ``"error"`` and the exit code is 2.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import logging
import math
import os
import resource
import sys
import time
import traceback
import warnings
from pathlib import Path
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")  # acro imports pyplot; never open a display
logging.disable(logging.CRITICAL)  # acro configures INFO logging on import
warnings.simplefilter("ignore")

import acro  # noqa: E402
import pandas as pd  # noqa: E402
from acro import acro_tables  # noqa: E402

#: ACRO 1.0.2 check names -> the conventional rule names used in our JSON.
MASK_NAMES: dict[str, str] = {
    "MinimumThresholdCheck": "threshold",
    "PPercentCheck": "p-ratio",
    "NKCheck": "nk-rule",
    "PresenceOfZeroCheck": "zeros",
    "MissingCheck": "missing",
    "AllSameValuesCheck": "all-values-are-same",
    "MinimumDoFCheck": "dof",
    "PresenceOfLinkedTableCheck": "linked-table",
    "RequiredZeroCheck": "required-zero",
}

#: Checks that ACRO replaces by a "cell contains a negative value" mask (status
#: "review") as soon as any value in the table is negative.
DOMINANCE_CHECKS: tuple[str, ...] = ("NKCheck", "PPercentCheck")

ALLOWED_AGGFUNCS: frozenset[str] = frozenset(
    {"count", "mean", "median", "std", "sum", "min", "max", "mode"}
)


class _Capture:
    """Keeps the ``allcheckresults`` dict of the most recent ACRO table check."""

    def __init__(self) -> None:
        self.results: dict[str, Any] | None = None
        self._original = acro_tables.collate_risk_assessments

    def install(self) -> None:
        """Wrap ACRO's collation step; the wrapper only stores a reference."""
        original = self._original

        def collate(table: pd.DataFrame, allcheckresults: dict[str, Any]) -> pd.DataFrame:
            self.results = allcheckresults
            return original(table, allcheckresults)

        acro_tables.collate_risk_assessments = collate


def _proc_status_mb(field: str) -> float | None:
    """A memory field of /proc/self/status in MiB, or None where there is no /proc."""
    try:
        with open("/proc/self/status", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return None


def rss_now_mb() -> float:
    """Current resident set size in MiB (Linux /proc; falls back to peak RSS)."""
    now = _proc_status_mb("VmRSS")
    return now if now is not None else peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MiB.

    Linux's VmHWM starts afresh at exec; ru_maxrss would include the parent's peak when
    this runner is started from a process that holds the data.
    """
    peak_hwm = _proc_status_mb("VmHWM")
    if peak_hwm is not None:
        return peak_hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024.0 * 1024.0) if sys.platform == "darwin" else peak / 1024.0


def load_spec(path: Path) -> dict[str, Any]:
    """Read and validate the table specification."""
    spec: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    for key in ("index", "columns"):
        if isinstance(spec.get(key), str):
            spec[key] = [spec[key]]
        if not spec.get(key) or not all(isinstance(x, str) for x in spec[key]):
            raise ValueError(f"spec[{key!r}] must be a non-empty list of column names")
    spec.setdefault("values", None)
    spec.setdefault("aggfunc", None)
    spec.setdefault("margins", False)
    spec.setdefault("repeat", 3)
    spec.setdefault("config", {})
    if (spec["values"] is None) != (spec["aggfunc"] is None):
        raise ValueError("spec 'values' and 'aggfunc' must be given together")
    if spec["aggfunc"] is not None and not isinstance(spec["aggfunc"], str):
        raise ValueError("spec 'aggfunc' must be a single string (lists are not supported)")
    if int(spec["repeat"]) < 1:
        raise ValueError("spec 'repeat' must be at least 1")
    return spec


def _label(value: Any) -> str | None:
    """A table label as a string; missing labels (ACRO keeps NaN groups) become None."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return str(value)


def _labels(key: Any, nlevels: int) -> list[str | None]:
    """Labels of one index/column entry as a list with one item per level."""
    parts = key if nlevels > 1 else (key,)
    return [_label(part) for part in parts]


def _number(value: Any) -> float | None:
    """A cell value as a JSON-safe float (None for NaN/missing)."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(number) or math.isinf(number) else number


def _aligned(mask: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """Align a check mask to the published table, converting it as ACRO does.

    ACRO's ``collate_risk_assessments`` turns every mask into booleans with
    ``fillna(1).astype(bool)``; the same conversion is applied here so that the
    exported masks match the ``outcome`` ACRO shows to output checkers.
    """
    if not (mask.index.equals(table.index) and mask.columns.equals(table.columns)):
        mask = mask.reindex(index=table.index, columns=table.columns)
    return mask.fillna(value=1).astype(bool)


def extract_cells(
    table: pd.DataFrame, outcome: pd.DataFrame, results: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Build the per-cell records and the per-check metadata."""
    outcomes: dict[str, pd.DataFrame] = {}
    raw: dict[str, pd.DataFrame] = {}
    check_status: dict[str, dict[str, str]] = {}
    for analysis, checks in results.items():
        check_status[analysis] = dict(checks.fair_dict.get("check_status", {}))
        for name, mask in checks.outcomes.items():
            if name in outcomes or not isinstance(mask, pd.DataFrame):
                continue
            outcomes[name] = _aligned(mask, table)
            raw[name] = mask

    statuses = {name: s for per in check_status.values() for name, s in per.items()}
    negative_mode = any(statuses.get(name) == "review" for name in DOMINANCE_CHECKS)
    dominance_ran = any(name in outcomes for name in DOMINANCE_CHECKS)
    negative_mask: pd.DataFrame | None = None
    if dominance_ran:
        source = next(name for name in DOMINANCE_CHECKS if name in outcomes)
        negative_mask = (
            outcomes[source]
            if negative_mode
            else pd.DataFrame(False, index=table.index, columns=table.columns)
        )

    dof = raw.get("MinimumDoFCheck")
    if dof is not None:
        dof = dof.reindex(index=table.index, columns=table.columns)
    outcome = outcome.reindex(index=table.index, columns=table.columns)

    cells: list[dict[str, Any]] = []
    n_index, n_columns = table.index.nlevels, table.columns.nlevels
    for col_pos, col_key in enumerate(table.columns):
        col_labels = _labels(col_key, n_columns)
        for row_pos, row_key in enumerate(table.index):
            masks = {
                MASK_NAMES.get(name, name): bool(mask.iat[row_pos, col_pos])
                for name, mask in outcomes.items()
            }
            if negative_mask is not None:
                masks["negative"] = bool(negative_mask.iat[row_pos, col_pos])
            cell: dict[str, Any] = {
                "index": _labels(row_key, n_index),
                "columns": col_labels,
                "value": _number(table.iat[row_pos, col_pos]),
                "masks": masks,
                "outcome": str(outcome.iat[row_pos, col_pos]).strip(),
            }
            if dof is not None:
                cell["dof"] = _number(dof.iat[row_pos, col_pos])
            cells.append(cell)

    meta = {
        "check_status": check_status,
        "checks_run": list(outcomes),
        "mask_names": {name: MASK_NAMES.get(name, name) for name in outcomes},
        "dominance_replaced_by_negative": negative_mode,
    }
    return cells, meta


def run(data: Path, spec: dict[str, Any]) -> dict[str, Any]:
    """Load the data, time the ACRO calls and collect the decisions."""
    wanted = [*spec["index"], *spec["columns"]]
    if spec["values"] is not None:
        wanted.append(spec["values"])
    load_start = time.perf_counter()
    frame = pd.read_parquet(data, columns=list(dict.fromkeys(wanted)))
    load_seconds = time.perf_counter() - load_start
    gc.collect()
    baseline_rss = rss_now_mb()
    baseline_peak = peak_rss_mb()

    capture = _Capture()
    capture.install()
    index = [frame[name] for name in spec["index"]]
    columns = [frame[name] for name in spec["columns"]]
    values = frame[spec["values"]] if spec["values"] is not None else None

    timings: list[float] = []
    init_timings: list[float] = []
    session: Any = None
    table: pd.DataFrame | None = None
    sink = io.StringIO()
    for _ in range(int(spec["repeat"])):
        session = table = None
        gc.collect()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            start = time.perf_counter()
            session = acro.ACRO(suppress=False)
            session.config.update(spec["config"])  # the checks read this same dict
            built = time.perf_counter()
            table = session.crosstab(
                index=index,
                columns=columns,
                values=values,
                aggfunc=spec["aggfunc"],
                margins=bool(spec["margins"]),
            )
            done = time.perf_counter()
        init_timings.append(built - start)
        timings.append(done - built)
        sink.seek(0)
        sink.truncate()
    peak_rss = peak_rss_mb()

    assert session is not None and table is not None and capture.results is not None
    record = session.results.get(f"output_{session.results.output_id - 1}")
    cells, meta = extract_cells(table, record.outcome, capture.results)
    return {
        "spec": spec,
        "n_rows": len(frame),
        "load_seconds": load_seconds,
        "timings": timings,
        "init_timings": init_timings,
        "baseline_rss_mb": baseline_rss,
        "baseline_peak_rss_mb": baseline_peak,
        "peak_rss_mb": peak_rss,
        "acro_version": _version("acro"),
        "pandas_version": pd.__version__,
        "python_version": sys.version.split()[0],
        "status": record.status,
        "summary": record.summary,
        "sdc_summary": record.sdc.get("summary", {}),
        "table_shape": list(table.shape),
        **meta,
        "cells": cells,
    }


def _version(package: str) -> str:
    """Installed distribution version of ``package``."""
    from importlib.metadata import version

    return version(package)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="input .parquet file")
    parser.add_argument("--spec", type=Path, required=True, help="table spec .json")
    parser.add_argument("--out", type=Path, required=True, help="output .json file")
    args = parser.parse_args(argv)

    spec = load_spec(args.spec)
    if spec["aggfunc"] is not None and spec["aggfunc"] not in ALLOWED_AGGFUNCS:
        # Still run it: how ACRO reacts to other names is itself a result.
        print(f"note: aggfunc {spec['aggfunc']!r} is not one ACRO maps", file=sys.stderr)
    try:
        result = run(args.data, spec)
        code = 0
    except Exception as exc:  # any ACRO failure is reported as data, not a crash
        result = {
            "spec": spec,
            "acro_version": _version("acro"),
            "pandas_version": pd.__version__,
            "error": {
                "type": type(exc).__name__,
                "message": str(exc),
                "traceback": traceback.format_exc(),
            },
        }
        code = 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
