"""Streaming a table from Parquet and CSV files in bounded memory.

Parquet files are read batch by batch with pyarrow (only the columns the table
needs); CSV files in chunks with pandas, exactly as ``sdc.io`` reads one file (text
grouping columns, numbers checked row by row). Each batch's evidence is merged into
the running total, so memory holds one batch plus the table's cells.

With a contributor, one contributor's rows may sit in any batch of any file, and its
distinct count and per-contributor totals only add up when its rows are together. A
first pass routes every row by a hash of its contributor id into bucket files (Arrow
IPC, on local disk beside nothing else); the second computes each bucket's evidence,
which then merges exactly. Memory then holds one bucket.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdc.exceptions import SdcInputError
from sdc.io import parse_numbers
from sdc.tables.evidence import TableEvidence
from sdc.tables.factorize import MISSING_LABEL
from sdc.tables.sources.chunks import chunk_evidence, merge_parts
from sdc.tables.sources.spec import TableSpec

#: Rows per batch: memory holds about this many rows of the needed columns at a time.
BATCH_ROWS = 1_000_000
_PARQUET_MAGIC = b"PAR1"
#: Callback ``(rows done, rows in all, stage)``; ``rows in all`` is None when unknown.
Progress = Callable[[int, int | None, str], None]


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == _PARQUET_MAGIC


def _no_column(path: Path, missing: str, columns: Sequence[str]) -> SdcInputError:
    return SdcInputError(
        f"data file {path.name!r} has no column {missing!r}; "
        f"its columns are {', '.join(map(str, list(columns)[:20]))}."
    )


def _kind(t: Any) -> str:
    """A column's type as far as the table cares: text, integer, floating, or the type."""
    import pyarrow as pa

    if pa.types.is_dictionary(t):
        return _kind(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return "text"
    if pa.types.is_integer(t):
        return "integer"
    if pa.types.is_floating(t):
        return "floating"
    return str(t)


class _Files:
    """The files of one table: their format, schema checks, and batches of the needed columns."""

    def __init__(self, paths: Sequence[str | Path], spec: TableSpec, batch_rows: int) -> None:
        self.paths = [Path(p) for p in paths]
        self.spec = spec
        self.batch_rows = batch_rows
        self.kinds: dict[str, tuple[str, str]] = {}  # column -> (kind, first file with it)
        self.integer_with_nulls: set[str] = set()
        self.dictionaries: set[str] = set()
        if not self.paths:
            raise SdcInputError("no data file given.")
        for path in self.paths:
            if not path.is_file():
                raise SdcInputError(f"data file {str(path)!r} does not exist or is not a file.")

    def total_rows(self) -> int | None:
        """Rows in all files when every file is Parquet (from the footers), else None."""
        import pyarrow.parquet as pq

        total = 0
        for path in self.paths:
            try:
                if not _is_parquet(path):
                    return None
                total += pq.ParquetFile(path).metadata.num_rows
            except Exception:  # an unreadable file: reading its batches says why
                return None
        return total

    def total_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.paths)

    def _check_types(self, path: Path, schema: Any) -> None:
        import pyarrow as pa

        for name in self.spec.columns:
            if pa.types.is_dictionary(schema.field(name).type):
                self.dictionaries.add(name)
            kind = _kind(schema.field(name).type)
            seen = self.kinds.setdefault(name, (kind, path.name))
            if seen[0] != kind:
                raise SdcInputError(
                    f"data files disagree on column {name!r}: {kind} in {path.name!r}, "
                    f"{seen[0]} in {seen[1]!r}. Give every file the same schema."
                )

    def _parquet(self, path: Path) -> Iterator[dict[str, Any]]:
        import pyarrow.parquet as pq

        pf = pq.ParquetFile(path)
        schema = pf.schema_arrow
        for name in self.spec.columns:
            if name not in schema.names:
                raise _no_column(path, name, schema.names)
        self._check_types(path, schema)
        for batch in pf.iter_batches(batch_size=self.batch_rows, columns=self.spec.columns):
            cols = {name: batch.column(name) for name in self.spec.columns}
            for d in self.spec.dims:
                if _kind(cols[d].type) == "integer" and cols[d].null_count:
                    self.integer_with_nulls.add(d)
            yield cols

    def _csv(self, path: Path) -> Iterator[dict[str, Any]]:
        sep = "\t" if path.suffix.lower() in {".tsv", ".tab"} else ","
        # All columns are read (no usecols), so a row with extra fields is an error
        # instead of being cut silently.
        reader = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8",
            chunksize=self.batch_rows,
        )  # fmt: skip
        first_row = 1
        with reader:
            for chunk in reader:
                for name in self.spec.columns:
                    if name not in chunk.columns:
                        raise _no_column(path, name, list(chunk.columns))
                cols = {name: chunk[name] for name in self.spec.columns}
                if self.spec.values is not None:
                    where = f"data file {path.name!r}"
                    cols[self.spec.values] = parse_numbers(chunk[self.spec.values], where,
                                                           first_row)  # fmt: skip
                first_row += len(chunk)
                yield cols

    def batches(self) -> Iterator[dict[str, Any]]:
        """Every batch of every file; read errors become one-line input errors."""
        for path in self.paths:
            reader = self._parquet(path) if _is_parquet(path) else self._csv(path)
            while True:
                try:
                    cols = next(reader)
                except StopIteration:
                    break
                except SdcInputError:
                    raise
                except ImportError as exc:
                    raise SdcInputError(
                        f"reading {path.name!r} needs an optional package ({exc})."
                    ) from None
                except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
                    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                    raise SdcInputError(
                        f"data file {path.name!r} cannot be read: {reason}."
                    ) from None
                yield cols


