import matplotlib.pyplot as plt
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.figure import Figure
from tests.plotting.helpers import (
    clim,
    colorbar_axes,
    data,
    image_axes,
    patch_by_gid,
    rgba,
    small_mlp,
)
from tests.strategies import mlps_and_inputs

from mlpinspect import InvalidParameterError
from mlpinspect.analysis import class_contributions, decompose
from mlpinspect.plotting import (
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    plot_class_contributions,
    plot_contributions,
)


def _setup(n=4, **kwargs):
    mlp = small_mlp(**kwargs)
    X = np.random.default_rng(3).random((n, mlp.n_inputs))
    return mlp, X, decompose(mlp, X)


def _chart(fig):
    """The waterfall Axes: the one with bars."""
    (ax,) = [ax for ax in fig.axes if ax.patches]
    return ax


def _steps(ax):
    """The step bars (everything but the total), top to bottom."""
    bars = [p for p in ax.patches if p.get_gid() != "pre-activation"]
    return sorted(bars, key=lambda p: p.get_y())


def test_waterfall_ends_at_the_pre_activation():
    *_, dec = _setup()
    fig = plot_contributions(dec, 2, 1)
    ax = _chart(fig)
    total = patch_by_gid(ax, "pre-activation")
    z = dec.pre_activation[2, 1]
    assert total.get_x() == 0.0
    assert total.get_width() == z
    steps = _steps(ax)
    # each step starts where the previous ended; the last ends at z
    position = 0.0
    for bar in steps:
        assert bar.get_x() == pytest.approx(position)  # a bar's x is where it starts
        position += bar.get_width()
    assert position == pytest.approx(z, rel=1e-12, abs=1e-12)


def test_steps_are_the_bias_then_contributions_by_magnitude():
    *_, dec = _setup(sizes=(20, 6, 3))
    fig = plot_contributions(dec, 0, 2)
    steps = _steps(_chart(fig))
    c = dec.contributions[0, 2]
    order = np.argsort(-np.abs(c), kind="stable")
    assert [b.get_gid() for b in steps] == ["bias"] + [f"source {s}" for s in order]
    widths = [b.get_width() for b in steps]
    assert widths[0] == dec.bias[2]
    np.testing.assert_array_equal(widths[1:], c[order])
    for bar, width in zip(steps, widths):
        expected = POSITIVE_COLOR if width >= 0 else NEGATIVE_COLOR
        assert tuple(bar.get_facecolor()) == rgba(expected)
    labels = [t.get_text() for t in _chart(fig).get_yticklabels()]
    assert labels == ["bias"] + [f"unit {s}" for s in order] + ["= pre-activation"]


def test_top_lumps_the_rest_into_one_bar():
    *_, dec = _setup(sizes=(20, 8, 3))
    ax = _chart(plot_contributions(dec, 1, 0, top=3))
    steps = _steps(ax)
    assert len(steps) == 1 + 3 + 1
    c = dec.contributions[1, 0]
    order = np.argsort(-np.abs(c), kind="stable")
    other = patch_by_gid(ax, "other")
    assert other.get_width() == pytest.approx(c[order[3:]].sum())
    assert "5 other units" in [t.get_text() for t in ax.get_yticklabels()]
    assert patch_by_gid(ax, "pre-activation").get_width() == dec.pre_activation[1, 0]


def test_many_sources_default_to_the_largest_fifteen():
    *_, dec = _setup(sizes=(20, 30, 3))
    steps = _steps(_chart(plot_contributions(dec, 0, 0)))
    assert len(steps) == 1 + 15 + 1


def test_input_image_beside_the_chart_when_given():
    _, X, dec = _setup()
    fig = plot_contributions(dec, 3, 0, x=X[3])
    (panel,) = image_axes(fig)
    np.testing.assert_array_equal(data(panel), X[3].reshape(4, 5))
    assert panel.get_title() == "input"
    # without x a later layer's decomposition has no input to show
    assert image_axes(plot_contributions(dec, 3, 0)) == []
    assert image_axes(plot_contributions(dec, 3, 0, x=X[3], show_input=False)) == []


def test_first_layer_shows_the_input_and_each_pixel_contribution():
    mlp, X, _ = _setup()
    dec = decompose(mlp, X, layer=0, units=[1, 4])
    fig = plot_contributions(dec, 2, 4)
    inputs, contributions = image_axes(fig)
    np.testing.assert_array_equal(data(inputs), X[2].reshape(4, 5))
    c = dec.contributions[2, 1].reshape(4, 5)
    np.testing.assert_array_equal(data(contributions), c)
    v = np.abs(c).max()
    assert clim(contributions) == (-v, v)
    labels = [t.get_text() for t in _chart(fig).get_yticklabels()]
    assert all(lbl.startswith("pixel (") for lbl in labels[1:-1])
    total = patch_by_gid(_chart(fig), "pre-activation")
    assert total.get_width() == dec.pre_activation[2, 1]


