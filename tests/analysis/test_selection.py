import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import (
    LABEL_KINDS,
    class_positions,
    classifiers,
    inputs_for,
    labels_of,
    mlps,
)

from mlpinspect import MLP, Dense, InvalidParameterError
from mlpinspect.analysis import TopUnits, top_units


def _mlp(seed=0, class_names=None):
    rng = np.random.default_rng(seed)
    return MLP(
        [
            Dense(rng.normal(size=(6, 8)), rng.normal(size=6), "sigmoid"),
            Dense(rng.normal(size=(3, 6)), rng.normal(size=3), "softmax"),
        ],
        class_names=class_names,
    )


def _reference(scores, k):
    """Slow and obviously right: sort (value, index) pairs."""
    idx = range(len(scores))
    top = sorted(idx, key=lambda i: (-scores[i], i))[:k]
    bottom = sorted(idx, key=lambda i: (scores[i], i))[:k]
    return top, bottom


@settings(max_examples=50, deadline=None)
@given(
    weights=st.lists(
        st.sampled_from([-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]), min_size=1, max_size=12
    ),
    k=st.integers(1, 15),
)
def test_weight_ranking_matches_a_sorted_reference_with_ties(weights, k):
    w = np.array([weights])
    mlp = MLP([Dense(w, [0.0], "sigmoid")])
    top = top_units(mlp, 0, k=k)
    ref_top, ref_bottom = _reference(weights, min(k, len(weights)))
    assert top.k == min(k, len(weights))
    assert top.excitatory.tolist() == ref_top
    assert top.inhibitory.tolist() == ref_bottom
    np.testing.assert_array_equal(top.excitatory_values, w[0, ref_top])
    np.testing.assert_array_equal(top.inhibitory_values, w[0, ref_bottom])
    assert np.all(np.diff(top.excitatory_values) <= 0)
    assert np.all(np.diff(top.inhibitory_values) >= 0)


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_every_layer_and_unit_of_random_models(data):
    mlp = data.draw(mlps(min_layers=2))
    layer = data.draw(st.integers(-len(mlp.layers), len(mlp.layers) - 1))
    dense = mlp.layers[layer]
    unit = data.draw(st.integers(0, dense.n_out - 1))
    k = data.draw(st.integers(1, 10))
    top = top_units(mlp, unit, layer=layer, k=k)
    ref_top, ref_bottom = _reference(dense.weight[unit].tolist(), min(k, dense.n_in))
    assert top.excitatory.tolist() == ref_top
    assert top.inhibitory.tolist() == ref_bottom
    assert top.layer == layer % len(mlp.layers)
    np.testing.assert_array_equal(top.scores, dense.weight[unit])


def test_fewer_positive_weights_than_k_still_fills_the_list():
    mlp = MLP([Dense([[3.0, -1.0, -2.0, -4.0]], [0.0], "sigmoid")])
    top = top_units(mlp, 0, k=3)
    assert top.excitatory.tolist() == [0, 1, 2]
    assert top.excitatory_values.tolist() == [3.0, -1.0, -2.0]
    assert top.inhibitory.tolist() == [3, 2, 1]


def test_k_larger_than_fan_in_is_clipped():
    top = top_units(_mlp(), 0, k=100)
    assert top.k == 6
    assert sorted(top.excitatory.tolist()) == list(range(6))


@pytest.mark.parametrize("k", [0, -1, 1.5, True])
def test_bad_k_is_an_error(k):
    with pytest.raises(InvalidParameterError, match=r"`k`"):
        top_units(_mlp(), 0, k=k)


@pytest.mark.parametrize("unit", [3, -1, 1.0, None])
def test_bad_unit_is_an_error(unit):
    with pytest.raises(InvalidParameterError, match=r"`unit`"):
        top_units(_mlp(), unit)


