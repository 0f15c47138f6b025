"""Fix suggestions: which cells to suppress jointly so that no small group is derivable.

The outputs of a check are protected as linked tables are (:mod:`sdc.tables.linked`):
one model matrix, here atoms x every published number, plus the small groups as
primary columns, and the greedy Gaussian elimination of secondary suppression
(:func:`sdc.protection.secondary.secondary_suppress`) chooses further cells to
hide, keeping large cells and margins first. Numbers released before cannot be
withdrawn: they are forced (published whatever happens), so the pattern is built
around them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp

#: Largest model (entries of the atoms x numbers matrix) a joint suppression is chosen
#: for; past it (a check against a thousand earlier releases) the findings' own
#: combinations say which cells to hide, and the suggestion says so.
MAX_ENTRIES = 5_000_000


def joint_suppression(system: Any, parts: Sequence[Any], ordered: list[np.ndarray],
                      order: np.ndarray, primaries: list[np.ndarray],
                      counts: np.ndarray | None,
                      n_atoms: int) -> tuple[list[str], list[tuple[int, int]]]:  # fmt: skip
    """Sentences (the cells to suppress together, per output, or why none can be chosen),
    and those cells as (participant, cell)."""
    from sdc.protection.secondary import secondary_suppress

    # Only the derivable groups: hiding more cells shrinks the span, so a group that is
    # not derivable now stays so whatever is suppressed.
    groups = list({g.tobytes(): g for g in primaries}.values())
    cols = [*ordered, *groups]
    if sum(c.size for c in cols) > MAX_ENTRIES:
        return [f"no joint suppression was computed ({system.measure}): the outputs together "
                f"are too large a model ({len(ordered)} published numbers over {n_atoms} "
                "groups of records); hide a cell of the new outputs in each finding's "
                "combination, or leave out one of the outputs each finding names"], []  # fmt: skip
    ptr = np.zeros(len(cols) + 1, dtype=np.int64)
    ptr[1:] = np.cumsum([c.size for c in cols])
    x = sp.csc_matrix((np.ones(int(ptr[-1]), dtype=np.int8), np.concatenate(cols), ptr),
                      shape=(n_atoms, len(cols)))  # fmt: skip
    n_pub = len(ordered)
    primary = np.zeros(len(cols), dtype=bool)
    primary[n_pub:] = True
    weight = np.zeros(len(cols))
    forced = np.zeros(len(cols), dtype=bool)
    for s, k in enumerate(order):
        i, c = system.owners[k][0]
        own = parts[i].cells
        if counts is not None:
            weight[s] = float(counts[ordered[s]].sum())
        elif own.counts is not None:
            weight[s] = float(own.counts[c])
        forced[s] = all(parts[j].earlier for j, _ in system.owners[k])
    pattern = secondary_suppress(x, primary, weight, forced=forced)
    hide = np.flatnonzero(pattern.secondary[:n_pub])
    if pattern.overflowed:
        return ["no joint suppression could be computed (the elimination's numbers grew too "
                "large): leave out one of the outputs each finding names"], []  # fmt: skip
    per_output: dict[str, list[str]] = {}
    cells: list[tuple[int, int]] = []
    for pos in hide:
        for i, c in system.owners[int(order[pos])]:
            p = parts[i]
            if p.earlier:
                continue
            cells.append((i, c))
            label = ", ".join(f"{k}={v}" for k, v in p.cells.cell_labels[c].items())
            per_output.setdefault(p.name, []).append(f"({label or 'total'})")
    if not per_output:
        return [], []
    text = "; ".join(f"in {name!r} {', '.join(v)}" for name, v in per_output.items())
    return [f"suppress these cells as well, together ({system.measure}): {text}; "
            "or leave out one of the outputs each finding names"], cells  # fmt: skip
