"""Adapter for PyTorch models.

Three kinds of ``torch.nn.Module`` are read:

- an ``nn.Sequential`` (nested ``Sequential`` containers are flattened), read
  module by module;
- a single supported module, e.g. a bare ``nn.Linear`` (a linear model);
- any other module whose ``forward`` is a plain chain of supported
  operations, read from its ``torch.fx.symbolic_trace`` graph: submodule
  calls, the functional forms of the activations below (``torch.relu``,
  ``F.gelu``, ``F.log_softmax``, ``x.relu()``, ``x.clamp(0, 6)``, ...),
  ``F.linear(x, W, b)`` and ``x @ W`` with weights held by the module,
  arithmetic with constants (``x * 2 - 1``, ``x / 255``, ``(x - self.mean) /
  self.std`` with numbers, buffers or parameters), ``F.batch_norm`` with
  running statistics, ``F.dropout``, and flattening: ``torch.flatten(x, 1)``,
  ``x.flatten(1)``, ``x.view(x.size(0), -1)``, ``x.reshape(x.shape[0], -1)``,
  ``x.view(-1, n)``; a final ``y.squeeze(-1)`` of a one-unit output is allowed.

Supported modules: ``Linear`` (without a bias the bias is zero),
``Flatten``; the activations ``ReLU``, ``LeakyReLU`` (its slope is kept:
``"leaky_relu(0.2)"``), ``PReLU`` (one slope: a leaky ReLU; one per unit:
``"prelu"`` with the slopes in ``Dense.activation_params``), ``Sigmoid``,
``Tanh``, ``GELU`` (``approximate="none"`` or ``"tanh"``), ``SiLU``,
``Mish``, ``ELU``, ``SELU``, ``CELU``, ``Softplus`` (with its ``beta`` and
``threshold``), ``Softsign``, ``ReLU6``, ``Hardtanh``, ``Hardsigmoid``,
``Hardswish``, ``Identity``; ``Softmax`` and ``LogSoftmax`` over the last
axis (``dim=-1`` or ``dim=1``) on the output layer; ``BatchNorm1d`` (and 2d,
3d) with running statistics, folded exactly into the neighbouring
``Linear``; ``Dropout`` and ``AlphaDropout`` (the identity, as in
evaluation mode). A model still in training mode is read with evaluation
semantics and a :class:`~mlpinspect.MlpinspectWarning`. Anything else - a
convolution, ``LayerNorm`` (it normalises each sample by its own
statistics, which is not affine), a residual connection or other branch -
raises :class:`~mlpinspect.UnsupportedModelError` naming the layer or graph
node and its type.

PyTorch does not record the input shape: flattening models of images are
adapted with ``input_shape=(28, 28)`` (or ``(1, 28, 28)``) to keep it.
float32 and float64 weights keep their dtype; float16 and bfloat16 become
float32. A model on the ``meta`` device has no values to read and is refused.

PyTorch does not record what the outputs mean either, so the task is read
from the last layer (``mlpinspect.mlp.infer_task``): a softmax or log-softmax,
or several outputs (logits), is ``"multiclass"``; one sigmoid output is
``"binary"``. One output without a sigmoid, a ``Linear(..., 1)`` at the end,
is a binary logit or a regression value; the model's task stays None
(``predict`` and ``score`` then ask for it) until it is given:
``adapt(model, task="binary", class_names=["no", "yes"])`` or
``adapt(model, task="regression")``. Several sigmoid outputs trained as
independent labels are ``adapt(model, task="multilabel")``.
"""

from __future__ import annotations

import functools
import operator
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, UnsupportedModelError
from ..mlp import MLP
from ._chain import (
    Step,
    build_mlp,
    check_options,
    eval_mode_warning,
    import_optional,
    module_of,
)

__all__ = ["TorchAdapter"]

SUPPORTED = (
    "Linear, Flatten, the activations ReLU, LeakyReLU, PReLU, Sigmoid, Tanh, GELU, "
    "SiLU, Mish, ELU, SELU, CELU, Softplus, Softsign, ReLU6, Hardtanh, "
    "Hardsigmoid, Hardswish, Identity, Softmax/LogSoftmax(dim=-1) at the end, "
    "BatchNorm1d with running statistics, Dropout, nested Sequential, and in a "
    "traced forward their functional forms, F.linear, x @ W, arithmetic with "
    "constants (x * 2 - 1, (x - mean) / std), flatten(x, 1), x.view(x.size(0), -1) "
    "/ reshape, chained one after the other without branches"
)


