"""The one result type of every attribution method."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Attribution"]


@dataclass(frozen=True, eq=False)
class Attribution:
    """Attributions of one output per row to the input features.

    Attributes
    ----------
    values : numpy.ndarray, shape of ``X``
        One attribution per input feature (for a stream of batches, shape
        ``(n, *input_shape)``).
    method : str
        The method's name, e.g. ``"integrated_gradients"``.
    target : numpy.ndarray
        ``(n,)`` int64 output indices, or ``(n, n_outputs)`` float weights when
        the target was a direction over the outputs or named the negative
        class of a binary model (weight ``-1`` on its one unit).
    output : numpy.ndarray, shape (n,)
        The attributed output at ``X`` (the target unit's logit with
        ``stage="pre"``, its activation with ``stage="post"``; minus the one
        unit's for the negative class of a binary model).
    baseline : numpy.ndarray or None
        The reference input, shape of ``X`` (a read-only broadcast view when
        one baseline serves every row); zeros for ``gradient_x_input``; the
        reference inputs, shape ``(K, *input_shape)``, for a method that draws
        from a baseline distribution (``gradient_shap``); None for methods
        without a baseline.
    baseline_output : numpy.ndarray or None, shape (n,)
        The attributed output at the baseline.
    completeness_error : numpy.ndarray or None, shape (n,)
        Sum of the attributions minus ``output - baseline_output`` (minus
        ``output`` for LRP); None for methods without a completeness property
        (see :doc:`/api/attribution_methods`).
    stage : {"pre", "post"}
        Whether the output unit was taken before or after its activation.
    input_shape : tuple of int
        The model's input shape.
    options : mapping
        The method's settings as used (``rule`` says whether integrated
        gradients was exact; ``seed`` reproduces a randomised method's draws).
    inputs : numpy.ndarray, shape of ``values``
        The attributed inputs (float64), for figures and faithfulness metrics.
    feature_names : tuple of str or None
        The inputs' feature names: a DataFrame's columns, or the model's
        ``feature_names``; None when neither has any.

    Examples
    --------
    >>> import numpy as np
    >>> from mlpinspect import MLP, Dense, attribute
    >>> mlp = MLP([Dense([[1.0, -1.0], [0.5, 2.0]], [0.0, 0.0], "relu"),
    ...            Dense([[1.0, 2.0]], [0.0], "identity")])
    >>> result = attribute(mlp, [[2.0, 1.0]], 0, method="gradient_x_input")
    >>> result.values, result.output
    (array([[4., 3.]]), array([7.]))
    >>> result.completeness_error  # bias-free ReLU network: exact
    array([0.])
    >>> attribute(mlp, [[2.0, 1.0]], 0, method="gradient").completeness_error is None
    True
    """

    values: np.ndarray
    method: str
    target: np.ndarray
    output: np.ndarray
    baseline: np.ndarray | None
    baseline_output: np.ndarray | None
    completeness_error: np.ndarray | None
    stage: str
    input_shape: tuple[int, ...]
    options: Mapping[str, Any]
    inputs: np.ndarray | None = None
    feature_names: tuple[str, ...] | None = None

    @property
    def convergence_delta(self) -> np.ndarray | None:
        """Alias of :attr:`completeness_error` (Captum's name).

        Captum's LRP reports ``f(x) - sum``, the opposite sign.
        """
        return self.completeness_error

    @property
    def n_samples(self) -> int:
        """Number of attributed inputs."""
        return int(self.output.shape[0])

    def __repr__(self) -> str:
        text = (
            f"Attribution(method={self.method!r}, n_samples={self.n_samples}, "
            f"input_shape={self.input_shape}, stage={self.stage!r}"
        )
        if self.completeness_error is not None and self.completeness_error.size:
            worst = float(np.max(np.abs(self.completeness_error)))
            text += f", max_abs_completeness_error={worst:.3g}"
        return text + ")"
