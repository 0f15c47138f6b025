"""Model attacks: rank AUCs against hand work, scikit-learn and scipy; equivalence classes
against a plain Counter and SACRO-ML's recorded run; input errors."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.special import ndtr
from scipy.stats import mannwhitneyu
from sklearn.datasets import load_breast_cancer
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.tree import DecisionTreeClassifier

from sdc.exceptions import SdcInputError
from sdc.models.attacks import (
    SCORES_WITH_LABELS,
    SCORES_WITHOUT_LABELS,
    EquivalenceClasses,
    equivalence_classes,
    mann_whitney_auc,
    membership_inference,
    score_aucs,
)

MEMBERS = np.array([[0.9, 0.1], [0.8, 0.2]])
NON_MEMBERS = np.array([[0.7, 0.3], [0.8, 0.2]])


# --- reference scores, written out independently of the module ------------------------


def _reference_scores(proba: np.ndarray, y: np.ndarray | None) -> dict[str, np.ndarray]:
    """Scores oriented so that higher means member (entropy and loss negated)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        plogp = np.where(proba > 0, proba * np.log(proba), 0.0)
    out = {"max_proba": proba.max(axis=1), "entropy": plogp.sum(axis=1)}
    if y is not None:
        p_true = proba[np.arange(len(y)), y]
        out["true_class_proba"] = p_true
        out["loss"] = np.log(np.clip(p_true, 1e-12, None))
        out["correct"] = (proba.argmax(axis=1) == y).astype(float)
    return out


def _random_proba(rng: np.random.Generator, n: int, k: int, votes: int | None) -> np.ndarray:
    """Forest-like vote fractions (many ties) or continuous Dirichlet rows."""
    if votes is None:
        return rng.dirichlet(np.full(k, 0.7), size=n)
    return rng.multinomial(votes, rng.dirichlet(np.ones(k)), size=n) / votes


def _breast_cancer() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    x, y = load_breast_cancer(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, stratify=y, random_state=0)
    return x_tr, x_te, y_tr, y_te


# --- hand-worked examples -------------------------------------------------------------


def test_hand_worked_auc_and_p_value() -> None:
    # max_proba: members [0.9, 0.8], non-members [0.7, 0.8]:
    # pairs 0.9>0.7, 0.9>0.8, 0.8>0.7, 0.8=0.8 -> (1 + 1 + 1 + 0.5) / 4.
    # U = 3.5, mean 2, one tie pair of size 2: var = 4/12 * (5 - 6/12) = 1.5.
    r = membership_inference(MEMBERS, NON_MEMBERS)
    assert r.aucs == {"max_proba": 0.875, "entropy": 0.875}
    assert (r.auc, r.score, r.n_members, r.n_non_members) == (0.875, "max_proba", 2, 2)
    p_one = float(ndtr(-(3.5 - 2 - 0.5) / np.sqrt(1.5)))
    assert r.p_value == pytest.approx(2 * p_one, rel=1e-12)
    assert mann_whitney_auc(np.array([0.9, 0.8]), np.array([0.7, 0.8])) == pytest.approx(
        (0.875, p_one), rel=1e-12
    )


def test_hand_worked_label_scores() -> None:
    # true class proba: members [0.9, 0.2], non-members [0.7, 0.8] -> 2 of 4 pairs.
    # correct: members [1, 0], non-members [1, 1] -> (0.5 + 0.5 + 0 + 0) / 4.
    r = membership_inference(MEMBERS, NON_MEMBERS, np.array([0, 1]), np.array([0, 0]))
    assert r.aucs == {
        "max_proba": 0.875,
        "entropy": 0.875,
        "true_class_proba": 0.5,
        "loss": 0.5,
        "correct": 0.25,
    }
    assert r.score == "max_proba"
    assert r.p_value == 1.0  # 5 * 0.207 capped


def test_perfect_separation_and_its_mirror() -> None:
    members = np.array([[1.0, 0.0], [0.0, 1.0], [0.95, 0.05]])
    others = np.array([[0.6, 0.4], [0.5, 0.5]])
    assert score_aucs(members, others) == {"max_proba": 1.0, "entropy": 1.0}
    assert score_aucs(others, members) == {"max_proba": 0.0, "entropy": 0.0}
    r = membership_inference(members, others)
    assert r.auc == 1.0 and r.p_value < 0.2  # 5 records: significance needs more


