"""The result types of the MNIST loaders."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from .._validation import check_float_dtype as _check_float_dtype
from .._validation import is_sequence
from ..errors import DatasetError, InvalidParameterError

__all__ = ["MNIST", "NielsenSplit", "Subset"]


def check_digit_labels(y: np.ndarray, what: str) -> np.ndarray:
    """MNIST labels as int64, after checking they are the digits 0 to 9.

    Checked on the stored integers before any conversion: a uint64
    ``2**64 - 1`` would wrap to ``-1`` (the last class, silently) in int64.
    """
    if y.dtype.kind not in "iu":
        raise DatasetError(f"{what} must be integers; got dtype {y.dtype}")
    if y.size and (y.min() < 0 or y.max() > 9):
        bad = y[(y < 0) | (y > 9)]
        raise DatasetError(
            f"{what} must be digits 0 to 9; got {bad.size} outside, e.g. "
            f"{bad[0].item()}"
        )
    return y.astype(np.int64, copy=False)


class Subset(NamedTuple):
    """Images and their labels; unpacks as ``X, y = subset``.

    Attributes
    ----------
    X : numpy.ndarray, shape (n, 784)
        Images, one flattened image per row.
    y : numpy.ndarray, shape (n,)
        Integer labels (int64).

    Examples
    --------
    >>> from mlpinspect.datasets import load_mnist_sample
    >>> train, validation, test = load_mnist_sample().nielsen_split()
    >>> X, y = test
    >>> X.shape, y.shape
    ((2000, 784), (2000,))
    """

    X: np.ndarray
    y: np.ndarray


class NielsenSplit(NamedTuple):
    """Training, validation and test data as in Nielsen's book.

    Unpacks like the 3-tuple his ``mnist_loader.load_data()`` returns:
    ``(X_tr, y_tr), (X_va, y_va), (X_te, y_te) = split``.

    Examples
    --------
    >>> from mlpinspect.datasets import load_mnist_sample
    >>> split = load_mnist_sample().nielsen_split()
    >>> len(split.train.X), len(split.validation.X), len(split.test.X)
    (8330, 1670, 2000)
    """

    train: Subset
    validation: Subset
    test: Subset


def check_float_dtype(dtype: Any) -> np.dtype:
    """Accept float32 or float64 (in any spelling numpy understands).

    ``np.dtype("float64") == None`` is True, so an unreadable ``dtype`` must
    never become None and be compared: the shared check refuses it.
    """
    return _check_float_dtype(dtype, "dtype")


@dataclass(frozen=True, eq=False, repr=False)
class MNIST:
    """MNIST-style images and labels, ready for a network.

    Images are flattened rows of floats ``pixel / 255`` in [0, 1] (float32 by
    default), labels are ``int64`` digits. The arrays are ordinary writable
    numpy arrays owned by this object; the object itself is frozen.

    Attributes
    ----------
    X_train : numpy.ndarray, shape (n_train, 784)
        Training images (60,000 for the full MNIST).
    y_train : numpy.ndarray, shape (n_train,)
        Training labels.
    X_test : numpy.ndarray, shape (n_test, 784)
        Test images (10,000 for the full MNIST).
    y_test : numpy.ndarray, shape (n_test,)
        Test labels.
    image_shape : tuple of int
        Shape of one image, ``(28, 28)``: ``X_train[i].reshape(image_shape)``.
    source : str
        Where the data were loaded from.
    validation_start : int, optional
        Index of the first training image that Nielsen's split puts into the
        validation set (50,000 for the full MNIST). ``None`` means five sixths
        of the training images (rounded), the same proportion.

    Examples
    --------
    >>> from mlpinspect.datasets import load_mnist_sample
    >>> data = load_mnist_sample()
    >>> data.X_train.shape, data.X_train.dtype, data.y_train.dtype
    ((10000, 784), dtype('float32'), dtype('int64'))
    >>> (X_tr, y_tr), (X_va, y_va), (X_te, y_te) = data.nielsen_split()
    >>> len(X_tr), len(X_va), len(X_te)
    (8330, 1670, 2000)
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    image_shape: tuple[int, ...] = (28, 28)
    source: str = ""
    validation_start: int | None = None

    def __post_init__(self) -> None:
        shape = self.image_shape
        if is_sequence(shape):
            shape = tuple(shape)
        if (
            not isinstance(shape, tuple)
            or not shape
            or not all(
                isinstance(d, (int, np.integer)) and not isinstance(d, bool) and d >= 1
                for d in shape
            )
        ):
            raise InvalidParameterError(
                f"`image_shape` must be a tuple of positive integers such as (28, "
                f"28); got {shape!r:.60}"
            )
        image_shape = tuple(int(d) for d in shape)
        object.__setattr__(self, "image_shape", image_shape)
        size = math.prod(image_shape)
        for part in ("train", "test"):
            X = getattr(self, f"X_{part}")
            y = getattr(self, f"y_{part}")
            if not isinstance(X, np.ndarray) or X.ndim != 2 or X.shape[1] != size:
                raise InvalidParameterError(
                    f"`X_{part}` must be an array of shape (n, {size}) "
                    f"(image_shape {image_shape}); got "
                    f"{getattr(X, 'shape', type(X).__name__)}"
                )
            if not isinstance(y, np.ndarray) or y.shape != (X.shape[0],):
                raise InvalidParameterError(
                    f"`y_{part}` must be an array of shape ({X.shape[0]},), one "
                    f"label per image; got {getattr(y, 'shape', type(y).__name__)}"
                )
        start = self.validation_start
        if start is not None and (
            isinstance(start, bool) or not isinstance(start, (int, np.integer))
        ):
            raise InvalidParameterError(
                f"`validation_start` must be None or an integer; got {start!r:.40}"
            )
        if start is not None and not 0 < start < len(self.X_train):
            raise InvalidParameterError(
                f"`validation_start` must be between 1 and {len(self.X_train) - 1}; "
                f"got {start}"
            )

    @property
    def n_train(self) -> int:
        """Number of training images."""
        return len(self.X_train)

    @property
    def n_test(self) -> int:
        """Number of test images."""
        return len(self.X_test)

    def __repr__(self) -> str:
        return (
            f"MNIST(n_train={self.n_train}, n_test={self.n_test}, "
            f"image_shape={self.image_shape}, dtype={self.X_train.dtype}, "
            f"source={self.source!r})"
        )

    def nielsen_split(self) -> NielsenSplit:
        """Split the training images into training and validation sets.

        For the full MNIST this is the split of Nielsen's book: the first
        50,000 training images train, the last 10,000 validate, and the 10,000
        test images test. For the bundled sample (:func:`load_mnist_sample`)
        it is the same split restricted to the sample: 8,330 images drawn
        from Nielsen's training part and 1,670 from his validation part, 833
        and 167 of each digit. For other data it cuts at
        ``validation_start``, or at five sixths of the training images.

        Returns
        -------
        NielsenSplit
            ``(train, validation, test)``, each a :class:`Subset` ``(X, y)``.
            The arrays are views of this object's arrays (no copy).
        """
        start = self.validation_start
        if start is None:
            start = round(self.n_train * 5 / 6)
        return NielsenSplit(
            Subset(self.X_train[:start], self.y_train[:start]),
            Subset(self.X_train[start:], self.y_train[start:]),
            Subset(self.X_test, self.y_test),
        )
