"""Protection of a checked table, and the verdict on what is released.

Primary suppression masks failing cells. A table that publishes margins then
goes to the protection stage (:mod:`sdc.protection`): secondary suppression and
an audit, with further suppression where an interval is still too narrow, up to
``audit_rounds`` times. This module states a checked table as that stage's
:class:`~sdc.protection.cells.CellProblem` and judges the result. Whoever
releases the table (session or gate), :func:`assess` audits the pattern it is
given: a table with margins and suppressed cells passes only if every suppressed
cell is protected.
Rounded tables (``redact-round``) are not additive, so they cannot be audited:
with margins and redactions they stay ``review``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from sdc.protection.audit import Audit, audit_in_cube
from sdc.protection.cells import CellProblem, audit_problem, protect_cells
from sdc.protection.params import ProtectionParams
from sdc.rules import RULES
from sdc.tables.check import TableCheck
from sdc.tables.relations import small_count_groups, table_relations
from sdc.tables.statistics import COUNTS
from sdc.verdict import Status


@dataclass(frozen=True)
class Release:
    """What leaves: per-cell values (NaN where suppressed) and the verdict on them.

    ``secondary`` marks cells suppressed to protect others (``by_audit``: those
    added because an audit found an interval too narrow); ``audit`` holds the
    attacker's intervals where one was computed.
    """

    values: np.ndarray
    suppressed: np.ndarray
    rounded_to: int | None
    status: Status
    reasons: tuple[str, ...]
    secondary: np.ndarray | None = None
    by_audit: np.ndarray | None = None
    audit: Audit | None = None


def additive_values(check: TableCheck) -> np.ndarray:
    """The additive quantity of every cell: the count, or the sum of the values.

    A mean table is audited on its sums: an attacker who also knows the counts
    (usually published alongside) can turn means into sums.
    """
    ev = check.evidence
    return ev.sum if ev.has_values else ev.records.astype(np.float64)


def audit_pattern(
    check: TableCheck,
    suppressed: np.ndarray,
    x: sp.csr_matrix | None = None,
    undetermined: bool | None = None,
    exact: bool = False,
) -> Audit:
    """Audit the cells ``suppressed`` (cube mask) of a table with margins; cube-shaped result.

    ``x`` is the table's model matrix, when the caller has it already;
    ``undetermined`` and ``exact`` as in :func:`sdc.protection.audit.audit`.
    """
    model = check.evidence.model
    pub = np.flatnonzero(model.published_mask)
    problem = cell_problem(
        check, model.model_matrix() if x is None else x, pub, check.ruleset.protection
    )
    a, _ = audit_problem(problem, suppressed[pub], exact=exact, undetermined=undetermined)
    return audit_in_cube(a, pub, model.n_cells)


def lower_bound(check: TableCheck) -> float:
    """The bound every inner cell has: 0 for counts and non-negative values."""
    ev = check.evidence
    return 0.0 if not ev.has_values or not ev.negatives.any() else -np.inf


def _audit_reasons(check: TableCheck, a: Audit) -> list[str]:
    bad = np.flatnonzero(~a.ok)
    lines = [
        f"{bad.size} suppressed cell(s) can still be narrowed down too far from the published "
        "cells (audit)"
    ]
    need = cell_needs(check, bad[:5], check.ruleset.protection)
    _, t = small_counts(check)
    for i, c in enumerate(bad[:5]):
        # Neither the interval nor the protection it needs is quoted: both are centred on
        # the hidden value.
        if need.either is not None and need.either[i]:
            what = (f"an interval that holds neither 0 nor the threshold {t} (the cell alone, "
                    "or summed with the other hidden small counts of a row or column)")  # fmt: skip
        elif need.levels[i] > 0:
            what = "an interval that does not reach its protection level on both sides"
        elif need.whole is not None and need.whole[i]:
            what = "an interval that holds no whole number but its own value"
        else:
            what = "its exact value"
        lines.append(
            f"cell {check.evidence.model.labels(int(c))}: an attacker can narrow it down to {what}"
        )
    return lines


def assess(
    check: TableCheck, suppressed: np.ndarray, audited: Audit | None = None
) -> tuple[Status, tuple[str, ...]]:
    """The verdict on releasing a table with ``suppressed`` cells masked.

    Examples
    --------
    >>> import numpy as np
    >>> from sdc.tables.evidence import compute_evidence
    >>> from sdc.ruleset import RuleSet
    >>> from sdc.tables.check import check_evidence
    >>> from sdc.tables.model import TableModel
    >>> tm = TableModel(("g",), (("a", "b"),), n_rows=1, margins=True)
    >>> chk = check_evidence(compute_evidence(np.array([[0]] * 12 + [[1]] * 3), tm), "count",
    ...                      RuleSet.load("default"))
    >>> assess(chk, chk.fail)[0]     # b = All - a: the suppression protects nothing
    <Status.FAIL: 'fail'>
    >>> assess(chk, chk.fail | tm.inner_mask)[0]
    <Status.PASS: 'pass'>
    """
    model = check.evidence.model
    published = model.published_mask
    reasons: list[str] = list(check.errors)
    exposed = check.fail & ~suppressed
    status = Status.FAIL if reasons or exposed.any() else Status.PASS
    if exposed.any():
        reasons.append(f"{int(exposed.sum())} published cell(s) fail a rule and are not suppressed")
    if status is Status.PASS:
        if check.notes:
            status = Status.REVIEW
            reasons.extend(check.notes)
        if (check.review & ~suppressed).any():
            status = Status.REVIEW
            reasons.append(
                f"{int((check.review & ~suppressed).sum())} cell(s) need review; see their findings"
            )
        n_sup = int((suppressed & published).sum())
        if n_sup and model.margins:
            if check.ruleset.protection.method == "redact-round":
                status = Status.REVIEW
                reasons.append(
                    f"{n_sup} cell(s) are redacted in a rounded table that publishes its "
                    "margins: rounded tables cannot be audited; check that the redacted cells "
                    "cannot be recovered, or publish the table without margins"
                )
            else:
                a = audited if audited is not None else audit_pattern(check, suppressed)
                if not a.passed:
                    status = Status.FAIL
                    reasons.extend(_audit_reasons(check, a))
    return status, tuple(reasons)


def _round_half_up(x: np.ndarray, base: int) -> np.ndarray:
    return np.floor(x / base + 0.5) * base


def protect(check: TableCheck, values: np.ndarray) -> Release:
    """Apply the rule set's primary protection to a checked table.

    ``suppress`` masks every failing cell. ``redact-round`` (OpenSAFELY) also
    redacts non-zero counts at or below the redaction limit, then rounds every
    remaining count to the nearest ``round_to`` (half up).
    """
    return protect_with(check, values, check.ruleset.protection)


def protect_with(
    check: TableCheck,
    values: np.ndarray,
    params: ProtectionParams,
    forced: tuple[np.ndarray, np.ndarray] | None = None,
) -> Release:
    """:func:`protect` under explicit protection parameters.

    ``forced``: cells a checker hides and publishes by hand (cube masks,
    :func:`sdc.tables.forced.cells_named`).
    """
    model = check.evidence.model
    suppressed = check.fail & model.published_mask
    fixed = None
    if forced is not None:
        suppressed = (suppressed | forced[0]) & ~forced[1]
        fixed = forced[1]
    rounded_to: int | None = None
    out = values.astype(np.float64, copy=True)
    secondary = by_audit = None
    audited: Audit | None = None
    if params.method == "redact-round" and check.statistic in COUNTS:
        small = (values > 0) & (values <= params.redact_at_or_below)
        suppressed |= small & model.published_mask
        out = _round_half_up(out, params.round_to)
        rounded_to = params.round_to
    elif model.margins and suppressed.any() and not check.errors:
        primary = suppressed
        suppressed, by_audit, audited = _secondary_and_audit(check, primary, params, fixed)
        if fixed is not None and (suppressed & fixed).any():
            # A cell published by hand that copies a primary: published, as the checker said,
            # and the verdict judges what it shows.
            suppressed = suppressed & ~fixed
            audited = None
        secondary = suppressed & ~primary
    out[suppressed] = np.nan
    status, reasons = assess(check, suppressed, audited)
    return Release(out, suppressed, rounded_to, status, reasons, secondary, by_audit, audited)


def _secondary_and_audit(
    check: TableCheck, primary: np.ndarray, params: ProtectionParams, fixed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, Audit]:
    """Secondary suppression and audit rounds over a table's published cells (cube masks)."""
    model = check.evidence.model
    pub = np.flatnonzero(model.published_mask)
    problem = cell_problem(check, model.model_matrix(), pub, params)
    relations = None
    if params.threshold > 0:
        relations = table_relations(model, primary)[:, pub].tocsr()
    problem = replace(problem, fixed=None if fixed is None else fixed[pub], relations=relations)
    sup, by_audit, a = protect_cells(problem, primary[pub], params)
    suppressed = np.zeros(model.n_cells, dtype=bool)
    suppressed[pub] = sup
    added = np.zeros(model.n_cells, dtype=bool)
    added[pub] = by_audit
    return suppressed, added, audit_in_cube(a, pub, model.n_cells)


