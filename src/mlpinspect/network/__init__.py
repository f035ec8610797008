"""The reference trainable network, as a package whose files show its parts.

- ``_model``: :class:`Network`, its parameters, its
  inference (through the :class:`~mlpinspect.MLP` view) and its files;
- ``_training``: mini-batch SGD, the numpy loop;
- ``_numba_engine``: the same loop as compiled code
  (``engine="numba"``, the default ``engine="auto"`` where numba imports);
- ``_history``: :class:`History`, what a training did;
- the file format is ``mlpinspect._netfile``, shared with the npz adapter.
"""

from __future__ import annotations

from ._history import History
from ._model import (
    COSTS,
    ENGINES,
    INITIALIZATIONS,
    Network,
    load_numba_engine,
    resolve_engine,
)

__all__ = [
    "COSTS",
    "ENGINES",
    "INITIALIZATIONS",
    "History",
    "Network",
    "load_numba_engine",
    "resolve_engine",
]
