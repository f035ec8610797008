"""Training curves, the hidden-size sweep, and networks side by side."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_choice
from ..adapters import adapt
from ..analysis.images import input_space_images, weight_images
from ..errors import InvalidParameterError
from ._colors import (
    LINE_COLORS,
    NEUTRAL_COLOR,
    add_colorbar,
    add_relative_colorbar,
    show_signed,
    tile_limits,
)
from ._grid import (
    TILE_INCHES,
    TITLE_INCHES,
    check_ax,
    check_bool,
    prepare_figure,
    resolve_unit_list,
    root_figure,
    set_title,
    single_axes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase

__all__ = ["plot_compare", "plot_sweep", "plot_training"]


# -- training curves ---------------------------------------------------------------


_HISTORY_FIELDS = ("epoch", "cost", "train_accuracy")
"""What a training history must have; ``validation_cost`` and
``validation_accuracy`` (the held-out data's) are optional."""


def _is_history(value: Any) -> bool:
    """Whether ``value`` reads like a History (duck-typed, so plotting needs
    not import the trainer)."""
    return all(hasattr(value, name) for name in _HISTORY_FIELDS)


def _histories(history: Any) -> list[tuple[str | None, Any]]:
    """``(name, history)`` pairs from a History, Network, Comparison or mapping."""
    if _is_history(history):
        items: list[tuple[str | None, Any]] = [(None, history)]
    elif isinstance(getattr(history, "histories", None), Mapping) and hasattr(
        history, "names"
    ):  # a Comparison
        items = [(str(name), history.histories[name]) for name in history.names]
    elif isinstance(history, Mapping):
        items = [(str(k), v) for k, v in history.items()]
    elif hasattr(history, "history") and hasattr(history, "fit"):  # a Network
        if history.history is None:
            raise InvalidParameterError(
                "`history` is a network that has not been trained (its `history` "
                "is None); call fit first or pass the History fit returned"
            )
        items = [(None, history.history)]
    else:
        raise InvalidParameterError(
            f"`history` must be a History (from Network.fit), a trained Network, "
            f"a Comparison or a dict of name -> History; got {type(history).__name__}"
        )
    if not items:
        raise InvalidParameterError("`history` must hold at least one History")
    for name, value in items:
        if not _is_history(value):
            raise InvalidParameterError(
                f"`history` entry {name!r} must be a History (with "
                f"{', '.join(_HISTORY_FIELDS)}); got {type(value).__name__}"
            )
        if len(value.epoch) == 0:
            raise InvalidParameterError(
                f"`history` {'entry ' + repr(name) + ' ' if name else ''}has no "
                f"epochs to draw"
            )
    return items


def _percent(values: Sequence[float]) -> np.ndarray:
    return 100.0 * np.asarray(values, dtype=np.float64)


def _held_out(h: Any, field: str, n_epochs: int) -> Sequence[float] | None:
    """The held-out curve ``field`` of ``h`` when it has one value per epoch."""
    values = getattr(h, field, None)
    if values is None or len(values) != n_epochs:
        return None
    return values


def _draw_curves(
    cost_ax: Axes, acc_ax: Axes, items: list[tuple[str | None, Any]], held_out: str
) -> None:
    single = len(items) == 1
    for i, (name, h) in enumerate(items):
        color = LINE_COLORS[i % len(LINE_COLORS)]
        prefix = "" if single else f"{name}: "
        epochs = np.asarray(h.epoch)
        cost_ax.plot(
            epochs,
            h.cost,
            color=color,
            marker=".",
            label=f"{prefix}training",
            gid=f"cost {i}",
        )
        acc_ax.plot(
            epochs,
            _percent(h.train_accuracy),
            color=color,
            marker=".",
            label=f"{prefix}training",
            gid=f"train accuracy {i}",
        )
        cost = _held_out(h, "validation_cost", len(epochs))
        if cost is not None:
            cost_ax.plot(
                epochs,
                cost,
                color=color,
                linestyle="--",
                marker=".",
                label=f"{prefix}{held_out}",
                gid=f"held-out cost {i}",
            )
        accuracy = _held_out(h, "validation_accuracy", len(epochs))
        if accuracy is not None:
            acc_ax.plot(
                epochs,
                _percent(accuracy),
                color=color,
                linestyle="--",
                marker=".",
                label=f"{prefix}{held_out}",
                gid=f"held-out accuracy {i}",
            )


def _integer_epochs(ax: Axes) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def plot_training(
    history: Any,
    *,
    held_out_label: str = "held-out",
    ax: Axes | Sequence[Axes] | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw cost and accuracy per epoch, for the training and held-out data.

    Two panels: the cost (left) and the accuracy in percent (right),
    training solid, held-out data (the ``validation_data`` given to
    :meth:`~mlpinspect.Network.fit`) dashed. Several histories (a
    :class:`~mlpinspect.experiments.Comparison` or a dict) get one colour
    each.

    Parameters
    ----------
    history : History, Network, Comparison or dict of str to History
        What :meth:`mlpinspect.Network.fit` returned (or a trained network,
        whose ``history`` is used), or several named histories. Any object
        with ``epoch``, ``cost`` and ``train_accuracy`` lists (and optionally
        ``validation_cost`` and ``validation_accuracy``) will do.
    held_out_label : str, default "held-out"
        What the held-out data are called in the legend and title: say
        ``"test"`` when they are the test set, ``"validation"`` when they are
        a validation split.
    ax : matplotlib Axes or a pair of Axes, optional
        Two Axes ``(cost_ax, accuracy_ax)`` to draw the two panels into; or
        one Axes, which then shows the accuracy with the cost on a second
        y axis on the right (dotted).
    fig : matplotlib Figure or SubFigure, optional
        Draw the two panels into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on: new, or the root figure of ``fig`` or ``ax``.

    Raises
    ------
    InvalidParameterError
        For a history without epochs, an untrained network, a bad
        ``held_out_label`` or ``ax``, or both ``ax`` and ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import Network
    >>> from mlpinspect.plotting import plot_training
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((60, 4)); y = (X[:, 0] > X[:, 1]).astype(int)
    >>> net = Network([4, 3, 2], seed=0)
    >>> history = net.fit(X, y, epochs=3, learning_rate=1.0, progress=False,
    ...                   validation_data=(X, y))
    >>> fig = plot_training(history, held_out_label="test")
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['cost', 'accuracy (%)']
    >>> [line.get_label() for line in fig.axes[1].lines]
    ['training', 'test']
    """
    items = _histories(history)
    if not isinstance(held_out_label, str) or not held_out_label:
        raise InvalidParameterError(
            f"`held_out_label` must be a non-empty string such as 'test'; got "
            f"{held_out_label!r}"
        )
    if ax is not None:
        if fig is not None:
            raise InvalidParameterError("pass either `ax=` or `fig=`, not both")
        if isinstance(ax, Sequence) and not isinstance(ax, str):
            if len(ax) != 2:
                raise InvalidParameterError(
                    f"`ax` must be one Axes or two (cost, accuracy); got {len(ax)}"
                )
            cost_ax, acc_ax = check_ax(ax[0], "ax[0]"), check_ax(ax[1], "ax[1]")
            _draw_curves(cost_ax, acc_ax, items, held_out_label)
            _decorate(cost_ax, acc_ax, items, held_out_label)
        else:
            acc_ax = check_ax(ax)
            cost_ax = acc_ax.twinx()
            _draw_curves(cost_ax, acc_ax, items, held_out_label)
            for line in cost_ax.lines:
                line.set_linestyle(":")
                line.set_alpha(0.8)
            _decorate(cost_ax, acc_ax, items, held_out_label, twin=True)
        return root_figure(acc_ax)
    height = 3.6 if len(items) == 1 else 3.6 + 0.25 * len(items)
    fig = prepare_figure(fig, (9.0, height))
    cost_ax, acc_ax = fig.subplots(1, 2)
    _draw_curves(cost_ax, acc_ax, items, held_out_label)
    _decorate(cost_ax, acc_ax, items, held_out_label, legend_below=True)
    set_title(fig, _training_title(items, held_out_label))
    return root_figure(fig)


def _decorate(
    cost_ax: Axes,
    acc_ax: Axes,
    items: list,
    held_out: str,
    *,
    twin: bool = False,
    legend_below: bool = False,
) -> None:
    cost_ax.set_ylabel("cost" if not twin else "cost (dotted)")
    acc_ax.set_ylabel("accuracy (%)")
    for a in (cost_ax, acc_ax):
        a.set_xlabel("epoch")
        _integer_epochs(a)
        a.grid(color="0.9", linewidth=0.6)
    if twin:
        acc_ax.set_title(_training_title(items, held_out), fontsize="medium")
    else:
        cost_ax.set_title("cost", fontsize="medium")
        acc_ax.set_title("accuracy", fontsize="medium")
    if len(items) == 1 or not legend_below:
        acc_ax.legend(fontsize="small", loc="best")
    else:
        # Long configuration names would cover the curves: one legend below.
        handles, labels = acc_ax.get_legend_handles_labels()
        acc_ax.figure.legend(
            handles, labels, loc="outside lower center", ncols=2, fontsize="small"
        )


def _training_title(items: list[tuple[str | None, Any]], held_out: str) -> str:
    if len(items) > 1:
        return (
            f"Training of {len(items)} networks (solid: training, dashed: {held_out})"
        )
    h = items[0][1]
    accuracy = _held_out(h, "validation_accuracy", len(h.epoch))
    epochs = f"{len(h.epoch)} epoch{'' if len(h.epoch) == 1 else 's'}"
    if accuracy:
        last = 100.0 * accuracy[-1]
        return f"Training: {epochs}, final {held_out} accuracy {last:.2f}%"
    return f"Training: {epochs}"


# -- the sweep -------------------------------------------------------------------------


def _sweep_arrays(sweep: Any) -> tuple[np.ndarray, np.ndarray, dict]:
    """``(sizes, accuracy (sizes, seeds), reference)`` of a SweepResult, read
    by duck typing (plotting does not import the experiments)."""
    try:
        sizes = np.asarray(sweep.sizes, dtype=np.float64)
        accuracy = np.asarray(sweep.accuracy, dtype=np.float64)
    except (AttributeError, TypeError, ValueError):
        raise InvalidParameterError(
            f"`sweep` must be a SweepResult (from mlpinspect.experiments."
            f"hidden_size_sweep), with `sizes` and `accuracy`; got "
            f"{type(sweep).__name__}"
        ) from None
    if sizes.ndim != 1 or accuracy.ndim != 2 or accuracy.shape[0] != sizes.size:
        raise InvalidParameterError(
            f"`sweep.accuracy` must have shape (sizes, seeds) = ({sizes.size}, ...); "
            f"got shape {accuracy.shape}"
        )
    return sizes, accuracy, dict(getattr(sweep, "reference", None) or {})


def plot_sweep(
    sweep: Any,
    *,
    spread: str = "range",
    show_runs: bool = True,
    reference: bool = True,
    ax: Axes | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw test accuracy against the number of hidden units.

    The mean over seeds as a line, the spread over seeds as a band (the
    range from the worst to the best run, or the mean plus and minus one
    standard deviation), every run as a dot, and the published single-run
    accuracies (``sweep.reference``, e.g. the essay's) as diamonds.

    Parameters
    ----------
    sweep : SweepResult
        From :func:`mlpinspect.experiments.hidden_size_sweep` (or any object
        with ``sizes``, ``accuracy`` of shape (sizes, seeds) and optionally
        ``reference``, a dict size -> accuracy).
    spread : {"range", "std"}, default "range"
        The band: min to max over seeds, or mean ± one standard deviation.
    show_runs : bool, default True
        Draw each run as a dot.
    reference : bool, default True
        Draw the reference accuracies.
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on: new, or the root figure of ``fig`` or ``ax``.

    Raises
    ------
    InvalidParameterError
        For a bad ``sweep``, ``spread``, ``ax`` or ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect.experiments import SweepResult
    >>> from mlpinspect.plotting import plot_sweep
    >>> sweep = SweepResult(sizes=(2, 5, 10), seeds=(0, 1),
    ...                     accuracy=np.array([[0.2, 0.3], [0.8, 0.85], [0.9, 0.93]]),
    ...                     reference={5: 0.8665, 10: 0.9343})
    >>> fig = plot_sweep(sweep)
    >>> [line.get_gid() for line in fig.axes[0].lines][:2]
    ['mean', 'runs']
    """
    sizes, accuracy, ref = _sweep_arrays(sweep)
    spread = check_choice(spread, "spread", ("range", "std"))
    show_runs = check_bool(show_runs, "show_runs")
    reference = check_bool(reference, "reference")
    ax = single_axes(ax, fig, (6.4, 4.2))

    order = np.argsort(sizes, kind="stable")
    sizes = sizes[order]
    accuracy = 100.0 * accuracy[order]
    mean = accuracy.mean(axis=1)
    if spread == "range":
        low, high = accuracy.min(axis=1), accuracy.max(axis=1)
        band = "range over seeds (worst to best)"
    else:
        std = accuracy.std(axis=1, ddof=1) if accuracy.shape[1] > 1 else 0 * mean
        low, high = mean - std, mean + std
        band = "mean ± 1 std over seeds"
    n_seeds = accuracy.shape[1]
    ax.fill_between(sizes, low, high, color="0.8", label=band, gid="spread", lw=0)
    ax.plot(
        sizes,
        mean,
        color=NEUTRAL_COLOR,
        marker="o",
        label=f"mean of {n_seeds} seed{'s' if n_seeds > 1 else ''}",
        gid="mean",
    )
    if show_runs:
        ax.plot(
            np.repeat(sizes, n_seeds),
            accuracy.ravel(),
            linestyle="none",
            marker=".",
            color="0.45",
            markersize=4,
            label="single runs",
            gid="runs",
        )
    ref = ref if reference else {}
    if ref:
        ref_sizes = np.array(sorted(ref), dtype=np.float64)
        ax.plot(
            ref_sizes,
            [100.0 * ref[int(s)] for s in ref_sizes],
            linestyle="none",
            marker="D",
            color=LINE_COLORS[1],
            markeredgecolor="black",
            label="reference (published single runs)",
            gid="reference",
        )
    ticks = sorted({*sizes.tolist(), *map(float, ref)})
    if ticks and ticks[-1] / max(ticks[0], 1e-12) >= 8:
        ax.set_xscale("log")
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("hidden units")
    ax.set_ylabel("test accuracy (%)")
    ax.grid(color="0.9", linewidth=0.6)
    ax.legend(fontsize="small", loc="lower right")
    ax.set_title("Test accuracy against hidden-layer size", fontsize="medium")
    return root_figure(ax)


# -- networks side by side -----------------------------------------------------------

_SCALES = ("row", "all", "tile")


def _named_models(models: Any, names: Any) -> list[tuple[str, Any]]:
    if isinstance(getattr(models, "networks", None), Mapping) and hasattr(
        models, "names"
    ):  # a Comparison, duck-typed
        items = [(str(n), models.networks[n]) for n in models.names]
    elif isinstance(models, Mapping):
        items = [(str(k), v) for k, v in models.items()]
    elif isinstance(models, Sequence) and not isinstance(models, (str, bytes)):
        items = [
            (getattr(m, "name", None) or f"model {i}", m) for i, m in enumerate(models)
        ]
    else:
        raise InvalidParameterError(
            f"`models` must be a Comparison, a dict of name -> model or a list of "
            f"models; got {type(models).__name__}"
        )
    if not items:
        raise InvalidParameterError("`models` must hold at least one model")
    if names is not None:
        if isinstance(names, (str, bytes, Mapping)) or not isinstance(
            names, (Sequence, np.ndarray)
        ):
            raise InvalidParameterError(
                f"`names` must be a list of row labels, one per model; got "
                f"{names!r:.60} ({type(names).__name__})"
            )
        names = [str(n) for n in np.asarray(names, dtype=object).ravel().tolist()]
        if len(set(names)) != len(names):
            raise InvalidParameterError(f"`names` must not repeat a label; got {names}")
        if len(names) != len(items):
            raise InvalidParameterError(
                f"`names` must have one name per model ({len(items)}); got {len(names)}"
            )
        items = [(n, m) for n, (_, m) in zip(names, items)]
    return items


def plot_compare(
    models: Any,
    *,
    layer: int = 0,
    units: Any = None,
    names: Sequence[str] | None = None,
    space: str = "input",
    scale: str = "row",
    colorbar: bool = True,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw the same units of several networks side by side.

    One row per network, one column per unit: the study's comparison of the
    same architecture trained with different initialisation and
    regularisation, whose weight images look strikingly different.

    Parameters
    ----------
    models : Comparison, dict of str to model, or list of models
        The networks (anything :func:`mlpinspect.adapt` accepts); a
        :class:`~mlpinspect.experiments.Comparison` gives its configurations'
        names and networks.
    layer : int, default 0
        The layer to draw.
    units : int or sequence of int, optional
        The units (columns); default the first 10 (or all, if fewer).
    names : sequence of str, optional
        Row labels; default the dict keys, the configuration names, the
        models' ``name`` attributes or ``"model 0"``, ``"model 1"``, ...
    space : {"input", "own"}, default "input"
        How to draw units after the first layer (see
        :func:`plot_weight_images`).
    scale : {"row", "all", "tile"}, default "row"
        ``"row"``: each network its own colour scale, shared by its units
        (different initialisations differ in scale by orders of magnitude);
        ``"all"``: one scale for every tile; ``"tile"``: each tile its own.
        The title says which.
    colorbar : bool, default True
        Draw the colour bar(s): one per row for ``scale="row"``.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (new, or the root figure of ``fig``).

    Raises
    ------
    InvalidParameterError
        For bad ``models``, ``names``, ``layer``, ``units``, ``space`` or
        ``scale``.

    Examples
    --------
    >>> from mlpinspect import Network
    >>> from mlpinspect.plotting import plot_compare
    >>> nets = {init: Network([16, 4, 2], init=init, seed=0, input_shape=(4, 4))
    ...         for init in ("normal", "scaled")}
    >>> fig = plot_compare(nets, units=[0, 1, 2])
    >>> [ax.get_ylabel() for ax in fig.axes if ax.images][::3]
    ['normal', 'scaled']
    """
    named = _named_models(models, names)
    space = check_choice(space, "space", ("input", "own"))
    scale = check_choice(scale, "scale", _SCALES)
    colorbar = check_bool(colorbar, "colorbar")
    rows, indices = [], []
    for name, model in named:
        mlp = adapt(model).check_finite()
        index = mlp.layer_index(layer)
        if units is None:
            unit_list = list(range(min(mlp.layers[index].n_out, 10)))
        else:
            unit_list = resolve_unit_list(mlp, index, units)
        if index == 0 or space == "own":
            images = weight_images(mlp, layer=index)[unit_list]
        else:
            images = input_space_images(mlp, layer=index)[unit_list]
        rows.append((name, unit_list, images))
        indices.append(index)
    first_index = indices[0]
    quantity = "effective weight" if first_index > 0 and space == "input" else "weight"
    n_cols = len(rows[0][1])
    if any(len(u) != n_cols for _, u, _ in rows):
        raise InvalidParameterError(
            "`models` must all have the units asked for; they have different "
            "numbers of units in this layer"
        )
    h, w = rows[0][2].shape[1:]
    aspect = min(max(h / w, 0.2), 5.0)
    size = (
        n_cols * TILE_INCHES + 2.2,
        len(rows) * (0.9 * TILE_INCHES * aspect + TITLE_INCHES) + 0.8,
    )
    fig = prepare_figure(fig, size)
    grid = fig.subplots(len(rows), n_cols, squeeze=False)

    limits: list[float] = []  # one per row, unless each tile has its own
    if scale == "all":
        limits = [tile_limits([r[2] for r in rows], shared=True)[0]] * len(rows)
    elif scale == "row":
        limits = [tile_limits([r[2]], shared=True)[0] for r in rows]
    drawn = []
    for r, (name, unit_list, images) in enumerate(rows):
        row_limits = (
            tile_limits(list(images), shared=False)
            if scale == "tile"
            else [limits[r]] * len(images)
        )
        row_drawn = []
        for c, (unit, image, limit) in enumerate(zip(unit_list, images, row_limits)):
            ax = grid[r, c]
            row_drawn.append(show_signed(ax, image, limit))
            ax.set_title(str(unit), fontsize="small", pad=3)
        grid[r, 0].set_ylabel(
            textwrap.fill(name, 18),
            fontsize="small",
            rotation=0,
            ha="right",
            va="center",
            labelpad=6,
        )
        drawn.append(row_drawn)
        if colorbar and scale == "row":
            add_colorbar(fig, row_drawn[0], grid[r].tolist(), quantity, shrink=0.9)
    if colorbar and scale == "all":
        add_colorbar(fig, drawn[0][0], grid.ravel().tolist(), quantity, shrink=0.8)
    elif colorbar and scale == "tile":
        add_relative_colorbar(
            fig, grid.ravel().tolist(), f"{quantity} (per tile)", shrink=0.8
        )
    what = {
        "row": "each row its own colour scale (shared by its tiles)",
        "all": "one colour scale for all tiles",
        "tile": "each tile scaled to its own max |weight|",
    }[scale]
    if quantity == "effective weight":
        where = f"in input space, {h}×{w}"
    else:
        where = f"incoming weights as {h}×{w} images"
    set_title(
        fig,
        f"Layer {first_index} of {len(rows)} networks, the same units side by side "
        f"({where})\n{what}",
    )
    return root_figure(fig)
