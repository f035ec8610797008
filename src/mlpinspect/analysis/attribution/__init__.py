"""Attribution of a model's output to its input features (pixels).

One function, :func:`attribute`, computes every method and returns one result
type, :class:`Attribution`, whose ``values`` have the shape of ``X``::

    result = attribute(model, X, target, method="integrated_gradients")

Each method is a registered record (:class:`AttributionMethod`): the function
that computes it, its options with their checks (:class:`Option`), the kind of
baseline it takes and what its attributions add up to. :data:`METHODS` holds
them; :func:`register_method` adds one. :func:`iter_attribute` yields one
result per batch of a stream (a PyTorch ``DataLoader``, say), with memory
bounded by the batch.

Which output is attributed
--------------------------
``target`` selects an output unit (a position or a class label, for every row
or one per row), a weighted sum of output units (a float vector of weights,
the "direction" ``sum_k w_k f_k``), each row's predicted class
(``"predicted"``), each row's label in a stream of ``(X_batch, y_batch)``
pairs (``"labels"``) or whatever a callable returns for each batch. A binary
model has one output unit, the positive class's; its negative class is the
direction ``-1`` on that unit (the negative class's logit is minus the
positive one's), so its attributions are minus the positive class's.
``stage="pre"`` (the default) attributes the output layer's *pre-activation*
(the logit), ``stage="post"`` its activation (e.g. the softmax probability or
the sigmoid output).

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
row, the sum of the attributions minus the change of the output it explains
(the record's ``completeness``: ``"baseline"`` for ``f(x) - f(b)``,
``"output"`` for ``f(x)``):

- ``gradient``, ``occlusion``, ``noise_tunnel``, ``gradient_shap``: no such
  property (``None``); the last two are complete only in expectation.
- ``gradient_x_input``: ``sum - (f(x) - f(0))``; zero for bias-free networks
  of ReLU, leaky ReLU and identity layers (``f`` is then positively
  homogeneous, and Euler's theorem gives ``x . grad f(x) = f(x)``).
- ``integrated_gradients``: ``sum - (f(x) - f(b))``; zero to rounding with the
  exact rule, else zero in the limit of many steps (Gauss-Legendre converges
  fast on smooth sigmoid and tanh networks; on ReLU networks the integrand
  jumps, and every quadrature converges like ``1/n_steps``).
- ``deeplift``: ``sum - (f(x) - f(b))``; zero to rounding (for a softmax with
  ``stage="post"``, to the quadrature error of its averaged Jacobian).
- ``lrp``: ``sum - f(x)`` (relevance conservation); zero for LRP-0
  (``epsilon=0``), and for ``zplus`` / ``alpha_beta`` with ``alpha - beta =
  1`` when every unit has positive (and negative) contributions, on bias-free
  networks: a bias absorbs its share of the relevance. The box rule passes
  none to the bias.

Exact integrated gradients
--------------------------
On a network whose hidden layers are piecewise linear (ReLU, leaky ReLU,
identity: activations whose record lists their ``kinks``), every
pre-activation is piecewise affine along the straight path from the baseline,
and the gradient is constant between the points where a unit crosses a kink.
``rule="exact"`` finds these points layer by layer (on each piece found so
far, the next layer's pre-activation is affine, so a crossing is where its
values at the two ends change sign, by linear interpolation) and sums each
piece's length times the gradient at its midpoint: the integral, exact up to
rounding. With ``stage="post"`` and a smooth elementwise output activation
the output's step on each piece is its exact mean slope (the secant). It is
what ``rule="auto"`` (the default) picks for such networks;
``result.options["rule"]`` says which rule ran. Every quadrature converges
like ``1/n_steps`` on ReLU networks: on random 20-16-16-5 ReLU networks 200
Gauss-Legendre steps leave completeness errors of ``1e-3`` to ``1e-2`` and
2,000 steps ten times less, where the exact rule leaves ``1e-15``
(``tests/analysis/test_attribution_exact.py`` checks completeness to
``1e-12`` relative and agreement with 100,000 Riemann steps). The cost is
one gradient per piece, a few dozen per input on MNIST-sized networks.

LRP: rules per layer
--------------------
Relevance starts at the output layer as ``w_k * z_k`` (``stage="pre"``) or
``w_k * a_k`` (``stage="post"``) for the target weights ``w`` and passes
unchanged through every activation (as in Captum and Zennit). Through a dense
layer with inputs ``a``, weights ``W``, bias ``b`` and pre-activation
``z = W a + b`` each rule of :data:`LRP_RULES` redistributes it:

- ``"epsilon"``: ``R_i = a_i sum_j W_ji R_j / (z_j + epsilon sign(z_j))`` with
  ``sign(0) = 1``; the bias is part of ``z_j``, so it absorbs the share
  ``b_j / z_j`` of ``R_j``. ``"zero"`` (LRP-0) is ``epsilon = 0``: a unit with
  ``z_j = 0`` passes no relevance.
- ``"alpha_beta"``: with the contributions ``z_ij = a_i W_ji`` split into
  positive and negative parts, ``R_i = sum_j (alpha z_ij^+ / z_j^+ - beta z_ij^-
  / z_j^-) R_j`` where ``z_j^+ = sum_i z_ij^+ + b_j^+ + epsilon`` and
  ``z_j^- = sum_i z_ij^- + b_j^- - epsilon``; ``"zplus"`` is ``alpha=1,
  beta=0`` and ``"alpha2_beta1"`` is ``alpha=2, beta=1``. Written on
  contributions ``(a_i W_ji)^+``, it equals the classic ``W^+`` rule wherever
  the inputs are non-negative and stays defined for inputs of any sign.
- ``"gamma"`` (generalised, as Zennit's ``Gamma``): for ``z_j > 0`` relevance
  flows along ``a^+ (W + gamma W^+) + a^- (W + gamma W^-)``, for ``z_j < 0``
  along ``a^+ (W + gamma W^-) + a^- (W + gamma W^+)``, each normalised by its
  sum plus ``b + gamma b^+`` (resp. ``b + gamma b^-``).
- ``"box"`` (z^B, Zennit's ``ZBox``, first layer only): for inputs in
  ``[low, high]``, ``R_i = sum_j (a_i W_ji - l_i W_ji^+ - h_i W_ji^-) R_j /
  sum_i (...)``.
- ``"w_square"``: ``R_i = sum_j W_ji^2 R_j / (sum_i W_ji^2 + b_j^2)``;
  ``"flat"``: ``R_i = sum_j R_j / n_inputs``.

Every denominator other than LRP-0's is stabilised by ``epsilon`` (``+
epsilon sign``). ``lrp_rule`` (alias ``composite``) chooses the rules: one
rule for every layer, a list with one rule per layer, a mapping ``{layer:
rule}`` (other layers: epsilon) or a preset of :data:`LRP_PRESETS`. The
presets are Zennit's composites read for a multilayer perceptron: Zennit
gives its convolutions (the feature layers) z+, alpha2-beta1 or gamma (with
the box rule on the first) and its dense classifier layers epsilon; in an
MLP every layer but the output one is a feature layer:

- ``"epsilon_plus"``: z+ on every layer but the output, epsilon on the output;
- ``"epsilon_alpha2_beta1"``: alpha2-beta1, then epsilon on the output;
- ``"epsilon_gamma_box"``: box on the first layer (give ``low`` and
  ``high``), gamma on the other hidden layers, epsilon on the output;
- ``"epsilon_plus_flat"``, ``"epsilon_alpha2_beta1_flat"``: the flat rule on
  the first layer.

Relevance passes unchanged through activations, which keeps its meaning only
for sign-preserving ones (``z f(z) >= 0``: identity, ReLU, leaky ReLU, tanh;
the activation record's ``sign_preserving``). LRP refuses other hidden
activations (sigmoid, softmax) naming the layer, as Captum does: on the
study's sigmoid network the epsilon rule would divide by pre-activations that
are often negative while the unit's output is positive, flipping the sign of
the relevance passed down. The z+, alpha-beta and gamma rules assume
non-negative inputs, so after the first layer they need a non-negative
activation before them (``nonnegative``: ReLU).

Randomised methods
------------------
``noise_tunnel`` (SmoothGrad; ``nt_type`` ``"smoothgrad"``,
``"smoothgrad_sq"`` or ``"vargrad"``) runs any registered method
(``base_method``, default ``"gradient"``, with its own options) on
``nt_samples`` copies of each input with Gaussian noise of standard deviation
``stdevs`` added, and averages. ``gradient_shap`` (expected gradients) draws,
``n_samples`` times per input, a baseline from a distribution (``baseline``
of shape ``(K, n_inputs)``, e.g. training images), a point ``alpha`` uniform
in ``[0, 1]`` and optional input noise, and averages ``(x - b) * grad f(b +
alpha (x - b))``: integrated gradients averaged over the distribution. Both
draw from named streams of one ``seed``, row after row, so a result does not
depend on ``chunk_size`` or on the batches of a stream; the seed used is in
``result.options["seed"]``. Explicit draws (``noise``, ``indices``,
``alphas``, one row per input) replace the random ones.

Compared with Captum
--------------------
``tests/analysis/test_captum.py`` runs every method and Captum 0.9 on the same
float64 ``torch.nn.Sequential`` model (``Linear`` layers and activation
modules) and checks agreement; below, "measured" is the largest relative
difference seen over several random networks, "tested" the tolerance the
tests assert. The :doc:`/guide/captum` page maps Captum's calls to ours.

- ``gradient`` = ``Saliency(abs=False)`` (Captum's default ``abs=True`` takes
  absolute values); ``gradient_x_input`` = ``InputXGradient``: measured
  ``1e-15``, tested ``1e-12``.
- ``integrated_gradients`` = ``IntegratedGradients``: ``gauss_legendre`` is
  Captum's ``"gausslegendre"`` (either spelling is accepted),
  ``riemann_left/right/middle`` are Captum's rules of the same names. Captum
  rounds the quadrature weights (and the Riemann nodes) to float32, so even
  in float64 the two differ by up to ``5e-9`` (Gauss-Legendre) and ``4e-8``
  (Riemann); tested ``1e-6``. Captum's ``"riemann_trapezoid"`` is not the
  trapezoid rule: its weights are ``1/n`` (halved at both ends), which sum to
  ``(n - 1)/n``, so it under-counts the integral by the factor ``(n - 1)/n``.
  mlpinspect's weights are ``1/(n - 1)`` (halved at the ends) and sum to 1;
  the two agree after scaling Captum's result by ``n/(n - 1)``. Captum has no
  exact rule; on ReLU networks mlpinspect's default is exact, so pass
  ``rule="gauss_legendre"`` to compare.
- ``deeplift`` = ``DeepLift`` (rescale; activations as ``nn.Module``; Captum's
  threshold ``1e-10`` on ``|z - z'|`` below which the gradient is used) on
  networks of ReLU, leaky ReLU, tanh, sigmoid and identity layers: measured
  ``5e-15``, tested ``1e-9``. Captum's multiplier for ``nn.Softmax`` is not the
  rescale rule (it rescales each unit as if the softmax were elementwise,
  then subtracts the mean over the *whole batch*), so its attributions do not
  sum to ``f(x) - f(b)`` and depend on the other rows of the batch;
  mlpinspect uses the averaged Jacobian, which keeps completeness.
  Attributing the logit (``stage="pre"``) avoids the question.
- ``lrp`` with ``lrp_rule="epsilon"`` = ``LRP`` with its default rules
  (``EpsilonRule`` on ``nn.Linear``, relevance passed through ``nn.ReLU`` and
  ``nn.Tanh``) given the same ``epsilon`` (Captum's default is ``1e-9``,
  mlpinspect's ``1e-6``) on ReLU and tanh networks: measured ``5e-16``,
  tested ``1e-12``. Both refuse ``nn.Sigmoid`` and ``nn.Softmax`` layers.
  ``lrp_rule="zplus"`` = Captum's ``Alpha1_Beta0_Rule`` on every
  ``nn.Linear`` when the input and the biases are non-negative (measured
  ``5e-16``); Captum keeps the whole bias, not its positive part, in the
  denominator, and has no general alpha-beta, gamma or box rule. Captum's
  convergence delta for LRP has the opposite sign (``f(x) - sum``).
- ``occlusion`` = ``FeatureAblation`` for the default one-feature window
  (measured ``2e-15``, tested ``1e-12``) and ``Occlusion`` with the same
  ``sliding_window_shapes`` and ``strides`` otherwise. Windows are placed as
  in Captum: at multiples of the stride until one reaches the border, the
  last one clipped. Captum casts the summed drops to float32 before dividing
  by the number of windows (``single_attrib.float() / weight``), so with
  overlapping windows the two differ by up to ``5e-8``; tested ``1e-6``.
- ``noise_tunnel`` = ``NoiseTunnel`` and ``gradient_shap`` = ``GradientShap``
  given the same draws (the tests pass the draws Captum makes): tested
  ``1e-12``. Captum draws with numpy's and torch's global generators;
  mlpinspect from its own seeded streams.

Speed
-----
Everything is vectorised over samples and steps, in chunks of at most
``chunk_size`` rows. The first layer is linear in the input, so the
integrated-gradients path, every occlusion patch and every expected-gradients
draw need one small product with the first weight matrix per input, not one
per step: the steps run through the hidden layers only. Occlusion skips the
patches where the input equals the baseline (blank pixels). See
``benchmarks/analysis_speed.py`` for the ratios against Captum on the same
model, measured side by side.
"""

