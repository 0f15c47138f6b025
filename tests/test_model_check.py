"""Trained models: weights-only checks (live and from files), hostile files, the CLI.

The leaf statistics are checked against an independent computation from the
training data (SACRO-ML's structural attack counts a single tree's leaves with
``apply(X_train)`` and takes class probabilities from ``predict_proba``); a
model read from a file must get exactly the verdict and findings of the same
model in memory; every hostile file is refused with its reason and no side effect.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import joblib
import model_corpus as corpus
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from safetensors.numpy import save
from sdc.kernels.trees import LEAF_COLUMNS, leaf_statistics
from sklearn.datasets import load_breast_cancer, make_classification
from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import KBinsDiscretizer, MinMaxScaler, OneHotEncoder
from sklearn.svm import SVC
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

import sdc
from sdc.cli import main

X, Y = load_breast_cancer(return_X_y=True)


def _rules(**sections: dict) -> sdc.RuleSet:
    text = 'extends = "default"\n' + "".join(
        f"[{name}]\n" + "".join(f"{k} = {v}\n" for k, v in values.items())
        for name, values in sections.items()
    )
    return sdc.RuleSet.from_toml(text)


def _by_rule(out: sdc.ModelOutput) -> dict[str, float]:
    return dict(zip(out.findings.rule, out.findings.measured, strict=True))


# ------------------------------------------------------------ leaves against the data


def _reference_from_data(tree: DecisionTreeClassifier, t: int = 10) -> dict[str, int]:
    """SACRO-ML's structural definitions, computed from the training data."""
    leaves = tree.apply(X)
    ids, counts = np.unique(leaves, return_counts=True)
    probas = np.array([tree.predict_proba(X[leaves == i][:1])[0] for i in ids])
    freqs = probas * counts[:, None]
    return {
        "min_leaf": int(counts.min()),
        "small_leaves": int((counts < t).sum()),
        "class_disclosure_leaves": int(np.isclose(probas, 0.0).any(axis=1).sum()),
        "small_group_leaves": int(((freqs > 0) & (freqs < t)).any(axis=1).sum()),
        "leaves": int(ids.size),
    }


@pytest.mark.parametrize("leaf", [1, 3, 8, 25])
def test_leaf_statistics_agree_with_the_training_data(leaf: int) -> None:
    tree = DecisionTreeClassifier(min_samples_leaf=leaf, random_state=0).fit(X, Y)
    t = tree.tree_
    stats = leaf_statistics(t.children_left, t.children_right, t.n_node_samples,
                            t.value[:, 0, :], np.array([0, t.node_count]), 10)[0]  # fmt: skip
    mine = dict(zip(LEAF_COLUMNS, stats.tolist(), strict=True))
    for key, value in _reference_from_data(tree).items():
        assert mine[key] == value, key
    assert mine["max_depth"] == tree.get_depth()


def test_parameters_count_as_in_the_structural_attack() -> None:
    tree = DecisionTreeClassifier(random_state=0).fit(X, Y)
    n_leaves = tree.get_n_leaves()
    expected = 2 * (tree.tree_.node_count - n_leaves) + n_leaves * (2 - 1)
    out = sdc.Session().check_model(tree)
    assert out.structure.n_params == expected
    assert out.structure.n_records == len(X)


def test_a_forest_is_read_tree_by_tree_in_one_pass() -> None:
    forest = RandomForestClassifier(n_estimators=7, random_state=0).fit(X, Y)
    out = sdc.Session().check_model(forest)
    (group,) = out.tree_groups
    assert group.n_trees == 7
    for k, est in enumerate(forest.estimators_):
        t = est.tree_
        assert (
            group.stats[k, LEAF_COLUMNS.index("min_leaf")]
            == t.n_node_samples[t.children_left == -1].min()
        )
    assert out.structure.n_params == sum(
        2 * (e.tree_.node_count - e.get_n_leaves()) + e.get_n_leaves() for e in forest.estimators_
    )


# ------------------------------------------------------------------- weights-only rules


