"""What a fitted statsmodels result says about its rows: weights, outcome, exact fits, saturation.

Read from the result, never by refitting. Everything here has one entry per row of the
design matrix and stays with the caller (:mod:`sdc.regression.evidence` reduces it to
per-group totals).

- **Weights**: WLS ``weights``, GLS ``sigma`` (as ``1 / sigma`` when it is a vector),
  GLM ``freq_weights * var_weights``. A row whose weight is 0 or below
  :data:`NEGLIGIBLE` times the largest weight does not count: it adds nothing to the
  coefficients, so it must not add to a group's size either.
- **Outcome**: a category code for Logit, Probit, MNLogit and a binomial GLM with 0/1
  outcomes; the event indicator for a Cox model; the value otherwise.
- **Exact fits**: rows whose fitted value equals the outcome (to :data:`EXACT` of its
  scale): the coefficients give those rows' outcomes (a row with leverage 1 always is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sdc.exceptions import SdcInputError

#: Weights below this share of the largest weight count as 0.
NEGLIGIBLE = 1e-8
#: A fitted value within this share of the outcome's scale reproduces it.
EXACT = 1e-9
#: Relative tolerance for "exactly fits" at the model level (R^2 = 1, zero deviance).
_EXACT_MODEL = 1e-10

#: Models whose outcome is a category: its categories are counted too.
CATEGORICAL_OUTCOME = ("Logit", "Probit", "MNLogit")


@dataclass(frozen=True)
class FitRows:
    """Per-row facts of a fit (row-level: never stored on an output or written)."""

    keep: np.ndarray  # bool: the row counts (weight above NEGLIGIBLE)
    weights: np.ndarray | None  # float64 prior weights, None when unweighted
    kind: str  # "continuous", "categorical" or "events"
    y: np.ndarray  # float64 outcome (continuous) or 0.0
    codes: np.ndarray | None  # int64 category codes (categorical, events)
    labels: list[str]
    exact: np.ndarray  # bool: fitted exactly


def prior_weights(model: Any, name: str) -> np.ndarray | None:
    """The fit's prior weights per row, or None; ``SdcInputError`` when they are unusable."""
    n = int(np.asarray(model.exog).shape[0])
    if name == "WLS":
        raw = getattr(model, "weights", None)
    elif name == "GLS":
        sigma = getattr(model, "sigma", None)
        sigma = None if sigma is None else np.asarray(sigma, dtype=np.float64)
        if sigma is not None and sigma.ndim == 2:
            off = sigma - np.diag(np.diag(sigma))
            sigma = np.diag(sigma) if not np.any(off) else None
        raw = None if sigma is None else 1.0 / sigma
    elif name == "GLM":
        raw = np.asarray(model.freq_weights, dtype=np.float64) * np.asarray(
            model.var_weights, dtype=np.float64
        )
    else:
        raw = None
    if raw is None:
        return None
    w = np.broadcast_to(np.asarray(raw, dtype=np.float64), (n,)).copy()
    if not np.isfinite(w).all() or (w < 0).any():
        raise SdcInputError(
            "the fit's weights include negative or non-finite values, so the records behind "
            "its groups cannot be counted"
        )
    if not (w > 0).any():
        raise SdcInputError("every weight of the fit is 0: no record counts")
    return None if np.all(w == w[0]) else w


def categorical_outcome(model: Any, name: str) -> tuple[np.ndarray, list[str]] | None:
    """Integer codes and labels of a categorical outcome (None for a continuous one)."""
    is_binomial = name == "GLM" and type(model.family).__name__ == "Binomial"
    if name not in CATEGORICAL_OUTCOME and not is_binomial:
        return None
    endog = np.asarray(model.endog)
    if endog.ndim > 1:  # MNLogit keeps one-hot outcomes in wendog
        endog = np.argmax(endog, axis=1)
    if endog.size and bool(np.all((endog == 0) | (endog == 1))):  # 0/1 without a sort
        codes = (endog == 1).astype(np.int64)
        values = np.flatnonzero(np.bincount(codes, minlength=2)).astype(np.float64)
        codes = codes - int(values[0])  # a 0/1 column that is all 1: its only code is 0
    else:
        values, codes = np.unique(endog, return_inverse=True)
    if is_binomial and not np.isin(values, (0.0, 1.0)).all():
        return None  # proportions: their weighted sums are what the fit reproduces
    labels_src = getattr(model, "_ynames_map", None)
    if isinstance(labels_src, dict) and len(labels_src) == values.size:
        labels = [str(labels_src[k]) for k in sorted(labels_src)]
    else:  # 0.0 and 1.0 as 0 and 1
        labels = [str(int(v)) if float(v).is_integer() else str(v) for v in values.tolist()]
    return codes.ravel().astype(np.int64), labels


