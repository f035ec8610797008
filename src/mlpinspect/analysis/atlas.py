"""The unit atlas: what every unit of a layer responds to, over a data set.

For each unit of one layer, in one pass over the data with memory bounded by
the batch: its top-k and bottom-k activating examples (OpenAI Microscope's
"dataset examples"), its activation quantiles, its mean activation per
class and a class selectivity index, and flags for units that are not doing
what a feature does: dead (never on), always on (a second bias), saturated
(its gradient vanishes) or a duplicate of another unit.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import check_choice, check_float, check_int, resolve_layer
from ..adapters import adapt
from ..errors import InvalidParameterError
from ..mlp import MLP
from ._batches import (
    DEFAULT_CHUNK_SIZE,
    _split_item,
    as_array_or_stream,
    check_finite_values,
    class_names_of,
    format_table,
    frozen,
    iter_batches,
    nan_divide,
)
from ._streaming import (
    Moments,
    QuantileSketch,
    TopK,
    constant_columns,
    few_threads,
)
from .decomposition import _membership

__all__ = ["DEFAULT_QUANTILES", "UnitAtlas", "unit_atlas"]

DEFAULT_QUANTILES = (0.0, 0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99, 1.0)
"""The activation quantiles :func:`unit_atlas` reports by default."""

_STAGES = ("pre", "post")

QUANTILE_BUDGET = 2**21
"""Values (rows x units) kept for exact quantiles, 16 MB of float64; past it
the quantiles come from a summary with a bounded rank error."""

SATURATION_SLOPE = 0.01
"""A unit is saturated on an input when its activation's slope there is
below this fraction of the activation's largest slope."""


