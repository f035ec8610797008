"""A model with NaN or inf weights adapts, but no analysis runs on it.

``adapt`` copies weights as they are (so a diverged model can be looked at);
every analysis function calls ``MLP.check_finite`` and refuses, naming the
layer, the count of bad values and the units they belong to. A finite model
whose values overflow (huge weights, or huge inputs to a float32 model) is
refused with a ``NumericalError`` naming the layer, without a RuntimeWarning.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mlpinspect
from mlpinspect import (
    MLP,
    Dense,
    InvalidParameterError,
    Network,
    NumericalError,
    adapt,
    plotting,
)
from mlpinspect.analysis.attribution import METHODS

X = np.random.default_rng(0).random((6, 4))
Y = np.arange(6) % 3


def diverged() -> Network:
    net = Network([4, 5, 3], seed=0)
    net.weights[1][2, 4] = np.nan  # unit 2 of the output layer
    return net


CALLS = {
    "weight_images": lambda m: mlpinspect.weight_images(m),
    "effective_weights": lambda m: mlpinspect.effective_weights(m),
    "input_space_images": lambda m: mlpinspect.input_space_images(m, layer=1),
    "top_units": lambda m: mlpinspect.top_units(m, 0),
    "decompose": lambda m: mlpinspect.decompose(m, X),
    "iter_decompose": lambda m: list(mlpinspect.iter_decompose(m, [X])),
    "class_contributions": lambda m: mlpinspect.class_contributions(m, X, Y),
    "attribute": lambda m: mlpinspect.attribute(m, X, 0, method="gradient"),
    "ablate": lambda m: mlpinspect.ablate(m, X, Y, units=[0]),
    "unit_importance": lambda m: mlpinspect.unit_importance(m, X, Y),
    "preferred_input": lambda m: mlpinspect.preferred_input(m, layer=0, unit=0),
    "drift_from_init (pair)": lambda m: mlpinspect.drift_from_init((m, m)),
    "plot_weight_images": lambda m: plotting.plot_weight_images(m),
    "plot_output_weights": lambda m: plotting.plot_output_weights(m),
    "plot_top_units": lambda m: plotting.plot_top_units(m, 0),
    "forward": lambda m: adapt(m).forward(X),
}


@pytest.mark.parametrize("call", CALLS.values(), ids=CALLS.keys())
def test_every_analysis_refuses_a_non_finite_model_by_name(call):
    with pytest.raises(
        InvalidParameterError,
        match=r"weights\[1\], layer 1 of the MLP, must have finite .* 1 NaN and 0 "
        r"infinite value\(s\), in unit\(s\) \[2\]",
    ):
        call(diverged())


def test_adapting_a_diverged_model_keeps_its_values_for_inspection():
    net = diverged()
    mlp = adapt(net)
    assert np.isnan(mlp.layers[1].weight[2, 4])
    np.testing.assert_array_equal(mlp.layers[0].weight, net.weights[0])


def test_the_check_reads_the_weights_once(monkeypatch):
    import mlpinspect.mlp as mlp_module

    mlp = adapt(Network([4, 5, 3], seed=0))
    parameters = [a for layer in mlp.layers for a in (layer.weight, layer.bias)]
    calls = []
    real = mlp_module.all_finite

    def counting(values):
        # The forward pass also checks every pre-activation (for overflow);
        # count only the reads of the weights and biases.
        if any(values is a for a in parameters):
            calls.append(values.shape)
        return real(values)

    monkeypatch.setattr(mlp_module, "all_finite", counting)
    assert mlp.check_finite() is mlp
    assert len(calls) == 4  # two weights, two biases
    mlp.check_finite()
    mlp.forward(X)
    mlpinspect.decompose(mlp, X)
    assert len(calls) == 4


def test_many_bad_units_are_summarised():
    weight = np.ones((25, 2))
    weight[:, 0] = np.inf
    mlp = MLP([Dense(weight, np.zeros(25), "relu")])
    with pytest.raises(InvalidParameterError, match=r"\[0, 1, .*, 9\] and 15 more"):
        mlp.check_finite()


# -- finite models whose values overflow ----------------------------------------


def _huge_weights() -> tuple[MLP, np.ndarray, np.ndarray, int]:
    """float64 weights of 1e200: layer 1's pre-activation overflows."""
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense(rng.normal(size=(5, 4)) * 1e200, np.zeros(5), "relu"),
            Dense(rng.normal(size=(3, 5)) * 1e200, np.zeros(3), "softmax"),
        ]
    )
    return mlp, rng.random((6, 4)), np.arange(6) % 3, 1


