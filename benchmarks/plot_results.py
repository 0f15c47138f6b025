"""Plot the committed benchmark results as SVG figures for the documentation.

Reads ``benchmarks/results-*.json`` (written by the benchmark scripts; see
``benchmarks/README.md`` for the machine and the commands) and writes one SVG per
benchmark into ``docs/_static/benchmarks/``::

    python benchmarks/plot_results.py [--results benchmarks] [--out docs/_static/benchmarks]

The figures are committed; run this again after a benchmark's results change.
Reading the results (``series_*``) needs no plotting library; drawing needs
matplotlib (the ``docs`` extra).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SDC, LIGHT, PEER, REFERENCE = "#3b6ea5", "#9dbbdc", "#c0504d", "#7f7f7f"


def _load(folder: Path, name: str) -> Any:
    return json.loads((folder / f"results-{name}.json").read_text(encoding="utf-8"))


def series_side_by_side(folder: Path) -> list[dict[str, Any]]:
    """One entry per (rows, table): median seconds of sdc and of ACRO."""
    return [
        {"label": f"{r['table']}, {r['rows']:.0e} rows".replace("e+0", "e"),
         "sdc": r["sdc_median_s"], "acro": r["acro_median_s"]}
        for r in _load(folder, "side-by-side")
    ]  # fmt: skip


def series_protection(folder: Path) -> dict[int, list[dict[str, Any]]]:
    """Per dimension count, per table size: published cells and seconds.

    The 1e6-cell cases of ``results-protection-1e6.json`` (a second run on an idle
    machine) replace those of the first run, as in ``benchmarks/README.md``.
    Cases over their time budget have no seconds (None).
    """
    cases: dict[tuple[int, int], dict[str, Any]] = {}
    for name in ("protection", "protection-1e6"):
        if not (folder / f"results-{name}.json").exists():
            continue
        for case in _load(folder, name)["cases"]:
            ok = case["engine"]["status"] == "ok"
            summary = case["summary"]
            reference = None
            for kind, info in (case.get("reference") or {}).get("messages", []):
                if kind == "reference" and info.get("completed"):
                    reference = info["seconds"]
            cases[(case["dims"], case["n_inner"])] = {
                "published": case["n_published"],
                "secondary": summary.get("secondary_seconds") if ok else None,
                "audit": summary.get("audit_seconds") if ok else None,
                "reference": reference,
            }
    out: dict[int, list[dict[str, Any]]] = {}
    for (dims, _), case in sorted(cases.items()):
        out.setdefault(dims, []).append(case)
    return out


def series_regression(folder: Path) -> dict[str, dict[str, float]]:
    """Per model (OLS, Logit): median seconds of each step."""
    steps = {
        "fit": "fit (statsmodels)",
        "check": "check alone",
        "end_to_end": "sdc end to end",
        "acro_end_to_end": "ACRO end to end",
    }
    models = _load(folder, "regression")["models"]
    return {
        model.upper() if model == "ols" else model.capitalize(): {
            label: models[model]["timings"][key]["median_s"] for key, label in steps.items()
        }
        for model in ("ols", "logit")
    }


def series_models(folder: Path) -> list[tuple[str, float, str]]:
    """Steps of checking a 100-tree forest: (label, median seconds, tool)."""
    data = _load(folder, "models")
    t, sacro = data["timings"], data["sacroml"]
    return [
        ("sdc: weights only, pickle file", t["check_file_pickle"]["median_s"], "sdc"),
        ("sdc: weights only, joblib file", t["check_file_joblib"]["median_s"], "sdc"),
        ("sdc: membership attack", t["engine_attack"]["median_s"], "sdc"),
        ("predict_proba (both tools)", t["predict_proba"]["median_s"], "reference"),
        ("SACRO-ML: structural attack", sacro["structural"]["attack_seconds"]["median_s"], "peer"),
        ("SACRO-ML: worst-case attack", sacro["worstcase"]["attack_seconds"], "peer"),
    ]


#: The side-by-side runs with tau-Argus, in the order they were taken: a later run's rows
#: replace an earlier run's rows of the same table and tool (``benchmarks/README.md``).
TAUARGUS_RUNS = (
    "tauargus",
    "tauargus-big",
    "tauargus-3d",
    "tauargus-4d",
    "tauargus-sdc",
    "tauargus-sdc-big",
)


def series_tauargus(folder: Path) -> list[dict[str, Any]]:
    """Per table: secondaries and seconds of sdc (defaults; and ``width`` without singletons)
    and of tau-Argus (``MOD(1)``; ``MOD(1,5,1,1,1)``), as the ``width`` audit rows give them,
    over every run of :data:`TAUARGUS_RUNS` that is there."""
    picks: dict[str, dict[str, Any]] = {}
    for name in TAUARGUS_RUNS:
        if not (folder / f"results-{name}.json").exists():
            continue
        for case in _load(folder, name)["cases"]:
            pick = picks.setdefault(case["case"], {"label": case["case"],
                                                   "published": case["n_published"]})  # fmt: skip
            pick.update(_tauargus_rows(case))
    return list(picks.values())


def _tauargus_rows(case: dict[str, Any]) -> dict[str, tuple[int, float]]:
    """The series a case's rows give: key -> (secondary cells, seconds)."""
    out = {}
    for row in case["rows"]:
        if "error" in row or "timed_out" in row:
            continue
        if row["small_counts"] != "width" and case["kind"] == "magnitude":
            continue
        if row["tool"] == "sdc":
            default = row["singletons"] and row["small_counts"] == (
                "zero-or-threshold" if case["kind"] == "frequency" else "width"
            )
            lean = not row["singletons"] and row["small_counts"] == "width"
            key = "sdc" if default else "sdc_lean" if lean else None
        elif row["small_counts"] == "width" or case["kind"] == "magnitude":
            key = "tau_singletons" if row["singletons"] else "tau"
        else:
            key = None
        if key:
            out[key] = (row["n_secondary"], row["seconds"])
    return out


