"""Differencing in a session: the issue's examples, each a small group given away.

Each test makes outputs that are safe one by one, then checks that
``Session.check_differencing`` names the group, its size (counted here with
pandas), and a combination of released numbers that gives exactly that size
(evaluated here on tables counted with pandas). Protecting the outputs together,
or leaving one out, removes the finding.
"""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from differencing_cases import cohort, combination_value, counts_by, groups_of, small_region_sex

import sdc
from sdc import SdcInputError
from sdc.differencing.detect import detect
from sdc.differencing.tracker import place
from sdc.ruleset import RuleSet


def over_90_by_cell(df: pd.DataFrame) -> dict[tuple[str, str], int]:
    return df[df.age > 90].groupby(["region", "sex"]).size().to_dict()


@pytest.mark.parametrize("how", ["expression", "filtered by hand"])
def test_all_patients_and_all_except_those_over_90(how: str) -> None:
    df = cohort()
    s = sdc.Session()
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", name="all")
    if how == "expression":
        s.pivot_table(df, index="region", columns="sex", aggfunc="count", name="under_90",
                      population="age <= 90")  # fmt: skip
        outside = "not (age <= 90)"
    else:
        young = df[df.age <= 90]
        s.crosstab(young.region, young.sex, name="under_90")
        outside = "outside the records of 'under_90'"
    result = s.check_differencing()
    expected = {f"region {r} & sex {x} & {outside}": n for (r, x), n in over_90_by_cell(df).items()}
    assert all(0 < n < 10 for n in expected.values())
    assert dict(groups_of(result)) == expected
    tables = {"all": counts_by(df, ["region", "sex"]),
              "under_90": counts_by(df[df.age <= 90], ["region", "sex"])}  # fmt: skip
    for f in result.findings:
        assert f.outputs == ("all", "under_90")
        assert combination_value(f, tables) == f.records
        assert "all[region=" in f.message and "derivable from outputs 'all' and 'under_90'" in (
            f.message
        )
    assert result.status is sdc.Status.FAIL


def test_age_bands_released_on_two_grids() -> None:
    df = cohort(1)
    df = df[df.age < 20].copy()
    girls_5_9 = df.index[(df.sex == "F") & df.age.between(5, 9)]
    df.loc[girls_5_9[3:], "age"] = 12  # only three girls aged 5-9 are left
    df["ten"] = np.where(df.age < 10, "0-9", "10-19")
    df["five"] = pd.cut(df.age, [0, 5, 15, 20], right=False,
                        labels=["0-4", "5-14", "15-19"]).astype(str)  # fmt: skip
    s = sdc.Session()
    s.crosstab(df.ten, df.sex, name="last_month")
    s.crosstab(df.five, df.sex, name="today")
    result = s.check_differencing()
    n = int(((df.sex == "F") & df.age.between(5, 9)).sum())
    assert n == 3
    assert groups_of(result) == [("ten 0-9 & sex F & five 5-14", n)]
    (finding,) = result.findings
    tables = {"last_month": counts_by(df, ["ten", "sex"]), "today": counts_by(df, ["five", "sex"])}
    assert combination_value(finding, tables) == n
    assert [(o, c, str(k)) for o, c, k in finding.combination] == [
        ("last_month", {"ten": "0-9", "sex": "F"}, "1"),
        ("today", {"five": "0-4", "sex": "F"}, "-1"),
    ]


def test_histograms_on_two_grids_name_the_bins() -> None:
    df = cohort(1)
    df = df[(df.age < 20) & (df.sex == "F")].copy()
    df.loc[df.index[df.age.between(5, 9)][2:], "age"] = 12
    s = sdc.Session()
    s.hist(df, "age", bins=[0, 10, 20], name="tens")
    s.hist(df, "age", bins=[0, 5, 15, 20], name="fives")
    (finding,) = s.check_differencing().findings
    assert finding.records == int(df.age.between(5, 9).sum()) == 2
    # the end bins are open: 0 and 20 pin no record, so "tens" has the bins < 10 and >= 10
    assert finding.group == "age < 10 (in 'tens') & age [5, 15) (in 'fives')"


def test_region_table_and_practice_table_of_the_same_records() -> None:
    df = cohort()
    s = sdc.Session(suppress=True)
    practices = s.crosstab(df.practice, name="practices")  # N9 (5 patients) is suppressed
    assert practices.protected_table.loc["N9"].isna().all()
    s.crosstab(df.region, name="regions")
    result = s.check_differencing()
    n9 = int((df.practice == "N9").sum())
    assert groups_of(result) == [("practice=N9 (hidden in 'practices')", n9)]
    (finding,) = result.findings
    tables = {"regions": counts_by(df, ["region"]), "practices": counts_by(df, ["practice"])}
    assert combination_value(finding, tables) == n9
    assert {o for o, _, _ in finding.combination} == {"regions", "practices"}


