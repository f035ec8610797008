"""Multi-run studies: the hidden-size sweep and the training comparison.

The essay this library follows reports single runs. A single run of a small
network is a coin toss (with 3 hidden units, one seed reaches 58% and another
85%), so these functions train every configuration over several seeds and
report the spread, not just one number.

Examples
--------
>>> import numpy as np
>>> from mlpinspect.experiments import hidden_size_sweep
>>> rng = np.random.default_rng(0)
>>> X = rng.random((200, 4)); y = (X[:, 0] > X[:, 1]).astype(int)
>>> sweep = hidden_size_sweep([1, 4], seeds=[0, 1], train=(X, y), test=(X, y),
...                           n_outputs=2, epochs=5, progress=False)
>>> sweep.accuracy.shape
(2, 2)
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._validation import LabelSpace, check_array, check_int, encode_labels
from .errors import InvalidParameterError
from .network import History, Network

__all__ = [
    "STUDY_COMPARISON",
    "STUDY_SWEEP_REFERENCE",
    "Comparison",
    "SweepResult",
    "compare_training",
    "hidden_size_sweep",
]

STUDY_SWEEP_REFERENCE: dict[int, float] = {
    10: 0.9343,
    5: 0.8665,
    4: 0.8373,
    3: 0.5875,
    2: 0.2280,
}
"""Test accuracy by hidden units in the essay's single runs (784-n-10)."""

STUDY_COMPARISON: dict[str, dict[str, Any]] = {
    "normal init, quadratic cost": {
        "init": "normal",
        "cost": "quadratic",
        "learning_rate": 3.0,
        "l2": 0.0,
    },
    "scaled init, cross-entropy, L2": {
        "init": "scaled",
        "cost": "cross_entropy",
        "learning_rate": 0.5,
        "l2": 5.0,
    },
}
"""The two trainings of the study: Nielsen's ``network.py`` and ``network2.py``."""

_NETWORK_KEYS = {"activation", "init", "dtype"}
_FIT_KEYS = {"epochs", "batch_size", "learning_rate", "cost", "l2", "shuffle", "engine"}


def _check_data(data: Any, name: str, n_inputs: int | None = None):
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise InvalidParameterError(
            f"`{name}` must be a pair (X, y); got {type(data).__name__}"
        )
    X = check_array(
        data[0],
        f"{name}[0]",
        ndim=2,
        dtype=None,
        n_features=n_inputs,
        what_features="the training inputs' size",
    )
    y = np.asarray(data[1])
    return X, y


