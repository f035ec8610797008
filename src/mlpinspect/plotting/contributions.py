"""Contributions drawn: one decision as a waterfall, and a class-by-unit map."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .._validation import check_choice, check_int
from ..analysis.decomposition import ClassContributions, Decomposition, decompose
from ..errors import InvalidParameterError
from ._bars import feature_labels, is_tabular
from ._colors import (
    INPUT_CMAP,
    NEGATIVE_COLOR,
    NEUTRAL_COLOR,
    POSITIVE_COLOR,
    add_colorbar,
    format_value,
    show_signed,
    symmetric_limit,
)
from ._grid import (
    check_ax,
    check_bool,
    image_hw,
    input_image,
    prepare_figure,
    root_figure,
    single_axes,
    warn_renamed,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase

__all__ = ["plot_class_contributions", "plot_contributions", "plot_decomposition"]

DEFAULT_TOP = 15
"""Sources shown one by one when there are more than :data:`MAX_ALL` of them."""

MAX_ALL = 20
"""Up to this many sources, every source gets its own bar by default."""

_ANNOTATE = ("share", "usage")
_USAGE_SYMBOLS = {
    "positive": "+",
    "negative": "\u2212",
    "in part": "\u00b1",
    "unused": "\u00b7",
    "": "",
}


# -- one decision ------------------------------------------------------------------


def _unit_position(dec: Decomposition, unit: Any) -> int:
    """Where ``unit`` (a layer index or class name) sits in ``dec.units``."""
    units = [int(u) for u in dec.units]
    if unit is None:
        if len(units) == 1:
            return 0
        raise InvalidParameterError(
            f"`unit` is required when the decomposition holds several units; "
            f"it holds units {units}"
        )
    if isinstance(unit, str):
        names = list(dec.unit_names or ())
        if unit not in names:
            raise InvalidParameterError(
                f"`unit` must be one of the decomposed units' names {names}; "
                f"got {unit!r}"
            )
        return names.index(unit)
    unit = check_int(unit, "unit")
    if unit not in units:
        raise InvalidParameterError(
            f"`unit` must be one of the decomposed units {units} (of layer "
            f"{dec.layer}); got {unit}"
        )
    return units.index(unit)


def _source_labels(dec: Decomposition, sources: np.ndarray) -> list[str]:
    if dec.layer > 0:
        return [f"unit {s}" for s in sources]
    n = dec.contributions.shape[-1]
    if is_tabular(dec.input_shape):
        names = feature_labels(n, dec.source_names)
        return [names[s] for s in sources]
    h, w = image_hw(dec.input_shape, n)
    if h > 1:
        return [f"pixel ({s // w}, {s % w})" for s in sources]
    return [f"input {s}" for s in sources]


def _source_noun(dec: Decomposition) -> str:
    """What the sources are called, in the plural."""
    if dec.layer > 0:
        return "units"
    if is_tabular(dec.input_shape):
        return "features"
    n = dec.contributions.shape[-1]
    return "pixels" if image_hw(dec.input_shape, n)[0] > 1 else "inputs"


def _waterfall_steps(
    dec: Decomposition, sample: int, position: int, top: int | None
) -> tuple[list[str], np.ndarray, list[str]]:
    """Labels, values and gids of the steps: bias, sources, the rest."""
    values = np.asarray(dec.contributions[sample, position], dtype=np.float64)
    n = values.shape[0]
    if top is None:
        top = n if n <= MAX_ALL else DEFAULT_TOP
    order = np.argsort(-np.abs(values), kind="stable")
    shown = order[:top]
    labels = ["bias", *_source_labels(dec, shown)]
    steps = [float(dec.bias[position]), *values[shown].tolist()]
    gids = ["bias", *(f"source {s}" for s in shown)]
    rest = order[top:]
    if rest.size:
        labels.append(f"{rest.size} other {_source_noun(dec)}")
        steps.append(float(values[rest].sum()))
        gids.append("other")
    return labels, np.asarray(steps), gids


def _decimals(span: float) -> int:
    """Decimals that resolve about 1/100 of the chart's span (at least 2)."""
    return max(2, 2 - int(np.floor(np.log10(span))))


