"""Differencing at the gate: within the request, and against earlier releases.

``sdc check REQUEST`` checks the request's outputs together
(:func:`gate_differencing`). Without data it works from their definitions and
evidence (:mod:`sdc.differencing.request`). With ``--data`` every output is placed
on the data's records: its population is selected again (the recorded filter
expression, then the row fingerprint must match) and its grouping columns are
read and checked against their recorded fingerprints; the atoms are then exact.
With ``--registry`` (and ``--data``) every output released before from the same
data (:func:`sdc.differencing.population.dataset_key`) is placed on the records
the same way and joins the check as already released: a group it gives away
with the new outputs is blamed on the new ones and names the earlier release.

The data are read once per variable: each distinct grouping column (or binning)
and population is coded over all rows, the records are grouped into micro-atoms
(every record alike on every variable) by the combined-codes kernel, and each
output is then evaluated on one record per micro-atom.

An output that cannot be placed (its columns or rows are not in the data, a
fitted model, a hand-made file) is named in a note: the result is then at best
``review``. Registry reads need the data: ``--registry`` without ``--data`` is a
note too.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from sdc.canonical import label_text
from sdc.definition import number_fingerprint, text_codes, text_fingerprint
from sdc.differencing.cells import RECORDS, OutputCells, Participant, survival_cells, table_cells
from sdc.differencing.detect import detect
from sdc.differencing.population import data_key, evaluate, index_fingerprint
from sdc.differencing.report import mark_outputs
from sdc.differencing.request import GateOutput, check_request, model_note, sort_outputs
from sdc.differencing.result import DifferencingResult
from sdc.exceptions import SdcInputError
from sdc.tables.factorize import factorize


class NotPlaced(Exception):
    """An output cannot be placed on the data's records (the message says why)."""


@dataclass(frozen=True)
class Placement:
    """An output on the data: its cells, the variables its leaves read, its population
    (a mask key, None for every row) and its leaf for codes of those variables."""

    cells: OutputCells
    variables: tuple[Any, ...]
    mask: Any
    leaf: Callable[[list[np.ndarray]], np.ndarray]
    earlier: bool = False
    identity: str = ""


class DataView:
    """The gate's data read once per variable: codes and masks over every row, cached."""

    def __init__(self, source: Any) -> None:
        self.source = source
        self.rows = int(source.rows)
        self.arrays: dict[Any, np.ndarray] = {}
        self.masks: dict[Any, np.ndarray] = {}
        self._texts: dict[Any, list[str]] = {}
        self._prints: dict[Any, str] = {}
        self._columns: dict[Any, Any] = {}  # columns as population filters read them
        self._selected: dict[Any, str | None] = {}  # each population's row fingerprint
        self.models: dict[str, Any] = {}  # earlier releases' tables, one per distinct table
        self._positions: dict[Any, np.ndarray] = {}

    @property
    def key(self) -> str | None:
        """The data's dataset key (rows numbered from 0)."""
        return data_key(self.rows, index_fingerprint(pd.RangeIndex(self.rows)))

    def population(self, pop: Any) -> Any:
        """The mask key of a recorded population (None: every row), checked against its
        row fingerprint."""
        if not isinstance(pop, dict):
            raise NotPlaced("its definition does not say which records it covers")
        base = pop.get("base") or {}
        expression = pop.get("expression")
        if base.get("rows") != self.rows:
            if expression is None:
                raise NotPlaced(
                    f"it covers a subset of the records chosen by hand ({pop.get('rows')} of the "
                    f"data's {self.rows} rows, no filter expression recorded), which the gate "
                    "cannot select again"
                )
            raise NotPlaced("it was made from another number of records than the data hold")
        if expression is None:
            if pop.get("index") != index_fingerprint(pd.RangeIndex(self.rows)):
                raise NotPlaced(
                    "it covers a subset of the records chosen by hand (no filter expression "
                    "recorded), which the gate cannot select again"
                )
            return None
        key = ("population", expression)
        if key not in self.masks:
            try:
                self.masks[key] = evaluate(expression, self.source.frame, "--data",
                                           self._columns)  # fmt: skip
            except SdcInputError as exc:
                raise NotPlaced(f"its population {expression!r} cannot be applied to the data "
                                f"({exc})") from None  # fmt: skip
        if key not in self._selected:
            self._selected[key] = index_fingerprint(pd.Index(self._rows(key)))
        if self._selected[key] != pop.get("index"):
            raise NotPlaced(f"its population {expression!r} selects other records in the data")
        return key

    def variable(self, column: Any, bins: Any) -> tuple[Any, list[str]]:
        """The key of a grouping column (binned, for a histogram) and its levels' text."""
        if not isinstance(column, str) or column not in self.source.frame.columns:
            raise NotPlaced(f"the data have no column {column!r}")
        key = ("column", column, None if bins is None else tuple(float(b) for b in bins))
        if key not in self.arrays:
            if bins is None:
                codes, texts = self.source.text(column, f"column {column!r}")
            else:
                from sdc.tables.histogram import bin_labels

                values = self.source.numbers(column, f"column {column!r}")
                codes, labels = factorize(pd.Series(bin_labels(values, np.asarray(key[2]))))
                codes, texts = text_codes(codes, labels)
            self.arrays[key] = np.asarray(codes, dtype=np.int64)
            self._texts[key] = list(texts)
        return key, self._texts[key]

    def fingerprint(self, key: Any, mask: Any) -> str:
        """The text fingerprint of a variable over a population's rows (as recorded)."""
        if (key, mask) not in self._prints:
            codes = self.arrays[key] if mask is None else self.arrays[key][self._rows(mask)]
            self._prints[(key, mask)] = text_fingerprint(codes, self._texts[key])
        return self._prints[(key, mask)]

    def _rows(self, mask: Any) -> np.ndarray:
        """A population's rows as positions (taking them is several times faster than a
        boolean mask, and every variable of the population takes them)."""
        if mask not in self._positions:
            self._positions[mask] = np.flatnonzero(self.masks[mask])
        return self._positions[mask]

    def rows_of(self, mask: Any) -> np.ndarray:
        return np.ones(self.rows, dtype=bool) if mask is None else self.masks[mask]


