"""The canonical, read-only view of a multilayer perceptron.

Every model mlpinspect analyses is first turned into an :class:`MLP` by
:func:`mlpinspect.adapt`. An ``MLP`` is a sequence of :class:`Dense` layers,
each holding a weight matrix of shape ``(out, in)`` (as in Nielsen's book and
PyTorch), a bias of shape ``(out,)`` and the name of its activation. Arrays are
private copies and cannot be written, so an analysis can never change a model
and a model changed later never changes an analysis.

An ``MLP`` also knows what its outputs mean, its *task*:

``"multiclass"``
    One output per class; the prediction is the class of the largest output
    (a softmax, logits, or Nielsen's one-vs-rest sigmoids).
``"binary"``
    One output, the positive class's probability (a sigmoid) or logit (an
    identity output); two classes, negative then positive. The negative class
    has no unit of its own: its logit is minus the positive class's.
``"multilabel"``
    One independent yes/no output per label.
``"regression"``
    Real-valued outputs; no classes.

``predict``, ``predict_proba`` and ``score`` behave as scikit-learn's do for
the same model: they return labels, not positions, and ``score`` is the
accuracy of a classifier and the R² of a regressor.

The forward pass lives here, once: :meth:`MLP.trace` and everything that runs
the model (the analyses, the reference :class:`~mlpinspect.Network`'s
inference) go through it.
"""

from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import (
    _describe,
    all_finite,
    check_choice,
    check_chunk_size,
    check_float_dtype,
    check_input,
    check_int,
    encode_labels,
    is_integer,
    is_sequence,
    resolve_layer,
)
from .activations import (
    Activation,
    canonical_activation,
    get_activation,
    takes_unit_params,
)
from .errors import InvalidParameterError, NumericalError, UnsupportedModelError

__all__ = ["MLP", "TASKS", "Dense", "ForwardTrace", "infer_task"]

TASKS = ("multiclass", "binary", "multilabel", "regression")
"""The tasks an :class:`MLP` knows (see the module documentation)."""