def test_loss_clip_ties_the_hopeless_records() -> None:
    # p_true 0 and 1e-15 both clip to 1e-12: a tie for the loss, not for the probability.
    members = np.array([[1e-15, 1 - 1e-15]])
    others = np.array([[0.0, 1.0]])
    y = np.array([0])
    aucs = score_aucs(members, others, y, y)
    assert aucs["true_class_proba"] == 1.0 and aucs["loss"] == 0.5


# --- against scikit-learn and scipy ---------------------------------------------------


@pytest.mark.parametrize(
    ("seed", "k", "votes"), [(0, 2, None), (1, 3, None), (2, 2, 10), (3, 4, 7), (4, 1, None)]
)
def test_aucs_and_p_values_match_sklearn_and_scipy(seed: int, k: int, votes: int | None) -> None:
    rng = np.random.default_rng(seed)
    n1, n0 = 300 + seed, 170 + 3 * seed
    train, test = _random_proba(rng, n1, k, votes), _random_proba(rng, n0, k, votes)
    # Members a little more confident in their label, so the scores differ.
    y_tr = np.where(rng.random(n1) < 0.7, train.argmax(axis=1), rng.integers(0, k, n1))
    y_te = rng.integers(0, k, n0)
    r = membership_inference(train, test, y_tr, y_te)
    assert list(r.aucs) == list(SCORES_WITH_LABELS)
    ref_tr, ref_te = _reference_scores(train, y_tr), _reference_scores(test, y_te)
    truth = np.r_[np.ones(n1), np.zeros(n0)]
    p_values = {}
    for name in SCORES_WITH_LABELS:
        a, b = ref_tr[name], ref_te[name]
        if np.ptp(np.r_[a, b]) > 0:  # roc_auc_score needs no constant score, only two classes
            assert r.aucs[name] == pytest.approx(roc_auc_score(truth, np.r_[a, b]), abs=1e-12)
        auc, p = mann_whitney_auc(a, b)
        assert auc == r.aucs[name]
        ref = mannwhitneyu(a, b, alternative="greater", method="asymptotic")
        assert auc == pytest.approx(ref.statistic / (n1 * n0), abs=1e-12)
        assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)
        p_values[name] = p
    assert r.auc == max(r.aucs.values())
    assert r.p_value == pytest.approx(min(1.0, 5 * p_values[r.score]), rel=1e-12)


def test_large_sample_is_exact() -> None:
    rng = np.random.default_rng(7)
    a = np.round(rng.normal(0.1, 1, 60_000), 2)  # many ties
    b = np.round(rng.normal(0.0, 1, 40_000), 2)
    auc, p = mann_whitney_auc(a, b)
    assert auc == pytest.approx(
        roc_auc_score(np.r_[np.ones(a.size), np.zeros(b.size)], np.r_[a, b])
    )
    ref = mannwhitneyu(a, b, alternative="greater", method="asymptotic")
    assert auc == ref.statistic / (a.size * b.size)
    assert p == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-300)


# --- real models ----------------------------------------------------------------------


def test_fully_grown_tree_is_caught() -> None:
    """Every row is one-hot: confidence says nothing, the true class gives members away."""
    x_tr, x_te, y_tr, y_te = _breast_cancer()
    tree = DecisionTreeClassifier(random_state=0).fit(x_tr, y_tr)
    train, test = tree.predict_proba(x_tr), tree.predict_proba(x_te)
    r = membership_inference(train, test, y_tr, y_te)
    assert r.aucs["max_proba"] == 0.5 and r.aucs["entropy"] == 0.5  # sorted rows alike
    assert r.score == "true_class_proba"
    wrong = float(np.mean(tree.predict(x_te) != y_te))
    assert r.auc == pytest.approx(0.5 + wrong / 2)  # members all 1, the misclassified 0
    assert r.auc > 0.53 and r.p_value < 0.05
    blind = membership_inference(train, test)
    assert blind.auc == 0.5 and blind.p_value == 1.0