def test_one_more_exclusion_criterion() -> None:
    df = cohort()
    s = sdc.Session()
    s.describe(df, "cost", stats=["count", "mean"], name="adults", population="age >= 18")
    s.describe(df, "cost", stats=["count", "mean"], name="adult_non_smokers",
               population="age >= 18 and smoker == 0")  # fmt: skip
    result = s.check_differencing()
    smokers = (df.age >= 18) & (df.smoker == 1)
    assert 0 < smokers.sum() < 10
    group = "age >= 18 & not (age >= 18 and smoker == 0)"
    assert [(f.measure, f.group, f.records) for f in result.findings] == [
        ("records", group, smokers.sum()),
        # A mean published with its count publishes the sum: the smokers' total cost too.
        ("sum of cost", group, smokers.sum()),
    ]
    counts, sums = result.findings
    assert counts.outputs == ("adults_count", "adult_non_smokers_count")
    assert sums.outputs == ("adults_mean", "adult_non_smokers_mean")
    adults, others = df[df.age >= 18], df[(df.age >= 18) & (df.smoker == 0)]
    means = {"adults_mean": adults.cost.mean(), "adult_non_smokers_mean": others.cost.mean()}
    sizes = {"adults_mean": len(adults), "adult_non_smokers_mean": len(others)}
    total = sum(float(k) * means[o] * sizes[o] for o, _, k in sums.combination)
    assert total == pytest.approx(df.cost[smokers].sum())


def test_suppressed_region_by_sex_and_a_describe_count_by_region() -> None:
    df = small_region_sex()
    s = sdc.Session(suppress=True)
    s.crosstab(df.region, df.sex, name="region_sex")  # (E, F) and (W, M) hidden
    s.describe(df, "age", by="region", stats=["count", "mean"], name="age")
    result = s.check_differencing()
    assert groups_of(result) == [("region=E, sex=F (hidden in 'region_sex')", 3),
                                 ("region=W, sex=M (hidden in 'region_sex')", 3)]  # fmt: skip
    tables = {"region_sex": counts_by(df, ["region", "sex"]),
              "age_count": counts_by(df, ["region"])}  # fmt: skip
    for f in result.findings:
        assert combination_value(f, tables) == 3
    assert "suppress these cells as well" in result.suggestions[0]


def test_a_histograms_total_minus_the_region_counts() -> None:
    df = small_region_sex()
    df.loc[df.region == "E", "region"] = np.where(df.loc[df.region == "E", "sex"] == "F", "E", "S")
    s = sdc.Session(suppress=True)
    s.crosstab(df.region, name="regions")  # E (3 patients) hidden, no margins
    s.hist(df, "age", bins=[0, 40, 60, 100], name="ages")
    (finding,) = s.check_differencing().findings
    assert (finding.group, finding.records) == ("region=E (hidden in 'regions')", 3)
    # the published bins: the given edges strictly inside the data's range, open end bins
    cuts = [c for c in (0, 40, 60, 100) if df.age.min() < c < df.age.max()]
    ages = pd.cut(df.age, [-np.inf, *cuts, np.inf], right=False)
    inner = [f"[{a}, {b})" for a, b in itertools.pairwise(cuts)]
    names = [f"< {cuts[0]}", *inner, f">= {cuts[-1]}"]
    bins = {f"age={name}": int(n) for name, n in
            zip(names, ages.value_counts(sort=False), strict=True)}  # fmt: skip
    assert combination_value(finding, {"regions": counts_by(df, ["region"]),
                                       "ages": pd.Series(bins)}) == 3  # fmt: skip


def test_sums_of_a_small_group_are_as_disclosive_as_its_count() -> None:
    df = small_region_sex()
    df["cost"] = np.arange(len(df), dtype=float) * 3.5
    s = sdc.Session(suppress=True)
    s.pivot_table(df, index="region", columns="sex", values="cost", aggfunc="sum", name="rs")
    s.pivot_table(df, index="region", values="cost", aggfunc="sum", name="r")
    result = s.check_differencing()
    assert [(f.measure, f.group, f.records) for f in result.findings] == [
        ("sum of cost", "region=E, sex=F (hidden in 'rs')", 3),
        ("sum of cost", "region=W, sex=M (hidden in 'rs')", 3),
    ]
    sums = df.groupby(["region", "sex"]).cost.sum()
    by_region = df.groupby("region").cost.sum()
    tables = {
        "rs": pd.Series({f"region={r}, sex={x}": v for (r, x), v in sums.items()}),
        "r": pd.Series({f"region={r}": v for r, v in by_region.items()}),
    }
    for f in result.findings:
        total = sum(float(k) * float(tables[o][", ".join(f"{a}={b}" for a, b in c.items())])
                    for o, c, k in f.combination)  # fmt: skip
        cell = f.group.split(" (")[0]
        assert total == pytest.approx(float(tables["rs"][cell]))


