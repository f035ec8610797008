"""Every attribution method against Captum on the same float64 torch model.

The torch model is an ``nn.Sequential`` of ``nn.Linear`` layers and activation
*modules* (Captum's DeepLift and LRP hook modules, not functional calls). It
ends with the output activation for ``stage="post"`` and without it for
``stage="pre"``. Tolerances and conventions are documented in
:mod:`mlpinspect.analysis.attribution` ("Compared with Captum").
"""

from __future__ import annotations

import numpy as np
import pytest

from mlpinspect import MLP, Dense, InvalidParameterError, infidelity, max_sensitivity
from mlpinspect.analysis.attribution import attribute

torch = pytest.importorskip("torch")
captum_attr = pytest.importorskip("captum.attr")
nn = torch.nn

pytestmark = pytest.mark.filterwarnings(
    # Captum warns about inputs without requires_grad and about hooks it sets.
    "ignore::UserWarning"
)


def _module(name: str):
    if name.startswith("leaky_relu"):
        return nn.LeakyReLU(float(name[len("leaky_relu(") : -1]))
    return {
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "sigmoid": nn.Sigmoid,
        "softmax": lambda: nn.Softmax(dim=1),
    }[name]()


def torch_model(mlp: MLP, stage: str):
    """The same network in torch (float64), ending with the activation for "post"."""
    modules = []
    last = len(mlp.layers) - 1
    for i, dense in enumerate(mlp.layers):
        linear = nn.Linear(dense.n_in, dense.n_out).double()
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(dense.weight)))
            linear.bias.copy_(torch.from_numpy(np.array(dense.bias)))
        modules.append(linear)
        if dense.activation != "identity" and (i < last or stage == "post"):
            modules.append(_module(dense.activation))
    return nn.Sequential(*modules).eval()


def random_mlp(seed, sizes, activations, bias=True):
    rng = np.random.default_rng(seed)
    layers = []
    for (n_in, n_out), act in zip(zip(sizes[:-1], sizes[1:]), activations):
        w = rng.normal(size=(n_out, n_in)) / np.sqrt(n_in) * 1.5
        b = rng.normal(size=n_out) * 0.5 if bias else np.zeros(n_out)
        layers.append(Dense(w, b, act))
    return MLP(layers)


def data(seed, n_inputs, n=6, positive=False):
    rng = np.random.default_rng(seed + 100)
    X = rng.uniform(0, 1, (n, n_inputs)) if positive else rng.normal(size=(n, n_inputs))
    B = rng.normal(size=(n, n_inputs)) * 0.3
    return X, B


def t(array):
    return torch.from_numpy(np.ascontiguousarray(array))


def assert_close(ours, theirs, rtol):
    theirs = theirs.detach().numpy()
    size = np.abs(theirs).max()
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=rtol * max(size, 1e-12))


NETWORKS = {
    "tanh-relu-sigmoid": ([7, 6, 5, 3], ["tanh", "relu", "sigmoid"]),
    "sigmoid-softmax": ([7, 5, 4], ["sigmoid", "softmax"]),
    "relu-leaky-identity": ([7, 6, 5, 3], ["relu", "leaky_relu(0.1)", "identity"]),
    "tanh": ([7, 4], ["tanh"]),
}


CASES = [
    pytest.param(sizes, acts, stage, id=f"{name}-{stage}")
    for name, (sizes, acts) in NETWORKS.items()
    for stage in ("pre", "post")
]


@pytest.mark.parametrize(("sizes", "acts", "stage"), CASES)
def test_gradient_and_gradient_x_input(sizes, acts, stage):
    mlp = random_mlp(0, sizes, acts)
    X, _ = data(0, sizes[0])
    target = np.arange(len(X)) % sizes[-1]
    model = torch_model(mlp, stage)
    ours = attribute(mlp, X, target, method="gradient", stage=stage).values
    theirs = captum_attr.Saliency(model).attribute(t(X), target=t(target), abs=False)
    assert_close(ours, theirs, 1e-12)
    ours = attribute(mlp, X, target, method="gradient_x_input", stage=stage).values
    theirs = captum_attr.InputXGradient(model).attribute(t(X), target=t(target))
    assert_close(ours, theirs, 1e-12)


