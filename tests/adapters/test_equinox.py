"""Equinox (JAX) models: eqx.nn.MLP, Sequential and Linear, compared with
jax.vmap(model) in float64 (x64 enabled for this module) to 1e-12, with
gradients against jax.grad."""

from __future__ import annotations

import functools

import numpy as np
import pytest
from model_checks import check_attributions

from mlpinspect import MlpinspectWarning, UnsupportedModelError, adapt
from mlpinspect.adapters import EquinoxAdapter
from mlpinspect.testing import check_adapter

jax = pytest.importorskip("jax")
eqx = pytest.importorskip("equinox")
jnp = jax.numpy


@pytest.fixture(autouse=True, scope="module")
def x64():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def forward_of(model):
    def forward(X):
        return np.asarray(jax.vmap(model)(jnp.asarray(X)))

    return forward


def grad_of(model, unit=0):
    def gradient(X):
        g = jax.vmap(jax.grad(lambda x: model(x)[unit]))(jnp.asarray(X))
        return np.asarray(g)

    return gradient


def key(i=0):
    return jax.random.PRNGKey(i)


def data(seed, n=8, d=4):
    return np.random.default_rng(seed).normal(size=(n, d)) * 2


def check(model, X, *, unit=0, pre_model=None, stage="pre"):
    mlp = check_adapter(EquinoxAdapter(), model, forward_of(model), inputs=X,
                        rtol=1e-12, atol=1e-12)  # fmt: skip
    check_attributions(mlp, X, unit=unit, stage=stage,
                       gradient=grad_of(pre_model or model, unit),
                       gradient_rtol=1e-10)  # fmt: skip
    return mlp


JAX_ACTIVATIONS = {
    "relu": jax.nn.relu,
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "gelu_tanh": jax.nn.gelu,
    "gelu": functools.partial(jax.nn.gelu, approximate=False),
    "silu": jax.nn.silu,
    "mish": jax.nn.mish,
    "elu": jax.nn.elu,
    "celu(0.5)": functools.partial(jax.nn.celu, alpha=0.5),
    "selu": jax.nn.selu,
    "softplus": jax.nn.softplus,
    "softsign": jax.nn.soft_sign,
    "relu6": jax.nn.relu6,
    "hardtanh": jax.nn.hard_tanh,
    "hardsigmoid": jax.nn.hard_sigmoid,
    "hardswish": jax.nn.hard_swish,
    "leaky_relu(0.1)": functools.partial(jax.nn.leaky_relu, negative_slope=0.1),
}


@pytest.mark.parametrize("name", sorted(JAX_ACTIVATIONS))
def test_each_jax_activation_in_an_equinox_mlp(name):
    model = eqx.nn.MLP(4, 3, 6, 2, activation=JAX_ACTIVATIONS[name],
                       key=key(1), dtype=jnp.float64)  # fmt: skip
    mlp = check(model, data(1))
    assert mlp.activation_names == (name, name, "identity")
    assert mlp.dtype == np.float64


def test_an_mlp_with_per_unit_prelu_and_a_scanned_mlp():
    model = eqx.nn.MLP(4, 3, 6, 2, activation=eqx.nn.PReLU(0.2), key=key(2),
                       dtype=jnp.float64)  # fmt: skip
    slopes = np.asarray(model.activation.negative_slope)
    slopes = slopes + np.linspace(-0.3, 0.3, slopes.size).reshape(slopes.shape)
    model = eqx.tree_at(
        lambda m: m.activation.negative_slope, model, jnp.asarray(slopes)
    )
    mlp = check(model, data(2))
    assert mlp.activation_names[:2] == ("prelu", "prelu")
    np.testing.assert_array_equal(mlp.layers[1].activation_params, slopes[1])
    scanned = eqx.nn.MLP(4, 3, 6, 3, scan=True, key=key(3), dtype=jnp.float64)
    assert check(scanned, data(3)).sizes == (4, 6, 6, 6, 3)


def test_a_sequential_with_log_softmax_and_dropout():
    k1, k2 = jax.random.split(key(4))
    model = eqx.nn.Sequential([
        eqx.nn.Linear(4, 6, key=k1, dtype=jnp.float64),
        eqx.nn.Lambda(jax.nn.silu),
        eqx.nn.Dropout(0.3, inference=True),
        eqx.nn.Linear(6, 3, key=k2, dtype=jnp.float64),
        eqx.nn.Lambda(jax.nn.log_softmax),
    ])  # fmt: skip
    mlp = check(model, data(4), unit=2, stage="post")
    assert mlp.activation_names == ("silu", "log_softmax")
    assert mlp.task == "multiclass"
    training = eqx.nn.Sequential([*model.layers[:2], eqx.nn.Dropout(0.3),
                                  *model.layers[3:]])  # fmt: skip
    with pytest.warns(MlpinspectWarning, match=r"inference_mode"):
        adapt(training)


def test_a_bare_linear():
    model = eqx.nn.Linear(4, 2, key=key(5), dtype=jnp.float64)
    mlp = check(model, data(5))
    np.testing.assert_array_equal(mlp.layers[0].weight, np.asarray(model.weight))


def test_float32_models_match_to_float32_rounding():
    model = eqx.nn.MLP(4, 3, 6, 1, activation=jax.nn.gelu, key=key(6),
                       dtype=jnp.float32)  # fmt: skip
    mlp = check_adapter(EquinoxAdapter(), model, forward_of(model),
                        inputs=data(6).astype(np.float32))  # fmt: skip
    assert mlp.dtype == np.float32


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: eqx.nn.MLP(4, 3, 6, 1, final_activation=jax.nn.softmax, key=key()),
         r"final_activation is softmax, but eqx.nn.MLP applies its activations to "
         r"each unit"),
        (lambda: eqx.nn.MLP(4, 3, 6, 1, activation=lambda x: x * 2, key=key()),
         r"applies '<lambda>', which is not an activation mlpinspect recognises"),
        (lambda: eqx.nn.Sequential([eqx.nn.Linear(4, 3, key=key()),
                                    eqx.nn.LayerNorm(3)]),
         r"layer 'layers\[1\]' \(eqx.nn.LayerNorm\) normalises each sample"),
        (lambda: eqx.nn.MLP(4, 3, 6, 1, activation=functools.partial(
            jax.nn.gelu, foo=1), key=key()),
         r"gives gelu the argument\(s\) \['foo'\]"),
    ],
)  # fmt: skip
def test_refusals_name_the_part_and_the_reason(make, match):
    with pytest.raises(UnsupportedModelError, match=match):
        adapt(make())
