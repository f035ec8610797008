"""Activation functions, their derivatives, and one registry by name.

An activation is named by a string everywhere in mlpinspect: ``"sigmoid"``,
``"relu"``, ``"tanh"``, ``"identity"``, ``"softmax"`` and
``"leaky_relu"`` (negative slope 0.01, PyTorch's default) or
``"leaky_relu(0.2)"`` with an explicit slope. :func:`get_activation` turns a
name into an :class:`Activation`, which computes the function and the
vector-Jacobian product used by back-propagation.

Examples
--------
>>> import numpy as np
>>> from mlpinspect.activations import get_activation
>>> act = get_activation("sigmoid")
>>> act(np.array([0.0]))
array([0.5])
>>> get_activation("leaky_relu(0.2)")(np.array([-1.0, 2.0]))
array([-0.2,  2. ])
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .errors import UnsupportedModelError

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "canonical_activation",
    "get_activation",
]

Array = np.ndarray


def _sigmoid(z: Array, out: Array | None = None) -> Array:
    # scipy.special is imported on first use: it alone would double the time
    # `import mlpinspect` takes.
    from scipy.special import expit

    return expit(z, out=out) if out is not None else expit(z)


def _sigmoid_vjp(z: Array, a: Array, g: Array) -> Array:
    # sigma'(z) = sigma(z) * (1 - sigma(z)), written with the stored output a.
    return g * a * (1.0 - a)


def _tanh(z: Array, out: Array | None = None) -> Array:
    return np.tanh(z, out=out) if out is not None else np.tanh(z)


def _tanh_vjp(z: Array, a: Array, g: Array) -> Array:
    return g * (1.0 - a * a)


def _relu(z: Array, out: Array | None = None) -> Array:
    return np.maximum(z, 0, out=out) if out is not None else np.maximum(z, 0)


def _relu_vjp(z: Array, a: Array, g: Array) -> Array:
    return g * (z > 0)


def _identity(z: Array, out: Array | None = None) -> Array:
    if out is None:
        return z.copy()
    out[...] = z
    return out


def _identity_vjp(z: Array, a: Array, g: Array) -> Array:
    return g.copy()


def _softmax(z: Array, out: Array | None = None) -> Array:
    # Subtracting the row maximum keeps exp from overflowing; result unchanged.
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted, out=out) if out is not None else np.exp(shifted)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def _softmax_vjp(z: Array, a: Array, g: Array) -> Array:
    # J = diag(a) - a a^T, so g J = a * (g - <g, a>).
    return a * (g - np.sum(g * a, axis=-1, keepdims=True))


def _leaky_relu(slope: float) -> tuple[Callable, Callable]:
    def forward(z: Array, out: Array | None = None) -> Array:
        result = np.where(z > 0, z, slope * z)
        if out is None:
            return result
        out[...] = result
        return out

    def vjp(z: Array, a: Array, g: Array) -> Array:
        return g * np.where(z > 0, 1.0, slope)

    return forward, vjp


@dataclass(frozen=True)
class Activation:
    """One activation function.

    Attributes
    ----------
    name : str
        Canonical name, e.g. ``"sigmoid"`` or ``"leaky_relu(0.2)"``.
    forward : callable
        ``forward(z, out=None)`` computes the activation of the
        pre-activation ``z`` of shape ``(n, units)``.
    vjp : callable
        ``vjp(z, a, g)`` returns ``g @ J`` where ``J`` is the Jacobian of the
        activation at ``z`` (``a`` is ``forward(z)``); for elementwise
        activations that is ``g * f'(z)``.
    elementwise : bool
        False for softmax, whose output mixes units.
    positive_homogeneous : bool
        True when ``f(c z) = c f(z)`` for ``c >= 0`` (identity, ReLU, leaky
        ReLU): the property behind exact attribution rules such as LRP-0.

    Examples
    --------
    >>> import numpy as np
    >>> act = get_activation("tanh")
    >>> act.name, act.elementwise, act.positive_homogeneous
    ('tanh', True, False)
    >>> z = np.array([[0.0, 1.0]])
    >>> act.vjp(z, act(z), np.ones_like(z)).round(4)  # g * (1 - tanh(z)^2)
    array([[1.  , 0.42]])
    """

    name: str
    forward: Callable = field(repr=False)
    vjp: Callable = field(repr=False)
    elementwise: bool = True
    positive_homogeneous: bool = False

    def __call__(self, z: Array, out: Array | None = None) -> Array:
        return self.forward(z, out=out)


ACTIVATIONS: dict[str, Activation] = {
    "sigmoid": Activation("sigmoid", _sigmoid, _sigmoid_vjp),
    "tanh": Activation("tanh", _tanh, _tanh_vjp),
    "relu": Activation("relu", _relu, _relu_vjp, positive_homogeneous=True),
    "identity": Activation(
        "identity", _identity, _identity_vjp, positive_homogeneous=True
    ),
    "softmax": Activation("softmax", _softmax, _softmax_vjp, elementwise=False),
}
"""The activations known by name; ``leaky_relu(slope)`` is built on demand."""

# Names other libraries use for the same functions.
_ALIASES = {
    "logistic": "sigmoid",
    "linear": "identity",
    "none": "identity",
}

_LEAKY = re.compile(r"^leaky_relu(?:\((?P<slope>[^)]*)\))?$")
_DEFAULT_LEAKY_SLOPE = 0.01


def _known_names() -> str:
    return ", ".join(repr(n) for n in [*ACTIVATIONS, "leaky_relu(slope)"])


def canonical_activation(name: str, argument: str = "activation") -> str:
    """Return the canonical spelling of an activation name.

    ``"logistic"`` becomes ``"sigmoid"``, ``"linear"`` becomes
    ``"identity"``, ``"leaky_relu"`` becomes ``"leaky_relu(0.01)"``.

    Raises
    ------
    UnsupportedModelError
        If the name is unknown; the message lists the known names.

    Examples
    --------
    >>> canonical_activation("logistic"), canonical_activation("Leaky_ReLU")
    ('sigmoid', 'leaky_relu(0.01)')
    """
    if not isinstance(name, str):
        raise UnsupportedModelError(
            f"`{argument}` must be an activation name (str); got "
            f"{type(name).__name__}. Known: {_known_names()}"
        )
    key = name.strip().lower().replace(" ", "")
    key = _ALIASES.get(key, key)
    if key in ACTIVATIONS:
        return key
    match = _LEAKY.match(key)
    if match:
        text = match.group("slope")
        if text is None or text == "":
            slope = _DEFAULT_LEAKY_SLOPE
        else:
            try:
                slope = float(text.split("=")[-1])
            except ValueError:
                slope = float("nan")
            if not np.isfinite(slope):
                raise UnsupportedModelError(
                    f"`{argument}`: the slope in {name!r} must be a finite number"
                )
        return f"leaky_relu({slope!r})"
    raise UnsupportedModelError(
        f"`{argument}` names an unknown activation {name!r}; known: {_known_names()}"
    )


def get_activation(name: str, argument: str = "activation") -> Activation:
    """Return the :class:`Activation` called ``name``.

    Parameters
    ----------
    name : str
        An activation name (see the module documentation); aliases such as
        ``"logistic"`` and ``"linear"`` are accepted.
    argument : str
        The argument name to quote in an error message.

    Returns
    -------
    Activation

    Raises
    ------
    UnsupportedModelError
        If the name is unknown.

    Examples
    --------
    >>> import numpy as np
    >>> get_activation("relu")(np.array([-1.0, 3.0]))
    array([0., 3.])
    """
    key = canonical_activation(name, argument)
    if key in ACTIVATIONS:
        return ACTIVATIONS[key]
    slope = float(key[len("leaky_relu(") : -1])
    forward, vjp = _leaky_relu(slope)
    return Activation(key, forward, vjp, positive_homogeneous=slope >= 0)
