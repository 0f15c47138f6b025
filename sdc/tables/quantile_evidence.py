"""The evidence of a published quantile: who surrounds each cell's value.

Kept apart from :mod:`sdc.tables.quantiles` (which computes it from the rows) so that
table evidence can hold it and read it back without importing the computation.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sdc.exceptions import SdcEvidenceError


@dataclass(frozen=True, eq=False)
class QuantileEvidence:
    """Per cell: the published value and who surrounds it; the settings they were counted under."""

    value: np.ndarray
    below: np.ndarray
    above: np.ndarray
    near: np.ndarray
    exact: np.ndarray
    neighbourhood: float
    significant_figures: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": [None if not np.isfinite(v) else float(v) for v in self.value.tolist()],
            "below": self.below.tolist(), "above": self.above.tolist(),
            "near": self.near.tolist(), "exact": self.exact.tolist(),
            "neighbourhood": self.neighbourhood,
            "significant_figures": self.significant_figures,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: Any, n_cells: int) -> QuantileEvidence:
        keys = {"value", "below", "above", "near", "exact", "neighbourhood",
                "significant_figures"}  # fmt: skip
        if not isinstance(d, dict) or set(d) != keys:
            raise SdcEvidenceError(f"quantile evidence must have exactly the keys {sorted(keys)}.")
        try:
            counts = {k: np.asarray(d[k], dtype=np.int64) for k in ("below", "above", "near")}
            value = np.asarray([np.nan if v is None else v for v in d["value"]], dtype=np.float64)
            exact = np.asarray(d["exact"], dtype=bool)
            hood, sig = float(d["neighbourhood"]), int(d["significant_figures"])
        except (TypeError, ValueError) as exc:
            raise SdcEvidenceError(f"quantile evidence is malformed ({exc}).") from None
        arrays = [value, exact, *counts.values()]
        if any(a.shape != (n_cells,) for a in arrays) or any(
            (c < 0).any() for c in counts.values()
        ):
            raise SdcEvidenceError(f"quantile evidence must hold {n_cells} counts per field.")
        if not all(isinstance(x, bool) for x in d["exact"]):
            raise SdcEvidenceError("quantile evidence: exact must be true or false per cell.")
        return cls(value, counts["below"], counts["above"], counts["near"], exact, hood, sig)
