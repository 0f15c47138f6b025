"""The ``sdc`` command: exit 0 pass, 1 fail, 3 review, 2 invalid input or usage.

With ``--json`` (every command takes it) stdout holds exactly one JSON document,
whatever happens; anything a library prints goes to stderr (see :func:`main`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sdc.exceptions import SdcInputError, SdcRefusedDecision, SdcRegistryError
from sdc.verdict import Status

if TYPE_CHECKING:
    import pandas as pd

EXIT_INVALID = 2
#: Exit code when stdout was closed before the output was written (as a shell reports a
#: process ended by SIGPIPE): not a verdict.
EXIT_PIPE = 141
#: Version of the document ``--json`` prints when there is no report (see error_schema).
DOCUMENT_VERSION = "1.0"


class _Usage(Exception):
    """A command line argparse refuses."""


class _Help(Exception):
    """``--help``: the text to show instead of running a command."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Usage(f"{message} (see 'sdc --help')")

    def print_help(self, file: Any = None) -> None:
        raise _Help(self.format_help())

    def print_usage(self, file: Any = None) -> None:
        raise _Help(self.format_usage())

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        if status:
            raise _Usage((message or "invalid usage").strip())
        raise _Help(message or "")


@dataclass(frozen=True)
class Outcome:
    """What a command produced: its exit code, its JSON document and its text."""

    code: int
    document: dict[str, Any]
    text: str = ""
    error: str = ""


def _columns(text: str | None) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()] if text else []


def _reported(report: dict[str, Any], tables: str = "", code: int | None = None) -> Outcome:
    from sdc.release.report import text_report

    text = (tables + "\n" if tables else "") + text_report(report)
    exit_code = Status(report["status"]).exit_code if code is None else code
    return Outcome(exit_code, report, text)


@contextmanager
def _registry(args: argparse.Namespace) -> Iterator[Any]:
    """The release registry ``check --registry`` names for differencing (or None), open."""
    url = getattr(args, "differencing_registry", None)
    if url is None:
        yield None
        return
    from sdc.release.registry import open_registry

    with open_registry(url, create=False) as registry:
        yield registry


def _gate(args: argparse.Namespace) -> Any:
    from sdc.release.gate import check_request

    with _registry(args) as registry:
        return check_request(
            args.folder, args.rules, trust_keys=args.trust_key or [],
            trust_unsigned=args.trust_unsigned, data=args.data, registry=registry,
        )  # fmt: skip


def _cmd_check(args: argparse.Namespace) -> Outcome:
    if not args.report:
        from sdc.release.gate import check_folder

        with _registry(args) as registry:
            return _reported(check_folder(
                args.folder, args.rules, trust_keys=args.trust_key or [],
                trust_unsigned=args.trust_unsigned, data=args.data, registry=registry,
            ))  # fmt: skip
    from sdc.release.html_report import write_html_report
    from sdc.release.workflow import preview

    result = _gate(args)
    title = f"Output check report: {Path(args.folder).name}"
    write_html_report(result.report, args.report, release=preview(result), title=title)
    return _reported(result.report)


def _cmd_release(args: argparse.Namespace) -> Outcome:
    from sdc.release.workflow import NothingLeaves, release_request, release_text

    action = "approve" if args.approve else "reject" if args.reject else "request-changes"
    try:
        doc = release_request(
            args.folder, registry=args.registry, by=args.by, action=action, reason=args.reason,
            out=args.out, rules=args.rules, trust_keys=args.trust_key or [],
            trust_unsigned=args.trust_unsigned, data=args.data,
        )  # fmt: skip
    except NothingLeaves as exc:
        return _error(Status.FAIL.exit_code, "refused", _one_line(str(exc)))
    except SdcRefusedDecision as exc:
        return _error(EXIT_INVALID, "refused", _one_line(str(exc)))
    code = 3 if doc["state"]["state"] == "pending" else 0
    document = {"schema_version": DOCUMENT_VERSION, "status": "ok", "exit_code": code, **doc}
    return Outcome(code, document, release_text(doc))


