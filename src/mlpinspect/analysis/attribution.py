"""Attribution of a model's output to its input features (pixels).

One function, :func:`attribute`, computes every method and returns one result
type, :class:`Attribution`, whose ``values`` have the shape of ``X``::

    result = attribute(model, X, target, method="integrated_gradients")

Methods
-------
``"gradient"``
    The gradient of the target output with respect to the input (signed
    saliency).
``"gradient_x_input"``
    The gradient times the input.
``"integrated_gradients"``
    ``(x - b) * integral_0^1 grad f(b + alpha (x - b)) d alpha``, the integral
    taken by a quadrature ``rule`` with ``n_steps`` nodes: Gauss-Legendre
    (default) or a Riemann sum (left, right, middle, trapezoid).
``"deeplift"``
    DeepLIFT with the rescale rule: the backward pass with each activation's
    derivative replaced by the secant slope ``(f(z) - f(z')) / (z - z')``
    between the input's and the baseline's pre-activations (the derivative at
    the input where ``|z - z'| < 1e-10``).
``"lrp"``
    Layer-wise relevance propagation. ``lrp_rule="epsilon"`` on every layer
    (LRP-0 with ``epsilon=0``), or ``"zplus"`` / ``"alpha_beta"`` for networks
    whose hidden layers are ReLU.
``"occlusion"``
    Replace a patch (``window``, moved by ``stride`` over the input's shape;
    one feature by default) by the baseline and record the drop of the target
    output; a feature covered by several patches gets the mean drop.

Which output is attributed
--------------------------
``target`` selects an output unit (a position or a class label, for every row
or one per row) or a weighted sum of output units (a float vector of weights,
the "direction" ``sum_k w_k f_k``). A binary model has one output unit, the
positive class's; its negative class is the direction ``-1`` on that unit
(the negative class's logit is minus the positive one's), so its attributions
are minus the positive class's. ``stage="pre"`` (the default) attributes the
output layer's *pre-activation* (the logit), ``stage="post"`` its activation
(e.g. the softmax probability or the sigmoid output).

The default is the logit because it is what the rest of mlpinspect decomposes
(:func:`mlpinspect.decompose` splits it exactly into per-unit contributions),
because it is not squashed (a sigmoid output near 1 has a vanishing gradient
however strongly the input supports it) and because a softmax probability
depends on every other class's logit, so its attribution mixes in evidence
*against* the other classes. For a model whose output activation is the
identity, both are the same. Captum attributes whatever the model's
``forward`` returns; ``stage="post"`` is the equivalent for a torch model that
ends with its activation, ``stage="pre"`` for the same model without it.

Completeness
------------
Where a method has a completeness property, ``completeness_error`` holds, per
row, the sum of the attributions minus the change of the output it explains:

- ``gradient``, ``occlusion``: no such property (``None``).
- ``gradient_x_input``: ``sum - (f(x) - f(0))``; zero for bias-free networks
  of ReLU, leaky ReLU and identity layers (``f`` is then positively
  homogeneous, and Euler's theorem gives ``x . grad f(x) = f(x)``).
- ``integrated_gradients``: ``sum - (f(x) - f(b))``; zero in the limit of many
  steps. Gauss-Legendre converges fast on smooth (sigmoid, tanh) networks; on
  ReLU networks the integrand jumps, and every rule converges like
  ``1/n_steps``.
- ``deeplift``: ``sum - (f(x) - f(b))``; zero to rounding (for a softmax with
  ``stage="post"``, to the quadrature error of its averaged Jacobian).
- ``lrp``: ``sum - f(x)`` (relevance conservation); zero for LRP-0
  (``epsilon=0``), and for ``zplus`` / ``alpha_beta`` with ``alpha - beta =
  1`` when every unit has positive (and negative) contributions, on bias-free
  networks: a bias absorbs its share of the relevance.

LRP conventions
---------------
Relevance starts at the output layer as ``w_k * z_k`` (``stage="pre"``) or
``w_k * a_k`` (``stage="post"``) for the target weights ``w`` and passes
unchanged through every activation (as in Captum). Through a dense layer with
inputs ``a``, weights ``W`` and pre-activation ``z = W a + b``:

- ``"epsilon"``: ``R_i = a_i sum_j W_ji R_j / (z_j + epsilon sign(z_j))`` with
  ``sign(0) = 1``; the bias is part of ``z_j``, so it absorbs the share
  ``b_j / z_j`` of ``R_j``. With ``epsilon=0`` a unit with ``z_j = 0`` passes
  no relevance.
- ``"alpha_beta"``: with the contributions ``z_ij = a_i W_ji`` split into
  positive and negative parts, ``R_i = sum_j (alpha z_ij^+ / z_j^+ - beta z_ij^-
  / z_j^-) R_j`` where ``z_j^+ = sum_i z_ij^+ + b_j^+ (+ epsilon)`` and
  ``z_j^- = sum_i z_ij^- + b_j^- (- epsilon)``; ``"zplus"`` is ``alpha=1,
  beta=0``. The same rule is used on every layer, the first included: written
  on contributions ``(a_i W_ji)^+``, it equals the classic ``W^+`` rule wherever
  the activations are non-negative (hidden ReLU layers; the input when it is
  non-negative, e.g. pixels) and stays defined for inputs of any sign. These
  rules assume non-negative hidden activations, so they require ReLU hidden
  layers (any output activation).

LRP was designed for ReLU networks, whose units pass relevance only when they
are active. On sigmoid or tanh hidden layers the epsilon rule still conserves
relevance, but it divides by pre-activations ``z_j`` that are often negative
while the unit's output is positive, which flips the sign of the relevance it
passes down: on the study's sigmoid network the LRP map is anti-correlated with
gradient x input (about -0.9). Captum refuses sigmoid layers for LRP; mlpinspect
computes it, but on such networks prefer integrated gradients or DeepLIFT,
whose guarantees do not depend on the activation.

Compared with Captum
--------------------
``tests/analysis/test_captum.py`` runs every method and Captum 0.9 on the same
float64 ``torch.nn.Sequential`` model (``Linear`` layers and activation
modules) and checks agreement; below, "measured" is the largest relative
difference seen over several random networks, "tested" the tolerance the
tests assert.

- ``gradient`` = ``Saliency(abs=False)`` (Captum's default ``abs=True`` takes
  absolute values); ``gradient_x_input`` = ``InputXGradient``: measured
  ``1e-15``, tested ``1e-12``.
- ``integrated_gradients`` = ``IntegratedGradients``: ``gauss_legendre`` is
  Captum's ``"gausslegendre"``, ``riemann_left/right/middle`` are Captum's
  rules of the same names. Captum rounds the quadrature weights (and the
  Riemann nodes) to float32, so even in float64 the two differ by up to
  ``5e-9`` (Gauss-Legendre) and ``4e-8`` (Riemann); tested ``1e-6``.
  Captum's ``"riemann_trapezoid"`` is not the trapezoid rule: its weights are
  ``1/n`` (halved at both ends), which sum to ``(n - 1)/n``, so it
  under-counts the integral by the factor ``(n - 1)/n``. mlpinspect's weights
  are ``1/(n - 1)`` (halved at the ends) and sum to 1; the two agree after
  scaling Captum's result by ``n/(n - 1)``.
- ``deeplift`` = ``DeepLift`` (rescale; activations as ``nn.Module``; Captum's
  threshold ``1e-10`` on ``|z - z'|`` below which the gradient is used) on
  networks of ReLU, leaky ReLU, tanh, sigmoid and identity layers: measured
  ``5e-15``, tested ``1e-9``. Captum's multiplier for ``nn.Softmax`` is not the
  rescale rule (it rescales each unit as if the softmax were elementwise,
  then subtracts the mean over the *whole batch*), so its attributions do not
  sum to ``f(x) - f(b)`` and depend on the other rows of the batch;
  mlpinspect uses the averaged Jacobian (see ``n_steps`` in
  :func:`attribute`), which keeps completeness. Attributing the logit
  (``stage="pre"``) avoids the question.
- ``lrp`` with ``lrp_rule="epsilon"`` = ``LRP`` with its default rules
  (``EpsilonRule`` on ``nn.Linear``, relevance passed through ``nn.ReLU`` and
  ``nn.Tanh``) given the same ``epsilon`` (Captum's default is ``1e-9``,
  mlpinspect's ``1e-6``): measured ``5e-16``, tested ``1e-9``. Captum's LRP
  raises for ``nn.Sigmoid`` (and ``nn.Softmax``) layers; mlpinspect passes
  relevance through them like any activation. ``lrp_rule="zplus"`` = Captum's
  ``Alpha1_Beta0_Rule`` on every ``nn.Linear`` when the input and the biases
  are non-negative (measured ``5e-16``); Captum keeps the whole bias, not its
  positive part, in the denominator, and has no general alpha-beta rule.
  Captum's convergence delta for LRP has the opposite sign (``f(x) - sum``).
- ``occlusion`` = ``FeatureAblation`` for the default one-feature window
  (measured ``2e-15``, tested ``1e-12``) and ``Occlusion`` with the same
  ``sliding_window_shapes`` and ``strides`` otherwise. Windows are placed as
  in Captum: at multiples of the stride until one reaches the border, the
  last one clipped. Captum casts the summed drops to float32 before dividing
  by the number of windows (``single_attrib.float() / weight``), so with
  overlapping windows the two differ by up to ``5e-8``; tested ``1e-6``.

Speed
-----
Everything is vectorised over samples and steps, in chunks of at most
``chunk_size`` rows. The first layer is linear in the input, so the
integrated-gradients path (and every occlusion patch) needs one product with
the first weight matrix per input, not one per step: the steps run through
the hidden layers only. On the study's 784-30-10 sigmoid network and the
10,000 MNIST test images, integrated gradients with 50 steps for every
image's predicted class takes about 0.27 s (two shared CPU cores),
15x faster than Captum's ``IntegratedGradients`` on the same torch model in
float32 and 33x faster in float64; besides the 60 MiB result its working
memory is 15 MiB at the default ``chunk_size`` (3 MiB at 1024 rows). See
``benchmarks/analysis_speed.py``.
"""

