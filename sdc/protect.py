"""Primary protection of a checked table, and the verdict on what is released.

Secondary suppression is not done here: a table that publishes margins and has
suppressed cells is therefore ``review``, never ``pass``, because the suppressed
values might be recomputed from the totals.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sdc.check import TableCheck
from sdc.verdict import Status


@dataclass(frozen=True)
class Release:
    """What leaves: per-cell values (NaN where suppressed) and the verdict on them."""

    values: np.ndarray
    suppressed: np.ndarray
    rounded_to: int | None
    status: Status
    reasons: tuple[str, ...]


def assess(check: TableCheck, suppressed: np.ndarray) -> tuple[Status, tuple[str, ...]]:
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
    >>> assess(chk, chk.fail)[0]
    <Status.REVIEW: 'review'>
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
            status = Status.REVIEW
            reasons.append(
                f"{n_sup} cell(s) are suppressed in a table that publishes its margins: without "
                "secondary suppression they may be recomputed from the totals; check that they "
                "cannot, or publish the table without margins"
            )
    return status, tuple(reasons)


def _round_half_up(x: np.ndarray, base: int) -> np.ndarray:
    return np.floor(x / base + 0.5) * base


def protect(check: TableCheck, values: np.ndarray) -> Release:
    """Apply the rule set's primary protection to a checked table.

    ``suppress`` masks every failing cell. ``redact-round`` (OpenSAFELY) also
    redacts non-zero counts at or below the redaction limit, then rounds every
    remaining count to the nearest ``round_to`` (half up).
    """
    params = check.ruleset.protection
    suppressed = check.fail.copy()
    rounded_to: int | None = None
    out = values.astype(np.float64, copy=True)
    if params.method == "redact-round" and check.statistic == "count":
        small = (values > 0) & (values <= params.redact_at_or_below)
        suppressed |= small & check.evidence.model.published_mask
        out = _round_half_up(out, params.round_to)
        rounded_to = params.round_to
    out[suppressed] = np.nan
    status, reasons = assess(check, suppressed)
    return Release(out, suppressed, rounded_to, status, reasons)
