"""The checker's HTML report: one self-contained page drawn from the JSON report.

The page is a pure function of the report (and, when given, of the release: the
files that would leave and the release summary). It fetches nothing: the style
sheet is inline, there is no script, and a Content-Security-Policy forbids any
request the page could make. It reads, from the top:

1. a notice that the report stays inside the TRE (it may show counts and audit
   intervals of cells that the released files hide);
2. the summary: overall verdict, outputs by status, the caveats, every output
   with its verdict and counts of flagged cells, and any field of the report
   this version does not know (shown as it is, never dropped);
3. the summary by rule: how many cells or terms each rule failed or sent to
   review, in how many outputs;
4. the files that would leave and the release summary (when ``release`` is given);
5. each output: its verdict and reasons; a table drawn as a grid with flagged
   cells coloured and listed beside it with their rules, measured values,
   limits and messages (:mod:`sdc.release.html_grid`); a regression, survival
   table or model with its findings per term.

Every string of the report is shown as inert text (:func:`sdc.release._html.text`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sdc._validation import input_error
from sdc._version import __version__
from sdc.release._html import attr, generic, labels_text, number, rows, text
from sdc.release._html_style import CSS
from sdc.release.html_grid import TableView
from sdc.release.report import _protection_line

STATUSES = ("pass", "review", "fail")
#: Top-level keys of the report drawn in their own place; any other is shown generically.
REPORT_KEYS = {"schema_version", "status", "stays_inside", "rules", "summary", "outputs"}
#: Keys of an output entry and their defaults when a report leaves them out.
OUTPUT_DEFAULTS: dict[str, Any] = {
    "statistic": None, "reasons": [], "dims": [], "margins": False, "protected": False,
    "rounded_to": None, "cells": [], "findings": [],
}  # fmt: skip
OUTPUT_KEYS = {"name", "kind", "status", "row_dims", *OUTPUT_DEFAULTS}
#: Columns of the release's file list shown first, when present.
FILE_COLUMNS = ("path", "file", "name", "output", "kind", "status", "digest", "sha256", "bytes")

_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; "
    "form-action 'none'"
)
_CAVEATS = (
    "This report stays inside the TRE. It may show what the released files hide: the records "
    "and contributors behind suppressed cells, and the intervals an attacker could narrow them "
    "to. Do not release it or copy it out.",
    "A verdict covers the rules of the rule set named above, applied to the evidence the "
    "report was built from; an output sent to review needs a person to look at the findings "
    "listed with it.",
    "A dash (–) is a value the report does not give: a cell that fails a rule or is suppressed.",
)


def _badge(status: Any, big: bool = False) -> str:
    cls = status if status in STATUSES else "other"
    return f'<span class="badge {cls}{" big" if big else ""}">{text(str(status).upper())}</span>'


def _normalise(report: Any, release: Any, title: Any, func: str) -> list[dict[str, Any]]:
    """The report's outputs with every known key present; ``SdcInputError`` if malformed."""
    if not isinstance(report, Mapping):
        raise input_error("report", func, "a report dict (sdc.release.build_report)", report)
    for key in ("status", "outputs"):
        if key not in report:
            raise input_error("report", func, f"a report with a {key!r} field",
                              sorted(report), "Pass the dict build_report returns.")  # fmt: skip
    if not isinstance(report["outputs"], list):
        raise input_error("report['outputs']", func, "a list", report["outputs"])
    if release is not None and not isinstance(release, Mapping):
        raise input_error("release", func, "a dict (files, summary) or None", release)
    if title is not None and not isinstance(title, str):
        raise input_error("title", func, "a string or None", title)
    outputs = []
    for i, out in enumerate(report["outputs"]):
        if not isinstance(out, Mapping) or "name" not in out or "status" not in out:
            raise input_error(f"report['outputs'][{i}]", func,
                              "an output entry with a name and a status", out)  # fmt: skip
        entry = {**OUTPUT_DEFAULTS, "kind": "output", **out}
        for key in ("reasons", "dims", "cells", "findings"):
            if not isinstance(entry[key], list):
                raise input_error(f"report['outputs'][{i}][{key!r}]", func, "a list", entry[key])
        for key in ("cells", "findings"):
            bad = [x for x in entry[key] if not isinstance(x, Mapping)]
            if bad:
                raise input_error(f"report['outputs'][{i}][{key!r}]", func,
                                  "a list of dicts", bad[0])  # fmt: skip
        outputs.append(entry)
    return outputs


def _views(outputs: list[dict[str, Any]]) -> dict[int, TableView]:
    """A grid view of every output that has cells laid out on dimensions."""
    return {j: TableView(out, j) for j, out in enumerate(outputs) if out["dims"] and out["cells"]}


