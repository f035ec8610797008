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

A ``Pipeline`` whose last step is an MLP (an ``MLPClassifier``, an
``MLPRegressor``, a skorch net, or any model :func:`mlpinspect.adapt`
reads) and whose steps before it are affine maps is adapted as one MLP:
the affine steps are folded exactly into the first layer, so its weights
(and weight images) are in the raw input space and ``adapt(pipe).predict(X)``
equals ``pipe.predict(X)`` on raw ``X``. The affine steps are
``StandardScaler``, ``MinMaxScaler`` (without ``clip``), ``MaxAbsScaler``,
``RobustScaler``, ``PCA`` (whitened or not), ``TruncatedSVD``,
``FunctionTransformer()`` without a function, and ``"passthrough"``. Any
other step (``QuantileTransformer``, ``PolynomialFeatures``, ``Normalizer``,
a ``ColumnTransformer``) is not affine and is refused naming it.
"""

from __future__ import annotations

import numbers
import sys
from typing import Any

import numpy as np

from ..errors import InvalidParameterError, UnsupportedModelError
from ..mlp import MLP, Dense
from ._chain import Step, build_mlp, check_options, import_optional

__all__ = ["SklearnAdapter"]


def _mlp_classes() -> tuple[type, ...]:
    module = sys.modules.get("sklearn.neural_network")
    if module is None:
        return ()
    return (module.MLPClassifier, module.MLPRegressor)


def _is_pipeline(obj: Any) -> bool:
    module = sys.modules.get("sklearn.pipeline")
    return module is not None and isinstance(obj, module.Pipeline)


_AFFINE_STEPS = (
    "StandardScaler, MinMaxScaler (clip=False), MaxAbsScaler, RobustScaler, PCA, "
    "TruncatedSVD, FunctionTransformer() without a function and 'passthrough'"
)


def _fitted(estimator: Any, attribute: str, label: str) -> Any:
    value = getattr(estimator, attribute, None)
    if value is None:
        raise InvalidParameterError(
            f"{label} is not fitted: fit the pipeline before adapting it"
        )
    return np.asarray(value, dtype=np.float64)


def _affine_step(name: str, estimator: Any) -> Step | None:
    """The step of one pipeline step before the MLP (None: the identity)."""
    if estimator is None or (isinstance(estimator, str) and estimator == "passthrough"):
        return None
    kind = type(estimator).__name__
    label = f"step {name!r} ({kind})"
    module = sys.modules.get("sklearn.preprocessing")
    decomposition = sys.modules.get("sklearn.decomposition")
    if module is not None and isinstance(estimator, module.StandardScaler):
        scale = _fitted(estimator, "scale_", label) if estimator.with_std else 1.0
        mean = _fitted(estimator, "mean_", label) if estimator.with_mean else 0.0
        if not hasattr(estimator, "n_features_in_"):
            raise InvalidParameterError(f"{label} is not fitted")
        return Step("scale_shift", label, scale=1.0 / scale,
                    shift=-np.asarray(mean) / scale)  # fmt: skip
    if module is not None and isinstance(estimator, module.MinMaxScaler):
        if estimator.clip:
            raise UnsupportedModelError(
                f"{label} clips its outputs to the feature range (clip=True), which "
                f"is not an affine map; refit it with clip=False"
            )
        return Step("scale_shift", label, scale=_fitted(estimator, "scale_", label),
                    shift=_fitted(estimator, "min_", label))  # fmt: skip
    if module is not None and isinstance(estimator, module.MaxAbsScaler):
        return Step("scale_shift", label,
                    scale=1.0 / _fitted(estimator, "scale_", label))  # fmt: skip
    if module is not None and isinstance(estimator, module.RobustScaler):
        if not hasattr(estimator, "n_features_in_"):
            raise InvalidParameterError(f"{label} is not fitted")
        scale = _fitted(estimator, "scale_", label) if estimator.with_scaling else 1.0
        center = (
            _fitted(estimator, "center_", label) if estimator.with_centering else 0.0
        )
        return Step("scale_shift", label, scale=1.0 / np.asarray(scale),
                    shift=-np.asarray(center) / scale)  # fmt: skip
    if module is not None and isinstance(estimator, module.FunctionTransformer):
        if estimator.func is None:
            return None
        raise UnsupportedModelError(
            f"{label} applies the function {estimator.func!r}, which mlpinspect "
            f"cannot fold into a linear layer; only the identity "
            f"(FunctionTransformer()) and the affine steps {_AFFINE_STEPS} are read"
        )
    if decomposition is not None and isinstance(estimator, decomposition.PCA):
        # x -> (x - mean) @ C.T, divided by sqrt(explained variance) if whitened
        components = _fitted(estimator, "components_", label)
        mean = _fitted(estimator, "mean_", label)
        if estimator.whiten:
            scale = np.sqrt(_fitted(estimator, "explained_variance_", label))
            scale[scale < np.finfo(scale.dtype).eps] = np.finfo(scale.dtype).eps
            components = components / scale[:, None]
        return Step("affine", label, weight=components, bias=-(components @ mean))
    if decomposition is not None and isinstance(estimator, decomposition.TruncatedSVD):
        return Step("affine", label, weight=_fitted(estimator, "components_", label))
    raise UnsupportedModelError(
        f"{label} is not an affine map of its inputs, so it cannot be folded into "
        f"the MLP's first layer; the steps before the network may be "
        f"{_AFFINE_STEPS}. Adapt pipeline[-1] instead and give it inputs "
        f"transformed by pipeline[:-1].transform(X)"
    )


def _pipeline_mlp(pipeline: Any, adapt_final: Any) -> MLP:
    """A Pipeline of affine steps and an MLP, as one MLP on the raw inputs."""
    if not pipeline.steps:
        raise UnsupportedModelError("the Pipeline has no steps")
    final_name, final = pipeline.steps[-1]
    if final is None or final == "passthrough":
        raise UnsupportedModelError(
            f"the Pipeline ends with {final_name!r}, which is not a model"
        )
    steps = [
        step
        for name, estimator in pipeline.steps[:-1]
        if (step := _affine_step(name, estimator)) is not None
    ]
    inner = adapt_final(final, final_name)
    for layer in inner.layers:
        steps.append(
            Step("linear", f"step {final_name!r} {layer.name or ''}".rstrip(),
                 weight=layer.weight, bias=layer.bias)
        )  # fmt: skip
        steps.append(
            Step("activation", f"step {final_name!r} {layer.name or ''}".rstrip(),
                 activation=layer.activation, params=layer.activation_params)
        )  # fmt: skip
    names = " -> ".join(type(e).__name__ for _, e in pipeline.steps)
    mlp = build_mlp(
        steps,
        framework="scikit-learn",
        supported=_AFFINE_STEPS,
        name=f"Pipeline({names})",
    )
    features = getattr(pipeline, "feature_names_in_", None)
    return mlp.replace(
        task=inner.task,
        class_names=inner.class_names,
        feature_names=None if features is None else [str(f) for f in features],
    )


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

    A scaler before the network is folded into its first layer, so the MLP
    takes raw inputs:

    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> pipe = make_pipeline(StandardScaler(), MLPClassifier(
    ...     hidden_layer_sizes=(5,), max_iter=2000, random_state=0)).fit(X * 10 + 3, y)
    >>> mlp = SklearnAdapter().adapt(pipe)
    >>> mlp.sizes, bool((mlp.predict(X * 10 + 3) == pipe.predict(X * 10 + 3)).all())
    ((4, 5, 3), True)
    """  # noqa: E501

    name = "sklearn"
    description = (
        "fitted scikit-learn MLPClassifier and MLPRegressor, and Pipelines of "
        "affine steps (scalers, PCA) ending in an MLP"
    )

    def can_adapt(self, obj: Any) -> bool:
        classes = _mlp_classes()
        if classes and isinstance(obj, classes):
            return True
        # A pipeline is claimed whole: its last step is adapted by whichever
        # adapter reads it, and a step that cannot be folded is named.
        return _is_pipeline(obj) and bool(obj.steps)

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        import_optional("sklearn", "sklearn")
        if _is_pipeline(obj):
            return _pipeline_mlp(obj, self._final)
        return self._estimator(obj)

    def _final(self, estimator: Any, name: str) -> MLP:
        """The MLP of a pipeline's last step, by any adapter that reads it."""
        if isinstance(estimator, _mlp_classes()):
            return self._estimator(estimator)
        from ._registry import _REGISTRY

        adapter = _REGISTRY.find(estimator)
        if adapter is None or adapter.name in ("weights", "nielsen"):
            raise UnsupportedModelError(
                f"the Pipeline's last step {name!r} ({type(estimator).__name__}) is "
                f"not a model mlpinspect reads; it must be an MLP (MLPClassifier, "
                f"MLPRegressor, a skorch net, ...)"
            )
        return adapter.adapt(estimator)

    def _estimator(self, obj: Any) -> MLP:
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
