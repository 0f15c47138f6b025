"""A trained model checked for release: evidence from its structure (and data), rules, verdict.

Weights-only checks read the stored structure (:mod:`sdc.models.structure`), so
they run the same in the researcher's session and at the gate on a file. The
leaf statistics of every tree come from one kernel pass
(:mod:`sdc.kernels.trees`); per model (a single tree, a forest, a boosted
ensemble) the findings report the worst tree: the smallest leaf, and how many
leaves across the trees break each rule.

With training and held-out data the checker also runs a worst-case membership
inference attack and, for models that are not single trees, builds the
structural equivalence classes (records with the same predicted probabilities)
and applies the leaf rules to them (:mod:`sdc.models.attacks`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd

from sdc.kernels.trees import LEAF_COLUMNS, leaf_statistics
from sdc.models.structure import ModelStructure
from sdc.outputs import FINDING_COLUMNS, finding_rows, report_entry, summary_lines
from sdc.rules import RULES, RuleResult
from sdc.ruleset import RuleSet
from sdc.verdict import Status

_COL = {name: i for i, name in enumerate(LEAF_COLUMNS)}


@dataclass
class TreeGroup:
    """The trees of one tree model (a tree, a forest, a boosted ensemble), summarised."""

    term: str
    n_trees: int
    stats: np.ndarray  # (trees, LEAF_COLUMNS)

    @property
    def min_leaf(self) -> int:
        return int(self.stats[:, _COL["min_leaf"]].min())

    def total(self, column: str) -> int:
        return int(self.stats[:, _COL[column]].sum())


@dataclass
class Tensors:
    """Weight tables of a network file: name and rows of each 2-D table."""

    names: list[str] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    n_params: int = 0


@dataclass
class DataEvidence:
    """What the attacks found when training and held-out data were given."""

    auc: float
    p_value: float
    score: str
    min_class: int
    small_classes: int
    disclosing_classes: int
    small_group_classes: int
    n_classes: int
    #: With training rows' contributor ids: the fewest distinct contributors in a leaf of
    #: any tree, and the leaves of 1 to t-1 contributors (None: no ids were given).
    leaf_people: int | None = None
    small_people_leaves: int = 0


class ModelOutput:
    """A trained model checked for release (kind ``model``): verdict, findings, reasons.

    ``reasons`` name what could not be checked (a part the engine does not know,
    a file it could not read) and make the verdict ``review`` or ``fail``.
    """

    kind = "model"
    value_name = "model"
    plot = False

    def __init__(
        self,
        name: str,
        ruleset: RuleSet,
        structure: ModelStructure | None = None,
        tensors: Tensors | None = None,
        data: DataEvidence | None = None,
        n_records: int | None = None,
        problems: tuple[str, ...] = (),
        refused: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.ruleset = ruleset
        self.structure = structure
        self.tensors = tensors
        self.data = data
        self.n_records = n_records
        self.problems = problems  # -> review: a person must look
        self.refused = refused  # -> fail: the file must not leave

    @property
    def statistic(self) -> str | None:
        if self.structure is not None:
            return self.structure.name
        return "weights" if self.tensors is not None else None

    @cached_property
    def tree_groups(self) -> list[TreeGroup]:
        """Leaf statistics of every tree, one kernel pass, grouped by tree model."""
        s = self.structure
        if s is None:
            return []
        owners, trees = [], []
        for comp in s.components:
            for tree in comp.trees:
                owners.append(comp.path.split(".estimators_[")[0])
                trees.append(tree)
        if not trees:
            return []
        t = int(self.ruleset.params["k-anonymity"].t)
        width = max(1, *(tr.fractions.shape[1] for tr in trees))
        # NaN: no such class; a regressor's nodes are all NaN, so class rules skip them.
        fractions = np.full((sum(tr.left.size for tr in trees), width), np.nan)
        at = 0
        for tr in trees:
            fractions[at : at + tr.left.size, : tr.fractions.shape[1]] = tr.fractions
            at += tr.left.size
        stats = leaf_statistics(
            np.concatenate([tr.left for tr in trees]),
            np.concatenate([tr.right for tr in trees]),
            np.concatenate([tr.samples for tr in trees]),
            fractions,
            np.concatenate(([0], np.cumsum([tr.left.size for tr in trees]))),
            t,
            weights=np.concatenate([tr.weights for tr in trees]),
        )
        groups: dict[str, list[int]] = {}
        for i, owner in enumerate(owners):
            groups.setdefault(owner, []).append(i)
        return [TreeGroup(g, len(idx), stats[idx]) for g, idx in groups.items()]

    @cached_property
    def results(self) -> tuple[tuple[list[str], RuleResult], ...]:
        """Each rule's result with the term of each entry it was applied to."""
        params = self.ruleset.params
        active = set(self.ruleset.rules_for("model"))
        views: dict[str, tuple[list[str], Any]] = {}
        s = self.structure
        if s is not None:
            comps = [c for c in s.components if c.stored_rows]
            views["instance-based"] = (
                [f"{c.path} ({c.name})" for c in comps],
                SimpleNamespace(stored_rows=np.array([c.stored_rows for c in comps])),
            )
            raw = [(f"{c.path}.{k}", n) for c in s.components for k, n in c.raw_values.items()]
            views["raw-values"] = (
                [t for t, _ in raw],
                SimpleNamespace(raw_values=np.array([n for _, n in raw])),
            )
            tree_owners = {g.term for g in self.tree_groups}
            hyper = [c for c in s.components if c.path in tree_owners]
            views["hyperparameters"] = (
                [f"{c.path} ({c.name})" for c in hyper],
                SimpleNamespace(
                    min_samples_leaf=np.array([c.min_samples_leaf for c in hyper]),
                    bootstrap=np.array([c.bootstrap for c in hyper]),
                ),
            )
        groups = self.tree_groups
        terms = [
            f"{g.term} ({g.n_trees} tree{'s' if g.n_trees > 1 else ''}, leaves)" for g in groups
        ]
        min_group = [g.min_leaf for g in groups]
        small = [g.total("small_leaves") for g in groups]
        disclosing = [g.total("class_disclosure_leaves") for g in groups]
        small_class = [g.total("small_group_leaves") for g in groups]
        uncertain = [g.total("uncertain_small_group_leaves") for g in groups]
        if self.data is not None and self.data.n_classes:
            terms.append("equivalence classes (records with the same predictions)")
            min_group.append(self.data.min_class)
            small.append(self.data.small_classes)
            disclosing.append(self.data.disclosing_classes)
            small_class.append(self.data.small_group_classes)
            uncertain.append(0)
        if self.data is not None and self.data.leaf_people is not None:
            terms.append("leaves, counted in distinct contributors of the training rows")
            min_group.append(self.data.leaf_people)
            small.append(self.data.small_people_leaves)
            disclosing.append(0)
            small_class.append(0)
            uncertain.append(0)
        views["k-anonymity"] = (
            terms,
            SimpleNamespace(min_group=np.array(min_group), small_groups=np.array(small)),
        )
        views["class-disclosure"] = (terms, SimpleNamespace(disclosing_groups=np.array(disclosing)))
        views["small-group"] = (
            terms,
            SimpleNamespace(
                small_class_groups=np.array(small_class),
                uncertain_class_groups=np.array(uncertain),
            ),
        )
        n_params = (s.n_params if s is not None else 0) + (
            self.tensors.n_params if self.tensors is not None else 0
        )
        n_records = (
            self.n_records
            if self.n_records is not None
            else (s.n_records if s is not None else None)
        )
        if n_records is not None and n_params:
            views["dof"] = (
                [f"model ({n_params} parameters, {n_records} training records)"],
                SimpleNamespace(residual_dof=np.array([n_records - n_params])),
            )
        if self.data is not None:
            views["membership-inference"] = (
                [f"model (worst-case attack on {self.data.score})"],
                SimpleNamespace(
                    auc=np.array([self.data.auc]), p_value=np.array([self.data.p_value])
                ),
            )
        if self.tensors is not None:
            individuals = np.nan if n_records is None else float(n_records)
            views["embedding"] = (
                list(self.tensors.names),
                SimpleNamespace(
                    rows=np.array(self.tensors.rows, dtype=np.float64),
                    individuals=np.full(len(self.tensors.rows), individuals),
                ),
            )
        return tuple(
            (terms_, RULES[rule](view, params[rule]))
            for rule, (terms_, view) in views.items()
            if rule in active
        )

    @cached_property
    def findings(self) -> pd.DataFrame:
        """One row per failing or reviewed check: where (a part of the model), rule, why."""
        rows = [row for terms, r in self.results for row in finding_rows(terms, r)]
        return pd.DataFrame(rows, columns=FINDING_COLUMNS)

    @property
    def reasons(self) -> tuple[str, ...]:
        unknown = tuple(self.structure.unknown) if self.structure is not None else ()
        return (*self.refused, *self.problems, *unknown)

    @property
    def status(self) -> Status:
        if self.refused:
            return Status.FAIL
        outcomes = set(self.findings["outcome"])
        if "fail" in outcomes:
            return Status.FAIL
        if "review" in outcomes or self.reasons:
            return Status.REVIEW
        return Status.PASS

    def to_report(self) -> dict[str, Any]:
        """This output's entry in the JSON report."""
        return report_entry(self)

    def summary(self) -> str:
        """A short text account of the verdict with its reasons and findings."""
        head = f"{self.name}: model"
        if self.statistic:
            head += f" ({self.statistic})"
        return summary_lines(self, head)

    def __repr__(self) -> str:
        return f"<ModelOutput {self.name!r} {self.statistic} status={self.status.value}>"
