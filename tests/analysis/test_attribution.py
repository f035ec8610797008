"""Attribution: oracle comparisons, completeness and the other guarantees, the API.

Every fast (batched) method is compared with a slow re-implementation below
that handles one input at a time with explicit matrices and loops (the Zennit
habit); the guarantees each method claims are hypothesis properties.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from tests.strategies import (
    LABEL_KINDS,
    class_positions,
    classifiers,
    float_arrays,
    inputs_for,
    labels_of,
    mlps,
)

from mlpinspect import MLP, Dense, InvalidParameterError
from mlpinspect.analysis.attribution import METHODS, Attribution, attribute

# ---------------------------------------------------------------------------
# Slow, obviously-correct references: one input at a time, explicit matrices.
# ---------------------------------------------------------------------------

_FUNCTIONS = {
    "sigmoid": lambda z: 1.0 / (1.0 + np.exp(-z)),
    "tanh": np.tanh,
    "relu": lambda z: np.maximum(z, 0.0),
    "identity": lambda z: z,
    "leaky_relu(0.1)": lambda z: np.where(z > 0, z, 0.1 * z),
}
_DERIVATIVES = {
    "sigmoid": lambda z: np.exp(-z) / (1.0 + np.exp(-z)) ** 2,
    "tanh": lambda z: 1.0 / np.cosh(z) ** 2,
    "relu": lambda z: (z > 0).astype(float),
    "identity": np.ones_like,
    "leaky_relu(0.1)": lambda z: np.where(z > 0, 1.0, 0.1),
}


def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


def act(name, z):
    return softmax(z) if name == "softmax" else _FUNCTIONS[name](z)


def act_jacobian(name, z):
    if name == "softmax":
        p = softmax(z)
        return np.diag(p) - np.outer(p, p)
    return np.diag(_DERIVATIVES[name](z))


def layer_values(mlp, x):
    """Per layer (source a, pre-activation z, activation) for one input."""
    out, a = [], x
    for dense in mlp.layers:
        z = dense.weight @ a + dense.bias
        post = act(dense.activation, z)
        out.append((a, z, post))
        a = post
    return out


def target_value(mlp, x, w, stage):
    _, z, post = layer_values(mlp, x)[-1]
    return w @ (z if stage == "pre" else post)


def jacobian(mlp, x, stage):
    """d(output layer, pre or post)/dx for one input: a product of matrices."""
    jac = np.eye(x.size)
    last = len(mlp.layers) - 1
    for i, (dense, (_, z, _)) in enumerate(zip(mlp.layers, layer_values(mlp, x))):
        jac = dense.weight @ jac
        if i < last or stage == "post":
            jac = act_jacobian(dense.activation, z) @ jac
    return jac


def quadrature(rule, n):
    if rule == "gauss_legendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return (nodes + 1) / 2, weights / 2
    h = 1.0 / n
    if rule == "riemann_left":
        return np.array([k * h for k in range(n)]), np.full(n, h)
    if rule == "riemann_right":
        return np.array([(k + 1) * h for k in range(n)]), np.full(n, h)
    if rule == "riemann_middle":
        return np.array([(k + 0.5) * h for k in range(n)]), np.full(n, h)
    h = 1.0 / (n - 1)  # trapezoid
    weights = np.full(n, h)
    weights[0] = weights[-1] = h / 2
    return np.array([k * h for k in range(n)]), weights


def slow_gradient(mlp, X, W, stage):
    return np.array([w @ jacobian(mlp, x, stage) for x, w in zip(X, W)])


def slow_integrated_gradients(mlp, X, W, B, stage, rule, n):
    alphas, weights = quadrature(rule, n)
    rows = []
    for x, w, b in zip(X, W, B):
        total = np.zeros_like(x)
        for alpha, weight in zip(alphas, weights):
            total += weight * (w @ jacobian(mlp, b + alpha * (x - b), stage))
        rows.append((x - b) * total)
    return np.array(rows)


def slow_deeplift(mlp, X, W, B, stage, n_steps=50):
    rows = []
    last = len(mlp.layers) - 1
    for x, w, b in zip(X, W, B):
        mult = np.eye(x.size)  # d(layer)/d(input) in the "secant" sense
        for i, (dense, (_, zx, ax), (_, zb, ab)) in enumerate(
            zip(mlp.layers, layer_values(mlp, x), layer_values(mlp, b))
        ):
            mult = dense.weight @ mult
            if i == last and stage == "pre":
                break
            if dense.activation == "softmax":
                nodes, weights = quadrature("gauss_legendre", n_steps)
                avg = sum(
                    wt * act_jacobian("softmax", zb + t * (zx - zb))
                    for t, wt in zip(nodes, weights)
                )
                mult = avg @ mult
                continue
            slope = np.empty_like(zx)
            for j in range(zx.size):
                dz = zx[j] - zb[j]
                if abs(dz) < 1e-10:
                    slope[j] = _DERIVATIVES[dense.activation](zx[j : j + 1])[0]
                else:
                    slope[j] = (ax[j] - ab[j]) / dz
            mult = np.diag(slope) @ mult
        rows.append((x - b) * (w @ mult))
    return np.array(rows)


def slow_lrp(mlp, X, W, stage, rule, epsilon, alpha=1.0, beta=0.0):
    rows = []
    for x, w in zip(X, W):
        values = layer_values(mlp, x)
        _, z_last, a_last = values[-1]
        relevance = w * (z_last if stage == "pre" else a_last)
        for dense, (a, z, _) in reversed(list(zip(mlp.layers, values))):
            contrib = dense.weight * a[None, :]  # z_ij, rows j (units), columns i
            new = np.zeros(a.size)
            for j in range(z.size):
                for i in range(a.size):
                    if rule == "epsilon":
                        den = z[j] + epsilon * (1.0 if z[j] >= 0 else -1.0)
                        share = contrib[j, i] / den if den != 0 else 0.0
                    else:
                        pos = np.maximum(contrib[j], 0).sum() + max(dense.bias[j], 0)
                        neg = np.minimum(contrib[j], 0).sum() + min(dense.bias[j], 0)
                        pos, neg = pos + epsilon, neg - epsilon
                        share = 0.0
                        if pos != 0:
                            share += alpha * max(contrib[j, i], 0) / pos
                        if neg != 0 and beta != 0:
                            share -= beta * min(contrib[j, i], 0) / neg
                    new[i] += share * relevance[j]
            relevance = new
        rows.append(relevance)
    return np.array(rows)


def slow_occlusion(mlp, X, W, B, stage, window, stride):
    shape = mlp.input_shape
    rows = []
    for x, w, b in zip(X, W, B):
        xs, bs = x.reshape(shape), b.reshape(shape)
        here = target_value(mlp, x, w, stage)
        total, count = np.zeros(shape), np.zeros(shape)
        starts = []
        for length, win, step in zip(shape, window, stride):
            axis_starts = list(range(0, length - win + 1, step))
            if axis_starts[-1] + win < length:  # one more, clipped at the border
                axis_starts.append(axis_starts[-1] + step)
            starts.append(axis_starts)
        for corner in np.ndindex(*(len(s) for s in starts)):
            begin = [starts[ax][k] for ax, k in enumerate(corner)]
            box = tuple(
                slice(b_, min(b_ + win, length))
                for b_, win, length in zip(begin, window, shape)
            )
            occluded = xs.copy()
            occluded[box] = bs[box]
            drop = here - target_value(mlp, occluded.ravel(), w, stage)
            total[box] += drop
            count[box] += 1
        rows.append((total / count).ravel())
    return np.array(rows)


# ---------------------------------------------------------------------------
# Helpers for drawing problems.
# ---------------------------------------------------------------------------

SMOOTH = ("sigmoid", "tanh", "identity")
PIECEWISE_LINEAR = ("relu", "identity", "leaky_relu(0.1)")
# LRP passes relevance through these unchanged (sign-preserving activations).
SIGN_PRESERVING = ("tanh", "relu", "identity", "leaky_relu(0.1)")


def lrp_applies(mlp, stage):
    """Whether LRP accepts the model: sign-preserving activations wherever
    relevance passes through one."""
    passes = mlp.layers if stage == "post" else mlp.layers[:-1]
    return all(d.function.sign_preserving and d.function.elementwise for d in passes)


def method_kwargs(method, B, n_steps=8):
    """What ``method`` needs besides the model, inputs and target: its
    baseline (a distribution for gradient_shap), a seed, few steps."""
    record = METHODS[method]
    names = {o.name for o in record.options}
    kwargs = {}
    defaults = {o.name: o.default for o in record.options}
    if record.wraps:
        defaults["base_options"] = {}
    if record.baseline_kind(defaults) in ("reference", "distribution"):
        kwargs["baseline"] = B
    if record.randomized:
        kwargs["seed"] = 0
    if "n_steps" in names:
        kwargs["n_steps"] = n_steps
    if "nt_samples" in names:
        kwargs["nt_samples"] = 3
    return kwargs


def clear_of_zero(mlp, points, every_unit=False, tol=1e-9):
    """No pre-activation within ``tol`` of 0 at ``points``, for the ReLU-like
    units (whose derivative jumps there) or for every unit (LRP divides by z).

    At such points the two implementations' rounding can land on either side,
    so comparing them there tests rounding, not the method.
    """
    kinked = ("relu", "leaky_relu(0.1)")
    for x in points:
        for dense, (_, z, _) in zip(mlp.layers, layer_values(mlp, x)):
            if (every_unit or dense.activation in kinked) and np.any(np.abs(z) < tol):
                return False
    return True


def without_tiny_values(mlp, X, floor=1e-6):
    """The model and inputs with every value smaller than ``floor`` set to 0.

    With ``epsilon=0``, LRP divides by pre-activations; products of values
    like 1e-300 make them so small that the quotient overflows (LRP-0 is
    unstable there: that is what ``epsilon`` is for).
    """

    def snap(a):
        a = np.array(a, dtype=float)
        a[np.abs(a) < floor] = 0.0
        return a

    layers = [Dense(snap(d.weight), snap(d.bias), d.activation) for d in mlp.layers]
    return MLP(layers, input_shape=mlp.input_shape, task=mlp.task), snap(X)


def one_hot(mlp, t, n):
    W = np.zeros((n, mlp.n_outputs))
    W[np.arange(n), t] = 1.0
    return W


def bias_free(mlp):
    layers = [Dense(d.weight, np.zeros(d.n_out), d.activation) for d in mlp.layers]
    return MLP(layers, input_shape=mlp.input_shape)


@st.composite
def problems(draw, max_rows=4, **mlp_kwargs):
    """A model, inputs, baselines, per-row targets and an output stage."""
    mlp = draw(mlps(**mlp_kwargs))
    if mlp.task in ("binary", "multiclass"):
        # Per-row targets of a classifier are labels (as `predict` returns
        # them); the oracles take output positions, which is what a regressor's
        # per-row targets are.
        mlp = mlp.replace(task="regression")
    X = draw(inputs_for(mlp, max_rows=max_rows, bound=2.0))
    B = draw(float_arrays(X.shape, 2.0))
    t = draw(
        st.lists(st.integers(0, mlp.n_outputs - 1), min_size=len(X), max_size=len(X))
    )
    stage = draw(st.sampled_from(["pre", "post"]))
    return mlp, X, B, np.array(t), stage


def scale(result):
    """A natural size for completeness errors of ``result``."""
    flat = result.values.reshape(result.n_samples, -1)
    base = 0 if result.baseline_output is None else np.abs(result.baseline_output)
    return 1.0 + np.abs(flat).sum(axis=1) + np.abs(result.output) + base


# ---------------------------------------------------------------------------
# Oracle tests.
# ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(p=problems())
def test_gradient_matches_oracle(p):
    mlp, X, _, t, stage = p
    assume(clear_of_zero(mlp, X))
    result = attribute(mlp, X, t, method="gradient", stage=stage)
    expected = slow_gradient(mlp, X, one_hot(mlp, t, len(X)), stage)
    np.testing.assert_allclose(result.values, expected, rtol=1e-9, atol=1e-10)
    assert result.completeness_error is None
    assert result.baseline is None


@settings(max_examples=30, deadline=None)
@given(p=problems())
def test_gradient_x_input_matches_oracle(p):
    mlp, X, _, t, stage = p
    assume(clear_of_zero(mlp, X))
    result = attribute(mlp, X, t, method="gradient_x_input", stage=stage)
    expected = X * slow_gradient(mlp, X, one_hot(mlp, t, len(X)), stage)
    np.testing.assert_allclose(result.values, expected, rtol=1e-9, atol=1e-10)
    W = one_hot(mlp, t, len(X))
    f0 = np.array([target_value(mlp, np.zeros(mlp.n_inputs), w, stage) for w in W])
    np.testing.assert_allclose(result.baseline_output, f0, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(
    p=problems(max_rows=3),
    rule=st.sampled_from(
        [
            "gauss_legendre",
            "riemann_left",
            "riemann_right",
            "riemann_middle",
            "riemann_trapezoid",
        ]
    ),
    n_steps=st.integers(2, 12),
)
def test_integrated_gradients_matches_oracle(p, rule, n_steps):
    mlp, X, B, t, stage = p
    alphas = quadrature(rule, n_steps)[0]
    assume(clear_of_zero(mlp, [b + a * (x - b) for x, b in zip(X, B) for a in alphas]))
    result = attribute(
        mlp,
        X,
        t,
        method="integrated_gradients",
        stage=stage,
        baseline=B,
        rule=rule,
        n_steps=n_steps,
        chunk_size=5,  # several chunks
    )
    W = one_hot(mlp, t, len(X))
    expected = slow_integrated_gradients(mlp, X, W, B, stage, rule, n_steps)
    np.testing.assert_allclose(result.values, expected, rtol=1e-8, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(p=problems(max_rows=3))
def test_deeplift_matches_oracle(p):
    mlp, X, B, t, stage = p
    assume(clear_of_zero(mlp, X))  # where DeepLIFT falls back to the derivative
    result = attribute(
        mlp, X, t, method="deeplift", stage=stage, baseline=B, n_steps=20
    )
    W = one_hot(mlp, t, len(X))
    expected = slow_deeplift(mlp, X, W, B, stage, n_steps=20)
    np.testing.assert_allclose(result.values, expected, rtol=1e-8, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    p=problems(
        max_rows=3, activations=SIGN_PRESERVING, output_activations=SIGN_PRESERVING
    ),
    epsilon=st.sampled_from([0.0, 1e-6, 0.1]),
)
def test_lrp_epsilon_matches_oracle(p, epsilon):
    mlp, X = without_tiny_values(*p[:2])
    _, _, _, t, stage = p
    assume(clear_of_zero(mlp, X, every_unit=True))
    result = attribute(mlp, X, t, method="lrp", stage=stage, epsilon=epsilon)
    expected = slow_lrp(mlp, X, one_hot(mlp, t, len(X)), stage, "epsilon", epsilon)
    np.testing.assert_allclose(result.values, expected, rtol=1e-8, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(
    p=problems(max_rows=3, activations=("relu",), output_activations=SIGN_PRESERVING),
    rule=st.sampled_from([("zplus", 1.0, 0.0), ("alpha_beta", 2.0, 1.0)]),
    epsilon=st.sampled_from([0.0, 1e-6]),
)
def test_lrp_alpha_beta_matches_oracle(p, rule, epsilon):
    mlp, X, _, t, stage = p
    mlp, X = without_tiny_values(mlp, X)
    name, alpha, beta = rule
    result = attribute(
        mlp,
        X,
        t,
        method="lrp",
        stage=stage,
        lrp_rule=name,
        epsilon=epsilon,
        alpha=alpha,
        beta=beta,
    )
    W = one_hot(mlp, t, len(X))
    expected = slow_lrp(mlp, X, W, stage, "alpha_beta", epsilon, alpha, beta)
    np.testing.assert_allclose(result.values, expected, rtol=1e-8, atol=1e-9)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), stage=st.sampled_from(["pre", "post"]))
def test_occlusion_matches_oracle(data, stage):
    mlp = data.draw(mlps(image_input=True, max_layers=2))
    X = data.draw(inputs_for(mlp, max_rows=3))
    B = data.draw(float_arrays(X.shape, 2.0))
    t = data.draw(st.integers(0, mlp.n_outputs - 1))
    h, w = mlp.input_shape
    window = (data.draw(st.integers(1, h)), data.draw(st.integers(1, w)))
    stride = (
        data.draw(st.integers(1, window[0])),
        data.draw(st.integers(1, window[1])),
    )
    result = attribute(
        mlp,
        X,
        t,
        method="occlusion",
        stage=stage,
        baseline=B,
        window=window,
        stride=stride,
        chunk_size=7,
    )
    expected = slow_occlusion(mlp, X, one_hot(mlp, t, len(X)), B, stage, window, stride)
    np.testing.assert_allclose(result.values, expected, rtol=1e-9, atol=1e-10)


def test_occlusion_windows_reach_the_border_like_captum():
    # Length 7, window 3, stride 3: windows at 0, 3 and a clipped one at 6.
    mlp = MLP([Dense(np.arange(1.0, 8.0)[None, :], [0.0], "identity")])
    x = np.ones((1, 7))
    result = attribute(mlp, x, 0, method="occlusion", window=3, stride=3)
    np.testing.assert_allclose(result.values, [[6, 6, 6, 15, 15, 15, 7]])


# ---------------------------------------------------------------------------
# Completeness and the other guarantees.
# ---------------------------------------------------------------------------


@settings(max_examples=50, deadline=None)
@given(p=problems())
def test_deeplift_is_complete(p):
    mlp, X, B, t, stage = p
    result = attribute(mlp, X, t, method="deeplift", stage=stage, baseline=B)
    softmax_post = stage == "post" and mlp.activation_names[-1] == "softmax"
    # Exact to rounding; through a softmax the averaged Jacobian is a
    # 50-node Gauss-Legendre quadrature of an analytic function.
    tol = 1e-6 if softmax_post else 1e-10
    assert np.all(np.abs(result.completeness_error) <= tol * scale(result))
    # The error is defined as sum - (f(x) - f(b)).
    explained = result.output - result.baseline_output
    np.testing.assert_allclose(
        result.values.sum(axis=1) - explained,
        result.completeness_error,
        rtol=1e-12,
        atol=1e-15 * scale(result).max(),
    )


@settings(max_examples=40, deadline=None)
@given(
    p=problems(
        activations=("sigmoid", "tanh"),
        output_activations=("sigmoid", "tanh", "identity", "softmax"),
        weight_bound=1.0,
    )
)
def test_integrated_gradients_gauss_legendre_is_complete_on_smooth_networks(p):
    mlp, X, B, t, stage = p
    X, B = X * 0.75, B * 0.75
    result = attribute(mlp, X, t, stage=stage, baseline=B, n_steps=128)
    assert np.all(np.abs(result.completeness_error) <= 1e-6 * scale(result))


@settings(max_examples=40, deadline=None)
@given(
    p=problems(
        activations=("sigmoid", "tanh"),
        output_activations=("sigmoid", "tanh", "identity"),
        weight_bound=1.0,
    )
)
def test_integrated_gradients_error_shrinks_with_steps(p):
    mlp, X, B, t, stage = p
    errors = [
        np.abs(
            attribute(
                mlp, X, t, stage=stage, baseline=B, n_steps=n, rule="riemann_middle"
            ).completeness_error
        )
        for n in (200, 1600)
    ]
    # The midpoint rule's error falls like 1/n^2 for a smooth integrand.
    result = attribute(
        mlp, X, t, stage=stage, baseline=B, n_steps=200, rule="riemann_middle"
    )
    assert np.all(errors[1] <= errors[0] / 16 + 1e-12 * scale(result))


def exact_ig_one_hidden_relu(mlp, x, b, target):
    """Integrated gradients of a 1-hidden-layer ReLU network, in closed form.

    Along the path the hidden pre-activations are linear in alpha, so each
    unit is active on an interval of [0, 1] whose length is known exactly.
    """
    (w0, b0), (w1, _) = [(d.weight, d.bias) for d in mlp.layers]
    z_b = w0 @ b + b0
    dz = w0 @ (x - b)
    active = np.empty(z_b.size)
    for j in range(z_b.size):
        if dz[j] == 0:
            active[j] = 1.0 if z_b[j] > 0 else 0.0
        else:
            with np.errstate(over="ignore"):  # a tiny dz puts the crossing far away
                cross = -z_b[j] / dz[j]  # where z_j(alpha) = 0
            if dz[j] > 0:
                active[j] = 1.0 - np.clip(cross, 0, 1)
            else:
                active[j] = np.clip(cross, 0, 1)
    return (x - b) * ((w1[target] * active) @ w0), np.abs(w1[target]) @ np.abs(w0)


@settings(max_examples=40, deadline=None)
@given(
    p=problems(
        max_rows=3,
        min_layers=2,
        max_layers=2,
        activations=("relu",),
        output_activations=("identity",),
    ),
    rule=st.sampled_from(
        [
            "gauss_legendre",
            "riemann_left",
            "riemann_right",
            "riemann_middle",
            "riemann_trapezoid",
        ]
    ),
    n_steps=st.sampled_from([2, 7, 50]),
)
def test_integrated_gradients_on_relu_network_is_within_quadrature_bound(
    p, rule, n_steps
):
    # The integrand jumps where a unit switches; by the Chebyshev-Markov-
    # Stieltjes inequalities (Gauss) and directly (Riemann), a rule integrates
    # a unit step to within its largest weight. So each feature's error is at
    # most |x_i - b_i| * sum_j |v_j W_ji| * max weight: not zero, but bounded.
    mlp, X, B, t, _ = p
    result = attribute(mlp, X, t, baseline=B, rule=rule, n_steps=n_steps)
    max_weight = quadrature(rule, n_steps)[1].max()
    for row in range(len(X)):
        exact, coupling = exact_ig_one_hidden_relu(mlp, X[row], B[row], t[row])
        bound = np.abs(X[row] - B[row]) * coupling * max_weight
        assert np.all(np.abs(result.values[row] - exact) <= bound + 1e-9)
    # and the exact attribution is complete
    total = sum(exact_ig_one_hidden_relu(mlp, X[r], B[r], t[r])[0].sum() for r in [0])
    np.testing.assert_allclose(
        total, result.output[0] - result.baseline_output[0], rtol=1e-9, atol=1e-9
    )


@settings(max_examples=40, deadline=None)
@given(
    p=problems(
        activations=PIECEWISE_LINEAR,
        output_activations=("identity", "relu", "leaky_relu(0.1)"),
    )
)
def test_gradient_x_input_is_complete_on_bias_free_homogeneous_networks(p):
    mlp, X, _, t, stage = p
    mlp = bias_free(mlp)
    result = attribute(mlp, X, t, method="gradient_x_input", stage=stage)
    np.testing.assert_allclose(result.baseline_output, 0.0, atol=0)
    assert np.all(np.abs(result.completeness_error) <= 1e-10 * scale(result))


@settings(max_examples=40, deadline=None)
@given(
    p=problems(
        activations=PIECEWISE_LINEAR,
        output_activations=("identity", "relu", "leaky_relu(0.1)"),
    )
)
def test_lrp0_is_complete_on_bias_free_homogeneous_networks(p):
    mlp, X, _, t, stage = p
    mlp, X = without_tiny_values(bias_free(mlp), X)
    result = attribute(mlp, X, t, method="lrp", stage=stage, epsilon=0.0)
    assert np.all(np.abs(result.completeness_error) <= 1e-10 * scale(result))
    # ... and it equals gradient x input there, on rows where no unit sits at
    # z = 0 (LRP-0 passes nothing through such a unit, the gradient does).
    gxi = attribute(mlp, X, t, method="gradient_x_input", stage=stage)
    trace = mlp.trace(X)
    regular = np.all([np.all(z != 0, axis=1) for z in trace.pre], axis=0)
    np.testing.assert_allclose(
        result.values[regular], gxi.values[regular], rtol=1e-8, atol=1e-9
    )


def test_lrp_bias_absorbs_relevance():
    mlp = MLP([Dense([[1.0, 1.0]], [2.0], "identity")])
    result = attribute(mlp, [[1.0, 3.0]], 0, method="lrp", epsilon=0.0)
    # z = 1 + 3 + 2 = 6; the bias keeps 2 of it.
    np.testing.assert_allclose(result.values, [[1.0, 3.0]])
    np.testing.assert_allclose(result.completeness_error, [-2.0])


@settings(max_examples=40, deadline=None)
@given(
    p=problems(activations=("relu",), output_activations=("relu",)),
    positive=st.booleans(),
)
def test_zplus_is_complete_on_bias_free_relu_networks(p, positive):
    mlp, X, _, t, _ = p
    mlp, X = without_tiny_values(bias_free(mlp), X)
    X = np.abs(X) if positive else X
    result = attribute(
        mlp, X, t, method="lrp", stage="post", lrp_rule="zplus", epsilon=0
    )
    assert np.all(np.abs(result.completeness_error) <= 1e-10 * scale(result))


@pytest.mark.parametrize("seed", range(5))
def test_alpha_beta_is_complete_when_every_unit_has_both_signs(seed):
    rng = np.random.default_rng(seed)
    sizes = [6, 5, 4, 3]
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = np.abs(rng.normal(size=(n_out, n_in))) + 0.1
        w[:, 0] *= -0.2  # every row mixes signs; positive entries dominate
        last = i == len(sizes) - 2
        layers.append(Dense(w, np.zeros(n_out), "identity" if last else "relu"))
    mlp = MLP(layers)
    X = rng.uniform(0.5, 1.0, size=(4, 6))
    assert np.all(mlp.trace(X).pre[0] > 0) and np.all(mlp.trace(X).pre[1] > 0)
    result = attribute(mlp, X, 0, method="lrp", lrp_rule="alpha_beta", epsilon=0.0)
    assert np.all(np.abs(result.completeness_error) <= 1e-10 * scale(result))
    # alpha - beta != 1 scales the relevance instead
    other = attribute(
        mlp, X, 0, method="lrp", lrp_rule="alpha_beta", alpha=3, beta=1, epsilon=0
    )
    np.testing.assert_allclose(
        other.values.sum(axis=1), 2 ** len(layers) * result.output, rtol=1e-10
    )


@settings(max_examples=30, deadline=None)
@given(
    p=problems(max_rows=3),
    method=st.sampled_from(sorted(METHODS)),
    coef=st.tuples(st.floats(-2, 2), st.floats(-2, 2)),
    data=st.data(),
)
def test_attribution_is_linear_in_the_target_weights(p, method, coef, data):
    mlp, X, B, _, stage = p
    options = dict(stage=stage, **method_kwargs(method, B))
    if method == "lrp":
        assume(lrp_applies(mlp, stage))
        if all(a == "relu" for a in mlp.activation_names[:-1]):
            options["lrp_rule"] = data.draw(st.sampled_from(["epsilon", "alpha_beta"]))
    k = mlp.n_outputs
    a, b = data.draw(st.integers(0, k - 1)), data.draw(st.integers(0, k - 1))
    weights = coef[0] * np.eye(k)[a] + coef[1] * np.eye(k)[b]
    combined = attribute(mlp, X, weights, method=method, **options)
    first = attribute(mlp, X, a, method=method, **options)
    second = attribute(mlp, X, b, method=method, **options)
    expected = coef[0] * first.values + coef[1] * second.values
    size = 1 + np.abs(first.values).max() + np.abs(second.values).max()
    np.testing.assert_allclose(combined.values, expected, rtol=1e-9, atol=1e-9 * size)
    np.testing.assert_allclose(
        combined.output,
        coef[0] * first.output + coef[1] * second.output,
        rtol=1e-9,
        atol=1e-9 * (1 + np.abs(first.output).max() + np.abs(second.output).max()),
    )


@settings(max_examples=40, deadline=None)
@given(
    p=problems(),
    method=st.sampled_from(["integrated_gradients", "deeplift", "occlusion"]),
    data=st.data(),
)
def test_feature_equal_to_its_baseline_gets_zero(p, method, data):
    mlp, X, B, t, stage = p
    j = data.draw(st.integers(0, mlp.n_inputs - 1))
    X = X.copy()
    X[:, j] = B[:, j]
    result = attribute(mlp, X, t, method=method, stage=stage, baseline=B)
    assert np.all(result.values[:, j] == 0.0)


@settings(max_examples=30, deadline=None)
@given(
    p=problems(
        activations=SMOOTH,
        output_activations=("sigmoid", "tanh", "identity", "softmax"),
        weight_bound=1.5,
    )
)
def test_gradient_matches_central_differences(p):
    mlp, X, _, t, stage = p
    result = attribute(mlp, X, t, method="gradient", stage=stage)
    W = one_hot(mlp, t, len(X))
    h = 1e-5
    for row, (x, w) in enumerate(zip(X, W)):
        for i in range(x.size):
            e = np.zeros_like(x)
            e[i] = h
            numeric = (
                target_value(mlp, x + e, w, stage) - target_value(mlp, x - e, w, stage)
            ) / (2 * h)
            assert abs(result.values[row, i] - numeric) <= 1e-6 * (1 + abs(numeric))


@settings(max_examples=25, deadline=None)
@given(p=problems(max_rows=6), method=st.sampled_from(sorted(METHODS)))
def test_result_does_not_depend_on_chunk_size(p, method):
    mlp, X, B, t, stage = p
    if method == "lrp":
        assume(lrp_applies(mlp, stage))
    kwargs = method_kwargs(method, B)
    small = attribute(mlp, X, t, method=method, stage=stage, chunk_size=1, **kwargs)
    large = attribute(
        mlp, X, t, method=method, stage=stage, chunk_size=10_000, **kwargs
    )
    np.testing.assert_allclose(small.values, large.values, rtol=1e-12, atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    p=problems(),
    method=st.sampled_from(["integrated_gradients", "deeplift", "occlusion"]),
)
def test_one_shared_baseline_equals_the_same_baseline_per_row(p, method):
    mlp, X, B, t, stage = p
    kw = {"n_steps": 6} if method != "occlusion" else {}
    shared = attribute(mlp, X, t, method=method, stage=stage, baseline=B[0], **kw)
    tiled = np.tile(B[0], (len(X), 1))
    per_row = attribute(mlp, X, t, method=method, stage=stage, baseline=tiled, **kw)
    np.testing.assert_allclose(shared.values, per_row.values, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(shared.baseline_output, per_row.baseline_output)
    assert shared.baseline.shape == X.shape


def test_deeplift_and_ig_agree_on_a_linear_model():
    rng = np.random.default_rng(0)
    mlp = MLP([Dense(rng.normal(size=(3, 4)), rng.normal(size=3), "identity")])
    X, B = rng.normal(size=(5, 4)), rng.normal(size=(5, 4))
    expected = (X - B) * mlp.layers[0].weight[1]
    for method in ("integrated_gradients", "deeplift"):
        result = attribute(mlp, X, 1, method=method, baseline=B, n_steps=1)
        np.testing.assert_allclose(result.values, expected, rtol=1e-12)


# ---------------------------------------------------------------------------
# API: shapes, targets, baselines, errors.
# ---------------------------------------------------------------------------


def with_hidden(mlp, activation):
    """``mlp`` with every hidden layer's activation replaced."""
    last = len(mlp.layers) - 1
    layers = [
        Dense(d.weight, d.bias, d.activation if i == last else activation)
        for i, d in enumerate(mlp.layers)
    ]
    return MLP(layers, input_shape=mlp.input_shape, class_names=mlp.class_names)


