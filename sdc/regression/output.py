"""Regressions and other fitted statistical models: evidence, rules and verdict.

A fitted model is released as its coefficients and their statistics. What can
give individuals away is read from the fit, never by refitting:

- residual degrees of freedom (rule ``dof``) and parameters per record
  (``parameters``, DataSHIELD's ``nfilter.glm``);
- the records behind every 0/1 column of the design matrix (counted by
  :func:`sdc.kernels.design.binary_design_counts` in one pass over the rows) (a dummy level or an
  interaction cell), behind the rows outside it, behind each outcome category of
  a categorical outcome, and behind each (level, outcome) pair (rule
  ``threshold``): a coefficient estimated from 3 people is about those 3 people;
  a (level, outcome) pair with no records says everyone at that level had the
  other outcome (rule ``zeros``, as for an empty table cell);
- saturation (``saturated``): R^2 = 1, no residual variance, or fitted
  probabilities that are all 0 or 1 (perfect separation).

Row-level quantities (residuals, fitted values, leverage, the model frame) are
never part of what this module reports or keeps.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from sdc.canonical import frame_csv
from sdc.exceptions import SdcInputError
from sdc.outputs import FINDING_COLUMNS, finding_rows, report_entry, summary_lines
from sdc.rules import RULES, RuleResult
from sdc.ruleset import RuleSet
from sdc.verdict import Status

#: statsmodels model classes this module understands, by class name.
SUPPORTED = (
    "OLS", "WLS", "GLS", "GLM", "Logit", "Probit", "Poisson", "NegativeBinomial", "MNLogit",
    "PHReg",
)  # fmt: skip

#: Models whose outcome is a category: its categories are counted too.
_CATEGORICAL_OUTCOME = ("Logit", "Probit", "MNLogit")

#: Relative tolerance for "exactly fits" (R^2 = 1, zero residual variance, p in {0, 1}).
_EXACT = 1e-10


#: Rules read per counted group (the others per model).
_GROUP_RULES = ("threshold", "zeros")


@dataclass(frozen=True)
class RegressionEvidence:
    """What the rules need to know about one fitted model (no row-level data).

    ``groups`` names what each entry of ``group_records`` counts: a 0/1 design
    column (``term``), the rows outside it (``term = 0``), an outcome category
    (``outcome = c``) or a (column, outcome) pair.
    """

    model: str
    n_obs: int
    df_resid: float
    n_params: int
    groups: tuple[str, ...]
    group_records: np.ndarray
    saturation: tuple[str, ...]
    #: The names of the parameters (one per design column) and, for a multinomial
    #: model, the outcome category of each equation: the released table's rows.
    terms: tuple[str, ...] = ()
    equations: tuple[str, ...] = ()


def regression_evidence(result: Any) -> RegressionEvidence:
    """Evidence of a fitted statsmodels result; ``SdcInputError`` if it is not supported."""
    model = getattr(result, "model", None)
    name = type(model).__name__ if model is not None else type(result).__name__
    if model is None or name not in SUPPORTED:
        raise SdcInputError(
            f"a result of class {type(result).__module__}.{type(result).__name__} "
            f"(model {name}) is not a supported regression; supported: {', '.join(SUPPORTED)}"
        )
    exog = np.asarray(model.exog, dtype=np.float64)
    names = [str(n) for n in getattr(model, "exog_names", None) or range(exog.shape[1])]
    terms, equations = _terms(result)
    nobs = getattr(result, "nobs", None)
    n_obs = exog.shape[0] if nobs is None else round(float(nobs))
    n_params = int(np.asarray(result.params).size)
    df_resid = float(getattr(result, "df_resid", n_obs - n_params))
    groups, counts = _design_groups(exog, names, model, name)
    return RegressionEvidence(
        model=name, n_obs=n_obs, df_resid=df_resid, n_params=n_params, groups=tuple(groups),
        group_records=np.asarray(counts, dtype=np.int64), saturation=_saturation(result, name),
        terms=tuple(terms), equations=tuple(equations),
    )  # fmt: skip


def _terms(result: Any) -> tuple[list[str], list[str]]:
    """The parameter names (x0, x1, ... when the model has none) and the equations' labels."""
    params = np.asarray(result.params)
    k = params.shape[0]
    names = [str(n) for n in (getattr(result.model, "exog_names", None) or [])]
    if len(names) != k:
        names = [f"x{j}" for j in range(k)]
    equations: list[str] = []
    if params.ndim == 2:  # one equation per outcome category but the first
        ymap = getattr(result.model, "_ynames_map", None) or {}
        equations = [str(ymap.get(j + 1, j + 1)) for j in range(params.shape[1])]
    return names, equations


