"""Secondary suppression with audit rounds, on any additive table given as a model matrix.

The problem is stated in published cells only (:class:`CellProblem`): the model
matrix (inner cells x published cells), each published cell's additive value,
protection level and cost, which cells are empty, and which inner cells someone
knows apart from the table (singletons). Whatever the output kind that produced
it, :func:`protect_cells` suppresses more cells until no primary can be
recomputed, then audits the pattern and hides what a cell whose interval is too
narrow needs (the cheapest alternative table that moves it far enough).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from sdc.protection.audit import EXACT_WIDTH, Audit, audit, nothing_determined, unit_cells
from sdc.protection.params import ProtectionParams
from sdc.protection.progress import report
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
    ``upper_levels``: how far above its value a cell's interval must reach, when that
    differs from ``levels`` (below); ``either``: cells protected when their interval
    reaches one side (a small count: down to 0 or up to the threshold). ``groups``:
    sets of cells (rows over the published cells) whose hidden sum must be protected
    as one cell, ``group_target`` the value that sum's interval must reach upwards
    (or down to 0): hidden small counts of one relation.
    ``fixed``: cells published whatever happens (never chosen as secondaries).
    ``relations``: sets of cells (rows over the published cells: a total and the
    cells it sums) whose hidden cells must hold at least ``ProtectionParams.threshold``.
    ``whole``: cells an attacker knows to be whole numbers (the primaries of a count
    table; :func:`protect_cells` adds its primaries): an interval such as [5.998, 6.002]
    reads 6, so each must reach a whole number other than its value (None: none).
    """

    x: sp.csr_matrix
    value: np.ndarray
    levels: np.ndarray
    weight: np.ndarray
    zero: np.ndarray
    single: np.ndarray | None = None
    bound: float = 0.0
    inner: np.ndarray | None = None
    upper_levels: np.ndarray | None = None
    either: np.ndarray | None = None
    groups: sp.csr_matrix | None = None
    group_target: np.ndarray | None = None
    fixed: np.ndarray | None = None
    relations: sp.csr_matrix | None = None
    whole: np.ndarray | None = None

    @property
    def n_groups(self) -> int:
        return 0 if self.groups is None else int(self.groups.shape[0])


def audit_problem(
    problem: CellProblem,
    suppressed: np.ndarray,
    *,
    exact: bool = False,
    undetermined: bool | None = None,
    tables: Sequence[tuple[np.ndarray, np.ndarray]] = (),
    bound_lps: int | None = None,
) -> tuple[Audit, Audit]:
    """The audit of a pattern on the published cells, and on the cells and groups together.

    Groups are audited as extra hidden columns (the sum of their members); a group
    that fails makes its members fail in the first audit. ``tables``, ``bound_lps``:
    as :func:`sdc.protection.audit.audit`'s.
    """
    x, value, levels, upper, either, n_pub = _with_groups(problem)
    hidden = np.concatenate([suppressed, np.ones(x.shape[1] - n_pub, dtype=bool)])
    full = audit(
        x, value, hidden, levels, problem.bound, exact=exact, undetermined=undetermined,
        inner=problem.inner, upper_levels=upper, either=either, tables=tables,
        bound_lps=bound_lps,
    )  # fmt: skip
    return _fold_groups(full, problem, n_pub), full


def _nothing_determined(problem: CellProblem, suppressed: np.ndarray) -> bool:
    """No hidden cell nor group the published cells determine (checked once per pattern:
    hiding more, or publishing what is already determined, keeps it so)."""
    x, value, _, _, _, n_pub = _with_groups(problem)
    hidden = np.concatenate([suppressed, np.ones(x.shape[1] - n_pub, dtype=bool)])
    return nothing_determined(x, value, hidden)