@pytest.fixture
def image_mlp():
    rng = np.random.default_rng(1)
    return MLP(
        [
            Dense(rng.normal(size=(5, 12)), rng.normal(size=5), "sigmoid"),
            Dense(rng.normal(size=(3, 5)), rng.normal(size=3), "softmax"),
        ],
        input_shape=(3, 4),
        class_names=["cat", "dog", "eel"],
    )


@pytest.mark.parametrize("method", sorted(METHODS))
def test_values_have_the_shape_of_x(image_mlp, method):
    if method == "lrp":  # LRP needs sign-preserving activations
        image_mlp = with_hidden(image_mlp, "tanh")
    rng = np.random.default_rng(2)
    images = rng.random((4, 3, 4))
    kwargs = method_kwargs(method, rng.random((4, 3, 4)), n_steps=4)
    result = attribute(image_mlp, images, 0, method=method, **kwargs)
    assert isinstance(result, Attribution)
    assert result.values.shape == (4, 3, 4)
    assert result.output.shape == (4,)
    assert result.method == method
    assert result.input_shape == (3, 4)
    flat = attribute(image_mlp, images.reshape(4, 12), 0, method=method, **kwargs)
    assert flat.values.shape == (4, 12)
    np.testing.assert_allclose(flat.values.reshape(4, 3, 4), result.values)
    if "baseline" in kwargs and METHODS[method].baseline == "reference":
        kwargs["baseline"] = kwargs["baseline"][0]
    single = attribute(image_mlp, images[0].ravel(), 0, method=method, **kwargs)
    assert single.values.shape == (12,)
    np.testing.assert_allclose(single.values, flat.values[0], rtol=1e-12)
    if METHODS[method].baseline in ("zero", "reference"):
        assert result.baseline.shape == (4, 3, 4)


