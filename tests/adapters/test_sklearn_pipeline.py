"""scikit-learn Pipelines: affine steps before the MLP folded exactly into its
first layer (weights in the raw input space), other steps refused by name."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from model_checks import check_attributions

from mlpinspect import UnsupportedModelError, adapt, weight_images
from mlpinspect.adapters import SklearnAdapter
from mlpinspect.testing import check_adapter

pytest.importorskip("sklearn")
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    MaxAbsScaler,
    MinMaxScaler,
    Normalizer,
    PolynomialFeatures,
    RobustScaler,
    StandardScaler,
)


def fitted(*steps, seed=0, regress=False):
    rng = np.random.default_rng(seed)
    X = rng.normal(3.0, 4.0, size=(150, 6)) * np.arange(1, 7)
    y = (X[:, 0] + X[:, 1] / 2 > 5).astype(int) + (X[:, 2] > 6)
    final = (
        MLPRegressor(hidden_layer_sizes=(5,), max_iter=200, random_state=0)
        if regress
        else MLPClassifier((5,), activation="tanh", max_iter=200, random_state=0)
    )
    pipe = make_pipeline(*steps, final)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, y.astype(float) if regress else np.array(["a", "b", "c"])[y])
    return pipe, X


def check(pipe, X, **kwargs):
    regressor = isinstance(pipe[-1], MLPRegressor)
    # A regressor's values are compared to 1e-12 by the forward check (the
    # fold rounds differently from scaling then multiplying).
    predict = None if regressor else pipe.predict
    forward = pipe.predict if regressor else pipe.predict_proba
    mlp = check_adapter(
        SklearnAdapter(), pipe, forward, inputs=X[:20], predict=predict,
        rtol=1e-12, atol=1e-12, **kwargs,
    )  # fmt: skip
    check_attributions(mlp, X[:4], unit=1 if mlp.n_outputs > 1 else 0)
    return mlp


def first_layer(pipe):
    return pipe[-1].coefs_[0].T, pipe[-1].intercepts_[0]


def test_standard_scaler_folds_into_the_first_layer():
    pipe, X = fitted(StandardScaler())
    mlp = check(pipe, X)
    W, b = first_layer(pipe)
    scaler = pipe[0]
    expected = W / scaler.scale_
    np.testing.assert_allclose(mlp.layers[0].weight, expected, rtol=1e-13)
    np.testing.assert_allclose(
        mlp.layers[0].bias, b - W @ (scaler.mean_ / scaler.scale_), rtol=1e-12
    )
    np.testing.assert_allclose(
        weight_images(mlp, layer=0, shape=(2, 3)), expected.reshape(5, 2, 3),
        rtol=1e-13,
    )  # fmt: skip
    assert mlp.class_names == ("a", "b", "c") and mlp.task == "multiclass"
    assert mlp.sizes == (6, 5, 3)


@pytest.mark.parametrize("whiten", [False, True])
def test_scalers_and_pca_compose_into_one_affine_map(whiten):
    pipe, X = fitted(MinMaxScaler(), MaxAbsScaler(), RobustScaler(),
                     PCA(4, whiten=whiten, random_state=0))  # fmt: skip
    mlp = check(pipe, X)
    # The composed map, by hand: x -> A x + c, then W (A x + c) + b.
    mm, ma, rs, pca = pipe[0], pipe[1], pipe[2], pipe[3]
    scale = mm.scale_ / ma.scale_ / rs.scale_
    components = pca.components_
    if whiten:
        components = components / np.sqrt(pca.explained_variance_)[:, None]
    A = components * scale[None, :]
    W, _ = first_layer(pipe)
    np.testing.assert_allclose(mlp.layers[0].weight, W @ A, rtol=1e-10, atol=1e-14)


def test_truncated_svd_identity_and_passthrough_steps():
    pipe, X = fitted(StandardScaler(), FunctionTransformer(), "passthrough",
                     TruncatedSVD(3, random_state=0))  # fmt: skip
    mlp = check(pipe, X)
    W, _ = first_layer(pipe)
    expected = W @ pipe[3].components_ / pipe[0].scale_
    np.testing.assert_allclose(mlp.layers[0].weight, expected, rtol=1e-10)


def test_a_regression_pipeline():
    pipe, X = fitted(StandardScaler(), regress=True)
    mlp = check(pipe, X)
    assert mlp.task == "regression"


def test_feature_names_come_from_the_pipeline():
    pd = pytest.importorskip("pandas")
    pipe, X = fitted(StandardScaler())
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(6)])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(frame, pipe.predict(X))
    mlp = adapt(pipe)
    assert mlp.feature_names == tuple(f"f{i}" for i in range(6))
    np.testing.assert_array_equal(mlp.predict(frame), pipe.predict(frame))


@pytest.mark.parametrize(
    ("step", "match"),
    [
        (PolynomialFeatures(2), r"step 'polynomialfeatures' \(PolynomialFeatures\) "
         r"is not an affine map"),
        (Normalizer(), r"step 'normalizer' \(Normalizer\) is not an affine map"),
        (MinMaxScaler(clip=True), r"clips its outputs .* clip=False"),
        (FunctionTransformer(np.log1p), r"applies the function"),
    ],
)  # fmt: skip
def test_non_affine_steps_are_refused_by_name(step, match):
    rng = np.random.default_rng(1)
    X = rng.uniform(0, 2, size=(60, 3))
    pipe = make_pipeline(step, MLPClassifier((3,), max_iter=5, random_state=0))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        pipe.fit(X, (X[:, 0] > 1).astype(int))
    with pytest.raises(UnsupportedModelError, match=match):
        adapt(pipe)


def test_a_pipeline_ending_in_no_model_is_refused():
    pipe = make_pipeline(StandardScaler(), PCA(2)).fit(np.eye(4))
    with pytest.raises(UnsupportedModelError, match=r"last step 'pca' \(PCA\) is not "
                       r"a model mlpinspect reads"):  # fmt: skip
        adapt(pipe)
