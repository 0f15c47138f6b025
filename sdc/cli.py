"""The ``sdc`` command: exit 0 pass, 1 fail, 3 review, 2 invalid input or usage."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from sdc.exceptions import SdcInputError
from sdc.verdict import Status

if TYPE_CHECKING:
    import pandas as pd

EXIT_INVALID = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        print(f"sdc: error: {message} (see 'sdc --help')", file=sys.stderr)
        raise SystemExit(EXIT_INVALID)


def _columns(text: str | None) -> list[str]:
    return [c.strip() for c in text.split(",") if c.strip()] if text else []


def _emit(report: dict[str, Any], as_json: bool, tables: str = "") -> int:
    from sdc.release.report import text_report

    if as_json:
        print(json.dumps(report, indent=2))
    else:
        if tables:
            print(tables)
        print(text_report(report))
    return Status(report["status"]).exit_code


def _cmd_check(args: argparse.Namespace) -> int:
    from sdc.release.gate import check_folder

    return _emit(check_folder(args.folder, args.rules), args.json)


def _cmd_check_model(args: argparse.Namespace) -> int:
    from sdc.models.check import check_model_file
    from sdc.release.report import build_report
    from sdc.ruleset import RuleSet

    ruleset = RuleSet.load(args.rules)
    outputs = [check_model_file(f, ruleset, n_records=args.records) for f in args.files]
    return _emit(build_report(outputs, ruleset), args.json)


def _cmd_crosstab(args: argparse.Namespace) -> int:
    from sdc.io import read_microdata
    from sdc.release.report import build_report
    from sdc.session import Session
    from sdc.tables.sources.spec import MERGEABLE
    from sdc.tables.statistics import AGGFUNC_ALIASES

    rows, cols = _columns(args.index), _columns(args.columns)
    if not rows:
        raise SdcInputError("`--index` of `sdc crosstab` must name at least one column.")
    if (args.values is None) != (args.aggfunc is None):
        raise SdcInputError("`--values` and `--aggfunc` of `sdc crosstab` go together.")
    s = Session(rules=args.rules, suppress=args.suppress)
    options = dict(
        index=rows, columns=cols or None, values=args.values, aggfunc=args.aggfunc or "count",
        margins=args.margins, contributor=args.contributor, name=args.name,
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
    if args.out:
        s.finalise(args.out)
    shown = out.protected_table if out.protected_applied else out.table
    return _emit(build_report([out], s.ruleset_), args.json, shown.to_string())


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


def _cmd_protect(args: argparse.Namespace) -> int:
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
    out = s.pivot_table(
        frame, index=rows, columns=cols or None, values=args.values,
        aggfunc=args.aggfunc or "count", margins=True, contributor=args.contributor,
        name=args.name, hierarchies=hierarchies or None,
    )  # fmt: skip
    protected = out.protect(
        secondary_zeros=args.secondary_zeros, singletons=args.singletons,
        audit_rounds=args.audit_rounds, exact_intervals=args.exact_intervals, cost=args.cost,
    )  # fmt: skip
    # The session releases the table as protected here, options included.
    released = TableOutput(out.name, out.check, out.values, out.value_name, True, protected.release)
    s.outputs[out.name] = released
    if args.out:
        s.finalise(args.out)
    return _emit(build_report([released], s.ruleset_), args.json, protected.table.to_string())


def _cmd_rules(args: argparse.Namespace) -> int:
    from sdc.ruleset import RuleSet, preset_names

    if args.action == "list":
        for name in preset_names():
            print(f"{name}: {RuleSet.load(name).description}")
    else:
        if not args.name:
            raise SdcInputError("`sdc rules show` needs a preset name or a TOML path.")
        print(RuleSet.load(args.name).to_toml(), end="")
    return 0


def _cmd_example(args: argparse.Namespace) -> int:
    from sdc.example import run_example
    from sdc.release.report import build_report
    from sdc.tables.output import TableOutput

    s = run_example(args.rules)
    tables = "\n\n".join(
        f"{name}\n{o.table.to_string() if isinstance(o, TableOutput) else o.summary()}"
        for name, o in s.outputs.items()
    )
    report = build_report(list(s.outputs.values()), s.ruleset_)
    code = _emit(report, args.json, tables + "\n")
    return 0 if not args.strict else code


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="sdc", description="Statistical disclosure control for research outputs.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    c = sub.add_parser("check", help="re-check a folder written by Session.finalise")
    c.add_argument("folder")
    c.add_argument("--rules", default=None, help="gate rule set (default: the manifest's)")
    c.add_argument("--json", action="store_true", help="print the JSON report")
    c.set_defaults(func=_cmd_check)

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
    x.add_argument("--name", default="table", help="output name")
    x.add_argument("--out", default=None, help="also write the finalised folder here")
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
    pr.add_argument("--name", default="table", help="output name")
    pr.add_argument("--out", default=None, help="also write the finalised folder here")
    pr.add_argument("--json", action="store_true", help="print the JSON report")
    pr.set_defaults(func=_cmd_protect)

    r = sub.add_parser("rules", help="list presets or show an effective rule set")
    r.add_argument("action", choices=["list", "show"])
    r.add_argument("name", nargs="?")
    r.set_defaults(func=_cmd_rules)

    e = sub.add_parser("example", help="check two tables from the bundled example data")
    e.add_argument("--rules", default="default")
    e.add_argument("--json", action="store_true")
    e.add_argument("--strict", action="store_true", help="exit with the verdict's code")
    e.set_defaults(func=_cmd_example)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.func(args))
    except SdcInputError as exc:
        print(f"sdc: error: {exc}", file=sys.stderr)
        return EXIT_INVALID
    except KeyboardInterrupt:
        print("sdc: interrupted", file=sys.stderr)
        return EXIT_INVALID
    except Exception as exc:  # fail closed: an internal error is never a pass
        print(f"sdc: internal error ({type(exc).__name__}): {exc}; verdict: fail", file=sys.stderr)
        return Status.FAIL.exit_code


if __name__ == "__main__":
    sys.exit(main())
