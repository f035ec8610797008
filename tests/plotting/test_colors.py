import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib import colormaps
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from tests.strategies import float_arrays

from mlpinspect.plotting import DIVERGING_CMAP, NEGATIVE_COLOR, POSITIVE_COLOR
from mlpinspect.plotting._colors import (
    FALLBACK_LIMIT,
    add_colorbar,
    add_relative_colorbar,
    format_value,
    show_signed,
    signed_rgba,
    symmetric_limit,
    tile_limits,
)


def test_palette_is_blue_for_positive_red_for_negative_white_at_zero():
    cmap = colormaps[DIVERGING_CMAP]
    high, low, mid = cmap(1.0), cmap(0.0), cmap(0.5)
    assert high[2] > high[0]  # blue dominates at the top
    assert low[0] > low[2]  # red dominates at the bottom
    assert min(mid[:3]) > 0.95  # (near) white in the middle
    pos, neg = to_rgba(POSITIVE_COLOR), to_rgba(NEGATIVE_COLOR)
    assert pos[2] > pos[0] and neg[0] > neg[2]


@settings(max_examples=40, deadline=None)
@given(float_arrays(st.tuples(st.integers(1, 5), st.integers(1, 5)), bound=5.0))
def test_symmetric_limit_is_the_largest_magnitude(values):
    v = symmetric_limit(values)
    expected = np.abs(values).max()
    assert v == (expected if expected > 0 else FALLBACK_LIMIT)


def test_symmetric_limit_ignores_nan_and_falls_back_for_zeros():
    assert symmetric_limit([np.nan, -2.0, 1.0]) == 2.0
    assert symmetric_limit(np.zeros(4)) == FALLBACK_LIMIT
    assert symmetric_limit([np.nan]) == FALLBACK_LIMIT


@settings(max_examples=40, deadline=None)
@given(st.lists(float_arrays(st.integers(1, 6), bound=3.0), min_size=1, max_size=5))
def test_tile_limits_shared_or_per_tile(tiles):
    shared = tile_limits(tiles, shared=True)
    own = tile_limits(tiles, shared=False)
    assert len(set(shared)) == 1
    assert own == [symmetric_limit(t) for t in tiles]
    # The shared limit is the largest tile limit, unless everything is zero.
    if max(np.abs(t).max() for t in tiles) > 0:
        assert shared[0] == max(np.abs(t).max() for t in tiles)


def test_zero_tile_does_not_lower_the_shared_limit():
    assert tile_limits([np.zeros(3), np.array([0.25])], shared=True) == [0.25, 0.25]


def test_show_signed_uses_symmetric_limits_and_the_palette():
    fig = Figure()
    ax = fig.subplots()
    image = np.array([[1.0, -3.0], [0.5, 2.0]])
    im = show_signed(ax, image, symmetric_limit(image))
    assert im.get_clim() == (-3.0, 3.0)
    assert im.get_cmap().name.startswith("RdBu")
    np.testing.assert_array_equal(im.get_array(), image)
    # -3 is drawn in the red end, +3 would be blue
    rgba = im.to_rgba(np.array([-3.0, 3.0]))
    assert rgba[0, 0] > rgba[0, 2] and rgba[1, 2] > rgba[1, 0]


def test_signed_rgba_opacity_grows_with_magnitude():
    values = np.array([-2.0, -1.0, 0.0, 1.0, 2.0, 4.0])
    rgba = signed_rgba(values, 2.0, max_alpha=0.8)
    np.testing.assert_allclose(rgba[:, 3], [0.8, 0.4, 0.0, 0.4, 0.8, 0.8])
    assert rgba[0, 0] > rgba[0, 2] and rgba[4, 2] > rgba[4, 0]


def test_colorbars_say_where_zero_is():
    fig = Figure()
    ax = fig.subplots()
    im = show_signed(ax, np.array([[1.0, -2.0]]), 2.0)
    cbar = add_colorbar(fig, im, ax, "weight")
    assert list(cbar.get_ticks()) == [-2.0, 0.0, 2.0]
    assert cbar.ax.get_ylabel() == "weight"
    rel = add_relative_colorbar(fig, ax, "per tile")
    labels = [t.get_text() for t in rel.ax.get_yticklabels()]
    assert labels == ["\u2212max", "0", "+max"]


def test_format_value():
    assert format_value(1.234, "+") == "+1.23"
    assert format_value(-1.0) == "\u22121.00"
    assert format_value(0.0) == "0.00"
    assert format_value(0.000123) == "1.23e\u221204"
