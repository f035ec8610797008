"""adapt(), register_adapter() and entry-point discovery."""

from __future__ import annotations

import sys
import textwrap
from importlib import metadata

import numpy as np
import pytest

from mlpinspect import MLP, Dense, InvalidParameterError, UnsupportedModelError
from mlpinspect.adapters import (
    ENTRY_POINT_GROUP,
    Adapter,
    adapt,
    register_adapter,
    registered_adapters,
    unregister_adapter,
)
from mlpinspect.testing import FakeAdapter, FakeModel, registered_adapter


def small_mlp() -> MLP:
    rng = np.random.default_rng(0)
    return MLP(
        [
            Dense(rng.normal(size=(3, 4)), rng.normal(size=3), "relu"),
            Dense(rng.normal(size=(2, 3)), rng.normal(size=2), "softmax"),
        ]
    )


class Pair:
    """A model of a framework no built-in adapter knows."""

    def __init__(self, w, b) -> None:
        self.w, self.b = np.asarray(w, float), np.asarray(b, float)


class PairAdapter:
    """Claims Pair objects; a stand-in third-party adapter."""

    name = "pair"

    def __init__(self, label: str = "pair") -> None:
        self.label = label

    def can_adapt(self, obj):
        return isinstance(obj, Pair)

    def adapt(self, obj, **options):
        return MLP([Dense(obj.w, obj.b, "identity")], name=self.label)


# -- adapt -----------------------------------------------------------------------


def test_mlp_passes_through_unchanged(registry):
    mlp = small_mlp()
    assert adapt(mlp) is mlp


def test_common_options_override_metadata(registry):
    mlp = small_mlp()
    named = adapt(mlp, input_shape=(2, 2), class_names=["a", "b"], name="m")
    assert named is not mlp
    assert named.input_shape == (2, 2)
    assert named.class_names == ("a", "b")
    assert named.name == "m"
    # The layers (and so the read-only arrays) are shared, not copied again.
    assert named.layers == mlp.layers


def test_common_options_are_validated(registry):
    with pytest.raises(InvalidParameterError, match="class_names"):
        adapt(small_mlp(), class_names=["only one"])
    with pytest.raises(InvalidParameterError, match="input_shape"):
        adapt(small_mlp(), input_shape=(3, 3))
    with pytest.raises(InvalidParameterError, match="feature_names"):
        adapt(small_mlp(), feature_names=["a", "b"])
    with pytest.raises(InvalidParameterError, match="`task` must be one of"):
        adapt(small_mlp(), task="classification")
    with pytest.raises(InvalidParameterError, match="'binary' needs one output"):
        adapt(small_mlp(), task="binary")


def test_task_and_feature_names_are_common_options(registry):
    rng = np.random.default_rng(1)
    mlp = MLP([Dense(rng.normal(size=(2, 4)), rng.normal(size=2), "sigmoid")])
    assert mlp.task == "multiclass"  # one-vs-rest sigmoids, by default
    tagged = adapt(mlp, task="multilabel", feature_names=["a", "b", "c", "d"])
    assert tagged.task == "multilabel"
    assert tagged.feature_names == ("a", "b", "c", "d")
    assert tagged.layers == mlp.layers
    X = np.random.default_rng(0).normal(size=(6, 4))
    indicator = tagged.predict(X)
    assert 0 < indicator.mean() < 1
    np.testing.assert_array_equal(indicator, tagged.forward(X) > 0.5)


def test_a_changed_task_drops_the_labels_a_restated_one_keeps_them(registry):
    named = adapt(small_mlp(), class_names=["cat", "dog"])
    assert adapt(named, task="multiclass").class_names == ("cat", "dog")
    assert adapt(named, task="regression").class_names is None
    sigmoid = adapt(
        [(layer.weight, layer.bias) for layer in small_mlp().layers],
        activations=["relu", "sigmoid"],
        class_names=["cat", "dog"],
    )
    assert adapt(sigmoid, task="multilabel").class_names is None
    relabelled = adapt(sigmoid, task="multilabel", class_names=["red", "round"])
    assert relabelled.class_names == ("red", "round")


def test_a_softmax_cannot_be_multilabel(registry):
    with pytest.raises(InvalidParameterError, match="use 'multiclass'"):
        adapt(small_mlp(), task="multilabel")


def test_common_options_reach_no_adapter(registry):
    class Strict(PairAdapter):
        def adapt(self, obj, **options):
            assert options == {}
            return super().adapt(obj)

    register_adapter(Strict())
    mlp = adapt(
        Pair([[1.0, -1.0]], [0.0]),
        input_shape=(2, 1),
        class_names=["no", "yes"],
        feature_names=["x", "y"],
        task="binary",
        name="strict",
    )
    assert (mlp.input_shape, mlp.task, mlp.name) == ((2, 1), "binary", "strict")
    assert mlp.class_names == ("no", "yes") and mlp.feature_names == ("x", "y")
    assert mlp.predict([[2.0, 1.0], [0.0, 1.0]]).tolist() == ["yes", "no"]


