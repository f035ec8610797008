"""Weights as pictures: one image per unit, from its incoming weights.

:func:`weight_images` reshapes each unit's incoming weights to a 2-D image:
the input's own shape for the first layer (784 -> 28 x 28), a near-square
factorisation of the fan-in for later layers (30 -> 5 x 6). Units of deeper
layers can also be seen in input space: :func:`effective_weights` multiplies
the weight matrices along the path (the unit's *effective linear image*) and
:func:`input_space_images` shows those as pictures.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import resolve_layer
from ..adapters import adapt
from ..errors import InvalidParameterError
from ._batches import frozen

__all__ = [
    "EffectiveWeights",
    "effective_weights",
    "image_shape",
    "input_space_images",
    "weight_images",
]


_MAX_PIXELS = 2**63 - 1  # numpy's largest array size


def _is_prime(n: int) -> bool:
    """Deterministic Miller-Rabin for n < 3.3e24 (these bases suffice)."""
    if n < 2:
        return False
    small = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41)
    for p in small:
        if n % p == 0:
            return n == p
    d, r = n - 1, 0
    while d % 2 == 0:
        d, r = d // 2, r + 1
    for a in small:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(r - 1):
            x = x * x % n
            if x == n - 1:
                break
        else:
            return False
    return True


def _a_factor(n: int) -> int:
    """A non-trivial factor of the odd composite ``n`` (Pollard's rho, Brent)."""
    for c in range(1, n):
        y, m, g, r, q = 2, 128, 1, 1, 1
        x = ys = y
        while g == 1:
            x = y
            for _ in range(r):
                y = (y * y + c) % n
            k = 0
            while k < r and g == 1:
                ys = y
                for _ in range(min(m, r - k)):
                    y = (y * y + c) % n
                    q = q * abs(x - y) % n
                g = math.gcd(q, n)
                k += m
            r *= 2
        if g == n:
            g = 1
            while g == 1:
                ys = (ys * ys + c) % n
                g = math.gcd(abs(x - ys), n)
        if g != n:
            return g
    raise AssertionError(
        "unreachable: every odd composite has a factor"
    )  # pragma: no cover


def _prime_factors(n: int) -> list[int]:
    """The prime factors of ``n`` with multiplicity."""
    factors = []
    for p in (2, 3, 5, 7, 11, 13):
        while n % p == 0:
            factors.append(p)
            n //= p
    stack = [n] if n > 1 else []
    while stack:
        m = stack.pop()
        if _is_prime(m):
            factors.append(m)
        else:
            f = _a_factor(m)
            stack += [f, m // f]
    return sorted(factors)


def image_shape(n: int) -> tuple[int, int]:
    """The factor pair ``(h, w)`` of ``n`` with ``h <= w`` closest to square.

    Parameters
    ----------
    n : int
        Number of pixels, from 1 to ``2**63 - 1`` (the largest array).

    Returns
    -------
    tuple of int
        ``(h, w)`` with ``h * w == n``; a prime ``n`` gives ``(1, n)``.

    Notes
    -----
    ``n`` is factored (Pollard's rho), so even a prime near ``2**63``
    answers at once instead of testing every divisor up to its square root.

    Examples
    --------
    >>> image_shape(30), image_shape(16), image_shape(784), image_shape(7)
    ((5, 6), (4, 4), (28, 28), (1, 7))
    """
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, (int, np.integer)) or n < 1:
        raise InvalidParameterError(f"`n` must be a positive integer; got {n!r:.40}")
    n = int(n)
    if n > _MAX_PIXELS:
        raise InvalidParameterError(
            f"`n` must be at most 2**63 - 1 (the largest array numpy can make); got {n}"
        )
    root = math.isqrt(n)
    divisors = {1}
    for p in _prime_factors(n):
        divisors |= {d * p for d in divisors if d * p <= root}
    h = max(divisors)
    return h, n // h


def _check_shape(shape: Any, n: int, what: str) -> tuple[int, int]:
    """Validate an explicit ``shape=`` for images of ``n`` pixels."""
    if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
        raise InvalidParameterError(
            f"`shape` must be a pair of positive integers (height, width); got "
            f"{shape!r}"
        )
    ok = len(shape) == 2 and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1
        for s in shape
    )
    if not ok:
        raise InvalidParameterError(
            f"`shape` must be a pair of positive integers (height, width); got "
            f"{tuple(shape)!r}"
        )
    h, w = int(shape[0]), int(shape[1])
    if h * w != n:
        raise InvalidParameterError(
            f"`shape` must multiply to {n} ({what}); got {(h, w)} (product {h * w})"
        )
    return h, w


