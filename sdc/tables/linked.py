"""Linked tables: several tables from the same microdata, protected as one.

Two tables that share a dimension (region x sex and region x age) share cells
(the region totals) and constrain the same records: cells hidden in one may be
recomputed by combining both. They are protected jointly on the *joint cube*,
the table over the union of their dimensions (with the union of their
hierarchy groups): every cell of every table is a cell of the joint cube (at
the total of the dimensions the table lacks), so the model matrix of all
published cells is the joint cube's, restricted to those cells. Secondary
suppression and the audit then run on that one matrix, whose inner cells (the
joint cube's) are not published themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from sdc.exceptions import SdcInputError
from sdc.protection.audit import Audit
from sdc.protection.cells import protect_cells
from sdc.protection.params import ProtectionParams
from sdc.tables.model import TableModel
from sdc.tables.output import TableOutput
from sdc.tables.protect import Release, additive_values, assess, cell_problem
from sdc.tables.protected import ProtectedTable


@dataclass(frozen=True)
class LinkedTable:
    """One table of a linked set: ``index``/``columns`` column names and its hierarchies."""

    index: tuple[str, ...]
    columns: tuple[str, ...] = ()
    hierarchies: dict[str, Any] | None = None
    name: str | None = None

    @classmethod
    def of(cls, spec: Any) -> LinkedTable:
        if isinstance(spec, LinkedTable):
            return spec
        if not isinstance(spec, dict) or "index" not in spec:
            raise SdcInputError(
                "each linked table must be a dict with 'index' (and optionally 'columns', "
                f"'hierarchies', 'name'); got {spec!r}."
            )
        unknown = set(spec) - {"index", "columns", "hierarchies", "name"}
        if unknown:
            raise SdcInputError(f"unknown key(s) {sorted(unknown)} in linked table {spec!r}.")

        def names(v: Any) -> tuple[str, ...]:
            return (v,) if isinstance(v, str) else tuple(v or ())

        return cls(names(spec["index"]), names(spec.get("columns")), spec.get("hierarchies"),
                   spec.get("name"))  # fmt: skip


def joint_groups(outputs: Sequence[TableOutput], dims: list[str]) -> dict[str, list]:
    """Per joint dimension, the union of the tables' groups as (parent, leaf) pairs."""
    out: dict[str, list] = {}
    for d in dims:
        seen: dict[str, tuple] = {}
        for o in outputs:
            if d not in o.model.dims:
                continue
            for label, leaves in o.model.dim_groups(o.model.dims.index(d)):
                key = str(label)
                if key in seen and set(map(str, seen[key])) != set(map(str, leaves)):
                    raise SdcInputError(
                        f"linked tables group {d!r} differently under the same label {key!r}: "
                        "give the groups distinct labels."
                    )
                seen[key] = leaves
        if seen:
            out[d] = [(g, leaf) for g, leaves in seen.items() for leaf in leaves]
    return out


def _cell_map(table: TableModel, joint: TableModel) -> np.ndarray:
    """For every cell of ``table``, the joint cube's cell it is."""
    coords = np.empty((table.n_cells, len(joint.dims)), dtype=np.int64)
    for j, d in enumerate(joint.dims):
        if d not in table.dims:
            coords[:, j] = joint.sizes[j]  # the total of a dimension the table lacks
            continue
        i = table.dims.index(d)
        if tuple(map(str, table.levels[i])) != tuple(map(str, joint.levels[j])):
            raise SdcInputError(f"linked tables see different levels of {d!r}.")
        joint_code = {str(lab): c for c, lab in enumerate(joint.dim_labels(j))}
        codes = np.array([joint_code[str(lab)] for lab in table.dim_labels(i)], dtype=np.int64)
        coords[:, j] = codes[table.coords[:, i]]
    return np.asarray(np.ravel_multi_index(tuple(coords.T), joint.shape), dtype=np.int64)


