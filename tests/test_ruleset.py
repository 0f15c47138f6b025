"""Rule sets: presets, ``extends``, strict validation, round trips and monotonicity.

A rule set that is wrong must never be half-understood: every malformed file is a
``SdcRuleSetError`` naming the offending key. And rule parameters must order
outcomes sensibly: a stricter rule set never passes a cell a laxer one fails.
"""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sdc
from sdc import SdcInputError, SdcRuleSetError
from sdc.protection.params import ProtectionParams
from sdc.ruleset import STATISTICS, RuleSet, preset_names
from sdc.tables.check import check_evidence
from sdc.tables.evidence import TableEvidence, compute_evidence
from sdc.tables.model import TableModel

PRESETS = ["acro", "datashield", "default", "opensafely"]


def from_text(text: str, tmp_path: Path | None = None, name: str = "rules.toml") -> RuleSet:
    if tmp_path is None:
        return RuleSet.from_toml(text)
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return RuleSet.load(path)


# ---------------------------------------------------------------------------- presets


def test_preset_names() -> None:
    assert preset_names() == PRESETS


@pytest.mark.parametrize("name", PRESETS)
def test_each_preset_loads(name: str) -> None:
    rs = RuleSet.load(name)
    assert rs.name == name
    assert rs.description
    assert set(rs.statistics) == set(STATISTICS)
    assert rs.rules_for("count")[0] == "threshold"
    for stat in ("min", "max", "mode"):
        assert "statistic" in rs.rules_for(stat)
    assert RuleSet.load(rs) is rs


def test_preset_values() -> None:
    """The numbers each preset documents."""
    acro, default = RuleSet.load("acro"), RuleSet.load("default")
    opensafely, datashield = RuleSet.load("opensafely"), RuleSet.load("datashield")
    assert acro.to_dict()["threshold"] == {"t": 10}
    assert acro.to_dict()["nk-dominance"] == {"n": 2, "k": 0.9, "inclusive": True}
    assert acro.to_dict()["p-percent"] == {"p": 0.1}
    assert acro.to_dict()["zeros"] == {"outcome": "fail"}
    assert default.to_dict()["nk-dominance"] == {"n": 2, "k": 0.85, "inclusive": False}
    assert default.to_dict()["zeros"] == {"outcome": "review"}
    assert default.protection == ProtectionParams()
    assert opensafely.params["threshold"].t == 8
    assert opensafely.protection == ProtectionParams(
        apply=True, method="redact-round", redact_at_or_below=7, round_to=5
    )
    assert datashield.params["threshold"].t == 3
    assert datashield.rules_for("count") == ("threshold",)
    # datashield overrides one statistic; the others come from default.
    assert datashield.rules_for("mean") == default.rules_for("mean")


# ---------------------------------------------------------------------------- extends


def test_extends_with_a_single_override(tmp_path: Path) -> None:
    rs = from_text('extends = "acro"\n[threshold]\nt = 5\n', tmp_path, "five.toml")
    acro = RuleSet.load("acro")
    assert rs.params["threshold"].t == 5
    assert rs.name == "five"  # the parent's name and description are not inherited
    assert rs.description == ""
    assert {k: v for k, v in rs.params.items() if k != "threshold"} == {
        k: v for k, v in acro.params.items() if k != "threshold"
    }
    assert rs.statistics == acro.statistics
    assert rs.protection == acro.protection


def test_override_of_one_key_keeps_the_rest_of_its_section() -> None:
    rs = RuleSet.from_toml('extends = "acro"\n[nk-dominance]\nk = 0.8\n')
    assert rs.to_dict()["nk-dominance"] == {"n": 2, "k": 0.8, "inclusive": True}
    rs = RuleSet.from_toml('extends = "default"\n[statistics]\nmean = ["threshold"]\n')
    assert rs.rules_for("mean") == ("threshold",)
    assert rs.rules_for("sum") == RuleSet.load("default").rules_for("sum")


