import math

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
    mlps_and_inputs,
)

from mlpinspect import MLP, Dense, InvalidParameterError
from mlpinspect.analysis import (
    ClassContributions,
    class_contributions,
    decompose,
    iter_decompose,
)

# The contributions are summed in a different order than the forward pass's
# matrix product, so the two agree to rounding: |error| <= c * eps * n * sum|terms|.
# With float64 (eps 2.2e-16) and at most a few dozen terms, 1e-12 relative to
# the sum of |terms| is a safe bound that still fails on any real mistake.
RTOL = 1e-12


def _assert_complete(d, pre):
    terms = np.abs(d.contributions).sum(axis=-1) + np.abs(d.bias)
    lhs = d.contributions.sum(axis=-1) + d.bias
    assert np.all(np.abs(lhs - pre) <= RTOL * terms + 1e-300)


def _mlp(seed=0, sizes=(8, 6, 3), acts=("sigmoid", "softmax"), **kwargs):
    rng = np.random.default_rng(seed)
    layers = [
        Dense(
            rng.normal(size=(sizes[i + 1], sizes[i])),
            rng.normal(size=sizes[i + 1]),
            acts[i],
        )
        for i in range(len(sizes) - 1)
    ]
    return MLP(layers, **kwargs)


@settings(max_examples=50, deadline=None)
@given(mlps_and_inputs(max_layers=4))
def test_contributions_sum_to_the_pre_activation_on_every_layer(case):
    mlp, X = case
    trace = mlp.trace(X)
    for layer in range(len(mlp.layers)):
        d = decompose(mlp, X, layer=layer)
        n, units, sources = d.contributions.shape
        assert (n, units, sources) == (
            X.shape[0],
            mlp.sizes[layer + 1],
            mlp.sizes[layer],
        )
        _assert_complete(d, trace.pre[layer])
        np.testing.assert_array_equal(d.source_activations, trace.source(layer))
        np.testing.assert_array_equal(d.pre_activation, trace.pre[layer])
        np.testing.assert_array_equal(d.output, trace.post[layer])
        np.testing.assert_array_equal(
            d.contributions,
            trace.source(layer)[:, None, :] * mlp.layers[layer].weight[None],
        )
        assert np.all(
            np.abs(d.completeness_error)
            <= RTOL * (np.abs(d.contributions).sum(-1) + np.abs(d.bias)) + 1e-300
        )


@settings(max_examples=25, deadline=None)
@given(mlps_and_inputs(max_rows=3))
def test_pre_activation_matches_an_exactly_rounded_sum(case):
    mlp, X = case
    d = decompose(mlp, X)
    for i in range(d.contributions.shape[0]):
        for j in range(d.contributions.shape[1]):
            exact = math.fsum([*d.contributions[i, j], d.bias[j]])
            scale = np.abs(d.contributions[i, j]).sum() + abs(d.bias[j])
            assert abs(d.pre_activation[i, j] - exact) <= RTOL * scale + 1e-300


def test_first_layer_sources_are_pixels_and_images():
    mlp = _mlp(sizes=(16, 5, 3), input_shape=(4, 4))
    X = np.random.default_rng(0).random((7, 4, 4))
    d = decompose(mlp, X, layer=0)
    assert d.contributions.shape == (7, 5, 16)
    np.testing.assert_array_equal(d.source_activations, X.reshape(7, 16))
    images = d.images()
    assert images.shape == (7, 5, 4, 4)
    np.testing.assert_array_equal(
        images[2, 1], X[2] * mlp.layers[0].weight[1].reshape(4, 4)
    )
    assert decompose(mlp, X).images().shape == (7, 3, 1, 5)
    assert decompose(mlp, X).images(shape=(5, 1)).shape == (7, 3, 5, 1)


def test_units_restrict_the_decomposition():
    mlp = _mlp(class_names=["a", "b", "c"])
    X = np.random.default_rng(1).random((4, 8))
    full = decompose(mlp, X)
    some = decompose(mlp, X, units=["c", 0])
    assert some.units.tolist() == [0, 2]
    assert some.unit_names == ("a", "c")
    np.testing.assert_array_equal(some.contributions, full.contributions[:, [0, 2]])
    np.testing.assert_array_equal(some.pre_activation, full.pre_activation[:, [0, 2]])
    # softmax output is over all units, then the chosen ones are kept
    np.testing.assert_array_equal(some.output, full.output[:, [0, 2]])
    one = decompose(mlp, X, layer=0, units=4)
    assert one.contributions.shape == (4, 1, 8)
    assert one.unit_names is None


