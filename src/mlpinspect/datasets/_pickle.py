"""Reading the ``mnist.pkl.gz`` of Nielsen's book, safely.

Loading a pickle can run any code the file names, so this reader's unpickler
resolves only numpy's array-reconstruction globals. Any other global (say
``os.system`` or ``builtins.eval``) raises :class:`DatasetError` at the moment
the unpickler meets it, before anything could call it.
"""

from __future__ import annotations

import gzip
import os
import pickle
from typing import Any

import numpy as np

from ..errors import DatasetError, InvalidParameterError
from ._idx import as_path
from ._types import NielsenSplit, Subset

__all__ = ["load_nielsen_pickle"]


def _array_globals() -> dict[tuple[str, str], Any]:
    if np.lib.NumpyVersion(np.__version__) >= "2.0.0":
        from numpy._core.multiarray import _reconstruct
    else:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    # Map the names to objects directly: importing numpy.core on numpy 2
    # would warn, and importing anything named by the file is what we avoid.
    return {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }


_ALLOWED = _array_globals()


class _ArrayOnlyUnpickler(pickle.Unpickler):
    """An unpickler that can build numpy arrays and nothing else."""

    def __init__(self, file: Any, path: os.PathLike) -> None:
        super().__init__(file, encoding="latin1")
        self._path = path

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            allowed = ", ".join(f"{m}.{n}" for m, n in _ALLOWED)
            raise DatasetError(
                f"pickle file '{self._path}' asks for the global '{module}.{name}', "
                f"which is refused: only numpy array reconstruction ({allowed}) is "
                "allowed. Nothing from the file was run"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise DatasetError(
            f"pickle file '{self._path}' uses a persistent id, which is refused"
        )


def load_nielsen_pickle(
    path: str | os.PathLike, *, pixel_scale: int = 256
) -> NielsenSplit:
    """Read ``mnist.pkl.gz`` from Nielsen's book "Neural Networks and Deep Learning".

    The file is a (gzip'd) pickle of ``(training, validation, test)``, each a
    pair ``(images, labels)``: images float32 of shape (n, 784) holding
    ``pixel / 256``, labels int64, with 50,000 / 10,000 / 10,000 images.
    It is read with an unpickler that allows only numpy's array-reconstruction
    globals (``numpy.core.multiarray._reconstruct`` or its numpy 2 name
    ``numpy._core.multiarray._reconstruct``, ``numpy.ndarray``,
    ``numpy.dtype``): a file asking for anything else is refused before any of
    it is run.

    Parameters
    ----------
    path : str or os.PathLike
        The file, gzip'd or not (recognised from its content).
    pixel_scale : {256, 255}
        256 (the default) returns the images as stored, ``pixel / 256``.
        255 returns ``pixel / 255``, the scaling :func:`load_mnist` uses, so
        the arrays equal ``load_mnist().nielsen_split()`` exactly. (By hand:
        ``X * 256`` recovers the integer pixels exactly, then divide by 255.)

    Returns
    -------
    NielsenSplit
        ``(train, validation, test)``, each a :class:`Subset` ``(X, y)`` with
        ``X`` (n, 784) in the file's float dtype and ``y`` int64.

    Raises
    ------
    DatasetError
        If the file is missing, corrupt, asks for a global outside the
        allow-list (naming it), or does not hold the structure above.

    Examples
    --------
    >>> from mlpinspect.datasets import load_nielsen_pickle
    >>> train, validation, test = load_nielsen_pickle("mnist.pkl.gz")  # doctest: +SKIP
    >>> train.X.shape, validation.y[:3]  # doctest: +SKIP
    ((50000, 784), array([3, 8, 6]))
    """
    if pixel_scale not in (255, 256) or isinstance(pixel_scale, bool):
        raise InvalidParameterError(
            f"`pixel_scale` must be 256 (as stored) or 255; got {pixel_scale!r}"
        )
    path = as_path(path)
    where = f"pickle file '{path}'"
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw) if compressed else raw
            with stream:
                content = _ArrayOnlyUnpickler(stream, path).load()
    except DatasetError:
        raise
    except FileNotFoundError:
        raise DatasetError(f"{where} does not exist") from None
    except Exception as exc:  # truncated, corrupt gzip, malformed pickle, ...
        raise DatasetError(
            f"{where} could not be read: {type(exc).__name__}: {exc}"
        ) from None
    parts = _check_structure(content, where)
    if pixel_scale == 255:
        parts = [Subset(_rescale(X, where, name), y) for (X, y), name in parts]
    else:
        parts = [Subset(X, y) for (X, y), _ in parts]
    return NielsenSplit(*parts)


_PARTS = ("training", "validation", "test")


def _check_structure(content: Any, where: str) -> list:
    expected = "a 3-tuple (training, validation, test) of (images, labels) pairs"
    if not isinstance(content, (tuple, list)) or len(content) != 3:
        raise DatasetError(f"{where} must hold {expected}; got {_kind(content)}")
    parts = []
    for name, part in zip(_PARTS, content):
        if not isinstance(part, (tuple, list)) or len(part) != 2:
            raise DatasetError(
                f"{where}: the {name} part must be a pair (images, labels); got "
                f"{_kind(part)}"
            )
        X, y = part
        if (
            not isinstance(X, np.ndarray)
            or X.dtype.kind != "f"
            or X.ndim != 2
            or X.shape[1] != 784
        ):
            raise DatasetError(
                f"{where}: the {name} images must be a float array of shape "
                f"(n, 784); got {_kind(X)}"
            )
        if (
            not isinstance(y, np.ndarray)
            or y.dtype.kind not in "iu"
            or y.shape != (len(X),)
        ):
            raise DatasetError(
                f"{where}: the {name} labels must be an integer array of shape "
                f"({len(X)},); got {_kind(y)}"
            )
        if X.size and not (np.isfinite(X).all() and X.min() >= 0 and X.max() <= 1):
            raise DatasetError(f"{where}: the {name} images must hold values in [0, 1]")
        parts.append(((X, y.astype(np.int64, copy=False)), name))
    return parts


def _rescale(X: np.ndarray, where: str, name: str) -> np.ndarray:
    """pixel/256 -> pixel/255, exactly (float32 stays float32)."""
    pixels = X * X.dtype.type(256)
    if not np.array_equal(pixels, np.round(pixels)):
        raise DatasetError(
            f"{where}: the {name} images are not whole pixels / 256, so they "
            "cannot be rescaled to pixel / 255; use pixel_scale=256"
        )
    np.divide(pixels, X.dtype.type(255), out=pixels)
    return pixels


def _kind(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of length {len(value)}"
    return f"a {type(value).__name__}"
