"""Adapter for scikit-learn's ``MLPClassifier`` and ``MLPRegressor``.

scikit-learn stores layer ``l``'s weights as ``coefs_[l]`` of shape
``(in, out)``; they are transposed once, here, to mlpinspect's ``(out, in)``.
The hidden layers use ``activation`` (``'identity'``, ``'logistic'``,
``'tanh'`` or ``'relu'``) and the output layer ``out_activation_``. The
estimator also says what its outputs mean, and the MLP keeps it, so that
``adapt(clf).predict(X)`` equals ``clf.predict(X)``, labels included:

- multi-class ``MLPClassifier``: ``'softmax'``, one output per class; task
  ``"multiclass"``, ``class_names`` = ``classes_``;
- binary ``MLPClassifier``: ``'logistic'`` with a **single** output unit, the
  probability of ``classes_[1]``; task ``"binary"``, ``class_names`` = both
  ``classes_`` (negative, then positive). The MLP keeps the one unit, so it
  is faithful to the weights;
- multi-label ``MLPClassifier`` (fitted on a 0/1 indicator matrix):
  ``'logistic'``, one output per label; task ``"multilabel"``;
- ``MLPRegressor``: ``'identity'``; task ``"regression"`` (a Poisson-loss
  regressor's ``'exp'`` output is not supported).

Class names keep their type: strings stay strings (``fetch_openml``'s
``'0'..'9'``), integers integers, booleans booleans (floats that are whole
numbers become integers; other labels become strings). ``feature_names``
come from ``feature_names_in_`` (set when the estimator was fitted on a
pandas DataFrame).

A ``Pipeline`` is refused with a message saying how to adapt its last step.
"""

from __future__ import annotations

import numbers
import sys
from typing import Any

import numpy as np

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


def _labels(classes: Any) -> list[Any]:
    """``classes_`` as plain Python labels of one kind (str, int or bool)."""
    items = np.asarray(classes).tolist()
    if all(isinstance(c, bool) for c in items):
        return items
    if all(isinstance(c, numbers.Integral) for c in items):
        return [int(c) for c in items]  # bools were returned above
    if all(isinstance(c, str) for c in items):
        return items
    if all(
        isinstance(c, numbers.Real)
        and not isinstance(c, bool)
        and float(c).is_integer()
        for c in items
    ):
        return [int(c) for c in items]  # 0.0, 1.0 compare equal to 0, 1
    return [str(c) for c in items]


def _head(obj: Any, n_out: int) -> tuple[str, list[Any] | None]:
    """The task and class names of a fitted MLPClassifier or MLPRegressor."""
    classes = getattr(obj, "classes_", None)
    if classes is None:  # MLPRegressor
        return "regression", None
    binarizer = getattr(obj, "_label_binarizer", None)
    if getattr(binarizer, "y_type_", None) == "multilabel-indicator":
        task = "multilabel"
    elif n_out == 1:
        task = "binary"  # one logistic unit: P(classes_[1])
    else:
        task = "multiclass"
    names = _labels(classes)
    expected = 2 if task == "binary" else n_out
    return task, names if len(names) == expected else None


class SklearnAdapter:
    """Adapt a fitted scikit-learn ``MLPClassifier`` or ``MLPRegressor``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.neural_network import MLPClassifier
    >>> X = np.random.default_rng(0).normal(size=(60, 4))
    >>> y = np.array(["cat", "dog", "emu"])[np.arange(60) % 3]
    >>> clf = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2000,
    ...                     random_state=0).fit(X, y)
    >>> mlp = SklearnAdapter().adapt(clf)
    >>> mlp, mlp.class_names
    (MLP(4-5-3, activations=[relu, softmax], task='multiclass', name='MLPClassifier'), ('cat', 'dog', 'emu'))
    >>> bool((mlp.predict(X) == clf.predict(X)).all())
    True

    A binary classifier has one output unit and two classes:

    >>> binary = MLPClassifier(hidden_layer_sizes=(5,), max_iter=2000,
    ...                        random_state=0).fit(X, y == "dog")
    >>> mlp = SklearnAdapter().adapt(binary)
    >>> mlp.task, mlp.n_outputs, mlp.class_names
    ('binary', 1, (False, True))
    >>> bool((mlp.predict(X) == binary.predict(X)).all())
    True
    """  # noqa: E501

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
        task, class_names = _head(obj, layers[-1].n_out)
        features = getattr(obj, "feature_names_in_", None)
        return MLP(
            layers,
            class_names=class_names,
            feature_names=None if features is None else [str(f) for f in features],
            task=task,
            name=kind,
        )
