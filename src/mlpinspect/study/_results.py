"""The results file: every number of the study, machine-readable, beside the report.

``results.json`` is the one source of the study's numbers: the report's
sentences and the documentation's study pages are generated from it (by
:mod:`mlpinspect.study._claims`). Its schema (``"schema":
"mlpinspect.study.results/1"``) is documented in the user guide
(:doc:`/guide/study`):

- ``schema``, ``mlpinspect``, ``python``, ``numpy``, ``scipy``, ``numba``
  (None when not installed), ``platform``, ``date`` (UTC, ISO 8601): what
  produced it and when (scipy's BLAS and numba's compiler round the training's
  arithmetic, so a run's numbers repeat exactly only with the same versions);
- ``data``: ``name`` (``"sample"``, ``"mnist"`` or ``"folder"``),
  ``description``, ``n_train``, ``n_test``, ``quick``;
- ``settings``: ``seed``, ``epochs``, ``engine`` (the training loop that ran),
  ``n_jobs``, ``sweep_sizes``, ``sweep_seeds``;
- ``timing``: ``seconds`` (the whole run, wall clock), ``sections`` (seconds
  per section), ``trainings`` (seconds per trained network);
- ``titles`` and ``sections``: each section's title and numbers, by key;
- ``claims``: the essay's claims and whether each holds here
  (:func:`mlpinspect.study._claims.essay_claims`).

Numbers are plain JSON numbers (accuracies and shares as fractions, not
percent); a missing value is ``null``.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import platform
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write
from .._version import __version__
from ..errors import InvalidParameterError
from ._claims import essay_claims

__all__ = ["SCHEMA", "build_results", "load_results", "plain", "write_results"]

SCHEMA = "mlpinspect.study.results/1"


def plain(value: Any) -> Any:
    """``value`` as JSON-ready Python: numpy scalars and arrays converted,
    NaN and infinities as ``None``, dict keys as strings."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, np.ndarray):
        return plain(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str):
        return value
    return str(value)


def _version_of(distribution: str) -> str | None:
    """The installed version of ``distribution``, or None."""
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def build_results(ctx: Any, titles: dict[str, str], seconds: dict[str, float],
                  total: float, quick: bool) -> dict[str, Any]:  # fmt: skip
    """The results of a run, as the results file holds them."""
    results = {
        "schema": SCHEMA,
        "mlpinspect": __version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": _version_of("scipy"),
        "numba": _version_of("numba"),
        "platform": platform.platform(terse=True),
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "data": {
            "name": ctx.data_name,
            "description": ctx.data_text,
            "n_train": len(ctx.train[1]),
            "n_test": len(ctx.test[1]),
            "quick": quick,
        },
        "settings": {
            "seed": ctx.seed,
            "epochs": ctx.epochs,
            "engine": ctx.engine,
            "n_jobs": ctx.n_jobs,
            "sweep_sizes": list(ctx.sweep_sizes),
            "sweep_seeds": ctx.sweep_seeds,
        },
        "timing": {
            "seconds": total,
            "sections": dict(seconds),
            "trainings": dict(ctx.training_seconds),
        },
        "titles": dict(titles),
        "sections": dict(ctx.numbers),
    }
    results = plain(results)
    results["claims"] = essay_claims(results)
    return results


def write_results(folder: Path, results: dict[str, Any]) -> Path:
    """Write ``results.json`` atomically; returns its path."""
    text = json.dumps(results, indent=1, sort_keys=False, allow_nan=False) + "\n"
    data = text.encode("utf-8")
    return atomic_write(Path(folder) / "results.json", lambda fh: fh.write(data))


def load_results(path: Any) -> dict[str, Any]:
    """Read a results file, refusing one of another schema."""
    path = Path(path)
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidParameterError(
            f"`path` must be a study results file (results.json); {path}: {exc}"
        ) from None
    if not isinstance(results, dict) or results.get("schema") != SCHEMA:
        got = results.get("schema") if isinstance(results, dict) else type(results)
        raise InvalidParameterError(
            f"`path` must be a results file of schema {SCHEMA!r}; {path} has {got!r}"
        )
    return results
