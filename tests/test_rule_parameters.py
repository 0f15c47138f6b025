"""Rule parameters: their built-in defaults, the bounds a rule file must keep to, and that
validated parameters stay as validated.

A rule set that leaves a setting out gets the rule's built-in default (the ``default``
preset leaves out most model and microdata settings), so every default is a published
value: ``DEFAULTS`` gives each with its source. Every bounded setting is tried at its
bounds and just beyond them; the bounds follow from what the setting means (a share lies
in (0, 1], a count of records is at least 1, ...), given with each in ``BOUNDS``. And the
parameters of a loaded rule set cannot be changed afterwards (frozen dataclasses): a value
set after validation (k = NaN, say) would switch a rule off unseen.
"""

from __future__ import annotations

import dataclasses
import math

import pytest
from sdc.rules import RULES, RuleResult, RuleSpec

from sdc import SdcRuleSetError
from sdc.ruleset import RuleSet

#: rule id -> setting -> built-in default, with where the value comes from.
DEFAULTS: dict[str, dict[str, object]] = {
    # DESIGN.md, rule table and presets: t = 10 in most UK TREs.
    "threshold": {"t": 10},
    # Zeros are disclosive unless declared structural: fail (the default preset sends
    # them to review instead, in its file).
    "zeros": {"outcome": "fail"},
    # QuantileParams: 10 contributors on each side and next to the value, within 5% of
    # it, on a grid of 3 significant figures.
    "quantile": {"t": 10, "neighbourhood": 0.05, "significant_figures": 3},
    # Eurostat/ESSnet output-checking practice: (2, 85%), strict comparison.
    "nk-dominance": {"n": 2, "k": 0.85, "inclusive": False},
    # A second dominance rule, GaussSuppression's first of n = 1:2, k = c(80, 99): (1, 80%).
    "nk-dominance-2": {"n": 1, "k": 0.80, "inclusive": False},
    # p = 10% (SDC Handbook; ACRO); pq with q = 1 is the p% rule.
    "p-percent": {"p": 0.10},
    "pq": {"p": 0.10, "q": 1.0},
    # Rules that send a cell to a person by default.
    "all-same": {"outcome": "review"},
    "negative": {"outcome": "review"},
    "missing": {"outcome": "review"},
    # Raw extremes and modes are one individual's value.
    "statistic": {"refused": ("min", "max", "mode")},
    # Residual degrees of freedom >= 10 (ACRO); DataSHIELD's nfilter.glm = 0.33.
    "dof": {"t": 10},
    "parameters": {"ratio": 0.33},
    "saturated": {"outcome": "fail"},
    # Trained models, after SACRO-ML's structural attack and safe-model defaults.
    "instance-based": {"outcome": "fail"},
    "k-anonymity": {"t": 10},
    "class-disclosure": {"outcome": "fail"},
    "small-group": {"t": 10},
    "hyperparameters": {"min_samples_leaf": 5, "bootstrap": True, "outcome": "review"},
    "raw-values": {"outcome": "review"},
    "membership-inference": {"max_auc": 0.6, "alpha": 0.05},
    "embedding": {"ratio": 0.5},
    # Microdata, sdcMicro 5.8.1 and the default preset's sources.
    "l-diversity": {"l": 2, "measure": "distinct", "c": 2.0, "outcome": "fail"},
    "individual-risk": {"max_risk": 0.1, "outcome": "fail"},
    "global-risk": {"max_risk": 0.01, "outcome": "fail"},
    "suda": {"max_size": 2, "outcome": "review"},
    # OpenSAFELY refuses CSV files over 5,000 rows.
    "row-level": {
        "max_rows": 5000,
        "identifier_names": (
            "patient_id", "person_id", "nhs_number", "nhs_no", "chi_number", "pseudo_id",
            "patid", "subject_id", "participant_id", "individual_id",
        ),
        "personal_names": (
            "dob", "date_of_birth", "birth_date", "birthdate", "postcode", "post_code",
            "postal_code", "zip", "zipcode",
        ),
        "id_share": 0.95,
        "min_rows": 100,
        "max_rows_per_combination": 1.0,
        "outcome": "fail",
        "weak_outcome": "review",
    },
}  # fmt: skip

INF = math.inf