@dataclass(frozen=True, eq=False)
class UnitAtlas:
    """What every unit of one layer responds to, over a data set.

    Values are the units' activations at ``stage`` (``"post"``: the layer's
    output; ``"pre"``: its pre-activation). A unit is *on* (active) for an
    input when its pre-activation is positive: a sigmoid unit above 0.5, a
    ReLU unit above 0 (as ``on_share`` of
    :class:`~mlpinspect.ClassContributions`).

    Attributes
    ----------
    layer : int
        The (non-negative) weight layer.
    stage : {"pre", "post"}
        Which values are ranked, summarised and correlated.
    n_samples : int
        Number of inputs seen.
    k : int
        Examples kept per list (the requested ``k``, at most ``n_samples``).
    top_indices, bottom_indices : numpy.ndarray of int, shape (units, k)
        Row numbers (in the order the data came) of each unit's ``k`` highest
        activations, highest first, and ``k`` lowest, lowest first; ties go
        to the lower row number.
    top_values, bottom_values : numpy.ndarray, shape (units, k)
        Those activations.
    top_inputs, bottom_inputs : numpy.ndarray, shape (units, k, n_inputs), or None
        The inputs themselves (flattened), for figures; None with
        ``keep_inputs=False``.
    quantile_levels : numpy.ndarray, shape (q,)
        Levels in [0, 1].
    quantiles : numpy.ndarray, shape (units, q)
        Activation quantiles; levels 0 and 1 are the exact minimum and maximum.
    quantile_error : float
        A bound on the rank error of ``quantiles``, as a fraction of
        ``n_samples``: 0 when they are exact (the data fit the budget), else
        the bound the summary guarantees (see :func:`unit_atlas`).
    mean, std : numpy.ndarray, shape (units,)
        Mean and standard deviation of the activations.
    active_share : numpy.ndarray, shape (units,)
        Share of the inputs on which the unit is on (pre-activation > 0).
    saturated_share : numpy.ndarray, shape (units,)
        Share of the inputs on which the activation's slope is below 1% of
        its largest slope (NaN for a softmax layer).
    correlation : numpy.ndarray, shape (units, units)
        Pearson correlation of the units' activations (NaN for a constant unit).
    class_means : numpy.ndarray, shape (n_classes, units), or None
        Mean activation over the inputs of each class (NaN for a class
        without inputs); None without labels.
    class_counts : numpy.ndarray of int, shape (n_classes,), or None
        Inputs per class.
    class_names : tuple of str or None
        The classes' display names.
    selectivity : numpy.ndarray, shape (units,)
        Class selectivity index, in [0, 1] (NaN without labels or for a
        constant unit); see :func:`unit_atlas`.
    preferred_class : numpy.ndarray of int, shape (units,)
        The class with the highest mean activation (-1 without labels).
    dead, always_on, saturated : numpy.ndarray of bool, shape (units,)
        The flags (thresholds in ``thresholds``).
    duplicate_of : numpy.ndarray of int, shape (units,)
        The other unit most correlated with this one when ``|correlation|``
        reaches the threshold, else -1.
    output_mean : numpy.ndarray, shape (units,)
        Mean of the layer's output (what feeds the next layer).
    equivalent_bias : numpy.ndarray, shape (units, next_units), or None
        ``output_mean[j] * W_next[:, j]``: what unit ``j`` adds on average to
        each unit of the next layer. For an always-on unit that barely
        varies, this is the bias it acts as: removing the unit and adding this
        to the next layer's biases changes the next pre-activations by only
        ``std[j] * |W_next[:, j]|`` on a typical input. None for the output layer.
    thresholds : dict
        ``always_on_share``, ``dead_share``, ``saturated_share`` and
        ``duplicate_correlation`` used for the flags.
    unit_names : tuple of str or None
        Class names of the units of an output layer, when the model has them.
    feature_names : tuple of str or None
        The inputs' feature names (a DataFrame's columns or the model's).
    model : MLP
        The model, for figures (weight images, names).

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, unit_atlas
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(4, 16)), [0, 0, 9, 0], "sigmoid"),
    ...            Dense(rng.normal(size=(3, 4)), np.zeros(3), "softmax")])
    >>> atlas = unit_atlas(mlp, rng.random((50, 16)), k=3)
    >>> atlas.top_indices.shape, atlas.always_on.tolist()
    ((4, 3), [False, False, True, False])
    >>> atlas.equivalent_bias.shape  # what each unit adds to the 3 outputs
    (4, 3)
    """

    layer: int
    stage: str
    n_samples: int
    k: int
    top_indices: np.ndarray
    top_values: np.ndarray
    bottom_indices: np.ndarray
    bottom_values: np.ndarray
    quantile_levels: np.ndarray
    quantiles: np.ndarray
    quantile_error: float
    mean: np.ndarray
    std: np.ndarray
    active_share: np.ndarray
    saturated_share: np.ndarray
    correlation: np.ndarray
    class_means: np.ndarray | None
    class_counts: np.ndarray | None
    class_names: tuple[str, ...] | None
    selectivity: np.ndarray
    preferred_class: np.ndarray
    dead: np.ndarray
    always_on: np.ndarray
    saturated: np.ndarray
    duplicate_of: np.ndarray
    output_mean: np.ndarray
    equivalent_bias: np.ndarray | None
    thresholds: dict[str, float]
    model: MLP
    top_inputs: np.ndarray | None = None
    bottom_inputs: np.ndarray | None = None
    unit_names: tuple[str, ...] | None = None
    feature_names: tuple[str, ...] | None = None

    @property
    def n_units(self) -> int:
        """Number of units of the layer."""
        return int(self.mean.shape[0])

    def unit_label(self, unit: int) -> str:
        """``"unit 3"``, or ``"unit 3 ('cat')"`` for a named output unit."""
        name = None if self.unit_names is None else self.unit_names[unit]
        return f"unit {unit}" + (f" ({name!r})" if name is not None else "")

    def flags(self, unit: int) -> tuple[str, ...]:
        """The flags of ``unit``: ``"dead"``, ``"always on"``, ``"saturated"``,
        ``"duplicate of 7"``; empty for a unit that is none of them."""
        unit = check_int(unit, "unit", minimum=0, maximum=self.n_units - 1)
        out = []
        if self.dead[unit]:
            out.append("dead")
        if self.always_on[unit]:
            out.append("always on")
        if self.saturated[unit]:
            out.append("saturated")
        if self.duplicate_of[unit] >= 0:
            out.append(f"duplicate of {int(self.duplicate_of[unit])}")
        return tuple(out)

    def flagged(self) -> dict[str, list[int]]:
        """Units per flag: ``{"dead": [...], "always on": [...],
        "saturated": [...], "duplicate": [...]}``."""
        return {
            "dead": np.flatnonzero(self.dead).tolist(),
            "always on": np.flatnonzero(self.always_on).tolist(),
            "saturated": np.flatnonzero(self.saturated).tolist(),
            "duplicate": np.flatnonzero(self.duplicate_of >= 0).tolist(),
        }

    def to_dict(self) -> dict[str, list[Any]]:
        """A tidy table, one row per unit: column name -> list.

        Columns: ``unit``, ``mean``, ``std``, one ``q<level>`` column per
        quantile (e.g. ``q0.5``), ``active_share``, ``saturated_share``,
        ``selectivity``, ``preferred_class`` (its name, or None),
        ``dead``, ``always_on``, ``saturated``, ``duplicate_of``, ``top``
        and ``bottom`` (lists of row numbers).
        """
        units = range(self.n_units)
        table: dict[str, list[Any]] = {
            "unit": list(units),
            "mean": self.mean.tolist(),
            "std": self.std.tolist(),
        }
        for i, level in enumerate(self.quantile_levels):
            table[f"q{float(level):g}"] = self.quantiles[:, i].tolist()
        table["active_share"] = self.active_share.tolist()
        table["saturated_share"] = self.saturated_share.tolist()
        table["selectivity"] = self.selectivity.tolist()
        table["preferred_class"] = [self._class_name(u) for u in units]
        table["dead"] = self.dead.tolist()
        table["always_on"] = self.always_on.tolist()
        table["saturated"] = self.saturated.tolist()
        table["duplicate_of"] = self.duplicate_of.tolist()
        table["top"] = self.top_indices.tolist()
        table["bottom"] = self.bottom_indices.tolist()
        return table

    def _class_name(self, unit: int) -> str | None:
        c = int(self.preferred_class[unit])
        if c < 0 or self.class_names is None:
            return None
        return self.class_names[c]

    def __repr__(self) -> str:
        flagged = {k: v for k, v in self.flagged().items() if v}
        return (
            f"UnitAtlas(layer={self.layer}, units={self.n_units}, "
            f"n={self.n_samples}, k={self.k}, stage={self.stage!r}, "
            f"flagged={flagged})"
        )

    def __str__(self) -> str:
        act = self.model.layers[self.layer].activation
        title = (
            f"Unit atlas of layer {self.layer} ({self.n_units} {act} units, "
            f"{self.stage}-activation) over {self.n_samples:,} inputs"
        )
        headers = ["unit", "mean", "std", "median", "on", "class (SI)", "top", "flags"]
        median = _level_column(self.quantile_levels, self.quantiles, 0.5)
        rows = []
        for u in range(self.n_units):
            name = self._class_name(u)
            cls = "-" if name is None else f"{name} ({self.selectivity[u]:.2f})"
            top = ", ".join(str(int(i)) for i in self.top_indices[u, :3])
            rows.append(
                [
                    u,
                    float(self.mean[u]),
                    float(self.std[u]),
                    float(median[u]),
                    f"{100 * self.active_share[u]:.1f}%",
                    cls,
                    top,
                    ", ".join(self.flags(u)) or "",
                ]
            )
        lines = [title, format_table(headers, rows, max_rows=60)]
        notes = self._notes()
        if notes:
            lines += ["", *notes]
        return "\n".join(lines)

    def _notes(self) -> list[str]:
        """One line per flagged unit, saying what it contributes."""
        notes = []
        n = self.n_samples
        for u in range(self.n_units):
            if self.always_on[u] or self.dead[u]:
                what = "always on" if self.always_on[u] else "dead (never on)"
                spread = f" ± {self.std[u]:.2g}" if self.stage == "post" else ""
                line = (
                    f"{self.unit_label(u)} is {what}: on for "
                    f"{100 * self.active_share[u]:.1f}% of {n:,} inputs, output "
                    f"{self.output_mean[u]:.4g}{spread}"
                )
                if self.equivalent_bias is not None:
                    line += f"; it acts as a bias of {self._bias_text(u)}"
                notes.append(line)
            if self.saturated[u]:
                notes.append(
                    f"{self.unit_label(u)} is saturated on "
                    f"{100 * self.saturated_share[u]:.1f}% of the inputs (its "
                    f"gradient vanishes there)"
                )
            partner = int(self.duplicate_of[u])
            if partner > u or (partner >= 0 and self.duplicate_of[partner] != u):
                notes.append(
                    f"{self.unit_label(u)} duplicates {self.unit_label(partner)} "
                    f"(correlation {self.correlation[u, partner]:+.3f})"
                )
        return notes

    def _bias_text(self, unit: int, limit: int = 4) -> str:
        """The largest entries of a unit's equivalent bias, e.g. ``-2.1 on
        unit 3 ('3'), ...``."""
        bias = self.equivalent_bias[unit]  # type: ignore[index]
        order = np.argsort(-np.abs(bias), kind="stable")[:limit]
        parts = [
            f"{bias[i]:+.3g} on {self.model.unit_label(self.layer + 1, int(i))}"
            for i in order
        ]
        more = "" if bias.size <= limit else f" (largest {limit} of {bias.size})"
        return ", ".join(parts) + more


