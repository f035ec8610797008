"""Experiment files: a grid of configurations and seeds in TOML or JSON.

.. code-block:: toml

    seeds = [0, 1, 2]                  # or a count: seeds = 3
    evaluate = ["accuracy", "drift"]   # optional; default ["accuracy"]

    [grid]                             # every combination of these
    hidden = [2, 3, 4, 5, 10, 30]
    init = ["normal", "scaled"]
    epochs = 10

``[[grid]]`` (an array of tables) gives several grids, run one after the
other; ``[[configs]]`` lists configurations one by one (each may have a
``name``). The JSON form has the same keys: ``{"seeds": 3, "grid": {...}}``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._io import open_regular
from ..errors import InvalidParameterError
from ._config import check_seeds, expand_grid, grid_size
from ._evaluate import EVALUATIONS

__all__ = ["ExperimentPlan", "load_grid"]

_MAX_FILE_BYTES = 1024 * 1024  # a grid file is a few lines
_MAX_RUNS = 1_000_000  # configurations x seeds one file may ask for
_KEYS = ("seeds", "evaluate", "n_outputs", "grid", "configs")


@dataclass(frozen=True)
class ExperimentPlan:
    """What an experiment file asks for: configurations, seeds, evaluations.

    Attributes
    ----------
    configs : tuple of dict
        Every configuration, grids expanded.
    seeds : tuple of int
    evaluate : tuple of str
        Built-in evaluation names.
    n_outputs : int or None
        Output units of configurations that give ``hidden``; None: from the
        labels.
    source : str
        The file it was read from.

    Examples
    --------
    >>> plan = ExperimentPlan(({"hidden": 2}, {"hidden": 5}), (0, 1), ("accuracy",))
    >>> plan.n_runs
    4
    """

    configs: tuple[dict[str, Any], ...]
    seeds: tuple[int, ...]
    evaluate: tuple[str, ...] = ("accuracy",)
    n_outputs: int | None = None
    source: str = ""

    @property
    def n_runs(self) -> int:
        """Configurations x seeds."""
        return len(self.configs) * len(self.seeds)


def _read_toml(text: str, where: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib
        except ImportError:
            raise ImportError(
                f"{where}: reading TOML on Python 3.10 needs tomli (pip install "
                f"tomli); or write the grid as JSON"
            ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InvalidParameterError(f"{where}: not valid TOML ({exc})") from None


def _grids(value: Any, where: str) -> list[Mapping[str, Any]]:
    if isinstance(value, Mapping):
        return [value]
    if (
        isinstance(value, Sequence)
        and not isinstance(value, (str, bytes))
        and all(isinstance(g, Mapping) for g in value)
    ):
        return list(value)
    raise InvalidParameterError(
        f"{where}: `grid` must be a table of setting = alternatives (or an array "
        f"of such tables); got {value!r:.60}"
    )


def load_grid(path: str | os.PathLike) -> ExperimentPlan:
    """Read an experiment file (TOML, or JSON when it ends in ``.json``).

    Parameters
    ----------
    path : str or path-like
        The file. Its keys: ``seeds`` (a list, or a count ``n`` for
        ``0 .. n-1``; default 1 seed, 0), ``grid`` (a table, or an array of
        tables, of setting = alternatives; see
        :func:`~mlpinspect.experiments.expand_grid`), ``configs`` (an array of
        configurations), ``evaluate`` (built-in evaluation names; default
        ``["accuracy"]``) and ``n_outputs``. Settings are those of
        :func:`~mlpinspect.experiments.run_experiments`.

    Returns
    -------
    ExperimentPlan
        Run it with ``run_experiments(plan.configs, plan.seeds,
        evaluate=plan.evaluate, n_outputs=plan.n_outputs, ...)``.

    Raises
    ------
    InvalidParameterError
        For a missing or unreadable file, invalid TOML or JSON, an unknown
        key, no configurations, or more than a million runs (a grid's size is
        computed before it is expanded).

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from mlpinspect.experiments import load_grid
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "grid.toml"
    >>> _ = path.write_text('seeds = 3\\n[grid]\\nhidden = [10, 30]\\nepochs = 5\\n')
    >>> plan = load_grid(path)
    >>> plan.configs, plan.seeds, plan.n_runs
    (({'hidden': 10, 'epochs': 5}, {'hidden': 30, 'epochs': 5}), (0, 1, 2), 6)
    """
    if isinstance(path, (bytes, bool)) or not isinstance(path, (str, os.PathLike)):
        raise InvalidParameterError(
            f"`path` must be a file path (str or path-like); got {path!r:.60}"
        )
    path = Path(path)
    where = str(path)
    if "\x00" in where:
        raise InvalidParameterError("`path` must not contain a NUL character")
    # A FIFO, device or folder is refused without blocking.
    with open_regular(
        path, lambda problem: InvalidParameterError(f"{where}: {problem}"),
        what="experiment file (.toml or .json)",
    ) as fh:  # fmt: skip
        size = os.fstat(fh.fileno()).st_size
        if size > _MAX_FILE_BYTES:
            raise InvalidParameterError(
                f"{where}: {size:,} bytes; an experiment file is at most "
                f"{_MAX_FILE_BYTES:,}"
            )
        try:
            data = fh.read(_MAX_FILE_BYTES + 1)
            text = data.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise InvalidParameterError(f"{where}: cannot be read ({exc})") from None
    if len(data) > _MAX_FILE_BYTES:
        raise InvalidParameterError(
            f"{where}: more than {_MAX_FILE_BYTES:,} bytes; an experiment file is "
            f"at most that"
        )
    if path.suffix.lower() == ".json":
        try:
            content = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise InvalidParameterError(f"{where}: not valid JSON ({exc})") from None
    else:
        content = _read_toml(text, where)
    return _plan(content, where)


def _plan(content: Any, where: str) -> ExperimentPlan:
    if not isinstance(content, Mapping):
        raise InvalidParameterError(
            f"{where}: must hold a table (object) with `grid` or `configs`"
        )
    unknown = [k for k in content if k not in _KEYS]
    if unknown:
        raise InvalidParameterError(
            f"{where}: unknown keys {unknown}; known: {', '.join(_KEYS)}"
        )
    try:
        seeds = check_seeds(content.get("seeds", [0]), "seeds")
        grids = _grids(content["grid"], where) if "grid" in content else []
        configs = content.get("configs", [])
        if not isinstance(configs, list) or not all(
            isinstance(c, Mapping) for c in configs
        ):
            raise InvalidParameterError(
                "`configs` must be an array of tables (one per configuration)"
            )
        n_configs = sum(grid_size(g, "grid") for g in grids) + len(configs)
        if n_configs == 0:
            raise InvalidParameterError(
                "there is no configuration: give a `grid` table or `configs`"
            )
        if n_configs * len(seeds) > _MAX_RUNS:
            raise InvalidParameterError(
                f"asks for {n_configs:,} configurations x {len(seeds)} seeds; at most "
                f"{_MAX_RUNS:,} runs per file"
            )
        expanded = [c for g in grids for c in expand_grid(g, "grid")]
        evaluate = content.get("evaluate", ["accuracy"])
        if isinstance(evaluate, str):
            evaluate = [evaluate]
        if not isinstance(evaluate, list) or not all(
            isinstance(e, str) and e in EVALUATIONS for e in evaluate
        ):
            raise InvalidParameterError(
                f"`evaluate` must be a list of evaluation names "
                f"({', '.join(EVALUATIONS)}); got {evaluate!r:.60}"
            )
        n_outputs = content.get("n_outputs")
        if n_outputs is not None and (type(n_outputs) is not int or n_outputs < 1):
            raise InvalidParameterError(
                f"`n_outputs` must be a positive integer; got {n_outputs!r:.40}"
            )
    except InvalidParameterError as exc:
        if str(exc).startswith(where):
            raise
        raise InvalidParameterError(f"{where}: {exc}") from None
    return ExperimentPlan(
        tuple(dict(c) for c in [*expanded, *configs]),
        seeds,
        tuple(evaluate),
        n_outputs,
        where,
    )
