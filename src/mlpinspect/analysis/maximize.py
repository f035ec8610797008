"""The preferred input of a unit, found by activation maximisation.

A weight image shows what a first-layer unit responds to, but a unit of a
deeper layer sees the input through the layers below it. Its *preferred
input* is the input of bounded size that drives it hardest::

    maximise  u(x)   subject to  ||x||_2 <= norm   (and lo <= x_i <= hi)

where ``u`` is the unit's pre-activation (default) or activation. For a unit
of the first layer (or any unit of a linear network) the answer is the weight
image itself, scaled to the ball: ``norm * w / ||w||``. For deeper units
:func:`preferred_input` finds a local maximum by projected gradient ascent:

- the gradient comes from the closed-form backward pass (no autodiff);
- each step moves a distance ``step`` along the normalised gradient and
  projects back onto the constraint set;
- a step that would lower the activation is rejected and the step halved,
  an accepted one grows the step by half: the activation trace never
  decreases;
- the start is random (reproducible from ``seed``) or given.

The projection onto the ball intersected with the box ``[lo, hi]^d`` is
exact: it is ``clip(t y, lo, hi)`` for the ``t`` in ``[0, 1]`` that puts it on
the sphere (found by bisection), or ``clip(y, lo, hi)`` when that is already
inside the ball.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .._validation import (
    check_array,
    check_choice,
    check_float,
    check_int,
    check_memory,
    check_rng,
    is_integer,
    resolve_class,
    resolve_layer,
    resolve_unit,
)
from ..adapters import adapt
from ..errors import InvalidParameterError
from ._backprop import Chain, input_gradient

__all__ = ["PreferredInput", "preferred_input"]

_BISECTION_STEPS = 60


@dataclass(frozen=True, eq=False)
class PreferredInput:
    """The input that maximises a unit, found by projected gradient ascent.

    Attributes
    ----------
    image : numpy.ndarray
        The preferred input, shape ``input_shape`` (one unit) or
        ``(k, *input_shape)`` (a sequence of ``k`` units).
    unit : int or numpy.ndarray
        The unit index, or ``(k,)`` indices (a class label given as ``unit``
        is resolved to its output unit).
    layer : int
        The (non-negative) layer index.
    activation : float or numpy.ndarray
        The maximised value at ``image`` (``(k,)`` for several units): the
        unit's, or minus the unit's when ``sign`` is ``-1``.
    trace : numpy.ndarray
        The unit's value at the start and after every step, shape
        ``(n_steps + 1,)`` or ``(k, n_steps + 1)``; never decreasing.
    start : numpy.ndarray
        The (projected) starting input, shaped as ``image``.
    norm : float
        Radius of the L2 ball.
    box : tuple of float or None
        Bounds ``(lo, hi)`` on every feature.
    stage : {"pre", "post"}
        Whether the unit's pre-activation or activation was maximised.
    n_steps : int
        Gradient steps taken.
    step_size : float
        Initial step length (in input space).
    seed : int or None
        The seed of the random start (None when ``start`` was given).
    sign : float or numpy.ndarray
        ``-1.0`` where minus the unit was maximised: the negative class of a
        binary model, whose logit is minus the one unit's; else ``1.0``
        (``(k,)`` for several units).

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, preferred_input
    >>> rng = np.random.default_rng(0)
    >>> mlp = MLP([Dense(rng.normal(size=(5, 9)), np.zeros(5), "tanh"),
    ...            Dense(rng.normal(size=(2, 5)), np.zeros(2), "identity")],
    ...           input_shape=(3, 3))
    >>> result = preferred_input(mlp, 1, norm=1.0, n_steps=30)
    >>> result.image.shape, result.trace.shape
    ((3, 3), (31,))
    >>> bool(np.all(np.diff(result.trace) >= 0))  # never decreasing
    True
    """

    image: np.ndarray
    unit: int | np.ndarray
    layer: int
    activation: float | np.ndarray
    trace: np.ndarray
    start: np.ndarray
    norm: float
    box: tuple[float, float] | None
    stage: str
    n_steps: int
    step_size: float
    seed: Any
    sign: float | np.ndarray = 1.0

    def __repr__(self) -> str:
        return (
            f"PreferredInput(layer={self.layer}, unit={self.unit!r}, "
            f"image_shape={self.image.shape}, norm={self.norm:.4g}, "
            f"stage={self.stage!r})"
        )


def _project(
    Y: np.ndarray, norm: float, box: tuple[float, float] | None = None
) -> np.ndarray:
    """Project the rows of ``Y`` onto ``{x : ||x|| <= norm, lo <= x <= hi}``.

    With a box, the projection is ``clip(t y, lo, hi)`` for the largest ``t`` in
    ``[0, 1]`` whose norm is at most ``norm`` (the Lagrange condition of the
    problem, coordinate by coordinate); its norm grows with ``t``, so
    bisection finds it.
    """
    if box is None:
        lengths = np.linalg.norm(Y, axis=1, keepdims=True)
        outside = lengths > norm
        scale = np.divide(norm, lengths, out=np.ones_like(lengths), where=outside)
        return Y * scale
    lo, hi = box
    clipped = np.clip(Y, lo, hi)
    inside = np.linalg.norm(clipped, axis=1) <= norm
    low = np.zeros(Y.shape[0])
    high = np.ones(Y.shape[0])
    for _ in range(_BISECTION_STEPS):
        mid = 0.5 * (low + high)
        fits = np.linalg.norm(np.clip(mid[:, None] * Y, lo, hi), axis=1) <= norm
        low = np.where(fits, mid, low)
        high = np.where(fits, high, mid)
    on_sphere = np.clip(low[:, None] * Y, lo, hi)
    return np.where(inside[:, None], clipped, on_sphere)


def _resolve_units(
    mlp: Any, layer: int, unit: Any
) -> tuple[np.ndarray, np.ndarray, bool]:
    """``(indices (k,), signs (k,), whether a single unit was given)``.

    On the output layer a unit may be a class label; the negative class of a
    binary model is the one unit with sign -1 (minus its logit is maximised).
    """

    def one(value: Any, name: str) -> tuple[int, float]:
        if layer == len(mlp.layers) - 1:
            return resolve_class(mlp, value, name)
        return resolve_unit(mlp, layer, value, name), 1.0

    if isinstance(unit, np.ndarray) and unit.ndim == 0:
        unit = unit.item()
    # one unit: an index, or a class label (a str, an int or a bool)
    if isinstance(unit, (str, bool, np.bool_)) or is_integer(unit):
        index, sign = one(unit, "unit")
        return np.array([index]), np.array([sign]), True
    if isinstance(unit, (Sequence, np.ndarray, range)) and len(unit) > 0:
        pairs = [one(u, f"unit[{i}]") for i, u in enumerate(unit)]
        return (
            np.array([p[0] for p in pairs], dtype=np.intp),
            np.array([p[1] for p in pairs]),
            False,
        )
    raise InvalidParameterError(
        f"`unit` must be a unit index, a class label or a non-empty sequence of "
        f"them; got {unit!r:.60}"
    )


def _resolve_box(box: Any, norm: float, d: int) -> tuple[float, float] | None:
    if box is None:
        return None
    if not isinstance(box, (tuple, list)) or len(box) != 2:
        raise InvalidParameterError(
            f"`box` must be None or a pair (lo, hi) such as (0, 1); got {box!r}"
        )
    lo = check_float(box[0], "box[0]")
    hi = check_float(box[1], "box[1]")
    if not lo < hi:
        raise InvalidParameterError(f"`box` must have lo < hi; got ({lo}, {hi})")
    closest = np.clip(0.0, lo, hi)  # the box's point nearest the origin
    if abs(closest) * np.sqrt(d) > norm:
        raise InvalidParameterError(
            f"`box` ({lo}, {hi}) and `norm` {norm} leave no feasible input: the "
            f"box's point nearest zero has norm {abs(closest) * np.sqrt(d):.4g}"
        )
    return lo, hi


def preferred_input(
    model: Any,
    unit: int | str | Sequence[int | str],
    *,
    layer: int = -1,
    stage: str = "pre",
    norm: float | None = None,
    box: tuple[float, float] | None = None,
    n_steps: int = 200,
    step_size: float | None = None,
    seed: int | np.random.Generator | None = 0,
    start: Any = None,
) -> PreferredInput:
    """Find the input of bounded norm that maximises a unit (activation maximisation).

    Parameters
    ----------
    model : MLP or anything :func:`mlpinspect.adapt` accepts
        The model.
    unit : int, str or sequence of them
        The unit of ``layer``: its index, or on the output layer a class label
        of any kind the model's classes hold (e.g. ``"8"``; the negative
        class of a binary model maximises minus its one unit, its logit); a
        sequence maximises several units at once (independently,
        vectorised).
    layer : int
        Weight-layer index; ``-1`` (default) is the output layer.
    stage : {"pre", "post"}
        Maximise the unit's pre-activation (default: not squashed, so the
        ascent does not stall where a sigmoid saturates) or its activation.
    norm : float, optional
        Radius of the L2 ball the input must stay in. Default
        ``sqrt(n_inputs) / 3``: the norm of an input whose features have a
        root-mean-square of 1/3, about the norm of an MNIST digit with pixels
        in [0, 1] (9.3 for 28 x 28).
    box : (float, float), optional
        Also keep every feature in ``[lo, hi]``, e.g. ``(0, 1)`` for pixels.
    n_steps : int
        Gradient steps.
    step_size : float, optional
        Initial step length in input space; adapted during the ascent
        (halved when a step is rejected, grown by half when accepted).
        Default ``norm / 10``.
    seed : int, numpy.random.Generator or None
        Seeds the random start (a random direction at half the radius). The
        same seed gives the same result.
    start : array_like, optional
        The starting input instead (shape ``(n_inputs,)``, ``input_shape`` or
        one per unit); it is projected onto the constraint set.

    Returns
    -------
    PreferredInput

    Raises
    ------
    InvalidParameterError
        For a unit or layer out of range, an unknown class label, a
        non-positive norm, a box that does not meet the ball, or a ``start``
        of the wrong shape.
    NumericalError
        When the model overflows along the ascent; the message names the
        layer.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense
    >>> mlp = MLP([Dense([[3.0, 4.0]], [1.0], "sigmoid")])
    >>> result = preferred_input(mlp, 0, norm=2.0, n_steps=50)
    >>> np.round(result.image, 6)  # norm * w / ||w||
    array([1.2, 1.6])
    >>> round(float(result.activation), 6)  # w . x + b
    11.0

    The negative class of a binary model maximises minus the logit:

    >>> binary = MLP([Dense([[3.0, 4.0]], [1.0], "sigmoid")],
    ...              class_names=["no", "yes"])
    >>> result = preferred_input(binary, "no", norm=2.0, n_steps=50)
    >>> np.round(result.image, 6), result.sign
    (array([-1.2, -1.6]), -1.0)
    >>> round(float(result.activation), 6)  # -(w . x + b)
    9.0
    """
    mlp = adapt(model).check_finite()
    layer = resolve_layer(mlp, layer)
    stage = check_choice(stage, "stage", ("pre", "post"))
    units, signs, single = _resolve_units(mlp, layer, unit)
    d = mlp.n_inputs
    k = units.size
    if norm is None:
        norm = float(np.sqrt(d) / 3.0)
    norm = check_float(norm, "norm", minimum=0.0, strict_minimum=True)
    box = _resolve_box(box, norm, d)
    n_steps = check_int(n_steps, "n_steps", minimum=0)
    check_memory(8 * k * (n_steps + 1), "n_steps", n_steps,
                 f"the ascent's trace of ({k}, n_steps + 1) float64 "
                 "values")  # fmt: skip
    if step_size is None:
        step_size = norm / 10.0
    step_size = check_float(step_size, "step_size", minimum=0.0, strict_minimum=True)

    if start is None:
        rng = check_rng(seed)
        direction = rng.standard_normal((k, d))
        lengths = np.linalg.norm(direction, axis=1, keepdims=True)
        x = 0.5 * norm * direction / np.maximum(lengths, np.finfo(float).tiny)
        used_seed = seed
    else:
        x = _resolve_start(start, k, d, mlp.input_shape)
        used_seed = None
    x = _project(x, norm, box)
    x_start = x.copy()

    chain = Chain(mlp)
    g = np.zeros((k, mlp.layers[layer].n_out))
    g[np.arange(k), units] = signs

    def value_and_gradient(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        grad, value = input_gradient(chain, points, g, layer=layer, stage=stage)
        return value, grad

    trace = np.empty((k, n_steps + 1))
    value, grad = value_and_gradient(x)
    trace[:, 0] = value
    steps = np.full(k, step_size)
    for i in range(1, n_steps + 1):
        lengths = np.linalg.norm(grad, axis=1, keepdims=True)
        direction = np.divide(grad, lengths, out=np.zeros_like(grad), where=lengths > 0)
        candidate = _project(x + steps[:, None] * direction, norm, box)
        cand_value, cand_grad = value_and_gradient(candidate)
        accept = cand_value >= value
        x = np.where(accept[:, None], candidate, x)
        value = np.where(accept, cand_value, value)
        grad = np.where(accept[:, None], cand_grad, grad)
        # No useful step is longer than the ball's diameter.
        steps = np.where(accept, np.minimum(steps * 1.5, 2 * norm), steps * 0.5)
        trace[:, i] = value

    shape = mlp.input_shape
    if single:
        return PreferredInput(
            image=x[0].reshape(shape),
            unit=int(units[0]),
            layer=layer,
            activation=float(value[0]),
            trace=trace[0],
            start=x_start[0].reshape(shape),
            norm=norm,
            box=box,
            stage=stage,
            n_steps=n_steps,
            step_size=step_size,
            seed=used_seed,
            sign=float(signs[0]),
        )
    return PreferredInput(
        image=x.reshape(k, *shape),
        unit=units,
        layer=layer,
        activation=value,
        trace=trace,
        start=x_start.reshape(k, *shape),
        norm=norm,
        box=box,
        stage=stage,
        n_steps=n_steps,
        step_size=step_size,
        seed=used_seed,
        sign=signs,
    )


def _resolve_start(start: Any, k: int, d: int, shape: tuple[int, ...]) -> np.ndarray:
    arr = check_array(start, "start", ndim=tuple(range(1, 2 + len(shape))))
    if arr.shape in {(d,), shape}:
        return np.tile(arr.reshape(1, d), (k, 1))
    if arr.shape in {(k, d), (k, *shape)}:
        return arr.reshape(k, d).copy()
    raise InvalidParameterError(
        f"`start` must have shape ({d},) or {shape} (one input) or ({k}, {d}) / "
        f"({k}, *{shape}) (one per unit); got shape {arr.shape}"
    )
