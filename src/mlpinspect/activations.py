"""Activation functions as records: one record says everything about one function.

An activation is named by a string everywhere in mlpinspect. The known names:

- ``"identity"``, ``"sigmoid"``, ``"tanh"``, ``"relu"``, ``"leaky_relu"``
  (negative slope 0.01, PyTorch's default) or ``"leaky_relu(0.2)"``;
- smooth units: ``"gelu"`` (exact, with the error function) and
  ``"gelu_tanh"`` (the tanh approximation), ``"silu"`` (also ``"swish"``),
  ``"mish"``, ``"elu"`` / ``"elu(alpha)"``, ``"selu"``, ``"celu"`` /
  ``"celu(alpha)"``, ``"softplus"`` (exact) or ``"softplus(beta, threshold)"``
  (PyTorch's: the identity where ``beta * z > threshold``), ``"softsign"``;
- clipped units: ``"relu6"``, ``"hardtanh(min, max)"`` (``"hardtanh"`` is
  ``[-1, 1]``), ``"hardsigmoid"`` / ``"hardsigmoid(alpha, beta)"`` (``clip(alpha
  z + beta, 0, 1)``; PyTorch's and Keras' ``alpha = 1/6``, ONNX's 0.2),
  ``"hardswish"``;
- ``"prelu"``: a leaky ReLU with one learned slope per unit. The slopes are
  layer data, not part of the name: ``Dense(W, b, "prelu",
  activation_params=slopes)``;
- output heads: ``"softmax"`` and ``"log_softmax"`` (a multi-class head whose
  probabilities are ``exp`` of the outputs).

:func:`get_activation` turns a name into an :class:`Activation`, a frozen
record holding

- the function and its vector-Jacobian product (what back-propagation needs);
- an in-place derivative kernel for the numpy training loop and a code for the
  compiled one (so the trainer needs no list of names of its own);
- the properties the analyses rely on: elementwise or not, positively
  homogeneous, piecewise linear, sign-preserving, non-negative, and the value
  at zero (where a binary head puts its decision threshold).

A new activation is one record, registered with :func:`register_activation`
(parameterised families such as ``leaky_relu(slope)`` register a builder
that takes the parameters parsed from the name).

Examples
--------
>>> import numpy as np
>>> from mlpinspect.activations import get_activation
>>> act = get_activation("sigmoid")
>>> act(np.array([0.0]))
array([0.5])
>>> get_activation("leaky_relu(0.2)")(np.array([-1.0, 2.0]))
array([-0.2,  2. ])
>>> get_activation("hardtanh(0, 6)").name
'relu6'
>>> get_activation("prelu", params=[0.1, 0.3])(np.array([[-1.0, -1.0]]))
array([[-0.1, -0.3]])
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InvalidParameterError, UnsupportedModelError

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "canonical_activation",
    "get_activation",
    "register_activation",
    "takes_unit_params",
]

Array = np.ndarray
#: ``kernel(z, a, g, tmp)`` multiplies ``g`` in place by ``f'(z)``.
DerivativeKernel = Callable[[Array, Array, Array, Array], None]


# -- the functions ----------------------------------------------------------------


def _sigmoid(z: Array, out: Array | None = None) -> Array:
    # scipy.special is imported on first use: it alone would double the time
    # `import mlpinspect` takes.
    from scipy.special import expit

    return expit(z, out=out) if out is not None else expit(z)


def _sigmoid_vjp(z: Array, a: Array, g: Array) -> Array:
    # sigma'(z) = sigma(z) * (1 - sigma(z)), written with the stored output a.
    return g * a * (1.0 - a)


def _sigmoid_kernel(z: Array, a: Array, g: Array, tmp: Array) -> None:
    np.multiply(a, a, out=tmp)  # f' = a (1 - a) = a - a^2
    np.subtract(a, tmp, out=tmp)
    np.multiply(g, tmp, out=g)


def _tanh(z: Array, out: Array | None = None) -> Array:
    return np.tanh(z, out=out) if out is not None else np.tanh(z)


def _tanh_vjp(z: Array, a: Array, g: Array) -> Array:
    return g * (1.0 - a * a)


def _tanh_kernel(z: Array, a: Array, g: Array, tmp: Array) -> None:
    np.multiply(a, a, out=tmp)  # f' = 1 - a^2
    np.subtract(1.0, tmp, out=tmp)
    np.multiply(g, tmp, out=g)


def _relu(z: Array, out: Array | None = None) -> Array:
    return np.maximum(z, 0, out=out) if out is not None else np.maximum(z, 0)


def _relu_vjp(z: Array, a: Array, g: Array) -> Array:
    return g * (z > 0)


def _relu_kernel(z: Array, a: Array, g: Array, tmp: Array) -> None:
    np.multiply(g, z > 0, out=g)


def _identity(z: Array, out: Array | None = None) -> Array:
    if out is None:
        return z.copy()
    if out is not z:
        out[...] = z
    return out


def _identity_vjp(z: Array, a: Array, g: Array) -> Array:
    return g.copy()


def _identity_kernel(z: Array, a: Array, g: Array, tmp: Array) -> None:
    return None


def _softmax(z: Array, out: Array | None = None) -> Array:
    # Subtracting the row maximum keeps exp from overflowing; result unchanged.
    shifted = z - z.max(axis=-1, keepdims=True)
    e = np.exp(shifted, out=out) if out is not None else np.exp(shifted)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def _softmax_vjp(z: Array, a: Array, g: Array) -> Array:
    # J = diag(a) - a a^T, so g J = a * (g - <g, a>).
    return a * (g - np.sum(g * a, axis=-1, keepdims=True))


# -- the record -------------------------------------------------------------------


@dataclass(frozen=True)
class Activation:
    """One activation function and everything mlpinspect needs to know about it.

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
    piecewise_linear : bool
        True when ``f`` is linear between finitely many kinks (identity,
        ReLU, leaky ReLU).
    sign_preserving : bool
        True when ``f(z)`` never has the opposite sign of ``z`` (``z f(z) >=
        0``: identity, ReLU, leaky ReLU, tanh): passing LRP relevance through
        the activation unchanged then keeps its meaning.
    nonnegative : bool
        True when ``f(z) >= 0`` for every ``z`` (ReLU, sigmoid, softmax): what
        the z+ and alpha-beta LRP rules assume of a layer's inputs.
    kinks : tuple of float or None
        For a piecewise-linear activation, the points where its slope changes
        (``(0.0,)`` for ReLU and leaky ReLU, ``()`` for the identity); None
        when unknown or not piecewise linear. Exact integrated gradients
        finds where the path crosses them.
    kernel : callable
        ``kernel(z, a, g, tmp)`` multiplies ``g`` in place by ``f'(z)``
        (``tmp`` is scratch space shaped like ``g``): the numpy training
        loop's derivative step. For softmax it applies the vector-Jacobian
        product.
    engine_code : tuple of (int, float) or None
        The compiled training loop's code for this function and its
        parameter (None: the compiled loop does not implement it).
    at_zero : float
        ``f(0)``, for elementwise activations (NaN otherwise). A binary head
        predicts the positive class when its output exceeds it: 0.5 for a
        sigmoid, 0 for an identity logit.

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
    piecewise_linear: bool = False
    sign_preserving: bool = False
    nonnegative: bool = False
    kinks: tuple[float, ...] | None = None
    kernel: DerivativeKernel | None = field(default=None, repr=False)
    engine_code: tuple[int, float] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.kernel is None:
            vjp = self.vjp

            def general(z: Array, a: Array, g: Array, tmp: Array) -> None:
                g[...] = vjp(z, a, g)

            object.__setattr__(self, "kernel", general)

    def __call__(self, z: Array, out: Array | None = None) -> Array:
        return self.forward(z, out=out)

    @functools.cached_property
    def at_zero(self) -> float:  # type: ignore[override]
        if not self.elementwise:
            return float("nan")
        return float(self.forward(np.zeros(1))[0])


