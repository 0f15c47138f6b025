"""sdc-engine: statistical disclosure control and output checking for research outputs.

The public names below are imported when first used, so that ``import sdc`` and
the command line start fast (see :mod:`sdc._lazy`).
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach
from sdc._version import __version__

__getattr__, __dir__, _public = attach(
    __name__,
    {
        "ModelOutput": "sdc.models.output",
        "RegressionOutput": "sdc.regression.output",
        "RuleSet": "sdc.ruleset",
        "SdcError": "sdc.exceptions",
        "SdcEvidenceError": "sdc.exceptions",
        "SdcInputError": "sdc.exceptions",
        "SdcReleaseWarning": "sdc.exceptions",
        "SdcRuleSetError": "sdc.exceptions",
        "Session": "sdc.session",
        "Status": "sdc.verdict",
        "TableOutput": "sdc.tables.output",
        "check_model_file": "sdc.models.check",
        "preset_names": "sdc.ruleset",
    },
)
__all__ = [*_public, "__version__"]

if TYPE_CHECKING:
    from sdc.exceptions import (
        SdcError,
        SdcEvidenceError,
        SdcInputError,
        SdcReleaseWarning,
        SdcRuleSetError,
    )
    from sdc.models.check import check_model_file
    from sdc.models.output import ModelOutput
    from sdc.regression.output import RegressionOutput
    from sdc.ruleset import RuleSet, preset_names
    from sdc.session import Session
    from sdc.tables.output import TableOutput
    from sdc.verdict import Status