def _table_placement(cells: OutputCells, definition: Any, levels: Sequence[Sequence[Any]],
                     view: DataView, earlier: bool) -> Placement:  # fmt: skip
    if not isinstance(definition, dict) or not isinstance(definition.get("dims"), list):
        raise NotPlaced("it has no definition the gate can read")
    mask = view.population(definition.get("population"))
    keys, lookups = [], []
    for dim, own in zip(definition["dims"], levels, strict=True):
        if not isinstance(dim, dict):
            raise NotPlaced("a dimension of its definition is not an object")
        if dim.get("constant") is not None:
            continue
        key, texts = view.variable(dim.get("column"), dim.get("bins"))
        if view.fingerprint(key, mask) != dim.get("fingerprint"):
            raise NotPlaced(f"its column {dim.get('column')!r} differs in the data from the "
                            "one it was computed from")  # fmt: skip
        position = {label_text(x): i for i, x in enumerate(own)}
        lookup = np.array([position.get(t, -1) for t in texts], dtype=np.int64)
        keys.append(key)
        lookups.append((lookup, len(own)))

    def leaf(codes: list[np.ndarray]) -> np.ndarray:
        out = np.zeros(codes[0].size if codes else 0, dtype=np.int64)
        for c, (lookup, size) in zip(codes, lookups, strict=True):
            out = out * size + lookup[c]
        return out

    return Placement(cells, tuple(keys), mask, leaf, earlier)


