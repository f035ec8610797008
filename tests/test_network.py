"""Tests of the reference numpy Network: gradients, training, persistence, errors."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import mlpinspect
from mlpinspect import History, InvalidParameterError, ModelFileError, Network

try:
    import numba  # noqa: F401

    HAS_NUMBA = True
except ImportError:
    HAS_NUMBA = False

# Every test of the training arithmetic runs on both engines.
ENGINES = [
    "numpy",
    pytest.param(
        "numba",
        marks=pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed"),
    ),
]

HIDDEN = ["sigmoid", "tanh", "relu", "identity", "leaky_relu(0.1)"]
# (output activation, cost) pairs the network can train.
OUTPUT_COSTS = [
    ("sigmoid", "quadratic"),
    ("tanh", "quadratic"),
    ("identity", "quadratic"),
    ("relu", "quadratic"),
    ("softmax", "quadratic"),
    ("sigmoid", "cross_entropy"),
    ("softmax", "cross_entropy"),
]


# -- an independent, obviously-correct cost for finite differences ----------------


def _forward(weights, biases, activations, X):
    a = X
    zs = []
    for w, b, name in zip(weights, biases, activations):
        z = a @ w.T + b
        zs.append(z)
        a = mlpinspect.activations.get_activation(name)(z)
    return a, zs


def _mean_cost(weights, biases, activations, X, y, cost):
    a, _ = _forward(weights, biases, activations, X)
    t = np.eye(a.shape[1])[y]
    if cost == "quadratic":
        per_example = 0.5 * np.sum((a - t) ** 2, axis=1)
    elif activations[-1] == "softmax":
        per_example = -np.log(a[np.arange(len(y)), y])
    else:
        per_example = -np.sum(t * np.log(a) + (1 - t) * np.log(1 - a), axis=1)
    return float(np.mean(per_example))


def _one_step_gradient(net, X, y, cost, engine="numpy"):
    """The gradient the training loop applies: weights before minus after, eta=1."""
    trained = copy.deepcopy(net)
    trained.fit(
        X,
        y,
        epochs=1,
        batch_size=len(X),
        learning_rate=1.0,
        cost=cost,
        shuffle=False,
        monitor=False,
        progress=False,
        engine=engine,
    )
    dw = [w0 - w1 for w0, w1 in zip(net.weights, trained.weights)]
    db = [b0 - b1 for b0, b1 in zip(net.biases, trained.biases)]
    return dw, db


@pytest.mark.parametrize("engine", ENGINES)
@settings(max_examples=40, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 5), min_size=0, max_size=2),
    n_in=st.integers(1, 5),
    n_out=st.integers(2, 4),
    batch=st.integers(1, 6),
    hidden_act=st.sampled_from(HIDDEN),
    out_cost=st.sampled_from(OUTPUT_COSTS),
    seed=st.integers(0, 2**16),
)
def test_backprop_matches_central_finite_differences(
    engine, hidden, n_in, n_out, batch, hidden_act, out_cost, seed
):
    out_act, cost = out_cost
    sizes = [n_in, *hidden, n_out]
    acts = [hidden_act] * len(hidden) + [out_act]
    net = Network(sizes, acts, init="scaled", seed=seed)
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(batch, n_in))
    y = rng.integers(0, n_out, size=batch)
    _, zs = _forward(net.weights, net.biases, acts, X)
    # Finite differences are meaningless across the kink of relu-like units.
    assume(
        all(np.abs(z).min() > 1e-3 for z in zs[:-1])
        or hidden_act in ("sigmoid", "tanh", "identity")
    )
    assume(out_act != "relu" or np.abs(zs[-1]).min() > 1e-3)

    dw, db = _one_step_gradient(net, X, y, cost, engine)
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    h = 1e-6
    for params, grads in ((weights, dw), (biases, db)):
        for p, g in zip(params, grads):
            numeric = np.empty_like(p)
            for i in np.ndindex(p.shape):
                old = p[i]
                p[i] = old + h
                up = _mean_cost(weights, biases, acts, X, y, cost)
                p[i] = old - h
                down = _mean_cost(weights, biases, acts, X, y, cost)
                p[i] = old
                numeric[i] = (up - down) / (2 * h)
            np.testing.assert_allclose(g, numeric, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("engine", ENGINES)
def test_l2_is_weight_decay_as_in_nielsens_book(engine):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)
    net = Network([3, 4, 2], seed=1)
    eta, lam, n = 0.5, 5.0, len(X)
    dw, db = _one_step_gradient(net, X, y, "cross_entropy", engine)  # eta=1
    decayed = copy.deepcopy(net)
    decayed.fit(
        X,
        y,
        epochs=1,
        batch_size=n,
        learning_rate=eta,
        cost="cross_entropy",
        l2=lam,
        shuffle=False,
        monitor=False,
        progress=False,
        engine=engine,
    )
    for w0, w1, g in zip(net.weights, decayed.weights, dw):
        np.testing.assert_allclose(w1, (1 - eta * lam / n) * w0 - eta * g, rtol=1e-12)
    for b0, b1, g in zip(net.biases, decayed.biases, db):  # biases do not decay
        np.testing.assert_allclose(b1, b0 - eta * g, rtol=1e-12)


@pytest.mark.parametrize("engine", ENGINES)
def test_minibatches_follow_the_order_and_average_over_the_batch(engine):
    """Two epochs of batches of 3 (last batch 2) equal a hand-written loop."""
    rng = np.random.default_rng(5)
    X, y = rng.normal(size=(8, 3)), rng.integers(0, 2, 8)
    net = Network([3, 3, 2], ["tanh", "sigmoid"], seed=2)
    W = [w.copy() for w in net.weights]
    B = [b.copy() for b in net.biases]
    reference = copy.deepcopy(net)
    net.fit(
        X,
        y,
        epochs=2,
        batch_size=3,
        learning_rate=0.3,
        shuffle=False,
        monitor=False,
        progress=False,
        engine=engine,
    )
    for _ in range(2):
        for start in range(0, 8, 3):
            xb, yb = X[start : start + 3], y[start : start + 3]
            probe = copy.deepcopy(reference)
            for p, w, b in zip(probe._params, W, B):
                p[:, :-1], p[:, -1] = w, b
            dw, db = _one_step_gradient(probe, xb, yb, "quadratic")
            W = [w - 0.3 * g for w, g in zip(W, dw)]
            B = [b - 0.3 * g for b, g in zip(B, db)]
    for got, want in zip(net.weights + net.biases, W + B):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


# -- training results ---------------------------------------------------------------


def _blobs(n=300, seed=0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    centres = np.array([[2.0, 0.0], [-2.0, 1.0], [0.0, -2.0]])
    return centres[y] + 0.5 * rng.normal(size=(n, 2)), y


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_same_seed_same_data_gives_identical_weights(dtype, engine):
    X, y = _blobs()
    nets = [Network([2, 5, 3], seed=7, dtype=dtype) for _ in range(2)]
    for net in nets:
        net.fit(
            X,
            y,
            epochs=3,
            batch_size=10,
            learning_rate=1.0,
            progress=False,
            engine=engine,
        )
        assert net.history.config["engine"] == engine
    for a, b in zip(nets[0]._params, nets[1]._params):
        assert a.dtype == dtype
        np.testing.assert_array_equal(a, b)
    other = Network([2, 5, 3], seed=8, dtype=dtype)
    assert not np.array_equal(other.weights[0], nets[0].initial_weights[0])


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
@settings(max_examples=25, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 6), min_size=0, max_size=2),
    hidden_act=st.sampled_from(HIDDEN),
    out_cost=st.sampled_from(OUTPUT_COSTS),
    batch_size=st.integers(1, 9),
    l2=st.sampled_from([0.0, 3.0]),
    dtype=st.sampled_from([np.float64, np.float32]),
    seed=st.integers(0, 2**16),
)
def test_numba_engine_trains_the_same_network_as_numpy(
    hidden, hidden_act, out_cost, batch_size, l2, dtype, seed
):
    """Same arithmetic, compiled: the engines differ by rounding only."""
    out_act, cost = out_cost
    sizes = [4, *hidden, 3]
    acts = [hidden_act] * len(hidden) + [out_act]
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(23, 4)), rng.integers(0, 3, 23)
    nets = {}
    for engine in ("numpy", "numba"):
        nets[engine] = net = Network(sizes, acts, init="scaled", seed=seed, dtype=dtype)
        net.fit(
            X,
            y,
            epochs=2,
            batch_size=batch_size,  # 23 is prime: the last batch is short
            learning_rate=0.05,
            cost=cost,
            l2=l2,
            monitor=False,
            progress=False,
            engine=engine,
        )
    tol = 1e-10 if dtype == np.float64 else 2e-4
    for a, b in zip(nets["numpy"]._params, nets["numba"]._params):
        assert b.dtype == dtype
        np.testing.assert_allclose(b, a, rtol=tol, atol=tol)


@pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed")
def test_numba_engine_trains_the_same_network_compiled_afresh_or_from_the_cache(
    tmp_path,
):
    """The first training on an install compiles the loop, later ones load it
    from numba's cache: a seed must give the same network either way (a
    compiled loop whose sums LLVM may reorder differently did not)."""
    script = tmp_path / "train.py"
    script.write_text(
        "import sys\n"
        "import numpy as np\n"
        "from mlpinspect import Network\n"
        "rng = np.random.default_rng(0)\n"
        "X, y = rng.random((200, 40)), rng.integers(0, 3, 200)\n"
        "weights = []\n"
        "runs = (('sigmoid', np.float64), (['tanh', 'softmax'], np.float32))\n"
        "for acts, dtype in runs:\n"
        "    net = Network([40, 12, 3], acts, seed=0, dtype=dtype)\n"
        "    net.fit(X.astype(dtype), y, epochs=2, progress=False, monitor=False,\n"
        "            engine='numba')\n"
        "    weights += [w.astype(np.float64).ravel() for w in net.weights]\n"
        "np.save(sys.argv[1], np.concatenate(weights))\n"
    )
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path / "cache")}
    for name in ("afresh.npy", "cached.npy"):
        subprocess.run(
            [sys.executable, str(script), str(tmp_path / name)], env=env, check=True,
            timeout=300,
        )  # fmt: skip
    assert any((tmp_path / "cache").rglob("*.nbi"))  # the second run had a cache
    np.testing.assert_array_equal(
        np.load(tmp_path / "afresh.npy"), np.load(tmp_path / "cached.npy")
    )


def test_numba_engine_says_how_to_install_it(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "numba", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "mlpinspect.network._numba_engine", raising=False)
    monkeypatch.delattr(mlpinspect.network, "_numba_engine", raising=False)
    X, y = _blobs(20)
    net = Network([2, 3, 3], seed=0)
    before = net.weights[0].copy()
    with pytest.raises(ImportError, match="pip install numba"):
        net.fit(X, y, epochs=1, progress=False, engine="numba")
    np.testing.assert_array_equal(net.weights[0], before)  # nothing trained


@pytest.mark.parametrize(
    ("acts", "cost", "init"),
    [
        ("sigmoid", "quadratic", "normal"),
        (["sigmoid", "sigmoid"], "cross_entropy", "scaled"),
        (["relu", "softmax"], "cross_entropy", "he"),
        (["tanh", "softmax"], "quadratic", "glorot"),
    ],
)
def test_training_learns_a_separable_problem(acts, cost, init):
    X, y = _blobs()
    net = Network([2, 8, 3], acts, init=init, seed=0)
    before = net.score(X, y)
    history = net.fit(
        X,
        y,
        epochs=15,
        batch_size=10,
        learning_rate=0.5,
        cost=cost,
        validation_data=_blobs(100, seed=1),
        progress=False,
    )
    assert net.score(X, y) > 0.95 > before or net.score(X, y) > 0.95
    assert len(history) == 15 and net.history is history
    assert history.cost[-1] < history.cost[0]
    assert history.validation_accuracy[-1] > 0.9
    assert all(s >= 0 for s in history.seconds)


def test_initial_weights_are_kept_and_read_only():
    X, y = _blobs()
    net = Network([2, 4, 3], seed=3)
    first = [w.copy() for w in net.weights]
    net.fit(X, y, epochs=1, progress=False)
    for w0, w in zip(net.initial_weights, first):
        np.testing.assert_array_equal(w0, w)
        with pytest.raises(ValueError, match="read-only"):
            w0[0, 0] = 1.0
    assert not np.array_equal(net.weights[0], net.initial_weights[0])


def test_initialisations_have_the_documented_scale():
    n_in = 400
    for init, w_std, b_std in (
        ("normal", 1.0, 1.0),
        ("scaled", 1 / np.sqrt(n_in), 1.0),
        ("he", np.sqrt(2 / n_in), 0.0),
    ):
        net = Network([n_in, 300, 10], init=init, seed=0)
        assert net.weights[0].std() == pytest.approx(w_std, rel=0.02)
        assert net.biases[0].std() == pytest.approx(b_std, abs=0.15)
    net = Network([n_in, 300], init="glorot", seed=0)
    limit = np.sqrt(6 / (n_in + 300))
    assert np.abs(net.weights[0]).max() <= limit
    assert net.weights[0].std() == pytest.approx(limit / np.sqrt(3), rel=0.02)


def test_forward_predict_score_and_activations_agree():
    X, y = _blobs(50)
    net = Network([2, 4, 3], ["relu", "softmax"], seed=0)
    trace = net.trace(X)
    out = net.forward(X)
    np.testing.assert_allclose(trace.output, out, rtol=1e-12)
    np.testing.assert_allclose(out.sum(axis=1), 1.0)
    np.testing.assert_array_equal(net.predict(X), out.argmax(axis=1))
    assert net.score(X, y) == np.mean(net.predict(X) == y)
    np.testing.assert_allclose(trace.pre[0], X @ net.weights[0].T + net.biases[0])
    np.testing.assert_allclose(net.to_mlp().forward(X), out, rtol=1e-12)
    assert net.predict_proba(X).shape == (50, 3)
    with pytest.warns(DeprecationWarning, match="Network.trace"):
        old = net.activations(X)
    np.testing.assert_array_equal(old.output, trace.output)


def test_one_hot_labels_equal_integer_labels():
    X, y = _blobs(60)
    a, b = Network([2, 3, 3], seed=1), Network([2, 3, 3], seed=1)
    a.fit(X, y, epochs=2, progress=False)
    b.fit(X, np.eye(3)[y], epochs=2, progress=False)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])


def test_image_shaped_inputs_are_flattened():
    net = Network([784, 5, 10], seed=0)
    assert net.input_shape == (28, 28)
    X = np.random.default_rng(0).random((3, 28, 28))
    np.testing.assert_array_equal(net.forward(X), net.forward(X.reshape(3, 784)))


def test_callback_runs_every_epoch_and_can_stop_training():
    X, y = _blobs(40)
    seen = []

    def callback(network, epoch, history):
        seen.append((epoch, len(history)))
        return epoch == 3

    history = Network([2, 3, 3], seed=0).fit(
        X, y, epochs=10, callback=callback, progress=False
    )
    assert seen == [(1, 1), (2, 2), (3, 3)]
    assert len(history) == 3


def test_progress_prints_one_line_per_epoch(capsys):
    X, y = _blobs(40)
    Network([2, 3, 3], seed=0).fit(X, y, epochs=2, validation_data=(X, y))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2
    assert err[0].startswith("epoch 1/2") and "valid" in err[0]
    Network([2, 3, 3], seed=0).fit(X, y, epochs=2, progress=False)
    assert capsys.readouterr().err == ""


def test_zero_epochs_trains_nothing():
    X, y = _blobs(20)
    net = Network([2, 3, 3], seed=0)
    history = net.fit(X, y, epochs=0, progress=False)
    assert len(history) == 0
    np.testing.assert_array_equal(net.weights[0], net.initial_weights[0])


def test_history_round_trips_through_dict_and_prints():
    X, y = _blobs(40)
    history = Network([2, 3, 3], seed=0).fit(X, y, epochs=2, progress=False)
    again = History.from_dict(history.to_dict())
    assert again == history
    text = str(history)
    assert "epoch" in text and len(text.splitlines()) == 3


# -- persistence ----------------------------------------------------------------------


@settings(max_examples=15, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4),
    dtype=st.sampled_from([np.float32, np.float64]),
    act=st.sampled_from(["sigmoid", "relu", "tanh", "leaky_relu(0.2)"]),
    seed=st.integers(0, 1000),
)
def test_save_load_round_trip_is_bit_for_bit(tmp_path_factory, sizes, dtype, act, seed):
    n_classes = 2 if sizes[-1] == 1 else sizes[-1]  # one output: a binary network
    names = [f"class {i}" for i in range(n_classes)]
    net = Network(sizes, act, init="glorot", seed=seed, dtype=dtype, class_names=names)
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(12, sizes[0])), rng.integers(0, n_classes, 12)
    net.fit(X, y, epochs=2, batch_size=5, learning_rate=0.1, progress=False)
    path = net.save(tmp_path_factory.mktemp("save") / "model")
    assert path.suffix == ".npz"
    loaded = Network.load(path)
    assert loaded.sizes == net.sizes
    assert loaded.activation_names == net.activation_names
    assert loaded.dtype == net.dtype and loaded.init == net.init
    assert loaded.input_shape == net.input_shape
    assert loaded.class_names == net.class_names
    assert loaded.to_mlp().class_names == tuple(names)
    for a, b in zip(
        loaded.weights + loaded.biases + loaded.initial_weights + loaded.initial_biases,
        net.weights + net.biases + net.initial_weights + net.initial_biases,
    ):
        assert a.dtype == b.dtype
        assert a.tobytes() == b.tobytes()
    assert loaded.history == net.history
    # And the file holds no pickled objects at all.
    with np.load(path, allow_pickle=False) as data:
        assert all(data[k].dtype != object for k in data.files)


def test_save_leaves_no_temporary_file_and_overwrites_atomically(tmp_path, monkeypatch):
    net = Network([3, 2], seed=0)
    path = net.save(tmp_path / "m.npz")
    original = path.read_bytes()

    def broken_savez(fh, **arrays):
        fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        Network([3, 2], seed=1).save(path)
    assert path.read_bytes() == original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.npz"]


def test_load_refuses_files_that_are_not_networks(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        Network.load(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"this is not a zip file")
    with pytest.raises(ModelFileError, match=r"junk\.npz"):
        Network.load(junk)
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3))
    with pytest.raises(ModelFileError, match="meta"):
        Network.load(other)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, meta=np.array([{"format": "x"}], dtype=object))
    with pytest.raises(ModelFileError, match=r"pickled\.npz"):
        Network.load(pickled)


def test_load_refuses_a_file_with_a_missing_or_misshapen_array(tmp_path):
    path = Network([3, 2], seed=0).save(tmp_path / "m.npz")
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k] for k in data.files}
    bad = dict(arrays)
    del bad["weight_0"]
    np.savez(tmp_path / "missing.npz", **bad)
    with pytest.raises(ModelFileError, match="weight_0"):
        Network.load(tmp_path / "missing.npz")
    bad = dict(arrays, bias_0=np.zeros(5))
    np.savez(tmp_path / "shape.npz", **bad)
    with pytest.raises(ModelFileError, match=r"bias_0.*shape"):
        Network.load(tmp_path / "shape.npz")
    # A truncated zip is reported as a model-file error too.
    data = path.read_bytes()
    (tmp_path / "cut.npz").write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        Network.load(tmp_path / "cut.npz")
    assert zipfile.is_zipfile(path)


# -- bad input ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sizes": [784]}, "at least 2"),
        ({"sizes": [784, 0, 10]}, r"sizes\[1\]"),
        ({"sizes": [784, 2.5, 10]}, r"sizes\[1\]` must be an integer"),
        ({"sizes": "784"}, "sequence"),
        ({"activation": "swoosh"}, "unknown activation 'swoosh'"),
        ({"activation": ["relu"]}, "one name or 2 names"),
        ({"activation": ["softmax", "sigmoid"]}, "only allowed on the output"),
        ({"init": "zeros"}, "`init` must be one of"),
        ({"dtype": np.int32}, "float32 or float64"),
        ({"input_shape": (27, 28)}, "multiply to 784"),
        ({"seed": -1}, "`seed` must be >= 0"),
        ({"class_names": ["a", "b"]}, "`class_names` must have 10 entries"),
    ],
)
def test_constructor_rejects_bad_arguments(kwargs, match):
    args = {"sizes": [784, 30, 10], **kwargs}
    with pytest.raises(
        (InvalidParameterError, mlpinspect.UnsupportedModelError), match=match
    ):
        Network(args.pop("sizes"), **args)


@pytest.mark.parametrize(
    ("X", "y", "kwargs", "match"),
    [
        (np.zeros((5, 3)), [0] * 5, {}, r"shape \(n, 4\).* got shape \(5, 3\)"),
        (np.full((5, 4), np.nan), [0] * 5, {}, "1 NaN|5 NaN|20 NaN"),
        (np.full((5, 4), np.inf), [0] * 5, {}, "infinite"),
        (np.zeros((5, 4)), [0, 1, 2, 3, 1], {}, r"does not know: \[3\]"),
        (np.zeros((5, 4)), [0, 1, -1, 1, 1], {}, r"does not know: \[-1\]"),
        (np.zeros((5, 4)), [0, 1], {}, "one label per sample"),
        (np.zeros((5, 4)), np.zeros((5, 2)), {}, "3 columns"),
        (np.zeros((5, 4)), [0.5] * 5, {}, "non-integer"),
        (np.zeros((5, 4)), [0] * 5, {"epochs": -1}, "`epochs` must be >= 0"),
        (np.zeros((5, 4)), [0] * 5, {"batch_size": 0}, "`batch_size` must be >= 1"),
        (
            np.zeros((5, 4)),
            [0] * 5,
            {"learning_rate": 0.0},
            "`learning_rate` must be > 0",
        ),
        (np.zeros((5, 4)), [0] * 5, {"learning_rate": float("nan")}, "finite"),
        (np.zeros((5, 4)), [0] * 5, {"cost": "hinge"}, "`cost` must be one of"),
        (np.zeros((5, 4)), [0] * 5, {"l2": -1.0}, "`l2` must be >= 0"),
        (np.zeros((5, 4)), [0] * 5, {"engine": "cuda"}, "`engine` must be one of"),
        (np.zeros((5, 4)), [0] * 5, {"validation_data": np.zeros(3)}, "pair"),
        (
            np.zeros((5, 4)),
            [0] * 5,
            {"validation_data": (np.zeros((2, 5)), [0, 0])},
            r"validation_data\[0\]",
        ),
        ("abc", [0], {}, "array of numbers"),
    ],
)
def test_fit_rejects_bad_input_naming_the_argument(X, y, kwargs, match):
    net = Network([4, 3, 3], seed=0)
    with pytest.raises(InvalidParameterError, match=match):
        net.fit(X, y, progress=False, **kwargs)


def test_cross_entropy_needs_a_sigmoid_or_softmax_output():
    net = Network([2, 3], "identity", seed=0)
    with pytest.raises(InvalidParameterError, match="sigmoid or softmax output"):
        net.fit(np.zeros((2, 2)), [0, 1], cost="cross_entropy", progress=False)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_divergence_is_reported_and_the_weights_kept(engine):
    if engine == "numba":
        pytest.importorskip("numba")
    X, y = _blobs(50)
    net = Network([2, 4, 3], "identity", seed=0)
    net.fit(X, y, epochs=1, learning_rate=0.01, progress=False, engine=engine)
    before = [p.copy() for p in (*net.weights, *net.biases)]
    with pytest.raises(mlpinspect.NumericalError, match="diverged at epoch 1") as info:
        net.fit(X * 1e150, y, epochs=3, learning_rate=1e10, progress=False,
                engine=engine)  # fmt: skip
    assert isinstance(info.value, FloatingPointError)  # as before 0.2
    for a, b in zip((*net.weights, *net.biases), before):
        np.testing.assert_array_equal(a, b)
    assert len(net.history) == 0  # the failed epoch is not recorded


def test_labels_of_any_kind_train_and_score():
    X, y = _blobs(90)
    names = np.array(["red", "green", "blue"])
    a = Network([2, 4, 3], seed=0, class_names=names)
    b = Network([2, 4, 3], seed=0)
    a.fit(X, names[y], epochs=3, progress=False)
    b.fit(X, y, epochs=3, progress=False)
    np.testing.assert_array_equal(a.weights[0], b.weights[0])
    np.testing.assert_array_equal(a.predict(X), names[b.predict(X)])
    assert a.score(X, names[y]) == b.score(X, y)
    with pytest.raises(InvalidParameterError, match="does not know: \\['pink'\\]"):
        a.fit(X[:2], ["red", "pink"], progress=False)


def test_a_network_with_one_output_is_binary():
    X, y = _blobs(80)
    y = (y == 2).astype(int)
    net = Network([2, 5, 1], seed=0, class_names=["other", "blue"])
    labels = np.array(["other", "blue"])[y]
    history = net.fit(X, labels, epochs=20, learning_rate=1.0, progress=False)
    assert net.task == "binary" and net.to_mlp().task == "binary"
    out = net.forward(X)[:, 0]
    np.testing.assert_array_equal(net.predict(X), np.where(out > 0.5, "blue", "other"))
    assert history.train_accuracy[-1] == net.score(X, labels)
    assert net.score(X, labels) > 0.8


def test_network_inference_is_the_mlp_views():
    X, _ = _blobs(20)
    net = Network([2, 4, 3], ["tanh", "softmax"], seed=3)
    mlp = net.to_mlp()
    np.testing.assert_array_equal(net.forward(X), mlp.forward(X))
    np.testing.assert_array_equal(net.predict_proba(X), mlp.predict_proba(X))
    np.testing.assert_array_equal(net.trace(X).pre[0], mlp.trace(X).pre[0])


def test_errors_are_value_and_type_errors_and_library_errors():
    with pytest.raises(ValueError, match="sizes"):
        Network([0, 1])
    with pytest.raises(TypeError, match="sizes"):
        Network([0, 1])
    with pytest.raises(mlpinspect.MlpinspectError):
        Network([0, 1])


# -- the study on the real MNIST ---------------------------------------------


def _mnist_dir() -> Path | None:
    folder = os.environ.get("MLPINSPECT_MNIST_DIR")
    if not folder or not Path(folder).is_dir():
        return None
    return Path(folder)


def _load_real_mnist():
    folder = _mnist_dir()
    if folder is None:
        pytest.skip("set MLPINSPECT_MNIST_DIR to a folder with the MNIST IDX files")
    from mlpinspect.datasets import load_mnist

    return load_mnist(folder, download=False)


def _mean_test_accuracy(data, sizes, seeds, *, init="normal", **fit):
    (X_train, y_train), _, (X_test, y_test) = data.nielsen_split()
    accuracies = []
    for seed in seeds:
        net = Network(sizes, init=init, seed=seed)
        net.fit(X_train, y_train, progress=False, monitor=False, **fit)
        accuracies.append(net.score(X_test, y_test))
    return float(np.mean(accuracies)), accuracies


@pytest.mark.slow
def test_study_configuration_reaches_the_published_accuracy():
    """784-30-10, batch 10, eta 3.0, quadratic, N(0,1) init, 30 epochs, 5 seeds.

    An independent implementation measured 94.87% mean (94.30-95.41%) over 10
    seeds; the essay reports about 95%.
    """
    data = _load_real_mnist()
    mean, runs = _mean_test_accuracy(
        data,
        [784, 30, 10],
        range(5),
        epochs=30,
        batch_size=10,
        learning_rate=3.0,
        cost="quadratic",
    )
    print(f"784-30-10 test accuracy over 5 seeds: {runs} mean {mean:.4f}")
    assert mean >= 0.945, runs


@pytest.mark.slow
def test_ten_hidden_units_reach_ninety_percent():
    data = _load_real_mnist()
    mean, runs = _mean_test_accuracy(
        data, [784, 10, 10], range(5), epochs=30, batch_size=10, learning_rate=3.0
    )
    print(f"784-10-10 test accuracy over 5 seeds: {runs} mean {mean:.4f}")
    assert mean >= 0.90, runs


@pytest.mark.slow
def test_nielsens_second_setup_reaches_ninety_five_and_a_half_percent():
    """Scaled init, cross-entropy, L2 5.0, eta 0.5: mean final test accuracy >= 95.5%.

    With eta 0.5 the final epoch's test accuracy wanders by about +-0.5 points
    from epoch to epoch, so a mean over 3 seeds has a standard error of about
    0.26 points: seeds 0-2 give 95.44% (94.88% for seed 1, whose last epoch
    dips), while seeds 0-9 give 95.76%. The claim is tested on 10 seeds.
    """
    data = _load_real_mnist()
    mean, runs = _mean_test_accuracy(
        data,
        [784, 30, 10],
        range(10),
        init="scaled",
        epochs=30,
        batch_size=10,
        learning_rate=0.5,
        cost="cross_entropy",
        l2=5.0,
    )
    print(f"scaled, cross-entropy, L2 over 10 seeds: {runs}, mean {mean:.4f}")
    assert mean >= 0.955, runs


def test_default_engine_is_auto_and_recorded_and_reproducible():
    import importlib.util

    from mlpinspect.network import resolve_engine

    rng = np.random.default_rng(0)
    X, y = rng.random((60, 6)), rng.integers(0, 3, 60)
    nets = []
    for _ in range(2):
        net = Network([6, 5, 3], seed=4)
        net.fit(X, y, epochs=2, progress=False)
        nets.append(net)
    expected = "numba" if importlib.util.find_spec("numba") else "numpy"
    assert nets[0].history.config["engine"] == expected
    assert resolve_engine("auto", ("sigmoid",)) == expected
    for a, b in zip(nets[0].weights, nets[1].weights):
        np.testing.assert_array_equal(a, b)  # a seed reproduces the network exactly
    explicit = Network([6, 5, 3], seed=4)
    explicit.fit(X, y, epochs=2, progress=False, engine=expected)
    for a, b in zip(nets[0].weights, explicit.weights):
        np.testing.assert_array_equal(a, b)


def test_auto_engine_falls_back_to_numpy_without_numba(monkeypatch):
    import sys

    import mlpinspect.network._model as model

    monkeypatch.setitem(sys.modules, "numba", None)  # as if not installed
    monkeypatch.delitem(sys.modules, "mlpinspect.network._numba_engine", raising=False)
    monkeypatch.delattr(model.__package__ and sys.modules["mlpinspect.network"],
                        "_numba_engine", raising=False)  # fmt: skip
    rng = np.random.default_rng(0)
    net = Network([4, 3, 2], seed=0)
    net.fit(rng.random((20, 4)), rng.integers(0, 2, 20), epochs=1, progress=False)
    assert net.history.config["engine"] == "numpy"
    assert model.resolve_engine("auto", ("sigmoid",)) == "numpy"
