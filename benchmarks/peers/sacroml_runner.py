"""Run SACRO-ML's structural or worst-case attack on a pickled model and export JSON.

sacroml 2.0.1 depends on torch, xgboost and acro<2 (pandas<=2.3.3) and so lives
in its own virtual environment (see ``setup_sacroml_venv.sh``). This script is
run with that venv's interpreter as a subprocess; it imports nothing from
sdc-engine. See ``SACROML_NOTES.md`` for the definitions behind every key.

Usage::

    benchmarks/.venv-sacroml/bin/python benchmarks/peers/sacroml_runner.py \\
        structural MODEL.pkl DATA.npz OUT.json
    benchmarks/.venv-sacroml/bin/python benchmarks/peers/sacroml_runner.py \\
        worstcase MODEL.pkl DATA.npz OUT.json [--n-reps N]

``MODEL.pkl`` is a fitted scikit-learn classifier pickled with *this* venv's
scikit-learn (a pickle from another scikit-learn version is refused: trees do
not move across versions). It is loaded with :mod:`pickle`, so only pass files
you made yourself. ``DATA.npz`` holds ``X_train``, ``y_train``, ``X_test`` and
``y_test``; ``X_train``/``y_train`` must be the rows the model was fitted on,
and labels must be the class indices ``0..n_classes-1`` (sacroml uses the label
value as a column index of ``predict_proba``).

The attacks run with sacroml's defaults. The structural attack is built with
``report_individual=True``: its record-level lists are computed whatever that
flag says (``structural_attack.py:458-468``); the flag only keeps them in the
report, so the timing is that of the default run plus the report's extra
arrays. sacroml writes its own report files (``report.json``, ``report.pdf``,
``.npz`` sidecars, an empty ``shadow_models/``) into a temporary directory that
is removed afterwards, or into ``--report-dir`` when given.

``attack_seconds`` is ``time.perf_counter()`` around ``attack.attack(target)``
alone (loading, unpickling and the ``Target`` wrapper are outside it); it
includes sacroml writing its JSON/PDF report, which is also reported on its own
as ``report_write_seconds``.

Keys under ``sacroml`` are sacroml's own numbers; keys under ``derived`` are
computed here from them (counts, minima, means) or recomputed with sacroml's own
helpers after the timed call (equivalence classes, parameter count, KS p-value);
``model_structure`` is read from the fitted trees and is not used by sacroml.

On an exception the output JSON holds ``"error"`` and the exit code is 2.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import pickle
import platform
import shutil
import sys
import tempfile
import time
import traceback
import warnings
from importlib.metadata import version
from pathlib import Path
from typing import Any

os.environ.setdefault("MPLBACKEND", "Agg")  # the worst-case PDF draws a ROC plot

import numpy as np
import sklearn

#: Arrays of each worst-case repetition that sacroml itself keeps out of its JSON
#: (``attack.py:31-33``); the runner leaves them out too.
ROC_KEYS: frozenset[str] = frozenset({"fpr", "tpr", "roc_thresh"})

#: Thresholds of sacroml's report formatter (``attack_report_formatter.py:122-123``),
#: used only to reproduce its view of a worst-case result in ``derived``.
FORMATTER_P_VAL_THRESH = 0.05
FORMATTER_MEAN_AUC_THRESH = 0.65


def to_jsonable(obj: Any) -> Any:
    """Convert numpy scalars/arrays (and non-finite floats) to plain JSON values."""
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return to_jsonable(obj.tolist())
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    return obj


def load_model(path: Path) -> Any:
    """Unpickle a trusted model file, refusing one made with another scikit-learn."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", sklearn.exceptions.InconsistentVersionWarning)
        try:
            with path.open("rb") as handle:
                return pickle.load(handle)  # trusted input: the caller made it
        except sklearn.exceptions.InconsistentVersionWarning as exc:
            msg = (
                f"{path} was pickled with scikit-learn {exc.original_sklearn_version}, "
                f"this venv has {sklearn.__version__}: re-pickle it with this venv"
            )
            raise RuntimeError(msg) from exc


def load_data(path: Path) -> dict[str, np.ndarray]:
    """Read X_train, y_train, X_test, y_test from an .npz file."""
    with np.load(path, allow_pickle=False) as npz:
        missing = [k for k in ("X_train", "y_train", "X_test", "y_test") if k not in npz]
        if missing:
            raise KeyError(f"{path} lacks {missing}")
        return {k: np.asarray(npz[k]) for k in ("X_train", "y_train", "X_test", "y_test")}


