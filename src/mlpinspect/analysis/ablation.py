"""Knock hidden units out and measure the accuracy they cost.

Ablating a unit replaces its output (post-activation) by a constant for every
input: 0 (``mode="zero"``) or its mean over the data (``mode="mean"``), and
runs the rest of the network unchanged. Predictions are made as
:meth:`mlpinspect.MLP.predict` makes them, so every classifier works: the class
of the largest output (multiclass), the side of the threshold (binary), one
decision per label (multilabel: a row is right when all its labels are).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_choice, resolve_layer, resolve_units
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

__all__ = ["Ablation", "UnitImportance", "ablate", "unit_importance"]

_MODES = ("zero", "mean")


def _hidden_layer(mlp: MLP, layer: int) -> int:
    index = resolve_layer(mlp, layer)
    if index == len(mlp.layers) - 1:
        raise InvalidParameterError(
            f"`layer` must be a hidden layer (0 to {len(mlp.layers) - 2}): ablation "
            f"knocks out units whose outputs feed later layers; got the output "
            f"layer ({layer})"
        )
    if mlp.task not in ("multiclass", "binary", "multilabel"):
        raise InvalidParameterError(
            f"ablation measures accuracy, so it needs a classifier; the model's task "
            f"is {mlp.task!r} (compare forward() outputs with the units knocked "
            f"out instead, or adapt(model, task=...) if it is a classifier)"
        )
    return index


def _check_reiterable(mlp: MLP, X: Any, mode: str) -> None:
    _, stream = as_array_or_stream(X, "X", mlp)
    if mode == "mean" and stream is not None and iter(stream) is stream:
        raise InvalidParameterError(
            "`X` must be an array or a re-iterable collection of batches (a list, "
            "a DataLoader) for mode='mean', which needs two passes (the means, "
            "then the ablation); got a one-shot iterator"
        )


def _layer_means(mlp: MLP, X: Any, y: Any, index: int, chunk_size: int) -> np.ndarray:
    """Mean output of every unit of layer ``index`` over the data."""
    total = np.zeros(mlp.layers[index].n_out)
    n = 0
    for xb, _ in iter_batches(mlp, X, y, chunk_size=chunk_size, labels=True):
        h = mlp.propagate(xb, stop=index, keep=False)
        with np.errstate(over="ignore", invalid="ignore"):
            total += h.sum(axis=0, dtype=np.float64)
        n += xb.shape[0]
    check_finite_values(total, mlp, index, "the summed outputs of its units")
    return total / n


class _Tally:
    """Correct predictions per class and overall, for one model variant.

    Per class: the examples of the class predicted right (multiclass,
    binary), or the rows whose label ``c`` is predicted right (multilabel).
    Overall: the rows predicted right (all labels right, for multilabel).
    """

    def __init__(self, mlp: MLP, n_classes: int, shape: tuple[int, ...] = ()):
        self.multilabel = mlp.task == "multilabel"
        self.correct = np.zeros((*shape, n_classes), dtype=np.int64)
        self.hits = np.zeros(shape, dtype=np.int64)

    def add(self, decided: np.ndarray, yb: np.ndarray, at: Any = ()) -> None:
        if self.multilabel:
            right = decided == yb
            self.correct[at] += right.sum(axis=0)
            self.hits[at] += int(right.all(axis=1).sum())
            return
        hit = decided == yb
        self.correct[at] += np.bincount(yb[hit], minlength=self.correct.shape[-1])
        self.hits[at] += int(hit.sum())


def _class_counts(mlp: MLP, yb: np.ndarray, n_classes: int) -> np.ndarray:
    if mlp.task == "multilabel":
        return np.full(n_classes, yb.shape[0], dtype=np.int64)
    return np.bincount(yb, minlength=n_classes)


def _predict_from(mlp: MLP, h: np.ndarray, index: int) -> np.ndarray:
    """Decisions (class indices or a label indicator) from layer ``index``'s
    outputs ``h``."""
    return mlp._decide(mlp.propagate(h, start=index + 1, keep=False))


def _accuracy(correct: Any, counts: Any) -> float:
    total = int(np.sum(counts))
    return float(np.sum(correct) / total) if total else float("nan")


@dataclass(frozen=True, eq=False)
class Ablation:
    """Accuracy with some hidden units knocked out, against the intact model.

    Attributes
    ----------
    layer : int
        The (non-negative) hidden layer whose units were ablated.
    units : numpy.ndarray of int
        The ablated units, sorted.
    mode : {"zero", "mean"}
        What their outputs were replaced by.
    fill_values : numpy.ndarray, shape (len(units),)
        The constant each ablated unit output.
    counts : numpy.ndarray of int, shape (n_classes,)
        Examples per class (two for a binary model, negative first; for a
        multilabel model every row counts for every label).
    baseline_correct, ablated_correct : numpy.ndarray of int, shape (n_classes,)
        Correct predictions per class, intact and ablated (for a multilabel
        model: rows whose label is predicted right).
    class_names : tuple of str
        One name per class: ``str`` of the model's class labels.
    n_samples : int
        Rows evaluated.
    baseline_hits, ablated_hits : int
        Rows predicted right (every label right, for a multilabel model),
        intact and ablated; ``baseline_hits / n_samples`` is exactly
        :meth:`MLP.score <mlpinspect.MLP.score>`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")])
    >>> from mlpinspect import ablate
    >>> X, y = rng.random((40, 16)), rng.integers(0, 3, size=40)
    >>> result = ablate(mlp, X, y, units=[0, 2])
    >>> result.units.tolist(), result.per_class_accuracy.shape
    ([0, 2], (3,))
    >>> bool(np.isclose(result.drop, result.baseline_accuracy - result.accuracy))
    True
    """

    layer: int
    units: np.ndarray
    mode: str
    fill_values: np.ndarray
    counts: np.ndarray
    baseline_correct: np.ndarray
    ablated_correct: np.ndarray
    class_names: tuple[str, ...]
    n_samples: int
    baseline_hits: int
    ablated_hits: int

    @property
    def baseline_accuracy(self) -> float:
        """Overall accuracy of the intact model (as :meth:`MLP.score`)."""
        return _accuracy(self.baseline_hits, self.n_samples)

    @property
    def accuracy(self) -> float:
        """Overall accuracy with the units ablated."""
        return _accuracy(self.ablated_hits, self.n_samples)

    @property
    def drop(self) -> float:
        """``baseline_accuracy - accuracy`` (positive: the units helped)."""
        return self.baseline_accuracy - self.accuracy

    @property
    def per_class_baseline(self) -> np.ndarray:
        """Per-class accuracy of the intact model (NaN for an empty class)."""
        return nan_divide(self.baseline_correct, self.counts)

    @property
    def per_class_accuracy(self) -> np.ndarray:
        """Per-class accuracy with the units ablated (NaN for an empty class)."""
        return nan_divide(self.ablated_correct, self.counts)

    @property
    def per_class_drop(self) -> np.ndarray:
        """Per-class ``baseline - ablated`` accuracy."""
        return self.per_class_baseline - self.per_class_accuracy

    def to_dict(self) -> dict[str, list[Any]]:
        """Per-class table (column name -> list): ``class``, ``class_name``,
        ``n``, ``baseline``, ``ablated``, ``drop``."""
        return {
            "class": list(range(len(self.class_names))),
            "class_name": list(self.class_names),
            "n": self.counts.tolist(),
            "baseline": self.per_class_baseline.tolist(),
            "ablated": self.per_class_accuracy.tolist(),
            "drop": self.per_class_drop.tolist(),
        }

    def __repr__(self) -> str:
        return (
            f"Ablation(layer={self.layer}, units={self.units.tolist()}, "
            f"mode={self.mode!r}, accuracy {self.baseline_accuracy:.4f} -> "
            f"{self.accuracy:.4f})"
        )

    def __str__(self) -> str:
        rows = [
            (name, int(n), _pct(b), _pct(a), _delta(b - a))
            for name, n, b, a in zip(
                self.class_names,
                self.counts,
                self.per_class_baseline,
                self.per_class_accuracy,
                strict=True,
            )
        ]
        rows.append(
            (
                "all",
                self.n_samples,
                _pct(self.baseline_accuracy),
                _pct(self.accuracy),
                _delta(self.drop),
            )
        )
        title = (
            f"Ablation of units {self.units.tolist()} of layer {self.layer} "
            f"(mode={self.mode!r})"
        )
        headers = ("class", "n", "baseline", "ablated", "drop")
        return title + "\n" + format_table(headers, rows)


def _pct(value: float) -> str:
    return "nan" if np.isnan(value) else f"{value:.4f}"


def _delta(value: float) -> str:
    return "nan" if np.isnan(value) else f"{value:+.4f}"


def ablate(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    units: int | Sequence[int] = (),
    layer: int = 0,
    mode: str = "zero",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Ablation:
    """Per-class accuracy with some hidden units knocked out.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    X : array_like or iterable of (X_batch, y_batch) pairs
        Inputs, shape ``(n, n_inputs)`` or ``(n, *input_shape)``, with labels
        ``y``; or an iterable of pairs, e.g. a PyTorch ``DataLoader`` (then
        ``y`` is None). For ``mode="mean"`` an iterable must be re-iterable
        (two passes).
    y : array_like, shape (n,), or one-hot (n, n_classes)
        Class labels for an array ``X``, of any kind the model's classes hold
        (strings, integers, booleans; integers are class positions when the
        classes are strings); a 0/1 indicator matrix for a multilabel model.
        Unknown labels are refused by name.
    units : int or sequence of int
        The units of ``layer`` to knock out (keyword-only); empty gives the
        baseline.
    layer : int, default 0
        A hidden layer (not the output layer).
    mode : {"zero", "mean"}, default "zero"
        ``"zero"``: each ablated unit outputs 0 (as if its outgoing weights
        were zero). ``"mean"``: it outputs its mean activation over ``X``, so
        the next layer keeps the unit's average input but loses its
        variation across inputs; this separates "the unit carries
        information" from "the unit shifts the next layer's baseline".
    chunk_size : int, default 1000
        Rows per batch for an array ``X`` (bounds the memory; the result does
        not depend on it).

    Returns
    -------
    Ablation
        Per-class counts and correct predictions intact and ablated, with
        accuracy properties (``baseline_accuracy``, ``accuracy``, ``drop``,
        ``per_class_*``) and ``to_dict()``.

    Raises
    ------
    InvalidParameterError
        For the output layer or a bad layer, a model that is no classifier
        (a regressor, or one output whose task is unknown), a unit out of
        range, an unknown mode, missing, mismatched or unknown labels, or bad
        inputs.
    NumericalError
        When a layer overflows although the model and inputs are finite; the
        message names the layer.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")])
    >>> X, y = rng.random((40, 16)), rng.integers(0, 3, size=40)
    >>> result = ablate(mlp, X, y, units=[0, 2])
    >>> result.fill_values.tolist()
    [0.0, 0.0]
    >>> ablate(mlp, X, y, units=[]).drop
    0.0

    Labels of any kind; the baseline is the model's own score:

    >>> named = mlp.replace(class_names=["cat", "dog", "emu"])
    >>> labels = named.classes[y]
    >>> result = ablate(named, X, labels, units=[0, 2])
    >>> result.class_names, result.baseline_accuracy == named.score(X, labels)
    (('cat', 'dog', 'emu'), True)
    """
    mlp = adapt(model).check_finite()
    index = _hidden_layer(mlp, layer)
    unit_idx = resolve_units(mlp, index, units)
    mode = check_choice(mode, "mode", _MODES)
    _check_reiterable(mlp, X, mode)
    if mode == "mean":
        fill = _layer_means(mlp, X, y, index, chunk_size)[unit_idx]
    else:
        fill = np.zeros(unit_idx.size)
    n_classes = mlp.n_classes
    counts = np.zeros(n_classes, dtype=np.int64)
    base, ablated = _Tally(mlp, n_classes), _Tally(mlp, n_classes)
    n = 0
    for xb, yb in iter_batches(mlp, X, y, chunk_size=chunk_size, labels=True):
        h = mlp.propagate(xb, stop=index, keep=False)
        counts += _class_counts(mlp, yb, n_classes)
        n += xb.shape[0]
        base.add(_predict_from(mlp, h, index), yb)
        h = h.copy()
        h[:, unit_idx] = fill
        ablated.add(_predict_from(mlp, h, index), yb)
    return Ablation(
        layer=index,
        units=frozen(unit_idx),
        mode=mode,
        fill_values=frozen(np.asarray(fill, dtype=np.float64)),
        counts=frozen(counts),
        baseline_correct=frozen(base.correct),
        ablated_correct=frozen(ablated.correct),
        class_names=class_names_of(mlp),
        n_samples=n,
        baseline_hits=int(base.hits),
        ablated_hits=int(ablated.hits),
    )


@dataclass(frozen=True, eq=False)
class UnitImportance:
    """Every unit of a hidden layer ablated alone, ranked by the accuracy it costs.

    Attributes
    ----------
    layer : int
        The (non-negative) hidden layer.
    mode : {"zero", "mean"}
        How units were ablated (see :func:`ablate`).
    ranking : numpy.ndarray of int, shape (units,)
        Unit indices, largest accuracy drop first (ties: lower index first).
    accuracy : numpy.ndarray, shape (units,)
        Overall accuracy with unit ``j`` ablated (indexed by unit).
    drop : numpy.ndarray, shape (units,)
        ``baseline_accuracy - accuracy`` (indexed by unit).
    per_class_accuracy : numpy.ndarray, shape (units, n_classes)
        Per-class accuracy with unit ``j`` ablated.
    per_class_drop : numpy.ndarray, shape (units, n_classes)
        Per-class accuracy drop with unit ``j`` ablated.
    baseline_accuracy : float
        Accuracy of the intact model.
    per_class_baseline : numpy.ndarray, shape (n_classes,)
        Per-class accuracy of the intact model.
    counts : numpy.ndarray of int, shape (n_classes,)
        Examples per class.
    fill_values : numpy.ndarray, shape (units,)
        The constant each unit outputs when ablated.
    class_names : tuple of str
        One name per class: ``str`` of the model's class labels (two for a
        binary model, negative first).

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")])
    >>> from mlpinspect import unit_importance
    >>> X, y = rng.random((40, 16)), rng.integers(0, 3, size=40)
    >>> imp = unit_importance(mlp, X, y)
    >>> imp.accuracy.shape, imp.per_class_drop.shape
    ((6,), (6, 3))
    >>> int(imp.ranking[0]) == int(np.argmax(imp.drop))
    True
    """

    layer: int
    mode: str
    ranking: np.ndarray
    accuracy: np.ndarray
    drop: np.ndarray
    per_class_accuracy: np.ndarray
    per_class_drop: np.ndarray
    baseline_accuracy: float
    per_class_baseline: np.ndarray
    counts: np.ndarray
    fill_values: np.ndarray
    class_names: tuple[str, ...]

    def to_dict(self) -> dict[str, list[Any]]:
        """One row per unit in rank order (column name -> list): ``rank``,
        ``unit``, ``accuracy``, ``drop``, ``worst_class`` (the class losing
        most), ``worst_class_drop``."""
        worst, worst_drop = self._worst()
        order = self.ranking
        return {
            "rank": list(range(1, order.size + 1)),
            "unit": order.tolist(),
            "accuracy": self.accuracy[order].tolist(),
            "drop": self.drop[order].tolist(),
            "worst_class": [self.class_names[c] for c in worst[order]],
            "worst_class_drop": worst_drop[order].tolist(),
        }

    def _worst(self) -> tuple[np.ndarray, np.ndarray]:
        drops = np.where(np.isnan(self.per_class_drop), -np.inf, self.per_class_drop)
        worst = drops.argmax(axis=1)
        return worst, self.per_class_drop[np.arange(worst.size), worst]

    def __repr__(self) -> str:
        top = self.ranking[:5].tolist()
        return (
            f"UnitImportance(layer={self.layer}, mode={self.mode!r}, "
            f"units={self.ranking.size}, baseline={self.baseline_accuracy:.4f}, "
            f"most important={top})"
        )

    def __str__(self) -> str:
        d = self.to_dict()
        rows = [
            (rank, unit, _pct(acc), _delta(drop), worst, _delta(worst_drop))
            for rank, unit, acc, drop, worst, worst_drop in zip(
                d["rank"],
                d["unit"],
                d["accuracy"],
                d["drop"],
                d["worst_class"],
                d["worst_class_drop"],
                strict=True,
            )
        ]
        title = (
            f"Units of layer {self.layer} ablated one at a time (mode={self.mode!r}); "
            f"baseline accuracy {self.baseline_accuracy:.4f}"
        )
        headers = ("rank", "unit", "accuracy", "drop", "worst class", "its drop")
        return title + "\n" + format_table(headers, rows)


def unit_importance(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    layer: int = 0,
    mode: str = "zero",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> UnitImportance:
    """Ablate each unit of a hidden layer alone and rank units by the accuracy
    they cost.

    The network runs once up to ``layer`` per batch; then, for each unit,
    only the later layers run again, with the next layer's pre-activation
    updated for the one changed unit (a rank-one update, not a full product).

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    X : array_like or iterable of (X_batch, y_batch) pairs
        Inputs with labels ``y``, as for :func:`ablate`.
    y : array_like, shape (n,), or one-hot (n, n_classes)
        Class labels for an array ``X``, of any kind the model's classes hold
        (as for :func:`ablate`; binary and multilabel models included).
    layer : int, default 0
        A hidden layer (not the output layer).
    mode : {"zero", "mean"}, default "zero"
        As for :func:`ablate`.
    chunk_size : int, default 1000
        Rows per batch for an array ``X`` (bounds the memory).

    Returns
    -------
    UnitImportance
        ``ranking`` (largest drop first, ties by lower index), ``accuracy``,
        ``drop`` and per-class values per unit, and ``to_dict()``.

    Raises
    ------
    InvalidParameterError
        As for :func:`ablate`.

    Notes
    -----
    The pre-activation after a rank-one update can differ from a full
    recomputation in the last bits, so a prediction that is an exact tie
    (to 1e-16) may be resolved differently than by :func:`ablate`.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")])
    >>> X, y = rng.random((40, 16)), rng.integers(0, 3, size=40)
    >>> imp = unit_importance(mlp, X, y)
    >>> sorted(imp.ranking.tolist())
    [0, 1, 2, 3, 4, 5]
    >>> bool(np.all(np.diff(imp.drop[imp.ranking]) <= 0))
    True
    """
    mlp = adapt(model).check_finite()
    index = _hidden_layer(mlp, layer)
    mode = check_choice(mode, "mode", _MODES)
    _check_reiterable(mlp, X, mode)
    n_units = mlp.layers[index].n_out
    if mode == "mean":
        fill = _layer_means(mlp, X, y, index, chunk_size)
    else:
        fill = np.zeros(n_units)
    nxt = mlp.layers[index + 1]
    n_classes = mlp.n_classes
    counts = np.zeros(n_classes, dtype=np.int64)
    base, ablated = _Tally(mlp, n_classes), _Tally(mlp, n_classes, (n_units,))
    n = 0

    def decide(h: np.ndarray, z: np.ndarray) -> np.ndarray:
        # Layer index + 1 from its (updated) pre-activation z onwards; the
        # forward pass checks z, so an overflow names the layer.
        return mlp._decide(mlp.propagate(h, start=index + 1, keep=False, first_pre=z))

    for xb, yb in iter_batches(mlp, X, y, chunk_size=chunk_size, labels=True):
        h = mlp.propagate(xb, stop=index, keep=False)
        # The next layer's pre-activation, as the model computes it.
        z = mlp.propagate(h, start=index + 1, stop=index + 1).pre[0]  # type: ignore[union-attr]
        counts += _class_counts(mlp, yb, n_classes)
        n += xb.shape[0]
        base.add(decide(h, z.copy()), yb)
        for j in range(n_units):
            # Only unit j changed: z_j = z + (fill_j - h_j) * W_next[:, j].
            with np.errstate(over="ignore", invalid="ignore"):
                zj = z + np.multiply.outer(fill[j] - h[:, j], nxt.weight[:, j])
            ablated.add(decide(h, zj), yb, j)
    accuracy = ablated.hits / n
    baseline = base.hits / n
    per_class_base = nan_divide(base.correct, counts)
    per_class = nan_divide(ablated.correct, counts[None, :])
    # Rank by rows right (integers): exact ties, then lower index first.
    ranking = np.argsort(ablated.hits, kind="stable")
    return UnitImportance(
        layer=index,
        mode=mode,
        ranking=frozen(ranking),
        accuracy=frozen(accuracy),
        drop=frozen(baseline - accuracy),
        per_class_accuracy=frozen(per_class),
        per_class_drop=frozen(per_class_base[None, :] - per_class),
        baseline_accuracy=float(baseline),
        per_class_baseline=frozen(per_class_base),
        counts=frozen(counts),
        fill_values=frozen(np.asarray(fill, dtype=np.float64)),
        class_names=class_names_of(mlp),
    )
