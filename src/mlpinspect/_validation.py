"""Argument checking, in one place.

Every public function validates its inputs with these helpers, so every error
reads the same way: it names the argument, says what was expected and what
came. Messages have the form ``"`X` must have 784 features (the model's input
size); got 783"``.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import operator
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from .errors import InvalidParameterError

__all__ = [
    "Inputs",
    "as_numeric",
    "check_array",
    "check_bool",
    "check_choice",
    "check_chunk_size",
    "check_float",
    "check_float_dtype",
    "check_input",
    "check_int",
    "check_memory",
    "check_rng",
    "encode_labels",
    "resolve_class",
    "resolve_layer",
    "resolve_target",
    "resolve_unit",
    "resolve_units",
]


def _describe(value: Any) -> str:
    """A short description of what came, for error messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def is_integer(value: Any) -> bool:
    """Whether ``value`` is an integer count or index: a Python or numpy
    integer, not a bool and not a numpy duration or date (numpy's timedelta64
    registers as :class:`numbers.Integral`)."""
    return isinstance(value, numbers.Integral) and not isinstance(
        value, (bool, np.bool_, np.timedelta64, np.datetime64)
    )


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Return ``value`` as an ``int`` after checking its type and range."""
    if not is_integer(value):
        raise InvalidParameterError(
            f"`{name}` must be an integer; got {_describe(value)}"
        )
    value = operator.index(value)
    if minimum is not None and value < minimum:
        raise InvalidParameterError(f"`{name}` must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise InvalidParameterError(f"`{name}` must be <= {maximum}; got {value}")
    return value


def check_float(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    strict_minimum: bool = False,
) -> float:
    """Return ``value`` as a finite ``float`` after checking its range."""
    if isinstance(value, (bool, np.timedelta64, np.datetime64)) or not isinstance(
        value, numbers.Real
    ):
        raise InvalidParameterError(
            f"`{name}` must be a real number; got {_describe(value)}"
        )
    value = float(value)
    if not np.isfinite(value):
        raise InvalidParameterError(f"`{name}` must be finite; got {value}")
    if minimum is not None:
        if strict_minimum and value <= minimum:
            raise InvalidParameterError(f"`{name}` must be > {minimum}; got {value}")
        if not strict_minimum and value < minimum:
            raise InvalidParameterError(f"`{name}` must be >= {minimum}; got {value}")
    if maximum is not None and value > maximum:
        raise InvalidParameterError(f"`{name}` must be <= {maximum}; got {value}")
    return value


def check_bool(value: Any, name: str) -> bool:
    """A flag: ``True`` or ``False`` (numpy booleans too), nothing truthy."""
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(
            f"`{name}` must be True or False; got {_describe(value)}"
        )
    return bool(value)


def is_sequence(value: Any) -> bool:
    """Whether ``value`` can be iterated as a collection of items: not a
    string or bytes, not a 0-d array (which has ``__iter__`` but cannot be
    iterated)."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        return False
    return getattr(value, "ndim", 1) != 0


def check_float_dtype(dtype: Any, name: str = "dtype") -> np.dtype:
    """``dtype`` as ``float32`` or ``float64`` (any spelling numpy reads).

    ``None`` is refused although ``np.dtype(None)`` is float64: a forgotten
    argument should not pass as a choice.
    """
    value = None
    if dtype is not None and not isinstance(dtype, (bool, np.bool_)):
        try:
            value = np.dtype(dtype)
        except Exception:  # numpy raises TypeError, ValueError, SyntaxError...
            value = None
    if value is None or not any(value == np.dtype(t) for t in ("f4", "f8")):
        raise InvalidParameterError(
            f"`{name}` must be float32 or float64; got {_describe(dtype)}"
        )
    return np.dtype(value.name)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """Check that ``value`` is one of the strings in ``choices``."""
    choices = list(choices)
    if not isinstance(value, str) or value not in choices:
        known = ", ".join(repr(c) for c in choices)
        raise InvalidParameterError(
            f"`{name}` must be one of {known}; got {_describe(value)}"
        )
    return value


