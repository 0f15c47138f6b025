"""The read-only registry commands: ``sdc history`` and ``sdc audit verify``.

``add_commands(subparsers)`` adds both to a command line's sub-commands (``sdc``
calls it with its own). Exit codes: ``history`` 0, or 2 when the registry or the
request cannot be read; ``audit verify`` 0 when the log is valid, 1 when it is
broken (naming the first broken entry), 2 when the registry cannot be read or
the command is misused. With ``--json`` stdout carries exactly one JSON document,
whatever happens (usage errors of these commands included); messages go to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from sdc.exceptions import SdcError

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


def _run(as_json: bool, work: Callable[[], tuple[int, dict[str, Any], str]]) -> int:
    """Run a command; any error is exit 2 with one line on stderr (and a JSON document)."""
    try:
        code, doc, text = work()
    except Exception as exc:  # the document must be printed whatever happens
        message = str(exc) if isinstance(exc, (SdcError, OSError)) else (
            f"internal error ({type(exc).__name__}): {exc}")  # fmt: skip
        if as_json:
            print(json.dumps({"status": "error", "error": message}, indent=2))
        print(f"sdc: error: {message}", file=sys.stderr)
        return EXIT_INVALID
    print(json.dumps(doc, indent=2) if as_json else text)
    return code


def cmd_history(args: argparse.Namespace) -> int:
    """``sdc history``: 0, or 2 when the registry or the request cannot be read."""

    def work() -> tuple[int, dict[str, Any], str]:
        doc = history(_registry(args), args.request)
        return EXIT_OK, doc, history_text(doc)

    return _run(args.json, work)


def cmd_audit_verify(args: argparse.Namespace) -> int:
    """``sdc audit verify``: 0 valid, 1 broken, 2 when the registry cannot be read."""

    def work() -> tuple[int, dict[str, Any], str]:
        doc = audit_verify(_registry(args))
        return (EXIT_OK if doc["status"] == "valid" else EXIT_BROKEN), doc, doc["message"]

    return _run(args.json, work)


def _registry(args: argparse.Namespace) -> str:
    from sdc.release.registry.records import bad

    if not args.registry:
        raise bad("--registry", f"sdc {args.command_name}", "a registry URL", None,
                  "Example: --registry sqlite:///registry.db")  # fmt: skip
    return str(args.registry)


def _json_usage_errors(parser: argparse.ArgumentParser) -> None:
    """Usage errors of ``parser`` print a JSON document too when ``--json`` was given.

    argparse reports a usage error through ``parser.error`` (exit 2). The wrapped
    ``parse_known_args`` notes ``--json`` in the command's own arguments, and
    reports arguments the command does not know itself instead of leaving them to
    the parent parser.
    """
    plain_parse, plain_error = parser.parse_known_args, parser.error
    wants_json = [False]

    def parse_known_args(args: Sequence[str] | None = None, namespace: Any = None) -> Any:
        wants_json[0] = args is not None and "--json" in args
        known, extra = plain_parse(args, namespace)
        if extra:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        return known, extra

    def error(message: str) -> Any:
        if wants_json[0]:
            print(json.dumps({"status": "error", "error": message}, indent=2))
            print(f"sdc: error: {message}", file=sys.stderr)
            raise SystemExit(EXIT_INVALID)
        plain_error(message)

    setattr(parser, "parse_known_args", parse_known_args)  # noqa: B010
    setattr(parser, "error", error)  # noqa: B010


def add_commands(subparsers: Any) -> None:
    """Add ``history`` and ``audit verify`` to a command line's sub-commands.

    Parameters
    ----------
    subparsers
        What ``ArgumentParser.add_subparsers()`` returned. Each command sets
        ``func`` (call it with the parsed arguments; it returns the exit code).

    Examples
    --------
    >>> import argparse, tempfile
    >>> from sdc.release.registry import open_registry
    >>> url = f"sqlite:///{tempfile.mkdtemp()}/registry.db"
    >>> open_registry(url).close()
    >>> parser = argparse.ArgumentParser(prog="sdc")
    >>> add_commands(parser.add_subparsers(dest="command", required=True))
    >>> args = parser.parse_args(["audit", "verify", "--registry", url])
    >>> args.func(args)  # doctest: +ELLIPSIS
    audit log valid: 0 entries, head 0 0000...
    0
    """
    h = subparsers.add_parser("history", help="list past releases, or show one request in full")
    h.add_argument("--registry", metavar="URL", default=None,
                   help="sqlite:///path.db or postgresql://...")  # fmt: skip
    h.add_argument("--request", metavar="ID", default=None, help="show this request in full")
    h.add_argument("--json", action="store_true", help="print one JSON document")
    h.set_defaults(func=cmd_history, command_name="history")
    _json_usage_errors(h)

    a = subparsers.add_parser("audit", help="check the registry's audit log")
    actions = a.add_subparsers(dest="audit_action", required=True, metavar="verify")
    v = actions.add_parser("verify", help="check the hash chain and every record against it "
                           "(exit 0 valid, 1 broken, 2 unreadable)")  # fmt: skip
    v.add_argument("--registry", metavar="URL", default=None,
                   help="sqlite:///path.db or postgresql://...")  # fmt: skip
    v.add_argument("--json", action="store_true", help="print one JSON document")
    v.set_defaults(func=cmd_audit_verify, command_name="audit verify")
    _json_usage_errors(a)
    _json_usage_errors(v)
