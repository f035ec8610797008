"""Snapshots: built from models of any framework, recorded in memory or
streamed to one file, saved and loaded back; files that lie are refused."""

from __future__ import annotations

import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from mlpinspect import (
    MLP,
    Dense,
    InvalidParameterError,
    ModelFileError,
    Network,
    SnapshotRecorder,
    Snapshots,
)
from mlpinspect._io import is_own_temp


def _models(n: int = 4, sizes=(6, 3, 2), seed: int = 0, **mlp_kwargs) -> list[MLP]:
    rng = np.random.default_rng(seed)
    models = []
    for _ in range(n):
        layers = [
            Dense(rng.normal(size=(o, i)), rng.normal(size=o), "sigmoid")
            for i, o in zip(sizes[:-1], sizes[1:])
        ]
        models.append(MLP(layers, **mlp_kwargs))
    return models


def _equal(a: MLP, b: MLP) -> bool:
    return all(
        np.array_equal(x.weight, y.weight) and np.array_equal(x.bias, y.bias)
        for x, y in zip(a.layers, b.layers)
    ) and (a.activation_names == b.activation_names)


# -- from models -----------------------------------------------------------------------


def test_from_models_keeps_the_models_and_the_times():
    models = _models()
    snaps = Snapshots.from_models(
        models, epochs=[0, 0.5, 1, 2], steps=[0, 5, 10, 20],
        metrics={"accuracy": [0.1, np.nan, 0.5, 0.9]},
    )  # fmt: skip
    assert len(snaps) == 4
    assert all(_equal(a, b) for a, b in zip(snaps, models))
    assert snaps.epochs.tolist() == [0, 0.5, 1, 2]
    assert snaps.steps.tolist() == [0, 5, 10, 20]
    np.testing.assert_array_equal(snaps.metrics["accuracy"], [0.1, np.nan, 0.5, 0.9])
    assert snaps.time_label == "epoch" and snaps.time_text(1) == "epoch 0.5 (step 5)"
    assert snaps.sizes == (6, 3, 2) and snaps.n_layers == 2
    assert snaps.complete and snaps.path is None
    assert not snaps.epochs.flags.writeable


def test_the_constructor_is_from_models():
    models = _models(3)
    built = Snapshots(models, steps=[0, 4, 8], metrics={"cost": [3.0, 2.0, 1.0]})
    same = Snapshots.from_models(models, steps=[0, 4, 8],
                                 metrics={"cost": [3.0, 2.0, 1.0]})  # fmt: skip
    assert all(_equal(a, b) for a, b in zip(built, same))
    assert built.steps.tolist() == same.steps.tolist() == [0, 4, 8]
    assert built.metrics["cost"].tolist() == [3.0, 2.0, 1.0]
    assert built.epochs is None and built.complete


def test_from_models_defaults_to_one_epoch_per_model_and_steps_alone():
    assert Snapshots.from_models(_models(3)).epochs.tolist() == [0.0, 1.0, 2.0]
    by_step = Snapshots.from_models(_models(3), steps=[0, 7, 9])
    assert by_step.epochs is None and by_step.time_label == "step"
    assert by_step.times.tolist() == [0.0, 7.0, 9.0]
    assert by_step.time_text(2) == "step 9"


