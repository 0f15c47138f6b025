"""What every rule returns, and the contract every rule follows.

A rule is a pure, vectorised function ``rule(evidence, params) -> RuleResult``.
It reads per-cell evidence arrays and its parameters, and marks each cell as
failing, needing review, or neither; it never reads files or keeps state.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np


class CellEvidence(Protocol):
    """The per-cell evidence arrays a rule may read (one entry per cell, margins included)."""

    records: np.ndarray  # int64: records in the cell
    nonmissing: np.ndarray  # int64: records with a non-missing value
    contributors: np.ndarray  # int64: distinct contributors with a non-missing value
    negatives: np.ndarray  # int64: records with a negative value
    missing: np.ndarray  # int64: records with a missing value
    sum: np.ndarray  # float64: sum of values
    abs_sum: np.ndarray  # float64: sum of absolute values
    top: np.ndarray  # float64 (cells, k): largest per-contributor totals, 0 where absent
    spread: np.ndarray  # float64: largest minus smallest value, NaN where nothing is measured
    quantile: Any  # quantile tables: contributors below, above and near each cell's value
    statistic: str  # the statistic the table publishes ("count", "mean", ...)
    has_contributor: bool  # False: every record is its own contributor


@dataclass(frozen=True)
class RuleResult:
    """Per-cell outcome of one rule.

    ``fail`` and ``review`` are disjoint boolean masks. ``measured`` and
    ``limit`` are what the rule compared; ``text`` turns one cell's numbers into
    a sentence an output checker can read without the code.
    """

    rule: str
    fail: np.ndarray
    review: np.ndarray
    measured: np.ndarray
    limit: np.ndarray
    fail_text: str
    review_text: str = ""
    measure: str = "value"
    extra: dict[str, np.ndarray] = field(default_factory=dict)

    def message(self, cell: int) -> str:
        """The sentence for ``cell``, which must be failing or under review."""
        return self.messages(np.array([cell]))[0]

    def messages(self, cells: np.ndarray) -> list[str]:
        """Sentences for many cells; each distinct set of numbers is formatted once."""
        names = ["measured", "limit", *self.extra]
        columns = [self.fail[cells], self.measured[cells], self.limit[cells]]
        columns += [v[cells] for v in self.extra.values()]
        cache: dict[tuple, str] = {}
        out = []
        for key in zip(*(c.tolist() for c in columns), strict=True):
            text = cache.get(key)
            if text is None:
                template = self.fail_text if key[0] else self.review_text
                text = template.format(**{n: _fmt(v) for n, v in zip(names, key[1:], strict=True)})
                cache[key] = text
            out.append(text)
        return out


def _fmt(x: object) -> str:
    """Numbers as a person writes them: integers without '.0', ratios to 4 significant digits."""
    if isinstance(x, (bool, np.bool_)):
        return str(bool(x))
    if isinstance(x, (int, np.integer)):
        return str(int(x))
    if isinstance(x, (float, np.floating)):
        f = float(x)
        if np.isnan(f):
            return "n/a"
        if f.is_integer() and abs(f) < 1e15:
            return str(int(f))
        return f"{f:.4g}"
    return str(x)


def full(n: int, value: float) -> np.ndarray:
    """A per-cell array holding one limit value (rules report limits per cell)."""
    return np.full(n, value, dtype=np.float64)
