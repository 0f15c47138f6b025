"""Shared test set-up: Hypothesis profiles and the import path of the test helpers.

Profiles: "dev" (default) explores freshly each run; "ci" (when the ``CI``
environment variable is set) is derandomized so a run is reproducible. Neither
has a deadline: the first call of a Numba kernel compiles or loads it, which
would make the first example's timing meaningless.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hypothesis import HealthCheck, settings

# Tests import their helpers as ``tests.reference`` / ``tests.strategies``; the
# importlib import mode adds nothing to sys.path, so put the project root there.
_ROOT = str(Path(__file__).resolve().parent.parent)
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

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
