"""Reading and writing IDX files, the format MNIST is distributed in.

An IDX file is a 4-byte magic number, one big-endian ``uint32`` per dimension,
then the array's items in C order, big-endian::

    byte 0-1   zero
    byte 2     data type code (see ``IDX_DTYPES``)
    byte 3     number of dimensions, d >= 1
    4 * d      the dimensions, uint32 big-endian
    ...        prod(dims) items

Files may be gzip-compressed; that is recognised from the first two bytes, not
from the file name. Every way a file can be wrong (truncated, wrong magic,
unknown type code, more or fewer bytes than the header declares, a corrupt gzip
stream, a checksum mismatch) raises :class:`~mlpinspect.errors.DatasetError`
naming the file and the problem.

The readers never hold more than the result plus a few megabytes: data are
read in bounded pieces straight into the output array, and the SHA-256 of the
decompressed content is computed on the way.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from .._io import atomic_write, check_output_path, open_regular
from ..errors import DatasetError, InvalidParameterError

__all__ = ["IDX_DTYPES", "load_idx", "save_idx"]

#: IDX data type code -> numpy dtype (as stored: big-endian).
IDX_DTYPES: dict[int, np.dtype] = {
    0x08: np.dtype("u1"),
    0x09: np.dtype("i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
# (kind, itemsize) -> code, for writing arrays of any byte order.
_CODES = {(dt.kind, dt.itemsize): code for code, dt in IDX_DTYPES.items()}
_KNOWN = ", ".join(f"0x{c:02X} {dt.name}" for c, dt in IDX_DTYPES.items())

_GZIP_MAGIC = b"\x1f\x8b"
# Deflate cannot expand data by more than about 1032:1, so a gzip file of n
# bytes never decompresses to more than this many times n. Checking a header
# against it stops a corrupt header from making us allocate terabytes.
_MAX_GZIP_RATIO = 1100
# Bytes read (and, for gzip, decompressed) per call: bounds temporary memory.
_PIECE = 1 << 22


def as_path(path: Any, name: str = "path") -> Path:
    """Return ``path`` (str or os.PathLike) as a Path, or raise."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise InvalidParameterError(
            f"`{name}` must be a path (str or os.PathLike); got {type(path).__name__}"
        )
    return Path(path).expanduser()


def check_sha256(value: Any, name: str = "sha256") -> str | None:
    """Return a SHA-256 hex digest in lower case (None passes through)."""
    if value is None:
        return None
    if (
        not isinstance(value, str)
        or len(value) != 64
        or any(c not in "0123456789abcdefABCDEF" for c in value)
    ):
        raise InvalidParameterError(
            f"`{name}` must be a SHA-256 hex digest (64 hexadecimal characters); "
            f"got {value!r}"
        )
    return value.lower()


def _error(path: Path, problem: str) -> DatasetError:
    err = DatasetError(f"IDX file '{path}' {problem}")
    err.path = path  # lets load_mnist tell which cached file failed
    return err


