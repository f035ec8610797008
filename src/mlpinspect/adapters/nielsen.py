"""Adapter for networks written as in Michael Nielsen's book.

"Neural Networks and Deep Learning" (``network.py``, ``network2.py``) keeps a
network as three lists: ``sizes`` (units per layer, input first),
``weights`` (one ``(out, in)`` array per layer) and ``biases`` (one
``(out, 1)`` column per layer), with the sigmoid in every layer. Any object
with those attributes, or a mapping with those keys (``network2.py`` saves
one as JSON), is read here, so a reader of the book can inspect their own
network.

The book's sigmoid outputs are one-vs-rest: several outputs are a
``"multiclass"`` model (the prediction is the largest output), one output a
``"binary"`` one. Say otherwise with ``adapt(net, task=...)``, and name the
classes with ``class_names=``.

The path of a ``.json`` file written by ``network2.py``'s ``Network.save``
(``{"sizes": ..., "weights": ..., "biases": ..., "cost": ...}``) is read by
:class:`NielsenFileAdapter`: plain JSON, nothing runs, and the nested lists
are checked (a ragged matrix or a wrong size is named) before any array is
built.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, ModelFileError
from ..mlp import MLP, Dense
from ._chain import check_options, is_path
from .weights import resolve_activations

__all__ = ["NielsenAdapter", "NielsenFileAdapter"]

_KEYS = ("sizes", "weights", "biases")


def _numbers(value: Any, name: str) -> np.ndarray:
    """A nested list (or array) of numbers as an array, or say what is wrong."""
    try:
        arr = np.asarray(value, dtype=np.float64) if isinstance(value, list) else (
            np.asarray(value))  # fmt: skip
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"`{name}` must be a matrix of numbers (rows of equal length); could not "
            f"read it: {exc}"
        ) from None
    return arr


def _get(obj: Any, key: str) -> Any:
    return obj[key] if isinstance(obj, Mapping) else getattr(obj, key)


class NielsenAdapter:
    """Adapt a Nielsen-style network (``sizes``, ``weights``, ``biases``).

    Notes
    -----
    Options of ``adapt(obj, **options)``:

    ``activations`` : str or sequence of str, optional
        Defaults to ``"sigmoid"`` in every layer, as in the book; give other
        names if you changed the activation.

    Examples
    --------
    >>> import numpy as np
    >>> class Network:  # the book's layout
    ...     def __init__(self, sizes):
    ...         rng = np.random.default_rng(0)
    ...         self.sizes = sizes
    ...         self.biases = [rng.normal(size=(y, 1)) for y in sizes[1:]]
    ...         self.weights = [rng.normal(size=(y, x))
    ...                         for x, y in zip(sizes[:-1], sizes[1:])]
    >>> NielsenAdapter().adapt(Network([784, 30, 10]))
    MLP(784-30-10, activations=[sigmoid, sigmoid], task='multiclass', name='Network')
    """

    name = "nielsen"
    description = (
        "Nielsen-style networks: `sizes`, `weights` (out, in) and `biases` (out, 1) "
        "lists, sigmoid everywhere"
    )

    def can_adapt(self, obj: Any) -> bool:
        if isinstance(obj, Mapping):
            return all(k in obj for k in _KEYS)
        return all(
            hasattr(type(obj), k) or k in getattr(obj, "__dict__", {}) for k in _KEYS
        )

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name, ("activations",))
        sizes_raw, weights, biases = (_get(obj, k) for k in _KEYS)
        try:
            sizes = [int(s) for s in sizes_raw]
        except (TypeError, ValueError):
            raise InvalidParameterError(
                f"`sizes` must be a list of layer sizes (ints); got {sizes_raw!r}"
            ) from None
        n = len(sizes) - 1
        if n < 1 or any(s < 1 for s in sizes):
            raise InvalidParameterError(
                f"`sizes` must list at least two positive layer sizes; got {sizes}"
            )
        weights, biases = list(weights), list(biases)
        if len(weights) != n or len(biases) != n:
            raise InvalidParameterError(
                f"a network with sizes {sizes} needs {n} weight matrices and {n} "
                f"bias vectors; got {len(weights)} and {len(biases)}"
            )
        acts = resolve_activations(options.get("activations", "sigmoid"), n)
        layers = []
        for i, (w, b) in enumerate(zip(weights, biases)):
            w, b = _numbers(w, f"weights[{i}]"), _numbers(b, f"biases[{i}]")
            expected = (sizes[i + 1], sizes[i])
            if w.shape != expected:
                hint = (
                    " (it looks transposed: the book's layout is (out, in))"
                    if w.shape == expected[::-1]
                    else ""
                )
                raise InvalidParameterError(
                    f"`weights[{i}]` must have shape {expected} (sizes[{i + 1}], "
                    f"sizes[{i}]); got {w.shape}{hint}"
                )
            if b.shape not in ((sizes[i + 1], 1), (sizes[i + 1],)):
                raise InvalidParameterError(
                    f"`biases[{i}]` must have shape ({sizes[i + 1]}, 1) (a column "
                    f"per layer, as in the book); got {b.shape}"
                )
            layers.append(Dense(w, b.reshape(-1), acts[i], name=f"weights[{i}]"))
        label = None if isinstance(obj, Mapping) else type(obj).__name__
        return MLP(layers, name=label)


class NielsenFileAdapter:
    """Adapt the path of a ``.json`` file saved by Nielsen's ``network2.py``.

    Notes
    -----
    Options of ``adapt(path, **options)``:

    ``activations`` : str or sequence of str, optional
        Defaults to ``"sigmoid"`` in every layer, as in the book.

    Examples
    --------
    >>> import json, pathlib, tempfile
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "net.json"
    >>> _ = path.write_text(json.dumps({
    ...     "sizes": [2, 3, 1],
    ...     "weights": [[[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]], [[1.0, -1.0, 0.5]]],
    ...     "biases": [[[0.0], [0.1], [0.2]], [[0.3]]],
    ...     "cost": "CrossEntropyCost"}))
    >>> NielsenFileAdapter().adapt(path)
    MLP(2-3-1, activations=[sigmoid, sigmoid], task='binary', name='net.json')
    """

    name = "nielsen-json"
    description = "paths of .json files saved by Nielsen's network2.py"

    def can_adapt(self, obj: Any) -> bool:
        return is_path(obj, ".json")

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name, ("activations",))
        path = os.fspath(obj)
        if not os.path.isfile(path):
            raise ModelFileError(f"no JSON file at {path!r}")
        try:
            with open(path, encoding="utf-8") as handle:
                data = json.load(handle)
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise ModelFileError(
                f"{path!r} is not a readable JSON file: {exc}"
            ) from None
        missing = [k for k in _KEYS if not isinstance(data, dict) or k not in data]
        if missing:
            raise ModelFileError(
                f"{path!r} is not a network saved by network2.py: it lacks "
                f"{', '.join(map(repr, missing))} (network2.py saves 'sizes', "
                f"'weights', 'biases' and 'cost')"
            )
        for key in ("weights", "biases"):
            if not isinstance(data[key], list):
                raise ModelFileError(f"{path!r}: {key!r} must be a list of matrices")
        try:
            mlp = NielsenAdapter().adapt(data, **options)
        except InvalidParameterError as exc:
            raise ModelFileError(f"{path!r}: {exc}") from None
        return mlp.replace(name=os.path.basename(path))
