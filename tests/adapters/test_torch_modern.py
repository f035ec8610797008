"""PyTorch: modern activations, LogSoftmax heads, affine pieces folded exactly
(BatchNorm, arithmetic in forward, x @ W), bare Linear, training mode, meta
device. Every model is compared with torch in float64 to 1e-12 and gets
gradient, IG, DeepLIFT and occlusion checked (gradients against autograd)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from model_checks import check_attributions

from mlpinspect import (
    InvalidParameterError,
    MlpinspectWarning,
    UnsupportedModelError,
    adapt,
    weight_images,
)
from mlpinspect.adapters import TorchAdapter
from mlpinspect.testing import check_adapter, check_copies

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def forward_of(model):
    def forward(X):
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(X))).numpy()

    return forward


def autograd(model, unit=0):
    def gradient(X):
        x = torch.from_numpy(np.ascontiguousarray(X)).requires_grad_(True)
        (grad,) = torch.autograd.grad(model(x)[:, unit].sum(), x)
        return grad.numpy()

    return gradient


def perturb(model):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)


def check(model, X, *, unit=0, stage="pre", pre_model=None, mutate=None):
    """check_adapter in float64 at 1e-12, the attribution checks, then (with
    ``mutate``) that the MLP is a copy.

    ``pre_model`` computes the output layer's pre-activation (for the
    gradient of stage "pre"); default: ``model`` (its output is the logit).
    """
    model.eval()
    mlp = check_adapter(
        TorchAdapter(),
        model,
        forward_of(model),
        inputs=X,
        arrays=[p.detach().numpy() for p in model.parameters()],
        rtol=1e-12,
        atol=1e-12,
    )
    check_attributions(
        mlp,
        X,
        unit=unit,
        stage=stage,
        gradient=autograd(pre_model or model, unit),
        gradient_rtol=1e-10,
    )
    if mutate is not None:
        check_copies(TorchAdapter(), model, mutate)
    return mlp


MODULES = {
    "gelu": nn.GELU(),
    "gelu_tanh": nn.GELU(approximate="tanh"),
    "silu": nn.SiLU(),
    "mish": nn.Mish(),
    "elu(0.7)": nn.ELU(0.7),
    "selu": nn.SELU(),
    "celu(1.5)": nn.CELU(1.5),
    "softplus(2.0, 5.0)": nn.Softplus(beta=2.0, threshold=5.0),
    "softsign": nn.Softsign(),
    "relu6": nn.ReLU6(),
    "hardtanh(-0.5, 2.0)": nn.Hardtanh(-0.5, 2.0),
    "hardsigmoid": nn.Hardsigmoid(),
    "hardswish": nn.Hardswish(),
    "leaky_relu(0.25)": nn.PReLU(1, init=0.25),
}


def data(seed, n=12, d=5, scale=2.0):
    return np.random.default_rng(seed).normal(size=(n, d)) * scale


@pytest.mark.parametrize("name", sorted(MODULES))
def test_each_activation_module_matches_torch(name):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), MODULES[name], nn.Linear(7, 3)).double()
    mlp = check(model, data(1), mutate=perturb)
    assert mlp.activation_names == (name, "identity")


FUNCTIONS = {
    "gelu": lambda x: F.gelu(x),
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "silu": F.silu,
    "mish": F.mish,
    "elu(0.5)": lambda x: F.elu(x, alpha=0.5),
    "selu": torch.selu,
    "celu(2.0)": lambda x: F.celu(x, 2.0),
    "softplus(1.0, 20.0)": F.softplus,
    "softsign": F.softsign,
    "relu6": F.relu6,
    "hardtanh(-2.0, 1.0)": lambda x: F.hardtanh(x, -2.0, 1.0),
    "hardsigmoid": F.hardsigmoid,
    "hardswish": F.hardswish,
    "relu": lambda x: x.clamp(min=0),
    "hardtanh(0.0, 3.0)": lambda x: torch.clamp(x, 0, 3),
}


class Functional(nn.Module):
    def __init__(self, fn):
        super().__init__()
        self.fc1 = nn.Linear(5, 7)
        self.fc2 = nn.Linear(7, 3)
        self.fn = fn

    def forward(self, x):
        return self.fc2(self.fn(self.fc1(x)))


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_functional_activation_in_a_traced_forward(name):
    torch.manual_seed(1)
    model = Functional(FUNCTIONS[name]).double()
    mlp = check(model, data(2))
    assert mlp.activation_names == (name, "identity")


def test_prelu_keeps_one_slope_per_unit():
    torch.manual_seed(2)
    prelu = nn.PReLU(7)
    with torch.no_grad():
        prelu.weight.copy_(torch.linspace(-0.5, 0.8, 7))
    model = nn.Sequential(nn.Linear(5, 7), prelu, nn.Linear(7, 2)).double()
    slopes = model[1].weight.detach().numpy().copy()
    mlp = check(model, data(3), mutate=perturb)
    assert mlp.activation_names[0] == "prelu"
    np.testing.assert_array_equal(mlp.layers[0].activation_params, slopes)


class OfficialMnistMlp(nn.Module):
    """The PyTorch MNIST example's shape, as an MLP: normalise, flatten,
    dropout, log_softmax at the end."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 32)
        self.fc2 = nn.Linear(32, 10)
        self.dropout = nn.Dropout(0.25)

    def forward(self, x):
        x = (x - 0.1307) / 0.3081
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        x = self.dropout(x)
        x = self.fc2(x)
        return F.log_softmax(x, dim=1)


