"""Speed and memory of the analyses on the study's 784-30-10 sigmoid network.

Times, on 10,000 MNIST images:

- ``decompose`` of every output unit and ``class_contributions``;
- integrated gradients (50 Gauss-Legendre steps, zero baseline) for the
  predicted class of every image, and the same with Captum's
  ``IntegratedGradients`` on the equivalent torch model (float64 and float32)
  in the same process, printing the ratio (target: mlpinspect >= 3x faster);
- a few other attribution methods, with their Captum counterparts;
- the peak memory (tracemalloc) of integrated gradients for the chosen
  ``--batch-size``, besides the result array itself.

Data: the full MNIST test set when ``MLPINSPECT_MNIST_DIR`` is set, else the
10,000 training images of the bundled sample, else random images (it says
which). The network is trained for ``--epochs`` epochs with
:class:`mlpinspect.network.Network` (random weights when ``--epochs 0``).

Run: ``python benchmarks/analysis_speed.py [--epochs 1] [--batch-size 8192]``.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from mlpinspect import MLP, Dense
from mlpinspect.analysis.attribution import DEFAULT_BATCH_SIZE, attribute


def load_images(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """``(X_train, y_train, X, y, description)`` with ``n`` images in ``X``."""
    try:
        from mlpinspect.datasets import load_mnist, load_mnist_sample
    except ImportError:
        load_mnist = load_mnist_sample = None
    if load_mnist is not None and os.environ.get("MLPINSPECT_MNIST_DIR"):
        data = load_mnist(download=False, dtype=np.float64)
        return (
            data.X_train[:50_000],
            data.y_train[:50_000],
            data.X_test[:n],
            data.y_test[:n],
            f"full MNIST ({data.source}): {min(n, data.n_test)} test images",
        )
    if load_mnist_sample is not None:
        data = load_mnist_sample(dtype=np.float64)
        return (
            data.X_train,
            data.y_train,
            data.X_train[:n],
            data.y_train[:n],
            f"bundled MNIST sample: its {min(n, data.n_train)} training images "
            f"(it has only {data.n_test} test images; MLPINSPECT_MNIST_DIR is not "
            f"set)",
        )
    rng = np.random.default_rng(0)
    X = rng.random((n, 784))
    y = rng.integers(0, 10, n)
    return X[:2000], y[:2000], X, y, f"random data: {n} uniform images"


def study_network(X_train: np.ndarray, y_train: np.ndarray, epochs: int) -> MLP:
    """The 784-30-10 sigmoid network, trained briefly when possible."""
    try:
        from mlpinspect.network import Network
    except ImportError:
        Network = None
    if Network is None:
        print("network: random N(0, 1) weights (mlpinspect.network is missing)")
        rng = np.random.default_rng(0)
        return MLP(
            [
                Dense(rng.normal(size=(30, 784)), rng.normal(size=30), "sigmoid"),
                Dense(rng.normal(size=(10, 30)), rng.normal(size=10), "sigmoid"),
            ],
            input_shape=(28, 28),
        )
    net = Network([784, 30, 10], seed=0)
    if epochs > 0:
        start = time.perf_counter()
        net.fit(
            X_train, y_train, epochs=epochs, batch_size=10, learning_rate=3.0,
            progress=False,
        )  # fmt: skip
        took = time.perf_counter() - start
        print(
            f"network: Network([784, 30, 10]) trained {epochs} epoch(s) on "
            f"{len(X_train)} images in {took:.1f} s"
        )
    else:
        print("network: Network([784, 30, 10]) with its random initial weights")
    return net.to_mlp()


def best_time(
    fn: Callable[[], Any], repeat: int, warm_up: bool = True
) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs, and the last result.

    An untimed first run pays for first-touch page faults and caches, which
    in a small virtual machine can cost more than the computation.
    """
    if warm_up:
        fn()
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (tracemalloc) while ``fn`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def torch_model(mlp: MLP, dtype: Any):
    """The network up to the output pre-activation, as a torch Sequential."""
    import torch
    from torch import nn

    modules: list[Any] = []
    for i, dense in enumerate(mlp.layers):
        linear = nn.Linear(dense.n_in, dense.n_out).to(dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(dense.weight)))
            linear.bias.copy_(torch.from_numpy(np.array(dense.bias)))
        modules.append(linear)
        if i < len(mlp.layers) - 1:
            modules.append(nn.Sigmoid())
    return nn.Sequential(*modules).eval()


def captum_in_chunks(explainer: Any, X: np.ndarray, target: np.ndarray, rows: int,
                     dtype: Any, **kwargs: Any) -> np.ndarray:  # fmt: skip
    """Run a Captum method over ``X`` in chunks of ``rows`` images."""
    import torch

    out = []
    for start in range(0, len(X), rows):
        xs = torch.from_numpy(X[start : start + rows]).to(dtype)
        ts = torch.from_numpy(target[start : start + rows])
        out.append(explainer.attribute(xs, target=ts, **kwargs).detach().numpy())
    return np.concatenate(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--n-steps", type=int, default=50)
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-captum", action="store_true")
    args = parser.parse_args()

    X_train, y_train, X, y, source = load_images(args.n_images)
    print(f"data: {source}")
    mlp = study_network(X_train, y_train, args.epochs)
    predicted = mlp.predict(X)
    print(f"model: {mlp}; accuracy on these images {np.mean(predicted == y):.3f}")
    n, steps, batch = len(X), args.n_steps, args.batch_size
    print(f"\n{n} images; chunk_size={batch} rows; best of {args.repeat} runs\n")

    try:
        from mlpinspect.analysis import class_contributions, decompose
    except ImportError:
        print("decompose / class_contributions: not available yet, skipped")
    else:
        took, _ = best_time(lambda: decompose(mlp, X), args.repeat)
        print(f"decompose (all 10 outputs)        {took * 1e3:9.1f} ms")
        took, _ = best_time(lambda: class_contributions(mlp, X, y), args.repeat)
        print(f"class_contributions               {took * 1e3:9.1f} ms")

    def ours_ig():
        return attribute(mlp, X, predicted, n_steps=steps, batch_size=batch)

    took_ig, result = best_time(ours_ig, args.repeat)
    worst = np.abs(result.completeness_error).max()
    print(
        f"integrated gradients, {steps} steps    {took_ig * 1e3:9.1f} ms  "
        f"(max |completeness error| {worst:.1e})"
    )
    for method in ("gradient", "deeplift", "lrp", "occlusion"):
        took, _ = best_time(
            lambda m=method: attribute(mlp, X, predicted, m, batch_size=batch),
            args.repeat,
        )
        print(f"{method:<34}{took * 1e3:9.1f} ms")

    result_bytes = X.size * 8
    for size in sorted({1024, batch, 4 * batch}):
        peak = peak_memory(
            lambda s=size: attribute(mlp, X, predicted, n_steps=steps, chunk_size=s)
        )
        print(
            f"peak memory, integrated gradients, chunk_size={size:>6}: "
            f"{peak / 2**20:7.1f} MiB ({(peak - result_bytes) / 2**20:6.1f} MiB "
            f"besides the {result_bytes / 2**20:.1f} MiB result)"
        )

    if args.no_captum:
        return
    try:
        import torch
        from captum.attr import DeepLift, IntegratedGradients, Saliency
    except ImportError:
        print("\ncaptum / torch not installed: no comparison")
        return
    print(
        f"\nCaptum (torch {torch.__version__}, {torch.get_num_threads()} threads); "
        f"each ratio from runs interleaved with mlpinspect's (the machine's load "
        f"average is {os.getloadavg()[0]:.1f})"
    )
    chunk = max(1, batch // steps)  # the same rows per pass as mlpinspect
    runs: dict[str, Callable[[], Any]] = {"ours": ours_ig}
    for dtype in (torch.float64, torch.float32):
        ig = IntegratedGradients(torch_model(mlp, dtype))
        runs[str(dtype)] = lambda ig=ig, dt=dtype: captum_in_chunks(
            ig, X, predicted, chunk, dt, n_steps=steps, method="gausslegendre"
        )
    best, last = interleaved(runs, args.repeat)
    for key in runs:
        if key == "ours":
            continue
        theirs = last[key]
        diff = np.abs(theirs - result.values).max() / np.abs(result.values).max()
        print(
            f"IntegratedGradients {key:<14} {best[key] * 1e3:9.1f} ms  "
            f"ratio {best[key] / best['ours']:5.1f}x  vs {best['ours'] * 1e3:.1f} ms "
            f"(max rel. difference {diff:.1e})"
        )
    model = torch_model(mlp, torch.float64)
    for name, explainer, kwargs in (
        ("gradient", Saliency(model), {"abs": False}),
        ("deeplift", DeepLift(model), {}),
    ):
        best, _ = interleaved(
            {
                "ours": lambda m=name: attribute(
                    mlp, X, predicted, m, batch_size=batch
                ),
                "captum": lambda e=explainer, k=kwargs: captum_in_chunks(
                    e, X, predicted, batch, torch.float64, **k
                ),
            },
            args.repeat,
        )
        print(
            f"{type(explainer).__name__:<19} torch.float64  "
            f"{best['captum'] * 1e3:9.1f} ms  ratio "
            f"{best['captum'] / best['ours']:5.1f}x  vs {best['ours'] * 1e3:.1f} ms"
        )


def interleaved(
    runs: dict[str, Callable[[], Any]], repeat: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Best time and last result of each run, the runs taking turns.

    Taking turns makes a change of the machine's load affect every run alike.
    """
    best = dict.fromkeys(runs, float("inf"))
    last: dict[str, Any] = {}
    for fn in runs.values():  # warm up
        fn()
    for _ in range(repeat):
        for key, fn in runs.items():
            took, last[key] = best_time(fn, 1, warm_up=False)
            best[key] = min(best[key], took)
    return best, last


if __name__ == "__main__":
    main()