def test_single_input_is_a_batch_of_one():
    mlp = _mlp()
    x = np.random.default_rng(0).random(8)
    assert decompose(mlp, x).contributions.shape == (1, 3, 6)


def test_iter_decompose_and_streams_equal_one_shot():
    mlp = _mlp()
    X = np.random.default_rng(2).random((11, 8))
    full = decompose(mlp, X)
    # BLAS may round a product differently for different batch shapes.
    same = {"rtol": 1e-13, "atol": 1e-15}
    parts = list(iter_decompose(mlp, X, chunk_size=4))
    assert [p.contributions.shape[0] for p in parts] == [4, 4, 3]
    np.testing.assert_allclose(
        np.concatenate([p.contributions for p in parts]), full.contributions, **same
    )
    stream = decompose(mlp, (X[i : i + 5] for i in range(0, 11, 5)))
    np.testing.assert_allclose(stream.contributions, full.contributions, **same)
    np.testing.assert_allclose(stream.output, full.output, **same)
    pairs = [(X[:3], [0, 1, 2]), (X[3:], np.zeros(8, dtype=int))]
    np.testing.assert_allclose(
        decompose(mlp, pairs).pre_activation, full.pre_activation, **same
    )


def test_iter_decompose_checks_arguments_when_called():
    mlp = _mlp()
    with pytest.raises(InvalidParameterError, match=r"`layer`"):
        iter_decompose(mlp, np.zeros((2, 8)), layer=5)
    with pytest.raises(InvalidParameterError, match=r"`units\[0\]`.*got 9"):
        iter_decompose(mlp, np.zeros((2, 8)), units=[9])
    with pytest.raises(
        InvalidParameterError, match=r"`units` must be an output position in \[0, 2\]"
    ):
        iter_decompose(mlp, np.zeros((2, 8)), units=9)


def test_decompose_errors():
    mlp = _mlp()
    X = np.random.default_rng(0).random((3, 8))
    with pytest.raises(InvalidParameterError, match=r"`layer`"):
        decompose(mlp, X, layer=-3)
    with pytest.raises(InvalidParameterError, match=r"`units\[1\]`.*\[0, 2\]"):
        decompose(mlp, X, units=[0, 3])
    with pytest.raises(InvalidParameterError, match=r"`X`.*shape \(n, 8\).*\(3, 5\)"):
        decompose(mlp, X[:, :5])
    X[0, 0] = np.inf
    with pytest.raises(InvalidParameterError, match=r"`X`.*finite"):
        decompose(mlp, X)
    with pytest.raises(InvalidParameterError, match=r"`X`.*at least one input"):
        decompose(mlp, np.zeros((0, 8)))
    with pytest.raises(InvalidParameterError, match=r"`X`"):
        decompose(mlp, None)


def test_decomposition_is_frozen_and_readable():
    d = decompose(_mlp(), np.random.default_rng(0).random((3, 8)))
    assert repr(d).startswith("Decomposition(layer=1, n=3, units=3, sources=6")
    with pytest.raises(ValueError, match=r"read-only"):
        d.contributions[0, 0, 0] = 1.0


def test_callers_input_array_stays_writeable():
    mlp = _mlp()
    X = np.random.default_rng(0).random((3, 8))
    decompose(mlp, X, layer=0)
    X[0, 0] = 1.0  # must not raise


# -- class_contributions ------------------------------------------------------


