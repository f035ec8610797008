"""Adapter for ONNX models (``onnx.ModelProto`` or the path of an ``.onnx`` file).

The graph must be a chain (one input, one output, no branch) of

- ``Gemm`` with the weight as an initializer (any ``alpha``, ``beta`` and
  ``transB``; ``transA=0``) and an optional bias initializer;
- ``MatMul`` by an initializer (a bias ``Add`` after it is folded in);
- the activations ``Relu``, ``Sigmoid``, ``Tanh``, ``LeakyRelu`` (its
  ``alpha`` is the slope), ``PRelu`` (per-unit slopes), ``Gelu``
  (``approximate`` ``"none"`` or ``"tanh"``), ``Elu``, ``Selu``, ``Celu``,
  ``Softplus``, ``Softsign``, ``HardSigmoid`` (its ``alpha`` and ``beta``),
  ``HardSwish``, ``Mish``, ``Swish`` (``alpha=1``), ``Clip`` (ReLU6,
  Hardtanh; ``min=0`` alone is a ReLU), and ``Softmax`` or ``LogSoftmax``
  over the last axis at the end;
- the same activations written out as small subgraphs, as exporters do:
  ``x * Sigmoid(x)`` (SiLU), GELU from ``Erf`` or ``Tanh``, Mish from
  ``Softplus`` and ``Tanh``, PyTorch's thresholded softplus (``Where``);
  such a subgraph is recognised by evaluating it and comparing it with the
  known activations;
- affine pieces folded exactly into the neighbouring linear layer:
  ``BatchNormalization`` in inference mode, and ``Add``, ``Sub``, ``Mul``,
  ``Div`` by a constant and ``Neg`` (``(x - mean) / std``, ``x / 255``);
- ``Identity``, ``Dropout`` (the identity at inference), ``Flatten`` with
  ``axis=1`` and ``Reshape`` to ``(batch, features)`` with a constant shape.

Weights may be initializers or ``Constant`` nodes; an initializer whose
declared dimensions do not match the values it holds is refused naming it
(:class:`~mlpinspect.ModelFileError`). Anything else raises
:class:`~mlpinspect.UnsupportedModelError` naming the node's name and
``op_type``. The input shape is read from the graph's input, e.g.
``(28, 28)`` for an input declared ``[batch, 28, 28]``. The ``onnx`` package
(``pip install 'mlpinspect[onnx]'``) is imported only when a model is read.

The task is read from the last layer (``mlpinspect.mlp.infer_task``): a
softmax or several outputs is ``"multiclass"``, one sigmoid output
``"binary"``; one output without a sigmoid (a logit or a regression value)
stays None until given: ``adapt(model, task="binary")`` or
``task="regression"``.
"""

from __future__ import annotations

import functools
import os
import sys
from collections import defaultdict
from typing import Any

import numpy as np

from ..activations import get_activation
from ..errors import ModelFileError, UnsupportedModelError
from ..mlp import MLP
from ._chain import (
    Step,
    as_float,
    build_mlp,
    check_options,
    import_optional,
    is_path,
)

__all__ = ["OnnxAdapter"]

SUPPORTED = (
    "Gemm (transA=0), MatMul + Add with initializer weights, Relu, Sigmoid, Tanh, "
    "LeakyRelu, PRelu, Gelu, Elu, Selu, Celu, Softplus, Softsign, HardSigmoid, "
    "HardSwish, Mish, Swish, Clip, Softmax/LogSoftmax (last axis), "
    "BatchNormalization, Add/Sub/Mul/Div by constants, Neg, Identity, Dropout, "
    "Flatten (axis=1), Reshape to (batch, features), chained without branches"
)

_ACTIVATIONS = {
    "Relu": "relu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "HardSwish": "hardswish",
    "Mish": "mish",
}
_IDENTITIES = ("Identity", "Dropout")
# ONNX's Selu defaults: SELU's constants rounded to float32.
_SELU = (np.float32(1.6732632423543772), np.float32(1.0507009873554805))


def _short(value: float) -> float:
    """A float32 attribute by its shortest spelling (0.2, not 0.2000000029)."""
    return float(str(np.float32(value)))


def _label(node: Any) -> str:
    return f"node {node.name or '(unnamed)'!r} (ONNX {node.op_type})"


def _attributes(node: Any) -> dict[str, Any]:
    helper = sys.modules["onnx.helper"]
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _dims(value_info: Any) -> list[Any]:
    shape = value_info.type.tensor_type.shape
    return [d.dim_value if d.HasField("dim_value") else None for d in shape.dim]


