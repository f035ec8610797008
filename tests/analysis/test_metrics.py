from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import float_arrays, mlps

from mlpinspect import MLP, Dense, InvalidParameterError
from mlpinspect.analysis import (
    Drift,
    Smoothness,
    drift_from_init,
    smoothness,
    weight_images,
)

# -- drift_from_init --------------------------------------------------------------


def _network(w, w0, extra=None):
    extra = extra or []
    return SimpleNamespace(
        weights=[np.asarray(w), *extra], initial_weights=[np.asarray(w0), *extra]
    )


@settings(max_examples=30, deadline=None)
@given(mlps(min_layers=1, max_layers=3))
def test_identical_weights_have_cosine_one_and_no_change(mlp):
    for layer in range(len(mlp.layers)):
        drift = drift_from_init((mlp, mlp), layer=layer)
        norms = np.linalg.norm(mlp.layers[layer].weight, axis=1)
        nonzero = norms > 0
        np.testing.assert_allclose(drift.cosine[nonzero], 1.0, rtol=1e-12)
        assert np.all(drift.relative_change[nonzero] == 0.0)
        assert np.isnan(drift.cosine[~nonzero]).all()


def test_known_drifts():
    w0 = np.array([[1.0, 0.0], [1.0, 1.0], [3.0, 4.0], [0.0, 2.0]])
    w = np.array([[0.0, 1.0], [2.0, 2.0], [-3.0, -4.0], [0.0, 2.0]])
    drift = drift_from_init(_network(w, w0))
    np.testing.assert_allclose(drift.cosine, [0.0, 1.0, -1.0, 1.0], atol=1e-15)
    np.testing.assert_allclose(drift.relative_change, [np.sqrt(2), 1.0, 2.0, 0.0])
    np.testing.assert_allclose(drift.initial_norm, [1.0, np.sqrt(2), 5.0, 2.0])
    np.testing.assert_allclose(drift.trained_norm, [1.0, np.sqrt(8), 5.0, 2.0])
    assert drift.mean_cosine == pytest.approx(0.25)
    assert drift.median_cosine == pytest.approx(0.5)
    assert drift.median_relative_change == pytest.approx((1.0 + np.sqrt(2)) / 2)
    assert drift.mean_relative_change == pytest.approx((np.sqrt(2) + 3.0) / 4)


def test_zero_initial_weights_give_nan_without_warnings():
    w0 = np.zeros((2, 3))
    w = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    drift = drift_from_init(_network(w, w0))
    assert np.isnan(drift.cosine).all()
    assert np.isnan(drift.relative_change).all()
    assert np.isnan(drift.mean_cosine)
    assert "nan" in str(drift)


def test_network_like_objects_and_layers():
    rng = np.random.default_rng(0)
    w0 = [rng.normal(size=(4, 6)), rng.normal(size=(2, 4))]
    w = [w0[0] * 3, -w0[1]]
    net = SimpleNamespace(weights=w, initial_weights=w0)
    np.testing.assert_allclose(drift_from_init(net).cosine, 1.0)
    np.testing.assert_allclose(drift_from_init(net, layer=-1).cosine, -1.0)
    np.testing.assert_allclose(drift_from_init(net, layer=1).relative_change, 2.0)
    assert drift_from_init(net, layer=-1).layer == 1
    # the same through a (trained, initial) pair of models
    trained = MLP([Dense(w[0], np.zeros(4), "sigmoid"), Dense(w[1], np.zeros(2))])
    initial = MLP([Dense(w0[0], np.zeros(4), "sigmoid"), Dense(w0[1], np.zeros(2))])
    np.testing.assert_allclose(
        drift_from_init((trained, initial), layer=1).cosine, -1.0
    )


