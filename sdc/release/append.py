"""Adding outputs to a request folder that ``finalise`` wrote (``sdc crosstab --append``).

The folder is re-finalised as one request: every file it holds must still be the one
its manifest records (same digest; no other file), the new outputs are checked under
the same rule set and may not reuse a name, the reports are rebuilt over all outputs,
and the manifest is written again with every file's digest. A signed folder is signed
again, and only with the key that signed it (its signature must verify under that
key); an unsigned folder is not signed now, since a signature would vouch for outputs
this run did not make. As ``finalise``, the new folder is written aside and moved into
place whole.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sdc.exceptions import SdcInputError
from sdc.release.bundle import (
    _author,
    _signing_key,
    file_list,
    request_files,
    sha256,
    write_folder,
)
from sdc.release.manifest import MANIFEST, manifest_bytes, parse_manifest
from sdc.release.report import build_report, text_report
from sdc.release.safe_read import relative_path
from sdc.release.signing import SIGNATURE, signature_file, verify
from sdc.ruleset import RuleSet

if TYPE_CHECKING:
    from sdc.release.bundle import Output

_MAX_DEPTH = 64


def _refuse(folder: Path, why: str, fix: str = "Write a new folder, or pass --overwrite.") -> None:
    raise SdcInputError(f"cannot add outputs to {str(folder)!r}: {why}. {fix}")


def _old_files(folder: Path, manifest: dict[str, Any]) -> dict[str, tuple[str, str | None, bytes]]:
    """Every file the manifest lists, each checked against its recorded digest."""
    files: dict[str, tuple[str, str | None, bytes]] = {}
    for f in manifest["files"]:
        rel = relative_path(f["path"], "a manifest path")
        path = folder / rel
        if path.is_symlink() or not path.is_file():
            _refuse(folder, f"{rel} is missing or not a regular file")
        data = path.read_bytes()
        if sha256(data) != f["sha256"]:
            _refuse(folder, f"{rel} changed since finalise wrote it")
        files[rel] = (f["kind"], f["output"], data)
    listed = {MANIFEST, SIGNATURE, *files}
    for path in folder.rglob("*"):
        rel = path.relative_to(folder).as_posix()
        if rel not in listed and not (path.is_dir() and rel == "evidence"):
            _refuse(folder, f"it holds {rel}, which its manifest does not list")
    return files


def append_bundle(
    folder: str | Path,
    outputs: list[Output],
    ruleset: RuleSet,
    signing_key: str | Path | None = None,
    author: str | None = None,
) -> Path:
    """Add ``outputs`` to the request folder ``folder`` (see the module docstring)."""
    folder = Path(folder)
    if not outputs:
        raise SdcInputError("`append` needs at least one output.")
    if not (folder / MANIFEST).is_file():
        _refuse(folder, f"it has no {MANIFEST} (finalise did not write it)",
                "Leave out --append to write a new folder.")  # fmt: skip
    raw = (folder / MANIFEST).read_bytes()
    parse_manifest(raw, _MAX_DEPTH)  # structurally valid, or refused
    old = json.loads(raw)
    files = _old_files(folder, old)
    key = _signing_key(signing_key)
    signature = folder / SIGNATURE
    if signature.is_file():
        if key is None:
            _refuse(folder, "it is signed, and no signing key was given to sign it again",
                    "Give the key (SDC_SIGNING_KEY), or pass --overwrite.")  # fmt: skip
        if not verify(raw, signature.read_bytes(), [key.public_key()]).valid:
            _refuse(folder, "its signature does not verify under the signing key given")
    elif key is not None:
        _refuse(folder, "it is unsigned; signing it now would vouch for outputs this run "
                "did not make")  # fmt: skip
    if old["rules"] != ruleset.to_dict():
        _refuse(folder, "its outputs were checked under another rule set",
                "Use the same --rules, or write a new folder.")  # fmt: skip
    taken = {o["name"].casefold() for o in old["outputs"]}
    clash = [o.name for o in outputs if o.name.casefold() in taken]
    if clash:
        _refuse(folder, f"it already has an output named {clash[0]!r}", "Choose another --name.")
    who = _author(author)
    if old.get("author") is not None and who not in (None, old["author"]):
        _refuse(folder, f"its author is {old['author']!r}, not {who!r}")
    manifest, new = request_files(outputs, ruleset, old.get("author") or who)
    previous = json.loads(files["report.json"][2])
    report = build_report([], ruleset, [*previous["outputs"], *json.loads(
        new["report.json"][2])["outputs"]])  # fmt: skip
    merged = {p: v for p, v in {**files, **new}.items() if v[0] != "report"}
    merged["report.json"] = ("report", None, json.dumps(report, indent=2).encode("utf-8"))
    merged["report.txt"] = ("report", None, text_report(report).encode("utf-8"))
    manifest.update(
        linked=[*old["linked"], *manifest["linked"]],
        outputs=[*old["outputs"], *manifest["outputs"]],
        files=file_list(merged),
    )
    written = {path: data for path, (_, _, data) in merged.items()}
    written[MANIFEST] = manifest_bytes(manifest)
    if key is not None:
        written[SIGNATURE] = signature_file(written[MANIFEST], key)
    return write_folder(folder, written)
