"""The API reference, generated from each package's list of public names.

Every public name of ``sdc`` and of its subpackages (the lazy export lists in
their ``__init__.py``) is documented once, by autodoc, under the first package
that exports it; later packages that export the same object point to it. A name
added to an export list appears in the reference without anyone editing a page.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

#: Names shown first in their package, in this order; the others follow alphabetically.
FIRST = ("Session", "RuleSet", "Status", "TableOutput", "RegressionOutput", "ModelOutput")

#: The packages whose public names make the API, in the order the page shows them.
PACKAGES = (
    "sdc",
    "sdc.gate",
    "sdc.exceptions",
    "sdc.tables",
    "sdc.protection",
    "sdc.regression",
    "sdc.models",
    "sdc.release",
    "sdc.rules",
    "sdc.kernels",
)


def public_names(package: str) -> list[str]:
    """The names a package exports (its ``__all__``), without dunders.

    >>> public_names("sdc.gate")
    ['check_folder']
    """
    module = importlib.import_module(package)
    names = getattr(module, "__all__", None)
    if names is None:  # a plain module: its public classes and functions defined there
        names = [
            n
            for n, v in vars(module).items()
            if not n.startswith("_") and getattr(v, "__module__", None) == package
        ]
    names = [n for n in names if not n.startswith("__")]
    return sorted(names, key=lambda n: (FIRST.index(n) if n in FIRST else len(FIRST), n))


def _directive(obj: Any) -> str:
    if inspect.isclass(obj):
        return "autoclass"
    if callable(obj):
        return "autofunction"
    return "autodata"


def api_reference() -> str:
    """The API page body (below its title) as MyST Markdown with reST autodoc blocks.

    >>> text = api_reference()
    >>> ".. autoclass:: sdc.Session" in text and ".. autofunction:: sdc.gate.check_folder" in text
    True
    """
    seen: dict[int, str] = {}
    out: list[str] = []
    for package in PACKAGES:
        module = importlib.import_module(package)
        out.append(f"## `{package}`\n")
        out.append("```{eval-rst}")
        out.append(f".. automodule:: {package}\n   :no-members:\n")
        aliases = []
        for name in public_names(package):
            obj = getattr(module, name)
            full = f"{package}.{name}"
            if id(obj) in seen and not isinstance(obj, (str, int, float)):
                aliases.append((full, seen[id(obj)]))
                continue
            seen[id(obj)] = full
            directive = _directive(obj)
            out.append(f".. {directive}:: {full}")
            if directive == "autoclass":
                out.append("   :members:")
            out.append("")
        out.append("```\n")
        if aliases:
            out.append("Also exported here, documented above:\n")
            out.extend(f"- `{full}`: {{py:obj}}`{target}`" for full, target in aliases)
            out.append("")
    return "\n".join(out)