def test_drift_errors():
    net = _network(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(InvalidParameterError, match=r"`layer`"):
        drift_from_init(net, layer=1)
    with pytest.raises(InvalidParameterError, match=r"`layer`"):
        drift_from_init(net, layer="0")
    with pytest.raises(InvalidParameterError, match=r"same shape"):
        drift_from_init(_network(np.ones((2, 3)), np.ones((3, 2))))
    with pytest.raises(InvalidParameterError, match=r"`network`"):
        drift_from_init(np.ones((2, 3)))
    a = MLP([Dense(np.ones((2, 3)), np.zeros(2))])
    b = MLP([Dense(np.ones((2, 4)), np.zeros(2))])
    with pytest.raises(InvalidParameterError, match=r"same sizes"):
        drift_from_init((a, b))
    with pytest.raises(InvalidParameterError, match=r"finite"):
        drift_from_init(_network(np.full((2, 3), np.nan), np.ones((2, 3))))


def test_drift_result_is_readable():
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=(3, 5))
    drift = drift_from_init(_network(w0 + 0.1, w0))
    assert isinstance(drift, Drift)
    assert drift.to_dict()["unit"] == [0, 1, 2]
    text = str(drift)
    assert "median" in text
    assert len(text.splitlines()) == 3 + 3
    assert repr(drift).startswith("Drift(layer=0, units=3")


# -- smoothness -------------------------------------------------------------------


def _blob(size=28, width=5.0):
    yy, xx = np.mgrid[:size, :size]
    c = (size - 1) / 2
    return np.exp(-((yy - c) ** 2 + (xx - c) ** 2) / (2 * width**2))


def test_white_noise_scores_about_zero():
    noise = np.random.default_rng(0).normal(size=(40, 28, 28))
    result = smoothness(noise, n_shuffles=10)
    assert abs(result.mean) < 0.02
    assert np.all(np.abs(result.neighbour_correlation) < 0.12)
    assert np.all(np.abs(result.shuffled_correlation) < 0.05)
    # noise is indistinguishable from its own shuffles
    assert abs(np.mean(result.z_score)) < 0.6


def test_smooth_images_score_high():
    blob = _blob()
    rng = np.random.default_rng(1)
    # low-pass filtered noise: a running mean over 5 x 5 pixels
    noise = rng.normal(size=(32, 32))
    kernel = np.ones(5) / 5
    low = np.apply_along_axis(np.convolve, 0, noise, kernel, mode="valid")
    low = np.apply_along_axis(np.convolve, 1, low, kernel, mode="valid")
    result = smoothness(np.stack([blob, low]))
    assert result.neighbour_correlation[0] > 0.95
    assert result.neighbour_correlation[1] > 0.6
    assert np.all(result.z_score > 10)
    np.testing.assert_allclose(
        result.excess, result.neighbour_correlation - result.shuffled_correlation
    )


def test_checkerboard_scores_minus_one():
    board = np.indices((6, 6)).sum(axis=0) % 2
    assert smoothness(board.astype(float)).neighbour_correlation[0] == pytest.approx(-1)


def test_constant_image_is_nan_and_skipped():
    images = np.stack([np.full((5, 5), 0.3), _blob(5)])
    result = smoothness(images)
    for field in (
        "neighbour_correlation",
        "shuffled_correlation",
        "shuffled_std",
        "excess",
        "z_score",
    ):
        assert np.isnan(getattr(result, field)[0]), field
        assert not np.isnan(getattr(result, field)[1]), field
    assert result.mean == pytest.approx(result.neighbour_correlation[1])
    assert np.isnan(smoothness(np.zeros((3, 3))).mean)


def test_images_without_neighbours_are_nan():
    result = smoothness(np.ones((4, 1, 1)) * np.arange(4)[:, None, None])
    assert np.isnan(result.neighbour_correlation).all()


def test_single_row_images_use_horizontal_pairs():
    result = smoothness(np.arange(10.0)[None, :])
    assert result.image_shape == (1, 10)
    assert result.neighbour_correlation[0] > 0.7


