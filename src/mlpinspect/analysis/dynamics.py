"""Training dynamics: how each unit becomes what it is, snapshot by snapshot.

:func:`unit_dynamics` measures every unit of a layer at every snapshot of a
training (:class:`~mlpinspect.Snapshots`):

- how far it has moved from its initial weights: the cosine similarity and
  the relative change ``||w - w0|| / ||w0||``, the definitions of
  :func:`~mlpinspect.drift_from_init`;
- how close it already is to its final weights (cosine similarity);
- how smooth its weight image is: the neighbour correlation of
  :func:`~mlpinspect.smoothness`;
- when it *forms*: the first snapshot from which its cosine similarity to its
  final weights stays at or above a threshold until the end;

beside the cost and accuracy recorded with the snapshots. Units are followed
by their index (a unit of a network keeps its index while it trains) or, for
snapshots whose unit order may differ, matched to the final network's units
by weight correlation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_choice, check_float, resolve_layer, resolve_units
from ..errors import InvalidParameterError
from ..mlp import MLP
from ._batches import format_table, frozen, nan_divide, nan_mean, nan_median
from .images import weight_images
from .metrics import drift_rows, neighbour_correlation
from .snapshots import Snapshots

__all__ = ["MATCHES", "QUANTITIES", "UnitDynamics", "unit_dynamics"]

MATCHES = ("index", "correlation")
"""How units are followed from snapshot to snapshot (see :func:`unit_dynamics`)."""

QUANTITIES = (
    "cosine_to_init",
    "relative_change",
    "cosine_to_final",
    "smoothness",
    "match_correlation",
)
"""The per-unit, per-snapshot arrays of a :class:`UnitDynamics`."""


@dataclass(frozen=True, eq=False)
class UnitDynamics:
    """Per unit and per snapshot: drift, similarity to the end, smoothness.

    Rows are snapshots (``n``), columns the units followed (``k``); unit
    ``units[j]`` is the final network's.

    Attributes
    ----------
    layer : int
        The (non-negative) weight layer.
    units : numpy.ndarray of int, shape (k,)
        The final network's units, in the order of the columns.
    times : numpy.ndarray, shape (n,)
        The snapshots' epochs (or steps, see ``time_label``).
    time_label : str
        ``"epoch"`` or ``"step"``.
    cosine_to_init, relative_change : numpy.ndarray, shape (n, k)
        The unit's drift from its initial weights (the first snapshot), as
        :func:`~mlpinspect.drift_from_init` defines it; 1 and 0 at the start.
    cosine_to_final : numpy.ndarray, shape (n, k)
        Cosine similarity between the unit's weights and its final weights;
        1 at the end.
    smoothness : numpy.ndarray, shape (n, k)
        The neighbour correlation of the unit's weight image (the statistic
        of :func:`~mlpinspect.smoothness`; about 0 for noise, near 1 for a
        smooth image; NaN for a constant image).
    match : str
        How units were followed: ``"index"`` or ``"correlation"``.
    trajectory : numpy.ndarray of int, shape (n, k)
        ``trajectory[s, j]``: the unit of snapshot ``s`` that column ``j``
        follows (``units[j]`` on every row with ``match="index"``).
    match_correlation : numpy.ndarray, shape (n, k)
        Pearson correlation between that unit's weights and the final
        unit's.
    threshold : float
        The similarity to the final weights at which a unit counts as formed.
    formed_index : numpy.ndarray of int, shape (k,)
        The first snapshot from which ``cosine_to_final`` stays at or above
        ``threshold`` to the end; -1 when it never does (NaN weights).
    formed_at : numpy.ndarray, shape (k,)
        ``times[formed_index]`` (NaN for -1).
    metrics : dict of str to numpy.ndarray, shape (n,)
        Numbers known at each snapshot (cost, accuracy, ...; NaN where not),
        from the snapshots and, when ``X`` was given, ``"accuracy"``.
    image_shape : tuple of int
        ``(H, W)`` of the weight images whose smoothness was measured.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, Snapshots, unit_dynamics
    >>> rng = np.random.default_rng(0)
    >>> start, end = rng.normal(size=(2, 3, 16))
    >>> models = [MLP([Dense((1 - t) * start + t * end, np.zeros(3))],
    ...               input_shape=(4, 4)) for t in (0.0, 0.5, 0.9, 1.0)]
    >>> dyn = unit_dynamics(Snapshots.from_models(models), threshold=0.95)
    >>> dyn.cosine_to_init.shape, dyn.formed_at.shape
    ((4, 3), (3,))
    >>> dyn.cosine_to_final[-1].round(6).tolist()
    [1.0, 1.0, 1.0]
    """

    layer: int
    units: np.ndarray
    times: np.ndarray
    time_label: str
    cosine_to_init: np.ndarray
    relative_change: np.ndarray
    cosine_to_final: np.ndarray
    smoothness: np.ndarray
    match: str
    trajectory: np.ndarray
    match_correlation: np.ndarray
    threshold: float
    formed_index: np.ndarray
    formed_at: np.ndarray
    metrics: Mapping[str, np.ndarray]
    image_shape: tuple[int, int]

    @property
    def n_snapshots(self) -> int:
        """Number of snapshots (rows)."""
        return int(self.times.shape[0])

    def mean(self, quantity: str) -> np.ndarray:
        """The mean over units of ``quantity`` (``"cosine_to_init"``,
        ``"relative_change"``, ``"cosine_to_final"``, ``"smoothness"`` or
        ``"match_correlation"``) at each snapshot, NaN entries skipped: shape
        ``(n,)``."""
        values = getattr(self, check_choice(quantity, "quantity", QUANTITIES))
        return np.array([nan_mean(row) for row in values])

    @property
    def formed_fraction(self) -> np.ndarray:
        """At each snapshot, the fraction of units that have formed by then
        (``formed_index <= s``), shape ``(n,)``."""
        formed = self.formed_index[None, :] >= 0
        by_then = self.formed_index[None, :] <= np.arange(self.n_snapshots)[:, None]
        return (formed & by_then).mean(axis=1)

    @property
    def identity_fraction(self) -> np.ndarray:
        """At each snapshot, the fraction of columns whose unit already has
        its final index (always 1 with ``match="index"``), shape ``(n,)``."""
        return (self.trajectory == self.units[None, :]).mean(axis=1)

    @property
    def median_formed_at(self) -> float:
        """The median formation time over units (NaN entries skipped)."""
        return nan_median(self.formed_at)

    def to_dict(self) -> dict[str, Any]:
        """Plain Python values: per snapshot (``time``, the mean of every
        quantity, ``formed_fraction`` and the metrics) and per unit
        (``unit``, ``formed_at``)."""
        per_snapshot: dict[str, Any] = {self.time_label: self.times.tolist()}
        for quantity in QUANTITIES:
            per_snapshot[f"mean_{quantity}"] = self.mean(quantity).tolist()
        per_snapshot["formed_fraction"] = self.formed_fraction.tolist()
        for name, values in self.metrics.items():
            per_snapshot[name] = values.tolist()
        return {
            "layer": self.layer,
            "threshold": self.threshold,
            "match": self.match,
            "per_snapshot": per_snapshot,
            "per_unit": {
                "unit": self.units.tolist(),
                "formed_at": self.formed_at.tolist(),
            },
        }

    def __repr__(self) -> str:
        return (
            f"UnitDynamics(layer={self.layer}, units={self.units.size}, "
            f"snapshots={self.n_snapshots}, median formed at {self.time_label} "
            f"{self.median_formed_at:g} (threshold {self.threshold:g}))"
        )

    def __str__(self) -> str:
        rows = zip(
            self.times.tolist(),
            self.mean("cosine_to_init").tolist(),
            self.mean("relative_change").tolist(),
            self.mean("cosine_to_final").tolist(),
            self.mean("smoothness").tolist(),
            self.formed_fraction.tolist(),
            strict=True,
        )
        title = (
            f"Dynamics of {self.units.size} units of layer {self.layer} over "
            f"{self.n_snapshots} snapshots (means over units); a unit forms when its "
            f"cosine to its final weights stays >= {self.threshold:g}; median "
            f"{self.time_label} of formation {self.median_formed_at:g}"
        )
        headers = (
            self.time_label,
            "cos to init",
            "rel. change",
            "cos to final",
            "smoothness",
            "formed",
        )
        return title + "\n" + format_table(headers, rows)


def as_snapshots(value: Any, name: str = "snapshots") -> Snapshots:
    """``value`` as :class:`Snapshots`: itself, a History's or a trained
    Network's snapshots, or a list of models."""
    if isinstance(value, Snapshots):
        return value
    if hasattr(value, "fit") and hasattr(value, "history"):  # a Network
        value = value.history
        if value is None:
            raise InvalidParameterError(
                f"`{name}` is a network that has not been trained; train it with "
                f"fit(..., snapshots=SnapshotRecorder())"
            )
    if hasattr(value, "snapshots") and hasattr(value, "epoch"):  # a History
        if value.snapshots is None:
            raise InvalidParameterError(
                f"`{name}` has no snapshots: train with fit(..., "
                f"snapshots=SnapshotRecorder()) to record them"
            )
        return value.snapshots
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return Snapshots.from_models(value)
    raise InvalidParameterError(
        f"`{name}` must be Snapshots (e.g. history.snapshots after fit(..., "
        f"snapshots=SnapshotRecorder())), a trained Network or History holding "
        f"them, or a list of models; got {type(value).__name__}"
    )


