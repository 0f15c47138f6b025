"""User hierarchies of a table dimension: subtotals as groups of the levels seen in the data.

A hierarchy is a set of parent -> child edges. Children are levels of the data
(leaves) or other parents; each parent becomes a published subtotal over the
leaves below it. Groupings need not nest (a municipality may belong to a county
and to a cross-cutting cluster). Accepted forms:

- a dict ``{parent: [child, ...]}``;
- a sequence of ``(parent, child)`` pairs, or a DataFrame with ``parent`` and
  ``child`` columns;
- a file: CSV with a ``parent,child`` header, SSBtools' hierarchy table (CSV with
  ``mapsFrom,mapsTo,sign,level`` columns: child, parent, +1, depth), or a tau-Argus
  ``.hrc`` file (one code per line, one leading ``@`` per level below the total).
  A file describes a tree: a code under two parents is an error naming it
  (crossing groupings are given as a dict or pairs instead).

Codes are matched to the data's levels by their text, so ``1`` and ``"1"`` agree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sdc.exceptions import SdcInputError
from sdc.tables.model import TOTAL_LABEL

Groups = tuple[tuple[Any, tuple[Any, ...]], ...]


def _bad(dim: str, what: str) -> SdcInputError:
    return SdcInputError(f"hierarchy for {dim!r}: {what}")


def read_hierarchy(path: str | Path, dim: str = "?") -> list[tuple[str, str]]:
    """Parent -> child edges from a CSV (``parent,child`` header), an SSBtools hierarchy
    table (``mapsFrom,mapsTo,sign,level``) or a tau-Argus ``.hrc`` file; a tree.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "region.csv")
    >>> rows = ["mapsFrom,mapsTo,sign,level", "1,North,1,1", "2,North,1,1", "3,South,1,1",
    ...         "North,Total,1,2", "South,Total,1,2"]
    >>> _ = open(path, "w").write(chr(10).join(rows))
    >>> read_hierarchy(path, "region")
    [('North', '1'), ('North', '2'), ('South', '3'), ('Total', 'North'), ('Total', 'South')]
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _bad(dim, f"cannot read {str(p)!r} ({type(exc).__name__}).") from None
    lines = [ln.rstrip("\r") for ln in text.split("\n") if ln.strip()]
    if not lines:
        raise _bad(dim, f"{str(p)!r} is empty.")
    header = lines[0].replace(" ", "").replace('"', "").lower()
    if header.startswith("parent,child"):
        edges = []
        for i, ln in enumerate(lines[1:], 2):
            parts = [x.strip() for x in ln.split(",")]
            if len(parts) != 2 or not all(parts):
                raise _bad(dim, f"{str(p)!r} line {i}: expected 'parent,child', got {ln!r}.")
            edges.append((parts[0], parts[1]))
    elif header.split(",")[:2] == ["mapsfrom", "mapsto"]:
        edges = _ssb_edges(lines, dim, str(p))
    else:
        edges = _hrc_edges(lines, dim, str(p))
    _check_tree(edges, dim, str(p))
    return edges


def _ssb_edges(lines: list[str], dim: str, where: str) -> list[tuple[str, str]]:
    """SSBtools' hierarchy table: ``mapsFrom`` (child), ``mapsTo`` (parent), ``sign``, ``level``."""
    names = [x.strip().strip('"') for x in lines[0].split(",")]
    if "sign" not in names:
        raise _bad(dim, f"{where}: an SSBtools hierarchy needs a 'sign' column.")
    child, parent, sign = names.index("mapsFrom"), names.index("mapsTo"), names.index("sign")
    edges = []
    for i, ln in enumerate(lines[1:], 2):
        parts = [x.strip().strip('"') for x in ln.split(",")]
        if len(parts) != len(names) or not parts[child] or not parts[parent]:
            raise _bad(dim, f"{where} line {i}: expected {len(names)} fields, got {ln!r}.")
        if parts[sign] not in ("1", "+1", "1.0"):
            raise _bad(
                dim,
                f"{where} line {i}: {parts[child]!r} enters {parts[parent]!r} with sign "
                f"{parts[sign]!r}; only sums (sign 1) can be published and audited.",
            )
        edges.append((parts[parent], parts[child]))
    return edges


def _check_tree(edges: list[tuple[str, str]], dim: str, where: str) -> None:
    """A hierarchy file is a tree: no code has two parents."""
    parents: dict[str, list[str]] = {}
    for parent, child in edges:
        parents.setdefault(child, []).append(parent)
    shared = {c: ps for c, ps in parents.items() if len(set(ps)) > 1}
    if shared:
        first = sorted(shared)[:10]
        said = "; ".join(f"{c!r} under {sorted(set(shared[c]))}" for c in first)
        raise _bad(
            dim,
            f"{where} is not a tree: code(s) with more than one parent: {said}. Give each code "
            "one parent (crossing groupings can be given as a dict in Python).",
        )


