"""Layer-wise relevance propagation: rules per layer, and named composites.

Relevance starts at the output layer as ``w_k * z_k`` (``stage="pre"``) or
``w_k * a_k`` (``stage="post"``) and passes unchanged through every
activation (as in Captum and Zennit); through each dense layer (inputs ``a``,
weights ``W``, bias ``b``, pre-activation ``z = W a + b``) it is redistributed
by that layer's rule. A rule is a small record (:class:`LRPRule`) in one
table, :data:`LRP_RULES`; a composite chooses one rule per layer; the presets
in :data:`LRP_PRESETS` are Zennit's composites, read for a multilayer
perceptron.

Passing relevance through an activation unchanged keeps its meaning only when
the activation preserves sign (``z f(z) >= 0``: identity, ReLU, leaky ReLU,
tanh); for others (sigmoid, softmax) LRP is refused, as Captum refuses them.
The z+, alpha-beta and gamma rules assume non-negative inputs: after the
first layer, the activation before them must be non-negative (ReLU).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import numpy as np

from ..._validation import all_finite, check_array
from ...errors import InvalidParameterError
from .._backprop import Chain
from .._batches import zero_divide
from ._options import Custom, Option, Real
from ._problem import Computed, Problem
from ._registry import register_method

__all__ = ["LRP_PRESETS", "LRP_RULES", "LRPRule", "register_lrp_rule"]

Propagate = Callable[
    [np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, Mapping[str, Any]],
    np.ndarray,
]


@dataclass(frozen=True)
class LRPRule:
    """One LRP rule for a dense layer.

    Attributes
    ----------
    name : str
        The name composites use, e.g. ``"gamma"``.
    propagate : callable
        ``propagate(a, weight, bias, z, relevance, params)``: the relevance of
        the layer's inputs ``a`` (shape ``(m, n_in)``) from the relevance of
        its units (``(m, n_out)``); ``weight`` is ``(n_out, n_in)``, ``z`` the
        pre-activation, ``params`` the LRP options (``epsilon``, ``gamma``,
        ...).
    summary : str
        The formula, for the documentation.
    params : tuple of str
        The options the rule reads.
    nonnegative_inputs : bool
        True when the rule assumes non-negative inputs: on any layer but the
        first, the activation before it must be non-negative.
    first_layer_only : bool
        True for a rule about the input domain (the box rule).

    Examples
    --------
    >>> import numpy as np
    >>> rule = LRP_RULES["epsilon"]
    >>> a, W = np.array([[1.0, 2.0]]), np.array([[1.0, 1.0]])
    >>> rule.propagate(a, W, np.zeros(1), a @ W.T, np.array([[3.0]]),
    ...                {"epsilon": 0.0})
    array([[1., 2.]])
    """

    name: str
    propagate: Propagate
    summary: str
    params: tuple[str, ...] = ("epsilon",)
    nonnegative_inputs: bool = False
    first_layer_only: bool = False


_RULES: dict[str, LRPRule] = {}

LRP_RULES: Mapping[str, LRPRule] = MappingProxyType(_RULES)
"""The LRP rules by name (read-only)."""


def register_lrp_rule(rule: LRPRule) -> LRPRule:
    """Make an LRP rule available to composites by its name (replacing a rule
    of the same name).

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect.analysis.attribution import LRPRule, register_lrp_rule
    >>> halve = LRPRule("halve", lambda a, W, b, z, R, params: 0.5 * (R @ W),
    ...                 "R_i = sum_j W_ji R_j / 2", params=())
    >>> register_lrp_rule(halve).name
    'halve'
    """
    if not isinstance(rule, LRPRule):
        raise InvalidParameterError(
            f"`rule` must be an LRPRule; got {type(rule).__name__}"
        )
    _RULES[rule.name] = rule
    return rule


def _stabilise(den: np.ndarray, epsilon: float) -> np.ndarray:
    """``den + epsilon * sign(den)`` with ``sign(0) = 1`` (Zennit's ``stabilize``)."""
    return den + epsilon * np.where(den >= 0, 1.0, -1.0)


def _epsilon(a, weight, bias, z, relevance, params):
    """``R_i = a_i sum_j W_ji R_j / (z_j + eps sign(z_j))``; bias in ``z_j``."""
    return a * (zero_divide(relevance, _stabilise(z, params["epsilon"])) @ weight)


def _zero(a, weight, bias, z, relevance, params):
    """LRP-0: the epsilon rule with ``epsilon = 0``."""
    return a * (zero_divide(relevance, z) @ weight)


def _split(a: np.ndarray, weight: np.ndarray) -> tuple[np.ndarray, ...]:
    return (
        np.maximum(a, 0.0),
        np.minimum(a, 0.0),
        np.maximum(weight, 0.0),
        np.minimum(weight, 0.0),
    )


def _alpha_beta_with(
    a: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray,
    relevance: np.ndarray,
    alpha: float,
    beta: float,
    eps: float,
) -> np.ndarray:
    """Split ``z_ij = a_i W_ji`` into positive and negative parts.

    ``(a w)^+ = a^+ w^+ + a^- w^-`` and ``(a w)^- = a^+ w^- + a^- w^+``, so the
    sums over ``i`` are four matrix products, whatever the signs of ``a``.
    """
    a_pos, a_neg, w_pos, w_neg = _split(a, weight)
    z_pos = a_pos @ w_pos.T + a_neg @ w_neg.T + np.maximum(bias, 0.0) + eps
    s_pos = zero_divide(relevance, z_pos)
    result = alpha * (a_pos * (s_pos @ w_pos) + a_neg * (s_pos @ w_neg))
    if beta != 0:
        z_neg = a_pos @ w_neg.T + a_neg @ w_pos.T + np.minimum(bias, 0.0) - eps
        s_neg = zero_divide(relevance, z_neg)
        result -= beta * (a_pos * (s_neg @ w_neg) + a_neg * (s_neg @ w_pos))
    return result


def _zplus(a, weight, bias, z, relevance, params):
    return _alpha_beta_with(a, weight, bias, relevance, 1.0, 0.0, params["epsilon"])


def _alpha_beta(a, weight, bias, z, relevance, params):
    alpha, beta = params["alpha"], params["beta"]
    return _alpha_beta_with(a, weight, bias, relevance, alpha, beta, params["epsilon"])


def _alpha2_beta1(a, weight, bias, z, relevance, params):
    return _alpha_beta_with(a, weight, bias, relevance, 2.0, 1.0, params["epsilon"])


def _gamma(a, weight, bias, z, relevance, params):
    """The generalised gamma rule (Zennit's ``Gamma``).

    Units with ``z_j > 0`` pass relevance along ``a^+ (W + g W^+) + a^- (W +
    g W^-)``, those with ``z_j < 0`` along ``a^+ (W + g W^-) + a^- (W + g
    W^+)``; the denominators are these sums plus the bias ``b + g b^+`` (resp.
    ``b + g b^-``), stabilised by ``epsilon``. Units with ``z_j = 0`` pass
    nothing.
    """
    g, eps = params["gamma"], params["epsilon"]
    a_pos, a_neg, w_pos, w_neg = _split(a, weight)
    up, down = weight + g * w_pos, weight + g * w_neg  # (W + g W^+), (W + g W^-)
    den_pos = a_pos @ up.T + a_neg @ down.T + bias + g * np.maximum(bias, 0.0)
    den_neg = a_pos @ down.T + a_neg @ up.T + bias + g * np.minimum(bias, 0.0)
    s_pos = np.where(z > 0, zero_divide(relevance, _stabilise(den_pos, eps)), 0.0)
    s_neg = np.where(z < 0, zero_divide(relevance, _stabilise(den_neg, eps)), 0.0)
    return a_pos * (s_pos @ up + s_neg @ down) + a_neg * (s_pos @ down + s_neg @ up)


def _box(a, weight, bias, z, relevance, params):
    """The z^B rule for inputs in ``[low, high]`` (Zennit's ``ZBox``):
    ``R_i = sum_j (a_i W_ji - l_i W_ji^+ - h_i W_ji^-) R_j / den_j``; the bias
    cancels from the denominator."""
    low, high = params["low"], params["high"]
    w_pos, w_neg = np.maximum(weight, 0.0), np.minimum(weight, 0.0)
    den = a @ weight.T - low @ w_pos.T - high @ w_neg.T
    s = zero_divide(relevance, _stabilise(den, params["epsilon"]))
    return a * (s @ weight) - low * (s @ w_pos) - high * (s @ w_neg)


def _w_square(a, weight, bias, z, relevance, params):
    """``R_i = sum_j W_ji^2 R_j / (sum_i W_ji^2 + b_j^2)`` (Zennit's ``WSquare``)."""
    w2 = weight * weight
    den = w2.sum(axis=1) + bias * bias
    s = zero_divide(relevance, _stabilise(den, params["epsilon"]))
    return np.broadcast_to(s @ w2, a.shape).copy()


def _flat(a, weight, bias, z, relevance, params):
    """``R_i = sum_j R_j / n_in`` (Zennit's ``Flat``)."""
    den = np.full(weight.shape[0], float(weight.shape[1]))
    s = zero_divide(relevance, _stabilise(den, params["epsilon"]))
    return np.broadcast_to(s.sum(axis=1, keepdims=True), a.shape).copy()


for _rule in (
    LRPRule(
        "epsilon",
        _epsilon,
        "R_i = a_i sum_j W_ji R_j / (z_j + eps sign(z_j))",
    ),
    LRPRule("zero", _zero, "LRP-0: R_i = a_i sum_j W_ji R_j / z_j", params=()),
    LRPRule(
        "zplus",
        _zplus,
        "R_i = sum_j (a_i W_ji)^+ R_j / (sum_i (a_i W_ji)^+ + b_j^+ + eps)",
        nonnegative_inputs=True,
    ),
    LRPRule(
        "alpha_beta",
        _alpha_beta,
        "alpha (positive share) - beta (negative share) of each z_ij = a_i W_ji",
        params=("epsilon", "alpha", "beta"),
        nonnegative_inputs=True,
    ),
    LRPRule(
        "alpha2_beta1",
        _alpha2_beta1,
        "alpha_beta with alpha = 2, beta = 1",
        nonnegative_inputs=True,
    ),
    LRPRule(
        "gamma",
        _gamma,
        "positive weights favoured by the factor 1 + gamma",
        params=("epsilon", "gamma"),
        nonnegative_inputs=True,
    ),
    LRPRule(
        "box",
        _box,
        "z^B: R_i = sum_j (a_i W_ji - l_i W_ji^+ - h_i W_ji^-) R_j / den_j",
        params=("epsilon", "low", "high"),
        first_layer_only=True,
    ),
    LRPRule("w_square", _w_square, "R_i = sum_j W_ji^2 R_j / sum_i W_ji^2"),
    LRPRule("flat", _flat, "R_i = sum_j R_j / n_inputs"),
):
    register_lrp_rule(_rule)


#: preset -> (first layer's rule, hidden layers' rule, output layer's rule)
LRP_PRESETS: Mapping[str, tuple[str, str, str]] = MappingProxyType(
    {
        "epsilon_plus": ("zplus", "zplus", "epsilon"),
        "epsilon_alpha2_beta1": ("alpha2_beta1", "alpha2_beta1", "epsilon"),
        "epsilon_gamma_box": ("box", "gamma", "epsilon"),
        "epsilon_plus_flat": ("flat", "zplus", "epsilon"),
        "epsilon_alpha2_beta1_flat": ("flat", "alpha2_beta1", "epsilon"),
    }
)
"""Zennit's composites for an MLP: Zennit gives its convolutions (the feature
layers) the first two rules and its dense layers (the classifier) epsilon;
here every layer but the output is a feature layer. A one-layer model gets
epsilon."""


def layer_rules(spec: Any, n_layers: int, name: str = "lrp_rule") -> tuple[str, ...]:
    """One rule name per layer from a rule, a preset, a list or a mapping."""
    if isinstance(spec, str):
        if spec in LRP_PRESETS:
            first, hidden, last = LRP_PRESETS[spec]
            if n_layers == 1:
                return ("epsilon",)
            return (first, *[hidden] * (n_layers - 2), last)
        return (_rule_name(spec, name),) * n_layers
    if isinstance(spec, Mapping):
        rules = ["epsilon"] * n_layers
        for key, value in spec.items():
            if isinstance(key, bool) or not isinstance(key, (int, np.integer)):
                raise InvalidParameterError(
                    f"`{name}` given as a mapping must map layer indices to rules; "
                    f"got the key {key!r}"
                )
            if not -n_layers <= key < n_layers:
                raise InvalidParameterError(
                    f"`{name}` names layer {key}, but the model has {n_layers} "
                    f"layers (0..{n_layers - 1}, or negative from the end)"
                )
            rules[int(key) % n_layers] = _rule_name(value, f"{name}[{key}]")
        return tuple(rules)
    if isinstance(spec, Sequence):
        if len(spec) != n_layers:
            raise InvalidParameterError(
                f"`{name}` given as a list must have one rule per layer "
                f"({n_layers}); got {len(spec)}"
            )
        return tuple(_rule_name(v, f"{name}[{i}]") for i, v in enumerate(spec))
    raise InvalidParameterError(
        f"`{name}` must be a rule name, a preset name, a list of rules (one per "
        f"layer) or a mapping layer -> rule; got {type(spec).__name__}"
    )


def _rule_name(value: Any, name: str) -> str:
    if isinstance(value, str) and value in _RULES:
        return value
    rules = ", ".join(repr(r) for r in _RULES)
    presets = ", ".join(repr(p) for p in LRP_PRESETS)
    raise InvalidParameterError(
        f"`{name}` must be an LRP rule ({rules}) or, for all layers, a preset "
        f"({presets}); got {value!r}"
    )


def _check_spec(value: Any, name: str) -> Any:
    if isinstance(value, str):
        if value not in LRP_PRESETS:
            _rule_name(value, name)
        return value
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, Sequence) and not isinstance(value, bytes):
        return tuple(value)
    raise InvalidParameterError(
        f"`{name}` must be a rule name, a preset name, a list of rules (one per "
        f"layer) or a mapping layer -> rule; got {type(value).__name__}"
    )