from __future__ import annotations

import functools
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from .._validation import (
    all_finite,
    check_array,
    check_choice,
    check_chunk_size,
    check_float,
    check_input,
    check_int,
    resolve_target,
)
from ..adapters import adapt
from ..errors import InvalidParameterError
from ..mlp import ForwardTrace
from ._backprop import Chain, weighted
from ._batches import zero_divide

__all__ = ["METHODS", "Attribution", "attribute"]

DEFAULT_CHUNK_SIZE = 8192
"""Default number of rows (samples x steps or patches) computed at once."""

_DEEPLIFT_THRESHOLD = 1e-10
"""Below this ``|z - z'|`` DeepLIFT uses the derivative (as Captum does)."""


# -- the result ------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Attribution:
    """Attributions of one output per row to the input features.

    Attributes
    ----------
    values : numpy.ndarray, shape of ``X``
        One attribution per input feature.
    method : str
        The method's name, e.g. ``"integrated_gradients"``.
    target : numpy.ndarray
        ``(n,)`` int64 output indices, or ``(n, n_outputs)`` float weights when
        the target was a direction over the outputs or named the negative
        class of a binary model (weight ``-1`` on its one unit).
    output : numpy.ndarray, shape (n,)
        The attributed output at ``X`` (the target unit's logit with
        ``stage="pre"``, its activation with ``stage="post"``; minus the one
        unit's for the negative class of a binary model).
    baseline : numpy.ndarray or None
        The reference input, shape of ``X`` (a read-only broadcast view when
        one baseline serves every row); zeros for ``gradient_x_input``; None for
        ``gradient`` and ``lrp``.
    baseline_output : numpy.ndarray or None, shape (n,)
        The attributed output at the baseline.
    completeness_error : numpy.ndarray or None, shape (n,)
        Sum of the attributions minus ``output - baseline_output`` (minus
        ``output`` for LRP); None for methods without a completeness property
        (see the module documentation).
    stage : {"pre", "post"}
        Whether the output unit was taken before or after its activation.
    input_shape : tuple of int
        The model's input shape.
    options : mapping
        The method's settings (``n_steps``, ``rule``, ``epsilon``, ...).
    inputs : numpy.ndarray, shape of ``X``
        The attributed inputs (float64), for figures.
    feature_names : tuple of str or None
        The inputs' feature names: a DataFrame's columns, or the model's
        ``feature_names``; None when neither has any.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, attribute
    >>> mlp = MLP([Dense([[1.0, -1.0], [0.5, 2.0]], [0.0, 0.0], "relu"),
    ...            Dense([[1.0, 2.0]], [0.0], "identity")])
    >>> result = attribute(mlp, [[2.0, 1.0]], 0, method="gradient_x_input")
    >>> result.values, result.output
    (array([[4., 3.]]), array([7.]))
    >>> result.completeness_error  # bias-free ReLU network: exact
    array([0.])
    >>> attribute(mlp, [[2.0, 1.0]], 0, method="gradient").completeness_error is None
    True
    """

    values: np.ndarray
    method: str
    target: np.ndarray
    output: np.ndarray
    baseline: np.ndarray | None
    baseline_output: np.ndarray | None
    completeness_error: np.ndarray | None
    stage: str
    input_shape: tuple[int, ...]
    options: Mapping[str, Any]
    inputs: np.ndarray | None = None
    feature_names: tuple[str, ...] | None = None

    @property
    def convergence_delta(self) -> np.ndarray | None:
        """Alias of :attr:`completeness_error` (Captum's name).

        Captum's LRP reports ``f(x) - sum``, the opposite sign.
        """
        return self.completeness_error

    @property
    def n_samples(self) -> int:
        """Number of attributed inputs."""
        return int(self.output.shape[0])

    def __repr__(self) -> str:
        text = (
            f"Attribution(method={self.method!r}, n_samples={self.n_samples}, "
            f"input_shape={self.input_shape}, stage={self.stage!r}"
        )
        if self.completeness_error is not None and self.completeness_error.size:
            worst = float(np.max(np.abs(self.completeness_error)))
            text += f", max_abs_completeness_error={worst:.3g}"
        return text + ")"


