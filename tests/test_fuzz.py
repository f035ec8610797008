"""Every public callable, called as a hostile user would call it.

Each case below is one public function, constructor or method with arguments
that work (its *baseline*). The fuzzer replaces one or two of its arguments
(any parameter of the signature, given or not) with hostile values: wrong
types, arrays of every numpy dtype family and of odd shapes, NaN, infinities,
finite but huge numbers, empty arrays, unknown names, awkward paths (a
folder, a FIFO, ``/dev/zero``, ``""``), streams of batches and framework
tensors. The contract it checks:

- every exception is a :class:`mlpinspect.MlpinspectError` (so also the
  built-in class a user would catch);
- no call hangs: each has a time budget, and running out of it is a failure;
- no call asks for memory it cannot have: each runs with an address-space
  limit a little above what the process uses, and a ``MemoryError`` is a
  failure (huge counts must be refused up front, saying what they need);
- no call answers with a numerical ``RuntimeWarning`` (overflow, invalid
  value): that is a silent wrong answer.

``test_every_public_callable_has_a_case`` makes a new public callable fail
until it has a case here.

Knobs (environment variables): ``MLPINSPECT_FUZZ_EXAMPLES`` (examples per
case; default 8, a few seconds in all), ``MLPINSPECT_FUZZ_REPORT`` (a JSON
file: record failures there instead of failing, to count them).
"""

from __future__ import annotations

import contextlib
import dataclasses
import gzip
import inspect
import json
import math
import os
import pickle
import resource
import signal
import sys
import traceback
import warnings
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import mlpinspect
import mlpinspect.analysis
import mlpinspect.datasets
import mlpinspect.experiments
import mlpinspect.plotting
import mlpinspect.study
import mlpinspect.testing
from mlpinspect import MlpinspectError

EXAMPLES = int(os.environ.get("MLPINSPECT_FUZZ_EXAMPLES", "8"))
REPORT = os.environ.get("MLPINSPECT_FUZZ_REPORT")
CALL_BUDGET = 20.0  # seconds: far beyond any call on these tiny inputs
MEMORY_HEADROOM = 1 << 30  # bytes of address space a call may add


# -- the data every case starts from -----------------------------------------------


class World:
    """Small valid objects of every kind the public API takes."""

    def __init__(self, folder: Path) -> None:
        from mlpinspect import (
            Network,
            ablate,
            attribute,
            class_contributions,
            decompose,
            drift_from_init,
            effective_weights,
            preferred_input,
            smoothness,
            top_units,
            unit_importance,
            weight_images,
        )
        from mlpinspect.datasets import save_idx
        from mlpinspect.experiments import compare_training, hidden_size_sweep

        self.folder = folder
        rng = np.random.default_rng(0)
        self.X = rng.random((6, 4))
        self.y = np.array([0, 1, 0, 1, 1, 0])
        self.net = Network([4, 3, 2], seed=0, input_shape=(2, 2))
        self.net.fit(self.X, self.y, epochs=1, progress=False)
        self.mlp = self.net.to_mlp()
        self.dense = mlpinspect.Dense(np.eye(2), np.zeros(2), "relu")
        self.trace = self.mlp.trace(self.X)
        self.decomposition = decompose(self.mlp, self.X)
        self.top = top_units(self.mlp, 0)
        self.contributions = class_contributions(self.mlp, self.X, self.y)
        self.ablation = ablate(self.mlp, self.X, self.y, units=[0])
        self.importance = unit_importance(self.mlp, self.X, self.y)
        self.attribution = attribute(self.mlp, self.X, 0, n_steps=4)
        self.preferred = preferred_input(self.mlp, 0, n_steps=3)
        self.drift = drift_from_init(self.net)
        self.images = weight_images(self.mlp)
        self.smooth = smoothness(self.images, n_shuffles=2)
        self.effective = effective_weights(self.mlp)
        self.history = self.net.history
        Xs = rng.random((20, 4))
        ys = (Xs[:, 0] > 0.5).astype(int)
        self.train = (Xs, ys)
        self.sweep = hidden_size_sweep(
            [1, 2], seeds=[0], train=self.train, test=self.train, n_outputs=2,
            epochs=1, progress=False,
        )  # fmt: skip
        self.comparison = compare_training(
            {"a": {"init": "normal"}, "b": {"init": "scaled"}}, train=self.train,
            test=self.train, sizes=(4, 3, 2), epochs=1, progress=False,
        )  # fmt: skip
        self.mnist = mlpinspect.datasets.MNIST(
            rng.random((6, 4)), self.y, rng.random((6, 4)), self.y, (2, 2)
        )
        self.network_file = self.net.save(folder / "net.npz")
        np.savez(folder / "weights.npz", W0=np.ones((2, 4)), b0=np.zeros(2),
                 activations=np.array(["softmax"]))  # fmt: skip
        self.idx_file = save_idx(folder / "a.idx", np.arange(6, dtype=np.uint8))
        images = (rng.random((3, 2, 2)) * 255).astype(np.uint8)
        np.savez(folder / "keras.npz", x_train=images, y_train=np.array([0, 1, 2]),
                 x_test=images, y_test=np.array([0, 1, 2]))  # fmt: skip
        part = (np.zeros((2, 784), np.float32), np.array([1, 2]))
        with gzip.open(folder / "nielsen.pkl.gz", "wb") as fh:
            pickle.dump((part, part, part), fh, protocol=2)
        self.mnist_folder = folder / "mnist"
        self.mnist_folder.mkdir()
        for name in ("train-images-idx3-ubyte", "t10k-images-idx3-ubyte"):
            save_idx(self.mnist_folder / name, images)
        for name in ("train-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"):
            save_idx(self.mnist_folder / name, np.array([0, 1, 2], np.uint8))
        self.out = folder / "out"
        self.fifo = folder / "fifo"
        os.mkfifo(self.fifo)
        # A device, through a link in our folder: a write that appends
        # ".npz" then lands here, never in /dev.
        self.device = folder / "zero"
        self.device.symlink_to("/dev/zero")
        self.null = folder / "null"
        self.null.symlink_to("/dev/null")
        self.under_file = folder / "a.idx" / "below"
        self.garbage = folder / "garbage.npz"
        self.garbage.write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
        self.crafted = craft_files(folder / "crafted", self.network_file)
        for protocol in (0, 1, 2, 5):
            with gzip.open(folder / f"nielsen-{protocol}.pkl.gz", "wb") as fh:
                pickle.dump((part, part, part), fh, protocol=protocol)
        self._later_objects(folder, rng)

    def _later_objects(self, folder: Path, rng: np.random.Generator) -> None:
        """Snapshots, atlases, similarity and experiment tables."""
        from mlpinspect import (
            SnapshotRecorder,
            Snapshots,
            cka_matrix,
            match_units,
            unit_atlas,
            unit_dynamics,
        )
        from mlpinspect.experiments import run_experiments

        net = mlpinspect.Network([4, 3, 2], seed=1, input_shape=(2, 2))
        recorder = SnapshotRecorder(every_epochs=1)
        self.fit_history = net.fit(
            self.X, self.y, epochs=2, progress=False, snapshots=recorder
        )
        self.snapshots = self.fit_history.snapshots
        self.models = [self.mlp, net.to_mlp()]
        self.snapshots_file = Snapshots.from_models(self.models).save(
            folder / "snaps.npz"
        )
        self.atlas = unit_atlas(self.mlp, self.X, self.y, k=2)
        self.cka_result = cka_matrix({"a": self.mlp, "b": self.models[1]}, self.X)
        self.matching = match_units(self.mlp, self.models[1], self.X)
        self.dynamics = unit_dynamics(self.snapshots)
        self.table = run_experiments({"hidden": [2], "epochs": 1}, seeds=(0,),
                                     train=self.train, test=self.train, n_jobs=1,
                                     progress=False)  # fmt: skip
        self.grid_file = folder / "grid.toml"
        self.grid_file.write_text("seeds = 1\n[grid]\nhidden = [2, 3]\nepochs = 1\n")
        self.plan = mlpinspect.experiments.load_grid(self.grid_file)
        self.curve = mlpinspect.deletion_curve(self.mlp, self.attribution, n_steps=3)
        first, last = self.mlp.layers
        self.tanh_mlp = mlpinspect.MLP(  # LRP takes sign-preserving activations
            [mlpinspect.Dense(first.weight, first.bias, "tanh"), last],
            input_shape=(2, 2),
        )