def protection_levels(check: TableCheck) -> np.ndarray:
    """Upper (= lower) protection level of every cell from the magnitude rules it fails.

    Each rule with a protection formula (nk, p%, pq; ``sdc.rules.dominance``) gives
    the level of the cells it fails; a cell failing several takes the largest.
    Other cells get 0: "not exactly computable" (an interval of positive width).
    """
    ev = check.evidence
    top = ev.top_or_zero()
    level = np.zeros(ev.n_cells)
    for r in check.results:
        formula = RULES[r.rule].protection
        if formula is None:
            continue
        params: Any = check.ruleset.params[r.rule]
        level = np.where(r.fail, np.maximum(level, formula(top, ev.sum, params)), level)
    return np.maximum(level, 0.0)


def cell_problem(
    check: TableCheck,
    x: sp.csr_matrix,
    cells: np.ndarray,
    params: ProtectionParams,
    inner: np.ndarray | None = None,
) -> CellProblem:
    """The protection problem of a checked table's cube cells ``cells`` (columns of ``x``).

    The rows of ``x`` are the inner cells of ``check``'s cube. ``inner``: their true
    values when they are not published themselves (linked tables).
    """
    ev = check.evidence
    value = additive_values(check)[cells]
    zero = ((ev.nonmissing == 0) if ev.has_values else (ev.records == 0))[cells]
    single = None
    if params.singletons:
        single = (ev.contributors == 1)[ev.model.inner_mask]
    need = cell_needs(check, cells, params)
    return CellProblem(
        x, value, need.levels, _cost(check, value, cells, params.cost), zero, single,
        lower_bound(check), inner, need.upper, need.either, need.groups, need.target,
        whole=need.whole,
    )  # fmt: skip


