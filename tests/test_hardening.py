"""Regression tests of the hardening issue (#13): each finding of a hostile
user's session, as a test.

Data sets, downloads and pickles are in ``tests/datasets/test_limits.py``;
writes and interrupts in ``tests/test_atomic_writes.py`` and
``tests/test_study_interrupts.py``; the fuzzer over every public callable in
``tests/test_fuzz.py``.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import signal
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import mlpinspect
import mlpinspect.study
import mlpinspect.testing
from mlpinspect import (
    MLP,
    Dense,
    InvalidParameterError,
    MlpinspectError,
    ModelFileError,
    Network,
    NumericalError,
)


@contextlib.contextmanager
def no_hang(seconds: float = 60.0):
    """Fail (instead of hanging the suite) when the block has not finished
    after ``seconds``; a guard against hangs, not a speed measurement."""

    def expire(signum, frame):
        raise AssertionError(f"still running after {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def net():
    return Network([4, 3, 2], seed=0, input_shape=(2, 2))


@pytest.fixture
def X():
    return np.random.default_rng(0).random((6, 4))


Y = np.array([0, 1, 0, 1, 1, 0])

# -- silent wrong results: overflow inside the forward pass ----------------------------


def _huge_model(dtype, scale):
    rng = np.random.default_rng(1)
    layers = [
        Dense((rng.normal(size=(3, 4)) * scale).astype(dtype), np.zeros(3, dtype),
              "relu"),
        Dense(rng.normal(size=(2, 3)).astype(dtype), np.zeros(2, dtype), "softmax"),
    ]  # fmt: skip
    return MLP(layers)


ANALYSES = {
    "forward": lambda m, X: m.forward(X),
    "decompose": lambda m, X: mlpinspect.decompose(m, X),
    "ablate": lambda m, X: mlpinspect.ablate(m, X, Y, units=[0]),
    "unit_importance": lambda m, X: mlpinspect.unit_importance(m, X, Y),
    "class_contributions": lambda m, X: mlpinspect.class_contributions(m, X, Y),
    "attribute": lambda m, X: mlpinspect.attribute(m, X, 0, n_steps=4),
}


@pytest.mark.parametrize(("dtype", "scale"), [(np.float64, 1e160), (np.float32, 1e20)])
@pytest.mark.parametrize("where", ["weights", "inputs"])
@pytest.mark.parametrize("analysis", sorted(ANALYSES))
def test_finite_but_huge_values_raise_naming_the_layer(dtype, scale, where, analysis):
    """1e160 in float64 or 1e20 in float32 overflows in a product: an error
    naming the layer, never inf/NaN with a RuntimeWarning (warnings are errors
    in this suite, so a warning fails the test too)."""
    X = np.random.default_rng(2).random((6, 4)).astype(dtype) + 1
    if where == "weights":  # weights and inputs of 1e160: products of 1e320
        model = _huge_model(dtype, scale)
        X = X * dtype(scale)
    else:  # inputs near the largest finite value: their sum overflows
        model = _huge_model(dtype, 1.0)
        X = X * dtype(np.finfo(dtype).max / 2.5)
    assert np.isfinite(X).all()
    with pytest.raises(NumericalError, match=r"layer \d"):
        ANALYSES[analysis](model, X)


# -- silent wrong results: streams of plain-list batches -------------------------------


def test_plain_list_batches_of_two_rows_are_inputs_not_pairs():
    """For a model with one input, a batch of two rows ``[[x1], [x2]]`` is two
    inputs; it used to be read as a pair ``(X, y)``, dropping half the rows."""
    mlp = MLP([Dense([[2.0], [-1.0]], [0.0, 0.5], "relu"),
               Dense([[1.0, 1.0], [1.0, -1.0]], [0.0, 0.0], "softmax")])  # fmt: skip
    rows = [[0.1], [0.7], [0.3], [0.9]]
    stream = [rows[:2], rows[2:]]  # plain lists, two rows each
    whole = mlpinspect.decompose(mlp, np.array(rows))
    streamed = mlpinspect.decompose(mlp, iter(stream))
    assert streamed.contributions.shape == whole.contributions.shape == (4, 2, 2)
    np.testing.assert_array_equal(streamed.contributions, whole.contributions)
    y = [0, 1, 1, 0]
    pairs = [(rows[:2], y[:2]), (rows[2:], y[2:])]
    counted = mlpinspect.class_contributions(mlp, iter(pairs))
    assert counted.counts.sum() == 4


def test_tuple_batches_are_pairs():
    mlp = MLP([Dense([[2.0], [-1.0]], [0.0, 0.5], "softmax")])
    X = np.array([[0.1], [0.7], [0.3], [0.9]])
    y = np.array([0, 1, 1, 0])
    whole = mlpinspect.class_contributions(mlp, X, y)
    streamed = mlpinspect.class_contributions(
        mlp, iter([(X[:2], y[:2]), (X[2:], y[2:])])
    )
    np.testing.assert_array_equal(streamed.counts, whole.counts)


# -- silent wrong results: labels, names and shapes ------------------------------------


def test_class_names_as_one_string_are_refused():
    with pytest.raises(InvalidParameterError, match="class_names"):
        Network([4, 3], class_names="abc")
    with pytest.raises(InvalidParameterError, match="class_names"):
        MLP([Dense(np.ones((3, 4)), np.zeros(3), "softmax")], class_names="abc")


@pytest.mark.parametrize("names", [5, 1.5, None.__class__, object()])
def test_class_names_not_a_sequence_are_refused(names):
    with pytest.raises(InvalidParameterError, match="class_names"):
        Network([4, 3], class_names=names)


def test_timedelta_and_datetime_labels_are_refused(net, X):
    for labels in (Y.astype("m8[s]"), Y.astype("M8[D]")):
        with pytest.raises(InvalidParameterError, match="class labels"):
            net.score(X, labels)
        with pytest.raises(InvalidParameterError, match="class labels"):
            net.fit(X, labels, epochs=1, progress=False)


def test_uint64_labels_do_not_wrap_around(net, X):
    labels = Y.astype(np.uint64)
    labels[2] = np.uint64(2**64 - 1)  # would wrap to -1, the last class
    with pytest.raises(InvalidParameterError, match="18446744073709551615"):
        net.score(X, labels)


@pytest.mark.parametrize("shape", [(2**62 + 1, 4), (-2, -2), (2, 2.0), "ab", (0, 4)])
def test_bad_input_shapes_are_refused(shape):
    with pytest.raises(InvalidParameterError, match="input_shape"):
        MLP([Dense(np.ones((3, 4)), np.zeros(3))], input_shape=shape)
    with pytest.raises(InvalidParameterError, match="input_shape"):
        Network([4, 3], input_shape=shape)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda: Network([4, 3], activation=None), "activation"),
        (lambda: Network([4, 3], activation=[None]), "activation"),
        (lambda: Network([4, 3], activation=3), "activation"),
        (lambda: MLP(None), "layers"),
        (lambda: MLP([Dense(np.ones((3, 4)), np.zeros(3))], input_shape="ab"),
         "input_shape"),
        (lambda: Network([4, 3], class_names=5), "class_names"),
        (lambda: Network([4, 3], dtype="bogus"), "dtype"),
        (lambda: Network([4, 3], dtype=None), "dtype"),
        (lambda: Network("ab"), "sizes"),
    ],
)  # fmt: skip
def test_constructor_arguments_are_named(call, argument):
    with pytest.raises(InvalidParameterError, match=f"`{argument}"):
        call()


def test_tensor_that_requires_grad_is_detached(net, X):
    torch = pytest.importorskip("torch")
    tensor = torch.tensor(X, requires_grad=True)
    np.testing.assert_array_equal(net.forward(tensor), net.forward(X))
    np.testing.assert_array_equal(net.to_mlp().trace(tensor).output, net.forward(X))


# -- resources: huge counts are refused with the memory they need ----------------------


@pytest.mark.parametrize(
    "call",
    [
        lambda m: mlpinspect.preferred_input(m, 0, n_steps=10**12),
        lambda m: mlpinspect.preferred_input(m, 0, n_steps=2**70),
        lambda m: mlpinspect.smoothness(mlpinspect.weight_images(m), n_shuffles=10**12),
        lambda m: mlpinspect.smoothness(mlpinspect.weight_images(m), n_shuffles=2**70),
        lambda m: Network([10**6, 10**6, 10]),
        lambda m: Network([2**40, 2]),
        lambda m: Network([4, 3]).fit(np.ones((2, 4)), [0, 1], epochs=10**12,
                                      progress=False),
    ],
    ids=["n_steps=1e12", "n_steps=2**70", "n_shuffles=1e12", "n_shuffles=2**70",
         "sizes=1e6", "sizes=2**40", "epochs=1e12"],
)  # fmt: skip
def test_huge_counts_are_refused_up_front_with_the_memory_they_need(net, call):
    tracemalloc.start()
    try:
        with pytest.raises(
            InvalidParameterError, match=r"would need [\d.]+ [KMGTPE]?B"
        ):
            call(net.to_mlp())
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 2**20


def test_huge_count_error_says_how_much_memory_there_is(net):
    with pytest.raises(InvalidParameterError) as info:
        mlpinspect.preferred_input(net.to_mlp(), 0, n_steps=2**70)
    message = str(info.value)
    assert "n_steps" in message
    assert "memory" in message


def _image_shape_slow(n: int) -> tuple[int, int]:
    h = math.isqrt(n)
    while n % h:
        h -= 1
    return h, n // h


@given(st.integers(1, 20000))
def test_image_shape_is_the_squarest_factor_pair(n):
    assert mlpinspect.image_shape(n) == _image_shape_slow(n)


@pytest.mark.parametrize(
    ("n", "expected"),
    [
        (2**61 - 1, (1, 2**61 - 1)),  # a Mersenne prime: no divisor below its root
        ((2**31 - 1) * (2**31 - 1), (2**31 - 1, 2**31 - 1)),
        ((2**31 - 1) * 2147483629, (2147483629, 2**31 - 1)),
        (2**62, (2**31, 2**31)),
        (2**63 - 25, (1, 2**63 - 25)),  # the largest prime below 2**63
        (2 * 3 * 5 * 7 * 11 * 13 * 17 * 19 * 23 * 29 * 31 * 37,
         (2714690, 2733549)),
    ],
)  # fmt: skip
def test_image_shape_of_huge_numbers_does_not_hang(n, expected):
    with no_hang():
        assert mlpinspect.image_shape(n) == expected


def test_image_shape_refuses_more_pixels_than_an_array_can_hold():
    with pytest.raises(InvalidParameterError, match="`n`"):
        mlpinspect.image_shape(2**63)


# -- resources: network files ----------------------------------------------------------


def _meta(net: Network, tmp_path: Path) -> dict:
    with np.load(net.save(tmp_path / "reference.npz")) as data:
        return json.loads(str(data["meta"]))


def _network_file(path: Path, meta: dict | str, arrays: dict | None = None) -> Path:
    text = meta if isinstance(meta, str) else json.dumps(meta)
    np.savez(path, meta=np.array(text), **(arrays or {}))
    return path


def _load_both(path: Path):
    """Network.load and adapt(path) on the same file: both must refuse it."""
    for load in (Network.load, mlpinspect.adapt):
        with pytest.raises(ModelFileError) as info:
            load(path)
        yield info.value


def test_metadata_claiming_a_huge_network_fails_fast(net, tmp_path):
    """A 1 KB file whose metadata claims 100000-100000-10 and holds no arrays
    is refused from its directory, before anything of that size exists."""
    meta = {**_meta(net, tmp_path), "sizes": [100000, 100000, 10],
            "activations": ["sigmoid", "sigmoid"]}  # fmt: skip
    path = _network_file(tmp_path / "claims.npz", meta)
    assert path.stat().st_size < 4096
    tracemalloc.start()
    try:
        for error in _load_both(path):
            assert "weight_0" in str(error)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * 2**20


def test_arrays_of_the_wrong_shape_are_refused_from_their_headers(net, tmp_path):
    meta = {**_meta(net, tmp_path), "sizes": [3000, 3000, 2],
            "activations": ["sigmoid", "sigmoid"]}  # fmt: skip
    arrays = {"weight_0": np.zeros((2, 2))}
    path = _network_file(tmp_path / "shape.npz", meta, arrays)
    for error in _load_both(path):
        assert "weight_0" in str(error) or "missing" in str(error)


def _bomb(path: Path, n_bytes: int, name: str = "W0.npy") -> Path:
    """An archive whose one member is ``n_bytes`` of zeros, deflated: about
    1000 times smaller than what it decompresses to."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (n_bytes // 8,)}
    )
    chunk = bytes(1 << 20)
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open(name, "w", force_zip64=True) as member,
    ):
        member.write(header.getvalue())
        for _ in range(n_bytes // len(chunk)):
            member.write(chunk)
    return path


def test_decompression_bomb_fails_fast_with_low_memory(tmp_path):
    """256 MB of zeros in a 256 KB archive: refused from the sizes its
    directory declares, with peak memory a small multiple of the file size."""
    path = _bomb(tmp_path / "bomb.npz", 256 * 2**20)
    size = path.stat().st_size
    assert size < 2**20
    tracemalloc.start()
    try:
        for error in _load_both(path):
            assert "times" in str(error)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * size + 2**20


def test_npy_header_that_lies_about_its_size_is_refused(tmp_path):
    """A header declaring 8 GB in front of 80 bytes of data: refused from the
    header, not by allocating 8 GB and failing to fill it."""
    path = tmp_path / "lying.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (2**15, 2**15)}
    )
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("W0.npy", header.getvalue() + bytes(80))
        zf.writestr("b0.npy", header.getvalue() + bytes(80))
    tracemalloc.start()
    try:
        for error in _load_both(path):
            assert "W0" in str(error)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_object_arrays_are_refused_without_unpickling(tmp_path):
    path = tmp_path / "objects.npz"
    np.savez(path, W0=np.array([None, 1], dtype=object), b0=np.zeros(1))
    for error in _load_both(path):
        assert "W0" in str(error)


