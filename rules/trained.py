"""Rules on trained models (machine-learning weights), read from their stored structure.

Each rule reads a view with one entry per part of a model: a tree of a forest,
the whole model, an attribute, a tensor, or the equivalence classes found from
predictions. Definitions follow the structural attack of SACRO-ML where it has
one (k-anonymity of leaves, class disclosure, small groups, residual degrees of
freedom); the others are the engine's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sdc.rules.base import RuleResult, full


def _outcome(hit: np.ndarray, outcome: str) -> tuple[np.ndarray, np.ndarray]:
    fail = hit if outcome == "fail" else np.zeros_like(hit)
    return fail, hit & ~fail


def _present(rule: str, counts: object, outcome: str, text: str, measure: str) -> RuleResult:
    """A rule that flags every entry with a positive count, as ``outcome`` says."""
    n = np.asarray(counts, dtype=np.float64)
    fail, review = _outcome(n > 0, outcome)
    return RuleResult(rule, fail, review, n, np.zeros(n.size), text, text, measure=measure)


@dataclass(frozen=True)
class InstanceBasedParams:
    """Models that keep training rows (support vectors, neighbours): ``outcome``."""

    outcome: str = field(default="fail", metadata={"choices": ("fail", "review")})


def instance_based(ev: object, params: InstanceBasedParams) -> RuleResult:
    """``ev.stored_rows``: training rows a model keeps inside it (0 if none), per model.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = instance_based(SimpleNamespace(stored_rows=np.array([0, 120])), InstanceBasedParams())
    >>> r.fail.tolist(), r.message(1)[:46]
    ([False, True], 'the model stores 120 training record(s) inside')
    """
    text = (
        "the model stores {measured} training record(s) inside it (an instance-based model: "
        "support vectors, neighbours or kernel rows); they leave with it"
    )
    rows = ev.stored_rows  # type: ignore[attr-defined]
    return _present("instance-based", rows, params.outcome, text, "stored training rows")


@dataclass(frozen=True)
class KAnonymityParams:
    """Unsafe when a leaf (or an equivalence class) holds fewer than ``t`` training records."""

    t: int = field(default=10, metadata={"min": 1})


def k_anonymity(ev: object, params: KAnonymityParams) -> RuleResult:
    """``ev.min_group``: records in the smallest leaf or class, ``ev.small_groups``: how many
    are below ``t`` (one entry per tree, or per set of equivalence classes).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(min_group=np.array([1, 30]), small_groups=np.array([4, 0]))
    >>> r = k_anonymity(ev, KAnonymityParams())
    >>> r.fail.tolist()
    [True, False]
    >>> print(r.message(0))  # doctest: +NORMALIZE_WHITESPACE
    the smallest group (leaf) holds 1 training record(s); at least 10 are required,
    and 4 group(s) hold fewer
    """
    m = np.asarray(ev.min_group, dtype=np.float64)  # type: ignore[attr-defined]
    small = np.asarray(ev.small_groups, dtype=np.float64)  # type: ignore[attr-defined]
    return RuleResult(
        rule="k-anonymity", fail=m < params.t, review=np.zeros(m.size, dtype=bool), measured=m,
        limit=full(m.size, params.t), measure="records in the smallest group",
        fail_text=(
            "the smallest group (leaf) holds {measured} training record(s); at least {limit} "
            "are required, and {small} group(s) hold fewer"
        ),
        extra={"small": small},
    )  # fmt: skip


@dataclass(frozen=True)
class ClassDisclosureParams:
    """A leaf or class where some outcome has probability 0: ``outcome``."""

    outcome: str = field(default="fail", metadata={"choices": ("fail", "review")})


def class_disclosure(ev: object, params: ClassDisclosureParams) -> RuleResult:
    """``ev.disclosing_groups``: leaves or classes in which some outcome class has
    probability 0, so that everyone who lands there is known not to have it.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(disclosing_groups=np.array([0, 7]))
    >>> class_disclosure(ev, ClassDisclosureParams()).fail.tolist()
    [False, True]
    """
    text = (
        "{measured} group(s) (leaves) where an outcome class has probability 0: everyone "
        "who lands there is known not to have it (class disclosure)"
    )
    groups = ev.disclosing_groups  # type: ignore[attr-defined]
    return _present("class-disclosure", groups, params.outcome, text,
                    "groups with a class of probability 0")  # fmt: skip


@dataclass(frozen=True)
class SmallGroupParams:
    """Unsafe when a class inside a leaf (probability x records) is between 0 and ``t``."""

    t: int = field(default=10, metadata={"min": 1})


def small_group(ev: object, params: SmallGroupParams) -> RuleResult:
    """``ev.small_class_groups``: leaves or classes holding some outcome class for fewer
    than ``t`` (but some) records; ``ev.uncertain_class_groups`` (optional): leaves of a
    bagged forest where that may be so (its fractions count draws, not records): review.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = small_group(SimpleNamespace(small_class_groups=np.array([3])), SmallGroupParams())
    >>> print(r.message(0))
    3 group(s) (leaves) where an outcome class is held by between 0 and 10 training records
    >>> ev = SimpleNamespace(small_class_groups=np.array([0]),
    ...                      uncertain_class_groups=np.array([4]))
    >>> small_group(ev, SmallGroupParams()).review.tolist()
    [True]
    """
    n = np.asarray(ev.small_class_groups, dtype=np.float64)  # type: ignore[attr-defined]
    maybe = np.asarray(getattr(ev, "uncertain_class_groups", np.zeros(n.size)), dtype=np.float64)
    fail = n > 0
    measured = np.where(fail, n, maybe)
    return RuleResult(
        rule="small-group", fail=fail, review=~fail & (maybe > 0), measured=measured,
        limit=full(n.size, params.t), measure="groups with a small class",
        fail_text=(
            "{measured} group(s) (leaves) where an outcome class is held by between 0 and "
            "{limit} training records"
        ),
        review_text=(
            "{measured} leaf/leaves of a bagged forest where an outcome class may be held by "
            "fewer than {limit} training records (the stored fractions count bootstrap draws, "
            "not records); a person must judge, with the training data"
        ),
    )  # fmt: skip


@dataclass(frozen=True)
class HyperparametersParams:
    """Settings that keep trees coarse: smallest leaf, and bootstrap sampling for forests."""

    min_samples_leaf: int = field(default=5, metadata={"min": 1})
    bootstrap: bool = True
    outcome: str = field(default="review", metadata={"choices": ("fail", "review")})


def hyperparameters(ev: object, params: HyperparametersParams) -> RuleResult:
    """``ev.min_samples_leaf`` (NaN where the model has none) and ``ev.bootstrap``
    (1/0, NaN where not a bagged forest), per model.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(min_samples_leaf=np.array([1.0, 5.0]), bootstrap=np.array([1.0, 0.0]))
    >>> r = hyperparameters(ev, HyperparametersParams())
    >>> r.review.tolist()
    [True, True]
    >>> print(r.message(1))
    hyperparameters: min_samples_leaf is 5 (at least 5 expected); bootstrap is 0 (1 expected)
    """
    msl = np.asarray(ev.min_samples_leaf, dtype=np.float64)  # type: ignore[attr-defined]
    boot = np.asarray(ev.bootstrap, dtype=np.float64)  # type: ignore[attr-defined]
    want = 1.0 if params.bootstrap else 0.0
    hit = (msl < params.min_samples_leaf) | (~np.isnan(boot) & params.bootstrap & (boot != want))
    fail, review = _outcome(hit, params.outcome)
    text = (
        "hyperparameters: min_samples_leaf is {measured} (at least {limit} expected); "
        "bootstrap is {boot} (" + str(int(want)) + " expected)"
    )
    return RuleResult("hyperparameters", fail, review, msl, full(msl.size, params.min_samples_leaf),
                      text, text, measure="min_samples_leaf", extra={"boot": boot})  # fmt: skip


@dataclass(frozen=True)
class RawValuesParams:
    """Fitted attributes that hold raw data values: ``outcome``."""

    outcome: str = field(default="review", metadata={"choices": ("fail", "review")})


def raw_values(ev: object, params: RawValuesParams) -> RuleResult:
    """``ev.raw_values``: how many raw values a fitted attribute holds (one entry each).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> raw_values(SimpleNamespace(raw_values=np.array([6])), RawValuesParams()).review.tolist()
    [True]
    """
    text = (
        "the attribute holds {measured} value(s) taken from the training data (categories, "
        "minima and maxima, bin edges, quantiles or a vocabulary); a person must judge them"
    )
    values = ev.raw_values  # type: ignore[attr-defined]
    return _present("raw-values", values, params.outcome, text, "raw values")


@dataclass(frozen=True)
class MembershipParams:
    """Membership inference: unsafe when the worst-case attack AUC exceeds ``max_auc``
    and differs from chance at level ``alpha``; significant but small is ``review``."""

    max_auc: float = field(default=0.6, metadata={"min": 0.5, "max": 1.0})
    alpha: float = field(default=0.05, metadata={"min": 0.0, "max": 1.0, "low_open": True})


def membership_inference(ev: object, params: MembershipParams) -> RuleResult:
    """``ev.auc`` and ``ev.p_value`` of the worst-case attack, per model.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(auc=np.array([0.9, 0.55, 0.52]), p_value=np.array([0.0, 0.01, 0.4]))
    >>> r = membership_inference(ev, MembershipParams())
    >>> r.fail.tolist(), r.review.tolist()
    ([True, False, False], [False, True, False])
    """
    auc = np.asarray(ev.auc, dtype=np.float64)  # type: ignore[attr-defined]
    p = np.asarray(ev.p_value, dtype=np.float64)  # type: ignore[attr-defined]
    significant = p < params.alpha
    fail = significant & (auc > params.max_auc)
    return RuleResult(
        rule="membership-inference", fail=fail, review=significant & ~fail, measured=auc,
        limit=full(auc.size, params.max_auc), measure="attack AUC",
        fail_text=(
            "a membership inference attack tells training records from others with AUC "
            "{measured} (p = {p}); at most {limit} is allowed"
        ),
        review_text=(
            "a membership inference attack tells training records from others better than "
            "chance (AUC {measured}, p = {p}), though not above {limit}"
        ),
        extra={"p": p},
    )  # fmt: skip


@dataclass(frozen=True)
class EmbeddingParams:
    """Unsafe when a weight table has a row for nearly every individual: ``ratio`` of them."""

    ratio: float = field(default=0.5, metadata={"min": 0.0, "max": 1.0, "low_open": True})


def embedding(ev: object, params: EmbeddingParams) -> RuleResult:
    """``ev.rows`` of each 2-D weight table and ``ev.individuals`` (NaN when unknown: then
    tables of 1000 rows or more go to review).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> n = np.array([1000, 1000, np.nan])
    >>> ev = SimpleNamespace(rows=np.array([900, 20, 5000]), individuals=n)
    >>> r = embedding(ev, EmbeddingParams())
    >>> r.fail.tolist(), r.review.tolist()
    ([True, False, False], [False, False, True])
    """
    rows = np.asarray(ev.rows, dtype=np.float64)  # type: ignore[attr-defined]
    n = np.asarray(ev.individuals, dtype=np.float64)  # type: ignore[attr-defined]
    known = ~np.isnan(n)
    limit = np.where(known, params.ratio * n, 1000.0)
    fail = known & (rows >= limit)
    review = ~known & (rows >= limit)
    return RuleResult(
        rule="embedding", fail=fail, review=review, measured=rows, limit=limit,
        measure="rows of a weight table",
        fail_text=(
            "a weight table with {measured} rows, at least {limit} (a row for nearly every "
            "individual: an embedding of the training records)"
        ),
        review_text=(
            "a weight table with {measured} rows: if the rows stand for individuals it is an "
            "embedding of the training records; a person must judge"
        ),
    )  # fmt: skip
