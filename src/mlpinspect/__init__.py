"""mlpinspect: what did this neural network actually learn?

Inspect multilayer perceptrons from mlpinspect's own :class:`Network`,
Nielsen-style code, scikit-learn, PyTorch, Keras and ONNX: weight images,
top-k excitatory and inhibitory units, exact contribution decomposition and
attributions with checked guarantees.
"""

from __future__ import annotations

from . import datasets
from ._version import __version__
from .adapters import (
    Adapter,
    adapt,
    register_adapter,
    registered_adapters,
    unregister_adapter,
)
from .datasets import load_mnist, load_mnist_sample
from .errors import (
    DatasetError,
    DownloadError,
    InvalidParameterError,
    MlpinspectError,
    ModelFileError,
    UnsupportedModelError,
)
from .mlp import MLP, Dense, ForwardTrace
from .network import History, Network

__all__ = [
    "Adapter",
    "MLP",
    "DatasetError",
    "Dense",
    "DownloadError",
    "ForwardTrace",
    "History",
    "InvalidParameterError",
    "MlpinspectError",
    "ModelFileError",
    "Network",
    "UnsupportedModelError",
    "__version__",
    "adapt",
    "datasets",
    "load_mnist",
    "load_mnist_sample",
    "register_adapter",
    "registered_adapters",
    "unregister_adapter",
]
