"""The experiment runner: configurations x seeds -> one table, locally."""

from __future__ import annotations

import math
import os
import sys

import joblib
import numpy as np
import pytest

from mlpinspect import InvalidParameterError, Network, drift_from_init, smoothness
from mlpinspect import weight_images as images_of
from mlpinspect.experiments import expand_grid, hidden_size_sweep, run_experiments


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 6))
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.5)
    return X, y


TRAIN, TEST = _data(), _data(60, seed=1)


def _run(configs, seeds=(0, 1), **kwargs):
    args = dict(train=TRAIN, test=TEST, progress=False)
    args.update(kwargs)
    return run_experiments(configs, seeds, **args)


def _by_hand(record):
    """Train the network a record describes, directly."""
    settings = {
        k: record[k]
        for k in (
            "epochs",
            "batch_size",
            "learning_rate",
            "cost",
            "l2",
            "shuffle",
            "engine",
        )
    }
    net = Network(
        list(record["sizes"]),
        record["activation"]
        if isinstance(record["activation"], str)
        else list(record["activation"]),
        init=record["init"],
        dtype=record["dtype"],
        seed=record["seed"],
    )
    net.fit(*TRAIN, progress=False, **settings)
    return net


# -- the table ----------------------------------------------------------------------


def test_table_order_is_configurations_then_seeds_and_each_run_is_the_direct_one():
    grid = {"hidden": [1, 3], "l2": [0.0, 1.0], "epochs": 2}
    table = _run(grid, seeds=[2, 0], keep_models=True)
    assert len(table) == 8 and table.n_trained == 8 and table.n_cached == 0
    expected = [(h, l2, s) for h in (1, 3) for l2 in (0.0, 1.0) for s in (2, 0)]
    assert [(r["sizes"][1], r["l2"], r["seed"]) for r in table] == expected
    for i, record in enumerate(table):
        assert record["sizes"] == (6, record["sizes"][1], 3)
        assert record["status"] == "ok" and record["error"] is None
        net = _by_hand(record)
        assert record["test_accuracy"] == net.score(*TEST)
        np.testing.assert_array_equal(table.networks[i].weights[0], net.weights[0])
        np.testing.assert_array_equal(table.networks[i].biases[-1], net.biases[-1])
        assert record["seconds"] > 0 and len(record["key"]) == 32


def test_columns_are_name_settings_seed_status_numbers_error_seconds_key():
    table = _run({"hidden": 2, "epochs": 1}, evaluate=["accuracy", "train_accuracy"])
    assert table.columns == (
        "name",
        "sizes",
        "activation",
        "init",
        "dtype",
        "epochs",
        "batch_size",
        "learning_rate",
        "cost",
        "l2",
        "shuffle",
        "engine",
        "seed",
        "status",
        "test_accuracy",
        "train_accuracy",
        "error",
        "seconds",
        "key",
    )
    record = table[0]
    assert record["activation"] == "sigmoid" and record["dtype"] == "float64"
    assert record["learning_rate"] == 3.0 and record["batch_size"] == 10
    assert record["train_accuracy"] == _by_hand(record).score(*TRAIN)


def test_parallel_runs_equal_serial_runs_bit_for_bit():
    grid = {"hidden": [2, 5], "init": ["normal", "scaled"], "epochs": 2}
    serial = _run(grid, seeds=[0, 1], keep_models=True)
    parallel = _run(grid, seeds=[0, 1], keep_models=True, n_jobs=2)
    assert parallel.column("test_accuracy") == serial.column("test_accuracy")
    assert parallel.column("key") == serial.column("key")
    for i in range(len(serial)):
        for a, b in zip(serial.networks[i].weights, parallel.networks[i].weights):
            np.testing.assert_array_equal(a, b)


def test_a_list_of_configurations_with_names_sizes_and_per_layer_activations():
    configs = [
        {
            "name": "deep",
            "sizes": [6, 4, 4, 3],
            "activation": ["relu", "relu", "softmax"],
            "cost": "cross_entropy",
            "learning_rate": 0.1,
            "epochs": 2,
        },
        {"name": "wide", "hidden": 8, "init": "he", "dtype": "float32", "epochs": 2},
    ]
    table = _run(configs, seeds=[3], keep_models=True)
    assert table.column("name") == ["deep", "wide"]
    assert table[0]["activation"] == ("relu", "relu", "softmax")
    assert table[1]["sizes"] == (6, 8, 3) and table[1]["dtype"] == "float32"
    assert table.networks[1].dtype == np.float32
    for i, record in enumerate(table):
        net = _by_hand(record)
        np.testing.assert_array_equal(table.networks[i].weights[0], net.weights[0])


