"""Flax NNX chains: nnx.Sequential of Linear, activations, PReLU, BatchNorm
(folded) and Dropout, compared with the model in float64 (x64 enabled for
this module) to 1e-12, with gradients against jax.grad."""

from __future__ import annotations

import numpy as np
import pytest
from model_checks import check_attributions

from mlpinspect import MlpinspectWarning, UnsupportedModelError, adapt, weight_images
from mlpinspect.adapters import FlaxAdapter
from mlpinspect.testing import check_adapter

jax = pytest.importorskip("jax")
nnx = pytest.importorskip("flax.nnx")
jnp = jax.numpy


@pytest.fixture(autouse=True, scope="module")
def x64():
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", True)
    yield
    jax.config.update("jax_enable_x64", previous)


def forward_of(model):
    def forward(X):
        return np.asarray(model(jnp.asarray(X)))

    return forward


def grad_of(model, unit=0):
    def gradient(X):
        g = jax.grad(lambda x: model(x)[:, unit].sum())(jnp.asarray(X))
        return np.asarray(g)

    return gradient


def data(seed, n=8, d=4):
    return np.random.default_rng(seed).normal(size=(n, d)) * 2


def linear(n_in, n_out, seed):
    return nnx.Linear(n_in, n_out, rngs=nnx.Rngs(seed), param_dtype=jnp.float64)


def test_a_chain_with_batch_norm_prelu_and_log_softmax():
    bn = nnx.BatchNorm(6, rngs=nnx.Rngs(0), param_dtype=jnp.float64)
    rng = np.random.default_rng(1)
    for variable, values in ((bn.mean, rng.normal(size=6)),
                             (bn.var, rng.uniform(0.5, 2.0, size=6)),
                             (bn.scale, rng.normal(size=6))):  # fmt: skip
        variable[...] = jnp.asarray(values, dtype=variable[...].dtype)
    prelu = nnx.PReLU(param_dtype=jnp.float64)
    model = nnx.Sequential(
        linear(4, 6, 0), bn, nnx.gelu, nnx.Dropout(0.2, rngs=nnx.Rngs(2)),
        linear(6, 5, 1), prelu, linear(5, 3, 2), jax.nn.log_softmax,
    )  # fmt: skip
    with pytest.warns(MlpinspectWarning, match=r"layer 'layers\[1\]' \(nnx.BatchNorm\)"
                      r" is in training mode"):  # fmt: skip
        adapt(model)
    model.eval()
    X = data(3)
    mlp = check_adapter(FlaxAdapter(), model, forward_of(model), inputs=X,
                        rtol=1e-12, atol=1e-12)  # fmt: skip
    assert mlp.activation_names == ("gelu_tanh", "leaky_relu(0.01)", "log_softmax")
    check_attributions(mlp, X, unit=1, stage="post", gradient=grad_of(model, 1),
                       gradient_rtol=1e-10)  # fmt: skip
    # The batch norm is folded into the first layer, by the book.
    kernel = np.asarray(model.layers[0].kernel[...]).T
    scale, var = (np.asarray(v[...], dtype=np.float64) for v in (bn.scale, bn.var))
    s = scale / np.sqrt(var + bn.epsilon)
    np.testing.assert_allclose(mlp.layers[0].weight, s[:, None] * kernel, rtol=1e-13)
    np.testing.assert_allclose(
        weight_images(mlp, layer=0, shape=(2, 2)),
        (s[:, None] * kernel).reshape(6, 2, 2), rtol=1e-13,
    )  # fmt: skip


@pytest.mark.parametrize(
    "name", ["relu", "silu", "tanh", "sigmoid", "elu", "softplus", "hardswish"]
)
def test_activation_functions_in_a_chain(name):
    special = {"hardswish": jax.nn.hard_swish, "tanh": jnp.tanh}
    fn = special[name] if name in special else getattr(jax.nn, name)
    model = nnx.Sequential(linear(4, 5, 0), fn, linear(5, 2, 1))
    X = data(4)
    mlp = check_adapter(FlaxAdapter(), model, forward_of(model), inputs=X,
                        rtol=1e-12, atol=1e-12)  # fmt: skip
    assert mlp.activation_names == (name, "identity")
    check_attributions(mlp, X, gradient=grad_of(model), gradient_rtol=1e-10)


def test_a_bare_linear_and_float32():
    model = nnx.Linear(4, 3, rngs=nnx.Rngs(0))
    mlp = check_adapter(FlaxAdapter(), model, forward_of(model),
                        inputs=data(5).astype(np.float32))  # fmt: skip
    assert mlp.dtype == np.float32 and mlp.sizes == (4, 3)


def test_refusals_name_the_layer():
    with pytest.raises(UnsupportedModelError, match=r"layer 'layers\[1\]' "
                       r"\(nnx.LayerNorm\) normalises each sample"):  # fmt: skip
        adapt(nnx.Sequential(linear(4, 3, 0), nnx.LayerNorm(3, rngs=nnx.Rngs(0))))
    with pytest.raises(UnsupportedModelError, match="applies '<lambda>'"):
        adapt(nnx.Sequential(linear(4, 3, 0), lambda x: 2 * x))
