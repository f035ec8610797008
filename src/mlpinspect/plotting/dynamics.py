"""Training dynamics as pictures: curves, a film strip and an animation.

- :func:`plot_unit_dynamics`: a :func:`~mlpinspect.unit_dynamics` result as
  curves over training, one thin line per unit and their mean, beside the
  accuracy; several trainings in one figure, one colour each;
- :func:`plot_film_strip`: a few units (rows) at a few moments of training
  (columns), one colour scale for every tile: the static figure for reports;
- :func:`animate_weight_images`: the weight-image grid of a layer over
  training as a :class:`matplotlib.animation.FuncAnimation`, with one fixed
  symmetric colour scale for every frame; :func:`save_weight_animation`
  writes it to a GIF (Pillow) or an MP4 (ffmpeg) file, atomically.

Weights follow the library's colour convention: blue positive, red negative,
white zero, on a scale symmetric about zero.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .._io import check_output_path, create_temp
from .._validation import check_choice, check_float, check_int, check_memory
from ..analysis.dynamics import QUANTITIES, UnitDynamics, as_snapshots
from ..analysis.images import weight_images
from ..analysis.snapshots import Snapshots
from ..errors import InvalidParameterError
from ._bars import is_tabular
from ._colors import LINE_COLORS, add_colorbar, scale_text, show_signed, tile_limits
from ._grid import (
    TILE_INCHES,
    TITLE_INCHES,
    check_ax,
    check_bool,
    check_ncols,
    grid_size,
    prepare_figure,
    resolve_unit_list,
    root_figure,
    set_title,
    tile_axes,
)

if TYPE_CHECKING:
    from matplotlib.animation import FuncAnimation
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase

__all__ = [
    "animate_weight_images",
    "plot_film_strip",
    "plot_unit_dynamics",
    "save_weight_animation",
]

PANELS = (*QUANTITIES, "formed")
"""What :func:`plot_unit_dynamics` can draw: the quantities of a
:class:`~mlpinspect.UnitDynamics` and ``"formed"`` (the share of units
formed)."""

_LABELS = {
    "cosine_to_init": "cosine to initial weights",
    "relative_change": "change ‖w − w₀‖ / ‖w₀‖",
    "cosine_to_final": "cosine to final weights",
    "smoothness": "smoothness (neighbour correlation)",
    "match_correlation": "correlation with final weights",
    "formed": "units formed (%)",
}
_METRICS = ("accuracy", "validation_accuracy", "train_accuracy")
"""Which accuracy the metric panel shows, in order of preference."""

_DEFAULT_UNITS = 8
_DEFAULT_FRAMES = 8


# -- curves ----------------------------------------------------------------------------


def _named_dynamics(dynamics: Any) -> list[tuple[str | None, UnitDynamics]]:
    if isinstance(dynamics, UnitDynamics):
        return [(None, dynamics)]
    if isinstance(dynamics, Mapping) and dynamics:
        items = [(str(k), v) for k, v in dynamics.items()]
        for name, value in items:
            if not isinstance(value, UnitDynamics):
                raise InvalidParameterError(
                    f"`dynamics[{name!r}]` must be a UnitDynamics (from "
                    f"mlpinspect.unit_dynamics); got {type(value).__name__}"
                )
        return items
    raise InvalidParameterError(
        f"`dynamics` must be a UnitDynamics (from mlpinspect.unit_dynamics) or a "
        f"non-empty dict of name -> UnitDynamics; got {type(dynamics).__name__}"
    )


def _metric_name(items: list[tuple[str | None, UnitDynamics]], metric: Any) -> Any:
    """The metric to draw: ``metric`` checked, or the first accuracy that some
    training has (None when none has one)."""
    if metric is None:
        return None
    if not isinstance(metric, str):
        raise InvalidParameterError(
            f"`metric` must be None, 'auto' or the name of a recorded metric (str); "
            f"got {metric!r:.60} ({type(metric).__name__})"
        )
    if metric == "auto":
        for name in _METRICS:
            if any(np.isfinite(d.metrics.get(name, [np.nan])).any() for _, d in items):
                return name
        return None
    known = sorted({k for _, d in items for k in d.metrics})
    if not isinstance(metric, str) or metric not in known:
        raise InvalidParameterError(
            f"`metric` must be None, 'auto' or one of the recorded metrics "
            f"{known}; got {metric!r}"
        )
    return metric


def plot_unit_dynamics(
    dynamics: Any,
    *,
    quantities: Sequence[str] = (
        "cosine_to_init",
        "relative_change",
        "cosine_to_final",
        "smoothness",
        "formed",
    ),
    metric: str | None = "auto",
    units: bool = True,
    ax: Axes | Sequence[Axes] | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw how the units move over training: one panel per quantity.

    Each panel has the training time on the x axis (epochs, or steps), one
    thin line per unit and a thick line for their mean. ``"cosine_to_final"``
    marks the threshold at which a unit counts as formed (dashed), and
    ``"formed"`` draws the share of units formed by each snapshot. A last
    panel shows the accuracy recorded with the snapshots (points where it is
    known). Several trainings (a dict) share the panels, one colour each.

    Parameters
    ----------
    dynamics : UnitDynamics or dict of str to UnitDynamics
        What :func:`mlpinspect.unit_dynamics` returned, or several named.
    quantities : sequence of str
        Panels, from ``"cosine_to_init"``, ``"relative_change"``,
        ``"cosine_to_final"``, ``"smoothness"``, ``"match_correlation"`` and
        ``"formed"``.
    metric : str or None, default "auto"
        The recorded number to draw in an extra panel: ``"auto"`` picks the
        first of ``accuracy`` (every snapshot scored by
        :func:`~mlpinspect.unit_dynamics`), ``validation_accuracy`` and
        ``train_accuracy`` that was recorded; None draws no such panel.
    units : bool, default True
        Draw each unit's own line (thin) under the mean.
    ax : matplotlib Axes or sequence of Axes, optional
        One Axes per panel to draw into (one Axes for a single panel).
    fig : matplotlib Figure or SubFigure, optional
        Draw the panels into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on: new, or the root figure of ``fig`` or ``ax``.

    Raises
    ------
    InvalidParameterError
        For a bad ``dynamics``, an unknown quantity or metric, the wrong
        number of Axes, or both ``ax`` and ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import Network, SnapshotRecorder, unit_dynamics
    >>> from mlpinspect.plotting import plot_unit_dynamics
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((60, 16)); y = (X[:, 0] > 0.5).astype(int)
    >>> net = Network([16, 4, 2], seed=0, input_shape=(4, 4))
    >>> history = net.fit(X, y, epochs=3, progress=False,
    ...                   snapshots=SnapshotRecorder(every_epochs=1))
    >>> fig = plot_unit_dynamics(unit_dynamics(history))
    >>> [ax.get_ylabel() for ax in fig.axes][-1]
    'train accuracy (%)'
    >>> len(fig.axes[0].lines)  # 4 units and their mean
    5
    """
    items = _named_dynamics(dynamics)
    if isinstance(quantities, str) or not isinstance(quantities, Sequence):
        raise InvalidParameterError(
            f"`quantities` must be a list of names from {list(PANELS)}; got "
            f"{quantities!r:.60}"
        )
    panels = [
        check_choice(q, f"quantities[{i}]", PANELS) for i, q in enumerate(quantities)
    ]
    metric = _metric_name(items, metric)
    if metric is not None:
        panels.append(metric)
    if not panels:
        raise InvalidParameterError("nothing to draw: `quantities` is empty, no metric")
    units = check_bool(units, "units")
    axes = _panel_axes(ax, fig, len(panels))
    for i, (name, dyn) in enumerate(items):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        for panel_ax, panel in zip(axes, panels):
            _draw_panel(panel_ax, dyn, panel, color, name, units)
    for panel_ax, panel in zip(axes, panels):
        _decorate_panel(panel_ax, panel, items)
    if len(items) > 1:
        handles, labels = axes[0].get_legend_handles_labels()
        root = axes[0].figure
        root.legend(
            handles, labels, loc="outside lower center", ncols=2, fontsize="small"
        )
    if ax is None:
        first = items[0][1]
        set_title(
            axes[0].figure,
            f"How the units of layer {first.layer} move over training (thin: each "
            f"unit; thick: their mean)",
        )
    return root_figure(axes[0])