def test_a_model_that_says_the_same_for_everyone_leaks_nothing() -> None:
    x_tr, x_te, y_tr, y_te = _breast_cancer()
    prior = DummyClassifier(strategy="prior").fit(x_tr, y_tr)
    train, test = prior.predict_proba(x_tr), prior.predict_proba(x_te)
    r = membership_inference(train, test)
    assert r.aucs == {"max_proba": 0.5, "entropy": 0.5} and r.p_value == 1.0
    with_labels = membership_inference(train, test, y_tr, y_te)
    assert abs(with_labels.auc - 0.5) < 0.01  # only the label mix of a stratified split
    assert with_labels.p_value >= 0.5


def test_forest_equivalence_classes_match_sacroml_run() -> None:
    """SACRO-ML 2.0.1's structural attack on this forest found exactly these classes."""
    x_tr, _, y_tr, _ = _breast_cancer()
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(x_tr, y_tr)
    ec = equivalence_classes(forest.predict_proba(x_tr), t=10)
    assert ec.sizes.tolist() == sorted([213, 22, 9, 5, 1, 2, 6, 7, 18, 115])
    assert (ec.n_classes, ec.min_size, ec.n_small, ec.records_in_small) == (10, 1, 6, 30)
    assert (ec.class_disclosure, ec.small_group) == (2, 8)


# --- properties -----------------------------------------------------------------------


@st.composite
def _attack_inputs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    k = draw(st.integers(1, 4))
    row = st.lists(st.integers(0, 4), min_size=k, max_size=k).filter(lambda r: sum(r) > 0)
    tr = np.array(draw(st.lists(row, min_size=1, max_size=25)), dtype=float)
    te = np.array(draw(st.lists(row, min_size=1, max_size=25)), dtype=float)
    tr, te = tr / tr.sum(axis=1, keepdims=True), te / te.sum(axis=1, keepdims=True)
    labels = st.integers(0, k - 1)
    y_tr = np.array(draw(st.lists(labels, min_size=len(tr), max_size=len(tr))), dtype=int)
    y_te = np.array(draw(st.lists(labels, min_size=len(te), max_size=len(te))), dtype=int)
    return tr, te, y_tr, y_te


@given(_attack_inputs())
def test_swapping_members_and_non_members_mirrors_every_auc(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    tr, te, y_tr, y_te = data
    for args, swapped in (
        ((tr, te), (te, tr)),
        ((tr, te, y_tr, y_te), (te, tr, y_te, y_tr)),
    ):
        forward, backward = score_aucs(*args), score_aucs(*swapped)
        assert list(forward) == list(backward)
        for name, a in forward.items():
            assert backward[name] == pytest.approx(1 - a, abs=1e-12)
            assert 0.0 <= a <= 1.0


@given(_attack_inputs(), st.randoms(use_true_random=False))
def test_row_order_changes_nothing(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray], rnd: object
) -> None:
    tr, te, y_tr, y_te = data
    seed = rnd.randrange(2**32)  # type: ignore[attr-defined]
    rng = np.random.default_rng(seed)
    i, j = rng.permutation(len(tr)), rng.permutation(len(te))
    assert membership_inference(tr, te, y_tr, y_te) == membership_inference(
        tr[i], te[j], y_tr[i], y_te[j]
    )
    assert membership_inference(tr, te) == membership_inference(tr[i], te[j])
    a, b = equivalence_classes(tr, 3), equivalence_classes(tr[i], 3)
    assert _fields(a) == _fields(b)


@given(_attack_inputs())
def test_scores_without_labels_ignore_them(
    data: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
) -> None:
    tr, te, y_tr, y_te = data
    plain, full = score_aucs(tr, te), score_aucs(tr, te, y_tr, y_te)
    assert list(plain) == list(SCORES_WITHOUT_LABELS)
    assert {name: full[name] for name in plain} == plain
    r = membership_inference(tr, te, y_tr, y_te)
    assert r.auc == max(full.values()) and r.aucs[r.score] == r.auc
    assert r.score == next(name for name in SCORES_WITH_LABELS if full[name] == r.auc)
    assert 0.0 <= r.p_value <= 1.0


