"""How fast ``load_mnist`` reads the full MNIST from the cache, and its memory.

Usage::

    python benchmarks/load_speed.py [MNIST_FOLDER]

``MNIST_FOLDER`` (default: ``$MLPINSPECT_MNIST_DIR``, else
``../shared/data/mnist``) holds the four IDX files; they are copied into a
temporary cache folder, and ``load_mnist(cache_dir=..., download=False)`` is
timed there, as a user's second call would run.

Printed:

- seconds for the first load in a fresh process ("cold": the operating system
  must also hand over the result's 219 MB, which some virtual machines do
  slowly), next to the seconds a fresh process needs just to allocate and fill
  an array of the result's size: their ratio is the cost of reading, checking
  and converting;
- seconds for a repeated load in the same process ("warm", best of 3);
- the peak memory beyond the result, from ``tracemalloc`` (numpy reports its
  buffers to it), against a one-line naive loader (``gzip`` read, then
  ``astype(float32) / 255``).
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

from mlpinspect.datasets import load_mnist
from mlpinspect.datasets._mnist import MNIST_NAMES, find_files

MB = 1e6


def _load(cache: Path):
    return load_mnist(cache_dir=cache, download=False)


def _naive(cache: Path):
    out = []
    for name in MNIST_NAMES[::2]:
        with gzip.open(cache / f"{name}.gz") as f:
            data = f.read()
        pixels = np.frombuffer(data, dtype=np.uint8, offset=16).reshape(-1, 784)
        out.append(pixels.astype(np.float32) / 255)
    return out


def _child(mode: str, cache: Path) -> None:
    """Run in a fresh process: print the seconds one cold operation takes."""
    start = time.perf_counter()
    if mode == "load":
        _load(cache)
    else:  # allocate and fill the result's arrays, nothing else
        np.ones((60_000, 784), np.float32)
        np.ones((10_000, 784), np.float32)
    print(json.dumps(time.perf_counter() - start))


def _fresh(mode: str, cache: Path) -> float:
    env = dict(os.environ)
    env.pop("MLPINSPECT_MNIST_DIR", None)
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, str(cache)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(out.stdout)


def _peak_extra(function, cache: Path) -> tuple[float, float]:
    """(peak bytes during the call, bytes still held by its result)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    result = function(cache)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del result
    return peak - before, current - before


def main(argv: list[str]) -> int:
    if argv[:1] == ["--child"]:
        _child(argv[1], Path(argv[2]))
        return 0
    folder = Path(
        argv[0]
        if argv
        else os.environ.get("MLPINSPECT_MNIST_DIR", "../shared/data/mnist")
    )
    files, missing = find_files(folder, MNIST_NAMES)
    if missing:
        print(f"{folder} lacks {missing}; pass the MNIST folder as argument")
        return 1
    os.environ.pop("MLPINSPECT_MNIST_DIR", None)
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp)
        for name, path in files.items():
            with open(path, "rb") as src, open(cache / f"{name}.gz", "wb") as dst:
                data = src.read()
                # The cache holds what mirrors serve: gzip'd files.
                dst.write(data if data[:2] == b"\x1f\x8b" else gzip.compress(data))

        cold_load = min(_fresh("load", cache) for _ in range(2))
        cold_touch = min(_fresh("touch", cache) for _ in range(2))
        _load(cache)
        warm = []
        for _ in range(3):
            start = time.perf_counter()
            _load(cache)
            warm.append(time.perf_counter() - start)
        peak, held = _peak_extra(_load, cache)
        naive_peak, naive_held = _peak_extra(_naive, cache)
        shutil.rmtree(cache, ignore_errors=True)

    uint8_images = 70_000 * 784
    print("load_mnist from the cache (60,000 + 10,000 images, float32)")
    print(f"  cold load, fresh process:        {cold_load:6.3f} s")
    print(f"  allocate+fill result only:       {cold_touch:6.3f} s")
    print(f"  ratio cold load / allocate:      {cold_load / cold_touch:6.2f}")
    print(f"  warm load (best of 3):           {min(warm):6.3f} s")
    print(f"  result held:                     {held / MB:6.1f} MB")
    print(f"  peak during load:                {peak / MB:6.1f} MB")
    print(
        f"  peak extra beyond the result:    {(peak - held) / MB:6.1f} MB "
        f"({(peak - held) / uint8_images:.3f} x the uint8 images)"
    )
    print(
        f"  naive loader peak extra:         {(naive_peak - naive_held) / MB:6.1f} MB "
        f"(ratio naive / load_mnist: "
        f"{(naive_peak - naive_held) / max(peak - held, 1):.0f})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
