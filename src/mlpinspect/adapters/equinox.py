"""Adapter for Equinox models (JAX): ``eqx.nn.MLP``, ``eqx.nn.Sequential`` and
``eqx.nn.Linear``.

An ``eqx.nn.MLP`` is read layer by layer: its ``Linear`` layers (weights
``(out, in)``, as mlpinspect stores them), ``activation`` between them and
``final_activation`` after the last (see :mod:`mlpinspect.adapters._jax`
for the JAX functions recognised; an ``eqx.nn.PReLU`` activation gives
per-unit slopes). ``eqx.nn.MLP`` applies its activations to each unit on
its own, so a softmax there would be the constant 1; it is refused (apply
the softmax to the model's output instead).

An ``eqx.nn.Sequential`` may hold ``Linear``, ``Lambda(f)`` with a JAX
activation ``f`` (``jax.nn.softmax`` and ``jax.nn.log_softmax`` over the
last axis at the end), ``PReLU``, ``Identity``, ``Dropout`` (the identity,
as in inference mode; a ``Dropout`` not in inference mode is read as if it
were, with a :class:`~mlpinspect.MlpinspectWarning`), ``MLP`` and nested
``Sequential`` containers. Anything else (``LayerNorm``, the stateful
``BatchNorm``, a convolution) is refused naming the layer.

Equinox models act on one sample; ``jax.vmap(model)(X)`` runs them on a
batch, and that is what the adapted MLP's ``forward`` equals. The task comes
from the output layer, as for PyTorch (``mlpinspect.mlp.infer_task``).
Install with ``pip install "mlpinspect[equinox]"``.
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

__all__ = ["EquinoxAdapter"]

SUPPORTED = (
    "eqx.nn.MLP, eqx.nn.Sequential of Linear, Lambda(JAX activation), PReLU, "
    "Identity, Dropout, MLP and nested Sequential"
)


def _label(path: str, module: Any) -> str:
    where = f"layer {path!r}" if path else "the model"
    return f"{where} (eqx.nn.{type(module).__name__})"


def _linear(path: str, layer: Any) -> Step:
    label = _label(path, layer)
    weight = to_numpy(layer.weight)
    bias = None if layer.bias is None else to_numpy(layer.bias)
    if weight.ndim != 2:
        raise UnsupportedModelError(
            f"{label} has a weight of shape {weight.shape}; a layer's weight is "
            f"(out, in)"
        )
    return Step("linear", label, weight=weight, bias=bias)


def _prelu(label: str, slopes: Any) -> Step:
    slopes = to_numpy(slopes)
    if slopes.size == 1:
        return Step(
            "activation", label,
            activation=f"leaky_relu({float(slopes.reshape(-1)[0])!r})",
        )  # fmt: skip
    return Step("activation", label, activation="prelu", params=slopes.reshape(-1))


def _unit_activation(function: Any, label: str, layer: int | None) -> Step:
    """An ``eqx.nn.MLP`` activation: applied to each unit on its own."""
    eqx = sys.modules["equinox"]
    if isinstance(function, eqx.nn.PReLU):
        slopes = to_numpy(function.negative_slope)
        return _prelu(label, slopes if layer is None else slopes[layer])
    name = _identity_or(function, label)
    if name in ("softmax", "log_softmax"):
        raise UnsupportedModelError(
            f"{label} is {name}, but eqx.nn.MLP applies its activations to each "
            f"unit on its own, so it computes {name} of single numbers (a "
            f"constant); use final_activation=lambda x: x and apply jax.nn.{name} "
            f"to the model's output, or an eqx.nn.Sequential with "
            f"eqx.nn.Lambda(jax.nn.{name})"
        )
    return Step("activation", label, activation=name)


def _identity_or(function: Any, label: str) -> str:
    """Equinox's own default ``lambda x: x``, or a JAX activation."""
    mlp_module = sys.modules.get("equinox.nn._mlp")
    if function is getattr(mlp_module, "_identity", object()):
        return "identity"
    return jax_activation(function, label)