def _load(obj: Any) -> Any:
    onnx = import_optional("onnx", "onnx")
    if isinstance(obj, onnx.ModelProto):
        return obj
    path = os.fspath(obj)
    if not os.path.isfile(path):
        raise ModelFileError(f"no ONNX file at {path!r}")
    try:
        return onnx.load(path)
    except Exception as exc:
        raise ModelFileError(f"{path!r} is not a readable ONNX model: {exc}") from None


def _erf(args: list, attrs: dict) -> np.ndarray:
    from scipy.special import erf

    return erf(args[0])


def _where(args: list, attrs: dict) -> np.ndarray:
    return np.where(args[0], args[1], args[2])


# Elementwise operators a written-out activation may use, evaluated in float64.
_ELEMENTWISE: dict[str, Any] = {
    "Add": lambda a, k: a[0] + a[1],
    "Sub": lambda a, k: a[0] - a[1],
    "Mul": lambda a, k: a[0] * a[1],
    "Div": lambda a, k: a[0] / a[1],
    "Pow": lambda a, k: np.power(a[0], a[1]),
    "Sqrt": lambda a, k: np.sqrt(a[0]),
    "Exp": lambda a, k: np.exp(a[0]),
    "Log": lambda a, k: np.log(a[0]),
    "Neg": lambda a, k: -a[0],
    "Abs": lambda a, k: np.abs(a[0]),
    "Reciprocal": lambda a, k: 1.0 / a[0],
    "Erf": _erf,
    "Tanh": lambda a, k: np.tanh(a[0]),
    "Sigmoid": lambda a, k: get_activation("sigmoid")(a[0]),
    "Softplus": lambda a, k: np.logaddexp(0, a[0]),
    "Relu": lambda a, k: np.maximum(a[0], 0),
    "Greater": lambda a, k: a[0] > a[1],
    "Less": lambda a, k: a[0] < a[1],
    "GreaterOrEqual": lambda a, k: a[0] >= a[1],
    "LessOrEqual": lambda a, k: a[0] <= a[1],
    "Where": _where,
    "Max": lambda a, k: np.maximum(a[0], a[1]) if len(a) > 1 else a[0],
    "Min": lambda a, k: np.minimum(a[0], a[1]) if len(a) > 1 else a[0],
    "Identity": lambda a, k: a[0],
}
# What a written-out activation is compared with (the closest one is taken).
_CANDIDATES = ("silu", "gelu", "gelu_tanh", "mish", "softplus",
               "softplus(1.0, 20.0)", "hardswish", "hardsigmoid", "selu", "elu",
               "softsign", "relu6", "relu", "sigmoid", "tanh")  # fmt: skip


def _tensor_values(tensor: Any, to_array: Any) -> np.ndarray:
    """The values of a TensorProto, refusing one whose dimensions disagree with
    its data (before anything of the declared size is allocated)."""
    dims = [int(d) for d in tensor.dims]
    count = int(np.prod(dims)) if dims else 1
    name = tensor.name or "(unnamed)"
    if any(d < 0 for d in dims):
        raise ModelFileError(f"the initializer {name!r} has negative dimensions {dims}")
    onnx = sys.modules["onnx"]
    external = tensor.data_location == onnx.TensorProto.EXTERNAL
    if tensor.HasField("raw_data") and not external:
        itemsize = _itemsize(tensor.data_type)
        if itemsize and len(tensor.raw_data) != count * itemsize:
            raise ModelFileError(
                f"the initializer {name!r} declares dimensions {dims} ({count} "
                f"values, {count * itemsize} bytes) but holds {len(tensor.raw_data)} "
                f"bytes; the file is corrupt"
            )
    try:
        return to_array(tensor)
    except (ValueError, TypeError) as exc:
        raise ModelFileError(
            f"the initializer {name!r} (dimensions {dims}) cannot be read: {exc}"
        ) from None


def _itemsize(data_type: int) -> int:
    helper = sys.modules["onnx.helper"]
    try:
        return int(np.dtype(helper.tensor_dtype_to_np_dtype(data_type)).itemsize)
    except Exception:  # types numpy does not know (bfloat16, float8): skip
        return 0