def test_bad_layer_and_by_are_errors():
    with pytest.raises(InvalidParameterError, match=r"`layer`"):
        top_units(_mlp(), 0, layer=2)
    with pytest.raises(InvalidParameterError, match=r"`by`.*'weight'"):
        top_units(_mlp(), 0, by="gradient")


def test_class_names_name_output_units():
    mlp = _mlp(class_names=["cat", "dog", "emu"])
    top = top_units(mlp, "dog")
    assert top.unit == 1
    assert top.unit_name == "dog"
    assert "'dog'" in str(top)
    known = r"\['cat', 'dog', 'emu'\]"
    with pytest.raises(
        InvalidParameterError, match=rf"`unit` must be one of the class labels {known}"
    ):
        top_units(mlp, "cow")
    with pytest.raises(InvalidParameterError, match=r"`unit`"):
        top_units(mlp, "dog", layer=0)
    with pytest.raises(InvalidParameterError, match=r"`unit`"):
        top_units(_mlp(), "dog")


def test_contribution_scores_are_weight_times_mean_source():
    mlp = _mlp()
    rng = np.random.default_rng(1)
    X = rng.random((50, 8))
    top = top_units(mlp, 2, by="contribution", X=X, k=2, chunk_size=7)
    hidden = mlp.trace(X).post[0]
    expected = mlp.layers[1].weight[2] * hidden.mean(axis=0)
    np.testing.assert_allclose(top.scores, expected, rtol=1e-12)
    assert top.n_samples == 50
    assert top.excitatory.tolist() == _reference(expected.tolist(), 2)[0]
    # ... and equals the mean of decompose's contributions.
    d = mlp.trace(X)
    manual = (d.post[0] * mlp.layers[1].weight[2]).mean(axis=0)
    np.testing.assert_allclose(top.scores, manual, rtol=1e-12)


def test_contribution_with_labels_uses_the_class_examples():
    mlp = _mlp()
    rng = np.random.default_rng(2)
    X = rng.random((60, 8))
    y = rng.integers(0, 3, size=60)
    top = top_units(mlp, 1, by="contribution", X=X, y=y)
    hidden = mlp.trace(X[y == 1]).post[0]
    expected = mlp.layers[1].weight[1] * hidden.mean(axis=0)
    np.testing.assert_allclose(top.scores, expected, rtol=1e-12)
    assert top.n_samples == int((y == 1).sum())


def test_contribution_over_a_stream_equals_the_array():
    mlp = _mlp()
    X = np.random.default_rng(3).random((25, 8))
    y = np.zeros(25, dtype=int)
    array = top_units(mlp, 0, by="contribution", X=X)
    stream = top_units(
        mlp,
        0,
        by="contribution",
        X=((X[i : i + 4], y[i : i + 4]) for i in range(0, 25, 4)),
    )
    bare = top_units(mlp, 0, by="contribution", X=[X[:10], X[10:]])
    np.testing.assert_allclose(stream.scores, array.scores, rtol=1e-12)
    np.testing.assert_allclose(bare.scores, array.scores, rtol=1e-12)


def test_contribution_on_the_first_layer_ranks_pixels():
    mlp = _mlp()
    X = np.zeros((4, 8))
    X[:, 5] = 1.0  # only pixel 5 is ever on
    top = top_units(mlp, 0, layer=0, by="contribution", X=X, k=8)
    w = mlp.layers[0].weight[0, 5]
    assert (top.excitatory[0] if w > 0 else top.inhibitory[0]) == 5
    assert np.count_nonzero(top.scores) == 1


