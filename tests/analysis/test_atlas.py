"""The unit atlas: top-k against a brute-force sort, flags on constructed
units, quantiles, class means and selectivity, streams, errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import classifiers, float_arrays, labels_of, mlps

from mlpinspect import (
    MLP,
    Dense,
    InvalidParameterError,
    NumericalError,
    UnitAtlas,
    unit_atlas,
)
from mlpinspect.analysis import atlas as atlas_module
from mlpinspect.analysis._streaming import QuantileSketch, TopK


def _values(mlp, X, layer, stage="post", chunk=None):
    """The layer's values, computed in the same chunks as the atlas (a matrix
    product's last bit can depend on how many rows it has)."""
    chunk = chunk or len(X)
    parts = []
    for i in range(0, len(X), chunk):
        trace = mlp.trace(X[i : i + chunk])
        parts.append((trace.post if stage == "post" else trace.pre)[layer])
    return np.concatenate(parts)


# -- top-k -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    k=st.integers(1, 6),
    chunk=st.integers(1, 9),
    stage=st.sampled_from(["pre", "post"]),
)
def test_top_k_equals_a_brute_force_sort(data, k, chunk, stage):
    mlp = data.draw(mlps(min_layers=1, max_layers=3))
    layer = data.draw(st.integers(0, len(mlp.layers) - 1))
    n = data.draw(st.integers(1, 25))
    # Few distinct input values: many ties (and ReLU zeros) to break by index.
    X = data.draw(
        float_arrays((n, mlp.n_inputs), 1.0).map(lambda a: np.round(a * 2) / 2)
    )
    atlas = unit_atlas(mlp, X, layer=layer, k=k, stage=stage, chunk_size=chunk)
    values = _values(mlp, X, layer, stage, chunk)
    kk = min(k, n)
    top = np.argsort(-values, axis=0, kind="stable")[:kk].T
    bottom = np.argsort(values, axis=0, kind="stable")[:kk].T
    assert atlas.k == kk
    np.testing.assert_array_equal(atlas.top_indices, top)
    np.testing.assert_array_equal(atlas.bottom_indices, bottom)
    cols = np.arange(values.shape[1])[:, None]
    np.testing.assert_array_equal(atlas.top_values, values[top, cols])
    np.testing.assert_array_equal(atlas.bottom_values, values[bottom, cols])
    np.testing.assert_array_equal(atlas.top_inputs, X[top])
    np.testing.assert_array_equal(atlas.bottom_inputs, X[bottom])


def test_topk_merge_keeps_ties_in_index_order_across_batches():
    values = np.array([[1.0], [2.0], [2.0], [1.0], [2.0], [0.0]])
    top = TopK(2)
    for i in range(0, 6, 2):
        top.add(values[i : i + 2])
    assert top.top_index[:, 0].tolist() == [1, 2]
    assert top.bottom_index[:, 0].tolist() == [5, 0]


# -- flags -----------------------------------------------------------------------------


def _flag_model():
    """Units: 0 normal, 1 always on, 2 dead, 3 copy of 0, 4 saturated tanh-like."""
    rng = np.random.default_rng(3)
    W = rng.normal(size=(5, 12))
    W[3] = W[0]
    W[4] = 60 * W[4]
    bias = np.array([0.0, 40.0, -40.0, 0.0, 0.0])
    out_w = rng.normal(size=(3, 5))
    return MLP(
        [Dense(W, bias, "sigmoid"), Dense(out_w, [0.1, 0.2, 0.3], "softmax")],
        class_names=["a", "b", "c"],
    )