def _panel_axes(ax: Any, fig: Any, n: int) -> list[Axes]:
    if ax is not None:
        if fig is not None:
            raise InvalidParameterError("pass either `ax=` or `fig=`, not both")
        many = isinstance(ax, (Sequence, np.ndarray)) and not isinstance(ax, str)
        axes = list(np.ravel(np.asarray(ax, dtype=object))) if many else [ax]
        if len(axes) != n:
            raise InvalidParameterError(
                f"`ax` must hold one Axes per panel ({n}); got {len(axes)}"
            )
        return [check_ax(a, f"ax[{i}]" if many else "ax") for i, a in enumerate(axes)]
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    fig = prepare_figure(fig, (3.6 * ncols + 0.4, 2.8 * nrows + 0.9))
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for extra in axes[n:]:
        extra.remove()
    return axes[:n]


def _draw_panel(
    ax: Axes, dyn: UnitDynamics, panel: str, color: str, name: str | None,
    units: bool,
) -> None:  # fmt: skip
    t = dyn.times
    label = name if name is not None else "mean over units"
    if panel == "formed":
        ax.step(t, 100.0 * dyn.formed_fraction, where="post", color=color,
                linewidth=2.0, label=label, gid=f"formed {name}")  # fmt: skip
        return
    if panel in QUANTITIES:
        values = getattr(dyn, panel)
        if units:
            ax.plot(t, values, color=color, alpha=0.25, linewidth=0.7,
                    gid=f"units {name}")  # fmt: skip
        ax.plot(t, dyn.mean(panel), color=color, linewidth=2.2, label=label,
                gid=f"mean {name}")  # fmt: skip
        if panel == "cosine_to_final":
            ax.axhline(dyn.threshold, color=color, linestyle="--", linewidth=0.9,
                       gid=f"threshold {name}")  # fmt: skip
        return
    values = np.asarray(dyn.metrics.get(panel, np.full(t.shape, np.nan)))
    known = np.isfinite(values)
    scale = 100.0 if panel.endswith("accuracy") else 1.0
    ax.plot(t[known], scale * values[known], color=color, marker=".", linewidth=1.5,
            label=label, gid=f"metric {name}")  # fmt: skip