def all_finite(arr: np.ndarray) -> bool:
    """True when every element of the float array ``arr`` is finite.

    A finite sum proves every element finite (NaN and inf propagate) and costs
    one read of the data with no temporary; only a non-finite sum (or an
    overflow of huge values) needs the element-wise check.
    """
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(arr.sum()):
            return True
    return bool(np.isfinite(arr).all())


def check_array(
    X: Any,
    name: str = "X",
    *,
    ndim: int | Sequence[int] = 2,
    n_features: int | None = None,
    dtype: Any = np.float64,
    what_features: str = "the model's input size",
    allow_empty: bool = False,
) -> np.ndarray:
    """Convert ``X`` to a finite floating array and check its shape.

    Parameters
    ----------
    X : array_like
        The argument to check.
    name : str
        Its name, used in error messages.
    ndim : int or sequence of int
        The accepted numbers of dimensions.
    n_features : int, optional
        The required size of the last axis.
    dtype : dtype
        The floating dtype to convert to; ``None`` keeps a floating input's
        own dtype (float32 stays float32) and converts others to float64.
    what_features : str
        Explains where ``n_features`` comes from, for the error message.
    allow_empty : bool
        Whether zero samples are accepted.

    Returns
    -------
    numpy.ndarray
        ``X`` as an array (no copy when it already has the right dtype).
    """
    if isinstance(X, (str, bytes)) or X is None:
        raise InvalidParameterError(
            f"`{name}` must be an array of numbers; got {_describe(X)}"
        )
    try:
        arr = np.asarray(X)
    except (TypeError, ValueError) as exc:  # ragged nested lists and the like
        raise InvalidParameterError(
            f"`{name}` must be an array of numbers; could not convert it: {exc}"
        ) from None
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or arr.dtype == bool
    ):
        raise InvalidParameterError(
            f"`{name}` must be an array of numbers; got {_describe(arr)}"
        )
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise InvalidParameterError(
            f"`{name}` must hold real numbers; got dtype {arr.dtype}"
        )
    if dtype is None:
        target = arr.dtype if arr.dtype in (np.float32, np.float64) else np.float64
    else:
        target = np.dtype(dtype)
    arr = np.asarray(arr, dtype=target)
    allowed = (ndim,) if isinstance(ndim, int) else tuple(ndim)
    if arr.ndim not in allowed:
        dims = " or ".join(f"{d}-D" for d in allowed)
        raise InvalidParameterError(
            f"`{name}` must be a {dims} array; got shape {arr.shape}"
        )
    if n_features is not None and (arr.ndim == 0 or arr.shape[-1] != n_features):
        got = arr.shape[-1] if arr.ndim else "a scalar"
        raise InvalidParameterError(
            f"`{name}` must have {n_features} features ({what_features}); "
            f"got {got} (shape {arr.shape})"
        )
    if not allow_empty and arr.ndim >= 1 and arr.shape[0] == 0:
        raise InvalidParameterError(
            f"`{name}` must not be empty; got shape {arr.shape}"
        )
    if not all_finite(arr):
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(np.isinf(arr).sum())
        raise InvalidParameterError(
            f"`{name}` must contain only finite numbers; got {n_nan} NaN and "
            f"{n_inf} infinite value(s)"
        )
    return arr


def check_rng(seed: Any, name: str = "seed") -> np.random.Generator:
    """Turn ``seed`` (None, an int, a SeedSequence or a Generator) into a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, numbers.Integral) and not isinstance(seed, bool):
        if seed < 0:
            raise InvalidParameterError(f"`{name}` must be >= 0; got {seed}")
        return np.random.default_rng(int(seed))
    raise InvalidParameterError(
        f"`{name}` must be None, a non-negative integer or a numpy Generator; "
        f"got {_describe(seed)}"
    )


def check_chunk_size(value: Any, name: str = "chunk_size") -> int:
    """Rows processed at once: a positive integer."""
    return check_int(value, name, minimum=1)


# -- inputs ---------------------------------------------------------------------


class Inputs(NamedTuple):
    """Inputs checked against a model: what :func:`check_input` returns."""

    values: np.ndarray
    """``(n, n_inputs)``, flattened, in the requested dtype."""
    shape: tuple[int, ...]
    """The shape the inputs came in, e.g. ``(n, 28, 28)``."""
    feature_names: tuple[str, ...] | None
    """The inputs' feature names: the DataFrame's columns or the model's own."""


