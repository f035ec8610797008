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
    plot_decomposition,
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
    fig = plot_decomposition(dec, sample=2, unit=1)
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
    fig = plot_decomposition(dec, sample=0, unit=2)
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
    ax = _chart(plot_decomposition(dec, sample=1, unit=0, top=3))
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
    steps = _steps(_chart(plot_decomposition(dec, sample=0, unit=0)))
    assert len(steps) == 1 + 15 + 1


def test_input_image_beside_the_chart_by_default_or_given():
    _, X, dec = _setup()
    for fig in (
        plot_decomposition(dec, sample=3, unit=0),  # the input the result holds
        plot_decomposition(dec, sample=3, unit=0, x=X[3]),
    ):
        (panel,) = image_axes(fig)
        np.testing.assert_array_equal(data(panel), X[3].reshape(4, 5))
        assert panel.get_title() == "input"
    other = np.random.default_rng(9).random(20)
    (panel,) = image_axes(plot_decomposition(dec, sample=3, unit=0, x=other))
    np.testing.assert_array_equal(data(panel), other.reshape(4, 5))
    hidden = plot_decomposition(dec, sample=3, unit=0, show_input=False)
    assert image_axes(hidden) == []


def test_first_layer_shows_the_input_and_each_pixel_contribution():
    mlp, X, _ = _setup()
    dec = decompose(mlp, X, layer=0, units=[1, 4])
    fig = plot_decomposition(dec, sample=2, unit=4)
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
    assert plot_decomposition(dec, sample=0, unit=2, ax=ax) is fig
    assert len(plt.get_fignums()) == before
    assert fig.axes == [ax]
    assert patch_by_gid(ax, "pre-activation").get_width() == dec.pre_activation[0, 2]
    with pytest.raises(InvalidParameterError, match="fig="):
        plot_decomposition(dec, sample=0, unit=2, x=X[0], ax=ax)
    with pytest.raises(InvalidParameterError, match="either"):
        plot_decomposition(dec, sample=0, unit=2, ax=ax, fig=fig)


