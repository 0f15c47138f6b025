"""A released table re-checked at the gate: its file against its evidence, then the rules.

What holds for a table to pass:

- its statistic is bound to its kind and to the kind of its evidence: a frequency
  table publishes ``count`` or ``histogram`` from evidence without values; a
  magnitude table publishes a statistic of a values column from evidence with
  values. A count table relabelled as ``std`` or ``p50`` fails;
- its labels (and names) hold no control or format characters; labels that look
  alike (mixed alphabets, equal after NFKC normalisation) send it to review;
- its file has one row per published cell, in the evidence's order, and every
  published value equals the value the evidence gives (counts, sums, means,
  minima and maxima, rounded as recorded). Medians, percentiles, standard
  deviations, variances and modes cannot be re-derived from the evidence: they
  must lie within their cell's range, and are otherwise only as trustworthy as
  the request's signature (or the data they are recomputed from);
- the file's bytes equal the canonical serialisation (:mod:`sdc.canonical`) of
  the checked values, with the file's suppression pattern;
- the operator's rules pass on the evidence and on the released pattern
  (secondary suppression is audited where margins are published).

Messages name lines and cells, never a released or evidence value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sdc._text import printable, refused_characters
from sdc.canonical import first_difference, label_text, parse_number, read_csv
from sdc.exceptions import SdcEvidenceError, SdcInputError
from sdc.kernels.layout import EVIDENCE_COUNT_FIELDS, EVIDENCE_FLOAT_FIELDS
from sdc.release.manifest import OutputEntry
from sdc.rules.statistic import quantile_of
from sdc.ruleset import RuleSet
from sdc.tables.check import check_evidence
from sdc.tables.evidence import TableEvidence
from sdc.tables.labels import table_csv
from sdc.tables.model import TOTAL_LABEL
from sdc.tables.output import TableOutput
from sdc.tables.protect import Release, assess, audit_pattern
from sdc.tables.statistics import COUNTS, from_evidence
from sdc.verdict import Status

#: Statistics whose every value the evidence gives.
DERIVED = frozenset({*COUNTS, "sum", "mean", "min", "max"})
#: Statistics a magnitude table may publish (besides percentiles ``p1`` .. ``p99``): its
#: records (``count``, as ``describe`` publishes them) or a statistic of its values.
MAGNITUDE = frozenset({"count", "sum", "mean", "min", "max", "median", "std", "var", "mode"})


def statistic_problem(kind: str, statistic: str, has_values: bool) -> str:
    """Why ``statistic`` cannot be what a ``kind`` with this evidence publishes ('' if it can).

    Examples
    --------
    >>> statistic_problem("frequency table", "count", False)
    ''
    >>> statistic_problem("frequency table", "std", False)
    "statistic 'std' is not one a frequency table publishes (count, histogram)"
    >>> statistic_problem("magnitude table", "p50", False)
    "a magnitude table's evidence must describe a values column; this one counts records only (a frequency table's): the table cannot be relabelled"
    """  # noqa: E501
    if kind == "frequency table":
        if statistic not in COUNTS:
            return (
                f"statistic {statistic!r} is not one a frequency table publishes (count, histogram)"
            )
        if has_values:
            return (
                "a frequency table's evidence counts records only; this one describes a values "
                "column (a magnitude table's): the table cannot be relabelled"
            )
        return ""
    if kind == "magnitude table":
        if statistic not in MAGNITUDE and quantile_of(statistic) is None:
            return (
                f"statistic {statistic!r} is not one a magnitude table publishes (count, sum, "
                "mean, median, std, var, min, max, mode, p1 .. p99)"
            )
        if not has_values:
            return (
                "a magnitude table's evidence must describe a values column; this one counts "
                "records only (a frequency table's): the table cannot be relabelled"
            )
        return ""
    return f"unknown table kind {kind!r}"


def _label_ok(x: Any) -> bool:
    if isinstance(x, float):
        return bool(np.isfinite(x))
    return isinstance(x, str | int)


def check_labels(d: Any) -> None:
    """Evidence read from a file, before anything is built from it: labels are texts, numbers
    or bools, unique within their dimension; counts are integers and sums numbers."""
    if not isinstance(d, dict):
        raise SdcEvidenceError("evidence must be a JSON object.")
    _check_arrays(d)
    dims, levels, groups = d.get("dims"), d.get("levels"), d.get("groups")
    if not (isinstance(dims, list) and all(isinstance(x, str) for x in dims)):
        raise SdcEvidenceError("evidence `dims` must be a list of names.")
    if not (isinstance(levels, list) and all(isinstance(lv, list) for lv in levels)):
        raise SdcEvidenceError("evidence `levels` must be one list of labels per dimension.")
    if not all(_label_ok(x) for lv in levels for x in lv):
        raise SdcEvidenceError("evidence labels must be texts, finite numbers or booleans.")
    ok_groups = isinstance(groups, list) and all(
        isinstance(gs, list)
        and all(
            isinstance(g, list) and len(g) == 2 and _label_ok(g[0]) and isinstance(g[1], list)
            and all(_label_ok(x) for x in g[1])
            for g in gs
        )
        for gs in groups
    )  # fmt: skip
    if not ok_groups:
        raise SdcEvidenceError("evidence `groups` must be [label, [leaves]] per dimension.")
    for d_levels, d_groups in zip(levels, groups or [], strict=False):
        texts = [label_text(x) for x in d_levels] + [label_text(g[0]) for g in d_groups]
        if len(set(texts)) != len(texts) or (d.get("margins") and TOTAL_LABEL in texts):
            raise SdcEvidenceError(
                "evidence labels must differ from each other within a dimension (and from "
                f"{TOTAL_LABEL!r} when margins are published)."
            )


_INTEGER, _NUMBER = frozenset({int}), frozenset({int, float, type(None)})


def _numbers(values: Any, integers: bool) -> bool:
    if not isinstance(values, list):
        return False
    return set(map(type, values)) <= (_INTEGER if integers else _NUMBER)


def _check_arrays(d: dict[str, Any]) -> None:
    """Counts are lists of integers; sums, extremes and largest contributions are numbers
    (or null)."""
    for name in EVIDENCE_COUNT_FIELDS:
        if not _numbers(d.get(name), integers=True):
            raise SdcEvidenceError(f"evidence `{name}` must be a list of integers.")
    for name in EVIDENCE_FLOAT_FIELDS:
        if not _numbers(d.get(name), integers=False):
            raise SdcEvidenceError(f"evidence `{name}` must hold numbers (or null).")
    top = d.get("top")
    if not isinstance(top, list) or not all(_numbers(row, integers=False) for row in top):
        raise SdcEvidenceError("evidence `top` must hold rows of numbers (or null).")


@dataclass(frozen=True)
class TableFile:
    """What the gate read from a table's released file: values (NaN = empty) per cube cell."""

    released: np.ndarray
    derived: bool


