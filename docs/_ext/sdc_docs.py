"""Sphinx extension: pages whose body is generated from the code at build time.

A page asks for generated text with a block of its own::

    ```{generated} rulesets
    ```

and the block is replaced, before the page is parsed, by the text of the
generator of that name: ``rulesets`` (:mod:`sdc_rulesets`), ``api``
(:mod:`sdc_api`) or ``benchmark-tables`` (:mod:`sdc_benchmark_tables`). An
unknown name stops the build.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sdc_api import api_reference
from sdc_benchmark_tables import benchmark_tables
from sdc_rulesets import ruleset_reference

ROOT = Path(__file__).resolve().parents[2]

GENERATORS: dict[str, Callable[[], str]] = {
    "rulesets": ruleset_reference,
    "api": api_reference,
    "benchmark-tables": lambda: benchmark_tables(
        (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    ),
}

_BLOCK = re.compile(r"^```\{generated\}[ \t]*(\S*)[ \t]*\n```[ \t]*$", flags=re.M)


def expand(text: str) -> str:
    """``text`` with every generated block replaced by its generator's text.

    >>> expand("# A\\n\\n```{generated} nothing\\n```\\n")
    Traceback (most recent call last):
    ...
    ValueError: unknown generated block 'nothing'; known: rulesets, api, benchmark-tables
    """

    def one(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in GENERATORS:
            raise ValueError(f"unknown generated block {name!r}; known: {', '.join(GENERATORS)}")
        return GENERATORS[name]()

    return _BLOCK.sub(one, text)


def _source_read(app: Any, docname: str, source: list[str]) -> None:
    source[0] = expand(source[0])


def _data_docstring(app: Any, what: str, name: str, obj: Any, options: Any, lines: list) -> None:
    """A module-level constant has no docstring of its own: drop its type's (``dict``'s)."""
    if what == "data" and lines and "\n".join(lines).strip() == (type(obj).__doc__ or "").strip():
        lines.clear()


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", _source_read)
    app.connect("autodoc-process-docstring", _data_docstring)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
