"""What leaves, and the release summary that goes with it (``release.json``).

From the gate's report alone: a file leaves when its output passes, or is
``review`` and an approval names it (``covered``); evidence, the session's
reports, the manifest and anything the manifest does not describe never do. A
plot leaves with its output, and only if it was redrawn identical at the gate.

The summary names each output of the request, its verdict, whether it leaves
(and, when it does not, one fixed phrase saying why), the rules applied to it and
the SHA-256 and size of each file that leaves. It holds no cell, no label, no
reason or message of the report and no checker's words: nothing that could pair a
hidden cell with its value, count, sum or contributors.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from typing import Any

from sdc.ruleset import RuleSet

#: Name of the release summary in the egress folder.
SUMMARY = "release.json"
SUMMARY_FORMAT = "sdc-engine release summary"
SUMMARY_VERSION = "1.0"
#: The statistic class of the rules applied to each kind of output.
_RULES_OF_KIND = {"regression": "coefficients", "survival": "survival", "microdata": "microdata"}
_WHY_NOT = {
    "fail": "it fails its checks",
    "review": "it needs review and no approval names it",
    "missing": "the gate has no verdict on it",
}


def leaving(report: Mapping[str, Any], covered: Collection[str]) -> dict[str, list[str]]:
    """``{output: [paths]}`` of every file that leaves, given the review outputs ``covered``.

    Examples
    --------
    >>> report = {"files": [
    ...     {"path": "a.csv", "kind": "table", "output": "a", "leaves": "yes"},
    ...     {"path": "b.csv", "kind": "table", "output": "b", "leaves": "with approval"},
    ...     {"path": "evidence/a.json", "kind": "evidence", "output": "a", "leaves": "no"}]}
    >>> leaving(report, covered=[]), leaving(report, covered=["b"])
    ({'a': ['a.csv']}, {'a': ['a.csv'], 'b': ['b.csv']})
    """
    out: dict[str, list[str]] = {}
    for f in report.get("files", []):
        owner, how = f.get("output"), f.get("leaves")
        if owner is None or how not in ("yes", "with approval"):
            continue
        if how == "with approval" and owner not in covered:
            continue
        out.setdefault(owner, []).append(f["path"])
    return out


def rules_applied(ruleset: RuleSet, kind: str, statistic: str | None) -> list[str]:
    """The rule ids the gate applied to an output of ``kind`` publishing ``statistic``."""
    stat = _RULES_OF_KIND.get(kind, statistic)
    try:
        return list(ruleset.rules_for(str(stat)))
    except KeyError:
        return []


def release_summary(
    result: Any,
    files: Mapping[str, Mapping[str, bytes]],
    *,
    request_id: str,
    approvers: Collection[str],
    released_at: str,
) -> dict[str, Any]:
    """The release summary of ``result`` (a :class:`~sdc.release.gate.GateResult`) when the
    files ``{output: {path: bytes}}`` leave."""
    report, ruleset = result.report, result.ruleset
    verdicts = {o["name"]: o for o in report["outputs"]}
    outputs = []
    for entry in result.manifest.outputs:
        o = verdicts.get(entry.name)
        verdict = o["status"] if o is not None else "missing"
        mine = files.get(entry.name, {})
        item: dict[str, Any] = {
            "name": entry.name,
            "kind": entry.kind,
            "statistic": entry.statistic,
            "verdict": verdict if verdict != "missing" else "fail",
            "leaves": bool(mine),
            "why_not": None if mine else _WHY_NOT[verdict if verdict in _WHY_NOT else "fail"],
            "rules": rules_applied(ruleset, entry.kind, entry.statistic),
            "linked": next((list(g) for g in result.manifest.linked if entry.name in g), None),
            "files": [
                {"path": p, "sha256": hashlib.sha256(b).hexdigest(), "bytes": len(b)}
                for p, b in sorted(mine.items())
            ],
        }
        outputs.append(item)
    trust = report.get("trust", {})
    return {
        "format": SUMMARY_FORMAT,
        "version": SUMMARY_VERSION,
        "request_id": request_id,
        "manifest_sha256": result.manifest_sha256,
        "released_at": released_at,
        "approved_by": sorted(approvers),
        "rules": {
            "name": ruleset.name,
            "settings_sha256": ruleset.settings_sha256(),
            "parameters": {
                rid: _plain(ruleset.params[rid])
                for rid in sorted({r for o in outputs for r in o["rules"]})
            },
        },
        "trust": {k: trust.get(k) for k in ("signature", "key_id", "trust_unsigned")},
        "outputs": outputs,
    }


def _plain(params: Any) -> dict[str, Any]:
    import dataclasses

    return {
        k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(params).items()
    }


def summary_bytes(summary: Mapping[str, Any]) -> bytes:
    """The summary as written: indented JSON, ASCII, one final line feed."""
    import json

    return (json.dumps(summary, indent=2, ensure_ascii=True, allow_nan=False) + "\n").encode()
