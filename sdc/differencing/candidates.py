"""Candidate groups: the small groups of records whose derivability detection tests.

A group is tested when it is one of:

- a hidden cell (suppressed, redacted, not released) of 1 to t-1 records;
- an atom of the atoms of a few outputs (every subset of up to three outputs with a new
  one in it, two past :data:`MANY` outputs): groups those outputs alone describe,
  whatever the others do;
- a single atom of 1 to t-1 records;
- the difference of two nested cells of two outputs, or the intersection of two
  overlapping ones (:data:`MAX_UNIONS` per measure at most).

Earlier releases are never paired with each other: they were checked against each
other when they were released. Sizes are known when the atoms' counts are (the
gate with ``--data``, a session); without them every group is a candidate and the
combination that derives it gives its size.

Each candidate carries a description made only when it becomes a finding (given
the outputs the deriving combination uses). With a thousand earlier releases the
candidates number in the hundreds of thousands, so single atoms are added as one
array and pair statistics come from counts per pair of leaves (``np.bincount``)
rather than from set operations on every cell.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from itertools import combinations
from typing import Any

import numpy as np
import scipy.sparse as sp

from sdc.differencing.cells import Participant

#: Most unions (differences and intersections of cells) tested per measure.
MAX_UNIONS = 20_000

#: Subsets of up to this many outputs have their own atoms tested (2 past ``MANY``).
SUBSET, MANY = 3, 12

#: Largest key space of a subset's leaves counted densely (beyond: ``np.unique``).
DENSE_KEYS = 4_000_000

#: Largest number of pairs of leaves of two outputs counted in a dense table (beyond: the
#: product of the two outputs' sparse rows).
DENSE_PAIRS = 1_000_000

#: A candidate's description, made only for findings: given the participants the
#: combination uses and the candidate's atoms, the group in words (one description may
#: serve many candidates: the single atoms share one).
Describe = Callable[[Sequence[int], np.ndarray], str]


class Candidates:
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

    def add_atoms(self, atoms: np.ndarray, describe: Describe,
                  sizes: np.ndarray | None) -> None:  # fmt: skip
        """Single atoms, each its own candidate, unless already one or published alone."""
        atoms = np.asarray(atoms, dtype=np.int64)
        raw = atoms.astype("<i8").tobytes()
        keys = [raw[k : k + 8] for k in range(0, len(raw), 8)]
        new = [k not in self.seen and k not in self.published for k in keys]
        keep = np.flatnonzero(np.array(new, dtype=bool))
        self.seen.update(keys[k] for k in keep.tolist())
        self.atoms.extend(atoms.reshape(-1, 1)[keep])
        n = [None] * keep.size if sizes is None else np.asarray(sizes)[keep].tolist()
        self.what.extend((describe, x) for x in n)


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


def _fixed(text: str) -> Describe:
    """A description that does not depend on the combination."""

    def words(used: Sequence[int], atoms: np.ndarray) -> str:
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


def _atom_words(parts: Sequence[Participant], among: Sequence[int]) -> Describe:
    """A group of atoms alike in the outputs ``among`` in words (by its first atom), by those
    outputs and the earlier releases a combination uses (those define it: a group that a
    combination of their cells gives is one of their atoms, or a union of them)."""
    return partial(_atom_text, parts, among)


def _atom_text(parts: Sequence[Participant], among: Sequence[int], used: Sequence[int],
               atoms: np.ndarray) -> str:  # fmt: skip
    chosen = sorted({*among, *(i for i in used if parts[i].earlier)})
    return describe_atom([parts[i] for i in chosen], int(atoms[0]))


def candidates(
    published: dict[bytes, int], atoms_in: np.ndarray, mine: list[int],
    parts: Sequence[Participant], rows: list[sp.csr_matrix], counts: np.ndarray | None,
    t: int, notes: list[str], measure: str,
) -> Candidates:  # fmt: skip
    """The groups to test (see the module docstring) among the outputs ``mine`` of one
    measure; ``atoms_in``: the atoms its published rows cover."""
    found = Candidates(published)
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
    single = atoms_in if counts is None else atoms_in[(counts[atoms_in] > 0) &
                                                      (counts[atoms_in] < t)]  # fmt: skip
    fresh = [i for i in mine if not parts[i].earlier]
    found.add_atoms(single, _atom_words(parts, fresh),
                    None if counts is None else counts[single])  # fmt: skip
    pairs = _Pairs(rows, counts)
    budget = MAX_UNIONS
    for x, i in enumerate(mine):
        for j in mine[x + 1 :]:
            if parts[i].earlier and parts[j].earlier:
                continue  # released before, both: checked against each other then
            budget = pairs.unions(found, parts, i, j, t, budget)
            if budget < 0:
                notes.append(f"more than {MAX_UNIONS} differences and intersections of cells "
                             f"of the {measure} could be tested; the rest were not: a "
                             "person must check them, or the outputs be fewer")  # fmt: skip
                return found
    return found


def _subset_atoms(found: Candidates, parts: Sequence[Participant], mine: list[int],
                  counts: np.ndarray | None, t: int) -> None:  # fmt: skip
    """Add the atoms of every small subset of outputs (each with a new output in it): groups
    that a few outputs alone describe, whatever the other outputs do."""
    size = SUBSET if len(mine) <= MANY else 2
    fresh = {i for i in mine if not parts[i].earlier}
    weight = None if counts is None else counts.astype(np.float64)
    for k in range(1, min(size, len(mine)) + 1):
        for subset in combinations(mine, k):
            if not fresh.intersection(subset) or k == len(mine):
                continue  # the full set's atoms are the atoms themselves
            words = _atom_words(parts, subset)
            for members, n in _subset_groups([parts[i] for i in subset], weight, t):
                found.add(members, words, n, shown_ok=False)


def _subset_groups(subset: list[Participant], weight: np.ndarray | None,
                   t: int) -> list[tuple[np.ndarray, int | None]]:  # fmt: skip
    """The small groups of atoms the subset's outputs describe (see :func:`_small_groups`):
    in one kernel while the subset's leaves multiply out to few keys and sizes are known."""
    space = 1
    for p in subset:
        space *= p.cells.n_leaves + 1
    if weight is None or space > DENSE_KEYS:
        return _small_groups(*_subset_key(subset), weight, t)
    from sdc.kernels.subsets import small_subset_groups

    sizes = np.array([p.cells.n_leaves for p in subset], dtype=np.int64)
    members, ptr, records = small_subset_groups(np.stack([p.leaf for p in subset]), sizes,
                                                weight, t)  # fmt: skip
    return [(members[ptr[g] : ptr[g + 1]], round(float(records[g])))
            for g in range(records.size)]  # fmt: skip


