"""Figures of the unit atlas: what each panel shows is the atlas's numbers."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from tests.plotting.helpers import data, image_axes, spine_colors

from mlpinspect import MLP, Dense, InvalidParameterError, unit_atlas
from mlpinspect.plotting import plot_unit_atlas, plot_unit_profile
from mlpinspect.plotting._colors import NEGATIVE_COLOR, POSITIVE_COLOR
from mlpinspect.plotting.atlas import FLAG_COLORS


def _model(input_shape=(3, 4), feature_names=None):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(5, 12))
    W[3] = W[0]  # unit 3 duplicates unit 0
    return MLP(
        [
            Dense(W, [0.0, 40.0, -40.0, 0.0, 0.0], "sigmoid"),
            Dense(rng.normal(size=(3, 5)), np.zeros(3), "softmax"),
        ],
        input_shape=input_shape,
        class_names=["a", "b", "c"],
        feature_names=feature_names,
    )


@pytest.fixture(scope="module")
def atlas():
    rng = np.random.default_rng(1)
    X = rng.random((80, 12))
    y = rng.choice(["a", "b", "c"], size=80)
    return unit_atlas(_model(), X, y, k=4)


def _bars(ax):
    return sorted(
        (p for p in ax.patches if str(p.get_gid()).startswith("unit ")),
        key=lambda p: p.get_x(),
    )


def test_overview_shows_weights_flags_shares_and_class_means(atlas):
    fig = plot_unit_atlas(atlas)
    assert isinstance(fig, Figure)
    tiles = [ax for ax in image_axes(fig) if ax.get_title().split("\n")[0].isdigit()]
    assert len(tiles) == 5
    W = np.asarray(atlas.model.layers[0].weight)
    for u, ax in enumerate(tiles):
        np.testing.assert_array_equal(data(ax), W[u].reshape(3, 4))
    assert tiles[1].get_title() == "1\nalways on, sat."
    assert tiles[2].get_title() == "2\ndead, sat."
    assert tiles[0].get_title() == "0\ndup. 3"
    assert spine_colors(tiles[1]) == {to_rgba(FLAG_COLORS["always on"])}
    assert spine_colors(tiles[2]) == {to_rgba(FLAG_COLORS["dead"])}
    assert spine_colors(tiles[0]) == {to_rgba(FLAG_COLORS["duplicate"])}
    assert to_rgba(FLAG_COLORS["always on"]) not in spine_colors(tiles[4])
    (share_ax,) = [ax for ax in fig.axes if _bars(ax)]
    bars = _bars(share_ax)
    np.testing.assert_allclose([b.get_height() for b in bars], atlas.active_share)
    assert bars[1].get_facecolor() == to_rgba(FLAG_COLORS["always on"])
    heat = [ax for ax in image_axes(fig) if ax.get_ylabel() == "class"]
    assert len(heat) == 1
    np.testing.assert_allclose(data(heat[0]), atlas.class_means - atlas.mean[None])


def test_overview_without_labels_has_no_class_panel_and_takes_units():
    X = np.random.default_rng(2).random((40, 12))
    atlas = unit_atlas(_model(), X)
    fig = plot_unit_atlas(atlas, units=[4, 1], ncols=1)
    assert not [ax for ax in image_axes(fig) if ax.get_ylabel() == "class"]
    titles = [ax.get_title() for ax in image_axes(fig)]
    assert titles == ["4", "1\nalways on, sat."]
    (share_ax,) = [ax for ax in fig.axes if _bars(ax)]
    assert [t.get_text() for t in share_ax.get_xticklabels()] == ["4", "1"]


def test_overview_of_a_tabular_model_is_a_heat_map_with_feature_names():
    names = [f"f{i}" for i in range(12)]
    model = _model(input_shape=(12,), feature_names=names)
    atlas = unit_atlas(model, np.random.default_rng(3).random((30, 12)))
    fig = plot_unit_atlas(atlas)
    (heat,) = [ax for ax in image_axes(fig) if ax.get_ylabel() == "unit"]
    np.testing.assert_array_equal(data(heat), np.asarray(model.layers[0].weight))
    assert [t.get_text() for t in heat.get_xticklabels()] == names
    labels = [t.get_text() for t in heat.get_yticklabels()]
    assert labels[1] == "1 (always on, sat.)"


def test_profile_shows_the_top_and_bottom_inputs_and_the_class_means(atlas):
    unit = 4
    fig = plot_unit_profile(atlas, unit)
    tiles = [ax for ax in image_axes(fig) if ax.get_title().startswith("#")]
    assert len(tiles) == 2 * atlas.k
    for j in range(atlas.k):
        top, bottom = tiles[j], tiles[atlas.k + j]
        np.testing.assert_array_equal(
            data(top), atlas.top_inputs[unit, j].reshape(3, 4)
        )
        np.testing.assert_array_equal(
            data(bottom), atlas.bottom_inputs[unit, j].reshape(3, 4)
        )
        assert top.get_title().startswith(f"#{atlas.top_indices[unit, j]}\n")
    assert spine_colors(tiles[0]) == {to_rgba(POSITIVE_COLOR)}
    assert spine_colors(tiles[atlas.k]) == {to_rgba(NEGATIVE_COLOR)}
    weights = [ax for ax in image_axes(fig) if ax.get_title() == "weights"]
    np.testing.assert_array_equal(
        data(weights[0]), np.asarray(atlas.model.layers[0].weight[unit]).reshape(3, 4)
    )
    (quantiles,) = [ax for ax in fig.axes if ax.get_title().startswith("Quantiles")]
    np.testing.assert_allclose(quantiles.lines[0].get_ydata(), atlas.quantiles[unit])
    (classes,) = [ax for ax in fig.axes if ax.get_title().startswith("Mean per")]
    heights = [p.get_height() for p in classes.patches]
    np.testing.assert_allclose(heights, atlas.class_means[:, unit])


def test_profile_title_says_what_an_always_on_unit_is_worth(atlas):
    fig = plot_unit_profile(atlas, 1, k=2)
    title = fig._suptitle.get_text()
    assert "always on" in title and "acts as a bias of" in title
    assert len([ax for ax in image_axes(fig) if ax.get_title().startswith("#")]) == 4


def test_profile_of_a_tabular_model_is_a_table_of_feature_values():
    names = [f"f{i}" for i in range(12)]
    model = _model(input_shape=(12,), feature_names=names)
    X = np.random.default_rng(4).random((30, 12))
    atlas = unit_atlas(model, X, k=3)
    fig = plot_unit_profile(atlas, 0, top=4)
    tables = [t for ax in fig.axes for t in ax.tables]
    assert len(tables) == 1
    cells = tables[0].get_celld()
    w = np.asarray(model.layers[0].weight[0])
    columns = np.argsort(-np.abs(w), kind="stable")[:4]
    header = [cells[0, c].get_text().get_text() for c in range(5)]
    assert header == ["activation", *(names[c] for c in columns)]
    row = atlas.top_indices[0, 0]
    first = cells[1, 1].get_text().get_text()
    assert first.replace("\u2212", "-") == f"{X[row, columns[0]]:.2f}"


def test_profile_without_kept_inputs_lists_row_numbers():
    X = np.random.default_rng(5).random((30, 12))
    atlas = unit_atlas(_model(), X, k=3, keep_inputs=False)
    fig = plot_unit_profile(atlas, 0)
    (table,) = [t for ax in fig.axes for t in ax.tables]
    assert table.get_celld()[1, 0].get_text().get_text() == (
        f"#{atlas.top_indices[0, 0]}"
    )


def test_figures_draw_into_a_given_figure_and_never_show():
    X = np.random.default_rng(6).random((30, 12))
    atlas = unit_atlas(_model(), X)
    parent = plt.figure(figsize=(12, 10))
    try:
        top, bottom = parent.subfigures(2, 1)
        assert plot_unit_atlas(atlas, fig=top) is parent
        assert plot_unit_profile(atlas, 0, fig=bottom) is parent
    finally:
        plt.close(parent)


def test_bad_arguments_are_refused():
    X = np.random.default_rng(7).random((30, 12))
    atlas = unit_atlas(_model(), X)
    with pytest.raises(InvalidParameterError, match="`atlas` must be a UnitAtlas"):
        plot_unit_atlas("atlas")
    with pytest.raises(InvalidParameterError, match="`unit` must be <= 4"):
        plot_unit_profile(atlas, 5)
    with pytest.raises(InvalidParameterError, match="`k` must be >= 1"):
        plot_unit_profile(atlas, 0, k=0)
