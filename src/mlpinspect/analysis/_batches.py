"""Private helpers shared by the analysis modules.

- :func:`iter_batches`: walk a data set given as one array or as an iterable of
  batches, with memory bounded by the batch;
- partial forward passes (:func:`sources_of`, :func:`run_from`), so an analysis
  of layer ``l`` computes only what it needs;
- resolving unit and class arguments, and formatting plain-text tables.

Data sets
---------
A data set is either

- an array ``X`` of shape ``(n, n_inputs)`` or ``(n, *input_shape)`` (anything
  numpy converts to a numeric array: an ndarray, a memory map, a nested list, a
  tensor with ``__array__``), with labels ``y`` as a separate array; it is
  processed ``batch_size`` rows at a time; or
- any other iterable (a generator, a list of pairs, a torch ``DataLoader``) of
  batches: each item is an ``(X_batch, y_batch)`` pair (a tuple or list of two)
  or a bare ``X_batch`` when no labels are needed. ``y`` must then be None.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .._validation import check_int, check_labels
from ..activations import get_activation
from ..errors import InvalidParameterError
from ..mlp import MLP

__all__ = [
    "as_array_or_stream",
    "format_table",
    "iter_batches",
    "resolve_unit",
    "resolve_units",
    "run_from",
    "sources_of",
]

DEFAULT_BATCH_SIZE = 1000


def as_array_or_stream(
    X: Any, name: str = "X", mlp: MLP | None = None
) -> tuple[np.ndarray | None, Any]:
    """Return ``(array, None)`` for array-like data, ``(None, X)`` for a stream.

    A list or tuple that numpy turns into a numeric array is data, unless
    ``mlp`` is given and the array cannot be its input while the list is a
    list of arrays (e.g. several ``(b, n_inputs)`` batches): then a stream.
    """
    if X is None or isinstance(X, (str, bytes)):
        raise InvalidParameterError(
            f"`{name}` must be an array of inputs or an iterable of batches; got {X!r}"
        )
    if isinstance(X, np.ndarray):
        return X, None
    if hasattr(X, "__array__") or hasattr(X, "__array_interface__"):
        return np.asarray(X), None
    if isinstance(X, (list, tuple)):
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError):  # ragged: a list of (X, y) pairs
            return None, X
        if arr.dtype == object:
            return None, X
        if mlp is not None and len(X) and not _fits(mlp, arr) and np.ndim(X[0]) >= 2:
            return None, X
        return arr, None
    if isinstance(X, Iterable):
        return None, X
    raise InvalidParameterError(
        f"`{name}` must be an array of inputs or an iterable of batches; got "
        f"{type(X).__name__}"
    )


def _fits(mlp: MLP, arr: np.ndarray) -> bool:
    """Whether ``arr`` has a shape the model accepts as input."""
    if arr.ndim in (1, 2):
        return arr.shape[-1] == mlp.n_inputs
    return arr.shape[1:] == mlp.input_shape


def _split_item(item: Any, labels: bool, name: str, i: int) -> tuple[Any, Any]:
    """``(X_batch, y_batch)`` from a stream item (``y_batch`` None if bare)."""
    if isinstance(item, (tuple, list)) and len(item) == 2:
        x_dims = np.ndim(item[0])
        # A pair holds a batch and its labels, or one input and one label;
        # two inputs of the same length (a bare 2-row batch) are not a pair.
        if x_dims >= 2 or (x_dims == 1 and np.size(item[1]) == 1):
            return item[0], item[1]
    if labels:
        raise InvalidParameterError(
            f"`{name}` batch {i} must be an (X_batch, y_batch) pair because labels "
            f"are needed; got {type(item).__name__}"
        )
    return item, None


def iter_batches(
    mlp: MLP,
    X: Any,
    y: Any = None,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    labels: bool = False,
    name: str = "X",
    y_name: str = "y",
    n_classes: int | None = None,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    """Yield validated ``(X_batch (b, n_inputs), y_batch (b,) or None)`` pairs.

    With ``labels=True`` labels are required (``y`` for an array ``X``, pairs
    for a stream); they are checked to lie in ``[0, n_classes)`` (default: the
    model's outputs). Each batch is checked like ``X`` itself (features,
    finiteness); errors name the argument and, for a stream, the batch.
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    n_classes = mlp.n_outputs if n_classes is None else n_classes
    arr, stream = as_array_or_stream(X, name, mlp)
    if arr is not None:
        yield from _array_batches(
            mlp, arr, y, batch_size, labels, name, y_name, n_classes
        )
        return
    if y is not None:
        raise InvalidParameterError(
            f"`{y_name}` must be None when `{name}` is an iterable of batches (give "
            f"(X_batch, y_batch) pairs instead); got {type(y).__name__}"
        )
    seen = 0
    for i, item in enumerate(stream):
        xb, yb = _split_item(item, labels, name, i)
        if np.shape(xb)[:1] == (0,):  # an empty batch adds nothing
            continue
        xb = mlp._check_input(xb, f"{name} (batch {i})")
        if labels:
            if np.ndim(yb) == 0 and yb is not None:  # one input, one label
                yb = np.reshape(yb, 1)
            yb = check_labels(
                yb, f"{y_name} (batch {i})", n_classes=n_classes, n_samples=xb.shape[0]
            )
        else:
            yb = None
        seen += xb.shape[0]
        yield xb, yb
    if seen == 0:
        raise InvalidParameterError(f"`{name}` must not be empty; got no samples")


