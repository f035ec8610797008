"""Exact contribution decomposition of a layer's pre-activation.

A unit's pre-activation is a sum: ``z_j = sum_k W[j, k] * a_k + b_j``. The
terms ``W[j, k] * a_k`` are the *contributions* of the sources ``k`` (the
units of the previous layer, or the input pixels for layer 0). Unlike a weight,
a contribution says what a source actually adds on a given input, and the
contributions plus the bias add up to the pre-activation exactly (to float
rounding): nothing is approximated.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_float
from ..activations import get_activation
from ..adapters import adapt
from ..errors import InvalidParameterError
from ..mlp import MLP
from ._batches import (
    DEFAULT_BATCH_SIZE,
    as_array_or_stream,
    class_names_of,
    format_table,
    frozen,
    iter_batches,
    resolve_units,
    safe_divide,
    sources_of,
)
from .images import _check_shape, _input_image_shape, image_shape

__all__ = [
    "ClassContributions",
    "Decomposition",
    "class_contributions",
    "decompose",
    "iter_decompose",
]


@dataclass(frozen=True, eq=False)
class Decomposition:
    """Every unit's pre-activation split into per-source contributions.

    Attributes
    ----------
    contributions : numpy.ndarray, shape (n, units, sources)
        ``contributions[i, j, k] = W[units[j], k] * source_activations[i, k]``.
    bias : numpy.ndarray, shape (units,)
        The units' biases.
    pre_activation : numpy.ndarray, shape (n, units)
        The pre-activations from the model's forward pass;
        ``contributions.sum(-1) + bias`` equals it to float rounding.
    source_activations : numpy.ndarray, shape (n, sources)
        The activations feeding the layer (the flattened inputs for layer 0).
    output : numpy.ndarray, shape (n, units)
        The layer's output (post-activation) for these units. For a softmax
        layer it is computed over all units, then the selected ones are kept.
    layer : int
        The (non-negative) weight layer.
    units : numpy.ndarray of int, shape (units,)
        Which units of the layer are decomposed (all by default).
    input_shape : tuple of int
        The model's input shape (for :meth:`images` of layer 0).
    unit_names : tuple of str or None
        Class names of the selected units, for the output layer of a model
        with class names.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")])
    >>> from mlpinspect import decompose
    >>> d = decompose(mlp, rng.random((5, 16)), layer=0)
    >>> d.contributions.shape, d.images().shape
    ((5, 6, 16), (5, 6, 4, 4))
    >>> bool(np.abs(d.completeness_error).max() < 1e-12)
    True
    """

    contributions: np.ndarray
    bias: np.ndarray
    pre_activation: np.ndarray
    source_activations: np.ndarray
    output: np.ndarray
    layer: int
    units: np.ndarray
    input_shape: tuple[int, ...]
    unit_names: tuple[str, ...] | None = None

    @property
    def completeness_error(self) -> np.ndarray:
        """``contributions.sum(-1) + bias - pre_activation``, shape (n, units):
        zero up to float rounding."""
        return self.contributions.sum(axis=-1) + self.bias - self.pre_activation

    def images(self, shape: Sequence[int] | None = None) -> np.ndarray:
        """The contributions as images, shape ``(n, units, H, W)``.

        For layer 0 the default image shape is the model's input shape (one
        pixel per input pixel); for later layers the near-square factorisation
        of the number of sources (see :func:`image_shape`).
        """
        n_sources = self.contributions.shape[-1]
        if shape is not None:
            h, w = _check_shape(shape, n_sources, "the number of sources")
        elif self.layer == 0:
            h, w = _input_image_shape(self.input_shape, n_sources)
        else:
            h, w = image_shape(n_sources)
        return self.contributions.reshape(*self.contributions.shape[:2], h, w).copy()

    def __repr__(self) -> str:
        n, m, s = self.contributions.shape
        return (
            f"Decomposition(layer={self.layer}, n={n}, units={m}, sources={s}, "
            f"max |completeness error|={_max_abs(self.completeness_error):.3g})"
        )


def _max_abs(values: np.ndarray) -> float:
    return float(np.abs(values).max()) if values.size else 0.0


def _decompose_batch(
    mlp: MLP, X: np.ndarray, layer: int, units: np.ndarray
) -> Decomposition:
    dense = mlp.layers[layer]
    a = sources_of(mlp, X, layer)
    z = a @ dense.weight.T
    z += dense.bias
    out = get_activation(dense.activation)(z)
    weight = dense.weight[units]
    contributions = a[:, None, :] * weight[None, :, :]
    names = None
    if mlp.class_names is not None and layer == len(mlp.layers) - 1:
        names = tuple(mlp.class_names[u] for u in units)
    return Decomposition(
        contributions=frozen(contributions),
        bias=frozen(dense.bias[units]),
        pre_activation=frozen(z[:, units]),
        source_activations=frozen(a),
        output=frozen(out[:, units]),
        layer=layer,
        units=frozen(units),
        input_shape=mlp.input_shape,
        unit_names=names,
    )


def decompose(
    model: Any,
    X: Any,
    *,
    layer: int = -1,
    units: int | str | Sequence[int | str] | None = None,
) -> Decomposition:
    """Split each unit's pre-activation into per-source contributions.

    For every input ``i``, unit ``j`` of ``layer`` and source ``k`` (a unit of
    the layer before, or an input pixel for layer 0) the contribution is
    ``W[j, k] * a[i, k]``; summed over ``k`` and added to the bias it gives
    the unit's pre-activation exactly, to float rounding.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    X : array_like or iterable of batches
        Inputs, shape ``(n, n_inputs)`` or ``(n, *input_shape)``, or an
        iterable of batches (``X_batch`` or ``(X_batch, y_batch)`` pairs,
        concatenated).
    layer : int, default -1
        The weight layer to decompose (-1 = output layer: the logits are
        split over the last hidden layer's units; 0 = the first layer, split
        over the input pixels).
    units : int, str or sequence of them, optional
        Decompose only these units of the layer (indices, or class names for
        the output layer); default all. Returned in increasing order.

    Returns
    -------
    Decomposition
        ``contributions`` (n, units, sources), ``bias`` (units,),
        ``pre_activation`` (n, units), ``source_activations`` (n, sources),
        ``output`` (n, units), ``layer``, ``units``.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer`` or ``units``, or inputs of the wrong shape or with
        NaN.

    Notes
    -----
    The contributions array has ``n * units * sources`` entries: for the
    first layer of a 784-30-10 network on the 10,000 MNIST test images that
    is 235 million float64 values (1.9 GB); for the output layer 3 million
    (24 MB). Restrict ``units=``, or walk the data in batches with
    :func:`iter_decompose`, or aggregate while streaming with
    :func:`class_contributions`.

    The contributions are computed in the model's arithmetic and the
    pre-activation by its forward pass; the two sums are ordered differently,
    so they agree to float rounding (about ``1e-15`` times the sum of
    ``|contributions|`` in float64), not bit for bit.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), rng.normal(size=3), "softmax")])
    >>> X = rng.random((5, 16))
    >>> d = decompose(mlp, X)
    >>> d.contributions.shape
    (5, 3, 6)
    >>> bool(np.allclose(d.contributions.sum(-1) + d.bias, d.pre_activation))
    True
    >>> decompose(mlp, X, layer=0, units=[2]).contributions.shape
    (5, 1, 16)
    """
    mlp = adapt(model).check_finite()
    index = mlp.layer_index(layer)
    unit_idx = resolve_units(mlp, index, units)
    arr, _ = as_array_or_stream(X, "X", mlp)
    if arr is not None:
        # One batch holding every row: the result holds them all anyway.
        size = max(1, arr.shape[0] if arr.ndim > 1 else 1)
        xb, _ = next(iter_batches(mlp, arr, batch_size=size))
        return _decompose_batch(mlp, xb, index, unit_idx)
    parts = [
        _decompose_batch(mlp, xb, index, unit_idx)
        for xb, _ in iter_batches(mlp, X, batch_size=DEFAULT_BATCH_SIZE)
    ]
    first = parts[0]

    def cat(field: str) -> np.ndarray:
        return frozen(np.concatenate([getattr(p, field) for p in parts]))

    return Decomposition(
        contributions=cat("contributions"),
        bias=first.bias,
        pre_activation=cat("pre_activation"),
        source_activations=cat("source_activations"),
        output=cat("output"),
        layer=index,
        units=first.units,
        input_shape=first.input_shape,
        unit_names=first.unit_names,
    )


def iter_decompose(
    model: Any,
    X: Any,
    *,
    layer: int = -1,
    units: int | str | Sequence[int | str] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> Iterator[Decomposition]:
    """:func:`decompose`, one batch at a time, with memory bounded by the batch.

    Parameters
    ----------
    model, layer, units
        As for :func:`decompose`.
    X : array_like or iterable of batches
        Inputs as for :func:`decompose`; an array is cut into ``batch_size``
        rows, an iterable yields one :class:`Decomposition` per batch.
    batch_size : int, default 1000
        Rows per batch for an array ``X``. One batch of the first layer of a
        784-30 network holds ``batch_size * 30 * 784`` float64 values
        (188 MB for 1000 rows).

    Returns
    -------
    iterator of Decomposition
        One per batch, in order. The arguments are checked when this is
        called, the inputs as each batch is reached.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "relu"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "identity")])
    >>> parts = list(iter_decompose(mlp, rng.random((10, 16)), batch_size=4))
    >>> [p.contributions.shape[0] for p in parts]
    [4, 4, 2]
    """
    mlp = adapt(model).check_finite()
    index = mlp.layer_index(layer)
    unit_idx = resolve_units(mlp, index, units)
    batches = iter_batches(mlp, X, batch_size=batch_size)
    return (_decompose_batch(mlp, xb, index, unit_idx) for xb, _ in batches)


# -- class-level table --------------------------------------------------------

_USAGE = ("positive", "negative", "in part", "unused")


@dataclass(frozen=True, eq=False)
class ClassContributions:
    """Per class, the mean contribution of every source to that class's unit.

    Row ``c`` is computed over the examples labelled ``c`` only, for unit
    ``c`` of the layer (the output unit of class ``c``).

    Attributes
    ----------
    mean_contribution : numpy.ndarray, shape (n_classes, sources)
        Mean of ``W[c, k] * a_k`` over the examples of class ``c``.
    mean_abs_contribution : numpy.ndarray, shape (n_classes, sources)
        Mean of ``|W[c, k] * a_k|``: how much source ``k`` moves unit ``c``
        at all, whichever way.
    std_contribution : numpy.ndarray, shape (n_classes, sources)
        Standard deviation of ``W[c, k] * a_k`` over the examples of class
        ``c``: how much the use of source ``k`` varies from example to
        example. For sigmoid sources (always positive) the shares below are
        0 or 1 and a feature's partial use shows here and in the means.
    positive_share : numpy.ndarray, shape (n_classes, sources)
        Share of the class's examples on which the contribution is > 0
        (``W[c, k]`` and ``a_k`` of the same sign).
    negative_share : numpy.ndarray, shape (n_classes, sources)
        Share on which it is < 0 (the rest are exact zeros, e.g. a ReLU
        source that is off).
    bias : numpy.ndarray, shape (n_classes,)
        The bias of unit ``c``.
    mean_pre_activation : numpy.ndarray, shape (n_classes,)
        Mean pre-activation of unit ``c`` over its class's examples; equals
        ``mean_contribution.sum(1) + bias`` to float rounding.
    counts : numpy.ndarray of int, shape (n_classes,)
        Number of examples per class. A class without examples has NaN rows.
    layer : int
        The (non-negative) weight layer.
    class_names : tuple of str
        One name per class.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")])
    >>> from mlpinspect import class_contributions
    >>> X, y = rng.random((30, 16)), rng.integers(0, 3, size=30)
    >>> table = class_contributions(mlp, X, y)
    >>> table.usage().shape
    (3, 6)
    >>> labels = {"positive", "negative", "in part", "unused"}
    >>> set(table.usage().ravel()) <= labels
    True
    """

    mean_contribution: np.ndarray
    mean_abs_contribution: np.ndarray
    std_contribution: np.ndarray
    positive_share: np.ndarray
    negative_share: np.ndarray
    bias: np.ndarray
    mean_pre_activation: np.ndarray
    counts: np.ndarray
    layer: int
    class_names: tuple[str, ...]

    def usage(
        self, *, unused_below: float = 0.05, consistent: float = 0.9
    ) -> np.ndarray:
        """Label how each class uses each source, shape ``(n_classes, sources)``.

        Parameters
        ----------
        unused_below : float, default 0.05
            A source whose mean ``|contribution|`` is below this fraction of
            the class's largest mean ``|contribution|`` is ``"unused"``.
        consistent : float, default 0.9
            A used source positive on at least this share of the class's
            examples is ``"positive"``, negative on at least this share
            ``"negative"``; otherwise ``"in part"``: it argues for the class on
            some examples and against it (or not at all) on others.

        Returns
        -------
        numpy.ndarray of str
            ``"positive"``, ``"negative"``, ``"in part"`` or ``"unused"``
            (``""`` for a class without examples).
        """
        unused_below = check_float(unused_below, "unused_below", minimum=0, maximum=1)
        consistent = check_float(consistent, "consistent", minimum=0.5, maximum=1)
        mag = self.mean_abs_contribution
        labels = np.full(mag.shape, "in part", dtype=object)
        labels[self.positive_share >= consistent] = "positive"
        labels[self.negative_share >= consistent] = "negative"
        has = self.counts > 0
        top = np.zeros(mag.shape[0])
        top[has] = mag[has].max(axis=1) if mag.shape[1] else 0.0
        unused = np.zeros(mag.shape, dtype=bool)
        unused[has] = mag[has] <= unused_below * top[has, None]
        labels[unused] = "unused"
        labels[~has] = ""
        return labels.astype(str)

    def to_dict(self) -> dict[str, list[Any]]:
        """A tidy table, one row per (class, source): column name -> list.

        Columns: ``class``, ``class_name``, ``source``, ``n``,
        ``mean_contribution``, ``mean_abs_contribution``, ``std_contribution``,
        ``positive_share``, ``negative_share``, ``usage`` (with the default thresholds).
        """
        n_classes, n_sources = self.mean_contribution.shape
        cls = np.repeat(np.arange(n_classes), n_sources)
        src = np.tile(np.arange(n_sources), n_classes)
        return {
            "class": cls.tolist(),
            "class_name": [self.class_names[c] for c in cls],
            "source": src.tolist(),
            "n": self.counts[cls].tolist(),
            "mean_contribution": self.mean_contribution.ravel().tolist(),
            "mean_abs_contribution": self.mean_abs_contribution.ravel().tolist(),
            "std_contribution": self.std_contribution.ravel().tolist(),
            "positive_share": self.positive_share.ravel().tolist(),
            "negative_share": self.negative_share.ravel().tolist(),
            "usage": self.usage().ravel().tolist(),
        }

    def __repr__(self) -> str:
        n_classes, n_sources = self.mean_contribution.shape
        return (
            f"ClassContributions(layer={self.layer}, classes={n_classes}, "
            f"sources={n_sources}, n={int(self.counts.sum())})"
        )

    def __str__(self) -> str:
        usage = self.usage()
        marks = {
            "positive": "+",
            "negative": "-",
            "in part": "~",
            "unused": ".",
            "": "",
        }
        headers = ("source", *self.class_names)
        rows: list[tuple[Any, ...]] = [
            ("n", *(int(c) for c in self.counts)),
            ("bias", *(f"{b:+.3g}" for b in self.bias)),
            ("mean pre", *(f"{p:+.3g}" for p in self.mean_pre_activation)),
        ]
        for k in range(self.mean_contribution.shape[1]):
            cells = []
            for c in range(len(self.class_names)):
                if self.counts[c] == 0:
                    cells.append("")
                    continue
                mean = self.mean_contribution[c, k]
                share = self.positive_share[c, k]
                cells.append(f"{mean:+.2f} {share:4.0%}{marks[usage[c, k]]}")
            rows.append((k, *cells))
        title = (
            f"Mean contribution of each source to each class's unit (layer "
            f"{self.layer}) over that class's examples\n% = share of examples "
            f"where it is positive; + positive, - negative, ~ in part, . unused"
        )
        return title + "\n" + format_table(headers, rows, max_rows=43)


def class_contributions(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    layer: int = -1,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> ClassContributions:
    """How much each source unit contributes to each class, over that class's
    examples: the table of features used in part, unused, or used negatively.

    For each class ``c``, over the examples labelled ``c``: the mean
    contribution ``W[c, k] * a_k`` of every source ``k`` to unit ``c`` (the
    output unit of class ``c``), its mean absolute value, the shares of
    examples where it is positive and negative, and the mean pre-activation.
    Computed in one streaming pass, memory bounded by the batch.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    X : array_like or iterable of (X_batch, y_batch) pairs
        Inputs, shape ``(n, n_inputs)`` or ``(n, *input_shape)``, with labels
        ``y``; or an iterable of ``(X_batch, y_batch)`` pairs (then ``y`` is
        None).
    y : array_like of int, shape (n,), or one-hot (n, n_classes)
        Class labels for an array ``X``.
    layer : int, default -1
        The layer whose unit ``c`` stands for class ``c``: the output layer
        (the default), or any layer with one unit per class.
    batch_size : int, default 1000
        Rows per batch for an array ``X``.

    Returns
    -------
    ClassContributions
        Tables ``mean_contribution``, ``mean_abs_contribution``,
        ``std_contribution``, ``positive_share``, ``negative_share``
        (n_classes, sources), and ``bias``, ``mean_pre_activation``,
        ``counts`` (n_classes,). Printing
        it shows the table; :meth:`ClassContributions.usage` labels each
        entry; :meth:`ClassContributions.to_dict` gives a tidy table.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer``, missing or mismatched labels, labels out of
        range, or inputs of the wrong shape or with NaN.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(4, 16)), np.zeros(4), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 4)), np.zeros(3), "softmax")])
    >>> X, y = rng.random((30, 16)), rng.integers(0, 3, size=30)
    >>> table = class_contributions(mlp, X, y)
    >>> table.mean_contribution.shape, int(table.counts.sum())
    ((3, 4), 30)
    >>> bool(np.allclose(table.mean_contribution.sum(1) + table.bias,
    ...                  table.mean_pre_activation))
    True
    """
    mlp = adapt(model).check_finite()
    index = mlp.layer_index(layer)
    dense = mlp.layers[index]
    n_classes = dense.n_out
    if n_classes != mlp.n_outputs:
        raise InvalidParameterError(
            f"`layer` must have one unit per class ({mlp.n_outputs}, the model's "
            f"outputs); layer {index} has {n_classes} units"
        )
    W = np.asarray(dense.weight, dtype=np.float64)
    n_sources = W.shape[1]
    # Per-class sums over examples of the source activations: their sum, the
    # sum of their absolute values, and counts of positive and negative
    # values. Contribution W[c, k] * a_k is positive iff sign(W) == sign(a),
    # so the shares follow from these counts without forming (b, C, S) arrays.
    sum_a = np.zeros((n_classes, n_sources))
    sum_abs_a = np.zeros((n_classes, n_sources))
    n_pos_a = np.zeros((n_classes, n_sources))
    n_neg_a = np.zeros((n_classes, n_sources))
    m2_a = np.zeros((n_classes, n_sources))  # sums of squared deviations
    sum_pre = np.zeros(n_classes)
    counts = np.zeros(n_classes, dtype=np.int64)
    for xb, yb in iter_batches(mlp, X, y, batch_size=batch_size, labels=True):
        a = sources_of(mlp, xb, index).astype(np.float64, copy=False)
        onehot = np.zeros((a.shape[0], n_classes))
        onehot[np.arange(a.shape[0]), yb] = 1.0
        _merge_squared_deviations(m2_a, sum_a, counts, onehot, a, yb)
        sum_a += onehot.T @ a
        sum_abs_a += onehot.T @ np.abs(a)
        n_pos_a += onehot.T @ (a > 0)
        n_neg_a += onehot.T @ (a < 0)
        z = a @ W.T + dense.bias
        own = z[np.arange(a.shape[0]), yb]  # each example's own class's unit
        sum_pre += np.bincount(yb, weights=own, minlength=n_classes)
        counts += np.bincount(yb, minlength=n_classes)
    per = counts[:, None]
    pos_w, neg_w = W > 0, W < 0
    n_pos = np.where(pos_w, n_pos_a, 0.0) + np.where(neg_w, n_neg_a, 0.0)
    n_neg = np.where(pos_w, n_neg_a, 0.0) + np.where(neg_w, n_pos_a, 0.0)
    return ClassContributions(
        mean_contribution=frozen(W * safe_divide(sum_a, per)),
        mean_abs_contribution=frozen(np.abs(W) * safe_divide(sum_abs_a, per)),
        std_contribution=frozen(np.abs(W) * np.sqrt(safe_divide(m2_a, per))),
        positive_share=frozen(safe_divide(n_pos, per)),
        negative_share=frozen(safe_divide(n_neg, per)),
        bias=frozen(np.array(dense.bias, dtype=np.float64)),
        mean_pre_activation=frozen(safe_divide(sum_pre, counts)),
        counts=frozen(counts),
        layer=index,
        class_names=class_names_of(mlp, n_classes),
    )


def _merge_squared_deviations(
    m2: np.ndarray,
    sums: np.ndarray,
    counts: np.ndarray,
    onehot: np.ndarray,
    a: np.ndarray,
    y: np.ndarray,
) -> None:
    """Add a batch to per-class sums of squared deviations from the mean.

    Chan et al.'s pairwise update: ``m2`` (classes, sources) grows by the
    batch's own squared deviations from its class means plus the shift of
    the means weighted by ``n_old * n_batch / n_new``. ``sums`` and
    ``counts`` are the totals *before* this batch.
    """
    n_batch = onehot.sum(axis=0)
    batch_mean = safe_divide(onehot.T @ a, n_batch[:, None])
    batch_mean[n_batch == 0] = 0.0
    m2 += onehot.T @ (a - batch_mean[y]) ** 2
    old_mean = safe_divide(sums, counts[:, None])
    old_mean[counts == 0] = 0.0
    n_new = counts + n_batch
    weight = safe_divide(counts * n_batch, n_new)
    weight[n_new == 0] = 0.0
    m2 += (batch_mean - old_mean) ** 2 * weight[:, None]
