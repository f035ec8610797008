"""Model adapters: turn models from other frameworks into an :class:`~mlpinspect.MLP`.

:func:`adapt` asks the registered adapters, in order, whether they recognise
an object and lets the first one convert it. The built-in adapters, in the
order they are asked:

``mlpinspect``
    :class:`~mlpinspect.MLP` (returned unchanged), :class:`mlpinspect.Network`
    and any object with a ``to_mlp()`` method
``npz``
    the path of an ``.npz`` file (format in :mod:`mlpinspect.adapters.weights`)
``onnx``
    an ``onnx.ModelProto`` or the path of an ``.onnx`` file
``keras-file``
    the path of a ``.keras`` file (loaded in safe mode)
``torch-file``
    the path of a PyTorch state dict (``.pt``, ``.pth``), with
    ``activations=[...]``
``safetensors``
    the path of a ``.safetensors`` file, with ``activations=[...]``
``nielsen-json``
    the path of a ``.json`` file saved by Nielsen's ``network2.py``
``sklearn``
    a fitted ``MLPClassifier`` or ``MLPRegressor``, or a ``Pipeline`` of
    affine steps (scalers, PCA) ending in an MLP
``skorch``
    a fitted skorch ``NeuralNetClassifier``, ``NeuralNetBinaryClassifier`` or
    ``NeuralNetRegressor``
``keras``
    a Keras 3 ``Sequential`` or functional model
``torch``
    a PyTorch ``nn.Sequential``, a bare ``nn.Linear``, or a module whose
    forward is a chain
``equinox``
    an Equinox ``eqx.nn.MLP``, ``eqx.nn.Sequential`` or ``eqx.nn.Linear``
``flax``
    a Flax NNX ``nnx.Sequential`` chain or ``nnx.Linear``
``nielsen``
    an object (or mapping) with ``sizes``, ``weights`` and ``biases`` lists
``weights``
    a list of ``(W, b)`` pairs, with ``activations=[...]``

Paths are recognised by their suffix first, before any object test; then
the adapters of frameworks whose models are also other things come before
those they would be mistaken for (a skorch net is a scikit-learn estimator,
a Keras model on the torch backend a torch module); the duck-typed
``nielsen`` and ``weights`` come last.

No framework is imported until a model of it is adapted: recognising a
model only looks at ``sys.modules``. Third-party adapters follow the
:class:`Adapter` protocol and are added with :func:`register_adapter` or
through the ``mlpinspect.adapters`` entry-point group, e.g. in a plug-in's
``pyproject.toml``::

    [project.entry-points."mlpinspect.adapters"]
    jax_mlp = "mlpinspect_jax:JaxAdapter"

An entry point names an adapter instance or a class that can be created
without arguments; the group is read the first time :func:`adapt` meets an
object no registered adapter recognises.
"""

from __future__ import annotations

from ._registry import (
    _REGISTRY,
    ENTRY_POINT_GROUP,
    Adapter,
    AdapterRegistry,
    adapt,
    register_adapter,
    registered_adapters,
    unregister_adapter,
)
from .equinox import EquinoxAdapter
from .flax import FlaxAdapter
from .keras import KerasAdapter
from .keras_file import KerasFileAdapter
from .native import NativeAdapter
from .nielsen import NielsenAdapter, NielsenFileAdapter
from .onnx import OnnxAdapter
from .safetensors import SafetensorsAdapter
from .sklearn import SklearnAdapter
from .skorch import SkorchAdapter
from .torch import TorchAdapter
from .torch_file import TorchFileAdapter
from .weights import NpzAdapter, WeightsAdapter

__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "AdapterRegistry",
    "EquinoxAdapter",
    "FlaxAdapter",
    "KerasAdapter",
    "KerasFileAdapter",
    "NativeAdapter",
    "NielsenAdapter",
    "NielsenFileAdapter",
    "NpzAdapter",
    "OnnxAdapter",
    "SafetensorsAdapter",
    "SklearnAdapter",
    "SkorchAdapter",
    "TorchAdapter",
    "TorchFileAdapter",
    "WeightsAdapter",
    "adapt",
    "builtin_adapters",
    "register_adapter",
    "registered_adapters",
    "unregister_adapter",
]


def builtin_adapters() -> list[Adapter]:
    """New instances of the built-in adapters, in the order they are asked.

    Examples
    --------
    >>> from mlpinspect.adapters import builtin_adapters
    >>> names = [adapter.name for adapter in builtin_adapters()]
    >>> names  # doctest: +NORMALIZE_WHITESPACE
    ['mlpinspect', 'npz', 'onnx', 'keras-file', 'torch-file', 'safetensors',
     'nielsen-json', 'sklearn', 'skorch', 'keras', 'torch', 'equinox', 'flax',
     'nielsen', 'weights']
    """
    return [
        NativeAdapter(),
        # Paths, by suffix: cheap string tests that no model object passes.
        NpzAdapter(),
        OnnxAdapter(),
        KerasFileAdapter(),
        TorchFileAdapter(),
        SafetensorsAdapter(),
        NielsenFileAdapter(),
        # A Pipeline may end in a skorch net, which is a scikit-learn estimator.
        SklearnAdapter(),
        SkorchAdapter(),
        # Keras before torch: on the torch backend a Keras model is a torch module.
        KerasAdapter(),
        TorchAdapter(),
        EquinoxAdapter(),
        FlaxAdapter(),
        # Duck-typed: anything with sizes/weights/biases, any list of pairs.
        NielsenAdapter(),
        WeightsAdapter(),
    ]


for _adapter in builtin_adapters():
    _REGISTRY.register(_adapter)
del _adapter
