"""SmoothGrad (NoiseTunnel) over any method, and expected gradients (GradientSHAP).

Both average attributions over random draws, reproducibly: the draws come
from named streams of one seed, in row order, so a result does not depend on
``chunk_size`` or on how a stream was batched, and passing ``seed`` (recorded
in ``options``) repeats it. Explicit draws (``noise``, ``indices``,
``alphas``) replace the random ones, e.g. to compare with Captum.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..._validation import check_array
from ...errors import InvalidParameterError
from ._options import Choice, Custom, Integer, Option, Real, Seed
from ._problem import Computed, Problem
from ._registry import get_method, register_method

__all__: list[str] = []

NT_TYPES = ("smoothgrad", "smoothgrad_sq", "vargrad")

# Draws are streamed in blocks of ``chunk_size``, so no count needs much memory,
# but a count beyond this would not finish (each draw is a full attribution):
# it is refused up front instead of hanging.
MAX_DRAWS = 2**20


def _method_name(value: Any, name: str) -> str:
    record = get_method(value)
    if record.name == "noise_tunnel":
        raise InvalidParameterError(f"`{name}` must not be 'noise_tunnel' itself")
    return record.name


def _array(ndims: tuple[int, ...], what: str) -> Custom:
    def check(value: Any, name: str) -> Any:
        if value is None:
            return None
        return check_array(value, name, ndim=ndims, dtype=np.float64)

    return Custom(check, what)


def _check_indices(value: Any, name: str) -> Any:
    if value is None:
        return None
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" or arr.ndim != 2:
        raise InvalidParameterError(
            f"`{name}` must be integers (positions in the baseline distribution), "
            f"shape (n, n_samples); got {arr.dtype} of shape {arr.shape}"
        )
    return arr.astype(np.int64, copy=False)


def _draws(
    value: np.ndarray | None, n_samples: int, d: int, name: str, trailing: int
) -> np.ndarray | None:
    """An explicit per-row draw array reshaped to ``(rows, n_samples, ...)``."""
    if value is None:
        return None
    if value.shape[1:2] != (n_samples,):
        raise InvalidParameterError(
            f"`{name}` must have one row per input and {n_samples} draws per row, "
            f"shape (n, {n_samples}{', ...' if trailing else ''}); got shape "
            f"{value.shape}"
        )
    if trailing:
        if int(np.prod(value.shape[2:])) != d:
            raise InvalidParameterError(
                f"`{name}` must hold one input per draw, shape (n, {n_samples}, {d}) "
                f"or (n, {n_samples}, *input_shape); got shape {value.shape}"
            )
        return value.reshape(value.shape[0], n_samples, d)
    return value


def _blocks(p: Problem, n_samples: int) -> Iterator[tuple[slice, int, int]]:
    """``(rows, first draw, number of draws)`` covering every row's draws, in
    row order, with at most ``chunk_size`` draws (one row at least) at once."""
    per = max(1, min(n_samples, p.chunk_size))
    for rows in p.chunks(n_samples):
        for start in range(0, n_samples, per):
            yield rows, start, min(per, n_samples - start)


# -- noise tunnel --------------------------------------------------------------------


def _nt_baseline(options: Mapping[str, Any]) -> str:
    return get_method(options["base_method"]).baseline_kind(options["base_options"])


def _nt_prepare(mlp: Any, stage: str, options: dict[str, Any]) -> dict[str, Any]:
    inner = get_method(options["base_method"])
    for opt in inner.options:
        if opt.per_row and options["base_options"].get(opt.name) is not None:
            raise InvalidParameterError(
                f"`{opt.name}` (explicit draws of {inner.name!r}) cannot be given "
                f"through noise_tunnel, which draws its inputs itself"
            )
    if options["noise"] is not None:
        _draws(options["noise"], options["nt_samples"], mlp.n_inputs, "noise", 1)
    return options


@register_method(
    name="noise_tunnel",
    summary=(
        "SmoothGrad: any method's attributions averaged over noisy copies of "
        "the input (smoothgrad, smoothgrad_sq, vargrad)"
    ),
    options=(
        Option(
            "base_method",
            "gradient",
            Custom(_method_name, "a registered method"),
            "the method averaged (its options are passed through)",
        ),
        Option(
            "nt_type",
            "smoothgrad",
            Choice(NT_TYPES),
            "mean, mean of squares or variance",
        ),
        Option("nt_samples", 20, Integer(1, MAX_DRAWS), "noisy copies per input"),
        Option("stdevs", 0.15, Real(0.0), "standard deviation of the Gaussian noise"),
        Option(
            "noise",
            None,
            _array((3, 4, 5, 6), "array (n, nt_samples, *input_shape)"),
            "explicit noise instead of random draws",
            per_row=True,
        ),
        Option("seed", None, Seed(), "seed of the noise"),
    ),
    baseline=_nt_baseline,
    captum="NoiseTunnel(Saliency(model)).attribute(X, nt_type='smoothgrad', "
    "nt_samples=20, stdevs=0.15, target=t, abs=False)",
    randomized=True,
    wraps="base_method",
    prepare=_nt_prepare,
    aliases=("smoothgrad",),
)
def noise_tunnel(p: Problem) -> Computed:
    """The wrapped method on ``x + noise``, averaged per ``nt_type``."""
    opts = p.options
    inner = get_method(opts["base_method"])
    nt, d = opts["nt_samples"], p.X.shape[1]
    noise = _draws(opts["noise"], nt, d, "noise", 1)
    rng = p.random.get("noise") if p.random is not None else None
    inner_random = p.random.child("base") if p.random is not None else None
    kind = inner.baseline_kind(opts["base_options"])
    total = np.zeros_like(p.X)
    squares = np.zeros_like(p.X) if opts["nt_type"] != "smoothgrad" else None
    for rows, first, k in _blocks(p, nt):
        x = p.X[rows]
        m = x.shape[0]
        if noise is not None:
            eps = noise[rows, first : first + k]
        else:
            eps = rng.normal(0.0, opts["stdevs"], size=(m, k, d))
        noisy = (x[:, None, :] + eps).reshape(m * k, d)
        baseline = p.baseline  # a distribution is passed on as it is
        if baseline is not None and kind != "distribution":
            if p.shared_baseline:
                baseline = np.broadcast_to(baseline[:1], (m * k, d))
            else:
                baseline = np.repeat(baseline[rows], k, axis=0)
        inner_p = p.replace(
            X=noisy,
            weights=np.repeat(p.weights[rows], k, axis=0),
            baseline=baseline,
            options=opts["base_options"],
            random=inner_random,
        )
        attr = inner.compute(inner_p).values.reshape(m, k, d)
        total[rows] += attr.sum(axis=1)
        if squares is not None:
            squares[rows] += np.square(attr).sum(axis=1)
    mean = total / nt
    if opts["nt_type"] == "smoothgrad":
        values = mean
    elif opts["nt_type"] == "smoothgrad_sq":
        values = squares / nt
    else:  # vargrad: the variance over the noisy copies
        values = squares / nt - np.square(mean)
    return Computed(values, p.output_at(p.X))


# -- expected gradients (GradientSHAP) -------------------------------------------------


def _gs_prepare(mlp: Any, stage: str, options: dict[str, Any]) -> dict[str, Any]:
    ns, d = options["n_samples"], mlp.n_inputs
    _draws(options["noise"], ns, d, "noise", 1)
    _draws(options["indices"], ns, d, "indices", 0)
    _draws(options["alphas"], ns, d, "alphas", 0)
    alphas = options["alphas"]
    if alphas is not None and (
        alphas.ndim != 2 or not np.all((alphas >= 0) & (alphas <= 1))
    ):
        raise InvalidParameterError(
            f"`alphas` must hold numbers in [0, 1], shape (n, {ns})"
        )
    return options


@register_method(
    name="gradient_shap",
    summary=(
        "Expected gradients (GradientSHAP): integrated gradients averaged over "
        "baselines drawn from a distribution, one random point of each path"
    ),
    options=(
        Option(
            "n_samples",
            5,
            Integer(1, MAX_DRAWS),
            "draws (baseline, point) per input",
        ),
        Option("stdevs", 0.0, Real(0.0), "Gaussian noise added to the input"),
        Option(
            "indices",
            None,
            Custom(_check_indices, "int array (n, n_samples)"),
            "explicit baseline draws: positions in the distribution",
            per_row=True,
        ),
        Option(
            "alphas",
            None,
            _array((2,), "array (n, n_samples) in [0, 1]"),
            "explicit points along the paths",
            per_row=True,
        ),
        Option(
            "noise",
            None,
            _array((3, 4, 5, 6), "array (n, n_samples, *input_shape)"),
            "explicit input noise",
            per_row=True,
        ),
        Option("seed", None, Seed(), "seed of the draws"),
    ),
    baseline="distribution",
    captum="GradientShap(model).attribute(X, baselines=B_distribution, "
    "n_samples=5, stdevs=0.0, target=t)",
    randomized=True,
    prepare=_gs_prepare,
    aliases=("expected_gradients",),
)
def gradient_shap(p: Problem) -> Computed:
    """``mean_s (x_s - b_s) * grad f(b_s + alpha_s (x_s - b_s))`` over draws ``s``
    of a baseline ``b_s`` from the distribution, a point ``alpha_s`` and noise
    (``x_s = x + noise``)."""
    opts = p.options
    ns, d = opts["n_samples"], p.X.shape[1]
    dist = p.baseline
    assert dist is not None
    chain, w0 = p.chain, p.chain.weights[0]
    z_dist = chain.first_pre(dist)  # (K, units_0): the first layer is linear
    noise = _draws(opts["noise"], ns, d, "noise", 1)
    indices, alphas = opts["indices"], opts["alphas"]
    if indices is not None and (indices.min() < 0 or indices.max() >= dist.shape[0]):
        raise InvalidParameterError(
            f"`indices` must be positions in the baseline distribution, 0..."
            f"{dist.shape[0] - 1}; got values from {indices.min()} to "
            f"{indices.max()}"
        )
    total = np.zeros_like(p.X)
    for rows, first, k in _blocks(p, ns):
        x = p.X[rows]
        m = x.shape[0]
        draws = slice(first, first + k)
        idx = (
            indices[rows, draws]
            if indices is not None
            else p.random.get("indices").integers(0, dist.shape[0], size=(m, k))
        )
        alpha = (
            alphas[rows, draws]
            if alphas is not None
            else p.random.get("alphas").uniform(0.0, 1.0, size=(m, k))
        )
        xs = np.broadcast_to(x[:, None, :], (m, k, d))
        zx = np.broadcast_to(chain.first_pre(x)[:, None, :], (m, k, z_dist.shape[1]))
        if noise is not None or opts["stdevs"] > 0:
            eps = (
                noise[rows, draws]
                if noise is not None
                else p.random.get("noise").normal(0.0, opts["stdevs"], size=(m, k, d))
            )
            xs = xs + eps
            zx = zx + eps @ w0.T
        zb = z_dist[idx]  # (m, k, units_0)
        z = zb + alpha[:, :, None] * (zx - zb)
        fwd = chain.forward_from_first(z.reshape(m * k, -1), p.last)
        g = np.repeat(p.weights[rows], k, axis=0)
        delta0 = chain.backward(fwd, g, layer=p.last, stage=p.stage)
        grad = (delta0 @ w0).reshape(m, k, d)
        total[rows] += ((xs - dist[idx]) * grad).sum(axis=1)
    values = total / ns
    return Computed(values, p.output_at(p.X))
