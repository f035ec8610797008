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
    spine_colors,
    tick_labels,
)

from mlpinspect import InvalidParameterError
from mlpinspect.analysis import input_space_images, top_units, weight_images
from mlpinspect.plotting import (
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    plot_recipe,
    plot_recipes,
    plot_top_units,
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
    unit_image = weight_images(mlp, layer=top.layer)[top.unit]
    np.testing.assert_array_equal(data(axes[0]), unit_image)
    sources = weight_images(mlp, layer=top.layer - 1)
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
    fig = plot_top_units(mlp, unit)
    axes = image_axes(fig)
    _check_row(axes, mlp, top)
    assert axes[0].get_title() == f"{NAMES[top.unit]!r}\nweights"
    assert "blue" in fig.get_suptitle() and "red" in fig.get_suptitle()


def test_recipe_by_contribution_with_labels():
    mlp = _mlp()
    rng = np.random.default_rng(1)
    X, y = rng.random((40, 20)), rng.integers(0, 4, size=40)
    top = top_units(mlp, 1, k=2, by="contribution", X=X, y=y)
    fig = plot_top_units(mlp, 1, k=2, by="contribution", X=X, y=y)
    _check_row(image_axes(fig), mlp, top, symbol="c")
    assert "contribution" in fig.get_suptitle()


def test_recipe_scales_shared_over_the_layer_or_per_tile():
    mlp = _mlp()
    v_src = np.abs(mlp.layers[0].weight).max()
    v_out = np.abs(mlp.layers[1].weight).max()
    axes = image_axes(plot_top_units(mlp, 0))
    assert clim(axes[0]) == (-v_out, v_out)
    assert {clim(ax) for ax in axes[1:]} == {(-v_src, v_src)}
    axes = image_axes(plot_top_units(mlp, 0, shared_scale=False))
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
    axes = image_axes(plot_top_units(mlp, 1, k=1))
    in_input = input_space_images(mlp, layer=1)
    np.testing.assert_allclose(data(axes[1]), in_input[top.excitatory[0]])
    np.testing.assert_allclose(data(axes[2]), in_input[top.inhibitory[0]])
    axes = image_axes(plot_top_units(mlp, 1, k=1, space="own"))
    own = weight_images(mlp, layer=1)
    np.testing.assert_array_equal(data(axes[1]), own[top.excitatory[0]])
    # a hidden layer's recipe: its sources are the first layer's units
    top = top_units(mlp, 3, layer=1, k=2)
    _check_row(image_axes(plot_top_units(mlp, 3, layer=1, k=2)), mlp, top)


def test_k_is_clipped_to_the_fan_in():
    mlp = small_mlp(sizes=(20, 2, 3))
    axes = image_axes(plot_top_units(mlp, 0, k=5))
    assert len(axes) == 1 + 2 * 2


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"by": "gradient"}, "by"),
        ({"by": "contribution"}, "X"),
        ({"k": 0}, "k"),
        ({"space": "other"}, "space"),
        ({"unit": "seven"}, "unit"),
        ({"top": 0}, "top"),
        ({"layer": 5}, "layer"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    kwargs.setdefault("unit", 0)
    with pytest.raises(InvalidParameterError, match=match):
        plot_top_units(_mlp(), **kwargs)
    units = [0, kwargs.pop("unit")]
    with pytest.raises(InvalidParameterError, match=match):
        plot_recipes(_mlp(), units=units, **kwargs)


def test_recipes_refuse_the_first_layer():
    with pytest.raises(InvalidParameterError, match="plot_top_units"):
        plot_recipes(_mlp(), layer=0)


def test_a_top_units_result_takes_no_ranking_options():
    mlp = _mlp()
    top = top_units(mlp, 1, k=2)
    with pytest.raises(InvalidParameterError, match=r"`k`.*for a model"):
        plot_top_units(top, k=3)
    with pytest.raises(InvalidParameterError, match="`unit`, `X`"):
        plot_top_units(top, 2, X=np.zeros((2, 20)))
    with pytest.raises(InvalidParameterError, match="`unit` is required"):
        plot_top_units(mlp)


def test_a_top_units_result_without_its_model_is_refused():
    import dataclasses

    top = dataclasses.replace(top_units(_mlp(), 1), model=None)
    with pytest.raises(InvalidParameterError, match="holds no model"):
        plot_top_units(top)


@settings(max_examples=10, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 4), st.integers(1, 8))
def test_any_recipe_matches_top_units(seed, k, hidden):
    mlp = small_mlp(seed=seed, sizes=(20, hidden, 3))
    for unit in range(3):
        top = top_units(mlp, unit, k=k)
        axes = image_axes(plot_top_units(top, colorbar=False))
        _check_row(axes, mlp, top)