def _decorate_panel(ax: Axes, panel: str, items: list) -> None:
    if panel in _LABELS:
        ylabel = _LABELS[panel]
    elif panel.endswith("accuracy"):
        ylabel = f"{panel.replace('_', ' ')} (%)"
    else:
        ylabel = panel.replace("_", " ")
    ax.set_ylabel(ylabel, fontsize="small")
    ax.set_xlabel(items[0][1].time_label)
    ax.grid(color="0.9", linewidth=0.6)
    ax.tick_params(labelsize="small")
    if panel == "formed":
        ax.set_ylim(-3, 103)


# -- frames and colour scales --------------------------------------------------------


def _frame_indices(n: int, frames: Any, default: int | None) -> list[int]:
    """Snapshot indices to show: all (``frames`` None and no default), ``frames``
    evenly spaced ones including the first and the last (an int), or the
    indices given."""
    if frames is None:
        frames = default
    if frames is None:
        return list(range(n))
    if isinstance(frames, (int, np.integer)) and not isinstance(frames, bool):
        count = check_int(frames, "frames", minimum=1)
        if count == 1:
            return [n - 1]
        picked = np.unique(np.round(np.linspace(0, n - 1, min(count, n))).astype(int))
        return picked.tolist()
    if isinstance(frames, (str, bytes)) or not isinstance(frames, Sequence | range):
        raise InvalidParameterError(
            f"`frames` must be a number of frames or a list of snapshot indices; got "
            f"{frames!r:.60}"
        )
    out = []
    for i, value in enumerate(frames):
        index = check_int(value, f"frames[{i}]", minimum=-n, maximum=n - 1)
        out.append(index % n)
    if not out:
        raise InvalidParameterError("`frames` must name at least one snapshot")
    return out


