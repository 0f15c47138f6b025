"""Differencing within one request at the gate, from its definitions and evidence.

The gate has each output as it checked it (the released values it read, the true
counts of every cell from the evidence) and the definition ``finalise`` recorded.
Outputs of one dataset (:func:`~sdc.differencing.population.dataset_key`) are
placed on the variables their definitions name (:mod:`sdc.differencing.structural`)
and the exact detection runs over them. An output that cannot be placed (no
definition, no population, a fitted model whose design the gate does not rebuild)
is named in a note, which makes the result ``review``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sdc.differencing.cells import RECORDS, OutputCells, Participant, survival_cells, table_cells
from sdc.differencing.detect import detect
from sdc.differencing.population import dataset_key
from sdc.differencing.result import DifferencingResult
from sdc.differencing.structural import NONE, Layout, Placed, table_leaf


@dataclass(frozen=True)
class GateOutput:
    """A request's output as the gate checked it: ``checked`` is the rebuilt output
    (a table, survival table or regression), None when it could not be checked."""

    name: str
    kind: str
    definition: dict[str, Any] | None
    checked: Any


def _population(d: dict[str, Any] | None) -> dict[str, Any] | None:
    pop = d.get("population") if isinstance(d, dict) else None
    return pop if isinstance(pop, dict) else None


def _expression(d: dict[str, Any] | None) -> str | None:
    pop = _population(d)
    e = pop.get("expression") if pop else None
    return e if isinstance(e, str) else None


def gate_cells(o: GateOutput) -> OutputCells | None:
    """The output's cells as released (None: a statistic that is no sum, or not checked)."""
    out, d = o.checked, o.definition
    if out is None:
        return None
    if o.kind in ("frequency table", "magnitude table"):
        dims = d.get("dims", []) if isinstance(d, dict) else []
        constant = tuple(str(x.get("name")) for x in dims
                         if isinstance(x, dict) and x.get("constant") is not None)  # fmt: skip
        rounded = out.protected.rounded_to if out.protected_applied else None
        return table_cells(o.name, out.model, out.statistic, out.value_name,
                           out.released_values, out.check.evidence.records, rounded,
                           _expression(d), constant)  # fmt: skip
    if o.kind == "survival":
        groups = [g.value for g in out.totals]
        by = d.get("by") if isinstance(d, dict) else None
        by_name = by.get("column") if isinstance(by, dict) else None
        return survival_cells(o.name, out.table, groups, by_name, _expression(d))[0]
    return None


def _dims(d: dict[str, Any], cells: OutputCells) -> list[tuple[tuple[Any, ...] | None, list[str]]]:
    """Per dimension of a table, its variable's key (None: constant) and its levels' text."""
    out: list[tuple[tuple[Any, ...] | None, list[str]]] = []
    for x in d.get("dims", []):
        if not isinstance(x, dict):
            raise ValueError("a dimension of its definition is not an object")
        levels = [str(v) for v in x.get("levels", [])]
        if x.get("constant") is not None:
            out.append((None, levels))
        elif x.get("column") is None:
            out.append((("private", cells.name, x.get("name")), levels))
        else:
            bins = x.get("bins")
            out.append((("column", x["column"], None if bins is None else tuple(bins)), levels))
    return out


def model_note(outputs: Sequence[GateOutput], earlier: Sequence[str] = (),
               data_key: str | None = None) -> str | None:  # fmt: skip
    """Why fitted models take no part at the gate, naming the outputs of their data they
    are therefore not checked against (None: no model, or none beside another output of
    its data). ``earlier``: outputs released before, from the data of ``data_key``."""
    taking_part, models, _ = sort_outputs(outputs)
    if not models:
        return None
    definition = {o.name: o.definition for o in outputs}
    keys = [dataset_key(definition[m]) for m in models]
    unknown = None in keys

    def beside(key: str | None) -> bool:
        return unknown or key is None or key in keys

    others = [o.name for o, c in taking_part if c.measure == RECORDS
              and beside(dataset_key(o.definition))]  # fmt: skip
    others += [name for name in earlier if beside(data_key)]
    if not others and len(set(keys)) == len(keys) and not (unknown and len(models) > 1):
        return None
    against = f"against {', '.join(map(repr, others))} " if others else "against each other "
    return (f"fitted model(s) {', '.join(map(repr, models))}: the gate does not rebuild a "
            f"design from a formula, so their per-level counts are not checked {against}"
            "at the gate (the session's check covers them)")  # fmt: skip


