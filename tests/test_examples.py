"""Run every example script of ``examples/`` in quick mode and check its results.

Each example runs in this process (``runpy``) with ``MLPINSPECT_EXAMPLES_QUICK=1``
(one epoch, tiny sweeps), the Agg backend and a temporary working directory,
so the figures it leaves open with pyplot can be counted and its variables
checked against what its text claims.
"""

from __future__ import annotations

import ast
import importlib
import re
import runpy
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pytest

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"
EXAMPLES = sorted(EXAMPLES_DIR.glob("plot_*.py"))
EXPECTED = [
    "plot_01_first_look.py",
    "plot_02_digit_recipes.py",
    "plot_03_explain_one_image.py",
    "plot_04_hidden_size_sweep.py",
    "plot_05_init_and_regularisation.py",
    "plot_06_other_frameworks.py",
    "plot_07_attribution_methods.py",
    "plot_08_two_hidden_layers.py",
    "plot_09_how_units_form.py",
]


@dataclass
class Run:
    """What one example left behind."""

    namespace: dict[str, Any]
    figures: list[Any]
    output: str


def _image_axes(fig: Any) -> int:
    return sum(1 for ax in fig.axes if ax.images)


@pytest.fixture
def run_example(tmp_path, monkeypatch, capsys):
    """Return ``run(path)``: execute an example quickly, collect its figures."""

    def show(*args, **kwargs):
        raise AssertionError("an example called plt.show()")

    def run(path: Path) -> Run:
        monkeypatch.setenv("MLPINSPECT_EXAMPLES_QUICK", "1")
        monkeypatch.setenv("MPLBACKEND", "Agg")
        monkeypatch.chdir(tmp_path)
        monkeypatch.setattr(plt, "show", show)
        torch = None
        if "import torch" in path.read_text(encoding="utf-8"):
            # The example may set torch's thread count: restore it afterwards.
            try:
                torch = importlib.import_module("torch")
            except ImportError:
                torch = None
        threads = torch.get_num_threads() if torch is not None else None
        plt.close("all")
        capsys.readouterr()
        try:
            namespace = runpy.run_path(str(path), run_name="__main__")
            figures = [plt.figure(num) for num in plt.get_fignums()]
            for fig in figures:
                fig.canvas.draw()  # every figure must render
            output = capsys.readouterr().out
        finally:
            plt.close("all")
            if torch is not None and sys.modules.get("torch") is torch:
                torch.set_num_threads(threads)
        assert list(tmp_path.iterdir()) == [], "an example wrote files"
        return Run(namespace, figures, output)

    return run


# -- the examples as files ----------------------------------------------------------


def test_every_example_is_there():
    assert [p.name for p in EXAMPLES] == EXPECTED


def test_gallery_header():
    lines = (EXAMPLES_DIR / "README.txt").read_text(encoding="utf-8").splitlines()
    assert lines[0].strip()
    assert set(lines[1]) == {"="} and len(lines[1]) >= len(lines[0])
    assert any(line.strip() for line in lines[2:]), "the header needs a paragraph"


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_example_has_title_and_cells(path):
    source = path.read_text(encoding="utf-8")
    docstring = ast.get_docstring(ast.parse(source), clean=True)
    assert docstring, f"{path.name} needs a module docstring"
    lines = docstring.splitlines()
    assert len(lines) >= 4, "a title, its underline, then what the example shows"
    title, underline = lines[0], lines[1]
    assert title.strip() and title == title.strip()
    assert set(underline) == {"="} and len(underline) >= len(title)
    assert any(line.strip() for line in lines[2:])
    assert source.lstrip().startswith('"""'), "the docstring must come first"
    cells = re.findall(r"^# %%$", source, flags=re.MULTILINE)
    assert cells, f"{path.name} needs at least one '# %%' cell"
    assert "plt.show(" not in source
    assert 'os.environ.get("MLPINSPECT_EXAMPLES_QUICK")' in source


# -- running them -------------------------------------------------------------------


def _example(name: str) -> Path:
    return EXAMPLES_DIR / name


