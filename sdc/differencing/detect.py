"""Exact detection: which small groups of records lie in the span of the released numbers.

Given the outputs (:class:`~sdc.differencing.cells.OutputCells`) and the atoms
(:mod:`sdc.differencing.atoms`), every released number is a 0/1 row over atoms.
Per measure (records, or the sum of one column) the published rows are stacked
and the candidates are tested with the exact span kernel
(:func:`sdc.kernels.span.span_decide`):

- every atom of 1 to t-1 records (when atom sizes are known), except one that a
  cell publishes on its own (that cell fails its own output's rules);
- every hidden cell (suppressed, redacted, not released) of 1 to t-1 records.

A candidate in the span is a finding, with the combination of released numbers
that gives it. Rounded outputs give intervals, not values: a combination of
rounded numbers pins the group to ``sum(coef * value) +- sum(|coef| * b/2)``,
and the group is unsafe only when that interval lies within 1 .. t-1. With
``intervals=True`` every other candidate also gets the attacker's exact interval
(HiGHS LPs over the atoms, counts non-negative), unsafe when within 1 .. t-1.

Outputs released before (``earlier``) go first: a group derivable from them
alone was given away already, and is noted rather than blamed on the new outputs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from sdc.differencing.cells import RECORDS, OutputCells
from sdc.differencing.result import Finding

#: Most atoms x rows tracked with their combination (beyond: membership only, then
#: combinations are recomputed on the outputs each finding involves).
TRACK_LIMIT = 50_000_000


@dataclass(frozen=True, eq=False)
class Participant:
    """An output in a check: its cells, each atom's leaf in it (-1 outside), and whether it
    was released before (from the registry)."""

    cells: OutputCells
    leaf: np.ndarray
    earlier: bool = False

    @property
    def name(self) -> str:
        return self.cells.name


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
    inside = np.flatnonzero(p.leaf >= 0)
    a = sp.csr_matrix(
        (np.ones(inside.size, dtype=np.int32), (inside, p.leaf[inside])),
        shape=(n_atoms, p.cells.n_leaves),
    )
    rows = (a @ p.cells.member.astype(np.int32)).T.tocsr()
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


def describe_atom(parts: Sequence[Participant], a: int) -> str:
    """An atom in words: the labels every output gives it, and the populations it is outside."""
    seen: dict[str, dict[str, list[str]]] = {}
    outside: list[str] = []
    inside: list[str] = []
    for p in parts:
        leaf = int(p.leaf[a])
        if leaf < 0:
            pop = p.cells.population
            outside.append(f"not ({pop})" if pop else f"outside the records of {p.name!r}")
            continue
        if p.cells.population:
            inside.append(p.cells.population)
        for k, v in p.cells.leaf_labels[leaf].items():
            seen.setdefault(k, {}).setdefault(v, []).append(p.name)
    terms = []
    for k, values in seen.items():
        if len(values) == 1:
            terms.append(f"{k} {next(iter(values))}")
        else:
            terms.append(" & ".join(f"{k} {v} (in {', '.join(map(repr, names))})"
                                    for v, names in values.items()))  # fmt: skip
    terms += list(dict.fromkeys(inside)) + list(dict.fromkeys(outside))
    return " & ".join(terms) if terms else "all records"


def _cell_text(p: Participant, c: int) -> str:
    labels = ", ".join(f"{k}={v}" for k, v in p.cells.cell_labels[c].items())
    return f"{labels or 'the total'} (hidden in {p.name!r})"


def detect(
    parts: Sequence[Participant],
    counts: np.ndarray | None,
    t: int,
    *,
    intervals: bool = False,
    suggest: bool = True,
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
        _decide(system, parts, rows, counts, t, n_atoms, intervals, suggest, out)
    return out


#: Most unions (differences and intersections of cells) tested per measure.
MAX_UNIONS = 20_000


#: A candidate's description, made only for findings: given the participants the
#: combination uses, the group in words.
Describe = Callable[[Sequence[int]], str]


class _Candidates:
    """Candidate groups, each once: (description, true records or None) and atoms."""

    def __init__(self, published: dict[bytes, int]) -> None:
        self.published = published
        self.seen: set[bytes] = set()
        self.what: list[tuple[Describe, int | None]] = []
        self.atoms: list[np.ndarray] = []

    def add(self, atoms: np.ndarray, describe: Describe, n: int | None, *,
            shown_ok: bool) -> None:  # fmt: skip
        atoms = atoms.astype(np.int64)
        key = atoms.tobytes()
        if key in self.seen or (not shown_ok and key in self.published):
            return  # a published cell on its own: its output's own rules judge it
        self.seen.add(key)
        self.what.append((describe, n))
        self.atoms.append(atoms)


def _fixed(text: str) -> Describe:
    """A description that does not depend on the combination."""

    def words(used: Sequence[int]) -> str:
        return text

    return words


def _labels_text(p: Participant, c: int) -> str:
    return ", ".join(f"{k}={v}" for k, v in p.cells.cell_labels[c].items()) or "total"


def _without(pa: Participant, a: int, pb: Participant, b: int) -> str:
    """Cell a of one output without cell b of another (inside it), in words."""
    la, lb = pa.cells.cell_labels[a], pb.cells.cell_labels[b]
    if la == lb:
        pop = pb.cells.population
        outside = f"not ({pop})" if pop else f"outside the records of {pb.name!r}"
        return f"{_labels_text(pa, a)} & {outside}"
    return (f"{_labels_text(pa, a)} in {pa.name!r} but not {_labels_text(pb, b)} in "
            f"{pb.name!r}")  # fmt: skip


def _both(pa: Participant, a: int, pb: Participant, b: int) -> str:
    return f"{_labels_text(pa, a)} in {pa.name!r} and {_labels_text(pb, b)} in {pb.name!r}"


def _atom_words(parts: Sequence[Participant], atom: int, among: Sequence[int]) -> Describe:
    """An atom in words, by the outputs ``among`` and the earlier releases a combination uses
    (those define it: a group that a combination of their cells gives is one of their atoms,
    or a union of them)."""

    def words(used: Sequence[int]) -> str:
        chosen = sorted({*among, *(i for i in used if parts[i].earlier)})
        return describe_atom([parts[i] for i in chosen], atom)

    return words


def _candidates(
    system: _System, parts: Sequence[Participant], rows: list[sp.csr_matrix],
    counts: np.ndarray | None, t: int, notes: list[str],
) -> _Candidates:  # fmt: skip
    """The groups to test: hidden cells, single atoms, atoms of small subsets of outputs, and
    differences and intersections of two outputs' cells, of 1 to t-1 records where sizes
    are known."""
    found = _Candidates(system.keys)
    mine = [i for i, p in enumerate(parts) if p.cells.measure == system.measure]
    for i in mine:
        p = parts[i]
        if p.cells.means:
            continue  # a hidden mean hides its sum, whose count may not be known
        for c in p.cells.hidden:
            r = rows[i].indices[rows[i].indptr[c] : rows[i].indptr[c + 1]]
            if r.size == 0:
                continue
            n = int(counts[r].sum()) if counts is not None else (
                None if p.cells.counts is None else int(p.cells.counts[c]))  # fmt: skip
            if n is None or 0 < n < t:
                found.add(r, _fixed(_cell_text(p, int(c))), n, shown_ok=True)
    _subset_atoms(found, parts, mine, counts, t)  # first: the fewest outputs describe a group
    in_system = np.unique(np.concatenate(system.idx)) if system.idx else np.zeros(0, np.int64)
    single = in_system if counts is None else in_system[(counts[in_system] > 0) &
                                                         (counts[in_system] < t)]  # fmt: skip
    fresh = [i for i in mine if not parts[i].earlier]
    for a in single.tolist():
        found.add(np.array([a]), _atom_words(parts, a, fresh),
                  None if counts is None else int(counts[a]), shown_ok=False)  # fmt: skip
    budget = MAX_UNIONS
    for x, i in enumerate(mine):
        for j in mine[x + 1 :]:
            if parts[i].earlier and parts[j].earlier:
                continue  # released before, both: checked against each other then
            budget = _unions(found, parts, rows, i, j, counts, t, budget)
            if budget < 0:
                notes.append(f"more than {MAX_UNIONS} differences and intersections of cells "
                             f"of the {system.measure} could be tested; the rest were not: a "
                             "person must check them, or the outputs be fewer")  # fmt: skip
                return found
    return found


#: Subsets of up to this many outputs have their own atoms tested (2 past ``MANY``).
SUBSET, MANY = 3, 12


def _subset_atoms(found: _Candidates, parts: Sequence[Participant], mine: list[int],
                  counts: np.ndarray | None, t: int) -> None:  # fmt: skip
    """Add the atoms of every small subset of outputs (each with a new output in it): groups
    that a few outputs alone describe, whatever the other outputs do."""
    from itertools import combinations

    size = SUBSET if len(mine) <= MANY else 2
    fresh = {i for i in mine if not parts[i].earlier}
    weight = None if counts is None else counts.astype(np.float64)
    for k in range(1, min(size, len(mine)) + 1):
        for subset in combinations(mine, k):
            if not fresh.intersection(subset) or k == len(mine):
                continue  # the full set's atoms are the atoms themselves
            key = np.zeros(parts[subset[0]].leaf.size, dtype=np.int64)
            inside = np.zeros(key.size, dtype=bool)
            for i in subset:
                leaf = parts[i].leaf
                key = key * (int(leaf.max(initial=0)) + 2) + leaf + 1
                inside |= leaf >= 0
            atoms_in = np.flatnonzero(inside)
            _, group, members_n = np.unique(key[atoms_in], return_inverse=True,
                                            return_counts=True)  # fmt: skip
            keep = np.ones(members_n.size, dtype=bool)
            if weight is not None:
                n = np.bincount(group, weights=weight[atoms_in], minlength=members_n.size)
                keep &= (n > 0) & (n < t)
            if not keep.any():
                continue
            order = np.argsort(group, kind="stable")
            starts = np.concatenate(([0], np.cumsum(members_n)))
            for g in np.flatnonzero(keep):
                members = np.sort(atoms_in[order[starts[g] : starts[g + 1]]])
                size_g = None if weight is None else round(float(n[g]))
                found.add(members, _atom_words(parts, int(members[0]), subset), size_g,
                          shown_ok=False)  # fmt: skip


def _unions(found: _Candidates, parts: Sequence[Participant], rows: list[sp.csr_matrix],
            i: int, j: int, counts: np.ndarray | None, t: int, budget: int) -> int:  # fmt: skip
    """Add the differences of nested cells (``a`` without ``b``, ``b`` inside ``a``) and the
    intersections of overlapping cells of outputs i and j; the budget left."""
    a_rows, b_rows = rows[i], rows[j]
    shared = (a_rows @ b_rows.T).tocsr().tocoo()  # atoms two cells share, in (a, b) order
    if shared.nnz == 0:
        return budget
    weight = np.ones(a_rows.shape[1]) if counts is None else counts.astype(np.float64)
    common = (a_rows.multiply(weight[None, :]).tocsr() @ b_rows.T).tocsr().tocoo().data
    a, b, k = shared.row, shared.col, shared.data
    size_a, size_b = np.diff(a_rows.indptr)[a], np.diff(b_rows.indptr)[b]
    n_a, n_b = (a_rows @ weight)[a], (b_rows @ weight)[b]
    kinds = [
        ((k == size_b) & (k < size_a), n_a - common, "a-b"),
        ((k == size_a) & (k < size_b), n_b - common, "b-a"),
        ((k < size_a) & (k < size_b), common, "a&b"),
    ]
    pa, pb = parts[i], parts[j]
    for mask, n, kind in kinds:
        if counts is not None:
            mask = mask & (n > 0.5) & (n < t)
        for e in np.flatnonzero(mask):
            budget -= 1
            if budget < 0:
                return budget
            x, y = int(a[e]), int(b[e])
            ra = a_rows.indices[a_rows.indptr[x] : a_rows.indptr[x + 1]]
            rb = b_rows.indices[b_rows.indptr[y] : b_rows.indptr[y + 1]]
            if kind == "a-b":
                atoms, words = np.setdiff1d(ra, rb), (lambda u, x=x, y=y: _without(pa, x, pb, y))
            elif kind == "b-a":
                atoms, words = np.setdiff1d(rb, ra), (lambda u, x=x, y=y: _without(pb, y, pa, x))
            else:
                atoms, words = np.intersect1d(ra, rb), (lambda u, x=x, y=y: _both(pa, x, pb, y))
            found.add(atoms, words, None if counts is None else round(float(n[e])),
                      shown_ok=False)  # fmt: skip
    return budget


def _csr(parts_idx: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    ptr = np.zeros(len(parts_idx) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([x.size for x in parts_idx])
    idx = np.concatenate(parts_idx).astype(np.int64) if parts_idx else np.zeros(0, np.int64)
    return ptr, idx


def _decide(system: _System, parts: Sequence[Participant], rows: list[sp.csr_matrix],
            counts: np.ndarray | None, t: int, n_atoms: int, intervals: bool, suggest: bool,
            out: Detection) -> None:  # fmt: skip
    from sdc.kernels.span import span_decide

    found = _candidates(system, parts, rows, counts, t, out.notes)
    what, cand = found.what, found.atoms
    if not cand:
        return
    earlier = np.array([all(parts[i].earlier for i, _ in o) for o in system.owners])
    length = np.array([x.size for x in system.idx])
    order = np.lexsort((length, ~earlier))
    ordered = [system.idx[k] for k in order]
    r_ptr, r_idx = _csr(ordered)
    c_ptr, c_idx = _csr(cand)
    track = n_atoms * len(ordered) <= TRACK_LIMIT
    state, cp, cr, cn, cd, rank, overflowed = span_decide(
        r_ptr, r_idx, int(n_atoms), c_ptr, c_idx, track
    )
    out.info[f"{system.measure}: atoms"] = n_atoms
    out.info[f"{system.measure}: rows"] = len(ordered)
    out.info[f"{system.measure}: rank"] = int(rank)
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
        if not track:
            terms = None
        else:
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

        sentences, hidden = joint_suppression(system, parts, ordered, order, cand, what,
                                              primaries, counts, n_atoms, t)  # fmt: skip
        out.suggestions.extend(sentences)
        out.hide.extend(hidden)
        before = sorted({n for f in out.findings for n in f.earlier})
        if before:
            named = ", ".join(map(repr, before))
            out.suggestions.append(f"the outputs conflict with what was released before "
                                   f"({named}), which cannot be withdrawn: change the new "
                                   "outputs")  # fmt: skip


def _true(system: _System, parts: Sequence[Participant], k: int) -> int | None:
    """The true count of published row k (None where its output does not know it)."""
    i, c = system.owners[k][0]
    counts = parts[i].cells.counts
    return None if counts is None else int(counts[c])


def _finding(system: _System, parts: Sequence[Participant], terms: list | None,
             ordered: list[np.ndarray], lo_hi: list, order: np.ndarray, desc: Describe,
             n: int | None, t: int, atoms: np.ndarray) -> Finding | str | None:  # fmt: skip
    """The finding a derivable candidate makes (None: not small; a note: given away before)."""
    if terms is None:
        return None  # pragma: no cover - combinations are tracked below TRACK_LIMIT
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
    group = desc(used)
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
        group = desc(sorted(set(touching)))
        out.findings.append(Finding(system.measure, group, n, tuple(names), (), t,
                                    (low_i, high_i), earlier, tuple(cand[j].tolist())))  # fmt: skip
        primaries.append(cand[j])
