"""Every Examples section in the installed package is a tested specification."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import sdc


def _modules() -> list[str]:
    return sorted(
        m.name for m in pkgutil.walk_packages(sdc.__path__, prefix="sdc.") if m.name != "sdc.cli"
    ) + ["sdc"]


@pytest.mark.parametrize("name", _modules())
def test_module_examples(name: str) -> None:
    module = importlib.import_module(name)
    flags = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
    result = doctest.testmod(module, optionflags=flags, verbose=False)
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"


def test_examples_exist_for_public_api() -> None:
    """The public entry points carry runnable examples."""
    finder = doctest.DocTestFinder()
    for obj in (sdc.Session, sdc.RuleSet, sdc.TableOutput, sdc.Status):
        assert any(t.examples for t in finder.find(obj)), obj
