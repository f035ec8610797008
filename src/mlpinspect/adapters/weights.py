"""Adapters for plain weights: lists of ``(W, b)`` pairs and ``.npz`` files.

A list of pairs says nothing about activations, so they are given by name::

    adapt([(W0, b0), (W1, b1)], activations=["relu", "softmax"])

with ``W`` of shape ``(out, in)`` and ``b`` of shape ``(out,)``.

The ``.npz`` format
-------------------
A file written by ``numpy.savez`` with the arrays

``W0, b0, W1, b1, ...``
    Layer ``l``'s weight ``(out, in)`` and bias ``(out,)``.
``activations``
    A string array with one activation name per layer (or a single name for
    every layer); optional when ``activations=`` is given to :func:`adapt`.
``input_shape`` (optional)
    An integer array such as ``[28, 28]``.
``task`` (optional)
    A string: ``"multiclass"``, ``"binary"``, ``"multilabel"`` or
    ``"regression"`` (see :class:`mlpinspect.MLP`). Without it the task is
    inferred from the output layer (``mlpinspect.mlp.infer_task``).
``class_names`` (optional)
    The class labels, an array of strings, integers or booleans: one per
    output, or two (negative, positive) for a binary model's one output.
``feature_names`` (optional)
    A string array with one name per input.

For example::

    np.savez("model.npz", W0=W0, b0=b0, W1=W1, b1=b1,
             activations=np.array(["relu", "sigmoid"]), task=np.array("binary"),
             class_names=np.array(["no", "yes"]))
    mlp = mlpinspect.adapt("model.npz")

Files are read with ``allow_pickle=False``. A file saved by
:meth:`mlpinspect.Network.save` (recognised by its ``meta`` entry) is read
through the shared format module, ``mlpinspect._netfile``, with the task,
class names and feature names it records.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._netfile import NetworkFile, is_network_file, load_archive, read_network
from ..errors import InvalidParameterError, ModelFileError, UnsupportedModelError
from ..mlp import MLP, Dense
from ._chain import check_options, is_path

__all__ = ["NpzAdapter", "WeightsAdapter", "resolve_activations"]


def resolve_activations(activations: Any, n_layers: int) -> list[str]:
    """One activation name per layer from a name or a sequence of names."""
    if isinstance(activations, str):
        return [activations] * n_layers
    if isinstance(activations, np.ndarray):
        activations = activations.tolist()
    if not isinstance(activations, Sequence) or not all(
        isinstance(a, str) for a in activations
    ):
        raise InvalidParameterError(
            f"`activations` must be an activation name or a list of {n_layers} names "
            f"(e.g. ['relu', 'softmax']); got {activations!r}"
        )
    if len(activations) != n_layers:
        raise InvalidParameterError(
            f"`activations` must have one name per layer ({n_layers}); got "
            f"{len(activations)}: {list(activations)!r}"
        )
    return list(activations)


def _as_array(value: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError, RuntimeError) as exc:
        raise InvalidParameterError(
            f"`{name}` must be an array of numbers; could not convert "
            f"{type(value).__name__}: {exc}"
        ) from None
    return arr


def layers_from_pairs(
    pairs: Sequence[tuple[Any, Any]], activations: Any, where: str = "weights"
) -> list[Dense]:
    """Dense layers from ``(W, b)`` pairs, with shape checks that explain."""
    acts = resolve_activations(activations, len(pairs))
    layers = []
    previous: int | None = None
    for i, (w, b) in enumerate(pairs):
        w = _as_array(w, f"{where}[{i}][0]")
        b = _as_array(b, f"{where}[{i}][1]")
        if w.ndim != 2:
            raise InvalidParameterError(
                f"`{where}[{i}]`: the weight must be 2-D (out, in); got shape {w.shape}"
            )
        if b.ndim == 2 and 1 in b.shape:
            b = b.reshape(-1)
        hint = (
            "; weights are (out, in) (if yours are (in, out), as in scikit-learn "
            "or Keras, pass W.T)"
        )
        if b.ndim != 1 or b.shape[0] != w.shape[0]:
            raise InvalidParameterError(
                f"`{where}[{i}]`: the bias must have shape ({w.shape[0]},), one "
                f"entry per row of the weight of shape {w.shape}; got {b.shape}"
                f"{hint if b.ndim == 1 and b.shape[0] == w.shape[1] else ''}"
            )
        if previous is not None and w.shape[1] != previous:
            raise InvalidParameterError(
                f"`{where}[{i}]`: the weight must have {previous} columns (the "
                f"units of layer {i - 1}); got shape {w.shape}{hint}"
            )
        previous = w.shape[0]
        layers.append(Dense(w, b, acts[i], name=f"{where}[{i}]"))
    return layers


def _is_pair(item: Any) -> bool:
    return isinstance(item, (tuple, list)) and len(item) == 2


class WeightsAdapter:
    """Adapt a list of ``(W, b)`` pairs, ``W`` of shape ``(out, in)``.

    Notes
    -----
    Options of ``adapt(obj, **options)``:

    ``activations`` : str or sequence of str
        Required: one activation name per layer, or one name for all.

    Examples
    --------
    >>> import numpy as np
    >>> pairs = [(np.ones((3, 4)), np.zeros(3)), (np.ones((1, 3)), np.zeros(1))]
    >>> WeightsAdapter().adapt(pairs, activations=["tanh", "sigmoid"])
    MLP(4-3-1, activations=[tanh, sigmoid], task='binary')
    """

    name = "weights"
    description = "lists of (W (out, in), b (out,)) pairs with activations=[...]"

    def can_adapt(self, obj: Any) -> bool:
        return (
            isinstance(obj, (list, tuple))
            and len(obj) > 0
            and all(_is_pair(item) for item in obj)
        )

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name, ("activations",))
        if "activations" not in options:
            raise InvalidParameterError(
                "`activations` is required for plain weights: one name per layer, "
                "e.g. adapt(pairs, activations=['relu', 'softmax'])"
            )
        return MLP(layers_from_pairs(list(obj), options["activations"]))


_LAYER_KEY = re.compile(r"^([Wb])(\d+)$")


def _strings(arr: np.ndarray, key: str, path: str) -> list[str]:
    if arr.dtype.kind not in "US":
        raise ModelFileError(
            f"{path}: the array {key!r} must hold strings; got dtype {arr.dtype}"
        )
    return [str(s) for s in arr.reshape(-1).tolist()]


def _labels(arr: np.ndarray, key: str, path: str) -> list[Any]:
    """Class labels as saved: strings, integers or booleans."""
    if arr.dtype.kind in "US":
        return _strings(arr, key, path)
    if arr.dtype.kind not in "biu":
        raise ModelFileError(
            f"{path}: the array {key!r} must hold strings, integers or booleans; "
            f"got dtype {arr.dtype}"
        )
    return arr.reshape(-1).tolist()


def _task(arr: np.ndarray, path: str) -> str:
    names = _strings(arr, "task", path)
    if len(names) != 1:
        raise ModelFileError(
            f"{path}: the array 'task' must hold one string such as 'binary'; got "
            f"{len(names)}"
        )
    return names[0]


def load_npz(path: str | os.PathLike, activations: Any = None) -> MLP:
    """Read an MLP from an ``.npz`` file in the format above, or one written by
    :meth:`mlpinspect.Network.save` (read through the shared format module,
    ``mlpinspect._netfile``, not the trainer)."""
    path = os.fspath(path)
    arrays = load_archive(path)
    if is_network_file(arrays):
        return _network_file_mlp(read_network(arrays, path), activations, path)
    indices: dict[str, set[int]] = {"W": set(), "b": set()}
    for key in arrays:
        match = _LAYER_KEY.match(key)
        if match:
            indices[match.group(1)].add(int(match.group(2)))
    n = len(indices["W"])
    if n == 0 or indices["W"] != set(range(n)) or indices["b"] != set(range(n)):
        raise ModelFileError(
            f"{path!r} must hold arrays W0, b0, W1, b1, ... (one weight (out, in) "
            f"and one bias per layer, numbered from 0); found {sorted(arrays)}"
        )
    if activations is None:
        if "activations" not in arrays:
            raise ModelFileError(
                f"{path!r} has no 'activations' array; save one "
                f"(np.array(['relu', 'softmax'])) or pass adapt(path, activations=...)"
            )
        names = _strings(arrays["activations"], "activations", path)
        activations = names[0] if len(names) == 1 else names
    pairs = [(arrays[f"W{i}"], arrays[f"b{i}"]) for i in range(n)]
    try:
        layers = layers_from_pairs(pairs, activations, where="layers")
    except (InvalidParameterError, UnsupportedModelError) as exc:
        raise ModelFileError(f"{path!r}: {exc}") from None
    input_shape = None
    if "input_shape" in arrays:
        input_shape = [int(s) for s in arrays["input_shape"].reshape(-1)]
    class_names = feature_names = task = None
    if "class_names" in arrays:
        class_names = _labels(arrays["class_names"], "class_names", path)
    if "feature_names" in arrays:
        feature_names = _strings(arrays["feature_names"], "feature_names", path)
    if "task" in arrays:
        task = _task(arrays["task"], path)
    try:
        return MLP(
            layers,
            input_shape=input_shape,
            class_names=class_names,
            feature_names=feature_names,
            task=task,
            name=os.path.basename(path),
        )
    except InvalidParameterError as exc:
        raise ModelFileError(f"{path!r}: {exc}") from None


def _network_task(n_outputs: int) -> str:
    """A Network's task: one output is binary, several multiclass."""
    return "binary" if n_outputs == 1 else "multiclass"


