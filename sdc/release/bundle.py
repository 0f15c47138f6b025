"""The output folder a session writes and a gate reads.

Layout::

    <folder>/manifest.json          what each output is, where its files are, the rule set
    <folder>/<name>.csv             the released table: one row per cell, a column per
                                    dimension and one value column (empty = suppressed);
                                    for a regression its coefficient table, for a survival
                                    table its pooled steps (see :mod:`sdc.release.term_files`)
    <folder>/<name>.svg             a plot, when one was asked for: drawn from the CSV only
                                    (see :mod:`sdc.plots`)
    <folder>/evidence/<name>.json   per-cell evidence the gate re-checks (stays inside the TRE:
                                    it holds the largest contributions)
    <folder>/report.json, report.txt  the verdicts, for people and machines

Everything read back is validated: unknown keys, missing files and tables that
disagree with their evidence are errors or ``fail`` verdicts, never passes.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from sdc._version import __version__
from sdc.exceptions import SdcInputError
from sdc.plots import draw, read_released
from sdc.release.report import build_report, text_report
from sdc.ruleset import RuleSet
from sdc.tables.output import TableOutput

if TYPE_CHECKING:
    from sdc.regression.output import RegressionOutput
    from sdc.regression.survival import SurvivalOutput

    Output = TableOutput | RegressionOutput | SurvivalOutput

MANIFEST = "manifest.json"
MANIFEST_VERSION = "1.1"
#: Keys of each output entry, by manifest version (1.1 added ``image``).
_OUTPUT_KEYS_BY_VERSION = {
    "1.0": {
        "name", "kind", "statistic", "value_name", "file", "evidence", "protected",
        "rounded_to", "status",
    },
    "1.1": {
        "name", "kind", "statistic", "value_name", "file", "evidence", "protected",
        "rounded_to", "status", "image",
    },
}  # fmt: skip
_MANIFEST_KEYS = {"schema_version", "producer", "created", "rules", "outputs", "digests"}
_ENTRY_TYPES = {
    "name": str, "kind": str, "statistic": str, "value_name": str, "file": str,
    "evidence": str, "protected": bool, "status": str,
}  # fmt: skip


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_bundle(
    folder: Path, outputs: list[Output], ruleset: RuleSet, overwrite: bool = False
) -> Path:
    """Write outputs, evidence, manifest and report into ``folder``.

    The folder is assembled beside its destination and moved into place whole, so an
    error leaves nothing half-written. ``overwrite`` replaces only a folder that an
    earlier ``finalise`` wrote (it has a manifest); any other non-empty folder is refused.
    """
    if not outputs:
        raise SdcInputError("`finalise` needs at least one output; the session has none.")
    if folder.exists() and not folder.is_dir():
        raise SdcInputError(f"`path` of `Session.finalise` must be a folder; {str(folder)!r} "
                            "is a file.")  # fmt: skip
    if folder.is_dir() and any(folder.iterdir()):
        if not overwrite:
            raise SdcInputError(
                f"`path` of `Session.finalise` must be a new or empty folder; got "
                f"{str(folder)!r}, which has files. Choose another folder or pass overwrite=True."
            )
        if not (folder / MANIFEST).is_file():
            raise SdcInputError(
                f"overwrite=True replaces only a folder written by finalise; {str(folder)!r} "
                f"has no {MANIFEST}, so it is left alone."
            )
    files: dict[str, str] = {}
    entries = []
    for out in outputs:
        csv_name = f"{out.name}.csv"
        ev_name = f"evidence/{out.name}.json"
        csv_text = out.released_csv()
        files[csv_name] = csv_text
        files[ev_name] = json.dumps(out.evidence_dict())
        protected = isinstance(out, TableOutput) and out.protected_applied
        rounded_to = (
            out.protected.rounded_to if isinstance(out, TableOutput) and protected else None
        )
        image = None
        if out.plot:
            image = f"{out.name}.svg"
            files[image] = draw(out.kind, out.statistic, csv_text, out.name)
        entries.append(
            {
                "name": out.name,
                "kind": out.kind,
                "statistic": out.statistic,
                "value_name": out.value_name,
                "file": csv_name,
                "evidence": ev_name,
                "protected": protected,
                "rounded_to": rounded_to,
                "status": out.status.value,
                "image": image,
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
    files["report.json"] = json.dumps(report, indent=2)
    files["report.txt"] = text_report(report)
    manifest["digests"] = {rel: sha256(text.encode("utf-8")) for rel, text in files.items()}
    files[MANIFEST] = json.dumps(manifest, indent=2)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            (staging / "evidence").mkdir()
            for rel, text in files.items():
                (staging / rel).write_text(text, encoding="utf-8")
            if folder.exists():
                shutil.rmtree(folder) if any(folder.iterdir()) else folder.rmdir()
            os.replace(staging, folder)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    except OSError as exc:
        raise SdcInputError(f"cannot write the output folder {str(folder)!r}: {exc}.") from None
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
    output_keys = _OUTPUT_KEYS_BY_VERSION.get(manifest["schema_version"])
    if output_keys is None:
        raise SdcInputError(
            f"{MANIFEST} schema_version must be one of {sorted(_OUTPUT_KEYS_BY_VERSION)}; "
            f"got {manifest['schema_version']!r}."
        )
    if not isinstance(manifest["outputs"], list) or not manifest["outputs"]:
        raise SdcInputError(f"{MANIFEST} lists no outputs.")
    digests = manifest["digests"]
    if not isinstance(digests, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in digests.items()
    ):
        raise SdcInputError(f"{MANIFEST} digests must map file names to SHA-256 digests.")
    if not isinstance(manifest["rules"], dict):
        raise SdcInputError(f"{MANIFEST} rules must be a table of rule settings.")
    names = set()
    for i, entry in enumerate(manifest["outputs"]):
        if not isinstance(entry, dict) or set(entry) != output_keys:
            got = sorted(entry) if isinstance(entry, dict) else entry
            raise SdcInputError(f"{MANIFEST} output {i} must have exactly the keys "
                                f"{sorted(output_keys)}; got {got}.")  # fmt: skip
        entry.setdefault("image", None)
        for key, kind in _ENTRY_TYPES.items():
            if not isinstance(entry[key], kind):
                raise SdcInputError(f"{MANIFEST} output {i}: {key} must be of type "
                                    f"{kind.__name__}; got {entry[key]!r}.")  # fmt: skip
        r = entry["rounded_to"]
        if r is not None and (isinstance(r, bool) or not isinstance(r, int) or r < 1):
            raise SdcInputError(f"{MANIFEST} output {i}: rounded_to must be null or a positive "
                                f"integer; got {r!r}.")  # fmt: skip
        if entry["image"] is not None and not isinstance(entry["image"], str):
            raise SdcInputError(f"{MANIFEST} output {i}: image must be null or a file name; "
                                f"got {entry['image']!r}.")  # fmt: skip
        for key in ("file", "evidence", "image"):
            if entry[key] is None:
                continue
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


def read_table_csv(path: Path) -> pd.DataFrame:
    """A released CSV as strings, exactly as written (empty = suppressed or open)."""
    try:
        return read_released(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SdcInputError(f"table file {path.name!r} is missing.") from None
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise SdcInputError(f"table file {path.name!r} cannot be read ({exc}).") from None


def changed_files(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Listed files whose content no longer matches the digest written by finalise."""
    changed = []
    for rel, digest in manifest["digests"].items():
        path = folder / rel
        if ".." in Path(rel).parts or not path.is_file() or sha256(path.read_bytes()) != digest:
            changed.append(rel)
    return changed


def unlisted_files(folder: Path, manifest: dict[str, Any]) -> list[str]:
    """Files in the folder that the manifest does not describe (each needs a person)."""
    known = {MANIFEST, *manifest["digests"]}
    for entry in manifest["outputs"]:
        known.update({str(Path(entry["file"])), str(Path(entry["evidence"]))})
        if entry["image"] is not None:
            known.add(str(Path(entry["image"])))
    found = sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() or p.is_symlink()
    )
    return [f for f in found if f not in known]