def craft_files(folder: Path, network_file: Path) -> list[Path]:
    """Files made to hurt a reader: crafted network metadata, a header that
    declares 8 GB, labels out of range, a pickle that names os.system."""
    import zipfile

    folder.mkdir()
    made = []

    def network_with(name: str, meta_text: str, arrays: bool = True) -> None:
        path = folder / name
        with np.load(network_file) as src:
            payload = {k: src[k] for k in src.files if k != "meta" and arrays}
        np.savez(path, meta=np.array(meta_text), **payload)
        made.append(path)

    with np.load(network_file) as src:
        meta = json.loads(str(src["meta"]))
    network_with("huge-sizes.npz", json.dumps({**meta, "sizes": [100000, 100000, 10],
                                               "activations": ["sigmoid"] * 2}),
                 arrays=False)  # fmt: skip
    network_with("history-list.npz", json.dumps({**meta, "history": [1, 2]}))
    network_with("history-dict.npz", json.dumps({**meta, "history": {"epoch": 3}}))
    network_with("infinite-shape.npz",
                 json.dumps({**meta, "input_shape": [float("inf")]}))  # fmt: skip
    network_with("deep.npz", json.dumps(meta)[:-1] + ', "x": ' + "[" * 100000
                 + "]" * 100000 + "}")  # fmt: skip
    network_with("names.npz", json.dumps({**meta, "class_names": 5}))
    # An .npy header declaring 8 GB in front of 80 bytes of data.
    lying = folder / "lying-header.npz"
    header = {"descr": "<f8", "fortran_order": False, "shape": (2**15, 2**15)}
    buf = __import__("io").BytesIO()
    np.lib.format.write_array_header_1_0(buf, header)
    with zipfile.ZipFile(lying, "w") as zf:
        zf.writestr("W0.npy", buf.getvalue() + bytes(80))
        zf.writestr("b0.npy", buf.getvalue() + bytes(80))
    made.append(lying)
    images = np.zeros((3, 28, 28), np.uint8)
    bad = folder / "labels-out-of-range.npz"
    np.savez(bad, x_train=images, y_train=np.array([-10, 2**40, 3]), x_test=images,
             y_test=np.array([0, 1, 2], np.uint64) - np.uint64(1))  # fmt: skip
    made.append(bad)
    part = (np.zeros((3, 784), np.float32), np.array([-10, 2**40, 3]))
    with gzip.open(folder / "labels.pkl.gz", "wb") as fh:
        pickle.dump((part, part, part), fh, protocol=4)
    made.append(folder / "labels.pkl.gz")

    class Evil:
        def __reduce__(self) -> tuple:
            return (os.system, ("true",))

    with open(folder / "evil.pkl", "wb") as fh:
        pickle.dump(Evil(), fh, protocol=2)
    made.append(folder / "evil.pkl")
    return made


# -- hostile values ------------------------------------------------------------------

DTYPES = [
    np.dtype(t)
    for t in (
        "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
        "uint64", "float16", "float32", "float64", "longdouble", "complex64",
        "complex128", "clongdouble", "M8[ns]", "m8[s]", "U3", "S3", "O",
    )
] + [np.dtype([("a", "i4"), ("b", "f8")])]  # fmt: skip


def _generator(items: list) -> Any:
    yield from items


SCALARS = [
    None, True, False, 0, 1, 2, -1, -2, 2**31, 2**63, 2**70, -(2**70), 10**9,
    0.5, -0.0, 1.5, -1.5, float("nan"), float("inf"), -float("inf"), 1e308,
    1e160, 1 + 2j, "", "bogus", "0", "-1", "sigmoid", "x" * 300, "\x00", b"bytes",
    (), [], {}, {"a": 1}, set(), frozenset(), object(), print, Ellipsis,
    slice(1, 2), np.int64(2), np.uint64(2**64 - 1), np.float32("nan"),
    np.bool_(True), np.array(3), np.datetime64("2020-01-01"),
    np.timedelta64(5, "s"), Fraction(1, 3), Decimal("nan"), range(3),
    np.float16(65504), np.longdouble("1e4000"), 2**61 - 1,
]  # fmt: skip


SHAPES = [(), (0,), (1,), (4,), (0, 4), (2, 2), (4, 3), (6, 4), (3, 0, 2),
          (1, 1, 1), (2, 2, 2, 2), (4, 0, 1, 3)]  # fmt: skip
"""Shapes of 0 to 4 dimensions, sides 0 to 6 (the world's ``X`` is (6, 4))."""


def _pool_array(dtype: np.dtype, shape: tuple[int, ...], rng: np.random.Generator):
    """An array of ``dtype`` and ``shape`` whose values include the extremes of
    its kind: NaN, infinities, the largest and smallest numbers, NaT, empty
    and odd strings, mixed Python objects."""
    n = int(np.prod(shape))
    kind = dtype.kind
    if kind == "b":
        flat = rng.random(n) < 0.5
    elif kind in "iu":
        info = np.iinfo(dtype)
        flat = rng.integers(info.min, info.max, n, dtype=dtype, endpoint=True)
        flat[: min(n, 2)] = [info.max, info.min][: min(n, 2)]
    elif kind in "fc":
        info = np.finfo(dtype)
        special = np.array([np.nan, np.inf, -np.inf, info.max, -0.0, info.tiny,
                            1e300], dtype=np.longdouble)  # fmt: skip
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            flat = (rng.normal(size=n) * 10.0 ** rng.integers(-3, 30, n)).astype(dtype)
            if kind == "c":
                flat = flat + 1j * rng.normal(size=n).astype(dtype)
            pick = rng.random(n) < 0.4
            flat[pick] = special[rng.integers(0, len(special), pick.sum())].astype(
                dtype
            )
    elif kind == "M":
        flat = rng.integers(-(2**40), 2**40, n).astype(dtype)
        flat[: min(n, 1)] = np.datetime64("NaT")
    elif kind == "m":
        flat = rng.integers(-(2**40), 2**40, n).astype(dtype)
        flat[: min(n, 1)] = np.timedelta64("NaT")
    elif kind in "US":
        words = ["", "a", "nan", "inf", "-1", "\x00", "1e9"]
        words += ["é"] if kind == "U" else [b"\xff"]
        flat = np.array([words[i] for i in rng.integers(0, len(words), n)], dtype)
    elif kind == "O":
        items = [None, 1, "a", 1.5, (1, 2), [1], float("nan"), object()]
        flat = np.empty(n, dtype=object)
        for i, j in enumerate(rng.integers(0, len(items), n)):
            flat[i] = items[j]
    else:  # structured
        flat = np.zeros(n, dtype)
    return np.asarray(flat, dtype=dtype).reshape(shape)


