"""Figures of a :func:`~mlpinspect.unit_atlas`: one layer at a glance, one
unit in detail (its weights, the inputs that drive it most and least, and
what each class does to it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_int
from ..analysis.atlas import UnitAtlas
from ..analysis.images import input_space_images
from ..errors import InvalidParameterError
from ._bars import (
    DEFAULT_TOP,
    check_top,
    draw_ranked_bars,
    feature_labels,
    is_tabular,
    ranked,
)
from ._colors import (
    INPUT_CMAP,
    LINE_COLORS,
    NEGATIVE_COLOR,
    NEUTRAL_COLOR,
    POSITIVE_COLOR,
    add_colorbar,
    format_value,
    show_signed,
    symmetric_limit,
)
from ._grid import (
    check_ncols,
    frame,
    image_hw,
    prepare_figure,
    resolve_unit_list,
    root_figure,
    set_title,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase

__all__ = ["FLAG_COLORS", "plot_unit_atlas", "plot_unit_profile"]

FLAG_COLORS = {
    "dead": LINE_COLORS[0],  # black
    "always on": LINE_COLORS[1],  # orange
    "duplicate": LINE_COLORS[2],  # green
    "saturated": LINE_COLORS[3],  # pink
}
"""Frame and bar colour of each flag (Okabe-Ito: distinct from the blue and
red of signed values), in order of precedence when a unit has several."""

UNFLAGGED_COLOR = "#bdbdbd"


def _check_atlas(atlas: Any) -> UnitAtlas:
    if not isinstance(atlas, UnitAtlas):
        raise InvalidParameterError(
            f"`atlas` must be a UnitAtlas (from mlpinspect.unit_atlas); got "
            f"{type(atlas).__name__}"
        )
    return atlas


def _flag_keys(atlas: UnitAtlas, unit: int) -> list[str]:
    """The unit's flags as keys of :data:`FLAG_COLORS`, in precedence order."""
    keys = []
    if atlas.dead[unit]:
        keys.append("dead")
    if atlas.always_on[unit]:
        keys.append("always on")
    if atlas.duplicate_of[unit] >= 0:
        keys.append("duplicate")
    if atlas.saturated[unit]:
        keys.append("saturated")
    return keys


def _short_flags(atlas: UnitAtlas, unit: int) -> str:
    words = {"dead": "dead", "always on": "always on", "saturated": "sat."}
    out = []
    for key in _flag_keys(atlas, unit):
        if key == "duplicate":
            out.append(f"dup. {int(atlas.duplicate_of[unit])}")
        else:
            out.append(words[key])
    return ", ".join(out)


def _unit_vectors(atlas: UnitAtlas) -> np.ndarray:
    """Every unit's incoming weights in input space, flat (units, n_inputs)."""
    images = input_space_images(atlas.model, layer=atlas.layer)
    return images.reshape(images.shape[0], -1)


def _weights_quantity(atlas: UnitAtlas) -> str:
    return "weight" if atlas.layer == 0 else "input-space weight"


# -- one layer -------------------------------------------------------------------------


