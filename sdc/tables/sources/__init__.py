"""Tables from data that is not one pandas DataFrame: files, Dask, Spark.

The evidence of a table is a monoid, so it is computed per chunk of rows (a batch
of a file, a partition of a Dask or Spark DataFrame) and merged; only per-cell
evidence moves, plus a shuffle on the contributor column when contributor rules
apply. Files stream in bounded memory (:mod:`~sdc.tables.sources.files`), Dask
partitions merge by a tree reduction (:mod:`~sdc.tables.sources.dask_frames`),
Spark partitions send Arrow batches through ``mapInArrow``
(:mod:`~sdc.tables.sources.spark_frames`). :func:`~sdc.tables.sources.spec.finish`
checks the merged evidence exactly as the pandas path does. Dask, PySpark and
pyarrow are imported only by the functions that use them.
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "TableSpec": "sdc.tables.sources.spec",
        "source_kind": "sdc.tables.sources.dispatch",
        "source_table": "sdc.tables.sources.dispatch",
        "stream_evidence": "sdc.tables.sources.files",
    },
)

if TYPE_CHECKING:
    from sdc.tables.sources.dispatch import source_kind, source_table
    from sdc.tables.sources.files import stream_evidence
    from sdc.tables.sources.spec import TableSpec
