"""Exact detection: which small groups of records lie in the span of the released numbers.

Given the outputs (:class:`~sdc.differencing.cells.OutputCells`) and the atoms
(:mod:`sdc.differencing.atoms`), every released number is a 0/1 row over atoms.
Per measure (records, or the sum of one column) the published rows are stacked
and the candidate groups (:mod:`sdc.differencing.candidates`: hidden cells, small
atoms, atoms of a few outputs, differences and intersections of cells) are tested
with the exact span kernel (:func:`sdc.kernels.span.span_decide`), which always
tracks the combination of released rows that derives each.

A candidate in the span is a finding, with the combination of released numbers
that gives it. Rounded outputs give intervals, not values: a combination of
rounded numbers pins the group to ``sum(coef * value) +- sum(|coef| * b/2)``,
and the group is unsafe only when that interval lies within 1 .. t-1. With
``intervals=True`` every other candidate also gets the attacker's exact interval
(HiGHS LPs over the atoms, counts non-negative), unsafe when within 1 .. t-1.

Outputs released before (``earlier``) go first: a group derivable from them
alone was given away already, and is noted rather than blamed on the new outputs.
Their exact numbers go first of all, so that those found independent are a basis
of their span; with a ``basis`` store (the registry) that basis is kept, and a
later check over the same earlier numbers leaves the dependent ones out
(:mod:`sdc.differencing.basis`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from sdc.differencing.basis import BasisStore, keep_basis, prefix_keys, read_basis, spot_checks
from sdc.differencing.candidates import Describe, candidates
from sdc.differencing.cells import RECORDS, Participant
from sdc.differencing.result import Finding


@dataclass
class Detection:
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    suggestions: list[str] = field(default_factory=list)
    #: The cells the suggestions would suppress, as (participant, cell).
    hide: list[tuple[int, int]] = field(default_factory=list)
    info: dict[str, int] = field(default_factory=dict)


def cell_rows(p: Participant, n_atoms: int) -> sp.csr_matrix:
    """(cells x atoms) 0/1: the atoms each of the participant's cells sums."""
    from sdc.kernels.sorted_sets import leaf_rows

    indptr, indices = leaf_rows(p.leaf, p.cells.n_leaves)
    leaves = sp.csr_matrix((np.ones(indices.size, dtype=np.int32), indices, indptr),
                           shape=(p.cells.n_leaves, n_atoms))  # fmt: skip
    leaves.has_sorted_indices = True  # a counting sort in atom order
    member = p.cells.member.tocoo()
    if member.shape[0] == member.shape[1] == member.nnz and np.array_equal(member.row,
                                                                          member.col):  # fmt: skip
        return leaves  # every cell is one leaf (no margins, no groups)
    rows = (member.T.tocsr().astype(np.int32) @ leaves).tocsr()
    rows.eliminate_zeros()
    rows.sort_indices()
    return rows


def _key(rows: sp.csr_matrix, i: int) -> bytes:
    return rows.indices[rows.indptr[i] : rows.indptr[i + 1]].astype(np.int64).tobytes()


@dataclass
class _System:
    """The published rows of one measure (deduplicated) and who publishes each."""

    measure: str
    ptr: list[int] = field(default_factory=lambda: [0])
    idx: list[np.ndarray] = field(default_factory=list)
    owners: list[list[tuple[int, int]]] = field(default_factory=list)  # (participant, cell)
    keys: dict[bytes, int] = field(default_factory=dict)

    def add(self, key: bytes, atoms: np.ndarray, owner: tuple[int, int]) -> None:
        at = self.keys.get(key)
        if at is not None:
            self.owners[at].append(owner)
            return
        self.keys[key] = len(self.idx)
        self.idx.append(atoms)
        self.owners.append([owner])


