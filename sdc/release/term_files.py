"""Files of the outputs that are not tables: regression and survival tables, at the gate.

``finalise`` writes each as a CSV (what leaves) and an evidence JSON (what the
gate re-checks; it stays inside the TRE). The gate reads both back, checks that
they agree with each other, and re-applies its own rules:

- a **regression** CSV holds one row per parameter and only per-parameter
  columns (:data:`sdc.regression.output.COEFFICIENT_COLUMNS`); a column of residuals,
  fitted values, leverage or any other row-level quantity is refused. Its
  ``term`` column must be the evidence's terms, in order (and its ``equation``
  column the evidence's equations): a coefficient table cannot carry other rows.
  Its evidence holds n, the residual degrees of freedom, the parameters and the
  per-level counts;
- a **survival** CSV holds the pooled steps (:data:`sdc.regression.survival.TABLE_COLUMNS`);
  its evidence holds each group's records, events and largest follow-up. The
  steps must start at 0, follow on from each other, end open, add up to the
  group's records and events, never start at the largest follow-up time, and
  fall monotonically within [0, 1].

Both files must be, byte for byte, the canonical serialisation
(:mod:`sdc.canonical`) of the values read from them. Coefficients and survival
values cannot be re-derived from the evidence: they are as trustworthy as the
request's signature.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
import pandas as pd

from sdc._text import lookalikes, printable, refused_characters
from sdc.canonical import first_difference, frame_csv, parse_number, read_csv, read_text
from sdc.exceptions import SdcInputError
from sdc.regression.output import (
    COEFFICIENT_COLUMNS,
    TEXT_COLUMNS,
    RegressionOutput,
    evidence_from_dict,
)
from sdc.regression.survival import INTEGER_COLUMNS, TABLE_COLUMNS, GroupTotals, SurvivalOutput
from sdc.regression.survival import evidence_from_dict as survival_evidence_from_dict
from sdc.release.manifest import OutputEntry
from sdc.ruleset import RuleSet

#: Column names that hold one value per record: never part of a released model.
ROW_LEVEL = re.compile(r"resid|fitted|predict|leverage|hat|cook|influence|dfbeta|weight|obs",
                       re.IGNORECASE)  # fmt: skip


def _frame(data: bytes, max_cells: int, what: str) -> tuple[pd.DataFrame, list[str]]:
    """The file as a frame of texts (apostrophe escapes removed), or why it cannot be read."""
    try:
        rows = read_csv(data, max_cells)
    except SdcInputError as exc:
        return pd.DataFrame(), [f"the {what} is not a released CSV file: {exc}"]
    header = [read_text(h) for h in rows[0]]
    ragged = next((i for i, r in enumerate(rows[1:], 2) if len(r) != len(header)), None)
    if ragged is not None:
        return pd.DataFrame(), [f"line {ragged} of the {what} has another number of fields "
                                "than its header"]  # fmt: skip
    body = [[read_text(f) for f in r] for r in rows[1:]]
    return pd.DataFrame(body, columns=header, dtype=object), []


def _names_problems(names: list[str], what: str) -> tuple[list[str], list[str]]:
    """(refusals, look-alikes) among text labels of a released file."""
    refused = [
        f"{what} {printable(t)!r} holds control or format character(s) "
        f"{', '.join(refused_characters(t))}"
        for t in dict.fromkeys(names)
        if refused_characters(t)
    ]
    alike = [f"{a}: a person must check that they are what they seem" for a in lookalikes(names)]
    return refused[:5], alike


def _canonical(frame: pd.DataFrame, data: bytes, text: tuple[str, ...],
               integer: tuple[str, ...], what: str) -> list[str]:  # fmt: skip
    line = first_difference(frame_csv(frame, text=text, integer=integer), data)
    if line is None:
        return []
    return [f"line {line} of the {what} is not in the one serialisation of its values "
            "(quoting, number spelling, line ends, or bytes after the last row): the file "
            "must equal it byte for byte"]  # fmt: skip


def _numbers(frame: pd.DataFrame, columns: list[str], integer: tuple[str, ...],
             what: str) -> tuple[pd.DataFrame, list[str]]:  # fmt: skip
    out = frame.copy()
    for c in columns:
        values = []
        for line, text in enumerate(frame[c], 2):
            try:
                x = parse_number(text, c in integer)
            except SdcInputError:
                return out, [f"line {line} of the {what}: column {c!r} holds a value that is "
                             "not a number in its one spelling"]  # fmt: skip
            values.append(np.nan if x is None else x)
        out[c] = np.asarray(values, dtype=np.float64)
    return out, []


def check_regression(
    entry: OutputEntry, data: bytes, evidence: Any, ruleset: RuleSet, max_cells: int
) -> RegressionOutput:
    """A regression output rebuilt from its CSV and evidence, with what disagrees."""
    ev = evidence_from_dict(evidence)
    frame, problems = _frame(data, max_cells, "coefficient table")
    if ev.model != entry.statistic:
        problems.append(f"the manifest names model {entry.statistic!r}, the evidence "
                        f"{ev.model!r}")  # fmt: skip
    refused, alike = _names_problems([*ev.terms, *ev.equations], "the term")
    problems += refused
    released = frame
    if not problems:
        cols = list(frame.columns)
        row_level = [c for c in cols if c not in COEFFICIENT_COLUMNS and ROW_LEVEL.search(c)]
        unknown = [c for c in cols if c not in COEFFICIENT_COLUMNS and c not in row_level]
        if row_level:
            problems.append(f"column(s) {row_level} hold row-level quantities (residuals, "
                            "fitted values, leverage, ...), which are never released")  # fmt: skip
        if unknown:
            problems.append(f"column(s) {[printable(c) for c in unknown]} are not coefficient "
                            f"statistics; allowed: {list(COEFFICIENT_COLUMNS)}")  # fmt: skip
        order = [c for c in COEFFICIENT_COLUMNS if c in cols]
        if not cols or cols[0] != "term" or "coef" not in cols or (not unknown and cols != order):
            problems.append("a coefficient table starts with a 'term' column, has a 'coef' "
                            f"column, and keeps the order {list(COEFFICIENT_COLUMNS)}")  # fmt: skip
        if len(frame) != ev.n_params:
            problems.append(f"the table has {len(frame)} rows; the model has {ev.n_params} "
                            "parameters")  # fmt: skip
    if not problems:
        problems += _term_problems(frame, ev.terms, ev.equations)
    if not problems:
        numeric = [c for c in frame.columns if c not in TEXT_COLUMNS]
        released, bad = _numbers(frame, numeric, (), "coefficient table")
        problems += bad or _canonical(released, data, TEXT_COLUMNS, (), "coefficient table")
    return RegressionOutput.from_files(entry.name, ev, released, ruleset, tuple(problems),
                                       tuple(alike))  # fmt: skip


def _term_problems(frame: pd.DataFrame, terms: tuple[str, ...],
                   equations: tuple[str, ...]) -> list[str]:  # fmt: skip
    """The rows must be the evidence's parameters: each term once per equation, in order."""
    n_eq = max(len(equations), 1)
    if list(frame["term"]) != list(terms) * n_eq:
        return ["the 'term' column is not the model's list of parameters (as its evidence "
                "records them): a coefficient table holds one row per parameter and nothing "
                "else"]  # fmt: skip
    has_equation = "equation" in frame.columns
    if has_equation != bool(equations):
        return ["an 'equation' column belongs to a multinomial model, and only to one"]
    if equations and list(frame["equation"]) != [e for e in equations for _ in terms]:
        return ["the 'equation' column is not the model's list of equations"]
    return []


