"""Tables from a Dask DataFrame: evidence per partition, merged by a tree reduction.

Each partition is a pandas DataFrame; its evidence is computed where it lives (on a
worker), and only evidence travels: pairs are merged level by level until one is
left. With a contributor, the rows are first shuffled on the contributor column so
that each contributor's rows share a partition. Dask is imported here only.
"""

from __future__ import annotations

from typing import Any

from sdc._validation import input_error
from sdc.tables.evidence import TableEvidence
from sdc.tables.sources.chunks import chunk_evidence, merge_parts
from sdc.tables.sources.spec import TableSpec


def _partition(frame: Any, spec: TableSpec, func: str) -> TableEvidence | None:
    columns = {name: frame[name] for name in spec.columns}
    return chunk_evidence(columns, spec, func, threads=False)


def _merge_two(a: TableEvidence | None, b: TableEvidence | None) -> TableEvidence | None:
    return merge_parts([a, b])


def declared_levels(frame: Any, dims: tuple[str, ...], func: str) -> tuple[bool, ...]:
    """Which grouping columns are categorical (declared order); unknown categories refused."""
    import pandas as pd

    out = []
    for d in dims:
        dtype = frame[d].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            if not frame[d].cat.known:
                raise input_error(
                    "data", func, "categorical columns with known categories",
                    f"column {d!r} with unknown categories",
                    f"Call frame[{d!r}] = frame[{d!r}].cat.as_known() first.",
                )  # fmt: skip
            out.append(True)
        else:
            out.append(False)
    return tuple(out)


def dask_evidence(frame: Any, spec: TableSpec, func: str) -> TableEvidence | None:
    """Evidence of every row of a ``dask.dataframe.DataFrame`` (computed on its scheduler)."""
    import dask

    frame = frame[spec.columns]
    if spec.contributor is not None and frame.npartitions > 1:
        frame = frame.shuffle(on=spec.contributor, npartitions=frame.npartitions)
    parts = [dask.delayed(_partition)(p, spec, func) for p in frame.to_delayed()]
    while len(parts) > 1:
        parts = [
            dask.delayed(_merge_two)(parts[i], parts[i + 1]) if i + 1 < len(parts) else parts[i]
            for i in range(0, len(parts), 2)
        ]
    if not parts:
        return None
    (result,) = dask.compute(parts[0])
    return result


def dask_frame(series: list[Any], func: str) -> Any:
    """One Dask DataFrame of the Series given to ``crosstab`` (they must share partitions)."""
    import dask.dataframe as dd

    try:
        return dd.concat(series, axis=1)
    except Exception as exc:
        raise input_error(
            "index/columns/values", func, "Dask Series of one DataFrame (aligned partitions)",
            f"{type(exc).__name__}: {exc}", "Select them from the same Dask DataFrame.",
        ) from None  # fmt: skip