def _network_file_mlp(file: NetworkFile, activations: Any, path: str) -> MLP:
    """The MLP of a file written by ``Network.save``."""
    meta = file.meta
    n = len(file.sizes) - 1
    acts = meta["activations"] if activations is None else activations
    try:
        acts = resolve_activations(acts, n)
        layers = [
            Dense(file.layer("weight", i), file.layer("bias", i), acts[i],
                  name=f"weights[{i}]")
            for i in range(n)
        ]  # fmt: skip
        return MLP(
            layers,
            input_shape=meta.get("input_shape"),
            class_names=meta.get("class_names"),
            feature_names=meta.get("feature_names"),
            task=meta.get("task") or _network_task(file.sizes[-1]),
            name="Network",
        )
    except (InvalidParameterError, UnsupportedModelError) as exc:
        raise ModelFileError(f"{path}: {exc}") from None


class NpzAdapter:
    """Adapt the path of an ``.npz`` file (see the module documentation).

    Notes
    -----
    Options of ``adapt(obj, **options)``:

    ``activations`` : str or sequence of str, optional
        Overrides (or supplies) the file's activations.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.npz"
    >>> np.savez(path, W0=np.ones((3, 4)), b0=np.zeros(3), W1=np.ones((2, 3)),
    ...          b1=np.zeros(2), activations=np.array(["relu", "softmax"]),
    ...          class_names=np.array(["cat", "dog"]),
    ...          feature_names=np.array(["a", "b", "c", "d"]))
    >>> adapter = NpzAdapter()
    >>> adapter.can_adapt(str(path)), adapter.adapt(path).sizes
    (True, (4, 3, 2))
    >>> mlp = adapter.adapt(path)
    >>> mlp.task, mlp.class_names, mlp.feature_names
    ('multiclass', ('cat', 'dog'), ('a', 'b', 'c', 'd'))
    """

    name = "npz"
    description = "paths of .npz files (W0, b0, W1, b1, ..., activations)"

    def can_adapt(self, obj: Any) -> bool:
        return is_path(obj, ".npz")

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name, ("activations",))
        return load_npz(obj, options.get("activations"))
