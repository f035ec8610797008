import numpy as np
import pytest
from matplotlib.figure import Figure
from tests.plotting.helpers import line_by_gid, small_mlp

from mlpinspect import InvalidParameterError, attribute, deletion_curve, insertion_curve
from mlpinspect.plotting import plot_faithfulness


@pytest.fixture
def curves():
    mlp = small_mlp(activations=("relu", "identity"))
    X = np.random.default_rng(0).random((5, 20))
    out = {}
    for method in ("gradient", "deeplift", "occlusion"):
        result = attribute(mlp, X, 1, method=method)
        out[method] = (
            deletion_curve(mlp, result, n_steps=5),
            insertion_curve(mlp, result, n_steps=5),
        )
    return out


def test_one_panel_per_mode_with_the_mean_curves(curves):
    named = {f"{m} {c.mode}": c for m, pair in curves.items() for c in pair}
    fig = plot_faithfulness(named)
    assert isinstance(fig, Figure)
    deletion_ax, insertion_ax = fig.axes
    for method, (deletion, insertion) in curves.items():
        line = line_by_gid(deletion_ax, f"deletion {method} deletion")
        np.testing.assert_allclose(line.get_ydata(), deletion.mean)
        np.testing.assert_allclose(line.get_xdata(), deletion.fractions)
        assert f"(area {np.mean(deletion.auc):.3g})" in line.get_label()
        other = line_by_gid(insertion_ax, f"insertion {method} insertion")
        np.testing.assert_allclose(other.get_ydata(), insertion.mean)
        # one colour per method in both panels
        assert line.get_color() == other.get_color()
    assert deletion_ax.get_ylabel() == "output (logit)"
    assert "most relevant first" in deletion_ax.get_xlabel()
    assert len(deletion_ax.collections) == 3  # quartile bands


def test_a_list_is_labelled_by_method_and_ax_is_drawn_into(curves):
    from matplotlib.figure import Figure as Fig

    deletions = [pair[0] for pair in curves.values()]
    host = Fig()
    ax = host.subplots()
    assert plot_faithfulness(deletions, ax=ax) is host
    labels = [line.get_label().split(" (")[0] for line in ax.lines]
    assert labels == ["gradient", "deeplift", "occlusion"]
    sub = Fig().subfigures(1, 2)[1]
    assert plot_faithfulness(curves["gradient"][0], fig=sub) is sub.figure


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((["x"],), {}, r"`curves` entry 0 must be a PerturbationCurve"),
        (("x",), {}, r"`curves` must be a PerturbationCurve"),
        (([],), {}, r"at least one curve"),
    ],
)
def test_bad_curves_are_named(args, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        plot_faithfulness(*args, **kwargs)


def test_axes_must_match_the_modes(curves):
    from matplotlib.figure import Figure as Fig

    fig = Fig()
    ax = fig.subplots()
    with pytest.raises(InvalidParameterError, match=r"`ax` must be 2 Axes"):
        plot_faithfulness(list(curves["gradient"]), ax=ax)
    with pytest.raises(InvalidParameterError, match=r"either `ax=` or `fig=`"):
        plot_faithfulness(curves["gradient"][0], ax=ax, fig=fig)