def _frozen_copy(values: Any, name: str, ndim: int) -> np.ndarray:
    try:
        arr = values if type(values) is np.ndarray else np.asarray(values)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"`{name}` must be a numeric array; could not convert it: {exc}"
        ) from None
    dtype = arr.dtype
    if dtype.char in "fd" and not dtype.isnative:  # e.g. big-endian from a file
        dtype = dtype.newbyteorder("=")
    elif dtype.char not in "fd":  # float32 and float64 are kept as they are
        if dtype.kind not in "biuf":
            raise InvalidParameterError(
                f"`{name}` must be a real numeric array; got dtype {dtype}"
            )
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
    activation_params : array_like, shape (out,), optional
        The activation's per-unit parameters, for an activation that takes
        them: PReLU's slopes, ``Dense(W, b, "prelu", activation_params=slopes)``
        (one value is repeated for every unit). None for every other
        activation.

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
    >>> prelu = Dense(np.eye(2), np.zeros(2), "prelu", activation_params=[0.1, 0.5])
    >>> prelu.function(np.array([[-1.0, -1.0]]))
    array([[-0.1, -0.5]])
    """

    weight: np.ndarray
    bias: np.ndarray
    activation: str = "identity"
    name: str | None = None
    activation_params: np.ndarray | None = field(default=None, kw_only=True)

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
        params = self.activation_params
        if params is None:
            activation = canonical_activation(self.activation)
        else:
            params = self._unit_params(params, weight)
            activation = get_activation(self.activation, params=params).name
        object.__setattr__(self, "activation", activation)
        object.__setattr__(self, "activation_params", params)
        if self.name is not None:
            object.__setattr__(self, "name", str(self.name))

    def _unit_params(self, values: Any, weight: np.ndarray) -> np.ndarray:
        """Per-unit activation parameters: a read-only ``(out,)`` copy."""
        if not takes_unit_params(self.activation):
            get_activation(self.activation, params=values)  # raises, explaining
        arr = np.asarray(values) if not isinstance(values, np.ndarray) else values
        if arr.size == 1:
            arr = np.full(weight.shape[0], arr.reshape(-1)[0])
        params = _frozen_copy(
            arr.reshape(-1) if arr.ndim else arr, "activation_params", 1
        )
        if params.shape[0] != weight.shape[0]:
            raise InvalidParameterError(
                f"`activation_params` must have one value per unit ({weight.shape[0]}, "
                f"the rows of `weight`) or one for all; got shape {np.shape(values)}"
            )
        if params.dtype != weight.dtype:
            params = params.astype(weight.dtype)
            params.flags.writeable = False
        return params

    @property
    def n_in(self) -> int:
        """Number of incoming connections per unit."""
        return int(self.weight.shape[1])

    @property
    def n_out(self) -> int:
        """Number of units."""
        return int(self.weight.shape[0])

    @functools.cached_property
    def function(self) -> Activation:
        """The activation's record (:class:`~mlpinspect.activations.Activation`)."""
        return get_activation(self.activation, params=self.activation_params)

    def astype(self, dtype: Any) -> Dense:
        """This layer with weights and bias of another floating dtype
        (float32 or float64).

        Examples
        --------
        >>> Dense([[1.0]], [0.0]).astype("float32").weight.dtype
        dtype('float32')
        """
        dtype = check_float_dtype(dtype)
        if self.weight.dtype == dtype:
            return self
        params = self.activation_params
        if params is not None:
            params = params.astype(dtype)
        return Dense(
            self.weight.astype(dtype), self.bias.astype(dtype), self.activation,
            self.name, activation_params=params,
        )  # fmt: skip

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
        ``post[l] = activation_l(pre[l])``; ``post[-1]`` is the output (of the
        last layer run: a trace may stop early).

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
        """The last layer's output, ``post[-1]``."""
        return self.post[-1]

    def source(self, layer: int) -> np.ndarray:
        """The activations feeding ``layer``: the input for layer 0."""
        layer = check_int(layer, "layer", minimum=0, maximum=len(self.post))
        return self.input if layer == 0 else self.post[layer - 1]

    def stage(self, layer: int, stage: str) -> np.ndarray:
        """``pre[layer]`` for ``stage="pre"``, ``post[layer]`` for ``"post"``."""
        n = len(self.pre)
        layer = check_int(layer, "layer", minimum=-n, maximum=n - 1)
        stage = check_choice(stage, "stage", ("pre", "post"))
        return self.pre[layer] if stage == "pre" else self.post[layer]


def infer_task(activation: str, n_outputs: int) -> str | None:
    """The task an output layer implies, or None when it is ambiguous.

    A softmax or log-softmax means ``"multiclass"``; one sigmoid output
    ``"binary"``; several
    outputs of any other activation ``"multiclass"`` (logits, or one-vs-rest
    sigmoids as in Nielsen's network). One output without a squashing
    activation may be a regression value or a binary logit: None.

    Examples
    --------
    >>> infer_task("softmax", 10), infer_task("sigmoid", 1), infer_task("identity", 1)
    ('multiclass', 'binary', None)
    """
    if not isinstance(activation, str):
        raise InvalidParameterError(
            f"`activation` must be an activation name; got {activation!r:.40}"
        )
    n_outputs = check_int(n_outputs, "n_outputs", minimum=1)
    if activation in ("softmax", "log_softmax"):
        return "multiclass"
    if n_outputs == 1:
        return "binary" if activation == "sigmoid" else None
    return "multiclass"


