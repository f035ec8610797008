import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import inputs_for, labels_for, mlps

from mlpinspect import MLP, Dense, InvalidParameterError
from mlpinspect.analysis import Ablation, UnitImportance, ablate, unit_importance


def _mlp(seed=0, sizes=(8, 6, 3), acts=("sigmoid", "softmax"), class_names=None):
    rng = np.random.default_rng(seed)
    layers = [
        Dense(
            rng.normal(size=(sizes[i + 1], sizes[i])) * 2,
            rng.normal(size=sizes[i + 1]),
            acts[i],
        )
        for i in range(len(sizes) - 1)
    ]
    return MLP(layers, class_names=class_names)


def _data(mlp, n=200, seed=1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, mlp.n_inputs))
    # labels mostly agree with the model, so units matter for accuracy
    y = mlp.predict(X)
    flip = rng.random(n) < 0.2
    y[flip] = rng.integers(0, mlp.n_outputs, size=flip.sum())
    return X, y


def _with_outgoing(mlp, layer, units, bias_shift=None):
    """The model with the outgoing weights of ``units`` of ``layer`` set to 0."""
    layers = list(mlp.layers)
    nxt = layers[layer + 1]
    w = np.array(nxt.weight)
    b = np.array(nxt.bias)
    if bias_shift is not None:
        b = b + w[:, units] @ bias_shift
    w[:, units] = 0.0
    layers[layer + 1] = Dense(w, b, nxt.activation)
    return MLP(layers)


def _correct_per_class(mlp, X, y):
    hit = mlp.predict(X) == y
    return np.bincount(y[hit], minlength=mlp.n_outputs)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_ablating_nothing_is_the_baseline(data):
    mlp = data.draw(mlps(min_layers=2, min_outputs=2))
    X = data.draw(inputs_for(mlp, max_rows=10))
    y = data.draw(labels_for(mlp, X.shape[0]))
    layer = data.draw(st.integers(0, len(mlp.layers) - 2))
    result = ablate(mlp, X, y, [], layer=layer, batch_size=3)
    expected = _correct_per_class(mlp, X, y)
    np.testing.assert_array_equal(result.baseline_correct, expected)
    np.testing.assert_array_equal(result.ablated_correct, expected)
    assert result.drop == 0.0
    assert result.counts.sum() == X.shape[0]


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_zero_ablation_equals_zeroing_the_outgoing_weights(data):
    mlp = data.draw(mlps(min_layers=2, min_outputs=2))
    X = data.draw(inputs_for(mlp, max_rows=10))
    y = data.draw(labels_for(mlp, X.shape[0]))
    layer = data.draw(st.integers(0, len(mlp.layers) - 2))
    n_units = mlp.layers[layer].n_out
    units = data.draw(st.lists(st.integers(0, n_units - 1), max_size=n_units))
    result = ablate(mlp, X, y, units, layer=layer)
    manual = _with_outgoing(mlp, layer, sorted(set(units)))
    np.testing.assert_array_equal(
        result.ablated_correct, _correct_per_class(manual, X, y)
    )
    assert result.units.tolist() == sorted(set(units))
    assert np.all(result.fill_values == 0)


def test_mean_ablation_replaces_units_by_their_mean():
    mlp = _mlp(sizes=(8, 6, 5, 3), acts=("tanh", "relu", "softmax"))
    X, y = _data(mlp)
    units = [1, 4]
    result = ablate(mlp, X, y, units, layer=0, mode="mean", batch_size=64)
    means = mlp.trace(X).post[0].mean(axis=0)[units]
    np.testing.assert_allclose(result.fill_values, means, rtol=1e-12)
    manual = _with_outgoing(mlp, 0, units, bias_shift=means)
    np.testing.assert_array_equal(
        result.ablated_correct, _correct_per_class(manual, X, y)
    )
    assert result.per_class_drop.shape == (3,)