def test_archive_members_that_are_not_arrays_are_refused(tmp_path):
    path = tmp_path / "other.npz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("README.txt", "hello")
    for error in _load_both(path):
        assert "README.txt" in str(error)


def test_compressed_archives_within_reason_still_load(net, tmp_path):
    """savez_compressed of real weights is accepted (far below the limit)."""
    path = tmp_path / "compressed.npz"
    np.savez_compressed(path, W0=net.weights[0], b0=net.biases[0],
                        W1=net.weights[1], b1=net.biases[1],
                        activations=np.array(["sigmoid"]))  # fmt: skip
    mlp = mlpinspect.adapt(path)
    np.testing.assert_array_equal(mlp.layers[0].weight, net.weights[0])


def test_saved_networks_round_trip_through_the_checked_reader(net, X, tmp_path):
    net.fit(X, Y, epochs=2, progress=False)
    same = Network.load(net.save(tmp_path / "net.npz"))
    for a, b in zip(same.weights + same.initial_weights,
                    net.weights + net.initial_weights):  # fmt: skip
        np.testing.assert_array_equal(a, b)
    assert same.history.to_dict() == net.history.to_dict()


@pytest.mark.parametrize(
    "change",
    [
        {"history": [1, 2]},
        {"input_shape": [float("inf")]},
        {"input_shape": [-2, -2]},
        {"class_names": 5},
        {"class_names": "ab"},
        {"feature_names": 7},
        {"activations": ["sigmoid", None]},
        {"sizes": [4, 3, 1e400]},
        {"dtype": "bogus"},
    ],
    ids=str,
)
def test_crafted_metadata_is_a_model_file_error(net, tmp_path, change):
    meta = {**_meta(net, tmp_path), **change}
    with np.load(tmp_path / "reference.npz") as src:
        arrays = {k: src[k] for k in src.files if k != "meta"}
    path = _network_file(tmp_path / "crafted.npz", meta, arrays)
    list(_load_both(path))


