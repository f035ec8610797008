"""Shared pieces of the built-in adapters.

Framework adapters (PyTorch, Keras, ONNX) read a model as a chain of steps:
affine maps, activations, flattening and no-ops. :func:`build_mlp` folds that
chain into :class:`~mlpinspect.Dense` layers, one per affine map, and refuses
chains an MLP cannot express, naming the offending layer.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import canonical_activation
from ..errors import InvalidParameterError, UnsupportedModelError
from ..mlp import MLP, Dense

COMMON_OPTIONS = ("input_shape", "class_names", "feature_names", "task", "name")
"""Options every adapter gets for free: :func:`mlpinspect.adapt` applies them
to the MLP the adapter returns (with :meth:`MLP.replace
<mlpinspect.MLP.replace>`), so they never reach an adapter."""

__all__ = [
    "COMMON_OPTIONS",
    "Step",
    "as_float",
    "build_mlp",
    "check_options",
    "import_optional",
    "is_path",
    "module_of",
]


def as_float(arr: Any) -> np.ndarray:
    """``arr`` as an array; half precision (float16, bfloat16) becomes float32.

    float32 and float64 arrays are returned as they are, without a copy:
    :class:`~mlpinspect.Dense` makes the one copy.
    """
    arr = np.asarray(arr)
    if arr.dtype in (np.float32, np.float64):
        return arr
    if (
        arr.dtype.kind == "f" and arr.dtype.itemsize < 4
    ) or arr.dtype.name == "bfloat16":
        return arr.astype(np.float32)
    return arr


def module_of(obj: Any) -> str:
    """The module that defines ``type(obj)``, or "" when unknown."""
    return getattr(type(obj), "__module__", None) or ""


def is_path(obj: Any, suffix: str) -> bool:
    """True for a str or os.PathLike ending in ``suffix`` (case-insensitive)."""
    if isinstance(obj, os.PathLike):
        obj = os.fspath(obj)
    return isinstance(obj, str) and obj.lower().endswith(suffix)


def import_optional(module: str, extra: str) -> Any:
    """Import an optional dependency or say which extra installs it."""
    if module in sys.modules:
        return sys.modules[module]
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"this model needs the optional dependency {module!r}: "
            f"pip install 'mlpinspect[{extra}]' ({exc})"
        ) from exc


def check_options(
    options: Mapping[str, Any], adapter: str, allowed: Sequence[str] = ()
) -> None:
    """Reject options the adapter does not understand.

    The message lists the adapter's own options and the common ones
    (:data:`COMMON_OPTIONS`), which :func:`mlpinspect.adapt` handles itself.
    """
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        own = ", ".join(repr(a) for a in allowed)
        common = ", ".join(repr(a) for a in COMMON_OPTIONS)
        accepts = f"its own {own} and the common" if allowed else "only the common"
        raise InvalidParameterError(
            f"adapt() got unknown option(s) {', '.join(map(repr, unknown))} for the "
            f"{adapter!r} adapter; it accepts {accepts} options {common}"
        )


@dataclass
class Step:
    """One step of a model read as a chain.

    Attributes
    ----------
    kind : {"linear", "activation", "flatten", "identity"}
        What the step does.
    label : str
        How to name the step in an error, e.g. ``"layer '2' (torch.nn.Tanh)"``.
    weight : numpy.ndarray, shape (out, in), optional
        For ``"linear"``: the weight, possibly a view of the framework's
        memory (``Dense`` copies it once).
    bias : numpy.ndarray, shape (out,), optional
        For ``"linear"``; None means zeros.
    activation : str, optional
        For ``"activation"``: a name understood by
        :func:`mlpinspect.activations.canonical_activation`.
    """

    kind: str
    label: str
    weight: Any = None
    bias: Any = None
    activation: str | None = None


def _compose(first: str, then: str) -> str | None:
    """The activation equal to ``then(first(z))``, or None if there is none."""
    if first == "identity":
        return then
    if then == "identity":
        return first

    def slope(name: str) -> float | None:
        if name == "relu":
            return 0.0
        if name.startswith("leaky_relu("):
            return float(name[len("leaky_relu(") : -1])
        return None

    a, b = slope(first), slope(then)
    # Both piecewise linear through 0 with slope 1 for z > 0: the negative
    # slopes multiply (relu has slope 0) as long as neither flips the sign.
    if a is not None and b is not None and a >= 0 and b >= 0:
        s = a * b
        return "relu" if s == 0 else canonical_activation(f"leaky_relu({s!r})")
    return None


def build_mlp(
    steps: Sequence[Step],
    *,
    framework: str,
    supported: str,
    input_shape: Sequence[int] | None = None,
    task: str | None = None,
    name: str | None = None,
) -> MLP:
    """Fold a chain of steps into an MLP.

    Parameters
    ----------
    steps : sequence of Step
        The model's operations, in order.
    framework : str
        For messages, e.g. ``"PyTorch"``.
    supported : str
        The list of supported layer types, quoted in error messages.
    input_shape : tuple of int, optional
        The shape of one input when the framework knows it; if it has more
        than one axis, a flatten step must come before the first linear step.
    task : str, optional
        What the outputs mean, when the framework says more than the output
        layer (Keras' compiled loss); default: what the output layer implies
        (``mlpinspect.mlp.infer_task``).
    name : str, optional
        Passed to :class:`~mlpinspect.MLP`.
    """
    # [weight, bias, activation, label of the linear step, label of the activation]
    layers: list[list[Any]] = []
    flat = input_shape is None or len(input_shape) <= 1
    for step in steps:
        if step.kind in ("identity", "flatten"):
            flat = flat or step.kind == "flatten"
            continue
        if step.kind == "linear":
            if not flat:
                shape = tuple(input_shape or ())
                raise UnsupportedModelError(
                    f"{step.label} acts on the last axis of the input of shape "
                    f"{shape}, which is not a fully connected layer over the whole "
                    f"input; flatten the input first (a Flatten layer before it)"
                )
            layers.append([step.weight, step.bias, "identity", step.label, None])
            continue
        if step.kind != "activation":  # pragma: no cover - programming error
            raise ValueError(f"unknown step kind {step.kind!r}")
        try:
            act = canonical_activation(step.activation or "")
        except UnsupportedModelError:
            raise UnsupportedModelError(
                f"{step.label} uses the activation {step.activation!r}, which "
                f"mlpinspect does not know. Supported {framework} layers: {supported}"
            ) from None
        if not layers:
            if act == "identity":
                continue
            raise UnsupportedModelError(
                f"{step.label} applies {act!r} to the input before any linear "
                f"layer; an MLP starts with a linear layer. Supported {framework} "
                f"layers: {supported}"
            )
        current = layers[-1][2]
        combined = _compose(current, act)
        if combined is None:
            raise UnsupportedModelError(
                f"{step.label} applies {act!r} right after {layers[-1][4]} applied "
                f"{current!r}; two activations in a row cannot be expressed as one "
                f"MLP layer (only identity, relu and leaky_relu combine)"
            )
        layers[-1][2] = combined
        if act != "identity":
            layers[-1][4] = step.label
    if not layers:
        raise UnsupportedModelError(
            f"the {framework} model has no linear layer. Supported {framework} "
            f"layers: {supported}"
        )
    dense = []
    for i, (weight, bias, act, label, act_label) in enumerate(layers):
        if bias is None:
            bias = np.zeros(np.shape(weight)[0], dtype=np.asarray(weight).dtype)
        if i < len(layers) - 1 and act == "softmax":
            raise UnsupportedModelError(
                f"{act_label} (a softmax) is followed by another linear layer; "
                f"mlpinspect supports softmax on the output layer only"
            )
        try:
            dense.append(Dense(weight, bias, act, name=label))
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{label}: {exc}") from None
    try:
        return MLP(dense, input_shape=input_shape, task=task, name=name)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"the {framework} model: {exc}") from None