def _to_numpy(tensor: Any, label: str = "the model") -> Any:
    """A numpy view (or, off the CPU, a copy) of a tensor's values."""
    torch = sys.modules["torch"]
    if isinstance(tensor, torch.nn.parameter.UninitializedParameter):
        raise InvalidParameterError(
            f"{label} has uninitialised (lazy) parameters: run the model once on "
            f"an input before adapting it"
        )
    if tensor.device.type == "meta":
        raise InvalidParameterError(
            f"{label} is on the meta device: its tensors have shapes but no values "
            f"to read. Materialise the model first (model.to_empty(device='cpu') "
            f"then model.load_state_dict(...), or build it outside "
            f"torch.device('meta')) and adapt it then"
        )
    tensor = tensor.detach()
    if tensor.dtype in (torch.float16, torch.bfloat16):
        tensor = tensor.to(torch.float32)
    return tensor.cpu().resolve_conj().resolve_neg().numpy()


def _type_name(module: Any) -> str:
    cls = type(module)
    mod = cls.__module__
    if mod.startswith("torch.nn.modules."):
        mod = "torch.nn"
    return f"{mod}.{cls.__qualname__}"


def _act(label: str, name: str, params: Any = None) -> Step:
    return Step("activation", label, activation=name, params=params)


def _number(value: Any) -> float:
    return float(value.item() if hasattr(value, "item") else value)


def _gelu_step(label: str, approximate: Any) -> Step:
    if approximate not in ("none", "tanh"):
        raise UnsupportedModelError(
            f"{label} uses approximate={approximate!r}; GELU is read with "
            f"approximate='none' (exact) or 'tanh'"
        )
    return _act(label, "gelu" if approximate == "none" else "gelu_tanh")


def _prelu_step(label: str, weight: Any) -> Step:
    slopes = np.asarray(_to_numpy(weight, label) if hasattr(weight, "detach") else
                        weight)  # fmt: skip
    if slopes.size == 1:  # one shared slope: a leaky ReLU
        return _act(label, f"leaky_relu({float(slopes.reshape(-1)[0])!r})")
    return _act(label, "prelu", params=slopes.reshape(-1))


def _hardtanh_step(label: str, low: Any, high: Any) -> Step:
    low, high = _number(low), _number(high)
    if np.isinf(high) and low == 0:
        return _act(label, "relu")
    if not (np.isfinite(low) and np.isfinite(high)):
        raise UnsupportedModelError(
            f"{label} clips to [{low}, {high}]; a clip with one open end is only "
            f"supported as ReLU (min=0, no max)"
        )
    return _act(label, f"hardtanh({low!r}, {high!r})")


def _batch_norm_step(
    label: str,
    mean: Any,
    var: Any,
    weight: Any,
    bias: Any,
    eps: float,
    channel_dims: int,
) -> Step:
    """``(x - mean) / sqrt(var + eps) * weight + bias`` as a scale and shift.

    ``channel_dims`` is the number of axes after the channel axis (0 for
    ``(N, C)``, 2 for ``(N, C, H, W)``): the values are shaped to broadcast
    over them.
    """
    if mean is None or var is None:
        raise UnsupportedModelError(
            f"{label} has no running statistics (track_running_stats=False): it "
            f"normalises with each batch's own statistics, so a sample's output "
            f"depends on the rest of the batch, which no MLP computes"
        )
    mean = np.asarray(_to_numpy(mean, label), dtype=np.float64)
    var = np.asarray(_to_numpy(var, label), dtype=np.float64)
    gamma = 1.0 if weight is None else np.asarray(_to_numpy(weight, label), float)
    beta = 0.0 if bias is None else np.asarray(_to_numpy(bias, label), float)
    scale = gamma / np.sqrt(var + float(eps))
    shift = beta - mean * scale
    shape = (-1,) + (1,) * channel_dims
    return Step(
        "scale_shift", label, scale=np.reshape(scale, shape),
        shift=np.reshape(np.broadcast_to(shift, scale.shape), shape),
    )  # fmt: skip


