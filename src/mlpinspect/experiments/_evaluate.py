"""What is measured on each trained network: built-in evaluations by name, or
any function of the network returning a dict of numbers.

A built-in evaluation is one entry of :data:`EVALUATIONS` (name -> function);
adding one is one function and one entry.
"""

from __future__ import annotations

import hashlib
import math
import numbers
import types
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import is_integer
from ..errors import InvalidParameterError

__all__ = ["EVALUATIONS", "check_evaluate", "evaluate_network", "identity"]

Evaluation = Callable[[Any, Any, Any], Mapping[str, Any]]


def _accuracy(network: Any, X_test: Any, y_test: Any) -> dict[str, float]:
    return {"test_accuracy": network.score(X_test, y_test)}


def _train_accuracy(network: Any, X: Any, y: Any) -> dict[str, float]:
    return {"train_accuracy": network.score(X, y)}


def _drift(network: Any, X_test: Any, y_test: Any) -> dict[str, float]:
    from ..analysis import drift_from_init

    drift = drift_from_init(network, layer=0)
    return {
        "drift_cosine": drift.mean_cosine,
        "drift_relative_change": drift.mean_relative_change,
    }


def _smoothness(network: Any, X_test: Any, y_test: Any) -> dict[str, float]:
    from ..analysis import smoothness, weight_images

    return {
        "smoothness": smoothness(weight_images(network, layer=0)).mean,
        "smoothness_at_init": smoothness(
            weight_images(network.initial_mlp(), layer=0)
        ).mean,
    }


# name -> (function, what it needs: "test" or "train", columns it fills)
EVALUATIONS: dict[str, tuple[Evaluation, str, tuple[str, ...]]] = {
    "accuracy": (_accuracy, "test", ("test_accuracy",)),
    "train_accuracy": (_train_accuracy, "train", ("train_accuracy",)),
    "drift": (_drift, "test", ("drift_cosine", "drift_relative_change")),
    "smoothness": (_smoothness, "test", ("smoothness", "smoothness_at_init")),
}
"""Built-in evaluations: name -> (function, data it reads, columns it fills).

``"accuracy"`` gives ``test_accuracy`` (needs test data); ``"train_accuracy"``
the accuracy on the training data; ``"drift"`` the mean cosine between each
first-layer unit's trained and initial weights (``drift_cosine``) and the
mean relative change of their norm (``drift_relative_change``), as
:func:`mlpinspect.drift_from_init`; ``"smoothness"`` the mean smoothness of
the first layer's weight images after training and at initialisation, as
:func:`mlpinspect.smoothness`.
"""

_NEEDS_TEST = {"accuracy"}


def check_evaluate(
    evaluate: Any, *, has_test: bool, name: str = "evaluate"
) -> tuple[str | Callable[..., Any], ...]:
    """Names of built-in evaluations and callables, checked."""
    if isinstance(evaluate, str) or callable(evaluate):
        evaluate = (evaluate,)
    if not isinstance(evaluate, Sequence):
        raise InvalidParameterError(
            f"`{name}` must be a list of evaluation names ({', '.join(EVALUATIONS)}) "
            f"and functions; got {evaluate!r:.60}"
        )
    items: list[str | Callable[..., Any]] = []
    for i, item in enumerate(evaluate):
        if isinstance(item, str):
            if item not in EVALUATIONS:
                raise InvalidParameterError(
                    f"`{name}[{i}]` must be one of {', '.join(map(repr, EVALUATIONS))} "
                    f"or a function; got {item!r}"
                )
            if item in _NEEDS_TEST and not has_test:
                raise InvalidParameterError(
                    f"`{name}[{i}]` is {item!r}, which needs `test` data; give "
                    f"`test=(X_test, y_test)` or leave {item!r} out"
                )
        elif not callable(item):
            raise InvalidParameterError(
                f"`{name}[{i}]` must be an evaluation name or a function of "
                f"(network, X_test, y_test); got {item!r:.60}"
            )
        if item not in items:
            items.append(item)
    return tuple(items)


def _code_digest(code: types.CodeType, digest: Any) -> None:
    digest.update(code.co_code)
    digest.update(repr(code.co_names).encode())
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            _code_digest(const, digest)
        elif isinstance(const, frozenset):
            digest.update(repr(sorted(map(repr, const))).encode())
        else:
            digest.update(repr(const).encode())


def identity(item: str | Callable[..., Any]) -> str:
    """How an evaluation enters the cache key.

    A built-in evaluation by its name; a function by its module, qualified
    name and a digest of its bytecode (so editing the function's body gives
    new keys); another callable by its type's module and qualified name and
    the bytecode of its ``__call__``.
    """
    if isinstance(item, str):
        return item
    target = item if isinstance(item, types.FunctionType) else type(item)
    where = (
        f"{getattr(target, '__module__', '?')}:{getattr(target, '__qualname__', '?')}"
    )
    function = item if isinstance(item, types.FunctionType) else None
    if function is None:
        call = next(
            (vars(k)["__call__"] for k in type(item).__mro__ if "__call__" in vars(k)),
            None,
        )
        function = call if isinstance(call, types.FunctionType) else None
    if function is None:
        return where
    digest = hashlib.sha256()
    _code_digest(function.__code__, digest)
    return f"{where}#{digest.hexdigest()[:16]}"


def _number(value: Any, where: str) -> bool | int | float:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, bool):
        return value
    if is_integer(value):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)
    raise InvalidParameterError(
        f"{where} must be a number; got {value!r:.60} ({type(value).__name__})"
    )


def evaluate_network(
    network: Any,
    items: Sequence[str | Callable[..., Any]],
    X: Any,
    y: Any,
    X_test: Any,
    y_test: Any,
    reserved: Sequence[str],
) -> dict[str, bool | int | float]:
    """Every evaluation of ``items`` on a trained network, merged into one dict."""
    values: dict[str, bool | int | float] = {}
    for item in items:
        if isinstance(item, str):
            function, data, _ = EVALUATIONS[item]
            result = function(
                network, *((X, y) if data == "train" else (X_test, y_test))
            )
            where = f"evaluation {item!r}"
        else:
            result = item(network, X_test, y_test)
            where = f"the evaluation function {identity(item).split('#')[0]}"
        if not isinstance(result, Mapping):
            raise InvalidParameterError(
                f"{where} must return a dict of name -> number; got "
                f"{type(result).__name__}"
            )
        for key, value in result.items():
            if not isinstance(key, str) or key in reserved:
                raise InvalidParameterError(
                    f"{where} returned the key {key!r}, which is not a string or is "
                    f"already a column of the table ({', '.join(reserved)})"
                )
            if key in values:
                raise InvalidParameterError(
                    f"{where} returned {key!r}, which an earlier evaluation "
                    f"already gave"
                )
            values[key] = _number(value, f"{where}: {key!r}")
    return values


def nan_if_missing(value: Any) -> Any:
    """JSON's null back to NaN (the cache stores non-finite numbers as null)."""
    return math.nan if value is None else value
