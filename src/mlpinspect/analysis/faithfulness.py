"""How faithful is an attribution? Numbers to compare methods on your model.

- :func:`infidelity` (Yeh et al. 2019, as Captum defines it): how well the
  attributions predict the output's change under random perturbations,
  ``E_I[(I . a - (f(x) - f(x - I)))^2]``; lower is better.
- :func:`max_sensitivity` (as Captum defines it): how much the attributions
  change when the input moves a little, ``max_d ||a(x + d) - a(x)|| /
  ||a(x)||`` over ``d`` drawn from an L-infinity ball; lower is steadier.
- :func:`deletion_curve` and :func:`insertion_curve` (pixel flipping): the
  output as the most relevant features are replaced by the baseline (or
  restored from it), with the area under the curve; a faithful attribution
  makes the deletion curve fall fast (small area) and the insertion curve
  rise fast (large area).

Metrics of a result take the :class:`~mlpinspect.Attribution` (it knows its
inputs, target and stage); :func:`max_sensitivity` re-runs a method, so it
takes :func:`~mlpinspect.attribute`'s arguments. The first layer is linear, so
every perturbed or flipped input costs one small product with the first
weight matrix, not a full forward pass through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    check_array,
    check_choice,
    check_chunk_size,
    check_float,
    check_int,
    check_rng,
)
from ..adapters import adapt
from ..errors import InvalidParameterError
from ._backprop import Chain, weighted
from ._batches import frozen
from .attribution import (
    DEFAULT_CHUNK_SIZE,
    MEMORY_LIMIT,
    Attribution,
    attribute,
    get_method,
)
from .attribution._core import _show_bytes

__all__ = [
    "PerturbationCurve",
    "deletion_curve",
    "infidelity",
    "insertion_curve",
    "max_sensitivity",
]


def _check_result(attribution: Any, mlp: Any) -> tuple[np.ndarray, np.ndarray]:
    """The result's inputs ``(n, d)`` and target weights ``(n, n_outputs)``."""
    if not isinstance(attribution, Attribution):
        raise InvalidParameterError(
            f"`attribution` must be an Attribution (from mlpinspect.attribute); got "
            f"{type(attribution).__name__}"
        )
    if attribution.inputs is None:
        raise InvalidParameterError(
            "`attribution` must carry its inputs (`inputs`); it has none"
        )
    d = mlp.n_inputs
    if tuple(attribution.input_shape) != tuple(mlp.input_shape):
        raise InvalidParameterError(
            f"`attribution` is for inputs of shape {attribution.input_shape}, but the "
            f"model takes {tuple(mlp.input_shape)}"
        )
    X = np.asarray(attribution.inputs, dtype=np.float64).reshape(-1, d)
    n = X.shape[0]
    target = np.asarray(attribution.target)
    if target.ndim == 1:
        weights = np.zeros((n, mlp.n_outputs))
        weights[np.arange(n), target] = 1.0
    else:
        weights = np.asarray(target, dtype=np.float64)
    if weights.shape != (n, mlp.n_outputs):
        raise InvalidParameterError(
            f"`attribution` targets {weights.shape[1]} outputs, but the model has "
            f"{mlp.n_outputs}"
        )
    return X, weights


def _outputs(
    chain: Chain, Z: np.ndarray, weights: np.ndarray, stage: str
) -> np.ndarray:
    last = chain.n_layers - 1
    return weighted(chain.forward(Z, last), weights, last, stage)


def _draws(
    given: Any, name: str, n: int, n_samples: int, d: int
) -> tuple[np.ndarray | None, int]:
    """Explicit per-row draws as ``(n, n_samples, d)`` (or None), and the count."""
    if given is None:
        return None, n_samples
    arr = check_array(given, name, ndim=(3, 4, 5, 6))
    if arr.shape[0] != n or int(np.prod(arr.shape[2:])) != d:
        raise InvalidParameterError(
            f"`{name}` must have one row per input, then one draw per sample, each "
            f"an input: shape ({n}, n_samples, {d}) or ({n}, n_samples, "
            f"*input_shape); got shape {arr.shape}"
        )
    return arr.reshape(n, arr.shape[1], d), arr.shape[1]


