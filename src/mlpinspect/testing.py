"""Tools for testing adapters, and code that uses mlpinspect.

:func:`check_adapter` is a conformance kit for adapter authors, in the
spirit of scikit-learn's ``check_estimator``: run it on your adapter and an
example model, and it checks the :class:`~mlpinspect.Adapter` protocol, the
shapes, dtypes and read-only-ness of the resulting
:class:`~mlpinspect.MLP`, that its task and class names fit its outputs,
that its arrays are copies, that its forward pass equals the framework's own
output and (given the framework's ``predict``) that it predicts the same
labels. Each contract is one ``check_*``
function whose failure message says how to fix the adapter;
:func:`parametrize_adapter_checks` turns them into separate pytest cases.

:class:`FakeModel` and :class:`FakeAdapter` are a tiny "framework" and its
adapter, for tests that need a foreign model without installing one, and
:func:`registered_adapter` registers an adapter for the length of a
``with`` block.

Examples
--------
>>> from mlpinspect.testing import FakeAdapter, FakeModel, check_adapter
>>> model = FakeModel([6, 4, 3], seed=0)
>>> mlp = check_adapter(FakeAdapter(), model, model.forward,
...                     arrays=model.parameters(), mutate=FakeModel.perturb)
>>> mlp.sizes
(6, 4, 3)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ._validation import (
    _describe,
    check_float,
    check_float_dtype,
    check_input,
    check_int,
    check_rng,
    is_sequence,
)
from .activations import canonical_activation
from .adapters import _registry
from .adapters._registry import _check_adapter
from .errors import InvalidParameterError, MlpinspectError
from .mlp import MLP, TASKS, Dense

__all__ = [
    "AdapterCheckError",
    "FakeAdapter",
    "FakeModel",
    "adapter_checks",
    "check_adapter",
    "check_can_adapt",
    "check_copies",
    "check_deterministic",
    "check_dtypes",
    "check_forward",
    "check_no_shared_memory",
    "check_predict",
    "check_protocol",
    "check_read_only",
    "check_rejects_others",
    "check_rejects_unknown_options",
    "check_returns_mlp",
    "check_shapes",
    "check_task",
    "default_tolerance",
    "parametrize_adapter_checks",
    "registered_adapter",
]

# Objects no adapter for a real framework should claim.
_FOREIGN = (None, 1.5, "not-a-model.txt", object(), {"a": 1}, np.zeros(3))


class AdapterCheckError(MlpinspectError, AssertionError):
    """An adapter broke one of the contracts :func:`check_adapter` checks.

    An ``AssertionError`` (what a test framework reports as a failure) and,
    like every exception mlpinspect raises, a
    :class:`~mlpinspect.MlpinspectError`.

    Examples
    --------
    >>> from mlpinspect.testing import AdapterCheckError, check_protocol
    >>> try:
    ...     check_protocol(object())
    ... except AssertionError as exc:  # AdapterCheckError is an AssertionError
    ...     print(type(exc).__name__)
    AdapterCheckError
    """


def _fail(check: str, message: str) -> None:
    raise AdapterCheckError(f"{check}: {message}")


def default_tolerance(dtype: Any) -> tuple[float, float]:
    """The ``(rtol, atol)`` used to compare forward passes in ``dtype``.

    ``(1e-4, 1e-5)`` for float32 and lower precisions, where the framework
    and numpy may sum in a different order; ``(1e-9, 1e-12)`` for float64.
    A comparison passes when ``|mlp - framework| <= atol + rtol * |framework|``.

    Examples
    --------
    >>> default_tolerance(np.float32)
    (0.0001, 1e-05)
    """
    try:
        itemsize = np.dtype(dtype).itemsize
    except Exception:  # numpy raises TypeError, ValueError, SyntaxError...
        raise InvalidParameterError(
            f"`dtype` must be a numpy dtype such as float32; got {_describe(dtype)}"
        ) from None
    if itemsize >= 8:
        return 1e-9, 1e-12
    return 1e-4, 1e-5


def _options(options: Any) -> dict[str, Any]:
    if options is None:
        return {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise InvalidParameterError(
            f"`options` must be None or a dict of keyword options for adapt; got "
            f"{_describe(options)}"
        )
    return dict(options)


def _adapt(
    adapter: Any, model: Any, options: Any, check: str = "check_returns_mlp"
) -> MLP:
    """``adapter.adapt(model, **options)``; its failures are the adapter's."""
    options = _options(options)
    if not callable(getattr(adapter, "adapt", None)):
        _fail(check, "the adapter needs an `adapt` method (see mlpinspect.Adapter)")
    try:
        mlp = adapter.adapt(model, **options)
    except Exception as exc:
        _fail(check, f"adapt(model) raised {type(exc).__name__}: {exc}")
    if not isinstance(mlp, MLP):
        _fail(
            check,
            f"adapt(model) returned {type(mlp).__name__}; it must return "
            f"mlpinspect.MLP([mlpinspect.Dense(weight, bias, activation), ...])",
        )
    return mlp