# --------------------------------------------------------------------------
# Hidden-size sweep
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult:
    """Test accuracies of ``784-h-10`` networks by hidden size ``h`` and seed.

    Attributes
    ----------
    sizes : tuple of int
        Hidden-layer sizes, in the order given.
    seeds : tuple of int
        The seeds each size was trained with.
    accuracy : numpy.ndarray, shape (len(sizes), len(seeds))
        Final test accuracy of each run.
    reference : dict
        Published single-run accuracies by size, shown beside ours.
    settings : dict
        The training settings.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((100, 3)); y = (X.sum(axis=1) > 1.5).astype(int)
    >>> result = hidden_size_sweep([1, 2], seeds=[0, 1], train=(X, y), test=(X, y),
    ...                            n_outputs=2, epochs=2, progress=False)
    >>> result.accuracy.shape, result.mean.shape
    ((2, 2), (2,))
    >>> result.to_markdown().splitlines()[0]
    '| hidden units | mean | std | min | max | essay (one run) |'
    """

    sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    accuracy: np.ndarray
    reference: dict[int, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def mean(self) -> np.ndarray:
        """Mean accuracy per size."""
        return self.accuracy.mean(axis=1)

    @property
    def std(self) -> np.ndarray:
        """Standard deviation per size (0 for a single seed)."""
        return (
            self.accuracy.std(axis=1, ddof=1)
            if len(self.seeds) > 1
            else (np.zeros(len(self.sizes)))
        )

    @property
    def min(self) -> np.ndarray:
        """Worst run per size."""
        return self.accuracy.min(axis=1)

    @property
    def max(self) -> np.ndarray:
        """Best run per size."""
        return self.accuracy.max(axis=1)

    def to_dict(self) -> dict[str, Any]:
        """Plain-Python form: one entry per size with its statistics and runs."""
        return {
            "sizes": list(self.sizes),
            "seeds": list(self.seeds),
            "settings": dict(self.settings),
            "results": [
                {
                    "hidden": size,
                    "mean": float(self.mean[i]),
                    "std": float(self.std[i]),
                    "min": float(self.min[i]),
                    "max": float(self.max[i]),
                    "runs": [float(a) for a in self.accuracy[i]],
                    "reference": self.reference.get(size),
                }
                for i, size in enumerate(self.sizes)
            ],
        }

    def to_markdown(self) -> str:
        """The table in Markdown, accuracies in percent."""
        lines = [
            "| hidden units | mean | std | min | max | essay (one run) |",
            "|---:|---:|---:|---:|---:|---:|",
        ]
        for i, size in enumerate(self.sizes):
            ref = self.reference.get(size)
            ref_text = f"{100 * ref:.2f}%" if ref is not None else "-"
            lines.append(
                f"| {size} | {100 * self.mean[i]:.2f}% | {100 * self.std[i]:.2f} | "
                f"{100 * self.min[i]:.2f}% | {100 * self.max[i]:.2f}% | {ref_text} |"
            )
        return "\n".join(lines)

    def __str__(self) -> str:
        head = (
            f"{'hidden':>6}  {'mean':>7}  {'std':>5}  {'min':>7}  {'max':>7}  "
            f"{'essay':>7}   ({len(self.seeds)} seeds)"
        )
        lines = [head]
        for i, size in enumerate(self.sizes):
            ref = self.reference.get(size)
            ref_text = f"{100 * ref:6.2f}%" if ref is not None else "      -"
            lines.append(
                f"{size:>6}  {100 * self.mean[i]:6.2f}%  {100 * self.std[i]:5.2f}  "
                f"{100 * self.min[i]:6.2f}%  {100 * self.max[i]:6.2f}%  {ref_text}"
            )
        return "\n".join(lines)


# Data shared with worker processes, set once per worker by the initializer
# (so a 50,000-image training set is sent to each process once, not per task).
_WORKER_DATA: tuple | None = None


def _init_worker(data: tuple) -> None:
    global _WORKER_DATA
    _WORKER_DATA = data


def _train_and_score(task: tuple) -> float:
    sizes, seed, network_kwargs, fit_kwargs = task
    X, y, X_test, y_test = _WORKER_DATA
    net = Network(sizes, seed=seed, **network_kwargs)
    net.fit(X, y, progress=False, monitor=False, **fit_kwargs)
    return net.score(X_test, y_test)


def hidden_size_sweep(
    sizes: Sequence[int],
    seeds: Sequence[int] = (0, 1, 2),
    *,
    train: tuple[Any, Any],
    test: tuple[Any, Any],
    n_outputs: int = 10,
    epochs: int = 30,
    batch_size: int = 10,
    learning_rate: float = 3.0,
    cost: str = "quadratic",
    init: str = "normal",
    activation: str = "sigmoid",
    reference: Mapping[int, float] | None = None,
    n_jobs: int = 1,
    progress: bool = True,
    engine: str = "numpy",
) -> SweepResult:
    """Train one ``n_in-h-n_outputs`` network per hidden size ``h`` and seed.

    Parameters
    ----------
    sizes : sequence of int
        Hidden-layer sizes to try, e.g. ``[2, 3, 4, 5, 10, 30]``.
    seeds : sequence of int, default (0, 1, 2)
        Seeds; each size is trained once per seed.
    train, test : tuple (X, y)
        Training and test data; ``X`` of shape ``(n, n_in)``.
    n_outputs : int, default 10
        Output units (classes).
    epochs, batch_size, learning_rate, cost, init, activation
        Training settings, as in :class:`~mlpinspect.Network` and
        :meth:`~mlpinspect.Network.fit`; the defaults are the study's.
    reference : mapping of int to float, optional
        Published accuracies to print beside ours; defaults to the essay's
        single runs (:data:`STUDY_SWEEP_REFERENCE`).
    n_jobs : int, default 1
        Worker processes; ``-1`` uses every core.
    progress : bool, default True
        Print one line per finished run to standard error.
    engine : {"numpy", "numba"}, default "numpy"
        The training loop, as in :meth:`~mlpinspect.Network.fit`.

    Returns
    -------
    SweepResult
        Prints as a table; ``to_dict()`` and ``to_markdown()`` convert it.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((100, 3)); y = (X.sum(axis=1) > 1.5).astype(int)
    >>> result = hidden_size_sweep([2], seeds=[0], train=(X, y), test=(X, y),
    ...                            n_outputs=2, epochs=3, progress=False)
    >>> result.sizes, result.accuracy.shape
    ((2,), (1, 1))
    """
    sizes = tuple(check_int(s, f"sizes[{i}]", minimum=1) for i, s in enumerate(sizes))
    seeds = tuple(check_int(s, f"seeds[{i}]", minimum=0) for i, s in enumerate(seeds))
    if not sizes or not seeds:
        raise InvalidParameterError("`sizes` and `seeds` must not be empty")
    n_outputs = check_int(n_outputs, "n_outputs", minimum=1)
    X, y = _check_data(train, "train")
    X_test, y_test = _check_data(test, "test", n_inputs=X.shape[1])
    space = LabelSpace(n_outputs)
    y = encode_labels(space, y, "train[1]", n_samples=X.shape[0])
    y_test = encode_labels(space, y_test, "test[1]", n_samples=X_test.shape[0])
    n_jobs = check_int(n_jobs, "n_jobs", minimum=-1)
    if n_jobs == 0:
        raise InvalidParameterError("`n_jobs` must be >= 1 or -1 (every core); got 0")
    if n_jobs == -1:
        n_jobs = _cpu_count()

    network_kwargs = {"activation": activation, "init": init}
    fit_kwargs = {
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "cost": cost,
        "engine": engine,
    }
    # Check every setting once, here, rather than in a worker process.
    Network([X.shape[1], 1, n_outputs], **network_kwargs)
    Network([X.shape[1], n_outputs], activation=activation).fit(
        X[:1], y[:1], **{**fit_kwargs, "epochs": 0}, progress=False
    )

    tasks = [
        ([X.shape[1], h, n_outputs], seed, network_kwargs, fit_kwargs)
        for h in sizes
        for seed in seeds
    ]
    data = (X, y, X_test, y_test)
    accuracies: list[float] = []

    def report(task, accuracy):
        if progress:
            print(
                f"hidden {task[0][1]:>4}  seed {task[1]:>3}  test accuracy "
                f"{100 * accuracy:6.2f}%  ({len(accuracies)}/{len(tasks)})",
                file=sys.stderr,
                flush=True,
            )

    if n_jobs == 1:
        _init_worker(data)
        try:
            for task in tasks:
                accuracies.append(_train_and_score(task))
                report(task, accuracies[-1])
        finally:
            _init_worker(None)
    else:
        with ProcessPoolExecutor(
            max_workers=n_jobs, initializer=_init_worker, initargs=(data,)
        ) as pool:
            for task, accuracy in zip(tasks, pool.map(_train_and_score, tasks)):
                accuracies.append(accuracy)
                report(task, accuracy)

    settings = {
        "epochs": epochs,
        "batch_size": batch_size,
        "learning_rate": learning_rate,
        "cost": cost,
        "init": init,
        "activation": activation,
        "engine": engine,
        "n_train": int(X.shape[0]),
        "n_test": int(X_test.shape[0]),
    }
    return SweepResult(
        sizes=sizes,
        seeds=seeds,
        accuracy=np.array(accuracies).reshape(len(sizes), len(seeds)),
        reference=dict(STUDY_SWEEP_REFERENCE if reference is None else reference),
        settings=settings,
    )


def _cpu_count() -> int:
    import os

    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# --------------------------------------------------------------------------
# Training comparison
# --------------------------------------------------------------------------


@dataclass
class Comparison:
    """Networks trained under several configurations from the same seed.

    Attributes
    ----------
    names : list of str
        Configuration names, in order.
    networks : dict of str to Network
        The trained networks (each keeps its initial weights).
    histories : dict of str to History
    test_accuracy : dict of str to float
        Final test accuracy (NaN without test data).
    configs : dict of str to dict
        The settings of each configuration.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((100, 4)); y = (X[:, 0] > 0.5).astype(int)
    >>> configs = {"a": {"learning_rate": 1.0}, "b": {"init": "scaled"}}
    >>> result = compare_training(configs, train=(X, y), test=(X, y),
    ...                           sizes=(4, 3, 2), epochs=2, progress=False)
    >>> result["b"].init, sorted(result.test_accuracy)
    ('scaled', ['a', 'b'])
    """

    names: list[str]
    networks: dict[str, Network]
    histories: dict[str, History]
    test_accuracy: dict[str, float]
    configs: dict[str, dict[str, Any]]

    def __getitem__(self, name: str) -> Network:
        return self.networks[name]

    def __str__(self) -> str:
        width = max(len(n) for n in self.names)
        lines = [f"{'configuration':<{width}}  test accuracy"]
        for name in self.names:
            acc = self.test_accuracy[name]
            text = "-" if math.isnan(acc) else f"{100 * acc:.2f}%"
            lines.append(f"{name:<{width}}  {text}")
        return "\n".join(lines)


def compare_training(
    configs: Mapping[str, Mapping[str, Any]] | None = None,
    *,
    train: tuple[Any, Any],
    test: tuple[Any, Any] | None = None,
    sizes: Sequence[int] = (784, 30, 10),
    seed: int = 0,
    epochs: int = 30,
    batch_size: int = 10,
    progress: bool = True,
    engine: str = "numpy",
) -> Comparison:
    """Train one network per configuration, all from the same seed.

    Parameters
    ----------
    configs : mapping of str to dict, optional
        Name to settings. Settings may hold the network's ``activation``,
        ``init`` and ``dtype`` and the training's ``learning_rate``,
        ``cost``, ``l2``, ``epochs``, ``batch_size``, ``shuffle`` and
        ``engine``.
        Defaults to the study's two trainings (:data:`STUDY_COMPARISON`):
        N(0, 1) initialisation with the quadratic cost and learning rate 3.0,
        against N(0, 1/n_in) initialisation with cross-entropy, L2 5.0 and
        learning rate 0.5.
    train : tuple (X, y)
        Training data.
    test : tuple (X, y), optional
        Test data; each network's final accuracy on it is reported.
    sizes : sequence of int, default (784, 30, 10)
        The architecture shared by every configuration.
    seed : int, default 0
        The same seed for every configuration.
    epochs, batch_size : int
        Defaults for configurations that do not set them.
    progress : bool, default True
        Print training progress.
    engine : {"numpy", "numba"}, default "numpy"
        Default training loop, as in :meth:`~mlpinspect.Network.fit`.

    Returns
    -------
    Comparison

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((100, 4)); y = (X[:, 0] > 0.5).astype(int)
    >>> result = compare_training({"a": {"learning_rate": 1.0},
    ...                            "b": {"init": "scaled"}},
    ...                           train=(X, y), sizes=(4, 3, 2), epochs=2,
    ...                           progress=False)
    >>> result.names
    ['a', 'b']
    """
    configs = dict(STUDY_COMPARISON if configs is None else configs)
    if not configs:
        raise InvalidParameterError("`configs` must name at least one configuration")
    X, y = _check_data(train, "train", n_inputs=int(sizes[0]))
    X_test = y_test = None
    if test is not None:
        X_test, y_test = _check_data(test, "test", n_inputs=int(sizes[0]))
    networks, histories, accuracy, used = {}, {}, {}, {}
    for name, settings in configs.items():
        unknown = set(settings) - _NETWORK_KEYS - _FIT_KEYS
        if unknown:
            raise InvalidParameterError(
                f"`configs[{name!r}]` has unknown settings {sorted(unknown)}; known: "
                f"{sorted(_NETWORK_KEYS | _FIT_KEYS)}"
            )
        net_kwargs = {k: v for k, v in settings.items() if k in _NETWORK_KEYS}
        fit_kwargs = {"epochs": epochs, "batch_size": batch_size, "engine": engine}
        fit_kwargs.update({k: v for k, v in settings.items() if k in _FIT_KEYS})
        if progress:
            print(f"== {name}", file=sys.stderr, flush=True)
        net = Network(list(sizes), seed=seed, **net_kwargs)
        validation = None if X_test is None else (X_test, y_test)
        histories[name] = net.fit(
            X, y, validation_data=validation, progress=progress, **fit_kwargs
        )
        networks[name] = net
        accuracy[name] = float("nan") if X_test is None else net.score(X_test, y_test)
        used[name] = {**net_kwargs, **fit_kwargs}
    return Comparison(list(configs), networks, histories, accuracy, used)
