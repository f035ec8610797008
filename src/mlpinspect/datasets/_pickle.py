"""Reading the ``mnist.pkl.gz`` of Nielsen's book, safely.

Loading a pickle can run any code the file names, so this reader's unpickler
resolves only the globals that pickles of numpy arrays and tuples need, in
every protocol Python writes (0 to 5) and in the original Python 2 file:

- ``numpy.core.multiarray._reconstruct`` (``numpy._core`` in numpy 2), which
  makes an empty array that ``__setstate__`` then fills: here it may only
  allocate as much as the file itself holds;
- ``numpy.ndarray`` and ``numpy.dtype``;
- ``_codecs.encode``, with which protocols 0 to 2 spell a bytes object as
  ``encode(text, "latin1")``: here it accepts only that encoding;
- ``numpy.core.numeric._frombuffer`` (``numpy._core`` in numpy 2), which
  protocol 5 uses: here our own few lines rebuild the array from its bytes.

Any other global (say ``os.system`` or ``builtins.eval``) raises
:class:`DatasetError` at the moment the unpickler meets it, before anything
could call it. The decompressed pickle is read into memory first, at most
:data:`mlpinspect._io.MAX_EXPANSION` times the file's size, and unpickled by
pickle's pure-Python unpickler, which never allocates a length the file
declares before reading it: nothing can make this reader allocate much more
than the file holds.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import pickle
from typing import Any

import numpy as np

from .._io import EXPANSION_FLOOR, MAX_EXPANSION, open_regular
from ..errors import DatasetError, InvalidParameterError
from ._idx import as_path
from ._types import NielsenSplit, Subset, check_digit_labels

__all__ = ["load_nielsen_pickle"]


class _Budget:
    """Bytes the unpickled arrays may still take: the pickle's own size."""

    def __init__(self, nbytes: int, where: str) -> None:
        self.left = nbytes
        self.where = where

    def take(self, shape: Any, dtype: Any) -> None:
        try:
            size = math.prod(int(d) for d in shape) * np.dtype(dtype).itemsize
        except Exception:
            raise DatasetError(
                f"{self.where} reconstructs an array of an invalid shape or dtype"
            ) from None
        if size > self.left:
            raise DatasetError(
                f"{self.where} asks for an array of {size} bytes, more than the "
                f"pickle holds: it is corrupt or hostile"
            )
        self.left -= size


