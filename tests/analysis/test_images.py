import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import inputs_for, mlps

from mlpinspect import MLP, Dense, InvalidParameterError
from mlpinspect.analysis import (
    effective_weights,
    image_shape,
    input_space_images,
    weight_images,
)


def _mlp(sizes, activations=None, input_shape=None, seed=0):
    rng = np.random.default_rng(seed)
    n = len(sizes) - 1
    activations = activations or ["sigmoid"] * n
    layers = [
        Dense(
            rng.normal(size=(sizes[i + 1], sizes[i])),
            rng.normal(size=sizes[i + 1]),
            activations[i],
        )
        for i in range(n)
    ]
    return MLP(layers, input_shape=input_shape)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (1, (1, 1)),
        (2, (1, 2)),
        (7, (1, 7)),
        (12, (3, 4)),
        (16, (4, 4)),
        (30, (5, 6)),
        (784, (28, 28)),
        (97, (1, 97)),
        (10, (2, 5)),
    ],
)
def test_image_shape_examples(n, expected):
    assert image_shape(n) == expected


@given(st.integers(1, 5000))
def test_image_shape_is_the_most_square_factor_pair(n):
    h, w = image_shape(n)
    pairs = [(d, n // d) for d in range(1, n + 1) if n % d == 0 and d <= n // d]
    assert (h, w) == min(pairs, key=lambda p: p[1] - p[0])


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "4"])
def test_image_shape_rejects_non_positive_integers(bad):
    with pytest.raises(InvalidParameterError, match=r"`n`"):
        image_shape(bad)


def test_first_layer_uses_the_input_shape():
    mlp = _mlp((784, 3, 2), input_shape=(28, 28))
    images = weight_images(mlp)
    assert images.shape == (3, 28, 28)
    np.testing.assert_array_equal(images[1, 2, 5], mlp.layers[0].weight[1, 2 * 28 + 5])


def test_first_layer_with_a_flat_input_is_factorised():
    assert weight_images(_mlp((30, 4, 2))).shape == (4, 5, 6)


def test_single_channel_input_shape_is_squeezed():
    mlp = _mlp((16, 3, 2), input_shape=(1, 4, 4))
    assert weight_images(mlp).shape == (3, 4, 4)


def test_deeper_layers_are_factorised():
    mlp = _mlp((784, 30, 10), input_shape=(28, 28))
    assert weight_images(mlp, layer=1).shape == (10, 5, 6)
    assert weight_images(mlp, layer=-1).shape == (10, 5, 6)
    assert weight_images(_mlp((4, 7, 3)), layer=1).shape == (3, 1, 7)


def test_explicit_shape_overrides():
    mlp = _mlp((784, 30, 10), input_shape=(28, 28))
    assert weight_images(mlp, layer=1, shape=(3, 10)).shape == (10, 3, 10)
    assert weight_images(mlp, layer=0, shape=(16, 49)).shape == (30, 16, 49)


def test_shape_that_does_not_fit_names_both_sizes():
    mlp = _mlp((784, 30, 10), input_shape=(28, 28))
    with pytest.raises(InvalidParameterError, match=r"`shape`.*30.*\(4, 8\).*32"):
        weight_images(mlp, layer=1, shape=(4, 8))


@pytest.mark.parametrize("bad", [(5,), (2, 3, 5), (5, 6.0), (-5, -6), "5x6", 30])
def test_malformed_shape_is_an_error(bad):
    with pytest.raises(InvalidParameterError, match=r"`shape`"):
        weight_images(_mlp((4, 30, 2)), layer=1, shape=bad)


@pytest.mark.parametrize("layer", [2, -3, 1.0, "0"])
def test_bad_layer_is_an_error(layer):
    with pytest.raises(InvalidParameterError, match=r"`layer`"):
        weight_images(_mlp((4, 3, 2)), layer=layer)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_weight_images_hold_the_weights(data):
    mlp = data.draw(mlps(image_input=data.draw(st.booleans())))
    for layer, dense in enumerate(mlp.layers):
        images = weight_images(mlp, layer=layer)
        assert images.shape[0] == dense.n_out
        assert images.shape[1] <= images.shape[2] or layer == 0
        np.testing.assert_array_equal(images.reshape(dense.n_out, -1), dense.weight)


def test_weight_images_are_a_writeable_copy():
    mlp = _mlp((4, 3, 2))
    images = weight_images(mlp)
    images[:] = 0
    assert np.any(mlp.layers[0].weight != 0)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_effective_weights_are_exact_for_identity_networks(data):
    mlp = data.draw(mlps(activations=("identity",), output_activations=("identity",)))
    X = data.draw(inputs_for(mlp))
    trace = mlp.trace(X)
    for layer in range(len(mlp.layers)):
        eff = effective_weights(mlp, layer=layer)
        assert eff.exact
        assert eff.weight.shape == (mlp.sizes[layer + 1], mlp.n_inputs)
        got = X @ eff.weight.T + eff.bias
        # Different association order of the same products: agree to rounding,
        # relative to the size of the terms.
        scale = np.abs(X) @ np.abs(eff.weight.T) + np.abs(eff.bias) + 1.0
        assert np.all(np.abs(got - trace.pre[layer]) <= 1e-10 * scale)


def test_effective_weights_are_the_product_of_weight_matrices():
    mlp = _mlp((5, 4, 3, 2), activations=["tanh", "relu", "softmax"])
    w = [d.weight for d in mlp.layers]
    b = [d.bias for d in mlp.layers]
    eff = effective_weights(mlp, layer=-1)
    assert not eff.exact
    np.testing.assert_allclose(eff.weight, w[2] @ w[1] @ w[0], rtol=1e-12)
    np.testing.assert_allclose(eff.bias, w[2] @ (w[1] @ b[0] + b[1]) + b[2], rtol=1e-12)
    first = effective_weights(mlp, layer=0)
    np.testing.assert_array_equal(first.weight, w[0])
    np.testing.assert_array_equal(first.bias, b[0])
    assert first.exact  # no nonlinearity before layer 0
    assert "layer=2" in repr(eff)
    assert not eff.weight.flags.writeable


def test_exact_flag_ignores_the_layers_own_activation():
    mlp = _mlp((3, 4, 2), activations=["identity", "sigmoid"])
    assert effective_weights(mlp, layer=1).exact
    mlp = _mlp((3, 4, 2), activations=["relu", "identity"])
    assert not effective_weights(mlp, layer=1).exact


def test_input_space_images():
    mlp = _mlp((784, 30, 10), input_shape=(28, 28))
    images = input_space_images(mlp)
    assert images.shape == (10, 28, 28)
    np.testing.assert_allclose(
        images.reshape(10, -1), effective_weights(mlp).weight, rtol=0, atol=0
    )
    np.testing.assert_array_equal(
        input_space_images(mlp, layer=0), weight_images(mlp, layer=0)
    )
    assert input_space_images(mlp, shape=(49, 16)).shape == (10, 49, 16)
    with pytest.raises(InvalidParameterError, match=r"`shape`.*784"):
        input_space_images(mlp, shape=(28, 27))


def test_input_space_images_of_flat_input_are_factorised():
    assert input_space_images(_mlp((12, 5, 2))).shape == (2, 3, 4)
