"""Which numbers released before are independent, kept between checks.

Checking against a thousand earlier releases, most of the exact elimination is
spent reducing earlier numbers that the ones before them already give (95% of the
time at 24k earlier numbers, rank 9.7k). Which earlier numbers are independent
does not depend on the new outputs: a new output splits atoms, and splitting atoms
copies columns, which keeps every linear dependence. So a check that knows an
independent set of the earlier exact numbers (a basis of their span) may leave
the others out: the span, and so every finding, is the same; only the
combination a finding names may use other earlier numbers.

The basis is keyed by everything that decides it (:func:`prefix_keys`): the
measure, and each earlier exact number's identity (the released output and its
definition's digest, and the cell), in the order of release. Every earlier output is
placed on the data by its recorded fingerprints, which pin the records of each of
its cells, so the same key means the same rows. Keys are kept for every prefix of
the releases: the first check after a new release starts from the basis of the
releases before it and eliminates only the new numbers. Rounded numbers are never
left out: a dependent exact number tells more than a combination of rounded ones.

The registry keeps bases (``span_bases`` / ``keep_span_basis``; :func:`encode`, about
2 bytes per number kept) in a table outside its audit chain, so a kept basis is not
trusted: a stored basis that does not read as one (sorted distinct positions in range)
is ignored, and the numbers it leaves out are checked in the same elimination
(:func:`spot_checks`). A key that matches by accident (or by design) only brings a
basis that these checks refuse. Each of
two random combinations of them (coefficients 1 .. 1000, drawn from the operating
system's entropy) must be derivable from the numbers used: when one of the left-out
numbers is not, a combination is derivable with probability at most 1/1000, so
a wrong basis passes both with probability at most 1e-6. A basis that fails is
named in a note and the check uses every earlier number.
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

#: Random combinations of the left-out numbers each check decides, and their largest
#: coefficient.
SPOT_CHECKS, SPOT_MAX = 2, 1000

#: Changed when the meaning of a stored basis changes (keys of other versions are
#: never read).
BASIS_FORMAT = 2


class BasisStore(Protocol):
    """Where bases are kept (the release registry)."""

    def span_bases(self, keys: Sequence[str]) -> dict[str, str]: ...

    def keep_span_basis(self, key: str, rows: str) -> None: ...


def prefix_keys(measure: str, groups: Sequence[Sequence[str]]) -> list[str]:
    """The key of a basis of the first 1, 2, ... groups of earlier exact numbers (one group
    per earlier output, in the order of release; each number named by its output, its
    definition's digest and its cell). A check after one more release finds the basis
    of the releases before it under a shorter prefix, and adds only the new numbers.

    Examples
    --------
    >>> a = prefix_keys("records", [["r1/t@ab#0", "r1/t@ab#1"], ["r2/u@cd#0"]])
    >>> b = prefix_keys("records", [["r1/t@ab#0", "r1/t@ab#1"], ["r2/u@cd#1"]])
    >>> len(a), a[0] == b[0], a[1] == b[1]
    (2, True, False)
    >>> prefix_keys("sum of cost", [["r1/t@ab#0", "r1/t@ab#1"]])[0] == a[0]
    False
    """
    h = hashlib.sha256(f"span-basis {BASIS_FORMAT}\n{measure}\n".encode())
    out = []
    for group in groups:
        for text in group:
            h.update(text.encode())
            h.update(b"\n")
        h.update(b"--\n")
        out.append(h.copy().hexdigest())
    return out


def encode(positions: np.ndarray) -> str:
    """Sorted distinct positions as text: gaps as little-endian uint32, deflated, base64.

    Examples
    --------
    >>> decode(encode(np.array([0, 3, 4, 70000])), 70001).tolist()
    [0, 3, 4, 70000]
    """
    gaps = np.diff(np.asarray(positions, dtype=np.int64), prepend=-1)
    return base64.b64encode(zlib.compress(gaps.astype("<u4").tobytes(), 6)).decode("ascii")


def decode(text: Any, n: int) -> np.ndarray | None:
    """The positions ``text`` holds, or None when it holds no sorted distinct positions
    below ``n`` (a cache that does not read as one is ignored)."""
    try:
        raw = zlib.decompress(base64.b64decode(text, validate=True))
    except (TypeError, ValueError, zlib.error):
        return None
    if len(raw) % 4:
        return None
    gaps = np.frombuffer(raw, dtype="<u4").astype(np.int64)
    if gaps.size and (gaps.min() < 1):
        return None
    out = np.cumsum(gaps) - 1
    return out if not out.size or out[-1] < n else None


def read_basis(store: BasisStore | None, keys: Sequence[str],
               sizes: Sequence[int]) -> tuple[int, np.ndarray] | None:  # fmt: skip
    """The longest prefix with a stored basis: (how many groups, the positions it keeps
    among their numbers), or None. ``sizes[k]``: numbers in the first k + 1 groups.

    Examples
    --------
    >>> class Store:
    ...     kept = {"k1": encode(np.array([0, 2]))}
    ...     def span_bases(self, keys): return {k: self.kept[k] for k in keys if k in self.kept}
    ...     def keep_span_basis(self, key, rows): pass
    >>> groups, kept = read_basis(Store(), ["k1", "k2"], [3, 5])
    >>> groups, kept.tolist()
    (1, [0, 2])
    >>> Store.kept["k1"] = encode(np.array([0, 3]))  # past the first group's 3 numbers
    >>> read_basis(Store(), ["k1", "k2"], [3, 5]) is None
    True
    """
    if store is None or not keys:
        return None
    from sdc.exceptions import SdcRegistryError

    try:
        found = store.span_bases(list(keys))
    except SdcRegistryError:
        return None
    for g in range(len(keys) - 1, -1, -1):
        if keys[g] in found:
            positions = decode(found[keys[g]], sizes[g])
            if positions is not None:
                return g + 1, positions
    return None


def keep_basis(store: BasisStore | None, key: str, positions: np.ndarray) -> bool:
    """Keep a basis; False when the store refuses (a read-only registry): the check is
    the same, only the next one is not faster."""
    if store is None:
        return False
    from sdc.exceptions import SdcRegistryError

    try:
        store.keep_span_basis(key, encode(positions))
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