def test_ablation_on_a_deeper_hidden_layer():
    mlp = _mlp(sizes=(8, 6, 5, 3), acts=("sigmoid", "tanh", "softmax"))
    X, y = _data(mlp)
    result = ablate(mlp, X, y, [0, 2, 3], layer=1)
    manual = _with_outgoing(mlp, 1, [0, 2, 3])
    np.testing.assert_array_equal(
        result.ablated_correct, _correct_per_class(manual, X, y)
    )
    assert result.layer == 1
    assert ablate(mlp, X, y, [0], layer=-2).layer == 1


def test_accuracy_properties():
    mlp = _mlp(class_names=["a", "b", "c"])
    X, y = _data(mlp)
    r = ablate(mlp, X, y, [0, 1, 2])
    assert r.baseline_accuracy == pytest.approx((mlp.predict(X) == y).mean())
    assert r.accuracy == pytest.approx(r.ablated_correct.sum() / len(y))
    assert r.drop == pytest.approx(r.baseline_accuracy - r.accuracy)
    np.testing.assert_allclose(r.per_class_baseline, r.baseline_correct / r.counts)
    np.testing.assert_allclose(
        r.per_class_drop, r.per_class_baseline - r.per_class_accuracy
    )
    assert isinstance(r, Ablation)
    text = str(r)
    assert "baseline" in text
    assert text.splitlines()[-1].split()[0] == "all"
    assert f"{r.accuracy:.4f}" in text.splitlines()[-1]
    table = r.to_dict()
    assert table["class_name"] == ["a", "b", "c"]
    assert table["n"] == r.counts.tolist()
    assert "units=[0, 1, 2]" in repr(r)


def test_empty_class_gives_nan_per_class_accuracy_without_warnings():
    mlp = _mlp()
    X, _ = _data(mlp, n=20)
    y = np.zeros(20, dtype=int)
    r = ablate(mlp, X, y, [0])
    assert np.isnan(r.per_class_accuracy[1:]).all()
    assert "nan" in str(r)


def test_streams_of_pairs_equal_arrays():
    mlp = _mlp()
    X, y = _data(mlp, n=50)
    pairs = [(X[i : i + 8], y[i : i + 8]) for i in range(0, 50, 8)]
    for mode in ("zero", "mean"):
        a = ablate(mlp, X, y, [2, 3], mode=mode)
        b = ablate(mlp, pairs, None, [2, 3], mode=mode)
        np.testing.assert_array_equal(a.ablated_correct, b.ablated_correct)
        np.testing.assert_allclose(a.fill_values, b.fill_values, rtol=1e-12)
    one_shot = ((X[i : i + 8], y[i : i + 8]) for i in range(0, 50, 8))
    c = ablate(mlp, one_shot, units=[2, 3])  # mode="zero": one pass suffices
    zero = ablate(mlp, X, y, [2, 3])
    np.testing.assert_array_equal(c.ablated_correct, zero.ablated_correct)


def test_mean_mode_rejects_a_one_shot_iterator():
    mlp = _mlp()
    X, y = _data(mlp, n=10)
    gen = ((X[i : i + 5], y[i : i + 5]) for i in (0, 5))
    with pytest.raises(InvalidParameterError, match=r"`X`.*re-iterable.*mean"):
        ablate(mlp, gen, units=[0], mode="mean")
    with pytest.raises(InvalidParameterError, match=r"`X`.*re-iterable.*mean"):
        unit_importance(mlp, iter([(X, y)]), mode="mean")