# Modules without parameters (their attributes are read below).
_PLAIN_MODULES = {
    "ReLU": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "SiLU": "silu",
    "Mish": "mish",
    "SELU": "selu",
    "Softsign": "softsign",
    "Hardsigmoid": "hardsigmoid",
    "Hardswish": "hardswish",
}

_DROPOUTS = ("Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
             "FeatureAlphaDropout")  # fmt: skip


def _module_step(label: str, module: Any) -> Step:
    """The step for one leaf module, or raise naming it."""
    nn = sys.modules["torch"].nn
    kind = type(module).__name__ if module_of(module).startswith("torch.nn") else ""
    if isinstance(module, nn.Linear):
        bias = None if module.bias is None else _to_numpy(module.bias, label)
        return Step("linear", label, weight=_to_numpy(module.weight, label), bias=bias)
    if isinstance(module, nn.Flatten):
        return _flatten_step(label, module.start_dim, module.end_dim)
    if isinstance(module, nn.Identity) or kind in _DROPOUTS:
        return Step("identity", label)
    if isinstance(module, nn.LeakyReLU):
        return _act(label, f"leaky_relu({float(module.negative_slope)!r})")
    if isinstance(module, nn.Softmax):
        return _softmax_step(label, module.dim, "softmax")
    if isinstance(module, nn.LogSoftmax):
        return _softmax_step(label, module.dim, "log_softmax")
    if isinstance(module, nn.GELU):
        return _gelu_step(label, module.approximate)
    if isinstance(module, nn.ELU):
        return _act(label, f"elu({float(module.alpha)!r})")
    if isinstance(module, nn.CELU):
        return _act(label, f"celu({float(module.alpha)!r})")
    if isinstance(module, nn.Softplus):
        beta, threshold = float(module.beta), float(module.threshold)
        return _act(label, f"softplus({beta!r}, {threshold!r})")
    if isinstance(module, nn.Hardtanh):  # ReLU6 is a Hardtanh(0, 6)
        return _hardtanh_step(label, module.min_val, module.max_val)
    if isinstance(module, nn.PReLU):
        return _prelu_step(label, module.weight)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        dims = {"BatchNorm1d": 0, "BatchNorm2d": 2, "BatchNorm3d": 3}.get(kind)
        if dims is None:
            raise UnsupportedModelError(
                f"{label} is not supported: only BatchNorm1d/2d/3d are folded"
            )
        return _batch_norm_step(
            label, module.running_mean, module.running_var, module.weight,
            module.bias, module.eps, dims,
        )  # fmt: skip
    if kind in _PLAIN_MODULES:
        return _act(label, _PLAIN_MODULES[kind])
    if isinstance(module, (nn.LayerNorm, nn.GroupNorm, nn.RMSNorm)):
        raise UnsupportedModelError(
            f"{label} normalises each sample by its own statistics, which is not "
            f"an affine map and has no MLP equivalent; only BatchNorm (with running "
            f"statistics) folds into a linear layer"
        )
    raise UnsupportedModelError(
        f"{label} is not supported: mlpinspect reads multilayer perceptrons only. "
        f"Supported: {SUPPORTED}"
    )


def _flatten_step(label: str, start_dim: Any, end_dim: Any) -> Step:
    if start_dim != 1 or end_dim != -1:
        raise UnsupportedModelError(
            f"{label} flattens dimensions {start_dim}..{end_dim}; only flattening "
            f"each sample (start_dim=1, end_dim=-1) is supported"
        )
    return Step("flatten", label)


def _softmax_step(label: str, dim: Any, name: str) -> Step:
    if dim not in (-1, 1, None):
        raise UnsupportedModelError(
            f"{label} takes the {name.replace('_', '-')} over dim={dim!r}; only the "
            f"last axis (dim=-1 or dim=1 on (batch, features)) is supported"
        )
    return _act(label, name)


