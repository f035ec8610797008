"""The canonical, read-only view of a multilayer perceptron.

Every model mlpinspect analyses is first turned into an :class:`MLP` by
:func:`mlpinspect.adapt`. An ``MLP`` is a sequence of :class:`Dense` layers,
each holding a weight matrix of shape ``(out, in)`` (as in Nielsen's book and
PyTorch), a bias of shape ``(out,)`` and the name of its activation. Arrays are
private copies and cannot be written, so an analysis can never change a model
and a model changed later never changes an analysis.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._validation import all_finite, check_array
from .activations import canonical_activation, get_activation
from .errors import InvalidParameterError, UnsupportedModelError

__all__ = ["MLP", "Dense", "ForwardTrace"]


def _frozen_copy(values: Any, name: str, ndim: int) -> np.ndarray:
    arr = values if type(values) is np.ndarray else np.asarray(values)
    dtype = arr.dtype
    if dtype.char in "fd" and not dtype.isnative:  # e.g. big-endian from a file
        dtype = dtype.newbyteorder("=")
    elif dtype.char not in "fd":  # float32 and float64 are kept as they are
        if dtype.kind == "O" or not np.issubdtype(dtype, np.number):
            raise InvalidParameterError(
                f"`{name}` must be a numeric array; got dtype {dtype}"
            )
        if np.issubdtype(dtype, np.complexfloating):
            raise InvalidParameterError(f"`{name}` must be real; got dtype {dtype}")
        dtype = np.dtype(np.float64)
    if arr.ndim != ndim:
        raise InvalidParameterError(f"`{name}` must be {ndim}-D; got shape {arr.shape}")
    # One copy in the source's own memory order: the transposed view of an
    # (in, out) kernel (scikit-learn, Keras) copies as fast as a contiguous one.
    arr = np.array(arr, dtype=dtype, copy=True, order="K")
    arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class Dense:
    """A fully connected layer: ``activation(weight @ x + bias)``.

    Parameters
    ----------
    weight : array_like, shape (out, in)
        Incoming weights; row ``j`` holds unit ``j``'s weights.
    bias : array_like, shape (out,)
        Biases.
    activation : str
        Activation name, see :mod:`mlpinspect.activations`.
    name : str, optional
        Where the layer came from, e.g. ``"fc1"`` for a PyTorch module or
        ``"coefs_[0]"`` for scikit-learn; error messages use it.

    The arrays are copied, in their own memory order, and made read-only.
    float32 and float64 weights keep their dtype; other numeric types become
    float64. NaN and inf are kept as they are, so a diverged model can still be
    adapted and looked at; :meth:`MLP.check_finite` finds them, and every
    analysis function calls it.

    Examples
    --------
    >>> import numpy as np
    >>> layer = Dense(np.eye(2), np.zeros(2), "relu")
    >>> layer.n_in, layer.n_out
    (2, 2)
    >>> layer.weight.flags.writeable
    False
    """

    weight: np.ndarray
    bias: np.ndarray
    activation: str = "identity"
    name: str | None = None

    def __post_init__(self) -> None:
        weight = _frozen_copy(self.weight, "weight", 2)
        bias = _frozen_copy(self.bias, "bias", 1)
        if bias.shape[0] != weight.shape[0]:
            raise InvalidParameterError(
                f"`bias` must have one entry per unit ({weight.shape[0]}, the rows "
                f"of `weight`); got shape {bias.shape}"
            )
        if weight.shape[0] < 1 or weight.shape[1] < 1:
            raise InvalidParameterError(
                f"`weight` must have at least one row and column; got {weight.shape}"
            )
        if bias.dtype != weight.dtype:
            bias = bias.astype(weight.dtype)
            bias.flags.writeable = False
        object.__setattr__(self, "weight", weight)
        object.__setattr__(self, "bias", bias)
        object.__setattr__(self, "activation", canonical_activation(self.activation))
        if self.name is not None:
            object.__setattr__(self, "name", str(self.name))

    @property
    def n_in(self) -> int:
        """Number of incoming connections per unit."""
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        """Number of units."""
        return int(self.weight.shape[0])

    def __repr__(self) -> str:
        label = f", name={self.name!r}" if self.name is not None else ""
        return (
            f"Dense({self.n_in} -> {self.n_out}, activation={self.activation!r}{label})"
        )


@dataclass(frozen=True)
class ForwardTrace:
    """Every layer's pre- and post-activations for a batch of inputs.

    Attributes
    ----------
    input : numpy.ndarray, shape (n, n_inputs)
        The inputs, flattened.
    pre : tuple of numpy.ndarray
        ``pre[l]`` has shape ``(n, units_l)``: ``W_l @ a_{l-1} + b_l``.
    post : tuple of numpy.ndarray
        ``post[l] = activation_l(pre[l])``; ``post[-1]`` is the output.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> mlp = MLP([Dense(np.eye(2), [0.0, -1.0], "relu"),
    ...            Dense([[1.0, 1.0]], [0.5], "identity")])
    >>> trace = mlp.trace([[1.0, 0.5]])
    >>> trace.pre[0], trace.post[0]
    (array([[ 1. , -0.5]]), array([[1., 0.]]))
    >>> trace.source(1) is trace.post[0], trace.output
    (True, array([[1.5]]))
    """

    input: np.ndarray
    pre: tuple[np.ndarray, ...]
    post: tuple[np.ndarray, ...]

    @property
    def output(self) -> np.ndarray:
        """The network's output, ``post[-1]``."""
        return self.post[-1]

    def source(self, layer: int) -> np.ndarray:
        """The activations feeding ``layer``: the input for layer 0."""
        return self.input if layer == 0 else self.post[layer - 1]


