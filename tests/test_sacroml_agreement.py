"""Agreement with SACRO-ML's structural attack (sacroml 2.0.1) on breast-cancer models.

SACRO-ML runs in its own virtual environment (it needs torch and pins pandas<=2.3.3): set it
up with ``bash benchmarks/peers/setup_sacroml_venv.sh``; these tests are marked ``peer`` and
run apart from the default suite (``pytest -m peer``), and skip when that environment is
missing. Each model is pickled here and assessed by ``benchmarks/peers/sacroml_runner.py`` in
that environment (both have scikit-learn 1.9.1, so the pickles move between them); the four
runner processes start together, since each spends about 6 s importing.

Data: ``load_breast_cancer``, ``train_test_split(test_size=0.3, stratify=y, random_state=0)``
(398 training rows), the split of ``benchmarks/peers/SACROML_NOTES.md``.

- Single trees (``DecisionTreeClassifier(min_samples_leaf=m, random_state=0)``, m = 1, 5, 20):
  SACRO-ML's equivalence classes are the leaves that ``apply(X_train)`` reaches, sized by the
  rows of ``X_train`` sent there; the engine reads the leaves' stored ``n_node_samples`` from
  the model FILE, without the data and without running the file. For a tree fitted on exactly
  ``X_train`` without sample weights the two are the same: every training row reaches the
  leaf that counted it, and every leaf holds at least one row. So leaf by leaf (sizes and class
  fractions), and in the counts and the verdicts, the two must agree.
- The forest (``RandomForestClassifier(n_estimators=10, random_state=0)``): SACRO-ML does not
  look at leaves but groups training rows by identical ``predict_proba`` rows; the engine's
  ``equivalence_classes`` on the same probabilities, and the live check with data that uses it,
  must give SACRO-ML's counts.
"""

from __future__ import annotations

import json
import pickle
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from needs import missing
from sdc.kernels.trees import LEAF_COLUMNS
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

import sdc
from sdc.models.attacks import equivalence_classes

ROOT = Path(__file__).resolve().parents[1]
SACROML_PYTHON = ROOT / "benchmarks" / ".venv-sacroml" / "bin" / "python"
RUNNER = ROOT / "benchmarks" / "peers" / "sacroml_runner.py"

pytestmark = pytest.mark.peer


@pytest.fixture(autouse=True)
def _sacroml_environment() -> None:
    if not SACROML_PYTHON.exists():
        missing(
            f"the sacroml environment is missing ({SACROML_PYTHON}): "
            "bash benchmarks/peers/setup_sacroml_venv.sh"
        )


MIN_SAMPLES_LEAF = (1, 5, 20)
#: The engine's rule and the SACRO-ML risk flag it must match.
RISKS = {
    "k-anonymity": "k_anonymity_risk",
    "class-disclosure": "class_disclosure_risk",
    "small-group": "smallgroup_risk",
    "dof": "dof_risk",
}
EQ_TERM = "equivalence classes (records with the same predictions)"


@dataclass
class Assessed:
    model: Any
    path: Path
    sacroml: dict[str, Any]


@pytest.fixture(scope="module")
def split() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=0
    )
    return X_train, X_test, y_train, y_test


@pytest.fixture(scope="module")
def assessed(
    split: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    tmp_path_factory: pytest.TempPathFactory,
) -> dict[str, Assessed]:
    """Every model fitted, pickled and assessed by SACRO-ML's structural attack (in parallel)."""
    X_train, X_test, y_train, y_test = split
    work = tmp_path_factory.mktemp("sacroml")
    data = work / "data.npz"
    np.savez(data, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)
    models: dict[str, Any] = {
        f"dt{m}": DecisionTreeClassifier(min_samples_leaf=m, random_state=0)
        for m in MIN_SAMPLES_LEAF
    }
    models["rf"] = RandomForestClassifier(n_estimators=10, random_state=0)
    procs = {}
    for name, model in models.items():
        model.fit(X_train, y_train)
        path = work / f"{name}.pkl"
        path.write_bytes(pickle.dumps(model, protocol=5))
        cmd = [str(SACROML_PYTHON), str(RUNNER), "structural", str(path), str(data),
               str(work / f"{name}.json")]  # fmt: skip
        procs[name] = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True)
    out = {}
    for name, proc in procs.items():
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, f"sacroml runner failed on {name}: {err}"
        result = json.loads((work / f"{name}.json").read_text(encoding="utf-8"))
        out[name] = Assessed(models[name], work / f"{name}.pkl", result)
    return out


