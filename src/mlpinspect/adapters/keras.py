"""Adapter for Keras 3 models.

A ``keras.Sequential`` or functional ``keras.Model`` is read layer by layer
when it is a chain (one input, one output, no branch) of

- ``Dense`` with one of the activations ``linear``, ``relu``, ``sigmoid``,
  ``tanh``, ``softmax``, ``log_softmax`` (over the last axis),
  ``leaky_relu`` (Keras' slope 0.2), ``gelu`` (exact; ``approximate=True``
  through ``functools.partial``), ``silu``/``swish``, ``mish``, ``elu``,
  ``selu``, ``celu``, ``softplus``, ``softsign``, ``relu6``,
  ``hard_sigmoid``, ``hard_silu``/``hard_swish``, ``hard_tanh``; a
  ``Dense`` kernel is ``(in, out)`` and is transposed once to ``(out, in)``;
- ``Activation`` with one of those, ``ReLU`` (``max_value`` makes it a
  clip; ``threshold`` must be 0), ``LeakyReLU``, ``PReLU`` (per-unit slopes),
  ``ELU``, ``Softmax`` over the last axis;
- affine pieces folded exactly into the neighbouring ``Dense``:
  ``BatchNormalization`` (its moving statistics: what the model computes
  at inference), ``Normalization`` (adapted, or given its mean and
  variance) and ``Rescaling`` (e.g. ``1 / 255``);
- ``Flatten``, ``Reshape`` to a flat vector, ``Dropout``, ``AlphaDropout``,
  ``GaussianDropout``, ``GaussianNoise`` (all the identity at inference),
  ``Identity``, ``InputLayer``, and nested models made of these.

The input shape is taken from ``model.input_shape``, e.g. ``(28, 28)``.
Anything else raises :class:`~mlpinspect.UnsupportedModelError` naming the
layer and its class (``LayerNormalization`` normalises each sample by its own
statistics, which is not affine). Any Keras backend works; the tests use
``torch``. A saved ``.keras`` file is read by
:class:`~mlpinspect.adapters.KerasFileAdapter`.

The task comes from the output layer and, where that leaves a doubt, from
the loss the model was compiled with (``model.loss``):

- a softmax output is ``"multiclass"``, one sigmoid output ``"binary"``;
- otherwise (several sigmoid outputs, linear outputs) the loss decides:
  ``binary_crossentropy`` (or its focal variant) means ``"binary"`` for one
  output and ``"multilabel"`` for several; ``categorical_crossentropy`` and
  ``sparse_categorical_crossentropy`` mean ``"multiclass"``; a regression
  loss (``mse``, ``mae``, ``mape``, ``msle``, ``huber``, ``log_cosh``) means
  ``"regression"``;
- an uncompiled model, or another loss, gets the default of
  ``mlpinspect.mlp.infer_task`` (several outputs: ``"multiclass"``; one
  linear output: None, to be given with ``adapt(model, task=...)``).
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, UnsupportedModelError
from ..mlp import MLP
from ._chain import Step, as_float, build_mlp, check_options, import_optional

__all__ = ["KerasAdapter"]

SUPPORTED = (
    "Dense (activation linear, relu, sigmoid, tanh, softmax, log_softmax, "
    "leaky_relu, gelu, silu, mish, elu, selu, celu, softplus, softsign, relu6, "
    "hard_sigmoid, hard_silu, hard_tanh), Activation, ReLU, LeakyReLU, PReLU, ELU, "
    "Softmax(axis=-1), BatchNormalization, Normalization, Rescaling, Flatten, "
    "Reshape to a vector, Dropout, Identity, InputLayer, and nested "
    "Sequential/functional models of these, chained without branches"
)

# Keras activation functions by __name__ (with their default parameters).
_ACTIVATIONS = {
    "linear": "identity",
    "relu": "relu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
    "log_softmax": "log_softmax",
    "leaky_relu": "leaky_relu(0.2)",
    "gelu": "gelu",
    "silu": "silu",
    "swish": "silu",
    "mish": "mish",
    "elu": "elu",
    "selu": "selu",
    "celu": "celu",
    "softplus": "softplus",
    "softsign": "softsign",
    "relu6": "relu6",
    "hard_sigmoid": "hardsigmoid",
    "hard_silu": "hardswish",
    "hard_swish": "hardswish",
    "hard_tanh": "hardtanh",
}

_DROPOUTS = ("Dropout", "AlphaDropout", "GaussianDropout", "GaussianNoise",
             "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D")  # fmt: skip


def _label(layer: Any) -> str:
    return f"layer {layer.name!r} (keras.layers.{type(layer).__name__})"


def _to_numpy(variable: Any) -> np.ndarray:
    """The values of a Keras variable, without a copy where the backend allows."""
    value = getattr(variable, "value", variable)
    if type(value).__module__.startswith("torch"):
        torch = sys.modules["torch"]
        value = value.detach()
        if value.dtype in (torch.float16, torch.bfloat16):
            value = value.to(torch.float32)
        return value.cpu().numpy()
    keras = sys.modules["keras"]
    return as_float(keras.ops.convert_to_numpy(variable))


def _relu_name(label: str, slope: float, max_value: Any, threshold: float) -> str:
    """Keras' ``relu(x, negative_slope, max_value, threshold)`` by name."""
    if float(threshold) != 0.0:
        raise UnsupportedModelError(
            f"{label} has threshold={threshold}; only a ReLU bending at 0 is "
            f"supported (threshold=0)"
        )
    if max_value is None:
        return "relu" if slope == 0 else f"leaky_relu({float(slope)!r})"
    if slope != 0:
        raise UnsupportedModelError(
            f"{label} has both negative_slope={slope} and max_value={max_value}; "
            f"a clipped leaky ReLU has no mlpinspect activation"
        )
    return f"hardtanh(0.0, {float(max_value)!r})"


