"""Files, safely: nothing half-written, nothing left behind, no file can hurt.

Writing
-------
Every file mlpinspect writes (networks, IDX files, downloads, figures and
reports) goes to a hidden temporary file in the destination folder first and
is renamed into place only when complete (:func:`atomic_write`); on any error
or interrupt the temporary file is removed and the destination is left as it
was. A temporary name is ``.<name>~<host>-<pid>-<random>.tmp`` (``.part`` for
downloads), at most 255 bytes whatever the length of ``<name>``.

A process killed while writing (SIGKILL, a SIGTERM it does not handle, a
power cut) cannot remove its temporary file. Every write therefore first
removes the *stale* temporary files of ours in its folder
(:func:`clean_stale_temps`):

- one made on this machine by a process that no longer exists: at once (its
  writer is gone, so nobody will ever finish or rename it);
- one made on another machine (a shared folder), or named as mlpinspect 0.2
  named them (no process id): once it is older than :data:`STALE_AFTER`, an
  hour. Nothing of ours stays in progress that long: a network or a figure
  takes seconds, and a download has a deadline of ten minutes.

Write failures (a full disk, a read-only or missing folder) raise
:class:`~mlpinspect.errors.WriteError`, an ``OSError`` that names the
argument and keeps the ``errno``.

Reading
-------
:func:`open_regular` opens a file for reading only if it is a regular file:
a FIFO (which would block until a writer comes), a device (``/dev/zero``
never ends) or a folder is refused at once. :class:`NpzArchive` reads ``.npz``
archives without trusting them: the names, shapes and dtypes of every array
come from the zip directory and the ``.npy`` headers before anything is
decompressed or allocated; each array's size must agree with what the
directory says; pickled (object) arrays are refused; and an archive whose
arrays would need more than :data:`MAX_EXPANSION` times the file's size (a
decompression bomb, or a corrupt directory) is refused.
"""

from __future__ import annotations

import errno
import hashlib
import math
import os
import re
import secrets
import shutil
import socket
import stat
import time
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO, NamedTuple

import numpy as np

from .errors import InvalidParameterError, MlpinspectError, WriteError

__all__ = [
    "EXPANSION_FLOOR",
    "MAX_EXPANSION",
    "STALE_AFTER",
    "NpzArchive",
    "NpzMember",
    "atomic_write",
    "check_output_path",
    "clean_stale_temps",
    "create_temp",
    "host_tag",
    "is_own_temp",
    "open_regular",
    "write_error",
]

STALE_AFTER = 3600.0
"""Seconds after which a temporary file whose writer cannot be checked (made
on another machine, or by mlpinspect 0.2) is stale."""

_NAME_BYTES = 200  # of the target's name kept in a temporary name (255 in all)
_TEMP = re.compile(
    r"^\.(?P<stem>.*)~(?P<host>[0-9a-f]{4})-(?P<pid>\d{1,10})-[0-9a-f]{6}"
    r"\.(?:tmp|part)$",
    re.DOTALL,
)
_OLD_TEMP = re.compile(r"^\..+\.[0-9a-f]{8}\.(?:tmp|part)$", re.DOTALL)
_host: str | None = None


def host_tag() -> str:
    """Four hex digits naming this machine in temporary names."""
    global _host
    if _host is None:
        _host = hashlib.sha1(socket.gethostname().encode()).hexdigest()[:4]
    return _host


def is_own_temp(name: str) -> bool:
    """Whether ``name`` is one of mlpinspect's temporary file names."""
    return bool(_TEMP.match(name) or _OLD_TEMP.match(name))


def _process_exists(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):  # someone else's, or absurd
        return pid < 2**31
    return True


def _is_stale(entry: os.DirEntry, now: float) -> bool:
    match = _TEMP.match(entry.name)
    if match and match["host"] == host_tag():
        return not _process_exists(int(match["pid"]))
    if match or _OLD_TEMP.match(entry.name):
        try:
            return now - entry.stat(follow_symlinks=False).st_mtime > STALE_AFTER
        except OSError:
            return False
    return False