def test_from_models_adapts_any_framework():
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(6, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 3)
    )
    optimiser = torch.optim.SGD(model.parameters(), lr=0.5)
    X = torch.randn(32, 6)
    y = torch.randint(0, 3, (32,))
    checkpoints = []
    for _ in range(3):
        checkpoints.append({k: v.clone() for k, v in model.state_dict().items()})
        optimiser.zero_grad()
        torch.nn.functional.cross_entropy(model(X), y).backward()
        optimiser.step()
    models = []
    for state in checkpoints:
        copy = torch.nn.Sequential(
            torch.nn.Linear(6, 4), torch.nn.Sigmoid(), torch.nn.Linear(4, 3)
        )
        copy.load_state_dict(state)
        models.append(copy)
    snaps = Snapshots.from_models(models, steps=[0, 1, 2], input_shape=(2, 3))
    assert snaps.input_shape == (2, 3)
    for snap, state in zip(snaps, checkpoints):
        np.testing.assert_array_equal(snap.layers[0].weight, state["0.weight"].numpy())
        np.testing.assert_array_equal(snap.layers[1].bias, state["2.bias"].numpy())
    assert not np.array_equal(snaps[0].layers[0].weight, snaps[2].layers[0].weight)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"models": []}, "at least one model"),
        ({"models": "net.pt"}, "`models` must be a list"),
        ({"models": _models(3), "epochs": [0, 1]}, r"`epochs` must have one value"),
        ({"models": _models(3), "steps": [0, 2, 2]}, "`steps` must increase"),
        ({"models": _models(3), "epochs": [0, 2, 1]}, "`epochs` must increase"),
        ({"models": _models(2), "epochs": [-1, 0]}, "`epochs` must be >= 0"),
        ({"models": _models(2), "metrics": {"a": [1.0]}}, r"metrics\['a'\]"),
        ({"models": _models(2), "epochs": "01"}, "`epochs` must be a sequence"),
        ({"models": _models(2), "steps": [0, 1.5]}, "`steps` must be whole numbers"),
        (
            {"models": [*_models(1), *_models(1, sizes=(6, 4, 2))]},
            r"`models\[1\]` must have the sizes of the first snapshot",
        ),
        (
            {"models": [*_models(1), _models(1)[0].astype(np.float32)]},
            r"`models\[1\]` must have the dtype",
        ),
    ],
)
def test_from_models_refuses(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        Snapshots.from_models(**kwargs)


def test_indexing_and_selection():
    models = _models(5)
    snaps = Snapshots.from_models(models)
    assert _equal(snaps[-1], models[4])
    part = snaps[1:4]
    assert isinstance(part, Snapshots) and part.epochs.tolist() == [1.0, 2.0, 3.0]
    assert _equal(part[0], models[1])
    chosen = snaps[[0, -1]]
    assert chosen.epochs.tolist() == [0.0, 4.0] and _equal(chosen[1], models[4])
    assert len(snaps[5:]) == 0
    with pytest.raises(IndexError):
        snaps[5]
    with pytest.raises(InvalidParameterError, match="out of range"):
        snaps[[0, 7]]
    with pytest.raises(InvalidParameterError, match="snapshot index"):
        snaps["first"]
    assert "5 snapshots" in repr(snaps) and "in memory" in repr(snaps)


# -- files -----------------------------------------------------------------------------


def test_save_and_load_round_trip(tmp_path):
    models = _models(3, input_shape=(2, 3), class_names=["no", "yes"],
                     feature_names=[f"f{i}" for i in range(6)])  # fmt: skip
    snaps = Snapshots.from_models(
        models, epochs=[0, 1, 2], metrics={"cost": [1.0, np.nan, 0.25]}
    )
    path = snaps.save(tmp_path / "run")
    assert path == tmp_path / "run.npz"
    again = Snapshots.load(path)
    assert again.path == path and again.complete
    assert all(_equal(a, b) for a, b in zip(again, models))
    loaded = again[1]
    assert loaded.input_shape == (2, 3)
    assert loaded.class_names == ("no", "yes")
    assert loaded.feature_names == tuple(f"f{i}" for i in range(6))
    assert loaded.task == models[1].task
    np.testing.assert_array_equal(again.metrics["cost"], [1.0, np.nan, 0.25])
    assert again.steps is None
    # A plain numpy .npz, no pickle needed.
    with np.load(path, allow_pickle=False) as plain:
        np.testing.assert_array_equal(plain["s2_w1"], models[2].layers[1].weight)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


def test_recorder_streams_to_the_file_only_when_it_closes(tmp_path):
    path = tmp_path / "run.npz"
    recorder = SnapshotRecorder(path=path)
    models = _models(3)
    for i, model in enumerate(models):
        recorder.record(model, epoch=i)
    assert not path.exists()
    hidden = list(tmp_path.iterdir())
    assert len(hidden) == 1 and hidden[0].name.startswith(".run.npz~")
    assert is_own_temp(hidden[0].name)
    snaps = recorder.close()
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]
    assert snaps.path == path and all(_equal(a, b) for a, b in zip(snaps, models))
    assert recorder.close() is snaps  # closing again: the same snapshots
    with pytest.raises(InvalidParameterError, match="closed"):
        recorder.record(models[0], epoch=5)


