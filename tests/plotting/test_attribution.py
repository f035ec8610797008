import numpy as np
import pytest
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

from mlpinspect import InvalidParameterError
from mlpinspect.analysis.attribution import attribute
from mlpinspect.plotting import NEGATIVE_COLOR, POSITIVE_COLOR, plot_attribution
from mlpinspect.plotting._colors import signed_rgba


def _setup(n=3):
    mlp = small_mlp()
    X = np.random.default_rng(5).random((n, 20))
    return mlp, X


def test_input_map_and_overlay_side_by_side():
    mlp, X = _setup(1)
    result = attribute(mlp, X, 1, method="integrated_gradients")
    fig = plot_attribution(result)  # x: the input the result holds
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
    fig = plot_attribution(results, X[0])
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
    fig = plot_attribution(results, overlay=False, shared_scale=True)
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
    for x in (None, X, X[2]):
        fig = plot_attribution(result, x, sample=2)
        inputs, attribution, _ = image_axes(fig)
        np.testing.assert_array_equal(data(inputs), X[2].reshape(4, 5))
        np.testing.assert_array_equal(data(attribution), result.values[2].reshape(4, 5))
        assert "output unit 2" in fig.get_suptitle()


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
        plot_attribution(attribution, x, **kwargs)


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
        {m: attribute(mlp, x, 1, method=m) for m in ("gradient", "deeplift")}
    )
    assert "output unit 1" in same.texts[0].get_text()
    mixed = plot_attribution(
        {
            "a": attribute(mlp, x, 0, method="gradient"),
            "b": attribute(mlp, x, 1, method="gradient"),
        },
    )
    title = mixed.texts[0].get_text()
    assert "different targets per column" in title
    assert "output unit 0" not in title


def test_the_old_argument_order_still_works_with_a_warning():
    mlp, X = _setup(1)
    results = {m: attribute(mlp, X, 1, method=m) for m in ("gradient", "deeplift")}
    with pytest.warns(DeprecationWarning, match=r"plot_attribution\(attribution, x\)"):
        old = plot_attribution(X[0], results)
    new = plot_attribution(results, X[0])
    assert isinstance(old, Figure)
    for a, b in zip(image_axes(old), image_axes(new), strict=True):
        for i in range(len(a.images)):
            np.testing.assert_array_equal(data(a, i), data(b, i))
    with pytest.warns(DeprecationWarning, match="attribution"):
        plot_attribution(X[0], results["gradient"])
    with pytest.warns(DeprecationWarning, match="attribution"):
        plot_attribution(X[0], list(results.values()))


def test_a_result_without_inputs_needs_x():
    import dataclasses

    mlp, X = _setup(1)
    bare = dataclasses.replace(attribute(mlp, X, 0, method="gradient"), inputs=None)
    with pytest.raises(InvalidParameterError, match="`x` is required"):
        plot_attribution(bare)
    inputs, *_ = image_axes(plot_attribution(bare, X))
    np.testing.assert_array_equal(data(inputs), X[0].reshape(4, 5))


def test_the_negative_class_of_a_binary_model_is_named():
    mlp = small_mlp(sizes=(20, 4, 1), activations=("sigmoid", "sigmoid"))
    mlp = mlp.replace(class_names=["no", "yes"])
    X = np.random.default_rng(0).random((2, 20))
    fig = plot_attribution(attribute(mlp, X, "no", method="gradient"), sample=1)
    assert "minus output unit 0" in fig.get_suptitle()
    assert "negative class" in fig.get_suptitle()
    fig = plot_attribution(attribute(mlp, X, "yes", method="gradient"))
    assert "output unit 0 (logit)" in fig.get_suptitle()


# -- tabular models --------------------------------------------------------------------

FEATURES = tuple(f"f{i}" for i in range(20))


def _check_bars(ax, values, names, top):
    order = np.argsort(-np.abs(values), kind="stable")[:top]
    bars = bars_of(ax)
    assert [b.get_gid() for b in bars] == [f"feature {i}" for i in order]
    np.testing.assert_array_equal([b.get_width() for b in bars], values[order])
    assert tick_labels(ax) == [names[i] for i in order]
    for bar, value in zip(bars, values[order]):
        expected = POSITIVE_COLOR if value >= 0 else NEGATIVE_COLOR
        assert tuple(bar.get_facecolor()) == rgba(expected)


def test_tabular_attributions_are_ranked_labelled_bars():
    mlp = small_mlp(input_shape=None).replace(feature_names=FEATURES)
    X = np.random.default_rng(5).random((3, 20))
    result = attribute(mlp, X, 2, method="integrated_gradients")
    fig = plot_attribution(result, sample=1)
    assert image_axes(fig) == []
    (ax,) = bar_axes(fig)
    _check_bars(ax, result.values[1], FEATURES, top=15)
    assert "largest 15 of 20" in ax.get_xlabel()
    assert "output unit 2" in fig.get_suptitle()


def test_tabular_methods_side_by_side_with_top_and_shared_scale():
    mlp = small_mlp(input_shape=None)
    X = np.random.default_rng(6).random((1, 20))
    results = {m: attribute(mlp, X, 0, method=m) for m in ("gradient", "deeplift")}
    names = [f"x{i}" for i in range(20)]
    fig = plot_attribution(results, top=4, shared_scale=True)
    axes = bar_axes(fig)
    assert [ax.get_title().splitlines()[0] for ax in axes] == list(results)
    for ax, result in zip(axes, results.values(), strict=True):
        _check_bars(ax, result.values[0], names, top=4)
    v = max(np.abs(r.values).max() for r in results.values())
    assert {ax.get_xlim() for ax in axes} == {(-1.45 * v, 1.45 * v)}


def test_dataframe_columns_label_the_attribution_bars():
    pd = pytest.importorskip("pandas")
    mlp = small_mlp(sizes=(4, 3, 2), input_shape=None)
    columns = ["age", "bmi", "bp", "s1"]
    frame = pd.DataFrame(np.random.default_rng(2).random((2, 4)), columns=columns)
    result = attribute(mlp, frame, 1, method="gradient_x_input")
    (ax,) = bar_axes(plot_attribution(result))
    _check_bars(ax, np.asarray(result.values)[0], columns, top=15)
