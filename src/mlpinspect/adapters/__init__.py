"""Model adapters: turn models from other frameworks into an :class:`~mlpinspect.MLP`."""

from __future__ import annotations

from typing import Any

from ..errors import UnsupportedModelError
from ..mlp import MLP

__all__ = ["adapt"]


def adapt(obj: Any, **kwargs: Any) -> MLP:
    """Return ``obj`` as an :class:`~mlpinspect.MLP` (an MLP is returned as is)."""
    if isinstance(obj, MLP):
        return obj
    raise UnsupportedModelError(f"no adapter recognises {type(obj).__name__}")