def test_units_by_name_and_single_unit_default():
    mlp, X, _ = _setup(class_names=["a", "b", "c"])
    dec = decompose(mlp, X, units=["c"])
    ax = _chart(plot_decomposition(dec, sample=1))
    assert patch_by_gid(ax, "pre-activation").get_width() == dec.pre_activation[1, 0]
    assert "'c'" in ax.get_title()
    full = decompose(mlp, X)
    ax = _chart(plot_decomposition(full, sample=1, unit="b"))
    assert patch_by_gid(ax, "pre-activation").get_width() == full.pre_activation[1, 1]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sample": 9, "unit": 0}, "sample"),
        ({"unit": 7}, "unit"),
        ({"unit": None}, "unit"),
        ({"unit": "zebra"}, "unit"),
        ({"unit": 0, "top": 0}, "top"),
        ({"unit": 0, "x": np.zeros(7)}, "x"),
        ({"unit": 0, "layer": 0}, "layer"),
        ({"unit": 0, "show_input": "yes"}, "show_input"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    _, _, dec = _setup()
    with pytest.raises(InvalidParameterError, match=match):
        plot_decomposition(dec, **kwargs)


def test_not_a_decomposition_nor_a_model_with_inputs():
    with pytest.raises(InvalidParameterError, match="decomposition"):
        plot_decomposition(np.zeros((2, 3)), sample=0, unit=0)
    with pytest.raises(InvalidParameterError, match="x"):
        plot_decomposition(small_mlp())


def test_a_model_is_decomposed_on_x():
    mlp, X, dec = _setup(class_names=["a", "b", "c"])
    fig = plot_decomposition(mlp, x=X, sample=2, unit="b")
    expected = plot_decomposition(dec, sample=2, unit="b")
    for got, want in zip(_steps(_chart(fig)), _steps(_chart(expected)), strict=True):
        assert got.get_gid() == want.get_gid()
        assert got.get_width() == want.get_width()
    first = decompose(mlp, X[1], layer=0, units=[4])
    fig = plot_decomposition(mlp, x=X[1], layer=0, unit=4)
    total = patch_by_gid(_chart(fig), "pre-activation")
    assert total.get_width() == first.pre_activation[0, 0]
    inputs, _ = image_axes(fig)  # the input and each pixel's contribution
    np.testing.assert_array_equal(data(inputs), X[1].reshape(4, 5))


def test_plot_contributions_is_a_deprecated_alias():
    _, X, dec = _setup()
    with pytest.warns(DeprecationWarning, match="plot_decomposition"):
        old = plot_contributions(dec, 2, 1, top=3)
    new = plot_decomposition(dec, sample=2, unit=1, top=3)
    assert isinstance(old, Figure)
    pairs = zip(_steps(_chart(old)), _steps(_chart(new)), strict=True)
    assert all(a.get_width() == b.get_width() for a, b in pairs)
    assert [t.get_text() for t in _chart(old).get_yticklabels()] == [
        t.get_text() for t in _chart(new).get_yticklabels()
    ]
    with (
        pytest.warns(DeprecationWarning, match="plot_decomposition"),
        pytest.raises(InvalidParameterError, match="decomposition"),
    ):
        plot_contributions(X, 0, 0)


# -- tabular models --------------------------------------------------------------------


FEATURES = tuple(f"f{i}" for i in range(20))


def test_tabular_first_layer_bars_are_labelled_with_the_feature_names():
    mlp = small_mlp(sizes=(20, 6, 3), input_shape=None).replace(feature_names=FEATURES)
    X = np.random.default_rng(3).random((4, 20))
    dec = decompose(mlp, X, layer=0, units=[2])
    fig = plot_decomposition(dec, sample=1, top=5)
    assert image_axes(fig) == []  # no input image: the inputs are not pixels
    ax = _chart(fig)
    c = dec.contributions[1, 0]
    order = np.argsort(-np.abs(c), kind="stable")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels == [
        "bias",
        *(FEATURES[i] for i in order[:5]),
        "15 other features",
        "= pre-activation",
    ]
    widths = [b.get_width() for b in _steps(ax)]
    np.testing.assert_array_equal(widths[1:6], c[order[:5]])
    assert widths[6] == pytest.approx(c[order[5:]].sum())
    assert patch_by_gid(ax, "pre-activation").get_width() == dec.pre_activation[1, 0]


def test_tabular_without_names_labels_x0_x1():
    mlp = small_mlp(sizes=(5, 3, 2), input_shape=None)
    X = np.random.default_rng(0).random((2, 5))
    dec = decompose(mlp, X, layer=0)
    ax = _chart(plot_decomposition(dec, unit=1))
    order = np.argsort(-np.abs(dec.contributions[0, 1]), kind="stable")
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[1:-1] == [f"x{i}" for i in order]
    # a later layer of a tabular model draws no input image either
    assert image_axes(plot_decomposition(decompose(mlp, X), unit=0)) == []


def test_dataframe_columns_label_the_bars():
    pd = pytest.importorskip("pandas")
    mlp = small_mlp(sizes=(4, 3, 2), input_shape=None)
    frame = pd.DataFrame(
        np.random.default_rng(1).random((3, 4)), columns=["age", "bmi", "bp", "s1"]
    )
    dec = decompose(mlp, frame, layer=0)
    ax = _chart(plot_decomposition(dec, sample=2, unit=0))
    labels = [t.get_text() for t in ax.get_yticklabels()][1:-1]
    assert sorted(labels) == ["age", "bmi", "bp", "s1"]


@settings(max_examples=15, deadline=None)
@given(mlps_and_inputs(max_rows=3), st.data())
def test_any_waterfall_ends_at_the_pre_activation(model_and_X, draw):
    mlp, X = model_and_X
    layer = draw.draw(st.integers(0, len(mlp.layers) - 1))
    dec = decompose(mlp, X, layer=layer)
    sample = draw.draw(st.integers(0, X.shape[0] - 1))
    unit = draw.draw(st.integers(0, len(dec.units) - 1))
    fig = Figure()
    ax = fig.subplots()
    assert plot_decomposition(dec, sample=sample, unit=unit, ax=ax) is fig
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
    assert plot_class_contributions(cc, ax=ax, colorbar=False) is fig
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
