"""The README's commands are the ones CI runs, and the package ships its data files."""

from __future__ import annotations

from pathlib import Path

import sdc
from sdc.release.report import report_schema
from sdc.ruleset import preset_names

ROOT = Path(__file__).resolve().parents[1]


def test_ci_runs_the_readme_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    block = readme.split("```sh\n", 1)[1].split("```", 1)[0].strip().splitlines()
    assert len(block) == 2, "the README opens with exactly two commands"
    assert block[1] in ci.splitlines()


def test_installed_package_has_presets_schema_and_example() -> None:
    assert preset_names() == ["acro", "datashield", "default", "opensafely"]
    assert report_schema()["properties"]["schema_version"]["const"] == "1.4"
    from sdc.example import example_microdata

    assert len(example_microdata()) > 1000
    assert sdc.__version__


def test_every_subpackage_is_installed() -> None:
    """Each folder of ``sdc/`` with an ``__init__.py`` is in the package list, so a
    non-editable install (CI, users) has it."""
    import tomllib

    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])  # fmt: skip
    found = {
        ".".join(("sdc", *p.parent.relative_to(ROOT / "sdc").parts))
        for p in (ROOT / "sdc").rglob("__init__.py")
    }
    assert found <= listed, sorted(found - listed)
