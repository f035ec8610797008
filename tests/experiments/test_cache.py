"""Resumable experiments: every finished run on disk, a re-run completes the rest."""

from __future__ import annotations

import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import mlpinspect
from mlpinspect import InvalidParameterError
from mlpinspect.experiments import CacheWarning, run_experiments


def _data(n=120, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 6))
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.5)
    return X, y


TRAIN, TEST = _data(), _data(60, seed=1)
GRID = {"hidden": [2, 3], "l2": [0.0, 0.5], "epochs": 2}


def _run(cache, configs=GRID, seeds=(0, 1), **kwargs):
    args = dict(train=TRAIN, test=TEST, progress=False, cache_dir=cache)
    args.update(kwargs)
    return run_experiments(configs, seeds, **args)


def _same(a, b):
    """Tables equal record by record (NaN equal to NaN)."""
    assert a.columns == b.columns and len(a) == len(b)
    for ra, rb in zip(a, b):
        for column in a.columns:
            x, y = ra[column], rb[column]
            if isinstance(x, float) and math.isnan(x):
                assert isinstance(y, float) and math.isnan(y), column
            else:
                assert x == y, (column, x, y)


def test_each_run_is_one_json_record_keyed_by_its_ingredients(tmp_path):
    table = _run(tmp_path)
    files = sorted(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".json"] * 8  # nothing else, no temp file
    record = json.loads((tmp_path / f"{table[0]['key']}.json").read_text())
    ingredients = record["ingredients"]
    # The documented key: SHA-256 of the ingredients, sorted keys, no spaces.
    text = json.dumps(ingredients, sort_keys=True, separators=(",", ":"))
    assert table[0]["key"] == hashlib.sha256(text.encode()).hexdigest()[:32]
    assert set(ingredients) == {
        "cache_format",
        "settings",
        "seed",
        "data",
        "evaluate",
        "monitor",
    }
    assert ingredients["settings"]["sizes"] == [6, 2, 3]
    assert ingredients["settings"]["activation"] == ["sigmoid", "sigmoid"]
    assert ingredients["seed"] == 0 and ingredients["evaluate"] == ["accuracy"]
    assert record["status"] == "ok" and record["error"] is None
    assert record["metrics"] == {"test_accuracy": table[0]["test_accuracy"]}
    assert record["seconds"] == table[0]["seconds"]
    assert record["mlpinspect"] == mlpinspect.__version__


def test_a_rerun_reads_every_run_and_gives_the_same_table(tmp_path, capsys):
    first = _run(tmp_path)
    again = _run(tmp_path, progress=True)
    assert (first.n_trained, again.n_trained, again.n_cached) == (8, 0, 8)
    _same(first, again)
    err = capsys.readouterr().err
    assert "8 of 8 runs read from the cache" in err and "training" not in err


def test_a_larger_grid_trains_only_its_new_runs(tmp_path):
    _run(tmp_path)
    bigger = _run(tmp_path, {**GRID, "hidden": [2, 3, 4]}, seeds=(0, 1, 2))
    assert (bigger.n_cached, bigger.n_trained) == (8, 18 - 8)
    fresh = _run(None, {**GRID, "hidden": [2, 3, 4]}, seeds=(0, 1, 2))
    assert bigger.column("test_accuracy") == fresh.column("test_accuracy")


def test_the_key_follows_the_data_the_settings_and_the_evaluations(tmp_path):
    base = _run(tmp_path, seeds=[0])
    X = TRAIN[0].copy()
    X[0, 0] += 1e-12  # one value of the training data
    assert _run(tmp_path, train=(X, TRAIN[1]), seeds=[0]).n_cached == 0
    assert (
        _run(tmp_path, train=(X.astype(np.float32), TRAIN[1]), seeds=[0]).n_cached == 0
    )
    assert _run(tmp_path, test=_data(60, seed=2), seeds=[0]).n_cached == 0
    assert _run(tmp_path, {**GRID, "batch_size": 5}, seeds=[0]).n_cached == 0
    assert _run(tmp_path, evaluate=["accuracy", "drift"], seeds=[0]).n_cached == 0
    # A name is a label: the same runs.
    named = [
        {"name": f"run {i}", **c}
        for i, c in enumerate(
            [{"hidden": h, "l2": l2, "epochs": 2} for h in (2, 3) for l2 in (0.0, 0.5)]
        )
    ]
    relabelled = _run(tmp_path, named, seeds=[0])
    assert relabelled.n_cached == 4
    assert relabelled.column("key") == base.column("key")
    assert relabelled.column("name") == ["run 0", "run 1", "run 2", "run 3"]


def _norm(network, X_test, y_test):
    return {"norm": float(np.linalg.norm(network.weights[0]))}


def _norm_edited(network, X_test, y_test):
    return {"norm": float(np.linalg.norm(network.weights[0])) + 1.0}


def test_an_evaluation_function_is_keyed_by_its_name_and_code(tmp_path):
    first = _run(tmp_path, evaluate=[_norm], seeds=[0])
    assert _run(tmp_path, evaluate=[_norm], seeds=[0]).n_cached == 4
    _norm_edited.__name__ = _norm_edited.__qualname__ = "_norm"  # same name, new code
    edited = _run(tmp_path, evaluate=[_norm_edited], seeds=[0])
    assert edited.n_cached == 0
    assert edited.column("norm") == [v + 1.0 for v in first.column("norm")]


