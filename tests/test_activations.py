"""Activation records: each function and its derivative, against finite
differences (hypothesis) and against PyTorch's own functions in float64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mlpinspect
from mlpinspect import Dense, InvalidParameterError, UnsupportedModelError
from mlpinspect.activations import (
    canonical_activation,
    get_activation,
    takes_unit_params,
)

# name -> where its derivative jumps (finite differences are skipped there)
ELEMENTWISE = {
    "gelu": (),
    "gelu_tanh": (),
    "silu": (),
    "mish": (),
    "selu": (0.0,),
    "softsign": (0.0,),  # smooth, but |z| makes the difference quotient lumpy
    "hardswish": (-3.0, 3.0),
    "elu": (),
    "elu(0.5)": (0.0,),
    "celu": (),
    "celu(2.5)": (),
    "softplus": (),
    "softplus(2.0)": (),
    "softplus(1.0, 20.0)": (20.0,),
    "softplus(2.0, 3.0)": (1.5,),
    "relu6": (0.0, 6.0),
    "hardtanh": (-1.0, 1.0),
    "hardtanh(-2.0, 3.0)": (-2.0, 3.0),
    "hardsigmoid": (-3.0, 3.0),
    "hardsigmoid(0.2, 0.5)": (-2.5, 2.5),
}


@settings(max_examples=60, deadline=None)
@given(
    name=st.sampled_from(sorted(ELEMENTWISE)),
    z=st.lists(
        st.floats(-30, 30, allow_nan=False, allow_subnormal=False),
        min_size=1,
        max_size=8,
    ),
)
def test_the_derivative_is_the_slope_of_the_function(name, z):
    act = get_activation(name)
    z = np.array([z])
    kinks = np.array(ELEMENTWISE[name] or [np.inf])
    z = z[:, np.abs(z[0, :, None] - kinks).min(axis=1) > 1e-3]
    if z.size == 0:
        return
    h = 1e-6
    slope = (act(z + h) - act(z - h)) / (2 * h)
    g = np.linspace(0.5, 2.0, z.shape[1]).reshape(1, -1)
    error = np.abs(act.vjp(z, act(z), g) - g * slope)
    assert (error <= 1e-5 * np.abs(g * slope) + 1e-6 * (1 + np.abs(z))).all()


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["softmax", "log_softmax"]),
    z=st.lists(st.floats(-10, 10, allow_nan=False), min_size=2, max_size=6),
    seed=st.integers(0, 100),
)
def test_the_output_heads_vjp_is_the_jacobian(name, z, seed):
    act = get_activation(name)
    z = np.array([z])
    g = np.random.default_rng(seed).normal(size=z.shape)
    h = 1e-6
    jac = np.stack(
        [
            (act(z + h * e) - act(z - h * e))[0] / (2 * h)
            for e in np.eye(z.shape[1])[:, None, :]
        ]
    )  # jac[i, j] = d out_j / d z_i
    np.testing.assert_allclose(act.vjp(z, act(z), g)[0], jac @ g[0], atol=1e-6)


def test_log_softmax_is_the_log_of_softmax_and_a_multiclass_head():
    z = np.random.default_rng(0).normal(size=(5, 4)) * 30
    np.testing.assert_allclose(
        np.exp(get_activation("log_softmax")(z)),
        get_activation("softmax")(z),
        rtol=1e-12,
        atol=1e-300,
    )
    rng = np.random.default_rng(1)
    head = mlpinspect.MLP(
        [
            Dense(rng.normal(size=(3, 4)), rng.normal(size=3), "gelu"),
            Dense(rng.normal(size=(5, 3)), rng.normal(size=5), "log_softmax"),
        ]
    )
    soft = mlpinspect.MLP(
        [head.layers[0], Dense(head.layers[1].weight, head.layers[1].bias, "softmax")]
    )
    X = rng.normal(size=(7, 4))
    assert head.task == "multiclass"
    np.testing.assert_allclose(head.predict_proba(X), soft.predict_proba(X))
    np.testing.assert_array_equal(head.predict(X), soft.predict(X))
    with pytest.raises(UnsupportedModelError, match="only supported on the output"):
        mlpinspect.MLP([Dense(np.eye(4), np.zeros(4), "log_softmax"), head.layers[0]])


def test_names_are_canonical_and_aliases_resolve():
    assert canonical_activation("swish") == "silu"
    assert canonical_activation("hardtanh(0, 6)") == "relu6"
    assert canonical_activation("clip(-1, 1)") == "hardtanh"
    assert canonical_activation("hard_sigmoid") == "hardsigmoid"
    assert canonical_activation("hardsigmoid(0.16666666666666666, 0.5)") == (
        "hardsigmoid"
    )
    assert canonical_activation("ELU(alpha=1.0)") == "elu"
    assert canonical_activation("elu(0.3)") == "elu(0.3)"
    assert canonical_activation("Softplus(beta=1, threshold=20)") == (
        "softplus(1.0, 20.0)"
    )
    assert canonical_activation("hard_silu") == "hardswish"
    assert canonical_activation("gelu_approximate") == "gelu_tanh"
    assert takes_unit_params("prelu") and not takes_unit_params("leaky_relu")


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("hardtanh(1, 1)", "min < max"),
        ("celu(0)", "alpha > 0"),
        ("softplus(-1)", "beta > 0"),
        ("prelu", "per unit"),
        ("prelu(0.2)", "layer data"),
        ("elu(1, 2)", "at most 1"),
    ],
)
def test_bad_parameters_are_refused_with_the_reason(name, match):
    with pytest.raises(UnsupportedModelError, match=match):
        get_activation(name)


def test_prelu_slopes_are_layer_data():
    rng = np.random.default_rng(0)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=3)
    slopes = np.array([0.1, 0.25, -0.5])
    layer = Dense(W, b, "prelu", activation_params=slopes)
    assert layer.activation == "prelu"
    assert not layer.activation_params.flags.writeable
    assert not np.shares_memory(layer.activation_params, slopes)
    z = rng.normal(size=(6, 4)) @ W.T + b
    np.testing.assert_array_equal(layer.function(z), np.where(z > 0, z, slopes * z))
    # One slope is repeated; float32 weights keep float32 slopes.
    shared = Dense(W.astype(np.float32), b, "prelu", activation_params=0.2)
    assert shared.activation_params.dtype == np.float32
    np.testing.assert_array_equal(shared.activation_params, np.float32([0.2] * 3))
    assert layer.astype(np.float32).activation_params.dtype == np.float32
    with pytest.raises(InvalidParameterError, match="one value per unit"):
        Dense(W, b, "prelu", activation_params=[0.1, 0.2])
    with pytest.raises(UnsupportedModelError, match="takes no per-unit"):
        Dense(W, b, "relu", activation_params=slopes)
    with pytest.raises(UnsupportedModelError, match="activation_params"):
        Dense(W, b, "prelu")


def test_a_diverged_prelu_is_reported_by_check_finite():
    layer = Dense(np.eye(2), np.zeros(2), "prelu", activation_params=[np.nan, 0.1])
    mlp = mlpinspect.MLP([layer], task="regression")
    with pytest.raises(InvalidParameterError, match="activation_params has 1 NaN"):
        mlp.check_finite()


# -- against PyTorch, float64 -----------------------------------------------------


def _torch_functions():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    return {
        "gelu": F.gelu,
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "silu": F.silu,
        "mish": F.mish,
        "selu": F.selu,
        "softsign": F.softsign,
        "hardswish": F.hardswish,
        "elu": F.elu,
        "elu(0.5)": lambda x: F.elu(x, 0.5),
        "celu(2.5)": lambda x: F.celu(x, 2.5),
        "softplus(1.0, 20.0)": F.softplus,
        "softplus(2.0, 3.0)": lambda x: F.softplus(x, beta=2.0, threshold=3.0),
        "relu6": F.relu6,
        "hardtanh": F.hardtanh,
        "hardtanh(-2.0, 3.0)": lambda x: F.hardtanh(x, -2.0, 3.0),
        "hardsigmoid": F.hardsigmoid,
        "log_softmax": lambda x: F.log_softmax(x, dim=-1),
        "softmax": lambda x: F.softmax(x, dim=-1),
    }


def test_forward_and_derivative_equal_torch_in_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z = np.concatenate([rng.normal(size=(4, 16)) * 4, np.full((1, 16), 25.0)])
    z[0, :3] = [0.0, 3.0, -3.0]
    for name, fn in _torch_functions().items():
        act = get_activation(name)
        zt = torch.tensor(z, dtype=torch.float64, requires_grad=True)
        out = fn(zt)
        g = rng.normal(size=z.shape)
        (grad,) = torch.autograd.grad(out, zt, torch.from_numpy(g))
        np.testing.assert_allclose(
            act(z), out.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=name
        )
        # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32
        # even in float64; mlpinspect's slope is 1/6.
        rtol = 1e-7 if name == "hardsigmoid" else 1e-12
        np.testing.assert_allclose(
            act.vjp(z, act(z), g), grad.numpy(), rtol=rtol, atol=1e-12, err_msg=name
        )


def test_prelu_equals_torch_prelu_in_float64():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    z = rng.normal(size=(6, 3))
    slopes = np.array([0.1, 0.25, -0.5])
    zt = torch.tensor(z, requires_grad=True)
    out = torch.nn.functional.prelu(zt, torch.from_numpy(slopes))
    g = rng.normal(size=z.shape)
    (grad,) = torch.autograd.grad(out, zt, torch.from_numpy(g))
    act = get_activation("prelu", params=slopes)
    np.testing.assert_array_equal(act(z), out.detach().numpy())
    np.testing.assert_array_equal(act.vjp(z, act(z), g), grad.numpy())


# -- the trainers -----------------------------------------------------------------


@pytest.mark.parametrize("name", ["gelu", "silu", "elu", "softplus", "hardswish"])
def test_the_numpy_trainer_trains_every_elementwise_activation(name):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 4))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    net = mlpinspect.Network([4, 16, 2], activation=[name, "softmax"], seed=0)
    before = net.to_mlp().score(X, y)
    history = net.fit(X, y, epochs=30, batch_size=10, learning_rate=0.5,
                      cost="cross_entropy", progress=False)  # fmt: skip
    assert history.cost[-1] < history.cost[0]
    assert net.to_mlp().score(X, y) > max(before, 0.75)


def test_the_compiled_trainer_refuses_what_it_does_not_implement():
    pytest.importorskip("numba")
    net = mlpinspect.Network([4, 3, 2], activation=["gelu", "softmax"], seed=0)
    with pytest.raises(InvalidParameterError, match=r"'gelu'.*engine='numpy'"):
        net.fit(np.ones((4, 4)), [0, 1, 0, 1], epochs=1, engine="numba",
                progress=False)  # fmt: skip


# -- LRP: which rule applies --------------------------------------------------------


def test_lrp_rules_for_hidden_layers_that_are_not_relu():
    rng = np.random.default_rng(0)
    mlp = mlpinspect.MLP(
        [
            Dense(rng.normal(size=(4, 3)), rng.normal(size=4), "gelu"),
            Dense(rng.normal(size=(2, 4)), rng.normal(size=2), "log_softmax"),
        ]
    )
    X = rng.normal(size=(3, 3))
    # The epsilon rule passes relevance through any activation ...
    result = mlpinspect.attribute(mlp, X, 0, method="lrp", lrp_rule="epsilon")
    assert np.isfinite(result.values).all()
    # ... z+ and alpha-beta assume non-negative inputs, and say which layer breaks it.
    for rule in ("zplus", "alpha_beta"):
        with pytest.raises(InvalidParameterError, match=r"layer 0 uses 'gelu'.*"
                           r"'epsilon'"):  # fmt: skip
            mlpinspect.attribute(mlp, X, 0, method="lrp", lrp_rule=rule)
