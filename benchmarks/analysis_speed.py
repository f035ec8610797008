"""Speed of the analyses on the study's 784-30-10 network, against Captum.

Every attribution method that Captum also has runs on the same float64 model
(a ``torch.nn.Sequential`` with the same weights) and the same images, the
two libraries taking turns in one process; the table gives the best time of
each, the ratio (Captum's time over mlpinspect's) and the largest relative
difference of their results:

- on the study's sigmoid network (trained ``--epochs`` epochs):
  ``gradient`` (``Saliency``), ``gradient_x_input`` (``InputXGradient``),
  integrated gradients with 50 Gauss-Legendre steps
  (``IntegratedGradients``, in float64 and in float32), ``deeplift``
  (``DeepLift``), ``noise_tunnel`` (``NoiseTunnel(Saliency)``),
  ``gradient_shap`` (``GradientShap``), ``occlusion`` one pixel at a time
  (``Occlusion`` with a 1-pixel window: Captum's run on ``--occlusion-images``
  images only, it is slow) and ``infidelity`` (``captum.metrics``);
- on a ReLU network of the same shape: ``lrp`` (``LRP``) and integrated
  gradients, exact for ReLU networks, against Captum's 50 steps.

Targets (ISSUE 14): integrated gradients >= 20x Captum, DeepLIFT and saliency
>= 5x, occlusion >= 5x ``Occlusion``. Also printed: ``decompose`` and
``class_contributions``, mlpinspect's occlusion on all the images, and the
peak memory (tracemalloc) of integrated gradients for a few ``chunk_size``.

Data: the full MNIST test set when ``MLPINSPECT_MNIST_DIR`` is set, else the
10,000 training images of the bundled sample, else random images (it says
which).

Run: ``python benchmarks/analysis_speed.py [--epochs 1] [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import numpy as np

from mlpinspect import MLP, attribute, infidelity
from mlpinspect.analysis.attribution import DEFAULT_CHUNK_SIZE


def load_images(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, str]:
    """``(X_train, y_train, X, y, description)`` with ``n`` images in ``X``."""
    from mlpinspect.datasets import load_mnist, load_mnist_sample

    if os.environ.get("MLPINSPECT_MNIST_DIR"):
        data = load_mnist(download=False, dtype=np.float64)
        return (
            data.X_train[:50_000],
            data.y_train[:50_000],
            data.X_test[:n],
            data.y_test[:n],
            f"full MNIST ({data.source}): {min(n, data.n_test)} test images",
        )
    data = load_mnist_sample(dtype=np.float64)
    return (
        data.X_train,
        data.y_train,
        data.X_train[:n],
        data.y_train[:n],
        f"bundled MNIST sample: its {min(n, data.n_train)} training images "
        f"(MLPINSPECT_MNIST_DIR is not set)",
    )


def trained(X: np.ndarray, y: np.ndarray, epochs: int, activation: Any) -> MLP:
    """A 784-30-10 network trained ``epochs`` epochs (random when 0)."""
    from mlpinspect.network import Network

    init = "normal" if activation == "sigmoid" else "he"
    net = Network([784, 30, 10], activation, init=init, seed=0)
    if epochs > 0:
        lr = 3.0 if activation == "sigmoid" else 0.1
        net.fit(X, y, epochs=epochs, batch_size=10, learning_rate=lr, progress=False)
    return net.to_mlp()


def best_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The fastest of ``repeat`` runs after an untimed one, and the last result."""
    fn()
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return min(times), result


