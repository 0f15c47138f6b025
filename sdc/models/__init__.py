"""Trained models, checked for what they carry of their training data.

Model files read without running them (the format told from the bytes, a
symbolic pickle/joblib interpreter, safetensors/ONNX/HDF5 read as data), the
structure of an estimator, the weights-only rules and the attacks with data.
May import the core, ``sdc.rules`` and ``sdc.kernels``; never another output
kind, the release layer or the session.
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "ModelOutput": "sdc.models.output",
        "check_estimator": "sdc.models.check",
        "check_model_file": "sdc.models.check",
    },
)

if TYPE_CHECKING:
    from sdc.models.check import check_estimator, check_model_file
    from sdc.models.output import ModelOutput
