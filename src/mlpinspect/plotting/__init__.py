"""Figures: the study's pictures, each one call.

Every plot is ``plot_x(result_or_model, *, options..., ax=None or fig=None)``
and is named after the analysis it draws:

- weights as pictures: :func:`plot_weight_images` (a layer's units as a grid,
  the study's "Lego blocks"), :func:`plot_output_weights` (each output unit's
  incoming weights as a small image), :func:`plot_preferred_input` (what
  :func:`~mlpinspect.preferred_input` found);
- what a unit is built from: :func:`plot_top_units` (a
  :func:`~mlpinspect.top_units` result, or a model and a unit),
  :func:`plot_recipes` (every class on one page);
- contributions: :func:`plot_decomposition` (a
  :func:`~mlpinspect.decompose` result, one decision as a waterfall ending at
  the pre-activation), :func:`plot_class_contributions` (classes x units heat
  map);
- attributions: :func:`plot_attribution` (an
  :func:`~mlpinspect.attribute` result: the input, its maps and overlays),
  :func:`plot_faithfulness` (deletion and insertion curves of several
  methods);
- experiments: :func:`plot_training`, :func:`plot_sweep`,
  :func:`plot_compare` (the same units of several networks side by side);
- training dynamics: :func:`plot_unit_dynamics` (a
  :func:`~mlpinspect.unit_dynamics` result as curves),
  :func:`plot_film_strip` (units over training, for reports),
  :func:`animate_weight_images` and :func:`save_weight_animation` (the
  weight images as an animation, a GIF or an MP4).
- the unit atlas: :func:`plot_unit_atlas` (a layer at a glance, flagged units
  framed), :func:`plot_unit_profile` (one unit: weights, top and bottom
  inputs, quantiles, class means);
- similarity: :func:`plot_cka_matrix` (a :func:`~mlpinspect.cka_matrix`
  heat map), :func:`plot_matched_units` (matched units of two models side by
  side).

Results carry what their figures need (the inputs, names, layer, the model),
so ``plot_decomposition(decompose(model, X))`` needs nothing else.

Images and tables
-----------------
How inputs are drawn is read from the model's ``input_shape``, never guessed
from the numbers. A 2-D shape (or ``(1, H, W)``) is an image: weights,
contributions and attributions over the inputs are drawn as pictures. A 1-D
shape is a table of features: the same quantities are drawn as ranked
horizontal bars, the largest ``|value|`` first (``top=`` of them, 15 in a
single chart and 10 per panel of a grid by default), each labelled with its
feature's name (``model.feature_names``, a result's ``feature_names`` or
``source_names``, else ``"x0"``, ``"x1"``, ...).

The colour convention
---------------------
Signed values (weights, contributions, attributions) use one diverging
palette, ColorBrewer's colour-blind-safe "RdBu": **blue positive, red
negative, white zero**, on a scale symmetric about zero. Tiles share one
scale by default (or each its own on request), and every figure says which.
Bars follow the same convention: blue positive, red negative.
:data:`DIVERGING_CMAP`, :data:`POSITIVE_COLOR` and :data:`NEGATIVE_COLOR` are
exported for figures of your own.

Figures without pyplot
----------------------
Every function draws into a :class:`matplotlib.figure.Figure` created
directly (no :mod:`matplotlib.pyplot`, no global state, no window, nothing to
close) and **always returns the root** :class:`~matplotlib.figure.Figure` it
drew on: save it with ``fig.savefig("name.png")``, or leave it as the last
expression of a Jupyter cell to display it. Pass ``fig=`` (e.g.
``plt.figure()`` or a :class:`~matplotlib.figure.SubFigure`) to draw into a
figure of your own, or, for the single-panel plots, ``ax=`` to draw into an
Axes; the return value is then the top-level figure holding that subfigure
or Axes (``ax.get_figure(root=True)``), never the Axes itself. Nothing calls
``plt.show()`` or changes ``rcParams``, and matplotlib is only imported when
a figure is drawn.

Deprecated names
----------------
``plot_contributions`` (now :func:`plot_decomposition`), ``plot_recipe``
(now :func:`plot_top_units`) and ``plot_preferred_inputs`` (now
:func:`plot_preferred_input`) still work for one release and emit a
:class:`DeprecationWarning`; so does the 0.1 argument order
``plot_attribution(x, attribution)``.
"""

from __future__ import annotations

from ._colors import DIVERGING_CMAP, NEGATIVE_COLOR, POSITIVE_COLOR
from .atlas import plot_unit_atlas, plot_unit_profile
from .attribution import plot_attribution
from .contributions import plot_class_contributions, plot_decomposition
from .contributions import plot_contributions as plot_contributions  # deprecated
from .dynamics import (
    animate_weight_images,
    plot_film_strip,
    plot_unit_dynamics,
    save_weight_animation,
)
from .faithfulness import plot_faithfulness
from .recipes import plot_recipe as plot_recipe  # deprecated
from .recipes import plot_recipes, plot_top_units
from .similarity import plot_cka_matrix, plot_matched_units
from .training import plot_compare, plot_sweep, plot_training
from .weights import plot_output_weights, plot_preferred_input, plot_weight_images
from .weights import plot_preferred_inputs as plot_preferred_inputs  # deprecated

__all__ = [
    "DIVERGING_CMAP",
    "NEGATIVE_COLOR",
    "POSITIVE_COLOR",
    "animate_weight_images",
    "plot_attribution",
    "plot_cka_matrix",
    "plot_class_contributions",
    "plot_compare",
    "plot_decomposition",
    "plot_faithfulness",
    "plot_film_strip",
    "plot_matched_units",
    "plot_output_weights",
    "plot_preferred_input",
    "plot_recipes",
    "plot_sweep",
    "plot_top_units",
    "plot_training",
    "plot_unit_atlas",
    "plot_unit_dynamics",
    "plot_unit_profile",
    "plot_weight_images",
    "save_weight_animation",
]

DEPRECATED_ALIASES = {
    "plot_contributions": "plot_decomposition",
    "plot_preferred_inputs": "plot_preferred_input",
    "plot_recipe": "plot_top_units",
}
"""Old name -> new name; the old names stay importable (not in ``__all__``)
until 0.3."""
