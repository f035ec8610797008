"""Everything the explorer page shows, computed by the library, as one payload.

The page draws; it never computes a number of its own. Each number it shows
comes from one of the library's analyses, run here on the same model and
inputs:

- the Layer and Unit views from :func:`~mlpinspect.weight_images` (or, for
  tabular inputs, :func:`~mlpinspect.top_units` on the hidden layer) and
  :func:`~mlpinspect.unit_atlas` (top and bottom examples, class means,
  flags, the mean contribution to each output: ``equivalent_bias``);
- the Class view from :func:`~mlpinspect.top_units` by weight and by
  contribution, every unit ranked (the page shows the first ``k``);
- the Example view from :func:`~mlpinspect.decompose` of the output layer
  and :func:`~mlpinspect.attribute` for each method.

Arrays travel as ``{"dtype", "shape", "data"}`` with ``data`` the base64 of
the zlib-compressed little-endian bytes; images are quantised (inputs to
``uint8`` with ``lo`` and ``scale``: ``x = lo + q * scale``; signed maps to
``int8`` with a symmetric ``limit``: ``v = q / 127 * limit``). Every number
shown as a number is float64, exactly the library's.
"""

from __future__ import annotations

import base64
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._validation import check_input, check_int, encode_labels
from .._version import __version__
from ..adapters import adapt
from ..analysis import (
    attribute,
    decompose,
    image_shape,
    top_units,
    unit_atlas,
    weight_images,
)
from ..errors import InvalidParameterError
from ..mlp import MLP

__all__ = ["DEFAULT_METHODS", "available_methods", "build_payload"]

DEFAULT_METHODS = (
    "gradient_x_input",
    "integrated_gradients",
    "deeplift",
    "occlusion",
)
"""Attribution methods shown by default: all four explain the change of the
logit from a zero input, so one colour scale fits them all."""

_FALLBACK_METHODS = (
    "gradient",
    "gradient_x_input",
    "integrated_gradients",
    "deeplift",
    "lrp",
    "occlusion",
)

TABLE_FEATURES = 100
"""Inputs of fewer features than this, 1-D and unnamed, are shown as tables
(as named ones always are); others as images."""

TOP_FEATURES = 5
"""Features listed per unit (each way) for tabular inputs."""


def available_methods() -> tuple[str, ...]:
    """The attribution methods :func:`mlpinspect.attribute` offers.

    Read from the library's own listing; a fixed list of the methods of
    mlpinspect 0.2 when no listing is found.
    """
    from ..analysis import attribution as _attribution

    for name in ("available_methods", "registered_methods"):
        listing = getattr(_attribution, name, None)
        if callable(listing):
            return tuple(str(m) for m in listing())
    methods = getattr(_attribution, "METHODS", None)
    if methods is not None:
        return tuple(str(m) for m in methods)
    return _FALLBACK_METHODS  # pragma: no cover - every 0.2 build has METHODS


# -- packing -----------------------------------------------------------------------

_DTYPES = {"f8": "<f8", "i4": "<i4", "i2": "<i2", "u1": "u1", "i1": "i1"}


def pack(values: Any, dtype: str) -> dict[str, Any]:
    """An array as ``{"dtype", "shape", "data"}`` (zlib + base64)."""
    arr = np.ascontiguousarray(np.asarray(values), dtype=np.dtype(_DTYPES[dtype]))
    data = base64.b64encode(zlib.compress(arr.tobytes(), 9)).decode("ascii")
    return {"dtype": dtype, "shape": list(arr.shape), "data": data}


def unpack(packed: dict[str, Any]) -> np.ndarray:
    """The array :func:`pack` packed (for tests and tools)."""
    raw = zlib.decompress(base64.b64decode(packed["data"]))
    dtype = np.dtype(_DTYPES[packed["dtype"]])
    return np.frombuffer(raw, dtype=dtype).reshape(packed["shape"])


def quantise_signed(values: np.ndarray, axis: Any = None) -> tuple[np.ndarray, Any]:
    """``int8`` codes and the symmetric limit(s): ``v ~ q / 127 * limit``.

    The limit is the largest ``|value|`` (over ``axis``; 1.0 where all are
    zero), as the plotting module's colour scale.
    """
    values = np.asarray(values, dtype=np.float64)
    limit = np.max(np.abs(values), axis=axis, keepdims=axis is not None)
    limit = np.where(limit > 0, limit, 1.0)
    q = np.rint(values / limit * 127).astype(np.int8)
    if axis is None:
        return q, float(limit)
    return q, np.squeeze(limit, axis=axis)