def _check_bound(value: Any, name: str) -> Any:
    if value is None:
        return None
    return check_array(value, name, ndim=(0, 1, 2, 3))


def _check_activations(chain: Chain, rules: tuple[str, ...], stage: str) -> None:
    """Refuse layers whose activations the chosen rules cannot pass through."""
    last = chain.n_layers - 1
    passes = list(range(last)) + ([last] if stage == "post" else [])
    for i in passes:
        act = chain.activations[i]
        if not (act.elementwise and act.sign_preserving):
            where = "the output layer (stage='post')" if i == last else f"layer {i}"
            raise InvalidParameterError(
                f"LRP passes relevance through each activation unchanged, which "
                f"keeps its meaning only for sign-preserving elementwise "
                f"activations (z f(z) >= 0: identity, ReLU, leaky ReLU, tanh); "
                f"{where} uses {act.name!r}. Use method='deeplift' or "
                f"'integrated_gradients' for this model"
                + (", or stage='pre'" if i == last else "")
            )
    for i, name in enumerate(rules):
        rule = _RULES[name]
        if rule.first_layer_only and i != 0:
            raise InvalidParameterError(
                f"the LRP rule {name!r} is for the first layer only (it bounds the "
                f"input domain); layer {i} was given it"
            )
        if rule.nonnegative_inputs and i > 0:
            act = chain.activations[i - 1]
            if not act.nonnegative:
                raise InvalidParameterError(
                    f"the LRP rule {name!r} on layer {i} assumes non-negative "
                    f"inputs, but layer {i - 1} uses {act.name!r}, which can be "
                    f"negative. Use 'epsilon' there (or a model with ReLU hidden "
                    f"layers)"
                )


