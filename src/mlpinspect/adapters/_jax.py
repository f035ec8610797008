"""What the JAX adapters (Equinox, Flax NNX) share: JAX's activation
functions by name, and reading a JAX array.

``jax.nn.gelu`` is the tanh approximation unless ``approximate=False`` is
given (through ``functools.partial``); ``jax.nn.softplus`` is the exact
softplus; ``jax.nn.leaky_relu``'s slope is 0.01. Functions are recognised by
identity with JAX's own objects (``functools.partial`` of them with keyword
arguments included), never by calling them, so a look-alike function is
refused rather than guessed.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import numpy as np

from ..errors import UnsupportedModelError
from ._chain import as_float

__all__ = ["jax_activation", "to_numpy"]

# jax.nn function name -> (mlpinspect name, {keyword: default})
_FUNCTIONS: dict[str, tuple[str, dict[str, Any]]] = {
    "identity": ("identity", {}),
    "relu": ("relu", {}),
    "sigmoid": ("sigmoid", {}),
    "tanh": ("tanh", {}),
    "gelu": ("gelu", {"approximate": True}),
    "silu": ("silu", {}),
    "swish": ("silu", {}),
    "mish": ("mish", {}),
    "elu": ("elu", {"alpha": 1.0}),
    "celu": ("celu", {"alpha": 1.0}),
    "selu": ("selu", {}),
    "softplus": ("softplus", {}),
    "soft_sign": ("softsign", {}),
    "relu6": ("relu6", {}),
    "hard_tanh": ("hardtanh", {}),
    "hard_sigmoid": ("hardsigmoid", {}),
    "hard_silu": ("hardswish", {}),
    "hard_swish": ("hardswish", {}),
    "leaky_relu": ("leaky_relu", {"negative_slope": 0.01}),
    "softmax": ("softmax", {"axis": -1}),
    "log_softmax": ("log_softmax", {"axis": -1}),
}

SUPPORTED_FUNCTIONS = ", ".join(f"jax.nn.{name}" for name in _FUNCTIONS)


@functools.lru_cache(maxsize=1)
def _table() -> dict[int, str]:
    """``id(function) -> jax.nn name`` for JAX's own activation objects."""
    jax = sys.modules["jax"]
    jnp = sys.modules["jax.numpy"]
    table = {id(getattr(jax.nn, name)): name for name in _FUNCTIONS}
    table[id(jnp.tanh)] = "tanh"
    return table


def jax_activation(function: Any, label: str) -> str:
    """The mlpinspect name of a JAX activation function, or raise naming it."""
    keywords: dict[str, Any] = {}
    if isinstance(function, functools.partial) and not function.args:
        keywords = dict(function.keywords)
        function = function.func
    name = _table().get(id(function))
    if name is None:
        shown = getattr(function, "__name__", None) or type(function).__name__
        raise UnsupportedModelError(
            f"{label} applies {shown!r}, which is not an activation mlpinspect "
            f"recognises (it compares with JAX's own functions, never calls "
            f"yours). Supported: {SUPPORTED_FUNCTIONS}, functools.partial of them "
            f"with keyword arguments"
        )
    canonical, defaults = _FUNCTIONS[name]
    unknown = set(keywords) - set(defaults)
    if unknown:
        raise UnsupportedModelError(
            f"{label} gives {name} the argument(s) {sorted(unknown)}, which "
            f"mlpinspect does not read"
        )
    options = {**defaults, **keywords}
    if name == "gelu":
        return "gelu_tanh" if options["approximate"] else "gelu"
    if name in ("elu", "celu"):
        return f"{name}({float(options['alpha'])!r})"
    if name == "leaky_relu":
        return f"leaky_relu({float(options['negative_slope'])!r})"
    if name in ("softmax", "log_softmax") and options["axis"] not in (-1, 1):
        raise UnsupportedModelError(
            f"{label} takes the {name} over axis={options['axis']}; only the last "
            f"axis is supported"
        )
    return canonical


def to_numpy(array: Any) -> np.ndarray:
    """A JAX array's values as numpy (a view where JAX allows; Dense copies)."""
    if array is None:
        return None  # type: ignore[return-value]
    if (getattr(type(array), "__module__", "") or "").startswith("flax"):
        array = array[...]  # a Flax Variable holds its array
    return as_float(np.asarray(array))
