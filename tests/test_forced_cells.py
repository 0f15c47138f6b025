"""Cells a checker sets by hand: hidden whatever the rules say, or published whatever happens.

sdcTable's documented GAUSS results on microdata1 (one primary set by hand; with (D, male)
forced publishable the pattern moves to C) are reproduced through the table API, and the
CLI and the rule set take the same options.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from gauss_reference import lp_interval

import sdc
from sdc.cli import main
from sdc.exceptions import SdcInputError
from sdc.ruleset import RuleSet

DATA = Path(__file__).parent / "data"


def _microdata1() -> sdc.TableOutput:
    """sdcTable's microdata1, region x gender counts; no cell fails the rules by itself."""
    df = pd.read_csv(DATA / "microdata1.csv")
    d = RuleSet.load("default").to_dict()
    d["threshold"] = {"t": 1}
    d["protection"]["cost"] = "frequency"
    return sdc.Session(rules=RuleSet.from_dict(d)).crosstab(df.region, df.gender, margins=True)


def _cells(p: sdc.ProtectedTable, kind: str) -> set[tuple[str, str]]:
    s = p.suppressed
    s = s[s.suppression == kind]
    return set(zip(s.region, s.gender, strict=True))


def test_a_cell_hidden_by_hand_is_protected_like_a_primary() -> None:
    t = _microdata1()
    p = t.protect(hide=[{"region": "A", "gender": "female"}], small_counts="width",
                  clean_up=False)  # fmt: skip
    assert _cells(p, "primary") == {("A", "female")}
    assert len(_cells(p, "secondary")) == 3  # the cheapest rectangle through (A, female)
    assert ("A", "male") in _cells(p, "secondary")
    assert p.status is sdc.Status.PASS
    tm = t.model
    pub = np.flatnonzero(tm.published_mask)
    j = [tuple(map(str, tm.labels(int(c)).values())) for c in pub].index(("A", "female"))
    lo, hi = lp_interval(tm.model_matrix(), t.values[pub], ~p.release.suppressed[pub], j)
    assert hi - lo > 0


def test_a_cell_published_by_hand_is_never_hidden() -> None:
    """sdcTable (GAUSS): with (D, male) forced publishable ('z'), the rectangle moves."""
    t = _microdata1()
    free = t.protect(hide=[{"region": "A", "gender": "female"}], small_counts="width")
    forced = t.protect(hide=[{"region": "A", "gender": "female"}], small_counts="width",
                       publish=[{"region": "D", "gender": "male"}])  # fmt: skip
    assert ("D", "male") not in _cells(forced, "secondary")
    assert forced.status is sdc.Status.PASS
    if ("D", "male") in _cells(free, "secondary"):
        assert _cells(forced, "secondary") != _cells(free, "secondary")


def test_cells_hidden_to_make_up_the_threshold_cannot_be_computed() -> None:
    """sdcTable's ``threshold`` hides more cells of a relation until its hidden cells hold 30
    records; a cell so hidden that the published cells determine (B,female = B - B,male)
    would hold nothing back. Every hidden cell keeps a positive width (an independent LP)."""
    t = _microdata1()
    p = t.protect(hide=[{"region": "A", "gender": "female"}], small_counts="width",
                  publish=[{"region": "D", "gender": "male"}], threshold=30)  # fmt: skip
    assert p.status is sdc.Status.PASS
    tm = t.model
    pub = np.flatnonzero(tm.published_mask)
    hidden = p.release.suppressed[pub]
    assert hidden.sum() > 4
    for j in np.flatnonzero(hidden):
        lo, hi = lp_interval(tm.model_matrix(), t.values[pub], ~hidden, int(j))
        assert hi - lo >= 1.0, (tm.labels(int(pub[j])), lo, hi)


def test_a_failing_cell_published_by_hand_fails_the_table() -> None:
    df = pd.DataFrame({"r": ["a"] * 12 + ["b"] * 3 + ["c"] * 15})
    t = sdc.Session().crosstab(df.r, pd.Series(["x"] * 30, name="k"), margins=True)
    p = t.protect(publish=[{"r": "b", "k": "x"}])
    assert p.status is sdc.Status.FAIL
    assert any("not suppressed" in r for r in p.reasons)


@pytest.mark.parametrize(
    ("hide", "publish", "match"),
    [
        ([{"region": "Z", "gender": "male"}], None, r"a label of 'region'.*got 'Z'"),
        ([{"place": "A"}], None, r"dimensions.*got 'place'"),
        ({"region": "A"}, None, "a list of cells"),
        ([{"region": "A"}], [{"region": "A"}], "disjoint"),
        (["A"], None, "dicts of labels"),
    ],
)
def test_cells_named_badly_are_refused(hide, publish, match) -> None:
    with pytest.raises(SdcInputError, match=match):
        _microdata1().protect(hide=hide, publish=publish)


def test_the_cli_and_the_rule_set_take_the_same_options(tmp_path: Path, capsys) -> None:
    data = tmp_path / "m.csv"
    pd.read_csv(DATA / "microdata1.csv").to_csv(data, index=False)
    rules = tmp_path / "rules.toml"
    rules.write_text('extends = "default"\n[threshold]\nt = 1\n[protection]\n'
                     'cost = "frequency"\nsmall_counts = "width"\nthreshold = 30\n')  # fmt: skip
    assert RuleSet.load(rules).protection.threshold == 30
    code = main(["protect", str(data), "--index", "region", "--columns", "gender", "--rules",
                 str(rules), "--hide-cell", "region=A,gender=female", "--publish-cell",
                 "region=D,gender=male", "--json"])  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    cells = {(c["labels"]["region"], c["labels"]["gender"]): c["suppression"]
             for c in report["outputs"][0]["cells"]}  # fmt: skip
    assert cells[("A", "female")] == "primary" and cells[("D", "male")] is None
    values = {(c["labels"]["region"], c["labels"]["gender"]): c["records"]
              for c in report["outputs"][0]["cells"]}  # fmt: skip
    row_a = [k for k in cells if k[0] == "A"]  # the relation A = A,male + A,female
    assert sum(values[k] for k in row_a if cells[k] is not None) >= 30
    code = main(["protect", str(data), "--index", "region", "--columns", "gender",
                 "--hide-cell", "region=Q", "--json"])  # fmt: skip
    assert code == 2 and "'Q'" in json.loads(capsys.readouterr().out)["error"]["message"]
