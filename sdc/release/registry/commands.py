"""The read-only registry commands: ``sdc history`` and ``sdc audit verify``.

``add_commands(subparsers)`` adds both to a command line's sub-commands (``sdc``
calls it with its own). Exit codes: ``history`` 0, or 2 when the registry or the
request cannot be read; ``audit verify`` 0 when the log is valid, 1 when it is
broken (naming the first broken entry), 2 when the registry cannot be read or
the command is misused. ``sdc`` runs them like its other commands: with ``--json``
stdout carries exactly one JSON document, whatever happens.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

EXIT_OK, EXIT_BROKEN, EXIT_INVALID = 0, 1, 2


def history(url: str, request_id: str | None = None) -> dict[str, Any]:
    """The release history (or one request in full) as a JSON-ready document.

    Examples
    --------
    >>> import tempfile
    >>> from sdc.release.registry import open_registry
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/registry.db"
    >>> open_registry(url).close()
    >>> history(url)["releases"]
    []
    """
    from sdc.release.registry.connect import open_registry

    with open_registry(url, create=False) as reg:
        if request_id is None:
            return {"status": "ok", "registry": reg.url,
                    "releases": [r.to_dict() for r in reg.releases()]}  # fmt: skip
        return {"status": "ok", "registry": reg.url, "request": reg.request(request_id).to_dict()}


def audit_verify(url: str) -> dict[str, Any]:
    """The audit log checked, as a JSON-ready document (``status`` valid or broken).

    Examples
    --------
    >>> import tempfile
    >>> from sdc.release.registry import open_registry
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/registry.db"
    >>> open_registry(url).close()
    >>> doc = audit_verify(url)
    >>> doc["status"], doc["entries"], doc["first_broken"]
    ('valid', 0, None)
    """
    from sdc.release.registry.connect import open_registry

    with open_registry(url, create=False) as reg:
        result = reg.verify()
        return {"status": "valid" if result.valid else "broken", "registry": reg.url,
                **result.to_dict(), "message": result.message()}  # fmt: skip


def _when(at: str) -> str:
    return at[:19].replace("T", " ")


def _table(rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
                     for r in rows)  # fmt: skip


def history_text(doc: dict[str, Any]) -> str:
    """``history``'s document for people."""
    if "releases" in doc:
        if not doc["releases"]:
            return f"no releases in {doc['registry']}"
        rows = [["entry", "request", "released (UTC)", "by", "approvers", "rules", "outputs"]]
        rows += [[str(r["seq"]), r["request_id"], _when(r["released_at"]), r["released_by"],
                  ", ".join(r["approvers"]), r["rules"], ", ".join(r["outputs"])]
                 for r in doc["releases"]]  # fmt: skip
        return _table(rows)
    r = doc["request"]
    lines = [
        f"request {r['request_id']}: {r['state']}"
        + (f" (awaiting {r['awaiting']} more approval(s))" if r["awaiting"] else ""),
        f"  author: {r['author']}",
        f"  manifest: {r['manifest_digest']} ("
        + ("signed, verified" if r["manifest_verified"] else
           "signed, not verified" if r["manifest_signed"] else "unsigned") + ")",
        f"  rules: {r['ruleset_name']} {r['ruleset_hash']}",
        f"  approvals required: {r['approvals_required']}; approved by: "
        + (", ".join(r["approvers"]) or "nobody yet"),
        f"  recorded: entry {r['recorded']['seq']}, {_when(r['recorded']['at'])}",
        "outputs:",
    ]  # fmt: skip
    lines += [f"  {o['name']} ({o['kind']}): {o['verdict']}" for o in r["outputs"]]
    lines.append("decisions:")
    lines += [f"  entry {d['seq']}, {_when(d['at'])}: {d['checker']} {d['action']}: "
              f"{d['reason']}" + (f" [covers {', '.join(d['covers'])}]" if d["covers"] else "")
              for d in r["decisions"]] or ["  none"]  # fmt: skip
    rel = r["release"]
    if rel:
        lines.append(f"released: entry {rel['seq']}, {_when(rel['at'])}, by {rel['actor']}")
        files = [(p, s) for f in rel["files"].values() for p, s in f.items()]
        lines += [f"  {p}  sha256 {s}" for p, s in sorted(files + list(rel["other_files"].items()))]
    return "\n".join(lines)


#: What a command returns: its exit code, its JSON document and its text for people.
Result = tuple[int, dict[str, Any], str]


def cmd_history(args: argparse.Namespace) -> Result:
    """``sdc history``: 0, or an error (exit 2) when the registry or the request cannot be read."""
    doc = history(_registry(args), args.request)
    return EXIT_OK, doc, history_text(doc)


def cmd_audit_verify(args: argparse.Namespace) -> Result:
    """``sdc audit verify``: 0 valid, 1 broken; an error (exit 2) when it cannot be read."""
    doc = audit_verify(_registry(args))
    return (EXIT_OK if doc["status"] == "valid" else EXIT_BROKEN), doc, doc["message"]


def _registry(args: argparse.Namespace) -> str:
    from sdc.release.registry.records import bad

    if not args.registry:
        raise bad("--registry", f"sdc {args.command_name}", "a registry URL", None,
                  "Example: --registry sqlite:///registry.db")  # fmt: skip
    return str(args.registry)


def add_commands(
    subparsers: Any, wrap: Callable[[Callable[[argparse.Namespace], Result]], Any] | None = None
) -> None:
    """Add ``history`` and ``audit verify`` to a command line's sub-commands.

    Parameters
    ----------
    subparsers
        What ``ArgumentParser.add_subparsers()`` returned. Each command sets
        ``func``: called with the parsed arguments, it returns ``(exit code, JSON
        document, text)``; registry errors are raised (``SdcError``).
    wrap
        Turns each command function into what the command line calls (``sdc``
        gives its own); by default the functions as they are.

    Examples
    --------
    >>> import argparse, tempfile
    >>> from sdc.release.registry import open_registry
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/registry.db"
    >>> open_registry(url).close()
    >>> parser = argparse.ArgumentParser(prog="sdc")
    >>> add_commands(parser.add_subparsers(dest="command", required=True))
    >>> args = parser.parse_args(["audit", "verify", "--registry", url])
    >>> code, doc, text = args.func(args)
    >>> code, doc["status"], text[:26]
    (0, 'valid', 'audit log valid: 0 entries')
    """
    wrap = wrap or (lambda func: func)
    h = subparsers.add_parser("history", help="list past releases, or show one request in full")
    h.add_argument("--registry", metavar="URL", default=None,
                   help="sqlite:///path.db or postgresql://...")  # fmt: skip
    h.add_argument("--request", metavar="ID", default=None, help="show this request in full")
    h.add_argument("--json", action="store_true", help="print one JSON document")
    h.set_defaults(func=wrap(cmd_history), command_name="history")

    a = subparsers.add_parser("audit", help="check the registry's audit log")
    actions = a.add_subparsers(dest="audit_action", required=True, metavar="verify")
    v = actions.add_parser("verify", help="check the hash chain and every record against it "
                           "(exit 0 valid, 1 broken, 2 unreadable)")  # fmt: skip
    v.add_argument("--registry", metavar="URL", default=None,
                   help="sqlite:///path.db or postgresql://...")  # fmt: skip
    v.add_argument("--json", action="store_true", help="print one JSON document")
    v.set_defaults(func=wrap(cmd_audit_verify), command_name="audit verify")