def _with_groups(
    problem: CellProblem,
) -> tuple[sp.csc_matrix, np.ndarray, np.ndarray, np.ndarray, np.ndarray, int]:
    """The model matrix with one column per group, and every cell's requirement."""
    n_pub = problem.value.size
    upper = problem.levels if problem.upper_levels is None else problem.upper_levels
    either = np.zeros(n_pub, bool) if problem.either is None else problem.either
    levels, upper, either = _whole_numbers(problem, problem.levels, upper, either)
    if problem.n_groups == 0:
        return sp.csc_matrix(problem.x), problem.value, levels, upper, either, n_pub
    g = sp.csr_matrix(problem.groups, dtype=np.float64)
    target = np.asarray(problem.group_target, dtype=np.float64)
    g_value = g @ problem.value
    x = sp.hstack([sp.csc_matrix(problem.x, dtype=np.float64), problem.x @ g.T], format="csc")
    x.data = np.minimum(x.data, 1.0)  # members of a group are disjoint; guard all the same
    return (
        x,
        np.concatenate([problem.value, g_value]),
        np.concatenate([levels, g_value]),  # down to 0 ...
        np.concatenate([upper, np.maximum(target - g_value, 0.0)]),  # ... or up to the target
        np.concatenate([either, np.ones(g_value.size, dtype=bool)]),
        n_pub,
    )


