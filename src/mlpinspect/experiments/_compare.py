"""The training comparison: several configurations trained from the same seed.

A thin use of :func:`~mlpinspect.experiments.run_experiments` that keeps the
trained networks (and their per-epoch histories), so their weights can be put
side by side.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._validation import check_int
from ..errors import InvalidParameterError
from ..network import History, Network
from ._config import DEFAULTS, NETWORK_SETTINGS, TRAINING_SETTINGS, _is_sequence
from ._runner import run_experiments
from ._sweep import raise_failures

__all__ = ["STUDY_COMPARISON", "Comparison", "compare_training"]

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


# What a comparison's configuration may set (its layers are `sizes`, shared).
_COMPARISON_KEYS = (*NETWORK_SETTINGS[1:], *TRAINING_SETTINGS)


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
    engine: str = "auto",
    n_jobs: int | None = None,
    cache_dir: Any = None,
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
        Test data; each network's final accuracy on it is reported, and its
        cost and accuracy after every epoch are in the histories.
    sizes : sequence of int, default (784, 30, 10)
        The architecture shared by every configuration.
    seed : int, default 0
        The same seed for every configuration.
    epochs, batch_size : int
        Defaults for configurations that do not set them.
    progress : bool, default True
        Print one line per finished training.
    engine : {"auto", "numpy", "numba"}, default "auto"
        Default training loop, as in :meth:`~mlpinspect.Network.fit` (the
        table records the one that ran).
    n_jobs : int, optional
        Workers, as in :func:`run_experiments` (never more than
        configurations).
    cache_dir : str or path-like, optional
        Keep every finished training (its network too) there and reuse it, as
        in :func:`run_experiments`.

    Returns
    -------
    Comparison

    Raises
    ------
    InvalidParameterError
        For an unknown or bad setting or bad data.
    ExperimentError
        When a training failed (it diverged, say), after all have finished.

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
    if configs is not None and not isinstance(configs, Mapping):
        raise InvalidParameterError(
            f"`configs` must be a mapping of name -> settings (a dict); got "
            f"{configs!r:.60} ({type(configs).__name__})"
        )
    configs = dict(STUDY_COMPARISON if configs is None else configs)
    if not configs:
        raise InvalidParameterError("`configs` must name at least one configuration")
    seed = check_int(seed, "seed", minimum=0)
    if not _is_sequence(sizes):
        raise InvalidParameterError(
            f"`sizes` must be a sequence of layer sizes (ints), inputs first; got "
            f"{sizes!r:.60} ({type(sizes).__name__})"
        )
    runs = []
    for name, settings in configs.items():
        if not isinstance(settings, Mapping):
            raise InvalidParameterError(
                f"`configs[{name!r}]` must be a mapping of settings; got "
                f"{type(settings).__name__}"
            )
        unknown = [k for k in settings if k not in _COMPARISON_KEYS]
        if unknown:
            raise InvalidParameterError(
                f"`configs[{name!r}]` has unknown settings {sorted(unknown)}; known: "
                f"{sorted(_COMPARISON_KEYS)}"
            )
        defaults = {"epochs": epochs, "batch_size": batch_size, "engine": engine}
        runs.append({"name": str(name), "sizes": list(sizes), **defaults, **settings})
    table = run_experiments(
        runs,
        [seed],
        train=train,
        test=test,
        evaluate=("accuracy",) if test is not None else (),
        n_jobs=n_jobs,
        cache_dir=cache_dir,
        keep_models=True,
        monitor=True,
        progress=progress,
    )
    raise_failures(table, "comparison", lambda r: repr(r["name"]))
    names = [str(n) for n in configs]
    networks = {name: table.networks[i] for i, name in enumerate(names)}
    accuracy = {
        name: float(r.get("test_accuracy", math.nan)) for name, r in
        zip(names, table.records)
    }  # fmt: skip
    used = {
        name: {k: (list(v) if isinstance(v, tuple) else v) for k, v in r.items()
               if k in DEFAULTS}
        for name, r in zip(names, table.records)
    }  # fmt: skip
    return Comparison(
        names,
        networks,
        {name: net.history for name, net in networks.items()},
        accuracy,
        used,
    )
