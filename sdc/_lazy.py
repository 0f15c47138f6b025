"""Public names of a package, imported on first use.

``import sdc`` and ``sdc --help`` must not pay for numba, pandas, statsmodels or
HiGHS: a package lists its public names with the module that defines each, and
the module is imported when the name is first read (PEP 562).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from typing import Any


def attach(
    package: str, names: dict[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``.

    ``names`` maps each public name to the module (absolute) that defines it; any
    other attribute that is a submodule of ``package`` is imported on access too.

    Examples
    --------
    >>> get, _, names = attach("json", {"dumps": "json"})
    >>> get("dumps")({"a": 1}), names
    ('{"a": 1}', ['dumps'])
    """

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is not None:
            value = getattr(importlib.import_module(module), name)
        else:
            try:
                value = importlib.import_module(f"{package}.{name}")
            except ModuleNotFoundError as exc:
                if exc.name != f"{package}.{name}":
                    raise
                raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__, sorted(names)