def _mlp_steps(path: str, mlp: Any) -> list[Step]:
    label = _label(path, mlp)
    eqx = sys.modules["equinox"]
    layers = list(mlp.layers)
    prefix = f"{path}.layers" if path else "layers"
    if getattr(mlp, "scan", False):  # (input, stacked hidden layers, output)
        first, hidden, last = layers
        weights = to_numpy(hidden.weight)
        biases = None if hidden.bias is None else to_numpy(hidden.bias)
        linears = [_linear(f"{prefix}[0]", first)]
        for k in range(weights.shape[0]):
            bias = None if biases is None else biases[k]
            linears.append(
                Step("linear", f"{label}, hidden layer {k + 1}", weight=weights[k],
                     bias=bias)
            )  # fmt: skip
        linears.append(_linear(f"{prefix}[2]", last))
    else:
        linears = [_linear(f"{prefix}[{i}]", layer) for i, layer in enumerate(layers)]
    steps: list[Step] = []
    for i, linear in enumerate(linears):
        steps.append(linear)
        if i < len(linears) - 1:
            steps.append(
                _unit_activation(mlp.activation, f"{label}.activation (layer {i})",
                                 i if _stacked(mlp.activation, eqx) else None)
            )  # fmt: skip
    steps.append(
        _unit_activation(mlp.final_activation, f"{label}.final_activation", None)
    )
    return steps


def _stacked(function: Any, eqx: Any) -> bool:
    """Whether an MLP's activation holds one set of parameters per layer."""
    return isinstance(function, eqx.nn.PReLU) and np.ndim(function.negative_slope) == 2


def _steps(path: str, module: Any, training: list[str]) -> list[Step]:
    eqx = sys.modules["equinox"]
    nn = eqx.nn
    label = _label(path, module)
    if isinstance(module, nn.Sequential):
        steps: list[Step] = []
        for i, layer in enumerate(module.layers):
            steps.extend(_steps(f"{path}.layers[{i}]".lstrip("."), layer, training))
        return steps
    if isinstance(module, nn.MLP):
        return _mlp_steps(path, module)
    if isinstance(module, nn.Linear):
        return [_linear(path, module)]
    if isinstance(module, nn.Lambda):
        return [Step("activation", label, activation=_identity_or(module.fn, label))]
    if isinstance(module, nn.PReLU):
        return [_prelu(label, module.negative_slope)]
    if isinstance(module, nn.Identity):
        return [Step("identity", label)]
    if isinstance(module, nn.Dropout):
        if not module.inference:
            training.append(label)
        return [Step("identity", label)]
    if isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)):
        raise UnsupportedModelError(
            f"{label} normalises each sample by its own statistics, which is not an "
            f"affine map and has no MLP equivalent"
        )
    if isinstance(module, nn.BatchNorm):
        raise UnsupportedModelError(
            f"{label} keeps its running statistics in an eqx.nn.State outside the "
            f"model, which mlpinspect cannot see; fold them into the next Linear "
            f"yourself or adapt a model without it"
        )
    raise UnsupportedModelError(f"{label} is not supported. Supported: {SUPPORTED}")


class EquinoxAdapter:
    """Adapt an Equinox ``eqx.nn.MLP``, ``eqx.nn.Sequential`` or ``eqx.nn.Linear``.

    Examples
    --------
    >>> import jax
    >>> import equinox as eqx
    >>> model = eqx.nn.MLP(4, 3, width_size=8, depth=2, activation=jax.nn.gelu,
    ...                    key=jax.random.PRNGKey(0))
    >>> mlp = EquinoxAdapter().adapt(model)
    >>> mlp
    MLP(4-8-8-3, activations=[gelu_tanh, gelu_tanh, identity], task='multiclass', name='MLP')
    >>> import numpy as np
    >>> X = np.ones((2, 4), dtype=np.float32)
    >>> bool(np.allclose(mlp.forward(X), jax.vmap(model)(X), atol=1e-6))
    True
    """  # noqa: E501

    name = "equinox"
    description = "Equinox eqx.nn.MLP, eqx.nn.Sequential and eqx.nn.Linear"

    def can_adapt(self, obj: Any) -> bool:
        eqx = sys.modules.get("equinox")
        if eqx is None or not module_of(obj).startswith("equinox"):
            return False
        nn = getattr(eqx, "nn", None)
        kinds = tuple(
            getattr(nn, k) for k in ("MLP", "Sequential", "Linear") if hasattr(nn, k)
        )
        return bool(kinds) and isinstance(obj, kinds)

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        import_optional("equinox", "equinox")
        import_optional("jax.numpy", "equinox")
        training: list[str] = []
        steps = _steps("", obj, training)
        if training:
            eval_mode_warning(
                training[0], "Equinox", "model = eqx.nn.inference_mode(model)"
            )
        return build_mlp(
            steps, framework="Equinox", supported=SUPPORTED, name=type(obj).__name__
        )
