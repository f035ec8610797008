"""Network.fit(snapshots=...): when snapshots are taken, and that recording
never changes what a seed trains."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpinspect import (
    InvalidParameterError,
    Network,
    NumericalError,
    SnapshotRecorder,
    Snapshots,
)

try:
    import numba  # noqa: F401

    HAS_NUMBA = True
except ImportError:
    HAS_NUMBA = False

ENGINES = [
    "numpy",
    pytest.param(
        "numba",
        marks=pytest.mark.skipif(not HAS_NUMBA, reason="numba is not installed"),
    ),
]


def _data(n: int = 53, n_in: int = 12, seed: int = 0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, n_in))
    y = (X[:, 0] + X[:, 1] > 1.0).astype(int) + (X[:, 2] > 0.7)
    return X, y


def _same(a, b) -> bool:
    """Bit-identical parameters: two Networks, or an MLP against a Network."""
    pa = [(w, b) for w, b in zip(a.weights, a.biases)]
    if hasattr(b, "layers"):
        pb = [(layer.weight, layer.bias) for layer in b.layers]
    else:
        pb = [(w, bb) for w, bb in zip(b.weights, b.biases)]
    return all(
        np.array_equal(w1, w2) and np.array_equal(b1, b2)
        for (w1, b1), (w2, b2) in zip(pa, pb)
    )


def _fit(engine, snapshots=None, *, seed=3, dtype=np.float64, **kwargs):
    X, y = _data()
    net = Network([12, 5, 3], seed=seed, dtype=dtype)
    settings_ = {"epochs": 3, "batch_size": 5, "learning_rate": 1.0, "progress": False}
    settings_.update(kwargs)
    history = net.fit(X, y, engine=engine, snapshots=snapshots, **settings_)
    return net, history


# -- recording never changes the arithmetic ------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(
    ("every_epochs", "every_batches"), [(1, None), (None, 1), (2, 3), (None, 4)]
)
def test_recording_gives_bit_identical_networks(
    engine, dtype, every_epochs, every_batches
):
    plain, _ = _fit(engine, dtype=dtype, l2=0.5)
    recorder = SnapshotRecorder(every_epochs=every_epochs, every_batches=every_batches)
    recorded, history = _fit(engine, recorder, dtype=dtype, l2=0.5)
    assert _same(plain, recorded)
    # The generator is left in the same state: the next fit agrees too.
    X, y = _data()
    plain.fit(X, y, epochs=1, batch_size=5, progress=False, engine=engine)
    recorded.fit(X, y, epochs=1, batch_size=5, progress=False, engine=engine)
    assert _same(plain, recorded)
    assert history.snapshots is recorder.snapshots


@pytest.mark.parametrize("engine", ENGINES)
def test_first_snapshot_is_the_initialisation_and_last_the_final_network(engine):
    net, history = _fit(engine, SnapshotRecorder(every_batches=4))
    snaps = history.snapshots
    first, last = snaps[0], snaps[-1]
    for i in range(net.n_layers):
        assert np.array_equal(first.layers[i].weight, net.initial_weights[i])
        assert np.array_equal(first.layers[i].bias, net.initial_biases[i])
    assert _same(net, last)
    assert snaps.complete
    assert snaps.epochs[0] == 0.0 and snaps.steps[0] == 0
    assert snaps.epochs[-1] == 3.0 and snaps.steps[-1] == 3 * 11  # 53 rows / 5


@pytest.mark.parametrize("engine", ENGINES)
def test_each_epoch_snapshot_is_the_network_trained_that_long(engine):
    _, history = _fit(engine, SnapshotRecorder(every_epochs=1), epochs=4)
    snaps = history.snapshots
    assert snaps.epochs.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    for epochs in range(5):
        shorter, _ = _fit(engine, epochs=epochs)
        assert _same(shorter, snaps[epochs])


@settings(max_examples=40)
@given(
    n=st.integers(1, 40),
    batch_size=st.integers(1, 9),
    epochs=st.integers(0, 4),
    every_epochs=st.one_of(st.none(), st.integers(1, 3)),
    every_batches=st.one_of(st.none(), st.integers(1, 12)),
)
def test_snapshots_are_taken_exactly_when_scheduled(
    n, batch_size, epochs, every_epochs, every_batches
):
    X, y = _data(n=n)
    net = Network([12, 3, 3], seed=0)
    recorder = SnapshotRecorder(every_epochs=every_epochs, every_batches=every_batches)
    net.fit(X, y, epochs=epochs, batch_size=batch_size, progress=False,
            snapshots=recorder, monitor=False)  # fmt: skip
    per_epoch = -(-n // batch_size)
    total = epochs * per_epoch
    expected = {0, total}
    if every_batches is not None:
        expected |= set(range(0, total + 1, every_batches))
    if every_epochs is not None:
        expected |= {e * per_epoch for e in range(0, epochs + 1, every_epochs)}
    snaps = recorder.snapshots
    assert snaps.steps.tolist() == sorted(expected)
    np.testing.assert_allclose(snaps.epochs, snaps.steps / per_epoch, rtol=1e-12)


def test_metrics_are_the_history_after_each_epoch():
    X, y = _data()
    net = Network([12, 5, 3], seed=1)
    initial = net.to_mlp()
    history = net.fit(X, y, epochs=2, batch_size=5, progress=False,
                      validation_data=(X[:20], y[:20]),
                      snapshots=SnapshotRecorder(every_batches=5))  # fmt: skip
    snaps = history.snapshots
    at_epoch = snaps.epochs == np.round(snaps.epochs)
    assert sorted(snaps.metrics) == [
        "cost",
        "train_accuracy",
        "validation_accuracy",
        "validation_cost",
    ]
    np.testing.assert_array_equal(
        snaps.metrics["train_accuracy"][at_epoch][1:], history.train_accuracy
    )
    np.testing.assert_array_equal(
        snaps.metrics["validation_cost"][at_epoch][1:], history.validation_cost
    )
    # Nothing is evaluated for the snapshots themselves: no number at the
    # start nor inside an epoch (unit_dynamics(X=, y=) scores every snapshot).
    assert np.isnan(snaps.metrics["cost"][0])
    assert np.isnan(snaps.metrics["cost"][~at_epoch]).all()
    assert initial.score(X, y) >= 0  # the untrained network, still a snapshot
    assert np.array_equal(snaps[0].layers[0].weight, initial.layers[0].weight)


def test_no_monitor_no_start_metrics():
    _, history = _fit("numpy", SnapshotRecorder(), monitor=False)
    assert np.isnan(history.snapshots.metrics["cost"]).all()
    assert np.isnan(history.snapshots.metrics["train_accuracy"]).all()


def test_zero_epochs_records_the_start_only():
    net, history = _fit("numpy", SnapshotRecorder(), epochs=0)
    assert len(history.snapshots) == 1
    assert _same(net, history.snapshots[0])


def test_a_callback_that_stops_early_ends_the_snapshots():
    recorder = SnapshotRecorder(every_epochs=3)
    net, _ = _fit("numpy", recorder, epochs=10, callback=lambda n, e, h: e == 2)
    assert recorder.snapshots.epochs.tolist() == [0.0, 2.0]
    assert recorder.snapshots.complete
    assert _same(net, recorder.snapshots[-1])


@pytest.mark.parametrize("engine", ENGINES)
def test_divergence_keeps_the_snapshots_so_far(engine):
    X, y = _data()
    net = Network([12, 5, 3], activation="relu", seed=0)
    recorder = SnapshotRecorder(every_batches=2)
    with pytest.raises(NumericalError):
        net.fit(X * 1e150, y, epochs=3, batch_size=5, learning_rate=1e150,
                progress=False, engine=engine, snapshots=recorder)  # fmt: skip
    snaps = recorder.snapshots
    assert isinstance(snaps, Snapshots)
    assert not snaps.complete
    assert all(m.check_finite() is m for m in snaps)  # nothing non-finite recorded
    assert _same(net, snaps[0])  # weights restored to before the failing epoch


def test_an_interrupt_still_writes_the_file(tmp_path):
    def interrupt(net, epoch, history):
        if epoch == 2:
            raise KeyboardInterrupt

    path = tmp_path / "run.npz"
    with pytest.raises(KeyboardInterrupt):
        _fit("numpy", SnapshotRecorder(path=path), epochs=5, callback=interrupt)
    snaps = Snapshots.load(path)
    assert not snaps.complete
    assert snaps.epochs.tolist() == [0.0, 1.0]  # epoch 2 raised before recording
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.npz"]


def test_bad_snapshots_argument_is_refused_before_training():
    net = Network([12, 5, 3], seed=0)
    before = [w.copy() for w in net.weights]
    X, y = _data()
    with pytest.raises(InvalidParameterError, match="`snapshots` must be"):
        net.fit(X, y, epochs=1, progress=False, snapshots=3)

    class Bad:
        every_epochs = 0
        every_batches = None

        def record(self, *a, **k):
            pass

        def close(self, **k):
            pass

    with pytest.raises(InvalidParameterError, match=r"snapshots\.every_epochs"):
        net.fit(X, y, epochs=1, progress=False, snapshots=Bad())
    assert all(np.array_equal(a, b) for a, b in zip(before, net.weights))


def test_a_recorder_records_one_training():
    recorder = SnapshotRecorder()
    net, _ = _fit("numpy", recorder)
    before = [w.copy() for w in net.weights]
    X, y = _data()
    with pytest.raises(InvalidParameterError, match="closed"):
        net.fit(X, y, epochs=1, progress=False, snapshots=recorder)
    assert all(np.array_equal(a, b) for a, b in zip(before, net.weights))


def test_history_keeps_snapshots_out_of_its_dict(tmp_path):
    net, history = _fit("numpy", SnapshotRecorder())
    assert "snapshots" not in history.to_dict()
    again = Network.load(net.save(tmp_path / "net"))
    assert again.history.snapshots is None
    assert again.history.epoch == history.epoch