def _refused_labels(ev: TableEvidence, value_name: str) -> list[str]:
    """Names and labels holding control or format characters (look-alikes are the check's
    notes: :func:`sdc.tables.check.label_notes`)."""
    model = ev.model
    texts = [*model.dims, value_name]
    for d in range(len(model.dims)):
        texts += [label_text(x) for x in model.dim_labels(d)]
    refused = [
        f"the name or label {printable(t)!r} holds control or format character(s) "
        f"{', '.join(refused_characters(t))}"
        for t in texts
        if refused_characters(t)
    ]
    return refused[:5]


def _cell(ev: TableEvidence, cell: int) -> str:
    labels = ev.model.labels(cell)
    return "(" + ", ".join(f"{k}={printable(label_text(v))}" for k, v in labels.items()) + ")"


def read_table_file(
    data: bytes,
    ev: TableEvidence,
    entry: OutputEntry,
    max_cells: int,
    expected: np.ndarray | None,
) -> tuple[np.ndarray, list[str]]:
    """The released values per cube cell (NaN = empty) and why the file is wrong ([] if not).

    ``expected``: the value of every cell where the gate knows it (from the
    evidence, or recomputed from data); None where only the file says it.
    """
    model = ev.model
    integer = entry.statistic in COUNTS
    cells = np.flatnonzero(model.published_mask)
    try:
        rows = read_csv(data, max_cells)
    except SdcInputError as exc:
        return np.full(model.n_cells, np.nan), [f"the file is not a released CSV file: {exc}"]
    width = len(model.dims) + 1
    if len(rows) != cells.size + 1:
        return np.full(model.n_cells, np.nan), [
            f"the file has {len(rows) - 1} rows; its evidence describes {cells.size} published "
            "cells"
        ]
    released = np.full(model.n_cells, np.nan)
    problems: list[str] = []
    for line, (cell, row) in enumerate(zip(cells.tolist(), rows[1:], strict=True), 2):
        if len(row) != width:
            problems.append(f"line {line} has {len(row)} fields; a row of this table has {width}")
            break
        try:
            value = parse_number(row[-1], integer)
        except SdcInputError:
            problems.append(
                f"line {line} {_cell(ev, cell)}: the value is neither empty (suppressed) nor a "
                "number in its one spelling"
            )
            break
        if value is None:
            continue
        released[cell] = value
        if expected is not None and not (value == expected[cell]):
            problems.append(
                f"line {line} {_cell(ev, cell)}: the released value differs from the value its "
                "evidence gives: the table was changed after it was checked"
            )
            break
    if problems:
        return released, problems
    shown = np.where(np.isnan(released), np.nan, released if expected is None else expected)
    canonical = table_csv(model, shown, entry.value_name, integer)
    differs = first_difference(canonical, data)
    if differs is not None:
        where = "the header" if differs == 1 else f"line {differs}"
        if 1 < differs <= cells.size + 1:
            where += f" {_cell(ev, int(cells[differs - 2]))}"
        problems.append(
            f"{where} is not in the one serialisation of the checked values (labels, quoting, "
            "number spelling, line ends, or bytes after the last row): the file must equal "
            "it byte for byte"
        )
    return released, problems


