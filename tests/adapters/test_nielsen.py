"""Networks in the layout of Nielsen's book."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpinspect import InvalidParameterError, adapt
from mlpinspect.adapters import NielsenAdapter
from mlpinspect.testing import check_adapter


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class BookNetwork:
    """The book's network.py layout: column biases, (out, in) weights."""

    def __init__(self, sizes, seed=0):
        rng = np.random.default_rng(seed)
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.biases = [rng.standard_normal((y, 1)) for y in sizes[1:]]
        self.weights = [
            rng.standard_normal((y, x)) for x, y in zip(sizes[:-1], sizes[1:])
        ]

    def feedforward(self, a):
        """One input as a column (n, 1), as in the book."""
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(np.dot(w, a) + b)
        return a

    def batch_forward(self, X):
        return np.hstack([self.feedforward(x.reshape(-1, 1)) for x in X]).T

    def perturb(self):
        for w in self.weights:
            w += 0.5


sizes_strategy = st.lists(st.integers(1, 7), min_size=2, max_size=5)


@settings(max_examples=30, deadline=None)
@given(sizes=sizes_strategy, seed=st.integers(0, 2**32 - 1))
def test_forward_equals_the_books_feedforward(sizes, seed):
    net = BookNetwork(sizes, seed)
    mlp = check_adapter(
        NielsenAdapter(),
        net,
        net.batch_forward,
        arrays=[*net.weights, *net.biases],
        mutate=BookNetwork.perturb,
    )
    assert mlp.sizes == tuple(sizes)
    assert set(mlp.activation_names) == {"sigmoid"}
    assert mlp.name == "BookNetwork"
    # One-vs-rest sigmoids: the largest output wins; one output is binary.
    assert mlp.task == ("binary" if sizes[-1] == 1 else "multiclass")


def test_predict_is_the_books_evaluate():
    """The book's evaluate() counts np.argmax(feedforward(x)) == y."""
    net = BookNetwork([4, 5, 3], seed=2)
    X = np.random.default_rng(2).normal(size=(40, 4))
    own = np.array([np.argmax(net.feedforward(x.reshape(-1, 1))) for x in X])
    mlp = adapt(net, class_names=["a", "b", "c"])
    assert len(set(own.tolist())) > 1
    assert mlp.predict(X).tolist() == np.array(["a", "b", "c"])[own].tolist()
    y = np.array(["a", "b", "c"])[np.arange(40) % 3]
    assert mlp.score(X, y) == np.mean(np.array(["a", "b", "c"])[own] == y)


def test_adapt_dispatches_and_reads_a_mapping():
    net = BookNetwork([4, 3, 2])
    saved = {
        "sizes": net.sizes,
        "weights": [w.tolist() for w in net.weights],
        "biases": [b.tolist() for b in net.biases],
        "cost": "CrossEntropyCost",
    }
    a, b = adapt(net), adapt(saved)
    X = np.random.default_rng(1).normal(size=(5, 4))
    np.testing.assert_allclose(a.forward(X), b.forward(X))
    np.testing.assert_allclose(a.forward(X), net.batch_forward(X), rtol=1e-12)


def test_other_activations_can_be_given():
    net = BookNetwork([3, 4, 2])
    mlp = adapt(net, activations=["relu", "identity"])
    assert mlp.activation_names == ("relu", "identity")


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (
            lambda n: n.weights.__setitem__(0, n.weights[0].T),
            r"`weights\[0\]` must have shape \(3, 4\).*transposed",
        ),
        (
            lambda n: n.biases.__setitem__(1, np.zeros((1, 2))),
            r"`biases\[1\]` must have shape \(2, 1\)",
        ),
        (lambda n: n.weights.pop(), "needs 2 weight matrices"),
        (lambda n: setattr(n, "sizes", [4]), "at least two"),
        (lambda n: setattr(n, "sizes", ["a", "b"]), "list of layer sizes"),
    ],
)
def test_shape_errors_are_explained(change, match):
    net = BookNetwork([4, 3, 2])
    change(net)
    with pytest.raises(InvalidParameterError, match=match):
        adapt(net)


# -- network2.py's JSON files ------------------------------------------------------


def save_like_network2(net, path, cost="CrossEntropyCost"):
    """What network2.Network.save writes."""
    import json

    data = {
        "sizes": net.sizes,
        "weights": [w.tolist() for w in net.weights],
        "biases": [b.tolist() for b in net.biases],
        "cost": cost,
    }
    path.write_text(json.dumps(data))


def test_a_network2_json_file(tmp_path):
    from mlpinspect.adapters import NielsenFileAdapter

    net = BookNetwork([6, 4, 3], seed=5)
    path = tmp_path / "net.json"
    save_like_network2(net, path)
    mlp = check_adapter(NielsenFileAdapter(), str(path), net.batch_forward,
                        rtol=1e-12, atol=1e-12)  # fmt: skip
    assert mlp.activation_names == ("sigmoid", "sigmoid") and mlp.name == "net.json"
    assert adapt(path, activations=["relu", "sigmoid"]).activation_names[0] == "relu"
    from model_checks import check_attributions

    check_attributions(mlp, np.random.default_rng(0).normal(size=(4, 6)), unit=2)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("{not json", "not a readable JSON file"),
        ('{"sizes": [2, 1], "weights": [[[1, 2]]]}', r"lacks 'biases'"),
        ('{"sizes": [2, 1], "weights": [[[1, 2], [3]]], "biases": [[[0]]], '
         '"cost": "QuadraticCost"}', r"`weights\[0\]` must be a matrix of numbers"),
        ('{"sizes": [2, 1], "weights": [[[1, 2, 3]]], "biases": [[[0]]], '
         '"cost": "QuadraticCost"}', r"`weights\[0\]` must have shape \(1, 2\)"),
        ('[1, 2]', "lacks 'sizes'"),
    ],
)  # fmt: skip
def test_broken_json_files_are_refused(tmp_path, content, match):
    from mlpinspect import ModelFileError

    path = tmp_path / "net.json"
    path.write_text(content)
    with pytest.raises(ModelFileError, match=match):
        adapt(path)