def test_target_forms_agree(image_mlp):
    X = np.random.default_rng(3).random((3, 12))
    by_index = attribute(image_mlp, X, 1)
    by_name = attribute(image_mlp, X, "dog")
    by_rows = attribute(image_mlp, X, np.array([1, 1, 1]))
    by_names = attribute(image_mlp, X, ["dog", "dog", "dog"])
    by_weights = attribute(image_mlp, X, np.array([0.0, 1.0, 0.0]))
    by_row_weights = attribute(image_mlp, X, np.tile([0.0, 1.0, 0.0], (3, 1)))
    for other in (by_name, by_rows, by_names, by_weights, by_row_weights):
        np.testing.assert_allclose(other.values, by_index.values, rtol=1e-14)
    np.testing.assert_array_equal(by_index.target, [1, 1, 1])
    assert by_weights.target.shape == (3, 3)


def test_per_row_targets(image_mlp):
    X = np.random.default_rng(4).random((3, 12))
    mixed = attribute(image_mlp, X, [0, 2, 1], method="gradient")
    for row, t in enumerate([0, 2, 1]):
        alone = attribute(image_mlp, X[row : row + 1], t, method="gradient")
        np.testing.assert_allclose(mixed.values[row], alone.values[0], rtol=1e-12)


def test_output_post_attributes_the_probability(image_mlp):
    X = np.random.default_rng(5).random((2, 12))
    post = attribute(image_mlp, X, 2, method="deeplift", stage="post")
    pre = attribute(image_mlp, X, 2, method="deeplift", stage="pre")
    trace = image_mlp.trace(X)
    np.testing.assert_allclose(post.output, trace.post[-1][:, 2])
    np.testing.assert_allclose(pre.output, trace.pre[-1][:, 2])
    assert post.stage == "post"


