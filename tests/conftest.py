"""Test-suite configuration: hypothesis profiles and a headless matplotlib."""

from __future__ import annotations

import os

import matplotlib
from hypothesis import HealthCheck, settings

matplotlib.use("Agg")  # figures never need a screen

# "ci" is selected when the CI environment variable is set (as .ci/run does):
# derandomised, so a run on the same code gives the same examples, and without
# deadlines, which machines under load miss for reasons unrelated to the code.
settings.register_profile(
    "ci",
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.register_profile("dev", deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev")
)
