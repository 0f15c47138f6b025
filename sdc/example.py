"""The bundled example: synthetic hospital-cost microdata, two tables, their verdicts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sdc.session import Session


def example_microdata() -> pd.DataFrame:
    """Synthetic records (one row per hospital visit): patient_id, region, sex, ageband, cost.

    Examples
    --------
    >>> example_microdata().shape
    (3329, 5)
    """
    path = Path(__file__).parent / "data" / "example_microdata.csv"
    text = {c: str for c in ("patient_id", "region", "sex", "ageband")}
    return pd.read_csv(path, dtype=text)


def run_example(rules: str = "default") -> Session:
    """Make a frequency table and a magnitude table from the example data, checked."""
    df = example_microdata()
    s = Session(rules=rules)
    s.crosstab(df.region, df.sex, name="visits_by_region_sex")
    s.pivot_table(
        df, index="region", columns="sex", values="cost", aggfunc="mean",
        contributor="patient_id", name="mean_cost_by_region_sex",
    )  # fmt: skip
    return s
