import numpy as np
import pytest

from mlpinspect import MLP, Dense, InvalidParameterError
from mlpinspect.analysis._batches import (
    as_array_or_stream,
    format_table,
    iter_batches,
    resolve_units,
    run_from,
    sources_of,
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
    batches = list(iter_batches(mlp, X, y, batch_size=4, labels=True))
    assert [b[0].shape for b in batches] == [(4, 4), (4, 4), (2, 4)]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), X)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    # labels are dropped when not asked for
    assert all(b[1] is None for b in iter_batches(mlp, X, y, batch_size=4))


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
    # a bare batch of two rows given as a tuple is not an (X, y) pair
    rows = list(iter_batches(mlp, [(np.ones(4), np.zeros(4))]))
    assert rows[0][0].shape == (2, 4)
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
    with pytest.raises(InvalidParameterError, match=r"`X \(batch 1\)`.*4 features"):
        list(iter_batches(mlp, [np.ones((2, 4)), np.ones((2, 5))]))
    with pytest.raises(InvalidParameterError, match=r"`X` batch 0 must be an"):
        list(iter_batches(mlp, [np.ones((2, 4))], labels=True))
    with pytest.raises(InvalidParameterError, match=r"`y` must be None"):
        list(iter_batches(mlp, iter([np.ones((2, 4))]), [0, 1]))
    with pytest.raises(InvalidParameterError, match=r"`X`.*4 features"):
        list(iter_batches(mlp, np.ones((2, 5))))
    with pytest.raises(InvalidParameterError, match=r"`y`.*one label per row"):
        list(iter_batches(mlp, np.ones((2, 4)), [0], labels=True))
    with pytest.raises(InvalidParameterError, match=r"`y`.*\[0, 1\]"):
        list(iter_batches(mlp, np.ones((2, 4)), [0, 2], labels=True))
    with pytest.raises(InvalidParameterError, match=r"`batch_size`"):
        list(iter_batches(mlp, np.ones((2, 4)), batch_size=0))
    with pytest.raises(InvalidParameterError, match=r"`X`.*empty"):
        list(iter_batches(mlp, []))


def test_partial_forward_passes_compose():
    mlp = _mlp()
    X = np.random.default_rng(1).normal(size=(6, 4))
    trace = mlp.trace(X)
    for layer in range(3):
        a = sources_of(mlp, X, layer)
        np.testing.assert_allclose(a, X if layer == 0 else trace.post[layer - 1])
        np.testing.assert_allclose(run_from(mlp, a, layer), trace.output)


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
