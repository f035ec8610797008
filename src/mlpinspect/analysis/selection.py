"""Top-k excitatory and inhibitory connections of a unit."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_choice, check_int
from ..adapters import adapt
from ..errors import InvalidParameterError
from ._batches import (
    DEFAULT_BATCH_SIZE,
    format_table,
    frozen,
    iter_batches,
    resolve_unit,
    sources_of,
    unit_label,
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
        The class name of an output unit, when the model has them.
    n_samples : int or None
        Number of samples averaged over for ``by="contribution"``.

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

    def to_dict(self) -> dict[str, list[Any]]:
        """The two lists as one tidy table (column name -> list), e.g. for
        ``pandas.DataFrame(result.to_dict())``."""
        k = self.k
        return {
            "kind": ["excitatory"] * k + ["inhibitory"] * k,
            "rank": list(range(1, k + 1)) * 2,
            "source": [int(i) for i in (*self.excitatory, *self.inhibitory)],
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
            (rank + 1, int(e), f"{ev:+.4g}", int(i), f"{iv:+.4g}")
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
    unit: int | str,
    *,
    layer: int = -1,
    k: int = 3,
    by: str = "weight",
    X: Any = None,
    y: Any = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> TopUnits:
    """The k most excitatory and k most inhibitory sources feeding a unit.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    unit : int or str
        The unit of ``layer`` (an index, or a class name for the output layer
        of a model with ``class_names``).
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
        Inputs, shape ``(n, n_inputs)`` or ``(n, *input_shape)``, or an
        iterable of ``X`` batches or ``(X_batch, y_batch)`` pairs (whose
        labels are ignored); required for ``by="contribution"``, ignored
        otherwise.
    y : array_like of int, shape (n,), optional
        Labels for an array ``X``. With ``by="contribution"`` on the output
        layer, only the examples of the unit's own class (``y == unit``) are
        averaged: what the unit uses to recognise its class. To do the same
        with a stream of batches, filter the stream.
    batch_size : int, default 1000
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
        For a bad ``layer`` or ``unit``, ``k < 1``, an unknown ``by``,
        ``by="contribution"`` without ``X``, labels for a hidden layer, a
        class with no examples, or inputs of the wrong shape or with NaN.

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
    """
    mlp = adapt(model).check_finite()
    index = mlp.layer_index(layer)
    unit_index = resolve_unit(mlp, index, unit)
    k = check_int(k, "k", minimum=1)
    by = check_choice(by, "by", _BY)
    weight = mlp.layers[index].weight[unit_index]
    k = min(k, weight.shape[0])
    n_samples = None
    if by == "weight":
        scores = np.array(weight, dtype=np.float64)
    else:
        if X is None:
            raise InvalidParameterError(
                '`X` is required for by="contribution" (the inputs to average '
                "contributions over); got None"
            )
        mean_source, n_samples = _mean_source(mlp, index, unit_index, X, y, batch_size)
        scores = weight * mean_source
    top, bottom = _rank(scores, k)
    names = mlp.class_names
    unit_name = names[unit_index] if names and index == len(mlp.layers) - 1 else None
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
    )


def _mean_source(
    mlp: Any, layer: int, unit: int, X: Any, y: Any, batch_size: int
) -> tuple[np.ndarray, int]:
    """Mean activation of the sources of ``layer`` over ``X`` (or over the
    examples labelled ``unit`` when ``y`` is given), with the sample count."""
    if y is not None and layer != len(mlp.layers) - 1:
        raise InvalidParameterError(
            f"`y` selects the examples of an output unit's class, so it needs the "
            f"output layer ({len(mlp.layers) - 1}); got layer {layer}"
        )
    total = np.zeros(mlp.layers[layer].n_in)
    count = 0
    batches = iter_batches(mlp, X, y, batch_size=batch_size, labels=y is not None)
    for xb, yb in batches:
        if yb is not None:
            xb = xb[yb == unit]
            if xb.shape[0] == 0:
                continue
        total += sources_of(mlp, xb, layer).sum(axis=0)
        count += xb.shape[0]
    if count == 0:
        raise InvalidParameterError(
            f"`y` must contain examples of class {unit} "
            f"({unit_label(mlp, layer, unit)}) to average over; got none"
        )
    return total / count, count