def data_warnings(model: Any, data: dict[str, np.ndarray]) -> list[str]:
    """Note inputs that sacroml silently mishandles."""
    notes: list[str] = []
    classes = getattr(model, "classes_", None)
    if classes is not None and not np.array_equal(classes, np.arange(len(classes))):
        notes.append(
            "model.classes_ is not 0..n_classes-1: sacroml's losses (gen_error_risk) "
            "index predict_proba columns by label value"
        )
    return notes


def model_structure(model: Any) -> dict[str, Any] | None:
    """Leaf statistics stored in fitted sklearn trees (not used by sacroml)."""
    trees = getattr(model, "estimators_", None)
    if trees is None:
        trees = [model] if hasattr(model, "tree_") else []
    trees = [t for t in np.ravel(np.asarray(trees, dtype=object)) if hasattr(t, "tree_")]
    if not trees:
        return None
    n_leaves = 0
    min_n = math.inf
    min_w = math.inf
    for tree in trees:
        t = tree.tree_
        leaf = t.children_left == -1
        n_leaves += int(leaf.sum())
        min_n = min(min_n, int(t.n_node_samples[leaf].min()))
        min_w = min(min_w, float(t.weighted_n_node_samples[leaf].min()))
    return {
        "n_trees": len(trees),
        "n_leaves_total": n_leaves,
        "min_leaf_n_node_samples": min_n,
        "min_leaf_weighted_n_node_samples": min_w,
    }


class _Timer:
    """Wrap a bound method of one object and record the duration of each call."""

    def __init__(self, obj: Any, name: str) -> None:
        self.durations: list[float] = []
        inner = getattr(obj, name)

        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.durations.append(time.perf_counter() - start)

        setattr(obj, name, timed)