def _check_names(
    values: Any, name: str, n: int, what: str, *, labels: bool
) -> tuple[Any, ...]:
    """Class labels or feature names as a tuple of plain Python values."""
    if not is_sequence(values):
        raise InvalidParameterError(
            f"`{name}` must be a sequence of {n} {what} (one per "
            f"{'class' if labels else 'input'}); got {values!r:.60}"
        )
    items = list(values.tolist() if isinstance(values, np.ndarray) else values)
    items = [v.item() if isinstance(v, np.generic) else v for v in items]
    if len(items) != n:
        raise InvalidParameterError(
            f"`{name}` must have {n} entries (one per "
            f"{'class' if labels else 'input'}); got {len(items)}"
        )
    if labels:
        kinds = {
            "bool" if isinstance(v, bool) else
            "int" if isinstance(v, numbers.Integral) else
            "str" if isinstance(v, str) else type(v).__name__
            for v in items
        }  # fmt: skip
        if not kinds <= {"str", "int", "bool"} or len(kinds) > 1:
            raise InvalidParameterError(
                f"`{name}` must hold labels of one kind (strings, integers or "
                f"booleans); got {', '.join(sorted(kinds))}"
            )
    else:
        items = [str(v) for v in items]
    if len(set(items)) != len(items):
        seen: set[Any] = set()
        repeated = [v for v in items if v in seen or seen.add(v)]
        raise InvalidParameterError(
            f"`{name}` must not repeat entries; {repeated[0]!r} appears twice"
        )
    return tuple(items)


