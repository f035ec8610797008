"""The compiled training loop behind ``Network.fit(engine="numba")``.

At batch size 10 the numpy loop (:func:`mlpinspect.network._training.sgd_epoch`)
spends more time
in the interpreter (about 18 numpy calls per mini-batch, a microsecond each)
than in arithmetic. This module runs the same mini-batch SGD as one compiled
function per epoch: the elementwise work (activations, their derivatives, the
output error) is compiled loops, and the two products that carry the
arithmetic, ``z = a W^T`` and ``W -= delta^T a``, are BLAS ``gemm`` calls made
straight from compiled code, without going back to Python.

The BLAS is scipy's (``scipy.linalg.cython_blas``), reached through a named
external symbol so that numba can cache the compiled function on disk: only
the first use on a machine pays the compilation (a few seconds per depth and
dtype).

The arithmetic is the numpy engine's, step for step (parameters stored as
``(out, in + 1)`` with the bias in the last column, activations with a column
of ones, ``delta`` scaled by ``eta / m`` at the output), so both engines train
the same network; they differ in rounding only, and a seed reproduces a
network exactly within one engine.

numba is a dependency on CPython; where it does not install (PyPy), the
default ``engine="auto"`` runs the numpy loop instead.
"""

from __future__ import annotations

from collections.abc import Sequence

import llvmlite.binding as llvm
import numpy as np
from numba import njit, types
from numba.extending import get_cython_function_address

from ..activations import get_activation

__all__ = ["sgd_epoch", "supports"]

# The kernels implement these activation codes (an activation record's
# ``engine_code``): 0 identity, 1 sigmoid, 2 tanh, 3 relu, 4 leaky relu
# (parameter: the slope), 5 softmax.
_KNOWN_CODES = range(6)


def supports(name: str) -> bool:
    """Whether the compiled loop implements the activation ``name``."""
    code = get_activation(name).engine_code
    return code is not None and code[0] in _KNOWN_CODES


for _name in ("sgemm", "dgemm"):
    llvm.add_symbol(
        f"mlpinspect_{_name}",
        get_cython_function_address("scipy.linalg.cython_blas", _name),
    )
_p = types.voidptr
_sgemm = types.ExternalFunction(
    "mlpinspect_sgemm", types.void(_p, _p, _p, _p, _p, _p, _p, _p, _p, _p, _p, _p, _p)
)
_dgemm = types.ExternalFunction(
    "mlpinspect_dgemm", types.void(_p, _p, _p, _p, _p, _p, _p, _p, _p, _p, _p, _p, _p)
)
_FAST = {"reassoc", "contract", "nsz"}  # vectorised sums; NaN and inf stay exact
_N, _T = 0, 1


@njit(cache=True)
def _gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, scratch):
    """Column-major ``c = alpha op(a) op(b) + beta c``, BLAS's argument order.

    Fortran BLAS takes every argument by reference: the integers and scalars
    go through the scratch arrays, the transpose flags through ``flags``.
    """
    ints, scalars, flags, single = scratch
    ints[0] = m
    ints[1] = n
    ints[2] = k
    ints[3] = lda
    ints[4] = ldb
    ints[5] = ldc
    scalars[0] = alpha
    scalars[1] = beta
    arguments = (
        flags[ta:].ctypes.data, flags[tb:].ctypes.data,
        ints[0:].ctypes.data, ints[1:].ctypes.data, ints[2:].ctypes.data,
        scalars[0:].ctypes.data, a.ctypes.data, ints[3:].ctypes.data,
        b.ctypes.data, ints[4:].ctypes.data, scalars[1:].ctypes.data,
        c.ctypes.data, ints[5:].ctypes.data,
    )  # fmt: skip
    if single:
        _sgemm(*arguments)
    else:
        _dgemm(*arguments)


@njit(cache=True, fastmath=_FAST)
def _scale_by_derivative(g, z, a, m, code, slope, one):
    """``g *= f'(z)`` for the elementwise activation ``code``; ``a = f(z)``."""
    zero = one - one
    n = g.shape[1]
    if code == 0:
        return
    for i in range(m):
        for j in range(n):
            if code == 1:
                v = a[i, j]
                g[i, j] *= v * (one - v)
            elif code == 2:
                v = a[i, j]
                g[i, j] *= one - v * v
            elif not z[i, j] > zero:  # relu (3), leaky relu (4): left of the kink
                g[i, j] = zero if code == 3 else g[i, j] * slope


@njit(cache=True, fastmath=_FAST)
def _activate(z, a, m, code, slope, one):
    """``a = f(z)`` on the first ``m`` rows, for the elementwise ``code``."""
    zero = one - one
    n = z.shape[1]
    # One loop per activation, so that each inner loop is branch-free.
    if code == 1:
        for i in range(m):
            for j in range(n):
                a[i, j] = one / (one + np.exp(-z[i, j]))
    elif code == 2:
        for i in range(m):
            for j in range(n):
                a[i, j] = np.tanh(z[i, j])
    elif code == 3:
        for i in range(m):
            for j in range(n):
                v = z[i, j]
                a[i, j] = v if v > zero else zero
    elif code == 4:
        for i in range(m):
            for j in range(n):
                v = z[i, j]
                a[i, j] = v if v > zero else slope * v
    else:
        for i in range(m):
            for j in range(n):
                a[i, j] = z[i, j]


