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

Training lives in ``mlpinspect.network._training`` (and its compiled twin);
inference is the :class:`~mlpinspect.MLP` view's: ``forward``, ``trace``,
``predict``, ``predict_proba`` and ``score`` run :meth:`to_mlp`'s forward pass,
so the library has one forward implementation.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from .._io import check_output_path
from .._netfile import NetworkFile, load_network, write_network
from .._validation import (
    check_bool,
    check_choice,
    check_float,
    check_float_dtype,
    check_input,
    check_int,
    check_memory,
    check_rng,
    encode_labels,
)
from ..activations import canonical_activation, get_activation
from ..errors import InvalidParameterError, ModelFileError, NumericalError
from ..mlp import MLP, Dense, ForwardTrace, _check_input_shape, _check_names
from . import _training
from ._history import History, print_progress
from ._snapshots import check_recorder

__all__ = ["COSTS", "ENGINES", "INITIALIZATIONS", "Network", "resolve_engine"]

INITIALIZATIONS = ("normal", "scaled", "glorot", "he")
"""Names accepted by ``Network(init=...)``."""

COSTS = ("quadratic", "cross_entropy")
ENGINES = ("auto", "numpy", "numba")
"""Names accepted by ``Network.fit(engine=...)``: ``"auto"`` is the compiled
loop when numba can be imported (a core dependency on CPython) and supports
every activation, else the numpy loop."""
_EVAL_CHUNK = 4096  # rows per chunk when evaluating on a whole data set


def load_numba_engine() -> Any:
    """The compiled training loop's module; says how to install numba if missing."""
    try:
        from . import _numba_engine as engine
    except ImportError as exc:
        raise ImportError(
            f"`engine`='numba' needs numba: pip install numba ({exc})"
        ) from exc
    return engine


def resolve_engine(engine: str, activations: Any = ()) -> str:
    """``"numpy"`` or ``"numba"``: what ``engine`` runs for these activations.

    ``"auto"`` is ``"numba"`` when numba imports and implements every
    activation, ``"numpy"`` otherwise (numba missing, e.g. on PyPy, or an
    activation registered without compiled code). An explicit name is
    returned as given (and fails later if it cannot run).
    """
    engine = check_choice(engine, "engine", ENGINES)
    if engine != "auto":
        return engine
    try:
        module = load_numba_engine()
    except ImportError:
        return "numpy"
    return "numba" if all(module.supports(a) for a in activations) else "numpy"


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


