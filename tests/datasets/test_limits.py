"""Hardening of the data-set readers and the downloader (issue #13).

No file, server or argument can make a loader hang, allocate far more than
the file's size, return labels that are not MNIST's digits, or raise anything
but a library error. Pickles written by Python 3 with any protocol load; a
pickle naming any global beyond the few numpy arrays need is refused before
anything runs.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import os
import pickle
import signal
import stat
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from mlpinspect.datasets import (
    _fetch,
    _mnist,
    load_idx,
    load_keras_mnist_npz,
    load_mnist,
    load_mnist_sample,
    load_nielsen_pickle,
)
from mlpinspect.datasets._fetch import fetch_files
from mlpinspect.errors import (
    DatasetError,
    DownloadError,
    InvalidParameterError,
    MlpinspectError,
)

NAMES = ["train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"]


@contextlib.contextmanager
def no_hang(seconds: float = 60.0):
    """Fail instead of hanging the suite (a guard, not a measurement)."""

    def expire(signum, frame):
        raise AssertionError(f"still running after {seconds} s: it hangs")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


# -- dtype ----------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["bogus", None, "int8", np.complex64, 3, [1]])
def test_loaders_name_a_bad_dtype(dtype, tmp_path):
    """``np.dtype('float64') == None`` is True, so "bogus" (unreadable, then
    None) used to pass the check and fail later with an AttributeError."""
    images = np.zeros((2, 28, 28), np.uint8)
    npz = tmp_path / "mnist.npz"
    np.savez(npz, x_train=images, y_train=np.array([1, 2]), x_test=images,
             y_test=np.array([3, 4]))  # fmt: skip
    for load in (
        lambda: load_mnist_sample(dtype=dtype),
        lambda: load_keras_mnist_npz(npz, dtype=dtype),
        lambda: load_mnist(tmp_path, dtype=dtype),
    ):
        with pytest.raises(InvalidParameterError, match="`dtype`"):
            load()


# -- labels ---------------------------------------------------------------------------


def _keras_file(path, y_train, y_test=None):
    images = np.zeros((len(y_train), 28, 28), np.uint8)
    y_test = y_train if y_test is None else y_test
    np.savez(path, x_train=images, y_train=y_train, x_test=images, y_test=y_test)
    return path


@pytest.mark.parametrize(
    "labels",
    [
        np.array([-10, 1, 2]),
        np.array([2**40, 1, 2]),
        np.array([10, 1, 2]),
        np.array([0, 1, 2], np.uint64) - np.uint64(1),  # 2**64 - 1: wraps to -1
    ],
    ids=["-10", "2**40", "10", "uint64 wrap"],
)
def test_keras_npz_labels_out_of_range_are_refused(tmp_path, labels):
    path = _keras_file(tmp_path / "k.npz", labels)
    with pytest.raises(DatasetError, match="0 to 9"):
        load_keras_mnist_npz(path)


def _nielsen_file(path, labels, protocol=4, X=None):
    X = np.zeros((len(labels), 784), np.float32) if X is None else X
    part = (X, labels)
    with gzip.open(path, "wb") as fh:
        pickle.dump((part, part, part), fh, protocol=protocol)
    return path


@pytest.mark.parametrize(
    "labels",
    [np.array([-10, 1]), np.array([2**40, 1]), np.array([2**64 - 1, 1], np.uint64)],
    ids=["-10", "2**40", "uint64 wrap"],
)
def test_nielsen_pickle_labels_out_of_range_are_refused(tmp_path, labels):
    path = _nielsen_file(tmp_path / "n.pkl.gz", labels)
    with pytest.raises(DatasetError, match="0 to 9"):
        load_nielsen_pickle(path)


# -- Nielsen pickles: every protocol, nothing more ----------------------------------


@pytest.mark.parametrize("protocol", range(pickle.HIGHEST_PROTOCOL + 1))
@pytest.mark.parametrize("compressed", [True, False])
def test_nielsen_pickles_of_every_protocol_load(tmp_path, protocol, compressed):
    rng = np.random.default_rng(protocol)
    X = (rng.integers(0, 256, (5, 784)) / 256).astype(np.float32)
    y = rng.integers(0, 10, 5)
    part = (X, y)
    data = pickle.dumps((part, part, part), protocol=protocol)
    path = tmp_path / "mnist.pkl"
    path.write_bytes(gzip.compress(data) if compressed else data)
    train, validation, test = load_nielsen_pickle(path)
    for subset in (train, validation, test):
        np.testing.assert_array_equal(subset.X, X)
        np.testing.assert_array_equal(subset.y, y)
        assert subset.X.dtype == np.float32 and subset.y.dtype == np.int64


def test_fortran_ordered_arrays_load(tmp_path):
    X = np.asfortranarray(np.linspace(0, 1, 5 * 784).reshape(5, 784))
    path = _nielsen_file(tmp_path / "f.pkl.gz", np.arange(5), protocol=5, X=X)
    np.testing.assert_array_equal(load_nielsen_pickle(path).train.X, X)


class _Runs:
    """Pickles to something that would create ``marker`` if it ever ran."""

    def __init__(self, call, marker):
        self.call, self.marker = call, marker

    def __reduce__(self):
        if self.call == "system":
            return (os.system, (f"touch {self.marker}",))
        if self.call == "eval":
            return (eval, (f"open({str(self.marker)!r}, 'w')",))
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("call", ["system", "eval", "open"])
@pytest.mark.parametrize("protocol", [0, 2, 5])
def test_pickles_naming_other_globals_are_refused_before_running(
    tmp_path, call, protocol
):
    marker = tmp_path / "ran"
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps(_Runs(call, marker), protocol=protocol))
    with pytest.raises(DatasetError, match="refused"):
        load_nielsen_pickle(path)
    assert not marker.exists()


def test_codecs_encode_is_only_the_latin1_bytes_of_old_protocols(tmp_path):
    """Protocols 0-2 spell bytes as ``_codecs.encode(text, 'latin1')``; any
    other use of it is refused."""
    payload = b"c_codecs\nencode\n(Vabc\nVrot13\ntR."  # _codecs.encode('abc', 'rot13')
    path = tmp_path / "codec.pkl"
    path.write_bytes(payload)
    with pytest.raises(DatasetError, match="latin1"):
        load_nielsen_pickle(path)


def test_reconstruct_cannot_allocate_more_than_the_file_holds(tmp_path):
    """``_reconstruct(ndarray, shape, dtype)`` allocates ``shape``: a few
    bytes of pickle must not make it allocate terabytes."""
    payload = (
        b"\x80\x02cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\n"
        b"\x8a\x06\x00\x00\x00\x00\x00\x01\x85c_codecs\nencode\nX\x01\x00\x00\x00b"
        b"X\x06\x00\x00\x00latin1\x86R\x87R."
    )
    path = tmp_path / "big.pkl"
    path.write_bytes(payload)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError):
            load_nielsen_pickle(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_pickle_declaring_huge_bytes_is_refused_with_low_memory(tmp_path):
    """A BINBYTES8 opcode declaring 2**40 bytes in a 20-byte file."""
    payload = b"\x80\x04\x8e" + (2**40).to_bytes(8, "little") + b"abc"
    path = tmp_path / "declares.pkl"
    path.write_bytes(payload)
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError):
            load_nielsen_pickle(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_gzip_bomb_pickle_is_refused_with_low_memory(tmp_path):
    """64 MB of zeros gzip'd to 64 KB: far more than 100 times the file. It is
    refused once the allowance (100 times the file, or 16 MB for a file that
    small) is passed, without holding much more than the allowance."""
    from mlpinspect._io import EXPANSION_FLOOR, MAX_EXPANSION

    path = tmp_path / "bomb.pkl.gz"
    with gzip.open(path, "wb") as fh:
        for _ in range(64):
            fh.write(bytes(2**20))
    size = path.stat().st_size
    allowance = max(MAX_EXPANSION * size, EXPANSION_FLOOR)
    assert 2 * allowance < 64 * 2**20
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="times"):
            load_nielsen_pickle(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.5 * allowance + 2**20


# -- files that are not files -------------------------------------------------------


@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def test_readers_refuse_a_fifo_without_hanging(fifo, tmp_path):
    for load in (load_idx, load_nielsen_pickle, load_keras_mnist_npz):
        with no_hang(), pytest.raises(DatasetError, match="not a regular file"):
            load(fifo)
    folder = tmp_path / "mnist"
    folder.mkdir()
    for name in _mnist.MNIST_NAMES:
        os.mkfifo(folder / name)
    with no_hang(), pytest.raises(DatasetError, match="not a regular file"):
        load_mnist(folder)


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/urandom"])
def test_readers_refuse_devices(path):
    if not os.path.exists(path):
        pytest.skip(f"{path} does not exist here")
    for load in (load_idx, load_nielsen_pickle, load_keras_mnist_npz):
        with no_hang(), pytest.raises(DatasetError, match="not a regular file"):
            load(path)


def test_keras_npz_bomb_is_refused_with_low_memory(tmp_path):
    header = io.BytesIO()
    k = 320  # 320 * 1024 images of 28 x 28: 257 MB of zeros
    np.lib.format.write_array_header_1_0(
        header, {"descr": "|u1", "fortran_order": False, "shape": (k * 1024, 28, 28)}
    )
    path = tmp_path / "bomb.npz"
    with (
        zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf,
        zf.open("x_train.npy", "w", force_zip64=True) as member,
    ):
        member.write(header.getvalue())
        for _ in range(k):
            member.write(bytes(784 * 1024))
    size = path.stat().st_size
    tracemalloc.start()
    try:
        with pytest.raises(DatasetError, match="times"):
            load_keras_mnist_npz(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * size + 2**20


# -- the cache folder -----------------------------------------------------------------


@pytest.fixture
def served(http_server, fake_mnist):
    return http_server.serve("mnist", fake_mnist.gz)


@pytest.mark.parametrize("kind", ["a file", "under a file"])
def test_bad_cache_dir_is_named_before_any_download(
    http_server, served, clean_env, tmp_path, kind
):
    blocker = tmp_path / "blocker"
    blocker.write_text("not a folder")
    cache = blocker if kind == "a file" else blocker / "cache"
    with pytest.raises(MlpinspectError, match="`cache_dir`") as info:
        load_mnist(cache_dir=cache, mirrors=[served])
    assert isinstance(info.value, (InvalidParameterError, OSError))
    assert sum(http_server.hits.values()) == 0


def test_read_only_cache_dir_is_named_before_any_download(
    http_server, served, clean_env, tmp_path
):
    if os.geteuid() == 0:
        pytest.skip("root writes into read-only folders")
    cache = tmp_path / "ro"
    cache.mkdir()
    cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        with pytest.raises(MlpinspectError, match="`cache_dir`"):
            load_mnist(cache_dir=cache, mirrors=[served])
    finally:
        cache.chmod(stat.S_IRWXU)
    assert sum(http_server.hits.values()) == 0


def test_two_corrupt_cached_files_are_both_downloaded_again(
    http_server, served, fake_mnist, clean_env, tmp_path
):
    cache = tmp_path / "cache"
    load_mnist(cache_dir=cache, mirrors=[served])
    for name in (_mnist.MNIST_NAMES[0], _mnist.MNIST_NAMES[3]):
        path = cache / f"{name}.gz"
        data = bytearray(gzip.decompress(path.read_bytes()))
        data[-1] ^= 0xFF  # same size, wrong content
        path.write_bytes(gzip.compress(bytes(data)))
    hits_before = dict(http_server.hits)
    data = load_mnist(cache_dir=cache, mirrors=[served])
    np.testing.assert_array_equal(data.y_test, fake_mnist.expected_y("test"))
    for name in (_mnist.MNIST_NAMES[0], _mnist.MNIST_NAMES[3]):
        url = f"/mnist/{name}.gz"
        assert http_server.hits[url] == hits_before.get(url, 0) + 1
    for name in (_mnist.MNIST_NAMES[1], _mnist.MNIST_NAMES[2]):
        url = f"/mnist/{name}.gz"
        assert http_server.hits[url] == hits_before.get(url, 0)


# -- downloads: size cap and deadline ----------------------------------------------


def test_endless_stream_is_cut_at_the_expected_size(http_server, fake_mnist, tmp_path):
    mirror = http_server.serve_endless("endless", NAMES[0], delay=0)
    cache = tmp_path / "cache"
    hashes = {NAMES[0]: fake_mnist.hashes[NAMES[0]]}
    sizes = {NAMES[0]: 60008}
    tracemalloc.start()
    try:
        with pytest.raises(DownloadError, match="more than the expected"):
            fetch_files(NAMES[:1], hashes, [mirror], cache, sizes=sizes)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 2**20
    assert list(cache.iterdir()) == []


def test_announced_size_above_the_cap_is_refused_before_reading(
    http_server, fake_mnist, tmp_path
):
    body = bytes(200_000)
    mirror = http_server.serve("big", {f"{NAMES[0]}.gz": body})
    with pytest.raises(DownloadError, match="more than the expected"):
        fetch_files(NAMES[:1], {NAMES[0]: fake_mnist.hashes[NAMES[0]]}, [mirror],
                    tmp_path / "cache", sizes={NAMES[0]: 60008})  # fmt: skip


def test_slow_stream_is_stopped_at_the_deadline(http_server, fake_mnist, tmp_path):
    mirror = http_server.serve_endless("slow", NAMES[0], delay=0.05)
    cache = tmp_path / "cache"
    start = time.monotonic()
    with no_hang(), pytest.raises(DownloadError, match="deadline"):
        fetch_files(NAMES[:1], {NAMES[0]: fake_mnist.hashes[NAMES[0]]}, [mirror],
                    cache, deadline=1.0)  # fmt: skip
    assert time.monotonic() - start >= 1.0  # it did wait for the deadline
    assert list(cache.iterdir()) == []


def test_mnist_sizes_table_matches_the_checksums_table():
    assert set(_mnist.MNIST_BYTES) == set(_mnist.MNIST_SHA256)
    assert _mnist.MNIST_BYTES["train-images-idx3-ubyte"] == 16 + 60000 * 784
    assert _mnist.MNIST_BYTES["t10k-labels-idx1-ubyte"] == 8 + 10000


def test_default_deadline_is_finite():
    assert 0 < _fetch.DEADLINE <= 3600