class IdxReader:
    """An open IDX file whose header has been read and checked.

    Use as a context manager; read the data with :meth:`read_into` (in as many
    pieces as you like, in order) and call :meth:`finish`, which checks that
    nothing follows the data and that the checksum matches.

    Attributes
    ----------
    path : Path
    dtype : numpy.dtype
        The stored dtype (big-endian for multi-byte types).
    shape : tuple of int
    nbytes : int
        Bytes of data the header declares.
    """

    def __init__(self, path: Any, sha256: str | None = None) -> None:
        self.path = as_path(path)
        self._expected = check_sha256(sha256)
        self._hash = hashlib.sha256() if self._expected is not None else None
        self._done = 0
        self._file: BinaryIO = open_regular(
            self.path,
            lambda p: _error(self.path, "does not exist" if p == "no such file" else p),
            what="IDX file",
        )
        self._stream: BinaryIO = self._file
        try:
            self._read_header()
        except BaseException:
            self.close()
            raise

    # -- plumbing ---------------------------------------------------------
    def __enter__(self) -> IdxReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._stream is not self._file:
            self._stream.close()
        self._file.close()

    @contextmanager
    def _reading(self) -> Iterator[None]:
        """Turn low-level read failures into DatasetError naming the file."""
        try:
            yield
        except EOFError:
            raise _error(
                self.path, "is truncated: the gzip stream ends before its end marker"
            ) from None
        except (gzip.BadGzipFile, zlib.error) as exc:
            raise _error(self.path, f"has a corrupt gzip stream: {exc}") from None
        except OSError as exc:
            raise _error(self.path, f"could not be read: {exc}") from None

    def _read_exact(self, view: memoryview, what: str) -> None:
        """Fill ``view`` from the stream, updating the checksum."""
        total = len(view)
        pos = 0
        with self._reading():
            while pos < total:
                stop = min(total, pos + _PIECE)
                n = self._stream.readinto(view[pos:stop])
                if not n:
                    raise _error(
                        self.path,
                        f"is truncated: expected {total} bytes of {what}, "
                        f"the file ended after {pos}",
                    )
                if self._hash is not None:
                    self._hash.update(view[pos : pos + n])
                pos += n

    def _read_bytes(self, n: int, what: str) -> bytes:
        buf = bytearray(n)
        self._read_exact(memoryview(buf), what)
        return bytes(buf)

    # -- header -----------------------------------------------------------
    def _read_header(self) -> None:
        file_size = os.fstat(self._file.fileno()).st_size
        with self._reading():
            self.compressed = self._file.read(2) == _GZIP_MAGIC
            self._file.seek(0)
        if self.compressed:
            self._stream = gzip.GzipFile(fileobj=self._file, mode="rb")
        magic = self._read_bytes(4, "header (the magic number)")
        if magic[0] or magic[1]:
            raise _error(
                self.path,
                f"has a wrong magic number 0x{magic.hex().upper()}: an IDX file "
                "starts with two zero bytes (is it an IDX file?)",
            )
        code, ndim = magic[2], magic[3]
        if code not in IDX_DTYPES:
            raise _error(
                self.path,
                f"has an unknown data type code 0x{code:02X} (known: {_KNOWN})",
            )
        if ndim == 0:
            raise _error(self.path, "declares 0 dimensions; IDX arrays have >= 1")
        dims = self._read_bytes(4 * ndim, f"header ({ndim} dimensions)")
        self.dtype = IDX_DTYPES[code]
        self.shape = struct.unpack(f">{ndim}I", dims)
        self.header_size = 4 + 4 * ndim
        self.nbytes = math.prod(self.shape) * self.dtype.itemsize
        declared = self.header_size + self.nbytes
        if not self.compressed and declared != file_size:
            what = "is truncated" if declared > file_size else "has trailing bytes"
            raise _error(
                self.path,
                f"{what}: its header declares shape {self.shape} of "
                f"{self.dtype.name} ({self.nbytes} bytes of data, {declared} "
                f"bytes in all), but the file holds {file_size} bytes",
            )
        if self.compressed and declared > _MAX_GZIP_RATIO * file_size + 1024:
            raise _error(
                self.path,
                f"declares shape {self.shape} of {self.dtype.name} "
                f"({self.nbytes} bytes), more than a {file_size}-byte gzip file "
                "can hold: the header is corrupt",
            )

    # -- data -------------------------------------------------------------
    def read_into(self, out: np.ndarray) -> None:
        """Read the next ``out.nbytes`` bytes of data into C-contiguous ``out``."""
        if out.nbytes > self.nbytes - self._done or not out.flags.c_contiguous:
            raise ValueError("read_into needs a C-contiguous array within the data")
        flat = out.reshape(-1).view(np.uint8)
        self._read_exact(memoryview(flat), "data")
        self._done += out.nbytes

    def finish(self) -> None:
        """Check that the data ended where declared and that the checksum matches."""
        if self._done != self.nbytes:  # pragma: no cover - a caller's bug
            raise ValueError("finish() before all data were read")
        with self._reading():
            extra = self._stream.read(1)
        if extra:
            raise _error(
                self.path,
                f"has trailing bytes after the {self.nbytes} bytes of data its "
                f"header declares (shape {self.shape} of {self.dtype.name})",
            )
        if self._hash is not None:
            actual = self._hash.hexdigest()
            if actual != self._expected:
                raise _error(
                    self.path,
                    f"failed its checksum: expected SHA-256 {self._expected} "
                    f"(of the decompressed content), got {actual}. The file is "
                    "corrupt or not the one expected",
                )