def quantise_inputs(values: np.ndarray) -> dict[str, Any]:
    """Inputs as ``uint8`` codes with ``lo`` and ``scale`` (``x ~ lo + q *
    scale``); pixel/255 images come back exactly."""
    lo, hi = float(values.min()), float(values.max())
    scale = (hi - lo) / 255 if hi > lo else 1.0
    q = np.rint((values - lo) / scale).astype(np.uint8)
    return {**pack(q, "u1"), "lo": lo, "scale": scale}


# -- the payload -------------------------------------------------------------------


def _focus_units(mlp: MLP, pre: np.ndarray, labels: np.ndarray | None) -> np.ndarray:
    """Per example, the two output units the Example view decomposes: the
    predicted one first, then the true class's (or the next highest logit)."""
    n, n_out = pre.shape
    if n_out == 1:
        return np.zeros((n, 1), dtype=np.int64)
    order = np.argsort(-pre, axis=1, kind="stable")
    focus = order[:, :2].copy()
    if labels is not None and mlp.task == "multiclass":
        wrong = labels != focus[:, 0]
        focus[wrong, 1] = labels[wrong]
    return focus


def _names(mlp: MLP) -> list[str]:
    """Display names of the output units: the class each stands for (a
    binary model's one unit: its positive class), else ``"unit i"``."""
    last = len(mlp.layers) - 1
    names = []
    for unit in range(mlp.n_outputs):
        if mlp.task == "multiclass":
            name: str | None = mlp.class_label(unit)
        elif mlp.task == "binary":
            name = mlp.class_label(1)
        else:
            name = mlp.unit_name(last, unit)
        names.append(f"unit {unit}" if name is None else str(name))
    return names


def _hidden_layer(mlp: MLP) -> int:
    if len(mlp.layers) < 2:
        raise InvalidParameterError(
            "`model` must have at least one hidden layer for the explorer (its "
            f"views show hidden units); got a model of {len(mlp.layers)} layer"
        )
    return len(mlp.layers) - 2


def _input_kind(mlp: MLP) -> dict[str, Any]:
    d = mlp.n_inputs
    shape = mlp.input_shape
    if mlp.feature_names is not None or (len(shape) == 1 and d < TABLE_FEATURES):
        names = mlp.feature_names or tuple(f"x{i}" for i in range(d))
        return {"kind": "table", "features": list(names)}
    h, w = weight_images(mlp, layer=0).shape[1:]
    return {"kind": "image", "height": int(h), "width": int(w)}


def _layer_weights(mlp: MLP, layer: int, kind: dict[str, Any]) -> dict[str, Any]:
    """The first layer's weights: images (one scale for all units) or each
    unit's top-weighted features."""
    if layer == 0 and kind["kind"] == "image":
        images = weight_images(mlp, layer=0)
        q, limit = quantise_signed(images.reshape(images.shape[0], -1))
        return {"images": {**pack(q, "i1"), "limit": limit}}
    if layer == 0:
        plain = mlp.replace(class_names=None)
        units = []
        for j in range(mlp.layers[0].n_out):
            top = top_units(plain, j, layer=0, k=TOP_FEATURES)
            units.append(
                {
                    "excitatory": top.excitatory.tolist(),
                    "excitatory_values": top.excitatory_values.tolist(),
                    "inhibitory": top.inhibitory.tolist(),
                    "inhibitory_values": top.inhibitory_values.tolist(),
                }
            )
        return {"features": units}
    # A later hidden layer: its incoming weights from the layer before, as
    # small images (one scale for all units).
    weights = weight_images(mlp, layer=layer)
    q, limit = quantise_signed(weights.reshape(weights.shape[0], -1))
    h, w = image_shape(weights.shape[1] * weights.shape[2])
    return {"images": {**pack(q, "i1"), "limit": limit}, "height": h, "width": w}


