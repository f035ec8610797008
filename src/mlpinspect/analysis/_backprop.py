"""Closed-form backward pass through the dense layers of an MLP.

The gradient of any unit of any layer with respect to the input is a chain of
matrix products, so mlpinspect computes it without an autodiff framework. For a
model with layers ``z_l = W_l a_{l-1} + b_l``, ``a_l = f_l(z_l)`` and
``a_{-1} = x``, and a weight vector ``g`` over the units of layer ``L``::

    delta_L     = g                              (stage "pre": d(g.z_L)/dz_L)
    delta_L     = f_L'(z_L)^T g                  (stage "post": d(g.a_L)/dz_L)
    delta_{l-1} = f_{l-1}'(z_{l-1})^T (W_l^T delta_l)
    grad_x      = W_0^T delta_0

where ``f'(z)^T g`` is the activation's vector-Jacobian product
(:attr:`mlpinspect.activations.Activation.vjp`). Everything is batched: ``g``
has one row per input, and every product is one matrix product for the whole
batch.

Two facts make the attribution methods fast:

- The first layer is linear in the input. On a straight path
  ``x(alpha) = b + alpha (x - b)`` its pre-activation is
  ``z_0(b) + alpha (z_0(x) - z_0(b))``, so an integrated-gradients path needs
  one product with ``W_0`` per input, not one per step, and the path steps run
  through the (small) hidden layers only. :meth:`Chain.backward` therefore
  stops at ``delta_0`` (the gradient with respect to the first layer's
  pre-activation) and the caller applies ``W_0^T`` once, after summing over
  the steps.
- DeepLIFT's rescale rule is the same backward pass with each activation's
  Jacobian replaced by the secant slope ``(f(z) - f(z')) / (z - z')``:
  :meth:`Chain.backward` takes the activation step as an argument.

Computation is in float64 whatever the model's dtype: attributions are checked
against completeness to ``1e-10``, which float32 cannot reach. The forward
passes are the model's own (:meth:`mlpinspect.MLP.propagate`, on its float64
copy); only the backward pass lives here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .._validation import all_finite
from ..activations import Activation
from ..errors import NumericalError
from ..mlp import MLP, ForwardTrace
from ._batches import overflow_error

__all__ = ["Chain", "input_gradient", "weighted"]

#: ``step(l, g) -> gradient w.r.t. pre[l]`` given ``g``, the gradient w.r.t. post[l].
ActivationStep = Callable[[int, np.ndarray], np.ndarray]


def weighted(trace: ForwardTrace, g: np.ndarray, layer: int, stage: str) -> np.ndarray:
    """``sum_k g[:, k] * unit_k`` for the units of ``layer``, shape ``(m,)``.

    A one-row trace broadcasts over the rows of ``g``.
    """
    return (g * trace.stage(layer, stage)).sum(axis=1)


class Chain:
    """An MLP in float64, with the backward pass the attribution methods share.

    Parameters
    ----------
    mlp : MLP
        The model; its float64 copy (:meth:`MLP.astype`) does the arithmetic.

    Attributes
    ----------
    mlp : MLP
        The float64 model.
    weights, biases : list of numpy.ndarray
        ``weights[l]`` has shape ``(units_l, units_{l-1})``, float64.
    activations : list of Activation
        One per layer.
    """

    def __init__(self, mlp: MLP) -> None:
        self.mlp = mlp.astype(np.float64)
        self.weights = [d.weight for d in self.mlp.layers]
        self.biases = [d.bias for d in self.mlp.layers]
        self.activations: list[Activation] = [d.function for d in self.mlp.layers]
        self.n_layers = len(self.mlp.layers)
        self.n_inputs = self.mlp.n_inputs

    def first_pre(self, X: np.ndarray) -> np.ndarray:
        """The first pre-activation ``X W_0^T + b_0``, shape ``(m, units_0)``."""
        z = X @ self.weights[0].T
        z += self.biases[0]
        return z

    def forward_from_first(self, z0: np.ndarray, stop: int) -> ForwardTrace:
        """Run layers ``0..stop`` given the first layer's pre-activation ``z0``."""
        return self.mlp.propagate(z0, stop=stop, first_pre=z0)  # type: ignore[return-value]

    def forward(self, X: np.ndarray, stop: int) -> ForwardTrace:
        """Run layers ``0..stop`` on inputs ``X`` of shape ``(m, n_inputs)``."""
        return self.mlp.propagate(X, stop=stop)  # type: ignore[return-value]

    def activation_vjp(self, fwd: ForwardTrace) -> ActivationStep:
        """The exact activation step: the activation's vector-Jacobian product."""

        def step(i: int, g: np.ndarray) -> np.ndarray:
            return self.activations[i].vjp(fwd.pre[i], fwd.post[i], g)

        return step

    def backward(
        self,
        fwd: ForwardTrace,
        g: np.ndarray,
        *,
        layer: int,
        stage: str,
        step: ActivationStep | None = None,
    ) -> np.ndarray:
        """Back-propagate ``g`` from ``layer`` to the first layer's pre-activation.

        Parameters
        ----------
        fwd : ForwardTrace
            A forward pass covering at least layers ``0..layer``.
        g : numpy.ndarray, shape (m, units_layer)
            Weights over the units of ``layer``: the function differentiated is
            ``sum_k g[:, k] * unit_k``.
        layer : int
            Non-negative layer index.
        stage : {"pre", "post"}
            Whether the units are taken before or after the activation.
        step : callable, optional
            ``step(l, g)`` maps a gradient w.r.t. ``post[l]`` to one w.r.t.
            ``pre[l]``; defaults to the exact vector-Jacobian product. DeepLIFT
            passes its rescale multipliers here.

        Returns
        -------
        numpy.ndarray, shape (m, units_0)
            ``delta_0``; the input gradient is ``delta_0 @ weights[0]``.
        """
        if step is None:
            step = self.activation_vjp(fwd)
        with np.errstate(over="ignore", invalid="ignore"):
            delta = step(layer, g) if stage == "post" else g
            for i in range(layer, 0, -1):
                delta = step(i - 1, delta @ self.weights[i])
                if not all_finite(delta):
                    raise self.overflow(i - 1, "the gradients of its pre-activations")
        return delta

    def overflow(self, layer: int, what: str) -> NumericalError:
        """The error for ``what`` (values of ``layer``) leaving float64's range."""
        return overflow_error(self.mlp, layer, what)