def _cmd_export_sacro(args: argparse.Namespace) -> Outcome:
    from sdc.release.sacro import export_sacro

    written = export_sacro(_gate(args), args.out)
    document = {"schema_version": DOCUMENT_VERSION, "status": "ok", "exit_code": 0, **written}
    text = (
        f"wrote {written['folder']}/results.json for SACRO-Viewer ({len(written['outputs'])} "
        f"output(s); files: {', '.join(written['files'])})"
    )
    return Outcome(0, document, text)


def _trust_options(c: argparse.ArgumentParser) -> None:
    """The gate's rule and trust options (``check``, ``release``, ``export-sacro``)."""
    c.add_argument(
        "--rules", default=None,
        help="the gate's rule set: preset or TOML path (default: $SDC_RULES, else 'default'; "
             "never the request's)",
    )  # fmt: skip
    c.add_argument(
        "--trust-key", action="append", metavar="PUBLIC",
        help="a public key (PEM) whose signature authenticates a request (repeatable)",
    )  # fmt: skip
    c.add_argument(
        "--trust-unsigned", action="store_true",
        help="take an unsigned request's files as finalise wrote them (said in the report)",
    )  # fmt: skip
    c.add_argument("--data", default=None, metavar="PATH",
                   help="CSV/Parquet data to recompute the outputs from")  # fmt: skip


def _cmd_keygen(args: argparse.Namespace) -> Outcome:
    from sdc.release.signing import generate_keys

    key_id = generate_keys(args.private, args.public)
    document = {
        "schema_version": DOCUMENT_VERSION, "status": "ok", "exit_code": 0,
        "key_id": key_id, "private_key": str(args.private), "public_key": str(args.public),
    }  # fmt: skip
    text = (
        f"wrote the private key {args.private} (keep it for the trusted runner only) and the "
        f"public key {args.public}; key id {key_id}"
    )
    return Outcome(0, document, text)


def _cmd_check_model(args: argparse.Namespace) -> Outcome:
    from sdc.models.check import check_model_file
    from sdc.release.report import build_report
    from sdc.ruleset import RuleSet

    ruleset = RuleSet.load(args.rules)
    outputs = [check_model_file(f, ruleset, n_records=args.records) for f in args.files]
    return _reported(build_report(outputs, ruleset))


def _cmd_crosstab(args: argparse.Namespace) -> Outcome:
    from sdc.io import read_microdata
    from sdc.release.report import build_report
    from sdc.session import Session
    from sdc.tables.output import TableOutput
    from sdc.tables.sources.spec import MERGEABLE
    from sdc.tables.statistics import AGGFUNC_ALIASES

    rows, cols = _columns(args.index), _columns(args.columns)
    if not rows:
        raise SdcInputError("`--index` of `sdc crosstab` must name at least one column.")
    if (args.values is None) != (args.aggfunc is None):
        raise SdcInputError("`--values` and `--aggfunc` of `sdc crosstab` go together.")
    s = Session(rules=args.rules, suppress=args.suppress)
    measured = [args.values, args.aggfunc] if args.values else []
    options = dict(
        index=rows, columns=cols or None, values=args.values, aggfunc=args.aggfunc or "count",
        margins=args.margins, contributor=args.contributor,
        name=_output_name(args, "crosstab", [*rows, *cols, *measured]),
    )  # fmt: skip
    if AGGFUNC_ALIASES.get(options["aggfunc"]) in MERGEABLE:
        # Streamed batch by batch: memory holds a batch and the table's cells, not the file.
        out = s.pivot_table(args.data, progress=True, **options)
    elif len(args.data) == 1:
        text_cols = rows + cols + ([args.contributor] if args.contributor else [])
        out = s.pivot_table(read_microdata(args.data[0], text_cols, args.values), **options)
    else:
        raise SdcInputError(
            f"`--aggfunc {args.aggfunc}` of `sdc crosstab` needs every row in memory: give one "
            f"data file, or one of {', '.join(MERGEABLE)}."
        )
    assert isinstance(out, TableOutput)  # one statistic of one column
    _finalise(s, args)
    shown = out.protected_table if out.protected_applied else out.table
    return _reported(build_report([out], s.ruleset_), shown.to_string())


