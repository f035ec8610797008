"""Adapter for PyTorch weight files: the path of a ``.pt`` or ``.pth`` state dict.

The file is read with ``torch.load(path, weights_only=True)``, which only
rebuilds tensors and plain containers: nothing in the file runs. It must
hold a state dict (``torch.save(model.state_dict(), path)``), or a
checkpoint dictionary with the state dict under ``"state_dict"``,
``"model_state_dict"`` or ``"model"``; such a checkpoint may also record
``"activations"`` (a list of names) and ``"layers"`` (their order).

A state dict holds the linear layers' weights and biases but not the
activations, so they are given (see :mod:`mlpinspect.adapters._state`)::

    mlp = mlpinspect.adapt("mnist_mlp.pt", activations=["relu", "log_softmax"],
                           input_shape=(28, 28))

The layers are in the file's order, which is the module's (``state_dict``
keeps the order in which the layers were created); ``layers=[...]`` gives
another. A file holding anything but linear layers (batch norm statistics,
PReLU slopes) is refused naming the tensor: build the model, load the state
dict into it and adapt the model. A whole pickled model
(``torch.save(model)``) is refused: unpickling it could run code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..errors import ModelFileError
from ..mlp import MLP
from ._chain import as_float, check_options, import_optional, is_path
from ._state import mlp_from_state

__all__ = ["TorchFileAdapter"]

_SUFFIXES = (".pt", ".pth")
_NESTED = ("state_dict", "model_state_dict", "model")


def _tensors(obj: Any, torch: Any) -> dict[str, np.ndarray] | None:
    if not isinstance(obj, Mapping) or not obj:
        return None
    if not all(
        isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items()
    ):
        return None
    arrays = {}
    for key, tensor in obj.items():
        tensor = tensor.detach()
        if tensor.dtype in (torch.float16, torch.bfloat16):
            tensor = tensor.to(torch.float32)
        arrays[key] = as_float(tensor.cpu().numpy())
    return arrays


def load_state_dict(path: str | os.PathLike) -> tuple[dict[str, np.ndarray], dict]:
    """The tensors of a state-dict file, and what a checkpoint records beside."""
    torch = import_optional("torch", "torch")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"no PyTorch file at {path!r}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        text = str(exc)
        if "Unsupported global" in text or "GLOBAL" in text:
            raise ModelFileError(
                f"{path!r} holds pickled Python objects (a whole model saved with "
                f"torch.save(model)?), which mlpinspect does not unpickle: that can "
                f"run code. Save model.state_dict() instead, or, for a file you "
                f"trust, load the model yourself and adapt it"
            ) from None
        raise ModelFileError(
            f"{path!r} is not a readable PyTorch file ({type(exc).__name__}: "
            f"{text.splitlines()[0] if text else ''})"
        ) from None
    extra: dict = {}
    tensors = _tensors(obj, torch)
    if tensors is None and isinstance(obj, Mapping):
        for key in _NESTED:
            tensors = _tensors(obj.get(key), torch)
            if tensors is not None:
                extra = {k: obj[k] for k in ("activations", "layers") if k in obj}
                break
    if tensors is None:
        raise ModelFileError(
            f"{path!r} holds no state dict: expected a mapping of names to tensors "
            f"(torch.save(model.state_dict(), path)), or one under "
            f"{', '.join(map(repr, _NESTED))}; got {type(obj).__name__}"
        )
    return tensors, extra


class TorchFileAdapter:
    """Adapt the path of a PyTorch state-dict file (``.pt``, ``.pth``).

    Notes
    -----
    Options of ``adapt(path, **options)``:

    ``activations`` : str or sequence of str
        One activation name per linear layer (or one for all); required
        unless the checkpoint records them.
    ``layers`` : sequence of str, optional
        The layers' names (state-dict prefixes such as ``"fc1"``) in order.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import torch
    >>> model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(),
    ...                             torch.nn.Linear(3, 2))
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.pt"
    >>> torch.save(model.state_dict(), path)
    >>> TorchFileAdapter().adapt(path, activations=["relu", "log_softmax"])
    MLP(4-3-2, activations=[relu, log_softmax], task='multiclass', name='model.pt')
    """

    name = "torch-file"
    description = "paths of PyTorch state-dict files (.pt, .pth) with activations=[...]"

    def can_adapt(self, obj: Any) -> bool:
        return any(is_path(obj, suffix) for suffix in _SUFFIXES)

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name, ("activations", "layers"))
        tensors, extra = load_state_dict(obj)
        path = os.fspath(obj)
        activations = options.get("activations", extra.get("activations"))
        return mlp_from_state(
            tensors,
            repr(path),
            activations=activations,
            layers=options.get("layers", extra.get("layers")),
            file_order_is_model_order=True,
            name=os.path.basename(path),
        )
