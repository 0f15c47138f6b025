"""The groups of records a regression's coefficients describe, found from the design itself.

A linear model's coefficients determine ``X'y`` (the sums, over the records, of each
design column times the outcome; a GLM's score equations do the same with ``X'mu``).
So they publish the outcome total of a group of records G exactly when G's indicator
is a combination of design columns: a dummy level, the "A and not B" of two
overlapping dummies (``A - B``), a region under any contrast coding (the columns of
``C(region, Sum)`` or ``C(region, Diff)`` together span every region's indicator).
Such a group is *revealed*; :func:`revealed_groups` lists them, as unions of atoms
(:mod:`sdc.regression.design`), and each is then checked like a table cell.

Candidates, in this order (the first name found for a set of records is kept):

1. all records; every level of each few-valued column (a dummy and the rows outside
   it, the levels of a 2-valued ``I(...)`` term) and, for columns of three or more
   values, the rows off the most common value (``x - mode`` is a combination of ``x``
   and the intercept); the rows where a sparse continuous column is not 0. These are
   checked whether or not they are revealed (conservative);
2. the *reference level* of each set of mutually exclusive 0/1 columns (a factor's
   treatment dummies): the rows where all of them are 0;
3. the other levels of columns with three or more values (Poly, Helmert, Sum codings);
4. the cells of every pair of few-valued columns (and reference levels): "A and not
   B", a Diff-coded level, an interaction cell next to a reference level;
5. every atom (a saturated design reveals each one);
6. combinations no pair shows: over the atoms with fewer than ``small`` records,
   every minimal set whose outcomes enter a combination the design determines (a
   combination of its columns that vanishes on every other atom), found exactly by
   elimination and enumeration where that takes at most 20,000 tries per part, by a
   random search otherwise (:func:`small_combinations`).

Candidates 2-6 are kept only when revealed (the indicator lies in the span of the
few-valued columns: a random screen, then an exact projection) and when they are not
a disjoint union of groups already kept (a union of groups that pass every rule
passes them too: its threshold count, dominance and spread follow from its parts).

Names say which columns and levels make a group, never a column's value (other than 0
and 1): a value of an interaction or an ``I(...)`` term may be one person's age or
income, and findings are read by people. Where patsy made the design, a group that is
exactly some categories of a variable is named by them ("region = W").
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdc.regression.design import Atoms

#: Screening vectors (random directions orthogonal to the design's span).
_SCREENS = 4
#: A set is revealed when its indicator's distance to the span is below this (squared,
#: relative to its number of atoms); the screen lets through sums below ``_SCREEN_TOL``.
_EXACT_TOL = 1e-9
_SCREEN_TOL = 1e-8
#: Longest group name before it is shortened.
_NAME_CHARS = 160


@dataclass(frozen=True)
class Group:
    """A set of atoms the coefficients describe, with a name a person can read.

    ``origin``: "all", "level01" (a 0/1 column's ones or zeros), "level" (a level of
    another column), "support" (where a continuous
    column is not 0), "reference", "pair", "atom" or "combination".
    """

    name: str
    atoms: np.ndarray
    origin: str


def _ordinal(k: int) -> str:
    return f"{k}{'th' if 10 <= k % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(k % 10, 'th')}"


class _Span:
    """The span of the few-valued columns over the atoms, and tests of membership in it."""

    def __init__(self, D: np.ndarray) -> None:
        n = D.shape[0]
        scale = np.linalg.norm(D, axis=0)
        Dn = D / np.where(scale > 0, scale, 1.0)
        if Dn.shape[1]:
            u, s, _ = np.linalg.svd(Dn, full_matrices=False)
            rank = int((s > s[0] * max(Dn.shape) * 1e-12).sum()) if s.size and s[0] > 0 else 0
        else:
            u, rank = np.zeros((n, 0)), 0
        self.U = u[:, :rank]
        rho = np.random.default_rng(0).standard_normal((n, _SCREENS))
        Z = rho - self.U @ (self.U.T @ rho)
        norm = np.linalg.norm(Z, axis=0)
        self.Z = Z / np.where(norm > 1e-12, norm, np.inf)  # the span is everything: Z = 0

    def screen(self, labels: np.ndarray, n_cells: int) -> np.ndarray:
        """Cells of a partition of the atoms that may be revealed (the others are not)."""
        ok = np.ones(n_cells, dtype=bool)
        for m in range(_SCREENS):
            sums = np.bincount(labels, weights=self.Z[:, m], minlength=n_cells)
            ok &= np.abs(sums) <= _SCREEN_TOL
        return ok

    def revealed(self, atoms: np.ndarray) -> bool:
        """Whether the indicator of these atoms lies in the span (exactly, to rounding)."""
        v = self.U[atoms].sum(axis=0)
        return float(atoms.size - v @ v) <= _EXACT_TOL * atoms.size


Factors = dict[str, tuple[np.ndarray, tuple[str, ...]]]


def _label(mask: np.ndarray, factors: Factors) -> str | None:
    """The group in the data's own terms ("region = W and sex = F"), when it is exactly the
    rows with those categories; a condition that does not narrow the group is left out."""
    conditions = []
    for var, (codes, cats) in factors.items():
        present = np.unique(codes[mask])
        if present.size == len(cats):
            continue
        names = [cats[i] for i in present.tolist()]
        text = f"{var} = {names[0]}" if len(names) == 1 else f"{var} in {{{', '.join(names)}}}"
        conditions.append((present.size, text, np.isin(codes, present)))
    conditions.sort(key=lambda c: -c[0])  # the least narrowing first: left out if possible
    kept = list(conditions)
    for c in conditions:
        rest = [k for k in kept if k is not c]
        if rest and bool((np.logical_and.reduce([k[2] for k in rest]) == mask).all()):
            kept = rest
    if not kept or max(k[0] for k in kept) > 3:  # "region in {47 regions}" says too little
        return None
    if bool((np.logical_and.reduce([k[2] for k in kept]) == mask).all()):
        return " and ".join(text for _, text, _ in sorted(kept, key=lambda c: c[1]))
    return None


class _Found:
    """The groups kept so far: names, atom sets, and a membership matrix for cover tests."""

    def __init__(self, n_atoms: int, factors: Factors | None = None) -> None:
        self.factors = factors or {}
        self.n_atoms = n_atoms
        self.groups: list[Group] = []
        self.keys: set[bytes] = set()
        self.names: set[str] = set()
        self.member = np.zeros((16, n_atoms), dtype=bool)

    def _name(self, name: str) -> str:
        if len(name) > _NAME_CHARS:
            name = name[: _NAME_CHARS - 1] + "…"
        base, k = name, 2
        while name in self.names:
            name, k = f"{base} #{k}", k + 1
        return name

    def _covered(self, mask: np.ndarray) -> bool:
        """Whether ``mask`` is a disjoint union of groups already kept."""
        kept = self.member[: len(self.groups)]
        inside = np.flatnonzero(~(kept & ~mask).any(axis=1) & kept.any(axis=1))
        if inside.size == 0:
            return False
        covered = np.zeros(self.n_atoms, dtype=bool)
        for g in sorted(inside.tolist(), key=lambda i: -int(kept[i].sum())):
            if not (kept[g] & covered).any():
                covered |= kept[g]
        return bool((covered == mask).all())

    def add(self, name: str, atoms: np.ndarray, origin: str, *, check: bool = False,
            span: _Span | None = None) -> None:  # fmt: skip
        """Keep a group unless it is empty, already kept, or (``check``) not revealed or a
        disjoint union of kept groups."""
        atoms = np.unique(atoms).astype(np.int64)
        if atoms.size == 0:
            return
        key = atoms.tobytes()
        if key in self.keys:
            return
        mask = np.zeros(self.n_atoms, dtype=bool)
        mask[atoms] = True
        if check and ((span is not None and not span.revealed(atoms)) or self._covered(mask)):
            return
        self.keys.add(key)
        if origin not in ("all", "level01"):  # a dummy keeps the name of its column
            label = _label(mask, self.factors)
            name = name if label is None or label == name else f"{label} ({name})"
        name = self._name(name)
        self.names.add(name)
        if len(self.groups) == self.member.shape[0]:
            self.member = np.vstack([self.member, np.zeros_like(self.member)])
        self.member[len(self.groups)] = mask
        self.groups.append(Group(name, atoms, origin))


@dataclass(frozen=True)
class _Column:
    """A few-valued column (or a reference-level indicator) coded over the atoms."""

    name: str
    codes: np.ndarray
    values: np.ndarray
    clique: int = -1  # the set of exclusive dummies it belongs to (-1: none)

    @property
    def binary01(self) -> bool:
        return self.values.size == 2 and self.values[0] == 0.0 and self.values[1] == 1.0

    def condition(self, code: int) -> str:
        """The rows at one of the column's values, named without the value (a value of an
        interaction or an ``I(...)`` term may be a person's own: an age, an income)."""
        if self.binary01:
            return self.name if code == 1 else f"not {self.name}"
        if self.values.size == 2:
            return f"{self.name} at its {'larger' if code == 1 else 'smaller'} value"
        return f"{self.name} at its {_ordinal(code + 1)} of {self.values.size} values"


