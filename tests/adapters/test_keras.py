"""Keras 3 Sequential and functional models (run on the torch backend)."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpinspect import InvalidParameterError, UnsupportedModelError, adapt
from mlpinspect.adapters import KerasAdapter, TorchAdapter
from mlpinspect.testing import check_adapter

# The backend must be chosen before Keras is first imported; torch is installed.
os.environ.setdefault("KERAS_BACKEND", "torch")
keras = pytest.importorskip("keras")
layers = keras.layers

DENSE_ACTIVATIONS = {
    "linear": "identity",
    "relu": "relu",
    "sigmoid": "sigmoid",
    "tanh": "tanh",
    "leaky_relu": "leaky_relu(0.2)",
}


def to_numpy(tensor):
    if hasattr(tensor, "detach"):  # torch backend; convert_to_numpy warns on numpy 2
        return tensor.detach().cpu().numpy()
    return keras.ops.convert_to_numpy(tensor)  # pragma: no cover - other backends


def forward_of(model):
    def forward(X):
        return to_numpy(model(X, training=False))

    return forward


def arrays_of(model):
    if keras.backend.backend() != "torch":  # pragma: no cover - other backends
        return None
    return [v.value.detach().numpy() for v in model.weights]


def perturb(model):
    for v in model.weights:
        v.assign(v + 1.0)


def check(model, **kwargs):
    return check_adapter(
        KerasAdapter(), model, forward_of(model), arrays=arrays_of(model), **kwargs
    )


@st.composite
def keras_specs(draw):
    """A random Keras MLP described as plain data (Keras builds it in the test:
    creating layers touches the `random` module, which strategies must not)."""
    image = draw(st.booleans())
    input_shape = (
        (draw(st.integers(1, 4)), draw(st.integers(1, 4)))
        if image
        else (draw(st.integers(1, 8)),)
    )
    stack: list = [("flatten",)] if image else []
    names = []
    depth = draw(st.integers(1, 3))
    for i in range(depth):
        last = i == depth - 1
        choices = (
            ["linear", "sigmoid", "tanh", "softmax"]
            if last
            else sorted(DENSE_ACTIVATIONS)
        )
        act = draw(st.sampled_from(choices))
        style = draw(st.sampled_from(["dense", "layer"]))
        units = draw(st.integers(2 if act == "softmax" else 1, 6))  # Keras warns on 1
        stack.append((style, units, act, draw(st.booleans())))
        if not last and draw(st.booleans()):
            stack.append(("dropout",))
        names.append(DENSE_ACTIVATIONS.get(act, act))
    functional = draw(st.booleans())
    seed = draw(st.integers(0, 2**32 - 1))
    return stack, names, input_shape, functional, seed


def build(stack, input_shape, functional, seed):
    built: list = []
    for item in stack:
        if item[0] == "flatten":
            built.append(layers.Flatten())
        elif item[0] == "dropout":
            built.append(layers.Dropout(0.5))
        elif item[0] == "dense":
            _, units, act, use_bias = item
            built.append(layers.Dense(units, activation=act, use_bias=use_bias))
        else:
            _, units, act, _ = item
            built.append(layers.Dense(units))
            built.append(
                {
                    "softmax": layers.Softmax(),
                    "leaky_relu": layers.LeakyReLU(negative_slope=0.2),
                    "relu": layers.ReLU(),
                }.get(act)
                or layers.Activation(act)
            )
    if functional:
        x = inputs = keras.Input(input_shape)
        for layer in built:
            x = layer(x)
        model = keras.Model(inputs, x)
    else:
        model = keras.Sequential([keras.Input(input_shape), *built])
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.normal(scale=0.7, size=v.shape).astype("float32"))
    return model


@settings(max_examples=25, deadline=None)
@given(spec=keras_specs())
def test_random_models_match_keras(spec):
    stack, names, input_shape, functional, seed = spec
    model = build(stack, input_shape, functional, seed)
    mlp = check(model)
    assert mlp.activation_names == tuple(names)
    assert mlp.input_shape == input_shape
    assert mlp.dtype == np.float32


def test_copies_and_kernel_transposed():
    model = keras.Sequential(
        [
            keras.Input((5,)),
            layers.Dense(4, activation="relu"),
            layers.Dense(3, activation="softmax"),
        ]
    )
    mlp = adapt(model)
    np.testing.assert_array_equal(
        mlp.layers[0].weight, to_numpy(model.layers[0].kernel.value).T
    )
    assert mlp.name == model.name
    check(model, mutate=perturb)


def test_image_input_shape_is_kept():
    model = keras.Sequential(
        [
            keras.Input((28, 28)),
            layers.Flatten(),
            layers.Dense(30, activation="sigmoid"),
            layers.Dense(10, activation="softmax"),
        ]
    )
    mlp = check(model)
    assert mlp.input_shape == (28, 28)
    X = np.random.default_rng(0).random((3, 28, 28)).astype(np.float32)
    np.testing.assert_allclose(
        mlp.forward(X), forward_of(model)(X), rtol=1e-4, atol=1e-6
    )


def test_reshape_to_vector_and_nested_models():
    inner = keras.Sequential([layers.Dense(4, activation="tanh"), layers.Identity()])
    model = keras.Sequential(
        [keras.Input((2, 3)), layers.Reshape((6,)), inner, layers.Dense(2)]
    )
    mlp = check(model)
    assert mlp.activation_names == ("tanh", "identity")
    assert mlp.input_shape == (2, 3)


def test_keras_models_are_not_taken_by_the_torch_adapter():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    assert KerasAdapter().can_adapt(model)
    assert not TorchAdapter().can_adapt(model)
    assert adapt(model).sizes == (3, 2)


def functional_residual():
    inputs = keras.Input((4,))
    x = layers.Dense(4, name="body")(inputs)
    x = layers.Add(name="skip")([x, inputs])
    return keras.Model(inputs, layers.Dense(2)(x))


def functional_two_inputs():
    a, b = keras.Input((2,)), keras.Input((2,))
    return keras.Model([a, b], layers.Dense(1)(layers.Concatenate()([a, b])))


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (
            lambda: keras.Sequential(
                [
                    keras.Input((8, 1)),
                    layers.Conv1D(2, 3, name="c"),
                    layers.Flatten(),
                    layers.Dense(2),
                ]
            ),
            r"layer 'c' \(keras.layers.Conv1D\) is not supported",
        ),
        (
            lambda: keras.Sequential(
                [
                    keras.Input((4,)),
                    layers.Dense(4),
                    layers.LayerNormalization(name="ln"),
                ]
            ),
            r"layer 'ln' \(keras.layers.LayerNormalization\) normalises each sample",
        ),
        (
            lambda: keras.Sequential(
                [keras.Input((4,)), layers.Dense(4, activation="sparse_plus", name="d")]
            ),
            r"layer 'd' \(keras.layers.Dense\) uses the activation 'sparse_plus'",
        ),
        (
            lambda: keras.Sequential(
                [
                    keras.Input((4,)),
                    layers.Dense(4, activation="relu", name="d"),
                    layers.BatchNormalization(name="bn"),
                    layers.Activation("tanh", name="t"),
                ]
            ),
            r"layer 'bn' \(keras.layers.BatchNormalization\) rescales the output of "
            r"layer 'd' .* and layer 't' .* applies 'tanh'",
        ),
        (
            lambda: keras.Sequential(
                [keras.Input((4,)), layers.Dense(4, activation=lambda x: x, name="d")]
            ),
            "uses the activation '<lambda>'",
        ),
        (
            lambda: keras.Sequential(
                [
                    keras.Input((4,)),
                    layers.Dense(4),
                    layers.ReLU(max_value=6.0, threshold=1.0, name="r6"),
                ]
            ),
            "r6.*threshold=1.0",
        ),
        (
            lambda: keras.Sequential([keras.Input((3, 4)), layers.Dense(2, name="d")]),
            r"layer 'd' \(keras.layers.Dense\) acts on the last axis",
        ),
        (
            lambda: keras.Sequential(
                [keras.Input((4,)), layers.Dense(4), layers.Reshape((2, 2), name="rs")]
            ),
            "rs.*reshapes to",
        ),
        (functional_residual, r"layer 'skip' \(keras.layers.Add\) combines 2 tensors"),
        (functional_two_inputs, "2 inputs and 1 outputs"),
    ],
)
def test_unsupported_structures_name_the_layer(make, match):
    with pytest.raises(UnsupportedModelError, match=match):
        adapt(make())


def test_unbuilt_model_is_explained():
    with pytest.raises(InvalidParameterError, match="not built"):
        adapt(keras.Sequential([layers.Dense(2)]))


# -- what the outputs mean (issue 12, "Done when") -----------------------------------


def small_model(n_out, activation, seed=0):
    """A Keras MLP with 4 inputs and random weights, in float32.

    Not float64: Keras 3's torch backend computes a float64 matmul in float32
    (``ops.matmul`` takes the result type of torch dtypes as weak floats), so
    float64 layers would not be more exact.
    """
    model = keras.Sequential(
        [
            keras.Input((4,)),
            layers.Dense(6, activation="tanh"),
            layers.Dense(n_out, activation=activation),
        ]
    )
    rng = np.random.default_rng(seed)
    for v in model.weights:
        v.assign(rng.normal(size=v.shape).astype(np.float32))
    return model


def inputs(n=300, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)


def keras_predict(model, X):
    """``model.predict(X)``, Keras' own batched inference."""
    with warnings.catch_warnings():
        # Keras 3 on torch with numpy 2 warns inside predict (not our code).
        warnings.filterwarnings(
            "ignore", "__array__ implementation", category=DeprecationWarning
        )
        return model.predict(X, verbose=0)