def _sequential_leaves(module: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    nn = sys.modules["torch"].nn
    for name, child in module.named_children():
        qualified = f"{prefix}{name}"
        if type(child) is nn.Sequential:
            yield from _sequential_leaves(child, qualified + ".")
        else:
            yield qualified, child


# -- torch.fx graphs ------------------------------------------------------


@functools.lru_cache(maxsize=1)
def _function_table() -> dict[Any, str]:
    """Functions (as fx records them) -> what they do."""
    torch = sys.modules["torch"]
    F = torch.nn.functional
    table: dict[Any, str] = {
        torch.relu: "relu",
        F.relu: "relu",
        torch.sigmoid: "sigmoid",
        F.sigmoid: "sigmoid",
        torch.tanh: "tanh",
        F.tanh: "tanh",
        F.leaky_relu: "leaky_relu",
        F.gelu: "gelu",
        F.silu: "silu",
        F.mish: "mish",
        F.elu: "elu",
        F.celu: "celu",
        torch.celu: "celu",
        F.selu: "selu",
        torch.selu: "selu",
        F.softplus: "softplus",
        F.softsign: "softsign",
        F.relu6: "relu6",
        F.hardtanh: "hardtanh",
        F.hardsigmoid: "hardsigmoid",
        F.hardswish: "hardswish",
        F.prelu: "prelu",
        torch.prelu: "prelu",
        torch.clamp: "clamp",
        torch.clip: "clamp",
        torch.softmax: "softmax",
        F.softmax: "softmax",
        torch.log_softmax: "log_softmax",
        F.log_softmax: "log_softmax",
        F.dropout: "dropout",
        torch.dropout: "dropout",
        F.alpha_dropout: "dropout",
        F.batch_norm: "batch_norm",
        F.linear: "linear",
        torch.matmul: "matmul",
        torch.mm: "matmul",
        operator.matmul: "matmul",
        torch.addmm: "addmm",
        torch.flatten: "flatten",
        torch.reshape: "reshape",
        torch.squeeze: "squeeze",
        operator.add: "add",
        operator.iadd: "add",
        torch.add: "add",
        operator.sub: "sub",
        operator.isub: "sub",
        torch.sub: "sub",
        operator.mul: "mul",
        operator.imul: "mul",
        torch.mul: "mul",
        operator.truediv: "div",
        operator.itruediv: "div",
        torch.div: "div",
        operator.neg: "neg",
        torch.neg: "neg",
    }
    for name in ("relu_", "sigmoid_", "tanh_"):
        if hasattr(torch, name):
            table[getattr(torch, name)] = name.rstrip("_")
    return table


_METHODS = {
    "relu": "relu",
    "relu_": "relu",
    "sigmoid": "sigmoid",
    "sigmoid_": "sigmoid",
    "tanh": "tanh",
    "tanh_": "tanh",
    "clamp": "clamp",
    "clip": "clamp",
    "softmax": "softmax",
    "log_softmax": "log_softmax",
    "flatten": "flatten",
    "view": "reshape",
    "reshape": "reshape",
    "squeeze": "squeeze",
    "contiguous": "identity",
    "matmul": "matmul",
    "mm": "matmul",
    "add": "add",
    "add_": "add",
    "sub": "sub",
    "sub_": "sub",
    "mul": "mul",
    "mul_": "mul",
    "div": "div",
    "div_": "div",
    "neg": "neg",
}


def _arg(node: Any, index: int, name: str, default: Any) -> Any:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def _callable_name(target: Any) -> str:
    if isinstance(target, str):
        return target
    module = getattr(target, "__module__", None) or "torch"
    if module.startswith("torch._C") or module == "torch._VariableFunctions":
        module = "torch"
    return f"{module}.{getattr(target, '__name__', repr(target))}"


def _node_label(node: Any, gm: Any) -> str:
    if node.op == "call_module":
        return f"layer {node.target!r} ({_type_name(gm.get_submodule(node.target))})"
    if node.op == "call_method":
        return f"graph node {node.name!r} (method Tensor.{node.target})"
    if node.op == "get_attr":
        return f"graph node {node.name!r} (attribute {node.target!r})"
    return f"graph node {node.name!r} ({_callable_name(node.target)})"


def _meta_nodes(graph: Any) -> set[Any]:
    """Nodes that compute shapes (``x.size(0)``, ``x.shape[0]``), not tensors."""
    fx = sys.modules["torch.fx"]
    meta: set[Any] = set()
    for node in graph.nodes:
        calls = node.op == "call_function"
        asks_shape = (node.op == "call_method" and node.target in ("size", "dim")) or (
            calls and node.target is getattr and node.args[1] in ("shape", "ndim")
        )
        inputs = node.all_input_nodes
        shape_arithmetic = (
            calls
            and bool(inputs)
            and all(isinstance(a, fx.Node) and a in meta for a in inputs)
            and getattr(node.target, "__module__", None) in ("_operator", "operator")
        )
        if asks_shape or shape_arithmetic:
            meta.add(node)
    return meta


def _constant_nodes(graph: Any, meta: set[Any]) -> set[Any]:
    """Nodes computed from the module's attributes only (``self.w.T``)."""
    constant: set[Any] = set()
    for node in graph.nodes:
        if node.op == "get_attr" or (
            node.op in ("call_function", "call_method")
            and node not in meta
            and node.all_input_nodes
            and all(a in constant for a in node.all_input_nodes)
        ):
            constant.add(node)
    return constant


def _is_batch_size(value: Any, source: Any) -> bool:
    """True for ``source.size(0)``, ``source.shape[0]`` or ``source.size()[0]``."""
    fx = sys.modules["torch.fx"]
    if not isinstance(value, fx.Node):
        return False
    if value.op == "call_method" and value.target == "size":
        return value.args[0] is source and _arg(value, 1, "dim", None) == 0
    if value.op == "call_function" and value.target is operator.getitem:
        holder, index = value.args
        if index != 0 or not isinstance(holder, fx.Node):
            return False
        if holder.op == "call_function" and holder.target is getattr:
            return holder.args[0] is source and holder.args[1] == "shape"
        if holder.op == "call_method" and holder.target == "size":
            return holder.args[0] is source and len(holder.args) == 1
    return False


def _reshape_step(node: Any, label: str, source: Any) -> Step:
    shape = list(node.args[1:])
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = list(shape[0])
    if "shape" in node.kwargs:
        shape = list(node.kwargs["shape"])
    if shape == [-1]:  # y.view(-1): a one-unit output as a vector
        return Step("squeeze", label)
    flat = len(shape) == 2 and (
        (_is_batch_size(shape[0], source) and shape[1] == -1)
        or (shape[0] == -1 and isinstance(shape[1], int) and shape[1] > 0)
    )
    if not flat:
        raise UnsupportedModelError(
            f"{label} reshapes to {tuple(getattr(s, 'name', s) for s in shape)}; "
            f"only flattening each sample is supported: x.view(x.size(0), -1), "
            f"x.view(-1, n_features) or nn.Flatten()"
        )
    return Step("flatten", label)


class _Graph:
    """Reads the nodes of a traced module, one step each."""

    def __init__(self, gm: Any, constant: set[Any]) -> None:
        self.gm = gm
        self.constant_nodes = constant
        self.values: dict[Any, Any] = {}
        self.dropout_in_training: str | None = None

    # -- constants (the module's own tensors and what is computed from them) --

    def value(self, node: Any) -> Any:
        """The value of a constant node (computed once, without gradients)."""
        if node in self.values:
            return self.values[node]
        torch = sys.modules["torch"]
        fx = sys.modules["torch.fx"]
        if node.op == "get_attr":
            result = functools.reduce(getattr, node.target.split("."), self.gm)
        else:
            args = fx.node.map_arg(node.args, self.value)
            kwargs = fx.node.map_arg(node.kwargs, self.value)
            with torch.no_grad():
                if node.op == "call_function":
                    result = node.target(*args, **kwargs)
                else:
                    result = getattr(args[0], node.target)(*args[1:], **kwargs)
        self.values[node] = result
        return result

    def constant(self, value: Any, label: str, what: str) -> Any:
        """A number or a constant tensor argument, as numpy (or a float)."""
        fx = sys.modules["torch.fx"]
        torch = sys.modules["torch"]
        if isinstance(value, fx.Node):
            if value not in self.constant_nodes:
                raise UnsupportedModelError(
                    f"{label}: its {what} {value.name!r} is computed from the input, "
                    f"not held by the module; x * x and the like are not affine"
                )
            value = self.value(value)
        if isinstance(value, torch.Tensor):
            return _to_numpy(value, label)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise UnsupportedModelError(
            f"{label}: its {what} must be a number or a tensor the module holds; "
            f"got {type(value).__name__}"
        )

    # -- one step ------------------------------------------------------------

    def step(self, node: Any, kind: str, label: str, source: Any) -> Step:
        arg = functools.partial(_arg, node)
        simple = {
            "relu": "relu", "sigmoid": "sigmoid", "tanh": "tanh", "silu": "silu",
            "mish": "mish", "selu": "selu", "softsign": "softsign",
            "relu6": "relu6", "hardsigmoid": "hardsigmoid",
            "hardswish": "hardswish",
        }  # fmt: skip
        if kind in simple:
            return _act(label, simple[kind])
        if kind == "identity":
            return Step("identity", label)
        if kind == "leaky_relu":
            slope = arg(1, "negative_slope", 0.01)
            return _act(label, f"leaky_relu({float(slope)!r})")
        if kind == "gelu":
            return _gelu_step(label, arg(1, "approximate", "none"))
        if kind in ("elu", "celu"):
            return _act(label, f"{kind}({float(arg(1, 'alpha', 1.0))!r})")
        if kind == "softplus":
            beta, threshold = (
                float(arg(1, "beta", 1.0)),
                float(arg(2, "threshold", 20.0)),
            )
            return _act(label, f"softplus({beta!r}, {threshold!r})")
        if kind == "hardtanh":
            return _hardtanh_step(
                label, arg(1, "min_val", -1.0), arg(2, "max_val", 1.0)
            )
        if kind == "clamp":
            low, high = arg(1, "min", None), arg(2, "max", None)
            low = -np.inf if low is None else self.constant(low, label, "min")
            high = np.inf if high is None else self.constant(high, label, "max")
            return _hardtanh_step(label, low, high)
        if kind == "prelu":
            return _prelu_step(label, self.constant(arg(1, "weight", None), label,
                                                    "weight"))  # fmt: skip
        if kind in ("softmax", "log_softmax"):
            return _softmax_step(label, arg(1, "dim", None), kind)
        if kind == "dropout":
            torch = sys.modules["torch"]
            if node.target is torch.dropout:  # torch.dropout(x, p, train)
                training = arg(2, "train", True)
            elif node.target is torch.nn.functional.alpha_dropout:
                training = arg(2, "training", False)
            else:  # F.dropout and x.dropout default to training=True
                training = arg(2, "training", True)
            if training is True:
                self.dropout_in_training = label
            return Step("identity", label)
        if kind == "flatten":
            start = arg(1, "start_dim", 0)
            end = arg(2, "end_dim", -1)
            if node.op == "call_method" and len(node.args) == 1 and not node.kwargs:
                return Step("squeeze", label)  # y.flatten(): a one-unit output
            return _flatten_step(label, start, end)
        if kind == "reshape":
            return _reshape_step(node, label, source)
        if kind == "squeeze":
            dim = arg(1, "dim", None)
            if dim not in (None, -1, 1):
                raise UnsupportedModelError(
                    f"{label} squeezes dim={dim!r}; only the output's last axis "
                    f"(squeeze(-1) of a one-unit output) is supported"
                )
            return Step("squeeze", label)
        if kind == "batch_norm":
            if arg(5, "training", False):
                raise UnsupportedModelError(
                    f"{label} normalises with the batch's statistics "
                    f"(training=True); pass training=self.training and adapt the "
                    f"model in eval mode"
                )
            const = functools.partial(self.constant, label=label, what="statistic")
            optional = [arg(i, n, None) for i, n in ((3, "weight"), (4, "bias"))]
            return _batch_norm_step(
                label,
                const(arg(1, "running_mean", None)),
                const(arg(2, "running_var", None)),
                *(None if v is None else const(v) for v in optional),
                eps=float(arg(7, "eps", 1e-5)),
                channel_dims=0,
            )
        if kind in ("linear", "matmul", "addmm"):
            return self.linear(node, kind, label, source)
        return self.arithmetic(node, kind, label, source)

    def linear(self, node: Any, kind: str, label: str, source: Any) -> Step:
        const = functools.partial(self.constant, label=label, what="weight")
        if kind == "addmm":  # addmm(b, x, W): x @ W + b
            bias, data, weight = node.args[:3]
            if data is not source or node.kwargs:
                raise UnsupportedModelError(f"{label}: only addmm(b, x, W) is read")
            w = np.asarray(const(weight))
            return Step("linear", label, weight=w.T, bias=np.asarray(const(bias)))
        data, weight = node.args[0], node.args[1]
        if data is not source:
            raise UnsupportedModelError(
                f"{label} multiplies the weights from the left (W @ x); a layer is "
                f"x @ W (or F.linear(x, W, b))"
            )
        w = np.asarray(const(weight))
        if w.ndim != 2:
            raise UnsupportedModelError(
                f"{label}: the weight must be 2-D; got shape {w.shape}"
            )
        if kind == "matmul":
            return Step("linear", label, weight=w.T)  # x @ W with W (in, out)
        bias = _arg(node, 2, "bias", None)
        return Step(
            "linear", label, weight=w,
            bias=None if bias is None else np.asarray(const(bias)),
        )  # fmt: skip

    def arithmetic(self, node: Any, kind: str, label: str, source: Any) -> Step:
        """``x + c``, ``c - x``, ``x * c``, ``x / c``, ``-x`` as a scale and shift."""
        if kind == "neg":
            return Step("scale_shift", label, scale=-1.0)
        a, b = node.args[0], node.args[1] if len(node.args) > 1 else _arg(
            node, 1, "other", None)  # fmt: skip
        data_first = a is source
        other = b if data_first else a
        if not data_first and b is not source:  # pragma: no cover - checked before
            raise UnsupportedModelError(f"{label} does not take the chain's tensor")
        c = self.constant(other, label, "operand")
        alpha = node.kwargs.get("alpha", 1)
        if kind in ("add", "sub") and alpha != 1:
            c = c * float(alpha)
        if kind == "div" and node.kwargs.get("rounding_mode") is not None:
            raise UnsupportedModelError(
                f"{label} rounds (rounding_mode="
                f"{node.kwargs['rounding_mode']!r}), which is not affine"
            )
        if kind == "add":
            return Step("scale_shift", label, shift=c)
        if kind == "sub":
            if data_first:
                return Step("scale_shift", label, shift=-np.asarray(c))
            return Step("scale_shift", label, scale=-1.0, shift=c)
        if kind == "mul":
            return Step("scale_shift", label, scale=c)
        if data_first:  # x / c
            return Step("scale_shift", label, scale=1.0 / np.asarray(c, float))
        raise UnsupportedModelError(
            f"{label} divides a constant by the tensor (c / x), which is not an "
            f"affine map"
        )


def _traced_steps(module: Any) -> list[Step]:
    fx = import_optional("torch.fx", "torch")
    try:
        gm = fx.symbolic_trace(module)
    except Exception as exc:
        raise UnsupportedModelError(
            f"{type(module).__name__}.forward could not be traced with torch.fx "
            f"({type(exc).__name__}: {exc}); mlpinspect reads a module whose forward "
            f"is a plain chain of supported operations. Supported: {SUPPORTED}"
        ) from None
    graph = gm.graph
    meta = _meta_nodes(graph)
    constant = _constant_nodes(graph, meta)
    functions = _function_table()
    reader = _Graph(gm, constant)
    steps: list[Step] = []
    current = None

    def data_inputs(node: Any) -> list[Any]:
        return [a for a in node.all_input_nodes if a not in meta and a not in constant]

    def data_users(node: Any) -> list[Any]:
        return [u for u in node.users if u not in meta]

    for node in graph.nodes:
        if node in meta or node in constant:
            continue
        label = _node_label(node, gm)
        if node.op == "placeholder":
            if current is not None:
                raise UnsupportedModelError(
                    f"{type(module).__name__}.forward takes more than one input "
                    f"({node.name!r}); an MLP has one"
                )
            current = node
            continue
        inputs = data_inputs(node)
        if node.op == "output":
            if inputs != [current] or node.args[0] is not current:
                raise UnsupportedModelError(
                    f"{type(module).__name__}.forward must return one tensor, the "
                    f"end of the chain; it returns {node.args[0]!r}"
                )
            break
        if len(inputs) != 1:
            raise UnsupportedModelError(
                f"{label} combines {len(inputs)} computed tensors "
                f"({', '.join(repr(a.name) for a in inputs)}): a residual connection "
                f"or branch, which an MLP cannot express. Supported: {SUPPORTED}"
            )
        if inputs[0] is not current or len(data_users(current)) != 1:
            users = ", ".join(repr(u.name) for u in data_users(inputs[0]))
            raise UnsupportedModelError(
                f"the tensor {inputs[0].name!r} feeds several operations ({users}): "
                f"a branch, which an MLP cannot express; {label} is one of them"
            )
        if node.op == "call_module":
            step = _module_step(label, gm.get_submodule(node.target))
        elif node.op == "call_method" and node.target in _METHODS:
            step = reader.step(node, _METHODS[node.target], label, current)
        elif node.op == "call_function" and node.target in functions:
            step = reader.step(node, functions[node.target], label, current)
        else:
            raise UnsupportedModelError(
                f"{label} is not supported. Supported: {SUPPORTED}"
            )
        steps.append(step)
        current = node
    if reader.dropout_in_training is not None:
        import warnings

        from ..errors import MlpinspectWarning

        warnings.warn(
            f"{reader.dropout_in_training} drops units even in evaluation mode (its "
            f"`training` argument is True); mlpinspect reads it as the identity, the "
            f"model's expected output. Write F.dropout(x, p, training=self.training)",
            MlpinspectWarning,
            stacklevel=4,
        )
    return steps


def _warn_if_training(module: Any) -> None:
    """Warn when dropout or batch norm would behave differently in eval mode."""
    torch = sys.modules["torch"]
    nn = torch.nn
    kinds = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
    for name, child in module.named_modules():
        if child.training and isinstance(child, kinds):
            where = f"layer {name!r}" if name else "the model"
            eval_mode_warning(f"{where} ({_type_name(child)})", "PyTorch")
            return


def module_steps(module: Any, *, warn_training: bool = True) -> list[Step]:
    """The steps of a ``torch.nn.Module`` (shared with the skorch adapter)."""
    torch = import_optional("torch", "torch")
    if warn_training:
        _warn_if_training(module)
    if type(module) is torch.nn.Sequential:
        leaves = list(_sequential_leaves(module))
        if all(module_of(m).startswith("torch.nn.") for _, m in leaves):
            return [
                _module_step(f"layer {name!r} ({_type_name(child)})", child)
                for name, child in leaves
            ]
    elif module_of(module).startswith("torch.nn.") and not isinstance(
        module, (torch.nn.ModuleList, torch.nn.ModuleDict)
    ):
        # A bare supported module, e.g. nn.Linear: a one-layer model.
        return [_module_step(f"the model ({_type_name(module)})", module)]
    return _traced_steps(module)  # custom modules inside: trace through them


def adapt_module(
    module: Any, name: str | None = None, *, warn_training: bool = True
) -> MLP:
    """The MLP of a ``torch.nn.Module`` (shared with the skorch adapter)."""
    return build_mlp(
        module_steps(module, warn_training=warn_training),
        framework="PyTorch",
        supported=SUPPORTED,
        name=name or type(module).__name__,
    )


class TorchAdapter:
    """Adapt a PyTorch ``nn.Sequential``, a supported module, or a module whose
    forward is a chain.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Flatten(), nn.Linear(784, 30), nn.Sigmoid(),
    ...                       nn.Linear(30, 10))
    >>> mlp = TorchAdapter().adapt(model)
    >>> mlp
    MLP(784-30-10, activations=[sigmoid, identity], task='multiclass', name='Sequential')
    >>> mlp.dtype
    dtype('float32')

    Batch normalisation (in eval mode) is folded into the linear layer before it:

    >>> bn = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.GELU(),
    ...                    nn.Linear(3, 2), nn.LogSoftmax(dim=1)).eval()
    >>> TorchAdapter().adapt(bn)
    MLP(4-3-2, activations=[gelu, log_softmax], task='multiclass', name='Sequential')

    One logit says nothing of its task: give it to :func:`mlpinspect.adapt`.

    >>> import mlpinspect
    >>> logit = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 1))
    >>> print(mlpinspect.adapt(logit).task)
    None
    >>> mlpinspect.adapt(logit, task="binary", class_names=["no", "yes"]).classes
    array(['no', 'yes'], dtype='<U3')
    """  # noqa: E501

    name = "torch"
    description = (
        "PyTorch nn.Sequential of Linear, BatchNorm1d, Dropout, Flatten and "
        "activations, a bare Linear, or an nn.Module whose forward is such a chain"
    )

    def can_adapt(self, obj: Any) -> bool:
        torch = sys.modules.get("torch")
        if torch is None or not isinstance(obj, torch.nn.Module):
            return False
        # Keras 3 layers on the torch backend are torch modules too.
        return not module_of(obj).startswith("keras")

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        return adapt_module(obj)