def test_extends_chain_and_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sub = tmp_path / "rules"
    sub.mkdir()
    (sub / "base.toml").write_text(
        'extends = "opensafely"\nname = "base"\n[threshold]\nt = 12\n', encoding="utf-8"
    )
    (sub / "site.toml").write_text(
        'extends = "base.toml"\nname = "site"\n[protection]\nround_to = 10\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)  # the relative parent resolves beside the child, not here
    rs = RuleSet.load(sub / "site.toml")
    assert rs.name == "site"
    assert rs.params["threshold"].t == 12
    assert rs.protection == ProtectionParams(
        apply=True, method="redact-round", redact_at_or_below=7, round_to=10
    )


def test_a_full_file_without_extends(tmp_path: Path) -> None:
    text = RuleSet.load("datashield").to_toml()
    rs = from_text(text, tmp_path)
    assert rs.to_dict() == RuleSet.load("datashield").to_dict()


# ---------------------------------------------------------------------------- errors

E = 'extends = "default"\n'

BAD_RULE_SETS = [
    # unknown sections and keys
    (E + "[thresholds]\nt = 5\n", "thresholds"),
    (E + "colour = 1\n", "colour"),
    (E + "[threshold]\nlimit = 5\n", "limit"),
    (E + "[protection]\nrounding = 5\n", "rounding"),
    (E + "[statistics]\ncounts = []\n", "counts"),
    # wrong types
    (E + '[threshold]\nt = "10"\n', "t"),
    (E + "[threshold]\nt = 10.5\n", "t"),
    (E + "[threshold]\nt = true\n", "t"),
    (E + '[nk-dominance]\nk = "0.9"\n', "k"),
    (E + "[nk-dominance]\ninclusive = 1\n", "inclusive"),
    (E + "[p-percent]\np = false\n", "p"),
    (E + '[statistics]\ncount = "threshold"\n', "count"),
    (E + "[statistics]\ncount = [1, 2]\n", "count"),
    (E + 'statistics = "all"\n', "statistics"),
    (E + "threshold = 10\n", "threshold"),
    (E + '[statistic]\nrefused = "min"\n', "refused"),
    (E + "name = 5\n", "name"),
    (E + "description = [1]\n", "description"),
    (E + "[protection]\napply = 1\n", "apply"),
    # impossible values
    (E + "[threshold]\nt = -1\n", "t"),
    (E + "[threshold]\nt = 0\n", "t"),
    (E + "[dof]\nt = 0\n", "t"),
    (E + "[nk-dominance]\nk = 0\n", "k"),
    (E + "[nk-dominance]\nk = -0.5\n", "k"),
    (E + "[nk-dominance]\nk = 1.01\n", "k"),
    (E + "[nk-dominance]\nk = inf\n", "k"),
    (E + "[nk-dominance]\nn = 0\n", "n"),
    (E + "[p-percent]\np = 0\n", "p"),
    (E + "[p-percent]\np = -0.1\n", "p"),
    (E + "[p-percent]\np = -inf\n", "p"),
    (E + "[pq]\nq = 0.0\n", "q"),
    (E + '[zeros]\noutcome = "pass"\n', "outcome"),
    (E + '[missing]\noutcome = "ignore"\n', "outcome"),
    (E + '[protection]\nmethod = "round"\n', "method"),
    (E + "[protection]\nround_to = 0\n", "round_to"),
    (E + "[protection]\nredact_at_or_below = -1\n", "redact_at_or_below"),
    # unknown rule ids, missing statistics
    (E + '[statistics]\ncount = ["threshold", "treshold"]\n', "treshold"),
    (E + '[statistics]\nmean = ["k-anonymity"]\n', "k-anonymity"),
    ('name = "bare"\n[threshold]\nt = 5\n', "count"),
    # extends
    ("extends = 5\n", "extends"),
    ('extends = "no-such-preset"\n', "no-such-preset"),
    # unreadable TOML
    ("[threshold\nt = 5\n", "TOML"),
    (E + "[threshold]\nt = 5\nt = 6\n", "TOML"),
    ("t = \n", "TOML"),
]


@pytest.mark.parametrize(("text", "named"), BAD_RULE_SETS)
def test_invalid_rule_sets_are_errors_naming_the_key(tmp_path: Path, text: str, named: str) -> None:
    for how in (None, tmp_path):  # from a string and from a file
        with pytest.raises(SdcRuleSetError) as info:
            from_text(text, how)
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, SdcInputError)
        assert named in str(info.value)
        assert "\n" not in str(info.value).strip()