def _array_pool() -> list[np.ndarray]:
    rng = np.random.default_rng(13)
    return [_pool_array(dtype, shape, rng) for dtype in DTYPES for shape in SHAPES]


ARRAY_POOL = _array_pool()


def arrays_any_dtype() -> st.SearchStrategy:
    """Arrays of every dtype family, of 0 to 4 dimensions, sides 0 to 6, with
    extreme values. Drawn from a pool made once: drawing such arrays element
    by element cost most of the fuzzer's time."""
    return st.sampled_from(ARRAY_POOL).map(lambda arr: arr.copy())


@st.composite
def variations_of(draw, value: Any) -> Any:
    """Near-valid versions of a valid array argument: the shape or dtype is
    off, or the values are NaN, infinite or huge."""
    arr = value
    kind = draw(
        st.sampled_from(
            ["nan", "inf", "huge64", "huge32", "empty", "transpose", "extra_dim",
             "flat", "dtype", "list", "rows_as_list", "pair", "stream", "scalar",
             "negative", "tensor"]
        )
    )  # fmt: skip
    if arr.ndim == 0:
        return draw(st.sampled_from(SCALARS))
    if kind in ("nan", "inf", "huge64", "huge32", "negative"):
        out = arr.astype(np.float32 if kind == "huge32" else np.float64)
        if out.size:
            i = draw(st.integers(0, out.size - 1))
            fill = {"nan": np.nan, "inf": np.inf, "huge64": 1e160, "huge32": 1e20,
                    "negative": -1e6}[kind]  # fmt: skip
            if kind in ("huge64", "huge32"):
                out = out * fill + fill
            else:
                out.flat[i] = fill
        return out
    if kind == "empty":
        return arr[:0]
    if kind == "transpose":
        return arr.T
    if kind == "extra_dim":
        return arr[..., None]
    if kind == "flat":
        return arr.reshape(-1)
    if kind == "dtype":
        dtype = draw(st.sampled_from(DTYPES))
        with contextlib.suppress(Exception), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return arr.astype(dtype)
        return arr
    if kind == "list":
        return arr.tolist()
    if kind == "rows_as_list":  # a stream of batches of two rows each
        return [arr[:2].tolist(), arr[2:4].tolist()]
    if kind == "pair":
        return (arr, arr)
    if kind == "stream":
        return _generator([arr[:2], arr[2:]])
    if kind == "tensor":
        torch = sys.modules.get("torch")
        if torch is None:
            return arr.tolist()
        t = torch.as_tensor(arr.astype(np.float64))
        variant = draw(st.sampled_from(["grad", "meta", "half"]))
        if variant == "grad":
            return t.clone().requires_grad_(True)
        if variant == "meta":
            return t.to("meta")
        return t.half()
    return arr.reshape(-1)[0] if arr.size else 0.0


def paths(world: World) -> st.SearchStrategy:
    return st.sampled_from(
        [
            "", ".", world.folder, world.fifo, world.device, world.null,
            world.under_file, world.folder / "missing.npz", world.garbage,
            world.folder / ("n" * 240 + ".npz"), world.idx_file, world.network_file,
            str(world.folder / "x" / "y" / "z.npz"), "/proc/self/mem",
            *world.crafted,
        ]
    )  # fmt: skip


_STRATEGIES: dict[Any, st.SearchStrategy] = {}


def hostile(world: World, valid: Any) -> st.SearchStrategy:
    """A hostile replacement for an argument whose valid value is ``valid``.

    Strategies are built once and kept (building and validating one costs
    more than drawing from it): the general one per world, one per valid
    array (its bytes are the key; these arrays are tiny)."""
    base_key = ("base", id(world))
    if base_key not in _STRATEGIES:
        _STRATEGIES[base_key] = st.one_of(
            st.sampled_from(SCALARS), arrays_any_dtype(), paths(world),
            st.text(max_size=8), st.integers(-3, 12),
            st.lists(st.sampled_from(SCALARS), max_size=3),
        )  # fmt: skip
    base = _STRATEGIES[base_key]
    if not (
        isinstance(valid, np.ndarray) and valid.dtype.kind in "biuf" and valid.size
    ):
        return base
    key = ("array", id(world), valid.shape, valid.dtype.str, valid.tobytes())
    if key not in _STRATEGIES:
        # As likely as before: three array variations among the six others.
        variations = variations_of(valid)
        _STRATEGIES[key] = st.one_of(
            st.sampled_from(SCALARS), arrays_any_dtype(), paths(world),
            variations, variations, variations, st.text(max_size=8),
            st.integers(-3, 12), st.lists(st.sampled_from(SCALARS), max_size=3),
        )  # fmt: skip
    return _STRATEGIES[key]


# -- the cases -------------------------------------------------------------------------


@dataclasses.dataclass
class Case:
    name: str
    call: Callable[[World], tuple[Callable, list, dict]]
    """world -> (function, positional arguments, keyword arguments)."""
    succeeds: bool = True
    """Whether the baseline call succeeds (else it raises a library error)."""
    check: Callable[[Any], str | None] | None = None
    """An invariant of any result: returns what is wrong with it, or None."""


def _arrays_in(result: Any) -> list[np.ndarray]:
    if isinstance(result, np.ndarray):
        return [result]
    if isinstance(result, (tuple, list)):
        return [a for item in result for a in _arrays_in(item)]
    if dataclasses.is_dataclass(result):
        return [a for f in dataclasses.fields(result)
                for a in _arrays_in(getattr(result, f.name))]  # fmt: skip
    return []


def finite_result(result: Any) -> str | None:
    """No inf or NaN anywhere in the result: an overflow must raise."""
    for arr in _arrays_in(result):
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            return "silent wrong answer: the result holds inf or NaN"
    return None


def mnist_result(result: Any) -> str | None:
    """Loaded images in [0, 1], labels digits 0..9."""
    parts = (
        [(result.X_train, result.y_train), (result.X_test, result.y_test)]
        if hasattr(result, "X_train") else list(result)
    )  # fmt: skip
    for X, y in parts:
        if not (
            np.isfinite(X).all() and X.min(initial=0) >= 0 and X.max(initial=0) <= 1
        ):
            return "silent wrong answer: images outside [0, 1]"
        if y.size and (y.min() < 0 or y.max() > 9):
            return f"silent wrong answer: labels outside 0..9 ({y.min()}, {y.max()})"
    return None


def _f(fn: Callable, *args: Any, **kwargs: Any) -> tuple[Callable, list, dict]:
    return fn, list(args), kwargs


FINITE = {"MLP.forward", "MLP.predict_proba", "MLP.trace", "MLP.propagate",
          "Network.forward", "Network.predict_proba", "Network.trace", "decompose",
          "iter_decompose", "attribute", "class_contributions",
          "effective_weights", "input_space_images", "weight_images"}  # fmt: skip