def _fixed(value: float, decimals: int, sign: str = "") -> str:
    text = f"{value:{sign}.{decimals}f}".replace("-", "\u2212")
    return text


def _draw_waterfall(
    ax: Axes, dec: Decomposition, sample: int, position: int, top: int | None
) -> None:
    labels, steps, gids = _waterfall_steps(dec, sample, position, top)
    z = float(dec.pre_activation[sample, position])
    ends = np.cumsum(steps)
    starts = ends - steps
    y = np.arange(len(steps) + 1)
    colors = [POSITIVE_COLOR if s >= 0 else NEGATIVE_COLOR for s in steps]
    bars = ax.barh(y[:-1], steps, left=starts, color=colors, height=0.7)
    # The last bar is the model's own pre-activation, not the running sum: the
    # two agree to float rounding, and the figure shows what the model computed.
    total = ax.barh(y[-1:], [z], left=[0.0], color=NEUTRAL_COLOR, height=0.7)
    for patch, gid in zip(bars.patches, gids):
        patch.set_gid(gid)
    total.patches[0].set_gid("pre-activation")
    # Thin connectors: each step starts where the one above it ended.
    for i, end in enumerate(ends):
        ax.plot([end, end], [y[i] + 0.35, y[i + 1] - 0.35], color="0.6", lw=0.8)
    ax.axvline(0.0, color="0.3", linewidth=0.8)
    span = max(float(np.abs(np.r_[starts, ends, z, 0.0]).max()), 1e-12)
    low = min(float(np.min(np.r_[starts, ends, 0.0, z])), 0.0)
    high = max(float(np.max(np.r_[starts, ends, 0.0, z])), 0.0)
    pad = 0.2 * (high - low or span)
    ax.set_xlim(low - pad, high + pad)
    decimals = _decimals(span)
    for yi, start, step in zip(y[:-1], starts, steps):
        end = start + step
        ax.text(
            end + (0.01 if step >= 0 else -0.01) * (high - low + 2 * pad),
            yi,
            _fixed(step, decimals, "+"),
            ha="left" if step >= 0 else "right",
            va="center",
            fontsize="x-small",
        )
    ax.text(
        z + (0.01 if z >= 0 else -0.01) * (high - low + 2 * pad),
        y[-1],
        _fixed(z, decimals),
        ha="left" if z >= 0 else "right",
        va="center",
        fontsize="x-small",
        fontweight="bold",
    )
    ax.set_yticks(y, [*labels, "= pre-activation"], fontsize="small")
    ax.set_ylim(y[-1] + 0.7, -0.7)
    ax.set_xlabel("contribution w × a, added up from the bias (top) to z (bottom)")
    ax.grid(axis="x", color="0.9", linewidth=0.6)
    ax.set_axisbelow(True)
    unit = int(dec.units[position])
    name = f" ({dec.unit_names[position]!r})" if dec.unit_names else ""
    output = float(dec.output[sample, position])
    ax.set_title(
        f"Sample {sample}, unit {unit}{name} of layer {dec.layer}: "
        f"z = {format_value(z)}, output {format_value(output)}",
        fontsize="medium",
    )


def _decomposition_of(
    subject: Any, x: Any, unit: Any, layer: Any
) -> tuple[Decomposition, Any, bool]:
    """The decomposition to draw, the unit to find in it, and whether ``x`` is
    an input to draw beside the chart (not the data just decomposed)."""
    if isinstance(subject, Decomposition):
        if layer is not None:
            raise InvalidParameterError(
                "`layer` is for a model; a Decomposition already has its layer "
                f"({subject.layer})"
            )
        return subject, unit, x is not None
    if x is None:
        raise InvalidParameterError(
            "`decomposition` must be a Decomposition (from mlpinspect.decompose), "
            f"or a model with its inputs as `x`; got {type(subject).__name__} "
            "without `x`"
        )
    units = None if unit is None else [unit]
    dec = decompose(subject, x, layer=-1 if layer is None else layer, units=units)
    return dec, None if unit is None else int(dec.units[0]), False


