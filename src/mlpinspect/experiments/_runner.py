"""The experiment runner: configurations x seeds -> trained, measured, tabulated.

Validate (every configuration, the data, the evaluations: once, here) ->
look up the cache -> run what is missing through joblib, writing each run to
the cache as it finishes -> package one table in a fixed order.
"""

from __future__ import annotations

import copy
import math
import os
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from .._validation import check_int
from ..errors import InvalidParameterError
from ..network import Network, resolve_engine
from . import _data
from ._cache import Cache, run_key
from ._config import (
    SETTINGS,
    TRAINING_SETTINGS,
    check_configs,
    check_seeds,
    check_settings,
    describe,
)
from ._evaluate import check_evaluate, evaluate_network, identity, nan_if_missing
from ._progress import Progress, format_seconds
from ._table import ExperimentTable

__all__ = ["run_experiments"]

# Columns every record has, besides the settings and the numbers measured.
_FIRST = ("name",)
_AFTER_SETTINGS = ("seed", "status")
_LAST = ("error", "seconds", "key")
RESERVED = (*_FIRST, *SETTINGS, *_AFTER_SETTINGS, *_LAST)


class _Run:
    """One distinct run: settings, seed, key, and whether to keep its network."""

    __slots__ = ("ingredients", "keep", "key", "seed", "settings")

    def __init__(self, settings: dict[str, Any], seed: int, key: str, ingredients):
        self.settings, self.seed, self.key = settings, seed, key
        self.ingredients = ingredients
        self.keep = False


# -- checking ------------------------------------------------------------------------


def _check_bool(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise InvalidParameterError(f"`{name}` must be True or False; got {value!r}")
    return bool(value)


def _check_n_jobs(n_jobs: Any) -> int | None:
    if n_jobs is None:
        return None
    n_jobs = check_int(n_jobs, "n_jobs")
    if n_jobs == 0:
        raise InvalidParameterError(
            "`n_jobs` must be a positive number of workers, -1 for every core (-2 "
            "for all but one, ...) or None; got 0"
        )
    return n_jobs


def _check_networks(
    settings_list: list[tuple[str, dict[str, Any]]], X: np.ndarray, y: np.ndarray
) -> None:
    """Build and fit (0 epochs, 1 example) a small twin of every distinct
    configuration, so that a bad setting fails here, once, naming it, and
    canonicalise each configuration's activations in place."""
    twins: dict[Any, Network] = {}
    fits: set[Any] = set()
    for where, settings in settings_list:
        sizes = settings["sizes"]
        # The same layers, one unit per hidden layer: cheap, and checks the same.
        small = [sizes[0], *[1] * (len(sizes) - 2), sizes[-1]]
        activation = settings["activation"]
        net_key = (tuple(small), repr(activation), settings["init"], settings["dtype"])
        if net_key not in twins:
            try:
                twins[net_key] = Network(
                    small,
                    activation,
                    init=settings["init"],
                    dtype=settings["dtype"],
                    seed=0,
                )
            except InvalidParameterError as exc:
                raise InvalidParameterError(f"{where}: {exc}") from None
        twin = twins[net_key]
        settings["activation"] = list(twin.activation_names)
        # What "auto" runs here, so that the table and the cache say which loop
        # trained each network (the engines round differently).
        settings["engine"] = resolve_engine(settings["engine"], twin.activation_names)
        fit_key = (net_key, *(settings[k] for k in TRAINING_SETTINGS))
        if fit_key in fits:
            continue
        fits.add(fit_key)
        fit_args = {k: settings[k] for k in TRAINING_SETTINGS}
        try:
            twin.fit(X[:1], y[:1], **{**fit_args, "epochs": 0}, progress=False,
                     monitor=False)  # fmt: skip
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"{where}: {exc}") from None