def test_draws_into_a_given_axes_without_a_new_figure():
    _, X, dec = _setup()
    fig = Figure()
    ax = fig.subplots()
    before = len(plt.get_fignums())
    assert plot_contributions(dec, 0, 2, ax=ax) is ax
    assert len(plt.get_fignums()) == before
    assert fig.axes == [ax]
    assert patch_by_gid(ax, "pre-activation").get_width() == dec.pre_activation[0, 2]
    with pytest.raises(InvalidParameterError, match="fig="):
        plot_contributions(dec, 0, 2, x=X[0], ax=ax)


def test_units_by_name_and_single_unit_default():
    mlp, X, _ = _setup(class_names=["a", "b", "c"])
    dec = decompose(mlp, X, units=["c"])
    ax = _chart(plot_contributions(dec, 1))
    assert patch_by_gid(ax, "pre-activation").get_width() == dec.pre_activation[1, 0]
    assert "'c'" in ax.get_title()
    full = decompose(mlp, X)
    ax = _chart(plot_contributions(full, 1, "b"))
    assert patch_by_gid(ax, "pre-activation").get_width() == full.pre_activation[1, 1]


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((9, 0), {}, "sample"),
        ((0, 7), {}, "unit"),
        ((0, None), {}, "unit"),
        ((0, "zebra"), {}, "unit"),
        ((0, 0), {"top": 0}, "top"),
        ((0, 0), {"x": np.zeros(7)}, "x"),
    ],
)
def test_bad_arguments_are_named(args, kwargs, match):
    _, _, dec = _setup()
    with pytest.raises(InvalidParameterError, match=match):
        plot_contributions(dec, *args, **kwargs)


def test_not_a_decomposition():
    with pytest.raises(InvalidParameterError, match="decomposition"):
        plot_contributions(np.zeros((2, 3)), 0, 0)


@settings(max_examples=15, deadline=None)
@given(mlps_and_inputs(max_rows=3), st.data())
def test_any_waterfall_ends_at_the_pre_activation(model_and_X, draw):
    mlp, X = model_and_X
    layer = draw.draw(st.integers(0, len(mlp.layers) - 1))
    dec = decompose(mlp, X, layer=layer)
    sample = draw.draw(st.integers(0, X.shape[0] - 1))
    unit = draw.draw(st.integers(0, len(dec.units) - 1))
    fig = Figure()
    ax = plot_contributions(dec, sample, unit, ax=fig.subplots())
    z = dec.pre_activation[sample, unit]
    assert patch_by_gid(ax, "pre-activation").get_width() == z
    end = sum(b.get_width() for b in _steps(ax))
    scale = np.abs(dec.contributions[sample, unit]).sum() + abs(dec.bias[unit]) + 1
    assert abs(end - z) <= 1e-12 * scale


# -- class contributions -----------------------------------------------------------


def _table(**kwargs):
    mlp = small_mlp(sizes=(20, 6, 3), **kwargs)
    rng = np.random.default_rng(4)
    X, y = rng.random((60, 20)), rng.integers(0, 3, size=60)
    return class_contributions(mlp, X, y)


def test_heat_map_shows_the_mean_contributions_on_a_symmetric_scale():
    cc = _table(class_names=["a", "b", "c"])
    fig = plot_class_contributions(cc)
    (ax,) = image_axes(fig)
    np.testing.assert_array_equal(data(ax), cc.mean_contribution)
    v = np.abs(cc.mean_contribution).max()
    assert clim(ax) == (-v, v)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(k) for k in range(6)]
    assert len(colorbar_axes(fig)) == 1
    assert len(ax.texts) == 0


def test_heat_map_annotations():
    cc = _table()
    (ax,) = image_axes(plot_class_contributions(cc, annotate="share"))
    texts = np.array([t.get_text() for t in ax.texts]).reshape(3, 6)
    expected = np.char.mod("%.0f", 100 * cc.positive_share)
    np.testing.assert_array_equal(texts, expected)
    (ax,) = image_axes(plot_class_contributions(cc, annotate="usage", colorbar=False))
    symbols = {
        "positive": "+",
        "negative": "\u2212",
        "in part": "\u00b1",
        "unused": "\u00b7",
    }
    texts = np.array([t.get_text() for t in ax.texts]).reshape(3, 6)
    np.testing.assert_array_equal(texts, np.vectorize(symbols.get)(cc.usage()))


def test_heat_map_into_a_given_axes():
    cc = _table()
    fig = Figure()
    ax = fig.subplots()
    assert plot_class_contributions(cc, ax=ax, colorbar=False) is ax
    assert fig.axes == [ax]
    np.testing.assert_array_equal(data(ax), cc.mean_contribution)


def test_heat_map_bad_arguments():
    cc = _table()
    with pytest.raises(InvalidParameterError, match="annotate"):
        plot_class_contributions(cc, annotate="numbers")
    with pytest.raises(InvalidParameterError, match="ax"):
        plot_class_contributions(cc, ax="axes")
    with pytest.raises(InvalidParameterError, match="class_contributions"):
        plot_class_contributions(cc.mean_contribution)