def _cases() -> list[Case]:
    m, p, d = mlpinspect, mlpinspect.plotting, mlpinspect.datasets
    e, s, t = mlpinspect.experiments, mlpinspect.study, mlpinspect.testing
    c = []

    def add(
        name: str, make: Callable[[World], tuple[Callable, list, dict]], **extra: Any
    ) -> None:
        if extra.get("check") is None:
            if name.startswith(("load_mnist", "load_keras", "load_nielsen", "MNIST.")):
                extra["check"] = mnist_result
            elif name.split("(")[0] in FINITE:
                extra["check"] = finite_result
        c.append(Case(name, make, **extra))

    # The package's functions.
    add("MLP", lambda w: _f(m.MLP, list(w.mlp.layers), input_shape=(2, 2),
                            class_names=["a", "b"], feature_names=list("abcd"),
                            task="multiclass", name="x"))  # fmt: skip
    add("Dense", lambda w: _f(m.Dense, np.eye(2), np.zeros(2), "relu", name="x"))
    add("Network", lambda w: _f(m.Network, [4, 3, 2], "sigmoid", init="normal",
                                seed=0, dtype=np.float64, input_shape=(2, 2),
                                class_names=["a", "b"],
                                feature_names=list("abcd")))  # fmt: skip
    add("Network.load", lambda w: _f(m.Network.load, w.network_file))
    add("ForwardTrace", lambda w: _f(m.ForwardTrace, w.X, w.trace.pre, w.trace.post))
    add("History", lambda w: _f(m.History, [1], [0.5], [0.5], [], [], [0.1]))
    add("History.from_dict", lambda w: _f(m.History.from_dict, w.history.to_dict()))
    add("ablate", lambda w: _f(m.ablate, w.mlp, w.X, w.y, units=[0], layer=0,
                               mode="zero", chunk_size=3))  # fmt: skip
    add("adapt", lambda w: _f(m.adapt, w.net))
    add("adapt(npz)", lambda w: _f(m.adapt, w.folder / "weights.npz"))
    add("adapt(network file)", lambda w: _f(m.adapt, w.network_file))
    add("adapt(pairs)", lambda w: _f(m.adapt, [(np.ones((2, 4)), np.zeros(2))],
                                     activations="softmax"))  # fmt: skip
    add("attribute", lambda w: _f(m.attribute, w.mlp, w.X, 0, n_steps=4,
                                  method="integrated_gradients", stage="pre",
                                  baseline=None, chunk_size=3))  # fmt: skip
    add("attribute(lrp)", lambda w: _f(m.attribute, w.tanh_mlp, w.X, 0, method="lrp",
                                       lrp_rule="epsilon", epsilon=1e-6))  # fmt: skip
    add("attribute(occlusion)", lambda w: _f(m.attribute, w.mlp, w.X, 0,
                                             method="occlusion", window=1,
                                             stride=1))  # fmt: skip
    add("class_contributions", lambda w: _f(m.class_contributions, w.mlp, w.X, w.y,
                                            layer=-1, chunk_size=2))  # fmt: skip
    add("decompose", lambda w: _f(m.decompose, w.mlp, w.X, layer=-1, units=None))
    add("drift_from_init", lambda w: _f(m.drift_from_init, w.net, layer=0))
    add("effective_weights", lambda w: _f(m.effective_weights, w.mlp, layer=-1))
    add("image_shape", lambda w: _f(m.image_shape, 12))
    add("infer_task", lambda w: _f(m.infer_task, "softmax", 3))
    add("input_space_images", lambda w: _f(m.input_space_images, w.mlp, layer=-1,
                                           shape=(2, 2)))  # fmt: skip
    add("iter_decompose", lambda w: _f(lambda *a, **k: list(m.iter_decompose(*a, **k)),
                                       w.mlp, w.X, layer=-1, units=None,
                                       chunk_size=2))  # fmt: skip
    add("load_mnist", lambda w: _f(m.load_mnist, w.mnist_folder, download=False,
                                   cache_dir=w.folder / "cache", mirrors=None,
                                   dtype=np.float32), succeeds=False)  # fmt: skip
    add("load_mnist(cache)", lambda w: _f(m.load_mnist, None, download=False,
                                          cache_dir=w.folder / "cache"),
        succeeds=False)  # fmt: skip
    add("load_mnist_sample", lambda w: _f(m.load_mnist_sample, dtype=np.float32))
    add("preferred_input", lambda w: _f(m.preferred_input, w.mlp, 0, layer=-1,
                                        stage="pre", norm=None, box=None, n_steps=3,
                                        step_size=None, seed=0,
                                        start=None))  # fmt: skip
    add("register_adapter", lambda w: _f(m.register_adapter, t.FakeAdapter(),
                                         first=False))  # fmt: skip
    add("registered_adapters", lambda w: _f(m.registered_adapters))
    add("smoothness", lambda w: _f(m.smoothness, w.images, n_shuffles=2, seed=0,
                                   layer=0))  # fmt: skip
    add("top_units", lambda w: _f(m.top_units, w.mlp, 0, layer=-1, k=2, by="weight",
                                  X=None, y=None, chunk_size=3))  # fmt: skip
    add("top_units(contribution)", lambda w: _f(m.top_units, w.mlp, 0, layer=-1,
                                                by="contribution", X=w.X,
                                                y=w.y))  # fmt: skip
    add("unit_importance", lambda w: _f(m.unit_importance, w.mlp, w.X, w.y, layer=0,
                                        mode="zero", chunk_size=3))  # fmt: skip
    add(
        "unregister_adapter",
        lambda w: _f(m.unregister_adapter, "no-such-adapter"),
        succeeds=False,
    )
    add("weight_images", lambda w: _f(m.weight_images, w.mlp, layer=0, shape=(2, 2)))

    # Methods of MLP and Network.
    for meth, args, kwargs in [
        ("astype", [np.float32], {}),
        ("check_finite", [], {}),
        ("class_label", [1], {}),
        ("forward", ["X"], {"chunk_size": 2}),
        ("layer_index", [-1], {"argument": "layer"}),
        ("predict", ["X"], {"chunk_size": 2}),
        ("predict_proba", ["X"], {"chunk_size": 2}),
        ("propagate", ["X"], {"start": 0, "stop": None, "keep": True}),
        ("replace", [], {"name": "y", "task": "multiclass"}),
        ("score", ["X", "y"], {}),
        ("trace", ["X"], {"stop": None}),
        ("unit_label", [1, 0], {}),
        ("unit_name", [1, 0], {}),
    ]:
        add(f"MLP.{meth}", _method("mlp", meth, args, kwargs))
    for meth, args, kwargs in [
        ("fit", ["X", "y"], {"epochs": 1, "batch_size": 2, "learning_rate": 1.0,
                             "cost": "quadratic", "l2": 0.0, "validation_data": None,
                             "shuffle": True, "monitor": True, "progress": False,
                             "callback": None, "engine": "numpy"}),
        ("forward", ["X"], {"chunk_size": 2}),
        ("initial_mlp", [], {}),
        ("predict", ["X"], {}),
        ("predict_proba", ["X"], {}),
        ("save", ["@out.npz"], {}),
        ("score", ["X", "y"], {}),
        ("to_mlp", [], {}),
        ("trace", ["X"], {"stop": None}),
    ]:  # fmt: skip
        add(f"Network.{meth}", _method("net", meth, args, kwargs))
    add("Dense.astype", _method("dense", "astype", [np.float32], {}))
    add("ForwardTrace.source", _method("trace", "source", [1], {}))
    add("ForwardTrace.stage", _method("trace", "stage", [0, "pre"], {}))
    add("History.to_dict", _method("history", "to_dict", [], {}))

    # Results: their constructors (one field at a time) and their methods.
    for attr in ("ablation", "attribution", "contributions", "decomposition", "drift",
                 "effective", "preferred", "smooth", "top", "importance", "sweep",
                 "comparison", "mnist"):  # fmt: skip
        add(f"{attr}.__init__", _constructor(attr))
    add("ClassContributions.negative_mass_share",
        _method("contributions", "negative_mass_share", [], {}))  # fmt: skip
    add("ClassContributions.on_counts",
        _method("contributions", "on_counts", [], {"consistent": 0.9}))  # fmt: skip
    add("ClassContributions.usage",
        _method("contributions", "usage", [], {"unused_below": 0.05,
                                               "consistent": 0.9}))  # fmt: skip
    add("Decomposition.images", _method("decomposition", "images", [None], {}))
    add("EffectiveWeights.images", _method("effective", "images", [(2, 2)], {}))
    add("TopUnits.source_label", _method("top", "source_label", [0], {}))
    for attr in ("ablation", "contributions", "drift", "smooth", "top", "importance",
                 "sweep"):  # fmt: skip
        add(f"{attr}.to_dict", _method(attr, "to_dict", [], {}))
    add("SweepResult.to_markdown", _method("sweep", "to_markdown", [], {}))
    add("MNIST.nielsen_split", _method("mnist", "nielsen_split", [], {}))

    # Plots.
    add("plot_attribution", lambda w: _f(p.plot_attribution, w.attribution, sample=0,
                                         overlay=True, shared_scale=False,
                                         colorbar=True, top=None))  # fmt: skip
    add("plot_class_contributions", lambda w: _f(p.plot_class_contributions,
                                                 w.contributions, annotate=None,
                                                 colorbar=True))  # fmt: skip
    add("plot_compare", lambda w: _f(p.plot_compare, [w.net, w.net], layer=0,
                                     units=[0, 1], names=["a", "b"], space="input",
                                     scale="row", colorbar=True))  # fmt: skip
    add("plot_decomposition", lambda w: _f(p.plot_decomposition, w.decomposition,
                                           x=None, sample=0, unit=0, layer=None,
                                           top=None, show_input=True))  # fmt: skip
    add("plot_output_weights", lambda w: _f(p.plot_output_weights, w.mlp, layer=-1,
                                            units=None, ncols=None, shared_scale=True,
                                            colorbar=True, shape=None,
                                            top=None))  # fmt: skip
    add("plot_preferred_input", lambda w: _f(p.plot_preferred_input, w.preferred,
                                             ncols=None, shared_scale=False,
                                             colorbar=True, top=None))  # fmt: skip
    add("plot_recipes", lambda w: _f(p.plot_recipes, w.mlp, 2, "weight", None, None,
                                     layer=-1, units=None, chunk_size=2,
                                     space="input", shared_scale=True, colorbar=True,
                                     top=None))  # fmt: skip
    add("plot_sweep", lambda w: _f(p.plot_sweep, w.sweep, spread="range",
                                   show_runs=True, reference=True))  # fmt: skip
    add("plot_top_units", lambda w: _f(p.plot_top_units, w.top, None, k=None, by=None,
                                       X=None, y=None, layer=None, chunk_size=2,
                                       space="input", shared_scale=True,
                                       colorbar=True, top=None))  # fmt: skip
    add("plot_training", lambda w: _f(p.plot_training, w.history,
                                      held_out_label="held-out"))  # fmt: skip
    add("plot_weight_images", lambda w: _f(p.plot_weight_images, w.mlp, layer=0,
                                           units=None, space="input", ncols=None,
                                           shared_scale=True, colorbar=True,
                                           shape=None, top=None))  # fmt: skip

    # Data sets.
    add("load_idx", lambda w: _f(d.load_idx, w.idx_file, sha256=None))
    add("load_keras_mnist_npz", lambda w: _f(d.load_keras_mnist_npz,
                                             w.folder / "keras.npz",
                                             dtype=np.float32))  # fmt: skip
    add("load_nielsen_pickle", lambda w: _f(d.load_nielsen_pickle,
                                            w.folder / "nielsen.pkl.gz",
                                            pixel_scale=256))  # fmt: skip
    for protocol in (0, 1, 2, 5):
        add(
            f"load_nielsen_pickle(protocol {protocol})",
            lambda w, protocol=protocol: _f(
                d.load_nielsen_pickle, w.folder / f"nielsen-{protocol}.pkl.gz"
            ),
        )
    add("load_mnist(download)", lambda w: _f(m.load_mnist, None, download=True,
                                             cache_dir=w.folder / "cache",
                                             mirrors=["http://127.0.0.1:9/"]),
        succeeds=False)  # fmt: skip
    add("mnist_cache_dir", lambda w: _f(d.mnist_cache_dir))
    add("save_idx", lambda w: _f(d.save_idx, w.folder / "b.idx",
                                 np.arange(3, dtype=np.int32), compress=None,
                                 compresslevel=6))  # fmt: skip
    add("MNIST", lambda w: _f(d.MNIST, w.X, w.y, w.X, w.y, (2, 2), "src", None))
    add("Subset", lambda w: _f(d.Subset, w.X, w.y))
    add("NielsenSplit", lambda w: _f(d.NielsenSplit, w.mnist.nielsen_split()[0],
                                     w.mnist.nielsen_split()[1],
                                     w.mnist.nielsen_split()[2]))  # fmt: skip

    # Experiments and the study.
    add("hidden_size_sweep", lambda w: _f(e.hidden_size_sweep, [1, 2], [0],
                                          train=w.train, test=w.train, n_outputs=2,
                                          epochs=1, batch_size=5, learning_rate=1.0,
                                          cost="quadratic", init="normal",
                                          activation="sigmoid", reference=None,
                                          n_jobs=1, progress=False,
                                          engine="numpy"))  # fmt: skip
    add("compare_training", lambda w: _f(e.compare_training, {"a": {"init": "he"}},
                                         train=w.train, test=w.train, sizes=(4, 3, 2),
                                         seed=0, epochs=1, batch_size=5,
                                         progress=False, engine="numpy"))  # fmt: skip
    add("SweepResult", lambda w: _f(e.SweepResult, (1, 2), (0,),
                                    np.array([[0.5], [0.6]])))  # fmt: skip
    add("run_study", lambda w: _f(s.run_study, w.out, data="sample", seed=0, epochs=1,
                                  sweep_sizes=(), sweep_seeds=1, n_jobs=1, quick=True,
                                  quiet=True, engine="numpy"))  # fmt: skip
    add("Section", lambda w: _f(s.Section, "key", "title"))
    add("StudyResult", lambda w: _f(s.StudyResult, w.out))
    add("explore", lambda w: _f(mlpinspect.explore, w.mlp, w.X, w.y, path=None,
                                k=2, n_examples=5, methods=("gradient",),
                                title="t"))  # fmt: skip

    # Snapshots, unit atlases, similarity and dynamics.
    add("SnapshotRecorder", lambda w: _f(m.SnapshotRecorder, every_epochs=1,
                                         every_batches=None, path=None,
                                         flush_seconds=None))  # fmt: skip
    add("SnapshotRecorder.record", lambda w: _f(m.SnapshotRecorder().record, w.mlp,
                                                epoch=1.0, step=3,
                                                metrics={"loss": 0.5}))  # fmt: skip
    add("SnapshotRecorder.close", lambda w: _f(_recorded(w).close, complete=True))
    add("Snapshots", lambda w: _f(m.Snapshots, w.models, epochs=[0.0, 1.0],
                                  steps=[0, 3],
                                  metrics={"loss": [1.0, 0.5]}))  # fmt: skip
    add("Snapshots.from_models", lambda w: _f(m.Snapshots.from_models, w.models,
                                              epochs=None, steps=None,
                                              metrics=None))  # fmt: skip
    add("Snapshots.load", lambda w: _f(m.Snapshots.load, w.snapshots_file))
    add("Snapshots.save", _method("snapshots", "save", ["@snaps-out.npz"], {}))
    add("Snapshots.time_text", _method("snapshots", "time_text", [1], {}))
    add("Snapshots.__getitem__", _method("snapshots", "__getitem__", [1], {}))
    add("unit_atlas", lambda w: _f(m.unit_atlas, w.mlp, w.X, w.y, layer=0, k=2,
                                   stage="post", quantiles=(0.0, 0.5, 1.0),
                                   always_on_share=0.99, dead_share=0.0,
                                   saturated_share=0.99, duplicate_correlation=0.95,
                                   keep_inputs=True, chunk_size=3))  # fmt: skip
    add("UnitAtlas.unit_label", _method("atlas", "unit_label", [1], {}))
    add("UnitAtlas.flags", _method("atlas", "flags", [1], {}))
    for meth in ("flagged", "to_dict"):
        add(f"UnitAtlas.{meth}", _method("atlas", meth, [], {}))
    add("linear_cka", lambda w: _f(m.linear_cka, w.X, w.X[:, ::-1] ** 2,
                                   estimator="biased", chunk_size=3))  # fmt: skip
    add("linear_cka(pairs)", lambda w: _f(m.linear_cka, [(w.X[:3], w.X[:3] ** 2),
                                                         (w.X[3:], w.X[3:] ** 2)],
                                          estimator="unbiased"))  # fmt: skip
    add("cka", lambda w: _f(m.cka, w.mlp, w.models[1], w.X, layer=0,
                            other_layer=None, stage="post", estimator="biased",
                            chunk_size=3))  # fmt: skip
    add("cka_matrix", lambda w: _f(m.cka_matrix, {"a": w.mlp, "b": w.models[1]},
                                   w.X, layers=None, stage="post",
                                   estimator="biased", chunk_size=3))  # fmt: skip
    add("CKAMatrix.get", _method("cka_result", "get", ["a", "b"],
                                 {"layer": 0, "other_layer": None}))  # fmt: skip
    add("match_units", lambda w: _f(m.match_units, w.mlp, w.models[1], w.X, layer=0,
                                    other_layer=None, stage="post", names=None,
                                    chunk_size=3))  # fmt: skip
    add("UnitMatching.count_above", _method("matching", "count_above", [0.5], {}))
    add("unit_dynamics", lambda w: _f(m.unit_dynamics, w.snapshots, layer=0,
                                      units=None, threshold=0.9, match="index",
                                      X=None, y=None))  # fmt: skip
    add("unit_dynamics(history)", lambda w: _f(m.unit_dynamics, w.fit_history,
                                               match="correlation", X=w.X,
                                               y=w.y))  # fmt: skip
    add("UnitDynamics.mean", _method("dynamics", "mean", ["cosine_to_init"], {}))
    for attr in ("atlas", "cka_result", "matching", "dynamics"):
        add(f"{attr}.to_dict", _method(attr, "to_dict", [], {}))
        add(f"{attr}.__init__", _constructor(attr))
    add("plot_unit_atlas", lambda w: _f(p.plot_unit_atlas, w.atlas, units=None,
                                        ncols=None))  # fmt: skip
    add("plot_unit_profile", lambda w: _f(p.plot_unit_profile, w.atlas, 1, k=None,
                                          top=None))  # fmt: skip
    add("plot_cka_matrix", lambda w: _f(p.plot_cka_matrix, w.cka_result,
                                        annotate=True, colorbar=True))  # fmt: skip
    add("plot_matched_units", lambda w: _f(p.plot_matched_units, w.matching, top=None,
                                           units=None, shared_scale=False,
                                           colorbar=True))  # fmt: skip
    add("plot_unit_dynamics", lambda w: _f(p.plot_unit_dynamics, w.dynamics,
                                           quantities=("cosine_to_init", "formed"),
                                           metric="auto", units=True))  # fmt: skip
    add("plot_film_strip", lambda w: _f(p.plot_film_strip, w.snapshots, layer=0,
                                        units=None, frames=2, scale="all",
                                        colorbar=True))  # fmt: skip
    add("animate_weight_images", lambda w: _f(_animation_frames(
        p.animate_weight_images), w.snapshots, layer=0, units=None, frames=None,
        ncols=None, interval=200.0))  # fmt: skip
    add("save_weight_animation", lambda w: _f(p.save_weight_animation, w.snapshots,
                                              w.folder / "anim.gif", layer=0,
                                              units=None, frames=None, ncols=None,
                                              fps=4.0, dpi=20.0))  # fmt: skip

    # Faithfulness of attributions.
    add("iter_attribute", lambda w: _f(lambda *a, **k: list(m.iter_attribute(*a, **k)),
                                       w.mlp, [w.X[:3], w.X[3:]], 0,
                                       method="gradient", stage="pre",
                                       baseline=None, baselines=None, chunk_size=2,
                                       internal_batch_size=None))  # fmt: skip
    add("infidelity", lambda w: _f(m.infidelity, w.mlp, w.attribution,
                                   perturbations=None, n_perturb_samples=3,
                                   noise_scale=0.1, normalize=False, seed=0,
                                   chunk_size=3))  # fmt: skip
    add("max_sensitivity", lambda w: _f(m.max_sensitivity, w.mlp, w.X, 0,
                                        method="gradient", perturb_radius=0.02,
                                        n_perturb_samples=3, norm="fro",
                                        perturbations=None, seed=0,
                                        chunk_size=3))  # fmt: skip
    for name in ("deletion_curve", "insertion_curve"):
        add(name, lambda w, name=name: _f(getattr(m, name), w.mlp, w.attribution,
                                          n_steps=3, baseline=None, by="value",
                                          chunk_size=3))  # fmt: skip
    add("curve.__init__", _constructor("curve"))
    add("plot_faithfulness", lambda w: _f(p.plot_faithfulness,
                                          {"a": w.curve, "b": w.curve}))  # fmt: skip

    # Experiment grids and tables.
    add("expand_grid", lambda w: _f(e.expand_grid, {"hidden": [2, 3], "epochs": 1},
                                    name="grid"))  # fmt: skip
    add("load_grid", lambda w: _f(e.load_grid, w.grid_file))
    add("ExperimentPlan", lambda w: _f(e.ExperimentPlan, ({"hidden": 2},), (0, 1),
                                       ("accuracy",), n_outputs=None,
                                       source=""))  # fmt: skip
    add("run_experiments", lambda w: _f(e.run_experiments, {"hidden": [2], "epochs": 1},
                                        (0,), train=w.train, test=w.train,
                                        evaluate=("accuracy",), n_outputs=2,
                                        n_jobs=1, cache_dir=None, keep_models=False,
                                        monitor=False, retry_failed=False,
                                        progress=False))  # fmt: skip
    add("ExperimentTable", lambda w: _f(e.ExperimentTable, w.table.records,
                                        w.table.columns))  # fmt: skip
    add("ExperimentTable.column", _method("table", "column", ["seed"], {}))
    add("ExperimentTable.filter", _method("table", "filter", [None], {"seed": 0}))
    add("ExperimentTable.group", _method("table", "group", ["seed"], {}))
    add("ExperimentTable.summary", _method("table", "summary", [None], {"by": None}))
    add("ExperimentTable.to_csv", _method("table", "to_csv", ["@table.csv"], {}))
    add("ExperimentTable.to_json", _method("table", "to_json", ["@table.json"], {}))
    add("ExperimentTable.to_dict", _method("table", "to_dict", [], {}))

    # The conformance kit.
    fake = t.FakeAdapter

    def fake_model(w: World) -> Any:
        return t.FakeModel([4, 3, 2], seed=0)

    add("FakeModel", lambda w: _f(t.FakeModel, [4, 3, 2], ["relu", "softmax"], seed=0,
                                  dtype=np.float64, classes=None))  # fmt: skip
    add("FakeAdapter", lambda w: _f(t.FakeAdapter))
    add("AdapterCheckError", lambda w: _f(t.AdapterCheckError, "message"))
    add("check_adapter", lambda w: _f(t.check_adapter, fake(), fake_model(w),
                                      lambda X: fake_model(w).forward(X),
                                      inputs=None, options=None))  # fmt: skip
    add("adapter_checks", lambda w: _f(lambda *a, **k: list(t.adapter_checks(*a, **k)),
                                       fake(), fake_model(w)))  # fmt: skip
    add("parametrize_adapter_checks", lambda w: _f(t.parametrize_adapter_checks,
                                                   fake(), fake_model(w)))  # fmt: skip
    add("check_protocol", lambda w: _f(t.check_protocol, fake()))
    add("check_can_adapt", lambda w: _f(t.check_can_adapt, fake(), fake_model(w)))
    add("check_rejects_others", lambda w: _f(t.check_rejects_others, fake()))
    add("check_returns_mlp", lambda w: _f(t.check_returns_mlp, fake(), fake_model(w),
                                          options=None))  # fmt: skip
    add(
        "check_rejects_unknown_options",
        lambda w: _f(
            t.check_rejects_unknown_options, fake(), fake_model(w), options=None
        ),
    )
    add("check_deterministic", lambda w: _f(t.check_deterministic, fake(),
                                            fake_model(w), options=None))  # fmt: skip
    add("check_copies", lambda w: _f(t.check_copies, fake(), fake_model(w),
                                     t.FakeModel.perturb, options=None))  # fmt: skip
    for name in ("check_shapes", "check_dtypes", "check_task", "check_read_only"):
        add(name, lambda w, name=name: _f(getattr(t, name), w.mlp))
    add("check_no_shared_memory", lambda w: _f(t.check_no_shared_memory, w.mlp,
                                               [np.zeros(3)]))  # fmt: skip
    add("check_forward", lambda w: _f(t.check_forward, w.mlp, w.mlp.forward,
                                      inputs=None, rtol=None, atol=None,
                                      seed=0))  # fmt: skip
    add("check_predict", lambda w: _f(t.check_predict, w.mlp, w.mlp.predict,
                                      inputs=None, seed=0))  # fmt: skip
    add("default_tolerance", lambda w: _f(t.default_tolerance, np.float32))
    add("registered_adapter", lambda w: _f(_enter(t.registered_adapter), fake(),
                                           first=False))  # fmt: skip
    return c