def test_constructed_always_on_dead_and_duplicate_units_are_flagged():
    mlp = _flag_model()
    X = np.random.default_rng(0).random((300, 12)) - 0.5
    atlas = unit_atlas(mlp, X)
    assert atlas.always_on.tolist() == [False, True, False, False, False]
    assert atlas.dead.tolist() == [False, False, True, False, False]
    assert atlas.duplicate_of.tolist() == [3, -1, -1, 0, -1]
    assert atlas.flags(0) == ("duplicate of 3",)
    assert "always on" in atlas.flags(1)
    assert atlas.flagged()["always on"] == [1]
    # the always-on unit's equivalent bias: its mean output times its
    # outgoing weights
    post = mlp.trace(X).post[0]
    np.testing.assert_allclose(
        atlas.equivalent_bias[1], post[:, 1].mean() * mlp.layers[1].weight[:, 1]
    )
    np.testing.assert_allclose(atlas.output_mean, post.mean(axis=0))
    # ... and it is a bias: swapping the unit for it changes the logits by
    # (a - mean) * w only, tiny for a unit that barely varies
    z = mlp.trace(X).pre[1]
    W2 = np.asarray(mlp.layers[1].weight)
    replaced = post @ W2.T - np.outer(post[:, 1], W2[:, 1]) + atlas.equivalent_bias[1]
    assert np.abs(replaced + mlp.layers[1].bias - z).max() < 1e-9
    text = str(atlas)
    assert "unit 1 is always on" in text and "acts as a bias of" in text
    assert "unit 2 is dead" in text
    assert "duplicates unit 3" in text


def test_saturation_follows_the_activation_slope():
    mlp = _flag_model()
    X = np.random.default_rng(1).random((400, 12)) - 0.5
    atlas = unit_atlas(mlp, X, saturated_share=0.9)
    slope = 0.25 * atlas_module.SATURATION_SLOPE
    post = mlp.trace(X).post[0]
    share = (post * (1 - post) < slope).mean(axis=0)
    np.testing.assert_allclose(atlas.saturated_share, share)
    assert atlas.saturated[1] and atlas.saturated[2]  # pinned at 1 and at 0
    assert atlas.saturated[4] == (share[4] >= 0.9)
    assert not atlas.saturated[0]


def test_identity_units_never_saturate_and_softmax_has_no_slope():
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(100 * rng.normal(size=(3, 4)), np.zeros(3), "identity"),
            Dense(rng.normal(size=(2, 3)), np.zeros(2), "softmax"),
        ]
    )
    X = rng.random((50, 4))
    assert not unit_atlas(mlp, X).saturated.any()
    out = unit_atlas(mlp, X, layer=-1)
    assert np.isnan(out.saturated_share).all() and not out.saturated.any()
    assert out.equivalent_bias is None


def test_relu_dead_unit_is_constant_and_never_a_duplicate():
    rng = np.random.default_rng(0)
    W = rng.normal(size=(3, 5))
    mlp = MLP([Dense(W, [0.0, -50.0, -50.0], "relu")])
    atlas = unit_atlas(mlp, rng.random((40, 5)))
    assert atlas.dead.tolist() == [False, True, True]
    assert np.isnan(atlas.correlation[1]).all()
    assert atlas.duplicate_of.tolist() == [-1, -1, -1]  # two dead units are not
    assert atlas.std[1] == 0.0


def test_thresholds_move_the_flags():
    mlp = _flag_model()
    X = np.random.default_rng(0).random((300, 12)) - 0.5
    strict = unit_atlas(mlp, X, always_on_share=1.0, duplicate_correlation=1.0)
    loose = unit_atlas(mlp, X, dead_share=0.5, always_on_share=0.5)
    share = strict.active_share
    assert strict.always_on.tolist() == (share >= 1.0).tolist()
    assert loose.dead.tolist() == (share <= 0.5).tolist()
    assert loose.always_on.tolist() == (share >= 0.5).tolist()
    assert strict.thresholds["duplicate_correlation"] == 1.0


def test_active_means_positive_pre_activation():
    mlp = _flag_model()
    X = np.random.default_rng(2).random((100, 12)) - 0.5
    atlas = unit_atlas(mlp, X, stage="pre")
    np.testing.assert_allclose(atlas.active_share, (mlp.trace(X).pre[0] > 0).mean(0))


