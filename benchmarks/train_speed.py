"""Seconds per epoch of the study's network, side by side with the alternatives.

Trains one epoch of 784-30-10 (sigmoid, quadratic cost, batch 10, learning rate
3.0, 50,000 images) with:

* ``mlpinspect.Network`` (float64 and float32; batch 10 and 100), with the
  numpy engine and, when numba is installed, the compiled one;
* a per-example back-propagation loop written the way Nielsen's book does it
  (one column vector at a time, gradients summed over the mini-batch);
* scikit-learn's ``MLPClassifier`` (same layers, logistic, sgd, batch 10, no
  momentum, no L2), when installed;
* PyTorch, fed pre-made tensors without a DataLoader, when installed;

all in this process, and prints seconds per epoch and the ratios; then the
compute floor (the epoch's two big products done at once, on every core) and
how far each engine's batch-10 epoch is from it; and last, the default engine
(``engine="auto"``) against scikit-learn, PyTorch and the floor, in float64
and float32, side by side. Uses the real
MNIST when ``MLPINSPECT_MNIST_DIR`` names its folder, else random data of the
same shape (the timing does not depend on the values).

Run: ``python benchmarks/train_speed.py [--repeat 3]``.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

import numpy as np

from mlpinspect import Network

N_TRAIN = 50_000
SIZES = [784, 30, 10]


def load_data() -> tuple[np.ndarray, np.ndarray, str]:
    folder = os.environ.get("MLPINSPECT_MNIST_DIR")
    if folder and os.path.isdir(folder):
        from mlpinspect.datasets import load_mnist

        data = load_mnist(folder, download=False, dtype=np.float64)
        return data.X_train[:N_TRAIN], data.y_train[:N_TRAIN], f"MNIST from {folder}"
    rng = np.random.default_rng(0)
    X = rng.random((N_TRAIN, 784))
    return X, rng.integers(0, 10, N_TRAIN), "random data of MNIST's shape"


def best_of(repeat: int, run) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def time_mlpinspect(
    X, y, repeat, dtype=np.float64, batch_size=10, engine="numpy"
) -> tuple[float, float]:
    """Best seconds of a whole one-epoch ``fit`` call, and of the epoch itself.

    The call also checks and converts the inputs (about 10 ms here); the epoch
    alone is the time ``fit`` records in ``History.seconds``.
    """
    net = Network(SIZES, seed=0, dtype=dtype)
    Xd = X.astype(dtype)
    epochs: list[float] = []

    def run():
        history = net.fit(
            Xd,
            y,
            epochs=1,
            batch_size=batch_size,
            learning_rate=3.0,
            monitor=False,
            progress=False,
            engine=engine,
        )
        epochs.append(history.seconds[0])

    run()  # warm-up: numba compiles (or loads its cache) on first use
    epochs.clear()
    return best_of(repeat, run), min(epochs)


def time_per_example_loop(X, y, repeat) -> float:
    """Nielsen-style SGD: back-propagate one example (a column vector) at a time."""
    rng = np.random.default_rng(0)
    weights = [rng.standard_normal((o, i)) for i, o in zip(SIZES[:-1], SIZES[1:])]
    biases = [rng.standard_normal((o, 1)) for o in SIZES[1:]]
    columns = [x.reshape(-1, 1) for x in X]
    targets = [np.eye(10)[k].reshape(-1, 1) for k in y]

    def sigmoid(z):
        return 1.0 / (1.0 + np.exp(-z))

    def backprop(x, t):
        activation, activations, zs = x, [x], []
        for w, b in zip(weights, biases):
            z = w @ activation + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - t) * activations[-1] * (1 - activations[-1])
        nabla_b = [None] * len(weights)
        nabla_w = [None] * len(weights)
        nabla_b[-1], nabla_w[-1] = delta, delta @ activations[-2].T
        for layer in range(2, len(SIZES)):
            a = activations[-layer]
            delta = (weights[-layer + 1].T @ delta) * a * (1 - a)
            nabla_b[-layer], nabla_w[-layer] = delta, delta @ activations[-layer - 1].T
        return nabla_b, nabla_w

    def epoch():
        order = rng.permutation(len(columns))
        for start in range(0, len(order), 10):
            batch = order[start : start + 10]
            sum_b = [np.zeros_like(b) for b in biases]
            sum_w = [np.zeros_like(w) for w in weights]
            for k in batch:
                db, dw = backprop(columns[k], targets[k])
                sum_b = [s + d for s, d in zip(sum_b, db)]
                sum_w = [s + d for s, d in zip(sum_w, dw)]
            for i in range(len(weights)):
                weights[i] -= (3.0 / len(batch)) * sum_w[i]
                biases[i] -= (3.0 / len(batch)) * sum_b[i]

    with np.errstate(over="ignore"):
        return best_of(repeat, epoch)


def time_sklearn(X, y, repeat, dtype=np.float64) -> float | None:
    try:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier
    except ImportError:
        return None

    def run():
        clf = MLPClassifier(
            hidden_layer_sizes=(30,),
            activation="logistic",
            solver="sgd",
            batch_size=10,
            learning_rate_init=3.0,
            momentum=0.0,
            nesterovs_momentum=False,
            alpha=0.0,
            max_iter=1,
            shuffle=True,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            clf.fit(Xd, y)

    Xd = X.astype(dtype)  # scikit-learn keeps float32 input in float32

    return best_of(repeat, run)


def time_torch(X, y, repeat, dtype=np.float64) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    X = X.astype(dtype)
    model = torch.nn.Sequential(
        torch.nn.Linear(784, 30),
        torch.nn.Sigmoid(),
        torch.nn.Linear(30, 10),
        torch.nn.Sigmoid(),
    ).to(torch.float64 if dtype == np.float64 else torch.float32)
    Xt = torch.from_numpy(X)
    Yt = torch.nn.functional.one_hot(torch.from_numpy(y), 10).to(Xt.dtype)
    optimiser = torch.optim.SGD(model.parameters(), lr=3.0)
    loss_fn = torch.nn.MSELoss(reduction="sum")

    def epoch():
        order = torch.randperm(Xt.shape[0])
        for start in range(0, Xt.shape[0], 10):
            idx = order[start : start + 10]
            optimiser.zero_grad()
            loss = 0.5 * loss_fn(model(Xt[idx]), Yt[idx]) / idx.shape[0]
            loss.backward()
            optimiser.step()

    return best_of(repeat, epoch)


def have_numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def compute_floor(X, dtype, cores: int | None = None) -> float:
    """One epoch's arithmetic as two large products, BLAS on every core (or
    on ``cores``, when threadpoolctl can limit it; else NaN).

    An epoch multiplies every image by the first layer's weights once forward
    (z = x W^T) and once for the update (delta^T x), the bulk of its
    floating-point work; done as two (50,000 x 785) products, with no
    mini-batches at all, that work takes this long. No mini-batch loop can be
    faster. Mini-batch SGD is sequential (each batch starts from the weights
    the last one left) and a batch of 10 is far too small to share between
    cores, so the one-core floor is the one a batch-10 loop can approach.
    """
    rng = np.random.default_rng(0)
    A = np.ones((X.shape[0], X.shape[1] + 1), dtype=dtype)
    A[:, :-1] = X
    W = rng.standard_normal((SIZES[1], X.shape[1] + 1)).astype(dtype)
    D = rng.standard_normal((X.shape[0], SIZES[1])).astype(dtype)
    if cores is None:
        return best_of(5, lambda: (A @ W.T, D.T @ A))
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return float("nan")
    with threadpool_limits(limits=cores):
        return best_of(5, lambda: (A @ W.T, D.T @ A))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs")
    parser.add_argument(
        "--default-only",
        action="store_true",
        help="only the default engine against scikit-learn, PyTorch and the floor",
    )
    args = parser.parse_args()
    X, y, source = load_data()
    print(f"One epoch of 784-30-10, {len(X)} images ({source}); best of {args.repeat}.")
    if args.default_only:
        from mlpinspect.network import resolve_engine

        engine = resolve_engine("auto", ("sigmoid",))
        rows = []
        for dtype in (np.float64, np.float32):
            seconds, epoch = time_mlpinspect(X, y, args.repeat, dtype=dtype,
                                             engine=engine)  # fmt: skip
            name = np.dtype(dtype).name
            rows.append((f"mlpinspect {engine:5s} {name}, batch 10", seconds, epoch))
        default_ratios(X, y, args.repeat, rows)
        return

    engines = ["numpy", "numba"] if have_numba() else ["numpy"]
    if len(engines) == 1:
        print("(engine='numba' needs numba: pip install numba)")
    rows = []
    for engine in engines:
        for dtype, batch_size in (
            (np.float64, 10),
            (np.float32, 10),
            (np.float64, 100),
            (np.float32, 100),
        ):
            seconds, epoch = time_mlpinspect(
                X, y, args.repeat, dtype=dtype, batch_size=batch_size, engine=engine
            )
            label = f"mlpinspect {engine:5s} {np.dtype(dtype).name}, batch {batch_size}"
            rows.append((label, seconds, epoch))
    rows.append(
        (
            "per-example loop (the book's way), float64",
            time_per_example_loop(X, y, max(1, args.repeat - 1)),
            None,
        )
    )
    rows.append(
        ("scikit-learn MLPClassifier, float64", time_sklearn(X, y, args.repeat), None)
    )
    rows.append(
        ("PyTorch, pre-made tensors, float64", time_torch(X, y, args.repeat), None)
    )
    ours = rows[0][1]  # numpy engine, float64, batch 10: the study's setting

    print(
        f"\n{'implementation':45s} {'s/epoch':>8s} {'ratio to ours':>14s} "
        f"{'epoch alone':>12s}"
    )
    for name, seconds, epoch in rows:
        if seconds is None:
            print(f"{name:45s} {'n/a':>8s}   (not installed)")
            continue
        alone = "" if epoch is None else f"{epoch:12.3f}"
        print(f"{name:45s} {seconds:8.3f} {seconds / ours:13.2f}x {alone}")
    print(
        "\ns/epoch: one whole call (mlpinspect: fit with epochs=1, input checks "
        "included).\nratio = seconds of that implementation / seconds of mlpinspect "
        "numpy float64 batch 10\n(above 1: mlpinspect is faster). epoch alone: "
        "the epoch as History.seconds records it."
    )

    print("\nThe compute floor (the epoch's two big products, no mini-batches):")
    for dtype in (np.float64, np.float32):
        floor = compute_floor(X, dtype)
        name = np.dtype(dtype).name
        print(f"  {name}: {floor:.3f} s/epoch")
        for label, seconds, epoch in rows:
            if label.startswith("mlpinspect") and label.endswith(f"{name}, batch 10"):
                print(
                    f"    {label:43s} {seconds / floor:5.2f}x the floor "
                    f"({epoch / floor:.2f}x for the epoch alone)"
                )
    default_ratios(X, y, args.repeat, rows)


def default_ratios(X, y, repeat, rows) -> None:
    """The default engine against scikit-learn, PyTorch and the floor, per dtype."""
    from mlpinspect.network import resolve_engine

    engine = resolve_engine("auto", ("sigmoid",))
    print(
        f"\nThe default engine (engine='auto' runs {engine!r} here), batch 10, "
        "against the alternatives in the same dtype:"
    )
    print(
        f"  {'dtype':8s} {'ours s/epoch':>12s} {'sklearn/ours':>13s} "
        f"{'torch/ours':>11s} {'ours/floor':>11s} {'ours/1-core':>14s}"
    )
    for dtype in (np.float64, np.float32):
        name = np.dtype(dtype).name
        (ours,) = [
            s for label, s, _ in rows
            if label == f"mlpinspect {engine:5s} {name}, batch 10"
        ]  # fmt: skip
        sk = time_sklearn(X, y, repeat, dtype=dtype)
        th = time_torch(X, y, repeat, dtype=dtype)
        floor = compute_floor(X, dtype)
        one_core = compute_floor(X, dtype, cores=1)
        sk_text = "n/a" if sk is None else f"{sk / ours:12.2f}x"
        th_text = "n/a" if th is None else f"{th / ours:10.2f}x"
        print(
            f"  {name:8s} {ours:12.3f} {sk_text:>13s} {th_text:>11s} "
            f"{ours / floor:10.2f}x {ours / one_core:13.2f}x"
        )
    print(
        "  (sklearn/ours and torch/ours above 1: mlpinspect is faster; ours/floor: "
        "how far from the floor\n  on every core; ours/1-core: from the floor on "
        "one core, which sequential batch-10 SGD can approach)"
    )


if __name__ == "__main__":
    main()