def test_baseline_forms(image_mlp):
    rng = np.random.default_rng(6)
    X = rng.random((3, 3, 4))
    b = rng.random((3, 4))
    one = attribute(image_mlp, X, 0, method="deeplift", baseline=b)
    flat = attribute(image_mlp, X, 0, method="deeplift", baseline=b.ravel())
    rows = attribute(image_mlp, X, 0, method="deeplift", baseline=np.stack([b] * 3))
    for other in (flat, rows):
        np.testing.assert_allclose(other.values, one.values, rtol=1e-14)
    scalar = attribute(image_mlp, X, 0, method="deeplift", baseline=0.5)
    full = attribute(image_mlp, X, 0, method="deeplift", baseline=np.full((3, 4), 0.5))
    np.testing.assert_allclose(scalar.values, full.values, rtol=1e-14)
    default = attribute(image_mlp, X, 0, method="deeplift")
    zeros = attribute(image_mlp, X, 0, method="deeplift", baseline=0)
    np.testing.assert_allclose(default.values, zeros.values)
    assert not one.baseline.flags.writeable
    assert b.flags.writeable  # the caller's array is untouched


def test_float32_models_and_inputs_are_computed_in_float64():
    rng = np.random.default_rng(7)
    w = rng.normal(size=(3, 4)).astype(np.float32)
    mlp = MLP(
        [
            Dense(w, np.zeros(3, np.float32), "tanh"),
            Dense(np.ones((1, 3)), [0], "identity"),
        ]
    )
    X = rng.normal(size=(2, 4)).astype(np.float32)
    result = attribute(mlp, X, 0, method="deeplift")
    assert result.values.dtype == np.float64
    assert np.all(np.abs(result.completeness_error) < 1e-12)


