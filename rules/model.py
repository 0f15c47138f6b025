"""Rules on fitted models and regressions: residual degrees of freedom."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sdc.rules.base import RuleResult, full


@dataclass(frozen=True)
class DofParams:
    """Unsafe when the residual degrees of freedom are below ``t``."""

    t: int = field(default=10, metadata={"min": 1})


def dof(ev: object, params: DofParams) -> RuleResult:
    """Residual degrees of freedom of a model (``ev.residual_dof``, one entry per model).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> dof(SimpleNamespace(residual_dof=np.array([3, 40])), DofParams()).fail.tolist()
    [True, False]
    """
    r = np.asarray(ev.residual_dof, dtype=np.float64)  # type: ignore[attr-defined]
    return RuleResult(
        rule="dof",
        fail=r < params.t,
        review=np.zeros(r.shape[0], dtype=bool),
        measured=r,
        limit=full(r.shape[0], params.t),
        measure="residual degrees of freedom",
        fail_text="{measured} residual degrees of freedom; at least {limit} are required",
    )


@dataclass(frozen=True)
class ParametersParams:
    """Unsafe when a model has more than ``ratio`` parameters per record (DataSHIELD's
    ``nfilter.glm``, 0.33)."""

    ratio: float = field(default=0.33, metadata={"min": 0.0, "max": 1.0})


def parameters(ev: object, params: ParametersParams) -> RuleResult:
    """Parameters against records (``ev.n_params``, ``ev.n_obs``, one entry per model).

    A model with nearly as many parameters as records reproduces its data.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(n_params=np.array([4, 40]), n_obs=np.array([100, 100]))
    >>> parameters(ev, ParametersParams()).fail.tolist()
    [False, True]
    """
    k = np.asarray(ev.n_params, dtype=np.float64)  # type: ignore[attr-defined]
    n = np.asarray(ev.n_obs, dtype=np.float64)  # type: ignore[attr-defined]
    limit = params.ratio * n
    return RuleResult(
        rule="parameters",
        fail=k > limit,
        review=np.zeros(k.shape[0], dtype=bool),
        measured=k,
        limit=limit,
        measure="parameters",
        fail_text=(
            "{measured} parameters; at most {limit} are allowed "
            f"({params.ratio} per record, nfilter.glm)"
        ),
    )


@dataclass(frozen=True)
class SaturatedParams:
    """Saturated models (a table in disguise): ``outcome`` "fail" (default) or "review"."""

    outcome: str = field(default="fail", metadata={"choices": ("fail", "review")})


def saturated(ev: object, params: SaturatedParams) -> RuleResult:
    """Models, or groups of a model, that fit their data exactly (``ev.saturated``: 1 where
    they do, per entry).

    R^2 = 1, zero residual variance, perfect separation, records fitted exactly: the
    fitted values are the observed ones, so the coefficients republish the data.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> saturated(SimpleNamespace(saturated=np.array([0, 1])), SaturatedParams()).fail.tolist()
    [False, True]
    """
    s = np.asarray(ev.saturated, dtype=np.float64)  # type: ignore[attr-defined]
    hit = s > 0
    fail = hit if params.outcome == "fail" else np.zeros_like(hit)
    text = "saturated: the fit reproduces its data (fitted values equal the outcomes), so the "
    text += "coefficients republish them: a table in disguise"
    return RuleResult(
        rule="saturated",
        fail=fail,
        review=hit & ~fail,
        measured=s,
        limit=np.zeros(s.shape[0]),
        measure="saturated",
        fail_text=text,
        review_text=text,
    )
