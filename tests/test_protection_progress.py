"""Progress of protection: reported only to a caller who asked, never on stdout."""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd

import sdc
from sdc.cli import main
from sdc.protection.progress import reporting
from sdc.tables.sources.progress import ProgressLine


def _table() -> sdc.TableOutput:
    rng = np.random.default_rng(3)
    share = [0.3, 0.2, 0.2, 0.1, 0.1, 0.05, 0.03, 0.02]
    df = pd.DataFrame({"r": rng.choice(list("abcdefgh"), 400, p=share),
                       "c": rng.choice(list("wxyz"), 400)})  # fmt: skip
    return sdc.Session().crosstab(df.r, df.c, margins=True)


def test_stages_are_reported_to_a_caller_who_asks_and_nobody_else() -> None:
    seen: list[tuple[int, int | None, str]] = []
    with reporting(lambda done, total, stage: seen.append((done, total, stage)), delay=0.0):
        p = _table().protect()
    assert p.status is not sdc.Status.FAIL
    stages = {stage for _, _, stage in seen}
    assert "secondary suppression" in stages and any(s.startswith("audit") for s in stages)
    assert all(total is None or 0 <= done <= total for done, total, _ in seen)
    quiet: list[tuple] = []
    with reporting(lambda *a: quiet.append(a), delay=3600.0):  # a quick job draws nothing
        _table().protect()
    assert quiet == []


def test_the_progress_line_draws_on_stderr_only(tmp_path, capsys) -> None:
    out = io.StringIO()
    bar = ProgressLine(out, force=True)
    with reporting(bar, delay=0.0):
        _table().protect()
    bar.close()
    drawn = out.getvalue()
    # the first report is drawn at once, later ones at most every 0.1 s (or at a stage's end)
    assert drawn.startswith("\rsecondary suppression") and drawn.endswith("\n")
    data = tmp_path / "d.csv"
    pd.DataFrame({"r": list("aabbbbbbbbbbbbbbbc"), "c": list("xy" * 9)}).to_csv(data, index=False)
    code = main(["protect", str(data), "--index", "r", "--columns", "c", "--json"])
    captured = capsys.readouterr()
    (output,) = json.loads(captured.out)["outputs"]  # one JSON document
    assert output["name"] == "protect_r_c"
    assert code in (0, 1, 3) and "audit:" not in captured.err  # not a terminal: no line