def clean_stale_temps(folder: str | os.PathLike) -> list[str]:
    """Remove the stale temporary files (and staging folders) of ours in
    ``folder`` (see the module documentation); return their names.

    Never raises: a file that cannot be removed is left for a later write.
    """
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        if not entry.name.startswith(".") or not _is_stale(entry, now):
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(entry.name)
        except OSError:
            continue
    return removed


def temp_name(name: str, suffix: str = ".tmp") -> str:
    """A fresh temporary name for ``name``: short enough for any target."""
    stem = os.fsencode(name)[:_NAME_BYTES]
    text = os.fsdecode(stem)
    while len(os.fsencode(text)) > _NAME_BYTES:  # pragma: no cover - odd bytes
        text = text[:-1]
    return f".{text}~{host_tag()}-{os.getpid()}-{secrets.token_hex(3)}{suffix}"


def create_temp(folder: Path, name: str, suffix: str = ".tmp") -> tuple[int, Path]:
    """Create a new, hidden temporary file in ``folder``; return (fd, path).

    Stale temporary files of ours in ``folder`` are removed first. Unlike
    ``tempfile.mkstemp`` (mode 0600) the file gets the usual mode (0666 less
    the umask), which it keeps when renamed into place.
    """
    clean_stale_temps(folder)
    while True:
        tmp = Path(folder) / temp_name(name, suffix)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 24 random bits collided
            continue
        return fd, tmp


def write_error(exc: OSError, name: str, path: Any) -> WriteError:
    """A :class:`WriteError` naming the argument, from an ``OSError``."""
    reason = exc.strerror or str(exc) or type(exc).__name__
    error = WriteError(f"`{name}` cannot be written: {path}: {reason}")
    error.errno = exc.errno
    return error


def check_output_path(path: Any, name: str = "path") -> Path:
    """``path`` as a Path naming a file to write, or an error naming ``name``."""
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not isinstance(path, str):
        raise InvalidParameterError(
            f"`{name}` must be a file path (str or os.PathLike); got "
            f"{type(path).__name__}"
        )
    if "\x00" in path:
        raise InvalidParameterError(f"`{name}` must not contain a NUL character")
    out = Path(path).expanduser()
    if not path or out.name in ("", ".", ".."):
        raise InvalidParameterError(
            f"`{name}` must name a file; got {path!r}, which names no file"
        )
    try:
        mode = os.stat(out).st_mode
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise InvalidParameterError(
                f"`{name}` is too long for the file system: {path!r:.80}"
            ) from None
        mode = None  # absent (or unreachable: the write will say so)
    except ValueError:
        mode = None
    if mode is not None and stat.S_ISDIR(mode):
        raise InvalidParameterError(f"`{name}` must name a file; {out} is a folder")
    if mode is not None and not stat.S_ISREG(mode):
        # Renaming over a FIFO or a device would replace it by a file.
        raise InvalidParameterError(
            f"`{name}` must name a regular file; {out} is "
            f"{'a FIFO' if stat.S_ISFIFO(mode) else 'a device or socket'}"
        )
    return out