def test_a_fully_grown_tree_fails_with_every_leaf_rule() -> None:
    out = sdc.Session().check_model(DecisionTreeClassifier(random_state=0).fit(X, Y))
    assert out.status is sdc.Status.FAIL
    found = _by_rule(out)
    assert found["k-anonymity"] == 1
    assert {"class-disclosure", "small-group", "hyperparameters"} <= set(found)
    assert "training record(s)" in out.findings.message[out.findings.rule == "k-anonymity"].iloc[0]


def test_instance_based_models_fail() -> None:
    for model in (SVC().fit(X, Y), KNeighborsClassifier().fit(X, Y)):
        out = sdc.Session().check_model(model)
        assert out.status is sdc.Status.FAIL
        row = out.findings[out.findings.rule == "instance-based"].iloc[0]
        assert row.measured > 0


def test_raw_values_go_to_review() -> None:
    df = pd.DataFrame({"sex": ["F", "M"] * 50, "age": np.arange(100.0)})
    bins = KBinsDiscretizer(n_bins=3, quantile_method="averaged_inverted_cdf")
    for est in (OneHotEncoder().fit(df[["sex"]]), MinMaxScaler().fit(df[["age"]]),
                bins.fit(df[["age"]])):  # fmt: skip
        out = sdc.Session().check_model(est)
        assert out.status is sdc.Status.REVIEW, est
        assert set(out.findings.rule) == {"raw-values"}


def test_a_linear_model_passes_and_dof_counts_parameters() -> None:
    model = LogisticRegression(max_iter=5000).fit(X, Y)
    assert sdc.Session().check_model(model).status is sdc.Status.PASS
    out = sdc.Session().check_model(model, n_records=35)  # 31 parameters
    assert out.status is sdc.Status.FAIL and _by_rule(out) == {"dof": 4.0}


def test_coarse_trees_pass_the_leaf_rules() -> None:
    Xs, ys = make_classification(n_samples=4000, n_features=4, n_informative=2,
                                 flip_y=0.2, random_state=0)  # fmt: skip
    forest = RandomForestClassifier(n_estimators=5, min_samples_leaf=300, max_depth=3,
                                    random_state=0).fit(Xs, ys)  # fmt: skip
    out = sdc.Session().check_model(forest)
    assert out.status is sdc.Status.PASS, out.findings


def test_regression_trees_get_no_class_rules() -> None:
    reg = RandomForestRegressor(n_estimators=3, min_samples_leaf=20, random_state=0).fit(X, Y)
    rules = set(sdc.Session().check_model(reg).findings.rule)
    assert not rules & {"class-disclosure", "small-group", "k-anonymity"}


@settings(max_examples=15, deadline=None)
@given(t1=st.integers(1, 60), t2=st.integers(1, 60), leaf=st.integers(1, 40))
def test_a_stricter_threshold_never_passes_more(t1: int, t2: int, leaf: int) -> None:
    lo, hi = sorted((t1, t2))
    tree = DecisionTreeClassifier(min_samples_leaf=leaf, max_depth=4, random_state=0).fit(X, Y)
    lenient = _rules(**{"k-anonymity": {"t": lo}, "small-group": {"t": lo}})
    strict = _rules(**{"k-anonymity": {"t": hi}, "small-group": {"t": hi}})
    a = sdc.Session(rules=lenient).check_model(tree)
    b = sdc.Session(rules=strict).check_model(tree)
    assert set(a.findings.rule) <= set(b.findings.rule)
    assert b.status.severity >= a.status.severity


# ------------------------------------------------------------------- files = live objects


MODELS = {
    "tree": lambda: DecisionTreeClassifier(random_state=0).fit(X, Y),
    "coarse_tree": lambda: DecisionTreeClassifier(min_samples_leaf=30, random_state=0).fit(X, Y),
    "forest": lambda: RandomForestClassifier(n_estimators=5, random_state=0).fit(X, Y),
    "extra": lambda: ExtraTreesClassifier(n_estimators=3, min_samples_leaf=5).fit(X, Y),
    "regressor": lambda: DecisionTreeRegressor(min_samples_leaf=15).fit(X, Y.astype(float)),
    "svc": lambda: SVC().fit(X, Y),
    "knn": lambda: KNeighborsClassifier().fit(X, Y),
    "logistic": lambda: LogisticRegression(max_iter=5000).fit(X, Y),
    "pipeline": lambda: make_pipeline(MinMaxScaler(), RandomForestClassifier(n_estimators=2)).fit(
        X, Y
    ),
}


