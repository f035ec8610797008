"""``mlpinspect explore MODEL --data ... --out page.html``."""

from __future__ import annotations

import io
import json
import re
import zipfile

import numpy as np
import pytest

from mlpinspect import Network, load_mnist_sample, unit_atlas
from mlpinspect._cli_explore import read_examples
from mlpinspect.cli import main
from mlpinspect.errors import DatasetError
from mlpinspect.explorer._data import unpack


def _payload(path):
    text = path.read_text(encoding="utf-8")
    match = re.search(r'id="mlpinspect-data">(.*?)</script>', text, re.S)
    return json.loads(match.group(1))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "net.npz"
    Network([784, 12, 10], seed=3).save(path)
    return path


def test_explore_sample(model_file, tmp_path, capsys):
    out = tmp_path / "page.html"
    code = main(["explore", str(model_file), "--data", "sample", "--out", str(out),
                 "--n-examples", "60", "--k", "4", "--methods", "gradient_x_input",
                 "--title", "my net"])  # fmt: skip
    assert code == 0
    assert "wrote" in capsys.readouterr().err
    data = _payload(out)
    assert data["title"] == "my net" and data["n_examples"] == 60
    assert data["attribution"]["methods"] == ["gradient_x_input"]
    sample = load_mnist_sample(dtype=np.float64)
    atlas = unit_atlas(
        Network.load(model_file), sample.X_test[:60], sample.y_test[:60], k=4
    )
    np.testing.assert_array_equal(
        unpack(data["units"]["top_indices"]), atlas.top_indices
    )


def test_explore_npz_data(model_file, tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((30, 784))
    y = rng.integers(0, 10, 30)
    data_file = tmp_path / "data.npz"
    np.savez(data_file, X=X, y=y)
    out = tmp_path / "page.html"
    assert main(["explore", str(model_file), "--data", str(data_file), "--out",
                 str(out), "--methods", ""]) == 0  # fmt: skip
    data = _payload(out)
    assert data["attribution"] is None and data["n_examples"] == 30
    np.testing.assert_array_equal(unpack(data["labels"]), y)
    # Keras' layout: uint8 pixels, x_test / y_test.
    keras = tmp_path / "mnist.npz"
    np.savez(keras, x_test=(X * 255).astype(np.uint8).reshape(30, 28, 28))
    Xk, yk = read_examples(keras)
    assert yk is None and Xk.shape == (30, 28, 28) and Xk.max() <= 1.0


def test_errors_exit_1_with_a_message(model_file, tmp_path, capsys):
    out = tmp_path / "page.html"
    assert main(["explore", str(tmp_path / "missing.npz"), "--out", str(out)]) == 1
    assert "mlpinspect explore: error:" in capsys.readouterr().err
    empty = tmp_path / "empty.npz"
    np.savez(empty, images=np.zeros(3))
    assert (
        main(["explore", str(model_file), "--data", str(empty), "--out", str(out)]) == 1
    )
    assert "must hold an array X" in capsys.readouterr().err
    assert main(["explore", str(model_file), "--out", str(out), "--methods", "nope",
                 "--n-examples", "5"]) == 1  # fmt: skip
    assert "`methods` must name" in capsys.readouterr().err
    assert not out.exists()
    with pytest.raises(SystemExit):
        main(["explore", str(model_file), "--k", "0"])


def test_npz_that_promises_more_than_it_holds_is_refused(tmp_path):
    # A header declaring a huge array in a tiny entry: refused before numpy
    # allocates the declared array.
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buf, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**4)}
    )
    bomb = tmp_path / "bomb.npz"
    with zipfile.ZipFile(bomb, "w") as zf:
        zf.writestr("X.npy", buf.getvalue() + b"\0" * 64)
    with pytest.raises(DatasetError, match="declares 80,000,000,000 bytes"):
        read_examples(bomb)
    objects = tmp_path / "objects.npz"
    np.savez(objects, X=np.array([{"a": 1}], dtype=object))
    with pytest.raises(DatasetError, match="Python objects"):
        read_examples(objects)
    not_zip = tmp_path / "x.npz"
    not_zip.write_bytes(b"hello")
    with pytest.raises(DatasetError, match=r"not an \.npz"):
        read_examples(not_zip)
