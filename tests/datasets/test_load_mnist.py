"""load_mnist: where it looks, in which order, and what it verifies.

These tests use small synthetic MNIST-shaped files and tell load_mnist to
expect their checksums (the ``fake_mnist`` fixture); the real data are tested
in test_real_mnist.py.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from mlpinspect.datasets import MNIST, MNIST_SHA256, load_mnist, save_idx
from mlpinspect.errors import DatasetError, DownloadError, InvalidParameterError

DEAD_MIRROR = ["http://127.0.0.1:9/"]  # nothing listens: a download would fail


def check_matches(data: MNIST, fake, dtype=np.float32) -> None:
    assert isinstance(data, MNIST)
    assert data.image_shape == (28, 28)
    for part in ("train", "test"):
        X = getattr(data, f"X_{part}")
        y = getattr(data, f"y_{part}")
        assert X.dtype == dtype
        assert y.dtype == np.int64
        assert np.array_equal(X, fake.expected_X(part, dtype))
        assert np.array_equal(y, fake.expected_y(part))


def test_published_checksums():
    # As listed in ../shared/data/README.md (and matching the MD5s of the
    # original files published with MNIST).
    assert dict(MNIST_SHA256) == {
        "train-images-idx3-ubyte": (
            "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"
        ),
        "train-labels-idx1-ubyte": (
            "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"
        ),
        "t10k-images-idx3-ubyte": (
            "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"
        ),
        "t10k-labels-idx1-ubyte": (
            "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"
        ),
    }


def test_from_path(fake_mnist, clean_env):
    data = load_mnist(fake_mnist.folder, mirrors=DEAD_MIRROR)
    check_matches(data, fake_mnist)
    assert str(fake_mnist.folder) in data.source
    assert not clean_env.exists()  # nothing was cached


def test_float64(fake_mnist, clean_env):
    data = load_mnist(str(fake_mnist.folder), dtype=np.float64)
    check_matches(data, fake_mnist, np.float64)


def test_uncompressed_and_dotted_names_in_a_folder(fake_mnist, clean_env, tmp_path):
    folder = tmp_path / "plain"
    folder.mkdir()
    for name, arr in fake_mnist.arrays.items():
        save_idx(folder / name.replace("-idx", ".idx"), arr)  # raw, e.g. Kaggle's
    check_matches(load_mnist(folder), fake_mnist)


def test_from_environment_variable(fake_mnist, clean_env, monkeypatch, tmp_path):
    monkeypatch.setenv("MLPINSPECT_MNIST_DIR", str(fake_mnist.folder))
    data = load_mnist(mirrors=DEAD_MIRROR)
    check_matches(data, fake_mnist)
    assert "MLPINSPECT_MNIST_DIR" in data.source
    # An explicit path comes first.
    other = tmp_path / "other"
    shutil.copytree(fake_mnist.folder, other)
    assert str(other) in load_mnist(other).source


def test_environment_folder_lacking_files(fake_mnist, clean_env, monkeypatch, tmp_path):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("MLPINSPECT_MNIST_DIR", str(tmp_path / "empty"))
    with pytest.raises(DatasetError, match="MLPINSPECT_MNIST_DIR") as info:
        load_mnist(mirrors=DEAD_MIRROR)
    assert "train-images-idx3-ubyte" in str(info.value)


def test_path_missing_a_file(fake_mnist, clean_env):
    fake_mnist.paths["t10k-labels-idx1-ubyte"].unlink()
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte") as info:
        load_mnist(fake_mnist.folder)
    assert str(fake_mnist.folder) in str(info.value)
    assert "train-images" not in str(info.value)


def test_path_that_is_a_file_or_absent(fake_mnist, clean_env, tmp_path):
    with pytest.raises(DatasetError, match="load_keras_mnist_npz"):
        load_mnist(fake_mnist.paths["train-images-idx3-ubyte"])
    with pytest.raises(DatasetError, match="does not exist"):
        load_mnist(tmp_path / "nowhere")


def test_checksum_mismatch_in_a_folder(fake_mnist, clean_env, monkeypatch):
    from mlpinspect.datasets import _mnist

    wrong = dict(fake_mnist.hashes, **{"t10k-images-idx3-ubyte": "ab" * 32})
    monkeypatch.setattr(_mnist, "MNIST_SHA256", wrong)
    with pytest.raises(DatasetError, match="checksum") as info:
        load_mnist(fake_mnist.folder)
    message = str(info.value)
    assert "t10k-images-idx3-ubyte" in message
    assert "ab" * 32 in message
    assert fake_mnist.hashes["t10k-images-idx3-ubyte"] in message


def test_real_checksums_reject_other_files(fake_mnist, clean_env, monkeypatch):
    from mlpinspect.datasets import _mnist

    monkeypatch.setattr(_mnist, "MNIST_SHA256", MNIST_SHA256)  # the real ones
    with pytest.raises(DatasetError, match="checksum") as info:
        load_mnist(fake_mnist.folder)
    assert MNIST_SHA256["train-images-idx3-ubyte"] in str(info.value)


def test_from_cache_without_network(fake_mnist, clean_env):
    shutil.copytree(fake_mnist.folder, clean_env)
    data = load_mnist(mirrors=DEAD_MIRROR)  # would fail if it tried to download
    check_matches(data, fake_mnist)
    assert str(clean_env) in data.source
    explicit = load_mnist(cache_dir=clean_env, download=False)
    check_matches(explicit, fake_mnist)


def test_no_download_allowed(fake_mnist, clean_env):
    with pytest.raises(DatasetError, match="download=False") as info:
        load_mnist(download=False)
    assert str(clean_env) in str(info.value)
    assert not clean_env.exists()


def test_download_into_the_default_cache(fake_mnist, clean_env, http_server):
    mirror = http_server.serve("mnist", fake_mnist.gz)
    data = load_mnist(mirrors=[mirror])
    check_matches(data, fake_mnist)
    assert sorted(p.name for p in clean_env.iterdir()) == sorted(fake_mnist.gz)
    assert sum(http_server.hits.values()) == 4
    # The second call reads the cache.
    check_matches(load_mnist(mirrors=[mirror]), fake_mnist)
    assert sum(http_server.hits.values()) == 4


def test_only_missing_files_are_downloaded(fake_mnist, clean_env, http_server):
    clean_env.mkdir(parents=True)
    shutil.copy(fake_mnist.paths["train-images-idx3-ubyte"], clean_env)
    mirror = http_server.serve("mnist", fake_mnist.gz)
    check_matches(load_mnist(mirrors=[mirror]), fake_mnist)
    assert http_server.hits["/mnist/train-images-idx3-ubyte.gz"] == 0
    assert sum(http_server.hits.values()) == 3


def test_failed_download_leaves_the_cache_empty(fake_mnist, clean_env, http_server):
    mirror = http_server.serve("mnist", fake_mnist.gz, kind="drop")
    with pytest.raises(DownloadError, match="train-images-idx3-ubyte"):
        load_mnist(mirrors=[mirror])
    assert list(clean_env.iterdir()) == []


def test_corrupt_cached_file_is_replaced(fake_mnist, clean_env, http_server):
    mirror = http_server.serve("mnist", fake_mnist.gz)
    load_mnist(mirrors=[mirror])
    cached = clean_env / "t10k-images-idx3-ubyte.gz"
    save_idx(cached, np.zeros((6, 28, 28), dtype=np.uint8))  # valid IDX, wrong data
    with pytest.raises(DatasetError, match="checksum"):
        load_mnist(download=False)
    assert cached.exists()  # without download=True nothing is deleted
    check_matches(load_mnist(mirrors=[mirror]), fake_mnist)
    assert http_server.hits["/mnist/t10k-images-idx3-ubyte.gz"] == 2


def test_explicit_cache_dir(fake_mnist, clean_env, http_server, tmp_path):
    mirror = http_server.serve("mnist", fake_mnist.gz)
    cache = tmp_path / "my-cache"
    check_matches(load_mnist(cache_dir=cache, mirrors=[mirror]), fake_mnist)
    assert len(list(cache.iterdir())) == 4
    assert not clean_env.exists()


def test_nielsen_split_of_small_data_is_proportional(fake_mnist, clean_env):
    data = load_mnist(fake_mnist.folder)  # 12 training images
    train, validation, _ = data.nielsen_split()
    assert len(train.X) == 10
    assert len(validation.X) == 2
    assert np.shares_memory(train.X, data.X_train)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"dtype": np.int32}, "`dtype`"),
        ({"dtype": "float16"}, "`dtype`"),
        ({"download": "yes"}, "`download`"),
        ({"mirrors": []}, "`mirrors`"),
        ({"mirrors": ["file:///tmp"]}, "`mirrors`"),
        ({"path": 42}, "`path`"),
        ({"cache_dir": 42}, "`cache_dir`"),
    ],
)
def test_bad_arguments(clean_env, kwargs, match):
    with pytest.raises(InvalidParameterError, match=match):
        load_mnist(**kwargs)
