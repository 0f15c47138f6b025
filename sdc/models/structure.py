"""What a trained model keeps inside it, read from a live estimator or from a file's stubs.

The same reading serves the researcher (a fitted scikit-learn object in memory)
and the gate (an :class:`~sdc.models.pickle_reader.Inert` tree rebuilt from a file
without running it): both expose a class path and a dictionary of fitted
attributes (a live object's ``__dict__`` is what its pickle stores). From them:

- **stored training rows**: support vectors, neighbours' fitted rows, a Gaussian
  process's or kernel model's training inputs (instance-based models);
- **trees**: every tree of a model (a single tree, a forest, gradient boosting),
  its node arrays concatenated for the leaf kernel (:mod:`sdc.kernels.trees`);
- **parameters** and training records, for residual degrees of freedom
  (parameters of a tree as in SACRO-ML: 2 per split and classes - 1 per leaf);
- **raw values**: fitted attributes that copy values of the training data
  (encoder categories, scaler minima and maxima, bin edges, quantiles,
  vocabularies);
- **hyperparameters** of tree models (smallest leaf, bootstrap);
- parts the engine does not recognise, named so that a person reviews them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sdc.models.pickle_reader import Inert

#: Attributes that hold rows of the training data, by the estimators that keep them.
STORED_ROWS = ("support_vectors_", "_fit_X", "X_train_", "X_fit_", "X_", "embedding_")

#: Fitted attributes that copy values of the training data.
RAW_VALUES = (
    "categories_", "data_min_", "data_max_", "bin_edges_", "quantiles_", "vocabulary_",
    "stop_words_", "statistics_",
)  # fmt: skip

#: Attributes holding sub-estimators whose parts are read in turn.
_CHILDREN = (
    "steps", "estimators_", "estimator_", "base_estimator_", "best_estimator_",
    "transformers_", "named_estimators_", "final_estimator_", "init_", "calibrated_classifiers_",
    "classifiers_", "regressor_", "transformer_",
)  # fmt: skip

#: Modules of the scikit-learn estimators whose stored state the checks above cover (trees and
#: their ensembles, linear and kernel models, neighbours, naive Bayes, networks' weights,
#: preprocessing, pipelines, model selection). Any other class (histogram gradient boosting,
#: clustering centres, manifold embeddings, a class from another package) goes to review.
KNOWN_MODULES = tuple(
    f"sklearn.{m}"
    for m in (
        "tree.", "ensemble._forest.", "ensemble._gb.", "ensemble._bagging.", "ensemble._voting.",
        "ensemble._stacking.", "ensemble._weight_boosting.", "linear_model.", "svm.",
        "neighbors.", "naive_bayes.", "gaussian_process.", "kernel_ridge.", "neural_network.",
        "discriminant_analysis.", "dummy.", "preprocessing.", "impute.", "feature_selection.",
        "feature_extraction.", "pipeline.", "compose.", "model_selection.", "calibration.",
        "multiclass.", "multioutput.", "isotonic.",
    )
)  # fmt: skip


@dataclass
class TreeArrays:
    """Node arrays of one fitted tree (sklearn's layout)."""

    left: np.ndarray
    right: np.ndarray
    samples: np.ndarray
    weights: np.ndarray  # weighted_n_node_samples: bootstrap draws in a bagged forest
    fractions: np.ndarray  # (nodes, classes); no columns for a regressor
    n_classes: int


@dataclass
class Component:
    """One estimator inside the model (the model itself, a pipeline step, a forest)."""

    path: str
    cls: str
    trees: list[TreeArrays] = field(default_factory=list)
    stored_rows: int = 0
    n_params: int = 0
    n_records: int | None = None
    min_samples_leaf: float = float("nan")
    bootstrap: float = float("nan")
    raw_values: dict[str, int] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.cls.rsplit(".", 1)[-1]


@dataclass
class ModelStructure:
    """Every component of a model, and what could not be read."""

    cls: str
    components: list[Component]
    unknown: list[str]

    @property
    def name(self) -> str:
        return self.cls.rsplit(".", 1)[-1]

    @property
    def n_params(self) -> int:
        return sum(c.n_params for c in self.components)

    @property
    def n_records(self) -> int | None:
        known = [c.n_records for c in self.components if c.n_records is not None]
        return max(known) if known else None


def class_path(obj: Any) -> str:
    """``module.Class`` of a live object or a stub."""
    if isinstance(obj, Inert):
        return obj.cls
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def attributes(obj: Any) -> dict[str, Any]:
    """The fitted attributes: a stub's BUILD state, a live object's ``__dict__``."""
    if isinstance(obj, Inert):
        return obj.state if isinstance(obj.state, dict) else {}
    return dict(getattr(obj, "__dict__", {}))


def read_structure(model: Any) -> ModelStructure:
    """The structure of a fitted model (live or stub), components in reading order."""
    out = ModelStructure(class_path(model), [], [])
    for path, obj in _walk(model):
        out.components.append(_component(path, obj, out.unknown))
    return out


def _is_estimator(obj: Any) -> bool:
    return isinstance(obj, Inert) or hasattr(obj, "__dict__")


def _walk(root: Any) -> Iterator[tuple[str, Any]]:
    """Every estimator inside ``root`` (iterative; each object once)."""
    stack: list[tuple[str, Any]] = [("model", root)]
    seen: set[int] = set()
    while stack:
        path, obj = stack.pop()
        if id(obj) in seen or not _is_estimator(obj) or isinstance(obj, type):
            continue
        seen.add(id(obj))
        yield path, obj
        attrs = attributes(obj)
        children: list[tuple[str, Any]] = []
        for key in _CHILDREN:
            value = attrs.get(key)
            if value is None or isinstance(value, str | bytes | int | float):
                continue
            for label, child in _members(value):
                children.append((f"{path}.{key}{label}", child))
        stack.extend(reversed(children))


def _members(value: Any) -> Iterator[tuple[str, Any]]:
    """Estimators held in an attribute: one, a list or array of them, or (name, estimator) pairs."""
    if isinstance(value, np.ndarray) and value.dtype == object:
        for idx, item in np.ndenumerate(value):
            yield "[" + ", ".join(map(str, idx)) + "]", item
    elif isinstance(value, dict):
        for k, item in value.items():
            yield f"[{k!r}]", item
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            if isinstance(item, tuple) and len(item) >= 2 and isinstance(item[0], str):
                yield f"[{item[0]!r}]", item[1]  # pipeline steps, column transformers
            else:
                yield f"[{i}]", item
    elif not isinstance(value, np.ndarray):
        yield "", value


def _component(path: str, obj: Any, unknown: list[str]) -> Component:
    attrs = attributes(obj)
    comp = Component(path, class_path(obj))
    tree = attrs.get("tree_")
    if tree is not None:
        arrays = tree_arrays(tree)
        if arrays is None:
            unknown.append(f"{path}: the tree of {comp.name} cannot be read")
        else:
            comp.trees.append(arrays)
            comp.n_records = int(arrays.samples[0]) if arrays.samples.size else 0
            comp.n_params = _tree_params(arrays)
    for key in STORED_ROWS:
        rows = _rows(attrs.get(key))
        if rows:
            comp.stored_rows = max(comp.stored_rows, rows)
    for key in RAW_VALUES:
        n = _count_values(attrs.get(key))
        if n:
            comp.raw_values[key] = n
    if comp.trees or "estimators_" in attrs:
        msl = attrs.get("min_samples_leaf")
        if isinstance(msl, int | float | np.integer | np.floating) and not isinstance(msl, bool):
            comp.min_samples_leaf = float(msl)
        boot = attrs.get("bootstrap")
        if isinstance(boot, bool | np.bool_):
            comp.bootstrap = float(boot)
    if not comp.trees:
        comp.n_params = _dense_params(attrs)
        n_samples = attrs.get("_n_samples")
        if isinstance(n_samples, int | np.integer) and not isinstance(n_samples, bool):
            comp.n_records = int(n_samples)
    if not comp.cls.startswith(KNOWN_MODULES):
        unknown.append(
            f"{path}: {comp.cls} is not a class whose stored state the engine checks; a "
            "person must review what it keeps"
        )
    return comp


def _tree_params(t: TreeArrays) -> int:
    """SACRO-ML's count: 2 per split (feature, threshold), classes - 1 per leaf."""
    leaves = int((t.left == -1).sum())
    per_leaf = max(t.n_classes - 1, 1)
    return 2 * (t.left.size - leaves) + per_leaf * leaves


def _dense_params(attrs: dict[str, Any]) -> int:
    """Numbers a fitted linear model or network stores (coefficients, intercepts, weights)."""
    total = 0
    for key in ("coef_", "intercept_", "coefs_", "intercepts_"):
        value = attrs.get(key)
        items = value if isinstance(value, list) else [value]
        for item in items:
            if isinstance(item, np.ndarray) and item.dtype != object:
                total += int(item.size)
    return total


def _rows(value: Any) -> int:
    if isinstance(value, np.ndarray) and value.ndim == 2 and value.dtype != object:
        return int(value.shape[0])
    if isinstance(value, Inert) or hasattr(value, "shape"):  # a sparse matrix of rows
        shape = getattr(value, "shape", None) or attributes(value).get("_shape")
        if isinstance(shape, tuple) and len(shape) == 2:
            return int(shape[0])
    return 0


def _count_values(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, np.ndarray):
        if value.dtype == object:
            return sum(_count_values(v) for v in value.ravel())
        return int(value.size)
    if isinstance(value, dict | set | frozenset):
        return len(value)
    if isinstance(value, list | tuple):
        return sum(_count_values(v) for v in value)
    return 1


def tree_arrays(tree: Any) -> TreeArrays | None:
    """Node arrays of a scikit-learn ``Tree``: from a live one, or its stub's BUILD state.

    Class fractions are the stored values normalised per node (scikit-learn keeps
    fractions since 1.4 and weighted counts before; both give the same fractions).
    """
    try:
        if isinstance(tree, Inert):
            state = tree.state if isinstance(tree.state, dict) else {}
            nodes, values = state.get("nodes"), state.get("values")
            if not isinstance(nodes, np.ndarray) or not isinstance(values, np.ndarray):
                return None
            left, right = nodes["left_child"], nodes["right_child"]
            samples, weights = nodes["n_node_samples"], nodes["weighted_n_node_samples"]
        else:
            left, right = tree.children_left, tree.children_right
            samples, values = tree.n_node_samples, tree.value
            weights = tree.weighted_n_node_samples
    except (AttributeError, KeyError, ValueError, TypeError, IndexError):
        return None
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 3 or values.shape[0] != np.asarray(left).shape[0]:
        return None
    n_classes = values.shape[2]
    if n_classes > 1:
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = values / values.sum(axis=2, keepdims=True)
        fractions = np.nan_to_num(frac).reshape(values.shape[0], -1)
    else:  # a regressor's values are predictions: no classes
        fractions = np.empty((values.shape[0], 0))
    return TreeArrays(
        np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64),
        np.asarray(samples, dtype=np.int64), np.asarray(weights, dtype=np.float64),
        fractions, int(n_classes),
    )  # fmt: skip
