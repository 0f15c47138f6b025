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
