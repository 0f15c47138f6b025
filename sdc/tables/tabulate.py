"""From microdata columns to a checked table: factorise, one evidence pass, rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sdc._text import refused_characters
from sdc._threads import Later, map_columns
from sdc._validation import input_error, numeric_values
from sdc.definition import number_fingerprint, text_codes, text_fingerprint
from sdc.exceptions import SdcInputError
from sdc.rules.statistic import quantile_of
from sdc.ruleset import RuleSet
from sdc.tables import structural
from sdc.tables.check import check_evidence
from sdc.tables.evidence import compute_evidence
from sdc.tables.factorize import MISSING_LABEL, factorize
from sdc.tables.hierarchy import resolve
from sdc.tables.model import TOTAL_LABEL, TableModel
from sdc.tables.output import TableOutput
from sdc.tables.quantiles import publish_quantiles
from sdc.tables.statistics import COUNTS, cell_values


def _groups(
    hierarchies: dict[str, Any] | None,
    dims: list[str],
    levels: tuple[tuple[Any, ...], ...],
    margins: bool,
    func: str,
) -> tuple:
    """Resolve ``{dimension: hierarchy}`` into the model's per-dimension groups."""
    if hierarchies is None:
        return ()
    if not isinstance(hierarchies, dict):
        raise input_error("hierarchies", func, "a dict {dimension: hierarchy}", hierarchies)
    unknown = sorted(map(str, set(hierarchies) - set(dims)))
    if unknown:
        raise input_error("hierarchies", func, f"keyed by the table's dimensions {dims}", unknown)
    if hierarchies and not margins:
        raise input_error("margins", func, "True when hierarchies are given", margins,
                          "Subtotals are margins: publish them with margins=True.")  # fmt: skip
    groups = tuple(
        resolve(hierarchies[d], levels[i], d) if d in hierarchies else ()
        for i, d in enumerate(dims)
    )
    return groups if any(groups) else ()


def _refuse_control(texts: list[Any], what: str, func: str) -> None:
    """Labels and names go into released files and reports: no control or format characters."""
    for x in texts:
        bad = refused_characters(str(x))
        if bad:
            raise input_error(
                "index/columns", func, f"{what} without control or format characters",
                f"{str(x)!r} (holds {', '.join(bad)})", "Clean or recode it first.",
            )  # fmt: skip


def tabulate(
    frame: pd.DataFrame,
    rows: list[str],
    columns: list[str],
    *,
    values: str | None,
    statistic: str,
    contributor: str | None,
    margins: bool,
    ruleset: RuleSet,
    name: str,
    protect: bool,
    func: str,
    hierarchies: dict[str, Any] | None = None,
    structural_zeros: Any = None,
) -> TableOutput:
    """Compute and check one table; ``frame`` holds exactly the columns named (validated).

    ``structural_zeros``: combinations declared impossible (:mod:`sdc.tables.structural`)."""
    dims = rows + columns
    if frame.shape[0] == 0:
        raise input_error("data", func, "non-empty", "0 rows", "There is nothing to tabulate.")
    if len(set(dims)) != len(dims):
        raise input_error("index/columns", func, "distinct columns", dims)
    n_rows = int(frame.shape[0])
    codes = np.empty((n_rows, len(dims)), dtype=np.int64)  # rows x dimensions, as kernels read

    def code(j: int) -> tuple[np.ndarray, list[Any]]:  # in threads: the copy too
        column, labels = factorize(frame[dims[j]])
        codes[:, j] = column
        return column, labels

    coded = map_columns(code, range(len(dims)), n_rows)
    _refuse_control([*dims, *([values] if values is not None else [])], "column names", func)
    for d, (_, labels) in zip(dims, coded, strict=True):
        _refuse_control(labels, f"labels of {d!r}", func)
        clash = TOTAL_LABEL if margins and TOTAL_LABEL in labels else None
        if clash is None and labels.count(MISSING_LABEL) > 1:
            clash = MISSING_LABEL
        if clash is not None:
            raise input_error(
                "index/columns", func, f"free of the reserved label {clash!r}",
                f"column {d!r} has a level {clash!r}", "Rename that level first.",
            )  # fmt: skip
    levels = tuple(tuple(lv) for _, lv in coded)
    groups = _groups(hierarchies, dims, levels, margins, func)
    model = TableModel(tuple(dims), levels, len(rows), margins, groups)
    vals = numeric_values(frame[values], "values", func) if values is not None else None
    # Fingerprints are hashed in threads while the evidence is computed.
    dim_prints = [Later(text_fingerprint, c, lv, n_rows=n_rows) for c, lv in coded]
    prints: dict[str, Later] = {}  # of the contributor and values columns
    contrib = None
    if contributor is not None:
        ids = frame[contributor]
        if ids.isna().any():
            raise input_error(
                "contributor", func, "a column without missing ids",
                f"{int(ids.isna().sum())} missing id(s) in {contributor!r}",
                "Every record must be attributed to a contributor.",
            )  # fmt: skip
        # Numbered in the order of their text, so that a gate reading the ids back from a
        # file visits contributors in the same order and adds up the same floats.
        contrib, contrib_texts = text_codes(*factorize(ids))
        prints["contributor"] = Later(text_fingerprint, contrib, contrib_texts, n_rows=n_rows)
    if vals is not None:
        prints["values"] = Later(number_fingerprint, vals, n_rows=n_rows)
    ev = compute_evidence(codes, model, vals, contrib, top_k=ruleset.top_k)
    table_values = cell_values(ev, statistic, codes, vals)
    if quantile_of(statistic) is not None and vals is not None:
        params = ruleset.params["quantile"]
        table_values, ev = publish_quantiles(
            codes, vals, contrib, ev, table_values, params.neighbourhood,
            params.significant_figures,
        )  # fmt: skip
    declared = structural.declaration(structural_zeros, dims, func)
    try:
        mask = structural.structural_mask(model, declared) if declared else None
    except SdcInputError as exc:
        raise SdcInputError(f"`structural_zeros` of `{func}`: {exc}") from None
    check = check_evidence(ev, statistic, ruleset, mask)
    value_name = values if values is not None and statistic not in COUNTS else statistic
    out = TableOutput(name, check, table_values, value_name, protect)
    out.fingerprints = {"rows": n_rows, "dims": [p.result() for p in dim_prints],
                        **{k: p.result() for k, p in prints.items()}}  # fmt: skip
    out.structural_zeros = declared
    return out