@pytest.mark.parametrize("kind", sorted(MODELS))
@pytest.mark.parametrize("writer", ["pickle", "joblib", "joblib-zlib"])
def test_a_file_gets_the_verdict_of_the_live_model(kind: str, writer: str, tmp_path: Path) -> None:
    model = MODELS[kind]()
    path = tmp_path / "model.bin"  # the extension says nothing: the bytes decide
    if writer == "pickle":
        path.write_bytes(pickle.dumps(model, protocol=5))
    else:
        joblib.dump(model, path, compress=3 if writer == "joblib-zlib" else 0)
    live = sdc.Session().check_model(model, name="m")
    from_file = sdc.check_model_file(path, name="m")
    assert from_file.status is live.status
    pd.testing.assert_frame_equal(from_file.findings, live.findings)


# ----------------------------------------------------------------------- hostile files


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(lambda d: corpus.pickle_os_system(d, d / "pwned"), "system", id="os.system"),
        pytest.param(corpus.renamed_pickle, "system", id="renamed pickle"),
        pytest.param(corpus.zip_bomb, "zip bomb", id="zip bomb"),
        pytest.param(corpus.zip_traversal, "escape", id="zip traversal"),
        pytest.param(corpus.onnx_external_traversal, "etc/passwd", id="onnx external data"),
        pytest.param(corpus.safetensors_bad_offsets, "safetensors", id="safetensors offsets"),
        pytest.param(corpus.hdf5_external_link, "external", id="hdf5 external link"),
        pytest.param(corpus.truncated_hdf5, "HDF5", id="truncated hdf5"),
    ],
)
def test_hostile_files_fail_with_their_reason(make, reason: str, tmp_path: Path) -> None:
    path = make(tmp_path)
    out = sdc.check_model_file(path)
    assert out.status is sdc.Status.FAIL
    assert reason in " ".join(out.reasons), out.reasons
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "renamed-pwned").exists()


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        pytest.param(
            lambda d: corpus.torch_like_zip_with_malicious_pickle(d, d / "pwned"),
            "PyTorch",
            id="torch",
        ),  # fmt: skip
        pytest.param(corpus.skops_like_zip, "skops", id="skops"),
    ],
)
def test_formats_recognised_but_not_read_go_to_review(make, reason: str, tmp_path: Path) -> None:
    out = sdc.check_model_file(make(tmp_path))
    assert out.status is sdc.Status.REVIEW and reason in out.reasons[0]
    assert not (tmp_path / "pwned").exists()


