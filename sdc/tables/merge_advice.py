"""Advice where a table fails the threshold: which categories to merge so that it passes.

Suppression hides whole rows to cover one rare category; merging that category with
another usually costs far less. For each dimension, :func:`merge_plan` merges the
category with a small cell into the smallest other category (its smallest
neighbour), again and again, until no cell of the table holds 1 to ``t - 1``
contributors, counted as the sums of the current cells (for contributor counts an
upper bound: the new table is checked when it is made). A plan that merges
everything into one category is no advice and is not offered, and none is worked
out for tables of more than ``MAX_CELLS`` inner cells or dimensions of more than
``MAX_LEVELS`` categories.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sdc.tables.evidence import TableEvidence

#: Largest table (inner cells) and dimension (categories) advice is worked out for.
MAX_CELLS = 100_000
MAX_LEVELS = 500


def merge_plan(counts: np.ndarray, t: int) -> list[list[int]] | None:
    """Groups of levels (rows of ``counts``, one per level, a column per cell) to merge.

    Examples
    --------
    >>> merge_plan(np.array([[40, 30], [2, 1], [12, 15], [20, 25]]), 10)
    [[1, 2]]
    >>> merge_plan(np.array([[40, 30], [20, 25]]), 10) is None  # nothing fails
    True
    """
    groups = [[i] for i in range(counts.shape[0])]
    rows = np.array(counts, dtype=np.int64).reshape(len(groups), -1)

    def failing() -> np.ndarray:
        return np.asarray(((rows > 0) & (rows < t)).any(axis=1))

    if not failing().any():
        return None
    while len(groups) > 1:
        bad = np.flatnonzero(failing())
        if not bad.size:
            break
        sums = rows.sum(axis=1)
        small = int(bad[np.argmin(sums[bad])])  # the first of the smallest failing levels
        sums[small] = np.iinfo(np.int64).max
        into = int(np.argmin(sums))  # the first of the smallest others
        groups[into] = sorted(groups[into] + groups[small])
        rows[into] += rows[small]
        del groups[small]
        rows = np.delete(rows, small, axis=0)
    if len(groups) == 1:
        return None
    return [g for g in groups if len(g) > 1]


def merge_advice(ev: TableEvidence, t: int) -> tuple[str, ...]:
    """One sentence per dimension whose categories can be merged to pass the threshold."""
    model = ev.model
    if model.has_groups:  # hierarchies fix the categories
        return ()
    counts = ev.contributors.reshape(model.shape)
    inner = counts[tuple(slice(0, len(lv)) for lv in model.levels)]
    if inner.size > MAX_CELLS:  # a plan for a table this big is no quick advice
        return ()
    advice = []
    for d, dim in enumerate(model.dims):
        if len(model.levels[d]) > MAX_LEVELS:
            continue
        per_level = np.moveaxis(inner, d, 0).reshape(len(model.levels[d]), -1)
        plan = merge_plan(per_level, t)
        if plan is None:
            continue
        labels = [[str(model.levels[d][i]) for i in g] for g in plan]
        recode: dict[str, Any] = {x: "+".join(g) for g in labels for x in g}
        merges = "; ".join(" with ".join(repr(x) for x in g) for g in labels)
        advice.append(
            f"merging categories offered: on {dim!r}, merge {merges} (each rare category "
            f"with its smallest neighbour); then no cell holds 1 to {t - 1} by the current "
            f"counts. Recode before tabulating, e.g. data[{dim!r}].replace({recode!r}), "
            "and check the new table"
        )
    return tuple(advice)
