"""skorch estimators: their module_ read by the PyTorch adapter, the task and
classes from the net; predictions equal skorch's."""

from __future__ import annotations

import numpy as np
import pytest
from model_checks import check_attributions

from mlpinspect import InvalidParameterError, MlpinspectWarning, adapt
from mlpinspect.adapters import SkorchAdapter
from mlpinspect.testing import check_adapter

torch = pytest.importorskip("torch")
skorch = pytest.importorskip("skorch")
nn = torch.nn


def data(seed=0, n=60):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4)).astype(np.float32)
    return X, (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 0.5)


def forward_of(net):
    def forward(X):  # skorch's own inference: the module in eval mode
        return net.forward(np.asarray(X, np.float32), training=False).numpy()

    return forward


def test_a_classifier_with_a_softmax_module():
    torch.manual_seed(0)
    X, y = data()
    module = nn.Sequential(nn.Linear(4, 8), nn.GELU(), nn.Dropout(0.1),
                           nn.Linear(8, 3), nn.Softmax(dim=-1))  # fmt: skip
    net = skorch.NeuralNetClassifier(module, max_epochs=3, lr=0.2, verbose=0,
                                     train_split=None).fit(X, y)  # fmt: skip
    mlp = check_adapter(SkorchAdapter(), net, forward_of(net), inputs=X[:16],
                        predict=net.predict)  # fmt: skip
    assert mlp.activation_names == ("gelu", "softmax")
    np.testing.assert_allclose(mlp.predict_proba(X), net.predict_proba(X), atol=1e-6)
    check_attributions(mlp, X[:4], unit=1, gradient_rtol=1e-4, gradient_atol=1e-5)


def test_a_binary_classifier_with_a_squeezed_logit():
    torch.manual_seed(1)
    X, y = data(1)

    class Logit(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden = nn.Linear(4, 6)
            self.out = nn.Linear(6, 1)

        def forward(self, x):
            return self.out(torch.tanh(self.hidden(x))).squeeze(-1)

    net = skorch.NeuralNetBinaryClassifier(Logit, max_epochs=3, lr=0.2, verbose=0,
                                           train_split=None)  # fmt: skip
    net.fit(X, (y > 0).astype(np.float32))
    mlp = check_adapter(SkorchAdapter(), net, forward_of(net), inputs=X[:16],
                        predict=net.predict)  # fmt: skip
    assert mlp.task == "binary" and mlp.n_outputs == 1
    np.testing.assert_allclose(mlp.predict_proba(X), net.predict_proba(X), atol=1e-6)
    net.set_params(threshold=0.3)
    with pytest.warns(MlpinspectWarning, match="threshold|probability 0.3"):
        adapt(net)


def test_a_regressor():
    torch.manual_seed(2)
    X, _ = data(2)
    target = (X[:, :1] * 2 - X[:, 1:2]).astype(np.float32)
    module = nn.Sequential(nn.Linear(4, 5), nn.SiLU(), nn.Linear(5, 1))
    net = skorch.NeuralNetRegressor(module, max_epochs=3, lr=0.05, verbose=0,
                                    train_split=None).fit(X, target)  # fmt: skip
    mlp = check_adapter(SkorchAdapter(), net, forward_of(net), inputs=X[:16])
    assert mlp.task == "regression"
    np.testing.assert_allclose(mlp.predict(X), net.predict(X)[:, 0], atol=1e-6)


def test_an_uninitialised_net_is_refused():
    net = skorch.NeuralNetClassifier(nn.Sequential(nn.Linear(4, 2)))
    with pytest.raises(InvalidParameterError, match="not initialised"):
        adapt(net)
