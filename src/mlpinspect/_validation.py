"""Argument checking, in one place.

Every public function validates its inputs with these helpers, so every error
reads the same way: it names the argument, says what was expected and what
came. Messages have the form ``"`X` must have 784 features (the model's input
size); got 783"``.
"""

from __future__ import annotations

import numbers
import operator
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from .errors import InvalidParameterError

__all__ = [
    "check_array",
    "check_choice",
    "check_float",
    "check_int",
    "check_labels",
    "check_rng",
]


def _describe(value: Any) -> str:
    """A short description of what came, for error messages."""
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{text} ({type(value).__name__})"


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
) -> int:
    """Return ``value`` as an ``int`` after checking its type and range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
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
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
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


def check_labels(
    y: Any,
    name: str = "y",
    *,
    n_classes: int,
    n_samples: int | None = None,
) -> np.ndarray:
    """Return class labels as a 1-D ``int64`` array.

    Accepts integer class labels of shape ``(n,)`` or one-hot rows of shape
    ``(n, n_classes)``.
    """
    try:
        arr = np.asarray(y)
    except (TypeError, ValueError) as exc:
        raise InvalidParameterError(
            f"`{name}` must be an array of class labels; could not convert it: {exc}"
        ) from None
    if arr.ndim == 2:
        if arr.shape[1] != n_classes:
            raise InvalidParameterError(
                f"`{name}` given as one-hot rows must have {n_classes} columns "
                f"(the number of classes); got shape {arr.shape}"
            )
        if not np.isin(arr, (0, 1)).all() or not (arr.sum(axis=1) == 1).all():
            raise InvalidParameterError(
                f"`{name}` given as a 2-D array must be one-hot (a single 1 per "
                f"row, zeros elsewhere)"
            )
        arr = arr.argmax(axis=1)
    elif arr.ndim != 1:
        raise InvalidParameterError(
            f"`{name}` must be integer labels of shape (n,) or one-hot of shape "
            f"(n, {n_classes}); got shape {arr.shape}"
        )
    if arr.size and not (
        np.issubdtype(arr.dtype, np.integer)
        or (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr)))
    ):
        raise InvalidParameterError(
            f"`{name}` must hold integer class labels; got dtype {arr.dtype}"
        )
    arr = arr.astype(np.int64, copy=False)
    if arr.size and (arr.min() < 0 or arr.max() >= n_classes):
        raise InvalidParameterError(
            f"`{name}` must hold labels in [0, {n_classes - 1}] (the model has "
            f"{n_classes} outputs); got values in [{arr.min()}, {arr.max()}]"
        )
    if n_samples is not None and arr.shape[0] != n_samples:
        raise InvalidParameterError(
            f"`{name}` must have one label per sample ({n_samples}); got {arr.shape[0]}"
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
