"""Regressions and survival tables.

Fitted statsmodels results checked from their design matrix (every group of records
the coefficients describe, whatever the coding, with its counts, dominance and spread;
residual degrees of freedom, parameters, saturation) and Kaplan-Meier tables released
as pooled steps on a time grid. May import the core, ``sdc.rules`` and ``sdc.kernels``; never
another output kind, the release layer or the session.
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "RegressionOutput": "sdc.regression.output",
        "SurvivalOutput": "sdc.regression.survival",
        "survival_table": "sdc.regression.survival",
    },
)

if TYPE_CHECKING:
    from sdc.regression.output import RegressionOutput
    from sdc.regression.survival import SurvivalOutput, survival_table