def _hrc_edges(lines: list[str], dim: str, where: str) -> list[tuple[str, str]]:
    edges: list[tuple[str, str]] = []
    stack: list[str] = []  # stack[d] = the latest code at depth d
    for i, ln in enumerate(lines, 1):
        depth = len(ln) - len(ln.lstrip("@"))
        code = ln[depth:].strip()
        if not code or depth > len(stack):
            raise _bad(dim, f"{where} line {i}: {ln!r} is not a valid hierarchy line.")
        del stack[depth:]
        edges.append((stack[-1] if depth else TOTAL_LABEL, code))
        stack.append(code)
    return edges


def _edges(spec: Any, dim: str) -> list[tuple[str, str]]:
    if isinstance(spec, (str, Path)):
        return read_hierarchy(spec, dim)
    if isinstance(spec, pd.DataFrame):
        if not {"parent", "child"} <= set(map(str, spec.columns)):
            raise _bad(dim, "a DataFrame needs 'parent' and 'child' columns.")
        pairs = list(zip(spec["parent"], spec["child"], strict=True))
    elif isinstance(spec, Mapping):
        pairs = []
        for parent, children in spec.items():
            if isinstance(children, (str, bytes)) or not isinstance(children, Sequence):
                raise _bad(dim, f"children of {parent!r} must be a list of codes.")
            if not children:
                raise _bad(dim, f"parent {parent!r} has no children.")
            pairs.extend((parent, c) for c in children)
    elif isinstance(spec, Sequence) and all(
        isinstance(e, Sequence) and not isinstance(e, str) and len(e) == 2 for e in spec
    ):
        pairs = [(e[0], e[1]) for e in spec]
    else:
        raise _bad(
            dim,
            f"expected a dict of parent -> children, (parent, child) pairs, a DataFrame or a "
            f"file path; got {type(spec).__name__}.",
        )
    out: list[tuple[str, str]] = []
    for parent, child in pairs:
        if pd.isna(parent) or pd.isna(child):
            raise _bad(dim, "a parent or child code is missing.")
        out.append((str(parent).strip(), str(child).strip()))
    if not out:
        raise _bad(dim, "no parent -> child edges.")
    return out


def resolve(spec: Any, levels: Sequence[Any], dim: str) -> Groups:
    """The groups ``(label, leaf levels)`` a hierarchy defines over a dimension's ``levels``.

    Raises :class:`SdcInputError` for cycles, repeated edges, a parent that is also
    a level of the data, codes the data does not have, and data levels the
    hierarchy leaves out. A group covering every level is the table's total and
    is not repeated (a ``.hrc`` file's top level hangs under it).

    Examples
    --------
    >>> resolve({"North": ["1", "2"], "South": ["3"]}, [1, 2, 3], "region")
    (('North', (1, 2)), ('South', (3,)))
    >>> resolve({"North": ["1", "2"]}, [1, 2, 3], "region")
    Traceback (most recent call last):
    ...
    sdc.exceptions.SdcInputError: hierarchy for 'region': data levels not in the hierarchy: ['3'].
    """
    edges = _edges(spec, dim)
    if len(set(edges)) != len(edges):
        dup = next(e for e in edges if edges.count(e) > 1)
        raise _bad(dim, f"the edge {dup[0]!r} -> {dup[1]!r} is listed twice.")
    by_text = {str(lv): lv for lv in levels}
    if len(by_text) != len(levels):
        raise _bad(dim, "two data levels have the same text; codes cannot be matched.")
    children: dict[str, list[str]] = {}
    for parent, child in edges:
        children.setdefault(parent, []).append(child)
    clash = sorted(p for p in children if p in by_text)
    if clash:
        raise _bad(dim, f"parent code(s) {clash} are also data levels.")
    nodes = set(children) | {c for cs in children.values() for c in cs}
    missing = sorted(n for n in nodes if n not in children and n not in by_text)
    if missing:
        raise _bad(dim, f"codes missing from the data: {missing[:10]}.")
    below: dict[str, tuple[str, ...]] = {}

    def expand(node: str, path: tuple[str, ...]) -> tuple[str, ...]:
        if node in path:
            raise _bad(dim, f"cycle {' -> '.join((*path, node))}.")
        if node not in children:
            return (node,)
        if node not in below:
            seen: dict[str, None] = {}
            for c in children[node]:
                seen.update(dict.fromkeys(expand(c, (*path, node))))
            below[node] = tuple(seen)
        return below[node]

    for parent in children:
        expand(parent, ())
    covered = {leaf for leaves in below.values() for leaf in leaves}
    uncovered = sorted(t for t in by_text if t not in covered)
    if uncovered:
        raise _bad(dim, f"data levels not in the hierarchy: {uncovered[:10]}.")
    order = [str(lv) for lv in levels]
    groups = []
    for parent, leaves in below.items():
        if len(leaves) == len(levels):
            continue  # the root: that is the total every table publishes
        members = set(leaves)
        ordered = tuple(by_text[t] for t in order if t in members)
        groups.append((parent, ordered))
    return tuple(groups)