def _check_mlp(mlp: Any) -> MLP:
    if not isinstance(mlp, MLP):
        raise InvalidParameterError(
            f"`mlp` must be an mlpinspect.MLP (what an adapter returns); got "
            f"{_describe(mlp)}"
        )
    return mlp


def _check_callable(value: Any, name: str, optional: bool = False) -> Any:
    if (value is None and optional) or callable(value):
        return value
    raise InvalidParameterError(
        f"`{name}` must be a function{' or None' if optional else ''}; got "
        f"{_describe(value)}"
    )


def _call(check: str, what: str, fn: Callable[..., Any], *args: Any) -> Any:
    """Call the framework's own ``fn``: its exceptions are check failures."""
    try:
        return fn(*args)
    except Exception as exc:
        _fail(check, f"{what} raised {type(exc).__name__}: {exc}")


def _arrays(mlp: MLP) -> Iterator[tuple[str, np.ndarray]]:
    for i, layer in enumerate(mlp.layers):
        yield f"layers[{i}].weight", layer.weight
        yield f"layers[{i}].bias", layer.bias
        if layer.activation_params is not None:
            yield f"layers[{i}].activation_params", layer.activation_params


# -- the checks ------------------------------------------------------------------


def check_protocol(adapter: Any) -> None:
    """The adapter has a non-empty ``name`` and callable ``can_adapt``/``adapt``.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> check_protocol(FakeAdapter())  # passes: returns None
    """
    name = getattr(adapter, "name", None)
    if not isinstance(name, str) or not name:
        _fail(
            "check_protocol",
            f"the adapter needs a `name` attribute, a short non-empty string such as "
            f"'myframework'; got {name!r}",
        )
    for method in ("can_adapt", "adapt"):
        if not callable(getattr(adapter, method, None)):
            _fail(
                "check_protocol",
                f"the adapter needs a `{method}` method (see mlpinspect.Adapter)",
            )
    if not isinstance(adapter, _registry.Adapter):
        _fail("check_protocol", "the adapter does not follow mlpinspect.Adapter")


def check_can_adapt(adapter: Any, model: Any) -> None:
    """``adapter.can_adapt(model)`` is exactly ``True``.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> check_can_adapt(FakeAdapter(), FakeModel([3, 2], seed=0))
    """
    try:
        result = adapter.can_adapt(model)
    except Exception as exc:
        _fail(
            "check_can_adapt",
            f"can_adapt raised {type(exc).__name__}: {exc}; it must return a bool "
            f"and never raise",
        )
    if result is not True:
        _fail(
            "check_can_adapt",
            f"can_adapt(model) returned {result!r} for a {type(model).__name__}; it "
            f"must return True for the models the adapter converts",
        )


def check_rejects_others(adapter: Any) -> None:
    """``can_adapt`` returns ``False``, without raising, for unrelated objects.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> check_rejects_others(FakeAdapter())
    >>> class Greedy(FakeAdapter):
    ...     def can_adapt(self, obj):
    ...         return True
    >>> check_rejects_others(Greedy())
    Traceback (most recent call last):
    ...
    mlpinspect.testing.AdapterCheckError: check_rejects_others: can_adapt(None) ...
    """
    for obj in _FOREIGN:
        try:
            result = adapter.can_adapt(obj)
        except Exception as exc:
            _fail(
                "check_rejects_others",
                f"can_adapt({obj!r}) raised {type(exc).__name__}: {exc}; it is "
                f"called on every object mlpinspect.adapt sees, so it must return "
                f"False for objects it does not know",
            )
        if result is not False:
            _fail(
                "check_rejects_others",
                f"can_adapt({obj!r}) returned {result!r}; claim only your own "
                f"framework's models (test type(obj).__module__ or isinstance "
                f"against a class found in sys.modules) and return a bool",
            )


def check_returns_mlp(
    adapter: Any, model: Any, options: Mapping[str, Any] | None = None
) -> MLP:
    """``adapter.adapt(model, **options)`` returns an :class:`~mlpinspect.MLP`.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> check_returns_mlp(FakeAdapter(), FakeModel([3, 2], seed=0)).sizes
    (3, 2)
    """
    return _adapt(adapter, model, options)


