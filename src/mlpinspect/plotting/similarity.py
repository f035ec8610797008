"""Figures of representation similarity: a CKA heat map, matched units."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_int, is_sequence
from ..analysis.images import input_space_images
from ..analysis.similarity import CKAMatrix, UnitMatching
from ..errors import InvalidParameterError
from ._bars import bar_grid_size, draw_bar_panels, feature_labels, is_tabular
from ._colors import SEQUENTIAL_CMAP
from ._grid import (
    check_bool,
    grid_size,
    prepare_figure,
    root_figure,
    single_axes,
)
from .weights import draw_tiles

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase

__all__ = ["plot_cka_matrix", "plot_matched_units"]


def plot_cka_matrix(
    result: CKAMatrix,
    *,
    annotate: bool = True,
    colorbar: bool = True,
    ax: Axes | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw a :func:`~mlpinspect.cka_matrix` result as a heat map.

    Cell ``(i, j)`` is the linear CKA between representations ``i`` and
    ``j``, from white (0) to dark blue (1), on a fixed 0-1 scale so that two
    figures can be compared; NaN (a constant representation) is grey. Thin
    lines separate the models when several layers of each are compared.

    Parameters
    ----------
    result : CKAMatrix
        What :func:`mlpinspect.cka_matrix` returned.
    annotate : bool, default True
        Write each value in its cell.
    colorbar : bool, default True
        Draw a colour bar.
    ax : matplotlib Axes, optional
        Draw into this Axes.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    InvalidParameterError
        For a ``result`` that is not a CKAMatrix, or both ``ax`` and ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, cka_matrix
    >>> from mlpinspect.plotting import plot_cka_matrix
    >>> rng = np.random.default_rng(0)
    >>> nets = [MLP([Dense(rng.normal(size=(6, 10)), np.zeros(6), "tanh")])
    ...         for _ in range(3)]
    >>> fig = plot_cka_matrix(cka_matrix(nets, rng.random((80, 10))))
    >>> [t.get_text() for t in fig.axes[0].get_xticklabels()]
    ['model 0', 'model 1', 'model 2']
    """
    if not isinstance(result, CKAMatrix):
        raise InvalidParameterError(
            f"`result` must be a CKAMatrix (from mlpinspect.cka_matrix); got "
            f"{type(result).__name__}"
        )
    annotate = check_bool(annotate, "annotate")
    colorbar = check_bool(colorbar, "colorbar")
    values = np.asarray(result.values, dtype=np.float64)
    R = values.shape[0]
    size = (max(4.8, 0.5 * R + 2.8), max(3.8, 0.5 * R + 2.2))
    ax = single_axes(ax, fig, size)
    from matplotlib import colormaps

    lowest = np.nanmin(values) if np.isfinite(values).any() else 0.0
    vmin = min(0.0, float(lowest))  # the unbiased estimators may dip below 0
    cmap = colormaps[SEQUENTIAL_CMAP].with_extremes(bad="#d9d9d9")
    im = ax.imshow(values, cmap=cmap, vmin=vmin, vmax=1.0, interpolation="nearest")
    ticks = np.arange(R)
    ax.set_xticks(ticks, list(result.labels), rotation=45, ha="right")
    ax.set_yticks(ticks, list(result.labels))
    ax.tick_params(labelsize="small")
    edges = np.flatnonzero(np.diff(result.model_index)) + 0.5
    if len(edges) and len(edges) < R - 1:  # several layers per model
        for edge in edges:
            ax.axhline(edge, color="0.35", linewidth=0.8)
            ax.axvline(edge, color="0.35", linewidth=0.8)
    if annotate:
        size_pt = 8 if R <= 12 else 6
        for i in range(R):
            for j in range(R):
                v = values[i, j]
                ax.text(
                    j, i, "nan" if np.isnan(v) else f"{v:.2f}", ha="center",
                    va="center", fontsize=size_pt,
                    color="white" if np.isfinite(v) and v > 0.6 else "black",
                )  # fmt: skip
    ax.set_title(
        f"Linear CKA ({result.estimator} estimator, {result.stage}-activations, "
        f"{result.n_samples:,} inputs)\n1: the same up to rotation and scale",
        fontsize="medium",
    )
    if colorbar:
        cbar = ax.figure.colorbar(im, ax=ax, shrink=0.85)
        cbar.set_label("CKA")
    return root_figure(ax)


