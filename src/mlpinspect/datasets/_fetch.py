"""Downloading data files into the cache, verified and bounded.

A file enters the cache only after the SHA-256 of its *decompressed* content
matched: it is downloaded to a temporary file in the cache folder (whose name
no loader looks for), checked, and then renamed into place. Whatever goes
wrong (an HTTP error, a dropped connection, a checksum mismatch) the temporary
file is removed, so the cache never holds a file a later call would trust.
Mirrors are tried in order; when all fail, the error lists each one's failure.

No server can make a download run forever or fill the disk: each file has a
deadline (:data:`DEADLINE`, ten minutes) and a size cap, its expected size
(known for MNIST from :data:`~mlpinspect.datasets.MNIST_SHA256`'s companion
table) plus a margin; a larger announced length is refused before reading,
and a longer stream is cut where it passes the cap. A stalled connection is
abandoned after 30 seconds without data. The cache folder is checked before
anything is downloaded.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

from .._io import create_temp, write_error
from ..errors import DownloadError, InvalidParameterError, MlpinspectError
from ._idx import as_path, decompressed_sha256, is_gzip

__all__ = ["MNIST_MIRRORS", "mnist_cache_dir"]

logger = logging.getLogger("mlpinspect.datasets")

#: Public mirrors of the MNIST IDX files, tried in this order. Each serves
#: ``train-images-idx3-ubyte.gz`` and the three other files under its URL.
MNIST_MIRRORS: tuple[str, ...] = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)

DATA_DIR_ENV = "MLPINSPECT_DATA_DIR"
_TIMEOUT = 30  # seconds without data before a download is abandoned
DEADLINE = 600.0
"""Seconds a file's download may take in all before it is abandoned."""
_CHUNK = 1 << 16


def size_cap(expected: int) -> int:
    """Bytes a download of a file of ``expected`` bytes may take: gzip adds a
    header and, on incompressible data, a fraction of a percent."""
    return expected + expected // 50 + 4096


def mnist_cache_dir() -> Path:
    """The folder where downloaded MNIST files are cached.

    It is ``$MLPINSPECT_DATA_DIR/mnist`` when the environment variable
    ``MLPINSPECT_DATA_DIR`` is set, else ``mnist`` inside the platform's user
    cache folder for mlpinspect (``pooch.os_cache("mlpinspect")``, e.g.
    ``~/.cache/mlpinspect/mnist`` on Linux). The folder is not created here.

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> from mlpinspect.datasets import mnist_cache_dir
    >>> mnist_cache_dir().name
    'mnist'
    """
    root = os.environ.get(DATA_DIR_ENV)
    if root:
        return Path(root).expanduser() / "mnist"
    import pooch  # imported here: `import mlpinspect` stays light

    return Path(pooch.os_cache("mlpinspect")) / "mnist"


def check_mirrors(mirrors: Any) -> tuple[str, ...]:
    """Validate a mirror list: URLs of folders (http, https or ftp)."""
    if mirrors is None:
        return MNIST_MIRRORS
    if isinstance(mirrors, str):
        mirrors = (mirrors,)
    try:
        mirrors = tuple(mirrors)
    except TypeError:
        raise InvalidParameterError(
            f"`mirrors` must be a sequence of URLs; got {type(mirrors).__name__}"
        ) from None
    if not mirrors:
        raise InvalidParameterError("`mirrors` must hold at least one URL; got none")
    for url in mirrors:
        if not isinstance(url, str) or urlsplit(url).scheme not in (
            "http",
            "https",
            "ftp",
        ):
            raise InvalidParameterError(
                f"`mirrors` must hold http://, https:// or ftp:// URLs; got {url!r}"
            )
    return mirrors


class _CappedFile:
    """A file to download into that refuses more than ``cap`` bytes or a
    write after ``deadline`` (``time.monotonic()``)."""

    def __init__(self, fh: BinaryIO, cap: int | None, deadline: float) -> None:
        self._fh, self._cap, self._deadline = fh, cap, deadline
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        if self._cap is not None and self.written > self._cap:
            raise DownloadError(
                f"the server sent more than the expected {self._cap} bytes: "
                f"refused (not the file expected)"
            )
        if time.monotonic() > self._deadline:
            raise DownloadError("the download passed its deadline")
        return self._fh.write(data)

    def flush(self) -> None:
        self._fh.flush()


def _ssl_context() -> Any:
    import ssl

    try:  # certifi comes with pooch's requests; the system's CAs otherwise
        import certifi

        return ssl.create_default_context(cafile=certifi.where())
    except ImportError:  # pragma: no cover - certifi is always there with pooch
        return ssl.create_default_context()


def http_download(url: str, out: _CappedFile, cap: int | None, deadline: float) -> None:
    """GET ``url`` into ``out``, never past ``cap`` bytes or ``deadline``.

    Reads what the socket has (``read1``), so even a server dripping one
    byte at a time is stopped at the deadline, within one read timeout.
    """
    import urllib.request

    request = urllib.request.Request(url, headers={"User-Agent": "mlpinspect"})
    context = _ssl_context() if url.startswith("https:") else None
    with urllib.request.urlopen(request, timeout=_TIMEOUT, context=context) as resp:
        announced = resp.headers.get("Content-Length")
        length = int(announced) if announced and announced.isdigit() else None
        if cap is not None and length is not None and length > cap:
            raise DownloadError(
                f"the server announces {length} bytes, more than the expected "
                f"{cap}: refused before reading"
            )
        while True:
            if time.monotonic() > deadline:
                raise DownloadError("the download passed its deadline")
            data = resp.read1(_CHUNK)
            if not data:
                break
            out.write(data)
        if length is not None and out.written < length:
            raise DownloadError(
                f"IncompleteRead: the connection closed after {out.written} of "
                f"{length} bytes"
            )