def _recipes(
    mlp: MLP, X: np.ndarray, labels: np.ndarray | None, n_units: int
) -> dict[str, Any]:
    """Every hidden unit ranked for every output unit, by weight and by
    contribution (the page shows the first ``k``). With labels, a class
    without examples has no ranking by contribution (listed in ``missing``)."""
    plain = mlp.replace(class_names=None)
    recipes: dict[str, Any] = {}
    for by in ("weight", "contribution"):
        exc, exc_v, inh, inh_v, missing = [], [], [], [], []
        for c in range(mlp.n_outputs):
            if by == "contribution" and _no_examples(mlp, labels, c):
                missing.append(c)
                for lst, fill in (
                    (exc, -1),
                    (inh, -1),
                    (exc_v, np.nan),
                    (inh_v, np.nan),
                ):
                    lst.append(np.full(n_units, fill))
                continue
            extra = {} if by == "weight" else {"X": X, "y": labels}
            top = top_units(plain, c, layer=-1, k=n_units, by=by, **extra)
            exc.append(top.excitatory)
            exc_v.append(top.excitatory_values)
            inh.append(top.inhibitory)
            inh_v.append(top.inhibitory_values)
        recipes[by] = {
            "excitatory": pack(exc, "i4"),
            "excitatory_values": pack(exc_v, "f8"),
            "inhibitory": pack(inh, "i4"),
            "inhibitory_values": pack(inh_v, "f8"),
            "missing": missing,
        }
    return recipes


def _no_examples(mlp: MLP, labels: np.ndarray | None, unit: int) -> bool:
    """Whether output ``unit``'s class (a binary model's one unit: the
    positive class) has no example to average over."""
    if labels is None or mlp.task not in ("multiclass", "binary"):
        return False
    return not np.any(labels == (1 if mlp.task == "binary" else unit))


def _attributions(
    mlp: MLP,
    X: np.ndarray,
    focus: np.ndarray,
    methods: Sequence[str],
    kind: dict[str, Any],
) -> dict[str, Any]:
    """Each method's attribution of each example's first focus unit.

    The target is given as weights over the outputs (one-hot on that unit):
    the unit itself for every task, never a class position (a binary model's
    class 0 is minus its one unit)."""
    target = np.zeros((len(X), mlp.n_outputs))
    target[np.arange(len(X)), focus[:, 0]] = 1.0
    plain = mlp.replace(class_names=None)
    maps, sums, errors = [], [], []
    for method in methods:
        result = attribute(plain, X, target, method=method)
        values = np.asarray(result.values, dtype=np.float64).reshape(len(X), -1)
        maps.append(values)
        sums.append(values.sum(axis=1))
        err = result.completeness_error
        errors.append(np.full(len(X), np.nan) if err is None else err)
    stacked = np.stack(maps, axis=1)  # (n, methods, d)
    out: dict[str, Any] = {
        "methods": list(methods),
        "sums": pack(np.stack(sums, axis=1), "f8"),
        "completeness_error": pack(np.stack(errors, axis=1), "f8"),
    }
    if kind["kind"] == "image":
        # One colour scale per example, shared by its methods.
        q, limits = quantise_signed(stacked, axis=(1, 2))
        out["maps"] = pack(q, "i1")
        out["limits"] = pack(limits, "f8")
    else:
        out["values"] = pack(stacked, "f8")
    return out