def _survival_placement(cells: OutputCells, starts_of: list[np.ndarray], groups: list[str],
                        definition: Any, view: DataView, earlier: bool) -> Placement:  # fmt: skip
    from sdc.differencing.records import survival_leaves
    from sdc.regression.survival import _events

    d = definition if isinstance(definition, dict) else {}
    mask = view.population(d.get("population"))
    rows = view.rows_of(mask)
    entry: dict[str, dict[str, Any]] = {
        role: d[role] if isinstance(d.get(role), dict) else {}
        for role in ("duration", "event", "by")
    }
    durations = view.source.numbers(entry["duration"].get("column"), "duration column")
    raw = view.source.column(entry["event"].get("column"), "event column")
    if pd.api.types.is_numeric_dtype(raw.dtype):
        events = view.source.numbers(entry["event"].get("column"), "event column")
    else:
        events = (raw.astype(str).str.lower() == "true").to_numpy(dtype=np.float64)
    for role, values in (("duration", durations), ("event", events)):
        fp = values[rows] if role == "duration" else _events(pd.Series(events[rows])).astype(float)
        if number_fingerprint(fp) != entry[role].get("fingerprint"):
            raise NotPlaced(f"its {role} column differs in the data from the one it was "
                            "computed from")  # fmt: skip
    unit = d.get("time_unit")
    if isinstance(unit, int | float) and unit > 0:
        durations = np.floor(durations / unit) * unit
    codes = np.zeros(view.rows, dtype=np.int64)
    if d.get("by") is not None:
        key, texts = view.variable(entry["by"].get("column"), None)
        if view.fingerprint(key, mask) != entry["by"].get("fingerprint"):
            raise NotPlaced("its group column differs in the data from the one it was computed "
                            "from")  # fmt: skip
        position = {g: i for i, g in enumerate(groups)}
        lookup = np.array([position.get(t, -1) for t in texts], dtype=np.int64)
        codes = lookup[view.arrays[key]]
    inside = rows & (codes >= 0)
    leaves = np.full(view.rows, -1, dtype=np.int64)
    leaves[inside] = survival_leaves(codes[inside], durations[inside], events[inside] > 0,
                                     starts_of)  # fmt: skip
    key = ("survival", cells.name, id(cells))
    view.arrays[key] = leaves + 1
    return Placement(cells, (key,), mask, lambda c: c[0] - 1, earlier)


def _place(o: GateOutput, cells: OutputCells, view: DataView) -> Placement:
    """A request's output on the data."""
    if o.kind == "survival":
        groups = [g.value for g in o.checked.totals]
        by = (o.definition or {}).get("by")
        _, starts = survival_cells(o.name, o.checked.table, groups,
                                   by.get("column") if isinstance(by, dict) else None)  # fmt: skip
        return _survival_placement(cells, starts, groups, o.definition, view, False)
    return _table_placement(cells, o.definition, o.checked.model.levels, view, False)


def _released(r: Any, view: DataView, ruleset: Any) -> Placement | None:
    """An output released before, re-evaluated on the data (None: no sums of records)."""
    from sdc.release.recompute import NotRecomputed, recompute_survival

    d = r.definition
    label = f"{r.request_id}/{r.name}"
    if not isinstance(d, dict):
        raise NotPlaced("the registry holds no definition for it")
    if d.get("call") == "survival_table":
        try:
            out = recompute_survival(d, view.source, ruleset, label)
        except NotRecomputed as exc:
            raise NotPlaced(str(exc)) from None
        groups = [g.value for g in out.totals]
        by = d.get("by")
        cells, starts = survival_cells(label, out.table, groups,
                                       by.get("column") if isinstance(by, dict) else None,
                                       _expression(d))  # fmt: skip
        return _survival_placement(cells, starts, groups, d, view, True)
    if "dims" not in d:
        raise NotPlaced("its records cannot be rebuilt at the gate (a fitted model, or a "
                        "definition of an unknown kind)")  # fmt: skip
    model = _model_of(d, view.models)
    values: dict[str, Any] = d["values"] if isinstance(d.get("values"), dict) else {}
    constant = tuple(str(x.get("name")) for x in d["dims"] if x.get("constant"))
    made = table_cells(label, model, str(d.get("statistic")), str(values.get("column")),
                       released_values(d, model), None, _rounded(d), _expression(d),
                       constant)  # fmt: skip
    if made is None:
        return None
    return _table_placement(made, d, model.levels, view, True)


def _digest(definition: Any) -> str:
    """SHA-256 of a definition's canonical JSON (part of a released output's identity)."""
    import hashlib

    from sdc.release.registry.audit import canonical_json

    return hashlib.sha256(canonical_json(definition).encode()).hexdigest()


def _expression(d: dict[str, Any]) -> str | None:
    pop = d.get("population")
    e = pop.get("expression") if isinstance(pop, dict) else None
    return e if isinstance(e, str) else None


def _rounded(d: dict[str, Any]) -> int | None:
    released = d.get("released")
    b = released.get("rounded_to") if isinstance(released, dict) else None
    return int(b) if isinstance(b, int) and not isinstance(b, bool) and b > 0 else None


