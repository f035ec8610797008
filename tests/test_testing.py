"""The adapter conformance kit and the fake framework in mlpinspect.testing."""

from __future__ import annotations

import numpy as np
import pytest

from mlpinspect import MLP, Dense
from mlpinspect.adapters import registered_adapters
from mlpinspect.testing import (
    AdapterCheckError,
    FakeAdapter,
    FakeModel,
    adapter_checks,
    check_adapter,
    check_forward,
    check_predict,
    check_read_only,
    check_task,
    default_tolerance,
    parametrize_adapter_checks,
    registered_adapter,
)


def model(seed=0, dtype=np.float64):
    return FakeModel([5, 4, 3], seed=seed, dtype=dtype)


def run(adapter, m=None, **kwargs):
    m = model() if m is None else m
    kwargs.setdefault("arrays", m.parameters())
    kwargs.setdefault("mutate", FakeModel.perturb)
    return check_adapter(adapter, m, m.forward, **kwargs)


# -- the fake framework passes ----------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("sizes", [[3, 2], [6, 5, 4], [4, 3, 3, 2, 5]])
def test_fake_adapter_passes_every_check(sizes, dtype):
    m = FakeModel(sizes, seed=1, dtype=dtype)
    mlp = check_adapter(
        FakeAdapter(), m, m.forward, arrays=m.parameters(), mutate=FakeModel.perturb
    )
    assert mlp.sizes == tuple(sizes)
    assert mlp.dtype == dtype


def test_fake_model_forward_and_layout():
    m = FakeModel([4, 3, 2], activations=["tanh", "identity"], seed=0)
    assert m.kernels[0].shape == (4, 3)  # (in, out), like Keras
    X = np.random.default_rng(0).normal(size=(6, 4))
    expected = np.tanh(X @ m.kernels[0] + m.biases[0]) @ m.kernels[1] + m.biases[1]
    np.testing.assert_allclose(m.forward(X), expected)
    np.testing.assert_allclose(FakeAdapter().adapt(m).forward(X), expected)


def test_default_tolerances():
    assert default_tolerance(np.float32) == (1e-4, 1e-5)
    assert default_tolerance(np.float64) == (1e-9, 1e-12)


@parametrize_adapter_checks(
    FakeAdapter(), model(), model().forward, arrays=model().parameters()
)
def test_parametrized_checks_pass(check):
    check()


def test_parametrize_gives_one_case_per_check():
    mark = parametrize_adapter_checks(
        FakeAdapter(), model(), model().forward, mutate=FakeModel.perturb
    )
    argnames, params = mark.args
    assert argnames == "check"
    ids = [p.id for p in params]
    assert ids[0] == "check_protocol" and ids[-1] == "check_copies"
    assert "check_forward" in ids and "check_task" in ids
    assert "check_no_shared_memory" not in ids and "check_predict" not in ids
    with_predict = parametrize_adapter_checks(
        FakeAdapter(), model(), predict=model().predict
    )
    assert "check_predict" in [p.id for p in with_predict.args[1]]


@pytest.mark.parametrize(
    ("sizes", "activations", "classes", "task"),
    [
        ([5, 4, 3], None, ["a", "b", "c"], "multiclass"),
        ([5, 4, 3], None, None, "multiclass"),
        ([5, 4, 1], ["relu", "sigmoid"], ["no", "yes"], "binary"),
        ([5, 4, 1], ["relu", "sigmoid"], [False, True], "binary"),
        ([5, 4, 2], ["relu", "identity"], [3, 7], "multiclass"),
    ],
)
def test_fake_framework_predicts_its_labels(sizes, activations, classes, task):
    m = FakeModel(sizes, activations, seed=4, classes=classes)
    X = np.random.default_rng(4).normal(size=(40, sizes[0]))
    mlp = check_adapter(FakeAdapter(), m, m.forward, inputs=X, predict=m.predict)
    assert mlp.task == task
    assert mlp.class_names == (None if classes is None else tuple(classes))
    assert len(set(m.predict(X).tolist())) > 1


def test_checks_can_run_in_any_order():
    m = model()
    checks = adapter_checks(FakeAdapter(), m, m.forward, mutate=FakeModel.perturb)
    for _, check in reversed(checks):
        check()


# -- broken adapters fail with explanations ------------------------------------------


class NoName(FakeAdapter):
    name = ""


class IgnoresOptions(FakeAdapter):
    def adapt(self, obj, **options):
        return super().adapt(obj)