def test_n_outputs_comes_from_the_labels_or_the_argument():
    assert _run({"hidden": 2, "epochs": 1})[0]["sizes"] == (6, 2, 3)
    one_hot = (TRAIN[0], np.eye(4)[TRAIN[1]])
    table = _run({"hidden": 2, "epochs": 1}, train=one_hot, test=None, evaluate=())
    assert table[0]["sizes"] == (6, 2, 4)
    table = _run({"hidden": 2, "epochs": 1}, n_outputs=5)
    assert table[0]["sizes"] == (6, 2, 5)
    binary = (TRAIN[0], (TRAIN[1] > 0).astype(int))
    table = _run(
        [{"sizes": [6, 3, 1], "epochs": 1}],
        train=binary,
        test=(TEST[0], (TEST[1] > 0).astype(int)),
    )
    assert 0 <= table[0]["test_accuracy"] <= 1


def test_equal_runs_are_trained_once_and_each_record_gets_its_network():
    configs = [
        {"name": "a", "hidden": 3, "epochs": 1},
        {"name": "b", "hidden": 3, "epochs": 1, "engine": "auto"},
    ]
    table = _run(configs, seeds=[0], keep_models=True)
    assert table.n_trained == 1 and table[0]["key"] == table[1]["key"]
    # the default engine is "auto", recorded as the loop that ran
    from mlpinspect.network import resolve_engine

    ran = resolve_engine("auto", ("sigmoid",))
    assert table[0]["engine"] == table[1]["engine"] == ran != "auto"
    assert table.networks[0] is not table.networks[1]
    np.testing.assert_array_equal(
        table.networks[0].weights[0], table.networks[1].weights[0]
    )


def test_monitor_records_every_epoch_on_training_and_test_data():
    table = _run({"hidden": 2, "epochs": 3}, seeds=[0], keep_models=True, monitor=True)
    history = table.networks[0].history
    assert len(history.validation_accuracy) == 3
    assert history.validation_accuracy[-1] == table[0]["test_accuracy"]
    quiet = _run({"hidden": 2, "epochs": 3}, seeds=[0], keep_models=True)
    assert math.isnan(quiet.networks[0].history.cost[0])
    assert quiet[0]["key"] != table[0]["key"]  # monitoring is part of the key


# -- evaluations ----------------------------------------------------------------------


def test_built_in_evaluations_equal_the_analysis_functions():
    table = _run(
        {"hidden": 4, "epochs": 2},
        seeds=[1],
        keep_models=True,
        evaluate=["drift", "smoothness", "accuracy"],
    )
    net, record = table.networks[0], table[0]
    drift = drift_from_init(net)
    assert record["drift_cosine"] == drift.mean_cosine
    assert record["drift_relative_change"] == drift.mean_relative_change
    assert record["smoothness"] == smoothness(images_of(net, layer=0)).mean
    assert (
        record["smoothness_at_init"]
        == smoothness(images_of(net.initial_mlp(), layer=0)).mean
    )
    assert list(table.columns).index("drift_cosine") < list(table.columns).index(
        "test_accuracy"
    )


def _norms(network, X_test, y_test):
    return {
        "weight_norm": float(np.linalg.norm(network.weights[0])),
        "n_test": len(y_test),
        "wide": network.sizes[1] > 2,
    }


def test_a_function_of_the_trained_network_adds_its_numbers():
    table = _run(
        {"hidden": [2, 4], "epochs": 1},
        seeds=[0],
        keep_models=True,
        evaluate=["accuracy", _norms],
    )
    assert table.column("n_test") == [60, 60]
    assert table.column("wide") == [False, True]
    assert table[1]["weight_norm"] == float(
        np.linalg.norm(table.networks[1].weights[0])
    )


def _fails_on_wide(network, X_test, y_test):
    if network.sizes[1] > 2:
        raise ValueError("too wide for this test")
    return {"ok": 1}


