"""A model with NaN or inf weights adapts, but no analysis runs on it.

``adapt`` copies weights as they are (so a diverged model can be looked at);
every analysis function calls ``MLP.check_finite`` and refuses, naming the
layer, the count of bad values and the units they belong to.
"""

from __future__ import annotations

import numpy as np
import pytest

import mlpinspect
from mlpinspect import MLP, Dense, InvalidParameterError, Network, adapt, plotting

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
    "plot_recipe": lambda m: plotting.plot_recipe(m, 0),
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
    calls = []
    real = mlp_module.all_finite

    def counting(values):
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