def _is_tensor(X: Any) -> bool:
    module = type(X).__module__ or ""
    return module.startswith("torch") and hasattr(X, "detach")


def as_numeric(X: Any, name: str = "X") -> tuple[Any, tuple[str, ...] | None]:
    """Unwrap a pandas DataFrame or a framework tensor into something numpy reads.

    Returns ``(data, column_names)``; ``column_names`` is None unless ``X`` is
    a DataFrame. pandas is never imported: a DataFrame is recognised by its
    ``columns`` and ``to_numpy``. A PyTorch tensor is detached (a tensor that
    requires grad converts too) and moved to the CPU; one on the ``meta``
    device has no values and is refused.
    """
    columns = getattr(X, "columns", None)
    if columns is not None and callable(getattr(X, "to_numpy", None)):
        try:
            names = tuple(str(c) for c in columns)
        except TypeError:  # pragma: no cover - exotic column objects
            names = None
        return X.to_numpy(), names
    if _is_tensor(X):
        if getattr(X, "is_meta", False):
            raise InvalidParameterError(
                f"`{name}` is a tensor on the 'meta' device, which holds no values; "
                f"move it to the CPU with real data first"
            )
        X = X.detach()
        if str(getattr(X, "dtype", "")) in ("torch.float16", "torch.bfloat16"):
            X = X.float()
        return X.cpu().numpy(), None
    return X, None


def _layout_error(
    name: str, shape: tuple[int, ...], n_inputs: int, input_shape: tuple[int, ...]
) -> InvalidParameterError:
    expected = f"(n, {n_inputs})"
    if len(input_shape) > 1:
        expected += f" or (n, {', '.join(map(str, input_shape))})"
    hint = ""
    per_row = shape[1:] if len(shape) > 1 else shape
    if len(shape) > 2 and math.prod(per_row) == n_inputs:
        hint = (
            f"; each row holds {n_inputs} values, so if a row of shape {per_row} is "
            f"one input, say so: adapt(model, input_shape={per_row})"
        )
    return InvalidParameterError(
        f"`{name}` must have shape {expected} (the model's input size is "
        f"{n_inputs}); got shape {shape}{hint}"
    )


def check_input(
    model: Any,
    X: Any,
    name: str = "X",
    *,
    dtype: Any = None,
    allow_empty: bool = False,
) -> Inputs:
    """Check inputs against a model and flatten them to ``(n, n_inputs)``.

    Accepted layouts are ``(n, n_inputs)``, ``(n, *input_shape)`` and, for a
    single input, ``(n_inputs,)``. A pandas DataFrame brings its column names,
    which must match the model's ``feature_names`` when it has them. Values
    must be finite real numbers.

    Parameters
    ----------
    model : MLP or Network
        Anything with ``n_inputs`` (or ``sizes``), ``input_shape``,
        ``feature_names`` and ``dtype``.
    X : array_like, DataFrame or tensor
        The inputs.
    name : str
        The argument's name, for messages.
    dtype : dtype, optional
        The dtype to return; default the model's.
    allow_empty : bool
        Whether zero rows are accepted.

    Returns
    -------
    Inputs
    """
    X, columns = as_numeric(X, name)
    input_shape = tuple(model.input_shape)
    n_inputs = math.prod(input_shape)
    target = np.dtype(model.dtype if dtype is None else dtype)
    arr = check_array(
        X,
        name,
        ndim=tuple(range(1, 9)),
        dtype=target,
        allow_empty=True,
    )
    original = arr.shape
    if arr.ndim == 1 and arr.shape[0] == n_inputs:
        arr = arr.reshape(1, n_inputs)
    elif arr.ndim == 2 and arr.shape[1] == n_inputs:
        pass
    elif arr.ndim == 1 + len(input_shape) and arr.shape[1:] == input_shape:
        arr = arr.reshape(arr.shape[0], n_inputs)
    else:
        raise _layout_error(name, original, n_inputs, input_shape)
    if not allow_empty and arr.shape[0] == 0:
        raise InvalidParameterError(
            f"`{name}` must hold at least one input; got shape {original}"
        )
    names = getattr(model, "feature_names", None)
    if columns is not None:
        if len(columns) != n_inputs:  # pragma: no cover - caught by the layout
            raise _layout_error(name, original, n_inputs, input_shape)
        if names is not None and tuple(names) != columns:
            differ = [
                f"{i}: {a!r} != {b!r}"
                for i, (a, b) in enumerate(zip(columns, names))
                if a != b
            ][:3]
            raise InvalidParameterError(
                f"`{name}` has columns that differ from the model's feature names "
                f"(in order): {'; '.join(differ)}; reorder or rename the columns"
            )
        names = columns
    return Inputs(arr, original, None if names is None else tuple(names))


