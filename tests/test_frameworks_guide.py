"""The frameworks guide's code blocks marked "runs as written" run as written.

They show the official PyTorch MNIST-style MLP with ``log_softmax``, a
scikit-learn Pipeline with a StandardScaler, an Equinox MLP and a safetensors
file; each block holds its own checks (``assert``) against the framework.
"""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "guide" / "frameworks.rst"
MARK = "# runs as written"


def runnable_blocks() -> list[str]:
    blocks = []
    for match in re.finditer(r"\.\. code-block:: python\n\n((?:   .*\n|\n)+)",
                             GUIDE.read_text()):  # fmt: skip
        code = textwrap.dedent(match.group(1))
        if code.lstrip().startswith(MARK):
            blocks.append(code)
    return blocks


BLOCKS = runnable_blocks()


def test_the_guide_has_the_four_runnable_examples():
    text = "\n".join(BLOCKS)
    assert len(BLOCKS) == 4
    for needle in ("F.log_softmax", "StandardScaler", "eqx.nn.MLP", "safetensors"):
        assert needle in text


@pytest.mark.parametrize("code", BLOCKS, ids=lambda c: c.splitlines()[1][:40])
def test_a_guide_example_runs(code, tmp_path, monkeypatch):
    for module in re.findall(r"^(?:import|from) (\w+)", code, flags=re.M):
        pytest.importorskip(module)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(GUIDE), "exec"), {"__name__": "guide_example"})