def run_structural(target: Any, report_dir: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run StructuralAttack with its defaults and collect every metric it reports."""
    from sacroml.attacks.structural_attack import StructuralAttack, get_model_param_count
    from scipy.stats import ks_2samp
    from sklearn.tree import DecisionTreeClassifier

    attack = StructuralAttack(output_dir=report_dir, report_individual=True)
    write_timer = _Timer(attack, "_write_report")
    start = time.perf_counter()
    output = attack.attack(target)
    attack_seconds = time.perf_counter() - start
    if not output:
        raise RuntimeError("StructuralAttack.attackable() refused this target")

    instance = dict(output["attack_experiment_logger"]["attack_instance_logger"]["instance_0"])
    individual = instance.pop("individual")
    threshold = int(attack.THRESHOLD)
    dof_threshold = int(attack.DOF_THRESHOLD)

    # Recomputed after the timed call with sacroml's own (deterministic) helpers.
    probas, inv, counts = attack._calculate_equivalence_classes()
    eq_cd = np.any(np.isclose(probas, 0.0), axis=1)  # structural_attack.py:579
    freqs = probas * counts[:, np.newaxis]  # structural_attack.py:608
    eq_small = np.any((freqs > 0) & (freqs < threshold), axis=1)  # :610
    eq_k_low = counts < threshold  # structural_attack.py:556
    record_k = np.asarray(individual["k_anonymity"])
    record_cd = np.asarray(individual["class_disclosure"], dtype=bool)
    record_small = np.asarray(individual["smallgroup_risk"], dtype=bool)
    assert np.array_equal(record_k, counts[inv])
    assert np.array_equal(record_cd, eq_cd[inv])
    assert np.array_equal(record_small, eq_small[inv])

    model = target.model.model
    n_params = int(get_model_param_count(model))
    losses_train = target.model.get_losses(target.X_train, target.y_train)
    losses_test = target.model.get_losses(target.X_test, target.y_test)
    ks = ks_2samp(losses_train, losses_test)
    derived: dict[str, Any] = {
        "equivalence_class_basis": (
            "leaf reached by each X_train row (model.apply)"
            if isinstance(model, DecisionTreeClassifier)
            else "distinct predict_proba row over X_train"
        ),
        "n_equivalence_classes": len(counts),
        "min_k": int(counts.min()),
        "max_k": int(counts.max()),
        "n_eqclasses_k_below_threshold": int(eq_k_low.sum()),
        "n_records_k_below_threshold": int((record_k < threshold).sum()),
        "n_eqclasses_class_disclosure": int(eq_cd.sum()),
        "n_records_class_disclosure": int(record_cd.sum()),
        "n_eqclasses_smallgroup": int(eq_small.sum()),
        "n_records_smallgroup": int(record_small.sum()),
        "n_params": n_params,
        "n_samples": len(target.X_train),
        "n_features": int(target.X_train.shape[1]),
        "residual_dof": len(target.X_train) - n_params,
        "gen_error_ks_statistic": float(ks.statistic),
        "gen_error_ks_pvalue": float(ks.pvalue),
    }
    result: dict[str, Any] = {
        "config": {
            "risk_appetite_config": attack.risk_appetite_config,
            "safe_threshold": threshold,
            "safe_dof_threshold": dof_threshold,
            "gen_error_alpha": 0.05,
            "report_individual": True,
        },
        "sacroml": {"global_metrics": instance, "metadata": output["metadata"]},
        "derived": derived,
        "attack_seconds": attack_seconds,
        "report_write_seconds": sum(write_timer.durations),
    }
    if not args.no_details:
        result["equivalence_classes"] = {
            "count": counts,
            "proba": probas,
            "class_disclosure": eq_cd,
            "smallgroup": eq_small,
        }
        result["records"] = individual
    return result


def _rep_metrics(instances: dict[str, Any]) -> list[dict[str, Any]]:
    """Per-repetition metric dicts in order, without the ROC arrays."""
    ordered = sorted(instances.items(), key=lambda kv: int(kv[0].rsplit("_", 1)[1]))
    return [{k: v for k, v in m.items() if k not in ROC_KEYS} for _, m in ordered]


def _auc_summary(reps: list[dict[str, Any]]) -> dict[str, Any]:
    """Summaries of AUC, its p-values and the advantage over repetitions."""
    from sacroml import metrics

    auc = np.array([r["AUC"] for r in reps], dtype=float)
    pvals = np.array([r["P_HIGHER_AUC"] for r in reps], dtype=float)
    adv = np.array([r["Advantage"] for r in reps], dtype=float)
    _, null_sd = metrics.auc_p_val(
        0.5, reps[0]["n_pos_test_examples"], reps[0]["n_neg_test_examples"]
    )
    sig = pvals < FORMATTER_P_VAL_THRESH
    return {
        "n_reps": len(reps),
        "auc_mean": float(auc.mean()),
        "auc_std": float(auc.std()),
        "auc_min": float(auc.min()),
        "auc_median": float(np.median(auc)),
        "auc_max": float(auc.max()),
        "auc_p_values": pvals,
        "auc_p_value_min": float(pvals.min()),
        "advantage_mean": float(adv.mean()),
        "advantage_max": float(adv.max()),
        "null_auc_sd": float(null_sd),
        # The view of sacroml's report formatter (attack_report_formatter.py:204-237).
        "formatter_n_sig_reps": int(sig.sum()),
        "formatter_sig_fraction_above_0.1": bool(sig.sum() / len(reps) > 0.1),
        "formatter_mean_sig_auc": float(auc[sig].mean()) if sig.any() else None,
        "formatter_mean_sig_auc_above_0.65": bool(
            sig.any() and auc[sig].mean() > FORMATTER_MEAN_AUC_THRESH
        ),
    }


def run_worstcase(target: Any, report_dir: str, args: argparse.Namespace) -> dict[str, Any]:
    """Run WorstCaseAttack with its defaults (bar ``n_reps``) and collect its metrics."""
    from sacroml.attacks.worst_case_attack import _DEFAULT_RF_PARAMS, WorstCaseAttack

    kwargs: dict[str, Any] = {"output_dir": report_dir}
    if args.n_reps is not None:
        kwargs["n_reps"] = args.n_reps
    if args.report_individual:
        kwargs["report_individual"] = True
    attack = WorstCaseAttack(**kwargs)
    reps_timer = _Timer(attack, "run_attack_reps")
    write_timer = _Timer(attack, "_write_report")
    start = time.perf_counter()
    output = attack.attack(target)
    attack_seconds = time.perf_counter() - start
    if not output:
        raise RuntimeError("WorstCaseAttack.attackable() refused this target")

    reps = _rep_metrics(output["attack_experiment_logger"]["attack_instance_logger"])
    dummy = [
        _rep_metrics(exp["attack_instance_logger"])
        for _, exp in sorted(output["dummy_attack_experiments_logger"].items())
    ]
    params = attack.get_params()
    effective_attack_params = params["attack_model_params"]
    if (
        effective_attack_params is None
        and params["attack_model"] == "sklearn.ensemble.RandomForestClassifier"
    ):
        effective_attack_params = dict(_DEFAULT_RF_PARAMS)  # worst_case_attack.py:336-340
    derived: dict[str, Any] = {
        "attack": _auc_summary(reps),
        "baseline": [_auc_summary(d) for d in dummy],
        "reproduce_split_seeds": attack._get_reproducible_split(),
        "effective_attack_model_params": effective_attack_params,
        "n_attack_rows": len(target.X_train) + len(target.X_test),
    }
    durations = reps_timer.durations
    return {
        "config": {**params, "seed": args.seed},
        "sacroml": {
            "global_metrics": output["metadata"]["global_metrics"],
            "baseline_global_metrics": output["metadata"]["baseline_global_metrics"],
            "metadata": output["metadata"],
            "reps": reps,
            "dummy_reps": dummy,
        },
        "derived": derived,
        "attack_seconds": attack_seconds,
        "main_reps_seconds": durations[0] if durations else None,
        "dummy_reps_seconds": sum(durations[1:]),
        "report_write_seconds": sum(write_timer.durations),
    }


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run one attack and write the JSON result."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("attack", choices=["structural", "worstcase"])
    parser.add_argument("model", type=Path, help="pickled fitted sklearn classifier")
    parser.add_argument("data", type=Path, help=".npz with X_train, y_train, X_test, y_test")
    parser.add_argument("out", type=Path, help="JSON file to write")
    parser.add_argument(
        "--n-reps", type=int, default=None, help="worst case: repetitions (sacroml default 10)"
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="seed numpy's global RNG before the attack (sacroml leaves its attack "
        "classifier and baseline data unseeded; default: not seeded)",
    )
    parser.add_argument(
        "--report-individual",
        action="store_true",
        help="worst case: keep per-record membership probabilities (sacroml option)",
    )
    parser.add_argument(
        "--no-details",
        action="store_true",
        help="structural: omit the per-equivalence-class and per-record arrays",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=None,
        help="keep sacroml's own report files here (default: a removed temporary dir)",
    )
    parser.add_argument("--verbose", action="store_true", help="keep sacroml's INFO logging")
    args = parser.parse_args(argv)

    if not args.verbose:
        logging.disable(logging.INFO)  # sacroml and acro configure INFO logging on import

    import torch
    from sacroml.attacks.target import Target

    result: dict[str, Any] = {
        "attack": args.attack,
        "versions": {
            "sacroml": version("sacroml"),
            "scikit-learn": sklearn.__version__,
            "numpy": np.__version__,
            "torch": torch.__version__,
            "python": platform.python_version(),
        },
        "model_file": str(args.model),
        "data_file": str(args.data),
    }
    tmp: str | None = None
    code = 0
    try:
        model = load_model(args.model)
        data = load_data(args.data)
        result["model"] = {
            "class": type(model).__name__,
            "params": {k: repr(v) for k, v in model.get_params().items()},
        }
        result["data"] = {
            "n_train": len(data["X_train"]),
            "n_test": len(data["X_test"]),
            "n_features": int(data["X_train"].shape[1]),
            "n_classes": len(np.unique(np.concatenate([data["y_train"], data["y_test"]]))),
        }
        result["warnings"] = data_warnings(model, data)
        result["model_structure"] = model_structure(model)
        if args.report_dir is not None:
            args.report_dir.mkdir(parents=True, exist_ok=True)
            report_dir = str(args.report_dir)
        else:
            tmp = tempfile.mkdtemp(prefix="sacroml-report-")
            report_dir = tmp
        target = Target(model=model, **data)
        if args.seed is not None:
            # sacroml draws from numpy's legacy global RNG: seed exactly that one.
            np.random.seed(args.seed)  # noqa: NPY002
        run = run_structural if args.attack == "structural" else run_worstcase
        result.update(run(target, report_dir, args))
        if args.report_dir is not None:
            result["report_dir"] = report_dir
    except Exception as exc:  # report any failure in the JSON
        result["error"] = f"{type(exc).__name__}: {exc}"
        result["traceback"] = traceback.format_exc()
        code = 2
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(to_jsonable(result), indent=1) + "\n")
    if code:
        print(result["error"], file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