# -- labels -------------------------------------------------------------------------


def _label_tables(model: Any) -> tuple[dict[Any, int], dict[str, int], str]:
    """``(label -> class index, str(label) -> class index, kind)`` of a model.

    ``kind`` is ``"str"``, ``"int"``, ``"bool"`` or ``"other"``: the kind of
    the model's labels.
    """
    cached = getattr(model, "_label_cache", None)
    if cached is not None:
        return cached
    labels = list(model.classes.tolist())
    by_value = {label: i for i, label in enumerate(labels)}
    by_text = {str(label): i for i, label in enumerate(labels)}
    if all(isinstance(v, (bool, np.bool_)) for v in labels):
        kind = "bool"
    elif all(isinstance(v, numbers.Integral) for v in labels):
        kind = "int"
    elif all(isinstance(v, str) for v in labels):
        kind = "str"
    else:
        kind = "other"
    tables = (by_value, by_text, kind)
    with contextlib.suppress(AttributeError):  # a model that keeps no cache
        model._label_cache = tables
    return tables


def _show(values: Sequence[Any], limit: int = 5) -> str:
    shown = ", ".join(repr(v) for v in values[:limit])
    more = f" and {len(values) - limit} more" if len(values) > limit else ""
    return f"[{shown}]{more}"


def _map_values(
    model: Any, values: np.ndarray, name: str, *, by_text: bool
) -> np.ndarray:
    """Class indices of ``values`` (1-D), matched by label value or by text."""
    by_value, text_table, _ = _label_tables(model)
    table = text_table if by_text else by_value
    uniq, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    keys = [str(v) for v in uniq.tolist()] if by_text else uniq.tolist()
    mapped = np.empty(len(keys), dtype=np.int64)
    unknown, rows = [], []
    for i, key in enumerate(keys):
        index = table.get(key)
        if index is None:
            unknown.append(key)
            rows.append(int(first[i]))
        else:
            mapped[i] = index
    if unknown:
        raise InvalidParameterError(
            f"`{name}` holds labels the model does not know: {_show(unknown)} (the "
            f"first at row {min(rows)}); its classes are "
            f"{_show(model.classes.tolist(), 12)}"
        )
    return mapped[inverse.reshape(-1)]


def _positions(model: Any, values: np.ndarray, name: str) -> np.ndarray:
    """Integer labels read as class positions ``0 .. n_classes - 1``."""
    k = model.n_classes
    bad = (values < 0) | (values >= k) if values.size else np.zeros(0, bool)
    if bad.any():
        row = int(np.argmax(bad))
        raise InvalidParameterError(
            f"`{name}` must hold class labels {_show(model.classes.tolist(), 12)} "
            f"or class positions in [0, {k - 1}]; got values in [{values.min()}, "
            f"{values.max()}] (the first bad one, {values[row]}, at row {row})"
        )
    return values.astype(np.int64)