def interleaved(
    runs: dict[str, Callable[[], Any]], repeat: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Best time and last result of each run, the runs taking turns (so that a
    change of the machine's load affects every run alike)."""
    best = dict.fromkeys(runs, float("inf"))
    last: dict[str, Any] = {}
    for fn in runs.values():  # warm up: first-touch page faults, caches
        fn()
    for _ in range(repeat):
        for key, fn in runs.items():
            start = time.perf_counter()
            last[key] = fn()
            best[key] = min(best[key], time.perf_counter() - start)
    return best, last


def peak_memory(fn: Callable[[], Any]) -> int:
    """Peak bytes allocated (tracemalloc) while ``fn`` runs."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def torch_model(mlp: MLP, dtype: Any) -> Any:
    """The network up to the output pre-activation, as a torch Sequential."""
    import torch
    from torch import nn

    modules: list[Any] = []
    act = {"sigmoid": nn.Sigmoid, "relu": nn.ReLU}
    for i, dense in enumerate(mlp.layers):
        linear = nn.Linear(dense.n_in, dense.n_out).to(dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.array(dense.weight)))
            linear.bias.copy_(torch.from_numpy(np.array(dense.bias)))
        modules.append(linear)
        if i < len(mlp.layers) - 1:
            modules.append(act[dense.activation]())
    return nn.Sequential(*modules).eval()


def captum_chunks(
    call: Callable[..., Any], X: np.ndarray, target: np.ndarray, rows: int, dtype: Any
) -> np.ndarray:
    """Run a Captum ``attribute`` over ``X`` in chunks of ``rows`` images."""
    import torch

    out = []
    for start in range(0, len(X), rows):
        xs = torch.from_numpy(X[start : start + rows]).to(dtype)
        ts = torch.from_numpy(target[start : start + rows])
        out.append(call(xs, ts).detach().numpy())
    return np.concatenate(out)


def difference(ours: np.ndarray, theirs: np.ndarray) -> float:
    ours, theirs = np.asarray(ours).reshape(-1), np.asarray(theirs).reshape(-1)
    return float(np.abs(ours - theirs).max() / max(np.abs(theirs).max(), 1e-300))


class Table:
    """Rows ``method | mlpinspect | Captum | ratio | difference``, printed as run."""

    def __init__(self) -> None:
        print(
            f"{'method (Captum)':<46}{'mlpinspect':>12}{'Captum':>12}{'ratio':>8}"
            f"{'max rel. diff':>15}"
        )
        self.ratios: dict[str, float] = {}

    def row(self, name: str, ours: float, theirs: float, diff: float | None) -> None:
        ratio = theirs / ours
        self.ratios[name] = ratio
        text = "-" if diff is None else f"{diff:.1e}"
        print(
            f"{name:<46}{ours * 1e3:>10.1f}ms{theirs * 1e3:>10.1f}ms{ratio:>7.1f}x"
            f"{text:>15}",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-images", type=int, default=10_000)
    parser.add_argument("--occlusion-images", type=int, default=250)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--n-steps", type=int, default=50)
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    X_train, y_train, X, y, source = load_images(args.n_images)
    print(f"data: {source}")
    mlp = trained(X_train, y_train, args.epochs, "sigmoid")
    relu = trained(X_train, y_train, args.epochs, ["relu", "sigmoid"])
    predicted = mlp.predict(X)
    relu_predicted = relu.predict(X)
    print(f"sigmoid model: {mlp}; accuracy {np.mean(predicted == y):.3f}")
    print(f"ReLU model: {relu}; accuracy {np.mean(relu_predicted == y):.3f}")
    n, steps, chunk, repeat = len(X), args.n_steps, args.chunk_size, args.repeat
    print(f"{n} images; chunk_size={chunk}; best of {repeat} interleaved runs\n")

    from mlpinspect.analysis import class_contributions, decompose

    took, _ = best_time(lambda: decompose(mlp, X), repeat)
    print(f"decompose (all 10 outputs)        {took * 1e3:9.1f} ms")
    took, _ = best_time(lambda: class_contributions(mlp, X, y), repeat)
    print(f"class_contributions               {took * 1e3:9.1f} ms")
    took, _ = best_time(
        lambda: attribute(mlp, X, predicted, method="occlusion"), repeat
    )
    print(f"occlusion, 1 pixel, all {n} images {took * 1e3:9.1f} ms")
    took, ig = best_time(lambda: attribute(mlp, X, predicted, n_steps=steps), repeat)
    worst = np.abs(ig.completeness_error).max()
    print(
        f"integrated gradients, {steps} steps    {took * 1e3:9.1f} ms  "
        f"(max |completeness error| {worst:.1e})"
    )
    result_bytes = X.size * 8
    for size in sorted({1024, chunk, 4 * chunk}):
        peak = peak_memory(
            lambda s=size: attribute(mlp, X, predicted, n_steps=steps, chunk_size=s)
        )
        print(
            f"peak memory, integrated gradients, chunk_size={size:>6}: "
            f"{peak / 2**20:7.1f} MiB ({(peak - result_bytes) / 2**20:6.1f} MiB "
            f"besides the {result_bytes / 2**20:.1f} MiB result)"
        )

    try:
        import torch
        from captum import attr as captum_attr
        from captum.metrics import infidelity as captum_infidelity
    except ImportError:
        print("\ncaptum / torch not installed: no comparison")
        return
    import warnings

    warnings.filterwarnings("ignore", category=UserWarning)  # Captum's notices
    print(
        f"\nmlpinspect against Captum (torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads; load average "
        f"{os.getloadavg()[0]:.1f}); ratio = Captum's time / mlpinspect's\n"
    )
    f64 = torch.float64
    model = torch_model(mlp, f64)
    table = Table()

    def compare(name, ours, theirs, rows=n):
        best, last = interleaved({"ours": ours, "captum": theirs}, repeat)
        values = (
            last["ours"].values if hasattr(last["ours"], "values") else last["ours"]
        )
        table.row(
            name, best["ours"], best["captum"], difference(values, last["captum"])
        )

    sal = captum_attr.Saliency(model)
    compare(
        "gradient (Saliency, abs=False)",
        lambda: attribute(mlp, X, predicted, method="gradient", chunk_size=chunk),
        lambda: captum_chunks(
            lambda x, t: sal.attribute(x, target=t, abs=False), X, predicted, chunk, f64
        ),
    )
    ixg = captum_attr.InputXGradient(model)
    compare(
        "gradient_x_input (InputXGradient)",
        lambda: attribute(mlp, X, predicted, method="gradient_x_input"),
        lambda: captum_chunks(
            lambda x, t: ixg.attribute(x, target=t), X, predicted, chunk, f64
        ),
    )
    rows = max(1, chunk // steps)  # the same samples x steps per pass
    for dtype in (torch.float64, torch.float32):
        ig_c = captum_attr.IntegratedGradients(torch_model(mlp, dtype))
        compare(
            f"integrated_gradients (IntegratedGradients, {str(dtype)[6:]})",
            lambda: attribute(mlp, X, predicted, n_steps=steps, chunk_size=chunk),
            lambda ig_c=ig_c, dtype=dtype: captum_chunks(
                lambda x, t: ig_c.attribute(
                    x, target=t, n_steps=steps, method="gausslegendre"
                ),
                X,
                predicted,
                rows,
                dtype,
            ),
        )
    dl = captum_attr.DeepLift(model)
    compare(
        "deeplift (DeepLift)",
        lambda: attribute(mlp, X, predicted, method="deeplift"),
        lambda: captum_chunks(
            lambda x, t: dl.attribute(x, target=t), X, predicted, chunk, f64
        ),
    )
    nt_samples = 10
    noise = np.random.default_rng(0).normal(scale=0.15, size=(n, nt_samples, 784))
    noise = noise.astype(np.float32).astype(np.float64)  # what Captum draws
    nt = captum_attr.NoiseTunnel(sal)
    nt_rows = max(1, chunk // nt_samples)

    def captum_noise_tunnel():
        real, offset = torch.normal, [0]

        def normal(mean, std, *a, **k):  # hand Captum the same draws
            m = std.shape[0] // nt_samples
            part = noise[offset[0] : offset[0] + m].reshape(std.shape)
            offset[0] += m
            return torch.from_numpy(part)

        torch.normal = normal
        try:
            return captum_chunks(
                lambda x, t: nt.attribute(
                    x, target=t, nt_samples=nt_samples, stdevs=0.15, abs=False
                ),
                X,
                predicted,
                nt_rows,
                f64,
            )
        finally:
            torch.normal = real

    compare(
        f"noise_tunnel, {nt_samples} samples (NoiseTunnel(Saliency))",
        lambda: attribute(
            mlp, X, predicted, method="noise_tunnel", noise=noise, nt_samples=nt_samples
        ),
        captum_noise_tunnel,
    )
    gs = captum_attr.GradientShap(model)
    references = X_train[:100]
    ns = 5
    compare(
        f"gradient_shap, {ns} samples (GradientShap, own draws)",
        lambda: attribute(
            mlp,
            X,
            predicted,
            method="gradient_shap",
            baseline=references,
            n_samples=ns,
            seed=0,
        ),
        lambda: captum_chunks(
            lambda x, t: gs.attribute(
                x, baselines=torch.from_numpy(references), n_samples=ns, target=t
            ),
            X,
            predicted,
            max(1, chunk // ns),
            f64,
        ),
    )
    table.ratios.pop(f"gradient_shap, {ns} samples (GradientShap, own draws)")
    m = min(args.occlusion_images, n)
    occ_c = captum_attr.Occlusion(model)
    compare(
        f"occlusion, 1 pixel, {m} images (Occlusion)",
        lambda: attribute(mlp, X[:m], predicted[:m], method="occlusion"),
        lambda: captum_chunks(
            lambda x, t: occ_c.attribute(
                x, target=t, sliding_window_shapes=(1,), perturbations_per_eval=16
            ),
            X[:m],
            predicted[:m],
            m,
            f64,
        ),
    )
    result = attribute(mlp, X, predicted, method="deeplift")
    S = 10
    pert = np.random.default_rng(1).normal(scale=0.1, size=(n, S, 784))

    def captum_infid():
        rows_i = max(1, chunk // S)
        out = []
        for start in range(0, n, rows_i):
            part = slice(start, start + rows_i)
            p = torch.from_numpy(pert[part].reshape(-1, 784))
            out.append(
                captum_infidelity(
                    model,
                    lambda inputs, p=p: (p, inputs - p),
                    torch.from_numpy(X[part]),
                    torch.from_numpy(np.ascontiguousarray(result.values[part])),
                    target=torch.from_numpy(predicted[part]),
                    n_perturb_samples=S,
                ).numpy()
            )
        return np.concatenate(out)

    compare(
        f"infidelity, {S} perturbations (captum.metrics)",
        lambda: infidelity(mlp, result, perturbations=pert),
        captum_infid,
    )

    print()
    relu_model = torch_model(relu, f64)
    lrp_c = captum_attr.LRP(relu_model)
    compare(
        "lrp, ReLU network (LRP, epsilon=1e-9)",
        lambda: attribute(relu, X, relu_predicted, method="lrp", epsilon=1e-9),
        lambda: captum_chunks(
            lambda x, t: lrp_c.attribute(x, target=t), X, relu_predicted, chunk, f64
        ),
    )
    ig_relu = captum_attr.IntegratedGradients(relu_model)
    best, last = interleaved(
        {
            "ours": lambda: attribute(relu, X, relu_predicted),
            "captum": lambda: captum_chunks(
                lambda x, t: ig_relu.attribute(
                    x,
                    target=t,
                    n_steps=steps,
                    method="gausslegendre",
                    return_convergence_delta=True,
                )[1],
                X,
                relu_predicted,
                rows,
                f64,
            ),
        },
        repeat,
    )
    table.row(
        f"integrated_gradients exact, ReLU (IG, {steps} steps)",
        best["ours"],
        best["captum"],
        None,
    )
    exact = np.abs(last["ours"].completeness_error).max()
    print(
        f"    max |completeness error|: exact {exact:.1e}, Captum {steps} steps "
        f"{np.abs(last['captum']).max():.1e}"
    )
    print("\nTargets: IG >= 20x, DeepLIFT and saliency >= 5x, occlusion >= 5x")
    for key, target in (
        ("integrated_gradients (IntegratedGradients, float64)", 20),
        ("deeplift (DeepLift)", 5),
        ("gradient (Saliency, abs=False)", 5),
        (f"occlusion, 1 pixel, {m} images (Occlusion)", 5),
    ):
        ratio = table.ratios[key]
        print(f"  {key:<50} {ratio:6.1f}x  {'met' if ratio >= target else 'NOT met'}")


if __name__ == "__main__":
    main()
