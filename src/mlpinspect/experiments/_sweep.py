"""The hidden-size sweep: one ``n_in-h-n_out`` network per hidden size and seed.

A single run of a small network is a coin toss (with 3 hidden units, one seed
reaches 58% and another 85%), so the sweep trains every size over several
seeds and reports the spread. It is a thin use of
:func:`~mlpinspect.experiments.run_experiments`, so it runs in parallel, on a
cluster and from a cache in the same way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validation import check_choice, check_float, check_int
from ..errors import ExperimentError, InvalidParameterError
from ..network import COSTS, ENGINES, INITIALIZATIONS
from ._config import _is_sequence, check_seeds
from ._runner import run_experiments
from ._table import ExperimentTable

__all__ = [
    "STUDY_SWEEP_REFERENCE",
    "SweepResult",
    "hidden_size_sweep",
    "raise_failures",
]

STUDY_SWEEP_REFERENCE: dict[int, float] = {
    10: 0.9343,
    5: 0.8665,
    4: 0.8373,
    3: 0.5875,
    2: 0.2280,
}
"""Test accuracy by hidden units in the essay's single runs (784-n-10)."""


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


def raise_failures(table: ExperimentTable, what: str, label) -> None:
    """Raise ExperimentError naming every failed run of ``table``, if any."""
    failed = [(i, r) for i, r in enumerate(table.records) if r["status"] == "failed"]
    if not failed:
        return
    shown = "; ".join(f"{label(r)}: {r['error']}" for _, r in failed[:3])
    more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
    raise ExperimentError(
        f"{len(failed)} of {len(table)} runs of the {what} failed ({shown}{more}); "
        f"the error's `table` holds every run",
        table,
    )


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
    n_jobs: int | None = None,
    progress: bool = True,
    engine: str = "auto",
    cache_dir: Any = None,
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
    n_jobs : int, optional
        Workers, as in :func:`run_experiments`: None means one (or the
        cluster's, inside ``joblib.parallel_config``), ``-1`` every core; never
        more than there are runs.
    progress : bool, default True
        Print one line per finished run to standard error, with the time left.
    engine : {"auto", "numpy", "numba"}, default "auto"
        The training loop, as in :meth:`~mlpinspect.Network.fit` (the table
        records the one that ran).
    cache_dir : str or path-like, optional
        Keep every finished run there and skip those already there, as in
        :func:`run_experiments`.

    Returns
    -------
    SweepResult
        Prints as a table; ``to_dict()`` and ``to_markdown()`` convert it.

    Raises
    ------
    InvalidParameterError
        For a bad argument.
    ExperimentError
        When runs failed (a training diverged, say), after every run has
        finished; it names them and its ``table`` holds every run.

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
    if not _is_sequence(sizes):
        raise InvalidParameterError(
            f"`sizes` must be a sequence of hidden-layer sizes (ints >= 1); got "
            f"{sizes!r:.60} ({type(sizes).__name__})"
        )
    sizes = tuple(check_int(s, f"sizes[{i}]", minimum=1) for i, s in enumerate(sizes))
    if not sizes:
        raise InvalidParameterError("`sizes` must not be empty")
    seeds = check_seeds(seeds)
    reference = _check_reference(reference)
    n_outputs = check_int(n_outputs, "n_outputs", minimum=1)
    settings = {
        "epochs": check_int(epochs, "epochs", minimum=0),
        "batch_size": check_int(batch_size, "batch_size", minimum=1),
        "learning_rate": check_float(learning_rate, "learning_rate", minimum=0.0,
                                     strict_minimum=True),
        "cost": check_choice(cost, "cost", COSTS),
        "init": check_choice(init, "init", INITIALIZATIONS),
        "activation": activation,
        "engine": check_choice(engine, "engine", ENGINES),
    }  # fmt: skip
    table = run_experiments(
        [{"hidden": h, **settings} for h in sizes],
        seeds,
        train=train,
        test=test,
        n_outputs=n_outputs,
        n_jobs=n_jobs,
        cache_dir=cache_dir,
        progress=progress,
    )
    raise_failures(
        table, "sweep", lambda r: f"hidden {r['sizes'][1]}, seed {r['seed']}"
    )
    accuracy = np.array(table.column("test_accuracy"), dtype=np.float64)
    n_test = len(test[1]) if isinstance(test, (tuple, list)) else None
    return SweepResult(
        sizes=sizes,
        seeds=seeds,
        accuracy=accuracy.reshape(len(sizes), len(seeds)),
        reference=reference,
        settings={**settings, "n_train": len(train[1]), "n_test": n_test},
    )


def _check_reference(reference: Any) -> dict[int, float]:
    """Reference accuracies as ``{hidden size: accuracy}``."""
    if reference is None:
        return dict(STUDY_SWEEP_REFERENCE)
    if not isinstance(reference, Mapping):
        raise InvalidParameterError(
            f"`reference` must be a mapping of hidden size (int) -> accuracy "
            f"(float); got {reference!r:.60} ({type(reference).__name__})"
        )
    return {
        check_int(k, "reference key", minimum=1): check_float(
            v, f"reference[{k!r}]", minimum=0.0, maximum=1.0
        )
        for k, v in reference.items()
    }
