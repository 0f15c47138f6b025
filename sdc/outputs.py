"""What outputs that are not tables share: findings keyed by a term, and their report entry.

Regressions and survival tables have no cells; each finding names the term it
is about (a dummy level, a model, a group, a pooled step) in a ``term`` column.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np
import pandas as pd

from sdc.rules import RuleResult
from sdc.verdict import Status

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


def summary_lines(out: TermOutput, head: str, max_findings: int = 10) -> str:
    """``head -> VERDICT``, the numbered reasons, then the first findings."""
    lines = [f"{head} -> {out.status.value.upper()}"]
    lines += [f"  [{i}] {reason}" for i, reason in enumerate(out.reasons, 1)]
    for row in out.findings.head(max_findings).to_dict("records"):
        lines.append(f"    - {row['outcome']} {row['rule']} at {row['term']}: {row['message']}")
    return "\n".join(lines)


def _number(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)
