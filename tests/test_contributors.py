"""People, not rows: ``contributor=`` on every output kind, and the session's default.

Counts are compared with pandas ``nunique`` references; the property for every kind:
duplicating one contributor's rows never turns a verdict from fail into pass.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdc
from sdc import SdcInputError
from sdc.release.gate import check_folder
from sdc.tables import histogram
from sdc.verdict import Status

SETTINGS = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])  # fmt: skip


def episodes(seed: int = 0, n: int = 600, patients: int = 150) -> pd.DataFrame:
    """Hospital episodes: several per patient; patient 7 alone in region "Orkney"."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "pid": rng.integers(0, patients, n),
        "region": rng.choice(["North", "South", "East"], n),
        "los": rng.integers(0, 40, n).astype(float),
        "cost": np.round(rng.gamma(2.0, 100.0, n), 2),
    })  # fmt: skip
    df.loc[df.pid == 7, "region"] = "Orkney"
    return df


def statuses(outputs: list) -> list[Status]:
    return [o.status for o in outputs]


def never_fail_to_pass(before: Status, after: Status) -> None:
    assert not (before is Status.FAIL and after is Status.PASS)


# ------------------------------------------------------------------ counts vs pandas


@pytest.mark.parametrize("bins", [5, 20, [0, 10, 20, 30]])
def test_histogram_bins_count_distinct_contributors_as_pandas_does(bins):
    df = episodes()
    h = sdc.Session().hist(df, "los", bins=bins, contributor="pid")
    edges = np.asarray(h.definition["dims"][0]["bins"])
    labels = histogram.bin_labels(df.los.to_numpy(), edges)
    expected = df.groupby(pd.Series(labels, index=df.index), observed=True).pid.nunique()
    ev, model = h.check.evidence, h.model
    inner = {lv: i for i, lv in enumerate(model.levels[0])}
    for label, people in expected.items():
        assert ev.contributors[inner[label]] == people
    # the bars still count records
    assert h.table.iloc[:, 0].sum() == len(df)


def test_histogram_rebin_merges_until_every_bin_holds_t_people():
    df = episodes()
    s = sdc.Session()
    h = s.hist(df, "los", bins=[0, 1, 2, 3, 20, 40], contributor="pid", rebin=True)
    edges = np.asarray(h.definition["dims"][0]["bins"])
    labels = pd.Series(histogram.bin_labels(df.los.to_numpy(), edges), index=df.index)
    people = df.groupby(labels, observed=True).pid.nunique()
    assert (people[people > 0] >= 10).all()


def test_histogram_of_one_persons_records_fails_with_contributor_and_not_without():
    df = pd.DataFrame({"los": [1.0] * 12 + [25.0] * 40, "pid": [1] * 12 + list(range(2, 42))})
    s = sdc.Session()
    assert s.hist(df, "los", bins=[0, 10, 50], contributor=None).status is Status.PASS
    assert s.hist(df, "los", bins=[0, 10, 50], contributor="pid").status is Status.FAIL


def test_describe_counts_people_as_pandas_nunique():
    df = episodes()
    d = sdc.Session(contributor="pid").describe(df, "cost", by="region", stats=["count"])
    ev = d.outputs["count"].check.evidence
    levels = d.outputs["count"].model.levels[0]
    expected = df.groupby("region").pid.nunique()
    assert [ev.contributors[i] for i in range(len(levels))] == [expected[lv] for lv in levels]
    assert d.outputs["count"].status is Status.FAIL  # Orkney: one patient


# ------------------------------------------------------------------ the session's default


def test_session_default_is_used_and_an_explicit_argument_overrides_it():
    df = episodes()
    s = sdc.Session(contributor="pid")
    default = s.pivot_table(df, index="region", aggfunc="count", name="a")
    explicit = sdc.Session().pivot_table(df, index="region", aggfunc="count",
                                         contributor="pid", name="a")  # fmt: skip
    rows = s.pivot_table(df, index="region", aggfunc="count", contributor=None, name="b")
    assert default.check.evidence.has_contributor and not rows.check.evidence.has_contributor
    np.testing.assert_array_equal(default.check.evidence.contributors,
                                  explicit.check.evidence.contributors)  # fmt: skip
    assert default.definition["contributor"]["column"] == "pid"
    assert rows.definition["contributor"] is None


def test_session_default_reaches_every_method_that_takes_a_contributor():
    df = episodes()
    s = sdc.Session(contributor="pid")
    h = s.hist(df, "los", bins=10)
    d = s.describe(df, "cost", by="region", stats=["mean"])
    r = s.ols("cost ~ C(region)", df)
    assert h.check.evidence.has_contributor
    assert d.outputs["mean"].check.evidence.has_contributor
    assert r.evidence.has_contributor
    people = df.groupby("pid").agg(days=("los", "max")).reset_index()
    people["died"] = (people.pid % 3 == 0).astype(int)
    km = s.survival_table(people.merge(df[["pid"]], on="pid"), "days", "died")
    assert km.definition["contributor"]["column"] == "pid"
    assert km.totals[0].records == people.pid.nunique()


