"""Headless: every figure renders to PNG with Agg; importing the package loads
no pyplot; the study's 784-30-10 layout comes out as in the essay."""

import subprocess
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from tests.plotting.helpers import image_axes, small_mlp

import mlpinspect.plotting as plotting
from mlpinspect import (
    MLP,
    InvalidParameterError,
    Network,
    Snapshots,
    cka_matrix,
    deletion_curve,
    insertion_curve,
    match_units,
    top_units,
    unit_atlas,
    unit_dynamics,
)
from mlpinspect.analysis import class_contributions, decompose, preferred_input
from mlpinspect.analysis.attribution import attribute
from mlpinspect.experiments import SweepResult

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_importing_the_package_loads_no_pyplot():
    code = (
        "import sys, mlpinspect, mlpinspect.plotting\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'\n"
        "from mlpinspect import MLP, Dense\n"
        "import numpy as np\n"
        "mlp = MLP([Dense(np.ones((2, 4)), np.zeros(2), 'sigmoid')])\n"
        "mlpinspect.plotting.plot_weight_images(mlp).savefig(sys.argv[1])\n"
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported by a plot'\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, "/dev/null"],
        capture_output=True,
        text=True,
        check=False,
        env={"MPLBACKEND": "Agg", "PATH": ""},
    )
    assert out.returncode == 0, out.stderr


def _figures(tabular: bool = False):
    """One call of every public plotting function on a small model; each takes
    the ``fig=`` / ``ax=`` keywords to pass on."""
    mlp = small_mlp(
        sizes=(20, 6, 3),
        class_names=["a", "b", "c"],
        input_shape=None if tabular else (4, 5),
    )
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 20)), rng.integers(0, 3, 30)
    dec = decompose(mlp, X[:2], layer=0 if tabular else -1)
    sweep = SweepResult(
        sizes=(2, 4), seeds=(0, 1), accuracy=np.array([[0.2, 0.3], [0.8, 0.9]])
    )
    net = Network([20, 4, 3], seed=0)
    net.fit(X, y, epochs=2, learning_rate=1.0, progress=False, validation_data=(X, y))
    results = {m: attribute(mlp, X[:1], 0, method=m) for m in ("gradient", "deeplift")}
    curves = {
        "gradient": deletion_curve(mlp, results["gradient"], n_steps=5),
        "deeplift": insertion_curve(mlp, results["deeplift"], n_steps=5),
    }
    snapshots = Snapshots.from_models([mlp, mlp], epochs=[0, 1])
    return {
        "plot_weight_images": lambda **kw: plotting.plot_weight_images(mlp, **kw),
        "plot_output_weights": lambda **kw: plotting.plot_output_weights(mlp, **kw),
        "plot_top_units": lambda **kw: plotting.plot_top_units(
            top_units(mlp, "b", k=2), **kw
        ),
        "plot_recipes": lambda **kw: plotting.plot_recipes(
            mlp, k=2, by="contribution", X=X, y=y, **kw
        ),
        "plot_decomposition": lambda **kw: plotting.plot_decomposition(
            dec, sample=1, unit=2, **kw
        ),
        "plot_class_contributions": lambda **kw: plotting.plot_class_contributions(
            class_contributions(mlp, X, y), annotate="usage", **kw
        ),
        "plot_attribution": lambda **kw: plotting.plot_attribution(results, **kw),
        "plot_faithfulness": lambda **kw: plotting.plot_faithfulness(curves, **kw),
        "plot_training": lambda **kw: plotting.plot_training(
            net.history, held_out_label="test", **kw
        ),
        "plot_sweep": lambda **kw: plotting.plot_sweep(sweep, **kw),
        "plot_compare": lambda **kw: plotting.plot_compare(
            [mlp, net], units=[0, 1], **kw
        ),
        "plot_preferred_input": lambda **kw: plotting.plot_preferred_input(
            preferred_input(mlp, [0, 2], n_steps=10), **kw
        ),
        "plot_unit_dynamics": lambda **kw: plotting.plot_unit_dynamics(
            unit_dynamics(snapshots), **kw
        ),
        "plot_film_strip": lambda **kw: plotting.plot_film_strip(snapshots, **kw),
        "plot_unit_atlas": lambda **kw: plotting.plot_unit_atlas(
            unit_atlas(mlp, X, y, k=3), **kw
        ),
        "plot_unit_profile": lambda **kw: plotting.plot_unit_profile(
            unit_atlas(mlp, X, y, k=3), 1, **kw
        ),
        "plot_cka_matrix": lambda **kw: plotting.plot_cka_matrix(
            cka_matrix([mlp, net], X), **kw
        ),
        "plot_matched_units": lambda **kw: plotting.plot_matched_units(
            match_units(mlp, net, X), **kw
        ),
    }


