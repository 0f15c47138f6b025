"""Numba kernels: flat functions over numpy arrays and scalars.

Kernels know nothing of pandas, files or rules; they may import numpy and numba
only. Every kernel here has a plain, independent twin in ``tests/``
(``reference.py``, ``gauss_reference.py``) and a Hypothesis equality test. The
names below are compiled (or loaded from numba's cache) when first used.
"""

from typing import TYPE_CHECKING

from sdc._lazy import attach

__getattr__, __dir__, __all__ = attach(
    __name__,
    {
        "EVIDENCE_COUNT_FIELDS": "sdc.kernels.layout",
        "EVIDENCE_FLOAT_FIELDS": "sdc.kernels.layout",
        "contributor_order": "sdc.kernels.evidence",
        "gauss_suppress": "sdc.kernels.gauss",
        "table_evidence": "sdc.kernels.evidence",
    },
)

if TYPE_CHECKING:
    from sdc.kernels.evidence import contributor_order, table_evidence
    from sdc.kernels.gauss import gauss_suppress
    from sdc.kernels.layout import EVIDENCE_COUNT_FIELDS, EVIDENCE_FLOAT_FIELDS