def _whole_numbers(
    problem: CellProblem, levels: np.ndarray, upper: np.ndarray, either: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The requirements of ``problem.whole`` cells, so that each interval holds a second whole
    number: one whose only need is a width must reach one below or one above its value (one
    above where it sits at the bound); a small count at the bound (0), whose "down to 0" says
    nothing, must reach one above. On tables of 3 or more dimensions the attacker's LP has
    fractional vertices: a positive width alone can be far below one.
    """
    if problem.whole is None or not problem.whole.any():
        return levels, upper, either
    whole = problem.whole
    at_bound = problem.value - problem.bound < 1.0  # cannot move down by a whole unit
    width_only = whole & ~either & (levels <= 0) & (upper <= 0)
    small_at_bound = whole & either & at_bound
    down = width_only & ~at_bound
    levels = np.where(down, 1.0, np.where(small_at_bound, 0.0, levels))
    upper = np.where(width_only | small_at_bound, 1.0, upper)
    either = (either & ~small_at_bound) | down
    return levels, upper, either


def _fold_groups(full: Audit, problem: CellProblem, n_pub: int) -> Audit:
    """The audit of the published cells; members of a failing group fail too."""
    cut = {
        name: getattr(full, name)[:n_pub]
        for name in ("lower", "upper", "need_lower", "need_upper", "ok", "exact")
    }
    either = None if full.either is None else full.either[:n_pub]
    ok = cut.pop("ok").copy()
    if problem.n_groups:
        failing = ~full.ok[n_pub:]
        if failing.any():
            assert problem.groups is not None
            members = np.asarray(problem.groups[failing].sum(axis=0)).ravel() > 0
            ok &= ~members
    return Audit(**cut, ok=ok, either=either)


def protect_cells(
    problem: CellProblem, primary: np.ndarray, params: ProtectionParams
) -> tuple[np.ndarray, np.ndarray, Audit]:
    """Secondary suppression, then audit rounds that hide what too narrow intervals need.

    ``primary`` marks the published cells that must be hidden. Returns the
    suppressed cells, those added by the audit rounds, and the last audit.

    Gaussian elimination makes sure no primary can be computed exactly (nor by a
    singleton's contributor). Each audit round then gives every cell (or group)
    whose interval is still too narrow the cheapest feasible alternative table
    that moves it far enough (:mod:`sdc.protection.deviation`), and hides the
    published cells that table changes.

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
    if problem.whole is not None:
        problem = replace(problem, whole=problem.whole | primary)
    x = problem.x
    single = _singletons(x, primary, problem.zero, problem.single)
    deviations = None
    first = np.zeros(primary.size, dtype=bool)
    # Protection levels to reach come first; a whole number's unit step rarely needs more than
    # the elimination's pattern, and the audit rounds give it what it does.
    levels_only = replace(problem, whole=None)
    wanted = _requirements(levels_only, primary, one_sided=False)
    if wanted:  # protection levels to reach: the cells those need first, then exactness
        deviations = _deviations(problem, primary, params)
        first = deviations.protect(wanted)[: primary.size] & ~primary

    def eliminate(hide: np.ndarray, hidden: np.ndarray | None = None) -> Any:
        """The elimination's pattern that keeps every cell of ``hide`` from being computed."""
        return secondary_suppress(
            x, hide, problem.weight, zero=problem.zero, singleton=single,
            forced=problem.fixed, secondary_zeros=params.secondary_zeros, hidden=hidden,
        )  # fmt: skip

    report(0, None, "secondary suppression")
    pattern = eliminate(primary, first)
    suppressed = pattern.suppressed
    undetermined = pattern.proven or _nothing_determined(problem, suppressed)
    by_audit = np.zeros(primary.size, dtype=bool)
    # Rounds before the last ask only which cells still fall short: past ROUND_BOUND_LPS LPs
    # for single bounds, a cell that no feasible table (the audit's own, or the alternative
    # tables of the rounds before) moves far enough is given its alternative table without
    # an LP to prove it short (one that could move already finds one that hides nothing).
    # The verdict's audit is whole.
    tables: list[tuple[np.ndarray, np.ndarray]] = []
    whole = False
    for round_ in range(params.audit_rounds + 1):
        whole = round_ == params.audit_rounds
        audited, full = audit_problem(
            problem, suppressed, undetermined=undetermined, tables=tables,
            bound_lps=None if whole else ROUND_BOUND_LPS,
        )  # fmt: skip
        suppressed, audited = publish_determined(suppressed, audited, primary, problem.value)
        if audited.passed or whole:
            break
        if deviations is None:
            deviations = _deviations(problem, suppressed, params)
        deviations.hide(np.concatenate([suppressed, np.ones(problem.n_groups, dtype=bool)]))
        used = deviations.protect(_moves(full, _with_groups(problem)[1]))[: primary.size]
        tables = deviations.tables
        extra = used & ~suppressed
        if not extra.any():
            break
        suppressed = suppressed | extra
        by_audit |= extra
    if not audited.passed and not whole:  # a round's audit, short of LPs: the whole one decides
        audited, _ = audit_problem(problem, suppressed, undetermined=undetermined)
        suppressed, audited = publish_determined(suppressed, audited, primary, problem.value)
    # Where every requirement is a positive width, the elimination's pattern already publishes
    # all it can (publishing any of its secondaries would pin a primary down): nothing to clean.
    # The unit step of a whole number is left out too: on the 4-D tables tried, the clean-up
    # published none of what the audit rounds had added for it, at seconds per table.
    asked = _intervals_asked(levels_only, primary)
    if audited.passed and params.clean_up and asked:
        budget = CLEAN_UP_LPS if wanted else CLEAN_UP_LPS_COUNTS
        suppressed, audited = _clean_up(
            problem, primary, suppressed, single, params, audited, budget
        )
    if params.threshold > 0 and problem.relations is not None:
        more = _hidden_at_least(problem, suppressed, params) & ~suppressed
        if more.any():
            # A cell hidden to make up the threshold that the published cells determine holds
            # nothing back: the elimination makes every hidden cell as safe as a primary.
            again = eliminate(suppressed | more)
            by_audit |= again.suppressed & ~suppressed
            suppressed = again.suppressed
            undetermined = again.proven or _nothing_determined(problem, suppressed)
            audited, _ = audit_problem(problem, suppressed, undetermined=undetermined)
    if params.exact_intervals:
        audited, _ = audit_problem(problem, suppressed, exact=True)
    return suppressed, by_audit & suppressed, audited


def _intervals_asked(problem: CellProblem, primary: np.ndarray) -> bool:
    """Does some primary (or group) need more than a positive width?"""
    return bool(problem.n_groups) or bool(_requirements(problem, primary))


def _hidden_at_least(
    problem: CellProblem, suppressed: np.ndarray, params: ProtectionParams
) -> np.ndarray:
    """``suppressed`` with the smallest published cells of each relation that holds a primary
    hidden until its hidden cells hold at least ``params.threshold`` (sdcTable's
    ``threshold``); a relation with nothing left to hide stays as it is."""
    assert problem.relations is not None
    hidden = suppressed.copy()
    blocked = np.zeros(hidden.size, dtype=bool)
    if problem.fixed is not None:
        blocked |= problem.fixed
    if not params.secondary_zeros:
        blocked |= problem.zero
    rel = problem.relations
    for r in range(rel.shape[0]):
        cells = rel.indices[rel.indptr[r] : rel.indptr[r + 1]]
        total = float(problem.value[cells[hidden[cells]]].sum())
        spare = cells[~hidden[cells] & ~blocked[cells]]
        for j in spare[np.lexsort((spare, problem.weight[spare]))]:
            if total >= params.threshold:
                break
            hidden[j] = True
            total += float(problem.value[j])
    return hidden


#: LPs for single bounds an audit round may solve (the verdict's audit has no limit): on a
#: 3-D table of 1e4 cells, 1,315 of them took 36 s where the alternative tables of the
#: cells they showed short took 3 s; with fewer, such LPs show cells that need nothing.
ROUND_BOUND_LPS = 200

#: Witness LPs the clean-up pass may solve (it is skipped when the witnesses of the
#: pattern alone would take more than half): the same on every run, and bounded on big
#: tables. A table whose primaries have protection levels (magnitude rules) gets the
#: larger budget: there the pass publishes back a fifth of the secondaries at 1e4 cells.
#: Count tables (small counts reaching 0 or t) get the smaller: on 1e4 cells it published
#: back 0.1-3% of them in 15-30 s.
CLEAN_UP_LPS = 20_000
CLEAN_UP_LPS_COUNTS = 4_000


def _clean_up(
    problem: CellProblem,
    primary: np.ndarray,
    suppressed: np.ndarray,
    single: np.ndarray | None,
    params: ProtectionParams,
    audited: Audit,
    budget: int,
) -> tuple[np.ndarray, Audit]:
    """Publish back the secondary cells no requirement needs (:mod:`sdc.protection.cleanup`),
    within ``budget`` witness LPs.

    The audit decides: if the cleaned pattern does not pass it, the pattern stays as it was.
    """
    from sdc.protection.cleanup import Requirement, clean_up
    from sdc.protection.deviation import Move

    secondary = suppressed & ~primary
    if not secondary.any():
        return suppressed, audited
    n_pub = primary.size
    needs = [Requirement(tuple(moves)) for moves in _requirements(problem, primary)]
    covered = {m.cell for r in needs for m in r.moves}
    primaries = np.flatnonzero(primary)
    # Over budget: skipped before anything is built (each insider requirement holds a mask
    # over the inner cells; 1e5 primaries' masks took longer than the pass they were for).
    witnesses = sum(len(r.moves) for r in needs) + 2 * sum(int(j) not in covered for j in primaries)
    if single is not None:
        witnesses += 2 * primaries.size
    if witnesses > budget // 2:
        return suppressed, audited
    deviations = _deviations(problem, suppressed, params)
    n = deviations.n_col
    value = _with_groups(problem)[1]
    unit = 1.0 if np.all(value == np.round(value)) else None
    inner_of = sp.csc_matrix(problem.x)
    for j in primaries:
        step = unit if unit is not None else 1e-3 * max(1.0, abs(float(value[j])))
        both = (Move(int(j), 1.0, step), Move(int(j), -1.0, step))
        if int(j) not in covered:
            needs.append(Requirement(both))
        if single is not None:
            keep = single.copy()
            keep[inner_of.indices[inner_of.indptr[j] : inner_of.indptr[j + 1]]] = False
            needs.append(Requirement(both, keep))
    weight = np.concatenate([problem.weight, np.zeros(n - n_pub)])
    sec = np.concatenate([secondary, np.zeros(n - n_pub, dtype=bool)])
    kept = clean_up(deviations, needs, sec, weight, budget)[:n_pub]
    cleaned = primary | kept
    if cleaned.sum() == suppressed.sum():
        return suppressed, audited
    # The elimination kernel checks the cleaned pattern on its own terms: publishing its
    # published cells pins no primary down, for no singleton's contributor (witnesses keep
    # every singleton at once where they can, not each alone). A cell it refuses hides again.
    check = secondary_suppress(
        problem.x, primary, problem.weight, singleton=single, order=np.flatnonzero(~cleaned)
    )
    if check.overflowed:  # past exact and modular arithmetic: keep the pattern as it was
        return suppressed, audited
    cleaned = check.suppressed
    after, _ = audit_problem(problem, cleaned)
    cleaned, after = publish_determined(cleaned, after, primary, problem.value)
    return (cleaned, after) if after.passed else (suppressed, audited)


def _requirements(
    problem: CellProblem, primary: np.ndarray, one_sided: bool = True
) -> list[list[Any]]:
    """The moves every primary (and group) with more than a positive width to reach needs
    (without ``one_sided``: those that must reach both sides only, the protection levels).

    Largest first: the cells they hide may serve the smaller ones too.
    """
    from sdc.protection.deviation import Move

    x, value, levels, upper, either, n_pub = _with_groups(problem)
    cells = np.concatenate([primary, np.ones(x.shape[1] - n_pub, dtype=bool)])
    down = np.minimum(levels, value - problem.bound) if np.isfinite(problem.bound) else levels
    need = cells & ((down > 0) | (upper > 0))
    if not one_sided:
        need &= ~either
    out: list[list[Any]] = []
    for j in np.flatnonzero(need)[np.argsort(-np.maximum(down, upper)[need], kind="stable")]:
        moves = [Move(int(j), sign, float(a)) for sign, a in ((-1.0, down[j]), (1.0, upper[j]))
                 if a > 0]  # fmt: skip
        if either[j]:
            out.append(moves)
        else:
            out.extend([m] for m in moves)
    return out


def _deviations(problem: CellProblem, suppressed: np.ndarray, params: ProtectionParams) -> Any:
    """The deviation LP of a problem (groups included as hidden columns)."""
    from sdc.protection.deviation import Deviations

    x, *_, n_pub = _with_groups(problem)
    n = x.shape[1]
    fixed = np.zeros(n, dtype=bool)
    if problem.fixed is not None:
        fixed[:n_pub] = problem.fixed
    if not params.secondary_zeros:
        fixed[:n_pub] |= problem.zero & ~suppressed
    weight = np.concatenate([problem.weight, np.zeros(n - n_pub)])
    hidden = np.concatenate([suppressed, np.ones(n - n_pub, dtype=bool)])
    return Deviations(x, _inner_truth(problem), problem.bound, weight, hidden, fixed)


def _inner_truth(problem: CellProblem) -> np.ndarray:
    """The true inner cells: given, or read from the columns that publish them alone."""
    if problem.inner is not None:
        return np.asarray(problem.inner, dtype=np.float64)
    own = unit_cells(sp.csc_matrix(problem.x), np.ones(problem.value.size, dtype=bool))
    return np.where(own >= 0, problem.value[np.maximum(own, 0)], 0.0)


def _moves(a: Audit, value: np.ndarray) -> list[list[Any]]:
    """What each failing cell (or group) needs: one list of moves per requirement.

    ``value``: the true value of every column of ``a``. A one-sided cell
    (``either``) needs one of its two moves; any other needs both (as two
    entries). A side with nothing to reach asks for nothing; a cell whose only
    need is a positive width moves up by one.
    """
    from sdc.protection.deviation import Move

    out: list[list[Any]] = []
    either = np.zeros(a.ok.size, bool) if a.either is None else a.either
    for j in np.flatnonzero(~a.ok):
        down = float(value[j] - a.need_lower[j])
        up = float(a.need_upper[j] - value[j])
        if down <= 0 and up <= 0:
            up = 1.0
        moves = [Move(int(j), sign, amount) for sign, amount in ((-1.0, down), (1.0, up))
                 if amount > 0]  # fmt: skip
        if either[j]:
            out.append(moves)
        else:
            out.extend([m] for m in moves)
    return out


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
