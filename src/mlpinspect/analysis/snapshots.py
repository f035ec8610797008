"""The weights of a network over its training: snapshots, in memory or on disk.

A :class:`Snapshots` is a sequence of :class:`~mlpinspect.MLP` views of one
network at several moments of its training, each with the epoch and/or the
number of mini-batch updates done so far and the numbers known then (cost,
accuracy). It comes from

- :meth:`mlpinspect.Network.fit` given ``snapshots=SnapshotRecorder(...)``
  (every k epochs and/or every n mini-batches, and always at the start and
  the end), as ``history.snapshots``;
- :meth:`Snapshots.from_models`: a list of models of any framework
  (checkpoints of a PyTorch run, say), each adapted with
  :func:`mlpinspect.adapt`;
- :meth:`Snapshots.load`: a file written by a recorder or by
  :meth:`Snapshots.save`.

A :class:`SnapshotRecorder` with a ``path`` streams every snapshot to one
``.npz`` file as it is taken, so a long run never holds more than one
snapshot in memory, and a loaded file reads one snapshot at a time.

The file format
---------------
An ``.npz`` archive (a zip of ``.npy`` arrays, stored uncompressed; no
pickle) holding

``meta``
    A 0-d string array with a JSON object: ``format``
    (``"mlpinspect.Snapshots"``), ``format_version`` (1), ``sizes``,
    ``activations``, ``dtype``, ``input_shape``, ``task``, ``class_names``,
    ``feature_names`` and ``name``: the network every snapshot shares.
``s{i}_info``
    Snapshot ``i``'s JSON: ``epoch`` and ``step`` (or null) and ``metrics``
    (name to number, null for NaN).
``s{i}_w{l}``, ``s{i}_b{l}``
    Snapshot ``i``'s weight ``(out, in)`` and bias ``(out,)`` of layer ``l``.
``end``
    Written last, when the recording closed: ``complete`` (false when the
    training stopped on an error) and ``n_snapshots``. A file without it was
    published by :meth:`SnapshotRecorder.flush` while the training ran.

``numpy.load`` reads it as any ``.npz``.

What a crash leaves
-------------------
A recorder writes into a hidden temporary file beside its ``path``
(``.name.npz.<random>.tmp``) and renames it into place when it closes: at the
end of :meth:`~mlpinspect.Network.fit`, including when the training stops on
an exception (the file then holds the snapshots taken until then and says
``complete: false``). A process killed outright leaves ``path`` as it was
(absent, or its previous version) and the temporary file behind. With
``flush_seconds``, the recorder also replaces ``path`` atomically by a
complete file of the snapshots so far at most every ``flush_seconds``, so a
crash loses at most that much of the run.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._io import check_output_path
from .._validation import _describe, check_bool, check_float, check_int
from ..adapters import adapt
from ..errors import InvalidParameterError
from ..mlp import MLP
from ._snapshotfile import (
    FORMAT,
    FORMAT_VERSION,
    FileStore,
    Writer,
    describe,
    json_number,
)

__all__ = ["SnapshotRecorder", "Snapshots"]


# -- the snapshots ---------------------------------------------------------------------


class SnapshotIndexError(InvalidParameterError, IndexError):
    """A snapshot index out of range: the library's error, and the
    ``IndexError`` the sequence protocol expects (slicing, ``in``)."""


class Snapshots(Sequence):
    """The weights of one network at several moments of its training.

    A sequence of :class:`~mlpinspect.MLP`: ``snapshots[i]`` is the network
    at snapshot ``i`` (read from disk when the snapshots live in a file),
    ``snapshots[a:b]`` or ``snapshots[[0, 5, -1]]`` a selection (a new
    ``Snapshots`` sharing the same storage). Record one during
    :meth:`mlpinspect.Network.fit` with a :class:`SnapshotRecorder`, read one
    with :meth:`load`, or build one from models saved during a training, of
    any framework: ``Snapshots(models, epochs=...)``, the same as
    :meth:`from_models`.

    Parameters
    ----------
    models : sequence of models
        The network at each snapshot, in training order: anything
        :func:`mlpinspect.adapt` accepts. See :meth:`from_models`.
    epochs, steps, metrics, **options
        See :meth:`from_models`.

    Attributes
    ----------
    epochs : numpy.ndarray of float, shape (n,), or None
        Epochs of training done at each snapshot (0 at the start; fractional
        for a snapshot taken inside an epoch); None when unknown.
    steps : numpy.ndarray of int, shape (n,), or None
        Mini-batch updates done at each snapshot; None when unknown.
    metrics : dict of str to numpy.ndarray, shape (n,)
        Numbers known at each snapshot, NaN where not: from
        :meth:`~mlpinspect.Network.fit`, ``"cost"`` and ``"train_accuracy"``
        (and ``"validation_cost"``, ``"validation_accuracy"`` with validation
        data) after each epoch (NaN at the start and inside an epoch:
        :func:`~mlpinspect.unit_dynamics` can score every snapshot).
    complete : bool
        False when the recording stopped early: the training raised, or the
        file was published by :meth:`SnapshotRecorder.flush` during the run.
    path : pathlib.Path or None
        The file the snapshots are read from; None in memory.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import Network, SnapshotRecorder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((40, 4)); y = (X[:, 0] > 0.5).astype(int)
    >>> net = Network([4, 3, 2], seed=0)
    >>> history = net.fit(X, y, epochs=3, progress=False,
    ...                   snapshots=SnapshotRecorder(every_epochs=1))
    >>> snaps = history.snapshots
    >>> len(snaps), snaps.epochs.tolist(), snaps.steps.tolist()
    (4, [0.0, 1.0, 2.0, 3.0], [0, 4, 8, 12])
    >>> bool((snaps[0].layers[0].weight == net.initial_weights[0]).all())
    True
    >>> bool((snaps[-1].layers[0].weight == net.weights[0]).all())
    True
    """

    def __init__(
        self,
        models: Sequence[Any],
        *,
        epochs: Sequence[float] | None = None,
        steps: Sequence[int] | None = None,
        metrics: Mapping[str, Sequence[float]] | None = None,
        **options: Any,
    ) -> None:
        built = _from_models(models, epochs, steps, metrics, options)
        self.__dict__.update(built.__dict__)

    @classmethod
    def _make(
        cls,
        store: Any,
        positions: np.ndarray,
        *,
        epochs: np.ndarray | None,
        steps: np.ndarray | None,
        metrics: Mapping[str, np.ndarray],
        complete: bool,
    ) -> Snapshots:
        """Snapshots of ``store``'s snapshots at ``positions`` (the recorder's
        and the loader's constructor)."""
        self = cls.__new__(cls)
        self._store = store
        self._positions = positions
        self.epochs = epochs
        self.steps = steps
        self.metrics = dict(metrics)
        self.complete = complete
        return self

    # -- constructors ------------------------------------------------------------

    @classmethod
    def from_models(
        cls,
        models: Sequence[Any],
        *,
        epochs: Sequence[float] | None = None,
        steps: Sequence[int] | None = None,
        metrics: Mapping[str, Sequence[float]] | None = None,
        **options: Any,
    ) -> Snapshots:
        """Snapshots of models saved during one training, from any framework.

        Parameters
        ----------
        models : sequence of models
            The network at each snapshot, in training order: anything
            :func:`mlpinspect.adapt` accepts (PyTorch modules loaded from
            checkpoints, scikit-learn estimators, Keras models, MLPs, ...).
            All must have the same layer sizes, activations and dtype.
        epochs : sequence of float, optional
            The epoch of each model, increasing. Default: ``0, 1, 2, ...``
            when ``steps`` is not given either.
        steps : sequence of int, optional
            The mini-batch updates done at each model, increasing.
        metrics : mapping of str to sequence of float, optional
            Numbers to keep beside the weights, one per model (NaN where
            unknown), e.g. ``{"validation_accuracy": [...]}``.
        **options
            Passed to :func:`mlpinspect.adapt` for every model (e.g.
            ``input_shape=(28, 28)``).

        Returns
        -------
        Snapshots
            In memory.

        Raises
        ------
        InvalidParameterError
            For an empty list, models of different shapes, or ``epochs``,
            ``steps`` or ``metrics`` of the wrong length or not increasing.
        UnsupportedModelError
            For a model :func:`mlpinspect.adapt` does not know.

        Examples
        --------
        >>> import numpy as np
        >>> from mlpinspect import MLP, Dense
        >>> rng = np.random.default_rng(0)
        >>> models = [MLP([Dense(rng.normal(size=(2, 3)), np.zeros(2), "sigmoid")])
        ...           for _ in range(3)]
        >>> snaps = Snapshots.from_models(models, steps=[0, 100, 200])
        >>> len(snaps), snaps.epochs, snaps.steps.tolist()
        (3, None, [0, 100, 200])
        """
        return cls(models, epochs=epochs, steps=steps, metrics=metrics, **options)

    @classmethod
    def load(cls, path: str | os.PathLike) -> Snapshots:
        """Open snapshots saved in one ``.npz`` file (by a recorder or :meth:`save`).

        Only the index and the first snapshot are read now; each snapshot is
        read when it is asked for, so files larger than memory can be
        analysed one snapshot at a time.

        Raises
        ------
        ModelFileError
            If the file is missing, not a snapshot file, corrupt (a checksum
            fails, a member is missing or of the wrong shape), or compressed.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from mlpinspect import MLP, Dense
        >>> models = [MLP([Dense(np.full((2, 3), float(k)), np.zeros(2))])
        ...           for k in range(3)]
        >>> with tempfile.TemporaryDirectory() as d:
        ...     path = Snapshots.from_models(models).save(pathlib.Path(d) / "run")
        ...     snaps = Snapshots.load(path)
        ...     weights = [float(m.layers[0].weight[0, 0]) for m in snaps]
        >>> path.name, weights
        ('run.npz', [0.0, 1.0, 2.0])
        """
        if isinstance(path, os.PathLike):
            path = os.fspath(path)
        if not isinstance(path, str) or not path:
            raise InvalidParameterError(
                "`path` must be the path of a snapshot file (a non-empty str or "
                f"os.PathLike); got {_describe(path)}"
            )
        store, infos, complete = FileStore.open(Path(path))
        n = len(infos)
        epochs = [info["epoch"] for info in infos]
        steps = [info["step"] for info in infos]
        names = sorted({k for info in infos for k in info["metrics"]})
        metrics = {
            k: _readonly([_nan(info["metrics"].get(k)) for info in infos], np.float64)
            for k in names
        }
        return cls._make(
            store,
            np.arange(n),
            epochs=None if epochs[0] is None else _readonly(epochs, np.float64),
            steps=None if steps[0] is None else _readonly(steps, np.int64),
            metrics=metrics,
            complete=complete,
        )

    # -- the sequence ------------------------------------------------------------

    def __len__(self) -> int:
        return int(self._positions.shape[0])

    def __getitem__(self, index: Any) -> Any:
        if isinstance(index, (int, np.integer)) and not isinstance(index, bool):
            n = len(self)
            if not -n <= index < n:
                raise SnapshotIndexError(
                    f"`index` must be in [{-n}, {n}) for {n} snapshots; got {index}"
                )
            return self._store.model(int(self._positions[int(index) % n]))
        if isinstance(index, slice):
            chosen = np.arange(len(self))[index]
        else:
            try:
                chosen = np.asarray(index)
            except (TypeError, ValueError):
                chosen = np.asarray([], dtype=object)
            if chosen.ndim != 1 or chosen.dtype.kind not in "iu":
                raise InvalidParameterError(
                    f"a snapshot index must be an integer, a slice or a list of "
                    f"integers; got {index!r:.60}"
                )
            n = len(self)
            bad = chosen[(chosen < -n) | (chosen >= n)]
            if bad.size:
                raise InvalidParameterError(
                    f"snapshot index {int(bad[0])} is out of range for {n} snapshots"
                )
            chosen = chosen % n if n else chosen
        return self._select(chosen)

    def _select(self, chosen: np.ndarray) -> Snapshots:
        def pick(arr: np.ndarray | None) -> np.ndarray | None:
            return None if arr is None else _readonly(arr[chosen], arr.dtype)

        return Snapshots._make(
            self._store,
            self._positions[chosen],
            epochs=pick(self.epochs),
            steps=pick(self.steps),
            metrics={k: pick(v) for k, v in self.metrics.items()},
            complete=self.complete,
        )

    def __iter__(self) -> Iterator[MLP]:
        for i in range(len(self)):
            yield self[i]

    # -- what they share -----------------------------------------------------------

    @property
    def path(self) -> Path | None:
        """The file the snapshots are read from, or None (in memory)."""
        return getattr(self._store, "path", None)

    @property
    def sizes(self) -> tuple[int, ...]:
        """Units per layer, inputs first (the same in every snapshot)."""
        return tuple(self._store.meta["sizes"])

    @property
    def n_layers(self) -> int:
        """Number of weight layers."""
        return len(self.sizes) - 1

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The shape of one input (as :attr:`mlpinspect.MLP.input_shape`)."""
        return tuple(self._store.meta["input_shape"])

    @property
    def times(self) -> np.ndarray:
        """The time axis of the snapshots: ``epochs`` when known, else
        ``steps`` (as floats); see :attr:`time_label`."""
        if self.epochs is not None:
            return self.epochs
        return _readonly(self.steps, np.float64)

    @property
    def time_label(self) -> str:
        """``"epoch"`` or ``"step"``: what :attr:`times` counts."""
        return "epoch" if self.epochs is not None else "step"

    def time_text(self, i: int) -> str:
        """Snapshot ``i``'s moment in words, e.g. ``"epoch 3"`` or
        ``"epoch 2.5 (step 2500)"``."""
        n = len(self)
        i = check_int(i, "i", minimum=-n, maximum=n - 1)
        parts = []
        if self.epochs is not None:
            parts.append(f"epoch {float(self.epochs[i]):g}")
        if self.steps is not None:
            step = f"step {int(self.steps[i]):,}"
            parts.append(f"({step})" if parts else step)
        return " ".join(parts)

    # -- saving --------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> Path:
        """Write the snapshots to one ``.npz`` file (see the module's format).

        Snapshots are written one at a time to a temporary file that is
        renamed into place at the end: a file read from disk is copied
        without being held in memory, and an interrupted save leaves no half
        file.

        Parameters
        ----------
        path : str or path-like
            Destination; ``.npz`` is appended when missing.

        Returns
        -------
        pathlib.Path
            The path written.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from mlpinspect import MLP, Dense
        >>> snaps = Snapshots.from_models(
        ...     [MLP([Dense(np.eye(2) * k, np.zeros(2))]) for k in range(4)])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     again = Snapshots.load(snaps.save(pathlib.Path(d) / "s.npz"))
        ...     same = all((a.layers[0].weight == b.layers[0].weight).all()
        ...                for a, b in zip(snaps, again))
        >>> same, again.epochs.tolist()
        (True, [0.0, 1.0, 2.0, 3.0])
        """
        recorder = _Recording(_npz_path(path), argument="snapshots")
        try:
            for i in range(len(self)):
                recorder.add(
                    self[i],
                    epoch=None if self.epochs is None else float(self.epochs[i]),
                    step=None if self.steps is None else int(self.steps[i]),
                    metrics={k: float(v[i]) for k, v in self.metrics.items()},
                )
            recorder.finish(complete=self.complete, load=False)
        except BaseException:
            recorder.abort()
            raise
        return recorder.path

    def __repr__(self) -> str:
        sizes = "-".join(str(s) for s in self.sizes)
        n = len(self)
        where = "in memory" if self.path is None else f"file '{self.path}'"
        span = ""
        if n:
            span = f", {self.time_label}s {self.time_text(0).split()[1]}"
            span += f" to {self.time_text(n - 1).split()[1]}"
        state = "" if self.complete else ", incomplete"
        return f"Snapshots({sizes}, {n} snapshots{span}{state}, {where})"


def _from_models(
    models: Any, epochs: Any, steps: Any, metrics: Any, options: dict[str, Any]
) -> Snapshots:
    """In-memory snapshots of ``models``, each adapted, checked as a recorder
    checks them."""
    if isinstance(models, (str, bytes, Mapping)) or not isinstance(models, Sequence):
        raise InvalidParameterError(
            f"`models` must be a list of models, one per snapshot; got "
            f"{type(models).__name__}"
        )
    n = len(models)
    if n == 0:
        raise InvalidParameterError("`models` must hold at least one model")
    if epochs is None and steps is None:
        epochs = range(n)
    epochs = None if epochs is None else _per_snapshot(epochs, "epochs", n)
    steps = None if steps is None else _per_snapshot(steps, "steps", n)
    if steps is not None and any(s != round(s) for s in steps):
        raise InvalidParameterError(
            f"`steps` must be whole numbers of mini-batch updates; got {steps!r:.60}"
        )
    numbers: dict[str, list[float]] = {}
    if metrics is not None and not isinstance(metrics, Mapping):
        raise InvalidParameterError(
            "`metrics` must be a dict of name -> one number per model; got "
            f"{_describe(metrics)}"
        )
    for key, values in ({} if metrics is None else dict(metrics)).items():
        if not isinstance(key, str):
            raise InvalidParameterError(
                f"`metrics` keys must be names (str); got {key!r}"
            )
        numbers[key] = _per_snapshot(values, f"metrics[{key!r}]", n)
    recorder = _Recording(None, argument="models", times=("epochs", "steps"))
    for i, model in enumerate(models):
        recorder.add(
            model if isinstance(model, MLP) else adapt(model, **options),
            epoch=None if epochs is None else epochs[i],
            step=None if steps is None else int(steps[i]),
            metrics={k: v[i] for k, v in numbers.items()},
        )
    return recorder.finish(complete=True)


def _readonly(values: Any, dtype: Any) -> np.ndarray:
    arr = np.array(values, dtype=dtype)
    arr.flags.writeable = False
    return arr


def _nan(value: Any) -> float:
    return float("nan") if value is None else float(value)


def _per_snapshot(values: Any, name: str, n: int) -> list[Any]:
    """``values`` as a list of ``n`` real numbers."""
    if isinstance(values, (str, bytes)):
        values = None
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim != 1:
        raise InvalidParameterError(
            f"`{name}` must be a sequence of numbers, one per model; got {values!r:.60}"
        )
    if arr.shape[0] != n:
        raise InvalidParameterError(
            f"`{name}` must have one value per model ({n}); got {arr.shape[0]}"
        )
    return arr.tolist()


def _npz_path(path: Any) -> Path:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise InvalidParameterError(
            f"`path` must be a file name (str or path-like); got {type(path).__name__}"
        )
    if not path or "\x00" in path or Path(path).name in ("", ".", ".."):
        raise InvalidParameterError(
            f"`path` must name a file (non-empty, no NUL character); got {path!r:.60}"
        )
    out = Path(path)
    out = out if out.suffix == ".npz" else out.with_name(out.name + ".npz")
    return check_output_path(out, "path")


# -- in memory -------------------------------------------------------------------------


class _MemoryStore:
    """Snapshots held as MLPs."""

    def __init__(self, models: list[MLP], meta: dict[str, Any]) -> None:
        self.models = models
        self.meta = meta

    def model(self, i: int) -> MLP:
        return self.models[i]


# -- recording -------------------------------------------------------------------------


class _Recording:
    """Snapshots being recorded, in memory (``path`` None) or to a file.

    The checks every snapshot goes through, whoever records it: the fit
    loop, :meth:`Snapshots.from_models`, :meth:`Snapshots.save`.
    """

    def __init__(
        self,
        path: Path | None,
        *,
        argument: str = "model",
        times: tuple[str, str] = ("epoch", "step"),
    ) -> None:
        self.path = path
        self.argument = argument  # how error messages name the models
        self.times = times  # ... and their epochs and steps
        self.meta: dict[str, Any] | None = None
        self.models: list[MLP] = []  # in memory only
        self.epochs: list[float | None] = []
        self.steps: list[int | None] = []
        self.metrics: list[dict[str, float]] = []
        self.count = 0
        self.first: tuple[float | None, int | None] = (None, None)
        self.last: tuple[float | None, int | None] = (None, None)
        self.writer: Writer | None = None
        self.failed: BaseException | None = None

    def add(
        self,
        model: MLP,
        *,
        epoch: float | None,
        step: int | None,
        metrics: Mapping[str, float],
    ) -> None:
        """Check one snapshot against the first, then keep or write it."""
        if self.failed is not None:
            raise InvalidParameterError(
                f"the recording failed earlier ({type(self.failed).__name__}: "
                f"{self.failed}); nothing more can be added"
            )
        i = self.count
        described = describe(model)
        if self.meta is not None:
            where = "`model`" if self.argument == "model" else f"`{self.argument}[{i}]`"
            for key, value in described.items():
                if value != self.meta[key]:
                    raise InvalidParameterError(
                        f"{where} must have the {key.replace('_', ' ')} of the first "
                        f"snapshot ({self.meta[key]!r:.80}); got {value!r:.80}"
                    )
        epoch, step = self._check_time(epoch, step, i)
        numbers = _check_metrics(metrics)
        if self.meta is None:
            self.meta = {**described, "name": model.name}
        if self.path is None:
            self.models.append(model)
            self.epochs.append(epoch)
            self.steps.append(step)
            self.metrics.append(numbers)
        else:
            try:
                self._write(i, model, epoch, step, numbers)
            except BaseException as exc:
                # A half-written snapshot cannot be taken back out of the zip:
                # the temporary file goes, and the recording ends here.
                self.failed = exc
                self.abort()
                raise
        if i == 0:
            self.first = (epoch, step)
        self.count += 1
        self.last = (epoch, step)

    def _write(self, i: int, model: MLP, epoch: float | None, step: int | None,
               numbers: dict[str, float]) -> None:  # fmt: skip
        if self.writer is None:
            self.writer = Writer(self.path)
            self.writer.add_json("meta", {"format": FORMAT,
                                          "format_version": FORMAT_VERSION,
                                          **self.meta})  # fmt: skip
        for layer_index, layer in enumerate(model.layers):
            self.writer.add_array(f"s{i}_w{layer_index}", layer.weight)
            self.writer.add_array(f"s{i}_b{layer_index}", layer.bias)
        info = {
            "epoch": epoch,
            "step": step,
            "metrics": {k: json_number(v) for k, v in numbers.items()},
        }
        self.writer.add_json(f"s{i}_info", info)  # last: the snapshot is whole

    def _check_time(
        self, epoch: Any, step: Any, i: int
    ) -> tuple[float | None, int | None]:
        """``epoch`` and ``step`` checked: at least one, the same kinds as the
        first snapshot's, each larger than the previous snapshot's."""
        epoch_name, step_name = self.times
        if epoch is not None:
            epoch = check_float(epoch, epoch_name, minimum=0.0)
        if step is not None:
            step = check_int(step, step_name, minimum=0)
        if epoch is None and step is None:
            raise InvalidParameterError(
                f"a snapshot needs its `{epoch_name}` or its `{step_name}` (both may "
                f"be given)"
            )
        if i == 0:
            return epoch, step
        for name, value, previous, known in (
            (epoch_name, epoch, self.last[0], self.first[0]),
            (step_name, step, self.last[1], self.first[1]),
        ):
            if (value is None) != (known is None):
                raise InvalidParameterError(
                    f"`{name}` must be given for every snapshot or for none (the "
                    f"first snapshot {'had' if known is not None else 'had no'} "
                    f"{name}); got {value!r} for snapshot {i}"
                )
            if value is not None and value <= previous:
                raise InvalidParameterError(
                    f"`{name}` must increase from one snapshot to the next; got "
                    f"{value!r} after {previous!r} (snapshot {i})"
                )
        return epoch, step

    def finish(self, *, complete: bool, load: bool = True) -> Snapshots:
        if self.failed is not None:
            raise InvalidParameterError(
                f"the recording failed ({type(self.failed).__name__}: "
                f"{self.failed}); nothing was written"
            )
        if self.count == 0:
            self.abort()
            raise InvalidParameterError("no snapshot was recorded")
        if self.path is not None:
            assert self.writer is not None
            self.writer.add_json("end", {"complete": bool(complete),
                                         "n_snapshots": self.count})  # fmt: skip
            self.writer.finish()
            self.writer = None
            return Snapshots.load(self.path) if load else None  # type: ignore[return-value]
        names = sorted({k for numbers in self.metrics for k in numbers})
        return Snapshots._make(
            _MemoryStore(self.models, self.meta),
            np.arange(self.count),
            epochs=None
            if self.epochs[0] is None
            else _readonly(self.epochs, np.float64),
            steps=None if self.steps[0] is None else _readonly(self.steps, np.int64),
            metrics={
                k: _readonly([m.get(k, np.nan) for m in self.metrics], np.float64)
                for k in names
            },
            complete=bool(complete),
        )

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.abort()
            self.writer = None


def _check_metrics(metrics: Any) -> dict[str, float]:
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise InvalidParameterError(
            f"`metrics` must be a dict of name -> number; got {type(metrics).__name__}"
        )
    out = {}
    for key, value in metrics.items():
        if not isinstance(key, str):
            raise InvalidParameterError(f"`metrics` keys must be str; got {key!r}")
        if isinstance(value, bool) or not isinstance(value, (int, float, np.number)):
            raise InvalidParameterError(
                f"`metrics[{key!r}]` must be a real number; got {value!r:.40}"
            )
        out[key] = float(value)
    return out


# -- the recorder ----------------------------------------------------------------------


class SnapshotRecorder:
    """Record a network's weights during training, in memory or to one file.

    Give it to :meth:`mlpinspect.Network.fit` as ``snapshots=``: the weights
    are recorded at the start, every ``every_epochs`` epochs and/or every
    ``every_batches`` mini-batches, and at the end, and the result is
    ``history.snapshots`` (also ``snapshots``). For a training loop of
    your own (PyTorch, Keras, ...), call :meth:`record` with the model
    whenever you like, then :meth:`close`, or use the recorder as a context
    manager.

    A recorder records one training: after :meth:`close`, it refuses more.

    Parameters
    ----------
    every_epochs : int or None, default 1
        A snapshot after every ``every_epochs`` epochs (None: none by epoch).
    every_batches : int or None, optional
        A snapshot after every ``every_batches`` mini-batch updates, counted
        from the start of the training (None: none by mini-batch). The epoch
        is then split into runs of mini-batches between snapshots, with the
        same arithmetic as an epoch in one piece.
    path : str or path-like, optional
        Stream the snapshots to this ``.npz`` file (``.npz`` is appended when
        missing) instead of keeping them in memory: each snapshot is written
        as it is taken, so memory holds at most one. The file appears when
        the recorder closes; see the module documentation for what a crash
        leaves.
    flush_seconds : float, optional
        With ``path``: also publish the snapshots so far to ``path`` (a
        complete file, replaced atomically) when at least this many seconds
        have passed since the last time. Each flush copies the file.

    Attributes
    ----------
    snapshots : Snapshots or None
        What was recorded, once closed.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import Network
    >>> rng = np.random.default_rng(0)
    >>> X = rng.random((50, 4)); y = (X[:, 0] > 0.5).astype(int)
    >>> recorder = SnapshotRecorder(every_epochs=None, every_batches=2)
    >>> history = Network([4, 3, 2], seed=0).fit(
    ...     X, y, epochs=1, batch_size=10, progress=False, snapshots=recorder)
    >>> recorder.snapshots.steps.tolist()  # 5 mini-batches per epoch
    [0, 2, 4, 5]
    >>> recorder.snapshots.epochs.tolist()
    [0.0, 0.4, 0.8, 1.0]
    """

    def __init__(
        self,
        *,
        every_epochs: int | None = 1,
        every_batches: int | None = None,
        path: str | os.PathLike | None = None,
        flush_seconds: float | None = None,
    ) -> None:
        self.every_epochs = (
            None
            if every_epochs is None
            else check_int(every_epochs, "every_epochs", minimum=1)
        )
        self.every_batches = (
            None
            if every_batches is None
            else check_int(every_batches, "every_batches", minimum=1)
        )
        self.path = None if path is None else _npz_path(path)
        if flush_seconds is not None:
            if self.path is None:
                raise InvalidParameterError(
                    "`flush_seconds` needs a `path` (snapshots in memory have "
                    "nothing to flush)"
                )
            flush_seconds = check_float(
                flush_seconds, "flush_seconds", minimum=0.0, strict_minimum=True
            )
        self.flush_seconds = flush_seconds
        self.snapshots: Snapshots | None = None
        self._recording = _Recording(self.path)
        self._closed = False
        self._published = time.monotonic()

    def record(
        self,
        model: Any,
        *,
        epoch: float | None = None,
        step: int | None = None,
        metrics: Mapping[str, float] | None = None,
    ) -> None:
        """Record one snapshot of ``model``.

        Parameters
        ----------
        model : MLP or anything :func:`mlpinspect.adapt` accepts
            The network now; its weights are copied (or written) at once.
        epoch : float, optional
            Epochs done; larger than the previous snapshot's.
        step : int, optional
            Mini-batch updates done; larger than the previous snapshot's.
            At least one of ``epoch`` and ``step``, the same kinds for every
            snapshot.
        metrics : dict of str to float, optional
            Numbers to keep beside the weights (cost, accuracy, ...).

        Raises
        ------
        InvalidParameterError
            After :meth:`close`, for a model of other sizes, activations or
            dtype than the first snapshot's, or for times that do not
            increase.

        Examples
        --------
        >>> import numpy as np
        >>> from mlpinspect import MLP, Dense
        >>> with SnapshotRecorder() as recorder:
        ...     for step in (0, 10, 20):
        ...         w = np.full((2, 3), step / 10)
        ...         recorder.record(MLP([Dense(w, np.zeros(2))]), step=step)
        >>> [float(m.layers[0].weight[0, 0]) for m in recorder.snapshots]
        [0.0, 1.0, 2.0]
        """
        if self._closed:
            raise InvalidParameterError(
                "this SnapshotRecorder is closed (a recorder records one training); "
                "create a new one"
            )
        mlp = model if isinstance(model, MLP) else adapt(model)
        self._recording.add(mlp, epoch=epoch, step=step, metrics=metrics)
        if (
            self.flush_seconds is not None
            and time.monotonic() - self._published >= self.flush_seconds
        ):
            self.flush()

    def flush(self) -> None:
        """With a ``path``: replace the file by a complete one holding the
        snapshots recorded so far (atomically; ``complete`` False). Nothing
        to do in memory.

        Examples
        --------
        >>> import tempfile, pathlib
        >>> import numpy as np
        >>> from mlpinspect import MLP, Dense, Snapshots
        >>> with tempfile.TemporaryDirectory() as d:
        ...     recorder = SnapshotRecorder(path=pathlib.Path(d) / "run.npz")
        ...     recorder.record(MLP([Dense(np.ones((2, 3)), np.zeros(2))]), epoch=0)
        ...     recorder.flush()
        ...     during = Snapshots.load(recorder.path)
        ...     n_during = len(during)
        ...     snaps = recorder.close()
        >>> n_during, during.complete, snaps.complete
        (1, False, True)
        """
        writer = self._recording.writer
        if writer is not None and not self._closed:
            writer.publish()
        self._published = time.monotonic()

    def close(self, *, complete: bool = True) -> Snapshots:
        """Finish the recording and return the snapshots (also ``snapshots``).

        With a ``path``, the file is renamed into place now. Closing again
        returns the same snapshots.

        Parameters
        ----------
        complete : bool, default True
            Whether the training ran to its end (``fit`` passes False when it
            stops on an exception); kept as ``Snapshots.complete``.

        Raises
        ------
        InvalidParameterError
            When nothing was recorded.

        Examples
        --------
        >>> import numpy as np
        >>> from mlpinspect import MLP, Dense
        >>> recorder = SnapshotRecorder()
        >>> recorder.record(MLP([Dense(np.ones((1, 2)), [0.0])]), epoch=0)
        >>> recorder.close(complete=False).complete
        False
        """
        if self._closed:
            if self.snapshots is None:
                raise InvalidParameterError(
                    "this SnapshotRecorder holds no snapshots: it recorded none, or "
                    "its recording failed"
                )
            return self.snapshots
        complete = check_bool(complete, "complete")
        self._closed = True
        self.snapshots = self._recording.finish(complete=complete)
        return self.snapshots

    def __enter__(self) -> SnapshotRecorder:
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.close()
        elif not self._closed and self._recording.count:
            self.close(complete=False)
        else:
            self._closed = True
            self._recording.abort()

    def __repr__(self) -> str:
        parts = []
        if self.every_epochs is not None:
            parts.append(f"every_epochs={self.every_epochs}")
        if self.every_batches is not None:
            parts.append(f"every_batches={self.every_batches}")
        if self.path is not None:
            parts.append(f"path='{self.path}'")
        state = "closed" if self._closed else f"{self._recording.count} recorded"
        return f"SnapshotRecorder({', '.join(parts)}; {state})"
