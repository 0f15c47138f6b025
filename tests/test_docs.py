"""The generated documentation pages say everything the code and the preset files hold.

The site itself is built by CI (``sphinx-build -W``); here its generators are
tested as plain functions: the rule-set reference against the rule registry, the
parameter classes and the preset files read directly with ``tomllib``; the API
reference against each package's export list; the benchmark tables against
``benchmarks/README.md``.
"""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import importlib.util
import re
import sys
import tomllib
from pathlib import Path

import pytest
from needs import module
from sdc.rules import PRESET_DIR, RULES

from sdc.caps import GateParams
from sdc.protection.params import ProtectionParams
from sdc.ruleset import STATISTICS, preset_names

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "docs" / "_ext"))

import sdc_api  # noqa: E402
import sdc_benchmark_tables  # noqa: E402
import sdc_docs  # noqa: E402
import sdc_rulesets  # noqa: E402


@pytest.fixture(scope="module")
def reference() -> str:
    return sdc_rulesets.ruleset_reference()


def _section(text: str, heading: str) -> str:
    """The text under a level-3 heading, up to the next heading."""
    start = text.index(f"### {heading}\n")
    end = text.find("\n#", start + 1)
    return text[start : end if end >= 0 else None]


def _row(section: str, name: str) -> list[str]:
    """The cells of the table row of setting ``name``."""
    for line in section.splitlines():
        if line.startswith(f"| `{name}` |"):
            return [c.strip() for c in line.strip("|").split("|")]
    raise AssertionError(f"no row for {name!r}")


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def test_every_rule_and_setting_is_in_the_reference(reference: str) -> None:
    for rule_id, spec in RULES.items():
        assert f"[`{rule_id}`](#rule-{rule_id})" in reference
        section = _section(reference, f"`{rule_id}`")
        for f in dataclasses.fields(spec.params):
            assert _row(section, f.name)
    protection = _section(reference, "`[protection]`")
    for f in dataclasses.fields(ProtectionParams):
        assert _row(protection, f.name)
    gate = _section(reference, "`[gate]`")
    for f in dataclasses.fields(GateParams):
        assert _row(gate, f.name)
    statistics = _section(reference, "`[statistics]`")
    for stat in STATISTICS:
        assert f"| `{stat}` |" in statistics


