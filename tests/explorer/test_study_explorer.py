"""The study writes the explorer page of its network and links it."""

from __future__ import annotations

import json
import re

import numpy as np

from mlpinspect import Network, unit_atlas
from mlpinspect.explorer._data import unpack
from mlpinspect.study import run_study


def test_study_writes_and_links_the_explorer(tmp_path):
    result = run_study(tmp_path, quick=True, quiet=True, sweep_sizes=())
    page = result.files["explorer.html"]
    assert page == tmp_path / "explorer.html" and page.is_file()
    numbers = result.numbers["explorer"]
    assert numbers["n_examples"] == 300  # --quick keeps 300 test images
    assert numbers["bytes"] == page.stat().st_size
    assert "[explorer.html](explorer.html)" in (tmp_path / "report.md").read_text(
        encoding="utf-8"
    )
    # The page is the study network's, on the study's test images.
    text = page.read_text(encoding="utf-8")
    data = json.loads(re.search(r'id="mlpinspect-data">(.*?)</script>', text).group(1))
    net = Network.load(tmp_path / "study-network.npz")
    from mlpinspect.study._context import load_data

    _, (X_test, y_test), _ = load_data("sample", quick=True)
    atlas = unit_atlas(net, X_test, y_test, layer=0, k=data["k"])
    np.testing.assert_array_equal(
        unpack(data["units"]["top_indices"]), atlas.top_indices
    )
    assert data["outputs"] == [str(d) for d in range(10)]
