"""Every Examples section in the installed package is a tested specification."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import sdc


def _modules() -> list[str]:
    """Every module of sdc, sdc.rules and sdc.kernels (walked one by one, because an
    editable install maps the two subpackages from their own folders)."""
    import sdc.kernels
    import sdc.rules

    names = {"sdc", "sdc.rules", "sdc.kernels"}
    for pkg in (sdc, sdc.rules, sdc.kernels):
        names.update(m.name for m in pkgutil.walk_packages(pkg.__path__, prefix=pkg.__name__ + "."))
    names.discard("sdc.cli")
    return sorted(names)


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