def detect(
    parts: Sequence[Participant],
    counts: np.ndarray | None,
    t: int,
    *,
    intervals: bool = False,
    suggest: bool = True,
    basis: BasisStore | None = None,
) -> Detection:
    """Findings over every measure the participants publish (see the module docstring)."""
    out = Detection()
    n_atoms = int(parts[0].leaf.size) if parts else 0
    rows = [cell_rows(p, n_atoms) for p in parts]
    measures = list(dict.fromkeys(p.cells.measure for p in parts))
    measures.sort(key=lambda m: m != RECORDS)  # counts first: means need them
    count_keys: set[bytes] = set()
    for measure in measures:
        system = _System(measure)
        order = sorted(range(len(parts)), key=lambda i: not parts[i].earlier)
        for i in order:
            p = parts[i]
            if p.cells.measure != measure:
                continue
            for c in np.flatnonzero(p.cells.published):
                if rows[i].indptr[c + 1] == rows[i].indptr[c]:
                    continue  # a published zero: no record, nothing to combine
                key = _key(rows[i], int(c))
                if p.cells.means and key not in count_keys:
                    continue
                system.add(key, rows[i].indices[rows[i].indptr[c] : rows[i].indptr[c + 1]],
                           (i, int(c)))  # fmt: skip
        if measure == RECORDS:
            count_keys = set(system.keys)
        if not system.idx:
            continue
        _decide(system, parts, rows, counts, t, n_atoms, intervals, suggest, out, basis)
    return out


