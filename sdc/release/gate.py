"""Check an output folder written by ``Session.finalise``: what an egress gate runs.

The gate trusts nothing it reads: the manifest and evidence are validated, each
released table must agree with its evidence, the rules are re-applied (the
gate's own rule set, or the one recorded in the manifest), and files the
manifest does not describe are sent to review.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from sdc.exceptions import SdcInputError
from sdc.plots import draw
from sdc.regression.output import RegressionOutput
from sdc.regression.survival import SurvivalOutput
from sdc.release.bundle import MANIFEST as MANIFEST_NAME
from sdc.release.bundle import (
    changed_files,
    read_evidence_json,
    read_manifest,
    read_table_csv,
    unlisted_files,
)
from sdc.release.report import build_report, other_entry
from sdc.release.term_files import read_regression, read_survival
from sdc.rules.statistic import statistic_class
from sdc.ruleset import STATISTICS, RuleSet, preset_names
from sdc.tables.check import check_evidence
from sdc.tables.evidence import TableEvidence
from sdc.tables.labels import cell_labels
from sdc.tables.output import TableOutput
from sdc.tables.protect import Release, assess, audit_pattern
from sdc.tables.statistics import COUNTS, from_evidence
from sdc.verdict import Status

_VERIFIABLE = {*COUNTS, "sum", "mean", "min", "max"}

Output = TableOutput | RegressionOutput | SurvivalOutput


def _read_release(path: Path, ev: TableEvidence, value_name: str) -> np.ndarray:
    """Per-cell released values (NaN = suppressed) from a table CSV, matched by labels."""
    model = ev.model
    frame = read_table_csv(path)
    expected_cols = [*model.dims, value_name]
    if list(frame.columns) != expected_cols:
        raise SdcInputError(
            f"table file {path.name!r} must have the columns {expected_cols}; "
            f"got {list(frame.columns)}."
        )
    cells = np.flatnonzero(model.published_mask)
    labels = cell_labels(model, cells).astype(str)
    position = {
        key: int(c) for key, c in zip(labels.itertuples(index=False, name=None), cells, strict=True)
    }
    if len(frame) != len(position):
        raise SdcInputError(
            f"table file {path.name!r} has {len(frame)} rows; its evidence describes "
            f"{len(position)} published cells."
        )
    out = np.full(model.n_cells, np.nan)
    seen = set()
    for key, text in zip(
        frame[list(model.dims)].itertuples(index=False, name=None), frame[value_name], strict=True
    ):
        cell = position.get(tuple(key))
        if cell is None or cell in seen:
            raise SdcInputError(
                f"table file {path.name!r} has a row for cell {key!r} that its evidence "
                "does not describe (or describes once only)."
            )
        seen.add(cell)
        if text.strip() == "":
            continue
        try:
            out[cell] = float(text)
        except ValueError:
            raise SdcInputError(
                f"table file {path.name!r}: value {text!r} at {key!r} is not a number."
            ) from None
    return out


def _consistency(ev: TableEvidence, statistic: str, released: np.ndarray, rounded_to: Any) -> str:
    """Why the released values disagree with the evidence ('' when they agree)."""
    if statistic not in _VERIFIABLE:
        return ""
    expected = from_evidence(ev, statistic)
    if rounded_to:
        expected = np.floor(expected / rounded_to + 0.5) * rounded_to
    shown = ~np.isnan(released)
    ok = np.isclose(released[shown], expected[shown], rtol=1e-9, atol=1e-9, equal_nan=True)
    if ok.all():
        return ""
    bad = np.flatnonzero(shown)[~ok][0]
    return (
        f"the released value {released[bad]:g} at {ev.model.labels(int(bad))} disagrees with "
        f"the evidence ({expected[bad]:g}): the table was changed after it was checked"
    )


def _check_entry(folder: Path, entry: dict[str, Any], ruleset: RuleSet) -> TableOutput:
    if statistic_class(entry["statistic"]) not in STATISTICS:
        raise SdcInputError(f"output {entry['name']!r}: unknown statistic {entry['statistic']!r}.")
    ev = TableEvidence.from_dict(read_evidence_json(folder / entry["evidence"]))
    released = _read_release(folder / entry["file"], ev, str(entry["value_name"]))
    rounded_to = entry["rounded_to"]
    statistic = entry["statistic"]
    check = check_evidence(ev, statistic, ruleset)
    # NaN is the natural value where nothing is measured (std needs two values).
    measurable = ev.nonmissing >= (2 if statistic in ("std", "var") else 1)
    suppressed = np.isnan(released) & ev.model.published_mask & measurable
    audited = None
    if (
        ev.model.margins
        and suppressed.any()
        and ruleset.protection.method != "redact-round"
        and not check.errors
        and not (check.fail & ~suppressed).any()
    ):
        # What assess would audit; kept, so that the report shows the intervals.
        audited = audit_pattern(check, suppressed)
    status, reasons = assess(check, suppressed, audited)
    problems = [_consistency(ev, statistic, released, rounded_to)]
    protection = ruleset.protection
    if protection.method == "redact-round" and statistic in COUNTS:
        if rounded_to != protection.round_to:
            problems.append(
                f"the rule set requires counts rounded to the nearest {protection.round_to}; "
                f"this table is recorded as rounded to {rounded_to}"
            )
        small = (ev.records > 0) & (ev.records <= protection.redact_at_or_below)
        if (small & ev.model.published_mask & ~suppressed).any():
            problems.append(
                f"the rule set requires counts of {protection.redact_at_or_below} or fewer to "
                "be redacted; some are published"
            )
    problems = [p for p in problems if p]
    if problems:
        status, reasons = Status.FAIL, (*problems, *reasons)
    release = Release(released, suppressed, rounded_to, status, reasons, audit=audited)
    return TableOutput(entry["name"], check, released, str(entry["value_name"]), True, release)


def _check_image(folder: Path, entry: dict[str, Any], status: Status) -> dict[str, Any]:
    """The image passes with its output only if re-drawing the checked CSV gives it exactly."""
    name = entry["image"]
    try:
        shown = (folder / name).read_text(encoding="utf-8")
        csv_text = (folder / entry["file"]).read_text(encoding="utf-8")
        drawn = draw(entry["kind"], entry["statistic"], csv_text, entry["name"])
    except (OSError, UnicodeDecodeError) as exc:
        return other_entry(name, "image", Status.FAIL, f"the image cannot be read ({exc})")
    except SdcInputError as exc:
        return other_entry(name, "image", Status.FAIL, str(exc))
    if shown != drawn:
        return other_entry(
            name, "image", Status.FAIL,
            f"the image is not the plot of the checked data of {entry['name']!r} (re-drawn "
            "at the gate, it differs): it may show numbers that were not checked",
        )  # fmt: skip
    return other_entry(
        name, "image", status,
        f"the plot of {entry['name']!r}, re-drawn from its checked data and identical; it "
        f"takes that output's verdict ({status.value})",
    )  # fmt: skip


#: How each output kind in a manifest is read back and re-checked.
_CHECKS: dict[str, Callable[[Path, dict[str, Any], RuleSet], Output]] = {
    "frequency table": _check_entry,
    "magnitude table": _check_entry,
    "regression": read_regression,
    "survival": read_survival,
}


def check_folder(folder: str | Path, rules: str | Path | RuleSet | None = None) -> dict[str, Any]:
    """Re-check every output of a finalised folder; returns the JSON report.

    ``rules`` is the gate's rule set; by default the one recorded in the manifest.
    A table that cannot be checked is ``fail`` with the reason; a file the manifest
    does not describe is ``review``.
    """
    folder = Path(folder)
    manifest = read_manifest(folder)
    others: list[dict[str, Any]] = []
    if rules is None:
        ruleset = RuleSet.from_dict(manifest["rules"], source="manifest")
        if ruleset.name not in preset_names() or (
            RuleSet.load(ruleset.name).to_dict() != ruleset.to_dict()
        ):
            others.append(
                other_entry(
                    MANIFEST_NAME,
                    "rule set",
                    Status.REVIEW,
                    f"the manifest's rule set {ruleset.name!r} is not an unmodified shipped "
                    "preset, and the researcher chose it; the gate applied it as written. "
                    "Choose the gate's own rule set with --rules",
                )  # fmt: skip
            )
    else:
        ruleset = RuleSet.load(rules)
    changed = set(changed_files(folder, manifest))
    outputs: list[Output] = []
    for entry in manifest["outputs"]:
        files = {entry["file"], entry["evidence"]} | ({entry["image"]} - {None})
        edited = sorted(changed & files)
        if edited:
            reason = f"{edited[0]} was changed or removed after finalise (its digest differs)"
            others.append(other_entry(entry["name"], entry["kind"], Status.FAIL, reason))
            continue
        check = _CHECKS.get(entry["kind"])
        if check is None:
            reason = (
                f"unknown output kind {entry['kind']!r}: no automatic check applies "
                f"(known: {', '.join(sorted(_CHECKS))})"
            )
            others.append(other_entry(entry["name"], entry["kind"], Status.FAIL, reason))
            continue
        try:
            out = check(folder, entry, ruleset)
        except SdcInputError as exc:
            others.append(other_entry(entry["name"], entry["kind"], Status.FAIL, str(exc)))
            continue
        outputs.append(out)
        if entry["image"] is not None:
            others.append(_check_image(folder, entry, out.status))
    listed = {name for e in manifest["outputs"] for name in (e["file"], e["evidence"], e["image"])}
    for name in sorted(changed - listed):
        reason = f"{name} was changed or removed after finalise (its digest differs)"
        others.append(other_entry(name, "file", Status.FAIL, reason))
    for name in unlisted_files(folder, manifest):
        others.append(
            other_entry(
                name,
                "unknown file",
                Status.REVIEW,
                "this file is not described by the manifest, so no automatic check applies; "
                "a person must look at it or it must be removed",
            )  # fmt: skip
        )
    return build_report(outputs, ruleset, others)
