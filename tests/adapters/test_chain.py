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


# -- affine pieces folded into the neighbouring linear layer -------------------------


def run_steps(steps, X):
    """The chain evaluated step by step, as a framework would."""
    a = X
    for step in steps:
        if step.kind == "linear":
            a = a @ np.asarray(step.weight).T + (0 if step.bias is None else step.bias)
        elif step.kind == "scale_shift":
            a = a * (1.0 if step.scale is None else step.scale) + (
                0.0 if step.shift is None else step.shift
            )
        elif step.kind == "affine":
            a = a @ step.weight.T + step.bias
        elif step.kind == "activation":
            a = get_activation(step.activation)(a)
    return a


@st.composite
def foldable_chains(draw):
    """Linear layers with activations, and scale/shift/affine pieces wherever
    they can be folded: at the input, right after a linear layer, or after an
    activation that a linear layer follows."""
    rng = np.random.default_rng(draw(st.integers(0, 2**31 - 1)))
    width = draw(st.integers(1, 5))
    n_in = width
    steps = []

    def piece(n):
        kind = draw(st.sampled_from(["scalar", "vector", "affine", "none"]))
        if kind == "scalar":
            return [Step("scale_shift", "s", scale=float(rng.normal()),
                         shift=float(rng.normal()))]  # fmt: skip
        if kind == "vector":
            return [Step("scale_shift", "v", scale=rng.normal(size=n),
                         shift=rng.normal(size=n))]  # fmt: skip
        if kind == "affine":
            m = draw(st.integers(1, 4))
            return [Step("affine", "a", weight=rng.normal(size=(m, n)),
                         bias=rng.normal(size=m))]  # fmt: skip
        return []

    def last_width():
        for step in reversed(steps):
            if step.kind in ("linear", "affine"):
                return np.shape(step.weight)[0]
        return n_in

    steps += piece(width)
    depth = draw(st.integers(1, 3))
    for i in range(depth):
        out = draw(st.integers(1, 5))
        weight = rng.normal(size=(out, last_width()))
        steps.append(Step("linear", f"fc{i}", weight=weight, bias=rng.normal(size=out)))
        steps += piece(out)  # right after the linear layer: folds backward
        last = i == depth - 1
        act = draw(st.sampled_from(["identity"] if last else
                                   ["tanh", "gelu", "relu", "selu"]))  # fmt: skip
        steps.append(Step("activation", f"act{i}", activation=act))
        if not last:  # after the activation: folds into the next layer
            steps += piece(last_width())
    return steps, n_in


@settings(max_examples=60, deadline=None)
@given(chain=foldable_chains(), seed=st.integers(0, 1000))
def test_folding_is_exact(chain, seed):
    steps, n_in = chain
    X = np.random.default_rng(seed).normal(size=(7, n_in))
    mlp = build(steps)
    np.testing.assert_allclose(mlp.forward(X), run_steps(steps, X), rtol=1e-10,
                               atol=1e-10)  # fmt: skip
    assert len(mlp.layers) == sum(s.kind == "linear" for s in steps)


def test_scale_shift_folds_into_the_layers_analytically():
    W1, b1 = np.arange(6.0).reshape(3, 2), np.array([1.0, -1.0, 0.5])
    W2, b2 = np.ones((1, 3)), np.array([0.25])
    s, t = np.array([2.0, 0.5]), np.array([1.0, -2.0])
    u, v = np.array([1.0, 2.0, 3.0]), np.array([0.0, 1.0, -1.0])
    mlp = build([
        Step("scale_shift", "pre", scale=s, shift=t),
        Step("linear", "fc1", weight=W1, bias=b1),
        Step("scale_shift", "bn", scale=u, shift=v),
        act("tanh"),
        Step("scale_shift", "post", scale=3.0),
        Step("linear", "fc2", weight=W2, bias=b2),
    ])  # fmt: skip
    np.testing.assert_allclose(mlp.layers[0].weight, u[:, None] * W1 * s[None, :])
    np.testing.assert_allclose(mlp.layers[0].bias, u * (W1 @ t + b1) + v)
    np.testing.assert_allclose(mlp.layers[1].weight, 3.0 * W2)
    np.testing.assert_allclose(mlp.layers[1].bias, b2)
    assert mlp.layers[0].name == "pre + fc1 + bn"


def test_a_float32_layer_stays_float32_after_folding():
    step = Step("linear", "fc", weight=np.ones((2, 3), np.float32), bias=None)
    mlp = build([Step("scale_shift", "s", scale=0.5, shift=1.0), step])
    assert mlp.dtype == np.float32
    np.testing.assert_array_equal(mlp.layers[0].bias, np.float32([3.0, 3.0]))
    np.testing.assert_array_equal(
        mlp.layers[0].weight, np.full((2, 3), 0.5, np.float32)
    )


def test_per_feature_constants_follow_the_sample_shape_through_a_flatten():
    # A (2, 3) image scaled by a per-pixel constant, then flattened.
    scale = np.arange(1.0, 7.0).reshape(2, 3)
    steps = [Step("scale_shift", "s", scale=scale), Step("flatten", "flat"),
             Step("linear", "fc", weight=np.eye(6))]  # fmt: skip
    for shape in ((2, 3), None):
        mlp = build(steps, input_shape=shape)
        np.testing.assert_array_equal(mlp.layers[0].weight, np.diag(scale.ravel()))
    per_channel = [
        Step("scale_shift", "bn2d", scale=np.ones((2, 1))),
        Step("flatten", "flat"),
        Step("linear", "fc", weight=np.eye(6)),
    ]
    with pytest.raises(UnsupportedModelError, match=r"bn2d applies a scale of shape "
                       r"\(2,\).*needs the input's shape"):  # fmt: skip
        build(per_channel)
    mlp = build(per_channel, input_shape=(2, 3))  # known: it broadcasts per row
    np.testing.assert_array_equal(mlp.layers[0].weight, np.eye(6))


@pytest.mark.parametrize(
    ("steps", "match"),
    [
        ([linear(2, 2, "fc1"), act("relu", "r"), Step("scale_shift", "bn", scale=2.0),
          act("tanh", "t"), linear(2, 2)],
         r"bn rescales the output of r \('relu'\) and t applies 'tanh' .* between two"),
        ([linear(2, 2, "fc1"), act("sigmoid", "s"),
          Step("scale_shift", "x2", scale=2.0)],
         r"x2 rescales the output of s \(which applies 'sigmoid'\) at the end"),
        ([linear(3, 2, "fc1"), Step("scale_shift", "v", scale=np.ones(4))],
         r"v applies a scale of shape \(4,\)"),
        ([linear(3, 2, "fc1"), Step("squeeze", "sq")], r"sq drops the last axis of "
         r"an output with 3 units"),
        ([linear(1, 2, "fc1"), Step("squeeze", "sq"), act("relu")], "only the end"),
    ],
)  # fmt: skip
def test_what_cannot_be_folded_is_refused_by_name(steps, match):
    with pytest.raises(UnsupportedModelError, match=match):
        build(steps)
