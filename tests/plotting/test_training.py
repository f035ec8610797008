import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from tests.plotting.helpers import (
    clim,
    colorbar_axes,
    data,
    image_axes,
    line_by_gid,
    small_mlp,
)

from mlpinspect import History, InvalidParameterError, Network
from mlpinspect.analysis import input_space_images
from mlpinspect.experiments import Comparison, SweepResult
from mlpinspect.plotting import plot_compare, plot_sweep, plot_training


def _history(epochs=4, validation=True, seed=0):
    rng = np.random.default_rng(seed)
    h = History()
    for e in range(1, epochs + 1):
        h.epoch.append(e)
        h.cost.append(float(rng.random()))
        h.train_accuracy.append(float(rng.random()))
        h.seconds.append(0.1)
        if validation:
            h.validation_cost.append(float(rng.random()))
            h.validation_accuracy.append(float(rng.random()))
    return h


def _comparison():
    nets = {
        "normal init": Network([16, 5, 2], init="normal", seed=0),
        "scaled init, L2": Network([16, 5, 2], init="scaled", seed=0),
    }
    return Comparison(
        names=list(nets),
        networks=nets,
        histories={n: _history(seed=i) for i, n in enumerate(nets)},
        test_accuracy={n: float("nan") for n in nets},
        configs={n: {} for n in nets},
    )


# -- training curves -----------------------------------------------------------------


def test_training_curves_show_the_history():
    h = _history()
    fig = plot_training(h)
    cost_ax, acc_ax = fig.axes
    np.testing.assert_array_equal(line_by_gid(cost_ax, "cost 0").get_ydata(), h.cost)
    np.testing.assert_array_equal(
        line_by_gid(cost_ax, "held-out cost 0").get_ydata(), h.validation_cost
    )
    np.testing.assert_allclose(
        line_by_gid(acc_ax, "train accuracy 0").get_ydata(),
        100 * np.array(h.train_accuracy),
    )
    val = line_by_gid(acc_ax, "held-out accuracy 0")
    np.testing.assert_allclose(val.get_ydata(), 100 * np.array(h.validation_accuracy))
    np.testing.assert_array_equal(val.get_xdata(), h.epoch)
    assert val.get_linestyle() == "--"
    assert val.get_label() == "held-out"
    title = fig.get_suptitle()
    assert f"final held-out accuracy {100 * h.validation_accuracy[-1]:.2f}%" in title
    assert "validation" not in title


def test_the_held_out_data_are_named_as_asked():
    h = _history()
    fig = plot_training(h, held_out_label="test")
    _, acc_ax = fig.axes
    assert [line.get_label() for line in acc_ax.lines] == ["training", "test"]
    assert "final test accuracy" in fig.get_suptitle()
    several = plot_training({"a": h, "b": _history(seed=1)}, held_out_label="test")
    assert "dashed: test" in several.get_suptitle()
    labels = {t.get_text() for t in several.legends[0].get_texts()}
    assert labels == {"a: training", "a: test", "b: training", "b: test"}
    for bad in ("", 3):
        with pytest.raises(InvalidParameterError, match="held_out_label"):
            plot_training(h, held_out_label=bad)


def test_any_object_with_the_history_lists_is_drawn():
    from types import SimpleNamespace

    h = SimpleNamespace(epoch=[1, 2, 3], cost=[3.0, 2.0, 1.0], train_accuracy=[0.1] * 3)
    fig = plot_training(h)
    cost_ax, acc_ax = fig.axes
    np.testing.assert_array_equal(line_by_gid(cost_ax, "cost 0").get_ydata(), h.cost)
    assert len(acc_ax.lines) == 1  # no held-out curves
    assert fig.get_suptitle() == "Training: 3 epochs"


def test_training_without_validation_and_from_a_trained_network():
    rng = np.random.default_rng(0)
    X, y = rng.random((40, 4)), rng.integers(0, 2, 40)
    net = Network([4, 3, 2], seed=0)
    net.fit(X, y, epochs=2, learning_rate=1.0, progress=False)
    fig = plot_training(net)
    cost_ax, acc_ax = fig.axes
    assert len(cost_ax.lines) == 1 and len(acc_ax.lines) == 1
    np.testing.assert_array_equal(cost_ax.lines[0].get_ydata(), net.history.cost)


