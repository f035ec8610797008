"""The study's collage: what a unit is built from (its top sources)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_choice, is_sequence
from ..adapters import adapt
from ..analysis._batches import DEFAULT_CHUNK_SIZE
from ..analysis.images import input_space_images, weight_images
from ..analysis.selection import TopUnits, top_units
from ..errors import InvalidParameterError
from ..mlp import MLP
from ._bars import (
    PANEL_TOP,
    check_top,
    draw_ranked_bars,
    feature_labels,
    is_tabular,
    panel_height,
)
from ._colors import (
    NEGATIVE_COLOR,
    NEUTRAL_COLOR,
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
    root_figure,
    set_title,
    warn_renamed,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase

__all__ = ["plot_recipe", "plot_recipes", "plot_top_units"]

_SPACES = ("input", "own")
_SYMBOL = {"weight": "w", "contribution": "c"}
_CAPTION_INCHES = 0.5  # a two-line tile caption
_BAR_TILE_INCHES = 2.1  # a source drawn as bars, feature names included


def _unit_label(top: TopUnits) -> str:
    """``'cat'`` (the class the ranked unit stands for) or ``unit 3``."""
    return f"unit {top.unit}" if top.unit_name is None else repr(str(top.unit_name))


class _Recipes:
    """The images (or bars) and scales every row of a recipe figure shares."""

    def __init__(
        self, mlp: MLP, layer: int, space: str, shared: bool, top: int
    ) -> None:
        self.mlp, self.layer, self.shared, self.top = mlp, layer, shared, top
        self.unit_images = weight_images(mlp, layer=layer)
        source_layer = layer - 1
        over_inputs = source_layer == 0 or space == "input"
        # A tabular model's sources drawn in input space are feature vectors.
        self.bars = over_inputs and is_tabular(mlp.input_shape)
        if source_layer == 0 or space == "own":
            self.source_images = weight_images(mlp, layer=source_layer)
        else:
            self.source_images = input_space_images(mlp, layer=source_layer)
        self.feature_names = feature_labels(mlp.n_inputs, mlp.feature_names)
        # A shared scale spans the whole layer, so a unit has the same colours
        # in every row and in plot_weight_images.
        self.unit_limit = symmetric_limit(self.unit_images)
        self.source_limit = symmetric_limit(self.source_images)

    def draw_row(self, axes: Sequence[Axes], top: TopUnits) -> list[Any]:
        """Draw one recipe into ``1 + 2k`` axes; return the source images drawn."""
        # The negative class of a binary model is minus the one unit: its
        # weights carry the sign, as in ``top.scores``.
        unit_image = top.sign * self.unit_images[top.unit]
        limit = self.unit_limit if self.shared else symmetric_limit(unit_image)
        show_signed(axes[0], unit_image, limit)
        axes[0].set_title(f"{_unit_label(top)}\nweights", fontsize="small", pad=3)
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
            if self.bars:
                draw_ranked_bars(
                    ax,
                    image.ravel(),
                    self.feature_names,
                    top=self.top,
                    limit=lim,
                    quantity="weight",
                    annotate=False,
                    fontsize="x-small",
                )
                ax.set_xlabel("")
            else:
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
            fontsize=6.5,
            color="white" if dark else "black",
        )


def _check_options(
    space: Any, shared: Any, colorbar: Any, top: Any
) -> tuple[str, bool, bool, int]:
    return (
        check_choice(space, "space", _SPACES),
        check_bool(shared, "shared_scale"),
        check_bool(colorbar, "colorbar"),
        check_top(top, PANEL_TOP),
    )


def _subtitle(top: TopUnits, per_class: bool, shared: bool, space: str) -> str:
    if top.by == "weight":
        ranked = "ranked by incoming weight w"
    elif per_class:
        ranked = "ranked by mean contribution c = w × activation on each class"
    else:
        ranked = (
            f"ranked by mean contribution c = w × activation on {top.n_samples} inputs"
        )
    if top.layer == 0:
        return ranked
    if shared:
        scale = "sources share one scale, weights another"
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
    if recipes.bars:  # bars have an axis; only the unit images have colours
        return
    label = _source_name(recipes, space)
    if recipes.shared:
        add_colorbar(fig, drawn[0], axes, label, **kwargs)
    else:
        add_relative_colorbar(fig, axes, f"{label} (per tile)", **kwargs)


def _figsize(rows: int, cols: int, recipes: _Recipes) -> tuple[float, float]:
    if recipes.bars:
        n_bars = min(recipes.top, recipes.mlp.n_inputs)
        row = max(panel_height(n_bars), 0.85 * TILE_INCHES + _CAPTION_INCHES)
        width = TILE_INCHES + (cols - 1) * _BAR_TILE_INCHES + 0.6
        return max(width, 6.0), max(rows * row + 1.0, 2.6)
    return (
        max(cols * TILE_INCHES + 1.0, 6.0),
        max(rows * (0.85 * TILE_INCHES + _CAPTION_INCHES) + 1.0, 2.6),
    )


def _row_axes(fig: FigureBase, rows: int, cols: int, recipes: _Recipes) -> np.ndarray:
    ratios = None
    if recipes.bars:  # the unit's image is narrower than a chart with names
        ratios = [TILE_INCHES] + [_BAR_TILE_INCHES] * (cols - 1)
    return fig.subplots(rows, cols, squeeze=False, width_ratios=ratios)


# -- the sources of the first layer: input features or pixels ----------------------


def _draw_feature_picks(ax: Axes, top: TopUnits, names: Sequence[str]) -> None:
    """The 2k picks of a tabular model's first layer as labelled bars: the
    highest first, then (below a line) the lowest; blue positive, red negative."""
    k = top.k
    y = np.r_[np.arange(k), np.arange(k) + k + 0.6]
    sources = [*map(int, top.excitatory), *map(int, top.inhibitory)]
    values = np.r_[top.excitatory_values, top.inhibitory_values].astype(np.float64)
    kinds = ["excitatory"] * k + ["inhibitory"] * k
    colors = [POSITIVE_COLOR if v >= 0 else NEGATIVE_COLOR for v in values]
    bars = ax.barh(y, values, color=colors, height=0.7)
    for patch, kind, source in zip(bars.patches, kinds, sources):
        patch.set_gid(f"{kind} {source}")
    ax.set_yticks(y, [names[s] for s in sources], fontsize="small")
    ax.set_ylim(y[-1] + 0.6, -0.6)
    ax.axhline(k - 0.2, color="0.5", linewidth=0.8, linestyle="--")
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    v = symmetric_limit(values)
    ax.set_xlim(-1.45 * v, 1.45 * v)
    for yi, value in zip(y, values):
        ax.text(
            value + (0.02 if value >= 0 else -0.02) * v,
            yi,
            format_value(float(value), "+"),
            ha="left" if value >= 0 else "right",
            va="center",
            fontsize="x-small",
        )
    symbol = _SYMBOL[top.by]
    ax.set_xlabel(f"{top.by} {symbol}: the {k} highest (top), the {k} lowest")
    ax.grid(axis="x", color="0.9", linewidth=0.6)
    ax.set_axisbelow(True)


def _draw_pixel_picks(
    fig: FigureBase, ax: Axes, top: TopUnits, image: np.ndarray, colorbar: bool
) -> None:
    """The unit's weight image with its picked pixels circled (the k highest
    and the k lowest; the pixel's own colour tells which), each with its index."""
    limit = symmetric_limit(image)
    im = show_signed(ax, image, limit)
    width = image.shape[1]
    for kind, sources in (
        ("excitatory", top.excitatory),
        ("inhibitory", top.inhibitory),
    ):
        rows, cols = np.divmod(np.asarray(sources, dtype=np.intp), width)
        # Black rings: a blue ring would vanish on the blue pixel it marks.
        ax.scatter(
            cols,
            rows,
            marker="o",
            s=170,
            facecolors="none",
            edgecolors=NEUTRAL_COLOR,
            linewidths=1.4,
            gid=kind,
        )
    _label_pixels(
        ax, image, limit, [*map(int, top.excitatory), *map(int, top.inhibitory)]
    )
    if colorbar:
        add_colorbar(fig, im, ax, top.by)


