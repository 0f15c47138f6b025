"""Long columns are coded and hashed in threads: the table, its evidence and its
definition (fingerprints included) are those of the same work done in turn."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sdc
from sdc import _threads
from sdc.release.report import build_report

ROWS = _threads.MIN_ROWS + 1_000


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    region = np.array(["North", "South", "East", "West", "Wales"], dtype=object)
    band = np.array(["<40", "40-64", "65+"], dtype=object)
    frame = pd.DataFrame({
        "region": pd.array(region[rng.integers(0, 5, ROWS)], dtype="str"),
        "band": pd.array(band[rng.integers(0, 3, ROWS)], dtype="str"),
        "sex": rng.choice(["F", "M"], ROWS).astype(object),
        "cost": np.round(rng.lognormal(5, 1, ROWS), 2),
        "patient": rng.integers(0, ROWS // 3, ROWS),
    })  # fmt: skip
    frame.loc[rng.integers(0, ROWS, 50), "region"] = None
    frame.loc[rng.integers(0, ROWS, 50), "cost"] = np.nan
    return frame


def _made(frame: pd.DataFrame, **options: Any) -> tuple[Any, Any, Any]:
    s = sdc.Session()
    out = s.pivot_table(frame, index=["region", "sex"], columns="band", name="t", **options)
    report = json.loads(json.dumps(build_report([out], s.ruleset_)))
    return out.fingerprints, out.definition, (report, out.table.to_json())


@pytest.mark.parametrize("options", [
    {"aggfunc": "count"},
    {"values": "cost", "aggfunc": "mean"},
    {"values": "cost", "aggfunc": "sum", "contributor": "patient"},
])  # fmt: skip
def test_threads_give_what_the_same_work_in_turn_gives(
    options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _frame()
    assert _threads.worth_threads(len(frame)) or _threads.os.cpu_count() == 1
    threaded = _made(frame, **options)
    monkeypatch.setattr(_threads, "worth_threads", lambda n_rows: False)
    in_turn = _made(frame, **options)
    assert threaded == in_turn
    prints = threaded[0]
    assert len(prints["dims"]) == 3 and all(p.startswith("sha256:") for p in prints["dims"])
    assert ("values" in prints) == ("values" in options)


def test_map_columns_keeps_order_and_raises_the_first_error() -> None:
    assert _threads.map_columns(lambda x: x * x, range(5), ROWS) == [0, 1, 4, 9, 16]

    def fail(x: int) -> int:
        if x >= 2:
            raise ValueError(f"column {x}")
        return x

    with pytest.raises(ValueError, match="column 2"):
        _threads.map_columns(fail, range(4), ROWS)


def test_later_raises_the_error_of_its_work() -> None:
    later = _threads.Later(lambda: 1 / 0, n_rows=ROWS)
    with pytest.raises(ZeroDivisionError):
        later.result()
    assert _threads.Later(sum, [1, 2], n_rows=ROWS).result() == 3


def _square_in_threads(n: int) -> list[int]:
    return _threads.map_columns(lambda x: x * x, range(n), ROWS)


def test_a_forked_child_makes_its_own_threads() -> None:
    """A process forked after the pool was made has none of its threads: it makes its own
    (the work would otherwise wait for threads that do not exist)."""
    import multiprocessing

    assert _square_in_threads(4) == [0, 1, 4, 9]  # the parent's pool exists
    with multiprocessing.get_context("fork").Pool(1) as pool:
        got = pool.apply_async(_square_in_threads, (4,)).get(timeout=60)
    assert got == [0, 1, 4, 9]
