"""Folding a chain of framework steps into Dense layers."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpinspect import InvalidParameterError, UnsupportedModelError
from mlpinspect.activations import get_activation
from mlpinspect.adapters._chain import Step, _compose, build_mlp

PIECEWISE = [
    "identity",
    "relu",
    "leaky_relu(0.1)",
    "leaky_relu(0.5)",
    "leaky_relu(2.0)",
]


@settings(max_examples=40, deadline=None)
@given(
    first=st.sampled_from(PIECEWISE),
    then=st.sampled_from(PIECEWISE),
    z=st.lists(st.floats(-10, 10), min_size=1, max_size=8),
)
def test_compose_equals_applying_both(first, then, z):
    z = np.array([z])
    combined = _compose(first, then)
    assert combined is not None
    expected = get_activation(then)(get_activation(first)(z))
    np.testing.assert_allclose(get_activation(combined)(z), expected, rtol=1e-12)


@pytest.mark.parametrize(
    ("first", "then"),
    [
        ("sigmoid", "tanh"),
        ("relu", "sigmoid"),
        ("softmax", "relu"),
        ("leaky_relu(-0.5)", "relu"),
    ],
)
def test_compose_refuses_what_one_activation_cannot_express(first, then):
    assert _compose(first, then) is None


def linear(n_out, n_in, label="fc"):
    return Step("linear", label, weight=np.ones((n_out, n_in)), bias=None)


def act(name, label="act"):
    return Step("activation", label, activation=name)


def build(steps, **kwargs):
    return build_mlp(steps, framework="Test", supported="Linear, ReLU", **kwargs)


def test_builds_layers_and_zero_bias():
    mlp = build(
        [
            Step("flatten", "flat"),
            linear(3, 4),
            act("relu"),
            Step("identity", "drop"),
            linear(2, 3),
            act("softmax"),
        ],
        input_shape=(2, 2),
    )
    assert mlp.sizes == (4, 3, 2)
    assert mlp.activation_names == ("relu", "softmax")
    assert mlp.input_shape == (2, 2)
    np.testing.assert_array_equal(mlp.layers[0].bias, np.zeros(3))


@pytest.mark.parametrize(
    ("steps", "kwargs", "match"),
    [
        ([act("relu", "r0"), linear(2, 2)], {}, "r0 applies 'relu' to the input"),
        (
            [linear(2, 2, "fc1"), act("sigmoid", "s"), act("tanh", "t")],
            {},
            "t applies 'tanh' right after s applied 'sigmoid'",
        ),
        ([linear(2, 2), act("swoosh", "g")], {}, "g uses the activation .swoosh."),
        (
            [linear(2, 4, "fc1"), act("softmax"), linear(2, 2, "fc2")],
            {},
            r"act \(a softmax\) is followed by another linear layer",
        ),
        ([act("identity")], {}, "no linear layer"),
        (
            [linear(3, 2, "dense")],
            {"input_shape": (4, 2)},
            "dense acts on the last axis",
        ),
    ],
)
def test_refusals_name_the_step(steps, kwargs, match):
    with pytest.raises(UnsupportedModelError, match=match):
        build(steps, **kwargs)


def test_bad_weights_name_the_step():
    bad = Step("linear", "fc9", weight=np.ones((2, 3, 1)))
    with pytest.raises(InvalidParameterError, match=r"fc9.*2-D"):
        build([bad])


def test_non_finite_weights_are_kept_and_reported_with_the_step():
    weight = np.ones((3, 2))
    weight[1, 0] = np.nan
    weight[2, 1] = np.inf
    mlp = build([Step("linear", "fc9", weight=weight)])
    # The copy is faithful, so a diverged model can be looked at ...
    assert np.isnan(mlp.layers[0].weight[1, 0])
    assert mlp.layers[0].name == "fc9"
    # ... and the check says where the damage is.
    with pytest.raises(
        InvalidParameterError,
        match=r"fc9, layer 0 of the MLP, .* 1 NaN and 1 infinite .* \[1, 2\]",
    ):
        mlp.check_finite()
