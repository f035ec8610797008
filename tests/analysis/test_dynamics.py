"""unit_dynamics: every number equals its direct computation on the snapshots."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mlpinspect import (
    MLP,
    Dense,
    InvalidParameterError,
    Network,
    SnapshotRecorder,
    Snapshots,
    drift_from_init,
    smoothness,
    unit_dynamics,
    weight_images,
)
from mlpinspect.analysis.dynamics import _formation, _match_units, _row_correlation


@pytest.fixture(scope="module")
def trained():
    """A small image network trained for 6 epochs, a snapshot every 5 batches."""
    rng = np.random.default_rng(0)
    X = rng.random((120, 36))
    y = (X[:, :18].sum(axis=1) > X[:, 18:].sum(axis=1)).astype(int)
    net = Network([36, 5, 2], init="scaled", seed=1, input_shape=(6, 6))
    history = net.fit(
        X,
        y,
        epochs=6,
        batch_size=10,
        learning_rate=2.0,
        progress=False,
        validation_data=(X[:40], y[:40]),
        snapshots=SnapshotRecorder(every_epochs=1, every_batches=5),
    )
    return net, history, X, y


def test_numbers_equal_direct_computations(trained):
    net, history, X, y = trained
    snaps = history.snapshots
    dyn = unit_dynamics(snaps, X=X, y=y)
    assert dyn.times.tolist() == snaps.epochs.tolist()
    assert dyn.time_label == "epoch"
    assert dyn.cosine_to_init.shape == (len(snaps), 5)
    for s, mlp in enumerate(snaps):
        from_init = drift_from_init((mlp, snaps[0]))
        to_final = drift_from_init((mlp, snaps[-1]))
        np.testing.assert_allclose(dyn.cosine_to_init[s], from_init.cosine, atol=1e-14)
        np.testing.assert_allclose(
            dyn.relative_change[s], from_init.relative_change, atol=1e-14
        )
        np.testing.assert_allclose(dyn.cosine_to_final[s], to_final.cosine, atol=1e-14)
        smooth = smoothness(weight_images(mlp), n_shuffles=2)
        np.testing.assert_allclose(
            dyn.smoothness[s], smooth.neighbour_correlation, atol=1e-14
        )
        for j in range(5):
            w, w_end = mlp.layers[0].weight[j], snaps[-1].layers[0].weight[j]
            r = np.corrcoef(w, w_end)[0, 1]
            assert dyn.match_correlation[s, j] == pytest.approx(r, abs=1e-12)
        assert dyn.metrics["accuracy"][s] == mlp.score(X, y)
    # Drift at the end is drift_from_init of the network itself.
    np.testing.assert_allclose(
        dyn.cosine_to_init[-1], drift_from_init(net).cosine, atol=1e-14
    )
    np.testing.assert_array_equal(
        dyn.metrics["validation_accuracy"], snaps.metrics["validation_accuracy"]
    )
    assert (dyn.trajectory == np.arange(5)).all()
    assert (dyn.identity_fraction == 1).all()


def test_formation_is_the_first_snapshot_from_which_the_unit_stays_close(trained):
    _, history, _, _ = trained
    for threshold in (0.5, 0.9, 0.99, 1.0):
        dyn = unit_dynamics(history, threshold=threshold)
        cos = dyn.cosine_to_final
        last = len(cos) - 1  # the final weights are their own final state, even
        # where rounding makes their cosine to themselves 1 - 1e-16
        for j in range(cos.shape[1]):
            expected = min(
                s for s in range(len(cos)) if all(cos[t, j] >= threshold or t == last
                                                  for t in range(s, len(cos)))
            )  # fmt: skip
            assert dyn.formed_index[j] == expected
            assert dyn.formed_at[j] == dyn.times[expected]
        by_then = [
            np.mean([0 <= f <= s for f in dyn.formed_index]) for s in range(len(cos))
        ]
        np.testing.assert_allclose(dyn.formed_fraction, by_then)
        assert dyn.formed_fraction[-1] == 1.0


def test_units_and_layer_select_columns(trained):
    net, history, _, _ = trained
    full = unit_dynamics(history)
    some = unit_dynamics(history, units=[3, 1])
    assert some.units.tolist() == [3, 1]
    np.testing.assert_array_equal(some.cosine_to_final, full.cosine_to_final[:, [3, 1]])
    out = unit_dynamics(net, layer=-1)  # a trained Network holds its history
    assert out.layer == 1 and out.image_shape == (1, 5)
    assert out.cosine_to_init.shape == (len(history.snapshots), 2)


def test_file_backed_snapshots_give_the_same_numbers(trained, tmp_path):
    _, history, _, _ = trained
    on_disk = Snapshots.load(history.snapshots.save(tmp_path / "run"))
    a, b = unit_dynamics(history), unit_dynamics(on_disk)
    for name in ("cosine_to_init", "relative_change", "cosine_to_final", "smoothness"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


def test_matching_by_correlation_undoes_a_permutation(trained):
    _, history, _, _ = trained
    snaps = history.snapshots
    rng = np.random.default_rng(3)
    permuted, perms = [], []
    for s, mlp in enumerate(snaps):
        # The last snapshot keeps its order: it defines the units.
        p = np.arange(5) if s == len(snaps) - 1 else rng.permutation(5)
        first, second = mlp.layers
        permuted.append(
            MLP(
                [
                    Dense(first.weight[p], first.bias[p], first.activation),
                    Dense(second.weight[:, p], second.bias, second.activation),
                ],
                input_shape=(6, 6),
            )
        )
        perms.append(p)
    shuffled = Snapshots.from_models(permuted, epochs=snaps.epochs)
    by_index = unit_dynamics(snaps)
    matched = unit_dynamics(shuffled, match="correlation")
    # Unit j of the final network sits at position argsort(p)[j] of snapshot s.
    for s, p in enumerate(perms):
        assert matched.trajectory[s].tolist() == np.argsort(p).tolist()
    for name in ("cosine_to_init", "relative_change", "cosine_to_final"):
        np.testing.assert_allclose(
            getattr(matched, name), getattr(by_index, name), atol=1e-14
        )
    assert matched.identity_fraction[-1] == 1.0
    assert matched.identity_fraction.min() < 1.0


@settings(max_examples=30)
@given(
    weights=arrays(np.float64, (4, 6), elements=st.floats(-1, 1, width=32)),
    final=arrays(np.float64, (4, 6), elements=st.floats(-1, 1, width=32)),
)
def test_matching_maximises_the_total_correlation(weights, final):
    assigned = _match_units(weights, final)
    assert sorted(assigned.tolist()) == [0, 1, 2, 3]
    corr = np.nan_to_num(_row_correlation(final, weights), nan=-2.0)
    best = max(
        sum(corr[j, p[j]] for j in range(4)) for p in itertools.permutations(range(4))
    )
    assert sum(corr[j, assigned[j]] for j in range(4)) == pytest.approx(best)


@given(
    cos=arrays(
        np.float64,
        st.tuples(st.integers(1, 8), st.integers(1, 4)),
        elements=st.one_of(st.floats(-1, 1), st.just(np.nan)),
    ),
    threshold=st.floats(-0.9, 1.0),
)
def test_formation_definition(cos, threshold):
    formed = _formation(cos, threshold)
    for j in range(cos.shape[1]):
        ok = [
            s for s in range(len(cos)) if all(cos[t, j] >= threshold
                                              for t in range(s, len(cos)))
        ]  # fmt: skip
        assert formed[j] == (ok[0] if ok else -1)


def test_steps_only_snapshots_count_in_steps():
    rng = np.random.default_rng(0)
    models = [
        MLP([Dense(rng.normal(size=(2, 4)), np.zeros(2))], input_shape=(2, 2))
        for _ in range(3)
    ]
    dyn = unit_dynamics(models, threshold=0.5)  # a list of models
    assert dyn.time_label == "epoch" and dyn.times.tolist() == [0.0, 1.0, 2.0]
    by_step = unit_dynamics(Snapshots.from_models(models, steps=[0, 50, 100]))
    assert by_step.time_label == "step" and by_step.times.tolist() == [0, 50, 100]
    d = by_step.to_dict()
    assert d["per_snapshot"]["step"] == [0.0, 50.0, 100.0]
    assert d["per_unit"]["unit"] == [0, 1]
    assert "formed" in str(by_step) and "UnitDynamics" in repr(by_step)


def test_a_constant_unit_is_nan_not_a_number():
    w = np.ones((2, 4))
    w[1] = np.arange(4.0)
    models = [
        MLP([Dense(w * (1 + t), np.zeros(2))], input_shape=(2, 2)) for t in (0, 1)
    ]
    dyn = unit_dynamics(models)
    assert np.isnan(dyn.smoothness[:, 0]).all()
    assert np.isnan(dyn.match_correlation[:, 0]).all()
    assert dyn.cosine_to_final[:, 0] == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"threshold": 1.5}, "`threshold` must be <= 1"),
        ({"threshold": -1.0}, "`threshold` must be > -1"),
        ({"match": "hungarian"}, "`match` must be one of"),
        ({"X": np.zeros((2, 36))}, "`X` and `y` must be given together"),
        ({"units": [9]}, "units"),
        ({"layer": 2}, "layer"),
    ],
)
def test_bad_arguments(trained, kwargs, match):
    _, history, _, _ = trained
    with pytest.raises(InvalidParameterError, match=match):
        unit_dynamics(history, **kwargs)


def test_what_is_not_snapshots():
    net = Network([4, 3, 2], seed=0)
    with pytest.raises(InvalidParameterError, match="not been trained"):
        unit_dynamics(net)
    rng = np.random.default_rng(0)
    net.fit(rng.random((10, 4)), rng.integers(0, 2, 10), epochs=1, progress=False)
    with pytest.raises(InvalidParameterError, match="has no snapshots"):
        unit_dynamics(net)
    with pytest.raises(InvalidParameterError, match="must be Snapshots"):
        unit_dynamics(3.0)