def test_unknown_option_is_refused_and_named(registry):
    with pytest.raises(InvalidParameterError, match=r"'colour'.*'mlpinspect' adapter"):
        adapt(small_mlp(), colour="blue")
    with pytest.raises(InvalidParameterError) as info:
        adapt([(np.eye(2), np.zeros(2))], activations="relu", colour="blue")
    message = str(info.value)
    assert "'weights' adapter" in message and "'activations'" in message
    for common in ("input_shape", "class_names", "feature_names", "task", "name"):
        assert f"'{common}'" in message


def test_unrecognised_object_lists_supported_kinds(registry):
    with pytest.raises(UnsupportedModelError) as info:
        adapt(object())
    message = str(info.value)
    assert "builtins.object" in message
    for name in ("torch", "sklearn", "keras", "onnx", "nielsen", "weights", "npz"):
        assert f"- {name}:" in message
    assert "register_adapter" in message


def test_unrecognised_path_names_it(registry, tmp_path):
    with pytest.raises(UnsupportedModelError, match=r"the path .*model\.h5"):
        adapt(str(tmp_path / "model.h5"))


def test_adapter_returning_non_mlp_is_reported(registry):
    class Broken(PairAdapter):
        name = "broken"

        def adapt(self, obj, **options):
            return "not an MLP"

    register_adapter(Broken(), first=True)
    with pytest.raises(UnsupportedModelError, match="'broken' adapter returned str"):
        adapt(Pair(np.eye(2), np.zeros(2)))


def test_builtin_order(registry):
    names = [a.name for a in registered_adapters()]
    assert names == [
        "mlpinspect",
        "npz",
        "onnx",
        "keras-file",
        "torch-file",
        "safetensors",
        "nielsen-json",
        "sklearn",
        "skorch",
        "keras",
        "torch",
        "equinox",
        "flax",
        "nielsen",
        "weights",
    ]


# -- registration ------------------------------------------------------------------


def test_register_adapter_is_asked(registry):
    pair = Pair(np.eye(2), np.ones(2))
    with pytest.raises(UnsupportedModelError):
        adapt(pair)
    register_adapter(PairAdapter())
    mlp = adapt(pair)
    assert mlp.name == "pair"
    np.testing.assert_array_equal(mlp.forward([[1.0, 2.0]]), [[2.0, 3.0]])


def test_register_first_takes_precedence(registry):
    class ListAdapter(PairAdapter):
        name = "my-weights"

        def can_adapt(self, obj):
            return isinstance(obj, list)

        def adapt(self, obj, **options):
            ((w, b),) = obj
            return MLP([Dense(w, b, "identity")], name=self.label)

    pairs = [(np.eye(2), np.zeros(2))]
    register_adapter(ListAdapter(label="last"))
    # The built-in weights adapter is asked first and needs activations.
    with pytest.raises(InvalidParameterError, match="activations"):
        adapt(pairs)
    register_adapter(ListAdapter(label="first"), first=True)
    assert adapt(pairs).name == "first"
    assert registered_adapters()[0].name == "my-weights"
    assert [a.name for a in registered_adapters()].count("my-weights") == 1


def test_register_same_name_replaces(registry):
    register_adapter(PairAdapter(label="one"))
    register_adapter(PairAdapter(label="two"))
    assert [a.name for a in registered_adapters()].count("pair") == 1
    assert adapt(Pair(np.eye(1), np.zeros(1))).name == "two"


def test_register_a_class_works_as_decorator(registry):
    @register_adapter
    class Decorated(PairAdapter):
        name = "decorated"

    assert isinstance(Decorated, type)
    assert any(isinstance(a, Decorated) for a in registered_adapters())


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (object(), "lacks name, can_adapt, adapt"),
        (type("NoName", (), {"name": "", "can_adapt": len, "adapt": len})(), "name"),
        (
            type("NeedsArgs", (), {"__init__": lambda self, x: None}),
            "without arguments",
        ),
    ],
)
def test_register_rejects_non_adapters(registry, bad, match):
    with pytest.raises(InvalidParameterError, match=match):
        register_adapter(bad)


def test_unregister(registry):
    register_adapter(PairAdapter())
    removed = unregister_adapter("pair")
    assert isinstance(removed, PairAdapter)
    assert "pair" not in [a.name for a in registered_adapters()]
    with pytest.raises(InvalidParameterError, match="'pair'"):
        unregister_adapter("pair")


