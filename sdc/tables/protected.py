"""The user's view of a protected table: what is published, what is hidden and why, the audit."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from sdc.tables.check import TableCheck
from sdc.tables.labels import cell_labels, wide_frame
from sdc.tables.model import TableModel
from sdc.tables.protect import Release
from sdc.tables.statistics import COUNTS
from sdc.verdict import Status


class Table(Protocol):
    """What a protected table reads of the table it protects (a ``TableOutput``)."""

    name: str
    check: TableCheck
    value_name: str

    @property
    def model(self) -> TableModel: ...

    @property
    def statistic(self) -> str: ...


class ProtectedTable:
    """A table after primary and secondary suppression and the audit (``TableOutput.protect``).

    ``output`` is the table as released with this protection.
    """

    def __init__(self, output: Table, release: Release) -> None:
        self.output = output
        self.release = release

    @property
    def status(self) -> Status:
        return self.release.status

    @property
    def reasons(self) -> tuple[str, ...]:
        return self.release.reasons

    @property
    def table(self) -> pd.DataFrame:
        """The publishable table, suppressed cells masked."""
        o = self.output
        return wide_frame(o.model, self.release.values, o.value_name, o.statistic in COUNTS)

    @property
    def suppressed(self) -> pd.DataFrame:
        """One row per suppressed cell: ``primary`` (with the rules it fails) or ``secondary``."""
        o, r = self.output, self.release
        cells = np.flatnonzero(r.suppressed & o.model.published_mask)
        frame = cell_labels(o.model, cells)
        secondary = r.secondary if r.secondary is not None else np.zeros_like(r.suppressed)
        by_audit = r.by_audit if r.by_audit is not None else np.zeros_like(r.suppressed)
        kind, why = [], []
        for c in cells:
            if secondary[c]:
                kind.append("secondary")
                audit_added = by_audit[c]
                why.append(
                    "audit: widens a narrow interval" if audit_added else "protects a primary"
                )
            else:
                kind.append("primary")
                failed = [res.rule for res in o.check.results if res.fail[c]]
                why.append(", ".join(failed) if failed else "redacted")
        frame["suppression"] = kind
        frame["reason"] = why
        return frame

    @property
    def audit(self) -> pd.DataFrame:
        """Per suppressed cell: the attacker's feasible interval, whether it is exact, the
        protection it needs (how far the interval must reach on each side of the true value;
        0: positive width; NaN for a count under the threshold, whose interval must reach 0
        or the threshold) and whether it has it.

        By default the audit stops once a cell is shown protected: ``exact`` False means
        the attacker's interval contains ``[lower, upper]`` (NaN: not computed, e.g. a
        positive width shown without an LP); ``protect(exact_intervals=True)`` solves all.
        Intervals come from the published cells only; true values are not shown."""
        o, a = self.output, self.release.audit
        cells = np.flatnonzero(self.release.suppressed & o.model.published_mask)
        frame = cell_labels(o.model, cells)
        if a is None:
            for name in ("lower", "upper", "exact", "protection"):
                frame[name] = np.nan
            frame["ok"] = not o.model.margins
            return frame
        frame["lower"] = a.lower[cells]
        frame["upper"] = a.upper[cells]
        frame["exact"] = a.exact[cells]
        protection = (a.need_upper - a.need_lower) / 2
        if a.either is not None:  # a small count: its interval must reach 0 or the threshold
            protection = np.where(a.either, np.nan, protection)
        frame["protection"] = protection[cells]
        frame["ok"] = a.ok[cells]
        return frame

    def __repr__(self) -> str:
        n = int(self.release.suppressed.sum())
        return f"<ProtectedTable {self.output.name!r} suppressed={n} status={self.status.value}>"