@pytest.mark.parametrize(
    "change",
    [
        {"history": {"epoch": 3}},
        {"history": {"epoch": [1], "cost": ["x"]}},
        {"history": {"config": 5}},
        {"history": {"epoch": [1, 2], "cost": [0.5]}},
        {"seed": -1},
        {"seed": "x"},
        {"init": "bogus"},
    ],
    ids=str,
)
def test_crafted_training_metadata_is_refused_by_network_load(net, tmp_path, change):
    """What only the trainer reads (history, seed, init) is checked when a
    Network is loaded; adapt() reads weights and names, and ignores it."""
    meta = {**_meta(net, tmp_path), **change}
    with np.load(tmp_path / "reference.npz") as src:
        arrays = {k: src[k] for k in src.files if k != "meta"}
    path = _network_file(tmp_path / "crafted.npz", meta, arrays)
    with pytest.raises(ModelFileError, match="invalid metadata"):
        Network.load(path)
    assert mlpinspect.adapt(path).sizes == (4, 3, 2)


def test_deeply_nested_metadata_is_a_model_file_error(net, tmp_path):
    text = json.dumps(_meta(net, tmp_path))[:-1] + ', "x": ' + "[" * 100000
    text += "]" * 100000 + "}"
    path = _network_file(tmp_path / "deep.npz", text)
    for error in _load_both(path):
        assert "meta" in str(error)


