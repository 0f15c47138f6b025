"""Attacks on a trained model's predictions, run when the training data is at hand.

Two questions are asked of a model before it leaves, both from its predicted
probabilities alone (the engine receives arrays, so no modelling library is needed):

- **Membership inference**: can the model's output tell a training record (a
  member) from a record it never saw? Each record gets a few scores computed from
  its probability row (confidence, entropy and, with labels, the probability of
  the true class, the loss and whether the prediction is right). For one score,
  every attack "member if the score is above a threshold" is a point of one ROC
  curve, and the area under that curve is the Mann-Whitney statistic: the chance
  that a random member scores higher than a random non-member. It is computed
  from ranks, so it is exact, takes one sort (O(n log n)) and needs neither an
  attack model, nor random train/test splits of the attack data, nor a baseline
  run: nothing is fitted, so every record is used and the result is the same on
  every run. The thresholds on a score are the attacks an attack model fitted on
  that score approximates when members score higher; the rank statistic scores
  them exactly, without the noise of fitting and of a small hold-out. The
  worst case over the scores is reported, with its one-sided p-value against
  AUC 0.5 Bonferroni-corrected for the number of scores tried.

  A fully grown decision tree gives every record a one-hot row, so an attack on
  the sorted probabilities sees members and non-members alike; the probability
  of the true class is 1 for every member but 0 for a misclassified
  non-member, which this attack sees.

- **Equivalence classes**: training records that get exactly the same
  probability row cannot be told apart by the model's output, as in the
  structural attack of SACRO-ML for models other than a single tree. A class
  smaller than a threshold, a class whose row gives some label probability 0
  (class disclosure) and a class where probability times size is a small
  positive number (small group) are counted with that tool's definitions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special

from sdc._validation import int_like
from sdc.exceptions import SdcInputError

#: Rows of a probability array must sum to 1 within this.
ROW_SUM_TOL = 1e-6
#: Probabilities of the true class are clipped here before taking the log loss.
LOSS_CLIP = 1e-12

#: Scores tried, in the order ties of the worst AUC are broken. A score listed in
#: ``_LOWER_IS_MEMBER`` is negated so that AUC > 0.5 means "members look like
#: training data" for every score.
SCORES_WITHOUT_LABELS = ("max_proba", "entropy")
SCORES_WITH_LABELS = ("max_proba", "entropy", "true_class_proba", "loss", "correct")
_LOWER_IS_MEMBER = frozenset({"entropy", "loss"})


@dataclass(frozen=True)
class MembershipResult:
    """The worst-case threshold attack over the scores tried."""

    #: The largest AUC over the scores tried, on all records.
    auc: float
    #: One-sided p-value of that score's AUC against 0.5, times the number of
    #: scores tried (Bonferroni), capped at 1.
    p_value: float
    #: The score that gave ``auc`` (the first in ``SCORES_WITH_LABELS`` order on ties).
    score: str
    #: Every score's AUC.
    aucs: dict[str, float]
    n_members: int
    n_non_members: int


@dataclass(frozen=True)
class EquivalenceClasses:
    """Training records grouped by their predicted probability row."""

    #: Records per distinct probability row, ascending.
    sizes: np.ndarray
    #: Number of distinct rows.
    n_classes: int
    min_size: int
    #: Classes with fewer than ``t`` records.
    n_small: int
    #: Records in those classes.
    records_in_small: int
    #: Classes whose row has a probability within 1e-8 of 0 (``np.isclose(p, 0)``).
    class_disclosure: int
    #: Classes where some probability times the class size is in (0, t).
    small_group: int


def _fail(arg: str, func: str, constraint: str, detail: str) -> SdcInputError:
    return SdcInputError(f"`{arg}` of `{func}` must be {constraint}; {detail}.")


def _proba(value: Any, arg: str, func: str) -> np.ndarray:
    """A finite, non-negative 2-D float64 array whose rows sum to 1."""
    try:
        arr = np.asarray(value)
    except ValueError as exc:  # ragged nested lists
        raise _fail(arg, func, "a 2-D array of predicted probabilities", "got ragged rows") from exc
    if arr.dtype.kind not in "biuf":
        raise _fail(arg, func, "a numeric array of predicted probabilities", f"got {arr.dtype}")
    if arr.ndim != 2:
        raise _fail(
            arg, func, "a 2-D array (one row per record, one column per class)", f"got {arr.shape}"
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise _fail(arg, func, "an array with at least one row and one column", f"got {arr.shape}")
    arr = np.asarray(arr, dtype=np.float64)
    finite = np.isfinite(arr).all(axis=1)
    if not finite.all():
        row = int(np.flatnonzero(~finite)[0])
        raise _fail(arg, func, "finite", f"row {row} is {arr[row].tolist()!r}")
    negative = (arr < 0).any(axis=1)
    if negative.any():
        row = int(np.flatnonzero(negative)[0])
        raise _fail(arg, func, "non-negative", f"row {row} is {arr[row].tolist()!r}")
    sums = arr.sum(axis=1)
    off = np.abs(sums - 1.0) > ROW_SUM_TOL
    if off.any():
        row = int(np.flatnonzero(off)[0])
        raise _fail(
            arg,
            func,
            "an array whose rows sum to 1 (within 1e-6)",
            f"row {row} sums to {float(sums[row])!r}",
        )
    return arr


def _labels(value: Any, arg: str, func: str, n_rows: int, n_cols: int) -> np.ndarray:
    """Integer class codes 0..n_cols-1, one per row."""
    codes = f"integer class codes 0..{n_cols - 1} (the column of each label in the probabilities)"
    arr = np.asarray(value)
    if arr.ndim != 1 or arr.shape[0] != n_rows:
        raise _fail(arg, func, f"a 1-D array of {n_rows} labels, one per row", f"got {arr.shape}")
    if arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            raise _fail(arg, func, codes, "got non-integer values")
        arr = arr.astype(np.int64)
    elif arr.dtype.kind not in "biu":
        raise _fail(
            arg, func, codes, f"got {arr.dtype} values; map them with np.searchsorted(classes_, y)"
        )
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_cols):
        raise _fail(
            arg,
            func,
            codes,
            f"got values from {arr.min()} to {arr.max()}; map them with "
            "np.searchsorted(classes_, y)",
        )
    return arr


def membership_scores(proba: np.ndarray, y: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per-record scores of validated probabilities, oriented so that higher means member.

    Entropy and loss are negated: a model is surer of, and fits better, what it was
    trained on.
    """
    raw = {
        "max_proba": proba.max(axis=1),
        "entropy": special.entr(proba).sum(axis=1),  # entr(0) = 0
    }
    if y is not None:
        p_true = proba[np.arange(proba.shape[0]), y]
        raw["true_class_proba"] = p_true
        raw["loss"] = -np.log(np.maximum(p_true, LOSS_CLIP))
        raw["correct"] = (proba.argmax(axis=1) == y).astype(np.float64)
    return {name: -s if name in _LOWER_IS_MEMBER else s for name, s in raw.items()}