@pytest.mark.parametrize(
    "text",
    [
        E + "[nk-dominance]\nk = nan\n",
        E + "[p-percent]\np = nan\n",
        E + "[pq]\nq = nan\n",
    ],
)
def test_nan_parameters_are_rejected(text: str) -> None:
    with pytest.raises(SdcRuleSetError):
        RuleSet.from_toml(text)


def test_nan_parameters_cannot_switch_dominance_off() -> None:
    """NaN compares false with everything, so a NaN k or p would let a dominated cell pass:
    the rule file is refused, naming the setting, and the cell still fails under the preset."""
    df = pd.DataFrame({"g": ["a"] * 12, "v": [1000.0] + [1.0] * 11})
    normal = sdc.Session().pivot_table(df, index="g", values="v", aggfunc="sum")
    assert normal.status is sdc.Status.FAIL
    assert {"nk-dominance", "p-percent"} <= set(normal.findings.rule)
    with pytest.raises(SdcRuleSetError, match=r"\[nk-dominance\] k"):
        RuleSet.from_toml(E + "[nk-dominance]\nk = nan\n")
    with pytest.raises(SdcRuleSetError, match=r"\[p-percent\] p"):
        RuleSet.from_toml(E + "[p-percent]\np = nan\n")


def test_refused_statistics_must_be_known() -> None:
    with pytest.raises(SdcRuleSetError, match="maxx"):
        RuleSet.from_toml(E + '[statistic]\nrefused = ["min", "maxx", "mode"]\n')


def test_extends_cycles(tmp_path: Path) -> None:
    (tmp_path / "self.toml").write_text('extends = "self.toml"\n', encoding="utf-8")
    (tmp_path / "a.toml").write_text('extends = "b.toml"\n', encoding="utf-8")
    (tmp_path / "b.toml").write_text('extends = "c.toml"\n', encoding="utf-8")
    (tmp_path / "c.toml").write_text(f'extends = "{tmp_path / "a.toml"}"\n', encoding="utf-8")
    for name in ("self.toml", "a.toml", "b.toml"):
        with pytest.raises(SdcRuleSetError, match="cycle"):
            RuleSet.load(tmp_path / name)


def test_diamond_extends_is_not_a_cycle(tmp_path: Path) -> None:
    (tmp_path / "left.toml").write_text('extends = "default"\n[threshold]\nt = 4\n', "utf-8")
    (tmp_path / "top.toml").write_text(
        'extends = "left.toml"\n[nk-dominance]\nk = 0.7\n', encoding="utf-8"
    )
    rs = RuleSet.load(tmp_path / "top.toml")
    assert (rs.params["threshold"].t, rs.params["nk-dominance"].k) == (4, 0.7)


def test_unreadable_files(tmp_path: Path) -> None:
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage\x80\x81")
    with pytest.raises(SdcRuleSetError, match=r"binary\.toml"):
        RuleSet.load(binary)
    with pytest.raises(SdcRuleSetError, match="neither a preset"):
        RuleSet.load(tmp_path)  # a folder
    with pytest.raises(SdcRuleSetError, match="neither a preset"):
        RuleSet.load(tmp_path / "absent.toml")
    (tmp_path / "child.toml").write_text('extends = "absent.toml"\n', encoding="utf-8")
    with pytest.raises(SdcRuleSetError, match=r"absent\.toml"):
        RuleSet.load(tmp_path / "child.toml")