def _first_layer_figure(
    top: TopUnits, mlp: MLP, colorbar: bool, fig: FigureBase | None
) -> Figure:
    n = mlp.n_inputs
    title = (
        f"{_unit_label(top)} of layer 0: its {top.k} highest and {top.k} lowest inputs"
    )
    if is_tabular(mlp.input_shape):
        fig = prepare_figure(fig, (6.4, max(2.8, 0.45 * top.k + 1.6)))
        ax = fig.subplots()
        _draw_feature_picks(ax, top, feature_labels(n, top.source_names))
    else:
        image = top.sign * weight_images(mlp, layer=0)[top.unit]
        fig = prepare_figure(fig, (5.2, 4.6))
        ax = fig.subplots()
        _draw_pixel_picks(fig, ax, top, image, colorbar)
        title += " (circled)"
    set_title(fig, f"{title}\n{_subtitle(top, False, True, 'input')}")
    return root_figure(fig)


# -- public ------------------------------------------------------------------------


def _top_units_of(
    subject: Any,
    unit: Any,
    k: Any,
    by: Any,
    X: Any,
    y: Any,
    layer: Any,
    chunk_size: Any,
) -> TopUnits:
    """``subject`` if it is a TopUnits (then the ranking options must not be
    given), else ``top_units`` of the model ``subject``."""
    if isinstance(subject, TopUnits):
        given = {
            name: value
            for name, value in {
                "unit": unit,
                "k": k,
                "by": by,
                "X": X,
                "y": y,
                "layer": layer,
            }.items()
            if value is not None
        }
        if given:
            raise InvalidParameterError(
                f"{', '.join(f'`{n}`' for n in given)} select what to rank, so they "
                f"are for a model; the TopUnits given is already ranked"
            )
        if subject.model is None:
            raise InvalidParameterError(
                "the TopUnits holds no model (its `model` is None) to draw the "
                "sources from; pass the model: plot_top_units(model, unit, ...)"
            )
        return subject
    if unit is None:
        raise InvalidParameterError(
            "`unit` is required to rank the sources of a model's unit (an index, "
            "or a class label on the output layer)"
        )
    return top_units(
        subject,
        unit,
        layer=-1 if layer is None else layer,
        k=3 if k is None else k,
        by="weight" if by is None else by,
        X=X,
        y=y,
        chunk_size=chunk_size,
    )


