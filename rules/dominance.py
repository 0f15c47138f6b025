"""Dominance rules on magnitude tables: (n, k) dominance, the p% rule and the pq rule.

X is the cell total, x1 >= x2 >= ... the per-contributor totals. With negative
contributions dominance is undefined, so such cells are sent to review instead
of being decided (as ACRO does).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sdc.rules.base import CellEvidence, RuleResult, full


@dataclass(frozen=True)
class NKParams:
    """Unsafe when x1 + ... + xn > k * X (``inclusive``: >=, ACRO's comparison)."""

    n: int = field(default=2, metadata={"min": 1, "max": 10})
    k: float = field(default=0.85, metadata={"min": 0.0, "max": 1.0, "low_open": True})
    inclusive: bool = False


@dataclass(frozen=True)
class PPercentParams:
    """Unsafe when X - x1 - x2 < p * x1: the runner-up can estimate x1 to within p."""

    p: float = field(default=0.10, metadata={"min": 0.0, "max": 1.0, "low_open": True})


@dataclass(frozen=True)
class PQParams:
    """Prior-posterior rule: unsafe when X - x1 - x2 < (p / q) * x1."""

    p: float = field(default=0.10, metadata={"min": 0.0, "max": 1.0, "low_open": True})
    q: float = field(default=1.0, metadata={"min": 0.0, "max": 1.0, "low_open": True})


_NEGATIVE_TEXT = (
    "the cell has {negatives} negative contribution(s), so dominance cannot be judged "
    "automatically; check the contributions by hand"
)


def _top(ev: CellEvidence, j: int) -> np.ndarray:
    return ev.top[:, j] if ev.top.shape[1] > j else np.zeros(ev.top.shape[0])


def nk_dominance(ev: CellEvidence, params: NKParams) -> RuleResult:
    """(n, k) dominance: the n largest contributors hold more than k of the total.

    A cell whose total is 0 passes (nothing to dominate).

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(sum=np.array([100.0, 100.0, 0.0]), negatives=np.array([0, 0, 0]),
    ...     top=np.array([[80.0, 10.0], [50.0, 10.0], [0.0, 0.0]]))
    >>> nk_dominance(ev, NKParams(n=2, k=0.9)).fail.tolist()
    [False, False, False]
    >>> nk_dominance(ev, NKParams(n=2, k=0.9, inclusive=True)).fail.tolist()
    [True, False, False]
    """
    total = ev.sum
    top_n = ev.top[:, : params.n].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        share = np.where(total > 0, top_n / np.where(total > 0, total, 1.0), 0.0)
    over = share >= params.k if params.inclusive else share > params.k
    over &= total > 0
    neg = ev.negatives > 0
    cmp = ">=" if params.inclusive else ">"
    place = getattr(ev, "place", "the cell")
    return RuleResult(
        rule="nk-dominance",
        fail=over & ~neg,
        review=neg,
        measured=share,
        limit=full(total.shape[0], params.k),
        measure="share of the largest contributors",
        fail_text=(
            f"the share of the {params.n} largest contributor(s) in the total of {place} is "
            f"{{measured}}; unsafe when it is {cmp} {{limit}} (({params.n}, {params.k}) dominance)"
        ),
        review_text=_NEGATIVE_TEXT,
        extra={"negatives": ev.negatives},
    )


def _p_rule(ev: CellEvidence, ratio: float, rule: str, label: str) -> RuleResult:
    total = ev.sum
    x1 = np.maximum(_top(ev, 0), 0.0)
    x2 = np.maximum(_top(ev, 1), 0.0)
    remainder = total - x1 - x2
    # x1 + x2 and X are summed in different orders: treat rounding noise as 0.
    remainder = np.where(np.abs(remainder) <= 1e-12 * ev.abs_sum, 0.0, remainder)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        measured = np.where(x1 > 0, remainder / np.where(x1 > 0, x1, 1.0), np.nan)
    # An all-zero cell has no largest contributor to protect: it passes.
    unsafe = (x1 > 0) & (remainder < ratio * x1)
    neg = ev.negatives > 0
    return RuleResult(
        rule=rule,
        fail=unsafe & ~neg,
        review=neg,
        measured=measured,
        limit=full(total.shape[0], ratio),
        measure="(X - x1 - x2) / x1",
        fail_text=(
            "the second-largest contributor can estimate the largest contribution to within "
            "{measured} of its value; it must be at least {limit} (" + label + ")"
        ),
        review_text=_NEGATIVE_TEXT,
        extra={"negatives": ev.negatives},
    )


def p_percent(ev: CellEvidence, params: PPercentParams) -> RuleResult:
    """The p% rule.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(sum=np.array([100.0, 100.0, 0.0]), negatives=np.array([0, 0, 0]),
    ...     abs_sum=np.array([100.0, 100.0, 0.0]),
    ...     top=np.array([[95.0, 1.0], [40.0, 30.0], [0.0, 0.0]]))
    >>> p_percent(ev, PPercentParams(p=0.1)).fail.tolist()
    [True, False, False]
    """
    return _p_rule(ev, params.p, "p-percent", f"p% rule, p = {params.p}")


def pq(ev: CellEvidence, params: PQParams) -> RuleResult:
    """The pq (prior-posterior) rule; only p/q matters.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> ev = SimpleNamespace(sum=np.array([100.0]), negatives=np.array([0]),
    ...     abs_sum=np.array([100.0]), top=np.array([[80.0, 10.0]]))
    >>> pq(ev, PQParams(p=0.1, q=0.5)).fail.tolist()   # 10 < 0.2 * 80
    [True]
    """
    return _p_rule(ev, params.p / params.q, "pq", f"pq rule, p = {params.p}, q = {params.q}")


def nk_protection(top: np.ndarray, total: np.ndarray, params: NKParams) -> np.ndarray:
    """Upper protection level of an (n, k)-dominated cell: (x1 + ... + xn) / k - X.

    How far above the true total an attacker's upper bound must reach so that the
    n largest contributors could hold no more than k of it (SDC Handbook, 4.2.2).

    Examples
    --------
    >>> import numpy as np
    >>> nk_protection(np.array([[80.0, 10.0]]), np.array([100.0]), NKParams(n=2, k=0.5))
    array([80.])
    """
    return top[:, : params.n].sum(axis=1) / params.k - total


def p_percent_protection(top: np.ndarray, total: np.ndarray, params: PPercentParams) -> np.ndarray:
    """Upper protection level of a p%-sensitive cell: p x1 - (X - x1 - x2).

    The runner-up knows X - x1 - x2 only up to the interval published for the cell:
    the interval must add what the remainder lacks of p x1 (SDC Handbook, 4.2.2).

    Examples
    --------
    >>> import numpy as np
    >>> p_percent_protection(np.array([[90.0, 8.0]]), np.array([100.0]), PPercentParams(p=0.1))
    array([7.])
    """
    return params.p * top[:, 0] - (total - top[:, 0] - _col(top, 1))


def pq_protection(top: np.ndarray, total: np.ndarray, params: PQParams) -> np.ndarray:
    """Upper protection level under the pq rule: (p / q) x1 - (X - x1 - x2).

    Examples
    --------
    >>> import numpy as np
    >>> pq_protection(np.array([[90.0, 8.0]]), np.array([100.0]), PQParams(p=0.1, q=0.5))
    array([16.])
    """
    return params.p / params.q * top[:, 0] - (total - top[:, 0] - _col(top, 1))


def _col(top: np.ndarray, j: int) -> np.ndarray:
    return top[:, j] if top.shape[1] > j else np.zeros(top.shape[0])
