"""What the researcher last chose is what finalise writes; finalise warns of what fails."""

from __future__ import annotations

import io
import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import sdc
from sdc.exceptions import SdcReleaseWarning
from sdc.release.gate import check_folder
from sdc.verdict import Status


def frame(seed: int, n: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "region": rng.choice(["N", "S", "E", "W", "Isles"], n, p=[0.3, 0.3, 0.2, 0.18, 0.02]),
        "sex": rng.choice(["F", "M"], n),
    })  # fmt: skip


def finalise_quietly(s: sdc.Session, folder: Path) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SdcReleaseWarning)
        return s.finalise(folder)


def written_counts(folder: Path, name: str, dims: list[str]) -> pd.Series:
    text = (folder / f"{name}.csv").read_text(encoding="utf-8")
    df = pd.read_csv(io.StringIO(text), dtype={d: str for d in dims}, keep_default_na=False,
                     na_values={"count": [""]})  # fmt: skip
    return df.set_index(dims)["count"]


def shown_counts(table: pd.DataFrame) -> pd.Series:
    """``protect().table`` in the written layout: one row per cell (masked cells missing)."""
    if table.shape[1] == 1:
        return table.iloc[:, 0].astype("Float64")
    long = table.stack(future_stack=True)
    return long.astype("Float64")


def as_dict(counts: pd.Series) -> dict[tuple[str, ...], float | None]:
    """Cell labels (as text) to value, None where masked."""
    out = {}
    for key, value in counts.items():
        labels = tuple(str(k) for k in (key if isinstance(key, tuple) else (key,)))
        out[labels] = None if pd.isna(value) else float(value)
    return out


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow,
          HealthCheck.function_scoped_fixture])  # fmt: skip
@given(seed=st.integers(0, 10_000), n=st.integers(30, 400), margins=st.booleans(),
       two_way=st.booleans(), cost=st.sampled_from([None, "unity", "frequency"]))  # fmt: skip
def test_finalise_after_protect_writes_what_protect_showed(
    tmp_path_factory, seed, n, margins, two_way, cost
):
    df = frame(seed, n)
    s = sdc.Session()  # suppress is off: the raw table would be written
    t = s.pivot_table(df, index="region", columns="sex" if two_way else None,
                      aggfunc="count", margins=margins, name="t")  # fmt: skip
    shown = t.protect(cost=cost)
    folder = finalise_quietly(s, tmp_path_factory.mktemp("req") / "out")
    dims = ["region", "sex"] if two_way else ["region"]
    assert as_dict(written_counts(folder, "t", dims)) == as_dict(shown_counts(shown.table))
    manifest = json.loads((folder / "manifest.json").read_text())
    (entry,) = manifest["outputs"]
    assert entry["protected"] is True and entry["status"] == shown.status.value
    assert entry["definition"]["protection"]["options"]["cost"] == (cost or "value")


def test_the_table_protect_showed_passes_at_the_gate(tmp_path: Path):
    df = frame(1, 300)
    s = sdc.Session()
    t = s.pivot_table(df, index="region", aggfunc="count", name="t")
    assert t.status is Status.FAIL
    assert t.protect().status is Status.PASS
    assert s.outputs["t"].status is Status.PASS
    folder = finalise_quietly(s, tmp_path / "out")
    assert check_folder(folder, trust_unsigned=True)["status"] == "pass"


def test_suppress_set_later_affects_later_tables_only():
    df = frame(2, 300)
    s = sdc.Session()
    before = s.pivot_table(df, index="region", aggfunc="count", name="before")
    s.suppress = True
    after = s.pivot_table(df, index="region", aggfunc="count", name="after")
    assert s.outputs["before"].status is Status.FAIL and not before.protected_applied
    assert s.outputs["after"].status is Status.PASS and after.protected_applied


def test_protecting_a_removed_output_does_not_bring_it_back():
    s = sdc.Session()
    t = s.pivot_table(frame(3, 200), index="region", aggfunc="count", name="t")
    s.remove_output("t")
    t.protect()
    assert "t" not in s.outputs


def test_finalise_warns_naming_every_output_that_does_not_pass(tmp_path: Path):
    df = frame(4, 300)
    s = sdc.Session()
    s.pivot_table(df, index="region", aggfunc="count", name="raw_counts")
    s.pivot_table(df, index="sex", aggfunc="count", name="fine")
    note = tmp_path / "note.txt"
    note.write_text("see table raw_counts")
    s.custom_output(note, kind="note", name="note")
    with pytest.warns(SdcReleaseWarning) as caught:
        s.finalise(tmp_path / "out")
    (message,) = [str(w.message) for w in caught]
    assert "raw_counts (fail)" in message and "note (review)" in message
    assert "fine" not in message


def test_finalise_of_passing_outputs_does_not_warn(tmp_path: Path):
    s = sdc.Session(suppress=True)
    s.pivot_table(frame(5, 300), index="region", aggfunc="count", name="t")
    with warnings.catch_warnings():
        warnings.simplefilter("error", SdcReleaseWarning)
        s.finalise(tmp_path / "out")
