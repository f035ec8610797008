"""Exact integrated gradients on piecewise-linear networks.

The guarantees: completeness to rounding (1e-12 relative) on random ReLU and
leaky-ReLU networks of several depths; agreement with a 100,000-step Riemann
sum to within that sum's own error bound; agreement with the closed form of
a one-hidden-layer ReLU network; and the rule is chosen, and said, right.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import float_arrays, inputs_for, mlps

from mlpinspect import MLP, Dense, InvalidParameterError, attribute
from mlpinspect.activations import get_activation
from mlpinspect.analysis._backprop import Chain
from mlpinspect.analysis.attribution._integrated_gradients import breakpoints

PIECEWISE = ("relu", "leaky_relu(0.1)", "leaky_relu(0.3)", "identity")


@st.composite
def relu_problems(draw, min_layers=2, max_layers=5, outputs=("identity",)):
    """A piecewise-linear network (1 to 4 hidden layers), inputs, baselines,
    one target per row and a stage."""
    mlp = draw(
        mlps(
            min_layers=min_layers,
            max_layers=max_layers,
            activations=PIECEWISE,
            output_activations=outputs,
            max_units=8,
            max_inputs=6,
        )
    ).replace(task="regression")
    X = draw(inputs_for(mlp, max_rows=3, bound=2.0))
    B = draw(float_arrays(X.shape, 2.0))
    t = draw(
        st.lists(st.integers(0, mlp.n_outputs - 1), min_size=len(X), max_size=len(X))
    )
    return mlp, X, B, np.array(t)


def relative_completeness(result):
    """|sum - (f(x) - f(b))| over the sizes of the terms that add up."""
    size = (
        np.abs(result.values).reshape(result.n_samples, -1).sum(axis=1)
        + np.abs(result.output)
        + np.abs(result.baseline_output)
    )
    return np.abs(result.completeness_error) / np.maximum(size, 1e-300)


@settings(max_examples=80, deadline=None)
@given(p=relu_problems(), stage=st.sampled_from(["pre", "post"]))
def test_exact_rule_is_complete_to_rounding_on_relu_networks(p, stage):
    mlp, X, B, t = p
    result = attribute(mlp, X, t, baseline=B, stage=stage)
    assert result.options["rule"] == "exact"
    assert np.all(relative_completeness(result) <= 1e-12)


@settings(max_examples=40, deadline=None)
@given(
    p=relu_problems(outputs=("relu", "leaky_relu(0.1)", "sigmoid", "tanh")),
    stage=st.sampled_from(["pre", "post"]),
)
def test_exact_rule_covers_any_elementwise_output_activation(p, stage):
    # With stage="post" a piecewise-linear output adds its kinks; a smooth
    # one is integrated exactly on each piece by its secant slope.
    mlp, X, B, t = p
    result = attribute(mlp, X, t, baseline=B, stage=stage, rule="exact")
    assert np.all(relative_completeness(result) <= 1e-12)


def riemann_error_bound(mlp, X, B, t, exact, n):
    """The midpoint rule's own error bound for a piecewise-constant integrand.

    Between kinks the gradient is constant; a cell of width ``1/n`` holding a
    jump of size ``J`` is off by at most ``J / n``. Each jump is at most twice
    the largest ``|df/dx_i|`` on the path, and there is one per crossing.
    """
    chain = Chain(mlp)
    z_base = B @ chain.weights[0].T + chain.biases[0]
    dz = (X - B) @ chain.weights[0].T
    layers = [i for i in range(chain.n_layers - 1) if chain.activations[i].kinks]
    alphas = breakpoints(chain, z_base, dz, layers)
    bounds = []
    for row in range(len(X)):
        points = alphas[row]
        inside = points[(points > 0) & (points < 1)]
        mids = 0.5 * (points[:-1] + points[1:])
        path = B[row] + mids[:, None] * (X[row] - B[row])
        g = attribute(mlp, path, np.full(len(mids), t[row]), method="gradient").values
        jump = 2 * np.abs(g).max(axis=0)
        bounds.append(np.abs(X[row] - B[row]) * jump * inside.size / n)
    return np.array(bounds)


@settings(max_examples=15, deadline=None)
@given(p=relu_problems(max_layers=4))
def test_exact_rule_agrees_with_100000_riemann_steps_to_their_error(p):
    mlp, X, B, t = p
    exact = attribute(mlp, X, t, baseline=B, rule="exact")
    n = 100_000
    riemann = attribute(mlp, X, t, baseline=B, rule="riemann_middle", n_steps=n)
    bound = riemann_error_bound(mlp, X, B, t, exact, n)
    rounding = 1e-10 * (1 + np.abs(exact.values).max())
    assert np.all(np.abs(riemann.values - exact.values) <= bound + rounding)


def test_exact_rule_is_closer_than_every_quadrature_on_a_20_16_16_5_network():
    # The network: the quadratures converge like 1/n on ReLU networks.
    rng = np.random.default_rng(0)
    sizes = [20, 16, 16, 5]
    layers = [
        Dense(rng.normal(size=(o, i)) / np.sqrt(i) * 1.5, rng.normal(size=o) * 0.3, a)
        for i, o, a in zip(sizes[:-1], sizes[1:], ["relu", "relu", "identity"])
    ]
    mlp = MLP(layers)
    X, B = rng.normal(size=(20, 20)), rng.normal(size=(20, 20))
    t = rng.integers(0, 5, 20)
    exact = attribute(mlp, X, t, baseline=B)
    assert exact.options == {"rule": "exact"}
    assert np.max(relative_completeness(exact)) <= 1e-12
    errors = []
    for n in (200, 2000):
        approx = attribute(mlp, X, t, baseline=B, rule="gauss_legendre", n_steps=n)
        errors.append(np.max(np.abs(approx.completeness_error)))
        assert np.max(np.abs(approx.values - exact.values)) > 1e-7
    assert errors[1] < errors[0] and errors[1] > 1e3 * np.max(
        np.abs(exact.completeness_error)
    )


def closed_form_one_hidden_relu(mlp, x, b, target):
    """Integrated gradients of a 1-hidden-layer ReLU network, in closed form:
    unit j is active on an interval of [0, 1] found from where its linear
    pre-activation crosses 0."""
    (w0, b0), (w1, _) = [(d.weight, d.bias) for d in mlp.layers]
    z_b, dz = w0 @ b + b0, w0 @ (x - b)
    active = np.empty(z_b.size)
    for j in range(z_b.size):
        if dz[j] == 0:
            active[j] = float(z_b[j] > 0)
            continue
        cross = np.clip(-z_b[j] / dz[j], 0, 1)
        active[j] = 1.0 - cross if dz[j] > 0 else cross
    return (x - b) * ((w1[target] * active) @ w0)


@pytest.mark.parametrize("seed", range(8))
def test_exact_rule_equals_the_closed_form_of_one_hidden_layer(seed):
    rng = np.random.default_rng(seed)
    mlp = MLP(
        [
            Dense(rng.normal(size=(9, 5)), rng.normal(size=9), "relu"),
            Dense(rng.normal(size=(3, 9)), rng.normal(size=3), "identity"),
        ]
    )
    X, B = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    result = attribute(mlp, X, 2, baseline=B)
    for row in range(4):
        expected = closed_form_one_hidden_relu(mlp, X[row], B[row], 2)
        np.testing.assert_allclose(result.values[row], expected, rtol=1e-12, atol=1e-13)


def test_breakpoints_are_where_units_cross_their_kinks():
    # One hidden unit z = x - 0.25 on the path 0 -> 1 crosses 0 at alpha = 1/4;
    # the second layer's unit z' = 2 relu(z) - 1 crosses 0 at alpha = 3/4.
    mlp = MLP(
        [
            Dense([[1.0]], [-0.25], "relu"),
            Dense([[2.0]], [-1.0], "relu"),
            Dense([[1.0]], [0.0], "identity"),
        ]
    )
    chain = Chain(mlp)
    z_base = np.array([[-0.25]])
    dz = np.array([[1.0]])
    points = breakpoints(chain, z_base, dz, [0, 1])
    np.testing.assert_allclose(points, [[0.0, 0.25, 0.75, 1.0]])
    # f(x) = relu(2 relu(x - 1/4) - 1): IG from 0 to 1 is f(1) - f(0) = 1/2.
    result = attribute(mlp, [[1.0]], 0)
    np.testing.assert_allclose(result.values, [[0.5]], rtol=1e-15)


def test_auto_rule_says_which_rule_ran():
    rng = np.random.default_rng(1)
    relu = MLP(
        [
            Dense(rng.normal(size=(4, 3)), rng.normal(size=4), "leaky_relu(0.2)"),
            Dense(rng.normal(size=(2, 4)), rng.normal(size=2), "softmax"),
        ]
    )
    X = rng.normal(size=(2, 3))
    assert attribute(relu, X, 0).options == {"rule": "exact"}
    # The softmax's Jacobian has no closed-form integral: quadrature.
    post = attribute(relu, X, 0, stage="post")
    assert post.options == {"rule": "gauss_legendre", "n_steps": 50}
    with pytest.raises(InvalidParameterError, match=r"'softmax' \(stage='post'\)"):
        attribute(relu, X, 0, stage="post", rule="exact")
    sigmoid = MLP(
        [
            Dense(rng.normal(size=(4, 3)), np.zeros(4), "sigmoid"),
            Dense(rng.normal(size=(2, 4)), np.zeros(2), "identity"),
        ]
    )
    assert attribute(sigmoid, X, 0).options["rule"] == "gauss_legendre"
    with pytest.raises(InvalidParameterError, match=r"layer 0 uses 'sigmoid'"):
        attribute(sigmoid, X, 0, rule="exact")


@settings(max_examples=20, deadline=None)
@given(p=relu_problems(max_layers=4), chunk=st.integers(1, 40))
def test_exact_rule_does_not_depend_on_chunk_size(p, chunk):
    mlp, X, B, t = p
    small = attribute(mlp, X, t, baseline=B, chunk_size=chunk)
    large = attribute(mlp, X, t, baseline=B)
    np.testing.assert_allclose(small.values, large.values, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize(
    "name", ["relu", "identity", "leaky_relu(0.1)", "leaky_relu(0.01)"]
)
def test_activation_kinks_are_truthful(name):
    act = get_activation(name)
    assert act.piecewise_linear and act.kinks is not None
    kinks = np.array(act.kinks)
    z = np.linspace(-3, 3, 6001)
    slope = np.diff(act(z)) / np.diff(z)
    # the slope is constant between kinks and changes at each kink
    cell_has_kink = np.zeros(z.size - 1, bool)
    for k in kinks:
        cell_has_kink |= (z[:-1] <= k) & (k <= z[1:])
    steps = np.abs(np.diff(slope)) > 1e-9
    between = ~(cell_has_kink[:-1] | cell_has_kink[1:])
    assert not np.any(steps & between)
    for k in kinks:
        left = (act(np.array([k])) - act(np.array([k - 1e-3]))) / 1e-3
        right = (act(np.array([k + 1e-3])) - act(np.array([k]))) / 1e-3
        assert abs(right - left)[0] > 1e-6
    for name_without in ("sigmoid", "tanh", "softmax"):
        assert get_activation(name_without).kinks is None
