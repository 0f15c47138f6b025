"""Microdata (record-level outputs): disclosure risk, mitigation and row-level screening.

sdcMicro's measures (fk and Fk with missing values as wildcards, individual and
global risk, l-diversity, SUDA2 special uniques, log-linear model risk), local suppression to
k-anonymity and global recoding, and the signs that a released file is
record-level. May import the core, ``sdc.rules`` and ``sdc.kernels``; never
another output kind, the release layer or the session.
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "MicrodataOutput": "sdc.microdata.output",
        "SuppressionPlan": "sdc.microdata.suppression",
        "assess": "sdc.microdata.output",
        "global_recode": "sdc.microdata.recoding",
        "model_risk": "sdc.microdata.modrisk",
        "screen_file": "sdc.microdata.screening",
    },
)

if TYPE_CHECKING:
    from sdc.microdata.modrisk import model_risk
    from sdc.microdata.output import MicrodataOutput, assess
    from sdc.microdata.recoding import global_recode
    from sdc.microdata.screening import screen_file
    from sdc.microdata.suppression import SuppressionPlan
