"""load_keras_mnist_npz: Keras' mnist.npz layout, read without pickle."""

from __future__ import annotations

import numpy as np
import pytest

from mlpinspect.datasets import MNIST, load_keras_mnist_npz
from mlpinspect.errors import DatasetError, InvalidParameterError


def keras_arrays(n_train=8, n_test=4, seed=0):
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": rng.integers(0, 10, n_train, dtype=np.uint8),
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": rng.integers(0, 10, n_test, dtype=np.uint8),
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_reads_keras_layout(tmp_path, dtype):
    arrays = keras_arrays()
    path = tmp_path / "mnist.npz"
    np.savez_compressed(path, **arrays)
    data = load_keras_mnist_npz(path, dtype=dtype)
    assert isinstance(data, MNIST)
    assert data.image_shape == (28, 28)
    for part in ("train", "test"):
        x = arrays[f"x_{part}"]
        X = getattr(data, f"X_{part}")
        assert X.dtype == dtype
        assert np.array_equal(X, x.reshape(len(x), 784).astype(dtype) / dtype(255))
        y = getattr(data, f"y_{part}")
        assert y.dtype == np.int64
        assert np.array_equal(y, arrays[f"y_{part}"])
    assert "Keras" in data.source
    assert str(path) in data.source


def test_missing_key(tmp_path):
    arrays = keras_arrays()
    del arrays["y_test"]
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match="lacks the array\\(s\\) y_test") as info:
        load_keras_mnist_npz(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    ("key", "value", "match"),
    [
        ("x_train", np.zeros((8, 784), np.uint8), "`x_train` must be uint8 images"),
        ("x_test", np.zeros((4, 28, 28), np.float32), "`x_test` must be uint8"),
        ("y_train", np.zeros(7, np.uint8), "`y_train` must be 8 integer labels"),
        ("y_test", np.zeros(4, np.float64), "`y_test` must be 4 integer labels"),
        ("x_test", np.zeros((4, 20, 20), np.uint8), "differ in shape"),
    ],
)
def test_wrong_arrays(tmp_path, key, value, match):
    arrays = dict(keras_arrays(), **{key: value})
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=match):
        load_keras_mnist_npz(path)


def test_pickled_object_arrays_are_not_loaded(tmp_path):
    arrays = dict(keras_arrays(), y_test=np.array([1, 2, 3, "x"], dtype=object))
    path = tmp_path / "mnist.npz"
    np.savez(path, **arrays)
    with pytest.raises(DatasetError, match=r"could not be read.*pickle"):
        load_keras_mnist_npz(path)


def test_not_an_npz(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_keras_mnist_npz(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"PK\x03\x04 truncated zip")
    with pytest.raises(DatasetError, match="could not be read"):
        load_keras_mnist_npz(junk)
    single = tmp_path / "single.npy"
    np.save(single, np.zeros(3))
    with pytest.raises(DatasetError, match="not an npz archive"):
        load_keras_mnist_npz(single)


def test_bad_dtype(tmp_path):
    with pytest.raises(InvalidParameterError, match="`dtype`"):
        load_keras_mnist_npz(tmp_path / "x.npz", dtype=np.uint8)
