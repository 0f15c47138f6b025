"""A table output drawn for the checker: the grid of cells, flagged cells and their reasons.

The grid puts the row dimensions down and the column dimensions across, as
``pandas.crosstab`` does (the report's ``row_dims`` says which are which; without
it, every dimension but the last is a row). A cell that fails a rule, needs
review or is suppressed is *flagged*: it carries ``data-status`` (``fail``,
``review``, ``primary`` or ``secondary``), a background colour and a marker such
as ``F3`` that points to its entry in the list beside the grid, where the rules,
measured values, limits and messages are. No other cell is coloured.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sdc.release._html import attr, generic, labels_text, number, text

#: Label of a margin (total) level, as the tables write it.
TOTAL_LABEL = "All"
#: Larger tables are not drawn as a grid; their flagged cells are still listed.
GRID_MAX_CELLS = 10_000

#: Marker letter, legend text and (for a cell with no finding) the note of each flag.
FLAGS = {
    "fail": ("F", "fails a rule (published as computed)", "fails a rule"),
    "review": ("R", "needs review", "needs review"),
    "primary": ("P", "suppressed: primary (fails a rule, or redacted)",
                "redacted by the rule set"),
    "secondary": ("S", "suppressed: secondary (hides a primary)",
                  "secondary: fails no rule; hidden so that no primary can be recomputed"),
}  # fmt: skip
#: Columns of the list of flagged cells.
FLAG_COLUMNS = ("", "cell", "value", "N", "records", "audit", "rule", "outcome", "measured",
                "limit", "message")  # fmt: skip
#: Keys of a cell entry that the grid knows; any other is listed with the cell.
CELL_KEYS = {"labels", "value", "n", "records", "suppressed", "suppression", "audit",
             "failed_rules", "review_rules"}  # fmt: skip


def cell_status(cell: Mapping[str, Any]) -> str | None:
    """How a cell is flagged: suppression first (what is released), then fail, then review.

    Examples
    --------
    >>> cell_status({"suppression": "secondary", "failed_rules": [], "review_rules": []})
    'secondary'
    >>> cell_status({"suppression": None, "failed_rules": [], "review_rules": ["zeros"]})
    'review'
    >>> cell_status({"suppression": None, "failed_rules": [], "review_rules": []}) is None
    True
    """
    kind = cell.get("suppression")
    if kind in ("primary", "secondary"):
        return str(kind)
    if cell.get("suppressed"):  # a report that does not say which kind
        return "primary" if cell.get("failed_rules") else "secondary"
    if cell.get("failed_rules"):
        return "fail"
    if cell.get("review_rules"):
        return "review"
    return None


def cell_key(labels: Mapping[str, Any], dims: Sequence[str]) -> tuple[str, ...] | None:
    """A cell's position: its label in each dimension (``None`` when one is missing)."""
    if not isinstance(labels, Mapping) or not all(d in labels for d in dims):
        return None
    return tuple(str(labels[d]) for d in dims)


def legend() -> str:
    """The colour key shown with every grid."""
    items = "".join(
        f'<span class="key"><span class="sw {s}">{letter}</span>{text(what)}</span>'
        for s, (letter, what, _) in FLAGS.items()
    )
    return (
        f'<div class="legend">{items}<span class="key"><span class="sw">–</span>value withheld'
        '</span><span class="key"><b>bold</b>&nbsp;margin (total)</span></div>'
    )


