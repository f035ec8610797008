"""Speed and memory of linear CKA: feature space (mlpinspect) against Gram matrices.

In one process, on two representations of 60,000 inputs with 30 features each
(the size of the study network's hidden layer on the MNIST training set):

- ``mlpinspect.linear_cka`` (biased, unbiased and minibatch estimators):
  streamed sums of products in feature space, O(n d^2) time, O(d^2) memory;
- its peak memory (tracemalloc) at n = 6,000 and 60,000 (arrays, made
  before measuring), and at 60,000 and 600,000 as a stream of batches made
  as they are read: it should not grow with n;
- the Gram-matrix formula (``tr(K H L H)`` with ``n x n`` kernels, numpy) on
  subsamples up to ``--gram-max`` rows, its time and memory extrapolated to
  60,000 as ``n^2`` (and the size at which its two kernels alone would no
  longer fit in the memory available now);
- when installed, the ``torch-cka`` package (``pip install torch-cka``):
  Nguyen et al.'s minibatch estimator with Gram matrices per minibatch, which
  ``linear_cka(..., estimator="minibatch")`` computes too (the two values are
  compared);
- a plain PyTorch feature-space implementation (one shot, all rows in memory),
  for reference.

Every ratio printed is measured in this run (best of ``--repeat``), except the
Gram matrix at 60,000, which is extrapolated and marked so.

Run: ``python benchmarks/similarity_speed.py [--n 60000] [--gram-max 8000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import math
import time
import tracemalloc
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from mlpinspect import linear_cka


def representations(n: int, d: int = 30, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Two related representations of ``n`` inputs: sigmoid units of random
    projections of the same data, like two hidden layers."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 40))
    A = 1.0 / (1.0 + np.exp(-X @ rng.normal(size=(40, d))))
    B = 1.0 / (1.0 + np.exp(-X @ rng.normal(size=(40, d)) - 1.0))
    return A, B


def best_time(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    best, value = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - start)
    return best, value


def peak_bytes(fn: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def gram_cka(A: np.ndarray, B: np.ndarray) -> float:
    """The Gram-matrix formula, ``n x n`` kernels centred in place."""

    def centred(M: np.ndarray) -> np.ndarray:
        K = M @ M.T
        row = K.mean(axis=0)
        K -= row[None, :]
        K -= row[:, None]
        K += row.mean()
        return K

    K = centred(A)
    L = centred(B)
    kl = float(np.einsum("ij,ij->", K, L))
    kk = float(np.einsum("ij,ij->", K, K))
    ll = float(np.einsum("ij,ij->", L, L))
    return kl / math.sqrt(kk * ll)


def stream(n: int, rows: int = 10_000):
    """``(A_batch, B_batch)`` pairs of ``n`` rows in all, made as they are read."""
    for start in range(0, n, rows):
        A, B = representations(min(rows, n - start), seed=start)
        yield A, B


def available_bytes() -> int | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def torch_cka_minibatch(A: np.ndarray, B: np.ndarray, batch: int) -> float | None:
    """The torch-cka package's CKA (minibatch Gram matrices), or None."""
    try:
        import torch
        import torch_cka
    except ImportError:
        return None
    first = torch.nn.Sequential(torch.nn.Identity())
    second = torch.nn.Sequential(torch.nn.Identity())
    loaders = [
        torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(torch.from_numpy(M.astype(np.float32))),
            batch_size=batch,
        )
        for M in (A, B)
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cka = torch_cka.CKA(
            first, second, model1_name="A", model2_name="B",
            model1_layers=["0"], model2_layers=["0"],
        )  # fmt: skip
        with contextlib.redirect_stderr(io.StringIO()):  # its progress bar
            cka.compare(*loaders)
    return float(cka.export()["CKA"][0, 0])