def plot_unit_atlas(
    atlas: UnitAtlas,
    *,
    units: Any = None,
    ncols: int | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw one layer's atlas: every unit's weights with its flags, how often
    it is on, and what each class does to it.

    Three panels, top to bottom:

    1. each unit's weights in input space (incoming weights for layer 0;
       for a later layer the weight matrices multiplied along the path,
       nonlinearities ignored), blue positive, red negative, one colour
       scale; a flagged unit gets a coloured frame and its flags in its title
       (``FLAG_COLORS``: dead black, always on orange, duplicate green,
       saturated pink). A tabular model's weights are one heat map, units by
       features;
    2. the share of inputs on which each unit is on (pre-activation > 0),
       with the always-on and dead thresholds as dashed lines, bars coloured
       by flag;
    3. with labels, each class's mean activation minus the unit's overall
       mean (blue: the class drives the unit above its average, red below).

    Parameters
    ----------
    atlas : UnitAtlas
        What :func:`mlpinspect.unit_atlas` returned.
    units : int, str or sequence of them, optional
        Which units to draw, in this order; default every unit.
    ncols : int, optional
        Weight tiles per row; default at most 10.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    InvalidParameterError
        For an ``atlas`` that is not a UnitAtlas, or bad ``units`` or ``ncols``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, unit_atlas
    >>> from mlpinspect.plotting import plot_unit_atlas
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(4, 16)), [0, 0, 20, 0], "sigmoid"),
    ...            Dense(rng.normal(size=(3, 4)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4))
    >>> X, y = rng.random((60, 16)), rng.integers(0, 3, 60)
    >>> fig = plot_unit_atlas(unit_atlas(mlp, X, y))
    >>> [ax.get_title() for ax in fig.axes if ax.images][:4]
    ['0', '1', '2\\nalways on, sat.', '3']
    """
    atlas = _check_atlas(atlas)
    mlp = atlas.model
    unit_list = resolve_unit_list(mlp, atlas.layer, units)
    m = len(unit_list)
    tabular = is_tabular(mlp.input_shape)
    vectors = _unit_vectors(atlas)[unit_list]
    has_classes = atlas.class_means is not None
    ncols = check_ncols(ncols, m)
    rows = 1
    if tabular:
        top_h = max(2.0, 0.22 * m + 1.2)
        cols = ncols
    else:
        h, w = image_hw(mlp.input_shape, vectors.shape[1])
        rows = -(-m // ncols)
        top_h = rows * (1.05 * min(max(h / w, 0.2), 5.0) * 0.8 + 0.55) + 0.6
        cols = ncols
    width = min(16.0, max(6.0, 1.05 * cols + 1.4, 0.3 * m + 2.0))
    heights = [top_h, 2.4] + (
        [max(2.2, 0.25 * atlas.class_means.shape[0] + 1.2)] if has_classes else []
    )  # type: ignore[union-attr]
    fig = prepare_figure(fig, (width, sum(heights) + 0.6))
    # One grid on the figure given (nested subfigures would hide their axes
    # from a SubFigure's ``axes``).
    grid = fig.add_gridspec(len(heights), 1, height_ratios=heights)
    if tabular:
        _weight_heatmap(fig, fig.add_subplot(grid[0]), atlas, unit_list, vectors)
    else:
        cells = grid[0].subgridspec(rows, ncols)
        axes = [fig.add_subplot(cells[i // ncols, i % ncols]) for i in range(m)]
        _weight_tiles(fig, axes, atlas, unit_list, vectors, (h, w))
    _active_bars(fig.add_subplot(grid[1]), atlas, unit_list)
    if has_classes:
        _class_heatmap(fig.add_subplot(grid[2]), atlas, unit_list)
    set_title(
        fig,
        f"Unit atlas of layer {atlas.layer} ({len(atlas.mean)} units) over "
        f"{atlas.n_samples:,} inputs\nEach unit's {_weights_quantity(atlas)}s (one "
        f"colour scale); flagged units framed and named",
    )
    return root_figure(fig)


def _weight_tiles(
    fig: FigureBase,
    axes: list[Axes],
    atlas: UnitAtlas,
    unit_list: list[int],
    vectors: np.ndarray,
    hw: tuple[int, int],
) -> None:
    limit = symmetric_limit(vectors)
    image = None
    for ax, unit, vector in zip(axes, unit_list, vectors):
        image = show_signed(ax, vector.reshape(hw), limit)
        flags = _short_flags(atlas, unit)
        ax.set_title(f"{unit}\n{flags}" if flags else str(unit), fontsize="small")
        keys = _flag_keys(atlas, unit)
        if keys:
            frame(ax, FLAG_COLORS[keys[0]])
    add_colorbar(fig, image, axes, _weights_quantity(atlas))


def _weight_heatmap(
    fig: FigureBase,
    ax: Axes,
    atlas: UnitAtlas,
    unit_list: list[int],
    vectors: np.ndarray,
) -> None:
    image = show_signed(ax, vectors, symmetric_limit(vectors), aspect="auto")
    names = feature_labels(
        vectors.shape[1], atlas.feature_names, atlas.model.feature_names
    )
    if vectors.shape[1] <= 40:
        ax.set_xticks(
            np.arange(vectors.shape[1]), names, rotation=90, fontsize="x-small"
        )
    labels = []
    for unit in unit_list:
        flags = _short_flags(atlas, unit)
        labels.append(f"{unit} ({flags})" if flags else str(unit))
    ax.set_yticks(np.arange(len(unit_list)), labels, fontsize="x-small")
    for tick, unit in zip(ax.get_yticklabels(), unit_list):
        keys = _flag_keys(atlas, unit)
        if keys:
            tick.set_color(FLAG_COLORS[keys[0]])
    ax.set_ylabel("unit")
    add_colorbar(fig, image, ax, _weights_quantity(atlas))


def _active_bars(ax: Axes, atlas: UnitAtlas, unit_list: list[int]) -> None:
    x = np.arange(len(unit_list))
    shares = atlas.active_share[unit_list]
    colors = []
    for unit in unit_list:
        keys = _flag_keys(atlas, unit)
        colors.append(FLAG_COLORS[keys[0]] if keys else UNFLAGGED_COLOR)
    bars = ax.bar(x, shares, color=colors, width=0.8)
    for bar, unit in zip(bars.patches, unit_list):
        bar.set_gid(f"unit {unit}")
    on = atlas.thresholds["always_on_share"]
    dead = atlas.thresholds["dead_share"]
    ax.axhline(on, color=FLAG_COLORS["always on"], linestyle="--", linewidth=0.9)
    ax.axhline(
        max(dead, 0.002), color=FLAG_COLORS["dead"], linestyle="--", linewidth=0.9
    )
    if len(unit_list) <= 60:
        ax.set_xticks(x, [str(u) for u in unit_list], fontsize="x-small")
    ax.set_xlim(-0.6, len(unit_list) - 0.4)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("unit")
    ax.set_ylabel("share of inputs\nwith the unit on", fontsize="small")
    ax.tick_params(axis="y", labelsize="x-small")
    handles = [
        _patch(color, key)
        for key, color in FLAG_COLORS.items()
        if any(key in _flag_keys(atlas, u) for u in unit_list)
    ]
    if handles:
        ax.legend(handles=handles, fontsize="x-small", loc="upper left",
                  bbox_to_anchor=(1.0, 1.0), frameon=False)  # fmt: skip
    ax.set_title(
        f"On (pre-activation > 0) for what share of the inputs; dashed: always on "
        f"(>= {on:.0%}) and dead (<= {dead:.0%})",
        fontsize="small",
    )


def _patch(color: str, label: str) -> Any:
    from matplotlib.patches import Patch

    return Patch(color=color, label=label)


def _class_heatmap(ax: Axes, atlas: UnitAtlas, unit_list: list[int]) -> None:
    means = np.asarray(atlas.class_means, dtype=np.float64)[:, unit_list]
    relative = means - atlas.mean[unit_list][None, :]
    image = show_signed(ax, relative, symmetric_limit(relative), aspect="auto")
    ax.set_yticks(
        np.arange(means.shape[0]), list(atlas.class_names or ()), fontsize="x-small"
    )
    if len(unit_list) <= 60:
        ax.set_xticks(
            np.arange(len(unit_list)), [str(u) for u in unit_list], fontsize="x-small"
        )
    ax.set_xlabel("unit")
    ax.set_ylabel("class")
    ax.set_title(
        "Each class's mean activation minus the unit's mean (blue: the class "
        "drives the unit up)",
        fontsize="small",
    )
    add_colorbar(ax.figure, image, ax, "class mean - mean")


# -- one unit --------------------------------------------------------------------------


def plot_unit_profile(
    atlas: UnitAtlas,
    unit: int,
    *,
    k: int | None = None,
    top: int | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw one unit of an atlas: its weights, the inputs that drive it most
    and least, its activation quantiles and its mean activation per class.

    Left: the unit's weights in input space (as an image, or for a tabular
    model as ranked bars of its largest weights). Middle: its ``k``
    highest-activating inputs (top row) and ``k`` lowest (bottom row) as
    greyscale images titled with their row number and activation; for a
    tabular model, a table of those inputs' values of the ``top`` features
    the unit weighs most. Right: the activation's quantiles and, with
    labels, each class's mean activation (bars; the line is the overall
    mean). The title gives the unit's flags and, for an always-on or dead
    unit, the bias it is equivalent to.

    Parameters
    ----------
    atlas : UnitAtlas
        What :func:`mlpinspect.unit_atlas` returned.
    unit : int
        The unit of the atlas's layer.
    k : int, optional
        Examples per row, at most the atlas's ``k`` (default all of them).
    top : int, optional
        Features shown for a tabular model (default 15 bars, 6 table columns).
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on.

    Raises
    ------
    InvalidParameterError
        For an ``atlas`` that is not a UnitAtlas, or a bad ``unit``, ``k``
        or ``top``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, unit_atlas
    >>> from mlpinspect.plotting import plot_unit_profile
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(4, 16)), np.zeros(4), "relu"),
    ...            Dense(rng.normal(size=(3, 4)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4))
    >>> atlas = unit_atlas(mlp, rng.random((60, 16)), rng.integers(0, 3, 60), k=4)
    >>> fig = plot_unit_profile(atlas, 1)
    >>> titles = [ax.get_title() for ax in fig.axes if ax.images]
    >>> titles[1] == f"#{atlas.top_indices[1, 0]}\\n{atlas.top_values[1, 0]:.3g}"
    True
    """
    atlas = _check_atlas(atlas)
    unit = check_int(unit, "unit", minimum=0, maximum=atlas.n_units - 1)
    k = atlas.k if k is None else min(check_int(k, "k", minimum=1), atlas.k)
    mlp = atlas.model
    tabular = is_tabular(mlp.input_shape)
    vector = _unit_vectors(atlas)[unit]
    width_ratios = [1.0, max(2.0, 0.75 * k), 1.6]
    # At most 11.5 inches wide: a wider figure shrinks its labels below 8 px
    # in a report or docs column.
    fig = prepare_figure(fig, (min(11.5, sum(width_ratios) * 1.2 + 1.0), 4.8))
    # One grid on the figure given (nested subfigures would hide their axes
    # from a SubFigure's ``axes``).
    grid = fig.add_gridspec(1, 3, width_ratios=width_ratios)
    names = feature_labels(vector.size, atlas.feature_names, mlp.feature_names)
    quantity = _weights_quantity(atlas)
    ax = fig.add_subplot(grid[0, 0])
    if tabular:
        n_bars = check_top(top, DEFAULT_TOP)
        draw_ranked_bars(
            ax, vector, names, top=n_bars, quantity=quantity, annotate=False,
            fontsize="x-small",
        )  # fmt: skip
    else:
        hw = image_hw(mlp.input_shape, vector.size)
        image = show_signed(ax, vector.reshape(hw), symmetric_limit(vector))
        add_colorbar(fig, image, ax, quantity, location="bottom")
    ax.set_title(f"{quantity}s", fontsize="small")
    caption = ""
    if atlas.top_inputs is None:
        _example_index_table(fig.add_subplot(grid[0, 1]), atlas, unit, k)
    elif tabular:
        columns = ranked(vector, check_top(top, 6))
        _example_table(fig.add_subplot(grid[0, 1]), atlas, unit, k, columns, names)
    else:
        cells = grid[0, 1].subgridspec(2, k)
        axes = np.array(
            [[fig.add_subplot(cells[r, j]) for j in range(k)] for r in range(2)]
        )
        _example_tiles(axes, atlas, unit, k)
        caption = (
            f"\nTop {k} inputs (blue frame, highest first) and bottom {k} (red "
            f"frame, lowest first): row number and {atlas.stage}-activation"
        )
    _distribution(fig, grid[0, 2], atlas, unit)
    set_title(fig, _profile_title(atlas, unit) + caption)
    return root_figure(fig)


