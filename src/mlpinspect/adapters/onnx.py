"""Adapter for ONNX models (``onnx.ModelProto`` or the path of an ``.onnx`` file).

The graph must be a chain (one input, one output, no branch) of

- ``Gemm`` with the weight as an initializer (any ``alpha``, ``beta`` and
  ``transB``; ``transA=0``) and an optional bias initializer;
- ``MatMul`` by an initializer, optionally followed by ``Add`` of an
  initializer (in either operand order);
- ``Relu``, ``Sigmoid``, ``Tanh``, ``LeakyRelu`` (its ``alpha`` is the slope),
  ``Softmax`` over the last axis, ``Identity``, ``Dropout`` (the identity at
  inference), ``Flatten`` with ``axis=1`` and ``Reshape`` to
  ``(batch, features)`` with a constant shape.

Weights may be initializers or ``Constant`` nodes. Anything else raises
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

import os
import sys
from collections import defaultdict
from typing import Any

import numpy as np

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
    "LeakyRelu, Softmax (last axis), Identity, Dropout, Flatten (axis=1), Reshape "
    "to (batch, features), chained without branches"
)

_ACTIVATIONS = {"Relu": "relu", "Sigmoid": "sigmoid", "Tanh": "tanh"}
_IDENTITIES = ("Identity", "Dropout")


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
        self.pending_add = False  # the last step is a MatMul waiting for a bias

    def constant(self, name: str) -> np.ndarray | None:
        if name in self.arrays:
            return self.arrays[name]
        tensor = self.constants.get(name)
        if tensor is None:
            return None
        self.arrays[name] = arr = as_float(self.to_array(tensor))
        return arr

    def read(self) -> tuple[list[Step], tuple[int, ...] | None, str]:
        graph = self.graph
        inputs = [i for i in graph.input if i.name not in self.constants]
        if len(inputs) != 1 or len(graph.output) != 1:
            raise UnsupportedModelError(
                f"the ONNX graph has {len(inputs)} inputs and {len(graph.output)} "
                f"outputs; an MLP has one of each"
            )
        current = inputs[0].name
        users: dict[str, list[str]] = defaultdict(list)
        for node in graph.node:
            for name in node.input:
                users[name].append(repr(node.name or node.op_type))
        for output in graph.output:
            users[output.name].append("the graph output")
        for node in graph.node:
            if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
                attrs = _attributes(node)
                if "value" not in attrs:
                    raise UnsupportedModelError(
                        f"{_label(node)}: only tensor constants ('value') are supported"
                    )
                self.constants[node.output[0]] = attrs["value"]
                continue
            label = _label(node)
            if node.domain not in ("", "ai.onnx"):
                raise UnsupportedModelError(
                    f"{label} is from the operator domain {node.domain!r}, not "
                    f"supported. Supported: {SUPPORTED}"
                )
            data = [n for n in node.input if n and n not in self.constants]
            if len(data) != 1:
                raise UnsupportedModelError(
                    f"{label} combines {len(data)} computed tensors "
                    f"({', '.join(map(repr, data))}): a branch or residual "
                    f"connection, which an MLP cannot express. Supported: {SUPPORTED}"
                )
            if data[0] != current or len(users[current]) != 1:
                raise UnsupportedModelError(
                    f"the tensor {data[0]!r} feeds several nodes "
                    f"({', '.join(users[data[0]])}): a branch or residual connection, "
                    f"which an MLP cannot express; {label} is one of them"
                )
            self.step(node, label, data[0])
            current = node.output[0]
        if graph.output[0].name != current:
            raise UnsupportedModelError(
                f"the ONNX graph's output {graph.output[0].name!r} is not the end of "
                f"the chain of nodes ({current!r})"
            )
        dims = _dims(inputs[0])
        input_shape = None
        if len(dims) >= 2 and all(isinstance(d, int) and d > 0 for d in dims[1:]):
            input_shape = tuple(dims[1:])
        return self.steps, input_shape, graph.name

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
        pending, self.pending_add = self.pending_add, False
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
            self.pending_add = True
        elif op == "Add":
            if not pending:
                raise UnsupportedModelError(
                    f"{label} adds a constant that does not follow a MatMul; only "
                    f"MatMul + Add (a bias) is supported"
                )
            other = node.input[1] if node.input[0] == data else node.input[0]
            bias = self.constant(other)
            step = self.steps[-1]
            n_out = step.weight.shape[0]
            if (
                bias is None
                or bias.size not in (1, n_out)
                or (bias.ndim > 1 and bias.shape[-1] != bias.size)
            ):
                raise UnsupportedModelError(
                    f"{label}: the added bias must be a constant of {n_out} values "
                    f"(one per unit); got shape {getattr(bias, 'shape', None)}"
                )
            step.bias = np.broadcast_to(bias.reshape(-1), (n_out,))
            step.label = f"{step.label} + {label}"
        elif op in _ACTIVATIONS:
            self.steps.append(Step("activation", label, activation=_ACTIVATIONS[op]))
        elif op == "LeakyRelu":
            # A float32 attribute: keep its shortest spelling (0.2, not 0.2000000029).
            slope = float(str(np.float32(attrs.get("alpha", 0.01))))
            self.steps.append(
                Step("activation", label, activation=f"leaky_relu({slope!r})")
            )
        elif op == "Softmax":
            axis = attrs.get("axis", -1)
            if axis not in (-1, 1):
                raise UnsupportedModelError(
                    f"{label} takes the softmax over axis={axis}; only the last axis "
                    f"(-1, or 1 for (batch, features)) is supported"
                )
            self.steps.append(Step("activation", label, activation="softmax"))
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
        elif op == "Reshape":
            self.reshape(node, label, attrs)
        else:
            raise UnsupportedModelError(
                f"{label} is not supported: mlpinspect reads multilayer perceptrons "
                f"only. Supported: {SUPPORTED}"
            )

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