def _model_of(d: dict[str, Any], made: dict[str, Any] | None = None) -> Any:
    """The table a definition describes (its dimensions, levels, margins and groups); one
    model per distinct table in ``made`` (many earlier releases share one)."""
    from sdc.release.registry.audit import canonical_json
    from sdc.tables.model import TableModel

    try:
        dims = d["dims"]
        key = canonical_json([[[x.get(k) for k in ("name", "levels", "groups")] for x in dims],
                              d.get("n_rows", 1), d.get("margins")])  # fmt: skip
        if made is not None and key in made:
            return made[key]
        groups = tuple(tuple((str(g), tuple(leaves)) for g, leaves in x.get("groups") or [])
                       for x in dims)  # fmt: skip
        model = TableModel(tuple(str(x["name"]) for x in dims),
                           tuple(tuple(x["levels"]) for x in dims), int(d.get("n_rows", 1)),
                           bool(d.get("margins")), groups if any(groups) else ())  # fmt: skip
    except (KeyError, TypeError, ValueError, AttributeError, SdcInputError) as exc:
        raise NotPlaced(f"its definition does not describe a table ({exc})") from None
    if made is not None:
        made[key] = model
    return model


def released_values(d: dict[str, Any], model: Any) -> np.ndarray:
    """A released table's values as far as differencing needs them: 0 where published,
    NaN where the definition records the cell as hidden (values come from the data)."""
    out = np.zeros(model.n_cells)
    released = d.get("released")
    hidden = released.get("hidden") if isinstance(released, dict) else None
    if isinstance(hidden, list):
        pub = np.flatnonzero(model.published_mask)
        at = [int(h) for h in hidden if isinstance(h, int) and 0 <= h < pub.size]
        out[pub[at]] = np.nan
    return out


def registry_definition(definition: Any, checked: Any) -> Any:
    """The definition to record in the registry for a released output: the manifest's,
    with which published cells left hidden and the rounding base, as the gate read them.

    Examples
    --------
    >>> registry_definition({"call": "crosstab"}, None)
    {'call': 'crosstab'}
    """
    if not isinstance(definition, dict) or checked is None or not hasattr(checked, "model"):
        return definition
    pub = np.flatnonzero(checked.model.published_mask)
    shown = np.asarray(checked.released_values, dtype=np.float64)[pub]
    rounded = checked.protected.rounded_to if checked.protected_applied else None
    return {**definition, "released": {"hidden": np.flatnonzero(np.isnan(shown)).tolist(),
                                       "rounded_to": rounded}}  # fmt: skip


def _run(placed: list[Placement], view: DataView, t: int, intervals: bool,
         basis: Any = None) -> Any:  # fmt: skip
    """Micro-atoms of the data, each output's leaf on them, then the exact detection."""
    from sdc.differencing.atoms import partition
    from sdc.kernels.record_atoms import combine_codes

    keys = list(dict.fromkeys(k for p in placed for k in p.variables))
    masks = list(dict.fromkeys(p.mask for p in placed if p.mask is not None))
    current = np.zeros(view.rows, dtype=np.int64)
    first = np.zeros(min(view.rows, 1), dtype=np.int64)
    for k in keys:
        current, first = combine_codes(current, view.arrays[k])
    for m in masks:
        current, first = combine_codes(current, view.masks[m].astype(np.int64))
    weights = np.bincount(current, minlength=first.size)
    codes = []
    on_atoms = {k: view.arrays[k][first] for k in keys}
    for p in placed:
        values = [on_atoms[k] for k in p.variables]
        leaf = p.leaf(values) if p.variables else np.zeros(first.size, dtype=np.int64)
        if p.mask is not None:
            leaf = np.where(view.masks[p.mask][first], leaf, -1)
        codes.append(leaf)
    atoms = partition(codes, weights)
    parts = [Participant(p.cells, atoms.leaf[i], p.earlier, p.identity)
             for i, p in enumerate(placed)]  # fmt: skip
    return detect(parts, atoms.counts, t, intervals=intervals, basis=basis), atoms.n_atoms