def _summary(report: Mapping[str, Any], outputs: list[dict[str, Any]],
             views: dict[int, TableView]) -> str:  # fmt: skip
    counts = report.get("summary")
    if not isinstance(counts, Mapping):
        counts = {s: sum(o["status"] == s for o in outputs) for s in STATUSES}
    by_status = ", ".join(f"{number(v)} {text(k)}" for k, v in counts.items())
    rules = report.get("rules")
    rules_html = generic(rules) if rules is not None else "<em>not stated</em>"
    extra = {k: v for k, v in report.items() if k not in REPORT_KEYS}
    extra_html = f"<h3>Further fields of this report</h3>{generic(extra)}" if extra else ""
    toc = []
    for j, out in enumerate(outputs):
        view = views.get(j)
        flags = [s for s in view.status if s] if view else []
        n_fail = sum(f.get("outcome") == "fail" for f in out["findings"])
        n_review = sum(f.get("outcome") == "review" for f in out["findings"])
        toc.append([
            str(j + 1), f'<a href="#out-{j}">{text(out["name"])}</a>', text(out["kind"]),
            text(out["statistic"] or ""), _badge(out["status"]),
            number(len(out["cells"])) if out["cells"] else "",
            number(n_fail), number(n_review),
            f"{flags.count('primary')} / {flags.count('secondary')}" if view else "",
        ])  # fmt: skip
    head = ["#", "output", "kind", "statistic", "verdict", "cells", "fail findings",
            "review findings", "suppressed (P / S)"]  # fmt: skip
    caveats = "".join(f"<li>{text(c)}</li>" for c in _CAVEATS)
    return (
        '<section id="summary"><h2>Summary</h2>'
        f"<p>{_badge(report['status'], big=True)} overall, over {len(outputs)} output(s): "
        f"{by_status}.</p>"
        f'<dl class="kv"><dt>rule set</dt><dd>{rules_html}</dd>'
        f"<dt>report schema</dt><dd>{text(report.get('schema_version', 'not stated'))}</dd></dl>"
        f'<ol class="reasons">{caveats}</ol>{extra_html}'
        f"{rows(toc, head, 'list toc', num=(0, 5, 6, 7, 8))}</section>"
    )


def _by_rule(outputs: list[dict[str, Any]], views: dict[int, TableView]) -> str:
    """How many cells (or terms) each rule failed or sent to review, and in which outputs."""
    stats: dict[str, dict[str, Any]] = {}
    for j, out in enumerate(outputs):
        view = views.get(j)
        status_of: dict[tuple[str, ...], str | None] = {}
        if view is not None:
            for c, s in zip(view.cells, view.status, strict=True):
                labels = c.get("labels")
                if isinstance(labels, Mapping):
                    status_of[tuple(str(labels.get(d)) for d in view.dims)] = s
        for f in out["findings"]:
            rule = str(f.get("rule"))
            r = stats.setdefault(rule, {"fail": 0, "hidden": 0, "review": 0, "fail_out": [],
                                        "review_out": []})  # fmt: skip
            outcome = "fail" if f.get("outcome") == "fail" else "review"
            r[outcome] += 1
            if j not in r[f"{outcome}_out"]:
                r[f"{outcome}_out"].append(j)
            cell = f.get("cell")
            if outcome == "fail" and view is not None and isinstance(cell, Mapping):
                key = tuple(str(cell.get(d)) for d in view.dims)
                r["hidden"] += status_of.get(key) in ("primary", "secondary")
        if not out["findings"] and out["status"] in ("fail", "review"):
            r = stats.setdefault("(no rule: see the output's reasons)", {
                "fail": 0, "hidden": 0, "review": 0, "fail_out": [], "review_out": []})  # fmt: skip
            r[f"{out['status']}_out"].append(j)

    def names(js: list[int]) -> str:
        return ", ".join(f'<a href="#out-{j}">{text(outputs[j]["name"])}</a>' for j in js)

    body = [
        [f"<b>{text(rule)}</b>", number(r["fail"]), number(r["hidden"]), number(r["review"]),
         f"{len(r['fail_out'])}: {names(r['fail_out'])}" if r["fail_out"] else "0",
         f"{len(r['review_out'])}: {names(r['review_out'])}" if r["review_out"] else "0"]
        for rule, r in sorted(stats.items(), key=lambda kv: (-kv[1]["fail"] - len(
            kv[1]["fail_out"]), -kv[1]["review"], kv[0]))
    ]  # fmt: skip
    head = ["rule", "failing cells / terms", "of which suppressed", "sent to review",
            "outputs with a failure", "outputs sent to review"]  # fmt: skip
    table = (
        rows(body, head, "list byrule", num=(1, 2, 3))
        if body
        else '<p class="none">No rule fired.</p>'
    )
    return (
        '<section id="by-rule"><h2>Summary by rule</h2>'
        '<p class="muted">Cells of tables count once per rule they break, margins included; '
        "regressions, survival tables and models count once per term.</p>"
        f"{table}</section>"
    )