def _recorded(w: World) -> Any:
    recorder = mlpinspect.SnapshotRecorder()
    recorder.record(w.mlp, epoch=0.0, step=0)
    return recorder


def _animation_frames(animate: Callable) -> Callable:
    """Build the animation and draw each frame (the frames run lazily)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        anim = animate(*args, **kwargs)
        for frame in anim.new_frame_seq():
            anim._draw_frame(frame)
        anim._draw_was_started = True  # drawn: no warning when it is dropped
        return anim._fig

    return call


def _enter(manager: Callable) -> Callable:
    def call(*args: Any, **kwargs: Any) -> None:
        with manager(*args, **kwargs):
            pass

    return call


def _method(attr: str, meth: str, args: list, kwargs: dict) -> Callable:
    def make(w: World) -> tuple[Callable, list, dict]:
        obj = getattr(w, attr)
        if attr == "net":  # methods may change the network: use a copy
            obj = mlpinspect.Network.load(w.network_file)
        resolved = [_resolve(w, a) for a in args]
        return getattr(obj, meth), resolved, dict(kwargs)

    return make


def _resolve(w: World, value: Any) -> Any:
    if value == "X" and isinstance(value, str):
        return w.X
    if value == "y" and isinstance(value, str):
        return w.y
    if isinstance(value, str) and value.startswith("@"):
        return w.folder / value[1:]
    return value


def _constructor(attr: str) -> Callable:
    def make(w: World) -> tuple[Callable, list, dict]:
        obj = getattr(w, attr)
        fields = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
        return type(obj), [], fields

    return make


CASES = _cases()


# -- running one call --------------------------------------------------------------


class CallTimeout(BaseException):
    """A call ran out of its time budget (a hang)."""


@contextlib.contextmanager
def budget(seconds: float):
    def expire(signum: int, frame: Any) -> None:
        raise CallTimeout(f"no answer within {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _address_space() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def memory_cap(extra: int):
    """Limit the address space to what the process uses plus ``extra`` bytes."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _address_space() + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def call_once(
    fn: Callable, args: list, kwargs: dict, check: Callable | None = None
) -> str | None:
    """Call; return None when the contract holds, else what went wrong."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with budget(CALL_BUDGET), memory_cap(MEMORY_HEADROOM):
                result = fn(*args, **kwargs)
                _close_figure(result)
                wrong = check(result) if check is not None else None
            if wrong:
                return wrong
        except MlpinspectError:
            return None
        except CallTimeout as exc:
            return f"CallTimeout: {exc}"
        except BaseException as exc:
            if isinstance(exc, KeyboardInterrupt):
                raise
            where = traceback.extract_tb(exc.__traceback__)[-1]
            return (
                f"{type(exc).__name__}: {str(exc)[:200]} "
                f"(at {Path(where.filename).name}:{where.lineno})"
            )
    numeric = [
        w for w in caught
        if (issubclass(w.category, RuntimeWarning)
        and "mlpinspect" in str(w.filename) + str(w.message))
        or (issubclass(w.category, RuntimeWarning) and "overflow" in str(w.message))
    ]  # fmt: skip
    if numeric:
        w = numeric[0]
        return (
            f"RuntimeWarning: {str(w.message)[:200]} "
            f"(at {Path(w.filename).name}:{w.lineno})"
        )
    return None


def _close_figure(result: Any) -> None:
    """Release a returned figure (they are not pyplot figures; just drop them)."""
    if hasattr(result, "clf") and callable(result.clf):
        result.clf()


# -- the tests -------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _scratch_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run every call from an empty scratch folder: hostile relative paths
    (``"k|.npz"``, a study's ``out="x"``) must never land in the folder the
    suite was started from. Afterwards, that folder is unchanged and the
    scratch folder holds no temporary file of ours (a write that failed or
    was interrupted cleaned up after itself)."""
    from mlpinspect._io import is_own_temp

    start = Path.cwd()
    own = {".hypothesis"}  # hypothesis' own folder, made on its first run
    before = set(os.listdir(start)) - own
    scratch = tmp_path / "cwd"
    scratch.mkdir()
    monkeypatch.chdir(scratch)
    yield
    monkeypatch.undo()
    after = set(os.listdir(start)) - own
    assert after == before, "a call wrote into the working folder"
    left = [
        os.path.join(root, name)
        for root, dirs, files in os.walk(scratch)
        for name in files + dirs
        if is_own_temp(name)
    ]  # fmt: skip
    assert not left, f"temporary files left behind: {left}"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    folder = tmp_path_factory.mktemp("fuzz")
    saved = {k: os.environ.pop(k, None) for k in ("MLPINSPECT_MNIST_DIR",)}
    os.environ["MLPINSPECT_DATA_DIR"] = str(folder / "data-dir")
    try:
        yield World(folder)
    finally:
        os.environ.pop("MLPINSPECT_DATA_DIR", None)
        for k, v in saved.items():
            if v is not None:
                os.environ[k] = v