def plot_top_units(
    top_units_or_model: TopUnits | Any,
    unit: int | str | None = None,
    *,
    k: int | None = None,
    by: str | None = None,
    X: Any = None,
    y: Any = None,
    layer: int | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    space: str = "input",
    shared_scale: bool = True,
    colorbar: bool = True,
    top: int | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw what one unit is built from: its weights and its top-k sources.

    The study's collage for one digit: the output unit's incoming weights as
    an image (5 x 6 for 30 hidden units), then the images of its ``k`` most
    excitatory source units (blue frame) and its ``k`` most inhibitory ones
    (red frame), each captioned with its index and its weight ``w`` (or mean
    contribution ``c``). The units are exactly those of the
    :class:`~mlpinspect.analysis.TopUnits` given, or that
    :func:`mlpinspect.top_units` returns for the same arguments.

    For a tabular model (a 1-D input shape) the sources drawn in input space
    are charts of their ``top`` largest weights, labelled with the feature
    names. For a unit of the first layer, whose sources are the inputs: a
    tabular model's ``k`` highest and ``k`` lowest features as labelled bars,
    an image model's weight image with the picked pixels circled. The negative
    class of a binary model (``sign == -1``) is drawn with its own weights,
    minus the one unit's.

    Parameters
    ----------
    top_units_or_model : TopUnits, or a model
        From :func:`mlpinspect.top_units` (it holds the model); or a model
        (anything :func:`mlpinspect.adapt` accepts) to rank ``unit`` of.
    unit : int or str, optional
        For a model: the unit (an index, or a class label on the output
        layer; required).
    k : int, optional
        For a model: sources per list (default 3, clipped to the fan-in).
    by : {"weight", "contribution"}, optional
        For a model: rank the sources by incoming weight (the default, as the
        study did) or by mean contribution ``w * activation`` over ``X`` (see
        :func:`~mlpinspect.analysis.top_units`).
    X : array_like, optional
        For a model: inputs, shape ``(n, n_inputs)``; needed for
        ``by="contribution"``.
    y : array_like, optional
        For a model: labels of ``X``; with them the contributions are averaged
        over the examples of the unit's own class only.
    layer : int, optional
        For a model: the unit's layer (default -1, the output layer).
    chunk_size : int, default 1000
        For a model: rows of ``X`` processed at a time.
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
    top : int, optional
        Bars per source chart of a tabular model; default 10.
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
        For a bad ``unit``, ``k``, ``by``, ``layer``, ``space``, ``top`` or
        ``fig``, ``by="contribution"`` without ``X``, ranking options given
        with a TopUnits, or a TopUnits without its model.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, top_units
    >>> from mlpinspect.plotting import plot_top_units
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4), class_names=["a", "b", "c"])
    >>> fig = plot_top_units(top_units(mlp, "b", k=2))
    >>> len([ax for ax in fig.axes if ax.images])  # the unit and 2 + 2 sources
    5
    >>> fig = plot_top_units(mlp, "b", k=2)  # the same, from the model

    A tabular model's first layer: the features, named.

    >>> tabular = mlp.replace(input_shape=(16,),
    ...                       feature_names=[f"f{i}" for i in range(16)])
    >>> top = top_units(tabular, 4, layer=0, k=2)
    >>> fig = plot_top_units(top)
    >>> labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    >>> labels == [f"f{i}" for i in (*top.excitatory, *top.inhibitory)]
    True
    """
    result = _top_units_of(top_units_or_model, unit, k, by, X, y, layer, chunk_size)
    space, shared, colorbar, bars = _check_options(space, shared_scale, colorbar, top)
    mlp = result.model
    if result.layer == 0:
        return _first_layer_figure(result, mlp, colorbar, fig)
    recipes = _Recipes(mlp, result.layer, space, shared, bars)
    cols = 1 + 2 * result.k
    fig = prepare_figure(fig, _figsize(1, cols, recipes))
    axes = _row_axes(fig, 1, cols, recipes)[0].tolist()
    drawn = recipes.draw_row(axes, result)
    if colorbar:
        _colorbar(fig, recipes, drawn, axes, space, shrink=0.9, aspect=12)
    set_title(
        fig,
        f"{_unit_label(result)}: top {result.k} excitatory (blue) and "
        f"inhibitory (red) sources\n"
        f"{_subtitle(result, y is not None, shared, space)}",
    )
    return root_figure(fig)


def _class_values(mlp: MLP, layer: int, units: Any) -> list[Any]:
    """What to rank for each row: unit indices, or on the output layer the
    values given (class labels allowed), every class by default. A binary
    model's default rows are both its classes, named by their labels."""
    if layer != len(mlp.layers) - 1:
        return resolve_unit_list(mlp, layer, units)
    if units is None:
        if mlp.task == "binary":
            # As strings: labels, never read as output positions.
            return [mlp.class_label(0), mlp.class_label(1)]
        return list(range(mlp.layers[layer].n_out))
    if isinstance(units, (str, int, np.integer, bool)):
        return [units]
    if not is_sequence(units):
        raise InvalidParameterError(
            f"`units` must be a unit (an index or a label) or a list of them; got "
            f"{type(units).__name__}"
        )
    values = list(units)
    if not values:
        raise InvalidParameterError("`units` must name at least one unit; got none")
    return values


