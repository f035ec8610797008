"""The same experiment on a cluster: a real Dask LocalCluster on loopback (and Ray
when it is installed) gives exactly the local results."""

from __future__ import annotations

import os

import numpy as np
import pytest

from mlpinspect.experiments import run_experiments

joblib = pytest.importorskip("joblib")


def _data(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.random((n, 8))
    y = (X[:, 0] + X[:, 1] > 1).astype(int) + (X[:, 2] > 0.5)
    return X, y


TRAIN, TEST = _data(), _data(100, seed=1)
GRID = {"hidden": [2, 5], "init": ["normal", "scaled"], "epochs": 3}
SEEDS = [0, 1]


def _where(network, X_test, y_test):
    return {"pid": os.getpid()}


def _run(**kwargs):
    return run_experiments(
        GRID, SEEDS, train=TRAIN, test=TEST, progress=False, keep_models=True, **kwargs
    )


@pytest.fixture(scope="module")
def local():
    return _run()


def _assert_same_networks(a, b):
    assert a.column("key") == b.column("key")
    assert a.column("test_accuracy") == b.column("test_accuracy")
    for i in range(len(a)):
        for wa, wb in zip(a.networks[i].weights, b.networks[i].weights):
            np.testing.assert_array_equal(wa, wb)
        for ba, bb in zip(a.networks[i].biases, b.networks[i].biases):
            np.testing.assert_array_equal(ba, bb)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


def test_a_dask_cluster_gives_the_local_networks_bit_for_bit(
    local, dask_client, monkeypatch
):
    scattered = []
    scatter = dask_client.scatter

    def counting_scatter(data, *args, **kwargs):
        scattered.append(data)
        return scatter(data, *args, **kwargs)

    monkeypatch.setattr(dask_client, "scatter", counting_scatter)
    with joblib.parallel_config(backend="dask"):
        remote = _run()
    _assert_same_networks(local, remote)
    # The training inputs went to the cluster once, not once per run (8 runs).
    assert sum(1 for d in scattered if d is TRAIN[0]) == 1


def test_on_dask_runs_happen_on_the_workers_and_the_cache_is_written_here(
    dask_client, tmp_path
):
    with joblib.parallel_config(backend="dask"):
        table = run_experiments(
            GRID,
            SEEDS,
            train=TRAIN,
            test=TEST,
            progress=False,
            evaluate=["accuracy", _where],
            cache_dir=tmp_path,
        )
    workers = set(dask_client.run(os.getpid).values())
    assert set(table.column("pid")) <= workers and os.getpid() not in workers
    assert len(list(tmp_path.glob("*.json"))) == 8
    # Resumed locally, from the cache the cluster run wrote.
    again = run_experiments(
        GRID,
        SEEDS,
        train=TRAIN,
        test=TEST,
        progress=False,
        evaluate=["accuracy", _where],
        cache_dir=tmp_path,
    )
    assert again.n_trained == 0 and again.column("pid") == table.column("pid")


def test_the_sweep_command_runs_on_a_dask_scheduler(dask_client, tmp_path, capsys):
    from mlpinspect.cli import main

    grid = tmp_path / "grid.toml"
    grid.write_text("seeds = 2\n[grid]\nhidden = [2, 3]\nepochs = 1\n")
    address = dask_client.scheduler.address
    out = tmp_path / "out"
    assert main(["sweep", str(grid), "--out", str(out), "--dask", address]) == 0
    err = capsys.readouterr().err
    assert "training 4 runs on 2 workers (dask)" in err
    assert len(list((out / "runs").glob("*.json"))) == 4


# Ray forks helper processes; JAX, when an earlier test in this worker loaded
# it, warns at every fork (the children exec at once, JAX is not used there).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
def test_a_ray_cluster_gives_the_local_networks_bit_for_bit(local):
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    from mlpinspect.experiments import _data

    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        configure_logging=False,
    )
    try:
        register_ray()
        with joblib.parallel_config(backend="ray"):
            backend, _ = joblib.parallel.get_active_backend()
            shipped = _data.ship((TRAIN[0], None), backend)
            assert isinstance(shipped[0], _data.RayRef) and shipped[1] is None
            remote = _run(n_jobs=2)
    finally:
        ray.shutdown()
    _assert_same_networks(local, remote)