def test_the_official_mnist_style_mlp_with_log_softmax():
    torch.manual_seed(3)
    model = OfficialMnistMlp().double().eval()
    X = np.random.default_rng(4).uniform(0, 1, size=(6, 1, 28, 28))
    mlp = adapt(model, input_shape=(1, 28, 28))
    assert mlp.activation_names == ("relu", "log_softmax")
    assert mlp.task == "multiclass"
    expected = forward_of(model)(X)
    np.testing.assert_allclose(mlp.forward(X), expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(mlp.predict_proba(X), np.exp(expected), rtol=1e-12)
    np.testing.assert_array_equal(mlp.predict(X), expected.argmax(axis=1))
    # The normalisation is folded into fc1: weights in raw pixel space.
    w = model.fc1.weight.detach().numpy()
    np.testing.assert_allclose(mlp.layers[0].weight, w / 0.3081, rtol=1e-14)
    np.testing.assert_allclose(
        mlp.layers[0].bias,
        model.fc1.bias.detach().numpy() - w.sum(axis=1) * 0.1307 / 0.3081,
        rtol=1e-12,
    )
    np.testing.assert_allclose(
        weight_images(mlp, layer=0), (w / 0.3081).reshape(32, 28, 28), rtol=1e-14
    )
    # Attributions on the logits and on the log-probabilities.
    check_attributions(
        mlp, X[:3], unit=4, gradient=autograd(lambda x: model(x), 4), stage="post"
    )

    def logits(x):
        return model.fc2(F.relu(model.fc1(torch.flatten((x - 0.1307) / 0.3081, 1))))

    check_attributions(mlp, X[:3], unit=4, gradient=autograd(logits, 4), stage="pre")


def test_batch_norm_is_folded_exactly_into_the_linear_before_it():
    torch.manual_seed(5)
    bn = nn.BatchNorm1d(6)
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.3, 3.0)
        bn.weight.normal_()
        bn.bias.normal_()
    fc = nn.Linear(4, 6)
    model = nn.Sequential(fc, bn, nn.GELU(), nn.Linear(6, 3), nn.LogSoftmax(dim=-1))
    model = model.double().eval()
    mlp = check(model, data(6, d=4), unit=1, stage="post")
    # Analytically: s = gamma / sqrt(var + eps), W' = s W, b' = s (b - mean) + beta.
    s = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach().numpy()
    expected_w = s[:, None] * fc.weight.detach().numpy()
    np.testing.assert_allclose(mlp.layers[0].weight, expected_w, rtol=1e-13)
    np.testing.assert_allclose(
        weight_images(mlp, layer=0, shape=(2, 2)), expected_w.reshape(6, 2, 2),
        rtol=1e-13,
    )  # fmt: skip
    expected_b = (
        s * (fc.bias - bn.running_mean).detach().numpy() + bn.bias.detach().numpy()
    )
    np.testing.assert_allclose(mlp.layers[0].bias, expected_b, rtol=1e-12)
    assert "BatchNorm1d" in mlp.layers[0].name


