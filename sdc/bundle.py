"""The output folder a session writes and a gate reads.

Layout::

    <folder>/manifest.json          what each output is, where its files are, the rule set
    <folder>/<name>.csv             the released table: one row per cell, a column per
                                    dimension and one value column (empty = suppressed)
    <folder>/evidence/<name>.json   per-cell evidence the gate re-checks (stays inside the TRE:
                                    it holds the largest contributions)
    <folder>/report.json, report.txt  the verdicts, for people and machines

Everything read back is validated: unknown keys, missing files and tables that
disagree with their evidence are errors or ``fail`` verdicts, never passes.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdc._version import __version__
from sdc.exceptions import SdcInputError
from sdc.report import build_report, text_report
from sdc.ruleset import RuleSet
from sdc.table_output import TableOutput

MANIFEST = "manifest.json"
MANIFEST_VERSION = "1.0"
REPORT_FILES = ("report.json", "report.txt")
_OUTPUT_KEYS = {
    "name", "kind", "statistic", "value_name", "file", "evidence", "protected",
    "rounded_to", "status",
}  # fmt: skip
_MANIFEST_KEYS = {"schema_version", "producer", "created", "rules", "outputs"}


def write_bundle(
    folder: Path, outputs: list[TableOutput], ruleset: RuleSet, overwrite: bool = False
) -> Path:
    """Write outputs, evidence, manifest and report into ``folder``; refuse to overwrite.

    Every file is rendered in memory first, so an error leaves no half-written folder.
    """
    if not outputs:
        raise SdcInputError("`finalise` needs at least one output; the session has none.")
    if folder.exists() and any(folder.iterdir()) and not overwrite:
        raise SdcInputError(
            f"`path` of `Session.finalise` must be a new or empty folder; got {str(folder)!r}, "
            "which has files. Choose another folder or pass overwrite=True."
        )
    files: dict[str, str] = {}
    entries = []
    for out in outputs:
        csv_name = f"{out.name}.csv"
        ev_name = f"evidence/{out.name}.json"
        files[csv_name] = out.released_long().to_csv(index=False)
        files[ev_name] = json.dumps(out.check.evidence.to_dict())
        entries.append(
            {
                "name": out.name,
                "kind": out.kind,
                "statistic": out.statistic,
                "value_name": out.value_name,
                "file": csv_name,
                "evidence": ev_name,
                "protected": out.protected_applied,
                "rounded_to": out.protected.rounded_to if out.protected_applied else None,
                "status": out.status.value,
            }
        )
    manifest = {
        "schema_version": MANIFEST_VERSION,
        "producer": f"sdc-engine {__version__}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "rules": ruleset.to_dict(),
        "outputs": entries,
    }
    report = build_report(outputs, ruleset)
    files[MANIFEST] = json.dumps(manifest, indent=2)
    files["report.json"] = json.dumps(report, indent=2)
    files["report.txt"] = text_report(report)
    (folder / "evidence").mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (folder / rel).write_text(text, encoding="utf-8")
    return folder


def read_manifest(folder: Path) -> dict[str, Any]:
    """The validated manifest of an output folder."""
    path = folder / MANIFEST
    if not folder.is_dir():
        raise SdcInputError(f"{str(folder)!r} is not a folder of outputs.")
    if not path.is_file():
        raise SdcInputError(f"{str(folder)!r} has no {MANIFEST}; it was not written by finalise.")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SdcInputError(f"{MANIFEST} cannot be read as JSON ({exc}).") from None
    if not isinstance(manifest, dict) or set(manifest) != _MANIFEST_KEYS:
        got = sorted(manifest) if isinstance(manifest, dict) else type(manifest).__name__
        raise SdcInputError(f"{MANIFEST} must have exactly the keys {sorted(_MANIFEST_KEYS)}; "
                            f"got {got}.")  # fmt: skip
    if manifest["schema_version"] != MANIFEST_VERSION:
        raise SdcInputError(
            f"{MANIFEST} schema_version must be {MANIFEST_VERSION!r}; "
            f"got {manifest['schema_version']!r}."
        )
    if not isinstance(manifest["outputs"], list) or not manifest["outputs"]:
        raise SdcInputError(f"{MANIFEST} lists no outputs.")
    names = set()
    for i, entry in enumerate(manifest["outputs"]):
        if not isinstance(entry, dict) or set(entry) != _OUTPUT_KEYS:
            got = sorted(entry) if isinstance(entry, dict) else entry
            raise SdcInputError(f"{MANIFEST} output {i} must have exactly the keys "
                                f"{sorted(_OUTPUT_KEYS)}; got {got}.")  # fmt: skip
        for key in ("file", "evidence"):
            rel = Path(str(entry[key]))
            if rel.is_absolute() or ".." in rel.parts:
                raise SdcInputError(f"{MANIFEST} output {entry['name']!r}: {key} must be a path "
                                    f"inside the folder; got {entry[key]!r}.")  # fmt: skip
        if entry["name"] in names:
            raise SdcInputError(f"{MANIFEST} names output {entry['name']!r} twice.")
        names.add(entry["name"])
    return manifest


def read_evidence_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SdcInputError(f"evidence file {path.name!r} is missing.") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SdcInputError(f"evidence file {path.name!r} cannot be read ({exc}).") from None
    if not isinstance(data, dict):
        raise SdcInputError(f"evidence file {path.name!r} must hold a JSON object.")
    return data


def unlisted_files(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Files in the folder that the manifest does not describe (each needs a person)."""
    known = {MANIFEST, *REPORT_FILES}
    for entry in manifest["outputs"]:
        known.update({str(Path(entry["file"])), str(Path(entry["evidence"]))})
    found = sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink()
    )
    return [f for f in found if f not in known]
