"""Test-suite configuration: hypothesis profiles, a headless matplotlib, and
temporary files kept under pytest's own folder."""

from __future__ import annotations

import os
import tempfile

import matplotlib
import pytest
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


@pytest.fixture(autouse=True, scope="session")
def _temporary_files_under_pytest(tmp_path_factory):
    """``tempfile.mkdtemp()`` (the docstring examples use it) creates its
    folders under this session's pytest folder, which pytest prunes, instead
    of leaving them in the system's temporary folder."""
    previous = tempfile.tempdir
    tempfile.tempdir = str(tmp_path_factory.mktemp("tempfile"))
    yield
    tempfile.tempdir = previous
