"""Deletion and insertion curves of several attribution methods, side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..analysis.faithfulness import PerturbationCurve
from ..errors import InvalidParameterError
from ._grid import check_ax, prepare_figure, root_figure

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure, FigureBase

__all__ = ["plot_faithfulness"]

_MODES = ("deletion", "insertion")
_VERB = {"deletion": "deleted", "insertion": "inserted"}
_BETTER = {
    "deletion": "a smaller area is better",
    "insertion": "a larger area is better",
}


def _named_curves(curves: Any) -> list[tuple[str, PerturbationCurve]]:
    """``(label, curve)`` pairs from one curve, a sequence or a mapping."""
    if isinstance(curves, PerturbationCurve):
        items = [(None, curves)]
    elif isinstance(curves, Mapping):
        items = [(str(k), v) for k, v in curves.items()]
    elif isinstance(curves, Sequence) and not isinstance(curves, (str, bytes)):
        items = [(None, v) for v in curves]
    else:
        raise InvalidParameterError(
            f"`curves` must be a PerturbationCurve (from mlpinspect.deletion_curve or "
            f"insertion_curve), or a list or dict of them; got {type(curves).__name__}"
        )
    if not items:
        raise InvalidParameterError("`curves` must hold at least one curve")
    named = []
    for i, (label, curve) in enumerate(items):
        if not isinstance(curve, PerturbationCurve):
            raise InvalidParameterError(
                f"`curves` entry {i} must be a PerturbationCurve; got "
                f"{type(curve).__name__}"
            )
        named.append((label or curve.method.replace("_", " "), curve))
    return named


def plot_faithfulness(
    curves: Any,
    *,
    ax: Axes | Sequence[Axes] | None = None,
    fig: FigureBase | None = None,
) -> Figure:
    """Draw deletion and insertion curves of several methods, averaged over rows.

    One panel per mode present (deletion, then insertion). Each method is one
    colour, the same in both panels: its mean curve, with the band between
    the rows' quartiles, and its mean area under the curve in the legend. A
    faithful attribution's deletion curve falls fast (small area) and its
    insertion curve rises fast (large area).

    Parameters
    ----------
    curves : PerturbationCurve, list or dict of str to PerturbationCurve
        What :func:`mlpinspect.deletion_curve` and
        :func:`mlpinspect.insertion_curve` returned; a dict's keys are the
        legend's labels (default: the method's name).
    ax : matplotlib Axes or a sequence of Axes, optional
        One Axes per mode present, in the order deletion, insertion.
    fig : matplotlib Figure or SubFigure, optional
        Draw the panels into this figure instead of a new one.

    Returns
    -------
    matplotlib.figure.Figure
        The figure drawn on: new, or the root figure of ``fig`` or ``ax``.

    Raises
    ------
    InvalidParameterError
        For anything but curves, both ``ax`` and ``fig``, or a number of Axes
        that is not the number of modes.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, attribute, deletion_curve, insertion_curve
    >>> from mlpinspect.plotting import plot_faithfulness
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(5, 8)), rng.normal(size=5), "relu"),
    ...            Dense(rng.normal(size=(2, 5)), rng.normal(size=2), "identity")])
    >>> X = rng.random((6, 8))
    >>> curves = {}
    >>> for method in ("gradient", "integrated_gradients"):
    ...     result = attribute(mlp, X, 0, method=method)
    ...     curves[method] = deletion_curve(mlp, result, n_steps=4)
    ...     curves[method + " (insertion)"] = insertion_curve(mlp, result, n_steps=4)
    >>> fig = plot_faithfulness(curves)
    >>> [a.get_title() for a in fig.axes]
    ['Deletion: a smaller area is better', 'Insertion: a larger area is better']
    """
    named = _named_curves(curves)
    modes = [m for m in _MODES if any(c.mode == m for _, c in named)]
    if ax is not None:
        if fig is not None:
            raise InvalidParameterError("pass either `ax=` or `fig=`, not both")
        given = list(ax) if isinstance(ax, Sequence) else [ax]
        if len(given) != len(modes):
            raise InvalidParameterError(
                f"`ax` must be {len(modes)} Axes, one per mode ({', '.join(modes)}); "
                f"got {len(given)}"
            )
        axes = [check_ax(a, f"ax[{i}]") for i, a in enumerate(given)]
    else:
        target = prepare_figure(fig, (4.3 * len(modes) + 0.5, 3.8))
        axes = list(target.subplots(1, len(modes), squeeze=False)[0])
    methods: list[str] = []
    for _, curve in named:
        if curve.method not in methods:
            methods.append(curve.method)
    for panel, mode in zip(axes, modes):
        _draw(panel, mode, [(n, c) for n, c in named if c.mode == mode], methods)
    return root_figure(axes[0])


def _draw(
    ax: Axes, mode: str, named: list[tuple[str, PerturbationCurve]], methods: list
) -> None:
    stages = {c.stage for _, c in named}
    for label, curve in named:
        color = f"C{methods.index(curve.method) % 10}"
        auc = float(np.mean(curve.auc))
        ax.plot(
            curve.fractions,
            curve.mean,
            color=color,
            linewidth=1.6,
            label=f"{label} (area {auc:.3g})",
            gid=f"{mode} {label}",
        )
        if curve.n_samples > 1:
            low, high = np.percentile(curve.values, [25, 75], axis=0)
            ax.fill_between(curve.fractions, low, high, color=color, alpha=0.15,
                            linewidth=0)  # fmt: skip
    ax.set_xlim(0, 1)
    ax.set_xlabel(f"fraction of features {_VERB[mode]} (most relevant first)")
    stage = stages.pop() if len(stages) == 1 else None
    ax.set_ylabel({"pre": "output (logit)", "post": "output (activation)"}.get(
        stage, "output"))  # fmt: skip
    ax.set_title(f"{mode.capitalize()}: {_BETTER[mode]}", fontsize="medium")
    ax.grid(color="0.9", linewidth=0.6)
    ax.legend(fontsize="small", loc="best")