def mann_whitney_auc(members: np.ndarray, non_members: np.ndarray) -> tuple[float, float]:
    """AUC of ``members`` above ``non_members`` and its one-sided p-value against 0.5.

    The AUC is U / (n1 n0), with U the Mann-Whitney statistic of the members from
    average ranks (ties count one half), computed in integers so that it is exact.
    The p-value is the normal approximation of U under no difference, with the tie
    correction of the variance and a continuity correction of 0.5, as
    ``scipy.stats.mannwhitneyu(members, non_members, alternative="greater",
    method="asymptotic")``; a score that is constant over all records gives 1.

    >>> mann_whitney_auc(np.array([0.9, 0.8]), np.array([0.7, 0.8]))[0]
    0.875
    """
    members = np.asarray(members, dtype=np.float64)
    non_members = np.asarray(non_members, dtype=np.float64)
    n1, n0 = members.size, non_members.size
    if members.ndim != 1 or non_members.ndim != 1 or n1 == 0 or n0 == 0:
        raise SdcInputError("`mann_whitney_auc` needs two non-empty 1-D arrays of scores.")
    n = n1 + n0
    values = np.concatenate([members, non_members])
    if not np.isfinite(values).all():
        raise SdcInputError("`mann_whitney_auc` needs finite scores.")
    order = np.argsort(values)
    ordered = values[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    ends = np.r_[starts[1:], n]
    # Members per tie group; each holds the average rank (start + end + 1) / 2.
    is_member = (order < n1).astype(np.int64)
    members_in = np.add.reduceat(is_member, starts)
    twice_rank_sum = int(np.dot(members_in, starts + ends + 1))
    twice_u = twice_rank_sum - n1 * (n1 + 1)
    auc = twice_u / (2 * n1 * n0)
    sizes = (ends - starts).astype(np.float64)
    tie_term = float(np.sum(sizes**3 - sizes))
    variance = n1 * n0 / 12 * ((n + 1) - tie_term / (n * (n - 1)))
    numerator = (twice_u - n1 * n0 - 1) / 2  # U - n1 n0 / 2 - 0.5
    if variance <= 0:  # every record has the same score: U = n1 n0 / 2
        p = 1.0
    else:
        p = float(special.ndtr(-numerator / np.sqrt(variance)))
    return float(auc), min(max(p, 0.0), 1.0)


def _inputs(
    train_proba: Any, test_proba: Any, y_train: Any, y_test: Any, func: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None, np.ndarray | None]:
    train = _proba(train_proba, "train_proba", func)
    test = _proba(test_proba, "test_proba", func)
    if test.shape[1] != train.shape[1]:
        raise _fail(
            "test_proba",
            func,
            f"an array with as many columns as `train_proba` ({train.shape[1]})",
            f"got {test.shape[1]}",
        )
    if (y_train is None) != (y_test is None):
        given, missing = ("y_train", "y_test") if y_test is None else ("y_test", "y_train")
        raise _fail(missing, func, f"given when `{given}` is", "got None")
    if y_train is None:
        return train, test, None, None
    k = train.shape[1]
    return (
        train,
        test,
        _labels(y_train, "y_train", func, train.shape[0], k),
        _labels(y_test, "y_test", func, test.shape[0], k),
    )


def _score_aucs(
    train: np.ndarray, test: np.ndarray, y_train: np.ndarray | None, y_test: np.ndarray | None
) -> dict[str, tuple[float, float]]:
    member = membership_scores(train, y_train)
    other = membership_scores(test, y_test)
    return {name: mann_whitney_auc(member[name], other[name]) for name in member}


def score_aucs(
    train_proba: np.ndarray,
    test_proba: np.ndarray,
    y_train: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
) -> dict[str, float]:
    """Every score's AUC of members (``train_proba``) against non-members (``test_proba``)."""
    inputs = _inputs(train_proba, test_proba, y_train, y_test, "score_aucs")
    return {name: auc for name, (auc, _) in _score_aucs(*inputs).items()}


def membership_inference(
    train_proba: np.ndarray,
    test_proba: np.ndarray,
    y_train: np.ndarray | None = None,
    y_test: np.ndarray | None = None,
) -> MembershipResult:
    """The worst-case threshold membership attack on a model's predicted probabilities.

    ``train_proba`` and ``test_proba`` are ``predict_proba`` of the training records
    (members) and of held-out records (non-members). Labels, when given, must be the
    column of each record's class (``np.searchsorted(model.classes_, y)``); they add
    the scores that use the true class.

    >>> members = np.array([[0.9, 0.1], [0.8, 0.2]])
    >>> non_members = np.array([[0.7, 0.3], [0.8, 0.2]])
    >>> r = membership_inference(members, non_members)
    >>> r.auc, r.score, round(r.p_value, 4)
    (0.875, 'max_proba', 0.4142)
    """
    func = "membership_inference"
    train, test, y_tr, y_te = _inputs(train_proba, test_proba, y_train, y_test, func)
    results = _score_aucs(train, test, y_tr, y_te)
    aucs = {name: auc for name, (auc, _) in results.items()}
    worst = max(aucs, key=lambda name: aucs[name])  # the first of equal maxima
    p_value = min(1.0, results[worst][1] * len(results))
    return MembershipResult(
        auc=aucs[worst],
        p_value=p_value,
        score=worst,
        aucs=aucs,
        n_members=int(train.shape[0]),
        n_non_members=int(test.shape[0]),
    )


def equivalence_classes(train_proba: np.ndarray, t: int) -> EquivalenceClasses:
    """Group training records by identical predicted probability rows and count risky classes.

    The classes are those of ``np.unique(train_proba, axis=0, return_counts=True)``
    (exact equality, with 0.0 and -0.0 equal) and the counts follow SACRO-ML's
    structural attack: a class is small when its size is below ``t``, class-disclosive
    when ``np.isclose(p, 0.0)`` for some probability, a small group when some
    ``p * size`` is in (0, t).

    >>> ec = equivalence_classes(np.array([[1.0, 0.0], [1.0, 0.0], [0.5, 0.5]]), t=2)
    >>> ec.sizes.tolist(), ec.n_small, ec.class_disclosure, ec.small_group
    ([1, 2], 1, 1, 1)
    """
    func = "equivalence_classes"
    proba = _proba(train_proba, "train_proba", func)
    t = int_like(t, "t", func, minimum=1)
    k = proba.shape[1]
    rows = np.ascontiguousarray(proba) + 0.0  # -0.0 -> 0.0: equal rows get equal bytes
    keys = rows.view(np.dtype((np.void, rows.dtype.itemsize * k))).ravel()
    unique_keys, counts = np.unique(keys, return_counts=True)
    probas = unique_keys.view(np.float64).reshape(-1, k)
    small = counts < t
    freqs = probas * counts[:, None]
    return EquivalenceClasses(
        sizes=np.sort(counts).astype(np.int64),
        n_classes=int(counts.shape[0]),
        min_size=int(counts.min()),
        n_small=int(small.sum()),
        records_in_small=int(counts[small].sum()),
        class_disclosure=int(np.isclose(probas, 0.0).any(axis=1).sum()),
        small_group=int(((freqs > 0) & (freqs < t)).any(axis=1).sum()),
    )