def test_unknown_bytes_and_plain_values_go_to_review(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("weights attached")
    assert sdc.check_model_file(tmp_path / "notes.txt").status is sdc.Status.REVIEW
    (tmp_path / "list.pkl").write_bytes(pickle.dumps([1, 2, 3]))
    out = sdc.check_model_file(tmp_path / "list.pkl")
    assert out.status is sdc.Status.REVIEW and "not a fitted model" in out.reasons[0]


def test_network_weights_embedding_and_parameters(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    weights = {"embed.weight": rng.normal(size=(900, 8)).astype(np.float32),
               "out.weight": rng.normal(size=(8, 2)).astype(np.float32)}  # fmt: skip
    (tmp_path / "w.safetensors").write_bytes(save(weights))
    out = sdc.check_model_file(tmp_path / "w.safetensors", n_records=1000)
    assert out.status is sdc.Status.FAIL
    assert set(out.findings.rule) == {"embedding", "dof"}  # 7216 parameters, 1000 records
    unknown_n = sdc.check_model_file(tmp_path / "w.safetensors")
    assert unknown_n.status is sdc.Status.PASS  # 900 rows < 1000, nothing to compare with


# ---------------------------------------------------------------------------------- CLI


def test_cli_check_model_exit_codes_and_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    joblib.dump(LogisticRegression(max_iter=5000).fit(X, Y), tmp_path / "ok.joblib")
    joblib.dump(SVC().fit(X, Y), tmp_path / "svc.joblib")
    corpus.pickle_os_system(tmp_path, tmp_path / "pwned")
    assert main(["check-model", str(tmp_path / "ok.joblib")]) == 0
    assert "PASS" in capsys.readouterr().out
    assert main(["check-model", str(tmp_path / "svc.joblib"), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["outputs"][0]["status"] == "fail"
    assert main(["check-model", str(tmp_path / "model.pkl"), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["status"] == "fail" and "system" in report["outputs"][0]["reasons"][0]
    (tmp_path / "notes.txt").write_text("x")
    assert main(["check-model", str(tmp_path / "notes.txt")]) == 3
    assert main(["check-model", str(tmp_path / "missing.pkl")]) == 2
    assert not (tmp_path / "pwned").exists()


def test_a_bootstrapped_forest_never_hides_a_small_group(tmp_path: Path) -> None:
    """In a bagged forest the stored fractions count bootstrap draws, not distinct records:
    a leaf of 64 records with 9 of class 1 stores 0.16, and 0.16 x 64 > 10 would miss it."""
    from sklearn.ensemble._forest import _generate_sample_indices

    Xz, yz = np.zeros((100, 1)), np.r_[np.ones(12), np.zeros(88)]
    rf = RandomForestClassifier(n_estimators=1, random_state=9, min_samples_leaf=5).fit(Xz, yz)
    (tmp_path / "m.pkl").write_bytes(pickle.dumps(rf))
    assert "small-group" in set(sdc.check_model_file(tmp_path / "m.pkl").findings.rule)

    Xs, ys = make_classification(n_samples=3000, n_features=5, flip_y=0.2, random_state=1)
    forest = RandomForestClassifier(n_estimators=8, min_samples_leaf=20, random_state=0)
    forest.fit(Xs, ys)
    (group,) = sdc.Session().check_model(forest).tree_groups
    flagged = (
        group.stats[:, LEAF_COLUMNS.index("small_group_leaves")]
        + group.stats[:, LEAF_COLUMNS.index("uncertain_small_group_leaves")]
    )
    for k, est in enumerate(forest.estimators_):
        drawn = np.unique(_generate_sample_indices(est.random_state, len(Xs), len(Xs), None))
        leaves = est.apply(Xs[drawn])
        counts = pd.crosstab(leaves, ys[drawn]).to_numpy()
        truly_small = int(((counts > 0) & (counts < 10)).any(axis=1).sum())
        assert flagged[k] >= truly_small


def test_estimators_the_engine_cannot_read_go_to_review(tmp_path: Path) -> None:
    """Histogram boosting's trees and k-means' centres are not read: never a silent pass."""
    from sklearn.cluster import KMeans
    from sklearn.ensemble import HistGradientBoostingClassifier

    for model in (HistGradientBoostingClassifier(max_iter=3).fit(X, Y), KMeans(3, n_init=1).fit(X)):
        joblib.dump(model, tmp_path / "m.joblib")
        for out in (sdc.Session().check_model(model), sdc.check_model_file(tmp_path / "m.joblib")):
            assert out.status is sdc.Status.REVIEW
            assert "not a class whose stored state the engine checks" in out.reasons[0]


def test_a_polyglot_goes_to_review(tmp_path: Path) -> None:
    """An HDF5 file whose user block holds a pickle reads two ways: never a pass."""
    import h5py

    path = tmp_path / "weights.h5"
    with h5py.File(path, "w", userblock_size=512) as fh:
        fh["w"] = np.ones((3, 2))
    data = bytearray(path.read_bytes())
    payload = pickle.dumps({"a": 1}, protocol=4)
    data[: len(payload)] = payload
    path.write_bytes(bytes(data))
    out = sdc.check_model_file(path)
    assert out.status is sdc.Status.REVIEW and "several formats (pickle, hdf5)" in out.reasons[0]
