"""Adapter for Flax NNX models (JAX): ``nnx.Sequential`` chains and ``nnx.Linear``.

An ``nnx.Sequential`` may hold ``nnx.Linear`` (its kernel is ``(in, out)``
and is transposed once to ``(out, in)``), JAX activation functions such as
``nnx.relu`` or ``jax.nn.gelu`` (see :mod:`mlpinspect.adapters._jax`;
``jax.nn.softmax`` and ``jax.nn.log_softmax`` at the end), ``nnx.PReLU``,
``nnx.BatchNorm`` (its running statistics, folded exactly into the
neighbouring ``Linear``), ``nnx.Dropout`` (the identity) and nested
``nnx.Sequential`` containers. A model not in evaluation mode (a
``Dropout`` that is not deterministic, a ``BatchNorm`` that does not use its
running averages) is read as after ``model.eval()``, with a
:class:`~mlpinspect.MlpinspectWarning`. ``nnx.LayerNorm`` (it normalises
each sample by its own statistics) and anything else is refused naming the
layer.

The task comes from the output layer (``mlpinspect.mlp.infer_task``).
Install with ``pip install "mlpinspect[flax]"``.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..errors import UnsupportedModelError
from ..mlp import MLP
from ._chain import (
    Step,
    build_mlp,
    check_options,
    eval_mode_warning,
    import_optional,
    module_of,
)
from ._jax import jax_activation, to_numpy

__all__ = ["FlaxAdapter"]

SUPPORTED = (
    "nnx.Sequential of nnx.Linear, JAX activation functions, nnx.PReLU, "
    "nnx.BatchNorm, nnx.Dropout and nested nnx.Sequential"
)


def _label(path: str, module: Any) -> str:
    where = f"layer {path!r}" if path else "the model"
    kind = getattr(module, "__name__", None) if callable(module) else None
    if module_of(module).startswith("flax"):
        kind = f"nnx.{type(module).__name__}"
    return f"{where} ({kind or type(module).__name__})"


def _batch_norm(label: str, layer: Any) -> Step:
    axis = layer.axis
    if axis not in (-1,) and not (isinstance(axis, int) and axis < 0 and axis == -1):
        raise UnsupportedModelError(
            f"{label} normalises over axis={axis}; after a Linear layer only the "
            f"last axis (-1, the default) is supported"
        )
    mean = to_numpy(layer.mean).astype(np.float64)
    var = to_numpy(layer.var).astype(np.float64)
    scale = 1.0 if layer.scale is None else to_numpy(layer.scale).astype(np.float64)
    bias = 0.0 if layer.bias is None else to_numpy(layer.bias).astype(np.float64)
    factor = scale / np.sqrt(var + float(layer.epsilon))
    return Step("scale_shift", label, scale=factor, shift=bias - mean * factor)


def _steps(path: str, module: Any, training: list[str]) -> list[Step]:
    nnx = sys.modules["flax.nnx"]
    label = _label(path, module)
    if isinstance(module, nnx.Sequential):
        steps: list[Step] = []
        for i, layer in enumerate(module.layers):
            steps.extend(_steps(f"{path}.layers[{i}]".lstrip("."), layer, training))
        return steps
    if isinstance(module, nnx.Linear):
        bias = None if module.bias is None else to_numpy(module.bias)
        # The kernel is (in, out): Dense copies the transposed view once.
        return [Step("linear", label, weight=to_numpy(module.kernel).T, bias=bias)]
    if isinstance(module, nnx.PReLU):
        slopes = to_numpy(module.negative_slope)
        if slopes.size == 1:
            name = f"leaky_relu({float(slopes.reshape(-1)[0])!r})"
            return [Step("activation", label, activation=name)]
        return [
            Step("activation", label, activation="prelu", params=slopes.reshape(-1))
        ]
    if isinstance(module, nnx.Dropout):
        if not module.deterministic and module.rate > 0:
            training.append(label)
        return [Step("identity", label)]
    if isinstance(module, nnx.BatchNorm):
        if not module.use_running_average:
            training.append(label)
        return [_batch_norm(label, module)]
    if isinstance(module, (nnx.LayerNorm, nnx.GroupNorm, nnx.RMSNorm)):
        raise UnsupportedModelError(
            f"{label} normalises each sample by its own statistics, which is not an "
            f"affine map and has no MLP equivalent; only nnx.BatchNorm folds into a "
            f"Linear layer"
        )
    if isinstance(module, nnx.Module):
        raise UnsupportedModelError(f"{label} is not supported. Supported: {SUPPORTED}")
    if callable(module):
        return [Step("activation", label, activation=jax_activation(module, label))]
    raise UnsupportedModelError(f"{label} is not supported. Supported: {SUPPORTED}")


class FlaxAdapter:
    """Adapt a Flax NNX ``nnx.Sequential`` chain or an ``nnx.Linear``.

    Examples
    --------
    >>> import numpy as np
    >>> from flax import nnx
    >>> model = nnx.Sequential(nnx.Linear(4, 8, rngs=nnx.Rngs(0)), nnx.relu,
    ...                        nnx.Linear(8, 3, rngs=nnx.Rngs(1)))
    >>> mlp = FlaxAdapter().adapt(model)
    >>> mlp
    MLP(4-8-3, activations=[relu, identity], task='multiclass', name='Sequential')
    >>> X = np.ones((2, 4), dtype=np.float32)
    >>> bool(np.allclose(mlp.forward(X), model(X), atol=1e-6))
    True
    """

    name = "flax"
    description = "Flax NNX nnx.Sequential chains of nnx.Linear and activations"

    def can_adapt(self, obj: Any) -> bool:
        nnx = sys.modules.get("flax.nnx")
        if nnx is None or not module_of(obj).startswith("flax"):
            return False
        return isinstance(obj, (nnx.Sequential, nnx.Linear))

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        import_optional("flax.nnx", "flax")
        import_optional("jax.numpy", "flax")
        training: list[str] = []
        steps = _steps("", obj, training)
        if training:
            eval_mode_warning(training[0], "Flax", "model.eval()")
        return build_mlp(
            steps, framework="Flax", supported=SUPPORTED, name=type(obj).__name__
        )
