"""Occlusion: replace a patch by the baseline and record the output's drop.

The first layer is linear, so occluding patch ``k`` of input ``x`` changes
its first pre-activation by ``- sum_{i in k} W_0[:, i] (x_i - b_i)``: each
occluded input costs one small product, and only the hidden layers run per
patch. A patch on which the input equals the baseline changes nothing (its
drop is exactly 0) and is not run at all: on MNIST with a zero baseline,
four in five pixels are blank.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..._validation import is_integer
from ...errors import InvalidParameterError
from .._backprop import weighted
from ._options import Custom, Option
from ._problem import Computed, Problem
from ._registry import register_method

__all__ = ["patch_matrix"]

# A block of inputs (and its "which patches are occluded" table) may hold this
# many times chunk_size values: fewer bytes than the forward pass of
# chunk_size rows through a hidden layer of 32 units.
_BLOCK_FACTOR = 32


def _check_window(value: Any, name: str) -> Any:
    if value is None:
        return None
    if is_integer(value):
        return int(value)
    if isinstance(value, (tuple, list)) and all(is_integer(v) for v in value):
        return tuple(int(v) for v in value)
    raise InvalidParameterError(
        f"`{name}` must be an integer or a tuple of integers (one per axis of the "
        f"input shape); got {value!r}"
    )


def _resolve_window(
    value: Any, name: str, input_shape: tuple[int, ...]
) -> tuple[int, ...]:
    if value is None:
        value = 1
    if isinstance(value, int):
        value = (value,) * len(input_shape)
    if len(value) != len(input_shape):
        raise InvalidParameterError(
            f"`{name}` must be an integer or a tuple of {len(input_shape)} integers "
            f"(one per axis of the input shape {input_shape}); got {value!r}"
        )
    for axis, v in enumerate(value):
        if not 1 <= v <= input_shape[axis]:
            raise InvalidParameterError(
                f"`{name}[{axis}]` must be between 1 and {input_shape[axis]} (the "
                f"input's length along axis {axis}); got {v}"
            )
    return tuple(value)


def _prepare(mlp: Any, stage: str, options: dict[str, Any]) -> dict[str, Any]:
    shape = tuple(mlp.input_shape)
    window = _resolve_window(options["window"], "window", shape)
    stride = _resolve_window(options["stride"], "stride", shape)
    for axis, (length, w, s) in enumerate(zip(shape, window, stride)):
        if s > w and w < length:
            raise InvalidParameterError(
                f"`stride[{axis}]` must be at most the window ({w}) so that every "
                f"feature is occluded; got {s}"
            )
    return {"window": window, "stride": stride}


def patch_matrix(
    input_shape: tuple[int, ...], window: tuple[int, ...], stride: tuple[int, ...]
) -> Any:
    """The occlusion patches as a sparse ``(n_patches, n_features)`` 0/1 matrix.

    Along each axis of length ``L`` the patch starts at ``0, s, 2s, ...`` up to
    the first start that reaches ``L - w``; the last patch is clipped to the
    border (Captum's placement). Returns a ``scipy.sparse.csr_matrix``.
    """
    from scipy import sparse  # only occlusion needs it; keeps the import light

    per_axis = []
    for length, w, s in zip(input_shape, window, stride):
        n_starts = -(-(length - w) // s) + 1  # ceil((L - w) / s) + 1
        per_axis.append(
            [np.arange(k * s, min(k * s + w, length)) for k in range(n_starts)]
        )
    index = np.arange(int(np.prod(input_shape))).reshape(input_shape)
    rows: list[np.ndarray] = []
    for combo in np.ndindex(*(len(a) for a in per_axis)):
        ranges = [per_axis[axis][k] for axis, k in enumerate(combo)]
        rows.append(index[np.ix_(*ranges)].ravel())
    lengths = np.array([r.size for r in rows])
    indptr = np.concatenate([[0], np.cumsum(lengths)])
    cols = np.concatenate(rows)
    shape = (len(rows), index.size)
    return sparse.csr_matrix((np.ones(cols.size), cols, indptr), shape=shape)


@register_method(
    name="occlusion",
    summary=(
        "The drop of the output when a patch is replaced by the baseline "
        "(one feature at a time by default: feature ablation)"
    ),
    options=(
        Option(
            "window",
            None,
            Custom(_check_window, "int or tuple of int"),
            "patch size per axis of input_shape (default 1)",
            aliases=("sliding_window_shapes",),
        ),
        Option(
            "stride",
            None,
            Custom(_check_window, "int or tuple of int"),
            "step between patches per axis, at most the window (default 1)",
            aliases=("strides",),
        ),
    ),
    baseline="reference",
    captum="Occlusion(model).attribute(X, sliding_window_shapes=w, strides=s, "
    "baselines=B, target=t); FeatureAblation for one feature at a time",
    prepare=_prepare,
)
def occlusion(p: Problem) -> Computed:
    """Mean drop of the output over the patches covering each feature."""
    chain = p.chain
    patches = patch_matrix(p.input_shape, p.options["window"], p.options["stride"])
    n_patches, d = patches.shape
    lengths = np.diff(patches.indptr)
    counts = np.asarray(patches.sum(axis=0)).ravel()
    w0t = np.ascontiguousarray(chain.weights[0].T)  # (d, units_0)
    single = bool((lengths == 1).all())  # one feature per patch: the identity
    width = int(lengths.max())
    pairs_per_group = max(1, p.chunk_size // width)
    units = w0t.shape[1]
    block = max(1, _BLOCK_FACTOR * p.chunk_size // max(d, n_patches, units))
    n = p.n_samples
    values = np.zeros_like(p.X)
    output = np.empty(n)
    for start in range(0, n, block):
        rows = slice(start, min(n, start + block))
        x = p.X[rows]
        diff = x - p.baseline[rows]
        occluded = diff != 0
        if not single:  # patch k is occluded when it holds a changed feature
            occluded = (patches @ occluded.T.astype(np.float64)).T > 0
        zx = chain.first_pre(x)
        here = p.value(chain.forward_from_first(zx, p.last), rows)
        output[rows] = here
        pair_row, pair_patch = np.nonzero(occluded)
        weights = p.weights[rows]
        part = values[rows]
        for g in range(0, pair_row.size, pairs_per_group):
            r = pair_row[g : g + pairs_per_group]
            k = pair_patch[g : g + pairs_per_group]
            if single:
                change = diff[r, k][:, None] * w0t[k]
            else:
                cells, owner = _cells(patches, k, lengths)
                change = _patch_sums(diff[r[owner], cells], owner, cells, w0t, r.size)
            fwd = chain.forward_from_first(zx[r] - change, p.last)
            drop = here[r] - weighted(fwd, weights[r], p.last, p.stage)
            if single:
                part[r, k] = drop
            else:
                np.add.at(part, (r[owner], cells), drop[owner])
        if not single:
            part /= counts
    if p.shared_baseline:
        at_base = chain.forward(p.baseline[:1], p.last)
        baseline_output = p.value(at_base, slice(None))
    else:
        baseline_output = p.output_at(p.baseline)
    return Computed(values, output, baseline_output)


def _cells(
    patches: Any, k: np.ndarray, lengths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The features of patches ``k``, flattened, and which pair each belongs to."""
    size = lengths[k]
    owner = np.repeat(np.arange(k.size), size)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(size) - size, size)
    cells = patches.indices[np.repeat(patches.indptr[k], size) + offset]
    return cells, owner


def _patch_sums(
    data: np.ndarray, owner: np.ndarray, cells: np.ndarray, w0t: np.ndarray, m: int
) -> np.ndarray:
    """``sum over the patch's features i of (x_i - b_i) W_0[:, i]``, per pair."""
    from scipy import sparse

    matrix = sparse.csr_matrix((data, (owner, cells)), shape=(m, w0t.shape[0]))
    return np.asarray(matrix @ w0t)
