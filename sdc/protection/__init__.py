"""Protection of any additive table given as its model matrix.

Secondary suppression (Gaussian elimination, exact, as GaussSuppression), the
audit of a pattern (the attacker's intervals, HiGHS LPs), audit rounds that widen
a pattern, and the ``[protection]`` parameters. States nothing about where the
table came from: may import ``sdc.kernels``, the exceptions and validation only,
so tables (and differencing) build on it.
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "Audit": "sdc.protection.audit",
        "CellProblem": "sdc.protection.cells",
        "ProtectionParams": "sdc.protection.params",
        "protect_cells": "sdc.protection.cells",
        "secondary_suppress": "sdc.protection.secondary",
    },
)

if TYPE_CHECKING:
    from sdc.protection.audit import Audit
    from sdc.protection.cells import CellProblem, protect_cells
    from sdc.protection.params import ProtectionParams
    from sdc.protection.secondary import secondary_suppress
