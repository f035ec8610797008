"""Tests of the multi-run experiments: hidden-size sweep and training comparison."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mlpinspect import InvalidParameterError, Network
from mlpinspect.experiments import (
    STUDY_COMPARISON,
    STUDY_SWEEP_REFERENCE,
    compare_training,
    hidden_size_sweep,
)


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 6))
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.5)
    return X, y


def _sweep(**kwargs):
    X, y = _data()
    args = dict(
        seeds=[0, 1],
        train=(X, y),
        test=_data(60, seed=1),
        n_outputs=3,
        epochs=3,
        progress=False,
    )
    args.update(kwargs)
    return hidden_size_sweep([1, 4], **args)


def test_sweep_equals_training_each_network_by_hand():
    result = _sweep()
    X, y = _data()
    X_test, y_test = _data(60, seed=1)
    for i, h in enumerate([1, 4]):
        for j, seed in enumerate([0, 1]):
            net = Network([6, h, 3], seed=seed)
            net.fit(X, y, epochs=3, progress=False)
            assert result.accuracy[i, j] == net.score(X_test, y_test)
    np.testing.assert_allclose(result.mean, result.accuracy.mean(axis=1))
    np.testing.assert_allclose(result.min, result.accuracy.min(axis=1))
    np.testing.assert_allclose(result.std, result.accuracy.std(axis=1, ddof=1))


def test_sweep_in_parallel_processes_gives_the_same_numbers():
    serial = _sweep()
    parallel = _sweep(n_jobs=2)
    np.testing.assert_array_equal(serial.accuracy, parallel.accuracy)


@pytest.mark.parametrize(
    "engine",
    [
        "numpy",
        pytest.param(
            "numba",
            marks=pytest.mark.skipif(
                importlib.util.find_spec("numba") is None,
                reason="numba is not installed",
            ),
        ),
    ],
)
def test_the_engine_reaches_every_network(engine):
    sweep = _sweep(engine=engine, n_jobs=2)
    X, y = _data()
    X_test, y_test = _data(60, seed=1)
    net = Network([6, 4, 3], seed=1)
    net.fit(X, y, epochs=3, progress=False, engine=engine)
    assert sweep.accuracy[1, 1] == net.score(X_test, y_test)
    assert sweep.settings["engine"] == engine
    comparison = compare_training(
        {"a": {}, "b": {"engine": "numpy"}},
        train=(X, y),
        sizes=(6, 4, 3),
        epochs=2,
        progress=False,
        engine=engine,
    )
    assert comparison.histories["a"].config["engine"] == engine
    assert comparison.histories["b"].config["engine"] == "numpy"


def test_sweep_table_prints_and_converts():
    result = _sweep(reference={4: 0.5})
    text = str(result)
    assert text.splitlines()[0].split()[:2] == ["hidden", "mean"]
    assert "50.00%" in text  # the reference beside size 4
    as_dict = result.to_dict()
    assert [r["hidden"] for r in as_dict["results"]] == [1, 4]
    assert as_dict["results"][1]["reference"] == 0.5
    assert len(as_dict["results"][0]["runs"]) == 2
    assert result.to_markdown().count("\n") == 3
    assert _sweep().reference == STUDY_SWEEP_REFERENCE


def test_sweep_progress_lines(capsys):
    _sweep(progress=True)
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 4
    assert lines[-1].endswith("(4/4)")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seeds": []}, "must not be empty"),
        ({"n_jobs": 0}, "n_jobs"),
        ({"cost": "hinge"}, "`cost` must be one of"),
        ({"init": "zeros"}, "`init` must be one of"),
        ({"test": (np.zeros((3, 5)), [0, 1, 2])}, r"test\[0\]"),
        ({"train": np.zeros(3)}, "pair"),
    ],
)
def test_sweep_rejects_bad_arguments(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        _sweep(**kwargs)


def test_compare_training_uses_the_same_seed_for_every_configuration():
    X, y = _data()
    result = compare_training(
        {"slow": {"learning_rate": 0.1}, "fast": {"learning_rate": 3.0}},
        train=(X, y),
        test=_data(60, seed=1),
        sizes=(6, 5, 3),
        epochs=2,
        progress=False,
    )
    assert result.names == ["slow", "fast"]
    a, b = result["slow"], result["fast"]
    np.testing.assert_array_equal(a.initial_weights[0], b.initial_weights[0])
    assert not np.array_equal(a.weights[0], b.weights[0])
    assert len(result.histories["fast"]) == 2
    assert 0 <= result.test_accuracy["fast"] <= 1
    assert result.configs["slow"]["learning_rate"] == 0.1
    assert "fast" in str(result)


def test_compare_training_defaults_to_the_two_study_trainings():
    X, y = _data()
    X = np.tile(X, (1, 131))[:, :784]
    result = compare_training(train=(X, y), epochs=1, progress=False)
    assert result.names == list(STUDY_COMPARISON)
    second = result[result.names[1]]
    assert second.init == "scaled"
    assert result.configs[result.names[1]]["l2"] == 5.0
    assert np.isnan(result.test_accuracy[result.names[0]])


def test_compare_training_rejects_unknown_settings():
    X, y = _data()
    with pytest.raises(InvalidParameterError, match="unknown settings"):
        compare_training(
            {"x": {"momentum": 0.9}}, train=(X, y), sizes=(6, 3), progress=False
        )