def _input_image_shape(input_shape: tuple[int, ...], n: int) -> tuple[int, int]:
    """The model's input shape as an image, else a factorisation of ``n``."""
    dims = tuple(s for s in input_shape if s != 1)
    if len(input_shape) == 2:
        return input_shape[0], input_shape[1]
    if len(dims) == 2:  # e.g. (1, 28, 28): a single channel
        return dims[0], dims[1]
    return image_shape(n)


def weight_images(
    model: Any, *, layer: int = 0, shape: Sequence[int] | None = None
) -> np.ndarray:
    """One image per unit of ``layer``, made from the unit's incoming weights.

    Pixel ``(r, c)`` of image ``j`` is the weight from source ``r * w + c``
    to unit ``j`` (row-major, as ``numpy.reshape``).

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    layer : int, default 0
        The weight layer (0 = first; -1 = output layer).
    shape : (int, int), optional
        The image shape ``(H, W)``; its product must equal the layer's
        fan-in. By default the first layer uses the model's 2-D
        ``input_shape`` (784 inputs of a 28 x 28 image -> 28 x 28; a single
        channel ``(1, 28, 28)`` gives 28 x 28 too), and other
        layers (or 1-D inputs) the near-square factorisation of the fan-in
        given by :func:`image_shape` (30 -> 5 x 6, a prime ``n`` -> 1 x ``n``).

    Returns
    -------
    numpy.ndarray, shape (units, H, W)
        A new array (a copy of the weights, safe to modify).

    Raises
    ------
    InvalidParameterError
        If ``layer`` is out of range or ``shape`` does not fit the fan-in.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4))
    >>> weight_images(mlp).shape
    (6, 4, 4)
    >>> weight_images(mlp, layer=-1).shape
    (3, 2, 3)
    >>> weight_images(mlp, layer=-1, shape=(1, 6)).shape
    (3, 1, 6)
    """
    mlp = adapt(model).check_finite()
    index = resolve_layer(mlp, layer)
    weight = mlp.layers[index].weight
    units, fan_in = weight.shape
    if shape is not None:
        h, w = _check_shape(shape, fan_in, f"the fan-in of layer {index}")
    elif index == 0:
        h, w = _input_image_shape(mlp.input_shape, fan_in)
    else:
        h, w = image_shape(fan_in)
    return weight.reshape(units, h, w).copy()


@dataclass(frozen=True, eq=False)
class EffectiveWeights:
    """The affine map from the input to a layer's pre-activation, ignoring
    the nonlinearities in between.

    Attributes
    ----------
    weight : numpy.ndarray, shape (units, n_inputs)
        ``W_l @ ... @ W_1 @ W_0``: row ``j`` is unit ``j``'s effective linear
        image in input space.
    bias : numpy.ndarray, shape (units,)
        The biases carried through the same linear maps:
        ``W_l (... (W_1 b_0 + b_1) ...) + b_l``.
    layer : int
        The (non-negative) layer index.
    input_shape : tuple of int
        The model's input shape, for reshaping ``weight`` rows.
    exact : bool
        True when every layer before ``layer`` has the identity activation,
        so ``weight @ x + bias`` *is* the pre-activation of ``layer``.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, effective_weights
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4))
    >>> eff = effective_weights(mlp, layer=-1)
    >>> eff.weight.shape, eff.exact
    ((3, 16), False)
    >>> eff.images().shape
    (3, 4, 4)
    """

    weight: np.ndarray
    bias: np.ndarray
    layer: int
    input_shape: tuple[int, ...]
    exact: bool

    def __repr__(self) -> str:
        units, n_inputs = self.weight.shape
        return (
            f"EffectiveWeights(layer={self.layer}, units={units}, "
            f"n_inputs={n_inputs}, exact={self.exact})"
        )

    def images(self, shape: Sequence[int] | None = None) -> np.ndarray:
        """``weight`` as images, shape ``(units, H, W)`` (see
        :func:`input_space_images`)."""
        n = self.weight.shape[1]
        if shape is not None:
            h, w = _check_shape(shape, n, "the model's input size")
        else:
            h, w = _input_image_shape(self.input_shape, n)
        return self.weight.reshape(-1, h, w).copy()