SINGLE_PANEL = {
    "plot_cka_matrix",
    "plot_decomposition",
    "plot_class_contributions",
    "plot_training",
    "plot_sweep",
}
"""The plots that accept ``ax=`` (one Axes); every plot accepts ``fig=``."""


def test_every_public_function_is_rendered_here():
    assert set(_figures()) == {n for n in plotting.__all__ if n.startswith("plot_")}


@pytest.mark.parametrize("tabular", [False, True], ids=["image", "tabular"])
@pytest.mark.parametrize("name", sorted(_figures()))
def test_every_figure_renders_to_png(name, tabular, tmp_path):
    before = plt.get_fignums()
    fig = _figures(tabular)[name]()
    assert type(fig) is Figure
    assert plt.get_fignums() == before  # no pyplot figure was opened
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == PNG_MAGIC
    width, height = fig.get_size_inches()
    assert 3 <= width <= 16 and 2.5 <= height <= 20, (width, height)


@pytest.mark.parametrize("name", sorted(_figures()))
def test_every_plot_returns_the_root_figure_it_drew_on(name):
    call = _figures()[name]
    own = Figure()
    assert call(fig=own) is own
    assert own.axes
    parent = Figure(layout="constrained")
    left, right = parent.subfigures(1, 2)
    assert call(fig=right) is parent
    assert right.axes and not left.axes
    if name in SINGLE_PANEL:
        holder = Figure()
        ax = holder.subfigures(1, 2)[1].subplots()
        assert call(ax=ax) is holder
        with pytest.raises(InvalidParameterError, match="either"):
            call(ax=ax, fig=holder)


def test_the_deprecated_aliases_warn_and_stay_out_of_all():
    assert plotting.DEPRECATED_ALIASES == {
        "plot_contributions": "plot_decomposition",
        "plot_preferred_inputs": "plot_preferred_input",
        "plot_recipe": "plot_top_units",
    }
    for old in plotting.DEPRECATED_ALIASES:
        assert old not in plotting.__all__
        assert callable(getattr(plotting, old))


def test_the_study_layout_784_30_10(tmp_path):
    net = Network([784, 30, 10], seed=0)
    mlp = MLP(
        net.to_mlp().layers,
        input_shape=(28, 28),
        class_names=[str(d) for d in range(10)],
    )
    fig = plotting.plot_weight_images(net)
    axes = image_axes(fig)
    assert len(axes) == 30
    assert axes[0].get_subplotspec().get_geometry()[:2] == (3, 10)
    assert all(ax.images[0].get_array().shape == (28, 28) for ax in axes)
    fig.savefig(tmp_path / "hidden.png", dpi=50)

    fig = plotting.plot_output_weights(mlp)
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == [str(d) for d in range(10)]
    assert all(ax.images[0].get_array().shape == (5, 6) for ax in axes)
    fig.savefig(tmp_path / "output.png", dpi=50)

    fig = plotting.plot_recipes(mlp)
    axes = image_axes(fig)
    assert len(axes) == 10 * 7
    assert axes[0].get_subplotspec().get_geometry()[:2] == (10, 7)
    fig.savefig(tmp_path / "recipes.png", dpi=50)