def fit_rows(result: Any, name: str) -> FitRows:
    """Weights, outcome and exact fits of every row of ``result``'s design."""
    model = result.model
    w = prior_weights(model, name)
    n = int(np.asarray(model.exog).shape[0])
    keep = np.ones(n, dtype=bool) if w is None else w > NEGLIGIBLE * w.max()
    exact = np.zeros(n, dtype=bool)
    if name == "PHReg":
        events = np.asarray(model.status).astype(bool).ravel()
        return FitRows(keep, w, "events", np.zeros(n), events.astype(np.int64),
                       ["no event", "event"], exact)  # fmt: skip
    cat = categorical_outcome(model, name)
    if cat is not None:
        return FitRows(keep, w, "categorical", np.zeros(n), cat[0], cat[1], exact)
    y = np.asarray(model.endog, dtype=np.float64).ravel()
    # Discrete models' fittedvalues are the linear predictor; predict() is the mean.
    mean = result.predict() if name in ("Poisson", "NegativeBinomial") else result.fittedvalues
    fitted = np.asarray(mean, dtype=np.float64).ravel()
    if fitted.shape == y.shape and keep.any():
        scale = max(float(np.abs(y[keep]).max()), float(np.abs(fitted[keep]).max()), 1e-300)
        exact = keep & (np.abs(y - fitted) <= EXACT * scale)
    return FitRows(keep, w, "continuous", y, None, [], exact)


def saturation(result: Any, name: str, rows: FitRows) -> tuple[str, ...]:
    """Why the model reproduces its data (empty when it does not); a statistic that is not
    a number never skips a test: it is a reason of its own."""
    reasons = []
    if name in ("OLS", "WLS", "GLS"):
        rsq = float(getattr(result, "rsquared", np.nan))
        if not np.isfinite(rsq):
            reasons.append("R^2 is not a number (no variation left to explain)")
        elif rsq >= 1 - _EXACT_MODEL:
            reasons.append("R^2 = 1")
        ssr = float(getattr(result, "ssr", np.nan))
        tss = float(getattr(result, "centered_tss", np.nan))
        if np.isfinite(ssr) and ssr <= _EXACT_MODEL * max(tss if np.isfinite(tss) else 0, 1.0):
            reasons.append("zero residual variance")
    binary = name in ("Logit", "Probit") or (
        name == "GLM"
        and type(result.model.family).__name__ == "Binomial"
        and rows.codes is not None
    )
    if binary and rows.codes is not None:
        k = rows.keep
        y = rows.codes[k]
        exog = np.asarray(result.model.exog, dtype=np.float64)  # no copy: a 1e6-row design is large
        eta = (exog @ np.asarray(result.params, dtype=np.float64).ravel())[k]
        if y.size and 0 < y.sum() < y.size and eta[y == 0].max() < eta[y == 1].min():
            reasons.append("perfect separation (a linear score splits the two outcomes)")
    if name == "GLM" and not reasons:
        dev = float(getattr(result, "deviance", np.nan))
        null = float(getattr(result, "null_deviance", np.nan))
        if not (np.isfinite(dev) and np.isfinite(null)):
            reasons.append("the deviance is not a number, so the fit cannot be shown not to "
                           "reproduce its data")  # fmt: skip
        elif null > 0 and dev <= _EXACT_MODEL * null:
            reasons.append("zero deviance")
    n_exact = int(rows.exact.sum())
    if n_exact:
        everyone = n_exact == int(rows.keep.sum())
        reasons.append(
            "every record is fitted exactly (zero residual)" if everyone else
            f"{n_exact} record(s) fitted exactly (zero residual): the coefficients give "
            "their outcomes"
        )  # fmt: skip
    return tuple(dict.fromkeys(reasons))
