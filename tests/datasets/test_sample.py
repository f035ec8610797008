"""The MNIST sample bundled in the package."""

from __future__ import annotations

import socket
from importlib import resources
from pathlib import Path

import numpy as np
import pytest

import mlpinspect
from mlpinspect.datasets import MNIST, _sample, load_idx, load_mnist_sample
from mlpinspect.datasets._idx import decompressed_sha256
from mlpinspect.errors import DatasetError, InvalidParameterError

DATA = resources.files("mlpinspect.datasets") / "data"


def test_shapes_balance_and_scaling():
    data = load_mnist_sample()
    assert isinstance(data, MNIST)
    assert data.X_train.shape == (10_000, 784)
    assert data.X_test.shape == (2_000, 784)
    assert data.X_train.dtype == np.float32
    assert data.y_train.dtype == np.int64
    assert data.image_shape == (28, 28)
    assert np.array_equal(np.bincount(data.y_train), [1000] * 10)
    assert np.array_equal(np.bincount(data.y_test), [200] * 10)
    for X in (data.X_train, data.X_test):
        assert X.min() == 0
        assert X.max() == 1
        pixels = X * np.float32(255)
        assert np.array_equal(pixels, np.round(pixels))  # whole pixels / 255
    assert "sample" in data.source
    assert data.X_train.flags.writeable


def test_float64_equals_pixels_over_255():
    data32 = load_mnist_sample()
    data64 = load_mnist_sample(dtype=np.float64)
    assert data64.X_train.dtype == np.float64
    pixels = load_idx(DATA / "mnist-sample-train-images-idx3-ubyte.gz")
    assert np.array_equal(data64.X_train, pixels.reshape(10_000, 784) / 255.0)
    assert np.array_equal(data32.X_train, data64.X_train.astype(np.float32))
    with pytest.raises(InvalidParameterError, match="`dtype`"):
        load_mnist_sample(dtype=int)


def test_nielsen_split_is_balanced():
    (X_tr, y_tr), (X_va, y_va), (X_te, _) = load_mnist_sample().nielsen_split()
    assert (len(X_tr), len(X_va), len(X_te)) == (8330, 1670, 2000)
    assert np.array_equal(np.bincount(y_tr), [833] * 10)
    assert np.array_equal(np.bincount(y_va), [167] * 10)


def test_manifest_describes_the_files():
    manifest = _sample.sample_manifest()
    for name, entry in manifest["files"].items():
        assert decompressed_sha256(DATA / name) == entry["sha256"]
        assert list(load_idx(DATA / name).shape) == entry["shape"]
    train = np.array(manifest["indices"]["train"])
    test = np.array(manifest["indices"]["test"])
    assert len(np.unique(train)) == len(train) == 10_000
    assert len(np.unique(test)) == len(test) == 2_000
    assert np.all(np.diff(train) > 0)
    assert train.max() < 60_000
    assert test.max() < 10_000
    assert manifest["validation_start"] == np.sum(train < 50_000) == 8330
    assert isinstance(manifest["seed"], int)


def test_files_ship_inside_the_package_and_are_small():
    package = Path(mlpinspect.__file__).parent / "datasets" / "data"
    names = sorted(p.name for p in package.iterdir())
    assert names == sorted(
        [*_sample.SAMPLE_FILES.values(), "mnist-sample.json", "LICENSE-MNIST.txt"]
    )
    total = sum(p.stat().st_size for p in package.iterdir())
    assert total < 3_000_000
    license_text = (package / "LICENSE-MNIST.txt").read_text()
    assert "CC BY-SA 3.0" in license_text
    assert "mnist-sample-*.gz" in license_text
    assert "LeCun" in license_text


def test_tampered_manifest_is_detected(monkeypatch):
    manifest = _sample.sample_manifest()
    name = _sample.SAMPLE_FILES["t10k-labels-idx1-ubyte"]
    manifest["files"][name]["sha256"] = "0" * 64
    monkeypatch.setattr(_sample, "sample_manifest", lambda: manifest)
    with pytest.raises(DatasetError, match="checksum") as info:
        load_mnist_sample()
    assert name in str(info.value)
    del manifest["files"][name]
    with pytest.raises(DatasetError, match="damaged"):
        load_mnist_sample()


def test_works_without_network(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("load_mnist_sample tried to use the network")

    monkeypatch.setattr(socket, "socket", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.delenv("MLPINSPECT_MNIST_DIR", raising=False)
    assert load_mnist_sample().n_train == 10_000