@dataclass(frozen=True)
class CellNeeds:
    """What the audit asks of cells (the fields of :class:`CellProblem` of the same names):
    ``levels`` below (and above, unless ``upper``), small counts that reach ``either`` side,
    ``groups`` of small counts whose sum must reach 0 or ``target``, and ``whole`` cells."""

    levels: np.ndarray
    upper: np.ndarray | None = None
    either: np.ndarray | None = None
    groups: sp.csr_matrix | None = None
    target: np.ndarray | None = None
    whole: np.ndarray | None = None


def cell_needs(check: TableCheck, cells: np.ndarray, params: ProtectionParams) -> CellNeeds:
    """What the audit asks of a checked table's cube cells ``cells``: the protection levels
    of the magnitude rules, "0 or t" for small counts (``params.small_counts``), and a
    whole number other than its value for a failing cell known to be whole."""
    levels = protection_levels(check)[cells]
    upper = either = groups = target = None
    small, t = small_counts(check)
    if small.any() and params.small_counts == "zero-or-threshold":
        value = additive_values(check)[cells]
        either = small[cells]
        levels = np.where(either, value, levels)  # down to 0 ...
        upper = np.where(either, np.maximum(t - value, 0.0), levels)  # ... or up to t
        cube = small_count_groups(check.evidence.model, small, additive_values(check), t)
        if cube.shape[0]:
            groups = cube[:, cells].tocsr()
            target = np.full(groups.shape[0], float(t))
    whole = whole_cells(check)
    return CellNeeds(levels, upper, either, groups, target,
                     None if whole is None else whole[cells])  # fmt: skip


def whole_cells(check: TableCheck) -> np.ndarray | None:
    """The failing cells an attacker knows to be whole numbers (cube mask), None if none.

    Counts are whole numbers, and so, as far as an attacker can tell, are sums that all
    are: a hidden primary pinned between two whole numbers is disclosed.
    """
    value = additive_values(check)[check.evidence.model.published_mask]
    if check.statistic in COUNTS or np.array_equal(value, np.round(value)):
        return check.fail
    return None


def small_counts(check: TableCheck) -> tuple[np.ndarray, int]:
    """Counts that fail the threshold rule (cube mask), and the threshold.

    Their audit asks more than a positive width: the interval must reach 0 or the
    threshold t, so the attacker cannot tell an empty cell from one at the
    threshold (alone, or with the other small counts of a relation).
    """
    n = check.evidence.n_cells
    if check.statistic not in COUNTS or "threshold" not in check.ruleset.params:
        return np.zeros(n, dtype=bool), 0
    fails = [r.fail for r in check.results if r.rule == "threshold"]
    if not fails:
        return np.zeros(n, dtype=bool), 0
    return np.logical_or.reduce(fails), int(check.ruleset.params["threshold"].t)


def _cost(check: TableCheck, value: np.ndarray, cells: np.ndarray, cost: str) -> np.ndarray:
    """The price of suppressing each published cell (``ProtectionParams.cost``)."""
    if cost == "frequency":
        return check.evidence.records[cells].astype(np.float64)
    if cost == "unity":
        return np.ones(cells.size)
    return np.abs(value)
