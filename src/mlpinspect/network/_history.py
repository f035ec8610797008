"""What happened during one call to :meth:`mlpinspect.Network.fit`."""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, fields
from typing import Any

from .._validation import is_integer, is_sequence
from ..errors import InvalidParameterError

__all__ = ["History"]

_SERIES = ("epoch", "cost", "train_accuracy", "validation_cost",
           "validation_accuracy", "seconds")  # fmt: skip
_PER_EPOCH = ("epoch", "cost", "train_accuracy", "seconds")


def _series(values: Any, name: str) -> list:
    """A list of real numbers (NaN allowed: an epoch not monitored)."""
    if isinstance(values, dict) or not is_sequence(values):
        raise InvalidParameterError(
            f"`{name}` must be a list of numbers, one per epoch; got "
            f"{type(values).__name__}"
        )
    out = list(values)
    for i, v in enumerate(out):
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise InvalidParameterError(
                f"`{name}[{i}]` must be a number; got {v!r:.40}"
            )
        if name == "epoch" and (not is_integer(v) or v < 0 or not math.isfinite(v)):
            raise InvalidParameterError(
                f"`epoch[{i}]` must be a non-negative integer; got {v!r:.40}"
            )
    return out


@dataclass
class History:
    """What happened during one call to :meth:`Network.fit`, epoch by epoch.

    Attributes
    ----------
    epoch : list of int
        Epoch numbers, starting at 1.
    cost : list of float
        Cost on the training data after each epoch (including the L2 term);
        NaN when ``monitor=False``.
    train_accuracy : list of float
        Fraction of training examples classified correctly after each epoch;
        NaN when ``monitor=False``.
    validation_cost, validation_accuracy : list of float
        The same on ``validation_data``; empty without validation data.
    seconds : list of float
        Wall-clock seconds spent on gradient descent in each epoch
        (evaluation excluded).
    config : dict
        The arguments of the :meth:`~Network.fit` call.
    snapshots : Snapshots or None
        The weights recorded during training when :meth:`~Network.fit` was
        given ``snapshots=`` (a :class:`~mlpinspect.Snapshots`), else None.
        Not part of :meth:`to_dict` (nor of a saved network's file): save them
        with :meth:`Snapshots.save <mlpinspect.Snapshots.save>`, or record
        them straight to a file.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import Network
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((50, 4)); y = (X[:, 0] > 0.5).astype(int)
    >>> history = Network([4, 3, 2], seed=0).fit(X, y, epochs=3, progress=False)
    >>> len(history), history.epoch
    (3, [1, 2, 3])
    >>> history.config["learning_rate"]
    3.0
    """

    epoch: list[int] = field(default_factory=list)
    cost: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    validation_cost: list[float] = field(default_factory=list)
    validation_accuracy: list[float] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    snapshots: Any = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in _SERIES:
            setattr(self, name, _series(getattr(self, name), name))
        if not isinstance(self.config, dict):
            raise InvalidParameterError(
                f"`config` must be a dict; got {type(self.config).__name__}"
            )
        n = len(self.epoch)
        for name in _PER_EPOCH[1:]:
            if len(getattr(self, name)) != n:
                raise InvalidParameterError(
                    f"`{name}` must have one entry per epoch ({n}); got "
                    f"{len(getattr(self, name))}"
                )
        for name in ("validation_cost", "validation_accuracy"):
            if len(getattr(self, name)) not in (0, n):
                raise InvalidParameterError(
                    f"`{name}` must be empty or have one entry per epoch ({n}); "
                    f"got {len(getattr(self, name))}"
                )

    def __len__(self) -> int:
        return len(self.epoch)

    def to_dict(self) -> dict[str, Any]:
        """The history as a plain dict of lists (JSON-serialisable)."""
        return {
            "epoch": list(self.epoch),
            "cost": list(self.cost),
            "train_accuracy": list(self.train_accuracy),
            "validation_cost": list(self.validation_cost),
            "validation_accuracy": list(self.validation_accuracy),
            "seconds": list(self.seconds),
            "config": dict(self.config),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Rebuild a history from :meth:`to_dict`'s output.

        Raises
        ------
        InvalidParameterError
            If ``data`` is not such a dict: unknown keys, values that are not
            lists of numbers, or lists of different lengths.

        Examples
        --------
        >>> History.from_dict({"epoch": [1], "cost": [0.5], "train_accuracy": [0.9],
        ...                    "seconds": [0.1]}).epoch
        [1]
        """
        if not isinstance(data, dict):
            raise InvalidParameterError(
                f"`data` must be a dict such as History.to_dict() returns; got "
                f"{type(data).__name__}"
            )
        known = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in data if k not in known)
        if unknown:
            raise InvalidParameterError(
                f"`data` has unknown key(s) {', '.join(map(repr, unknown[:5]))}; a "
                f"history has {', '.join(sorted(known))}"
            )
        return cls(**data)

    def __str__(self) -> str:
        if not self.epoch:
            return "History(no epochs)"
        lines = ["epoch      cost   train   valid   seconds"]
        for i, e in enumerate(self.epoch):
            valid = (
                f"{100 * self.validation_accuracy[i]:6.2f}%"
                if self.validation_accuracy
                else "      -"
            )
            lines.append(
                f"{e:5d}  {self.cost[i]:8.4f}  {100 * self.train_accuracy[i]:6.2f}%"
                f" {valid}  {self.seconds[i]:8.3f}"
            )
        return "\n".join(lines)


def print_progress(history: History, epochs: int) -> None:
    """One line per epoch on standard error."""
    import sys

    import numpy as np

    i = len(history) - 1
    parts = [f"epoch {history.epoch[i]:>{len(str(epochs))}}/{epochs}"]
    if np.isfinite(history.cost[i]):
        parts.append(f"cost {history.cost[i]:.4f}")
        parts.append(f"train {100 * history.train_accuracy[i]:.2f}%")
    if history.validation_accuracy:
        parts.append(f"valid {100 * history.validation_accuracy[i]:.2f}%")
    parts.append(f"{history.seconds[i]:.2f} s")
    print("  ".join(parts), file=sys.stderr, flush=True)