def test_sigmoid_output_predicts_as_keras():
    model, X = small_model(1, "sigmoid"), inputs()
    mlp = adapt(model)
    assert mlp.task == "binary" and mlp.dtype == np.float32
    p = keras_predict(model, X)
    own = (p > 0.5)[:, 0].astype(int)  # Keras' decision, classes 0 and 1
    assert set(own.tolist()) == {0, 1}
    np.testing.assert_array_equal(mlp.predict(X), own)
    assert mlp.predict(X).dtype.kind == "i"
    np.testing.assert_allclose(
        mlp.predict_proba(X), np.column_stack([1 - p, p]), rtol=1e-5, atol=1e-6
    )
    y = (X[:, 0] > 0).astype(int)
    assert abs(mlp.score(X, y) - np.mean(own == y)) <= 1e-12
    named = adapt(model, class_names=["no", "yes"])
    assert named.predict(X).tolist() == np.array(["no", "yes"])[own].tolist()


def test_sigmoid_outputs_trained_as_labels_predict_as_keras():
    model, X = small_model(3, "sigmoid", seed=1), inputs(seed=1)
    assert adapt(model).task == "multiclass"  # uncompiled: the default
    model.compile(loss="binary_crossentropy")
    mlp = adapt(model)
    assert mlp.task == "multilabel"
    own = (keras_predict(model, X) > 0.5).astype(int)
    assert 0 < own.mean() < 1
    np.testing.assert_array_equal(mlp.predict(X), own)
    Y = (X[:, :3] > 0).astype(int)
    assert abs(mlp.score(X, Y) - np.mean((own == Y).all(axis=1))) <= 1e-12


