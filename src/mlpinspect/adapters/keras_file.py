"""Adapter for saved Keras models: the path of a ``.keras`` file.

The file is loaded with ``keras.saving.load_model(path, safe_mode=True)``:
safe mode refuses to deserialise a ``Lambda`` layer's code, so reading a
file never runs code it holds. The model is then read by
:class:`~mlpinspect.adapters.KerasAdapter`, the task included (a ``.keras``
file keeps the compiled loss).

A file whose model uses layers, activations or losses Keras does not know
(custom objects registered in the program that saved it) cannot be loaded
this way; the error says so. Load it yourself, with the custom objects, then
adapt the model::

    model = keras.models.load_model("model.keras", custom_objects={...})
    mlp = mlpinspect.adapt(model)

(only for files you trust: custom objects and ``safe_mode=False`` run the
file's code).
"""

from __future__ import annotations

import os
import warnings
from typing import Any

from ..errors import ModelFileError, UnsupportedModelError
from ..mlp import MLP
from ._chain import check_options, import_optional, is_path
from .keras import KerasAdapter

__all__ = ["KerasFileAdapter"]

_HINT = (
    "load it yourself with keras.models.load_model(path, custom_objects={...}) "
    "(only for a file you trust: custom objects run its code) and adapt the model"
)


def load_keras_file(path: str | os.PathLike) -> Any:
    """The Keras model saved at ``path``, loaded in safe mode."""
    keras = import_optional("keras", "keras")
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"no Keras file at {path!r}")
    import zipfile  # here: it alone would add a tenth to `import mlpinspect`

    if not zipfile.is_zipfile(path):
        raise ModelFileError(
            f"{path!r} is not a .keras archive (a zip file written by model.save); "
            f"an HDF5 file from Keras 2 is read by keras.models.load_model, and the "
            f"model it returns by mlpinspect.adapt"
        )
    try:
        with warnings.catch_warnings():
            # Keras warns about the optimizer's state (not restored when the
            # model was never trained) and trips numpy 2's __array__(copy=...)
            # notice; neither concerns the weights read here.
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.simplefilter("ignore", UserWarning)
            return keras.saving.load_model(path, safe_mode=True)
    except (TypeError, ValueError) as exc:
        text = str(exc)
        if "Lambda" in text or "safe_mode" in text:
            raise UnsupportedModelError(
                f"{path!r} holds a Lambda layer (Python code), which mlpinspect "
                f"does not run; {_HINT}"
            ) from None
        if "Could not locate" in text or "custom" in text.lower():
            raise UnsupportedModelError(
                f"{path!r} uses an object Keras does not know ({text.splitlines()[0]}"
                f"); {_HINT}"
            ) from None
        raise ModelFileError(
            f"{path!r} is not a readable Keras model: {text.splitlines()[0]}"
        ) from None
    except Exception as exc:  # a broken zip, a missing member, ...
        raise ModelFileError(
            f"{path!r} is not a readable Keras model ({type(exc).__name__}: {exc})"
        ) from None


class KerasFileAdapter:
    """Adapt the path of a ``.keras`` file (see the module documentation).

    Examples
    --------
    >>> import os, pathlib, tempfile
    >>> _ = os.environ.setdefault("KERAS_BACKEND", "torch")
    >>> import keras
    >>> model = keras.Sequential([keras.Input((4,)),
    ...                           keras.layers.Dense(3, activation="gelu"),
    ...                           keras.layers.Dense(2, activation="softmax")],
    ...                          name="tiny")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "model.keras"
    >>> model.save(path)
    >>> KerasFileAdapter().adapt(path)
    MLP(4-3-2, activations=[gelu, softmax], task='multiclass', name='tiny')
    """

    name = "keras-file"
    description = "paths of .keras files (loaded in safe mode, no code runs)"

    def can_adapt(self, obj: Any) -> bool:
        return is_path(obj, ".keras")

    def adapt(self, obj: Any, **options: Any) -> MLP:
        check_options(options, self.name)
        return KerasAdapter().adapt(load_keras_file(obj))