def test_plot_recipe_is_a_deprecated_alias():
    mlp = _mlp()
    with pytest.warns(DeprecationWarning, match="plot_top_units"):
        old = plot_recipe(mlp, "two", 2, "weight", shared_scale=False)
    new = plot_top_units(mlp, "two", k=2, shared_scale=False)
    assert isinstance(old, Figure)
    for a, b in zip(image_axes(old), image_axes(new), strict=True):
        np.testing.assert_array_equal(data(a), data(b))
        assert a.get_title() == b.get_title()
    assert old.get_suptitle() == new.get_suptitle()


def test_a_result_and_its_model_draw_the_same_figure():
    mlp = _mlp()
    X = np.random.default_rng(4).random((30, 20))
    top = top_units(mlp, 3, k=2, by="contribution", X=X, chunk_size=7)
    from_result = plot_top_units(top)
    from_model = plot_top_units(mlp, 3, k=2, by="contribution", X=X, chunk_size=7)
    _check_row(image_axes(from_result), mlp, top, symbol="c")
    for a, b in zip(image_axes(from_result), image_axes(from_model), strict=True):
        np.testing.assert_array_equal(data(a), data(b))
        assert a.get_title() == b.get_title()


# -- binary models -------------------------------------------------------------------


def _binary():
    mlp = small_mlp(sizes=(20, 6, 1), activations=("sigmoid", "sigmoid"))
    return mlp.replace(class_names=["ham", "spam"])


def test_the_negative_class_of_a_binary_model_has_the_flipped_weights():
    mlp = _binary()
    negative = top_units(mlp, "ham", k=2)
    assert negative.sign == -1.0
    fig = plot_top_units(negative)
    axes = image_axes(fig)
    w = mlp.layers[1].weight[0]
    np.testing.assert_array_equal(data(axes[0]), -w.reshape(2, 3))
    assert axes[0].get_title() == "'ham'\nweights"
    assert fig.get_suptitle().startswith("'ham'")
    sources = weight_images(mlp, layer=0)
    np.testing.assert_array_equal(data(axes[1]), sources[negative.excitatory[0]])
    assert int(axes[1].get_title().split("\n")[0]) == np.argmin(w)
    positive = plot_top_units(mlp, "spam", k=2)
    np.testing.assert_array_equal(data(image_axes(positive)[0]), w.reshape(2, 3))


def test_binary_recipes_show_both_classes():
    mlp = _binary()
    axes = image_axes(plot_recipes(mlp, k=1))
    assert len(axes) == 2 * 3
    assert [axes[0].get_title(), axes[3].get_title()] == [
        "'ham'\nweights",
        "'spam'\nweights",
    ]
    _check_row(axes[3:], mlp, top_units(mlp, "spam", k=1))


def test_int_and_bool_class_labels_are_shown_as_text():
    mlp = _mlp().replace(class_names=[10, 20, 30, 40])
    fig = plot_top_units(mlp, "30", k=1)
    assert image_axes(fig)[0].get_title() == "'30'\nweights"
    binary = _binary().replace(class_names=[False, True])
    fig = plot_top_units(binary, False, k=1)
    assert image_axes(fig)[0].get_title() == "'False'\nweights"


