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
    set_title,
    tile_axes,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import FigureBase
    from matplotlib.image import AxesImage

__all__ = ["plot_output_weights", "plot_preferred_inputs", "plot_weight_images"]

_SPACES = ("input", "own")


def unit_title(mlp: MLP, layer: int, unit: int) -> str:
    """``"3"``, or ``"3: cat"`` for a named output unit whose name is not its index."""
    names = mlp.class_names
    if names is not None and layer == len(mlp.layers) - 1 and names[unit] != str(unit):
        return f"{unit}: {names[unit]}"
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


def plot_weight_images(
    model: Any,
    layer: int = 0,
    *,
    units: int | str | Sequence[int | str] | None = None,
    space: str = "input",
    ncols: int | None = None,
    shared_scale: bool = True,
    colorbar: bool = True,
    shape: Sequence[int] | None = None,
    fig: FigureBase | None = None,
) -> FigureBase:
    """Draw every unit of a layer as an image of its incoming weights.

    The study's "Lego blocks": for the first layer of a 784-30-10 network,
    30 tiles of 28 x 28 pixels, pixel ``(r, c)`` being the weight from input
    pixel ``(r, c)``; blue positive, red negative, white zero. Each tile is
    titled with the unit's index.

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
        Tiles per row; default at most 10, the rows as even as possible.
    shared_scale : bool, default True
        One symmetric colour scale for all tiles (colours comparable across
        tiles), or each tile scaled to its own largest ``|weight|``. The
        figure's title says which.
    colorbar : bool, default True
        Draw a colour bar.
    shape : (int, int), optional
        Image shape; its product must equal the number of pixels drawn (the
        input size for input-space images, the fan-in for ``space="own"``).
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure (e.g. ``plt.figure()`` or a subfigure) instead
        of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure (or ``fig``). It is not shown: save it with
        ``fig.savefig("weights.png")``, or leave it as the last expression of
        a Jupyter cell to display it.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer``, ``units``, ``space``, ``ncols``, ``shape`` or
        ``fig``.

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
    """
    mlp = adapt(model).check_finite()
    index = mlp.layer_index(layer)
    space = check_choice(space, "space", _SPACES)
    shared_scale = check_bool(shared_scale, "shared_scale")
    colorbar = check_bool(colorbar, "colorbar")
    unit_list = resolve_unit_list(mlp, index, units)
    if index == 0 or space == "own":
        images = weight_images(mlp, index, shape=shape)[unit_list]
        quantity = "weight"
        h, w = images.shape[1:]
        source = "input pixels" if index == 0 else f"units of layer {index - 1}"
        title = (
            f"Layer {index}: incoming weights from the {h * w} {source}, "
            f"as {h}×{w} images"
        )
    else:
        images = input_space_images(mlp, index, shape=shape)[unit_list]
        quantity = "effective weight"
        h, w = images.shape[1:]
        title = (
            f"Layer {index} in input space: product of the weight matrices "
            f"(nonlinearities ignored), {h}×{w} images"
        )
    ncols = check_ncols(ncols, len(unit_list))
    fig = prepare_figure(fig, grid_size(len(unit_list), ncols, (h, w)))
    titles = [unit_title(mlp, index, u) for u in unit_list]
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
    return fig


def plot_output_weights(
    model: Any,
    *,
    layer: int = -1,
    units: int | str | Sequence[int | str] | None = None,
    ncols: int | None = None,
    shared_scale: bool = True,
    colorbar: bool = True,
    shape: Sequence[int] | None = None,
    fig: FigureBase | None = None,
) -> FigureBase:
    """Draw each output unit's incoming weights as a small image.

    For a 784-30-10 network: ten 5 x 6 images, one per digit, pixel
    ``(r, c)`` being the weight from hidden unit ``6 r + c`` (row-major);
    the most intense blue pixels are the hidden units the digit relies on,
    the most intense red ones those that argue against it. Each tile is
    titled with the class name (``model.class_names``) or the unit's index.

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
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure (or ``fig``); save it with ``fig.savefig(...)``.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer``, ``units``, ``ncols``, ``shape`` or ``fig``.

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
    unit_list = resolve_unit_list(mlp, index, units)
    images = weight_images(mlp, index, shape=shape)[unit_list]
    h, w = images.shape[1:]
    names = mlp.class_names if index == len(mlp.layers) - 1 else None
    titles = [names[u] if names is not None else str(u) for u in unit_list]
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
    return fig


def plot_preferred_inputs(
    result: PreferredInput,
    *,
    ncols: int | None = None,
    shared_scale: bool = False,
    colorbar: bool = True,
    fig: FigureBase | None = None,
) -> FigureBase:
    """Draw the preferred inputs found by :func:`mlpinspect.preferred_input`.

    One tile per unit, titled with the unit's index and the value it reaches
    on its preferred input; blue where the input is positive, red where it is
    negative. This is the input-space picture of a unit that the
    nonlinearities do not hide, beside the effective-weight images of
    :func:`plot_weight_images`.

    Parameters
    ----------
    result : PreferredInput
        The output of :func:`mlpinspect.preferred_input` for one unit or
        several.
    ncols : int, optional
        Tiles per row; default at most 10.
    shared_scale : bool, default False
        One colour scale for all tiles, or each tile its own (the default:
        every preferred input has the same norm, but not the same peak). The
        title says which.
    colorbar : bool, default True
        Draw a colour bar.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure (or ``fig``).

    Raises
    ------
    InvalidParameterError
        If ``result`` is not a PreferredInput, or for a bad ``ncols`` or
        ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, preferred_input
    >>> from mlpinspect.plotting import plot_preferred_inputs
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(5, 16)), np.zeros(5), "tanh"),
    ...            Dense(rng.normal(size=(2, 5)), np.zeros(2), "identity")],
    ...           input_shape=(4, 4))
    >>> result = preferred_input(mlp, [0, 1], norm=1.0, n_steps=20)
    >>> fig = plot_preferred_inputs(result)
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
    units = np.atleast_1d(result.unit)
    values = np.atleast_1d(result.activation)
    shape = result.image.shape[1:] if np.ndim(result.unit) else result.image.shape
    n_inputs = int(np.prod(shape))
    h, w = image_hw(tuple(shape), n_inputs)
    images = np.asarray(result.image, dtype=np.float64).reshape(len(units), h, w)
    ncols = check_ncols(ncols, len(units))
    fig = prepare_figure(fig, grid_size(len(units), ncols, (h, w)))
    stage = "pre-activation" if result.output_stage == "pre" else "activation"
    titles = [f"unit {int(u)}\n{stage} {v:.3g}" for u, v in zip(units, values)]
    draw_tiles(
        fig,
        images,
        titles,
        ncols=ncols,
        shared_scale=shared_scale,
        colorbar=colorbar,
        quantity="input value",
        title=(
            f"Preferred inputs of layer {result.layer} (L2 norm {result.norm:.3g}"
            + (f", box {tuple(result.box)}" if result.box is not None else "")
            + ")"
        ),
    )
    return fig
