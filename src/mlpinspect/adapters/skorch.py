"""Adapter for skorch estimators: ``NeuralNetClassifier``, ``NeuralNetBinaryClassifier``
and ``NeuralNetRegressor``.

A fitted (initialised) skorch net wraps a PyTorch module, ``net.module_``; it
is read by the PyTorch adapter (everything :mod:`mlpinspect.adapters.torch`
supports), and the net says what the outputs mean:

- ``NeuralNetClassifier``: ``"multiclass"``, with ``net.classes_`` as the
  class names (skorch's ``predict`` returns positions; the MLP's returns
  these labels, which are the positions when the classes are ``0..k-1``).
  A module ending in a softmax gives the probabilities; one ending in logits
  (trained with ``CrossEntropyLoss``) gives logits, and ``predict_proba``
  applies the softmax as skorch does;
- ``NeuralNetBinaryClassifier``: ``"binary"``, one logit (its ``squeeze``
  at the end is fine). The MLP decides at probability 0.5; a net with
  another ``threshold`` is adapted with a
  :class:`~mlpinspect.MlpinspectWarning`;
- ``NeuralNetRegressor``: ``"regression"``.

skorch runs its module in evaluation mode to predict, so a module left in
training mode after ``fit`` is read that way without a warning. Install
with ``pip install "mlpinspect[skorch]"``.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

from ..errors import InvalidParameterError, MlpinspectWarning
from ..mlp import MLP
from ._chain import check_options, import_optional
from .torch import adapt_module

__all__ = ["SkorchAdapter"]


def _classes(net: Any) -> list[Any] | None:
    try:
        classes = net.classes_
    except (AttributeError, ValueError):
        return None
    if classes is None:
        return None
    from .sklearn import _labels

    return _labels(classes)


class SkorchAdapter:
    """Adapt a fitted skorch ``NeuralNet`` through its ``module_``.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skorch import NeuralNetClassifier
    >>> module = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(),
    ...                              torch.nn.Linear(8, 3), torch.nn.Softmax(dim=-1))
    >>> net = NeuralNetClassifier(module, max_epochs=2, lr=0.1, verbose=0,
    ...                           train_split=None)
    >>> X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    >>> _ = net.fit(X, np.arange(30) % 3)
    >>> mlp = SkorchAdapter().adapt(net)
    >>> mlp
    MLP(4-8-3, activations=[relu, softmax], task='multiclass', name='NeuralNetClassifier')
    >>> bool((mlp.predict(X) == net.predict(X)).all())
    True
    """  # noqa: E501

    name = "skorch"
    description = (
        "fitted skorch NeuralNetClassifier, NeuralNetBinaryClassifier and "
        "NeuralNetRegressor (their module_)"
    )

    def can_adapt(self, obj: Any) -> bool:
        skorch = sys.modules.get("skorch")
        base = getattr(skorch, "NeuralNet", None) if skorch is not None else None
        return isinstance(base, type) and isinstance(obj, base)

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        skorch = import_optional("skorch", "skorch")
        kind = type(obj).__name__
        if not getattr(obj, "initialized_", False) or not hasattr(obj, "module_"):
            raise InvalidParameterError(
                f"the {kind} is not initialised: fit it (or call initialize()) "
                f"before adapting it"
            )
        mlp = adapt_module(obj.module_, name=kind, warn_training=False)
        if isinstance(obj, skorch.NeuralNetBinaryClassifier):
            threshold = float(getattr(obj, "threshold", 0.5))
            if threshold != 0.5:
                warnings.warn(
                    f"the {kind} predicts the positive class above probability "
                    f"{threshold}; the adapted MLP decides at 0.5 (logit 0). Its "
                    f"outputs are the net's logits all the same",
                    MlpinspectWarning,
                    stacklevel=3,
                )
            classes = _classes(obj)
            return mlp.replace(
                task="binary",
                class_names=classes if classes and len(classes) == 2 else None,
            )
        if isinstance(obj, skorch.NeuralNetClassifier):
            classes = _classes(obj)
            fits = classes is not None and len(classes) == mlp.n_outputs
            return mlp.replace(task="multiclass", class_names=classes if fits else None)
        if isinstance(obj, skorch.NeuralNetRegressor):
            return mlp.replace(task="regression")
        return mlp
