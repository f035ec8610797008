"""Keras 3 (torch backend, float32): modern activations, PReLU/ELU/ReLU(max)
layers, BatchNormalization/Normalization/Rescaling folded exactly, and saved
``.keras`` files read in safe mode. Outputs are compared to float32 rounding;
gradients against torch autograd through the Keras model."""

from __future__ import annotations

import functools
import os
import warnings

import numpy as np
import pytest
from model_checks import check_attributions

from mlpinspect import ModelFileError, UnsupportedModelError, adapt, weight_images
from mlpinspect.adapters import KerasAdapter, KerasFileAdapter
from mlpinspect.testing import check_adapter

os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
torch = pytest.importorskip("torch")
layers = keras.layers

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "torch", reason="the gradients use torch autograd"
)


def forward_of(model):
    def forward(X):
        return model(np.asarray(X, dtype=np.float32), training=False).detach().numpy()

    return forward


def autograd(model, unit=0, pre=False):
    """The gradient of output ``unit`` through the Keras model (or, with
    ``pre``, through all but the output layer's activation)."""

    def gradient(X):
        x = torch.tensor(np.asarray(X, dtype=np.float32), requires_grad=True)
        if pre:
            last = model.layers[-1]
            h = x
            for layer in model.layers[:-1]:
                h = layer(h, training=False)
            out = torch.matmul(h, last.kernel.value) + last.bias.value
        else:
            out = model(x, training=False)
        (grad,) = torch.autograd.grad(out[:, unit].sum(), x)
        return grad.numpy()

    return gradient


def check(model, X, unit=0, stage="pre"):
    mlp = check_adapter(
        KerasAdapter(), model, forward_of(model), inputs=X.astype(np.float32)
    )
    check_attributions(
        mlp,
        X.astype(np.float32),
        unit=unit,
        stage=stage,
        gradient=autograd(model, unit, pre=stage == "pre"),
        gradient_rtol=1e-4,
        gradient_atol=1e-5,
    )
    return mlp


def save(model, path):
    # Keras' own saving trips numpy 2's __array__(copy=...) deprecation.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model.save(path)


def data(seed, n=10, d=5):
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32) * 2


DENSE = {
    "gelu": "gelu",
    "silu": "silu",
    "swish": "silu",
    "mish": "mish",
    "elu": "elu",
    "selu": "selu",
    "celu": "celu",
    "softplus": "softplus",
    "softsign": "softsign",
    "relu6": "relu6",
    "hard_sigmoid": "hardsigmoid",
    "hard_silu": "hardswish",
    "hard_tanh": "hardtanh",
}


@pytest.mark.parametrize("name", sorted(DENSE))
def test_each_dense_activation_matches_keras(name):
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [keras.Input((5,)), layers.Dense(6, activation=name), layers.Dense(3)]
    )
    mlp = check(model, data(1))
    assert mlp.activation_names == (DENSE[name], "identity")


@pytest.mark.parametrize(
    ("activation", "expected"),
    [
        (functools.partial(keras.activations.gelu, approximate=True), "gelu_tanh"),
        (functools.partial(keras.activations.elu, alpha=0.5), "elu(0.5)"),
        (functools.partial(keras.activations.leaky_relu, negative_slope=0.1),
         "leaky_relu(0.1)"),
        (functools.partial(keras.activations.relu, max_value=6.0), "relu6"),
    ],
)  # fmt: skip
def test_partial_activations_are_read_with_their_arguments(activation, expected):
    keras.utils.set_random_seed(1)
    model = keras.Sequential(
        [keras.Input((5,)), layers.Dense(6, activation=activation), layers.Dense(2)]
    )
    assert check(model, data(2)).activation_names[0] == expected


def test_activation_layers_prelu_elu_relu_max_and_log_softmax():
    keras.utils.set_random_seed(2)
    model = keras.Sequential(
        [
            keras.Input((5,)),
            layers.Dense(6),
            layers.PReLU(),
            layers.Dense(6),
            layers.ELU(0.3),
            layers.Dense(6),
            layers.ReLU(max_value=2.5),
            layers.Dense(4, activation="log_softmax"),
        ]
    )
    prelu = model.layers[1]
    prelu.alpha.assign(np.linspace(-0.3, 0.6, 6).astype(np.float32))
    mlp = check(model, data(3), unit=2, stage="post")
    assert mlp.activation_names == ("prelu", "elu(0.3)", "hardtanh(0.0, 2.5)",
                                    "log_softmax")  # fmt: skip
    np.testing.assert_array_equal(
        mlp.layers[0].activation_params, np.linspace(-0.3, 0.6, 6).astype(np.float32)
    )
    assert mlp.task == "multiclass"