def encode_labels(
    model: Any, y: Any, name: str = "y", *, n_samples: int | None = None
) -> np.ndarray:
    """Map labels ``y`` to class indices, in one place for the whole library.

    Parameters
    ----------
    model : MLP or Network
        Gives the classes and the task.
    y : array_like
        Labels of any kind the model's classes hold (strings, integers,
        booleans), shape ``(n,)``; or one-hot rows ``(n, n_classes)``. For a
        multilabel model, an indicator matrix ``(n, n_outputs)`` of 0 and 1.
        Integer labels for a model whose classes are strings are read as class
        positions.
    name : str
        The argument's name, for messages.
    n_samples : int, optional
        The number of labels required.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` int64 class indices (``0`` is the negative class of a binary
        model, ``1`` the positive one), or for a multilabel model an
        ``(n, n_outputs)`` int8 indicator matrix.
    """
    task = model.task
    if task == "regression":
        raise InvalidParameterError(
            f"`{name}` must be class labels, but the model is a regressor (task "
            f"'regression'), which has none"
        )
    y, _ = as_numeric(y, name)
    if y is None or isinstance(y, (str, bytes)):
        raise InvalidParameterError(
            f"`{name}` must be an array of class labels; got {_describe(y)}"
        )
    try:
        arr = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"`{name}` must be an array of class labels; could not convert it: {exc}"
        ) from None
    if arr.dtype.kind in "mMcV":
        raise InvalidParameterError(
            f"`{name}` must hold class labels (strings, integers or booleans); got "
            f"dtype {arr.dtype}"
        )
    if task == "multilabel":
        indices = _indicator(model, arr, name)
    elif arr.ndim == 2:
        indices = _one_hot(model, arr, name)
    elif arr.ndim == 1:
        indices = _match_labels(model, arr, name)
    else:
        raise InvalidParameterError(
            f"`{name}` must be labels of shape (n,) or one-hot rows of shape (n, "
            f"{model.n_classes}); got shape {arr.shape}"
        )
    if n_samples is not None and indices.shape[0] != n_samples:
        raise InvalidParameterError(
            f"`{name}` must have one label per sample ({n_samples}); got "
            f"{indices.shape[0]}"
        )
    return indices


def _indicator(model: Any, arr: np.ndarray, name: str) -> np.ndarray:
    k = model.n_outputs
    if arr.ndim != 2 or arr.shape[1] != k:
        raise InvalidParameterError(
            f"`{name}` must be an indicator matrix of shape (n, {k}) for this "
            f"multilabel model (one column per label); got shape {arr.shape}"
        )
    if arr.dtype.kind not in "biuf" or not np.isin(arr, (0, 1)).all():
        raise InvalidParameterError(
            f"`{name}` must hold only 0 and 1 (or booleans) for a multilabel model"
        )
    return arr.astype(np.int8)


def _one_hot(model: Any, arr: np.ndarray, name: str) -> np.ndarray:
    k = model.n_classes
    if arr.shape[1] != k:
        raise InvalidParameterError(
            f"`{name}` given as one-hot rows must have {k} columns (the number of "
            f"classes); got shape {arr.shape}"
        )
    if arr.dtype.kind not in "biuf" or not (
        np.isin(arr, (0, 1)).all() and (arr.sum(axis=1) == 1).all()
    ):
        raise InvalidParameterError(
            f"`{name}` given as a 2-D array must be one-hot (a single 1 per row, "
            f"zeros elsewhere)"
        )
    return arr.argmax(axis=1).astype(np.int64)


def _match_labels(model: Any, arr: np.ndarray, name: str) -> np.ndarray:
    _, _, kind = _label_tables(model)
    if arr.size == 0:
        return np.zeros(0, dtype=np.int64)
    if arr.dtype.kind == "f":
        if not (np.isfinite(arr).all() and (arr == np.round(arr)).all()):
            raise InvalidParameterError(
                f"`{name}` must hold class labels; got non-integer numbers "
                f"(dtype {arr.dtype})"
            )
        if np.abs(arr).max() >= 2**62:
            raise InvalidParameterError(
                f"`{name}` holds numbers too large to be class labels "
                f"(largest {np.abs(arr).max():.3g})"
            )
        arr = arr.astype(np.int64)
    if arr.dtype.kind in "iub":
        if kind == "str":
            return _positions(model, arr.astype(np.int64) if arr.dtype.kind == "b"
                              else arr, name)  # fmt: skip
        return _map_values(model, arr, name, by_text=False)
    if arr.dtype.kind in "US":
        return _map_values(model, arr, name, by_text=True)
    if arr.dtype.kind == "O":
        items = arr.tolist()
        if all(isinstance(v, str) for v in items):
            return _map_values(model, arr.astype(str), name, by_text=True)
        if all(isinstance(v, (numbers.Integral, np.bool_)) for v in items):
            return _match_labels(model, np.asarray(items, dtype=np.int64), name)
        kinds = sorted({type(v).__name__ for v in items})
        raise InvalidParameterError(
            f"`{name}` must hold class labels of one kind (strings, integers or "
            f"booleans); got {', '.join(kinds)}"
        )
    raise InvalidParameterError(  # pragma: no cover - every kind is handled above
        f"`{name}` must hold class labels; got dtype {arr.dtype}"
    )


