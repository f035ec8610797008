"""Plain (W, b) pairs and .npz files."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.strategies import mlps

from mlpinspect import (
    InvalidParameterError,
    ModelFileError,
    Network,
    UnsupportedModelError,
    adapt,
)
from mlpinspect.adapters import NpzAdapter, WeightsAdapter
from mlpinspect.testing import check_adapter


def pairs_of(mlp):
    return [(layer.weight.copy(), layer.bias.copy()) for layer in mlp.layers]


@settings(max_examples=30, deadline=None)
@given(mlp=mlps(max_layers=4))
def test_pairs_round_trip(mlp):
    pairs = pairs_of(mlp)

    def perturb(p):
        for w, _ in p:
            w += 1.0

    got = check_adapter(
        WeightsAdapter(),
        pairs,
        mlp.forward,
        options={"activations": list(mlp.activation_names)},
        arrays=[a for pair in pairs for a in pair],
        mutate=perturb,
    )
    assert got.activation_names == mlp.activation_names
    for a, b in zip(got.layers, mlp.layers):
        np.testing.assert_array_equal(a.weight, b.weight)


def test_float32_is_kept_and_copied_once():
    w = np.ones((3, 2), np.float32)
    mlp = adapt([(w, np.zeros(3, np.float32))], activations="relu")
    assert mlp.dtype == np.float32
    assert mlp.layers[0].bias.dtype == np.float32
    assert not np.shares_memory(mlp.layers[0].weight, w)


def test_one_name_for_every_layer_and_column_biases():
    pairs = [(np.ones((3, 2)), np.zeros((3, 1))), (np.ones((1, 3)), np.zeros(1))]
    assert adapt(pairs, activations="tanh").activation_names == ("tanh", "tanh")


@pytest.mark.parametrize(
    ("pairs", "activations", "match"),
    [
        ([(np.ones((3, 2)), np.zeros(3))], None, "`activations` is required"),
        ([(np.ones((3, 2)), np.zeros(3))], ["relu", "relu"], "one name per layer"),
        ([(np.ones((3, 2)), np.zeros(3))], [1], "activation name"),
        ([(np.ones((3, 2)), np.zeros(2))], "relu", r"pass W\.T"),
        (
            [(np.ones((3, 2)), np.zeros(3)), (np.ones((2, 4)), np.zeros(2))],
            "relu",
            r"`weights\[1\]`: the weight must have 3 columns",
        ),
        ([(np.ones(3), np.zeros(3))], "relu", "must be 2-D"),
    ],
)
def test_bad_pairs_are_explained(pairs, activations, match):
    options = {} if activations is None else {"activations": activations}
    with pytest.raises(InvalidParameterError, match=match):
        adapt(pairs, **options)


def test_non_finite_pairs_adapt_but_fail_the_check_by_name():
    pairs = [(np.ones((2, 2)), np.zeros(2)), (np.ones((1, 2)), [np.inf])]
    mlp = adapt(pairs, activations="relu")
    assert np.isinf(mlp.layers[1].bias[0])
    with pytest.raises(InvalidParameterError, match=r"weights\[1\], layer 1.*bias"):
        mlp.check_finite()


def test_unknown_activation_is_unsupported():
    with pytest.raises(UnsupportedModelError, match="'swoosh'"):
        adapt([(np.ones((1, 1)), np.zeros(1))], activations="swoosh")


# -- .npz files ----------------------------------------------------------------------


def save(path, mlp, **extra):
    arrays = {}
    for i, layer in enumerate(mlp.layers):
        arrays[f"W{i}"], arrays[f"b{i}"] = layer.weight, layer.bias
    arrays.update(extra)
    np.savez(path, **arrays)
    return path


@settings(max_examples=20, deadline=None)
@given(mlp=mlps(image_input=True), as_str=st.booleans())
def test_npz_round_trip(tmp_path_factory, mlp, as_str):
    path = tmp_path_factory.mktemp("npz") / "model.npz"
    extra = {}
    names = np.array([f"c{i}" for i in range(mlp.n_classes)])
    if mlp.task is not None:  # one output without a sigmoid: no task, no names
        extra = {"task": np.array(mlp.task), "class_names": names}
    features = np.array([f"f{i}" for i in range(mlp.n_inputs)])
    save(
        path,
        mlp,
        activations=np.array(mlp.activation_names),
        input_shape=np.array(mlp.input_shape),
        feature_names=features,
        **extra,
    )
    got = check_adapter(NpzAdapter(), str(path) if as_str else path, mlp.forward)
    assert got.input_shape == mlp.input_shape
    assert got.task == mlp.task
    assert got.class_names == (tuple(names) if mlp.task is not None else None)
    assert got.feature_names == tuple(features)
    assert got.name == "model.npz"
    assert adapt(path).sizes == mlp.sizes


@pytest.mark.parametrize(
    "labels", [["no", "yes"], [0, 1], [3, 8], [False, True]], ids=repr
)
def test_npz_binary_logit_with_task_and_labels(tmp_path, labels):
    logit = adapt([(np.array([[1.0, -2.0]]), np.array([0.5]))], activations="identity")
    path = save(
        tmp_path / "logit.npz",
        logit,
        activations=np.array(["identity"]),
        task=np.array("binary"),
        class_names=np.array(labels),
    )
    mlp = adapt(path)
    assert mlp.task == "binary"
    assert mlp.class_names == tuple(labels)
    assert [type(c) for c in mlp.class_names] == [type(labels[0])] * 2
    X = np.array([[1.0, 0.0], [0.0, 1.0]])  # logits 1.5 and -1.5
    assert mlp.predict(X).tolist() == [labels[1], labels[0]]


def test_npz_without_task_infers_it(tmp_path):
    pairs = [(np.ones((3, 2)), np.zeros(3))]
    for activation, task in (("softmax", "multiclass"), ("identity", "multiclass")):
        path = save(
            tmp_path / f"{activation}.npz",
            adapt(pairs, activations=activation),
            activations=np.array([activation]),
        )
        assert adapt(path).task == task
    one = [(np.ones((1, 2)), np.zeros(1))]
    path = save(tmp_path / "one.npz", adapt(one, activations="identity"),
                activations=np.array(["identity"]))  # fmt: skip
    assert adapt(path).task is None
    assert adapt(path, task="regression").task == "regression"


def test_npz_activations_from_the_caller(tmp_path):
    mlp = adapt([(np.eye(2), np.zeros(2))], activations="relu")
    path = save(tmp_path / "m.npz", mlp)
    with pytest.raises(ModelFileError, match="no 'activations' array"):
        adapt(path)
    assert adapt(path, activations=["sigmoid"]).activation_names == ("sigmoid",)
    path = save(tmp_path / "one.npz", mlp, activations=np.array(["tanh"]))
    assert adapt(path).activation_names == ("tanh",)


def test_network_save_files_are_read(tmp_path):
    net = Network([5, 4, 3], activation=["tanh", "softmax"], seed=0)
    path = net.save(tmp_path / "net.npz")
    mlp = adapt(path)
    X = np.random.default_rng(0).normal(size=(4, 5))
    np.testing.assert_allclose(mlp.forward(X), net.forward(X))
    assert adapt(path, activations="sigmoid").activation_names == ("sigmoid",) * 2


@pytest.mark.parametrize(
    ("sizes", "labels", "task"),
    [([5, 4, 3], ["cat", "dog", "emu"], "multiclass"), ([5, 4, 1], [0, 1], "binary")],
)
def test_network_files_carry_task_labels_and_feature_names(
    tmp_path, sizes, labels, task
):
    features = ["a", "b", "c", "d", "e"]
    net = Network(sizes, seed=0, class_names=labels, feature_names=features)
    mlp = adapt(net.save(tmp_path / "net.npz"))
    assert mlp.task == task
    assert mlp.class_names == tuple(labels)
    assert mlp.feature_names == tuple(features)
    X = np.random.default_rng(0).normal(size=(20, 5))
    np.testing.assert_array_equal(mlp.predict(X), net.predict(X))


def test_network_file_task_in_the_metadata_is_used(tmp_path):
    import json

    net = Network([4, 3, 2], seed=0, class_names=["red", "round"])
    path = net.save(tmp_path / "net.npz")
    with np.load(path) as data:
        arrays = dict(data)
    meta = json.loads(str(arrays["meta"]))
    arrays["meta"] = np.array(json.dumps({**meta, "task": "multilabel"}))
    np.savez(path, **arrays)
    mlp = adapt(path)
    assert mlp.task == "multilabel"
    assert mlp.class_names == ("red", "round")


def _npz_bytes(p, **arrays):
    np.savez(p, **arrays)
    return p.read_bytes()


def _npy_bytes(p, array):
    np.save(p.with_suffix(".npy"), array)
    return p.with_suffix(".npy").read_bytes()


@pytest.mark.parametrize(
    ("write", "match"),
    [
        (None, "no such file"),
        (lambda p: p.write_bytes(b"not a zip"), "not a readable .npz"),
        (
            lambda p: np.savez(p, W0=np.ones((2, 2)), activations=np.array(["relu"])),
            "W0, b0, W1, b1",
        ),
        (
            lambda p: np.savez(
                p, W0=np.ones((2, 2)), b0=np.ones(2), activations=np.array([1])
            ),
            "must hold strings",
        ),
        (
            lambda p: np.savez(
                p, W0=np.ones((2, 2)), b0=np.ones(3), activations=np.array(["relu"])
            ),
            "bias",
        ),
        (
            lambda p: np.savez(
                p,
                W0=np.ones((2, 2)),
                b0=np.ones(2),
                activations=np.array(["relu"]),
                input_shape=np.array([3]),
            ),
            "input_shape",
        ),
        (
            lambda p: np.savez(
                p,
                W0=np.ones((2, 2)),
                b0=np.ones(2),
                activations=np.array([{"a": 1}], dtype=object),
            ),
            "not a readable .npz file",
        ),
        (lambda p: p.write_bytes(b"junk, not a zip"), "not a readable .npz file"),
        (
            lambda p: np.savez(
                p,
                W0=np.ones((2, 2)),
                b0=np.ones(2),
                activations=np.array(["relu"]),
                task=np.array(["binary", "multiclass"]),
            ),
            "'task' must hold one string",
        ),
        (
            lambda p: np.savez(
                p,
                W0=np.ones((2, 2)),
                b0=np.ones(2),
                activations=np.array(["relu"]),
                task=np.array("classification"),
            ),
            "`task` must be one of",
        ),
        (
            lambda p: np.savez(
                p,
                W0=np.ones((2, 2)),
                b0=np.ones(2),
                activations=np.array(["relu"]),
                class_names=np.array([0.5, 1.5]),
            ),
            "'class_names' must hold strings, integers or booleans",
        ),
        (
            lambda p: np.savez(
                p,
                W0=np.ones((2, 2)),
                b0=np.ones(2),
                activations=np.array(["relu"]),
                feature_names=np.array(["x"]),
            ),
            "`feature_names` must have 2 entries",
        ),
        (
            lambda p: p.write_bytes(
                _npz_bytes(p, W0=np.ones((2, 2)), b0=np.ones(2))[:40]
            ),
            "BadZipFile",
        ),
        (
            lambda p: p.write_bytes(_npy_bytes(p, np.zeros(3))),
            "single array, not an .npz archive",
        ),
    ],
)
def test_bad_files_raise_model_file_error(tmp_path, write, match):
    path = tmp_path / "bad.npz"
    if write is not None:
        write(path)
    with pytest.raises(ModelFileError, match=match):
        adapt(path)


def test_npz_adapter_claims_only_npz_paths():
    adapter = NpzAdapter()
    assert adapter.can_adapt("x.NPZ")
    assert not adapter.can_adapt("x.npy")
    assert not adapter.can_adapt(np.zeros(2))