# --- equivalence classes against a plain reference ------------------------------------


def _fields(ec: EquivalenceClasses) -> tuple[object, ...]:
    return (
        ec.sizes.tolist(),
        ec.n_classes,
        ec.min_size,
        ec.n_small,
        ec.records_in_small,
        ec.class_disclosure,
        ec.small_group,
    )


def _counter_reference(proba: np.ndarray, t: int) -> tuple[object, ...]:
    counts = Counter(tuple(float(v) for v in row) for row in proba)  # -0.0 == 0.0 here too
    sizes = sorted(counts.values())
    small = [c for c in sizes if c < t]
    disclosive = sum(any(abs(v) <= 1e-8 for v in row) for row in counts)
    small_group = sum(any(0 < v * c < t for v in row) for row, c in counts.items())
    return (sizes, len(sizes), sizes[0], len(small), sum(small), disclosive, small_group)


def _sacroml_formulas(proba: np.ndarray, t: int) -> tuple[int, int, int]:
    """The expressions of SACRO-ML's structural attack, on ``np.unique(axis=0)``."""
    probas, counts = np.unique(proba, axis=0, return_counts=True)
    k_anon = int(np.sum(counts < t))
    disclosive = int(np.isclose(probas, 0.0).any(axis=1).sum())
    freqs = probas * counts[:, None]
    return k_anon, disclosive, int(((freqs > 0) & (freqs < t)).any(axis=1).sum())


@pytest.mark.parametrize("seed", range(6))
def test_equivalence_classes_match_counter_and_sacroml_formulas(seed: int) -> None:
    rng = np.random.default_rng(seed)
    k = 1 + seed % 4
    proba = _random_proba(rng, int(rng.integers(1, 400)), k, int(rng.integers(1, 12)))
    if seed % 2:  # rounded continuous rows, some summing to 1 only within 1e-6
        proba = np.round(_random_proba(rng, 300, k, None), 7)
        proba[:, -1] = np.round(1 - proba[:, :-1].sum(axis=1), 7)
        proba = np.abs(proba)
    sizes = np.unique(proba, axis=0, return_counts=True)[1]
    for t in {1, 2, 10, int(sizes.min()), int(sizes.min()) + 1, int(sizes.max()) + 1, 10**9}:
        ec = equivalence_classes(proba, t)
        assert _fields(ec) == _counter_reference(proba, t), t
        assert (ec.n_small, ec.class_disclosure, ec.small_group) == _sacroml_formulas(proba, t)


def test_equivalence_class_thresholds_by_hand() -> None:
    # Classes: [1, 0] x 3 (disclosive, 3 * 1 = 3 small group below t > 3),
    # [0.1, 0.9] x 22 (2.2 and 19.8: small group for t in (2.2, 19.8]),
    # [1e-9, 1 - 1e-9] x 1 (within 1e-8 of 0: disclosive), [1e-7, 1 - 1e-7] x 1 (not).
    proba = np.array([[1.0, 0.0]] * 3 + [[0.1, 0.9]] * 22 + [[1e-9, 1 - 1e-9], [1e-7, 1 - 1e-7]])
    ec = equivalence_classes(proba, t=1)
    assert ec.sizes.tolist() == [1, 1, 3, 22]
    assert (ec.n_small, ec.records_in_small, ec.class_disclosure) == (0, 0, 2)
    assert ec.small_group == 2  # 1e-9 and 1e-7 times 1 are in (0, 1)
    ec = equivalence_classes(proba, t=3)  # 3 is not below 3
    assert (ec.n_small, ec.records_in_small, ec.small_group) == (2, 2, 3)
    ec = equivalence_classes(proba, t=4)
    assert (ec.n_small, ec.records_in_small, ec.small_group) == (3, 5, 4)
    ec = equivalence_classes(proba, t=23)
    assert (ec.n_small, ec.records_in_small, ec.min_size) == (4, 27, 1)