def test_a_default_column_missing_from_a_frame_is_an_error_naming_it():
    s = sdc.Session(contributor="patient_id")
    df = pd.DataFrame({"region": ["N"] * 20})
    with pytest.raises(SdcInputError, match="patient_id"):
        s.pivot_table(df, index="region", aggfunc="count")
    with pytest.raises(SdcInputError, match="patient_id"):
        s.hist(pd.DataFrame({"x": np.arange(20.0)}), "x")
    out = s.pivot_table(df, index="region", aggfunc="count", contributor=None)
    assert out.status is Status.PASS


def test_crosstab_takes_series_so_the_default_must_be_given_as_ids():
    df = episodes()
    s = sdc.Session(contributor="pid")
    with pytest.raises(SdcInputError, match=r"contributor=df\['pid'\]"):
        s.crosstab(df.region)
    assert s.crosstab(df.region, contributor=df.pid).check.evidence.has_contributor
    assert not s.crosstab(df.region, contributor=None).check.evidence.has_contributor


def test_session_contributor_must_be_a_column_name():
    with pytest.raises(SdcInputError, match="contributor"):
        sdc.Session(contributor=3)  # type: ignore[arg-type]


# ------------------------------------------------------------------ survival: people once


def test_survival_rows_of_one_patient_count_once_as_one_row_per_patient_does():
    rng = np.random.default_rng(3)
    people = pd.DataFrame({"pid": np.arange(200), "days": rng.integers(1, 400, 200),
                           "died": rng.integers(0, 2, 200)})  # fmt: skip
    repeated = people.loc[people.index.repeat(rng.integers(1, 4, 200))].sample(
        frac=1, random_state=1
    )
    s = sdc.Session()
    once = s.survival_table(people, "days", "died", name="once")
    each = s.survival_table(repeated, "days", "died", contributor="pid", name="each")
    pd.testing.assert_frame_equal(once.table, each.table)
    assert each.status is once.status
    assert each.totals[0].records == repeated.pid.nunique()


def test_survival_refuses_a_patient_with_differing_rows():
    df = pd.DataFrame({"pid": [1, 1, 2], "days": [5, 9, 3], "died": [1, 0, 1]})
    with pytest.raises(SdcInputError, match="1 contributor"):
        sdc.Session().survival_table(df, "days", "died", contributor="pid")


def test_survival_with_contributor_is_recomputed_equal_at_the_gate(tmp_path: Path):
    rng = np.random.default_rng(5)
    people = pd.DataFrame({"pid": np.arange(300), "days": rng.integers(1, 400, 300),
                           "died": rng.integers(0, 2, 300) == 1})  # fmt: skip
    data = people.loc[people.index.repeat(2)].reset_index(drop=True)
    s = sdc.Session()
    s.survival_table(data, "days", "died", contributor="pid", name="km")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = s.finalise(tmp_path / "req")
    data.to_csv(tmp_path / "data.csv", index=False)
    report = check_folder(folder, data=tmp_path / "data.csv")
    (entry,) = [o for o in report["outputs"] if o["name"] == "km"]
    assert entry["recomputed"] == "equal", entry["reasons"]


# ------------------------------------------------------------------ the property, per kind


def duplicated(df: pd.DataFrame, pid: int, times: int) -> pd.DataFrame:
    """``df`` with every row of contributor ``pid`` repeated ``times`` more times."""
    rows = df[df.pid == pid]
    return pd.concat([df, *[rows] * times], ignore_index=True)


frames = st.builds(
    lambda seed, n, patients: episodes(seed, n, patients),
    st.integers(0, 10_000),
    st.integers(40, 200),
    st.integers(5, 60),
)


@SETTINGS
@given(df=frames, pick=st.integers(0, 10_000), times=st.integers(1, 12))
def test_duplicating_a_contributors_rows_never_turns_a_table_fail_into_pass(df, pick, times):
    pid = int(df.pid.unique()[pick % df.pid.nunique()])
    more = duplicated(df, pid, times)
    s = sdc.Session(contributor="pid")
    for name, make in {
        "count": lambda d, n: s.pivot_table(d, index="region", aggfunc="count", name=n),
        "mean": lambda d, n: s.pivot_table(d, index="region", values="cost", aggfunc="mean",
                                           name=n),
        "hist": lambda d, n: s.hist(d, "los", bins=[0, 10, 20, 30], name=n),
        "hist-rebin": lambda d, n: s.hist(d, "los", bins=8, rebin=True, name=n),
        "describe": lambda d, n: s.describe(d, "cost", by="region", stats=["mean"], name=n),
    }.items():  # fmt: skip
        never_fail_to_pass(make(df, f"{name}_a").status, make(more, f"{name}_b").status)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(df=frames, pick=st.integers(0, 10_000), times=st.integers(1, 12))