def test_batch_norm_after_an_activation_folds_into_the_next_linear():
    torch.manual_seed(6)
    bn = nn.BatchNorm1d(6, affine=False)
    with torch.no_grad():
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.3, 3.0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Tanh(), bn, nn.Linear(6, 2))
    model = model.double().eval()
    mlp = check(model, data(7, d=4))
    s = 1 / np.sqrt(bn.running_var.numpy() + bn.eps)
    w2 = model[3].weight.detach().numpy()
    np.testing.assert_allclose(mlp.layers[1].weight, w2 * s, rtol=1e-13)


def test_a_float32_model_folds_to_float32_rounding():
    torch.manual_seed(7)
    bn = nn.BatchNorm1d(6)
    with torch.no_grad():
        bn.running_var.uniform_(0.3, 3.0)
    model = nn.Sequential(nn.Linear(4, 6), bn, nn.SiLU(), nn.Linear(6, 2)).eval()
    mlp = check_adapter(
        TorchAdapter(), model, forward_of(model),
        inputs=data(8, d=4).astype(np.float32),
    )  # fmt: skip
    assert mlp.dtype == np.float32


class Normalised(nn.Module):
    """(x - mean) / std with buffers, x * 2 - 1, a division and a negation."""

    def __init__(self):
        super().__init__()
        self.register_buffer("mean", torch.linspace(-1, 1, 6))
        self.register_buffer("std", torch.linspace(0.5, 2, 6))
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        x = (x - self.mean) / self.std
        x = x * 2 - 1
        x = 3.0 - x / 4
        x = -x
        x = F.elu(self.fc1(x))
        return self.fc2(x) + 0.5


def test_arithmetic_in_forward_is_folded_exactly():
    model = Normalised().double()
    mlp = check(model, data(9, d=6))
    # x -> 2 (x - m) / s - 1 -> 3 - that / 4 -> minus that: a x + c with
    a = -(-2 / model.std / 4)
    c = -(3 - (-2 * model.mean / model.std - 1) / 4)
    w = model.fc1.weight
    np.testing.assert_allclose(mlp.layers[0].weight, (w * a).detach().numpy(),
                               rtol=1e-13)  # fmt: skip
    np.testing.assert_allclose(
        mlp.layers[0].bias, (w @ c + model.fc1.bias).detach().numpy(), rtol=1e-12
    )
    # The output's + 0.5 is folded into fc2's bias.
    np.testing.assert_allclose(
        mlp.layers[1].bias, model.fc2.bias.detach().numpy() + 0.5, rtol=1e-14
    )


