"""The public functions: validate -> compute -> package.

:func:`attribute` and :func:`iter_attribute` check everything that does not
depend on the data once (:class:`_Call`), then run the method batch by batch
(:meth:`_Call.run`) and put the pieces into one :class:`Attribution`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ..._validation import (
    all_finite,
    as_numeric,
    check_array,
    check_choice,
    check_chunk_size,
    check_float,
    check_input,
    resolve_target,
)
from ...adapters import adapt
from ...errors import InvalidParameterError
from .._backprop import Chain
from .._batches import as_array_or_stream, frozen, iter_batches
from ._problem import Computed, Problem, RandomStreams
from ._registry import AttributionMethod, get_method
from ._result import Attribution

__all__ = ["DEFAULT_CHUNK_SIZE", "MEMORY_LIMIT", "attribute", "iter_attribute"]

DEFAULT_CHUNK_SIZE = 8192
"""Default number of rows (samples x steps, samples x patches, ...) computed at once."""

MEMORY_LIMIT = 2**30
"""Bytes one table a method must hold at once (quadrature nodes, say) may take;
a call that needs more is refused before it starts, saying how much."""

_SPECIAL_TARGETS = ("predicted", "labels")


def attribute(
    model: Any,
    X: Any,
    target: Any = None,
    *,
    method: str = "integrated_gradients",
    stage: str = "pre",
    baseline: Any = None,
    baselines: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    internal_batch_size: int | None = None,
    **options: Any,
) -> Attribution:
    """Attribute a model output to the input features, one row at a time.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The model.
    X : array_like or iterable of batches
        Inputs of shape ``(n, n_inputs)`` or ``(n, *input_shape)`` (a
        DataFrame or a tensor is fine; a 1-D array is one input), or an
        iterable of batches such as a PyTorch ``DataLoader`` (an item that is
        a tuple, or a DataLoader's list ``[X_batch, y_batch]``, is a pair
        whose labels ``target="labels"`` can use). A DataFrame's columns
        become the result's ``feature_names``.
    target : int, label, array_like, callable, "predicted", "labels" or None
        What to attribute: an output position or a class label of any kind
        the model's classes hold (``"dog"``, ``"8"``, ``7``, ``True``; a
        string is always a label, an integer a position unless it is only a
        label) for every row; positions or labels, shape ``(n,)`` (one per
        row, taken in order batch after batch for a stream); float weights
        over the outputs, shape ``(n_outputs,)`` or ``(n, n_outputs)``, to
        attribute ``sum_k w_k f_k`` (a "direction"); ``"predicted"``: each
        row's predicted class; ``"labels"``: each row's label from a stream of
        ``(X_batch, y_batch)`` pairs; a callable ``target(X_batch)`` returning
        any of these for a batch (rows ``(b, n_inputs)``). None is allowed
        for a model with a single output (a binary model's positive class).
        The negative class of a binary model attributes minus its one unit.
    method : str
        A registered method (see :data:`METHODS` and
        :doc:`/api/attribution_methods`): ``"gradient"``,
        ``"gradient_x_input"``, ``"integrated_gradients"``, ``"deeplift"``,
        ``"lrp"``, ``"occlusion"``, ``"noise_tunnel"`` (alias
        ``"smoothgrad"``), ``"gradient_shap"`` (alias
        ``"expected_gradients"``), or one registered with
        :func:`register_method`.
    stage : {"pre", "post"}
        Attribute the output layer's pre-activation (the logit, default) or its
        activation (e.g. the softmax probability).
    baseline, baselines : float or array_like, optional
        The reference input (``baselines`` is Captum's name; give one of the
        two): a number, one input (shape ``(n_inputs,)`` or ``input_shape``)
        or one per row (shape of ``X``; for a stream, taken in order). Default
        zeros. For ``gradient_shap``, the reference inputs to draw from,
        shape ``(K, n_inputs)`` or ``(K, *input_shape)`` (e.g. training
        images). Methods without a baseline refuse one.
    chunk_size : int, default 8192
        Rows computed at once: samples x steps for integrated gradients,
        samples x patches for occlusion, samples x draws for the randomised
        methods. Bounds the working memory; the result does not depend on it.
    internal_batch_size : int, optional
        Captum's name for ``chunk_size``.
    **options
        The method's options, checked against its record (an unknown option
        is refused, listing the method's). Integrated gradients: ``n_steps``
        (50), ``rule`` (``"auto"``: ``"exact"`` on piecewise-linear networks,
        else ``"gauss_legendre"``; or ``"riemann_left"``, ``"riemann_right"``,
        ``"riemann_middle"``, ``"riemann_trapezoid"``, Captum's
        ``"gausslegendre"``). DeepLIFT: ``n_steps``. LRP: ``lrp_rule``
        (alias ``composite``: a rule, a preset such as
        ``"epsilon_gamma_box"``, a list with one rule per layer or a mapping
        layer -> rule), ``epsilon``, ``alpha``, ``beta``, ``gamma``, ``low``,
        ``high``. Occlusion: ``window`` / ``stride`` (Captum's
        ``sliding_window_shapes`` / ``strides``). Noise tunnel:
        ``base_method``, ``nt_type``, ``nt_samples``, ``stdevs``, ``noise``,
        ``seed`` and the base method's options. GradientSHAP: ``n_samples``,
        ``stdevs``, ``indices``, ``alphas``, ``noise``, ``seed``.

    Returns
    -------
    Attribution
        ``values`` has the shape of ``X`` (``(n, *input_shape)`` for a
        stream); ``options`` records the settings used.

    Raises
    ------
    InvalidParameterError
        For an unknown method, option or rule (the message lists the known
        ones), a bad option value, a target out of range or an unknown label
        (named), a baseline of the wrong shape, inputs of the wrong layout, a
        rule the model's activations do not allow (named by layer), or a table
        that would need more than :data:`MEMORY_LIMIT` bytes (the message
        says how much).
    NumericalError
        When values overflow although the model and inputs are finite (huge
        weights, or inputs a float32 model cannot run); the message names the
        layer.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> mlp = MLP([Dense([[1.0, -1.0], [0.5, 2.0]], [0.0, -1.0], "relu"),
    ...            Dense([[1.0, 2.0]], [0.5], "identity")])
    >>> X = np.array([[2.0, 1.0]])
    >>> result = attribute(mlp, X, 0, method="deeplift")
    >>> result.values
    array([[3.33333333, 1.66666667]])
    >>> float(result.output[0] - result.baseline_output[0])
    5.0
    >>> attribute(mlp, X, 0, method="gradient").values
    array([[2., 3.]])

    On a ReLU network integrated gradients is exact:

    >>> result = attribute(mlp, X, 0)
    >>> result.options["rule"], float(abs(result.completeness_error[0])) < 1e-12
    ('exact', True)

    A class label names the output; the negative class of a binary model is
    minus its one unit:

    >>> binary = MLP([Dense([[1.0, -2.0]], [0.5], "sigmoid")],
    ...              class_names=["no", "yes"])
    >>> attribute(binary, X, "yes", method="gradient_x_input").values
    array([[ 2., -2.]])
    >>> attribute(binary, X, "no", method="gradient_x_input").values
    array([[-2.,  2.]])
    """
    call = _Call(
        model, target, method, stage, (baseline, baselines), chunk_size,
        internal_batch_size, options,
    )  # fmt: skip
    return call.package(list(call.parts(X, whole=True)))


def iter_attribute(
    model: Any,
    X: Any,
    target: Any = None,
    *,
    method: str = "integrated_gradients",
    stage: str = "pre",
    baseline: Any = None,
    baselines: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    internal_batch_size: int | None = None,
    **options: Any,
) -> Iterator[Attribution]:
    """:func:`attribute`, one batch at a time, with memory bounded by the batch.

    Parameters
    ----------
    model, target, method, stage, baseline, baselines, internal_batch_size, **options
        As for :func:`attribute`. Per-row targets, baselines and explicit
        draws are taken in order, batch after batch.
    X : array_like or iterable of batches
        An array is cut into ``chunk_size`` rows; an iterable (a
        ``DataLoader``) yields one :class:`Attribution` per batch.
    chunk_size : int, default 8192
        Rows computed at once, and the rows of each piece of an array.

    Returns
    -------
    iterator of Attribution
        One per batch, in order; randomised methods draw as
        :func:`attribute` would on the whole data. The arguments are checked
        when this is called, the inputs as each batch is reached.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "relu"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "identity")])
    >>> loader = [rng.random((4, 16)), rng.random((2, 16))]  # any iterable
    >>> [a.values.shape for a in iter_attribute(mlp, loader, 1)]
    [(4, 16), (2, 16)]
    """
    call = _Call(
        model, target, method, stage, (baseline, baselines), chunk_size,
        internal_batch_size, options,
    )  # fmt: skip
    return (call.package([part]) for part in call.parts(X, whole=False))


# -- validation of what does not depend on the data ------------------------------------


@dataclass(frozen=True, eq=False)
class _Part:
    """One batch's results."""

    computed: Computed
    error: np.ndarray | None
    target: np.ndarray
    baseline: np.ndarray | None
    inputs: np.ndarray
    shape: tuple[int, ...]


