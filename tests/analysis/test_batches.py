import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import float_arrays, labels_for

import mlpinspect
from mlpinspect import MLP, Dense, InvalidParameterError
from mlpinspect._validation import resolve_units
from mlpinspect.analysis._batches import (
    as_array_or_stream,
    format_table,
    iter_batches,
)


def _mlp():
    rng = np.random.default_rng(0)
    return MLP(
        [
            Dense(rng.normal(size=(3, 4)), np.zeros(3), "relu"),
            Dense(rng.normal(size=(2, 3)), np.zeros(2), "softmax"),
        ],
        input_shape=(2, 2),
        class_names=["a", "b"],
    )


def test_arrays_are_cut_into_batches():
    mlp = _mlp()
    X = np.arange(40.0).reshape(10, 4)
    y = np.arange(10) % 2
    batches = list(iter_batches(mlp, X, y, chunk_size=4, labels=True))
    assert [b[0].shape for b in batches] == [(4, 4), (4, 4), (2, 4)]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), X)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    # labels are dropped when not asked for
    assert all(b[1] is None for b in iter_batches(mlp, X, y, chunk_size=4))


def test_image_shaped_and_nested_list_inputs():
    mlp = _mlp()
    X = np.arange(12.0).reshape(3, 2, 2)
    ((xb, _),) = iter_batches(mlp, X)
    assert xb.shape == (3, 4)
    ((xb, _),) = iter_batches(mlp, X.tolist())
    assert xb.shape == (3, 4)
    ((xb, _),) = iter_batches(mlp, [1.0, 2.0, 3.0, 4.0])
    assert xb.shape == (1, 4)


def test_streams_of_pairs_and_bare_batches():
    mlp = _mlp()
    X = np.ones((5, 4))
    pairs = [(X[:2], [0, 1]), [X[2:], np.array([1, 1, 0])]]
    got = list(iter_batches(mlp, pairs, labels=True))
    assert [b[1].tolist() for b in got] == [[0, 1], [1, 1, 0]]
    bare = list(iter_batches(mlp, (X[i : i + 2] for i in range(0, 5, 2))))
    assert [b[0].shape[0] for b in bare] == [2, 2, 1]
    # a tuple is always an (X_batch, y_batch) pair, even one that could be
    # read as two rows: here one input and its (ignored) labels
    rows = list(iter_batches(mlp, [(np.ones(4), np.zeros(4))]))
    assert rows[0][0].shape == (1, 4)
    assert rows[0][1] is None
    # ... while one input with one label is
    one = list(iter_batches(mlp, [(np.ones(4), 1)], labels=True))
    assert one[0][0].shape == (1, 4)
    assert one[0][1].tolist() == [1]
    # an empty batch is skipped
    assert len(list(iter_batches(mlp, [X[:0], X]))) == 1


def test_stream_detection():
    assert as_array_or_stream(np.zeros((2, 3)))[0] is not None
    assert as_array_or_stream([[1, 2], [3, 4]])[0] is not None
    assert as_array_or_stream([(np.zeros((2, 3)), [0, 1])])[1] is not None
    assert as_array_or_stream(iter([np.zeros(3)]))[1] is not None
    with pytest.raises(InvalidParameterError, match=r"`X`"):
        as_array_or_stream(None)
    with pytest.raises(InvalidParameterError, match=r"`X`"):
        as_array_or_stream(3.0)


def test_batch_errors_name_the_argument_and_batch():
    mlp = _mlp()
    with pytest.raises(
        InvalidParameterError, match=r"`X \(batch 1\)`.*shape \(n, 4\).*\(2, 5\)"
    ):
        list(iter_batches(mlp, [np.ones((2, 4)), np.ones((2, 5))]))
    with pytest.raises(InvalidParameterError, match=r"`X` batch 0 must be an"):
        list(iter_batches(mlp, [np.ones((2, 4))], labels=True))
    with pytest.raises(InvalidParameterError, match=r"`y` must be None"):
        list(iter_batches(mlp, iter([np.ones((2, 4))]), [0, 1]))
    with pytest.raises(InvalidParameterError, match=r"`X`.*shape \(n, 4\).*\(2, 5\)"):
        list(iter_batches(mlp, np.ones((2, 5))))
    with pytest.raises(
        InvalidParameterError, match=r"`y`.*one label per sample \(2\); got 1"
    ):
        list(iter_batches(mlp, np.ones((2, 4)), [0], labels=True))
    with pytest.raises(InvalidParameterError, match=r"`y`.*\[0, 1\]"):
        list(iter_batches(mlp, np.ones((2, 4)), [0, 2], labels=True))
    with pytest.raises(InvalidParameterError, match=r"`chunk_size`"):
        list(iter_batches(mlp, np.ones((2, 4)), chunk_size=0))
    with pytest.raises(InvalidParameterError, match=r"`X`.*empty"):
        list(iter_batches(mlp, []))