def _figure(width: float, height: float) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"svg.hashsalt": "sdc-engine", "font.size": 9})
    return plt.subplots(figsize=(width, height), layout="constrained")


def _save(fig: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    fig.savefig(path, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return path


def _bars_done(fig: Any, ax: Any, labels: list[str], xlabel: str, title: str, path: Path) -> Path:
    """Label the bars of a horizontal bar chart (first at the top) and save it."""
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
    return _save(fig, path)


def plot_side_by_side(folder: Path, out: Path) -> Path:
    rows = series_side_by_side(folder)
    fig, ax = _figure(7.5, 3.6)
    ys = range(len(rows))
    ax.barh([y + 0.2 for y in ys], [r["sdc"] for r in rows], 0.4, label="sdc", color=SDC)
    ax.barh([y - 0.2 for y in ys], [r["acro"] for r in rows], 0.4, label="ACRO 1.0.2", color=PEER)
    for y, r in zip(ys, rows, strict=True):
        ax.text(r["acro"] * 1.1, y - 0.2, f"{r['acro'] / r['sdc']:.0f}x", va="center", fontsize=8)
    ax.set_xscale("log")
    ax.set_xlim(right=max(r["acro"] for r in rows) * 3)
    return _bars_done(
        fig, ax, [r["label"] for r in rows],
        "median seconds, table with all its checks (log scale)",
        "Tables: sdc and ACRO on the same data, same run", out / "side-by-side.svg",
    )  # fmt: skip


def plot_protection(folder: Path, out: Path) -> Path:
    series = series_protection(folder)
    fig, ax = _figure(7.5, 4.0)
    markers = {2: "o", 3: "s", 4: "^"}
    for dims, cases in series.items():
        done = [c for c in cases if c["secondary"] is not None]
        ax.plot([c["published"] for c in done], [c["secondary"] + (c["audit"] or 0) for c in done],
                marker=markers.get(dims, "o"), color=SDC, label=f"sdc, {dims}-D")  # fmt: skip
        ref = [c for c in cases if c["reference"] is not None]
        if ref:
            ax.plot([c["published"] for c in ref], [c["reference"] for c in ref],
                    marker=markers.get(dims, "o"), color=REFERENCE, linestyle="--",
                    label=f"LP reference, {dims}-D")  # fmt: skip
    ax.axhline(300, color=PEER, linewidth=0.8, linestyle=":")
    ax.text(1.5e3, 330, "time budget (300 s)", color=PEER, fontsize=8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("published cells (inner cells, subtotals and totals)")
    ax.set_ylabel("seconds: secondary suppression + audit")
    ax.set_title("Secondary suppression and audit of hierarchical count tables")
    ax.legend(ncol=2, fontsize=8)
    return _save(fig, out / "protection.svg")


def plot_tauargus(folder: Path, out: Path) -> Path:
    """Secondary cells and seconds per table: sdc and tau-Argus side by side."""
    rows = series_tauargus(folder)
    _figure(1, 1)  # the backend and the style
    import matplotlib.pyplot as plt

    plt.close("all")
    fig, (left, right) = plt.subplots(1, 2, figsize=(7.5, 0.55 * len(rows) + 1.9),
                                      layout="constrained", sharey=True)  # fmt: skip
    series = (("sdc", "sdc (defaults)", SDC), ("sdc_lean", "sdc, width, no singletons", LIGHT),
              ("tau", "tau-Argus MOD(1)", PEER), ("tau_singletons", "tau-Argus MOD + singletons",
              "#e6a5a3"))  # fmt: skip
    height = 0.8 / len(series)
    for i, (key, label, colour) in enumerate(series):
        ys = [y - 0.4 + (i + 0.5) * height for y in range(len(rows))]
        counts = [r[key][0] if key in r else 0 for r in rows]
        times = [r[key][1] if key in r else 0 for r in rows]
        left.barh(ys, counts, height, color=colour, label=label)
        right.barh(ys, times, height, color=colour)
    left.set_yticks(range(len(rows)), [f"{r['label']} ({r['published']:,})" for r in rows])
    left.invert_yaxis()
    left.set_xlabel("secondary cells (log scale)")
    left.set_xscale("log")
    right.set_xlabel("seconds (log scale)")
    right.set_xscale("log")
    left.set_title("Same tables: sdc and tau-Argus (pytauargus 0.6.0)")
    fig.legend(*left.get_legend_handles_labels(), fontsize=7, loc="outside lower center",
               ncol=len(series))  # fmt: skip
    return _save(fig, out / "tauargus.svg")


def plot_regression(folder: Path, out: Path) -> Path:
    series = series_regression(folder)
    fig, ax = _figure(7.5, 3.0)
    labels = list(next(iter(series.values())))
    width = 0.38
    for i, (model, steps) in enumerate(series.items()):
        ys = [y + (i - 0.5) * width for y in range(len(labels))]
        ax.barh(ys, [steps[s] for s in labels], width, label=model, color=[SDC, LIGHT][i])
    return _bars_done(
        fig, ax, labels, "median seconds, 1e6 rows",
        "Checking a regression: the fit is the cost, the check 2-3% of it", out / "regression.svg",
    )  # fmt: skip


def plot_models(folder: Path, out: Path) -> Path:
    steps = series_models(folder)
    fig, ax = _figure(7.5, 3.0)
    colours = {"sdc": SDC, "peer": PEER, "reference": REFERENCE}
    ax.barh(range(len(steps)), [s[1] for s in steps], color=[colours[s[2]] for s in steps])
    for y, (_, seconds, _) in enumerate(steps):
        ax.text(seconds * 1.1, y, f"{seconds:.3g} s", va="center", fontsize=8)
    ax.set_xscale("log")
    return _bars_done(
        fig, ax, [s[0] for s in steps], "median seconds (log scale)",
        "A 100-tree random forest, 1e5 training rows: sdc and SACRO-ML", out / "models.svg",
    )  # fmt: skip


def plot_scale(folder: Path, out: Path) -> Path:
    """Time against rows per backend, drawn by ``bench_scale.plot`` (one drawing for both)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_scale", HERE / "bench_scale.py")
    assert spec is not None and spec.loader is not None
    bench_scale = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_scale)
    path = out / "scale.svg"
    bench_scale.plot(_load(folder, "scale"), [path])
    return path


PLOTS = (
    plot_side_by_side, plot_protection, plot_tauargus, plot_regression, plot_models, plot_scale,
)  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=Path, default=HERE, help="folder of results-*.json")
    parser.add_argument(
        "--out", type=Path, default=HERE.parent / "docs" / "_static" / "benchmarks",
        help="folder the SVG files are written to",
    )  # fmt: skip
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    for plot in PLOTS:
        print(plot(args.results, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
