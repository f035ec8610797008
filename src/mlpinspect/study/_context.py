"""What every study section shares: the data, the settings, the trained
networks, progress messages and the output folder."""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from ..errors import InvalidParameterError

__all__ = ["Context", "Progress", "check_output_folder", "load_data"]

DIGITS = tuple(str(d) for d in range(10))


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
        The output folder.
    say : Progress
    files : dict
        Files written so far, by name.
    results : dict
        What earlier sections computed and later ones use (the study
        network, its MLP view, ...), by name.
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

    def study_network(self, seed: int | None = None) -> Any:
        """The essay's 784-30-10 network trained with ``seed`` (default: the
        run's), trained once per run and then reused by every section.

        Sigmoid units, quadratic cost, N(0, 1) initialisation, mini-batches of
        10, learning rate 3.0, ``epochs`` epochs on the training data, the test
        data as held-out data in its history.
        """
        from ..network import Network

        seed = self.seed if seed is None else seed
        key = ("study", seed)
        if key not in self.networks:
            self.say(
                f"training the study network (seed {seed}): 784-30-10, sigmoid, "
                f"quadratic cost, batch 10, learning rate 3.0, N(0, 1) initialisation"
            )
            net = Network([784, 30, 10], init="normal", seed=seed, class_names=DIGITS)
            net.fit(
                *self.train,
                epochs=self.epochs,
                batch_size=10,
                learning_rate=3.0,
                cost="quadratic",
                validation_data=self.test,
                progress=not self.quiet,
                engine=self.engine,
            )
            self.networks[key] = net
        return self.networks[key]


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
