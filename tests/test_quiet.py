"""Nothing is printed that the user did not ask for, and what a library warns about is kept.

HiGHS writes a banner from C when the first model of a process is made; statsmodels warns
when a fit does not converge. Neither reaches the terminal during a Python session: the
banner is discarded, the warning becomes something a person must look at on the output.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sdc
from sdc.gate import check_folder


def test_an_audit_prints_nothing(capfd: pytest.CaptureFixture[str]) -> None:
    """The audit's LPs (HiGHS) run in this process and leave stdout and stderr empty."""
    from sdc.example import example_microdata

    df = example_microdata()
    t = sdc.Session().crosstab(df.region, df.sex, margins=True)
    p = t.protect(exact_intervals=True)  # solves every interval with HiGHS
    assert p.audit["exact"].all()
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def _separated() -> pd.DataFrame:
    """Every patient in region W died: a logit cannot converge on that level."""
    rng = np.random.default_rng(3)
    n = 300
    region = rng.choice(["N", "S", "E"], n)
    region[:15] = "W"
    age = rng.normal(60, 10, n).round(1)
    died = (rng.random(n) < 0.3).astype(int)
    died[:15] = 1
    return pd.DataFrame({"region": region, "age": age, "died": died})


def test_a_fit_that_warns_is_reviewed_not_printed(
    capfd: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning escaping the session fails the test
        s = sdc.Session()
        out = s.logit("died ~ age + C(region)", data=_separated(), name="m")
    assert capfd.readouterr() == ("", "")
    warned = [r for r in out.reasons if r.startswith("the fit warned:")]
    assert warned and all(r.endswith("a person must look at it") for r in warned)
    assert out.status is not sdc.Status.PASS
    report = check_folder(s.finalise(tmp_path / "req"), trust_unsigned=True)
    (entry,) = report["outputs"]
    assert entry["status"] == out.status.value
    assert any(r.startswith("the fit warned:") for r in entry["reasons"])