def test_reproducible_from_the_seed():
    images = np.random.default_rng(0).normal(size=(3, 6, 6))
    a = smoothness(images, seed=5)
    b = smoothness(images, seed=5)
    c = smoothness(images, seed=6)
    np.testing.assert_array_equal(a.shuffled_correlation, b.shuffled_correlation)
    np.testing.assert_array_equal(a.shuffled_std, b.shuffled_std)
    assert not np.array_equal(a.shuffled_correlation, c.shuffled_correlation)
    np.testing.assert_array_equal(a.neighbour_correlation, c.neighbour_correlation)
    assert a.seed == 5


def test_single_image_and_models_are_accepted():
    image = _blob(8)
    assert smoothness(image).neighbour_correlation.shape == (1,)
    assert smoothness(image.tolist()).neighbour_correlation[0] == pytest.approx(
        smoothness(image).neighbour_correlation[0]
    )
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 16)), np.zeros(4), "sigmoid"),
            Dense(rng.normal(size=(2, 4)), np.zeros(2)),
        ],
        input_shape=(4, 4),
    )
    from_model = smoothness(mlp)
    from_images = smoothness(weight_images(mlp))
    np.testing.assert_array_equal(
        from_model.neighbour_correlation, from_images.neighbour_correlation
    )
    np.testing.assert_array_equal(
        from_model.shuffled_correlation, from_images.shuffled_correlation
    )
    assert smoothness(mlp, layer=1).image_shape == (2, 2)


def test_smoothness_errors():
    with pytest.raises(InvalidParameterError, match=r"`images`.*2-D or 3-D"):
        smoothness(np.zeros((2, 2, 2, 2)))
    with pytest.raises(InvalidParameterError, match=r"`images`.*finite"):
        smoothness(np.array([[0.0, np.nan]]))
    with pytest.raises(InvalidParameterError, match=r"`n_shuffles`"):
        smoothness(np.zeros((3, 3)), n_shuffles=0)
    with pytest.raises(InvalidParameterError, match=r"`seed`"):
        smoothness(np.zeros((3, 3)), seed=-1)
    with pytest.raises(InvalidParameterError, match=r"`images`"):
        smoothness(object())


@settings(max_examples=40, deadline=None)
@given(
    st.tuples(st.integers(1, 4), st.integers(1, 6), st.integers(1, 6)).flatmap(
        float_arrays
    )
)
def test_neighbour_correlation_is_bounded_and_symmetric(images):
    result = smoothness(images, n_shuffles=3)
    r = result.neighbour_correlation
    ok = ~np.isnan(r)
    assert np.all(np.abs(r[ok]) <= 1 + 1e-12)
    transposed = smoothness(np.swapaxes(images, 1, 2), n_shuffles=3)
    np.testing.assert_allclose(
        transposed.neighbour_correlation, r, rtol=1e-9, atol=1e-12, equal_nan=True
    )
    flipped = smoothness(images[:, ::-1, :], n_shuffles=3)
    np.testing.assert_allclose(
        flipped.neighbour_correlation, r, rtol=1e-9, atol=1e-12, equal_nan=True
    )
    # rescaling the pixel values (exactly, by -4) does not change a correlation
    scaled = smoothness(-4.0 * images, n_shuffles=3)
    np.testing.assert_allclose(
        scaled.neighbour_correlation, r, rtol=1e-12, atol=1e-12, equal_nan=True
    )
    # and an offset does not either, when it keeps the variation representable
    big = ok & (np.ptp(images.reshape(len(images), -1), axis=1) > 1e-3)
    shifted = smoothness(images + 1.0, n_shuffles=3)
    np.testing.assert_allclose(
        shifted.neighbour_correlation[big], r[big], rtol=1e-6, atol=1e-6
    )


def test_smoothness_result_is_readable():
    result = smoothness(np.random.default_rng(0).normal(size=(3, 5, 5)))
    assert isinstance(result, Smoothness)
    assert result.to_dict()["image"] == [0, 1, 2]
    assert "5x5" in str(result)
    assert repr(result).startswith("Smoothness(images=3, shape=5x5")
    with pytest.raises(ValueError, match=r"read-only"):
        result.z_score[0] = 1.0
