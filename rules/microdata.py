"""Rules on microdata (record-level outputs) and on files that look record-level.

The evidence of a microdata output is per key combination (records sharing the
same key values, missing values kept as such): its sample frequency fk, the
largest individual risk in it, its smallest l-diversity and its records'
smallest minimal sample unique. Every measure of one record depends only on its
key values (and the summed weights of its combination), so findings name key
combinations, never records. Definitions: :mod:`sdc.microdata` (sdcMicro 5.8.1).

``k-anonymity`` is the id the trained-model rules use, with the same meaning
(a group of fewer than ``t`` records) and the same parameters: for microdata,
:func:`key_anonymity` applies it to key combinations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sdc.rules.base import RuleResult, full
from sdc.rules.trained import KAnonymityParams

_OUTCOME = {"choices": ("fail", "review")}


def _split(hit: np.ndarray, outcome: str) -> tuple[np.ndarray, np.ndarray]:
    fail = hit if outcome == "fail" else np.zeros_like(hit)
    return fail, hit & ~fail


def key_anonymity(ev: object, params: KAnonymityParams) -> RuleResult:
    """``ev.fk``: records sharing each key combination (missing values match any value).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = key_anonymity(SimpleNamespace(fk=np.array([1.0, 10.0])), KAnonymityParams(t=10))
    >>> r.fail.tolist()
    [True, False]
    >>> print(r.message(0))
    1 record(s) share this key combination; at least 10 are required (k-anonymity)
    """
    fk = np.asarray(ev.fk, dtype=np.float64)  # type: ignore[attr-defined]
    return RuleResult(
        rule="k-anonymity", fail=fk < params.t, review=np.zeros(fk.size, dtype=bool),
        measured=fk, limit=full(fk.size, params.t), measure="records with the key (fk)",
        fail_text=(
            "{measured} record(s) share this key combination; at least {limit} are required "
            "(k-anonymity)"
        ),
    )  # fmt: skip


@dataclass(frozen=True)
class LDiversityParams:
    """Unsafe when a key combination holds fewer than ``l`` well-represented sensitive
    values, measured as ``measure`` ("distinct", "entropy" or "recursive" (c, l))."""

    l: int = field(default=2, metadata={"min": 1})  # noqa: E741 (the measure's name)
    measure: str = field(default="distinct", metadata={"choices": ("distinct", "entropy",
                                                                   "recursive")})  # fmt: skip
    c: float = field(default=2.0, metadata={"min": 0.0, "low_open": True})
    outcome: str = field(default="fail", metadata=_OUTCOME)


def l_diversity(ev: object, params: LDiversityParams) -> RuleResult:
    """``ev.l``: the l of each (key combination, sensitive variable) as ``params.measure``
    says (0 when every sensitive value of the group is missing).

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = l_diversity(SimpleNamespace(l=np.array([1.0, 2.0])), LDiversityParams())
    >>> r.fail.tolist()
    [True, False]
    >>> print(r.message(0))
    the key combination holds 1 distinct sensitive value(s); at least 2 are required (l-diversity)
    """
    lv = np.asarray(ev.l, dtype=np.float64)  # type: ignore[attr-defined]
    fail, review = _split(lv < params.l, params.outcome)
    what = {"distinct": "distinct", "entropy": "entropy-", "recursive": "recursive-"}
    text = (
        "the key combination holds {measured} " + what[params.measure] + " sensitive value(s); "
        "at least {limit} are required (l-diversity)"
    )
    return RuleResult("l-diversity", fail, review, lv, full(lv.size, params.l), text, text,
                      measure=f"{params.measure} l")  # fmt: skip


@dataclass(frozen=True)
class IndividualRiskParams:
    """Unsafe when a record's re-identification risk (Benedetti-Franconi) exceeds ``max_risk``."""

    max_risk: float = field(default=0.1, metadata={"min": 0.0, "max": 1.0})
    outcome: str = field(default="fail", metadata=_OUTCOME)


def individual_risk(ev: object, params: IndividualRiskParams) -> RuleResult:
    """``ev.risk``: the individual risk of the records of each key combination.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> r = individual_risk(SimpleNamespace(risk=np.array([0.5, 0.1])), IndividualRiskParams())
    >>> r.fail.tolist(), r.message(0)
    ([True, False], 'individual re-identification risk 0.5; at most 0.1 is allowed')
    """
    risk = np.asarray(ev.risk, dtype=np.float64)  # type: ignore[attr-defined]
    fail, review = _split(risk > params.max_risk, params.outcome)
    text = "individual re-identification risk {measured}; at most {limit} is allowed"
    return RuleResult("individual-risk", fail, review, risk, full(risk.size, params.max_risk),
                      text, text, measure="individual risk")  # fmt: skip


@dataclass(frozen=True)
class GlobalRiskParams:
    """Unsafe when the expected re-identifications per record (ER / n) exceed ``max_risk``."""

    max_risk: float = field(default=0.01, metadata={"min": 0.0, "max": 1.0})
    outcome: str = field(default="fail", metadata=_OUTCOME)


