"""Summary statistics of one column, per group: one checked table per statistic.

``Session.describe`` publishes each statistic as its own table (so each gets the
rules the rule set's ``[statistics]`` map gives it, and the gate re-checks each
as a table): counts get the threshold; means and sums dominance too; medians and
percentiles (``p1`` .. ``p99``) also need records on both sides (rule
``quantile``); raw ``min``, ``max`` and ``mode`` are refused unless the rule set
allows them, and a refused extreme's advice names its safe alternative: a
percentile near the end (``p5``, ``p95``), rounded to the rule set's
``[quantile]`` grid and checked for company on both sides, so it is never one
person's value. :class:`Description` puts them side by side.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sdc.tables.output import TableOutput
from sdc.tables.table_set import TableSet


class Description(TableSet):
    """Statistics of one column per group: ``table`` (groups x statistics), verdict, findings.

    ``outputs`` holds one checked table per statistic (each is in the session too).
    """

    kind = "summary statistics"

    def __init__(self, name: str, column: str, outputs: dict[str, TableOutput]) -> None:
        super().__init__(name, outputs, flat=True)
        self.column = column

    key_column = "statistic"

    def _label(self, key: Any, out: TableOutput) -> Any:
        return key

    def _header(self) -> str:
        return f"{self.name}: {self.column}, {len(self.outputs)} statistic(s)"

    def __repr__(self) -> str:
        return f"<Description {self.name!r} of {self.column!r} status={self.status.value}>"


#: The rounded percentile offered in place of a refused raw extreme.
SAFE_EXTREME = {"min": "p5", "max": "p95"}


def extreme_advice(stat: str, findings: pd.DataFrame) -> tuple[str, ...]:
    """What to ask for instead of a raw extreme the ``statistic`` rule refused.

    >>> f = pd.DataFrame({"rule": ["statistic"], "outcome": ["fail"]})
    >>> extreme_advice("max", f)[0][:40]
    "the raw max is refused: ask for 'p95' in"
    >>> extreme_advice("mean", f)
    ()
    """
    alternative = SAFE_EXTREME.get(stat)
    if alternative is None or not (findings.get("rule", pd.Series()) == "statistic").any():
        return ()
    return (
        f"the raw {stat} is refused: ask for {alternative!r} instead (a percentile rounded "
        "to the rule set's [quantile] grid, with contributors on both sides)",
    )


def describe_frame(
    data: Any, column: str, by: str | None, func: str, contributor: str | None = None
) -> tuple[pd.DataFrame, str]:
    """The columns to tabulate and the grouping column (a constant one when ``by`` is None),
    with the contributor column when one is named."""
    from sdc._validation import input_error, require_columns

    if not isinstance(data, pd.DataFrame):
        raise input_error("data", func, "a pandas DataFrame", type(data).__name__)
    if not isinstance(column, str):
        raise input_error("column", func, "one column name", column)
    if by is not None and not isinstance(by, str):
        raise input_error("by", func, "one column name or None", by)
    if contributor is not None and not isinstance(contributor, str):
        raise input_error("contributor", func, "one column name or None", contributor)
    extra = [contributor] if contributor is not None else []
    require_columns(data, [column] + ([by] if by else []) + extra, "column/by/contributor", func)
    if contributor is not None and contributor in (column, by):
        raise input_error("contributor", func, "a column other than `column` and `by`",
                          contributor)  # fmt: skip
    if by is not None:
        return data[[by, column, *extra]], by
    group = next(g for g in ("all", "group", "__group") if g not in (column, contributor))
    frame = pd.DataFrame({group: "all", column: data[column]})
    if contributor is not None:
        frame[contributor] = data[contributor].to_numpy()
    return frame, group