def test_contribution_errors():
    mlp = _mlp()
    X = np.random.default_rng(0).random((5, 8))
    with pytest.raises(InvalidParameterError, match=r"`X` is required"):
        top_units(mlp, 0, by="contribution")
    with pytest.raises(InvalidParameterError, match=r"`y`.*output layer"):
        top_units(mlp, 0, layer=0, by="contribution", X=X, y=np.zeros(5, dtype=int))
    with pytest.raises(
        InvalidParameterError, match=r"`y`.*examples of the class of unit 2"
    ):
        top_units(mlp, 2, by="contribution", X=X, y=np.zeros(5, dtype=int))
    with pytest.raises(
        InvalidParameterError, match=r"`y`.*one label per sample \(5\); got 4"
    ):
        top_units(mlp, 0, by="contribution", X=X, y=np.zeros(4, dtype=int))
    with pytest.raises(
        InvalidParameterError, match=r"`X`.*shape \(n, 8\).*got shape \(5, 7\)"
    ):
        top_units(mlp, 0, by="contribution", X=X[:, :7])
    bad = X.copy()
    bad[1, 1] = np.nan
    with pytest.raises(InvalidParameterError, match=r"`X`.*finite"):
        top_units(mlp, 0, by="contribution", X=bad)


def test_a_large_weight_that_is_never_active_is_not_a_top_contribution():
    # Hidden unit 0 has the largest outgoing weight but is a ReLU that is
    # never active on non-negative inputs; unit 1 is active with a small weight.
    hidden = Dense(
        [[-1.0, -1.0, -1.0], [1.0, 1.0, 1.0], [0.5, 0.0, 0.0]],
        [-0.1, 0.0, 0.0],
        "relu",
    )
    output = Dense([[10.0, 1.0, -0.2], [-3.0, 0.5, 2.0]], [0.0, 0.0], "softmax")
    mlp = MLP([hidden, output])
    X = np.random.default_rng(0).random((100, 3))
    by_weight = top_units(mlp, 0, k=1)
    by_use = top_units(mlp, 0, k=1, by="contribution", X=X)
    assert by_weight.excitatory.tolist() == [0]
    assert by_use.excitatory.tolist() == [1]
    assert by_use.scores[0] == 0.0
    # On the other unit it stays first of the inhibitory list only because no
    # source contributes negatively: its value is 0, no longer -3.
    assert top_units(mlp, 1, k=1).inhibitory.tolist() == [0]
    assert top_units(mlp, 1, k=1, by="contribution", X=X).inhibitory.tolist() == [0]
    assert top_units(mlp, 1, k=1, by="contribution", X=X).inhibitory_values[0] == 0.0


def test_a_negative_source_flips_the_sign_of_a_contribution():
    # With tanh sources, negative weight x negative activation excites.
    hidden = Dense([[-1.0], [1.0]], [-2.0, 0.0], "tanh")
    output = Dense([[-1.0, 0.5]], [0.0], "identity")
    mlp = MLP([hidden, output])
    X = np.full((3, 1), 0.5)
    assert top_units(mlp, 0, k=1).inhibitory.tolist() == [0]
    use = top_units(mlp, 0, k=1, by="contribution", X=X)
    assert use.excitatory.tolist() == [0]
    assert use.excitatory_values[0] > 0


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_contribution_ranking_matches_reference(data):
    mlp = data.draw(mlps(min_layers=2))
    X = data.draw(inputs_for(mlp))
    unit = data.draw(st.integers(0, mlp.n_outputs - 1))
    k = data.draw(st.integers(1, 6))
    top = top_units(mlp, unit, by="contribution", X=X, k=k)
    scores = (mlp.trace(X).post[-2] * mlp.layers[-1].weight[unit]).mean(axis=0)
    np.testing.assert_allclose(top.scores, scores, rtol=1e-9, atol=1e-12)
    ref_top, ref_bottom = _reference(top.scores.tolist(), top.k)
    assert top.excitatory.tolist() == ref_top
    assert top.inhibitory.tolist() == ref_bottom