def _bound(value: Any, name: str, input_shape: tuple[int, ...]) -> np.ndarray:
    d = int(np.prod(input_shape))
    if value is None:
        raise InvalidParameterError(
            f"the LRP rule 'box' needs `low` and `high`, the smallest and largest "
            f"possible input values (e.g. low=0.0, high=1.0 for pixels); `{name}` "
            f"is missing"
        )
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim == 0:
        return np.full(d, float(arr))
    if arr.shape in {(d,), input_shape}:
        return arr.reshape(d)
    raise InvalidParameterError(
        f"`{name}` must be a number or one value per input feature, shape ({d},) "
        f"or {input_shape}; got shape {arr.shape}"
    )


def _prepare(mlp: Any, stage: str, options: dict[str, Any]) -> dict[str, Any]:
    chain = Chain(mlp)
    rules = layer_rules(options["lrp_rule"], chain.n_layers)
    _check_activations(chain, rules, stage)
    spec = options["lrp_rule"]
    resolved: dict[str, Any] = {
        "lrp_rule": spec if isinstance(spec, str) else rules,
        "layer_rules": rules,
    }
    used = {p for r in rules for p in _RULES[r].params}
    for param in ("epsilon", "alpha", "beta", "gamma"):
        if param in used:
            resolved[param] = options[param]
    if "low" in used:
        low = _bound(options["low"], "low", tuple(mlp.input_shape))
        high = _bound(options["high"], "high", tuple(mlp.input_shape))
        if np.any(low > high):
            raise InvalidParameterError(
                "`low` must be <= `high` for every input feature (the box rule's "
                "input domain)"
            )
        low.flags.writeable = high.flags.writeable = False
        resolved["low"], resolved["high"] = low, high
    return resolved


