"""Model-based global risk: Poisson log-linear models of the key table (sdcMicro's ``modRisk``).

The sample counts of the key combinations are modelled as Poisson with a
log-linear model (main effects of the keys), fitted with statsmodels. For each
combination held by 0 < counts <= ``bound`` records, with fitted lambda and
summed inclusion probabilities p (1/w over its records), v = (1 - p) lambda:

* r1 = exp(-v) / N_c: the probability that a sample unique is a population unique,
* r2 = (1 - exp(-v)) / v / N_c: the expected rate of correct matches,

where N_c is the number of combinations kept. The global measures gr1 and gr2 sum
them over the sample uniques (counts = 1). Methods:

* "default": Poisson GLM of the counts;
* "CE" (Clogg and Eliason): the same with offset log(counts / weights + 0.1);
* "PML" (pseudo maximum likelihood): the response is round(weights x sum(counts) /
  sum(weights));
* "weightedLLM": the cell's weight sum as an extra numeric covariate;
* "IPF": the main-effects table fitted by proportional fitting, the product of the
  one-way margins over N^(d-1).

As in sdcMicro, a categorical (or text) key enters as a factor, a numeric key as one
slope; the grid is every combination of the observed values (missing as a value,
never fitted: lambda = 0 there).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sdc._validation import input_error, require_columns

METHODS = ("default", "CE", "PML", "weightedLLM", "IPF")


@dataclass(frozen=True)
class ModelRisk:
    """gr1 and gr2 (and in percent); lambda over the grid's combinations without a missing
    value (the last key varying fastest); p of the cells kept."""

    gr1: float
    gr2: float
    fitted: np.ndarray
    inclusion: np.ndarray

    @property
    def gr1_percent(self) -> float:
        return 100.0 * self.gr1

    @property
    def gr2_percent(self) -> float:
        return 100.0 * self.gr2


def _levels(col: pd.Series) -> list:
    if isinstance(col.dtype, pd.CategoricalDtype):
        present = set(col.dropna().unique())
        levels = [c for c in col.cat.categories if c in present]
    else:
        levels = sorted(col.dropna().unique().tolist())
    return levels + ([None] if col.isna().any() else [])


def _design(grid: pd.DataFrame, keys: Sequence[str], numeric: dict[str, bool]) -> np.ndarray:
    parts = [np.ones((len(grid), 1))]
    for key in keys:
        col = grid[key]
        if numeric[key]:
            parts.append(col.to_numpy(dtype=np.float64).reshape(-1, 1))
        else:
            for lv in list(pd.unique(col))[1:]:
                parts.append((col == lv).to_numpy(dtype=np.float64).reshape(-1, 1))
    return np.hstack(parts)


def model_risk(
    data: pd.DataFrame, keys: Sequence[str], weight: str, method: str = "default",
    bound: float = np.inf,
) -> ModelRisk:  # fmt: skip
    """gr1 and gr2 of sdcMicro's ``modRisk`` for a main-effects model of ``keys``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"a": list("xxyyzz") * 2, "b": list("pq") * 6, "w": [10.0] * 12})
    >>> round(model_risk(df, ["a", "b"], "w", method="IPF").gr1, 6)
    0.0
    """
    import statsmodels.api as sm

    func = "model_risk"
    if method not in METHODS:
        raise input_error("method", func, f"one of {list(METHODS)}", method)
    require_columns(data, [*keys, weight], "keys/weight", func)
    frame = data[[*keys, weight]]
    w = frame[weight].astype("float64")
    levels = [_levels(frame[k]) for k in keys]
    grid = pd.MultiIndex.from_product(levels, names=list(keys)).to_frame(index=False)
    key_frame = frame[list(keys)].astype(object).where(frame[list(keys)].notna(), None)
    cells = pd.DataFrame({
        "counts": 1.0, "weights": w.to_numpy(), "incl": (1.0 / w).to_numpy(),
    })  # fmt: skip
    cells = pd.concat([key_frame.reset_index(drop=True), cells], axis=1)
    agg = cells.groupby(list(keys), dropna=False, sort=False).agg(
        counts=("counts", "sum"), weights=("weights", lambda s: s.sum(min_count=len(s))),
        incl=("incl", lambda s: s.sum(min_count=len(s))),
    )  # fmt: skip
    grid_keys = grid.astype(object).where(grid.notna(), None)
    merged = grid_keys.merge(agg.reset_index(), how="left", on=list(keys))
    counts = merged["counts"].fillna(0).to_numpy(dtype=np.float64)
    weights = merged["weights"].fillna(0).to_numpy(dtype=np.float64)
    incl = merged["incl"].fillna(0).to_numpy(dtype=np.float64)
    complete = grid.notna().all(axis=1).to_numpy()
    numeric = {k: pd.api.types.is_numeric_dtype(frame[k].dtype)
               and not isinstance(frame[k].dtype, pd.CategoricalDtype) for k in keys}  # fmt: skip
    lam = np.zeros(len(grid))
    fit_grid = grid[complete].reset_index(drop=True)
    y = counts[complete]
    if method == "IPF":
        total = y.sum()
        lam_c = np.full(y.size, 1.0)
        for k in keys:
            margin = pd.Series(y).groupby(fit_grid[k].to_numpy()).transform("sum").to_numpy()
            lam_c *= margin
        lam_c /= total ** (len(keys) - 1)
    else:
        X = _design(fit_grid, keys, numeric)
        offset = None
        if method == "CE":
            wc = weights[complete]
            ratio = np.divide(y, wc, out=np.zeros_like(y), where=wc > 0)
            offset = np.log(ratio + 0.1)
        elif method == "PML":
            y = np.round(weights[complete] * counts.sum() / weights.sum())
        elif method == "weightedLLM":
            X = np.hstack([X, weights[complete].reshape(-1, 1)])
        model = sm.GLM(y, X, family=sm.families.Poisson(), offset=offset)
        with warnings.catch_warnings():  # cells fitted to 0 are expected in sparse tables
            warnings.simplefilter("ignore")
            lam_c = model.fit().fittedvalues
    lam[complete] = np.asarray(lam_c, dtype=np.float64)
    keep = (counts > 0) & (counts <= bound) & (lam != 0)
    n_c = int(keep.sum())
    v = (1.0 - incl[keep]) * lam[keep]
    r1 = np.exp(-v) / n_c
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = np.where(v > 1e-12, -np.expm1(-v) / v, 1.0) / n_c
    unique = counts[keep] == 1
    return ModelRisk(float(r1[unique].sum()), float(r2[unique].sum()), lam[complete], incl[keep])
