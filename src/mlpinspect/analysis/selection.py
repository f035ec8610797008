"""Top-k excitatory and inhibitory connections of a unit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    check_choice,
    check_int,
    resolve_class,
    resolve_layer,
    resolve_unit,
)
from ..adapters import adapt
from ..errors import InvalidParameterError
from ..mlp import MLP
from ._batches import (
    DEFAULT_CHUNK_SIZE,
    check_finite_values,
    format_table,
    frozen,
    iter_batches,
)

__all__ = ["TopUnits", "top_units"]

_BY = ("weight", "contribution")


@dataclass(frozen=True, eq=False)
class TopUnits:
    """The k highest- and k lowest-ranked incoming connections of one unit.

    Attributes
    ----------
    unit : int
        The unit whose incoming connections are ranked.
    layer : int
        Its (non-negative) weight layer; the sources are the units of the
        layer before (the input pixels for layer 0).
    by : {"weight", "contribution"}
        What was ranked (see :func:`top_units`).
    k : int
        Entries per list (the requested ``k`` clipped to the fan-in).
    excitatory : numpy.ndarray of int, shape (k,)
        Source indices, highest score first (ties: lower index first).
    excitatory_values : numpy.ndarray, shape (k,)
        Their scores, with sign.
    inhibitory : numpy.ndarray of int, shape (k,)
        Source indices, lowest (most negative) score first (ties: lower index
        first).
    inhibitory_values : numpy.ndarray, shape (k,)
        Their scores, with sign.
    scores : numpy.ndarray, shape (fan_in,)
        The score of every source: the weights, or the mean contributions.
    unit_name : str or None
        The class an output unit stands for, when the model has class names
        (the negative class of a binary model included).
    n_samples : int or None
        Number of samples averaged over for ``by="contribution"``.
    sign : float
        ``-1.0`` when the ranked quantity is minus the unit's input: the
        negative class of a binary model, whose logit is minus the one unit's.
        The weights in ``scores`` then carry that sign.
    source_names : tuple of str or None
        Names of the sources for layer 0: the columns of a DataFrame ``X``, or
        the model's ``feature_names``; None otherwise.
    model : MLP
        The model ranked, for figures (:func:`mlpinspect.plotting.plot_top_units`).

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")])
    >>> from mlpinspect import top_units
    >>> top = top_units(mlp, 1, k=2)
    >>> top.excitatory.shape, top.scores.shape
    ((2,), (6,))
    >>> top.to_dict()["kind"]
    ['excitatory', 'excitatory', 'inhibitory', 'inhibitory']
    """

    unit: int
    layer: int
    by: str
    k: int
    excitatory: np.ndarray
    excitatory_values: np.ndarray
    inhibitory: np.ndarray
    inhibitory_values: np.ndarray
    scores: np.ndarray
    unit_name: str | None = None
    n_samples: int | None = None
    sign: float = 1.0
    source_names: tuple[str, ...] | None = None
    model: MLP | None = None

    def source_label(self, source: int) -> str:
        """How to name source ``source``: its feature name, or its index."""
        n = len(self.scores) if self.source_names is None else len(self.source_names)
        source = check_int(source, "source", minimum=0, maximum=n - 1)
        if self.source_names is not None:
            return self.source_names[source]
        return str(source)

    def to_dict(self) -> dict[str, list[Any]]:
        """The two lists as one tidy table (column name -> list), e.g. for
        ``pandas.DataFrame(result.to_dict())``."""
        k = self.k
        return {
            "kind": ["excitatory"] * k + ["inhibitory"] * k,
            "rank": list(range(1, k + 1)) * 2,
            "source": [int(i) for i in (*self.excitatory, *self.inhibitory)],
            "source_name": [
                self.source_label(i) for i in (*self.excitatory, *self.inhibitory)
            ],
            "value": [
                float(v) for v in (*self.excitatory_values, *self.inhibitory_values)
            ],
        }

    def _title(self) -> str:
        name = f" ({self.unit_name!r})" if self.unit_name is not None else ""
        data = f" over {self.n_samples} samples" if self.n_samples is not None else ""
        return (
            f"Top {self.k} sources of unit {self.unit}{name} in layer {self.layer}, "
            f"by {self.by}{data}"
        )

    def __repr__(self) -> str:
        return (
            f"TopUnits(unit={self.unit}, layer={self.layer}, by={self.by!r}, "
            f"k={self.k}, excitatory={self.excitatory.tolist()}, "
            f"inhibitory={self.inhibitory.tolist()})"
        )

    def __str__(self) -> str:
        rows = [
            (
                rank + 1,
                self.source_label(e),
                f"{ev:+.4g}",
                self.source_label(i),
                f"{iv:+.4g}",
            )
            for rank, (e, ev, i, iv) in enumerate(
                zip(
                    self.excitatory,
                    self.excitatory_values,
                    self.inhibitory,
                    self.inhibitory_values,
                    strict=True,
                )
            )
        ]
        headers = ("rank", "excitatory", "value", "inhibitory", "value")
        return self._title() + "\n" + format_table(headers, rows)


def _rank(scores: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (descending) and bottom-k (ascending) indices, ties by index."""
    # A stable sort keeps equal scores in index order; negating the scores
    # gives the descending order without reversing that tie order.
    top = np.argsort(-scores, kind="stable")[:k]
    bottom = np.argsort(scores, kind="stable")[:k]
    return top, bottom