def _columns(atoms: Atoms) -> list[_Column]:
    out = []
    for j, col in enumerate(atoms.columns.tolist()):
        values, codes = np.unique(atoms.D[:, j], return_inverse=True)
        if values.size > 1:
            out.append(_Column(atoms.names[col], codes.ravel().astype(np.int64), values))
    return out


def _cliques(columns: list[_Column]) -> list[list[int]]:
    """Sets of 0/1 columns no atom has two of (a factor's dummies), greedily."""
    binary = [i for i, c in enumerate(columns) if c.binary01]
    if not binary:
        return []
    ones = np.column_stack([columns[i].codes == 1 for i in binary]).astype(np.int64)
    both = ones.T @ ones
    cliques: list[list[int]] = []
    for p in range(len(binary)):
        for members in cliques:
            if all(both[p, q] == 0 for q in members):
                members.append(p)
                break
        else:
            cliques.append([p])
    return [[binary[p] for p in members] for members in cliques if len(members) > 1]


def _reference_name(names: list[str]) -> str:
    prefixes = {n.split("[", 1)[0] for n in names}
    if len(prefixes) == 1 and all("[" in n for n in names):
        return f"{prefixes.pop()}[reference level]"
    shown = ", ".join(names[:3]) + (", …" if len(names) > 3 else "")
    return f"none of {shown}"