def _hierarchy_files(items: list[str], dims: list[str]) -> dict[str, Path]:
    """``--hierarchy DIM=PATH`` options as ``{dim: path}``, each naming a table dimension."""
    out: dict[str, Path] = {}
    for item in items:
        dim, sep, path = (x.strip() for x in item.partition("="))
        if not sep or not dim or not path:
            raise SdcInputError(
                f"`--hierarchy` of `sdc protect` must be DIM=PATH; got {item!r}. "
                "Example: --hierarchy region=regions.csv"
            )
        if dim not in dims:
            raise SdcInputError(
                f"`--hierarchy` of `sdc protect` must name a dimension of the table "
                f"({', '.join(dims)}); got {dim!r}. Add it to --index or --columns."
            )
        if dim in out:
            raise SdcInputError(f"`--hierarchy` of `sdc protect` names {dim!r} twice.")
        if not Path(path).is_file():
            raise SdcInputError(
                f"hierarchy file {path!r} for {dim!r} does not exist or is not a file."
            )
        out[dim] = Path(path)
    return out


def _frequency_records(args: argparse.Namespace, dims: list[str]) -> pd.DataFrame:
    """The records of a frequency table (``--freq``), validated."""
    from sdc.io import read_microdata
    from sdc.tables.frequencies import records_from_frequencies
    from sdc.tables.model import TOTAL_LABEL

    for given, flag in ((args.values, "--values"), (args.aggfunc, "--aggfunc"),
                        (args.contributor, "--contributor")):  # fmt: skip
        if given is not None:
            raise SdcInputError(
                f"`--freq` of `sdc protect` excludes `{flag}`: a frequency table holds counts "
                "only, without contributors."
            )
    if args.freq in dims:
        raise SdcInputError(
            f"`--freq` of `sdc protect` must name the count column, not a dimension; "
            f"got {args.freq!r}."
        )
    frame = read_microdata(args.data, dims, args.freq)
    where = f"data file {Path(args.data).name!r}"
    if args.total_label is None:
        for d in dims:
            if frame[d].astype(str).eq(TOTAL_LABEL).any():
                raise SdcInputError(
                    f"{where}: column {d!r} has the code {TOTAL_LABEL!r}, the label of the "
                    f"margins sdc adds. If those rows are totals, pass --total-label "
                    f"{TOTAL_LABEL}; otherwise rename that code."
                )
    return records_from_frequencies(
        frame, dims, args.freq, total_label=args.total_label, where=where
    )


def _cmd_protect(args: argparse.Namespace) -> Outcome:
    from sdc.io import read_microdata
    from sdc.release.report import build_report
    from sdc.session import Session
    from sdc.tables.output import TableOutput

    rows, cols = _columns(args.index), _columns(args.columns)
    if not rows:
        raise SdcInputError("`--index` of `sdc protect` must name at least one column.")
    dims = rows + cols
    if args.total_label is not None and args.freq is None:
        raise SdcInputError("`--total-label` of `sdc protect` goes with `--freq`.")
    if args.audit_rounds is not None and not 0 <= args.audit_rounds <= 1000:
        raise SdcInputError(
            f"`--audit-rounds` of `sdc protect` must be an integer in [0, 1000]; "
            f"got {args.audit_rounds}."
        )
    hierarchies = _hierarchy_files(args.hierarchy or [], dims)
    if args.freq is not None:
        frame = _frequency_records(args, dims)
    else:
        if (args.values is None) != (args.aggfunc is None):
            raise SdcInputError("`--values` and `--aggfunc` of `sdc protect` go together.")
        text_cols = dims + ([args.contributor] if args.contributor else [])
        frame = read_microdata(args.data, text_cols, args.values)
    s = Session(rules=args.rules, suppress=True)
    measured = [args.values, args.aggfunc] if args.values else []
    out = s.pivot_table(
        frame, index=rows, columns=cols or None, values=args.values,
        aggfunc=args.aggfunc or "count", margins=True, contributor=args.contributor,
        name=_output_name(args, "protect", [*dims, *measured]),
        hierarchies=hierarchies or None,
    )  # fmt: skip
    assert isinstance(out, TableOutput)  # one statistic of one column
    hide, publish = _cells_given(args.hide_cell), _cells_given(args.publish_cell)
    options = {
        "secondary_zeros": args.secondary_zeros, "singletons": args.singletons,
        "audit_rounds": args.audit_rounds, "exact_intervals": args.exact_intervals,
        "cost": args.cost, "clean_up": args.clean_up, "small_counts": args.small_counts,
        "threshold": args.protection_threshold,
    }  # fmt: skip
    protected = _with_progress(lambda: out.protect(**options, hide=hide, publish=publish))
    released = s.outputs[out.name]  # the session keeps the table as protected, with options
    _finalise(s, args)
    return _reported(build_report([released], s.ruleset_), protected.table.to_string())