class _Call:
    """Everything checked before the data is read, and how to run each batch."""

    def __init__(
        self,
        model: Any,
        target: Any,
        method: Any,
        stage: Any,
        baseline_pair: tuple[Any, Any],
        chunk_size: Any,
        internal_batch_size: Any,
        options: Mapping[str, Any],
    ) -> None:
        self.mlp = adapt(model).check_finite()
        self.mlp64 = self.mlp.astype(np.float64)
        self.record: AttributionMethod = get_method(method)
        self.stage = check_choice(stage, "stage", ("pre", "post"))
        self.chunk_size = _chunk_size(chunk_size, internal_batch_size)
        self.options = self.record.resolve(options, self.mlp64, self.stage)
        self.random = None
        if self.record.randomized:
            self.random = RandomStreams(self.options["seed"])
            self.options["seed"] = self.random.entropy
        kind = self.record.baseline_kind(self.options)
        self.baseline = _Baseline(self.mlp, _one_baseline(*baseline_pair), kind, self)
        self.target = _Target(self.mlp, target)
        self.per_row = {
            opt.name: _PerRow(self.options[opt.name], opt.name)
            for opt in self.record.options
            if opt.per_row and self.options[opt.name] is not None
        }
        _check_memory(self.record, self.mlp64, self.options, self.chunk_size)
        self.offset = 0

    # -- the data -------------------------------------------------------------

    def parts(self, X: Any, whole: bool) -> Iterator[_Part]:
        """Run the method on every batch of ``X``, in order."""
        arr, _ = as_array_or_stream(X, "X", self.mlp)
        labels = self.target.kind == "labels"
        if arr is not None:
            if labels:
                raise InvalidParameterError(
                    "`target='labels'` takes each row's label from a stream of "
                    "(X_batch, y_batch) pairs; `X` is one array: pass its labels "
                    "as `target`"
                )
            inputs = check_input(self.mlp, arr, "X", dtype=np.float64)
            self.feature_names = inputs.feature_names
            values = inputs.values
            n = values.shape[0]
            size = n if whole else self.chunk_size
            for start in range(0, n, size):
                batch = values[start : start + size]
                # One input given as a 1-D array gives 1-D attributions.
                one = len(inputs.shape) == 1
                shape = inputs.shape if one else (batch.shape[0], *inputs.shape[1:])
                yield self.run(batch, None, shape, total=n)
        else:
            batches = iter_batches(
                self.mlp, X, labels=labels, dtype=np.float64, chunk_size=self.chunk_size
            )
            for xb, yb in batches:
                self.feature_names = batches.feature_names
                shape = (xb.shape[0], *self.mlp.input_shape)
                yield self.run(xb, yb, shape, total=None)
        self.finish()

    def run(
        self, X: np.ndarray, y: Any, shape: tuple[int, ...], total: int | None
    ) -> _Part:
        """Attribute one batch."""
        n = X.shape[0]
        start = self.offset
        weights, stored = self.target.rows(X, y, start, n, total)
        base = self.baseline.rows(start, n, total)
        options = dict(self.options)
        for name, rows in self.per_row.items():
            options[name] = rows.take(start, n, total)
        problem = Problem(
            mlp=self.mlp64,
            X=X,
            weights=weights,
            stage=self.stage,
            baseline=base,
            options=MappingProxyType(options),
            chunk_size=self.chunk_size,
            random=self.random,
        )
        _check_model_arithmetic(self.mlp, X, base, self.chunk_size)
        # Overflow anywhere (forward, backward, LRP) raises a NumericalError
        # naming the layer; numpy's warnings would only repeat it.
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            computed = self.record.compute(problem)
            error = _completeness_error(computed, self.record)
        _check_computed(problem.chain, computed, error, self.record.name)
        self.offset += n
        return _Part(computed, error, stored, base, X, shape)

    def finish(self) -> None:
        """Refuse per-row arguments longer than the data."""
        total = self.offset
        self.target.finish(total)
        self.baseline.finish(total)
        for rows in self.per_row.values():
            rows.finish(total)

    # -- the result -----------------------------------------------------------

    def package(self, parts: list[_Part]) -> Attribution:
        """One :class:`Attribution` from the parts' results."""
        if not parts:
            raise InvalidParameterError("`X` must not be empty; got no samples")
        first = parts[0]
        if len(parts) == 1:
            shape = first.shape
        else:
            shape = (sum(p.inputs.shape[0] for p in parts), *first.shape[1:])

        def joined(get: Callable[[_Part], np.ndarray | None]) -> np.ndarray | None:
            arrays = [get(p) for p in parts]
            if arrays[0] is None:
                return None
            return arrays[0] if len(arrays) == 1 else np.concatenate(arrays)

        values = joined(lambda p: p.computed.values)
        inputs = joined(lambda p: p.inputs)
        assert values is not None and inputs is not None
        return Attribution(
            values=values.reshape(shape),
            method=self.record.name,
            target=_joined_targets([p.target for p in parts]),
            output=joined(lambda p: p.computed.output),  # type: ignore[arg-type]
            baseline=self.baseline.result(parts, shape),
            baseline_output=joined(lambda p: p.computed.baseline_output),
            completeness_error=joined(lambda p: p.error),
            stage=self.stage,
            input_shape=tuple(self.mlp.input_shape),
            options=MappingProxyType(dict(self.options)),
            inputs=frozen(inputs.reshape(shape)),
            feature_names=getattr(self, "feature_names", None),
        )


