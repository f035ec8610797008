import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from tests.plotting.helpers import (
    bar_axes,
    bars_of,
    clim,
    colorbar_axes,
    data,
    image_axes,
    rgba,
    small_mlp,
    tick_labels,
)
from tests.strategies import mlps

from mlpinspect import InvalidParameterError, Network, preferred_input
from mlpinspect.analysis import image_shape
from mlpinspect.plotting import (
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    plot_output_weights,
    plot_preferred_input,
    plot_preferred_inputs,
    plot_weight_images,
)


def test_tiles_show_the_weights_titled_by_index():
    mlp = small_mlp(sizes=(20, 7, 3))
    W = mlp.layers[0].weight
    fig = plot_weight_images(mlp)
    axes = image_axes(fig)
    assert len(axes) == 7
    for unit, ax in enumerate(axes):
        np.testing.assert_array_equal(data(ax), W[unit].reshape(4, 5))
        assert ax.get_title() == str(unit)


def test_shared_scale_is_symmetric_and_the_same_for_every_tile():
    mlp = small_mlp(sizes=(20, 7, 3))
    v = np.abs(mlp.layers[0].weight).max()
    fig = plot_weight_images(mlp)
    assert {clim(ax) for ax in image_axes(fig)} == {(-v, v)}
    assert "one colour scale for all tiles" in fig.get_suptitle()
    (cbar,) = colorbar_axes(fig)
    assert cbar.get_ylim() == pytest.approx((-v, v))


def test_per_tile_scale_is_symmetric_per_tile_and_said():
    mlp = small_mlp(sizes=(20, 7, 3))
    W = mlp.layers[0].weight
    fig = plot_weight_images(mlp, shared_scale=False)
    for unit, ax in enumerate(image_axes(fig)):
        v = np.abs(W[unit]).max()
        assert clim(ax) == (-v, v)
    assert "each tile scaled to its own" in fig.get_suptitle()
    labels = [t.get_text() for t in colorbar_axes(fig)[0].get_yticklabels()]
    assert labels == ["\u2212max", "0", "+max"]


def test_units_subset_in_the_given_order_and_grid_shape():
    mlp = small_mlp(sizes=(20, 12, 3))
    W = mlp.layers[0].weight
    fig = plot_weight_images(mlp, units=[9, 2, 5], ncols=2, colorbar=False)
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["9", "2", "5"]
    for unit, ax in zip([9, 2, 5], axes):
        np.testing.assert_array_equal(data(ax), W[unit].reshape(4, 5))
    assert axes[0].get_subplotspec().get_geometry()[:2] == (2, 2)
    assert len(fig.axes) == 3  # the unused fourth cell is removed, no colour bar
    assert not colorbar_axes(fig)
    assert "one colour scale" in fig.get_suptitle()


@pytest.mark.parametrize(("n", "shape"), [(30, (3, 10)), (16, (2, 8)), (5, (1, 5))])
def test_default_grid_is_at_most_ten_wide_and_balanced(n, shape):
    mlp = small_mlp(sizes=(20, n, 3))
    fig = plot_weight_images(mlp)
    assert image_axes(fig)[0].get_subplotspec().get_geometry()[:2] == shape


def test_deeper_layer_in_input_space_and_in_its_own_space():
    mlp = small_mlp(sizes=(20, 6, 4, 3))
    W0, W1 = mlp.layers[0].weight, mlp.layers[1].weight
    fig = plot_weight_images(mlp, layer=1)
    for unit, ax in enumerate(image_axes(fig)):
        np.testing.assert_allclose(data(ax), (W1 @ W0)[unit].reshape(4, 5))
    assert "input space" in fig.get_suptitle()
    own = plot_weight_images(mlp, layer=1, space="own")
    for unit, ax in enumerate(image_axes(own)):
        np.testing.assert_array_equal(data(ax), W1[unit].reshape(2, 3))
    wide = plot_weight_images(mlp, layer=1, space="own", shape=(1, 6))
    assert data(image_axes(wide)[0]).shape == (1, 6)


def test_output_layer_titles_carry_class_names_when_not_the_index():
    mlp = small_mlp(class_names=["cat", "dog", "fox"])
    fig = plot_weight_images(mlp, layer=-1, space="own")
    assert [ax.get_title() for ax in image_axes(fig)] == ["0: cat", "1: dog", "2: fox"]


def test_output_weights_titled_with_class_names():
    mlp = small_mlp(sizes=(20, 30, 3), class_names=["cat", "dog", "fox"])
    W = mlp.layers[-1].weight
    fig = plot_output_weights(mlp)
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["cat", "dog", "fox"]
    v = np.abs(W).max()
    for unit, ax in enumerate(axes):
        np.testing.assert_array_equal(data(ax), W[unit].reshape(5, 6))
        assert clim(ax) == (-v, v)
    assert "6r + c" in fig.get_suptitle()


