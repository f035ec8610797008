"""The ``.npz`` file format of :meth:`mlpinspect.Network.save`, read and written here.

Both :meth:`mlpinspect.Network.load` and the npz adapter (``adapt("net.npz")``)
read this format, so it lives below both: the adapter never imports the
trainer.

Nothing in a file is trusted: :func:`load_network` reads the metadata, then
checks the name, shape and dtype of every array it implies against the
archive's directory and ``.npy`` headers before decompressing any of them
(see :class:`mlpinspect._io.NpzArchive`, which also refuses decompression
bombs, FIFOs and pickled arrays). :func:`load_archive`, for other ``.npz``
files, reads every array under the same checks.

A file is an ``.npz`` archive (no pickle) holding

``meta``
    A 0-d string array with a JSON object: ``format`` (``"mlpinspect.Network"``),
    ``format_version`` (1), ``sizes``, ``activations``, ``init``, ``seed``,
    ``dtype``, ``input_shape``, ``class_names``, and ``history`` (the last
    training's, or null); optionally ``feature_names`` and ``task``.
``weight_{l}``, ``bias_{l}``, ``initial_weight_{l}``, ``initial_bias_{l}``
    Layer ``l``'s parameters now and at initialisation, ``(out, in)`` and
    ``(out,)``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ._io import NpzArchive, atomic_write
from .errors import InvalidParameterError, ModelFileError

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "Archive",
    "NetworkFile",
    "load_archive",
    "load_network",
    "read_network",
    "write_network",
]

FORMAT = "mlpinspect.Network"
FORMAT_VERSION = 1
ARRAY_KINDS = ("weight", "bias", "initial_weight", "initial_bias")


class NetworkFile:
    """The checked contents of a network file: its metadata and arrays.

    Attributes
    ----------
    meta : dict
        The metadata (see the module documentation), checked for the keys and
        types the readers rely on.
    arrays : dict of str to numpy.ndarray
        ``weight_{l}``, ``bias_{l}``, ``initial_weight_{l}``,
        ``initial_bias_{l}``, each of the shape ``sizes`` implies and of the
        ``dtype`` the metadata names.
    """

    def __init__(self, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
        self.meta = meta
        self.arrays = arrays

    @property
    def sizes(self) -> list[int]:
        return list(self.meta["sizes"])

    def layer(self, kind: str, index: int) -> np.ndarray:
        """``kind`` (``"weight"``, ``"bias"``, ...) of layer ``index``."""
        return self.arrays[f"{kind}_{index}"]


def write_network(
    path: str | os.PathLike, meta: Mapping[str, Any], arrays: Mapping[str, np.ndarray]
) -> Path:
    """Write ``meta`` (JSON) and ``arrays`` to ``path`` atomically."""
    path = Path(path)
    payload = {"meta": np.array(json.dumps({"format": FORMAT,
                                            "format_version": FORMAT_VERSION,
                                            **meta}))}  # fmt: skip
    payload.update({k: np.ascontiguousarray(v) for k, v in arrays.items()})
    return atomic_write(path, lambda fh: np.savez(fh, **payload))


def is_network_file(names: Any) -> bool:
    """Whether an archive with these member names is a network file."""
    names = set(names)
    return "meta" in names and "W0" not in names


def _fail(where: str, message: str) -> ModelFileError:
    return ModelFileError(f"{where}: {message}")


def check_meta(meta: Any, where: str) -> dict[str, Any]:
    """Check the metadata's format, version and the types the readers use."""
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise _fail(where, f"not a Network file (format is not {FORMAT!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise _fail(
            where,
            f"unsupported format version {meta.get('format_version')!r} (this "
            f"mlpinspect reads {FORMAT_VERSION})",
        )
    sizes = meta.get("sizes")
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(type(s) is int and s >= 1 for s in sizes)
    ):
        raise _fail(where, f"invalid metadata: `sizes` must be a list of positive "
                           f"integers; got {sizes!r:.80}")  # fmt: skip
    acts = meta.get("activations")
    if (
        not isinstance(acts, list)
        or len(acts) != len(sizes) - 1
        or not all(isinstance(a, str) for a in acts)
    ):
        raise _fail(where, "invalid metadata: `activations` must be a list of one "
                           "name per layer")  # fmt: skip
    if meta.get("dtype") not in ("float32", "float64"):
        raise _fail(where, f"invalid metadata: `dtype` must be 'float32' or "
                           f"'float64'; got {meta.get('dtype')!r:.40}")  # fmt: skip
    history = meta.get("history")
    if history is not None and not isinstance(history, dict):
        raise _fail(where, "invalid metadata: `history` must be an object or null")
    return meta