def sort_outputs(
    outputs: Sequence[GateOutput],
) -> tuple[list[tuple[GateOutput, OutputCells]], list[str], Counter[str]]:
    """The outputs that take part at the gate, with their cells; the fitted models (the
    gate does not rebuild them); how many outputs count each measure (models: records)."""
    measures: Counter[str] = Counter()
    taking_part: list[tuple[GateOutput, OutputCells]] = []
    models: list[str] = []
    for o in outputs:
        if o.kind == "regression" and o.checked is not None:
            models.append(o.name)
            measures[RECORDS] += 1
            continue
        cells = gate_cells(o)
        if cells is not None:
            measures[cells.measure] += 1
            taking_part.append((o, cells))
    return taking_part, models, measures


def check_request(outputs: Sequence[GateOutput], t: int, *,
                  intervals: bool = False) -> DifferencingResult:  # fmt: skip
    """Differencing over a request's outputs from definitions and evidence (no data)."""
    unplaced: list[tuple[str, str]] = []
    groups: dict[str, list[tuple[GateOutput, OutputCells]]] = {}
    taking_part, _, measures = sort_outputs(outputs)
    for o, cells in taking_part:
        key = dataset_key(o.definition)
        if key is None:
            unplaced.append((cells.measure, (
                f"output {o.name!r}: its definition does not say which records it covers "
                "(made by hand, from arrays, files, Dask or Spark): it is not checked against "
                "the others")))  # fmt: skip
            continue
        groups.setdefault(key, []).append((o, cells))
    notes = [why for measure, why in unplaced if measures[measure] > 1]
    checked = [o.name for g in groups.values() for o, _ in g]
    about_models = model_note(outputs)
    if about_models:
        notes.append(about_models)
    result = DifferencingResult(notes=tuple(notes), checked=tuple(checked), method="evidence")
    findings: list[Any] = []
    more_notes: list[str] = []
    suggestions: list[str] = []
    for members in groups.values():
        by_measure: dict[str, int] = {}
        for _, c in members:
            by_measure[c.measure] = by_measure.get(c.measure, 0) + 1
        if max(by_measure.values()) < 2:
            continue
        parts = _placed(members, more_notes)
        if parts is None:
            continue
        found = detect(parts, None, t, intervals=intervals)
        findings += found.findings
        more_notes += found.notes
        suggestions += found.suggestions
    return DifferencingResult(
        findings=tuple(findings), notes=(*result.notes, *more_notes),
        suggestions=tuple(suggestions), checked=result.checked, method="evidence",
    )  # fmt: skip


def _placed(members: list[tuple[GateOutput, OutputCells]],
            notes: list[str]) -> list[Participant] | None:  # fmt: skip
    """The dataset's outputs on the cross product of their variables (None: too large)."""
    layout = Layout()
    reads: list[tuple[list[int], list[list[str]]]] = []
    for o, cells in members:  # first every variable and level, then each output's leaves
        d = o.definition or {}
        if o.kind == "survival":
            by = d.get("by")
            spec: list[tuple[tuple[Any, ...], list[str]]] = []
            if isinstance(by, dict) and by.get("column") is not None:
                spec.append(
                    (("column", by["column"], None), [str(x) for x in by.get("levels", [])])
                )
            spec.append((("survival", o.name), [str(i) for i in range(cells.n_leaves)]))
        else:
            spec = [(k, levels) for k, levels in _dims(d, cells) if k is not None]
        variables = []
        for key, levels in spec:
            v = layout.variable(key)
            for text in levels:
                layout.variables[v].level(text)
            variables.append(v)
        reads.append((variables, [levels for _, levels in spec]))
    for (o, cells), (variables, own) in zip(members, reads, strict=True):
        flag = layout.flag(_population(o.definition) or {})
        if o.kind == "survival":
            leaf = _survival_leaf(layout, variables, cells)
        else:
            levels_of = []
            for v, levels in zip(variables, own, strict=True):
                position = {text: i for i, text in enumerate(levels)}
                levels_of.append([position.get(x, -1) for x in layout.variables[v].levels])
            leaf = table_leaf(levels_of)
        layout.placed.append(Placed(o.name, flag, variables, leaf))
    made = layout.atoms()
    if made is None:
        notes.append("the outputs' variables have too many combinations to check without the "
                     "data: check the request with --data")  # fmt: skip
        return None
    _, leaves = made
    return [Participant(cells, leaf) for (_, cells), leaf in zip(members, leaves, strict=True)]


def _survival_leaf(layout: Layout, variables: list[int], cells: OutputCells) -> Any:
    """A survival table's leaf: its private level, where the leaf's group is the by-level."""
    group_of = np.asarray([next(iter(lab.values())) for lab in cells.leaf_labels], dtype=object)

    def leaf(levels: np.ndarray) -> np.ndarray:
        private = levels[:, -1]
        if len(variables) == 1:
            return private
        by_levels = np.asarray(layout.variables[variables[0]].levels, dtype=object)
        return np.where(group_of[private] == by_levels[levels[:, 0]], private, NONE)

    return leaf