def check_rejects_unknown_options(
    adapter: Any, model: Any, options: Mapping[str, Any] | None = None
) -> None:
    """``adapt`` raises ``TypeError`` or ``ValueError`` for an unknown option.

    A misspelt option (``activation=`` for ``activations=``) must not be
    silently ignored.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> check_rejects_unknown_options(FakeAdapter(), FakeModel([3, 2], seed=0))
    """
    options = _options(options)
    if not callable(getattr(adapter, "adapt", None)):
        _fail(
            "check_rejects_unknown_options",
            "the adapter needs an `adapt` method (see mlpinspect.Adapter)",
        )
    try:
        adapter.adapt(model, **options, mlpinspect_no_such_option=1)
    except (TypeError, ValueError):
        return
    except Exception as exc:
        _fail(
            "check_rejects_unknown_options",
            f"an unknown option raised {type(exc).__name__}; raise TypeError or "
            f"ValueError (mlpinspect.InvalidParameterError is both)",
        )
    _fail(
        "check_rejects_unknown_options",
        "adapt(model, mlpinspect_no_such_option=1) did not raise; reject options "
        "you do not know with TypeError or ValueError so that typos are noticed",
    )


def check_shapes(mlp: MLP) -> None:
    """Weights are ``(out, in)``, biases ``(out,)``, layers chain, input fits.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> check_shapes(FakeAdapter().adapt(FakeModel([3, 2], seed=0)))
    """
    mlp = _check_mlp(mlp)
    previous = None
    for i, layer in enumerate(mlp.layers):
        w, b = layer.weight, layer.bias
        if w.ndim != 2 or b.shape != (w.shape[0],):
            _fail(
                "check_shapes",
                f"layer {i}: weight {w.shape} and bias {b.shape} must be (out, in) "
                f"and (out,)",
            )
        if previous is not None and w.shape[1] != previous:
            _fail(
                "check_shapes",
                f"layer {i} has {w.shape[1]} inputs but layer {i - 1} has {previous} "
                f"units; weights must be (out, in) (transpose (in, out) kernels once)",
            )
        previous = w.shape[0]
    if int(np.prod(mlp.input_shape)) != mlp.n_inputs:
        _fail(
            "check_shapes",
            f"input_shape {mlp.input_shape} does not multiply to {mlp.n_inputs}",
        )


def check_dtypes(mlp: MLP) -> None:
    """Every array is float32 or float64, and a bias has its weight's dtype.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> import numpy as np
    >>> check_dtypes(FakeAdapter().adapt(FakeModel([3, 2], dtype=np.float32)))
    """
    mlp = _check_mlp(mlp)
    for i, layer in enumerate(mlp.layers):
        for what, arr in (("weight", layer.weight), ("bias", layer.bias)):
            if arr.dtype not in (np.float32, np.float64):
                _fail(
                    "check_dtypes",
                    f"layers[{i}].{what} has dtype {arr.dtype}; use float32 or "
                    f"float64 (convert half precision to float32)",
                )
        if layer.bias.dtype != layer.weight.dtype:
            _fail(
                "check_dtypes",
                f"layers[{i}]: bias dtype {layer.bias.dtype} differs from weight "
                f"dtype {layer.weight.dtype}",
            )


def check_task(mlp: MLP) -> None:
    """The task is one of :data:`~mlpinspect.TASKS` or None, and the class and
    feature names fit the outputs and inputs.

    ``class_names`` has one label per output, or two (negative, positive)
    for a binary model's one output unit, and none for a regressor;
    ``feature_names`` has one name per input.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> check_task(FakeAdapter().adapt(FakeModel([3, 2], seed=0)))
    """
    task = _check_mlp(mlp).task
    if task is not None and task not in TASKS:
        _fail(
            "check_task",
            f"task {task!r} is not one of {TASKS} or None; pass task= to "
            f"mlpinspect.MLP with what the framework says the outputs mean",
        )
    if task is None and mlp.n_outputs != 1:
        _fail(
            "check_task",
            f"task is None for {mlp.n_outputs} outputs; only one output without "
            f"a sigmoid (a logit or a value) may leave its task open",
        )
    names = mlp.class_names
    if names is not None:
        expected = 2 if task == "binary" or task is None else mlp.n_outputs
        if task == "regression":
            _fail(
                "check_task",
                f"a regression model has class_names {names!r:.60}; leave them out",
            )
        if len(names) != expected:
            what = (
                "two (negative, positive) for one output unit"
                if expected == 2 and mlp.n_outputs == 1
                else "one per output"
            )
            _fail(
                "check_task",
                f"class_names has {len(names)} labels for a {task} model with "
                f"{mlp.n_outputs} output(s); it needs {what}",
            )
    features = mlp.feature_names
    if features is not None and len(features) != mlp.n_inputs:
        _fail(
            "check_task",
            f"feature_names has {len(features)} names for {mlp.n_inputs} inputs; "
            f"give one per input",
        )


