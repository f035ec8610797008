"""Progress of an experiment on standard error: runs done of total, time left."""

from __future__ import annotations

import sys
import time
from typing import TextIO

__all__ = ["Progress", "format_seconds"]


def format_seconds(seconds: float) -> str:
    """``"42 s"``, ``"3 min 05 s"`` or ``"2 h 07 min"``.

    Examples
    --------
    >>> format_seconds(4.2), format_seconds(185), format_seconds(7620)
    ('4.2 s', '3 min 05 s', '2 h 07 min')
    """
    if seconds < 10:
        return f"{seconds:.1f} s"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class Progress:
    """One line per finished run: ``[done/total]``, the run, time elapsed and an
    estimate of the time left (runs left x mean wall time per finished run, so
    parallel workers are accounted for)."""

    def __init__(self, total: int, enabled: bool, stream: TextIO | None = None):
        self.total = total
        self.enabled = enabled
        self.stream = stream
        self.done = 0
        self.start = time.perf_counter()

    def say(self, message: str) -> None:
        if self.enabled:
            print(message, file=self.stream or sys.stderr, flush=True)

    def finished(self, text: str) -> None:
        self.done += 1
        elapsed = time.perf_counter() - self.start
        left = elapsed / self.done * (self.total - self.done)
        width = len(str(self.total))
        timing = f"{format_seconds(elapsed)} elapsed"
        if self.done < self.total:
            timing += f", about {format_seconds(left)} left"
        self.say(f"[{self.done:>{width}}/{self.total}] {text}  ({timing})")

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.start
