"""Integrated gradients: by quadrature, or exactly on piecewise-linear networks.

``IG_i(x) = (x_i - b_i) * integral_0^1 df/dx_i (b + alpha (x - b)) d alpha``.

The first layer is linear, so along the path its pre-activation is
``z_0(b) + alpha (z_0(x) - z_0(b))``: one product with ``W_0`` per input, and
the path's steps run through the hidden layers only.

Exact rule
----------
When every hidden layer's activation is piecewise linear with known kinks
(ReLU, leaky ReLU, identity: :attr:`Activation.kinks`), every pre-activation
is piecewise affine in ``alpha``, and the gradient is constant between the
points where some unit crosses a kink. :func:`breakpoints` finds those points
layer by layer: on each segment between the breakpoints found so far, layer
``l``'s pre-activation is affine, so a unit crosses a kink ``k`` inside it
exactly when its values at the two ends lie on either side of ``k``, at the
point found by linear interpolation. The integral is then a finite sum:
each segment's length times the gradient at its midpoint, exact up to
rounding. With ``stage="post"`` and a smooth elementwise output activation
``g`` (sigmoid, tanh), the output layer's step on each segment is the exact
mean of ``g'`` over it, the secant ``(g(z_hi) - g(z_lo)) / (z_hi - z_lo)``
(``z`` is affine there). A softmax output with ``stage="post"`` is not
covered (its Jacobian's integral has no closed form): use a quadrature rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...errors import InvalidParameterError
from .._backprop import Chain, weighted
from ._options import Choice, Integer, Option
from ._problem import Computed, Problem
from ._quadrature import CAPTUM_RULE_NAMES, QUADRATURE_RULES, quadrature, table_bytes
from ._registry import register_method

__all__ = ["breakpoints", "exact_support"]

_RULES = ("auto", "exact", *QUADRATURE_RULES)

#: Below this ``|z_hi - z_lo|`` the output's secant is its derivative.
_SECANT_THRESHOLD = 1e-12


def exact_support(mlp: Any, stage: str) -> str | None:
    """Why the exact rule cannot integrate ``mlp`` at ``stage``, or None if it can."""
    layers = mlp.layers
    for i, dense in enumerate(layers[:-1]):
        act = dense.function
        if not (act.elementwise and act.piecewise_linear and act.kinks is not None):
            return (
                f"layer {i} uses {act.name!r}, which is not piecewise linear with "
                f"known kinks"
            )
    out = layers[-1].function
    if stage == "post" and not out.elementwise:
        return (
            f"the output activation {out.name!r} (stage='post') mixes the output "
            f"units, and the integral of its Jacobian has no closed form"
        )
    return None


def _uses_kinks(act: Any) -> bool:
    return act.elementwise and act.piecewise_linear and act.kinks is not None


def _prepare(mlp: Any, stage: str, options: dict[str, Any]) -> dict[str, Any]:
    rule = options["rule"]
    reason = exact_support(mlp, stage)
    if rule == "auto":
        rule = "exact" if reason is None else "gauss_legendre"
    if rule == "exact":
        if reason is not None:
            raise InvalidParameterError(
                f"`rule='exact'` needs piecewise-linear hidden layers (ReLU, leaky "
                f"ReLU, identity): {reason}. Use a quadrature rule such as "
                f"'gauss_legendre'"
            )
        return {"rule": "exact"}
    minimum = QUADRATURE_RULES[rule][1]
    if options["n_steps"] < minimum:
        raise InvalidParameterError(
            f"`n_steps` must be >= {minimum} for rule {rule!r}; got "
            f"{options['n_steps']}"
        )
    return {"rule": rule, "n_steps": options["n_steps"]}


def _memory(
    mlp: Any, options: Mapping[str, Any], chunk_size: int
) -> list[tuple[str, int]]:
    if options["rule"] == "exact":
        return []
    what = f"the {options['rule']} nodes and weights for n_steps={options['n_steps']}"
    return [(what, table_bytes(options["rule"], options["n_steps"]))]


@register_method(
    name="integrated_gradients",
    summary=(
        "Gradient integrated along the straight path from the baseline; exact "
        "on piecewise-linear networks"
    ),
    options=(
        Option("n_steps", 50, Integer(1), "quadrature nodes (not used by 'exact')"),
        Option(
            "rule",
            "auto",
            Choice(_RULES, CAPTUM_RULE_NAMES),
            "'exact' on piecewise-linear networks ('auto' picks it), else a "
            "quadrature rule; Captum's 'gausslegendre' and 'riemann_*' accepted",
        ),
    ),
    baseline="reference",
    completeness="baseline",
    captum="IntegratedGradients(model).attribute(X, baselines=B, target=t, "
    "n_steps=50, method='gausslegendre')",
    prepare=_prepare,
    memory=_memory,
)
def integrated_gradients(p: Problem) -> Computed:
    """Integrated gradients by the rule in ``p.options``."""
    if p.options["rule"] == "exact":
        return _exact(p)
    alphas, step_weights = quadrature(p.options["rule"], p.options["n_steps"])
    return _by_quadrature(p, alphas, step_weights)


def _path_ends(p: Problem, rows: slice) -> tuple[np.ndarray, ...]:
    """``(x - b, z_0(b) (broadcast), z_0(x) - z_0(b))`` for ``rows``."""
    chain = p.chain
    base = p.baseline_rows(rows)  # one row if shared
    diff = p.X[rows] if p.shared_baseline and not base.any() else p.X[rows] - base
    z_base = chain.first_pre(base)
    dz = diff @ chain.weights[0].T
    return diff, np.broadcast_to(z_base, dz.shape), dz


def _outputs(
    p: Problem, rows: slice, z_base: np.ndarray, dz: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The attributed output at the input and at the baseline."""
    m = dz.shape[0]
    ends = p.chain.forward_from_first(np.concatenate([z_base + dz, z_base]), p.last)
    both = np.concatenate([p.weights[rows], p.weights[rows]])
    value = weighted(ends, both, p.last, p.stage)
    return value[:m], value[m:]