def input_gradient(
    mlp: MLP | Chain,
    X: np.ndarray,
    g: np.ndarray,
    *,
    layer: int = -1,
    stage: str = "pre",
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient of ``sum_k g[:, k] * unit_k(layer)`` with respect to the input.

    Parameters
    ----------
    mlp : MLP or Chain
        The model.
    X : numpy.ndarray, shape (m, n_inputs)
        Inputs.
    g : numpy.ndarray, shape (m, units_layer) or (units_layer,)
        Weights over the units of ``layer`` (a one-hot row selects one unit).
    layer : int
        Layer index; negative counts from the end.
    stage : {"pre", "post"}
        Differentiate the pre-activation or the activation of the units.

    Returns
    -------
    gradient : numpy.ndarray, shape (m, n_inputs)
    value : numpy.ndarray, shape (m,)
        ``sum_k g[:, k] * unit_k`` at ``X``.
    """
    chain = mlp if isinstance(mlp, Chain) else Chain(mlp)
    layer = layer % chain.n_layers
    X = np.asarray(X, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    if g.ndim == 1:
        g = np.broadcast_to(g, (X.shape[0], g.size))
    fwd = chain.forward(X, layer)
    delta0 = chain.backward(fwd, g, layer=layer, stage=stage)
    with np.errstate(over="ignore", invalid="ignore"):
        gradient = delta0 @ chain.weights[0]
    if not all_finite(gradient):
        raise chain.overflow(0, "the gradients of its inputs")
    return gradient, weighted(fwd, g, layer, stage)
