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
        predict=clf.predict,
    )
    assert mlp.sizes == (5, *hidden, 1 if n_classes == 2 else n_classes)
    expected_hidden = "sigmoid" if activation == "logistic" else activation
    assert mlp.activation_names[:-1] == (expected_hidden,) * len(hidden)
    assert mlp.activation_names[-1] == ("sigmoid" if n_classes == 2 else "softmax")
    # Binary: one unit, P(classes_[1]), and both classes (negative first).
    assert mlp.task == ("binary" if n_classes == 2 else "multiclass")
    assert mlp.class_names == tuple(labels)
    assert mlp.dtype == np.float64


def test_multilabel_classifier_has_one_logistic_unit_per_label():
    rng, X = data(4)
    Y = (rng.random((len(X), 3)) > 0.5).astype(int)
    clf = fit(MLPClassifier((4,), max_iter=30, random_state=0), X, Y)
    mlp = check_adapter(
        SklearnAdapter(), clf, clf.predict_proba, inputs=X, predict=clf.predict
    )
    assert mlp.activation_names == ("relu", "sigmoid")
    assert mlp.n_outputs == 3
    assert mlp.task == "multilabel"
    assert mlp.class_names == (0, 1, 2)


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
    mlp = check_adapter(
        SklearnAdapter(),
        reg,
        reg.predict,
        inputs=X,
        mutate=perturb,
        predict=reg.predict,
    )
    assert mlp.activation_names[-1] == "identity"
    assert mlp.n_outputs == n_targets
    assert mlp.task == "regression"
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


def test_a_pipeline_with_a_non_affine_step_is_explained():
    from sklearn.preprocessing import QuantileTransformer

    rng, X = data(9)
    pipe = fit(
        make_pipeline(
            QuantileTransformer(n_quantiles=10), MLPClassifier((3,), max_iter=10)
        ),
        X,
        rng.integers(0, 2, len(X)),
    )
    with pytest.raises(
        UnsupportedModelError,
        match=r"step 'quantiletransformer' \(QuantileTransformer\) is not an affine.*"
        r"pipeline\[-1\]",
    ):
        adapt(pipe)
    assert adapt(pipe[-1]).sizes == (5, 3, 1)


def test_other_estimators_are_not_claimed():
    from sklearn.linear_model import LogisticRegression

    assert not SklearnAdapter().can_adapt(LogisticRegression())
    with pytest.raises(UnsupportedModelError, match="LogisticRegression"):
        adapt(LogisticRegression())


# -- predictions equal scikit-learn's (issue 12, "Done when") ------------------------


def assert_same_labels(got, expected):
    """Equal labels of equal Python types (1 == True, so values alone are not
    enough), in the same shape."""
    got, expected = np.asarray(got), np.asarray(expected)
    assert got.shape == expected.shape
    assert got.tolist() == expected.tolist()
    assert [type(v) for v in got.ravel().tolist()] == [
        type(v) for v in expected.ravel().tolist()
    ]


def assert_same_as_sklearn(mlp, est, X, y):
    """predict exactly, predict_proba and score to 1e-12, in float64."""
    assert mlp.dtype == np.float64
    assert_same_labels(mlp.predict(X), est.predict(X))
    if hasattr(est, "predict_proba"):
        np.testing.assert_allclose(
            mlp.predict_proba(X), est.predict_proba(X), rtol=0, atol=1e-12
        )
    assert abs(mlp.score(X, y) - est.score(X, y)) <= 1e-12


def separable(seed, labels, n=240):
    """Inputs and labels a small MLP learns well: every label is predicted."""
    _, X = data(seed, n=n)
    score = X[:, 0] + 0.5 * X[:, 1]
    edges = np.quantile(score, np.linspace(0, 1, len(labels) + 1)[1:-1])
    return X, np.asarray(labels)[np.searchsorted(edges, score)]


LABEL_KINDS = {
    "int": [0, 1],
    "int-odd": [3, 7],
    "str": ["no", "yes"],
    "bool": [False, True],
    "int3": [2, 5, 9],
    "str3": ["cat", "dog", "emu"],
    "digits": [str(d) for d in range(10)],  # fetch_openml's '0'..'9'
}


@pytest.mark.parametrize("kind", sorted(LABEL_KINDS))
@pytest.mark.parametrize("activation", ["logistic", "relu"])
def test_classifier_predicts_sklearns_labels(kind, activation):
    labels = LABEL_KINDS[kind]
    X, y = separable(10, labels)
    clf = fit(
        MLPClassifier((8,), activation=activation, max_iter=300, random_state=0),
        X,
        y,
    )
    mlp = adapt(clf)
    assert mlp.task == ("binary" if len(labels) == 2 else "multiclass")
    assert mlp.n_outputs == (1 if len(labels) == 2 else len(labels))
    # The labels keep their type: strings, ints and bools as scikit-learn has them.
    assert mlp.class_names == tuple(clf.classes_.tolist())
    assert [type(c) for c in mlp.class_names] == [type(labels[0])] * len(labels)
    predicted = clf.predict(X)
    assert len(set(predicted.tolist())) > 1  # not a constant prediction
    assert_same_as_sklearn(mlp, clf, X, y)