# -- layers, units, classes and targets ------------------------------------------------


def resolve_layer(model: Any, layer: Any, name: str = "layer") -> int:
    """A layer index, ``-1`` the output layer, as a non-negative int."""
    n = len(model.layers)
    if isinstance(layer, (bool, np.bool_)) or not isinstance(layer, numbers.Integral):
        raise InvalidParameterError(
            f"`{name}` must be an integer layer index; got {_describe(layer)}"
        )
    if not -n <= layer < n:
        raise InvalidParameterError(
            f"`{name}` must be in [{-n}, {n - 1}] (the model has {n} weight "
            f"layers); got {layer}"
        )
    return int(layer) % n


def _class_unit(model: Any, class_index: int) -> tuple[int, float]:
    """``(output unit, sign)`` of class ``class_index``."""
    if model.task == "binary":
        return 0, (1.0 if class_index == 1 else -1.0)
    return class_index, 1.0


def resolve_class(model: Any, value: Any, name: str = "target") -> tuple[int, float]:
    """An output unit and a sign for a class label or an output position.

    A string is a class label (matched against ``str(label)``); a boolean a
    label of a model with boolean classes; an integer an output position,
    unless the model has integer labels that are not their own positions and
    the integer is a label: then an integer that is also a valid position is
    ambiguous and refused. The negative class of a binary model is the one
    output unit with sign ``-1`` (its logit is the negative of the positive
    class's).

    Returns
    -------
    (int, float)
        The output unit and ``+1.0`` or ``-1.0``.
    """
    by_value, by_text, kind = _label_tables(model)
    n_out = model.n_outputs
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, str):
        index = by_text.get(value)
        if index is None:
            raise InvalidParameterError(
                f"`{name}` must be one of the class labels "
                f"{_show(model.classes.tolist(), 12)}; got {value!r}"
            )
        return _class_unit(model, index)
    if isinstance(value, bool):
        if kind != "bool":
            raise InvalidParameterError(
                f"`{name}` must be an output position (int) or a class label; got "
                f"{value!r}, but the model's classes are not booleans"
            )
        return _class_unit(model, by_value[value])
    if not isinstance(value, numbers.Integral):
        raise InvalidParameterError(
            f"`{name}` must be an output position (int) or a class label (str); got "
            f"{_describe(value)}"
        )
    position = int(value)
    as_label = None
    explicit = getattr(model, "class_names", None) is not None
    if explicit and kind == "int" and position in by_value:
        as_label = _class_unit(model, by_value[position])
    if 0 <= position < n_out:
        if as_label is not None and as_label != (position, 1.0):
            raise InvalidParameterError(
                f"`{name}`={position} is ambiguous: the model's labels are integers "
                f"{_show(model.classes.tolist(), 12)}, so it could be output "
                f"position {position} or the label {position}; pass the label as a "
                f"string ({name}='{position}') to mean the label"
            )
        return position, 1.0
    if as_label is not None:
        return as_label
    labels = (
        f" or a class label {_show(model.classes.tolist(), 12)}" if explicit else ""
    )
    raise InvalidParameterError(
        f"`{name}` must be an output position in [0, {n_out - 1}]{labels}; got "
        f"{position}"
    )