class MLP:
    """An immutable multilayer perceptron: a chain of :class:`Dense` layers.

    Parameters
    ----------
    layers : sequence of Dense
        The layers in order; each layer's ``n_in`` must equal the previous
        layer's ``n_out``.
    input_shape : tuple of int, optional
        The shape of one input before flattening, e.g. ``(28, 28)``; its
        product must equal the first layer's ``n_in``. Defaults to
        ``(n_inputs,)``.
    class_names : sequence of str, optional
        One name per output unit.
    name : str, optional
        A label for reports, e.g. where the model came from.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(3, 4)), np.zeros(3), "sigmoid"),
    ...            Dense(rng.normal(size=(2, 3)), np.zeros(2), "softmax")])
    >>> mlp.sizes
    (4, 3, 2)
    >>> mlp.forward(np.ones((5, 4))).shape
    (5, 2)
    """

    __slots__ = ("_class_names", "_finite", "_input_shape", "_layers", "_name")

    def __init__(
        self,
        layers: Sequence[Dense],
        *,
        input_shape: Sequence[int] | None = None,
        class_names: Sequence[str] | None = None,
        name: str | None = None,
    ) -> None:
        layers = tuple(layers)
        if not layers:
            raise InvalidParameterError("`layers` must hold at least one Dense layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, Dense):
                raise InvalidParameterError(
                    f"`layers[{i}]` must be a Dense layer; got {type(layer).__name__}"
                )
        for i in range(1, len(layers)):
            if layers[i].n_in != layers[i - 1].n_out:
                raise InvalidParameterError(
                    f"`layers[{i}]` must have {layers[i - 1].n_out} inputs (the "
                    f"units of layer {i - 1}); got {layers[i].n_in}"
                )
        for i, layer in enumerate(layers[:-1]):
            if not get_activation(layer.activation).elementwise:
                raise UnsupportedModelError(
                    f"layer {i} uses {layer.activation!r}, which is only supported "
                    f"on the output layer"
                )
        n_in = layers[0].n_in
        if input_shape is None:
            shape: tuple[int, ...] = (n_in,)
        else:
            shape = tuple(int(s) for s in input_shape)
            if any(s < 1 for s in shape) or int(np.prod(shape)) != n_in:
                raise InvalidParameterError(
                    f"`input_shape` must multiply to {n_in} (the first layer's "
                    f"inputs); got {shape}"
                )
        names: tuple[str, ...] | None = None
        if class_names is not None:
            names = tuple(str(c) for c in class_names)
            if len(names) != layers[-1].n_out:
                raise InvalidParameterError(
                    f"`class_names` must have {layers[-1].n_out} entries (one per "
                    f"output); got {len(names)}"
                )
        self._layers = layers
        self._input_shape = shape
        self._class_names = names
        self._name = name
        self._finite = False  # set by check_finite once it has passed

    # -- structure -----------------------------------------------------------

    @property
    def layers(self) -> tuple[Dense, ...]:
        """The layers, first to last."""
        return self._layers

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input before flattening."""
        return self._input_shape

    @property
    def class_names(self) -> tuple[str, ...] | None:
        """Names of the output units, or None."""
        return self._class_names

    @property
    def name(self) -> str | None:
        """A label for the model, or None."""
        return self._name

    @property
    def sizes(self) -> tuple[int, ...]:
        """Units per layer, input first: e.g. ``(784, 30, 10)``."""
        return (self._layers[0].n_in, *(layer.n_out for layer in self._layers))

    @property
    def n_inputs(self) -> int:
        """Size of one flattened input."""
        return self._layers[0].n_in

    @property
    def n_outputs(self) -> int:
        """Number of output units."""
        return self._layers[-1].n_out

    @property
    def activation_names(self) -> tuple[str, ...]:
        """The activation of each layer."""
        return tuple(layer.activation for layer in self._layers)

    @property
    def dtype(self) -> np.dtype:
        """The floating dtype of the first layer's weights."""
        return self._layers[0].weight.dtype

    def layer_index(self, layer: int, argument: str = "layer") -> int:
        """Resolve a possibly negative layer index (``-1`` is the output layer)."""
        n = len(self._layers)
        if isinstance(layer, bool) or not isinstance(layer, (int, np.integer)):
            raise InvalidParameterError(
                f"`{argument}` must be an integer layer index; got {layer!r}"
            )
        if not -n <= layer < n:
            raise InvalidParameterError(
                f"`{argument}` must be in [{-n}, {n - 1}] (the model has {n} weight "
                f"layers); got {layer}"
            )
        return int(layer) % n

    # -- validity --------------------------------------------------------------

    def check_finite(self) -> MLP:
        """Raise if any weight or bias is NaN or infinite; return the model.

        Adapting a model copies its weights as they are, so a diverged model
        can still be adapted and its arrays looked at; this check then says
        where the damage is. Every analysis function and every forward pass
        calls it. The model is immutable, so the answer is remembered: only the
        first call reads the weights.

        Returns
        -------
        MLP
            ``self``, for chaining: ``mlp = adapt(model).check_finite()``.

        Raises
        ------
        InvalidParameterError
            Naming the first layer with a non-finite weight or bias, how many
            values are NaN or infinite, and the units they belong to.

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP([Dense([[1.0, np.nan], [0.0, 1.0]], [0.0, 0.0], "relu",
        ...                  name="fc1")])
        >>> mlp.check_finite()
        Traceback (most recent call last):
            ...
        mlpinspect.errors.InvalidParameterError: fc1, layer 0 of the MLP, must have finite weights and biases; its weight has 1 NaN and 0 infinite value(s), in unit(s) [0]
        """  # noqa: E501
        if self._finite:
            return self
        for i, layer in enumerate(self._layers):
            for part in ("weight", "bias"):
                values = getattr(layer, part)
                if all_finite(values):
                    continue
                bad = ~np.isfinite(values)
                units = np.flatnonzero(bad.any(axis=1) if bad.ndim == 2 else bad)
                shown = units[:10].tolist()
                more = f" and {len(units) - 10} more" if len(units) > 10 else ""
                where = f"layer {i} of the MLP"
                if layer.name is not None:
                    where = f"{layer.name}, {where},"
                raise InvalidParameterError(
                    f"{where} must have finite weights and biases; its "
                    f"{part} has {int(np.isnan(values).sum())} NaN and "
                    f"{int(np.isinf(values).sum())} infinite value(s), in unit(s) "
                    f"{shown}{more}"
                )
        self._finite = True
        return self

    # -- computation ---------------------------------------------------------

    def _check_input(self, X: Any, name: str = "X") -> np.ndarray:
        X = check_array(X, name, ndim=(1, 2, 1 + len(self._input_shape)), dtype=None)
        if X.ndim == 1 + len(self._input_shape) and X.shape[1:] == self._input_shape:
            X = X.reshape(X.shape[0], -1)
        elif X.ndim == 1:
            X = X.reshape(1, -1)
        if X.ndim != 2 or X.shape[1] != self.n_inputs:
            raise InvalidParameterError(
                f"`{name}` must have {self.n_inputs} features (the model's input "
                f"size), as (n, {self.n_inputs}) or (n, *{self._input_shape}); "
                f"got shape {X.shape}"
            )
        return X

    def trace(self, X: Any) -> ForwardTrace:
        """Run the model and keep every layer's pre- and post-activations.

        Parameters
        ----------
        X : array_like, shape ``(n, n_inputs)`` or ``(n, *input_shape)``
            Inputs; a single input of shape ``(n_inputs,)`` is treated as a
            batch of one.

        Returns
        -------
        ForwardTrace

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP([Dense(np.eye(2), [0.0, -1.0], "relu")])
        >>> mlp.trace([[1.0, 0.5]]).pre[0]
        array([[ 1. , -0.5]])
        """
        self.check_finite()
        a = self._check_input(X)
        x = a
        pre: list[np.ndarray] = []
        post: list[np.ndarray] = []
        for layer in self._layers:
            z = a @ layer.weight.T
            z += layer.bias
            a = get_activation(layer.activation)(z)
            pre.append(z)
            post.append(a)
        return ForwardTrace(x, tuple(pre), tuple(post))

    def forward(self, X: Any) -> np.ndarray:
        """Return the model's output for ``X``, shape ``(n, n_outputs)``.

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP([Dense([[2.0, 0.0]], [1.0], "identity")])
        >>> mlp.forward([[1.0, 5.0]])
        array([[3.]])
        """
        return self.trace(X).output

    __call__ = forward

    def predict(self, X: Any) -> np.ndarray:
        """Index of the largest output for each input, shape ``(n,)``."""
        return self.forward(X).argmax(axis=1)

    # -- conveniences ----------------------------------------------------------

    def __len__(self) -> int:
        return len(self._layers)

    def __repr__(self) -> str:
        sizes = "-".join(str(s) for s in self.sizes)
        acts = ", ".join(self.activation_names)
        label = f", name={self._name!r}" if self._name else ""
        return f"MLP({sizes}, activations=[{acts}]{label})"