def test_every_preset_is_in_the_reference_with_the_values_its_file_sets(reference: str) -> None:
    names = preset_names()
    header = next(line for line in reference.splitlines() if line.startswith("| setting |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    for name in names:
        text = (PRESET_DIR / f"{name}.toml").read_text(encoding="utf-8")
        assert f"### `{name}`" in reference
        assert text.rstrip("\n") in reference  # the file itself, verbatim
        raw = tomllib.loads(text)
        for section, values in raw.items():
            if section not in RULES and section != "protection":
                continue
            heading = f"`{section}`" if section in RULES else "`[protection]`"
            block = _section(reference, heading)
            for key, value in values.items():
                cells = _row(block, key)
                assert cells[columns.index(f"`{name}`")] == f"`{_toml(value)}`", (name, section)


def test_sources_cited_by_a_preset_appear_unaltered(reference: str) -> None:
    text = (PRESET_DIR / "opensafely.toml").read_text(encoding="utf-8")
    block = _section(reference, "`opensafely`")
    quoted = re.sub(r"\\(.)", r"\1", " ".join(line.lstrip("> ") for line in block.splitlines()))
    header = text.split("\nname =", 1)[0]  # the opening comment block cites the sources
    for line in header.splitlines():
        if line.startswith("# ") and len(line) > 10:
            assert line[2:].strip() in quoted


def test_bounds_are_stated_as_the_loader_checks_them() -> None:
    fields = {f.name: f for f in dataclasses.fields(RULES["nk-dominance"].params)}
    assert sdc_rulesets.constraint(fields["k"]) == "0.0 < k <= 1.0"
    assert sdc_rulesets.constraint(fields["n"]) == "1 <= n <= 10"
    zeros = dataclasses.fields(RULES["zeros"].params)[0]
    assert sdc_rulesets.constraint(zeros) == 'one of "fail", "review"'


def test_a_key_the_loader_accepts_but_the_reference_lacks_stops_the_build() -> None:
    with pytest.raises(RuntimeError, match="'registry'"):
        sdc_rulesets._top_keys({"name", "registry"}, set(RULES))


def test_every_public_name_is_in_the_api_reference() -> None:
    text = sdc_api.api_reference()
    for package in sdc_api.PACKAGES:
        for name in sdc_api.public_names(package):
            full = f"{package}.{name}"
            assert re.search(rf"\.\. auto\w+:: {re.escape(full)}\n", text) or (
                f"- `{full}`: " in text
            ), full
    assert text.count(".. autoclass:: sdc.TableOutput\n") == 1
    assert "- `sdc.tables.TableOutput`: {py:obj}`sdc.TableOutput`" in text


def test_every_benchmark_table_is_shown() -> None:
    readme = (ROOT / "benchmarks" / "README.md").read_text(encoding="utf-8")
    shown = sdc_benchmark_tables.benchmark_tables(readme)
    first_section = readme.index("\n## ")
    rows = [line for line in readme[first_section:].splitlines() if line.startswith("|")]
    assert rows
    for row in rows:
        assert row in shown
    assert "### Results\n\nMedian seconds of 3 runs:\n\n| rows |" in shown


def test_generated_blocks_are_expanded_and_unknown_ones_refused() -> None:
    page = "# Benchmarks\n\n```{generated} benchmark-tables\n```\n"
    assert "### Secondary suppression and audit" in sdc_docs.expand(page)
    assert sdc_docs.expand("no block\n") == "no block\n"
    with pytest.raises(ValueError, match="unknown generated block 'rules'"):
        sdc_docs.expand("```{generated} rules\n```\n")


def test_every_page_asking_for_generated_text_names_a_generator() -> None:
    for page in (ROOT / "docs").rglob("*.md"):
        for name in re.findall(r"^```\{generated\}\s*(\S*)", page.read_text(), flags=re.M):
            assert name in sdc_docs.GENERATORS, (page, name)


@pytest.mark.parametrize("module", [sdc_api, sdc_benchmark_tables, sdc_docs, sdc_rulesets])
def test_extension_examples(module: object) -> None:
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)  # type: ignore[arg-type]
    assert result.failed == 0


def _plot_results():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "plot_results", ROOT / "benchmarks" / "plot_results.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_series_read_the_committed_results() -> None:
    import json

    plots = _plot_results()
    folder = ROOT / "benchmarks"
    side = plots.series_side_by_side(folder)
    assert len(side) == len(json.loads((folder / "results-side-by-side.json").read_text()))
    assert all(r["acro"] > r["sdc"] > 0 for r in side)
    # The second, idle-machine run of the 1e6-cell tables replaces the first.
    second = json.loads((folder / "results-protection-1e6.json").read_text())["cases"]
    series = plots.series_protection(folder)
    for case in second:
        match = [c for c in series[case["dims"]] if c["published"] == case["n_published"]]
        assert [c["secondary"] for c in match] == [case["summary"]["secondary_seconds"]]
    # Every run with tau-Argus is drawn; a later run's rows replace an earlier one's.
    tau = {r["label"]: r for r in plots.series_tauargus(folder)}
    for name in plots.TAUARGUS_RUNS:
        for case in json.loads((folder / f"results-{name}.json").read_text())["cases"]:
            assert case["case"] in tau
    last = json.loads((folder / f"results-{plots.TAUARGUS_RUNS[-1]}.json").read_text())
    for case in last["cases"]:
        default = next(r for r in case["rows"] if r["tool"] == "sdc" and r["singletons"]
                       and r["small_counts"] == "zero-or-threshold")  # fmt: skip
        assert tau[case["case"]]["sdc"] == (default["n_secondary"], default["seconds"])
    assert {"sdc", "sdc_lean", "tau"} <= set(tau["4x1e4"])
    assert set(plots.series_regression(folder)) == {"OLS", "Logit"}
    assert {tool for _, _, tool in plots.series_models(folder)} == {"sdc", "peer", "reference"}


def test_benchmark_plots_are_drawn(tmp_path: Path) -> None:
    module("matplotlib")
    plots = _plot_results()
    assert plots.main(["--out", str(tmp_path)]) == 0
    drawn = sorted(p.name for p in tmp_path.iterdir())
    assert drawn == [
        "models.svg",
        "protection.svg",
        "regression.svg",
        "scale.svg",
        "side-by-side.svg",
        "tauargus.svg",
    ]
    committed = sorted(p.name for p in (ROOT / "docs" / "_static" / "benchmarks").iterdir())
    assert committed == drawn
    assert all((tmp_path / name).read_text().lstrip().startswith("<?xml") for name in drawn)


def test_extension_modules_are_importable_by_sphinx() -> None:
    conf = (ROOT / "docs" / "conf.py").read_text()
    assert '"sdc_docs"' in conf
    assert importlib.import_module("sdc_docs").setup