def test_repr_is_concise(image_mlp):
    result = attribute(image_mlp, np.ones((2, 12)), 0, method="deeplift")
    text = repr(result)
    assert text.startswith("Attribution(method='deeplift', n_samples=2")
    assert "max_abs_completeness_error" in text
    assert "\n" not in text and len(text) < 200
    assert "completeness" not in repr(
        attribute(image_mlp, np.ones((2, 12)), 0, method="gradient")
    )


def test_options_are_recorded(image_mlp):
    result = attribute(image_mlp, np.ones((1, 12)), 0, rule="riemann_left", n_steps=7)
    assert result.options == {"rule": "riemann_left", "n_steps": 7}
    assert result.convergence_delta is result.completeness_error
    tanh = with_hidden(image_mlp, "tanh")
    lrp = attribute(tanh, np.ones((1, 12)), 0, method="lrp", epsilon=0.5)
    assert lrp.options["epsilon"] == 0.5 and lrp.options["lrp_rule"] == "epsilon"
    assert lrp.options["layer_rules"] == ("epsilon", "epsilon")
    with pytest.raises(TypeError):
        lrp.options["epsilon"] = 1.0  # read-only


def test_unknown_method_lists_the_known_ones(image_mlp):
    with pytest.raises(
        InvalidParameterError, match=r"`method`.*'deeplift'.*'occlusion'"
    ):
        attribute(image_mlp, np.ones((1, 12)), 0, method="shap")


