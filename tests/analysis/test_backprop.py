"""The closed-form backward pass against explicit Jacobians and finite differences."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import inputs_for, mlps

from mlpinspect import MLP, Dense
from mlpinspect.analysis._backprop import Chain, input_gradient

# Derivatives written out independently of mlpinspect.activations.
_DERIVATIVES = {
    "sigmoid": lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2,
    "tanh": lambda z: 1.0 / np.cosh(z) ** 2,
    "relu": lambda z: (z > 0).astype(float),
    "identity": np.ones_like,
    "leaky_relu(0.1)": lambda z: np.where(z > 0, 1.0, 0.1),
}


def activation_jacobian(name: str, z: np.ndarray) -> np.ndarray:
    """The activation's Jacobian at one pre-activation vector ``z``."""
    if name == "softmax":
        p = np.exp(z - z.max())
        p /= p.sum()
        return np.diag(p) - np.outer(p, p)
    return np.diag(_DERIVATIVES[name](z))


def explicit_jacobian(mlp: MLP, x: np.ndarray, layer: int, stage: str) -> np.ndarray:
    """d(unit values of ``layer``)/dx for one input, as a product of matrices."""
    jac = np.eye(x.size)
    a = x
    for i, dense in enumerate(mlp.layers[: layer + 1]):
        z = dense.weight @ a + dense.bias
        jac = dense.weight @ jac
        if i < layer or stage == "post":
            jac = activation_jacobian(dense.activation, z) @ jac
        a = mlp.trace(x[None]).post[i][0]
    return jac


@settings(max_examples=40, deadline=None)
@given(data=st.data(), stage=st.sampled_from(["pre", "post"]))
def test_input_gradient_matches_explicit_jacobian(data, stage):
    mlp = data.draw(mlps(max_layers=4))
    X = data.draw(inputs_for(mlp, max_rows=4))
    layer = data.draw(st.integers(0, len(mlp) - 1))
    units = mlp.layers[layer].n_out
    g = data.draw(
        st.lists(st.floats(-2, 2), min_size=units, max_size=units).map(np.array)
    )
    grad, value = input_gradient(mlp, X, g, layer=layer, stage=stage)
    trace = mlp.trace(X)
    acts = trace.pre[layer] if stage == "pre" else trace.post[layer]
    np.testing.assert_allclose(value, acts @ g, rtol=1e-12, atol=1e-12)
    for row, x in enumerate(X):
        expected = g @ explicit_jacobian(mlp, x, layer, stage)
        np.testing.assert_allclose(grad[row], expected, rtol=1e-9, atol=1e-10)


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    stage=st.sampled_from(["pre", "post"]),
)
def test_input_gradient_matches_central_differences(data, stage):
    # Smooth activations only: finite differences are meaningless at a ReLU kink.
    mlp = data.draw(
        mlps(
            max_layers=3,
            activations=("sigmoid", "tanh", "identity"),
            output_activations=("sigmoid", "tanh", "identity", "softmax"),
            weight_bound=1.5,
        )
    )
    X = data.draw(inputs_for(mlp, max_rows=3, bound=2.0))
    target = data.draw(st.integers(0, mlp.n_outputs - 1))
    g = np.eye(mlp.n_outputs)[target]
    grad, _ = input_gradient(mlp, X, g, stage=stage)

    def f(points: np.ndarray) -> np.ndarray:
        trace = mlp.trace(points)
        return (trace.pre[-1] if stage == "pre" else trace.post[-1])[:, target]

    h = 1e-5
    for i in range(mlp.n_inputs):
        step = np.zeros(mlp.n_inputs)
        step[i] = h
        numeric = (f(X + step) - f(X - step)) / (2 * h)
        np.testing.assert_allclose(grad[:, i], numeric, rtol=1e-6, atol=1e-7)


def test_backward_uses_the_given_activation_step():
    mlp = MLP(
        [
            Dense([[1.0, 2.0], [3.0, -1.0]], [0.0, 0.0], "relu"),
            Dense([[1.0, 1.0]], [0.0], "identity"),
        ]
    )
    chain = Chain(mlp)
    fwd = chain.forward(np.array([[1.0, 1.0]]), 1)

    def halve(i, g):
        return 0.5 * g

    delta0 = chain.backward(fwd, np.ones((1, 1)), layer=1, stage="pre", step=halve)
    np.testing.assert_allclose(delta0, [[0.5, 0.5]])
    # The exact step: both hidden units are active, so delta0 = W1.
    exact = chain.backward(fwd, np.ones((1, 1)), layer=1, stage="pre")
    np.testing.assert_allclose(exact, [[1.0, 1.0]])


def test_chain_computes_in_float64_for_float32_models():
    mlp = MLP([Dense(np.ones((2, 3), dtype=np.float32), np.zeros(2), "tanh")])
    chain = Chain(mlp)
    assert all(w.dtype == np.float64 for w in chain.weights)
    grad, value = input_gradient(chain, np.ones((1, 3), dtype=np.float32), [1.0, 0.0])
    assert grad.dtype == np.float64
    np.testing.assert_allclose(value, [3.0])


@pytest.mark.parametrize("layer", [0, 1, -1])
def test_forward_pass_matches_mlp_trace(layer):
    rng = np.random.default_rng(3)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 5)), rng.normal(size=4), "sigmoid"),
            Dense(rng.normal(size=(3, 4)), rng.normal(size=3), "relu"),
            Dense(rng.normal(size=(2, 3)), rng.normal(size=2), "softmax"),
        ]
    )
    X = rng.normal(size=(6, 5))
    chain = Chain(mlp)
    stop = layer % len(mlp)
    fwd = chain.forward(X, stop)
    trace = mlp.trace(X)
    assert len(fwd.pre) == stop + 1
    for i in range(stop + 1):
        np.testing.assert_allclose(fwd.pre[i], trace.pre[i], rtol=1e-13)
        np.testing.assert_allclose(fwd.post[i], trace.post[i], rtol=1e-13)