def _row_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of every row of ``a`` with every row of ``b``:
    shape ``(len(a), len(b))``, NaN where a row is constant."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    na = np.linalg.norm(a, axis=1)
    nb = np.linalg.norm(b, axis=1)
    return np.clip(nan_divide(a @ b.T, np.outer(na, nb)), -1.0, 1.0)


def _paired_correlation(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of row ``i`` of ``a`` with row ``i`` of ``b``."""
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    return np.clip(nan_divide(np.einsum("ij,ij->i", a, b), norms), -1.0, 1.0)


def _match_units(weights: np.ndarray, final: np.ndarray) -> np.ndarray:
    """For each row of ``final``, the row of ``weights`` assigned to it so that
    the total weight correlation is largest (one row each; the Hungarian
    algorithm, :func:`scipy.optimize.linear_sum_assignment`)."""
    from scipy.optimize import linear_sum_assignment

    corr = _row_correlation(final, weights)
    # A constant row correlates with nothing: any assignment is as good.
    rows, cols = linear_sum_assignment(np.nan_to_num(corr, nan=-2.0), maximize=True)
    assigned = np.empty(final.shape[0], dtype=np.intp)
    assigned[rows] = cols
    return assigned


def _formation(cosine_to_final: np.ndarray, threshold: float) -> np.ndarray:
    """Per column, the first row from which the values stay ``>= threshold``
    to the last row; -1 when the last row is below it (or NaN)."""
    above = np.nan_to_num(cosine_to_final, nan=-np.inf) >= threshold
    stays = np.logical_and.accumulate(above[::-1], axis=0)[::-1]
    return np.where(stays.any(axis=0), stays.argmax(axis=0), -1)


def unit_dynamics(
    snapshots: Any,
    *,
    layer: int = 0,
    units: Any = None,
    threshold: float = 0.9,
    match: str = "index",
    X: Any = None,
    y: Any = None,
) -> UnitDynamics:
    """How each unit of ``layer`` moves from its start to its final weights.

    For every snapshot and every unit: its drift from its initial weights
    (cosine similarity and relative change, as :func:`~mlpinspect.drift_from_init`),
    its cosine similarity to its final weights, the smoothness of its weight
    image (the neighbour correlation of :func:`~mlpinspect.smoothness`), and
    the time at which it forms.

    Parameters
    ----------
    snapshots : Snapshots, History, Network or list of models
        The weights over training: ``history.snapshots`` after
        ``fit(..., snapshots=SnapshotRecorder())`` (or the History or the
        trained Network holding them), or a list of models in training order
        (see :meth:`Snapshots.from_models`). The first snapshot is the start,
        the last the final network.
    layer : int, default 0
        The weight layer (0 = first; -1 = output layer).
    units : int, str or sequence, optional
        The final network's units to follow; default all.
    threshold : float, default 0.9
        A unit *forms* at the first snapshot from which the cosine similarity
        of its weights to its final weights stays at or above ``threshold``
        until the end. In ``(-1, 1]``.
    match : {"index", "correlation"}, default "index"
        How a unit is followed through the snapshots. ``"index"``: by its
        index, as a network trains (a unit never changes places).
        ``"correlation"``: at each snapshot, the units are assigned one to
        one to the final network's by the largest total Pearson correlation
        of their weights (for snapshots whose unit order may differ, e.g.
        models saved by different programs); ``trajectory`` records the
        assignment and ``identity_fraction`` how often it is the unit's own
        index.
    X, y : array_like, optional
        Data on which to score every snapshot (:meth:`mlpinspect.MLP.score`):
        adds ``metrics["accuracy"]``.

    Returns
    -------
    UnitDynamics

    Raises
    ------
    InvalidParameterError
        For snapshots that cannot be read as such, a bad layer, units,
        threshold or match, or ``X`` without ``y``.

    Notes
    -----
    Memory holds one snapshot at a time besides the ``(n, k)`` results, so
    snapshots streamed to a file can be longer than memory. Matching by
    correlation costs a ``k x k`` assignment per snapshot (cubic in the
    layer's width).

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import Network, SnapshotRecorder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((100, 16)); y = (X[:, :8].sum(axis=1) > 4).astype(int)
    >>> net = Network([16, 4, 2], init="scaled", seed=0, input_shape=(4, 4))
    >>> history = net.fit(X, y, epochs=5, learning_rate=1.0, progress=False,
    ...                   snapshots=SnapshotRecorder(every_epochs=1))
    >>> dyn = unit_dynamics(history, threshold=0.9)
    >>> dyn.times.tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    >>> dyn.cosine_to_init[0].round(6).tolist()  # the start is the start
    [1.0, 1.0, 1.0, 1.0]
    >>> bool((dyn.formed_at <= 5).all()), sorted(dyn.metrics)[:2]
    (True, ['cost', 'train_accuracy'])
    """
    snaps = as_snapshots(snapshots)
    if len(snaps) == 0:
        raise InvalidParameterError("`snapshots` must hold at least one snapshot")
    threshold = check_float(threshold, "threshold", minimum=-1.0, maximum=1.0)
    if threshold <= -1.0:
        raise InvalidParameterError(f"`threshold` must be > -1; got {threshold}")
    match = check_choice(match, "match", MATCHES)
    if (X is None) != (y is None):
        raise InvalidParameterError("`X` and `y` must be given together")
    final = snaps[-1]
    index = resolve_layer(final, layer)
    chosen = resolve_units(final, index, units, "units", keep_order=True,
                           allow_empty=False)  # fmt: skip
    image_hw = weight_images(final, layer=index).shape[1:]
    end = _weights(final, index)
    n, k = len(snaps), chosen.size
    out = {q: np.empty((n, k)) for q in QUANTITIES}
    trajectory = np.empty((n, k), dtype=np.intp)
    accuracy = np.empty(n) if X is not None else None
    start = None
    for s in range(n):
        mlp = final if s == n - 1 else snaps[s]
        w = _weights(mlp, index)
        follow = chosen if match == "index" else _match_units(w, end)[chosen]
        rows = w[follow]
        if start is None:
            start = rows
        trajectory[s] = follow
        cos0, change, _, _ = drift_rows(rows, start)
        out["cosine_to_init"][s] = cos0
        out["relative_change"][s] = change
        cos_final = drift_rows(rows, end[chosen])[0]
        if s == n - 1:
            # The final weights are their own final state: exactly 1 (rounding
            # can give 1 - 1e-16, which would deny a unit its formation at a
            # threshold of 1), NaN kept for units with NaN or zero weights.
            cos_final = np.where(np.isnan(cos_final), np.nan, 1.0)
        out["cosine_to_final"][s] = cos_final
        out["smoothness"][s] = neighbour_correlation(rows.reshape(k, *image_hw))
        out["match_correlation"][s] = _paired_correlation(rows, end[chosen])
        if accuracy is not None:
            accuracy[s] = mlp.score(X, y)
    formed = _formation(out["cosine_to_final"], threshold)
    times = snaps.times
    metrics = {name: frozen(values) for name, values in snaps.metrics.items()}
    if accuracy is not None:
        metrics["accuracy"] = frozen(accuracy)
    return UnitDynamics(
        layer=index,
        units=frozen(chosen),
        times=frozen(np.asarray(times, dtype=np.float64)),
        time_label=snaps.time_label,
        cosine_to_init=frozen(out["cosine_to_init"]),
        relative_change=frozen(out["relative_change"]),
        cosine_to_final=frozen(out["cosine_to_final"]),
        smoothness=frozen(out["smoothness"]),
        match=match,
        trajectory=frozen(trajectory),
        match_correlation=frozen(out["match_correlation"]),
        threshold=threshold,
        formed_index=frozen(formed),
        formed_at=frozen(np.where(formed >= 0, times[np.maximum(formed, 0)], np.nan)),
        metrics=metrics,
        image_shape=(int(image_hw[0]), int(image_hw[1])),
    )


def _weights(mlp: MLP, layer: int) -> np.ndarray:
    return np.asarray(mlp.layers[layer].weight, dtype=np.float64)