def _design_groups(
    exog: np.ndarray, names: list[str], model: Any, name: str
) -> tuple[list[str], list[int]]:
    """Records in and outside every 0/1 design column (a dummy level, an interaction cell);
    for a categorical outcome, records per category and per (column, category); for a Cox
    model, events in and outside every column. One kernel pass over the design matrix.
    """
    n = exog.shape[0]
    outcome = _outcome_codes(model, name)
    if name == "PHReg":  # a Cox coefficient is estimated from events, not records
        codes, labels = np.asarray(model.status).astype(bool).ravel().astype(np.int64), None
    elif outcome is not None:
        codes, labels = outcome
    else:
        codes, labels = None, None
    n_cat = 2 if name == "PHReg" else (len(labels) if labels is not None else 0)
    from sdc.kernels.design import binary_design_counts

    is01, ones, pairs, per_outcome = binary_design_counts(exog, codes, n_cat)
    cols = np.flatnonzero(is01 & (ones > 0) & (ones < n))
    dummies = [names[j] for j in cols]
    groups = dummies + [f"{d} = 0" for d in dummies]
    counts = ones[cols].tolist() + (n - ones[cols]).tolist()
    if name == "PHReg":
        events = pairs[cols, 1]
        groups += [f"{d}, events" for d in dummies] + [f"{d} = 0, events" for d in dummies]
        counts += events.tolist() + (per_outcome[1] - events).tolist()
    elif labels is not None:
        groups += [f"outcome = {lab}" for lab in labels]
        counts += per_outcome.tolist()
        for j, d in zip(cols, dummies, strict=True):
            groups += [f"{d}, outcome = {lab}" for lab in labels]
            counts += pairs[j].tolist()
    return groups, counts


def _outcome_codes(model: Any, name: str) -> tuple[np.ndarray, list[str]] | None:
    """Integer codes and labels of a categorical outcome (None for a continuous one)."""
    is_binomial = name == "GLM" and type(model.family).__name__ == "Binomial"
    if name not in _CATEGORICAL_OUTCOME and not is_binomial:
        return None
    endog = np.asarray(model.endog)
    if endog.ndim > 1:  # MNLogit keeps one-hot outcomes in wendog
        endog = np.argmax(endog, axis=1)
    labels_src = getattr(model, "_ynames_map", None)
    values, codes = np.unique(endog, return_inverse=True)
    if isinstance(labels_src, dict) and len(labels_src) == values.size:
        labels = [str(labels_src[k]) for k in sorted(labels_src)]
    else:  # 0.0 and 1.0 as 0 and 1
        labels = [str(int(v)) if float(v).is_integer() else str(v) for v in values.tolist()]
    return codes.astype(np.int64), labels


