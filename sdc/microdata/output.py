"""A microdata output assessed for release: risk measures, rules, verdict, mitigation.

Every measure of a record depends only on its key values (with missing values
kept as such) and on the weights summed over its combination, so the evidence
the rules read is per key pattern: the distinct key rows. Findings name key
combinations; ``risk`` is the per-record frame for the researcher and never
enters the report.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cached_property
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from sdc._validation import float_like, input_error
from sdc.exceptions import SdcInputError
from sdc.microdata.keys import KeyCodes, encode, other_columns, weights_of
from sdc.microdata.ldiversity import LDiversity, l_diversity, sensitive_codes
from sdc.microdata.risk import Frequencies, frequencies, household_risk
from sdc.microdata.suda import SudaResult, suda2
from sdc.microdata.suppression import SuppressionPlan, local_suppression
from sdc.outputs import FINDING_COLUMNS, finding_rows, report_entry, summary_lines
from sdc.rules import RULES, RuleResult
from sdc.rules.microdata import key_anonymity
from sdc.ruleset import RuleSet
from sdc.verdict import Status


class _Labels(Sequence[str]):
    """Key-combination labels, made only for the patterns a finding names."""

    def __init__(self, kc: KeyCodes, first: np.ndarray, suffix: str = "") -> None:
        self.kc, self.first, self.suffix = kc, first, suffix

    def __len__(self) -> int:
        return int(self.first.size)

    def __getitem__(self, i: Any) -> Any:
        return self.kc.label(self.kc.codes[self.first[i]]) + self.suffix


class MicrodataOutput:
    """Record-level data assessed under a rule set (kind ``microdata``).

    Build it with :func:`assess` (or ``Session.assess_microdata``). ``risk`` holds
    per-record measures (fk, Fk, individual risk, SUDA scores): inside the TRE only.
    """

    kind = "microdata"
    value_name = "microdata"
    plot = False
    #: What made it, as recorded in the manifest; set by the session.
    definition: dict[str, Any] | None = None

    def __init__(
        self, name: str, ruleset: RuleSet, data: pd.DataFrame, keys: KeyCodes,
        sensitive: Sequence[str] = (), weight: str | None = None,
        contributor: str | None = None, alpha: float = 1.0,
    ) -> None:  # fmt: skip
        self.name = name
        self.ruleset = ruleset
        self.keys = keys
        self.sensitive = tuple(sensitive)
        self.weight = weight
        self.contributor = contributor
        self.alpha = alpha
        self._data = data

    # ----------------------------------------------------------------- measures
    @property
    def statistic(self) -> str:
        return "records"

    @property
    def n(self) -> int:
        return self.keys.n

    @cached_property
    def weights_(self) -> np.ndarray | None:
        return weights_of(self._data, self.weight, "Session.assess_microdata")

    @cached_property
    def frequencies_(self) -> Frequencies:
        return frequencies(self.keys, self.weights_, self.alpha)

    @cached_property
    def individual_risk_(self) -> np.ndarray:
        return self.frequencies_.individual_risk(survey=self.weights_ is not None)

    @cached_property
    def suda_(self) -> SudaResult | str:
        """SUDA2 scores, or why they could not be computed (then the verdict is review)."""
        try:
            return suda2(self.keys, func="Session.assess_microdata")
        except SdcInputError as exc:
            return f"SUDA2 special uniques were not searched: {exc}"

    @cached_property
    def l_diversity_(self) -> dict[str, LDiversity]:
        return {
            s: l_diversity(
                self.keys.codes,
                sensitive_codes(self._data[s]),
                self.ruleset.params["l-diversity"].c,
            )  # fmt: skip
            for s in self.sensitive
        }

    @property
    def expected_reidentifications(self) -> float:
        """ER: the sum of the individual risks."""
        return float(self.individual_risk_.sum())

    @property
    def global_risk(self) -> float:
        """ER / n."""
        return self.expected_reidentifications / self.n

    def model_risk(self, method: str = "default", bound: float = float("inf")) -> Any:
        """Model-based global risk of the keys (sdcMicro's ``modRisk``; needs a ``weight``):
        a :class:`~sdc.microdata.modrisk.ModelRisk` with gr1 and gr2."""
        from sdc.microdata.modrisk import model_risk

        if self.weight is None:
            raise SdcInputError(
                "`MicrodataOutput.model_risk` needs sampling weights: assess with `weight=`."
            )
        return model_risk(self._data, list(self.keys.keys), self.weight, method, bound)

    def violations(self, k: int) -> int:
        """Records whose key is shared by fewer than ``k`` records (fk < k)."""
        return int((self.frequencies_.fk < k).sum())

    @cached_property
    def risk(self) -> pd.DataFrame:
        """Per record: fk, Fk, individual risk, household risk (with ``contributor``), SUDA
        score and DIS score, and l of each sensitive variable in the record's group."""
        f = self.frequencies_
        out = {"fk": f.fk, "Fk": f.Fk, "risk": self.individual_risk_}
        if self.contributor is not None:
            hh, _ = pd.factorize(self._data[self.contributor], use_na_sentinel=False)
            out["household_risk"] = household_risk(self.individual_risk_, hh)
        s = self.suda_
        if isinstance(s, SudaResult):
            out["suda_score"] = s.score
            out["dis_score"] = s.dis_score
        for name, ld in self.l_diversity_.items():
            out[f"l_{name}"] = ld.of(self.ruleset.params["l-diversity"].measure)[ld.group]
        return pd.DataFrame(out, index=self._data.index)

    # -------------------------------------------------------------------- rules
    @cached_property
    def results(self) -> tuple[tuple[Sequence[str], RuleResult], ...]:
        """Each active rule's result, with the term (key combination) of each entry."""
        params = self.ruleset.params
        active = self.ruleset.rules_for("microdata")
        f = self.frequencies_
        first = f.first
        terms = _Labels(self.keys, first)
        out: list[tuple[Sequence[str], RuleResult]] = []
        if "k-anonymity" in active:
            out.append((terms, key_anonymity(SimpleNamespace(fk=f.fk[first]),
                                             params["k-anonymity"])))  # fmt: skip
        if "individual-risk" in active:
            ev = SimpleNamespace(risk=self.individual_risk_[first])
            out.append((terms, RULES["individual-risk"](ev, params["individual-risk"])))
        if "global-risk" in active:
            er = self.expected_reidentifications
            ev = SimpleNamespace(rate=np.array([er / self.n]), expected=np.array([er]))
            out.append((["all records"], RULES["global-risk"](ev, params["global-risk"])))
        if "l-diversity" in active:
            lp = params["l-diversity"]
            for name, ld in self.l_diversity_.items():
                ev = SimpleNamespace(l=ld.of(lp.measure))
                out.append((_Labels(self.keys, ld.first, f" (sensitive: {name})"),
                            RULES["l-diversity"](ev, lp)))  # fmt: skip
        if "suda" in active and isinstance(self.suda_, SudaResult):
            ev = SimpleNamespace(smallest_msu=self.suda_.smallest_msu[first],
                                 score=self.suda_.score[first])  # fmt: skip
            out.append((terms, RULES["suda"](ev, params["suda"])))
        return tuple(out)

    @cached_property
    def findings(self) -> pd.DataFrame:
        """One row per failing or reviewed key combination and rule: where, rule, why."""
        rows = [row for terms, r in self.results for row in finding_rows(terms, r)]
        return pd.DataFrame(rows, columns=FINDING_COLUMNS)

    @property
    def reasons(self) -> tuple[str, ...]:
        active = self.ruleset.rules_for("microdata")
        out = []
        if "suda" in active and isinstance(self.suda_, str):
            out.append(self.suda_)
        return tuple(out)

    @property
    def status(self) -> Status:
        outcomes = set(self.findings["outcome"])
        if "fail" in outcomes:
            return Status.FAIL
        if "review" in outcomes or self.reasons:
            return Status.REVIEW
        return Status.PASS

    def to_report(self) -> dict[str, Any]:
        """This output's entry in the JSON report (key combinations and counts only)."""
        return report_entry(self)

    def summary(self) -> str:
        """The verdict, the headline measures and the first findings."""
        k = int(self.ruleset.params["k-anonymity"].t)
        head = (
            f"{self.name}: microdata, {self.n} records, keys {', '.join(self.keys.keys)}; "
            f"fk < {k}: {self.violations(k)} records; expected re-identifications "
            f"{self.expected_reidentifications:.4g} ({100 * self.global_risk:.3g} %)"
        )
        return summary_lines(self, head)

    def __repr__(self) -> str:
        return f"<MicrodataOutput {self.name!r} {self.n} records status={self.status.value}>"

    # --------------------------------------------------------------- mitigation
    def mitigate(
        self, k: int | None = None, importance: Sequence[str] | None = None
    ) -> SuppressionPlan:
        """A local-suppression plan reaching ``k``-anonymity (default: the rule set's t).

        ``importance``: the keys from the most to the least important (kept longest).
        Apply it with :meth:`apply`, which re-assesses the result.
        """
        k = int(self.ruleset.params["k-anonymity"].t) if k is None else k
        return local_suppression(
            self.keys, k, importance, self.alpha, func="MicrodataOutput.mitigate"
        )

    def recoding_suggestions(
        self, k: int | None = None, ordered: Sequence[str] = ()
    ) -> pd.DataFrame:
        """Merges of two categories of one key, with the records still below k after each."""
        from sdc.microdata.recoding import recoding_suggestions

        k = int(self.ruleset.params["k-anonymity"].t) if k is None else k
        return recoding_suggestions(self.keys, k, ordered=ordered)

    def apply(self, plan: SuppressionPlan, name: str | None = None) -> MicrodataOutput:
        """The data with ``plan`` applied, assessed again under the same settings."""
        if not isinstance(plan, SuppressionPlan) or plan.keys != self.keys.keys:
            raise SdcInputError(
                "`plan` of `MicrodataOutput.apply` must be a SuppressionPlan made by this "
                "output's `mitigate`."
            )
        data = plan.apply(self._data)
        return assess(
            data, self.ruleset, keys=list(self.keys.keys), sensitive=list(self.sensitive),
            weight=self.weight, contributor=self.contributor,
            name=name or f"{self.name}_suppressed", alpha=self.alpha,
        )  # fmt: skip

    @property
    def data(self) -> pd.DataFrame:
        """The assessed records (in the session only)."""
        return self._data

    # ------------------------------------------------------------------ release
    def released_csv(self) -> str:
        """The records as ``finalise`` writes them (only when the output passes): the keys,
        the sensitive variables and the weight, nothing else (:mod:`sdc.microdata.released`)."""
        from sdc.microdata.released import records_csv

        return records_csv(self._data, [*self.keys.keys, *self.sensitive], self.weight)

    def evidence_dict(self) -> dict[str, Any]:
        """What the gate needs to assess the released records again (never leaves)."""
        from sdc.microdata.released import evidence

        return evidence(self)


def assess(
    data: pd.DataFrame, ruleset: RuleSet, *, keys: Any, sensitive: Any = None,
    weight: str | None = None, contributor: str | None = None, name: str = "microdata",
    alpha: float = 1.0, func: str = "Session.assess_microdata",
) -> MicrodataOutput:  # fmt: skip
    """Validate the inputs and build the output (measures are computed on first use).

    Examples
    --------
    >>> import pandas as pd
    >>> from sdc.ruleset import RuleSet
    >>> df = pd.DataFrame({"sex": list("FFFFM"), "band": list("aaaab")})
    >>> out = assess(df, RuleSet.load("default"), keys=["sex", "band"])
    >>> out.status.value, out.findings["term"].tolist()[:1]
    ('fail', ['sex=F, band=a'])
    """
    kc = encode(data, keys, func)
    sens = other_columns(data, sensitive, kc.keys, "sensitive", func)
    extra = [c for c in (weight, contributor) if c is not None]
    for arg, value in (("weight", weight), ("contributor", contributor)):
        if value is not None and (not isinstance(value, str) or value not in data.columns):
            raise input_error(arg, func, "a column of the data", value)
    if set(extra) & set(kc.keys) or set(extra) & set(sens):
        raise SdcInputError(f"`weight` and `contributor` of `{func}` must not be keys or "
                            "sensitive variables.")  # fmt: skip
    alpha = float_like(alpha, "alpha", func, low=0.0, high=1.0)
    out = MicrodataOutput(name, ruleset, data, kc, sens, weight, contributor, alpha)
    _ = out.weights_  # weights are checked now, not when first used
    return out