@pytest.mark.parametrize(("sizes", "acts", "stage"), CASES)
@pytest.mark.parametrize(
    ("rule", "captum_rule"),
    [
        ("gauss_legendre", "gausslegendre"),
        ("riemann_left", "riemann_left"),
        ("riemann_right", "riemann_right"),
        ("riemann_middle", "riemann_middle"),
    ],
)
def test_integrated_gradients(sizes, acts, stage, rule, captum_rule):
    mlp = random_mlp(1, sizes, acts)
    X, B = data(1, sizes[0])
    target = np.arange(len(X)) % sizes[-1]
    ours = attribute(
        mlp, X, target, stage=stage, baseline=B, n_steps=20, rule=rule
    ).values
    theirs = captum_attr.IntegratedGradients(torch_model(mlp, stage)).attribute(
        t(X), baselines=t(B), target=t(target), n_steps=20, method=captum_rule
    )
    # Captum's spellings and argument names are accepted as they are.
    same = attribute(
        mlp, X, target, stage=stage, baselines=B, n_steps=20, rule=captum_rule,
        internal_batch_size=7,
    ).values  # fmt: skip
    np.testing.assert_allclose(same, ours, rtol=1e-12, atol=1e-15)
    # Captum rounds its quadrature weights (and Riemann nodes) to float32.
    assert_close(ours, theirs, 1e-6)


def test_captum_trapezoid_undercounts_by_n_minus_1_over_n():
    sizes, acts = NETWORKS["tanh-relu-sigmoid"]
    mlp = random_mlp(2, sizes, acts)
    X, B = data(2, sizes[0])
    n = 10
    ours = attribute(mlp, X, 0, baseline=B, n_steps=n, rule="riemann_trapezoid").values
    theirs = captum_attr.IntegratedGradients(torch_model(mlp, "pre")).attribute(
        t(X), baselines=t(B), target=0, n_steps=n, method="riemann_trapezoid"
    )
    assert_close(ours, theirs * n / (n - 1), 1e-6)
    assert not np.allclose(ours, theirs.detach().numpy(), rtol=1e-3)


@pytest.mark.parametrize(("sizes", "acts", "stage"), CASES)
def test_deeplift(sizes, acts, stage):
    if stage == "post" and acts[-1] == "softmax":
        pytest.skip("Captum's softmax multiplier differs; see the next test")
    mlp = random_mlp(3, sizes, acts)
    X, B = data(3, sizes[0])
    target = np.arange(len(X)) % sizes[-1]
    ours = attribute(mlp, X, target, method="deeplift", stage=stage, baseline=B)
    theirs = captum_attr.DeepLift(torch_model(mlp, stage)).attribute(
        t(X), baselines=t(B), target=t(target)
    )
    assert_close(ours.values, theirs, 1e-9)


def test_deeplift_through_softmax_keeps_completeness_where_captum_does_not():
    sizes, acts = NETWORKS["sigmoid-softmax"]
    mlp = random_mlp(4, sizes, acts)
    X, B = data(4, sizes[0])
    ours = attribute(mlp, X, 1, method="deeplift", stage="post", baseline=B)
    assert np.all(np.abs(ours.completeness_error) < 1e-10)
    _, delta = captum_attr.DeepLift(torch_model(mlp, "post")).attribute(
        t(X), baselines=t(B), target=1, return_convergence_delta=True
    )
    # Captum: sum(attributions) - (f(x) - f(b)), far from zero here.
    assert np.abs(delta.detach().numpy()).max() > 1e-3


