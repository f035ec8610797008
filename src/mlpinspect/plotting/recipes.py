"""The study's collage: what each output unit is built from."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_choice
from ..adapters import adapt
from ..analysis.images import input_space_images, weight_images
from ..analysis.selection import TopUnits, top_units
from ..errors import InvalidParameterError
from ..mlp import MLP
from ._colors import (
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    add_colorbar,
    add_relative_colorbar,
    format_value,
    scale_text,
    show_signed,
    symmetric_limit,
    tile_limits,
)
from ._grid import (
    TILE_INCHES,
    check_bool,
    frame,
    prepare_figure,
    resolve_unit_list,
    set_title,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import FigureBase

__all__ = ["plot_recipe", "plot_recipes"]

_SPACES = ("input", "own")
_SYMBOL = {"weight": "w", "contribution": "c"}
_CAPTION_INCHES = 0.5  # a two-line tile caption


class _Recipes:
    """The images and colour limits every row of a recipe figure shares."""

    def __init__(self, mlp: MLP, layer: int, space: str, shared: bool) -> None:
        if layer == 0:
            raise InvalidParameterError(
                "`layer` must be a layer after the first (its sources are units "
                "with incoming weights of their own to draw); got layer 0"
            )
        self.mlp, self.layer = mlp, layer
        self.unit_images = weight_images(mlp, layer)
        source_layer = layer - 1
        if source_layer == 0 or space == "own":
            self.source_images = weight_images(mlp, source_layer)
        else:
            self.source_images = input_space_images(mlp, source_layer)
        self.shared = shared
        # A shared scale spans the whole layer, so a unit has the same colours
        # in every row and in plot_weight_images.
        self.unit_limit = symmetric_limit(self.unit_images)
        self.source_limit = symmetric_limit(self.source_images)

    def label(self, unit: int) -> str:
        names = self.mlp.class_names
        if names is not None and self.layer == len(self.mlp.layers) - 1:
            return repr(names[unit])
        return f"unit {unit}"

    def draw_row(self, axes: Sequence[Axes], top: TopUnits) -> list[Any]:
        """Draw one recipe into ``1 + 2k`` axes; return the source images drawn."""
        unit_image = self.unit_images[top.unit]
        limit = self.unit_limit if self.shared else symmetric_limit(unit_image)
        show_signed(axes[0], unit_image, limit)
        axes[0].set_title(f"{self.label(top.unit)}\nweights", fontsize="small", pad=3)
        symbol = _SYMBOL[top.by]
        picks = [
            (int(s), float(v), POSITIVE_COLOR)
            for s, v in zip(top.excitatory, top.excitatory_values)
        ] + [
            (int(s), float(v), NEGATIVE_COLOR)
            for s, v in zip(top.inhibitory, top.inhibitory_values)
        ]
        _label_pixels(axes[0], unit_image, limit, [s for s, _, _ in picks])
        images = [self.source_images[s] for s, _, _ in picks]
        limits = (
            [self.source_limit] * len(images)
            if self.shared
            else tile_limits(images, shared=False)
        )
        drawn = []
        for ax, (source, value, color), image, lim in zip(
            axes[1:], picks, images, limits
        ):
            drawn.append(show_signed(ax, image, lim))
            ax.set_title(
                f"{source}\n{symbol} = {format_value(value, '+')}",
                fontsize="small",
                pad=3,
            )
            frame(ax, color)
        return drawn


def _label_pixels(
    ax: Axes, image: np.ndarray, limit: float, sources: Sequence[int]
) -> None:
    """Write each picked source's index on its pixel of the unit's weight image,
    so the row reads like the study's "most intense blue and red pixels"."""
    width = image.shape[1]
    for source in dict.fromkeys(sources):  # once each, in order
        r, c = divmod(source, width)
        dark = abs(image[r, c]) > 0.55 * limit
        ax.text(
            c,
            r,
            str(source),
            ha="center",
            va="center",
            fontsize=5.5,
            color="white" if dark else "black",
        )


