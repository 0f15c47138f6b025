"""What outputs share: findings keyed by a term and their report entry, and round steps.

Regressions and survival tables have no cells; each finding names the term it
is about (a dummy level, a model, a group, a pooled step) in a ``term`` column.
Histogram bins and survival time grids are multiples of a round step
(:func:`round_step`), so that their edges do not publish anyone's value.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sdc.rules import RuleResult
from sdc.verdict import Status

#: Round widths, per power of ten.
ROUND_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


def round_step(raw: float) -> float:
    """The smallest of 1, 2, 2.5 and 5 times a power of ten that is at least ``raw``
    (1 when ``raw`` is not a positive number).

    >>> round_step(51.1), round_step(0.3), round_step(40.0), round_step(0.0)
    (100.0, 0.5, 50.0, 1.0)
    """
    if not raw >= 1e-300:  # 0, negative or NaN
        return 1.0
    power = 10.0 ** math.floor(math.log10(raw))
    return next(s * power for s in ROUND_STEPS if s * power >= raw * (1 - 1e-12))


#: Columns of such an output's findings.
FINDING_COLUMNS = ["term", "rule", "outcome", "measured", "limit", "message"]


class TermOutput(Protocol):
    name: str
    kind: str

    @property
    def statistic(self) -> str | None: ...

    @property
    def status(self) -> Status: ...

    @property
    def reasons(self) -> tuple[str, ...]: ...

    @property
    def findings(self) -> pd.DataFrame: ...


def finding_rows(terms: Sequence[str], r: RuleResult) -> list[dict[str, Any]]:
    """One findings row per entry of ``r`` that fails or needs review, at ``terms[i]``."""
    return [
        {
            "term": terms[i], "rule": r.rule, "outcome": "fail" if r.fail[i] else "review",
            "measured": float(r.measured[i]), "limit": float(r.limit[i]),
            "message": r.message(i),
        }
        for i in np.flatnonzero(r.fail | r.review).tolist()
    ]  # fmt: skip


def report_entry(out: TermOutput) -> dict[str, Any]:
    """The output's entry in the JSON report (no row-level data)."""
    findings = [
        {
            "rule": row["rule"], "outcome": row["outcome"], "cell": {"term": row["term"]},
            "measured": _number(row["measured"]), "limit": _number(row["limit"]),
            "message": row["message"],
        }
        for row in out.findings.to_dict("records")
    ]  # fmt: skip
    return {
        "name": out.name, "kind": out.kind, "statistic": out.statistic,
        "status": out.status.value, "reasons": list(out.reasons), "dims": [],
        "margins": False, "protected": False, "rounded_to": None, "cells": [],
        "findings": findings,
    }  # fmt: skip


def _where(cell: dict[str, Any]) -> str:
    if set(cell) == {"term"}:
        return str(cell["term"])
    return "(" + ", ".join(f"{k}={v}" for k, v in cell.items()) + ")"


def cell_lines(out: dict[str, Any], max_findings: int) -> list[str]:
    """A report entry's findings: the count of cells per rule, then the cells (at most
    ``max_findings``); a released table's suppressed cells as ``suppressed (primary:
    rule)`` or ``suppressed (secondary)``, not as failing, the others with their outcome.

    >>> entry = {"protected": True, "findings": [{"rule": "threshold", "outcome": "fail",
    ...     "cell": {"g": "a"}, "message": "2 record(s)"}], "cells": [
    ...     {"labels": {"g": "a"}, "suppression": "primary"},
    ...     {"labels": {"g": "b"}, "suppression": "secondary"}]}
    >>> for line in cell_lines(entry, 10):
    ...     print(line[:60])
      by rule: threshold 1 cell(s) suppressed; secondary 1 cell(
        - suppressed (primary: threshold) at (g=a): 2 record(s)
        - suppressed (secondary) at (g=b): hidden so that no pri
    """
    suppression = {
        tuple(sorted(c["labels"].items())): c.get("suppression")
        for c in out.get("cells", []) if out.get("protected") and c.get("suppression")
    }  # fmt: skip
    rows: list[str] = []
    per_rule: dict[tuple[str, str], int] = {}
    for f in out["findings"]:
        kind = suppression.get(tuple(sorted(f["cell"].items())))
        verb = f"suppressed (primary: {f['rule']})" if kind else f"{f['outcome']} {f['rule']}"
        rows.append(f"    - {verb} at {_where(f['cell'])}: {f['message']}")
        key = (f["rule"], "suppressed" if kind else f["outcome"])
        per_rule[key] = per_rule.get(key, 0) + 1
    secondary = [
        f"    - suppressed (secondary) at {_where(c['labels'])}: hidden so that no primary "
        "can be recomputed from the margins"
        for c in out.get("cells", []) if c.get("suppression") == "secondary"
    ]  # fmt: skip
    if secondary:
        per_rule[("secondary", "suppressed")] = len(secondary)
    if not per_rule:
        return []
    counts = "; ".join(f"{rule} {n} cell(s) {what}" for (rule, what), n in per_rule.items())
    lines = [f"  by rule: {counts}"]
    listed = rows + secondary
    lines += listed[:max_findings]
    if len(listed) > max_findings:
        lines.append(f"    ... and {len(listed) - max_findings} more cell(s)")
    return lines


def summary_lines(out: TermOutput, head: str, max_findings: int = 10) -> str:
    """``head -> VERDICT``, the numbered reasons, then the first findings."""
    lines = [f"{head} -> {out.status.value.upper()}"]
    lines += [f"  [{i}] {reason}" for i, reason in enumerate(out.reasons, 1)]
    for row in out.findings.head(max_findings).to_dict("records"):
        lines.append(f"    - {row['outcome']} {row['rule']} at {row['term']}: {row['message']}")
    return "\n".join(lines)


def _number(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)
