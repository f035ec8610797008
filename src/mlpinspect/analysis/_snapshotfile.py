"""The snapshot file: one ``.npz`` archive written member by member.

The format is described in :mod:`mlpinspect.analysis.snapshots`. Writing
appends ``.npy`` members to a zip in a hidden temporary file and renames it
into place (:class:`Writer`); reading (:class:`FileStore`) finds each member's
bytes once from the zip's index, then reads one snapshot at a time, checking
its CRC-32, its header and its shape. Members must be stored uncompressed,
so no file can make the reader allocate more than its own size.
"""

from __future__ import annotations

import io
import json
import math
import os
import re
import shutil
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._io import create_temp, open_regular, write_error
from ..errors import MlpinspectError, ModelFileError
from ..mlp import MLP, Dense

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "FileStore",
    "Writer",
    "build",
    "describe",
    "json_number",
]

FORMAT = "mlpinspect.Snapshots"
FORMAT_VERSION = 1
_BIG_MEMBER = 1 << 30  # members at least this large get zip64 headers up front
_LOCAL_HEADER = struct.Struct("<4s2B4HL2L2H")  # a zip member's local file header
_LOCAL_SIGNATURE = b"PK\x03\x04"
_SNAPSHOT_MEMBER = re.compile(r"^s(\d+)_(?:[wb]\d+|info)$")


# -- what every snapshot of one network shares -----------------------------------------


def plain(value: Any) -> Any:
    """A numpy scalar as the Python scalar JSON writes."""
    return value.item() if isinstance(value, np.generic) else value


def describe(mlp: MLP) -> dict[str, Any]:
    """The metadata of ``mlp`` that every snapshot must share, JSON-ready."""
    names = mlp.class_names
    return {
        "sizes": [int(s) for s in mlp.sizes],
        "activations": list(mlp.activation_names),
        "dtype": mlp.dtype.name,
        "input_shape": [int(s) for s in mlp.input_shape],
        "task": mlp.task,
        "class_names": None if names is None else [plain(v) for v in names],
        "feature_names": (
            None if mlp.feature_names is None else list(mlp.feature_names)
        ),
    }


def build(meta: Mapping[str, Any], weights: Sequence[np.ndarray],
           biases: Sequence[np.ndarray]) -> MLP:  # fmt: skip
    """The MLP of one snapshot from its arrays and the shared metadata."""
    layers = [
        Dense(w, b, act, name=f"layer {i}")
        for i, (w, b, act) in enumerate(zip(weights, biases, meta["activations"]))
    ]
    return MLP(
        layers,
        input_shape=meta["input_shape"],
        class_names=meta["class_names"],
        feature_names=meta["feature_names"],
        task=meta["task"],
        name=meta.get("name"),
    )


def json_number(value: float) -> float | None:
    return None if math.isnan(value) else value


# -- the file --------------------------------------------------------------------------


