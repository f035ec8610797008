import numpy as np
import pytest
from tests.plotting.helpers import clim, colorbar_axes, data, image_axes, small_mlp

from mlpinspect import InvalidParameterError
from mlpinspect.analysis.attribution import attribute
from mlpinspect.plotting import plot_attribution
from mlpinspect.plotting._colors import signed_rgba


def _setup(n=3):
    mlp = small_mlp()
    X = np.random.default_rng(5).random((n, 20))
    return mlp, X


def test_input_map_and_overlay_side_by_side():
    mlp, X = _setup(1)
    result = attribute(mlp, X, 1, method="integrated_gradients")
    fig = plot_attribution(X[0], result)
    inputs, attribution, overlay = image_axes(fig)
    np.testing.assert_array_equal(data(inputs), X[0].reshape(4, 5))
    values = result.values[0].reshape(4, 5)
    np.testing.assert_array_equal(data(attribution), values)
    v = np.abs(values).max()
    assert clim(attribution) == (-v, v)
    assert attribution.get_title().startswith("integrated gradients")
    # the overlay: the input, then the attribution as translucent colours
    assert len(overlay.images) == 2
    np.testing.assert_array_equal(data(overlay, 0), X[0].reshape(4, 5))
    np.testing.assert_allclose(data(overlay, 1), signed_rgba(values, v))
    alpha = data(overlay, 1)[..., 3]
    np.testing.assert_allclose(alpha, 0.85 * np.abs(values) / v)
    assert "output unit 1" in fig.get_suptitle()


def test_several_methods_make_one_column_each():
    mlp, X = _setup(1)
    methods = ["gradient", "gradient_x_input", "deeplift"]
    results = {m.upper(): attribute(mlp, X, 0, method=m) for m in methods}
    fig = plot_attribution(X[0], results)
    axes = image_axes(fig)
    assert len(axes) == 1 + 2 * len(methods)
    maps, overlays = axes[1 : 1 + len(methods)], axes[1 + len(methods) :]
    for ax, (name, result) in zip(maps, results.items()):
        values = result.values[0].reshape(4, 5)
        np.testing.assert_array_equal(data(ax), values)
        v = np.abs(values).max()
        assert clim(ax) == (-v, v)  # each map its own scale by default
        assert ax.get_title().splitlines()[0] == name
    for ax, name in zip(overlays, results):
        assert ax.get_title() == f"{name}\noverlay"
        assert len(ax.images) == 2
    # maps on the first row, overlays on the second
    assert maps[0].get_subplotspec().rowspan.start == 0
    assert overlays[0].get_subplotspec().rowspan.start == 1
    assert "own" in fig.get_suptitle()


def test_shared_scale_and_no_overlay():
    mlp, X = _setup(1)
    results = [attribute(mlp, X, 2, method=m) for m in ("gradient", "deeplift")]
    fig = plot_attribution(X[0], results, overlay=False, shared_scale=True)
    axes = image_axes(fig)
    assert len(axes) == 3
    v = max(np.abs(r.values).max() for r in results)
    assert {clim(ax) for ax in axes[1:]} == {(-v, v)}
    (cbar,) = colorbar_axes(fig)
    assert cbar.get_ylim() == pytest.approx((-v, v))
    assert "one colour scale" in fig.get_suptitle()


def test_picks_a_row_of_several_inputs():
    mlp, X = _setup(3)
    result = attribute(mlp, X, [0, 1, 2], method="gradient_x_input")
    for x in (X, X[2]):
        fig = plot_attribution(x, result, sample=2)
        inputs, attribution, _ = image_axes(fig)
        np.testing.assert_array_equal(data(inputs), X[2].reshape(4, 5))
        np.testing.assert_array_equal(data(attribution), result.values[2].reshape(4, 5))
        assert "output unit 2" in fig.get_suptitle()


def test_flat_inputs_are_drawn_as_near_square_images():
    mlp = small_mlp(input_shape=None)
    X = np.random.default_rng(0).random((1, 20))
    fig = plot_attribution(X, attribute(mlp, X, 0, method="gradient"))
    assert data(image_axes(fig)[0]).shape == (4, 5)


@pytest.mark.parametrize(
    ("x", "attribution", "kwargs", "match"),
    [
        (np.zeros(7), "ok", {}, "x"),
        (np.zeros(20), "ok", {"sample": 3}, "sample"),
        (np.zeros(20), np.zeros(20), {}, "attribution"),
        (np.zeros(20), [], {}, "attribution"),
        (np.zeros(20), "mixed", {}, "attribution"),
        (np.zeros(20), "ok", {"overlay": 1}, "overlay"),
    ],
)
def test_bad_arguments_are_named(x, attribution, kwargs, match):
    mlp, X = _setup(1)
    ok = attribute(mlp, X, 0, method="gradient")
    if isinstance(attribution, str) and attribution == "ok":
        attribution = ok
    elif isinstance(attribution, str):
        other = small_mlp(sizes=(16, 3, 2), input_shape=(4, 4))
        attribution = [ok, attribute(other, np.zeros((1, 16)), 0, method="gradient")]
    with pytest.raises(InvalidParameterError, match=match):
        plot_attribution(x, attribution, **kwargs)


def test_title_names_the_target_only_when_all_results_share_it():
    import numpy as np

    from mlpinspect import MLP, Dense, attribute
    from mlpinspect.plotting import plot_attribution

    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(3, 4)), np.zeros(3), "tanh"),
            Dense(rng.normal(size=(2, 3)), np.zeros(2), "identity"),
        ]
    )
    x = rng.random((1, 4))
    same = plot_attribution(
        x[0], {m: attribute(mlp, x, 1, method=m) for m in ("gradient", "deeplift")}
    )
    assert "output unit 1" in same.texts[0].get_text()
    mixed = plot_attribution(
        x[0],
        {
            "a": attribute(mlp, x, 0, method="gradient"),
            "b": attribute(mlp, x, 1, method="gradient"),
        },
    )
    title = mixed.texts[0].get_text()
    assert "different targets per column" in title
    assert "output unit 0" not in title
