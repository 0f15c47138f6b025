"""A regression's design matrix reduced to its atoms: the rows its coefficients cannot tell apart.

The coefficients of a linear model (and the score equations of a GLM) are functions
of sums over the rows of the design matrix X. Columns are read as they are, whatever
produced them (dummies, any contrast coding, interactions, ``I(...)`` terms):

- a column with at most :data:`MAX_LEVELS` distinct values among the rows the fit uses
  is *few-valued*; its values define groups;
- a column with more values is *continuous*; when it is 0 on most rows (an interaction
  of a continuous variable with a dummy, say) the rows where it is not 0 are a group
  too: the coefficient of ``age:C(region)[T.W]`` is estimated from region W alone;
- the *atoms* are the distinct rows of the few-valued columns (refined by those
  supports): every group a coefficient can describe is a union of atoms.

``D`` holds the few-valued columns' values at each atom (what the groups of
:mod:`sdc.regression.groups` are tested against); nothing here has one entry per record
except the atom of each row, which the caller uses and drops.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

#: A column with at most this many distinct values (among the rows used) is few-valued.
MAX_LEVELS = 64
#: More atoms than this and the combination checks are not attempted (the output is reviewed).
MAX_ATOMS = 100_000


@dataclass(frozen=True)
class Atoms:
    """The atoms of a design: per atom its few-valued columns and supports; no rows.

    ``D[a, j]`` is the value of few-valued column ``columns[j]`` at atom a;
    ``supports[a, s]`` whether continuous column ``support_columns[s]`` is non-zero
    there. ``rows[a]`` counts the atom's rows.
    """

    names: tuple[str, ...]
    columns: np.ndarray  # int64: indices of the few-valued columns in X
    D: np.ndarray  # float64 (n_atoms, len(columns))
    support_columns: np.ndarray  # int64: sparse continuous columns of X
    supports: np.ndarray  # bool (n_atoms, len(support_columns))

    @property
    def n_atoms(self) -> int:
        return int(self.D.shape[0])


def design_atoms(
    exog: np.ndarray, names: list[str], keep: np.ndarray, max_levels: int = MAX_LEVELS
) -> tuple[Atoms, np.ndarray] | None:
    """The atoms of ``exog`` over the ``keep`` rows, and each row's atom (-1: not kept).

    ``None`` when the few-valued columns cross into more than :data:`MAX_ATOMS` atoms.

    Examples
    --------
    With at most two values for a few-valued column, ``A:age`` is continuous, and 0 on
    half the rows: where it is not 0 is a group of its own.

    >>> x = np.array([[1.0, 0.0, 0.0], [1.0, 1.0, 4.2], [1.0, 1.0, 5.1], [1.0, 0.0, 0.0]])
    >>> atoms, atom = design_atoms(x, ["Intercept", "A", "A:age"], np.ones(4, dtype=bool), 2)
    >>> atoms.D.tolist(), atoms.supports.tolist(), atom.tolist()
    ([[1.0, 0.0], [1.0, 1.0]], [[False], [True]], [0, 1, 1, 0])
    """
    from sdc.kernels.atoms import column_levels
    from sdc.kernels.atoms import design_atoms as kernel_atoms

    kept = int(keep.sum())
    n_distinct, zeros = column_levels(exog, keep, max_levels)
    few = np.flatnonzero(n_distinct <= max_levels)
    sparse = np.flatnonzero((n_distinct > max_levels) & (2 * zeros >= kept))
    found = kernel_atoms(exog, few[n_distinct[few] > 1], keep, MAX_ATOMS)  # constants split nothing
    if found is None:
        return None
    atom, first = found
    if sparse.size:  # refine by where each sparse continuous column is non-zero
        marks = np.column_stack([atom.astype(np.float64)] + [exog[:, j] != 0 for j in sparse])
        found = kernel_atoms(np.asfortranarray(marks, dtype=np.float64),
                             np.arange(marks.shape[1]), keep, MAX_ATOMS)  # fmt: skip
        if found is None:
            return None
        atom, first = found
    atoms = Atoms(
        names=tuple(names), columns=few.astype(np.int64), D=exog[np.ix_(first, few)] + 0.0,
        support_columns=sparse.astype(np.int64), supports=exog[np.ix_(first, sparse)] != 0,
    )  # fmt: skip
    return atoms, atom


def factor_levels(model: Any, atoms: Atoms) -> dict[str, tuple[np.ndarray, tuple[str, ...]]]:
    """Per categorical variable of a formula fit: each atom's category (as an index into the
    categories), read back from the columns of a term that codes that variable alone.

    Only for designs patsy made (``model.data.model_spec``); empty otherwise, or where a
    row of the term's columns matches no category. Used to name groups ("region = W")
    whatever the contrast coding.
    """
    spec: Any = getattr(getattr(model, "data", None), "model_spec", None)
    terms = getattr(spec, "terms", None)
    if spec is None or not terms:
        return {}
    position = {int(c): j for j, c in enumerate(atoms.columns.tolist())}
    out: dict[str, tuple[np.ndarray, tuple[str, ...]]] = {}
    for term in terms:
        try:
            (factor,) = term.factors
            info = spec.factor_infos[factor]
            if info.type != "categorical":
                continue
            (coding,) = spec.term_codings[term]
            matrix = np.asarray(coding.contrast_matrices[factor].matrix, dtype=np.float64)
            cols = range(*spec.term_slices[term].indices(len(atoms.names)))
        except (ValueError, KeyError, AttributeError, TypeError):
            continue
        name = factor.name()
        match = re.match(r"C\(\s*([^,()]+?)\s*[,)]", name)
        var = match.group(1) if match else name
        if var in out or any(c not in position for c in cols):
            continue
        values = atoms.D[:, [position[c] for c in cols]]
        same = np.all(np.isclose(values[:, None, :], matrix[None, :, :], rtol=1e-9, atol=1e-12),
                      axis=2)  # fmt: skip
        if (same.sum(axis=1) != 1).any():
            continue
        out[var] = (np.argmax(same, axis=1), tuple(str(c) for c in info.categories))
    return out
