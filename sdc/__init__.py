"""sdc-engine: statistical disclosure control and output checking for research outputs."""

from sdc._version import __version__
from sdc.exceptions import SdcError, SdcEvidenceError, SdcInputError, SdcRuleSetError
from sdc.model_check import check_model_file
from sdc.model_output import ModelOutput
from sdc.regression import RegressionOutput
from sdc.ruleset import RuleSet, preset_names
from sdc.session import Session
from sdc.table_output import TableOutput
from sdc.verdict import Status

__all__ = [
    "ModelOutput",
    "RegressionOutput",
    "RuleSet",
    "SdcError",
    "SdcEvidenceError",
    "SdcInputError",
    "SdcRuleSetError",
    "Session",
    "Status",
    "TableOutput",
    "__version__",
    "check_model_file",
    "preset_names",
]