def test_training_into_one_axes_uses_a_twin_axis():
    h = _history()
    fig = Figure()
    ax = fig.subplots()
    before = len(plt.get_fignums())
    assert plot_training(h, ax=ax) is fig
    assert len(plt.get_fignums()) == before
    assert len(fig.axes) == 2  # ax and its twin
    twin = next(a for a in fig.axes if a is not ax)
    np.testing.assert_array_equal(line_by_gid(twin, "cost 0").get_ydata(), h.cost)
    assert ax.get_ylabel() == "accuracy (%)"


def test_training_into_two_axes():
    h = _history()
    fig = Figure()
    axes = fig.subplots(1, 2)
    assert plot_training(h, ax=list(axes)) is fig
    assert len(fig.axes) == 2
    assert axes[0].get_ylabel() == "cost"


def test_training_of_several_networks_one_colour_each():
    comparison = _comparison()
    for source in (comparison, comparison.histories):
        fig = plot_training(source)
        cost_ax, _ = fig.axes
        first = line_by_gid(cost_ax, "cost 0")
        second = line_by_gid(cost_ax, "cost 1")
        assert first.get_color() != second.get_color()
        np.testing.assert_array_equal(
            second.get_ydata(), comparison.histories["scaled init, L2"].cost
        )
        assert len(fig.legends) == 1


@pytest.mark.parametrize(
    ("history", "match"),
    [
        (History(), "no epochs"),
        (Network([4, 3, 2]), "not been trained"),
        ({"a": 3}, "History"),
        (42, "history"),
    ],
)
def test_training_bad_histories(history, match):
    with pytest.raises(InvalidParameterError, match=match):
        plot_training(history)


# -- the sweep ---------------------------------------------------------------------


def _sweep():
    accuracy = np.array([[0.9, 0.92, 0.95], [0.2, 0.3, 0.25], [0.8, 0.84, 0.82]])
    return SweepResult(
        sizes=(10, 2, 4),
        seeds=(0, 1, 2),
        accuracy=accuracy,
        reference={2: 0.228, 10: 0.9343, 30: 0.95},
    )


def test_sweep_mean_band_runs_and_reference():
    sweep = _sweep()
    fig = plot_sweep(sweep)
    (ax,) = fig.axes
    mean = line_by_gid(ax, "mean")
    np.testing.assert_array_equal(mean.get_xdata(), [2, 4, 10])
    np.testing.assert_allclose(mean.get_ydata(), 100 * sweep.mean[[1, 2, 0]])
    runs = line_by_gid(ax, "runs")
    assert len(runs.get_xdata()) == 9
    (band,) = [c for c in ax.collections if c.get_gid() == "spread"]
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(100 * sweep.accuracy.min())
    assert ys.max() == pytest.approx(100 * sweep.accuracy.max())
    ref = line_by_gid(ax, "reference")
    np.testing.assert_array_equal(ref.get_xdata(), [2, 10, 30])
    np.testing.assert_allclose(ref.get_ydata(), [22.8, 93.43, 95.0])
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "4", "10", "30"]
    assert ax.get_xscale() == "log"


def test_sweep_std_band_without_extras_into_an_axes():
    sweep = _sweep()
    fig = Figure()
    ax = fig.subplots()
    assert (
        plot_sweep(sweep, spread="std", show_runs=False, reference=False, ax=ax) is fig
    )
    assert [line.get_gid() for line in ax.lines] == ["mean"]
    (band,) = ax.collections
    ys = band.get_paths()[0].vertices[:, 1]
    top = 100 * (sweep.mean + sweep.std)
    assert ys.max() == pytest.approx(top.max())


def test_sweep_is_duck_typed():
    from types import SimpleNamespace

    sweep = SimpleNamespace(sizes=[3, 1], accuracy=np.array([[0.9], [0.5]]))
    (ax,) = plot_sweep(sweep).axes
    np.testing.assert_allclose(line_by_gid(ax, "mean").get_ydata(), [50.0, 90.0])
    assert [line.get_gid() for line in ax.lines] == ["mean", "runs"]