def _activation(function: Any, label: str) -> str:
    """The activation name of a Keras activation function (or a partial of one)."""
    keywords: dict[str, Any] = {}
    if isinstance(function, functools.partial) and not function.args:
        keywords = dict(function.keywords)
        function = function.func
    name = getattr(function, "__name__", None)
    module = getattr(function, "__module__", "") or ""
    if name in _ACTIVATIONS and module.startswith("keras"):
        unknown = set(keywords) - set(_KEYWORDS.get(name, ()))
        if not unknown:
            return _with_keywords(name, keywords, label)
    raise UnsupportedModelError(
        f"{label} uses the activation {name or function!r}"
        f"{f' with {keywords}' if keywords else ''}, which is not supported. "
        f"Supported: {SUPPORTED}"
    )


# The keyword arguments each function may be given through functools.partial.
_KEYWORDS = {
    "gelu": ("approximate",),
    "leaky_relu": ("negative_slope",),
    "elu": ("alpha",),
    "celu": ("alpha",),
    "relu": ("negative_slope", "max_value", "threshold"),
    "softmax": ("axis",),
    "log_softmax": ("axis",),
}


def _with_keywords(name: str, keywords: dict[str, Any], label: str) -> str:
    if not keywords:
        return _ACTIVATIONS[name]
    if name == "gelu":
        return "gelu_tanh" if keywords["approximate"] else "gelu"
    if name == "leaky_relu":
        return f"leaky_relu({float(keywords['negative_slope'])!r})"
    if name in ("elu", "celu"):
        return f"{name}({float(keywords['alpha'])!r})"
    if name == "relu":
        return _relu_name(
            label, float(keywords.get("negative_slope", 0.0)),
            keywords.get("max_value"), keywords.get("threshold", 0.0),
        )  # fmt: skip
    if keywords.get("axis", -1) not in (-1, 1):  # softmax, log_softmax
        raise UnsupportedModelError(
            f"{label} takes the {name} over axis={keywords['axis']}; only the last "
            f"axis is supported"
        )
    return _ACTIVATIONS[name]


