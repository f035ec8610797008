"""Fixtures for the dataset tests: a local HTTP server and synthetic MNIST."""

from __future__ import annotations

import collections
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from mlpinspect.datasets import _mnist, save_idx
from mlpinspect.datasets._idx import decompressed_sha256

MNIST_NAMES = _mnist.MNIST_NAMES


class LocalServer:
    """Routes of a test HTTP server on 127.0.0.1.

    ``routes[path] = (kind, body)`` with kind ``"ok"`` (200 and the body),
    ``"error"`` (500), ``"drop"`` (200 announcing twice the body's length,
    then half the body and the connection closes), or ``"endless"`` (200
    with no length, then bytes forever; see :meth:`serve_endless`).
    """

    def __init__(self) -> None:
        self.routes: dict[str, tuple[str, bytes]] = {}
        self.hits: collections.Counter = collections.Counter()
        self.url = ""
        self.delays: dict[str, float] = {}

    def serve(self, prefix: str, files: dict[str, bytes], kind: str = "ok") -> str:
        """Serve ``files`` (name -> bytes) under ``/prefix/``; return its URL."""
        for name, body in files.items():
            self.routes[f"/{prefix}/{name}"] = (kind, body)
        return f"{self.url}/{prefix}/"

    def serve_endless(self, prefix: str, name: str, delay: float = 0.0) -> str:
        """Serve ``name.gz`` as an endless stream: 64 KB of zeros at a time
        without pause (``delay=0``), or one byte every ``delay`` seconds."""
        path = f"/{prefix}/{name}.gz"
        self.routes[path] = ("endless", b"")
        self.delays[path] = delay
        return f"{self.url}/{prefix}/"


@pytest.fixture
def http_server(monkeypatch):
    """A threaded HTTP server on 127.0.0.1 that the test configures."""
    # Make sure no proxy from the environment sits between us and 127.0.0.1.
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    state = LocalServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.hits[self.path] += 1
            kind, body = state.routes.get(self.path, ("missing", b""))
            try:
                if kind == "missing":
                    self.send_error(404)
                elif kind == "error":
                    self.send_response(500)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif kind == "ok":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                elif kind == "drop":
                    self.send_response(200)
                    self.send_header("Content-Length", str(2 * len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                elif kind == "endless":
                    self.send_response(200)
                    self.end_headers()
                    delay = state.delays[self.path]
                    piece = b"\x1f" if delay else bytes(65536)
                    for _ in range(10**6):  # bounded: the client gives up first
                        self.wfile.write(piece)
                        self.wfile.flush()
                        if delay:
                            time.sleep(delay)
                    self.close_connection = True
            except (BrokenPipeError, ConnectionResetError):  # client gave up
                pass

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    yield state
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No MNIST folder from the environment; the data cache inside tmp_path."""
    monkeypatch.delenv("MLPINSPECT_MNIST_DIR", raising=False)
    monkeypatch.setenv("MLPINSPECT_DATA_DIR", str(tmp_path / "data-cache"))
    return tmp_path / "data-cache" / "mnist"


class FakeMnist:
    """Small MNIST-shaped IDX files and their checksums."""

    def __init__(self, folder: Path, n_train: int = 12, n_test: int = 6) -> None:
        rng = np.random.default_rng(7)
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.arrays = {
            MNIST_NAMES[0]: rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            MNIST_NAMES[1]: rng.integers(0, 10, n_train, dtype=np.uint8),
            MNIST_NAMES[2]: rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            MNIST_NAMES[3]: rng.integers(0, 10, n_test, dtype=np.uint8),
        }
        self.paths = {
            name: save_idx(folder / f"{name}.gz", arr)
            for name, arr in self.arrays.items()
        }
        self.hashes = {n: decompressed_sha256(p) for n, p in self.paths.items()}
        self.gz = {f"{n}.gz": p.read_bytes() for n, p in self.paths.items()}

    def expected_X(self, part: str, dtype=np.float32) -> np.ndarray:
        images = self.arrays[MNIST_NAMES[0 if part == "train" else 2]]
        return (images.reshape(len(images), -1) / 255).astype(dtype)

    def expected_y(self, part: str) -> np.ndarray:
        return self.arrays[MNIST_NAMES[1 if part == "train" else 3]].astype(np.int64)


@pytest.fixture
def fake_mnist(tmp_path, monkeypatch):
    """Synthetic MNIST files whose checksums load_mnist is told to expect."""
    fake = FakeMnist(tmp_path / "fake-mnist")
    monkeypatch.setattr(_mnist, "MNIST_SHA256", dict(fake.hashes))
    return fake


@pytest.fixture(scope="session")
def real_mnist_dir():
    """The real MNIST folder from $MLPINSPECT_MNIST_DIR, or skip."""
    folder = os.environ.get("MLPINSPECT_MNIST_DIR")
    if not folder:
        pytest.skip("MLPINSPECT_MNIST_DIR is not set")
    folder = Path(folder)
    _, missing = _mnist.find_files(folder, MNIST_NAMES)
    if missing:
        pytest.skip(f"MLPINSPECT_MNIST_DIR={folder} lacks {missing}")
    return folder
