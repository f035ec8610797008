"""Pixel attributions drawn beside (and over) their input."""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_array, check_int
from ..analysis.attribution import Attribution
from ..errors import InvalidParameterError
from ._bars import (
    DEFAULT_TOP,
    check_top,
    draw_ranked_bars,
    feature_labels,
    is_tabular,
    panel_height,
)
from ._colors import (
    INPUT_CMAP,
    add_colorbar,
    add_relative_colorbar,
    format_value,
    scale_text,
    show_signed,
    signed_rgba,
    tile_limits,
)
from ._grid import (
    TILE_INCHES,
    check_bool,
    image_hw,
    prepare_figure,
    root_figure,
    set_title,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase

__all__ = ["plot_attribution"]

_TILE = 1.7 * TILE_INCHES


def _is_attributions(value: Any) -> bool:
    """Whether ``value`` is an Attribution, or a non-empty dict or list of them."""
    if isinstance(value, Attribution):
        return True
    if isinstance(value, Mapping):
        items = list(value.values())
    elif isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = list(value)
    else:
        return False
    return bool(items) and all(isinstance(v, Attribution) for v in items)


def _named_attributions(attribution: Any) -> list[tuple[str, Attribution]]:
    """``(title, result)`` pairs from one result, a sequence or a mapping."""
    if isinstance(attribution, Attribution):
        items = [(None, attribution)]
    elif isinstance(attribution, Mapping):
        items = [(str(k), v) for k, v in attribution.items()]
    elif isinstance(attribution, Sequence) and not isinstance(attribution, str):
        items = [(None, v) for v in attribution]
    else:
        raise InvalidParameterError(
            f"`attribution` must be an Attribution (from mlpinspect.attribute), or "
            f"a list or dict of them; got {type(attribution).__name__}"
        )
    if not items:
        raise InvalidParameterError("`attribution` must hold at least one result")
    for i, (_, value) in enumerate(items):
        if not isinstance(value, Attribution):
            raise InvalidParameterError(
                f"`attribution` entry {i} must be an Attribution; got "
                f"{type(value).__name__}"
            )
    return [
        (name if name is not None else value.method.replace("_", " "), value)
        for name, value in items
    ]


def _rows(values: np.ndarray, n_inputs: int) -> np.ndarray:
    """Attribution values as ``(n, n_inputs)``."""
    return np.asarray(values, dtype=np.float64).reshape(-1, n_inputs)


def _target_text(result: Attribution, sample: int) -> str:
    stage = "logit" if result.stage == "pre" else "output"
    target = np.asarray(result.target)
    if target.ndim == 1:
        return f"output unit {int(target[sample])} ({stage})"
    row = target[sample]
    nonzero = np.flatnonzero(row)
    if nonzero.size == 1 and row[nonzero[0]] == -1.0:
        # A binary model's negative class: minus the one unit.
        return f"minus output unit {int(nonzero[0])} ({stage}, the negative class)"
    return f"a weighted sum of the outputs ({stage})"


def _check_results(named: list[tuple[str, Attribution]]) -> tuple[tuple[int, ...], int]:
    """The input shape and number of rows the results share."""
    first = named[0][1]
    shape = tuple(first.input_shape)
    n_inputs = int(np.prod(shape))
    n_samples = _rows(first.values, n_inputs).shape[0]
    for name, result in named[1:]:
        if tuple(result.input_shape) != shape or (
            _rows(result.values, n_inputs).shape[0] != n_samples
        ):
            raise InvalidParameterError(
                f"`attribution` results must share one input shape and number of "
                f"inputs; {name!r} has input shape {result.input_shape} and "
                f"values of shape {result.values.shape}, the first {shape} and "
                f"{first.values.shape}"
            )
    return shape, n_samples


def _input_row(
    x: Any, first: Attribution, shape: tuple[int, ...], n_samples: int, sample: int
) -> np.ndarray:
    """Input ``sample`` as a flat ``(n_inputs,)`` array: from ``x`` (one input
    or all of them), else from the inputs the result holds."""
    n_inputs = int(np.prod(shape))
    if x is None:
        if first.inputs is None:
            raise InvalidParameterError(
                "`x` is required: the Attribution holds no inputs (`inputs` is None)"
            )
        x = first.inputs
    arr = check_array(x, "x", ndim=tuple(range(1, 3 + len(shape))))
    if arr.size == n_inputs:
        return arr.reshape(n_inputs)
    if arr.size == n_samples * n_inputs:
        return arr.reshape(n_samples, n_inputs)[sample]
    raise InvalidParameterError(
        f"`x` must be the input ({n_inputs} values, input shape {shape}) or "
        f"all {n_samples} attributed inputs; got shape {arr.shape}"
    )


def plot_attribution(
    attribution: Attribution | Sequence[Attribution] | Mapping[str, Attribution],
    x: Any = None,
    *,
    sample: int = 0,
    overlay: bool = True,
    shared_scale: bool = False,
    colorbar: bool = True,
    top: int | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw an input beside its attribution map(s), and as an overlay.

    The input in greys (ink dark), then the attribution of each input
    feature as an image (blue: the feature raises the attributed output,
    red: lowers it, white: no effect), and the overlay: the attribution as
    translucent blue and red over a faded copy of the input, the opacity
    growing with ``|attribution|``. Several results (e.g. one per method, for
    the same input) make one column each: maps on the first row, overlays on
    the second.

    For a tabular model (a 1-D input shape) each result is a chart of
    horizontal bars instead: its ``top`` largest attributions by
    ``|attribution|``, labelled with the feature names (the result's
    ``feature_names``, else ``"x0"``, ``"x1"``, ...).

    Parameters
    ----------
    attribution : Attribution, or a list or dict of them
        From :func:`mlpinspect.attribute`; a dict's keys become the column
        titles (default: the method's name).
    x : array_like, optional
        The input to draw, shape ``(n_inputs,)`` or the model's input shape,
        or all the attributed inputs, shape ``(n, ...)``, of which row
        ``sample`` is drawn. Default: the inputs the (first) result holds.
    sample : int, default 0
        Which row of the attribution results (and of ``x`` when it holds
        several inputs) to draw.
    overlay : bool, default True
        Also draw the overlays (images only).
    shared_scale : bool, default False
        One colour (or bar) scale for all maps, or (default) each map its
        own: methods measure in different units. Titles give each map's
        largest ``|attribution|`` and the figure's title says which scale is
        used.
    colorbar : bool, default True
        Draw a colour bar (images only).
    top : int, optional
        Bars per chart for a tabular model; default 15.
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
        For results of different input shapes or sizes, an ``x`` that does not
        fit them, or a ``sample`` out of range.

    Notes
    -----
    The 0.1 order ``plot_attribution(x, attribution)`` still works and emits
    a :class:`DeprecationWarning`; it will be removed in 0.3.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, attribute
    >>> from mlpinspect.plotting import plot_attribution
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4))
    >>> x = rng.random(16)
    >>> results = {m: attribute(mlp, x, 0, method=m)
    ...            for m in ("gradient", "integrated_gradients")}
    >>> fig = plot_attribution(results)
    >>> [ax.get_title().splitlines()[0] for ax in fig.axes if ax.images][:3]
    ['input', 'gradient', 'integrated_gradients']

    A tabular model's attributions are bars labelled with its features:

    >>> tabular = mlp.replace(input_shape=(16,),
    ...                       feature_names=[f"f{i}" for i in range(16)])
    >>> result = attribute(tabular, x, 0, method="gradient_x_input")
    >>> fig = plot_attribution(result, top=3)
    >>> bars = fig.axes[0].patches
    >>> best = np.argsort(-np.abs(result.values))[:3]
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
    ...     f"f{i}" for i in best]
    True
    >>> [bar.get_width() for bar in bars] == result.values[best].tolist()
    True
    """
    if not _is_attributions(attribution) and _is_attributions(x):
        warnings.warn(
            "plot_attribution(x, attribution) is deprecated and will be removed in "
            "0.3: pass the attribution(s) first, plot_attribution(attribution, x); "
            "x is optional (an Attribution holds its inputs)",
            DeprecationWarning,
            stacklevel=2,
        )
        attribution, x = x, attribution
    named = _named_attributions(attribution)
    shape, n_samples = _check_results(named)
    n_inputs = int(np.prod(shape))
    sample = check_int(sample, "sample", minimum=0, maximum=n_samples - 1)
    overlay = check_bool(overlay, "overlay")
    shared_scale = check_bool(shared_scale, "shared_scale")
    colorbar = check_bool(colorbar, "colorbar")
    top = check_top(top, DEFAULT_TOP)
    row = _input_row(x, named[0][1], shape, n_samples, sample)
    maps = [_rows(r.values, n_inputs)[sample] for _, r in named]
    limits = tile_limits(maps, shared_scale)
    if is_tabular(shape):
        fig = _draw_bars(fig, named, maps, limits, top)
    else:
        fig = _draw_images(
            fig,
            named,
            row.reshape(image_hw(shape, n_inputs)),
            maps,
            limits,
            overlay=overlay,
            colorbar=colorbar,
            shared_scale=shared_scale,
        )
    # Name the target only when every result explains the same one; otherwise
    # each column's target differs and the title must not claim the first's.
    texts = {_target_text(result, sample) for _, result in named}
    what = texts.pop() if len(texts) == 1 else "different targets per column"
    if is_tabular(shape):
        scale = "one scale for all charts" if shared_scale else "each its own scale"
    else:
        scale = scale_text(shared_scale, "a").replace("tile", "map")
    set_title(fig, f"Attribution of {what}, input {sample}\n{scale}")
    return root_figure(fig)


def _draw_bars(
    fig: FigureBase | None,
    named: list[tuple[str, Attribution]],
    maps: list[np.ndarray],
    limits: list[float],
    top: int,
) -> FigureBase:
    """One chart of ranked, labelled bars per result, side by side."""
    n_inputs = maps[0].size
    n_bars = min(top, n_inputs)
    size = (max(3.6 * len(named) + 0.4, 4.5), panel_height(n_bars) + 1.1)
    fig = prepare_figure(fig, size)
    axes = fig.subplots(1, len(named), squeeze=False)[0]
    for ax, (name, result), values, limit in zip(axes, named, maps, limits):
        labels = feature_labels(n_inputs, result.feature_names)
        draw_ranked_bars(ax, values, labels, top=top, limit=limit, quantity="a")
        own_max = float(np.abs(values).max())
        ax.set_title(f"{name}\nmax |a| {format_value(own_max)}", fontsize="medium")
    return fig


def _draw_images(
    fig: FigureBase | None,
    named: list[tuple[str, Attribution]],
    image: np.ndarray,
    maps: list[np.ndarray],
    limits: list[float],
    *,
    overlay: bool,
    colorbar: bool,
    shared_scale: bool,
) -> FigureBase:
    """The input, each result's map and (with ``overlay``) its overlay."""
    hw = image.shape
    m = len(named)
    single = m == 1
    nrows = 1 if (single or not overlay) else 2
    ncols = 1 + m + (1 if (single and overlay) else 0)
    aspect = min(max(hw[0] / hw[1], 0.2), 5.0)
    size = (ncols * _TILE + 0.8, nrows * (_TILE * aspect * 0.9 + 0.45) + 0.8)
    fig = prepare_figure(fig, size)
    grid = fig.subplots(nrows, ncols, squeeze=False)

    low, high = min(float(image.min()), 0.0), float(image.max())
    high = high if high > low else low + 1.0
    _show_input(grid[0, 0], image, low, high)
    grid[0, 0].set_title("input", fontsize="medium")
    map_axes, overlay_axes = [], []
    for i, ((name, _), flat, limit) in enumerate(zip(named, maps, limits)):
        values = flat.reshape(hw)
        ax = grid[0, 1 + i]
        show_signed(ax, values, limit)
        own_max = float(np.abs(values).max())
        ax.set_title(f"{name}\nmax |a| {format_value(own_max)}", fontsize="medium")
        map_axes.append(ax)
        if overlay:
            oax = grid[0, 2] if single else grid[1, 1 + i]
            # The input faded to at most mid grey, so the colours stay visible.
            _show_input(oax, image, low, low + 2.0 * (high - low))
            oax.imshow(signed_rgba(values, limit), interpolation="nearest")
            oax.set_title(
                "overlay" if single else f"{name}\noverlay", fontsize="medium"
            )
            overlay_axes.append(oax)
    if nrows == 2:
        grid[1, 0].remove()

    if colorbar:
        targets = map_axes + overlay_axes
        kwargs = {"shrink": 0.8, "aspect": 15 * nrows}
        if shared_scale:
            add_colorbar(fig, map_axes[0].images[0], targets, "attribution", **kwargs)
        else:
            add_relative_colorbar(fig, targets, "attribution (per map)", **kwargs)
    return fig


def _show_input(ax: Axes, image: np.ndarray, low: float, high: float) -> None:
    ax.imshow(image, cmap=INPUT_CMAP, vmin=low, vmax=high, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
