"""Checking a trained forest: weights only from its file, the attacks on its predictions, SACRO-ML.

    python benchmarks/bench_models.py --train-rows 100000 --trees 100 --repeat 5 \\
        --out benchmarks/results-models.json

Needs SACRO-ML's virtual environment (``bash benchmarks/peers/setup_sacroml_venv.sh``) unless
``--no-peer`` is given.

Model: ``RandomForestClassifier(n_estimators=--trees, random_state=0)``, other hyperparameters
default, on ``make_classification(n_samples=2 * --train-rows, n_features=10, random_state=0)``
split 50/50 by ``train_test_split(..., test_size=0.5, random_state=0)``. It is fitted with
``n_jobs=-1`` (not timed; the trees do not depend on it) and saved with ``n_jobs=None``, so the
file holds the default hyperparameters, once with ``pickle`` (protocol 5) and once with
``joblib.dump`` (uncompressed).

Timed, as the median of ``--repeat`` runs after one warm-up (which compiles or loads the Numba
kernels and fills the page cache):

* weights only, from the file, loading included: ``sdc.check_model_file`` on each file, then
  ``.status`` and ``.findings`` (both lazy), as the gate runs it on an untrusted file;
* the file read alone: the bytes read and rebuilt by
  ``sdc.models.pickle_reader.read_joblib`` (no code run), against ``pickle.loads`` and
  ``joblib.load``, which run the file's code: trusted loading, for scale only;
* ``predict_proba`` on the training and the held-out rows (both tools need it; SACRO-ML pays it
  inside its attacks);
* the engine's attack: ``membership_inference`` (exact rank AUC over every record, worst of its
  scores) and ``equivalence_classes`` on those probabilities;
* the live estimator with data, end to end: ``Session.check_model(model, train=, test=)``,
  ``predict_proba`` included.

SACRO-ML, in its own process (``peers/sacroml_runner.py``, the same pickle file and arrays): its
structural attack ``--repeat`` times (median of ``attack_seconds``, the attack call alone) and its
worst-case attack once with ``--sacroml-reps`` repetitions (its default 10) and ``--seed 0``
(numpy's global RNG, which SACRO-ML leaves unseeded). Its AUC (mean over the repetitions, each on a
20 % hold-out of the attack data) and p-values are reported next to the engine's.

Agreement, checked on every run: the weights-only checks of the pickle and the joblib file must be
equal (and equal to the live estimator's); with the peer, the engine's equivalence classes of
``predict_proba(X_train)`` must equal SACRO-ML's (number of classes, smallest class, classes and
records below the threshold, class-disclosive classes, small-group classes), and so must the
parameter count. The script exits with status 1 and names what differs otherwise.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import pickle
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import joblib
import numba
import numpy as np
import pandas as pd
import scipy
import sklearn
from sdc.kernels.trees import LEAF_COLUMNS
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

import sdc
from sdc.models.attacks import (
    EquivalenceClasses,
    MembershipResult,
    equivalence_classes,
    membership_inference,
)
from sdc.models.output import ModelOutput
from sdc.models.pickle_reader import read_joblib
from sdc.ruleset import RuleSet

HERE = Path(__file__).resolve().parent
SACROML_PYTHON = HERE / ".venv-sacroml" / "bin" / "python"
SACROML_RUNNER = HERE / "peers" / "sacroml_runner.py"
N_FEATURES = 10
SEED = 0
PICKLE_PROTOCOL = 5
RULES = "default"

#: The engine's equivalence-class counts and the keys of SACRO-ML's ``derived`` they must equal.
EQ_AGREEMENT = (
    ("n_classes", "n_equivalence_classes"),
    ("min_size", "min_k"),
    ("n_small", "n_eqclasses_k_below_threshold"),
    ("records_in_small", "n_records_k_below_threshold"),
    ("class_disclosure", "n_eqclasses_class_disclosure"),
    ("small_group", "n_eqclasses_smallgroup"),
)

Timing = dict[str, Any]


def make_model(
    train_rows: int, trees: int
) -> tuple[RandomForestClassifier, np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
    """The forest of the module docstring, its four arrays and the seconds its fit took."""
    X, y = make_classification(n_samples=2 * train_rows, n_features=N_FEATURES, random_state=SEED)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, random_state=SEED)
    start = time.perf_counter()
    model = RandomForestClassifier(n_estimators=trees, random_state=SEED, n_jobs=-1)
    model.fit(X_train, y_train)
    fit_seconds = time.perf_counter() - start
    model.set_params(n_jobs=None)  # the default: what the file stores and SACRO-ML predicts with
    return model, X_train, y_train, X_test, y_test, fit_seconds


def _clock(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()  # the previous run's objects are freed outside the timed window
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def _median(fn: Callable[[], Any], repeat: int) -> tuple[Timing, Any]:
    """Median of ``repeat`` timed runs after one warm-up, and the last result."""
    out = fn()
    runs = []
    for _ in range(repeat):
        seconds, out = _clock(fn)
        runs.append(seconds)
    return {"median_s": statistics.median(runs), "runs": runs}, out


def _checked(out: ModelOutput) -> ModelOutput:
    """Force the lazy verdict and findings, as a release would."""
    _ = out.status, out.findings
    return out


def check_file(path: Path) -> ModelOutput:
    return _checked(sdc.check_model_file(path, RULES))


def weights_only_summary(out: ModelOutput) -> dict[str, Any]:
    """What a weights-only check decided, in a form that compares across sources."""
    assert out.structure is not None
    findings = out.findings
    return {
        "status": out.status.value,
        "n_params": out.structure.n_params,
        "n_records": out.structure.n_records,
        "findings": findings.drop(columns="message").to_dict(orient="records"),
        "tree_groups": [
            {
                "term": g.term,
                "n_trees": g.n_trees,
                **{c: g.total(c) for c in LEAF_COLUMNS if c not in ("min_leaf", "max_depth")},
                "min_leaf": g.min_leaf,
                "max_depth": int(g.stats[:, LEAF_COLUMNS.index("max_depth")].max()),
            }
            for g in out.tree_groups
        ],
    }


def same_weights_only(a: ModelOutput, b: ModelOutput) -> bool:
    """Equal verdicts, findings and per-tree leaf statistics."""
    return (
        a.status == b.status
        and a.findings.equals(b.findings)
        and len(a.tree_groups) == len(b.tree_groups)
        and all(
            g.term == h.term and np.array_equal(g.stats, h.stats)
            for g, h in zip(a.tree_groups, b.tree_groups, strict=True)
        )
    )


def engine_attack(
    p_train: np.ndarray, p_test: np.ndarray, y_train: np.ndarray, y_test: np.ndarray, t: int
) -> tuple[MembershipResult, EquivalenceClasses]:
    return (
        membership_inference(p_train, p_test, y_train, y_test),
        equivalence_classes(p_train, t),
    )


def run_sacroml(args: list[str], out: Path) -> tuple[dict[str, Any], float]:
    """One runner process; its JSON and the process's wall seconds (imports included)."""
    start = time.perf_counter()
    proc = subprocess.run([str(SACROML_PYTHON), str(SACROML_RUNNER), *args, str(out)], check=False)
    wall = time.perf_counter() - start
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8")) if out.exists() else {}
    if proc.returncode != 0 or "error" in result:
        raise SystemExit(f"sacroml runner failed: {result.get('error', proc.returncode)}")
    return result, wall


