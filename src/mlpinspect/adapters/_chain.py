"""Shared pieces of the built-in adapters.

Framework adapters (PyTorch, Keras, ONNX, JAX, scikit-learn pipelines) read a
model as a chain of steps: linear layers, activations, flattening, no-ops and
affine pieces that are not layers of their own (batch normalisation in
evaluation mode, ``x * 2 - 1`` or ``(x - mean) / std`` in a forward, a
scaler or a PCA before the network). ``build_mlp`` folds that chain into
:class:`~mlpinspect.Dense` layers, one per linear layer, and refuses chains an
MLP cannot express, naming the offending step.

An affine piece is folded exactly into a neighbouring linear layer, so the
MLP computes what the model computes and its first layer's weights live in
the raw input space:

- right after a linear layer (no activation in between) it folds backward:
  ``s * (W x + b) + t = (diag(s) W) x + (s * b + t)``;
- otherwise (at the input, or after an activation) it folds forward into the
  next linear layer: ``W (s * x + t) + b = (W diag(s)) x + (W t + b)``; an
  activation before that layer makes the fold impossible, and is refused.

The fold is computed in float64 and stored in the layer's own dtype.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..activations import canonical_activation, get_activation
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
    "eval_mode_warning",
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
    kind : {"linear", "activation", "scale_shift", "affine", "flatten", \
"identity", "squeeze"}
        What the step does: ``"linear"`` is a layer of its own;
        ``"scale_shift"`` (``scale * x + shift`` feature by feature) and
        ``"affine"`` (``weight @ x + bias``, e.g. a PCA) are folded into the
        neighbouring linear layer; ``"squeeze"`` drops the last axis of a
        one-unit output (``y.squeeze(-1)``).
    label : str
        How to name the step in an error, e.g. ``"layer '2' (torch.nn.Tanh)"``.
    weight : numpy.ndarray, shape (out, in), optional
        For ``"linear"`` and ``"affine"``: the weight, possibly a view of the
        framework's memory (``Dense`` copies it once).
    bias : numpy.ndarray, shape (out,), optional
        For ``"linear"`` and ``"affine"``; None means zeros.
    activation : str, optional
        For ``"activation"``: a name understood by
        :func:`mlpinspect.activations.canonical_activation`.
    params : numpy.ndarray, optional
        For ``"activation"``: per-unit parameters (PReLU's slopes).
    scale, shift : array_like, optional
        For ``"scale_shift"``: a scalar, or values broadcasting against one
        sample (a leading batch axis of 1 is allowed); None means 1 and 0.
    """

    kind: str
    label: str
    weight: Any = None
    bias: Any = None
    activation: str | None = None
    params: Any = None
    scale: Any = None
    shift: Any = None


def eval_mode_warning(label: str, framework: str, fix: str = "model.eval()") -> None:
    """Warn that a model in training mode is read with evaluation semantics."""
    import warnings

    from ..errors import MlpinspectWarning

    warnings.warn(
        f"{label} is in training mode; mlpinspect reads it in evaluation mode "
        f"(dropout off, batch normalisation with its running statistics), as "
        f"the {framework} model computes after {fix}. Call {fix} before "
        f"adapting it to silence this warning",
        MlpinspectWarning,
        stacklevel=4,
    )


def _compose(first: str, then: str) -> str | None:
    """The activation equal to ``then(first(z))``, or None if there is none."""
    if first == "identity":
        return then
    if then == "identity":
        return first
    if {first, then} == {"relu", "relu6"}:
        return "relu6"

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


@dataclass
class _Layer:
    """A Dense layer being assembled (weights stay the framework's until the end)."""

    weight: Any
    bias: Any
    label: str
    activation: str = "identity"
    params: Any = None
    act_label: str | None = None


@dataclass
class _Affine:
    """An affine map ``x -> matrix @ x + shift`` waiting for the next linear
    layer; ``matrix`` None with a ``scale`` vector means ``diag(scale)``."""

    n: int | None  # features it maps from (None: not known yet)
    scale: np.ndarray | None  # (n,) or scalar array, when diagonal
    matrix: np.ndarray | None  # (m, n), when not diagonal
    shift: np.ndarray  # (m,) or scalar array
    labels: list[str]


