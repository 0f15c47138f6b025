"""The gate: ``sdc check REQUEST`` re-checks a request folder and trusts nothing in it.

What the gate relies on, and nothing else:

- **the operator's rules**: ``rules``, else ``SDC_RULES``, else the ``default``
  preset; never the rule set the manifest names (the report says when the request
  was made under another one);
- **authenticated evidence**: a manifest signed by a key the operator trusts
  (``trust_keys``), which names every file with its SHA-256 digest; or outputs
  recomputed from the data (``data``); or the operator's word (``trust_unsigned``,
  for researchers checking their own folder; the report says so at its top).
  Otherwise every output is at best ``review``;
- **its own reading**: regular files only, opened without following links, named
  by the manifest, within the rule set's ``[gate]`` caps
  (:mod:`sdc.release.safe_read`); each released file must equal, byte for byte,
  the canonical serialisation of the values the gate checked (:mod:`sdc.canonical`);
- **its own report**: the session's ``report.json``/``report.txt`` are never released;
  evidence never leaves; a file the manifest does not describe never leaves and is
  ``fail`` (row-level data) or ``review``.

Each output is judged on its own: an error while reading one makes that one
``fail`` with the reason, and the others are still judged. Tables the manifest
records as linked (``protect_linked``) are then audited together, as one system.
Record-level data is screened: a CSV or Parquet file the manifest does not
describe, a table file that cannot be read as its table, and every table's
column names (:mod:`sdc.release.screen`); a microdata output is assessed again
from its released records (:mod:`sdc.release.microdata_file`). An output's
``status`` is the verdict on letting it leave: the rules' verdict on its files
(``rules_status``), at best ``review`` when nothing vouches for the files
(``trust_reason`` says why, and so does the last of its reasons). The request's
status is the worst of its outputs'.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdc._text import printable
from sdc.exceptions import SdcInputError, SdcRefusedFile
from sdc.plots import draw
from sdc.release import screen
from sdc.release.custom import CUSTOM, custom_suffix, looks
from sdc.release.manifest import (
    DATA_KIND,
    FILE_KINDS,
    MANIFEST,
    REPORT_FILES,
    FileEntry,
    Manifest,
    OutputEntry,
    data_path,
    evidence_path,
    name_problem,
    parse_manifest,
    plot_path,
)
from sdc.release.recompute import (
    DataSource,
    Differs,
    NotRecomputed,
    recompute_survival,
    recompute_table,
    same_evidence,
)
from sdc.release.report import STAYS_INSIDE, annotate, build_report, other_entry
from sdc.release.safe_read import Entry, RequestFolder, parse_json
from sdc.release.signing import SIGNATURE, Verification, load_public_key, verify
from sdc.release.table_file import check_table, statistic_problem, table_evidence
from sdc.release.term_files import check_regression, check_survival
from sdc.release.unknown_files import classify
from sdc.ruleset import RuleSet
from sdc.tables.output import TableOutput
from sdc.verdict import Status

#: Environment variable naming the gate's rule set when none is given.
RULES_ENV = "SDC_RULES"
_LEAVES = {Status.PASS: "yes", Status.REVIEW: "with approval", Status.FAIL: "no"}


def operator_rules(rules: str | Path | RuleSet | None = None) -> RuleSet:
    """The rule set the gate applies: ``rules``, else ``SDC_RULES``, else ``default``.

    Examples
    --------
    >>> operator_rules().name
    'default'
    """
    if rules is None:
        rules = os.environ.get(RULES_ENV) or "default"
    return RuleSet.load(rules)


class _FileProblem(Exception):
    """A file of an output that cannot be used (missing, refused, changed)."""


class _Result:
    """One entry of the report, with what the gate knows of its trust."""

    def __init__(self, entry: dict[str, Any], authenticated: str | None = None,
                 derived: bool = True, recomputed: str | None = None) -> None:  # fmt: skip
        self.entry = entry
        self.authenticated = authenticated
        self.derived = derived
        self.recomputed = recomputed
        self.checked: Any = None  # the output as the gate rebuilt it (for differencing)

    @property
    def status(self) -> Status:
        return Status(self.entry["status"])


@dataclass(frozen=True)
class GateResult:
    """What the gate decided and what it read: the report, the manifest it parsed, the
    rule set it applied, and the bytes of every file it read and found equal to its
    digest (what a release copies: never read again from the folder)."""

    report: dict[str, Any]
    manifest: Manifest
    ruleset: RuleSet
    checked: dict[str, bytes]
    #: Each output's definition as a registry records it (the manifest's, with the cells
    #: the gate found hidden: see :func:`sdc.release.combined.registry_definition`).
    definitions: dict[str, Any] = field(default_factory=dict)

    @property
    def manifest_sha256(self) -> str:
        return hashlib.sha256(self.manifest.raw).hexdigest()

    @property
    def request_id(self) -> str:
        return request_id_of(self.manifest)


def request_id_of(manifest: Manifest) -> str:
    """A request's id: ``req-`` and the first 16 hex digits of its manifest's SHA-256 (a
    changed request is a new request)."""
    return "req-" + hashlib.sha256(manifest.raw).hexdigest()[:16]


def check_folder(
    folder: str | Path,
    rules: str | Path | RuleSet | None = None,
    *,
    trust_keys: str | Path | Iterable[str | Path] = (),
    trust_unsigned: bool = False,
    data: str | Path | None = None,
    registry: Any = None,
) -> dict[str, Any]:
    """Re-check every output of a request folder written by ``finalise``; the JSON report.

    ``rules``: the gate's rule set (see :func:`operator_rules`). ``trust_keys``: PEM
    public keys whose signature authenticates a request. ``trust_unsigned``: take an
    unsigned request's files as finalise wrote them (stated in the report).
    ``data``: a CSV/Parquet file to recompute outputs from (see
    :mod:`sdc.release.recompute`). ``registry``: an open release registry whose
    earlier releases of the same data the outputs are checked against for
    differencing (with ``data``; see :mod:`sdc.release.combined`). A manifest that
    cannot be read is an ``SdcInputError``; anything wrong with an output makes that
    output ``fail``.
    """
    return check_request(folder, rules, trust_keys=trust_keys, trust_unsigned=trust_unsigned,
                         data=data, registry=registry).report  # fmt: skip


def check_request(
    folder: str | Path,
    rules: str | Path | RuleSet | None = None,
    *,
    trust_keys: str | Path | Iterable[str | Path] = (),
    trust_unsigned: bool = False,
    data: str | Path | None = None,
    registry: Any = None,
) -> GateResult:
    """:func:`check_folder`, with what the gate read (for ``sdc release``).

    Examples
    --------
    >>> import pathlib, tempfile, sdc
    >>> from sdc.example import example_microdata
    >>> s = sdc.Session(suppress=True)
    >>> _ = s.crosstab(example_microdata().region, name="visits")
    >>> folder = s.finalise(pathlib.Path(tempfile.mkdtemp()) / "req", author="alice")
    >>> result = check_request(folder, "default", trust_unsigned=True)
    >>> result.report["status"], result.manifest.author, sorted(result.checked)[:2]
    ('pass', 'alice', ['evidence/visits.json', 'report.json'])
    """
    ruleset = operator_rules(rules)
    paths = [trust_keys] if isinstance(trust_keys, str | Path) else list(trust_keys)
    keys = [load_public_key(p) for p in paths]
    source = DataSource(data) if data is not None else None
    with RequestFolder(folder, ruleset.gate) as request:
        gate = _Gate(request, ruleset, keys, trust_unsigned, source, registry)
        report = gate.run()
        return GateResult(report, gate.manifest, ruleset, dict(gate.checked), gate.definitions)


class _Gate:
    def __init__(self, request: RequestFolder, ruleset: RuleSet, keys: list[Any],
                 trust_unsigned: bool, source: DataSource | None,
                 registry: Any = None) -> None:  # fmt: skip
        self.request = request
        self.ruleset = ruleset
        self.caps = ruleset.gate
        self.keys = keys
        self.trust_unsigned = trust_unsigned
        self.source = source
        self.registry = registry
        #: The bytes of every file read whose digest matched the manifest's.
        self.checked: dict[str, bytes] = {}
        #: The tables as judged, by name (for the joint audit of linked tables).
        self.tables: dict[str, TableOutput] = {}
        #: Each output's definition as the registry records it (see GateResult).
        self.definitions: dict[str, Any] = {}

    # ------------------------------------------------------------------ the request

    def run(self) -> dict[str, Any]:
        manifest = parse_manifest(self.request.read(MANIFEST), self.caps.max_json_depth)
        self.manifest = manifest
        self.requested = RuleSet.from_dict(manifest.rules, source=MANIFEST)
        found = {e.path: e for e in self.request.entries()}
        self.verification = self._verify(found)
        results: list[_Result] = []
        images: list[_Result] = []
        for o in manifest.outputs:
            try:
                out, image = self._output(o)
            except Exception as exc:  # fail closed: this output fails, the others go on
                why = f"it could not be checked ({type(exc).__name__}: {_short(exc)})"
                out, image = _Result(other_entry(o.name, o.kind, Status.FAIL, why)), None
            results.append(out)
            if image is not None:
                images.append(image)
        self._audit_linked(results + images)
        self._differencing(results, images)
        others = self._listed_files() + self._unlisted(found)
        return self._report(results + images + others, found)

    def _differencing(self, results: list[_Result], images: list[_Result]) -> None:
        """The outputs checked together (and against earlier releases); marks the outputs
        a finding names, and their plots (see :mod:`sdc.release.combined`)."""
        from sdc.differencing.report import mark_outputs
        from sdc.differencing.request import GateOutput
        from sdc.differencing.result import DifferencingResult
        from sdc.release.combined import gate_differencing, registry_definition

        outputs = [GateOutput(o.name, o.kind, o.definition, r.checked)
                   for o, r in zip(self.manifest.outputs, results, strict=True)]  # fmt: skip
        for o in outputs:
            try:
                self.definitions[o.name] = registry_definition(o.definition, o.checked)
            except Exception:  # the manifest's definition, without the pattern the gate read
                self.definitions[o.name] = o.definition
        entries = [r.entry for r in results]
        try:
            self.differencing = gate_differencing(
                outputs, entries, int(self.ruleset.params["threshold"].t), self.source,
                self.registry, self.ruleset, request_id=request_id_of(self.manifest),
            )  # fmt: skip
        except Exception as exc:  # fail closed: never a pass for the outputs together
            why = (
                f"the differencing check could not be run ({type(exc).__name__}: "
                f"{_short(exc)}): the outputs must not be released together unchecked"
            )
            self.differencing = DifferencingResult(errors=(why,))
            mark_outputs(entries, self.differencing)
        plots = {r.entry["name"]: r for r in images}
        for name in self.differencing.involved():
            plot = plots.get(plot_path(name))
            if plot is not None:
                plot.entry.update(status=Status.FAIL.value, reasons=[
                    *plot.entry["reasons"], "differencing: it draws the numbers of "
                    f"{name!r}, which gives away a small group with other outputs"])  # fmt: skip
        for r in results:  # an output differencing could not clear: its plot waits with it
            plot = plots.get(plot_path(r.entry["name"]))
            if (plot is not None and r.entry["status"] == Status.REVIEW.value
                    and plot.entry["status"] == Status.PASS.value
                    and r.entry["reasons"][-1].startswith("differencing:")):  # fmt: skip
                plot.entry.update(status=Status.REVIEW.value, reasons=[
                    *plot.entry["reasons"], f"differencing: it draws the numbers of "
                    f"{r.entry['name']!r}, which the check over the outputs together could "
                    "not clear"])  # fmt: skip

    def _audit_linked(self, results: list[_Result]) -> None:
        """Linked tables that may leave are audited together; any that the set exposes fail,
        with their plots."""
        from sdc.tables.linked import audit_linked

        by_name = {r.entry["name"]: r for r in results}
        for group in self.manifest.linked:
            names = [n for n in group if n in self.tables and n in by_name
                     and by_name[n].status is not Status.FAIL]  # fmt: skip
            if len(names) < 2:
                continue
            try:
                counts = audit_linked([self.tables[n] for n in names])
            except Exception as exc:  # fail closed: the set cannot be shown safe
                why = (
                    f"the linked tables {', '.join(names)} could not be audited together "
                    f"({type(exc).__name__}: {_short(exc)})"
                )
                counts, problem = [(0, 0)] * len(names), why
            else:
                problem = None  # type: ignore[assignment]
            for n, (narrow, shown) in zip(names, counts, strict=True):
                reasons = [problem] if problem else []
                if narrow:
                    reasons.append(f"{narrow} suppressed cell(s) can be narrowed down too far "
                                   f"from the linked tables together ({', '.join(names)}): "
                                   "joint audit")  # fmt: skip
                if shown:
                    reasons.append(f"{shown} suppressed cell(s) are published by another table "
                                   f"of its linked set ({', '.join(names)})")  # fmt: skip
                if not reasons:
                    reasons.append(f"audited together with its linked tables ({', '.join(names)}):"
                                   " every suppressed cell keeps its protection")  # fmt: skip
                    by_name[n].entry["reasons"] = [*by_name[n].entry["reasons"], *reasons]
                    continue
                for r in (by_name[n], by_name.get(plot_path(n))):
                    if r is not None:
                        r.entry.update(status=Status.FAIL.value,
                                       reasons=[*r.entry["reasons"], *reasons])  # fmt: skip

    def _verify(self, found: dict[str, Entry]) -> Verification:
        if SIGNATURE not in found:
            return verify(self.manifest.raw, None, self.keys)
        try:
            signature = self.request.read(SIGNATURE, max_bytes=4096)
        except SdcRefusedFile as exc:
            return Verification("malformed", None, f"{SIGNATURE} cannot be used: {exc}")
        return verify(self.manifest.raw, signature, self.keys)

    def _file(self, entry: FileEntry | None, what: str) -> bytes:
        """A file of an output, read safely and equal to its digest in the manifest."""
        if entry is None:
            raise _FileProblem(f"the manifest lists no {what} for it")
        try:
            data = self.request.read(entry.path)
        except SdcRefusedFile as exc:
            raise _FileProblem(str(exc).rstrip(".")) from None
        if len(data) != entry.size or hashlib.sha256(data).hexdigest() != entry.sha256:
            raise _FileProblem(
                f"{entry.path} was changed or replaced after finalise (its size or SHA-256 "
                "digest differs from the manifest's)"
            )
        self.checked[entry.path] = data
        return data

    # ------------------------------------------------------------------ one output

    def _trust(self, recomputed: str | None) -> str | None:
        if self.verification.valid:
            return "signature"
        if recomputed == "equal":
            return "data"
        return "operator" if self.trust_unsigned else None

    def _output(self, o: OutputEntry) -> tuple[_Result, _Result | None]:
        def failed(reason: str) -> tuple[_Result, None]:
            return _Result(other_entry(o.name, o.kind, Status.FAIL, reason)), None

        problem = name_problem(o.name)
        if problem:
            return failed(f"the output's name cannot be used: {problem}")
        if o.kind == CUSTOM:
            return self._custom(o), None
        if o.kind not in DATA_KIND:
            return failed(f"unknown output kind {printable(o.kind)!r}: no automatic check "
                          f"applies (known: {', '.join(DATA_KIND)})")  # fmt: skip
        listed = {f.path: f for f in self.manifest.files_of(o.name)}
        mine = {data_path(o.name): DATA_KIND[o.kind], evidence_path(o.name): "evidence",
                plot_path(o.name): "plot"}  # fmt: skip
        wrong = [p for p, f in listed.items() if mine.get(p) != f.kind]
        if wrong:
            return failed(f"the manifest lists {printable(wrong[0])!r} for it, which is not "
                          "one of its files (each has a fixed name and kind)")  # fmt: skip
        if o.kind == "microdata" and data_path(o.name) not in listed:
            return failed("no released records: finalise writes record-level data only when "
                          "its assessment passes, so nothing of it leaves")  # fmt: skip
        try:
            data = self._file(listed.get(data_path(o.name)), "released file")
            evidence = parse_json(
                self._file(listed.get(evidence_path(o.name)), "evidence"),
                self.caps.max_json_depth, "its evidence",
            )  # fmt: skip
        except (_FileProblem, SdcInputError) as exc:
            return failed(str(exc))
        out, derived, recomputed = self._judge(o, data, evidence)
        auth = self._trust(recomputed)
        result = _Result(out.to_report(), auth, derived, recomputed)
        result.checked = out
        image = None
        plot = listed.get(plot_path(o.name))
        if plot is not None:
            image = self._image(o, plot, data, result)
        return result, image

    def _custom(self, o: OutputEntry) -> _Result:
        """A file the engine did not make: never better than review, screened for records."""
        listed = self.manifest.files_of(o.name)
        if (
            len(listed) != 1
            or listed[0].kind != CUSTOM
            or custom_suffix(o.name, listed[0].path) is None
        ):
            why = (f"a custom output has exactly one file, {printable(o.name)}<suffix>, of kind "
                   "custom; the manifest lists others")  # fmt: skip
            return _Result(other_entry(o.name, CUSTOM, Status.FAIL, why))
        path = listed[0].path
        try:
            data = self._file(listed[0], "file")
        except _FileProblem as exc:
            return _Result(other_entry(o.name, CUSTOM, Status.FAIL, str(exc)))
        status, signs = looks(path, data)
        why = (f"a file the engine did not make (custom output: {printable(o.statistic)}, "
               f"{printable(path)!r}): no automatic check applies; a person must review it "
               "before it may leave")  # fmt: skip
        entry = other_entry(o.name, CUSTOM, Status.worst([Status.REVIEW, status]), why)
        entry.update(statistic=printable(o.statistic), reasons=[why, *signs])
        self._screen_unknown(path, entry, data, "screened for records: no sign of row-level data")
        return _Result(entry, self._trust(None))

    def _judge(self, o: OutputEntry, data: bytes, evidence: Any) -> tuple[Any, bool, str | None]:
        """The output rebuilt from its files and judged; whether its values were derived; the
        outcome of recomputing it from the data (None without data)."""
        if o.kind in ("frequency table", "magnitude table"):
            return self._table(o, data, evidence)
        if o.kind == "microdata":
            from sdc.release.microdata_file import check_microdata

            checked = check_microdata(o, data, evidence, self.ruleset, self.caps.max_cells)
            note = None if self.source is None else (
                "not recomputed: microdata is assessed from its released records")  # fmt: skip
            return checked, True, note
        if o.kind == "regression":
            out = check_regression(o, data, evidence, self.ruleset, self.caps.max_cells)
            recomputed = None
            if self.source is not None:
                recomputed = "not recomputed: fitted models are not refitted at the gate"
            return out, False, recomputed
        return self._survival(o, data, evidence)

    def _table(self, o: OutputEntry, data: bytes, evidence: Any) -> tuple[Any, bool, str | None]:
        ev = table_evidence(evidence)
        problem = statistic_problem(o.kind, o.statistic, ev.has_values)
        if problem:
            raise SdcInputError(problem)
        values, recomputed, extra = None, None, []
        if self.source is not None:
            try:
                fresh = recompute_table(o.definition, o.statistic, ev, self.source,
                                        self.ruleset.top_k)  # fmt: skip
            except NotRecomputed as exc:
                recomputed = f"not recomputed: {exc}"
            except Differs as exc:
                recomputed, extra = "differs", [f"recomputed from the data, {exc}"]
            else:
                recomputed = "equal"
                if not same_evidence(ev, fresh.evidence):
                    recomputed = "differs"
                    extra = ["its evidence differs from the evidence recomputed from the data: "
                             "it was changed after it was computed"]  # fmt: skip
                ev, values = fresh.evidence, fresh.values
        params = self.ruleset.params["row-level"]
        names = screen.screen_names([*ev.model.dims, o.value_name], params)
        if screen.status(names) is Status.FAIL:
            extra = [*extra, *screen.reasons(names, "a column name")]
        out, derived, file_ok = check_table(o, data, ev, self.ruleset, self.caps.max_cells,
                                            values, extra)  # fmt: skip
        if recomputed == "equal" and not file_ok:
            recomputed = "differs"
        more: list[str] = []
        if not file_ok:  # declared as a table, not read as one: does it look like records?
            try:
                shape = screen.screen_bytes(data_path(o.name), data, params, self.caps.max_cells)
            except SdcInputError:
                shape = None
            if shape is not None and screen.status(shape) is not Status.PASS:
                more = screen.reasons(shape, "the file looks record-level")
        elif screen.status(names) is Status.REVIEW:
            more = screen.reasons(names, "a column name")
        if more:
            out = _amended(out, Status.worst([out.status, Status.REVIEW]), more)
        self.tables[o.name] = out
        return out, derived, recomputed

    def _survival(self, o: OutputEntry, data: bytes, evidence: Any) -> tuple[Any, bool, str | None]:
        out = check_survival(o, data, evidence, self.ruleset, self.caps.max_cells)
        if self.source is None:
            return out, False, None
        try:
            fresh = recompute_survival(o.definition, self.source, self.requested, o.name)
        except NotRecomputed as exc:
            return out, False, f"not recomputed: {exc}"
        except Differs as exc:
            out.problems = (*out.problems, f"recomputed from the data, {exc}")
            return out, False, "differs"
        same = fresh.released_csv().encode("utf-8") == data
        if not (same and fresh.evidence_dict() == evidence):
            out.problems = (*out.problems, "its table or evidence differs from the one "
                            "recomputed from the data")  # fmt: skip
            return out, False, "differs"
        return out, False, "equal"

    def _image(self, o: OutputEntry, plot: FileEntry, data: bytes, output: _Result) -> _Result:
        """The image passes with its output only if re-drawing the checked CSV gives it exactly."""
        name = plot.path

        def entry(status: Status, reason: str) -> _Result:
            return _Result(other_entry(name, "image", status, reason), output.authenticated)

        if output.status is Status.FAIL:
            return entry(Status.FAIL, f"the plot of {o.name!r}, which fails: it never leaves")
        try:
            shown = self._file(plot, "plot")
            drawn = draw(o.kind, o.statistic, data.decode("utf-8"), o.name)
        except (_FileProblem, SdcInputError, UnicodeDecodeError) as exc:
            return entry(Status.FAIL, f"the image cannot be used ({_short(exc)})")
        if shown != drawn.encode("utf-8"):
            return entry(Status.FAIL, f"the image is not the plot of the checked data of "
                         f"{o.name!r} (re-drawn at the gate, it differs): it may show numbers "
                         "that were not checked")  # fmt: skip
        status = output.status
        return entry(status, f"the plot of {o.name!r}, re-drawn from its checked data and "
                     f"identical; it takes that output's verdict ({status.value})")  # fmt: skip

    # ------------------------------------------------------------------ other files

    def _listed_files(self) -> list[_Result]:
        """Files the manifest lists that belong to no output: the session's reports, or wrong."""
        names = {o.name for o in self.manifest.outputs}
        results = []
        for f in self.manifest.files:
            if f.output in names and f.kind in FILE_KINDS and f.kind != "report":
                continue  # judged with its output
            if f.kind == "report" and f.output is None and f.path in REPORT_FILES:
                try:
                    self._file(f, "report")
                except _FileProblem as exc:
                    results.append(_Result(other_entry(f.path, "report", Status.FAIL, str(exc))))
                continue
            why = (
                f"the manifest lists it as {printable(f.kind)!r}"
                + (f" of {printable(f.output)!r}" if f.output is not None else "")
                + ", which is no file of an output the gate checks (the session's reports are "
                f"{' and '.join(REPORT_FILES)}); it never leaves"
            )
            results.append(_Result(other_entry(f.path, "file", Status.FAIL, why)))
        return results

    def _unlisted(self, found: dict[str, Entry]) -> list[_Result]:
        """What is in the folder but not in the manifest: never released, fail or review."""
        listed = {f.path for f in self.manifest.files} | {MANIFEST, SIGNATURE}
        results = []
        for path, e in found.items():
            if path in listed:  # judged with its output (a link or special file fails it)
                continue
            shown = printable(path)
            if e.kind == "folder":
                if path.count("/") + 1 >= self.caps.max_folder_depth:
                    why = (f"the folder {shown!r} is nested deeper than the gate reads "
                           f"([gate] max_folder_depth); nothing in it leaves")  # fmt: skip
                    results.append(_Result(other_entry(path, "folder", Status.FAIL, why)))
                continue
            if e.kind in ("link", "special"):
                what = ("a symbolic link (links are never followed)" if e.kind == "link"
                        else "not a regular file (a FIFO, device or socket)")  # fmt: skip
                why = f"{shown!r} is {what}; it is not read and never leaves"
                results.append(_Result(other_entry(path, e.kind, Status.FAIL, why)))
                continue
            try:
                head, error = self.request.read(path, max_bytes=1 << 20, head=True), ""
            except SdcRefusedFile as exc:
                head, error = None, f"cannot be read ({_short(exc)})"
            status, why = classify(path, head, error)
            entry = other_entry(path, "unknown file", status, why)
            if head is not None:
                self._screen_unknown(path, entry)
            results.append(_Result(entry))
        return results

    def _screen_unknown(
        self, path: str, entry: dict[str, Any], data: bytes | None = None,
        clean: str = "screened for records: no sign of row-level data (it still never leaves)",
    ) -> None:  # fmt: skip
        """A CSV, TSV or Parquet file nobody described (or a custom output's, ``data``):
        screened for the shape of records (the verdict says how urgently a person must look;
        ``clean`` is the reason when nothing is seen)."""
        if not path.lower().endswith((*screen.DELIMITED, *screen.PARQUET)):
            return
        try:
            data = self.request.read(path) if data is None else data
            shape = screen.screen_bytes(path, data, self.ruleset.params["row-level"],
                                        self.caps.max_cells)  # fmt: skip
        except (SdcInputError, SdcRefusedFile) as exc:
            entry["reasons"].append(f"it could not be screened for records ({_short(exc)})")
            entry["status"] = Status.worst([Status(entry["status"]), Status.REVIEW]).value
            return
        if shape is None:
            return
        status = Status.worst([Status(entry["status"]), screen.status(shape), Status.REVIEW])
        entry["status"] = status.value
        entry["reasons"] += screen.reasons(shape, "screened for records") or [clean]
        entry["findings"] = screen.findings(shape)

    # ------------------------------------------------------------------ the report

    def _release(self, r: _Result) -> tuple[Status, str | None]:
        if r.status is Status.FAIL or r.authenticated is not None:
            return r.status, None
        if r.entry["kind"] in ("unknown file", "file", "folder", "link", "special", "report"):
            return r.status, None  # never leaves anyway
        why = f"its files are not authenticated ({self.verification.reason})"
        if not r.derived:
            why += (
                f"; its values ({printable(str(r.entry['statistic']))}) cannot be re-derived "
                "from its evidence"
            )
        return Status.worst([r.status, Status.REVIEW]), why

    def _report(self, results: list[_Result], found: dict[str, Entry]) -> dict[str, Any]:
        entries = []
        for r in results:
            release, why = self._release(r)
            reasons = list(r.entry.get("reasons", []))
            if why is not None:
                reasons.append(f"at best review: {why}")
            entries.append({
                **r.entry, "status": release.value, "reasons": reasons,
                "rules_status": r.entry["status"], "trust_reason": why,
                "authenticated": r.authenticated, "recomputed": r.recomputed,
            })  # fmt: skip
        m = self.manifest
        report = annotate(build_report([], self.ruleset, entries), dict(m.exceptions), m.comments)
        report["status"] = Status.worst([*(Status(e["status"]) for e in entries),
                                         self.differencing.status]).value  # fmt: skip
        same = self.requested.settings_sha256() == self.ruleset.settings_sha256()
        report["rules"] = {
            **report["rules"], "sha256": self.ruleset.settings_sha256(),
            "requested": {"name": self.requested.name,
                          "sha256": self.requested.settings_sha256(), "same": same},
        }  # fmt: skip
        report["trust"] = {
            "signature": self.verification.state,
            "key_id": self.verification.key_id,
            "trust_unsigned": self.trust_unsigned,
            "data": None if self.source is None else self.source.path.name,
            "reason": self.verification.reason,
        }
        report["notices"] = self._notices(entries, same)
        report["files"] = self._files(entries, found)
        report["differencing"] = self.differencing.to_report()
        report["request"] = {
            "manifest_sha256": hashlib.sha256(m.raw).hexdigest(), "author": m.author,
            "created": m.created, "linked": [list(g) for g in m.linked],
        }  # fmt: skip
        report["stays_inside"] = STAYS_INSIDE
        return {k: report[k] for k in ("schema_version", "status", "stays_inside", "rules",
                                       "trust", "notices", "request", "summary", "outputs",
                                       "comments", "files", "differencing")
                if k in report}  # fmt: skip

    def _notices(self, entries: list[dict[str, Any]], same_rules: bool) -> list[str]:
        v = self.verification
        if v.valid:
            notices = [f"Authenticated: {v.reason}; every file is as the trusted runner wrote it."]
        elif self.trust_unsigned:
            notices = [
                f"NOT AUTHENTICATED, TRUSTED BY THE OPERATOR (--trust-unsigned): {v.reason}. The "
                "verdicts hold only if the files are as finalise wrote them."
            ]
        else:
            notices = [
                f"Not authenticated: {v.reason}. Every output is at best review (outputs "
                "recomputed from the data excepted): sign the request in the trusted runner "
                "(finalise(signing_key=...)) and check it with --trust-key, or recompute it "
                "with --data."
            ]
        if not same_rules:
            notices.append(
                f"The request was made under rule set {printable(self.requested.name)!r}, whose "
                f"settings differ from the gate's; the gate applied {self.ruleset.name!r} "
                f"({self.ruleset.source})."
            )
        if self.source is not None:
            outcomes = [e["recomputed"] for e in entries if e["recomputed"] is not None]
            equal, differ = outcomes.count("equal"), outcomes.count("differs")
            notices.append(
                f"--data {self.source.path.name}: {equal} output(s) recomputed and equal, "
                f"{differ} differ, {len(outcomes) - equal - differ} not recomputed (see each "
                "output's 'recomputed')."
            )
        return notices

    def _files(self, entries: list[dict[str, Any]], found: dict[str, Entry]) -> list[dict]:
        """Every file of the request, and whether it may leave."""
        release = {e["name"]: Status(e["status"]) for e in entries}
        out = []
        for f in self.manifest.files:
            leaves = "no"
            if f.may_leave and f.output is not None:
                key = f.path if f.kind == "plot" else f.output
                leaves = _LEAVES[release.get(key, Status.FAIL)]
            out.append({"path": f.path, "kind": f.kind, "output": f.output, "leaves": leaves})
        listed = {f.path for f in self.manifest.files}
        for path, e in found.items():
            if path in listed or e.kind == "folder":
                continue
            kind = {MANIFEST: "manifest", SIGNATURE: "signature"}.get(path, "unknown")
            if kind == "unknown" and e.kind != "file":
                kind = e.kind
            out.append({"path": path, "kind": kind, "output": None, "leaves": "no"})
        return sorted(out, key=lambda f: f["path"])


def _amended(out: TableOutput, status: Status, reasons: list[str]) -> TableOutput:
    """The judged table with a new verdict and more reasons."""
    release = dataclasses.replace(out.protected, status=status,
                                  reasons=(*out.protected.reasons, *reasons))  # fmt: skip
    return TableOutput(out.name, out.check, out.values, out.value_name, True, release)


def _short(exc: BaseException, limit: int = 300) -> str:
    text = printable(str(exc)).rstrip(".")
    return text if len(text) <= limit else text[:limit] + "..."