def _chunk_size(chunk_size: Any, internal_batch_size: Any) -> int:
    chunk_size = check_chunk_size(chunk_size)
    if internal_batch_size is None:
        return chunk_size
    size = check_chunk_size(internal_batch_size, "internal_batch_size")
    if chunk_size not in (DEFAULT_CHUNK_SIZE, size):
        raise InvalidParameterError(
            f"`internal_batch_size` is Captum's name for `chunk_size`; got both "
            f"({size} and {chunk_size}): pass one"
        )
    return size


def _one_baseline(baseline: Any, baselines: Any) -> Any:
    if baselines is None:
        return baseline
    if baseline is not None:
        raise InvalidParameterError(
            "`baselines` is Captum's name for `baseline`; pass one of the two"
        )
    return baselines


def _check_memory(
    record: AttributionMethod, mlp: Any, options: Mapping[str, Any], chunk_size: int
) -> None:
    items = list(record.memory(mlp, options, chunk_size)) if record.memory else []
    inner = record.inner(options)
    if inner is not None and inner.memory is not None:
        items += inner.memory(mlp, options["base_options"], chunk_size)
    for what, size in items:
        if size > MEMORY_LIMIT:
            raise InvalidParameterError(
                f"{what} would need {_show_bytes(size)}, more than the "
                f"{_show_bytes(MEMORY_LIMIT)} one table may take "
                f"(mlpinspect.analysis.attribution.MEMORY_LIMIT); use fewer steps"
            )


