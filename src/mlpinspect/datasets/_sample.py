"""The MNIST sample shipped inside the package."""

from __future__ import annotations

import json
from contextlib import ExitStack
from importlib import resources
from typing import Any

import numpy as np

from ..errors import DatasetError
from ._mnist import MNIST_NAMES, read_mnist_files
from ._types import MNIST, check_float_dtype

__all__ = ["load_mnist_sample"]

SAMPLE_MANIFEST = "mnist-sample.json"
#: MNIST file name -> file name of its sample in ``mlpinspect/datasets/data``.
SAMPLE_FILES = {name: f"mnist-sample-{name}.gz" for name in MNIST_NAMES}


def _data_folder() -> Any:
    return resources.files("mlpinspect.datasets") / "data"


def sample_manifest() -> dict:
    """The manifest of the bundled sample (hashes, seed, indices)."""
    resource = _data_folder() / SAMPLE_MANIFEST
    try:
        return json.loads(resource.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(
            f"the bundled MNIST sample's manifest '{resource}' could not be read "
            f"({type(exc).__name__}: {exc}); the installation is damaged"
        ) from None


def load_mnist_sample(*, dtype: Any = np.float32) -> MNIST:
    """Load the sample of MNIST shipped with mlpinspect (offline, verified).

    10,000 training and 2,000 test images drawn from the real MNIST,
    balanced over the ten digits (1,000 and 200 of each), in their original
    order. Of each digit's 1,000 training images, 833 come from the first
    50,000 MNIST training images and 167 from the last 10,000, so
    :meth:`MNIST.nielsen_split` gives Nielsen's split restricted to the
    sample: 8,330 training, 1,670 validation and 2,000 test images. The
    sample was drawn deterministically by ``tools/make_mnist_sample.py``; the
    indices into MNIST are in ``mnist-sample.json`` next to the data.
    Each file's decompressed content is checked against the SHA-256 in that
    manifest.

    MNIST is by Yann LeCun, Corinna Cortes and Christopher J.C. Burges and
    licensed CC BY-SA 3.0; so is this sample (see ``LICENSE-MNIST.txt`` in
    the package's ``datasets/data`` folder).

    Parameters
    ----------
    dtype : {numpy.float32, numpy.float64}
        The dtype of the images.

    Returns
    -------
    MNIST
        ``X_train`` (10000, 784), ``X_test`` (2000, 784) holding
        ``pixel / 255``; ``y_train``, ``y_test`` int64.

    Raises
    ------
    DatasetError
        If the bundled files are missing or fail their checksum (a damaged
        installation).

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect.datasets import load_mnist_sample
    >>> data = load_mnist_sample()
    >>> data.X_train.shape, data.X_test.shape
    ((10000, 784), (2000, 784))
    >>> np.bincount(data.y_test)
    array([200, 200, 200, 200, 200, 200, 200, 200, 200, 200])
    """
    dtype = check_float_dtype(dtype)
    manifest = sample_manifest()
    try:
        hashes = {n: manifest["files"][f]["sha256"] for n, f in SAMPLE_FILES.items()}
        validation_start = int(manifest["validation_start"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DatasetError(
            f"the bundled MNIST sample's manifest lacks {exc}; the installation "
            "is damaged"
        ) from None
    folder = _data_folder()
    with ExitStack() as stack:
        files = {
            name: stack.enter_context(resources.as_file(folder / file))
            for name, file in SAMPLE_FILES.items()
        }
        return read_mnist_files(
            files,
            hashes,
            dtype,
            "mlpinspect bundled MNIST sample (CC BY-SA 3.0)",
            validation_start,
        )
