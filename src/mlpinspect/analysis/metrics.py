"""Numbers that replace eyeballing: drift from initialisation, smoothness.

"These features look almost random" becomes two measurements:

- :func:`drift_from_init`: how far each unit's weights moved from their random
  initial values (cosine similarity and relative change);
- :func:`smoothness`: how much spatial structure a weight image has
  (neighbouring pixels' correlation, against the same pixels shuffled).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    check_array,
    check_int,
    check_memory,
    check_rng,
    resolve_layer,
)
from ..adapters import adapt
from ..errors import InvalidParameterError, UnsupportedModelError
from ._batches import format_table, frozen, nan_divide, nan_mean, nan_median
from .images import weight_images

__all__ = ["Drift", "Smoothness", "drift_from_init", "smoothness"]


# -- drift from initialisation ------------------------------------------------


@dataclass(frozen=True, eq=False)
class Drift:
    """How far each unit's incoming weights moved from their initial values.

    Attributes
    ----------
    layer : int
        The (non-negative) weight layer.
    cosine : numpy.ndarray, shape (units,)
        Cosine similarity between trained and initial weights of each unit:
        1 means the direction is unchanged (the "feature" is still the random
        initialisation, maybe rescaled), 0 means unrelated. NaN when either
        vector is zero.
    relative_change : numpy.ndarray, shape (units,)
        ``||w - w0|| / ||w0||`` per unit (NaN when ``w0`` is zero).
    trained_norm, initial_norm : numpy.ndarray, shape (units,)
        ``||w||`` and ``||w0||`` per unit.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import Network, drift_from_init
    >>> net = Network([4, 3, 2], seed=0)  # untrained: nothing moved yet
    >>> drift = drift_from_init(net)
    >>> drift.cosine.round(6), drift.relative_change
    (array([1., 1., 1.]), array([0., 0., 0.]))
    >>> drift.to_dict()["unit"]
    [0, 1, 2]
    """

    layer: int
    cosine: np.ndarray
    relative_change: np.ndarray
    trained_norm: np.ndarray
    initial_norm: np.ndarray

    @property
    def mean_cosine(self) -> float:
        """Mean cosine similarity over units (NaN entries skipped)."""
        return nan_mean(self.cosine)

    @property
    def median_cosine(self) -> float:
        """Median cosine similarity over units (NaN entries skipped)."""
        return nan_median(self.cosine)

    @property
    def mean_relative_change(self) -> float:
        """Mean relative change over units (NaN entries skipped)."""
        return nan_mean(self.relative_change)

    @property
    def median_relative_change(self) -> float:
        """Median relative change over units (NaN entries skipped)."""
        return nan_median(self.relative_change)

    def to_dict(self) -> dict[str, list[Any]]:
        """Per-unit table (column name -> list): ``unit``, ``cosine``,
        ``relative_change``, ``trained_norm``, ``initial_norm``."""
        return {
            "unit": list(range(self.cosine.size)),
            "cosine": self.cosine.tolist(),
            "relative_change": self.relative_change.tolist(),
            "trained_norm": self.trained_norm.tolist(),
            "initial_norm": self.initial_norm.tolist(),
        }

    def __repr__(self) -> str:
        return (
            f"Drift(layer={self.layer}, units={self.cosine.size}, "
            f"median cosine={self.median_cosine:.3f}, "
            f"median relative change={self.median_relative_change:.3f})"
        )

    def __str__(self) -> str:
        d = self.to_dict()
        rows = zip(
            d["unit"],
            d["cosine"],
            d["relative_change"],
            d["trained_norm"],
            d["initial_norm"],
            strict=True,
        )
        title = (
            f"Drift from initialisation, layer {self.layer}: cosine mean "
            f"{self.mean_cosine:.4g}, median {self.median_cosine:.4g}; relative "
            f"change mean {self.mean_relative_change:.4g}, median "
            f"{self.median_relative_change:.4g}"
        )
        headers = ("unit", "cosine", "rel. change", "|w|", "|w0|")
        return title + "\n" + format_table(headers, rows)


def _weight_pair(obj: Any, layer: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Trained and initial weights of ``layer`` from a Network-like object or
    a (trained, initial) pair of models."""
    if hasattr(obj, "weights") and hasattr(obj, "initial_weights"):
        trained, initial = list(obj.weights), list(obj.initial_weights)
        if len(trained) != len(initial) or not trained:
            raise InvalidParameterError(
                f"`network` must have as many initial weight matrices as trained "
                f"ones; got {len(initial)} and {len(trained)}"
            )
        n = len(trained)
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
            raise InvalidParameterError(
                f"`layer` must be an integer layer index; got {layer!r}"
            )
        if not -n <= layer < n:
            raise InvalidParameterError(
                f"`layer` must be in [{-n}, {n - 1}] (the model has {n} weight "
                f"layers); got {layer}"
            )
        index = int(layer) % n
        w = check_array(trained[index], "network.weights", ndim=2)
        w0 = check_array(initial[index], "network.initial_weights", ndim=2)
    elif isinstance(obj, (tuple, list)) and len(obj) == 2:
        first = adapt(obj[0]).check_finite()
        second = adapt(obj[1]).check_finite()
        if first.sizes != second.sizes:
            raise InvalidParameterError(
                f"`network` given as (trained, initial) needs two models of the same "
                f"sizes; got {first.sizes} and {second.sizes}"
            )
        index = resolve_layer(first, layer)
        w = np.asarray(first.layers[index].weight, dtype=np.float64)
        w0 = np.asarray(second.layers[index].weight, dtype=np.float64)
    else:
        raise InvalidParameterError(
            "`network` must have `weights` and `initial_weights` (a "
            "mlpinspect.Network) or be a (trained_model, initial_model) pair; got "
            f"{type(obj).__name__}"
        )
    if w.shape != w0.shape:
        raise InvalidParameterError(
            f"trained and initial weights of layer {index} must have the same shape; "
            f"got {w.shape} and {w0.shape}"
        )
    return w, w0, index