class Writer:
    """``.npy`` members appended to a zip in a hidden temporary file beside
    ``path``; renamed into place by :meth:`finish`, copied into place by
    :meth:`publish`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = create_temp(path.parent, path.name)
        except OSError as exc:  # a read-only folder, /proc, a full disk
            raise write_error(exc, "path", path) from None
        try:
            self.fh = open(fd, "w+b")  # noqa: SIM115 - closed by finish/abort
            self.zip = zipfile.ZipFile(self.fh, "w", zipfile.ZIP_STORED)
        except BaseException:
            self.tmp.unlink(missing_ok=True)
            raise

    def add_array(self, name: str, arr: np.ndarray) -> None:
        if not arr.flags.c_contiguous:  # (ascontiguousarray would make 0-d 1-d)
            arr = np.ascontiguousarray(arr)
        big = arr.nbytes >= _BIG_MEMBER
        with self.zip.open(name + ".npy", "w", force_zip64=big) as member:
            np.lib.format.write_array(member, arr, allow_pickle=False)

    def add_json(self, name: str, value: Any) -> None:
        self.add_array(name, np.array(json.dumps(value, allow_nan=False)))

    def publish(self) -> None:
        """Replace ``path`` by a complete archive of the members written so
        far, atomically, and go on appending."""
        self.zip.close()  # writes the index (central directory) after the members
        self.fh.close()
        try:
            fd, tmp = create_temp(self.path.parent, self.path.name)
            try:
                with open(fd, "wb") as out, open(self.tmp, "rb") as done:
                    shutil.copyfileobj(done, out, 1 << 20)
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        finally:
            # Appending starts where the index begins: the next member
            # overwrites it, and the next close writes a new one.
            self.fh = open(self.tmp, "r+b")  # noqa: SIM115 - closed by finish/abort
            self.zip = zipfile.ZipFile(self.fh, "a", zipfile.ZIP_STORED)

    def finish(self) -> None:
        try:
            self.zip.close()
            self.fh.flush()
            os.fsync(self.fh.fileno())
            self.fh.close()
            os.replace(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        try:
            try:
                self.zip.close()
            finally:
                self.fh.close()
        except Exception:
            pass  # the temporary file goes either way
        finally:
            self.tmp.unlink(missing_ok=True)


def _parse_npy(data: bytes, where: str) -> np.ndarray:
    """The array of an ``.npy`` member's bytes (no pickle, nothing beyond
    the bytes allocated)."""
    buffer = io.BytesIO(data)
    try:
        version = np.lib.format.read_magic(buffer)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(buffer)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(buffer)
        else:
            raise ValueError(f"unsupported .npy version {version}")
    except (ValueError, SyntaxError, TypeError) as exc:
        raise ModelFileError(f"{where}: corrupt array header ({exc})") from None
    if dtype.hasobject:
        raise ModelFileError(f"{where}: holds Python objects (pickle): refused")
    count = math.prod(shape)
    offset = buffer.tell()
    if len(data) - offset != count * dtype.itemsize:
        raise ModelFileError(
            f"{where}: {len(data) - offset} bytes of data for an array of shape "
            f"{shape} and dtype {dtype}"
        )
    arr = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return arr.reshape(shape, order="F" if fortran else "C")


class FileStore:
    """Snapshots read from one file, one snapshot at a time."""

    def __init__(self, path: Path, meta: dict[str, Any],
                 members: dict[str, tuple[int, int, int]],
                 stamp: tuple[int, int]) -> None:  # fmt: skip
        self.path = path
        self.meta = meta
        self.members = members  # name -> (offset of the data, size, CRC-32)
        self.stamp = stamp
        self.where = str(path)

    @property
    def shapes(self) -> list[tuple[int, int]]:
        """Each layer's weight shape ``(out, in)``."""
        sizes = self.meta["sizes"]
        return list(zip(sizes[1:], sizes[:-1]))

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.meta["dtype"])

    @classmethod
    def open(cls, path: Path) -> tuple[FileStore, list[dict[str, Any]], bool]:
        """Read the index, metadata and per-snapshot information of ``path``
        and the first snapshot (which checks the metadata)."""
        where = str(path)
        # A FIFO or device is refused without blocking; a folder too.
        fh = open_regular(
            path, lambda problem: ModelFileError(f"{where}: {problem}"),
            what="snapshot file (.npz)",
        )  # fmt: skip
        with fh:
            stat = os.fstat(fh.fileno())
            members = _members(fh, stat.st_size, where)
            store = cls(path, {}, members, (stat.st_size, stat.st_mtime_ns))
            store.meta = _check_meta(store.json(fh, "meta"), where)
            infos = []
            while f"s{len(infos)}_info" in members:
                i = len(infos)
                infos.append(_check_info(store.json(fh, f"s{i}_info"), where, i))
            store.check_snapshots(infos)
            end = store.json(fh, "end") if "end" in members else None
        complete = (
            isinstance(end, dict)
            and end.get("complete") is True
            and end.get("n_snapshots") == len(infos)
        )
        store.model(0)  # builds the network: checks the metadata
        return store, infos, complete

    def check_snapshots(self, infos: list[dict[str, Any]]) -> None:
        where, n = self.where, len(infos)
        if n == 0:
            raise ModelFileError(f"{where}: holds no snapshot")
        for key in self.members:
            found = _SNAPSHOT_MEMBER.match(key)
            if found and int(found.group(1)) >= n:
                raise ModelFileError(
                    f"{where}: member {key!r} belongs to snapshot {found.group(1)}, "
                    f"but snapshot {n}'s information is missing"
                )
        for i in range(n):
            for layer in range(len(self.shapes)):
                for kind in ("w", "b"):
                    if f"s{i}_{kind}{layer}" not in self.members:
                        raise ModelFileError(
                            f"{where}: missing array 's{i}_{kind}{layer}'"
                        )
        for kind in ("epoch", "step"):
            values = [info[kind] for info in infos]
            if len({v is None for v in values}) > 1:
                raise ModelFileError(
                    f"{where}: some snapshots have a {kind} and others not"
                )
            if values[0] is not None and any(
                b <= a for a, b in zip(values[:-1], values[1:])
            ):
                raise ModelFileError(f"{where}: the snapshots' {kind}s do not increase")
        if infos[0]["epoch"] is None and infos[0]["step"] is None:
            raise ModelFileError(f"{where}: the snapshots have no epoch nor step")

    def read(self, fh: Any, key: str) -> np.ndarray:
        where = f"{self.where}, member {key!r}"
        if key not in self.members:
            raise ModelFileError(f"{self.where}: missing member {key!r}")
        start, size, crc = self.members[key]
        fh.seek(start)
        data = fh.read(size)
        if len(data) != size:
            raise ModelFileError(f"{where}: truncated")
        if zlib.crc32(data) != crc:
            raise ModelFileError(f"{where}: checksum mismatch (corrupt data)")
        return _parse_npy(data, where)

    def json(self, fh: Any, key: str) -> Any:
        arr = self.read(fh, key)
        if arr.shape != () or arr.dtype.kind != "U":
            raise ModelFileError(
                f"{self.where}: member {key!r} must be a JSON string; got an array "
                f"of shape {arr.shape} and dtype {arr.dtype}"
            )
        try:
            return json.loads(str(arr[()]))
        except (ValueError, RecursionError) as exc:
            raise ModelFileError(
                f"{self.where}: member {key!r} is not valid JSON ({type(exc).__name__})"
            ) from None

    def model(self, i: int) -> MLP:
        try:
            stat = os.stat(self.path)
        except OSError as exc:
            raise ModelFileError(f"{self.where}: cannot be read ({exc})") from None
        if (stat.st_size, stat.st_mtime_ns) != self.stamp:
            raise ModelFileError(
                f"{self.where}: the file changed after it was loaded; load it again"
            )
        weights, biases = [], []
        with open(self.path, "rb") as fh:
            for layer, shape in enumerate(self.shapes):
                for kind, expected, out in (
                    ("w", shape, weights),
                    ("b", shape[:1], biases),
                ):
                    key = f"s{i}_{kind}{layer}"
                    arr = self.read(fh, key)
                    native = arr.dtype.newbyteorder("=")
                    if arr.shape != expected or native != self.dtype:
                        raise ModelFileError(
                            f"{self.where}: array {key!r} must have shape "
                            f"{expected} and dtype {self.dtype}; got {arr.shape} "
                            f"{arr.dtype}"
                        )
                    out.append(arr)
        try:
            return build(self.meta, weights, biases)
        except MlpinspectError as exc:
            raise ModelFileError(f"{self.where}: invalid metadata ({exc})") from None