def _as_arrow(cols: dict[str, Any]) -> Any:
    import pyarrow as pa

    arrays = {
        name: pa.Array.from_pandas(c) if isinstance(c, pd.Series) else c for name, c in cols.items()
    }
    return pa.table(arrays)


def _spill(files: _Files, n_buckets: int, folder: Path, progress: Progress | None) -> list[Path]:
    """First pass: every row into the bucket file of its contributor's hash."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from sdc.tables.arrow_codes import arrow_hashes

    paths = [folder / f"bucket-{i}.arrows" for i in range(n_buckets)]
    writers: list[Any] = [None] * n_buckets
    assert files.spec.contributor is not None
    done, total = 0, files.total_rows()
    try:
        for cols in files.batches():
            table = _as_arrow(cols)
            bucket = arrow_hashes(table.column(files.spec.contributor)) % np.uint64(n_buckets)
            bucket_arr = pa.array(bucket.astype(np.int64))
            for b in np.unique(bucket):
                part = table.filter(pc.equal(bucket_arr, int(b)))
                if writers[b] is None:
                    writers[b] = pa.ipc.new_stream(str(paths[b]), part.schema)
                writers[b].write_table(part)
            done += table.num_rows
            if progress is not None:
                progress(done, total, "routing rows by contributor")
    finally:
        for w in writers:
            if w is not None:
                w.close()
    return [p for p, w in zip(paths, writers, strict=True) if w is not None]


def stream_evidence(
    paths: Sequence[str | Path], spec: TableSpec, func: str, *,
    batch_rows: int = BATCH_ROWS, progress: Progress | None = None,
    spill_dir: str | Path | None = None,
) -> tuple[TableEvidence | None, tuple[bool, ...]]:  # fmt: skip
    """Evidence of the rows of every file, in bounded memory (see the module docstring),
    and which grouping columns are Arrow dictionaries (categoricals: declared order)."""
    import pyarrow as pa

    files = _Files(paths, spec, batch_rows)
    if spec.contributor is None:
        parts = _batch_parts(files, spec, func, progress)
        ev = merge_parts(parts)
    else:
        total = files.total_rows()
        estimate = total if total is not None else files.total_bytes() // 16
        n_buckets = max(1, math.ceil(estimate / batch_rows))
        with tempfile.TemporaryDirectory(prefix="sdc-buckets-", dir=spill_dir) as tmp:
            buckets = _spill(files, n_buckets, Path(tmp), progress)
            evs = []
            for i, path in enumerate(buckets):
                with pa.ipc.open_stream(str(path)) as reader:
                    table = reader.read_all()
                cols = {name: table.column(name) for name in spec.columns}
                evs.append(chunk_evidence(cols, spec, func, threads=None))
                del table, cols
                if progress is not None:
                    progress(i + 1, len(buckets), "evidence per contributor bucket")
            ev = merge_parts(evs)
    if ev is not None and files.integer_with_nulls:
        ev = _integers_as_floats(ev, spec, files.integer_with_nulls)
    return ev, tuple(d in files.dictionaries for d in spec.dims)


def _batch_parts(
    files: _Files, spec: TableSpec, func: str, progress: Progress | None
) -> Iterator[TableEvidence | None]:
    done, total = 0, files.total_rows()
    for cols in files.batches():
        yield chunk_evidence(cols, spec, func, threads=None)
        done += len(cols[spec.dims[0]])
        if progress is not None:
            progress(done, total, "rows")


def _integers_as_floats(ev: TableEvidence, spec: TableSpec, which: set[str]) -> TableEvidence:
    """Integer columns with missing values read as floats in pandas: their labels too."""
    levels = [
        tuple(x if x == MISSING_LABEL or d not in which else float(x) for x in lv)
        for d, lv in zip(spec.dims, ev.model.levels, strict=True)
    ]
    return replace(ev, model=ev.model.with_levels(levels))