@pytest.mark.parametrize(
    ("target", "match"),
    [
        (3, r"`target` must be an output position in \[0, 2\].*got 3"),
        (-1, r"`target` must be an output position in \[0, 2\].*got -1"),
        ([0, 5], r"`target` must hold class labels .* 5, at row 1"),
        ([0, 1, 2], r"one per row \(shape \(2,\)\)"),
        ("cow", r"`target` must be one of the class labels \['cat', 'dog', 'eel'\]"),
        (np.array([0.5, 0.5]), r"shape \(3,\) or \(2, 3\)"),
        (None, r"`target` is required for a model with 3 outputs"),
        (True, r"`target` must be an output position.*not booleans"),
    ],
)
def test_bad_targets_are_named(image_mlp, target, match):
    with pytest.raises(InvalidParameterError, match=match):
        attribute(image_mlp, np.ones((2, 12)), target)


def test_target_may_be_omitted_for_a_single_output():
    mlp = MLP([Dense([[1.0, 2.0]], [0.0], "identity")])
    result = attribute(mlp, [[1.0, 1.0]], None, method="gradient")
    np.testing.assert_allclose(result.values, [[1.0, 2.0]])


def test_bad_baseline_shape_is_named(image_mlp):
    with pytest.raises(
        InvalidParameterError, match=r"`baseline` must be .* got shape \(5,\)"
    ):
        attribute(image_mlp, np.ones((2, 12)), 0, baseline=np.zeros(5))


