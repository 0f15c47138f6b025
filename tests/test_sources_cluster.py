"""Tables on real engines: Spark ``local[2]`` and a Dask ``LocalCluster`` of two workers.

Both are slow to start (Spark about 20 s on two cores), so these tests are marked
``slow`` (``.ci/run`` runs them) and share one session per engine. Spark needs Java
17: where it is missing the tests skip with the reason, and fail in CI.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from needs import missing, module
from sources_helpers import assert_same_report, report
from strategies import Microdata, microdata
from test_sources import SPLIT_CONTRIBUTOR

import sdc

pytestmark = [
    pytest.mark.slow,
    # PySpark warns on import that it does not fully support pandas 3; data moves as Arrow.
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support:FutureWarning"),
]


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    module("pyspark")
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        missing("Spark needs Java 17 (Debian: openjdk-17-jre-headless)")
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    # Spark's Python workers start in the current folder: with a non-editable install (CI),
    # the checkout's sdc/ would shadow the installed package, which maps sdc.rules and
    # sdc.kernels from their own folders. Safe path: never put the current folder first.
    os.environ["PYTHONSAFEPATH"] = "1"
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("sdc-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.driver.memory", "1g")
        .config("spark.executorEnv.PYTHONSAFEPATH", "1")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    distributed = module("distributed")
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                 dashboard_address=None) as c,
        distributed.Client(c) as client,
    ):  # fmt: skip
        yield client


def _spark_frame(spark: Any, case: Microdata, n_parts: int) -> Any:
    import pyarrow as pa

    table = pa.Table.from_pandas(case.frame, preserve_index=False)
    # Spark has no categoricals: their labels go as plain values.
    for i, field in enumerate(table.schema):
        if pa.types.is_dictionary(field.type):
            table = table.set_column(i, field.name, table.column(i).cast(field.type.value_type))
    return spark.createDataFrame(table).repartition(n_parts)


def _plain(case: Microdata) -> Microdata:
    frame = case.frame.copy()
    for c in case.categories:
        frame[c] = frame[c].astype(object).where(frame[c].notna(), None)
    return Microdata(frame, case.dims, case.value, case.contributor, case.top_k, case.exact)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(case=microdata(), n_parts=st.integers(1, 4))
def test_spark_partitions_give_the_pandas_report(spark: Any, case: Microdata, n_parts: int) -> None:
    case = _plain(case)
    want = report(case.frame, case)
    got = report(_spark_frame(spark, case, n_parts), case)
    assert_same_report(got, want, case.exact)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(case=microdata(contributor=False).filter(lambda c: c.value is None),
       n_parts=st.integers(1, 4))  # fmt: skip
def test_spark_counts_frequency_tables_itself(spark: Any, case: Microdata, n_parts: int) -> None:
    """A frequency table without contributors is counted by a Spark groupBy (only cells
    reach Python): the report is the pandas one, missing grouping values included."""
    case = _plain(case)
    assert_same_report(report(_spark_frame(spark, case, n_parts), case),
                       report(case.frame, case), case.exact)  # fmt: skip


def test_spark_contributor_split_across_partitions(spark: Any) -> None:
    case = SPLIT_CONTRIBUTOR
    import pyarrow as pa

    sdf = spark.createDataFrame(pa.Table.from_pandas(case.frame)).repartition(
        3
    )  # round robin: person 1 everywhere
    assert report(sdf, case) == report(case.frame, case)


def test_spark_failure_mid_way_raises(spark: Any) -> None:
    from pyspark.sql import functions as F

    sdf = spark.range(40).withColumn("g", F.lit("x"))
    sdf = sdf.withColumn("v", F.expr("assert_true(id < 30)").cast("double"))
    s = sdc.Session()
    with pytest.raises(Exception, match=r"assert_true|id < 30"):
        s.pivot_table(sdf, index="g", values="v", aggfunc="sum")
    assert s.outputs == {}


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(case=microdata(), data=st.data())
def test_dask_cluster_gives_the_pandas_report(cluster: Any, case: Microdata,
                                              data: st.DataObject) -> None:  # fmt: skip
    dd = module("dask.dataframe")
    n = len(case.frame)
    order = data.draw(st.lists(st.integers(0, 10**6), min_size=n, max_size=n))
    frame = case.frame.iloc[np.argsort(order, kind="stable")].reset_index(drop=True)
    got = report(dd.from_pandas(frame, npartitions=data.draw(st.integers(1, 4)), sort=False),
                 case)  # fmt: skip
    assert_same_report(got, report(case.frame, case), case.exact)


def test_dask_cluster_contributor_split(cluster: Any) -> None:
    dd = module("dask.dataframe")
    case = SPLIT_CONTRIBUTOR
    ddf = dd.from_pandas(case.frame, npartitions=4, sort=False)
    assert report(ddf, case) == report(case.frame, case)