class TableView:
    """One table output of the report, laid out for drawing."""

    def __init__(self, out: Mapping[str, Any], index: int) -> None:
        self.out = out
        self.index = index
        self.dims = [str(d) for d in out["dims"]]
        self.cells: list[Mapping[str, Any]] = list(out["cells"])
        row_dims = out.get("row_dims")
        if (
            isinstance(row_dims, list)
            and all(d in self.dims for d in row_dims)
            and len(set(row_dims)) == len(row_dims)
        ):
            self.row_dims = [str(d) for d in row_dims]
        else:
            self.row_dims = self.dims[:-1] if len(self.dims) > 1 else list(self.dims)
        self.col_dims = [d for d in self.dims if d not in self.row_dims]
        self.status = [cell_status(c) for c in self.cells]
        self.marks: dict[int, int] = {}
        for i, s in enumerate(self.status):
            if s is not None:
                self.marks[i] = len(self.marks) + 1
        self.audited = any(isinstance(self.cells[i].get("audit"), Mapping) for i in self.marks)
        self.findings: dict[tuple[str, ...], list[Mapping[str, Any]]] = {}
        self.stray: list[Mapping[str, Any]] = []
        keys = {cell_key(c.get("labels", {}), self.dims) for c in self.cells}
        for f in out["findings"]:
            key = cell_key(f.get("cell", {}), self.dims)
            if key is not None and key in keys:
                self.findings.setdefault(key, []).append(f)
            else:
                self.stray.append(f)

    def anchor(self, i: int) -> str:
        return f"o{self.index}-f{self.marks[i]}"

    def marker(self, i: int) -> str:
        s = self.status[i]
        assert s is not None
        return f"{FLAGS[s][0]}{self.marks[i]}"

    # ------------------------------------------------------------------ grid

    def _positions(self) -> dict[tuple[tuple[str, ...], tuple[str, ...]], int] | None:
        """(row key, column key) -> cell index; ``None`` when cells cannot be placed."""
        where = {}
        for i, c in enumerate(self.cells):
            labels = c.get("labels")
            if not isinstance(labels, Mapping):
                return None
            r, k = cell_key(labels, self.row_dims), cell_key(labels, self.col_dims)
            if r is None or k is None or (r, k) in where:
                return None
            where[(r, k)] = i
        return where

    def _is_total(self, key: tuple[str, ...]) -> bool:
        return bool(self.out.get("margins")) and TOTAL_LABEL in key

    def _td(self, i: int, extra: str = "") -> str:
        c = self.cells[i]
        s = self.status[i]
        labels = c.get("labels", {})
        labels = labels if isinstance(labels, Mapping) else {}
        tip = ", ".join(f"{k}={v}" for k, v in labels.items())
        tip += f": value {number(c.get('value'))}"
        if "n" in c or "records" in c:
            tip += f"; {number(c.get('n'))} contributor(s), {number(c.get('records'))} record(s)"
        tip += "".join(f"; {k}={v}" for k, v in c.items() if k not in CELL_KEYS)
        classes = " ".join(x for x in (extra, s and f"flag {s}") if x)
        cls = f' class="{classes}"' if classes else ""
        flag = ""
        if s is not None:
            tip += f"; {FLAGS[s][1]}"
            flag = f' data-status="{s}"'
            mark = f'<sup><a href="#{self.anchor(i)}">{self.marker(i)}</a></sup>'
        else:
            mark = ""
        return (
            f'<td{cls} data-cell="{i}"{flag} title="{attr(tip)}">'
            f"{number(c.get('value'))}{mark}</td>"
        )

    def grid(self) -> str:
        """The cells as a grid, or one row per cell when they do not form one."""
        where = self._positions()
        if where is None:
            return self._long()
        rows = list(dict.fromkeys(r for r, _ in where))
        cols = list(dict.fromkeys(k for _, k in where))
        n_head = max(1, len(self.row_dims))
        head = []
        statistic = self.out.get("statistic") or "value"
        if self.col_dims:
            for level, dim in enumerate(self.col_dims):
                ths = [f'<th class="dim" colspan="{n_head}">{text(dim)}</th>']
                for key, span in _runs(cols, level):
                    tcls = " total" if self._is_total(key[: level + 1]) else ""
                    ths.append(f'<th class="col{tcls}" colspan="{span}">{text(key[level])}</th>')
                head.append("<tr>" + "".join(ths) + "</tr>")
            names = "".join(f'<th class="dim">{text(d)}</th>' for d in self.row_dims)
            head.append(f'<tr>{names or "<th></th>"}<th colspan="{len(cols)}"></th></tr>')
        else:
            names = "".join(f'<th class="dim">{text(d)}</th>' for d in self.row_dims)
            head.append(f'<tr>{names}<th class="col">{text(statistic)}</th></tr>')
        body = []
        for r_i, r in enumerate(rows):
            total = self._is_total(r)
            ths = []
            for level in range(len(self.row_dims)):
                same = r_i > 0 and rows[r_i - 1][: level + 1] == r[: level + 1]
                shown = "" if same else text(r[level])
                ths.append(f'<th class="row{" total" if total else ""}">{shown}</th>')
            if not self.row_dims:
                ths.append(f'<th class="row">{text(statistic)}</th>')
            tds = []
            for k in cols:
                i = where.get((r, k))
                if i is None:
                    tds.append('<td class="void" title="not published"></td>')
                else:
                    tds.append(self._td(i, "total" if total or self._is_total(k) else ""))
            body.append("<tr>" + "".join(ths + tds) + "</tr>")
        return (
            f'<table class="grid"><thead>{"".join(head)}</thead>'
            f"<tbody>{''.join(body)}</tbody></table>"
        )

    def _long(self) -> str:
        """One row per cell: a column per dimension, then the value."""
        head = "".join(f'<th class="dim">{text(d)}</th>' for d in self.dims)
        body = []
        for i, c in enumerate(self.cells):
            labels = c.get("labels", {})
            labels = labels if isinstance(labels, Mapping) else {}
            ths = "".join(f'<th class="row">{text(labels.get(d, ""))}</th>' for d in self.dims)
            body.append(f"<tr>{ths}{self._td(i)}</tr>")
        statistic = self.out.get("statistic") or "value"
        return (
            f'<table class="grid"><thead><tr>{head}<th class="col">{text(statistic)}</th></tr>'
            f"</thead><tbody>{''.join(body)}</tbody></table>"
        )

    # ---------------------------------------------------------------- reasons

    def _flag_rows(self, i: int) -> str:
        """A flagged cell's rows in the list: where it is, its counts, then one row per finding."""
        c = self.cells[i]
        s = self.status[i]
        assert s is not None
        labels = c.get("labels", {})
        labels = labels if isinstance(labels, Mapping) else {}
        key = cell_key(labels, self.dims)
        found = self.findings.get(key, []) if key is not None else []
        why = [_finding_cells(f) for f in found]
        named = {str(f.get("rule")) for f in found}
        for group, outcome in (("failed_rules", "fail"), ("review_rules", "review")):
            for rule in c.get(group) or []:
                if str(rule) not in named:
                    why.append(f'<td><b>{text(rule)}</b></td><td class="oc {outcome}">{outcome}'
                               '</td><td colspan="3">(no finding given)</td>')  # fmt: skip
        if not why:
            note = FLAGS[s][2]
            why.append(f'<td colspan="5" class="muted">{text(note)}</td>')
        audit = c.get("audit")
        more = "".join(f"<br>{text(k)}: {generic(v)}" for k, v in c.items() if k not in CELL_KEYS)
        span = f' rowspan="{len(why)}"' if len(why) > 1 else ""
        where = " · ".join(f"<bdi>{text(labels.get(d, '–'))}</bdi>" for d in self.dims)
        head = (
            f'<td{span} class="mark {s}" id="{self.anchor(i)}" data-status="{s}">'
            f"{self.marker(i)}</td>"
            f'<td{span} class="where">{where}{more}</td>'
            f'<td{span} class="num">{number(c.get("value"))}</td>'
            f'<td{span} class="num">{number(c.get("n"))}</td>'
            f'<td{span} class="num">{number(c.get("records"))}</td>'
        )
        if self.audited:
            head += f"<td{span}>{_audit_text(audit) if isinstance(audit, Mapping) else ''}</td>"
        return "".join(f"<tr>{head if k == 0 else ''}{row}</tr>" for k, row in enumerate(why))

    def flags(self) -> str:
        """The list beside the grid: every flagged cell with its reasons."""
        body = [self._flag_rows(i) for i in self.marks]
        stray = ""
        if self.stray:
            lines = "".join(finding_line(f, with_cell=True) for f in self.stray)
            stray = f'<p class="what">Findings on no listed cell:</p><ul class="why">{lines}</ul>'
        if not body:
            return (
                f'<p class="none">No cell fails a rule, needs review or is suppressed.</p>{stray}'
            )
        names = {"cell": " · ".join(self.dims)}
        head = "".join(
            f"<th>{text(names.get(h, h))}</th>"
            for h in FLAG_COLUMNS
            if h != "audit" or self.audited
        )
        return (
            f'<table class="list flagged"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(body)}</tbody></table>{stray}"
        )

    def render(self) -> str:
        """Legend, grid and the flagged cells beside it."""
        if len(self.cells) > GRID_MAX_CELLS:
            grid = (
                f'<p class="note">The table has {len(self.cells):,} cells; grids are drawn up to '
                f"{GRID_MAX_CELLS:,}. Its flagged cells are listed here.</p>"
            )
        else:
            grid = f'<div class="grid-wrap">{self.grid()}</div>'
        return (
            f'{legend()}<div class="table-flags">{grid}<div class="side">{self.flags()}</div></div>'
        )


