"""Figures, tile grids and argument checks shared by the plotting modules.

Figures are created as :class:`matplotlib.figure.Figure` objects directly,
never through :mod:`matplotlib.pyplot`: no global figure manager, no window,
no state left behind. matplotlib itself is imported only when a figure is
drawn, so ``import mlpinspect.plotting`` stays cheap.
"""

from __future__ import annotations

import math
import textwrap
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_array, check_int, resolve_units
from ..analysis.images import image_shape
from ..errors import InvalidParameterError
from ..mlp import MLP

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase
    from matplotlib.text import Text

__all__ = [
    "check_ax",
    "default_ncols",
    "frame",
    "input_image",
    "prepare_figure",
    "resolve_unit_list",
    "root_figure",
    "single_axes",
    "tile_axes",
    "warn_renamed",
]

TILE_INCHES = 1.05
"""Width of one image tile, in inches."""

TITLE_INCHES = 0.32
"""Height of a one-line tile title, in inches."""

MAX_COLUMNS = 10

MIN_WIDTH, MIN_HEIGHT = 4.5, 2.6
"""Smallest figure size of a grid, in inches: room for a two-line title."""


def check_ax(ax: Any, name: str = "ax") -> Axes:
    """Check that ``ax`` is a matplotlib Axes."""
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise InvalidParameterError(
            f"`{name}` must be a matplotlib Axes; got {type(ax).__name__}"
        )
    return ax


def prepare_figure(fig: Any, figsize: tuple[float, float]) -> FigureBase:
    """The Figure to draw into: ``fig`` if given, else a new one of ``figsize``.

    A new figure uses the constrained layout (titles, colour bars and tiles
    never overlap). A given, still empty :class:`~matplotlib.figure.Figure`
    without a layout engine gets the constrained layout too; a
    :class:`~matplotlib.figure.SubFigure` follows its parent's layout.
    """
    from matplotlib.figure import Figure, FigureBase

    if fig is None:
        return Figure(figsize=figsize, layout="constrained")
    if not isinstance(fig, FigureBase):
        raise InvalidParameterError(
            f"`fig` must be a matplotlib Figure or SubFigure; got {type(fig).__name__}"
        )
    if isinstance(fig, Figure) and fig.get_layout_engine() is None and not fig.axes:
        fig.set_layout_engine("constrained")
    return fig


def root_figure(artist: Any) -> Figure:
    """The top-level :class:`~matplotlib.figure.Figure` that ``artist`` (an
    Axes, a SubFigure or a Figure) is drawn on: what every plot returns."""
    try:
        return artist.get_figure(root=True)
    except TypeError:  # matplotlib < 3.10: no `root`; walk up the parents
        fig = artist
        while getattr(fig, "figure", fig) is not fig:
            fig = fig.figure
        return fig


def single_axes(
    ax: Any, fig: Any, figsize: tuple[float, float], *, allow_fig: bool = True
) -> Axes:
    """The one Axes a single-panel plot draws into: ``ax`` when given, else a
    new Axes filling ``fig`` (a new figure of ``figsize`` when None)."""
    if ax is not None:
        if fig is not None:
            raise InvalidParameterError("pass either `ax=` or `fig=`, not both")
        return check_ax(ax)
    return prepare_figure(fig, figsize).subplots()


def warn_renamed(old: str, new: str) -> None:
    """Warn that ``old`` is a deprecated alias of ``new`` (for the caller's caller)."""
    warnings.warn(
        f"mlpinspect.plotting.{old} is deprecated and will be removed in 0.3; use "
        f"mlpinspect.plotting.{new} (same figure, keyword-only options)",
        DeprecationWarning,
        stacklevel=3,
    )


def figure_width(fig: FigureBase) -> float:
    """Width in inches of a Figure, or of the part of it a SubFigure covers."""
    width = float(fig.figure.get_figwidth())
    relative = getattr(fig, "bbox_relative", None)
    if relative is not None and fig is not fig.figure:
        width *= float(relative.width)
    return width