def _subset_key(subset: list[Participant]) -> tuple[np.ndarray, int]:
    """Each atom's leaves in the subset's outputs as one number (0: outside all of them),
    and how many numbers there can be."""
    space = 1
    for p in subset:
        space *= p.cells.n_leaves + 1
    if space >= 2**62:  # too many leaves to multiply out: number the distinct ones
        from sdc.kernels.record_atoms import combine_codes

        key = np.zeros(subset[0].leaf.size, dtype=np.int64)
        for p in subset:
            key, _ = combine_codes(key, p.leaf)
        outside = np.all([p.leaf < 0 for p in subset], axis=0)
        key = np.where(outside, 0, key + 1)
        return key, int(key.max(initial=0)) + 1
    key = np.zeros(subset[0].leaf.size, dtype=np.int64)
    for p in subset:
        key = key * (p.cells.n_leaves + 1) + p.leaf + 1  # 0: outside the output
    return key, space


def _small_groups(key: np.ndarray, space: int, weight: np.ndarray | None,
                  t: int) -> list[tuple[np.ndarray, int | None]]:  # fmt: skip
    """The atoms of each key (but 0: outside every output), with its records, of the groups
    of 1 to t-1 records (every group when sizes are unknown)."""
    n: np.ndarray | None
    if weight is not None and space <= DENSE_KEYS:
        n = np.bincount(key, weights=weight, minlength=space)
        keep = (n > 0.5) & (n < t)
        keep[0] = False
        if not keep.any():
            return []
        members = np.flatnonzero(keep[key])
        group = key[members]
    else:
        members = np.flatnonzero(key > 0)
        group = key[members]
        values, group = np.unique(group, return_inverse=True)
        n = (np.bincount(group, weights=weight[members], minlength=values.size)
             if weight is not None else None)  # fmt: skip
        if n is not None:
            small = (n > 0.5) & (n < t)
            members, group = members[small[group]], group[small[group]]
    if members.size == 0:
        return []
    order = np.argsort(group, kind="stable")
    members, group = members[order], group[order]
    cut = np.flatnonzero(np.diff(group)) + 1
    out: list[tuple[np.ndarray, int | None]] = []
    for chunk, g in zip(np.split(members, cut), group[np.concatenate(([0], cut))], strict=False):
        if chunk.size:
            out.append((chunk, None if n is None else round(float(n[g]))))
    return out


