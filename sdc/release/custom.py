"""Outputs the engine did not make: a file (or a fitted model it cannot check) for a person.

``Session.custom_output`` copies a file into the request as it is (a figure, a table
made elsewhere, the coefficients of a regression class the engine has no check for,
such as statsmodels' ``QuantReg``). No automatic check applies, so its verdict is
never better than ``review``: a checker must look at it and approve it. It is still
screened as the gate screens files nobody described (:mod:`sdc.release.unknown_files`,
:mod:`sdc.release.screen`): a file that looks like row-level data fails.

In the request it is ``<name><suffix>`` (the suffix of the file it was copied from),
listed in the manifest as kind ``custom`` with no evidence.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from sdc._text import printable
from sdc._validation import input_error
from sdc.release.report import other_entry
from sdc.verdict import Status

#: The manifest's kind of a custom output and of its file.
CUSTOM = "custom"
_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")
#: Largest file ``custom_output`` copies (the gate's ``[gate]`` caps apply again there).
MAX_BYTES = 64 << 20


def custom_path(name: str, suffix: str) -> str:
    """The file of custom output ``name`` in the request.

    >>> custom_path("km_figure", ".png")
    'km_figure.png'
    """
    return f"{name}{suffix}"


def custom_suffix(name: str, path: str) -> str | None:
    """The suffix of ``path`` if it is the file of custom output ``name``; else None.

    >>> custom_suffix("fig", "fig.png"), custom_suffix("fig", "other.png")
    ('.png', None)
    """
    if not path.startswith(name):
        return None
    suffix = path[len(name) :]
    return suffix if _SUFFIX.fullmatch(suffix) else None


def _suffix(source: str) -> str:
    suffix = Path(source).suffix.lower()
    return suffix if _SUFFIX.fullmatch(suffix) else ".dat"


def looks(path: str, data: bytes) -> tuple[Status, list[str]]:
    """What screening ``data`` shows: ``fail`` and why when it looks like row-level data."""
    from sdc.release.unknown_files import row_level_signs

    signs = row_level_signs(data)
    if signs:
        return Status.FAIL, [
            f"{printable(path)!r} looks like row-level data: {'; '.join(signs)}; it must not "
            "leave as it is"
        ]
    return Status.REVIEW, []


def result_csv(result: Any) -> str:
    """The coefficient table of a fitted statsmodels result, as CSV text."""
    columns = {"coef": "params", "std_err": "bse", "t": "tvalues", "p": "pvalues"}
    frame = pd.DataFrame({c: pd.Series(getattr(result, a)) for c, a in columns.items()
                          if getattr(result, a, None) is not None})  # fmt: skip
    return frame.to_csv(index_label="term")


class CustomOutput:
    """A file the engine did not make, released only after a person reviews it.

    Examples
    --------
    >>> out = CustomOutput("notes", "notes.txt", "figure notes", b"Figure 1 shows ...")
    >>> out.status.value, out.path
    ('review', 'notes.txt')
    """

    kind = CUSTOM
    value_name = "file"
    plot = False

    def __init__(self, name: str, source: str, label: str, data: bytes) -> None:
        self.name = name
        self.source = source
        self.label = label
        self.data = data
        self.path = custom_path(name, _suffix(source))
        self.definition: dict[str, Any] = {
            "version": 1, "call": "custom_output", "kind": label, "file": Path(source).name,
        }  # fmt: skip

    @property
    def statistic(self) -> str:
        return self.label

    @property
    def status(self) -> Status:
        return Status.worst([Status.REVIEW, looks(self.path, self.data)[0]])

    @property
    def reasons(self) -> tuple[str, ...]:
        why = (
            f"a file the engine did not make ({printable(self.label)}, from "
            f"{printable(Path(self.source).name)!r}): no automatic check applies; a person "
            "must review it before it may leave"
        )
        return (why, *looks(self.path, self.data)[1])

    def to_report(self) -> dict[str, Any]:
        entry = other_entry(self.name, CUSTOM, self.status, self.reasons[0])
        entry.update(statistic=self.label, reasons=list(self.reasons))
        return entry

    def summary(self) -> str:
        lines = [f"{self.name}: custom output ({self.label}) -> {self.status.value.upper()}"]
        return "\n".join([*lines, *(f"  [{i}] {r}" for i, r in enumerate(self.reasons, 1))])

    def __repr__(self) -> str:
        return f"<CustomOutput {self.name!r} {self.label!r} status={self.status.value}>"


def read_custom(source: Any, func: str) -> tuple[str, bytes]:
    """The name and bytes of what ``custom_output`` copies: a regular file, or the coefficient
    table of a fitted statsmodels result (as ``<class>.csv``)."""
    if hasattr(source, "params") and hasattr(source, "model"):
        return f"{type(source.model).__name__}.csv", result_csv(source).encode("utf-8")
    if not isinstance(source, str | Path):
        raise input_error("path", func, "a file path or a fitted statsmodels result",
                          type(source).__name__)  # fmt: skip
    path = Path(source)
    if path.is_symlink() or not path.is_file():
        raise input_error("path", func, "a regular file (not a folder or a link)", str(source))
    if path.stat().st_size > MAX_BYTES:
        raise input_error("path", func, f"a file of at most {MAX_BYTES >> 20} MiB", str(source))
    return path.name, path.read_bytes()
