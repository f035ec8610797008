"""What a method receives (:class:`Problem`) and returns (:class:`Computed`).

A :class:`Problem` is one batch of validated inputs in float64: the inputs
``X`` flattened to ``(m, n_inputs)``, the attributed output as weights over
the output units, the baseline, the method's checked options and, for
randomised methods, reproducible random streams. Its helpers (forward and
backward passes, chunking) are what a method needs; the built-in methods use
the same ones a third-party method would.
"""

from __future__ import annotations

import dataclasses
import functools
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...mlp import MLP, ForwardTrace
from .._backprop import Chain, weighted

__all__ = ["Computed", "Problem", "RandomStreams"]


@dataclass(frozen=True, eq=False)
class Computed:
    """What a method returns for one batch.

    Attributes
    ----------
    values : numpy.ndarray, shape (m, n_inputs)
        One attribution per input feature.
    output : numpy.ndarray, shape (m,)
        The attributed output at ``X``.
    baseline_output : numpy.ndarray or None, shape (m,)
        The attributed output at the baseline (needed when the method's
        completeness reference is ``"baseline"``).
    finite : bool
        True when the method has proved its values finite (a bound), which
        spares :func:`~mlpinspect.attribute` a pass over them.

    Examples
    --------
    >>> import numpy as np
    >>> Computed(np.zeros((1, 2)), np.zeros(1)).baseline_output is None
    True
    """

    values: np.ndarray
    output: np.ndarray
    baseline_output: np.ndarray | None = None
    finite: bool = False


class RandomStreams:
    """Named random generators derived from one seed, for reproducible draws.

    Each name gets its own :class:`numpy.random.Generator`, created on first
    use and kept for the whole call, so draws made batch after batch (in row
    order) do not depend on how the rows were batched or chunked, and one
    kind of draw (noise, say) does not shift another (baseline indices).

    Parameters
    ----------
    seed : None, int or numpy.random.SeedSequence
        None draws fresh entropy; :attr:`entropy` then says how to reproduce
        the draws.

    Examples
    --------
    >>> streams = RandomStreams(0)
    >>> a = streams.get("noise").normal(size=2)
    >>> b = RandomStreams(0).get("noise").normal(size=2)
    >>> bool((a == b).all())
    True
    """

    def __init__(self, seed: Any = None, *, _prefix: str = "") -> None:
        if isinstance(seed, np.random.SeedSequence):
            self._root = seed
        else:
            self._root = np.random.SeedSequence(seed)
        self._prefix = _prefix
        self._streams: dict[str, np.random.Generator] = {}

    @property
    def entropy(self) -> Any:
        """The root seed's entropy: pass it as ``seed`` to draw the same again."""
        return self._root.entropy

    def get(self, name: str) -> np.random.Generator:
        """The generator for draws of kind ``name``."""
        key = self._prefix + name
        if key not in self._streams:
            spawn = (*self._root.spawn_key, zlib.crc32(key.encode()))
            seq = np.random.SeedSequence(self._root.entropy, spawn_key=spawn)
            self._streams[key] = np.random.Generator(np.random.PCG64(seq))
        return self._streams[key]

    def child(self, prefix: str) -> RandomStreams:
        """Streams for a wrapped method, sharing the root seed, named apart."""
        child = RandomStreams(self._root, _prefix=f"{self._prefix}{prefix}/")
        child._streams = self._streams
        return child


