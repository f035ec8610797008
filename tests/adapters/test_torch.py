"""PyTorch: nn.Sequential and modules whose forward is a chain (torch.fx)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mlpinspect import InvalidParameterError, UnsupportedModelError, adapt
from mlpinspect.adapters import TorchAdapter
from mlpinspect.testing import check_adapter, check_forward

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional


def forward_of(model):
    def forward(X):
        with torch.no_grad():
            return model(torch.from_numpy(np.ascontiguousarray(X))).numpy()

    return forward


def arrays_of(model):
    return [p.detach().numpy() for p in model.parameters()]


def perturb(model):
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)


def check(model, input_shape=None, **kwargs):
    """check_adapter on a torch model (eval mode), with its own forward pass.

    The adapter sees flat inputs (a Flatten of a flat batch changes nothing);
    with ``input_shape``, adapt() is also compared on unflattened inputs.
    """
    model.eval()
    mlp = check_adapter(
        TorchAdapter(), model, forward_of(model), arrays=arrays_of(model), **kwargs
    )
    if input_shape:
        mlp = adapt(model, input_shape=input_shape)
        check_forward(mlp, forward_of(model))
    return mlp


ACTIVATION_MODULES = {
    "relu": nn.ReLU,
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "identity": nn.Identity,
    "leaky_relu(0.2)": lambda: nn.LeakyReLU(0.2),
    "leaky_relu(0.01)": nn.LeakyReLU,
}


@st.composite
def sequentials(draw):
    """A random nn.Sequential MLP and the activation names it should give."""
    torch.manual_seed(draw(st.integers(0, 2**31 - 1)))
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    image = draw(st.booleans())
    input_shape = (draw(st.integers(1, 4)), draw(st.integers(1, 4))) if image else None
    n_in = int(np.prod(input_shape)) if image else draw(st.integers(1, 8))
    depth = draw(st.integers(1, 4))
    modules: list = [nn.Flatten()] if image or draw(st.booleans()) else []
    names = []
    width = n_in
    for i in range(depth):
        last = i == depth - 1
        out = draw(st.integers(1, 6))
        modules.append(nn.Linear(width, out, bias=draw(st.booleans())))
        width = out
        if last:
            name = draw(st.sampled_from(["identity", "softmax", "sigmoid", "tanh"]))
            if name == "softmax":
                modules.append(nn.Softmax(dim=draw(st.sampled_from([-1, 1]))))
            elif name != "identity" or draw(st.booleans()):
                modules.append(ACTIVATION_MODULES[name]())
        else:
            name = draw(st.sampled_from(sorted(ACTIVATION_MODULES)))
            modules.append(ACTIVATION_MODULES[name]())
            if draw(st.booleans()):
                modules.append(nn.Dropout(0.5))
        names.append(name)
    if draw(st.booleans()) and len(modules) > 2:
        # Nest part of the chain: nested Sequentials are flattened.
        cut = draw(st.integers(1, len(modules) - 1))
        modules = [*modules[:cut], nn.Sequential(*modules[cut:])]
    model = nn.Sequential(*modules).to(dtype)
    return model, names, input_shape


@settings(max_examples=40, deadline=None)
@given(case=sequentials())
def test_random_sequentials_match_torch(case):
    model, names, input_shape = case
    mlp = check(model, input_shape, mutate=None)
    assert mlp.activation_names == tuple(names)
    assert mlp.dtype == next(model.parameters()).detach().numpy().dtype
    if input_shape:
        assert mlp.input_shape == input_shape
    # Weights are copies: changing the model later leaves the view unchanged.
    before = [layer.weight.copy() for layer in mlp.layers]
    perturb(model)
    for layer, old in zip(mlp.layers, before):
        np.testing.assert_array_equal(layer.weight, old)


def test_check_adapter_with_mutation():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 3), nn.Softmax(-1))
    check(model, mutate=perturb)


def test_linear_without_bias_gets_zero_bias():
    model = nn.Sequential(nn.Linear(3, 2, bias=False))
    mlp = adapt(model)
    np.testing.assert_array_equal(mlp.layers[0].bias, np.zeros(2, np.float32))


def test_weights_are_float32_views_copied_once():
    model = nn.Sequential(nn.Linear(3, 2))
    mlp = adapt(model)
    assert mlp.dtype == np.float32
    np.testing.assert_array_equal(mlp.layers[0].weight, arrays_of(model)[0])
    assert not mlp.layers[0].weight.flags.writeable
    with pytest.raises(ValueError, match="read-only"):
        mlp.layers[0].weight[0, 0] = 1.0


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_becomes_float32(dtype):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU()).to(getattr(torch, dtype))
    mlp = adapt(model)
    assert mlp.dtype == np.float32
    expected = model[0].weight.detach().float().numpy()
    np.testing.assert_array_equal(mlp.layers[0].weight, expected)


def test_consecutive_piecewise_linear_activations_combine():
    model = nn.Sequential(
        nn.Linear(3, 3),
        nn.LeakyReLU(0.5),
        nn.LeakyReLU(0.2),
        nn.Identity(),
        nn.Linear(3, 2),
        nn.ReLU(),
        nn.ReLU(),
    )
    mlp = check(model)
    assert mlp.activation_names == ("leaky_relu(0.1)", "relu")


# -- modules traced with torch.fx -------------------------------------------------


class ViewNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(12, 5)
        self.fc2 = nn.Linear(5, 3)
        self.drop = nn.Dropout(0.3)

    def forward(self, x):
        x = x.view(x.size(0), -1)
        x = torch.relu(self.fc1(x))
        x = F.dropout(x, 0.3, training=self.training)
        return F.softmax(self.fc2(self.drop(x)), dim=1)


class ReshapeNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(12, 6), nn.Identity())
        self.head = nn.Linear(6, 2)

    def forward(self, x):
        x = x.reshape(x.shape[0], -1)
        x = self.body(x)
        x = F.leaky_relu(x, negative_slope=0.3)
        return torch.sigmoid(self.head(x.contiguous()))


class MethodNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(12, 4)
        self.b = nn.Linear(4, 4)
        self.c = nn.Linear(4, 3)

    def forward(self, x):
        x = torch.flatten(x, 1)
        x = self.a(x).relu()
        x = self.b(x.flatten(1)).tanh()
        x = x.view(-1, 4)
        return self.c(x).softmax(-1)


class Block(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.fc = nn.Linear(n_in, n_out)

    def forward(self, x):
        return F.relu(self.fc(x))


@pytest.mark.parametrize(
    ("make", "activations"),
    [
        (ViewNet, ("relu", "softmax")),
        (ReshapeNet, ("leaky_relu(0.3)", "sigmoid")),
        (MethodNet, ("relu", "tanh", "softmax")),
        (
            lambda: nn.Sequential(nn.Flatten(), Block(12, 5), Block(5, 2)),
            ("relu", "relu"),
        ),
    ],
)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_traced_modules_match_torch(make, activations, seed):
    torch.manual_seed(seed)
    model = make()
    mlp = check(model, input_shape=(3, 4), mutate=perturb)
    assert mlp.activation_names == activations
    assert mlp.input_shape == (3, 4)


def test_traced_module_float64():
    model = ViewNet().double()
    mlp = check(model, input_shape=(12,))
    assert mlp.dtype == np.float64


# -- refusals ----------------------------------------------------------------------


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 4)

    def forward(self, x):
        return x + self.fc1(x)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Linear(4, 4)
        self.h1 = nn.Linear(4, 2)
        self.h2 = nn.Linear(4, 2)

    def forward(self, x):
        x = self.body(x)
        return torch.cat([self.h1(x), self.h2(x)], dim=1)


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x, y):
        return self.fc(x)


class TupleOut(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return (self.fc(x),)


class Scaled(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return torch.sigmoid(self.fc(x)) * 2


class Squared(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x * x)


class LeftMatmul(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.ones(4, 4))

    def forward(self, x):
        return self.w @ x


class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        if x.sum() > 0:
            return self.fc(x)
        return -self.fc(x)


class FixedBatch(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x.view(64, -1))


@pytest.mark.parametrize(
    ("model", "match"),
    [
        (
            nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 2)),
            r"layer '0' \(torch.nn.Conv2d\) is not supported",
        ),
        (
            nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4), nn.Linear(4, 2)),
            r"layer '1' \(torch.nn.LayerNorm\) normalises each sample by its own",
        ),
        (
            nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Tanhshrink())),
            r"layer '1.0' \(torch.nn.Tanhshrink\) is not supported",
        ),
        (
            nn.Sequential(nn.Linear(4, 2), nn.LogSoftmax(dim=0)),
            r"layer '1' \(torch.nn.LogSoftmax\) takes the log-softmax over dim=0",
        ),
        (
            nn.Sequential(
                nn.Linear(4, 4), nn.ReLU(), nn.BatchNorm1d(4).eval(), nn.Sigmoid()
            ),
            r"layer '2' \(torch.nn.BatchNorm1d\) rescales the output of layer '1' "
            r"\(torch.nn.ReLU\) \('relu'\) and layer '3' \(torch.nn.Sigmoid\) "
            r"applies 'sigmoid' .* between two activations",
        ),
        (
            nn.Sequential(
                nn.Linear(4, 4), nn.BatchNorm1d(4, track_running_stats=False)
            ).eval(),
            r"layer '1' \(torch.nn.BatchNorm1d\) has no running statistics",
        ),
        (nn.Sequential(nn.Linear(4, 2), nn.Softmax(dim=0)), "dim=0"),
        (nn.Sequential(nn.Flatten(0), nn.Linear(4, 2)), "start_dim=1"),
        (nn.Sequential(nn.ReLU(), nn.Linear(4, 2)), "before any linear layer"),
        (nn.Sequential(nn.Linear(4, 4), nn.Sigmoid(), nn.Tanh()), "two activations"),
        (
            nn.Sequential(nn.Linear(4, 4), nn.Softmax(-1), nn.Linear(4, 2)),
            r"layer '1' \(torch.nn.Softmax\) \(a softmax\) is followed",
        ),
        (nn.Sequential(), "no linear layer"),
        (Residual(), r"tensor 'x' feeds several operations.*'fc1'.*'add'"),
        (TwoHeads(), "feeds several operations"),
        (TwoInputs(), "more than one input"),
        (TupleOut(), "must return one tensor"),
        (
            Scaled(),
            r"graph node 'mul' \(_operator.mul\) rescales the output of "
            r"graph node 'sigmoid'",
        ),
        (
            Squared(),
            r"graph node 'mul' \(_operator.mul\): its operand 'x' is "
            r"computed from the input",
        ),
        (
            LeftMatmul(),
            r"graph node 'matmul' \(_operator.matmul\) multiplies the "
            r"weights from the left",
        ),
        (Branchy(), "could not be traced with torch.fx"),
        (FixedBatch(), r"reshapes to \(64, -1\)"),
    ],
)
def test_unsupported_structures_name_the_layer(model, match):
    with pytest.raises(UnsupportedModelError, match=match):
        adapt(model)


def test_unsupported_layer_error_lists_what_is_supported():
    with pytest.raises(UnsupportedModelError) as info:
        adapt(nn.Sequential(nn.Linear(2, 2), nn.Softshrink()))
    message = str(info.value)
    assert "layer '1' (torch.nn.Softshrink) is not supported" in message
    for name in (
        "Linear",
        "Flatten",
        "ReLU",
        "LeakyReLU",
        "Sigmoid",
        "Tanh",
        "Identity",
        "Softmax",
        "Dropout",
    ):
        assert name in message


def test_lazy_modules_must_be_initialised():
    model = nn.Sequential(nn.LazyLinear(3))
    with pytest.raises(InvalidParameterError, match="uninitialised"):
        adapt(model)
    model(torch.ones(2, 5))
    assert adapt(model).sizes == (5, 3)


def test_only_torch_modules_are_claimed():
    adapter = TorchAdapter()
    assert adapter.can_adapt(nn.Linear(2, 2))
    assert not adapter.can_adapt(torch.ones(2))
    assert not adapter.can_adapt([nn.Linear(2, 2)])


# -- what the outputs mean (issue 12, "Done when") -----------------------------------


def logits_model(n_out, seed=0):
    """A float64 model ending in Linear(..., n_out): logits, no activation."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, n_out)).double()
    return model.eval()


