"""The request folder a session writes (``finalise``) and a gate reads.

Layout::

    <folder>/manifest.json          every output (with its definition) and every file, with
                                    its kind, SHA-256 digest and size (sdc.release.manifest)
    <folder>/manifest.sig           the trusted runner's Ed25519 signature of the manifest,
                                    when a signing key is given (sdc.release.signing)
    <folder>/<name>.csv             the released data: a table (one row per cell, a column
                                    per dimension and one value column, empty where
                                    suppressed), a coefficient table or a survival table,
                                    in their one serialisation (sdc.canonical)
    <folder>/<name>.svg             a plot, when one was asked for: drawn from the CSV only
                                    (see :mod:`sdc.plots`)
    <folder>/<name>.csv             for microdata (``assess_microdata``): the assessed records,
                                    written only when the assessment passes
    <folder>/<name><suffix>         a custom output (``custom_output``): the file as it was
                                    given, for a person to review (sdc.release.custom)
    <folder>/evidence/<name>.json   per-cell evidence the gate re-checks (stays inside the TRE:
                                    it holds the largest contributions)
    <folder>/report.json, report.txt  the session's verdicts (the gate writes its own; these
                                    never leave: they may show what the released files hide)

The manifest also records the request's author (``finalise(author=...)``, else
``SDC_AUTHOR``), who may never approve it, the sets of tables protected
jointly (``protect_linked``), which the gate audits jointly, and the researcher's
exceptions and comments for the checker (``add_exception``, ``add_comment``).

The folder is assembled beside its destination and moved into place whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdc._version import __version__
from sdc.exceptions import SdcInputError
from sdc.plots import draw
from sdc.release.custom import CUSTOM, CustomOutput
from sdc.release.manifest import (
    DATA_KIND,
    MANIFEST,
    MANIFEST_VERSION,
    REPORT_FILES,
    data_path,
    evidence_path,
    manifest_bytes,
    name_problem,
    plot_path,
)
from sdc.release.report import annotate, build_report, text_report
from sdc.release.signing import SIGNATURE, load_private_key, signature_file
from sdc.ruleset import RuleSet
from sdc.tables.output import TableOutput

if TYPE_CHECKING:
    from sdc.differencing.result import DifferencingResult
    from sdc.microdata.output import MicrodataOutput
    from sdc.regression.output import RegressionOutput
    from sdc.regression.survival import SurvivalOutput

    Output = TableOutput | RegressionOutput | SurvivalOutput | MicrodataOutput | CustomOutput

#: Environment variable naming the signing key when ``finalise`` is given none.
SIGNING_KEY_ENV = "SDC_SIGNING_KEY"
#: Environment variable naming the request's author when ``finalise`` is given none.
AUTHOR_ENV = "SDC_AUTHOR"


@dataclass
class Notes:
    """What the researcher tells the checker: a case for releasing an output (``exceptions``,
    by output name) and comments (on an output, or on the request when None)."""

    exceptions: dict[str, str] = field(default_factory=dict)
    comments: list[tuple[str | None, str]] = field(default_factory=list)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _signing_key(signing_key: str | Path | None) -> Any:
    if signing_key is None:
        signing_key = os.environ.get(SIGNING_KEY_ENV) or None
    return None if signing_key is None else load_private_key(signing_key)


def _check_folder(folder: Path, overwrite: bool) -> None:
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


def _entry(out: Output) -> dict[str, Any]:
    protected = isinstance(out, TableOutput) and out.protected_applied
    rounded_to = out.protected.rounded_to if isinstance(out, TableOutput) and protected else None
    return {
        "name": out.name,
        "kind": out.kind,
        "statistic": out.statistic,
        "value_name": out.value_name,
        "protected": protected,
        "rounded_to": rounded_to,
        "status": out.status.value,
        "definition": getattr(out, "definition", None),
    }


def _author(author: str | None) -> str | None:
    if author is None:
        author = os.environ.get(AUTHOR_ENV) or None
    if author is None:
        return None
    if (
        not isinstance(author, str)
        or not author.strip()
        or len(author) > 200
        or any(ord(c) < 32 or ord(c) == 127 for c in author)
    ):
        raise SdcInputError(
            f"`author` of `Session.finalise` must be one line of text (at most 200 "
            f"characters) naming who makes the request; got {author!r}."
        )
    return author.strip()


def linked_sets(outputs: list[Output]) -> list[list[str]]:
    """The sets of tables protected jointly, as their definitions record them (members that
    were removed from the session are left out; a set needs two tables still there)."""
    named = {o.name: o for o in outputs}
    groups: list[list[str]] = []
    for out in outputs:
        definition = getattr(out, "definition", None) or {}
        linked = (definition.get("protection") or {}).get("linked")
        if definition.get("call") != "protect_linked" or not linked:
            continue
        members = [
            n for n in linked
            if n in named and ((getattr(named[n], "definition", None) or {}).get("protection")
                               or {}).get("linked") == linked
        ]  # fmt: skip
        if len(members) >= 2 and members not in groups:
            groups.append(members)
    return groups


def request_files(
    outputs: list[Output],
    ruleset: RuleSet,
    author: str | None = None,
    notes: Notes | None = None,
    differencing: DifferencingResult | None = None,
) -> tuple[dict[str, Any], dict]:
    """The manifest (as data) and every file of the request: ``{path: (kind, output, bytes)}``.

    ``notes``: the researcher's exceptions and comments for the checker.
    ``differencing``: the session's differencing check, recorded in its report."""
    notes = notes or Notes()
    files: dict[str, tuple[str, str | None, bytes]] = {}
    seen: set[str] = set()
    for out in outputs:
        problem = name_problem(out.name)
        if problem:
            raise SdcInputError(f"output {out.name!r} cannot be written: {problem}.")
        if out.name.casefold() in seen:
            raise SdcInputError(
                f"two outputs are named {out.name!r} up to case; they would share files."
            )
        seen.add(out.name.casefold())
        if isinstance(out, CustomOutput):
            if out.path in files or out.path in (*REPORT_FILES, MANIFEST, SIGNATURE):
                raise SdcInputError(
                    f"custom output {out.name!r} cannot be written: its file {out.path!r} is "
                    "the name of another file of the request; give it another name."
                )
            files[out.path] = (CUSTOM, out.name, out.data)
            continue
        if out.kind == "microdata" and out.status.value != "pass":
            csv_text = ""  # record-level data is written only when its assessment passes
        else:
            csv_text = out.released_csv()
            files[data_path(out.name)] = (DATA_KIND[out.kind], out.name, csv_text.encode("utf-8"))
        evidence = json.dumps(out.evidence_dict(), separators=(",", ":"), allow_nan=False)
        files[evidence_path(out.name)] = ("evidence", out.name, evidence.encode("utf-8"))
        if out.plot:
            svg = draw(out.kind, out.statistic, csv_text, out.name)
            files[plot_path(out.name)] = ("plot", out.name, svg.encode("utf-8"))
    report = annotate(build_report(outputs, ruleset), notes.exceptions, notes.comments)
    if differencing is not None:
        from sdc.differencing.report import add_to_report

        report = add_to_report(report, differencing)
    files["report.json"] = ("report", None, json.dumps(report, indent=2).encode("utf-8"))
    files["report.txt"] = ("report", None, text_report(report).encode("utf-8"))
    manifest = {
        "schema_version": MANIFEST_VERSION,
        "producer": f"sdc-engine {__version__}",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "author": author,
        "rules": ruleset.to_dict(),
        "linked": linked_sets(outputs),
        "exceptions": [{"output": n, "reason": r} for n, r in notes.exceptions.items()],
        "comments": [{"output": n, "text": t} for n, t in notes.comments],
        "outputs": [_entry(out) for out in outputs],
        "files": file_list(files),
    }
    return manifest, files


