import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import inputs_for, mlps

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
    with pytest.raises(InvalidParameterError, match=r"`unit`.*class names"):
        top_units(mlp, "cow")
    with pytest.raises(InvalidParameterError, match=r"`unit`"):
        top_units(mlp, "dog", layer=0)
    with pytest.raises(InvalidParameterError, match=r"`unit`"):
        top_units(_mlp(), "dog")


def test_contribution_scores_are_weight_times_mean_source():
    mlp = _mlp()
    rng = np.random.default_rng(1)
    X = rng.random((50, 8))
    top = top_units(mlp, 2, by="contribution", X=X, k=2, batch_size=7)
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
    with pytest.raises(InvalidParameterError, match=r"`y`.*examples of class 2"):
        top_units(mlp, 2, by="contribution", X=X, y=np.zeros(5, dtype=int))
    with pytest.raises(InvalidParameterError, match=r"`y`.*one label per row"):
        top_units(mlp, 0, by="contribution", X=X, y=np.zeros(4, dtype=int))
    with pytest.raises(InvalidParameterError, match=r"`X`.*8 features"):
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
