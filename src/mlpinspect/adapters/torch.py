"""Adapter for PyTorch models.

Two kinds of ``torch.nn.Module`` are read:

- an ``nn.Sequential`` (nested ``Sequential`` containers are flattened), read
  module by module;
- any other module whose ``forward`` is a plain chain of supported
  operations, read from its ``torch.fx.symbolic_trace`` graph: submodule
  calls and the functional forms ``torch.relu``, ``F.relu``, ``x.relu()``,
  ``torch.sigmoid``, ``torch.tanh``, ``F.leaky_relu``, ``F.softmax``,
  ``torch.softmax``, ``F.dropout``, ``torch.flatten(x, 1)``, ``x.flatten(1)``,
  ``x.view(x.size(0), -1)``, ``x.reshape(x.shape[0], -1)``,
  ``x.view(-1, n)`` and ``x.contiguous()``.

Supported modules: ``Linear`` (without a bias the bias is zero),
``Flatten``, ``ReLU``, ``LeakyReLU`` (its slope is kept:
``"leaky_relu(0.2)"``), ``Sigmoid``, ``Tanh``, ``Identity``, ``Softmax`` (over
the last axis: ``dim=-1`` or ``dim=1``) and ``Dropout`` (the identity, as in
evaluation mode). Anything else - a convolution, batch norm, a residual
connection or other branch - raises :class:`~mlpinspect.UnsupportedModelError`
naming the layer or graph node and its type.

PyTorch does not record the input shape: flattening models of images are
adapted with ``input_shape=(28, 28)`` (or ``(1, 28, 28)``) to keep it.
float32 and float64 weights keep their dtype; float16 and bfloat16 become
float32.

PyTorch does not record what the outputs mean either, so the task is read
from the last layer (``mlpinspect.mlp.infer_task``): a softmax, or several
outputs (logits), is ``"multiclass"``; one sigmoid output is ``"binary"``.
One output without a sigmoid, a ``Linear(..., 1)`` at the end, is a binary
logit or a regression value; the model's task stays None (``predict`` and
``score`` then ask for it) until it is given:
``adapt(model, task="binary", class_names=["no", "yes"])`` or
``adapt(model, task="regression")``. Several sigmoid outputs trained as
independent labels are ``adapt(model, task="multilabel")``.
"""

from __future__ import annotations

import operator
import sys
from collections.abc import Iterator
from typing import Any

from ..errors import InvalidParameterError, UnsupportedModelError
from ..mlp import MLP
from ._chain import Step, build_mlp, check_options, import_optional, module_of

__all__ = ["TorchAdapter"]

SUPPORTED = (
    "Linear, Flatten, ReLU, LeakyReLU, Sigmoid, Tanh, Identity, Softmax(dim=-1), "
    "Dropout, nested Sequential, and in a traced forward the functions relu, "
    "sigmoid, tanh, leaky_relu, softmax, dropout, flatten(x, 1), "
    "x.view(x.size(0), -1) / reshape, chained one after the other without branches"
)


