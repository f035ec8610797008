"""Ranked bars: how the input features of a tabular model are drawn.

A model whose ``input_shape`` has one dimension takes feature vectors, not
images, so a unit's weights (or contributions, or attributions) over its
inputs are a list of named numbers. They are drawn as horizontal bars, the
largest ``|value|`` at the top, each labelled with its feature's name, blue
positive and red negative on an axis symmetric about zero (the colour
convention of :mod:`._colors`). Only the ``top`` largest are drawn; the axis
label says how many were left out. Whether inputs are tabular is read from
``input_shape``, never guessed from the values.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_int
from ..errors import InvalidParameterError
from ._colors import (
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    format_value,
    symmetric_limit,
    tile_limits,
)
from ._grid import set_title, tile_axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import FigureBase

__all__ = [
    "DEFAULT_TOP",
    "PANEL_TOP",
    "draw_bar_panels",
    "draw_ranked_bars",
    "feature_labels",
    "is_tabular",
    "ranked",
]

DEFAULT_TOP = 15
"""Bars in a figure's one chart."""

PANEL_TOP = 10
"""Bars in each panel of a grid of charts."""

BAR_INCHES = 0.2
"""Height of one bar's row, in inches."""

PANEL_WIDTH = 2.8
"""Width of one panel of a grid, feature names included, in inches."""

MAX_PANEL_COLUMNS = 4
"""At most this many bar charts side by side (feature names need room)."""


def is_tabular(input_shape: Sequence[int]) -> bool:
    """True when the model's inputs are feature vectors (a 1-D ``input_shape``).

    >>> is_tabular((4,)), is_tabular((28, 28)), is_tabular((1, 28, 28))
    (True, False, False)
    """
    return len(tuple(input_shape)) == 1


def feature_labels(n: int, *candidates: Sequence[Any] | None) -> tuple[str, ...]:
    """The names of ``n`` features: the first candidate that is not None
    (e.g. a result's ``feature_names``, then the model's), else ``"x0"``,
    ``"x1"``, ...

    >>> feature_labels(3, None, ("age", "height", "weight"))
    ('age', 'height', 'weight')
    >>> feature_labels(2)
    ('x0', 'x1')
    """
    for names in candidates:
        if names is None:
            continue
        names = tuple(str(name) for name in names)
        if len(names) != n:
            raise InvalidParameterError(
                f"the feature names must be one per input ({n}); got {len(names)}"
            )
        return names
    return tuple(f"x{i}" for i in range(n))


def check_top(top: Any, default: int, name: str = "top") -> int:
    """``top`` checked (an int >= 1), or ``default`` when None."""
    return default if top is None else check_int(top, name, minimum=1)


def ranked(values: Any, top: int) -> np.ndarray:
    """Indices of the ``top`` largest ``|values|``, largest first (ties: lower
    index first).

    >>> ranked([0.5, -2.0, 1.0, 0.0], 3).tolist()
    [1, 2, 0]
    """
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    # A stable sort of -|v| keeps ties in index order.
    return np.argsort(-magnitude, kind="stable")[:top]


def draw_ranked_bars(
    ax: Axes,
    values: Any,
    labels: Sequence[str],
    *,
    top: int,
    limit: float | None = None,
    quantity: str = "value",
    annotate: bool = True,
    fontsize: str = "small",
) -> np.ndarray:
    """Draw the ``top`` largest ``|values|`` as labelled horizontal bars.

    Bar ``i`` (gid ``"feature i"``) has width ``values[i]`` exactly, starts
    at zero and is blue when ``values[i] >= 0``, red otherwise; its y tick
    label is ``labels[i]``. The x axis spans ``(-limit, limit)`` (default the
    largest ``|value|``) plus room for the values written beside the bars
    (``annotate``). Returns the drawn indices, top to bottom.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    order = ranked(values, top)
    shown = values[order]
    y = np.arange(order.size)
    colors = [POSITIVE_COLOR if v >= 0 else NEGATIVE_COLOR for v in shown]
    bars = ax.barh(y, shown, color=colors, height=0.7)
    for patch, index in zip(bars.patches, order):
        patch.set_gid(f"feature {int(index)}")
    ax.set_yticks(y, [labels[int(i)] for i in order], fontsize=fontsize)
    ax.set_ylim(order.size - 0.5, -0.5)  # the largest at the top
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    v = symmetric_limit(values) if limit is None else limit
    pad = 1.45 if annotate else 1.05
    ax.set_xlim(-pad * v, pad * v)
    if annotate:
        for yi, value in zip(y, shown):
            ax.text(
                value + (0.02 if value >= 0 else -0.02) * v,
                yi,
                format_value(float(value), "+"),
                ha="left" if value >= 0 else "right",
                va="center",
                fontsize="x-small",
            )
    label = quantity
    if order.size < values.size:
        label += f"\n(largest {order.size} of {values.size} by |{quantity}|)"
    ax.set_xlabel(label, fontsize=fontsize)
    ax.tick_params(axis="x", labelsize="x-small")
    ax.grid(axis="x", color="0.9", linewidth=0.6)
    ax.set_axisbelow(True)
    return order


def panel_height(n_bars: int) -> float:
    """Height in inches of one chart of ``n_bars`` bars with its title and axis."""
    return BAR_INCHES * n_bars + 1.05


def draw_bar_panels(
    fig: FigureBase,
    vectors: np.ndarray,
    titles: Sequence[str],
    labels: Sequence[str],
    *,
    ncols: int,
    shared_scale: bool,
    top: int,
    quantity: str,
    title: str,
) -> list[Axes]:
    """One ranked bar chart per row of ``vectors`` (panels, features), in a
    grid of ``ncols`` columns: one x scale for all panels, or each its own."""
    axes = tile_axes(fig, len(vectors), ncols)
    limits = tile_limits(list(vectors), shared_scale)
    for ax, vector, limit, text in zip(axes, vectors, limits, titles):
        draw_ranked_bars(
            ax,
            vector,
            labels,
            top=top,
            limit=limit,
            quantity=quantity,
            annotate=False,
            fontsize="x-small",
        )
        ax.set_title(text, fontsize="small", pad=3)
    if shared_scale:
        scale = "one scale for all panels"
    else:
        scale = f"each panel scaled to its own max |{quantity}|"
    set_title(fig, f"{title}\n{scale}; blue positive, red negative")
    return axes


def bar_grid_size(n_panels: int, ncols: int, n_bars: int) -> tuple[float, float]:
    """A figure size for ``n_panels`` charts of ``n_bars`` bars in ``ncols``
    columns, with room for a two-line title."""
    nrows = math.ceil(n_panels / ncols)
    width = max(ncols * PANEL_WIDTH + 0.4, 4.5)
    return width, nrows * panel_height(n_bars) + 0.8
