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
``sklearn``
    a fitted ``MLPClassifier`` or ``MLPRegressor``
``keras``
    a Keras 3 ``Sequential`` or functional model
``torch``
    a PyTorch ``nn.Sequential`` or a module whose forward is a chain
``nielsen``
    an object (or mapping) with ``sizes``, ``weights`` and ``biases`` lists
``weights``
    a list of ``(W, b)`` pairs, with ``activations=[...]``

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
from .keras import KerasAdapter
from .native import NativeAdapter
from .nielsen import NielsenAdapter
from .onnx import OnnxAdapter
from .sklearn import SklearnAdapter
from .torch import TorchAdapter
from .weights import NpzAdapter, WeightsAdapter

__all__ = [
    "ENTRY_POINT_GROUP",
    "Adapter",
    "AdapterRegistry",
    "KerasAdapter",
    "NativeAdapter",
    "NielsenAdapter",
    "NpzAdapter",
    "OnnxAdapter",
    "SklearnAdapter",
    "TorchAdapter",
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
    >>> [adapter.name for adapter in builtin_adapters()]
    ['mlpinspect', 'npz', 'onnx', 'sklearn', 'keras', 'torch', 'nielsen', 'weights']
    """
    return [
        NativeAdapter(),
        NpzAdapter(),
        OnnxAdapter(),
        SklearnAdapter(),
        # Keras before torch: on the torch backend a Keras model is a torch module.
        KerasAdapter(),
        TorchAdapter(),
        NielsenAdapter(),
        WeightsAdapter(),
    ]


for _adapter in builtin_adapters():
    _REGISTRY.register(_adapter)
del _adapter
