"""Checking trained models: a live estimator in the session, or a model file at the gate.

A file is identified by its bytes (:mod:`sdc.models.format`), never its name,
and read without running anything in it: pickle and joblib files through the
symbolic interpreter of :mod:`sdc.models.pickle_reader` (globals outside the
allow-list are refused), weight files as data (:mod:`sdc.models.tensors`). The
structure read from either is checked by the same rules as a live estimator
(:mod:`sdc.models.output`). A file refused as unsafe fails; a format the engine
recognises but does not read, or cannot recognise, goes to review: nothing
unknown passes.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sdc.exceptions import SdcInputError, SdcRefusedFile
from sdc.models.format import Limits, open_zip, sniff, sniff_all, zip_kind
from sdc.models.output import DataEvidence, ModelOutput, Tensors
from sdc.models.pickle_reader import Inert, read_joblib
from sdc.models.structure import read_structure
from sdc.models.tensors import Tensor, read_hdf5, read_onnx, read_safetensors
from sdc.ruleset import RuleSet

#: Largest model file read (bytes); larger files are refused before reading.
MAX_FILE_BYTES = 4 << 30

_NOT_READ = {
    "torch": "a PyTorch checkpoint (its data.pkl names torch's own rebuild functions); export "
    "the weights as safetensors or ONNX to have them checked",
    "skops": "a skops archive, which this engine does not read yet; save the model with joblib "
    "or pickle to have it checked",
    "zip": "a zip archive of no model format the engine knows",
}


def check_model_file(
    path: str | Path,
    rules: str | Path | RuleSet = "default",
    *,
    n_records: int | None = None,
    name: str | None = None,
) -> ModelOutput:
    """Check a model file without running anything in it (what ``sdc check-model`` runs).

    ``n_records``: the number of training records (individuals), when known: it
    makes the degrees-of-freedom and embedding checks exact.
    """
    ruleset = RuleSet.load(rules)
    path = Path(path)
    label = name or path.name
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise SdcRefusedFile(f"the file has {size} bytes, over the limit of {MAX_FILE_BYTES}")
        data = path.read_bytes()
    except FileNotFoundError:
        raise SdcInputError(f"model file {str(path)!r} does not exist.") from None
    except IsADirectoryError:
        raise SdcInputError(f"model file {str(path)!r} is a folder.") from None
    except SdcRefusedFile as exc:
        return ModelOutput(label, ruleset, refused=(str(exc),))
    except OSError as exc:
        raise SdcInputError(f"model file {str(path)!r} cannot be read ({exc}).") from None
    return check_model_bytes(data, ruleset, name=label, n_records=n_records)


def check_model_bytes(
    data: bytes, ruleset: RuleSet, *, name: str, n_records: int | None = None
) -> ModelOutput:
    """Check the bytes of a model file (see :func:`check_model_file`)."""
    formats = sniff_all(data)
    if len(formats) > 1:
        return ModelOutput(
            name,
            ruleset,
            n_records=n_records,
            problems=(
                f"the bytes read as several formats ({', '.join(formats)}): a file made to be read "
                "two ways can show a checker one and a loader the other; a person must review it",
            ),
        )
    fmt = sniff(data)
    try:
        if fmt in ("pickle", "joblib-compressed"):
            root = read_joblib(data).root
            if not isinstance(root, Inert):
                return ModelOutput(
                    name,
                    ruleset,
                    n_records=n_records,
                    problems=(f"the {fmt} file holds a {type(root).__name__}, not a fitted model",),
                )
            return ModelOutput(name, ruleset, read_structure(root), n_records=n_records)
        if fmt in ("safetensors", "onnx", "hdf5"):
            reader = {"safetensors": read_safetensors, "onnx": read_onnx, "hdf5": read_hdf5}[fmt]
            return _weights(name, ruleset, reader(data), n_records)
        if fmt == "zip":
            archive = open_zip(data, Limits())
            kind = zip_kind(list(archive.names))
            if kind == "keras":
                return _weights(
                    name, ruleset, read_hdf5(archive.read("model.weights.h5")), n_records
                )
            return ModelOutput(
                name,
                ruleset,
                n_records=n_records,
                problems=(f"the file is {_NOT_READ[kind]}; a person must review it",),
            )
    except SdcRefusedFile as exc:
        return ModelOutput(name, ruleset, refused=(f"the file is refused: {exc}",))
    except SdcInputError as exc:
        return ModelOutput(name, ruleset, refused=(f"the {fmt} file cannot be read: {exc}",))
    return ModelOutput(
        name,
        ruleset,
        n_records=n_records,
        problems=(
            "the file is of no model format the engine recognises from its bytes (pickle, joblib, "
            "safetensors, ONNX, HDF5, a zip of Keras weights); a person must review it",
        ),
    )


def _weights(
    name: str, ruleset: RuleSet, tensors: list[Tensor], n_records: int | None
) -> ModelOutput:
    """A network's weights: parameter count, and its 2-D tables for the embedding rule."""
    t = Tensors()
    for tensor in tensors:
        t.n_params += math.prod(tensor.shape)
        if len(tensor.shape) == 2:
            t.names.append(f"{tensor.name} {tensor.shape[0]} x {tensor.shape[1]}")
            t.rows.append(int(tensor.shape[0]))
    return ModelOutput(name, ruleset, tensors=t, n_records=n_records)


