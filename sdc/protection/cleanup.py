"""Publish back the secondary cells no requirement needs: the clean-up pass.

Every requirement of a pattern (a primary that must be able to move far enough
up or down, a group of small counts, a primary that must keep some freedom from
every single contributor's view) is held by a *witness*: a feasible alternative
table that moves the cell as far as it must and changes hidden cells only
(:meth:`sdc.protection.deviation.Deviations.witness`). A witness that does not
touch a hidden cell stays a witness when that cell is published. So each
secondary cell, most costly first, is published back when every requirement
whose witness uses it finds another witness without it; otherwise it stays
hidden. What remains hidden is needed: publishing any one secondary cell alone
would break some requirement (as far as witnesses within each cell's block show).

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
    lps = 0
    for done, r in enumerate(requirements):
        report(done, len(requirements), "clean-up: witnesses")
        witnesses.append(_witness(deviations, r))
        lps += len(r.moves)
    users: dict[int, set[int]] = {}
    frozen = np.zeros(n_col, dtype=bool)
    for i, w in enumerate(witnesses):
        if w is None:  # not provable here: leave everything near it as it is
            frozen[_near(deviations, requirements[i])] = True
            continue
        for k in np.flatnonzero(w):
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
            w = _witness(deviations, requirements[i], closed=j)
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


def _witness(deviations: Deviations, r: Requirement, closed: int = -1) -> Any:
    for move in r.moves:
        w = deviations.witness(move, r.keep, closed)
        if w is not None:
            return w
    return None


def _near(deviations: Deviations, r: Requirement) -> np.ndarray:
    """The columns touching the block of a requirement's cell."""
    block = deviations._block(r.moves[0].cell)
    return np.asarray(deviations.xc[block].sum(axis=0)).ravel() > 0
