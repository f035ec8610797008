"""Figures: the study's pictures, each one call.

- weights as pictures: :func:`plot_weight_images` (a layer's units as a grid,
  the study's "Lego blocks"), :func:`plot_output_weights` (each output unit's
  incoming weights as a small image);
- what an output unit is built from: :func:`plot_recipe`,
  :func:`plot_recipes` (every digit on one page);
- contributions: :func:`plot_contributions` (one decision as a waterfall
  ending at the pre-activation), :func:`plot_class_contributions` (classes x
  units heat map);
- attributions: :func:`plot_attribution` (the input, its maps and overlays);
- experiments: :func:`plot_training`, :func:`plot_sweep`,
  :func:`plot_compare` (the same units of several networks side by side).

The colour convention
---------------------
Signed values (weights, contributions, attributions) use one diverging
palette, ColorBrewer's colour-blind-safe "RdBu": **blue positive, red
negative, white zero**, on a scale symmetric about zero. Tiles share one
scale by default (or each its own on request), and every figure says which.
:data:`DIVERGING_CMAP`, :data:`POSITIVE_COLOR` and :data:`NEGATIVE_COLOR` are
exported for figures of your own.

Figures without pyplot
----------------------
Every function draws into a :class:`matplotlib.figure.Figure` created
directly (no :mod:`matplotlib.pyplot`, no global state, no window, nothing to
close) and returns it: save it with ``fig.savefig("name.png")``, or leave it
as the last expression of a Jupyter cell to display it. Pass ``fig=`` (e.g.
``plt.figure()`` or a subfigure) to draw into a figure of your own, or, for
the single-panel plots, ``ax=`` to draw into an Axes; the function then
returns that Axes. Nothing calls ``plt.show()`` or changes ``rcParams``, and
matplotlib is only imported when a figure is drawn.
"""

from __future__ import annotations

from ._colors import DIVERGING_CMAP, NEGATIVE_COLOR, POSITIVE_COLOR
from .attribution import plot_attribution
from .contributions import plot_class_contributions, plot_contributions
from .recipes import plot_recipe, plot_recipes
from .training import plot_compare, plot_sweep, plot_training
from .weights import plot_output_weights, plot_preferred_inputs, plot_weight_images

__all__ = [
    "DIVERGING_CMAP",
    "NEGATIVE_COLOR",
    "POSITIVE_COLOR",
    "plot_attribution",
    "plot_class_contributions",
    "plot_compare",
    "plot_contributions",
    "plot_output_weights",
    "plot_preferred_inputs",
    "plot_recipe",
    "plot_recipes",
    "plot_sweep",
    "plot_training",
    "plot_weight_images",
]