def test_survival_steps_of_two_cohorts() -> None:
    df = cohort()
    rng = np.random.default_rng(4)
    df["days"] = rng.integers(1, 2000, len(df)).astype(float)
    df["died"] = (rng.random(len(df)) < 0.4).astype(int)
    s = sdc.Session()
    s.survival_table(df, "days", "died", name="everyone")
    s.survival_table(df, "days", "died", name="under_90", population="age <= 90")
    result = s.check_differencing()
    assert result.findings
    old = df[df.age > 90]
    released = {"everyone": s.outputs["everyone"].table, "under_90": s.outputs["under_90"].table}
    tables = {name: pd.Series({f"group=all, step={r.step}, count={what}": getattr(r, col)
                               for r in t.itertuples() for what, col in
                               (("at risk", "at_risk"), ("events", "events"),
                                ("censored", "censored"))})
              for name, t in released.items()}  # fmt: skip
    for f in result.findings:
        assert 0 < f.records < 10
        assert combination_value(f, tables) == f.records
    # The groups found outside the younger cohort are people over 90: each interval's
    # events or censored records among them (counted with pandas), or those still at risk
    # at a step (unions of the intervals: they overlap the others).
    outside = [f for f in result.findings if "not (age <= 90)" in f.group]
    assert outside and all(f.records <= len(old) for f in outside)
    pattern = re.compile(r"follow-up (?:\[(\d+), (\d+)\)|>= (\d+)) & event (yes|no) & not")
    atoms = [(pattern.search(f.group), f.records) for f in outside]
    assert any(m is not None for m, _ in atoms)
    for m, n in atoms:
        if m is None:
            continue
        low = float(m.group(1) or m.group(3))
        high = float(m.group(2)) if m.group(2) else np.inf
        died = int(m.group(4) == "yes")
        assert n == int(((old.days >= low) & (old.days < high) & (old.died == died)).sum())


def test_per_level_counts_of_a_regression() -> None:
    pytest.importorskip("statsmodels")
    df = cohort()
    s = sdc.Session()
    df["female"] = (df.sex == "F").astype(int)
    s.crosstab(df.region, name="regions")
    s.logit("female ~ C(region)", df, name="all_regions")  # same records: nothing new
    assert s.check_differencing().findings == ()
    s.remove_output("all_regions")
    s.ols("cost ~ C(region)", df, name="under_90", population="age <= 90")
    result = s.check_differencing()
    old = df[df.age > 90].groupby("region").size()
    expected = {f"region {r} & not (age <= 90)": n for r, n in old.items() if 0 < n < 10}
    assert len(expected) == 3  # E has 12 people over 90: not a small group
    assert {f.group: f.records for f in result.findings} == expected
    for f in result.findings:
        region = f.group.split(" ")[1]
        assert [(o, c, int(k)) for o, c, k in f.combination] == [
            ("regions", {"region": region}, 1),
            ("under_90", {"term": f"C(region)[T.{region}]"}, -1),
        ]


def test_protecting_the_tables_together_removes_the_finding() -> None:
    df = small_region_sex()
    s = sdc.Session(suppress=True)
    s.protect_linked(df, [{"index": "region", "columns": "sex", "name": "region_sex"},
                          {"index": "region", "name": "regions"}])  # fmt: skip
    assert s.check_differencing().status is sdc.Status.PASS


def test_leaving_an_output_out_removes_the_finding() -> None:
    df = small_region_sex()
    s = sdc.Session(suppress=True)
    s.crosstab(df.region, df.sex, name="region_sex")
    s.describe(df, "age", by="region", stats=["count"], name="age")
    assert s.check_differencing().status is sdc.Status.FAIL
    s.remove_output("age_count")
    assert s.check_differencing().status is sdc.Status.PASS


def test_the_suggested_cells_suppressed_together_leave_nothing_derivable() -> None:
    df = cohort()
    s = sdc.Session()
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", name="all")
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", name="under_90",
                  population="age <= 90")  # fmt: skip
    taking = [(n, s._records.rows[n], s._records.rows[n].cells(s.outputs[n])) for n in s.outputs]
    parts, atoms = place(taking)
    found = detect(parts, atoms.counts, 10)
    assert found.findings and found.hide
    for i, c in found.hide:
        parts[i].cells.published[c] = False
    again = detect(parts, atoms.counts, 10)
    assert again.findings == []


