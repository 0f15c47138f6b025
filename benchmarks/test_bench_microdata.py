"""The microdata benchmark end to end at a small size, without pycanon.

``bench_microdata.py`` exits with an error when sdc's smallest fk and distinct l differ from
the reference (pycanon, or here a pandas groupby) or when local suppression leaves records
below k; this runs its ``main`` at 3,000 records (suppression on 1,000) so that those checks,
and the JSON it writes, stay checked with the rest: ``.venv/bin/pytest benchmarks``.
"""

from __future__ import annotations

import json
from pathlib import Path

from bench_microdata import main, make_data


def test_bench_microdata_small(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    args = ["--rows", "3000", "--keys", "5", "--repeat", "1", "--suppress-rows", "1000"]
    assert main([*args, "--no-peer", "--out", str(out)]) == 0
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["disagreements"] == []
    entry = report["sizes"]["3000"]
    assert set(entry["timings"]) == {"risk", "l_diversity", "suda2"}
    assert all(t["median_s"] > 0 for t in entry["timings"].values())
    df = make_data(3000, 5)
    keys = [f"k{j}" for j in range(5)]
    sizes = df.groupby(keys).size()
    assert entry["risk"]["patterns"] == len(sizes)
    assert entry["risk"]["violations"]["3"] == int(sizes[sizes < 3].sum())
    # SUDA2: every sample unique on all keys has an MSU, and nothing else does
    assert entry["suda2"]["records_with_score"] == int((sizes == 1).sum())
    for agreement in entry["agreement"].values():
        assert agreement["sdc"] == {"k": agreement["reference"]["k"],
                                    "l": agreement["reference"]["l"]}  # fmt: skip
    supp = report["suppression"]["1000"]
    assert supp["below_k_after"] == 0 and supp["suppressed"] == sum(supp["per_key"].values())