def test_bad_x_is_named(image_mlp):
    with pytest.raises(InvalidParameterError, match=r"`X` must have shape \(n, 12\)"):
        attribute(image_mlp, np.ones((2, 11)), 0)


@pytest.mark.parametrize("lrp_rule", ["zplus", "alpha_beta"])
def test_zplus_on_sigmoid_network_names_layer_and_activation(image_mlp, lrp_rule):
    with pytest.raises(InvalidParameterError, match=r"layer 0 uses 'sigmoid'"):
        attribute(image_mlp, np.ones((1, 12)), 0, method="lrp", lrp_rule=lrp_rule)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"rule": "simpson"}, r"`rule` must be one of 'auto', 'exact', 'gauss_le"),
        ({"n_steps": 0}, r"`n_steps` must be >= 1"),
        ({"rule": "riemann_trapezoid", "n_steps": 1}, r"`n_steps` must be >= 2"),
        ({"stage": "logit"}, r"`stage` must be one of 'pre', 'post'"),
        ({"chunk_size": 0}, r"`chunk_size` must be >= 1"),
        ({"method": "lrp", "epsilon": -1.0}, r"`epsilon` must be >= 0"),
        ({"method": "lrp", "lrp_rule": "gama"}, r"`lrp_rule` must be an LRP rule"),
        ({"method": "occlusion", "window": (2, 5)}, r"`window\[1\]` must be betw"),
        ({"method": "occlusion", "window": (2,)}, r"`window` must be an integer or"),
        (
            {"method": "occlusion", "window": 2, "stride": 3},
            r"`stride\[0\]` must be at",
        ),
    ],
)
def test_bad_options_are_named(image_mlp, kwargs, match):
    kwargs = {"method": "integrated_gradients", **kwargs}
    with pytest.raises(InvalidParameterError, match=match):
        attribute(image_mlp, np.ones((1, 12)), 0, **kwargs)


def test_gradient_x_input_example_by_hand():
    # f = relu(x0 - x1) + 2 relu(0.5 x0 + 2 x1 - 1) + 0.5 at x = (2, 1)
    mlp = MLP(
        [
            Dense([[1.0, -1.0], [0.5, 2.0]], [0.0, -1.0], "relu"),
            Dense([[1.0, 2.0]], [0.5], "identity"),
        ]
    )
    result = attribute(mlp, [[2.0, 1.0]], 0, method="gradient_x_input")
    np.testing.assert_allclose(result.values, [[4.0, 3.0]])
    np.testing.assert_allclose(result.output, [5.5])
    np.testing.assert_allclose(result.baseline_output, [0.5])  # f(0)
    np.testing.assert_allclose(result.completeness_error, [7.0 - 5.0])