def _reference_class_contributions(mlp, X, y, layer=-1):
    """Slow reference: decompose, then average class by class."""
    d = decompose(mlp, X, layer=layer)
    n_classes = d.contributions.shape[1]
    mean = np.full((n_classes, d.contributions.shape[2]), np.nan)
    std = np.full_like(mean, np.nan)
    pos = np.full_like(mean, np.nan)
    neg = np.full_like(mean, np.nan)
    pre = np.full(n_classes, np.nan)
    for c in range(n_classes):
        rows = d.contributions[y == c, c, :]
        if len(rows):
            mean[c] = rows.mean(axis=0)
            std[c] = rows.std(axis=0)
            # The sign of the exact product W * a (a float product of two tiny
            # numbers can underflow to 0 and would lose it).
            signs = np.sign(d.source_activations[y == c]) * np.sign(
                mlp.layers[layer].weight[c]
            )
            pos[c] = (signs > 0).mean(axis=0)
            neg[c] = (signs < 0).mean(axis=0)
            pre[c] = d.pre_activation[y == c, c].mean()
    return mean, std, pos, neg, pre


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_class_contributions_match_the_reference_over_any_batch_split(data):
    mlp = data.draw(mlps(min_layers=2, min_outputs=2))
    X = data.draw(inputs_for(mlp, max_rows=12))
    y = data.draw(labels_for(mlp, X.shape[0]))
    cuts = sorted(data.draw(st.lists(st.integers(0, X.shape[0]), max_size=4)))
    bounds = [0, *cuts, X.shape[0]]
    pairs = [(X[a:b], y[a:b]) for a, b in zip(bounds, bounds[1:], strict=False)]
    one_shot = class_contributions(mlp, X, y, chunk_size=X.shape[0])
    streamed = class_contributions(mlp, iter(pairs))
    batched = class_contributions(mlp, X, y, chunk_size=data.draw(st.integers(1, 5)))
    mean, std, pos, neg, pre = _reference_class_contributions(mlp, X, y)
    for result in (one_shot, streamed, batched):
        np.testing.assert_array_equal(
            result.counts, np.bincount(y, minlength=mlp.n_outputs)
        )
        np.testing.assert_allclose(
            result.mean_contribution, mean, rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(result.std_contribution, std, rtol=1e-6, atol=1e-7)
        np.testing.assert_array_equal(result.positive_share, pos)
        np.testing.assert_array_equal(result.negative_share, neg)
        np.testing.assert_allclose(
            result.mean_pre_activation, pre, rtol=1e-9, atol=1e-9
        )
    np.testing.assert_allclose(
        streamed.mean_contribution, one_shot.mean_contribution, rtol=1e-9, atol=1e-12
    )
    has = one_shot.counts > 0
    total = one_shot.mean_contribution[has].sum(axis=1) + one_shot.bias[has]
    scale = one_shot.mean_abs_contribution[has].sum(axis=1) + np.abs(one_shot.bias[has])
    assert np.all(
        np.abs(total - one_shot.mean_pre_activation[has]) <= 1e-9 * (scale + 1)
    )


def test_class_contributions_of_a_class_without_examples_are_nan():
    mlp = _mlp()
    X = np.random.default_rng(0).random((6, 8))
    result = class_contributions(mlp, X, [0, 0, 1, 1, 0, 1])
    assert result.counts.tolist() == [3, 3, 0]
    assert np.isnan(result.mean_contribution[2]).all()
    assert np.isnan(result.mean_pre_activation[2])
    assert (result.usage()[2] == "").all()
    assert not np.isnan(result.mean_contribution[:2]).any()


def test_usage_labels():
    # Output unit 0 over class 0: source 0 always on (positive weight),
    # source 1 always on (negative weight), source 2 on half the time,
    # source 3 never on.
    hidden = Dense(np.eye(4), np.zeros(4), "relu")
    output = Dense([[2.0, -2.0, 2.0, 5.0], [1.0, 1.0, 1.0, 1.0]], [0.5, 0.0], "softmax")
    mlp = MLP([hidden, output], class_names=["zero", "one"])
    X = np.array([[1.0, 1.0, 1.0, 0.0], [1.0, 1.0, -1.0, 0.0]] * 5)
    y = np.zeros(10, dtype=int)
    result = class_contributions(mlp, X, y)
    assert result.usage()[0].tolist() == ["positive", "negative", "in part", "unused"]
    np.testing.assert_array_equal(result.positive_share[0], [1.0, 0.0, 0.5, 0.0])
    np.testing.assert_array_equal(result.negative_share[0], [0.0, 1.0, 0.0, 0.0])
    np.testing.assert_allclose(result.mean_contribution[0], [2.0, -2.0, 1.0, 0.0])
    np.testing.assert_allclose(result.mean_abs_contribution[0], [2.0, 2.0, 1.0, 0.0])
    assert result.mean_pre_activation[0] == pytest.approx(1.5)
    assert result.usage(consistent=0.5)[0, 2] == "positive"
    assert result.usage(unused_below=0.6)[0, 2] == "unused"
    with pytest.raises(InvalidParameterError, match=r"`consistent`"):
        result.usage(consistent=0.2)


def test_class_contributions_table_prints_and_converts():
    mlp = _mlp(class_names=["a", "b", "c"])
    rng = np.random.default_rng(0)
    result = class_contributions(mlp, rng.random((30, 8)), rng.integers(0, 3, 30))
    assert isinstance(result, ClassContributions)
    text = str(result)
    lines = text.splitlines()
    assert lines[2].split() == ["source", "a", "b", "c"]
    assert lines[4].split()[0] == "n"
    assert len(lines) == 2 + 2 + 3 + 6  # title, header + rule, n/bias/pre, sources
    assert lines[7].split()[0] == "0"
    assert f"{result.mean_contribution[0, 0]:+.2f}" in lines[7]
    usage = result.usage()
    mark = {"positive": "+", "negative": "-", "in part": "~", "unused": "."}
    assert lines[7].split()[2].endswith(mark[usage[0, 0]])
    table = result.to_dict()
    assert len(table["class"]) == 3 * 6
    assert table["class_name"][6] == "b"
    assert table["mean_contribution"][7] == result.mean_contribution[1, 1]
    assert repr(result) == "ClassContributions(layer=1, classes=3, sources=6, n=30)"


def test_class_contributions_accepts_one_hot_labels_and_image_inputs():
    mlp = _mlp(sizes=(16, 4, 3), input_shape=(4, 4))
    rng = np.random.default_rng(0)
    X = rng.random((9, 4, 4))
    y = rng.integers(0, 3, 9)
    a = class_contributions(mlp, X, y)
    b = class_contributions(mlp, X, np.eye(3, dtype=int)[y])
    np.testing.assert_array_equal(a.mean_contribution, b.mean_contribution)


def test_class_contributions_errors():
    mlp = _mlp()
    X = np.random.default_rng(0).random((5, 8))
    y = np.array([0, 1, 2, 0, 1])
    with pytest.raises(InvalidParameterError, match=r"`y`.*required"):
        class_contributions(mlp, X)
    with pytest.raises(InvalidParameterError, match=r"`y`.*one label per sample \(5\)"):
        class_contributions(mlp, X, y[:4])
    with pytest.raises(InvalidParameterError, match=r"`y`.*does not know: \[3\]"):
        class_contributions(mlp, X, [0, 1, 2, 3, 0])
    with pytest.raises(
        InvalidParameterError, match=r"`layer`.*one unit per output \(3"
    ):
        class_contributions(mlp, X, y, layer=0)
    with pytest.raises(InvalidParameterError, match=r"`y` must be None"):
        class_contributions(mlp, [(X, y)], y)
    with pytest.raises(
        InvalidParameterError, match=r"`X` batch 0.*\(X_batch, y_batch\) tuple"
    ):
        class_contributions(mlp, iter([X]))
    with pytest.raises(InvalidParameterError, match=r"`y \(batch 1\)`.*one label"):
        class_contributions(mlp, [(X, y), (X, y[:3])])
    with pytest.raises(InvalidParameterError, match=r"`X`.*shape \(n, 8\).*\(5, 7\)"):
        class_contributions(mlp, X[:, 1:], y)
    with pytest.raises(InvalidParameterError, match=r"`X`.*empty"):
        class_contributions(mlp, iter([]))
    with pytest.raises(InvalidParameterError, match=r"`chunk_size`"):
        class_contributions(mlp, X, y, chunk_size=0)


# -- class labels, DataFrames, binary and multilabel heads ---------------------


@settings(max_examples=30, deadline=None)
@given(st.data(), st.sampled_from(LABEL_KINDS))
def test_class_contributions_read_labels_of_every_kind(data, kind):
    mlp = data.draw(classifiers(kind=kind, min_layers=2))
    X = data.draw(inputs_for(mlp, max_rows=10))
    y = data.draw(labels_of(mlp, X.shape[0]))
    positions = class_positions(mlp, y)
    by_label = class_contributions(mlp, X, y)
    assert by_label.class_names == tuple(str(c) for c in mlp.classes.tolist())
    np.testing.assert_array_equal(
        by_label.counts, np.bincount(positions, minlength=mlp.n_outputs)
    )
    mean, std, pos, neg, pre = _reference_class_contributions(mlp, X, positions)
    np.testing.assert_allclose(by_label.mean_contribution, mean, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(by_label.std_contribution, std, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(by_label.positive_share, pos)
    np.testing.assert_array_equal(by_label.negative_share, neg)
    np.testing.assert_allclose(by_label.mean_pre_activation, pre, rtol=1e-9, atol=1e-9)


def test_unknown_labels_are_refused_naming_them():
    mlp = _mlp(class_names=["a", "b", "c"])
    X = np.random.default_rng(0).random((4, 8))
    with pytest.raises(
        InvalidParameterError, match=r"`y` holds labels the model does not know: \['d'"
    ):
        class_contributions(mlp, X, ["a", "d", "b", "e"])
    ints = _mlp(class_names=[10, 20, 30])
    with pytest.raises(InvalidParameterError, match=r"does not know: \[15\]"):
        class_contributions(ints, X, [10, 15, 20, 30])
    with pytest.raises(InvalidParameterError, match=r"`y \(batch 1\)`.*\['z'\]"):
        class_contributions(mlp, [(X[:2], ["a", "b"]), (X[2:], ["c", "z"])])


def test_decompose_keeps_dataframe_columns():
    pd = pytest.importorskip("pandas")
    mlp = _mlp()
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.random((6, 8)), columns=list("abcdefgh"))
    d = decompose(mlp, df, layer=0)
    assert d.source_names == tuple(df.columns)
    np.testing.assert_array_equal(
        d.contributions, decompose(mlp, df.to_numpy(), layer=0).contributions
    )
    assert decompose(mlp, [df[:2], df[2:]], layer=0).source_names == tuple(df.columns)
    parts = list(iter_decompose(mlp, df, layer=0, chunk_size=4))
    assert [p.source_names for p in parts] == [tuple(df.columns)] * 2
    # the output layer's sources are hidden units, not features
    assert decompose(mlp, df).source_names is None
    renamed = df.rename(columns={"c": "z"})
    named = mlp.replace(feature_names=list("abcdefgh"))
    assert decompose(named, df.to_numpy(), layer=0).source_names == tuple(df.columns)
    with pytest.raises(InvalidParameterError, match=r"columns that differ.*'z' != 'c'"):
        decompose(named, renamed, layer=0)
    with pytest.raises(InvalidParameterError, match=r"`X \(batch 1\)` has columns"):
        decompose(mlp, [df[:2], renamed[2:]], layer=0)


def _binary_mlp(seed=0):
    rng = np.random.default_rng(seed)
    return MLP(
        [
            Dense(rng.normal(size=(5, 8)), rng.normal(size=5), "relu"),
            Dense(rng.normal(size=(1, 5)), rng.normal(size=1), "sigmoid"),
        ],
        class_names=["no", "yes"],
    )


def test_binary_class_contributions_have_a_row_per_class():
    mlp = _binary_mlp()
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 8))
    y = np.where(rng.random(50) < 0.4, "no", "yes")
    table = class_contributions(mlp, X, y)
    assert table.class_names == ("no", "yes")
    assert table.counts.tolist() == [int((y == "no").sum()), int((y == "yes").sum())]
    trace = mlp.trace(X)
    logit, hidden = trace.pre[-1][:, 0], trace.post[0]
    w, b = mlp.layers[-1].weight[0], mlp.layers[-1].bias[0]
    # "no": its logit is minus the one unit's
    assert table.mean_pre_activation[0] == pytest.approx(-logit[y == "no"].mean())
    assert table.mean_pre_activation[1] == pytest.approx(logit[y == "yes"].mean())
    np.testing.assert_allclose(
        table.mean_contribution[0], -w * hidden[y == "no"].mean(axis=0), rtol=1e-12
    )
    np.testing.assert_allclose(
        table.mean_contribution[1], w * hidden[y == "yes"].mean(axis=0), rtol=1e-12
    )
    np.testing.assert_array_equal(table.bias, [-b, b])
    # a positive contribution to "yes" is a negative one to "no"
    on = hidden != 0
    yes_pos = ((hidden * w > 0) & on)[y == "yes"].mean(axis=0)
    no_neg = ((-hidden * w < 0) & on)[y == "no"].mean(axis=0)
    np.testing.assert_array_equal(table.positive_share[1], yes_pos)
    np.testing.assert_array_equal(table.negative_share[0], no_neg)
    # labels given as positions (0 negative, 1 positive) mean the same
    same = class_contributions(mlp, X, (y == "yes").astype(int))
    np.testing.assert_array_equal(same.mean_contribution, table.mean_contribution)