def drift_rows(
    w: np.ndarray, w0: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Row by row, how far ``w`` moved from ``w0`` (both ``(units, in)``).

    Returns ``(cosine, relative_change, norm, initial_norm)``, each of shape
    ``(units,)``: the cosine similarity of ``w[j]`` and ``w0[j]`` (NaN when
    either is zero), ``||w[j] - w0[j]|| / ||w0[j]||`` (NaN when ``w0[j]`` is
    zero) and the two norms. The one definition of drift:
    :func:`drift_from_init` and :func:`mlpinspect.unit_dynamics` use it.
    """
    w = np.asarray(w, dtype=np.float64)
    w0 = np.asarray(w0, dtype=np.float64)
    norm = np.linalg.norm(w, axis=1)
    norm0 = np.linalg.norm(w0, axis=1)
    dot = np.einsum("ij,ij->i", w, w0)
    cosine = np.clip(nan_divide(dot, norm * norm0), -1.0, 1.0)
    change = nan_divide(np.linalg.norm(w - w0, axis=1), norm0)
    return cosine, change, norm, norm0


def neighbour_correlation(images: np.ndarray) -> np.ndarray:
    """The smoothness statistic of each image of ``images`` ``(n, H, W)``.

    What :attr:`Smoothness.neighbour_correlation` holds, without the shuffled
    baseline (see :func:`smoothness`): :func:`mlpinspect.unit_dynamics`
    measures every snapshot with it.
    """
    imgs = np.asarray(images, dtype=np.float64)
    shape = (int(imgs.shape[1]), int(imgs.shape[2]))
    return _neighbour_correlation(imgs.reshape(imgs.shape[0], -1), shape)


def drift_from_init(network: Any, *, layer: int = 0) -> Drift:
    """Per unit, how much of its trained weights is still the random initialisation.

    Parameters
    ----------
    network : Network or (trained_model, initial_model)
        An object with ``weights`` and ``initial_weights`` (lists of
        ``(out, in)`` arrays, as :class:`mlpinspect.Network` keeps), or a pair
        of models (anything :func:`mlpinspect.adapt` accepts) of the same
        sizes: the trained one first.
    layer : int, default 0
        The weight layer (0 = first; -1 = output layer).

    Returns
    -------
    Drift
        ``cosine`` and ``relative_change`` per unit (plus the norms), with
        ``mean_cosine``, ``median_cosine``, ``mean_relative_change`` and
        ``median_relative_change``.

    Raises
    ------
    InvalidParameterError
        For anything else, a bad layer, or trained and initial weights of
        different shapes.

    Notes
    -----
    Only the incoming weights (a row of the weight matrix) are compared, not
    the bias. A cosine near 1 with a small relative change means training
    barely touched the unit: its weight image is its random initial image. A
    cosine near 1 with a large change means the weights were rescaled but
    kept their pattern.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> w0 = rng.normal(size=(3, 8))
    >>> start = MLP([Dense(w0, np.zeros(3), "sigmoid")])
    >>> end = MLP([Dense(w0 + 0.1 * rng.normal(size=(3, 8)), np.zeros(3), "sigmoid")])
    >>> drift = drift_from_init((end, start))
    >>> drift.cosine.shape
    (3,)
    >>> bool(drift.median_cosine > 0.9)
    True
    """
    w, w0, index = _weight_pair(network, layer)
    cosine, change, norm, norm0 = drift_rows(w, w0)
    return Drift(
        layer=index,
        cosine=frozen(cosine),
        relative_change=frozen(change),
        trained_norm=frozen(norm),
        initial_norm=frozen(norm0),
    )


# -- smoothness -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Smoothness:
    """Spatial structure of images: neighbour correlation against shuffled pixels.

    Attributes
    ----------
    neighbour_correlation : numpy.ndarray, shape (images,)
        Per image, the correlation between horizontally and vertically
        adjacent pixels (see :func:`smoothness`): about 0 for white noise,
        near 1 for a smooth image, -1 for a checkerboard. NaN for a constant
        image (no variation to correlate) or one with no adjacent pixels.
    shuffled_correlation : numpy.ndarray, shape (images,)
        The same statistic for the image's pixels randomly permuted, mean over
        ``n_shuffles`` permutations: what "no spatial structure" scores for
        exactly these pixel values (slightly below 0).
    shuffled_std : numpy.ndarray, shape (images,)
        Its standard deviation over the permutations.
    excess : numpy.ndarray, shape (images,)
        ``neighbour_correlation - shuffled_correlation``.
    z_score : numpy.ndarray, shape (images,)
        ``excess / shuffled_std``: how many standard deviations above
        shuffled noise (NaN when the std is 0).
    image_shape : tuple of int
        ``(H, W)``.
    n_shuffles : int
        Permutations per image.
    seed : int or None
        The seed that reproduces the permutations.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import smoothness
    >>> yy, xx = np.mgrid[:8, :8]
    >>> result = smoothness((yy + xx)[None].astype(float), n_shuffles=5)
    >>> result.image_shape, result.n_shuffles
    ((8, 8), 5)
    >>> bool(result.excess[0] > 0.5), bool(result.z_score[0] > 3)
    (True, True)
    """

    neighbour_correlation: np.ndarray
    shuffled_correlation: np.ndarray
    shuffled_std: np.ndarray
    excess: np.ndarray
    z_score: np.ndarray
    image_shape: tuple[int, int]
    n_shuffles: int
    seed: int | None

    @property
    def mean(self) -> float:
        """Mean neighbour correlation over images (NaN entries skipped)."""
        return nan_mean(self.neighbour_correlation)

    @property
    def median(self) -> float:
        """Median neighbour correlation over images (NaN entries skipped)."""
        return nan_median(self.neighbour_correlation)

    def to_dict(self) -> dict[str, list[Any]]:
        """Per-image table (column name -> list): ``image``,
        ``neighbour_correlation``, ``shuffled_correlation``, ``shuffled_std``,
        ``excess``, ``z_score``."""
        return {
            "image": list(range(self.neighbour_correlation.size)),
            "neighbour_correlation": self.neighbour_correlation.tolist(),
            "shuffled_correlation": self.shuffled_correlation.tolist(),
            "shuffled_std": self.shuffled_std.tolist(),
            "excess": self.excess.tolist(),
            "z_score": self.z_score.tolist(),
        }

    def __repr__(self) -> str:
        h, w = self.image_shape
        return (
            f"Smoothness(images={self.neighbour_correlation.size}, shape={h}x{w}, "
            f"mean neighbour correlation={self.mean:.3f}, "
            f"shuffled={nan_mean(self.shuffled_correlation):.3f})"
        )

    def __str__(self) -> str:
        d = self.to_dict()
        rows = zip(
            d["image"],
            d["neighbour_correlation"],
            d["shuffled_correlation"],
            d["shuffled_std"],
            d["z_score"],
            strict=True,
        )
        h, w = self.image_shape
        title = (
            f"Smoothness of {self.neighbour_correlation.size} images of {h}x{w}: "
            f"mean neighbour correlation {self.mean:.4g} (shuffled pixels: "
            f"{nan_mean(self.shuffled_correlation):.4g}, {self.n_shuffles} "
            f"permutations, seed {self.seed})"
        )
        headers = ("image", "neighbours", "shuffled", "shuffled std", "z")
        return title + "\n" + format_table(headers, rows)


def _neighbour_correlation(flat: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The neighbour correlation of each row of ``flat`` (images, H*W)."""
    h, w = shape
    img = flat.reshape(-1, h, w)
    # Every unordered pair of 4-neighbours, once: horizontal then vertical.
    first = np.concatenate(
        [img[:, :, :-1].reshape(len(img), -1), img[:, :-1, :].reshape(len(img), -1)],
        axis=1,
    )
    second = np.concatenate(
        [img[:, :, 1:].reshape(len(img), -1), img[:, 1:, :].reshape(len(img), -1)],
        axis=1,
    )
    if first.shape[1] == 0:
        return np.full(len(img), np.nan)
    # Count each pair in both orders, so both ends share one mean and variance:
    # r = mean((p - m)(q - m)) / mean over ends of (p - m)^2, which lies in
    # [-1, 1] because 2|ab| <= a^2 + b^2.
    m = (first.mean(axis=1) + second.mean(axis=1)) / 2
    a = first - m[:, None]
    b = second - m[:, None]
    cov = (a * b).mean(axis=1)
    var = ((a * a).mean(axis=1) + (b * b).mean(axis=1)) / 2
    # A (nearly) constant image has no variation to correlate: NaN, not 0
    # (0 would claim it looks like noise).
    scale = np.abs(flat).max(axis=1) ** 2
    var = np.where(var > 1e-24 * scale, var, 0.0)
    return nan_divide(cov, var)


def _as_images(images: Any, layer: int) -> np.ndarray:
    """``images`` as a 3-D array; a model gives its weight images."""
    is_array = isinstance(images, np.ndarray) or hasattr(images, "__array__")
    if not is_array and isinstance(images, (list, tuple)):
        # A nested list of numbers is images; a list of differently shaped
        # weight matrices is a model (for the weight-list adapter).
        try:
            arr = np.asarray(images)
        except (TypeError, ValueError):
            arr = None
        is_array = arr is not None and arr.dtype != object
    if not is_array:
        try:
            return weight_images(images, layer=layer)
        except UnsupportedModelError:
            raise InvalidParameterError(
                "`images` must be an array of shape (images, H, W) or (H, W), or a "
                f"model mlpinspect.adapt accepts; got {type(images).__name__}"
            ) from None
    arr = check_array(images, "images", ndim=(2, 3))
    return arr[None] if arr.ndim == 2 else arr


def smoothness(
    images: Any, *, n_shuffles: int = 20, seed: int | None = 0, layer: int = 0
) -> Smoothness:
    """Score the spatial structure of images: neighbour correlation vs shuffled.

    For each image, the correlation between adjacent pixels (every
    horizontal and vertical neighbour pair, pooled) is compared with the same
    statistic after randomly permuting the image's pixels, which keeps the
    values and destroys their arrangement. White noise scores about 0 (like
    its shuffles); a smooth blob scores near 1.

    Parameters
    ----------
    images : array_like or model
        Images of shape ``(images, H, W)``, a single image ``(H, W)``, or a
        model (anything :func:`mlpinspect.adapt` accepts), whose
        :func:`weight_images` of ``layer`` are scored. A numeric array is
        always read as images.
    n_shuffles : int, default 20
        Random permutations per image, >= 1 (2 or more for a standard
        deviation).
    seed : int or numpy.random.Generator or None, default 0
        Seed of the permutations; the same seed gives the same result.
    layer : int, default 0
        The layer whose weight images to score when ``images`` is a model.

    Returns
    -------
    Smoothness
        ``neighbour_correlation``, ``shuffled_correlation``, ``shuffled_std``,
        ``excess``, ``z_score`` per image, and ``mean`` / ``median``.

    Raises
    ------
    InvalidParameterError
        For arrays of the wrong shape or with NaN, ``n_shuffles < 1``, or a
        bad seed.

    Notes
    -----
    The statistic is the Pearson correlation over the set of neighbour
    pairs, each pair counted in both orders (so it is symmetric and lies in
    [-1, 1]). A constant image has zero variance and no structure to
    measure: its scores are NaN (not 0, which would call it noise), and
    :attr:`Smoothness.mean` skips it. Shuffled pixels score about
    ``-1 / (H * W - 1)`` on average, not exactly 0, which is why the
    comparison is with the image's own shuffles.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> noise = rng.normal(size=(28, 28))
    >>> yy, xx = np.mgrid[:28, :28]
    >>> blob = np.exp(-((yy - 14) ** 2 + (xx - 14) ** 2) / 50)
    >>> result = smoothness(np.stack([noise, blob]))
    >>> bool(abs(result.neighbour_correlation[0]) < 0.1)
    True
    >>> bool(result.neighbour_correlation[1] > 0.9)
    True
    """
    n_shuffles = check_int(n_shuffles, "n_shuffles", minimum=1)
    rng = check_rng(seed)
    imgs = np.asarray(_as_images(images, layer), dtype=np.float64)
    shape = (int(imgs.shape[1]), int(imgs.shape[2]))
    flat = imgs.reshape(imgs.shape[0], -1)
    check_memory(8 * n_shuffles * flat.shape[0], "n_shuffles", n_shuffles,
                 f"the correlations of {flat.shape[0]} image(s) under each "
                 f"shuffle")  # fmt: skip
    observed = _neighbour_correlation(flat, shape)
    shuffled = np.empty((n_shuffles, flat.shape[0]))
    for s in range(n_shuffles):
        shuffled[s] = _neighbour_correlation(rng.permuted(flat, axis=1), shape)
    defined = ~np.isnan(observed)
    mean = np.full(flat.shape[0], np.nan)
    std = np.full(flat.shape[0], np.nan)
    mean[defined] = shuffled[:, defined].mean(axis=0)
    std[defined] = shuffled[:, defined].std(axis=0, ddof=1 if n_shuffles > 1 else 0)
    excess = observed - mean
    std_ok = np.where(std > 0, std, 0.0)
    seed_out = seed if isinstance(seed, (int, np.integer)) else None
    return Smoothness(
        neighbour_correlation=frozen(observed),
        shuffled_correlation=frozen(mean),
        shuffled_std=frozen(std),
        excess=frozen(excess),
        z_score=frozen(nan_divide(excess, std_ok)),
        image_shape=shape,
        n_shuffles=n_shuffles,
        seed=None if seed_out is None else int(seed_out),
    )
