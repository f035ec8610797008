"""The exceptions mlpinspect raises.

Every exception derives from :class:`MlpinspectError`, so ``except
MlpinspectError`` catches anything the library raises on purpose. Each one also
derives from the built-in exception a user would naturally catch
(``ValueError``, ``TypeError``, ``OSError``), so code written against plain
Python keeps working.
"""

from __future__ import annotations

__all__ = [
    "DatasetError",
    "DownloadError",
    "InvalidParameterError",
    "MlpinspectError",
    "ModelFileError",
    "UnsupportedModelError",
]


class MlpinspectError(Exception):
    """Base class of every exception raised by mlpinspect."""


class InvalidParameterError(MlpinspectError, ValueError, TypeError):
    """An argument has the wrong type, shape, value or content.

    The message names the argument, what was expected and what came, e.g.
    ``"`X` must have 784 features (the model's input size); got 783"``. It
    subclasses both ``ValueError`` and ``TypeError`` (as scikit-learn's
    ``InvalidParameterError`` does) so either ``except`` clause catches it.
    """


class UnsupportedModelError(MlpinspectError, TypeError):
    """A model, layer or activation cannot be represented as an MLP.

    Raised by :func:`mlpinspect.adapt` for objects no adapter recognises and
    for models with structure an MLP cannot express (a convolution, a residual
    connection, an unknown activation). The message names the layer and its
    type and lists what is supported.
    """


class ModelFileError(MlpinspectError, ValueError):
    """A file given as a saved model is missing parts, corrupt or not one."""


class DatasetError(MlpinspectError, ValueError):
    """A data file is corrupt, truncated, of the wrong format or checksum."""


class DownloadError(DatasetError, OSError):
    """A download failed (server error, dropped connection, bad checksum)."""
