"""Adapter for Keras 3 models.

A ``keras.Sequential`` or functional ``keras.Model`` is read layer by layer
when it is a chain (one input, one output, no branch) of

- ``Dense`` with one of the activations ``linear``, ``relu``, ``sigmoid``,
  ``tanh``, ``softmax`` or ``leaky_relu`` (Keras' slope 0.2); a ``Dense``
  kernel is ``(in, out)`` and is transposed once to ``(out, in)``;
- ``Activation`` with one of those, ``ReLU`` (without ``max_value`` or
  ``threshold``), ``LeakyReLU``, ``Softmax`` over the last axis;
- ``Flatten``, ``Reshape`` to a flat vector, ``Dropout`` (the identity at
  inference), ``Identity``, ``InputLayer``, and nested models made of these.

The input shape is taken from ``model.input_shape``, e.g. ``(28, 28)``.
Anything else raises :class:`~mlpinspect.UnsupportedModelError` naming the
layer and its class. Any Keras backend works; the tests use ``torch``.

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

import sys
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, UnsupportedModelError
from ..mlp import MLP
from ._chain import Step, as_float, build_mlp, check_options, import_optional

__all__ = ["KerasAdapter"]

SUPPORTED = (
    "Dense (activation linear, relu, sigmoid, tanh, softmax, leaky_relu), "
    "Activation, ReLU, LeakyReLU, Softmax(axis=-1), Flatten, Reshape to a vector, "
    "Dropout, Identity, InputLayer, and nested Sequential/functional models of "
    "these, chained without branches"
)

# Keras activation functions by __name__; leaky_relu's default slope is 0.2.
_ACTIVATIONS = {
    "linear": "identity",
    "relu": "relu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "softmax": "softmax",
    "leaky_relu": "leaky_relu(0.2)",
}


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


def _activation(function: Any, label: str) -> str:
    name = getattr(function, "__name__", None)
    module = getattr(function, "__module__", "") or ""
    if name in _ACTIVATIONS and module.startswith("keras"):
        return _ACTIVATIONS[name]
    raise UnsupportedModelError(
        f"{label} uses the activation {name or function!r}, which is not supported. "
        f"Supported: {SUPPORTED}"
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
            if layer.max_value is not None or float(layer.threshold) != 0.0:
                raise UnsupportedModelError(
                    f"{label} has max_value={layer.max_value} and threshold="
                    f"{layer.threshold}; only a plain (leaky) ReLU is supported"
                )
            slope = float(layer.negative_slope)
            act = "relu" if slope == 0 else f"leaky_relu({slope!r})"
            steps.append(Step("activation", label, activation=act))
        elif isinstance(layer, L.Softmax):
            axis = layer.axis
            if axis not in (-1, 1, [-1], [1], (-1,), (1,)):
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
        elif isinstance(layer, (L.Dropout, L.InputLayer, L.Identity)):
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
