"""Request folders and a command runner for the release tests (``sdc release``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import sdc
from sdc.cli import main


def visits() -> pd.DataFrame:
    """Visits by region and sex, with a small region (S) and a patient id."""
    rng = np.random.default_rng(3)
    region = ["N"] * 40 + ["M"] * 36 + ["S"] * 3
    sex = (["F", "M"] * 40)[: len(region)]
    return pd.DataFrame({
        "region": region, "sex": sex, "patient": [f"P{i:03d}" for i in range(len(region))],
        "cost": np.round(rng.uniform(20, 400, len(region)), 2),
    })  # fmt: skip


def request_folder(root: Path, *, author: str | None = "alice", failing: bool = False,
                   name: str = "req") -> Path:  # fmt: skip
    """A request: a protected count table with margins (pass), a mean table (pass) and,
    with ``failing``, a count table published as computed with a small cell (fail)."""
    df = visits()
    s = sdc.Session(suppress=True)
    s.crosstab(df.region, df.sex, margins=True, name="counts")
    big = df[df.region != "S"]
    s.pivot_table(big, index="region", values="cost", aggfunc="mean", name="means")
    if failing:
        raw = sdc.Session(suppress=False)
        t = raw.crosstab(df.region, name="raw")
        s.outputs["raw"] = t
    return s.finalise(root / name, author=author)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """Run ``sdc ... --json``: exit code and the one JSON document on stdout."""
    code = main([*argv, "--json"])
    out, _ = capsys.readouterr()
    return code, json.loads(out)


def release(
    folder: Path, url: str, by: str, action: str, reason: str, out: Path | None,
    capsys: pytest.CaptureFixture[str], *extra: str,
) -> tuple[int, dict[str, Any]]:  # fmt: skip
    argv = ["release", str(folder), "--registry", url, "--by", by, f"--{action}", "--reason",
            reason, "--rules", "default", *extra]  # fmt: skip
    if out is not None:
        argv += ["--out", str(out)]
    return run(argv, capsys)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below ``folder`` (relative path: bytes)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*")
            if p.is_file()}  # fmt: skip
