"""Population filters: read, never run; the records pandas' query selects; the same on text.

``evaluate`` is compared with ``DataFrame.query`` (the way researchers filter) on
generated frames and expressions, and on the same frame written to CSV and read
back as text (as the gate reads ``--data``) it selects the same records.
Anything that is not a comparison of a column with literals is refused.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdc import SdcInputError
from sdc.differencing.population import (
    columns_read,
    dataset_key,
    evaluate,
    index_fingerprint,
    population_entry,
)
from sdc.io import read_table


@st.composite
def frames(draw: st.DrawFn) -> pd.DataFrame:
    n = draw(st.integers(1, 30))
    ages = draw(st.lists(st.one_of(st.none(), st.integers(0, 99)), min_size=n, max_size=n))
    sexes = draw(st.lists(st.one_of(st.none(), st.sampled_from("FMX")), min_size=n, max_size=n))
    return pd.DataFrame({"age": pd.array(ages, dtype="Float64").astype(float),
                         "sex": pd.Series(sexes, dtype=object)})  # fmt: skip


_ATOMS = st.one_of(
    st.builds(lambda op, v: f"age {op} {v}", st.sampled_from(["<", "<=", ">", ">=", "==", "!="]),
              st.integers(0, 99)),
    st.builds(lambda op, v: f"sex {op} {v!r}", st.sampled_from(["==", "!="]),
              st.sampled_from("FMX")),
    st.builds(lambda op, vs: f"sex {op} {sorted(vs)!r}", st.sampled_from(["in", "not in"]),
              st.sets(st.sampled_from("FMX"), min_size=1)),
    st.builds(lambda v, w: f"{v} <= age < {w}", st.integers(0, 50), st.integers(50, 99)),
)  # fmt: skip
_EXPRESSIONS = st.recursive(
    _ATOMS,
    lambda inner: st.one_of(
        st.builds(lambda a, b: f"({a}) and ({b})", inner, inner),
        st.builds(lambda a, b: f"({a}) | ({b})", inner, inner),
        st.builds(lambda a: f"~({a})", inner),
    ),
    max_leaves=4,
)


@settings(max_examples=300, deadline=None)
@given(frames(), _EXPRESSIONS)
def test_selects_what_pandas_query_selects(df: pd.DataFrame, expression: str) -> None:
    expected = df.eval(expression, engine="python").to_numpy(dtype=bool)
    assert evaluate(expression, df, "f").tolist() == expected.tolist()


@settings(max_examples=150, deadline=None)
@given(frames(), _EXPRESSIONS)
def test_a_csv_read_as_text_gives_the_same_records(df: pd.DataFrame, expression: str) -> None:
    buffer = io.StringIO()
    df.to_csv(buffer, index=False)
    path = _tmp_csv(buffer.getvalue())
    assert (
        evaluate(expression, read_table(path), "f").tolist()
        == evaluate(expression, df, "f").tolist()
    )


def _tmp_csv(text: str):  # a file per example (hypothesis and tmp_path do not mix)
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "d.csv"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os').system('true')",
        "age.__class__",
        "age < age",
        "age + 1 < 3",
        "(lambda: 1)()",
        "age",
        "sex in 'F'",
        "open('x') == 1",
        "age < 90; import os",
        "",
        "x" * 3000,
    ],
)
def test_anything_but_a_filter_is_refused(expression: str) -> None:
    df = pd.DataFrame({"age": [1, 2], "sex": ["F", "M"]})
    with pytest.raises(SdcInputError, match="population"):
        evaluate(expression, df, "f")


def test_backticks_name_columns_with_spaces() -> None:
    df = pd.DataFrame({"smoking status": ["never", "current", None]})
    assert evaluate("`smoking status` == 'never'", df, "f").tolist() == [True, False, False]
    assert columns_read("age > 3 and `smoking status` != 'x'") == ["age", "smoking status"]


def test_fingerprints_and_keys() -> None:
    assert index_fingerprint(pd.Index([3, 1, 2])) == index_fingerprint(pd.Index([1, 2, 3]))
    assert index_fingerprint(pd.Index(["a", "b"])) != index_fingerprint(pd.Index([0, 1]))
    assert index_fingerprint(pd.Index([1, 1])) is None
    entry = population_entry(pd.RangeIndex(2, 5), "age < 3", pd.RangeIndex(5))
    assert entry["rows"] == 3 and entry["base"]["rows"] == 5
    same_data = population_entry(pd.RangeIndex(5), None, None)
    assert dataset_key({"population": entry}) == dataset_key({"population": same_data})
    assert dataset_key({"population": population_entry(pd.RangeIndex(4), None, None)}) != (
        dataset_key({"population": entry})
    )
    assert dataset_key({"population": None}) is None and dataset_key(None) is None
    assert np.array_equal(evaluate("age > 1", pd.DataFrame({"age": [1, 2]}), "f"), [False, True])
