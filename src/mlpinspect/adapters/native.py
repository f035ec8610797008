"""Adapter for mlpinspect's own models.

An :class:`~mlpinspect.MLP` is returned unchanged. A
:class:`mlpinspect.Network`, and any other object with a ``to_mlp()`` method
returning an MLP, is converted by that method: a library that wants its
models to work with mlpinspect without writing an adapter can simply provide
``to_mlp()``.
"""

from __future__ import annotations

from typing import Any

from ..errors import UnsupportedModelError
from ..mlp import MLP
from ._chain import check_options

__all__ = ["NativeAdapter"]


class NativeAdapter:
    """Adapt an :class:`~mlpinspect.MLP`, a :class:`mlpinspect.Network` or
    any object with a ``to_mlp()`` method.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> mlp = MLP([Dense(np.eye(2), np.zeros(2), "relu")])
    >>> NativeAdapter().adapt(mlp) is mlp
    True
    """

    name = "mlpinspect"
    description = "mlpinspect.MLP, mlpinspect.Network, objects with a to_mlp() method"

    def can_adapt(self, obj: Any) -> bool:
        if isinstance(obj, MLP):
            return True
        # Looked up on the class so that objects answering every attribute
        # (mocks, proxies, torch modules' __getattr__) are not mistaken.
        return callable(getattr(type(obj), "to_mlp", None))

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        if isinstance(obj, MLP):
            return obj
        mlp = obj.to_mlp()
        if not isinstance(mlp, MLP):
            raise UnsupportedModelError(
                f"{type(obj).__name__}.to_mlp() returned {type(mlp).__name__}; it "
                f"must return an mlpinspect.MLP"
            )
        return mlp
