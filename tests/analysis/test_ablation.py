import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import (
    LABEL_KINDS,
    class_positions,
    classifiers,
    inputs_for,
    labels_for,
    labels_of,
    mlps,
)

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
    """Inputs and labels (of the model's own kind: its class names if it has them)."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, mlp.n_inputs))
    # labels mostly agree with the model, so units matter for accuracy
    index = mlp.forward(X).argmax(axis=1)
    flip = rng.random(n) < 0.2
    index[flip] = rng.integers(0, mlp.n_outputs, size=flip.sum())
    return X, mlp.classes[index]


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
    return MLP(layers, class_names=mlp.class_names)


def _correct_per_class(mlp, X, y):
    hit = mlp.predict(X) == y
    return np.bincount(class_positions(mlp, y)[hit], minlength=mlp.n_outputs)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_ablating_nothing_is_the_baseline(data):
    mlp = data.draw(mlps(min_layers=2, min_outputs=2))
    X = data.draw(inputs_for(mlp, max_rows=10))
    y = data.draw(labels_for(mlp, X.shape[0]))
    layer = data.draw(st.integers(0, len(mlp.layers) - 2))
    result = ablate(mlp, X, y, units=[], layer=layer, chunk_size=3)
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
    result = ablate(mlp, X, y, units=units, layer=layer)
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
    result = ablate(mlp, X, y, units=units, layer=0, mode="mean", chunk_size=64)
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
    result = ablate(mlp, X, y, units=[0, 2, 3], layer=1)
    manual = _with_outgoing(mlp, 1, [0, 2, 3])
    np.testing.assert_array_equal(
        result.ablated_correct, _correct_per_class(manual, X, y)
    )
    assert result.layer == 1
    assert ablate(mlp, X, y, units=[0], layer=-2).layer == 1


def test_accuracy_properties():
    mlp = _mlp(class_names=["a", "b", "c"])
    X, y = _data(mlp)
    r = ablate(mlp, X, y, units=[0, 1, 2])
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
    r = ablate(mlp, X, y, units=[0])
    assert np.isnan(r.per_class_accuracy[1:]).all()
    assert "nan" in str(r)


def test_streams_of_pairs_equal_arrays():
    mlp = _mlp()
    X, y = _data(mlp, n=50)
    pairs = [(X[i : i + 8], y[i : i + 8]) for i in range(0, 50, 8)]
    for mode in ("zero", "mean"):
        a = ablate(mlp, X, y, units=[2, 3], mode=mode)
        b = ablate(mlp, pairs, None, units=[2, 3], mode=mode)
        np.testing.assert_array_equal(a.ablated_correct, b.ablated_correct)
        np.testing.assert_allclose(a.fill_values, b.fill_values, rtol=1e-12)
    one_shot = ((X[i : i + 8], y[i : i + 8]) for i in range(0, 50, 8))
    c = ablate(mlp, one_shot, units=[2, 3])  # mode="zero": one pass suffices
    zero = ablate(mlp, X, y, units=[2, 3])
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
        ablate(mlp, X, y, units=[0], layer=1)
    with pytest.raises(InvalidParameterError, match=r"`layer`.*hidden layer"):
        unit_importance(mlp, X, y, layer=-1)
    with pytest.raises(InvalidParameterError, match=r"`layer`"):
        ablate(mlp, X, y, units=[0], layer=4)
    with pytest.raises(InvalidParameterError, match=r"`units\[1\]`.*\[0, 5\].*got 6"):
        ablate(mlp, X, y, units=[0, 6])
    with pytest.raises(InvalidParameterError, match=r"`units` must be in"):
        ablate(mlp, X, y, units=-1)
    with pytest.raises(InvalidParameterError, match=r"`mode`.*'zero', 'mean'"):
        ablate(mlp, X, y, units=[0], mode="noise")
    with pytest.raises(
        InvalidParameterError, match=r"`y`.*one label per sample \(10\); got 9"
    ):
        ablate(mlp, X, y[:-1], units=[0])
    with pytest.raises(InvalidParameterError, match=r"`y`.*required"):
        ablate(mlp, X, None, units=[0])
    with pytest.raises(InvalidParameterError, match=r"`X`.*shape \(n, 8\).*\(10, 3\)"):
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
        imp = unit_importance(mlp, X, y, layer=layer, mode=mode, chunk_size=40)
        for j in range(mlp.layers[layer].n_out):
            single = ablate(mlp, X, y, units=[j], layer=layer, mode=mode)
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


# -- class labels, binary and multilabel heads, streams -------------------------


def _zeroed(mlp, layer, units):
    """Oracle: the model with the outgoing weights of ``units`` set to zero."""
    layers = list(mlp.layers)
    w = np.array(layers[layer + 1].weight)
    w[:, units] = 0.0
    layers[layer + 1] = Dense(w, layers[layer + 1].bias, layers[layer + 1].activation)
    return MLP(layers, class_names=mlp.class_names, task=mlp.task)


@settings(max_examples=40, deadline=None)
@given(
    st.data(),
    st.sampled_from(["multiclass", "binary", "multilabel"]),
    st.sampled_from(LABEL_KINDS),
)
def test_accuracies_are_the_models_scores_for_every_head_and_label_kind(
    data, task, kind
):
    mlp = data.draw(classifiers(task=task, kind=kind, min_layers=2))
    X = data.draw(inputs_for(mlp, max_rows=12))
    y = data.draw(labels_of(mlp, X.shape[0]))
    layer = data.draw(st.integers(0, len(mlp.layers) - 2))
    n_units = mlp.layers[layer].n_out
    units = sorted(set(data.draw(st.lists(st.integers(0, n_units - 1), max_size=3))))
    result = ablate(mlp, X, y, units=units, layer=layer)
    assert result.baseline_accuracy == mlp.score(X, y)  # exactly
    assert result.accuracy == _zeroed(mlp, layer, units).score(X, y)
    assert result.n_samples == X.shape[0]
    assert result.class_names == tuple(str(c) for c in mlp.classes.tolist())
    if task != "multilabel":
        # the same model without class names, given class positions
        unnamed = mlp.replace(class_names=None)
        positions = class_positions(mlp, y)
        same = ablate(unnamed, X, positions, units=units, layer=layer)
        np.testing.assert_array_equal(same.ablated_correct, result.ablated_correct)
        np.testing.assert_array_equal(same.baseline_correct, result.baseline_correct)
        np.testing.assert_array_equal(
            result.counts, np.bincount(class_positions(mlp, y), minlength=mlp.n_classes)
        )
    imp = unit_importance(mlp, X, y, layer=layer)
    assert imp.baseline_accuracy == mlp.score(X, y)
    for j in units:
        assert imp.accuracy[j] == pytest.approx(
            _zeroed(mlp, layer, [j]).score(X, y), abs=1e-12
        )


def test_binary_per_class_counts_follow_the_labels():
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(6, 4)), rng.normal(size=6), "relu"),
            Dense(rng.normal(size=(1, 6)), rng.normal(size=1), "sigmoid"),
        ],
        class_names=["no", "yes"],
    )
    X = rng.normal(size=(300, 4))
    y = np.where(rng.random(300) < 0.3, "no", "yes")
    result = ablate(mlp, X, y, units=[0, 3])
    assert result.class_names == ("no", "yes")
    assert result.counts.tolist() == [int((y == "no").sum()), int((y == "yes").sum())]
    predicted = mlp.predict(X)
    assert result.baseline_correct.tolist() == [
        int(((predicted == y) & (y == "no")).sum()),
        int(((predicted == y) & (y == "yes")).sum()),
    ]
    assert result.baseline_accuracy == mlp.score(X, y)
    zeroed = _zeroed(mlp, 0, [0, 3]).predict(X)
    assert result.ablated_hits == int((zeroed == y).sum())


def test_labels_of_every_kind_and_unknown_ones_are_named():
    for names in (["x", "y", "z"], [7, 8, 9]):
        mlp = _mlp(class_names=names)
        unnamed = mlp.replace(class_names=None)  # classes 0, 1, 2
        X, y = _data(mlp, n=60)
        positions = class_positions(mlp, y)
        a, b = ablate(mlp, X, y, units=[1]), ablate(unnamed, X, positions, units=[1])
        np.testing.assert_array_equal(a.ablated_correct, b.ablated_correct)
        assert a.class_names == tuple(str(n) for n in names)
        u, v = unit_importance(mlp, X, y), unit_importance(unnamed, X, positions)
        np.testing.assert_array_equal(u.accuracy, v.accuracy)
    mlp = _mlp(class_names=["x", "y", "z"])
    X, y = _data(mlp, n=4)
    with pytest.raises(InvalidParameterError, match=r"does not know: \['w'\]"):
        ablate(mlp, X, ["x", "w", "y", "z"], units=[0])
    with pytest.raises(InvalidParameterError, match=r"does not know: \['q', 'w'\]"):
        unit_importance(mlp, X, ["q", "w", "y", "z"])


def test_models_without_classes_are_refused():
    rng = np.random.default_rng(0)
    layers = [
        Dense(rng.normal(size=(3, 2)), np.zeros(3), "relu"),
        Dense(rng.normal(size=(1, 3)), np.zeros(1), "identity"),
    ]
    X, y = rng.normal(size=(4, 2)), np.zeros(4)
    for mlp in (MLP(layers), MLP(layers, task="regression")):
        with pytest.raises(InvalidParameterError, match=r"needs a classifier"):
            ablate(mlp, X, y, units=[0])
        with pytest.raises(InvalidParameterError, match=r"needs a classifier"):
            unit_importance(mlp, X, y)


def test_dataloaders_and_lists_of_pairs_equal_the_arrays():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    mlp = _mlp(class_names=["x", "y", "z"])
    X, y = _data(mlp, n=45)
    positions = class_positions(mlp, y)
    loader = DataLoader(
        TensorDataset(torch.tensor(X), torch.tensor(positions)), batch_size=8
    )
    pairs = [(X[i : i + 10], y[i : i + 10]) for i in range(0, 45, 10)]
    for mode in ("zero", "mean"):
        expected = ablate(mlp, X, y, units=[0, 4], mode=mode)
        for stream in (loader, pairs):
            got = ablate(mlp, stream, units=[0, 4], mode=mode)
            np.testing.assert_array_equal(got.counts, expected.counts)
            np.testing.assert_array_equal(got.ablated_correct, expected.ablated_correct)
            np.testing.assert_allclose(
                got.fill_values, expected.fill_values, rtol=1e-12
            )
        imp = unit_importance(mlp, loader, mode=mode)
        np.testing.assert_array_equal(
            imp.accuracy, unit_importance(mlp, X, y, mode=mode).accuracy
        )