class _Pairs:
    """Differences and intersections of two outputs' cells, with each output's sparse rows
    and cell sizes computed once (an output meets many others)."""

    def __init__(self, rows: list[sp.csr_matrix], counts: np.ndarray | None) -> None:
        self.rows = rows
        self.weight = None if counts is None else counts.astype(np.float64)
        self._cache: dict[int, Any] = {}
        self._members: dict[int, sp.csr_matrix] = {}

    def _of(self, i: int) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
        """Output i's rows, and per cell its atoms and records (atoms, sizes unknown)."""
        if i not in self._cache:
            r = self.rows[i]
            size = np.diff(r.indptr)
            self._cache[i] = (r, size, size if self.weight is None else r @ self.weight)
        return self._cache[i]

    def _cells(self, i: int, p: Participant) -> sp.csr_matrix:
        """Output i's cells x leaves."""
        if i not in self._members:
            self._members[i] = p.cells.member.T.tocsr()
        return self._members[i]

    def _shared(self, pa: Participant, pb: Participant, i: int, j: int) -> tuple[np.ndarray, ...]:
        """The pairs of cells (a of output i, b of j) that share atoms: a, b, how many atoms
        and how many records they share. From atoms per pair of leaves (one pass over the
        atoms, :func:`~sdc.kernels.sorted_sets.leaf_pairs`) while the pairs of leaves are
        few, else from the product of the two outputs' sparse rows."""
        na, nb = pa.cells.n_leaves, pb.cells.n_leaves
        if na * nb <= DENSE_PAIRS:
            from sdc.kernels.sorted_sets import leaf_pairs

            w = np.ones(pa.leaf.size) if self.weight is None else self.weight
            atoms, records = leaf_pairs(pa.leaf, pb.leaf, w, na, nb)
            ma, mb = self._cells(i, pa), self._cells(j, pb)
            shared = (mb @ (ma @ atoms).T).T  # cells of a x cells of b
            a, b = np.nonzero(shared)
            common = (mb @ (ma @ records).T).T
            return a, b, shared[a, b], common[a, b]
        a_rows, b_rows = self.rows[i], self.rows[j]
        bt = b_rows.T.tocsc()
        shared_sp = (a_rows @ bt).tocoo()
        if shared_sp.nnz == 0:
            return (shared_sp.row,) * 4
        w = np.ones(a_rows.shape[1]) if self.weight is None else self.weight
        common_sp = (a_rows.multiply(w[None, :]).tocsr() @ bt).tocsr()
        a, b = shared_sp.row, shared_sp.col
        return a, b, shared_sp.data, np.asarray(common_sp[a, b]).ravel()

    def unions(self, found: Candidates, parts: Sequence[Participant], i: int, j: int, t: int,
               budget: int) -> int:  # fmt: skip
        """Add the differences of nested cells (``a`` without ``b``, ``b`` inside ``a``) and the
        intersections of overlapping cells of outputs i and j; the budget left."""
        from sdc.kernels.sorted_sets import difference, intersection

        a_rows, size_all_a, n_all_a = self._of(i)
        b_rows, size_all_b, n_all_b = self._of(j)
        a, b, k, common_ab = self._shared(parts[i], parts[j], i, j)
        if a.size == 0:
            return budget
        size_a, size_b = size_all_a[a], size_all_b[b]
        n_a, n_b = n_all_a[a], n_all_b[b]
        kinds = [
            ((k == size_b) & (k < size_a), n_a - common_ab, "a-b"),
            ((k == size_a) & (k < size_b), n_b - common_ab, "b-a"),
            ((k < size_a) & (k < size_b), common_ab, "a&b"),
        ]
        pa, pb = parts[i], parts[j]
        sized = self.weight is not None
        for mask, n, kind in kinds:
            if sized:
                mask = mask & (n > 0.5) & (n < t)
            for e in np.flatnonzero(mask):
                budget -= 1
                if budget < 0:
                    return budget
                x, y = int(a[e]), int(b[e])
                ra = a_rows.indices[a_rows.indptr[x] : a_rows.indptr[x + 1]]
                rb = b_rows.indices[b_rows.indptr[y] : b_rows.indptr[y + 1]]
                if kind == "a-b":
                    atoms, words = (
                        difference(ra, rb),
                        (lambda u, _, x=x, y=y: _without(pa, x, pb, y)),
                    )
                elif kind == "b-a":
                    atoms, words = (
                        difference(rb, ra),
                        (lambda u, _, x=x, y=y: _without(pb, y, pa, x)),
                    )
                else:
                    atoms, words = (
                        intersection(ra, rb),
                        (lambda u, _, x=x, y=y: _both(pa, x, pb, y)),
                    )
                found.add(atoms, words, round(float(n[e])) if sized else None, shown_ok=False)
        return budget