def test_duplicating_a_contributors_rows_never_turns_a_regression_fail_into_pass(df, pick, times):
    pid = int(df.pid.unique()[pick % df.pid.nunique()])
    s = sdc.Session(contributor="pid")
    before = s.ols("cost ~ C(region) + los", df, name="a").status
    after = s.ols("cost ~ C(region) + los", duplicated(df, pid, times), name="b").status
    never_fail_to_pass(before, after)


@SETTINGS
@given(seed=st.integers(0, 10_000), n=st.integers(5, 120), pick=st.integers(0, 10_000),
       times=st.integers(1, 12))  # fmt: skip
def test_duplicating_a_patients_rows_never_changes_a_survival_table(seed, n, pick, times):
    rng = np.random.default_rng(seed)
    people = pd.DataFrame({
        "pid": np.arange(n), "days": rng.integers(1, 100, n),
        "died": rng.integers(0, 2, n), "arm": rng.choice(["a", "b"], n),
    })  # fmt: skip
    s = sdc.Session(contributor="pid")
    before = s.survival_table(people, "days", "died", by="arm", name="a")
    after = s.survival_table(duplicated(people, pick % n, times), "days", "died", by="arm",
                             name="b")  # fmt: skip
    assert after.status is before.status
    pd.testing.assert_frame_equal(after.table, before.table)


# ------------------------------------------------------------------ trained models


def tree_data(seed: int = 0, n: int = 400):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    y = (x[:, 0] + rng.normal(0, 0.5, n) > 0).astype(int)
    ids = rng.integers(0, n // 4, n)  # about four rows per person
    return x, y, ids


@pytest.mark.parametrize("forest", [False, True])
def test_model_leaves_count_distinct_contributors_as_pandas_does(forest):
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    from sdc.models.check import leaf_people

    x, y, ids = tree_data()
    model = (RandomForestClassifier(n_estimators=5, min_samples_leaf=5, random_state=0)
             if forest else DecisionTreeClassifier(min_samples_leaf=5, random_state=0))  # fmt: skip
    model.fit(x, y)
    trees = model.estimators_ if forest else [model]
    per_leaf = [pd.Series(ids).groupby(tree.apply(x)).nunique() for tree in trees]
    expected = (min(int(p.min()) for p in per_leaf),
                sum(int(((p > 0) & (p < 10)).sum()) for p in per_leaf))  # fmt: skip
    assert leaf_people(model, x, ids, 10) == expected


def test_a_leaf_of_one_persons_rows_fails_only_when_contributors_are_given():
    from sklearn.tree import DecisionTreeClassifier

    x, y, ids = tree_data(1, 600)
    x[:12] = [9.0, 9.0, 9.0]  # twelve rows of one person, far from the others
    y[:12] = 1
    ids[:12] = 10_000
    model = DecisionTreeClassifier(min_samples_leaf=10, random_state=0).fit(x[:500], y[:500])
    train, test = (x[:500], y[:500]), (x[500:], y[500:])
    s = sdc.Session()
    rows = s.check_model(model, train=train, test=test, name="rows")
    people = s.check_model(model, train=train, test=test, contributor=ids[:500], name="people")
    k_rows = rows.findings[rows.findings.rule == "k-anonymity"]
    k_people = people.findings[people.findings.rule == "k-anonymity"]
    assert not k_rows["term"].str.contains("contributors").any()
    mine = k_people[k_people["term"].str.contains("contributors")]
    assert (mine.outcome == "fail").all() and len(mine) == 1
    assert people.status is not Status.PASS


def test_model_contributor_needs_training_rows_and_a_session_default_must_be_given_as_ids():
    from sklearn.tree import DecisionTreeClassifier

    x, y, ids = tree_data()
    model = DecisionTreeClassifier(min_samples_leaf=5).fit(x[:300], y[:300])
    with pytest.raises(SdcInputError, match="train"):
        sdc.Session().check_model(model, contributor=ids[:300])
    s = sdc.Session(contributor="pid")
    with pytest.raises(SdcInputError, match="training rows"):
        s.check_model(model, train=(x[:300], y[:300]), test=(x[300:], y[300:]))
    assert s.check_model(model).status is not None  # weights only: no rows to name


def test_tables_counted_by_contributor_are_recomputed_equal_at_the_gate(tmp_path: Path):
    df = episodes()
    s = sdc.Session(contributor="pid")
    s.hist(df, "los", bins=10, name="h")
    s.describe(df, "cost", by="region", stats=["count", "mean"], name="d")
    s.pivot_table(df, index="region", aggfunc="count", margins=True, name="p").protect()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        folder = s.finalise(tmp_path / "req")
    df.to_csv(tmp_path / "data.csv", index=False)
    report = check_folder(folder, data=tmp_path / "data.csv")
    got = {o["name"]: (o["status"], o["recomputed"]) for o in report["outputs"]}
    assert got == {"h": ("pass", "equal"), "d_count": ("fail", "equal"),
                   "d_mean": ("fail", "equal"), "p": ("pass", "equal")}  # fmt: skip