def test_partial_forward_passes_compose():
    # The analyses run the model in two parts (up to a layer, then from it);
    # together the parts are the whole forward pass.
    mlp = _mlp()
    X = np.random.default_rng(1).normal(size=(6, 4))
    trace = mlp.trace(X)
    for layer in range(len(mlp.layers)):
        a = X if layer == 0 else mlp.propagate(X, stop=layer - 1, keep=False)
        np.testing.assert_allclose(a, trace.source(layer))
        np.testing.assert_allclose(
            mlp.propagate(a, start=layer, keep=False), trace.output
        )


def test_resolve_units():
    mlp = _mlp()
    assert resolve_units(mlp, 1, None).tolist() == [0, 1]
    assert resolve_units(mlp, 1, ["b", 0, 1]).tolist() == [0, 1]
    assert resolve_units(mlp, 0, np.array([2, 0])).tolist() == [0, 2]
    assert resolve_units(mlp, 0, []).tolist() == []
    with pytest.raises(InvalidParameterError, match=r"`units`"):
        resolve_units(mlp, 0, 2.5)
    with pytest.raises(InvalidParameterError, match=r"`units\[0\]`"):
        resolve_units(mlp, 0, [True])


def test_format_table():
    text = format_table(("a", "long name"), [(1, 0.5), (22, float("nan"))])
    lines = text.splitlines()
    assert lines[0] == " a  long name"
    assert lines[1] == "--  ---------"
    assert lines[2].split() == ["1", "0.5"]
    assert lines[3].split() == ["22", "nan"]
    short = format_table(("x",), [(i,) for i in range(5)], max_rows=2)
    assert short.splitlines()[-1] == "... (3 more rows)"


# -- the stream contract ---------------------------------------------------------


def _one_input_mlp():
    rng = np.random.default_rng(0)
    return MLP(
        [
            Dense(rng.normal(size=(3, 1)), rng.normal(size=3), "tanh"),
            Dense(rng.normal(size=(2, 3)), rng.normal(size=2), "softmax"),
        ]
    )


def test_nested_list_batches_of_two_rows_are_batches_not_pairs():
    mlp = _one_input_mlp()
    batches = [[[0.5], [1.5]], [[-1.0], [2.0]], [[3.0], [0.0]]]
    got = list(iter_batches(mlp, batches))
    assert [b[0].tolist() for b in got] == batches
    assert all(b[1] is None for b in got)
    # ... so labels cannot come from them
    with pytest.raises(InvalidParameterError, match=r"`X` batch 0 must be an"):
        list(iter_batches(mlp, batches, labels=True))
    # the same rows as one nested list are one array
    rows = [[0.5], [1.5], [-1.0], [2.0]]
    ((xb, _),) = iter_batches(mlp, rows)
    assert xb.tolist() == rows


def test_tuples_and_dataloader_lists_are_labelled_batches():
    torch = pytest.importorskip("torch")
    from torch.utils.data import DataLoader, TensorDataset

    mlp = _mlp()
    X = np.random.default_rng(0).random((7, 4))
    y = np.array(["a", "b", "b", "a", "b", "a", "a"])
    tuples = [(X[:3], y[:3]), (X[3:], y[3:])]
    got = list(iter_batches(mlp, tuples, labels=True))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), X)
    assert np.concatenate([b[1] for b in got]).tolist() == [0, 1, 1, 0, 1, 0, 0]
    codes = torch.tensor((y == "b").astype(int))
    loader = DataLoader(TensorDataset(torch.tensor(X), codes), batch_size=3)
    got = list(iter_batches(mlp, loader, labels=True))
    assert [b[0].shape[0] for b in got] == [3, 3, 1]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), X)
    assert np.concatenate([b[1] for b in got]).tolist() == [0, 1, 1, 0, 1, 0, 0]
    # a DataLoader over the inputs alone yields [X_batch]
    alone = DataLoader(TensorDataset(torch.tensor(X)), batch_size=4)
    assert [b[0].shape for b in iter_batches(mlp, alone)] == [(4, 4), (3, 4)]


def test_a_tuple_of_three_is_refused():
    mlp = _mlp()
    X = np.ones((2, 4))
    with pytest.raises(InvalidParameterError, match=r"batch 1 is a tuple of 3 items"):
        list(iter_batches(mlp, [(X, [0, 1]), (X, [0, 1], [1.0, 1.0])], labels=True))


