"""Time ACRO's regression commands (``olsr``, ``logitr``) on a parquet file and report as JSON.

ACRO 1.0.2 pins ``pandas<=2.3.3`` and so lives in its own virtual environment (see
``setup_acro_venv.sh``); ``benchmarks/bench_regression.py`` runs this script with that
venv's interpreter as a subprocess and reads the JSON it writes, so it imports nothing
from sdc-engine.

Usage::

    benchmarks/.venv-acro/bin/python benchmarks/peers/acro_regression_runner.py \\
        --data FILE.parquet --ols "cost ~ age + C(region) + C(group)" \\
        --logit "died ~ age + C(region) + C(group)" --repeat 3 --out OUT.json

Loading the parquet is not timed. For each model one untimed warm-up call, then
``--repeat`` repetitions of: a fresh ``acro.ACRO(suppress=False)`` (timed apart as
``init_timings``), then ``session.olsr(formula, data)`` / ``session.logitr(formula, data)``
(``timings``: the fit and ACRO's check as ACRO runs them: evidence, the dof check, the
statsmodels summary tables turned into DataFrames, the record). ``fit_timings`` are the
same statsmodels fits without ACRO (``smf.ols(...).fit()``, ``smf.logit(...).fit(disp=0)``)
in this venv, so ACRO's own share is their difference. Status and summary come from the
last repetition's record. On an ACRO exception the JSON holds ``"error"`` and the exit
code is 2.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import logging
import os
import sys
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")  # acro imports pyplot; never open a display
logging.disable(logging.CRITICAL)  # acro configures INFO logging on import
warnings.simplefilter("ignore")

import acro  # noqa: E402
import pandas as pd  # noqa: E402
import statsmodels  # noqa: E402
import statsmodels.formula.api as smf  # noqa: E402

#: Our model name -> (ACRO's formula command, the plain statsmodels fit).
MODELS: dict[str, tuple[str, Callable[[str, pd.DataFrame], Any]]] = {
    "ols": ("olsr", lambda f, d: smf.ols(f, data=d).fit()),
    "logit": ("logitr", lambda f, d: smf.logit(f, data=d).fit(disp=0)),
}


def _quiet() -> contextlib.ExitStack:
    """Swallow what ACRO and statsmodels print (``logitr`` fits with ``disp=True``)."""
    stack = contextlib.ExitStack()
    sink = io.StringIO()
    stack.enter_context(contextlib.redirect_stdout(sink))
    stack.enter_context(contextlib.redirect_stderr(sink))
    return stack


def _acro_call(command: str, formula: str, frame: pd.DataFrame) -> tuple[float, float, Any]:
    """One fresh session and one regression: (init seconds, call seconds, the record)."""
    with _quiet():
        start = time.perf_counter()
        session = acro.ACRO(suppress=False)
        built = time.perf_counter()
        getattr(session, command)(formula, frame)
        done = time.perf_counter()
    record = session.results.get(f"output_{session.results.output_id - 1}")
    return built - start, done - built, record


def _fit_alone(fit: Callable[[str, pd.DataFrame], Any], formula: str, frame: pd.DataFrame) -> float:
    with _quiet():
        start = time.perf_counter()
        fit(formula, frame)
        return time.perf_counter() - start


def run_model(name: str, formula: str, frame: pd.DataFrame, repeat: int) -> dict[str, Any]:
    """Warm-up, then ``repeat`` timed ACRO calls and plain fits, alternated."""
    command, fit = MODELS[name]
    _acro_call(command, formula, frame)  # warm-up: imports, first-call caches
    timings: list[float] = []
    init_timings: list[float] = []
    fit_timings: list[float] = []
    record: Any = None
    for _ in range(repeat):
        gc.collect()
        init_s, call_s, record = _acro_call(command, formula, frame)
        init_timings.append(init_s)
        timings.append(call_s)
        gc.collect()
        fit_timings.append(_fit_alone(fit, formula, frame))
    return {
        "command": command,
        "formula": formula,
        "timings": timings,
        "init_timings": init_timings,
        "fit_timings": fit_timings,
        "status": record.status,
        "summary": record.summary,
        "dof": _number(record.properties.get("dof")),
    }


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="input .parquet file")
    parser.add_argument("--ols", default=None, help="formula for olsr")
    parser.add_argument("--logit", default=None, help="formula for logitr")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--out", type=Path, required=True, help="output .json file")
    args = parser.parse_args(argv)

    result: dict[str, Any] = {
        "acro_version": _version("acro"),
        "pandas_version": pd.__version__,
        "statsmodels_version": statsmodels.__version__,
        "python_version": sys.version.split()[0],
        "repeat": args.repeat,
    }
    code = 0
    try:
        start = time.perf_counter()
        frame = pd.read_parquet(args.data)
        result["load_seconds"] = time.perf_counter() - start
        result["n_rows"] = len(frame)
        formulas = {"ols": args.ols, "logit": args.logit}
        result["models"] = {
            name: run_model(name, formula, frame, args.repeat)
            for name, formula in formulas.items()
            if formula
        }
    except Exception as exc:  # any ACRO failure is reported as data, not a crash
        result["error"] = {
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": traceback.format_exc(),
        }
        code = 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, allow_nan=False) + "\n", encoding="utf-8")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