def _leaky_relu(slope: float = 0.01) -> Activation:
    def forward(z: Array, out: Array | None = None) -> Array:
        result = np.where(z > 0, z, slope * z)
        if out is None:
            return result
        out[...] = result
        return out

    def vjp(z: Array, a: Array, g: Array) -> Array:
        return g * np.where(z > 0, 1.0, slope)

    return Activation(
        f"leaky_relu({slope!r})",
        forward,
        vjp,
        positive_homogeneous=slope >= 0,
        piecewise_linear=True,
        sign_preserving=slope >= 0,
        nonnegative=slope == 0,
        kinks=(0.0,) if slope != 1 else (),
        engine_code=(4, slope),
    )


def _store(result: Array, out: Array | None) -> Array:
    """``result``, written into ``out`` when one is given (``out`` may be ``z``)."""
    if out is None:
        return result
    out[...] = result
    return out


def _number(value: float) -> str:
    """A parameter as it appears in a canonical name: ``0.2``, ``-1.0``."""
    return repr(float(value))


# The smooth units. Each forward is written as the frameworks write it, so
# that float64 results agree with PyTorch's to the last few bits.


def _gelu(z: Array, out: Array | None = None) -> Array:
    from scipy.special import erf

    return _store(z * 0.5 * (1.0 + erf(z * _SQRT1_2)), out)