def test_result_is_readable_and_frozen():
    top = top_units(_mlp(), 0, k=2)
    assert isinstance(top, TopUnits)
    text = str(top)
    assert "excitatory" in text
    assert "inhibitory" in text
    assert f"{top.excitatory_values[0]:+.4g}" in text
    assert repr(top).startswith("TopUnits(unit=0, layer=1, by='weight', k=2")
    table = top.to_dict()
    assert table["kind"] == ["excitatory"] * 2 + ["inhibitory"] * 2
    assert table["source"][:2] == top.excitatory.tolist()
    with pytest.raises(AttributeError):
        top.k = 5
    with pytest.raises(ValueError, match=r"read-only"):
        top.excitatory[0] = 1


# -- class labels, DataFrames, binary heads -------------------------------------


def _mean_contribution(mlp, unit, X, sign=1.0):
    """Oracle: ``sign * W[unit] * mean(a)`` over ``X``, from the model's trace."""
    sources = mlp.trace(X).source(len(mlp.layers) - 1)
    return sign * mlp.layers[-1].weight[unit] * sources.mean(axis=0)


@settings(max_examples=30, deadline=None)
@given(st.data(), st.sampled_from(LABEL_KINDS))
def test_labels_of_every_kind_name_units_and_select_examples(data, kind):
    mlp = data.draw(classifiers(kind=kind, min_layers=2))
    X = data.draw(inputs_for(mlp, min_rows=2, max_rows=10))
    y = data.draw(labels_of(mlp, X.shape[0]))
    c = data.draw(st.integers(0, mlp.n_outputs - 1))
    label = mlp.classes.tolist()[c]
    rows = class_positions(mlp, y) == c
    for unit in (label, str(label)):  # the label itself, or its text
        by_weight = top_units(mlp, unit, k=2)
        assert by_weight.unit == c
        assert by_weight.unit_name == str(label)
        np.testing.assert_array_equal(by_weight.scores, mlp.layers[-1].weight[c])
        if not rows.any():
            with pytest.raises(InvalidParameterError, match=r"`y` must contain"):
                top_units(mlp, unit, by="contribution", X=X, y=y)
            continue
        by_use = top_units(mlp, unit, by="contribution", X=X, y=y)
        assert by_use.unit == c
        assert by_use.n_samples == int(rows.sum())
        np.testing.assert_allclose(
            by_use.scores, _mean_contribution(mlp, c, X[rows]), rtol=1e-9, atol=1e-12
        )


def test_string_digit_labels_as_fetch_openml_gives_them():
    rng = np.random.default_rng(0)
    digits = [str(d) for d in range(10)]
    mlp = MLP(
        [
            Dense(rng.normal(size=(6, 16)), rng.normal(size=6), "sigmoid"),
            Dense(rng.normal(size=(10, 6)), rng.normal(size=10), "softmax"),
        ],
        class_names=digits,
    )
    X = rng.random((200, 16))
    y = np.array(digits)[rng.integers(0, 10, 200)]
    top = top_units(mlp, "8", by="contribution", X=X, y=y)
    assert (top.unit, top.unit_name, top.n_samples) == (8, "8", int((y == "8").sum()))
    np.testing.assert_allclose(
        top.scores, _mean_contribution(mlp, 8, X[y == "8"]), rtol=1e-12
    )
    # an integer is the output position, which here is the same class
    np.testing.assert_array_equal(
        top_units(mlp, 8, by="contribution", X=X, y=y).scores, top.scores
    )


def test_unknown_labels_are_refused_by_name():
    mlp = _mlp(class_names=["cat", "dog", "emu"])
    X = np.random.default_rng(0).random((4, 8))
    with pytest.raises(InvalidParameterError, match=r"`unit`.*got 'cow'"):
        top_units(mlp, "cow", by="contribution", X=X)
    with pytest.raises(
        InvalidParameterError, match=r"`y` holds labels .* \['cow', 'gnu'\]"
    ):
        top_units(mlp, "cat", by="contribution", X=X, y=["cat", "cow", "gnu", "dog"])
    booleans = _mlp(class_names=["cat", "dog", "emu"])
    with pytest.raises(InvalidParameterError, match=r"`unit`.*not booleans"):
        top_units(booleans, True)