def resolve_unit(model: Any, layer: int, unit: Any, name: str = "unit") -> int:
    """A unit of (resolved) ``layer``: a position, or a class label on the output
    layer. The negative class of a binary model has no unit of its own and is
    refused with the way to get it."""
    last = len(model.layers) - 1
    if layer == last:
        index, sign = resolve_class(model, unit, name)
        if sign < 0:
            raise InvalidParameterError(
                f"`{name}`={unit!r} is the negative class of a binary model: it has "
                f"no output unit of its own (its logit is minus the positive class's "
                f"logit, unit 0); use unit 0 and read its values with the sign "
                f"flipped"
            )
        return index
    n_units = model.layers[layer].n_out
    if isinstance(unit, np.generic):
        unit = unit.item()
    if isinstance(unit, str):
        raise InvalidParameterError(
            f"`{name}` may be a class label only on the output layer ({last}); got "
            f"{unit!r} for layer {layer}"
        )
    if isinstance(unit, bool) or not isinstance(unit, numbers.Integral):
        raise InvalidParameterError(
            f"`{name}` must be a unit index (int); got {_describe(unit)}"
        )
    if not 0 <= unit < n_units:
        raise InvalidParameterError(
            f"`{name}` must be in [0, {n_units - 1}] (layer {layer} has {n_units} "
            f"units); got {unit}"
        )
    return int(unit)


def resolve_units(
    model: Any,
    layer: int,
    units: Any,
    name: str = "units",
    *,
    keep_order: bool = False,
    allow_empty: bool = True,
) -> np.ndarray:
    """``units`` (one unit or a sequence; None for all) as an index array.

    Sorted and unique, or with ``keep_order`` in the order given.
    """
    if units is None:
        return np.arange(model.layers[layer].n_out)
    if isinstance(units, np.ndarray) and units.ndim == 0:
        units = units.item()
    if isinstance(units, (str, numbers.Integral)):
        return np.array([resolve_unit(model, layer, units, name)], dtype=np.intp)
    if isinstance(units, np.ndarray):
        items: list[Any] = units.ravel().tolist()
    elif isinstance(units, Iterable) and not isinstance(units, (bytes, Mapping)):
        items = list(units)
    else:
        raise InvalidParameterError(
            f"`{name}` must be a unit index or a sequence of them; got "
            f"{_describe(units)}"
        )
    if not items and not allow_empty:
        raise InvalidParameterError(f"`{name}` must name at least one unit; got none")
    idx = [resolve_unit(model, layer, u, f"{name}[{i}]") for i, u in enumerate(items)]
    arr = np.asarray(idx, dtype=np.intp)
    return arr if keep_order else np.unique(arr)