def _gelu_vjp(z: Array, a: Array, g: Array) -> Array:
    from scipy.special import ndtr

    # d/dz z Phi(z) = Phi(z) + z phi(z)
    return g * (ndtr(z) + z * np.exp(-0.5 * z * z) * _INV_SQRT_2PI)


def _gelu_tanh_inner(z: Array) -> Array:
    with np.errstate(over="ignore"):
        return _SQRT_2_OVER_PI * (z + 0.044715 * z * z * z)


def _gelu_tanh(z: Array, out: Array | None = None) -> Array:
    return _store(0.5 * z * (1.0 + np.tanh(_gelu_tanh_inner(z))), out)


def _gelu_tanh_vjp(z: Array, a: Array, g: Array) -> Array:
    t = np.tanh(_gelu_tanh_inner(z))
    with np.errstate(over="ignore", invalid="ignore"):
        inner = _SQRT_2_OVER_PI * (1.0 + 3 * 0.044715 * z * z)
        slope = 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * inner
    # Far from 0 the product above is inf * 0; the slope is 1 or 0 there.
    return g * np.where(np.isfinite(slope), slope, (z > 0).astype(slope.dtype))


def _silu(z: Array, out: Array | None = None) -> Array:
    return _store(z * _sigmoid(z), out)


def _silu_vjp(z: Array, a: Array, g: Array) -> Array:
    s = _sigmoid(z)
    return g * (s * (1.0 + z * (1.0 - s)))


def _mish(z: Array, out: Array | None = None) -> Array:
    return _store(z * np.tanh(np.logaddexp(0, z)), out)


def _mish_vjp(z: Array, a: Array, g: Array) -> Array:
    t = np.tanh(np.logaddexp(0, z))
    return g * (t + z * (1.0 - t * t) * _sigmoid(z))


def _softsign(z: Array, out: Array | None = None) -> Array:
    return _store(z / (1.0 + np.abs(z)), out)


def _softsign_vjp(z: Array, a: Array, g: Array) -> Array:
    d = 1.0 + np.abs(z)
    return g / (d * d)


def _hardswish(z: Array, out: Array | None = None) -> Array:
    # PyTorch: z * relu6(z + 3) / 6
    return _store(z * np.clip(z + 3.0, 0.0, 6.0) / 6.0, out)


def _hardswish_vjp(z: Array, a: Array, g: Array) -> Array:
    # PyTorch's backward: 0 up to -3, z/3 + 1/2 below 3, 1 from 3 on.
    return g * np.where(z <= -3.0, 0.0, np.where(z < 3.0, z / 3.0 + 0.5, 1.0))


def _selu(z: Array, out: Array | None = None) -> Array:
    return _store(
        _SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0))),
        out,
    )


def _selu_vjp(z: Array, a: Array, g: Array) -> Array:
    return g * np.where(z > 0, _SELU_SCALE, _SELU_SCALE * _SELU_ALPHA * np.exp(
        np.minimum(z, 0)))  # fmt: skip


def _log_softmax(z: Array, out: Array | None = None) -> Array:
    shifted = z - z.max(axis=-1, keepdims=True)
    return _store(shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True)), out)


def _log_softmax_vjp(z: Array, a: Array, g: Array) -> Array:
    # J = I - 1 softmax(z)^T, so g J = g - softmax(z) <g, 1>; softmax = exp(a).
    return g - np.exp(a) * g.sum(axis=-1, keepdims=True)


# The parameterised families: each builder returns the record for its
# parameters (named without them when they are the defaults).