def bench_peer(
    model_file: Path, data_file: Path, work: Path, repeat: int, reps: int
) -> dict[str, Any]:
    """SACRO-ML's structural attack ``repeat`` times and its worst case once."""
    structural: dict[str, Any] = {}
    runs, walls = [], []
    for i in range(repeat):
        structural, wall = run_sacroml(
            ["structural", str(model_file), str(data_file), "--no-details"],
            work / f"structural-{i}.json",
        )
        runs.append(structural["attack_seconds"])
        walls.append(wall)
    worst, wall = run_sacroml(
        ["worstcase", str(model_file), str(data_file), "--n-reps", str(reps), "--seed", str(SEED)],
        work / "worstcase.json",
    )
    attack = worst["derived"]["attack"]
    baseline = worst["derived"]["baseline"]
    return {
        "versions": structural["versions"],
        "structural": {
            "attack_seconds": {"median_s": statistics.median(runs), "runs": runs},
            "process_seconds": {"median_s": statistics.median(walls), "runs": walls},
            "report_write_seconds": structural["report_write_seconds"],
            "config": structural["config"],
            "global_metrics": structural["sacroml"]["global_metrics"],
            "derived": structural["derived"],
        },
        "worstcase": {
            "n_reps": reps,
            "seed": SEED,
            "attack_seconds": worst["attack_seconds"],
            "main_reps_seconds": worst["main_reps_seconds"],
            "dummy_reps_seconds": worst["dummy_reps_seconds"],
            "report_write_seconds": worst["report_write_seconds"],
            "process_seconds": wall,
            "auc_mean": attack["auc_mean"],
            "auc_min": attack["auc_min"],
            "auc_max": attack["auc_max"],
            "auc_p_values": attack["auc_p_values"],
            "null_auc_sd": attack["null_auc_sd"],
            "baseline_auc_mean": [b["auc_mean"] for b in baseline],
            "global_metrics": worst["sacroml"]["global_metrics"],
            "n_attack_rows": worst["derived"]["n_attack_rows"],
        },
    }


