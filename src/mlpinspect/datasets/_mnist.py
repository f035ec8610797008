"""Loading the full MNIST: from a folder, the cache or the internet; and npz."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from .._io import NpzArchive
from ..errors import DatasetError, InvalidParameterError
from ._fetch import check_mirrors, fetch_files, mnist_cache_dir
from ._idx import as_path, load_idx, read_images
from ._types import MNIST, check_digit_labels, check_float_dtype

__all__ = ["MNIST_SHA256", "load_keras_mnist_npz", "load_mnist"]

MNIST_DIR_ENV = "MLPINSPECT_MNIST_DIR"

TRAIN_IMAGES = "train-images-idx3-ubyte"
TRAIN_LABELS = "train-labels-idx1-ubyte"
TEST_IMAGES = "t10k-images-idx3-ubyte"
TEST_LABELS = "t10k-labels-idx1-ubyte"
MNIST_NAMES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)

#: SHA-256 of the *decompressed* content of the four MNIST IDX files (the
#: ``.gz`` wrappers differ between mirrors; the content does not).
MNIST_SHA256: Mapping[str, str] = MappingProxyType(
    {
        TRAIN_IMAGES: (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        TRAIN_LABELS: (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        TEST_IMAGES: (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        TEST_LABELS: (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    }
)
#: Size in bytes of the decompressed content of each MNIST IDX file: a
#: download is capped a little above it (see ``_fetch.size_cap``).
MNIST_BYTES: Mapping[str, int] = MappingProxyType(
    {
        TRAIN_IMAGES: 16 + 60_000 * 28 * 28,
        TRAIN_LABELS: 8 + 60_000,
        TEST_IMAGES: 16 + 10_000 * 28 * 28,
        TEST_LABELS: 8 + 10_000,
    }
)
NIELSEN_VALIDATION_START = 50_000


def _candidates(name: str) -> tuple[str, ...]:
    """File names under which a folder may hold ``name``."""
    dotted = name.replace("-idx", ".idx")  # as some archives spell them
    return (name, name + ".gz", dotted, dotted + ".gz")


def find_files(folder: Path, names: Sequence[str]) -> tuple[dict, list]:
    """Map each name to an existing file in ``folder``; also list the missing."""
    found, missing = {}, []
    for name in names:
        for candidate in _candidates(name):
            # exists(), not is_file(): a FIFO or a folder of that name is
            # then refused by the reader, saying what it is.
            if (folder / candidate).exists():
                found[name] = folder / candidate
                break
        else:
            missing.append(name)
    return found, missing


def read_mnist_files(
    files: Mapping[str, Path],
    hashes: Mapping[str, str] | None,
    dtype: np.dtype,
    source: str,
    validation_start: int | None,
    names: Sequence[str] = MNIST_NAMES,
) -> MNIST:
    """Read four IDX files (train/test images/labels) into an :class:`MNIST`."""
    tr_img, tr_lab, te_img, te_lab = (files[n] for n in names)
    expect = (lambda n: hashes[n]) if hashes is not None else (lambda n: None)
    X_train, shape = read_images(tr_img, expect(names[0]), dtype)
    y_train = _labels(tr_lab, expect(names[1]), len(X_train), tr_img)
    X_test, test_shape = read_images(te_img, expect(names[2]), dtype)
    y_test = _labels(te_lab, expect(names[3]), len(X_test), te_img)
    if test_shape != shape:
        raise DatasetError(
            f"IDX file '{te_img}' holds images of shape {test_shape}, but the "
            f"training images in '{tr_img}' are {shape}"
        )
    if validation_start is not None and not 0 < validation_start < len(X_train):
        validation_start = None
    return MNIST(X_train, y_train, X_test, y_test, shape, source, validation_start)


def _labels(path: Path, sha256: str | None, n: int, images: Path) -> np.ndarray:
    labels = load_idx(path, sha256=sha256)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise DatasetError(
            f"IDX file '{path}' does not hold labels: expected integers of shape "
            f"(n,), got {labels.dtype} of shape {labels.shape}"
        )
    if len(labels) != n:
        raise DatasetError(
            f"IDX file '{path}' holds {len(labels)} labels, but '{images}' holds "
            f"{n} images"
        )
    return labels.astype(np.int64)


def load_mnist(
    path: str | os.PathLike | None = None,
    *,
    download: bool = True,
    cache_dir: str | os.PathLike | None = None,
    mirrors: Sequence[str] | None = None,
    dtype: Any = np.float32,
) -> MNIST:
    """Load the MNIST database of handwritten digits, verified.

    The four IDX files (``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
    ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``, each gzip'd
    (``.gz``) or not) are looked for, in this order:

    1. in the folder ``path``, if given;
    2. in the folder named by the environment variable
       ``MLPINSPECT_MNIST_DIR``, if set;
    3. in the cache folder ``cache_dir`` (default :func:`mnist_cache_dir`:
       ``$MLPINSPECT_DATA_DIR/mnist`` or the platform's user cache);
    4. else they are downloaded from ``mirrors`` into the cache (with
       ``download=True``).

    Every file's decompressed content is checked against the published
    SHA-256 (:data:`MNIST_SHA256`) before it is used, every time it is
    loaded. A cached file that fails the check is deleted and downloaded
    again (with ``download=True``), each bad file once. A download is capped
    at the file's known size and has a deadline of ten minutes.

    Parameters
    ----------
    path : str or os.PathLike, optional
        A folder holding the four files. It must hold all four.
    download : bool
        Whether to download missing files into the cache.
    cache_dir : str or os.PathLike, optional
        The cache folder. Default :func:`mnist_cache_dir`.
    mirrors : sequence of str, optional
        Base URLs to download from, tried in order. Default
        :data:`MNIST_MIRRORS`.
    dtype : {numpy.float32, numpy.float64}
        The dtype of the images. float32 (the default) needs 188 MB for the
        training images, float64 twice that.

    Returns
    -------
    MNIST
        ``X_train`` (60000, 784) and ``X_test`` (10000, 784) holding
        ``pixel / 255`` in [0, 1]; ``y_train``, ``y_test`` int64 digits;
        ``image_shape == (28, 28)``; ``source`` names the folder read; and
        :meth:`MNIST.nielsen_split` gives Nielsen's 50,000 / 10,000 / 10,000.

    Raises
    ------
    DatasetError
        If a file is missing (and may not be downloaded), corrupt, or has a
        different checksum; the message names the file.
    DownloadError
        If a file could not be downloaded from any mirror.
    InvalidParameterError, WriteError
        If ``cache_dir`` is a file or cannot be written, when a download is
        needed (checked before downloading).

    Notes
    -----
    Loading from the cache reads each file once, converting the pixels piece
    by piece into the result: the memory used beyond the result is a few
    megabytes.

    Examples
    --------
    >>> from mlpinspect.datasets import load_mnist
    >>> data = load_mnist()  # doctest: +SKIP
    >>> data.X_train.shape, data.y_test[:5]  # doctest: +SKIP
    ((60000, 784), array([7, 2, 1, 0, 4]))
    """
    dtype = check_float_dtype(dtype)
    if not isinstance(download, bool):
        raise InvalidParameterError(
            f"`download` must be True or False; got {download!r}"
        )
    mirrors = check_mirrors(mirrors)

    if path is not None:
        return _load_folder(as_path(path), dtype, "`path`")
    env = os.environ.get(MNIST_DIR_ENV)
    if env:
        return _load_folder(as_path(env), dtype, f"${MNIST_DIR_ENV}")

    cache = as_path(cache_dir, "cache_dir") if cache_dir is not None else None
    cache = cache or mnist_cache_dir()
    hashes = MNIST_SHA256
    files, missing = find_files(cache, MNIST_NAMES)
    if missing:
        if not download:
            raise DatasetError(
                f"MNIST is not in the cache folder '{cache}' (missing: "
                f"{', '.join(n + '.gz' for n in missing)}) and download=False. "
                f"Pass download=True, or a folder holding the files as `path` or "
                f"in ${MNIST_DIR_ENV}"
            )
        files.update(fetch_files(missing, hashes, mirrors, cache, sizes=MNIST_BYTES))
    source = f"{cache} (cache)"
    replaced: set[str] = set()
    while True:
        try:
            return read_mnist_files(
                files, hashes, dtype, source, NIELSEN_VALIDATION_START
            )
        except DatasetError as exc:
            bad = getattr(exc, "path", None)
            names = [n for n, p in files.items() if p == bad and n not in replaced]
            if not download or not names:
                raise
        # A cached file failed its check (disk corruption, or edited by hand):
        # replace it, once; the next read finds the next bad one, if any.
        name = names[0]
        replaced.add(name)
        bad.unlink(missing_ok=True)
        files.update(fetch_files([name], hashes, mirrors, cache, sizes=MNIST_BYTES))


def _load_folder(folder: Path, dtype: np.dtype, given_as: str) -> MNIST:
    if folder.is_file():
        raise DatasetError(
            f"{given_as} must be a folder holding the four MNIST IDX files; "
            f"'{folder}' is a file. Read Keras' mnist.npz with "
            "load_keras_mnist_npz() and Nielsen's mnist.pkl.gz with "
            "load_nielsen_pickle()"
        )
    if not folder.is_dir():
        raise DatasetError(f"{given_as}: the MNIST folder '{folder}' does not exist")
    files, missing = find_files(folder, MNIST_NAMES)
    if missing:
        raise DatasetError(
            f"{given_as}: the folder '{folder}' lacks the MNIST file(s) "
            f"{', '.join(missing)} (as .gz or uncompressed)"
        )
    return read_mnist_files(
        files,
        MNIST_SHA256,
        dtype,
        f"{folder} ({given_as})",
        NIELSEN_VALIDATION_START,
    )


_NPZ_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _npz_error(where: str):
    def error(problem: str) -> DatasetError:
        if problem == "no such file":
            return DatasetError(f"{where} does not exist")
        if "single array" in problem:
            return DatasetError(f"{where} holds a single array, not an npz archive")
        return DatasetError(f"{where} could not be read: {problem}")

    return error


def load_keras_mnist_npz(path: str | os.PathLike, *, dtype: Any = np.float32) -> MNIST:
    """Read MNIST from Keras' ``mnist.npz``.

    The file (as ``keras.datasets.mnist.load_data()`` caches it) holds the
    arrays ``x_train`` (n, 28, 28) uint8, ``y_train`` (n,), ``x_test`` and
    ``y_test``. It is read with ``allow_pickle=False``.

    Parameters
    ----------
    path : str or os.PathLike
        The ``.npz`` file.
    dtype : {numpy.float32, numpy.float64}
        The dtype of the images.

    Returns
    -------
    MNIST
        Images as ``pixel / 255`` rows, as :func:`load_mnist` returns them.

    Raises
    ------
    DatasetError
        If the file is missing, not a regular file, not an npz archive (or
        one declaring more than 100 times its size), lacks one of the four
        arrays, holds arrays of the wrong dtype or shape, or labels other
        than the digits 0 to 9. Shapes and dtypes are checked from the
        archive's headers before anything is decompressed.

    Examples
    --------
    >>> from mlpinspect.datasets import load_keras_mnist_npz
    >>> data = load_keras_mnist_npz("~/.keras/datasets/mnist.npz")  # doctest: +SKIP
    """
    dtype = check_float_dtype(dtype)
    path = as_path(path)
    where = f"npz file '{path}'"
    with NpzArchive(path, _npz_error(where)) as npz:
        missing = [k for k in _NPZ_KEYS if k not in npz.members]
        if missing:
            raise DatasetError(
                f"{where} lacks the array(s) {', '.join(missing)} "
                f"(it holds {', '.join(npz.members) or 'none'})"
            )
        for part in ("train", "test"):  # from the headers, before reading
            x, y = npz.members[f"x_{part}"], npz.members[f"y_{part}"]
            if x.dtype != np.uint8 or len(x.shape) != 3:
                raise DatasetError(
                    f"{where}: `x_{part}` must be uint8 images of shape (n, height, "
                    f"width); got {x.dtype} of shape {x.shape}"
                )
            if y.dtype.kind not in "iu" or y.shape != x.shape[:1]:
                raise DatasetError(
                    f"{where}: `y_{part}` must be {x.shape[0]} integer labels; got "
                    f"{y.dtype} of shape {y.shape}"
                )
        arrays = {k: npz.read(k) for k in _NPZ_KEYS}
    parts = []
    for part in ("train", "test"):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        y = check_digit_labels(y, f"{where}: `y_{part}`")
        X = np.empty((len(x), x.shape[1] * x.shape[2]), dtype=dtype)
        np.divide(x.reshape(len(x), -1), dtype.type(255), out=X)
        parts += [X, y]
    shapes = {arrays["x_train"].shape[1:], arrays["x_test"].shape[1:]}
    if len(shapes) != 1:
        raise DatasetError(
            f"{where}: training and test images differ in shape: {sorted(shapes)}"
        )
    start = NIELSEN_VALIDATION_START if len(parts[0]) == 60_000 else None
    return MNIST(*parts, tuple(shapes.pop()), f"{path} (Keras npz)", start)
