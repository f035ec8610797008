"""What recording snapshots costs ``Network.fit``, side by side, both engines.

Trains the study's network (784-30-10, sigmoid, quadratic cost, batch 10,
learning rate 3.0) for a few epochs three ways, in this process and
interleaved run by run (so a busy machine slows all three alike):

* without snapshots;
* with ``snapshots=SnapshotRecorder(every_epochs=1)``: in memory, the start
  and every epoch;
* with ``SnapshotRecorder(every_epochs=1, path=...)``: streamed to one
  ``.npz`` file;

on the numpy engine and, when numba is installed, the compiled one, for the
default ``monitor=True`` (the cost and accuracy after every epoch) and for
``monitor=False`` (nothing else to hide the recording behind). It prints, for
each, the best of ``--repeat`` runs and its ratio to the run without
snapshots (1.00x: no cost) in wall-clock seconds and in CPU seconds of this
process (which other processes on a shared machine disturb much less), and
the *recording work*: the seconds spent copying and storing the snapshots,
measured inside the recorder, as a share of the fit. Uses the first 50,000
MNIST training images when ``MLPINSPECT_MNIST_DIR`` names their folder, else
the bundled sample (10,000).

Run: ``python benchmarks/snapshot_speed.py [--repeat 5] [--epochs 3]``.
"""

from __future__ import annotations

import argparse
import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

from mlpinspect import Network, SnapshotRecorder


def load_data() -> tuple[np.ndarray, np.ndarray, str]:
    folder = os.environ.get("MLPINSPECT_MNIST_DIR")
    if folder and os.path.isdir(folder):
        from mlpinspect.datasets import load_mnist

        data = load_mnist(folder, download=False, dtype=np.float64)
        return data.X_train[:50_000], data.y_train[:50_000], f"MNIST from {folder}"
    from mlpinspect.datasets import load_mnist_sample

    data = load_mnist_sample(dtype=np.float64)
    return data.X_train, data.y_train, "the bundled MNIST sample"


class TimedRecorder(SnapshotRecorder):
    """A SnapshotRecorder that adds up the seconds spent recording."""

    seconds = 0.0

    def record(self, model, **kwargs):
        start = time.perf_counter()
        super().record(model, **kwargs)
        self.seconds += time.perf_counter() - start

    def close(self, **kwargs):
        start = time.perf_counter()
        try:
            return super().close(**kwargs)
        finally:
            self.seconds += time.perf_counter() - start


def copy_seconds() -> float:
    """Best seconds of one ``Network.to_mlp()``: the copy fit hands to the
    recorder at each snapshot."""
    net = Network([784, 30, 10], seed=0)
    best = np.inf
    for _ in range(200):
        start = time.perf_counter()
        net.to_mlp()
        best = min(best, time.perf_counter() - start)
    return best


def have_numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


WAYS = ("without snapshots", "every epoch, in memory", "every epoch, to a file")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="best of N runs")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per run")
    args = parser.parse_args()
    X, y, source = load_data()
    engines = ["numpy", "numba"] if have_numba() else ["numpy"]
    print(
        f"784-30-10, batch 10, {args.epochs} epochs on {len(X):,} images ({source}); "
        f"best of {args.repeat}, runs interleaved."
    )
    if len(engines) == 1:
        print("(engine='numba' needs numba: pip install 'mlpinspect[fast]')")
    folder = Path(tempfile.mkdtemp(prefix="snapshot-speed-"))
    atexit.register(shutil.rmtree, folder, True)  # even when a run fails
    copy = copy_seconds()
    n_snapshots = args.epochs + 1

    def fit(engine: str, monitor: bool, way: int) -> tuple[float, float, float]:
        """Wall and CPU seconds of the whole fit call, and the recording's."""
        recorder = None
        if way == 1:
            recorder = TimedRecorder(every_epochs=1)
        elif way == 2:
            recorder = TimedRecorder(every_epochs=1, path=folder / "run.npz")
        net = Network([784, 30, 10], seed=0)
        wall, cpu = time.perf_counter(), time.process_time()
        net.fit(X, y, epochs=args.epochs, batch_size=10, learning_rate=3.0,
                monitor=monitor, progress=False, engine=engine,
                snapshots=recorder)  # fmt: skip
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        if recorder is None:
            return wall, cpu, 0.0
        assert len(recorder.snapshots) == n_snapshots
        return wall, cpu, recorder.seconds + n_snapshots * copy

    rows = []
    for engine in engines:
        fit(engine, False, 0)  # warm-up: numba compiles or loads its cache
        for monitor in (True, False):
            # runs[r][way] = (wall, cpu, recording) of round r, ways interleaved
            runs = [
                [fit(engine, monitor, way) for way in range(len(WAYS))]
                for _ in range(args.repeat)
            ]
            best = np.min(np.array(runs), axis=0)  # (ways, 3)
            for way, name in enumerate(WAYS):
                paired = [r[way][0] / r[0][0] for r in runs]  # same round
                rows.append((engine, monitor, name, best[way][0],
                             best[way][0] / best[0][0], best[way][1] / best[0][1],
                             np.median(paired), min(paired), max(paired),
                             best[way][2] / best[0][0]))  # fmt: skip

    print(
        f"\n{'engine':6s} {'monitor':7s} {'recording':23s} {'s/fit':>6s} "
        f"{'best':>7s} {'CPU':>7s} {'paired: median':>15s} {'range':>13s} "
        f"{'work':>6s}"
    )
    for row in rows:
        engine, monitor, name, seconds, wall, cpu, median, low, high, work = row
        if name == WAYS[0]:
            print(f"{engine:6s} {monitor!s:7s} {name:23s} {seconds:6.2f}")
            continue
        print(
            f"{engine:6s} {monitor!s:7s} {name:23s} {seconds:6.2f} {wall:6.3f}x "
            f"{cpu:6.3f}x {median:14.3f}x {low:5.2f}-{high:5.2f}x "
            f"{100 * work:5.2f}%"
        )
    print(
        "\nbest = best wall seconds of that fit / best wall seconds of the same fit "
        "without\nsnapshots (1.050x would be a 5% slowdown); CPU = the same in CPU "
        "seconds of this\nprocess; paired = the ratio within each round of "
        "interleaved runs: its median and\nrange show how much a busy machine "
        "moves a single ratio. work = seconds spent\ncopying and storing the "
        "snapshots (measured inside the recorder, plus one\nNetwork.to_mlp per "
        "snapshot) / best wall seconds of the fit without snapshots:\nwhat "
        "recording adds, free of that noise."
    )
    for path in folder.iterdir():
        path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