# -- summaries -------------------------------------------------------------------------


def test_mean_std_correlation_and_exact_quantiles():
    rng = np.random.default_rng(4)
    mlp = MLP([Dense(rng.normal(size=(6, 8)), rng.normal(size=6), "tanh")])
    X = rng.normal(size=(257, 8))
    atlas = unit_atlas(mlp, X, chunk_size=50, quantiles=(0, 0.1, 0.5, 0.9, 1))
    values = mlp.forward(X)
    np.testing.assert_allclose(atlas.mean, values.mean(0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(atlas.std, values.std(0), rtol=1e-10)
    np.testing.assert_allclose(atlas.correlation, np.corrcoef(values.T), atol=1e-12)
    expected = np.quantile(values, [0, 0.1, 0.5, 0.9, 1], axis=0).T
    np.testing.assert_allclose(atlas.quantiles, expected, rtol=1e-12, atol=1e-15)
    assert atlas.quantile_error == 0.0


def test_quantiles_past_the_budget_stay_within_their_error_bound(monkeypatch):
    monkeypatch.setattr(atlas_module, "QUANTILE_BUDGET", 2000)
    rng = np.random.default_rng(5)
    mlp = MLP([Dense(rng.normal(size=(2, 3)), np.zeros(2), "identity")])
    X = rng.normal(size=(20_000, 3))
    levels = np.array([0.0, 0.05, 0.25, 0.5, 0.75, 0.95, 1.0])
    atlas = unit_atlas(mlp, X, quantiles=levels)
    assert 0 < atlas.quantile_error < 0.1
    values = mlp.forward(X)
    for u in range(2):
        ranks = np.searchsorted(np.sort(values[:, u]), atlas.quantiles[u]) / len(X)
        assert np.all(np.abs(ranks - levels) <= atlas.quantile_error + 1 / len(X))
    # minimum and maximum stay exact
    np.testing.assert_array_equal(atlas.quantiles[:, 0], values.min(0))
    np.testing.assert_array_equal(atlas.quantiles[:, -1], values.max(0))


def test_quantile_sketch_memory_is_bounded_and_its_bound_holds():
    rng = np.random.default_rng(6)
    sketch = QuantileSketch(256)
    data = rng.standard_exponential(size=(100_000, 1))
    for i in range(0, len(data), 977):
        sketch.add(data[i : i + 977])
    kept = sum(c.shape[0] for level in sketch.levels for c in level)
    assert kept <= 256 * len(sketch.levels) + 977
    assert len(sketch.levels) <= 12
    levels = np.linspace(0, 1, 21)
    est = sketch.quantiles(levels)[0]
    ranks = np.searchsorted(np.sort(data[:, 0]), est, side="right") / len(data)
    assert np.all(np.abs(ranks - levels) <= sketch.rank_error + 1e-12)


# -- classes ---------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(data=st.data(), task=st.sampled_from(["multiclass", "binary", "multilabel"]))
def test_class_means_and_selectivity_equal_the_definition(data, task):
    mlp = data.draw(classifiers(task=task, min_layers=2, max_layers=2))
    n = data.draw(st.integers(2, 30))
    X = data.draw(float_arrays((n, mlp.n_inputs), 2.0))
    y = data.draw(labels_of(mlp, n))
    atlas = unit_atlas(mlp, X, y, chunk_size=7)
    values = mlp.trace(X).post[0]
    if task == "multilabel":
        members = np.asarray(y, dtype=bool)
    else:
        positions = {v: i for i, v in enumerate(mlp.classes.tolist())}
        codes = np.array([positions[v] for v in np.asarray(y).tolist()])
        members = codes[:, None] == np.arange(len(mlp.classes))[None, :]
    counts = members.sum(0)
    np.testing.assert_array_equal(atlas.class_counts, counts)
    for c in range(members.shape[1]):
        if counts[c]:
            np.testing.assert_allclose(
                atlas.class_means[c], values[members[:, c]].mean(0), atol=1e-12
            )
        else:
            assert np.isnan(atlas.class_means[c]).all()
    present = atlas.class_means[counts > 0]
    lo = values.min(0)
    for u in range(values.shape[1]):
        if present.shape[0] < 2:
            assert np.isnan(atlas.selectivity[u])
            continue
        best = present[:, u].max()
        rest = (present[:, u].sum() - best) / (present.shape[0] - 1)
        # measured from the minimum: lo <= rest <= best (rounding can say
        # otherwise by an ulp), then (a - b) / (a + b)
        a = max(best - lo[u], 0.0)
        b = min(max(rest - lo[u], 0.0), a)
        # a spread within rounding of a mean of that many inputs is no spread;
        # the atlas's means (summed in chunks) and these differ by as much
        noise = counts.max() * np.finfo(float).eps * max(abs(best), abs(lo[u]))
        sel = atlas.selectivity[u]
        if a <= 0.5 * noise:
            assert np.isnan(sel)
        elif a >= 2 * noise:
            # the ratio moves by at most its inputs' rounding over their sum
            slack = 1e-9 + 4 * noise / (a + b)
            assert abs(sel - (a - b) / (a + b)) <= slack
        assert np.isnan(sel) or 0.0 <= sel <= 1.0


def test_a_unit_driven_by_one_class_only_has_selectivity_one():
    # unit 0 is x0 (relu), on only for class "b"; unit 1 is on for everything
    mlp = MLP(
        [
            Dense([[1.0, 0.0], [0.0, 1.0]], [0.0, 0.0], "relu"),
            Dense(np.eye(2), [0.0, 0.0], "softmax"),
        ],
        class_names=["a", "b"],
    )
    X = np.array([[0.0, 1.0], [0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])
    atlas = unit_atlas(mlp, X, ["a", "a", "b", "b"])
    assert atlas.selectivity[0] == 1.0
    assert atlas.preferred_class[0] == 1
    assert np.isnan(atlas.selectivity[1])  # constant: nothing to select
    assert atlas.to_dict()["preferred_class"][0] == "b"


def test_a_stream_of_pairs_gives_class_means_and_equals_the_arrays():
    mlp = _flag_model()
    rng = np.random.default_rng(7)
    X = rng.random((120, 12)) - 0.5
    y = rng.choice(["a", "b", "c"], size=120)
    whole = unit_atlas(mlp, X, y, k=4)
    stream = unit_atlas(
        mlp, ((X[i : i + 25], y[i : i + 25]) for i in range(0, 120, 25)), k=4
    )
    for name in ("top_indices", "bottom_indices", "top_inputs", "active_share"):
        np.testing.assert_array_equal(getattr(stream, name), getattr(whole, name))
    for name in ("class_means", "mean", "std", "correlation", "quantiles"):
        np.testing.assert_allclose(
            getattr(stream, name), getattr(whole, name), rtol=1e-12, atol=1e-15
        )
    bare = unit_atlas(mlp, [X[:60], X[60:]])  # no labels: no class means
    assert bare.class_means is None and bare.class_names is None
    assert (bare.preferred_class == -1).all() and np.isnan(bare.selectivity).all()


def test_dataframe_columns_become_feature_names():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(0)
    mlp = MLP([Dense(rng.normal(size=(2, 3)), np.zeros(2), "relu")])
    frame = pd.DataFrame(rng.random((10, 3)), columns=["x", "y", "z"])
    assert unit_atlas(mlp, frame).feature_names == ("x", "y", "z")


def test_later_layers_and_inputs_shapes():
    rng = np.random.default_rng(8)
    mlp = MLP(
        [
            Dense(rng.normal(size=(5, 16)), np.zeros(5), "relu"),
            Dense(rng.normal(size=(4, 5)), np.zeros(4), "tanh"),
            Dense(rng.normal(size=(2, 4)), np.zeros(2), "identity"),
        ],
        input_shape=(4, 4),
    )
    X = rng.random((30, 4, 4))
    atlas = unit_atlas(mlp, X, layer=1, k=3, keep_inputs=False)
    assert atlas.top_inputs is None and atlas.bottom_inputs is None
    assert atlas.equivalent_bias.shape == (4, 2)
    values = mlp.trace(X.reshape(30, 16)).post[1]
    np.testing.assert_array_equal(atlas.top_values[:, 0], values.max(0))
    assert isinstance(atlas, UnitAtlas) and "layer=1" in repr(atlas)


def test_to_dict_is_one_row_per_unit():
    mlp = _flag_model()
    X = np.random.default_rng(0).random((50, 12)) - 0.5
    table = unit_atlas(mlp, X, quantiles=(0.5,)).to_dict()
    assert {len(v) for v in table.values()} == {5}
    assert "q0.5" in table and table["always_on"][1] is True
    assert table["top"][0] == unit_atlas(mlp, X).top_indices[0].tolist()


# -- errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "`k` must be >= 1"),
        ({"stage": "out"}, "`stage` must be one of"),
        ({"quantiles": [0.5, 2.0]}, "`quantiles` must be"),
        ({"quantiles": []}, "`quantiles` must be"),
        ({"always_on_share": 1.5}, "`always_on_share` must be <= 1"),
        ({"duplicate_correlation": -0.1}, "`duplicate_correlation` must be >= 0"),
        ({"layer": 5}, "`layer` must be in"),
        ({"keep_inputs": "yes"}, "`keep_inputs` must be True or False"),
        ({"chunk_size": 0}, "`chunk_size` must be >= 1"),
    ],
)
def test_bad_arguments_are_refused_by_name(kwargs, message):
    mlp = _flag_model()
    with pytest.raises(InvalidParameterError, match=message):
        unit_atlas(mlp, np.zeros((4, 12)), **kwargs)


def test_labels_need_a_classifier_and_known_labels():
    rng = np.random.default_rng(0)
    regressor = MLP([Dense(rng.normal(size=(1, 3)), [0.0], "identity")])
    with pytest.raises(InvalidParameterError, match="`y` must be None"):
        unit_atlas(regressor, np.zeros((4, 3)), [1, 2, 3, 4])
    with pytest.raises(InvalidParameterError, match="'d'"):
        unit_atlas(_flag_model(), np.zeros((3, 12)), ["a", "b", "d"])
    with pytest.raises(InvalidParameterError, match="must not be empty"):
        unit_atlas(_flag_model(), [])


def test_overflow_names_the_layer():
    mlp = MLP([Dense([[1e300, 1e300]], [0.0], "identity")])
    with pytest.raises(NumericalError, match="layer 0"):
        unit_atlas(mlp, [[1e10, 1e10], [1.0, 1.0]])


def test_a_unit_constant_on_every_input_has_no_selectivity():
    """Identical inputs make every unit constant; class means of 15 and of 1
    input then differ by rounding only, which once scored a unit 1.0 (found by
    hypothesis in a fresh venv)."""
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 8)), rng.normal(size=4), "sigmoid"),
            Dense(rng.normal(size=(2, 4)), np.zeros(2), "softmax"),
        ],
        class_names=["0", "1"],
    )
    X = np.full((16, 8), 0.98828125)
    y = np.array(["0"] * 15 + ["1"])
    atlas = unit_atlas(mlp, X, y, chunk_size=7)
    assert np.isnan(atlas.selectivity).all()
    # a real difference between the classes is still measured
    X[-1] = 0.0
    atlas = unit_atlas(mlp, X, y, chunk_size=7)
    assert np.isfinite(atlas.selectivity).all() and (atlas.selectivity > 0).all()