@pytest.mark.parametrize(
    ("sizes", "acts"),
    [
        ([7, 6, 5, 3], ["relu", "tanh", "identity"]),
        ([7, 6, 3], ["tanh", "tanh"]),
        ([7, 6, 5, 3], ["relu", "relu", "relu"]),
    ],
)
@pytest.mark.parametrize("stage", ["pre", "post"])
def test_lrp_epsilon(sizes, acts, stage):
    mlp = random_mlp(5, sizes, acts)
    X, _ = data(5, sizes[0])
    target = np.arange(len(X)) % sizes[-1]
    ours = attribute(mlp, X, target, method="lrp", stage=stage, epsilon=1e-9)
    lrp = captum_attr.LRP(torch_model(mlp, stage))
    theirs, delta = lrp.attribute(t(X), target=t(target), return_convergence_delta=True)
    assert_close(ours.values, theirs, 1e-12)
    # Captum's delta is f(x) - sum, the opposite sign of ours.
    np.testing.assert_allclose(
        ours.completeness_error, -delta.detach().numpy(), atol=1e-12
    )


@pytest.mark.parametrize(
    ("sizes", "acts"),
    [([7, 6, 3], ["sigmoid", "identity"]), ([7, 6, 3], ["relu", "softmax"])],
)
def test_lrp_refuses_what_captum_refuses(sizes, acts):
    mlp = random_mlp(5, sizes, acts)
    X, _ = data(5, sizes[0])
    stage = "post" if acts[-1] == "softmax" else "pre"
    with pytest.raises(Exception, match=r"has no rule defined"):
        captum_attr.LRP(torch_model(mlp, stage)).attribute(t(X), target=0)
    with pytest.raises(InvalidParameterError, match="sign-preserving"):
        attribute(mlp, X, 0, method="lrp", stage=stage)


@pytest.mark.parametrize("bias", [False, True])
def test_lrp_zplus(bias):
    from captum.attr._utils.lrp_rules import Alpha1_Beta0_Rule

    mlp = random_mlp(6, [7, 6, 5, 3], ["relu", "relu", "identity"], bias=bias)
    if bias:  # Captum keeps the whole bias; we keep its positive part.
        mlp = MLP([Dense(d.weight, np.abs(d.bias), d.activation) for d in mlp.layers])
    X, _ = data(6, 7, positive=True)
    ours = attribute(mlp, X, 2, method="lrp", lrp_rule="zplus", epsilon=1e-9)
    model = torch_model(mlp, "pre")
    for module in model:
        if isinstance(module, nn.Linear):
            module.rule = Alpha1_Beta0_Rule()
    theirs = captum_attr.LRP(model).attribute(t(X), target=2)
    assert_close(ours.values, theirs, 1e-9)


@pytest.mark.parametrize(("sizes", "acts", "stage"), CASES)
def test_feature_ablation(sizes, acts, stage):
    mlp = random_mlp(7, sizes, acts)
    X, B = data(7, sizes[0])
    target = np.arange(len(X)) % sizes[-1]
    ours = attribute(mlp, X, target, method="occlusion", stage=stage, baseline=B)
    theirs = captum_attr.FeatureAblation(torch_model(mlp, stage)).attribute(
        t(X), baselines=t(B), target=t(target)
    )
    assert_close(ours.values, theirs, 1e-12)


@pytest.mark.parametrize(
    ("window", "stride"), [((2, 3), (2, 3)), ((3, 3), (1, 2)), ((4, 2), (3, 1))]
)
def test_occlusion_on_images(window, stride):
    rng = np.random.default_rng(8)
    mlp = MLP(
        [
            Dense(rng.normal(size=(6, 35)) / 6, rng.normal(size=6), "sigmoid"),
            Dense(rng.normal(size=(3, 6)), rng.normal(size=3), "identity"),
        ],
        input_shape=(5, 7),
    )
    X = rng.random((4, 5, 7))
    B = np.full((5, 7), 0.25)
    ours = attribute(
        mlp, X, 1, method="occlusion", baseline=B, window=window, stride=stride
    )
    image_model = nn.Sequential(nn.Flatten(), torch_model(mlp, "pre"))
    theirs = captum_attr.Occlusion(image_model).attribute(
        t(X),
        baselines=0.25,
        target=1,
        sliding_window_shapes=window,
        strides=stride,
    )
    # Captum divides float32-rounded sums by the window counts.
    assert_close(ours.values, theirs, 1e-6)


