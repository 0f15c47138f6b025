"""Differencing in a report: the outputs it involves, its section, the request's status.

The check appears the same way in the session's report and in the gate's:

- every output a finding names turns ``fail``, with a reason and the finding (rule
  ``threshold``: the derivable group is a cell of the outputs combined, with fewer
  than t records), so it is not released on its own;
- while the check is ``review``, every output a note names (or, for a note that names
  none, every output the check took in) that would pass turns ``review``: it leaves
  only with an approval that names it; when
  the check could not be run at all, every output that would pass fails;
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
    """Every output a finding names fails, with the reason and the findings; while the
    check is ``review`` (a note says what it could not check), every output a note names
    (or, for a note that names none, every output checked) that would pass needs review,
    so that none leaves without a checker naming it; when the check could not be run,
    every output that would pass fails."""
    involved = result.involved()
    names = [f"{e.get('name', '')!r}" for e in entries]
    general = any(not any(n in note for n in names) for note in result.notes)
    for e in entries:
        found = involved.get(e.get("name", ""))
        if not found:
            _unchecked(e, result, general)
            continue
        others = sorted({n for f in found for n in f.outputs} - {e["name"]})
        e["status"] = Status.FAIL.value
        e["reasons"] = [*e.get("reasons", []), (
            f"differencing: combined with {', '.join(map(repr, others)) or 'itself'}, it gives "
            f"away {len(found)} small group(s) (see the report's differencing section)"
        )]  # fmt: skip
        e["findings"] = [*e.get("findings", []), *(_finding(f) for f in found)]


def _unchecked(e: dict[str, Any], result: DifferencingResult, general: bool) -> None:
    """Mark an output differencing could not clear (see :func:`mark_outputs`): named in a
    note, or checked while a note names no output (it concerns them all)."""
    name = e.get("name", "")
    if e.get("status") == Status.PASS.value and result.errors:
        e["status"] = Status.FAIL.value
        e["reasons"] = [*e.get("reasons", []), (
            "differencing: the check over the outputs together could not be run (see the "
            "report's differencing section); no output leaves unchecked with the others"
        )]  # fmt: skip
        return
    if e.get("status") != Status.PASS.value or result.status is not Status.REVIEW:
        return
    if not any(f"{name!r}" in n for n in result.notes) and not (general and name in result.checked):
        return
    e["status"] = Status.REVIEW.value
    e["reasons"] = [*e.get("reasons", []), (
        "differencing: the check over the outputs together could not be completed (see the "
        "notes of the report's differencing section); a checker must confirm this output "
        "gives no small group away with the others"
    )]  # fmt: skip


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