def _range_problems(ev: TableEvidence, statistic: str, released: np.ndarray) -> list[str]:
    """Values that cannot be right for their cell, whatever the rows were."""
    shown = ~np.isnan(released)
    with np.errstate(invalid="ignore", over="ignore"):  # cells without values: inf bounds
        if statistic in ("std", "var"):
            span = ev.max - ev.min
            limit = span if statistic == "std" else span**2
            bad = shown & ~((released >= 0) & (released <= limit * (1 + 1e-9) + 1e-12))
        else:  # medians, percentiles, modes lie among their cell's values
            tol = 1e-9 * np.maximum(np.abs(ev.min), np.abs(ev.max))
            bad = shown & ~((released >= ev.min - tol) & (released <= ev.max + tol))
    if not bad.any():
        return []
    cell = int(np.flatnonzero(bad)[0])
    return [
        f"the released {statistic} of cell {_cell(ev, cell)} lies outside what the values of "
        "its cell allow: the table was changed after it was checked"
    ]


def check_table(
    entry: OutputEntry,
    data: bytes,
    ev: TableEvidence,
    ruleset: RuleSet,
    max_cells: int,
    recomputed: np.ndarray | None = None,
    extra: list[str] | None = None,
) -> tuple[TableOutput, bool, bool]:
    """The table as released, judged by ``ruleset``; whether its values were derived (from
    the evidence, or ``recomputed`` from data) rather than taken from the file; and whether
    the file is right (the values the gate expected, in their one serialisation).

    ``extra``: problems found before (they make the table fail)."""
    statistic = entry.statistic
    derived = statistic in DERIVED
    expected = from_evidence(ev, statistic) if derived else recomputed
    if expected is not None and entry.rounded_to:
        expected = np.floor(expected / entry.rounded_to + 0.5) * entry.rounded_to
    released, problems = read_table_file(data, ev, entry, max_cells, expected)
    if not problems and not derived:
        problems += _range_problems(ev, statistic, released)
    file_ok = not problems
    refused = _refused_labels(ev, entry.value_name)
    problems = [*(extra or []), *refused, *problems]
    declared, mask, problem = _structural(entry, ev)
    if problem:
        problems.append(problem)
    check = check_evidence(ev, statistic, ruleset, mask)
    # A count has a value in every cell (0 when empty): a blank count is hidden, whatever
    # the cell holds. Other statistics have none in an empty cell, whose blank hides nothing.
    measurable = ev.nonmissing >= (2 if statistic in ("std", "var") else 1)
    if statistic in COUNTS:
        measurable = np.ones_like(measurable, dtype=bool)
    suppressed = np.isnan(released) & ev.model.published_mask & measurable
    audited = None
    if (
        ev.model.margins
        and suppressed.any()
        and not problems
        and ruleset.protection.method != "redact-round"
        and not check.errors
        and not (check.fail & ~suppressed).any()
    ):
        audited = audit_pattern(check, suppressed)
    status, reasons = assess(check, suppressed, audited)
    problems += _protection_problems(ev, entry, ruleset, suppressed)
    if problems:
        status, reasons = Status.FAIL, (*problems, *reasons)
    elif status is Status.PASS and mask is not None:
        status, reasons = _declared_zeros_reviewed(ev, statistic, ruleset, mask, reasons)
    release = Release(released, suppressed, entry.rounded_to, status, tuple(reasons),
                      audit=audited)  # fmt: skip
    out = TableOutput(entry.name, check, released, entry.value_name, True, release)
    out.structural_zeros = declared
    return out, derived or recomputed is not None, file_ok


