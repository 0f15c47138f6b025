"""A microdata output at the gate: its released records read back and assessed again.

The records are the released file itself, so the gate assesses what would leave,
under the operator's rules: the file must hold exactly the assessed columns
(keys, sensitive variables, weight) in their one serialisation
(:mod:`sdc.microdata.released`); its column names are screened (a column named
like a person identifier fails); then the full assessment runs (k-anonymity,
l-diversity, individual and global risk, SUDA2). Record-level data never passes
on its own: an assessment that passes is ``review`` at best, because the
researcher chose the keys and only a person can say that every quasi-identifier
is among them. It leaves only with an approval naming it.
"""

from __future__ import annotations

from typing import Any

from sdc.canonical import first_difference, read_csv
from sdc.exceptions import SdcInputError
from sdc.release import screen
from sdc.release.manifest import OutputEntry
from sdc.release.report import other_entry
from sdc.ruleset import RuleSet
from sdc.verdict import Status

#: Why a microdata output that passes its rules is still review at the gate.
KEYS_REVIEW = (
    "record-level data leaves only with a checker's approval naming it: the researcher chose "
    "the keys ({keys}); check that every quasi-identifier of the data is among them"
)


class CheckedMicrodata:
    """The gate's verdict on a microdata output (a report entry, like the other kinds)."""

    def __init__(self, name: str, entry: dict[str, Any]) -> None:
        self.name = name
        self.entry = entry

    def to_report(self) -> dict[str, Any]:
        return self.entry


def check_microdata(
    o: OutputEntry, data: bytes, evidence: Any, ruleset: RuleSet, max_cells: int
) -> CheckedMicrodata:
    """Read the released records, check their bytes and names, and assess them again."""
    from sdc.microdata.output import assess
    from sdc.microdata.released import parse_evidence, read_records, records_csv

    def failed(reason: str) -> CheckedMicrodata:
        return CheckedMicrodata(o.name, other_entry(o.name, "microdata", Status.FAIL, reason))

    try:
        keys, sensitive, weight, alpha = parse_evidence(evidence)
        rows = read_csv(data, max_cells)
        frame = read_records(rows, [*keys, *sensitive], weight)
    except SdcInputError as exc:
        return failed(f"the released records cannot be used: {str(exc).rstrip('.')}")
    differs = first_difference(records_csv(frame, [*keys, *sensitive], weight), data)
    if differs is not None:
        return failed(f"line {differs} of the released records is not in their one "
                      "serialisation: the file must equal it byte for byte")  # fmt: skip
    names = screen.screen_names([*keys, *sensitive, *([weight] if weight else [])],
                                ruleset.params["row-level"])  # fmt: skip
    try:
        out = assess(frame, ruleset, keys=keys, sensitive=sensitive or None, weight=weight,
                     name=o.name, alpha=alpha, func="the gate")  # fmt: skip
        entry = out.to_report()
    except SdcInputError as exc:
        return failed(f"the released records cannot be assessed: {str(exc).rstrip('.')}")
    entry["statistic"] = "records"
    status = Status(entry["status"])
    reasons = list(entry["reasons"])
    name_status = screen.status(names)
    if name_status is not Status.PASS:
        reasons += screen.reasons(names, "a column name")
        entry["findings"] = [*entry["findings"], *screen.findings(names)]
    if status is Status.FAIL:
        reasons.append("the assessment of the released records fails (see the findings)")
    status = Status.worst([status, name_status, Status.REVIEW])
    if status is Status.REVIEW:
        reasons.append(KEYS_REVIEW.format(keys=", ".join(keys)))
    entry["status"], entry["reasons"] = status.value, reasons
    return CheckedMicrodata(o.name, entry)