# ---------------------------------------------------------------------------
# Randomised methods, given Captum's draws.
# ---------------------------------------------------------------------------


@pytest.fixture
def captum_draws(monkeypatch):
    """Make Captum draw what the test says: ``torch.normal`` (NoiseTunnel's
    noise), ``np.random.choice`` (GradientShap's baselines) and
    ``np.random.uniform`` (its points on the paths) return given arrays."""
    given = {}
    real_normal = torch.normal

    def normal(mean, std, *args, **kwargs):
        if "noise" not in given:
            return real_normal(mean, std, *args, **kwargs)
        noise = torch.from_numpy(given["noise"].reshape(std.shape))
        return noise.to(std.dtype)

    monkeypatch.setattr(torch, "normal", normal)
    monkeypatch.setattr(np.random, "choice", lambda n, size: given["indices"].ravel())
    monkeypatch.setattr(
        np.random, "uniform", lambda low, high, size: given["alphas"].ravel()
    )
    return given


@pytest.mark.parametrize("nt_type", ["smoothgrad", "smoothgrad_sq", "vargrad"])
@pytest.mark.parametrize(("sizes", "acts", "stage"), CASES[:4])
def test_noise_tunnel_over_saliency_equals_captum(
    captum_draws, nt_type, sizes, acts, stage
):
    mlp = random_mlp(11, sizes, acts)
    X, _ = data(11, sizes[0])
    nt = 4
    noise = np.random.default_rng(12).normal(scale=0.3, size=(len(X), nt, sizes[0]))
    # Captum draws float32 noise (its standard deviation is a float32 tensor).
    noise = noise.astype(np.float32).astype(np.float64)
    captum_draws["noise"] = noise  # row i*nt + s is input i's draw s
    target = np.arange(len(X)) % sizes[-1]
    theirs = captum_attr.NoiseTunnel(captum_attr.Saliency(torch_model(mlp, stage)))
    theirs = theirs.attribute(
        t(X), nt_type=nt_type, nt_samples=nt, stdevs=0.3, target=t(target), abs=False
    )
    ours = attribute(
        mlp, X, target, method="smoothgrad", nt_type=nt_type, nt_samples=nt,
        noise=noise, stage=stage,
    )  # fmt: skip
    assert_close(ours.values, theirs, 1e-12)


def test_noise_tunnel_over_integrated_gradients_equals_captum(captum_draws):
    sizes, acts = NETWORKS["tanh-relu-sigmoid"]
    mlp = random_mlp(13, sizes, acts)
    X, B = data(13, sizes[0])
    noise = np.random.default_rng(14).normal(scale=0.2, size=(len(X), 3, sizes[0]))
    noise = noise.astype(np.float32).astype(np.float64)  # as Captum draws it
    captum_draws["noise"] = noise
    ig = captum_attr.IntegratedGradients(torch_model(mlp, "pre"))
    theirs = captum_attr.NoiseTunnel(ig).attribute(
        t(X), nt_samples=3, stdevs=0.2, baselines=t(B), target=1, n_steps=16,
        method="gausslegendre",
    )  # fmt: skip
    ours = attribute(
        mlp, X, 1, method="noise_tunnel", base_method="integrated_gradients",
        noise=noise, nt_samples=3, baselines=B, n_steps=16, rule="gausslegendre",
    )  # fmt: skip
    assert_close(ours.values, theirs, 1e-6)  # Captum's float32 quadrature weights