def test_history_from_dict_checks_its_input():
    from mlpinspect import History

    for bad in (None, 5, [1], {"epoch": 3}, {"cost": [1, "x"]}, {"config": 5}):
        with pytest.raises(InvalidParameterError):
            History.from_dict(bad)


# -- resources: reading a FIFO must not hang -------------------------------------------


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe.npz"
    os.mkfifo(path)
    return path


@pytest.mark.parametrize(
    "load", [Network.load, mlpinspect.adapt], ids=["load", "adapt"]
)
def test_reading_a_fifo_does_not_hang(fifo, load):
    with no_hang(), pytest.raises(ModelFileError, match="not a regular file"):
        load(fifo)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null"])
def test_reading_a_device_is_refused(path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    with no_hang(), pytest.raises(ModelFileError, match="not a regular file"):
        Network.load(path)


def test_loading_a_folder_is_a_model_file_error(tmp_path):
    with pytest.raises(ModelFileError):
        Network.load(tmp_path)


# -- foreign exceptions: plots ---------------------------------------------------------


@pytest.mark.parametrize("names", [1.5, "ab", ["a"], ["a", "a"], Ellipsis, {"a": 1}])
def test_plot_compare_names_are_checked(net, names):
    from mlpinspect.plotting import plot_compare

    with pytest.raises(InvalidParameterError, match="`names`"):
        plot_compare([net, net], names=names)


# -- every exception is a library error ------------------------------------------------


def test_adapter_check_errors_are_library_errors():
    from mlpinspect.testing import AdapterCheckError, check_protocol

    with pytest.raises(MlpinspectError):
        check_protocol(object())
    assert issubclass(AdapterCheckError, AssertionError)


# -- found by the fuzzer ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda net: mlpinspect.testing.FakeModel(np.array(False)), "sizes"),
        (lambda net: mlpinspect.testing.FakeModel([4, 2], activations=np.array(1)),
         "activations"),
        (lambda net: mlpinspect.testing.check_no_shared_memory(net.to_mlp(),
                                                               np.array(False)),
         "arrays"),
        (lambda net: mlpinspect.plotting.plot_recipes(net.to_mlp(), units=0.5),
         "units"),
        (lambda net: mlpinspect.datasets.load_nielsen_pickle(
            "x.pkl.gz", pixel_scale=np.array([])), "pixel_scale"),
        (lambda net: mlpinspect.study.run_study(None), "out"),
        (lambda net: mlpinspect.study.run_study("o", quick=np.array([])), "quick"),
        (lambda net: mlpinspect.study.run_study("o", quiet="yes"), "quiet"),
        (lambda net: mlpinspect.study.run_study("o", sweep_sizes=np.array(3)),
         "sweep_sizes"),
        (lambda net: mlpinspect.study.run_study("o", data=3), "data"),
        (lambda net: mlpinspect.MLP(np.array(0)), "layers"),
    ],
)  # fmt: skip
def test_zero_dimensional_arrays_and_odd_flags_are_named(
    net, call, argument, tmp_path, monkeypatch
):
    """A 0-d array has ``__iter__`` but cannot be iterated, and an empty
    array has no truth value: both used to escape as TypeError/ValueError."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidParameterError, match=f"`{argument}"):
        call(net)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_saving_onto_a_fifo_or_device_is_refused(tmp_path, kind):
    """Renaming over a FIFO or a device would replace it by a regular file."""
    from mlpinspect.datasets import save_idx

    target = tmp_path / "target"
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to("/dev/null")
    with pytest.raises(InvalidParameterError, match="regular file"):
        save_idx(target, np.arange(2, dtype=np.uint8))
    with pytest.raises(InvalidParameterError, match="regular file"):
        Network([2, 2], seed=0).save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["target"]
    assert not target.is_file()


# -- the fuzzer's findings in the API added since (snapshots, atlases,
# similarity, dynamics, experiment grids and tables) and in experiments/ and
# adapters/ -------------------------------------------------------------------------


@pytest.fixture
def snaps():
    rng = np.random.default_rng(0)
    models = [
        MLP([Dense(rng.normal(size=(3, 4)), np.zeros(3))], input_shape=(2, 2))
        for _ in range(3)
    ]
    return mlpinspect.Snapshots.from_models(models)


def _train():
    rng = np.random.default_rng(0)
    X = rng.random((20, 4))
    return X, (X[:, 0] > 0.5).astype(int)


@pytest.mark.parametrize(
    ("call", "argument"),
    [
        (lambda s: mlpinspect.experiments.hidden_size_sweep(
            None, train=_train(), test=_train()),
         "sizes"),
        (lambda s: mlpinspect.experiments.hidden_size_sweep(
            [2], train=_train(), test=_train(), n_outputs=2, reference=" -> "),
         "reference"),
        (lambda s: mlpinspect.experiments.compare_training(True, train=_train()),
         "configs"),
        (lambda s: mlpinspect.experiments.compare_training(
            {"a": {}}, train=_train(), sizes=None), "sizes"),
        (lambda s: mlpinspect.experiments.run_experiments(
            np.array(True), train=_train()), "configs"),
        (lambda s: mlpinspect.register_adapter(
            mlpinspect.testing.FakeAdapter(), first=np.array([])), "first"),
        (lambda s: mlpinspect.unregister_adapter(np.array([])), "name"),
        (lambda s: mlpinspect.datasets.save_idx(
            "a.idx", np.zeros(2, np.uint8), compress=np.array([], bool)), "compress"),
        (lambda s: mlpinspect.Snapshots.load(None), "path"),
        (lambda s: mlpinspect.experiments.run_experiments(
            {"hidden": [2]}, np.array(False), train=_train()), "seeds"),
        (lambda s: s.save("x" * 300), "path"),
        (lambda s: Network([2, 2], seed=0).save("x" * 300), "path"),
        (lambda s: mlpinspect.experiments.ExperimentTable(
            [{"seed": 0}]).to_csv("x" * 300), "path"),
        (lambda s: s.time_text(None), "i"),
        (lambda s: s.save(""), "path"),
        (lambda s: s.save("\x00"), "path"),
        (lambda s: mlpinspect.SnapshotRecorder(path=""), "path"),
        (lambda s: mlpinspect.SnapshotRecorder().record(
            s[0], epoch=0.0, metrics=np.array([1.0, 2.0])), "metrics"),
        (lambda s: mlpinspect.Snapshots(list(s), metrics=[2, -1]), "metrics"),
        (lambda s: mlpinspect.experiments.load_grid("\x00"), "path"),
        (lambda s: mlpinspect.experiments.ExperimentTable(None), "records"),
        (lambda s: mlpinspect.experiments.ExperimentTable(
            [{"seed": 0}]).summary(True), "metrics"),
        (lambda s: mlpinspect.experiments.ExperimentTable(
            [{"seed": 0}]).summary(np.array(False)), "metrics"),
        (lambda s: mlpinspect.experiments.ExperimentTable(
            [{"seed": 0}]).filter(seed=np.arange(2)), "seed"),
        (lambda s: mlpinspect.plotting.save_weight_animation(
            s, "a.gif", dpi=3), "dpi"),
        (lambda s: mlpinspect.plotting.save_weight_animation(
            s, "a.gif", dpi=1e12), "dpi"),
    ],
)  # fmt: skip
def test_later_api_names_the_argument(snaps, call, argument, tmp_path, monkeypatch):
    """Each used to escape as TypeError, ValueError or IndexError from numpy,
    pathlib, dict() or matplotlib's Pillow writer."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidParameterError, match=f"`{argument}"):
        call(snaps)
    assert list(tmp_path.iterdir()) == []


