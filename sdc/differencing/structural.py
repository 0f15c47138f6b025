"""Atoms from definitions alone, for a request checked at the gate without data.

Without the data the gate cannot tell which records fall where, but the
definitions say which *variables* each output splits its records by: a column
(with its levels, or its bins), and its population (a flag: in or out). Outputs
of one dataset are placed on the cross product of those variables: an atom is one
level of every variable, each output's leaf is read off the levels of the
variables it uses, and an atom no output's records could be in (a level an output
does not have, inside its population; a record in a population nested inside
another but outside that one) is dropped. Sizes of atoms are unknown: a candidate
atom's count comes from the combination that derives it and the true counts of
the cells it combines (the evidence).

Taking every remaining combination as possible can only hide derivations that rest
on empty combinations (a practice in one region only); with the data (``--data``)
the check is exact.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sdc.differencing.population import parse

#: Most atoms the cross product may have (beyond it the check is not run: review).
MAX_ATOMS = 200_000

#: A participant's leaf for an atom: >= 0, OUTSIDE (not in its population) or NONE.
OUTSIDE, NONE = -1, -2


@dataclass
class Variable:
    key: tuple[Any, ...]
    levels: list[str] = field(default_factory=list)

    def level(self, text: str) -> int:
        if text not in self.levels:
            self.levels.append(text)
        return self.levels.index(text)


@dataclass
class Placed:
    """One output on the variables: which it reads, and its leaf for levels of them."""

    name: str
    flag: int | None  # index of its population flag variable (None: every record)
    variables: list[int]
    leaf: Callable[[np.ndarray], np.ndarray]  # levels (n, len(variables)) -> leaves or NONE


def conjuncts(expression: str) -> frozenset[str]:
    """The clauses an expression requires all of (``a and b`` -> {a, b}), normalised.

    Examples
    --------
    >>> sorted(conjuncts("age < 90 and (smoker == 0)"))
    ['age < 90', 'smoker == 0']
    """
    tree, names = parse(expression, "conjuncts")
    out: list[str] = []

    def walk(node: ast.AST) -> None:
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.And):
            for v in node.values:
                walk(v)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitAnd):
            walk(node.left)
            walk(node.right)
        else:
            text = ast.unparse(node)
            for key, name in names.items():
                text = text.replace(key, f"`{name}`")
            out.append(text)

    walk(tree)
    return frozenset(out)


class Layout:
    """The variables of one dataset's outputs and the outputs placed on them."""

    def __init__(self) -> None:
        self.variables: list[Variable] = []
        self.flags: dict[str, int] = {}
        self.clauses: dict[int, frozenset[str] | None] = {}
        self.placed: list[Placed] = []

    def variable(self, key: tuple[Any, ...]) -> int:
        for i, v in enumerate(self.variables):
            if v.key == key:
                return i
        self.variables.append(Variable(key))
        return len(self.variables) - 1

    def flag(self, population: dict[str, Any]) -> int | None:
        """The in/out variable of a population (None when it covers its whole dataset)."""
        index = population.get("index")
        base = population.get("base") or {}
        if index is not None and index == base.get("index"):
            return None
        key = str(index)
        if key not in self.flags:
            v = self.variable(("population", key))
            self.variables[v].levels = ["in", "out"]
            self.flags[key] = v
            expr = population.get("expression")
            self.clauses[v] = conjuncts(expr) if isinstance(expr, str) else None
        return self.flags[key]

    def atoms(self) -> tuple[np.ndarray, list[np.ndarray]] | None:
        """Every possible atom's level of each variable, and each output's leaf (-1 outside);
        None when the cross product is larger than :data:`MAX_ATOMS`."""
        sizes = [max(len(v.levels), 1) for v in self.variables]
        total = int(np.prod(sizes, dtype=np.float64)) if sizes else 1
        if total > MAX_ATOMS:
            return None
        grid = np.indices(sizes).reshape(len(sizes), -1).T if sizes else np.zeros((1, 0), int)
        keep = np.ones(grid.shape[0], dtype=bool)
        flags = list(self.clauses)
        for a in flags:  # nested populations: inside the inner one means inside the outer
            for b in flags:
                ca, cb = self.clauses[a], self.clauses[b]
                if a != b and ca is not None and cb is not None and ca < cb:
                    keep &= ~((grid[:, b] == 0) & (grid[:, a] == 1))
        leaves = []
        for p in self.placed:
            leaf = np.asarray(p.leaf(grid[:, p.variables]), dtype=np.int64)
            if p.flag is not None:
                leaf = np.where(grid[:, p.flag] == 1, OUTSIDE, leaf)
            keep &= leaf != NONE
            leaves.append(leaf)
        return grid[keep], [leaf[keep] for leaf in leaves]


def table_leaf(levels_of: Sequence[list[int]]) -> Callable[[np.ndarray], np.ndarray]:
    """Leaf of a table for variable levels: ``levels_of[d][v]`` is the table's level index
    of the variable's level v on dimension d (-1: the table has no such level)."""
    lookups = [np.asarray(x, dtype=np.int64) for x in levels_of]
    sizes = [int((x >= 0).sum()) for x in lookups]

    def leaf(levels: np.ndarray) -> np.ndarray:
        out = np.zeros(levels.shape[0], dtype=np.int64)
        bad = np.zeros(levels.shape[0], dtype=bool)
        for d, lookup in enumerate(lookups):
            code = lookup[levels[:, d]]
            bad |= code < 0
            out = out * sizes[d] + np.maximum(code, 0)
        return np.where(bad, NONE, out)

    return leaf
