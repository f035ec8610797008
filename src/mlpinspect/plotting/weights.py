"""Weights as pictures: a layer's units as a grid of images."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_choice
from ..adapters import adapt
from ..analysis.images import input_space_images, weight_images
from ..analysis.maximize import PreferredInput
from ..errors import InvalidParameterError
from ..mlp import MLP
from ._bars import (
    MAX_PANEL_COLUMNS,
    PANEL_TOP,
    bar_grid_size,
    check_top,
    draw_bar_panels,
    feature_labels,
    is_tabular,
)
from ._colors import (
    add_colorbar,
    add_relative_colorbar,
    scale_text,
    show_signed,
    tile_limits,
)
from ._grid import (
    check_bool,
    check_ncols,
    grid_size,
    image_hw,
    prepare_figure,
    resolve_unit_list,
    root_figure,
    set_title,
    tile_axes,
    warn_renamed,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase
    from matplotlib.image import AxesImage

__all__ = [
    "plot_output_weights",
    "plot_preferred_input",
    "plot_preferred_inputs",
    "plot_weight_images",
]

_SPACES = ("input", "own")


def unit_title(mlp: MLP, layer: int, unit: int) -> str:
    """``"3"``, or ``"3: cat"`` for a named output unit whose name is not its index."""
    name = mlp.unit_name(layer, unit)
    if name is not None and str(name) != str(unit):
        return f"{unit}: {name}"
    return str(unit)


def draw_tiles(
    fig: FigureBase,
    images: np.ndarray,
    titles: Sequence[str],
    *,
    ncols: int,
    shared_scale: bool,
    colorbar: bool,
    quantity: str,
    title: str,
) -> tuple[list[Axes], list[AxesImage]]:
    """Draw ``images`` (tiles, H, W) in a grid with the diverging palette.

    Each tile is titled; the figure gets ``title`` with a second line saying
    whether the colour scale is shared, and, with ``colorbar``, a colour bar.
    """
    axes = tile_axes(fig, len(images), ncols)
    limits = tile_limits(list(images), shared_scale)
    drawn = []
    for ax, image, limit, text in zip(axes, images, limits, titles):
        drawn.append(show_signed(ax, image, limit))
        ax.set_title(text, fontsize="small", pad=3)
    if colorbar:
        if shared_scale:
            add_colorbar(fig, drawn[0], axes, quantity)
        else:
            add_relative_colorbar(fig, axes, f"{quantity} (per tile)")
    set_title(fig, f"{title}\n{scale_text(shared_scale, quantity)}")
    return axes, drawn


def draw_feature_panels(
    fig: Any,
    vectors: np.ndarray,
    titles: Sequence[str],
    labels: Sequence[str],
    *,
    ncols: Any,
    shared_scale: bool,
    top: int,
    quantity: str,
    title: str,
) -> Figure:
    """Vectors over a tabular model's input features as a grid of ranked bar
    charts (see :mod:`._bars`); returns the root figure."""
    ncols = check_ncols(ncols, len(vectors), max_columns=MAX_PANEL_COLUMNS)
    n_bars = min(top, vectors.shape[1])
    fig = prepare_figure(fig, bar_grid_size(len(vectors), ncols, n_bars))
    draw_bar_panels(
        fig,
        vectors,
        titles,
        labels,
        ncols=ncols,
        shared_scale=shared_scale,
        top=top,
        quantity=quantity,
        title=title,
    )
    return root_figure(fig)


def plot_weight_images(
    model: Any,
    *,
    layer: int = 0,
    units: int | str | Sequence[int | str] | None = None,
    space: str = "input",
    ncols: int | None = None,
    shared_scale: bool = True,
    colorbar: bool = True,
    shape: Sequence[int] | None = None,
    top: int | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw every unit of a layer as an image of its incoming weights.

    The study's "Lego blocks": for the first layer of a 784-30-10 network,
    30 tiles of 28 x 28 pixels, pixel ``(r, c)`` being the weight from input
    pixel ``(r, c)``; blue positive, red negative, white zero. Each tile is
    titled with the unit's index.

    A tabular model (one whose ``input_shape`` has one dimension) has no
    pixels: each unit becomes a chart of horizontal bars, its ``top``
    largest weights by ``|weight|``, labelled with the feature names
    (``model.feature_names``, else ``"x0"``, ``"x1"``, ...).

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    layer : int, default 0
        The weight layer (0 = first, -1 = output).
    units : int, str or sequence of them, optional
        Which units to draw, in this order; default every unit.
    space : {"input", "own"}, default "input"
        For a layer after the first: ``"input"`` draws each unit's effective
        image in input space (:func:`mlpinspect.analysis.input_space_images`,
        the weight matrices multiplied along the path, nonlinearities
        ignored); ``"own"`` draws its own fan-in reshaped to a near-square
        image (5 x 6 for 30 inputs). Both are the same for layer 0.
    ncols : int, optional
        Tiles per row; default at most 10 (4 bar charts), the rows as even
        as possible.
    shared_scale : bool, default True
        One symmetric colour (or bar) scale for all tiles, comparable across
        tiles, or each tile scaled to its own largest ``|weight|``. The
        figure's title says which.
    colorbar : bool, default True
        Draw a colour bar (images only: bars have an axis).
    shape : (int, int), optional
        Image shape; its product must equal the number of pixels drawn (the
        input size for input-space images, the fan-in for ``space="own"``).
        Given for a tabular model, it draws images instead of bars.
    top : int, optional
        Bars per chart for a tabular model; default 10.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure (e.g. ``plt.figure()`` or a subfigure) instead
        of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on: a new one, or the root figure of ``fig``. It is
        not shown: save it with ``fig.savefig("weights.png")``, or leave it
        as the last expression of a Jupyter cell to display it.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer``, ``units``, ``space``, ``ncols``, ``shape``,
        ``top`` or ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> from mlpinspect.plotting import plot_weight_images
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4))
    >>> fig = plot_weight_images(mlp)
    >>> [ax.get_title() for ax in fig.axes if ax.images]
    ['0', '1', '2', '3', '4', '5']
    >>> fig.savefig("weights.png")  # doctest: +SKIP

    A tabular model gets one bar chart per unit, labelled with its features:

    >>> tabular = mlp.replace(input_shape=(16,),
    ...                       feature_names=[f"f{i}" for i in range(16)])
    >>> fig = plot_weight_images(tabular, units=[2], top=3)
    >>> bars = fig.axes[0].patches
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
    ...     f"f{np.argsort(-np.abs(mlp.layers[0].weight[2]))[i]}" for i in range(3)]
    True
    >>> bool(bars[0].get_width() == mlp.layers[0].weight[2][
    ...     np.abs(mlp.layers[0].weight[2]).argmax()])
    True
    """
    mlp = adapt(model).check_finite()
    index = mlp.layer_index(layer)
    space = check_choice(space, "space", _SPACES)
    shared_scale = check_bool(shared_scale, "shared_scale")
    colorbar = check_bool(colorbar, "colorbar")
    top = check_top(top, PANEL_TOP)
    unit_list = resolve_unit_list(mlp, index, units)
    titles = [unit_title(mlp, index, u) for u in unit_list]
    over_inputs = index == 0 or space == "input"
    if over_inputs and shape is None and is_tabular(mlp.input_shape):
        if index == 0:
            vectors = np.asarray(mlp.layers[0].weight, dtype=np.float64)[unit_list]
            quantity = "weight"
            title = f"Layer 0: incoming weights from the {mlp.n_inputs} features"
        else:
            images = input_space_images(mlp, layer=index)[unit_list]
            vectors = images.reshape(len(unit_list), -1)
            quantity = "effective weight"
            title = (
                f"Layer {index} in input space: product of the weight matrices "
                f"(nonlinearities ignored)"
            )
        return draw_feature_panels(
            fig,
            vectors,
            titles,
            feature_labels(mlp.n_inputs, mlp.feature_names),
            ncols=ncols,
            shared_scale=shared_scale,
            top=top,
            quantity=quantity,
            title=title,
        )
    if index == 0 or space == "own":
        images = weight_images(mlp, layer=index, shape=shape)[unit_list]
        quantity = "weight"
        h, w = images.shape[1:]
        source = "input pixels" if index == 0 else f"units of layer {index - 1}"
        title = (
            f"Layer {index}: incoming weights from the {h * w} {source}, "
            f"as {h}×{w} images"
        )
    else:
        images = input_space_images(mlp, layer=index, shape=shape)[unit_list]
        quantity = "effective weight"
        h, w = images.shape[1:]
        title = (
            f"Layer {index} in input space: product of the weight matrices "
            f"(nonlinearities ignored), {h}×{w} images"
        )
    ncols = check_ncols(ncols, len(unit_list))
    fig = prepare_figure(fig, grid_size(len(unit_list), ncols, (h, w)))
    draw_tiles(
        fig,
        images,
        titles,
        ncols=ncols,
        shared_scale=shared_scale,
        colorbar=colorbar,
        quantity=quantity,
        title=title,
    )
    return root_figure(fig)


