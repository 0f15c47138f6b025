"""The HTML report's style sheet (inline; no fonts, images or anything else fetched).

Flag colours are the report's contract with the reader and with the browser
test: a data cell has a background of its own only when it is flagged.
"""

CSS = """
:root {
  --fail: #f4c0ba; --review: #fbe29a; --primary: #b6cbe9; --secondary: #dcd2f2;
  --ink: #1b1b1b; --muted: #5c5c5c; --rule: #c8c8c8; --head: #f1f1f1;
}
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { font: 13px/1.4 system-ui, "Segoe UI", "DejaVu Sans", Arial, sans-serif; color: var(--ink);
  background: #fff; margin: 0 auto; max-width: 1280px; padding: 12px 20px 40px; }
h1 { font-size: 20px; margin: 8px 0 2px; }
h2 { font-size: 16px; margin: 22px 0 6px; padding-bottom: 3px;
  border-bottom: 2px solid var(--ink); }
h3 { font-size: 14px; margin: 14px 0 4px; }
p { margin: 4px 0; }
a { color: inherit; }
code, .mono { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 12px; }
.cc { font-family: monospace; font-size: 10px; border: 1px solid #a33; color: #a33;
  padding: 0 2px; margin: 0 1px; border-radius: 2px; }
.inside { border: 2px solid #8b1a1a; color: #5e0f0f; padding: 6px 10px; margin: 0 0 8px;
  font-weight: 600; }
.inside span { font-weight: 400; }
.muted, .meta { color: var(--muted); }
.badge { display: inline-block; min-width: 52px; text-align: center; font-weight: 700;
  font-size: 11px; letter-spacing: .04em; padding: 1px 6px; border: 1px solid; border-radius: 3px;
  vertical-align: 1px; }
.badge.pass { color: #14532d; background: #d5efdc; border-color: #4c9a63; }
.badge.review { color: #6b4500; background: var(--review); border-color: #b98900; }
.badge.fail { color: #7a1010; background: var(--fail); border-color: #b43a30; }
.badge.other { color: var(--ink); background: #e6e6e6; border-color: #888; }
.badge.big { font-size: 16px; padding: 3px 12px; }
table { border-collapse: collapse; }
th, td { border: 1px solid var(--rule); padding: 2px 6px; vertical-align: top; }
thead th { background: var(--head); }
table.list { width: 100%; margin: 4px 0 8px; }
table.list th { text-align: left; }
table.list td.num, table.list th.num { text-align: right; font-variant-numeric: tabular-nums; }
table.list td.digest { font-family: monospace; font-size: 11px; word-break: break-all; }
.toc td:first-child { width: 1%; white-space: nowrap; }
dl.kv { display: grid; grid-template-columns: max-content 1fr; gap: 1px 10px; margin: 2px 0; }
dl.kv dt { font-weight: 600; }
dl.kv dd { margin: 0; }
ul.plain { margin: 0; padding-left: 16px; }
.output { margin-top: 18px; }
.output h2 .sub { font-weight: 400; font-size: 13px; color: var(--muted); }
ol.reasons { margin: 4px 0; padding-left: 22px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 6px 0; font-size: 12px; }
.legend .key { display: inline-flex; align-items: center; gap: 4px; }
.sw { display: inline-block; min-width: 18px; text-align: center; font-size: 10px; font-weight: 700;
  border: 1px solid #777; padding: 0 2px; }
.table-flags { display: flex; flex-wrap: wrap; gap: 12px; align-items: flex-start; }
.grid-wrap { overflow-x: auto; max-width: 100%; }
.side { flex: 1 1 640px; min-width: min(640px, 100%); }
table.flagged td { font-size: 12px; }
table.flagged td.mark { font-size: 11px; font-weight: 700; text-align: center;
  white-space: nowrap; }
table.flagged td.oc { white-space: nowrap; }
table.flagged td:last-child { min-width: 16em; }
table.flagged td.where { white-space: nowrap; }
.side { overflow-x: auto; }
table.grid { font-variant-numeric: tabular-nums; }
table.grid td { text-align: right; white-space: nowrap; }
table.grid th { text-align: left; white-space: nowrap; font-weight: 400; }
table.grid th.dim { font-style: italic; color: var(--muted); background: var(--head); }
table.grid th.col { font-weight: 600; text-align: center; }
table.grid th.row { background: #fafafa; }
table.grid .total { font-weight: 700; }
table.grid td.void { border-style: dotted; }
table.grid sup { font-size: 9px; font-weight: 700; margin-left: 2px; }
table.grid sup a { text-decoration: none; }
td.flag.fail, .sw.fail, .mark.fail { background: var(--fail); }
td.flag.review, .sw.review, .mark.review { background: var(--review); }
td.flag.primary, .sw.primary, .mark.primary { background: var(--primary); }
td.flag.secondary, .sw.secondary, .mark.secondary { background: var(--secondary); }
td.flag { outline: 1px solid #555; outline-offset: -1px; }
ul.flags { list-style: none; margin: 0; padding: 0; }
ul.flags > li { border-top: 1px solid var(--rule); padding: 3px 0; }
.facts { color: var(--muted); }
.what { color: var(--ink); font-weight: 600; }
ul.why { margin: 1px 0 0; padding-left: 18px; }
.oc { font-size: 11px; font-weight: 700; text-transform: uppercase; }
.oc.fail { color: #8b1a1a; }
.oc.review { color: #6b4500; }
.ok { color: #14532d; font-weight: 600; }
.bad { color: #8b1a1a; font-weight: 700; }
.none, .note { color: var(--muted); font-style: italic; }
table.findings tr.f-fail td:first-child { border-left: 4px solid #b43a30; }
table.findings tr.f-review td:first-child { border-left: 4px solid #b98900; }
footer { margin-top: 28px; color: var(--muted); font-size: 11px; }
@media (max-width: 1180px) { .side { flex-basis: 100%; } }
@media print {
  .side { flex-basis: 100%; }
  body { max-width: none; padding: 0; font-size: 10.5px; }
  .grid-wrap { overflow: visible; }
  .output { break-before: auto; }
  h2, h3 { break-after: avoid; }
  tr, ul.flags > li { break-inside: avoid; }
  a { text-decoration: none; }
}
"""
