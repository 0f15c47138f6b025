"""Properties of the microdata measures: responses to change, and suppression reaching k.

References are the plain twins in ``microdata_reference.py`` and pandas group counts.
"""

from __future__ import annotations

import microdata_reference as ref
import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc.microdata.keys import encode
from sdc.microdata.risk import frequencies, individual_risk
from sdc.microdata.suppression import local_suppression


@st.composite
def frames(draw, missing: bool = True, min_keys: int = 1, max_rows: int = 40):
    m = draw(st.integers(min_keys, 4))
    n = draw(st.integers(2, max_rows))
    cols = {}
    for j in range(m):
        levels = draw(st.integers(1, 5))
        # skewed: level 0 is hot
        values = [min(draw(st.integers(0, 7)), levels - 1) for _ in range(n)]
        if missing:
            values = [None if draw(st.integers(0, 9)) == 0 else v for v in values]
        if all(v is None for v in values):
            values[0] = 0
        cols[f"k{j}"] = pd.array(values, dtype="Int64")
    return pd.DataFrame(cols)


def fk_of(df: pd.DataFrame, keys: list[str], alpha: float = 1.0) -> np.ndarray:
    return frequencies(encode(df, keys, "t", require_values=False), alpha=alpha).fk


@settings(max_examples=150, deadline=None)
@given(frames(missing=False, min_keys=2), st.data())
def test_dropping_a_key_never_raises_a_risk(df: pd.DataFrame, data) -> None:
    keys = list(df.columns)
    drop = data.draw(st.sampled_from(keys))
    fewer = [k for k in keys if k != drop]
    before, after = fk_of(df, keys), fk_of(df, fewer)
    assert (after >= before).all()
    r_before = individual_risk(before, before, survey=False)
    r_after = individual_risk(after, after, survey=False)
    assert (r_after <= r_before).all() and r_after.sum() <= r_before.sum()
    # and fk is the pandas group size of the record's key
    assert after.tolist() == df.groupby(fewer)[fewer[0]].transform("size").tolist()


@settings(max_examples=150, deadline=None)
@given(frames(missing=False), st.data())
def test_merging_categories_never_raises_a_risk(df: pd.DataFrame, data) -> None:
    keys = list(df.columns)
    key = data.draw(st.sampled_from(keys))
    levels = sorted(df[key].dropna().unique().tolist())
    a = data.draw(st.sampled_from(levels))
    b = data.draw(st.sampled_from(levels))
    merged = df.copy()
    merged[key] = merged[key].replace({b: a})
    before, after = fk_of(df, keys), fk_of(merged, keys)
    assert (after >= before).all()


@settings(max_examples=150, deadline=None)
@given(frames(), st.data(), st.sampled_from([1.0, 0.5]))
def test_missing_values_match_any_value_as_sdcmicro_defines(df, data, alpha) -> None:
    keys = list(df.columns)
    rows = [tuple(-1 if pd.isna(v) else int(v) for v in r) for r in df.itertuples(index=False)]
    want, _ = ref.fk_Fk(rows, [1.0] * len(rows), alpha)
    np.testing.assert_allclose(fk_of(df, keys, alpha), want)
    # With alpha = 1, a value set to missing never lowers a record's fk unless it leaves
    # all of that record's keys missing (then complete records stop counting it).
    i = data.draw(st.integers(0, len(df) - 1))
    j = data.draw(st.sampled_from(keys))
    blanked = df.copy()
    blanked.loc[i, j] = None
    if blanked.loc[i, keys].isna().all():
        return
    assert (fk_of(blanked, keys) >= fk_of(df, keys) - 1e-12).all()


@settings(max_examples=120, deadline=None)
@given(frames(max_rows=30), st.integers(2, 4), st.data())
def test_local_suppression_output_is_k_anonymous(df, k, data) -> None:
    keys = list(df.columns)
    if len(df) < k:
        return
    importance = data.draw(st.permutations(keys))
    plan = local_suppression(encode(df, keys, "t", require_values=False), k, list(importance))
    out = plan.apply(df)
    rows = [
        tuple(-1 if pd.isna(v) else int(v) for v in r) for r in out[keys].itertuples(index=False)
    ]
    fk, _ = ref.fk_Fk(rows, [1.0] * len(rows), 1.0)
    assert (fk >= k).all()
    assert plan.violations_after == 0
    # only planned cells changed, each from a value to missing
    changed = (df[keys].isna() != out[keys].isna()).to_numpy().sum()
    assert changed == plan.total
    assert out[keys].isna().to_numpy().sum() == df[keys].isna().to_numpy().sum() + plan.total