def test_protocol_is_runtime_checkable():
    assert isinstance(PairAdapter(), Adapter)
    assert isinstance(FakeAdapter(), Adapter)
    assert not isinstance(object(), Adapter)
    for adapter in registered_adapters():
        assert isinstance(adapter, Adapter)


def test_registered_adapter_context_restores(registry):
    before = [a.name for a in registered_adapters()]
    with registered_adapter(FakeAdapter, first=True) as adapter:
        assert isinstance(adapter, FakeAdapter)
        assert registered_adapters()[0].name == "fake"
        assert adapt(FakeModel([3, 2], seed=0)).sizes == (3, 2)
    assert [a.name for a in registered_adapters()] == before


# -- entry points ------------------------------------------------------------------

PLUGIN = textwrap.dedent(
    """
    from mlpinspect import MLP, Dense

    class Plugged:
        name = "plugged"

        def can_adapt(self, obj):
            return type(obj).__name__ == "PluggedModel"

        def adapt(self, obj, **options):
            return MLP([Dense(obj.w, obj.b, "tanh")], name="plugged")

    instance = Plugged()

    def broken():
        pass
    """
)


class PluggedModel:
    def __init__(self) -> None:
        self.w = np.array([[1.0, -1.0]])
        self.b = np.array([0.5])


@pytest.fixture
def plugin_module(tmp_path, monkeypatch):
    """A third-party adapter module importable as ``mlpinspect_plugin_test``."""
    (tmp_path / "mlpinspect_plugin_test.py").write_text(PLUGIN)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mlpinspect_plugin_test", raising=False)
    return tmp_path


def fake_entry_points(monkeypatch, *values):
    eps = [
        metadata.EntryPoint(f"ep{i}", value, ENTRY_POINT_GROUP)
        for i, value in enumerate(values)
    ]
    calls = []

    def entry_points(**kwargs):
        calls.append(kwargs)
        return (
            metadata.EntryPoints(eps)
            if kwargs.get("group") == ENTRY_POINT_GROUP
            else []
        )

    monkeypatch.setattr(metadata, "entry_points", entry_points)
    return calls


@pytest.mark.parametrize(
    "value", ["mlpinspect_plugin_test:Plugged", "mlpinspect_plugin_test:instance"]
)
def test_entry_point_adapter_is_discovered(registry, plugin_module, monkeypatch, value):
    calls = fake_entry_points(monkeypatch, value)
    # Objects a built-in adapter recognises never trigger discovery.
    adapt(small_mlp())
    assert calls == []
    mlp = adapt(PluggedModel())
    assert mlp.name == "plugged"
    np.testing.assert_allclose(mlp.forward([[2.0, 1.0]]), np.tanh([[1.5]]))
    assert calls == [{"group": ENTRY_POINT_GROUP}]
    # Read once only.
    adapt(PluggedModel())
    with pytest.raises(UnsupportedModelError, match="- plugged:"):
        adapt(object())
    assert len(calls) == 1


def test_broken_entry_point_warns_and_is_skipped(registry, plugin_module, monkeypatch):
    fake_entry_points(
        monkeypatch,
        "mlpinspect_plugin_test:broken",
        "mlpinspect_plugin_missing:Nothing",
        "mlpinspect_plugin_test:Plugged",
    )
    with pytest.warns(RuntimeWarning, match="skipped the adapter entry point") as rec:
        assert adapt(PluggedModel()).name == "plugged"
    assert len(rec) == 2
    assert "ep0" in str(rec[0].message) and "ep1" in str(rec[1].message)


def test_explicit_registration_wins_over_entry_point(
    registry, plugin_module, monkeypatch
):
    class Mine:
        name = "plugged"

        def can_adapt(self, obj):
            return isinstance(obj, PluggedModel)

        def adapt(self, obj, **options):
            return MLP([Dense(obj.w, obj.b, "relu")], name="mine")

    fake_entry_points(monkeypatch, "mlpinspect_plugin_test:Plugged")
    register_adapter(Mine())
    registered_adapters()  # loads the entry points
    assert adapt(PluggedModel()).name == "mine"


def test_installed_distribution_is_discovered(registry, plugin_module):
    """A real (if tiny) installed package: a .dist-info folder on sys.path."""
    info = plugin_module / "mlpinspect_plugin_test-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: mlpinspect-plugin-test\nVersion: 0.1\n"
    )
    (info / "entry_points.txt").write_text(
        f"[{ENTRY_POINT_GROUP}]\nplugged = mlpinspect_plugin_test:Plugged\n"
    )
    assert adapt(PluggedModel()).name == "plugged"
    assert "plugged" in [a.name for a in registered_adapters()]