def _refuse_huge(what: str, size: float) -> None:
    """Refuse, up front, a count whose arrays would need more than
    :data:`~mlpinspect.analysis.attribution.MEMORY_LIMIT` bytes."""
    if size > MEMORY_LIMIT:
        raise InvalidParameterError(
            f"{what} would need {_show_bytes(size)}, more than the "
            f"{_show_bytes(MEMORY_LIMIT)} one table may take "
            f"(mlpinspect.analysis.attribution.MEMORY_LIMIT); use fewer"
        )


def infidelity(
    model: Any,
    attribution: Attribution,
    *,
    perturbations: Any = None,
    n_perturb_samples: int = 10,
    noise_scale: float = 0.1,
    normalize: bool = False,
    seed: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> np.ndarray:
    """Infidelity of attributions under random perturbations (lower is better).

    For each row, with perturbations ``I`` and attributions ``a``::

        infidelity = mean_I (sum_i I_i a_i - (f(x) - f(x - I)))^2

    the definition of Yeh et al. (2019) and Captum's
    ``captum.metrics.infidelity`` with a ``perturb_func`` returning
    ``(I, x - I)``. With ``normalize=True`` the attributions are first scaled
    by the ``beta`` minimising it (Captum's ``normalize``).

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The model the attributions explain.
    attribution : Attribution
        A result of :func:`mlpinspect.attribute` for this model (its inputs,
        target and stage define ``f``).
    perturbations : array_like, optional
        Explicit perturbations ``I``, shape ``(n, n_perturb_samples,
        n_inputs)`` or ``(n, n_perturb_samples, *input_shape)``. Default:
        Gaussian noise of standard deviation ``noise_scale``.
    n_perturb_samples : int
        Perturbations per row (when drawn).
    noise_scale : float
        Standard deviation of the drawn noise.
    normalize : bool
        Scale the attributions by the best ``beta`` first.
    seed : None, int or numpy.random.Generator
        The noise's seed.
    chunk_size : int
        Rows (inputs x perturbations) computed at once.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The infidelity of each row.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, attribute
    >>> linear = MLP([Dense([[2.0, -1.0]], [0.5], "identity")])
    >>> X = np.array([[1.0, 3.0]])
    >>> result = attribute(linear, X, 0, method="gradient")
    >>> bool(infidelity(linear, result, seed=0)[0] < 1e-20)  # exact: linear model
    True
    """
    mlp = adapt(model).check_finite()
    X, weights = _check_result(attribution, mlp)
    n, d = X.shape
    values = np.asarray(attribution.values, dtype=np.float64).reshape(n, d)
    chunk_size = check_chunk_size(chunk_size)
    noise_scale = check_float(noise_scale, "noise_scale", minimum=0.0)
    if not isinstance(normalize, (bool, np.bool_)):
        raise InvalidParameterError(
            f"`normalize` must be True or False; got {normalize!r}"
        )
    given, S = _draws(perturbations, "perturbations", n, n_perturb_samples, d)
    if given is None:
        S = check_int(n_perturb_samples, "n_perturb_samples", minimum=1)
        # One row's draws are made at once.
        _refuse_huge(f"the perturbations for n_perturb_samples={S}", 8.0 * S * d)
    rng = check_rng(seed)
    chain = Chain(mlp)
    stage = attribution.stage
    sums = np.zeros((n, 3))  # sum a^2, sum a d, sum d^2  (or the squared error)
    error = np.zeros(n)
    rows = max(1, chunk_size // S)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, rows):
            part = slice(start, min(n, start + rows))
            m = part.stop - part.start
            I = (
                given[part]
                if given is not None
                else rng.normal(0.0, noise_scale, size=(m, S, d))
            )
            here = _outputs(chain, X[part], weights[part], stage)
            perturbed = (X[part][:, None, :] - I).reshape(m * S, d)
            there = _outputs(chain, perturbed, np.repeat(weights[part], S, 0), stage)
            diff = here[:, None] - there.reshape(m, S)  # f(x) - f(x - I)
            a_dot_i = np.einsum("msd,md->ms", I, values[part])
            error[part] = np.square(a_dot_i - diff).sum(axis=1)
            sums[part] = np.stack(
                [
                    np.square(a_dot_i).sum(axis=1),
                    (a_dot_i * diff).sum(axis=1),
                    np.square(diff).sum(axis=1),
                ],
                axis=1,
            )
    if normalize:
        den = np.where(sums[:, 0] != 0, sums[:, 0], 1.0)  # Captum's safe_div
        beta = sums[:, 1] / den
        error = beta * beta * sums[:, 0] - 2 * beta * sums[:, 1] + sums[:, 2]
    result = error / S
    if not np.isfinite(result).all():
        raise chain.overflow(chain.n_layers - 1, "the perturbed outputs")
    return result


def max_sensitivity(
    model: Any,
    X: Any,
    target: Any = None,
    *,
    method: str = "integrated_gradients",
    perturb_radius: float = 0.02,
    n_perturb_samples: int = 10,
    norm: Any = "fro",
    perturbations: Any = None,
    seed: Any = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    **options: Any,
) -> np.ndarray:
    """How much a method's attributions move when the input moves a little.

    For each row, over perturbations ``d`` drawn uniformly from the
    L-infinity ball of radius ``perturb_radius``::

        sensitivity = max_d ||a(x + d) - a(x)|| / ||a(x)||

    (``||a(x)||`` is taken as 1 where it is 0), Captum's
    ``captum.metrics.sensitivity_max`` with its default perturbation.

    Parameters
    ----------
    model, X, target, method, **options
        As for :func:`mlpinspect.attribute` (``stage``, ``baseline``, the
        method's options). A per-row target or baseline is repeated for each
        perturbation of its row.
    perturb_radius : float
        Radius of the L-infinity ball.
    n_perturb_samples : int
        Perturbations per row (when drawn).
    norm : "fro", int or float
        The norm of the flattened attributions: ``"fro"`` (Captum's default)
        and 2 are the Euclidean norm; 1 and ``numpy.inf`` too.
    perturbations : array_like, optional
        Explicit perturbations ``d``, shape ``(n, n_perturb_samples, ...)``
        as in :func:`infidelity`.
    seed : None, int or numpy.random.Generator
        Seed of the drawn perturbations (a randomised method takes its own
        ``seed`` option among ``options``).
    chunk_size : int
        Rows computed at once.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The largest relative change of each row's attributions.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> linear = MLP([Dense([[2.0, -1.0]], [0.5], "identity")])
    >>> max_sensitivity(linear, [[1.0, 3.0]], 0, method="gradient", seed=0)
    array([0.])
    """
    perturb_radius = check_float(perturb_radius, "perturb_radius", minimum=0.0)
    ord_ = _check_norm(norm)
    rng = check_rng(seed)
    base = attribute(model, X, target, method=method, chunk_size=chunk_size, **options)
    mlp = adapt(model)
    inputs, weights = _check_result(base, mlp)
    n, d = inputs.shape
    given, S = _draws(perturbations, "perturbations", n, n_perturb_samples, d)
    if given is None:
        S = check_int(n_perturb_samples, "n_perturb_samples", minimum=1)
        # One row's draws are made at once.
        _refuse_huge(f"the perturbations for n_perturb_samples={S}", 8.0 * S * d)
    a = np.asarray(base.values).reshape(n, d)
    norms = np.linalg.norm(a, ord=ord_, axis=1)
    norms[norms == 0] = 1.0
    kw = {k: v for k, v in options.items() if k not in ("baseline", "baselines")}
    kind = get_method(method).baseline_kind(base.options)
    baseline = None
    if kind == "reference":
        baseline = np.asarray(base.baseline).reshape(n, d)  # one per row
    elif kind == "distribution":
        kw["baseline"] = base.baseline
    worst = np.zeros(n)
    rows = max(1, check_chunk_size(chunk_size) // S)
    for start in range(0, n, rows):
        part = slice(start, min(n, start + rows))
        m = part.stop - part.start
        delta = (
            given[part]
            if given is not None
            else rng.uniform(-perturb_radius, perturb_radius, size=(m, S, d))
        )
        moved = (inputs[part][:, None, :] + delta).reshape(m * S, d)
        if baseline is not None:
            kw["baseline"] = np.repeat(baseline[part], S, axis=0)
        # The target as weights: per-row integers would read as class labels.
        again = attribute(
            model, moved, np.repeat(weights[part], S, axis=0), method=method,
            chunk_size=chunk_size, **kw,
        )  # fmt: skip
        change = again.values.reshape(m, S, d) - a[part][:, None, :]
        size = np.linalg.norm(change, ord=ord_, axis=2)
        worst[part] = (size / norms[part][:, None]).max(axis=1)
    return worst


def _check_norm(norm: Any) -> Any:
    if isinstance(norm, str):
        check_choice(norm, "norm", ("fro",))
        return 2
    # Only plain numbers are compared: `norm in (...)` on an array would ask
    # the array for its truth value.
    if (
        isinstance(norm, (int, float, np.integer, np.floating))
        and not isinstance(norm, bool)
        and norm in (1, 2, np.inf)
    ):
        return norm
    raise InvalidParameterError(
        f"`norm` must be 'fro', 1, 2 or numpy.inf; got {norm!r:.60}"
    )


# -- pixel flipping ----------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PerturbationCurve:
    """The output as the most relevant features are deleted or inserted.

    Attributes
    ----------
    mode : {"deletion", "insertion"}
        Deletion starts at the input and replaces features by the baseline,
        most relevant first; insertion starts at the baseline and restores
        them.
    fractions : numpy.ndarray, shape (k,)
        Fractions of the features changed, from 0 to 1.
    values : numpy.ndarray, shape (n, k)
        The attributed output of each row at each fraction.
    method : str
        The attribution method whose ranking was used.
    stage : {"pre", "post"}
        Which output was attributed.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, attribute
    >>> mlp = MLP([Dense([[3.0, 1.0]], [0.0], "identity")])
    >>> curve = deletion_curve(mlp, attribute(mlp, [[1.0, 1.0]], 0), n_steps=2)
    >>> curve.fractions, curve.values
    (array([0. , 0.5, 1. ]), array([[4., 1., 0.]]))
    >>> curve.auc
    array([1.5])
    """

    mode: str
    fractions: np.ndarray
    values: np.ndarray
    method: str
    stage: str

    @property
    def auc(self) -> np.ndarray:
        """Area under each row's curve (trapezoid rule over the fractions)."""
        v, f = self.values, self.fractions
        return ((v[:, 1:] + v[:, :-1]) * np.diff(f)).sum(axis=1) / 2

    @property
    def mean(self) -> np.ndarray:
        """The curve averaged over the rows, shape ``(k,)``."""
        return self.values.mean(axis=0)

    @property
    def n_samples(self) -> int:
        """Number of rows."""
        return int(self.values.shape[0])

    def __repr__(self) -> str:
        return (
            f"PerturbationCurve(mode={self.mode!r}, method={self.method!r}, "
            f"n_samples={self.n_samples}, n_steps={self.fractions.size - 1}, "
            f"mean_auc={float(self.auc.mean()):.4g})"
        )


def deletion_curve(
    model: Any,
    attribution: Attribution,
    *,
    n_steps: int = 20,
    baseline: Any = None,
    by: str = "value",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> PerturbationCurve:
    """The output as the most relevant features are replaced by the baseline.

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The model the attributions explain.
    attribution : Attribution
        A result of :func:`mlpinspect.attribute` for this model.
    n_steps : int
        The curve has ``n_steps + 1`` points; step ``s`` has replaced the
        ``round(s / n_steps * n_inputs)`` most relevant features (with more
        steps than features, some points repeat).
    baseline : float or array_like, optional
        What a deleted feature becomes: a number, one input or one per row.
        Default: the result's own baseline when it has one per row, else
        zeros.
    by : {"value", "abs"}
        Rank features by attribution (most positive first) or by its size.
    chunk_size : int
        Rows (inputs x points) computed at once.

    Returns
    -------
    PerturbationCurve

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, attribute
    >>> mlp = MLP([Dense([[3.0, 1.0]], [0.0], "identity")])
    >>> deletion_curve(mlp, attribute(mlp, [[1.0, 1.0]], 0), n_steps=2).values
    array([[4., 1., 0.]])
    """
    return _curve("deletion", model, attribution, n_steps, baseline, by, chunk_size)


def insertion_curve(
    model: Any,
    attribution: Attribution,
    *,
    n_steps: int = 20,
    baseline: Any = None,
    by: str = "value",
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> PerturbationCurve:
    """The output as the most relevant features are restored from the baseline.

    Parameters are those of :func:`deletion_curve`; the curve starts at the
    baseline's output and ends at the input's.

    Returns
    -------
    PerturbationCurve

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, attribute
    >>> mlp = MLP([Dense([[3.0, 1.0]], [0.0], "identity")])
    >>> insertion_curve(mlp, attribute(mlp, [[1.0, 1.0]], 0), n_steps=2).values
    array([[0., 3., 4.]])
    """
    return _curve("insertion", model, attribution, n_steps, baseline, by, chunk_size)


def _curve(
    mode: str,
    model: Any,
    attribution: Attribution,
    n_steps: Any,
    baseline: Any,
    by: Any,
    chunk_size: Any,
) -> PerturbationCurve:
    mlp = adapt(model).check_finite()
    X, weights = _check_result(attribution, mlp)
    n, d = X.shape
    n_steps = check_int(n_steps, "n_steps", minimum=1)
    _refuse_huge(
        f"the curves for n_steps={n_steps}",
        8.0 * (n_steps + 1) * (n + max(mlp.sizes)),
    )
    by = check_choice(by, "by", ("value", "abs"))
    chunk_size = check_chunk_size(chunk_size)
    B = _curve_baseline(baseline, attribution, n, d, tuple(mlp.input_shape))
    values = np.asarray(attribution.values, dtype=np.float64).reshape(n, d)
    score = values if by == "value" else np.abs(values)
    fractions = np.arange(n_steps + 1) / n_steps
    counts = np.rint(fractions * d).astype(int)
    chain = Chain(mlp)
    w0t = np.ascontiguousarray(chain.weights[0].T)
    last = chain.n_layers - 1
    out = np.empty((n, n_steps + 1))
    rows = max(1, chunk_size // (n_steps + 1))
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, rows):
            part = slice(start, min(n, start + rows))
            m = part.stop - part.start
            x, b = X[part], B[part]
            begin, end = (x, b) if mode == "deletion" else (b, x)
            order = np.argsort(-score[part], axis=1, kind="stable")
            change = np.take_along_axis(end - begin, order, axis=1)
            z = np.empty((m, n_steps + 1, w0t.shape[1]))
            z[:, 0] = chain.first_pre(begin)
            # The first layer is linear: each step adds its features' columns.
            for s in range(n_steps):
                block = slice(counts[s], counts[s + 1])
                cols = w0t[order[:, block]]  # (m, features in the step, units)
                z[:, s + 1] = z[:, s] + np.einsum("mf,mfh->mh", change[:, block], cols)
            fwd = chain.forward_from_first(z.reshape(m * (n_steps + 1), -1), last)
            g = np.repeat(weights[part], n_steps + 1, axis=0)
            out[part] = weighted(fwd, g, last, attribution.stage).reshape(m, -1)
    if not np.isfinite(out).all():
        raise chain.overflow(last, "the outputs along the curve")
    return PerturbationCurve(
        mode=mode,
        fractions=frozen(fractions),
        values=frozen(out),
        method=attribution.method,
        stage=attribution.stage,
    )


def _curve_baseline(
    baseline: Any,
    attribution: Attribution,
    n: int,
    d: int,
    input_shape: tuple[int, ...],
) -> np.ndarray:
    if baseline is None:
        own = attribution.baseline
        if own is not None and np.asarray(own).size == n * d:
            return np.asarray(own, dtype=np.float64).reshape(n, d)
        return np.broadcast_to(np.zeros(d), (n, d))
    arr = check_array(baseline, "baseline", ndim=tuple(range(0, 2 + len(input_shape))))
    if arr.ndim == 0:
        return np.broadcast_to(np.full(d, float(arr)), (n, d))
    if arr.shape in {(d,), input_shape}:
        return np.broadcast_to(arr.reshape(d), (n, d))
    if arr.shape in {(n, d), (n, *input_shape)}:
        return arr.reshape(n, d)
    raise InvalidParameterError(
        f"`baseline` must be a number, one input of shape ({d},) or {input_shape}, "
        f"or one per row of shape ({n}, {d}) or ({n}, *{input_shape}); got shape "
        f"{arr.shape}"
    )