@settings(max_examples=30, deadline=None)
@given(st.data())
def test_any_split_into_batches_reads_as_the_whole(data):
    mlp = _mlp()
    n = data.draw(st.integers(1, 12))
    X = data.draw(float_arrays((n, 4)))
    y = np.array(["a", "b"])[data.draw(labels_for(mlp, n))]
    cuts = sorted(data.draw(st.lists(st.integers(0, n), max_size=4)))
    bounds = [0, *cuts, n]
    parts = [(X[a:b], y[a:b]) for a, b in zip(bounds, bounds[1:])]
    form = data.draw(st.sampled_from(["tuples", "lists", "generator", "images"]))
    if form == "tuples":
        stream = parts
    elif form == "lists":
        stream = [[xb, yb] for xb, yb in parts if len(xb)]
    elif form == "generator":
        stream = ((xb, yb) for xb, yb in parts)
    else:  # batches of (b, 2, 2) inputs, the model's input_shape
        stream = [(xb.reshape(-1, 2, 2), yb) for xb, yb in parts]
    got = list(iter_batches(mlp, stream, labels=True))
    np.testing.assert_array_equal(np.concatenate([b[0] for b in got]), X)
    assert np.concatenate([b[1] for b in got]).tolist() == (y == "b").tolist()


def test_results_on_streams_equal_results_on_the_arrays():
    mlp = _mlp()
    rng = np.random.default_rng(3)
    X = rng.normal(size=(9, 4))
    y = np.array(["a", "b"])[rng.integers(0, 2, 9)]
    pairs = [(X[i : i + 4], y[i : i + 4]) for i in range(0, 9, 4)]
    bare = [X[i : i + 4] for i in range(0, 9, 4)]
    same = {"rtol": 1e-13, "atol": 1e-15}
    whole = mlpinspect.class_contributions(mlp, X, y)
    streamed = mlpinspect.class_contributions(mlp, pairs)
    np.testing.assert_allclose(
        streamed.mean_contribution, whole.mean_contribution, **same
    )
    np.testing.assert_array_equal(streamed.counts, whole.counts)
    np.testing.assert_allclose(
        mlpinspect.decompose(mlp, bare).contributions,
        mlpinspect.decompose(mlp, X).contributions,
        **same,
    )
    np.testing.assert_allclose(
        mlpinspect.top_units(mlp, "b", by="contribution", X=pairs).scores,
        mlpinspect.top_units(mlp, "b", by="contribution", X=X).scores,
        **same,
    )
    a, b = (
        mlpinspect.ablate(mlp, pairs, units=[1]),
        mlpinspect.ablate(mlp, X, y, units=[1]),
    )
    np.testing.assert_array_equal(a.ablated_correct, b.ablated_correct)


# -- input layouts ----------------------------------------------------------------

LAYOUT_CALLS = {
    "decompose": lambda m, X, y: mlpinspect.decompose(m, X, layer=0),
    "iter_decompose": lambda m, X, y: list(mlpinspect.iter_decompose(m, X)),
    "class_contributions": lambda m, X, y: mlpinspect.class_contributions(m, X, y),
    "ablate": lambda m, X, y: mlpinspect.ablate(m, X, y, units=[0]),
    "unit_importance": lambda m, X, y: mlpinspect.unit_importance(m, X, y),
    "top_units": lambda m, X, y: mlpinspect.top_units(m, 0, by="contribution", X=X),
    "attribute": lambda m, X, y: mlpinspect.attribute(m, X, 0),
}


@pytest.mark.parametrize("call", LAYOUT_CALLS.values(), ids=LAYOUT_CALLS.keys())
def test_channel_first_images_need_the_input_shape_said(call):
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 784)) * 0.05, np.zeros(4), "relu"),
            Dense(rng.normal(size=(3, 4)), np.zeros(3), "softmax"),
        ]
    )
    assert mlp.input_shape == (784,)
    X = rng.random((5, 1, 28, 28))  # what a PyTorch DataLoader gives
    y = np.array([0, 1, 2, 0, 1])
    with pytest.raises(
        InvalidParameterError,
        match=r"`X` must have shape \(n, 784\).*got shape \(5, 1, 28, 28\).*"
        r"input_shape=\(1, 28, 28\)",
    ):
        call(mlp, X, y)
    said = mlp.replace(input_shape=(1, 28, 28))
    flat = X.reshape(5, 784)
    result, expected = call(said, X, y), call(mlp, flat, y)
    assert type(result) is type(expected)
    if isinstance(result, mlpinspect.Attribution):
        assert result.values.shape == X.shape
        np.testing.assert_array_equal(result.values.reshape(5, 784), expected.values)
