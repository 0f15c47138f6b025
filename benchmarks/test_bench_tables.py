"""pytest-benchmark suite: the evidence kernel and whole checked tables.

Run apart from the tests: ``.venv/bin/pytest benchmarks --benchmark-enable``
(add ``--benchmark-only`` to skip nothing else). Sizes: 1e5 and 1e6 rows of the
synthetic microdata (three grouping columns of 10, 30 and 50 levels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic import make_microdata

import sdc
from sdc.tables.evidence import compute_evidence
from sdc.tables.factorize import factorize
from sdc.tables.model import TableModel

SIZES = [100_000, 1_000_000]


@pytest.fixture(scope="module", params=SIZES, ids=lambda n: f"{n:.0e}rows")
def frame(request: pytest.FixtureRequest) -> pd.DataFrame:
    return make_microdata(request.param, seed=0)


def _coded(frame: pd.DataFrame) -> tuple[np.ndarray, TableModel]:
    coded = [factorize(frame[c]) for c in ("a", "b", "c")]
    codes = np.ascontiguousarray(np.column_stack([c for c, _ in coded]))
    return codes, TableModel(("a", "b", "c"), tuple(tuple(lv) for _, lv in coded), n_rows=2)


def test_kernel_evidence(benchmark, frame: pd.DataFrame) -> None:
    codes, model = _coded(frame)
    values = frame["value"].to_numpy()
    ev = benchmark(compute_evidence, codes, model, values)
    assert int(ev.records[-1]) == len(frame)


def test_kernel_evidence_with_contributor(benchmark, frame: pd.DataFrame) -> None:
    codes, model = _coded(frame)
    values = frame["value"].to_numpy()
    contrib = factorize(frame["contributor"])[0]
    ev = benchmark(compute_evidence, codes, model, values, contrib)
    assert int(ev.contributors[-1]) == frame["contributor"].nunique()


def test_pandas_groupby_reference(benchmark, frame: pd.DataFrame) -> None:
    """The plain alternative: one groupby of the inner cells, no margins, no top-k."""
    agg = benchmark(
        lambda: frame.groupby(["a", "b", "c"], observed=True)["value"].agg(
            ["count", "sum", "min", "max"]
        )
    )
    assert int(agg["count"].sum()) == len(frame)


@pytest.mark.parametrize("aggfunc", [None, "mean"])
def test_session_crosstab(benchmark, frame: pd.DataFrame, aggfunc: str | None) -> None:
    s = sdc.Session(rules="acro")
    values = frame["value"] if aggfunc else None

    def run() -> sdc.TableOutput:
        s.outputs.clear()
        out = s.crosstab([frame["a"], frame["b"]], frame["c"], values=values, aggfunc=aggfunc)
        _ = out.findings
        return out

    out = benchmark(run)
    assert out.status in tuple(sdc.Status)