# -- the first layer: input features or pixels ----------------------------------------


FEATURES = tuple(f"feature {i}" for i in range(20))


def _tabular(**kwargs):
    kwargs.setdefault("sizes", (20, 12, 4))
    return small_mlp(input_shape=None, **kwargs).replace(feature_names=FEATURES)


def test_tabular_first_layer_picks_are_labelled_bars():
    mlp = _tabular()
    top = top_units(mlp, 5, layer=0, k=3)
    fig = plot_top_units(top)
    (ax,) = fig.axes
    bars = sorted(ax.patches, key=lambda p: p.get_y())
    picks = [*top.excitatory, *top.inhibitory]
    kinds = ["excitatory"] * 3 + ["inhibitory"] * 3
    assert [b.get_gid() for b in bars] == [f"{k} {s}" for k, s in zip(kinds, picks)]
    values = np.r_[top.excitatory_values, top.inhibitory_values]
    np.testing.assert_array_equal([b.get_width() for b in bars], values)
    assert [t.get_text() for t in ax.get_yticklabels()] == [FEATURES[s] for s in picks]
    for bar, value in zip(bars, values):
        expected = POSITIVE_COLOR if value >= 0 else NEGATIVE_COLOR
        assert tuple(bar.get_facecolor()) == rgba(expected)


def test_dataframe_columns_name_the_picked_features():
    pd = pytest.importorskip("pandas")
    mlp = small_mlp(sizes=(4, 3, 2), input_shape=None)
    columns = ["age", "bmi", "bp", "s1"]
    frame = pd.DataFrame(np.random.default_rng(1).random((10, 4)), columns=columns)
    top = top_units(mlp, 1, layer=0, k=1, by="contribution", X=frame)
    (ax,) = plot_top_units(top).axes
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [columns[top.excitatory[0]], columns[top.inhibitory[0]]]


def test_tabular_sources_are_bar_charts_of_their_weights():
    mlp = _tabular()
    top = top_units(mlp, 2, k=2)
    fig = plot_top_units(top, top=4)
    (unit_ax,) = image_axes(fig)  # the unit's weights over hidden units: an image
    np.testing.assert_array_equal(data(unit_ax), mlp.layers[1].weight[2].reshape(3, 4))
    charts = bar_axes(fig)
    assert len(charts) == 4
    W0 = mlp.layers[0].weight
    for ax, source in zip(charts, [*top.excitatory, *top.inhibitory], strict=True):
        order = np.argsort(-np.abs(W0[source]), kind="stable")[:4]
        bars = bars_of(ax)
        np.testing.assert_array_equal([b.get_width() for b in bars], W0[source][order])
        assert tick_labels(ax) == [FEATURES[i] for i in order]
        assert int(ax.get_title().split("\n")[0]) == source
    # one scale for every source chart by default
    v = np.abs(W0).max()
    assert {ax.get_xlim() for ax in charts} == {(-1.05 * v, 1.05 * v)}


def test_tabular_recipes_rows_of_bar_charts():
    mlp = _tabular(sizes=(20, 6, 3))
    fig = plot_recipes(mlp, k=1)
    assert len(image_axes(fig)) == 3
    assert len(bar_axes(fig)) == 3 * 2


def test_image_first_layer_marks_the_picked_pixels():
    mlp = _mlp()
    top = top_units(mlp, 4, layer=0, k=2)
    fig = plot_top_units(top)
    (ax,) = image_axes(fig)
    np.testing.assert_array_equal(data(ax), mlp.layers[0].weight[4].reshape(4, 5))
    marks = {c.get_gid(): c.get_offsets() for c in ax.collections}
    for kind in ("excitatory", "inhibitory"):
        rows, cols = np.divmod(getattr(top, kind), 5)
        np.testing.assert_array_equal(marks[kind], np.c_[cols, rows])