def gate_differencing(outputs: Sequence[GateOutput], entries: list[dict[str, Any]], t: int,
                      source: Any = None, registry: Any = None, ruleset: Any = None, *,
                      intervals: bool = False, request_id: str | None = None,
                      ) -> DifferencingResult:  # fmt: skip
    """The request's differencing check (see the module docstring); outputs a finding
    names are marked ``fail`` in ``entries`` (the gate's report entries). Outputs the
    registry holds under ``request_id`` (this request, released before its egress folder
    was moved into place) are not earlier releases."""
    if source is None:
        result = check_request(outputs, t, intervals=intervals)
        unchecked = (None if registry is None else
                     _earlier_without_data(outputs, registry, request_id))  # fmt: skip
        if unchecked:
            result = _with(result, notes=(unchecked,))
    else:
        result = _with_data(outputs, t, source, registry, ruleset, intervals, request_id)
    mark_outputs(entries, result)
    return result


def _earlier_without_data(outputs: Sequence[GateOutput], registry: Any,
                          own: str | None) -> str | None:  # fmt: skip
    """Why a check without data misses earlier releases (None: the registry holds none of
    the request's data)."""
    from sdc.differencing.population import dataset_key

    taking_part, _, _ = sort_outputs(outputs)  # outputs that count records (no models)
    keys = [dataset_key(o.definition) for o, _ in taking_part]
    n = sum(r.request_id != own for k in dict.fromkeys(keys) if k
            for r in registry.released_definitions(k))  # fmt: skip
    if not n and all(keys):
        return None
    why = (f"{n} output(s) of the same data were released before" if n else
           "some outputs record no data set, so the registry cannot say what was released "
           "before from their data")  # fmt: skip
    return (f"{why}; they are checked against this request with --data only (outputs "
            "released before are re-evaluated on the data)")  # fmt: skip


def _with(result: DifferencingResult, **more: Any) -> DifferencingResult:
    return replace(result, notes=(*result.notes, *more.get("notes", ())),
                   released=more.get("released", result.released))  # fmt: skip


def _with_data(outputs: Sequence[GateOutput], t: int, source: Any, registry: Any,
               ruleset: Any, intervals: bool, own: str | None) -> DifferencingResult:  # fmt: skip
    view = DataView(source)
    unplaced: list[tuple[str, str]] = []
    placed: list[Placement] = []
    taking_part, _, measures = sort_outputs(outputs)
    for o, cells in taking_part:
        try:
            placed.append(_place(o, cells, view))
        except NotPlaced as exc:
            unplaced.append((cells.measure, f"output {o.name!r} cannot be placed on the data: "
                             f"{exc}; it is not checked against the other outputs"))  # fmt: skip
    notes: list[str] = []
    earlier: list[str] = []
    if registry is not None and placed and view.key is not None:
        for r in registry.released_definitions(view.key):
            if r.request_id == own:
                continue  # this request, released already (its egress folder not yet moved)
            try:
                made = _released(r, view, ruleset)
            except NotPlaced as exc:
                notes.append(f"output {r.name!r} released in {r.request_id!r} cannot be "
                             f"re-evaluated on the data: {exc}")  # fmt: skip
                continue
            if made is not None:
                made = replace(made, identity=f"{made.cells.name}@{_digest(r.definition)}")
                placed.append(made)
                earlier.append(made.cells.name)
                measures[made.cells.measure] += 1
    notes = [why for measure, why in unplaced if measures[measure] > 1] + notes
    about_models = model_note(
        outputs,
        [p.cells.name for p in placed if p.earlier and p.cells.measure == RECORDS],
        view.key,
    )
    if about_models:
        notes.append(about_models)
    checked = tuple(p.cells.name for p in placed if not p.earlier)
    if max(Counter(p.cells.measure for p in placed).values(), default=0) < 2:
        return DifferencingResult(notes=tuple(notes), checked=checked, released=tuple(earlier),
                                  method="data")  # fmt: skip
    found, n_atoms = _run(placed, view, t, intervals, registry)
    return DifferencingResult(
        findings=tuple(found.findings), notes=(*notes, *found.notes),
        suggestions=tuple(found.suggestions), checked=checked, released=tuple(earlier),
        method="data", info={"atoms": n_atoms, **found.info},
    )  # fmt: skip
