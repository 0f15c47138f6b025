"""The JSON report (versioned, with a shipped JSON Schema) and its text rendering.

The session's report (``finalise`` writes it) and the gate's share one schema.
Both say at their top that they stay inside the TRE (``stays_inside``): they may
show what the released files hide. The gate's adds what only it knows: the
request (``request``: its manifest's digest, author and linked tables), how far
it is trusted (``trust``), the sentences a reader must see first (``notices``),
the rule set the request asked for (``rules.requested``), each output's
``authenticated``/``rules_status``, and every file of the request with whether
it may leave (``files``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from sdc._text import printable
from sdc.outputs import cell_lines
from sdc.ruleset import RuleSet
from sdc.verdict import Status

REPORT_SCHEMA_VERSION = "1.4"

#: What every checker's report says at its top: it stays inside the TRE.
STAYS_INSIDE = (
    "This is the checker's report: it stays inside the TRE and never leaves. It may show "
    "what the released files hide (the records and contributors behind suppressed or "
    "failing cells). What leaves is the egress folder that sdc release writes."
)


class Reportable(Protocol):
    """Any checked output: it knows its own entry in the report."""

    def to_report(self) -> dict[str, Any]: ...


def _schema(name: str) -> dict[str, Any]:
    path = Path(__file__).parent / "schemas" / name
    return json.loads(path.read_text(encoding="utf-8"))


def report_schema() -> dict[str, Any]:
    """The JSON Schema the report follows (``sdc/release/schemas/report-v1.json``)."""
    return _schema("report-v1.json")


def error_schema() -> dict[str, Any]:
    """The JSON Schema of the document ``sdc ... --json`` prints when there is no report
    (``sdc/release/schemas/error-v1.json``): a usage or input error, or an internal error."""
    return _schema("error-v1.json")


def other_entry(name: str, kind: str, status: Status, reason: str) -> dict[str, Any]:
    """A report entry for something that is not a checked table (an unknown file, an error)."""
    return {
        "name": name, "kind": kind, "statistic": None, "status": status.value,
        "reasons": [reason], "dims": [], "margins": False, "protected": False,
        "rounded_to": None, "cells": [], "findings": [],
    }  # fmt: skip


def build_report(
    outputs: Sequence[Reportable],
    ruleset: RuleSet,
    others: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The report over all outputs; its status is the most severe of theirs."""
    entries = [o.to_report() for o in outputs] + list(others or [])
    status = Status.worst(Status(e["status"]) for e in entries) if entries else Status.FAIL
    counts = {s.value: sum(e["status"] == s.value for e in entries) for s in Status}
    return {
        "schema_version": REPORT_SCHEMA_VERSION,
        "status": status.value,
        "stays_inside": STAYS_INSIDE,
        "rules": {"name": ruleset.name, "source": ruleset.source},
        "summary": counts,
        "outputs": entries,
    }


def annotate(
    report: dict[str, Any], exceptions: dict[str, str], comments: Sequence[tuple[str | None, str]]
) -> dict[str, Any]:
    """``report`` with the researcher's words for the checker: each output's ``exception``
    (its case for release) and the request's ``comments``. They change no verdict.

    Examples
    --------
    >>> r = annotate({"outputs": [{"name": "a", "status": "review"}]}, {"a": "needed"},
    ...              [(None, "see the protocol")])
    >>> r["outputs"][0]["exception"], r["comments"]
    ('needed', [{'output': None, 'text': 'see the protocol'}])
    """
    for entry in report["outputs"]:
        if entry["name"] in exceptions:
            entry["exception"] = printable(exceptions[entry["name"]])
    if comments:
        report["comments"] = [{"output": n, "text": printable(t)} for n, t in comments]
    return report


def _protection_line(out: dict[str, Any]) -> str:
    """How a protected output's cells are suppressed, and whether the audit passed."""
    if not out["protected"] or not out["cells"]:
        return ""
    kinds = [c["suppression"] for c in out["cells"]]
    n_primary, n_secondary = kinds.count("primary"), kinds.count("secondary")
    line = f"suppressed: {n_primary} primary, {n_secondary} secondary"
    audits = [c["audit"] for c in out["cells"] if c["audit"] is not None]
    if audits:
        bad = sum(not a["ok"] for a in audits)
        line += (
            "; audit passed (every suppressed cell keeps the protection it needs)"
            if not bad
            else f"; audit failed ({bad} of {len(audits)} suppressed cell(s) can be narrowed "
            "down too far)"
        )
    elif n_primary + n_secondary:
        if not out["margins"]:
            line += "; no audit needed (the table publishes no margins)"
        elif out["rounded_to"]:
            line += "; not audited (a rounded table is not additive)"
        else:
            line += "; not audited (see the reasons)"
    return line


def _head(out: dict[str, Any]) -> str:
    head = f"{out['name']}: {out['kind']}"
    if out["statistic"] and out["dims"]:
        head += f", statistic {out['statistic']!r}, {len(out['cells'])} cells"
    elif out["statistic"]:
        head += f" ({out['statistic']})"
    head += f" -> {out['status'].upper()}"
    checked = out.get("rules_status")
    if checked is not None and checked != out["status"]:
        head += f" (the rules alone: {checked.upper()})"
    return head


def text_report(report: dict[str, Any], max_findings: int = 10) -> str:
    """A person-readable account: overall verdict, then each output with numbered reasons.

    Every name, label and message is shown with control and format characters
    escaped (:func:`sdc._text.printable`), so nothing in a request can write lines
    of its own into the report.
    """
    lines = [f"sdc report: {report['status'].upper()} (rules: {report['rules']['name']})"]
    if report.get("stays_inside"):
        lines.append(f"  ! INSIDE THE TRE ONLY: {report['stays_inside']}")
    lines += [f"  ! {notice}" for notice in report.get("notices", [])]
    lines += ["  " + ", ".join(f"{v} {k}" for k, v in report["summary"].items()), ""]
    for out in report["outputs"]:
        lines.append(_head(out))
        protection = _protection_line(out)
        if protection:
            lines.append(f"  {protection}")
        for i, reason in enumerate(out["reasons"], 1):
            lines.append(f"  [{i}] {reason}")
        if out.get("structural_zeros"):
            from sdc.tables.structural import shown

            lines.append(f"  {shown(out['structural_zeros'])}")
        if out.get("exception"):
            lines.append(f"  exception asked for (the researcher's words; it changes no "
                         f"verdict): {out['exception']}")  # fmt: skip
        lines += cell_lines(out, max_findings)
        lines.append("")
    if report.get("comments"):
        lines.append("comments (the researcher's, for the checker):")
        lines += [f"  {c['output'] or 'the request'}: {c['text']}" for c in report["comments"]]
        lines.append("")
    if report.get("differencing"):
        from sdc.differencing.report import text_lines

        lines += text_lines(report["differencing"])
    files = report.get("files")
    if files:
        lines.append("files:")
        lines += [f"  {f['path']} ({f['kind']}): leaves {f['leaves']}" for f in files]
        lines.append("")
    return "\n".join(printable(line) for line in lines)