def _to_numpy(tensor: Any) -> Any:
    """A numpy view (or, off the CPU, a copy) of a tensor's values."""
    torch = sys.modules["torch"]
    if isinstance(tensor, torch.nn.parameter.UninitializedParameter):
        raise InvalidParameterError(
            "the model has uninitialised (lazy) parameters: run it once on an "
            "input before adapting it"
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


def _module_step(label: str, module: Any) -> Step:
    """The step for one leaf module, or raise naming it."""
    nn = sys.modules["torch"].nn
    if isinstance(module, nn.Linear):
        bias = None if module.bias is None else _to_numpy(module.bias)
        return Step("linear", label, weight=_to_numpy(module.weight), bias=bias)
    if isinstance(module, nn.Flatten):
        return _flatten_step(label, module.start_dim, module.end_dim)
    if isinstance(module, (nn.Identity, nn.Dropout)):
        return Step("identity", label)
    if isinstance(module, nn.LeakyReLU):
        return Step(
            "activation",
            label,
            activation=f"leaky_relu({float(module.negative_slope)!r})",
        )
    if isinstance(module, nn.Softmax):
        return _softmax_step(label, module.dim)
    for cls, act in ((nn.ReLU, "relu"), (nn.Sigmoid, "sigmoid"), (nn.Tanh, "tanh")):
        if isinstance(module, cls):
            return Step("activation", label, activation=act)
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


def _softmax_step(label: str, dim: Any) -> Step:
    if dim not in (-1, 1):
        raise UnsupportedModelError(
            f"{label} takes the softmax over dim={dim!r}; only the last axis "
            f"(dim=-1 or dim=1 on (batch, features)) is supported"
        )
    return Step("activation", label, activation="softmax")


def _sequential_leaves(module: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    nn = sys.modules["torch"].nn
    for name, child in module.named_children():
        qualified = f"{prefix}{name}"
        if type(child) is nn.Sequential:
            yield from _sequential_leaves(child, qualified + ".")
        else:
            yield qualified, child


# -- torch.fx graphs ------------------------------------------------------


def _function_table() -> dict[Any, str]:
    torch = sys.modules["torch"]
    F = torch.nn.functional
    table = {
        torch.relu: "relu",
        F.relu: "relu",
        torch.sigmoid: "sigmoid",
        F.sigmoid: "sigmoid",
        torch.tanh: "tanh",
        F.tanh: "tanh",
        F.leaky_relu: "leaky_relu",
        torch.softmax: "softmax",
        F.softmax: "softmax",
        F.dropout: "identity",
        torch.dropout: "identity",
        F.alpha_dropout: "identity",
        torch.flatten: "flatten",
        torch.reshape: "reshape",
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
    "softmax": "softmax",
    "flatten": "flatten",
    "view": "reshape",
    "reshape": "reshape",
    "contiguous": "identity",
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


def _function_step(node: Any, kind: str, label: str, source: Any) -> Step:
    if kind in ("relu", "sigmoid", "tanh"):
        return Step("activation", label, activation=kind)
    if kind == "identity":
        return Step("identity", label)
    if kind == "leaky_relu":
        slope = _arg(node, 1, "negative_slope", 0.01)
        return Step("activation", label, activation=f"leaky_relu({float(slope)!r})")
    if kind == "softmax":
        return _softmax_step(label, _arg(node, 1, "dim", None))
    if kind == "flatten":
        start = _arg(node, 1, "start_dim", 0)
        end = _arg(node, 2, "end_dim", -1)
        return _flatten_step(label, start, end)
    if kind == "reshape":
        return _reshape_step(node, label, source)
    raise AssertionError(f"unhandled {kind} in {label}")  # pragma: no cover


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
    functions = _function_table()
    steps: list[Step] = []
    current = None

    def data_inputs(node: Any) -> list[Any]:
        return [a for a in node.all_input_nodes if a not in meta and a.op != "get_attr"]

    def data_users(node: Any) -> list[Any]:
        return [u for u in node.users if u not in meta]

    for node in graph.nodes:
        if node in meta or node.op == "get_attr":
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
                f"{label} combines {len(inputs)} tensors "
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
            step = _function_step(node, _METHODS[node.target], label, current)
        elif node.op == "call_function" and node.target in functions:
            step = _function_step(node, functions[node.target], label, current)
        else:
            raise UnsupportedModelError(
                f"{label} is not supported. Supported: {SUPPORTED}"
            )
        steps.append(step)
        current = node
    return steps


class TorchAdapter:
    """Adapt a PyTorch ``nn.Sequential`` or a module whose forward is a chain.

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
        "PyTorch nn.Sequential of Linear/Flatten/ReLU/LeakyReLU/Sigmoid/Tanh/"
        "Identity/Softmax/Dropout, or an nn.Module whose forward is such a chain"
    )

    def can_adapt(self, obj: Any) -> bool:
        torch = sys.modules.get("torch")
        if torch is None or not isinstance(obj, torch.nn.Module):
            return False
        # Keras 3 layers on the torch backend are torch modules too.
        return not module_of(obj).startswith("keras")

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        torch = import_optional("torch", "torch")
        leaves = (
            list(_sequential_leaves(obj)) if type(obj) is torch.nn.Sequential else []
        )
        if leaves and all(module_of(m).startswith("torch.nn.") for _, m in leaves):
            steps = [
                _module_step(f"layer {name!r} ({_type_name(child)})", child)
                for name, child in leaves
            ]
        else:  # custom modules inside: trace through them
            steps = _traced_steps(obj)
        return build_mlp(
            steps, framework="PyTorch", supported=SUPPORTED, name=type(obj).__name__
        )
