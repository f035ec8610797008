"""Exact contribution decomposition of a layer's pre-activation.

A unit's pre-activation is a sum: ``z_j = sum_k W[j, k] * a_k + b_j``. The
terms ``W[j, k] * a_k`` are the *contributions* of the sources ``k`` (the
units of the previous layer, or the input pixels for layer 0). Unlike a weight,
a contribution says what a source actually adds on a given input, and the
contributions plus the bias add up to the pre-activation exactly (to float
rounding): nothing is approximated.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    check_float,
    check_input,
    check_memory,
    resolve_layer,
    resolve_units,
)
from ..adapters import adapt
from ..errors import InvalidParameterError
from ..mlp import MLP
from ._batches import (
    DEFAULT_CHUNK_SIZE,
    as_array_or_stream,
    check_finite_values,
    class_names_of,
    format_table,
    frozen,
    iter_batches,
    nan_divide,
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
        with class names (a binary model's one unit is its positive class).
    inputs : numpy.ndarray, shape (n, n_inputs)
        The model's inputs (flattened), for figures that show them.
    source_names : tuple of str or None
        Names of the sources for layer 0: the inputs' DataFrame columns or the
        model's ``feature_names``; None for later layers.

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
    inputs: np.ndarray | None = None
    source_names: tuple[str, ...] | None = None

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
    a = X if layer == 0 else mlp.propagate(X, stop=layer - 1, keep=False)
    own = mlp.propagate(a, start=layer, stop=layer)  # this layer, as the model runs it
    z, out = own.pre[0], own.post[0]  # type: ignore[union-attr]
    weight = dense.weight[units]
    with np.errstate(over="ignore", invalid="ignore"):
        contributions = a[:, None, :] * weight[None, :, :]
    check_finite_values(contributions, mlp, layer, "the contributions to its units")
    names = None
    if mlp.class_names is not None and layer == len(mlp.layers) - 1:
        names = tuple(mlp.unit_name(layer, u) for u in units)
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
        inputs=frozen(X),
        source_names=mlp.feature_names if layer == 0 else None,
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
        Inputs, shape ``(n, n_inputs)`` or ``(n, *input_shape)`` (a
        DataFrame's columns name the sources of layer 0), or an iterable of
        batches (``X_batch`` or ``(X_batch, y_batch)`` pairs, concatenated;
        see :func:`iter_decompose`).
    layer : int, default -1
        The weight layer to decompose (-1 = output layer: the logits are
        split over the last hidden layer's units; 0 = the first layer, split
        over the input pixels).
    units : int, str or sequence of them, optional
        Decompose only these units of the layer (indices, or on the output
        layer class labels of any kind the model's classes hold); default
        all. Returned in increasing order. The negative class of a binary
        model is refused: it has no unit of its own (its logit is minus the
        positive class's unit, so decompose that and flip the signs).

    Returns
    -------
    Decomposition
        ``contributions`` (n, units, sources), ``bias`` (units,),
        ``pre_activation`` (n, units), ``source_activations`` (n, sources),
        ``output`` (n, units), ``layer``, ``units``.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer`` or ``units`` (an unknown label, the negative class
        of a binary model), or inputs of the wrong shape or with NaN.
    NumericalError
        When the layer's values overflow although the model and inputs are
        finite; the message names the layer.

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
    >>> named = mlp.replace(class_names=["a", "b", "c"])
    >>> decompose(named, X, units=["c", "a"]).unit_names
    ('a', 'c')
    """
    mlp = adapt(model).check_finite()
    index = resolve_layer(mlp, layer)
    unit_idx = resolve_units(mlp, index, units)
    arr, _ = as_array_or_stream(X, "X", mlp)
    if arr is not None:
        # One batch holding every row: the result holds them all anyway.
        inputs = check_input(mlp, arr)
        n, n_sources = inputs.values.shape[0], mlp.layers[index].n_in
        check_memory(
            2 * n * unit_idx.size * n_sources * mlp.dtype.itemsize, "X",
            f"<{n} rows>", f"the ({n}, {unit_idx.size}, {n_sources}) contributions "
            f"(iter_decompose or class_contributions keep memory bounded)",
        )  # fmt: skip
        return _named(
            _decompose_batch(mlp, inputs.values, index, unit_idx),
            inputs.feature_names,
        )
    batches = iter_batches(mlp, X, chunk_size=DEFAULT_CHUNK_SIZE)
    parts = [_decompose_batch(mlp, xb, index, unit_idx) for xb, _ in batches]
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
        inputs=cat("inputs"),
        source_names=batches.feature_names if index == 0 else None,
    )