def test_regression_loss_makes_a_regressor():
    model, X = small_model(1, "linear", seed=2), inputs(seed=2)
    assert adapt(model).task is None  # one linear output: a value or a logit?
    model.compile(loss="mse")
    mlp = adapt(model)
    assert mlp.task == "regression"
    np.testing.assert_allclose(
        mlp.predict(X), keras_predict(model, X)[:, 0], rtol=1e-5, atol=1e-6
    )


@pytest.mark.parametrize(
    ("n_out", "activation", "loss", "task"),
    [
        (3, "softmax", None, "multiclass"),
        (3, "softmax", "mse", "multiclass"),  # the output layer says it all
        (1, "sigmoid", None, "binary"),
        (1, "sigmoid", "mse", "binary"),
        (3, "sigmoid", None, "multiclass"),
        (3, "sigmoid", "binary_crossentropy", "multilabel"),
        (3, "sigmoid", "bce", "multilabel"),
        (3, "sigmoid", keras.losses.BinaryFocalCrossentropy(), "multilabel"),
        (3, "sigmoid", "categorical_crossentropy", "multiclass"),
        (3, "sigmoid", "mean_absolute_error", "regression"),
        (3, "linear", "categorical_crossentropy", "multiclass"),
        (
            3,
            "linear",
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "multiclass",
        ),
        (3, "linear", keras.losses.binary_crossentropy, "multilabel"),
        (1, "linear", None, None),
        (1, "linear", keras.losses.BinaryCrossentropy(from_logits=True), "binary"),
        (1, "linear", "sparse_categorical_crossentropy", None),
        (1, "linear", keras.losses.Huber(), "regression"),
        (1, "linear", "log_cosh", "regression"),
        (1, "linear", "kl_divergence", None),  # not in the table: the default
        (3, "tanh", "hinge", "multiclass"),
    ],
)
def test_task_from_the_output_layer_and_the_loss(n_out, activation, loss, task):
    model = small_model(n_out, activation)
    if loss is not None:
        model.compile(loss=loss)
    assert adapt(model).task == task


def test_task_option_overrides_the_loss():
    model = small_model(3, "sigmoid")
    model.compile(loss="binary_crossentropy")
    assert adapt(model, task="multiclass").task == "multiclass"