#: (rule id, setting) -> (lowest, highest, lowest excluded), from what the setting means.
BOUNDS: dict[tuple[str, str], tuple[float, float, bool]] = {
    # counts of contributors, records, rows or keys: at least 1 (0 would switch a rule off)
    ("threshold", "t"): (1, INF, False),
    ("quantile", "t"): (1, INF, False),
    ("dof", "t"): (1, INF, False),
    ("k-anonymity", "t"): (1, INF, False),
    ("small-group", "t"): (1, INF, False),
    ("hyperparameters", "min_samples_leaf"): (1, INF, False),
    ("l-diversity", "l"): (1, INF, False),
    ("suda", "max_size"): (1, INF, False),
    ("row-level", "max_rows"): (1, INF, False),
    ("row-level", "min_rows"): (1, INF, False),
    # rows per distinct label combination: a ratio of counts, at least 1
    ("row-level", "max_rows_per_combination"): (1.0, INF, False),
    # the n largest contributors: the evidence keeps ten
    ("nk-dominance", "n"): (1, 10, False),
    # shares of a total or of a record count: (0, 1] where 0 would switch the rule off
    ("nk-dominance", "k"): (0.0, 1.0, True),
    ("nk-dominance-2", "n"): (1, 10, False),
    ("nk-dominance-2", "k"): (0.0, 1.0, True),
    ("p-percent", "p"): (0.0, 1.0, True),
    ("pq", "p"): (0.0, 1.0, True),
    ("pq", "q"): (0.0, 1.0, True),
    ("embedding", "ratio"): (0.0, 1.0, True),
    ("row-level", "id_share"): (0.0, 1.0, True),
    # a significance level: (0, 1]
    ("membership-inference", "alpha"): (0.0, 1.0, True),
    # shares and probabilities where 0 is meaningful (nothing allowed): [0, 1]
    ("quantile", "neighbourhood"): (0.0, 1.0, False),
    ("parameters", "ratio"): (0.0, 1.0, False),
    ("individual-risk", "max_risk"): (0.0, 1.0, False),
    ("global-risk", "max_risk"): (0.0, 1.0, False),
    # an AUC below 0.5 is an attack worse than chance: [0.5, 1]
    ("membership-inference", "max_auc"): (0.5, 1.0, False),
    # digits a float64 holds exactly (DBL_DIG = 15); 0 publishes unrounded values
    ("quantile", "significant_figures"): (0, 15, False),
    # recursive (c, l)-diversity: c > 0
    ("l-diversity", "c"): (0.0, INF, True),
}

E = 'extends = "default"\n'


def test_every_rule_has_its_defaults_listed() -> None:
    assert set(DEFAULTS) == set(RULES)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_built_in_defaults(rule: str) -> None:
    got = {f.name: f.default for f in dataclasses.fields(RULES[rule].params)}
    assert got == DEFAULTS[rule]
    assert dataclasses.asdict(RULES[rule].params()) == DEFAULTS[rule]


def test_every_bounded_setting_is_listed() -> None:
    bounded = {
        (rule, f.name)
        for rule, spec in RULES.items()
        for f in dataclasses.fields(spec.params)
        if "min" in f.metadata or "max" in f.metadata
    }
    assert bounded == set(BOUNDS)


def _load(rule: str, key: str, value: float) -> RuleSet:
    return RuleSet.from_toml(f"{E}[{rule}]\n{key} = {value!r}\n")


def _beyond(x: float, integer: bool, direction: float) -> float:
    return x + direction if integer else math.nextafter(x, direction * INF)


@pytest.mark.parametrize(("rule", "key"), sorted(BOUNDS))
def test_settings_at_and_beyond_their_bounds(rule: str, key: str) -> None:
    lo, hi, open_low = BOUNDS[(rule, key)]
    integer = isinstance(DEFAULTS[rule][key], int)
    cast = int if integer else float
    accepted = [] if open_low else [cast(lo)]
    refused = [cast(lo)] if open_low else [cast(_beyond(lo, integer, -1))]
    if hi != INF:
        accepted.append(cast(hi))
        refused.append(cast(_beyond(hi, integer, +1)))
    else:
        accepted.append(cast(10**6))
    if open_low:  # the smallest value above the bound is accepted
        accepted.append(cast(_beyond(lo, integer, +1)))
    for value in accepted:
        assert getattr(_load(rule, key, value).params[rule], key) == value
    for value in refused:
        with pytest.raises(SdcRuleSetError, match=rf"\[{rule}\] {key}"):
            _load(rule, key, value)


@pytest.mark.parametrize("rule", sorted(RULES))
def test_parameters_cannot_change_after_validation(rule: str) -> None:
    params = RuleSet.load("default").params.get(rule) or RULES[rule].params()
    name = dataclasses.fields(params)[0].name
    with pytest.raises(dataclasses.FrozenInstanceError):
        setattr(params, name, None)


def test_rule_registry_and_results_are_frozen() -> None:
    spec = RULES["threshold"]
    assert isinstance(spec, RuleSpec)
    with pytest.raises(dataclasses.FrozenInstanceError):
        spec.func = print  # type: ignore[misc]
    result = RuleResult("x", *([None] * 4), "text")  # type: ignore[arg-type]
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.rule = "y"  # type: ignore[misc]
