"""Pixel attributions drawn beside (and over) their input."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_array, check_int
from ..analysis.attribution import Attribution
from ..errors import InvalidParameterError
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
from ._grid import TILE_INCHES, check_bool, image_hw, prepare_figure, set_title

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import FigureBase

__all__ = ["plot_attribution"]

_TILE = 1.7 * TILE_INCHES


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
            f"`attribution` must be an Attribution (from mlpinspect.analysis."
            f"attribute), or a list or dict of them; got {type(attribution).__name__}"
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
    stage = "logit" if result.output_stage == "pre" else "output"
    target = np.asarray(result.target)
    if target.ndim == 1:
        return f"output unit {int(target[sample])} ({stage})"
    return f"a weighted sum of the outputs ({stage})"


def plot_attribution(
    x: Any,
    attribution: Attribution | Sequence[Attribution] | Mapping[str, Attribution],
    *,
    sample: int = 0,
    overlay: bool = True,
    shared_scale: bool = False,
    colorbar: bool = True,
    fig: FigureBase | None = None,
) -> FigureBase:
    """Draw an input beside its attribution map(s), and as an overlay.

    The input in greys (ink dark), then the attribution of each input
    feature as an image (blue: the feature raises the attributed output,
    red: lowers it, white: no effect), and the overlay: the attribution as
    translucent blue and red over a faded copy of the input, the opacity
    growing with ``|attribution|``. Several results (e.g. one per method, for
    the same input) make one column each: maps on the first row, overlays on
    the second.

    Parameters
    ----------
    x : array_like
        The input, shape ``(n_inputs,)`` or the model's input shape; or all
        the attributed inputs, shape ``(n, ...)``, of which row ``sample`` is
        drawn.
    attribution : Attribution, or a list or dict of them
        From :func:`mlpinspect.analysis.attribute`; a dict's keys become the
        column titles (default: the method's name).
    sample : int, default 0
        Which row of the attribution results (and of ``x`` when it holds
        several inputs) to draw.
    overlay : bool, default True
        Also draw the overlays.
    shared_scale : bool, default False
        One colour scale for all maps, or (default) each map its own: methods
        measure in different units. Titles give each map's largest
        ``|attribution|`` and the figure's title says which scale is used.
    colorbar : bool, default True
        Draw a colour bar.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The new figure (or ``fig``); save it with ``fig.savefig(...)``.

    Raises
    ------
    InvalidParameterError
        For results of different input shapes or sizes, an ``x`` that does not
        fit them, or a ``sample`` out of range.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> from mlpinspect.analysis.attribution import attribute
    >>> from mlpinspect.plotting import plot_attribution
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4))
    >>> x = rng.random(16)
    >>> results = {m: attribute(mlp, x, 0, method=m)
    ...            for m in ("gradient", "integrated_gradients")}
    >>> fig = plot_attribution(x, results)
    >>> [ax.get_title().splitlines()[0] for ax in fig.axes if ax.images][:3]
    ['input', 'gradient', 'integrated_gradients']
    """
    named = _named_attributions(attribution)
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
    sample = check_int(sample, "sample", minimum=0, maximum=n_samples - 1)
    overlay = check_bool(overlay, "overlay")
    shared_scale = check_bool(shared_scale, "shared_scale")
    colorbar = check_bool(colorbar, "colorbar")

    hw = image_hw(shape, n_inputs)
    arr = check_array(x, "x", ndim=tuple(range(1, 3 + len(shape))))
    if arr.size == n_inputs:
        image = arr.reshape(hw)
    elif arr.size == n_samples * n_inputs:
        image = arr.reshape(n_samples, n_inputs)[sample].reshape(hw)
    else:
        raise InvalidParameterError(
            f"`x` must be the input ({n_inputs} values, input shape {shape}) or "
            f"all {n_samples} attributed inputs; got shape {arr.shape}"
        )
    maps = [_rows(r.values, n_inputs)[sample].reshape(hw) for _, r in named]
    limits = tile_limits(maps, shared_scale)

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
    for i, ((name, _), values, limit) in enumerate(zip(named, maps, limits)):
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
    # Name the target only when every result explains the same one; otherwise
    # each column's target differs and the title must not claim the first's.
    texts = {_target_text(result, sample) for _, result in named}
    what = texts.pop() if len(texts) == 1 else "different targets per column"
    set_title(
        fig,
        f"Attribution of {what}, input {sample}\n"
        f"{scale_text(shared_scale, 'a').replace('tile', 'map')}",
    )
    return fig


def _show_input(ax: Axes, image: np.ndarray, low: float, high: float) -> None:
    ax.imshow(image, cmap=INPUT_CMAP, vmin=low, vmax=high, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
