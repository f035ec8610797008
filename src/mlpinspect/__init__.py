"""mlpinspect: what did this neural network actually learn?

Inspect multilayer perceptrons from mlpinspect's own :class:`Network`,
Nielsen-style code, scikit-learn, PyTorch, Keras and ONNX: weight images,
top-k excitatory and inhibitory units, exact contribution decomposition and
attributions with checked guarantees.
"""

from __future__ import annotations

from . import analysis, datasets, plotting
from ._version import __version__
from .adapters import (
    Adapter,
    adapt,
    register_adapter,
    registered_adapters,
    unregister_adapter,
)
from .analysis import (
    Ablation,
    Attribution,
    ClassContributions,
    Decomposition,
    Drift,
    EffectiveWeights,
    PreferredInput,
    Smoothness,
    TopUnits,
    UnitImportance,
    ablate,
    attribute,
    class_contributions,
    decompose,
    drift_from_init,
    effective_weights,
    image_shape,
    input_space_images,
    iter_attribute,
    iter_decompose,
    preferred_input,
    smoothness,
    top_units,
    unit_importance,
    weight_images,
)
from .datasets import load_mnist, load_mnist_sample
from .errors import (
    DatasetError,
    DownloadError,
    InvalidParameterError,
    MlpinspectError,
    ModelFileError,
    NumericalError,
    UnsupportedModelError,
)
from .mlp import MLP, TASKS, Dense, ForwardTrace, infer_task
from .network import History, Network

__all__ = [
    "MLP",
    "TASKS",
    "Ablation",
    "Adapter",
    "Attribution",
    "ClassContributions",
    "DatasetError",
    "Decomposition",
    "Dense",
    "DownloadError",
    "Drift",
    "EffectiveWeights",
    "ForwardTrace",
    "History",
    "InvalidParameterError",
    "MlpinspectError",
    "ModelFileError",
    "Network",
    "NumericalError",
    "PreferredInput",
    "Smoothness",
    "TopUnits",
    "UnitImportance",
    "UnsupportedModelError",
    "__version__",
    "ablate",
    "adapt",
    "analysis",
    "attribute",
    "class_contributions",
    "datasets",
    "decompose",
    "drift_from_init",
    "effective_weights",
    "image_shape",
    "infer_task",
    "input_space_images",
    "iter_attribute",
    "iter_decompose",
    "load_mnist",
    "load_mnist_sample",
    "plotting",
    "preferred_input",
    "register_adapter",
    "registered_adapters",
    "smoothness",
    "top_units",
    "unit_importance",
    "unregister_adapter",
    "weight_images",
]