def _elu(alpha: float = 1.0) -> Activation:
    def forward(z: Array, out: Array | None = None) -> Array:
        return _store(np.where(z > 0, z, alpha * np.expm1(np.minimum(z, 0))), out)

    def vjp(z: Array, a: Array, g: Array) -> Array:
        return g * np.where(z > 0, 1.0, alpha * np.exp(np.minimum(z, 0)))

    return Activation(
        "elu" if alpha == 1.0 else f"elu({_number(alpha)})",
        forward,
        vjp,
        positive_homogeneous=alpha == 0,
        piecewise_linear=alpha == 0,
        sign_preserving=alpha >= 0,
        nonnegative=alpha <= 0,
    )


def _celu(alpha: float = 1.0) -> Activation:
    if alpha <= 0:
        raise UnsupportedModelError(f"celu(alpha) needs alpha > 0; got {alpha}")

    def forward(z: Array, out: Array | None = None) -> Array:
        # max(0, z) + min(0, alpha (exp(z / alpha) - 1))
        neg = alpha * np.expm1(np.minimum(z, 0) / alpha)
        return _store(np.maximum(z, 0) + neg, out)

    def vjp(z: Array, a: Array, g: Array) -> Array:
        return g * np.where(z > 0, 1.0, np.exp(np.minimum(z, 0) / alpha))

    return Activation(
        "celu" if alpha == 1.0 else f"celu({_number(alpha)})",
        forward,
        vjp,
        sign_preserving=True,
    )


def _softplus(beta: float = 1.0, threshold: float | None = None) -> Activation:
    if beta <= 0:
        raise UnsupportedModelError(f"softplus(beta, ...) needs beta > 0; got {beta}")

    if threshold is None:

        def forward(z: Array, out: Array | None = None) -> Array:
            return _store(np.logaddexp(0, beta * z) / beta, out)

        def vjp(z: Array, a: Array, g: Array) -> Array:
            return g * _sigmoid(beta * z)

        name = "softplus" if beta == 1.0 else f"softplus({_number(beta)})"
    else:
        # PyTorch: z where beta z > threshold, else log1p(exp(beta z)) / beta.
        def forward(z: Array, out: Array | None = None) -> Array:
            bz = beta * z
            soft = np.log1p(np.exp(np.minimum(bz, threshold))) / beta
            return _store(np.where(bz > threshold, z, soft), out)

        def vjp(z: Array, a: Array, g: Array) -> Array:
            bz = beta * z
            return g * np.where(bz > threshold, 1.0, _sigmoid(bz))

        name = f"softplus({_number(beta)}, {_number(threshold)})"
    return Activation(name, forward, vjp, nonnegative=True)


def _hardtanh(low: float = -1.0, high: float = 1.0) -> Activation:
    if not low < high:
        raise UnsupportedModelError(
            f"hardtanh(min, max) needs min < max; got min={low}, max={high}"
        )

    def forward(z: Array, out: Array | None = None) -> Array:
        return _store(np.clip(z, low, high), out)

    def vjp(z: Array, a: Array, g: Array) -> Array:
        return g * ((z > low) & (z < high))

    if (low, high) == (0.0, 6.0):
        name = "relu6"
    elif (low, high) == (-1.0, 1.0):
        name = "hardtanh"
    else:
        name = f"hardtanh({_number(low)}, {_number(high)})"
    return Activation(
        name,
        forward,
        vjp,
        piecewise_linear=True,
        sign_preserving=low <= 0 <= high,
        nonnegative=low >= 0,
    )


def _hardsigmoid(alpha: float = 1 / 6, beta: float = 0.5) -> Activation:
    default = (alpha, beta) == (1 / 6, 0.5)

    def forward(z: Array, out: Array | None = None) -> Array:
        if default:  # PyTorch and Keras: relu6(z + 3) / 6
            return _store(np.clip(z + 3.0, 0.0, 6.0) / 6.0, out)
        return _store(np.clip(alpha * z + beta, 0.0, 1.0), out)

    def vjp(z: Array, a: Array, g: Array) -> Array:
        inner = alpha * z + beta
        return g * np.where((inner > 0) & (inner < 1), alpha, 0.0)

    name = "hardsigmoid" if default else (
        f"hardsigmoid({_number(alpha)}, {_number(beta)})")  # fmt: skip
    return Activation(
        name,
        forward,
        vjp,
        piecewise_linear=True,
        # f(z) has the sign of z only if f(0) = beta is 0 and alpha >= 0.
        sign_preserving=beta == 0 and alpha >= 0,
        nonnegative=True,
    )


