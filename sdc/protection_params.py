"""Parameters of primary protection (the ``[protection]`` section of a rule set)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ProtectionParams:
    """How failing cells are treated when a protected table is asked for.

    ``suppress`` masks failing cells. ``redact-round`` (OpenSAFELY) redacts counts at
    or below ``redact_at_or_below`` and rounds every other count to the nearest
    ``round_to``. ``apply``: protect every table as it is made (a session may still
    choose with ``suppress=``); otherwise tables are reported as computed.
    """

    apply: bool = False

    method: str = field(default="suppress", metadata={"choices": ("suppress", "redact-round")})
    redact_at_or_below: int = field(default=7, metadata={"min": 0})
    round_to: int = field(default=5, metadata={"min": 1})