def plot_matched_units(
    matching: UnitMatching,
    *,
    top: int | None = None,
    units: Sequence[int] | None = None,
    shared_scale: bool = False,
    colorbar: bool = True,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw matched units of two models side by side: their weights as images.

    Column ``i`` shows a unit of the first model (top) and its partner in the
    second (bottom), titled with their correlation; columns are in order of
    correlation, highest first. Layer 0 shows incoming weights; a later
    layer its units' input-space images (the weight matrices multiplied
    along the path, nonlinearities ignored). For a tabular model (a 1-D
    ``input_shape``) each unit is a chart of its largest weights by
    ``|weight|``, labelled with the feature names.

    Parameters
    ----------
    matching : UnitMatching
        What :func:`mlpinspect.match_units` returned.
    top : int, optional
        Draw the ``top`` best-matched pairs (default 10, 4 for a tabular
        model); ignored when ``units`` is given.
    units : sequence of int, optional
        Draw the pairs of these units of the first model, in this order.
    shared_scale : bool, default False
        One colour scale for all tiles, or (the default, since two
        networks' weights can differ in scale) each tile its own.
    colorbar : bool, default True
        Draw a colour bar (images only).
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    InvalidParameterError
        For a ``matching`` that is not a UnitMatching, a bad ``top``, a unit
        out of range or without a partner.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, match_units
    >>> from mlpinspect.plotting import plot_matched_units
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(4, 16))
    >>> a = MLP([Dense(W, np.zeros(4), "sigmoid")], input_shape=(4, 4))
    >>> b = MLP([Dense(W[::-1], np.zeros(4), "sigmoid")], input_shape=(4, 4))
    >>> fig = plot_matched_units(match_units(a, b, rng.random((50, 16))), top=2)
    >>> len([ax for ax in fig.axes if ax.images])  # two pairs, two rows
    4
    """
    if not isinstance(matching, UnitMatching):
        raise InvalidParameterError(
            f"`matching` must be a UnitMatching (from mlpinspect.match_units); got "
            f"{type(matching).__name__}"
        )
    shared_scale = check_bool(shared_scale, "shared_scale")
    colorbar = check_bool(colorbar, "colorbar")
    tabular = is_tabular(matching.model.input_shape)
    pairs = _chosen_pairs(matching, top, units, 4 if tabular else 10)
    mine = _input_space(matching.model, matching.layer)[pairs[:, 0]]
    theirs = _input_space(matching.other, matching.other_layer)[pairs[:, 1]]
    r = matching.correlation[pairs[:, 0], pairs[:, 1]]
    first, second = matching.names
    titles = [f"{first} {u}" for u in pairs[:, 0]] + [
        f"{second} {p}\nr = {v:+.2f}" for p, v in zip(pairs[:, 1], r)
    ]
    m = len(pairs)
    quantity = "weight" if matching.layer == 0 else "effective weight"
    title = (
        f"Matched units: {first} (top row) and its partner in {second} (bottom), "
        f"paired by activation correlation r over {matching.n_samples:,} inputs"
    )
    vectors = np.concatenate([mine, theirs])
    if tabular:
        fig = prepare_figure(fig, bar_grid_size(2 * m, m, 8))
        labels = feature_labels(vectors.shape[1], matching.model.feature_names)
        draw_bar_panels(
            fig, vectors, titles, labels, ncols=m, shared_scale=shared_scale,
            top=8, quantity=quantity, title=title,
        )  # fmt: skip
        return root_figure(fig)
    images = input_space_images(matching.model, layer=matching.layer)
    h, w = images.shape[1:]
    fig = prepare_figure(fig, grid_size(2 * m, m, (h, w), extra_height=1.0))
    draw_tiles(
        fig, vectors.reshape(2 * m, h, w), titles, ncols=m,
        shared_scale=shared_scale, colorbar=colorbar, quantity=quantity, title=title,
    )  # fmt: skip
    return root_figure(fig)


def _input_space(mlp: Any, layer: int) -> np.ndarray:
    """Each unit's incoming weights in input space, flat: (units, n_inputs)."""
    images = input_space_images(mlp, layer=layer)
    return images.reshape(images.shape[0], -1)


def _chosen_pairs(
    matching: UnitMatching, top: Any, units: Any, default_top: int
) -> np.ndarray:
    pairs = np.asarray(matching.pairs)
    if units is None:
        top = default_top if top is None else check_int(top, "top", minimum=1)
        return pairs[:top]
    if isinstance(units, (int, np.integer)):
        units = [units]
    if isinstance(units, (str, bytes)) or not is_sequence(units):
        raise InvalidParameterError(
            f"`units` must be a unit index or a sequence of unit indices of the "
            f"first model; got {units!r:.60} ({type(units).__name__})"
        )
    n = matching.correlation.shape[0]
    chosen = []
    for i, u in enumerate(units):
        u = check_int(u, f"units[{i}]", minimum=0, maximum=n - 1)
        partner = int(matching.partner[u])
        if partner < 0:
            raise InvalidParameterError(
                f"`units[{i}]` ({u}) has no partner: the second model has fewer "
                f"units, and the matching left it out"
            )
        chosen.append((u, partner))
    if not chosen:
        raise InvalidParameterError("`units` must name at least one unit; got none")
    return np.array(chosen, dtype=np.intp)