def _huge_float32_inputs() -> tuple[MLP, np.ndarray, np.ndarray, int]:
    """A float32 model and float32 inputs of 1e20: layer 0 overflows float32."""
    rng = np.random.default_rng(0)
    mlp = MLP(
        [
            Dense((rng.normal(size=(5, 4)) * 1e19).astype(np.float32),
                  np.zeros(5, np.float32), "relu"),
            Dense(rng.normal(size=(3, 5)).astype(np.float32),
                  np.zeros(3, np.float32), "softmax"),
        ]
    )  # fmt: skip
    X = (rng.random((6, 4)) * 1e20).astype(np.float32)
    return mlp, X, np.arange(6) % 3, 0


def _needs(method: str, X: np.ndarray) -> dict:
    """What a method needs besides a target: a baseline distribution to draw
    from (gradient_shap), a seed (the randomised methods)."""
    record = METHODS[method]
    kwargs = {"seed": 0} if record.randomized else {}
    if record.baseline == "distribution":
        kwargs["baseline"] = X
    return kwargs


OVERFLOWING = {
    "decompose": lambda m, X, y: mlpinspect.decompose(m, X),
    "iter_decompose": lambda m, X, y: list(mlpinspect.iter_decompose(m, X)),
    "class_contributions": lambda m, X, y: mlpinspect.class_contributions(m, X, y),
    "ablate": lambda m, X, y: mlpinspect.ablate(m, X, y, units=[0]),
    "ablate (mean)": lambda m, X, y: mlpinspect.ablate(m, X, y, units=[0], mode="mean"),
    "unit_importance": lambda m, X, y: mlpinspect.unit_importance(m, X, y),
    "top_units (contribution)": lambda m, X, y: mlpinspect.top_units(
        m, 0, by="contribution", X=X
    ),
    "top_units (contribution, y)": lambda m, X, y: mlpinspect.top_units(
        m, 0, by="contribution", X=X, y=y
    ),
    **{
        f"attribute ({method})": (
            lambda m, X, y, method=method: mlpinspect.attribute(
                m, X, 0, method=method, **_needs(method, X)
            )
        )
        for method in sorted(METHODS)
    },
}


@pytest.mark.parametrize("make", [_huge_weights, _huge_float32_inputs])
@pytest.mark.parametrize("call", OVERFLOWING.values(), ids=OVERFLOWING.keys())
def test_an_overflow_is_a_numerical_error_naming_the_layer(call, make):
    mlp, X, y, layer = make()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no RuntimeWarning on the way
        with pytest.raises(
            NumericalError, match=rf"layer {layer} of the MLP overflowed"
        ):
            call(mlp, X, y)


def test_the_first_layer_of_huge_float32_inputs_overflows_by_its_contributions():
    mlp, X, _, _ = _huge_float32_inputs()
    with pytest.raises(NumericalError, match=r"layer 0 of the MLP overflowed"):
        mlpinspect.top_units(mlp, 0, layer=0, by="contribution", X=X)
    with pytest.raises(NumericalError, match=r"layer 0 of the MLP overflowed"):
        mlpinspect.decompose(mlp, X, layer=0)


def test_a_backward_pass_that_overflows_names_the_layer():
    # Tiny inputs keep the forward pass finite; the gradient, a product of two
    # weight matrices of 1e200, is not.
    rng = np.random.default_rng(1)
    mlp = MLP(
        [
            Dense(rng.normal(size=(5, 4)) * 1e200, np.zeros(5), "identity"),
            Dense(rng.normal(size=(3, 5)) * 1e200, np.zeros(3), "softmax"),
        ]
    )
    X = rng.random((2, 4)) * 1e-200
    for method in ("gradient", "integrated_gradients", "deeplift", "lrp"):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(NumericalError, match=r"layer 0 of the MLP overflowed"):
                mlpinspect.attribute(mlp, X, 0, method=method)


def test_lrp_refuses_to_divide_a_sigmoids_relevance_by_its_pre_activation():
    # Sigmoid unit 0 of layer 0 has a pre-activation of 1e-300 and an output
    # of 0.5: LRP-0 would divide its relevance (about 0.5e10) by 1e-300. LRP
    # now refuses activations that are not sign-preserving (the relevance of
    # a sign-preserving unit is proportional to f(z) / z, which is bounded).
    mlp = MLP(
        [
            Dense([[1.0, -1.0], [1.0, 1.0]], [1e-300, 0.0], "sigmoid"),
            Dense([[1e10, 1.0]], [0.0], "identity"),
        ]
    )
    with pytest.raises(InvalidParameterError, match=r"layer 0 uses 'sigmoid'"):
        mlpinspect.attribute(mlp, [[1.0, 1.0]], 0, method="lrp", epsilon=0.0)


def test_numerical_errors_are_the_librarys_and_floating_point_errors():
    assert issubclass(NumericalError, mlpinspect.MlpinspectError)
    assert issubclass(NumericalError, FloatingPointError)
