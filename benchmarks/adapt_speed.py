"""How long does ``adapt`` take, compared with copying the model's weights?

For a 784-1000-1000-10 model in every installed framework, times
``mlpinspect.adapters.adapt(model)`` and a plain copy of the same weights in
the framework's own way (e.g. ``[p.detach().numpy().copy() for p in
model.parameters()]`` for PyTorch), in the same process, and prints the best
of several runs and their ratio. The target is a ratio close to 1: adapting
is one copy of the weights plus a small constant overhead.

The "Dense" column times building the MLP from numpy views of the weights
already in ``(out, in)`` layout (``MLP([Dense(W, b), ...])``: the one copy,
in the source's memory order, so scikit-learn's and Keras's transposed views
copy as one block); the difference between "adapt" and "Dense" is what the
adapter itself costs. ``adapt`` does not check the weights for NaN and inf:
every analysis does, once per MLP, through ``MLP.check_finite``, whose cost
(one read of the weights) is printed in the last column.

Then times ``import mlpinspect`` in fresh interpreters (target: < 0.3 s).

Run: ``python benchmarks/adapt_speed.py [--repeat 20]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import warnings
from collections.abc import Callable

import numpy as np

SIZES = (784, 1000, 1000, 10)


def best_of(function: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs, in seconds (after one warm-up run)."""
    function()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def numpy_case(rng):
    pairs = [
        (rng.standard_normal((b, a)).astype(np.float32), np.zeros(b, np.float32))
        for a, b in zip(SIZES[:-1], SIZES[1:])
    ]

    def copy():
        return [(w.copy(), b.copy()) for w, b in pairs]

    return pairs, copy, lambda: pairs, {"activations": ["relu", "relu", "softmax"]}


def network_case(rng):
    from mlpinspect import Network

    net = Network(list(SIZES), activation="relu", seed=0, dtype=np.float32)

    def copy():
        return [w.copy() for w in net.weights] + [b.copy() for b in net.biases]

    return net, copy, lambda: list(zip(net.weights, net.biases)), {}


def sklearn_case(rng):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    clf = MLPClassifier(hidden_layer_sizes=SIZES[1:-1], max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(rng.random((20, SIZES[0])), np.arange(20) % SIZES[-1])

    def copy():
        return [c.copy() for c in clf.coefs_] + [b.copy() for b in clf.intercepts_]

    def views():
        return [(c.T, b) for c, b in zip(clf.coefs_, clf.intercepts_)]

    return clf, copy, views, {}


def torch_case(rng):
    import torch
    from torch import nn

    layers: list = [nn.Flatten()]
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    model = nn.Sequential(*layers[:-1]).eval()

    def copy():
        return [p.detach().numpy().copy() for p in model.parameters()]

    def views():
        linears = [m for m in model if isinstance(m, nn.Linear)]
        return [(m.weight.detach().numpy(), m.bias.detach().numpy()) for m in linears]

    del torch
    return model, copy, views, {}


def keras_case(rng):
    os.environ.setdefault("KERAS_BACKEND", "torch")
    import keras

    model = keras.Sequential(
        [keras.Input((SIZES[0],))]
        + [keras.layers.Dense(n, activation="relu") for n in SIZES[1:-1]]
        + [keras.layers.Dense(SIZES[-1], activation="softmax")]
    )

    def views():
        dense = [layer for layer in model.layers if layer.weights]
        return [
            (d.kernel.value.detach().numpy().T, d.bias.value.detach().numpy())
            for d in dense
        ]

    return model, model.get_weights, views, {}


def onnx_case(rng):
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits, data = [], [], "x"
    for i, (a, b) in enumerate(zip(SIZES[:-1], SIZES[1:])):
        w = rng.standard_normal((b, a)).astype(np.float32)
        inits += [
            numpy_helper.from_array(w, f"W{i}"),
            numpy_helper.from_array(np.zeros(b, np.float32), f"b{i}"),
        ]
        nodes.append(
            helper.make_node("Gemm", [data, f"W{i}", f"b{i}"], [f"z{i}"], transB=1)
        )
        data = f"z{i}"
    graph = helper.make_graph(
        nodes,
        "bench",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", SIZES[0]])],
        [helper.make_tensor_value_info(data, TensorProto.FLOAT, ["n", SIZES[-1]])],
        initializer=inits,
    )
    model = helper.make_model(graph)
    onnx.checker.check_model(model)

    def copy():
        return [numpy_helper.to_array(t).copy() for t in model.graph.initializer]

    def views():
        arrays = [numpy_helper.to_array(t) for t in model.graph.initializer]
        return list(zip(arrays[::2], arrays[1::2]))

    return model, copy, views, {}


CASES = {
    "numpy (W, b) pairs": numpy_case,
    "mlpinspect.Network": network_case,
    "scikit-learn": sklearn_case,
    "PyTorch": torch_case,
    "Keras (torch backend)": keras_case,
    "ONNX ModelProto": onnx_case,
}


def import_time(runs: int) -> float:
    """Best wall time of ``import mlpinspect`` in a fresh interpreter."""
    code = (
        "import time; t = time.perf_counter(); import mlpinspect; "
        "print(time.perf_counter() - t)"
    )
    times = []
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout
        times.append(float(out.strip().splitlines()[-1]))
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--import-runs", type=int, default=5)
    args = parser.parse_args()

    from mlpinspect import MLP, Dense
    from mlpinspect.adapters import adapt

    rng = np.random.default_rng(0)
    n_params = sum(a * b + b for a, b in zip(SIZES[:-1], SIZES[1:]))
    print(
        f"model {'-'.join(map(str, SIZES))} ({n_params:,} parameters), "
        f"best of {args.repeat}"
    )
    print(
        f"{'framework':24} {'copy (ms)':>10} {'Dense (ms)':>11} {'adapt (ms)':>11} "
        f"{'adapt/copy':>11} {'adapt/Dense':>12} {'check (ms)':>10}"
    )
    for name, make in CASES.items():
        try:
            model, copy, views, options = make(rng)
        except ImportError as exc:
            print(f"{name:24} skipped ({exc.name or exc} not installed)")
            continue
        t_copy = best_of(copy, args.repeat)
        t_dense = best_of(
            lambda v=views: MLP([Dense(w, b) for w, b in v()]), args.repeat
        )
        t_adapt = best_of(lambda m=model, o=options: adapt(m, **o), args.repeat)
        t_check = best_of(
            lambda m=model, o=options: MLP(adapt(m, **o).layers).check_finite(),
            args.repeat,
        )
        print(
            f"{name:24} {1e3 * t_copy:10.2f} {1e3 * t_dense:11.2f} "
            f"{1e3 * t_adapt:11.2f} {t_adapt / t_copy:11.2f} "
            f"{t_adapt / t_dense:12.2f} {1e3 * (t_check - t_adapt):10.2f}"
        )
    seconds = import_time(args.import_runs)
    verdict = "ok" if seconds < 0.3 else "over the 0.3 s target"
    print(f"import mlpinspect: {seconds:.3f} s (best of {args.import_runs}; {verdict})")


if __name__ == "__main__":
    main()