def test_01_first_look(run_example):
    run = run_example(_example("plot_01_first_look.py"))
    ns = run.namespace
    assert len(run.figures) == 3
    assert ns["net"].sizes == [784, 30, 10]
    assert len(ns["history"]) == 1  # quick mode: one epoch
    assert ns["accuracy"] > 0.5
    # The claim the example prints: exactly the always-blank pixels keep
    # their initial weights.
    assert np.array_equal(ns["unchanged"], ns["always_blank"])
    assert ns["always_blank"].sum() > 0
    assert 0.0 < ns["drift"].median_cosine <= 1.0
    assert _image_axes(run.figures[1]) == 30  # the 30 hidden units
    assert _image_axes(run.figures[2]) == 10  # the 10 output units
    assert "test accuracy" in run.output


def test_02_digit_recipes(run_example):
    run = run_example(_example("plot_02_digit_recipes.py"))
    ns = run.namespace
    assert len(run.figures) == 3
    assert [t.by for t in ns["by_weight"]] == ["weight"] * 10
    assert [t.by for t in ns["by_contribution"]] == ["contribution"] * 10
    assert all(t.k == 3 for t in ns["by_weight"] + ns["by_contribution"])
    # Ten rows of the digit's weights plus 3 + 3 source units, both rankings.
    assert _image_axes(run.figures[0]) == 70
    assert _image_axes(run.figures[1]) == 70
    assert ns["drops"].shape == (10, 2)
    assert np.all(np.abs(ns["drops"]) <= 1.0)
    assert run.output.count("\n") > 30


def test_03_explain_one_image(run_example):
    run = run_example(_example("plot_03_explain_one_image.py"))
    ns = run.namespace
    assert len(run.figures) == 3
    if ns["mistakes"].size:
        assert ns["predicted"] != ns["true"]
    # The decomposition is exact, and so is the decomposed margin.
    assert np.abs(ns["rebuilt"] - ns["z"]).max() < 1e-10
    margin = ns["z"][ns["predicted"]] - ns["z"][ns["true"]]
    assert ns["bias_difference"] + ns["difference"].sum() == pytest.approx(margin)
    assert np.abs(ns["dec0"].completeness_error).max() < 1e-10
    for result in ns["results"].values():
        assert abs(result.completeness_error[0]) < 1e-8
    assert "completeness error" in run.output


def test_04_hidden_size_sweep(run_example):
    run = run_example(_example("plot_04_hidden_size_sweep.py"))
    ns = run.namespace
    sweep = ns["sweep"]
    assert len(run.figures) == 3
    assert sweep.sizes == (2, 4)
    assert sweep.accuracy.shape == (2, 1)
    # "The same seed and settings give the same network": retraining the best
    # four-unit run reproduces its accuracy exactly.
    assert ns["accuracy"] == sweep.accuracy[ns["row"]].max()
    assert _image_axes(run.figures[1]) == 4
    assert "essay" in run.output


def test_05_init_and_regularisation(run_example):
    from mlpinspect.experiments import STUDY_COMPARISON

    run = run_example(_example("plot_05_init_and_regularisation.py"))
    comparison = run.namespace["comparison"]
    assert len(run.figures) == 2
    assert comparison.names == list(STUDY_COMPARISON)
    assert _image_axes(run.figures[1]) == 2 * 10  # two rows of ten units
    for name in comparison.names:
        assert name in run.output


def test_06_other_frameworks(run_example):
    pytest.importorskip("sklearn")
    pytest.importorskip("torch")
    run = run_example(_example("plot_06_other_frameworks.py"))
    ns = run.namespace
    assert len(run.figures) == 4
    assert ns["sk_difference"] < 1e-12  # float64: the same arithmetic
    assert ns["torch_difference"] < 1e-4  # float32 rounding
    assert ns["sk_mlp"].sizes == (784, 30, 10)
    assert ns["torch_mlp"].sizes == (784, 30, 10)
    assert "skipping" not in run.output
    assert run.output.count("same predictions: True") == 2


def test_06_other_frameworks_without_them(run_example, monkeypatch):
    # A None entry in sys.modules makes importing that module raise
    # ImportError; submodules already imported must be hidden too.
    for name in [*sys.modules, "sklearn", "torch"]:
        if name.split(".")[0] in ("sklearn", "torch"):
            monkeypatch.setitem(sys.modules, name, None)
    run = run_example(_example("plot_06_other_frameworks.py"))
    assert run.figures == []
    assert "scikit-learn is not installed: skipping" in run.output
    assert "PyTorch is not installed: skipping" in run.output
    assert "sklearn:" in run.output  # the adapter list is still printed