def _readonly_copy(arr: np.ndarray) -> np.ndarray:
    out = np.array(arr, copy=True)
    out.flags.writeable = False
    return out


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
    class_names : sequence, optional
        The class labels (strings, integers or booleans): one per output unit,
        e.g. ``[str(d) for d in range(10)]``, or two (negative, positive) for a
        network with one output. ``fit`` and ``score`` accept labels of that
        kind; ``predict`` returns them. Default: ``0, 1, ...``.
    feature_names : sequence of str, optional
        One name per input feature; figures and tables use them.

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
        class_names: Sequence[Any] | None = None,
        feature_names: Sequence[str] | None = None,
    ) -> None:
        if isinstance(sizes, (str, bytes)) or not isinstance(
            sizes, Sequence | np.ndarray
        ):
            raise InvalidParameterError(
                f"`sizes` must be a sequence of layer sizes such as [784, 30, 10]; "
                f"got {sizes!r:.60}"
            )
        if len(sizes) < 2:
            raise InvalidParameterError(
                f"`sizes` must have at least 2 entries (inputs and outputs); got "
                f"{list(sizes)}"
            )
        self.sizes = [
            check_int(s, f"sizes[{i}]", minimum=1) for i, s in enumerate(sizes)
        ]
        self.dtype = self._check_dtype(dtype)
        n_params = sum((a + 1) * b for a, b in zip(self.sizes[:-1], self.sizes[1:]))
        # Parameters and their initial copies, plus each layer's float64 draw.
        check_memory(
            n_params * (2 * self.dtype.itemsize + 8), "sizes", list(self.sizes),
            f"{n_params:,} parameters",
        )  # fmt: skip
        self.activation_names = self._check_activations(activation)
        self.init = check_choice(init, "init", INITIALIZATIONS)
        if input_shape is None:
            input_shape = (28, 28) if self.sizes[0] == 784 else (self.sizes[0],)
        self.input_shape = _check_input_shape(input_shape, self.sizes[0])
        self.task = "binary" if self.sizes[-1] == 1 else "multiclass"
        n_classes = 2 if self.task == "binary" else self.sizes[-1]
        self.class_names = (
            None
            if class_names is None
            else _check_names(class_names, "class_names", n_classes, "labels",
                              labels=True)
        )  # fmt: skip
        self.feature_names = (
            None
            if feature_names is None
            else _check_names(feature_names, "feature_names", self.sizes[0], "names",
                              labels=False)
        )  # fmt: skip
        self.seed = seed if isinstance(seed, (int, np.integer)) else None
        self._rng = check_rng(seed)
        weights, biases = _initial_parameters(
            self.sizes, self.init, self._rng, self.dtype
        )
        self._set_parameters(weights, biases)
        self.initial_weights = [_readonly_copy(w) for w in weights]
        self.initial_biases = [_readonly_copy(b) for b in biases]
        self.history: History | None = None

    def _check_activations(self, activation: Any) -> list[str]:
        n_layers = len(self.sizes) - 1
        if isinstance(activation, str):
            names = [activation] * n_layers
        elif isinstance(activation, Sequence):
            names = list(activation)
            if len(names) != n_layers:
                raise InvalidParameterError(
                    f"`activation` must be one name or {n_layers} names (one per "
                    f"weight layer); got {len(names)}"
                )
        else:
            raise InvalidParameterError(
                f"`activation` must be an activation name or a list of {n_layers} "
                f"names; got {activation!r:.60}"
            )
        try:
            canonical = [
                canonical_activation(a, f"activation[{i}]") for i, a in enumerate(names)
            ]
        except Exception as exc:  # UnsupportedModelError: an argument, here
            raise InvalidParameterError(str(exc)) from None
        for i, name in enumerate(canonical[:-1]):
            if not get_activation(name).elementwise:
                raise InvalidParameterError(
                    f"`activation[{i}]` is {name!r}, which is only allowed on the "
                    f"output layer"
                )
        return canonical

    @staticmethod
    def _check_dtype(dtype: Any) -> np.dtype:
        return check_float_dtype(dtype, "dtype")

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

    @property
    def n_inputs(self) -> int:
        """Size of one flattened input (``sizes[0]``)."""
        return self.sizes[0]

    @property
    def n_outputs(self) -> int:
        """Number of output units (``sizes[-1]``)."""
        return self.sizes[-1]

    @property
    def n_classes(self) -> int:
        """Number of classes: 2 for a network with one output."""
        return 2 if self.task == "binary" else self.sizes[-1]

    @property
    def classes(self) -> np.ndarray:
        """The class labels, defaults included: what :meth:`predict` returns."""
        if self.class_names is not None:
            return np.asarray(self.class_names)
        return np.arange(self.n_classes)

    def to_mlp(self) -> MLP:
        """A read-only :class:`~mlpinspect.MLP` snapshot of the current parameters.

        Examples
        --------
        >>> Network([4, 3, 2], seed=0).to_mlp()
        MLP(4-3-2, activations=[sigmoid, sigmoid], task='multiclass', name='Network')
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
            feature_names=self.feature_names,
            task=self.task,
            name=name,
        )

    # -- inference: the MLP view's forward pass -------------------------------------

    def trace(self, X: Any, *, stop: int | None = None) -> ForwardTrace:
        """Every layer's pre-activations ``z`` and activations ``a`` for ``X``.

        The same as ``to_mlp().trace(X)``: see :meth:`mlpinspect.MLP.trace`.

        Examples
        --------
        >>> import numpy as np
        >>> net = Network([4, 3, 2], seed=0)
        >>> trace = net.trace(np.zeros((5, 4)))
        >>> [a.shape for a in trace.post]
        [(5, 3), (5, 2)]
        """
        return self.to_mlp().trace(X, stop=stop)

    def activations(self, X: Any) -> ForwardTrace:
        """Deprecated alias of :meth:`trace` (the name :class:`~mlpinspect.MLP`
        uses); it will be removed in 0.3."""
        warnings.warn(
            "Network.activations(X) is deprecated; use Network.trace(X), the name "
            "MLP uses",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.trace(X)

    def forward(self, X: Any, *, chunk_size: int | None = _EVAL_CHUNK) -> np.ndarray:
        """The network's outputs for ``X``, shape ``(n, sizes[-1])``.

        Examples
        --------
        >>> import numpy as np
        >>> Network([4, 3, 2], seed=0).forward(np.zeros((1, 4))).shape
        (1, 2)
        """
        return self.to_mlp().forward(X, chunk_size=chunk_size)

    def predict(self, X: Any) -> np.ndarray:
        """The predicted label of each row of ``X``, shape ``(n,)``: the class of
        the largest output (for one output: the positive class above 0.5).

        Examples
        --------
        >>> import numpy as np
        >>> net = Network([4, 3, 2], seed=0, class_names=["no", "yes"])
        >>> net.predict(np.zeros((1, 4))).dtype.kind
        'U'
        """
        return self.to_mlp().predict(X)

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)`` (see
        :meth:`mlpinspect.MLP.predict_proba`): a softmax output as it is,
        one-vs-rest sigmoids normalised to sum to 1."""
        return self.to_mlp().predict_proba(X)

    def score(self, X: Any, y: Any) -> float:
        """Fraction of ``X`` classified as ``y`` (labels or one-hot rows).

        Examples
        --------
        >>> import numpy as np
        >>> net = Network([2, 2], activation="identity", seed=0)
        >>> 0.0 <= net.score(np.eye(2), [0, 1]) <= 1.0
        True
        """
        return self.to_mlp().score(X, y)

    # -- training -----------------------------------------------------------------

    def _targets(self, y: np.ndarray) -> np.ndarray:
        """Training targets from class indices: one-hot rows, or the 0/1 column
        of a network with one output."""
        if self.task == "binary":
            return y.astype(self.dtype).reshape(-1, 1)
        targets = np.zeros((y.shape[0], self.sizes[-1]), dtype=self.dtype)
        targets[np.arange(y.shape[0]), y] = 1.0
        return targets

    def _cost(
        self, mlp: MLP, X: np.ndarray, y: np.ndarray, cost: str, l2: float,
        n_train: int,
    ) -> tuple[float, float]:  # fmt: skip
        """``(mean cost + L2 term l2 / (2 n) * sum(w^2), accuracy)`` over ``(X, y)``."""
        total, correct = 0.0, 0
        for start in range(0, X.shape[0], _EVAL_CHUNK):
            xb, yb = X[start : start + _EVAL_CHUNK], y[start : start + _EVAL_CHUNK]
            out = mlp.propagate(xb, keep=False)
            correct += int((mlp._decide(out) == yb).sum())
            a = out.astype(np.float64)
            t = self._targets(yb).astype(np.float64)
            if cost == "quadratic":
                total += 0.5 * float(np.sum((a - t) ** 2))
            elif self.activation_names[-1] == "softmax":
                picked = a[np.arange(a.shape[0]), yb]
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
        return value, correct / X.shape[0]

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
        engine: str = "auto",
        snapshots: Any = None,
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
            Class labels (of the kind ``class_names`` holds; positions
            ``0, 1, ...`` by default) or one-hot rows.
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
        engine : {"auto", "numpy", "numba"}, default "auto"
            What runs the mini-batch loop. ``"numba"`` runs the same arithmetic
            as compiled code (numba is a dependency on CPython): 1.6x (float64)
            to 1.9x (float32) faster than ``"numpy"`` for the study network at
            batch size 10, where numpy's per-call overhead dominates, and more
            for smaller layers (``benchmarks/train_speed.py``). ``"numpy"`` is
            the readable reference loop. ``"auto"`` is ``"numba"`` when numba
            imports and implements every activation, else ``"numpy"``; the
            engine used is recorded in ``history.config["engine"]``.
            The first use on a machine compiles it (a few seconds; cached on
            disk afterwards). The engines round differently, so a seed
            reproduces a network exactly within one engine (and so on one
            install), not across them.
        snapshots : SnapshotRecorder, optional
            Record the weights during training: a
            :class:`~mlpinspect.SnapshotRecorder` says how often (every k
            epochs and/or every n mini-batches) and where (in memory, or
            streamed to one ``.npz`` file). Snapshots are always taken at the
            start, before any update (the initialisation, for a new network),
            and at the end. A snapshot taken at the end of an epoch carries
            that epoch's numbers of the history (cost, accuracies). The result
            is ``history.snapshots``. Recording never changes the arithmetic:
            the same seed trains the same network with or without it.

        Returns
        -------
        History
            Also stored as ``self.history``.

        Raises
        ------
        InvalidParameterError
            For inputs of the wrong shape, NaN or inf in ``X``, unknown labels,
            an unknown cost or engine, or a cost the output activation does
            not support.
        NumericalError
            When training diverges (the weights overflow): the network is left
            with the weights it had before the failing epoch. Snapshots taken
            until then are kept (``complete=False``).
        ImportError
            For ``engine="numba"`` when numba is not installed.
        """
        X = check_input(self, X).values
        y = encode_labels(self, y, n_samples=X.shape[0])
        epochs = check_int(epochs, "epochs", minimum=0)
        # The history keeps a few Python floats per epoch (about 200 bytes).
        check_memory(200 * epochs, "epochs", epochs, "the training history")
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        learning_rate = check_float(
            learning_rate, "learning_rate", minimum=0.0, strict_minimum=True
        )
        cost = check_choice(cost, "cost", COSTS)
        l2 = check_float(l2, "l2", minimum=0.0)
        engine = resolve_engine(engine, self.activation_names)
        shuffle = check_bool(shuffle, "shuffle")
        monitor = check_bool(monitor, "monitor")
        progress = check_bool(progress, "progress")
        sgd_epoch = self._engine(engine)
        if callback is not None and not callable(callback):
            raise InvalidParameterError(
                f"`callback` must be callable or None; got {callback!r:.60}"
            )
        if cost == "cross_entropy" and self.activation_names[-1] not in (
            "sigmoid",
            "softmax",
        ):
            raise InvalidParameterError(
                f"`cost`='cross_entropy' needs a sigmoid or softmax output layer; this "
                f"network's output activation is {self.activation_names[-1]!r}"
            )
        schedule = check_recorder(snapshots)
        Xv, yv = self._validation_data(validation_data)
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
        targets = self._targets(y)
        bufs = _training.buffers(self.sizes, min(batch_size, X.shape[0]), self.dtype)
        decay = 1.0 - learning_rate * l2 / X.shape[0]
        n_batches = -(-X.shape[0] // batch_size)
        if schedule is not None:  # the start, before any update
            snapshots.record(self.to_mlp(), epoch=0.0, step=0, metrics={})
        try:
            for epoch in range(1, epochs + 1):
                order = (
                    self._rng.permutation(X.shape[0])
                    if shuffle
                    else np.arange(X.shape[0])
                )
                before = [p.copy() for p in self._params]
                step = (epoch - 1) * n_batches
                cuts = () if schedule is None else schedule.cuts(step, n_batches)
                # Mini-batch products are too small to gain from BLAS threads,
                # and waking idle threads thousands of times per epoch costs
                # more than the arithmetic (10x slower at batch 100 on a 2-core
                # machine).
                with (
                    threadpool_limits(limits=1, user_api="blas"),
                    np.errstate(over="ignore", invalid="ignore"),
                ):
                    seconds = self._epoch(
                        sgd_epoch, X, targets, order, batch_size, learning_rate,
                        cost, decay, bufs, cuts, snapshots, epoch, step, n_batches,
                    )  # fmt: skip
                if not all(np.isfinite(p).all() for p in self._params):
                    for p, saved in zip(self._params, before):
                        p[...] = saved
                    raise NumericalError(
                        f"training diverged at epoch {epoch}: the weights overflowed "
                        f"to NaN or inf; the network keeps its weights from before "
                        f"that epoch. Lower `learning_rate` (got {learning_rate})"
                    )
                self._record(history, epoch, seconds, X, y, Xv, yv, cost, l2, monitor)
                if progress:
                    print_progress(history, epochs)
                stop = callback is not None and callback(self, epoch, history) is True
                step += n_batches
                if schedule is not None and (
                    stop or epoch == epochs or schedule.due(epoch, step)
                ):
                    snapshots.record(
                        self.to_mlp(),
                        epoch=float(epoch),
                        step=step,
                        metrics=self._last_numbers(history),
                    )
                if stop:
                    break
        except BaseException:
            if schedule is not None:
                snapshots.close(complete=False)
            raise
        if schedule is not None:
            history.snapshots = snapshots.close(complete=True)
        return history

    def _epoch(
        self, sgd_epoch: Callable[..., None], X: np.ndarray, targets: np.ndarray,
        order: np.ndarray, batch_size: int, learning_rate: float, cost: str,
        decay: float, bufs: Any, cuts: Any, recorder: Any, epoch: int, step: int,
        n_batches: int,
    ) -> float:  # fmt: skip
        """One epoch of SGD; returns the seconds spent in the engine.

        With ``cuts`` (numbers of mini-batches after which a snapshot is due),
        the epoch runs as consecutive slices of ``order``, each starting at a
        batch boundary, with a snapshot between two slices: the same batches
        in the same order as one call. A slice that overflows ends the epoch
        early (fit then restores the weights and raises).
        """
        seconds, done = 0.0, 0
        for end in (*cuts, n_batches):
            start = time.perf_counter()
            sgd_epoch(
                self._params, self.activation_names, X, targets,
                order[done * batch_size : end * batch_size], batch_size,
                learning_rate, cost == "cross_entropy", decay, bufs,
            )  # fmt: skip
            seconds += time.perf_counter() - start
            done = end
            if end == n_batches:
                break
            if not all(np.isfinite(p).all() for p in self._params):
                break
            recorder.record(
                self.to_mlp(),
                epoch=epoch - 1 + end / n_batches,
                step=step + end,
                metrics={},
            )
        return seconds

    @staticmethod
    def _last_numbers(history: History) -> dict[str, float]:
        """The last epoch's cost and accuracies, by name."""
        numbers = {
            "cost": history.cost[-1],
            "train_accuracy": history.train_accuracy[-1],
        }
        if history.validation_accuracy:
            numbers["validation_cost"] = history.validation_cost[-1]
            numbers["validation_accuracy"] = history.validation_accuracy[-1]
        return numbers

    def _engine(self, engine: str) -> Callable[..., None]:
        if engine == "numpy":
            return _training.sgd_epoch
        module = load_numba_engine()  # fail before training, not after an epoch
        unsupported = [a for a in self.activation_names if not module.supports(a)]
        if unsupported:
            raise InvalidParameterError(
                f"`engine`='numba' does not implement {unsupported[0]!r}; use "
                f"engine='numpy'"
            )
        return module.sgd_epoch

    def _validation_data(self, data: Any) -> tuple[Any, Any]:
        if data is None:
            return None, None
        if not isinstance(data, (tuple, list)) or len(data) != 2:
            raise InvalidParameterError(
                "`validation_data` must be a pair (X_val, y_val); got "
                f"{type(data).__name__}"
            )
        Xv = check_input(self, data[0], "validation_data[0]").values
        yv = encode_labels(self, data[1], "validation_data[1]", n_samples=Xv.shape[0])
        return Xv, yv

    def _record(
        self, history: History, epoch: int, seconds: float, X: np.ndarray,
        y: np.ndarray, Xv: Any, yv: Any, cost: str, l2: float, monitor: bool,
    ) -> None:  # fmt: skip
        """Append one epoch's numbers to ``history``."""
        history.epoch.append(epoch)
        history.seconds.append(seconds)
        mlp = self.to_mlp()
        if monitor:
            value, accuracy = self._cost(mlp, X, y, cost, l2, X.shape[0])
            history.cost.append(value)
            history.train_accuracy.append(accuracy)
        else:
            history.cost.append(float("nan"))
            history.train_accuracy.append(float("nan"))
        if Xv is not None:
            value, accuracy = self._cost(mlp, Xv, yv, cost, l2, X.shape[0])
            history.validation_cost.append(value)
            history.validation_accuracy.append(accuracy)

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
        path = check_output_path(path, "path")
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        meta = {
            "sizes": self.sizes,
            "activations": self.activation_names,
            "init": self.init,
            "seed": None if self.seed is None else int(self.seed),
            "dtype": self.dtype.name,
            "input_shape": list(self.input_shape),
            "class_names": None if self.class_names is None else list(self.class_names),
            "feature_names": (
                None if self.feature_names is None else list(self.feature_names)
            ),
            "history": None if self.history is None else self.history.to_dict(),
        }
        arrays: dict[str, np.ndarray] = {}
        for i in range(self.n_layers):
            arrays[f"weight_{i}"] = self.weights[i]
            arrays[f"bias_{i}"] = self.biases[i]
            arrays[f"initial_weight_{i}"] = self.initial_weights[i]
            arrays[f"initial_bias_{i}"] = self.initial_biases[i]
        return write_network(path, meta, arrays)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Network:
        """Load a network saved by :meth:`save`.

        Nothing in the file is trusted: its metadata is checked, and the
        name, shape and dtype of every array it implies are checked against
        the archive's directory before any array is decompressed, so a small
        file cannot make this allocate more than its arrays' declared size
        (at most 100 times the file's).

        Raises
        ------
        ModelFileError
            If the file is missing, not a regular file (a FIFO, a device), not
            an ``.npz`` written by :meth:`save`, its metadata is invalid, or
            its arrays are missing, of the wrong shape or far larger than the
            file.
        """
        file = load_network(path)
        return cls._from_file(file, os.fspath(path))

    @classmethod
    def _from_file(cls, file: NetworkFile, where: str) -> Network:
        meta = file.meta
        # No parameters are drawn here: the file's arrays are the network.
        net = cls.__new__(cls)
        try:
            net.sizes = file.sizes
            net.activation_names = net._check_activations(meta["activations"])
            net.init = check_choice(meta.get("init", "normal"), "init", INITIALIZATIONS)
            net.dtype = cls._check_dtype(meta["dtype"])
            net.input_shape = _check_input_shape(
                meta.get("input_shape") or [net.sizes[0]], net.sizes[0]
            )
            net.task = "binary" if net.sizes[-1] == 1 else "multiclass"
            names = meta.get("class_names")
            net.class_names = None if names is None else _check_names(
                names, "class_names", net.n_classes, "labels", labels=True
            )  # fmt: skip
            features = meta.get("feature_names")
            net.feature_names = None if features is None else _check_names(
                features, "feature_names", net.sizes[0], "names", labels=False
            )  # fmt: skip
            seed = meta.get("seed")
            if seed is not None and type(seed) is not int:
                raise InvalidParameterError(
                    f"`seed` must be an integer or null; got {seed!r:.40}"
                )
            net.seed = seed
            net._rng = check_rng(net.seed)
            history = meta.get("history")
            net.history = None if history is None else History.from_dict(history)
        except (InvalidParameterError, TypeError, ValueError, KeyError) as exc:
            raise ModelFileError(f"{where}: invalid metadata ({exc})") from None
        net._set_parameters(
            [file.layer("weight", i) for i in range(len(net.sizes) - 1)],
            [file.layer("bias", i) for i in range(len(net.sizes) - 1)],
        )
        net.initial_weights = [
            _readonly_copy(file.layer("initial_weight", i))
            for i in range(len(net.sizes) - 1)
        ]
        net.initial_biases = [
            _readonly_copy(file.layer("initial_bias", i))
            for i in range(len(net.sizes) - 1)
        ]
        return net

    def __repr__(self) -> str:
        sizes = "-".join(str(s) for s in self.sizes)
        acts = self.activation_names
        act = acts[0] if len(set(acts)) == 1 else list(acts)
        return (
            f"Network({sizes}, activation={act!r}, init={self.init!r}, "
            f"dtype={self.dtype.name})"
        )