def _unit_images(snaps: Snapshots, index: int, layer: int, units: list[int]):
    """The units' weight images at snapshot ``index``. The first layer of a
    tabular model (1-D inputs) has no picture: each unit is one row of its
    features, in order, rather than a made-up 2-D arrangement."""
    shape = None
    if layer == 0 and is_tabular(snaps.input_shape):
        shape = (1, snaps.sizes[0])
    return weight_images(snaps[index], layer=layer, shape=shape)[units]


def _accuracy(snaps: Snapshots) -> tuple[str, np.ndarray] | None:
    """The accuracy recorded with the snapshots: (name, values), or None."""
    for name in _METRICS:
        values = snaps.metrics.get(name)
        if values is not None and np.isfinite(values).any():
            return name.replace("_", " "), values
    return None


def _frame_title(snaps: Snapshots, index: int) -> str:
    text = snaps.time_text(index)
    accuracy = _accuracy(snaps)
    if accuracy is not None and np.isfinite(accuracy[1][index]):
        text += f", {accuracy[0]} {100 * accuracy[1][index]:.1f}%"
    return text


def _column_title(snaps: Snapshots, index: int) -> str:
    """A film strip column's title: the time, then the accuracy (short)."""
    label = snaps.time_label
    text = f"{label} {float(snaps.times[index]):g}"
    accuracy = _accuracy(snaps)
    if accuracy is not None and np.isfinite(accuracy[1][index]):
        text += f"\n{100 * accuracy[1][index]:.1f}%"
    return text


def _setup(snapshots: Any, layer: Any, units: Any, default_units: int | None):
    snaps = as_snapshots(snapshots)
    final = snaps[-1]
    index = final.layer_index(layer)
    if units is None and default_units is not None:
        units = range(min(default_units, final.layers[index].n_out))
    return snaps, index, resolve_unit_list(final, index, units)


# -- the film strip ------------------------------------------------------------------