def plot_recipes(
    model: Any,
    k: int = 3,
    by: str = "weight",
    X: Any = None,
    y: Any = None,
    *,
    layer: int = -1,
    units: int | str | Sequence[int | str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    space: str = "input",
    shared_scale: bool = True,
    colorbar: bool = True,
    top: int | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw the recipe of every output unit on one page, one row per unit.

    For a digit classifier: ten rows, each the digit's output weights and its
    top-``k`` excitatory (blue frame) and inhibitory (red frame) hidden
    units, as in :func:`plot_top_units`. All rows share the colour scales
    (with ``shared_scale``), so a hidden unit looks the same wherever it
    appears. A binary model gets two rows, its negative and positive class.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    k : int, default 3
        Sources per list.
    by : {"weight", "contribution"}, default "weight"
        The ranking (see :func:`plot_top_units`).
    X, y : array_like, optional
        Inputs (and labels) for ``by="contribution"``; with ``y`` each row
        averages over its own class's examples.
    layer : int, default -1
        The layer whose units make the rows (not the first).
    units : int, str or sequence of them, optional
        Which units (or, on the output layer, class labels), in this order;
        default every unit (every class) of the layer.
    chunk_size, space, shared_scale, colorbar, top, fig
        As for :func:`plot_top_units`.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on (new, or the root figure of ``fig``).

    Raises
    ------
    InvalidParameterError
        As for :func:`plot_top_units`, and for ``layer`` 0.

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
    mlp = adapt(model).check_finite()
    index = mlp.layer_index(layer)
    if index == 0:
        raise InvalidParameterError(
            "`layer` must be a layer after the first (its sources are units with "
            "incoming weights of their own to draw); got layer 0. For one unit "
            "of the first layer use plot_top_units"
        )
    space, shared, colorbar, bars = _check_options(space, shared_scale, colorbar, top)
    tops = [
        top_units(mlp, u, layer=index, k=k, by=by, X=X, y=y, chunk_size=chunk_size)
        for u in _class_values(mlp, index, units)
    ]
    recipes = _Recipes(mlp, index, space, shared, bars)
    cols = 1 + 2 * tops[0].k
    fig = prepare_figure(fig, _figsize(len(tops), cols, recipes))
    grid = _row_axes(fig, len(tops), cols, recipes)
    drawn = []
    for row, result in zip(grid, tops):
        drawn += recipes.draw_row(row.tolist(), result)
    if colorbar:
        _colorbar(
            fig, recipes, drawn, grid.ravel().tolist(), space, shrink=0.6, aspect=30
        )
    set_title(
        fig,
        f"Layer {index}: top {tops[0].k} excitatory (blue) and inhibitory (red) "
        f"sources of each unit\n{_subtitle(tops[0], y is not None, shared, space)}",
    )
    return root_figure(fig)


def plot_recipe(
    model: Any,
    unit: int | str,
    k: int = 3,
    by: str = "weight",
    X: Any = None,
    y: Any = None,
    **kwargs: Any,
) -> Figure:
    """Deprecated alias of :func:`plot_top_units` (removed in 0.3).

    ``plot_recipe(model, unit, k, by, X, y, ...)`` is
    ``plot_top_units(model, unit, k=k, by=by, X=X, y=y, ...)``.

    Returns
    -------
    matplotlib.figure.Figure
        What :func:`plot_top_units` returns; a :class:`DeprecationWarning` is
        emitted first.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> from mlpinspect.plotting import plot_recipe
    >>> mlp = MLP([Dense(np.eye(4), np.zeros(4), "sigmoid"),
    ...            Dense(np.ones((2, 4)), np.zeros(2), "softmax")])
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fig = plot_recipe(mlp, 0, k=1)
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """
    warn_renamed("plot_recipe", "plot_top_units")
    return plot_top_units(model, unit, k=k, by=by, X=X, y=y, **kwargs)