class _Reader:
    """Walks an ONNX graph, collecting :class:`Step` objects."""

    def __init__(self, model: Any) -> None:
        numpy_helper = import_optional("onnx.numpy_helper", "onnx")
        import_optional("onnx.helper", "onnx")
        self.graph = model.graph
        self.to_array = numpy_helper.to_array
        self.constants: dict[str, Any] = {t.name: t for t in self.graph.initializer}
        self.arrays: dict[str, np.ndarray] = {}
        self.steps: list[Step] = []
        self.rank = 1  # axes of one sample where the chain is

    def constant(self, name: str) -> np.ndarray | None:
        if name in self.arrays:
            return self.arrays[name]
        tensor = self.constants.get(name)
        if tensor is None:
            return None
        self.arrays[name] = arr = as_float(_tensor_values(tensor, self.to_array))
        return arr

    def read(self) -> tuple[list[Step], tuple[int, ...] | None, str]:
        graph = self.graph
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1 or len(graph.output) != 1:
            raise UnsupportedModelError(
                f"the ONNX graph has {len(inputs)} inputs and {len(graph.output)} "
                f"outputs; an MLP has one of each"
            )
        dims = _dims(inputs[0])
        self.rank = max(len(dims) - 1, 1)
        current = inputs[0].name
        nodes = []
        for node in graph.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                attrs = _attributes(node)
                if "value" not in attrs:
                    raise UnsupportedModelError(
                        f"{_label(node)}: only tensor constants ('value') are supported"
                    )
                self.constants[node.output[0]] = attrs["value"]
            else:
                nodes.append(node)
        users: dict[str, list[Any]] = defaultdict(list)
        for node in nodes:
            for name in dict.fromkeys(node.input):
                if name and name not in self.constants:
                    users[name].append(node)
        n_out_users = {o.name for o in graph.output}
        i = 0
        while i < len(nodes):
            node = nodes[i]
            label = _label(node)
            if node.domain not in ("", "ai.onnx"):
                raise UnsupportedModelError(
                    f"{label} is from the operator domain {node.domain!r}, not "
                    f"supported. Supported: {SUPPORTED}"
                )
            consumers = users[current] + (
                ["the graph output"] if current in n_out_users else []
            )
            if len(consumers) > 1:
                # An elementwise function written out as a small subgraph
                # (x * sigmoid(x), GELU from Erf, ...)?
                end = self.subgraph(nodes, i, current, users)
                current = nodes[end].output[0]
                i = end + 1
                continue
            data = [n for n in node.input if n and n not in self.constants]
            if len(data) != 1:
                raise UnsupportedModelError(
                    f"{label} combines {len(data)} computed tensors "
                    f"({', '.join(map(repr, data))}): a branch or residual "
                    f"connection, which an MLP cannot express. Supported: {SUPPORTED}"
                )
            if data[0] != current:
                raise UnsupportedModelError(
                    f"{label} reads {data[0]!r}, not the end of the chain "
                    f"({current!r}): a branch, which an MLP cannot express"
                )
            self.step(node, label, data[0])
            current = node.output[0]
            i += 1
        if graph.output[0].name != current:
            raise UnsupportedModelError(
                f"the ONNX graph's output {graph.output[0].name!r} is not the end of "
                f"the chain of nodes ({current!r})"
            )
        input_shape = None
        if len(dims) >= 2 and all(isinstance(d, int) and d > 0 for d in dims[1:]):
            input_shape = tuple(dims[1:])
        return self.steps, input_shape, graph.name

    def subgraph(
        self, nodes: list[Any], start: int, source: str, users: dict[str, list[Any]]
    ) -> int:
        """Read the nodes from ``start`` on as one elementwise activation of
        ``source``; return the index of the node that produces its value."""
        names = ", ".join(repr(n.name or n.op_type) for n in users[source])
        branch = UnsupportedModelError(
            f"the tensor {source!r} feeds several nodes ({names}): a branch or "
            f"residual connection, which an MLP cannot express; an elementwise "
            f"activation written out as nodes (x * Sigmoid(x)) is read when it "
            f"uses only {', '.join(sorted(_ELEMENTWISE))} and scalar constants"
        )
        available = {source}
        inside: set[int] = set()
        unknown: UnsupportedModelError | None = None
        for j in range(start, len(nodes)):
            node = nodes[j]
            data = {n for n in node.input if n and n not in self.constants}
            scalars = all(
                self.constant(n).size == 1 for n in node.input if n in self.constants
            )
            if node.op_type not in _ELEMENTWISE or not data <= available or not scalars:
                break
            inside.add(id(node))
            available.add(node.output[0])
            # Closed: everything computed so far, but the last output, is used
            # inside the region only. A closed region may still be part of a
            # longer one (GELU's x (1 + erf(x / sqrt 2)) before its * 0.5).
            if all(
                all(id(u) in inside for u in users[name])
                for name in available - {node.output[0]}
            ):
                try:
                    self.identify(nodes[start : j + 1], source)
                except UnsupportedModelError as exc:
                    unknown = exc
                    continue
                return j
        raise unknown if unknown is not None else branch

    def identify(self, region: list[Any], source: str) -> None:
        """Append the activation the region computes, or refuse naming it."""
        z = np.concatenate([np.linspace(-12.0, 12.0, 4801), [25.0, 40.0, -40.0]])
        values = {source: z}
        with np.errstate(all="ignore"):
            for node in region:
                args = [
                    values[n] if n in values else self.constant(n).astype(np.float64)
                    for n in node.input
                    if n
                ]
                values[node.output[0]] = _ELEMENTWISE[node.op_type](
                    args, _attributes(node)
                )
        got = np.broadcast_to(values[region[-1].output[0]], z.shape)
        best, error = None, np.inf
        for name in _CANDIDATES:
            expected = get_activation(name)(z)
            with np.errstate(invalid="ignore"):
                worst = float(np.max(np.abs(got - expected) / (1.0 + np.abs(expected))))
            if worst < error:
                best, error = name, worst
        labels = " -> ".join(_label(n) for n in region)
        if best is None or not error <= 1e-5:
            raise UnsupportedModelError(
                f"{labels} compute an elementwise function of {source!r} that is "
                f"none of the activations mlpinspect knows"
            )
        self.steps.append(Step("activation", labels, activation=best))

    def weight(self, node: Any, index: int, label: str) -> np.ndarray:
        name = node.input[index] if len(node.input) > index else ""
        arr = self.constant(name) if name else None
        if arr is None:
            raise UnsupportedModelError(
                f"{label}: input {index} ({name!r}) must be an initializer or a "
                f"Constant (the layer's weights)"
            )
        return arr

    def step(self, node: Any, label: str, data: str) -> None:
        op = node.op_type
        attrs = _attributes(node)
        act = functools.partial(Step, "activation", label)
        if op == "Gemm":
            self.gemm(node, label, attrs, data)
        elif op == "MatMul":
            if node.input[0] != data:
                raise UnsupportedModelError(
                    f"{label} multiplies the weights from the left (W @ x); only "
                    f"x @ W is supported"
                )
            weight = self.weight(node, 1, label)
            if weight.ndim != 2:
                raise UnsupportedModelError(
                    f"{label}: the weight must be 2-D; got shape {weight.shape}"
                )
            self.steps.append(Step("linear", label, weight=weight.T))
        elif op in ("Add", "Sub", "Mul", "Div", "Neg"):
            self.arithmetic(node, label, data)
        elif op == "BatchNormalization":
            self.batch_norm(node, label, attrs)
        elif op in _ACTIVATIONS:
            self.steps.append(act(activation=_ACTIVATIONS[op]))
        elif op == "LeakyRelu":
            slope = _short(attrs.get("alpha", 0.01))
            self.steps.append(act(activation=f"leaky_relu({slope!r})"))
        elif op == "PRelu":
            slopes = self.weight(node, 1, label)
            if slopes.size == 1:
                slope = _short(slopes.reshape(-1)[0])
                self.steps.append(act(activation=f"leaky_relu({slope!r})"))
            else:
                self.steps.append(act(activation="prelu", params=slopes.reshape(-1)))
        elif op == "Gelu":
            approximate = attrs.get("approximate", b"none")
            if isinstance(approximate, bytes):
                approximate = approximate.decode()
            if approximate not in ("none", "tanh"):
                raise UnsupportedModelError(
                    f"{label} has approximate={approximate!r}; 'none' or 'tanh' "
                    f"are read"
                )
            self.steps.append(
                act(activation="gelu" if approximate == "none" else "gelu_tanh")
            )
        elif op in ("Elu", "Celu"):
            alpha = _short(attrs.get("alpha", 1.0))
            self.steps.append(act(activation=f"{op.lower()}({alpha!r})"))
        elif op == "Selu":
            given = (np.float32(attrs.get("alpha", _SELU[0])),
                     np.float32(attrs.get("gamma", _SELU[1])))  # fmt: skip
            if given != _SELU:
                raise UnsupportedModelError(
                    f"{label} has alpha={given[0]} and gamma={given[1]}; only SELU's "
                    f"own constants (the defaults) are supported"
                )
            self.steps.append(act(activation="selu"))
        elif op == "Swish":
            if _short(attrs.get("alpha", 1.0)) != 1.0:
                raise UnsupportedModelError(
                    f"{label} has alpha={attrs['alpha']}; only alpha=1 (SiLU) is "
                    f"supported"
                )
            self.steps.append(act(activation="silu"))
        elif op == "HardSigmoid":
            alpha, beta = (
                _short(attrs.get("alpha", 0.2)),
                _short(attrs.get("beta", 0.5)),
            )
            self.steps.append(act(activation=f"hardsigmoid({alpha!r}, {beta!r})"))
        elif op == "Clip":
            self.clip(node, label, attrs)
        elif op in ("Softmax", "LogSoftmax"):
            axis = attrs.get("axis", -1)
            if axis not in (-1, 1):
                raise UnsupportedModelError(
                    f"{label} takes the {op.lower()[:-7]}softmax over axis={axis}; "
                    f"only the last axis (-1, or 1 for (batch, features)) is supported"
                )
            name = "softmax" if op == "Softmax" else "log_softmax"
            self.steps.append(act(activation=name))
        elif op in _IDENTITIES:
            if len(node.output) > 1 and node.output[1]:
                raise UnsupportedModelError(f"{label}: the dropout mask is used")
            self.steps.append(Step("identity", label))
        elif op == "Flatten":
            if attrs.get("axis", 1) != 1:
                raise UnsupportedModelError(
                    f"{label} flattens with axis={attrs['axis']}; only axis=1 (each "
                    f"sample) is supported"
                )
            self.steps.append(Step("flatten", label))
            self.rank = 1
        elif op == "Reshape":
            self.reshape(node, label, attrs)
            self.rank = 1
        else:
            raise UnsupportedModelError(
                f"{label} is not supported: mlpinspect reads multilayer perceptrons "
                f"only. Supported: {SUPPORTED}"
            )

    def arithmetic(self, node: Any, label: str, data: str) -> None:
        op = node.op_type
        if op == "Neg":
            self.steps.append(Step("scale_shift", label, scale=-1.0))
            return
        first = node.input[0] == data
        other = node.input[1] if first else node.input[0]
        c = self.constant(other)
        if c is None:  # pragma: no cover - only constants reach here
            raise UnsupportedModelError(f"{label}: {other!r} is not a constant")
        c = c.astype(np.float64)
        if op == "Add":
            step = Step("scale_shift", label, shift=c)
        elif op == "Sub":
            step = (
                Step("scale_shift", label, shift=-c)
                if first
                else Step("scale_shift", label, scale=-1.0, shift=c)
            )
        elif op == "Mul":
            step = Step("scale_shift", label, scale=c)
        elif first:  # x / c
            step = Step("scale_shift", label, scale=1.0 / c)
        else:
            raise UnsupportedModelError(
                f"{label} divides a constant by the tensor (c / x), which is not an "
                f"affine map"
            )
        self.steps.append(step)

    def batch_norm(self, node: Any, label: str, attrs: dict[str, Any]) -> None:
        if attrs.get("training_mode", 0) or (len(node.output) > 1 and any(
                node.output[1:])):  # fmt: skip
            raise UnsupportedModelError(
                f"{label} is in training mode (it uses and updates the batch's "
                f"statistics); export the model in inference mode"
            )
        scale, bias, mean, var = (
            self.weight(node, k, label).astype(np.float64) for k in (1, 2, 3, 4)
        )
        factor = scale / np.sqrt(var + float(attrs.get("epsilon", 1e-5)))
        shift = np.broadcast_to(bias - mean * factor, factor.shape)
        shape = (-1,) + (1,) * (self.rank - 1)  # the channel axis is axis 1
        self.steps.append(
            Step(
                "scale_shift",
                label,
                scale=factor.reshape(shape),
                shift=shift.reshape(shape),
            )
        )

    def clip(self, node: Any, label: str, attrs: dict[str, Any]) -> None:
        def bound(index: int, key: str) -> float | None:
            if len(node.input) > index and node.input[index]:
                value = self.weight(node, index, label)
                return float(value.reshape(-1)[0])
            return float(attrs[key]) if key in attrs else None

        low, high = bound(1, "min"), bound(2, "max")
        finite = np.finfo(np.float32).max  # opset 6's defaults: the float limits
        if high is not None and high >= finite:
            high = None
        if low is not None and low <= -finite:
            low = None
        if low == 0.0 and high is None:
            name = "relu"
        elif low is not None and high is not None:
            name = f"hardtanh({_short(low)!r}, {_short(high)!r})"
        else:
            raise UnsupportedModelError(
                f"{label} clips to [{low}, {high}]; a clip with one open end is only "
                f"supported as a ReLU (min=0, no max)"
            )
        self.steps.append(Step("activation", label, activation=name))

    def gemm(self, node: Any, label: str, attrs: dict[str, Any], data: str) -> None:
        if attrs.get("transA", 0) != 0 or node.input[0] != data:
            raise UnsupportedModelError(
                f"{label} has transA=1 or the data as its second operand; only "
                f"Gemm(x, W, b) with transA=0 is supported"
            )
        weight = self.weight(node, 1, label)
        if weight.ndim != 2:
            raise UnsupportedModelError(
                f"{label}: the weight must be 2-D; got shape {weight.shape}"
            )
        # Y = alpha * x @ B' + beta * C, with B' = B.T when transB=1.
        weight = weight if attrs.get("transB", 0) else weight.T
        alpha = float(attrs.get("alpha", 1.0))
        if alpha != 1.0:
            weight = alpha * weight
        n_out = weight.shape[0]
        bias = None
        if len(node.input) > 2 and node.input[2]:
            c = self.weight(node, 2, label)
            if c.size not in (1, n_out) or (c.ndim > 1 and c.shape[-1] != c.size):
                raise UnsupportedModelError(
                    f"{label}: the bias C must have {n_out} values (one per unit) "
                    f"or one; got shape {c.shape}"
                )
            bias = np.broadcast_to(c.reshape(-1), (n_out,))
            beta = float(attrs.get("beta", 1.0))
            if beta != 1.0:
                bias = beta * bias
        self.steps.append(Step("linear", label, weight=weight, bias=bias))

    def reshape(self, node: Any, label: str, attrs: dict[str, Any]) -> None:
        shape = self.constant(node.input[1]) if len(node.input) > 1 else None
        if shape is None:
            raise UnsupportedModelError(
                f"{label} reshapes to a computed shape; only a constant shape "
                f"flattening each sample is supported (export with nn.Flatten)"
            )
        target = [int(s) for s in np.asarray(shape).reshape(-1)]
        flat = False
        if len(target) == 2:
            batch, features = target
            # -1 infers the batch, 0 copies it (unless allowzero), > 0 fixes it.
            batch_ok = (
                batch == -1
                or batch > 0
                or (batch == 0 and not attrs.get("allowzero", 0))
            )
            flat = batch_ok and (features > 0 or (features == -1 and batch != -1))
        if not flat:
            raise UnsupportedModelError(
                f"{label} reshapes to {target}; only flattening each sample, to "
                f"(batch, features), is supported"
            )
        self.steps.append(Step("flatten", label))


