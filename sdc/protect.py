"""Protection of a checked table, and the verdict on what is released.

Primary suppression masks failing cells. A table that publishes margins then
gets secondary suppression (:mod:`sdc.secondary`) and an audit
(:mod:`sdc.audit`); cells whose interval is still too narrow get further
suppression, up to ``audit_rounds`` times. Whoever releases the table (session
or gate), :func:`assess` audits the pattern it is given: a table with margins
and suppressed cells passes only if every suppressed cell is protected.
Rounded tables (``redact-round``) are not additive, so they cannot be audited:
with margins and redactions they stay ``review``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from sdc.audit import EXACT_WIDTH, Audit, audit, protection_levels, unit_cells
from sdc.check import TableCheck
from sdc.protection_params import ProtectionParams
from sdc.secondary import secondary_suppress
from sdc.statistics import COUNTS
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
    ``undetermined`` and ``exact`` as in :func:`sdc.audit.audit`.
    """
    model = check.evidence.model
    pub = np.flatnonzero(model.published_mask)
    a = audit(
        model.model_matrix() if x is None else x, additive_values(check)[pub], suppressed[pub],
        protection_levels(check)[pub], lower_bound(check), undetermined=undetermined, exact=exact,
    )  # fmt: skip
    return audit_in_cube(a, pub, model.n_cells)


def lower_bound(check: TableCheck) -> float:
    """The bound every inner cell has: 0 for counts and non-negative values."""
    ev = check.evidence
    return 0.0 if not ev.has_values or not ev.negatives.any() else -np.inf


def audit_in_cube(a: Audit, cells: np.ndarray, n_cells: int) -> Audit:
    """An audit over the columns ``cells``, spread over a cube (NaN / True elsewhere)."""
    full = {}
    for name in ("lower", "upper", "need_lower", "need_upper"):
        arr = np.full(n_cells, np.nan)
        arr[cells] = getattr(a, name)
        full[name] = arr
    for name in ("ok", "exact"):
        flags = np.ones(n_cells, dtype=bool)
        flags[cells] = getattr(a, name)
        full[name] = flags
    return Audit(**full)


def _audit_reasons(check: TableCheck, a: Audit) -> list[str]:
    bad = np.flatnonzero(~a.ok)
    lines = [
        f"{bad.size} suppressed cell(s) can still be narrowed down too far from the published "
        "cells (audit)"
    ]
    for c in bad[:5]:
        lines.append(
            f"cell {check.evidence.model.labels(int(c))}: an attacker can bound it to "
            f"[{a.lower[c]:g}, {a.upper[c]:g}]; its protection needs the interval to reach "
            f"[{a.need_lower[c]:g}, {a.need_upper[c]:g}] and to have positive width"
        )
    return lines


def assess(
    check: TableCheck, suppressed: np.ndarray, audited: Audit | None = None
) -> tuple[Status, tuple[str, ...]]:
    """The verdict on releasing a table with ``suppressed`` cells masked.

    Examples
    --------
    >>> import numpy as np
    >>> from sdc.evidence import compute_evidence
    >>> from sdc.ruleset import RuleSet
    >>> from sdc.check import check_evidence
    >>> from sdc.table_model import TableModel
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


def protect_with(check: TableCheck, values: np.ndarray, params: ProtectionParams) -> Release:
    """:func:`protect` under explicit protection parameters."""
    model = check.evidence.model
    suppressed = check.fail & model.published_mask
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
        suppressed, by_audit, audited = _secondary_and_audit(check, primary, params)
        secondary = suppressed & ~primary
    out[suppressed] = np.nan
    status, reasons = assess(check, suppressed, audited)
    return Release(out, suppressed, rounded_to, status, reasons, secondary, by_audit, audited)


def _secondary_and_audit(
    check: TableCheck, primary: np.ndarray, params: ProtectionParams
) -> tuple[np.ndarray, np.ndarray, Audit]:
    """Secondary suppression and audit rounds over a table's published cells (cube masks)."""
    model = check.evidence.model
    pub = np.flatnonzero(model.published_mask)
    sup, by_audit, a = protect_cells(check, model.model_matrix(), pub, primary[pub], params)
    suppressed = np.zeros(model.n_cells, dtype=bool)
    suppressed[pub] = sup
    added = np.zeros(model.n_cells, dtype=bool)
    added[pub] = by_audit
    return suppressed, added, audit_in_cube(a, pub, model.n_cells)