def plot_output_weights(
    model: Any,
    *,
    layer: int = -1,
    units: int | str | Sequence[int | str] | None = None,
    ncols: int | None = None,
    shared_scale: bool = True,
    colorbar: bool = True,
    shape: Sequence[int] | None = None,
    top: int | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw each output unit's incoming weights as a small image.

    For a 784-30-10 network: ten 5 x 6 images, one per digit, pixel
    ``(r, c)`` being the weight from hidden unit ``6 r + c`` (row-major);
    the most intense blue pixels are the hidden units the digit relies on,
    the most intense red ones those that argue against it. Each tile is
    titled with the class name (``model.class_names``) or the unit's index.
    When ``layer`` is the first layer of a tabular model (a network without
    hidden layers), its sources are features and each unit is drawn as
    ranked, labelled bars, as in :func:`plot_weight_images`.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    layer : int, default -1
        The layer whose units are drawn (default the output layer).
    units : int, str or sequence of them, optional
        Which units (indices or class names), in this order; default all.
    ncols : int, optional
        Tiles per row; default at most 5.
    shared_scale : bool, default True
        One colour scale for all tiles, or each its own (the title says
        which).
    colorbar : bool, default True
        Draw a colour bar.
    shape : (int, int), optional
        Image shape, product equal to the fan-in (default: near-square, e.g.
        5 x 6 for 30; a prime fan-in gives one row).
    top : int, optional
        Bars per chart, when bars are drawn; default 10.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (new, or the root figure of ``fig``); save it
        with ``fig.savefig(...)``.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer``, ``units``, ``ncols``, ``shape``, ``top`` or
        ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> from mlpinspect.plotting import plot_output_weights
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           class_names=["cat", "dog", "fox"])
    >>> fig = plot_output_weights(mlp)
    >>> [ax.get_title() for ax in fig.axes if ax.images]
    ['cat', 'dog', 'fox']
    >>> fig.axes[0].images[0].get_array().shape
    (2, 3)
    """
    mlp = adapt(model).check_finite()
    index = mlp.layer_index(layer)
    shared_scale = check_bool(shared_scale, "shared_scale")
    colorbar = check_bool(colorbar, "colorbar")
    top = check_top(top, PANEL_TOP)
    unit_list = resolve_unit_list(mlp, index, units)
    titles = [str(mlp.unit_name(index, u) or u) for u in unit_list]
    if index == 0 and shape is None and is_tabular(mlp.input_shape):
        return draw_feature_panels(
            fig,
            np.asarray(mlp.layers[0].weight, dtype=np.float64)[unit_list],
            titles,
            feature_labels(mlp.n_inputs, mlp.feature_names),
            ncols=ncols,
            shared_scale=shared_scale,
            top=top,
            quantity="weight",
            title=f"Incoming weights of layer 0 from the {mlp.n_inputs} features",
        )
    images = weight_images(mlp, layer=index, shape=shape)[unit_list]
    h, w = images.shape[1:]
    if index == 0:
        source = f"the {h * w} inputs"
    else:
        source = f"the {h * w} units of layer {index - 1}"
    title = (
        f"Incoming weights of layer {index} from {source}\n"
        f"as {h}×{w} images: pixel (r, c) is source {w}r + c"
    )
    # Small images (5 x 6) are drawn larger, five to a row.
    ncols = check_ncols(ncols, len(unit_list), max_columns=5)
    size = grid_size(len(unit_list), ncols, (h, w), tile_inches=1.45)
    fig = prepare_figure(fig, size)
    draw_tiles(
        fig,
        images,
        titles,
        ncols=ncols,
        shared_scale=shared_scale,
        colorbar=colorbar,
        quantity="weight",
        title=title,
    )
    return root_figure(fig)


def plot_preferred_input(
    result: PreferredInput,
    *,
    ncols: int | None = None,
    shared_scale: bool = False,
    colorbar: bool = True,
    top: int | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw the preferred inputs found by :func:`mlpinspect.preferred_input`.

    One tile per unit, titled with the unit's index and the value it reaches
    on its preferred input; blue where the input is positive, red where it is
    negative. This is the input-space picture of a unit that the
    nonlinearities do not hide, beside the effective-weight images of
    :func:`plot_weight_images`. For a tabular model (a 1-D input shape) each
    unit's preferred input is a chart of ranked, labelled bars.

    Parameters
    ----------
    result : PreferredInput
        The output of :func:`mlpinspect.preferred_input` for one unit or
        several.
    ncols : int, optional
        Tiles per row; default at most 10 (4 bar charts).
    shared_scale : bool, default False
        One colour scale for all tiles, or each tile its own (the default:
        every preferred input has the same norm, but not the same peak). The
        title says which.
    colorbar : bool, default True
        Draw a colour bar (images only).
    top : int, optional
        Bars per chart for a tabular model; default 10.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (new, or the root figure of ``fig``).

    Raises
    ------
    InvalidParameterError
        If ``result`` is not a PreferredInput, or for a bad ``ncols``,
        ``top`` or ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, preferred_input
    >>> from mlpinspect.plotting import plot_preferred_input
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(5, 16)), np.zeros(5), "tanh"),
    ...            Dense(rng.normal(size=(2, 5)), np.zeros(2), "identity")],
    ...           input_shape=(4, 4))
    >>> result = preferred_input(mlp, [0, 1], norm=1.0, n_steps=20)
    >>> fig = plot_preferred_input(result)
    >>> [ax.get_title().splitlines()[0] for ax in fig.axes if ax.images]
    ['unit 0', 'unit 1']
    """
    if not isinstance(result, PreferredInput):
        raise InvalidParameterError(
            "`result` must be the PreferredInput returned by "
            f"mlpinspect.preferred_input; got {type(result).__name__}"
        )
    shared_scale = check_bool(shared_scale, "shared_scale")
    colorbar = check_bool(colorbar, "colorbar")
    top = check_top(top, PANEL_TOP)
    units = np.atleast_1d(result.unit)
    values = np.atleast_1d(result.activation)
    shape = result.image.shape[1:] if np.ndim(result.unit) else result.image.shape
    n_inputs = int(np.prod(shape))
    # A short second line ("z = 3.2"): with 8 tiles in a row, a spelled-out
    # "pre-activation 3.2" ran into the neighbouring titles.
    symbol, stage = ("z", "pre-activation") if result.stage == "pre" else (
        "a", "activation")  # fmt: skip
    titles = [f"unit {int(u)}\n{symbol} = {v:.3g}" for u, v in zip(units, values)]
    title = (
        f"Preferred inputs of layer {result.layer} ({symbol}: the {stage} reached; "
        f"L2 norm {result.norm:.3g}"
        + (f", box {tuple(result.box)}" if result.box is not None else "")
        + ")"
    )
    flat = np.asarray(result.image, dtype=np.float64).reshape(len(units), n_inputs)
    if is_tabular(shape):
        # Duck-typed: a PreferredInput may carry the model's feature names.
        names = getattr(result, "feature_names", None)
        return draw_feature_panels(
            fig,
            flat,
            titles,
            feature_labels(n_inputs, names),
            ncols=ncols,
            shared_scale=shared_scale,
            top=top,
            quantity="input value",
            title=title,
        )
    h, w = image_hw(tuple(shape), n_inputs)
    ncols = check_ncols(ncols, len(units))
    fig = prepare_figure(fig, grid_size(len(units), ncols, (h, w)))
    draw_tiles(
        fig,
        flat.reshape(len(units), h, w),
        titles,
        ncols=ncols,
        shared_scale=shared_scale,
        colorbar=colorbar,
        quantity="input value",
        title=title,
    )
    return root_figure(fig)


def plot_preferred_inputs(result: PreferredInput, **kwargs: Any) -> Figure:
    """Deprecated alias of :func:`plot_preferred_input` (removed in 0.3).

    Returns
    -------
    matplotlib.figure.Figure
        What :func:`plot_preferred_input` returns; a :class:`DeprecationWarning` is
        emitted first.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, preferred_input
    >>> from mlpinspect.plotting import plot_preferred_inputs
    >>> mlp = MLP([Dense(np.eye(4), np.zeros(4), "tanh")], input_shape=(2, 2))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fig = plot_preferred_inputs(preferred_input(mlp, 0, layer=0, n_steps=2))
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """
    warn_renamed("plot_preferred_inputs", "plot_preferred_input")
    return plot_preferred_input(result, **kwargs)