def test_ablation_errors():
    mlp = _mlp()
    X, y = _data(mlp, n=10)
    with pytest.raises(InvalidParameterError, match=r"`layer`.*hidden layer"):
        ablate(mlp, X, y, [0], layer=1)
    with pytest.raises(InvalidParameterError, match=r"`layer`.*hidden layer"):
        unit_importance(mlp, X, y, layer=-1)
    with pytest.raises(InvalidParameterError, match=r"`layer`"):
        ablate(mlp, X, y, [0], layer=4)
    with pytest.raises(InvalidParameterError, match=r"`units\[1\]`.*\[0, 5\].*got 6"):
        ablate(mlp, X, y, [0, 6])
    with pytest.raises(InvalidParameterError, match=r"`units` must be in"):
        ablate(mlp, X, y, -1)
    with pytest.raises(InvalidParameterError, match=r"`mode`.*'zero', 'mean'"):
        ablate(mlp, X, y, [0], mode="noise")
    with pytest.raises(InvalidParameterError, match=r"`y`.*one label per row"):
        ablate(mlp, X, y[:-1], [0])
    with pytest.raises(InvalidParameterError, match=r"`y`.*required"):
        ablate(mlp, X, None, [0])
    with pytest.raises(InvalidParameterError, match=r"`X`.*8 features"):
        unit_importance(mlp, X[:, :3], y)
    bad = X.copy()
    bad[2, 2] = np.nan
    with pytest.raises(InvalidParameterError, match=r"`X`.*finite"):
        unit_importance(mlp, bad, y)


@pytest.mark.parametrize("mode", ["zero", "mean"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_unit_importance_agrees_with_ablating_each_unit(mode, seed):
    # Random continuous weights: exact ties between outputs have probability 0,
    # so the rank-one update and the full recomputation predict the same.
    mlp = _mlp(seed, sizes=(8, 7, 5, 4), acts=("relu", "sigmoid", "softmax"))
    X, y = _data(mlp, n=150, seed=seed + 10)
    for layer in (0, 1):
        imp = unit_importance(mlp, X, y, layer=layer, mode=mode, batch_size=40)
        for j in range(mlp.layers[layer].n_out):
            single = ablate(mlp, X, y, [j], layer=layer, mode=mode)
            assert imp.accuracy[j] == pytest.approx(single.accuracy)
            np.testing.assert_allclose(imp.per_class_drop[j], single.per_class_drop)
            assert imp.fill_values[j] == pytest.approx(single.fill_values[0])
        assert imp.baseline_accuracy == pytest.approx(single.baseline_accuracy)


def test_unit_importance_ranking_is_by_drop_then_index():
    mlp = _mlp(3, sizes=(8, 10, 4), acts=("tanh", "softmax"))
    # Units 0, 4 and 7 feed nothing: their ablation costs exactly nothing.
    w = np.array(mlp.layers[1].weight)
    w[:, [0, 4, 7]] = 0.0
    mlp = MLP([mlp.layers[0], Dense(w, mlp.layers[1].bias, "softmax")])
    X, y = _data(mlp, n=300)
    imp = unit_importance(mlp, X, y)
    drops = imp.drop[imp.ranking]
    assert np.all(np.diff(drops) <= 0)
    for a, b in zip(imp.ranking, imp.ranking[1:], strict=False):
        if imp.drop[a] == imp.drop[b]:
            assert a < b
    assert imp.drop[[0, 4, 7]].tolist() == [0.0, 0.0, 0.0]
    tied = [u for u in imp.ranking.tolist() if imp.drop[u] == 0.0]
    assert tied == sorted(tied)
    assert sorted(imp.ranking.tolist()) == list(range(10))


def test_unit_importance_result_is_readable():
    mlp = _mlp(class_names=["x", "y", "z"])
    X, y = _data(mlp)
    imp = unit_importance(mlp, X, y)
    assert isinstance(imp, UnitImportance)
    table = imp.to_dict()
    assert table["unit"] == imp.ranking.tolist()
    assert table["rank"] == list(range(1, 7))
    assert set(table["worst_class"]) <= {"x", "y", "z"}
    text = str(imp)
    assert text.splitlines()[3].split()[1] == str(imp.ranking[0])
    assert repr(imp).startswith("UnitImportance(layer=0, mode='zero', units=6")
    assert imp.per_class_drop.shape == (6, 3)
