"""The MNIST result type and Nielsen's split."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mlpinspect.datasets import MNIST, NielsenSplit, Subset
from mlpinspect.errors import InvalidParameterError


def make(n_train=60, n_test=10, **kwargs):
    rng = np.random.default_rng(0)
    return MNIST(
        rng.random((n_train, 784), dtype=np.float32),
        rng.integers(0, 10, n_train),
        rng.random((n_test, 784), dtype=np.float32),
        rng.integers(0, 10, n_test),
        **kwargs,
    )


def test_nielsen_split_at_validation_start():
    data = make(validation_start=50)
    split = data.nielsen_split()
    assert isinstance(split, NielsenSplit)
    assert isinstance(split.train, Subset)
    (X_tr, _), (X_va, y_va), (X_te, y_te) = split
    assert np.array_equal(X_tr, data.X_train[:50])
    assert np.array_equal(y_va, data.y_train[50:])
    assert X_te is data.X_test
    assert y_te is data.y_test
    assert np.shares_memory(X_va, data.X_train)  # views, no copies


def test_nielsen_split_defaults_to_five_sixths():
    train, validation, _ = make(n_train=600).nielsen_split()
    assert (len(train.X), len(validation.X)) == (500, 100)
    train, validation, _ = make(n_train=7).nielsen_split()
    assert (len(train.y), len(validation.y)) == (6, 1)


def test_frozen_and_readable_repr():
    data = make(source="somewhere")
    with pytest.raises(dataclasses.FrozenInstanceError):
        data.X_train = None
    text = repr(data)
    assert "n_train=60" in text
    assert "somewhere" in text
    assert "float32" in text
    assert (data.n_train, data.n_test) == (60, 10)


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"X_train": np.zeros((60, 783))}, "`X_train` must be an array of shape"),
        ({"X_test": np.zeros(784)}, "`X_test`"),
        ({"y_train": np.zeros(59)}, "`y_train` must be an array of shape \\(60,\\)"),
        ({"y_test": [0] * 10}, "`y_test`"),
        ({"image_shape": (27, 28)}, "image_shape"),
        ({"validation_start": 60}, "`validation_start`"),
        ({"validation_start": 0}, "`validation_start`"),
    ],
)
def test_shapes_are_checked(change, match):
    data = make()
    fields = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
    with pytest.raises(InvalidParameterError, match=match):
        MNIST(**dict(fields, **change))