def test_categorical_labels_stay_strings():
    pd = pytest.importorskip("pandas")
    X, y = separable(11, ["0", "1", "2"])
    # fetch_openml(as_frame=True) gives the target as a categorical Series.
    target = pd.Series(y, dtype="category")
    clf = fit(MLPClassifier((6,), max_iter=300, random_state=0), X, target)
    mlp = adapt(clf)
    assert mlp.class_names == ("0", "1", "2")
    assert_same_as_sklearn(mlp, clf, X, y)


def test_float_labels_that_are_whole_numbers_become_ints():
    X, y = separable(12, [0.0, 1.0, 2.0])
    clf = fit(MLPClassifier((6,), max_iter=300, random_state=0), X, y)
    mlp = adapt(clf)
    assert mlp.class_names == (0, 1, 2)
    np.testing.assert_array_equal(mlp.predict(X), clf.predict(X))
    assert abs(mlp.score(X, y) - clf.score(X, y)) <= 1e-12


@pytest.mark.parametrize("n_labels", [2, 3])
def test_multilabel_classifier_predicts_sklearns_indicator(n_labels):
    _, X = data(13, n=240)
    Y = np.column_stack([X[:, i] + 0.3 * X[:, i + 1] > 0 for i in range(n_labels)])
    clf = fit(MLPClassifier((8,), max_iter=300, random_state=0), X, Y.astype(int))
    mlp = adapt(clf)
    assert mlp.task == "multilabel"
    assert mlp.n_outputs == n_labels
    assert len({tuple(r) for r in clf.predict(X).tolist()}) > 1
    np.testing.assert_array_equal(mlp.predict(X), clf.predict(X))
    assert_same_as_sklearn(mlp, clf, X, Y.astype(int))
    assert 0 < mlp.score(X, Y.astype(int)) < 1  # subset accuracy, not per label


@pytest.mark.parametrize("n_targets", [1, 3])
@pytest.mark.parametrize("activation", HIDDEN)
def test_regressor_predicts_sklearns_values(n_targets, activation):
    _, X = data(14, n=200)
    y = (X[:, :n_targets] + np.sin(X[:, 1:2])).squeeze()
    reg = fit(
        MLPRegressor(
            hidden_layer_sizes=(6, 4),
            activation=activation,
            max_iter=200,
            random_state=0,
        ),
        X,
        y,
    )
    mlp = adapt(reg)
    assert mlp.task == "regression"
    assert mlp.class_names is None and mlp.n_classes == 0
    assert mlp.predict(X).shape == reg.predict(X).shape
    assert_same_as_sklearn(mlp, reg, X, y)


def test_feature_names_in_flow_into_the_mlp():
    pd = pytest.importorskip("pandas")
    X, y = separable(15, ["no", "yes"])
    columns = ["age", "height", "weight", "income", "score"]
    frame = pd.DataFrame(X, columns=columns)
    clf = fit(MLPClassifier((4,), max_iter=300, random_state=0), frame, y)
    mlp = adapt(clf)
    assert mlp.feature_names == tuple(columns)
    # A DataFrame with the same columns is read by name, as scikit-learn does.
    assert_same_labels(mlp.predict(frame), clf.predict(frame))
    assert abs(mlp.score(frame, y) - clf.score(frame, y)) <= 1e-12
    reg = MLPRegressor(hidden_layer_sizes=(3,), max_iter=50, random_state=0)
    reg = fit(reg, frame, X[:, 0])
    assert adapt(reg).feature_names == tuple(columns)


def test_numpy_fit_has_no_feature_names():
    X, y = separable(16, [0, 1])
    clf = fit(MLPClassifier((3,), max_iter=50, random_state=0), X, y)
    assert adapt(clf).feature_names is None


def test_options_override_what_sklearn_says():
    X, y = separable(17, ["no", "yes"])
    clf = fit(MLPClassifier((3,), max_iter=300, random_state=0), X, y)
    # Restating the task keeps the labels; new labels replace them.
    assert adapt(clf, task="binary").class_names == ("no", "yes")
    renamed = adapt(clf, class_names=["bad", "good"], feature_names=list("abcde"))
    assert renamed.class_names == ("bad", "good")
    assert renamed.feature_names == ("a", "b", "c", "d", "e")
    expected = np.where(clf.predict(X) == "yes", "good", "bad")
    assert_same_labels(renamed.predict(X), expected)
    with pytest.raises(InvalidParameterError, match="class_names"):
        adapt(clf, class_names=["only one"])