def _atom_name(columns: list[_Column], atom: int) -> str:
    parts = [c.condition(int(c.codes[atom])) for c in columns if c.clique < 0 or c.binary01]
    shown = [p for p in parts if not p.startswith("not ")]
    rest = len(parts) - len(shown)
    return (
        "row pattern: "
        + (" and ".join(shown) or "every 0/1 column 0")
        + (" (every other 0/1 column 0)" if rest and shown else "")
    )


def _pairs(columns: list[_Column]) -> Iterator[tuple[int, int]]:
    for p in range(len(columns)):
        for q in range(p + 1, len(columns)):
            a, b = columns[p].clique, columns[q].clique
            if a < 0 or a != b:
                yield p, q


def revealed_groups(
    atoms: Atoms, rows: np.ndarray, small: int, factors: Factors | None = None
) -> tuple[list[Group], list[str]]:
    """The groups of atoms the design reveals (see the module docstring), and why the
    search for small combinations was incomplete (empty when it was complete).

    ``rows`` counts the records of each atom; ``small`` is the size below which a
    combination of atoms is searched for by elimination (the threshold being checked).
    ``factors`` (:func:`sdc.regression.design.factor_levels`) name groups by category.

    Examples
    --------
    >>> from sdc.regression.design import design_atoms
    >>> A = np.r_[np.ones(20), np.zeros(30)]
    >>> B = A.copy(); B[0] = 0                        # B is A without its first record
    >>> x = np.column_stack([np.ones(50), A, B])
    >>> found, atom = design_atoms(x, ["Intercept", "A", "B"], np.ones(50, dtype=bool))
    >>> rows = np.bincount(atom)
    >>> groups, incomplete = revealed_groups(found, rows, 10)
    >>> [(g.name, int(rows[g.atoms].sum())) for g in groups], incomplete
    ... # doctest: +NORMALIZE_WHITESPACE
    ([('all records', 50), ('A', 20), ('A = 0', 30), ('B', 19), ('B = 0', 31),
      ('A and not B', 1)], [])
    """
    n = atoms.n_atoms
    found = _Found(n, factors)
    everything = np.arange(n, dtype=np.int64)
    found.add("all records", everything, "all")
    columns = _columns(atoms)
    for c in columns:  # 1. every level of a 2-valued column; off the mode of the others
        if c.values.size == 2:
            for code in (1, 0) if c.binary01 else (0, 1):
                name = f"{c.name} = 0" if c.binary01 and code == 0 else c.condition(code)
                found.add(name, np.flatnonzero(c.codes == code),
                          "level01" if c.binary01 else "level")  # fmt: skip
        else:
            mode = int(np.argmax(np.bincount(c.codes, weights=rows, minlength=c.values.size)))
            found.add(f"{c.name} off its most common value", np.flatnonzero(c.codes != mode),
                      "level")  # fmt: skip
    for s, col in enumerate(atoms.support_columns.tolist()):
        found.add(f"{atoms.names[col]} != 0", np.flatnonzero(atoms.supports[:, s]), "support")
    span = _Span(atoms.D)
    cliques = _cliques(columns)
    for k, members in enumerate(cliques):  # 2. reference levels of exclusive dummies
        for i in members:
            columns[i] = _Column(columns[i].name, columns[i].codes, columns[i].values, k)
        none = np.asarray(~np.column_stack([columns[i].codes == 1 for i in members]).any(axis=1))
        name = _reference_name([columns[i].name for i in members])
        found.add(name, np.flatnonzero(none), "reference", check=True, span=span)
        columns.append(_Column(name, none.astype(np.int64), np.array([0.0, 1.0]), k))
    for c in columns:  # 3. levels of columns with three or more values
        if c.values.size > 2:
            ok = span.screen(c.codes, c.values.size)
            for code in np.flatnonzero(ok).tolist():
                found.add(c.condition(code), np.flatnonzero(c.codes == code), "level",
                          check=True, span=span)  # fmt: skip
    for p, q in _pairs(columns):  # 4. cells of pairs of columns
        a, b = columns[p], columns[q]
        labels = a.codes * b.values.size + b.codes
        n_cells = a.values.size * b.values.size
        present = np.bincount(labels, minlength=n_cells) > 0
        for cell in np.flatnonzero(span.screen(labels, n_cells) & present).tolist():
            name = f"{a.condition(cell // b.values.size)} and {b.condition(cell % b.values.size)}"
            found.add(name, np.flatnonzero(labels == cell), "pair", check=True, span=span)
    screened = span.screen(everything, n)  # 5. atoms
    for atom in np.flatnonzero(screened).tolist():
        found.add(_atom_name(columns, atom), np.array([atom]), "atom", check=True, span=span)
    supports, incomplete = small_combinations(atoms.D, rows, small)  # 6. combinations
    for support in supports:
        names = " | ".join(_atom_name(columns, a) for a in support.tolist())
        found.add(f"combination of {names}", support, "combination", check=True)
    return found.groups, incomplete


