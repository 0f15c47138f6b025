"""Who each row of a fitted model is: contributor ids lined up with the rows the fit used.

statsmodels drops rows with a missing value before fitting, so the design matrix has
fewer rows than the data; ``result.model.data.row_labels`` names the rows it kept (the
data's index labels). Ids are taken from those rows, in that order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sdc._validation import input_error


def _n_rows(result: Any) -> int:
    return int(np.asarray(result.model.exog).shape[0])


def _row_labels(result: Any) -> Any:
    data = getattr(getattr(result, "model", None), "data", None)
    return getattr(data, "row_labels", None)


def contributor_column(result: Any, data: pd.DataFrame, column: str, func: str) -> np.ndarray:
    """Column ``column`` of ``data`` at the rows ``result`` was fitted on.

    Examples
    --------
    >>> import statsmodels.formula.api as smf
    >>> df = pd.DataFrame({"y": [1.0, 2.0, None, 4.0, 3.0], "x": [0.0, 1.0, 2.0, 3.0, 5.0],
    ...                    "pid": ["a", "b", "c", "d", "a"]}, index=[10, 11, 12, 13, 14])
    >>> contributor_column(smf.ols("y ~ x", df).fit(), df, "pid", "f").tolist()
    ['a', 'b', 'd', 'a']
    """
    labels = _row_labels(result)
    ids = data[column]
    if labels is None:
        values = ids.to_numpy()
    else:
        if not data.index.is_unique:
            raise input_error(
                "data", func, "a DataFrame with a unique index when `contributor` is given",
                "an index with repeated labels",
                "The fit names its rows by index label: use data.reset_index(drop=True).",
            )  # fmt: skip
        values = ids.to_numpy()[data.index.get_indexer(pd.Index(labels))]
    if len(values) != _n_rows(result):
        raise input_error("contributor", func, "one id per row the fit used", len(values))
    if pd.isna(values).any():
        raise input_error(
            "contributor", func, "a column without missing ids",
            f"{int(pd.isna(values).sum())} missing id(s) in {column!r} among the rows used",
            "Every record must be attributed to a contributor.",
        )  # fmt: skip
    return values


def contributor_ids(result: Any, contributor: Any, func: str) -> np.ndarray | None:
    """Ids for a result the researcher fitted: one per row used, or a Series indexed like
    the data (taken at the rows the fit used)."""
    if contributor is None:
        return None
    if isinstance(contributor, str):
        raise input_error(
            "contributor", func, "the ids themselves (a Series or array)", contributor,
            "Pass data[column], or fit with Session.ols(..., contributor=column).",
        )  # fmt: skip
    n = _n_rows(result)
    labels = _row_labels(result)
    if isinstance(contributor, pd.Series) and len(contributor) != n and labels is not None:
        frame = contributor.to_frame("id")
        return contributor_column(result, frame, "id", func)
    values = np.asarray(contributor, dtype=object)
    if values.ndim != 1 or values.shape[0] != n:
        raise input_error(
            "contributor", func, f"one id per row the fit used ({n})",
            f"{values.shape[0] if values.ndim == 1 else values.shape} id(s)",
            "A Series indexed like the data is matched to the rows used by its index.",
        )  # fmt: skip
    if pd.isna(values).any():
        raise input_error("contributor", func, "ids without missing values",
                          f"{int(pd.isna(values).sum())} missing")  # fmt: skip
    return values