def _by_quadrature(
    p: Problem, alphas: np.ndarray, step_weights: np.ndarray
) -> Computed:
    n_steps = alphas.size
    chain, w0 = p.chain, p.chain.weights[0]
    n = p.n_samples
    values, output, baseline_output = np.empty_like(p.X), np.empty(n), np.empty(n)
    # Steps run in blocks of at most chunk_size rows, so that even one input
    # with more steps than that stays within the chunk.
    block = max(1, min(n_steps, p.chunk_size))
    for rows in p.chunks(n_steps + 2):
        diff, z_base, dz = _path_ends(p, rows)
        m, h = dz.shape
        total = np.zeros((m, h))
        for start in range(0, n_steps, block):
            a = alphas[start : start + block]
            path = z_base[:, None, :] + a[None, :, None] * dz[:, None, :]
            fwd = chain.forward_from_first(path.reshape(m * a.size, h), p.last)
            g = np.repeat(p.weights[rows], a.size, axis=0)
            delta0 = chain.backward(fwd, g, layer=p.last, stage=p.stage)
            w = step_weights[start : start + block]
            total += np.einsum("s,msh->mh", w, delta0.reshape(m, a.size, h))
        out = values[rows]
        np.matmul(total, w0, out=out)
        out *= diff
        output[rows], baseline_output[rows] = _outputs(p, rows, z_base, dz)
    return Computed(values, output, baseline_output)


# -- the exact rule ----------------------------------------------------------------


def _kink_layers(chain: Chain, stage: str) -> list[int]:
    """Layers whose kinks make the gradient jump along the path."""
    last = chain.n_layers - 1
    layers = list(range(last))
    if stage == "post" and _uses_kinks(chain.activations[last]):
        layers.append(last)
    return [i for i in layers if chain.activations[i].kinks]


def breakpoints(
    chain: Chain, z_base: np.ndarray, dz: np.ndarray, layers: list[int]
) -> np.ndarray:
    """Sorted ``alpha`` in ``[0, 1]`` where some unit of ``layers`` crosses a kink.

    Parameters
    ----------
    chain : Chain
        The model.
    z_base, dz : numpy.ndarray, shape (m, units_0)
        The first pre-activation is ``z_base + alpha dz`` along each row's path.
    layers : list of int
        Layers with piecewise-linear activations, in increasing order.

    Returns
    -------
    numpy.ndarray, shape (m, K)
        Per row ``0``, the crossings and ``1``, sorted; rows with fewer
        points are padded with ones (segments of length zero).
    """
    m, h0 = dz.shape
    alphas = np.zeros((m, 2))
    alphas[:, 1] = 1.0
    for layer in layers:
        k = alphas.shape[1]
        z = z_base[:, None, :] + alphas[:, :, None] * dz[:, None, :]
        if layer > 0:
            fwd = chain.forward_from_first(z.reshape(m * k, h0), layer)
            z = fwd.pre[layer].reshape(m, k, -1)
        lo, hi = z[:, :-1, :], z[:, 1:, :]
        a_lo, a_hi = alphas[:, :-1], alphas[:, 1:]
        rows, points = [], []
        for kink in chain.activations[layer].kinks:
            d_lo, d_hi = lo - kink, hi - kink
            crossing = ((d_lo < 0) & (d_hi > 0)) | ((d_lo > 0) & (d_hi < 0))
            r, s, j = np.nonzero(crossing)
            t = d_lo[r, s, j] / (d_lo[r, s, j] - d_hi[r, s, j])
            rows.append(r)
            points.append(a_lo[r, s] + t * (a_hi[r, s] - a_lo[r, s]))
        alphas = _insert(alphas, np.concatenate(rows), np.concatenate(points))
    return alphas


