"""Several checked tables made by one call: one per statistic and value column.

``pivot_table(..., values=["cost", "stay"], aggfunc=["mean", "median"])`` makes one
checked table per pair (each in the session, each re-checked by the gate);
:class:`TableSet` shows them side by side with the columns pandas gives the same
call, and its verdict is the worst of theirs.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sdc.tables.output import TableOutput
from sdc.verdict import Status


class TableSet:
    """Checked tables keyed as pandas keys their columns: ``stat``, ``value`` or both.

    ``outputs`` maps each key (a tuple of the statistic's label and the value column,
    either left out when the call gave one) to its table.
    """

    kind = "tables"

    def __init__(
        self, name: str, outputs: dict[Any, TableOutput], flat: bool, inner: str | None = None
    ) -> None:
        self.name = name
        self.outputs = outputs
        self.flat = flat  # no column dimension: each table is one column of the whole
        self.inner = inner  # that column's label under each key (pandas: one values column)

    def _frame(self, attr: str) -> pd.DataFrame:
        parts: dict[Any, pd.DataFrame | pd.Series] = {}
        for key, out in self.outputs.items():
            frame = getattr(out, attr)
            if self.flat:
                column = frame.iloc[:, 0]
                parts[key] = column if self.inner is None else column.to_frame(self.inner)
            else:
                parts[key] = frame
        return pd.concat(parts, axis=1)

    @property
    def table(self) -> pd.DataFrame:
        """The tables as computed (failing cells included): for the researcher."""
        return self._frame("table")

    @property
    def protected_table(self) -> pd.DataFrame:
        """The tables with every failing cell masked: what may be released."""
        return self._frame("protected_table")

    @property
    def status(self) -> Status:
        return Status.worst(o.status for o in self.outputs.values())

    #: The findings' first column: which table each finding is about.
    key_column = "output"

    def _label(self, key: Any, out: TableOutput) -> Any:
        return out.name

    def _header(self) -> str:
        return f"{self.name}: {len(self.outputs)} table(s)"

    @property
    def findings(self) -> pd.DataFrame:
        """Each table's findings, with the table (or statistic) they are about first."""
        col = self.key_column
        frames = [o.findings.assign(**{col: self._label(k, o)}) for k, o in self.outputs.items()]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame(columns=[col, "rule", "outcome", "message"])
        out = pd.concat(frames, ignore_index=True)
        return out[[col, *[c for c in out.columns if c != col]]]

    def summary(self) -> str:
        lines = [f"{self._header()} -> {self.status.value.upper()}"]
        lines += ["  " + o.summary().replace("\n", "\n  ") for o in self.outputs.values()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        names = ", ".join(f"{o.name}={o.status.value}" for o in self.outputs.values())
        return f"<TableSet {self.name!r} status={self.status.value}: {names}>"