def _csr(parts_idx: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(parts_idx) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([x.size for x in parts_idx])
    idx = np.concatenate(parts_idx).astype(np.int64) if parts_idx else np.zeros(0, np.int64)
    return ptr, idx


def _decide(system: _System, parts: Sequence[Participant], rows: list[sp.csr_matrix],
            counts: np.ndarray | None, t: int, n_atoms: int, intervals: bool, suggest: bool,
            out: Detection, basis: BasisStore | None = None) -> None:  # fmt: skip
    covered = np.zeros(n_atoms, dtype=bool)
    for atoms in system.idx:
        covered[atoms] = True
    mine = [i for i, p in enumerate(parts) if p.cells.measure == system.measure]
    found = candidates(system.keys, np.flatnonzero(covered), mine, parts, rows, counts, t,
                       out.notes, system.measure)  # fmt: skip
    what, cand = found.what, found.atoms
    if not cand:
        return
    firsts = [parts[o[0][0]] for o in system.owners]
    earlier = np.array([p.earlier for p in firsts], dtype=bool)
    rounded = np.array([p.cells.rounded_to is not None for p in firsts], dtype=bool)
    exact = np.flatnonzero(earlier & ~rounded)  # earlier exact numbers: a basis may stand in
    length = np.array([x.size for x in system.idx])
    order = np.lexsort((length, rounded, ~earlier))  # earlier exact, earlier rounded, new
    key, exact, left_out, whole = _reuse(system, firsts, exact, basis)
    result = _eliminate(system, order, left_out, cand, n_atoms)
    if result is None:  # the kept basis did not hold: eliminate everything, keep it anew
        out.notes.append(f"the basis of earlier releases kept in the registry ({system.measure}) "
                         "did not give every earlier number: it was changed outside sdc, or "
                         "is wrong; the check used every earlier number and kept the basis "
                         "again")  # fmt: skip
        left_out, whole = left_out[:0], False
        result = _eliminate(system, order, left_out, cand, n_atoms)
        assert result is not None
    used, ordered, state, cp, cr, cn, cd, rank, overflowed, independent = result
    n_left_out = order.size - used.size
    whole = whole and n_left_out == left_out.size  # (undecided spot checks: all rows used)
    order = used
    if not whole and basis is not None and exact.size and not overflowed:
        chosen = np.sort(order[independent])
        stored = np.flatnonzero(np.isin(exact, chosen))
        out.info[f"{system.measure}: basis kept"] = int(keep_basis(basis, key, stored))
    out.info[f"{system.measure}: atoms"] = n_atoms
    out.info[f"{system.measure}: rows"] = len(ordered)
    out.info[f"{system.measure}: rank"] = int(rank)
    if n_left_out:
        out.info[f"{system.measure}: earlier rows left out"] = int(n_left_out)
    if overflowed or (state < 0).any():
        n_bad = int((state < 0).sum())
        out.notes.append(
            f"{n_bad} small group(s) of the {system.measure} could not be decided exactly (the "
            "numbers of the elimination grew too large): a person must check them"
        )
    lo_hi = []
    for k in order:
        i, c = system.owners[k][0]
        lo, hi = parts[i].cells.interval()
        lo_hi.append((float(lo[c]), float(hi[c]), parts[i].cells.rounded_to is not None))
    primaries: list[np.ndarray] = []
    for j in np.flatnonzero(state == 1):
        desc, n = what[j]
        terms = [(int(order[cr[s]]), Fraction(int(cn[s]), int(cd[j])))
                 for s in range(cp[j], cp[j + 1])]  # fmt: skip
        finding = _finding(system, parts, terms, ordered, lo_hi, order, desc, n, t, cand[j])
        if finding is None:
            continue
        if isinstance(finding, str):
            out.notes.append(finding)
            continue
        out.findings.append(finding)
        primaries.append(cand[j])
    if intervals:
        _lp_findings(system, parts, ordered, order, lo_hi, what, cand, state, t, n_atoms, out,
                     primaries)  # fmt: skip
    if suggest and primaries:
        from sdc.differencing.suggest import joint_suppression

        sentences, hidden = joint_suppression(system, parts, ordered, order, primaries, counts,
                                              n_atoms)  # fmt: skip
        out.suggestions.extend(sentences)
        out.hide.extend(hidden)
        before = sorted({n for f in out.findings for n in f.earlier})
        if before:
            named = ", ".join(map(repr, before))
            out.suggestions.append(f"the outputs conflict with what was released before "
                                   f"({named}), which cannot be withdrawn: change the new "
                                   "outputs")  # fmt: skip


def _eliminate(system: _System, order: np.ndarray, left_out: np.ndarray,
               cand: list[np.ndarray], n_atoms: int) -> tuple | None:  # fmt: skip
    """The span kernel over the published rows in ``order`` but those ``left_out``, for
    the candidates: (rows used, as positions and as atoms, then the kernel's results for
    the candidates). With rows left out, random combinations of them are decided too
    (:func:`~sdc.differencing.basis.spot_checks`); None when one is not derivable (the
    basis kept does not give them)."""
    from sdc.kernels.span import span_decide

    used = order[~np.isin(order, left_out)]
    ordered = [system.idx[k] for k in used]
    checks = spot_checks([system.idx[k] for k in left_out], n_atoms)
    r_ptr, r_idx = _csr(ordered)
    c_ptr, c_idx = _csr([*cand, *(idx for idx, _ in checks)])
    c_val = np.zeros(0, dtype=np.int64)  # every candidate 0/1
    if checks:
        c_val = np.concatenate([np.ones(int(c_ptr[len(cand)]), dtype=np.int64),
                                *(val for _, val in checks)])  # fmt: skip
    state, cp, cr, cn, cd, rank, overflowed, independent = span_decide(
        r_ptr, r_idx, int(n_atoms), c_ptr, c_idx, c_val)  # fmt: skip
    if checks and not overflowed and (state[len(cand) :] == 0).any():
        return None
    if checks and (overflowed or (state[len(cand) :] < 0).any()):
        return _eliminate(system, order, left_out[:0], cand, n_atoms)  # undecided: all rows
    n = len(cand)
    return used, ordered, state[:n], cp[: n + 1], cr, cn, cd[:n], rank, overflowed, independent


def _reuse(system: _System, firsts: list[Participant], exact: np.ndarray,
           basis: BasisStore | None) -> tuple[str, np.ndarray, np.ndarray, bool]:  # fmt: skip
    """The basis key of the earlier exact rows, those rows in the key's order (by output,
    then cell), the rows a stored basis of a prefix of them leaves out, and whether the
    basis stored is of them all (:mod:`sdc.differencing.basis`)."""
    none = np.zeros(0, dtype=np.int64)
    if basis is None or not exact.size:
        return "", exact, none, False
    owner = np.array([system.owners[k][0] for k in exact], dtype=np.int64).reshape(-1, 2)
    by_owner = np.lexsort((owner[:, 1], owner[:, 0]))
    exact, owner = exact[by_owner], owner[by_owner]
    cut = np.flatnonzero(np.diff(owner[:, 0])) + 1
    groups = [[f"{firsts[k].identity or firsts[k].name}#{system.owners[k][0][1]}" for k in g]
              for g in np.split(exact, cut)]  # fmt: skip
    keys = prefix_keys(system.measure, groups)
    sizes = np.cumsum([len(g) for g in groups])
    found = read_basis(basis, keys, sizes.tolist())
    if found is None:
        return keys[-1], exact, none, False
    n_groups, positions = found
    prefix = exact[: sizes[n_groups - 1]]
    return keys[-1], exact, np.setdiff1d(prefix, prefix[positions]), n_groups == len(keys)


def _true(system: _System, parts: Sequence[Participant], k: int) -> int | None:
    """The true count of published row k (None where its output does not know it)."""
    i, c = system.owners[k][0]
    counts = parts[i].cells.counts
    return None if counts is None else int(counts[c])


def _finding(system: _System, parts: Sequence[Participant], terms: list,
             ordered: list[np.ndarray], lo_hi: list, order: np.ndarray, desc: Describe,
             n: int | None, t: int, atoms: np.ndarray) -> Finding | str | None:  # fmt: skip
    """The finding a derivable candidate makes (None: not small; a note: given away before)."""
    if n is None:  # atoms of unknown size: the combination of true counts gives it
        true = [_true(system, parts, k) for k, _ in terms]
        if any(x is None for x in true):
            return None
        n = int(sum(coef * x for (_, coef), x in zip(terms, true, strict=True)))
    if not 0 < n < t:
        return None
    position = {int(k): s for s, k in enumerate(order)}
    rounded = [lo_hi[position[k]] for k, _ in terms]
    interval = None
    if any(r for _, _, r in rounded):
        est_lo = sum(min(coef * lo, coef * hi) for (_, coef), (lo, hi, _) in
                     zip(terms, rounded, strict=True))  # fmt: skip
        est_hi = sum(max(coef * lo, coef * hi) for (_, coef), (lo, hi, _) in
                     zip(terms, rounded, strict=True))  # fmt: skip
        low, high = max(0, math.ceil(est_lo)), math.floor(est_hi)
        if not (low >= 1 and high <= t - 1):
            return None
        interval = (int(low), int(high))
    names: list[str] = []
    earlier: list[str] = []
    combination = []
    used = sorted({system.owners[k][0][0] for k, _ in terms})
    group = desc(used, atoms)
    for k, coef in sorted(terms, key=lambda x: (-x[1], x[0])):
        i, c = system.owners[k][0]
        p = parts[i]
        combination.append((p.name, dict(p.cells.cell_labels[c]), coef))
        if p.name not in names:
            names.append(p.name)
        if p.earlier and p.name not in earlier:
            earlier.append(p.name)
    if earlier and len(earlier) == len(names):
        return (f"{group}: {n} record(s) can be derived from outputs released before alone "
                f"({', '.join(map(repr, earlier))}); the request does not change that")  # fmt: skip
    return Finding(system.measure, group, n, tuple(names), tuple(combination), t, interval,
                   tuple(earlier), tuple(atoms.tolist()))  # fmt: skip


def _lp_findings(system: _System, parts: Sequence[Participant], ordered: list[np.ndarray],
                 order: np.ndarray, lo_hi: list, what: list, cand: list[np.ndarray],
                 state: np.ndarray, t: int, n_atoms: int, out: Detection,
                 primaries: list[np.ndarray]) -> None:  # fmt: skip
    """Candidates not derivable exactly, bounded by the attacker's LPs (non-negative atoms)."""
    from sdc.differencing.intervals import group_intervals

    todo = [j for j in range(len(cand)) if state[j] == 0]
    if not todo:
        return
    lo = np.array([x[0] for x in lo_hi])
    hi = np.array([x[1] for x in lo_hi])
    bounds = group_intervals(ordered, lo, hi, [cand[j] for j in todo], n_atoms)
    for j, (low, high) in zip(todo, bounds, strict=True):
        low_i, high_i = max(0, math.ceil(low - 1e-7)), math.floor(high + 1e-7)
        if not (low_i >= 1 and high_i <= t - 1):
            continue
        desc, n = what[j]
        touching = [system.owners[k][0][0] for s, k in enumerate(order)
                    if np.intersect1d(ordered[s], cand[j]).size]  # fmt: skip
        names = list(dict.fromkeys(parts[i].name for i in touching))
        earlier = tuple(dict.fromkeys(parts[i].name for i in touching if parts[i].earlier))
        group = desc(sorted(set(touching)), cand[j])
        out.findings.append(Finding(system.measure, group, n, tuple(names), (), t,
                                    (low_i, high_i), earlier, tuple(cand[j].tolist())))  # fmt: skip
        primaries.append(cand[j])