def _check_common(
    model: Any, by: Any, layer: Any, space: Any, shared: Any, colorbar: Any
) -> tuple[MLP, int, str, str, bool, bool]:
    mlp = adapt(model).check_finite()
    index = mlp.layer_index(layer)
    by = check_choice(by, "by", tuple(_SYMBOL))
    space = check_choice(space, "space", _SPACES)
    return (
        mlp,
        index,
        by,
        space,
        check_bool(shared, "shared_scale"),
        check_bool(colorbar, "colorbar"),
    )


def _subtitle(by: str, top: TopUnits, y: Any, shared: bool, space: str) -> str:
    if by == "weight":
        ranked = "ranked by incoming weight w"
    elif y is not None:
        ranked = "ranked by mean contribution c = w × activation on each class"
    else:
        ranked = (
            f"ranked by mean contribution c = w × activation on {top.n_samples} inputs"
        )
    if shared:
        scale = "sources share one colour scale (bar), weights another"
    else:
        scale = scale_text(False, "weight")
    if top.layer > 1 and space == "input":
        ranked += f", layer-{top.layer - 1} units in input space"
    return f"{ranked};\n{scale}"


def _source_name(recipes: _Recipes, space: str) -> str:
    source_layer = recipes.layer - 1
    if source_layer > 0 and space == "input":
        return "effective weight"
    return "weight"


def _colorbar(
    fig: FigureBase,
    recipes: _Recipes,
    drawn: list,
    axes: list,
    space: str,
    **kwargs: Any,
) -> None:
    label = _source_name(recipes, space)
    if recipes.shared:
        add_colorbar(fig, drawn[0], axes, label, **kwargs)
    else:
        add_relative_colorbar(fig, axes, f"{label} (per tile)", **kwargs)


def _figsize(rows: int, cols: int) -> tuple[float, float]:
    return (
        max(cols * TILE_INCHES + 1.0, 6.0),
        max(rows * (0.85 * TILE_INCHES + _CAPTION_INCHES) + 1.0, 2.6),
    )


def plot_recipe(
    model: Any,
    unit: int | str,
    k: int = 3,
    by: str = "weight",
    X: Any = None,
    y: Any = None,
    *,
    layer: int = -1,
    space: str = "input",
    shared_scale: bool = True,
    colorbar: bool = True,
    fig: FigureBase | None = None,
) -> FigureBase:
    """Draw what one unit is built from: its weights and its top-k sources.

    The study's collage for one digit: the output unit's incoming weights as
    an image (5 x 6 for 30 hidden units), then the images of its ``k`` most
    excitatory source units (blue frame) and its ``k`` most inhibitory ones
    (red frame), each captioned with its index and its weight ``w`` (or mean
    contribution ``c``). The units are exactly those
    :func:`mlpinspect.analysis.top_units` returns for the same arguments.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    unit : int or str
        The unit (an index, or a class name for the output layer).
    k : int, default 3
        Sources per list (clipped to the fan-in).
    by : {"weight", "contribution"}, default "weight"
        Rank the sources by incoming weight (as the study did) or by mean
        contribution ``w * activation`` over ``X`` (see
        :func:`~mlpinspect.analysis.top_units`).
    X : array_like, optional
        Inputs, shape ``(n, n_inputs)``; needed for ``by="contribution"``.
    y : array_like of int, optional
        Labels of ``X``; with them the contributions are averaged over the
        examples of the unit's own class only.
    layer : int, default -1
        The unit's layer (not the first: its sources must be units).
    space : {"input", "own"}, default "input"
        How to draw sources that are not first-layer units: in input space
        (:func:`~mlpinspect.analysis.input_space_images`) or as their own
        fan-in. First-layer units are always drawn in input space.
    shared_scale : bool, default True
        One colour scale for all source images (the largest ``|weight|`` of
        the whole source layer, so a unit looks the same as in
        :func:`plot_weight_images`) and one for the unit's weights; or each
        tile its own. The title says which.
    colorbar : bool, default True
        Draw a colour bar for the source images.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure (or ``fig``); save it with ``fig.savefig(...)``.

    Raises
    ------
    InvalidParameterError
        For a bad ``unit``, ``k``, ``by``, ``layer`` (0 included), ``space``
        or ``fig``, or ``by="contribution"`` without ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> from mlpinspect.plotting import plot_recipe
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4))
    >>> fig = plot_recipe(mlp, 0, k=2)
    >>> len([ax for ax in fig.axes if ax.images])  # the unit and 2 + 2 sources
    5
    """
    mlp, index, by, space, shared, colorbar = _check_common(
        model, by, layer, space, shared_scale, colorbar
    )
    top = top_units(mlp, unit, layer=index, k=k, by=by, X=X, y=y)
    recipes = _Recipes(mlp, index, space, shared)
    cols = 1 + 2 * top.k
    fig = prepare_figure(fig, _figsize(1, cols))
    axes = fig.subplots(1, cols, squeeze=False)[0].tolist()
    drawn = recipes.draw_row(axes, top)
    if colorbar:
        _colorbar(fig, recipes, drawn, axes, space, shrink=0.9, aspect=12)
    set_title(
        fig,
        f"{recipes.label(top.unit)}: top {top.k} excitatory (blue) and "
        f"inhibitory (red) sources\n{_subtitle(by, top, y, shared, space)}",
    )
    return fig