#: Most zero patterns tried exhaustively per connected part of the small combinations.
COMBINATION_BUDGET = 20_000
#: Random zero patterns tried in a part too large for that.
RANDOM_TRIALS = 300


def small_combinations(
    D: np.ndarray, rows: np.ndarray, small: int
) -> tuple[list[np.ndarray], list[str]]:
    """Every minimal set of atoms with fewer than ``small`` records whose outcomes enter a
    combination the design determines (a combination of its columns that is 0 on every
    other atom); and why the search could not be completed, if it could not.

    The combinations supported on the small atoms form a space; Gaussian elimination
    (pivoting on the smallest atoms) gives a basis whose supports split the atoms into
    connected parts. In a part of dimension q, every minimal support is the support of the
    vector that vanishes on q - 1 independent atoms: all such choices are tried when there
    are at most :data:`COMBINATION_BUDGET` of them. In a larger part (many small atoms, as
    a covariate with a few dozen values makes), a small support means a vector vanishing
    on all but a few of its atoms: :data:`RANDOM_TRIALS` random independent choices of
    atoms to vanish on (a fixed seed) look for one, besides the echelon rows themselves.
    That search is not exhaustive; ``unchecked`` then says so only when a part has fewer
    atoms than the threshold allows to be left out of a random choice.
    """
    is_small = rows < small
    if not is_small.any() or D.shape[1] == 0:
        return [], []
    scale = np.linalg.norm(D, axis=0)
    Dn = D / np.where(scale > 0, scale, 1.0)
    big = Dn[~is_small]
    if big.shape[0]:
        _, s, vt = np.linalg.svd(big, full_matrices=True)
        rank = int((s > s[0] * max(big.shape) * 1e-12).sum()) if s.size and s[0] > 0 else 0
        null = vt[rank:].T
    else:
        null = np.eye(Dn.shape[1])
    if null.shape[1] == 0:
        return [], []
    order = np.flatnonzero(is_small)
    order = order[np.argsort(rows[order], kind="stable")]  # pivot on the smallest atoms first
    W = Dn[order] @ null
    u, s, _ = np.linalg.svd(W, full_matrices=False)
    rank = int((s > max(W.shape) * 1e-10).sum()) if s.size else 0
    if rank == 0:
        return [], []
    R = _rref(u[:, :rank].T)
    supports: dict[bytes, np.ndarray] = {}
    unchecked = []

    def keep(w: np.ndarray, cols: np.ndarray) -> None:
        support = np.sort(order[cols[np.abs(w) > 1e-9 * max(1.0, float(np.abs(w).max()))]])
        if support.size and int(rows[support].sum()) < small:
            supports.setdefault(support.tobytes(), support)

    rng = np.random.default_rng(0)
    for part_rows, part_cols in _parts(np.abs(R) > 1e-9):
        basis = R[np.ix_(part_rows, part_cols)].T  # atoms of the part x its dimension
        q, m = basis.shape[1], part_cols.size
        for row in R[part_rows][:, part_cols]:
            keep(row, part_cols)
        if math.comb(m, q - 1) <= COMBINATION_BUDGET:
            zeros: Iterator[Any] = itertools.combinations(range(m), q - 1)
        elif m - (small - 1) >= q - 1:
            zeros = (_random_basis(basis, rng) for _ in range(RANDOM_TRIALS))
        else:
            unchecked.append(
                f"{m} small atoms carry a {q}-dimensional space of combinations of their "
                f"outcomes, too many ways ({math.comb(m, q - 1):,}) to try for the smallest; "
                f"groups of fewer than {small} records may be revealed that were not checked"
            )
            continue
        for zero in zeros:
            sub = basis[list(zero)]
            _, sv, vt = np.linalg.svd(sub) if sub.size else (None, np.zeros(0), np.eye(q))
            if np.sum(sv > 1e-9) == q - 1:
                keep(basis @ vt[-1], part_cols)
    return list(supports.values()), unchecked


