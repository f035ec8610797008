"""The reference trainable network: a multilayer perceptron in numpy.

:class:`Network` follows the network of Michael Nielsen's book *Neural
Networks and Deep Learning* (``network.py`` and ``network2.py``): layers of
units with an activation each, trained by mini-batch stochastic gradient
descent on the quadratic or cross-entropy cost, with optional L2 weight decay.
Weights are stored ``(out, in)`` as in the book, so ``weights[0][j]`` are the
784 incoming weights of hidden unit ``j``.

It differs from the book where that makes it better to study:

* randomness comes from a seeded :class:`numpy.random.Generator`, never the
  global RNG, so a run can be repeated exactly;
* the initial weights are kept, so :func:`mlpinspect.drift_from_init` can
  measure how far each unit moved from its random start;
* a mini-batch is processed as one matrix product per layer instead of one
  back-propagation per example, which makes an epoch of the study's
  784-30-10 network more than ten times faster (see
  ``benchmarks/train_speed.py``).

The speed lives in one place, :meth:`Network._sgd_epoch`, and comes from three
habits: every buffer is allocated once per call to :meth:`fit`; each layer's
bias is stored as an extra column of its weight matrix (so the input to each
layer carries a constant 1 and the bias needs no separate additions or
gradients); and the update ``W -= eta/m * delta^T a`` is one BLAS ``gemm``
call that writes into the weights in place. ``fit(engine="numba")`` runs the
same loop, on the same buffers, as compiled code
(``mlpinspect._numba_engine``), which removes numpy's per-call overhead.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ._io import atomic_write
from ._validation import (
    check_array,
    check_choice,
    check_float,
    check_int,
    check_labels,
    check_rng,
)
from .activations import canonical_activation, get_activation
from .errors import InvalidParameterError, ModelFileError
from .mlp import MLP, Dense, ForwardTrace

__all__ = ["INITIALIZATIONS", "History", "Network"]

INITIALIZATIONS = ("normal", "scaled", "glorot", "he")
"""Names accepted by ``Network(init=...)``."""

COSTS = ("quadratic", "cross_entropy")
ENGINES = ("numpy", "numba")

_FORMAT = "mlpinspect.Network"
_FORMAT_VERSION = 1
_EVAL_CHUNK = 4096  # rows per chunk when evaluating on a whole data set


# --------------------------------------------------------------------------
# Training history
# --------------------------------------------------------------------------


@dataclass
class History:
    """What happened during one call to :meth:`Network.fit`, epoch by epoch.

    Attributes
    ----------
    epoch : list of int
        Epoch numbers, starting at 1.
    cost : list of float
        Cost on the training data after each epoch (including the L2 term);
        NaN when ``monitor=False``.
    train_accuracy : list of float
        Fraction of training examples classified correctly after each epoch;
        NaN when ``monitor=False``.
    validation_cost, validation_accuracy : list of float
        The same on ``validation_data``; empty without validation data.
    seconds : list of float
        Wall-clock seconds spent on gradient descent in each epoch
        (evaluation excluded).
    config : dict
        The arguments of the :meth:`~Network.fit` call.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import Network
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((50, 4)); y = (X[:, 0] > 0.5).astype(int)
    >>> history = Network([4, 3, 2], seed=0).fit(X, y, epochs=3, progress=False)
    >>> len(history), history.epoch
    (3, [1, 2, 3])
    >>> history.config["learning_rate"]
    3.0
    """

    epoch: list[int] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    validation_cost: list[float] = field(default_factory=list)
    validation_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.epoch)

    def to_dict(self) -> dict[str, Any]:
        """The history as a plain dict of lists (JSON-serialisable)."""
        return {
            "epoch": list(self.epoch),
            "cost": list(self.cost),
            "train_accuracy": list(self.train_accuracy),
            "validation_cost": list(self.validation_cost),
            "validation_accuracy": list(self.validation_accuracy),
            "seconds": list(self.seconds),
            "config": dict(self.config),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a history from :meth:`to_dict`'s output."""
        return cls(
            **{k: (dict(v) if k == "config" else list(v)) for k, v in data.items()}
        )

    def __str__(self) -> str:
        if not self.epoch:
            return "History(no epochs)"
        lines = ["epoch      cost   train   valid   seconds"]
        for i, e in enumerate(self.epoch):
            valid = (
                f"{100 * self.validation_accuracy[i]:6.2f}%"
                if self.validation_accuracy
                else "      -"
            )
            lines.append(
                f"{e:5d}  {self.cost[i]:8.4f}  {100 * self.train_accuracy[i]:6.2f}%"
                f" {valid}  {self.seconds[i]:8.3f}"
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------
# In-place derivative scaling, for the training loop
# --------------------------------------------------------------------------


def _derivative_kernel(name: str) -> Callable[..., None]:
    """Return ``kernel(z, a, g, tmp)`` multiplying ``g`` in place by ``f'(z)``.

    ``a = f(z)`` is passed too, since sigmoid and tanh derivatives are cheapest
    written with it; ``tmp`` is scratch space shaped like ``g``.
    """
    mul, sub = np.multiply, np.subtract

    if name == "sigmoid":

        def kernel(z, a, g, tmp):  # f' = a (1 - a) = a - a^2
            mul(a, a, out=tmp)
            sub(a, tmp, out=tmp)
            mul(g, tmp, out=g)

    elif name == "tanh":

        def kernel(z, a, g, tmp):  # f' = 1 - a^2
            mul(a, a, out=tmp)
            sub(1.0, tmp, out=tmp)
            mul(g, tmp, out=g)

    elif name == "relu":

        def kernel(z, a, g, tmp):
            mul(g, z > 0, out=g)

    elif name == "identity":

        def kernel(z, a, g, tmp):
            pass

    else:  # leaky_relu(slope), softmax: the general (allocating) path
        vjp = get_activation(name).vjp

        def kernel(z, a, g, tmp):
            g[...] = vjp(z, a, g)

    return kernel


def _load_numba_engine() -> Any:
    """The compiled training loop's module; says how to install numba if missing."""
    try:
        from . import _numba_engine as engine
    except ImportError as exc:
        raise ImportError(
            f"`engine`='numba' needs numba: pip install 'mlpinspect[fast]' ({exc})"
        ) from exc
    return engine


def _initial_parameters(
    sizes: Sequence[int], init: str, rng: np.random.Generator, dtype: np.dtype
) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """Draw initial weights ``(out, in)`` and biases ``(out,)`` for ``init``."""
    weights, biases = [], []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        if init == "normal":  # Nielsen's network.py: everything N(0, 1)
            b = rng.standard_normal(n_out)
            w = rng.standard_normal((n_out, n_in))
        elif init == "scaled":  # network2.py: weights N(0, 1/n_in), biases N(0, 1)
            b = rng.standard_normal(n_out)
            w = rng.standard_normal((n_out, n_in)) / np.sqrt(n_in)
        elif init == "glorot":  # Glorot & Bengio (2010), uniform
            limit = np.sqrt(6.0 / (n_in + n_out))
            b = np.zeros(n_out)
            w = rng.uniform(-limit, limit, size=(n_out, n_in))
        else:  # "he": He et al. (2015), normal with variance 2/n_in
            b = np.zeros(n_out)
            w = rng.standard_normal((n_out, n_in)) * np.sqrt(2.0 / n_in)
        weights.append(w.astype(dtype))
        biases.append(b.astype(dtype))
    return weights, biases


# --------------------------------------------------------------------------
# The network
# --------------------------------------------------------------------------


class Network:
    """A multilayer perceptron trained by mini-batch gradient descent.

    Parameters
    ----------
    sizes : sequence of int
        Units per layer, input first: ``[784, 30, 10]`` is the study's
        network (784 inputs, 30 hidden units, 10 outputs). At least two
        entries, each >= 1.
    activation : str or sequence of str, default "sigmoid"
        One activation for every layer, or one per weight layer
        (``len(sizes) - 1`` names): ``"sigmoid"``, ``"relu"``, ``"tanh"``,
        ``"identity"``, ``"leaky_relu"``, and ``"softmax"`` for the output
        layer.
    init : {"normal", "scaled", "glorot", "he"}, default "normal"
        ``"normal"`` draws weights and biases from N(0, 1), as the study's
        first network (Nielsen's ``network.py``); ``"scaled"`` draws weights
        from N(0, 1/n_in) and biases from N(0, 1), as his ``network2.py``;
        ``"glorot"`` and ``"he"`` are the usual schemes with zero biases.
    seed : int, numpy.random.Generator or None
        Seeds the generator used for initialisation and for shuffling during
        :meth:`fit`. The same seed and data give bit-identical weights.
    dtype : {numpy.float64, numpy.float32}, default numpy.float64
        Floating type of the parameters and of the arithmetic.
    input_shape : tuple of int, optional
        Shape of one input, e.g. ``(28, 28)``; defaults to ``(28, 28)`` when
        ``sizes[0] == 784`` and ``(sizes[0],)`` otherwise.
    class_names : sequence of str, optional
        One name per output unit, e.g. ``[str(d) for d in range(10)]``; figures
        and tables use them.

    Attributes
    ----------
    weights : list of numpy.ndarray
        ``weights[l]`` has shape ``(sizes[l+1], sizes[l])``.
    biases : list of numpy.ndarray
        ``biases[l]`` has shape ``(sizes[l+1],)``.
    initial_weights, initial_biases : list of numpy.ndarray
        Read-only copies of the parameters as initialised.
    history : History or None
        The history of the last :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((200, 4)); y = (X[:, 0] > 0.5).astype(int)
    >>> net = Network([4, 8, 2], seed=0)
    >>> history = net.fit(X, y, epochs=20, batch_size=10, learning_rate=3.0,
    ...                   progress=False)
    >>> net.score(X, y) > 0.9
    True
    >>> net.weights[0].shape
    (8, 4)
    """

    def __init__(
        self,
        sizes: Sequence[int],
        activation: str | Sequence[str] = "sigmoid",
        *,
        init: str = "normal",
        seed: int | np.random.Generator | None = None,
        dtype: Any = np.float64,
        input_shape: Sequence[int] | None = None,
        class_names: Sequence[str] | None = None,
    ) -> None:
        if isinstance(sizes, (str, bytes)) or not isinstance(
            sizes, Sequence | np.ndarray
        ):
            raise InvalidParameterError(
                f"`sizes` must be a sequence of layer sizes such as [784, 30, 10]; "
                f"got {sizes!r}"
            )
        if len(sizes) < 2:
            raise InvalidParameterError(
                f"`sizes` must have at least 2 entries (inputs and outputs); got "
                f"{list(sizes)}"
            )
        self.sizes = [
            check_int(s, f"sizes[{i}]", minimum=1) for i, s in enumerate(sizes)
        ]
        n_layers = len(self.sizes) - 1

        if isinstance(activation, str):
            names = [activation] * n_layers
        else:
            names = list(activation)
            if len(names) != n_layers:
                raise InvalidParameterError(
                    f"`activation` must be one name or {n_layers} names (one per "
                    f"weight layer); got {len(names)}"
                )
        self.activation_names = [
            canonical_activation(a, f"activation[{i}]") for i, a in enumerate(names)
        ]
        for i, name in enumerate(self.activation_names[:-1]):
            if not get_activation(name).elementwise:
                raise InvalidParameterError(
                    f"`activation[{i}]` is {name!r}, which is only allowed on the "
                    f"output layer"
                )

        self.init = check_choice(init, "init", INITIALIZATIONS)
        self.dtype = np.dtype(dtype)
        if self.dtype not in (np.float32, np.float64):
            raise InvalidParameterError(
                f"`dtype` must be float32 or float64; got {self.dtype}"
            )
        if input_shape is None:
            input_shape = (28, 28) if self.sizes[0] == 784 else (self.sizes[0],)
        self.input_shape = tuple(int(s) for s in input_shape)
        if int(np.prod(self.input_shape)) != self.sizes[0]:
            raise InvalidParameterError(
                f"`input_shape` must multiply to {self.sizes[0]} (sizes[0]); got "
                f"{self.input_shape}"
            )

        if class_names is not None:
            class_names = [str(c) for c in class_names]
            if len(class_names) != self.sizes[-1]:
                raise InvalidParameterError(
                    f"`class_names` must have {self.sizes[-1]} entries (one per "
                    f"output); got {len(class_names)}"
                )
        self.class_names = class_names
        self.seed = seed if isinstance(seed, (int, np.integer)) else None
        self._rng = check_rng(seed)
        weights, biases = _initial_parameters(
            self.sizes, self.init, self._rng, self.dtype
        )
        self._set_parameters(weights, biases)
        self.initial_weights = [_readonly_copy(w) for w in weights]
        self.initial_biases = [_readonly_copy(b) for b in biases]
        self.history: History | None = None

    # -- parameters ------------------------------------------------------------

    def _set_parameters(
        self, weights: Sequence[np.ndarray], biases: Sequence[np.ndarray]
    ) -> None:
        # Each layer's parameters live in one C-ordered (out, in + 1) matrix:
        # weights in the first `in` columns, the bias in the last. `weights`
        # and `biases` are views into it.
        self._params = []
        for w, b in zip(weights, biases):
            p = np.empty((w.shape[0], w.shape[1] + 1), dtype=self.dtype)
            p[:, :-1] = w
            p[:, -1] = b
            self._params.append(p)

    @property
    def weights(self) -> list[np.ndarray]:
        """Weight matrices ``(out, in)``, one per layer.

        These are views: writing into them changes the network.
        """
        return [p[:, :-1] for p in self._params]

    @property
    def biases(self) -> list[np.ndarray]:
        """Bias vectors ``(out,)``, one per layer (views)."""
        return [p[:, -1] for p in self._params]

    @property
    def n_layers(self) -> int:
        """Number of weight layers (``len(sizes) - 1``)."""
        return len(self._params)

    def to_mlp(self) -> MLP:
        """A read-only :class:`~mlpinspect.MLP` snapshot of the current parameters.

        Examples
        --------
        >>> Network([4, 3, 2], seed=0).to_mlp()
        MLP(4-3-2, activations=[sigmoid, sigmoid], name='Network')
        """
        return self._as_mlp(self.weights, self.biases, "weights", "Network")

    def initial_mlp(self) -> MLP:
        """The network as it was initialised, as an :class:`~mlpinspect.MLP`."""
        return self._as_mlp(
            self.initial_weights,
            self.initial_biases,
            "initial_weights",
            "Network (initial)",
        )

    def _as_mlp(
        self,
        weights: Sequence[np.ndarray],
        biases: Sequence[np.ndarray],
        label: str,
        name: str,
    ) -> MLP:
        """An MLP of these parameters, each layer named ``label[i]``."""
        layers = [
            Dense(w, b, act, name=f"{label}[{i}]")
            for i, (w, b, act) in enumerate(zip(weights, biases, self.activation_names))
        ]
        return MLP(
            layers,
            input_shape=self.input_shape,
            class_names=self.class_names,
            name=name,
        )

    # -- forward ------------------------------------------------------------------

    def _check_X(self, X: Any, name: str = "X") -> np.ndarray:
        X = check_array(X, name, ndim=(2, 1 + len(self.input_shape)), dtype=self.dtype)
        if X.ndim != 2:
            if X.shape[1:] != self.input_shape:
                raise InvalidParameterError(
                    f"`{name}` must have shape (n, {self.sizes[0]}) or (n, "
                    f"{', '.join(map(str, self.input_shape))}); got {X.shape}"
                )
            X = X.reshape(X.shape[0], -1)
        elif X.shape[1] != self.sizes[0]:
            raise InvalidParameterError(
                f"`{name}` must have {self.sizes[0]} features (the network's input "
                f"size); got {X.shape[1]} (shape {X.shape})"
            )
        return X

    def activations(self, X: Any) -> ForwardTrace:
        """Every layer's pre-activations ``z`` and activations ``a`` for ``X``.

        Parameters
        ----------
        X : array_like, shape ``(n, sizes[0])`` or ``(n, *input_shape)``

        Returns
        -------
        ForwardTrace
            ``pre[l]`` and ``post[l]`` have shape ``(n, sizes[l+1])``.

        Examples
        --------
        >>> import numpy as np
        >>> net = Network([4, 3, 2], seed=0)
        >>> trace = net.activations(np.zeros((5, 4)))
        >>> [a.shape for a in trace.post]
        [(5, 3), (5, 2)]
        """
        X = self._check_X(X)
        a = X
        pre, post = [], []
        for p, name in zip(self._params, self.activation_names):
            z = a @ p[:, :-1].T
            z += p[:, -1]
            a = get_activation(name)(z)
            pre.append(z)
            post.append(a)
        return ForwardTrace(X, tuple(pre), tuple(post))

    def _output(self, X: np.ndarray) -> np.ndarray:
        """Outputs for validated ``X``, computed in chunks to bound memory."""
        out = np.empty((X.shape[0], self.sizes[-1]), dtype=self.dtype)
        for start in range(0, X.shape[0], _EVAL_CHUNK):
            a = X[start : start + _EVAL_CHUNK]
            for p, name in zip(self._params, self.activation_names):
                z = a @ p[:, :-1].T
                z += p[:, -1]
                a = get_activation(name)(z, out=z)
            out[start : start + _EVAL_CHUNK] = a
        return out

    def forward(self, X: Any) -> np.ndarray:
        """The network's outputs for ``X``, shape ``(n, sizes[-1])``.

        Examples
        --------
        >>> import numpy as np
        >>> Network([4, 3, 2], seed=0).forward(np.zeros((1, 4))).shape
        (1, 2)
        """
        return self._output(self._check_X(X))

    predict_proba = forward

    def predict(self, X: Any) -> np.ndarray:
        """The index of the largest output for each row of ``X``, shape ``(n,)``."""
        return self.forward(X).argmax(axis=1)

    def score(self, X: Any, y: Any) -> float:
        """Fraction of ``X`` classified as ``y`` (integer or one-hot labels).

        Examples
        --------
        >>> import numpy as np
        >>> net = Network([2, 2], activation="identity", seed=0)
        >>> 0.0 <= net.score(np.eye(2), [0, 1]) <= 1.0
        True
        """
        X = self._check_X(X)
        y = check_labels(y, "y", n_classes=self.sizes[-1], n_samples=X.shape[0])
        return float(np.mean(self._output(X).argmax(axis=1) == y))

    # -- cost ---------------------------------------------------------------------

    def _cost(
        self, X: np.ndarray, y: np.ndarray, cost: str, l2: float, n_train: int
    ) -> float:
        """Mean cost over ``(X, y)`` plus the L2 term ``l2 / (2 n) * sum(w^2)``."""
        total = 0.0
        for start in range(0, X.shape[0], _EVAL_CHUNK):
            a = self._output(X[start : start + _EVAL_CHUNK]).astype(np.float64)
            t = np.zeros_like(a)
            t[np.arange(a.shape[0]), y[start : start + _EVAL_CHUNK]] = 1.0
            if cost == "quadratic":
                total += 0.5 * float(np.sum((a - t) ** 2))
            elif self.activation_names[-1] == "softmax":
                picked = a[np.arange(a.shape[0]), y[start : start + _EVAL_CHUNK]]
                total -= float(np.sum(np.log(np.clip(picked, 1e-300, None))))
            else:
                a = np.clip(a, 1e-15, 1 - 1e-15)
                total -= float(np.sum(t * np.log(a) + (1 - t) * np.log(1 - a)))
        value = total / X.shape[0]
        if l2:
            value += (
                0.5
                * (l2 / n_train)
                * sum(float(np.sum(w.astype(np.float64) ** 2)) for w in self.weights)
            )
        return value

    # -- training -----------------------------------------------------------------

    def fit(
        self,
        X: Any,
        y: Any,
        *,
        epochs: int = 30,
        batch_size: int = 10,
        learning_rate: float = 3.0,
        cost: str = "quadratic",
        l2: float = 0.0,
        validation_data: tuple[Any, Any] | None = None,
        shuffle: bool = True,
        monitor: bool = True,
        progress: bool = True,
        callback: Callable[[Network, int, History], Any] | None = None,
        engine: str = "numpy",
    ) -> History:
        """Train by mini-batch stochastic gradient descent.

        Each epoch visits the training data once in mini-batches of
        ``batch_size`` (in a new random order when ``shuffle``); for each
        mini-batch the gradient of the cost is averaged over the batch and
        every weight moves by ``-learning_rate`` times it. With ``l2 > 0``
        weights (not biases) first decay by ``1 - learning_rate * l2 / n``,
        where ``n`` is the number of training examples, as in Nielsen's book.

        Parameters
        ----------
        X : array_like, shape ``(n, sizes[0])`` or ``(n, *input_shape)``
            Training inputs.
        y : array_like, shape (n,) or (n, sizes[-1])
            Integer class labels or one-hot rows.
        epochs : int, default 30
            Passes over the data (0 trains nothing).
        batch_size : int, default 10
            Examples per mini-batch (the last batch may be smaller).
        learning_rate : float, default 3.0
            The step size ``eta``.
        cost : {"quadratic", "cross_entropy"}, default "quadratic"
            ``"quadratic"`` is ``0.5 * ||a - y||^2``. ``"cross_entropy"`` is the
            binary cross-entropy of each output for a sigmoid output layer and
            the log-likelihood ``-log a_y`` for a softmax output layer (it is
            only defined for those two).
        l2 : float, default 0.0
            L2 regularisation strength ``lambda``.
        validation_data : tuple (X_val, y_val), optional
            Evaluated after every epoch.
        shuffle : bool, default True
            Shuffle the training data at every epoch.
        monitor : bool, default True
            Compute the training cost and accuracy after every epoch (one
            forward pass over the training data; switch off for speed).
        progress : bool, default True
            Print one line per epoch to standard error.
        callback : callable, optional
            Called as ``callback(network, epoch, history)`` after every epoch;
            training stops early when it returns ``True``.
        engine : {"numpy", "numba"}, default "numpy"
            What runs the mini-batch loop. ``"numba"`` runs the same arithmetic
            as compiled code (``pip install "mlpinspect[fast]"``): 1.4x (float64)
            to 1.8x (float32) faster at batch size 10, where numpy's per-call
            overhead dominates.
            The first use on a machine compiles it (a few seconds; cached on
            disk afterwards). The engines round differently, so a seed
            reproduces a network exactly within one engine, not across them.

        Returns
        -------
        History
            Also stored as ``self.history``.

        Raises
        ------
        InvalidParameterError
            For inputs of the wrong shape, NaN or inf in ``X``, labels out of
            range, an unknown cost or engine, or a cost the output activation
            does not support.
        ImportError
            For ``engine="numba"`` when numba is not installed.
        """
        X = self._check_X(X)
        y = check_labels(y, "y", n_classes=self.sizes[-1], n_samples=X.shape[0])
        epochs = check_int(epochs, "epochs", minimum=0)
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        learning_rate = check_float(
            learning_rate, "learning_rate", minimum=0.0, strict_minimum=True
        )
        cost = check_choice(cost, "cost", COSTS)
        l2 = check_float(l2, "l2", minimum=0.0)
        engine = check_choice(engine, "engine", ENGINES)
        sgd_epoch = self._sgd_epoch if engine == "numpy" else self._numba_sgd_epoch
        if engine == "numba":
            _load_numba_engine()  # fail before training, not after the first epoch
        if cost == "cross_entropy" and self.activation_names[-1] not in (
            "sigmoid",
            "softmax",
        ):
            raise InvalidParameterError(
                f"`cost`='cross_entropy' needs a sigmoid or softmax output layer; this "
                f"network's output activation is {self.activation_names[-1]!r}"
            )
        Xv = yv = None
        if validation_data is not None:
            if (
                not isinstance(validation_data, (tuple, list))
                or len(validation_data) != 2
            ):
                raise InvalidParameterError(
                    "`validation_data` must be a pair (X_val, y_val); got "
                    f"{type(validation_data).__name__}"
                )
            Xv = self._check_X(validation_data[0], "validation_data[0]")
            yv = check_labels(
                validation_data[1],
                "validation_data[1]",
                n_classes=self.sizes[-1],
                n_samples=Xv.shape[0],
            )

        config = {
            "epochs": epochs,
            "batch_size": batch_size,
            "learning_rate": learning_rate,
            "cost": cost,
            "l2": l2,
            "shuffle": bool(shuffle),
            "n_train": int(X.shape[0]),
            "engine": engine,
        }
        history = History(config=config)
        self.history = history
        targets = np.zeros((X.shape[0], self.sizes[-1]), dtype=self.dtype)
        targets[np.arange(X.shape[0]), y] = 1.0
        buffers = self._buffers(min(batch_size, X.shape[0]))

        for epoch in range(1, epochs + 1):
            order = (
                self._rng.permutation(X.shape[0]) if shuffle else np.arange(X.shape[0])
            )
            start = time.perf_counter()
            # Mini-batch products are too small to gain from BLAS threads, and
            # waking idle threads thousands of times per epoch costs more than
            # the arithmetic (10x slower at batch 100 on a 2-core machine).
            with threadpool_limits(limits=1, user_api="blas"):
                sgd_epoch(
                    X, targets, order, batch_size, learning_rate, cost, l2, buffers
                )
            seconds = time.perf_counter() - start
            if not all(np.isfinite(p).all() for p in self._params):
                raise FloatingPointError(
                    f"training diverged at epoch {epoch}: the weights hold NaN or inf; "
                    f"lower `learning_rate` (got {learning_rate})"
                )
            history.epoch.append(epoch)
            history.seconds.append(seconds)
            if monitor:
                history.cost.append(self._cost(X, y, cost, l2, X.shape[0]))
                history.train_accuracy.append(
                    float(np.mean(self._output(X).argmax(1) == y))
                )
            else:
                history.cost.append(float("nan"))
                history.train_accuracy.append(float("nan"))
            if Xv is not None:
                history.validation_cost.append(self._cost(Xv, yv, cost, l2, X.shape[0]))
                history.validation_accuracy.append(
                    float(np.mean(self._output(Xv).argmax(1) == yv))
                )
            if progress:
                _print_progress(history, epochs)
            if callback is not None and callback(self, epoch, history) is True:
                break
        return history

    def _buffers(self, m: int) -> dict[str, list[np.ndarray]]:
        """Preallocate every array one mini-batch of ``m`` examples needs.

        ``A[l]`` is the input to layer ``l`` with a trailing column of ones
        (the bias input); ``Z[l]`` its pre-activation; ``D[l]`` the error
        ``delta`` of layer ``l``; ``T[l]`` scratch space of the same shape.
        """
        dt = self.dtype
        A = [np.ones((m, n + 1), dtype=dt) for n in self.sizes[:-1]]
        A.append(np.empty((m, self.sizes[-1]), dtype=dt))
        Z = [np.empty((m, n), dtype=dt) for n in self.sizes[1:]]
        D = [np.empty((m, n), dtype=dt) for n in self.sizes[1:]]
        T = [np.empty((m, n), dtype=dt) for n in self.sizes[1:]]
        Y = [np.empty((m, self.sizes[-1]), dtype=dt)]
        return {"A": A, "Z": Z, "D": D, "T": T, "Y": Y}

    def _gemm_update(self):
        """Return ``update(P, A, D, alpha)`` doing ``P += alpha * D^T A`` in place.

        BLAS ``gemm`` on the transposed (Fortran-ordered) views does it in one
        call without temporaries. Should scipy ever return a copy instead of
        writing in place, fall back to numpy (slower, never wrong).
        """
        from scipy.linalg import blas

        gemm = blas.dgemm if self.dtype == np.float64 else blas.sgemm
        probe = np.zeros((2, 3), dtype=self.dtype)
        a = np.ones((4, 3), dtype=self.dtype)
        d = np.ones((4, 2), dtype=self.dtype)
        result = gemm(1.0, a.T, d.T, 1.0, probe.T, trans_b=1, overwrite_c=1)
        if np.shares_memory(result, probe) and probe[0, 0] == 4.0:

            def update(
                P: np.ndarray, A: np.ndarray, D: np.ndarray, alpha: float
            ) -> None:
                gemm(alpha, A.T, D.T, 1.0, P.T, trans_b=1, overwrite_c=1)

        else:  # pragma: no cover - depends on the scipy build

            def update(
                P: np.ndarray, A: np.ndarray, D: np.ndarray, alpha: float
            ) -> None:
                P += alpha * (D.T @ A)

        return update

    def _sgd_epoch(
        self,
        X: np.ndarray,
        targets: np.ndarray,
        order: np.ndarray,
        batch_size: int,
        learning_rate: float,
        cost: str,
        l2: float,
        buffers: dict[str, list[np.ndarray]],
    ) -> None:
        """One pass of mini-batch SGD over ``X[order]``: the hot loop.

        For a mini-batch of ``m`` examples (Nielsen's equations BP1-BP4, in
        matrix form, one row per example)::

            z_l = a_{l-1} W_l^T + b_l,          a_l = f_l(z_l)
            delta_L = dC/da_L * f_L'(z_L)      (= a_L - y for cross-entropy)
            delta_l = (delta_{l+1} W_{l+1}) * f_l'(z_l)
            W_l -= eta/m * delta_l^T a_{l-1},   b_l -= eta/m * sum(delta_l)

        ``delta`` is scaled by ``eta/m`` once at the output; the scale then
        carries through the (linear) backward pass to every layer. At batch
        size 10 the arithmetic is small, so the loop body is kept to a few
        numpy calls on views prepared in advance.
        """
        L = self.n_layers
        params = self._params
        names = self.activation_names
        # Raw ufuncs where they exist: one Python call less per layer and batch.
        from scipy.special import expit

        raw = {"sigmoid": expit, "tanh": np.tanh}
        forward = [raw.get(name, get_activation(name).forward) for name in names]
        derivative = [_derivative_kernel(name) for name in names]
        update = self._gemm_update()
        weights_only = [p[:, :-1] for p in params]  # for delta and weight decay
        n_in = self.sizes[0]
        cross_entropy = cost == "cross_entropy"  # then delta_L = a_L - y exactly
        decay = 1.0 - learning_rate * l2 / X.shape[0]
        n = X.shape[0]
        full = min(batch_size, n)

        def views(m: int) -> tuple:
            """The buffers cut to ``m`` rows (row slices keep C order)."""
            A = [a[:m] for a in buffers["A"]]
            hidden = [a[:, :-1] for a in A[1:L]] + [A[L]]  # where f_l writes
            return (
                A,
                hidden,
                [z[:m] for z in buffers["Z"]],
                [d[:m] for d in buffers["D"]],
                [t[:m] for t in buffers["T"]],
                buffers["Y"][0][:m],
                A[0][:, :n_in],
            )

        plan_full = views(full)
        take, matmul, subtract, multiply = np.take, np.matmul, np.subtract, np.multiply
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            m = idx.shape[0]
            A, hidden, Z, D, T, Y, x = plan_full if m == full else views(m)
            # Gather the batch; mode="clip" skips a bounds check `order` never needs.
            take(X, idx, 0, x, "clip")
            take(targets, idx, 0, Y, "clip")

            # Forward pass; A[l] ends in a column of ones, so z_l includes b_l.
            for l in range(L):
                matmul(A[l], params[l].T, out=Z[l])
                forward[l](Z[l], out=hidden[l])

            # Output error, scaled by eta / m.
            subtract(A[L], Y, out=D[-1])
            if not cross_entropy:
                derivative[-1](Z[-1], A[L], D[-1], T[-1])
            multiply(D[-1], learning_rate / m, out=D[-1])

            # Backward pass and updates, top layer first: delta_{l-1} uses the
            # weights of layer l before they change.
            for l in range(L - 1, -1, -1):
                if l:
                    matmul(D[l], weights_only[l], out=D[l - 1])
                    derivative[l - 1](Z[l - 1], hidden[l - 1], D[l - 1], T[l - 1])
                if l2:
                    multiply(weights_only[l], decay, out=weights_only[l])
                update(params[l], A[l], D[l], -1.0)

    def _numba_sgd_epoch(
        self,
        X: np.ndarray,
        targets: np.ndarray,
        order: np.ndarray,
        batch_size: int,
        learning_rate: float,
        cost: str,
        l2: float,
        buffers: dict[str, list[np.ndarray]],
    ) -> None:
        """:meth:`_sgd_epoch` as compiled code: the same arithmetic, in numba."""
        _load_numba_engine().sgd_epoch(
            X,
            targets,
            order,
            self._params,
            buffers,
            self.activation_names,
            batch_size,
            learning_rate,
            cost == "cross_entropy",
            1.0 - learning_rate * l2 / X.shape[0],
        )

    # -- persistence --------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Save the network to one ``.npz`` file (no pickle).

        Weights, biases, activations, initial weights, the input shape, the
        initialisation settings and the last training history are stored;
        :meth:`load` restores them bit for bit. The file is written to a
        temporary file in the same folder and renamed into place, so an
        interrupted save never leaves half a file.

        Parameters
        ----------
        path : str or path-like
            Destination; ``.npz`` is appended when missing.

        Returns
        -------
        pathlib.Path
            The path written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> net = Network([4, 3, 2], seed=0)
        >>> with tempfile.TemporaryDirectory() as d:
        ...     p = net.save(pathlib.Path(d) / "net")
        ...     same = Network.load(p)
        >>> bool((same.weights[0] == net.weights[0]).all())
        True
        """
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        meta = {
            "format": _FORMAT,
            "format_version": _FORMAT_VERSION,
            "sizes": self.sizes,
            "activations": self.activation_names,
            "init": self.init,
            "seed": None if self.seed is None else int(self.seed),
            "dtype": self.dtype.name,
            "input_shape": list(self.input_shape),
            "class_names": self.class_names,
            "history": None if self.history is None else self.history.to_dict(),
        }
        arrays: dict[str, np.ndarray] = {"meta": np.array(json.dumps(meta))}
        for i in range(self.n_layers):
            arrays[f"weight_{i}"] = np.ascontiguousarray(self.weights[i])
            arrays[f"bias_{i}"] = np.ascontiguousarray(self.biases[i])
            arrays[f"initial_weight_{i}"] = self.initial_weights[i]
            arrays[f"initial_bias_{i}"] = self.initial_biases[i]
        atomic_write(path, lambda fh: np.savez(fh, **arrays))
        return path

    @classmethod
    def load(cls, path: str | os.PathLike) -> Network:
        """Load a network saved by :meth:`save`.

        Raises
        ------
        ModelFileError
            If the file is missing, not an ``.npz`` written by :meth:`save`,
            or its arrays are missing or of the wrong shape.
        """
        path = Path(path)
        try:
            # Open the file ourselves: np.load leaks its handle when the zip is corrupt.
            with open(path, "rb") as fh, np.load(fh, allow_pickle=False) as data:
                contents = {k: data[k] for k in data.files}
        except FileNotFoundError:
            raise ModelFileError(f"{path}: no such file") from None
        except Exception as exc:  # zipfile, pickle-refusal and format errors
            raise ModelFileError(
                f"{path}: not a network file saved by Network.save ({exc})"
            ) from None
        return cls._from_arrays(contents, str(path))

    @classmethod
    def _from_arrays(cls, contents: dict[str, np.ndarray], where: str) -> Network:
        if "meta" not in contents:
            raise ModelFileError(f"{where}: missing the 'meta' entry of a Network file")
        try:
            meta = json.loads(str(contents["meta"]))
        except (TypeError, ValueError) as exc:
            raise ModelFileError(f"{where}: corrupt 'meta' entry ({exc})") from None
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            raise ModelFileError(
                f"{where}: not a Network file (format is not {_FORMAT!r})"
            )
        if meta.get("format_version") != _FORMAT_VERSION:
            raise ModelFileError(
                f"{where}: unsupported format version {meta.get('format_version')!r} "
                f"(this mlpinspect reads {_FORMAT_VERSION})"
            )
        try:
            net = cls(
                meta["sizes"],
                meta["activations"],
                init=meta["init"],
                seed=0,
                dtype=np.dtype(meta["dtype"]),
                input_shape=meta["input_shape"],
                class_names=meta.get("class_names"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{where}: invalid metadata ({exc})") from None
        net.seed = meta.get("seed")
        weights, biases, init_w, init_b = [], [], [], []
        for i, (n_in, n_out) in enumerate(zip(net.sizes[:-1], net.sizes[1:])):
            for key, shape, bucket in (
                (f"weight_{i}", (n_out, n_in), weights),
                (f"bias_{i}", (n_out,), biases),
                (f"initial_weight_{i}", (n_out, n_in), init_w),
                (f"initial_bias_{i}", (n_out,), init_b),
            ):
                if key not in contents:
                    raise ModelFileError(f"{where}: missing array {key!r}")
                arr = contents[key]
                if arr.shape != shape or arr.dtype != net.dtype:
                    raise ModelFileError(
                        f"{where}: array {key!r} must have shape {shape} and dtype "
                        f"{net.dtype}; got {arr.shape} {arr.dtype}"
                    )
                bucket.append(arr)
        net._set_parameters(weights, biases)
        net.initial_weights = [_readonly_copy(w) for w in init_w]
        net.initial_biases = [_readonly_copy(b) for b in init_b]
        if meta.get("history") is not None:
            net.history = History.from_dict(meta["history"])
        return net

    def __repr__(self) -> str:
        sizes = "-".join(str(s) for s in self.sizes)
        acts = self.activation_names
        act = acts[0] if len(set(acts)) == 1 else list(acts)
        return (
            f"Network({sizes}, activation={act!r}, init={self.init!r}, "
            f"dtype={self.dtype.name})"
        )


def _readonly_copy(arr: np.ndarray) -> np.ndarray:
    out = np.array(arr, copy=True)
    out.flags.writeable = False
    return out


def _print_progress(history: History, epochs: int) -> None:
    i = len(history) - 1
    parts = [f"epoch {history.epoch[i]:>{len(str(epochs))}}/{epochs}"]
    if np.isfinite(history.cost[i]):
        parts.append(f"cost {history.cost[i]:.4f}")
        parts.append(f"train {100 * history.train_accuracy[i]:.2f}%")
    if history.validation_accuracy:
        parts.append(f"valid {100 * history.validation_accuracy[i]:.2f}%")
    parts.append(f"{history.seconds[i]:.2f} s")
    print("  ".join(parts), file=sys.stderr, flush=True)
