"""Private helpers shared by the analysis modules.

- :func:`iter_batches`: walk a data set given as one array or as an iterable of
  batches, with memory bounded by the batch;
- :func:`overflow_error` / :func:`check_finite_values`: the NumericalError,
  naming the layer, for values that overflow although the model and the
  inputs are finite (the analyses compute under ``np.errstate`` and check);
- small numeric helpers and plain-text tables.

Argument checks and unit/class/label resolution live in
:mod:`mlpinspect._validation`; the forward pass in :meth:`mlpinspect.MLP.propagate`.

Data sets
---------
A data set is either

- one array-like ``X`` of shape ``(n, n_inputs)`` or ``(n, *input_shape)``: an
  ndarray, a memory map, a nested list, a DataFrame, a tensor; labels ``y``
  come as a separate array. It is processed ``chunk_size`` rows at a time; or
- any other iterable of batches (a generator, a list of batches, a PyTorch
  ``DataLoader``). The contract for each item is unambiguous:

  - a **tuple** is ``(X_batch, y_batch)`` and must have two elements;
  - a **list of two** whose first element is a 2-D (or higher) array or
    tensor is ``[X_batch, y_batch]``: what a ``DataLoader`` over a
    ``TensorDataset`` yields (a list of one such array is ``[X_batch]``);
  - anything else (an array, a tensor, a nested list of rows) is ``X_batch``.

  A nested list of two *rows* is therefore a batch of two inputs, never a pair.
  ``y`` must then be None.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np

from .._validation import (
    all_finite,
    as_numeric,
    check_chunk_size,
    check_input,
    encode_labels,
)
from ..errors import InvalidParameterError, NumericalError

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "Batches",
    "as_array_or_stream",
    "check_finite_values",
    "format_table",
    "frozen",
    "iter_batches",
    "nan_divide",
    "overflow_error",
    "zero_divide",
]

DEFAULT_CHUNK_SIZE = 1000
"""Rows of data processed at a time by the data-set analyses."""


def as_array_or_stream(
    X: Any, name: str = "X", mlp: Any = None
) -> tuple[Any | None, Any]:
    """``(array_like, None)`` for one array of inputs, ``(None, X)`` for a stream.

    Arrays, DataFrames, tensors and nested lists of numbers are one array; a
    list or tuple whose items are not numbers of one shape (a list of batches,
    of pairs) and any other iterable are a stream. So are a list holding a
    tuple of arrays (an ``(X_batch, y_batch)`` pair) and an empty list (a
    stream of no batches). A list of equally shaped arrays or nested lists
    with three or more dimensions is a list of inputs when each item has the
    model's ``input_shape``, and a list of batches when each item is a batch
    of rows (``(b, n_inputs)`` or ``(b, *input_shape)``; for a list of arrays
    or tensors, whenever its items are not inputs).
    """
    if X is None or isinstance(X, (str, bytes, dict)):
        raise InvalidParameterError(
            f"`{name}` must be an array of inputs or an iterable of batches; got "
            f"{X!r:.60}"
        )
    if isinstance(X, np.ndarray):
        return X, None
    unwrapped, columns = as_numeric(X, name)
    if columns is not None or unwrapped is not X:
        return X, None
    if hasattr(X, "__array__") or hasattr(X, "__array_interface__"):
        return X, None
    if isinstance(X, (list, tuple)):
        if len(X) == 0 or any(_is_pair(item) for item in X):
            return None, X
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError):  # ragged: a list of batches or pairs
            return None, X
        if arr.dtype == object or arr.ndim == 0:
            return None, X
        if arr.ndim >= 3 and _is_list_of_batches(X, arr.shape, mlp):
            return None, X
        return X, None
    if isinstance(X, Iterable):
        return None, X
    raise InvalidParameterError(
        f"`{name}` must be an array of inputs or an iterable of batches; got "
        f"{type(X).__name__}"
    )


def _is_pair(item: Any) -> bool:
    """A tuple holding arrays (not a row of numbers written as a tuple)."""
    return isinstance(item, tuple) and any(np.ndim(part) > 0 for part in item)


def _is_list_of_batches(X: Sequence[Any], shape: tuple[int, ...], mlp: Any) -> bool:
    """Whether a list that converts to an array of ``shape`` (3-D or more)
    holds batches rather than inputs (see :func:`as_array_or_stream`)."""
    if mlp is None:
        return _looks_like_batches(X)
    input_shape = tuple(mlp.input_shape)
    if shape[1:] == input_shape:
        return False  # a list of inputs
    if _looks_like_batches(X):
        return True
    return shape[2:] in ((math.prod(input_shape),), input_shape)


def _looks_like_batches(X: Sequence[Any]) -> bool:
    """A list of arrays (each a 2-D batch) rather than nested lists of numbers."""
    return len(X) > 0 and all(
        isinstance(item, np.ndarray) or hasattr(item, "detach") for item in X
    )


def _split_item(item: Any, name: str, i: int) -> tuple[Any, Any]:
    """``(X_batch, y_batch or None)`` from one stream item (see the module doc)."""
    if isinstance(item, tuple):
        if len(item) != 2:
            raise InvalidParameterError(
                f"`{name}` batch {i} is a tuple of {len(item)} items; a tuple in a "
                f"stream must be an (X_batch, y_batch) pair"
            )
        return item[0], item[1]
    if isinstance(item, list) and len(item) in (1, 2):
        first = item[0]
        is_array = isinstance(first, np.ndarray) or hasattr(first, "detach")
        if is_array and np.ndim(first) >= 2:
            # What a DataLoader yields: [X_batch, y_batch], or [X_batch] over
            # a dataset of inputs alone.
            return first, item[1] if len(item) == 2 else None
    return item, None


def iter_batches(
    mlp: Any,
    X: Any,
    y: Any = None,
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    labels: bool = False,
    name: str = "X",
    y_name: str = "y",
    dtype: Any = None,
) -> Batches:
    """Checked ``(X_batch (b, n_inputs), y_batch or None)`` pairs, one pass.

    With ``labels=True`` labels are required (``y`` for an array ``X``, pairs
    for a stream) and encoded once by
    :func:`mlpinspect._validation.encode_labels` (class indices, or an
    indicator matrix for a multilabel model). Each batch is checked like
    ``X`` itself; errors name the argument and, for a stream, the batch.
    Inputs come in the model's dtype unless ``dtype`` says otherwise.
    ``chunk_size`` is checked now, the data as it is read. The returned
    :class:`Batches` knows the inputs' feature names once it has been read.
    """
    chunk_size = check_chunk_size(chunk_size)
    return Batches(mlp, X, y, chunk_size, labels, name, y_name, dtype)


class Batches:
    """The iterable :func:`iter_batches` returns (read it once).

    Attributes
    ----------
    feature_names : tuple of str or None
        The inputs' feature names, known once the first batch has been read:
        a DataFrame's columns or the model's ``feature_names``. Every batch
        of a stream must carry the same column names (or none).
    """

    def __init__(
        self,
        mlp: Any,
        X: Any,
        y: Any,
        chunk_size: int,
        labels: bool,
        name: str,
        y_name: str,
        dtype: Any,
    ) -> None:
        self._args = (mlp, X, y, chunk_size, labels, name, y_name, dtype)
        self.feature_names: tuple[str, ...] | None = None

    def __iter__(self) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        mlp, X, y, _, labels, name, y_name, dtype = self._args
        arr, stream = as_array_or_stream(X, name, mlp)
        if arr is not None:
            yield from self._array(arr)
            return
        if y is not None:
            raise InvalidParameterError(
                f"`{y_name}` must be None when `{name}` is an iterable of batches "
                f"(give (X_batch, y_batch) tuples instead); got {type(y).__name__}"
            )
        seen = 0
        for i, item in enumerate(stream):
            xb, yb = _split_item(item, name, i)
            if labels and yb is None:
                raise InvalidParameterError(
                    f"`{name}` batch {i} must be an (X_batch, y_batch) tuple because "
                    f"labels are needed; got {type(item).__name__}"
                )
            where = f"{name} (batch {i})"
            inputs = check_input(mlp, xb, where, dtype=dtype, allow_empty=True)
            self._note_names(inputs.feature_names, where)
            if inputs.values.shape[0] == 0:  # an empty batch adds nothing
                continue
            if labels:
                if np.ndim(yb) == 0:  # one input, one label
                    yb = np.reshape(yb, 1)
                yb = encode_labels(
                    mlp, yb, f"{y_name} (batch {i})", n_samples=inputs.values.shape[0]
                )
            else:
                yb = None
            seen += inputs.values.shape[0]
            yield inputs.values, yb
        if seen == 0:
            raise InvalidParameterError(f"`{name}` must not be empty; got no samples")

    def _note_names(self, names: tuple[str, ...] | None, where: str) -> None:
        if names is None:
            return
        if self.feature_names is None:
            self.feature_names = names
        elif names != self.feature_names:
            raise InvalidParameterError(
                f"`{where}` has columns {_show_names(names)}, unlike the batches "
                f"before it ({_show_names(self.feature_names)}); every batch must "
                f"have the same columns"
            )

    def _array(self, arr: Any) -> Iterator[tuple[np.ndarray, np.ndarray | None]]:
        mlp, _, y, chunk_size, labels, name, y_name, dtype = self._args
        inputs = check_input(mlp, arr, name, dtype=dtype)
        self.feature_names = inputs.feature_names
        values = inputs.values
        n = values.shape[0]
        y_all = None
        if labels:
            if y is None:
                raise InvalidParameterError(
                    f"`{y_name}` (labels for `{name}`) is required"
                )
            y_all = encode_labels(mlp, y, y_name, n_samples=n)
        for start in range(0, n, chunk_size):
            yb = None if y_all is None else y_all[start : start + chunk_size]
            yield values[start : start + chunk_size], yb


def _show_names(names: tuple[str, ...], limit: int = 4) -> str:
    shown = ", ".join(repr(v) for v in names[:limit])
    return f"({shown}{', ...' if len(names) > limit else ''})"


# -- overflow -------------------------------------------------------------------


def overflow_error(mlp: Any, layer: int, what: str) -> NumericalError:
    """The error for values that left the floating-point range at ``layer``.

    ``what`` says which values, e.g. ``"the contributions to its units"``.
    """
    where = mlp._where(layer) if hasattr(mlp, "_where") else f"layer {layer}"
    return NumericalError(
        f"{where} overflowed: {what} hold infinite or NaN values although the "
        f"model's weights and inputs are finite (they are too large for "
        f"floating-point arithmetic). Rescale the inputs or the weights"
    )


def check_finite_values(values: np.ndarray, mlp: Any, layer: int, what: str) -> None:
    """Raise :func:`overflow_error` unless every value is finite."""
    if not all_finite(np.asarray(values)):
        raise overflow_error(mlp, layer, what)


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


# -- numbers --------------------------------------------------------------------


def nan_divide(num: Any, den: Any) -> np.ndarray:
    """``num / den`` as float64, NaN where ``den == 0`` (an undefined ratio,
    such as the mean over no examples), without a warning."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    out = np.full(np.broadcast_shapes(num.shape, den.shape), np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def zero_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, 0 where ``den == 0`` (a share of nothing passes nothing on,
    as LRP wants), without a warning."""
    return np.divide(num, den, out=np.zeros_like(num), where=den != 0)


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


def frozen(arr: Any) -> np.ndarray:
    """A read-only view of ``arr`` (results are immutable; the caller's own
    array, if ``arr`` is one, stays writeable)."""
    view = np.asarray(arr).view()
    view.flags.writeable = False
    return view


def class_names_of(mlp: Any) -> tuple[str, ...]:
    """Display names of the model's classes (``"0", "1", ...`` by default)."""
    return tuple(str(v) for v in mlp.classes.tolist())