def _members(fh: Any, size: int, where: str) -> dict[str, tuple[int, int, int]]:
    """``name -> (data offset, size, CRC)`` of every ``.npy`` member, checked
    to be stored (uncompressed) and to lie inside the file."""
    try:
        with zipfile.ZipFile(fh) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError,
            EOFError, struct.error) as exc:  # fmt: skip
        raise ModelFileError(
            f"{where}: not a readable .npz file ({type(exc).__name__}: {exc})"
        ) from None
    members = {}
    for info in infos:
        if not info.filename.endswith(".npy"):
            continue
        name = info.filename[: -len(".npy")]
        if info.compress_type != zipfile.ZIP_STORED or info.flag_bits & 0x1:
            raise ModelFileError(
                f"{where}: member {name!r} is compressed or encrypted; snapshot "
                f"files are stored uncompressed"
            )
        fh.seek(info.header_offset)
        header = fh.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size:
            raise ModelFileError(f"{where}: member {name!r} is truncated")
        fields = _LOCAL_HEADER.unpack(header)
        if fields[0] != _LOCAL_SIGNATURE:
            raise ModelFileError(f"{where}: member {name!r} has a corrupt header")
        start = info.header_offset + _LOCAL_HEADER.size + fields[-2] + fields[-1]
        if start + info.file_size > size:
            raise ModelFileError(f"{where}: member {name!r} is truncated")
        members[name] = (start, info.file_size, info.CRC)
    return members


