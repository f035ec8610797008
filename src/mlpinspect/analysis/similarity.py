"""Representation similarity: do two networks (or two layers) compute the same thing?

- :func:`cka`, :func:`linear_cka`, :func:`cka_matrix`: linear centred kernel
  alignment (Kornblith et al. 2019) between layers of models on the same
  inputs, computed in feature space in one pass (``O(n d^2)`` time,
  ``O(d^2)`` memory, never an ``n x n`` Gram matrix), with the biased
  estimator, the unbiased one (Song et al. 2012's HSIC estimator over the
  whole data) or the unbiased mini-batch one (Nguyen, Raghu and Kornblith
  2021);
- :func:`match_units`: pair the units of two models one to one by the
  correlation of their activations (Li et al. 2016, "Convergent learning"),
  with an optimal assignment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    _describe,
    check_array,
    check_choice,
    check_chunk_size,
    check_float,
    is_integer,
    resolve_layer,
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
from ._streaming import Moments, constant_columns, few_threads

__all__ = [
    "ESTIMATORS",
    "CKAMatrix",
    "UnitMatching",
    "cka",
    "cka_matrix",
    "linear_cka",
    "match_units",
]

ESTIMATORS = ("biased", "unbiased", "minibatch")
"""The CKA estimators (see :func:`linear_cka`)."""

_STAGES = ("pre", "post")
_MIN_BATCH = 4  # the unbiased HSIC divides by n - 3


# -- the estimators, from streamed sums ------------------------------------------------


class _CKAState:
    """Streamed sums for the CKA of every pair of ``len(sizes)`` representations.

    Global moments are always kept (the biased and unbiased estimators, and
    telling a constant representation); the minibatch estimator also sums
    each batch's unbiased HSIC.
    """

    def __init__(self, sizes: Sequence[int], estimator: str) -> None:
        self.sizes = tuple(sizes)
        self.estimator = estimator
        self.moments = Moments(sizes, norms=estimator == "unbiased")
        self.batch_hsic = np.zeros((len(sizes), len(sizes)))
        self.n_batches = 0

    def add(self, blocks: Sequence[np.ndarray]) -> None:
        self.moments.add(blocks)
        if self.estimator == "minibatch":
            batch = Moments(self.sizes, norms=True, shift=self.moments.shift)
            batch.add(blocks)
            self.batch_hsic += batch.hsic_unbiased()
            self.n_batches += 1

    @property
    def n(self) -> int:
        return self.moments.n

    def hsic(self) -> np.ndarray:
        if self.estimator == "biased":
            return self.moments.hsic_biased()
        if self.n < _MIN_BATCH:
            raise InvalidParameterError(
                f"estimator={self.estimator!r} needs at least {_MIN_BATCH} samples "
                f"(the unbiased HSIC divides by n - 3); got {self.n}"
            )
        if self.estimator == "unbiased":
            return self.moments.hsic_unbiased()
        return self.batch_hsic / self.n_batches

    def cka(self) -> np.ndarray:
        """The CKA of every pair, shape (R, R); NaN where a representation is
        constant (CKA is 0/0 there)."""
        hsic = self.hsic()
        variance = self.moments.variance()
        constant_column = constant_columns(variance, self.moments.mean())
        blocks = [self.moments.block(r) for r in range(len(self.sizes))]
        constant = np.array([bool(np.all(constant_column[b])) for b in blocks])
        self_terms = np.diag(hsic).copy()
        constant |= self_terms <= 0.0
        scale = np.sqrt(np.where(constant, np.nan, self_terms))
        with np.errstate(invalid="ignore", divide="ignore"):
            return hsic / np.outer(scale, scale)


def _joined(
    batches: Iterable[list[np.ndarray]], estimator: str
) -> Iterable[list[np.ndarray]]:
    """For the minibatch estimator, join a batch of fewer than 4 rows to its
    neighbour (the one before it, or the next for the first batch); other
    estimators take the batches as they come."""
    if estimator != "minibatch":
        yield from batches
        return
    pending: list[np.ndarray] | None = None
    for blocks in batches:
        if pending is None:
            pending = blocks
        elif pending[0].shape[0] < _MIN_BATCH or blocks[0].shape[0] < _MIN_BATCH:
            pending = [np.concatenate(pair) for pair in zip(pending, blocks)]
        else:
            yield pending
            pending = blocks
    if pending is not None:
        yield pending


# -- CKA on activations ----------------------------------------------------------------


def _check_estimator(estimator: Any, chunk_size: int) -> str:
    estimator = check_choice(estimator, "estimator", ESTIMATORS)
    if estimator == "minibatch" and chunk_size < _MIN_BATCH:
        raise InvalidParameterError(
            f'`chunk_size` must be >= {_MIN_BATCH} for estimator="minibatch" (the '
            f"unbiased HSIC of each minibatch divides by n - 3); got {chunk_size}"
        )
    return estimator


def linear_cka(
    A: Any,
    B: Any = None,
    *,
    estimator: str = "biased",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> float:
    """Linear CKA between two sets of activations of the same inputs.

    Parameters
    ----------
    A : array_like, shape (n, p), or iterable of (A_batch, B_batch) pairs
        The first representation: row ``i`` is the activation vector of
        input ``i``. Or, with ``B`` None, an iterable of pairs of batches of
        both representations (read once).
    B : array_like, shape (n, q)
        The second representation of the same ``n`` inputs (``q`` may differ
        from ``p``).
    estimator : {"biased", "unbiased", "minibatch"}, default "biased"
        ``"biased"``: Kornblith et al. (2019)'s linear CKA,
        ``||Bc' Ac||_F^2 / (||Ac' Ac||_F ||Bc' Bc||_F)`` with ``Ac``, ``Bc``
        the column-centred activations. ``"unbiased"``: the same ratio of the
        unbiased HSIC estimator (Song et al. 2012) over all the data
        (the "debiased" CKA; less inflated for few inputs or many features;
        may leave [0, 1] slightly). ``"minibatch"``: Nguyen, Raghu and
        Kornblith (2021)'s estimator, the mean unbiased HSIC over minibatches
        of ``chunk_size`` rows (or the stream's batches) put into the ratio.
    chunk_size : int, default 1000
        Rows per batch for arrays: the minibatch size of ``"minibatch"``
        (>= 4). For that estimator a batch of fewer than 4 rows (a remainder,
        or a stream's short batch) joins the batch before it.

    Returns
    -------
    float
        The CKA: 1 for representations that are the same up to rotation,
        reflection, translation and isotropic scaling; NaN when either is
        constant over the inputs (0/0), or, for the unbiased estimators,
        when the estimate of either one's HSIC with itself is not positive
        (which happens only on tiny or degenerate data).

    Raises
    ------
    InvalidParameterError
        For arrays that are not 2-D, hold NaN or infinities, or have
        different numbers of rows; an unknown ``estimator``; fewer than 4
        rows in all for the unbiased estimators.

    Notes
    -----
    Everything is computed from streamed sums in float64: the sum of the
    rows and the sum of their outer products, about a provisional mean
    (the first batch's), centred at the end; ``O(n (p + q)^2)`` time and
    ``O((p + q)^2)`` memory whatever ``n``. The Gram-matrix formula
    ``tr(K H L H)`` with ``K = A A'`` gives the same number with
    ``O(n^2)`` memory (``||Bc' Ac||_F^2 = tr(Ac Ac' Bc Bc')``). The unbiased
    estimators use the same identity on the kernels with their diagonals
    removed, also in feature space (see the module's sums).

    **Caveats.** CKA compares representations up to rotation and scale, not
    unit by unit (:func:`match_units` does that); a few high-variance
    directions dominate it, so two layers can score high while most of
    their units differ; and random networks on the same inputs already score
    well above 0, so compare against an untrained baseline.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> A = rng.normal(size=(500, 10))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(10, 10)))  # a rotation
    >>> round(linear_cka(A, 3.0 * A @ Q + 1.0), 12)
    1.0
    >>> float(linear_cka(A, rng.normal(size=(500, 5)))) < 0.05
    True
    >>> pairs = [(A[i:i + 100], A[i:i + 100] ** 2) for i in range(0, 500, 100)]
    >>> bool(np.isclose(linear_cka(pairs), linear_cka(A, A ** 2)))
    True
    """
    chunk_size = check_chunk_size(chunk_size)
    estimator = _check_estimator(estimator, chunk_size)
    if B is not None:
        A_arr = _activations(A, "A")
        B_arr = _activations(B, "B")
        if A_arr.shape[0] != B_arr.shape[0]:
            raise InvalidParameterError(
                f"`A` and `B` must hold the same inputs (the same number of rows); "
                f"got {A_arr.shape[0]} and {B_arr.shape[0]}"
            )
        sizes = (A_arr.shape[1], B_arr.shape[1])
        batches: Iterable[list[np.ndarray]] = (
            [A_arr[i : i + chunk_size], B_arr[i : i + chunk_size]]
            for i in range(0, A_arr.shape[0], chunk_size)
        )
    else:
        if not isinstance(A, Iterable) or isinstance(A, (str, bytes, np.ndarray)):
            raise InvalidParameterError(
                f"`B` is required unless `A` is an iterable of (A_batch, B_batch) "
                f"pairs; got {_describe(A)}"
            )
        sizes = None
        batches = _activation_pairs(A)
    state: _CKAState | None = None
    width = sum(sizes) if sizes else 0
    with few_threads(width):
        for blocks in _joined(batches, estimator):
            if state is None:
                state = _CKAState(sizes or [b.shape[1] for b in blocks], estimator)
            if blocks[0].shape[0]:
                state.add(blocks)
    if state is None or state.n == 0:
        raise InvalidParameterError("`A` must not be empty; got no rows")
    return float(state.cka()[0, 1])


def _activation_pairs(pairs: Iterable[Any]) -> Iterable[list[np.ndarray]]:
    """Checked ``[A_batch, B_batch]`` from an iterable of pairs."""
    sizes = None
    for i, item in enumerate(pairs):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise InvalidParameterError(
                f"`A` batch {i} must be an (A_batch, B_batch) pair; got "
                f"{_describe(item)}"
            )
        a = _activations(item[0], f"A (batch {i})")
        b = _activations(item[1], f"B (batch {i})")
        if a.shape[0] != b.shape[0]:
            raise InvalidParameterError(
                f"batch {i} must hold the same inputs in both representations; "
                f"got {a.shape[0]} and {b.shape[0]} rows"
            )
        if sizes is None:
            sizes = (a.shape[1], b.shape[1])
        elif (a.shape[1], b.shape[1]) != sizes:
            raise InvalidParameterError(
                f"batch {i} has {a.shape[1]} and {b.shape[1]} features; the "
                f"batches before it had {sizes[0]} and {sizes[1]}"
            )
        yield [a, b]


def _activations(values: Any, name: str) -> np.ndarray:
    return check_array(values, name, ndim=2, dtype=None, allow_empty=True)


# -- CKA between layers of models ------------------------------------------------------


def _representations(
    mlps: Sequence[MLP], layers: Sequence[Sequence[int]], xb: np.ndarray, stage: str
) -> list[np.ndarray]:
    """The activations at ``stage`` of every (model, layer) requested, for
    one batch: one forward pass per model."""
    blocks = []
    for mlp, wanted in zip(mlps, layers):
        trace = mlp.propagate(xb, stop=max(wanted))
        for layer in wanted:
            blocks.append(trace.stage(layer, stage))  # type: ignore[union-attr]
    return blocks


def _same_inputs(mlps: Sequence[MLP], names: Sequence[str]) -> None:
    first = mlps[0]
    for mlp, name in zip(mlps[1:], names[1:]):
        if mlp.n_inputs != first.n_inputs:
            raise InvalidParameterError(
                f"`{name}` must take the same inputs as the first model "
                f"({first.n_inputs} features); it takes {mlp.n_inputs}"
            )


def _stream_cka(
    mlps: Sequence[MLP],
    layers: Sequence[Sequence[int]],
    X: Any,
    stage: str,
    estimator: str,
    chunk_size: int,
) -> _CKAState:
    """One pass over ``X``: the CKA sums of every requested representation."""
    sizes = [mlp.layers[layer].n_out for mlp, ls in zip(mlps, layers) for layer in ls]
    state = _CKAState(sizes, estimator)
    batches = iter_batches(mlps[0], X, chunk_size=chunk_size)
    representations = (_representations(mlps, layers, xb, stage) for xb, _ in batches)
    with few_threads(sum(sizes)):
        for blocks in _joined(representations, estimator):
            state.add(blocks)
    check_finite_values(
        state.moments.cross, mlps[0], layers[0][0],
        "the summed products of the compared activations",
    )  # fmt: skip
    return state


def cka(
    model: Any,
    other: Any,
    X: Any,
    *,
    layer: int = 0,
    other_layer: int | None = None,
    stage: str = "post",
    estimator: str = "biased",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> float:
    """Linear CKA between a layer of one model and a layer of another, on the
    same inputs.

    Parameters
    ----------
    model, other : MLP or anything :func:`mlpinspect.adapt` accepts
        The two networks (the same one twice compares two of its layers).
        Both must take the same inputs.
    X : array_like or iterable of batches
        Inputs, shape ``(n, n_inputs)`` or ``(n, *input_shape)``, or an
        iterable of batches (``X_batch`` or ``(X_batch, y_batch)``; labels
        are ignored).
    layer : int, default 0
        The weight layer of ``model`` whose units are compared (0: the first
        hidden layer; -1: the output layer).
    other_layer : int, optional
        The layer of ``other``; default ``layer``.
    stage : {"post", "pre"}, default "post"
        Compare the layers' outputs or their pre-activations.
    estimator : {"biased", "unbiased", "minibatch"}, default "biased"
        See :func:`linear_cka`.
    chunk_size : int, default 1000
        Rows per batch for an array ``X`` (the minibatch size of
        ``"minibatch"``).

    Returns
    -------
    float
        The linear CKA, NaN when either layer is constant on ``X``.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer``, ``stage`` or ``estimator``, models that take
        different inputs, or inputs of the wrong shape or with NaN.
    NumericalError
        When a layer overflows although the models and inputs are finite.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> def net(seed):
    ...     r = np.random.default_rng(seed)
    ...     return MLP([Dense(r.normal(size=(8, 16)), np.zeros(8), "relu"),
    ...                 Dense(r.normal(size=(3, 8)), np.zeros(3), "softmax")])
    >>> a, b, X = net(1), net(2), rng.random((300, 16))
    >>> round(cka(a, a, X), 12)
    1.0
    >>> 0.0 < cka(a, b, X) < 1.0
    True
    >>> 0.0 < cka(a, a, X, layer=0, other_layer=-1) < 1.0  # two layers of one model
    True
    """
    chunk_size = check_chunk_size(chunk_size)
    estimator = _check_estimator(estimator, chunk_size)
    stage = check_choice(stage, "stage", _STAGES)
    first = adapt(model).check_finite()
    second = adapt(other).check_finite()
    _same_inputs([first, second], ["model", "other"])
    mine = resolve_layer(first, layer)
    theirs = resolve_layer(
        second, layer if other_layer is None else other_layer, "other_layer"
    )
    if first is second:
        state = _stream_cka([first], [[mine, theirs]], X, stage, estimator, chunk_size)
    else:
        state = _stream_cka(
            [first, second], [[mine], [theirs]], X, stage, estimator, chunk_size
        )
    return float(state.cka()[0, 1])


@dataclass(frozen=True, eq=False)
class CKAMatrix:
    """Linear CKA between every pair of representations of several models.

    Attributes
    ----------
    values : numpy.ndarray, shape (R, R)
        ``values[i, j]``: the CKA of representations ``i`` and ``j``;
        symmetric, 1 on the diagonal (NaN for a constant representation).
    labels : tuple of str
        One per representation, e.g. ``"seed 1, layer 0"``.
    model_names : tuple of str
        The models' names, in order.
    model_index : numpy.ndarray of int, shape (R,)
        Which model each representation belongs to.
    layer_index : numpy.ndarray of int, shape (R,)
        Its (non-negative) weight layer.
    stage : {"pre", "post"}
    estimator : {"biased", "unbiased", "minibatch"}
    n_samples : int
        Inputs compared.
    n_layers : tuple of int
        Weight layers of each model (negative layers in :meth:`get` count
        from them).

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, cka_matrix
    >>> rng = np.random.default_rng(0)
    >>> nets = {f"seed {s}": MLP([
    ...     Dense(rng.normal(size=(6, 10)), np.zeros(6), "tanh"),
    ...     Dense(rng.normal(size=(2, 6)), np.zeros(2), "softmax")]) for s in (0, 1)}
    >>> result = cka_matrix(nets, rng.random((100, 10)), layers=[0, 1])
    >>> result.labels
    ('seed 0, layer 0', 'seed 0, layer 1', 'seed 1, layer 0', 'seed 1, layer 1')
    >>> result.values.shape, bool(np.allclose(np.diag(result.values), 1.0))
    ((4, 4), True)
    """

    values: np.ndarray
    labels: tuple[str, ...]
    model_names: tuple[str, ...]
    model_index: np.ndarray
    layer_index: np.ndarray
    stage: str
    estimator: str
    n_samples: int
    n_layers: tuple[int, ...]

    def get(self, model: int | str, other: int | str, *, layer: int = 0,
            other_layer: int | None = None) -> float:  # fmt: skip
        """The CKA between ``layer`` of ``model`` and ``other_layer`` (default
        ``layer``) of ``other``; models by position or name."""
        i = self._row(model, layer, "model", "layer")
        j = self._row(
            other, layer if other_layer is None else other_layer, "other",
            "other_layer",
        )  # fmt: skip
        return float(self.values[i, j])

    def _row(self, model: int | str, layer: int, name: str, layer_name: str) -> int:
        if isinstance(model, str):
            if model not in self.model_names:
                raise InvalidParameterError(
                    f"`{name}` must be one of the models {list(self.model_names)}; "
                    f"got {model!r}"
                )
            m = self.model_names.index(model)
        elif is_integer(model):
            if not 0 <= model < len(self.model_names):
                raise InvalidParameterError(
                    f"`{name}` must be in [0, {len(self.model_names) - 1}]; got {model}"
                )
            m = int(model)
        else:
            raise InvalidParameterError(
                f"`{name}` must be a model's name or position; got {_describe(model)}"
            )
        rows = np.flatnonzero(self.model_index == m)
        n_layers = self.n_layers[m]
        if is_integer(layer):
            resolved = int(layer) + n_layers if layer < 0 else int(layer)
            hits = rows[self.layer_index[rows] == resolved]
            if hits.size:
                return int(hits[0])
        raise InvalidParameterError(
            f"`{layer_name}` must be one of the layers compared for model "
            f"{self.model_names[m]!r} ({self.layer_index[rows].tolist()}); got "
            f"{_describe(layer)}"
        )

    def to_dict(self) -> dict[str, list[Any]]:
        """A tidy table, one row per pair of representations: ``a``, ``b``
        (labels), ``model_a``, ``layer_a``, ``model_b``, ``layer_b``,
        ``cka``."""
        R = len(self.labels)
        i, j = np.meshgrid(np.arange(R), np.arange(R), indexing="ij")
        i, j = i.ravel(), j.ravel()
        return {
            "a": [self.labels[r] for r in i],
            "b": [self.labels[r] for r in j],
            "model_a": [self.model_names[self.model_index[r]] for r in i],
            "layer_a": self.layer_index[i].tolist(),
            "model_b": [self.model_names[self.model_index[r]] for r in j],
            "layer_b": self.layer_index[j].tolist(),
            "cka": self.values[i, j].tolist(),
        }

    def __repr__(self) -> str:
        return (
            f"CKAMatrix(models={len(self.model_names)}, representations="
            f"{len(self.labels)}, estimator={self.estimator!r}, n={self.n_samples})"
        )

    def __str__(self) -> str:
        title = (
            f"Linear CKA ({self.estimator} estimator, {self.stage}-activations) "
            f"over {self.n_samples:,} inputs"
        )
        rows = [
            [label, *map(float, row)] for label, row in zip(self.labels, self.values)
        ]
        headers = ["", *(str(i) for i in range(len(self.labels)))]
        key = "\n".join(f"{i}: {label}" for i, label in enumerate(self.labels))
        return f"{title}\n{format_table(headers, rows)}\n{key}"


def _model_list(models: Any) -> tuple[list[Any], list[str]]:
    if isinstance(models, Mapping):
        names = [str(k) for k in models]
        items = list(models.values())
    elif isinstance(models, Sequence) and not isinstance(models, (str, bytes)):
        items = list(models)
        names = []
        for i, m in enumerate(items):
            name = getattr(m, "name", None)
            names.append(str(name) if isinstance(name, str) and name else f"model {i}")
    else:
        raise InvalidParameterError(
            f"`models` must be a sequence of models or a mapping of names to "
            f"models; got {_describe(models)}"
        )
    if not items:
        raise InvalidParameterError("`models` must hold at least one model; got none")
    if len(set(names)) != len(names):
        names = [f"{n} ({i})" for i, n in enumerate(names)]
    return items, names


def cka_matrix(
    models: Sequence[Any] | Mapping[str, Any],
    X: Any,
    *,
    layers: int | Sequence[int] | None = None,
    stage: str = "post",
    estimator: str = "biased",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> CKAMatrix:
    """Linear CKA between every pair of layers of several models, in one pass.

    Parameters
    ----------
    models : sequence of models, or mapping of name to model
        The networks (e.g. one architecture trained from several seeds), all
        taking the same inputs. Names come from the mapping's keys, else
        each model's ``name``, else ``"model i"``.
    X : array_like or iterable of batches
        Inputs, as for :func:`cka`.
    layers : int or sequence of int, optional
        The weight layers to compare in every model (negative ones count
        from each model's end); default every layer of every model.
    stage : {"post", "pre"}, default "post"
        Compare outputs or pre-activations.
    estimator : {"biased", "unbiased", "minibatch"}, default "biased"
        See :func:`linear_cka`.
    chunk_size : int, default 1000
        Rows per batch for an array ``X``.

    Returns
    -------
    CKAMatrix
        ``values`` (R, R) with labels; draw it with
        :func:`mlpinspect.plotting.plot_cka_matrix`.

    Raises
    ------
    InvalidParameterError
        For no models, models with different inputs, a layer a model does
        not have, a bad ``stage`` or ``estimator``, or bad inputs.

    Notes
    -----
    Every representation's activations for a batch are put side by side
    (``D`` columns in all) and one ``D x D`` matrix of sums of products is
    kept, so the cost is ``O(n D^2)`` time and ``O(D^2)`` memory, with one
    forward pass per model and batch.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> a = MLP([Dense(rng.normal(size=(5, 8)), np.zeros(5), "sigmoid"),
    ...          Dense(rng.normal(size=(2, 5)), np.zeros(2), "softmax")])
    >>> b = MLP(list(a.layers), name="copy")
    >>> m = cka_matrix([a, b], rng.random((50, 8)), layers=0)
    >>> m.labels, round(m.get(0, "copy"), 6)
    (('model 0', 'copy'), 1.0)
    """
    chunk_size = check_chunk_size(chunk_size)
    estimator = _check_estimator(estimator, chunk_size)
    stage = check_choice(stage, "stage", _STAGES)
    items, names = _model_list(models)
    mlps = [adapt(m).check_finite() for m in items]
    _same_inputs(mlps, [f"models[{n!r}]" for n in names])
    wanted = _layer_lists(mlps, layers)
    state = _stream_cka(mlps, wanted, X, stage, estimator, chunk_size)
    values = state.cka()
    values = (values + values.T) / 2.0  # exactly symmetric
    finite_diag = np.isfinite(np.diag(values))
    values[np.diag_indices_from(values)] = np.where(finite_diag, 1.0, np.nan)
    one_layer = all(len(w) == 1 for w in wanted)
    labels, model_index, layer_index = [], [], []
    for m, (name, ls) in enumerate(zip(names, wanted)):
        for layer in ls:
            labels.append(name if one_layer else f"{name}, layer {layer}")
            model_index.append(m)
            layer_index.append(layer)
    return CKAMatrix(
        values=frozen(values),
        labels=tuple(labels),
        model_names=tuple(names),
        model_index=frozen(np.array(model_index, dtype=np.intp)),
        layer_index=frozen(np.array(layer_index, dtype=np.intp)),
        stage=stage,
        estimator=estimator,
        n_samples=state.n,
        n_layers=tuple(len(m.layers) for m in mlps),
    )


def _layer_lists(mlps: Sequence[MLP], layers: Any) -> list[list[int]]:
    if layers is None:
        return [list(range(len(m.layers))) for m in mlps]
    if is_integer(layers):
        layers = [layers]
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise InvalidParameterError(
            f"`layers` must be a layer index or a sequence of them; got "
            f"{_describe(layers)}"
        )
    if not layers:
        raise InvalidParameterError("`layers` must name at least one layer; got none")
    out = []
    for mlp in mlps:
        resolved = [resolve_layer(mlp, layer, "layers") for layer in layers]
        out.append(sorted(set(resolved)))
    return out


# -- unit matching ---------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class UnitMatching:
    """The units of two models paired one to one by activation correlation.

    Attributes
    ----------
    correlation : numpy.ndarray, shape (units, other_units)
        Pearson correlation of every unit of ``model`` with every unit of
        ``other`` over the inputs (NaN for a constant unit).
    pairs : numpy.ndarray of int, shape (m, 2)
        ``(unit of model, unit of other)``, ``m = min(units, other_units)``,
        from the assignment maximising the total correlation; sorted by
        correlation, highest first (NaN last).
    pair_correlation : numpy.ndarray, shape (m,)
        Each pair's correlation.
    partner : numpy.ndarray of int, shape (units,)
        The unit of ``other`` matched to each unit of ``model`` (-1 when
        ``other`` has fewer units and this one has none).
    best : numpy.ndarray, shape (units,)
        Each unit's highest correlation with any unit of ``other``, matched
        or not (a many-to-one upper bound on ``pair_correlation``).
    layer, other_layer : int
        The (non-negative) weight layers compared.
    stage : {"pre", "post"}
    n_samples : int
    names : (str, str)
        Display names of the two models.
    model, other : MLP
        The models, for figures.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, match_units
    >>> rng = np.random.default_rng(0)
    >>> a = MLP([Dense(rng.normal(size=(4, 9)), np.zeros(4), "sigmoid"),
    ...          Dense(rng.normal(size=(2, 4)), np.zeros(2), "identity")])
    >>> m = match_units(a, a, rng.random((60, 9)))
    >>> m.partner.tolist(), m.count_above(0.99)
    ([0, 1, 2, 3], 4)
    """

    correlation: np.ndarray
    pairs: np.ndarray
    pair_correlation: np.ndarray
    partner: np.ndarray
    best: np.ndarray
    layer: int
    other_layer: int
    stage: str
    n_samples: int
    names: tuple[str, str]
    model: MLP
    other: MLP

    def count_above(self, threshold: float) -> int:
        """How many units have a matched partner with correlation >= threshold.

        Examples
        --------
        >>> import numpy as np
        >>> from mlpinspect import MLP, Dense, match_units
        >>> rng = np.random.default_rng(1)
        >>> a = MLP([Dense(rng.normal(size=(3, 5)), np.zeros(3), "tanh")])
        >>> match_units(a, a, rng.random((40, 5))).count_above(0.5)
        3
        """
        threshold = check_float(threshold, "threshold", minimum=-1, maximum=1)
        with np.errstate(invalid="ignore"):
            return int(np.sum(self.pair_correlation >= threshold))

    def to_dict(self) -> dict[str, list[Any]]:
        """A tidy table, one row per pair: ``unit``, ``partner``,
        ``correlation``, ``best``."""
        units = self.pairs[:, 0]
        return {
            "unit": units.tolist(),
            "partner": self.pairs[:, 1].tolist(),
            "correlation": self.pair_correlation.tolist(),
            "best": self.best[units].tolist(),
        }

    def __repr__(self) -> str:
        return (
            f"UnitMatching({self.names[0]!r} layer {self.layer} <-> "
            f"{self.names[1]!r} layer {self.other_layer}, pairs={len(self.pairs)}, "
            f">=0.5: {self.count_above(0.5)}, >=0.8: {self.count_above(0.8)})"
        )

    def __str__(self) -> str:
        m = len(self.pairs)
        title = (
            f"Units of {self.names[0]} (layer {self.layer}) matched one to one with "
            f"{self.names[1]} (layer {self.other_layer}) by activation correlation "
            f"over {self.n_samples:,} inputs\n"
            f"partners at r >= 0.5: {self.count_above(0.5)} of {m}; at r >= 0.8: "
            f"{self.count_above(0.8)} of {m}"
        )
        rows = [
            [int(u), int(p), float(r), float(self.best[u])]
            for (u, p), r in zip(self.pairs, self.pair_correlation)
        ]
        headers = ["unit", "partner", "correlation", "best any"]
        return title + "\n" + format_table(headers, rows, max_rows=60)


def match_units(
    model: Any,
    other: Any,
    X: Any,
    *,
    layer: int = 0,
    other_layer: int | None = None,
    stage: str = "post",
    names: Sequence[str] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> UnitMatching:
    """Pair the units of two models one to one by activation correlation.

    Over the inputs ``X``, the Pearson correlation of every unit of
    ``layer`` of ``model`` with every unit of ``other_layer`` of ``other``
    is computed in one pass; the one-to-one assignment that maximises the
    sum of the correlations (:func:`scipy.optimize.linear_sum_assignment`)
    then pairs them (Li et al. 2016, "Convergent learning"). A unit whose
    partner in another seed correlates at 0.8 or more learned a feature the
    other seed learned too.

    Parameters
    ----------
    model, other : MLP or anything :func:`mlpinspect.adapt` accepts
        The two networks, taking the same inputs.
    X : array_like or iterable of batches
        Inputs, as for :func:`cka`.
    layer : int, default 0
        The weight layer of ``model`` (0: the first hidden layer).
    other_layer : int, optional
        The layer of ``other``; default ``layer``.
    stage : {"post", "pre"}, default "post"
        Correlate outputs or pre-activations.
    names : (str, str), optional
        Display names of the two models, for printing and figures; default
        their ``name`` (``"model"`` and ``"other"`` when they have none or
        the same one).
    chunk_size : int, default 1000
        Rows per batch for an array ``X``.

    Returns
    -------
    UnitMatching
        The pairs with their correlations; :meth:`UnitMatching.count_above`
        counts partners above a threshold;
        :func:`mlpinspect.plotting.plot_matched_units` draws them.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer`` or ``stage``, models with different inputs, or
        bad inputs.

    Notes
    -----
    Correlations are signed: a unit that is the negative of another is not
    its partner. A constant unit (dead, or saturated on every input) has no
    correlation (NaN); the assignment treats it as 0 and its pair reports
    NaN, counted by no threshold.

    Examples
    --------
    A network and a copy with its hidden units shuffled: the matching finds
    the shuffle.

    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> W1, W2 = rng.normal(size=(6, 12)), rng.normal(size=(3, 6))
    >>> a = MLP([Dense(W1, np.zeros(6), "sigmoid"), Dense(W2, np.zeros(3), "softmax")])
    >>> perm = rng.permutation(6)
    >>> b = MLP([Dense(W1[perm], np.zeros(6), "sigmoid"),
    ...          Dense(W2[:, perm], np.zeros(3), "softmax")])
    >>> m = match_units(a, b, rng.random((100, 12)))
    >>> bool(np.all(perm[m.partner] == np.arange(6)))
    True
    >>> m.count_above(0.999)
    6
    """
    from scipy.optimize import linear_sum_assignment

    chunk_size = check_chunk_size(chunk_size)
    stage = check_choice(stage, "stage", _STAGES)
    first = adapt(model).check_finite()
    second = adapt(other).check_finite()
    _same_inputs([first, second], ["model", "other"])
    mine = resolve_layer(first, layer)
    theirs = resolve_layer(
        second, layer if other_layer is None else other_layer, "other_layer"
    )
    state = _stream_cka(
        [first, second], [[mine], [theirs]], X, stage, "biased", chunk_size
    )
    p = first.layers[mine].n_out
    corr = state.moments.correlation()[:p, p:]
    rows, cols = linear_sum_assignment(np.nan_to_num(corr, nan=0.0), maximize=True)
    pair_r = corr[rows, cols]
    order = np.argsort(-np.nan_to_num(pair_r, nan=-np.inf), kind="stable")
    pairs = np.stack([rows[order], cols[order]], axis=1).astype(np.intp)
    partner = np.full(p, -1, dtype=np.intp)
    partner[rows] = cols
    filled = np.where(np.isnan(corr), -np.inf, corr)
    best = filled.max(axis=1)
    best[~np.isfinite(best)] = np.nan
    return UnitMatching(
        correlation=frozen(corr),
        pairs=frozen(pairs),
        pair_correlation=frozen(pair_r[order]),
        partner=frozen(partner),
        best=frozen(best),
        layer=mine,
        other_layer=theirs,
        stage=stage,
        n_samples=state.n,
        names=_pair_names(names, first, second),
        model=first,
        other=second,
    )


def _pair_names(names: Any, first: MLP, second: MLP) -> tuple[str, str]:
    if names is not None:
        if (
            isinstance(names, (str, bytes))
            or not isinstance(names, Sequence)
            or len(names) != 2
        ):
            raise InvalidParameterError(
                f"`names` must be two display names; got {_describe(names)}"
            )
        return str(names[0]), str(names[1])
    own = (first.name, second.name)
    if all(isinstance(n, str) and n for n in own) and own[0] != own[1]:
        return str(own[0]), str(own[1])
    return "model", "other"