def top_units(
    model: Any,
    unit: Any,
    *,
    layer: int = -1,
    k: int = 3,
    by: str = "weight",
    X: Any = None,
    y: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> TopUnits:
    """The k most excitatory and k most inhibitory sources feeding a unit.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    unit : int, str or label
        The unit of ``layer``: its index, or on the output layer a class
        label (any kind the model's classes hold, e.g. ``"8"``). For a binary
        model the negative class ranks the one unit's sources with the sign
        flipped (its logit is minus the positive class's).
    layer : int, default -1
        Its weight layer (-1 = output layer; 0 = first layer, whose sources
        are the input pixels).
    k : int, default 3
        How many sources per list, >= 1; a ``k`` above the fan-in is clipped
        to it (not an error).
    by : {"weight", "contribution"}, default "weight"
        ``"weight"`` ranks the incoming weights ``W[unit, s]``.
        ``"contribution"`` ranks the mean contribution ``W[unit, s] * a_s``
        of each source ``s`` over the inputs ``X`` (``a_s`` is the source's
        activation), which needs ``X``.
    X : array_like or iterable of batches, optional
        Inputs, shape ``(n, n_inputs)`` or ``(n, *input_shape)`` (a
        DataFrame's columns become ``source_names`` for layer 0), or an
        iterable of ``X`` batches or ``(X_batch, y_batch)`` pairs; required
        for ``by="contribution"``, ignored otherwise.
    y : array_like, shape (n,), optional
        Labels for an array ``X``, of any kind the model's classes hold
        (strings such as ``"8"``, integers, booleans; a 0/1 indicator matrix
        for a multilabel model). With ``by="contribution"`` on the output
        layer, only the examples of the ranked class are averaged (for the
        negative class of a binary model, its own examples): what the unit
        uses to recognise its class. A stream of ``(X_batch, y_batch)`` pairs
        does the same with ``y`` None.
    chunk_size : int, default 1000
        Rows processed at a time when ``X`` is an array.

    Returns
    -------
    TopUnits
        ``excitatory`` / ``inhibitory`` index arrays with ``excitatory_values``
        / ``inhibitory_values`` beside them, plus ``unit``, ``layer``, ``by``,
        ``k`` and every source's score in ``scores``.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer`` or ``unit`` (an unknown label is named), ``k <
        1``, an unknown ``by``, ``by="contribution"`` without ``X``, labels
        for a hidden layer, a class with no examples, or inputs of the wrong
        shape or with NaN.
    NumericalError
        When the unit's layer overflows on ``X`` although the model and the
        inputs are finite; the message names the layer.

    Notes
    -----
    **The two lists.** ``excitatory`` holds the ``k`` highest scores and
    ``inhibitory`` the ``k`` lowest, whatever their sign: a unit with fewer
    than ``k`` positive weights still gets ``k`` "excitatory" entries, the
    last ones with values <= 0 (check ``excitatory_values > 0`` if only true
    excitation is wanted). Ties are broken by the lower source index.

    **Why the two rankings differ.** A weight says how strongly the unit
    would respond to a source *if the source were active*; the contribution
    ``W[unit, s] * a_s`` is what the source actually adds to the unit's
    pre-activation on real inputs, and the pre-activation is exactly the sum
    of the contributions plus the bias (see :func:`decompose`). The ranking
    by weight therefore overrates a source that is rarely active (a sigmoid
    or ReLU hidden unit near 0 on the data, a border pixel that is always
    black): a large weight times zero contributes nothing. It underrates a
    moderately weighted source that is strongly active on every input. And
    when sources can be negative (tanh, identity, centred inputs) a negative
    weight times a negative activation excites the unit, so the sign of a
    contribution can differ from the sign of its weight. The contribution
    ranking is what the unit uses on the data given; the weight ranking is
    what the study (and a weight image) shows.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           class_names=["a", "b", "c"])
    >>> top = top_units(mlp, "b", k=2)
    >>> top.excitatory.shape, top.unit
    ((2,), 1)
    >>> bool(top.excitatory_values[0] == mlp.layers[-1].weight[1].max())
    True
    >>> X = rng.random((20, 16))
    >>> top_units(mlp, 1, by="contribution", X=X).n_samples
    20
    >>> y = np.array(["a", "b", "c"] * 6 + ["b", "b"])
    >>> top_units(mlp, "b", by="contribution", X=X, y=y).n_samples
    8

    The negative class of a binary model ranks its one unit's sources with
    the sign flipped:

    >>> binary = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...               Dense(rng.normal(size=(1, 6)), [0.0], "sigmoid")],
    ...              class_names=["no", "yes"])
    >>> no, yes = top_units(binary, "no"), top_units(binary, "yes")
    >>> no.sign, bool(np.all(no.scores == -yes.scores))
    (-1.0, True)
    >>> no.excitatory.tolist() == yes.inhibitory.tolist()
    True
    """
    mlp = adapt(model).check_finite()
    index = resolve_layer(mlp, layer)
    sign = 1.0
    if index == len(mlp.layers) - 1:
        unit_index, sign = resolve_class(mlp, unit, "unit")
    else:
        unit_index = resolve_unit(mlp, index, unit)
    k = check_int(k, "k", minimum=1)
    by = check_choice(by, "by", _BY)
    weight = sign * np.asarray(mlp.layers[index].weight[unit_index], dtype=np.float64)
    k = min(k, weight.shape[0])
    n_samples = None
    names = None
    if by == "weight":
        scores = weight
    else:
        if X is None:
            raise InvalidParameterError(
                '`X` is required for by="contribution" (the inputs to average '
                "contributions over); got None"
            )
        mean_source, n_samples, names = _mean_source(
            mlp, index, unit_index, sign, X, y, chunk_size
        )
        with np.errstate(over="ignore", invalid="ignore"):
            scores = weight * mean_source
        check_finite_values(scores, mlp, index, "the mean contributions to its units")
    top, bottom = _rank(scores, k)
    unit_name = mlp.unit_name(index, unit_index)
    if sign < 0:  # the negative class of a binary model
        unit_name = mlp.class_label(0)
    source_names = mlp.feature_names if index == 0 else None
    if index == 0 and names is not None:
        source_names = names
    return TopUnits(
        unit=unit_index,
        layer=index,
        by=by,
        k=k,
        excitatory=frozen(top.astype(np.intp)),
        excitatory_values=frozen(scores[top]),
        inhibitory=frozen(bottom.astype(np.intp)),
        inhibitory_values=frozen(scores[bottom]),
        scores=frozen(scores),
        unit_name=unit_name,
        n_samples=n_samples,
        sign=sign,
        source_names=source_names,
        model=mlp,
    )


def _own_class(mlp: MLP, unit: int, sign: float, yb: np.ndarray) -> np.ndarray:
    """Which rows of the encoded labels ``yb`` belong to the class ranked."""
    if mlp.task == "multilabel":
        return yb[:, unit] == 1
    if mlp.task == "binary":
        return yb == (1 if sign > 0 else 0)
    return yb == unit


def _mean_source(
    mlp: MLP, layer: int, unit: int, sign: float, X: Any, y: Any, chunk_size: int
) -> tuple[np.ndarray, int, tuple[str, ...] | None]:
    """Mean activation of the sources of ``layer`` over ``X`` (or over the
    examples of the ranked class when ``y`` is given), the sample count, and
    the inputs' feature names (a DataFrame's columns or the model's).

    The layer itself runs too, as the model runs it: contributions to a unit
    whose pre-activation overflows are refused with a NumericalError naming
    the layer.
    """
    if y is not None and layer != len(mlp.layers) - 1:
        raise InvalidParameterError(
            f"`y` selects the examples of an output unit's class, so it needs the "
            f"output layer ({len(mlp.layers) - 1}); got layer {layer}"
        )
    total = np.zeros(mlp.layers[layer].n_in)
    count = 0
    batches = iter_batches(mlp, X, y, chunk_size=chunk_size, labels=y is not None)
    for xb, yb in batches:
        if yb is not None:
            xb = xb[_own_class(mlp, unit, sign, yb)]
            if xb.shape[0] == 0:
                continue
        a = xb if layer == 0 else mlp.propagate(xb, stop=layer - 1, keep=False)
        mlp.propagate(a, start=layer, stop=layer, keep=False)  # overflow check
        with np.errstate(over="ignore", invalid="ignore"):
            total += a.sum(axis=0, dtype=np.float64)
        count += xb.shape[0]
    if count == 0:
        ranked = mlp.unit_label(layer, unit)
        if sign < 0:
            ranked = f"{mlp.class_label(0)!r} (the negative class: minus unit {unit})"
        raise InvalidParameterError(
            f"`y` must contain examples of the class of {ranked} to average over; "
            f"got none"
        )
    check_finite_values(total, mlp, layer, "the summed activations feeding it")
    return total / count, count, batches.feature_names
