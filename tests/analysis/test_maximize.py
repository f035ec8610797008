"""Activation maximisation: known optima, monotone traces, reproducibility."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import optimize
from tests.strategies import float_arrays, mlps

from mlpinspect import MLP, Dense, InvalidParameterError
from mlpinspect.analysis._backprop import input_gradient
from mlpinspect.analysis.maximize import PreferredInput, _project, preferred_input


def linear_unit_model(w, b=0.0, activation="sigmoid"):
    w = np.asarray(w, dtype=float)
    return MLP([Dense(w[None, :], [b], activation)])


@settings(max_examples=30, deadline=None)
@given(
    w=float_arrays((6,), 3.0).filter(lambda w: np.linalg.norm(w) > 1e-3),
    norm=st.floats(0.1, 10.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_linear_unit_optimum_is_the_scaled_weight_vector(w, norm, seed):
    mlp = linear_unit_model(w, b=0.7)
    result = preferred_input(mlp, 0, norm=norm, n_steps=60, seed=seed)
    expected = norm * w / np.linalg.norm(w)
    np.testing.assert_allclose(result.image, expected, rtol=1e-6, atol=1e-6 * norm)
    np.testing.assert_allclose(result.activation, norm * np.linalg.norm(w) + 0.7)


def test_first_layer_unit_of_a_deep_network_prefers_its_weight_image():
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(5, 12)), rng.normal(size=5), "relu"),
            Dense(rng.normal(size=(3, 5)), rng.normal(size=3), "softmax"),
        ],
        input_shape=(3, 4),
    )
    result = preferred_input(mlp, [1, 4], layer=0, norm=2.0)
    assert result.image.shape == (2, 3, 4)
    w = mlp.layers[0].weight[[1, 4]]
    expected = 2.0 * w / np.linalg.norm(w, axis=1, keepdims=True)
    np.testing.assert_allclose(result.image.reshape(2, 12), expected, atol=1e-6)


def test_box_constrained_optimum_matches_a_generic_solver():
    rng = np.random.default_rng(1)
    w = rng.normal(size=8)
    mlp = linear_unit_model(w)
    norm = 1.5
    result = preferred_input(mlp, 0, norm=norm, box=(0.0, 1.0), n_steps=300)
    x = result.image
    assert np.all(x >= 0) and np.all(x <= 1) and np.linalg.norm(x) <= norm + 1e-9
    solved = optimize.minimize(
        lambda v: -w @ v,
        np.full(8, 0.1),
        jac=lambda v: -w,
        bounds=[(0.0, 1.0)] * 8,
        constraints=[{"type": "ineq", "fun": lambda v: norm**2 - v @ v}],
        method="SLSQP",
        options={"ftol": 1e-12, "maxiter": 500},
    )
    assert solved.success
    assert w @ x >= -solved.fun - 1e-7
    np.testing.assert_allclose(x, solved.x, atol=1e-5)


@settings(max_examples=30, deadline=None)
@given(
    mlp=mlps(max_layers=3, max_inputs=6),
    data=st.data(),
    stage=st.sampled_from(["pre", "post"]),
    box=st.sampled_from([None, (0.0, 1.0), (-0.5, 0.5)]),
)
def test_trace_never_decreases_and_constraints_hold(mlp, data, stage, box):
    layer = data.draw(st.integers(0, len(mlp) - 1))
    unit = data.draw(st.integers(0, mlp.layers[layer].n_out - 1))
    norm = data.draw(st.floats(0.5, 3.0))
    result = preferred_input(
        mlp, unit, layer=layer, stage=stage, norm=norm, box=box, n_steps=40
    )
    assert result.trace.shape == (41,)
    assert np.all(np.diff(result.trace) >= 0)
    assert result.activation == result.trace[-1]
    assert np.linalg.norm(result.image) <= norm * (1 + 1e-12)
    if box is not None:
        assert np.all(result.image >= box[0]) and np.all(result.image <= box[1])
    trace = mlp.trace(result.image.reshape(1, -1))
    acts = trace.pre[layer] if stage == "pre" else trace.post[layer]
    np.testing.assert_allclose(acts[0, unit], result.activation, rtol=1e-12, atol=1e-12)


def test_ascent_ends_at_a_stationary_point_on_the_sphere():
    rng = np.random.default_rng(2)
    mlp = MLP(
        [
            Dense(rng.normal(size=(6, 10)), rng.normal(size=6), "tanh"),
            Dense(rng.normal(size=(2, 6)), rng.normal(size=2), "identity"),
        ]
    )
    result = preferred_input(mlp, 1, norm=2.0, n_steps=500)
    # At a maximum on the sphere the gradient points along x (KKT).
    grad, _ = input_gradient(mlp, result.image[None], [0.0, 1.0])
    cosine = (
        grad[0] @ result.image / (np.linalg.norm(grad) * np.linalg.norm(result.image))
    )
    assert cosine > 1 - 1e-6
    assert result.trace[-1] > result.trace[0]


def test_same_seed_same_result_and_seeds_differ():
    rng = np.random.default_rng(3)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 5)), rng.normal(size=4), "sigmoid"),
            Dense(rng.normal(size=(3, 4)), rng.normal(size=3), "sigmoid"),
        ]
    )
    a = preferred_input(mlp, 2, seed=7, n_steps=20)
    b = preferred_input(mlp, 2, seed=7, n_steps=20)
    c = preferred_input(mlp, 2, seed=8, n_steps=20)
    np.testing.assert_array_equal(a.image, b.image)
    np.testing.assert_array_equal(a.trace, b.trace)
    assert not np.array_equal(a.start, c.start)
    assert a.seed == 7


def test_several_units_equal_separate_runs_from_the_same_start():
    rng = np.random.default_rng(4)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 5)), rng.normal(size=4), "tanh"),
            Dense(rng.normal(size=(3, 4)), rng.normal(size=3), "sigmoid"),
        ]
    )
    start = rng.normal(size=5)
    together = preferred_input(mlp, [0, 2], start=start, n_steps=30, norm=1.0)
    assert together.seed is None
    for row, unit in enumerate([0, 2]):
        alone = preferred_input(mlp, unit, start=start, n_steps=30, norm=1.0)
        np.testing.assert_allclose(together.image[row], alone.image, rtol=1e-12)
        np.testing.assert_allclose(together.trace[row], alone.trace, rtol=1e-12)


def test_class_names_and_defaults():
    mlp = MLP(
        [Dense(np.eye(2) * [[1.0], [-1.0]], np.zeros(2), "softmax")],
        class_names=["up", "down"],
    )
    result = preferred_input(mlp, "down")
    assert isinstance(result, PreferredInput)
    assert result.unit == 1 and result.layer == 0
    assert result.norm == pytest.approx(np.sqrt(2) / 3)
    assert result.step_size == pytest.approx(result.norm / 10)
    assert "PreferredInput(layer=0, unit=1" in repr(result)


@settings(max_examples=50, deadline=None)
@given(
    Y=float_arrays((3, 5), 4.0),
    norm=st.floats(0.1, 5.0),
    box=st.sampled_from([None, (0.0, 1.0), (-1.0, 0.5), (0.05, 2.0)]),
    Q=float_arrays((10, 5), 3.0),
)
def test_projection_is_the_nearest_feasible_point(Y, norm, box, Q):
    if box is not None and abs(np.clip(0, *box)) * np.sqrt(5) > norm:
        return  # empty feasible set; preferred_input rejects it
    P = _project(Y, norm, box)
    assert np.all(np.linalg.norm(P, axis=1) <= norm * (1 + 1e-12))
    if box is not None:
        assert np.all(box[0] <= P) and np.all(box[1] >= P)
    # Variational inequality: (y - p) . (q - p) <= 0 for every feasible q.
    feasible = _project(Q, norm, box)
    for y, p in zip(Y, P):
        gaps = (feasible - p) @ (y - p)
        assert np.all(gaps <= 1e-9 * (1 + np.abs(y).sum()) ** 2)
    np.testing.assert_allclose(_project(P, norm, box), P, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"unit": 3}, r"`unit` must be an output position in \[0, 1\]"),
        ({"unit": 0, "layer": 2}, r"`layer` must be in \[-1, 0\]"),
        ({"unit": 0, "norm": 0.0}, r"`norm` must be > 0"),
        ({"unit": 0, "box": (1.0, 0.0)}, r"`box` must have lo < hi"),
        ({"unit": 0, "box": (2.0, 3.0), "norm": 1.0}, r"leave no feasible input"),
        ({"unit": 0, "start": np.zeros(3)}, r"`start` must have shape \(2,\)"),
        ({"unit": 0, "stage": "logit"}, r"`stage` must be one of"),
        ({"unit": [], "norm": 1.0}, r"`unit` must be a unit index"),
        ({"unit": 0, "n_steps": -1}, r"`n_steps` must be >= 0"),
    ],
)
def test_bad_arguments_are_named(kwargs, match):
    mlp = MLP([Dense(np.ones((2, 2)), np.zeros(2), "tanh")])
    unit = kwargs.pop("unit")
    with pytest.raises(InvalidParameterError, match=match):
        preferred_input(mlp, unit, **kwargs)


def test_docstring_examples_run():
    import doctest

    from mlpinspect.analysis import maximize

    result = doctest.testmod(maximize, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize(
    "names", [["cat", "dog", "emu"], [10, 20, 30], [True, False]], ids=str
)
def test_a_class_label_names_the_output_unit(names):
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(5, 6)), rng.normal(size=5), "tanh"),
            Dense(rng.normal(size=(len(names), 5)), np.zeros(len(names)), "softmax"),
        ],
        class_names=names,
    )
    by_position = preferred_input(mlp, 1, n_steps=15)
    for unit in (names[1], str(names[1])):
        by_label = preferred_input(mlp, unit, n_steps=15)
        assert by_label.unit == 1
        np.testing.assert_array_equal(by_label.image, by_position.image)
    both = preferred_input(mlp, [names[0], str(names[1])], n_steps=15)
    assert both.unit.tolist() == [0, 1]
    with pytest.raises(InvalidParameterError, match=r"`unit\[1\]`.*got 'cow'"):
        preferred_input(mlp, [names[0], "cow"])


def test_the_negative_class_maximises_minus_the_logit():
    rng = np.random.default_rng(1)
    hidden = Dense(rng.normal(size=(5, 6)), rng.normal(size=5), "tanh")
    out = Dense(rng.normal(size=(1, 5)), rng.normal(size=1), "sigmoid")
    mlp = MLP([hidden, out], class_names=["no", "yes"])
    # Oracle: the same network with the output unit negated, maximised as usual.
    flipped = MLP([hidden, Dense(-out.weight, -out.bias, "identity")])
    no = preferred_input(mlp, "no", n_steps=40)
    ref = preferred_input(flipped, 0, n_steps=40)
    np.testing.assert_allclose(no.image, ref.image, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(no.trace, ref.trace, rtol=1e-12, atol=1e-14)
    assert (no.unit, no.sign) == (0, -1.0)
    both = preferred_input(mlp, ["yes", "no"], n_steps=40)
    assert both.sign.tolist() == [1.0, -1.0]
    alone = preferred_input(mlp, "no", n_steps=40, start=both.start[1])
    # one row or two: products round differently, and the ascent's accept or
    # reject decisions can amplify that a little
    assert both.activation[1] == pytest.approx(alone.activation, rel=1e-9)
    np.testing.assert_allclose(both.image[1], alone.image, atol=1e-6)
    yes = preferred_input(mlp, "yes", n_steps=40)
    assert yes.sign == 1.0
    assert yes.activation == pytest.approx(float(mlp.trace(yes.image).pre[-1][0, 0]))
    assert no.activation == pytest.approx(-float(mlp.trace(no.image).pre[-1][0, 0]))
