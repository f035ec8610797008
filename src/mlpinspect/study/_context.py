"""What every study section shares: the data, the settings, the trained
networks, progress messages and the output folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write, clean_stale_temps, temp_name, write_error
from ..errors import InvalidParameterError
from ..experiments import STUDY_COMPARISON

__all__ = [
    "Context",
    "Interrupts",
    "Progress",
    "Terminated",
    "check_output_folder",
    "load_data",
    "staged",
]

DIGITS = tuple(str(d) for d in range(10))
STUDY_SIZES = (784, 30, 10)
"""The essay's network: 784 inputs, 30 sigmoid hidden units, 10 outputs."""
STUDY_SETTINGS = {
    "init": "normal",
    "cost": "quadratic",
    "learning_rate": 3.0,
    "l2": 0.0,
}
"""The study network's training: Nielsen's ``network.py``."""


class Progress:
    """Timestamped progress lines on standard error (silent when quiet)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet
        self.start = time.perf_counter()

    def __call__(self, message: str) -> None:
        if not self.quiet:
            seconds = time.perf_counter() - self.start
            print(f"[{seconds:6.1f} s] {message}", file=sys.stderr, flush=True)


@dataclass
class Context:
    """The state the study's sections share.

    Attributes
    ----------
    train, test : tuple of (X, y)
        The data.
    data_text : str
        How the report describes the data.
    seed, epochs, engine, n_jobs, quiet : settings of the run
    sweep_sizes, sweep_seeds : the hidden-size sweep's grid
    out : pathlib.Path
        Where the sections write: the run's staging folder inside the output
        folder, whose files are moved into the output folder once the run
        has finished (:func:`staged`).
    say : Progress
    files : dict
        Files written so far, by name.
    results : dict
        What earlier sections computed and later ones use (the study
        network, its MLP view, ...), by name.
    watched : set or None
        The networks (:meth:`plan` keys) trained with a per-epoch history and
        snapshots (:meth:`watch`); None watches every network.
    """

    train: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    data_text: str
    seed: int
    epochs: int
    engine: str
    n_jobs: int
    quiet: bool
    sweep_sizes: tuple[int, ...]
    sweep_seeds: int
    out: Path
    say: Progress
    files: dict[str, Path] = field(default_factory=dict)
    results: dict[str, Any] = field(default_factory=dict)
    networks: dict[Any, Any] = field(default_factory=dict)
    data_name: str = ""
    numbers: dict[str, Any] = field(default_factory=dict)
    training_seconds: dict[str, float] = field(default_factory=dict)
    watched: set[Any] | None = None  # None: watch every network

    def study_network(self, seed: int | None = None) -> Any:
        """The essay's 784-30-10 network trained with ``seed`` (default: the
        run's), trained once per run and then reused by every section.

        Sigmoid units, quadratic cost, N(0, 1) initialisation, mini-batches of
        10, learning rate 3.0, ``epochs`` epochs on the training data, the test
        data as held-out data in its history. Its weights at the start and
        after every epoch are in ``history.snapshots``.
        """
        return self._trained(STUDY_SETTINGS, seed)

    def comparison_network(self, name: str, seed: int | None = None) -> Any:
        """The comparison's training ``name`` (a key of
        :data:`~mlpinspect.experiments.STUDY_COMPARISON`), trained once per run
        as :meth:`study_network` is, with its snapshots. The first training of
        the comparison has the study network's settings: it *is* the study
        network, not a second training of it."""
        if name not in STUDY_COMPARISON:
            raise InvalidParameterError(
                f"`name` must be one of {list(STUDY_COMPARISON)}; got {name!r}"
            )
        return self._trained(STUDY_COMPARISON[name], seed)

    def network(
        self, sizes: tuple[int, ...], settings: dict[str, Any] | None = None,
        seed: int | None = None,
    ) -> Any:  # fmt: skip
        """A sigmoid network of ``sizes`` trained with ``settings`` (default the
        study network's) and ``seed``, once per run, as :meth:`study_network`."""
        return self._trained(STUDY_SETTINGS if settings is None else settings, seed,
                             tuple(sizes))  # fmt: skip

    @staticmethod
    def plan(
        sizes: tuple[int, ...], settings: dict[str, Any], seed: int
    ) -> tuple[Any, ...]:
        """The key of one training: what :meth:`prefetch` takes."""
        return (tuple(sizes), seed, tuple(sorted(settings.items())))

    def watch(self, plans: list[tuple[Any, ...]]) -> None:
        """Record the per-epoch history (cost and accuracy on the training and
        test data) and weight snapshots of the networks ``plans`` name (what a
        section plots over training or saves); the others are evaluated once,
        when trained, which is all their sections read. Watching does not
        change the trained network. Until this is called, every network is
        watched."""
        self.watched = {*(self.watched or ()), *plans}

    def _watching(self, key: tuple[Any, ...]) -> bool:
        return self.watched is None or key in self.watched

    def prefetch(self, plans: list[tuple[Any, ...]]) -> None:
        """Train every planned network not trained yet, ``n_jobs`` at a time
        (joblib processes), so that the sections later find them ready.

        The same seed and settings give the same network in a worker as in
        this process: training does not depend on where it runs."""
        missing = list(dict.fromkeys(p for p in plans if p not in self.networks))
        if not missing:
            return
        from joblib import Parallel, delayed, effective_n_jobs

        workers = max(1, min(effective_n_jobs(self.n_jobs), len(missing)))
        if workers == 1:
            for sizes, seed, settings in missing:
                self._trained(dict(settings), seed, sizes)
            return
        shapes = Counter("-".join(map(str, p[0])) for p in missing)
        self.say(
            f"training {len(missing)} networks on {workers} workers: "
            + ", ".join(f"{n} x {shape}" for shape, n in shapes.items())
        )
        parallel = Parallel(n_jobs=workers, return_as="generator_unordered")
        tasks = (
            delayed(_train)(
                p, self.train, self.test, self.epochs, self.engine, self._watching(p)
            )
            for p in missing
        )
        for key, net, seconds in parallel(tasks):
            self.networks[key] = net
            self.training_seconds[_describe(*key)] = seconds
            self.say(f"trained {_describe(*key)} in {seconds:.1f} s")

    def _trained(
        self, settings: dict[str, Any], seed: int | None,
        sizes: tuple[int, ...] = STUDY_SIZES,
    ) -> Any:  # fmt: skip
        """A sigmoid network of ``sizes`` trained with ``settings`` (``init``,
        ``cost``, ``learning_rate``, ``l2``) and ``seed``, once per run."""
        seed = self.seed if seed is None else seed
        key = self.plan(sizes, settings, seed)
        if key not in self.networks:
            self.say(f"training {_describe(*key)}")
            _, net, seconds = _train(
                key, self.train, self.test, self.epochs, self.engine,
                self._watching(key), progress=not self.quiet,
            )  # fmt: skip
            self.training_seconds[_describe(*key)] = seconds
            self.networks[key] = net
        return self.networks[key]


def _describe(sizes: tuple[int, ...], seed: int, settings: tuple) -> str:
    """``784-30-10 (seed 0)``, with the settings when they are not the study's."""
    name = "-".join(map(str, sizes)) + f" (seed {seed}"
    if dict(settings) != STUDY_SETTINGS:
        name += ", " + ", ".join(f"{k} {v}" for k, v in settings)
    return name + ")"


def _train(
    key: tuple[Any, ...], train: Any, test: Any, epochs: int, engine: str,
    watch: bool = True, progress: bool = False,
) -> tuple[tuple[Any, ...], Any, float]:  # fmt: skip
    """Train the network ``key`` names; returns (key, network, seconds). Runs
    in a worker or here.

    ``watch``: record the cost and accuracy on the training and test data and
    the weights after every epoch (``history``, ``history.snapshots``);
    otherwise the history holds only the epochs' times, which costs nothing
    beyond the training itself."""
    from ..analysis import SnapshotRecorder
    from ..network import Network

    sizes, seed, settings = key
    settings = dict(settings)
    start = time.perf_counter()
    net = Network(list(sizes), init=settings["init"], seed=seed, class_names=DIGITS)
    net.fit(
        *train,
        epochs=epochs,
        batch_size=10,
        learning_rate=settings["learning_rate"],
        cost=settings["cost"],
        l2=settings["l2"],
        validation_data=test if watch else None,
        monitor=watch,
        progress=progress,
        engine=engine,
        snapshots=SnapshotRecorder(every_epochs=1) if watch else None,
    )
    return key, net, time.perf_counter() - start


def load_data(data: str | os.PathLike, quick: bool):
    """Return (train, test, description) for ``data`` = sample, mnist or a folder."""
    from ..datasets import load_mnist, load_mnist_sample

    if isinstance(data, str) and data == "sample":
        d = load_mnist_sample(dtype=np.float64)
        train, test = (d.X_train, d.y_train), (d.X_test, d.y_test)
        text = (
            f"the MNIST sample bundled with mlpinspect ({len(train[1]):,} training "
            f"and {len(test[1]):,} test images, balanced over the digits)"
        )
    else:
        path = None if (isinstance(data, str) and data == "mnist") else Path(data)
        d = load_mnist(path, dtype=np.float64)
        split = d.nielsen_split()
        train, test = (split.train.X, split.train.y), (split.test.X, split.test.y)
        text = (
            f"MNIST ({len(train[1]):,} training images: the first 50,000 of the "
            f"training set, as in Nielsen's book; {len(test[1]):,} test images)"
        )
    if quick:  # a smoke run: a slice of the data
        train = (train[0][:1000], train[1][:1000])
        test = (test[0][:300], test[1][:300])
        text += "; --quick: 1,000 training and 300 test images"
    return train, test, text


def check_output_folder(out: Path) -> None:
    """Refuse, before any work, a folder that cannot be written."""
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / ".write-test", lambda fh: fh.write(b"ok"))
        (out / ".write-test").unlink()
    except OSError as exc:
        raise InvalidParameterError(
            f"`out` must be a folder mlpinspect can write to; {out}: "
            f"{exc.strerror or exc}"
        ) from None


