"""HiGHS models of the protection LPs, made in one place.

Every LP of secondary suppression and of the audit is ``row_lower <= a z <= row_upper``,
``lower <= z <= upper``, minimising ``cost . z``. The model goes to HiGHS as arrays
(its array form of ``passModel``): building a ``HighsLp`` field by field cost 10 ms a
model of 55,000 entries, three times the array form, and the clean-up pass builds
thousands. HiGHS is imported here, when the first LP is made, and the banner it prints
from C on its first model of a process never reaches stdout.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from sdc._quiet import native_stdout_silenced


def new_model(
    a: sp.spmatrix,
    cost: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    row_lower: np.ndarray,
    row_upper: np.ndarray,
    **options: Any,
) -> Any:
    """A silent ``highspy.Highs`` holding the LP, with ``options`` set.

    Infinite bounds may be given as ``inf``. Raises ``RuntimeError`` if HiGHS refuses
    the model (an LP it did not take must never be solved as if it had).

    Examples
    --------
    >>> import numpy as np, scipy.sparse as sp
    >>> a = sp.csc_matrix(np.array([[1.0, 1.0]]))            # z0 + z1 = 3, z >= 0
    >>> h = new_model(a, np.array([1.0, 2.0]), np.zeros(2), np.full(2, np.inf),
    ...               np.array([3.0]), np.array([3.0]), solver="simplex")
    >>> _ = h.run()
    >>> h.getInfo().objective_function_value
    3.0
    """
    import highspy

    inf = highspy.kHighsInf
    with native_stdout_silenced():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for name, value in options.items():
        h.setOptionValue(name, value)
    ac = sp.csc_matrix(a)
    n_row, n_col = ac.shape

    def bounds(v: np.ndarray, size: int) -> np.ndarray:
        v = np.asarray(v, dtype=np.float64).reshape(size)
        return np.clip(v, -inf, inf)

    status = h.passModel(
        int(n_col), int(n_row), int(ac.nnz), int(highspy.MatrixFormat.kColwise),
        int(highspy.ObjSense.kMinimize), 0.0,
        np.ascontiguousarray(cost, dtype=np.float64).reshape(n_col),
        bounds(lower, n_col), bounds(upper, n_col), bounds(row_lower, n_row),
        bounds(row_upper, n_row), ac.indptr.astype(np.int32), ac.indices.astype(np.int32),
        ac.data.astype(np.float64),
        np.zeros(n_col, dtype=np.int32),  # every column continuous (HiGHS reads an empty array
        # of integrality as an empty model: it then "solves" nothing, optimally)
    )  # fmt: skip
    if status != highspy.HighsStatus.kOk:
        raise RuntimeError(f"HiGHS refused an LP of {n_row} rows and {n_col} columns: {status}")
    return h
