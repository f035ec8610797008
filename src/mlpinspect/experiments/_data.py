"""The data of an experiment: checked once, fingerprinted, shipped to workers once.

Every run of an experiment trains on the same arrays, so they are checked and
their labels encoded once, in the calling process, and then travel to the
workers once per call, not once per run:

* with joblib's default backend (loky, local processes), arrays larger than
  joblib's ``max_nbytes`` (1 MB by default) are dumped once to a memory-mapped
  file that every worker reads;
* with the Dask backend, joblib scatters each large argument to the cluster
  once (``client.scatter``) and the tasks refer to it;
* with Ray's backend, the arrays are put into Ray's object store once
  (``ray.put``) and the tasks carry only the references;
* with one worker (or threads) the arrays are used in place.

Both rely on the same arrays being passed to every task as top-level
arguments; :func:`ship` prepares them for the active backend.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from typing import Any

import numpy as np

from .._validation import LabelSpace, check_array, encode_labels
from ..errors import InvalidParameterError

__all__ = ["Data", "encode", "fingerprint", "read_pairs", "receive", "ship"]


class Data:
    """Training and test arrays, labels as class indices, and their fingerprint."""

    def __init__(
        self,
        X: np.ndarray,
        y: np.ndarray,
        X_test: np.ndarray | None,
        y_test: np.ndarray | None,
    ) -> None:
        self.X, self.y, self.X_test, self.y_test = X, y, X_test, y_test
        self.fingerprint = fingerprint(self.arrays())

    def arrays(self) -> tuple[np.ndarray | None, ...]:
        return (self.X, self.y, self.X_test, self.y_test)


def _pair(data: Any, name: str) -> tuple[Any, Any]:
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise InvalidParameterError(
            f"`{name}` must be a pair (X, y); got {type(data).__name__}"
        )
    return data[0], data[1]


def _inputs(X: Any, name: str, n_inputs: int | None) -> np.ndarray:
    return check_array(
        X,
        name,
        ndim=2,
        dtype=None,
        n_features=n_inputs,
        what_features="the training inputs' size",
    )


def infer_n_outputs(y: Any, name: str) -> int:
    """The number of classes labels ``y`` imply: one-hot width, or largest + 1."""
    arr = np.asarray(y)
    if arr.ndim == 2:
        return max(int(arr.shape[1]), 2)
    if arr.ndim == 1 and arr.size and arr.dtype.kind in "iub":
        return max(int(arr.max()) + 1, 2)
    if (
        arr.ndim == 1
        and arr.size
        and arr.dtype.kind == "f"
        and np.isfinite(arr).all()
        and (arr == np.round(arr)).all()
    ):
        return max(int(arr.max()) + 1, 2)
    raise InvalidParameterError(
        f"`{name}` must be class positions 0, 1, ... (or one-hot rows) to infer the "
        f"number of outputs; got {arr.dtype} labels of shape {arr.shape}. Give "
        f"`n_outputs`, or `sizes` in every configuration"
    )


def read_pairs(train: Any, test: Any) -> tuple[np.ndarray, Any, Any, Any]:
    """``(X, y, X_test, y_test)`` with the inputs checked (labels as given)."""
    X_raw, y_raw = _pair(train, "train")
    X = _inputs(X_raw, "train[0]", None)
    if test is None:
        return X, y_raw, None, None
    Xt_raw, yt_raw = _pair(test, "test")
    return X, y_raw, _inputs(Xt_raw, "test[0]", X.shape[1]), yt_raw


def encode(
    X: np.ndarray, y: Any, X_test: Any, y_test: Any, class_counts: Iterable[int]
) -> Data:
    """The data with labels encoded once as class indices, checked against every
    number of classes in ``class_counts`` (the configurations' output layers)."""
    y_idx = y_test_idx = None
    for k in sorted(set(class_counts)):
        space = LabelSpace(k)
        y_idx = encode_labels(space, y, "train[1]", n_samples=X.shape[0])
        if X_test is not None:
            y_test_idx = encode_labels(
                space, y_test, "test[1]", n_samples=X_test.shape[0]
            )
    if y_idx is None:  # pragma: no cover - every experiment has a configuration
        raise InvalidParameterError("no configuration to check the labels against")
    return Data(X, y_idx, X_test, y_test_idx)


def fingerprint(arrays: Iterable[np.ndarray | None]) -> str:
    """SHA-256 of the arrays' dtypes, shapes and bytes (C order), as hex."""
    digest = hashlib.sha256()
    for arr in arrays:
        if arr is None:
            digest.update(b"none;")
            continue
        arr = np.ascontiguousarray(arr)
        head = json.dumps([arr.dtype.str, list(arr.shape)]).encode()
        digest.update(head + b";")
        digest.update(memoryview(arr).cast("B"))
    return digest.hexdigest()


# -- shipping to workers -------------------------------------------------------------


class RayRef:
    """An array put into Ray's object store once; tasks carry only this."""

    def __init__(self, ref: Any) -> None:
        self.ref = ref

    def get(self) -> np.ndarray:
        import ray

        return ray.get(self.ref)


def backend_name(backend: Any) -> str:
    """The class names of a joblib backend and its bases, joined (for dispatch)."""
    return " ".join(cls.__name__ for cls in type(backend).__mro__)


def ship(arrays: tuple[np.ndarray | None, ...], backend: Any) -> list:
    """The arrays as every task should receive them under joblib ``backend``."""
    if "RayBackend" in backend_name(backend):
        import ray

        return [None if a is None else RayRef(ray.put(a)) for a in arrays]
    # loky/multiprocessing memory-map, Dask scatters: both once per array
    # object, so the same objects go to every task.
    return list(arrays)


def receive(obj: Any) -> Any:
    """A shipped array, in the worker, aligned.

    Dask may hand a worker an array whose data is not aligned to its item size
    (deserialised from an oddly placed buffer); numpy's ``take``, which the
    trainer uses to gather each mini-batch, is then about 200 times slower, so
    such an array is copied once into aligned memory.
    """
    arr = obj.get() if isinstance(obj, RayRef) else obj
    if isinstance(arr, np.ndarray) and not arr.flags.aligned:
        arr = np.require(arr, requirements=["ALIGNED"])
    return arr