@pytest.mark.parametrize("min_samples_leaf", MIN_SAMPLES_LEAF)
def test_single_tree_from_file(min_samples_leaf: int, assessed: dict[str, Assessed]) -> None:
    a = assessed[f"dt{min_samples_leaf}"]
    derived = a.sacroml["derived"]
    risks = a.sacroml["sacroml"]["global_metrics"]
    assert derived["equivalence_class_basis"].startswith("leaf reached")
    assert a.sacroml["config"]["safe_threshold"] == a.sacroml["config"]["safe_dof_threshold"] == 10

    out = sdc.check_model_file(a.path)  # rules "default": t = 10 for every rule compared
    assert out.structure is not None
    assert [g.n_trees for g in out.tree_groups] == [1]
    leaf = dict(zip(LEAF_COLUMNS, out.tree_groups[0].stats[0].tolist(), strict=True))
    assert leaf["min_leaf"] == derived["min_k"] >= min_samples_leaf
    assert leaf["small_leaves"] == derived["n_eqclasses_k_below_threshold"]
    assert leaf["class_disclosure_leaves"] == derived["n_eqclasses_class_disclosure"]
    assert leaf["small_group_leaves"] == derived["n_eqclasses_smallgroup"]
    assert leaf["leaves"] == derived["n_equivalence_classes"]
    assert out.structure.n_params == derived["n_params"]
    assert out.structure.n_records == derived["n_samples"]

    # Leaf by leaf: SACRO-ML's classes come from np.unique over leaf ids, i.e. in node order.
    tree = out.structure.components[0].trees[0]
    is_leaf = tree.left == -1
    classes = a.sacroml["equivalence_classes"]
    np.testing.assert_array_equal(tree.samples[is_leaf], classes["count"])
    np.testing.assert_array_equal(tree.fractions[is_leaf], np.asarray(classes["proba"]))

    failing = set(out.findings.loc[out.findings["outcome"] == "fail", "rule"])
    for rule, risk in RISKS.items():
        assert (rule in failing) == risks[risk], (rule, risk, risks[risk], out.findings)


def test_forest_equivalence_classes(
    split: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    assessed: dict[str, Assessed],
) -> None:
    X_train, X_test, y_train, y_test = split
    a = assessed["rf"]
    derived = a.sacroml["derived"]
    risks = a.sacroml["sacroml"]["global_metrics"]
    assert derived["equivalence_class_basis"].startswith("distinct predict_proba row")
    t = a.sacroml["config"]["safe_threshold"]

    eq = equivalence_classes(a.model.predict_proba(X_train), t)
    assert eq.n_classes == derived["n_equivalence_classes"]
    assert eq.min_size == derived["min_k"]
    assert eq.n_small == derived["n_eqclasses_k_below_threshold"]
    assert eq.records_in_small == derived["n_records_k_below_threshold"]
    assert eq.class_disclosure == derived["n_eqclasses_class_disclosure"]
    assert eq.small_group == derived["n_eqclasses_smallgroup"]
    np.testing.assert_array_equal(eq.sizes, np.sort(a.sacroml["equivalence_classes"]["count"]))

    # The live check with data puts the same classes under the same rules as SACRO-ML's flags.
    live = sdc.Session().check_model(a.model, train=(X_train, y_train), test=(X_test, y_test))
    f = live.findings
    on_classes = f[(f["term"] == EQ_TERM) & (f["outcome"] == "fail")].set_index("rule")
    measured = {
        "k-anonymity": derived["min_k"],
        "class-disclosure": derived["n_eqclasses_class_disclosure"],
        "small-group": derived["n_eqclasses_smallgroup"],
    }
    for rule, value in measured.items():
        assert (rule in on_classes.index) == risks[RISKS[rule]], (rule, f)
        if rule in on_classes.index:
            assert on_classes.loc[rule, "measured"] == value

    # Parameters are summed over the trees by both, and so is the dof verdict.
    from_file = sdc.check_model_file(a.path)
    assert from_file.structure is not None
    assert from_file.structure.n_params == derived["n_params"]
    dof_fails = (from_file.findings["rule"] == "dof") & (from_file.findings["outcome"] == "fail")
    assert bool(dof_fails.any()) == risks["dof_risk"]
