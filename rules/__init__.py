"""Rule implementations and the shipped presets.

``RULES`` maps each rule id (the ids of the design's rule table) to its function
and parameter class. ``PRESET_DIR`` holds the shipped rule sets as TOML.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from sdc.rules.attribute import AllSameParams, all_same
from sdc.rules.base import CellEvidence, RuleResult
from sdc.rules.dominance import (
    NKParams,
    PPercentParams,
    PQParams,
    nk_dominance,
    nk_protection,
    p_percent,
    p_percent_protection,
    pq,
    pq_protection,
)
from sdc.rules.frequency import (
    QuantileParams,
    ThresholdParams,
    ZerosParams,
    quantile,
    threshold,
    zeros,
)
from sdc.rules.microdata import (
    GlobalRiskParams,
    IndividualRiskParams,
    LDiversityParams,
    RowLevelParams,
    SudaParams,
    global_risk,
    individual_risk,
    l_diversity,
    row_level,
    suda,
)
from sdc.rules.model import (
    DofParams,
    ParametersParams,
    SaturatedParams,
    dof,
    parameters,
    saturated,
)
from sdc.rules.quality import MissingParams, NegativeParams, missing, negative
from sdc.rules.statistic import StatisticParams, statistic
from sdc.rules.trained import (
    ClassDisclosureParams,
    EmbeddingParams,
    HyperparametersParams,
    InstanceBasedParams,
    KAnonymityParams,
    MembershipParams,
    RawValuesParams,
    SmallGroupParams,
    class_disclosure,
    embedding,
    hyperparameters,
    instance_based,
    k_anonymity,
    membership_inference,
    raw_values,
    small_group,
)

PRESET_DIR = Path(__file__).parent / "presets"


@dataclass(frozen=True)
class RuleSpec:
    """A rule id bound to its function and its parameter class."""

    rule_id: str
    func: Callable[[Any, Any], RuleResult]
    params: type
    #: Magnitude rules only: the upper protection level of a cell the rule fails,
    #: ``(top contributions, cell total, params) -> level`` (what the audit must reach).
    protection: Callable[[np.ndarray, np.ndarray, Any], np.ndarray] | None = None

    def __call__(self, ev: Any, params: Any) -> RuleResult:
        """Apply the rule: ``ev`` is per-cell evidence (:class:`CellEvidence`) for table
        rules, or the per-model or per-group view the rule reads for other outputs."""
        return self.func(ev, params)


RULES: dict[str, RuleSpec] = {
    spec.rule_id: spec
    for spec in (
        RuleSpec("threshold", threshold, ThresholdParams),
        RuleSpec("zeros", zeros, ZerosParams),
        RuleSpec("quantile", quantile, QuantileParams),
        RuleSpec("nk-dominance", nk_dominance, NKParams, nk_protection),
        RuleSpec("p-percent", p_percent, PPercentParams, p_percent_protection),
        RuleSpec("pq", pq, PQParams, pq_protection),
        RuleSpec("all-same", all_same, AllSameParams),
        RuleSpec("negative", negative, NegativeParams),
        RuleSpec("missing", missing, MissingParams),
        RuleSpec("statistic", statistic, StatisticParams),
        RuleSpec("dof", dof, DofParams),
        RuleSpec("parameters", parameters, ParametersParams),
        RuleSpec("saturated", saturated, SaturatedParams),
        RuleSpec("instance-based", instance_based, InstanceBasedParams),
        RuleSpec("k-anonymity", k_anonymity, KAnonymityParams),
        RuleSpec("class-disclosure", class_disclosure, ClassDisclosureParams),
        RuleSpec("small-group", small_group, SmallGroupParams),
        RuleSpec("hyperparameters", hyperparameters, HyperparametersParams),
        RuleSpec("raw-values", raw_values, RawValuesParams),
        RuleSpec("membership-inference", membership_inference, MembershipParams),
        RuleSpec("embedding", embedding, EmbeddingParams),
        RuleSpec("l-diversity", l_diversity, LDiversityParams),
        RuleSpec("individual-risk", individual_risk, IndividualRiskParams),
        RuleSpec("global-risk", global_risk, GlobalRiskParams),
        RuleSpec("suda", suda, SudaParams),
        RuleSpec("row-level", row_level, RowLevelParams),
    )
}

__all__ = ["PRESET_DIR", "RULES", "CellEvidence", "RuleResult", "RuleSpec"]
