"""What a test needs from its surroundings, and what happens when it is missing.

Outside CI a missing need (reference data in ``../shared/data``, a peer tool's virtual
environment, an optional package, a browser, a database server) skips the test and says
why. In CI (the ``CI`` environment variable is set, as ``.ci/run`` does) it fails: nothing
may be skipped silently where the verdict on the code is given.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import NoReturn

import pytest

IN_CI = bool(os.environ.get("CI"))


def missing(reason: str) -> NoReturn:
    """Skip (outside CI) or fail (in CI) because ``reason``."""
    if IN_CI:
        pytest.fail(f"{reason}; this is required in CI", pytrace=False)
    pytest.skip(reason)


def module(name: str) -> ModuleType:
    """Import an optional package the test needs."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        missing(f"the package {name!r} is not installed ({exc})")