def _release(release: Mapping[str, Any] | None) -> str:
    head = '<section id="release"><h2>What would leave</h2>'
    if release is None:
        return (
            f'{head}<p class="none">No release was given with this report: it does not say which '
            "files would leave.</p></section>"
        )
    parts = []
    files = release.get("files")
    if isinstance(files, list) and all(isinstance(f, Mapping) for f in files):
        keys = list(dict.fromkeys(k for f in files for k in f))
        cols = [c for c in FILE_COLUMNS if c in keys] + [k for k in keys if k not in FILE_COLUMNS]
        body = [
            [_file_value(c, f[c]) if c in f else "" for c in cols] for f in files
        ]  # fmt: skip
        parts.append(f"<h3>Files ({len(files)})</h3>")
        parts.append(rows(body, cols, "list files") if files else
                     '<p class="none">No file would leave.</p>')  # fmt: skip
    elif files is not None:
        parts.append(f"<h3>Files</h3>{generic(files)}")
    if "summary" in release:
        parts.append(f"<h3>Release summary</h3>{generic(release['summary'])}")
    extra = {k: v for k, v in release.items() if k not in ("files", "summary")}
    if extra:
        parts.append(f"<h3>Further fields of the release</h3>{generic(extra)}")
    return head + "".join(parts) + "</section>"


def _file_value(column: str, value: Any) -> str:
    if column in ("digest", "sha256") and isinstance(value, str):
        return f'<span class="mono">{text(value)}</span>'
    return generic(value)


def _term_findings(out: Mapping[str, Any]) -> str:
    """Findings of an output without cells (regression, survival table, model), per term."""
    if not out["findings"]:
        if out["status"] == "pass":
            return '<p class="none">No finding: every check on this output passed.</p>'
        return '<p class="none">No finding per term: the reasons above give the verdict.</p>'
    body = []
    for f in out["findings"]:
        cell = f.get("cell")
        if isinstance(cell, Mapping) and set(cell) == {"term"}:
            where = f"<bdi>{text(cell['term'])}</bdi>"
        elif isinstance(cell, Mapping):
            where = labels_text(cell)
        else:
            where = generic(cell)
        outcome = f.get("outcome")
        oc = outcome if outcome in ("fail", "review") else "other"
        body.append((oc, [where, f"<b>{text(f.get('rule'))}</b>",
                          f'<span class="oc {oc}">{text(outcome)}</span>',
                          number(f.get("measured")), number(f.get("limit")),
                          text(f.get("message", ""))]))  # fmt: skip
    head = "".join(f"<th>{h}</th>" for h in ("term", "rule", "outcome", "measured", "limit",
                                              "message"))  # fmt: skip
    trs = "".join(
        f'<tr class="f-{oc}">' + "".join(
            f'<td class="num">{c}</td>' if k in (3, 4) else f"<td>{c}</td>"
            for k, c in enumerate(cells)) + "</tr>"
        for oc, cells in body
    )  # fmt: skip
    return (
        f'<table class="list findings"><thead><tr>{head}</tr></thead><tbody>{trs}</tbody></table>'
    )


def _output(j: int, out: dict[str, Any], view: TableView | None) -> str:
    sub = [text(out["kind"])]
    if out["statistic"]:
        sub.append(text(out["statistic"]))
    if out["cells"]:
        sub.append(f"{len(out['cells']):,} cells")
    status_cls = out["status"] if out["status"] in STATUSES else "other"
    parts = [
        f'<section class="output" id="out-{j}" data-output="{j}" data-verdict="{status_cls}">',
        f"<h2>{_badge(out['status'])} {text(out['name'])} "
        f'<span class="sub">{" · ".join(sub)}</span></h2>',
    ]
    meta = []
    if view is not None:
        layout = f"rows: {' × '.join(text(d) for d in view.row_dims) or '–'}"
        if view.col_dims:
            layout += f"; columns: {' × '.join(text(d) for d in view.col_dims)}"
        meta.append(layout)
        meta.append("with margins" if out["margins"] else "no margins")
    if out["rounded_to"]:
        meta.append(f"rounded to {number(out['rounded_to'])}")
    if out["protected"] and out["cells"]:
        try:
            meta.append(text(_protection_line(out)))
        except (KeyError, TypeError, AttributeError):  # a cell entry without these fields
            meta.append("protected")
    elif view is not None:
        meta.append("published as computed (no protection applied)")
    if meta:
        parts.append(f'<p class="meta">{"; ".join(meta)}</p>')
    if out["reasons"]:
        items = "".join(f"<li>{text(r)}</li>" for r in out["reasons"])
        parts.append(f'<ol class="reasons">{items}</ol>')
    extra = {k: v for k, v in out.items() if k not in OUTPUT_KEYS}
    if extra:
        parts.append(generic(extra))
    parts.append(view.render() if view is not None else _term_findings(out))
    parts.append("</section>")
    return "".join(parts)