def test_session_and_cli_refuse_a_bad_rule_set(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(E + "[threshold]\nt = -3\n", encoding="utf-8")
    with pytest.raises(SdcRuleSetError, match=r"\[threshold\] t"):
        sdc.Session(rules=bad)
    with pytest.raises(SdcRuleSetError):
        sdc.Session(rules="no-such-preset")


def test_from_dict_rejects_bad_dicts() -> None:
    good = RuleSet.load("default").to_dict()
    for broken, named in [
        ({**good, "extra": {}}, "extra"),
        ({**good, "threshold": {"t": -1}}, "t"),
        ({**good, "threshold": []}, "threshold"),
        ({**good, "statistics": {**good["statistics"], "mean": ("threshold",)}}, "mean"),
        ({k: v for k, v in good.items() if k != "statistics"}, "statistics"),
    ]:
        with pytest.raises(SdcRuleSetError, match=named):
            RuleSet.from_dict(broken)


# ---------------------------------------------------------------------------- round trips


def _same(a: RuleSet, b: RuleSet) -> None:
    assert a.to_dict() == b.to_dict()
    assert (a.name, a.description) == (b.name, b.description)
    assert dict(a.params) == dict(b.params)
    assert dict(a.statistics) == dict(b.statistics)
    assert a.protection == b.protection


@pytest.mark.parametrize("name", PRESETS)
def test_dict_round_trip(name: str) -> None:
    rs = RuleSet.load(name)
    _same(RuleSet.from_dict(rs.to_dict()), rs)


@pytest.mark.parametrize("name", PRESETS)
def test_toml_round_trip(name: str, tmp_path: Path) -> None:
    rs = RuleSet.load(name)
    text = rs.to_toml()
    assert tomllib.loads(text) == rs.to_dict()
    _same(RuleSet.from_toml(text), rs)
    _same(from_text(text, tmp_path, "copy.toml"), rs)
    assert from_text(text, tmp_path, "copy.toml").to_toml() == text


@given(
    name=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20),
    description=st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40),
)
def test_toml_round_trip_of_printable_text(name: str, description: str) -> None:
    d = RuleSet.load("default").to_dict()
    rs = RuleSet.from_dict({**d, "name": name, "description": description})
    back = RuleSet.from_toml(rs.to_toml())
    assert (back.name, back.description) == (name, description)


def test_toml_round_trip_of_a_multiline_description() -> None:
    d = RuleSet.load("default").to_dict()
    rs = RuleSet.from_dict({**d, "description": "line one\nline two"})
    assert RuleSet.from_toml(rs.to_toml()).description == "line one\nline two"


# ---------------------------------------------------------------------------- monotonicity


@functools.cache
def with_param(section: str, key: str, value: Any) -> RuleSet:
    d = RuleSet.load("default").to_dict()
    d[section] = {**d[section], key: value}
    return RuleSet.from_dict(d)


def _evidence(groups: list[tuple[int, int]], values: list[float] | None, people: list[int]):
    codes = np.asarray(groups, dtype=np.int64).reshape(-1, 2)
    model = TableModel(("a", "b"), (("a0", "a1", "a2"), ("b0", "b1")), n_rows=1, margins=True)
    vals = None if values is None else np.asarray(values, dtype=np.float64)
    return compute_evidence(codes, model, vals, np.asarray(people, dtype=np.int64), top_k=10)


def _fails(ev: TableEvidence, statistic: str, rs: RuleSet, rule: str) -> np.ndarray:
    check = check_evidence(ev, statistic, rs)
    (result,) = [r for r in check.results if r.rule == rule]
    assert not check.errors
    return result.fail & ev.model.published_mask


def _subset(a: np.ndarray, b: np.ndarray) -> bool:
    return not (a & ~b).any()


cells = st.tuples(st.integers(0, 2), st.integers(0, 1))


@st.composite
def count_tables(draw: st.DrawFn) -> TableEvidence:
    n = draw(st.integers(1, 40))
    groups = draw(st.lists(cells, min_size=n, max_size=n))
    people = draw(st.lists(st.integers(0, 15), min_size=n, max_size=n))
    _, people = np.unique(people, return_inverse=True)
    return _evidence(groups, None, people.tolist())