def test_flush_publishes_complete_files_while_recording(tmp_path):
    path = tmp_path / "run.npz"
    recorder = SnapshotRecorder(path=path, flush_seconds=1e-9)  # every record
    models = _models(4)
    for i, model in enumerate(models):
        recorder.record(model, epoch=i, metrics={"cost": float(i)})
        during = Snapshots.load(path)
        assert len(during) == i + 1 and not during.complete
        assert _equal(during[-1], model)
        assert during.metrics["cost"].tolist() == list(range(i + 1))
    snaps = recorder.close()
    assert snaps.complete and len(snaps) == 4
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]
    with pytest.raises(ModelFileError, match="changed after it was loaded"):
        during[0]  # the file it indexed was replaced


def test_context_manager_marks_an_interrupted_recording(tmp_path):
    path = tmp_path / "run.npz"

    def train(recorder, snapshots):
        with recorder:
            for i in range(snapshots):
                recorder.record(_models(1)[0], epoch=i)
            raise RuntimeError("training failed")

    with pytest.raises(RuntimeError):
        train(SnapshotRecorder(path=path), 1)
    assert not Snapshots.load(path).complete
    with pytest.raises(RuntimeError):
        train(SnapshotRecorder(path=tmp_path / "none"), 0)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


def test_streaming_keeps_memory_bounded(tmp_path):
    """A 784-256-10 network's 60 snapshots (97 MB) stream through a few MB."""
    rng = np.random.default_rng(0)
    X = rng.random((20, 784))
    y = rng.integers(0, 10, 20)
    net = Network([784, 256, 10], seed=0)
    one = sum(w.nbytes + b.nbytes for w, b in zip(net.weights, net.biases))
    # Warm up: the first streamed fit imports modules, which tracemalloc counts.
    Network([784, 3, 10], seed=0).fit(
        X, y, epochs=1, progress=False, monitor=False,
        snapshots=SnapshotRecorder(path=tmp_path / "warm-up.npz"),
    )  # fmt: skip
    recorder = SnapshotRecorder(every_epochs=None, every_batches=1,
                                path=tmp_path / "run.npz")  # fmt: skip
    tracemalloc.start()
    try:
        net.fit(X, y, epochs=59, batch_size=20, progress=False, monitor=False,
                snapshots=recorder)  # fmt: skip
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    snaps = recorder.snapshots
    assert len(snaps) == 60
    assert snaps.path.stat().st_size > 60 * one
    assert peak < 5 * one, f"peak {peak / 1e6:.1f} MB for snapshots of {one / 1e6} MB"
    # Loading reads one snapshot at a time, too.
    tracemalloc.start()
    try:
        loaded = Snapshots.load(snaps.path)
        norms = [np.linalg.norm(m.layers[0].weight) for m in loaded]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 5 * one
    assert len(norms) == 60
    assert np.array_equal(loaded[-1].layers[0].weight, net.weights[0])
    assert np.array_equal(loaded[0].layers[0].weight, net.initial_weights[0])


def test_in_memory_recording_holds_every_snapshot():
    """The counterpart of the bound above: the same run kept in memory."""
    rng = np.random.default_rng(0)
    net = Network([784, 64, 10], seed=0)
    one = sum(w.nbytes + b.nbytes for w, b in zip(net.weights, net.biases))
    recorder = SnapshotRecorder(every_epochs=1)
    tracemalloc.start()
    try:
        net.fit(rng.random((10, 784)), rng.integers(0, 10, 10), epochs=19,
                progress=False, monitor=False, snapshots=recorder)  # fmt: skip
        current, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert current > 19 * one


# -- files that lie -------------------------------------------------------------------


def _saved(tmp_path, n: int = 2):
    return Snapshots.from_models(_models(n)).save(tmp_path / "run.npz")


