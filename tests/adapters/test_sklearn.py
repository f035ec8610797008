"""scikit-learn MLPClassifier and MLPRegressor."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from mlpinspect import InvalidParameterError, UnsupportedModelError, adapt
from mlpinspect.adapters import SklearnAdapter
from mlpinspect.testing import check_adapter

pytest.importorskip("sklearn")
from sklearn.exceptions import ConvergenceWarning
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

HIDDEN = ("identity", "logistic", "tanh", "relu")


def fit(model, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return model.fit(X, y)


def data(seed, n_features=5, n=80):
    rng = np.random.default_rng(seed)
    return rng, rng.normal(size=(n, n_features))


def perturb(model):
    for coef in model.coefs_:
        coef += 1.0


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize(
    ("hidden", "seed"), [((), 0), ((4,), 1), ((6, 3), 2), ((5, 4, 3), 3)]
)
@pytest.mark.parametrize("n_classes", [2, 3])
def test_classifier_matches_predict_proba(activation, hidden, seed, n_classes):
    rng, X = data(seed)
    labels = np.array(["cat", "dog", "emu"])[:n_classes]
    y = labels[rng.integers(0, n_classes, len(X))]
    clf = fit(
        MLPClassifier(
            hidden_layer_sizes=hidden,
            activation=activation,
            max_iter=30,
            random_state=seed,
        ),
        X,
        y,
    )
    if n_classes == 2:
        # Binary: one logistic output unit, P(classes_[1]).
        def forward(X):
            return clf.predict_proba(X)[:, 1]
    else:
        forward = clf.predict_proba
    mlp = check_adapter(
        SklearnAdapter(),
        clf,
        forward,
        inputs=X,
        arrays=[*clf.coefs_, *clf.intercepts_],
        mutate=perturb,
    )
    assert mlp.sizes == (5, *hidden, 1 if n_classes == 2 else n_classes)
    expected_hidden = "sigmoid" if activation == "logistic" else activation
    assert mlp.activation_names[:-1] == (expected_hidden,) * len(hidden)
    assert mlp.activation_names[-1] == ("sigmoid" if n_classes == 2 else "softmax")
    assert mlp.class_names == (("dog",) if n_classes == 2 else tuple(labels))
    assert mlp.dtype == np.float64


def test_multilabel_classifier_has_one_logistic_unit_per_label():
    rng, X = data(4)
    Y = (rng.random((len(X), 3)) > 0.5).astype(int)
    clf = fit(MLPClassifier((4,), max_iter=30, random_state=0), X, Y)
    mlp = check_adapter(SklearnAdapter(), clf, clf.predict_proba, inputs=X)
    assert mlp.activation_names == ("relu", "sigmoid")
    assert mlp.n_outputs == 3


@pytest.mark.parametrize("activation", HIDDEN)
@pytest.mark.parametrize(("hidden", "n_targets"), [((), 1), ((7,), 1), ((4, 4), 2)])
def test_regressor_matches_predict(activation, hidden, n_targets):
    rng, X = data(5)
    y = rng.normal(size=(len(X), n_targets)).squeeze()
    reg = fit(
        MLPRegressor(
            hidden_layer_sizes=hidden,
            activation=activation,
            max_iter=30,
            random_state=0,
        ),
        X,
        y,
    )
    mlp = check_adapter(SklearnAdapter(), reg, reg.predict, inputs=X, mutate=perturb)
    assert mlp.activation_names[-1] == "identity"
    assert mlp.n_outputs == n_targets
    assert mlp.class_names is None


def test_float32_fit_stays_float32():
    rng, X = data(6)
    clf = fit(
        MLPClassifier((3,), max_iter=10, random_state=0),
        X.astype(np.float32),
        rng.integers(0, 3, len(X)),
    )
    assert clf.coefs_[0].dtype == np.float32
    mlp = check_adapter(
        SklearnAdapter(), clf, clf.predict_proba, inputs=X.astype(np.float32)
    )
    assert mlp.dtype == np.float32


def test_weights_are_copied_once_in_their_own_layout():
    rng, X = data(7)
    clf = fit(
        MLPClassifier((4,), max_iter=10, random_state=0), X, rng.integers(0, 3, len(X))
    )
    mlp = adapt(clf)
    weight = mlp.layers[0].weight
    np.testing.assert_array_equal(weight, clf.coefs_[0].T)
    # (out, in) is the transposed view of scikit-learn's (in, out) array,
    # copied as one block: Fortran order, its own memory, named after its source.
    assert weight.flags.f_contiguous and weight.base is None
    assert not np.shares_memory(weight, clf.coefs_[0])
    assert mlp.layers[0].name == "coefs_[0]"


def test_unfitted_model_is_explained():
    with pytest.raises(InvalidParameterError, match="MLPRegressor is not fitted"):
        adapt(MLPRegressor())


def test_poisson_output_is_refused():
    rng, X = data(8)
    if "loss" not in MLPRegressor().get_params():  # pragma: no cover - sklearn < 1.7
        pytest.skip("no Poisson loss in this scikit-learn")
    reg = MLPRegressor(
        hidden_layer_sizes=(3,), loss="poisson", max_iter=10, random_state=0
    )
    fit(reg, X, rng.poisson(2.0, len(X)))
    with pytest.raises(UnsupportedModelError, match=r"layer 1 \(output\).*'exp'"):
        adapt(reg)


def test_pipeline_is_explained():
    rng, X = data(9)
    pipe = fit(
        make_pipeline(StandardScaler(), MLPClassifier((3,), max_iter=10)),
        X,
        rng.integers(0, 2, len(X)),
    )
    with pytest.raises(UnsupportedModelError, match=r"pipeline\[-1\]"):
        adapt(pipe)
    assert adapt(pipe[-1]).sizes == (5, 3, 1)


def test_other_estimators_are_not_claimed():
    from sklearn.linear_model import LogisticRegression

    assert not SklearnAdapter().can_adapt(LogisticRegression())
    with pytest.raises(UnsupportedModelError, match="LogisticRegression"):
        adapt(LogisticRegression())
