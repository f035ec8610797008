"""Activation functions as records: one record says everything about one function.

An activation is named by a string everywhere in mlpinspect: ``"sigmoid"``,
``"relu"``, ``"tanh"``, ``"identity"``, ``"softmax"`` and ``"leaky_relu"``
(negative slope 0.01, PyTorch's default) or ``"leaky_relu(0.2)"`` with an
explicit slope. :func:`get_activation` turns a name into an
:class:`Activation`, a frozen record holding

- the function and its vector-Jacobian product (what back-propagation needs);
- an in-place derivative kernel for the numpy training loop and a code for the
  compiled one (so the trainer needs no list of names of its own);
- the properties the analyses rely on: elementwise or not, positively
  homogeneous, piecewise linear, and the value at zero (where a binary head
  puts its decision threshold).

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
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .errors import UnsupportedModelError

__all__ = [
    "ACTIVATIONS",
    "Activation",
    "canonical_activation",
    "get_activation",
    "register_activation",
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


ACTIVATIONS: dict[str, Activation] = {}
"""The activations known by name (parameterised families are built on demand)."""

_FAMILIES: dict[str, tuple[Callable[..., Activation], int]] = {}
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
        _FAMILIES[family] = (record, n_params)
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
register_activation(_leaky_relu, family="leaky_relu", n_params=1)

_CALL = re.compile(r"^(?P<family>[a-z_0-9]+)(?:\((?P<params>[^)]*)\))?$")


def _known_names() -> str:
    families = [f"{f}(...)" for f in _FAMILIES]
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
        limit = _FAMILIES[base][1]
        if len(params) > limit:
            raise UnsupportedModelError(
                f"`{argument}`: {base} takes at most {limit} parameter(s); got {name!r}"
            )
        return base, params
    raise UnsupportedModelError(
        f"`{argument}` names an unknown activation {name!r}; known: {_known_names()}"
    )


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
    return get_activation(name, argument).name


@functools.lru_cache(maxsize=256)
def _lookup(name: str, argument: str) -> Activation:
    base, params = _parse(name, argument)
    if base in ACTIVATIONS and base not in _FAMILIES:
        return ACTIVATIONS[base]
    builder, _ = _FAMILIES[base]
    record = builder(*params)
    # A spelling with explicit defaults and one without share one record.
    return ACTIVATIONS.get(record.name, record)


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
    if not isinstance(name, str):
        raise UnsupportedModelError(
            f"`{argument}` must be an activation name (str); got "
            f"{type(name).__name__}. Known: {_known_names()}"
        )
    return _lookup(name, argument)