def _table_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as table cells: sizes as a tuple, one activation name when every
    layer has the same."""
    cells = dict(settings)
    cells["sizes"] = tuple(settings["sizes"])
    acts = settings["activation"]
    cells["activation"] = acts[0] if len(set(acts)) == 1 else tuple(acts)
    return cells


# -- the task a worker runs ----------------------------------------------------------


def _run_task(
    key: str,
    settings: dict[str, Any],
    seed: int,
    items: tuple[Any, ...],
    monitor: bool,
    keep: bool,
    X: Any,
    y: Any,
    X_test: Any,
    y_test: Any,
) -> tuple[str, dict[str, Any], Network | None]:
    """Train one network and measure it; a failure is returned, not raised."""
    X, y, X_test, y_test = (_data.receive(a) for a in (X, y, X_test, y_test))
    start = time.perf_counter()
    network = None
    try:
        network = Network(
            settings["sizes"],
            settings["activation"],
            init=settings["init"],
            dtype=settings["dtype"],
            seed=seed,
        )
        validation = (X_test, y_test) if monitor and X_test is not None else None
        network.fit(
            X,
            y,
            **{k: settings[k] for k in TRAINING_SETTINGS},
            validation_data=validation,
            monitor=monitor,
            progress=False,
        )
        metrics = evaluate_network(network, items, X, y, X_test, y_test, RESERVED)
        status, error = "ok", None
    except Exception as exc:  # recorded with the run; the others go on
        status, metrics, network = "failed", {}, None
        error = {
            "type": type(exc).__name__,
            "message": str(exc),
            "traceback": traceback.format_exc(),
        }
    outcome = {
        "status": status,
        "metrics": metrics,
        "error": error,
        "seconds": time.perf_counter() - start,
    }
    return key, outcome, (network if keep else None)


# -- parallel execution -----------------------------------------------------------


_WAVE_PER_WORKER = 4  # runs per worker per wave, for backends that cannot stream

_BACKEND_NAMES = {
    "LokyBackend": "loky",
    "MultiprocessingBackend": "multiprocessing",
    "ThreadingBackend": "threads",
    "SequentialBackend": "this process",
    "DaskDistributedBackend": "dask",
    "RayBackend": "ray",
}


def _execute(
    runs: list[_Run],
    data: _data.Data,
    items: tuple[Any, ...],
    monitor: bool,
    n_jobs: int | None,
    report: Callable[[str, dict[str, Any], Network | None], None],
    say: Callable[[str], None],
):
    """Run ``runs`` through joblib; ``report`` each as it finishes."""
    from joblib import Parallel, delayed, effective_n_jobs
    from joblib.parallel import get_active_backend

    backend, _ = get_active_backend()
    # Never more workers than runs: one run gets one worker, not n_jobs.
    n_workers = max(1, min(effective_n_jobs(n_jobs), len(runs)))
    kind = _BACKEND_NAMES.get(type(backend).__name__, type(backend).__name__)
    if n_workers == 1 and kind in ("loky", "multiprocessing", "threads"):
        kind = "this process"
    plural = "s" if n_workers > 1 else ""
    say(f"training {len(runs)} run{'s' if len(runs) != 1 else ''} on {n_workers} "
        f"worker{plural} ({kind})")  # fmt: skip
    shipped = _data.ship(data.arrays(), backend)
    tasks = [
        delayed(_run_task)(
            run.key, run.settings, run.seed, items, monitor, run.keep, *shipped
        )
        for run in runs
    ]
    if getattr(backend, "supports_return_generator", False):
        # Each run comes back as soon as it finishes, in any order.
        parallel = Parallel(n_jobs=n_workers, return_as="generator_unordered")
        for key, outcome, network in parallel(tasks):
            report(key, outcome, network)
        return
    # A backend that cannot stream results (Ray's): waves of a few runs per
    # worker, each reported (and cached) when it is done, on the same workers.
    wave = _WAVE_PER_WORKER * n_workers
    with Parallel(n_jobs=n_workers) as parallel:
        for start in range(0, len(tasks), wave):
            for key, outcome, network in parallel(tasks[start : start + wave]):
                report(key, outcome, network)


# -- the public function ----------------------------------------------------------


def run_experiments(
    configs: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    seeds: Sequence[int] | int = (0,),
    *,
    train: tuple[Any, Any],
    test: tuple[Any, Any] | None = None,
    evaluate: Sequence[str | Callable[..., Mapping[str, Any]]] = ("accuracy",),
    n_outputs: int | None = None,
    n_jobs: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    keep_models: bool | Callable[[dict[str, Any]], bool] = False,
    monitor: bool = False,
    retry_failed: bool = False,
    progress: bool = True,
) -> ExperimentTable:
    """Train and measure one network per configuration and seed; one table back.

    Each run builds :class:`mlpinspect.Network` from the configuration's
    network settings and the seed, trains it with :meth:`~mlpinspect.Network.fit`
    on ``train``, and measures it (``evaluate``). Runs go through joblib, as
    scikit-learn's do: ``n_jobs`` runs them in local processes, and inside
    ``joblib.parallel_config(backend="dask")`` (or Ray's joblib backend) the
    same call runs on a cluster. With ``cache_dir`` every finished run is
    written to disk at once, and calling again skips the runs already there.

    Parameters
    ----------
    configs : mapping or sequence of mappings
        A grid, ``{"hidden": [10, 30], "init": ["normal", "scaled"]}`` (every
        combination; see :func:`expand_grid`), or a list of configurations.
        A configuration maps settings to values:

        - the layers: ``sizes`` (``[784, 30, 10]``, inputs first) or
          ``hidden`` (``30`` or ``[100, 30]``; the input size comes from
          ``train``, the output size from ``n_outputs``);
        - the network: ``activation``, ``init``, ``dtype``, as in
          :class:`~mlpinspect.Network`;
        - the training: ``epochs``, ``batch_size``, ``learning_rate``,
          ``cost``, ``l2``, ``shuffle``, ``engine``, as in
          :meth:`~mlpinspect.Network.fit`;
        - ``name``: a label for the table (not part of the cache key).

        Settings left out take their defaults (``Network``'s and ``fit``'s:
        sigmoid, N(0, 1) initialisation, float64, 30 epochs, batches of 10,
        learning rate 3.0, quadratic cost, no L2, shuffled, ``engine="auto"``:
        the compiled loop where numba imports; the table's ``engine`` column
        says which loop ran).
    seeds : sequence of int or int, default (0,)
        Every configuration is trained once per seed (the network's seed: its
        initial weights and its shuffling). An int ``n`` means ``0 .. n-1``.
    train : tuple (X, y)
        Training data: ``X`` of shape ``(n, n_inputs)``; ``y`` class positions
        ``0, 1, ...`` or one-hot rows.
    test : tuple (X, y), optional
        Test data, for ``"accuracy"`` and your evaluation functions.
    evaluate : sequence of str or callable, default ("accuracy",)
        What to measure on each trained network, each adding columns:
        ``"accuracy"`` (``test_accuracy``), ``"train_accuracy"``, ``"drift"``
        (``drift_cosine`` and ``drift_relative_change`` of the first layer, as
        :func:`mlpinspect.drift_from_init`), ``"smoothness"`` (``smoothness``
        and ``smoothness_at_init`` of the first layer's weight images, as
        :func:`mlpinspect.smoothness`), or a function
        ``f(network, X_test, y_test) -> dict`` of names to numbers (``X_test``
        and ``y_test`` are None without test data). A function that raises
        fails its run, which is recorded.
    n_outputs : int, optional
        Output units of configurations that give ``hidden``; by default the
        number of classes in ``train`` (one-hot width, or largest label + 1).
    n_jobs : int, optional
        Workers, as in joblib and scikit-learn: None means 1 unless inside a
        ``joblib.parallel_config`` context (the Dask backend then uses every
        worker of the cluster); -1 every core. Never more workers are used than
        there are runs to train.
    cache_dir : str or path-like, optional
        A folder of finished runs (created if needed). Each run is written
        there, atomically, as soon as it finishes; a run whose key is already
        there is read instead of trained. The key hashes every setting, the
        seed, the data's bytes and the evaluations (see
        :doc:`/guide/experiments`), so a cached run is only reused for
        exactly the same run.
    keep_models : bool or callable, default False
        Return the trained networks in the table's ``networks`` (by record
        position), and save them in ``cache_dir`` too, as ``.npz``, when
        given. A function of a run's settings (a dict with ``name``, the
        settings and ``seed``, as in the table) keeps only the networks for
        which it returns True, e.g. ``lambda run: run["seed"] == 0``.
    monitor : bool, default False
        Record the training (and test) cost and accuracy after every epoch in
        each network's ``history`` (one more pass over
        the data per epoch).
    retry_failed : bool, default False
        Train again the runs that the cache holds as failed (by default a
        failure is a result, and is reported again).
    progress : bool, default True
        One line per finished run on standard error: runs done of total, the
        run, its numbers, time elapsed and an estimate of the time left.

    Returns
    -------
    ExperimentTable
        One record per configuration and seed, in that order (configurations
        outer, seeds inner), whatever order the runs finished in.

    Raises
    ------
    InvalidParameterError
        For a bad configuration (naming it and the setting), bad data, an
        unknown evaluation, or ``"accuracy"`` without test data. Failures of
        single runs (a diverging training, an evaluation function that raises)
        are not raised: the run's record has ``status == "failed"`` and the
        error.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect.experiments import run_experiments
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((200, 4)); y = (X[:, 0] > X[:, 1]).astype(int)
    >>> table = run_experiments(
    ...     {"hidden": [2, 8], "learning_rate": [0.5, 3.0], "epochs": 5},
    ...     seeds=2, train=(X, y), test=(X, y), evaluate=["accuracy", "drift"],
    ...     progress=False)
    >>> len(table), table.columns[:3], table.columns[-6:]
    (8, ('name', 'sizes', 'activation'), ('test_accuracy', 'drift_cosine', 'drift_relative_change', 'error', 'seconds', 'key'))
    >>> table[0]["sizes"], table[0]["seed"], table[0]["status"]
    ((4, 2, 2), 0, 'ok')
    >>> summary = table.summary(["test_accuracy"])
    >>> len(summary), summary[0]["runs"]
    (4, 2)
    """  # noqa: E501
    config_list = check_configs(configs)
    seed_list = check_seeds(seeds)
    X, y_raw, X_test, y_test_raw = _data.read_pairs(train, test)
    if not callable(keep_models):
        keep_models = _check_bool(keep_models, "keep_models")
    monitor = _check_bool(monitor, "monitor")
    retry_failed = _check_bool(retry_failed, "retry_failed")
    progress = _check_bool(progress, "progress")
    n_jobs = _check_n_jobs(n_jobs)
    if n_outputs is not None:
        n_outputs = check_int(n_outputs, "n_outputs", minimum=1)
    elif any(isinstance(c, Mapping) and "hidden" in c for c in config_list):
        n_outputs = _data.infer_n_outputs(y_raw, "train[1]")

    checked = [
        check_settings(c, f"configs[{i}]", n_inputs=X.shape[1], n_outputs=n_outputs)
        for i, c in enumerate(config_list)
    ]
    class_counts = {max(s["sizes"][-1], 2) for _, s in checked}
    data = _data.encode(X, y_raw, X_test, y_test_raw, class_counts)
    _check_networks(
        [(f"configs[{i}]", s) for i, (_, s) in enumerate(checked)], data.X, data.y
    )
    items = check_evaluate(evaluate, has_test=X_test is not None)
    identities = [identity(item) for item in items]
    cache = None if cache_dir is None else Cache(cache_dir)

    # Every (configuration, seed) in table order; equal runs share one key.
    rows: list[tuple[str | None, dict[str, Any], int, str]] = []
    runs: dict[str, _Run] = {}
    for label, settings in checked:
        for seed in seed_list:
            key, ingredients = run_key(settings, seed, data.fingerprint, identities,
                                       monitor)  # fmt: skip
            rows.append((label, settings, seed, key))
            run = runs.setdefault(key, _Run(settings, seed, key, ingredients))
            run.keep = run.keep or _wants(keep_models, label, settings, seed)

    outcomes: dict[str, dict[str, Any]] = {}
    networks: dict[str, Network] = {}
    if cache is not None:
        for key, run in runs.items():
            record = cache.read(key, run.ingredients)
            if record is None or (retry_failed and record["status"] == "failed"):
                continue
            if run.keep and record["status"] == "ok":
                network = cache.load_network(key)
                if network is None:
                    continue  # the network is needed: train again
                networks[key] = network
            outcomes[key] = {
                "status": record["status"],
                "metrics": {k: nan_if_missing(v) for k, v in record["metrics"].items()},
                "error": record["error"],
                "seconds": float(record["seconds"]),
            }
    n_cached = len(outcomes)
    pending = [run for key, run in runs.items() if key not in outcomes]

    varying = [k for k in SETTINGS if len({repr(s[k]) for _, s in checked}) > 1]
    say = Progress(len(pending), progress)
    if cache is not None and n_cached:
        say.say(f"{n_cached} of {len(runs)} runs read from the cache {cache.folder}")

    def report(key: str, outcome: dict[str, Any], network: Network | None) -> None:
        if cache is not None:
            cache.write(key, runs[key].ingredients, outcome, network)
        outcomes[key] = outcome
        if network is not None:
            networks[key] = network
        run = runs[key]
        text = describe(run.settings, varying)
        text = f"{text} seed={run.seed}".strip()
        if outcome["status"] == "ok":
            numbers = " ".join(
                f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                for k, v in list(outcome["metrics"].items())[:3]
            )
            say.finished(f"{text}  {numbers}".rstrip())
        else:
            error = outcome["error"]
            say.finished(f"{text}  FAILED: {error['type']}: {error['message']:.100}")

    if pending:
        _execute(pending, data, items, monitor, n_jobs, report, say.say)
        n_failed = sum(1 for r in pending if outcomes[r.key]["status"] == "failed")
        say.say(
            f"done: {len(pending)} trained ({n_failed} failed) in "
            f"{format_seconds(say.elapsed)}"
        )
    return _package(rows, outcomes, networks, keep_models, len(pending), n_cached)


def _wants(keep_models: Any, label: str | None, settings: dict[str, Any], seed: int):
    """Whether the network of this (configuration, seed) is to be kept."""
    if not callable(keep_models):
        return keep_models
    answer = keep_models({"name": label, **_table_settings(settings), "seed": seed})
    if not isinstance(answer, (bool, np.bool_)):
        raise InvalidParameterError(
            f"`keep_models` must return True or False; got {answer!r:.40} for "
            f"seed {seed} of {label or 'a configuration'}"
        )
    return bool(answer)


def _package(
    rows: list[tuple[str | None, dict[str, Any], int, str]],
    outcomes: dict[str, dict[str, Any]],
    networks: dict[str, Network],
    keep_models: Any,
    n_trained: int,
    n_cached: int,
) -> ExperimentTable:
    """The table, in ``rows`` order, every record with every column."""
    metric_names: list[str] = []
    for *_, key in rows:
        metric_names.extend(
            m for m in outcomes[key]["metrics"] if m not in metric_names
        )
    records = []
    kept: dict[int, Network] = {}
    handed_out: set[str] = set()
    for position, (label, settings, seed, key) in enumerate(rows):
        outcome = outcomes[key]
        error = outcome["error"]
        records.append(
            {
                "name": label,
                **_table_settings(settings),
                "seed": seed,
                "status": outcome["status"],
                **{m: outcome["metrics"].get(m, math.nan) for m in metric_names},
                "error": None if error is None
                else f"{error['type']}: {error['message']}",
                "seconds": outcome["seconds"],
                "key": key,
            }
        )  # fmt: skip
        if key in networks and _wants(keep_models, label, settings, seed):
            # Equal runs share a key; each record gets its own network object.
            network = networks[key]
            kept[position] = copy.deepcopy(network) if key in handed_out else network
            handed_out.add(key)
    columns = (*_FIRST, *SETTINGS, *_AFTER_SETTINGS, *metric_names, *_LAST)
    return ExperimentTable(tuple(records), columns, kept, n_trained, n_cached)
