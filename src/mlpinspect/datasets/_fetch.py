"""Downloading data files into the cache, verified, with pooch.

A file enters the cache only after the SHA-256 of its *decompressed* content
matched: it is downloaded to a temporary file in the cache folder (whose name
no loader looks for), checked, and then renamed into place. Whatever goes
wrong (an HTTP error, a dropped connection, a checksum mismatch) the temporary
file is removed, so the cache never holds a file a later call would trust.
Mirrors are tried in order; when all fail, the error lists each one's failure.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import DownloadError, InvalidParameterError
from ._idx import as_path, create_temp, decompressed_sha256, is_gzip

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


def _default_downloader(url: str) -> Callable[..., Any]:
    import pooch

    if urlsplit(url).scheme == "ftp":
        return pooch.FTPDownloader(progressbar=False, timeout=_TIMEOUT)
    return pooch.HTTPDownloader(progressbar=False, timeout=_TIMEOUT, chunk_size=65536)


def fetch_files(
    names: Sequence[str],
    hashes: Mapping[str, str],
    mirrors: Sequence[str],
    cache_dir: str | os.PathLike,
    *,
    downloader: Callable[[str], Callable[..., Any]] | None = None,
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
        Destination folder (created if needed).
    downloader : callable, optional
        ``downloader(url)`` returns a pooch downloader for that URL. By
        default ``pooch.HTTPDownloader`` (``FTPDownloader`` for ftp URLs).

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
    """
    cache_dir = as_path(cache_dir, "cache_dir")
    cache_dir.mkdir(parents=True, exist_ok=True)
    make = downloader or _default_downloader
    found = {}
    for name in names:
        expected = hashes[name].lower()
        failures = []
        for mirror in mirrors:
            url = mirror.rstrip("/") + "/" + name + ".gz"
            try:
                found[name] = _fetch_one(url, name, expected, cache_dir, make)
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
    make: Callable[[str], Callable[..., Any]],
) -> Path:
    """Download one URL to a temporary file, verify it, move it into place."""
    fd, tmp = create_temp(cache_dir, name, ".part")
    os.close(fd)
    try:
        logger.info("Downloading %s", url)
        # pooch's own hash check (known_hash) would apply to the .gz as served,
        # which differs between mirrors; we check the decompressed content.
        make(url)(url, str(tmp), None)
        actual = decompressed_sha256(tmp)
        if actual != expected:
            raise DownloadError(
                f"checksum mismatch for '{name}.gz': expected SHA-256 {expected} "
                f"(of the decompressed content), got {actual}"
            )
        # requests may already have undone a Content-Encoding: gzip.
        target = cache_dir / (name + ".gz" if is_gzip(tmp) else name)
        os.replace(tmp, target)
        return target
    finally:
        tmp.unlink(missing_ok=True)
