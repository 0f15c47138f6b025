"""The definition of a table (:mod:`sdc.definition`) from the table and the columns it read."""

from __future__ import annotations

from typing import Any

from sdc.definition import column_entry, dim_entry, table_definition
from sdc.tables.output import TableOutput


def table_definition_of(out: TableOutput, call: str, sources: dict[str, Any]) -> dict[str, Any]:
    """What made ``out``: ``call`` (the session method) and ``sources``, the data column behind
    each dimension (``dims``, None where there is none), ``values`` and ``contributor``.

    Examples
    --------
    >>> import pandas as pd, sdc
    >>> df = pd.DataFrame({"region": ["N"] * 12 + ["S"] * 12})
    >>> d = sdc.Session().pivot_table(df, index="region", aggfunc="count").definition
    >>> d["call"], [(x["name"], x["column"], x["levels"]) for x in d["dims"]], d["dataset"]["rows"]
    ('pivot_table', [('region', 'region', ['N', 'S'])], 24)
    """
    model = out.model
    fp = out.fingerprints or {}
    dims = [
        dim_entry(
            name,
            sources["dims"][d],
            (fp.get("dims") or [None] * len(model.dims))[d],
            model.levels[d],
            model.dim_groups(d),
        )
        for d, name in enumerate(model.dims)
    ]
    values = contributor = None
    if out.check.evidence.has_values:
        values = column_entry(sources["values"], fp.get("values"))
    if out.check.evidence.has_contributor:
        contributor = column_entry(sources["contributor"], fp.get("contributor"))
    return table_definition(
        call=call, statistic=out.statistic, dims=dims, n_rows=model.n_rows,
        rows=int(fp.get("rows", model.n_rows)), values=values, contributor=contributor,
        margins=model.margins,
        protection={"applied": out.protected_applied, "options": None, "linked": None},
    )  # fmt: skip