class MatmulLayer(nn.Module):
    """Affine layers written with raw parameters: x @ self.w.T + self.b, and
    F.linear(h, self.v, self.c)."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(4, 6, dtype=torch.float64))
        self.b = nn.Parameter(torch.randn(4, dtype=torch.float64))
        self.v = nn.Parameter(torch.randn(2, 4, dtype=torch.float64))
        self.c = nn.Parameter(torch.randn(2, dtype=torch.float64))

    def forward(self, x):
        h = torch.tanh(x @ self.w.T + self.b)
        return F.linear(h, self.v, self.c)


def test_x_at_w_plus_b_is_a_linear_layer():
    torch.manual_seed(8)
    model = MatmulLayer()
    mlp = check(model, data(10, d=6))
    np.testing.assert_array_equal(mlp.layers[0].weight, model.w.detach().numpy())
    np.testing.assert_array_equal(mlp.layers[0].bias, model.b.detach().numpy())
    np.testing.assert_array_equal(mlp.layers[1].weight, model.v.detach().numpy())


def test_a_bare_linear_is_a_linear_model():
    torch.manual_seed(9)
    model = nn.Linear(5, 3).double()
    mlp = check(model, data(11))
    assert mlp.sizes == (5, 3) and mlp.layers[0].name == "the model (torch.nn.Linear)"
    one = adapt(nn.Linear(5, 1).double(), task="regression")
    assert one.task == "regression"


class Squeezed(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)

    def forward(self, x):
        return torch.sigmoid(self.fc(x)).squeeze(-1)


def test_a_final_squeeze_of_one_output_is_allowed():
    model = Squeezed().double()
    mlp = check(model, data(12, d=4), pre_model=lambda x: model.fc(x))
    assert mlp.task == "binary"


class SqueezeTwo(Squeezed):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)


def test_squeezing_several_outputs_is_refused():
    with pytest.raises(UnsupportedModelError, match="only a one-unit output"):
        adapt(SqueezeTwo())


def test_training_mode_is_read_in_eval_mode_with_a_warning():
    torch.manual_seed(10)
    bn = nn.BatchNorm1d(5)
    with torch.no_grad():
        bn.running_var.uniform_(0.5, 2.0)
    model = nn.Sequential(nn.Linear(3, 5), bn, nn.ReLU(), nn.Dropout(0.5),
                          nn.Linear(5, 2)).double()  # fmt: skip
    assert model.training
    with pytest.warns(MlpinspectWarning, match=r"layer '1' \(torch.nn.BatchNorm1d\) is "
                      r"in training mode.*model.eval\(\)"):  # fmt: skip
        mlp = adapt(model)
    assert model.training  # adapting does not switch modes
    model.eval()
    X = data(13, d=3)
    np.testing.assert_allclose(mlp.forward(X), forward_of(model)(X), rtol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        adapt(model)  # in eval mode: no warning


class AlwaysDropout(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(F.dropout(x, 0.5))


def test_functional_dropout_without_training_flag_warns():
    with pytest.warns(MlpinspectWarning, match="drops units even in evaluation mode"):
        adapt(AlwaysDropout().eval())


def test_meta_device_is_refused_clearly():
    with torch.device("meta"):
        model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    with pytest.raises(InvalidParameterError, match=r"layer '0' .* meta device.*"
                       r"to_empty"):  # fmt: skip
        adapt(model)


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (
            nn.Sequential(nn.Linear(4, 4), nn.LogSoftmax(dim=1), nn.Linear(4, 2)),
            r"layer '1' \(torch.nn.LogSoftmax\) \(a log-softmax\) is followed by "
            r"another linear layer",
        ),
        (
            nn.Sequential(nn.Linear(4, 4), nn.GELU(approximate="none"), nn.ReLU()),
            r"layer '2' \(torch.nn.ReLU\) applies 'relu' right after layer '1' "
            r"\(torch.nn.GELU\) applied 'gelu'",
        ),
        (
            nn.Sequential(nn.Linear(4, 4), nn.BatchNorm2d(4)).eval(),
            r"layer '1' \(torch.nn.BatchNorm2d\) applies a scale of shape \(4, 1, 1\)",
        ),
    ],
)
def test_refusals_name_the_layer_and_the_reason(model, match):
    with pytest.raises(UnsupportedModelError, match=match):
        adapt(model)


class DividedByInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x):
        return self.fc(1.0 / x)


def test_a_constant_divided_by_the_input_is_refused():
    with pytest.raises(UnsupportedModelError, match=r"c / x.*not an affine"):
        adapt(DividedByInput())
