"""One-pass, bounded-memory summaries of activations, shared by the unit
atlas (:mod:`.atlas`) and representation similarity (:mod:`.similarity`).

- :class:`Moments`: running sums and sums of outer products of a
  representation made of blocks (one block per layer or model), in float64
  and about a provisional mean, giving covariances, correlations and the
  Hilbert-Schmidt independence criterion (HSIC) of every pair of blocks
  with a linear kernel: biased (Kornblith et al. 2019) and unbiased (Song et
  al. 2012), all in feature space, O(n d^2) time and O(d^2) memory;
- :class:`TopK`: the k largest and k smallest values of every column, with
  their row indices (ties: lower index first) and, optionally, the rows;
- :class:`QuantileSketch`: exact quantiles of every column while the data
  fit a budget, then a deterministic mergeable summary with a tracked bound
  on its rank error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["Moments", "QuantileSketch", "TopK", "constant_columns", "few_threads"]

NARROW = 256
"""Widths up to which the streamed products run on one BLAS thread."""


def few_threads(width: int) -> Any:
    """One BLAS thread for the products of a narrow representation.

    Summing ``(b, D)' (b, D)`` for a few hundred rows at a time is too small a
    job for BLAS threads: waking them for every batch costs more than the
    arithmetic, several times more on a busy machine (as in the trainer). Wide
    representations keep every thread.
    """
    if width > NARROW:
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def constant_columns(variance: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """Which columns are constant: a variance that is zero, or below what
    float64 rounding of values of this size leaves behind."""
    variance = np.asarray(variance, dtype=np.float64)
    noise = (1e-13 * np.abs(np.asarray(mean, dtype=np.float64))) ** 2
    return variance <= noise


class Moments:
    """Running first and second moments of ``Z = [Z_0 | Z_1 | ...]`` (n, D).

    Rows are added a batch at a time (:meth:`add`). Everything is kept in
    float64 about a *shift* ``c`` (the first batch's column means unless
    given): the sum of ``z - c`` and the sum of ``(z - c)(z - c)^T``.
    Covariances are shift-invariant, so centring at the end loses almost
    nothing to cancellation even when a column's mean is large next to its
    spread (a sigmoid unit that is always on). With ``norms=True`` the
    per-row squared norms of each block are summed too, as the unbiased
    HSIC needs.

    Parameters
    ----------
    sizes : sequence of int
        Columns of each block.
    norms : bool
        Also keep the sums the unbiased HSIC needs.
    shift : numpy.ndarray, shape (D,), optional
        The provisional mean (default: the first batch's column means).
    """

    def __init__(
        self,
        sizes: Sequence[int],
        *,
        norms: bool = False,
        shift: np.ndarray | None = None,
    ) -> None:
        self.sizes = tuple(int(s) for s in sizes)
        self.bounds = np.concatenate([[0], np.cumsum(self.sizes)]).astype(np.intp)
        width = int(self.bounds[-1])
        self.n = 0
        self.shift = shift
        self.sum = np.zeros(width)
        self.cross = np.zeros((width, width))
        self.norms = norms
        n_blocks = len(self.sizes)
        if norms:
            self.norm_sum = np.zeros(n_blocks)  # sum_i |z_i^r|^2
            self.norm_cross = np.zeros((n_blocks, n_blocks))  # sum_i N_i^r N_i^s
            self.z_norm = np.zeros((width, n_blocks))  # sum_i z_i N_i^s

    def block(self, r: int) -> slice:
        """The columns of block ``r``."""
        return slice(int(self.bounds[r]), int(self.bounds[r + 1]))

    def add(self, blocks: Sequence[np.ndarray]) -> None:
        """Add a batch: one ``(b, sizes[r])`` array per block."""
        Z = np.concatenate([np.asarray(b, dtype=np.float64) for b in blocks], axis=1)
        if Z.shape[0] == 0:
            return
        if self.shift is None:
            self.shift = Z.mean(axis=0)
        Z -= self.shift
        self.n += Z.shape[0]
        self.sum += Z.sum(axis=0)
        self.cross += Z.T @ Z  # numpy computes A.T @ A as a symmetric rank-k update
        if self.norms:
            blocks = [self.block(r) for r in range(len(self.sizes))]
            N = np.stack([np.einsum("ij,ij->i", Z[:, b], Z[:, b]) for b in blocks], 1)
            self.norm_sum += N.sum(axis=0)
            self.norm_cross += N.T @ N
            self.z_norm += Z.T @ N

    # -- what the sums give --------------------------------------------------------

    def mean(self) -> np.ndarray:
        """Column means, shape (D,)."""
        shift = np.zeros_like(self.sum) if self.shift is None else self.shift
        return shift + self.sum / max(self.n, 1)

    def scatter(self) -> np.ndarray:
        """The centred scatter matrix ``sum_i (z_i - mean)(z_i - mean)^T``:
        ``n`` times the (biased) covariance, shape (D, D)."""
        if self.n == 0:
            return np.zeros_like(self.cross)
        return self.cross - np.outer(self.sum, self.sum) / self.n

    def variance(self) -> np.ndarray:
        """Column variances (divided by n), shape (D,); never negative."""
        return np.maximum(np.diag(self.scatter()), 0.0) / max(self.n, 1)

    def correlation(self) -> np.ndarray:
        """Pearson correlations of the columns, shape (D, D); NaN in the rows
        and columns of constant columns (the correlation is 0/0 there)."""
        scatter = self.scatter()
        variance = np.maximum(np.diag(scatter), 0.0)
        constant = constant_columns(variance / max(self.n, 1), self.mean())
        scale = np.sqrt(np.where(constant, np.nan, variance))
        with np.errstate(invalid="ignore", divide="ignore"):
            corr = scatter / np.outer(scale, scale)
        corr = np.clip(corr, -1.0, 1.0)
        np.fill_diagonal(corr, np.where(constant, np.nan, 1.0))
        return corr

    def hsic_biased(self) -> np.ndarray:
        """``||C_rs||_F^2`` for every pair of blocks, shape (R, R), where
        ``C_rs`` is the centred cross-scatter of blocks r and s. Up to a factor
        ``1/(n-1)^2`` that cancels in CKA, this is the biased HSIC
        ``tr(K H L H)`` of the linear kernels ``K = Z_r Z_r^T``, ``L = Z_s
        Z_s^T`` (``H`` the centring matrix), computed without them."""
        scatter = self.scatter()
        R = len(self.sizes)
        out = np.empty((R, R))
        for r in range(R):
            for s in range(r, R):
                block = scatter[self.block(r), self.block(s)]
                out[r, s] = out[s, r] = float(np.einsum("ij,ij->", block, block))
        return out

    def hsic_unbiased(self) -> np.ndarray:
        """The unbiased HSIC estimator (Song et al. 2012) of every pair of
        blocks with linear kernels, shape (R, R), from the sums alone.

        With ``K~`` the kernel matrix with its diagonal set to zero::

            HSIC_1 = [tr(K~ L~) + (1'K~1)(1'L~1) / ((n-1)(n-2))
                      - 2/(n-2) 1'K~L~1] / (n (n-3))

        For linear kernels each term is a sum over rows: ``tr(K~L~) =
        ||X'Y||_F^2 - sum_i |x_i|^2 |y_i|^2``, ``1'K~1 = |sum_i x_i|^2 - sum_i
        |x_i|^2`` and ``1'K~L~1 = sum_i (x_i . s_x - |x_i|^2)(y_i . s_y -
        |y_i|^2)`` with ``s_x = sum_i x_i``, which expands into the kept sums.
        The estimator is invariant to shifting the features, so the
        provisional mean changes nothing but the rounding. Needs n >= 4.
        """
        if not self.norms:
            raise RuntimeError("Moments(norms=True) is needed for the unbiased HSIC")
        n = self.n
        R = len(self.sizes)
        out = np.empty((R, R))
        blocks = [self.block(r) for r in range(R)]
        for r in range(R):
            x_sum = self.sum[blocks[r]]
            k_off = x_sum @ x_sum - self.norm_sum[r]  # 1'K~1
            for s in range(r, R):
                y_sum = self.sum[blocks[s]]
                l_off = y_sum @ y_sum - self.norm_sum[s]  # 1'L~1
                G = self.cross[blocks[r], blocks[s]]
                both = self.norm_cross[r, s]  # sum_i |x_i|^2 |y_i|^2
                trace = float(np.einsum("ij,ij->", G, G)) - both
                u = self.z_norm[blocks[r], s]  # sum_i x_i |y_i|^2
                v = self.z_norm[blocks[s], r]  # sum_i |x_i|^2 y_i
                k_l = x_sum @ G @ y_sum - x_sum @ u - v @ y_sum + both  # 1'K~L~1
                value = (
                    trace + k_off * l_off / ((n - 1) * (n - 2)) - 2.0 * k_l / (n - 2)
                ) / (n * (n - 3))
                out[r, s] = out[s, r] = value
        return out


class TopK:
    """The ``k`` largest and ``k`` smallest values of each column, streamed.

    Each batch is merged with the values kept so far by a stable sort of at
    most ``k + b`` values per column: the kept values come first and are
    already in order, and the batch's rows follow in index order, so equal
    values stay in index order (ties: lower index first), exactly as a stable
    sort of all the data would order them. With ``rows``, the input rows of
    the kept examples are kept too (``(columns, k, width)`` each).
    """

    def __init__(self, k: int, keep_rows: bool = False) -> None:
        self.k = k
        self.keep_rows = keep_rows
        self.seen = 0
        self.top_values: np.ndarray | None = None
        self.top_index: np.ndarray | None = None
        self.top_rows: np.ndarray | None = None
        self.bottom_values: np.ndarray | None = None
        self.bottom_index: np.ndarray | None = None
        self.bottom_rows: np.ndarray | None = None

    def add(self, values: np.ndarray, rows: np.ndarray | None = None) -> None:
        """Merge a batch: ``values`` (b, columns), ``rows`` (b, width)."""
        b = values.shape[0]
        index = np.arange(self.seen, self.seen + b)
        self.seen += b
        values = np.asarray(values, dtype=np.float64)
        self.top_values, self.top_index, self.top_rows = self._merge(
            self.top_values, self.top_index, self.top_rows, values, index, rows, -1.0
        )
        self.bottom_values, self.bottom_index, self.bottom_rows = self._merge(
            self.bottom_values, self.bottom_index, self.bottom_rows, values, index,
            rows, 1.0,
        )  # fmt: skip

    def _merge(
        self,
        kept: np.ndarray | None,
        kept_index: np.ndarray | None,
        kept_rows: np.ndarray | None,
        values: np.ndarray,
        index: np.ndarray,
        rows: np.ndarray | None,
        sign: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        n_cols = values.shape[1]
        batch_index = np.broadcast_to(index[:, None], values.shape)
        if kept is None:
            stacked, stacked_index = values, batch_index
            n_kept = 0
        else:
            stacked = np.concatenate([kept, values])
            stacked_index = np.concatenate([kept_index, batch_index])
            n_kept = kept.shape[0]
        order = np.argsort(sign * stacked, axis=0, kind="stable")[: self.k]
        new_values = np.take_along_axis(stacked, order, axis=0)
        new_index = np.take_along_axis(stacked_index, order, axis=0)
        new_rows = None
        if self.keep_rows and rows is not None:
            # order[j, c] < n_kept: the j-th kept example of column c so far;
            # otherwise row order[j, c] - n_kept of this batch.
            cols = np.arange(n_cols)[None, :]
            from_kept = order < n_kept
            batch_pos = np.where(from_kept, 0, order - n_kept)
            new_rows = np.asarray(rows)[batch_pos]  # (k, columns, width)
            if n_kept:
                kept_pos = np.where(from_kept, order, 0)
                old = kept_rows[kept_pos, cols]  # type: ignore[index]
                new_rows = np.where(from_kept[..., None], old, new_rows)
        return new_values, new_index, new_rows


class QuantileSketch:
    """Quantiles of every column, in one pass and bounded memory.

    While at most ``capacity`` rows have been seen, every value is kept and
    :meth:`quantiles` is exact (``numpy.quantile``, linear interpolation).
    Beyond, the summary becomes a deterministic compactor hierarchy (Manku,
    Rajagopalan and Lindsay 1998; the KLL sketch without its randomness):
    level ``l`` holds rows standing for ``2**l`` values each; when a level
    reaches ``capacity`` rows its columns are sorted and every other value is
    promoted to the next level with twice the weight. One such compaction
    moves the weighted rank of any value by at most the level's weight, so
    the sum of the weights of all compactions done bounds the rank error of
    every answer; it is tracked exactly (:attr:`rank_error`). Memory is
    ``capacity`` rows per level, about ``capacity * log2(n / capacity)`` rows.
    """

    def __init__(self, capacity: int) -> None:
        self.capacity = max(2, int(capacity))
        self.levels: list[list[np.ndarray]] = []
        self.rows: list[int] = []
        self.n = 0
        self.error = 0  # bound on the rank error from compactions, in values
        self._parity = 0

    def add(self, values: np.ndarray) -> None:
        """Add a batch ``(b, columns)``."""
        values = np.asarray(values, dtype=np.float64)
        self.n += values.shape[0]
        self._push(0, values)

    def _push(self, level: int, values: np.ndarray) -> None:
        while len(self.levels) <= level:
            self.levels.append([])
            self.rows.append(0)
        self.levels[level].append(values)
        self.rows[level] += values.shape[0]
        if self.rows[level] > self.capacity:
            self._compact(level)

    def _compact(self, level: int) -> None:
        data = np.sort(np.concatenate(self.levels[level]), axis=0)
        even = data.shape[0] - data.shape[0] % 2
        # Alternate which half survives, so that the errors of successive
        # compactions tend to cancel (the bound does not rely on it).
        promoted = data[self._parity : even : 2]
        self._parity ^= 1
        rest = data[even:]
        self.levels[level] = [rest] if rest.shape[0] else []
        self.rows[level] = rest.shape[0]
        self.error += 2**level
        self._push(level + 1, promoted)

    @property
    def exact(self) -> bool:
        """True while every value is kept (no compaction has happened)."""
        return self.error == 0

    @property
    def rank_error(self) -> float:
        """A bound on ``|rank of the answer - q n| / n`` over every column and
        level ``q``: 0 while exact, else (compaction error + the largest
        weight of one kept value) / n."""
        if self.exact or self.n == 0:
            return 0.0
        top_weight = 2 ** (len(self.levels) - 1)
        return (self.error + top_weight) / self.n

    def quantiles(self, levels: np.ndarray) -> np.ndarray:
        """Quantiles at ``levels`` (q,) of every column: shape (columns, q)."""
        levels = np.asarray(levels, dtype=np.float64)
        if self.exact:
            data = np.concatenate(self.levels[0])
            return np.quantile(data, levels, axis=0).T
        values, weights = [], []
        for level, chunks in enumerate(self.levels):
            for chunk in chunks:
                values.append(chunk)
                weights.append(np.full(chunk.shape[0], 2.0**level))
        data = np.concatenate(values)
        weight = np.concatenate(weights)
        order = np.argsort(data, axis=0, kind="stable")
        sorted_values = np.take_along_axis(data, order, axis=0)
        cumulative = np.cumsum(weight[order], axis=0)  # (m, columns)
        out = np.empty((data.shape[1], levels.size))
        for c in range(data.shape[1]):
            # The smallest kept value whose weighted rank reaches q n.
            pos = np.searchsorted(cumulative[:, c], levels * self.n, side="left")
            pos = np.clip(pos, 0, data.shape[0] - 1)
            out[c] = sorted_values[pos, c]
        return out