def check_read_only(mlp: MLP) -> None:
    """No array of the MLP can be written.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> check_read_only(FakeAdapter().adapt(FakeModel([3, 2], seed=0)))
    """
    mlp = _check_mlp(mlp)
    for name, arr in _arrays(mlp):
        if arr.flags.writeable:
            _fail(
                "check_read_only",
                f"{name} is writable; build layers with mlpinspect.Dense, which "
                f"copies arrays and makes them read-only",
            )
        first = (0,) * arr.ndim  # index, not reshape: that may copy
        try:
            arr[first] = arr[first]
        except ValueError:
            continue
        _fail("check_read_only", f"writing into {name} did not raise ValueError")


def check_no_shared_memory(mlp: MLP, arrays: Sequence[Any]) -> None:
    """No array of the MLP shares memory with the framework's ``arrays``.

    Parameters
    ----------
    mlp : MLP
    arrays : sequence of array_like
        The framework's parameters as numpy arrays that view its memory (for
        PyTorch, ``[p.detach().numpy() for p in model.parameters()]``).

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> model = FakeModel([3, 2], seed=0)
    >>> check_no_shared_memory(FakeAdapter().adapt(model), model.parameters())
    """
    mlp = _check_mlp(mlp)
    if not is_sequence(arrays):
        raise InvalidParameterError(
            f"`arrays` must be a sequence of the framework's arrays; got "
            f"{_describe(arrays)}"
        )
    for i, source in enumerate(arrays):
        try:
            source = np.asarray(source)
        except Exception as exc:
            raise InvalidParameterError(
                f"`arrays[{i}]` must be an array; could not convert it: {exc}"
            ) from None
        for name, arr in _arrays(mlp):
            if np.shares_memory(arr, source):
                _fail(
                    "check_no_shared_memory",
                    f"{name} shares memory with a framework array of shape "
                    f"{source.shape}; pass the array to mlpinspect.Dense (which "
                    f"copies) instead of wrapping its buffer",
                )