@pytest.fixture(scope="module")
def quick_study(world: World):
    """run_study without its sections, on 20 images: only its arguments run."""
    import mlpinspect.study as study

    def only_accuracy(ctx: Any) -> None:
        ctx.results["test_accuracy"] = 1.0

    saved = (study.SECTIONS, study.load_data)
    study.SECTIONS = (only_accuracy,)
    study.load_data = lambda data, quick: (world.train, world.train, "tiny")
    try:
        yield
    finally:
        study.SECTIONS, study.load_data = saved


def _parameters(fn: Callable, args: list, kwargs: dict) -> list[tuple[str, Any]]:
    """``(parameter, its valid value)`` for every parameter one may replace:
    positional ones by index (``"#0"``), keywords by name."""
    out = [(f"#{i}", a) for i, a in enumerate(args)]
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return out
    positional = [
        p for p in sig.parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]  # fmt: skip
    taken = {p.name for p in positional[: len(args)]}
    for param in sig.parameters.values():
        if param.name in taken or param.kind in (
            param.VAR_POSITIONAL,
            param.VAR_KEYWORD,
            param.POSITIONAL_ONLY,
        ):
            continue  # fmt: skip
        if param.name in ("ax", "fig"):
            continue  # matplotlib objects: the plotting tests own them
        default = kwargs.get(param.name, param.default)
        out.append(
            (param.name, None if default is inspect.Parameter.empty else default)
        )
    return out


