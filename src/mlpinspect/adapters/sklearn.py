"""Adapter for scikit-learn's ``MLPClassifier`` and ``MLPRegressor``.

scikit-learn stores layer ``l``'s weights as ``coefs_[l]`` of shape
``(in, out)``; they are transposed once, here, to mlpinspect's ``(out, in)``.
The hidden layers use ``activation`` (``'identity'``, ``'logistic'``,
``'tanh'`` or ``'relu'``) and the output layer ``out_activation_``:

- multi-class ``MLPClassifier``: ``'softmax'``, one output per class in
  ``classes_`` order;
- binary ``MLPClassifier``: ``'logistic'`` with a **single** output unit, the
  probability of ``classes_[1]`` (``predict_proba(X)[:, 1]``); the MLP keeps
  that one unit (so it is faithful to the weights) and names it after
  ``classes_[1]``;
- multi-label ``MLPClassifier``: ``'logistic'``, one output per label;
- ``MLPRegressor``: ``'identity'`` (a Poisson-loss regressor's ``'exp'``
  output is not supported).

Class names come from ``classes_``.
"""

from __future__ import annotations

import sys
from typing import Any

from ..errors import InvalidParameterError, UnsupportedModelError
from ..mlp import MLP, Dense
from ._chain import check_options, import_optional

__all__ = ["SklearnAdapter"]


def _mlp_classes() -> tuple[type, ...]:
    module = sys.modules.get("sklearn.neural_network")
    if module is None:
        return ()
    return (module.MLPClassifier, module.MLPRegressor)


def _is_pipeline(obj: Any) -> bool:
    module = sys.modules.get("sklearn.pipeline")
    return module is not None and isinstance(obj, module.Pipeline)


class SklearnAdapter:
    """Adapt a fitted scikit-learn ``MLPClassifier`` or ``MLPRegressor``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPClassifier
    >>> X = np.random.default_rng(0).normal(size=(60, 4))
    >>> y = np.arange(60) % 3
    >>> clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2000,
    ...                     random_state=0).fit(X, y)
    >>> mlp = SklearnAdapter().adapt(clf)
    >>> mlp, mlp.class_names
    (MLP(4-5-3, activations=[relu, softmax], name='MLPClassifier'), ('0', '1', '2'))
    >>> bool(np.allclose(mlp.forward(X), clf.predict_proba(X)))
    True
    """

    name = "sklearn"
    description = "fitted scikit-learn MLPClassifier and MLPRegressor"

    def can_adapt(self, obj: Any) -> bool:
        classes = _mlp_classes()
        if classes and isinstance(obj, classes):
            return True
        # A pipeline ending in an MLP is claimed only to explain what to do.
        return (
            _is_pipeline(obj)
            and bool(obj.steps)
            and isinstance(obj.steps[-1][1], classes or ())
        )

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        import_optional("sklearn", "sklearn")
        if _is_pipeline(obj):
            raise UnsupportedModelError(
                f"a scikit-learn Pipeline ({' -> '.join(n for n, _ in obj.steps)}) "
                f"is not an MLP: adapt its last step, pipeline[-1], and feed it "
                f"inputs transformed by pipeline[:-1].transform(X)"
            )
        kind = type(obj).__name__
        if not hasattr(obj, "coefs_"):
            raise InvalidParameterError(
                f"the {kind} is not fitted: call fit(X, y) before adapting it"
            )
        n = len(obj.coefs_)
        acts = [obj.activation] * (n - 1) + [obj.out_activation_]
        layers = []
        for i, (coef, intercept) in enumerate(zip(obj.coefs_, obj.intercepts_)):
            try:
                # coef is (in, out); Dense copies the transposed view once.
                layers.append(Dense(coef.T, intercept, acts[i], name=f"coefs_[{i}]"))
            except UnsupportedModelError:
                where = "output" if i == n - 1 else "hidden"
                raise UnsupportedModelError(
                    f"layer {i} ({where}) of the {kind} uses the activation "
                    f"{acts[i]!r}; supported are 'identity', 'logistic', 'tanh' and "
                    f"'relu' (hidden) and 'softmax', 'logistic' and 'identity' "
                    f"(output)"
                ) from None
        class_names = None
        classes = getattr(obj, "classes_", None)
        if classes is not None:
            names = [str(c) for c in classes]
            n_out = layers[-1].n_out
            if len(names) == 2 and n_out == 1:
                names = names[1:]  # binary: the single unit is P(classes_[1])
            class_names = names if len(names) == n_out else None
        return MLP(layers, class_names=class_names, name=kind)