def possible_combinations(joint: TableOutput) -> np.ndarray:
    """Which inner cells of the joint cube can hold records (a mask over its inner cells).

    Tables made from one variable cut two ways (age bands <40, 40-64, 65+ and <65,
    65+) are two dimensions of the joint cube, but most of their combinations are
    impossible (<40 and 65+), and an attacker knows it: with them in the model an
    LP could move records into cells that cannot exist. So every pair of codes of
    two dimensions that no record has together is taken as impossible, whatever
    the other dimensions: the joint cube's cells holding such a pair are known to
    be empty and leave the model. For nested bands that is exactly their mapping;
    for unrelated dimensions it only removes cells that are empty anyway (the
    attacker is granted knowledge of them, the safe side).
    """
    model = joint.model
    records = joint.check.evidence.records.reshape(model.shape)
    sizes = [int(n) for n in model.sizes]
    k = len(sizes)
    leaf_codes = np.indices(sizes).reshape(k, -1)  # inner cells in C order
    possible = np.ones(leaf_codes.shape[1], dtype=bool)
    for i in range(k):
        for j in range(i + 1, k):
            index: list[Any] = [sizes[d] for d in range(k)]  # the total of every other dimension
            index[i] = slice(0, sizes[i])
            index[j] = slice(0, sizes[j])
            together = records[tuple(index)]  # (codes of i) x (codes of j)
            possible &= together[leaf_codes[i], leaf_codes[j]] > 0
    return possible


def protect_linked(
    outputs: Sequence[TableOutput], joint: TableOutput, params: ProtectionParams
) -> list[tuple[TableOutput, ProtectedTable]]:
    """Protect ``outputs`` (tables with margins) jointly: each table as released, and its view.

    ``joint`` is the table over the union of their dimensions, made from the same
    records with :func:`joint_groups` as its hierarchies (see the module docstring);
    its combinations no record has are known to be impossible
    (:func:`possible_combinations`).
    """
    if params.threshold > 0:
        raise SdcInputError(
            "`threshold` of [protection] (sdcTable's option) is not available for linked "
            "tables; protect them with threshold = 0, or each table on its own."
        )
    maps = [_cell_map(o.model, joint.model) for o in outputs]
    cells = np.unique(np.concatenate(maps))  # every published cell, once, in joint order
    pos = np.full(joint.model.n_cells, -1, dtype=np.int64)
    pos[cells] = np.arange(cells.size)
    x = joint.model.model_matrix()[:, cells]  # joint margins are all published: cube = columns
    primary = np.zeros(cells.size, dtype=bool)
    for o, m in zip(outputs, maps, strict=True):
        primary[pos[m[o.check.fail]]] = True
    inner_truth = additive_values(joint.check)[joint.model.inner_mask]
    problem = cell_problem(joint.check, x, cells, params, inner=inner_truth)
    possible = possible_combinations(joint)
    single = None if problem.single is None else problem.single[possible]
    problem = replace(problem, x=x[possible], inner=inner_truth[possible], single=single)
    suppressed, by_audit, audited = protect_cells(problem, primary, params)
    results = []
    for o, m in zip(outputs, maps, strict=True):
        results.append(_table_release(o, pos[m], suppressed, primary, by_audit, audited))
    return results


def _table_release(
    out: TableOutput,
    at: np.ndarray,
    suppressed: np.ndarray,
    primary: np.ndarray,
    by_audit: np.ndarray,
    joint_audit: Audit,
) -> tuple[TableOutput, ProtectedTable]:
    """One table's share of the joint pattern and audit, as released."""
    mine = suppressed[at]
    fields = {}
    for name in ("lower", "upper", "need_lower", "need_upper", "ok", "exact"):
        fields[name] = getattr(joint_audit, name)[at]
    either = None if joint_audit.either is None else joint_audit.either[at]
    table_audit = Audit(**fields, either=either)
    status, reasons = assess(out.check, mine, table_audit)
    others = int((~joint_audit.ok).sum() - (~table_audit.ok).sum())
    if others:
        status = type(status).FAIL
        reasons = (*reasons, f"{others} suppressed cell(s) of the tables linked to this one "
                   "can still be narrowed down too far (audit of the linked set)")  # fmt: skip
    values = out.values.astype(np.float64, copy=True)
    values[mine] = np.nan
    secondary = mine & ~primary[at]
    release = Release(values, mine, None, status, tuple(reasons), secondary,
                      by_audit[at] & mine, table_audit)  # fmt: skip
    released = TableOutput(out.name, out.check, out.values, out.value_name, True, release)
    return released, ProtectedTable(released, release)


