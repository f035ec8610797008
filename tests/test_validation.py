"""Tests of the shared argument checks."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlpinspect import InvalidParameterError
from mlpinspect._validation import check_array, check_int, check_labels, check_rng


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
    np.testing.assert_array_equal(check_labels(np.eye(3)[[2, 0]], n_classes=3), [2, 0])
    np.testing.assert_array_equal(check_labels([1.0, 2.0], n_classes=3), [1, 2])
    with pytest.raises(InvalidParameterError, match="one-hot"):
        check_labels([[1, 1, 0]], n_classes=3)
    rng = np.random.default_rng(0)
    assert check_rng(rng) is rng
    assert check_rng(5).integers(100) == np.random.default_rng(5).integers(100)
    with pytest.raises(InvalidParameterError, match="`seed`"):
        check_rng("five")