def check_survival(
    entry: OutputEntry, data: bytes, evidence: Any, ruleset: RuleSet, max_cells: int
) -> SurvivalOutput:
    """A survival output rebuilt from its CSV and evidence, with what disagrees."""
    ev = survival_evidence_from_dict(evidence)
    totals = list(ev.groups)
    frame, problems = _frame(data, max_cells, "survival table")
    refused, alike = _names_problems([g.value for g in totals], "the group")
    problems += refused
    if not problems and list(frame.columns) != list(TABLE_COLUMNS):
        extra = [printable(c) for c in frame.columns if c not in TABLE_COLUMNS]
        hint = (
            f"; {extra} are not released (standard errors, intervals and raw event times "
            "would show how events are spread inside a step)"
            if extra else ""
        )  # fmt: skip
        problems.append(f"the survival table must have the columns {list(TABLE_COLUMNS)}"
                        f"{hint}")  # fmt: skip
    table = frame
    if not problems:
        table, problems = _numbers(frame, list(TABLE_COLUMNS[1:]), INTEGER_COLUMNS,
                                   "survival table")  # fmt: skip
    if not problems:
        needed = table[[c for c in TABLE_COLUMNS[1:] if c != "end"]].to_numpy(dtype=np.float64)
        if not np.isfinite(needed).all() or np.isinf(table["end"].to_numpy(np.float64)).any():
            problems.append("the survival table has a missing or infinite number where one "
                            "is needed (only a group's last step has no end)")  # fmt: skip
    if not problems:
        problems += _canonical(table, data, ("group",), INTEGER_COLUMNS, "survival table")
        problems += survival_problems(table, totals)
    if problems:
        table = pd.DataFrame({c: [] for c in TABLE_COLUMNS})
    return SurvivalOutput.from_files(entry.name, ev, table, ruleset, tuple(problems),
                                     tuple(alike))  # fmt: skip


def survival_problems(table: pd.DataFrame, totals: list[GroupTotals]) -> list[str]:
    """Why the released steps disagree with the evidence or show what they must not.

    Messages name the group and the check, never a count or a time.
    """
    by_value = {g.value: g for g in totals}
    values = table["group"].astype(str)
    problems = []
    order = list(dict.fromkeys(values))
    if [v for v in values] != [v for v in order for _ in range(int((values == v).sum()))]:
        problems.append("the steps of each group must be consecutive rows")
    for v in order:
        g = by_value.get(v)
        where = f"group {printable(v)!r}"
        if g is None:
            problems.append(f"{where} is not in the evidence")
            continue
        f = table[values == v]
        start, end = f["start"].to_numpy(), f["end"].to_numpy()
        at_risk, events = f["at_risk"].to_numpy(), f["events"].to_numpy()
        censored, surv = f["censored"].to_numpy(), f["survival"].to_numpy()
        counts = np.concatenate((at_risk, events, censored))
        if (counts < 0).any():
            problems.append(f"{where}: at_risk, events and censored must be counts")
            continue
        if list(f["step"]) != list(range(1, len(f) + 1)):
            problems.append(f"{where}: steps must be numbered 1, 2, ... in order")
        if start[0] != 0:
            problems.append(f"{where}: the first step must start at 0 (the smallest follow-up "
                            "time is not released)")  # fmt: skip
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
            problems.append(f"{where}: the records and events of its steps differ from its "
                            "evidence")  # fmt: skip
        following = at_risk[:-1] - events[:-1] - censored[:-1]
        if (following != at_risk[1:]).any() or at_risk[-1] != events[-1] + censored[-1]:
            problems.append(f"{where}: the records at risk do not follow from the events and "
                            "censored records of the steps before")  # fmt: skip
        if ((surv < 0) | (surv > 1)).any() or (np.diff(surv) > 0).any():
            problems.append(f"{where}: survival must fall from 1 towards 0")
    return problems