def _fail_on_three(network, X_test, y_test):
    if network.sizes[1] == 3:
        raise RuntimeError("three is a failure")
    return {"h": network.sizes[1]}


def test_failed_runs_are_kept_and_retried_only_when_asked(tmp_path):
    first = _run(tmp_path, evaluate=[_fail_on_three])
    assert first.column("status").count("failed") == 4
    failed = json.loads((tmp_path / f"{first.failed[0]['key']}.json").read_text())
    assert failed["status"] == "failed" and failed["metrics"] == {}
    assert failed["error"]["type"] == "RuntimeError"
    assert failed["error"]["message"] == "three is a failure"
    assert "Traceback" in failed["error"]["traceback"]
    again = _run(tmp_path, evaluate=[_fail_on_three])
    assert again.n_trained == 0
    _same(first, again)
    retried = _run(tmp_path, evaluate=[_fail_on_three], retry_failed=True)
    assert retried.n_trained == 4 and retried.n_cached == 4


def test_trained_networks_are_kept_as_npz_and_read_back(tmp_path):
    first = _run(tmp_path, seeds=[0], keep_models=True)
    npz = sorted(tmp_path.glob("*.npz"))
    assert len(npz) == 4
    with np.load(npz[0], allow_pickle=False) as archive:  # no pickle inside
        assert "weight_0" in archive.files
    again = _run(tmp_path, seeds=[0], keep_models=True)
    assert again.n_trained == 0
    for i in range(4):
        for a, b in zip(first.networks[i].weights, again.networks[i].weights):
            np.testing.assert_array_equal(a, b)
    # A run whose network is needed but missing is trained again.
    (tmp_path / f"{first[1]['key']}.npz").unlink()
    third = _run(tmp_path, seeds=[0], keep_models=True)
    assert third.n_trained == 1
    np.testing.assert_array_equal(
        third.networks[1].weights[0], first.networks[1].weights[0]
    )


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b'{"format": "something else"}',
        b"[1, 2, 3]",
        b"\xff\xfe",
    ],
)
def test_an_unusable_record_is_reported_and_its_run_done_again(tmp_path, content):
    first = _run(tmp_path, seeds=[0])
    path = tmp_path / f"{first[2]['key']}.json"
    path.write_bytes(content)
    with pytest.warns(CacheWarning, match="is unusable"):
        again = _run(tmp_path, seeds=[0])
    assert again.n_trained == 1
    _same(
        first.filter(lambda r: r["key"] != first[2]["key"]),
        again.filter(lambda r: r["key"] != first[2]["key"]),
    )
    assert json.loads(path.read_text())["status"] == "ok"  # rewritten


def test_a_record_of_another_run_is_not_trusted(tmp_path):
    first = _run(tmp_path, seeds=[0])
    a, b = (tmp_path / f"{first[i]['key']}.json" for i in (0, 1))
    a.write_bytes(b.read_bytes())
    with pytest.warns(CacheWarning, match="not those of the run"):
        assert _run(tmp_path, seeds=[0]).n_trained == 1


def test_a_cache_folder_that_is_a_file_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(InvalidParameterError, match="`cache_dir` must be a folder"):
        _run(path)
    with pytest.raises(InvalidParameterError, match="`cache_dir` must be a folder"):
        _run(42)


# -- killed midway ------------------------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from mlpinspect.experiments import run_experiments

    rng = np.random.default_rng(0)
    X = rng.random((3000, 20))
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.5)
    run_experiments({"hidden": [4, 8, 16], "epochs": 3}, seeds=4, train=(X, y),
                    test=(X[:500], y[:500]), cache_dir=sys.argv[1], n_jobs=1,
                    progress=False)
    """
)


def _count(folder: Path) -> int:
    return len(list(folder.glob("*.json")))


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_sweep_resumes_with_only_the_missing_runs(tmp_path):
    cache = tmp_path / "runs"
    script = tmp_path / "sweep.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    process = subprocess.Popen([sys.executable, str(script), str(cache)], env=env)
    deadline = time.monotonic() + 300
    try:
        while _count(cache) < 3 if cache.exists() else True:
            assert process.poll() is None, "the sweep ended before it was killed"
            assert time.monotonic() < deadline, "the sweep made no progress"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    done = _count(cache)
    assert 3 <= done < 12  # killed midway
    # Only complete records remain: every file parses; temporary files start with
    # a dot and are never read as runs.
    for path in cache.glob("*.json"):
        json.loads(path.read_text())

    rng = np.random.default_rng(0)
    X = rng.random((3000, 20))
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.5)
    args = dict(seeds=4, train=(X, y), test=(X[:500], y[:500]), progress=False)
    grid = {"hidden": [4, 8, 16], "epochs": 3}
    resumed = run_experiments(grid, cache_dir=cache, **args)
    assert (resumed.n_cached, resumed.n_trained) == (done, 12 - done)
    assert _count(cache) == 12
    fresh = run_experiments(grid, **args)
    assert resumed.column("test_accuracy") == fresh.column("test_accuracy")
    assert resumed.column("key") == fresh.column("key")