def _array_batches(
    mlp: MLP,
    arr: np.ndarray,
    y: Any,
    batch_size: int,
    labels: bool,
    name: str,
    y_name: str,
    n_classes: int,
) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
    if arr.ndim == 0:
        raise InvalidParameterError(
            f"`{name}` must be an array of inputs; got a scalar {arr!r}"
        )
    if arr.shape[0] == 0:
        raise InvalidParameterError(
            f"`{name}` must not be empty; got shape {arr.shape}"
        )
    if arr.ndim == 1:  # a single input
        arr = arr.reshape(1, -1)
    n = arr.shape[0]
    # Check the shape once up front so the error comes before any work.
    mlp._check_input(np.zeros((1, *arr.shape[1:])), name)
    y_all = None
    if labels:
        if y is None:
            raise InvalidParameterError(f"`{y_name}` (labels for `{name}`) is required")
        y_all = check_labels(y, y_name, n_classes=n_classes)
        if y_all.shape[0] != n:
            raise InvalidParameterError(
                f"`{y_name}` must have one label per row of `{name}` ({n}); got "
                f"{y_all.shape[0]}"
            )
    for start in range(0, n, batch_size):
        xb = mlp._check_input(arr[start : start + batch_size], name)
        yb = None if y_all is None else y_all[start : start + batch_size]
        yield xb, yb


# -- partial forward passes ---------------------------------------------------


def sources_of(mlp: MLP, X: np.ndarray, layer: int) -> np.ndarray:
    """The activations feeding ``layer`` (``X`` itself for layer 0), ``(n, fan_in)``."""
    a = X
    for dense in mlp.layers[:layer]:
        z = a @ dense.weight.T
        z += dense.bias
        a = get_activation(dense.activation)(z)
    return a


def run_from(mlp: MLP, a: np.ndarray, layer: int) -> np.ndarray:
    """Run layers ``layer, layer + 1, ...`` on ``a`` (the source of ``layer``)."""
    for dense in mlp.layers[layer:]:
        z = a @ dense.weight.T
        z += dense.bias
        a = get_activation(dense.activation)(z)
    return a


# -- units ----------------------------------------------------------------------


def resolve_unit(mlp: MLP, layer: int, unit: Any, name: str = "unit") -> int:
    """Return unit ``unit`` of (resolved) ``layer`` as an index.

    ``unit`` is an index in ``[0, units)`` or, for the output layer of a model
    with class names, a class name.
    """
    n_units = mlp.layers[layer].n_out
    if isinstance(unit, str):
        names = mlp.class_names
        if layer != len(mlp.layers) - 1 or names is None:
            where = "the output layer" if names is not None else "a model"
            raise InvalidParameterError(
                f"`{name}` may be a class name only for {where} with `class_names`; "
                f"got {unit!r} for layer {layer}"
            )
        if unit not in names:
            raise InvalidParameterError(
                f"`{name}` must be one of the class names {list(names)}; got {unit!r}"
            )
        return names.index(unit)
    if isinstance(unit, bool) or not isinstance(unit, (int, np.integer)):
        raise InvalidParameterError(
            f"`{name}` must be a unit index (int) or a class name; got {unit!r}"
        )
    if not 0 <= unit < n_units:
        raise InvalidParameterError(
            f"`{name}` must be in [0, {n_units - 1}] (layer {layer} has {n_units} "
            f"units); got {unit}"
        )
    return int(unit)


