"""LRP presets and rules against Zennit on the same float64 model.

Zennit assigns rules by module type: its composites give convolutions (the
feature layers) z+, alpha2-beta1, gamma or box and dense layers epsilon. The
torch model below writes the MLP's hidden layers as 1x1 ``Conv1d`` so that
Zennit treats them as feature layers, which is how mlpinspect's presets read
Zennit's composites for an MLP. Zennit's output relevance is the
"gradient" it is given, so it gets the one-hot target times the logits.
Skipped when Zennit (which needs torchvision) is not installed.
"""

from __future__ import annotations

import numpy as np
import pytest

from mlpinspect import MLP, Dense, attribute

torch = pytest.importorskip("torch")
zennit_composites = pytest.importorskip("zennit.composites")
zennit_attribution = pytest.importorskip("zennit.attribution")
zennit_core = pytest.importorskip("zennit.core")
zennit_rules = pytest.importorskip("zennit.rules")
nn = torch.nn


class _Column(nn.Module):
    def forward(self, x):
        return x[:, :, None]


def _conv(weight, bias):
    conv = nn.Conv1d(weight.shape[1], weight.shape[0], 1).double()
    with torch.no_grad():
        conv.weight.copy_(torch.from_numpy(weight[:, :, None]))
        conv.bias.copy_(torch.from_numpy(bias))
    return conv


def _linear(weight, bias):
    linear = nn.Linear(weight.shape[1], weight.shape[0]).double()
    with torch.no_grad():
        linear.weight.copy_(torch.from_numpy(weight))
        linear.bias.copy_(torch.from_numpy(bias))
    return linear


def _zennit(model, composite, X, target, n_outputs):
    x = torch.from_numpy(X).requires_grad_()
    with zennit_attribution.Gradient(model=model, composite=composite) as attributor:
        logits = model(x).detach()
        one_hot = torch.eye(n_outputs, dtype=torch.float64)[[target] * len(X)]
        _, relevance = attributor(x, one_hot * logits)
    return relevance.detach().numpy()


@pytest.fixture
def network():
    rng = np.random.default_rng(0)
    sizes = [6, 5, 4, 3]
    Ws = [rng.normal(size=(o, i)) for i, o in zip(sizes[:-1], sizes[1:])]
    bs = [rng.normal(size=o) for o in sizes[1:]]
    mlp = MLP(
        [
            Dense(Ws[0], bs[0], "relu"),
            Dense(Ws[1], bs[1], "relu"),
            Dense(Ws[2], bs[2], "identity"),
        ]
    )
    model = nn.Sequential(
        _Column(), _conv(Ws[0], bs[0]), nn.ReLU(), _conv(Ws[1], bs[1]), nn.ReLU(),
        nn.Flatten(), _linear(Ws[2], bs[2]),
    ).eval()  # fmt: skip
    X = rng.normal(size=(4, 6)) * 0.5
    return mlp, model, X


PRESETS = [
    ("EpsilonPlus", "epsilon_plus", {}),
    ("EpsilonAlpha2Beta1", "epsilon_alpha2_beta1", {}),
    ("EpsilonGammaBox", "epsilon_gamma_box", {"low": -2.0, "high": 2.0}),
    ("EpsilonPlusFlat", "epsilon_plus_flat", {}),
    ("EpsilonAlpha2Beta1Flat", "epsilon_alpha2_beta1_flat", {}),
]


@pytest.mark.parametrize(("zennit_name", "preset", "bounds"), PRESETS)
def test_presets_equal_zennits_composites(network, zennit_name, preset, bounds):
    mlp, model, X = network
    kwargs = {"epsilon": 1e-6}
    if bounds:
        shape = (1, 6, 1)
        kwargs.update(
            low=torch.full(shape, bounds["low"], dtype=torch.float64),
            high=torch.full(shape, bounds["high"], dtype=torch.float64),
        )
    composite = getattr(zennit_composites, zennit_name)(**kwargs)
    theirs = _zennit(model, composite, X, 1, 3)
    ours = attribute(mlp, X, 1, method="lrp", lrp_rule=preset, epsilon=1e-6, **bounds)
    np.testing.assert_allclose(
        ours.values, theirs, rtol=0, atol=1e-12 * np.abs(theirs).max()
    )


@pytest.mark.parametrize(
    ("rule", "name"), [("WSquare", "w_square"), ("Gamma", "gamma")]
)
def test_first_layer_rules_equal_zennits(rule, name):
    rng = np.random.default_rng(1)
    mlp = MLP(
        [
            Dense(rng.normal(size=(5, 6)), rng.normal(size=5), "relu"),
            Dense(rng.normal(size=(3, 5)), rng.normal(size=3), "identity"),
        ]
    )
    first = _linear(np.array(mlp.layers[0].weight), np.array(mlp.layers[0].bias))
    last = _linear(np.array(mlp.layers[1].weight), np.array(mlp.layers[1].bias))
    model = nn.Sequential(first, nn.ReLU(), last).eval()
    hooks = {
        id(first): getattr(zennit_rules, rule)(),
        id(last): zennit_rules.Epsilon(1e-6),
    }

    def module_map(ctx, name, module):
        if isinstance(module, nn.ReLU):
            return zennit_rules.Pass()
        return hooks.get(id(module))

    composite = zennit_core.Composite(module_map=module_map)
    X = rng.normal(size=(4, 6))
    theirs = _zennit(model, composite, X, 1, 3)
    ours = attribute(mlp, X, 1, method="lrp", lrp_rule=[name, "epsilon"], epsilon=1e-6)
    np.testing.assert_allclose(
        ours.values, theirs, rtol=0, atol=1e-12 * np.abs(theirs).max()
    )
