"""What a differencing check found: findings, notes, suggestions, and the verdict.

A *finding* is a group of 1 to t-1 records whose count (or, for a magnitude
table, whose sum) follows from released numbers: it names the group, its size,
the outputs that together give it away and the combination that does. A *note*
says what the check could not cover and why (an output whose records cannot be
identified, a system too large to decide exactly): it makes the result
``review``, never ``pass``. *Suggestions* say how to remove the findings.

The result holds counts of hidden cells and small groups: like the evidence and
the checker's report, it stays inside the TRE.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import pandas as pd

from sdc.verdict import Status


def _quoted(names: list[str]) -> str:
    shown = [repr(n) for n in names]
    if len(shown) <= 1:
        return "".join(shown)
    return ", ".join(shown[:-1]) + " and " + shown[-1]


def term_text(output: str, cell: dict[str, str]) -> str:
    """A released number as ``output[dim=label, ...]``."""
    inside = ", ".join(f"{k}={v}" for k, v in cell.items())
    return f"{output}[{inside}]"


def combination_text(terms: list[tuple[str, dict[str, str], Fraction]]) -> str:
    """``a[x=1] - b[x=1] + 1/2 c[...]``: how released numbers give the group."""
    parts = []
    for i, (output, cell, coef) in enumerate(terms):
        size = abs(coef)
        text = ("" if size == 1 else f"{size} x ") + term_text(output, cell)
        if i == 0:
            parts.append(("-" if coef < 0 else "") + text)
        else:
            parts.append(("- " if coef < 0 else "+ ") + text)
    return " ".join(parts)


@dataclass(frozen=True)
class Finding:
    """A small group derivable from released numbers (see the module docstring)."""

    measure: str
    group: str
    records: int | None
    outputs: tuple[str, ...]
    combination: tuple[tuple[str, dict[str, str], Fraction], ...]
    threshold: int
    interval: tuple[int, int] | None = None
    earlier: tuple[str, ...] = ()
    #: The atoms of the group (inside the check only: not reported).
    atoms: tuple[int, ...] = field(default=(), compare=False, repr=False)

    @property
    def message(self) -> str:
        size = f"{self.records} record(s)"
        if self.records is None and self.interval is not None:
            size = f"{self.interval[0]} to {self.interval[1]} record(s)"
        what = size if self.measure == "records" else f"the {self.measure} over {size}"
        how = "derivable" if self.interval is None else (
            f"pinned between {self.interval[0]} and {self.interval[1]} (rounded outputs)"
        )  # fmt: skip
        source = "output" if len(self.outputs) == 1 else "outputs"
        text = (f"{self.group}: {what}, fewer than {self.threshold}, {how} from {source} "
                f"{_quoted(list(self.outputs))}")  # fmt: skip
        if self.earlier:
            text += f" (released before: {_quoted(list(self.earlier))})"
        if not self.combination:
            return f"{text} (bounds of the attacker's linear programmes)"
        return f"{text}: {combination_text(list(self.combination))}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "measure": self.measure,
            "group": self.group,
            "records": self.records,
            "outputs": list(self.outputs),
            "released_before": list(self.earlier),
            "combination": [
                {"output": o, "cell": dict(c), "coefficient": str(k)}
                for o, c, k in self.combination
            ],
            "interval": None if self.interval is None else list(self.interval),
            "message": self.message,
        }


@dataclass(frozen=True)
class DifferencingResult:
    """The outcome of a differencing check over a set of outputs.

    ``status`` is ``fail`` when a finding exists, ``review`` when a note says what
    could not be checked, ``pass`` otherwise.
    """

    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    suggestions: tuple[str, ...] = ()
    checked: tuple[str, ...] = ()
    released: tuple[str, ...] = ()
    method: str = "records"
    info: dict[str, Any] = field(default_factory=dict)
    #: Why the check could not run at all (fail closed: the result is ``fail``).
    errors: tuple[str, ...] = ()

    @property
    def status(self) -> Status:
        if self.findings or self.errors:
            return Status.FAIL
        return Status.REVIEW if self.notes else Status.PASS

    def involved(self) -> dict[str, list[Finding]]:
        """Findings per output they name (outputs released before excluded)."""
        out: dict[str, list[Finding]] = {}
        for f in self.findings:
            for name in f.outputs:
                if name not in f.earlier:
                    out.setdefault(name, []).append(f)
        return out

    @property
    def table(self) -> pd.DataFrame:
        """One row per finding: measure, group, records, outputs, message."""
        rows = [{"measure": f.measure, "group": f.group, "records": f.records,
                 "outputs": ", ".join(f.outputs), "message": f.message}
                for f in self.findings]  # fmt: skip
        return pd.DataFrame(rows, columns=["measure", "group", "records", "outputs", "message"])

    def to_report(self) -> dict[str, Any]:
        """The report's ``differencing`` section (inside the TRE: it holds small counts)."""
        return {
            "status": self.status.value,
            "method": self.method,
            "outputs": list(self.checked),
            "released_before": list(self.released),
            "findings": [f.to_dict() for f in self.findings],
            "notes": [*self.errors, *self.notes],
            "suggestions": list(self.suggestions),
        }

    def summary(self) -> str:
        """A short account in words, with numbered findings, notes and suggestions."""
        head = (f"differencing over {len(self.checked)} output(s)"
                + (f" and {len(self.released)} released before" if self.released else "")
                + f" -> {self.status.value.upper()}")  # fmt: skip
        lines = [head]
        lines += [f"  [{i}] {f.message}" for i, f in enumerate(self.findings, 1)]
        lines += [f"  error: {n}" for n in self.errors]
        lines += [f"  note: {n}" for n in self.notes]
        lines += [f"  suggestion: {s}" for s in self.suggestions]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (f"<DifferencingResult {self.status.value}: {len(self.findings)} finding(s), "
                f"{len(self.notes)} note(s)>")  # fmt: skip