def _insert(alphas: np.ndarray, rows: np.ndarray, points: np.ndarray) -> np.ndarray:
    """``alphas`` with ``points`` added to their ``rows``, each row sorted."""
    if rows.size == 0:
        return alphas
    m, k = alphas.shape
    counts = np.bincount(rows, minlength=m)
    out = np.ones((m, k + int(counts.max())))
    out[:, :k] = alphas
    order = np.argsort(rows, kind="stable")
    rows = rows[order]
    starts = np.cumsum(counts) - counts
    out[rows, k + np.arange(rows.size) - starts[rows]] = np.clip(points[order], 0, 1)
    out.sort(axis=1)
    return out


def _exact(p: Problem) -> Computed:
    chain, w0, last = p.chain, p.chain.weights[0], p.last
    layers = _kink_layers(chain, p.stage)
    out_act = chain.activations[last]
    secant = p.stage == "post" and not _uses_kinks(out_act)
    n = p.n_samples
    values, output, baseline_output = np.empty_like(p.X), np.empty(n), np.empty(n)
    # A rough bound of the path's pieces: one per kink crossing of each unit.
    pieces = 2 + sum(
        chain.weights[i].shape[0] * len(chain.activations[i].kinks) for i in layers
    )
    for rows in p.chunks(pieces):
        diff, z_base, dz = _path_ends(p, rows)
        m, h = dz.shape
        alphas = breakpoints(chain, z_base, dz, layers)
        lo, hi = alphas[:, :-1], alphas[:, 1:]
        seg_rows, seg = np.nonzero(hi > lo)
        a_lo, a_hi = lo[seg_rows, seg], hi[seg_rows, seg]
        weights = p.weights[rows]
        total = np.zeros((m, h))
        for start in range(0, seg_rows.size, p.chunk_size):
            part = slice(start, start + p.chunk_size)
            r = seg_rows[part]
            mid = 0.5 * (a_lo[part] + a_hi[part])
            fwd = chain.forward_from_first(z_base[r] + mid[:, None] * dz[r], last)
            if secant:
                g = weights[r] * _mean_slope(
                    p, z_base[r], dz[r], a_lo[part], a_hi[part], fwd
                )
                delta0 = chain.backward(fwd, g, layer=last, stage="pre")
            else:
                delta0 = chain.backward(fwd, weights[r], layer=last, stage=p.stage)
            delta0 *= (a_hi[part] - a_lo[part])[:, None]
            first = np.flatnonzero(np.diff(r, prepend=-1))
            total[r[first]] += np.add.reduceat(delta0, first, axis=0)
        out = values[rows]
        np.matmul(total, w0, out=out)
        out *= diff
        output[rows], baseline_output[rows] = _outputs(p, rows, z_base, dz)
    return Computed(values, output, baseline_output)


def _mean_slope(
    p: Problem,
    z_base: np.ndarray,
    dz: np.ndarray,
    a_lo: np.ndarray,
    a_hi: np.ndarray,
    fwd_mid: Any,
) -> np.ndarray:
    """Mean of ``g'`` over each segment for the output activation ``g``.

    The output pre-activation is affine on a segment, so the mean of
    ``g'(z(alpha))`` is the secant slope between its ends.
    """
    chain, last = p.chain, p.last
    ends = np.concatenate([a_lo, a_hi])
    z = np.concatenate([z_base, z_base]) + ends[:, None] * np.concatenate([dz, dz])
    fwd = chain.forward_from_first(z, last)
    m = a_lo.size
    z_lo, z_hi = fwd.pre[last][:m], fwd.pre[last][m:]
    g_lo, g_hi = fwd.post[last][:m], fwd.post[last][m:]
    act = chain.activations[last]
    pre_mid, post_mid = fwd_mid.pre[last], fwd_mid.post[last]
    slope = act.vjp(pre_mid, post_mid, np.ones_like(pre_mid))
    step = z_hi - z_lo
    np.divide(g_hi - g_lo, step, out=slope, where=np.abs(step) >= _SECANT_THRESHOLD)
    return slope