def torch_feature_space(A: np.ndarray, B: np.ndarray) -> float | None:
    """Linear CKA in feature space with PyTorch, all rows at once (float64)."""
    try:
        import torch
    except ImportError:
        return None
    X, Y = torch.from_numpy(A), torch.from_numpy(B)
    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    xy = (Y.T @ X).square().sum()
    xx = (X.T @ X).square().sum()
    yy = (Y.T @ Y).square().sum()
    return float(xy / torch.sqrt(xx * yy))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=60_000)
    parser.add_argument("--gram-max", type=int, default=8000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n = args.n
    A, B = representations(n)
    print(f"two representations of {n:,} inputs x 30 features (float64)\n")

    rows: list[tuple[str, float, str]] = []
    t_biased, v_biased = best_time(lambda: linear_cka(A, B), args.repeat)
    rows.append(("mlpinspect linear_cka, biased", t_biased, f"{v_biased:.6f}"))
    t_unb, v_unb = best_time(
        lambda: linear_cka(A, B, estimator="unbiased"), args.repeat
    )
    rows.append(("mlpinspect linear_cka, unbiased", t_unb, f"{v_unb:.6f}"))
    t_mb, v_mb = best_time(
        lambda: linear_cka(A, B, estimator="minibatch", chunk_size=1000), args.repeat
    )
    rows.append(("mlpinspect linear_cka, minibatch of 1000", t_mb, f"{v_mb:.6f}"))

    t_torch_fs, v_torch_fs = best_time(lambda: torch_feature_space(A, B), args.repeat)
    if v_torch_fs is not None:
        rows.append(("torch feature space, one shot", t_torch_fs, f"{v_torch_fs:.6f}"))
    v_pkg = torch_cka_minibatch(A[:2000], B[:2000], 1000)  # warm-up / availability
    t_pkg = math.nan
    if v_pkg is not None:
        t_pkg, v_pkg = best_time(
            lambda: torch_cka_minibatch(A, B, 1000), max(1, args.repeat // 2)
        )
        rows.append(("torch-cka package, minibatch of 1000", t_pkg, f"{v_pkg:.6f}"))
    else:
        print("torch-cka is not installed (pip install torch-cka): not compared\n")

    # Gram matrices on subsamples, then n^2 to the full size.
    sizes = [s for s in (1000, 2000, 4000, 8000, 16000) if s <= args.gram_max]
    gram = []
    for s in sizes:
        t, v = best_time(lambda s=s: gram_cka(A[:s], B[:s]), 2 if s <= 4000 else 1)
        mem = peak_bytes(lambda s=s: gram_cka(A[:s], B[:s]))
        ours = linear_cka(A[:s], B[:s])
        gram.append((s, t, mem, v, ours))
    s_max, t_max, mem_max, _, _ = gram[-1]
    scale = (n / s_max) ** 2
    t_gram_n = t_max * scale
    mem_gram_n = mem_max * scale
    rows.append(
        (f"Gram matrices, n = {n:,} (extrapolated from {s_max:,})", t_gram_n, "-")
    )

    width = max(len(r[0]) for r in rows)
    print(f"{'method'.ljust(width)}  {'seconds':>9}  {'CKA':>9}")
    for name, t, value in rows:
        print(f"{name.ljust(width)}  {t:9.4f}  {value:>9}")

    print("\nGram-matrix formula on subsamples (measured), against mlpinspect:")
    print(f"{'n':>7}  {'seconds':>8}  {'peak MB':>8}  {'|CKA difference|':>16}")
    for s, t, mem, v, ours in gram:
        print(f"{s:7,}  {t:8.3f}  {mem / 2**20:8.1f}  {abs(v - ours):16.1e}")
    avail = available_bytes()
    print(
        f"extrapolated to n = {n:,}: {t_gram_n:.1f} s and {mem_gram_n / 2**30:.1f} GB "
        f"(n^2 from n = {s_max:,})"
    )
    if avail is not None:
        fits = int(math.sqrt(avail / (mem_max / s_max**2)))
        print(
            f"memory available now: {avail / 2**30:.1f} GB, enough for the Gram "
            f"formula up to n = {fits:,}; at n = {n:,} it "
            f"{'would not fit' if mem_gram_n > avail else 'would fit'}"
        )

    print("\npeak memory of mlpinspect linear_cka (tracemalloc, inputs excluded):")
    for m in (n // 10, n):
        sub_a, sub_b = A[:m], B[:m]
        mem = peak_bytes(lambda a=sub_a, b=sub_b: linear_cka(a, b))
        print(f"  n = {m:9,} (arrays): {mem / 2**10:8.1f} KB")
    for m in (n, 10 * n):
        mem = peak_bytes(lambda m=m: linear_cka(stream(m)))
        print(
            f"  n = {m:9,} (a stream of 10,000-row batches, made as read): "
            f"{mem / 2**10:8.1f} KB (mostly making one batch)"
        )

    print("\nratios (measured in this run unless marked):")
    print(f"  Gram matrices at n = {s_max:,} / mlpinspect at n = {n:,}: "
          f"{t_max / t_biased:8.1f}x")  # fmt: skip
    print(f"  Gram matrices at n = {n:,} (extrapolated) / mlpinspect: "
          f"{t_gram_n / t_biased:8.0f}x")  # fmt: skip
    if not math.isnan(t_pkg):
        print(
            f"  torch-cka minibatch / mlpinspect minibatch: {t_pkg / t_mb:8.1f}x "
            f"(values differ by {abs(v_pkg - v_mb):.1e}; torch-cka in float32)"
        )
    if v_torch_fs is not None:
        print(f"  torch feature space / mlpinspect biased: "
              f"{t_torch_fs / t_biased:8.2f}x (values differ by "
              f"{abs(v_torch_fs - v_biased):.1e})")  # fmt: skip


if __name__ == "__main__":
    main()
