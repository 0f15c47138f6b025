"""Regressions and other fitted statistical models: the checks and the verdict.

A fitted model is released as its coefficients and their statistics. What can
give individuals away is read from the fit, never by refitting
(:mod:`sdc.regression.evidence`):

- residual degrees of freedom (rule ``dof``) and parameters per record
  (``parameters``, DataSHIELD's ``nfilter.glm``);
- every group of records the coefficients describe, found from the design matrix
  whatever its coding (:mod:`sdc.regression.groups`: dummy levels and the rows outside
  them, reference levels, "A and not B", contrast-coded levels, interaction cells):
  its records or contributors (``threshold``; Kish's effective size for a weighted
  fit), each (group, outcome category) pair (``threshold``, and ``zeros`` where nobody
  has that outcome), a Cox model's events per group; where the coefficients reproduce
  the group's outcome total (a continuous outcome), ``nk-dominance`` and ``p-percent``
  on the contributors' totals and ``all-same`` when everyone shares one value: a
  regression is then a table in disguise and gets the table's rules;
- saturation (``saturated``): R^2 = 1, no residual variance, perfect separation, zero
  deviance, records fitted exactly (a slope through two points), for the model and for
  each group.

Row-level quantities (residuals, fitted values, leverage, the model frame) are
never part of what this module reports or keeps.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from sdc.canonical import frame_csv
from sdc.exceptions import SdcInputError
from sdc.outputs import FINDING_COLUMNS, finding_rows, report_entry, summary_lines
from sdc.regression.evidence import (
    SUPPORTED,
    RegressionEvidence,
    evidence_from_dict,
    evidence_to_dict,
    model_terms,
    regression_evidence,
)
from sdc.rules import RULES, RuleResult
from sdc.ruleset import RuleSet
from sdc.verdict import Status

__all__ = [
    "COEFFICIENT_COLUMNS", "SUPPORTED", "TEXT_COLUMNS", "RegressionEvidence", "RegressionOutput",
    "coefficient_table", "evidence_from_dict", "evidence_to_dict", "regression_evidence",
]  # fmt: skip

#: Rules read per model; the others per group entry.
_MODEL_RULES = ("dof", "parameters")
#: Rules on the outcome totals of a group (continuous outcomes only).
_MAGNITUDE_RULES = ("nk-dominance", "p-percent", "all-same")


#: Columns a released coefficient table may have, in order (``equation`` for MNLogit).
COEFFICIENT_COLUMNS = (
    "term", "equation", "coef", "std_err", "z", "p_value", "ci_lower", "ci_upper",
)  # fmt: skip
#: Its text columns (the others hold numbers).
TEXT_COLUMNS = ("term", "equation")


def coefficient_table(result: Any) -> pd.DataFrame:
    """Estimates with their standard errors, test statistics, p-values and 95% intervals.

    Only per-parameter quantities: nothing here has one entry per record.
    """
    params = np.asarray(result.params, dtype=np.float64)
    k = params.shape[0]
    names, labels = model_terms(result)
    n_eq = 1 if params.ndim == 1 else params.shape[1]
    columns: dict[str, Any] = {"term": np.tile(names, n_eq)}
    if labels:
        columns["equation"] = np.repeat(labels, k)

    def flat(values: Any) -> np.ndarray:
        return np.asarray(values, dtype=np.float64).reshape(-1, order="F" if n_eq > 1 else "C")

    columns["coef"] = flat(params)
    for col, attr in (("std_err", "bse"), ("z", "tvalues"), ("p_value", "pvalues")):
        value = getattr(result, attr, None)
        if value is not None and np.asarray(value).size == params.size:
            columns[col] = flat(value)
    try:
        ci = np.asarray(result.conf_int(), dtype=np.float64).reshape(n_eq, k, 2)
    except (AttributeError, ValueError, TypeError, NotImplementedError):
        ci = None
    if ci is not None:
        columns["ci_lower"], columns["ci_upper"] = ci[:, :, 0].ravel(), ci[:, :, 1].ravel()
    return pd.DataFrame(columns)


@dataclass
class _View:
    """What a rule reads: one entry per model or group entry, with the arrays it needs."""

    records: np.ndarray
    contributors: np.ndarray
    units: list[str]
    has_contributor: bool = False
    place: str = "the group"
    n_obs: np.ndarray = field(default_factory=lambda: np.zeros(0))
    n_params: np.ndarray = field(default_factory=lambda: np.zeros(0))
    residual_dof: np.ndarray = field(default_factory=lambda: np.zeros(0))
    saturated: np.ndarray = field(default_factory=lambda: np.zeros(0))
    sum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    abs_sum: np.ndarray = field(default_factory=lambda: np.zeros(0))
    top: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    negatives: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    spread: np.ndarray = field(default_factory=lambda: np.zeros(0))


def _units(ev: RegressionEvidence, kind: str) -> str:
    who = "contributor(s)" if ev.has_contributor else "record(s)"
    if kind == "events":
        who = "contributor(s) with an event" if ev.has_contributor else "event(s)"
    return f"effective {who} (Kish)" if ev.weighted else who


def _checks(ev: RegressionEvidence, rule: str) -> tuple[tuple[str, ...], _View]:
    """The entries ``rule`` applies to (their names) and the view it reads."""
    kinds = np.asarray(ev.kinds)
    if rule in _MODEL_RULES:
        one = np.ones(1)
        size = min(float(ev.n_obs), float(ev.group_contributors[0]))  # contributors, Kish
        return ("model",), _View(one, one, ["model"], n_obs=np.array([size]),
                                 n_params=np.array([ev.n_params]),
                                 residual_dof=np.array([ev.df_resid]))  # fmt: skip
    if rule == "saturated":
        records = np.flatnonzero(kinds == "records")
        flags = np.concatenate(([1.0 if ev.saturation else 0.0],
                                ev.group_exact[records].astype(np.float64)))  # fmt: skip
        one = np.ones(flags.size)
        return ("model", *(ev.groups[i] for i in records)), _View(one, one, [], saturated=flags)
    if rule == "zeros":
        idx = np.flatnonzero(kinds != "records")
    elif rule in _MAGNITUDE_RULES:
        idx = np.flatnonzero(kinds == "records") if ev.outcome == "continuous" else np.zeros(0, int)
    else:  # threshold: every entry
        idx = np.arange(kinds.size)
    total = ev.group_total[idx]
    top = np.nan_to_num(ev.group_top[idx], nan=0.0)
    view = _View(
        records=ev.group_records[idx], contributors=ev.group_contributors[idx],
        units=[_units(ev, str(k)) for k in kinds[idx]], has_contributor=ev.has_contributor,
        sum=np.nan_to_num(total, nan=0.0), abs_sum=np.nan_to_num(total, nan=0.0), top=top,
        negatives=np.zeros(idx.size, dtype=np.int64), spread=ev.group_spread[idx],
    )  # fmt: skip
    return tuple(ev.groups[i] for i in idx), view


class RegressionOutput:
    """A fitted model checked for release: the statsmodels result, verdict and findings.

    ``result`` is the researcher's own object (it holds row-level data: it is
    never written by the engine); ``coefficients`` is what may be released. At
    the gate there is no result: :meth:`from_files` rebuilds the output from the
    released coefficient table and the evidence written beside it.
    ``contributor`` (one id per row of the model's design) makes every group count
    distinct contributors and dominance read per-contributor totals.
    """

    kind = "regression"
    value_name = "coef"
    plot = False
    #: What made it, as recorded in the manifest (``sdc.definition``); set by the session.
    definition: dict[str, Any] | None = None

    def __init__(self, name: str, result: Any, ruleset: RuleSet, contributor: Any = None) -> None:
        self.name = name
        self.result = result
        self.ruleset = ruleset
        self.problems: tuple[str, ...] = ()
        self.notes: tuple[str, ...] = ()
        self._released: pd.DataFrame | None = None
        try:
            small = int(ruleset.params["threshold"].t)
            self.evidence: RegressionEvidence | None = regression_evidence(
                result, contributor, small
            )
        except SdcInputError as exc:
            self.evidence = None
            self.problems = (f"{exc}: a person must review it",)

    def note_fit_warnings(self, messages: Iterable[str]) -> None:
        """Record what the fitting library warned about (non-convergence, a singular
        design) in the evidence, as what a person must look at: the output is then at
        best ``review``, at the gate too."""
        seen = tuple(dict.fromkeys(" ".join(m.split()) for m in messages))
        if self.evidence is None or not seen:
            return
        found = tuple(f"the fit warned: {m}" for m in seen)
        self.evidence = replace(self.evidence, incomplete=(*self.evidence.incomplete, *found))
        self.__dict__.pop("checks", None)

    @classmethod
    def from_files(
        cls, name: str, evidence: RegressionEvidence, coefficients: pd.DataFrame,
        ruleset: RuleSet, problems: tuple[str, ...] = (), notes: tuple[str, ...] = (),
    ) -> RegressionOutput:  # fmt: skip
        """The output as a gate sees it; ``problems`` (the files disagree) make it ``fail``,
        ``notes`` (what a person must look at) at least ``review``.

        Evidence that searched for small combinations of records below a smaller
        threshold than the gate's cannot show the gate's groups: that fails too.
        """
        out = cls.__new__(cls)
        t = int(ruleset.params["threshold"].t)
        if evidence.searched_below < t and "threshold" in ruleset.rules_for("coefficients"):
            problems = (*problems, (
                f"the evidence searched for groups of fewer than {evidence.searched_below} "
                f"records; this rule set's threshold is {t}: finalise the model again under "
                "this rule set"
            ))  # fmt: skip
        out.name, out.result, out.ruleset = name, None, ruleset
        out.evidence, out._released, out.problems = evidence, coefficients, problems
        out.notes = notes
        return out

    @property
    def statistic(self) -> str | None:
        return None if self.evidence is None else self.evidence.model

    @cached_property
    def checks(self) -> tuple[tuple[tuple[str, ...], RuleResult], ...]:
        """Each rule's result with the names of the entries it was applied to."""
        ev = self.evidence
        if ev is None:
            return ()
        out = []
        for rule in self.ruleset.rules_for("coefficients"):
            terms, view = _checks(ev, rule)
            out.append((terms, RULES[rule](view, self.ruleset.params[rule])))
        return tuple(out)

    @property
    def results(self) -> tuple[RuleResult, ...]:
        return tuple(r for _, r in self.checks)

    @property
    def status(self) -> Status:
        if self.evidence is None:
            return Status.REVIEW
        if self.result is None and self.problems:  # gate: the files disagree
            return Status.FAIL
        if any(r.fail.any() for r in self.results):
            return Status.FAIL
        if self.notes or self.evidence.incomplete or any(r.review.any() for r in self.results):
            return Status.REVIEW
        return Status.PASS

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the output cannot be checked, or what disagrees at the gate; and what a person
        must look at because the group search was incomplete."""
        extra = () if self.evidence is None else self.evidence.incomplete
        return (*self.problems, *self.notes, *(f"{x}: a person must look at it" for x in extra))

    @cached_property
    def findings(self) -> pd.DataFrame:
        """One row per failing or reviewed check: where (the model or a group), rule, why."""
        ev = self.evidence
        if ev is None:
            return pd.DataFrame(columns=FINDING_COLUMNS)
        rows = []
        for terms, r in self.checks:
            for row in finding_rows(terms, r):
                if r.rule == "saturated":
                    row["message"] += (
                        f" ({'; '.join(ev.saturation)})" if row["term"] == "model" else
                        " (every record of this group is fitted exactly: the coefficients "
                        "give their outcomes)"
                    )  # fmt: skip
                rows.append(row)
        return pd.DataFrame(rows, columns=FINDING_COLUMNS)

    @property
    def coefficients(self) -> pd.DataFrame:
        """What may be released: one row per parameter (and equation, for MNLogit).

        Columns: ``term``, ``equation`` (multinomial models only), ``coef``,
        ``std_err``, ``z``, ``p_value``, ``ci_lower``, ``ci_upper`` (95%).
        """
        if self._released is not None:
            return self._released
        return coefficient_table(self.result)

    def released_csv(self) -> str:
        """What ``finalise`` writes: the coefficient table in its one serialisation
        (:mod:`sdc.canonical`)."""
        return frame_csv(self.coefficients, text=TEXT_COLUMNS)

    def evidence_dict(self) -> dict[str, Any]:
        """The evidence the gate re-checks: counts only, no row-level data."""
        if self.evidence is None:
            raise SdcInputError(
                f"output {self.name!r} cannot be written: {self.problems[0]}. Remove it with "
                "remove_output before finalise, or add the result for a person to review "
                "with custom_output(result, kind=...)."
            )
        return evidence_to_dict(self.evidence)

    def to_report(self) -> dict[str, Any]:
        """This output's entry in the JSON report (no row-level data)."""
        return report_entry(self)

    def summary(self) -> str:
        """A short text account of the verdict with its reasons and findings."""
        ev = self.evidence
        head = f"{self.name}: regression"
        if ev is not None:
            head += f" ({ev.model}, {ev.n_obs} records, {ev.n_params} parameters)"
        return summary_lines(self, head)

    def __repr__(self) -> str:
        return f"<RegressionOutput {self.name!r} {self.statistic} status={self.status.value}>"
