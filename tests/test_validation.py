"""Tests of the shared argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlpinspect import MLP, Dense, InvalidParameterError
from mlpinspect._validation import (
    LabelSpace,
    check_array,
    check_input,
    check_int,
    check_rng,
    encode_labels,
    resolve_class,
    resolve_target,
    resolve_unit,
    resolve_units,
)


@settings(max_examples=50, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1),
        elements=st.floats(allow_nan=True, allow_infinity=True),
    )
)
def test_check_array_accepts_exactly_the_finite_arrays(X):
    if np.isfinite(X).all():  # huge finite values whose sum overflows included
        np.testing.assert_array_equal(check_array(X, "X"), X)
    else:
        with pytest.raises(InvalidParameterError, match="only finite numbers") as info:
            check_array(X, "X")
        assert f"{int(np.isnan(X).sum())} NaN" in str(info.value)


def test_check_array_names_the_argument_and_the_shapes():
    with pytest.raises(
        InvalidParameterError, match=r"`X` must have 4 features .* got 3"
    ):
        check_array(np.zeros((2, 3)), "X", n_features=4)
    with pytest.raises(InvalidParameterError, match=r"`A` must be a 2-D array"):
        check_array(np.zeros(3), "A")
    with pytest.raises(InvalidParameterError, match="must not be empty"):
        check_array(np.zeros((0, 3)), "X")
    with pytest.raises(InvalidParameterError, match="array of numbers"):
        check_array([["a", "b"]], "X")
    with pytest.raises(InvalidParameterError, match="real numbers"):
        check_array(np.ones((2, 2), dtype=complex), "X")


def test_check_array_keeps_float32_when_asked():
    X = np.ones((2, 2), dtype=np.float32)
    assert check_array(X, "X", dtype=None).dtype == np.float32
    assert check_array(X, "X").dtype == np.float64
    assert check_array(np.ones((2, 2), dtype=int), "X", dtype=None).dtype == np.float64


def test_check_int_and_labels_and_rng():
    assert check_int(np.int64(3), "n", minimum=1) == 3
    for bad in (True, 2.0, "3"):
        with pytest.raises(InvalidParameterError, match="`n` must be an integer"):
            check_int(bad, "n")
    space = LabelSpace(3)
    np.testing.assert_array_equal(encode_labels(space, np.eye(3)[[2, 0]]), [2, 0])
    np.testing.assert_array_equal(encode_labels(space, [1.0, 2.0]), [1, 2])
    with pytest.raises(InvalidParameterError, match="one-hot"):
        encode_labels(space, [[1, 1, 0]])
    rng = np.random.default_rng(0)
    assert check_rng(rng) is rng
    assert check_rng(5).integers(100) == np.random.default_rng(5).integers(100)
    with pytest.raises(InvalidParameterError, match="`seed`"):
        check_rng("five")


# -- labels, classes and targets ---------------------------------------------------


def _model(n_out: int = 3, activation: str = "softmax", **options) -> MLP:
    rng = np.random.default_rng(0)
    return MLP(
        [
            Dense(rng.normal(size=(4, 5)), np.zeros(4), "relu"),
            Dense(rng.normal(size=(n_out, 4)), np.zeros(n_out), activation),
        ],
        **options,
    )


@pytest.mark.parametrize(
    ("names", "y", "expected"),
    [
        (["cat", "dog", "fox"], ["fox", "cat", "fox"], [2, 0, 2]),
        (["cat", "dog", "fox"], np.array(["dog"], dtype=object), [1]),
        (["cat", "dog", "fox"], [2, 0], [2, 0]),  # ints are positions for str labels
        ([10, 20, 30], [30, 10], [2, 0]),  # int labels are matched by value
        ([10, 20, 30], np.array([30.0, 20.0]), [2, 1]),
        (["0", "1", "2"], ["2", "0"], [2, 0]),  # fetch_openml's string digits
        (None, [2, 1], [2, 1]),
    ],
)
def test_labels_of_any_kind_map_to_class_indices(names, y, expected):
    model = _model(class_names=names)
    np.testing.assert_array_equal(encode_labels(model, y), expected)


def test_bool_labels_of_a_binary_model():
    model = _model(1, "sigmoid", class_names=[False, True])
    assert model.task == "binary"
    np.testing.assert_array_equal(encode_labels(model, [True, False, True]), [1, 0, 1])
    np.testing.assert_array_equal(encode_labels(model, [1, 0]), [1, 0])


def test_unknown_labels_are_named():
    model = _model(class_names=["cat", "dog", "fox"])
    with pytest.raises(InvalidParameterError, match=r"does not know: \['cow'\]"):
        encode_labels(model, ["cat", "cow"])
    with pytest.raises(InvalidParameterError, match=r"class positions in \[0, 2\]"):
        encode_labels(model, [0, 5])
    with pytest.raises(InvalidParameterError, match=r"does not know: \[40\]"):
        encode_labels(_model(class_names=[10, 20, 30]), [10, 40])
    with pytest.raises(InvalidParameterError, match="non-integer"):
        encode_labels(model, [0.5])
    with pytest.raises(InvalidParameterError, match="dtype timedelta64"):
        encode_labels(model, np.array([1, 2], dtype="timedelta64[s]"))
    with pytest.raises(InvalidParameterError, match=r"one label per sample \(3\)"):
        encode_labels(model, [0, 1], n_samples=3)


def test_uint64_labels_do_not_wrap():
    with pytest.raises(InvalidParameterError, match="18446744073709551615"):
        encode_labels(LabelSpace(3), np.array([2**64 - 1], dtype=np.uint64))


def test_multilabel_needs_an_indicator_matrix():
    model = _model(3, "sigmoid", task="multilabel", class_names=["a", "b", "c"])
    out = encode_labels(model, [[1, 0, 1], [0, 0, 0]])
    assert out.dtype == np.int8 and out.tolist() == [[1, 0, 1], [0, 0, 0]]
    with pytest.raises(
        InvalidParameterError, match=r"indicator matrix of shape \(n, 3\)"
    ):
        encode_labels(model, [0, 1])
    with pytest.raises(InvalidParameterError, match="only 0 and 1"):
        encode_labels(model, [[2, 0, 0]])


def test_regression_has_no_labels():
    model = _model(1, "identity", task="regression")
    with pytest.raises(InvalidParameterError, match="regressor"):
        encode_labels(model, [1.0])


def test_classes_resolve_to_units_and_signs():
    model = _model(class_names=["cat", "dog", "fox"])
    assert resolve_class(model, "dog") == (1, 1.0)
    assert resolve_class(model, 2) == (2, 1.0)
    assert resolve_class(model, np.int64(0)) == (0, 1.0)
    binary = _model(1, "sigmoid", class_names=["no", "yes"])
    assert resolve_class(binary, "yes") == (0, 1.0)
    assert resolve_class(binary, "no") == (0, -1.0)
    assert resolve_class(binary, 0) == (0, 1.0)  # the one output
    with pytest.raises(InvalidParameterError, match="negative class of a binary"):
        resolve_unit(binary, 1, "no")
    assert resolve_unit(binary, 1, "yes") == 0


def test_integer_labels_that_are_not_positions():
    model = _model(class_names=[1, 2, 3])
    assert resolve_class(model, 3) == (2, 1.0)  # not a position: the label 3
    assert resolve_class(model, 0) == (0, 1.0)  # not a label: position 0
    assert resolve_class(model, "1") == (0, 1.0)  # a string is always a label
    with pytest.raises(InvalidParameterError, match="ambiguous"):
        resolve_class(model, 1)
    binary = _model(1, "sigmoid", class_names=[0, 1])
    assert resolve_class(binary, 1) == (0, 1.0)
    with pytest.raises(InvalidParameterError, match="ambiguous"):
        resolve_class(binary, 0)
    assert resolve_class(binary, "0") == (0, -1.0)


def test_bad_units_and_classes_are_named():
    model = _model(class_names=["cat", "dog", "fox"])
    with pytest.raises(InvalidParameterError, match="`unit` must be one of the class"):
        resolve_class(model, "cow", "unit")
    with pytest.raises(InvalidParameterError, match=r"`u` must be an output position"):
        resolve_class(model, 7, "u")
    with pytest.raises(InvalidParameterError, match="not booleans"):
        resolve_class(model, True)
    with pytest.raises(InvalidParameterError, match="only on the output layer"):
        resolve_unit(model, 0, "cat")
    with pytest.raises(InvalidParameterError, match=r"in \[0, 3\]"):
        resolve_unit(model, 0, 4)
    np.testing.assert_array_equal(resolve_units(model, 1, ["fox", 0]), [0, 2])
    np.testing.assert_array_equal(
        resolve_units(model, 1, ["fox", 0], keep_order=True), [2, 0]
    )
    with pytest.raises(InvalidParameterError, match="at least one unit"):
        resolve_units(model, 1, [], allow_empty=False)


def test_targets_become_weights_over_the_outputs():
    model = _model(class_names=["cat", "dog", "fox"])
    weights, stored = resolve_target(model, "dog", 2)
    np.testing.assert_array_equal(weights, [[0, 1, 0], [0, 1, 0]])
    np.testing.assert_array_equal(stored, [1, 1])
    weights, stored = resolve_target(model, ["fox", "cat"], 2)
    np.testing.assert_array_equal(stored, [2, 0])
    weights, stored = resolve_target(model, [0.5, 0.0, -1.0], 2)
    np.testing.assert_array_equal(weights, [[0.5, 0, -1], [0.5, 0, -1]])
    binary = _model(1, "sigmoid", class_names=["no", "yes"])
    weights, stored = resolve_target(binary, "no", 3)
    np.testing.assert_array_equal(weights, -np.ones((3, 1)))
    np.testing.assert_array_equal(resolve_target(binary, None, 1)[0], [[1.0]])
    with pytest.raises(InvalidParameterError, match="`target` is required"):
        resolve_target(model, None, 2)
    with pytest.raises(InvalidParameterError, match=r"shape \(3,\) or \(2, 3\)"):
        resolve_target(model, [0.5, 0.5], 2)


# -- inputs -------------------------------------------------------------------------


def test_inputs_in_every_layout():
    model = _model().replace(input_shape=(1, 5))
    rows = np.arange(10.0).reshape(2, 5)
    for X in (rows, rows.reshape(2, 1, 5), rows.tolist()):
        got = check_input(model, X)
        np.testing.assert_array_equal(got.values, rows)
    one = check_input(model, rows[0])
    assert one.values.shape == (1, 5) and one.shape == (5,)


def test_a_refused_layout_suggests_input_shape():
    model = _model(10, "softmax").replace()  # 5 inputs, input_shape (5,)
    with pytest.raises(InvalidParameterError, match=r"input_shape=\(1, 5\)"):
        check_input(model, np.zeros((3, 1, 5)))
    with pytest.raises(InvalidParameterError, match=r"got shape \(3, 4\)"):
        check_input(model, np.zeros((3, 4)))


def test_dataframe_columns_are_feature_names():
    pd = pytest.importorskip("pandas")
    model = _model()
    df = pd.DataFrame(np.ones((2, 5)), columns=list("abcde"))
    got = check_input(model, df)
    assert got.feature_names == tuple("abcde")
    named = model.replace(feature_names=list("abcde"))
    assert check_input(named, np.ones((2, 5))).feature_names == tuple("abcde")
    with pytest.raises(InvalidParameterError, match="differ from the model's feature"):
        check_input(named, df[list("edcba")])


def test_tensors_are_detached():
    torch = pytest.importorskip("torch")
    model = _model()
    X = torch.ones((2, 5), dtype=torch.float64, requires_grad=True)
    np.testing.assert_array_equal(check_input(model, X).values, np.ones((2, 5)))
    with pytest.raises(InvalidParameterError, match="'meta' device"):
        check_input(model, torch.empty((2, 5), device="meta"))


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 5))
def test_flattening_images_is_numpys_reshape(h, w, n):
    model = MLP([Dense(np.ones((2, h * w)), np.zeros(2))], input_shape=(h, w))
    X = np.arange(n * h * w, dtype=float).reshape(n, h, w)
    np.testing.assert_array_equal(check_input(model, X).values, X.reshape(n, -1))


def test_a_numpy_duration_is_never_taken_for_a_count():
    """numpy's timedelta64 registers as numbers.Integral; every integer check
    goes through is_integer, so a duration is refused by name, not passed to
    int() (the fuzzer found input_shape=[np.timedelta64(5, 's')] in a fresh venv)."""
    from mlpinspect import MlpinspectError, Network
    from mlpinspect._validation import is_integer

    duration = np.timedelta64(5, "s")
    assert is_integer(3) and is_integer(np.int64(3))
    assert not any(
        is_integer(v) for v in (True, np.bool_(True), duration, np.datetime64(1, "s"))
    )
    with pytest.raises(MlpinspectError, match=r"`input_shape\[0\]`"):
        Network([4, 2], input_shape=[duration])
