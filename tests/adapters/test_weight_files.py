"""Weight files: PyTorch state dicts (torch.load(weights_only=True)) and
safetensors files, given the activations (and the order when the shapes do
not say it)."""

from __future__ import annotations

import numpy as np
import pytest
from model_checks import check_attributions

from mlpinspect import (
    InvalidParameterError,
    ModelFileError,
    UnsupportedModelError,
    adapt,
)
from mlpinspect.adapters import SafetensorsAdapter, TorchFileAdapter
from mlpinspect.testing import check_adapter

torch = pytest.importorskip("torch")
nn = torch.nn


def mnist_like(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 5), nn.GELU(),
        nn.Linear(5, 3), nn.LogSoftmax(dim=1),
    ).double().eval()  # fmt: skip


ACTS = ["relu", "gelu", "log_softmax"]


def forward_of(model):
    def forward(X):
        with torch.no_grad():
            return model(torch.from_numpy(np.asarray(X, np.float64))).numpy()

    return forward


def data(seed=0):
    return np.random.default_rng(seed).normal(size=(8, 12))


def test_a_state_dict_file(tmp_path):
    model = mnist_like()
    path = tmp_path / "mlp.pt"
    torch.save(model.state_dict(), path)
    mlp = check_adapter(TorchFileAdapter(), str(path), forward_of(model),
                        inputs=data(), options={"activations": ACTS},
                        rtol=1e-12, atol=1e-12)  # fmt: skip
    assert mlp.activation_names == tuple(ACTS) and mlp.name == "mlp.pt"
    check_attributions(mlp, data()[:3], unit=1)
    assert adapt(path, activations=ACTS, input_shape=(3, 4)).input_shape == (3, 4)


def test_a_checkpoint_records_its_activations(tmp_path):
    model = mnist_like(1)
    path = tmp_path / "checkpoint.pth"
    torch.save({"epoch": 3, "model_state_dict": model.state_dict(),
                "activations": ACTS}, path)  # fmt: skip
    mlp = adapt(path)
    np.testing.assert_allclose(mlp.forward(data(1)), forward_of(model)(data(1)),
                               rtol=1e-12, atol=1e-12)  # fmt: skip


def test_a_safetensors_file(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    model = mnist_like(2)
    path = tmp_path / "mlp.safetensors"
    safetensors_torch.save_file(model.state_dict(), str(path))
    mlp = check_adapter(SafetensorsAdapter(), str(path), forward_of(model),
                        inputs=data(2), options={"activations": ACTS},
                        rtol=1e-12, atol=1e-12)  # fmt: skip
    check_attributions(mlp, data(2)[:3], unit=2)


def test_safetensors_metadata_and_the_order_of_equal_layers(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(3)
    tensors = {
        "input.weight": rng.normal(size=(4, 6)), "input.bias": rng.normal(size=4),
        "middle.weight": rng.normal(size=(4, 4)), "middle.bias": rng.normal(size=4),
        "deeper.weight": rng.normal(size=(4, 4)), "deeper.bias": rng.normal(size=4),
        "output.weight": rng.normal(size=(2, 4)),
    }  # fmt: skip
    path = tmp_path / "deep.safetensors"
    safetensors_numpy.save_file(tensors, str(path))
    with pytest.raises(
        InvalidParameterError,
        match=r"more than one order.*layers=\['deeper', 'input', 'middle', 'output'\]",
    ):
        adapt(path, activations="tanh")
    order = ["input", "middle", "deeper", "output"]
    mlp = adapt(path, layers=order, activations=["tanh", "tanh", "tanh", "identity"])
    X = rng.normal(size=(5, 6))
    h = X
    for name in order[:-1]:
        h = np.tanh(h @ tensors[f"{name}.weight"].T + tensors[f"{name}.bias"])
    np.testing.assert_allclose(mlp.forward(X), h @ tensors["output.weight"].T,
                               rtol=1e-12)  # fmt: skip
    safetensors_numpy.save_file(
        tensors, str(path), metadata={"activations": "tanh,tanh,tanh,identity",
                                      "layers": ",".join(order)},
    )  # fmt: skip
    assert adapt(path).activation_names == ("tanh", "tanh", "tanh", "identity")


def test_layer_order_by_shape_when_names_sort_wrongly(tmp_path):
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    rng = np.random.default_rng(4)
    tensors = {"z_first.weight": rng.normal(size=(5, 3)),
               "a_last.weight": rng.normal(size=(2, 5))}  # fmt: skip
    path = tmp_path / "named.safetensors"
    safetensors_numpy.save_file(tensors, str(path))
    assert adapt(path, activations=["relu", "identity"]).sizes == (3, 5, 2)


@pytest.mark.parametrize(
    ("save", "options", "error", "match"),
    [
        (lambda p: torch.save(mnist_like(), p), {"activations": ACTS},
         ModelFileError, r"pickled Python objects.*state_dict\(\)"),
        (lambda p: torch.save(nn.Sequential(nn.Linear(3, 3), nn.BatchNorm1d(3))
                              .state_dict(), p), {"activations": "relu"},
         UnsupportedModelError, r"holds '1\.\w+' .* not the weight"),
        (lambda p: torch.save(mnist_like().state_dict(), p), {},
         InvalidParameterError, r"does not record the activations.*3: \['1', '3', "
         r"'5'\]"),
        (lambda p: torch.save(mnist_like().state_dict(), p),
         {"activations": ACTS, "layers": ["1", "5", "3"]},
         InvalidParameterError, "do not chain"),
        (lambda p: torch.save([1, 2], p), {"activations": "relu"},
         ModelFileError, "holds no state dict"),
        (lambda p: p.write_bytes(b"garbage"), {"activations": "relu"},
         ModelFileError, "not a readable PyTorch file"),
    ],
)  # fmt: skip
def test_torch_files_that_are_refused(tmp_path, save, options, error, match):
    path = tmp_path / "model.pt"
    save(path)
    with pytest.raises(error, match=match):
        adapt(path, **options)


def test_bad_safetensors_files(tmp_path):
    pytest.importorskip("safetensors")
    with pytest.raises(ModelFileError, match="no safetensors file"):
        adapt(tmp_path / "missing.safetensors", activations="relu")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{broken}")
    with pytest.raises(ModelFileError, match="not a readable safetensors file"):
        adapt(bad, activations="relu")