# Row-major arrays seen by column-major BLAS are transposed, so
#   z = a W^T          (z: m x out, a: m x (in+1), W: out x (in+1))
#   is z^T = W a^T:    gemm("T", "N", out, m, in+1, W, a);
#   W -= delta^T a     is W^T -= a^T delta: gemm("N", "T", in+1, out, m, a, delta);
#   g = delta W[:, :in] is g^T = W[:, :in]^T delta^T: gemm("N", "N", in, m, out, W,
#   delta), reading the first `in` of every row of `in + 1`.


@njit(cache=True, fastmath=_FAST)
def _epoch(
    X, targets, order, params, A, Z, D, codes, slopes, batch_size, learning_rate,
    cross_entropy, decay, one, scratch,
):  # fmt: skip
    zero = one - one
    cast = scratch[1][2:]  # rounds a float64 to the parameters' dtype
    L = len(params)
    n = order.shape[0]
    n_in = X.shape[1]
    for start in range(0, n, batch_size):
        m = min(batch_size, n - start)
        # Gather the batch into A[0] (its last column stays ones).
        a0 = A[0]
        for i in range(m):
            row = order[start + i]
            for k in range(n_in):
                a0[i, k] = X[row, k]

        # Forward pass.
        for l in range(L):
            P = params[l]
            n_out, n_aug = P.shape
            z = Z[l]
            a = A[l + 1]
            _gemm(_T, _N, n_out, m, n_aug, one, P, n_aug, A[l], n_aug, zero, z,
                  n_out, scratch)  # fmt: skip
            code = codes[l]
            if code == 5:  # softmax over each row
                for i in range(m):
                    top = z[i, 0]
                    for j in range(1, n_out):
                        top = max(top, z[i, j])
                    total = zero
                    for j in range(n_out):
                        e = np.exp(z[i, j] - top)
                        a[i, j] = e
                        total += e
                    for j in range(n_out):
                        a[i, j] /= total
            else:
                _activate(z, a, m, code, slopes[l], one)

        # Output error, scaled by eta / m.
        aL = A[L]
        dL = D[L - 1]
        n_out = dL.shape[1]
        for i in range(m):
            row = order[start + i]
            for j in range(n_out):
                dL[i, j] = aL[i, j] - targets[row, j]
        if not cross_entropy:
            if codes[L - 1] == 5:  # the softmax's vector-Jacobian product
                for i in range(m):
                    dot = zero
                    for j in range(n_out):
                        dot += dL[i, j] * aL[i, j]
                    for j in range(n_out):
                        dL[i, j] = aL[i, j] * (dL[i, j] - dot)
            else:
                _scale_by_derivative(dL, Z[L - 1], aL, m, codes[L - 1],
                                     slopes[L - 1], one)  # fmt: skip
        cast[0] = learning_rate / m
        scale = cast[0]
        for i in range(m):
            for j in range(n_out):
                dL[i, j] *= scale

        # Backward pass and updates, top layer first: delta_{l-1} uses the
        # weights of layer l before they change.
        for l in range(L - 1, -1, -1):
            P = params[l]
            n_out, n_aug = P.shape
            d = D[l]
            if l > 0:
                g = D[l - 1]
                n_prev = n_aug - 1
                _gemm(_N, _N, n_prev, m, n_out, one, P, n_aug, d, n_out, zero, g,
                      n_prev, scratch)  # fmt: skip
                _scale_by_derivative(g, Z[l - 1], A[l], m, codes[l - 1],
                                     slopes[l - 1], one)  # fmt: skip
            if decay != one:
                for j in range(n_out):
                    for k in range(n_aug - 1):
                        P[j, k] *= decay
            _gemm(_N, _T, n_aug, n_out, m, -one, A[l], n_aug, d, n_out, one, P,
                  n_aug, scratch)  # fmt: skip


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
    buffers: dict[str, list[np.ndarray]],
) -> None:
    """One epoch of mini-batch SGD in compiled code, updating ``params`` in place.

    The arguments are those of :func:`mlpinspect.network._training.sgd_epoch`;
    ``buffers`` come from :func:`~mlpinspect.network._training.buffers`
    (``A[l]`` of the hidden layers end in a column of ones, which the kernel
    never writes).
    """
    dtype = params[0].dtype
    codes = np.empty(len(params), dtype=np.int64)
    slopes = np.zeros(len(params), dtype=dtype)
    for i, name in enumerate(activation_names):
        code = get_activation(name).engine_code
        if code is None or code[0] not in _KNOWN_CODES:
            raise ValueError(f"the compiled loop does not implement {name!r}")
        codes[i], slopes[i] = code
    scratch = (
        np.zeros(6, dtype=np.int32),  # scipy's BLAS takes 32-bit integers
        np.zeros(3, dtype=dtype),  # alpha, beta, and a cell for rounding
        np.array([ord("N"), ord("T")], dtype=np.uint8),
        bool(dtype == np.float32),
    )
    _epoch(
        X,
        targets,
        np.ascontiguousarray(order, dtype=np.int64),
        tuple(params),
        tuple(buffers["A"]),
        tuple(buffers["Z"]),
        tuple(buffers["D"]),
        codes,
        slopes,
        int(batch_size),
        float(learning_rate),
        bool(cross_entropy),
        dtype.type(decay),
        dtype.type(1.0),
        scratch,
    )
