"""The colour convention, in one place.

Every signed quantity (a weight, a contribution, an attribution) is drawn with
one diverging palette: **blue is positive** (the unit "likes" it), **red is
negative** ("dislikes"), **white is zero**. The colour limits are symmetric
about zero, ``(-v, v)``, so white always means exactly zero and equal
magnitudes get equally strong colours whatever their sign.

The palette is ColorBrewer's "RdBu" (Cynthia Brewer, colorbrewer2.org), which
ColorBrewer marks as colour-blind safe: it runs red (low) - white - blue
(high), so matplotlib's ``"RdBu"`` (not ``"RdBu_r"``) maps positive values to
blue. Inputs (pixel intensities, not signed) are drawn in greys, ink dark.

Tiles of a grid share one scale by default (``v`` = the largest ``|value|``
over all tiles), so colours can be compared across tiles; on request each
tile gets its own ``v``. The figure always says which, in its colour-bar label
or title (see :func:`scale_text`).

Nothing here imports :mod:`matplotlib.pyplot` or touches ``rcParams``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.colorbar import Colorbar
    from matplotlib.figure import FigureBase
    from matplotlib.image import AxesImage

__all__ = [
    "DIVERGING_CMAP",
    "INPUT_CMAP",
    "LINE_COLORS",
    "NEGATIVE_COLOR",
    "NEUTRAL_COLOR",
    "POSITIVE_COLOR",
    "SEQUENTIAL_CMAP",
    "add_colorbar",
    "add_relative_colorbar",
    "format_value",
    "scale_text",
    "show_signed",
    "signed_rgba",
    "symmetric_limit",
    "tile_limits",
]

DIVERGING_CMAP = "RdBu"
"""Colour map for signed values: ColorBrewer RdBu, red (negative) - white -
blue (positive); colour-blind safe."""

INPUT_CMAP = "Greys"
"""Colour map for inputs (pixel intensities): 0 white, 1 black."""

SEQUENTIAL_CMAP = "Blues"
"""Colour map for quantities without a sign, from 0 (white) up (blue):
similarities such as CKA, shares."""

POSITIVE_COLOR = "#2166ac"
"""The blue end of ColorBrewer RdBu: positive, excitatory."""

NEGATIVE_COLOR = "#b2182b"
"""The red end of ColorBrewer RdBu: negative, inhibitory."""

NEUTRAL_COLOR = "#404040"
"""Dark grey, for totals and for what has no sign."""

LINE_COLORS = (
    "#000000",
    "#e69f00",
    "#009e73",
    "#cc79a7",
    "#56b4e9",
    "#d55e00",
    "#0072b2",
    "#f0e442",
)
"""Colours for lines that carry no sign (one per network or configuration):
the Okabe-Ito palette, colour-blind safe, black first."""

FALLBACK_LIMIT = 1.0
"""The colour limit used when every value is zero (or not finite): the tile is
drawn white instead of failing on a zero-width range."""


def _max_abs(values: Any) -> float:
    """The largest finite ``|value|``, 0.0 when there is none."""
    arr = np.abs(np.asarray(values, dtype=np.float64))
    arr = arr[np.isfinite(arr)]
    return float(arr.max()) if arr.size else 0.0


def symmetric_limit(values: Any) -> float:
    """The half-width ``v`` of the symmetric colour range ``(-v, v)``.

    ``v`` is the largest finite ``|value|``; :data:`FALLBACK_LIMIT` when there
    is none or it is zero.

    Examples
    --------
    >>> symmetric_limit([-3.0, 1.0, 2.0])
    3.0
    >>> symmetric_limit([0.0, 0.0])
    1.0
    """
    return _max_abs(values) or FALLBACK_LIMIT


def tile_limits(images: Sequence[Any], shared: bool) -> list[float]:
    """One symmetric limit per tile: the same for all (``shared``) or each its own.

    Examples
    --------
    >>> tile_limits([[1.0, -2.0], [0.5]], shared=True)
    [2.0, 2.0]
    >>> tile_limits([[1.0, -2.0], [0.5]], shared=False)
    [2.0, 0.5]
    """
    if shared:
        v = max((_max_abs(im) for im in images), default=0.0) or FALLBACK_LIMIT
        return [v] * len(images)
    return [symmetric_limit(im) for im in images]


def _cmap(name: str = DIVERGING_CMAP):
    from matplotlib import colormaps

    # NaN (e.g. a class without examples) is drawn light grey.
    return colormaps[name].with_extremes(bad="#d9d9d9")


def show_signed(ax: Axes, image: Any, limit: float, **kwargs: Any) -> AxesImage:
    """Draw a signed 2-D array with the diverging palette and limits ``(-limit,
    limit)``; one pixel per value, no ticks."""
    im = ax.imshow(
        np.asarray(image),
        cmap=_cmap(),
        vmin=-limit,
        vmax=limit,
        interpolation="nearest",
        **kwargs,
    )
    ax.set_xticks([])
    ax.set_yticks([])
    return im


def signed_rgba(values: Any, limit: float, max_alpha: float = 0.85) -> np.ndarray:
    """Colours of ``values`` with opacity growing with ``|value| / limit``.

    For an overlay: zero is fully transparent, ``|value| >= limit`` has
    opacity ``max_alpha``. Returns an array of shape ``values.shape + (4,)``.
    """
    from matplotlib.colors import Normalize

    values = np.asarray(values, dtype=np.float64)
    rgba = _cmap()(Normalize(-limit, limit)(values))
    rgba[..., 3] = max_alpha * np.clip(np.abs(values) / limit, 0.0, 1.0)
    return rgba


def scale_text(shared: bool, quantity: str = "value") -> str:
    """Say in words which colour scale the tiles use, for a figure's title."""
    if shared:
        return "one colour scale for all tiles"
    return f"each tile scaled to its own max |{quantity}|"


def format_value(value: float, sign: str = "") -> str:
    """``value`` with two decimals (scientific notation when tiny or huge) and a
    true minus sign; ``sign="+"`` also marks positive values."""
    size = abs(value)
    spec = ".2f" if size == 0 or 0.01 <= size < 1000 else ".2e"
    return f"{value:{sign}{spec}}".replace("-", "\u2212")


def add_colorbar(
    fig: FigureBase, mappable: Any, axes: Any, label: str, **kwargs: Any
) -> Colorbar:
    """A colour bar for ``mappable`` beside ``axes`` (an Axes or a list), with a
    tick at zero."""
    kwargs.setdefault("shrink", 0.9)
    cbar = fig.colorbar(mappable, ax=axes, **kwargs)
    cbar.set_label(label)
    vmin, vmax = mappable.get_clim()
    cbar.set_ticks(
        [vmin, 0.0, vmax], labels=[format_value(vmin), "0", format_value(vmax, "+")]
    )
    cbar.ax.tick_params(labelsize="small")
    return cbar


def add_relative_colorbar(
    fig: FigureBase, axes: Any, label: str, **kwargs: Any
) -> Colorbar:
    """A colour bar for tiles that each have their own limit: ticks read
    ``-max``, ``0``, ``+max`` (each tile's own max)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    mappable = ScalarMappable(norm=Normalize(-1.0, 1.0), cmap=_cmap())
    cbar = add_colorbar(fig, mappable, axes, label, **kwargs)
    cbar.set_ticks([-1.0, 0.0, 1.0], labels=["−max", "0", "+max"])
    return cbar