class RaisingCanAdapt(FakeAdapter):
    def can_adapt(self, obj):
        if not isinstance(obj, FakeModel):
            raise AttributeError("no sizes")
        return True


class Greedy(FakeAdapter):
    def can_adapt(self, obj):
        return True


class Truthy(FakeAdapter):
    def can_adapt(self, obj):
        return 1 if isinstance(obj, FakeModel) else 0


class ReturnsList(FakeAdapter):
    def adapt(self, obj, **options):
        return [1]


class Raises(FakeAdapter):
    def adapt(self, obj, **options):
        raise RuntimeError("boom")


class ForgetsTranspose(FakeAdapter):
    """Builds the MLP from (in, out) kernels of a square model: shapes pass."""

    def adapt(self, obj, **options):
        return MLP(
            [
                Dense(k, b, a)
                for k, b, a in zip(obj.kernels, obj.biases, obj.activations)
            ]
        )


class WrongActivation(FakeAdapter):
    def adapt(self, obj, **options):
        mlp = super().adapt(obj, **options)
        layers = [Dense(d.weight, d.bias, "sigmoid") for d in mlp.layers]
        return MLP(layers)


def _share(layer, array):
    object.__setattr__(layer, "weight", array)


class Views(FakeAdapter):
    """Puts a writable view of the framework's kernel into the layer."""

    def adapt(self, obj, **options):
        mlp = super().adapt(obj, **options)
        for layer, kernel in zip(mlp.layers, obj.kernels):
            _share(layer, kernel.T)
        return mlp


class Noisy(FakeAdapter):
    def __init__(self):
        self.rng = np.random.default_rng(0)

    def adapt(self, obj, **options):
        mlp = super().adapt(obj, **options)
        return MLP(
            [
                Dense(
                    d.weight + 1e-3 * self.rng.normal(size=d.weight.shape),
                    d.bias,
                    d.activation,
                )
                for d in mlp.layers
            ]
        )


class Cached(FakeAdapter):
    """Returns the same MLP every time: ignores later changes to the model."""

    def __init__(self):
        self.cache = {}

    def adapt(self, obj, **options):
        if id(obj) not in self.cache:
            self.cache[id(obj)] = super().adapt(obj, **options)
        return self.cache[id(obj)]


class UnknownTask(FakeAdapter):
    def adapt(self, obj, **options):
        mlp = super().adapt(obj, **options)
        mlp._task = "classification"  # what MLP itself would refuse
        return mlp


class OneClassName(FakeAdapter):
    def adapt(self, obj, **options):
        mlp = super().adapt(obj, **options)
        mlp._class_names = ("only",)
        return mlp


class NoTaskForMany(FakeAdapter):
    def adapt(self, obj, **options):
        mlp = super().adapt(obj, **options)
        mlp._task = None
        return mlp


class NamedRegressor(FakeAdapter):
    def adapt(self, obj, **options):
        mlp = super().adapt(obj, **options).replace(task="regression")
        mlp._class_names = ("a", "b", "c")
        return mlp


class ShortFeatureNames(FakeAdapter):
    def adapt(self, obj, **options):
        mlp = super().adapt(obj, **options)
        mlp._feature_names = ("x",)
        return mlp


class ForgetsClassNames(FakeAdapter):
    def adapt(self, obj, **options):
        return super().adapt(obj, **options).replace(class_names=None)


class Float16(FakeAdapter):
    def adapt(self, obj, **options):
        mlp = super().adapt(obj, **options)
        for layer in mlp.layers:
            object.__setattr__(layer, "weight", layer.weight.astype(np.float16))
        return mlp


