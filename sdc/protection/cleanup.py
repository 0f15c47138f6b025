"""Publish back the secondary cells no requirement needs: the clean-up pass.

Every requirement of a pattern (a primary that must be able to move far enough
up or down, a group of small counts, a primary that must keep some freedom from
every single contributor's view) is held by a *witness*: a feasible alternative
table that moves the cell as far as it must and changes hidden cells only
(:meth:`sdc.protection.deviation.Deviations.witness`). A witness that does not
touch a hidden cell stays a witness when that cell is published. So each
secondary cell, most costly first, is published back when every requirement
whose witness uses it finds another witness without it; otherwise it stays
hidden. What remains hidden is needed as far as witnesses show.

A requirement's witnesses are looked for near its cell (a few steps through the
smallest relations) or, for one that has none there, in the whole table: one
that rests on cells far away must keep them hidden (a pass that only looked near
would publish them and break it). A requirement that no
witness proves stops the pass. Insider requirements (every singleton kept at
once) are stronger than the protection asks, which is each contributor alone
(the elimination kernel checks that afterwards): one with no witness near its
cell keeps the cells near it hidden.

A witness proves its requirement: a cell that moves by ``amount`` in a table
that agrees with everything published is not narrowed further than that, and
one whose witness keeps every singleton's cell fixed cannot be recovered by the
contributor of any of them (the insider attack).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sdc.protection.deviation import Deviations, Move
from sdc.protection.progress import report


@dataclass(frozen=True)
class Requirement:
    """Moves of which one must stay possible, with ``keep`` inner cells unchanged (or None)."""

    moves: tuple[Move, ...]
    keep: np.ndarray | None = None


def clean_up(
    deviations: Deviations,
    requirements: list[Requirement],
    secondary: np.ndarray,
    weight: np.ndarray,
    max_lps: int,
) -> np.ndarray:
    """The secondary cells (a mask over ``deviations``' columns) that stay hidden.

    ``max_lps`` caps the witness LPs solved (the pass stops there, keeping the rest
    hidden): the result is the same on every run.
    """
    n_col = deviations.n_col
    keep_hidden = secondary.copy()
    witnesses: list[np.ndarray | None] = []
    wide = np.zeros(len(requirements), dtype=bool)
    frozen = np.zeros(n_col, dtype=bool)
    lps = 0
    for i, r in enumerate(requirements):
        report(i, len(requirements), "clean-up: witnesses")
        w = _witness(deviations, r)
        if w is None and r.keep is None:  # none near: it may rest on cells far away
            w = _witness(deviations, r, wide=True)
            wide[i] = True
        lps += len(r.moves) * (1 + int(wide[i]))
        if w is None:
            if r.keep is None:  # a requirement no witness proves: publish nothing
                return keep_hidden
            # Kept from every singleton at once it cannot be near its cell; the elimination
            # checks it against each contributor alone afterwards. Keep what is near hidden.
            frozen[_near(deviations, r)] = True
        witnesses.append(w)
    users: dict[int, set[int]] = {}
    for i, w in enumerate(witnesses):
        for k in np.flatnonzero(w) if w is not None else ():
            users.setdefault(int(k), set()).add(i)
    order = np.flatnonzero(secondary)[np.argsort(-weight[secondary], kind="stable")]
    for done, col in enumerate(order):
        report(done, order.size, "clean-up: secondary cells")
        j = int(col)
        if frozen[j]:
            continue
        if lps >= max_lps:
            break
        found: dict[int, np.ndarray] = {}
        for i in sorted(users.get(j, ())):
            lps += len(requirements[i].moves)
            w = _witness(deviations, requirements[i], closed=j, wide=bool(wide[i]))
            if w is None:
                break
            found[i] = w
        else:
            deviations.publish(j)
            keep_hidden[j] = False
            for i, w in found.items():
                old = witnesses[i]
                assert old is not None
                for k in np.flatnonzero(old):
                    users.get(int(k), set()).discard(i)
                for k in np.flatnonzero(w):
                    users.setdefault(int(k), set()).add(i)
                witnesses[i] = w
    return keep_hidden


def _witness(deviations: Deviations, r: Requirement, closed: int = -1, wide: bool = False) -> Any:
    for move in r.moves:
        w = deviations.witness(move, r.keep, closed, wide)
        if w is not None:
            return w
    return None


def _near(deviations: Deviations, r: Requirement) -> np.ndarray:
    """The columns touching the block of a requirement's cell."""
    block = deviations._block(r.moves[0].cell)
    return np.asarray(deviations.xc[block].sum(axis=0)).ravel() > 0