def allocate(reader: IdxReader, shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """``np.empty``, turning a failed allocation into a DatasetError."""
    try:
        return np.empty(shape, dtype=dtype)
    except (MemoryError, ValueError) as exc:
        raise _error(
            reader.path,
            f"declares shape {reader.shape} of {reader.dtype.name}, which cannot "
            f"be allocated ({type(exc).__name__}: {exc})",
        ) from None


def to_native(arr: np.ndarray) -> np.ndarray:
    """Swap a big-endian array to native byte order in place (no copy)."""
    native = arr.dtype.newbyteorder("=")
    if arr.dtype != native:
        arr.byteswap(inplace=True)
        arr = arr.view(native)
    return arr


def load_idx(path: str | os.PathLike, *, sha256: str | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a numpy array.

    All IDX data types are supported: ``0x08`` uint8, ``0x09`` int8, ``0x0B``
    int16, ``0x0C`` int32, ``0x0D`` float32 and ``0x0E`` float64, of any rank.
    Compression is recognised from the content (the gzip magic bytes), not
    from the file name.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    sha256 : str, optional
        The expected SHA-256 of the *decompressed* content. When given, the
        file is hashed while it is read and a mismatch raises.

    Returns
    -------
    numpy.ndarray
        The array, shape as in the header, in native byte order.

    Raises
    ------
    DatasetError
        If the file does not exist, is truncated, has a wrong magic number, an
        unknown data type code, more or fewer data bytes than its header
        declares, a corrupt gzip stream, or (with ``sha256``) a different
        checksum. The message names the file and the problem.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from mlpinspect.datasets import load_idx, save_idx
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = save_idx(folder / "a.idx.gz", np.arange(6, dtype=np.int16).reshape(2, 3))
    >>> load_idx(folder / "a.idx.gz")
    array([[0, 1, 2],
           [3, 4, 5]], dtype=int16)
    """
    with IdxReader(path, sha256) as reader:
        arr = allocate(reader, reader.shape, reader.dtype)
        reader.read_into(arr)
        reader.finish()
    return to_native(arr)


def read_images(
    path: Any, sha256: str | None, dtype: np.dtype
) -> tuple[np.ndarray, tuple[int, ...]]:
    """Read uint8 images (n, h, w) as floats ``pixel / 255`` of shape (n, h*w).

    The pixels are converted piece by piece into the preallocated result, so
    the only memory beyond the result is one piece of a few megabytes.
    """
    with IdxReader(path, sha256) as reader:
        if reader.dtype != np.uint8 or len(reader.shape) < 2:
            raise _error(
                reader.path,
                f"does not hold images: expected uint8 of shape (n, height, "
                f"width), got {reader.dtype.name} of shape {reader.shape}",
            )
        n = reader.shape[0]
        image_shape = tuple(reader.shape[1:])
        row = math.prod(image_shape)
        out = allocate(reader, (n, row), dtype)
        rows = max(1, _PIECE // max(row, 1))
        piece = np.empty((min(rows, n), row), dtype=np.uint8)
        scale = dtype.type(255)
        for start in range(0, n, rows):
            stop = min(n, start + rows)
            chunk = piece[: stop - start]
            reader.read_into(chunk)
            # Division, not multiplication by 1/255: the result is the
            # correctly rounded pixel/255 in the target dtype.
            np.divide(chunk, scale, out=out[start:stop])
        reader.finish()
    return out, image_shape


def decompressed_sha256(path: Any, max_bytes: int | None = None) -> str:
    """SHA-256 of a file's content after gunzip (if it is gzip'd).

    With ``max_bytes``, content longer than that is refused as soon as it is
    seen (a gzip bomb is not hashed to its end)."""
    path = as_path(path)
    digest = hashlib.sha256()
    buf = bytearray(_PIECE)
    view = memoryview(buf)
    total = 0
    try:
        with open_regular(path, lambda p: _error(path, p)) as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            stream: BinaryIO = gzip.GzipFile(fileobj=raw) if compressed else raw
            with stream:
                while n := stream.readinto(view):
                    digest.update(view[:n])
                    total += n
                    if max_bytes is not None and total > max_bytes:
                        raise _error(
                            path,
                            f"decompresses to more than the {max_bytes} bytes "
                            f"expected: not the file expected",
                        )
    except EOFError:
        raise _error(path, "is truncated: the gzip stream ends early") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise _error(path, f"has a corrupt gzip stream: {exc}") from None
    except OSError as exc:
        raise _error(path, f"could not be read: {exc}") from None
    return digest.hexdigest()


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == _GZIP_MAGIC


def save_idx(
    path: str | os.PathLike,
    array: Any,
    *,
    compress: bool | None = None,
    compresslevel: int = 6,
) -> Path:
    """Write an array to an IDX file, atomically.

    The file is written to a temporary file in the same folder and moved into
    place only when complete, so a reader never sees half a file. gzip output
    is reproducible: the same array gives the same bytes (no time stamp or
    file name is stored in the gzip header).

    Parameters
    ----------
    path : str or os.PathLike
        Where to write.
    array : array_like
        Any shape with 1 to 255 dimensions, each below 2**32; dtype uint8,
        int8, int16, int32, float32 or float64 (any byte order; IDX stores
        big-endian).
    compress : bool, optional
        Whether to gzip the file. By default, when ``path`` ends in ``.gz``.
    compresslevel : int
        gzip compression level, 1 (fast) to 9 (small).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    InvalidParameterError
        If the array has a dtype or shape IDX cannot store.
    WriteError
        An ``OSError``: the file cannot be written (a full disk, a read-only
        folder); nothing is left behind.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> import numpy as np
    >>> from mlpinspect.datasets import load_idx, save_idx
    >>> path = save_idx(pathlib.Path(tempfile.mkdtemp()) / "x.idx", [1.5, -2.0])
    >>> load_idx(path)
    array([ 1.5, -2. ])
    """
    from .._validation import check_int

    path = check_output_path(as_path(path), "path")
    arr = np.asarray(array)
    code = _CODES.get((arr.dtype.kind, arr.dtype.itemsize))
    if code is None:
        raise InvalidParameterError(
            f"`array` must have an IDX data type ({_KNOWN}); got dtype {arr.dtype}"
        )
    if not 1 <= arr.ndim <= 255:
        raise InvalidParameterError(
            f"`array` must have 1 to 255 dimensions; got shape {arr.shape}"
        )
    if max(arr.shape) >= 2**32:
        raise InvalidParameterError(
            f"`array` dimensions must be below 2**32; got shape {arr.shape}"
        )
    compresslevel = check_int(compresslevel, "compresslevel", minimum=0, maximum=9)
    if compress is None:
        compress = path.name.endswith(".gz")
    elif not isinstance(compress, (bool, np.bool_)):
        raise InvalidParameterError(
            f"`compress` must be None (from the suffix), True or False; got "
            f"{compress!r:.60} ({type(compress).__name__})"
        )
    header = struct.pack(f">BBBB{arr.ndim}I", 0, 0, code, arr.ndim, *arr.shape)
    data = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder(">"))

    def write(raw: BinaryIO) -> None:
        if compress:
            with gzip.GzipFile(
                filename="", mode="wb", fileobj=raw, compresslevel=compresslevel,
                mtime=0,
            ) as out:  # fmt: skip
                _write(out, header, data)
        else:
            _write(raw, header, data)

    return atomic_write(path, write, name="path")


def _write(out: BinaryIO, header: bytes, data: np.ndarray) -> None:
    out.write(header)
    flat = memoryview(data.reshape(-1).view(np.uint8))
    for start in range(0, len(flat), _PIECE):
        out.write(flat[start : start + _PIECE])