def test_normalisation_layers_fold_to_the_analytic_weights():
    keras.utils.set_random_seed(3)
    rng = np.random.default_rng(4)
    norm = layers.Normalization()
    norm.adapt(rng.normal(3.0, 2.0, size=(200, 5)).astype(np.float32))
    model = keras.Sequential(
        [
            keras.Input((5,)),
            layers.Rescaling(0.5, offset=-1.0),
            norm,
            layers.Dense(6),
            layers.BatchNormalization(epsilon=1e-3),
            layers.Activation("gelu"),
            layers.Dense(3),
        ]
    )
    bn = model.layers[3]
    bn.moving_mean.assign(rng.normal(size=6).astype(np.float32))
    bn.moving_variance.assign(rng.uniform(0.5, 2.0, size=6).astype(np.float32))
    bn.gamma.assign(rng.normal(size=6).astype(np.float32))
    bn.beta.assign(rng.normal(size=6).astype(np.float32))
    mlp = check(model, data(5))
    # x -> (0.5 x - 1 - mean) / std -> W then s = gamma / sqrt(var + eps).
    std = np.sqrt(np.asarray(norm.variance.detach()).reshape(-1).astype(np.float64))
    kernel = model.layers[2].kernel.value.detach().numpy().astype(np.float64).T
    s = bn.gamma.value.detach().numpy().astype(np.float64) / np.sqrt(
        bn.moving_variance.value.detach().numpy().astype(np.float64) + 1e-3
    )
    expected = s[:, None] * kernel * (0.5 / std)[None, :]
    np.testing.assert_allclose(mlp.layers[0].weight, expected, rtol=2e-6)
    np.testing.assert_allclose(
        weight_images(mlp, layer=0, shape=(5, 1))[:, :, 0], expected, rtol=2e-6
    )


def test_layer_normalization_is_refused_naming_it():
    model = keras.Sequential(
        [keras.Input((5,)), layers.Dense(4), layers.LayerNormalization(name="ln")]
    )
    with pytest.raises(UnsupportedModelError, match=r"layer 'ln' .* not an affine"):
        adapt(model)


# -- .keras files -------------------------------------------------------------


def test_a_keras_file_is_loaded_in_safe_mode(tmp_path):
    keras.utils.set_random_seed(5)
    model = keras.Sequential(
        [
            keras.Input((5,)),
            layers.Dense(6, activation="mish"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy")
    path = tmp_path / "model.keras"
    save(model, path)
    mlp = check_adapter(
        KerasFileAdapter(), str(path), forward_of(model), inputs=data(6)
    )
    assert mlp.activation_names == ("mish", "softmax")
    assert adapt(path).sizes == (5, 6, 3)  # by the registry, as a Path too


def test_a_keras_file_with_a_lambda_layer_is_refused(tmp_path):
    model = keras.Sequential(
        [keras.Input((4,)), layers.Lambda(lambda x: x * 2), layers.Dense(2)]
    )
    path = tmp_path / "lambda.keras"
    save(model, path)
    with pytest.raises(UnsupportedModelError, match=r"Lambda layer.*does not run"
                       r".*keras.models.load_model"):  # fmt: skip
        adapt(path)


def test_a_keras_file_with_an_unknown_object_is_refused(tmp_path):
    @keras.saving.register_keras_serializable(package="mlpinspect_tests")
    class Doubler(layers.Layer):
        def call(self, x):
            return x * 2

    model = keras.Sequential([keras.Input((4,)), Doubler(), layers.Dense(2)])
    path = tmp_path / "custom.keras"
    save(model, path)
    keras.saving.get_custom_objects().pop("mlpinspect_tests>Doubler")
    with pytest.raises(UnsupportedModelError, match=r"keras\.models\.load_model"):
        adapt(path)


def test_files_that_are_no_keras_archives(tmp_path):
    with pytest.raises(ModelFileError, match="no Keras file"):
        adapt(tmp_path / "missing.keras")
    bad = tmp_path / "bad.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ModelFileError, match=r"not a \.keras archive"):
        adapt(bad)