def effective_weights(model: Any, *, layer: int = -1) -> EffectiveWeights:
    """The effective linear image of every unit of ``layer`` in input space.

    Multiplies the weight matrices along the path from the input to
    ``layer``: ``W_eff = W_l @ ... @ W_0``, shape ``(units, n_inputs)``, and
    carries the biases through the same maps.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    layer : int, default -1
        The weight layer (0 = first; -1 = output layer). For layer 0 the
        result is the layer's own weights and biases.

    Returns
    -------
    EffectiveWeights
        Fields ``weight`` (units, n_inputs), ``bias`` (units,), ``layer``,
        ``input_shape``, ``exact``.

    Notes
    -----
    The nonlinearities between the layers are ignored, so this is the
    network's pre-activation of ``layer`` *only* when every earlier layer is
    linear (identity activation; ``exact`` is then True). For sigmoid, tanh
    or ReLU networks it is a first-order picture: what the unit would compute
    if every hidden unit passed its input straight through. It shows which
    input pattern the weights point at, not what the unit responds to on real
    data; use decomposition or attribution for that.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(5, 4)), rng.normal(size=5), "identity"),
    ...            Dense(rng.normal(size=(2, 5)), rng.normal(size=2), "identity")])
    >>> eff = effective_weights(mlp, layer=-1)
    >>> eff.weight.shape, eff.exact
    ((2, 4), True)
    >>> x = rng.normal(size=4)
    >>> bool(np.allclose(eff.weight @ x + eff.bias, mlp.forward(x)[0]))
    True
    """
    mlp = adapt(model).check_finite()
    index = resolve_layer(mlp, layer)
    first = mlp.layers[0]
    weight = np.array(first.weight, dtype=np.float64)
    bias = np.array(first.bias, dtype=np.float64)
    for dense in mlp.layers[1 : index + 1]:
        weight = dense.weight @ weight
        bias = dense.weight @ bias + dense.bias
    exact = all(a == "identity" for a in mlp.activation_names[:index])
    return EffectiveWeights(
        weight=frozen(weight),
        bias=frozen(bias),
        layer=index,
        input_shape=mlp.input_shape,
        exact=exact,
    )


def input_space_images(
    model: Any, *, layer: int = -1, shape: Sequence[int] | None = None
) -> np.ndarray:
    """Every unit of ``layer`` shown in input space as its effective linear image.

    The rows of :func:`effective_weights` reshaped to the model's input image
    shape (or ``shape``); for layer 0 this equals :func:`weight_images`.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The network.
    layer : int, default -1
        The weight layer (0 = first; -1 = output layer).
    shape : (int, int), optional
        Image shape; its product must equal the model's input size. Default:
        the model's 2-D ``input_shape``, else the near-square factorisation
        of the input size.

    Returns
    -------
    numpy.ndarray, shape (units, H, W)

    Notes
    -----
    This ignores the nonlinearities between layers (see
    :func:`effective_weights`); it is exact only for identity activations.
    For what actually drives a deep unit, see the preferred input found by
    activation maximisation.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(6, 16)), np.zeros(6), "sigmoid"),
    ...            Dense(rng.normal(size=(3, 6)), np.zeros(3), "softmax")],
    ...           input_shape=(4, 4))
    >>> input_space_images(mlp, layer=-1).shape
    (3, 4, 4)
    """
    return effective_weights(model, layer=layer).images(shape)
