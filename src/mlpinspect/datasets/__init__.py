"""MNIST in one line: readers, a bundled sample, verified download and cache.

Loading
-------
- :func:`load_mnist_sample` -- 10,000 training and 2,000 test images shipped
  inside the package: works offline, on any machine.
- :func:`load_mnist` -- the full MNIST (60,000 + 10,000), from a folder, the
  cache, or downloaded from public mirrors; always checked against the
  published SHA-256 of its content.
- :func:`load_keras_mnist_npz`, :func:`load_nielsen_pickle` -- the files
  Keras and Nielsen's book use, if you already have them.
- :func:`load_idx`, :func:`save_idx` -- any IDX file, of any dtype and rank.

All loaders return images as flattened rows of ``pixel / 255`` (float32 by
default, ``dtype=np.float64`` on request), labels as int64. Nielsen's pickle
stores ``pixel / 256``; :func:`load_nielsen_pickle` returns it as stored
unless asked for ``pixel_scale=255``.

Environment variables
---------------------
``MLPINSPECT_MNIST_DIR``
    A folder holding the four MNIST IDX files (gzip'd or not);
    :func:`load_mnist` reads them from there when no ``path`` is given.
``MLPINSPECT_DATA_DIR``
    The root of mlpinspect's data cache; MNIST goes into its ``mnist``
    subfolder. Default: the platform's user cache folder
    (``pooch.os_cache("mlpinspect")``).

Every error (a truncated or corrupt file, a wrong magic number, a checksum
mismatch, a refused pickle global, a failed download) raises
:class:`~mlpinspect.errors.DatasetError` (downloads:
:class:`~mlpinspect.errors.DownloadError`), naming the file and the problem.
"""

from __future__ import annotations

from ._fetch import MNIST_MIRRORS, mnist_cache_dir
from ._idx import IDX_DTYPES, load_idx, save_idx
from ._mnist import MNIST_SHA256, load_keras_mnist_npz, load_mnist
from ._pickle import load_nielsen_pickle
from ._sample import load_mnist_sample
from ._types import MNIST, NielsenSplit, Subset

__all__ = [
    "IDX_DTYPES",
    "MNIST",
    "MNIST_MIRRORS",
    "MNIST_SHA256",
    "NielsenSplit",
    "Subset",
    "load_idx",
    "load_keras_mnist_npz",
    "load_mnist",
    "load_mnist_sample",
    "load_nielsen_pickle",
    "mnist_cache_dir",
    "save_idx",
]