def _record(case: str, argument: str, problem: str | None, value: Any) -> None:
    entry = {"case": case, "argument": argument, "problem": problem,
             "value": repr(value)[:120]}  # fmt: skip
    with open(REPORT, "a") as fh:
        fh.write(json.dumps(entry) + "\n")


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_baseline_calls_work(world, quick_study, case: Case):
    """The valid arguments each case starts from are accepted (valid input is
    never refused), or, for the few cases built to fail, refused by a library
    error."""
    fn, args, kwargs = case.call(world)
    if case.succeeds:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            result = fn(*args, **kwargs)
        _close_figure(result)
        assert case.check is None or case.check(result) is None
    else:
        with pytest.raises(MlpinspectError):
            fn(*args, **kwargs)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_hostile_arguments_raise_library_errors(world, quick_study, case: Case):
    """Replace one or two arguments with hostile values: any exception is a
    MlpinspectError, and no call hangs, runs out of memory or warns."""

    @settings(
        max_examples=EXAMPLES,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.function_scoped_fixture],
        deadline=None,
        database=None,
    )  # fmt: skip
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        fn, args, kwargs = case.call(world)
        params = _parameters(fn, args, kwargs)
        if not params:
            problem = call_once(fn, args, kwargs, case.check)
            assert problem is None, f"{case.name}(): {problem}"
            return
        chosen = data.draw(
            st.lists(st.sampled_from(params), min_size=1, max_size=2,
                     unique_by=lambda p: p[0]),
            label="arguments",
        )  # fmt: skip
        args, kwargs = list(args), dict(kwargs)
        shown = []
        for name, valid in chosen:
            value = data.draw(hostile(world, valid), label=name)
            shown.append(f"{name}={value!r:.80}")
            if name.startswith("#"):
                args[int(name[1:])] = value
            else:
                kwargs[name] = value
        problem = call_once(fn, args, kwargs, case.check)
        if REPORT:
            _record(case.name, ",".join(n for n, _ in chosen), problem, shown)
        if problem is None:
            return
        if REPORT:
            return
        raise AssertionError(f"{case.name}({', '.join(shown)}): {problem}")

    run()