def global_risk(ev: object, params: GlobalRiskParams) -> RuleResult:
    """``ev.rate``: expected re-identifications divided by records, ``ev.expected`` the former.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(rate=np.array([0.02]), expected=np.array([20.0]))
    >>> global_risk(ev, GlobalRiskParams()).message(0)
    'global risk 0.02 (20 expected re-identifications); at most 0.01 is allowed'
    """
    rate = np.asarray(ev.rate, dtype=np.float64)  # type: ignore[attr-defined]
    expected = np.asarray(ev.expected, dtype=np.float64)  # type: ignore[attr-defined]
    fail, review = _split(rate > params.max_risk, params.outcome)
    text = "global risk {measured} ({expected} expected re-identifications); at most {limit} " \
        "is allowed"  # fmt: skip
    return RuleResult("global-risk", fail, review, rate, full(rate.size, params.max_risk), text,
                      text, measure="expected re-identifications per record",
                      extra={"expected": expected})  # fmt: skip


@dataclass(frozen=True)
class SudaParams:
    """Special uniques: records unique on a set of at most ``max_size`` key variables (their
    smallest minimal sample unique, SUDA2); ``outcome`` "review" by default."""

    max_size: int = field(default=2, metadata={"min": 1})
    outcome: str = field(default="review", metadata=_OUTCOME)


def suda(ev: object, params: SudaParams) -> RuleResult:
    """``ev.smallest_msu``: keys in the smallest MSU of the key combination's record
    (0 when it has none), ``ev.score``: its SUDA score.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(smallest_msu=np.array([0, 2, 3]), score=np.array([0.0, 8.0, 2.0]))
    >>> r = suda(ev, SudaParams())
    >>> r.review.tolist()
    [False, True, False]
    >>> print(r.message(1))  # doctest: +NORMALIZE_WHITESPACE
    a special unique: the record is unique on 2 of its key values alone (SUDA score 8);
    a person must judge whether those values identify someone
    """
    size = np.asarray(ev.smallest_msu, dtype=np.float64)  # type: ignore[attr-defined]
    score = np.asarray(ev.score, dtype=np.float64)  # type: ignore[attr-defined]
    fail, review = _split((size > 0) & (size <= params.max_size), params.outcome)
    text = (
        "a special unique: the record is unique on {measured} of its key values alone (SUDA "
        "score {score}); a person must judge whether those values identify someone"
    )
    return RuleResult("suda", fail, review, size, full(size.size, params.max_size), text, text,
                      measure="keys in the smallest MSU", extra={"score": score})  # fmt: skip


@dataclass(frozen=True)
class RowLevelParams:
    """When a released file looks like one row per person.

    ``max_rows``: more rows fail (OpenSAFELY refuses CSVs over 5,000 rows);
    ``identifier_names``: a column so named fails; ``personal_names``: date of birth
    or postcode-like column names, and ``id_share``: a text or integer column with
    distinct values in more than this share of at least ``min_rows`` rows, and label
    combinations repeated (more than ``max_rows_per_combination`` rows per distinct
    combination of the text columns) go to ``weak_outcome``.
    """

    max_rows: int = field(default=5000, metadata={"min": 1})
    identifier_names: tuple[str, ...] = (
        "patient_id", "person_id", "nhs_number", "nhs_no", "chi_number", "pseudo_id",
        "patid", "subject_id", "participant_id", "individual_id",
    )  # fmt: skip
    personal_names: tuple[str, ...] = (
        "dob", "date_of_birth", "birth_date", "birthdate", "postcode", "post_code",
        "postal_code", "zip", "zipcode",
    )  # fmt: skip
    id_share: float = field(default=0.95, metadata={"min": 0.0, "max": 1.0, "low_open": True})
    min_rows: int = field(default=100, metadata={"min": 1})
    max_rows_per_combination: float = field(default=1.0, metadata={"min": 1.0})
    outcome: str = field(default="fail", metadata=_OUTCOME)
    weak_outcome: str = field(default="review", metadata=_OUTCOME)


def row_level(ev: object, params: RowLevelParams) -> RuleResult:
    """``ev.measured``, ``ev.limit``, ``ev.strong`` (1/0) and ``ev.sign`` (what was
    measured), one entry per sign of row-level data; a sign is hit when measured > limit.

    Examples
    --------
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(measured=np.array([6000.0, 1.0]), limit=np.array([5000.0, 1.0]),
    ...                      strong=np.array([1, 0]), sign=np.array(["rows", "rows per label"]))
    >>> r = row_level(ev, RowLevelParams())
    >>> r.fail.tolist(), r.message(0)
    ([True, False], 'the file looks record-level: rows is 6000, above the limit 5000')
    """
    measured = np.asarray(ev.measured, dtype=np.float64)  # type: ignore[attr-defined]
    limit = np.asarray(ev.limit, dtype=np.float64)  # type: ignore[attr-defined]
    strong = np.asarray(ev.strong).astype(bool)  # type: ignore[attr-defined]
    sign: np.ndarray = np.empty(len(ev.sign), dtype=object)  # type: ignore[attr-defined]
    sign[:] = list(ev.sign)  # type: ignore[attr-defined]
    hit = measured > limit
    s_fail, s_review = _split(hit & strong, params.outcome)
    w_fail, w_review = _split(hit & ~strong, params.weak_outcome)
    text = "the file looks record-level: {sign} is {measured}, above the limit {limit}"
    return RuleResult("row-level", s_fail | w_fail, s_review | w_review, measured, limit, text,
                      text, measure="sign of row-level data", extra={"sign": sign})  # fmt: skip