def _with_progress(work: Any) -> Any:
    """Run ``work()`` with a progress line on a terminal's stderr (never on stdout)."""
    from sdc.protection.progress import reporting
    from sdc.tables.sources.progress import ProgressLine

    bar = ProgressLine()
    try:
        with reporting(bar):
            return work()
    finally:
        bar.close()


def _cells_given(items: list[str] | None) -> list[dict[str, str]] | None:
    """``--hide-cell`` / ``--publish-cell`` values (``DIM=LABEL,DIM=LABEL``) as label dicts."""
    cells = []
    for item in items or ():
        cell = {}
        for part in item.split(","):
            dim, sep, label = (x.strip() for x in part.partition("="))
            if not sep or not dim:
                raise SdcInputError(
                    f"a cell given to `sdc protect` must be DIM=LABEL[,DIM=LABEL...]; got "
                    f"{item!r}. Example: --hide-cell region=W,age=40-64"
                )
            cell[dim] = label
        cells.append(cell)
    return cells or None


def _cmd_assess(args: argparse.Namespace) -> Outcome:
    from sdc.io import read_microdata
    from sdc.release.report import build_report
    from sdc.session import Session

    keys, sensitive = _columns(args.keys), _columns(args.sensitive)
    if not keys:
        raise SdcInputError("`--keys` of `sdc assess` must name at least one column.")
    text_cols = keys + sensitive + ([args.contributor] if args.contributor else [])
    frame = read_microdata(args.data, text_cols, args.weight)
    s = Session(rules=args.rules)
    out = s.assess_microdata(frame, keys, sensitive or None, weight=args.weight,
                             contributor=args.contributor, name=args.name)  # fmt: skip
    k = int(s.ruleset_.params["k-anonymity"].t)
    measures = (
        f"{out.n} records; {out.violations(k)} with fewer than {k} sharing their key; expected "
        f"re-identifications {out.expected_reidentifications:.4g} ({100 * out.global_risk:.3g} %)"
    )
    return _reported(build_report([out], s.ruleset_), measures)


def _cmd_rules(args: argparse.Namespace) -> Outcome:
    from sdc.ruleset import RuleSet, preset_names

    if args.action == "list":
        presets = [(name, RuleSet.load(name).description) for name in preset_names()]
        text = "\n".join(f"{name}: {description}" for name, description in presets)
        document: dict[str, Any] = {"presets": [{"name": n, "description": d} for n, d in presets]}
    else:
        if not args.name:
            raise SdcInputError("`sdc rules show` needs a preset name or a TOML path.")
        ruleset = RuleSet.load(args.name)
        text, document = ruleset.to_toml().rstrip("\n"), {"rules": ruleset.to_dict()}
    return Outcome(0, {"schema_version": DOCUMENT_VERSION, "status": "ok", "exit_code": 0,
                       **document}, text)  # fmt: skip


