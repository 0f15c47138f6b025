"""Reports to draw as HTML, and a reader of the drawn page (for the HTML report tests).

The sessions cover every kind of output the report shows: count tables with and
without margins, with one or two row dimensions and two column dimensions,
protected (primary and secondary suppression, audit) and rounded tables,
magnitude tables, a histogram, a regression, a survival table and a model.
:class:`Page` reads a rendered page back with the standard library's HTML
parser, independently of the code that wrote it.
"""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pandas as pd

import sdc
from sdc.release.report import build_report

#: Elements that have no end tag.
VOID = {"meta", "br", "hr", "img", "input", "link", "source", "wbr", "col", "area", "base"}


def visits(seed: int = 7) -> pd.DataFrame:
    """Hospital visits: regions of very different sizes, so some cells are small."""
    rng = np.random.default_rng(seed)
    sizes = {"North": 90, "South": 70, "East": 45, "Isles": 7, "West": 30}
    region = [r for r, n in sizes.items() for _ in range(n)]
    n = len(region)
    return pd.DataFrame({
        "region": region,
        "sex": rng.choice(["F", "M"], n),
        "age": rng.choice(["0-17", "18-64", "65+"], n, p=[0.2, 0.6, 0.2]),
        "patient": [f"P{i // 2:04d}" for i in range(n)],
        "cost": np.round(rng.gamma(2.0, 80.0, n), 2),
        "days": rng.integers(1, 60, n),
        "died": rng.integers(0, 2, n),
    })  # fmt: skip


def table_session(df: pd.DataFrame | None = None) -> sdc.Session:
    """Count and magnitude tables: plain, with margins and protected, 3-D, rounded."""
    df = visits() if df is None else df
    s = sdc.Session()
    s.crosstab(df.region, df.sex, name="counts")
    s.pivot_table(df, index="region", columns="sex", values="cost", aggfunc="mean",
                  contributor="patient", name="mean_cost")  # fmt: skip
    p = sdc.Session(suppress=True)
    p.crosstab(df.region, df.sex, margins=True, name="counts_protected")
    p.crosstab([df.region, df.sex], df.age, margins=True, name="three_way")
    p.crosstab(df.region, [df.sex, df.age], name="two_column_dims")
    p.pivot_table(df, index="region", values="cost", aggfunc="sum", contributor="patient",
                  margins=True, name="sum_cost")  # fmt: skip
    s.outputs.update(p.outputs)
    r = sdc.Session(rules="opensafely")
    r.crosstab(df.region, df.age, margins=True, name="rounded")
    s.outputs.update(r.outputs)
    return s


def other_outputs(df: pd.DataFrame | None = None) -> list[Any]:
    """A histogram, a regression, a survival table and a model."""
    from sklearn.tree import DecisionTreeClassifier

    df = visits() if df is None else df
    s = sdc.Session()
    s.hist(df, "cost", bins=12, name="cost_hist")
    s.ols("cost ~ C(region) + C(sex)", df, name="cost_ols")
    s.survival_table(df, "days", "died", by="sex", name="survival")
    tree = DecisionTreeClassifier(random_state=0).fit(df[["cost", "days"]], df.died)
    model = s.check_model(tree, name="tree")
    return [*s.outputs.values(), model]


def full_report() -> dict[str, Any]:
    """One report over every kind of output."""
    s = table_session()
    return build_report([*s.outputs.values(), *other_outputs()], s.ruleset_)


def expected_status(cell: dict[str, Any]) -> str | None:
    """The contract: suppressed cells by kind, then failing, then review cells; else none."""
    if cell["suppression"]:
        return str(cell["suppression"])
    if cell["failed_rules"]:
        return "fail"
    if cell["review_rules"]:
        return "review"
    return None


def replace_strings(obj: Any, mapping: dict[str, str]) -> Any:
    """``obj`` with every string (keys too) rewritten by ``mapping`` (whole words first)."""
    if isinstance(obj, str):
        if obj in mapping:
            return mapping[obj]
        for old, new in mapping.items():
            obj = obj.replace(old, new)
        return obj
    if isinstance(obj, dict):
        return {replace_strings(k, mapping): replace_strings(v, mapping) for k, v in obj.items()}
    if isinstance(obj, list):
        return [replace_strings(x, mapping) for x in obj]
    return obj


