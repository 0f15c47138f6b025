"""Which numbers released before are independent, kept between checks.

Checking against a thousand earlier releases, most of the exact elimination is
spent reducing earlier numbers that the ones before them already give (95% of the
time at 24k earlier numbers, rank 9.7k). Which earlier numbers are independent
does not depend on the new outputs: a new output splits atoms, and splitting atoms
copies columns, which keeps every linear dependence. So a check that knows an
independent set of the earlier exact numbers (a basis of their span) may leave
the others out: the span, and so every finding, is the same; only the
combination a finding names may use other earlier numbers.

The basis is keyed by everything that decides it (:func:`basis_key`): the
measure, and each earlier exact number's identity (the released output and its
definition's digest, and the cell). Every earlier output is placed on the data by
its recorded fingerprints, which pin the records of each of its cells, so the same
key means the same rows. Rounded numbers are never left out: a dependent exact
number tells more than a combination of rounded ones.

The registry keeps bases (``span_basis`` / ``keep_span_basis``), in a table
outside its audit chain, so a kept basis is not trusted: a stored basis that does
not read as one (sorted distinct positions in range) is ignored, and the numbers
it leaves out are checked in the same elimination (:func:`spot_checks`). Each of
two random combinations of them (coefficients 1 .. 1000, drawn from the operating
system's entropy) must be derivable from the numbers used: when one of the left-out
numbers is not, a combination is derivable with probability at most 1/1000, so
a wrong basis passes both with probability at most 1e-6. A basis that fails is
named in a note and the check uses every earlier number.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Protocol

import numpy as np

#: Random combinations of the left-out numbers each check decides, and their largest
#: coefficient.
SPOT_CHECKS, SPOT_MAX = 2, 1000

#: Raised when the meaning of a stored basis changes (keys of other versions are
#: never read).
BASIS_FORMAT = 1


class BasisStore(Protocol):
    """Where bases are kept (the release registry)."""

    def span_basis(self, key: str) -> list[int] | None: ...

    def keep_span_basis(self, key: str, rows: Sequence[int]) -> None: ...


def basis_key(measure: str, identities: Sequence[str]) -> str:
    """The key of a basis: the measure and the sorted identities of the earlier exact
    numbers (see the module docstring).

    Examples
    --------
    >>> basis_key("records", ["r1/t@ab#0", "r1/t@ab#1"]) == basis_key("records",
    ...                                                              ["r1/t@ab#1", "r1/t@ab#0"])
    True
    >>> basis_key("records", ["r1/t@ab#0"]) == basis_key("sum of cost", ["r1/t@ab#0"])
    False
    """
    h = hashlib.sha256(f"span-basis {BASIS_FORMAT}\n{measure}\n".encode())
    for text in sorted(identities):
        h.update(text.encode())
        h.update(b"\n")
    return h.hexdigest()


def read_basis(store: BasisStore | None, key: str, n: int) -> np.ndarray | None:
    """The positions (among ``n`` sorted identities) a stored basis keeps, or None.

    Examples
    --------
    >>> class Store:
    ...     def __init__(self, rows): self.rows = rows
    ...     def span_basis(self, key): return self.rows
    ...     def keep_span_basis(self, key, rows): pass
    >>> read_basis(Store([0, 2]), "k", 3).tolist()
    [0, 2]
    >>> read_basis(Store([2, 0]), "k", 3) is None, read_basis(Store([0, 3]), "k", 3) is None
    (True, True)
    """
    if store is None:
        return None
    from sdc.exceptions import SdcRegistryError

    try:
        rows = store.span_basis(key)
    except SdcRegistryError:
        return None
    if not isinstance(rows, list) or not all(type(x) is int for x in rows):
        return None
    out = np.asarray(rows, dtype=np.int64)
    if out.size and (out[0] < 0 or out[-1] >= n or (np.diff(out) <= 0).any()):
        return None
    return out


def keep_basis(store: BasisStore | None, key: str, positions: np.ndarray) -> bool:
    """Keep a basis; False when the store refuses (a read-only registry): the check is
    the same, only the next one is not faster."""
    if store is None:
        return False
    from sdc.exceptions import SdcRegistryError

    try:
        store.keep_span_basis(key, [int(x) for x in positions])
    except SdcRegistryError:
        return False
    return True


def spot_checks(left_out: Sequence[np.ndarray],
                n_atoms: int) -> list[tuple[np.ndarray, np.ndarray]]:  # fmt: skip
    """Random combinations of the left-out rows (each the atoms it sums), as weighted
    rows ``(atoms, weights)`` for the span kernel (see the module docstring)."""
    if not left_out:
        return []
    from sdc.kernels.span import weighted_sums

    rng = np.random.default_rng()  # fresh OS entropy: a stored basis cannot foresee it
    coef = rng.integers(1, SPOT_MAX + 1, size=(len(left_out), SPOT_CHECKS), dtype=np.int64)
    ptr = np.zeros(len(left_out) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([x.size for x in left_out])
    total = weighted_sums(ptr, np.concatenate(left_out), coef, n_atoms)
    out = []
    for row in total.T:
        at = np.flatnonzero(row)
        out.append((at.astype(np.int64), row[at]))
    return out
