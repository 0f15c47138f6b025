"""Reading microdata files at the edge (CSV, TSV, Parquet), with one-line errors.

Grouping and contributor columns of text files are read as text, so codes such
as "01" keep their leading zeros; the value column is parsed as numbers and any
entry that is not a number is an error naming it.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from sdc.exceptions import SdcInputError

_PARQUET_MAGIC = b"PAR1"


def _is_parquet(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(4) == _PARQUET_MAGIC


def read_microdata(
    path: str | Path, text_columns: list[str], value_column: str | None
) -> pd.DataFrame:
    """The named columns of a microdata file (format told from its bytes, then its suffix)."""
    path = Path(path)
    wanted = list(dict.fromkeys([*text_columns, *([value_column] if value_column else [])]))
    if not path.is_file():
        raise SdcInputError(f"data file {str(path)!r} does not exist or is not a file.")
    try:
        if _is_parquet(path):
            frame = pd.read_parquet(path)
            _require(frame, wanted, path)
            frame = frame[wanted]
        else:
            sep = "\t" if path.suffix.lower() in {".tsv", ".tab"} else ","
            # All columns are read (no usecols), so a row with extra fields is an error
            # instead of being cut silently.
            frame = pd.read_csv(
                path, sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                encoding="utf-8",
            )  # fmt: skip
            _require(frame, wanted, path)
            frame = frame[wanted]
            if value_column:
                frame[value_column] = _to_number(frame[value_column], path)
    except SdcInputError:
        raise
    except ImportError as exc:
        raise SdcInputError(f"reading {path.name!r} needs an optional package ({exc}).") from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SdcInputError(f"data file {path.name!r} cannot be read: {reason}.") from None
    if frame.shape[0] == 0:
        raise SdcInputError(f"data file {path.name!r} has no records.")
    return frame


def _require(frame: pd.DataFrame, wanted: list[str], path: Path) -> None:
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise SdcInputError(
            f"data file {path.name!r} has no column {missing[0]!r}; "
            f"its columns are {', '.join(map(str, frame.columns[:20]))}."
        )


def _to_number(col: pd.Series, path: Path) -> pd.Series:
    return parse_numbers(col, f"data file {path.name!r}")


def parse_numbers(col: pd.Series, where: str, first_row: int = 1) -> pd.Series:
    """Text read from a file as float64; an entry that is not a number is an error naming it.

    Examples
    --------
    >>> parse_numbers(pd.Series(["1", "2.5", None], name="x"), "f.csv").tolist()
    [1.0, 2.5, nan]
    """
    parsed = pd.to_numeric(col, errors="coerce")
    bad = parsed.isna() & col.notna()
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise SdcInputError(
            f"{where}: column {col.name!r} must be numeric; "
            f"row {first_row + i} holds {col.iloc[i]!r}."
        )
    return parsed.astype("float64")


def read_table(path: str | Path) -> pd.DataFrame:
    """Every column of a data file: Parquet with its types, CSV/TSV as text (empty = missing).

    The gate's ``--data`` reads the operator's data this way; the fingerprint of a
    column does not depend on how it was typed (:mod:`sdc.definition`).
    """
    path = Path(path)
    if not path.is_file():
        raise SdcInputError(f"data file {str(path)!r} does not exist or is not a file.")
    try:
        if _is_parquet(path):
            return pd.read_parquet(path)
        sep = "\t" if path.suffix.lower() in {".tsv", ".tab"} else ","
        return pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                           encoding="utf-8")  # fmt: skip
    except ImportError as exc:
        raise SdcInputError(f"reading {path.name!r} needs an optional package ({exc}).") from None
    except (OSError, UnicodeDecodeError, ValueError, pd.errors.ParserError) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SdcInputError(f"data file {path.name!r} cannot be read: {reason}.") from None