def resolve_units(
    mlp: MLP,
    layer: int,
    units: Any,
    name: str = "units",
    *,
    keep_order: bool = False,
    allow_empty: bool = True,
) -> np.ndarray:
    """Return ``units`` (an int, a class name or a sequence of them) as indices.

    The indices come sorted and unique, shape ``(m,)``, or, with
    ``keep_order``, in the order given (repeats kept), as figures want them.
    None means every unit of the layer.
    """
    if units is None:
        return np.arange(mlp.layers[layer].n_out)
    if isinstance(units, (str, int, np.integer)) and not isinstance(units, bool):
        return np.array([resolve_unit(mlp, layer, units, name)], dtype=np.intp)
    if isinstance(units, np.ndarray):
        items: Sequence[Any] = units.ravel().tolist()
    elif isinstance(units, Iterable):
        items = list(units)
    else:
        raise InvalidParameterError(
            f"`{name}` must be a unit index or a sequence of them; got {units!r}"
        )
    if not items and not allow_empty:
        raise InvalidParameterError(f"`{name}` must name at least one unit; got none")
    idx = [resolve_unit(mlp, layer, u, f"{name}[{i}]") for i, u in enumerate(items)]
    arr = np.asarray(idx, dtype=np.intp)
    return arr if keep_order else np.unique(arr)


def unit_label(mlp: MLP, layer: int, unit: int) -> str:
    """``"unit 3"``, or ``"unit 3 ('3')"`` for a named output."""
    names = mlp.class_names
    if layer == len(mlp.layers) - 1 and names is not None:
        return f"unit {unit} ({names[unit]!r})"
    return f"unit {unit}"


def class_names_of(mlp: MLP, n: int) -> tuple[str, ...]:
    """The model's class names, or ``"0", "1", ...``."""
    if mlp.class_names is not None and len(mlp.class_names) == n:
        return mlp.class_names
    return tuple(str(i) for i in range(n))


# -- tables -------------------------------------------------------------------


def format_table(
    headers: Sequence[str], rows: Iterable[Sequence[Any]], *, max_rows: int = 40
) -> str:
    """A plain-text table: right-aligned columns, a rule under the header.

    Floats are shown with 4 significant decimals, NaN as ``nan``. At most
    ``max_rows`` rows are shown, then a line saying how many were left out.
    """
    rows = list(rows)
    shown = rows[:max_rows]
    cells = [[_cell(v) for v in row] for row in shown]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = ["  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines.extend(
        "  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) for row in cells
    )
    if len(rows) > len(shown):
        lines.append(f"... ({len(rows) - len(shown)} more rows)")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if isinstance(value, (float, np.floating)):
        return "nan" if np.isnan(value) else f"{value:.4g}"
    return str(value)


def safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` as float64, NaN where ``den == 0`` (and no warning)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def nan_mean(values: np.ndarray) -> float:
    """Mean of the non-NaN values (NaN if there are none), without warnings."""
    values = np.asarray(values, dtype=np.float64)
    ok = values[~np.isnan(values)]
    return float(ok.mean()) if ok.size else float("nan")


def nan_median(values: np.ndarray) -> float:
    """Median of the non-NaN values (NaN if there are none), without warnings."""
    values = np.asarray(values, dtype=np.float64)
    ok = values[~np.isnan(values)]
    return float(np.median(ok)) if ok.size else float("nan")


def frozen(arr: np.ndarray) -> np.ndarray:
    """A read-only view of ``arr`` (results are immutable; the caller's own
    array, if ``arr`` is one, stays writeable)."""
    view = np.asarray(arr).view()
    view.flags.writeable = False
    return view
