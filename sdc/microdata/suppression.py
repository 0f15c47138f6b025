"""Local suppression to k-anonymity: which key values to blank, as a plan to apply.

The heuristic is sdcMicro's ``localSuppression`` (5.8.1), reproduced exactly:

1. Importance: the keys named first are kept longest. By default keys with fewer
   distinct values are more important (ties: column order), so suppression is
   tried first in the key with the most categories.
2. Reduction: with missing values filled by the first value of their column, each
   key combination held by more than k records keeps its first k records in the
   search; the others are safe and set aside unchanged.
3. Until every record has fk >= k (missing values match any value): take the
   records with fk < k by decreasing risk 1/fk (ties in row order); for each, the
   candidates are the records at the smallest positive distance (keys where both
   values are present and differ), and the first key in suppression order on which
   some candidate differs is set to missing at once (see
   :func:`sdc.kernels.microdata.suppress_to_k`). A record compatible with every
   record (this happens next to records with every key missing, which complete
   records do not count) loses its first present key in that order; sdcMicro stops
   with an error there when alpha = 1.

Each suppression makes the record match more others, so fk never falls; the
search stops when no record is below k. The result is checked, not trusted: the
plan records fk after applying it, and refuses to return a plan that is not
k-anonymous.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sdc._validation import input_error, int_like
from sdc.exceptions import SdcError
from sdc.microdata.keys import KeyCodes
from sdc.microdata.risk import frequencies


@dataclass(frozen=True)
class SuppressionPlan:
    """Key values to set to missing so that every record shares its key with >= k records.

    ``rows`` are positions (0-based, as ``DataFrame.iloc``) in the assessed data,
    ``columns`` the key of each suppression. The plan holds positions, never values.
    """

    keys: tuple[str, ...]
    k: int
    order: tuple[str, ...]  # suppression order: the least important key first
    rows: np.ndarray
    columns: np.ndarray
    violations_before: int
    violations_after: int

    @property
    def total(self) -> int:
        """Values suppressed."""
        return int(self.rows.size)

    @property
    def per_key(self) -> dict[str, int]:
        """Values suppressed in each key."""
        counts = np.bincount(self.columns, minlength=len(self.keys))
        return {key: int(counts[j]) for j, key in enumerate(self.keys)}

    def cells(self) -> pd.DataFrame:
        """One row per suppressed value: its row position and key."""
        return pd.DataFrame(
            {"row": self.rows, "key": [self.keys[j] for j in self.columns.tolist()]}
        )

    def apply(self, data: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``data`` (the assessed frame) with the planned values set to missing."""
        if not isinstance(data, pd.DataFrame):
            raise input_error("data", "SuppressionPlan.apply", "a pandas DataFrame",
                              type(data).__name__)  # fmt: skip
        missing = [k for k in self.keys if k not in data.columns]
        if missing or (self.rows.size and int(self.rows.max()) >= data.shape[0]):
            raise input_error(
                "data", "SuppressionPlan.apply", "the frame the plan was made for",
                f"{data.shape[0]} rows, columns {list(data.columns)[:10]}",
            )  # fmt: skip
        out = data.copy()
        for j, key in enumerate(self.keys):
            rows = self.rows[self.columns == j]
            if rows.size:
                col = out[key]
                if pd.api.types.is_integer_dtype(col.dtype) and not isinstance(
                    col.dtype, pd.CategoricalDtype
                ):
                    out[key] = col.astype("Float64" if col.dtype.kind == "f" else "Int64")
                out.iloc[rows, list(out.columns).index(key)] = None
        return out

    def summary(self) -> str:
        """One line per key, then the totals."""
        per = ", ".join(f"{k} {v}" for k, v in self.per_key.items() if v)
        return (
            f"local suppression to {self.k}-anonymity: {self.total} value(s) suppressed"
            f"{' (' + per + ')' if per else ''}; records below k: {self.violations_before} "
            f"before, {self.violations_after} after"
        )


