"""Checks against the real MNIST (and Nielsen's pickle of it).

They run when ``MLPINSPECT_MNIST_DIR`` names a folder holding the four MNIST
IDX files (CI points it at ``../shared/data/mnist``) and skip otherwise.
Nielsen's ``mnist.pkl.gz`` is looked for in ``../nielsen/`` beside that
folder, as in ``../shared/data``.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from mlpinspect.datasets import (
    MNIST_SHA256,
    _sample,
    load_idx,
    load_mnist,
    load_mnist_sample,
    load_nielsen_pickle,
)
from mlpinspect.datasets._idx import decompressed_sha256
from mlpinspect.datasets._mnist import MNIST_NAMES, find_files

pytestmark = pytest.mark.slow

# From ../shared/data/README.md.
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
FIRST_TRAIN = [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
FIRST_TEST = [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
TOOL = Path(__file__).resolve().parents[2] / "tools" / "make_mnist_sample.py"


@pytest.fixture(scope="module")
def mnist(real_mnist_dir):
    return load_mnist(real_mnist_dir)


@pytest.fixture(scope="module")
def pixels(real_mnist_dir):
    """The raw uint8 images and labels, read with the generic IDX reader."""
    files, _ = find_files(real_mnist_dir, MNIST_NAMES)
    return {name: load_idx(files[name]) for name in MNIST_NAMES}


@pytest.fixture(scope="module")
def nielsen_pickle(real_mnist_dir):
    path = real_mnist_dir.parent / "nielsen" / "mnist.pkl.gz"
    if not path.is_file():
        pytest.skip(f"Nielsen's pickle is not at {path}")
    return path


def test_counts_and_first_labels(mnist):
    assert mnist.X_train.shape == (60_000, 784)
    assert mnist.X_test.shape == (10_000, 784)
    assert mnist.X_train.dtype == np.float32
    assert mnist.image_shape == (28, 28)
    assert np.bincount(mnist.y_train).tolist() == TRAIN_COUNTS
    assert np.bincount(mnist.y_test).tolist() == TEST_COUNTS
    assert mnist.y_train[:10].tolist() == FIRST_TRAIN
    assert mnist.y_test[:10].tolist() == FIRST_TEST


def test_images_are_pixels_over_255(mnist, pixels):
    for X, name in ((mnist.X_train, MNIST_NAMES[0]), (mnist.X_test, MNIST_NAMES[2])):
        p = pixels[name].reshape(len(X), 784)
        assert np.array_equal(X, p.astype(np.float32) / np.float32(255))


def test_nielsen_split(mnist):
    (X_tr, _), (X_va, _), (X_te, _) = mnist.nielsen_split()
    assert (len(X_tr), len(X_va), len(X_te)) == (50_000, 10_000, 10_000)
    assert np.array_equal(X_va, mnist.X_train[50_000:])


def test_environment_variable_is_used(real_mnist_dir, monkeypatch):
    monkeypatch.setenv("MLPINSPECT_MNIST_DIR", str(real_mnist_dir))
    data = load_mnist(download=False, cache_dir="/nonexistent/cache")
    assert "MLPINSPECT_MNIST_DIR" in data.source
    assert data.y_test[:10].tolist() == FIRST_TEST


def test_nielsen_pickle_equals_idx(nielsen_pickle, pixels, mnist):
    stored = load_nielsen_pickle(nielsen_pickle)
    train_px = pixels[MNIST_NAMES[0]].reshape(60_000, 784)
    test_px = pixels[MNIST_NAMES[2]].reshape(10_000, 784)
    expected = [
        (train_px[:50_000], pixels[MNIST_NAMES[1]][:50_000]),
        (train_px[50_000:], pixels[MNIST_NAMES[1]][50_000:]),
        (test_px, pixels[MNIST_NAMES[3]]),
    ]
    for (X, y), (p, labels) in zip(stored, expected):
        assert X.dtype == np.float32
        assert np.array_equal(X * 256, p)  # pixel / 256, exactly, all 70,000
        assert np.array_equal(y, labels)
    del stored
    rescaled = load_nielsen_pickle(nielsen_pickle, pixel_scale=255)
    for (X, y), (X_idx, y_idx) in zip(rescaled, mnist.nielsen_split()):
        assert np.array_equal(X, X_idx)
        assert np.array_equal(y, y_idx)


def test_sample_rows_are_mnist_rows(mnist):
    sample = load_mnist_sample()
    indices = _sample.sample_manifest()["indices"]
    assert np.array_equal(sample.X_train, mnist.X_train[indices["train"]])
    assert np.array_equal(sample.y_train, mnist.y_train[indices["train"]])
    assert np.array_equal(sample.X_test, mnist.X_test[indices["test"]])
    assert np.array_equal(sample.y_test, mnist.y_test[indices["test"]])


def test_sample_tool_is_deterministic(real_mnist_dir, tmp_path):
    spec = importlib.util.spec_from_file_location("make_mnist_sample", TOOL)
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    assert tool.main([str(real_mnist_dir), "--output", str(tmp_path)]) == 0
    shipped = _sample.sample_manifest()
    rebuilt = json.loads((tmp_path / "mnist-sample.json").read_text())
    assert rebuilt == shipped
    for name, entry in shipped["files"].items():
        assert decompressed_sha256(tmp_path / name) == entry["sha256"]


def test_download_of_the_real_files(real_mnist_dir, http_server, clean_env):
    files, _ = find_files(real_mnist_dir, MNIST_NAMES)
    served = {}
    for name, path in files.items():  # serve each as name.gz, as mirrors do
        body = path.read_bytes()
        served[f"{name}.gz"] = body
    mirror = http_server.serve("mnist", served)
    data = load_mnist(mirrors=[mirror])
    assert np.bincount(data.y_train).tolist() == TRAIN_COUNTS
    cached = sorted(p.name for p in clean_env.iterdir())
    assert len(cached) == 4
    for name in MNIST_NAMES:
        cached_file = next(clean_env.glob(name + "*"))
        assert decompressed_sha256(cached_file) == MNIST_SHA256[name]
    shutil.rmtree(clean_env)