def atomic_write(
    path: str | os.PathLike, write: Callable[[BinaryIO], Any], *, name: str = "path"
) -> Path:
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename.

    A crash, an exception or an interrupt while writing leaves ``path`` as it
    was (absent, or its previous complete version); an exception or an
    interrupt also leaves no temporary file (a crash leaves one, which the
    next write to the folder removes). An ``OSError`` (a full disk, a
    read-only folder) becomes a :class:`~mlpinspect.errors.WriteError`
    naming the argument ``name``.
    """
    path = check_output_path(path, name)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = create_temp(path.parent, path.name)
    except OSError as exc:
        raise write_error(exc, name, path) from None
    try:
        with open(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, MlpinspectError):
            raise write_error(exc, name, path) from None
        raise
    return path


# -- reading ---------------------------------------------------------------------------


def open_regular(
    path: Any, error: Callable[[str], Exception], *, what: str = "file"
) -> BinaryIO:
    """Open ``path`` for binary reading if it is a regular file.

    A FIFO is opened without blocking and refused, as are devices, folders
    and sockets. ``error(problem)`` builds the exception raised, e.g. a
    ``ModelFileError`` naming the file.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise error("no such file") from None
    except (OSError, ValueError) as exc:  # a folder on some systems, NUL bytes
        raise error(
            f"cannot be opened: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = (
                "a folder" if stat.S_ISDIR(mode)
                else "a FIFO" if stat.S_ISFIFO(mode)
                else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "a socket"
            )  # fmt: skip
            raise error(
                f"cannot be opened: it is not a regular file (it is {kind}); give "
                f"the {what}"
            )
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


MAX_EXPANSION = 100
"""An ``.npz`` archive may hold arrays of at most this many times its own
size (or :data:`EXPANSION_FLOOR` bytes, if more). Uncompressed archives
(``numpy.savez``, which :meth:`~mlpinspect.Network.save` writes) are about
their arrays' size, and compressed real weights barely shrink; only runs of
identical values compress a hundredfold."""

EXPANSION_FLOOR = 16 * 2**20
"""Bytes of arrays any ``.npz`` archive may hold, however small it is."""

_PIECE = 1 << 22  # bytes decompressed per read


class NpzMember(NamedTuple):
    """What the zip directory and the ``.npy`` header say about one array."""

    key: str
    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool
    nbytes: int
    header_size: int
    info: zipfile.ZipInfo


def _format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB", "PB"):
        if n < 1000 or unit == "PB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} PB"  # pragma: no cover