def expected_arrays(meta: Mapping[str, Any]) -> dict[str, tuple[tuple[int, ...], str]]:
    """Every array a file with this metadata must hold: name -> (shape, dtype)."""
    sizes, dtype = meta["sizes"], meta["dtype"]
    expected = {}
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        for kind in ARRAY_KINDS:
            shape = (n_out, n_in) if kind.endswith("weight") else (n_out,)
            expected[f"{kind}_{i}"] = (shape, dtype)
    return expected


def _parse_meta(text: str, where: str) -> dict[str, Any]:
    try:
        meta = json.loads(text)
    except (TypeError, ValueError, RecursionError) as exc:
        raise _fail(where, f"corrupt 'meta' entry ({type(exc).__name__})") from None
    return check_meta(meta, where)


def _meta_text(arr: np.ndarray, where: str) -> str:
    if arr.dtype.kind not in "US" or arr.size != 1:
        raise _fail(
            where,
            f"the 'meta' entry must be one string; got {arr.dtype} of shape "
            f"{arr.shape}",
        )
    return str(arr.reshape(()))


def _check_array(key: str, shape: tuple, dtype: np.dtype, expected: tuple,
                 where: str) -> None:  # fmt: skip
    want_shape, want_dtype = expected
    if tuple(shape) != want_shape or dtype != np.dtype(want_dtype):
        raise _fail(
            where,
            f"array {key!r} must have shape {want_shape} and dtype {want_dtype}; "
            f"got {tuple(shape)} {dtype}",
        )


def read_network(contents: Mapping[str, np.ndarray], where: str) -> NetworkFile:
    """Check the arrays of an opened archive and return a :class:`NetworkFile`."""
    if "meta" not in contents:
        raise _fail(where, "missing the 'meta' entry of a Network file")
    meta = _parse_meta(_meta_text(np.asarray(contents["meta"]), where), where)
    arrays = {}
    for key, expected in expected_arrays(meta).items():
        if key not in contents:
            raise _fail(where, f"missing array {key!r}")
        arr = contents[key]
        _check_array(key, arr.shape, arr.dtype, expected, where)
        arrays[key] = arr
    return NetworkFile(meta, arrays)


def _error(where: str):
    return lambda problem: ModelFileError(f"{where}: {problem}")


def _where(path: Any) -> str:
    """``path`` as text for messages; only str and path-like are paths (an
    integer would be opened as a file descriptor)."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str) or not path or "\x00" in path:
        raise InvalidParameterError(
            f"`path` must be the path of an .npz file (str or os.PathLike); got "
            f"{path!r:.60}"
        )
    return path


def load_network(path: str | os.PathLike) -> NetworkFile:
    """Read a network file, checking everything before decompressing arrays.

    The metadata is read first; the arrays it implies must all be in the
    archive's directory with the shape and dtype their ``.npy`` headers
    declare, or the file is refused with nothing of their size allocated.
    """
    where = _where(path)
    with NpzArchive(where, _error(where)) as archive:
        if "meta" not in archive.members:
            raise _fail(where, "missing the 'meta' entry of a Network file")
        meta = _parse_meta(_meta_text(archive.read("meta"), where), where)
        expected = expected_arrays(meta)
        for key, want in expected.items():
            member = archive.members.get(key)
            if member is None:
                raise _fail(where, f"missing array {key!r}")
            _check_array(key, member.shape, member.dtype, want, where)
        arrays = {key: archive.read(key) for key in expected}
    return NetworkFile(meta, arrays)


class Archive(dict):
    """The arrays of an ``.npz`` archive, by name (a dict), read safely."""


def load_archive(path: str | os.PathLike) -> Archive:
    """Every array of an ``.npz`` archive, or a ModelFileError.

    The archive is checked from its directory and ``.npy`` headers before any
    array is decompressed (:class:`mlpinspect._io.NpzArchive`): a FIFO, a
    device, pickled arrays, a header that disagrees with the directory and
    a decompression bomb are all refused.
    """
    where = _where(path)
    with NpzArchive(where, _error(where)) as archive:
        return Archive((key, archive.read(key)) for key in archive.members)