def test_rounded_outputs_give_intervals_not_values(tmp_path: Path) -> None:
    df = cohort()
    s = sdc.Session(rules="opensafely")
    s.pivot_table(df, index="region", aggfunc="count", name="all")
    s.pivot_table(df, index="region", aggfunc="count", name="under_90", population="age <= 90")
    assert s.check_differencing().findings == ()  # a difference of two roundings to 5
    fine = tmp_path / "fine.toml"
    fine.write_text('extends = "opensafely"\n[protection]\nround_to = 2\n', encoding="utf-8")
    s = sdc.Session(rules=RuleSet.load(fine))
    s.pivot_table(df, index="region", aggfunc="count", name="all")
    s.pivot_table(df, index="region", aggfunc="count", name="under_90", population="age <= 90")
    result = s.check_differencing()
    old = df[df.age > 90].groupby("region").size()
    assert result.findings
    for f in result.findings:
        low, high = f.interval
        region = f.group.split(" ")[1]
        assert low <= old[region] <= high and 1 <= low and high <= 7
        assert "pinned between" in f.message


def test_finalise_records_the_check_and_fails_the_outputs(tmp_path: Path) -> None:
    df = small_region_sex()
    s = sdc.Session(suppress=True)
    s.crosstab(df.region, df.sex, name="region_sex")
    s.describe(df, "age", by="region", stats=["count"], name="age")
    folder = s.finalise(tmp_path / "out")
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    assert report["status"] == "fail"
    assert report["differencing"] == s.check_differencing().to_report()
    status = {o["name"]: o["status"] for o in report["outputs"]}
    assert status == {"region_sex": "fail", "age_count": "fail"}
    assert s.outputs["region_sex"].status.value == "pass"  # alone, it is safe
    (entry,) = [o for o in report["outputs"] if o["name"] == "age_count"]
    added = [f for f in entry["findings"] if f["message"].startswith("differencing: ")]
    assert [(f["rule"], f["cell"], f["measured"]) for f in added] == [
        ("threshold", {"group": "region=E, sex=F (hidden in 'region_sex')"}, 3),
        ("threshold", {"group": "region=W, sex=M (hidden in 'region_sex')"}, 3),
    ]
    text = (folder / "report.txt").read_text(encoding="utf-8")
    assert "differencing -> FAIL" in text


def test_outputs_whose_records_cannot_be_identified_are_review() -> None:
    df = small_region_sex()
    s = sdc.Session()
    s.crosstab(df.region.to_numpy(), name="from_arrays")
    assert s.check_differencing().status is sdc.Status.PASS  # alone: nothing to combine
    s.crosstab(df.region, name="regions")
    result = s.check_differencing()
    assert result.status is sdc.Status.REVIEW
    assert "'from_arrays': its records have no labels of their own" in result.notes[0]
    twice = pd.concat([df, df])  # repeated labels
    s2 = sdc.Session()
    s2.crosstab(twice.region, name="a")
    s2.crosstab(df.region, name="b")
    assert s2.check_differencing().status is sdc.Status.REVIEW


def test_population_is_recorded_without_values() -> None:
    df = cohort()
    s = sdc.Session()
    out = s.pivot_table(df, index="region", aggfunc="count", name="t", population="age < 50")
    pop = out.definition["population"]
    assert pop["expression"] == "age < 50"
    assert pop["rows"] == int((df.age < 50).sum()) and pop["base"]["rows"] == len(df)
    assert pop["index"] != pop["base"]["index"]
    text = json.dumps(out.definition)
    for label in df.index[df.age < 50][:20]:
        assert f" {label}," not in text and f"[{label}," not in text
    with pytest.raises(SdcInputError, match="population"):
        s.pivot_table(df, index="region", aggfunc="count", population="age <")
    with pytest.raises(SdcInputError, match="no column 'agge'"):
        s.pivot_table(df, index="region", aggfunc="count", population="agge < 50")
    with pytest.raises(SdcInputError, match="selects none"):
        s.pivot_table(df, index="region", aggfunc="count", population="age > 1000")
    with pytest.raises(SdcInputError, match="intervals"):
        s.check_differencing(intervals="yes")  # type: ignore[arg-type]


def test_results_hold_no_row_level_data() -> None:
    df = cohort()
    s = sdc.Session()
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", name="all")
    s.pivot_table(df, index="region", columns="sex", aggfunc="count", name="under_90",
                  population="age <= 90")  # fmt: skip
    result = s.check_differencing()
    for value in vars(result).values():
        for item in value if isinstance(value, tuple) else [value]:
            assert not (isinstance(item, np.ndarray) and item.size >= len(df))
    text = json.dumps(result.to_report())
    assert len(text) < 20_000
    for cost in df.cost.head(30):
        assert repr(float(cost)) not in text
