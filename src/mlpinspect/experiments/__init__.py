"""Experiments: many trainings, measured, on one machine or a cluster, resumable.

:func:`run_experiments` trains one :class:`~mlpinspect.Network` per
configuration and seed, measures each (test accuracy, drift from
initialisation, smoothness of the weight images, your own functions) and
returns one tidy :class:`ExperimentTable`. It runs through joblib, so
``n_jobs`` uses local processes and ``joblib.parallel_config(backend="dask")``
(or Ray's backend) runs the same call on a cluster; with ``cache_dir`` every
finished run is kept on disk and a second call completes only what is missing.

The essay's two experiments are thin uses of it: :func:`hidden_size_sweep`
(one network per hidden size and seed) and :func:`compare_training` (several
trainings from the same seed).

Examples
--------
>>> import numpy as np
>>> from mlpinspect.experiments import hidden_size_sweep, run_experiments
>>> rng = np.random.default_rng(0)
>>> X = rng.random((200, 4)); y = (X[:, 0] > X[:, 1]).astype(int)
>>> sweep = hidden_size_sweep([1, 4], seeds=[0, 1], train=(X, y), test=(X, y),
...                           n_outputs=2, epochs=5, progress=False)
>>> sweep.accuracy.shape
(2, 2)
>>> table = run_experiments({"hidden": [1, 4], "epochs": 5}, seeds=[0, 1],
...                         train=(X, y), test=(X, y), progress=False)
>>> table.column("test_accuracy") == sweep.accuracy.ravel().tolist()
True
"""

from __future__ import annotations

from ._cache import CacheWarning
from ._compare import STUDY_COMPARISON, Comparison, compare_training
from ._config import expand_grid
from ._gridfile import ExperimentPlan, load_grid
from ._runner import run_experiments
from ._sweep import STUDY_SWEEP_REFERENCE, SweepResult, hidden_size_sweep
from ._table import ExperimentTable

__all__ = [
    "STUDY_COMPARISON",
    "STUDY_SWEEP_REFERENCE",
    "CacheWarning",
    "Comparison",
    "ExperimentPlan",
    "ExperimentTable",
    "SweepResult",
    "compare_training",
    "expand_grid",
    "hidden_size_sweep",
    "load_grid",
    "run_experiments",
]