@pytest.mark.parametrize("stdevs", [0.0, 0.25])
@pytest.mark.parametrize(("sizes", "acts", "stage"), CASES[:6])
def test_gradient_shap_equals_captum(captum_draws, stdevs, sizes, acts, stage):
    mlp = random_mlp(15, sizes, acts)
    X, _ = data(15, sizes[0])
    rng = np.random.default_rng(16)
    distribution = rng.normal(size=(9, sizes[0]))
    ns = 5
    draws = {
        "indices": rng.integers(0, 9, size=(len(X), ns)),
        "alphas": rng.uniform(size=(len(X), ns)),
    }
    if stdevs:
        noise = rng.normal(scale=stdevs, size=(len(X), ns, sizes[0]))
        draws["noise"] = noise.astype(np.float32).astype(np.float64)
    captum_draws.update(draws)
    target = np.arange(len(X)) % sizes[-1]
    theirs = captum_attr.GradientShap(torch_model(mlp, stage)).attribute(
        t(X), baselines=t(distribution), n_samples=ns, stdevs=stdevs,
        target=t(target),
    )  # fmt: skip
    ours = attribute(
        mlp, X, target, method="gradient_shap", baseline=distribution, n_samples=ns,
        stdevs=stdevs, stage=stage, **draws,
    )  # fmt: skip
    assert_close(ours.values, theirs, 1e-12)


# ---------------------------------------------------------------------------
# Faithfulness metrics, given the same perturbations.
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("normalize", [False, True])
@pytest.mark.parametrize(("sizes", "acts", "stage"), CASES[:6])
def test_infidelity_equals_captum(normalize, sizes, acts, stage):
    from captum.metrics import infidelity as captum_infidelity

    mlp = random_mlp(17, sizes, acts)
    X, B = data(17, sizes[0])
    target = np.arange(len(X)) % sizes[-1]
    result = attribute(mlp, X, target, method="deeplift", baseline=B, stage=stage)
    S = 6
    I = np.random.default_rng(18).normal(scale=0.1, size=(len(X), S, sizes[0]))

    def perturb(inputs):  # Captum repeats each input S times, row i*S + s
        noise = t(I.reshape(-1, sizes[0]))
        return noise, inputs - noise

    theirs = captum_infidelity(
        torch_model(mlp, stage), perturb, t(X), t(result.values),
        target=t(target), n_perturb_samples=S, normalize=normalize,
    )  # fmt: skip
    ours = infidelity(mlp, result, perturbations=I, normalize=normalize)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(
    ("method", "explainer", "kwargs"),
    [("gradient", "Saliency", {"abs": False}), ("deeplift", "DeepLift", {})],
)
@pytest.mark.parametrize(("sizes", "acts", "stage"), CASES[:4])
def test_max_sensitivity_equals_captum(method, explainer, kwargs, sizes, acts, stage):
    from captum.metrics import sensitivity_max

    if method == "deeplift" and stage == "post" and acts[-1] == "softmax":
        pytest.skip("Captum's softmax multiplier differs (test_deeplift)")
    mlp = random_mlp(19, sizes, acts)
    X, _ = data(19, sizes[0])
    target = np.arange(len(X)) % sizes[-1]
    S = 5
    d = np.random.default_rng(20).uniform(-0.02, 0.02, size=(len(X), S, sizes[0]))

    def perturb(inputs, radius):
        return inputs + t(d.reshape(-1, sizes[0]))

    explain = getattr(captum_attr, explainer)(torch_model(mlp, stage)).attribute
    theirs = sensitivity_max(
        explain, t(X), perturb_func=perturb, n_perturb_samples=S,
        target=t(target), **kwargs,
    )  # fmt: skip
    ours = max_sensitivity(mlp, X, target, method=method, perturbations=d, stage=stage)
    np.testing.assert_allclose(ours, theirs.numpy(), rtol=1e-9)
