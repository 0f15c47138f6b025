"""Atoms: the finest partition of records induced by every output's populations and leaves.

Two records are in one atom when every output treats them alike: the same leaf
of each output (a cell, a bin, a step), or both outside its population. Each
output's codes (``-1``: outside) are mixed into a 64-bit hash per record by the
kernel :func:`sdc.kernels.record_atoms.mix_codes`, one pass per output; records
with one hash are one atom once every output's codes are checked to agree on it
(should two different records ever share a hash, the codes are combined exactly,
pair by pair, by :func:`sdc.kernels.record_atoms.combine_codes`). An atom's size is
a count of records (or a sum of ``weights`` when the units are already groups of
records).

Atoms are numbered in the lexicographic order of their leaves in the first
outputs (the new ones, in a check against earlier releases), which keeps every
cell's atoms close together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Atoms:
    """``leaf[o, a]``: the leaf atom ``a`` is in for output ``o`` (-1: outside its
    population; int32, a thousand outputs of many atoms take gigabytes otherwise);
    ``counts[a]``: its records (None where unknown)."""

    leaf: np.ndarray
    counts: np.ndarray | None

    @property
    def n_atoms(self) -> int:
        return int(self.leaf.shape[1])


def partition(codes: Sequence[np.ndarray], weights: np.ndarray | None = None) -> Atoms:
    """The atoms of units (records, or groups of records weighing ``weights``).

    ``codes[o]``: per unit, its leaf in output ``o`` or -1 outside it. Units outside
    every output belong to no atom.

    Examples
    --------
    >>> a = partition([np.array([0, 0, 1, 1, -1]), np.array([0, 1, 1, 1, 1])])
    >>> a.leaf.tolist(), a.counts.tolist()
    ([[-1, 0, 0, 1], [1, 0, 1, 1]], [1, 1, 1, 2])
    """
    if not codes:
        return Atoms(np.zeros((0, 0), dtype=np.int32), np.zeros(0, dtype=np.int64))
    n = int(np.asarray(codes[0]).size)
    covered = np.zeros(n, dtype=bool)
    for c in codes:
        covered |= np.asarray(c) >= 0
    units = np.flatnonzero(covered)
    columns = [np.asarray(c, dtype=np.int64) for c in codes]
    if units.size < n:
        columns = [c[units] for c in columns]
    current, first = _hashed(columns)
    if current is None:  # two different units hashed alike: the exact pairwise combination
        from sdc.kernels.record_atoms import combine_codes

        current = np.zeros(units.size, dtype=np.int64)
        for c in columns:
            current, first = combine_codes(current, c)
    n_atoms = int(first.size)
    w = None if weights is None else np.asarray(weights, dtype=np.int64)[units]
    counts = np.bincount(current, weights=w, minlength=n_atoms)
    keys = [c[first] for c in columns[:ORDER_BY]]
    order = np.lexsort([np.arange(n_atoms), *keys[::-1]]) if n_atoms else first
    leaf = np.empty((len(columns), n_atoms), dtype=np.int32)  # half the memory of int64
    at = first[order]
    for o, c in enumerate(columns):
        leaf[o] = c[at]
    return Atoms(leaf, counts[order].astype(np.int64))


#: Atoms are ordered by their leaves in this many first outputs (then by first record).
ORDER_BY = 16


def _hashed(columns: list[np.ndarray]) -> tuple[np.ndarray | None, np.ndarray]:
    """Each unit's atom through a 64-bit hash of its leaves, checked exactly: (atom per
    unit, first unit per atom), or None when two different units share a hash."""
    from sdc.kernels.record_atoms import mix_codes

    h = np.zeros(columns[0].size, dtype=np.uint64)
    for o, c in enumerate(columns):
        mix_codes(h, c, o + 1)
    _, first, current, sizes = np.unique(h, return_index=True, return_inverse=True,
                                         return_counts=True)  # fmt: skip
    rank = np.argsort(first, kind="stable")  # number atoms by first appearance
    renumber = np.empty_like(rank)
    renumber[rank] = np.arange(rank.size)
    current = current.ravel()
    shared = np.flatnonzero(sizes[current] > 1)  # units sharing a hash: check them
    current, first = renumber[current], first[rank]
    if shared.size:
        rep = first[current[shared]]
        for c in columns:
            if not np.array_equal(c[shared], c[rep]):
                return None, first
    return current, first