def file_list(files: dict[str, tuple[str, str | None, bytes]]) -> list[dict[str, Any]]:
    """The manifest's ``files``: each file's path, kind, output, SHA-256 digest and size."""
    return [
        {"path": path, "kind": kind, "output": output, "sha256": sha256(data),
         "bytes": len(data)}
        for path, (kind, output, data) in files.items()
    ]  # fmt: skip


def write_bundle(
    folder: Path,
    outputs: list[Output],
    ruleset: RuleSet,
    overwrite: bool = False,
    signing_key: str | Path | None = None,
    author: str | None = None,
    notes: Notes | None = None,
    differencing: DifferencingResult | None = None,
) -> Path:
    """Write outputs, evidence, the session's report, the manifest and its signature.

    ``signing_key``: an Ed25519 private key (PEM) to sign the manifest with; by default
    the one named by ``SDC_SIGNING_KEY``, if set (unsigned otherwise). ``author``: who
    makes the request (default: ``SDC_AUTHOR``, if set); they may never approve it. An error
    leaves nothing half-written. ``overwrite`` replaces only a folder that an
    earlier ``finalise`` wrote (it has a manifest); any other non-empty folder is refused.
    """
    if not outputs:
        raise SdcInputError("`finalise` needs at least one output; the session has none.")
    _check_folder(folder, overwrite)
    key = _signing_key(signing_key)
    manifest, files = request_files(outputs, ruleset, _author(author), notes, differencing)
    written = {path: data for path, (_, _, data) in files.items()}
    written[MANIFEST] = manifest_bytes(manifest)
    if key is not None:
        written[SIGNATURE] = signature_file(written[MANIFEST], key)
    return write_folder(folder, written)


def write_folder(folder: Path, written: dict[str, bytes]) -> Path:
    """Write ``{relative path: bytes}`` beside ``folder`` and move it into place whole
    (replacing what was there); nothing is left half-written."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
        try:
            (staging / "evidence").mkdir()
            for rel, data in written.items():
                (staging / rel).write_bytes(data)
            if folder.exists():
                shutil.rmtree(folder) if any(folder.iterdir()) else folder.rmdir()
            os.replace(staging, folder)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    except OSError as exc:
        raise SdcInputError(f"cannot write the output folder {str(folder)!r}: {exc}.") from None
    return folder
