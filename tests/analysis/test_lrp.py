"""LRP rules per layer, composites and presets.

Each rule is re-derived here in explicit form (loops over units, the Zennit
habit) and compared with the vectorised rule on random layers; a tiny network
is worked out by hand for every rule; the presets give the rules they promise;
and the refusals name the layer and the reason.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlpinspect import MLP, Dense, InvalidParameterError, attribute
from mlpinspect.analysis.attribution import LRP_PRESETS, LRP_RULES

# ---------------------------------------------------------------------------
# Explicit forms, one unit and one input at a time.
# ---------------------------------------------------------------------------


def stab(den, eps):
    return den + eps * (1.0 if den >= 0 else -1.0)


def share(num, den):
    return 0.0 if den == 0 else num / den


def slow_rule(name, a, W, b, R, p):
    """Relevance of the inputs of one dense layer for one sample (explicit)."""
    n_out, n_in = W.shape
    z = W @ a + b
    out = np.zeros(n_in)
    eps = p.get("epsilon", 0.0)
    for j in range(n_out):
        if name in ("epsilon", "zero"):
            den = stab(z[j], eps) if name == "epsilon" else z[j]
            for i in range(n_in):
                out[i] += share(a[i] * W[j, i] * R[j], den)
        elif name in ("zplus", "alpha_beta", "alpha2_beta1"):
            alpha, beta = {
                "zplus": (1.0, 0.0),
                "alpha2_beta1": (2.0, 1.0),
                "alpha_beta": (p.get("alpha"), p.get("beta")),
            }[name]
            c = [a[i] * W[j, i] for i in range(n_in)]
            pos = sum(max(v, 0.0) for v in c) + max(b[j], 0.0) + eps
            neg = sum(min(v, 0.0) for v in c) + min(b[j], 0.0) - eps
            for i in range(n_in):
                out[i] += alpha * share(max(c[i], 0.0) * R[j], pos)
                if beta:
                    out[i] -= beta * share(min(c[i], 0.0) * R[j], neg)
        elif name == "gamma":
            g = p["gamma"]
            if z[j] == 0:
                continue
            sign = 1.0 if z[j] > 0 else -1.0
            c = []
            for i in range(n_in):
                w, wp, wn = W[j, i], max(W[j, i], 0.0), min(W[j, i], 0.0)
                favoured = wp if sign > 0 else wn  # the sign that z_j has
                other = wn if sign > 0 else wp
                c.append(
                    max(a[i], 0.0) * (w + g * favoured)
                    + min(a[i], 0.0) * (w + g * other)
                )
            bias = b[j] + g * (max(b[j], 0.0) if sign > 0 else min(b[j], 0.0))
            den = stab(sum(c) + bias, eps)
            for i in range(n_in):
                out[i] += share(c[i] * R[j], den)
        elif name == "box":
            lo, hi = p["low"], p["high"]
            c = [
                a[i] * W[j, i] - lo[i] * max(W[j, i], 0.0) - hi[i] * min(W[j, i], 0.0)
                for i in range(n_in)
            ]
            den = stab(sum(c), eps)
            for i in range(n_in):
                out[i] += share(c[i] * R[j], den)
        elif name == "w_square":
            den = stab(sum(W[j, i] ** 2 for i in range(n_in)) + b[j] ** 2, eps)
            for i in range(n_in):
                out[i] += share(W[j, i] ** 2 * R[j], den)
        elif name == "flat":
            for i in range(n_in):
                out[i] += share(R[j], stab(float(n_in), eps))
        else:  # pragma: no cover
            raise AssertionError(name)
    return out


PARAMS = {"epsilon": 1e-3, "alpha": 3.0, "beta": 2.0, "gamma": 0.4}


@pytest.mark.parametrize("name", sorted(LRP_RULES))
@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("nonnegative", [True, False])
def test_each_rule_matches_its_explicit_form(name, seed, nonnegative):
    rng = np.random.default_rng(seed)
    n_in, n_out, m = 5, 4, 3
    W = rng.normal(size=(n_out, n_in))
    b = rng.normal(size=n_out)
    a = rng.normal(size=(m, n_in))
    if nonnegative:
        a = np.abs(a)
    R = rng.normal(size=(m, n_out))
    params = dict(PARAMS)
    params["low"] = a.min(axis=0) - rng.random(n_in)
    params["high"] = a.max(axis=0) + rng.random(n_in)
    z = a @ W.T + b
    fast = LRP_RULES[name].propagate(a, W, b, z, R, params)
    slow = np.array([slow_rule(name, a[k], W, b, R[k], params) for k in range(m)])
    np.testing.assert_allclose(fast, slow, rtol=1e-12, atol=1e-12)


# ---------------------------------------------------------------------------
# A network worked out by hand.
# ---------------------------------------------------------------------------

# x = (1, 2); layer 0: z0 = [1 - 2 + 0, 2 + 2 - 1] = [-1, 3], relu -> a0 = [0, 3]
# layer 1: z1 = 1*0 + 2*3 + 0.5 = 6.5 (stage "pre": the relevance to share).
# The output layer (epsilon = 0) passes a0_j W1_j R / z1 = [0, 6]; the bias keeps
# 0.5. Unit 0 of layer 0 gets nothing, unit 1 gets 6; below, how each rule on
# layer 0 shares those 6 between x_0 = 1 and x_1 = 2 (W0 row 1 = [2, 1]).
HAND = MLP(
    [
        Dense([[1.0, -1.0], [2.0, 1.0]], [0.0, -1.0], "relu"),
        Dense([[1.0, 2.0]], [0.5], "identity"),
    ]
)
X_HAND = np.array([[1.0, 2.0]])


@pytest.mark.parametrize(
    ("first", "extra", "expected"),
    [
        # contributions x_i W_1i = [2, 2] over z = 3 (the bias -1 keeps -2)
        ("zero", {}, [4.0, 4.0]),
        # positive contributions [2, 2] over their sum 4 (b^+ = 0)
        ("zplus", {}, [3.0, 3.0]),
        # twice the positive shares; no negative contribution
        ("alpha2_beta1", {}, [6.0, 6.0]),
        # (W + 0.5 W^+) x = [3, 3] over 6 + b = 5
        ("gamma", {"gamma": 0.5}, [3.6, 3.6]),
        # x_i W_i - l_i W_i^+ = [2 + 2, 2 + 1] = [4, 3] over 7 (low = -1)
        ("box", {"low": -1.0, "high": 3.0}, [24 / 7, 18 / 7]),
        # W^2 of unit 1 = [4, 1] over 4 + 1 + b^2 = 6
        ("w_square", {}, [4.0, 1.0]),
        # 6 / 2 inputs
        ("flat", {}, [3.0, 3.0]),
    ],
)
def test_rules_on_a_network_worked_out_by_hand(first, extra, expected):
    result = attribute(
        HAND, X_HAND, 0, method="lrp", lrp_rule=[first, "zero"], epsilon=0.0, **extra
    )
    np.testing.assert_allclose(result.values, [expected], rtol=1e-14)
    assert result.options["layer_rules"] == (first, "zero")
    np.testing.assert_allclose(result.output, [6.5])


def test_presets_on_the_hand_network():
    # Two layers: the first gets the preset's first rule, the output epsilon.
    box = attribute(
        HAND, X_HAND, 0, method="lrp", composite="epsilon_gamma_box",
        low=-1.0, high=3.0, epsilon=0.0,
    )  # fmt: skip
    np.testing.assert_allclose(box.values, [[24 / 7, 18 / 7]], rtol=1e-14)
    assert box.options["layer_rules"] == ("box", "epsilon")
    plus = attribute(HAND, X_HAND, 0, method="lrp", composite="epsilon_plus")
    np.testing.assert_allclose(plus.values, [[3.0, 3.0]], rtol=1e-5)
    assert plus.options["lrp_rule"] == "epsilon_plus"


@pytest.mark.parametrize(
    ("preset", "expected"),
    [
        ("epsilon_plus", ("zplus", "zplus", "zplus", "epsilon")),
        (
            "epsilon_alpha2_beta1",
            ("alpha2_beta1", "alpha2_beta1", "alpha2_beta1", "epsilon"),
        ),
        ("epsilon_gamma_box", ("box", "gamma", "gamma", "epsilon")),
        ("epsilon_plus_flat", ("flat", "zplus", "zplus", "epsilon")),
        (
            "epsilon_alpha2_beta1_flat",
            ("flat", "alpha2_beta1", "alpha2_beta1", "epsilon"),
        ),
    ],
)
def test_presets_choose_a_rule_per_layer(preset, expected):
    rng = np.random.default_rng(0)
    sizes = [6, 5, 5, 4, 3]
    mlp = MLP(
        [
            Dense(rng.normal(size=(o, i)), rng.normal(size=o), "relu")
            for i, o in zip(sizes[:-2], sizes[1:-1])
        ]
        + [Dense(rng.normal(size=(3, 4)), rng.normal(size=3), "identity")]
    )
    X = rng.random((4, 6))
    result = attribute(mlp, X, 1, method="lrp", lrp_rule=preset, low=0.0, high=1.0)
    assert result.options["layer_rules"] == expected
    assert set(LRP_PRESETS) >= {preset}
    # the same rules given as a list give the same relevances
    listed = attribute(
        mlp, X, 1, method="lrp", lrp_rule=list(expected), low=0.0, high=1.0
    )
    np.testing.assert_array_equal(listed.values, result.values)


def test_one_layer_models_get_epsilon_from_every_preset():
    mlp = MLP([Dense([[1.0, 2.0]], [0.0], "identity")])
    for preset in LRP_PRESETS:
        result = attribute(mlp, [[1.0, 1.0]], 0, method="lrp", lrp_rule=preset)
        assert result.options["layer_rules"] == ("epsilon",)


def test_a_mapping_sets_some_layers_and_the_rest_get_epsilon():
    rng = np.random.default_rng(1)
    mlp = MLP(
        [
            Dense(rng.normal(size=(4, 3)), np.zeros(4), "relu"),
            Dense(rng.normal(size=(4, 4)), np.zeros(4), "relu"),
            Dense(rng.normal(size=(2, 4)), np.zeros(2), "identity"),
        ]
    )
    X = rng.random((2, 3))
    result = attribute(mlp, X, 0, method="lrp", lrp_rule={0: "w_square", -2: "zplus"})
    assert result.options["layer_rules"] == ("w_square", "zplus", "epsilon")


def test_gamma_zero_is_the_epsilon_rule():
    rng = np.random.default_rng(2)
    W, b = rng.normal(size=(4, 5)), rng.normal(size=4)
    a, R = rng.normal(size=(3, 5)), rng.normal(size=(3, 4))
    z = a @ W.T + b
    params = {"gamma": 0.0, "epsilon": 1e-6}
    np.testing.assert_allclose(
        LRP_RULES["gamma"].propagate(a, W, b, z, R, params),
        LRP_RULES["epsilon"].propagate(a, W, b, z, R, params),
        rtol=1e-12,
    )


@pytest.mark.parametrize("seed", range(4))
def test_box_rule_conserves_relevance_whatever_the_bias(seed):
    rng = np.random.default_rng(seed)
    W, b = rng.normal(size=(4, 5)), rng.normal(size=4) * 3
    a = rng.random((3, 5))
    R = rng.normal(size=(3, 4))
    params = {"low": np.zeros(5), "high": np.ones(5), "epsilon": 0.0}
    out = LRP_RULES["box"].propagate(a, W, b, a @ W.T + b, R, params)
    np.testing.assert_allclose(out.sum(axis=1), R.sum(axis=1), rtol=1e-12)


# ---------------------------------------------------------------------------
# Refusals: which rule applies where.
# ---------------------------------------------------------------------------


def mlp_with(hidden, output="identity"):
    rng = np.random.default_rng(3)
    return MLP(
        [
            Dense(rng.normal(size=(4, 3)), rng.normal(size=4), hidden),
            Dense(rng.normal(size=(2, 4)), rng.normal(size=2), output),
        ]
    )


@pytest.mark.parametrize("hidden", ["sigmoid"])
def test_lrp_refuses_activations_that_flip_the_sign(hidden):
    with pytest.raises(
        InvalidParameterError, match=r"sign-preserving.*layer 0 uses 'sigmoid'"
    ):
        attribute(mlp_with(hidden), np.ones((1, 3)), 0, method="lrp")


@pytest.mark.parametrize("output", ["sigmoid", "softmax"])
def test_lrp_refuses_a_squashing_output_with_stage_post(output):
    mlp = mlp_with("relu", output)
    attribute(mlp, np.ones((1, 3)), 0, method="lrp")  # the logit is fine
    with pytest.raises(InvalidParameterError, match=r"output layer.*or stage='pre'"):
        attribute(mlp, np.ones((1, 3)), 0, method="lrp", stage="post")


@pytest.mark.parametrize("rule", ["zplus", "alpha_beta", "alpha2_beta1", "gamma"])
def test_rules_for_nonnegative_inputs_refuse_tanh_layers_before_them(rule):
    mlp = mlp_with("tanh")
    attribute(mlp, np.ones((1, 3)), 0, method="lrp")  # epsilon is fine on tanh
    attribute(mlp, np.ones((1, 3)), 0, method="lrp", lrp_rule=[rule, "epsilon"])
    with pytest.raises(
        InvalidParameterError, match=rf"{rule}.*layer 1.*layer 0 uses 'tanh'"
    ):
        attribute(mlp, np.ones((1, 3)), 0, method="lrp", lrp_rule=rule)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lrp_rule": ["epsilon", "box"]}, r"'box' is for the first layer only"),
        ({"lrp_rule": ["box", "epsilon"]}, r"'box' needs `low` and `high`"),
        (
            {"lrp_rule": ["box", "epsilon"], "low": 1.0, "high": 0.0},
            r"`low` must be <= `high`",
        ),
        (
            {"lrp_rule": ["box", "epsilon"], "low": 0.0, "high": 0.5},
            r"within \[low, high\]; `X` row 0, feature 0 is 1.0",
        ),
        (
            {"lrp_rule": ["box", "epsilon"], "low": [0.0, 0.0], "high": 1.0},
            r"`low` must be a number or one value per input feature",
        ),
        ({"lrp_rule": ["epsilon"]}, r"one rule per layer \(2\); got 1"),
        ({"lrp_rule": {2: "zplus"}}, r"names layer 2, but the model has 2 layers"),
        ({"lrp_rule": {"first": "zplus"}}, r"layer indices to rules; got the key"),
        ({"lrp_rule": ["epsilon", "gama"]}, r"`lrp_rule\[1\]` must be an LRP rule"),
        ({"lrp_rule": 3}, r"`lrp_rule` must be a rule name, a preset name"),
        ({"composite": "epsilon", "lrp_rule": "zplus"}, r"same option"),
        ({"gamma": -1.0}, r"`gamma` must be >= 0"),
    ],
)
def test_bad_composites_are_named(kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        attribute(mlp_with("relu"), np.ones((1, 3)), 0, method="lrp", **kwargs)