def _structural(
    entry: OutputEntry, ev: TableEvidence
) -> tuple[tuple[dict[str, str], ...], np.ndarray | None, str | None]:
    """The structural zeros the definition declares, as the session applied them (the
    checker sees them in the report); a declaration that does not fit the table fails it."""
    from sdc.tables.structural import declaration, structural_mask

    declared = (entry.definition or {}).get("structural_zeros")
    if not declared:
        return (), None, None
    try:
        found = declaration(declared, ev.model.dims, "the definition")
        return found, structural_mask(ev.model, found), None
    except SdcInputError as exc:
        return (), None, f"its structural zeros do not fit the table: {exc}"


def _declared_zeros_reviewed(
    ev: TableEvidence,
    statistic: str,
    ruleset: RuleSet,
    mask: np.ndarray,
    reasons: tuple[str, ...],
) -> tuple[Status, tuple[str, ...]]:
    """A table that passes only because the request declared some of its cells
    impossible goes to a person: the declaration is the researcher's word, and a true
    zero called structural would otherwise leave unseen."""
    plain = check_evidence(ev, statistic, ruleset)
    relieved = int(((plain.fail | plain.review) & mask).sum())
    if not relieved:
        return Status.PASS, reasons
    return Status.REVIEW, (
        f"{relieved} cell(s) the request declares structural zeros (impossible "
        "combinations) would be flagged otherwise: a person confirms the declaration",
        *reasons,
    )


def _protection_problems(
    ev: TableEvidence, entry: OutputEntry, ruleset: RuleSet, suppressed: np.ndarray
) -> list[str]:
    """What a rounding (``redact-round``) rule set requires of a count table."""
    protection = ruleset.protection
    if protection.method != "redact-round" or entry.statistic not in COUNTS:
        return []
    problems = []
    if entry.rounded_to != protection.round_to:
        problems.append(
            f"the rule set requires counts rounded to the nearest {protection.round_to}; "
            f"this table is recorded as rounded to {entry.rounded_to}"
        )
    small = (ev.records > 0) & (ev.records <= protection.redact_at_or_below)
    if (small & ev.model.published_mask & ~suppressed).any():
        problems.append(
            f"the rule set requires counts of {protection.redact_at_or_below} or fewer to "
            "be redacted; some are published"
        )
    return problems


def table_evidence(d: Any) -> TableEvidence:
    """Evidence read from a file, its labels checked before anything is built from them."""
    check_labels(d)
    return TableEvidence.from_dict(d)