def plot_decomposition(
    decomposition: Decomposition | Any,
    *,
    x: Any = None,
    sample: int = 0,
    unit: int | str | None = None,
    layer: int | None = None,
    top: int | None = None,
    show_input: bool = True,
    ax: Axes | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw how one input's contributions add up to a unit's pre-activation.

    A waterfall: starting from zero, the unit's bias, then each source's
    contribution ``w * a`` (largest ``|w * a|`` first; blue adds, red
    subtracts), then, if ``top`` cuts the list, the sum of the remaining
    sources; the last bar is the unit's pre-activation ``z`` as the model
    computed it, where the steps end (to float rounding: the decomposition
    is exact). For an image model the input is drawn beside it, and for the
    first layer (whose sources are the pixels) the contribution of each
    pixel as an image. For a tabular model (a 1-D input shape) the sources of
    the first layer are the features, each bar labelled with its name (the
    decomposition's ``source_names``, else ``"x0"``, ``"x1"``, ...), and no
    image is drawn.

    Parameters
    ----------
    decomposition : Decomposition, or a model
        From :func:`mlpinspect.decompose`; or a model (anything
        :func:`mlpinspect.adapt` accepts) to decompose on ``x``.
    x : array_like, optional
        For a model: the input(s) to decompose, shape ``(n_inputs,)``,
        ``(n, n_inputs)`` or ``(n, *input_shape)`` (required). For a
        Decomposition: the input to draw beside the chart instead of the one
        it holds (``decomposition.inputs[sample]``, the default).
    sample : int, default 0
        Which input (row) of the decomposition.
    unit : int or str, optional
        Which unit: its index in the layer (or class name); required when
        the decomposition holds several units.
    layer : int, optional
        For a model: the layer to decompose (default -1, the output layer).
    top : int, optional
        How many sources get their own bar; the rest are summed into one.
        Default: all of them up to 20 sources, else the 15 largest.
    show_input : bool, default True
        Draw the input panel(s) of an image model.
    ax : matplotlib Axes, optional
        Draw only the chart into this Axes (no input panels).
    fig : matplotlib Figure or SubFigure, optional
        Draw the chart and the input panels into this figure.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on: new, or the root figure of ``fig`` or ``ax``.

    Raises
    ------
    InvalidParameterError
        For a ``sample`` or ``unit`` not in the decomposition, a bad ``top``,
        an ``x`` of the wrong size, ``x`` to draw together with ``ax``, or a
        model without ``x``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> from mlpinspect.analysis import decompose
    >>> from mlpinspect.plotting import plot_decomposition
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), rng.normal(size=3), "softmax")],
    ...           input_shape=(4, 4))
    >>> X = rng.random((5, 16))
    >>> dec = decompose(mlp, X)
    >>> fig = plot_decomposition(dec, sample=2, unit=1)
    >>> chart = fig.axes[-1]
    >>> total = [p for p in chart.patches if p.get_gid() == "pre-activation"][0]
    >>> bool(total.get_width() == dec.pre_activation[2, 1])
    True

    A tabular model's first layer, straight from the model:

    >>> tabular = mlp.replace(input_shape=(16,),
    ...                       feature_names=[f"f{i}" for i in range(16)])
    >>> fig = plot_decomposition(tabular, x=X[2], layer=0, unit=3, top=2)
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['bias', 'f13', 'f0', '14 other features', '= pre-activation']
    """
    show_input = check_bool(show_input, "show_input")
    if ax is not None and fig is not None:
        raise InvalidParameterError("pass either `ax=` or `fig=`, not both")
    dec, unit, x_to_draw = _decomposition_of(decomposition, x, unit, layer)
    n = dec.contributions.shape[0]
    sample = check_int(sample, "sample", minimum=0, maximum=n - 1)
    position = _unit_position(dec, unit)
    if top is not None:
        top = check_int(top, "top", minimum=1)
    if ax is not None:
        if x_to_draw:
            raise InvalidParameterError(
                "`x` is drawn beside the chart, which needs a figure: pass `fig=` "
                "(or nothing) instead of `ax=`"
            )
        _draw_waterfall(check_ax(ax), dec, sample, position, top)
        return root_figure(ax)

    panels = _input_panels(dec, sample, position, x if x_to_draw else None)
    if not show_input:
        panels = []
    n_steps = len(_waterfall_steps(dec, sample, position, top)[1]) + 1
    height = max(3.2, 0.24 * n_steps + 1.3)
    width = 6.5 + 2.6 * len(panels)
    fig = prepare_figure(fig, (width, height))
    axes = fig.subplots(
        1, len(panels) + 1, squeeze=False, width_ratios=[1.0] * len(panels) + [2.6]
    )[0]
    for pax, (kind, image) in zip(axes[:-1], panels):
        if kind == "input":
            pax.imshow(image, cmap=INPUT_CMAP, interpolation="nearest")
            pax.set_xticks([])
            pax.set_yticks([])
            pax.set_title("input", fontsize="medium")
        else:
            im = show_signed(pax, image, symmetric_limit(image))
            pax.set_title("contribution of each pixel", fontsize="medium")
            add_colorbar(fig, im, pax, "w × a", location="bottom", shrink=0.8)
    _draw_waterfall(axes[-1], dec, sample, position, top)
    return root_figure(fig)


def _input_panels(
    dec: Decomposition, sample: int, position: int, x: Any
) -> list[tuple[str, np.ndarray]]:
    """The images beside the waterfall: the input, and for the first layer
    each pixel's contribution; none for a tabular model (the bars are
    labelled with the features instead)."""
    if x is not None:
        image = input_image(x, dec.input_shape)  # checked even if not drawn
        if is_tabular(dec.input_shape):
            return []
        panels = [("input", image)]
    elif is_tabular(dec.input_shape):
        return []
    elif dec.inputs is not None:
        panels = [("input", input_image(dec.inputs[sample], dec.input_shape))]
    elif dec.layer == 0:
        own = dec.source_activations[sample]
        panels = [("input", input_image(own, dec.input_shape))]
    else:
        panels = []
    if dec.layer == 0:
        hw = image_hw(dec.input_shape, dec.contributions.shape[-1])
        panels.append(
            ("contributions", dec.contributions[sample, position].reshape(hw))
        )
    return panels


def plot_contributions(
    decomposition: Decomposition,
    sample: int = 0,
    unit: int | str | None = None,
    **kwargs: Any,
) -> Figure:
    """Deprecated alias of :func:`plot_decomposition` (removed in 0.3).

    ``plot_contributions(dec, sample, unit, ...)`` is
    ``plot_decomposition(dec, sample=sample, unit=unit, ...)``.

    Returns
    -------
    matplotlib.figure.Figure
        What :func:`plot_decomposition` returns; a :class:`DeprecationWarning` is
        emitted first.

    Examples
    --------
    >>> import warnings
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, decompose
    >>> from mlpinspect.plotting import plot_contributions
    >>> mlp = MLP([Dense(np.eye(4), np.zeros(4), "identity")], input_shape=(2, 2))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     fig = plot_contributions(decompose(mlp, np.ones((1, 4))), 0, 1)
    >>> caught[0].category.__name__
    'DeprecationWarning'
    """
    warn_renamed("plot_contributions", "plot_decomposition")
    if not isinstance(decomposition, Decomposition):
        raise InvalidParameterError(
            f"`decomposition` must be a Decomposition (from "
            f"mlpinspect.analysis.decompose); got {type(decomposition).__name__}"
        )
    return plot_decomposition(decomposition, sample=sample, unit=unit, **kwargs)


# -- classes x sources ---------------------------------------------------------------


def plot_class_contributions(
    class_contributions: ClassContributions,
    *,
    annotate: str | None = None,
    colorbar: bool = True,
    ax: Axes | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw the mean contribution of every source unit to every class.

    A heat map, one row per class and one column per source unit (e.g. the
    30 hidden units): cell ``(c, k)`` is the mean contribution ``w * a`` of
    unit ``k`` to the output unit of class ``c``, over the examples of class
    ``c``; blue pushes the class up, red down, on one symmetric scale.

    Parameters
    ----------
    class_contributions : ClassContributions
        From :func:`mlpinspect.analysis.class_contributions`.
    annotate : {None, "share", "usage"}, default None
        Write in each cell the percentage of the class's examples on which
        the contribution is positive (``"share"``), or how the class uses the
        unit (``"usage"``, from
        :meth:`~mlpinspect.analysis.ClassContributions.usage`): ``+`` always
        positive, ``−`` always negative, ``±`` either way (used in part),
        ``·`` unused.
    colorbar : bool, default True
        Draw a colour bar.
    ax : matplotlib Axes, optional
        Draw into this Axes instead of a new figure.
    fig : matplotlib Figure or SubFigure, optional
        Draw into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on: new, or the root figure of ``fig`` or ``ax``.

    Raises
    ------
    InvalidParameterError
        For a bad ``annotate``, ``ax`` or ``fig``, or both ``ax`` and ``fig``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> from mlpinspect.analysis import class_contributions
    >>> from mlpinspect.plotting import plot_class_contributions
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(4, 16)), np.zeros(4), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 4)), np.zeros(3), "softmax")])
    >>> X, y = rng.random((30, 16)), rng.integers(0, 3, size=30)
    >>> fig = plot_class_contributions(class_contributions(mlp, X, y),
    ...                                annotate="usage")
    >>> fig.axes[0].images[0].get_array().shape
    (3, 4)
    """
    if not isinstance(class_contributions, ClassContributions):
        raise InvalidParameterError(
            f"`class_contributions` must be a ClassContributions (from "
            f"mlpinspect.analysis.class_contributions); got "
            f"{type(class_contributions).__name__}"
        )
    cc = class_contributions
    if annotate is not None:
        annotate = check_choice(annotate, "annotate", _ANNOTATE)
    colorbar = check_bool(colorbar, "colorbar")
    table = np.asarray(cc.mean_contribution, dtype=np.float64)
    n_classes, n_sources = table.shape
    size = (max(5.0, 0.3 * n_sources + 2.4), max(3.0, 0.32 * n_classes + 1.9))
    ax = single_axes(ax, fig, size)
    limit = symmetric_limit(table)
    im = show_signed(ax, table, limit, aspect="auto")
    ax.set_yticks(
        np.arange(n_classes), [str(c) for c in cc.class_names], fontsize="small"
    )
    if n_sources <= 60:
        # Duck-typed: a table of the first layer may carry the feature names.
        names = getattr(cc, "source_names", None)
        labels = feature_labels(n_sources, names) if names is not None else None
        ax.set_xticks(
            np.arange(n_sources),
            labels or [str(k) for k in range(n_sources)],
            rotation=90 if labels else 0,
        )
        ax.tick_params(axis="x", labelsize="x-small")
    source = "input" if cc.layer == 0 else f"unit of layer {cc.layer - 1}"
    ax.set_xlabel(f"source ({source})")
    ax.set_ylabel("class (its output unit)")
    title = "Mean contribution w × a to each class's unit, over its examples"
    if annotate is not None:
        _annotate_cells(ax, cc, table, limit, annotate)
        if annotate == "share":
            title += "\nnumbers: % of the class's examples where it is positive"
        else:
            title += "\n+ always positive, − always negative, ± either, · unused"
    ax.set_title(title, fontsize="medium")
    if colorbar:
        add_colorbar(ax.figure, im, ax, "mean contribution")
    return root_figure(ax)


def _annotate_cells(
    ax: Axes, cc: ClassContributions, table: np.ndarray, limit: float, kind: str
) -> None:
    if kind == "share":
        share = np.asarray(cc.positive_share, dtype=np.float64)
        texts = np.where(
            np.isfinite(share), np.char.mod("%.0f", np.nan_to_num(100 * share)), ""
        )
    else:
        texts = np.vectorize(_USAGE_SYMBOLS.get, otypes=[object])(cc.usage())
    n_classes, n_sources = table.shape
    size = (6 if n_sources > 20 else 8) + (kind == "usage")
    for c in range(n_classes):
        for k in range(n_sources):
            dark = np.isfinite(table[c, k]) and abs(table[c, k]) > 0.55 * limit
            ax.text(
                k,
                c,
                str(texts[c, k]),
                ha="center",
                va="center",
                fontsize=size,
                color="white" if dark else "black",
            )