def iter_decompose(
    model: Any,
    X: Any,
    *,
    layer: int = -1,
    units: int | str | Sequence[int | str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[Decomposition]:
    """:func:`decompose`, one batch at a time, with memory bounded by the batch.

    Parameters
    ----------
    model, layer, units
        As for :func:`decompose`.
    X : array_like or iterable of batches
        Inputs as for :func:`decompose`; an array is cut into ``chunk_size``
        rows, an iterable yields one :class:`Decomposition` per batch. A
        stream item that is a tuple is an ``(X_batch, y_batch)`` pair (the
        labels are ignored); a list ``[X_batch, y_batch]`` with a 2-D array
        or tensor first is one too (what a PyTorch ``DataLoader`` yields);
        anything else, e.g. a nested list of rows, is an ``X_batch``.
    chunk_size : int, default 1000
        Rows per batch for an array ``X``. One batch of the first layer of a
        784-30 network holds ``chunk_size * 30 * 784`` float64 values
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
    >>> parts = list(iter_decompose(mlp, rng.random((10, 16)), chunk_size=4))
    >>> [p.contributions.shape[0] for p in parts]
    [4, 4, 2]
    """
    mlp = adapt(model).check_finite()
    index = resolve_layer(mlp, layer)
    unit_idx = resolve_units(mlp, index, units)
    batches = iter_batches(mlp, X, chunk_size=chunk_size)
    return (
        _named(_decompose_batch(mlp, xb, index, unit_idx), batches.feature_names)
        for xb, _ in batches
    )


def _named(dec: Decomposition, names: tuple[str, ...] | None) -> Decomposition:
    """``dec`` with the inputs' feature names as the sources' names (layer 0)."""
    if dec.layer != 0 or names is None or names == dec.source_names:
        return dec
    return dataclasses.replace(dec, source_names=names)


# -- class-level table --------------------------------------------------------

_USAGE = ("positive", "negative", "in part", "unused")


@dataclass(frozen=True, eq=False)
class ClassContributions:
    """Per class, the mean contribution of every source to that class's unit.

    Row ``c`` is computed over the examples labelled ``c`` only, for unit
    ``c`` of the layer (the output unit of class ``c``). A binary model has
    two rows for its one output unit: the negative class's row is about
    minus the unit (its logit), the positive class's about the unit. For a
    multilabel model row ``c`` is over the examples carrying label ``c``.

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
        The bias of unit ``c`` (with the sign flipped for the negative class
        of a binary model, as every value of its row).
    mean_pre_activation : numpy.ndarray, shape (n_classes,)
        Mean pre-activation of unit ``c`` (class ``c``'s logit) over its
        class's examples; equals ``mean_contribution.sum(1) + bias`` to float
        rounding.
    counts : numpy.ndarray of int, shape (n_classes,)
        Number of examples per class. A class without examples has NaN rows.
    layer : int
        The (non-negative) weight layer.
    class_names : tuple of str
        One name per class: ``str`` of the model's class labels (``"0"``,
        ``"1"``, ... by default).
    on_share : numpy.ndarray, shape (n_classes, sources)
        Share of the class's examples on which source ``k`` is *on*: its
        pre-activation is positive (a sigmoid source above 0.5, a ReLU source
        above 0; for layer 0, the input feature above 0). See
        :meth:`on_counts`.

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
    on_share: np.ndarray | None = None

    def on_counts(
        self, *, consistent: float = 0.9
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per class, how many sources are on always, never, or in part.

        A source is *on* for an example when its pre-activation is positive
        (see ``on_share``); a source that is all-or-nothing for a class (a
        "Lego block") is on for nearly all of its examples or nearly none.

        Parameters
        ----------
        consistent : float, default 0.9
            A source on for at least this share of the class's examples counts
            as always on, for at most ``1 - consistent`` as never on; in
            ``(0.5, 1]``.

        Returns
        -------
        always, never, partly : numpy.ndarray of int, shape (n_classes,)
            Sources always on, never on, and on for some examples only (used
            in part); all three are 0 for a class without examples.

        Examples
        --------
        >>> import numpy as np
        >>> from mlpinspect import MLP, Dense, class_contributions
        >>> mlp = MLP([Dense(np.eye(3), [0.0, 0.0, 0.0], "relu"),
        ...            Dense(np.ones((2, 3)), [0.0, 0.0], "softmax")])
        >>> X = np.array([[1.0, -1.0, 1.0], [1.0, -1.0, -1.0]])
        >>> always, never, partly = class_contributions(mlp, X, [0, 0]).on_counts()
        >>> always.tolist(), never.tolist(), partly.tolist()
        ([1, 0], [1, 0], [1, 0])
        """
        consistent = check_float(
            consistent, "consistent", minimum=0.5, maximum=1, strict_minimum=True
        )
        if self.on_share is None:
            raise InvalidParameterError(
                "this table was made without `on_share`; compute it with "
                "class_contributions()"
            )
        has = (self.counts > 0)[:, None]
        always = ((self.on_share >= consistent) & has).sum(axis=1)
        never = ((self.on_share <= 1 - consistent) & has).sum(axis=1)
        partly = has.sum(axis=1) * self.on_share.shape[1] - always - never
        return always, never, partly

    def negative_mass_share(self) -> np.ndarray:
        """Per class, the share of its contribution mass that argues against it.

        The contribution mass is the sum over sources of the mean
        ``|W[c, k] * a_k|``; the share against is the part of it from
        negative contributions, so 0 means every source argues for the class
        and 1 that every source argues against it.

        Returns
        -------
        numpy.ndarray, shape (n_classes,)
            In ``[0, 1]``; NaN for a class without examples or whose
            contributions are all zero.

        Examples
        --------
        >>> import numpy as np
        >>> from mlpinspect import MLP, Dense, class_contributions
        >>> mlp = MLP([Dense(np.eye(2), [0.0, 0.0], "relu"),
        ...            Dense([[3.0, -1.0], [1.0, 1.0]], [0.0, 0.0], "softmax")])
        >>> table = class_contributions(mlp, [[1.0, 1.0]], [0])
        >>> table.negative_mass_share()
        array([0.25,  nan])
        """
        # |x| - x is twice the magnitude of x's negative part.
        against = 0.5 * (self.mean_abs_contribution - self.mean_contribution)
        return nan_divide(against.sum(axis=1), self.mean_abs_contribution.sum(axis=1))

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
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> ClassContributions:
    """How much each source unit contributes to each class, over that class's
    examples: the table of features used in part, unused, or used negatively.

    For each class ``c``, over the examples labelled ``c``: the mean
    contribution ``W[c, k] * a_k`` of every source ``k`` to unit ``c`` (the
    output unit of class ``c``), its mean absolute value, the shares of
    examples where it is positive and negative, and the mean pre-activation.
    Computed in one streaming pass, memory bounded by the batch.

    For a binary model both classes use the one output unit: the negative
    class's row holds the contributions to its logit, minus the unit's. For a
    multilabel model row ``c`` is over the examples carrying label ``c``.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    X : array_like or iterable of (X_batch, y_batch) pairs
        Inputs, shape ``(n, n_inputs)`` or ``(n, *input_shape)``, with labels
        ``y``; or an iterable of ``(X_batch, y_batch)`` pairs, e.g. a PyTorch
        ``DataLoader`` (then ``y`` is None).
    y : array_like, shape (n,), or one-hot (n, n_classes)
        Class labels for an array ``X``, of any kind the model's classes hold
        (strings, integers, booleans; integers are class positions when the
        classes are strings), or a 0/1 indicator matrix for a multilabel
        model. Unknown labels are refused by name.
    layer : int, default -1
        The layer whose unit ``c`` stands for class ``c``: the output layer
        (the default), or any layer with one unit per output.
    chunk_size : int, default 1000
        Rows per batch for an array ``X`` (memory is bounded by the batch;
        the result does not depend on it beyond float rounding).

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
        For a bad ``layer``, a model without classes (a regressor, or one
        output whose task is unknown), missing or mismatched labels, unknown
        labels, or inputs of the wrong shape or with NaN.
    NumericalError
        When the layer's values overflow although the model and inputs are
        finite; the message names the layer.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(4, 16)), np.zeros(4), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 4)), np.zeros(3), "softmax")],
    ...           class_names=["cat", "dog", "emu"])
    >>> X = rng.random((30, 16))
    >>> y = np.array(["cat", "dog", "emu"])[rng.integers(0, 3, size=30)]
    >>> table = class_contributions(mlp, X, y)
    >>> table.class_names, table.mean_contribution.shape, int(table.counts.sum())
    (('cat', 'dog', 'emu'), (3, 4), 30)
    >>> bool(np.allclose(table.mean_contribution.sum(1) + table.bias,
    ...                  table.mean_pre_activation))
    True

    A binary model has a row per class; the negative class's is about minus
    the one unit:

    >>> binary = MLP([Dense(rng.normal(size=(4, 16)), np.zeros(4), "relu"),
    ...               Dense(rng.normal(size=(1, 4)), [0.0], "sigmoid")],
    ...              class_names=["no", "yes"])
    >>> labels = np.where(y == "cat", "yes", "no")
    >>> table = class_contributions(binary, X, labels)
    >>> table.class_names, table.counts.tolist()
    (('no', 'yes'), [20, 10])
    >>> logit = binary.trace(X).pre[-1][:, 0]
    >>> bool(np.isclose(table.mean_pre_activation[0], -logit[labels == "no"].mean()))
    True
    """
    mlp = adapt(model).check_finite()
    index = resolve_layer(mlp, layer)
    dense = mlp.layers[index]
    if mlp.task == "regression" or mlp.task is None:
        raise InvalidParameterError(
            "class_contributions needs a classifier (task 'multiclass', 'binary' or "
            f"'multilabel'); the model's task is {mlp.task!r}"
        )
    if dense.n_out != mlp.n_outputs:
        raise InvalidParameterError(
            f"`layer` must have one unit per output ({mlp.n_outputs}, the model's "
            f"outputs); layer {index} has {dense.n_out} units"
        )
    units, signs = _class_units(mlp)
    n_classes = units.size
    # Row c: the weights and bias of class c's logit (minus the one unit's for
    # the negative class of a binary model).
    W = signs[:, None] * np.asarray(dense.weight, dtype=np.float64)[units]
    bias = signs * np.asarray(dense.bias, dtype=np.float64)[units]
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
    n_on = np.zeros((n_classes, n_sources))
    counts = np.zeros(n_classes, dtype=np.int64)
    for xb, yb in iter_batches(mlp, X, y, chunk_size=chunk_size, labels=True):
        a, on = _sources_and_on(mlp, xb, index)
        # The layer as the model runs it (a NumericalError names it if it
        # overflows); class c's logit is its unit's, signed.
        z = mlp.propagate(a, start=index, stop=index).pre[0]  # type: ignore[union-attr]
        a = a.astype(np.float64, copy=False)
        members = _membership(mlp, yb, n_classes)  # (b, C): 1 where row is in c
        with np.errstate(over="ignore", invalid="ignore"):
            _merge_squared_deviations(m2_a, sum_a, counts, members, a)
            sum_a += members.T @ a
            sum_abs_a += members.T @ np.abs(a)
            sum_pre += (members * (signs * z[:, units])).sum(axis=0)
        n_pos_a += members.T @ (a > 0)
        n_on += members.T @ on
        n_neg_a += members.T @ (a < 0)
        counts += members.sum(axis=0).astype(np.int64)
    for values, what in (
        (sum_a, "the summed activations feeding it"),
        (m2_a, "the squared deviations of the activations feeding it"),
        (sum_pre, "the summed pre-activations of its units"),
    ):
        check_finite_values(values, mlp, index, what)
    per = counts[:, None]
    pos_w, neg_w = W > 0, W < 0
    with np.errstate(over="ignore", invalid="ignore"):
        mean_contribution = W * nan_divide(sum_a, per)
        mean_abs_contribution = np.abs(W) * nan_divide(sum_abs_a, per)
        std_contribution = np.abs(W) * np.sqrt(nan_divide(m2_a, per))
    has = counts > 0
    for values, what in (
        (mean_contribution, "the mean contributions to its units"),
        (mean_abs_contribution, "the mean absolute contributions to its units"),
        (std_contribution, "the spread of the contributions to its units"),
    ):
        check_finite_values(values[has], mlp, index, what)
    n_pos = np.where(pos_w, n_pos_a, 0.0) + np.where(neg_w, n_neg_a, 0.0)
    n_neg = np.where(pos_w, n_neg_a, 0.0) + np.where(neg_w, n_pos_a, 0.0)
    return ClassContributions(
        mean_contribution=frozen(mean_contribution),
        mean_abs_contribution=frozen(mean_abs_contribution),
        std_contribution=frozen(std_contribution),
        positive_share=frozen(nan_divide(n_pos, per)),
        negative_share=frozen(nan_divide(n_neg, per)),
        bias=frozen(bias),
        mean_pre_activation=frozen(nan_divide(sum_pre, counts)),
        counts=frozen(counts),
        layer=index,
        class_names=class_names_of(mlp),
        on_share=frozen(nan_divide(n_on, per)),
    )


def _sources_and_on(mlp: MLP, X: np.ndarray, layer: int) -> tuple[np.ndarray, Any]:
    """The activations feeding ``layer`` and whether each is on: its
    pre-activation is positive (for layer 0, the input itself)."""
    if layer == 0:
        return X, X > 0
    below = X if layer == 1 else mlp.propagate(X, stop=layer - 2, keep=False)
    source = mlp.propagate(below, start=layer - 1, stop=layer - 1)
    return source.post[0], source.pre[0] > 0  # type: ignore[union-attr]


def _class_units(mlp: MLP) -> tuple[np.ndarray, np.ndarray]:
    """The output unit and sign of each class: ``(units (C,), signs (C,))``.

    Class ``c`` is unit ``c``; for a binary model both classes are the one
    unit, the negative class with sign -1.
    """
    if mlp.task == "binary":
        return np.array([0, 0]), np.array([-1.0, 1.0])
    return np.arange(mlp.n_outputs), np.ones(mlp.n_outputs)


def _membership(mlp: MLP, yb: np.ndarray, n_classes: int) -> np.ndarray:
    """``(b, C)`` 0/1 matrix: which classes each row belongs to."""
    if mlp.task == "multilabel":
        return yb.astype(np.float64)
    members = np.zeros((yb.shape[0], n_classes))
    members[np.arange(yb.shape[0]), yb] = 1.0
    return members


def _merge_squared_deviations(
    m2: np.ndarray,
    sums: np.ndarray,
    counts: np.ndarray,
    members: np.ndarray,
    a: np.ndarray,
) -> None:
    """Add a batch to per-class sums of squared deviations from the mean.

    Chan et al.'s pairwise update: ``m2`` (classes, sources) grows by the
    batch's own squared deviations from its class means plus the shift of
    the means weighted by ``n_old * n_batch / n_new``. ``sums`` and
    ``counts`` are the totals *before* this batch; ``members`` (b, classes)
    says which rows belong to which class (a row may belong to several, for
    a multilabel model).
    """
    n_batch = members.sum(axis=0)
    batch_mean = nan_divide(members.T @ a, n_batch[:, None])
    batch_mean[n_batch == 0] = 0.0
    for c in np.flatnonzero(n_batch):
        rows = a[members[:, c] > 0]
        m2[c] += ((rows - batch_mean[c]) ** 2).sum(axis=0)
    old_mean = nan_divide(sums, counts[:, None])
    old_mean[counts == 0] = 0.0
    n_new = counts + n_batch
    weight = nan_divide(counts * n_batch, n_new)
    weight[n_new == 0] = 0.0
    m2 += (batch_mean - old_mean) ** 2 * weight[:, None]