def test_recorder_close_wants_a_bool(snaps):
    recorder = mlpinspect.SnapshotRecorder()
    recorder.record(snaps[0], epoch=0.0)
    with pytest.raises(InvalidParameterError, match="`complete`"):
        recorder.close(complete=np.array([]))
    assert len(recorder.close(complete=True)) == 1


def test_snapshot_index_out_of_range_is_both_errors(snaps):
    """The sequence protocol wants IndexError; the library, its own error."""
    with pytest.raises(InvalidParameterError, match="`index`") as info:
        snaps[2**31]
    assert isinstance(info.value, IndexError)
    assert len(list(snaps)) == 3 and snaps[-3] is not None


def test_matched_units_names_units():
    from mlpinspect.plotting import plot_matched_units

    rng = np.random.default_rng(0)
    W = rng.normal(size=(4, 16))
    a = MLP([Dense(W, np.zeros(4), "sigmoid")], input_shape=(4, 4))
    matching = mlpinspect.match_units(a, a, rng.random((20, 16)))
    with pytest.raises(InvalidParameterError, match="`units`"):
        plot_matched_units(matching, units=0.5)


def test_unit_dynamics_plot_names_metric(snaps):
    from mlpinspect.plotting import plot_unit_dynamics

    dynamics = mlpinspect.unit_dynamics(snaps)
    with pytest.raises(InvalidParameterError, match="`metric`"):
        plot_unit_dynamics(dynamics, metric=np.zeros((2, 0)))


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_readers_of_later_files_refuse_fifos(tmp_path, kind):
    """Reading a FIFO used to block forever (load_grid, Snapshots.load)."""
    target = tmp_path / ("x.npz" if kind == "fifo" else "d.npz")
    if kind == "fifo":
        os.mkfifo(target)
    else:
        target.mkdir()
    with no_hang(20):
        with pytest.raises(ModelFileError, match="not a regular file"):
            mlpinspect.Snapshots.load(target)
        with pytest.raises(InvalidParameterError, match="not a regular file"):
            mlpinspect.experiments.load_grid(target)


