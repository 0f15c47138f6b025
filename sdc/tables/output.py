"""A checked table: its values, verdict, per-cell findings and protected version."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from sdc.outputs import cell_lines
from sdc.plots import Plottable
from sdc.protection.audit import Audit
from sdc.protection.params import with_options
from sdc.tables.check import TableCheck
from sdc.tables.labels import cell_labels, long_frame, table_csv, wide_frame
from sdc.tables.model import TableModel
from sdc.tables.protect import Release, protect, protect_with
from sdc.tables.protected import ProtectedTable
from sdc.tables.statistics import COUNTS
from sdc.verdict import Status


def _json_number(x: float) -> float | int | None:
    if not np.isfinite(x):
        return None
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def _audit_entry(audited: Audit, cell: int) -> dict[str, Any]:
    """A suppressed cell's audit in the report: the attacker's interval and whether it is wide
    enough. Only exact bounds are shown (``None`` otherwise): an inner bound depends on which
    LPs the audit chose to run, and that choice depends on the protection the cell needs."""
    shown = bool(audited.exact[cell])
    return {
        "lower": _json_number(audited.lower[cell]) if shown else None,
        "upper": _json_number(audited.upper[cell]) if shown else None,
        "ok": bool(audited.ok[cell]),
    }


class TableOutput(Plottable):
    """One research output of kind "frequency table" or "magnitude table".

    Holds per-cell numbers only, never the rows it was computed from.
    ``protected_applied`` says whether the released version is the protected one
    (failing cells suppressed, or redacted and rounded) or the table as computed.

    Examples
    --------
    >>> import pandas as pd, sdc
    >>> df = pd.DataFrame({"region": ["N"] * 24 + ["S"] * 4, "sex": ["F", "M"] * 14})
    >>> t = sdc.Session(rules="default").crosstab(df.region, df.sex)
    >>> t.status
    <Status.FAIL: 'fail'>
    >>> t.findings[["region", "sex", "rule", "measured", "limit"]]
      region sex       rule  measured  limit
    0      S   F  threshold       2.0   10.0
    1      S   M  threshold       2.0   10.0
    """

    #: What the engine offers to make the output pass (e.g. a histogram's re-binning).
    advice: tuple[str, ...] = ()
    #: Combinations declared structurally impossible (``sdc.tables.structural``).
    structural_zeros: tuple[dict[str, str], ...] = ()
    #: Shares of the released counts (``crosstab(normalize=...)``, see
    #: :mod:`sdc.tables.pandas_args`); not written by ``finalise``, which writes the counts.
    shares: pd.DataFrame | None = None
    #: Fingerprints of the columns it was computed from (``sdc.tables.tabulate``).
    fingerprints: dict[str, Any] | None = None
    #: What made it, as recorded in the manifest (``sdc.definition``); set by the session.
    definition: dict[str, Any] | None = None
    #: Called with the protected version after ``protect`` (the session keeps it to release).
    on_protect: Callable[[TableOutput], None] | None = None

    def __init__(
        self, name: str, check: TableCheck, values: np.ndarray, value_name: str,
        protected_applied: bool, release: Release | None = None,
    ) -> None:  # fmt: skip
        self.name = name
        self.check = check
        self.values = values
        self.value_name = value_name
        self.protected_applied = protected_applied
        self._release = release

    @property
    def statistic(self) -> str:
        return self.check.statistic

    @property
    def kind(self) -> str:
        return "magnitude table" if self.check.evidence.has_values else "frequency table"

    @property
    def model(self) -> TableModel:
        return self.check.evidence.model

    @cached_property
    def protected(self) -> Release:
        """The table with primary protection applied, and the verdict on releasing it.

        A gate passes the release it read from a file; otherwise the rule set's
        protection is applied to the computed values.
        """
        return self._release if self._release is not None else protect(self.check, self.values)

    def protect(
        self,
        *,
        secondary_zeros: bool | None = None,
        singletons: bool | None = None,
        audit_rounds: int | None = None,
        exact_intervals: bool | None = None,
        cost: str | None = None,
        clean_up: bool | None = None,
        small_counts: str | None = None,
        threshold: int | None = None,
        hide: Sequence[Mapping[str, Any]] | None = None,
        publish: Sequence[Mapping[str, Any]] | None = None,
    ) -> ProtectedTable:
        """Primary and secondary suppression, then the audit; options override the rule set.

        ``cost``: ``value``, ``frequency`` or ``unity``; ``clean_up``, ``small_counts`` and
        ``threshold`` as in ``ProtectionParams``. ``hide`` and ``publish``: cells a checker
        sets by hand, each as its labels (``{"region": "W", "age": "<40"}``; a dimension
        left out is its total): ``hide`` cells are suppressed and protected as primaries,
        ``publish`` cells are never suppressed (a cell that fails a rule, published so,
        fails the table).

        Rounded (``redact-round``) rule sets keep their own protection.
        """
        from sdc.tables.forced import cells_named

        rules = self.check.ruleset.protection
        params = with_options(
            rules, "TableOutput.protect", secondary_zeros=secondary_zeros, singletons=singletons,
            audit_rounds=audit_rounds, exact_intervals=exact_intervals, cost=cost,
            clean_up=clean_up, small_counts=small_counts, threshold=threshold,
        )  # fmt: skip
        forced = cells_named(self.model, hide, publish, "TableOutput.protect")
        if params == rules and self._release is None and forced is None:
            release = self.protected
        else:
            release = protect_with(self.check, self.values, params, forced)
        result = ProtectedTable(self, release)
        if self.on_protect is not None:
            options = {k: v for k, v in dataclasses.asdict(params).items() if k != "apply"}
            if hide or publish:  # cells set by hand, as given
                options |= {"hide": [dict(c) for c in hide or ()],
                            "publish": [dict(c) for c in publish or ()]}  # fmt: skip
            self.on_protect(self.released_as(result, options))
        return result

    def released_as(self, protected: ProtectedTable, options: dict[str, Any]) -> TableOutput:
        """This table as ``protected`` releases it, ``options`` (the protection's settings)
        recorded in its definition: what a session keeps after ``protect``."""
        released = TableOutput(self.name, self.check, self.values, self.value_name, True,
                               protected.release)  # fmt: skip
        released.advice, released.fingerprints = self.advice, self.fingerprints
        released.plot, released.structural_zeros = self.plot, self.structural_zeros
        released.on_protect = self.on_protect
        released.definition = {
            **(self.definition or {}), "call": "protect",
            "protection": {"applied": True, "options": options, "linked": None},
        }  # fmt: skip
        return released

    @property
    def status(self) -> Status:
        """The verdict on the version that would be released."""
        return self.protected.status if self.protected_applied else self.check.status

    @property
    def reasons(self) -> tuple[str, ...]:
        if self.protected_applied:
            return self.protected.reasons
        reasons = [*self.check.errors, *self.check.notes]
        n_fail, n_review = int(self.check.fail.sum()), int(self.check.review.sum())
        if n_fail:
            reasons.append(f"{n_fail} cell(s) fail a rule; see the findings")
        if n_review:
            reasons.append(f"{n_review} cell(s) need review; see the findings")
        return tuple(reasons)

    @property
    def table(self) -> pd.DataFrame:
        """The table as computed, shaped like ``pandas.crosstab``."""
        return wide_frame(self.model, self.values, self.value_name, self.statistic in COUNTS)

    @property
    def protected_table(self) -> pd.DataFrame:
        """The table with failing cells masked (NaN), and rounded where the rule set says."""
        return wide_frame(
            self.model, self.protected.values, self.value_name, self.statistic in COUNTS
        )

    @property
    def released_values(self) -> np.ndarray:
        return self.protected.values if self.protected_applied else self.values

    def released_csv(self) -> str:
        """What ``finalise`` writes: :meth:`released_long` in its one serialisation
        (:mod:`sdc.canonical`)."""
        return table_csv(
            self.model, self.released_values, self.value_name, self.statistic in COUNTS
        )

    def evidence_dict(self) -> dict[str, Any]:
        """The evidence the gate re-checks, as plain data."""
        return self.check.evidence.to_dict()

    def released_long(self) -> pd.DataFrame:
        """The released version, one row per published cell (what ``finalise`` writes)."""
        return long_frame(
            self.model, self.released_values, self.value_name, self.statistic in COUNTS
        )

    @cached_property
    def findings(self) -> pd.DataFrame:
        """One row per (published cell, rule) that fails or needs review, with its reason."""
        published = self.model.published_mask
        frames = []
        for r in self.check.results:
            hit = np.flatnonzero((r.fail | r.review) & published)
            if not hit.size:
                continue
            f = cell_labels(self.model, hit)
            f["rule"] = r.rule
            f["outcome"] = np.where(r.fail[hit], "fail", "review")
            f["measured"] = r.measured[hit]
            f["limit"] = r.limit[hit]
            f["message"] = r.messages(hit)
            f["_cell"] = hit
            frames.append(f)
        cols = [*self.model.dims, "rule", "outcome", "measured", "limit", "message"]
        if not frames:
            return pd.DataFrame(columns=cols)
        out = pd.concat(frames, ignore_index=True).sort_values(["_cell", "rule"], kind="stable")
        return out[cols].reset_index(drop=True)

    def _suppression_kinds(self) -> list[str | None]:
        """Per cell: ``None`` (published), ``"primary"`` or ``"secondary"`` (released version).

        A release read back by the gate does not say which cells are secondary: there,
        a suppressed cell that fails no rule is one (rounded tables have none).
        """
        n = self.model.n_cells
        if not self.protected_applied:
            return [None] * n
        r = self.protected
        suppressed = r.suppressed & self.model.published_mask
        if r.secondary is not None:
            secondary = r.secondary & suppressed
        elif r.rounded_to is not None:
            secondary = np.zeros(n, dtype=bool)
        else:
            secondary = suppressed & ~self.check.fail
        return [
            None if not s else ("secondary" if sec else "primary")
            for s, sec in zip(suppressed.tolist(), secondary.tolist(), strict=True)
        ]

    def to_report(self) -> dict[str, Any]:
        """This output's entry in the JSON report (no row-level data, no contributions)."""
        model, ev = self.model, self.check.evidence
        cells = np.flatnonzero(model.published_mask)
        fails: dict[int, list[str]] = {int(c): [] for c in cells}
        reviews: dict[int, list[str]] = {int(c): [] for c in cells}
        for r in self.check.results:
            for c in np.flatnonzero(r.fail & model.published_mask):
                fails[int(c)].append(r.rule)
            for c in np.flatnonzero(r.review & model.published_mask):
                reviews[int(c)].append(r.rule)
        released = self.released_values
        kinds = self._suppression_kinds()
        audited = self.protected.audit if self.protected_applied else None
        cell_entries = []
        for c in cells:
            ci = int(c)
            interval = None
            if audited is not None and kinds[ci] is not None:
                interval = _audit_entry(audited, ci)
            cell_entries.append(
                {
                    "labels": {k: str(v) for k, v in model.labels(ci).items()},
                    # A failing cell's value is withheld even from the report.
                    "value": None if self.check.fail[ci] else _json_number(released[ci]),
                    "n": int(ev.contributors[ci]),
                    "records": int(ev.records[ci]),
                    "suppressed": kinds[ci] is not None,
                    "suppression": kinds[ci],
                    "audit": interval,
                    "failed_rules": fails[ci],
                    "review_rules": reviews[ci],
                }
            )
        findings = [
            {
                "rule": row["rule"],
                "outcome": row["outcome"],
                "cell": {d: str(row[d]) for d in model.dims},
                "measured": _json_number(row["measured"]),
                "limit": _json_number(row["limit"]),
                "message": row["message"],
            }
            for row in self.findings.to_dict("records")
        ]
        return {
            "name": self.name,
            "kind": self.kind,
            "statistic": self.statistic,
            "status": self.status.value,
            "reasons": list(self.reasons),
            "dims": list(model.dims),
            "row_dims": list(model.dims[: model.n_rows]),
            "margins": model.margins,
            "protected": self.protected_applied,
            "rounded_to": self.protected.rounded_to if self.protected_applied else None,
            "cells": cell_entries,
            "findings": findings,
            **({"structural_zeros": list(self.structural_zeros)} if self.structural_zeros else {}),
        }

    def summary(self) -> str:
        """A short text account of the verdict with numbered reasons."""
        lines = [
            f"{self.name}: {self.kind}, statistic {self.statistic!r}, "
            f"{int(self.model.published_mask.sum())} cells -> {self.status.value.upper()}"
        ]
        for i, reason in enumerate(self.reasons, 1):
            lines.append(f"  [{i}] {reason}")
        if self.structural_zeros:
            from sdc.tables.structural import shown

            lines.append(f"  {shown(self.structural_zeros)}")
        lines += cell_lines(self.to_report(), 10)
        lines += [f"  advice: {a}" for a in self.advice]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return (
            f"<TableOutput {self.name!r} {self.kind} {self.statistic} status={self.status.value}>"
        )
