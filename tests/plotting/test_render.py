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
from mlpinspect import MLP, Network
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


def _figures():
    """One call of every public plotting function on a small model."""
    mlp = small_mlp(sizes=(20, 6, 3), class_names=["a", "b", "c"])
    rng = np.random.default_rng(0)
    X, y = rng.random((30, 20)), rng.integers(0, 3, 30)
    dec = decompose(mlp, X[:2])
    sweep = SweepResult(
        sizes=(2, 4), seeds=(0, 1), accuracy=np.array([[0.2, 0.3], [0.8, 0.9]])
    )
    net = Network([20, 4, 3], seed=0)
    net.fit(X, y, epochs=2, learning_rate=1.0, progress=False)
    results = {m: attribute(mlp, X[:1], 0, method=m) for m in ("gradient", "lrp")}
    return {
        "plot_weight_images": lambda: plotting.plot_weight_images(mlp),
        "plot_output_weights": lambda: plotting.plot_output_weights(mlp),
        "plot_recipe": lambda: plotting.plot_recipe(mlp, "b", k=2),
        "plot_recipes": lambda: plotting.plot_recipes(
            mlp, k=2, by="contribution", X=X, y=y
        ),
        "plot_contributions": lambda: plotting.plot_contributions(dec, 1, 2, x=X[1]),
        "plot_class_contributions": lambda: plotting.plot_class_contributions(
            class_contributions(mlp, X, y), annotate="usage"
        ),
        "plot_attribution": lambda: plotting.plot_attribution(X[0], results),
        "plot_training": lambda: plotting.plot_training(net.history),
        "plot_sweep": lambda: plotting.plot_sweep(sweep),
        "plot_compare": lambda: plotting.plot_compare([mlp, net], units=[0, 1]),
        "plot_preferred_inputs": lambda: plotting.plot_preferred_inputs(
            preferred_input(mlp, [0, 2], n_steps=10)
        ),
    }


def test_every_public_function_is_rendered_here():
    assert set(_figures()) == {n for n in plotting.__all__ if n.startswith("plot_")}


@pytest.mark.parametrize("name", sorted(_figures()))
def test_every_figure_renders_to_png(name, tmp_path):
    before = plt.get_fignums()
    fig = _figures()[name]()
    assert isinstance(fig, Figure)
    assert plt.get_fignums() == before  # no pyplot figure was opened
    path = tmp_path / f"{name}.png"
    fig.savefig(path, dpi=60)
    assert path.read_bytes()[:8] == PNG_MAGIC
    width, height = fig.get_size_inches()
    assert 3 <= width <= 16 and 2.5 <= height <= 20, (width, height)


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