def check_estimator(
    estimator: Any,
    ruleset: RuleSet,
    *,
    name: str,
    train: Any = None,
    test: Any = None,
    n_records: int | None = None,
    contributor: Any = None,
) -> ModelOutput:
    """Check a fitted estimator in memory; with ``train=(X, y)`` and ``test=(X, y)`` also run
    the membership inference attack and the equivalence classes of its predictions.

    ``contributor``: who each training row is (one id per row of ``train``); the leaves of
    a tree model are then also counted in distinct contributors (:func:`leaf_people`)."""
    structure = read_structure(estimator)
    data = None
    if (train is None) != (test is None):
        raise SdcInputError("check_model needs both train=(X, y) and test=(X, y), or neither.")
    if contributor is not None and train is None:
        raise SdcInputError("`contributor` of check_model needs the training rows it names: "
                            "give train=(X, y) and test=(X, y) too.")  # fmt: skip
    if train is not None:
        data = _attack(estimator, train, test, ruleset, structure)
        n_records = len(train[0]) if n_records is None else n_records
    if contributor is not None and data is not None:
        t = int(ruleset.params["k-anonymity"].t)
        people, small = leaf_people(estimator, train[0], contributor, t)
        data = dataclasses.replace(data, leaf_people=people, small_people_leaves=small)
    return ModelOutput(name, ruleset, structure, data=data, n_records=n_records)


def leaf_people(estimator: Any, x: Any, contributor: Any, t: int) -> tuple[int, int]:
    """The fewest distinct contributors in a leaf (over every tree) that training rows ``x``
    reach, and the leaves of 1 to ``t - 1`` contributors.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> x, y = np.arange(8.0).reshape(-1, 1), np.array([0, 0, 0, 0, 1, 1, 1, 1])
    >>> tree = DecisionTreeClassifier(max_depth=1).fit(x, y)
    >>> leaf_people(tree, x, ["a", "a", "a", "a", "b", "c", "d", "e"], 3)
    (1, 1)
    """
    apply = getattr(estimator, "apply", None)
    if apply is None:
        raise SdcInputError(
            f"`contributor` of check_model counts people in leaves; "
            f"{type(estimator).__name__} has no leaves (no apply method). Leave it out."
        )
    ids = np.asarray(contributor, dtype=object)
    try:
        leaves = np.asarray(apply(x))
    except ValueError as exc:
        raise SdcInputError(f"the training rows cannot be put through the model: {exc}") from None
    if ids.ndim != 1 or ids.shape[0] != leaves.shape[0]:
        raise SdcInputError(
            f"`contributor` of check_model must hold one id per training row "
            f"({leaves.shape[0]}); got {ids.shape[0] if ids.ndim == 1 else ids.shape}."
        )
    if pd.isna(ids).any():
        raise SdcInputError("`contributor` of check_model has missing ids; every training row "
                            "must be attributed to a contributor.")  # fmt: skip
    codes = pd.factorize(pd.Series(ids))[0].astype(np.int64)
    n = int(codes.max()) + 1 if codes.size else 1
    leaves = leaves.reshape(leaves.shape[0], -1).astype(np.int64)
    fewest, small = np.iinfo(np.int64).max, 0
    for column in leaves.T:  # one tree (or one tree per class of a boosted model)
        pairs = np.unique(column * n + codes)  # each (leaf, contributor) once
        _, people = np.unique(pairs // n, return_counts=True)
        fewest = min(fewest, int(people.min()))
        small += int(((people > 0) & (people < t)).sum())
    return fewest, small


def _attack(
    estimator: Any, train: Any, test: Any, ruleset: RuleSet, structure: Any
) -> DataEvidence:
    from sdc.models.attacks import equivalence_classes, membership_inference

    for arg, pair in (("train", train), ("test", test)):
        if not isinstance(pair, tuple) or len(pair) != 2:
            raise SdcInputError(f"`{arg}` of check_model must be a pair (X, y).")
    if not hasattr(estimator, "predict_proba"):
        raise SdcInputError(
            f"{type(estimator).__name__} has no predict_proba, so the attacks on data cannot run; "
            "check it without train= and test=."
        )
    classes = list(getattr(estimator, "classes_", []))
    try:
        p_train = np.asarray(estimator.predict_proba(train[0]), dtype=np.float64)
        p_test = np.asarray(estimator.predict_proba(test[0]), dtype=np.float64)
        codes = [
            np.array([classes.index(v) for v in np.asarray(y).tolist()])
            for y in (train[1], test[1])
        ]
    except ValueError as exc:  # a label the model never saw, a wrong number of columns
        raise SdcInputError(f"the attacks cannot run on this data: {exc}") from None
    mia = membership_inference(p_train, p_test, codes[0], codes[1])
    eq = equivalence_classes(p_train, int(ruleset.params["k-anonymity"].t))
    single_tree = len(structure.components) == 1 and bool(structure.components[0].trees)
    return DataEvidence(
        auc=mia.auc,
        p_value=mia.p_value,
        score=mia.score,
        min_class=eq.min_size,
        small_classes=eq.n_small,
        disclosing_classes=eq.class_disclosure,
        small_group_classes=eq.small_group,
        n_classes=0 if single_tree else eq.n_classes,
    )
