"""Adapter for safetensors files: the path of a ``.safetensors`` file of weights.

The file is read with safetensors' numpy API (``safe_open(path,
framework="np")``): a JSON header and raw tensor bytes, no pickle, so
nothing in the file runs and no tensor is larger than the file. The tensors
are read as a PyTorch state dict (``"fc1.weight"`` of shape ``(out, in)``,
``"fc1.bias"``; see :mod:`mlpinspect.adapters._state`); a file saved from
``model.state_dict()`` with ``safetensors.torch.save_file`` is one.

The file does not record the activations, so they are given, one per linear
layer (or one for all); nor, reliably, the layers' order (safetensors sorts
the names). The order is the one in which the weights' shapes chain; when
several do (hidden layers of equal width), ``layers=[...]`` names them in
order::

    mlp = mlpinspect.adapt("model.safetensors", activations=["relu", "softmax"])
    mlp = mlpinspect.adapt("deep.safetensors", layers=["0", "2", "4", "6"],
                           activations=["relu", "relu", "relu", "identity"])

A file may record both in its metadata (``save_file(tensors, path,
metadata={"activations": "relu,softmax", "layers": "fc1,fc2"})``,
comma-separated), and mlpinspect reads them; given options win. Install with
``pip install "mlpinspect[safetensors]"``.
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from ..errors import ModelFileError
from ..mlp import MLP
from ._chain import as_float, check_options, import_optional, is_path
from ._state import mlp_from_state

__all__ = ["SafetensorsAdapter"]


def _split(value: str | None) -> list[str] | None:
    if value is None:
        return None
    return [part.strip() for part in value.split(",") if part.strip()]


def load_safetensors(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """The tensors of a safetensors file and its metadata."""
    import_optional("safetensors.numpy", "safetensors")
    safetensors = import_optional("safetensors", "safetensors")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"no safetensors file at {path!r}")
    try:
        with safetensors.safe_open(path, framework="np") as handle:
            metadata = dict(handle.metadata() or {})
            tensors = {key: as_float(handle.get_tensor(key)) for key in handle.keys()}  # noqa: SIM118
    except Exception as exc:  # safetensors raises its own SafetensorError
        raise ModelFileError(
            f"{path!r} is not a readable safetensors file ({type(exc).__name__}: {exc})"
        ) from None
    return tensors, metadata


class SafetensorsAdapter:
    """Adapt the path of a ``.safetensors`` file of linear layers.

    Notes
    -----
    Options of ``adapt(path, **options)``:

    ``activations`` : str or sequence of str
        One activation name per linear layer (or one for all); required
        unless the file's metadata records them.
    ``layers`` : sequence of str, optional
        The layers' names (prefixes such as ``"fc1"``) in order; needed when
        the shapes chain in more than one order.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import numpy as np
    >>> from safetensors.numpy import save_file
    >>> rng = np.random.default_rng(0)
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.safetensors"
    >>> save_file({"hidden.weight": rng.normal(size=(3, 4)),
    ...            "hidden.bias": np.zeros(3),
    ...            "out.weight": rng.normal(size=(2, 3)),
    ...            "out.bias": np.zeros(2)}, path)
    >>> SafetensorsAdapter().adapt(path, activations=["gelu", "softmax"])
    MLP(4-3-2, activations=[gelu, softmax], task='multiclass', name='model.safetensors')
    """

    name = "safetensors"
    description = "paths of .safetensors files of linear layers, with activations=[...]"

    def can_adapt(self, obj: Any) -> bool:
        return is_path(obj, ".safetensors")

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name, ("activations", "layers"))
        tensors, metadata = load_safetensors(obj)
        path = os.fspath(obj)
        activations = options.get("activations", _split(metadata.get("activations")))
        return mlp_from_state(
            tensors,
            repr(path),
            activations=activations,
            layers=options.get("layers", _split(metadata.get("layers"))),
            name=os.path.basename(path),
        )
