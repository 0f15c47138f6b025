"""The checker's HTML report, read back with the standard library's HTML parser.

What is checked against what: every output, cell and finding of the JSON report
is on the page; each drawn cell's flag follows the report's own fields
(suppression, failed and review rules); the numbers in the grids equal counts,
sums and means recomputed from the microdata with pandas; the summary by rule
equals a count over the report's findings; hostile labels change the page's text
but not one element or attribute.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from html_cases import (
    HOSTILE,
    Element,
    Page,
    expected_status,
    full_report,
    grid_matrix,
    replace_strings,
    shown_value,
    visits,
    with_extras,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from strategies import Microdata, microdata

import sdc
from sdc.exceptions import SdcInputError
from sdc.release import build_report, render_html, write_html_report
from sdc.release.html_grid import GRID_MAX_CELLS

EN_DASH = "\N{EN DASH}"


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    return full_report()


@pytest.fixture(scope="module")
def page(report: dict[str, Any]) -> Page:
    return Page(render_html(report))


def section(page: Page, j: int) -> Element:
    (el,) = page.find("section", id=f"out-{j}")
    return el


def descendants(el: Element, page: Page, tag: str, **attrs: str | None) -> list[Element]:
    return [e for e in page.find(tag, **attrs) if el in e.parents]


def close(shown: str, want: float | None) -> bool:
    if want is None:
        return shown == EN_DASH
    got = float(shown.replace(",", ""))
    return math.isclose(got, want, rel_tol=1e-9, abs_tol=1e-12)


# ---------------------------------------------------------------------------- the page


def test_the_page_is_self_contained(report: dict[str, Any]) -> None:
    html = render_html(report)
    page = Page(html)  # parses, every element closed in order
    tags = {el.tag for el in page.elements}
    assert not tags & {"script", "img", "iframe", "link", "object", "embed", "form", "base"}
    assert all("src" not in el.attrs for el in page.elements)
    ids = {el.attrs["id"] for el in page.find(id=None)}
    for a in page.find("a"):
        assert set(a.attrs) == {"href"} and a.attrs["href"].startswith("#")
        assert a.attrs["href"][1:] in ids, a.attrs["href"]
    (style,) = page.find("style")
    assert "url(" not in style.text and "@import" not in style.text
    (csp,) = page.find("meta", http_equiv="Content-Security-Policy")
    assert "default-src 'none'" in csp.attrs["content"]
    assert not re.search(r"(?i)https?:|//[a-z]", html.replace("sdc-engine.invalid", ""))
    # The notice that the report stays inside comes first.
    first = page.find("p")[0]
    assert first.attrs["class"] == "inside" and "Inside the TRE" in first.text


def test_every_output_is_shown_with_its_verdict_and_reasons(
    report: dict[str, Any], page: Page
) -> None:
    assert len(page.find("section", data_output=None)) == len(report["outputs"])
    for j, out in enumerate(report["outputs"]):
        sec = section(page, j)
        assert sec.attrs["data-verdict"] == out["status"]
        (h2,) = descendants(sec, page, "h2")
        assert out["name"] in h2.text and out["status"].upper() in h2.text
        for reason in out["reasons"]:
            assert reason in sec.text
        (link,) = page.find("a", href=f"#out-{j}")[:1]
        assert link.text == out["name"]
    kinds = {o["kind"] for o in report["outputs"]}
    assert kinds == {"frequency table", "magnitude table", "regression", "survival", "model"}


def test_every_cell_is_drawn_once_and_flagged_exactly_as_the_report_says(
    report: dict[str, Any], page: Page
) -> None:
    drawn = page.grid_cells()
    want = {(j, i) for j, o in enumerate(report["outputs"]) for i in range(len(o["cells"]))}
    assert set(drawn) == want
    seen = Counter()
    for (j, i), td in drawn.items():
        cell = report["outputs"][j]["cells"][i]
        status = expected_status(cell)
        seen[status] += 1
        assert td.attrs.get("data-status") == status, (j, i, cell)
        marks = [c for c in td.children if c.tag == "sup"]
        if status is None:
            assert "flag" not in td.attrs.get("class", "") and not marks
            continue
        assert status in td.attrs["class"].split()
        (a,) = [c for c in marks[0].children if c.tag == "a"]
        (target,) = page.find(id=a.attrs["href"][1:])
        assert target.attrs["data-status"] == status
        assert target.text == a.text and a.text[0] == status[0].upper()
        assert shown_value(td) == (None if cell["value"] is None else pytest.approx(cell["value"]))
    assert set(seen) == {None, "fail", "review", "primary", "secondary"}


def flagged_rows(page: Page, sec: Element) -> dict[str, list[list[str]]]:
    """Marker id -> the (rule, outcome, measured, limit, message) rows listed for that cell."""
    out: dict[str, list[list[str]]] = {}
    current = ""
    for table in descendants(sec, page, "table", **{"class": "list flagged"}):
        tbody = next(c for c in table.children if c.tag == "tbody")
        for tr in tbody.children:
            tds = [c for c in tr.children if c.tag == "td"]
            if "id" in tds[0].attrs:
                current = tds[0].attrs["id"]
                out[current] = []
            reasons = tds[-5:] if tds[-1].attrs.get("colspan") is None else tds[-1:]
            out[current].append([td.text for td in reasons])
    return out


def test_every_finding_is_listed_beside_its_cell(report: dict[str, Any], page: Page) -> None:
    drawn = page.grid_cells()
    n_findings = 0
    for j, out in enumerate(report["outputs"]):
        sec = section(page, j)
        if out["cells"]:
            listed = flagged_rows(page, sec)
            where = {
                tuple(c["labels"].items()): i for i, c in enumerate(out["cells"])
            }  # fmt: skip
            for f in out["findings"]:
                i = where[tuple(f["cell"].items())]
                sup = next(c for c in drawn[(j, i)].children if c.tag == "sup")
                anchor = sup.children[0].attrs["href"][1:]
                rows = [r for r in listed[anchor] if r[0] == f["rule"]]
                assert len(rows) == 1, (f, listed[anchor])
                _, outcome, measured, limit, message = rows[0]
                assert outcome == f["outcome"] and message == f["message"]
                assert close(measured, f["measured"]) and close(limit, f["limit"])
                n_findings += 1
            # Flagged cells are listed in the order of the grid, and only they.
            flagged = [i for i, c in enumerate(out["cells"]) if expected_status(c)]
            assert len(listed) == len(flagged)
        else:
            (table,) = descendants(sec, page, "table", **{"class": "list findings"}) or [None]
            if not out["findings"]:
                assert table is None
                continue
            tbody = next(c for c in table.children if c.tag == "tbody")
            got = [[td.text for td in tr.children] for tr in tbody.children]
            assert len(got) == len(out["findings"])
            for row, f in zip(got, out["findings"], strict=True):
                assert row[0] == f["cell"]["term"] and row[1:3] == [f["rule"], f["outcome"]]
                assert close(row[3], f["measured"]) and close(row[4], f["limit"])
                assert row[5] == f["message"]
                n_findings += 1
    assert n_findings == sum(len(o["findings"]) for o in report["outputs"]) > 0


# ---------------------------------------------------------------------------- the numbers

#: How each table was asked for: rows and columns, and the statistic of ``cost``.
LAYOUT = {
    "counts": (["region"], ["sex"], "count"),
    "mean_cost": (["region"], ["sex"], "mean"),
    "counts_protected": (["region"], ["sex"], "count"),
    "three_way": (["region", "sex"], ["age"], "count"),
    "two_column_dims": (["region"], ["sex", "age"], "count"),
    "sum_cost": (["region"], [], "sum"),
    "rounded": (["region"], ["age"], "count"),
}


def reference(df: pd.DataFrame, labels: dict[str, str], statistic: str) -> float:
    """The cell recomputed from the microdata: rows matching every label ("All": any)."""
    rows = df
    for dim, label in labels.items():
        if label != "All":
            rows = rows[rows[dim].astype(str) == label]
    if statistic == "count":
        return float(len(rows))
    return float(getattr(rows["cost"], statistic)())


def test_grids_show_the_tables_as_pandas_computes_them(report: dict[str, Any], page: Page) -> None:
    df = visits()
    by_name = {o["name"]: j for j, o in enumerate(report["outputs"])}
    for name, (row_dims, col_dims, statistic) in LAYOUT.items():
        j = by_name[name]
        out = report["outputs"][j]
        cells = {tuple(c["labels"][d] for d in row_dims + col_dims): c for c in out["cells"]}
        (grid,) = descendants(section(page, j), page, "table", **{"class": "grid"})
        row_labels, columns, values = grid_matrix(grid)
        columns = columns or [()]
        assert len(row_labels) * len(columns) == len(out["cells"]), name
        for labels, shown in zip(row_labels, values, strict=True):
            for col, text in zip(columns, shown, strict=True):
                key = (*labels, *col)
                cell = cells[key]
                value = text.rstrip("0123456789").rstrip("FRPS") if cell["suppression"] or (
                    cell["failed_rules"] or cell["review_rules"]) else text  # fmt: skip
                if cell["value"] is None:
                    assert value == EN_DASH, (name, key)
                    continue
                want = reference(df, dict(zip(row_dims + col_dims, key, strict=True)), statistic)
                if name == "rounded":  # published rounded to 5
                    got = float(value.replace(",", ""))
                    assert got % 5 == 0 and abs(got - want) <= 2.5, (key, got, want)
                else:
                    assert close(value, want), (name, key, value, want)


# ---------------------------------------------------------------------------- summaries


def test_summary_counts_outputs_by_status(report: dict[str, Any], page: Page) -> None:
    (summary,) = page.find("section", id="summary")
    counts = Counter(o["status"] for o in report["outputs"])
    assert f"{report['status'].upper()} overall, over {len(report['outputs'])} output(s)" in (
        summary.text
    )
    for status in ("pass", "review", "fail"):
        assert f"{counts[status]} {status}" in summary.text


def test_summary_by_rule_counts_the_findings(report: dict[str, Any], page: Page) -> None:
    want: dict[str, list[int]] = {}
    fail_outputs: dict[str, set[int]] = {}
    review_outputs: dict[str, set[int]] = {}
    for j, out in enumerate(report["outputs"]):
        hidden = {tuple(c["labels"].items()) for c in out["cells"] if c["suppressed"]}
        for f in out["findings"]:
            row = want.setdefault(f["rule"], [0, 0, 0])
            if f["outcome"] == "fail":
                row[0] += 1
                row[1] += tuple(f["cell"].items()) in hidden
                fail_outputs.setdefault(f["rule"], set()).add(j)
            else:
                row[2] += 1
                review_outputs.setdefault(f["rule"], set()).add(j)
    (table,) = page.find("table", **{"class": "list byrule"})
    tbody = next(c for c in table.children if c.tag == "tbody")
    got = {}
    for tr in tbody.children:
        rule, fails, hidden, reviews, n_fail_out, n_review_out = (c.text for c in tr.children)
        got[rule] = [int(fails), int(hidden), int(reviews)]
        assert int(n_fail_out.split(":")[0]) == len(fail_outputs.get(rule, ()))
        assert int(n_review_out.split(":")[0]) == len(review_outputs.get(rule, ()))
    assert got == want


# ---------------------------------------------------------------------------- hostile text


def test_hostile_text_adds_no_element_or_attribute(report: dict[str, Any]) -> None:
    benign, release = with_extras(report)
    hostile = replace_strings(benign, HOSTILE)
    hostile_release = replace_strings(release, HOSTILE)
    assert hostile != benign
    html = render_html(hostile, release=hostile_release, title=HOSTILE["Isles"])
    page = Page(html)
    markers = [el for el in page.elements if el.attrs.get("class") == "cc"]
    assert markers and all(re.fullmatch(r"U\+[0-9A-F]{4}", el.text) for el in markers)
    assert all(not el.children for el in markers)

    def shape(p: Page) -> Counter:
        return Counter((el.tag, tuple(sorted(el.attrs.items())) if el.tag == "a" else
                        tuple(sorted(el.attrs))) for el in p.elements
                       if el.attrs.get("class") != "cc")  # fmt: skip

    assert shape(page) == shape(Page(render_html(benign, release=release, title="Isles")))
    text = "".join(page.data)
    missing = [k for k in ("Isles", "North", "counts", "West") if HOSTILE[k] not in text]
    assert not missing, f"not shown as text: {missing}"
    (title,) = page.find("title")
    assert title.text == HOSTILE["Isles"]
    # Characters that would reorder or hide text are shown as their code points instead.
    raw = [f"U+{ord(ch):04X}" for ch in "\u202e\u202c\u2066\u2069\u200b\x00\x07\x1b\r\x7f"
           if ch in html]  # fmt: skip
    assert not raw, f"raw in the page: {raw}"
    for ch in "\u202e\u202c\u2066\u2069\u200b\x00\x07\x1b\r\x7f":
        assert f"U+{ord(ch):04X}" in text
    assert "onerror" not in {k for el in page.elements for k in el.attrs}


# ---------------------------------------------------------------------------- other inputs


def test_unknown_fields_and_the_release_are_shown(report: dict[str, Any]) -> None:
    r, release = with_extras(report)
    page = Page(render_html(r, release=release))
    text = "".join(page.data)
    for s in ("trust", "unsigned", "applied", "note", "registry", "0" * 64, "counts.csv"):
        assert s in text
    (files,) = page.find("table", **{"class": "list files"})
    head = [th.text for th in files.children[0].children[0].children]
    assert head == ["path", "output", "kind", "digest", "label"]
    (rel,) = page.find("section", id="release")
    assert "Release summary" in rel.text
    no_release = Page(render_html(report))
    (rel,) = no_release.find("section", id="release")
    assert "No release was given" in rel.text


def test_sparse_entries_render() -> None:
    """Entries with only what the schema requires, or less: a 1.0 cell says only 'suppressed'."""
    cells = [
        {"labels": {"g": "a"}, "value": 12, "suppressed": False, "failed_rules": []},
        {"labels": {"g": "b"}, "value": None, "suppressed": True, "failed_rules": ["threshold"]},
        {"labels": {"g": "c"}, "value": None, "suppressed": True, "failed_rules": []},
        {"labels": {}, "value": 3},
    ]
    report = {"status": "review", "outputs": [
        {"name": "t", "kind": "frequency table", "status": "pass", "dims": ["g"], "cells": cells},
        {"name": "odd", "status": "maybe", "findings": [{"rule": "x", "cell": "not a dict"}]},
    ]}  # fmt: skip
    page = Page(render_html(report))
    drawn = page.grid_cells()
    assert [drawn[(0, i)].attrs.get("data-status") for i in range(4)] == [
        None, "primary", "secondary", None]  # fmt: skip
    assert "MAYBE" in section(page, 1).text and "not a dict" in section(page, 1).text


def test_a_table_too_big_to_draw_still_lists_its_flagged_cells() -> None:
    n = GRID_MAX_CELLS + 1
    cells = [{"labels": {"g": f"l{i}"}, "value": 20, "n": 20, "records": 20, "suppressed": False,
              "suppression": None, "audit": None, "failed_rules": [], "review_rules": []}
             for i in range(n)]  # fmt: skip
    for i in (5, 700):
        cells[i].update(value=None, n=2, records=2, failed_rules=["threshold"])
    out = {"name": "big", "kind": "frequency table", "status": "fail", "dims": ["g"],
           "cells": cells}  # fmt: skip
    page = Page(render_html({"status": "fail", "outputs": [out]}))
    assert not page.grid_cells()
    marks = page.find("td", data_status="fail")
    assert [m.text for m in marks] == ["F1", "F2"]
    assert f"{n:,} cells" in section(page, 0).text


def test_invalid_input_is_refused() -> None:
    good = {"status": "pass", "outputs": []}
    with pytest.raises(SdcInputError, match="`report` of `render_html`"):
        render_html([])  # type: ignore[arg-type]
    with pytest.raises(SdcInputError, match="'outputs' field"):
        render_html({"status": "pass"})
    with pytest.raises(SdcInputError, match="`release`"):
        render_html(good, release=["a.csv"])  # type: ignore[arg-type]
    with pytest.raises(SdcInputError, match="`title`"):
        render_html(good, title=3)  # type: ignore[arg-type]
    with pytest.raises(SdcInputError, match="name and a status"):
        render_html({"status": "pass", "outputs": [{"kind": "x"}]})
    with pytest.raises(SdcInputError, match="a list of dicts"):
        render_html({"status": "pass", "outputs": [{"name": "t", "status": "pass",
                                                    "cells": ["x"]}]})  # fmt: skip


def test_write_html_report(report: dict[str, Any], tmp_path: Path) -> None:
    path = write_html_report(report, tmp_path / "report.html", title="Request 7")
    assert path.read_text(encoding="utf-8") == render_html(report, title="Request 7")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]  # no temporary file left
    with pytest.raises(SdcInputError, match="existing folder"):
        write_html_report(report, tmp_path / "missing" / "report.html")
    with pytest.raises(SdcInputError, match="not a folder"):
        write_html_report(report, tmp_path)


# ---------------------------------------------------------------------------- generated tables


@settings(max_examples=25)
@given(case=microdata(), margins=st.booleans(), suppress=st.booleans())
def test_generated_tables_are_drawn_and_flagged_exactly(
    case: Microdata, margins: bool, suppress: bool
) -> None:
    s = sdc.Session(suppress=suppress)
    s.pivot_table(
        case.frame, values=case.value, index=case.dims[:1], columns=case.dims[1:] or None,
        aggfunc="sum" if case.value else "count", contributor=case.contributor,
        margins=margins, name="t",
    )  # fmt: skip
    report = build_report(list(s.outputs.values()), s.ruleset_)
    page = Page(render_html(report))
    out = report["outputs"][0]
    drawn = page.grid_cells()
    assert set(drawn) == {(0, i) for i in range(len(out["cells"]))}
    for i, cell in enumerate(out["cells"]):
        assert drawn[(0, i)].attrs.get("data-status") == expected_status(cell)
    listed = flagged_rows(page, section(page, 0))
    assert len(listed) == sum(expected_status(c) is not None for c in out["cells"])
    text = "".join(page.data)
    assert all(f["message"] in text for f in out["findings"])