def test_sweep_bad_arguments():
    with pytest.raises(InvalidParameterError, match="sweep"):
        plot_sweep({"sizes": [1]})
    bad = SweepResult(sizes=(1, 2), seeds=(0,), accuracy=np.zeros((3, 1)))
    with pytest.raises(InvalidParameterError, match="shape"):
        plot_sweep(bad)
    with pytest.raises(InvalidParameterError, match="spread"):
        plot_sweep(_sweep(), spread="iqr")


# -- networks side by side ----------------------------------------------------------


def test_compare_rows_are_models_columns_are_units():
    comparison = _comparison()
    fig = plot_compare(comparison, units=[0, 3, 1])
    axes = image_axes(fig)
    assert len(axes) == 2 * 3
    for r, name in enumerate(comparison.names):
        W = comparison.networks[name].weights[0]
        row = axes[3 * r : 3 * r + 3]
        assert row[0].get_ylabel().replace("\n", " ") == name
        v = np.abs(W[[0, 3, 1]]).max()
        for ax, unit in zip(row, [0, 3, 1]):
            np.testing.assert_array_equal(data(ax), W[unit].reshape(4, 4))
            assert ax.get_title() == str(unit)
            assert clim(ax) == (-v, v)  # one scale per row by default
    assert len(colorbar_axes(fig)) == 2
    assert "each row its own colour scale" in fig.get_suptitle()


def test_compare_scale_all_and_tile():
    comparison = _comparison()
    fig = plot_compare(comparison, units=range(3), scale="all")
    v = max(np.abs(n.weights[0][:3]).max() for n in comparison.networks.values())
    assert {clim(ax) for ax in image_axes(fig)} == {(-v, v)}
    assert len(colorbar_axes(fig)) == 1
    assert "one colour scale for all tiles" in fig.get_suptitle()
    fig = plot_compare(comparison, units=range(3), scale="tile")
    for ax in image_axes(fig):
        m = np.abs(data(ax)).max()
        assert clim(ax) == (-m, m)
    assert "each tile" in fig.get_suptitle()


def test_compare_lists_dicts_names_and_deeper_layers():
    a, b = (
        small_mlp(seed=1, sizes=(20, 6, 4, 3)),
        small_mlp(seed=2, sizes=(20, 6, 4, 3)),
    )
    fig = plot_compare([a, b], layer=1, names=["first", "second"])
    axes = image_axes(fig)
    assert len(axes) == 2 * 4  # default: every unit when there are <= 10
    assert [axes[0].get_ylabel(), axes[4].get_ylabel()] == ["first", "second"]
    np.testing.assert_allclose(data(axes[5]), input_space_images(b, layer=1)[1])
    fig = plot_compare({"x": a, "y": b}, layer=1, space="own", colorbar=False)
    np.testing.assert_array_equal(
        data(image_axes(fig)[0]), a.layers[1].weight[0].reshape(2, 3)
    )
    assert colorbar_axes(fig) == []
    unnamed = plot_compare([a, b])
    assert image_axes(unnamed)[0].get_ylabel() == "model 0"
    many = plot_compare([small_mlp(sizes=(20, 30, 3))])
    assert len(image_axes(many)) == 10  # default: the first ten units


@pytest.mark.parametrize(
    ("models", "kwargs", "match"),
    [
        ("nets", {}, "models"),
        ([], {}, "models"),
        ("pair", {"names": ["only one"]}, "names"),
        ("pair", {"scale": "column"}, "scale"),
        ("pair", {"units": [7]}, "units"),
        ("mixed", {}, "units"),
    ],
)
def test_compare_bad_arguments(models, kwargs, match):
    if models == "pair":
        models = [small_mlp(seed=1), small_mlp(seed=2)]
    elif models == "mixed":
        models = [small_mlp(), small_mlp(sizes=(20, 12, 3))]
    with pytest.raises(InvalidParameterError, match=match):
        plot_compare(models, **kwargs)
