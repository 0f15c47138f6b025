"""Data for the differencing tests: a cohort built so that each example of the issue
gives a small group away, and helpers that read findings.

Every count a test compares with is computed here with pandas on the data, never
by the engine.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

import numpy as np
import pandas as pd

from sdc.differencing.result import DifferencingResult, Finding


def cohort(seed: int = 0, n: int = 4000) -> pd.DataFrame:
    """Patients: region (4), practice (3 per region, one practice of N tiny), sex, age
    0-99 with few people over 90, smoker, and a cost. Index 0..n-1, as read from a file."""
    rng = np.random.default_rng(seed)
    region = rng.choice(list("NESW"), n)
    practice = np.array([f"{r}{k}" for r, k in zip(region, rng.integers(1, 4, n), strict=True)])
    practice[region == "N"] = np.where(rng.random(int((region == "N").sum())) < 0.003, "N9",
                                       practice[region == "N"])  # fmt: skip
    age = np.where(rng.random(n) < 0.01, rng.integers(91, 100, n), rng.integers(0, 90, n))
    return pd.DataFrame({
        "region": region,
        "practice": practice,
        "sex": rng.choice(["F", "M"], n),
        "age": age,
        "smoker": (rng.random(n) < 0.002).astype(int),
        "cost": np.round(rng.gamma(2.0, 100.0, n), 2),
    })  # fmt: skip


def small_region_sex() -> pd.DataFrame:
    """Region x sex with two cells of 3 (E,F and W,M) and everything else large."""
    rows = []
    for region, nf, nm in (("N", 40, 35), ("E", 3, 30), ("S", 50, 45), ("W", 30, 3)):
        rows += [(region, "F")] * nf + [(region, "M")] * nm
    df = pd.DataFrame(rows, columns=["region", "sex"])
    df["age"] = np.arange(len(df)) % 80 + 10.0
    return df


def groups_of(result: DifferencingResult | dict[str, Any]) -> list[tuple[str, int | None]]:
    """(group, records) of every finding of a result or a report section."""
    if isinstance(result, dict):
        return [(f["group"], f["records"]) for f in result["findings"]]
    return [(f.group, f.records) for f in result.findings]


def combination_value(finding: Finding, tables: dict[str, pd.Series]) -> Fraction:
    """The finding's combination evaluated on released numbers computed by pandas:
    ``tables[output]`` is a Series indexed by the cell's label text (``"k=v, ..."``)."""
    total = Fraction(0)
    for output, cell, coef in finding.combination:
        key = ", ".join(f"{k}={v}" for k, v in cell.items())
        total += coef * int(tables[output][key])
    return total


def counts_by(df: pd.DataFrame, columns: list[str], margins: bool = False) -> pd.Series:
    """Record counts per cell, keyed as ``combination_value`` reads them."""
    out = {}
    for key, n in df.groupby(columns).size().items():
        key = key if isinstance(key, tuple) else (key,)
        out[", ".join(f"{c}={v}" for c, v in zip(columns, key, strict=True))] = int(n)
    if margins:
        for i, col in enumerate(columns):
            rest = [c for j, c in enumerate(columns) if j != i]
            grouped = df.groupby(rest).size().items() if rest else [((), len(df))]
            for key, n in grouped:
                key = key if isinstance(key, tuple) else (key,)
                labels = dict(zip(rest, key, strict=True))
                labels[col] = "All"
                text = ", ".join(f"{c}={labels[c]}" for c in columns)
                out[text] = int(n)
        out[", ".join(f"{c}=All" for c in columns)] = len(df)
    return pd.Series(out)
