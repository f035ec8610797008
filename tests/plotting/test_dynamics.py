"""Training-dynamics figures: curves, the film strip and the animation draw
what the analysis computed, under one fixed colour scale."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import animation
from matplotlib.figure import Figure
from PIL import Image
from tests.plotting.helpers import clim, data, image_axes

from mlpinspect import (
    InvalidParameterError,
    Network,
    SnapshotRecorder,
    unit_dynamics,
    weight_images,
)
from mlpinspect.plotting import (
    animate_weight_images,
    plot_film_strip,
    plot_unit_dynamics,
    save_weight_animation,
)
from mlpinspect.plotting._colors import LINE_COLORS


@pytest.fixture(scope="module")
def histories():
    """Two small trainings with a snapshot per epoch (5 epochs)."""
    rng = np.random.default_rng(0)
    X = rng.random((80, 16))
    y = (X[:, :8].sum(axis=1) > 4).astype(int)
    out = {}
    for init in ("normal", "scaled"):
        net = Network([16, 6, 2], init=init, seed=0, input_shape=(4, 4))
        out[init] = net.fit(X, y, epochs=5, learning_rate=1.0, progress=False,
                            validation_data=(X[:30], y[:30]),
                            snapshots=SnapshotRecorder(every_epochs=1))  # fmt: skip
    return out


class Frames(animation.AbstractMovieWriter):
    """A movie writer that keeps what each frame showed (public writer API)."""

    def __init__(self):
        super().__init__(fps=5)
        self.images, self.titles = [], []

    def setup(self, fig, outfile, dpi=None):
        super().setup(fig, outfile, dpi=dpi)

    def grab_frame(self, **savefig_kwargs):
        self.images.append(
            [np.asarray(ax.images[0].get_array()).copy() for ax in image_axes(self.fig)]
        )
        self.titles.append(self.fig.get_suptitle())

    def finish(self):
        pass


# -- curves ----------------------------------------------------------------------------


def test_curves_draw_every_unit_and_the_mean(histories):
    dyn = unit_dynamics(histories["scaled"])
    fig = plot_unit_dynamics(dyn)
    assert isinstance(fig, Figure)
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert labels == [
        "cosine to initial weights",
        "change ‖w − w₀‖ / ‖w₀‖",
        "cosine to final weights",
        "smoothness (neighbour correlation)",
        "units formed (%)",
        "validation accuracy (%)",
    ]
    cos_ax = fig.axes[0]
    units = [line for line in cos_ax.lines if line.get_gid() == "units None"]
    assert len(units) == 6
    for j, line in enumerate(units):
        np.testing.assert_array_equal(line.get_ydata(), dyn.cosine_to_init[:, j])
    (mean,) = [line for line in cos_ax.lines if line.get_gid() == "mean None"]
    np.testing.assert_allclose(mean.get_ydata(), dyn.mean("cosine_to_init"))
    np.testing.assert_array_equal(mean.get_xdata(), dyn.times)
    (threshold,) = [
        line for line in fig.axes[2].lines if line.get_gid() == "threshold None"
    ]
    assert threshold.get_ydata()[0] == dyn.threshold
    (formed,) = fig.axes[4].lines
    np.testing.assert_allclose(formed.get_ydata(), 100 * dyn.formed_fraction)
    (accuracy,) = fig.axes[5].lines  # known after each epoch, not at the start
    recorded = histories["scaled"].snapshots.metrics["validation_accuracy"]
    np.testing.assert_allclose(accuracy.get_ydata(), 100 * recorded[1:])
    np.testing.assert_array_equal(accuracy.get_xdata(), dyn.times[1:])
    assert fig.axes[0].get_xlabel() == "epoch"


def test_two_trainings_share_the_panels_in_two_colours(histories):
    dyns = {name: unit_dynamics(h) for name, h in histories.items()}
    fig = plot_unit_dynamics(dyns, quantities=["cosine_to_final"], metric=None,
                             units=False)  # fmt: skip
    (ax,) = fig.axes
    means = [line for line in ax.lines if line.get_gid().startswith("mean")]
    assert [line.get_label() for line in means] == ["normal", "scaled"]
    assert [line.get_color() for line in means] == list(LINE_COLORS[:2])
    assert not [line for line in ax.lines if line.get_gid().startswith("units")]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["normal", "scaled"]


def test_curves_into_given_axes(histories):
    dyn = unit_dynamics(histories["normal"])
    fig = Figure()
    ax = fig.subplots()
    assert plot_unit_dynamics(dyn, quantities=["smoothness"], metric=None, ax=ax) is fig
    assert ax.get_ylabel().startswith("smoothness")
    fig = Figure()
    axes = fig.subplots(1, 2)
    plot_unit_dynamics(dyn, quantities=["formed"], metric="train_accuracy", ax=axes)
    assert axes[1].get_ylabel() == "train accuracy (%)"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"quantities": ["speed"]}, r"`quantities\[0\]` must be one of"),
        ({"quantities": "smoothness"}, "`quantities` must be a list"),
        ({"metric": "accuracy"}, "`metric` must be None, 'auto' or one of"),
        ({"quantities": [], "metric": None}, "nothing to draw"),
        ({"ax": [None]}, "one Axes per panel"),
        ({"units": "yes"}, "`units` must be True or False"),
    ],
)
def test_curve_arguments(histories, kwargs, match):
    dyn = unit_dynamics(histories["normal"])
    with pytest.raises(InvalidParameterError, match=match):
        plot_unit_dynamics(dyn, **kwargs)


def test_curves_need_dynamics(histories):
    with pytest.raises(InvalidParameterError, match="UnitDynamics"):
        plot_unit_dynamics(histories["normal"])
    with pytest.raises(InvalidParameterError, match=r"`dynamics\['a'\]`"):
        plot_unit_dynamics({"a": 1})
    fig = Figure()
    with pytest.raises(InvalidParameterError, match="either `ax=` or `fig=`"):
        plot_unit_dynamics(
            unit_dynamics(histories["normal"]), ax=fig.subplots(), fig=fig
        )


# -- the film strip --------------------------------------------------------------------


def test_film_strip_tiles_are_the_snapshots_weights(histories):
    snaps = histories["scaled"].snapshots
    fig = plot_film_strip(snaps, units=[4, 1], frames=3)
    tiles = image_axes(fig)
    assert len(tiles) == 2 * 3
    chosen = [0, 2, 5]  # three frames from the first to the last
    limit = max(
        np.abs(weight_images(snaps[s])[[4, 1]]).max() for s in chosen
    )  # one scale for every tile
    for k, ax in enumerate(tiles):
        row, col = divmod(k, 3)
        expected = weight_images(snaps[chosen[col]])[[4, 1][row]]
        np.testing.assert_array_equal(data(ax), expected)
        assert clim(ax) == pytest.approx((-limit, limit))
    accuracy = snaps.metrics["validation_accuracy"]
    assert (
        [ax.get_title() for ax in tiles[:3]]
        == [
            "epoch 0",  # no accuracy is known at the start
            *(f"epoch {s}\n{100 * accuracy[s]:.1f}%" for s in chosen[1:]),
        ]
    )
    assert tiles[0].get_ylabel() == "unit 4" and tiles[3].get_ylabel() == "unit 1"
    assert "one colour scale for all tiles" in fig.get_suptitle()


def test_film_strip_frames_and_scales(histories):
    snaps = histories["normal"].snapshots
    fig = plot_film_strip(snaps, frames=[-1, 0], scale="frame", colorbar=False)
    tiles = image_axes(fig)
    assert len(tiles) == 6 * 2  # default: every unit when fewer than 8
    for col, s in enumerate([5, 0]):
        limit = np.abs(weight_images(snaps[s])).max()
        assert clim(tiles[col]) == pytest.approx((-limit, limit))
    assert "each column scaled" in fig.get_suptitle()
    root = Figure()
    sub = root.subfigures(1, 2)[1]
    assert plot_film_strip(snaps, frames=1, fig=sub) is root


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"frames": 0}, "`frames` must be >= 1"),
        ({"frames": [0, 9]}, r"`frames\[1\]` must be <= 5"),
        ({"frames": "all"}, "`frames` must be a number"),
        ({"frames": []}, "at least one snapshot"),
        ({"scale": "row"}, "`scale` must be one of"),
        ({"units": [7]}, "units"),
    ],
)
def test_film_strip_arguments(histories, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        plot_film_strip(histories["normal"], **kwargs)


# -- the animation ---------------------------------------------------------------------


def test_animation_frames_keep_one_symmetric_scale(histories):
    snaps = histories["scaled"].snapshots
    fig = Figure()
    anim = animate_weight_images(snaps, fig=fig)
    limit = max(np.abs(weight_images(m)).max() for m in snaps)
    clims = {im.get_clim() for ax in fig.axes for im in ax.images}
    assert clims == {(-limit, limit)}
    writer = Frames()
    anim.save("unused.gif", writer=writer)
    assert len(writer.images) == len(snaps)
    for shown, mlp in zip(writer.images, snaps):
        np.testing.assert_array_equal(np.stack(shown), weight_images(mlp))
    assert writer.titles[2].startswith("Layer 0 over training: epoch 2 (step 16)")
    assert "validation accuracy" in writer.titles[2]
    assert {im.get_clim() for ax in fig.axes for im in ax.images} == clims


def test_animation_of_some_units_and_frames(histories):
    snaps = histories["normal"].snapshots
    anim = animate_weight_images(snaps, units=[2, 0], frames=[0, -1], ncols=1)
    writer = Frames()
    anim.save("unused.gif", writer=writer)
    assert len(writer.images) == 2
    np.testing.assert_array_equal(writer.images[1][0], weight_images(snaps[-1])[2])


def test_gif_has_one_frame_per_snapshot(histories, tmp_path):
    snaps = histories["scaled"].snapshots
    path = save_weight_animation(snaps, tmp_path / "units.gif", fps=5, dpi=40)
    assert path == tmp_path / "units.gif"
    with Image.open(path) as gif:
        assert gif.n_frames == len(snaps)
        assert gif.info["duration"] == 200
    assert [p.name for p in tmp_path.iterdir()] == ["units.gif"]
    fewer = save_weight_animation(histories["normal"], tmp_path / "few.gif",
                                  frames=3, dpi=30)  # fmt: skip
    with Image.open(fewer) as gif:
        assert gif.n_frames == 3


def test_a_failed_save_leaves_nothing(histories, tmp_path, monkeypatch):
    path = tmp_path / "units.gif"
    path.write_bytes(b"previous")

    grab = animation.PillowWriter.grab_frame

    def broken(self, **kwargs):
        if getattr(self, "_frames", None):  # the second frame fails
            raise OSError("disk full")
        grab(self, **kwargs)

    monkeypatch.setattr(animation.PillowWriter, "grab_frame", broken)
    with pytest.raises(OSError, match="disk full"):
        save_weight_animation(histories["normal"], path, dpi=30)
    assert [p.name for p in tmp_path.iterdir()] == ["units.gif"]
    assert path.read_bytes() == b"previous"


def test_animation_file_arguments(histories, tmp_path, monkeypatch):
    with pytest.raises(InvalidParameterError, match=r"must end in \.gif"):
        save_weight_animation(histories["normal"], tmp_path / "units.png")
    with pytest.raises(InvalidParameterError, match="`path` must be a file name"):
        save_weight_animation(histories["normal"], 3)
    with pytest.raises(InvalidParameterError, match="`fps` must be > 0"):
        save_weight_animation(histories["normal"], tmp_path / "u.gif", fps=0)
    monkeypatch.setattr(animation.writers, "is_available", lambda name: False)
    with pytest.raises(InvalidParameterError, match="needs ffmpeg"):
        save_weight_animation(histories["normal"], tmp_path / "units.mp4")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(
    not animation.writers.is_available("ffmpeg"), reason="ffmpeg is not installed"
)
def test_mp4_with_ffmpeg(histories, tmp_path):
    path = save_weight_animation(histories["normal"], tmp_path / "units.mp4", dpi=30)
    assert path.stat().st_size > 0


def test_a_tabular_model_is_drawn_as_rows_of_features():
    from mlpinspect import MLP, Dense, Snapshots

    rng = np.random.default_rng(0)
    models = [
        MLP([Dense(rng.normal(size=(3, 7)), np.zeros(3))], input_shape=(7,))
        for _ in range(2)
    ]
    fig = plot_film_strip(Snapshots.from_models(models), frames=2)
    tiles = image_axes(fig)
    assert [data(ax).shape for ax in tiles] == [(1, 7)] * 6
    np.testing.assert_array_equal(data(tiles[-1])[0], models[1].layers[0].weight[2])


def test_scored_snapshots_give_the_accuracy_from_the_start(histories):
    rng = np.random.default_rng(1)
    X = rng.random((40, 16))
    y = (X[:, :8].sum(axis=1) > 4).astype(int)
    dyn = unit_dynamics(histories["normal"], X=X, y=y)
    fig = plot_unit_dynamics(dyn, quantities=[])  # "auto" prefers "accuracy"
    (line,) = fig.axes[0].lines
    assert fig.axes[0].get_ylabel() == "accuracy (%)"
    np.testing.assert_allclose(line.get_ydata(), 100 * dyn.metrics["accuracy"])
    assert line.get_xdata()[0] == 0.0
