"""What happened during one call to :meth:`mlpinspect.Network.fit`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["History"]


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
        """Rebuild a history from :meth:`to_dict`'s output."""
        return cls(
            **{k: (dict(v) if k == "config" else list(v)) for k, v in data.items()}
        )

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
