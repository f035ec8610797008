"""The architecture is a checked contract: import-linter's, in pyproject.toml."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_imports_flow_one_way():
    if shutil.which("lint-imports") is None:
        pytest.skip("import-linter is not installed (pip install '.[dev]')")
    done = subprocess.run(
        ["lint-imports", "--config", str(ROOT / "pyproject.toml")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