def _runs(keys: list[tuple[str, ...]], level: int) -> list[tuple[tuple[str, ...], int]]:
    """Consecutive keys sharing their first ``level + 1`` labels, with their count."""
    out: list[tuple[tuple[str, ...], int]] = []
    for key in keys:
        if out and out[-1][0][: level + 1] == key[: level + 1]:
            out[-1] = (out[-1][0], out[-1][1] + 1)
        else:
            out.append((key, 1))
    return out


def _audit_text(audit: Mapping[str, Any]) -> str:
    """The attacker's interval (when the report gives it) and whether it protects the cell."""
    lo, hi = audit.get("lower"), audit.get("upper")
    ok = audit.get("ok")
    verdict = (
        '<span class="ok">ok</span>' if ok is True else '<span class="bad">NOT protected</span>'
    )
    if lo is None and hi is None:
        return verdict
    return f"[{number(lo)}, {number(hi)}] {verdict}"


def _finding_cells(f: Mapping[str, Any]) -> str:
    """A finding as table cells: rule, outcome, measured, limit, message."""
    outcome = f.get("outcome")
    oc = outcome if outcome in ("fail", "review") else "other"
    return (
        f'<td><b>{text(f.get("rule"))}</b></td><td class="oc {oc}">{text(outcome)}</td>'
        f'<td class="num">{number(f.get("measured"))}</td>'
        f'<td class="num">{number(f.get("limit"))}</td><td>{text(f.get("message", ""))}</td>'
    )


def finding_line(f: Mapping[str, Any], *, with_cell: bool = False) -> str:
    """One finding as a list item: rule, outcome, measured, limit, message."""
    outcome = f.get("outcome")
    oc = outcome if outcome in ("fail", "review") else "other"
    where = ""
    if with_cell and isinstance(f.get("cell"), Mapping):
        where = f"{labels_text(f['cell'])}: "
    return (
        f'<li>{where}<b>{text(f.get("rule"))}</b> <span class="oc {oc}">{text(outcome)}</span> '
        f"measured {number(f.get('measured'))}, limit {number(f.get('limit'))}: "
        f"{text(f.get('message', ''))}</li>"
    )
