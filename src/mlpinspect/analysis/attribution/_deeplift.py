"""DeepLIFT with the rescale rule.

The backward pass with each activation's derivative replaced by the secant
slope ``(f(z) - f(z')) / (z - z')`` between the input's and the baseline's
pre-activations (the derivative at the input where ``|z - z'| < 1e-10``, as
Captum does). A non-elementwise activation (softmax) uses its Jacobian
averaged over the segment from ``z'`` to ``z`` (Gauss-Legendre, ``n_steps``
nodes), which keeps completeness.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ...mlp import ForwardTrace
from ._options import Integer, Option
from ._problem import Computed, Problem
from ._quadrature import quadrature
from ._registry import register_method

__all__: list[str] = []

_THRESHOLD = 1e-10
"""Below this ``|z - z'|`` DeepLIFT uses the derivative (as Captum does)."""


def _rescale_step(
    p: Problem, fx: ForwardTrace, fb: ForwardTrace
) -> Callable[[int, np.ndarray], np.ndarray]:
    """The rescale rule as an activation step for :meth:`Chain.backward`."""

    def step(i: int, g: np.ndarray) -> np.ndarray:
        act = p.chain.activations[i]
        if act.name == "identity":
            return g
        if not act.elementwise:
            return _average_jacobian_vjp(p, act, fx.pre[i], fb.pre[i], g)
        dz = fx.pre[i] - fb.pre[i]
        slope = act.vjp(fx.pre[i], fx.post[i], np.ones_like(dz))  # f'(z) at x
        secant = np.abs(dz) >= _THRESHOLD
        np.divide(fx.post[i] - fb.post[i], dz, out=slope, where=secant)
        slope *= g
        return slope

    return step


def _average_jacobian_vjp(
    p: Problem, act: Any, zx: np.ndarray, zb: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """``g`` times the Jacobian averaged over the segment from ``zb`` to ``zx``.

    For a non-elementwise activation (softmax) the averaged Jacobian ``J``
    satisfies ``J (zx - zb) = f(zx) - f(zb)``, the multi-input analogue of the
    secant slope; the average is taken by Gauss-Legendre with ``n_steps`` nodes.
    """
    alphas, step_weights = quadrature("gauss_legendre", p.options["n_steps"])
    zb = np.broadcast_to(zb, zx.shape)
    m, k = zx.shape
    path = zb[:, None, :] + alphas[None, :, None] * (zx - zb)[:, None, :]
    path = path.reshape(-1, k)
    gs = np.repeat(g, alphas.size, axis=0)
    vjp = act.vjp(path, act(path), gs).reshape(m, alphas.size, k)
    return np.einsum("s,msk->mk", step_weights, vjp)


@register_method(
    name="deeplift",
    summary="DeepLIFT, rescale rule: the backward pass with secant slopes",
    options=(
        Option(
            "n_steps",
            50,
            Integer(1),
            "Gauss-Legendre nodes of a softmax's averaged Jacobian (stage='post')",
        ),
    ),
    baseline="reference",
    completeness="baseline",
    captum="DeepLift(model).attribute(X, baselines=B, target=t)",
)
def deeplift(p: Problem) -> Computed:
    """DeepLIFT (rescale) attributions of ``f(x) - f(baseline)``."""
    chain, w0 = p.chain, p.chain.weights[0]
    n = p.n_samples
    values, output, baseline_output = np.empty_like(p.X), np.empty(n), np.empty(n)
    softmax_out = p.stage == "post" and not chain.activations[p.last].elementwise
    rows_per_sample = 2 + (p.options["n_steps"] if softmax_out else 0)
    for rows in p.chunks(rows_per_sample):
        x = p.X[rows]
        # A shared baseline runs once; its one-row pass broadcasts over the rows.
        fx, fb = chain.forward(x, p.last), chain.forward(p.baseline_rows(rows), p.last)
        step = _rescale_step(p, fx, fb)
        delta0 = chain.backward(
            fx, p.weights[rows], layer=p.last, stage=p.stage, step=step
        )
        out = values[rows]
        np.matmul(delta0, w0, out=out)
        if p.shared_baseline and not p.baseline[0].any():
            out *= x  # a zero baseline: x - b is x
        else:
            out *= x - p.baseline[rows]
        output[rows] = p.value(fx, rows)
        baseline_output[rows] = p.value(fb, rows)  # a one-row pass broadcasts
    return Computed(values, output, baseline_output)