def _saturation(result: Any, name: str) -> tuple[str, ...]:
    """Why the model reproduces its data (empty when it does not)."""
    reasons = []
    rsq = getattr(result, "rsquared", None)
    if name in ("OLS", "WLS", "GLS") and rsq is not None and np.isfinite(rsq):
        if rsq >= 1 - _EXACT:
            reasons.append("R^2 = 1")
        ssr = float(getattr(result, "ssr", np.nan))
        tss = float(getattr(result, "centered_tss", np.nan))
        if np.isfinite(ssr) and ssr <= _EXACT * max(tss, 1.0):
            reasons.append("zero residual variance")
    binary = name in ("Logit", "Probit") or (
        name == "GLM" and type(result.model.family).__name__ == "Binomial"
    )
    if binary:
        y = np.asarray(result.model.endog, dtype=np.float64).ravel()
        eta = np.asarray(result.model.exog, dtype=np.float64) @ np.asarray(result.params).ravel()
        if y.size and 0 < y.sum() < y.size and eta[y == 0].max() < eta[y == 1].min():
            reasons.append("perfect separation (a linear score splits the two outcomes)")
    if name == "GLM" and not reasons:
        dev = float(getattr(result, "deviance", np.nan))
        null = float(getattr(result, "null_deviance", np.nan))
        if np.isfinite(dev) and np.isfinite(null) and null > 0 and dev <= _EXACT * null:
            reasons.append("zero deviance")
    return tuple(dict.fromkeys(reasons))


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
    names, labels = _terms(result)
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


def evidence_to_dict(ev: RegressionEvidence) -> dict[str, Any]:
    """Plain data for the evidence file a gate reads (counts only, no row-level data)."""
    return {
        "model": ev.model, "n_obs": ev.n_obs, "df_resid": ev.df_resid, "n_params": ev.n_params,
        "groups": list(ev.groups), "group_records": ev.group_records.tolist(),
        "saturation": list(ev.saturation), "terms": list(ev.terms),
        "equations": list(ev.equations),
    }  # fmt: skip


def evidence_from_dict(d: Any) -> RegressionEvidence:
    """Validated evidence read back from a file; ``SdcInputError`` names what is wrong."""
    keys = {
        "model", "n_obs", "df_resid", "n_params", "groups", "group_records", "saturation",
        "terms", "equations",
    }  # fmt: skip
    if not isinstance(d, dict) or set(d) != keys:
        got = sorted(d) if isinstance(d, dict) else type(d).__name__
        raise SdcInputError(f"regression evidence must have exactly the keys {sorted(keys)}; "
                            f"got {got}.")  # fmt: skip
    if d["model"] not in SUPPORTED:
        raise SdcInputError(f"regression evidence names an unsupported model {d['model']!r}.")
    for key in ("n_obs", "n_params"):
        if isinstance(d[key], bool) or not isinstance(d[key], int) or d[key] < 0:
            raise SdcInputError(f"regression evidence: {key} must be a count; got {d[key]!r}.")
    dof = d["df_resid"]
    if isinstance(dof, bool) or not isinstance(dof, int | float) or not np.isfinite(dof):
        raise SdcInputError(f"regression evidence: df_resid must be a number; got {dof!r}.")
    groups, counts, sat = d["groups"], d["group_records"], d["saturation"]
    if not (isinstance(groups, list) and all(isinstance(g, str) for g in groups)):
        raise SdcInputError("regression evidence: groups must be a list of names.")
    if not (
        isinstance(counts, list) and len(counts) == len(groups)
        and all(isinstance(c, int) and not isinstance(c, bool) and c >= 0 for c in counts)
    ):  # fmt: skip
        raise SdcInputError("regression evidence: group_records must hold one count per group.")
    if not (isinstance(sat, list) and all(isinstance(x, str) for x in sat)):
        raise SdcInputError("regression evidence: saturation must be a list of reasons.")
    terms, equations = d["terms"], d["equations"]
    for key, names in (("terms", terms), ("equations", equations)):
        if not (isinstance(names, list) and all(isinstance(x, str) for x in names)):
            raise SdcInputError(f"regression evidence: {key} must be a list of names.")
    if len(terms) * max(len(equations), 1) != d["n_params"]:
        raise SdcInputError(
            "regression evidence: n_params must be the number of terms times the equations."
        )
    return RegressionEvidence(
        model=d["model"], n_obs=d["n_obs"], df_resid=float(dof), n_params=d["n_params"],
        groups=tuple(groups), group_records=np.asarray(counts, dtype=np.int64),
        saturation=tuple(sat), terms=tuple(terms), equations=tuple(equations),
    )  # fmt: skip