@pytest.mark.parametrize(
    ("evaluate", "message"),
    [
        (_fails_on_wide, "ValueError: too wide for this test"),
        (
            lambda net, X, y: {"x": "text"} if net.sizes[1] > 2 else {"x": 1},
            "InvalidParameterError: the evaluation function",
        ),
        (
            lambda net, X, y: {"seed": 1} if net.sizes[1] > 2 else {"x": 1},
            "already a column",
        ),
        (lambda net, X, y: [1] if net.sizes[1] > 2 else {"x": 1}, "must return a dict"),
    ],
)
def test_a_failing_run_is_recorded_with_its_error_and_the_others_are_kept(
    evaluate, message
):
    table = _run({"hidden": [2, 4], "epochs": 1}, seeds=[0, 1], evaluate=[evaluate])
    assert table.column("status") == ["ok", "ok", "failed", "failed"]
    assert all(message in e for e in table.failed.column("error"))
    assert table.column("error")[:2] == [None, None]
    values = table.column(table.columns[14])  # the numbers: NaN for a failure
    assert values[0] == 1 and math.isnan(values[2])
    assert "(2 failed; see .failed)" in str(table)


def test_a_diverging_training_is_a_failed_run():
    configs = [
        {"hidden": 2, "epochs": 1},
        {"hidden": 2, "epochs": 1, "activation": "identity", "learning_rate": 1e3},
    ]
    table = _run(configs, seeds=[0])
    assert table.column("status") == ["ok", "failed"]
    assert table[1]["error"].startswith("NumericalError: training diverged")


# -- checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("configs", "kwargs", "match"),
    [
        ({"hidden": 2, "momentum": 0.9}, {}, r"configs\[0\]` has unknown settings"),
        (
            [{"hidden": 2}, {"sizes": [6, 2, 3], "hidden": 2}],
            {},
            r"`configs\[1\]` must give the layers either .* got both",
        ),
        ({"epochs": 1}, {}, "got neither"),
        ([{"sizes": [5, 2, 3]}], {}, r"`configs\[0\]\['sizes'\]\[0\]` must be 6"),
        ({"sizes": [6, 2, 3]}, {}, "list of alternatives, each a list"),
        ({"hidden": 2, "activation": "sigmod"}, {}, r"configs\[0\]: .*sigmod"),
        (
            {"hidden": 2, "activation": ["softmax", "softmax"]},
            {},
            "only allowed on the output layer",
        ),
        (
            {"hidden": 2, "activation": "identity", "cost": "cross_entropy"},
            {},
            "needs a sigmoid or softmax output",
        ),
        ({"hidden": 2, "dtype": "float16"}, {}, "'float32' or 'float64'"),
        ({"hidden": 2, "engine": "cuda"}, {}, r"\['engine'\]` must be one of"),
        ({"hidden": 2, "epochs": -1}, {}, r"\['epochs'\]` must be >= 0"),
        ({"hidden": 2, "learning_rate": 0}, {}, r"learning_rate'\]` must be > 0"),
        ({"hidden": 2, "shuffle": "yes"}, {}, "True or False"),
        ({"hidden": 2}, {"n_jobs": 0}, "`n_jobs` must be a positive"),
        ({"hidden": 2}, {"seeds": []}, "`seeds` must not be empty"),
        ({"hidden": 2}, {"seeds": [-1]}, r"`seeds\[0\]` must be >= 0"),
        ({"hidden": 2}, {"evaluate": ["accuracy", "speed"]}, r"`evaluate\[1\]`"),
        ({"hidden": 2}, {"evaluate": [42]}, "evaluation name or a function"),
        ({"hidden": 2}, {"test": None}, "needs `test` data"),
        ({"hidden": 2}, {"train": (np.zeros((4, 6)), ["a"] * 4)}, "class positions"),
        ({"hidden": 2}, {"test": (np.zeros((3, 5)), [0, 1, 2])}, r"test\[0\]"),
        ({"hidden": 2}, {"test": (TEST[0], TEST[1] + 5)}, r"test\[1\]"),
        ({"hidden": 2}, {"keep_models": 1}, "`keep_models` must be True or False"),
        ([], {}, "non-empty list of configurations"),
        ("hidden=2", {}, "must be a grid"),
    ],
)
def test_bad_arguments_are_refused_before_any_training(configs, kwargs, match):
    args = {"seeds": [0], **kwargs}
    seeds = args.pop("seeds")
    with pytest.raises(InvalidParameterError, match=match):
        _run(configs, seeds, **args)