def plot_recipes(
    model: Any,
    k: int = 3,
    by: str = "weight",
    X: Any = None,
    y: Any = None,
    *,
    layer: int = -1,
    units: int | str | Sequence[int | str] | None = None,
    space: str = "input",
    shared_scale: bool = True,
    colorbar: bool = True,
    fig: FigureBase | None = None,
) -> FigureBase:
    """Draw the recipe of every output unit on one page, one row per unit.

    For a digit classifier: ten rows, each the digit's output weights and its
    top-``k`` excitatory (blue frame) and inhibitory (red frame) hidden
    units, as in :func:`plot_recipe`. All rows share the colour scales (with
    ``shared_scale``), so a hidden unit looks the same wherever it appears.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    k : int, default 3
        Sources per list.
    by : {"weight", "contribution"}, default "weight"
        The ranking (see :func:`plot_recipe`).
    X, y : array_like, optional
        Inputs (and labels) for ``by="contribution"``; with ``y`` each row
        averages over its own class's examples.
    layer : int, default -1
        The layer whose units make the rows.
    units : int, str or sequence of them, optional
        Which units, in this order; default every unit of the layer.
    space, shared_scale, colorbar, fig
        As for :func:`plot_recipe`.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure (or ``fig``).

    Raises
    ------
    InvalidParameterError
        As for :func:`plot_recipe`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> from mlpinspect.plotting import plot_recipes
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4))
    >>> X = rng.random((30, 16))
    >>> fig = plot_recipes(mlp, k=1, by="contribution", X=X)
    >>> len([ax for ax in fig.axes if ax.images])  # 3 rows of 1 + 2 tiles
    9
    """
    mlp, index, by, space, shared, colorbar = _check_common(
        model, by, layer, space, shared_scale, colorbar
    )
    unit_list = resolve_unit_list(mlp, index, units)
    tops = [top_units(mlp, u, layer=index, k=k, by=by, X=X, y=y) for u in unit_list]
    recipes = _Recipes(mlp, index, space, shared)
    cols = 1 + 2 * tops[0].k
    fig = prepare_figure(fig, _figsize(len(tops), cols))
    grid = fig.subplots(len(tops), cols, squeeze=False)
    drawn = []
    for row, top in zip(grid, tops):
        drawn += recipes.draw_row(row.tolist(), top)
    if colorbar:
        _colorbar(
            fig, recipes, drawn, grid.ravel().tolist(), space, shrink=0.6, aspect=30
        )
    set_title(
        fig,
        f"Layer {index}: top {tops[0].k} excitatory (blue) and inhibitory (red) "
        f"sources of each unit\n{_subtitle(by, tops[0], y, shared, space)}",
    )
    return fig
