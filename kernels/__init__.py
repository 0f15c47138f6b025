"""Numba kernels: flat functions over numpy arrays and scalars.

Kernels know nothing of pandas, files or rules. Every kernel here has a plain,
independent twin in ``tests/`` (``reference.py``, ``gauss_reference.py``) and a
Hypothesis equality test.
"""

from sdc.kernels.evidence import (
    EVIDENCE_COUNT_FIELDS,
    EVIDENCE_FLOAT_FIELDS,
    contributor_order,
    table_evidence,
)
from sdc.kernels.gauss import gauss_suppress

__all__ = [
    "EVIDENCE_COUNT_FIELDS",
    "EVIDENCE_FLOAT_FIELDS",
    "contributor_order",
    "gauss_suppress",
    "table_evidence",
]