def test_grids_expand_list_valued_settings_by_their_alternatives():
    assert expand_grid(
        {"hidden": [2, [4, 4]], "activation": [["relu", "softmax"]]}
    ) == [
        {"hidden": 2, "activation": ["relu", "softmax"]},
        {"hidden": [4, 4], "activation": ["relu", "softmax"]},
    ]
    assert expand_grid({"sizes": [[6, 2, 3]], "seedless": 1}) == [
        {"sizes": [6, 2, 3], "seedless": 1}
    ]
    for bad, match in [
        ({}, "at least one setting"),
        ({"l2": []}, "at least one"),
        ({"l2": [[1.0]]}, "nested list"),
        ([1], "mapping"),
    ]:
        with pytest.raises(InvalidParameterError, match=match):
            expand_grid(bad)


def test_seeds_may_be_a_count():
    assert _run({"hidden": 2, "epochs": 1}, seeds=3).column("seed") == [0, 1, 2]


# -- progress and workers ----------------------------------------------------------


def test_progress_says_runs_done_of_total_and_the_time_left(capsys):
    _run({"hidden": [2, 3], "epochs": 1}, seeds=[0, 1], progress=True)
    lines = capsys.readouterr().err.splitlines()
    assert lines[0] == "training 4 runs on 1 worker (this process)"
    assert lines[1].startswith("[1/4] hidden=2 seed=0  test_accuracy=")
    assert "elapsed, about" in lines[1] and "left)" in lines[1]
    assert lines[4].startswith("[4/4] hidden=3 seed=1")
    assert lines[5].startswith("done: 4 trained (0 failed) in ")


def _loky_workers():
    psutil = pytest.importorskip("psutil")
    return [
        p
        for p in psutil.Process().children(recursive=True)
        if any("popen_loky" in part for part in p.cmdline())
    ]


@pytest.mark.skipif(sys.platform == "win32", reason="loky's POSIX launcher")
def test_never_more_workers_than_runs(capsys):
    before = len(_loky_workers())
    # One run with n_jobs=48 used to start 48 processes; it now runs here.
    hidden_size_sweep(
        [2],
        seeds=[0],
        train=TRAIN,
        test=TEST,
        n_outputs=3,
        epochs=1,
        n_jobs=48,
        progress=True,
    )
    assert "on 1 worker (this process)" in capsys.readouterr().err
    assert len(_loky_workers()) == before
    # Three runs with n_jobs=48: three workers at most.
    _run({"hidden": [2, 3, 4], "epochs": 1}, seeds=[0], n_jobs=48, progress=True)
    assert "training 3 runs on 3 workers (loky)" in capsys.readouterr().err
    assert len(_loky_workers()) <= 3


def _where(network, X_test, y_test):
    memmapped = isinstance(X_test, np.memmap) or isinstance(
        getattr(X_test, "base", None), np.memmap
    )
    return {"pid": os.getpid(), "memmapped": memmapped}


def test_local_workers_share_the_data_through_one_memory_map():
    with joblib.parallel_config(max_nbytes="1K"):  # our test data is small
        table = _run(
            {"hidden": [2, 3], "epochs": 1}, seeds=[0, 1], n_jobs=2, evaluate=[_where]
        )
    assert all(table.column("memmapped"))
    assert os.getpid() not in table.column("pid")


def test_one_worker_runs_in_this_process_on_the_arrays_as_given():
    table = _run({"hidden": 2, "epochs": 1}, seeds=[0], evaluate=[_where])
    assert table[0]["pid"] == os.getpid() and table[0]["memmapped"] is False


def test_an_unaligned_array_reaches_the_trainer_aligned():
    from mlpinspect.experiments import _data

    raw = np.zeros(8 * 120 * 6 + 1, dtype=np.uint8)
    X = np.frombuffer(raw.data, dtype=np.float64, count=120 * 6, offset=1)
    X = X.reshape(120, 6)
    assert not X.flags.aligned  # as Dask may deliver a scattered array
    received = _data.receive(X)
    assert received.flags.aligned and np.array_equal(received, X, equal_nan=True)
    aligned = np.ones((3, 2))
    assert _data.receive(aligned) is aligned


def test_keep_models_may_choose_the_runs_whose_networks_come_back(tmp_path):
    table = _run(
        {"hidden": [2, 3], "epochs": 1},
        seeds=[0, 1],
        keep_models=lambda run: run["seed"] == 1 and run["sizes"][1] == 3,
        cache_dir=tmp_path,
    )
    assert list(table.networks) == [3]
    np.testing.assert_array_equal(
        table.networks[3].weights[0], _by_hand(table[3]).weights[0]
    )
    assert len(list(tmp_path.glob("*.npz"))) == 1
    with pytest.raises(InvalidParameterError, match="must return True or False"):
        _run({"hidden": 2, "epochs": 1}, keep_models=lambda run: "yes")