def check_forward(
    mlp: MLP,
    forward: Callable[[np.ndarray], Any],
    *,
    inputs: Any = None,
    rtol: float | None = None,
    atol: float | None = None,
    seed: int = 0,
) -> None:
    """The MLP's output equals the framework's within a tolerance.

    Parameters
    ----------
    mlp : MLP
    forward : callable
        ``forward(X)`` returns the framework's own output for the numpy array
        ``X`` of shape ``(n, *mlp.input_shape)``, as an array of shape
        ``(n, n_outputs)`` (or ``(n,)`` for one output).
    inputs : array_like, optional
        Inputs of shape ``(n, *mlp.input_shape)`` or ``(n, n_inputs)``;
        default 16 standard-normal rows in the MLP's dtype.
    rtol, atol : float, optional
        Default :func:`default_tolerance` of the MLP's dtype.
    seed : int
        Seeds the default inputs.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> model = FakeModel([4, 3, 2], seed=0)
    >>> check_forward(FakeAdapter().adapt(model), model.forward)
    """
    mlp = _check_mlp(mlp)
    forward = _check_callable(forward, "forward")
    default_rtol, default_atol = default_tolerance(mlp.dtype)
    rtol = default_rtol if rtol is None else check_float(rtol, "rtol", minimum=0.0)
    atol = default_atol if atol is None else check_float(atol, "atol", minimum=0.0)
    X = _default_inputs(mlp, inputs, seed)
    expected = _call("check_forward", "forward(X)", forward, X)
    try:
        expected = np.asarray(expected, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        _fail("check_forward", f"forward(X) returned no array of numbers ({exc})")
    if expected.ndim == 1:
        expected = expected.reshape(-1, 1)
    got = np.asarray(mlp.forward(X), dtype=np.float64)
    if expected.shape != got.shape:
        _fail(
            "check_forward",
            f"the framework's output has shape {expected.shape} but the MLP's has "
            f"{got.shape}; check the layer order and the output layer",
        )
    error = np.abs(got - expected)
    bound = atol + rtol * np.abs(expected)
    if not (error <= bound).all():
        worst = np.unravel_index(np.argmax(error - bound), error.shape)
        _fail(
            "check_forward",
            f"the MLP's output differs from the framework's by up to "
            f"{error.max():.3g} (at {tuple(int(i) for i in worst)}: MLP "
            f"{got[worst]:.6g}, framework {expected[worst]:.6g}; rtol={rtol}, "
            f"atol={atol}); check the weight layout (out, in), biases, the "
            f"activation names and slopes, and that dropout-like layers are skipped",
        )


def _default_inputs(mlp: MLP, inputs: Any, seed: Any) -> np.ndarray:
    if inputs is None:
        rng = check_rng(seed)
        return rng.standard_normal((16, *mlp.input_shape)).astype(mlp.dtype)
    values = check_input(mlp, inputs, "inputs").values
    return values.reshape(values.shape[0], *mlp.input_shape)


def check_predict(
    mlp: MLP,
    predict: Callable[[np.ndarray], Any],
    *,
    inputs: Any = None,
    seed: int = 0,
) -> None:
    """The MLP predicts exactly the framework's labels (or values).

    Compares ``mlp.predict(X)`` with the framework's ``predict(X)``: labels
    of the same values (so the adapter must set the task and the class
    names), a 0/1 indicator matrix for a multilabel model, exactly equal
    numbers for a regressor. A prediction can flip where an output sits
    right at the decision threshold, so prefer float64 models or inputs
    away from the boundary.

    Parameters
    ----------
    mlp : MLP
    predict : callable
        ``predict(X)`` returns the framework's predictions for the numpy
        array ``X`` of shape ``(n, *mlp.input_shape)``, e.g. scikit-learn's
        ``clf.predict``.
    inputs : array_like, optional
        Default 16 standard-normal rows in the MLP's dtype.
    seed : int
        Seeds the default inputs.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> model = FakeModel([4, 3, 3], seed=0, classes=["a", "b", "c"])
    >>> check_predict(FakeAdapter().adapt(model), model.predict)
    """
    mlp = _check_mlp(mlp)
    predict = _check_callable(predict, "predict")
    X = _default_inputs(mlp, inputs, seed)
    try:
        got = np.asarray(mlp.predict(X))
    except Exception as exc:
        _fail(
            "check_predict",
            f"mlp.predict raised {type(exc).__name__}: {exc}; set the MLP's task "
            f"(and class_names) from what the framework knows",
        )
    expected = np.asarray(_call("check_predict", "predict(X)", predict, X))
    if expected.ndim == 2 and expected.shape[1] == 1 and got.ndim == 1:
        expected = expected[:, 0]
    if expected.shape != got.shape:
        _fail(
            "check_predict",
            f"the framework predicts shape {expected.shape} but the MLP "
            f"{got.shape}; check the MLP's task ({mlp.task!r})",
        )
    wrong = np.flatnonzero((got != expected).reshape(len(got), -1).any(axis=1))
    if wrong.size:
        i = int(wrong[0])
        _fail(
            "check_predict",
            f"the MLP predicts differently from the framework on {wrong.size} of "
            f"{len(got)} row(s) (row {i}: MLP {got[i]!r}, framework "
            f"{expected[i]!r}); check the task ({mlp.task!r}) and class_names "
            f"({mlp.class_names!r:.60}) the adapter sets",
        )


def _same_mlp(a: MLP, b: MLP) -> str | None:
    if a.sizes != b.sizes:
        return f"sizes {a.sizes} and {b.sizes}"
    if a.activation_names != b.activation_names:
        return f"activations {a.activation_names} and {b.activation_names}"
    if a.input_shape != b.input_shape or a.class_names != b.class_names:
        return "input_shape or class_names"
    if a.task != b.task or a.feature_names != b.feature_names:
        return "task or feature_names"
    for (name, x), (_, y) in zip(_arrays(a), _arrays(b)):
        if x.dtype != y.dtype or not np.array_equal(x, y):
            return name
    return None


def check_deterministic(
    adapter: Any, model: Any, options: Mapping[str, Any] | None = None
) -> None:
    """Adapting the same model twice gives equal MLPs in separate memory.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> check_deterministic(FakeAdapter(), FakeModel([3, 2], seed=0))
    """
    first = _adapt(adapter, model, options, "check_deterministic")
    second = _adapt(adapter, model, options, "check_deterministic")
    difference = _same_mlp(first, second)
    if difference is not None:
        _fail(
            "check_deterministic",
            f"adapting the same model twice gave different {difference}; adapt must "
            f"not depend on state or randomness",
        )
    for (name, x), (_, y) in zip(_arrays(first), _arrays(second)):
        if np.shares_memory(x, y):
            _fail(
                "check_deterministic",
                f"two adaptations share the memory of {name}; copy the weights",
            )


def check_copies(
    adapter: Any,
    model: Any,
    mutate: Callable[[Any], Any],
    options: Mapping[str, Any] | None = None,
) -> None:
    """Changing the model after adapting it does not change the MLP.

    ``mutate(model)`` must change the model's weights in place (for PyTorch,
    ``with torch.no_grad(): p.add_(1.0)`` for every parameter). The check
    also adapts the changed model to make sure the change was real, so the
    check cannot pass vacuously. Run it last: it changes ``model``.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> model = FakeModel([3, 2], seed=0)
    >>> check_copies(FakeAdapter(), model, FakeModel.perturb)
    """
    mutate = _check_callable(mutate, "mutate")
    mlp = _adapt(adapter, model, options, "check_copies")
    snapshot = [(name, arr.copy()) for name, arr in _arrays(mlp)]
    _call("check_copies", "mutate(model)", mutate, model)
    for (name, before), (_, now) in zip(snapshot, _arrays(mlp)):
        if not np.array_equal(before, now):
            _fail(
                "check_copies",
                f"{name} changed when the model was changed after adapting it; copy "
                f"the weights (mlpinspect.Dense does) instead of viewing them",
            )
    if _same_mlp(mlp, _adapt(adapter, model, options, "check_copies")) is None:
        _fail(
            "check_copies",
            "`mutate` did not change what the adapter reads, so this check proves "
            "nothing; make mutate change the model's weights in place",
        )


# -- running them ----------------------------------------------------------------


def adapter_checks(
    adapter: Any,
    model: Any,
    forward: Callable[[np.ndarray], Any] | None = None,
    *,
    inputs: Any = None,
    options: Mapping[str, Any] | None = None,
    arrays: Sequence[Any] | None = None,
    mutate: Callable[[Any], Any] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    predict: Callable[[np.ndarray], Any] | None = None,
) -> list[tuple[str, Callable[[], None]]]:
    """The checks :func:`check_adapter` runs, as ``(name, check)`` pairs.

    Each ``check`` takes no argument and raises :class:`AdapterCheckError`
    on failure. Checks that need an MLP adapt the model afresh, so they can
    run in any order; the ``check_copies`` check (present when ``mutate`` is
    given) changes the model and comes last. Parameters are those of
    :func:`check_adapter`.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> model = FakeModel([3, 2], seed=0)
    >>> checks = adapter_checks(FakeAdapter(), model, model.forward)
    >>> [name for name, _ in checks][:3]
    ['check_protocol', 'check_can_adapt', 'check_rejects_others']
    >>> for name, check in checks:
    ...     _ = check()  # raises AdapterCheckError on failure
    """
    options = _options(options)
    forward = _check_callable(forward, "forward", optional=True)
    predict = _check_callable(predict, "predict", optional=True)
    mutate = _check_callable(mutate, "mutate", optional=True)
    if rtol is not None:
        rtol = check_float(rtol, "rtol", minimum=0.0)
    if atol is not None:
        atol = check_float(atol, "atol", minimum=0.0)
    if arrays is not None and (not is_sequence(arrays)):
        raise InvalidParameterError(
            f"`arrays` must be None or a sequence of the framework's arrays; got "
            f"{_describe(arrays)}"
        )

    def fresh() -> MLP:
        return check_returns_mlp(adapter, model, options)

    checks: list[tuple[str, Callable[[], None]]] = [
        ("check_protocol", lambda: check_protocol(adapter)),
        ("check_can_adapt", lambda: check_can_adapt(adapter, model)),
        ("check_rejects_others", lambda: check_rejects_others(adapter)),
        ("check_returns_mlp", lambda: check_returns_mlp(adapter, model, options)),
        (
            "check_rejects_unknown_options",
            lambda: check_rejects_unknown_options(adapter, model, options),
        ),
        ("check_shapes", lambda: check_shapes(fresh())),
        ("check_dtypes", lambda: check_dtypes(fresh())),
        ("check_task", lambda: check_task(fresh())),
        ("check_read_only", lambda: check_read_only(fresh())),
        ("check_deterministic", lambda: check_deterministic(adapter, model, options)),
    ]
    if arrays is not None:
        checks.append(
            ("check_no_shared_memory", lambda: check_no_shared_memory(fresh(), arrays))
        )
    if forward is not None:
        checks.append(
            (
                "check_forward",
                lambda: check_forward(
                    fresh(), forward, inputs=inputs, rtol=rtol, atol=atol
                ),
            )
        )
    if predict is not None:
        checks.append(
            (
                "check_predict",
                lambda: check_predict(fresh(), predict, inputs=inputs),
            )
        )
    if mutate is not None:
        checks.append(
            ("check_copies", lambda: check_copies(adapter, model, mutate, options))
        )
    return checks


def check_adapter(
    adapter: Any,
    model: Any,
    forward: Callable[[np.ndarray], Any] | None = None,
    *,
    inputs: Any = None,
    options: Mapping[str, Any] | None = None,
    arrays: Sequence[Any] | None = None,
    mutate: Callable[[Any], Any] | None = None,
    rtol: float | None = None,
    atol: float | None = None,
    predict: Callable[[np.ndarray], Any] | None = None,
) -> MLP:
    """Check that an adapter follows the contract, on an example model.

    Runs every check (see :func:`adapter_checks`) and reports all failures
    at once.

    Parameters
    ----------
    adapter : Adapter
        The adapter under test (an instance).
    model : object
        A model the adapter converts.
    forward : callable, optional
        ``forward(X)`` returns the framework's own output for a numpy array
        ``X`` of shape ``(n, *input_shape)``, e.g. for PyTorch
        ``lambda X: model(torch.from_numpy(X)).detach().numpy()``. Without
        it the forward pass is not compared.
    inputs : array_like, optional
        Inputs for the forward comparison; default 16 standard-normal rows.
    options : mapping, optional
        Keyword options for ``adapter.adapt``.
    arrays : sequence of array_like, optional
        numpy views of the framework's parameter memory; the MLP must not
        share memory with any of them.
    mutate : callable, optional
        ``mutate(model)`` changes the model's weights in place; the MLP
        adapted before must not change. Runs last.
    rtol, atol : float, optional
        Tolerances of the forward comparison; default
        :func:`default_tolerance` of the MLP's dtype: ``(1e-4, 1e-5)`` for
        float32, ``(1e-9, 1e-12)`` for float64.
    predict : callable, optional
        ``predict(X)`` returns the framework's own predictions (labels or
        values), e.g. scikit-learn's ``clf.predict``; the MLP's
        :meth:`~mlpinspect.MLP.predict` must equal them exactly (see
        :func:`check_predict`).

    Returns
    -------
    MLP
        The adapted model (adapted before ``mutate`` ran).

    Raises
    ------
    AdapterCheckError
        An ``AssertionError`` listing every failed check and how to fix it.

    Examples
    --------
    >>> model = FakeModel([4, 3], seed=1, classes=["a", "b", "c"])
    >>> check_adapter(FakeAdapter(), model, model.forward, predict=model.predict)
    MLP(4-3, activations=[softmax], task='multiclass', name='FakeModel')
    """
    failures: list[str] = []
    mlp: MLP | None = None
    for name, check in adapter_checks(
        adapter,
        model,
        forward,
        inputs=inputs,
        options=options,
        arrays=arrays,
        mutate=mutate,
        rtol=rtol,
        atol=atol,
        predict=predict,
    ):
        try:
            if name == "check_returns_mlp":
                mlp = check_returns_mlp(adapter, model, options)
            else:
                check()
        except AdapterCheckError as exc:
            failures.append(str(exc))
            if name in ("check_protocol", "check_returns_mlp"):
                break  # nothing else can be checked
    if failures:
        raise AdapterCheckError(
            f"the {getattr(adapter, 'name', type(adapter).__name__)!r} adapter "
            f"failed {len(failures)} check(s):\n- " + "\n- ".join(failures)
        )
    assert mlp is not None
    return mlp


def parametrize_adapter_checks(
    adapter: Any,
    model: Any,
    forward: Callable[[np.ndarray], Any] | None = None,
    **kwargs: Any,
) -> Any:
    """A ``pytest.mark.parametrize`` over the checks, one test case each.

    Takes the arguments of :func:`check_adapter`; the decorated test receives
    a ``check`` argument to call::

        @parametrize_adapter_checks(MyAdapter(), make_model(), forward)
        def test_my_adapter(check):
            check()

    Needs pytest.

    Examples
    --------
    >>> from mlpinspect.testing import FakeAdapter, FakeModel
    >>> model = FakeModel([3, 2], seed=0)
    >>> mark = parametrize_adapter_checks(FakeAdapter(), model, model.forward)
    >>> mark.args[0], len(mark.args[1])
    ('check', 11)
    """
    import pytest

    checks = adapter_checks(adapter, model, forward, **kwargs)
    return pytest.mark.parametrize(
        "check", [pytest.param(check, id=name) for name, check in checks]
    )


@contextlib.contextmanager
def registered_adapter(adapter: Any, *, first: bool = False) -> Iterator[Any]:
    """Register ``adapter`` for the length of a ``with`` block.

    The registry is restored afterwards, including an adapter of the same
    name that ``adapter`` replaced.

    Examples
    --------
    >>> from mlpinspect.adapters import adapt, registered_adapters
    >>> with registered_adapter(FakeAdapter()):
    ...     adapt(FakeModel([2, 2], seed=0)).sizes
    (2, 2)
    >>> "fake" in [a.name for a in registered_adapters()]
    False
    """
    registry = _registry._REGISTRY
    with registry._lock:
        saved = list(registry._adapters)
    registry.register(adapter, first=first)
    try:
        yield _check_adapter(adapter) if isinstance(adapter, type) else adapter
    finally:
        with registry._lock:
            registry._adapters = saved


# -- a fake framework ------------------------------------------------------------


class FakeModel:
    """A multilayer perceptron from an imaginary framework, for tests.

    Like Keras and scikit-learn it stores kernels as ``(in, out)``, so an
    adapter has to transpose them, and it computes its own forward pass.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first.
    activations : sequence of str, optional
        One name per layer; default ``"relu"`` in hidden layers and
        ``"softmax"`` at the output.
    seed : int, optional
        Seeds the random weights.
    dtype : dtype
        float32 or float64.
    classes : sequence, optional
        The class labels, like scikit-learn's ``classes_``: one per output,
        or two (negative, positive) for one output. Default: positions.

    Examples
    --------
    >>> model = FakeModel([4, 3, 2], seed=0, classes=["no", "yes"])
    >>> model.forward(np.ones((5, 4))).shape
    (5, 2)
    >>> model.predict(np.ones((1, 4)))
    array(['yes'], dtype='<U3')
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activations: Sequence[str] | None = None,
        *,
        seed: int | None = None,
        dtype: Any = np.float64,
        classes: Sequence[Any] | None = None,
    ) -> None:
        rng = check_rng(seed)
        if not is_sequence(sizes):
            raise InvalidParameterError(
                f"`sizes` must be a list of layer sizes such as [4, 3, 2]; got "
                f"{_describe(sizes)}"
            )
        sizes = [check_int(s, f"sizes[{i}]", minimum=1, maximum=2**20)
                 for i, s in enumerate(sizes)]  # fmt: skip
        if len(sizes) < 2:
            raise InvalidParameterError(
                f"`sizes` must have at least 2 entries (inputs and outputs); got "
                f"{sizes}"
            )
        dtype = check_float_dtype(dtype)
        n = len(sizes) - 1
        self.kernels = [
            (rng.standard_normal((a, b)) / np.sqrt(a)).astype(dtype)
            for a, b in zip(sizes[:-1], sizes[1:])
        ]
        self.biases = [(0.1 * rng.standard_normal(b)).astype(dtype) for b in sizes[1:]]
        if activations is None:
            activations = ["relu"] * (n - 1) + ["softmax"]
        if not is_sequence(activations):
            raise InvalidParameterError(
                f"`activations` must be a list of {n} activation names; got "
                f"{_describe(activations)}"
            )
        self.activations = [
            canonical_activation(a, f"activations[{i}]")
            for i, a in enumerate(activations)
        ]
        if len(self.activations) != n:
            raise InvalidParameterError(
                f"`activations` must have one name per layer ({n}); got "
                f"{len(self.activations)}"
            )
        if classes is not None and (not is_sequence(classes)):
            raise InvalidParameterError(
                f"`classes` must be None or a list of labels; got {_describe(classes)}"
            )
        self.classes = None if classes is None else list(classes)

    def parameters(self) -> list[np.ndarray]:
        """The kernels and biases (the arrays themselves, not copies)."""
        return [*self.kernels, *self.biases]

    def forward(self, X: Any) -> np.ndarray:
        """The model's output, shape ``(n, sizes[-1])``."""
        from .activations import get_activation

        a = np.asarray(X)
        a = a.reshape(a.shape[0], -1)
        for kernel, bias, name in zip(self.kernels, self.biases, self.activations):
            a = get_activation(name)(a @ kernel + bias)
        return a

    __call__ = forward

    def predict(self, X: Any) -> np.ndarray:
        """The label of the largest output; for one output, the second label
        where the output exceeds its activation at zero (0.5 for a sigmoid)."""
        from .activations import get_activation

        out = self.forward(X)
        n_classes = 2 if out.shape[1] == 1 else out.shape[1]
        classes = np.arange(n_classes) if self.classes is None else self.classes
        if out.shape[1] == 1:
            threshold = get_activation(self.activations[-1]).at_zero
            return np.asarray(classes)[(out[:, 0] > threshold).astype(int)]
        return np.asarray(classes)[out.argmax(axis=1)]

    def perturb(self) -> None:
        """Add 1 to every parameter, in place (a ``mutate`` for check_copies)."""
        for p in self.parameters():
            p += 1


class FakeAdapter:
    """The adapter for :class:`FakeModel`; a model for writing your own.

    Examples
    --------
    >>> FakeAdapter().adapt(FakeModel([3, 2], seed=0)).sizes
    (3, 2)
    >>> FakeAdapter().adapt(FakeModel([3, 1], ["sigmoid"], classes=["n", "y"]))
    MLP(3-1, activations=[sigmoid], task='binary', name='FakeModel')
    """

    name = "fake"
    description = "mlpinspect.testing.FakeModel (for tests)"

    def can_adapt(self, obj: Any) -> bool:
        return isinstance(obj, FakeModel)

    def adapt(self, obj: FakeModel, **options: Any) -> MLP:
        if options:
            raise TypeError(f"unknown options {sorted(options)}")
        layers = [
            Dense(kernel.T, bias, name)  # (in, out) -> (out, in); Dense copies
            for kernel, bias, name in zip(obj.kernels, obj.biases, obj.activations)
        ]
        return MLP(layers, class_names=obj.classes, name="FakeModel")