def eq_agreement(
    eq: EquivalenceClasses, n_params: int, peer: dict[str, Any], t: int
) -> dict[str, Any]:
    """The engine's counts next to SACRO-ML's; ``all_equal`` when every pair matches."""
    derived = peer["structural"]["derived"]
    compared = {
        f"{ours} / {theirs}": {
            "engine": int(getattr(eq, ours)),
            "sacroml": derived[theirs],
            "equal": int(getattr(eq, ours)) == derived[theirs],
        }
        for ours, theirs in EQ_AGREEMENT
    }
    compared["n_params / n_params"] = {
        "engine": n_params,
        "sacroml": derived["n_params"],
        "equal": n_params == derived["n_params"],
    }
    threshold = peer["structural"]["config"]["safe_threshold"]
    compared["threshold t / safe_threshold"] = {
        "engine": t,
        "sacroml": threshold,
        "equal": t == threshold,
    }
    return {"compared": compared, "all_equal": all(c["equal"] for c in compared.values())}


def machine() -> dict[str, Any]:
    """Where the timings were taken."""
    mem = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    except OSError:
        pass
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": platform.processor(),
        "cpu_count": os.cpu_count(),
        "memory_bytes": mem,
        "load_average_at_start": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "python": platform.python_version(),
    }


def versions() -> dict[str, Any]:
    return {
        "sdc": getattr(sdc, "__version__", None),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "scipy": scipy.__version__,
        "pandas": pd.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
    }


def _s(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.3f}" if value < 10 else f"{value:.1f}"