def _show_bytes(size: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if size < 1024 or unit == "PiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} PiB"  # pragma: no cover


# -- targets ---------------------------------------------------------------------------


class _Target:
    """The ``target`` argument, resolved batch by batch."""

    def __init__(self, mlp: Any, target: Any) -> None:
        self.mlp = mlp
        self.value = target
        self.kind = "static"
        if isinstance(target, str) and target in _SPECIAL_TARGETS:
            self._check_special(target)
            self.kind = target
        elif callable(target) and not _is_arraylike(target):
            self.kind = "callable"
        elif target is not None and not isinstance(
            target, (str, bytes, numbers.Number, np.generic)
        ):
            try:
                arr = np.asarray(as_numeric(target, "target")[0])
            except (ValueError, TypeError):  # ragged: [None, range(3)]
                raise InvalidParameterError(
                    f"`target` must be a class, an index or one per row; got "
                    f"{target!r:.60}"
                ) from None
            per_row = (arr.ndim == 1 and arr.dtype.kind != "f") or arr.ndim == 2
            if per_row:
                self.kind, self.value = "rows", arr

    def _check_special(self, target: str) -> None:
        mlp = self.mlp
        if mlp.task not in ("multiclass", "binary"):
            raise InvalidParameterError(
                f"`target={target!r}` needs a classifier (multiclass or binary); "
                f"the model's task is {mlp.task!r}. Pass output positions or "
                f"weights over the outputs"
            )
        if any(str(label) == target for label in mlp.classes.tolist()):
            raise InvalidParameterError(
                f"`target={target!r}` is ambiguous: the model has a class labelled "
                f"{target!r}. Pass a callable (e.g. lambda X: model.predict(X)) or "
                f"the class's position"
            )

    def rows(
        self, X: np.ndarray, y: Any, start: int, n: int, total: int | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``(weights (n, n_outputs), stored target)`` for one batch."""
        mlp = self.mlp
        if self.kind == "static":
            return resolve_target(mlp, self.value, n)
        if self.kind == "rows":
            if total is not None and start == 0 and n == total:
                return resolve_target(mlp, self.value, n)  # the whole array
            part = _take(self.value, start, n, total, "target")
            return resolve_target(mlp, part, n, f"target[{start}:{start + n}]")
        if self.kind == "callable":
            return resolve_target(
                mlp, self.value(X), n, "target (as returned by the callable)"
            )
        if self.kind == "predicted":
            return resolve_target(mlp, mlp.predict(X), n, "target (predicted)")
        return _class_weights(mlp, np.asarray(y))  # "labels": encoded classes

    def finish(self, total: int) -> None:
        if self.kind == "rows":
            _finish(self.value, total, "target")


def _is_arraylike(value: Any) -> bool:
    return hasattr(value, "__array__") or hasattr(value, "__array_interface__")


def _class_weights(mlp: Any, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weights over the outputs for encoded classes (binary: 0 negative, 1 positive)."""
    n = classes.shape[0]
    weights = np.zeros((n, mlp.n_outputs))
    if mlp.task == "binary":
        weights[:, 0] = np.where(classes == 1, 1.0, -1.0)
        units = np.zeros(n, dtype=np.int64)
    else:
        units = classes.astype(np.int64)
        weights[np.arange(n), units] = 1.0
    stored = units if (weights.sum(axis=1) > 0).all() else weights
    return weights, stored


def _joined_targets(targets: list[np.ndarray]) -> np.ndarray:
    if len(targets) == 1:
        return targets[0]
    if all(t.ndim == 1 for t in targets):
        return np.concatenate(targets)
    width = max(t.shape[1] for t in targets if t.ndim == 2)
    rows = []
    for t in targets:
        if t.ndim == 1:
            one_hot = np.zeros((t.size, width))
            one_hot[np.arange(t.size), t] = 1.0
            t = one_hot
        rows.append(t)
    return np.concatenate(rows)


# -- per-row arrays (targets, baselines, explicit draws) -------------------------------


def _take(value: np.ndarray, start: int, n: int, total: int | None, name: str) -> Any:
    """Rows ``start:start + n`` of a per-row argument, refusing a short one."""
    length = value.shape[0]
    if total is not None and length != total:
        raise InvalidParameterError(
            f"`{name}` must have one row per input ({total}); got {length} rows"
        )
    if start + n > length:
        raise InvalidParameterError(
            f"`{name}` must have one row per input; it has {length} rows but the "
            f"stream has more inputs (at least {start + n})"
        )
    return value[start : start + n]


def _finish(value: np.ndarray, total: int, name: str) -> None:
    if value.shape[0] != total:
        raise InvalidParameterError(
            f"`{name}` must have one row per input ({total}); got {value.shape[0]} rows"
        )


class _PerRow:
    """An option whose first axis runs over the rows (explicit draws)."""

    def __init__(self, value: np.ndarray, name: str) -> None:
        self.value, self.name = value, name

    def take(self, start: int, n: int, total: int | None) -> np.ndarray:
        return _take(self.value, start, n, total, self.name)

    def finish(self, total: int) -> None:
        _finish(self.value, total, self.name)


# -- baselines -------------------------------------------------------------------------


class _Baseline:
    """The ``baseline`` argument for the method's kind of baseline."""

    def __init__(self, mlp: Any, baseline: Any, kind: str, call: _Call) -> None:
        self.kind = kind
        self.d = d = mlp.n_inputs
        self.input_shape = shape = tuple(mlp.input_shape)
        self.shared: np.ndarray | None = None
        self.per_row: np.ndarray | None = None
        method = call.record.name
        if kind in ("none", "zero"):
            if baseline is not None:
                what = (
                    "takes no baseline"
                    if kind == "none"
                    else ("uses the zero input as its baseline")
                )
                raise InvalidParameterError(
                    f"method {method!r} {what}; got `baseline` {_describe(baseline)}"
                )
            if kind == "zero":
                self.shared = np.zeros(d)
            return
        if kind == "distribution":
            if baseline is None:
                raise InvalidParameterError(
                    f"method {method!r} needs `baseline`: reference inputs to draw "
                    f"from, shape (K, {d}) or (K, *{shape}) (e.g. training images)"
                )
            arr = check_array(baseline, "baseline", ndim=(1, 2, 1 + len(shape)))
            if arr.shape in {(d,), shape}:
                arr = arr.reshape(1, d)
            elif arr.shape[1:] not in {(d,), shape}:
                raise InvalidParameterError(
                    f"`baseline` (the reference inputs of {method!r}) must have "
                    f"shape (K, {d}) or (K, *{shape}); got shape {arr.shape}"
                )
            self.shared = arr.reshape(arr.shape[0], d)
            _check_model_arithmetic(call.mlp, self.shared, None, call.chunk_size)
            return
        if baseline is None:
            self.shared = np.zeros(d)
        elif isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
            self.shared = np.full(d, check_float(baseline, "baseline"))
        else:
            arr = check_array(
                baseline, "baseline", ndim=tuple(range(0, 2 + len(shape)))
            )
            if arr.ndim == 0:
                self.shared = np.full(d, float(arr))
            elif arr.shape in {(d,), shape}:
                self.shared = arr.reshape(d)
            elif arr.ndim >= 2 and arr.shape[1:] in {(d,), shape}:
                self.per_row = arr.reshape(arr.shape[0], d)
            else:
                raise InvalidParameterError(
                    f"`baseline` must be a number, one input of shape ({d},) or "
                    f"{shape}, or one per row of shape (n, {d}) or (n, *{shape}); "
                    f"got shape {arr.shape}"
                )

    def rows(self, start: int, n: int, total: int | None) -> np.ndarray | None:
        """The baseline of one batch: ``(n, d)`` (a broadcast view when shared),
        the ``(K, d)`` distribution, or None."""
        if self.kind == "none":
            return None
        if self.kind == "distribution":
            return self.shared
        if self.per_row is not None:
            if total is not None and self.per_row.shape[0] != total:
                raise InvalidParameterError(
                    f"`baseline` must be a number, one input of shape ({self.d},) "
                    f"or {self.input_shape}, or one per row of shape ({total}, "
                    f"{self.d}) or ({total}, *{self.input_shape}); got "
                    f"{self.per_row.shape[0]} rows"
                )
            return _take(self.per_row, start, n, total, "baseline")
        assert self.shared is not None
        return np.broadcast_to(self.shared, (n, self.d))

    def finish(self, total: int) -> None:
        if self.per_row is not None:
            _finish(self.per_row, total, "baseline")

    def result(self, parts: list[_Part], shape: tuple[int, ...]) -> np.ndarray | None:
        """The baseline as the result shows it (read-only)."""
        if self.kind == "none":
            return None
        if self.kind == "distribution":
            assert self.shared is not None
            return frozen(self.shared.reshape(-1, *shape[1:]))
        if self.per_row is None:
            assert self.shared is not None
            # A read-only broadcast view: no copy of one row per input.
            n = sum(p.inputs.shape[0] for p in parts)
            return np.broadcast_to(self.shared, (n, self.d)).reshape(shape)
        rows = [p.baseline for p in parts]
        joined = rows[0] if len(rows) == 1 else np.concatenate(rows)
        return frozen(joined.reshape(shape))


def _describe(value: Any) -> str:
    text = repr(value)
    return text[:57] + "..." if len(text) > 60 else text


# -- completeness and overflow ---------------------------------------------------------


def _completeness_error(
    computed: Computed, record: AttributionMethod
) -> np.ndarray | None:
    """Sum of the attributions minus the change of output they explain."""
    if record.completeness == "baseline":
        if computed.baseline_output is None:
            raise InvalidParameterError(
                f"method {record.name!r} claims completeness against the baseline "
                f"but returned no baseline_output"
            )
        explained = computed.output - computed.baseline_output
        return computed.values.sum(axis=1) - explained
    if record.completeness == "output":
        return computed.values.sum(axis=1) - computed.output
    return None


def _check_computed(
    chain: Chain, computed: Computed, error: np.ndarray | None, method: str
) -> None:
    """Raise a NumericalError naming the layer if a result left float64's range."""
    outputs = [computed.output, computed.baseline_output]
    if not all(v is None or all_finite(v) for v in outputs):
        raise chain.overflow(chain.n_layers - 1, "the attributed outputs")
    # Finite row sums prove every value finite (inf and NaN propagate into a
    # sum), which saves a pass over the values; an overflowing sum of finite
    # values is told apart by the element-wise check.
    if error is not None and all_finite(error):
        return
    if not computed.finite and not all_finite(computed.values):
        raise chain.overflow(0, f"the {method} attributions of its inputs")
    if error is not None:
        raise chain.overflow(0, f"the sums of the {method} attributions")


def _check_model_arithmetic(
    mlp: Any, X: np.ndarray, base: np.ndarray | None, chunk_size: int
) -> None:
    """Refuse inputs on which a float32 model itself overflows.

    Attributions are computed on the model's float64 copy, which could give
    finite numbers for inputs the model (in its own dtype) cannot run; its
    forward pass raises a NumericalError naming the layer instead.
    """
    if mlp.dtype == np.float64:
        return
    points = [X]
    if base is not None:
        shared = base.shape[0] <= 1 or base.strides[0] == 0
        points.append(base[:1] if shared else base)
    for Z in points:
        for start in range(0, Z.shape[0], chunk_size):
            mlp.propagate(Z[start : start + chunk_size].astype(mlp.dtype), keep=False)
