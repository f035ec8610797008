"""The study's questions on real MNIST, with a Nielsen-style 784-30-10 network.

Needs the MNIST IDX files in ``$MLPINSPECT_MNIST_DIR``; skipped otherwise. The
network is trained here for one epoch with plain numpy SGD (quadratic cost,
sigmoid units, randn initialisation, mini-batch 10, learning rate 3.0), so the
test depends on nothing but the analysis functions.
"""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from mlpinspect import MLP, Dense
from mlpinspect.analysis import (
    class_contributions,
    decompose,
    drift_from_init,
    smoothness,
    top_units,
    unit_importance,
    weight_images,
)

pytestmark = pytest.mark.slow


def _mnist_dir() -> Path:
    folder = os.environ.get("MLPINSPECT_MNIST_DIR")
    if not folder or not (Path(folder) / "t10k-images-idx3-ubyte.gz").is_file():
        pytest.skip("set MLPINSPECT_MNIST_DIR to a folder with the MNIST IDX files")
    return Path(folder)


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path) as f:
        data = f.read()
    ndim = data[3]
    dims = np.frombuffer(data, ">u4", ndim, 4).astype(int)
    return np.frombuffer(data, np.uint8, offset=4 + 4 * ndim).reshape(dims)


@pytest.fixture(scope="module")
def study():
    folder = _mnist_dir()
    X = _idx(folder / "train-images-idx3-ubyte.gz")[:50000].reshape(-1, 784) / 255.0
    y = _idx(folder / "train-labels-idx1-ubyte.gz")[:50000].astype(np.int64)
    X_test = _idx(folder / "t10k-images-idx3-ubyte.gz").reshape(-1, 784) / 255.0
    y_test = _idx(folder / "t10k-labels-idx1-ubyte.gz").astype(np.int64)
    rng = np.random.default_rng(0)
    W1, b1 = rng.normal(size=(30, 784)), rng.normal(size=30)
    W2, b2 = rng.normal(size=(10, 30)), rng.normal(size=10)
    start = [W1.copy(), W2.copy()]

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    eta, m = 3.0, 10
    order = rng.permutation(50000)
    for s in range(0, 50000, m):
        i = order[s : s + m]
        x, target = X[i], np.eye(10)[y[i]]
        a1 = sigmoid(x @ W1.T + b1)
        a2 = sigmoid(a1 @ W2.T + b2)
        d2 = (a2 - target) * a2 * (1 - a2)
        d1 = (d2 @ W2) * a1 * (1 - a1)
        W2 -= eta / m * d2.T @ a1
        b2 -= eta / m * d2.sum(axis=0)
        W1 -= eta / m * d1.T @ x
        b1 -= eta / m * d1.sum(axis=0)
    names = [str(d) for d in range(10)]
    trained = MLP(
        [Dense(W1, b1, "sigmoid"), Dense(W2, b2, "sigmoid")],
        input_shape=(28, 28),
        class_names=names,
    )
    initial = MLP(
        [Dense(start[0], b1, "sigmoid"), Dense(start[1], b2, "sigmoid")],
        input_shape=(28, 28),
    )
    return trained, initial, X_test, y_test


def test_network_learned_something(study):
    mlp, _, X, y = study
    # predict returns the labels, here the class names "0" .. "9"
    assert (mlp.predict(X) == mlp.classes[y]).mean() > 0.85
    assert mlp.score(X, y) > 0.85


def test_weight_and_contribution_rankings_differ_on_mnist(study):
    mlp, _, X, y = study
    differ = 0
    for digit in mlp.class_names:
        by_weight = top_units(mlp, digit)
        by_use = top_units(mlp, digit, by="contribution", X=X, y=y)
        assert by_use.n_samples == int((y == int(digit)).sum())
        if (
            by_weight.excitatory.tolist() != by_use.excitatory.tolist()
            or by_weight.inhibitory.tolist() != by_use.inhibitory.tolist()
        ):
            differ += 1
    assert differ >= 3


def test_decomposition_is_exact_on_the_test_set(study):
    mlp, _, X, _ = study
    d = decompose(mlp, X)
    scale = np.abs(d.contributions).sum(-1) + np.abs(d.bias)
    assert np.all(np.abs(d.completeness_error) <= 1e-12 * scale)
    first = decompose(mlp, X[:50], layer=0, units=[0, 1])
    assert first.images().shape == (50, 2, 28, 28)


def test_class_table_streams_in_bounded_batches(study):
    mlp, _, X, y = study
    whole = class_contributions(mlp, X, y)
    pairs = ((X[i : i + 1000], y[i : i + 1000]) for i in range(0, len(y), 1000))
    streamed = class_contributions(mlp, pairs)
    np.testing.assert_allclose(
        streamed.mean_contribution, whole.mean_contribution, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_array_equal(streamed.counts, np.bincount(y))
    assert "mean pre" in str(whole)


def test_ablation_and_what_replaces_eyeballing(study):
    mlp, initial, X, y = study
    imp = unit_importance(mlp, X, y)
    assert imp.drop[imp.ranking[0]] > 0.01
    assert np.all(imp.drop > -0.02)
    drift = drift_from_init((mlp, initial))
    # After one epoch from randn weights, each feature is mostly its
    # random initialisation ...
    assert drift.median_cosine > 0.8
    # ... and the weight images are nearly as unstructured as noise.
    assert smoothness(weight_images(mlp)).mean < 0.2
    assert abs(smoothness(initial).mean) < 0.05