@dataclass
class _ModelView:
    """What model rules read: one entry per model."""

    n_obs: np.ndarray
    n_params: np.ndarray
    residual_dof: np.ndarray
    saturated: np.ndarray


@dataclass
class _GroupView:
    """What the threshold rule reads: one entry per counted group (records, or a Cox
    model's events)."""

    records: np.ndarray
    contributors: np.ndarray
    units: list[str]
    has_contributor: bool = False
    place: str = "the group"


class RegressionOutput:
    """A fitted model checked for release: the statsmodels result, verdict and findings.

    ``result`` is the researcher's own object (it holds row-level data: it is
    never written by the engine); ``coefficients`` is what may be released. At
    the gate there is no result: :meth:`from_files` rebuilds the output from the
    released coefficient table and the evidence written beside it.
    """

    kind = "regression"
    value_name = "coef"
    plot = False
    _failed = _noted = False
    #: What made it, as recorded in the manifest (``sdc.definition``); set by the session.
    definition: dict[str, Any] | None = None

    def __init__(self, name: str, result: Any, ruleset: RuleSet) -> None:
        self.name = name
        self.result = result
        self.ruleset = ruleset
        self.reasons: tuple[str, ...] = ()
        self._released: pd.DataFrame | None = None
        try:
            self.evidence: RegressionEvidence | None = regression_evidence(result)
        except SdcInputError as exc:
            self.evidence = None
            self.reasons = (f"{exc}: a person must review it",)

    @classmethod
    def from_files(
        cls, name: str, evidence: RegressionEvidence, coefficients: pd.DataFrame,
        ruleset: RuleSet, problems: tuple[str, ...] = (), notes: tuple[str, ...] = (),
    ) -> RegressionOutput:  # fmt: skip
        """The output as a gate sees it; ``problems`` (the files disagree) make it ``fail``,
        ``notes`` (what a person must look at) at least ``review``."""
        out = cls.__new__(cls)
        out.name, out.result, out.ruleset = name, None, ruleset
        out.evidence, out._released, out.reasons = evidence, coefficients, problems + notes
        out._failed, out._noted = bool(problems), bool(notes)
        return out

    @property
    def statistic(self) -> str | None:
        return None if self.evidence is None else self.evidence.model

    @cached_property
    def results(self) -> tuple[RuleResult, ...]:
        ev = self.evidence
        if ev is None:
            return ()
        model = _ModelView(
            n_obs=np.array([ev.n_obs]), n_params=np.array([ev.n_params]),
            residual_dof=np.array([ev.df_resid]),
            saturated=np.array([1.0 if ev.saturation else 0.0]),
        )  # fmt: skip
        units = ["event(s)" if g.endswith(", events") else "record(s)" for g in ev.groups]
        groups = _GroupView(ev.group_records, ev.group_records, units)
        params = self.ruleset.params
        return tuple(
            RULES[r](groups if r in _GROUP_RULES else model, params[r])
            for r in self.ruleset.rules_for("coefficients")
        )

    @property
    def status(self) -> Status:
        if self.evidence is None:
            return Status.REVIEW
        if self.result is None and self._failed:  # gate: the files disagree
            return Status.FAIL
        if any(r.fail.any() for r in self.results):
            return Status.FAIL
        noted = self.result is None and self._noted
        review = noted or any(r.review.any() for r in self.results)
        return Status.REVIEW if review else Status.PASS

    @cached_property
    def findings(self) -> pd.DataFrame:
        """One row per failing or reviewed check: where (the model or a group), rule, why."""
        ev = self.evidence
        if ev is None:
            return pd.DataFrame(columns=FINDING_COLUMNS)
        rows = []
        for r in self.results:
            terms = ev.groups if r.rule in _GROUP_RULES else ("model",)  # model rules: one entry
            for row in finding_rows(terms, r):
                if r.rule == "saturated":
                    row["message"] += f" ({'; '.join(ev.saturation)})"
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
                f"output {self.name!r} cannot be written: {self.reasons[0]}. Remove it with "
                "remove_output before finalise."
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