def _axis_shape(layer: Any, label: str, rank: int) -> tuple[int, ...]:
    """How a per-axis constant of a normalisation layer broadcasts over one
    sample of ``rank`` axes: ``(-1,)`` for the last axis, ``(-1, 1, 1)`` ..."""
    axis = layer.axis
    axes = list(axis) if isinstance(axis, (list, tuple)) else [axis]
    if len(axes) != 1:
        raise UnsupportedModelError(
            f"{label} normalises over the axes {axes}; only one axis is supported"
        )
    position = axes[0] if axes[0] >= 0 else rank + 1 + axes[0]  # batch is axis 0
    if not 1 <= position <= rank:
        raise UnsupportedModelError(f"{label}: axis {axes[0]} is out of range")
    return (-1,) + (1,) * (rank - position)


def _batch_norm(layer: Any, label: str, rank: int) -> Step:
    mean = _to_numpy(layer.moving_mean).astype(np.float64)
    var = _to_numpy(layer.moving_variance).astype(np.float64)
    gamma = _to_numpy(layer.gamma).astype(np.float64) if layer.scale else 1.0
    beta = _to_numpy(layer.beta).astype(np.float64) if layer.center else 0.0
    scale = gamma / np.sqrt(var + float(layer.epsilon))
    shift = beta - mean * scale
    shape = _axis_shape(layer, label, rank)
    return Step(
        "scale_shift", label, scale=np.reshape(scale, shape),
        shift=np.reshape(np.broadcast_to(shift, scale.shape), shape),
    )  # fmt: skip


def _normalization(layer: Any, label: str) -> Step:
    keras = sys.modules["keras"]
    if getattr(layer, "mean", None) is None:
        raise InvalidParameterError(
            f"{label} has no mean and variance yet: call layer.adapt(data) or give "
            f"them (Normalization(mean=..., variance=...)) before adapting the model"
        )
    mean = _to_numpy(layer.mean).astype(np.float64)
    var = _to_numpy(layer.variance).astype(np.float64)
    std = np.maximum(np.sqrt(var), keras.backend.epsilon())
    if layer.invert:
        return Step("scale_shift", label, scale=std, shift=mean)
    return Step("scale_shift", label, scale=1.0 / std, shift=-mean / std)


def _rescaling(layer: Any, label: str) -> Step:
    def values(v: Any) -> np.ndarray:
        if hasattr(v, "shape") and not isinstance(v, np.ndarray):
            return _to_numpy(v).astype(np.float64)  # a backend tensor
        return np.asarray(v, dtype=np.float64)

    return Step(
        "scale_shift", label, scale=values(layer.scale), shift=values(layer.offset)
    )


def _chain(model: Any) -> list[Any]:
    """The layers of a model from input to output, refusing branches."""
    keras = sys.modules["keras"]
    if isinstance(model, keras.Sequential):
        return list(model.layers)
    inputs, outputs = list(model.inputs or []), list(model.outputs or [])
    if len(inputs) != 1 or len(outputs) != 1:
        raise UnsupportedModelError(
            f"the Keras model {model.name!r} has {len(inputs)} inputs and "
            f"{len(outputs)} outputs; an MLP has one of each"
        )
    layers: list[Any] = []
    tensor = outputs[0]
    while True:
        history = getattr(tensor, "_keras_history", None)
        if history is None:  # pragma: no cover - Keras internals changed
            raise UnsupportedModelError(
                f"cannot follow the graph of the Keras model {model.name!r}"
            )
        layer, node_index = history[0], history[1]
        if isinstance(layer, keras.layers.InputLayer):
            break
        node = layer._inbound_nodes[node_index]
        parents = list(node.input_tensors)
        if len(parents) != 1:
            raise UnsupportedModelError(
                f"{_label(layer)} combines {len(parents)} tensors: a branch or "
                f"residual connection, which an MLP cannot express. Supported: "
                f"{SUPPORTED}"
            )
        layers.append(layer)
        tensor = parents[0]
    layers.reverse()
    return layers


