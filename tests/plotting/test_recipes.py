import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.plotting.helpers import (
    clim,
    colorbar_axes,
    data,
    image_axes,
    rgba,
    small_mlp,
    spine_colors,
)

from mlpinspect import InvalidParameterError
from mlpinspect.analysis import input_space_images, top_units, weight_images
from mlpinspect.plotting import (
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    plot_recipe,
    plot_recipes,
)
from mlpinspect.plotting._colors import format_value

NAMES = ["zero", "one", "two", "three"]


def _mlp(**kwargs):
    kwargs.setdefault("sizes", (20, 12, 4))
    kwargs.setdefault("class_names", NAMES)
    return small_mlp(**kwargs)


def _check_row(axes, mlp, top, symbol="w"):
    """The row shows the unit's weights, then exactly top_units' picks."""
    k = top.k
    assert len(axes) == 1 + 2 * k
    unit_image = weight_images(mlp, top.layer)[top.unit]
    np.testing.assert_array_equal(data(axes[0]), unit_image)
    sources = weight_images(mlp, top.layer - 1)
    picks = list(zip(top.excitatory, top.excitatory_values)) + list(
        zip(top.inhibitory, top.inhibitory_values)
    )
    for i, (ax, (source, value)) in enumerate(zip(axes[1:], picks)):
        index, caption = ax.get_title().split("\n")
        assert int(index) == int(source)
        assert caption == f"{symbol} = {format_value(float(value), '+')}"
        np.testing.assert_array_equal(data(ax), sources[source])
        frame = POSITIVE_COLOR if i < k else NEGATIVE_COLOR
        assert spine_colors(ax) == {rgba(frame)}
        assert all(s.get_linewidth() >= 2 for s in ax.spines.values())
    # The picked sources are written on their pixels of the unit's image.
    labels = {t.get_text() for t in axes[0].texts}
    assert labels == {str(int(s)) for s, _ in picks}


@pytest.mark.parametrize("unit", [0, 2, "three"])
def test_recipe_picks_exactly_what_top_units_returns(unit):
    mlp = _mlp()
    top = top_units(mlp, unit, k=3)
    fig = plot_recipe(mlp, unit)
    axes = image_axes(fig)
    _check_row(axes, mlp, top)
    assert axes[0].get_title() == f"{NAMES[top.unit]!r}\nweights"
    assert "blue" in fig.get_suptitle() and "red" in fig.get_suptitle()


def test_recipe_by_contribution_with_labels():
    mlp = _mlp()
    rng = np.random.default_rng(1)
    X, y = rng.random((40, 20)), rng.integers(0, 4, size=40)
    top = top_units(mlp, 1, k=2, by="contribution", X=X, y=y)
    fig = plot_recipe(mlp, 1, k=2, by="contribution", X=X, y=y)
    _check_row(image_axes(fig), mlp, top, symbol="c")
    assert "contribution" in fig.get_suptitle()


def test_recipe_scales_shared_over_the_layer_or_per_tile():
    mlp = _mlp()
    v_src = np.abs(mlp.layers[0].weight).max()
    v_out = np.abs(mlp.layers[1].weight).max()
    axes = image_axes(plot_recipe(mlp, 0))
    assert clim(axes[0]) == (-v_out, v_out)
    assert {clim(ax) for ax in axes[1:]} == {(-v_src, v_src)}
    axes = image_axes(plot_recipe(mlp, 0, shared_scale=False))
    for ax in axes:
        v = np.abs(data(ax)).max()
        assert clim(ax) == (-v, v)


def test_recipes_one_row_per_output_unit():
    mlp = _mlp()
    fig = plot_recipes(mlp, k=2)
    axes = image_axes(fig)
    assert len(axes) == 4 * 5
    for unit in range(4):
        row = axes[unit * 5 : (unit + 1) * 5]
        _check_row(row, mlp, top_units(mlp, unit, k=2))
    v_src = np.abs(mlp.layers[0].weight).max()
    sources = [ax for i, ax in enumerate(axes) if i % 5]
    assert {clim(ax) for ax in sources} == {(-v_src, v_src)}
    assert len(colorbar_axes(fig)) == 1


def test_recipes_subset_of_units_by_contribution_without_labels():
    mlp = _mlp()
    X = np.random.default_rng(2).random((25, 20))
    fig = plot_recipes(mlp, k=1, by="contribution", X=X, units=["two", 0])
    axes = image_axes(fig)
    assert len(axes) == 2 * 3
    _check_row(axes[:3], mlp, top_units(mlp, 2, k=1, by="contribution", X=X), "c")
    _check_row(axes[3:], mlp, top_units(mlp, 0, k=1, by="contribution", X=X), "c")
    assert "25 inputs" in fig.get_suptitle()


def test_deeper_network_sources_in_input_space_or_their_own():
    mlp = small_mlp(sizes=(20, 6, 4, 3))
    top = top_units(mlp, 1, k=1)
    axes = image_axes(plot_recipe(mlp, 1, k=1))
    in_input = input_space_images(mlp, 1)
    np.testing.assert_allclose(data(axes[1]), in_input[top.excitatory[0]])
    np.testing.assert_allclose(data(axes[2]), in_input[top.inhibitory[0]])
    axes = image_axes(plot_recipe(mlp, 1, k=1, space="own"))
    own = weight_images(mlp, 1)
    np.testing.assert_array_equal(data(axes[1]), own[top.excitatory[0]])
    # a hidden layer's recipe: its sources are the first layer's units
    top = top_units(mlp, 3, layer=1, k=2)
    _check_row(image_axes(plot_recipe(mlp, 3, layer=1, k=2)), mlp, top)


def test_k_is_clipped_to_the_fan_in():
    mlp = small_mlp(sizes=(20, 2, 3))
    axes = image_axes(plot_recipe(mlp, 0, k=5))
    assert len(axes) == 1 + 2 * 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"layer": 0}, "layer"),
        ({"by": "gradient"}, "by"),
        ({"by": "contribution"}, "X"),
        ({"k": 0}, "k"),
        ({"space": "other"}, "space"),
        ({"unit": "seven"}, "unit"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    kwargs.setdefault("unit", 0)
    with pytest.raises(InvalidParameterError, match=match):
        plot_recipe(_mlp(), **kwargs)
    units = [0, kwargs.pop("unit")]
    with pytest.raises(InvalidParameterError, match=match):
        plot_recipes(_mlp(), units=units, **kwargs)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 8))
def test_any_recipe_matches_top_units(seed, k, hidden):
    mlp = small_mlp(seed=seed, sizes=(20, hidden, 3))
    for unit in range(3):
        top = top_units(mlp, unit, k=k)
        _check_row(image_axes(plot_recipe(mlp, unit, k=k, colorbar=False)), mlp, top)
