"""Hypothesis strategies shared by the test suite: random MLPs and their inputs.

Use them as ``mlp = data.draw(mlps(...))`` then ``X = data.draw(inputs_for(mlp))``
(with ``hypothesis.strategies.data()``), or draw both at once with
:func:`mlps_and_inputs`. Everything is float64 with bounded, finite values.
Append new strategies at the end; keep these general.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mlpinspect import MLP, Dense

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity", "leaky_relu(0.1)")
OUTPUT_ACTIVATIONS = ("sigmoid", "softmax", "identity", "tanh", "relu")


def finite_floats(bound: float = 2.0) -> st.SearchStrategy[float]:
    """Finite float64 values in ``[-bound, bound]`` (no subnormals)."""
    return st.floats(
        -bound, bound, allow_nan=False, allow_infinity=False, allow_subnormal=False
    )


def float_arrays(shape, bound: float = 2.0) -> st.SearchStrategy[np.ndarray]:
    """float64 arrays of ``shape`` with entries in ``[-bound, bound]``."""
    return hnp.arrays(np.float64, shape, elements=finite_floats(bound))


@st.composite
def mlps(
    draw,
    min_layers: int = 1,
    max_layers: int = 3,
    activations: Sequence[str] = HIDDEN_ACTIVATIONS,
    output_activations: Sequence[str] = OUTPUT_ACTIVATIONS,
    min_units: int = 1,
    max_units: int = 6,
    min_inputs: int = 1,
    max_inputs: int = 8,
    min_outputs: int = 1,
    max_outputs: int = 5,
    weight_bound: float = 2.0,
    image_input: bool = False,
) -> MLP:
    """Random :class:`~mlpinspect.MLP` with ``min_layers..max_layers`` weight layers.

    Hidden layers draw their activation from ``activations``, the last layer
    from ``output_activations``. With ``image_input=True`` the input has a
    2-D ``input_shape`` ``(h, w)`` (``h, w`` in 1..4) instead of
    ``min_inputs..max_inputs`` features.
    """
    n_layers = draw(st.integers(min_layers, max_layers))
    if image_input:
        h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
        input_shape: tuple[int, ...] | None = (h, w)
        n_in = h * w
    else:
        input_shape = None
        n_in = draw(st.integers(min_inputs, max_inputs))
    sizes = [n_in]
    for _ in range(n_layers - 1):
        sizes.append(draw(st.integers(min_units, max_units)))
    sizes.append(draw(st.integers(min_outputs, max_outputs)))
    layers = []
    for i in range(n_layers):
        last = i == n_layers - 1
        act = draw(st.sampled_from(tuple(output_activations if last else activations)))
        weight = draw(float_arrays((sizes[i + 1], sizes[i]), weight_bound))
        bias = draw(float_arrays((sizes[i + 1],), weight_bound))
        layers.append(Dense(weight, bias, act))
    return MLP(layers, input_shape=input_shape)


def inputs_for(
    mlp: MLP, min_rows: int = 1, max_rows: int = 8, bound: float = 3.0
) -> st.SearchStrategy[np.ndarray]:
    """Inputs of shape ``(n, mlp.n_inputs)`` with ``min_rows <= n <= max_rows``."""
    return st.integers(min_rows, max_rows).flatmap(
        lambda n: float_arrays((n, mlp.n_inputs), bound)
    )


def labels_for(mlp: MLP, n: int) -> st.SearchStrategy[np.ndarray]:
    """``n`` integer class labels in ``[0, mlp.n_outputs)``."""
    return hnp.arrays(np.int64, (n,), elements=st.integers(0, mlp.n_outputs - 1))


@st.composite
def mlps_and_inputs(draw, max_rows: int = 8, **mlp_kwargs) -> tuple[MLP, np.ndarray]:
    """A random MLP (``mlps(**mlp_kwargs)``) and inputs for it."""
    mlp = draw(mlps(**mlp_kwargs))
    return mlp, draw(inputs_for(mlp, max_rows=max_rows))


# -- classifiers with class labels ---------------------------------------------

LABEL_KINDS = ("str", "int", "bool")


def class_labels(n: int, kind: str) -> st.SearchStrategy[list]:
    """``n`` distinct class labels of one kind: ``"str"``, ``"int"`` or ``"bool"``.

    Integer labels avoid ``0 .. n - 1``, so none is also an output position
    (an integer that could be either is refused as ambiguous); booleans exist
    only for two classes.
    """
    if kind == "bool":
        if n != 2:
            raise ValueError("boolean labels need exactly two classes")
        return st.permutations([False, True])
    if kind == "int":
        values = st.integers(n, 1000) | st.integers(-1000, -1)
        return st.lists(values, min_size=n, max_size=n, unique=True)
    text = st.text(alphabet="abcxyz019_", min_size=1, max_size=4)
    return st.lists(text, min_size=n, max_size=n, unique=True)


@st.composite
def classifiers(
    draw, task: str = "multiclass", kind: str | None = None, **mlp_kwargs
) -> MLP:
    """A random classifier with class names (see :func:`mlps` for ``mlp_kwargs``).

    ``task`` is ``"multiclass"`` (softmax, logits or one-vs-rest sigmoids, 2
    to 5 classes), ``"binary"`` (one sigmoid or logit unit; two labels,
    negative first) or ``"multilabel"`` (2 to 4 sigmoid or logit outputs).
    The labels are of ``kind`` (any of :data:`LABEL_KINDS` when None;
    ``"bool"`` only for two classes).
    """
    if task == "binary":
        outputs, acts = {"min_outputs": 1, "max_outputs": 1}, ("sigmoid", "identity")
    elif task == "multilabel":
        outputs, acts = {"min_outputs": 2, "max_outputs": 4}, ("sigmoid", "identity")
    else:
        acts = ("softmax", "identity", "sigmoid")
        outputs = {"min_outputs": 2, "max_outputs": 2 if kind == "bool" else 5}
    if task == "multilabel" and kind == "bool":
        outputs["max_outputs"] = 2
    base = draw(mlps(output_activations=acts, **outputs, **mlp_kwargs))
    n = 2 if task == "binary" else base.n_outputs
    allowed = LABEL_KINDS if kind is None else (kind,)
    kinds = [k for k in allowed if k != "bool" or n == 2]
    names = draw(class_labels(n, draw(st.sampled_from(kinds))))
    return MLP(base.layers, input_shape=base.input_shape, class_names=names, task=task)


def labels_of(mlp: MLP, n: int) -> st.SearchStrategy[np.ndarray]:
    """``n`` labels drawn from ``mlp.classes`` (for a multilabel model an
    ``(n, n_outputs)`` 0/1 indicator matrix)."""
    if mlp.task == "multilabel":
        return hnp.arrays(np.int64, (n, mlp.n_outputs), elements=st.integers(0, 1))
    labels = st.sampled_from(mlp.classes.tolist())
    return st.lists(labels, min_size=n, max_size=n).map(np.array)


def class_positions(mlp: MLP, y) -> np.ndarray:
    """The class positions of the labels ``y`` (slow and obvious: a dict)."""
    position = {label: i for i, label in enumerate(mlp.classes.tolist())}
    return np.array([position[label] for label in np.asarray(y).tolist()], dtype=int)