def _check_meta(meta: Any, where: str) -> dict[str, Any]:
    def bad(message: str) -> ModelFileError:
        return ModelFileError(f"{where}: invalid metadata: {message}")

    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ModelFileError(f"{where}: not a snapshot file (format is not {FORMAT!r})")
    if meta.get("format_version") != FORMAT_VERSION:
        raise ModelFileError(
            f"{where}: unsupported format version {meta.get('format_version')!r} "
            f"(this mlpinspect reads {FORMAT_VERSION})"
        )
    sizes = meta.get("sizes")
    if (
        not isinstance(sizes, list)
        or len(sizes) < 2
        or not all(type(s) is int and s >= 1 for s in sizes)
    ):
        raise bad(f"`sizes` must be a list of positive integers; got {sizes!r:.80}")
    acts = meta.get("activations")
    if (
        not isinstance(acts, list)
        or len(acts) != len(sizes) - 1
        or not all(isinstance(a, str) for a in acts)
    ):
        raise bad("`activations` must be a list of one name per layer")
    if meta.get("dtype") not in ("float32", "float64"):
        raise bad(f"`dtype` must be 'float32' or 'float64'; got {meta.get('dtype')!r}")
    shape = meta.get("input_shape")
    if not isinstance(shape, list) or not all(type(s) is int for s in shape):
        raise bad("`input_shape` must be a list of integers")
    for key in ("task", "name"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise bad(f"`{key}` must be a string or null")
    for key in ("class_names", "feature_names"):
        if meta.get(key) is not None and not isinstance(meta[key], list):
            raise bad(f"`{key}` must be a list or null")
        meta.setdefault(key, None)
    meta.setdefault("task", None)
    return meta


def _check_info(info: Any, where: str, i: int) -> dict[str, Any]:
    def number(value: Any) -> bool:
        return isinstance(value, (int, float)) and not isinstance(value, bool)

    ok = (
        isinstance(info, dict)
        and (
            info.get("epoch") is None or (number(info["epoch"]) and info["epoch"] >= 0)
        )
        and (
            info.get("step") is None
            or (type(info["step"]) is int and info["step"] >= 0)
        )
        and isinstance(info.get("metrics", {}), dict)
        and all(
            isinstance(k, str) and (v is None or number(v))
            for k, v in info.get("metrics", {}).items()
        )
    )
    if not ok:
        raise ModelFileError(
            f"{where}: snapshot {i}'s information must hold `epoch`, `step` and "
            f"`metrics` (name -> number)"
        )
    return {
        "epoch": None if info.get("epoch") is None else float(info["epoch"]),
        "step": info.get("step"),
        "metrics": dict(info.get("metrics", {})),
    }