def build_payload(
    model: Any,
    X: Any,
    y: Any = None,
    *,
    k: int = 8,
    n_examples: int = 1000,
    methods: Sequence[str] | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """Compute everything the page shows; see :func:`mlpinspect.explore`."""
    mlp = adapt(model).check_finite()
    layer = _hidden_layer(mlp)
    k = check_int(k, "k", minimum=1)
    n_examples = check_int(n_examples, "n_examples", minimum=1)
    if title is not None and not isinstance(title, str):
        raise InvalidParameterError(
            f"`title` must be a str or None; got {type(title).__name__}"
        )
    methods = _check_methods(methods)
    inputs = check_input(mlp, X, "X", dtype=np.float64)
    if inputs.feature_names is not None and mlp.feature_names is None:
        mlp = mlp.replace(feature_names=inputs.feature_names)
    Xn = np.ascontiguousarray(inputs.values[:n_examples])
    n = Xn.shape[0]
    if n == 0:
        raise InvalidParameterError("`X` must hold at least one example; got 0 rows")
    classified = mlp.task in ("multiclass", "binary")
    labels = None
    if y is not None:
        if not classified:
            raise InvalidParameterError(
                f"`y` must be None: labels need a multiclass or binary model, and "
                f"the model's task is {mlp.task!r}"
            )
        y_all = np.asarray(y)
        if y_all.ndim == 0 or y_all.shape[0] != inputs.values.shape[0]:
            got = "a scalar" if y_all.ndim == 0 else f"{y_all.shape[0]} labels"
            raise InvalidParameterError(
                f"`y` must hold one label per row of `X` "
                f"({inputs.values.shape[0]}); got {got}"
            )
        labels = encode_labels(mlp, y_all[:n_examples], "y", n_samples=n)

    kind = _input_kind(mlp)
    n_units = mlp.layers[layer].n_out
    atlas_k = min(k, n)
    # Labels travel as class positions; on a model without class names a
    # position is its own label, never mistaken for another class's.
    plain = mlp.replace(class_names=None)
    atlas = unit_atlas(plain, Xn, labels, layer=layer, k=atlas_k, keep_inputs=False)
    dec = decompose(mlp, Xn, layer=-1)
    pre = np.asarray(dec.pre_activation)
    focus = _focus_units(mlp, pre, labels)
    rows = np.arange(n)[:, None]
    predicted = (
        encode_labels(mlp, mlp.predict(Xn), "predicted", n_samples=n)
        if classified
        else None
    )

    inputs_packed = quantise_inputs(Xn) if kind["kind"] == "image" else pack(Xn, "f8")

    payload: dict[str, Any] = {
        "format": 1,
        "generator": f"mlpinspect {__version__}",
        "title": title if title is not None else _default_title(mlp),
        "task": mlp.task,
        "layer": layer,
        "layer_sizes": [mlp.n_inputs, *(d.n_out for d in mlp.layers)],
        "activations": [str(d.activation) for d in mlp.layers],
        "n_units": n_units,
        "n_examples": n,
        "k": atlas_k,
        "input": kind,
        "outputs": _names(mlp),
        "classes": [mlp.class_label(i) for i in range(mlp.n_classes)]
        if classified
        else None,
        "inputs": inputs_packed,
        "labels": None if labels is None else pack(labels, "i2"),
        "predicted": None if predicted is None else pack(predicted, "i2"),
        "units": {
            "weights": _layer_weights(mlp, layer, kind),
            "dead": atlas.dead.tolist(),
            "always_on": atlas.always_on.tolist(),
            "saturated": atlas.saturated.tolist(),
            "duplicate_of": atlas.duplicate_of.tolist(),
            "active_share": pack(atlas.active_share, "f8"),
            "mean": pack(atlas.mean, "f8"),
            "top_indices": pack(atlas.top_indices, "i4"),
            "top_values": pack(atlas.top_values, "f8"),
            "bottom_indices": pack(atlas.bottom_indices, "i4"),
            "bottom_values": pack(atlas.bottom_values, "f8"),
            "class_means": None
            if atlas.class_means is None
            else pack(atlas.class_means, "f8"),
            "preferred_class": atlas.preferred_class.tolist(),
            "selectivity": pack(atlas.selectivity, "f8"),
            "outgoing": pack(mlp.layers[layer + 1].weight, "f8"),
            "mean_contribution": pack(atlas.equivalent_bias, "f8"),
        },
        "recipes": _recipes(mlp, Xn, labels, n_units),
        "examples": {
            "focus": pack(focus, "i2"),
            "contributions": pack(dec.contributions[rows, focus], "f8"),
            "bias": pack(dec.bias, "f8"),
            "pre_activation": pack(pre[rows, focus], "f8"),
            "output": pack(np.asarray(dec.output)[rows, focus], "f8"),
        },
        "attribution": _attributions(mlp, Xn, focus, methods, kind)
        if methods
        else None,
    }
    return payload


def _default_title(mlp: MLP) -> str:
    sizes = "\u2013".join(
        str(s) for s in (mlp.n_inputs, *(d.n_out for d in mlp.layers))
    )
    name = mlp.name or "MLP"
    return f"{name} ({sizes}): a look inside"


def _check_methods(methods: Sequence[str] | None) -> tuple[str, ...]:
    known = available_methods()
    if methods is None:
        return tuple(m for m in DEFAULT_METHODS if m in known)
    if isinstance(methods, str):
        methods = (methods,)
    try:
        chosen = tuple(methods)
    except TypeError:
        raise InvalidParameterError(
            f"`methods` must be a sequence of attribution method names; got "
            f"{type(methods).__name__}"
        ) from None
    for m in chosen:
        if not isinstance(m, str) or m not in known:
            raise InvalidParameterError(
                f"`methods` must name attribution methods among "
                f"{', '.join(map(repr, known))}; got {m!r}"
            )
    if len(set(chosen)) != len(chosen):
        raise InvalidParameterError(f"`methods` must not repeat a method; got {chosen}")
    return chosen