def print_tables(report: dict[str, Any]) -> None:
    """The markdown tables: seconds, AUCs, and the agreement of the equivalence classes."""
    t = report["timings"]
    p = report["parameters"]
    mb = {k: v / 1e6 for k, v in report["model"]["file_bytes"].items()}
    rows = [
        (f"weights only, pickle file ({mb['pickle']:.1f} MB): check_model_file, status + "
         "findings", t["check_file_pickle"]["median_s"]),
        (f"weights only, joblib file ({mb['joblib']:.1f} MB): check_model_file, status + "
         "findings", t["check_file_joblib"]["median_s"]),
        ("file read alone, pickle file: read_joblib (nothing run)",
         t["read_joblib_pickle"]["median_s"]),
        ("file read alone, joblib file: read_joblib (nothing run)",
         t["read_joblib_joblib"]["median_s"]),
        ("trusted load, for scale: pickle.loads", t["pickle_loads"]["median_s"]),
        ("trusted load, for scale: joblib.load", t["joblib_load"]["median_s"]),
        (f"predict_proba, {p['train_rows']:,} train + {p['test_rows']:,} held-out rows",
         t["predict_proba"]["median_s"]),
        ("engine attack: membership_inference + equivalence_classes",
         t["engine_attack"]["median_s"]),
        ("live estimator with data: Session.check_model(train=, test=), predict_proba included",
         t["check_live_with_data"]["median_s"]),
    ]  # fmt: skip
    peer = report["sacroml"]
    if peer is not None:
        s, w = peer["structural"], peer["worstcase"]
        rows += [
            (f"sacroml structural attack (attack_seconds; median of {p['repeat']} processes)",
             s["attack_seconds"]["median_s"]),
            (f"sacroml worst case, {w['n_reps']} reps (attack_seconds, 1 run; main "
             f"{_s(w['main_reps_seconds'])} s, baseline {_s(w['dummy_reps_seconds'])} s)",
             w["attack_seconds"]),
        ]  # fmt: skip
    print("| step | median s |")
    print("|---|---|")
    for title, seconds in rows:
        print(f"| {title} | {_s(seconds)} |")

    mia = report["engine"]["membership"]
    print("\n| attack | AUC | p-value |")
    print("|---|---|---|")
    print(
        f"| engine: exact rank AUC on all {p['train_rows'] + p['test_rows']:,} records, worst of "
        f"{len(mia['aucs'])} scores ({mia['score']}), Bonferroni | {mia['auc']:.4f} "
        f"| {mia['p_value']:.3g} |"
    )
    if peer is not None:
        w = peer["worstcase"]
        pv = w["auc_p_values"]
        p_range = f"{min(pv):.3g}" if min(pv) == max(pv) else f"{min(pv):.3g}-{max(pv):.3g}"
        print(
            f"| sacroml worst case: attack forest, mean of {w['n_reps']} reps "
            f"({w['auc_min']:.4f}-{w['auc_max']:.4f}), each on a 20 % hold-out "
            f"| {w['auc_mean']:.4f} | {p_range} (each rep) |"
        )
        agreement = report["agreement"]["equivalence_classes"]
        print("\n| equivalence classes of predict_proba(X_train) (engine / sacroml) | engine "
              "| sacroml | equal |")  # fmt: skip
        print("|---|---|---|---|")
        for name, c in agreement["compared"].items():
            print(
                f"| {name} | {c['engine']:,} | {c['sacroml']:,} | {'yes' if c['equal'] else 'NO'} |"
            )
    wo = report["agreement"]
    print(
        f"\nweights-only checks equal, pickle vs joblib: {wo['weights_only_pickle_vs_joblib']}; "
        f"file vs live estimator: {wo['weights_only_file_vs_live']}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--train-rows", type=int, default=100_000)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-peer", action="store_true", help="skip SACRO-ML")
    parser.add_argument(
        "--sacroml-reps", type=int, default=10, help="worst-case repetitions (sacroml's default)"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results-models.json")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.train_rows < 2 or args.trees < 1 or args.sacroml_reps < 1:
        raise SystemExit("--repeat, --trees and --sacroml-reps must be >= 1, --train-rows >= 2")
    if not args.no_peer and not SACROML_PYTHON.exists():
        raise SystemExit("sacroml venv missing: run bash benchmarks/peers/setup_sacroml_venv.sh")
    info = machine()
    t = int(RuleSet.load(RULES).params["k-anonymity"].t)

    model, X_train, y_train, X_test, y_test, fit_seconds = make_model(args.train_rows, args.trees)
    timings: dict[str, Timing] = {}
    peer: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="bench-models-") as tmp:
        work = Path(tmp)
        pkl, jl, data = work / "model.pkl", work / "model.joblib", work / "data.npz"
        pkl.write_bytes(pickle.dumps(model, protocol=PICKLE_PROTOCOL))
        joblib.dump(model, jl)  # compress=0: uncompressed
        np.savez(data, X_train=X_train, y_train=y_train, X_test=X_test, y_test=y_test)
        file_bytes = {"pickle": pkl.stat().st_size, "joblib": jl.stat().st_size}

        timings["check_file_pickle"], from_pickle = _median(lambda: check_file(pkl), args.repeat)
        timings["check_file_joblib"], from_joblib = _median(lambda: check_file(jl), args.repeat)
        timings["read_joblib_pickle"], _ = _median(
            lambda: read_joblib(pkl.read_bytes()), args.repeat
        )
        timings["read_joblib_joblib"], _ = _median(
            lambda: read_joblib(jl.read_bytes()), args.repeat
        )
        timings["pickle_loads"], _ = _median(lambda: pickle.loads(pkl.read_bytes()), args.repeat)
        timings["joblib_load"], _ = _median(lambda: joblib.load(jl), args.repeat)
        gc.collect()

        timings["predict_proba"], (p_train, p_test) = _median(
            lambda: (model.predict_proba(X_train), model.predict_proba(X_test)), args.repeat
        )
        timings["engine_attack"], (mia, eq) = _median(
            lambda: engine_attack(p_train, p_test, y_train, y_test, t), args.repeat
        )
        session = sdc.Session(rules=RULES)
        timings["check_live_with_data"], live_data = _median(
            lambda: _checked(
                session.check_model(model, train=(X_train, y_train), test=(X_test, y_test))
            ),
            args.repeat,
        )
        live = _checked(session.check_model(model))

        if not args.no_peer:
            peer = bench_peer(pkl, data, work, args.repeat, args.sacroml_reps)

    assert from_pickle.structure is not None
    summary = weights_only_summary(from_pickle)
    agreement: dict[str, Any] = {
        "weights_only_pickle_vs_joblib": same_weights_only(from_pickle, from_joblib),
        "weights_only_file_vs_live": same_weights_only(from_pickle, live),
        "equivalence_classes": (
            None if peer is None else eq_agreement(eq, from_pickle.structure.n_params, peer, t)
        ),
    }
    report: dict[str, Any] = {
        "machine": info,
        "versions": {**versions(), "sacroml_env": None if peer is None else peer["versions"]},
        "parameters": {
            "train_rows": len(X_train),
            "test_rows": len(X_test),
            "n_features": N_FEATURES,
            "trees": args.trees,
            "random_state": SEED,
            "repeat": args.repeat,
            "rules": RULES,
            "threshold_t": t,
            "pickle_protocol": PICKLE_PROTOCOL,
            "joblib_compress": 0,
            "peer": peer is not None,
            "sacroml_reps": None if peer is None else args.sacroml_reps,
        },
        "model": {
            "fit_seconds_n_jobs_all": fit_seconds,
            "file_bytes": file_bytes,
            "n_params": from_pickle.structure.n_params,
            "train_accuracy": float((p_train.argmax(axis=1) == y_train).mean()),
            "test_accuracy": float((p_test.argmax(axis=1) == y_test).mean()),
        },
        "timings": timings,
        "engine": {
            "weights_only": summary,
            "membership": {
                "auc": mia.auc,
                "p_value": mia.p_value,
                "score": mia.score,
                "aucs": mia.aucs,
                "n_members": mia.n_members,
                "n_non_members": mia.n_non_members,
            },
            "equivalence_classes": {
                "n_classes": eq.n_classes,
                "min_size": eq.min_size,
                "n_small": eq.n_small,
                "records_in_small": eq.records_in_small,
                "class_disclosure": eq.class_disclosure,
                "small_group": eq.small_group,
            },
            "live_with_data": {
                "status": live_data.status.value,
                "findings_by_rule": live_data.findings["rule"].value_counts().to_dict(),
            },
        },
        "sacroml": peer,
        "agreement": agreement,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")

    print(
        f"RandomForestClassifier({args.trees} trees, random_state={SEED}) on "
        f"{len(X_train):,} training rows ({N_FEATURES} features), "
        f"{from_pickle.structure.n_params:,} parameters; rules {RULES!r}; "
        f"median of {args.repeat}\n"
    )
    print_tables(report)
    print(f"\nMachine: {os.cpu_count()} CPUs ({platform.machine()}), Python "
          f"{platform.python_version()}; written {args.out}")  # fmt: skip

    problems = [
        name
        for name in ("weights_only_pickle_vs_joblib", "weights_only_file_vs_live")
        if not agreement[name]
    ]
    if agreement["equivalence_classes"] is not None:
        problems += [
            f"{name}: engine {c['engine']} != sacroml {c['sacroml']}"
            for name, c in agreement["equivalence_classes"]["compared"].items()
            if not c["equal"]
        ]
    if problems:
        print("disagreement: " + "; ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