def _steps(model: Any, rank: int) -> tuple[list[Step], int]:
    """Steps of ``model``; ``rank`` is the number of non-batch input axes."""
    keras = sys.modules["keras"]
    L = keras.layers
    steps: list[Step] = []
    for layer in _chain(model):
        label = _label(layer)
        if isinstance(layer, keras.Model):
            inner, rank = _steps(layer, rank)
            steps.extend(inner)
        elif isinstance(layer, L.Dense):
            if not layer.built:
                raise InvalidParameterError(f"{label} is not built: build the model")
            bias = _to_numpy(layer.bias) if layer.use_bias else None
            # The kernel is (in, out): Dense copies the transposed view once.
            steps.append(
                Step("linear", label, weight=_to_numpy(layer.kernel).T, bias=bias)
            )
            act = _activation(layer.activation, label)
            steps.append(Step("activation", label, activation=act))
        elif isinstance(layer, L.Activation):
            steps.append(
                Step(
                    "activation", label, activation=_activation(layer.activation, label)
                )
            )
        elif isinstance(layer, L.LeakyReLU):
            slope = float(layer.negative_slope)
            steps.append(Step("activation", label, activation=f"leaky_relu({slope!r})"))
        elif isinstance(layer, L.ReLU):
            act = _relu_name(
                label, float(layer.negative_slope), layer.max_value, layer.threshold
            )
            steps.append(Step("activation", label, activation=act))
        elif isinstance(layer, L.PReLU):
            slopes = _to_numpy(layer.alpha)
            if slopes.size == 1:
                act = f"leaky_relu({float(slopes.reshape(-1)[0])!r})"
                steps.append(Step("activation", label, activation=act))
            elif rank != 1:
                raise UnsupportedModelError(
                    f"{label} has slopes of shape {slopes.shape} over a sample of "
                    f"{rank} axes; per-unit slopes are supported after a Dense layer"
                )
            else:
                steps.append(
                    Step("activation", label, activation="prelu",
                         params=slopes.reshape(-1))
                )  # fmt: skip
        elif isinstance(layer, L.ELU):
            alpha = float(layer.alpha)
            steps.append(Step("activation", label, activation=f"elu({alpha!r})"))
        elif isinstance(layer, L.BatchNormalization):
            steps.append(_batch_norm(layer, label, rank))
        elif isinstance(layer, L.Normalization):
            steps.append(_normalization(layer, label))
        elif isinstance(layer, L.Rescaling):
            steps.append(_rescaling(layer, label))
        elif isinstance(layer, (L.LayerNormalization, L.GroupNormalization,
                                L.UnitNormalization)):  # fmt: skip
            raise UnsupportedModelError(
                f"{label} normalises each sample by its own statistics, which is "
                f"not an affine map and has no MLP equivalent; only "
                f"BatchNormalization, Normalization and Rescaling fold into a "
                f"Dense layer"
            )
        elif isinstance(layer, L.Softmax):
            axis = layer.axis
            if axis not in (-1, rank, [-1], [rank], (-1,), (rank,)):
                raise UnsupportedModelError(
                    f"{label} takes the softmax over axis={axis}; only the last "
                    f"axis is supported"
                )
            steps.append(Step("activation", label, activation="softmax"))
        elif isinstance(layer, L.Flatten):
            if getattr(layer, "data_format", "channels_last") == "channels_first" and (
                rank > 2
            ):
                raise UnsupportedModelError(
                    f"{label} uses data_format='channels_first', which reorders "
                    f"the inputs before flattening; use channels_last"
                )
            steps.append(Step("flatten", label))
            rank = 1
        elif isinstance(layer, L.Reshape):
            if len(layer.target_shape) != 1:
                raise UnsupportedModelError(
                    f"{label} reshapes to {layer.target_shape}; only reshaping to a "
                    f"flat vector is supported"
                )
            steps.append(Step("flatten", label))
            rank = 1
        elif isinstance(layer, (L.InputLayer, L.Identity)) or (
            type(layer).__name__ in _DROPOUTS
        ):
            steps.append(Step("identity", label))
        else:
            raise UnsupportedModelError(
                f"{label} is not supported: mlpinspect reads multilayer "
                f"perceptrons only. Supported: {SUPPORTED}"
            )
    return steps, rank