def _cmd_example(args: argparse.Namespace) -> Outcome:
    from sdc.example import run_example
    from sdc.release.report import build_report
    from sdc.tables.output import TableOutput

    s = run_example(args.rules)
    tables = "\n\n".join(
        f"{name}\n{o.table.to_string() if isinstance(o, TableOutput) else o.summary()}"
        for name, o in s.outputs.items()
    )
    report = build_report(list(s.outputs.values()), s.ruleset_)
    code = Status(report["status"]).exit_code if args.strict else 0
    return _reported(report, tables + "\n", code)


def _request_options(c: argparse.ArgumentParser, command: str) -> None:
    """``--name``, ``--out``, ``--append``, ``--overwrite``: one request, several commands."""
    c.add_argument(
        "--name", default=None,
        help=f"output name (default: {command}_ and its columns, made unique)",
    )  # fmt: skip
    c.add_argument("--out", default=None, help="also write the finalised request folder here")
    how = c.add_mutually_exclusive_group()
    how.add_argument(
        "--append", action="store_true",
        help="add the output to the request folder --out (re-finalised as one)",
    )  # fmt: skip
    how.add_argument(
        "--overwrite", action="store_true",
        help="replace the request folder --out (one finalise wrote)",
    )  # fmt: skip


def _output_name(args: argparse.Namespace, command: str, parts: list[str]) -> str:
    """``--name``, or the command and its columns, unique in the folder appended to."""
    if (args.append or args.overwrite) and not args.out:
        raise SdcInputError(f"`--append` and `--overwrite` of `sdc {command}` go with `--out`.")
    if args.name is not None:
        return str(args.name)
    base = re.sub(r"[^A-Za-z0-9_-]+", "_", "_".join([command, *parts])).strip("_")[:80]
    taken: set[str] = set()
    manifest = Path(args.out) / "manifest.json" if args.out else None
    if args.append and manifest is not None and manifest.is_file():
        try:
            taken = {str(o.get("name")).casefold()
                     for o in json.loads(manifest.read_bytes()).get("outputs", [])}  # fmt: skip
        except (ValueError, AttributeError):
            taken = set()  # append_bundle refuses the folder with its reason
    name, i = base, 1
    while name.casefold() in taken:
        i += 1
        name = f"{base}_{i}"
    return name