def test_dataframe_columns_name_the_sources():
    pd = pytest.importorskip("pandas")
    mlp = _mlp()
    rng = np.random.default_rng(4)
    df = pd.DataFrame(rng.random((12, 8)), columns=[f"f{i}" for i in range(8)])
    top = top_units(mlp, 2, layer=0, by="contribution", X=df, k=3)
    assert top.source_names == tuple(df.columns)
    np.testing.assert_array_equal(
        top.scores,
        top_units(mlp, 2, layer=0, by="contribution", X=df.to_numpy()).scores,
    )
    assert top.to_dict()["source_name"][:3] == [f"f{i}" for i in top.excitatory]
    assert f"f{top.excitatory[0]}" in str(top)
    stream = top_units(mlp, 2, layer=0, by="contribution", X=[df[:5], df[5:]])
    assert stream.source_names == tuple(df.columns)
    # the columns name layer 0's sources only
    assert top_units(mlp, 0, by="contribution", X=df).source_names is None


def test_dataframe_columns_must_match_the_models_feature_names():
    pd = pytest.importorskip("pandas")
    names = [f"f{i}" for i in range(8)]
    mlp = _mlp().replace(feature_names=names)
    X = np.random.default_rng(0).random((5, 8))
    assert top_units(mlp, 0, layer=0).source_names == tuple(names)
    assert top_units(mlp, 0, layer=0, by="contribution", X=X).source_names == tuple(
        names
    )
    swapped = pd.DataFrame(X, columns=[names[1], names[0], *names[2:]])
    with pytest.raises(InvalidParameterError, match=r"`X` has columns that differ"):
        top_units(mlp, 0, layer=0, by="contribution", X=swapped)


def _binary(seed=0, act="sigmoid", task=None):
    rng = np.random.default_rng(seed)
    return MLP(
        [
            Dense(rng.normal(size=(7, 5)), rng.normal(size=7), "tanh"),
            Dense(rng.normal(size=(1, 7)), rng.normal(size=1), act),
        ],
        class_names=["no", "yes"],
        task=task,
    )


@pytest.mark.parametrize(("act", "task"), [("sigmoid", None), ("identity", "binary")])
def test_binary_negative_class_swaps_excitatory_and_inhibitory(act, task):
    mlp = _binary(act=act, task=task)
    assert mlp.task == "binary"
    X = np.random.default_rng(1).normal(size=(40, 5))
    logit = mlp.trace(X).pre[-1][:, 0]
    y = np.where(logit > np.median(logit), "yes", "no")
    for by, kwargs in (("weight", {}), ("contribution", {"X": X})):
        no = top_units(mlp, "no", by=by, k=3, **kwargs)
        yes = top_units(mlp, "yes", by=by, k=3, **kwargs)
        assert (no.unit, no.sign, no.unit_name) == (0, -1.0, "no")
        assert (yes.unit, yes.sign, yes.unit_name) == (0, 1.0, "yes")
        np.testing.assert_array_equal(no.scores, -yes.scores)
        # random weights have no ties: the lists swap exactly
        assert no.excitatory.tolist() == yes.inhibitory.tolist()
        assert no.inhibitory.tolist() == yes.excitatory.tolist()
        np.testing.assert_array_equal(no.excitatory_values, -yes.inhibitory_values)
    # with labels, each class averages over its own examples
    for label, sign in (("no", -1.0), ("yes", 1.0)):
        top = top_units(mlp, label, by="contribution", X=X, y=y)
        assert top.n_samples == int((y == label).sum())
        np.testing.assert_allclose(
            top.scores, _mean_contribution(mlp, 0, X[y == label], sign), rtol=1e-12
        )
    # the one unit by position is the positive class
    np.testing.assert_array_equal(top_units(mlp, 0).scores, mlp.layers[-1].weight[0])