def _rewrite(path, change):
    """Rewrite the archive at ``path`` with ``change(name, bytes) -> bytes``
    (None drops the member)."""
    with zipfile.ZipFile(path) as archive:
        members = [(info.filename, archive.read(info)) for info in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        for name, data in members:
            data = change(name, data)
            if data is not None:
                archive.writestr(name, data)


def _npy(value) -> bytes:
    import io

    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asarray(value), allow_pickle=False)
    return buffer.getvalue()


def test_missing_and_foreign_files(tmp_path):
    with pytest.raises(ModelFileError, match="no such file"):
        Snapshots.load(tmp_path / "absent.npz")
    (tmp_path / "text.npz").write_text("not a zip")
    with pytest.raises(ModelFileError, match=r"not a readable \.npz"):
        Snapshots.load(tmp_path / "text.npz")
    np.savez(tmp_path / "other.npz", W0=np.ones((2, 2)))
    with pytest.raises(ModelFileError, match="missing member 'meta'"):
        Snapshots.load(tmp_path / "other.npz")
    net = Network([4, 3, 2], seed=0)
    with pytest.raises(ModelFileError, match="not a snapshot file"):
        Snapshots.load(net.save(tmp_path / "net.npz"))


def test_truncated_and_corrupt_files(tmp_path):
    path = _saved(tmp_path)
    data = bytearray(path.read_bytes())
    (tmp_path / "short.npz").write_bytes(bytes(data[: len(data) // 2]))
    with pytest.raises(ModelFileError):
        Snapshots.load(tmp_path / "short.npz")
    # Flip one byte inside the first weight matrix's data.
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("s0_w0.npy")
    data[info.header_offset + 30 + len("s0_w0.npy") + 200] ^= 0xFF
    (tmp_path / "flipped.npz").write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="checksum"):
        Snapshots.load(tmp_path / "flipped.npz")


def test_compressed_members_are_refused(tmp_path):
    path = _saved(tmp_path)
    with zipfile.ZipFile(path) as archive:
        members = [(i.filename, archive.read(i)) for i in archive.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    with pytest.raises(ModelFileError, match="compressed"):
        Snapshots.load(path)


def test_a_header_cannot_claim_more_than_the_file_holds(tmp_path):
    """A weight whose header claims 10^12 values is refused without
    allocating them."""
    path = _saved(tmp_path)

    def claim(name, data):
        if name == "meta.npy":
            meta = json.loads(str(np.load(_as_file(data))[()]))
            meta["sizes"] = [1_000_000, 1_000_000, 2]
            return _npy(json.dumps(meta))
        if name.startswith("s0_w0"):
            header = {"descr": "<f8", "fortran_order": False,
                      "shape": (1_000_000, 1_000_000)}  # fmt: skip
            import io

            buffer = io.BytesIO()
            np.lib.format.write_array_header_1_0(buffer, header)
            return buffer.getvalue() + b"\0" * 64
        return data

    _rewrite(path, claim)
    tracemalloc.start()
    try:
        with pytest.raises(ModelFileError):
            Snapshots.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 10_000_000


def _as_file(data: bytes):
    import io

    return io.BytesIO(data)


@pytest.mark.parametrize(
    ("member", "replacement", "match"),
    [
        ("meta.npy", _npy(json.dumps({"format": "other"})), "not a snapshot file"),
        ("meta.npy", _npy(np.ones(3)), "must be a JSON string"),
        ("meta.npy", _npy("{not json"), "not valid JSON"),
        ("s1_info.npy", _npy(json.dumps({"epoch": -1})), "information"),
        ("s0_w1.npy", _npy(np.ones((3, 3))), "must have shape"),
        ("s0_b0.npy", _npy(np.ones(3, dtype=np.float32)), "dtype float64"),
        ("s1_w0.npy", None, "missing array 's1_w0'"),
        ("s1_info.npy", None, "belongs to snapshot 1"),
        ("s0_info.npy", None, "holds no snapshot"),
        ("s0_w0.npy", b"", "corrupt array header"),
        ("s0_w0.npy", _npy(np.ones((3, 6)))[:-8], "bytes of data"),
    ],
)
def test_members_that_lie_are_refused(tmp_path, member, replacement, match):
    path = _saved(tmp_path)
    _rewrite(path, lambda name, data: replacement if name == member else data)
    with pytest.raises(ModelFileError, match=match):
        Snapshots.load(path)


def test_object_arrays_are_refused(tmp_path):
    import io

    path = _saved(tmp_path)
    buffer = io.BytesIO()
    header = {"descr": "|O", "fortran_order": False, "shape": (3, 6)}
    np.lib.format.write_array_header_1_0(buffer, header)
    payload = buffer.getvalue() + b"\0" * (3 * 6 * 8)
    _rewrite(path, lambda n, d: payload if n == "s0_w0.npy" else d)
    with pytest.raises(ModelFileError, match="pickle"):
        Snapshots.load(path)


def test_invalid_metadata_is_a_file_error(tmp_path):
    path = _saved(tmp_path)

    def bad_activation(name, data):
        if name == "meta.npy":
            meta = json.loads(str(np.load(_as_file(data))[()]))
            meta["activations"] = ["sigmoid", "no-such-activation"]
            return _npy(json.dumps(meta))
        return data

    _rewrite(path, bad_activation)
    with pytest.raises(ModelFileError, match="invalid metadata"):
        Snapshots.load(path)


# -- the recorder's checks -------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"every_epochs": 0}, "`every_epochs` must be >= 1"),
        ({"every_batches": 1.5}, "`every_batches` must be an integer"),
        ({"flush_seconds": 5}, "`flush_seconds` needs a `path`"),
        ({"path": "x", "flush_seconds": 0}, "`flush_seconds` must be > 0"),
        ({"path": 3}, "`path` must be a file name"),
    ],
)
def test_recorder_arguments(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        SnapshotRecorder(**kwargs)


def test_recorder_record_checks():
    recorder = SnapshotRecorder()
    model = _models(1)[0]
    with pytest.raises(InvalidParameterError, match="`epoch` or its `step`"):
        recorder.record(model)
    recorder.record(model, epoch=0, metrics={"cost": 1})
    with pytest.raises(InvalidParameterError, match="`step` must be given"):
        recorder.record(model, epoch=1, step=3)
    with pytest.raises(InvalidParameterError, match="`epoch` must increase"):
        recorder.record(model, epoch=0)
    with pytest.raises(InvalidParameterError, match="must be a real number"):
        recorder.record(model, epoch=1, metrics={"cost": "low"})
    other = MLP([Dense(layer.weight, layer.bias, "relu") for layer in model.layers])
    with pytest.raises(InvalidParameterError, match="activations of the first"):
        recorder.record(other, epoch=1)
    recorder.record(model, epoch=1)
    assert len(recorder.close()) == 2
    with pytest.raises(InvalidParameterError, match="no snapshot was recorded"):
        SnapshotRecorder().close()
    assert "every_epochs=1" in repr(SnapshotRecorder())


def test_a_failed_write_ends_the_recording_and_leaves_nothing(tmp_path, monkeypatch):
    from mlpinspect.analysis import _snapshotfile

    add = _snapshotfile.Writer.add_array
    calls = []

    def failing(self, name, arr):
        calls.append(name)
        if name == "s1_b0":
            raise OSError("disk full")
        add(self, name, arr)

    monkeypatch.setattr(_snapshotfile.Writer, "add_array", failing)
    recorder = SnapshotRecorder(path=tmp_path / "run.npz")
    models = _models(3)
    recorder.record(models[0], epoch=0)
    with pytest.raises(OSError, match="disk full"):
        recorder.record(models[1], epoch=1)
    assert list(tmp_path.iterdir()) == []  # the temporary file is gone
    with pytest.raises(InvalidParameterError, match="failed earlier"):
        recorder.record(models[2], epoch=2)
    with pytest.raises(InvalidParameterError, match="recording failed"):
        recorder.close()
    assert list(tmp_path.iterdir()) == []