def test_docstring_examples_run():
    import doctest
    import importlib
    import pkgutil

    from mlpinspect.analysis import _backprop, attribution

    modules = [attribution, _backprop] + [
        importlib.import_module(f"{attribution.__name__}.{info.name}")
        for info in pkgutil.iter_modules(attribution.__path__)
    ]
    attempted = 0
    for module in modules:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
        assert result.failed == 0, module.__name__
        attempted += result.attempted
    assert attempted > 10


# ---------------------------------------------------------------------------
# Class labels, DataFrames and binary heads.
# ---------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(st.data(), st.sampled_from(LABEL_KINDS), st.sampled_from(["pre", "post"]))
def test_targets_may_be_labels_of_every_kind(data, kind, stage):
    mlp = data.draw(classifiers(kind=kind))
    X = data.draw(inputs_for(mlp, max_rows=5, bound=2.0))
    y = data.draw(labels_of(mlp, X.shape[0]))
    positions = class_positions(mlp, y)
    c = data.draw(st.integers(0, mlp.n_outputs - 1))
    label = mlp.classes.tolist()[c]
    methods = ["gradient", "integrated_gradients"]
    if lrp_applies(mlp, stage):
        methods.append("lrp")
    method = data.draw(st.sampled_from(methods))
    kw = {"stage": stage, "method": method}
    if method == "integrated_gradients":
        kw["n_steps"] = 8
    by_position = attribute(mlp, X, c, **kw)
    for target in (label, str(label)):
        by_label = attribute(mlp, X, target, **kw)
        np.testing.assert_array_equal(by_label.values, by_position.values)
        np.testing.assert_array_equal(by_label.target, np.full(X.shape[0], c))
    per_row = attribute(mlp, X, y, **kw)
    oracle = attribute(mlp, X, one_hot(mlp, positions, X.shape[0]), **kw)
    np.testing.assert_array_equal(per_row.target, positions)
    np.testing.assert_allclose(per_row.values, oracle.values, rtol=1e-13, atol=1e-300)


def test_unknown_target_labels_are_named(image_mlp):
    X = np.ones((3, 12))
    with pytest.raises(
        InvalidParameterError, match=r"`target` holds labels .*'cow'.* at row 1"
    ):
        attribute(image_mlp, X, ["dog", "cow", "eel"])
    with pytest.raises(InvalidParameterError, match=r"`target` must be one of"):
        attribute(image_mlp, X, "Dog")


def test_dataframe_inputs_keep_their_column_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 3)), rng.normal(size=4), "tanh"),
            Dense(rng.normal(size=(2, 4)), rng.normal(size=2), "softmax"),
        ]
    )
    df = pd.DataFrame(rng.normal(size=(5, 3)), columns=["age", "height", "weight"])
    result = attribute(mlp, df, 1, method="deeplift")
    assert result.feature_names == ("age", "height", "weight")
    np.testing.assert_array_equal(
        result.values, attribute(mlp, df.to_numpy(), 1, method="deeplift").values
    )
    assert attribute(mlp, df.to_numpy(), 1).feature_names is None
    named = mlp.replace(feature_names=["age", "height", "weight"])
    assert attribute(named, df.to_numpy(), 1).feature_names == tuple(df.columns)
    with pytest.raises(InvalidParameterError, match=r"`X` has columns that differ"):
        attribute(named, df[["height", "age", "weight"]], 1)


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize("stage", ["pre", "post"])
def test_binary_negative_class_is_minus_the_positive_one(method, stage):
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 3)), rng.normal(size=4), "relu"),
            Dense(rng.normal(size=(1, 4)), rng.normal(size=1), "sigmoid"),
        ],
        class_names=["no", "yes"],
    )
    X = rng.normal(size=(6, 3))
    if method == "lrp" and stage == "post":
        pytest.skip("LRP refuses to pass relevance through a sigmoid")
    kw = {
        "method": method,
        "stage": stage,
        **method_kwargs(method, rng.normal(size=(6, 3))),
    }
    yes = attribute(mlp, X, "yes", **kw)
    no = attribute(mlp, X, "no", **kw)
    np.testing.assert_allclose(no.values, -yes.values, rtol=1e-14, atol=1e-300)
    np.testing.assert_allclose(no.output, -yes.output, rtol=1e-14)
    np.testing.assert_array_equal(yes.target, np.zeros(6, dtype=int))
    np.testing.assert_array_equal(no.target, -np.ones((6, 1)))  # a direction
    # the one unit, by default or by position, is the positive class
    for target in (None, 0):
        same = attribute(mlp, X, target, **kw)
        np.testing.assert_array_equal(same.values, yes.values)
    # per-row labels pick the sign row by row
    labels = np.array(["no", "yes", "yes", "no", "no", "yes"])
    mixed = attribute(mlp, X, labels, **kw)
    expected = np.where((labels == "yes")[:, None], yes.values, no.values)
    np.testing.assert_allclose(mixed.values, expected, rtol=1e-13, atol=1e-300)


def test_predicted_integer_labels_are_per_row_targets():
    rng = np.random.default_rng(0)
    binary = MLP(
        [
            Dense(rng.normal(size=(3, 2)), np.zeros(3), "relu"),
            Dense(rng.normal(size=(1, 3)), [0.1], "sigmoid"),
        ],
        class_names=[0, 1],  # what scikit-learn's binary classifiers have
    )
    X = rng.normal(size=(6, 2))
    predicted = binary.predict(X)
    result = attribute(binary, X, predicted, method="gradient")
    expected = np.where(predicted[:, None] == 1, 1.0, -1.0)
    np.testing.assert_array_equal(result.target, expected)


def test_a_bad_per_row_target_is_named_by_its_row(image_mlp):
    with pytest.raises(InvalidParameterError, match=r"`target`.*5.* at row 0"):
        attribute(image_mlp, np.ones((2, 12)), [5, 0])