@register_method(
    name="lrp",
    summary=(
        "Layer-wise relevance propagation, one rule per layer (epsilon, z+, "
        "alpha-beta, gamma, box, w^2, flat) or a preset"
    ),
    options=(
        Option(
            "lrp_rule",
            "epsilon",
            Custom(_check_spec, "a rule, a preset, a list or a mapping"),
            "a rule for every layer, a preset (Zennit's composites), a list of "
            "rules (one per layer) or a mapping layer -> rule",
            aliases=("composite",),
        ),
        Option("epsilon", 1e-6, Real(0.0), "stabiliser (0: LRP-0)"),
        Option("alpha", 2.0, Real(0.0), "weight of the positive parts (alpha_beta)"),
        Option("beta", 1.0, Real(0.0), "weight of the negative parts (alpha_beta)"),
        Option("gamma", 0.25, Real(0.0), "favour of positive weights (gamma)"),
        Option(
            "low", None, Custom(_check_bound, "number or array"), "box: lowest input"
        ),
        Option(
            "high", None, Custom(_check_bound, "number or array"), "box: highest input"
        ),
    ),
    baseline="none",
    completeness="output",
    captum="LRP(model).attribute(X, target=t)  (EpsilonRule on every Linear)",
    prepare=_prepare,
)
def lrp(p: Problem) -> Computed:
    """LRP relevances, which sum to ``f(x)`` up to what the biases absorb."""
    chain = p.chain
    rules = [_RULES[name].propagate for name in p.options["layer_rules"]]
    if "low" in p.options:
        _check_domain(p.X, p.options["low"], p.options["high"])
    values = np.empty_like(p.X)
    output = np.empty(p.n_samples)
    for rows in p.chunks(1):
        x = p.X[rows]
        fwd = chain.forward(x, p.last)
        acts = fwd.pre[p.last] if p.stage == "pre" else fwd.post[p.last]
        relevance = p.weights[rows] * acts
        output[rows] = relevance.sum(axis=1)
        for i in range(p.last, -1, -1):
            a = x if i == 0 else fwd.post[i - 1]
            relevance = rules[i](
                a, chain.weights[i], chain.biases[i], fwd.pre[i], relevance, p.options
            )
            if not all_finite(relevance):  # e.g. LRP-0 dividing by a tiny z
                raise chain.overflow(i, "the relevances of its inputs")
        values[rows] = relevance
    return Computed(values, output)


def _check_domain(X: np.ndarray, low: np.ndarray, high: np.ndarray) -> None:
    outside = (low > X) | (high < X)
    if outside.any():
        row, col = np.argwhere(outside)[0]
        raise InvalidParameterError(
            f"the box rule needs every input within [low, high]; `X` row {row}, "
            f"feature {col} is {float(X[row, col])!r}, outside "
            f"[{float(low[col])!r}, {float(high[col])!r}]"
        )
