"""The operators' page on trust (``docs/operators/trust.md``): its examples run."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

PAGE = Path(__file__).resolve().parents[1] / "docs" / "operators" / "trust.md"


def test_the_trust_page_examples_run(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SDC_RULES", raising=False)
    monkeypatch.delenv("SDC_SIGNING_KEY", raising=False)
    flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    result = doctest.testfile(str(PAGE), module_relative=False, optionflags=flags)
    assert result.attempted > 20 and result.failed == 0
