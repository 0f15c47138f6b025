"""Atoms: the finest partition of records induced by every output's populations and leaves.

Two records are in one atom when every output treats them alike: the same leaf
of each output (a cell, a bin, a step), or both outside its population. Each
output's codes (``-1``: outside) are combined one after another by the kernel
:func:`sdc.kernels.record_atoms.combine_codes`, which gives every record its atom; the
atom's size is then a count of records (or a sum of ``weights`` when the units
are already groups of records).

Atoms are numbered in the lexicographic order of their leaves (first output
first), which keeps every cell's atoms close together.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Atoms:
    """``leaf[o, a]``: the leaf atom ``a`` is in for output ``o`` (-1: outside its
    population); ``counts[a]``: its records (None where unknown)."""

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
    from sdc.kernels.record_atoms import combine_codes

    if not codes:
        return Atoms(np.zeros((0, 0), dtype=np.int64), np.zeros(0, dtype=np.int64))
    n = int(np.asarray(codes[0]).size)
    covered = np.zeros(n, dtype=bool)
    for c in codes:
        covered |= np.asarray(c) >= 0
    units = np.flatnonzero(covered)
    current = np.zeros(units.size, dtype=np.int64)
    first = np.zeros(0, dtype=np.int64)
    for c in codes:
        current, first = combine_codes(current, np.asarray(c, dtype=np.int64)[units])
    n_atoms = int(first.size)
    leaf = np.stack([np.asarray(c, dtype=np.int64)[units[first]] for c in codes])
    w = None if weights is None else np.asarray(weights, dtype=np.int64)[units]
    counts = np.bincount(current, weights=w, minlength=n_atoms)
    order = np.lexsort(leaf[::-1]) if n_atoms else np.zeros(0, dtype=np.int64)
    return Atoms(np.ascontiguousarray(leaf[:, order]), counts[order].astype(np.int64))
