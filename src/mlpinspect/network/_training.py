"""Mini-batch stochastic gradient descent: the numpy training loop.

:func:`sgd_epoch` is the hot loop of :meth:`mlpinspect.Network.fit` with
``engine="numpy"`` (the readable reference loop, and what the default
``engine="auto"`` runs where numba is missing); ``engine="numba"`` runs the
same arithmetic as compiled code (``mlpinspect.network._numba_engine``).
Both work on the same buffers (:func:`buffers`), the same parameter layout
and the activation records' own derivative kernels and codes, so a new
activation needs no change here.

The speed comes from three habits: every buffer is allocated once per call to
``fit``; each layer's bias is stored as an extra column of its weight matrix
(so the input to each layer carries a constant 1 and the bias needs no
separate additions or gradients); and the update ``W -= eta/m * delta^T a`` is
one BLAS ``gemm`` call that writes into the weights in place.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from ..activations import get_activation

__all__ = ["buffers", "gemm_update", "sgd_epoch"]

Buffers = dict[str, list[np.ndarray]]


def buffers(sizes: Sequence[int], m: int, dtype: np.dtype) -> Buffers:
    """Preallocate every array one mini-batch of ``m`` examples needs.

    ``A[l]`` is the input to layer ``l`` with a trailing column of ones
    (the bias input); ``Z[l]`` its pre-activation; ``D[l]`` the error
    ``delta`` of layer ``l``; ``T[l]`` scratch space of the same shape.
    """
    A = [np.ones((m, n + 1), dtype=dtype) for n in sizes[:-1]]
    A.append(np.empty((m, sizes[-1]), dtype=dtype))
    Z = [np.empty((m, n), dtype=dtype) for n in sizes[1:]]
    D = [np.empty((m, n), dtype=dtype) for n in sizes[1:]]
    T = [np.empty((m, n), dtype=dtype) for n in sizes[1:]]
    Y = [np.empty((m, sizes[-1]), dtype=dtype)]
    return {"A": A, "Z": Z, "D": D, "T": T, "Y": Y}


def gemm_update(dtype: np.dtype) -> Callable[..., None]:
    """Return ``update(P, A, D, alpha)`` doing ``P += alpha * D^T A`` in place.

    BLAS ``gemm`` on the transposed (Fortran-ordered) views does it in one
    call without temporaries. Should scipy ever return a copy instead of
    writing in place, fall back to numpy (slower, never wrong).
    """
    from scipy.linalg import blas

    gemm = blas.dgemm if dtype == np.float64 else blas.sgemm
    probe = np.zeros((2, 3), dtype=dtype)
    a = np.ones((4, 3), dtype=dtype)
    d = np.ones((4, 2), dtype=dtype)
    result = gemm(1.0, a.T, d.T, 1.0, probe.T, trans_b=1, overwrite_c=1)
    if np.shares_memory(result, probe) and probe[0, 0] == 4.0:

        def update(P: np.ndarray, A: np.ndarray, D: np.ndarray, alpha: float) -> None:
            gemm(alpha, A.T, D.T, 1.0, P.T, trans_b=1, overwrite_c=1)

    else:  # pragma: no cover - depends on the scipy build

        def update(P: np.ndarray, A: np.ndarray, D: np.ndarray, alpha: float) -> None:
            P += alpha * (D.T @ A)

    return update


def sgd_epoch(
    params: Sequence[np.ndarray],
    activation_names: Sequence[str],
    X: np.ndarray,
    targets: np.ndarray,
    order: np.ndarray,
    batch_size: int,
    learning_rate: float,
    cross_entropy: bool,
    decay: float,
    bufs: Buffers,
) -> None:
    """One pass of mini-batch SGD over ``X[order]``, updating ``params`` in place.

    ``order`` holds the rows of ``X`` to visit, batch after batch: the whole
    epoch's permutation, or a slice of it that starts at a batch boundary.

    ``params[l]`` is layer ``l``'s ``(out, in + 1)`` matrix, the bias in the
    last column. For a mini-batch of ``m`` examples (Nielsen's equations
    BP1-BP4, in matrix form, one row per example)::

        z_l = a_{l-1} W_l^T + b_l,          a_l = f_l(z_l)
        delta_L = dC/da_L * f_L'(z_L)      (= a_L - y for cross-entropy)
        delta_l = (delta_{l+1} W_{l+1}) * f_l'(z_l)
        W_l -= eta/m * delta_l^T a_{l-1},   b_l -= eta/m * sum(delta_l)

    ``delta`` is scaled by ``eta/m`` once at the output; the scale then
    carries through the (linear) backward pass to every layer. With weight
    decay, weights (not biases) are first multiplied by ``decay``. At batch
    size 10 the arithmetic is small, so the loop body is kept to a few numpy
    calls on views prepared in advance.
    """
    L = len(params)
    records = [get_activation(name) for name in activation_names]
    # Raw ufuncs where they exist: one Python call less per layer and batch.
    from scipy.special import expit

    raw = {"sigmoid": expit, "tanh": np.tanh}
    forward = [raw.get(r.name, r.forward) for r in records]
    derivative = [r.kernel for r in records]
    update = gemm_update(params[0].dtype)
    weights_only = [p[:, :-1] for p in params]  # for delta and weight decay
    n_in = X.shape[1]
    full = min(batch_size, X.shape[0])  # the buffers' rows

    def views(m: int) -> tuple:
        """The buffers cut to ``m`` rows (row slices keep C order)."""
        A = [a[:m] for a in bufs["A"]]
        hidden = [a[:, :-1] for a in A[1:L]] + [A[L]]  # where f_l writes
        return (
            A,
            hidden,
            [z[:m] for z in bufs["Z"]],
            [d[:m] for d in bufs["D"]],
            [t[:m] for t in bufs["T"]],
            bufs["Y"][0][:m],
            A[0][:, :n_in],
        )

    plan_full = views(full)
    take, matmul, subtract, multiply = np.take, np.matmul, np.subtract, np.multiply
    # `order` may be a slice of the epoch's order (a run of mini-batches
    # between two snapshots): its batches are the epoch's batches.
    for start in range(0, order.shape[0], batch_size):
        idx = order[start : start + batch_size]
        m = idx.shape[0]
        A, hidden, Z, D, T, Y, x = plan_full if m == full else views(m)
        # Gather the batch; mode="clip" skips a bounds check `order` never needs.
        take(X, idx, 0, x, "clip")
        take(targets, idx, 0, Y, "clip")

        # Forward pass; A[l] ends in a column of ones, so z_l includes b_l.
        for l in range(L):
            matmul(A[l], params[l].T, out=Z[l])
            forward[l](Z[l], out=hidden[l])

        # Output error, scaled by eta / m.
        subtract(A[L], Y, out=D[-1])
        if not cross_entropy:
            derivative[-1](Z[-1], A[L], D[-1], T[-1])
        multiply(D[-1], learning_rate / m, out=D[-1])

        # Backward pass and updates, top layer first: delta_{l-1} uses the
        # weights of layer l before they change.
        for l in range(L - 1, -1, -1):
            if l:
                matmul(D[l], weights_only[l], out=D[l - 1])
                derivative[l - 1](Z[l - 1], hidden[l - 1], D[l - 1], T[l - 1])
            if decay != 1.0:
                multiply(weights_only[l], decay, out=weights_only[l])
            update(params[l], A[l], D[l], -1.0)
