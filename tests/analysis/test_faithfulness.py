"""Faithfulness metrics: infidelity and max-sensitivity as Captum defines them
(compared with ``captum.metrics`` given the same perturbations), deletion and
insertion curves against a slow re-implementation."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import inputs_for, mlps

from mlpinspect import (
    MLP,
    Dense,
    InvalidParameterError,
    attribute,
    deletion_curve,
    infidelity,
    insertion_curve,
    max_sensitivity,
)


@pytest.fixture
def setting():
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(6, 7)), rng.normal(size=6), "tanh"),
            Dense(rng.normal(size=(4, 6)), rng.normal(size=4), "relu"),
            Dense(rng.normal(size=(3, 4)), rng.normal(size=3), "identity"),
        ]
    )
    X = rng.normal(size=(5, 7))
    return mlp, X, np.array([0, 1, 2, 1, 0])


def slow_infidelity(mlp, X, W, values, I, normalize):
    out = []
    for x, w, a, perturbs in zip(X, W, values, I):
        fx = w @ mlp.forward(x[None])[0]
        ad = np.array([p @ a for p in perturbs])
        diff = np.array([fx - w @ mlp.forward((x - p)[None])[0] for p in perturbs])
        beta = (ad @ diff) / (ad @ ad) if normalize and ad @ ad else 1.0
        out.append(np.mean((beta * ad - diff) ** 2))
    return np.array(out)


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize("method", ["gradient", "deeplift", "lrp"])
def test_infidelity_matches_its_definition(setting, method, normalize):
    mlp, X, t = setting
    result = attribute(mlp, X, t, method=method)
    I = np.random.default_rng(1).normal(scale=0.2, size=(5, 6, 7))
    ours = infidelity(mlp, result, perturbations=I, normalize=normalize)
    W = np.eye(3)[t]
    expected = slow_infidelity(mlp, X, W, result.values, I, normalize)
    np.testing.assert_allclose(ours, expected, rtol=1e-10, atol=1e-14)


def test_infidelity_is_zero_for_the_gradient_of_a_linear_model():
    rng = np.random.default_rng(2)
    linear = MLP([Dense(rng.normal(size=(3, 5)), rng.normal(size=3), "identity")])
    X = rng.normal(size=(4, 5))
    result = attribute(linear, X, 2, method="gradient")
    np.testing.assert_allclose(infidelity(linear, result, seed=0), 0.0, atol=1e-24)


def test_infidelity_draws_are_reproducible_and_chunk_free(setting):
    mlp, X, t = setting
    result = attribute(mlp, X, t, method="deeplift")
    a = infidelity(mlp, result, seed=3, n_perturb_samples=7)
    b = infidelity(mlp, result, seed=3, n_perturb_samples=7)
    np.testing.assert_array_equal(a, b)
    assert a.shape == (5,) and np.all(a >= 0)


def test_max_sensitivity_matches_its_definition(setting):
    mlp, X, t = setting
    d = np.random.default_rng(4).uniform(-0.05, 0.05, size=(5, 4, 7))
    ours = max_sensitivity(mlp, X, t, method="deeplift", perturbations=d,
                           baseline=0.3)  # fmt: skip
    base = attribute(mlp, X, t, method="deeplift", baseline=0.3).values
    expected = []
    for row in range(5):
        moved = attribute(mlp, X[row] + d[row], np.full(4, t[row]),
                          method="deeplift", baseline=0.3).values  # fmt: skip
        expected.append(
            np.max(np.linalg.norm(moved - base[row], axis=1))
            / np.linalg.norm(base[row])
        )
    np.testing.assert_allclose(ours, expected, rtol=1e-12)


def test_max_sensitivity_of_a_linear_models_gradient_is_zero():
    linear = MLP([Dense([[1.0, -2.0, 3.0]], [0.1], "identity")])
    X = np.random.default_rng(5).normal(size=(3, 3))
    assert np.all(max_sensitivity(linear, X, 0, method="gradient", seed=1) == 0.0)


def test_max_sensitivity_repeats_per_row_baselines_and_labels():
    rng = np.random.default_rng(6)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 3)), rng.normal(size=4), "tanh"),
            Dense(rng.normal(size=(3, 4)), rng.normal(size=3), "softmax"),
        ],
        class_names=[10, 20, 30],
    )
    X, B = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
    d = rng.uniform(-0.02, 0.02, size=(4, 2, 3))
    labels = np.array([30, 10, 20, 30])
    ours = max_sensitivity(mlp, X, labels, method="integrated_gradients",
                           baseline=B, perturbations=d, n_steps=8)  # fmt: skip
    for row in range(4):
        alone = max_sensitivity(mlp, X[row : row + 1], labels[row : row + 1],
                                method="integrated_gradients", baseline=B[row],
                                perturbations=d[row : row + 1], n_steps=8)  # fmt: skip
        np.testing.assert_allclose(ours[row], alone[0], rtol=1e-12)


# ---------------------------------------------------------------------------
# Deletion and insertion.
# ---------------------------------------------------------------------------


def slow_curve(mode, mlp, X, W, values, B, n_steps, by="value"):
    d = X.shape[1]
    out = []
    for x, w, a, b in zip(X, W, values, B):
        score = a if by == "value" else np.abs(a)
        order = np.argsort(-score, kind="stable")
        row = []
        for s in range(n_steps + 1):
            k = int(np.rint(s / n_steps * d))
            z = x.copy() if mode == "deletion" else b.copy()
            z[order[:k]] = b[order[:k]] if mode == "deletion" else x[order[:k]]
            row.append(w @ mlp.forward(z[None])[0])
        out.append(row)
    return np.array(out)


@settings(max_examples=25, deadline=None)
@given(
    data=st.data(),
    mode=st.sampled_from(["deletion", "insertion"]),
    n_steps=st.integers(1, 6),
    by=st.sampled_from(["value", "abs"]),
)
def test_curves_match_a_slow_reimplementation(data, mode, n_steps, by):
    mlp = data.draw(mlps(min_inputs=6, max_inputs=8, output_activations=("identity",)))
    X = data.draw(inputs_for(mlp, max_rows=4))
    B = np.random.default_rng(0).normal(size=X.shape)
    result = attribute(mlp, X, 0, method="deeplift", baseline=B)
    make = deletion_curve if mode == "deletion" else insertion_curve
    curve = make(mlp, result, n_steps=n_steps, by=by, chunk_size=3)
    W = np.eye(mlp.n_outputs)[np.zeros(len(X), int)]
    expected = slow_curve(mode, mlp, X, W, result.values, B, n_steps, by)
    np.testing.assert_allclose(curve.values, expected, rtol=1e-10, atol=1e-10)
    # the result's own baseline was used; the ends are f(x) and f(b)
    ends = (result.output, result.baseline_output)
    first, last = ends if mode == "deletion" else ends[::-1]
    np.testing.assert_allclose(curve.values[:, 0], first, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(curve.values[:, -1], last, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        curve.auc, np.trapezoid(curve.values, curve.fractions, axis=1), rtol=1e-12
    )


def test_deleting_a_linear_models_contributions_in_order():
    # Gradient x input of a linear model are the exact contributions: deleting
    # the largest first makes the output fall by exactly those amounts.
    w = np.array([4.0, -1.0, 2.0, 0.5])
    linear = MLP([Dense(w[None], [1.0], "identity")])
    x = np.ones((1, 4))
    result = attribute(linear, x, 0, method="gradient_x_input")
    curve = deletion_curve(linear, result, n_steps=4)
    np.testing.assert_allclose(curve.values, [[6.5, 2.5, 0.5, 0.0, 1.0]])
    assert curve.method == "gradient_x_input" and curve.mode == "deletion"
    shuffled = insertion_curve(linear, result, n_steps=4, baseline=0.0)
    np.testing.assert_allclose(shuffled.values, [[1.0, 5.0, 7.0, 7.5, 6.5]])


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m, r: deletion_curve(m, r, n_steps=0), r"`n_steps` must be >= 1"),
        (lambda m, r: deletion_curve(m, r, by="rank"), r"`by` must be one of"),
        (lambda m, r: deletion_curve(m, r, baseline=np.zeros(3)), r"`baseline` must"),
        (lambda m, r: deletion_curve(m, "r"), r"`attribution` must be an Attribution"),
        (lambda m, r: infidelity(m, r, perturbations=np.zeros((5, 2, 6))),
         r"`perturbations` must have one row per input"),
        (lambda m, r: infidelity(m, r, normalize="yes"), r"`normalize` must be True"),
        (lambda m, r: max_sensitivity(m, r.inputs, 0, norm=3), r"`norm` must be 'fro'"),
        (lambda m, r: infidelity(MLP([Dense(np.ones((3, 2)), np.zeros(3), "tanh")]),
                                 r), r"inputs of shape \(7,\), but the model takes"),
    ],
)  # fmt: skip
def test_bad_arguments_are_named(setting, call, match):
    mlp, X, t = setting
    result = attribute(mlp, X, t, method="gradient")
    with pytest.raises(InvalidParameterError, match=match):
        call(mlp, result)


@pytest.mark.parametrize("count", [10**9, 2**70])
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda m, r, c: deletion_curve(m, r, n_steps=c), r"the curves for n_steps="),
        (lambda m, r, c: insertion_curve(m, r, n_steps=c), r"the curves for n_steps="),
        (lambda m, r, c: infidelity(m, r, n_perturb_samples=c),
         r"the perturbations for n_perturb_samples="),
        (lambda m, r, c: max_sensitivity(m, r.inputs, 0, n_perturb_samples=c),
         r"the perturbations for n_perturb_samples="),
    ],
)  # fmt: skip
def test_huge_counts_are_refused_up_front_with_the_memory_they_need(
    setting, call, match, count
):
    mlp, X, t = setting
    result = attribute(mlp, X, t, method="gradient")
    with pytest.raises(InvalidParameterError, match=match + rf"{count} would need "
                       r"[\d.]+ (GiB|TiB|PiB), more than the 1.0 GiB"):  # fmt: skip
        call(mlp, result, count)


def test_curves_of_a_stream_result(setting):
    mlp, X, t = setting
    streamed = attribute(mlp, [X[:2], X[2:]], t, method="deeplift")
    whole = attribute(mlp, X, t, method="deeplift")
    np.testing.assert_allclose(
        deletion_curve(mlp, streamed).values, deletion_curve(mlp, whole).values
    )
    assert "mean_auc" in repr(deletion_curve(mlp, whole))