#: Labels and names a researcher could write, each standing in for a benign word.
HOSTILE = {
    "Isles": "<script>window.__pwned=1</script>",
    "North": '"><img src=x onerror="window.__pwned=1">',
    "region": "javascript:alert(1)",
    "South": "\u202eevil\u202c \u2066x\u2069 \u200bz",
    "East": "a\x00b\x07c\x1b[31m\r\nd\x7f",
    "counts": "</td></tr></table><a href='//evil.example/x'>x</a>",
    "West": "&amp; &lt;b&gt; {{7*7}} ' -- <!-- x -->",
}


def with_extras(report: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """A report with fields this version does not know, and a release, naming a region."""
    r = copy.deepcopy(report)
    r["trust"] = {"status": "unsigned", "Isles": ["North", {"region": "East"}]}
    r["outputs"][0]["applied"] = {"rules": "North", "West": 1.5}
    r["outputs"][0]["cells"][0]["note"] = "South"
    release = {
        "files": [{"path": "counts.csv", "output": "counts", "kind": "frequency table",
                   "digest": "0" * 64, "label": "Isles"}],
        "summary": {"outputs": 1, "note": "region"},
        "registry": "West",
    }  # fmt: skip
    return r, release


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    parents: list[Element]
    text: str = ""
    children: list[Element] = field(default_factory=list)

    def ancestor(self, tag: str, attr: str) -> Element | None:
        for p in reversed(self.parents):
            if p.tag == tag and attr in p.attrs:
                return p
        return None


class Page(HTMLParser):
    """Every element of a page, with its attributes, ancestors and text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self.stack: list[Element] = []
        self.data: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        el = Element(tag, {k: v or "" for k, v in attrs}, list(self.stack))
        if self.stack:
            self.stack[-1].children.append(el)
        self.elements.append(el)
        if tag not in VOID:
            self.stack.append(el)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        assert self.stack and self.stack[-1].tag == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.data.append(data)
        for el in self.stack:
            el.text += data

    def find(self, tag: str | None = None, **attrs: str | None) -> list[Element]:
        """Elements by tag and attributes (``None``: the attribute is present)."""
        out = []
        for el in self.elements:
            if tag is not None and el.tag != tag:
                continue
            if all(
                k in el.attrs and (v is None or el.attrs[k] == v)
                for k, v in ((k.replace("_", "-"), v) for k, v in attrs.items())
            ):
                out.append(el)
        return out

    def structure(self) -> Counter[tuple[str, tuple[str, ...]]]:
        """Each element's tag and attribute names, counted: the page's shape without its text."""
        return Counter((el.tag, tuple(sorted(el.attrs))) for el in self.elements)

    def grid_cells(self) -> dict[tuple[int, int], Element]:
        """(output index, cell index) -> the grid's ``td`` of that cell."""
        cells = {}
        for td in self.find("td", data_cell=None):
            section = td.ancestor("section", "data-output")
            assert section is not None
            key = (int(section.attrs["data-output"]), int(td.attrs["data-cell"]))
            assert key not in cells, f"cell {key} drawn twice"
            cells[key] = td
        return cells


def grid_matrix(table: Element) -> tuple[list[list[str]], list[tuple[str, ...]], list[list[str]]]:
    """A drawn grid read back: the column labels (one tuple per column, from the header rows
    and their colspans), the row labels (blank repeats filled from the row above) and the
    text of each data cell."""
    thead = next(c for c in table.children if c.tag == "thead")
    tbody = next(c for c in table.children if c.tag == "tbody")
    header_rows = [tr for tr in thead.children if tr.tag == "tr"]
    levels = []
    for tr in header_rows:
        ths = [th for th in tr.children if th.tag == "th"]
        if "dim" not in ths[0].attrs.get("class", "") or ths[0].attrs.get("colspan") is None:
            continue  # the row naming the row dimensions
        labels: list[str] = []
        for th in ths[1:]:
            labels += [th.text] * int(th.attrs.get("colspan", "1"))
        levels.append(labels)
    columns = list(zip(*levels, strict=True)) if levels else []
    row_labels: list[list[str]] = []
    values: list[list[str]] = []
    for tr in tbody.children:
        ths = [c.text for c in tr.children if c.tag == "th"]
        if row_labels:
            ths = [t or prev for t, prev in zip(ths, row_labels[-1], strict=True)]
        row_labels.append(ths)
        values.append([c.text for c in tr.children if c.tag == "td"])
    return row_labels, columns, values


def shown_value(td: Element) -> float | None:
    """A drawn cell's value back as a number (``None`` for the dash), its marker left out."""
    marks = "".join(c.text for c in td.children if c.tag == "sup")
    shown = td.text[: len(td.text) - len(marks)].strip()
    if shown == "\N{EN DASH}":
        return None
    return float(shown.replace(",", ""))
