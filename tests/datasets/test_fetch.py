"""The download path, for real, against an HTTP server on 127.0.0.1."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from mlpinspect.datasets import MNIST_MIRRORS, load_idx, mnist_cache_dir
from mlpinspect.datasets._fetch import check_mirrors, fetch_files
from mlpinspect.errors import DatasetError, DownloadError, InvalidParameterError

NAMES = ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"]


@pytest.fixture
def files(fake_mnist):
    """Two small gzip'd IDX files (name.gz -> bytes) and their checksums."""
    served = {f"{n}.gz": fake_mnist.gz[f"{n}.gz"] for n in NAMES}
    hashes = {n: fake_mnist.hashes[n] for n in NAMES}
    return served, hashes, fake_mnist


def listing(folder):
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_download_success(http_server, files, tmp_path):
    served, hashes, fake = files
    mirror = http_server.serve("mnist", served)
    cache = tmp_path / "cache"
    found = fetch_files(NAMES, hashes, [mirror], cache)
    assert listing(cache) == sorted(served)  # no temporary file left
    for name in NAMES:
        assert found[name] == cache / f"{name}.gz"
        np.testing.assert_array_equal(
            load_idx(found[name], sha256=hashes[name]), fake.arrays[name]
        )
        assert http_server.hits[f"/mnist/{name}.gz"] == 1


def test_checksum_mismatch_leaves_nothing(http_server, files, tmp_path):
    served, hashes, _ = files
    swapped = dict(zip(served, reversed(served.values())))  # each gets the other
    mirror = http_server.serve("mnist", swapped)
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="checksum mismatch") as info:
        fetch_files(NAMES, hashes, [mirror], cache)
    message = str(info.value)
    assert NAMES[0] in message
    assert hashes[NAMES[0]] in message  # expected
    assert hashes[NAMES[1]] in message  # what came
    assert mirror in message
    assert listing(cache) == []
    assert isinstance(info.value, DatasetError)
    assert isinstance(info.value, OSError)


def test_server_error_leaves_nothing(http_server, files, tmp_path):
    served, hashes, _ = files
    mirror = http_server.serve("mnist", served, kind="error")
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError, match="500") as info:
        fetch_files(NAMES, hashes, [mirror], cache)
    assert f"{NAMES[0]}.gz" in str(info.value)
    assert listing(cache) == []


def test_missing_file_on_server(http_server, files, tmp_path):
    _, hashes, _ = files
    mirror = http_server.serve("empty", {})
    with pytest.raises(DownloadError, match="404"):
        fetch_files(NAMES, hashes, [mirror], tmp_path / "cache")
    assert listing(tmp_path / "cache") == []


def test_connection_dropped_mid_file_leaves_nothing(http_server, files, tmp_path):
    served, hashes, _ = files
    mirror = http_server.serve("mnist", served, kind="drop")
    cache = tmp_path / "cache"
    with pytest.raises(DownloadError) as info:
        fetch_files(NAMES, hashes, [mirror], cache)
    assert f"{mirror}{NAMES[0]}.gz" in str(info.value)
    assert "IncompleteRead" in str(info.value)  # the transport noticed
    assert http_server.hits[f"/mnist/{NAMES[0]}.gz"] == 1
    assert listing(cache) == []


def test_unreachable_mirror(files, tmp_path):
    _, hashes, _ = files
    with pytest.raises(DownloadError, match=r"127\.0\.0\.1:9"):
        fetch_files(NAMES, hashes, ["http://127.0.0.1:9/"], tmp_path / "cache")
    assert listing(tmp_path / "cache") == []


def test_next_mirror_is_tried(http_server, files, tmp_path):
    served, hashes, fake = files
    broken = http_server.serve("broken", served, kind="error")
    good = http_server.serve("good", served)
    cache = tmp_path / "cache"
    found = fetch_files(NAMES, hashes, [broken, good], cache)
    assert listing(cache) == sorted(served)
    np.testing.assert_array_equal(load_idx(found[NAMES[1]]), fake.arrays[NAMES[1]])
    assert http_server.hits[f"/broken/{NAMES[0]}.gz"] == 1
    assert http_server.hits[f"/good/{NAMES[0]}.gz"] == 1