def set_title(fig: FigureBase, text: str) -> Text:
    """The figure's title, each line wrapped to the figure's width; returns
    the title's Text (an animation updates it)."""
    chars = max(24, int(figure_width(fig) * 12))
    lines = [
        wrapped for line in text.split("\n") for wrapped in textwrap.wrap(line, chars)
    ]
    return fig.suptitle("\n".join(lines), fontsize="medium")


def default_ncols(n: int, max_columns: int = MAX_COLUMNS) -> int:
    """Columns for ``n`` tiles: at most ``max_columns``, rows as even as possible.

    >>> default_ncols(30), default_ncols(16), default_ncols(5), default_ncols(100)
    (10, 8, 5, 10)
    """
    rows = max(1, math.ceil(n / max_columns))
    return max(1, math.ceil(n / rows))


def tile_axes(fig: FigureBase, n: int, ncols: int) -> list[Axes]:
    """``n`` Axes in a grid of ``ncols`` columns, row by row; unused cells removed."""
    nrows = math.ceil(n / ncols)
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for ax in axes[n:]:
        ax.remove()
    return axes[:n]


def grid_size(
    n: int,
    ncols: int,
    tile_hw: tuple[int, int],
    *,
    tile_inches: float = TILE_INCHES,
    extra_width: float = 0.9,
    extra_height: float = 0.75,
) -> tuple[float, float]:
    """A figure size for ``n`` tiles of images shaped ``tile_hw`` in ``ncols``
    columns, plus room for a colour bar and a title."""
    nrows = math.ceil(n / ncols)
    h, w = tile_hw
    aspect = min(max(h / w, 0.2), 5.0)
    width = max(ncols * tile_inches + extra_width, MIN_WIDTH)
    # Padding makes a tile a little narrower than tile_inches; its height
    # follows, so a row needs less than the full width.
    height = nrows * (0.8 * tile_inches * aspect + TITLE_INCHES) + extra_height
    return width, max(height, MIN_HEIGHT)


def frame(ax: Axes, color: Any, width: float = 3.0) -> None:
    """Draw a coloured frame around ``ax`` (its four spines)."""
    for spine in ax.spines.values():
        spine.set_visible(True)
        spine.set_edgecolor(color)
        spine.set_linewidth(width)


def resolve_unit_list(
    mlp: MLP, layer: int, units: Any, name: str = "units"
) -> list[int]:
    """``units`` as a list of indices of ``layer``, in the order given (every
    unit when None); an index or class name is checked as for the analysis."""
    return resolve_units(
        mlp, layer, units, name, keep_order=True, allow_empty=False
    ).tolist()


def image_hw(input_shape: tuple[int, ...], n: int) -> tuple[int, int]:
    """The 2-D shape to draw an input of ``n`` values: the model's input shape
    when it is an image (dropping axes of size 1), else :func:`image_shape`."""
    dims = tuple(s for s in input_shape if s != 1)
    if len(input_shape) == 2:
        return int(input_shape[0]), int(input_shape[1])
    if len(dims) == 2:
        return int(dims[0]), int(dims[1])
    return image_shape(n)


def input_image(x: Any, input_shape: tuple[int, ...], name: str = "x") -> np.ndarray:
    """One input as a 2-D image, shape ``image_hw(input_shape)``.

    ``x`` may be flat ``(n_inputs,)``, shaped like the input, or one row with a
    leading axis of size 1.
    """
    n = int(np.prod(input_shape))
    arr = check_array(x, name, ndim=tuple(range(1, 2 + len(input_shape))))
    if arr.size != n:
        raise InvalidParameterError(
            f"`{name}` must be one input of {n} values (the model's input size, "
            f"shape {input_shape}); got shape {arr.shape}"
        )
    return arr.reshape(image_hw(input_shape, n))


def check_ncols(ncols: Any, n: int, max_columns: int = MAX_COLUMNS) -> int:
    """``ncols`` checked (>= 1), or the default for ``n`` tiles; at most ``n``."""
    if ncols is None:
        return default_ncols(n, max_columns)
    return min(check_int(ncols, "ncols", minimum=1), n)


def check_bool(value: Any, name: str) -> bool:
    """Check a flag (``True``/``False``, numpy bools accepted)."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(
            f"`{name}` must be True or False; got {value!r} ({type(value).__name__})"
        )
    return bool(value)