def _prelu(slopes: Array) -> Activation:
    """A leaky ReLU with one slope per unit (the last axis)."""
    try:
        slopes = np.asarray(slopes)
    except (TypeError, ValueError):
        slopes = np.asarray(None)
    if slopes.dtype.kind not in "biuf" or slopes.ndim > 1 or slopes.size == 0:
        raise InvalidParameterError(
            f"prelu's parameters must be a 1-D array of slopes, one per unit; got "
            f"{getattr(slopes, 'shape', None)} of dtype {slopes.dtype}"
        )

    def forward(z: Array, out: Array | None = None) -> Array:
        return _store(np.where(z > 0, z, slopes * z), out)

    def vjp(z: Array, a: Array, g: Array) -> Array:
        return g * np.where(z > 0, np.ones_like(slopes), slopes)

    return Activation(
        "prelu",
        forward,
        vjp,
        # PReLU(c z) = c PReLU(z) for c >= 0, whatever the slopes.
        positive_homogeneous=True,
        piecewise_linear=True,
        sign_preserving=bool((slopes >= 0).all()),
        nonnegative=bool((slopes == 0).all()),
    )


_SQRT1_2 = 0.7071067811865476  # 1 / sqrt(2)
_INV_SQRT_2PI = 0.3989422804014327  # 1 / sqrt(2 pi)
_SQRT_2_OVER_PI = 0.7978845608028654  # sqrt(2 / pi)
# SELU's constants (Klambauer et al. 2017), as PyTorch writes them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


@dataclass(frozen=True)
class _Family:
    """A parameterised family: ``builder(*numbers)`` or ``builder(array)``."""

    builder: Callable[..., Activation]
    n_params: int
    per_unit: bool = False


ACTIVATIONS: dict[str, Activation] = {}
"""The activations known by name (parameterised families are built on demand)."""

_FAMILIES: dict[str, _Family] = {}
# Names other libraries use for the same functions.
_ALIASES: dict[str, str] = {
    "logistic": "sigmoid",
    "linear": "identity",
    "none": "identity",
}


def register_activation(
    record: Activation | Callable[..., Activation],
    *,
    family: str | None = None,
    n_params: int = 0,
    per_unit: bool = False,
    aliases: Sequence[str] = (),
) -> None:
    """Make an activation known by name: one record, or a parameterised family.

    Parameters
    ----------
    record : Activation or callable
        A ready record (known by its ``name``), or, with ``family``, a builder
        ``builder(*params) -> Activation`` called with the numbers parsed from
        ``"family(p1, p2)"`` (none: the builder's defaults).
    family : str, optional
        The family's name, e.g. ``"leaky_relu"``.
    n_params : int
        How many numbers the family takes at most.
    per_unit : bool
        The family's parameters are one array per layer (one value per unit,
        as PReLU's slopes), given as ``get_activation(name, params=array)``
        or ``Dense(..., activation_params=array)``, never in the name: the
        builder is called with that array.
    aliases : sequence of str
        Other names for it.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect.activations import Activation, register_activation
    >>> square = Activation("square", lambda z, out=None: np.square(z, out=out),
    ...                     lambda z, a, g: 2 * z * g)
    >>> register_activation(square)
    >>> get_activation("square")(np.array([3.0]))
    array([9.])
    """
    if family is None:
        if not isinstance(record, Activation):
            raise UnsupportedModelError(
                "`record` must be an Activation unless `family` names a family"
            )
        ACTIVATIONS[record.name] = record
        name = record.name
    else:
        _FAMILIES[family] = _Family(record, n_params, per_unit)
        name = family
    for alias in aliases:
        _ALIASES[alias] = name
    if "_lookup" in globals():  # names registered later replace cached lookups
        _lookup.cache_clear()