def _together(report: Mapping[str, Any]) -> str:
    """The researcher's comments and the differencing check (outputs judged together)."""
    parts = []
    comments = report.get("comments") or []
    if comments:
        items = "".join(
            f"<li>{text(c.get('output') or 'the request')}: {text(c.get('text'))}</li>"
            for c in comments
            if isinstance(c, Mapping)
        )
        parts.append(f'<section id="comments"><h2>Comments (the researcher\'s)</h2><ul>{items}'
                     "</ul></section>")  # fmt: skip
    section = report.get("differencing")
    if isinstance(section, Mapping) and section.get("status") != "pass":
        from sdc.differencing.report import text_lines

        lines = "".join(
            f"<li>{text(line.strip())}</li>" for line in text_lines(dict(section)) if line.strip()
        )
        parts.append('<section id="differencing"><h2>Outputs together (differencing)</h2>'
                     f"<ul>{lines}</ul></section>")  # fmt: skip
    return "".join(parts)


def render_html(
    report: Mapping[str, Any],
    *,
    release: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> str:
    """The checker's report as one self-contained HTML page.

    Parameters
    ----------
    report : dict
        The JSON report (:func:`sdc.release.build_report`). Fields this version
        does not know are shown generically.
    release : dict, optional
        What would leave: ``files`` (a list of dicts, e.g. path, output, kind,
        digest), ``summary`` (the release summary) and any other field.
    title : str, optional
        The page title (default: "Output check report").

    Returns
    -------
    str
        The HTML document. It loads nothing from anywhere (inline style sheet,
        no script, a Content-Security-Policy that forbids every request).

    Examples
    --------
    >>> import pandas as pd, sdc
    >>> from sdc.release import build_report
    >>> df = pd.DataFrame({"region": ["N"] * 24 + ["S"] * 4, "sex": ["F", "M"] * 14})
    >>> s = sdc.Session()
    >>> t = s.crosstab(df.region, df.sex, name="visits")
    >>> page = render_html(build_report([t], s.ruleset_))
    >>> page.startswith("<!DOCTYPE html>")
    True
    >>> page.count('<td class="flag fail" data-cell=')  # the two cells of region S
    2
    """
    func = "render_html"
    outputs = _normalise(report, release, title, func)
    views = _views(outputs)
    heading = title if title is not None else "Output check report"
    body = [
        '<p class="inside">Inside the TRE only. <span>This checker\'s report may show values '
        "and counts that the released files hide. Do not release it.</span></p>",
        f"<h1>{text(heading)}</h1>",
        _summary(report, outputs, views),
        _by_rule(outputs, views),
        _release(release),
        _together(report),
        '<section id="outputs">',
        *(_output(j, out, views.get(j)) for j, out in enumerate(outputs)),
        "</section>",
        f"<footer>sdc-engine {text(__version__)}; report schema "
        f"{text(report.get('schema_version', 'not stated'))}.</footer>",
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{attr(_CSP)}">'
        '<meta name="referrer" content="no-referrer">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{text(heading)}</title><style>{CSS}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )


def write_html_report(
    report: Mapping[str, Any],
    path: str | os.PathLike[str],
    *,
    release: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8, replaced in one step) and return the path.

    Examples
    --------
    >>> import pandas as pd, sdc, tempfile, pathlib
    >>> from sdc.release import build_report
    >>> s = sdc.Session()
    >>> t = s.crosstab(pd.Series(["A"] * 12, name="g"), name="counts")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> write_html_report(build_report([t], s.ruleset_), folder / "report.html").name
    'report.html'
    """
    func = "write_html_report"
    if not isinstance(path, (str, os.PathLike)):
        raise input_error("path", func, "a file path", path)
    target = Path(path)
    if not target.parent.is_dir():
        raise input_error("path", func, "a path in an existing folder", str(target))
    if target.is_dir():
        raise input_error("path", func, "a file path, not a folder", str(target))
    page = render_html(report, release=release, title=title)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".report-", suffix=".html")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(page)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target
