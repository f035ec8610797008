"""The cache of finished runs: one JSON file per run, written atomically.

A run's key is the SHA-256 (first 32 hex digits) of this JSON object, with
sorted keys and no spaces::

    {"cache_format": 1,
     "settings": {...every network and training setting, defaults filled in...},
     "seed": 3,
     "data": "<SHA-256 of the training and test arrays>",
     "evaluate": ["accuracy", "module:function#<bytecode digest>", ...],
     "monitor": false}

so two runs share a key exactly when they train the same network the same way
on the same data and measure the same things. A configuration's ``name`` is a
label and not part of the key. The data's digest covers the dtype, shape and
bytes of the training inputs, the training labels (as class indices), and the
test inputs and labels (or their absence).

In the cache folder, run ``KEY`` is ``KEY.json``: the key's ingredients, the
status (``"ok"`` or ``"failed"``), the numbers measured (non-finite ones as
``null``), the error (type, message and traceback) of a failed run, the
seconds it took and the mlpinspect version that ran it. When the trained
network was kept it is ``KEY.npz`` beside it (:meth:`mlpinspect.Network.save`'s
format). Both are written to a temporary file and renamed into place, so a
killed run leaves either a complete file or none; nothing here is a pickle, and
reading executes no code.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

from .._io import atomic_write
from .._version import __version__
from ..errors import InvalidParameterError, MlpinspectError

__all__ = ["CACHE_FORMAT", "Cache", "run_key"]

CACHE_FORMAT = 1
_RECORD_FORMAT = "mlpinspect.experiment-run"
_MAX_RECORD_BYTES = 4 * 1024 * 1024  # a record is a few kB; refuse anything huge


def run_key(
    settings: dict[str, Any],
    seed: int,
    data: str,
    evaluate: list[str],
    monitor: bool,
) -> tuple[str, dict[str, Any]]:
    """The run's key and the object it hashes."""
    ingredients = {
        "cache_format": CACHE_FORMAT,
        "settings": settings,
        "seed": seed,
        "data": data,
        "evaluate": evaluate,
        "monitor": monitor,
    }
    text = json.dumps(ingredients, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:32], ingredients


def _finite_or_none(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (None if isinstance(v, float) and not math.isfinite(v) else v)
        for k, v in values.items()
    }


class Cache:
    """A folder of finished runs (see the module documentation)."""

    def __init__(self, folder: str | os.PathLike) -> None:
        if isinstance(folder, (bytes, bool)) or not isinstance(
            folder, (str, os.PathLike)
        ):
            raise InvalidParameterError(
                f"`cache_dir` must be a folder path (str or path-like); got "
                f"{folder!r:.60}"
            )
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InvalidParameterError(
                f"`cache_dir` must be a folder mlpinspect can create and write to; "
                f"{self.folder}: {exc.strerror or exc}"
            ) from None
        if not self.folder.is_dir():
            raise InvalidParameterError(
                f"`cache_dir` must be a folder; {self.folder} is a file"
            )

    def record_path(self, key: str) -> Path:
        return self.folder / f"{key}.json"

    def model_path(self, key: str) -> Path:
        return self.folder / f"{key}.npz"

    def __len__(self) -> int:
        return sum(1 for _ in self.folder.glob("*.json"))

    def read(self, key: str, ingredients: dict[str, Any]) -> dict[str, Any] | None:
        """The finished run ``key``, or None when absent or unusable.

        A record that cannot be read, or whose ingredients are not this run's,
        is reported with a warning and the run is done again.
        """
        path = self.record_path(key)
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            return None
        try:
            if size > _MAX_RECORD_BYTES:
                raise ValueError(f"{size} bytes; a run record is a few kB")
            record = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(record, dict) or record.get("format") != _RECORD_FORMAT:
                raise ValueError("not a run record of mlpinspect")
            if record.get("format_version") != CACHE_FORMAT:
                raise ValueError(
                    f"format version {record.get('format_version')!r}, this "
                    f"mlpinspect reads {CACHE_FORMAT}"
                )
            if record.get("key") != key or record.get("ingredients") != ingredients:
                raise ValueError("its settings are not those of the run it is named")
            if record.get("status") not in ("ok", "failed"):
                raise ValueError(f"unknown status {record.get('status')!r}")
            if not isinstance(record.get("metrics"), dict) or not all(
                v is None or isinstance(v, (bool, int, float))
                for v in record["metrics"].values()
            ):
                raise ValueError("`metrics` must map names to numbers")
            seconds = record.get("seconds")
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                raise ValueError("`seconds` must be a number")
            error = record.get("error")
            if record["status"] == "failed" and not (
                isinstance(error, dict)
                and isinstance(error.get("type"), str)
                and isinstance(error.get("message"), str)
            ):
                raise ValueError("a failed run must hold its error's type and message")
        except (OSError, ValueError, RecursionError) as exc:
            warnings.warn(
                f"the cached run {path} is unusable ({exc}); it is run again",
                CacheWarning,
                stacklevel=4,
            )
            return None
        return record

    def write(
        self,
        key: str,
        ingredients: dict[str, Any],
        outcome: dict[str, Any],
        network: Any = None,
    ) -> None:
        """Write a finished run (and its network, if given) atomically."""
        model = None
        if network is not None:
            model = self.model_path(key).name
            network.save(self.model_path(key))
        record = {
            "format": _RECORD_FORMAT,
            "format_version": CACHE_FORMAT,
            "key": key,
            "ingredients": ingredients,
            "status": outcome["status"],
            "metrics": _finite_or_none(outcome["metrics"]),
            "error": outcome["error"],
            "seconds": outcome["seconds"],
            "model": model,
            "mlpinspect": __version__,
        }
        text = json.dumps(record, indent=1, allow_nan=False)
        atomic_write(self.record_path(key), lambda fh: fh.write(text.encode()))

    def load_network(self, key: str) -> Any:
        """The network kept with run ``key``, or None when there is none."""
        from ..network import Network

        path = self.model_path(key)
        if not path.exists():
            return None
        try:
            return Network.load(path)
        except MlpinspectError as exc:
            warnings.warn(
                f"the cached network {path} is unusable ({exc}); the run is done again",
                CacheWarning,
                stacklevel=4,
            )
            return None


class CacheWarning(UserWarning):
    """A cached run could not be used (unreadable, or not the run its name
    says) and is run again; the warning names the file.

    Examples
    --------
    >>> import warnings
    >>> from mlpinspect.experiments import CacheWarning
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("error", CacheWarning)  # make it an error
    ...     issubclass(CacheWarning, UserWarning)
    True
    """