def joint_model(models: Sequence[TableModel]) -> TableModel:
    """The joint cube of several tables: the union of their dimensions (each with the same
    levels in every table) and of their hierarchy groups; margins published."""
    dims = list(dict.fromkeys(d for m in models for d in m.dims))
    levels, groups = [], []
    for d in dims:
        seen: dict[str, tuple[Any, ...]] = {}
        level: tuple[Any, ...] | None = None
        for m in models:
            if d not in m.dims:
                continue
            i = m.dims.index(d)
            if level is None:
                level = m.levels[i]
            elif tuple(map(str, level)) != tuple(map(str, m.levels[i])):
                raise SdcInputError(f"linked tables see different levels of {d!r}.")
            for label, leaves in m.dim_groups(i):
                if str(label) in seen and set(map(str, seen[str(label)])) != set(map(str, leaves)):
                    raise SdcInputError(f"linked tables group {d!r} differently under the "
                                        f"same label {str(label)!r}.")  # fmt: skip
                seen[str(label)] = tuple(leaves)
        assert level is not None
        levels.append(tuple(level))
        groups.append(tuple((g, leaves) for g, leaves in seen.items()))
    has_groups = any(groups)
    return TableModel(tuple(dims), tuple(levels), n_rows=len(dims), margins=True,
                      groups=tuple(groups) if has_groups else ())  # fmt: skip


def audit_linked(outputs: Sequence[TableOutput]) -> list[tuple[int, int]]:
    """Audit released tables (with margins) jointly: per table, how many of its suppressed
    cells an attacker can narrow down too far from all of them together, and how many
    another table of the set publishes.

    Each table's released pattern (its release's ``suppressed`` cells) and its evidence
    are what is audited; a cell that two tables share (a common margin) is published if
    either publishes it, and must have the same value in both.
    """
    from sdc.protection.cells import CellProblem, audit_problem
    from sdc.tables.protect import additive_values, cell_needs, lower_bound

    joint = joint_model([o.model for o in outputs])
    maps = [_cell_map(o.model, joint) for o in outputs]
    cells = np.unique(np.concatenate(maps))
    pos = np.full(joint.n_cells, -1, dtype=np.int64)
    pos[cells] = np.arange(cells.size)
    value = np.full(cells.size, np.nan)
    hidden = np.ones(cells.size, dtype=bool)
    # What each table's own audit asks of its cells, asked of the joint cells.
    level, upper = np.zeros(cells.size), np.zeros(cells.size)
    either, whole = np.zeros(cells.size, dtype=bool), np.zeros(cells.size, dtype=bool)
    groups: list[sp.csr_matrix] = []
    targets: list[np.ndarray] = []
    bound = 0.0
    released: list[np.ndarray] = []  # each table's suppressed published cells
    for o, m in zip(outputs, maps, strict=True):
        at = pos[m]
        mine = additive_values(o.check)
        known = ~np.isnan(value[at])
        if not np.allclose(value[at][known], mine[known], rtol=1e-9, atol=1e-9):
            raise SdcInputError("linked tables give a shared cell different values.")
        value[at] = mine
        suppressed = (
            o.protected.suppressed if o.protected_applied else np.zeros(o.model.n_cells, bool)
        )
        released.append(suppressed & o.model.published_mask)
        hidden[at] &= released[-1]
        need = cell_needs(o.check, np.arange(o.model.n_cells), o.check.ruleset.protection)
        level[at] = np.maximum(level[at], need.levels)
        upper[at] = np.maximum(upper[at], need.levels if need.upper is None else need.upper)
        for joint_mask, own in ((either, need.either), (whole, need.whole)):
            if own is not None:
                joint_mask[at] |= own
        if need.groups is not None and need.target is not None:
            g = need.groups.tocoo()
            groups.append(sp.csr_matrix((g.data, (g.row, at[g.col])),
                                        shape=(g.shape[0], cells.size)))  # fmt: skip
            targets.append(need.target)
        bound = min(bound, lower_bound(o.check))
    shown_elsewhere = [int((cells_of & ~hidden[pos[m]]).sum())
                       for cells_of, m in zip(released, maps, strict=True)]  # fmt: skip
    if not hidden.any():
        return [(0, n) for n in shown_elsewhere]
    x = joint.model_matrix()[:, cells]
    problem = CellProblem(
        x, value, level, np.ones(cells.size), np.zeros(cells.size, dtype=bool), bound=bound,
        upper_levels=upper if either.any() else None, either=either if either.any() else None,
        groups=sp.vstack(groups).tocsr() if groups else None,
        group_target=np.concatenate(targets) if targets else None,
        whole=whole if whole.any() else None,
    )  # fmt: skip
    a, _ = audit_problem(problem, hidden)
    return [(int((~a.ok[pos[m]] & hidden[pos[m]]).sum()), n)
            for m, n in zip(maps, shown_elsewhere, strict=True)]  # fmt: skip
