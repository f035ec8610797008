"""Tests of the MLP view: heads, labels, the one forward pass."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlpinspect
from mlpinspect import MLP, Dense, InvalidParameterError, NumericalError
from mlpinspect.mlp import TASKS, infer_task

rng = np.random.default_rng(0)


def _mlp(n_out: int, activation: str, n_in: int = 4, **options) -> MLP:
    r = np.random.default_rng(n_out)
    return MLP(
        [
            Dense(r.normal(size=(6, n_in)), r.normal(size=6), "tanh"),
            Dense(r.normal(size=(n_out, 6)), r.normal(size=n_out), activation),
        ],
        **options,
    )


@pytest.mark.parametrize(
    ("activation", "n_out", "task"),
    [
        ("softmax", 3, "multiclass"),
        ("sigmoid", 1, "binary"),
        ("sigmoid", 4, "multiclass"),  # Nielsen's one-vs-rest sigmoids
        ("identity", 4, "multiclass"),  # logits
        ("identity", 1, None),  # a regression value or a binary logit?
        ("relu", 1, None),
    ],
)
def test_the_output_layer_implies_a_task(activation, n_out, task):
    assert infer_task(activation, n_out) == task
    assert _mlp(n_out, activation).task == task


def test_one_output_without_a_task_refuses_to_predict_and_says_how():
    mlp = _mlp(1, "identity")
    X = rng.normal(size=(5, 4))
    for method in (mlp.predict, mlp.predict_proba):
        with pytest.raises(InvalidParameterError, match="task='regression'"):
            method(X)
    with pytest.raises(InvalidParameterError, match="task='binary'"):
        mlp.score(X, np.zeros(5))
    assert "unknown" in repr(mlp)
    # Two labels for one output say it is binary.
    assert _mlp(1, "identity", class_names=["no", "yes"]).task == "binary"


def test_multiclass_predicts_labels():
    mlp = _mlp(3, "softmax", class_names=["cat", "dog", "fox"])
    X = rng.normal(size=(20, 4))
    out = mlp.forward(X)
    expected = np.array(["cat", "dog", "fox"])[out.argmax(axis=1)]
    np.testing.assert_array_equal(mlp.predict(X), expected)
    np.testing.assert_allclose(mlp.predict_proba(X), out)
    assert mlp.score(X, expected) == 1.0
    assert mlp.score(X, out.argmax(axis=1)) == 1.0  # positions work too


@pytest.mark.parametrize("activation", ["sigmoid", "identity"])
def test_binary_predicts_the_positive_class_above_the_threshold(activation):
    mlp = _mlp(1, activation, class_names=["no", "yes"])
    X = rng.normal(size=(50, 4))
    logit = mlp.trace(X).pre[-1][:, 0]
    expected = np.where(logit > 0, "yes", "no")
    np.testing.assert_array_equal(mlp.predict(X), expected)
    proba = mlp.predict_proba(X)
    p = 1 / (1 + np.exp(-logit))
    np.testing.assert_allclose(proba, np.column_stack([1 - p, p]), rtol=1e-12)
    assert mlp.score(X, expected) == 1.0
    assert mlp.n_classes == 2 and mlp.classes.tolist() == ["no", "yes"]


def test_multilabel_predicts_an_indicator_matrix():
    mlp = _mlp(3, "sigmoid", task="multilabel", class_names=["a", "b", "c"])
    X = rng.normal(size=(30, 4))
    out = mlp.forward(X)
    expected = (out > 0.5).astype(np.int8)
    np.testing.assert_array_equal(mlp.predict(X), expected)
    np.testing.assert_allclose(mlp.predict_proba(X), out)
    y = expected.copy()
    y[0] = 1 - y[0]  # one row wrong in every label
    assert mlp.score(X, y) == pytest.approx(29 / 30)


def test_regression_predicts_values_and_scores_r2():
    mlp = _mlp(1, "identity", task="regression")
    X = rng.normal(size=(40, 4))
    values = mlp.forward(X)[:, 0]
    np.testing.assert_array_equal(mlp.predict(X), values)
    assert mlp.score(X, values) == 1.0
    y = values + rng.normal(size=40)
    r2 = 1 - ((y - values) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert mlp.score(X, y) == pytest.approx(r2, abs=1e-12)
    with pytest.raises(InvalidParameterError, match="regressor"):
        mlp.predict_proba(X)
    two = _mlp(2, "identity", task="regression")
    assert two.predict(X).shape == (40, 2)
    # Constant targets: a perfect fit scores 1, anything else 0 (as scikit-learn).
    flat = MLP([Dense(np.zeros((1, 4)), [2.0])], task="regression")
    assert flat.score(X, np.full(40, 2.0)) == 1.0
    assert flat.score(X, np.full(40, 3.0)) == 0.0


def test_one_vs_rest_sigmoids_are_normalised_like_scikit_learn():
    mlp = _mlp(4, "sigmoid")
    X = rng.normal(size=(10, 4))
    out = mlp.forward(X)
    np.testing.assert_allclose(mlp.predict_proba(X), out / out.sum(1, keepdims=True))


def test_logits_go_through_a_softmax():
    mlp = _mlp(3, "identity")
    X = rng.normal(size=(10, 4))
    z = mlp.forward(X)
    e = np.exp(z - z.max(1, keepdims=True))
    np.testing.assert_allclose(mlp.predict_proba(X), e / e.sum(1, keepdims=True))


def test_class_names_are_checked():
    with pytest.raises(InvalidParameterError, match="sequence of 3"):
        _mlp(3, "softmax", class_names="abc")
    with pytest.raises(InvalidParameterError, match="one kind"):
        _mlp(3, "softmax", class_names=["a", 1, "c"])
    with pytest.raises(InvalidParameterError, match="appears twice"):
        _mlp(3, "softmax", class_names=["a", "b", "a"])
    with pytest.raises(InvalidParameterError, match="2 entries"):
        _mlp(1, "sigmoid", class_names=["yes"])
    with pytest.raises(InvalidParameterError, match="regression"):
        _mlp(1, "identity", task="regression", class_names=["a", "b"])
    with pytest.raises(InvalidParameterError, match="`task` must be one of"):
        _mlp(3, "softmax", task="ranking")
    with pytest.raises(InvalidParameterError, match="one output unit"):
        _mlp(3, "softmax", task="binary")
    assert set(TASKS) == {"multiclass", "binary", "multilabel", "regression"}


def test_input_shape_is_checked():
    for bad, match in [
        ((-2, -2), "positive integer"),
        ((2**62 + 1, 4), "multiply to 4"),
        ((float("inf"), 1), "positive integer"),
        ("ab", "sequence of positive integers"),
    ]:
        with pytest.raises(InvalidParameterError, match=match):
            _mlp(2, "softmax", input_shape=bad)
    assert _mlp(2, "softmax", input_shape=(2, 2)).input_shape == (2, 2)


def test_feature_names_are_kept():
    mlp = _mlp(2, "softmax", feature_names=["a", "b", "c", "d"])
    assert mlp.feature_names == ("a", "b", "c", "d")
    with pytest.raises(InvalidParameterError, match="4 entries"):
        _mlp(2, "softmax", feature_names=["a"])


def test_replace_keeps_the_layers():
    mlp = _mlp(1, "identity")
    new = mlp.replace(task="binary", class_names=[False, True], name="m")
    assert new.layers is mlp.layers and new.task == "binary" and new.name == "m"
    assert new.classes.tolist() == [False, True]
    with pytest.raises(InvalidParameterError, match="unknown argument"):
        mlp.replace(activation="relu")


def test_float32_stays_float32_and_float64_copy_is_remembered():
    mlp = mlpinspect.adapt(_mlp(3, "softmax")).astype(np.float32)
    X = rng.normal(size=(4, 4)).astype(np.float32)
    trace = mlp.trace(X)
    assert all(z.dtype == np.float32 for z in (*trace.pre, *trace.post))
    assert mlp.forward(X.astype(np.float64)).dtype == np.float32
    assert mlp.astype(np.float64) is mlp.astype(np.float64)


def test_overflow_is_refused_naming_the_layer():
    mlp = MLP(
        [
            Dense(np.full((2, 3), 1e200), np.zeros(2), "relu", name="fc1"),
            Dense(np.full((1, 2), 1e200), np.zeros(1)),
        ],
        task="regression",
    )
    with pytest.raises(NumericalError, match="fc1, layer 0 of the MLP, overflowed"):
        mlp.forward(np.full((1, 3), 1e200))
    with pytest.raises(NumericalError, match="layer 1 of the MLP overflowed"):
        mlp.forward(np.full((1, 3), 1.0))
    f32 = MLP([Dense(np.ones((2, 3), np.float32), np.zeros(2, np.float32))])
    with pytest.raises(NumericalError, match="too large for float32"):
        f32.forward(np.full((1, 3), 2e38, dtype=np.float32))


def test_propagate_is_the_forward_pass_in_pieces():
    mlp = _mlp(3, "softmax")
    X = rng.normal(size=(5, 4))
    trace = mlp.trace(X)
    np.testing.assert_allclose(mlp.propagate(X, keep=False), trace.output)
    np.testing.assert_allclose(
        mlp.propagate(trace.post[0], start=1, keep=False), trace.output
    )
    part = mlp.propagate(X, stop=0)
    assert len(part.pre) == 1
    np.testing.assert_array_equal(part.post[0], trace.post[0])
    again = mlp.propagate(None, start=1, first_pre=trace.pre[1])
    np.testing.assert_allclose(again.output, trace.output)


@settings(max_examples=25, deadline=None)
@given(st.integers(1, 50), st.integers(1, 7))
def test_chunks_do_not_change_the_outputs(n, chunk):
    mlp = _mlp(3, "softmax")
    X = np.random.default_rng(n).normal(size=(n, 4))
    # BLAS may order a one-row product differently: equal to rounding.
    np.testing.assert_allclose(
        mlp.forward(X, chunk_size=chunk), mlp.forward(X), rtol=1e-13, atol=1e-15
    )


ALL_ACTIVATION_NAMES = [
    "sigmoid", "tanh", "relu", "identity", "leaky_relu(0.1)", "softmax",
    "log_softmax", "gelu", "gelu_tanh", "silu", "mish", "selu", "softsign",
    "hardswish", "elu", "elu(0.5)", "elu(-0.5)", "elu(0)", "celu", "celu(2.5)",
    "softplus", "softplus(2.0)", "softplus(1.0, 20.0)", "softplus(2.0, 3.0)",
    "relu6", "hardtanh", "hardtanh(-2.0, 3.0)", "hardtanh(0.5, 2.0)",
    "hardtanh(-3.0, -1.0)", "hardsigmoid", "hardsigmoid(0.2, 0.5)",
    "hardsigmoid(0.5, 0.0)",
]  # fmt: skip


def _check_record_properties(act, z):
    a = act(z)
    if act.sign_preserving:
        assert (z * a >= 0).all()
    else:
        assert (z * a < 0).any()
    assert act.nonnegative == bool((a >= 0).all())
    if act.positive_homogeneous:
        np.testing.assert_allclose(act(3 * z), 3 * a)
    else:
        assert not np.allclose(act(3 * z), 3 * a)
    if act.piecewise_linear:
        # Linear between kinks: the second difference vanishes off them.
        step = z[0, 1] - z[0, 0]
        second = np.diff(a[0], 2)
        assert (np.abs(second) > 1e-9).sum() <= 4 and (np.abs(second) < 1e-9).any()
        assert step > 0
    elif act.elementwise:
        assert (np.abs(np.diff(a[0], 2)) > 1e-9).sum() > 4
    if act.elementwise:
        # The vector-Jacobian product is the derivative (central differences)
        # wherever the one-sided differences agree (off the kinks).
        h = 1e-6
        slope = (act(z + h) - act(z - h)) / (2 * h)
        left, right = (a - act(z - h)) / h, (act(z + h) - a) / h
        smooth = np.abs(left - right) < 1e-4
        assert smooth.mean() > 0.9
        np.testing.assert_allclose(
            act.vjp(z, a, np.ones_like(z))[smooth], slope[smooth], rtol=1e-6, atol=1e-8
        )


@pytest.mark.parametrize("name", ALL_ACTIVATION_NAMES)
def test_activation_records_state_their_properties_truthfully(name):
    act = mlpinspect.activations.get_activation(name)
    _check_record_properties(act, np.linspace(-5, 5, 101).reshape(1, -1))


@pytest.mark.parametrize(
    "slopes", [[0.1, 0.2, 0.3], [0.0, 0.0, 0.0], [-0.5, 0.2, 0.1], [1.5, 2.0, 0.0]]
)
def test_prelu_records_state_their_properties_truthfully(slopes):
    act = mlpinspect.activations.get_activation("prelu", params=slopes)
    z = np.repeat(np.linspace(-5, 5, 101).reshape(-1, 1), 3, axis=1)
    for unit in range(3):  # each unit is a leaky ReLU of its own slope
        leaky = mlpinspect.activations.get_activation(f"leaky_relu({slopes[unit]})")
        np.testing.assert_array_equal(act(z)[:, unit], leaky(z[:, unit]))
    a = act(z)
    assert act.sign_preserving == bool((z * a >= 0).all())
    assert act.nonnegative == bool((a >= 0).all())
    np.testing.assert_allclose(act(3 * z), 3 * a)
    off_kink = z != 0
    expected = np.where(z > 0, 1.0, np.array(slopes))
    np.testing.assert_array_equal(act.vjp(z, a, np.ones_like(z))[off_kink],
                                  expected[off_kink])  # fmt: skip
