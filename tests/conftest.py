"""Shared test set-up: the Hypothesis profiles, and no gate environment variables.

Profiles: "dev" (default) explores freshly each run; "ci" (when the ``CI``
environment variable is set) is derandomized so a run is reproducible. Neither
has a deadline: the first call of a Numba kernel compiles or loads it, which
would make the first example's timing meaningless.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "dev",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "ci",
    max_examples=60,
    deadline=None,
    derandomize=True,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(autouse=True)
def _no_gate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The gate's environment variables (a signing key for finalise, the gate's rule set)
    change what tests see: each test starts without them and sets what it needs."""
    monkeypatch.delenv("SDC_SIGNING_KEY", raising=False)
    monkeypatch.delenv("SDC_RULES", raising=False)
    monkeypatch.delenv("SDC_AUTHOR", raising=False)
