"""A basis of the numbers released before, kept between checks (sdc.differencing.basis).

A check that leaves out the earlier numbers a kept basis does not name must find
exactly what the full check finds; a kept basis that does not read as one, or
one kept for other earlier numbers, is never used.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from differencing_cases import cohort
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_differencing_gate import _release, _written
from test_differencing_properties import _cells, outputs

import sdc
from sdc.differencing.atoms import partition
from sdc.differencing.basis import decode, encode, keep_basis, prefix_keys, read_basis
from sdc.differencing.cells import Participant
from sdc.differencing.detect import detect
from sdc.exceptions import SdcRegistryError
from sdc.release.gate import check_folder
from sdc.release.registry import open_registry


class Store:
    """An in-memory basis store that records what was read and kept."""

    def __init__(self) -> None:
        self.kept: dict[str, str] = {}
        self.hits = 0

    def span_bases(self, keys: Any) -> dict[str, str]:
        found = {k: self.kept[k] for k in keys if k in self.kept}
        self.hits += bool(found)
        return found

    def keep_span_basis(self, key: str, rows: str) -> None:
        self.kept[key] = rows


def _what(found: Any) -> tuple[set, int]:
    return {(f.atoms, f.records) for f in found.findings}, len(found.notes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(outputs(), st.integers(2, 9))
def test_a_kept_basis_finds_what_the_full_check_finds(made, t: int) -> None:
    sizes, codes, cells = made
    atoms = partition(codes)
    last = len(codes) - 1
    parts = [Participant(_cells(o, sizes[o], cells[o]), atoms.leaf[o], o < last, f"o{o}@d")
             for o in range(len(codes))]  # fmt: skip
    full = detect(parts, atoms.counts, t, suggest=False)
    store = Store()
    first = detect(parts, atoms.counts, t, suggest=False, basis=store)
    second = detect(parts, atoms.counts, t, suggest=False, basis=store)
    assert _what(first) == _what(full) == _what(second)
    if not store.kept:
        return  # no candidate group: nothing was eliminated
    (kept,) = [decode(v, 10**6) for v in store.kept.values()]
    # the basis kept is as large as the rank of the earlier numbers (numpy's)
    earlier = [[1.0 if atoms.leaf[o, a] in cell else 0.0 for a in range(atoms.n_atoms)]
               for o in range(last) for cell in cells[o]]  # fmt: skip
    assert len(kept) == np.linalg.matrix_rank(np.array(earlier))
    assert store.hits == 1
    left_out = second.info.get("records: earlier rows left out", 0)
    assert full.info["records: rows"] - second.info["records: rows"] == left_out
    assert full.info["records: rank"] == second.info["records: rank"]


class Refusing(Store):
    """A registry that can be read but not written (a read-only role or file)."""

    def keep_span_basis(self, key: str, rows: Any) -> None:
        raise SdcRegistryError("registry test: permission denied for table span_bases")


def test_a_store_that_refuses_is_no_error() -> None:
    assert keep_basis(Refusing(), "k", np.array([0, 1])) is False
    assert keep_basis(None, "k", np.array([0])) is False


def test_a_stored_basis_that_does_not_read_as_one_is_ignored() -> None:
    import base64
    import zlib

    def raw(gaps: list[int]) -> str:
        packed = np.array(gaps, dtype="<u4").tobytes()
        return base64.b64encode(zlib.compress(packed)).decode()

    bad = ["", "not base64!", base64.b64encode(b"not deflated").decode(),
           base64.b64encode(zlib.compress(b"abc")).decode(),  # not whole uint32s
           raw([1, 0]),  # a position twice
           encode(np.array([0, 7]))]  # past the 7 numbers there are  # fmt: skip
    store = Store()
    for text in bad:
        store.kept["k"] = text
        assert read_basis(store, ["k"], [7]) is None, text
    store.kept["k"] = encode(np.array([], dtype=np.int64))
    assert read_basis(store, ["k"], [7])[1].tolist() == []  # earlier numbers all empty


def test_the_longest_prefix_kept_is_read() -> None:
    store = Store()
    store.kept["a"] = encode(np.array([1]))
    store.kept["c"] = encode(np.array([0, 4]))
    assert read_basis(store, ["a", "b", "c"], [2, 3, 5])[0] == 3
    store.kept["c"] = "broken"
    groups, kept = read_basis(store, ["a", "b", "c"], [2, 3, 5])
    assert (groups, kept.tolist()) == (1, [1])


def test_the_key_names_every_earlier_number() -> None:
    base = [["r1/t@aa#0", "r1/t@aa#1"], ["r2/u@bb#0"]]
    keys = prefix_keys("records", base)
    assert keys[0] == prefix_keys("records", base[:1])[0]  # a prefix's key is its own
    assert keys[1] != prefix_keys("records", [base[0], ["r2/u@cc#0"]])[1]  # another definition
    assert keys[1] != prefix_keys("records", [["r1/t@aa#0"], ["r1/t@aa#1", "r2/u@bb#0"]])[1]


def test_the_gate_keeps_a_basis_in_the_registry_and_uses_it(tmp_path: Path,
                                                            monkeypatch: Any) -> None:  # fmt: skip
    """Three releases whose numbers depend on each other, then two checks of one request:
    the first keeps the basis, the second leaves the dependent numbers out and finds the
    same; a basis kept under the key but broken is ignored."""
    df, path = _written(cohort(), tmp_path / "data")
    url = f"sqlite:///{tmp_path}/registry.db"
    with open_registry(url) as registry:
        for i, (index, columns) in enumerate((("region", "sex"), ("region", None),
                                              ("sex", None))):  # fmt: skip
            s = sdc.Session(suppress=True)
            s.pivot_table(df, index=index, columns=columns, aggfunc="count", margins=True,
                          name="t")  # fmt: skip
            _release(registry, s.finalise(tmp_path / f"r{i}"), f"req-{i}")
    today = sdc.Session(suppress=True)
    today.pivot_table(df, index="region", columns="sex", aggfunc="count", name="visits",
                      population="age <= 90")  # fmt: skip
    folder = today.finalise(tmp_path / "new")

    def check() -> tuple[dict[str, Any], list[tuple[str, str]]]:
        with open_registry(url, create=False) as registry:
            report = check_folder(folder, trust_unsigned=True, data=path, registry=registry)
            kept = registry._q("SELECT key, rows FROM span_bases").fetchall()
        return report["differencing"], kept

    first, kept = check()
    assert first["status"] == "fail" and len(kept) == 1
    # 15 distinct earlier numbers (region x sex with margins; the other two tables are its
    # margins again), of which the 4 x 2 inner cells are a basis
    assert decode(kept[0][1], 15).size == 4 * 2
    second, again = check()
    assert again == kept and second == first
    with open_registry(url, create=False) as registry:
        registry._q("UPDATE span_bases SET rows = 'AAAA'")  # not a basis: not read
    third, _ = check()
    assert third == first
    # A basis that reads as one but leaves out a number it does not give (changed behind
    # the registry's back): the spot checks catch it, the check says so and uses every
    # earlier number, and the right basis is kept again.
    with open_registry(url, create=False) as registry:
        registry._q("UPDATE span_bases SET rows = ?", (encode(np.arange(7)),))
    fourth, again = check()
    assert again == kept
    assert fourth["findings"] == first["findings"]
    (note,) = [n for n in fourth["notes"] if "basis of earlier releases" in n]
    assert "did not give every earlier number" in note
    # One more release: the next check starts from the basis of the three before it (the
    # longest prefix kept), eliminates only the new numbers, and keeps the basis of all
    # four; it finds what a check without any kept basis finds.
    with open_registry(url) as registry:
        s = sdc.Session(suppress=True)
        s.pivot_table(df, index="practice", aggfunc="count", margins=True, name="t")
        _release(registry, s.finalise(tmp_path / "r3"), "req-3")
    import sdc.differencing.detect as detect_module

    read: list[Any] = []
    monkeypatch.setattr(detect_module, "read_basis",
                        lambda *a: read.append(read_basis(*a)) or read[-1])  # fmt: skip
    fifth, kept_now = check()
    assert len(kept_now) == 2 and kept[0] in kept_now
    ((groups, positions),) = read
    # the numbers of the releases before (all req-0's: the other two publish its margins
    # again), and their basis
    assert groups == 1 and positions.size == 4 * 2
    with open_registry(url, create=False) as registry:
        registry._q("DELETE FROM span_bases")
    fresh, _ = check()
    assert fifth == fresh and fifth["released_before"] == [f"req-{i}/t" for i in range(4)]