def test_multilabel_rows_average_over_the_examples_carrying_each_label():
    rng = np.random.default_rng(2)
    mlp = MLP(
        [
            Dense(rng.normal(size=(5, 8)), rng.normal(size=5), "tanh"),
            Dense(rng.normal(size=(3, 5)), rng.normal(size=3), "sigmoid"),
        ],
        task="multilabel",
        class_names=["red", "green", "blue"],
    )
    X = rng.normal(size=(40, 8))
    Y = (rng.random((40, 3)) < 0.5).astype(int)
    table = class_contributions(mlp, X, Y)
    assert table.counts.tolist() == Y.sum(axis=0).tolist()
    d = decompose(mlp, X)
    for c in range(3):
        rows = Y[:, c] == 1
        np.testing.assert_allclose(
            table.mean_contribution[c],
            d.contributions[rows, c].mean(axis=0),
            rtol=1e-10,
            atol=1e-14,
        )
        assert table.mean_pre_activation[c] == pytest.approx(
            d.pre_activation[rows, c].mean()
        )


def test_decompose_refuses_the_negative_class_and_explains_why():
    mlp = _binary_mlp()
    X = np.random.default_rng(0).normal(size=(3, 8))
    with pytest.raises(
        InvalidParameterError,
        match=r"`units`='no' is the negative class of a binary model: it has no "
        r"output unit of its own \(its logit is minus the positive class's",
    ):
        decompose(mlp, X, units="no")
    with pytest.raises(InvalidParameterError, match=r"`units\[1\]`='no'"):
        decompose(mlp, X, units=["yes", "no"])
    yes = decompose(mlp, X, units="yes")
    assert yes.unit_names == ("yes",)
    np.testing.assert_array_equal(yes.contributions, decompose(mlp, X).contributions)


