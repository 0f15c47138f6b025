"""Secondary suppression with audit rounds, on any additive table given as a model matrix.

The problem is stated in published cells only (:class:`CellProblem`): the model
matrix (inner cells x published cells), each published cell's additive value,
protection level and cost, which cells are empty, and which inner cells someone
knows apart from the table (singletons). Whatever the output kind that produced
it, :func:`protect_cells` suppresses more cells until no primary can be
recomputed, then audits the pattern and widens it where an interval is too
narrow.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp

from sdc.protection.audit import EXACT_WIDTH, Audit, audit, unit_cells
from sdc.protection.params import ProtectionParams
from sdc.protection.secondary import secondary_suppress


@dataclass(frozen=True)
class CellProblem:
    """A table to protect, as its published cells.

    ``x``: the model matrix (inner cells x published cells); ``value``: each published
    cell's additive value; ``levels``: the protection it needs (0: positive width);
    ``weight``: the cost of suppressing it; ``zero``: cells with no records;
    ``single``: inner cells whose value someone knows apart from the table (a sole
    contributor), or None; ``bound``: the lower bound of every inner cell;
    ``inner``: the true inner values when inner cells are not published themselves.
    """

    x: sp.csr_matrix
    value: np.ndarray
    levels: np.ndarray
    weight: np.ndarray
    zero: np.ndarray
    single: np.ndarray | None = None
    bound: float = 0.0
    inner: np.ndarray | None = None


def protect_cells(
    problem: CellProblem, primary: np.ndarray, params: ProtectionParams
) -> tuple[np.ndarray, np.ndarray, Audit]:
    """Secondary suppression, then audit rounds that suppress more where intervals are narrow.

    ``primary`` marks the published cells that must be hidden. Returns the
    suppressed cells, those added by the audit rounds, and the last audit.

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> x = sp.csr_matrix(np.array([[1, 0, 1], [0, 1, 1]]))   # a, b and their total
    >>> value = np.array([3.0, 20.0, 23.0])
    >>> problem = CellProblem(x, value, np.zeros(3), value, value == 0)
    >>> hidden, _, a = protect_cells(problem, np.array([True, False, False]), ProtectionParams())
    >>> hidden.tolist(), a.passed                  # b hides too, or a = total - b
    ([True, True, False], True)
    """
    x = problem.x
    single = _singletons(x, primary, problem.zero, problem.single)
    must = primary.copy()
    by_audit = np.zeros(primary.size, dtype=bool)
    for _ in range(params.audit_rounds + 1):
        pattern = secondary_suppress(
            x, must, problem.weight, zero=problem.zero, singleton=single,
            secondary_zeros=params.secondary_zeros,
        )  # fmt: skip
        suppressed = pattern.suppressed
        audited = audit(
            x, problem.value, suppressed, problem.levels, problem.bound,
            undetermined=not pattern.overflowed, inner=problem.inner,
        )  # fmt: skip
        suppressed, audited = publish_determined(suppressed, audited, primary, problem.value)
        if audited.passed:
            break
        spare = problem.zero & (not params.secondary_zeros)  # empty cells only if allowed
        extra = _widen(x, ~audited.ok, suppressed, problem.weight, spare)
        if not extra.any():
            break
        must |= extra
        by_audit |= extra
    if params.exact_intervals:
        audited = audit(
            x, problem.value, suppressed, problem.levels, problem.bound, exact=True,
            inner=problem.inner,
        )  # fmt: skip
    return suppressed, by_audit & suppressed, audited


def publish_determined(
    suppressed: np.ndarray, a: Audit, primary: np.ndarray, value: np.ndarray
) -> tuple[np.ndarray, Audit]:
    """Publish the non-primary suppressed cells the published ones already determine exactly.

    Hiding them protects nothing: an attacker computes them (after an overflow of
    the exact kernel, every undecided cell is hidden, and some are such cells).
    Publishing them leaves every other cell's interval as it was.
    """
    width = a.upper - a.lower
    point = a.exact & (width <= EXACT_WIDTH * np.maximum(1.0, np.abs(value)))
    reveal = suppressed & ~primary & point
    if not reveal.any():
        return suppressed, a
    nan = np.where(reveal, np.nan, 1.0)
    audited = replace(
        a, lower=a.lower * nan, upper=a.upper * nan, need_lower=a.need_lower * nan,
        need_upper=a.need_upper * nan, ok=a.ok | reveal,
    )  # fmt: skip
    return suppressed & ~reveal, audited


def _own_columns(x: sp.spmatrix, n_cols: int) -> np.ndarray:
    """Per inner cell, the column that publishes it alone (``n_cols``, a False slot, if none)."""
    own = unit_cells(sp.csc_matrix(x), np.ones(n_cols, dtype=bool))
    return np.where(own >= 0, own, n_cols)


def _singletons(
    x: sp.spmatrix, primary: np.ndarray, zero: np.ndarray, known: np.ndarray | None
) -> np.ndarray | None:
    """Inner cells whose value someone knows apart from the published cells (None: none).

    ``known``: cells with one contributor (that contributor knows the value).
    Always, empty inner cells that are primaries: cells are known to be >= 0, so a
    published sum of such zeros (0) reveals each of them, which is what
    GaussSuppression guards against by the same device.
    """
    n_cols = primary.size
    own = _own_columns(x, n_cols)
    single = np.append(primary & zero, False)[own]
    if known is not None:
        single = single | known
    return single if single.any() else None


def _widen(
    x: sp.csr_matrix,
    failing: np.ndarray,
    suppressed: np.ndarray,
    weight: np.ndarray,
    avoid: np.ndarray,
) -> np.ndarray:
    """For each failing cell, a published cell sharing a relation with it to suppress too.

    Cells in ``avoid`` are never chosen. The most detailed such cell (fewest inner
    cells: an inner cell where the table has them), the largest among those, so that
    the interval widens by the most.
    """
    xc = sp.csc_matrix(x)
    xr = sp.csr_matrix(x)
    nnz = np.diff(xc.indptr)
    extra = np.zeros(x.shape[1], dtype=bool)
    for j in np.flatnonzero(failing):
        rows = xc.indices[xc.indptr[j] : xc.indptr[j + 1]]
        relations = np.unique(xr[rows].indices)
        relations = relations[~suppressed[relations] & (nnz[relations] > nnz[j])]
        near = np.unique(xc[:, relations].indices)
        cand = np.unique(xr[near].indices)
        cand = cand[~suppressed[cand] & ~extra[cand] & ~avoid[cand] & (nnz[cand] <= nnz[j])]
        if cand.size:
            best = np.lexsort((-weight[cand], nnz[cand]))[0]
            extra[cand[best]] = True
    return extra