def inputs(n=300, seed=0):
    return np.random.default_rng(seed).normal(size=(n, 4))


def test_one_logit_model_predicts_as_torch_with_task_binary():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    model, X = logits_model(1), inputs()
    logit = forward_of(model)(X)[:, 0]
    mlp = adapt(model, task="binary", class_names=["no", "yes"])
    assert mlp.task == "binary" and mlp.n_classes == 2
    own = np.where(logit > 0, "yes", "no")  # torch's own decision on its logit
    assert set(own.tolist()) == {"no", "yes"}
    np.testing.assert_array_equal(mlp.predict(X), own)
    assert mlp.predict(X).tolist() == own.tolist()
    with torch.no_grad():
        p = torch.sigmoid(model(torch.from_numpy(X))).numpy()[:, 0]
    np.testing.assert_allclose(
        mlp.predict_proba(X), np.column_stack([1 - p, p]), rtol=0, atol=1e-12
    )
    y = np.where(X[:, 0] > 0, "yes", "no")
    expected = sklearn_metrics.accuracy_score(y, own)
    assert abs(mlp.score(X, y) - expected) <= 1e-12
    # Without class names the classes are 0 and 1.
    positions = adapt(model, task="binary").predict(X)
    np.testing.assert_array_equal(positions, (logit > 0).astype(int))