def _check_input_shape(value: Any, n_in: int) -> tuple[int, ...]:
    if not is_sequence(value):
        raise InvalidParameterError(
            f"`input_shape` must be a sequence of positive integers such as (28, 28); "
            f"got {value!r:.60}"
        )
    shape = []
    for i, s in enumerate(value):
        if not is_integer(s):
            raise InvalidParameterError(
                f"`input_shape[{i}]` must be a positive integer; got {s!r:.40}"
            )
        if s < 1:
            raise InvalidParameterError(
                f"`input_shape[{i}]` must be a positive integer; got {s}"
            )
        shape.append(int(s))
    if not shape or math.prod(shape) != n_in:
        raise InvalidParameterError(
            f"`input_shape` must multiply to {n_in} (the first layer's inputs); got "
            f"{tuple(shape)}"
        )
    return tuple(shape)


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
    class_names : sequence, optional
        The class labels, of one kind (strings, integers or booleans): one per
        output, or two (negative, positive) for a binary model. Default:
        positions ``0, 1, ...`` (``0, 1`` for a binary model).
    feature_names : sequence of str, optional
        One name per input feature (e.g. a DataFrame's columns); results and
        figures use them.
    task : {"multiclass", "binary", "multilabel", "regression"}, optional
        What the outputs mean (see the module documentation). Default: what
        the output layer implies (:func:`infer_task`); for one output without
        a sigmoid (a regression value or a binary logit?) it stays None until
        given, and ``predict`` / ``score`` say so.
    name : str, optional
        A label for reports, e.g. where the model came from.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(3, 4)), np.zeros(3), "sigmoid"),
    ...            Dense(rng.normal(size=(2, 3)), np.zeros(2), "softmax")],
    ...           class_names=["cat", "dog"])
    >>> mlp.sizes, mlp.task
    ((4, 3, 2), 'multiclass')
    >>> mlp.predict(np.ones((2, 4))).tolist()
    ['dog', 'dog']
    """

    __slots__ = (
        "_class_names",
        "_feature_names",
        "_finite",
        "_float64",
        "_input_shape",
        "_label_cache",
        "_layers",
        "_name",
        "_task",
    )

    def __init__(
        self,
        layers: Sequence[Dense],
        *,
        input_shape: Sequence[int] | None = None,
        class_names: Sequence[Any] | None = None,
        feature_names: Sequence[str] | None = None,
        task: str | None = None,
        name: str | None = None,
    ) -> None:
        if isinstance(layers, Dense):
            layers = [layers]
        if not is_sequence(layers):
            raise InvalidParameterError(
                f"`layers` must be a sequence of Dense layers; got {layers!r:.60}"
            )
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
            if not layer.function.elementwise:
                raise UnsupportedModelError(
                    f"layer {i} uses {layer.activation!r}, which is only supported "
                    f"on the output layer"
                )
        n_in, n_out = layers[0].n_in, layers[-1].n_out
        shape = (
            (n_in,) if input_shape is None else _check_input_shape(input_shape, n_in)
        )
        if task is None:
            task = infer_task(layers[-1].activation, n_out)
            if task is None and class_names is not None and n_out == 1:
                task = "binary"  # two labels for one output: a binary model
        else:
            task = check_choice(task, "task", TASKS)
            if task == "binary" and n_out != 1:
                raise InvalidParameterError(
                    f"`task`='binary' needs one output unit (the positive class); "
                    f"the model has {n_out}. For two outputs use 'multiclass'"
                )
            if task in ("binary", "multilabel") and not layers[-1].function.elementwise:
                raise InvalidParameterError(
                    f"`task`={task!r} decides each output on its own, which a "
                    f"{layers[-1].activation} output layer (its outputs depend on "
                    f"each other) cannot express; use 'multiclass'"
                )
        self._layers = layers
        self._input_shape = shape
        self._task = task
        self._name = None if name is None else str(name)
        self._finite = False  # set by check_finite once it has passed
        self._float64: MLP | None = None
        self._label_cache = None
        self._class_names = None
        if class_names is not None:
            if task == "regression":
                raise InvalidParameterError(
                    "`class_names` must be None for a regression model (it has no "
                    "classes)"
                )
            n_classes = (
                2 if task == "binary" or (task is None and n_out == 1) else n_out
            )
            self._class_names = _check_names(
                class_names, "class_names", n_classes, "labels", labels=True
            )
        self._feature_names = None
        if feature_names is not None:
            self._feature_names = _check_names(
                feature_names, "feature_names", n_in, "names", labels=False
            )

    def replace(self, **changes: Any) -> MLP:
        """A copy with some of ``input_shape``, ``class_names``,
        ``feature_names``, ``task`` or ``name`` changed (the layers are shared).

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP([Dense(np.ones((1, 4)), [0.0], "identity")])
        >>> mlp.task is None, mlp.replace(task="regression").task
        (True, 'regression')
        """
        allowed = ("input_shape", "class_names", "feature_names", "task", "name")
        unknown = sorted(set(changes) - set(allowed))
        if unknown:
            raise InvalidParameterError(
                f"replace() got unknown argument(s) {', '.join(map(repr, unknown))}; "
                f"it accepts {', '.join(map(repr, allowed))}"
            )
        current = {
            "input_shape": self._input_shape,
            "class_names": self._class_names,
            "feature_names": self._feature_names,
            "task": self._task,
            "name": self._name,
        }
        if (
            "task" in changes
            and changes["task"] != self._task
            and "class_names" not in changes
        ):
            current["class_names"] = None  # labels of one task do not fit another
        current.update(changes)
        new = MLP(self._layers, **current)
        new._finite = self._finite
        return new

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
    def task(self) -> str | None:
        """``"multiclass"``, ``"binary"``, ``"multilabel"``, ``"regression"``, or
        None when one output does not say whether it is a logit or a value."""
        return self._task

    @property
    def class_names(self) -> tuple[Any, ...] | None:
        """The class labels as given (strings, integers or booleans), or None."""
        return self._class_names

    @property
    def classes(self) -> np.ndarray:
        """The class labels, defaults included: what :meth:`predict` returns.

        For a binary model the negative class comes first. Empty for a
        regressor.
        """
        if self._class_names is not None:
            return np.asarray(self._class_names)
        return np.arange(self.n_classes)

    @property
    def n_classes(self) -> int:
        """Number of classes: 2 for a binary model, 0 for a regressor."""
        if self._task == "regression":
            return 0
        if self._task == "binary" or (self._task is None and self.n_outputs == 1):
            return 2
        return self.n_outputs

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        """One name per input feature, or None."""
        return self._feature_names

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
        return resolve_layer(self, layer, argument)

    def class_label(self, index: int) -> str:
        """The display name of class ``index`` (``str`` of its label)."""
        if self.n_classes == 0:
            raise InvalidParameterError(
                "`index` names a class, but a regression model has no classes"
            )
        index = check_int(index, "index", minimum=0, maximum=self.n_classes - 1)
        return str(self.classes[index].item())

    def unit_label(self, layer: int, unit: int) -> str:
        """``"unit 3"``, or ``"unit 3 ('cat')"`` for an output unit of a class."""
        name = self.unit_name(layer, unit)
        return f"unit {int(unit)}" if name is None else f"unit {int(unit)} ({name!r})"

    def unit_name(self, layer: int, unit: int) -> str | None:
        """The class an output unit stands for (given class names), else None.

        A binary model's one unit stands for the positive class.
        """
        layer = resolve_layer(self, layer)
        unit = check_int(unit, "unit", minimum=0, maximum=self._layers[layer].n_out - 1)
        if layer != len(self._layers) - 1 or self._class_names is None:
            return None
        if self._task == "binary":
            return self.class_label(1)
        if self._task in ("multiclass", "multilabel"):
            return self.class_label(unit)
        return None

    def astype(self, dtype: Any) -> MLP:
        """This model with weights of another floating dtype (float32, float64).

        The float64 copy is made once and remembered: the analyses that need
        float64 arithmetic ask for it each time.

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP([Dense(np.ones((2, 3), dtype=np.float32), np.zeros(2))])
        >>> mlp.astype(np.float64).dtype, mlp.astype(np.float32) is mlp
        (dtype('float64'), True)
        """
        dtype = check_float_dtype(dtype)
        if all(layer.weight.dtype == dtype for layer in self._layers):
            return self
        if dtype == np.float64 and self._float64 is not None:
            return self._float64
        new = MLP(
            [layer.astype(dtype) for layer in self._layers],
            input_shape=self._input_shape,
            class_names=self._class_names,
            feature_names=self._feature_names,
            task=self._task,
            name=self._name,
        )
        new._finite = self._finite
        if dtype == np.float64:
            self._float64 = new
        return new

    # -- validity --------------------------------------------------------------

    def _where(self, i: int) -> str:
        where = f"layer {i} of the MLP"
        name = self._layers[i].name
        return where if name is None else f"{name}, {where},"

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
            for part in ("weight", "bias", "activation_params"):
                values = getattr(layer, part)
                if values is None or all_finite(values):
                    continue
                bad = ~np.isfinite(values)
                units = np.flatnonzero(bad.any(axis=1) if bad.ndim == 2 else bad)
                shown = units[:10].tolist()
                more = f" and {len(units) - 10} more" if len(units) > 10 else ""
                raise InvalidParameterError(
                    f"{self._where(i)} must have finite weights and biases; its "
                    f"{part} has {int(np.isnan(values).sum())} NaN and "
                    f"{int(np.isinf(values).sum())} infinite value(s), in unit(s) "
                    f"{shown}{more}"
                )
        self._finite = True
        return self

    # -- the forward pass ----------------------------------------------------

    def _check_propagate(
        self, a: Any, start: Any, stop: Any, keep: Any, first_pre: Any
    ) -> tuple[int, int]:
        """Cheap checks of :meth:`propagate`'s arguments (no pass over data)."""
        n = len(self._layers)
        start = check_int(start, "start", minimum=0, maximum=n - 1)
        last = n - 1 if stop is None else check_int(stop, "stop", minimum=start,
                                                      maximum=n - 1)  # fmt: skip
        if not isinstance(keep, (bool, np.bool_)):
            raise InvalidParameterError(
                f"`keep` must be True or False; got {keep!r:.40}"
            )
        width = self._layers[start].n_in
        if first_pre is None and (
            not isinstance(a, np.ndarray)
            or a.ndim != 2
            or a.dtype.kind != "f"
            or a.shape[1] != width
        ):
            raise InvalidParameterError(
                f"`a` must be a float array of shape (n, {width}) (the activations "
                f"entering layer {start}); got {_describe(a)}. To run the model on "
                f"inputs of any form, use forward() or trace()"
            )
        if first_pre is not None and (
            not isinstance(first_pre, np.ndarray)
            or first_pre.dtype.kind != "f"
            or first_pre.ndim != 2
            or first_pre.shape[1] != self._layers[start].n_out
        ):
            raise InvalidParameterError(
                f"`first_pre` must be None or a float array of shape (n, "
                f"{self._layers[start].n_out}); got {_describe(first_pre)}"
            )
        return start, last

    def _overflow(
        self, i: int, z: np.ndarray, a: np.ndarray, entered: bool = True
    ) -> Exception:
        if entered and not all_finite(a):
            return InvalidParameterError(
                f"the values entering {self._where(i)} must be finite; they hold "
                f"{int(np.isnan(a).sum())} NaN and {int(np.isinf(a).sum())} "
                f"infinite value(s)"
            )
        n_inf, n_nan = int(np.isinf(z).sum()), int(np.isnan(z).sum())
        largest = ""
        if entered and isinstance(a, np.ndarray) and a.size:
            with np.errstate(invalid="ignore"):
                largest = (
                    f" (largest value entering the layer: "
                    f"{float(np.nanmax(np.abs(a))):.3g})"
                )
        return NumericalError(
            f"{self._where(i)} overflowed; its pre-activation holds {n_inf} infinite "
            f"and {n_nan} NaN value(s) although the model's weights and inputs are "
            f"finite: they are too large for {z.dtype}{largest}. Rescale the inputs "
            f"or use float64"
        )

    def propagate(
        self,
        a: np.ndarray,
        *,
        start: int = 0,
        stop: int | None = None,
        keep: bool = True,
        first_pre: np.ndarray | None = None,
    ) -> ForwardTrace | np.ndarray:
        """Run layers ``start..stop`` on checked arrays: the one forward pass.

        This is the forward computation every part of mlpinspect uses; the
        public entry points (:meth:`trace`, :meth:`forward`) check their
        inputs, then call it. A pre-activation that overflows (inf or NaN from
        finite values) raises :class:`~mlpinspect.NumericalError` naming the
        layer.

        Parameters
        ----------
        a : numpy.ndarray, shape (n, fan_in of layer ``start``)
            The activations entering layer ``start`` (the flattened inputs
            for layer 0), already checked.
        start, stop : int
            The first and last layer to run (non-negative; ``stop`` defaults
            to the output layer).
        keep : bool
            Return a :class:`ForwardTrace` of every layer run (its ``input``
            is ``a``); otherwise only the last layer's output, computed in
            place where possible.
        first_pre : numpy.ndarray, optional
            The pre-activation of layer ``start`` when the caller already has
            it (attribution methods shift it along a path); ``a`` is then only
            the trace's ``input``.

        Returns
        -------
        ForwardTrace or numpy.ndarray

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP([Dense([[2.0]], [0.0], "relu"), Dense([[3.0]], [1.0])])
        >>> mlp.propagate(np.array([[1.0]]), keep=False)
        array([[7.]])
        >>> mlp.propagate(np.array([[2.0]]), start=1, keep=False)  # from layer 1
        array([[7.]])
        """
        start, last = self._check_propagate(a, start, stop, keep, first_pre)
        pre: list[np.ndarray] = []
        post: list[np.ndarray] = []
        x = a
        with np.errstate(over="ignore", invalid="ignore"):
            for i in range(start, last + 1):
                layer = self._layers[i]
                if i == start and first_pre is not None:
                    z = first_pre
                else:
                    z = a @ layer.weight.T
                    z += layer.bias
                if not all_finite(z):
                    raise self._overflow(
                        i, z, a, entered=not (i == start and first_pre is not None)
                    )
                a = layer.function(z, out=None if keep else z)
                if keep:
                    pre.append(z)
                    post.append(a)
        if keep:
            return ForwardTrace(x, tuple(pre), tuple(post))
        return a

    def trace(self, X: Any, *, stop: int | None = None) -> ForwardTrace:
        """Run the model and keep every layer's pre- and post-activations.

        Parameters
        ----------
        X : array_like, shape ``(n, n_inputs)`` or ``(n, *input_shape)``
            Inputs (a DataFrame or a tensor is fine); a single input of shape
            ``(n_inputs,)`` is treated as a batch of one. Computed in the
            model's dtype.
        stop : int, optional
            The last layer to run (default: the output layer; negative counts
            from the end).

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
        last = None if stop is None else resolve_layer(self, stop, "stop")
        values = check_input(self, X).values
        return self.propagate(values, stop=last)  # type: ignore[return-value]

    def forward(self, X: Any, *, chunk_size: int | None = None) -> np.ndarray:
        """Return the model's output for ``X``, shape ``(n, n_outputs)``.

        Parameters
        ----------
        X : array_like, shape ``(n, n_inputs)`` or ``(n, *input_shape)``
            Inputs.
        chunk_size : int, optional
            Rows computed at a time, to bound memory (default: all at once).

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP([Dense([[2.0, 0.0]], [1.0], "identity")])
        >>> mlp.forward([[1.0, 5.0]])
        array([[3.]])
        """
        self.check_finite()
        values = check_input(self, X).values
        return self._outputs(values, chunk_size)

    __call__ = forward

    def _outputs(self, values: np.ndarray, chunk_size: int | None) -> np.ndarray:
        n = values.shape[0]
        size = n if chunk_size is None else check_chunk_size(chunk_size)
        if size >= n:
            return self.propagate(values, keep=False)  # type: ignore[return-value]
        out = np.empty((n, self.n_outputs), dtype=self.dtype)
        for start in range(0, n, size):
            out[start : start + size] = self.propagate(
                values[start : start + size], keep=False
            )
        return out

    # -- predictions, as scikit-learn makes them --------------------------------

    def _need_task(self, what: str) -> str:
        if self._task is None:
            raise InvalidParameterError(
                f"{what} needs to know what the model's one "
                f"{self._layers[-1].activation} output means: a regression value "
                f"or a binary logit? Say it: mlpinspect.adapt(model, task="
                f"'regression') or task='binary'"
            )
        return self._task

    def _decide(self, outputs: np.ndarray) -> np.ndarray:
        """Class indices (or a multilabel indicator) from the outputs."""
        task = self._task
        threshold = self._layers[-1].function.at_zero
        if task == "multiclass":
            return outputs.argmax(axis=1)
        if task == "binary":
            return (outputs[:, 0] > threshold).astype(np.int64)
        return (outputs > threshold).astype(np.int8)  # multilabel

    def predict(self, X: Any, *, chunk_size: int | None = 4096) -> np.ndarray:
        """Predicted labels (classifiers) or values (regressors), as scikit-learn.

        - multiclass: the label of the largest output, shape ``(n,)``;
        - binary: the positive label where the output exceeds its activation
          at zero (0.5 for a sigmoid, 0 for a logit), else the negative one;
        - multilabel: an ``(n, n_outputs)`` 0/1 indicator matrix;
        - regression: the outputs, ``(n,)`` for a single output.

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP([Dense([[1.0, -1.0]], [0.0], "sigmoid")],
        ...           class_names=["no", "yes"])
        >>> mlp.task, mlp.predict([[2.0, 1.0], [0.0, 3.0]]).tolist()
        ('binary', ['yes', 'no'])
        """
        task = self._need_task("predict")
        outputs = self.forward(X, chunk_size=chunk_size)
        if task == "regression":
            return outputs[:, 0] if outputs.shape[1] == 1 else outputs
        decided = self._decide(outputs)
        if task == "multilabel":
            return decided
        return self.classes[decided]

    def predict_proba(self, X: Any, *, chunk_size: int | None = 4096) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)`` (multilabel: per label).

        A softmax output is its own probabilities, a log-softmax output their
        logarithms (``exp`` gives them back); logits
        (identity outputs) go through a softmax (multiclass) or a sigmoid
        (binary, multilabel); a binary sigmoid ``p`` gives ``[1 - p, p]``;
        one-vs-rest sigmoids (Nielsen's network) are normalised to sum to 1,
        as scikit-learn's ``OneVsRestClassifier`` does.

        Raises
        ------
        InvalidParameterError
            For a regressor, or outputs (e.g. ReLU) that are no probabilities.

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP([Dense([[1.0, 0.0]], [0.0], "identity")], task="binary")
        >>> mlp.predict_proba([[0.0, 1.0]])
        array([[0.5, 0.5]])
        >>> head = MLP([Dense(np.eye(2), [0.0, 0.0], "log_softmax")])
        >>> head.predict_proba([[0.0, 0.0]])
        array([[0.5, 0.5]])
        """
        task = self._need_task("predict_proba")
        act = self._layers[-1].activation
        heads = ("softmax", "log_softmax", "sigmoid", "identity")
        if task == "regression" or act not in heads:
            what = "a regressor" if task == "regression" else f"{act} outputs"
            raise InvalidParameterError(
                f"predict_proba is not defined for {what}; use forward() for the "
                f"outputs"
            )
        outputs = self.forward(X, chunk_size=chunk_size).astype(np.float64)
        sigmoid = get_activation("sigmoid")
        if task == "multiclass":
            if act == "softmax":
                return outputs
            if act == "log_softmax":
                return np.exp(outputs)
            if act == "identity":
                return get_activation("softmax")(outputs)
            total = outputs.sum(axis=1, keepdims=True)
            return np.divide(
                outputs, total, out=np.full_like(outputs, 1 / outputs.shape[1]),
                where=total > 0,
            )  # fmt: skip
        p = outputs if act == "sigmoid" else sigmoid(outputs)
        if act in ("softmax", "log_softmax"):  # one unit: probability 1
            p = np.ones_like(outputs)
        if task == "binary":
            return np.hstack([1.0 - p, p])
        return p

    def score(self, X: Any, y: Any) -> float:
        """Accuracy of a classifier, R² of a regressor: scikit-learn's ``score``.

        Parameters
        ----------
        X : array_like
            Inputs.
        y : array_like
            True labels (any kind the classes hold; one-hot rows; a 0/1
            indicator matrix for multilabel) or, for a regressor, true values
            ``(n,)`` or ``(n, n_outputs)``.

        Returns
        -------
        float
            Fraction of rows predicted exactly (multilabel: all labels right),
            or the coefficient of determination averaged over outputs.

        Examples
        --------
        >>> import numpy as np
        >>> mlp = MLP([Dense([[1.0, 0.0]], [0.0], "identity")], task="regression")
        >>> mlp.score([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]], [1.0, 2.0, 3.0])
        1.0
        """
        task = self._need_task("score")
        inputs = check_input(self, X).values
        if task == "regression":
            return _r2(self._outputs(inputs, 4096), y, self.n_outputs)
        truth = encode_labels(self, y, n_samples=inputs.shape[0])
        decided = self._decide(self._outputs(inputs, 4096))
        if task == "multilabel":
            return float(np.mean((decided == truth).all(axis=1)))
        return float(np.mean(decided == truth))

    # -- conveniences ----------------------------------------------------------

    def __len__(self) -> int:
        return len(self._layers)

    def __repr__(self) -> str:
        sizes = "-".join(str(s) for s in self.sizes)
        acts = ", ".join(self.activation_names)
        label = f", name={self._name!r}" if self._name else ""
        task = self._task if self._task is not None else "unknown (say task=)"
        return f"MLP({sizes}, activations=[{acts}], task={task!r}{label})"


def _r2(outputs: np.ndarray, y: Any, n_outputs: int) -> float:
    """scikit-learn's ``r2_score`` with ``multioutput="uniform_average"``."""
    from ._validation import check_array

    truth = check_array(y, "y", ndim=(1, 2))
    if truth.ndim == 1:
        truth = truth.reshape(-1, 1)
    if truth.shape != outputs.shape:
        raise InvalidParameterError(
            f"`y` must hold one value per sample and output, shape "
            f"({outputs.shape[0]},) or ({outputs.shape[0]}, {n_outputs}); got "
            f"{truth.shape}"
        )
    outputs = outputs.astype(np.float64)
    residual = ((truth - outputs) ** 2).sum(axis=0)
    total = ((truth - truth.mean(axis=0)) ** 2).sum(axis=0)
    # Constant targets: a perfect fit scores 1, anything else 0 (as sklearn).
    scores = np.where(
        total > 0, 1.0 - residual / np.where(total > 0, total, 1.0),
        np.where(residual == 0, 1.0, 0.0),
    )  # fmt: skip
    return float(scores.mean())
