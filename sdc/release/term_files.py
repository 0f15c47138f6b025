"""Files of the outputs that are not tables: regression and survival tables.

``finalise`` writes each as a CSV (what leaves) and an evidence JSON (what the
gate re-checks; it stays inside the TRE). The gate reads both back, checks that
they agree with each other, and re-applies its own rules:

- a **regression** CSV holds one row per parameter and only per-parameter
  columns (:data:`sdc.regression.output.COEFFICIENT_COLUMNS`); a column of residuals,
  fitted values, leverage or any other row-level quantity is refused, as is a
  row count other than the model's number of parameters. Its evidence holds n,
  the residual degrees of freedom, the parameters and the per-level counts;
- a **survival** CSV holds the pooled steps (:data:`sdc.regression.survival.TABLE_COLUMNS`);
  its evidence holds each group's records, events, largest follow-up and the events
  at each step's start, and the time grid (read by :mod:`sdc.regression.survival`). The
  steps must start at 0, follow on from each other, end open, add up to the
  group's records and events, never start at the largest follow-up time, and
  fall monotonically within [0, 1].
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdc.exceptions import SdcInputError
from sdc.regression.output import COEFFICIENT_COLUMNS, RegressionOutput, evidence_from_dict
from sdc.regression.survival import TABLE_COLUMNS, GroupTotals, SurvivalOutput
from sdc.regression.survival import evidence_from_dict as survival_evidence_from_dict
from sdc.release.bundle import read_evidence_json, read_table_csv
from sdc.ruleset import RuleSet

#: Column names that hold one value per record: never part of a released model.
ROW_LEVEL = re.compile(r"resid|fitted|predict|leverage|hat|cook|influence|dfbeta|weight|obs",
                       re.IGNORECASE)  # fmt: skip


def read_regression(folder: Path, entry: dict[str, Any], ruleset: RuleSet) -> RegressionOutput:
    """A regression output rebuilt from its CSV and evidence, with what disagrees."""
    ev = evidence_from_dict(read_evidence_json(folder / entry["evidence"]))
    frame = read_table_csv(folder / entry["file"])
    problems = []
    if ev.model != entry["statistic"]:
        problems.append(f"the manifest names model {entry['statistic']!r}, the evidence "
                        f"{ev.model!r}")  # fmt: skip
    cols = list(frame.columns)
    row_level = [c for c in cols if c not in COEFFICIENT_COLUMNS and ROW_LEVEL.search(c)]
    unknown = [c for c in cols if c not in COEFFICIENT_COLUMNS and c not in row_level]
    if row_level:
        problems.append(f"column(s) {row_level} hold row-level quantities (residuals, fitted "
                        "values, leverage, ...), which are never released")  # fmt: skip
    if unknown:
        problems.append(f"column(s) {unknown} are not coefficient statistics; allowed: "
                        f"{list(COEFFICIENT_COLUMNS)}")  # fmt: skip
    if not cols or cols[0] != "term" or "coef" not in cols:
        problems.append("a coefficient table starts with a 'term' column and has a 'coef' column")
    if len(frame) != ev.n_params:
        problems.append(f"the table has {len(frame)} rows; the model has {ev.n_params} "
                        "parameters")  # fmt: skip
    numbers = [c for c in cols if c in COEFFICIENT_COLUMNS and c not in ("term", "equation")]
    released = frame.copy()
    for c in numbers:
        values = pd.to_numeric(frame[c].replace("", "nan"), errors="coerce")
        text = frame[c][values.isna() & ~frame[c].str.lower().isin(["", "nan"])]
        if len(text):
            problems.append(f"column {c!r} holds {text.iloc[0]!r}, which is not a number")
        released[c] = values
    return RegressionOutput.from_files(entry["name"], ev, released, ruleset, tuple(problems))


def read_survival(folder: Path, entry: dict[str, Any], ruleset: RuleSet) -> SurvivalOutput:
    """A survival output rebuilt from its CSV and evidence, with what disagrees."""
    evidence = survival_evidence_from_dict(read_evidence_json(folder / entry["evidence"]))
    frame = read_table_csv(folder / entry["file"])
    if list(frame.columns) != list(TABLE_COLUMNS):
        extra = [c for c in frame.columns if c not in TABLE_COLUMNS]
        hint = (
            f"; {extra} are not released (standard errors, intervals and raw event times "
            "would show how events are spread inside a step)"
            if extra else ""
        )  # fmt: skip
        raise SdcInputError(f"survival table file {entry['file']!r} must have the columns "
                            f"{list(TABLE_COLUMNS)}; got {list(frame.columns)}{hint}.")  # fmt: skip
    table = frame.copy()
    for c in TABLE_COLUMNS[1:]:
        optional = c == "end"
        values = pd.to_numeric(frame[c].replace("", "nan"), errors="coerce")
        bad = values.isna() & (frame[c] != "" if optional else True)
        if bad.any() or not np.isfinite(values.fillna(0)).all():
            raise SdcInputError(f"survival table file {entry['file']!r}: column {c!r} holds "
                                f"{frame[c][bad].iloc[0] if bad.any() else 'inf'!r}, "
                                "which is not a finite number.")  # fmt: skip
        table[c] = values
    problems = _survival_problems(table, list(evidence.groups))
    return SurvivalOutput.from_files(entry["name"], evidence, table, ruleset, tuple(problems))


def _survival_problems(table: pd.DataFrame, totals: list[GroupTotals]) -> list[str]:
    """Why the released steps disagree with the evidence or show what they must not."""
    by_value = {g.value: g for g in totals}
    values = table["group"].astype(str)
    problems = []
    order = list(dict.fromkeys(values))
    if [v for v in values] != [v for v in order for _ in range(int((values == v).sum()))]:
        problems.append("the steps of each group must be consecutive rows")
    for v in order:
        g = by_value.get(v)
        if g is None:
            problems.append(f"group {v!r} is not in the evidence")
            continue
        f = table[values == v]
        where = f"group {v!r}"
        start, end = f["start"].to_numpy(), f["end"].to_numpy()
        at_risk, events = f["at_risk"].to_numpy(), f["events"].to_numpy()
        censored, surv = f["censored"].to_numpy(), f["survival"].to_numpy()
        counts = np.concatenate((at_risk, events, censored))
        if (counts < 0).any() or (counts != np.round(counts)).any():
            problems.append(f"{where}: at_risk, events and censored must be counts")
            continue
        if list(f["step"]) != list(range(1, len(f) + 1)):
            problems.append(f"{where}: steps must be numbered 1, 2, ... in order")
        if start[0] != 0:
            problems.append(f"{where}: the first step must start at 0, not {start[0]:g} (the "
                            "smallest follow-up time is not released)")  # fmt: skip
        if not np.isnan(end[-1]) or np.isnan(end[:-1]).any() or (end[:-1] != start[1:]).any():
            problems.append(
                f"{where}: each step must end where the next starts, and the last must be "
                "open (the largest follow-up time is not released)"
            )
        if (np.diff(start) <= 0).any():
            problems.append(f"{where}: step starts must increase")
        if (start >= g.max_duration).any() and len(start) > 1:
            problems.append(f"{where}: a step starts at the largest follow-up time, which must "
                            "not be released")  # fmt: skip
        if at_risk[0] != g.records or events.sum() != g.events:
            problems.append(f"{where}: the steps hold {int(at_risk[0])} records and "
                            f"{int(events.sum())} events; the evidence {g.records} and "
                            f"{g.events}")  # fmt: skip
        following = at_risk[:-1] - events[:-1] - censored[:-1]
        if (following != at_risk[1:]).any() or at_risk[-1] != events[-1] + censored[-1]:
            problems.append(f"{where}: the records at risk do not follow from the events and "
                            "censored records of the steps before")  # fmt: skip
        if ((surv < 0) | (surv > 1)).any() or (np.diff(surv) > 0).any():
            problems.append(f"{where}: survival must fall from 1 towards 0")
    return problems