def test_two_logit_model_predicts_the_argmax():
    sklearn_metrics = pytest.importorskip("sklearn.metrics")
    model, X = logits_model(2, seed=1), inputs(seed=1)
    logits = forward_of(model)(X)
    mlp = adapt(model)
    assert mlp.task == "multiclass"  # two logits need no task=
    own = logits.argmax(axis=1)
    assert set(own.tolist()) == {0, 1}
    np.testing.assert_array_equal(mlp.predict(X), own)
    named = adapt(model, class_names=["cat", "dog"])
    labels = np.array(["cat", "dog"])[own]
    assert named.predict(X).tolist() == labels.tolist()
    with torch.no_grad():
        p = torch.softmax(model(torch.from_numpy(X)), dim=1).numpy()
    np.testing.assert_allclose(named.predict_proba(X), p, rtol=0, atol=1e-12)
    y = np.array(["cat", "dog"])[(X[:, 1] > 0).astype(int)]
    expected = sklearn_metrics.accuracy_score(y, labels)
    assert abs(named.score(X, y) - expected) <= 1e-12


def test_one_output_without_task_asks_for_it():
    model, X = logits_model(1), inputs(5)
    mlp = adapt(model)
    assert mlp.task is None
    assert "task=" in repr(mlp)
    for call in (lambda: mlp.predict(X), lambda: mlp.score(X, np.zeros(5))):
        with pytest.raises(InvalidParameterError, match="task="):
            call()
    # The outputs themselves need no task.
    np.testing.assert_allclose(mlp.forward(X), forward_of(model)(X), rtol=1e-12)
    regression = adapt(model, task="regression")
    np.testing.assert_allclose(
        regression.predict(X), forward_of(model)(X)[:, 0], rtol=1e-12, atol=1e-15
    )


@pytest.mark.parametrize(
    ("head", "n_out", "task"),
    [
        (nn.Softmax(dim=-1), 3, "multiclass"),
        (nn.Sigmoid(), 1, "binary"),
        (nn.Sigmoid(), 3, "multiclass"),  # one-vs-rest unless told multilabel
        (nn.Identity(), 3, "multiclass"),
        (nn.Identity(), 1, None),
        (nn.Tanh(), 1, None),
    ],
)
def test_task_is_read_from_the_last_layer(head, n_out, task):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, n_out), head)
    assert adapt(model).task == task


def test_sigmoid_outputs_as_multilabel_predict_the_indicator():
    torch.manual_seed(2)
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3), nn.Sigmoid())
    model = model.double().eval()
    X = inputs(seed=2)
    mlp = adapt(model, task="multilabel")
    np.testing.assert_array_equal(mlp.predict(X), forward_of(model)(X) > 0.5)