from __future__ import annotations

# Each module registers its methods; the order here is the registry's (and the
# docs' table's) order.
# isort: off
from . import _gradient  # noqa: F401
from . import _integrated_gradients  # noqa: F401
from . import _deeplift  # noqa: F401
from . import _lrp  # noqa: F401
from . import _occlusion  # noqa: F401
from . import _noise_tunnel  # noqa: F401

# isort: on
from ._core import DEFAULT_CHUNK_SIZE, MEMORY_LIMIT, attribute, iter_attribute
from ._lrp import LRP_PRESETS, LRP_RULES, LRPRule, register_lrp_rule
from ._options import Array, Choice, Constraint, Custom, Integer, Option, Real, Seed
from ._problem import Computed, Problem, RandomStreams
from ._quadrature import QUADRATURE_RULES
from ._registry import (
    METHODS,
    AttributionMethod,
    get_method,
    register_method,
    registered_methods,
    unregister_method,
)
from ._result import Attribution

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "LRP_PRESETS",
    "LRP_RULES",
    "MEMORY_LIMIT",
    "METHODS",
    "QUADRATURE_RULES",
    "Array",
    "Attribution",
    "AttributionMethod",
    "Choice",
    "Computed",
    "Constraint",
    "Custom",
    "Integer",
    "LRPRule",
    "Option",
    "Problem",
    "RandomStreams",
    "Real",
    "Seed",
    "attribute",
    "get_method",
    "iter_attribute",
    "register_lrp_rule",
    "register_method",
    "registered_methods",
    "unregister_method",
]
