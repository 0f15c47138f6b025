"""Tables from a Spark DataFrame: evidence per partition from Arrow batches, merged on the driver.

``mapInArrow`` hands each partition's rows to Python as Arrow record batches (no
pandas conversion, no ``toPandas`` of the frame); the partition's evidence goes back
as one serialised row, and the driver merges them. With a contributor, the frame is
first repartitioned by a hash of the contributor column (a shuffle) so that each
contributor's rows share a partition. A frequency table without contributors is
counted by Spark itself (a ``groupBy`` of the grouping columns): moving every row to
Python costs more than twice the count. PySpark is imported here only.
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
    if spec.values is None and spec.contributor is None:
        return _counted_in_spark(frame, spec, func)
    if spec.contributor is not None:
        frame = frame.repartition(frame.rdd.getNumPartitions(), spec.contributor)
    try:
        rows = frame.mapInArrow(_partition_evidence(spec, func), _RESULT).collect()
    except Exception as exc:  # an input error raised on an executor arrives wrapped
        raise _input_error_in(exc) or exc from None
    parts = [pickle.loads(row["evidence"]) for row in rows]
    return tree_merge(parts)


def _counted_in_spark(frame: Any, spec: TableSpec, func: str) -> TableEvidence | None:
    """A frequency table without contributors: Spark counts the records of each inner cell
    (a ``groupBy``, inside the JVM), and only the cells reach Python. Their keys are coded
    as a partition's would be (as Arrow arrays of the columns' types), so the levels and
    the evidence are those of the row path (:func:`~sdc.tables.evidence.frequency_evidence`)."""
    import numpy as np
    import pyarrow as pa
    from pyspark.sql import functions as F
    from pyspark.sql.pandas.types import to_arrow_type

    from sdc.tables.evidence import frequency_evidence
    from sdc.tables.sources.chunks import coded_rows

    counted = "__sdc_records__"
    while counted in spec.dims:  # never a grouping column's name
        counted = f"_{counted}_"
    try:
        cells = frame.groupBy(*spec.dims).agg(F.count(F.lit(1)).alias(counted)).collect()
    except Exception as exc:
        raise _input_error_in(exc) or exc from None
    if not cells:
        return None
    types = {f.name: f.dataType for f in frame.schema.fields}
    keys = {d: pa.array([row[d] for row in cells], type=to_arrow_type(types[d]))
            for d in spec.dims}  # fmt: skip
    codes, model = coded_rows(keys, spec, func)
    records = np.array([row[counted] for row in cells], dtype=np.int64)
    return frequency_evidence(codes, records, model, spec.top_k)


def _input_error_in(exc: Exception) -> SdcInputError | None:
    """The ``SdcInputError`` an executor raised, from the text Spark wraps it in."""
    marker = "SdcInputError: "
    text = str(exc)
    if marker not in text:
        return None
    return SdcInputError(text.split(marker, 1)[1].splitlines()[0])