def _finalise(s: Any, args: argparse.Namespace) -> None:
    """Write the request folder of ``--out``; what finalise warns about (outputs that do
    not pass) is one line on stderr, never on stdout."""
    if not args.out:
        return
    import warnings

    from sdc.exceptions import SdcReleaseWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SdcReleaseWarning)
        s.finalise(args.out, overwrite=args.overwrite, append=args.append)
    for w in caught:
        if issubclass(w.category, SdcReleaseWarning):
            print(f"sdc: warning: {_one_line(str(w.message))}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sdc", description="Statistical disclosure control for research outputs.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("check", help="re-check a request folder written by Session.finalise")
    c.add_argument("folder")
    _trust_options(c)
    c.add_argument(
        "--report",
        default=None,
        metavar="HTML",
        help="also write the checker's HTML report (with what would leave) here",
    )
    c.add_argument(
        "--registry", default=None, metavar="URL", dest="differencing_registry",
        help="release registry (sqlite:///path or postgresql://...): check the outputs "
             "against earlier releases of the same data for differencing (needs --data)",
    )  # fmt: skip
    c.add_argument("--json", action="store_true", help="print the JSON report")
    c.set_defaults(func=_cmd_check)

    rl = sub.add_parser(
        "release", help="re-check a request, record a decision and, once approved, write the "
        "egress folder",
    )  # fmt: skip
    rl.add_argument("folder", help="the request folder (written by Session.finalise)")
    rl.add_argument("--registry", required=True, metavar="URL",
                    help="sqlite:///path.db or postgresql://...")  # fmt: skip
    rl.add_argument("--by", required=True, metavar="ID", help="who decides (the checker)")
    decision = rl.add_mutually_exclusive_group(required=True)
    decision.add_argument("--approve", action="store_true",
                          help="approve; the reason must name each review output that may "
                          "leave")  # fmt: skip
    decision.add_argument("--reject", action="store_true", help="reject the request")
    decision.add_argument("--request-changes", action="store_true",
                          help="send the request back for changes")  # fmt: skip
    rl.add_argument("--reason", required=True, metavar="TEXT",
                    help="why (kept in the audit log; never released)")  # fmt: skip
    rl.add_argument("--out", default=None, metavar="EGRESS",
                    help="with --approve: a new folder for what leaves (written once the "
                    "request has all its approvals)")  # fmt: skip
    _trust_options(rl)
    rl.add_argument("--json", action="store_true", help="print one JSON document")
    rl.set_defaults(func=_cmd_release)

    xs = sub.add_parser(
        "export-sacro", help="write a request as SACRO-Viewer opens it (ACRO's results.json)"
    )
    xs.add_argument("folder", help="the request folder (written by Session.finalise)")
    xs.add_argument("out", help="a new folder for results.json and the files")
    _trust_options(xs)
    xs.add_argument("--json", action="store_true", help="print one JSON document")
    xs.set_defaults(func=_cmd_export_sacro)

    k = sub.add_parser("keygen", help="make an Ed25519 key pair for signing requests")
    k.add_argument("private", help="file for the private key (the trusted runner's only)")
    k.add_argument("public", help="file for the public key (for the gate's --trust-key)")
    k.add_argument("--json", action="store_true", help="print the result as JSON")
    k.set_defaults(func=_cmd_keygen)

    m = sub.add_parser(
        "check-model", help="check trained-model files without running anything in them"
    )
    m.add_argument("files", nargs="+", help="pickle, joblib, safetensors, ONNX or HDF5 files")
    m.add_argument("--rules", default="default", help="preset name or TOML path")
    m.add_argument("--records", type=int, default=None,
                   help="training records (individuals), when known")  # fmt: skip
    m.add_argument("--json", action="store_true", help="print the JSON report")
    m.set_defaults(func=_cmd_check_model)

    x = sub.add_parser("crosstab", help="compute and check a table from a microdata file")
    x.add_argument(
        "data", nargs="+",
        help="CSV, TSV or Parquet file(s), streamed in bounded memory (count, sum, mean, min, "
             "max); one file for other statistics",
    )  # fmt: skip
    x.add_argument("--index", required=True, help="row columns, comma-separated")
    x.add_argument("--columns", default=None, help="column columns, comma-separated")
    x.add_argument("--values", default=None, help="numeric column to aggregate")
    x.add_argument("--aggfunc", default=None, help="count, sum, mean, median, std, var, ...")
    x.add_argument("--contributor", default=None, help="contributor id column (patient, ...)")
    x.add_argument("--margins", action="store_true", help="add totals")
    x.add_argument("--rules", default="default", help="preset name or TOML path")
    x.add_argument(
        "--suppress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="release the protected table (default: as the rule set says)",
    )
    _request_options(x, "crosstab")
    x.add_argument("--json", action="store_true", help="print the JSON report")
    x.set_defaults(func=_cmd_crosstab)

    pr = sub.add_parser(
        "protect",
        help="protect a table with margins: primary and secondary suppression, then the audit",
    )
    pr.add_argument("data", help="CSV, TSV or Parquet file: microdata, or a frequency table")
    pr.add_argument("--index", required=True, help="row columns, comma-separated")
    pr.add_argument("--columns", default=None, help="column columns, comma-separated")
    pr.add_argument("--values", default=None, help="numeric column to aggregate")
    pr.add_argument("--aggfunc", default=None, help="count, sum, mean, ...")
    pr.add_argument("--contributor", default=None, help="contributor id column (patient, ...)")
    pr.add_argument(
        "--hierarchy", action="append", metavar="DIM=PATH",
        help="subtotals of a dimension: CSV with a parent,child header or a tau-Argus .hrc "
             "file (repeat for several dimensions)",
    )  # fmt: skip
    pr.add_argument(
        "--freq", default=None, metavar="COL",
        help="the data file is a frequency table: one row per inner cell, COL holds its count",
    )  # fmt: skip
    pr.add_argument(
        "--total-label", default=None, metavar="LABEL",
        help="with --freq: rows with this code are margins; they must add up and are dropped",
    )  # fmt: skip
    pr.add_argument("--rules", default="default", help="preset name or TOML path")
    pr.add_argument(
        "--secondary-zeros", action=argparse.BooleanOptionalAction, default=None,
        help="empty cells may be secondary suppressions (default: as the rule set says)",
    )  # fmt: skip
    pr.add_argument(
        "--singletons", action=argparse.BooleanOptionalAction, default=None,
        help="protect primaries from single contributors (default: as the rule set says)",
    )  # fmt: skip
    pr.add_argument(
        "--cost", choices=["value", "frequency", "unity"], default=None,
        help="what a secondary suppression costs (default: as the rule set says, 'value')",
    )  # fmt: skip
    pr.add_argument(
        "--audit-rounds", type=int, default=None, metavar="N",
        help="extra suppression rounds for cells the audit finds too narrow (0..1000)",
    )  # fmt: skip
    pr.add_argument(
        "--exact-intervals", action="store_true", default=None,
        help="solve every suppressed cell's interval exactly (slower)",
    )  # fmt: skip
    pr.add_argument(
        "--clean-up", action=argparse.BooleanOptionalAction, default=None,
        help="publish back secondary cells no requirement needs (default: as the rule set says)",
    )  # fmt: skip
    pr.add_argument(
        "--small-counts", choices=["zero-or-threshold", "width"], default=None,
        help="what a hidden count under the threshold needs: an interval reaching 0 or the "
             "threshold (default), or any width",
    )  # fmt: skip
    pr.add_argument(
        "--protection-threshold", type=int, default=None, metavar="N",
        help="sdcTable's threshold: the hidden cells of each relation holding a primary hold "
             "at least N",
    )  # fmt: skip
    for flag, what in (("--hide-cell", "suppress (and protect) this cell whatever the rules say"),
                       ("--publish-cell", "never suppress this cell")):  # fmt: skip
        pr.add_argument(flag, action="append", metavar="DIM=LABEL[,DIM=LABEL]",
                        help=f"{what}; a dimension left out is its total (repeatable)")  # fmt: skip
    _request_options(pr, "protect")
    pr.add_argument("--json", action="store_true", help="print the JSON report")
    pr.set_defaults(func=_cmd_protect)

    a = sub.add_parser("assess", help="assess record-level data (microdata) for release")
    a.add_argument("data", help="CSV, TSV or Parquet file, one row per record")
    a.add_argument(
        "--keys", required=True, help="key variables (quasi-identifiers), comma-separated"
    )
    a.add_argument("--sensitive", default=None, help="sensitive variables, comma-separated")
    a.add_argument("--weight", default=None, help="sampling weight column")
    a.add_argument("--contributor", default=None, help="household or person id column")
    a.add_argument("--rules", default="default", help="preset name or TOML path")
    a.add_argument("--name", default="microdata", help="output name")
    a.add_argument("--json", action="store_true", help="print the JSON report")
    a.set_defaults(func=_cmd_assess)

    r = sub.add_parser("rules", help="list presets or show an effective rule set")
    r.add_argument("action", choices=["list", "show"])
    r.add_argument("name", nargs="?")
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    r.set_defaults(func=_cmd_rules)

    e = sub.add_parser("example", help="check two tables from the bundled example data")
    e.add_argument("--rules", default="default")
    e.add_argument("--json", action="store_true")
    e.add_argument("--strict", action="store_true", help="exit with the verdict's code")
    e.set_defaults(func=_cmd_example)

    from sdc.release.registry.commands import add_commands

    add_commands(sub, wrap=_registry_command)
    return p


def _registry_command(func: Any) -> Any:
    """A registry command (returning exit code, document and text) as a CLI command."""
    return lambda args: Outcome(*func(args))


def _error(code: int, kind: str, message: str) -> Outcome:
    document = {
        "schema_version": DOCUMENT_VERSION, "status": "fail" if code == 1 else "error",
        "exit_code": code, "error": {"kind": kind, "message": message},
    }  # fmt: skip
    return Outcome(code, document, "", f"sdc: error: {message}")


def _run(argv: list[str]) -> Outcome:
    try:
        _text_arguments(argv)
        args = _parser().parse_args(argv)
        return args.func(args)
    except _Help as h:
        text = str(h).rstrip("\n")
        document = {"schema_version": DOCUMENT_VERSION, "status": "help", "exit_code": 0,
                    "help": text}  # fmt: skip
        return Outcome(0, document, text)
    except _Usage as exc:
        return _error(EXIT_INVALID, "usage", _one_line(str(exc)))
    except SdcInputError as exc:
        return _error(EXIT_INVALID, "input", _one_line(str(exc)))
    except SdcRegistryError as exc:  # a registry that cannot be opened, read or written
        return _error(EXIT_INVALID, "registry", _one_line(str(exc)))
    except KeyboardInterrupt:
        return _error(EXIT_INVALID, "interrupted", "interrupted")
    except Exception as exc:  # fail closed: an internal error is never a pass
        message = f"internal error ({type(exc).__name__}): {_one_line(str(exc))}; verdict: fail"
        return _error(Status.FAIL.exit_code, "internal", message)


def _text_arguments(argv: list[str]) -> None:
    """Every argument is text: bytes that are not UTF-8 (which Python keeps as lone
    surrogates) could be neither recorded in a registry nor shown in a report."""
    for i, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            shown = arg.encode("utf-8", "backslashreplace").decode("ascii", "backslashreplace")
            raise SdcInputError(
                f"argument {i} ({shown}) is not UTF-8 text; give names, reasons and paths as UTF-8."
            ) from None


def _one_line(text: str) -> str:
    from sdc._text import printable

    return printable(" ".join(text.split()))


@contextmanager
def _stdout_reserved() -> Iterator[None]:
    """While a command runs, whatever anything prints (Python code or native libraries) goes
    to stderr: stdout carries the command's own output only."""
    saved = sys.stdout
    try:
        saved.flush()
    except (OSError, ValueError, AttributeError):  # closed, or no stdout at all
        pass
    try:
        fd = os.dup(1)
        os.dup2(2, 1)
    except OSError:
        fd = -1
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = saved
        for stream in (sys.__stdout__, sys.stderr):
            try:
                if stream is not None:
                    stream.flush()
            except (OSError, ValueError):
                pass
        _flush_c_stdio()
        if fd >= 0:
            os.dup2(fd, 1)
            os.close(fd)


def _flush_c_stdio() -> None:
    """Flush the C library's stdio buffers (what native code printed), where there is one."""
    try:
        import ctypes

        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):  # pragma: no cover - no C library to flush
        pass


def _write(out: Any, text: str) -> bool:
    """Write to stdout; False when the reader has gone (a closed pipe)."""
    if out is None:  # no stdout at all: nobody to read the output
        return bool(not text)
    try:
        out.write(text)
        out.flush()
    except BrokenPipeError:
        try:  # nothing more can be written; keep the interpreter's final flush quiet
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, out.fileno())
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass
        return False
    return True


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code.

    With ``--json``, stdout holds exactly one JSON document whatever happens: the
    report, or for a usage, input or internal error the document of
    ``sdc/release/schemas/error-v1.json``. Errors also give one line on stderr. A
    closed stdout (``sdc check ... | head``) ends the command quietly with exit code
    141, never a verdict.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    as_json = "--json" in (args[: args.index("--")] if "--" in args else args)
    out = sys.stdout
    with _stdout_reserved():
        outcome = _run(args)
    if outcome.error:
        print(outcome.error, file=sys.stderr)
    if as_json:
        text = json.dumps(outcome.document, indent=2) + "\n"
    else:
        text = outcome.text + "\n" if outcome.text else ""
    if not _write(out, text):
        return EXIT_PIPE
    return outcome.code


if __name__ == "__main__":
    sys.exit(main())
