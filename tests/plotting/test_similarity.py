"""Figures of representation similarity: the CKA heat map and matched units."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure
from tests.plotting.helpers import bar_axes, data, image_axes

from mlpinspect import (
    MLP,
    Dense,
    InvalidParameterError,
    cka_matrix,
    match_units,
)
from mlpinspect.plotting import plot_cka_matrix, plot_matched_units


def _nets(n=3, inputs=12, input_shape=(3, 4)):
    rng = np.random.default_rng(0)
    return {
        f"s{i}": MLP(
            [
                Dense(rng.normal(size=(5, inputs)), np.zeros(5), "tanh"),
                Dense(rng.normal(size=(2, 5)), np.zeros(2), "identity"),
            ],
            input_shape=input_shape,
        )
        for i in range(n)
    }


def test_cka_heat_map_shows_the_values_and_labels():
    nets = _nets()
    X = np.random.default_rng(1).random((60, 12))
    result = cka_matrix(nets, X)
    fig = plot_cka_matrix(result)
    assert isinstance(fig, Figure)
    (ax,) = image_axes(fig)
    np.testing.assert_allclose(data(ax), result.values)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(result.labels)
    texts = {t.get_text() for t in ax.texts}
    assert f"{result.values[0, 2]:.2f}" in texts
    # lines between models: three models of two layers each
    assert len(ax.lines) == 4
    assert ax.images[0].get_clim() == (0.0, 1.0)


def test_cka_heat_map_draws_into_an_axes():
    result = cka_matrix(_nets(2), np.random.default_rng(2).random((30, 12)), layers=0)
    parent = plt.figure()
    try:
        ax = parent.subplots()
        assert plot_cka_matrix(result, ax=ax, annotate=False, colorbar=False) is parent
        assert not ax.texts and not ax.lines
    finally:
        plt.close(parent)
    with pytest.raises(InvalidParameterError, match="`result` must be a CKAMatrix"):
        plot_cka_matrix(np.eye(2))


def test_matched_units_are_drawn_pair_by_pair():
    nets = _nets(2)
    a, b = nets["s0"], nets["s1"]
    X = np.random.default_rng(3).random((80, 12))
    m = match_units(a, b, X, names=("first", "second"))
    fig = plot_matched_units(m, top=3)
    tiles = image_axes(fig)
    assert len(tiles) == 6
    Wa, Wb = np.asarray(a.layers[0].weight), np.asarray(b.layers[0].weight)
    for j, (u, p) in enumerate(m.pairs[:3]):
        np.testing.assert_array_equal(data(tiles[j]), Wa[u].reshape(3, 4))
        np.testing.assert_array_equal(data(tiles[3 + j]), Wb[p].reshape(3, 4))
        assert tiles[j].get_title() == f"first {u}"
        r = m.correlation[u, p]
        assert tiles[3 + j].get_title() == f"second {p}\nr = {r:+.2f}"
    chosen = plot_matched_units(m, units=[4, 0])
    first_row = [ax.get_title() for ax in image_axes(chosen)][:2]
    assert first_row == ["first 4", "first 0"]


def test_matched_units_of_a_later_layer_are_input_space_images():
    from mlpinspect import input_space_images

    nets = _nets(2)
    a, b = nets["s0"], nets["s1"]
    m = match_units(a, b, np.random.default_rng(4).random((50, 12)), layer=1)
    fig = plot_matched_units(m)
    tiles = image_axes(fig)
    assert len(tiles) == 4
    u, p = m.pairs[0]
    np.testing.assert_allclose(data(tiles[0]), input_space_images(a, layer=1)[u])
    np.testing.assert_allclose(data(tiles[2]), input_space_images(b, layer=1)[p])


def test_matched_units_of_a_tabular_model_are_bar_charts():
    nets = _nets(2, input_shape=(12,))
    m = match_units(nets["s0"], nets["s1"], np.random.default_rng(5).random((50, 12)))
    fig = plot_matched_units(m)
    assert len(bar_axes(fig)) == 8  # four pairs, two charts each
    assert not image_axes(fig)


def test_matched_units_refuse_bad_arguments():
    rng = np.random.default_rng(6)
    a = MLP([Dense(rng.normal(size=(4, 12)), np.zeros(4), "tanh")], input_shape=(3, 4))
    b = MLP([Dense(rng.normal(size=(2, 12)), np.zeros(2), "tanh")], input_shape=(3, 4))
    m = match_units(a, b, rng.random((30, 12)))
    unmatched = int(np.flatnonzero(m.partner < 0)[0])
    with pytest.raises(InvalidParameterError, match="has no partner"):
        plot_matched_units(m, units=[unmatched])
    with pytest.raises(InvalidParameterError, match=r"`units\[0\]` must be <= 3"):
        plot_matched_units(m, units=[9])
    with pytest.raises(InvalidParameterError, match="`top` must be >= 1"):
        plot_matched_units(m, top=0)
    with pytest.raises(InvalidParameterError, match="`matching` must be"):
        plot_matched_units(None)
