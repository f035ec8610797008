"""Writing files so that nothing is ever half-written.

Every file mlpinspect writes (networks, IDX files, downloads, figures and
reports) goes to a hidden temporary file in the destination folder first and is
renamed into place only when complete; on any error, or an interrupt, the
temporary file is removed and the destination is left as it was.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

__all__ = ["atomic_write", "create_temp"]


def create_temp(folder: Path, name: str, suffix: str = ".tmp") -> tuple[int, Path]:
    """Create a new, hidden temporary file in ``folder``; return (fd, path).

    Unlike ``tempfile.mkstemp`` (mode 0600) the file gets the usual mode
    (0666 less the umask), which it keeps when renamed into place.
    """
    while True:
        tmp = Path(folder) / f".{name}.{secrets.token_hex(4)}{suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 32 random bits collided
            continue
        return fd, tmp


def atomic_write(path: str | os.PathLike, write: Callable[[BinaryIO], Any]) -> Path:
    """Call ``write(binary_file)`` on a temporary file beside ``path``, then rename.

    A crash, an exception or an interrupt while writing leaves ``path`` as it
    was (absent, or its previous complete version) and no temporary file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = create_temp(path.parent, path.name)
    try:
        with open(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path