def _per_row_targets(
    model: Any, arr: np.ndarray, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """Units and signs of one target per row.

    A classifier's rows name classes the way :meth:`~mlpinspect.MLP.predict`
    returns them (labels; positions for string labels), so
    ``attribute(m, X, m.predict(X))`` explains each row's prediction; other
    models' rows are output positions. A bad entry is named by its row.
    """
    if model.task in ("multiclass", "binary") and model.n_classes:
        classes = encode_labels(model, arr, name)
        if model.task == "binary":
            return np.zeros(arr.shape[0], dtype=np.int64), np.where(
                classes == 1, 1.0, -1.0
            )
        return classes, np.ones(arr.shape[0])
    uniq, first, inverse = np.unique(arr, return_index=True, return_inverse=True)
    resolved = [
        resolve_class(model, v, f"{name}[{first[i]}]") for i, v in enumerate(uniq)
    ]
    units = np.array([u for u, _ in resolved], dtype=np.int64)[inverse.reshape(-1)]
    signs = np.array([s for _, s in resolved])[inverse.reshape(-1)]
    return units, signs


def resolve_target(
    model: Any, target: Any, n: int, name: str = "target"
) -> tuple[np.ndarray, np.ndarray]:
    """The attributed output as weights over the output units.

    ``target`` is None (a model with one output unit, e.g. a binary one), an
    output position or class label for every row (see :func:`resolve_class`),
    one per row (shape ``(n,)``: a classifier's labels as ``predict`` returns
    them, or output positions), or float weights over the outputs (shape
    ``(n_outputs,)`` or ``(n, n_outputs)``): a direction ``sum_k w_k f_k``.

    Returns
    -------
    weights : numpy.ndarray, shape (n, n_outputs), float64
    stored : numpy.ndarray
        ``(n,)`` int64 units when every sign is positive, else the weights.
    """
    k = model.n_outputs
    if target is None:
        if k != 1:
            raise InvalidParameterError(
                f"`{name}` is required for a model with {k} outputs: an output "
                f"position, a class label, one per row or weights of shape ({k},)"
            )
        target = 0
    if isinstance(target, np.ndarray) and target.ndim == 0:
        target = target.item()
    if isinstance(target, (str, numbers.Integral, bool)):
        unit, sign = resolve_class(model, target, name)
        units = np.full(n, unit, dtype=np.int64)
        signs = np.full(n, sign)
    else:
        target, _ = as_numeric(target, name)
        try:
            arr = np.asarray(target)
        except (TypeError, ValueError) as exc:
            raise InvalidParameterError(
                f"`{name}` could not be converted to an array: {exc}"
            ) from None
        if arr.dtype.kind == "f":
            weights = check_array(arr, name, ndim=(1, 2))
            if weights.shape == (k,):
                weights = np.broadcast_to(weights, (n, k))
            elif weights.shape != (n, k):
                raise InvalidParameterError(
                    f"`{name}` given as floats is read as weights over the outputs "
                    f"and must have shape ({k},) or ({n}, {k}); got shape "
                    f"{weights.shape} (pass output positions as integers)"
                )
            weights = np.array(weights, dtype=np.float64)
            return weights, weights
        if arr.dtype.kind not in "iubUSO" or arr.ndim != 1 or arr.shape[0] != n:
            raise InvalidParameterError(
                f"`{name}` must be an output position or class label, one per row "
                f"(shape ({n},)), or float weights over the {k} outputs; got "
                f"{_describe(arr)}"
            )
        units, signs = _per_row_targets(model, arr, name)
    weights = np.zeros((n, k))
    weights[np.arange(n), units] = signs
    if (signs > 0).all():
        return weights, units
    return weights, weights


class LabelSpace:
    """The classes ``0 .. n_classes - 1`` of a multiclass model, for checking
    labels before a model exists (e.g. a sweep's training data)."""

    task = "multiclass"
    class_names = None

    def __init__(self, n_classes: int) -> None:
        self.n_classes = self.n_outputs = int(n_classes)
        self.classes = np.arange(self.n_classes)


# -- memory -------------------------------------------------------------------------


def _physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        return None


def _address_space_left() -> int | None:
    """Bytes left under an address-space limit (``ulimit -v``), if one is set."""
    try:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_AS)
        if soft == resource.RLIM_INFINITY:
            return None
        with open("/proc/self/statm") as fh:
            used = int(fh.read().split()[0]) * resource.getpagesize()
        return max(soft - used, 0)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not Linux
        return None


def _cgroup_memory() -> int | None:
    """The memory limit of this process's control group (containers), if any."""
    try:
        with open("/sys/fs/cgroup/memory.max") as fh:
            text = fh.read().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def available_memory() -> int:
    """Bytes a single allocation could ever get: the machine's memory, or less
    under a container's limit or an address-space limit."""
    known = [
        m for m in (_physical_memory(), _cgroup_memory(), _address_space_left())
        if m is not None
    ]  # fmt: skip
    return min(known) if known else 2**63


def format_bytes(n: float) -> str:
    """``1.5 GB``: bytes for people (powers of 1000)."""
    for unit in ("B", "KB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1000 or unit == "EB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} EB"  # pragma: no cover


def check_memory(nbytes: float, name: str, value: Any, what: str) -> None:
    """Refuse, before allocating, an argument whose result cannot fit in memory.

    ``nbytes`` is what the call would need for ``what`` (e.g. "its trace of
    (1, n_steps + 1) float64 values"); the message names the argument
    ``name`` and its ``value``. A request beyond the machine's memory would
    end in a ``MemoryError`` (or in swapping for hours): saying so up front
    is kinder.
    """
    available = available_memory()
    if nbytes > available:
        raise InvalidParameterError(
            f"`{name}`={value!r:.30} would need {format_bytes(nbytes)} of memory "
            f"for {what}; this machine has {format_bytes(available)} of memory"
        )