def test_decompose_streams_of_nested_list_batches_equal_the_array():
    # A model with one input: each batch is a nested list of two rows, which
    # is a batch of two inputs, never an (X, y) pair.
    mlp = _mlp(sizes=(1, 4, 2), acts=("tanh", "softmax"))
    batches = [[[0.5], [1.5]], [[-2.0], [3.0]], [[0.25], [1.0]]]
    whole = decompose(mlp, np.concatenate([np.array(b) for b in batches]))
    streamed = decompose(mlp, batches)
    assert streamed.contributions.shape == (6, 2, 4)
    np.testing.assert_allclose(
        streamed.contributions, whole.contributions, rtol=1e-13, atol=1e-15
    )
    parts = list(iter_decompose(mlp, batches, layer=0))
    assert [p.contributions.shape[0] for p in parts] == [2, 2, 2]


@settings(max_examples=30, deadline=None)
@given(st.data(), st.sampled_from([0.6, 0.75, 0.9, 0.95, 1.0]))
def test_on_counts_and_negative_mass_match_the_decomposition(data, consistent):
    mlp = data.draw(mlps(min_layers=2, max_layers=3, min_outputs=2))
    X = data.draw(inputs_for(mlp, max_rows=12))
    y = data.draw(labels_for(mlp, X.shape[0]))
    layer = data.draw(st.sampled_from([0, len(mlp.layers) - 1]))
    if mlp.layers[layer].n_out != mlp.n_outputs:
        layer = len(mlp.layers) - 1
    table = class_contributions(mlp, X, y, layer=layer)
    trace = mlp.trace(X)
    # "on": the source's pre-activation is positive; an input feature itself
    source_pre = X if layer == 0 else trace.pre[layer - 1]
    d = decompose(mlp, X, layer=layer)
    always, never, partly = table.on_counts(consistent=consistent)
    for c in range(mlp.n_outputs):
        rows = y == c
        if not rows.any():
            assert (always[c], never[c], partly[c]) == (0, 0, 0)
            assert np.isnan(table.negative_mass_share()[c])
            continue
        on = (source_pre[rows] > 0).mean(axis=0)
        np.testing.assert_array_equal(table.on_share[c], on)
        assert always[c] == (on >= consistent).sum()
        assert never[c] == (on <= 1 - consistent).sum()
        assert always[c] + never[c] + partly[c] == on.size
        contributions = d.contributions[rows, c]
        mass = np.abs(contributions).sum()
        share = table.negative_mass_share()[c]
        if mass == 0:
            assert np.isnan(share)
        else:
            against = -contributions[contributions < 0].sum()
            assert share == pytest.approx(against / mass, rel=1e-9, abs=1e-12)


def test_on_counts_checks_its_threshold():
    table = class_contributions(_mlp(), np.ones((2, 8)), [0, 1])
    for bad in (0.2, 0.5, 1.5):
        with pytest.raises(InvalidParameterError, match=r"`consistent` must be"):
            table.on_counts(consistent=bad)
