"""How big is the explorer page, and how fast does it open?

Trains the study's 784-30-10 sigmoid network (Nielsen's settings) on the
bundled MNIST sample (or the full MNIST with ``--data mnist``), writes its
explorer page with 1,000 test images (:func:`mlpinspect.explore`, every
default: four attribution methods) and prints

- the page's size (target: at most 5 MB) and how long ``explore`` took;
- how long the page takes to open in the system's Chromium from ``file://``
  (target: under 2 s), measured inside the page from the start of navigation
  to the ``load`` event and to the first view drawn (the page records
  ``performance.now()`` when its first view is in the DOM), in a fresh
  browser context each time (nothing cached), as the median and the worst of
  ``--repeat`` openings, for each of the four views.

Run: ``python benchmarks/explorer_size.py [--epochs 10] [--repeat 5]``.
Needs Playwright for Python and Chromium (``apt-get install chromium``).
"""

from __future__ import annotations

import argparse
import atexit
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import mlpinspect as mi

VIEWS = ("#layer", "#unit/0", "#class/8", "#example/0")


def study_network(data: str, epochs: int) -> tuple[mi.Network, np.ndarray, np.ndarray]:
    if data == "mnist":
        d = mi.load_mnist(dtype=np.float64)
        split = d.nielsen_split()
        train, (X_test, y_test) = (
            (split.train.X, split.train.y),
            (split.test.X, split.test.y),
        )
    else:
        d = mi.load_mnist_sample(dtype=np.float64)
        train, (X_test, y_test) = (d.X_train, d.y_train), (d.X_test, d.y_test)
    net = mi.Network([784, 30, 10], seed=0)
    net.fit(
        *train,
        epochs=epochs,
        batch_size=10,
        learning_rate=3.0,
        monitor=False,
        progress=False,
    )
    return net, X_test, y_test


def open_times(page: Path, repeat: int) -> dict[str, list[tuple[float, float]]]:
    """Per view, ``repeat`` pairs (ms to the load event, ms to the first view
    drawn), each in a fresh context."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no Chromium found (apt-get install chromium)")
    out: dict[str, list[tuple[float, float]]] = {v: [] for v in VIEWS}
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=chromium, headless=True, args=["--no-sandbox"]
        )
        try:
            for view in VIEWS:
                for _ in range(repeat):
                    context = browser.new_context(
                        viewport={"width": 1280, "height": 900}
                    )
                    tab = context.new_page()
                    tab.goto(page.as_uri() + view)
                    tab.wait_for_selector("body[data-ready]")
                    tab.wait_for_load_state("load")
                    load, ready = tab.evaluate(
                        "[performance.getEntriesByType('navigation')[0].loadEventEnd,"
                        " window.mlpinspectReady]"
                    )
                    out[view].append((load, ready))
                    context.close()
        finally:
            browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=("sample", "mnist"), default="sample")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    net, X_test, y_test = study_network(args.data, args.epochs)
    accuracy = net.score(X_test, y_test)
    folder = Path(tempfile.mkdtemp(prefix="mlpinspect-explorer-"))
    atexit.register(shutil.rmtree, folder, True)  # even when a run fails
    page = folder / "explorer.html"
    start = time.perf_counter()
    mi.explore(net, X_test, y_test, path=page, n_examples=args.examples)
    seconds = time.perf_counter() - start
    size = page.stat().st_size
    print(
        f"784-30-10 network ({args.epochs} epochs on {args.data}, test accuracy "
        f"{100 * accuracy:.1f}%), {args.examples} test images"
    )
    print(f"page size        {size / 1e6:6.2f} MB  ({size:,} bytes; target <= 5 MB)")
    print(f"explore() took   {seconds:6.2f} s")
    print(f"opening from file:// in Chromium, {args.repeat} fresh contexts per view:")
    print(f"{'view':<12} {'load event (ms)':>22} {'first view drawn (ms)':>26}")
    for view, pairs in open_times(page, args.repeat).items():
        load = [p[0] for p in pairs]
        ready = [p[1] for p in pairs]
        print(
            f"{view:<12} median {statistics.median(load):6.0f} max {max(load):6.0f}"
            f"   median {statistics.median(ready):6.0f} max {max(ready):6.0f}"
        )
    print("target: first view drawn < 2000 ms")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
