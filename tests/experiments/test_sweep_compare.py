"""The hidden-size sweep and the training comparison, thin uses of the runner."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from mlpinspect import ExperimentError, InvalidParameterError, Network
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
    assert lines[0] == "training 4 runs on 1 worker (this process)"
    runs = [line for line in lines if line.startswith("[")]
    assert [line[:5] for line in runs] == ["[1/4]", "[2/4]", "[3/4]", "[4/4]"]
    assert "hidden=1 seed=0" in runs[0] and "test_accuracy=" in runs[0]
    assert "left)" in runs[0] and runs[-1].endswith("elapsed)")
    assert lines[-1].startswith("done: 4 trained (0 failed)")


def test_a_diverging_run_fails_the_sweep_after_every_run_finished(tmp_path):
    with pytest.raises(ExperimentError, match=r"runs of the sweep failed") as info:
        _sweep(activation="identity", learning_rate=1e3, cache_dir=tmp_path)
    table = info.value.table
    assert len(table) == 4 and len(table.failed) == 4
    assert "NumericalError" in table.failed[0]["error"]
    assert len(list(tmp_path.glob("*.json"))) == 4  # recorded, not lost


def test_the_sweep_resumes_from_its_cache(tmp_path):
    first = _sweep(cache_dir=tmp_path)
    X, y = _data()
    again = hidden_size_sweep(
        [1, 4],
        seeds=[0, 1],
        train=(X, y),
        test=_data(60, seed=1),
        n_outputs=3,
        epochs=3,
        progress=False,
        cache_dir=tmp_path,
    )
    np.testing.assert_array_equal(first.accuracy, again.accuracy)


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


def test_sweep_refuses_no_sizes():
    X, y = _data()
    with pytest.raises(InvalidParameterError, match="`sizes` must not be empty"):
        hidden_size_sweep([], train=(X, y), test=(X, y), progress=False)


def test_compare_training_networks_equal_training_each_by_hand():
    X, y = _data()
    test = _data(60, seed=1)
    result = compare_training(
        {"plain": {}, "l2": {"l2": 2.0, "cost": "cross_entropy", "init": "scaled"}},
        train=(X, y),
        test=test,
        sizes=(6, 5, 3),
        seed=4,
        epochs=3,
        progress=False,
        n_jobs=2,
    )
    for name, settings in [("plain", {}), ("l2", {"l2": 2.0, "cost": "cross_entropy"})]:
        init = "scaled" if name == "l2" else "normal"
        net = Network([6, 5, 3], seed=4, init=init)
        history = net.fit(  # the experiments' default engine is fit's: "auto"
            X, y, epochs=3, validation_data=test, progress=False, **settings,
        )  # fmt: skip
        np.testing.assert_array_equal(result[name].weights[0], net.weights[0])
        np.testing.assert_array_equal(result[name].biases[1], net.biases[1])
        assert result.histories[name].validation_accuracy == (
            history.validation_accuracy
        )
        assert result.histories[name].cost == history.cost
        assert result.test_accuracy[name] == net.score(*test)


def test_compare_training_keeps_networks_in_its_cache(tmp_path):
    X, y = _data()
    kwargs = dict(
        train=(X, y), sizes=(6, 4, 3), epochs=2, progress=False, cache_dir=tmp_path
    )
    first = compare_training({"a": {}, "b": {"learning_rate": 0.5}}, **kwargs)
    assert len(list(tmp_path.glob("*.npz"))) == 2
    again = compare_training({"a": {}, "b": {"learning_rate": 0.5}}, **kwargs)
    for name in ("a", "b"):
        np.testing.assert_array_equal(first[name].weights[0], again[name].weights[0])
        assert again.histories[name].cost == first.histories[name].cost