def _default_downloader(url: str) -> Callable[..., Any] | None:
    """A pooch downloader for ftp URLs; None: our own HTTP(S) download."""
    if urlsplit(url).scheme == "ftp":
        import pooch

        return pooch.FTPDownloader(progressbar=False, timeout=_TIMEOUT)
    return None


def check_cache_dir(cache_dir: Any) -> Path:
    """The cache folder, created and proven writable, or an error naming it."""
    folder = as_path(cache_dir, "cache_dir")
    if folder.exists() and not folder.is_dir():
        raise InvalidParameterError(f"`cache_dir` must be a folder; {folder} is a file")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = create_temp(folder, "write-test", ".part")
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise write_error(exc, "cache_dir", folder) from None
    return folder


def fetch_files(
    names: Sequence[str],
    hashes: Mapping[str, str],
    mirrors: Sequence[str],
    cache_dir: str | os.PathLike,
    *,
    downloader: Callable[[str], Callable[..., Any] | None] | None = None,
    sizes: Mapping[str, int] | None = None,
    deadline: float = DEADLINE,
) -> dict[str, Path]:
    """Download ``<mirror>/<name>.gz`` for each name into ``cache_dir``.

    Parameters
    ----------
    names : sequence of str
        File names without ``.gz`` (``"train-images-idx3-ubyte"``).
    hashes : mapping
        name -> SHA-256 of the decompressed content.
    mirrors : sequence of str
        Base URLs, tried in order until one gives a file that verifies.
    cache_dir : path
        Destination folder (created if needed, and checked to be writable
        before any download).
    downloader : callable, optional
        ``downloader(url)`` returns a pooch-style downloader
        ``(url, output_file, pooch)`` for that URL, or None for the built-in
        HTTP(S) download. By default: built in for HTTP(S), pooch's
        ``FTPDownloader`` for ftp.
    sizes : mapping, optional
        name -> size in bytes of the decompressed content: a download may
        take at most :func:`size_cap` of it, and its content must not
        decompress to more.
    deadline : float
        Seconds each file's download may take (:data:`DEADLINE`).

    Returns
    -------
    dict
        name -> path of the verified file in the cache. The file is named
        ``<name>.gz``, or ``<name>`` if the server sent it uncompressed.

    Raises
    ------
    DownloadError
        If no mirror gave a file with the expected checksum; the message
        names the file and lists every mirror's failure.
    InvalidParameterError, WriteError
        If ``cache_dir`` is a file or cannot be written (before any
        download).
    """
    cache_dir = check_cache_dir(cache_dir)
    make = downloader or _default_downloader
    found = {}
    for name in names:
        expected = hashes[name].lower()
        size = None if sizes is None else sizes.get(name)
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name + ".gz"
            try:
                found[name] = _fetch_one(
                    url, name, expected, cache_dir, make, size, deadline
                )
                break
            except Exception as exc:  # any failure: try the next mirror
                failures.append(f"  {url}: {type(exc).__name__}: {exc}")
                logger.info("Download of %s failed: %s", url, exc)
        else:
            raise DownloadError(
                f"could not download MNIST file '{name}.gz' (SHA-256 of its "
                f"content {expected}) from any mirror; nothing was cached in "
                f"'{cache_dir}':\n" + "\n".join(failures)
            )
    return found


def _fetch_one(
    url: str,
    name: str,
    expected: str,
    cache_dir: Path,
    make: Callable[[str], Callable[..., Any] | None],
    size: int | None,
    deadline: float,
) -> Path:
    """Download one URL to a temporary file, verify it, move it into place."""
    cap = None if size is None else size_cap(size)
    until = time.monotonic() + deadline
    fd, tmp = create_temp(cache_dir, name, ".part")
    try:
        logger.info("Downloading %s", url)
        download = make(url)
        with open(fd, "wb") as fh:
            out = _CappedFile(fh, cap, until)
            if download is None:
                http_download(url, out, cap, until)
            else:
                # pooch's own hash check (known_hash) would apply to the .gz as
                # served, which differs between mirrors; we check the content.
                download(url, out if cap is not None else str(tmp), None)
        if cap is not None and tmp.stat().st_size > cap:
            raise DownloadError(f"the file is larger than the expected {cap} bytes")
        actual = decompressed_sha256(tmp, max_bytes=size)
        if actual != expected:
            raise DownloadError(
                f"checksum mismatch for '{name}.gz': expected SHA-256 {expected} "
                f"(of the decompressed content), got {actual}"
            )
        target = cache_dir / (name + ".gz" if is_gzip(tmp) else name)
        os.replace(tmp, target)
        return target
    except MlpinspectError:
        raise
    except OSError as exc:  # a timeout, a refused connection, an HTTP error
        raise DownloadError(f"{type(exc).__name__}: {exc}") from None
    finally:
        tmp.unlink(missing_ok=True)
