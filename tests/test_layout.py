"""The layout is the architecture: imports flow one way, and the command line starts light.

Every import statement in the package (at module level, inside functions and
under ``TYPE_CHECKING`` alike) is read from the source, so a dependency cannot
hide in a function body.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"sdc": ROOT / "sdc", "sdc.rules": ROOT / "rules", "sdc.kernels": ROOT / "kernels"}

#: Each part of the package, by module name prefix (the longest prefix wins).
PARTS = {
    "sdc._version": "foundation",
    "sdc._lazy": "foundation",
    "sdc._quiet": "foundation",
    "sdc.exceptions": "foundation",
    "sdc.verdict": "foundation",
    "sdc._validation": "foundation",
    "sdc._text": "foundation",
    "sdc._threads": "foundation",
    "sdc.kernels": "kernels",
    "sdc.rules": "rules",
    "sdc.protection": "protection",
    "sdc.ruleset": "core",
    "sdc.outputs": "core",
    "sdc.plots": "core",
    "sdc.canonical": "core",
    "sdc.caps": "core",
    "sdc.definition": "core",
    "sdc.tables": "tables",
    "sdc.regression": "regression",
    "sdc.models": "models",
    "sdc.microdata": "microdata",
    "sdc.differencing": "differencing",
    "sdc.release": "release",
    "sdc.gate": "release",
    "sdc.session": "top",
    "sdc.io": "core",
    "sdc.example": "top",
    "sdc.cli": "top",
    "sdc": "top",
}

#: What each part may import besides itself. Output kinds never import each other.
KINDS = {"tables", "regression", "models", "microdata"}
ALLOWED = {
    "foundation": set(),
    "kernels": {"foundation"},
    "rules": {"foundation"},
    "protection": {"foundation", "kernels"},
    "core": {"foundation", "rules", "protection"},
    "tables": {"foundation", "kernels", "rules", "protection", "core"},
    "regression": {"foundation", "kernels", "rules", "core"},
    "models": {"foundation", "kernels", "rules", "core"},
    "microdata": {"foundation", "kernels", "rules", "core"},
    "differencing": {"foundation", "kernels", "rules", "protection", "core", *KINDS},
    "release": {"foundation", "kernels", "rules", "protection", "core", *KINDS, "differencing"},
    "top": {
        "foundation",
        "kernels",
        "rules",
        "protection",
        "core",
        *KINDS,
        "differencing",
        "release",
    },
}

#: Third-party packages the low layers may use (the standard library is always allowed).
THIRD_PARTY = {"kernels": {"numpy", "numba"}, "rules": {"numpy"}}
KNOWN_THIRD_PARTY = {
    "numpy", "numba", "pandas", "scipy", "statsmodels", "highspy", "sklearn", "h5py",
    "pyarrow", "joblib", "onnx", "safetensors", "torch", "dask", "distributed", "pyspark",
}  # fmt: skip


def part_of(module: str) -> str:
    best = max((p for p in PARTS if module == p or module.startswith(p + ".")), key=len)
    return PARTS[best]


def _modules() -> dict[str, Path]:
    found = {}
    for package, folder in SOURCES.items():
        for path in folder.rglob("*.py"):
            rel = path.relative_to(folder).with_suffix("")
            parts = [p for p in rel.parts if p != "__init__"]
            if any(p.startswith(".") for p in rel.parts) or "__pycache__" in rel.parts:
                continue
            found[".".join([package, *parts])] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module, line) for every import in the file; relative imports resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(a.name, node.lineno) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for a in node.names:
                full = f"{base}.{a.name}"
                out.append((full if full in MODULES else base, node.lineno))
    return out


def _internal_edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for module, path in MODULES.items():
        for name, _ in _imports(module, path):
            if name == "sdc" or name.startswith("sdc."):
                target = name
                while target not in MODULES and "." in target:
                    target = target.rpartition(".")[0]
                edges[module].add(target)
    return edges


def test_every_module_belongs_to_a_part() -> None:
    assert len(MODULES) > 60
    for module in MODULES:
        assert part_of(module) in ALLOWED, module


def test_imports_flow_one_way() -> None:
    wrong = []
    for module, path in MODULES.items():
        mine = part_of(module)
        for name, line in _imports(module, path):
            if name == "sdc" or name.startswith("sdc."):
                theirs = part_of(name)
                if theirs != mine and theirs not in ALLOWED[mine]:
                    wrong.append(
                        f"{path.relative_to(ROOT)}:{line} ({mine}) imports {name} ({theirs})"
                    )
            elif mine in THIRD_PARTY:
                top = name.split(".")[0]
                if top in KNOWN_THIRD_PARTY and top not in THIRD_PARTY[mine]:
                    wrong.append(f"{path.relative_to(ROOT)}:{line} ({mine}) imports {name}")
    assert not wrong, "\n".join(wrong)


def test_output_kinds_do_not_import_each_other() -> None:
    for kind in KINDS:
        assert not (ALLOWED[kind] & (KINDS - {kind}))


def test_no_import_cycles() -> None:
    """No module reaches itself through the modules it imports (package ``__init__`` files,
    which only name their public members, excepted)."""
    edges = _internal_edges()
    packages = {m for m, p in MODULES.items() if p.name == "__init__.py"}
    graph = {m: {t for t in ts if t not in packages and t != m} for m, ts in edges.items()}
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for t in sorted(graph.get(m, ())):
            if state.get(t) == 1:
                cycle = stack[stack.index(t) :] + [t]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if t not in state:
                visit(t)
        stack.pop()
        state[m] = 2

    for m in sorted(MODULES):
        if m not in state and m not in packages:
            visit(m)


def test_the_checker_sees_the_layering_it_enforces() -> None:
    """The checks above can fail: a kernel importing pandas or a kind importing another is seen."""
    assert part_of("sdc.tables.output") == "tables"
    assert part_of("sdc.gate") == "release"
    assert "regression" not in ALLOWED["tables"]
    assert "release" not in ALLOWED["tables"]
    assert "pandas" not in THIRD_PARTY["kernels"]


def _run(code: str) -> str:
    # -P: import the installed package, never the source folder of the current directory
    # (a non-editable install, as in CI, maps sdc.rules and sdc.kernels elsewhere).
    done = subprocess.run(
        [sys.executable, "-P", "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return done.stdout.strip()


def test_import_and_help_load_no_numerical_library() -> None:
    """``import sdc`` and ``sdc --help`` import neither numpy nor pandas (startup figures:
    ``benchmarks/bench_startup.py``)."""
    code = (
        "import sys, contextlib, io\n"
        "import sdc, sdc.cli\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n"
        "        sdc.cli.main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('numpy', 'pandas', 'numba', 'scipy') if m in sys.modules))"
    )
    assert _run(code) == "[]"


def test_import_loads_no_distributed_engine() -> None:
    """``import sdc`` and making a pandas table import neither Dask, PySpark nor (from sdc)
    pyarrow: the distributed sources are imported by the calls that use them."""
    code = (
        "import sys\n"
        "import sdc\n"
        "engines = ('dask', 'distributed', 'pyspark', 'pyarrow')\n"
        "first = sorted(m for m in engines if m in sys.modules)\n"
        "import pandas as pd\n"
        "sdc.Session().crosstab(pd.Series(['a'] * 12, dtype=object), name='t')\n"
        "print(first, sorted(m for m in ('dask', 'distributed', 'pyspark') if m in sys.modules))"
    )
    assert _run(code) == "[] []"


def test_gate_on_a_table_folder_loads_no_kernel_solver_or_model_library(tmp_path: Path) -> None:
    """Checking a folder of tables needs neither numba, statsmodels, HiGHS nor scikit-learn."""
    import sdc
    from sdc.example import example_microdata

    df = example_microdata()
    s = sdc.Session(suppress=True)
    s.crosstab(df.region, df.sex, name="visits")
    s.pivot_table(df, index="region", values="cost", aggfunc="mean", name="cost")
    s.finalise(tmp_path / "req")
    code = (
        "import sys, contextlib, io\n"
        "from sdc.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    status = main(['check', {str(tmp_path / 'req')!r}, '--json', '--trust-unsigned'])\n"
        "heavy = ('numba', 'statsmodels', 'highspy', 'sklearn', 'scipy.stats')\n"
        "print(status, sorted(m for m in heavy if m in sys.modules))"
    )
    assert _run(code) == "0 []"