def plot_film_strip(
    snapshots: Any,
    *,
    layer: int = 0,
    units: int | str | Sequence[int | str] | None = None,
    frames: int | Sequence[int] = _DEFAULT_FRAMES,
    scale: str = "all",
    colorbar: bool = True,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw a few units at a few moments of training: a film strip.

    One row per unit, one column per snapshot, each tile the unit's weight
    image (as :func:`plot_weight_images` draws it), the columns titled with
    the epoch (and the accuracy when it was recorded).

    Parameters
    ----------
    snapshots : Snapshots, History, Network or list of models
        The weights over training (see :func:`mlpinspect.unit_dynamics`).
    layer : int, default 0
        The weight layer.
    units : int, str or sequence, optional
        The rows; default the first 8 units (all when fewer).
    frames : int or sequence of int, default 8
        How many snapshots, evenly spaced from the first to the last, or
        which (indices into ``snapshots``).
    scale : {"all", "frame"}, default "all"
        ``"all"``: one symmetric colour scale for every tile, so that growing
        weights look stronger; ``"frame"``: each column its own scale (its
        largest ``|weight|``), to see the pattern of small early weights.
        The title says which.
    colorbar : bool, default True
        Draw a colour bar (for ``scale="all"``).
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on: new, or the root figure of ``fig``.

    Raises
    ------
    InvalidParameterError
        For bad snapshots, ``layer``, ``units``, ``frames``, ``scale`` or
        ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, Snapshots
    >>> from mlpinspect.plotting import plot_film_strip
    >>> rng = np.random.default_rng(0)
    >>> start, end = rng.normal(size=(2, 3, 16))
    >>> snaps = Snapshots.from_models(
    ...     [MLP([Dense((1 - t) * start + t * end, np.zeros(3))], input_shape=(4, 4))
    ...      for t in np.linspace(0, 1, 11)])
    >>> fig = plot_film_strip(snaps, frames=4)
    >>> [ax.get_title() for ax in fig.axes[:4]]
    ['epoch 0', 'epoch 3', 'epoch 7', 'epoch 10']
    >>> sum(1 for ax in fig.axes if ax.images)  # 3 units x 4 frames
    12
    """
    snaps, index, unit_list = _setup(snapshots, layer, units, _DEFAULT_UNITS)
    chosen = _frame_indices(len(snaps), frames, None)
    scale = check_choice(scale, "scale", ("all", "frame"))
    colorbar = check_bool(colorbar, "colorbar")
    images = np.stack([_unit_images(snaps, s, index, unit_list) for s in chosen])
    n_frames, n_units = images.shape[:2]
    h, w = images.shape[2:]
    width, _ = grid_size(n_frames, n_frames, (h, w))
    height = n_units * (0.8 * TILE_INCHES * min(max(h / w, 0.2), 5.0) + 0.08)
    fig = prepare_figure(fig, (width + 0.5, height + TITLE_INCHES + 0.9))
    axes = np.array(tile_axes(fig, n_units * n_frames, n_frames)).reshape(
        n_units, n_frames
    )
    if scale == "all":
        limits = tile_limits([images], shared=True) * n_frames
    else:
        limits = tile_limits(list(images), shared=False)
    drawn = None
    for col, s in enumerate(chosen):
        for row, unit in enumerate(unit_list):
            ax = axes[row, col]
            drawn = show_signed(ax, images[col, row], limits[col])
            if row == 0:
                ax.set_title(_column_title(snaps, s), fontsize="small", pad=3)
            if col == 0:
                ax.set_ylabel(f"unit {unit}", fontsize="small")
    if colorbar and scale == "all":
        add_colorbar(fig, drawn, axes.ravel().tolist(), "weight")
    what = "incoming weights" if index == 0 else f"layer {index} weights"
    accuracy = _accuracy(snaps)
    under = "" if accuracy is None else f" and {accuracy[0]}"
    set_title(
        fig,
        f"Units of layer {index} over training ({what}; one row per unit, one "
        f"column per snapshot: {snaps.time_label}{under})\n"
        + (scale_text(True, "weight") if scale == "all" else "each column scaled "
           "to its own max |weight|"),
    )  # fmt: skip
    return root_figure(fig)


# -- the animation -------------------------------------------------------------------


def animate_weight_images(
    snapshots: Any,
    *,
    layer: int = 0,
    units: int | str | Sequence[int | str] | None = None,
    frames: int | Sequence[int] | None = None,
    ncols: int | None = None,
    interval: float = 200.0,
    fig: FigureBase | None = None,
) -> FuncAnimation:
    """The weight-image grid of a layer, animated over training.

    Each frame is one snapshot drawn as :func:`plot_weight_images` draws a
    network (one tile per unit, blue positive, red negative), under one
    fixed symmetric colour scale for every frame (the largest ``|weight|``
    over all frames), titled with the epoch and the recorded accuracy.
    Snapshots are read one frame at a time. The figure is laid out once, for
    the first frame, and keeps that layout (its layout engine is then
    ``"none"``), so the tiles stay in place.

    Parameters
    ----------
    snapshots : Snapshots, History, Network or list of models
        The weights over training (see :func:`mlpinspect.unit_dynamics`).
    layer : int, default 0
        The weight layer.
    units : int, str or sequence, optional
        The tiles; default every unit of the layer.
    frames : int or sequence of int, optional
        Every snapshot (default), a number of evenly spaced ones, or which.
    ncols : int, optional
        Tiles per row; default at most 10.
    interval : float, default 200
        Milliseconds between frames on screen.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one (e.g. ``plt.figure()``
        to show it in a notebook or a gallery).

    Returns
    -------
    matplotlib.animation.FuncAnimation
        Drawn on ``fig`` (a new figure when not given). Save it with
        ``anim.save("units.gif")`` or :func:`save_weight_animation`, or show
        it in a notebook with ``IPython.display.HTML(anim.to_jshtml())``.

    Raises
    ------
    InvalidParameterError
        For bad snapshots, ``layer``, ``units``, ``frames``, ``ncols``,
        ``interval`` or ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, Snapshots
    >>> from mlpinspect.plotting import animate_weight_images
    >>> rng = np.random.default_rng(0)
    >>> start, end = rng.normal(size=(2, 4, 16))
    >>> snaps = Snapshots.from_models(
    ...     [MLP([Dense((1 - t) * start + t * end, np.zeros(4))], input_shape=(4, 4))
    ...      for t in (0.0, 0.5, 1.0)])
    >>> from matplotlib.figure import Figure
    >>> fig = Figure()
    >>> anim = animate_weight_images(snaps, fig=fig)
    >>> html = anim.to_jshtml()  # or anim.save("units.gif")
    >>> limit = np.abs(np.stack([start, 0.5 * (start + end), end])).max()
    >>> {im.get_clim() for ax in fig.axes for im in ax.images} == {(-limit, limit)}
    True
    """
    from matplotlib.animation import FuncAnimation

    interval = check_float(interval, "interval", minimum=0.0, strict_minimum=True)
    root, update, n_frames = _weight_frames(snapshots, layer, units, frames, ncols,
                                            fig)  # fmt: skip
    return FuncAnimation(root, update, frames=n_frames, interval=interval, blit=False)


def _weight_frames(
    snapshots: Any, layer: Any, units: Any, frames: Any, ncols: Any, fig: Any
) -> tuple[Any, Callable[[int], list[Any]], int]:
    """The figure of the first frame, the function drawing frame ``i`` and the
    number of frames of :func:`animate_weight_images`."""
    snaps, index, unit_list = _setup(snapshots, layer, units, None)
    chosen = _frame_indices(len(snaps), frames, None)
    limit = tile_limits(
        [_unit_images(snaps, s, index, unit_list) for s in chosen], shared=True
    )[0]
    first = _unit_images(snaps, chosen[0], index, unit_list)
    h, w = first.shape[1:]
    ncols = check_ncols(ncols, len(unit_list))
    fig = prepare_figure(fig, grid_size(len(unit_list), ncols, (h, w)))
    axes = tile_axes(fig, len(unit_list), ncols)
    drawn = []
    for ax, image, unit in zip(axes, first, unit_list):
        drawn.append(show_signed(ax, image, limit))
        ax.set_title(str(unit), fontsize="small", pad=3)
    add_colorbar(fig, drawn[0], axes, "weight")

    def title(s: int) -> str:
        return (
            f"Layer {index} over training: {_frame_title(snaps, s)}\n"
            f"{scale_text(True, 'weight')}, the same in every frame"
        )

    heading = set_title(fig, title(chosen[0]))
    # Lay the figure out once, for the first frame, and keep that layout: the
    # tiles stay in place from frame to frame, and drawing a frame skips the
    # layout (most of its cost).
    root = root_figure(fig)
    root.draw_without_rendering()
    root.set_layout_engine("none")

    def update(frame: int) -> list[Any]:
        s = chosen[frame]
        images = _unit_images(snaps, s, index, unit_list)
        for artist, image in zip(drawn, images):
            artist.set_data(image)
        set_title(fig, title(s))
        return [*drawn, heading]

    return root, update, len(chosen)


_WRITERS = {".gif": "pillow", ".mp4": "ffmpeg"}
_MIN_DPI = 10.0  # below, FreeType cannot size the titles' letters (< 1 pixel)


def save_weight_animation(
    snapshots: Any,
    path: str | os.PathLike,
    *,
    layer: int = 0,
    units: int | str | Sequence[int | str] | None = None,
    frames: int | Sequence[int] | None = None,
    ncols: int | None = None,
    fps: float = 4.0,
    dpi: float = 80.0,
) -> Path:
    """Write the animation of :func:`animate_weight_images` to a file.

    ``.gif`` is written with Pillow (a matplotlib dependency), ``.mp4`` with
    ffmpeg when it is installed. The file is written to a temporary file in
    the same folder and renamed into place: an interrupted save leaves
    nothing behind.

    Parameters
    ----------
    snapshots : Snapshots, History, Network or list of models
        The weights over training.
    path : str or path-like
        Destination, ending in ``.gif`` or ``.mp4``.
    layer, units, frames, ncols
        As for :func:`animate_weight_images` (every snapshot is one frame by
        default).
    fps : float, default 4
        Frames per second.
    dpi : float, default 80
        Resolution of the frames, at least 10 (below, the titles' letters
        are smaller than a pixel and cannot be drawn).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InvalidParameterError
        For a path that does not end in ``.gif`` or ``.mp4``, an ``.mp4``
        without ffmpeg, or a bad argument of the animation.

    Notes
    -----
    Pillow keeps every frame in memory until the GIF is written: for very
    long trainings, choose fewer ``frames`` (or a lower ``dpi``).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from PIL import Image
    >>> from mlpinspect import MLP, Dense, Snapshots
    >>> from mlpinspect.plotting import save_weight_animation
    >>> rng = np.random.default_rng(0)
    >>> snaps = Snapshots.from_models(
    ...     [MLP([Dense(rng.normal(size=(2, 16)), np.zeros(2))], input_shape=(4, 4))
    ...      for _ in range(3)])
    >>> with tempfile.TemporaryDirectory() as d:
    ...     path = save_weight_animation(snaps, pathlib.Path(d) / "units.gif")
    ...     with Image.open(path) as gif:
    ...         n_frames = gif.n_frames
    >>> n_frames
    3
    """
    from matplotlib import animation

    if not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(
            f"`path` must be a file name ending in .gif or .mp4; got "
            f"{type(path).__name__}"
        )
    path = check_output_path(path)  # a file name: not a folder, FIFO or device
    suffix = path.suffix.lower()
    if suffix not in _WRITERS:
        raise InvalidParameterError(
            f"`path` must end in .gif (Pillow) or .mp4 (ffmpeg); got {path.name!r}"
        )
    fps = check_float(fps, "fps", minimum=0.0, strict_minimum=True)
    dpi = check_float(dpi, "dpi", minimum=_MIN_DPI)
    if suffix == ".mp4":
        if not animation.writers.is_available("ffmpeg"):
            raise InvalidParameterError(
                f"`path` {path.name!r} is an MP4, which needs ffmpeg, and ffmpeg is "
                f"not installed here; save a .gif (written with Pillow) instead"
            )
        writer = animation.FFMpegWriter(fps=fps)
    else:
        writer = animation.PillowWriter(fps=fps)
    root, update, n_frames = _weight_frames(snapshots, layer, units, frames, ncols,
                                            None)  # fmt: skip
    # The writer holds an RGBA copy of each frame besides the canvas.
    width, height = root.get_size_inches() * dpi
    check_memory(2 * 4 * width * height, "dpi", dpi, "each frame's pixels")
    anim = animation.FuncAnimation(
        root, update, frames=n_frames, interval=1000.0 / fps, blit=False
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path.parent, path.name, suffix=".tmp" + suffix)
    os.close(fd)  # the writer opens the file by name
    try:
        anim.save(tmp, writer=writer, dpi=dpi)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