class OnnxAdapter:
    """Adapt an ``onnx.ModelProto`` or the path of an ``.onnx`` file.

    Examples
    --------
    >>> import numpy as np
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> weight = numpy_helper.from_array(np.ones((3, 4), np.float32), "W")
    >>> bias = numpy_helper.from_array(np.zeros(3, np.float32), "b")
    >>> graph = helper.make_graph(
    ...     [helper.make_node("Gemm", ["x", "W", "b"], ["z"], transB=1),
    ...      helper.make_node("Relu", ["z"], ["y"])],
    ...     "tiny",
    ...     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None, 4])],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, 3])],
    ...     initializer=[weight, bias])
    >>> OnnxAdapter().adapt(helper.make_model(graph)).sizes
    (4, 3)
    """

    name = "onnx"
    description = "ONNX ModelProto or .onnx file of Gemm/MatMul+Add and activations"

    def can_adapt(self, obj: Any) -> bool:
        if is_path(obj, ".onnx"):
            return True
        onnx = sys.modules.get("onnx")
        proto = getattr(onnx, "ModelProto", None) if onnx is not None else None
        return isinstance(proto, type) and isinstance(obj, proto)

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        model = _load(obj)
        reader = _Reader(model)
        steps, input_shape, graph_name = reader.read()
        name = os.path.basename(os.fspath(obj)) if is_path(obj, ".onnx") else graph_name
        return build_mlp(
            steps,
            framework="ONNX",
            supported=SUPPORTED,
            input_shape=input_shape,
            name=name or None,
        )