def test_negative_zero_is_zero() -> None:
    proba = np.array([[0.0, 1.0], [-0.0, 1.0], [0.5, 0.5]])
    ec = equivalence_classes(proba, t=2)
    assert ec.sizes.tolist() == [1, 2] and ec.class_disclosure == 1
    assert ec.n_classes == len(np.unique(proba, axis=0))


def test_accepts_float32_int_and_lists() -> None:
    one_hot = np.array([[1, 0], [0, 1], [1, 0]])
    assert _fields(equivalence_classes(one_hot, 2)) == _fields(
        equivalence_classes(one_hot.astype(np.float32).tolist(), 2)
    )
    r = membership_inference(one_hot.astype(np.float32), [[0.5, 0.5]], [0.0, 1.0, 0.0], [1])
    assert r.aucs["true_class_proba"] == 1.0


# --- input errors ---------------------------------------------------------------------

OK = np.array([[0.5, 0.5], [1.0, 0.0]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"train_proba": np.array([0.5, 0.5])}, "2-D"),
        ({"train_proba": np.zeros((0, 2))}, "at least one row"),
        ({"test_proba": np.zeros((2, 0))}, "at least one row and one column"),
        ({"train_proba": np.array([[np.nan, 1.0]])}, "finite; row 0"),
        ({"train_proba": np.array([[1.2, -0.2]])}, "non-negative"),
        ({"test_proba": np.array([[0.5, 0.5], [0.5, 0.4]])}, r"sum to 1 .*row 1 sums to 0\.9"),
        ({"test_proba": np.array([[0.5, 0.25, 0.25]])}, r"as many columns as `train_proba` \(2\)"),
        ({"train_proba": np.array([["a", "b"]])}, "numeric"),
        ({"train_proba": [[0.5, 0.5], [1.0]]}, "ragged"),
        ({"y_train": np.array([0, 1])}, "`y_test` .* given when `y_train` is"),
        ({"y_test": np.array([0, 1])}, "`y_train` .* given when `y_test` is"),
        ({"y_train": np.array([0, 1, 0]), "y_test": np.array([0, 1])}, "2 labels, one per row"),
        ({"y_train": np.array([[0, 1]]), "y_test": np.array([0, 1])}, "1-D"),
        ({"y_train": np.array(["a", "b"]), "y_test": np.array([0, 1])}, "searchsorted"),
        ({"y_train": np.array([0.5, 1.0]), "y_test": np.array([0, 1])}, "non-integer"),
        ({"y_train": np.array([1, 2]), "y_test": np.array([1, 1])}, r"codes 0\.\.1.*1 to 2"),
        ({"y_train": np.array([0, 1]), "y_test": np.array([-1, 0])}, "`y_test`"),
    ],
)
def test_membership_input_errors(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"train_proba": OK, "test_proba": OK, **kwargs}
    with pytest.raises(SdcInputError, match=match) as info:
        membership_inference(**args)  # type: ignore[arg-type]
    assert "\n" not in str(info.value) and "`membership_inference`" in str(info.value)


@pytest.mark.parametrize(
    ("proba", "t", "match"),
    [
        (OK, 0, "integer >= 1"),
        (OK, 1.5, "an integer"),
        (OK, True, "an integer"),
        (np.array([[0.3, 0.3]]), 2, "sum to 1"),
        (np.ones((2, 2, 1)), 2, "2-D"),
    ],
)
def test_equivalence_input_errors(proba: np.ndarray, t: object, match: str) -> None:
    with pytest.raises(SdcInputError, match=match):
        equivalence_classes(proba, t)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("members", "non_members", "match"),
    [
        ([0.5], [], "two non-empty 1-D arrays"),
        ([[0.5]], [0.5], "two non-empty 1-D arrays"),
        ([0.5, np.inf], [0.5], "finite"),
    ],
)
def test_mann_whitney_input_errors(
    members: list[object], non_members: list[float], match: str
) -> None:
    with pytest.raises(SdcInputError, match=match):
        mann_whitney_auc(np.array(members), np.array(non_members))


def test_module_runs_without_scikit_learn(tmp_path: Path) -> None:
    code = "import sys, sdc.models.attacks; assert not [m for m in sys.modules if 'sklearn' in m]"
    # run outside the checkout, so that the installed package is imported, not the source tree
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path)