def test_output_weights_without_names_use_indices_and_options():
    mlp = small_mlp(sizes=(20, 7, 4), input_shape=None)
    W = mlp.layers[-1].weight
    fig = plot_output_weights(mlp, units=[3, 1], shared_scale=False, shape=(7, 1))
    axes = image_axes(fig)
    assert [ax.get_title() for ax in axes] == ["3", "1"]
    for unit, ax in zip([3, 1], axes):
        np.testing.assert_array_equal(data(ax), W[unit].reshape(7, 1))
        v = np.abs(W[unit]).max()
        assert clim(ax) == (-v, v)


def test_draws_into_a_given_figure_and_subfigure():
    mlp = small_mlp()
    fig = Figure()
    assert plot_weight_images(mlp, fig=fig) is fig
    assert len(image_axes(fig)) == 6
    parent = Figure(layout="constrained")
    left, right = parent.subfigures(1, 2)
    # A subfigure's plot returns the root figure holding it.
    assert plot_weight_images(mlp, fig=left) is parent
    assert plot_output_weights(mlp, fig=right) is parent
    assert len(image_axes(parent)) == 6 + 3
    assert all(ax.get_figure(root=False) is left for ax in image_axes(parent)[:6])


def test_draws_into_a_pyplot_figure_without_opening_another():
    mlp = small_mlp()
    fig = plt.figure()
    try:
        count = len(plt.get_fignums())
        assert plot_weight_images(mlp, fig=fig) is fig
        assert len(plt.get_fignums()) == count
        assert len(image_axes(fig)) == 6
    finally:
        plt.close(fig)


def test_accepts_any_adaptable_model():
    net = Network([16, 3, 2], seed=0, input_shape=(4, 4))
    fig = plot_weight_images(net)
    np.testing.assert_array_equal(
        data(image_axes(fig)[1]), net.weights[0][1].reshape(4, 4)
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"space": "pixels"}, "space"),
        ({"ncols": 0}, "ncols"),
        ({"units": [0, 99]}, r"units\[1\]"),
        ({"units": []}, "units"),
        ({"layer": 5}, "layer"),
        ({"shape": (3, 3)}, "shape"),
        ({"fig": "figure"}, "fig"),
        ({"shared_scale": "yes"}, "shared_scale"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        plot_weight_images(small_mlp(), **kwargs)


@settings(max_examples=12, deadline=None)
@given(mlps(image_input=True, max_layers=2), st.booleans())
def test_any_layer_zero_tiles_equal_the_weights(mlp, shared):
    fig = plot_weight_images(mlp, shared_scale=shared, colorbar=False)
    W = mlp.layers[0].weight
    axes = image_axes(fig)
    assert len(axes) == W.shape[0]
    for unit, ax in enumerate(axes):
        np.testing.assert_array_equal(data(ax).ravel(), W[unit])
        lo, hi = clim(ax)
        assert lo == -hi > -np.inf and hi > 0


@settings(max_examples=12, deadline=None)
@given(mlps(min_layers=2, max_layers=3))
def test_any_output_layer_tiles_equal_the_weights(mlp):
    fig = plot_output_weights(mlp, colorbar=False)
    W = mlp.layers[-1].weight
    h, w = image_shape(W.shape[1])
    for unit, ax in enumerate(image_axes(fig)):
        np.testing.assert_array_equal(data(ax), W[unit].reshape(h, w))


def test_plot_preferred_input_shows_each_units_image_and_value():
    import numpy as np

    from mlpinspect import MLP, Dense, preferred_input
    from mlpinspect.plotting import plot_preferred_input

    rng = np.random.default_rng(1)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 12)), np.zeros(4), "tanh"),
            Dense(rng.normal(size=(3, 4)), np.zeros(3), "identity"),
        ],
        input_shape=(3, 4),
    )
    many = preferred_input(mlp, [2, 0], n_steps=15)
    fig = plot_preferred_input(many, shared_scale=True)
    tiles = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title().splitlines()[0] for ax in tiles] == ["unit 2", "unit 0"]
    for ax, image, value in zip(tiles, many.image, many.activation):
        np.testing.assert_array_equal(ax.images[0].get_array(), image)
        assert f"{value:.3g}" in ax.get_title()
        low, high = ax.images[0].get_clim()
        assert low == -high
    one = preferred_input(mlp, 1, n_steps=5)
    assert len([ax for ax in plot_preferred_input(one).axes if ax.images]) == 1


def test_plot_preferred_input_rejects_other_results():
    with pytest.raises(InvalidParameterError, match="PreferredInput"):
        plot_preferred_input({"image": [0.0]})


def test_plot_preferred_inputs_is_a_deprecated_alias():
    mlp = small_mlp(sizes=(20, 4, 3), input_shape=(4, 5))
    result = preferred_input(mlp, [0, 2], n_steps=5)
    with pytest.warns(DeprecationWarning, match="plot_preferred_input"):
        old = plot_preferred_inputs(result, shared_scale=True)
    new = plot_preferred_input(result, shared_scale=True)
    assert isinstance(old, Figure)
    for a, b in zip(image_axes(old), image_axes(new), strict=True):
        np.testing.assert_array_equal(data(a), data(b))
        assert a.get_title() == b.get_title()


