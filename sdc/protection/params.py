"""Parameters of primary protection (the ``[protection]`` section of a rule set)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any


@dataclass(frozen=True)
class ProtectionParams:
    """How failing cells are treated when a protected table is asked for.

    ``suppress`` masks failing cells. ``redact-round`` (OpenSAFELY) redacts counts at
    or below ``redact_at_or_below`` and rounds every other count to the nearest
    ``round_to``. ``apply``: protect every table as it is made (a session may still
    choose with ``suppress=``); otherwise tables are reported as computed.

    With ``suppress``, a table that publishes margins also gets secondary
    suppression and an audit (see ``sdc.protection.secondary`` and ``sdc.protection.audit``).
    ``secondary_zeros``: empty cells may be chosen as secondary suppressions
    (off: zeros are published first, as they protect nothing). ``singletons``:
    a cell with one contributor must not let that contributor recover a primary.
    ``cost``: what a secondary suppression costs, so the cheapest cells go first:
    ``value`` (the cell's count, or absolute value for magnitude tables, as
    GaussSuppression does), ``frequency`` (its number of records: hide cells few
    people are in) or ``unity`` (every cell alike: fewest cells, ties by size).
    ``audit_rounds``: how many times cells failing the audit get extra suppression.
    ``exact_intervals``: solve every suppressed cell's interval exactly (slower);
    otherwise the audit stops once it has shown a cell protected. ``clean_up``:
    once the pattern passes its audit, publish back every secondary cell that no
    requirement needs (``sdc.protection.cleanup``): fewer hidden cells, more LPs.
    ``small_counts``: what a hidden count under the threshold needs:
    ``zero-or-threshold`` (its interval, and that of the sum of the hidden small
    counts of each relation, reaches 0 or the threshold t: nobody can tell an empty
    cell from one at the threshold) or ``width`` (any positive width: no exact
    disclosure, as GaussSuppression and tau-Argus's frequency rule ask).
    ``threshold`` (sdcTable's option of that name; 0: off): in every relation (a
    total and the cells it sums) that holds a primary, the hidden cells must hold
    at least this many (counts, or the additive values of a magnitude table); the
    smallest published cells of the relation are hidden until they do.
    """

    apply: bool = False

    method: str = field(default="suppress", metadata={"choices": ("suppress", "redact-round")})
    redact_at_or_below: int = field(default=7, metadata={"min": 0})
    round_to: int = field(default=5, metadata={"min": 1})
    secondary_zeros: bool = False
    singletons: bool = True
    cost: str = field(default="value", metadata={"choices": ("value", "frequency", "unity")})
    audit_rounds: int = field(default=10, metadata={"min": 0, "max": 1000})
    exact_intervals: bool = False
    clean_up: bool = True
    small_counts: str = field(
        default="zero-or-threshold", metadata={"choices": ("zero-or-threshold", "width")}
    )
    threshold: int = field(default=0, metadata={"min": 0, "max": 1_000_000_000})


def with_options(params: ProtectionParams, func: str, **options: Any) -> ProtectionParams:
    """``params`` with the options a caller gave (None: keep the rule set's), each checked.

    Each must fit its field: one of its ``choices``, an integer within its
    ``min``/``max``, or a bool.
    """
    from sdc._validation import input_error

    changes = {k: v for k, v in options.items() if v is not None}
    fields = ProtectionParams.__dataclass_fields__
    for key, value in changes.items():
        meta, kind = fields[key].metadata, type(getattr(params, key))
        if "choices" in meta:
            if value not in meta["choices"]:
                raise input_error(key, func, f"one of {meta['choices']}", value)
        elif kind is int:
            low, high = meta["min"], meta["max"]
            if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
                raise input_error(key, func, f"an integer in [{low}, {high}]", value)
        elif not isinstance(value, bool):
            raise input_error(key, func, "a bool", value)
    return replace(params, **changes)
