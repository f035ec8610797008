"""The gradient (signed saliency) and gradient x input."""

from __future__ import annotations

import numpy as np

from ._problem import Computed, Problem
from ._registry import register_method

__all__: list[str] = []


def _gradient_values(p: Problem) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(df/dx (n, d), f(x) (n,), finite)``, one chunk of rows at a time.

    ``finite`` is True when a bound proves every value finite: ``|df/dx_i| <=
    ||delta_0||_1 max |W_0|``, with ``delta_0`` the (checked) gradient of the
    first pre-activation.
    """
    chain, w0 = p.chain, p.chain.weights[0]
    values = np.empty_like(p.X)
    output = np.empty(p.n_samples)
    bound = 0.0
    for rows in p.chunks(1):
        fwd = chain.forward(p.X[rows], p.last)
        delta0 = chain.backward(fwd, p.weights[rows], layer=p.last, stage=p.stage)
        np.matmul(delta0, w0, out=values[rows])  # no temporary of the chunk's size
        output[rows] = p.value(fwd, rows)
        bound = max(bound, float(np.abs(delta0).sum(axis=1).max(initial=0.0)))
    finite = bool(np.isfinite(bound * float(np.abs(w0).max(initial=0.0)) * 4))
    return values, output, finite


@register_method(
    name="gradient",
    summary="The gradient of the output with respect to the input (signed saliency)",
    captum="Saliency(model).attribute(X, target=t, abs=False)",
)
def gradient(p: Problem) -> Computed:
    """``df/dx``."""
    values, output, finite = _gradient_values(p)
    return Computed(values, output, finite=finite)


@register_method(
    name="gradient_x_input",
    summary="The gradient times the input",
    baseline="zero",
    completeness="baseline",
    captum="InputXGradient(model).attribute(X, target=t)",
)
def gradient_x_input(p: Problem) -> Computed:
    """``x * df/dx``; complete (``f(x) - f(0)``) on bias-free ReLU networks."""
    values, output, _ = _gradient_values(p)
    values *= p.X
    # The implicit baseline is zero: f(0) is one forward pass for every row.
    at_zero = p.chain.forward(np.zeros((1, p.X.shape[1])), p.last)
    acts = at_zero.pre[p.last] if p.stage == "pre" else at_zero.post[p.last]
    return Computed(values, output, p.weights @ acts[0])
