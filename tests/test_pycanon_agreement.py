"""Agreement with pycanon 1.3.6 on k-anonymity and l-diversity, on sdcMicro's testdata.

pycanon runs in its own virtual environment (``bash benchmarks/peers/setup_pycanon_venv.sh``);
these tests are marked ``peer`` and run apart from the default suite (``pytest -m peer``).
pycanon reports one k (the smallest equivalence class) and one l (the fewest distinct
sensitive values in one class) per dataset: the engine's smallest fk and smallest distinct
l must equal them, for several sets of keys and sensitive variables (testdata has no
missing values, where the two tools' groupings could differ).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from needs import missing

import sdc

ROOT = Path(__file__).resolve().parents[1]
PYCANON_PYTHON = ROOT / "benchmarks" / ".venv-pycanon" / "bin" / "python"
RUNNER = ROOT / "benchmarks" / "peers" / "pycanon_runner.py"
TESTDATA = Path(__file__).parent / "data" / "sdcmicro" / "testdata.csv"

pytestmark = pytest.mark.peer

CASES = [
    (["urbrur", "roof", "walls", "water", "electcon", "relat", "sex"], "hhcivil"),
    (["urbrur", "roof", "walls", "water", "sex"], "electcon"),
    (["urbrur", "sex"], "relat"),
    (["roof", "electcon"], "water"),
]


@pytest.fixture(autouse=True)
def _pycanon_environment() -> None:
    if not PYCANON_PYTHON.exists():
        missing(
            f"the pycanon environment is missing ({PYCANON_PYTHON}): "
            "bash benchmarks/peers/setup_pycanon_venv.sh"
        )


@pytest.mark.parametrize(("keys", "sensitive"), CASES)
def test_k_and_l_agree_with_pycanon(keys: list[str], sensitive: str, tmp_path: Path) -> None:
    df = pd.read_csv(TESTDATA)
    data = tmp_path / "data.parquet"
    df.to_parquet(data)
    out = tmp_path / "out.json"
    cmd = [str(PYCANON_PYTHON), str(RUNNER), str(data), str(out), "--keys", ",".join(keys),
           "--sensitive", sensitive]  # fmt: skip
    subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600)
    theirs = json.loads(out.read_text(encoding="utf-8"))
    assert "error" not in theirs, theirs.get("error")
    r = sdc.Session().assess_microdata(df, keys=keys, sensitive=[sensitive])
    assert int(r.frequencies_.fk.min()) == theirs["k"]
    assert int(r.l_diversity_[sensitive].distinct.min()) == theirs["l"]