def _per_feature(
    values: Any, n: int, shape: tuple[int, ...] | None, label: str, what: str
) -> np.ndarray:
    """``values`` as one float64 number per feature of the flattened sample.

    ``shape`` is the sample's shape where the step acts (None: unknown; then
    the values must cover every feature, or be one number).
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 1:
        return np.full(n, arr.reshape(-1)[0])
    if shape is not None:
        try:
            full = np.broadcast_shapes(arr.shape, (1, *shape))
        except ValueError:
            full = None
        if full == (1, *shape) and int(np.prod(shape)) == n:
            return np.broadcast_to(arr, full).reshape(-1).copy()
    else:
        dims = list(arr.shape)
        while dims and dims[0] == 1:
            dims.pop(0)
        if int(np.prod(dims)) == n:
            return arr.reshape(-1).copy()
    where = f"the sample shape {shape}" if shape is not None else f"{n} features"
    raise UnsupportedModelError(
        f"{label} applies a {what} of shape {arr.shape}, which does not give one "
        f"value per feature of {where}; only a scalar or values matching the "
        f"features can be folded into the neighbouring linear layer"
        + (
            " (a per-channel constant needs the input's shape, which this model "
            "does not record)"
            if shape is None
            else ""
        )
    )


def _fold_backward(layer: _Layer, scale: np.ndarray, shift: np.ndarray) -> None:
    """``s * (W x + b) + t`` into ``W, b``."""
    dtype = _dtype(layer.weight)
    w = np.asarray(layer.weight, dtype=np.float64)
    b = (
        np.zeros(w.shape[0])
        if layer.bias is None
        else np.asarray(layer.bias, dtype=np.float64)
    )
    layer.weight = (scale[:, None] * w).astype(dtype)
    layer.bias = (scale * b + shift).astype(dtype)


def _fold_forward(pending: _Affine, weight: Any, bias: Any) -> tuple[Any, Any]:
    """``W (A x + c) + b`` as ``(W A, W c + b)``."""
    dtype = _dtype(weight)
    w = np.asarray(weight, dtype=np.float64)
    b = np.zeros(w.shape[0]) if bias is None else np.asarray(bias, dtype=np.float64)
    if pending.matrix is not None:
        new_w = w @ pending.matrix
    else:
        new_w = w * pending.scale[None, :]
    return new_w.astype(dtype), (w @ pending.shift + b).astype(dtype)


def _dtype(weight: Any) -> np.dtype:
    dtype = np.asarray(weight).dtype
    return dtype if dtype in (np.float32, np.float64) else np.dtype(np.float64)


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
    layers: list[_Layer] = []
    pending: _Affine | None = None
    flat = input_shape is None or len(input_shape) <= 1
    # The shape of one sample where the current step acts, when known.
    shape: tuple[int, ...] | None = (
        None if input_shape is None else tuple(int(d) for d in input_shape)
    )
    squeeze: Step | None = None
    for step in steps:
        if squeeze is not None:
            raise UnsupportedModelError(
                f"{step.label} follows {squeeze.label}, which drops the output's "
                f"last axis; only the end of the model may do that"
            )
        if step.kind == "identity":
            continue
        if step.kind == "flatten":
            flat = True
            if pending is not None and pending.matrix is None:
                pending = _flatten_pending(pending, shape)
            if shape is not None:
                shape = (int(np.prod(shape)),)
            continue
        if step.kind == "squeeze":
            squeeze = step
            continue
        if step.kind == "linear":
            if not flat:
                raise UnsupportedModelError(
                    f"{step.label} acts on the last axis of the input of shape "
                    f"{tuple(input_shape or ())}, which is not a fully connected "
                    f"layer over the whole input; flatten the input first (a "
                    f"Flatten layer before it)"
                )
            weight, bias = step.weight, step.bias
            label = step.label
            if pending is not None:
                weight, bias = _fold_forward(
                    _resolve(pending, np.shape(weight)[1], shape), weight, bias
                )
                label = " + ".join([*pending.labels, label])
                pending = None
            layers.append(_Layer(weight, bias, label))
            shape = (int(np.shape(weight)[0]),)
            continue
        if step.kind in ("scale_shift", "affine"):
            pending = _affine_step(step, layers, pending, shape)
            if step.kind == "affine":
                shape = (int(np.shape(step.weight)[0]),)
            continue
        if step.kind != "activation":  # pragma: no cover - programming error
            raise ValueError(f"unknown step kind {step.kind!r}")
        _activation_step(step, layers, pending, framework, supported)
    if not layers:
        raise UnsupportedModelError(
            f"the {framework} model has no linear layer. Supported {framework} "
            f"layers: {supported}"
        )
    if pending is not None:
        last = layers[-1]
        raise UnsupportedModelError(
            f"{' and '.join(pending.labels)} rescales the output of {last.act_label} "
            f"(which applies {last.activation!r}) at the end of the model; an MLP "
            f"ends with its activation, so this cannot be folded into a layer. "
            f"Drop it from the model and apply it to mlp.forward(X) yourself"
        )
    if squeeze is not None and np.shape(layers[-1].weight)[0] != 1:
        raise UnsupportedModelError(
            f"{squeeze.label} drops the last axis of an output with "
            f"{np.shape(layers[-1].weight)[0]} units; only a one-unit output may "
            f"be squeezed"
        )
    dense = []
    for i, layer in enumerate(layers):
        bias = layer.bias
        if bias is None:
            bias = np.zeros(np.shape(layer.weight)[0], dtype=_dtype(layer.weight))
        if i < len(layers) - 1 and layer.activation in ("softmax", "log_softmax"):
            raise UnsupportedModelError(
                f"{layer.act_label} (a {layer.activation.replace('_', '-')}) is "
                f"followed by another linear layer; mlpinspect supports "
                f"{layer.activation} on the output layer only"
            )
        try:
            dense.append(
                Dense(layer.weight, bias, layer.activation, name=layer.label,
                      activation_params=layer.params)
            )  # fmt: skip
        except (InvalidParameterError, UnsupportedModelError) as exc:
            raise type(exc)(f"{layer.label}: {exc}") from None
    try:
        return MLP(dense, input_shape=input_shape, task=task, name=name)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"the {framework} model: {exc}") from None


def _resolve(pending: _Affine, n: int, shape: tuple[int, ...] | None) -> _Affine:
    """``pending`` with its diagonal and shift spread over ``n`` features."""
    if pending.matrix is not None:
        if pending.matrix.shape[0] != n:
            raise UnsupportedModelError(
                f"{pending.labels[-1]} gives {pending.matrix.shape[0]} features but "
                f"the next linear layer takes {n}"
            )
        return pending
    label = " and ".join(pending.labels)
    scale = _per_feature(pending.scale, n, shape, label, "scale")
    shift = _per_feature(pending.shift, n, shape, label, "shift")
    return _Affine(n, scale, None, shift, pending.labels)


def _flatten_pending(pending: _Affine, shape: tuple[int, ...] | None) -> _Affine:
    """A pending elementwise map, carried through a flatten of the sample."""

    def flat(values: np.ndarray, what: str) -> np.ndarray:
        if values.size == 1:
            return values.reshape(())
        if shape is not None:
            n = int(np.prod(shape))
            return _per_feature(values, n, shape, " and ".join(pending.labels), what)
        # C order, as flatten reads the sample (a leading batch axis of 1 changes
        # nothing); a constant that does not cover every feature is refused
        # when the next linear layer's size is known.
        return values.reshape(-1)

    return _Affine(
        pending.n, flat(np.asarray(pending.scale), "scale"), None,
        flat(np.asarray(pending.shift), "shift"), pending.labels,
    )  # fmt: skip


def _affine_step(
    step: Step,
    layers: list[_Layer],
    pending: _Affine | None,
    shape: tuple[int, ...] | None,
) -> _Affine | None:
    """Fold an affine step backward, or return the pending map it extends."""
    scale = 1.0 if step.scale is None else step.scale
    shift = 0.0 if step.shift is None else step.shift
    if step.kind == "affine":
        matrix = np.asarray(step.weight, dtype=np.float64)
        offset = (
            np.zeros(matrix.shape[0])
            if step.bias is None
            else np.asarray(step.bias, dtype=np.float64)
        )
    if pending is None and layers and layers[-1].activation == "identity":
        # Right after a linear layer: fold into it.
        layer = layers[-1]
        n_out = int(np.shape(layer.weight)[0])
        if step.kind == "affine":
            if matrix.shape[1] != n_out:
                raise UnsupportedModelError(
                    f"{step.label} takes {matrix.shape[1]} features but "
                    f"{layer.label} gives {n_out}"
                )
            w = np.asarray(layer.weight, dtype=np.float64)
            b = np.zeros(n_out) if layer.bias is None else np.asarray(layer.bias, float)
            dtype = _dtype(layer.weight)
            layer.weight = (matrix @ w).astype(dtype)
            layer.bias = (matrix @ b + offset).astype(dtype)
        else:
            _fold_backward(
                layer,
                _per_feature(scale, n_out, (n_out,), step.label, "scale"),
                _per_feature(shift, n_out, (n_out,), step.label, "shift"),
            )
        layer.label = f"{layer.label} + {step.label}"
        return None
    if step.kind == "affine":
        if pending is None:
            return _Affine(matrix.shape[1], None, matrix, offset, [step.label])
        n = matrix.shape[1]
        before = _resolve(pending, n, shape)
        if before.matrix is not None:
            return _Affine(
                before.n, None, matrix @ before.matrix,
                matrix @ before.shift + offset, [*pending.labels, step.label],
            )  # fmt: skip
        return _Affine(
            n, None, matrix * before.scale[None, :], matrix @ before.shift + offset,
            [*pending.labels, step.label],
        )  # fmt: skip
    s = np.asarray(scale, dtype=np.float64)
    t = np.asarray(shift, dtype=np.float64)
    if pending is None:
        return _Affine(None, s, None, t, [step.label])
    if pending.matrix is not None:
        m = pending.matrix.shape[0]
        s = _per_feature(s, m, (m,), step.label, "scale")
        t = _per_feature(t, m, (m,), step.label, "shift")
        return _Affine(
            pending.n, None, s[:, None] * pending.matrix, s * pending.shift + t,
            [*pending.labels, step.label],
        )  # fmt: skip
    # Two elementwise maps: s2 (s1 x + t1) + t2, broadcast as the framework does.
    try:
        return _Affine(
            None, pending.scale * s, None, pending.shift * s + t,
            [*pending.labels, step.label],
        )  # fmt: skip
    except ValueError:
        raise UnsupportedModelError(
            f"{step.label} applies values of shape {s.shape} / {t.shape} that do "
            f"not broadcast with those of {pending.labels[-1]}"
        ) from None


def _activation_step(
    step: Step,
    layers: list[_Layer],
    pending: _Affine | None,
    framework: str,
    supported: str,
) -> None:
    try:
        if step.params is not None:
            act = get_activation(step.activation or "", params=step.params).name
        else:
            act = canonical_activation(step.activation or "")
    except UnsupportedModelError as exc:
        raise UnsupportedModelError(
            f"{step.label} uses the activation {step.activation!r}, which "
            f"mlpinspect does not know ({exc}). Supported {framework} layers: "
            f"{supported}"
        ) from None
    if act == "identity":
        return
    if not layers:
        raise UnsupportedModelError(
            f"{step.label} applies {act!r} to the input before any linear "
            f"layer; an MLP starts with a linear layer. Supported {framework} "
            f"layers: {supported}"
        )
    layer = layers[-1]
    if pending is not None:
        raise UnsupportedModelError(
            f"{' and '.join(pending.labels)} rescales the output of "
            f"{layer.act_label} ({layer.activation!r}) and {step.label} applies "
            f"{act!r} to the result before any linear layer: an affine piece "
            f"between two activations cannot be folded into a linear layer"
        )
    if layer.params is not None or step.params is not None:
        combined = act if layer.activation == "identity" else None
    else:
        combined = _compose(layer.activation, act)
    if combined is None:
        raise UnsupportedModelError(
            f"{step.label} applies {act!r} right after {layer.act_label} applied "
            f"{layer.activation!r}; two activations in a row cannot be expressed as "
            f"one MLP layer (only identity, relu, relu6 and leaky_relu combine)"
        )
    layer.activation = combined
    layer.params = step.params if step.params is not None else layer.params
    layer.act_label = step.label