def _level_column(levels: np.ndarray, values: np.ndarray, level: float) -> np.ndarray:
    """The column of ``values`` at quantile ``level``, NaN if not computed."""
    hits = np.flatnonzero(np.isclose(levels, level))
    if hits.size == 0:
        return np.full(values.shape[0], np.nan)
    return values[:, hits[0]]


def _check_levels(quantiles: Any) -> np.ndarray:
    try:
        levels = np.asarray(quantiles, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        levels = np.array([np.nan])
    if levels.size == 0 or not np.all((levels >= 0) & (levels <= 1)):
        raise InvalidParameterError(
            f"`quantiles` must be a non-empty sequence of levels in [0, 1]; got "
            f"{quantiles!r:.60}"
        )
    return levels


def _largest_slope(mlp: MLP, layer: int) -> float:
    """The activation's largest slope over a wide grid (0.25 for a sigmoid,
    1 for tanh and ReLU)."""
    act = mlp.layers[layer].function
    z = np.linspace(-30.0, 30.0, 6001)[None, :]
    with np.errstate(all="ignore"):
        slope = act.vjp(z, act(z), np.ones_like(z))
    slope = np.abs(slope[np.isfinite(slope)])
    return float(slope.max()) if slope.size else 0.0


def _labelled_stream(X: Any, mlp: MLP) -> tuple[Any, bool]:
    """``(X, has_labels)``: whether a stream's batches are (X, y) pairs,
    read from its first item (which is put back)."""
    arr, stream = as_array_or_stream(X, "X", mlp)
    if arr is not None:
        return X, False
    items = iter(stream)
    try:
        first = next(items)
    except StopIteration:
        return [], False
    _, yb = _split_item(first, "X", 0)
    return itertools.chain([first], items), yb is not None


def unit_atlas(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    layer: int = 0,
    k: int = 9,
    stage: str = "post",
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    always_on_share: float = 0.99,
    dead_share: float = 0.0,
    saturated_share: float = 0.99,
    duplicate_correlation: float = 0.95,
    keep_inputs: bool = True,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> UnitAtlas:
    """What every unit of a layer responds to, and which units are not features.

    One pass over the data, memory bounded by the batch (plus what is kept:
    ``2 k`` examples and ``units x units`` sums; quantiles as described below).

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    X : array_like or iterable of batches
        Inputs, shape ``(n, n_inputs)`` or ``(n, *input_shape)`` (a
        DataFrame's columns become ``feature_names``), or an iterable of
        ``X`` batches or ``(X_batch, y_batch)`` pairs (a PyTorch
        ``DataLoader`` works as it is; pairs give the per-class means).
        Row numbers in the result count the rows in the order they came.
    y : array_like, optional
        Labels for an array ``X``, of any kind the model's classes hold (a
        0/1 indicator matrix for a multilabel model); they give the per-class
        means, the selectivity index and the preferred class. Refused for a
        model without classes.
    layer : int, default 0
        The weight layer whose units are described (-1: the output layer).
    k : int, default 9
        Top and bottom examples kept per unit, >= 1 (at most the number of
        inputs).
    stage : {"post", "pre"}, default "post"
        Rank and summarise the units' outputs, or their pre-activations.
        Whether a unit is *on* always reads the pre-activation (> 0).
    quantiles : sequence of float, default DEFAULT_QUANTILES
        Levels of the activation quantiles, in [0, 1].
    always_on_share : float, default 0.99
        A unit on for at least this share of the inputs is flagged *always
        on*.
    dead_share : float, default 0.0
        A unit on for at most this share of the inputs is flagged *dead* (0:
        never on).
    saturated_share : float, default 0.99
        A unit whose activation's slope is below 1% of its largest slope on
        at least this share of the inputs is flagged *saturated*: a sigmoid
        or tanh stuck at a bound, a ReLU that is (nearly) never on. Never for
        a softmax layer, whose slope is not one number per unit.
    duplicate_correlation : float, default 0.95
        A unit whose activations have a correlation of at least this (or at
        most minus this) with another unit's is flagged as its *duplicate*.
    keep_inputs : bool, default True
        Keep the top and bottom examples' inputs (``units x 2k x n_inputs``
        values) so figures can show them, also for a stream.
    chunk_size : int, default 1000
        Rows per batch for an array ``X``.

    Returns
    -------
    UnitAtlas
        Printing it shows a table of the units and a line for each flagged
        unit, with the bias an always-on unit is equivalent to.

    Raises
    ------
    InvalidParameterError
        For a bad ``layer``, ``k``, ``stage``, ``quantiles`` or threshold,
        labels for a model without classes, unknown labels, or inputs of the
        wrong shape or with NaN.
    NumericalError
        When the layer's values overflow although the model and inputs are
        finite; the message names the layer.

    Notes
    -----
    **Always on, and the bias it is worth.** A unit that is on for (nearly)
    every input and barely varies carries no information about the input: to
    the next layer it is a constant, ``output_mean[j]``, multiplied by its
    outgoing weights. ``equivalent_bias[j] = output_mean[j] * W_next[:, j]``
    is that constant's effect on each unit of the next layer; adding it to the
    next layer's biases and deleting the unit changes every next
    pre-activation by ``(a_j - output_mean[j]) * W_next[:, j]``, which is
    ``std[j] * |W_next[:, j]|`` on a typical input. A dead sigmoid unit (never
    above 0.5) is not silent: it too adds about ``equivalent_bias[j]``.

    **Selectivity.** With ``mu_c`` the unit's mean activation over the
    inputs of class ``c`` and ``m`` its smallest activation over the data,
    the index is Morcos et al.'s (2018) class selectivity index on the
    activation measured from its minimum::

        SI = (mu_max - mu_rest) / (mu_max + mu_rest - 2 m)

    where ``mu_max`` is the largest class mean and ``mu_rest`` the mean of
    the other classes' means. For non-negative activations whose minimum is
    0 (ReLU) this is exactly Morcos et al.'s index; the shift by ``m`` makes
    it defined for any activation (tanh, identity, pre-activations) and
    unchanged by adding a constant. 0: every class drives the unit equally;
    1: only one class moves it above its minimum. Classes without inputs
    are left out.

    **Quantiles.** When the data fit ``QUANTILE_BUDGET`` values (2**21,
    e.g. 69,905 inputs for 30 units) every activation is kept and the
    quantiles are exact (linear interpolation, as ``numpy.quantile``). Past
    it they come from a deterministic compactor summary (Manku, Rajagopalan
    and Lindsay 1998) whose rank error is tracked: each returned value's
    rank is within ``quantile_error * n_samples`` of ``level * n_samples``.
    The minimum and maximum are always exact.

    **Duplicates.** Correlations are computed in float64 from streamed sums
    about a provisional mean. A constant unit has no correlation (NaN) and
    is never a duplicate; it is dead or always on instead.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> W = rng.normal(size=(5, 16))
    >>> W[4] = W[0]  # unit 4 copies unit 0
    >>> mlp = MLP([Dense(W, [0, 0, -90, 0, 0], "relu"),  # unit 2 never on
    ...            Dense(rng.normal(size=(3, 5)), np.zeros(3), "softmax")],
    ...           class_names=["a", "b", "c"], input_shape=(4, 4))
    >>> X = rng.random((200, 16))
    >>> y = rng.choice(["a", "b", "c"], size=200)
    >>> atlas = unit_atlas(mlp, X, y, k=5)
    >>> atlas.dead.tolist(), atlas.duplicate_of.tolist()
    ([False, False, True, False, False], [4, -1, -1, -1, 0])
    >>> bool(atlas.top_values[1, 0] == mlp.trace(X).post[0][:, 1].max())
    True
    >>> atlas.class_means.shape, atlas.class_names
    ((3, 5), ('a', 'b', 'c'))
    >>> print(str(atlas).splitlines()[0])
    Unit atlas of layer 0 (5 relu units, post-activation) over 200 inputs
    """
    mlp = adapt(model).check_finite()
    index = resolve_layer(mlp, layer)
    k = check_int(k, "k", minimum=1)
    stage = check_choice(stage, "stage", _STAGES)
    levels = _check_levels(quantiles)
    thresholds = {
        "always_on_share": check_float(
            always_on_share, "always_on_share", minimum=0, maximum=1
        ),
        "dead_share": check_float(dead_share, "dead_share", minimum=0, maximum=1),
        "saturated_share": check_float(
            saturated_share, "saturated_share", minimum=0, maximum=1
        ),
        "duplicate_correlation": check_float(
            duplicate_correlation, "duplicate_correlation", minimum=0, maximum=1
        ),
    }
    if not isinstance(keep_inputs, (bool, np.bool_)):
        raise InvalidParameterError(
            f"`keep_inputs` must be True or False; got {keep_inputs!r}"
        )
    classified = mlp.task in ("multiclass", "binary", "multilabel")
    if y is not None and not classified:
        raise InvalidParameterError(
            f"`y` must be None: per-class means need a classifier, and the model's "
            f"task is {mlp.task!r}"
        )
    labels = y is not None
    if y is None and classified:
        X, labels = _labelled_stream(X, mlp)
    batches = iter_batches(mlp, X, y, chunk_size=chunk_size, labels=labels)
    state = _Accumulator(mlp, index, stage, k, bool(keep_inputs), labels)
    with few_threads(state.units):
        for xb, yb in batches:
            state.add(xb, yb)
    return state.result(levels, thresholds, batches.feature_names)


class _Accumulator:
    """Everything :func:`unit_atlas` sums while it reads the data."""

    def __init__(
        self, mlp: MLP, layer: int, stage: str, k: int, keep_inputs: bool, labels: bool
    ) -> None:
        self.mlp, self.layer, self.stage = mlp, layer, stage
        units = mlp.layers[layer].n_out
        self.units = units
        self.n = 0
        self.moments = Moments([units])
        self.output_sum = np.zeros(units)
        self.n_active = np.zeros(units, dtype=np.int64)
        act = mlp.layers[layer].function
        self.elementwise = act.elementwise
        self.slope_floor = SATURATION_SLOPE * _largest_slope(mlp, layer)
        self.n_saturated = np.zeros(units, dtype=np.int64)
        self.top = TopK(k, keep_rows=keep_inputs)
        self.sketch = QuantileSketch(max(1024, QUANTILE_BUDGET // units))
        self.labels = labels
        n_classes = mlp.n_outputs if mlp.task == "multilabel" else mlp.n_classes
        self.n_classes = n_classes
        self.class_sum = np.zeros((n_classes, units))
        self.class_count = np.zeros(n_classes, dtype=np.int64)

    def add(self, xb: np.ndarray, yb: np.ndarray | None) -> None:
        mlp, layer = self.mlp, self.layer
        a = xb if layer == 0 else mlp.propagate(xb, stop=layer - 1, keep=False)
        own = mlp.propagate(a, start=layer, stop=layer)  # overflow named by layer
        z, out = own.pre[0], own.post[0]  # type: ignore[union-attr]
        values = np.asarray(out if self.stage == "post" else z, dtype=np.float64)
        self.n += values.shape[0]
        self.moments.add([values])
        self.output_sum += out.sum(axis=0, dtype=np.float64)
        self.n_active += (z > 0).sum(axis=0)
        if self.elementwise:
            act = mlp.layers[layer].function
            with np.errstate(all="ignore"):
                slope = np.abs(act.vjp(z, out, np.ones_like(z)))
            self.n_saturated += (slope < self.slope_floor).sum(axis=0)
        self.top.add(values, xb)
        self.sketch.add(values)
        if self.labels and yb is not None:
            members = _membership(mlp, yb, self.n_classes)
            self.class_sum += members.T @ values
            self.class_count += members.sum(axis=0).astype(np.int64)

    def result(
        self,
        levels: np.ndarray,
        thresholds: dict[str, float],
        feature_names: tuple[str, ...] | None,
    ) -> UnitAtlas:
        mlp, layer, n = self.mlp, self.layer, self.n
        for values, what in (
            (self.moments.cross, "the summed squares of its activations"),
            (self.output_sum, "the summed outputs of its units"),
        ):
            check_finite_values(values, mlp, layer, what)
        top = self.top
        k = min(top.k, n)
        mean = self.moments.mean()
        variance = self.moments.variance()
        variance[constant_columns(variance, mean)] = 0.0
        quant = self.sketch.quantiles(levels)
        minimum, maximum = top.bottom_values[0], top.top_values[0]  # type: ignore[index]
        quant[:, levels == 0.0] = minimum[:, None]
        quant[:, levels == 1.0] = maximum[:, None]
        active = self.n_active / n
        saturated_share = (
            self.n_saturated / n if self.elementwise else np.full(self.units, np.nan)
        )
        correlation = self.moments.correlation()
        class_means = selectivity = None
        preferred = np.full(self.units, -1, dtype=np.intp)
        if self.labels:
            class_means = nan_divide(self.class_sum, self.class_count[:, None])
            selectivity, preferred = _selectivity(
                class_means, minimum, int(self.class_count.max(initial=0))
            )
        if selectivity is None:
            selectivity = np.full(self.units, np.nan)
        output_mean = self.output_sum / n
        equivalent_bias = None
        if layer + 1 < len(mlp.layers):
            W_next = np.asarray(mlp.layers[layer + 1].weight, dtype=np.float64)
            equivalent_bias = output_mean[:, None] * W_next.T
        with np.errstate(invalid="ignore"):
            sat_flag = saturated_share >= thresholds["saturated_share"]
        unit_names = None
        if mlp.class_names is not None and layer == len(mlp.layers) - 1:
            unit_names = tuple(
                str(mlp.unit_name(layer, u)) for u in range(self.units)
            )  # fmt: skip

        def keep(arr: np.ndarray | None) -> np.ndarray | None:
            # (k, units, ...) as kept -> (units, k, ...)
            return None if arr is None else frozen(np.swapaxes(arr[:k], 0, 1).copy())

        return UnitAtlas(
            layer=layer,
            stage=self.stage,
            n_samples=n,
            k=k,
            top_indices=keep(top.top_index.astype(np.intp)),  # type: ignore[union-attr]
            top_values=keep(top.top_values),  # type: ignore[arg-type]
            bottom_indices=keep(top.bottom_index.astype(np.intp)),  # type: ignore[union-attr]
            bottom_values=keep(top.bottom_values),  # type: ignore[arg-type]
            top_inputs=keep(top.top_rows),
            bottom_inputs=keep(top.bottom_rows),
            quantile_levels=frozen(levels),
            quantiles=frozen(quant),
            quantile_error=self.sketch.rank_error,
            mean=frozen(mean),
            std=frozen(np.sqrt(variance)),
            active_share=frozen(active),
            saturated_share=frozen(saturated_share),
            correlation=frozen(correlation),
            class_means=None if class_means is None else frozen(class_means),
            class_counts=frozen(self.class_count) if self.labels else None,
            class_names=class_names_of(mlp) if self.labels else None,
            selectivity=frozen(selectivity),
            preferred_class=frozen(preferred),
            dead=frozen(active <= thresholds["dead_share"]),
            always_on=frozen(active >= thresholds["always_on_share"]),
            saturated=frozen(sat_flag),
            duplicate_of=frozen(
                _duplicates(correlation, thresholds["duplicate_correlation"])
            ),
            output_mean=frozen(output_mean),
            equivalent_bias=None
            if equivalent_bias is None
            else frozen(equivalent_bias),
            thresholds=dict(thresholds),
            model=mlp,
            unit_names=unit_names,
            feature_names=feature_names,
        )


def _selectivity(
    class_means: np.ndarray, minimum: np.ndarray, largest_class: int = 1
) -> tuple[np.ndarray, np.ndarray]:
    """Selectivity index and preferred class of every unit (see
    :func:`unit_atlas`) from the class means (classes, units) and the number
    of inputs in the largest class."""
    present = ~np.isnan(class_means[:, 0]) if class_means.size else np.array([])
    means = class_means[present]
    units = class_means.shape[1]
    if means.shape[0] == 0:
        return np.full(units, np.nan), np.full(units, -1, dtype=np.intp)
    classes = np.flatnonzero(present)
    best = np.argmax(means, axis=0)
    preferred = classes[best].astype(np.intp)
    if means.shape[0] < 2:
        return np.full(units, np.nan), preferred
    top = means[best, np.arange(units)]
    rest = (means.sum(axis=0) - top) / (means.shape[0] - 1)
    # minimum <= rest <= top holds exactly; rounding of the sums can break it
    # by an ulp. A constant unit has top == rest == minimum: no selectivity.
    # Measured from the minimum first: (top - rest) / (top + rest - 2 minimum)
    # as (a - b) / (a + b) with 0 <= b <= a, which rounding cannot push outside
    # [0, 1] (the direct form cancels when the spread is tiny).
    # A class mean of n inputs is exact to about n ulps of its size: a spread
    # within that is rounding, not selectivity (a unit that is the same on
    # every input would otherwise score anything from 0 to 1).
    noise = rounding_noise(top, minimum, largest_class)
    a = np.maximum(top - minimum, 0.0)
    b = np.minimum(np.maximum(rest - minimum, 0.0), a)
    a[a <= noise] = 0.0
    b[b <= noise] = 0.0
    b = np.minimum(b, a)
    return nan_divide(a - b, a + b), preferred


def rounding_noise(top: np.ndarray, minimum: np.ndarray, n: int) -> np.ndarray:
    """How far a mean of ``n`` values of the size of ``top`` and ``minimum``
    can be off by rounding alone: ``n`` ulps of the larger magnitude (the
    bound of a sum of ``n`` terms, so never too small)."""
    scale = np.maximum(np.abs(top), np.abs(minimum))
    return max(n, 1) * np.finfo(np.float64).eps * scale


def _duplicates(correlation: np.ndarray, threshold: float) -> np.ndarray:
    """For each unit, the most correlated other unit if ``|r| >= threshold``."""
    r = np.abs(correlation).copy()
    np.fill_diagonal(r, np.nan)
    r = np.nan_to_num(r, nan=-1.0)
    partner = np.argmax(r, axis=1) if r.size else np.zeros(0, dtype=np.intp)
    best = r[np.arange(r.shape[0]), partner] if r.size else np.zeros(0)
    return np.where(best >= threshold, partner, -1).astype(np.intp)