def _example_tiles(axes: np.ndarray, atlas: UnitAtlas, unit: int, k: int) -> None:
    mlp = atlas.model
    top = atlas.top_inputs[unit, :k]  # type: ignore[index]
    bottom = atlas.bottom_inputs[unit, :k]  # type: ignore[index]
    hw = image_hw(mlp.input_shape, top.shape[1])
    shown = np.concatenate([top, bottom])
    lo, hi = float(shown.min()), float(shown.max())
    if hi <= lo:
        hi = lo + 1.0
    rows = (
        (atlas.top_indices, atlas.top_values, top),
        (atlas.bottom_indices, atlas.bottom_values, bottom),
    )
    for r, (indices, values, inputs) in enumerate(rows):
        for j in range(k):
            ax = axes[r, j]
            ax.imshow(inputs[j].reshape(hw), cmap=INPUT_CMAP, vmin=lo, vmax=hi,
                      interpolation="nearest")  # fmt: skip
            ax.set_xticks([])
            ax.set_yticks([])
            ax.set_title(
                f"#{int(indices[unit, j])}\n{values[unit, j]:.3g}", fontsize="small"
            )
        frame(axes[r, 0], POSITIVE_COLOR if r == 0 else NEGATIVE_COLOR, 2.0)


def _example_table(
    ax: Axes,
    atlas: UnitAtlas,
    unit: int,
    k: int,
    columns: np.ndarray,
    names: tuple[str, ...],
) -> None:
    ax.axis("off")
    cells, row_labels, colours = [], [], []
    for label, indices, values, inputs, color in (
        ("top", atlas.top_indices, atlas.top_values, atlas.top_inputs, POSITIVE_COLOR),
        ("bottom", atlas.bottom_indices, atlas.bottom_values, atlas.bottom_inputs,
         NEGATIVE_COLOR),
    ):  # fmt: skip
        for j in range(k):
            row = inputs[unit, j]  # type: ignore[index]
            cells.append(
                [format_value(float(values[unit, j]))]
                + [format_value(float(row[c])) for c in columns]
            )
            row_labels.append(f"{label} {j + 1}: #{int(indices[unit, j])}")
            colours.append(color)
    table = ax.table(
        cellText=cells,
        rowLabels=row_labels,
        colLabels=["activation", *(names[int(c)] for c in columns)],
        loc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    for i, color in enumerate(colours):
        table[i + 1, -1].get_text().set_color(color)
    ax.set_title(
        f"Top and bottom {k} inputs: their values of the {len(columns)} features "
        f"the unit weighs most",
        fontsize="small",
    )


def _example_index_table(ax: Axes, atlas: UnitAtlas, unit: int, k: int) -> None:
    ax.axis("off")
    cells = [
        [
            f"#{int(atlas.top_indices[unit, j])}",
            format_value(float(atlas.top_values[unit, j])),
            f"#{int(atlas.bottom_indices[unit, j])}",
            format_value(float(atlas.bottom_values[unit, j])),
        ]
        for j in range(k)
    ]
    table = ax.table(
        cellText=cells, colLabels=["top", "activation", "bottom", "activation"],
        loc="center",
    )  # fmt: skip
    table.auto_set_font_size(False)
    table.set_fontsize(7)
    ax.set_title(
        "Top and bottom inputs (row numbers; inputs not kept)", fontsize="small"
    )


def _distribution(fig: FigureBase, spec: Any, atlas: UnitAtlas, unit: int) -> None:
    has_classes = atlas.class_means is not None
    cells = spec.subgridspec(2 if has_classes else 1, 1)
    axes = [fig.add_subplot(cells[i, 0]) for i in range(2 if has_classes else 1)]
    ax = axes[0]
    levels = np.asarray(atlas.quantile_levels)
    ax.plot(
        levels, atlas.quantiles[unit], marker="o", markersize=3, color=NEUTRAL_COLOR
    )
    ax.set_xlabel("quantile level", fontsize="x-small")
    ax.set_ylabel(f"{atlas.stage}-activation", fontsize="x-small")
    ax.tick_params(labelsize="x-small")
    exact = (
        "exact"
        if atlas.quantile_error == 0
        else f"rank error <= {atlas.quantile_error:.2%}"
    )
    ax.set_title(f"Quantiles ({exact})", fontsize="small")
    ax.grid(color="0.9", linewidth=0.6)
    if not has_classes:
        return
    ax = axes[1]
    means = np.asarray(atlas.class_means, dtype=np.float64)[:, unit]
    names = list(atlas.class_names or ())
    x = np.arange(means.size)
    colors = [
        POSITIVE_COLOR if c == atlas.preferred_class[unit] else UNFLAGGED_COLOR
        for c in range(means.size)
    ]
    bars = ax.bar(x, np.nan_to_num(means), color=colors)
    for bar, name in zip(bars.patches, names):
        bar.set_gid(f"class {name}")
    ax.axhline(atlas.mean[unit], color=NEUTRAL_COLOR, linewidth=0.9, linestyle="--")
    ax.set_xticks(x, names, fontsize="x-small", rotation=90 if means.size > 12 else 0)
    ax.tick_params(axis="y", labelsize="x-small")
    si = atlas.selectivity[unit]
    ax.set_title(
        f"Mean per class\n(selectivity {si:.2f})"
        if np.isfinite(si)
        else "Mean per class",
        fontsize="small",
    )


def _profile_title(atlas: UnitAtlas, unit: int) -> str:
    flags = ", ".join(atlas.flags(unit))
    head = f"Layer {atlas.layer}, {atlas.unit_label(unit)}" + (
        f": {flags}" if flags else ""
    )
    line = (
        f"on for {atlas.active_share[unit]:.1%} of {atlas.n_samples:,} inputs; "
        f"{atlas.stage}-activation {atlas.mean[unit]:.3g} ± {atlas.std[unit]:.3g}"
    )
    lines = [head, line]
    if (
        atlas.always_on[unit] or atlas.dead[unit]
    ) and atlas.equivalent_bias is not None:
        lines.append(f"acts as a bias of {atlas._bias_text(unit, limit=3)}")
    return "\n".join(lines)