@pytest.mark.parametrize(
    ("adapter", "kwargs", "match"),
    [
        (NoName(), {}, "check_protocol: .*`name` attribute"),
        (RaisingCanAdapt(), {}, r"check_rejects_others: can_adapt\(None\) raised"),
        (Greedy(), {}, "check_rejects_others: .*returned True; claim only"),
        (Truthy(), {}, r"check_can_adapt: can_adapt\(model\) returned 1"),
        (ReturnsList(), {}, "check_returns_mlp: adapt.* returned list"),
        (Raises(), {}, "check_returns_mlp: .*RuntimeError: boom"),
        (WrongActivation(), {}, "check_forward: the MLP's output differs"),
        (Views(), {}, "check_read_only: layers.0..weight is writable"),
        (Views(), {}, "check_no_shared_memory: layers.0..weight shares memory"),
        (Views(), {}, "check_copies: layers.0..weight changed"),
        (Noisy(), {}, "check_deterministic: .*different layers.0..weight"),
        (Cached(), {}, "check_deterministic: two adaptations share the memory"),
        (Float16(), {}, "check_dtypes: layers.0..weight has dtype float16"),
        (IgnoresOptions(), {}, "check_rejects_unknown_options: .*did not raise"),
        (UnknownTask(), {}, "check_task: task 'classification' is not one of"),
        (OneClassName(), {}, "check_task: class_names has 1 labels .* one per output"),
        (NoTaskForMany(), {}, "check_task: task is None for 3 outputs"),
        (NamedRegressor(), {}, "check_task: a regression model has class_names"),
        (ShortFeatureNames(), {}, "check_task: feature_names has 1 names for 5"),
        (
            FakeAdapter(),
            {"mutate": lambda m: None},
            "check_copies: `mutate` did not change what the adapter reads",
        ),
    ],
)
def test_broken_adapters_are_caught(adapter, kwargs, match):
    with pytest.raises(AdapterCheckError, match=match):
        run(adapter, **kwargs)


def test_square_model_without_transpose_fails_forward():
    m = FakeModel([4, 4, 4], seed=3)
    with pytest.raises(AdapterCheckError, match="check_forward") as info:
        run(ForgetsTranspose(), m)
    assert "weight layout (out, in)" in str(info.value)


def test_all_failures_are_reported_together():
    with pytest.raises(AdapterCheckError) as info:
        run(Views())
    message = str(info.value)
    assert "'fake' adapter failed 4 check(s)" in message
    for name in ("read_only", "deterministic", "no_shared_memory", "copies"):
        assert f"- check_{name}:" in message
    assert isinstance(info.value, AssertionError)


def test_forward_shape_mismatch_is_explained():
    mlp = FakeAdapter().adapt(model())
    with pytest.raises(AdapterCheckError, match=r"shape \(16, 2\) but the MLP's"):
        check_forward(mlp, lambda X: np.zeros((len(X), 2)))


def test_forward_tolerances_are_used():
    mlp = FakeAdapter().adapt(model())

    def off(X):
        return mlp.forward(X) + 1e-6

    check_forward(mlp, off, atol=1e-5)
    with pytest.raises(AdapterCheckError, match="atol=1e-12"):
        check_forward(mlp, off)


def test_read_only_check_accepts_frozen_mlp():
    check_read_only(FakeAdapter().adapt(model()))


def test_registered_adapter_context_restores_registry():
    before = [a.name for a in registered_adapters()]
    with registered_adapter(FakeAdapter()) as adapter:
        assert isinstance(adapter, FakeAdapter)
        assert [a.name for a in registered_adapters()][-1] == "fake"
    assert [a.name for a in registered_adapters()] == before


# -- check_task and check_predict on their own ----------------------------------------


def test_check_task_accepts_binary_labels_and_an_open_task():
    binary = MLP([Dense(np.ones((1, 3)), [0.0], "sigmoid")], class_names=["n", "y"])
    check_task(binary)
    open_task = MLP([Dense(np.ones((1, 3)), [0.0], "identity")])
    assert open_task.task is None
    check_task(open_task)
    bad = MLP([Dense(np.ones((1, 3)), [0.0], "sigmoid")], class_names=["n", "y"])
    bad._class_names = ("y",)
    with pytest.raises(AdapterCheckError, match=r"two \(negative, positive\)"):
        check_task(bad)


def test_check_predict_catches_missing_labels():
    m = FakeModel([5, 4, 3], seed=5, classes=["a", "b", "c"])
    with pytest.raises(AdapterCheckError) as info:
        run(ForgetsClassNames(), m, predict=m.predict)
    message = str(info.value)
    assert "check_predict: the MLP predicts differently" in message
    assert "class_names (None)" in message


def test_check_predict_asks_for_the_task():
    m = FakeModel([5, 4, 1], ["relu", "identity"], seed=6)
    mlp = FakeAdapter().adapt(m)
    assert mlp.task is None
    with pytest.raises(AdapterCheckError, match=r"check_predict: mlp\.predict raised"):
        check_predict(mlp, m.predict)
    check_predict(mlp.replace(task="binary"), m.predict)


def test_check_predict_compares_shapes():
    m = FakeModel([5, 4, 3], seed=7)
    mlp = FakeAdapter().adapt(m)
    with pytest.raises(AdapterCheckError, match=r"predicts shape \(16, 3\)"):
        check_predict(mlp, lambda X: np.zeros((len(X), 3)))
