"""Differencing in a report: the outputs it involves, its section, the request's status.

The check appears the same way in the session's report and in the gate's:

- every output a finding names turns ``fail``, with a reason and the finding (rule
  ``threshold``: the derivable group is a cell of the outputs combined, with fewer
  than t records), so it is not released on its own;
- the report's ``differencing`` section holds the check: its status, each
  finding with the combination that gives the group away, the notes (what could
  not be checked: each makes the check ``review``) and the suggestions;
- the report's status is the worst of its outputs' and the check's.
"""

from __future__ import annotations

from typing import Any

from sdc.differencing.result import DifferencingResult, Finding
from sdc.verdict import Status


def _finding(f: Finding) -> dict[str, Any]:
    return {"rule": "threshold", "outcome": "fail", "cell": {"group": f.group},
            "measured": f.records, "limit": f.threshold,
            "message": f"differencing: {f.message}"}  # fmt: skip


def mark_outputs(entries: list[dict[str, Any]], result: DifferencingResult) -> None:
    """Every output a finding names fails, with the reason and the findings."""
    involved = result.involved()
    for e in entries:
        found = involved.get(e.get("name", ""))
        if not found:
            continue
        others = sorted({n for f in found for n in f.outputs} - {e["name"]})
        e["status"] = Status.FAIL.value
        e["reasons"] = [*e.get("reasons", []), (
            f"differencing: combined with {', '.join(map(repr, others)) or 'itself'}, it gives "
            f"away {len(found)} small group(s) (see the report's differencing section)"
        )]  # fmt: skip
        e["findings"] = [*e.get("findings", []), *(_finding(f) for f in found)]


def add_to_report(report: dict[str, Any], result: DifferencingResult) -> dict[str, Any]:
    """The session's report with the check in it (marked outputs, section, status)."""
    mark_outputs(report["outputs"], result)
    report["differencing"] = result.to_report()
    statuses = [Status(e["status"]) for e in report["outputs"]]
    report["status"] = Status.worst([*statuses, result.status]).value
    report["summary"] = {s.value: statuses.count(s) for s in Status}
    return report


def text_lines(section: dict[str, Any]) -> list[str]:
    """The section in words, for the text report (nothing when the check passed)."""
    if section.get("status") == Status.PASS.value:
        return []
    lines = [f"differencing -> {str(section.get('status')).upper()}"]
    lines += [f"  [{i}] {f['message']}" for i, f in enumerate(section.get("findings", []), 1)]
    lines += [f"  note: {n}" for n in section.get("notes", [])]
    lines += [f"  suggestion: {n}" for n in section.get("suggestions", [])]
    return [*lines, ""]