register_activation(
    Activation(
        "sigmoid",
        _sigmoid,
        _sigmoid_vjp,
        nonnegative=True,
        kernel=_sigmoid_kernel,
        engine_code=(1, 0.0),
    ),
    aliases=("logistic",),
)
register_activation(
    Activation(
        "tanh",
        _tanh,
        _tanh_vjp,
        sign_preserving=True,
        kernel=_tanh_kernel,
        engine_code=(2, 0.0),
    )
)
register_activation(
    Activation(
        "relu",
        _relu,
        _relu_vjp,
        positive_homogeneous=True,
        piecewise_linear=True,
        sign_preserving=True,
        nonnegative=True,
        kinks=(0.0,),
        kernel=_relu_kernel,
        engine_code=(3, 0.0),
    )
)
register_activation(
    Activation(
        "identity",
        _identity,
        _identity_vjp,
        positive_homogeneous=True,
        piecewise_linear=True,
        sign_preserving=True,
        kinks=(),
        kernel=_identity_kernel,
        engine_code=(0, 0.0),
    ),
    aliases=("linear", "none"),
)
register_activation(
    Activation(
        "softmax",
        _softmax,
        _softmax_vjp,
        elementwise=False,
        nonnegative=True,
        engine_code=(5, 0.0),
    )
)
register_activation(
    Activation(
        "log_softmax",
        _log_softmax,
        _log_softmax_vjp,
        elementwise=False,
    ),
    aliases=("logsoftmax",),
)
register_activation(_leaky_relu, family="leaky_relu", n_params=1)
for _record, _aliases in (
    (Activation("gelu", _gelu, _gelu_vjp, sign_preserving=True), ()),
    (
        Activation("gelu_tanh", _gelu_tanh, _gelu_tanh_vjp, sign_preserving=True),
        ("gelu_approximate", "approximate_gelu"),
    ),
    (Activation("silu", _silu, _silu_vjp, sign_preserving=True), ("swish",)),
    (Activation("mish", _mish, _mish_vjp, sign_preserving=True), ()),
    (Activation("selu", _selu, _selu_vjp, sign_preserving=True), ()),
    (
        Activation("softsign", _softsign, _softsign_vjp, sign_preserving=True),
        ("soft_sign",),
    ),
    (
        Activation("hardswish", _hardswish, _hardswish_vjp, sign_preserving=True),
        ("hard_swish", "hard_silu", "hardsilu"),
    ),
):
    register_activation(_record, aliases=_aliases)
register_activation(_elu, family="elu", n_params=1)
register_activation(_celu, family="celu", n_params=1)
register_activation(_softplus, family="softplus", n_params=2)
register_activation(_hardtanh, family="hardtanh", n_params=2,
                    aliases=("hard_tanh", "clip"))  # fmt: skip
register_activation(_hardsigmoid, family="hardsigmoid", n_params=2,
                    aliases=("hard_sigmoid",))  # fmt: skip
register_activation(_hardtanh(0.0, 6.0))
register_activation(_prelu, family="prelu", per_unit=True)
del _record, _aliases

_CALL = re.compile(r"^(?P<family>[a-z_0-9]+)(?:\((?P<params>[^)]*)\))?$")


def _known_names() -> str:
    families = [
        f"{f}(...)" if not family.per_unit else f"{f} (per-unit parameters)"
        for f, family in _FAMILIES.items()
    ]
    return ", ".join(repr(n) for n in [*ACTIVATIONS, *families])


def _parse(name: str, argument: str) -> tuple[str, tuple[float, ...]]:
    """``(family or record name, parameters)`` from a spelling such as
    ``"Leaky_ReLU(negative_slope=0.2)"``."""
    key = name.strip().lower().replace(" ", "")
    match = _CALL.match(key)
    if match is None:
        raise UnsupportedModelError(
            f"`{argument}` names an unknown activation {name!r}; known: "
            f"{_known_names()}"
        )
    base = _ALIASES.get(match.group("family"), match.group("family"))
    text = match.group("params")
    params: tuple[float, ...] = ()
    if text:
        values = []
        for part in text.split(","):
            try:
                value = float(part.split("=")[-1])
            except ValueError:
                value = float("nan")
            if not np.isfinite(value):
                raise UnsupportedModelError(
                    f"`{argument}`: the parameter {part!r} in {name!r} must be a "
                    f"finite number"
                )
            values.append(value)
        params = tuple(values)
    if base in ACTIVATIONS and not params and text is None:
        return base, ()
    if base in _FAMILIES:
        family = _FAMILIES[base]
        if family.per_unit and text is not None:
            raise UnsupportedModelError(
                f"`{argument}`: {base}'s parameters are one value per unit, layer "
                f"data rather than part of the name; got {name!r}. Give them as "
                f"Dense(W, b, {base!r}, activation_params=values)"
            )
        if len(params) > family.n_params:
            raise UnsupportedModelError(
                f"`{argument}`: {base} takes at most {family.n_params} parameter(s); "
                f"got {name!r}"
            )
        return base, params
    raise UnsupportedModelError(
        f"`{argument}` names an unknown activation {name!r}; known: {_known_names()}"
    )


