"""Small helpers shared by the plotting tests: models and artist look-ups."""

from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgba

from mlpinspect import MLP, Dense


def small_mlp(
    seed: int = 0,
    sizes: tuple[int, ...] = (20, 6, 3),
    input_shape: tuple[int, ...] | None = (4, 5),
    class_names: list[str] | None = None,
    activations: tuple[str, ...] | None = None,
) -> MLP:
    """A random MLP with distinct weights (no ties in the rankings)."""
    rng = np.random.default_rng(seed)
    n_layers = len(sizes) - 1
    if activations is None:
        activations = ("sigmoid",) * (n_layers - 1) + ("softmax",)
    layers = [
        Dense(rng.normal(size=(o, i)), rng.normal(size=o), act)
        for i, o, act in zip(sizes[:-1], sizes[1:], activations)
    ]
    return MLP(layers, input_shape=input_shape, class_names=class_names)


def image_axes(fig):
    """The Axes of ``fig`` that hold images, in drawing order (colour bars hold
    none, so they are left out)."""
    return [ax for ax in fig.axes if ax.images]


def colorbar_axes(fig):
    """The colour-bar Axes of ``fig``."""
    return [ax for ax in fig.axes if not ax.images and hasattr(ax, "_colorbar")]


def data(ax, index: int = 0) -> np.ndarray:
    """The array shown by image ``index`` of ``ax``."""
    return np.asarray(ax.images[index].get_array())


def clim(ax, index: int = 0) -> tuple[float, float]:
    return tuple(float(v) for v in ax.images[index].get_clim())


def spine_colors(ax) -> set[tuple[float, ...]]:
    return {tuple(s.get_edgecolor()) for s in ax.spines.values()}


def rgba(color) -> tuple[float, ...]:
    return tuple(to_rgba(color))


def patch_by_gid(ax, gid: str):
    found = [p for p in ax.patches if p.get_gid() == gid]
    assert len(found) == 1, f"expected one patch {gid!r}; got {len(found)}"
    return found[0]


def line_by_gid(ax, gid: str):
    found = [line for line in ax.lines if line.get_gid() == gid]
    assert len(found) == 1, f"expected one line {gid!r}; got {len(found)}"
    return found[0]


def bars_of(ax):
    """The bars of a ranked bar chart (patches with a ``feature`` gid), top to
    bottom."""
    bars = [p for p in ax.patches if str(p.get_gid()).startswith("feature ")]
    return sorted(bars, key=lambda p: p.get_y())


def bar_axes(fig):
    """The Axes of ``fig`` that hold ranked feature bars."""
    return [ax for ax in fig.axes if bars_of(ax)]


def tick_labels(ax):
    return [t.get_text() for t in ax.get_yticklabels()]