# -- quadrature rules for integrated gradients -----------------------------------


@functools.lru_cache(maxsize=16)
def _gauss_legendre(n: int) -> tuple[np.ndarray, np.ndarray]:
    # leggauss solves an n x n eigenproblem: cache it for repeated calls.
    nodes, weights = np.polynomial.legendre.leggauss(n)
    nodes, weights = 0.5 * (nodes + 1.0), 0.5 * weights
    nodes.flags.writeable = weights.flags.writeable = False
    return nodes, weights


def _riemann_left(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(n) / n, np.full(n, 1.0 / n)


def _riemann_right(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.arange(1, n + 1) / n, np.full(n, 1.0 / n)


def _riemann_middle(n: int) -> tuple[np.ndarray, np.ndarray]:
    return (np.arange(n) + 0.5) / n, np.full(n, 1.0 / n)


def _riemann_trapezoid(n: int) -> tuple[np.ndarray, np.ndarray]:
    weights = np.full(n, 1.0 / (n - 1))
    weights[[0, -1]] *= 0.5
    return np.linspace(0.0, 1.0, n), weights


#: rule name -> (function of n_steps giving nodes and weights on [0, 1], min steps)
QUADRATURE_RULES: dict[str, tuple[Callable[[int], tuple], int]] = {
    "gauss_legendre": (_gauss_legendre, 1),
    "riemann_trapezoid": (_riemann_trapezoid, 2),
    "riemann_left": (_riemann_left, 1),
    "riemann_right": (_riemann_right, 1),
    "riemann_middle": (_riemann_middle, 1),
}


# -- LRP rules: one small function per rule ----------------------------------------


def _lrp_epsilon(
    a: np.ndarray, weight: np.ndarray, bias: np.ndarray, z: np.ndarray,
    relevance: np.ndarray, opts: Mapping[str, float],
) -> np.ndarray:  # fmt: skip
    """``R_i = a_i sum_j W_ji R_j / (z_j + eps sign(z_j))``, ``sign(0) = 1``."""
    den = z + opts["epsilon"] * np.where(z >= 0, 1.0, -1.0)
    return a * (zero_divide(relevance, den) @ weight)


def _lrp_alpha_beta(
    a: np.ndarray, weight: np.ndarray, bias: np.ndarray, z: np.ndarray,
    relevance: np.ndarray, opts: Mapping[str, float],
) -> np.ndarray:  # fmt: skip
    """Split ``z_ij = a_i W_ji`` into positive and negative parts.

    ``(a w)^+ = a^+ w^+ + a^- w^-`` and ``(a w)^- = a^+ w^- + a^- w^+``, so the
    sums over ``i`` are four matrix products, whatever the signs of ``a``.
    """
    alpha, beta, eps = opts["alpha"], opts["beta"], opts["epsilon"]
    a_pos, a_neg = np.maximum(a, 0.0), np.minimum(a, 0.0)
    w_pos, w_neg = np.maximum(weight, 0.0), np.minimum(weight, 0.0)
    z_pos = a_pos @ w_pos.T + a_neg @ w_neg.T + np.maximum(bias, 0.0) + eps
    s_pos = zero_divide(relevance, z_pos)
    result = alpha * (a_pos * (s_pos @ w_pos) + a_neg * (s_pos @ w_neg))
    if beta != 0:
        z_neg = a_pos @ w_neg.T + a_neg @ w_pos.T + np.minimum(bias, 0.0) - eps
        s_neg = zero_divide(relevance, z_neg)
        result -= beta * (a_pos * (s_neg @ w_neg) + a_neg * (s_neg @ w_pos))
    return result


LRP_RULES: dict[str, Callable[..., np.ndarray]] = {
    "epsilon": _lrp_epsilon,
    "zplus": _lrp_alpha_beta,
    "alpha_beta": _lrp_alpha_beta,
}
"""Rule name -> ``rule(a, weight, bias, z, relevance, opts)`` giving the
relevance of the layer's inputs ``a`` from the relevance of its units."""

#: Hidden activations each LRP rule accepts (None: any).
_LRP_HIDDEN_ACTIVATIONS: dict[str, tuple[str, ...] | None] = {
    "epsilon": None,
    "zplus": ("relu",),
    "alpha_beta": ("relu",),
}


# -- the problem every method solves ----------------------------------------------


@dataclass(frozen=True)
class _Problem:
    """Validated inputs shared by the methods (all float64, flattened)."""

    chain: Chain
    X: np.ndarray  # (n, d)
    weights: np.ndarray  # (n, n_outputs): the target as weights over outputs
    stage: str
    baseline: np.ndarray  # (n, d), possibly a broadcast view
    chunk_size: int
    input_shape: tuple[int, ...]
    opts: Mapping[str, Any]

    @property
    def last(self) -> int:
        return self.chain.n_layers - 1

    def chunks(self, rows_per_sample: int):
        """Slices of samples whose ``rows_per_sample`` rows fit in a batch."""
        size = max(1, self.chunk_size // max(1, rows_per_sample))
        n = self.X.shape[0]
        for start in range(0, n, size):
            yield slice(start, min(n, start + size))

    @property
    def shared_baseline(self) -> bool:
        """Whether one baseline serves every row (a broadcast view)."""
        return self.baseline.shape[0] <= 1 or self.baseline.strides[0] == 0

    def baseline_rows(self, rows: slice) -> np.ndarray:
        """The baseline for ``rows``: a single row when it is shared."""
        return self.baseline[:1] if self.shared_baseline else self.baseline[rows]

    def value(self, fwd: ForwardTrace, rows: slice) -> np.ndarray:
        return weighted(fwd, self.weights[rows], self.last, self.stage)

    def output_at(self, Z: np.ndarray) -> np.ndarray:
        """Target output for every row of ``Z`` (inputs), chunked."""
        out = np.empty(Z.shape[0])
        for rows in self.chunks(1):
            fwd = self.chain.forward(Z[rows], self.last)
            out[rows] = self.value(fwd, rows)
        return out


@dataclass(frozen=True)
class _Computed:
    values: np.ndarray
    output: np.ndarray
    baseline_output: np.ndarray | None = None
    reference: str = "none"  # "baseline", "zero" or "none" for completeness


# -- the methods ------------------------------------------------------------------


def _gradient(p: _Problem) -> _Computed:
    values = np.empty_like(p.X)
    output = np.empty(p.X.shape[0])
    w0 = p.chain.weights[0]
    for rows in p.chunks(1):
        fwd = p.chain.forward(p.X[rows], p.last)
        delta0 = p.chain.backward(fwd, p.weights[rows], layer=p.last, stage=p.stage)
        values[rows] = delta0 @ w0
        output[rows] = p.value(fwd, rows)
    return _Computed(values, output)


def _gradient_x_input(p: _Problem) -> _Computed:
    grad = _gradient(p)
    # The implicit baseline is zero: f(0) is one forward pass for every row.
    at_zero = p.chain.forward(np.zeros((1, p.X.shape[1])), p.last)
    stage_acts = at_zero.pre[p.last] if p.stage == "pre" else at_zero.post[p.last]
    zero_output = p.weights @ stage_acts[0]
    return _Computed(grad.values * p.X, grad.output, zero_output, reference="baseline")


def _integrated_gradients(p: _Problem) -> _Computed:
    rule_fn, _ = QUADRATURE_RULES[p.opts["rule"]]
    alphas, step_weights = rule_fn(p.opts["n_steps"])
    n_steps = alphas.size
    chain, w0 = p.chain, p.chain.weights[0]
    values = np.empty_like(p.X)
    output = np.empty(p.X.shape[0])
    baseline_output = np.empty(p.X.shape[0])
    for rows in p.chunks(n_steps + 2):
        diff = p.X[rows] - p.baseline[rows]
        z_base = chain.first_pre(p.baseline_rows(rows))  # one row if shared
        dz = diff @ w0.T
        # The first layer is linear, so along the path z0(alpha) = z0(b) + alpha dz.
        m, h = dz.shape
        z_base = np.broadcast_to(z_base, (m, h))
        path = z_base[:, None, :] + alphas[None, :, None] * dz[:, None, :]
        fwd = chain.forward_from_first(path.reshape(m * n_steps, h), p.last)
        g = np.repeat(p.weights[rows], n_steps, axis=0)
        delta0 = chain.backward(fwd, g, layer=p.last, stage=p.stage)
        mean_delta0 = np.einsum(
            "s,msh->mh", step_weights, delta0.reshape(m, n_steps, h)
        )
        values[rows] = diff * (mean_delta0 @ w0)
        ends = chain.forward_from_first(np.concatenate([z_base + dz, z_base]), p.last)
        both = np.concatenate([p.weights[rows], p.weights[rows]])
        ends_value = weighted(ends, both, p.last, p.stage)
        output[rows], baseline_output[rows] = ends_value[:m], ends_value[m:]
    return _Computed(values, output, baseline_output, reference="baseline")


def _deeplift_step(
    p: _Problem, fx: ForwardTrace, fb: ForwardTrace
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
        secant = np.abs(dz) >= _DEEPLIFT_THRESHOLD
        np.divide(fx.post[i] - fb.post[i], dz, out=slope, where=secant)
        return g * slope

    return step


def _average_jacobian_vjp(
    p: _Problem, act: Any, zx: np.ndarray, zb: np.ndarray, g: np.ndarray
) -> np.ndarray:
    """``g`` times the Jacobian averaged over the segment from ``zb`` to ``zx``.

    For a non-elementwise activation (softmax) the averaged Jacobian ``J``
    satisfies ``J (zx - zb) = f(zx) - f(zb)``, the multi-input analogue of the
    secant slope; the average is taken by Gauss-Legendre with ``n_steps`` nodes.
    """
    alphas, step_weights = _gauss_legendre(p.opts["n_steps"])
    m, k = zx.shape
    path = zb[:, None, :] + alphas[None, :, None] * (zx - zb)[:, None, :]
    path = path.reshape(-1, k)
    gs = np.repeat(g, alphas.size, axis=0)
    vjp = act.vjp(path, act(path), gs).reshape(m, alphas.size, k)
    return np.einsum("s,msk->mk", step_weights, vjp)


def _deeplift(p: _Problem) -> _Computed:
    chain, w0 = p.chain, p.chain.weights[0]
    values = np.empty_like(p.X)
    output = np.empty(p.X.shape[0])
    baseline_output = np.empty(p.X.shape[0])
    softmax_out = p.stage == "post" and not chain.activations[p.last].elementwise
    rows_per_sample = 2 + (p.opts["n_steps"] if softmax_out else 0)
    for rows in p.chunks(rows_per_sample):
        x, b = p.X[rows], p.baseline[rows]
        # A shared baseline runs once; its one-row pass broadcasts over the rows.
        fx, fb = chain.forward(x, p.last), chain.forward(p.baseline_rows(rows), p.last)
        step = _deeplift_step(p, fx, fb)
        delta0 = chain.backward(
            fx, p.weights[rows], layer=p.last, stage=p.stage, step=step
        )
        values[rows] = (x - b) * (delta0 @ w0)
        output[rows] = p.value(fx, rows)
        baseline_output[rows] = p.value(fb, rows)
    return _Computed(values, output, baseline_output, reference="baseline")


def _lrp(p: _Problem) -> _Computed:
    chain = p.chain
    rule = LRP_RULES[p.opts["lrp_rule"]]
    values = np.empty_like(p.X)
    output = np.empty(p.X.shape[0])
    for rows in p.chunks(1):
        x = p.X[rows]
        fwd = chain.forward(x, p.last)
        stage_acts = fwd.pre[p.last] if p.stage == "pre" else fwd.post[p.last]
        relevance = p.weights[rows] * stage_acts
        output[rows] = relevance.sum(axis=1)
        # Relevance passes through each activation unchanged, then through
        # each dense layer by the rule.
        for i in range(p.last, -1, -1):
            a = x if i == 0 else fwd.post[i - 1]
            relevance = rule(
                a, chain.weights[i], chain.biases[i], fwd.pre[i], relevance, p.opts
            )
            if not all_finite(relevance):  # e.g. LRP-0 dividing by a tiny z
                raise chain.overflow(i, "the relevances of its inputs")
        values[rows] = relevance
    return _Computed(values, output, reference="zero")


def _windows(
    input_shape: tuple[int, ...], window: tuple[int, ...], stride: tuple[int, ...]
) -> Any:
    """The occlusion patches as a sparse ``(n_patches, n_features)`` 0/1 matrix.

    Along each axis of length ``L`` the patch starts at ``0, s, 2s, ...`` up to
    the first start that reaches ``L - w``; the last patch is clipped to the
    border (Captum's placement). Returns a ``scipy.sparse.csr_matrix``.
    """
    from scipy import sparse  # only occlusion needs it; keeps the import light

    per_axis = []
    for length, w, s in zip(input_shape, window, stride):
        n_starts = -(-(length - w) // s) + 1  # ceil((L - w) / s) + 1
        per_axis.append(
            [np.arange(k * s, min(k * s + w, length)) for k in range(n_starts)]
        )
    index = np.arange(int(np.prod(input_shape))).reshape(input_shape)
    rows: list[np.ndarray] = []
    for combo in np.ndindex(*(len(a) for a in per_axis)):
        ranges = [per_axis[axis][k] for axis, k in enumerate(combo)]
        rows.append(index[np.ix_(*ranges)].ravel())
    lengths = np.array([r.size for r in rows])
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    cols = np.concatenate(rows)
    data = np.ones(cols.size)
    shape = (len(rows), index.size)
    return sparse.csr_matrix((data, cols, indptr), shape=shape)


def _occlusion(p: _Problem) -> _Computed:
    chain, w0 = p.chain, p.chain.weights[0]
    patches = _windows(p.input_shape, p.opts["window"], p.opts["stride"])
    n_patches, d = patches.shape
    # Patch k's features as a padded index array; index d points at a zero column.
    lengths = np.diff(patches.indptr)
    width = int(lengths.max())
    idx = np.full((n_patches, width), d)
    for k in range(n_patches):
        idx[k, : lengths[k]] = patches.indices[
            patches.indptr[k] : patches.indptr[k + 1]
        ]
    w0_padded = np.vstack([w0.T, np.zeros((1, w0.shape[0]))])  # (d + 1, h)
    w0_patches = w0_padded[idx]  # (n_patches, width, h)
    counts = np.asarray(patches.sum(axis=0)).ravel()
    patches_t = patches.T.tocsr()
    values = np.empty_like(p.X)
    output = np.empty(p.X.shape[0])
    if p.shared_baseline:
        at_base = chain.forward(p.baseline[:1], p.last)
        baseline_output = p.value(at_base, slice(None))
    else:
        baseline_output = p.output_at(p.baseline)
    for rows in p.chunks(n_patches):
        x = p.X[rows]
        m = x.shape[0]
        diff = np.hstack([x - p.baseline[rows], np.zeros((m, 1))])
        # Occluding patch k changes z0 by - sum_{i in k} W0[:, i] (x_i - b_i).
        patch_diff = diff[:, idx].transpose(1, 0, 2)  # (K, m, width)
        change = np.matmul(patch_diff, w0_patches)  # (K, m, h)
        zx = chain.first_pre(x)
        z_occluded = zx[None, :, :] - change
        fwd = chain.forward_from_first(z_occluded.reshape(-1, zx.shape[1]), p.last)
        g = np.tile(p.weights[rows], (n_patches, 1))
        occluded = weighted(fwd, g, p.last, p.stage).reshape(n_patches, m)
        here = p.value(chain.forward_from_first(zx, p.last), rows)
        drop = here[None, :] - occluded  # (K, m)
        # A patch equal to the baseline changes nothing: make that exactly 0,
        # whatever the rounding of the two forward passes.
        drop[~np.any(patch_diff != 0, axis=2)] = 0.0
        values[rows] = (patches_t @ drop).T / counts
        output[rows] = here
    return _Computed(values, output, baseline_output, reference="none")


METHODS: dict[str, Callable[[_Problem], _Computed]] = {
    "gradient": _gradient,
    "gradient_x_input": _gradient_x_input,
    "integrated_gradients": _integrated_gradients,
    "deeplift": _deeplift,
    "lrp": _lrp,
    "occlusion": _occlusion,
}
"""Method name -> implementation."""


# -- argument resolution ----------------------------------------------------------


def _resolve_baseline(
    baseline: Any, n: int, d: int, input_shape: tuple[int, ...]
) -> np.ndarray:
    """The baseline as an ``(n, d)`` float64 array (a view when shared by rows)."""
    if baseline is None:
        return np.broadcast_to(np.zeros(d), (n, d))
    if isinstance(baseline, numbers.Real) and not isinstance(baseline, bool):
        value = check_float(baseline, "baseline")
        return np.broadcast_to(np.full(d, value), (n, d))
    arr = check_array(baseline, "baseline", ndim=tuple(range(0, 2 + len(input_shape))))
    if arr.ndim == 0:
        return np.broadcast_to(np.full(d, float(arr)), (n, d))
    if arr.shape in {(d,), input_shape}:
        return np.broadcast_to(arr.reshape(d), (n, d))
    if arr.shape in {(n, d), (n, *input_shape)}:
        return arr.reshape(n, d)
    raise InvalidParameterError(
        f"`baseline` must be a number, one input of shape ({d},) or {input_shape}, "
        f"or one per row of shape ({n}, {d}) or ({n}, *{input_shape}); got shape "
        f"{arr.shape}"
    )


def _resolve_window(
    value: Any, name: str, input_shape: tuple[int, ...], default: int
) -> tuple[int, ...]:
    if value is None:
        value = default
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (value,) * len(input_shape)
    if not isinstance(value, (tuple, list)) or len(value) != len(input_shape):
        raise InvalidParameterError(
            f"`{name}` must be an integer or a tuple of {len(input_shape)} integers "
            f"(one per axis of the input shape {input_shape}); got {value!r}"
        )
    return tuple(
        check_int(v, f"{name}[{axis}]", minimum=1, maximum=input_shape[axis])
        for axis, v in enumerate(value)
    )


def _check_lrp_model(chain: Chain, lrp_rule: str) -> None:
    allowed = _LRP_HIDDEN_ACTIVATIONS[lrp_rule]
    if allowed is None:
        return
    for i, act in enumerate(chain.activations[:-1]):
        if act.name not in allowed:
            raise InvalidParameterError(
                f"`lrp_rule={lrp_rule!r}` needs ReLU hidden layers (it assumes "
                f"non-negative activations); layer {i} uses {act.name!r}. Use "
                f"lrp_rule='epsilon' for this model"
            )


# -- the public function ----------------------------------------------------------


def attribute(
    model: Any,
    X: Any,
    target: Any = None,
    *,
    method: str = "integrated_gradients",
    stage: str = "pre",
    baseline: Any = None,
    n_steps: int = 50,
    rule: str = "gauss_legendre",
    lrp_rule: str = "epsilon",
    epsilon: float = 1e-6,
    alpha: float = 2.0,
    beta: float = 1.0,
    window: int | tuple[int, ...] | None = None,
    stride: int | tuple[int, ...] | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Attribution:
    """Attribute a model output to the input features, one row at a time.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The model.
    X : array_like, shape ``(n, n_inputs)`` or ``(n, *input_shape)``
        Inputs (a DataFrame or a tensor is fine); a 1-D array is one input.
        A DataFrame's columns become the result's ``feature_names`` (they
        must match the model's ``feature_names`` when it has them).
    target : int, label, array_like or None
        What to attribute: an output position or a class label of any kind
        the model's classes hold (``"dog"``, ``"8"``, ``7``, ``True``; a
        string is always a label, an integer a position unless it is only a
        label) for every row; positions or labels, shape ``(n,)`` (one per
        row); or float weights over the outputs, shape ``(n_outputs,)`` or
        ``(n, n_outputs)``, to attribute ``sum_k w_k f_k`` (a "direction").
        None is allowed for a model with a single output (a binary model's
        positive class). The negative class of a binary model attributes
        minus its one unit (minus the logit with ``stage="pre"``), so its
        attributions are minus the positive class's. Pass ``mlp.predict(X)``
        to attribute each row's predicted class.
    method : str
        One of ``"gradient"``, ``"gradient_x_input"``,
        ``"integrated_gradients"``, ``"deeplift"``, ``"lrp"``, ``"occlusion"``.
    stage : {"pre", "post"}
        Attribute the output layer's pre-activation (the logit, default) or its
        activation (e.g. the softmax probability); see the module
        documentation.
    baseline : float or array_like, optional
        The reference input for ``integrated_gradients``, ``deeplift`` and
        ``occlusion`` (the replacement value): a number, one input (shape
        ``(n_inputs,)`` or ``input_shape``) or one per row (shape of ``X``).
        Default: zeros.
    n_steps : int
        Quadrature nodes for ``integrated_gradients``; also the Gauss-Legendre
        nodes of DeepLIFT's averaged softmax Jacobian (``stage="post"`` on a
        softmax model).
    rule : str
        Integrated-gradients quadrature: ``"gauss_legendre"`` (default),
        ``"riemann_trapezoid"`` (needs ``n_steps >= 2``), ``"riemann_left"``,
        ``"riemann_right"`` or ``"riemann_middle"``.
    lrp_rule : {"epsilon", "zplus", "alpha_beta"}
        LRP propagation rule, used on every layer; ``"zplus"`` and
        ``"alpha_beta"`` need ReLU hidden layers.
    epsilon : float
        LRP stabiliser (``>= 0``; ``0`` gives LRP-0, which divides by the
        pre-activations themselves and is unstable where they are tiny: a
        quotient that overflows raises :class:`~mlpinspect.NumericalError`).
    alpha, beta : float
        Weights of the positive and negative parts for ``"alpha_beta"``
        (relevance is conserved when ``alpha - beta = 1``).
    window : int or tuple of int, optional
        Occlusion patch size along each axis of the model's ``input_shape``
        (an int is used for every axis). Default 1: one feature at a time
        (feature ablation).
    stride : int or tuple of int, optional
        Step between patches along each axis, at most ``window``. Default 1
        (as Captum).
    chunk_size : int, default 8192
        Rows computed at once: samples x steps for integrated gradients,
        samples x patches for occlusion. Bounds the working memory; the
        result does not depend on it.

    Returns
    -------
    Attribution
        ``values`` has the shape of ``X``.

    Raises
    ------
    InvalidParameterError
        For an unknown method or rule (the message lists the known ones), a
        target out of range or an unknown label (named), a baseline of the
        wrong shape, inputs of the wrong layout (a row with the right number
        of values suggests ``input_shape=``) or ``"zplus"`` /
        ``"alpha_beta"`` on a model with non-ReLU hidden layers.
    NumericalError
        When values overflow although the model and inputs are finite (huge
        weights, or inputs a float32 model cannot run); the message names the
        layer.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> mlp = MLP([Dense([[1.0, -1.0], [0.5, 2.0]], [0.0, -1.0], "relu"),
    ...            Dense([[1.0, 2.0]], [0.5], "identity")])
    >>> X = np.array([[2.0, 1.0]])
    >>> result = attribute(mlp, X, 0, method="deeplift")
    >>> result.values
    array([[3.33333333, 1.66666667]])
    >>> float(result.output[0] - result.baseline_output[0])
    5.0
    >>> attribute(mlp, X, 0, method="gradient").values
    array([[2., 3.]])

    A class label names the output; the negative class of a binary model is
    minus its one unit:

    >>> binary = MLP([Dense([[1.0, -2.0]], [0.5], "sigmoid")],
    ...              class_names=["no", "yes"])
    >>> attribute(binary, X, "yes", method="gradient_x_input").values
    array([[ 2., -2.]])
    >>> attribute(binary, X, "no", method="gradient_x_input").values
    array([[-2.,  2.]])
    """
    mlp = adapt(model).check_finite()
    method = check_choice(method, "method", METHODS)
    stage = check_choice(stage, "stage", ("pre", "post"))
    chunk_size = check_chunk_size(chunk_size)
    inputs = check_input(mlp, X, dtype=np.float64)
    X2, original_shape = inputs.values, inputs.shape
    n, d = X2.shape
    weights, stored_target = resolve_target(mlp, target, n)
    chain = Chain(mlp)

    opts: dict[str, Any] = {}
    base: np.ndarray | None = None
    if method == "integrated_gradients":
        opts["rule"] = check_choice(rule, "rule", QUADRATURE_RULES)
        min_steps = QUADRATURE_RULES[opts["rule"]][1]
        opts["n_steps"] = check_int(n_steps, "n_steps", minimum=min_steps)
    if method == "deeplift":
        opts["n_steps"] = check_int(n_steps, "n_steps", minimum=1)
    if method == "lrp":
        opts["lrp_rule"] = check_choice(lrp_rule, "lrp_rule", LRP_RULES)
        opts["epsilon"] = check_float(epsilon, "epsilon", minimum=0.0)
        if opts["lrp_rule"] == "zplus":
            opts["alpha"], opts["beta"] = 1.0, 0.0
        elif opts["lrp_rule"] == "alpha_beta":
            opts["alpha"] = check_float(alpha, "alpha", minimum=0.0)
            opts["beta"] = check_float(beta, "beta", minimum=0.0)
        _check_lrp_model(chain, opts["lrp_rule"])
    if method == "occlusion":
        shape = mlp.input_shape
        opts["window"] = _resolve_window(window, "window", shape, 1)
        opts["stride"] = _resolve_window(stride, "stride", shape, 1)
        for axis, (length, w, s) in enumerate(
            zip(shape, opts["window"], opts["stride"])
        ):
            if s > w and w < length:
                raise InvalidParameterError(
                    f"`stride[{axis}]` must be at most the window ({w}) so that every "
                    f"feature is occluded; got {s}"
                )
    if method in ("integrated_gradients", "deeplift", "occlusion"):
        base = _resolve_baseline(baseline, n, d, mlp.input_shape)
    elif method == "gradient_x_input":
        base = np.broadcast_to(np.zeros(d), (n, d))

    problem = _Problem(
        chain=chain,
        X=X2,
        weights=weights,
        stage=stage,
        baseline=base if base is not None else np.broadcast_to(np.zeros(d), (n, d)),
        chunk_size=chunk_size,
        input_shape=mlp.input_shape,
        opts=opts,
    )
    _check_model_arithmetic(mlp, X2, base, chunk_size)
    # Overflow anywhere (forward, backward, LRP) raises a NumericalError naming
    # the layer; numpy's warnings would only repeat it.
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        computed = METHODS[method](problem)
        error = _completeness_error(computed)
    _check_computed(chain, computed, error, method)

    baseline_view = None
    if base is not None:
        # A read-only view: no copy, and the caller's own array stays writeable.
        baseline_view = base.reshape(original_shape).view()
        baseline_view.flags.writeable = False
    return Attribution(
        values=computed.values.reshape(original_shape),
        method=method,
        target=stored_target,
        output=computed.output,
        baseline=baseline_view,
        baseline_output=computed.baseline_output,
        completeness_error=error,
        stage=stage,
        input_shape=mlp.input_shape,
        options=MappingProxyType(opts),
        inputs=_read_only(X2.reshape(original_shape)),
        feature_names=inputs.feature_names,
    )


def _completeness_error(computed: _Computed) -> np.ndarray | None:
    """Sum of the attributions minus the change of output they explain."""
    if computed.reference == "baseline":
        assert computed.baseline_output is not None
        explained = computed.output - computed.baseline_output
        return computed.values.sum(axis=1) - explained
    if computed.reference == "zero":
        return computed.values.sum(axis=1) - computed.output
    return None


def _check_computed(
    chain: Chain, computed: _Computed, error: np.ndarray | None, method: str
) -> None:
    """Raise a NumericalError naming the layer if a result left float64's range."""
    outputs = [computed.output, computed.baseline_output]
    if not all(v is None or all_finite(v) for v in outputs):
        raise chain.overflow(chain.n_layers - 1, "the attributed outputs")
    if not all_finite(computed.values):
        raise chain.overflow(0, f"the {method} attributions of its inputs")
    if error is not None and not all_finite(error):
        raise chain.overflow(0, f"the sums of the {method} attributions")


def _check_model_arithmetic(
    mlp: Any, X: np.ndarray, base: np.ndarray | None, chunk_size: int
) -> None:
    """Refuse inputs on which a float32 model itself overflows.

    Attributions are computed on the model's float64 copy, which could give
    finite numbers for inputs the model (in its own dtype) cannot run; its
    forward pass raises a NumericalError naming the layer instead.
    """
    if mlp.dtype == np.float64:
        return
    points = [X]
    if base is not None:
        shared = base.shape[0] <= 1 or base.strides[0] == 0
        points.append(base[:1] if shared else base)
    for Z in points:
        for start in range(0, Z.shape[0], chunk_size):
            mlp.propagate(Z[start : start + chunk_size].astype(mlp.dtype), keep=False)


def _read_only(arr: np.ndarray) -> np.ndarray:
    view = arr.view()
    view.flags.writeable = False
    return view