def _random_basis(basis: np.ndarray, rng: np.random.Generator) -> list[int]:
    """Atoms taken in a random order while they add to the rank, up to one less than full."""
    q = basis.shape[1]
    chosen: list[int] = []
    ortho = np.zeros((0, q))
    for i in rng.permutation(basis.shape[0]).tolist():
        if len(chosen) == q - 1:
            break
        r = basis[i] - ortho.T @ (ortho @ basis[i])
        norm = float(np.linalg.norm(r))
        if norm > 1e-9 * max(1.0, float(np.linalg.norm(basis[i]))):
            chosen.append(i)
            ortho = np.vstack([ortho, r / norm])
    return chosen


def _parts(nonzero: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """Connected parts of a reduced row echelon form: rows and columns linked by non-zeros."""
    n_rows, n_cols = nonzero.shape
    parent = list(range(n_rows + n_cols))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r, c in zip(*np.nonzero(nonzero), strict=True):
        parent[root(int(r))] = root(n_rows + int(c))
    parts: dict[int, tuple[list[int], list[int]]] = {}
    for r in range(n_rows):
        parts.setdefault(root(r), ([], []))[0].append(r)
    for c in range(n_cols):
        if nonzero[:, c].any():
            parts.setdefault(root(n_rows + c), ([], []))[1].append(c)
    return [(np.array(r), np.array(c)) for r, c in parts.values() if r]


def _rref(M: np.ndarray) -> np.ndarray:
    """Reduced row echelon form, pivoting on the leftmost usable column of each row."""
    A = M.astype(np.float64).copy()
    r = 0
    for c in range(A.shape[1]):
        if r == A.shape[0]:
            break
        p = r + int(np.argmax(np.abs(A[r:, c])))
        if abs(A[p, c]) <= 1e-9:
            continue
        A[[r, p]] = A[[p, r]]
        A[r] /= A[r, c]
        others = np.arange(A.shape[0]) != r
        A[others] -= np.outer(A[others, c], A[r])
        r += 1
    return A[:r]
