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

from sdc.exceptions import SdcInputError
from sdc.tables.evidence import TableEvidence
from sdc.tables.sources.chunks import chunk_evidence, tree_merge
from sdc.tables.sources.spec import TableSpec

_RESULT = "evidence binary"


def _partition_evidence(spec: TableSpec, func: str) -> Any:
    """The function Spark runs on each partition (a closure over the table's spec)."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        filled = [b for b in batches if b.num_rows]
        if not filled:  # an empty partition has no evidence
            return
        table = pa.Table.from_batches(filled)
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
    try:
        rows = frame.mapInArrow(_partition_evidence(spec, func), _RESULT).collect()
    except Exception as exc:  # an input error raised on an executor arrives wrapped
        raise _input_error_in(exc) or exc from None
    parts = [pickle.loads(row["evidence"]) for row in rows]
    return tree_merge(parts)


def _input_error_in(exc: Exception) -> SdcInputError | None:
    """The ``SdcInputError`` an executor raised, from the text Spark wraps it in."""
    marker = "SdcInputError: "
    text = str(exc)
    if marker not in text:
        return None
    return SdcInputError(text.split(marker, 1)[1].splitlines()[0])