# Canonical Keras loss names (``keras.losses.get(alias).__name__`` and
# ``Loss.name``) and the task each implies; "binary" becomes "multilabel"
# for several outputs.
_LOSS_TASKS = {
    "binary_crossentropy": "binary",
    "binary_focal_crossentropy": "binary",
    "categorical_crossentropy": "multiclass",
    "sparse_categorical_crossentropy": "multiclass",
    "categorical_focal_crossentropy": "multiclass",
    "mean_squared_error": "regression",
    "mean_absolute_error": "regression",
    "mean_absolute_percentage_error": "regression",
    "mean_squared_logarithmic_error": "regression",
    "huber": "regression",
    "huber_loss": "regression",
    "log_cosh": "regression",
}


def _loss_name(loss: Any) -> str | None:
    """The canonical name of a compiled loss (string, function or Loss)."""
    if isinstance(loss, str):
        keras = sys.modules["keras"]
        try:
            loss = keras.losses.get(loss)
        except (ValueError, TypeError):
            return loss
    name = getattr(loss, "__name__", None)
    if name is None:  # a Loss object: its name, or its wrapped function's
        name = getattr(getattr(loss, "fn", None), "__name__", None)
        name = name or getattr(loss, "name", None)
    return name if isinstance(name, str) else None


def _task(model: Any, activation: str, n_outputs: int) -> str | None:
    """The task the compiled loss implies where the output layer leaves a doubt.

    None leaves the choice to ``mlpinspect.mlp.infer_task``.
    """
    if activation == "softmax" or (activation == "sigmoid" and n_outputs == 1):
        return None  # the output layer says it all
    task = _LOSS_TASKS.get(_loss_name(getattr(model, "loss", None)) or "")
    if task == "binary" and n_outputs > 1:
        return "multilabel"
    if task == "multiclass" and n_outputs == 1:
        return None  # a one-unit classifier over classes cannot be multiclass
    return task


def _input_shape(model: Any) -> tuple[int, ...] | None:
    try:
        shape = model.input_shape
    except (AttributeError, ValueError):
        return None
    if not isinstance(shape, tuple) or len(shape) < 2:
        return None
    dims = shape[1:]
    if all(isinstance(d, int) and d > 0 for d in dims):
        return tuple(dims)
    return None


class KerasAdapter:
    """Adapt a built Keras 3 ``Sequential`` or functional ``Model``.

    Examples
    --------
    >>> import os
    >>> _ = os.environ.setdefault("KERAS_BACKEND", "torch")
    >>> import keras
    >>> model = keras.Sequential([keras.Input((28, 28)), keras.layers.Flatten(),
    ...                           keras.layers.Dense(30, activation="sigmoid"),
    ...                           keras.layers.Dense(10, activation="softmax")])
    >>> mlp = KerasAdapter().adapt(model)
    >>> mlp.sizes, mlp.input_shape, mlp.task
    ((784, 30, 10), (28, 28), 'multiclass')

    Several sigmoid outputs trained with ``binary_crossentropy`` are labels:

    >>> tags = keras.Sequential([keras.Input((4,)),
    ...                          keras.layers.Dense(3, activation="sigmoid")])
    >>> tags.compile(loss="binary_crossentropy")
    >>> KerasAdapter().adapt(tags).task
    'multilabel'
    """

    name = "keras"
    description = (
        "Keras 3 Sequential/functional models of Dense, Activation, Flatten, "
        "Dropout and InputLayer"
    )

    def can_adapt(self, obj: Any) -> bool:
        keras = sys.modules.get("keras")
        model = getattr(keras, "Model", None) if keras is not None else None
        return isinstance(model, type) and isinstance(obj, model)

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        import_optional("keras", "keras")
        if not obj.built or not obj.weights:
            raise InvalidParameterError(
                f"the Keras model {obj.name!r} is not built (it has no weights yet): "
                f"give it a keras.Input or call it on data before adapting it"
            )
        input_shape = _input_shape(obj)
        steps, _ = _steps(obj, len(input_shape) if input_shape else 1)
        mlp = build_mlp(
            steps,
            framework="Keras",
            supported=SUPPORTED,
            input_shape=input_shape,
            name=obj.name,
        )
        task = _task(obj, mlp.activation_names[-1], mlp.n_outputs)
        return mlp if task is None else mlp.replace(task=task)
