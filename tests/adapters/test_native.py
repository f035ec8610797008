"""mlpinspect's own models and objects with a to_mlp() method."""

from __future__ import annotations

import numpy as np
import pytest

from mlpinspect import MLP, Dense, Network, UnsupportedModelError, adapt
from mlpinspect.adapters import NativeAdapter
from mlpinspect.testing import check_adapter


def test_network_is_adapted_through_to_mlp():
    net = Network([6, 5, 3], activation=["relu", "softmax"], seed=0)
    mlp = check_adapter(
        NativeAdapter(),
        net,
        net.forward,
        arrays=[*net.weights, *net.biases],
    )
    assert mlp.sizes == (6, 5, 3)
    assert mlp.activation_names == ("relu", "softmax")
    np.testing.assert_array_equal(mlp.layers[0].weight, net.weights[0])
    assert adapt(net).sizes == (6, 5, 3)


def test_network_changed_after_adapting_leaves_view_unchanged():
    net = Network([4, 3, 2], seed=1)
    mlp = adapt(net)
    before = mlp.layers[0].weight.copy()
    net.weights[0][...] += 1.0
    np.testing.assert_array_equal(mlp.layers[0].weight, before)


def test_any_object_with_to_mlp():
    class Wrapper:
        def to_mlp(self):
            return MLP([Dense(np.eye(2), np.zeros(2), "tanh")], name="wrapped")

    assert adapt(Wrapper()).name == "wrapped"


def test_to_mlp_returning_something_else_is_refused():
    class Liar:
        def to_mlp(self):
            return [1, 2]

    with pytest.raises(UnsupportedModelError, match=r"Liar.to_mlp\(\) returned list"):
        adapt(Liar())


def test_instance_attribute_named_to_mlp_is_not_claimed():
    class Odd:
        pass

    odd = Odd()
    odd.to_mlp = lambda: None
    assert not NativeAdapter().can_adapt(odd)


@pytest.mark.parametrize(
    ("sizes", "labels", "task"),
    [([6, 5, 3], ["a", "b", "c"], "multiclass"), ([6, 5, 1], [False, True], "binary")],
)
def test_network_labels_and_task_pass_through(sizes, labels, task):
    features = [f"x{i}" for i in range(6)]
    net = Network(sizes, seed=2, class_names=labels, feature_names=features)
    X = np.random.default_rng(2).normal(size=(30, 6))
    mlp = check_adapter(
        NativeAdapter(), net, net.forward, inputs=X, predict=net.predict
    )
    assert mlp.task == task
    assert mlp.class_names == tuple(labels)
    assert mlp.feature_names == tuple(features)