def _globals(budget: _Budget) -> dict[tuple[str, str], Any]:
    """The allowed globals, as functions that check what they are given."""

    def reconstruct(subtype: Any, shape: Any, dtype: Any) -> np.ndarray:
        if subtype is not np.ndarray:
            raise DatasetError(f"{budget.where} reconstructs a non-array type")
        budget.take(shape if isinstance(shape, tuple) else (shape,), dtype)
        return np.ndarray.__new__(np.ndarray, shape, dtype)

    def latin1(text: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
        if not isinstance(text, str) or encoding != "latin1" or errors != "strict":
            raise DatasetError(
                f"{budget.where} uses _codecs.encode other than to spell bytes in "
                f"latin1 (as pickle protocols 0-2 do): refused"
            )
        return text.encode("latin1")

    def frombuffer(
        buf: Any, dtype: Any, shape: Any, order: Any, axis_order: Any = None
    ) -> np.ndarray:
        if not isinstance(buf, (bytes, bytearray, memoryview, pickle.PickleBuffer)):
            raise DatasetError(f"{budget.where} rebuilds an array from a non-buffer")
        try:
            array = np.frombuffer(buf, dtype=dtype)
            if order == "K" and axis_order is not None:
                return array.reshape(shape, order="C").transpose(axis_order)
            return array.reshape(shape, order=order)
        except (TypeError, ValueError) as exc:
            raise DatasetError(
                f"{budget.where} holds a malformed array: {exc}"
            ) from None

    table: dict[tuple[str, str], Any] = {("numpy", "ndarray"): np.ndarray,
                                         ("numpy", "dtype"): np.dtype,
                                         ("_codecs", "encode"): latin1}  # fmt: skip
    for core in ("numpy.core", "numpy._core"):
        table[(f"{core}.multiarray", "_reconstruct")] = reconstruct
        table[(f"{core}.numeric", "_frombuffer")] = frombuffer
    return table


_ALLOWED_NAMES = ", ".join(f"{m}.{n}" for m, n in _globals(_Budget(0, "")))


class _ArrayOnlyUnpickler(pickle._Unpickler):  # type: ignore[name-defined]
    """An unpickler that can build numpy arrays and tuples and nothing else.

    It is pickle's own pure-Python unpickler: the C one allocates a bytes
    object of whatever length the file declares before reading it (a 20-byte
    file can declare a terabyte); this one reads what is there.
    """

    def __init__(self, file: Any, budget: _Budget) -> None:
        super().__init__(file, encoding="latin1")
        self._where = budget.where
        self._allowed = _globals(budget)

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise DatasetError(
                f"{self._where} asks for the global '{module}.{name}', which is "
                f"refused: only what pickles of numpy arrays need "
                f"({_ALLOWED_NAMES}) is allowed. Nothing from the file was run"
            ) from None

    def persistent_load(self, pid: Any) -> Any:
        raise DatasetError(f"{self._where} uses a persistent id, which is refused")


_PIECE = 1 << 18  # bytes read (and decompressed) at a time


def _read_all(path: Any, where: str) -> tuple[io.BytesIO, int]:
    """The file's content, gunzipped, refusing more than MAX_EXPANSION times
    its size (a gzip bomb) before holding it."""

    def error(problem: str) -> DatasetError:
        if problem == "no such file":
            return DatasetError(f"{where} does not exist")
        return DatasetError(f"{where} {problem}")

    with open_regular(path, error, what="pickle file") as raw:
        size = os.fstat(raw.fileno()).st_size
        limit = max(MAX_EXPANSION * size, EXPANSION_FLOOR)
        compressed = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        stream = gzip.GzipFile(fileobj=raw) if compressed else raw
        data = io.BytesIO()
        with stream:
            while piece := stream.read(_PIECE):
                data.write(piece)
                if data.tell() > limit:
                    raise DatasetError(
                        f"{where} decompresses to more than {MAX_EXPANSION} times "
                        f"its {size} bytes: refused before reading further (a gzip "
                        f"bomb, or not Nielsen's file)"
                    )
    n = data.tell()
    data.seek(0)
    return data, n


def load_nielsen_pickle(
    path: str | os.PathLike, *, pixel_scale: int = 256
) -> NielsenSplit:
    """Read ``mnist.pkl.gz`` from Nielsen's book "Neural Networks and Deep Learning".

    The file is a (gzip'd) pickle of ``(training, validation, test)``, each a
    pair ``(images, labels)``: images float32 of shape (n, 784) holding
    ``pixel / 256``, labels int64, with 50,000 / 10,000 / 10,000 images.
    It is read with an unpickler that allows only the globals pickles of
    numpy arrays need (see the module documentation), so files written by
    Python 3 with any protocol load, and a file asking for anything else is
    refused before any of it is run. Labels must be digits 0 to 9.

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
        If the file is missing, not a regular file (a FIFO, a device),
        corrupt, decompresses to more than 100 times its size, asks for a
        global outside the allow-list (naming it), does not hold the structure
        above, or holds labels other than 0 to 9.

    Examples
    --------
    >>> from mlpinspect.datasets import load_nielsen_pickle
    >>> train, validation, test = load_nielsen_pickle("mnist.pkl.gz")  # doctest: +SKIP
    >>> train.X.shape, validation.y[:3]  # doctest: +SKIP
    ((50000, 784), array([3, 8, 6]))
    """
    if (
        isinstance(pixel_scale, bool)
        or not isinstance(pixel_scale, (int, float, np.integer, np.floating))
        or pixel_scale not in (255, 256)
    ):
        raise InvalidParameterError(
            f"`pixel_scale` must be 256 (as stored) or 255; got {pixel_scale!r}"
        )
    path = as_path(path)
    where = f"pickle file '{path}'"
    try:
        data, n_bytes = _read_all(path, where)
        budget = _Budget(n_bytes, where)
        content = _ArrayOnlyUnpickler(data, budget).load()
    except DatasetError:
        raise
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
        y = check_digit_labels(y, f"{where}: the {name} labels")
        parts.append(((X, y), name))
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
