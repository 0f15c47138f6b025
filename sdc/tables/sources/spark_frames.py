"""Tables from a Spark DataFrame: evidence per partition from Arrow batches, merged on the driver.

``mapInArrow`` hands each partition's rows to Python as Arrow record batches (no
pandas conversion, no ``toPandas`` of the frame); the partition's evidence goes back
as one serialised row, and the driver merges them. With a contributor, the frame is
first repartitioned by a hash of the contributor column (a shuffle) so that each
contributor's rows share a partition. PySpark is imported here only.
"""

from __future__ import annotations

import pickle
from collections.abc import Iterator
from typing import Any

from sdc.tables.evidence import TableEvidence
from sdc.tables.sources.chunks import chunk_evidence, tree_merge
from sdc.tables.sources.spec import TableSpec

_RESULT = "evidence binary"


def _partition_evidence(spec: TableSpec, func: str) -> Any:
    """The function Spark runs on each partition (a closure over the table's spec)."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        table = pa.Table.from_batches(list(batches))
        if table.num_rows == 0:
            return
        cols = {name: table.column(name) for name in spec.columns}
        ev = chunk_evidence(cols, spec, func, threads=False)
        payload = pickle.dumps(ev, protocol=pickle.HIGHEST_PROTOCOL)
        yield pa.RecordBatch.from_pydict({"evidence": [payload]}, schema=pa.schema(
            [("evidence", pa.binary())]))  # fmt: skip

    return run


def spark_evidence(frame: Any, spec: TableSpec, func: str) -> TableEvidence | None:
    """Evidence of every row of a ``pyspark.sql.DataFrame``."""
    frame = frame.select(*spec.columns)
    if spec.contributor is not None:
        frame = frame.repartition(frame.rdd.getNumPartitions(), spec.contributor)
    rows = frame.mapInArrow(_partition_evidence(spec, func), _RESULT).collect()
    parts = [pickle.loads(row["evidence"]) for row in rows]
    return tree_merge(parts)


def spark_columns(frame: Any) -> list[str]:
    return list(frame.columns)