def protect_cells(
    check: TableCheck,
    x: sp.csr_matrix,
    cells: np.ndarray,
    primary: np.ndarray,
    params: ProtectionParams,
    inner: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, Audit]:
    """Secondary suppression, then audit rounds that suppress more where intervals are narrow.

    ``x`` holds the published cells ``cells`` (cube indices of ``check``'s cube) as
    columns; ``primary`` is over those columns; ``inner`` the true inner cells when
    they are not published themselves (linked tables). Returns the suppressed
    columns, those added by the audit, and the last audit.
    """
    ev = check.evidence
    value = additive_values(check)[cells]
    weight = _cost(check, value, cells, params.cost)
    zero = ((ev.nonmissing == 0) if ev.has_values else (ev.records == 0))[cells]
    single = _singletons(check, x, primary, zero, params)
    levels = protection_levels(check)[cells]
    bound = lower_bound(check)
    must = primary.copy()
    by_audit = np.zeros(cells.size, dtype=bool)
    for _ in range(params.audit_rounds + 1):
        pattern = secondary_suppress(
            x, must, weight, zero=zero, singleton=single, secondary_zeros=params.secondary_zeros
        )
        suppressed = pattern.suppressed
        audited = audit(x, value, suppressed, levels, bound,
                        undetermined=not pattern.overflowed, inner=inner)  # fmt: skip
        suppressed, audited = publish_determined(suppressed, audited, primary, value)
        if audited.passed:
            break
        extra = _widen(x, ~audited.ok, suppressed, weight)
        if not extra.any():
            break
        must |= extra
        by_audit |= extra
    if params.exact_intervals:
        audited = audit(x, value, suppressed, levels, bound, exact=True, inner=inner)
    return suppressed, by_audit & suppressed, audited


def publish_determined(
    suppressed: np.ndarray, a: Audit, primary: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, Audit]:
    """Publish the non-primary suppressed cells the published ones already determine exactly.

    Hiding them protects nothing: an attacker computes them (after an overflow of
    the exact kernel, every undecided cell is hidden, and some are such cells).
    Publishing them leaves every other cell's interval as it was.
    """
    width = a.upper - a.lower
    point = a.exact & (width <= EXACT_WIDTH * np.maximum(1.0, np.abs(value)))
    reveal = suppressed & ~primary & point
    if not reveal.any():
        return suppressed, a
    nan = np.where(reveal, np.nan, 1.0)
    audited = replace(
        a, lower=a.lower * nan, upper=a.upper * nan, need_lower=a.need_lower * nan,
        need_upper=a.need_upper * nan, ok=a.ok | reveal,
    )  # fmt: skip
    return suppressed & ~reveal, audited


def _cost(check: TableCheck, value: np.ndarray, cells: np.ndarray, cost: str) -> np.ndarray:
    """The price of suppressing each published cell (``ProtectionParams.cost``)."""
    if cost == "frequency":
        return check.evidence.records[cells].astype(np.float64)
    if cost == "unity":
        return np.ones(cells.size)
    return np.abs(value)


def _own_columns(x: sp.spmatrix, n_cols: int) -> np.ndarray:
    """Per inner cell, the column that publishes it alone (``n_cols``, a False slot, if none)."""
    own = unit_cells(sp.csc_matrix(x), np.ones(n_cols, dtype=bool))
    return np.where(own >= 0, own, n_cols)


def _singletons(
    check: TableCheck,
    x: sp.spmatrix,
    primary: np.ndarray,
    zero: np.ndarray,
    params: ProtectionParams,
) -> np.ndarray | None:
    """Inner cells whose value someone knows apart from the published cells (None: none).

    With ``singletons``, cells with one contributor: that contributor knows the
    value. Always, empty inner cells that are primaries: cells are known to be
    >= 0, so a published sum of such zeros (0) reveals each of them, which is
    what GaussSuppression guards against by the same device.
    """
    n_cols = primary.size
    own = _own_columns(x, n_cols)
    hidden_zero = np.append(primary & zero, False)[own]
    single = hidden_zero
    if params.singletons:
        single = single | (check.evidence.contributors == 1)[check.evidence.model.inner_mask]
    return single if single.any() else None


def _widen(
    x: sp.csr_matrix, failing: np.ndarray, suppressed: np.ndarray, weight: np.ndarray
) -> np.ndarray:
    """For each failing cell, a published cell sharing a relation with it to suppress too.

    The most detailed such cell (fewest inner cells: an inner cell where the table
    has them), the largest among those, so that the interval widens by the most.
    """
    xc = sp.csc_matrix(x)
    xr = sp.csr_matrix(x)
    nnz = np.diff(xc.indptr)
    extra = np.zeros(x.shape[1], dtype=bool)
    for j in np.flatnonzero(failing):
        rows = xc.indices[xc.indptr[j] : xc.indptr[j + 1]]
        relations = np.unique(xr[rows].indices)
        relations = relations[~suppressed[relations] & (nnz[relations] > nnz[j])]
        near = np.unique(xc[:, relations].indices)
        cand = np.unique(xr[near].indices)
        cand = cand[~suppressed[cand] & ~extra[cand] & (nnz[cand] <= nnz[j])]
        if cand.size:
            best = np.lexsort((-weight[cand], nnz[cand]))[0]
            extra[cand[best]] = True
    return extra