@st.composite
def magnitude_tables(draw: st.DrawFn) -> TableEvidence:
    n = draw(st.integers(1, 40))
    groups = draw(st.lists(cells, min_size=n, max_size=n))
    amount = st.one_of(
        st.integers(0, 10).map(float),
        st.floats(0, 1e4, allow_nan=False),
        st.floats(-50, 0, allow_nan=False),
        st.just(123456.789),
    )
    values = draw(st.lists(amount, min_size=n, max_size=n))
    people = draw(st.lists(st.integers(0, 12), min_size=n, max_size=n))
    _, people = np.unique(people, return_inverse=True)
    return _evidence(groups, values, people.tolist())


@given(ev=count_tables(), t=st.lists(st.integers(1, 30), min_size=2, max_size=2))
def test_a_higher_threshold_never_passes_more(ev: TableEvidence, t: list[int]) -> None:
    t1, t2 = sorted(t)
    lax = _fails(ev, "count", with_param("threshold", "t", t1), "threshold")
    strict = _fails(ev, "count", with_param("threshold", "t", t2), "threshold")
    assert _subset(lax, strict)
    # and the verdicts follow: the stricter rule set fails at least the same cells
    c1 = check_evidence(ev, "count", with_param("threshold", "t", t1))
    c2 = check_evidence(ev, "count", with_param("threshold", "t", t2))
    assert _subset(c1.fail, c2.fail)
    assert c2.status.severity >= c1.status.severity


ratios = st.floats(0.001, 1.0, allow_nan=False)


@given(ev=magnitude_tables(), p=st.lists(ratios, min_size=2, max_size=2))
def test_a_larger_p_never_passes_more(ev: TableEvidence, p: list[float]) -> None:
    p1, p2 = sorted(p)
    lax = _fails(ev, "sum", with_param("p-percent", "p", p1), "p-percent")
    strict = _fails(ev, "sum", with_param("p-percent", "p", p2), "p-percent")
    assert _subset(lax, strict)


@given(ev=magnitude_tables(), k=st.lists(ratios, min_size=2, max_size=2), inclusive=st.booleans())
def test_a_smaller_k_never_passes_more(ev: TableEvidence, k: list[float], inclusive: bool) -> None:
    k2, k1 = sorted(k)  # k1 >= k2: k2 is the stricter
    d = RuleSet.load("default").to_dict()

    def rs(kk: float, inc: bool) -> RuleSet:
        return RuleSet.from_dict({**d, "nk-dominance": {"n": 2, "k": kk, "inclusive": inc}})

    lax = _fails(ev, "mean", rs(k1, inclusive), "nk-dominance")
    strict = _fails(ev, "mean", rs(k2, inclusive), "nk-dominance")
    assert _subset(lax, strict)
    # inclusive (>=) is the stricter comparison at the same k
    assert _subset(_fails(ev, "mean", rs(k1, False), "nk-dominance"),
                   _fails(ev, "mean", rs(k1, True), "nk-dominance"))  # fmt: skip


@given(ev=magnitude_tables(), n=st.lists(st.integers(1, 10), min_size=2, max_size=2))
def test_more_dominant_contributors_never_pass_more(ev: TableEvidence, n: list[int]) -> None:
    n1, n2 = sorted(n)
    lax = _fails(ev, "sum", with_param("nk-dominance", "n", n1), "nk-dominance")
    strict = _fails(ev, "sum", with_param("nk-dominance", "n", n2), "nk-dominance")
    assert _subset(lax, strict)


@given(
    people=st.lists(st.integers(0, 6), min_size=1, max_size=30),
    t=st.lists(st.integers(1, 12), min_size=2, max_size=2),
)
def test_stricter_threshold_through_a_session(people: list[int], t: list[int]) -> None:
    """The same property end to end: TOML text, Session, pivot_table."""
    t1, t2 = sorted(t)
    df = pd.DataFrame({"g": ["x" if p % 2 else "y" for p in people],
                       "who": [f"id{p}" for p in people]})  # fmt: skip
    out = []
    for tt in (t1, t2):
        rs = RuleSet.from_toml(f'extends = "default"\n[threshold]\nt = {tt}\n')
        table = sdc.Session(rules=rs).pivot_table(df, index="g", aggfunc="count",
                                                  contributor="who")  # fmt: skip
        out.append(table.check.fail)
    assert _subset(out[0], out[1])