def _public_callables() -> set[str]:
    """Every public function and class of the enumerated namespaces, and the
    public methods of the model and result classes."""
    names = set()
    modules = [mlpinspect, mlpinspect.plotting, mlpinspect.datasets,
               mlpinspect.analysis, mlpinspect.experiments, mlpinspect.study,
               mlpinspect.testing]  # fmt: skip
    for module in modules:
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isclass(obj) and issubclass(obj, BaseException):
                continue  # the exceptions themselves
            if inspect.ismodule(obj) or not callable(obj):
                continue
            if name == "Adapter":  # a Protocol: describes, is never called
                continue
            names.add(name)
    return names


def test_every_public_callable_has_a_case():
    covered = {case.name.split("(")[0].split(".")[0] for case in CASES}
    aliases = {"ablation": "Ablation", "attribution": "Attribution",
               "contributions": "ClassContributions", "decomposition": "Decomposition",
               "drift": "Drift", "effective": "EffectiveWeights",
               "preferred": "PreferredInput", "smooth": "Smoothness",
               "top": "TopUnits", "importance": "UnitImportance",
               "sweep": "SweepResult", "comparison": "Comparison",
               "mnist": "MNIST", "atlas": "UnitAtlas", "cka_result": "CKAMatrix",
               "matching": "UnitMatching", "dynamics": "UnitDynamics",
               "curve": "PerturbationCurve"}  # fmt: skip
    covered |= {aliases.get(name, name) for name in covered}
    missing = sorted(_public_callables() - covered)
    assert not missing, f"public callables without a fuzz case: {missing}"


def test_fuzzer_finds_a_foreign_exception():
    """The harness itself: a function raising a foreign exception, hanging or
    asking for too much memory is caught as a problem."""

    def foreign(x: Any) -> None:
        raise KeyError(x)

    def hangs() -> None:
        while True:
            pass

    def greedy() -> None:
        bytearray(4 * MEMORY_HEADROOM)

    assert call_once(foreign, [1], {}).startswith("KeyError")
    assert call_once(lambda: None, [], {}) is None
    assert call_once(greedy, [], {}).startswith("MemoryError")
    global CALL_BUDGET
    saved, CALL_BUDGET = CALL_BUDGET, 0.2
    try:
        assert call_once(hangs, [], {}).startswith("CallTimeout")
    finally:
        CALL_BUDGET = saved
    assert math.isfinite(CALL_BUDGET)


FILE_READERS = {
    "Network.load": lambda path: mlpinspect.Network.load(path),
    "adapt": lambda path: mlpinspect.adapt(path),
    "load_idx": lambda path: mlpinspect.datasets.load_idx(path),
    "load_keras_mnist_npz": lambda path: mlpinspect.datasets.load_keras_mnist_npz(path),
    "load_nielsen_pickle": lambda path: mlpinspect.datasets.load_nielsen_pickle(path),
}


@pytest.mark.parametrize("reader", sorted(FILE_READERS))
def test_every_reader_on_every_awkward_file(world, reader):
    """Each file reader on each crafted file, FIFO, device and folder: a
    library error or a valid result, never a hang or a foreign exception."""
    problems = []
    check = (
        mnist_result if reader.startswith("load_") and reader != "load_idx" else None
    )
    for path in [*world.crafted, world.fifo, "/dev/zero", world.folder, world.garbage,
                 world.under_file, world.folder / "missing.npz"]:  # fmt: skip
        problem = call_once(FILE_READERS[reader], [path], {}, check)
        if REPORT:
            _record(f"{reader}(file)", "path", problem, [str(path)])
        elif problem is not None:
            problems.append(f"{reader}({Path(path).name}): {problem}")
    assert not problems, "\n".join(problems)
