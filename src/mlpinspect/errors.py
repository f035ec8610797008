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
    "ExperimentError",
    "InvalidParameterError",
    "MlpinspectError",
    "MlpinspectWarning",
    "ModelFileError",
    "NumericalError",
    "UnsupportedModelError",
    "WriteError",
]


class MlpinspectError(Exception):
    """Base class of every exception raised by mlpinspect.

    Examples
    --------
    >>> import mlpinspect
    >>> try:
    ...     mlpinspect.Network([784, 0, 10])
    ... except mlpinspect.MlpinspectError as exc:
    ...     print(type(exc).__name__, exc)
    InvalidParameterError `sizes[1]` must be >= 1; got 0
    """


class InvalidParameterError(MlpinspectError, ValueError, TypeError):
    """An argument has the wrong type, shape, value or content.

    The message names the argument, what was expected and what came, e.g.
    ``"`X` must have 784 features (the model's input size); got 783"``. It
    subclasses both ``ValueError`` and ``TypeError`` (as scikit-learn's
    ``InvalidParameterError`` does) so either ``except`` clause catches it.

    Examples
    --------
    >>> from mlpinspect import InvalidParameterError, Network
    >>> issubclass(InvalidParameterError, ValueError)
    True
    >>> issubclass(InvalidParameterError, TypeError)
    True
    """


class UnsupportedModelError(MlpinspectError, TypeError):
    """A model, layer or activation cannot be represented as an MLP.

    Raised by :func:`mlpinspect.adapt` for objects no adapter recognises and
    for models with structure an MLP cannot express (a convolution, a residual
    connection, an unknown activation). The message names the layer and its
    type and lists what is supported.

    Examples
    --------
    >>> import mlpinspect
    >>> try:
    ...     mlpinspect.adapt(object())
    ... except TypeError as exc:  # UnsupportedModelError is a TypeError
    ...     print(str(exc).splitlines()[0])
    no adapter recognises an object of type builtins.object. Supported kinds:
    """


class ModelFileError(MlpinspectError, ValueError):
    """A file given as a saved model is missing parts, corrupt or not one.

    Examples
    --------
    >>> import mlpinspect
    >>> try:
    ...     mlpinspect.Network.load("no-such-network.npz")
    ... except mlpinspect.ModelFileError as exc:
    ...     print(exc)
    no-such-network.npz: no such file
    """


class DatasetError(MlpinspectError, ValueError):
    """A data file is corrupt, truncated, of the wrong format or checksum.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from mlpinspect import DatasetError
    >>> from mlpinspect.datasets import load_idx
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "broken.idx"
    >>> _ = path.write_bytes(b"not an IDX file")
    >>> try:
    ...     load_idx(path)
    ... except ValueError as exc:  # DatasetError is a ValueError
    ...     print(type(exc).__name__)
    DatasetError
    """


class DownloadError(DatasetError, OSError):
    """A download failed (server error, dropped connection, bad checksum).

    Examples
    --------
    >>> from mlpinspect import DatasetError, DownloadError
    >>> issubclass(DownloadError, DatasetError), issubclass(DownloadError, OSError)
    (True, True)
    """


class NumericalError(MlpinspectError, FloatingPointError):
    """A computation left the range of floating-point numbers.

    Raised when a layer's values overflow to infinity or become NaN although
    the inputs and weights were finite (weights or inputs so large that a
    product overflows), and when training diverges. The message names the
    layer. It subclasses ``FloatingPointError`` (an ``ArithmeticError``).

    Examples
    --------
    >>> import numpy as np
    >>> import mlpinspect
    >>> mlp = mlpinspect.MLP([mlpinspect.Dense([[1e300, 1e300]], [0.0])])
    >>> try:
    ...     mlp.forward([[1e10, 1e10]])
    ... except mlpinspect.NumericalError as exc:
    ...     print(str(exc).split(";")[0])
    layer 0 of the MLP overflowed
    """


class MlpinspectWarning(UserWarning):
    """A warning from mlpinspect: the result is right, but look at this.

    Raised, for example, when a model in training mode is adapted: mlpinspect
    reads it with evaluation semantics (dropout off, batch normalisation with
    its running statistics), which is what the model computes after
    ``model.eval()``. Filter it like any warning::

        warnings.filterwarnings("ignore", category=mlpinspect.MlpinspectWarning)

    Examples
    --------
    >>> import mlpinspect
    >>> issubclass(mlpinspect.MlpinspectWarning, UserWarning)
    True
    """


class ExperimentError(MlpinspectError, RuntimeError):
    """Runs of an experiment failed where every run is needed.

    :func:`mlpinspect.experiments.run_experiments` records a failing run in
    its table and goes on; :func:`~mlpinspect.experiments.hidden_size_sweep`
    and :func:`~mlpinspect.experiments.compare_training`, whose results need
    every run, raise this after all runs have finished. The message names each
    failed run and its error; ``table`` holds every run, failed or not (and
    with ``cache_dir`` the finished ones are on disk).

    Examples
    --------
    >>> from mlpinspect import ExperimentError, MlpinspectError
    >>> issubclass(ExperimentError, MlpinspectError), issubclass(
    ...     ExperimentError, RuntimeError)
    (True, True)
    """

    def __init__(self, message: str, table: object = None) -> None:
        super().__init__(message)
        self.table = table


class WriteError(MlpinspectError, OSError):
    """A file or folder could not be written (a full disk, a read-only folder,
    a path through a file).

    The message names the argument and the path; ``errno`` is the operating
    system's error number. Nothing half-written is left behind. It subclasses
    ``OSError``, so ``except OSError`` catches it too.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> import mlpinspect
    >>> blocker = pathlib.Path(tempfile.mkdtemp()) / "a-file"
    >>> _ = blocker.write_text("not a folder")
    >>> try:
    ...     mlpinspect.Network([2, 2]).save(blocker / "net.npz")
    ... except OSError as exc:  # WriteError is an OSError
    ...     print(type(exc).__name__, str(exc).split(":")[0])
    WriteError `path` cannot be written
    """