def test_unwritable_or_unreadable_special_files(snaps):
    """/proc/self/mem: a 'regular' file whose folder takes no new file and
    whose reads fail with EIO (was FileNotFoundError / OSError)."""
    if not os.path.exists("/proc/self/mem"):
        pytest.skip("no /proc")
    with pytest.raises(mlpinspect.WriteError, match="`path`"):
        snaps.save("/proc/self/mem")
    with pytest.raises(ModelFileError, match="cannot be read"):
        Network.load("/proc/self/mem")


def test_durations_are_not_counts_and_titles_are_text():
    """Found by the fuzzer in a fresh environment: numpy registers timedelta64
    as an integer, and explore's title went to str methods unchecked."""
    import mlpinspect
    from mlpinspect._validation import check_float, check_int

    for value in (np.timedelta64(5, "s"), np.datetime64("2026-01-01")):
        with pytest.raises(mlpinspect.InvalidParameterError, match="`n`"):
            check_int(value, "n")
        with pytest.raises(mlpinspect.InvalidParameterError, match="`x`"):
            check_float(value, "x")
    with pytest.raises(mlpinspect.InvalidParameterError, match="`chunk_size`"):
        mlpinspect.linear_cka(np.eye(3), np.eye(3), chunk_size=np.timedelta64(5, "s"))
    layers = [mlpinspect.Dense(np.eye(2), np.zeros(2), a) for a in ("relu", "softmax")]
    mlp = mlpinspect.MLP(layers)
    with pytest.raises(mlpinspect.InvalidParameterError, match="`title`"):
        mlpinspect.explore(mlp, np.eye(2), [0, 1], title=True)


def test_max_sensitivity_norm_given_an_array():
    """Found by the fuzzer in a fresh environment: an array as ``norm``."""
    import mlpinspect

    layers = [mlpinspect.Dense(np.eye(2), np.zeros(2), a) for a in ("relu", "softmax")]
    mlp = mlpinspect.MLP(layers)
    with pytest.raises(mlpinspect.InvalidParameterError, match="`norm`"):
        mlpinspect.max_sensitivity(
            mlp, np.eye(2), 0, method="gradient", norm=np.array([], dtype=bool)
        )