def test_07_attribution_methods(run_example):
    run = run_example(_example("plot_07_attribution_methods.py"))
    ns = run.namespace
    methods = ns["METHODS"]
    assert len(run.figures) == 4
    assert methods == [
        "gradient", "gradient_x_input", "integrated_gradients", "deeplift", "lrp",
        "occlusion",
    ]  # fmt: skip
    # "LRP refuses this (sigmoid) network, and says why."
    assert list(ns["refused"]) == ["lrp"]
    assert list(ns["results"]) == [m for m in methods if m != "lrp"]
    for name in ("integrated_gradients", "deeplift"):
        assert abs(ns["results"][name].completeness_error[0]) < 1e-8
    for name in ("gradient", "occlusion"):
        assert ns["results"][name].completeness_error is None
    assert ns["errors"].shape == (3, 6)
    # "For a ReLU network LRP-0 and gradient x input give the same map."
    relu = ns["relu_results"]
    np.testing.assert_allclose(
        relu["lrp, epsilon=0"].values, relu["gradient_x_input"].values, atol=1e-12
    )
    # "... and so are integrated gradients", where a quadrature is not.
    assert ns["ig"].options["rule"] == "exact"
    assert abs(ns["ig"].completeness_error[0]) < 1e-10
    assert abs(ns["quadrature"].completeness_error[0]) > 1e3 * abs(
        ns["ig"].completeness_error[0]
    )
    assert _image_axes(run.figures[0]) == 1 + 2 * 5
    assert _image_axes(run.figures[2]) == 1 + 2 * 8
    # "The methods that account for the ink bring the logit down faster than
    # the bare gradient."
    curves = ns["curves"]
    for name in ("integrated_gradients", "deeplift", "occlusion"):
        assert curves[name].auc.mean() < curves["gradient"].auc.mean()
    assert len(run.figures[3].axes) == 2


def test_08_two_hidden_layers(run_example):
    run = run_example(_example("plot_08_two_hidden_layers.py"))
    ns = run.namespace
    preferred = ns["preferred"]
    assert len(run.figures) == 4
    assert ns["net"].sizes == [784, 16, 16, 10]
    assert preferred.image.shape == (16, 28, 28)
    assert preferred.image.min() >= 0.0 and preferred.image.max() <= 1.0
    # The printed upper bound holds for the search and for every real image.
    assert np.all(preferred.activation <= ns["bound"] + 1e-9)
    assert np.all(ns["best_real"] <= ns["bound"] + 1e-9)
    assert _image_axes(run.figures[0]) == 16
    assert _image_axes(run.figures[2]) == 16


def test_09_how_units_form(run_example):
    from matplotlib.animation import FuncAnimation

    from mlpinspect.experiments import STUDY_COMPARISON

    run = run_example(_example("plot_09_how_units_form.py"))
    ns = run.namespace
    histories, dynamics = ns["histories"], ns["dynamics"]
    assert list(histories) == list(STUDY_COMPARISON)
    for history in histories.values():
        # Quick mode: one epoch of 1,000 mini-batches, a snapshot every 250.
        assert history.snapshots.steps.tolist() == [0, 250, 500, 750, 1000]
    # Two film strips of 8 units x 5 snapshots, the curves, two animations.
    assert len(run.figures) == 5
    assert _image_axes(run.figures[0]) == 8 * 5
    assert _image_axes(run.figures[1]) == 8 * 5
    assert _image_axes(run.figures[3]) == 30 and _image_axes(run.figures[4]) == 30
    for name in ("animation_first", "animation_second"):
        assert isinstance(ns[name], FuncAnimation)
    assert ns["n_frames"] == 5
    # What the text claims: network.py's units start formed and stay near their
    # start; network2.py's leave theirs and form during training.
    first, second = (dynamics[name] for name in STUDY_COMPARISON)
    assert (first.formed_at == 0).mean() > 0.9
    assert (second.formed_at > 0).all()
    assert first.mean("cosine_to_init")[-1] > 0.9 > second.mean("cosine_to_init")[-1]
    assert second.mean("smoothness")[-1] > first.mean("smoothness")[-1] + 0.3
    assert len(ns["on_disk"]) == 21 and ns["on_disk"].path is not None
    assert "frames for 5 snapshots" in run.output