def importance_order(kc: KeyCodes, importance: Any, func: str) -> list[int]:
    """Key indices from the least to the most important (the order values are suppressed).

    ``importance``: key names, most important first (every key once); ``None``:
    fewer distinct values is more important, ties by key order.
    """
    m = len(kc.keys)
    if importance is None:
        distinct = [int(np.unique(kc.codes[:, j][kc.codes[:, j] >= 0]).size) for j in range(m)]
        ranked = sorted(range(m), key=lambda j: (distinct[j], j))  # most important first
    else:
        if isinstance(importance, str) or not isinstance(importance, (list, tuple)):
            raise input_error("importance", func, "a list of the key names", importance)
        if sorted(map(str, importance)) != sorted(kc.keys) or len(importance) != m:
            raise input_error(
                "importance", func, f"every key exactly once ({', '.join(kc.keys)})",
                list(importance), "List the keys from the most to the least important.",
            )  # fmt: skip
        ranked = [kc.keys.index(str(k)) for k in importance]
    return ranked[::-1]


def _reduce(codes: np.ndarray, k: int) -> np.ndarray:
    """Rows kept in the search: all of each small key, the first k of each large one."""
    from sdc.kernels.microdata import row_groups

    filled = codes.copy()
    for j in range(codes.shape[1]):
        col = filled[:, j]
        present = np.flatnonzero(col >= 0)
        if present.size and present.size < col.size:
            col[col < 0] = col[present[0]]
    groups, _ = row_groups(np.ascontiguousarray(filled))
    order = np.argsort(groups, kind="stable")
    sorted_groups = groups[order]
    starts = np.flatnonzero(np.r_[True, sorted_groups[1:] != sorted_groups[:-1]])
    rank = np.arange(order.size) - np.repeat(starts, np.diff(np.r_[starts, order.size]))
    keep = np.zeros(codes.shape[0], dtype=bool)
    keep[order[rank < k]] = True
    return np.flatnonzero(keep)


def local_suppression(
    kc: KeyCodes,
    k: Any = 3,
    importance: Any = None,
    alpha: float = 1.0,
    func: str = "local_suppression",
) -> SuppressionPlan:
    """The plan that makes every record's key shared by at least ``k`` records.

    Examples
    --------
    >>> import pandas as pd
    >>> from sdc.microdata.keys import encode
    >>> df = pd.DataFrame({"sex": list("FFFMM"), "band": ["a", "a", "b", "a", "a"]})
    >>> plan = local_suppression(encode(df, ["sex", "band"], "f"), k=2)
    >>> plan.total, plan.per_key, plan.cells()["row"].tolist()
    (1, {'sex': 0, 'band': 1}, [2])
    >>> plan.apply(df)["band"].isna().tolist()
    [False, False, True, False, False]
    """
    from sdc.kernels.microdata import suppress_to_k

    k = int_like(k, "k", func, minimum=1)
    if k > kc.n:
        raise input_error("k", func, f"at most the number of records ({kc.n})", k,
                          "No suppression can make fewer records k-anonymous.")  # fmt: skip
    order = np.array(importance_order(kc, importance, func), dtype=np.int64)
    before = int((frequencies(kc, alpha=alpha).fk < k).sum())
    kept = _reduce(kc.codes, k)
    work = np.ascontiguousarray(kc.codes[kept])
    sub = KeyCodes(kc.keys, work, kc.levels)
    while True:
        fk = frequencies(sub, alpha=alpha).fk
        low = np.flatnonzero(fk < k)
        if low.size == 0:
            break
        violators = low[np.argsort(fk[low], kind="stable")].astype(np.int64)
        done = suppress_to_k(work, order, violators)
        if done < 0:  # cannot happen with k <= n; kept as a guard, never a silent pass
            raise SdcError(f"local suppression found no candidate for record {kept[-1 - done]}.")
    changed = np.argwhere((work < 0) & (kc.codes[kept] >= 0))
    rows = kept[changed[:, 0]].astype(np.int64)
    cols = changed[:, 1].astype(np.int64)
    after_codes = kc.codes.copy()
    after_codes[rows, cols] = -1
    after = int((frequencies(KeyCodes(kc.keys, after_codes, kc.levels), alpha=alpha).fk < k).sum())
    if after:
        raise SdcError(f"local suppression left {after} record(s) below k = {k}.")
    return SuppressionPlan(kc.keys, k, tuple(kc.keys[j] for j in order), rows, cols, before, after)