# -- interrupts and the staging folder ------------------------------------------


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's ``KeyboardInterrupt`` (which it is) so
    that every ``finally`` runs; ``signum`` says which signal it was."""

    signum = signal.SIGTERM


class Interrupts:
    """While active (``with Interrupts() as seen``), SIGINT and SIGTERM raise
    :class:`KeyboardInterrupt` (:class:`Terminated` for SIGTERM) and are
    remembered, so one that landed where Python swallows exceptions (a
    finaliser: "Exception ignored in ...") is raised again by
    :meth:`check`. :meth:`held` defers them over a few steps that must not be
    cut (moving the finished files into place).

    Only the main thread of the process that entered it is affected; signals
    set to be ignored stay ignored; the previous handlers come back on exit.
    """

    def __init__(self) -> None:
        self.received: int | None = None
        self._holding = False
        self._previous: dict[int, Any] = {}
        self._pid = os.getpid()
        self._root = self  # the one whose handler is installed

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is not threading.main_thread():
            return self
        for signum, default in ((signal.SIGINT, signal.default_int_handler),
                                (signal.SIGTERM, signal.SIG_DFL)):  # fmt: skip
            current = signal.getsignal(signum)
            owner = getattr(current, "__self__", None)
            if isinstance(owner, Interrupts):  # nested: share the outer state
                self._root = owner._root
            elif current in (default, None):
                self._previous[signum] = current
                signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        for signum, previous in self._previous.items():
            signal.signal(signum, signal.SIG_DFL if previous is None else previous)
        self._previous.clear()

    def _handle(self, signum: int, frame: Any) -> None:
        if os.getpid() != self._pid:  # a forked worker: die as it would have
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)
            return
        self.received = signum
        if not self._holding:
            self.check()

    def check(self) -> None:
        """Raise the interrupt received so far, if any."""
        received = self._root.received
        if received == signal.SIGTERM:
            raise Terminated("terminated (SIGTERM)")
        if received is not None:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        """Defer the interrupts over the block; raise one after it."""
        root, was = self._root, self._root._holding
        root._holding = True
        try:
            yield
        finally:
            root._holding = was
        self.check()


@contextlib.contextmanager
def staged(out: Path, interrupts: Interrupts) -> Iterator[Path]:
    """A hidden staging folder inside ``out`` for a run's files.

    If the block finishes, its files are moved into ``out`` (replacing those
    of an earlier run of the same names), with interrupts held off for those
    renames; if it raises, the staging folder is removed and ``out`` is left
    exactly as it was. A staging folder whose run was killed is removed by
    the next run (:func:`mlpinspect._io.clean_stale_temps`).
    """
    clean_stale_temps(out)
    stage = out / temp_name("study")
    try:
        stage.mkdir()
    except OSError as exc:
        raise write_error(exc, "out", out) from None
    try:
        yield stage
        interrupts.check()  # an interrupt Python swallowed: the run is not done
        with interrupts.held():
            try:
                for entry in sorted(stage.iterdir()):
                    os.replace(entry, out / entry.name)
                stage.rmdir()
            except OSError as exc:
                raise write_error(exc, "out", out) from None
    finally:
        shutil.rmtree(stage, ignore_errors=True)
