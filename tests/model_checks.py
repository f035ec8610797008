"""Checks shared by the adapter tests of the modern activations and sources.

``check_attributions`` runs gradient, integrated gradients, DeepLIFT and
occlusion on an adapted model and checks what each promises: the gradient
equals the framework's own (or central differences of the forward pass in
float64), integrated gradients and DeepLIFT are complete (their sum is the
change of the output), and occlusion is the change of the output when one
feature is replaced by the baseline.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

import mlpinspect
from mlpinspect import attribute

# Analytic activations (integrated gradients' Gauss-Legendre quadrature
# converges fast); the others have a kink or a jump in a higher derivative
# (ReLU, ELU, CELU and softsign at 0, softplus at its threshold).
SMOOTH = {"identity", "sigmoid", "tanh", "gelu", "gelu_tanh", "silu", "mish",
          "softmax", "log_softmax", "softplus"}  # fmt: skip


def _smooth(name: str) -> bool:
    # softplus(beta) without a threshold is analytic too.
    return name in SMOOTH or (name.startswith("softplus(") and "," not in name)


def numeric_gradient(mlp: mlpinspect.MLP, X: np.ndarray, unit: int, stage: str):
    """Central differences of one output unit, in float64."""
    model = mlp.astype(np.float64)
    X = np.asarray(X, dtype=np.float64).reshape(len(X), -1)
    h = 1e-6
    grad = np.empty_like(X)

    def value(Z):
        trace = model.trace(Z)
        return (trace.pre[-1] if stage == "pre" else trace.post[-1])[:, unit]

    for j in range(X.shape[1]):
        step = np.zeros(X.shape[1])
        step[j] = h
        grad[:, j] = (value(X + step) - value(X - step)) / (2 * h)
    return grad


def check_attributions(
    mlp: mlpinspect.MLP,
    X: np.ndarray,
    *,
    unit: int = 0,
    gradient: Callable[[np.ndarray], np.ndarray] | None = None,
    gradient_rtol: float = 1e-6,
    gradient_atol: float = 1e-8,
    stage: str = "pre",
) -> None:
    """Gradient, IG, DeepLIFT and occlusion on ``mlp`` for output ``unit``.

    ``gradient(X)``, when given, is the framework's own gradient of output
    ``unit`` (at ``stage``) with respect to the flattened inputs. Integrated
    gradients is a quadrature: exact to 1e-6 for smooth activations, to the
    quadrature's O(1/n) where an activation has kinks.
    """
    smooth = all(_smooth(name) for name in mlp.activation_names)
    ig_steps, ig_tol = (128, 1e-6) if smooth else (512, 1e-2)
    X = np.asarray(X)
    n = len(X)
    weights = np.zeros((n, mlp.n_outputs))
    weights[:, unit] = 1.0  # a direction: no label interpretation involved
    flat = np.asarray(X, dtype=np.float64).reshape(n, -1)

    got = attribute(mlp, X, weights, method="gradient", stage=stage).values
    got = got.reshape(n, -1)
    expected = (
        gradient(X).reshape(n, -1)
        if gradient is not None
        else numeric_gradient(mlp, X, unit, stage)
    )
    tol = gradient_atol + gradient_rtol * np.abs(expected).max()
    assert np.abs(got - expected).max() <= tol, (np.abs(got - expected).max(), tol)

    for method, kwargs, bound in (
        ("integrated_gradients", {"n_steps": ig_steps}, ig_tol),
        ("deeplift", {}, 1e-9),
    ):
        result = attribute(mlp, X, weights, method=method, stage=stage, **kwargs)
        change = np.abs(result.output - result.baseline_output)
        error = np.abs(result.completeness_error)
        assert (error <= bound * (1.0 + change)).all(), (method, error.max())
        # The attributions explain a real change, not a vacuous zero.
        assert np.abs(result.values).sum() > 0

    occluded = attribute(mlp, X, weights, method="occlusion", stage=stage, window=1)
    model = mlp.astype(np.float64)
    base = model.trace(flat)
    base_value = (base.pre[-1] if stage == "pre" else base.post[-1])[:, unit]
    for j in range(min(flat.shape[1], 6)):
        Z = flat.copy()
        Z[:, j] = 0.0
        trace = model.trace(Z)
        value = (trace.pre[-1] if stage == "pre" else trace.post[-1])[:, unit]
        np.testing.assert_allclose(
            occluded.values.reshape(n, -1)[:, j], base_value - value, atol=1e-9
        )