def takes_unit_params(name: str, argument: str = "activation") -> bool:
    """Whether the activation ``name`` takes one parameter per unit (PReLU).

    Examples
    --------
    >>> takes_unit_params("prelu"), takes_unit_params("relu")
    (True, False)
    """
    if not isinstance(name, str):
        raise UnsupportedModelError(
            f"`{argument}` must be an activation name (str); got "
            f"{type(name).__name__}. Known: {_known_names()}"
        )
    base, _ = _parse(name, argument)
    return base in _FAMILIES and _FAMILIES[base].per_unit


def canonical_activation(name: str, argument: str = "activation") -> str:
    """Return the canonical spelling of an activation name.

    ``"logistic"`` becomes ``"sigmoid"``, ``"linear"`` becomes
    ``"identity"``, ``"leaky_relu"`` becomes ``"leaky_relu(0.01)"``,
    ``"swish"`` becomes ``"silu"``, ``"hardtanh(0, 6)"`` becomes ``"relu6"``.

    Raises
    ------
    UnsupportedModelError
        If the name is unknown (the message lists the known names), or names
        an activation with per-unit parameters (``"prelu"``), which only a
        layer can hold.

    Examples
    --------
    >>> canonical_activation("logistic"), canonical_activation("Leaky_ReLU")
    ('sigmoid', 'leaky_relu(0.01)')
    >>> canonical_activation("swish"), canonical_activation("elu(1)")
    ('silu', 'elu')
    """
    if not isinstance(name, str):
        raise UnsupportedModelError(
            f"`{argument}` must be an activation name (str); got "
            f"{type(name).__name__}. Known: {_known_names()}"
        )
    return get_activation(name, argument).name


@functools.lru_cache(maxsize=256)
def _lookup(name: str, argument: str) -> Activation:
    base, params = _parse(name, argument)
    if base in ACTIVATIONS and base not in _FAMILIES:
        return ACTIVATIONS[base]
    family = _FAMILIES[base]
    if family.per_unit:
        raise UnsupportedModelError(
            f"`{argument}`={name!r} takes one parameter per unit (for PReLU, one "
            f"slope per unit), which belongs to a layer: build "
            f"Dense(W, b, {base!r}, activation_params=values), or use "
            f"get_activation({base!r}, params=values). One slope shared by every "
            f"unit is 'leaky_relu(slope)'"
        )
    record = family.builder(*params)
    # A spelling with explicit defaults and one without share one record.
    return ACTIVATIONS.get(record.name, record)


def get_activation(
    name: str, argument: str = "activation", *, params: Any = None
) -> Activation:
    """Return the :class:`Activation` called ``name``.

    Parameters
    ----------
    name : str
        An activation name (see the module documentation); aliases such as
        ``"logistic"`` and ``"linear"`` are accepted.
    argument : str
        The argument name to quote in an error message.
    params : array_like, optional
        The per-unit parameters of an activation that takes them
        (``"prelu"``: one slope per unit); None for every other activation.

    Returns
    -------
    Activation

    Raises
    ------
    UnsupportedModelError
        If the name is unknown, or ``params`` is missing for (or given to) an
        activation that takes (or does not take) per-unit parameters.

    Examples
    --------
    >>> import numpy as np
    >>> get_activation("relu")(np.array([-1.0, 3.0]))
    array([0., 3.])
    >>> get_activation("prelu", params=[0.5, 0.0])(np.array([[-2.0, -2.0]]))
    array([[-1., -0.]])
    """
    if not isinstance(name, str):
        raise UnsupportedModelError(
            f"`{argument}` must be an activation name (str); got "
            f"{type(name).__name__}. Known: {_known_names()}"
        )
    if params is None:
        return _lookup(name, argument)
    base, _ = _parse(name, argument)
    family = _FAMILIES.get(base)
    if family is None or not family.per_unit:
        raise UnsupportedModelError(
            f"`{argument}`={name!r} takes no per-unit parameters; leave "
            f"`activation_params` out (per-unit parameters are for "
            f"{', '.join(repr(f) for f, v in _FAMILIES.items() if v.per_unit)})"
        )
    return family.builder(params)
