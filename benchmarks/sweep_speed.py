"""The experiment runner against bare training calls, and 1 against 2 workers.

A 60-run grid on the bundled MNIST sample (10,000 training and 2,000 test
images): 784-h-10 sigmoid networks, h in (10, 20, 30), N(0, 1) and scaled
initialisation, 10 seeds, 2 epochs each. Timed side by side in this process:

* **bare**: a plain loop of ``Network(...)``, ``fit(...)`` and ``score(...)``,
  the least any sweep can do;
* **runner, 1 worker**: ``run_experiments(grid, seeds, ...)``, the same
  trainings through the runner in this process (checks, data fingerprint,
  records, progress off);
* **runner, 1 worker, cache**: the same with ``cache_dir`` (one JSON record
  written atomically per run, fsync included);
* **runner, 2 workers**: ``n_jobs=2``; the first call starts the loky
  processes (their start-up and imports are included: "started cold"), later
  calls reuse them ("warm", with ``--repeat`` 2 or more).

It prints the wall time of each, the runner's overhead per run over the bare
call (end to end, and the part of the runner's wall time spent outside the
runs), and the speed-up of 2 workers over 1. The repeats are interleaved
(bare, runner, cached, 2 workers, bare, ...) and the best of each is kept, so
a burst of load elsewhere hits every variant alike. On a machine whose cores
other programs also use, 2 workers cannot reach 2x; the load average is
printed beside the numbers.

Run: ``python benchmarks/sweep_speed.py [--repeat 2] [--epochs 2] [--rst FILE]``;
``--rst docs/guide/sweep_speed_numbers.rst`` also writes the table the user
guide includes.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from mlpinspect import Network
from mlpinspect.datasets import load_mnist_sample
from mlpinspect.experiments import run_experiments

HIDDEN = (10, 20, 30)
INITS = ("normal", "scaled")
SEEDS = tuple(range(10))


def bare(data, epochs: int) -> float:
    start = time.perf_counter()
    for h in HIDDEN:
        for init in INITS:
            for seed in SEEDS:
                net = Network([784, h, 10], init=init, seed=seed)
                net.fit(data.X_train, data.y_train, epochs=epochs, progress=False,
                        monitor=False)  # fmt: skip
                net.score(data.X_test, data.y_test)
    return time.perf_counter() - start


def runner(data, epochs: int, n_jobs: int, cache: bool) -> tuple[float, float]:
    """(wall seconds, seconds spent inside the runs)."""
    grid = {"hidden": list(HIDDEN), "init": list(INITS), "epochs": epochs}
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        table = run_experiments(
            grid,
            SEEDS,
            train=(data.X_train, data.y_train),
            test=(data.X_test, data.y_test),
            n_jobs=n_jobs,
            cache_dir=folder if cache else None,
            progress=False,
        )
        wall = time.perf_counter() - start
    assert table.n_trained == len(table) == 60 and not len(table.failed)
    return wall, float(np.sum(table.column("seconds")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--rst", help="also write the numbers as a reST table here")
    args = parser.parse_args()
    data = load_mnist_sample(dtype=np.float64)
    n_runs = len(HIDDEN) * len(INITS) * len(SEEDS)
    print(f"{n_runs} runs: 784-h-10, h in {HIDDEN}, init in {INITS}, "
          f"{len(SEEDS)} seeds, {args.epochs} epochs, on the sample "
          f"({len(data.y_train):,} training images); {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")  # fmt: skip
    times: dict[str, list[float]] = {}
    inside: list[float] = []
    for _ in range(args.repeat):
        times.setdefault("bare", []).append(bare(data, args.epochs))
        wall, in_runs = runner(data, args.epochs, 1, cache=False)
        times.setdefault("runner, 1 worker", []).append(wall)
        inside.append(wall - in_runs)
        wall, _ = runner(data, args.epochs, 1, cache=True)
        times.setdefault("runner, 1 worker, cache", []).append(wall)
        wall, _ = runner(data, args.epochs, 2, cache=False)
        times.setdefault("runner, 2 workers", []).append(wall)
    best = {name: min(values) for name, values in times.items()}
    # The first 2-worker call starts the processes (and they import mlpinspect);
    # later calls reuse them (joblib keeps its workers for a few minutes).
    two_workers = times.pop("runner, 2 workers")
    del best["runner, 2 workers"]
    best["runner, 2 workers, started cold"] = two_workers[0]
    if len(two_workers) > 1:
        best["runner, 2 workers, warm"] = min(two_workers[1:])
    base = best["bare"]
    print(f"\n{'variant':<26} {'seconds':>8} {'per run':>8} {'vs bare':>8}")
    for name, seconds in best.items():
        print(f"{name:<26} {seconds:8.2f} {seconds / n_runs:8.3f} "
              f"{seconds / base:7.3f}x")  # fmt: skip
    one = best["runner, 1 worker"]
    two = best.get("runner, 2 workers, warm", best["runner, 2 workers, started cold"])
    print(f"\noverhead per run over a bare call, end to end: "
          f"{100 * (one - base) / base:+.1f}% "
          f"({1000 * (one - base) / n_runs:+.1f} ms per run)")  # fmt: skip
    outside = min(inside)
    print(f"runner's wall time outside the runs (checks, fingerprint, dispatch, "
          f"records): {1000 * outside / n_runs:.1f} ms per run = "
          f"{100 * outside / base:.2f}% of the bare time")  # fmt: skip
    cached = best["runner, 1 worker, cache"]
    print(f"cache writes: {1000 * (cached - one) / n_runs:+.1f} ms per run")
    load = os.getloadavg()[0]
    cold = best["runner, 2 workers, started cold"]
    print(f"2 workers against 1: {one / two:.2f}x faster ({one / cold:.2f}x "
          f"counting the workers' start; load average now {load:.2f})")  # fmt: skip
    if args.rst:
        write_rst(args.rst, best, n_runs, outside, one / two, one / cold, load,
                  args.epochs)  # fmt: skip


def write_rst(path, best, n_runs, outside, speedup, cold, load, epochs) -> None:
    base = best["bare"]
    rows = "\n".join(
        f"   * - {name}\n     - {seconds:.1f} s\n     - {seconds / n_runs:.3f} s\n"
        f"     - {seconds / base:.3f}x"
        for name, seconds in best.items()
    )
    text = f""".. Written by benchmarks/sweep_speed.py --rst; do not edit.

.. list-table:: {n_runs} runs, {epochs} epochs each, {os.cpu_count()} cores \
(load average {load:.1f} when it ended)
   :header-rows: 1

   * - variant
     - wall time
     - per run
     - against bare calls
{rows}

The runner's own time outside the runs (checks, data fingerprint, dispatch,
records) is {1000 * outside / n_runs:.1f} ms per run, {100 * outside / base:.2f}%
of a bare training call. Two workers are {speedup:.2f}x as fast as one
({cold:.2f}x counting the start of the worker processes).
"""
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)


if __name__ == "__main__":
    main()