# -- tabular models: ranked bars labelled with the feature names ----------------------

FEATURES = [f"feature {c}" for c in "abcdefghijklmnopqrst"]


def _tabular(**kwargs):
    mlp = small_mlp(input_shape=None, **kwargs)
    return mlp.replace(feature_names=FEATURES[: mlp.n_inputs])


def _check_bars(ax, values, names, top):
    """``ax`` shows the ``top`` largest |values|, largest first, as bars whose
    widths are exactly the values, labelled with their names, blue positive and
    red negative."""
    order = np.argsort(-np.abs(values), kind="stable")[:top]
    bars = bars_of(ax)
    assert [b.get_gid() for b in bars] == [f"feature {i}" for i in order]
    np.testing.assert_array_equal([b.get_width() for b in bars], values[order])
    assert all(b.get_x() == 0.0 for b in bars)
    assert tick_labels(ax) == [names[i] for i in order]
    for bar, value in zip(bars, values[order]):
        expected = POSITIVE_COLOR if value >= 0 else NEGATIVE_COLOR
        assert tuple(bar.get_facecolor()) == rgba(expected)


def test_tabular_first_layer_is_one_bar_chart_per_unit():
    mlp = _tabular(sizes=(20, 5, 3))
    W = mlp.layers[0].weight
    fig = plot_weight_images(mlp)
    assert image_axes(fig) == []
    axes = bar_axes(fig)
    assert [ax.get_title() for ax in axes] == [str(u) for u in range(5)]
    for unit, ax in enumerate(axes):
        _check_bars(ax, W[unit], FEATURES, top=10)
    # shared scale: one symmetric x range for every chart
    assert len({ax.get_xlim() for ax in axes}) == 1
    lo, hi = axes[0].get_xlim()
    assert lo == -hi and hi >= np.abs(W).max()
    assert "largest 10 of 20" in axes[0].get_xlabel()
    assert "one scale for all panels" in fig.get_suptitle()


def test_tabular_top_per_tile_scale_and_default_names():
    mlp = small_mlp(sizes=(6, 4, 3), input_shape=None)
    W = mlp.layers[0].weight
    fig = plot_weight_images(mlp, units=[3, 1], top=4, shared_scale=False)
    names = [f"x{i}" for i in range(6)]
    for unit, ax in zip([3, 1], bar_axes(fig), strict=True):
        _check_bars(ax, W[unit], names, top=4)
        lo, hi = ax.get_xlim()
        assert lo == -hi and hi == pytest.approx(1.05 * np.abs(W[unit]).max())


def test_tabular_deeper_layer_in_input_space_is_bars_own_space_images():
    mlp = _tabular(sizes=(20, 6, 4, 3))
    effective = mlp.layers[1].weight @ mlp.layers[0].weight
    fig = plot_weight_images(mlp, layer=1)
    for unit, ax in enumerate(bar_axes(fig)):
        _check_bars(ax, effective[unit], FEATURES, top=10)
    own = plot_weight_images(mlp, layer=1, space="own")
    assert len(image_axes(own)) == 4 and bar_axes(own) == []


def test_tabular_shape_asks_for_images():
    mlp = _tabular(sizes=(20, 5, 3))
    fig = plot_weight_images(mlp, shape=(4, 5))
    assert len(image_axes(fig)) == 5 and bar_axes(fig) == []


def test_the_input_shape_alone_chooses_images_or_bars():
    mlp = _tabular(sizes=(20, 3, 2))
    assert len(bar_axes(plot_weight_images(mlp))) == 3
    image_model = mlp.replace(input_shape=(4, 5))
    assert bar_axes(plot_weight_images(image_model)) == []
    assert len(image_axes(plot_weight_images(image_model))) == 3


def test_one_layer_tabular_output_weights_are_bars():
    mlp = _tabular(sizes=(20, 3), activations=("softmax",))
    mlp = mlp.replace(class_names=["a", "b", "c"])
    fig = plot_output_weights(mlp)
    axes = bar_axes(fig)
    assert [ax.get_title() for ax in axes] == ["a", "b", "c"]
    for unit, ax in enumerate(axes):
        _check_bars(ax, mlp.layers[0].weight[unit], FEATURES, top=10)


def test_tabular_preferred_input_is_bars():
    mlp = small_mlp(sizes=(6, 4, 3), input_shape=None)
    result = preferred_input(mlp, [1, 2], n_steps=5)
    fig = plot_preferred_input(result)
    axes = bar_axes(fig)
    assert [ax.get_title().splitlines()[0] for ax in axes] == ["unit 1", "unit 2"]
    for ax, image in zip(axes, result.image, strict=True):
        _check_bars(ax, image, [f"x{i}" for i in range(6)], top=10)
