"""Snapshots of the weights during :meth:`Network.fit`: the trainer's side.

``fit(..., snapshots=recorder)`` hands the network's weights to a *recorder*
at the start of training, after every ``every_epochs`` epochs and/or every
``every_batches`` mini-batches, and at the end. The recorder is any object
with

``every_epochs``, ``every_batches``
    ``int >= 1`` or None: the schedule;
``record(model, *, epoch, step, metrics)``
    called with an :class:`~mlpinspect.MLP` copy of the weights, the (possibly
    fractional) epochs and the mini-batch updates done so far, and a dict of
    the numbers known at that moment (cost and accuracy after an epoch);
``close(*, complete)``
    called once when training ends (``complete=False`` when it stopped on an
    exception); what it returns becomes ``History.snapshots``.

:class:`mlpinspect.SnapshotRecorder` is the library's recorder (in memory or
streamed to one ``.npz`` file). It lives with the analyses, above the trainer,
which never imports it: the trainer only knows this protocol.

A snapshot after ``n`` mini-batches splits an epoch into runs of mini-batches
between two snapshots. Each run is the engine's own epoch loop on a slice of
the epoch's order that starts at a batch boundary, so the batches, and the
arithmetic, are exactly those of an epoch run in one piece: recording never
changes the network a seed trains.
"""

from __future__ import annotations

from typing import Any

from .._validation import check_int
from ..errors import InvalidParameterError

__all__ = ["Schedule", "check_recorder"]

_PROTOCOL = ("every_epochs", "every_batches", "record", "close")


class Schedule:
    """When a recorder wants snapshots: every ``every_epochs`` epochs and/or
    every ``every_batches`` mini-batch updates (either may be None)."""

    def __init__(self, every_epochs: int | None, every_batches: int | None) -> None:
        self.every_epochs = every_epochs
        self.every_batches = every_batches

    def cuts(self, step: int, n_batches: int) -> range:
        """Inside an epoch of ``n_batches`` mini-batches that starts after
        ``step`` updates: the numbers of batches ``b`` (``0 < b < n_batches``)
        after which a snapshot is due (the epoch's end is :meth:`due`'s)."""
        k = self.every_batches
        if k is None:
            return range(0)
        return range(k - step % k, n_batches, k)

    def due(self, epoch: int, step: int) -> bool:
        """Whether a snapshot is due at the end of ``epoch``, after ``step``
        updates in all."""
        return (self.every_epochs is not None and epoch % self.every_epochs == 0) or (
            self.every_batches is not None and step % self.every_batches == 0
        )


def check_recorder(recorder: Any) -> Schedule | None:
    """Check ``snapshots=``: None, or an object with the recorder protocol."""
    if recorder is None:
        return None
    missing = [name for name in _PROTOCOL if not hasattr(recorder, name)]
    if missing or not (callable(recorder.record) and callable(recorder.close)):
        raise InvalidParameterError(
            "`snapshots` must be a mlpinspect.SnapshotRecorder (or an object with "
            "`every_epochs`, `every_batches`, `record()` and `close()`); got "
            f"{type(recorder).__name__}"
        )
    every = []
    for name in ("every_epochs", "every_batches"):
        value = getattr(recorder, name)
        every.append(
            None if value is None else check_int(value, f"snapshots.{name}", minimum=1)
        )
    return Schedule(*every)