@dataclass(frozen=True, eq=False)
class Problem:
    """One batch to attribute, validated, in float64.

    Attributes
    ----------
    mlp : MLP
        The model's float64 copy.
    X : numpy.ndarray, shape (m, n_inputs)
        The inputs, flattened.
    weights : numpy.ndarray, shape (m, n_outputs)
        The attributed output of row ``i`` is ``sum_k weights[i, k] * f_k``
        (a one-hot row for one output unit; ``-1`` on the unit of a binary
        model's negative class).
    stage : {"pre", "post"}
        Whether ``f`` is the output layer's pre-activation or activation.
    baseline : numpy.ndarray or None
        ``(m, n_inputs)`` (a read-only broadcast view when one baseline serves
        every row) for methods with a reference input; ``(K, n_inputs)``, the
        reference inputs, for a baseline distribution; zeros for a method
        whose baseline is implicitly zero; None otherwise.
    options : mapping
        The method's checked options.
    chunk_size : int
        Rows (samples x steps, samples x patches, ...) computed at once.
    random : RandomStreams or None
        Random streams for a randomised method.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> mlp = MLP([Dense([[2.0, -1.0]], [0.0], "identity")])
    >>> p = Problem(mlp, np.array([[1.0, 1.0]]), np.ones((1, 1)), "pre", None, {},
    ...             8192)
    >>> p.gradient(p.X)
    (array([[ 2., -1.]]), array([1.]))
    """

    mlp: MLP
    X: np.ndarray
    weights: np.ndarray
    stage: str
    baseline: np.ndarray | None
    options: Mapping[str, Any]
    chunk_size: int
    random: RandomStreams | None = None

    @functools.cached_property
    def chain(self) -> Chain:
        """The model with the closed-form backward pass."""
        return Chain(self.mlp)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """The model's input shape."""
        return tuple(self.mlp.input_shape)

    @property
    def last(self) -> int:
        """Index of the output layer."""
        return len(self.mlp.layers) - 1

    @property
    def n_samples(self) -> int:
        """Rows in this batch."""
        return int(self.X.shape[0])

    def chunks(self, rows_per_sample: int) -> Iterator[slice]:
        """Slices of rows whose ``rows_per_sample`` work rows fit in a chunk
        (at least one row per slice)."""
        size = max(1, self.chunk_size // max(1, rows_per_sample))
        n = self.X.shape[0]
        for start in range(0, n, size):
            yield slice(start, min(n, start + size))

    @property
    def shared_baseline(self) -> bool:
        """Whether one baseline serves every row (a broadcast view)."""
        b = self.baseline
        return b is not None and (b.shape[0] <= 1 or b.strides[0] == 0)

    def baseline_rows(self, rows: slice) -> np.ndarray:
        """The baseline of ``rows``: one row when it is shared."""
        assert self.baseline is not None
        return self.baseline[:1] if self.shared_baseline else self.baseline[rows]

    def value(self, fwd: ForwardTrace, rows: slice) -> np.ndarray:
        """The attributed output of ``rows`` from a forward pass over them."""
        return weighted(fwd, self.weights[rows], self.last, self.stage)

    def output_at(self, Z: np.ndarray, rows: slice = slice(None)) -> np.ndarray:
        """The attributed output of ``rows`` at inputs ``Z`` (one per row),
        in chunks."""
        weights = self.weights[rows]
        out = np.empty(Z.shape[0])
        for start in range(0, Z.shape[0], self.chunk_size):
            part = slice(start, start + self.chunk_size)
            fwd = self.chain.forward(Z[part], self.last)
            out[part] = weighted(fwd, weights[part], self.last, self.stage)
        return out

    def gradient(
        self, Z: np.ndarray, rows: slice = slice(None)
    ) -> tuple[np.ndarray, np.ndarray]:
        """Gradient and value of the attributed output of ``rows`` at ``Z``.

        Returns ``(gradient (m, n_inputs), value (m,))``.
        """
        weights = self.weights[rows]
        grad = np.empty_like(Z)
        value = np.empty(Z.shape[0])
        chain, w0 = self.chain, self.chain.weights[0]
        for start in range(0, Z.shape[0], self.chunk_size):
            part = slice(start, start + self.chunk_size)
            fwd = chain.forward(Z[part], self.last)
            delta0 = chain.backward(
                fwd, weights[part], layer=self.last, stage=self.stage
            )
            np.matmul(delta0, w0, out=grad[part])
            value[part] = weighted(fwd, weights[part], self.last, self.stage)
        return grad, value

    def replace(self, **changes: Any) -> Problem:
        """A copy with some fields changed (e.g. noisy inputs for a wrapped method)."""
        return dataclasses.replace(self, **changes)
