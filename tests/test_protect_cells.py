"""What protect_cells chooses: the cost of a secondary suppression, and cells it need not hide."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import sdc
from sdc.cli import main
from sdc.exceptions import SdcInputError, SdcRuleSetError
from sdc.ruleset import RuleSet


def _records() -> pd.DataFrame:
    """Rows a, b x columns x, y, z: column y has many small records, z few large ones."""
    cells = {  # (row, column): (records, value of each)
        ("a", "x"): (1, 5.0), ("b", "x"): (5, 10.0),
        ("a", "y"): (10, 1.0), ("b", "y"): (10, 1.0),
        ("a", "z"): (3, 100.0), ("b", "z"): (3, 100.0),
    }  # fmt: skip
    rows = [(r, c, v) for (r, c), (n, v) in cells.items() for _ in range(n)]
    return pd.DataFrame(rows, columns=["row", "col", "v"])


def _protect(cost: str | None) -> sdc.ProtectedTable:
    d = RuleSet.load("default").to_dict()
    d["threshold"] = {"t": 3}
    # every record of a cell has the same value here: that is all-same's concern, not this test's
    d["statistics"]["sum"] = [r for r in d["statistics"]["sum"] if r != "all-same"]
    s = sdc.Session(rules=RuleSet.from_dict(d))
    t = s.pivot_table(_records(), values="v", index="row", columns="col", aggfunc="sum",
                      margins=True)  # fmt: skip
    return t.protect(cost=cost, singletons=False)


def _secondaries(p: sdc.ProtectedTable) -> set[tuple[str, str]]:
    s = p.suppressed[p.suppressed.suppression == "secondary"]
    return set(zip(s.row, s.col, strict=True))


def test_value_cost_hides_the_small_values_and_frequency_cost_the_few_records() -> None:
    by_value = _protect("value")
    assert _secondaries(by_value) == {("b", "x"), ("a", "y"), ("b", "y")}
    assert _secondaries(_protect(None)) == _secondaries(by_value)  # the default
    by_frequency = _protect("frequency")
    assert _secondaries(by_frequency) == {("b", "x"), ("a", "z"), ("b", "z")}
    for p in (by_value, by_frequency, _protect("unity")):
        assert p.status is sdc.Status.PASS and p.audit.ok.all()
        assert len(_secondaries(p)) == 3  # the smallest rectangle through (a, x)


def test_an_unknown_cost_is_refused_everywhere(tmp_path, capsys) -> None:
    with pytest.raises(SdcInputError, match="cost"):
        _protect("cheapest")
    with pytest.raises(SdcInputError, match="cost"):
        sdc.Session().protect_linked(_records(), [{"index": "row", "columns": "col"}],
                                     cost="cheapest")  # fmt: skip
    d = RuleSet.load("default").to_dict()
    d["protection"]["cost"] = "cheapest"
    with pytest.raises(SdcRuleSetError, match="cost"):
        RuleSet.from_dict(d)
    data = tmp_path / "d.csv"
    _records().to_csv(data, index=False)
    out = tmp_path / "out"
    code = main(["protect", str(data), "--index", "row", "--columns", "col", "--cost",
                 "cheapest", "--out", str(out)])  # fmt: skip
    assert code == 2 and "--cost" in capsys.readouterr().err and not out.exists()  # usage
    assert main(["protect", str(data), "--index", "row", "--columns", "col", "--cost",
                 "frequency", "--out", str(out)]) == 0  # fmt: skip
    assert out.exists()


def test_cost_is_recorded_with_the_rule_set() -> None:
    d = RuleSet.load("default").to_dict()
    assert d["protection"]["cost"] == "value"
    d["protection"]["cost"] = "frequency"
    assert RuleSet.from_dict(d).protection.cost == "frequency"


def test_hidden_cells_the_published_ones_determine_are_published() -> None:
    """A hidden total whose inner cells are all published protects nothing: it is published.
    A primary stays hidden (and fails) even when it is determined."""
    from sdc.protection.audit import audit
    from sdc.protection.cells import publish_determined
    from sdc.tables.model import TableModel

    tm = TableModel(("r", "c"), (("a", "b"), ("x", "y", "z")), n_rows=1)
    x = tm.model_matrix()  # cube order: (a,x) (a,y) (a,z) (a,All) (b,x) ... (All,All)
    z = np.asarray(x.T @ np.array([1.0, 8, 9, 7, 6, 5])).ravel()
    primary = np.zeros(z.size, dtype=bool)
    primary[0] = True  # (a, x)
    hidden = primary.copy()
    hidden[[1, 4, 5, 11]] = True  # the rectangle through (a, x), and (All, All)
    a = audit(x, z, hidden, np.zeros(z.size))
    assert not a.ok[11]  # the grand total is the sum of the published column totals
    published, after = publish_determined(hidden, a, primary, z)
    np.testing.assert_array_equal(published, hidden & (np.arange(z.size) != 11))
    assert after.passed and np.isnan(after.lower[11])
    lone = primary.copy()  # the primary alone: determined, so it fails and stays hidden
    b = audit(x, z, lone, np.zeros(z.size))
    still, b2 = publish_determined(lone, b, primary, z)
    np.testing.assert_array_equal(still, lone)
    assert not b2.passed


@pytest.mark.parametrize(
    ("option", "value", "match"),
    [("audit_rounds", -1, r"\[0, 1000\]"), ("audit_rounds", True, "integer"),
     ("singletons", "yes", "a bool"), ("secondary_zeros", 1, "a bool")],
)  # fmt: skip
def test_protection_options_are_checked_alike_for_tables_and_linked_tables(
    option: str, value: object, match: str
) -> None:
    t = sdc.Session().pivot_table(_records(), index="row", columns="col", aggfunc="count",
                                  margins=True)  # fmt: skip
    with pytest.raises(SdcInputError, match=match):
        t.protect(**{option: value})
    with pytest.raises(SdcInputError, match=match):
        sdc.Session().protect_linked(_records(), [{"index": "row", "columns": "col"}],
                                     **{option: value})  # fmt: skip