def test_error_lists_every_mirror(http_server, files, tmp_path):
    served, hashes, _ = files
    mirrors = [
        http_server.serve("a", served, kind="error"),
        http_server.serve("b", served, kind="drop"),
        http_server.serve("c", dict(zip(served, reversed(served.values())))),
    ]
    with pytest.raises(DownloadError) as info:
        fetch_files(NAMES, hashes, mirrors, tmp_path / "cache")
    lines = str(info.value).splitlines()
    for mirror in mirrors:
        assert sum(line.strip().startswith(mirror) for line in lines) == 1
    assert "500" in str(info.value)
    assert "checksum mismatch" in str(info.value)
    assert listing(tmp_path / "cache") == []


def test_uncompressed_file_is_accepted_and_named_so(http_server, files, tmp_path):
    served, hashes, fake = files
    raw = {name: gzip.decompress(body) for name, body in served.items()}
    mirror = http_server.serve("raw", raw)
    found = fetch_files(NAMES, hashes, [mirror], tmp_path / "cache")
    assert listing(tmp_path / "cache") == sorted(NAMES)
    np.testing.assert_array_equal(load_idx(found[NAMES[0]]), fake.arrays[NAMES[0]])


def test_earlier_files_stay_when_a_later_one_fails(http_server, files, tmp_path):
    served, hashes, _ = files
    only_first = {f"{NAMES[0]}.gz": served[f"{NAMES[0]}.gz"]}
    mirror = http_server.serve("half", only_first)
    cache = tmp_path / "cache"
    (cache).mkdir()
    (cache / "unrelated.txt").write_text("keep me")
    with pytest.raises(DownloadError, match=NAMES[1]):
        fetch_files(NAMES, hashes, [mirror], cache)
    # The first file verified and may stay; the second left nothing.
    assert listing(cache) == sorted([f"{NAMES[0]}.gz", "unrelated.txt"])
    load_idx(cache / f"{NAMES[0]}.gz", sha256=hashes[NAMES[0]])


def test_interrupted_download_leaves_nothing(files, tmp_path):
    _, hashes, _ = files

    class Interrupting:
        def __call__(self, url, output_file, pooch):
            with open(output_file, "wb") as f:
                f.write(b"\x1f\x8b partial")
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        fetch_files(
            NAMES,
            hashes,
            ["http://example.invalid/"],
            tmp_path / "cache",
            downloader=lambda url: Interrupting(),
        )
    assert listing(tmp_path / "cache") == []


def test_partial_file_from_downloader_is_never_kept(files, tmp_path):
    served, hashes, _ = files
    body = served[f"{NAMES[0]}.gz"]

    class Truncating:
        def __call__(self, url, output_file, pooch):
            with open(output_file, "wb") as f:
                f.write(body[: len(body) // 2])

    with pytest.raises(DownloadError, match="truncated"):
        fetch_files(
            NAMES[:1],
            hashes,
            ["http://example.invalid/"],
            tmp_path / "cache",
            downloader=lambda url: Truncating(),
        )
    assert listing(tmp_path / "cache") == []


def test_mirror_validation():
    assert check_mirrors(None) == MNIST_MIRRORS
    assert check_mirrors("https://x.org/m/") == ("https://x.org/m/",)
    assert all(m.startswith("https://") for m in MNIST_MIRRORS)
    with pytest.raises(InvalidParameterError, match="at least one"):
        check_mirrors([])
    with pytest.raises(InvalidParameterError, match="http"):
        check_mirrors(["file:///tmp/mnist"])
    with pytest.raises(InvalidParameterError, match="http"):
        check_mirrors([3])
    with pytest.raises(InvalidParameterError, match="sequence"):
        check_mirrors(3)


def test_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MLPINSPECT_DATA_DIR", str(tmp_path))
    assert mnist_cache_dir() == tmp_path / "mnist"
    monkeypatch.delenv("MLPINSPECT_DATA_DIR")
    default = mnist_cache_dir()
    assert default.name == "mnist"
    assert "mlpinspect" in str(default)