class NpzArchive:
    """An ``.npz`` archive whose arrays are checked before they are read.

    Opening reads the zip directory and each member's ``.npy`` header (a few
    hundred bytes each), and checks them (see the module documentation);
    :meth:`read` then decompresses one array into memory of exactly the
    size its header declared. Use as a context manager.

    Parameters
    ----------
    path : path-like
        The archive.
    error : callable
        ``error(problem)`` returns the exception to raise, e.g. a
        ``ModelFileError`` or ``DatasetError`` naming the file.

    Attributes
    ----------
    members : dict of str to NpzMember
        The arrays by name (without ``.npy``), in the archive's order.
    size : int
        The archive's size in bytes.
    """

    def __init__(self, path: Any, error: Callable[[str], Exception]) -> None:
        self._error = lambda problem: error(f"not a readable .npz file: {problem}")
        self._file = open_regular(path, error, what=".npz archive")
        try:
            self.size = os.fstat(self._file.fileno()).st_size
            try:
                magic = self._file.read(6)
            except OSError as exc:  # e.g. /proc/self/mem: EIO
                raise error(f"cannot be read: {exc.strerror or exc}") from None
            if magic == b"\x93NUMPY":
                raise error("holds a single array, not an .npz archive")
            self._file.seek(0)
            try:
                self._zip = zipfile.ZipFile(self._file)
            except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError,
                    EOFError, NotImplementedError) as exc:  # fmt: skip
                raise error(
                    f"not a readable .npz file ({type(exc).__name__}: {exc})"
                ) from None
            self.members = self._read_directory()
        except BaseException:
            self._file.close()
            raise

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        zf = getattr(self, "_zip", None)
        if zf is not None:
            zf.close()
        self._file.close()

    def _read_directory(self) -> dict[str, NpzMember]:
        members: dict[str, NpzMember] = {}
        infos = self._zip.infolist()
        for info in infos:
            name = info.filename
            if not name.endswith(".npy") or info.is_dir():
                raise self._error(
                    f"holds {name!r}, which is not a .npy array: not an .npz "
                    f"archive of arrays"
                )
            key = name[: -len(".npy")]
            if key in members:
                raise self._error(f"holds the array {key!r} twice")
            if info.flag_bits & 0x1:
                raise self._error(f"array {key!r} is encrypted")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise self._error(
                    f"array {key!r} uses zip compression method "
                    f"{info.compress_type}, which numpy never writes"
                )
            if info.compress_size > self.size:
                raise self._error(
                    f"array {key!r} claims {info.compress_size} compressed bytes, "
                    f"more than the {self.size}-byte file holds: it is corrupt"
                )
            members[key] = self._read_header(key, info)
        declared = sum(m.info.file_size for m in members.values())
        limit = max(MAX_EXPANSION * self.size, EXPANSION_FLOOR)
        if declared > limit:
            raise self._error(
                f"declares {_format_bytes(declared)} of arrays in a "
                f"{_format_bytes(self.size)} file, more than {MAX_EXPANSION} times "
                f"its size: refused before decompressing it (a decompression bomb, "
                f"or a corrupt archive). Archives saved by numpy.savez "
                f"(uncompressed) are always accepted"
            )
        return members

    def _read_header(self, key: str, info: zipfile.ZipInfo) -> NpzMember:
        fmt = np.lib.format
        try:
            with self._zip.open(info) as fh:
                version = fmt.read_magic(fh)
                if version == (1, 0):
                    shape, fortran, dtype = fmt.read_array_header_1_0(fh)
                elif version == (2, 0):
                    shape, fortran, dtype = fmt.read_array_header_2_0(fh)
                else:
                    raise self._error(
                        f"array {key!r} is in .npy format version {version}, which "
                        f"is not supported (1.0 and 2.0 are)"
                    )
                header_size = fh.tell()
        except MlpinspectError:
            raise
        except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error,
                SyntaxError, TypeError, RecursionError,
                NotImplementedError) as exc:  # fmt: skip
            raise self._error(
                f"array {key!r} has no valid .npy header ({type(exc).__name__}: {exc})"
            ) from None
        if dtype.hasobject:
            raise self._error(
                f"array {key!r} holds Python objects, which would have to be "
                f"unpickled: refused"
            )
        nbytes = math.prod(shape) * dtype.itemsize
        if header_size + nbytes != info.file_size:
            raise self._error(
                f"array {key!r}: its header declares shape {tuple(shape)} of "
                f"{dtype} ({nbytes} bytes), but the archive's directory says the "
                f"member holds {info.file_size - header_size} bytes of data: it is "
                f"corrupt"
            )
        return NpzMember(key, tuple(shape), dtype, bool(fortran), nbytes,
                         header_size, info)  # fmt: skip

    def read(self, key: str) -> np.ndarray:
        """Decompress array ``key`` (a new, writable array)."""
        member = self.members[key]
        count = math.prod(member.shape)
        out = np.empty(count, dtype=member.dtype)
        view = memoryview(out.view(np.uint8).reshape(-1)) if member.nbytes else None
        try:
            with self._zip.open(member.info) as fh:
                fh.read(member.header_size)
                pos = 0
                while view is not None and pos < member.nbytes:
                    n = fh.readinto(view[pos : pos + _PIECE])
                    if not n:
                        raise self._error(
                            f"array {key!r} is truncated: {pos} of {member.nbytes} "
                            f"bytes"
                        )
                    pos += n
                fh.read(1)  # reach the end: zipfile checks the CRC there
        except MlpinspectError:
            raise
        except (OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
            raise self._error(
                f"array {key!r} could not be read ({type(exc).__name__}: {exc})"
            ) from None
        if member.fortran_order and len(member.shape) > 1:
            return out.reshape(member.shape[::-1]).transpose()
        return out.reshape(member.shape)

    def __iter__(self) -> Iterator[str]:
        return iter(self.members)
